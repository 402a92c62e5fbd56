import { AlertService } from "./alerts/alert.service";
import { BudgetService } from "./alerts/budget.service";
import { AlertNotifier, alertsAfterRun } from "./alerts/notifier";
import { createCollection, type Collection } from "./collect/collection";
import type { Logger } from "./common/logger";
import type { Config } from "./config/config";
import type { AppServices } from "./context";
import { OrganizationRegistry } from "./organizations/organization.registry";
import { OrganizationService } from "./organizations/organization.service";
import { createCache, RedisCache, type UpstreamCache } from "./providers/http/cache";
import { QueueRegistry } from "./providers/http/queue";
import { ServerMetrics } from "./server/metrics";
import { openStore, type UsageStore } from "./store/store";
import { UsageService } from "./usage/usage.service";

/**
 * What usagegraph is once the config is resolved, whatever serves it: the cache, the per-credential
 * queues, the organizations with their provider instances, and the services over them. The HTTP
 * server and `npm run collect` build it the same way, so a collect run fills the store the server reads.
 */
export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly cache: UpstreamCache;
  readonly queues: QueueRegistry;
  readonly metrics: ServerMetrics;
  readonly organizations: OrganizationRegistry;
  /** The durable usage store (a NoStore with `store.url: "none"`). */
  readonly store: UsageStore;
  readonly services: AppServices;
  /** Collection into the store (DESIGN §6): the server starts `collection.scheduler`; the CLI runs `collection.collector`. */
  readonly collection: Collection;
  /** Sends new alerts to the organizations' webhooks; runs after each collection run (alertsAfterRun). */
  readonly notifier: AlertNotifier;
  /** Stops the queues, closes the cache and the store; call after the last request is done. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  log: Logger;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/**
 * Builds the runtime. Throws StoreOpenError (one line, no password) when the store cannot be opened
 * or migrated: the process entry reports it and exits 2.
 */
export async function createRuntime(config: Config, { log, now = Date.now }: RuntimeOptions): Promise<Runtime> {
  const store = await openStore(config.store.url, { log, now });
  const cache = await createCache(config.cache.url, log, now);
  // With a Redis cache, the rate-limit state lives in the same Redis: replicas share one budget.
  const queues = new QueueRegistry(cache instanceof RedisCache ? cache.client : undefined);
  const metrics = new ServerMetrics(queues);
  const organizations = new OrganizationRegistry(config.organizations, { cache, queues, log, metrics });
  const usage = new UsageService({ deadlineMs: config.limits.deadlineMs, now, store, log });
  const collection = createCollection(config, { store, cache, organizations, log, now });
  const budgets = new BudgetService(usage, config.organizations, now);
  const alerts = new AlertService({ usage, budgets, store });
  const notify = new Map(config.organizations.map((o) => [o.id, o.notify]));
  const notifier = new AlertNotifier({ alerts, organizations, notify, store, log, now });
  // After each collection run: what it wrote may have crossed a threshold or made an anomaly.
  collection.collector.onRunFinished(alertsAfterRun(notifier, log));
  return {
    config,
    log,
    cache,
    queues,
    metrics,
    organizations,
    store,
    services: {
      organizations: new OrganizationService(organizations),
      usage,
      budgets,
      alerts,
      collection: collection.service,
    },
    collection,
    notifier,
    async close() {
      // First: interrupted runs record themselves in the store and free their queued calls.
      await collection.scheduler.stop();
      await queues.stop();
      await cache.close();
      await store.close();
    },
  };
}
