import { LRUCache } from "lru-cache";

/** Cache of parsed upstream responses. Keys never hold a credential in clear (see datasource). */
export interface UpstreamCache {
  readonly kind: "memory" | "redis";
  get(key: string): Promise<unknown | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /** Whether the backend answers right now (for /readyz). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

/** Bounded LRU in process memory: the default backend. */
export class MemoryCache implements UpstreamCache {
  readonly kind = "memory" as const;
  private readonly lru: LRUCache<string, { v: unknown }>;

  constructor(maxEntries = 10_000) {
    this.lru = new LRUCache({ max: maxEntries, ttlAutopurge: false });
  }

  async get(key: string): Promise<unknown | undefined> {
    return this.lru.get(key)?.v;
  }

  async set(key: string, value: unknown, ttlMs: number): Promise<void> {
    if (ttlMs > 0) this.lru.set(key, { v: value }, { ttl: ttlMs });
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}

/** The cache backend named by `cache.url`. */
export async function createCache(url: string, _log: unknown): Promise<UpstreamCache> {
  if (url === "memory://" || url === "") return new MemoryCache();
  throw new Error(`cache backend ${url.split(":")[0]} is not available in this build`);
}
