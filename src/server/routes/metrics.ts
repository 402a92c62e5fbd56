import type { FastifyPluginAsync } from "fastify";
import type { ServerMetrics } from "../metrics";

export interface MetricsRouteOptions {
  metrics: ServerMetrics;
}

/** `GET /metrics`: Prometheus text. */
export const metricsRoute: FastifyPluginAsync<MetricsRouteOptions> = async (app, { metrics: { registry } }) => {
  app.get("/metrics", async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
};
