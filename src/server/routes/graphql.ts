import type { ServerResponse } from "node:http";
import type { ApolloServer } from "@apollo/server";
import { fastifyApolloHandler } from "@as-integrations/fastify";
import type { FastifyPluginAsync, FastifyRequest, onSendHookHandler } from "fastify";
import type { Principal } from "../../auth/api-keys";
import { LoaderRegistry } from "../../common/loaders";
import type { Logger } from "../../common/logger";
import type { AppServices, RequestContext } from "../../context";
import { Lifetime } from "../../usage/lifetime";
import type { ServerMetrics } from "../metrics";
import type { GraphQLRequestBody, ResponseCache } from "../response-cache";

export interface GraphQLRouteOptions {
  apollo: ApolloServer<RequestContext>;
  /** Replays repeated operations whose parts are all reusable; absent: every request is executed. */
  responseCache?: ResponseCache;
  services: AppServices;
  /** The principal of an Authorization header; throws UNAUTHENTICATED (401) when it has none. */
  authenticate(header: string | undefined): Principal;
  log: Logger;
  metrics: ServerMetrics;
}

/** `GET /graphql` (queries, and the IDE for a browser) and `POST /graphql`, through Apollo. */
export const graphqlRoute: FastifyPluginAsync<GraphQLRouteOptions> = async (app, { apollo, responseCache, services, authenticate, log, metrics }) => {
  /**
   * What the response cache already knows of a request it looked up: its principal (authenticated
   * once) and the lifetime of its answer, filled while it executes (see src/usage/lifetime.ts).
   */
  const looked = new WeakMap<FastifyRequest, { principal: Principal; lifetime: Lifetime }>();
  const execute = fastifyApolloHandler<RequestContext>(apollo, {
    context: async (request, reply) => {
      const known = looked.get(request);
      const principal = known?.principal ?? authenticate(request.headers.authorization);
      const providerErrors: RequestContext["providerErrors"] = [];
      return {
        lifetime: known?.lifetime ?? new Lifetime(),
        requestId: request.id,
        principal,
        services,
        loaders: new LoaderRegistry(),
        log: log.child({ requestId: request.id, principal: principal.name }),
        providerErrors,
        signal: disconnectSignal(reply.raw),
        reportError: (error) => providerErrors.push(error),
      } satisfies RequestContext;
    },
  });

  // Reply is Apollo's serialized response (the integration's handler type).
  app.route<{ Reply: string }>({
    method: ["GET", "POST"],
    url: "/graphql",
    // HEAD is not a GraphQL method: 405, as PUT or OPTIONS.
    exposeHeadRoute: false,
    onSend: refusedRequestStatus,
    async handler(request, reply) {
      const stopTimer = metrics.graphqlDuration.startTimer();
      try {
        const lookup = responseCache && request.method === "POST" ? cacheKey(responseCache, request, authenticate) : undefined;
        if (lookup === undefined || responseCache === undefined) return await execute.call(this, request, reply);
        const { key, principal } = lookup;
        const replay = await responseCache.get(key);
        metrics.responseCache.inc({ result: replay === undefined ? "miss" : "hit" });
        // A replay's bytes are UTF-8 encoded once, when kept: Fastify writes a Buffer as it is (the
        // route's Reply type is the integration's string, hence the cast).
        if (replay !== undefined) return reply.type(replay.contentType).send(replay.body as unknown as string);
        const lifetime = new Lifetime();
        looked.set(request, { principal, lifetime });
        const started = responseCache.begin();
        const body = await execute.call(this, request, reply);
        const contentType = reply.getHeader("content-type");
        if (reply.statusCode === 200 && typeof body === "string" && typeof contentType === "string" && lifetime.reusable) {
          const kept = await responseCache.keep(key, request.body as GraphQLRequestBody, { body, contentType }, lifetime, started);
          if (kept) metrics.responseCache.inc({ result: "kept" });
        }
        return body;
      } finally {
        stopTimer();
      }
    },
  });
};

/**
 * The response cache key of an authenticated request, or undefined (not a shape the cache serves,
 * or no valid credentials: then Apollo answers it, and refuses it exactly as without the cache).
 */
function cacheKey(
  cache: ResponseCache,
  request: FastifyRequest,
  authenticate: GraphQLRouteOptions["authenticate"],
): { key: string; principal: Principal } | undefined {
  let principal: Principal;
  try {
    principal = authenticate(request.headers.authorization);
  } catch {
    return undefined;
  }
  const key = cache.keyOf(principal, request.body as GraphQLRequestBody | undefined, request.headers.accept);
  return key === undefined ? undefined : { key, principal };
}

/** Fires when the client goes away before its response is complete: upstream work stops with it. */
export function disconnectSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  if (res.closed) onClose();
  else res.once("close", onClose);
  return controller.signal;
}

const REQUEST_ERROR_CODES = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"]);

/**
 * A request refused before execution is the client's fault: HTTP 400. graphql-armor's token limit
 * replaces the parser, and its refusals (and, with it installed, plain syntax errors) reach Apollo
 * as unexpected errors answered with 500; this puts the status right when no data was produced.
 */
const refusedRequestStatus: onSendHookHandler = (_request, reply, payload, done) => {
  if (reply.statusCode === 500 && typeof payload === "string") {
    try {
      const body = JSON.parse(payload) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
      const refused = body.data === undefined && body.errors?.length && body.errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)));
      if (refused) reply.code(400);
    } catch {
      // Not JSON: leave the status alone.
    }
  }
  done(null, payload);
};
