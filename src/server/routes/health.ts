import type { FastifyPluginAsync } from "fastify";
import type { Runtime } from "../../runtime";

export interface HealthRoutesOptions {
  runtime: Pick<Runtime, "cache" | "organizations" | "store">;
}

/**
 * `GET /healthz`: the process is up. `GET /readyz`: the config is loaded, the cache and the store
 * answer; "degraded" when either does not (reports still answer, from upstream and memory).
 */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { runtime: { cache, organizations, store } }) => {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async () => {
    const [cacheHealthy, storeHealthy] = await Promise.all([cache.healthy(), store.healthy().catch(() => false)]);
    return {
      status: cacheHealthy && storeHealthy ? "ready" : "degraded",
      cache: { kind: cache.kind, healthy: cacheHealthy },
      store: { kind: store.kind, healthy: storeHealthy },
      organizations: organizations.all().length,
    };
  });
};
