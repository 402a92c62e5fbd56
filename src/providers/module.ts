import type { EmulatorOptions, EmulatorResponse, EmulatorServer } from "./emulator/emulator-server";
import type { Provider, ProviderCatalog, ProviderDeps } from "./provider";
import type { BaseProviderSettings } from "./settings";

/**
 * Everything usagegraph knows of one provider, from its folder. Adding a provider is adding a
 * folder that exports one of these and one line in the registry.
 */
export interface ProviderModule<S extends BaseProviderSettings = BaseProviderSettings> {
  readonly catalog: ProviderCatalog;
  /** class-validator class of the provider's config section. */
  readonly Settings: new () => S;
  /** Fields of the section that hold secrets: never printed, never logged. */
  readonly secretFields: readonly string[];
  /** type-graphql classes of the native records (members of the UsageRecord union). */
  readonly recordTypes: readonly (new (...args: never[]) => object)[];
  create(settings: S, deps: ProviderDeps): Provider;
  /** Starts the built-in emulator on loopback (demo mode, tests, benchmark). */
  startEmulator(options?: EmulatorOptions): Promise<EmulatorServer>;
  /** A plain config section that points at a running emulator with its demo credentials. */
  demoSettings(emulatorUrl: string): Record<string, unknown>;
  /**
   * The vendor's own error answers, as its document shows them: the shared provider contract
   * suite injects them into the emulator and checks the contract code each one maps to.
   */
  readonly errorSamples: {
    /** Bad or missing credential → UPSTREAM_AUTH_FAILED. */
    authFailure: EmulatorResponse;
    /** A parameter the vendor refuses → UPSTREAM_BAD_RESPONSE. */
    badParameter: EmulatorResponse;
    /** The vendor's throttling answer → UPSTREAM_RATE_LIMITED (retried, then reported). */
    rateLimited: EmulatorResponse;
  };
}
