import type { Logger } from "../common/logger";
import { COLLECT_DEFAULTS } from "../config/collect.config";
import type { Config } from "../config/config";
import type { OrganizationRegistry } from "../organizations/organization.registry";
import { RedisCache, type UpstreamCache } from "../providers/http/cache";
import type { UsageStore } from "../store/store";
import { UsageService } from "../usage/usage.service";
import { createCollectionScheduler, type CollectionScheduler } from "./collection.scheduler";
import { CollectionService } from "./collection.service";
import { Collector } from "./collector";

/**
 * Deadline of one collection step. A step waits in its credential's queue behind whatever the
 * reports of the moment ask, so it gets longer than a request does.
 */
const STEP_DEADLINE_MS = 120_000;

export interface Collection {
  readonly collector: Collector;
  /** Not started: the server starts it (`scheduler.start()`), `npm run collect` does not. */
  readonly scheduler: CollectionScheduler;
  readonly service: CollectionService;
}

/**
 * Collection over a runtime's store, cache, queues and organizations. It runs through a usage
 * service of its own (the same queues, cache and store as the reports', a longer deadline). Off
 * (no schedule, `nextRunAt` null) with `"collect": false` or without a store to collect into.
 */
export function createCollection(
  config: Config,
  deps: { store: UsageStore; cache: UpstreamCache; organizations: OrganizationRegistry; log: Logger; now: () => number },
): Collection {
  const { store, cache, organizations, log, now } = deps;
  const usage = new UsageService({ deadlineMs: Math.max(config.limits.deadlineMs, STEP_DEADLINE_MS), now, store, log });
  const collector = new Collector({ store, usage, backfillDays: config.collect ? config.collect.backfillDays : COLLECT_DEFAULTS.backfillDays, log, now });
  const schedule = store.kind === "none" ? false : config.collect;
  const redis = cache instanceof RedisCache ? { url: config.cache.url, client: cache.client } : null;
  return {
    collector,
    scheduler: createCollectionScheduler({ collector, organizations, collect: schedule, redis, log }),
    service: new CollectionService({ collector, store, schedule, now }),
  };
}
