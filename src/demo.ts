import { resolveConfig, type Config } from "./config/config";
import type { EmulatorServer } from "./providers/emulator/emulator-server";
import { PROVIDER_MODULES } from "./providers/registry";

export const DEMO_ORGANIZATION = "demo";

export interface Demo {
  config: Config;
  emulators: ReadonlyMap<string, EmulatorServer>;
  stop(): Promise<void>;
}

/**
 * Demo mode: every provider's built-in emulator on a loopback port, one organization `demo` wired
 * to them, bound to 127.0.0.1 with no auth. What `npm start` runs when no config is given.
 */
export async function startDemo(env: NodeJS.ProcessEnv, overrides: { port?: number; latencyMs?: number } = {}): Promise<Demo> {
  const emulators = new Map<string, EmulatorServer>();
  try {
    for (const module of PROVIDER_MODULES) {
      emulators.set(module.catalog.key, await module.startEmulator({ latencyMs: overrides.latencyMs }));
    }
    const providers = Object.fromEntries(PROVIDER_MODULES.map((m) => [m.catalog.key, m.demoSettings(emulators.get(m.catalog.key)!.url)]));
    const config = resolveConfig(
      {
        server: { host: "127.0.0.1", port: overrides.port ?? 4000 },
        organizations: [{ id: DEMO_ORGANIZATION, name: "Demo Organization", providers }],
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
