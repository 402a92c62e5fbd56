import { acedataModule } from "./acedata/acedata.provider";
import { adverityModule } from "./adverity/adverity.provider";
import { aiStudioModule } from "./aiStudio/aiStudio.provider";
import { jiandaoyunModule } from "./jiandaoyun/jiandaoyun.provider";
import { pipefyModule } from "./pipefy/pipefy.provider";
import { defineProvider, type ProviderModule } from "./module";
import type { ProviderKey } from "./provider";

/**
 * Every provider usagegraph knows, in the order reports list them. One line per provider. No
 * emulator is reachable from here: those are in `demo-registry.ts`, for demo mode and tests only.
 */
export const PROVIDER_MODULES: readonly ProviderModule[] = [
  defineProvider(jiandaoyunModule),
  defineProvider(acedataModule),
  defineProvider(aiStudioModule),
  defineProvider(pipefyModule),
  defineProvider(adverityModule),
];

export const MODULES_BY_KEY: ReadonlyMap<ProviderKey, ProviderModule> = new Map(PROVIDER_MODULES.map((m) => [m.catalog.key, m]));

export const ALL_METRIC_KEYS: readonly string[] = PROVIDER_MODULES.flatMap((m) => m.catalog.metrics.map((x) => x.key));
