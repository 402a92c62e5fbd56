import { providerDemo } from "../../src/providers/demo-registry";
import type { EmulatorOptions, EmulatorServer } from "../../src/providers/emulator/emulator-server";
import type { ProviderKey } from "../../src/providers/provider";

/**
 * Emulators for tests. Each records its requests (tests count and inspect them) and is stopped
 * after the test file that started it: this module registers that afterAll when a file imports it.
 */
const running = new Set<EmulatorServer>();

afterAll(stopEmulators);

/** Starts an emulator class on a free loopback port, e.g. `startEmulator(AdverityEmulator, { tokenKeys })`. */
export async function startEmulator<E extends EmulatorServer>(Emulator: new () => E): Promise<E>;
export async function startEmulator<O extends EmulatorOptions, E extends EmulatorServer>(Emulator: new (options?: O) => E, options: O): Promise<E>;
export async function startEmulator<E extends EmulatorServer>(Emulator: new (options?: EmulatorOptions) => E, options: EmulatorOptions = {}): Promise<E> {
  return track(await new Emulator({ ...options, recordRequests: true }).start());
}

/** Starts the emulator of a provider as its demo part does (the contract suite: any provider alike). */
export async function startProviderEmulator(key: ProviderKey, options: EmulatorOptions = {}): Promise<EmulatorServer> {
  return track(await providerDemo(key).startEmulator({ ...options, recordRequests: true }));
}

/** Stops every emulator this file started (also done after the file). */
export async function stopEmulators(): Promise<void> {
  const stopping = [...running];
  running.clear();
  await Promise.all(stopping.map((e) => e.stop()));
}

function track<E extends EmulatorServer>(emulator: E): E {
  running.add(emulator);
  return emulator;
}

/** Upstream requests the given emulators have received (and recorded) so far. */
export function requestCount(emulators: Iterable<EmulatorServer>): number {
  let n = 0;
  for (const e of emulators) n += e.requests.length;
  return n;
}
