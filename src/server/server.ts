import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { ANONYMOUS, ApiKeyAuthenticator, type Principal } from "../auth/api-keys";
import { LoaderRegistry } from "../common/loaders";
import { createLogger, type Logger } from "../common/logger";
import type { Config } from "../config/config";
import type { RequestContext } from "../context";
import { buildUsageGraphSchema } from "../graphql/schema";
import { OrganizationRegistry } from "../organizations/organization.registry";
import { OrganizationService } from "../organizations/organization.service";
import { createCache, RedisCache, type UpstreamCache } from "../providers/http/cache";
import { QueueRegistry } from "../providers/http/queue";
import { UsageService } from "../usage/usage.service";
import { exampleQuery } from "./example-query";
import { maskErrors } from "./error-masking";
import { graphiqlLandingPage } from "./landing-page";
import { ServerMetrics } from "./metrics";
import { fanOutLimit } from "./fan-out";
import { ApolloArmor } from "@escape.tech/graphql-armor";

const MAX_BODY_BYTES = 1_000_000;

export interface UsageGraphServer {
  readonly config: Config;
  readonly httpServer: Server;
  readonly cache: UpstreamCache;
  readonly queues: QueueRegistry;
  readonly log: Logger;
  /** Starts listening on config.server; resolves to the base URL (http://host:port). */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish, then releases everything. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  log?: Logger;
  /** Clock, injectable for tests. */
  now?: () => number;
}

/** Builds everything usagegraph serves from a resolved config. What tests import. */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<UsageGraphServer> {
  const log = options.log ?? createLogger(config.log.level);
  const now = options.now ?? Date.now;
  const cache = await createCache(config.cache.url, log);
  // With a Redis cache, the rate-limit state lives in the same Redis: replicas share one budget.
  const queues = new QueueRegistry(cache instanceof RedisCache ? cache.client : undefined);
  const metrics = new ServerMetrics(queues);
  const registry = new OrganizationRegistry(config.organizations, { cache, queues, log, metrics });
  const services = {
    organizations: new OrganizationService(registry),
    usage: new UsageService({ deadlineMs: config.limits.deadlineMs, now }),
  };
  const authenticator = config.auth ? new ApiKeyAuthenticator(config.auth.apiKeys) : null;
  const { schema } = await buildUsageGraphSchema();

  const httpServer = createHttpServer();
  const limits = config.graphql;
  // Depth, aliases, tokens, directives and per-field cost: refused (HTTP 400) before execution.
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: limits.maxAliases },
    maxTokens: { n: limits.maxTokens },
    maxDirectives: { n: limits.maxDirectives },
    costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true },
    // Field suggestions ("did you mean") would reveal the schema when introspection is off.
    blockFieldSuggestion: { enabled: !limits.introspection },
  }).protect();
  const apollo = new ApolloServer<RequestContext>({
    schema,
    logger: log,
    formatError: maskErrors(log),
    includeStacktraceInErrorResponses: limits.debug,
    allowBatchedHttpRequests: false,
    introspection: limits.introspection,
    csrfPrevention: true,
    // src/index.ts owns SIGTERM/SIGINT: drain, stop the emulators (demo), exit 0.
    stopOnTerminationSignals: false,
    validationRules: armor.validationRules,
    plugins: [
      ...armor.plugins,
      fanOutLimit(limits.maxFanOut),
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: 10_000 }),
      ApolloServerPluginInlineTraceDisabled(),
      // No HTTP cache hints are set anywhere; without this plugin Apollo hooks every field resolution.
      ApolloServerPluginCacheControlDisabled(),
      graphiqlLandingPage(exampleQuery(config.organizations[0]!.id, now())),
      providerErrorsPlugin(),
    ],
  });
  await apollo.start();

  const authenticate = (header: string | undefined): Principal => (authenticator ? authenticator.authenticate(header) : ANONYMOUS);

  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const route = url.pathname;
    res.on("finish", () => metrics.httpRequests.inc({ route: knownRoute(route), status: String(res.statusCode) }));
    void (async () => {
      try {
        switch (route) {
          case "/healthz":
            return sendJson(res, 200, { status: "ok" });
          case "/readyz": {
            const healthy = await cache.healthy();
            return sendJson(res, 200, { status: healthy ? "ready" : "degraded", cache: { kind: cache.kind, healthy }, organizations: registry.all().length });
          }
          case "/metrics":
            res.writeHead(200, { "content-type": metrics.registry.contentType });
            return res.end(await metrics.registry.metrics());
          case "/graphql":
            return await handleGraphQL(req, res, url);
          default:
            return sendJson(res, 404, { error: "not found", endpoints: ["/graphql", "/healthz", "/readyz", "/metrics"] });
        }
      } catch (error) {
        log.error({ err: { name: (error as Error)?.name, message: String((error as Error)?.message).slice(0, 300) } }, "request failed");
        if (!res.headersSent) sendJson(res, 500, { errors: [{ message: "Internal server error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
        else res.destroy();
      }
    })();
  });

  async function handleGraphQL(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== "GET" && req.method !== "POST") {
      res.setHeader("allow", "GET, POST");
      return sendJson(res, 405, requestError("Use GET or POST for /graphql."));
    }
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (raw === null) return sendJson(res, 413, requestError(`The request body is larger than ${MAX_BODY_BYTES} bytes.`));
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(", ") : value);
    }
    let body: unknown = raw;
    if (req.method === "POST" && (headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
      try {
        body = raw === "" ? undefined : JSON.parse(raw);
      } catch {
        return sendJson(res, 400, requestError("The request body is not valid JSON."));
      }
    }
    const requestId = sanitizeRequestId(headers.get("x-request-id")) ?? randomUUID();
    res.setHeader("x-request-id", requestId);
    const timer = metrics.graphqlDuration.startTimer();
    const disconnected = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) disconnected.abort();
    });
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers, search: url.search, body },
      context: async () => {
        const principal = authenticate(headers.get("authorization"));
        const requestLog = log.child({ requestId, principal: principal.name });
        const providerErrors: RequestContext["providerErrors"] = [];
        return {
          requestId,
          principal,
          services,
          loaders: new LoaderRegistry(),
          log: requestLog,
          providerErrors,
          signal: disconnected.signal,
          reportError: (error) => providerErrors.push(error),
        } satisfies RequestContext;
      },
    });
    timer();
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = clientErrorStatus(response) ?? response.status ?? 200;
    if (response.body.kind === "complete") {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  let baseUrl = "";
  return {
    config,
    httpServer,
    cache,
    queues,
    log,
    async listen() {
      await new Promise<void>((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(config.server.port, config.server.host, () => resolve());
      });
      const { port } = httpServer.address() as AddressInfo;
      const host = config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host;
      baseUrl = `http://${host}:${port}`;
      return baseUrl;
    },
    async stop() {
      // The drain plugin stops accepting connections and waits for in-flight requests.
      if (httpServer.listening) await apollo.stop();
      else await apollo.stop().catch(() => undefined);
      await queues.stop();
      await cache.close();
    },
  };
}

/** Appends the provider failures of a report to `errors`, beside the partial data. */
function providerErrorsPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== "single" || contextValue.providerErrors.length === 0) return;
          const result = response.body.singleResult;
          result.errors = [...(result.errors ?? []), ...contextValue.providerErrors.map((e) => e.toJSON())];
        },
      };
    },
  };
}

const REQUEST_ERROR_CODES = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"]);

/**
 * A request refused before execution is the client's fault: HTTP 400. graphql-armor's token limit
 * replaces the parser, and its refusals (and, with it installed, plain syntax errors) reach Apollo
 * as unexpected errors answered with 500; this puts the status right when no data was produced.
 */
function clientErrorStatus(response: { status?: number; body: { kind: string; string?: string } }): number | undefined {
  if (response.status !== 500 || response.body.kind !== "complete") return undefined;
  try {
    const body = JSON.parse(response.body.string!) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
    const refused = body.data === undefined && body.errors?.length && body.errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)));
    return refused ? 400 : undefined;
  } catch {
    return undefined;
  }
}

function requestError(message: string): unknown {
  return { errors: [{ message, extensions: { code: "BAD_REQUEST" } }] };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

/** The body as text, or null when it exceeds `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(tooLarge ? null : Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sanitizeRequestId(value: string | undefined): string | undefined {
  return value && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : undefined;
}

function knownRoute(route: string): string {
  return ["/graphql", "/healthz", "/readyz", "/metrics"].includes(route) ? route : "other";
}
