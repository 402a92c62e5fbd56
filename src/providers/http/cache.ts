import Redis from "ioredis";
import { LRUCache } from "lru-cache";
import type { Logger } from "../../common/logger";

/** A cached value and when it stops being served (epoch ms of the cache's clock). */
export interface CacheHit {
  value: unknown;
  expiresAt: number;
}

/** Cache of parsed upstream responses. Keys never hold a credential in clear (see datasource). */
export interface UpstreamCache {
  readonly kind: "memory" | "redis";
  /** The value with its expiry: a report made of it lives no longer (see src/usage/lifetime.ts). */
  get(key: string): Promise<CacheHit | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /** Whether the backend answers right now (for /readyz). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Bounded LRU in process memory: the default backend. Expiry is read on the product clock (`now`,
 * injectable for tests), so a test that moves the clock past a TTL sees the entry expire.
 */
export class MemoryCache implements UpstreamCache {
  readonly kind = "memory" as const;
  private readonly lru: LRUCache<string, CacheHit>;

  constructor(
    maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.lru = new LRUCache({ max: maxEntries });
  }

  async get(key: string): Promise<CacheHit | undefined> {
    const hit = this.lru.get(key);
    if (hit === undefined || hit.expiresAt > this.now()) return hit;
    this.lru.delete(key);
    return undefined;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    // The LRU's own TTL (real time) frees memory; the product clock decides what is served.
    if (ttlMs > 0) this.lru.set(key, { value, expiresAt: this.now() + ttlMs }, { ttl: ttlMs });
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}

/**
 * Redis, shared by every replica. When Redis cannot be reached the server keeps answering: reads and
 * writes fall back to a process-local LRU (so a Redis outage costs extra upstream calls, never an
 * error), and /readyz reports the cache as degraded until Redis answers again.
 */
export class RedisCache implements UpstreamCache {
  readonly kind = "redis" as const;
  private readonly fallback: MemoryCache;
  private up = true;

  constructor(
    readonly client: Redis,
    private readonly log: Logger,
    // v2: values are { v, e } (value and expiry); a replica still on v1 reads its own keys.
    private readonly prefix = "usagegraph:cache:v2:",
    private readonly now: () => number = Date.now,
  ) {
    this.fallback = new MemoryCache(10_000, now);
    client.on("error", () => this.markDown());
    client.on("ready", () => {
      if (!this.up) log.info("redis cache reachable again");
      this.up = true;
    });
  }

  async get(key: string): Promise<CacheHit | undefined> {
    if (this.up) {
      try {
        const text = await this.client.get(this.prefix + key);
        if (text === null) return undefined;
        // { v, e }: the value and its expiry, which Redis's PTTL would cost a second round trip for.
        const entry = JSON.parse(text) as { v?: unknown; e?: unknown };
        return typeof entry.e === "number" && entry.e > this.now() && "v" in entry ? { value: entry.v, expiresAt: entry.e } : undefined;
      } catch {
        this.markDown();
      }
    }
    return this.fallback.get(key);
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    if (ttlMs <= 0) return;
    if (this.up) {
      try {
        await this.client.set(this.prefix + key, JSON.stringify({ v: value, e: this.now() + ttlMs }), "PX", Math.ceil(ttlMs));
        return;
      } catch {
        this.markDown();
      }
    }
    await this.fallback.set(key, value, ttlMs);
  }

  async healthy(): Promise<boolean> {
    try {
      await this.client.ping();
      this.up = true;
    } catch {
      this.markDown();
    }
    return this.up;
  }

  async close(): Promise<void> {
    this.client.disconnect();
    await this.fallback.close();
  }

  private markDown(): void {
    if (this.up) this.log.warn("redis cache unreachable: using the in-process cache until it is back");
    this.up = false;
  }
}

/**
 * A Redis client that fails fast while Redis is away (no offline queue, bounded command time),
 * so neither the cache nor the shared rate limits ever hold a request hostage.
 */
export function redisClient(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 500,
    connectTimeout: 1_000,
    lazyConnect: false,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
}

/** The cache backend named by `cache.url`. */
export async function createCache(url: string, log: Logger, now: () => number = Date.now): Promise<UpstreamCache> {
  if (url === "memory://" || url === "") return new MemoryCache(10_000, now);
  const client = redisClient(url);
  // Wait briefly for the first connection so the first requests use Redis; start regardless.
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    client.once("ready", done);
    client.once("error", done);
    setTimeout(done, 1_000).unref();
  });
  return new RedisCache(client, log, undefined, now);
}
