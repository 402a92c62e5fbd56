import { createHash } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApolloServer } from "@apollo/server";
import { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import type { EvaluationSummary } from "../alerts/notifier";
import { ANONYMOUS, ApiKeyAuthenticator, type Principal } from "../auth/api-keys";
import { createLogger, type Logger } from "../common/logger";
import type { Config } from "../config/config";
import type { RequestContext } from "../context";
import { RedisCache, type UpstreamCache } from "../providers/http/cache";
import type { QueueRegistry } from "../providers/http/queue";
import { buildUsageGraphSchema } from "../graphql/schema";
import { collectInBackground, type CollectionScheduler } from "../collect/collection.scheduler";
import { createRuntime } from "../runtime";
import { createApollo } from "./apollo";
import { createHttpApp } from "./http";
import { ResponseCache } from "./response-cache";
import { dashboardRoutes } from "./routes/dashboard";
import { exportRoute } from "./routes/export";
import { graphqlRoute } from "./routes/graphql";
import { healthRoutes } from "./routes/health";
import { metricsRoute } from "./routes/metrics";

const MAX_BODY_BYTES = 1_000_000;

export interface UsageGraphServer {
  readonly config: Config;
  readonly httpServer: Server;
  readonly cache: UpstreamCache;
  readonly queues: QueueRegistry;
  readonly log: Logger;
  /** Scheduled collection, started by listen() (`runNow()` for tests). */
  readonly collection: CollectionScheduler;
  /** Sends the organization's new alerts to its webhooks (what runs after each collection run). */
  evaluateAlerts(organizationId: string): Promise<EvaluationSummary>;
  /** Starts listening on config.server; resolves to the base URL (http://host:port). */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish, then releases everything. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  log?: Logger;
  /** Clock, injectable for tests. */
  now?: () => number;
  /**
   * Collect the last `collect.backfillDays` days in the background once listening: what demo mode
   * does (`npm start`), so that `collection` and history have something to show. Off by default.
   */
  collectOnStart?: boolean;
}

/** Builds everything usagegraph serves from a resolved config. What tests import. */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<UsageGraphServer> {
  const log = options.log ?? createLogger(config.log.level);
  const now = options.now ?? Date.now;
  const runtime = await createRuntime(config, { log, now });
  const authenticator = config.auth ? new ApiKeyAuthenticator(config.auth.apiKeys) : null;
  const authenticate = (header: string | undefined): Principal => (authenticator ? authenticator.authenticate(header) : ANONYMOUS);

  const app = createHttpApp({ log, metrics: runtime.metrics, bodyLimit: MAX_BODY_BYTES });
  let apollo: ApolloServer<RequestContext> | undefined;
  try {
    // Apollo's stop() drains the app (stops accepting, waits for in-flight requests, 10 s at most).
    apollo = await createApollo(config, { log, now, drain: fastifyApolloDrainPlugin(app) });
    const { schema } = await buildUsageGraphSchema();
    const responseCache = new ResponseCache({
      schema,
      now,
      storeWrites: runtime.store.writes,
      fingerprint: createHash("sha256").update(JSON.stringify(config.organizations)).digest("hex"),
      log,
      redis: runtime.cache instanceof RedisCache ? runtime.cache.client : undefined,
    });
    await app.register(graphqlRoute, { apollo, responseCache, services: runtime.services, authenticate, log, metrics: runtime.metrics });
    await app.register(healthRoutes, { runtime });
    await app.register(metricsRoute, { metrics: runtime.metrics });
    await app.register(exportRoute, { services: runtime.services, authenticate, log });
    await app.register(dashboardRoutes, { authRequired: authenticator !== null, schema });
    await app.ready();
  } catch (error) {
    await (apollo ? apollo.stop() : app.close());
    await runtime.close();
    throw error;
  }

  return {
    config,
    httpServer: app.server,
    cache: runtime.cache,
    queues: runtime.queues,
    log,
    collection: runtime.collection.scheduler,
    evaluateAlerts: (organizationId) => runtime.notifier.evaluate(organizationId),
    async listen() {
      try {
        await app.listen({ port: config.server.port, host: config.server.host });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") throw new Error(portInUse(config));
        throw error;
      }
      const { port } = app.server.address() as AddressInfo;
      const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
      // Collection belongs to the serving process: started here, never by the CLI.
      runtime.collection.scheduler.start();
      if (options.collectOnStart && config.collect && runtime.store.kind !== "none")
        void collectInBackground(runtime.collection.scheduler, log, config.collect.backfillDays);
      return `http://${host}:${port}`;
    },
    async stop() {
      try {
        await apollo.stop();
      } finally {
        await runtime.close();
      }
    },
  };
}

/** What a newcomer whose port is taken (another usagegraph, say) can do about it. */
export function portInUse(config: Config): string {
  const { host, port } = config.server;
  const where = `port ${port} on ${host} is already in use by another process`;
  return config.demo
    ? `${where}: start on another port with the PORT variable, e.g. PORT=${port + 1} npm start`
    : `${where}: set server.port in the config file, or the PORT variable (PORT=${port + 1} npm start), to a free port`;
}
