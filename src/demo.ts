import { resolveConfig, type Config } from "./config/config";
import { providerDemos } from "./providers/demo-registry";
import type { EmulatorServer } from "./providers/emulator/emulator-server";

export const DEMO_ORGANIZATION = "demo";

export interface Demo {
  config: Config;
  emulators: ReadonlyMap<string, EmulatorServer>;
  stop(): Promise<void>;
}

export interface DemoOptions {
  port?: number;
  latencyMs?: number;
  /** Keep each emulator's request log (tests); off in demo mode, which would keep it forever. */
  recordRequests?: boolean;
  /**
   * Scheduled collection (DESIGN §6), on by default as in any config; tests that count upstream
   * calls turn it off (`"collect": false`) so that no scheduled run can ever add to them.
   */
  collect?: boolean;
}

/**
 * Demo mode: every provider's built-in emulator on a loopback port, one organization `demo` wired
 * to them, bound to 127.0.0.1 with no auth. What `npm start` runs when no config is given.
 */
export async function startDemo(env: NodeJS.ProcessEnv, overrides: DemoOptions = {}): Promise<Demo> {
  const emulators = new Map<string, EmulatorServer>();
  try {
    const parts = providerDemos();
    for (const { module, demo } of parts) {
      emulators.set(module.catalog.key, await demo.startEmulator({ latencyMs: overrides.latencyMs, recordRequests: overrides.recordRequests }));
    }
    const providers = Object.fromEntries(parts.map(({ module, demo }) => [module.catalog.key, demo.demoSettings(emulators.get(module.catalog.key)!.url)]));
    const config = resolveConfig(
      {
        server: { host: "127.0.0.1", port: overrides.port ?? 4000 },
        organizations: [{ id: DEMO_ORGANIZATION, name: "Demo Organization", providers }],
        ...(overrides.collect === false ? { collect: false } : {}),
      },
      env,
      { demo: true },
    );
    return { config, emulators, stop: () => stopAll(emulators) };
  } catch (error) {
    await stopAll(emulators);
    throw error;
  }
}

async function stopAll(emulators: ReadonlyMap<string, EmulatorServer>): Promise<void> {
  await Promise.all([...emulators.values()].map((e) => e.stop()));
}
