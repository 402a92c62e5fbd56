import type { EmulatorOptions, EmulatorResponse, EmulatorServer } from "./emulator/emulator-server";
import type { Provider, ProviderCatalog, ProviderDeps } from "./provider";
import type { BaseProviderSettings } from "./settings";

/**
 * Everything the running service knows of one provider, from its folder. Adding a provider is adding a
 * folder that exports one of these (and its `ProviderDemo`) and one line in each registry.
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
}

/**
 * A provider's emulator and what goes with it, from `<key>.demo.ts`: for demo mode, the tests and
 * the benchmark only. Loaded through `src/providers/demo-registry.ts`, never by the service itself.
 */
export interface ProviderDemo {
  /** Starts the built-in emulator on loopback. */
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

/**
 * A provider module as one of the registry's list, whatever its settings class. Its `create` takes
 * any provider's settings, so it checks that they are an instance of this provider's own class (as
 * every section resolved by the config is) before handing them on.
 */
export function defineProvider<S extends BaseProviderSettings>(module: ProviderModule<S>): ProviderModule {
  return {
    catalog: module.catalog,
    Settings: module.Settings,
    secretFields: module.secretFields,
    recordTypes: module.recordTypes,
    create(settings, deps) {
      if (!(settings instanceof module.Settings)) throw new TypeError(`${module.catalog.name}: settings must be a ${module.Settings.name}`);
      return module.create(settings, deps);
    },
  };
}
