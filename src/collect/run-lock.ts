import { randomUUID } from "node:crypto";
import type Redis from "ioredis";

/** One run at a time per key (an organization's provider): in this process, or across replicas. */
export interface RunLock {
  /** Runs `task` holding `key`; resolves to undefined, without running it, while someone else holds it. */
  tryWith<T>(key: string, task: () => Promise<T>): Promise<T | undefined>;
}

/** The lock of one process: enough without Redis, where there are no replicas to share runs with. */
export class ProcessRunLock implements RunLock {
  private readonly held = new Set<string>();

  async tryWith<T>(key: string, task: () => Promise<T>): Promise<T | undefined> {
    if (this.held.has(key)) return undefined;
    this.held.add(key);
    try {
      return await task();
    } finally {
      this.held.delete(key);
    }
  }
}

// Release and renew only while the key still holds our token: a lock that expired and was taken
// by another replica is not ours to delete or extend.
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;

/**
 * A lease in Redis shared by the replicas: SET NX with an expiry, renewed while the task runs, so a
 * replica that dies mid-run frees the key within `ttlMs`. BullMQ already hands each job to one
 * worker; the lease keeps two jobs of the same organization's provider (a scheduled one and one
 * queued by hand, or a next iteration due while a long backfill still runs) from running at once.
 */
export class RedisRunLock implements RunLock {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = "usagegraph:collect-lock:",
    private readonly ttlMs = 60_000,
  ) {}

  async tryWith<T>(key: string, task: () => Promise<T>): Promise<T | undefined> {
    const name = this.prefix + key;
    const token = randomUUID();
    if ((await this.redis.set(name, token, "PX", this.ttlMs, "NX")) !== "OK") return undefined;
    const renew = setInterval(() => void this.redis.eval(RENEW, 1, name, token, String(this.ttlMs)).catch(() => undefined), this.ttlMs / 3);
    renew.unref();
    try {
      return await task();
    } finally {
      clearInterval(renew);
      await this.redis.eval(RELEASE, 1, name, token).catch(() => undefined);
    }
  }
}
