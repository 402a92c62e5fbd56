import type { Logger } from "./common/logger";
import type { Config } from "./config/config";
import type { AppServices } from "./context";
import { OrganizationRegistry } from "./organizations/organization.registry";
import { OrganizationService } from "./organizations/organization.service";
import { createCache, RedisCache, type UpstreamCache } from "./providers/http/cache";
import { QueueRegistry } from "./providers/http/queue";
import { ServerMetrics } from "./server/metrics";
import { UsageService } from "./usage/usage.service";

/**
 * What usagegraph is once the config is resolved, whatever serves it: the cache, the per-credential
 * queues, the organizations with their provider instances, and the services over them. The HTTP
 * server and `npm run warm` build it the same way, so a warm run fills the cache the server reads.
 */
export interface Runtime {
  readonly config: Config;
  readonly log: Logger;
  readonly cache: UpstreamCache;
  readonly queues: QueueRegistry;
  readonly metrics: ServerMetrics;
  readonly organizations: OrganizationRegistry;
  readonly services: AppServices;
  /** Stops the queues and closes the cache; call after the last request is done. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  log: Logger;
  /** Clock, injectable for tests. */
  now?: () => number;
}

export async function createRuntime(config: Config, { log, now = Date.now }: RuntimeOptions): Promise<Runtime> {
  const cache = await createCache(config.cache.url, log);
  // With a Redis cache, the rate-limit state lives in the same Redis: replicas share one budget.
  const queues = new QueueRegistry(cache instanceof RedisCache ? cache.client : undefined);
  const metrics = new ServerMetrics(queues);
  const organizations = new OrganizationRegistry(config.organizations, { cache, queues, log, metrics });
  return {
    config,
    log,
    cache,
    queues,
    metrics,
    organizations,
    services: {
      organizations: new OrganizationService(organizations),
      usage: new UsageService({ deadlineMs: config.limits.deadlineMs, now }),
    },
    async close() {
      await queues.stop();
      await cache.close();
    },
  };
}
