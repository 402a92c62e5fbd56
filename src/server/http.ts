import { randomUUID } from "node:crypto";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from "fastify";
import type { Logger } from "../common/logger";
import type { ServerMetrics } from "./metrics";

export interface HttpAppOptions {
  log: Logger;
  metrics: ServerMetrics;
  /** Larger request bodies are refused with 413 before they are read to the end. */
  bodyLimit: number;
}

/** The request-id header, read (when well-formed) and always answered. */
const REQUEST_ID_HEADER = "x-request-id";

/**
 * The Fastify instance and the conventions every route shares: body limit and JSON parsing, request
 * ids, HTTP metrics by route and status, 404 with the endpoint list, 405 with `Allow`, JSON error
 * bodies, and `Connection: close` while draining. Routes are added by the caller as plugins.
 */
export function createHttpApp({ log, metrics, bodyLimit }: HttpAppOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit,
    // Node's own default; Fastify's (none) would let a client trickle a request forever.
    requestTimeout: 300_000,
    // Logging stays ours (pino, one line per event we choose): Fastify would add its own lines.
    logger: false,
    genReqId: (req) => sanitizeRequestId(req.headers[REQUEST_ID_HEADER]) ?? randomUUID(),
  });

  // Path → methods, of every route registered: what answers 405 and lists the endpoints on 404.
  const routes = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    const methods = routes.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    routes.set(route.url, methods);
  });

  // Only JSON bodies are read; any other content type is refused with 415 before it is read.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    if (body === "") return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new RefusedRequest(400, "The request body is not valid JSON."), undefined);
    }
  });

  app.addHook("onRequest", (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });

  // server.close() ends idle keep-alive connections only; a connection whose request is still
  // running would stay open after its response. Answering `Connection: close` ends it too.
  let draining = false;
  app.addHook("preClose", (done) => {
    draining = true;
    done();
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (draining) reply.header("connection", "close");
    done(null, payload);
  });

  app.addHook("onResponse", (request, reply, done) => {
    metrics.httpRequests.inc({ route: routeLabel(request, routes), status: String(reply.statusCode) });
    done();
  });

  app.setNotFoundHandler((request, reply) => {
    const path = pathOf(request.url);
    const methods = routes.get(path);
    if (methods) {
      return reply
        .code(405)
        .header("allow", [...methods].join(", "))
        .send(requestError(`Use ${[...methods].join(" or ")} for ${path}.`));
    }
    return reply.code(404).send({ error: "not found", endpoints: [...routes.keys()] });
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.code(status).send(requestError(clientMessage(error, bodyLimit)));
    log.error({ requestId: request.id, err: { name: error.name, message: String(error.message).slice(0, 300) } }, "request failed");
    return reply.code(500).send({ errors: [{ message: "Internal server error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }] });
  });

  return app;
}

/** A GraphQL-shaped refusal of a request that never reached execution. */
export function requestError(message: string): unknown {
  return { errors: [{ message, extensions: { code: "BAD_REQUEST" } }] };
}

/** A request refused before its route ran; the message is written for the client. */
class RefusedRequest extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

function clientMessage(error: FastifyError, bodyLimit: number): string {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `The request body is larger than ${bodyLimit} bytes.`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "Send the request body as application/json.";
  }
  // Fastify's own messages and ours are safe to show; a stranger's 4xx might carry anything.
  return error instanceof RefusedRequest || error.code?.startsWith("FST_") ? error.message : "Bad request.";
}

function routeLabel(request: FastifyRequest, routes: ReadonlyMap<string, unknown>): string {
  if (!request.is404) return request.routeOptions.url ?? "other";
  // A known path asked with another method (405) counts under its route, as any other answer.
  const path = pathOf(request.url);
  return routes.has(path) ? path : "other";
}

function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

function sanitizeRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(value) ? value : undefined;
}
