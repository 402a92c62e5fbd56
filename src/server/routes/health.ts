import type { FastifyPluginAsync } from "fastify";
import type { Runtime } from "../../runtime";

export interface HealthRoutesOptions {
  runtime: Pick<Runtime, "cache" | "organizations">;
}

/** `GET /healthz`: the process is up. `GET /readyz`: the config is loaded and the cache answers. */
export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { runtime: { cache, organizations } }) => {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async () => {
    const healthy = await cache.healthy();
    return { status: healthy ? "ready" : "degraded", cache: { kind: cache.kind, healthy }, organizations: organizations.all().length };
  });
};
