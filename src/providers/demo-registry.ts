import type { ProviderDemo, ProviderModule } from "./module";
import type { ProviderKey } from "./provider";
import { PROVIDER_MODULES } from "./registry";

/**
 * Where each provider's demo part is (its emulator, demo credentials and error samples). One line
 * per provider, like the registry; the record type makes a provider without one a type error.
 *
 * Each is loaded when first asked for, by demo mode, the tests and the benchmark: a server started
 * with a config never loads an emulator (test/production.test.ts checks that). `require` inside a
 * function rather than `import()`: the build is CommonJS, and jest runs it without ESM support.
 */
const DEMO_PARTS: Record<ProviderKey, () => ProviderDemo> = {
  jiandaoyun: () => (require("./jiandaoyun/jiandaoyun.demo") as typeof import("./jiandaoyun/jiandaoyun.demo")).jiandaoyunDemo,
  acedata: () => (require("./acedata/acedata.demo") as typeof import("./acedata/acedata.demo")).acedataDemo,
  aiStudio: () => (require("./aiStudio/aiStudio.demo") as typeof import("./aiStudio/aiStudio.demo")).aiStudioDemo,
  pipefy: () => (require("./pipefy/pipefy.demo") as typeof import("./pipefy/pipefy.demo")).pipefyDemo,
  adverity: () => (require("./adverity/adverity.demo") as typeof import("./adverity/adverity.demo")).adverityDemo,
};

/** The demo part of one provider. */
export function providerDemo(key: ProviderKey): ProviderDemo {
  return DEMO_PARTS[key]();
}

/** Every provider with its demo part, in the registry's order. */
export function providerDemos(): ReadonlyArray<{ module: ProviderModule; demo: ProviderDemo }> {
  return PROVIDER_MODULES.map((module) => ({ module, demo: providerDemo(module.catalog.key) }));
}
