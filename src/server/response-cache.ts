import { createHash } from "node:crypto";
import { Kind, parse, TypeInfo, visit, visitWithTypeInfo, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import type Redis from "ioredis";
import { LRUCache } from "lru-cache";
import type { Principal } from "../auth/api-keys";
import type { Logger } from "../common/logger";
import type { UsageStore } from "../store/store";
import type { Lifetime } from "../usage/lifetime";

/**
 * Fields whose answers the response cache may replay: static ones (names, the provider catalog)
 * and the usage report, whose lifetime the usage service tells (src/usage/lifetime.ts). Anything
 * else (budgets, alerts, collection status, native records, federation entities, introspection)
 * makes a document uncacheable: it is executed every time.
 */
const CACHEABLE_FIELDS: Readonly<Record<string, ReadonlySet<string> | "all">> = {
  Query: new Set(["organizations", "organization", "providers"]),
  Organization: new Set(["id", "name", "usage"]),
  UsageReport: "all",
  UsageSeries: "all",
  UsagePoint: "all",
  Metric: "all",
  DimensionValue: "all",
  SourceStatus: "all",
  SourceError: "all",
  ProviderInfo: "all",
  DimensionInfo: "all",
  RateLimitInfo: "all",
};

/** A POST /graphql body as the cache reads it. */
export interface GraphQLRequestBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
  extensions?: unknown;
}

/** One replayable response: the exact bytes and content type a fresh execution produced, and how long they stay right. */
interface Entry {
  /** UTF-8 bytes, encoded once: a replay writes them as they are. */
  body: Buffer;
  contentType: string;
  /** Epoch ms, product clock. */
  expiresAt: number;
  /** When the execution that produced it began (product clock). */
  builtAt: number;
  /** The usage service's store-write count when the execution began (this process only). */
  generation: number;
}

/** When an execution began (product clock) and the store's write count then. */
export interface ExecutionStart {
  builtAt: number;
  generation: number;
}

/** A replay: what to send. */
export interface Replay {
  body: Buffer;
  contentType: string;
}

export interface ResponseCacheOptions {
  schema: GraphQLSchema;
  now: () => number;
  /** The store's writes in this process (UsageStore.writes): a write ends what was built before it. */
  storeWrites: UsageStore["writes"];
  /**
   * What the organizations are in this deployment (a digest of their config): two deployments that
   * share one Redis and both have an organization "acme" never share its entries.
   */
  fingerprint: string;
  log: Logger;
  /** Shared with every replica when the cache is Redis (`cache.url`). */
  redis?: Redis;
  /** Bytes of bodies kept in process memory. */
  maxBytes?: number;
}

/**
 * The response cache: a repeated operation whose every part is reusable is answered with the bytes
 * of an execution that reused every part (so its counters are what a hit reports: 0 upstream
 * requests, its cached responses and stored days), for no longer than its shortest-lived part.
 *
 * - Keyed by a digest of the deployment's organizations, the caller's authorization scope (the
 *   organizations its key may read), the Accept header (which decides Apollo's content type), the
 *   document, the operation name and the variables: a key never sees an entry made under another
 *   scope, and the caller is authenticated before any lookup, so a revoked key gets nothing.
 * - Only queries made of CACHEABLE_FIELDS, answered 200 with no error but the providers' own
 *   (PARTIAL issues are part of a report), are kept.
 * - In process memory (bounded by bytes), and in Redis when configured, so replicas share entries.
 *   This process's store writes (which change what a report reads from the store) end the entries
 *   built before them, in memory and those it reads from Redis.
 */
export class ResponseCache {
  private readonly memory: LRUCache<string, Entry>;
  /** Whether a document (by operation name and text) is made of cacheable fields only. */
  private readonly documents = new LRUCache<string, boolean>({ max: 1_000, maxSize: 8 * 1024 * 1024, sizeCalculation: (_v, k) => k.length + 16 });
  private redisUp = true;

  constructor(private readonly options: ResponseCacheOptions) {
    this.memory = new LRUCache<string, Entry>({ maxSize: options.maxBytes ?? 64 * 1024 * 1024, sizeCalculation: (e) => e.body.length + 256 });
  }

  /**
   * The cache key of a request (a sha256: the document and variables are not kept in the key), or
   * undefined when its shape is not one the cache serves.
   */
  keyOf(principal: Principal, body: GraphQLRequestBody | undefined, accept: string | undefined): string | undefined {
    if (!body || typeof body !== "object" || typeof body.query !== "string" || body.extensions !== undefined) return undefined;
    const { query, variables = null, operationName = null } = body;
    if (operationName !== null && typeof operationName !== "string") return undefined;
    if (variables !== null && (typeof variables !== "object" || Array.isArray(variables))) return undefined;
    const scope = principal.organizations === "all" ? "*" : [...principal.organizations].sort().join(",");
    return createHash("sha256")
      .update(JSON.stringify([this.options.fingerprint, scope, accept ?? "", operationName, query, variables]))
      .digest("hex");
  }

  /** The replay for `key`, or undefined. */
  async get(key: string): Promise<Replay | undefined> {
    const now = this.options.now();
    const entry = this.memory.get(key);
    if (entry) {
      if (entry.expiresAt > now && entry.generation === this.options.storeWrites.count) return entry;
      this.memory.delete(key);
    }
    const shared = await this.fromRedis(key, now);
    // Built before this process's last store write: what it read from the store may have changed.
    if (shared === undefined || !(shared.builtAt > this.options.storeWrites.lastAt)) return undefined;
    this.memory.set(key, { ...shared, generation: this.options.storeWrites.count });
    return shared;
  }

  /** What an execution starts from, for `keep`: its start and the store's writes so far. */
  begin(): ExecutionStart {
    return { builtAt: this.options.now(), generation: this.options.storeWrites.count };
  }

  /**
   * Keeps `response`, the answer of an execution that began at `start`, when the document is
   * cacheable, every part of the answer was reused (`lifetime`) and the store was not written
   * meanwhile. Says whether it was kept.
   */
  async keep(
    key: string,
    body: GraphQLRequestBody,
    response: { body: string; contentType: string },
    lifetime: Lifetime,
    { generation, builtAt }: ExecutionStart,
  ): Promise<boolean> {
    const now = this.options.now();
    const expiresAt = Math.min(lifetime.expiresAt, now + MAX_LIFETIME_MS);
    if (!lifetime.reusable || expiresAt <= now || generation !== this.options.storeWrites.count) return false;
    if (!this.cacheableDocument(body.query as string, (body.operationName as string | null | undefined) ?? null)) return false;
    this.memory.set(key, { body: Buffer.from(response.body, "utf8"), contentType: response.contentType, expiresAt, builtAt, generation });
    const { redis } = this.options;
    if (redis && this.redisUp) {
      const value = JSON.stringify({ b: response.body, t: response.contentType, e: expiresAt, a: builtAt });
      await redis.set(redisKey(key), value, "PX", Math.max(1, Math.ceil(expiresAt - now))).then(
        () => undefined,
        (error: unknown) => this.redisFailed(error),
      );
    }
    return true;
  }

  /** Drops every entry of this process. */
  clear(): void {
    this.memory.clear();
  }

  private async fromRedis(key: string, now: number): Promise<Omit<Entry, "generation"> | undefined> {
    const { redis } = this.options;
    if (!redis || !this.redisUp) return undefined;
    try {
      const text = await redis.get(redisKey(key));
      if (text === null) return undefined;
      const e = JSON.parse(text) as { b?: unknown; t?: unknown; e?: unknown; a?: unknown };
      if (typeof e.b !== "string" || typeof e.t !== "string" || typeof e.e !== "number" || typeof e.a !== "number" || e.e <= now) return undefined;
      return { body: Buffer.from(e.b, "utf8"), contentType: e.t, expiresAt: e.e, builtAt: e.a };
    } catch (error) {
      this.redisFailed(error);
      return undefined;
    }
  }

  private redisFailed(error: unknown): void {
    // Serving from memory and executing are both right; Redis is tried again in a moment.
    this.redisUp = false;
    setTimeout(() => (this.redisUp = true), 5_000).unref();
    this.options.log.warn(
      { err: { name: (error as Error)?.name, message: String((error as Error)?.message).slice(0, 200) } },
      "response cache: redis unavailable",
    );
  }

  private cacheableDocument(query: string, operationName: string | null): boolean {
    const key = `${operationName ?? ""}\n${query}`;
    let cacheable = this.documents.get(key);
    if (cacheable === undefined) {
      cacheable = onlyCacheableFields(this.options.schema, query, operationName);
      this.documents.set(key, cacheable);
    }
    return cacheable;
  }
}

/** However long its parts live, an entry is served for at most this long. */
const MAX_LIFETIME_MS = 15 * 60_000;

function redisKey(key: string): string {
  return `usagegraph:response:${key}`;
}

/** Whether the operation to run is a query whose every field is in CACHEABLE_FIELDS. */
export function onlyCacheableFields(schema: GraphQLSchema, query: string, operationName: string | null): boolean {
  let document;
  try {
    document = parse(query);
  } catch {
    return false;
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName === null ? (operations.length === 1 ? operations[0] : undefined) : operations.find((o) => o.name?.value === operationName);
  if (!operation || operation.operation !== "query") return false;
  // Fragments are walked where they are defined: every one of the document must be cacheable.
  const typeInfo = new TypeInfo(schema);
  let cacheable = true;
  const others = operations.filter((o) => o !== operation);
  visit(
    { ...document, definitions: document.definitions.filter((d) => !others.includes(d as OperationDefinitionNode)) },
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (node.name.value === "__typename") return;
        const parent = typeInfo.getParentType()?.name;
        const allowed = parent === undefined ? undefined : CACHEABLE_FIELDS[parent];
        if (allowed === undefined || (allowed !== "all" && !allowed.has(node.name.value))) cacheable = false;
      },
    }),
  );
  return cacheable;
}
