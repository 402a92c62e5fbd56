import Bottleneck from "bottleneck";
import type Redis from "ioredis";
import { ErrorCode, UpstreamError } from "../../common/errors";

export interface QueueSettings {
  /** Requests per second; null for no pacing. */
  requestsPerSecond: number | null;
  /** Calls in flight at once; null for no bound. */
  maxConcurrent: number | null;
  /** Most jobs waiting; past this a call fails fast rather than queueing. */
  maxQueued: number;
}

/**
 * The one queue of a provider credential, shared by every request in the process. It paces calls
 * at the documented rate, bounds concurrency and queue length, and pauses as a whole when the
 * upstream says "slow down" (429, Jiandaoyun 8303/8304): every queued call then waits, not just the
 * one that was refused, because the limit is the credential's, not the call's.
 *
 * How it paces depends on the limit. A rate limit is judged where requests *arrive*, and two
 * starts 1000 ms apart can arrive 950 ms apart. For one-at-a-time limits (Jiandaoyun: 1 request/s,
 * concurrency 1) the slot is held for the full interval after the previous call *completed*: the
 * next request then starts after the vendor has answered the previous one, so it arrives more than
 * an interval later whatever the network did, and the only overhead per call is one round trip.
 * Where calls may overlap, starts are spaced by the interval plus a 10% margin instead.
 */
export class ProviderQueue {
  private readonly local: Bottleneck;
  /** Shared through Redis by every replica using the same credential; undefined without Redis. */
  private readonly shared?: Bottleneck;
  private pausedUntil = 0;
  /** Spacing of call starts (overlapping calls allowed). */
  readonly minTimeMs: number;
  /** How long a slot stays held after its call completed (one-at-a-time limits). */
  readonly holdAfterMs: number;

  constructor(
    readonly name: string,
    settings: QueueSettings,
    redis?: { connection: Bottleneck.IORedisConnection; id: string },
  ) {
    const interval = settings.requestsPerSecond ? 1000 / settings.requestsPerSecond : 0;
    this.holdAfterMs = settings.maxConcurrent === 1 ? Math.ceil(interval) : 0;
    this.minTimeMs = settings.maxConcurrent === 1 ? 0 : Math.ceil(interval * 1.1);
    const options: Bottleneck.ConstructorOptions = {
      maxConcurrent: settings.maxConcurrent ?? null,
      minTime: this.minTimeMs,
      highWater: settings.maxQueued,
      strategy: Bottleneck.strategy.OVERFLOW,
    };
    this.local = new Bottleneck(options);
    if (redis) {
      // Bottleneck keeps the pacing and concurrency state in Redis under `id`, so N replicas together
      // stay under the vendor's limit. `timeout` frees a slot if a replica dies mid-call.
      this.shared = new Bottleneck({ ...options, id: redis.id, datastore: "ioredis", connection: redis.connection, clearDatastore: false, timeout: 60_000 });
      // Bottleneck reports Redis trouble as events and through its `ready` promise; nobody else
      // awaits either, so both are handled here (schedule() falls back to local pacing meanwhile).
      this.shared.on("error", () => undefined);
      this.shared.ready().catch(() => undefined);
    }
  }

  private get limiter(): Bottleneck {
    return this.shared ?? this.local;
  }

  /** Calls waiting to start. */
  get queued(): number {
    return this.limiter.counts().QUEUED + this.limiter.counts().RECEIVED;
  }

  /** Holds every call of this queue until `ms` from now (Retry-After, or 1 s by default). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  /**
   * Runs `task` when the queue lets it start. Fails fast with DEADLINE_EXCEEDED when the call could
   * not start before `deadline`: a caller waiting past its own deadline helps nobody, and leaving
   * the slot to a call that can still finish is worth more.
   */
  async schedule<T>(deadline: number, task: () => Promise<T>): Promise<T> {
    // Paused by the vendor (Retry-After) past this caller's deadline: say so, with the wait left.
    if (this.pausedUntil >= deadline) throw this.stillRateLimited();
    const earliestStart = Math.max(Date.now() + this.queued * (this.minTimeMs + this.holdAfterMs), this.pausedUntil);
    if (earliestStart >= deadline) throw deadlineExceeded(this.name);
    const job = async () => {
      const wait = this.pausedUntil - Date.now();
      if (wait > 0) {
        if (Date.now() + wait >= deadline) throw this.stillRateLimited();
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      if (Date.now() >= deadline) throw deadlineExceeded(this.name);
      return task();
    };
    try {
      return await this.run(this.limiter, job);
    } catch (error) {
      if (error instanceof Bottleneck.BottleneckError) {
        throw new UpstreamError(ErrorCode.DEADLINE_EXCEEDED, `${this.name}: too many calls are waiting; try again shortly`);
      }
      // Redis is unreachable (the job never started): pace locally rather than fail the call.
      if (error instanceof NotStarted) return this.run(this.local, job);
      throw error;
    }
  }

  /**
   * Runs a job on a limiter. The caller gets the job's outcome as soon as it has one; with
   * `holdAfterMs` the limiter's slot stays taken for that long after, so the next call waits.
   */
  private run<T>(limiter: Bottleneck, job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let started = false;
      limiter
        .schedule(async () => {
          started = true;
          try {
            resolve(await job());
          } catch (error) {
            reject(error);
            // A call that never reached the vendor (deadline, pause) needs no gap after it.
            if (
              error instanceof UpstreamError &&
              (error.code === ErrorCode.DEADLINE_EXCEEDED || error.code === ErrorCode.UPSTREAM_RATE_LIMITED) &&
              error.options.status === undefined
            )
              return;
          }
          if (this.holdAfterMs > 0) await new Promise((r) => setTimeout(r, this.holdAfterMs));
        })
        .catch((error: unknown) => reject(limiter === this.shared && !started && !(error instanceof Bottleneck.BottleneckError) ? new NotStarted() : error));
    });
  }

  private stillRateLimited(): UpstreamError {
    const retryAfterSeconds = Math.max(1, Math.ceil((this.pausedUntil - Date.now()) / 1000));
    return new UpstreamError(ErrorCode.UPSTREAM_RATE_LIMITED, `${this.name} asked to slow down: calls are paused for ${retryAfterSeconds} s`, {
      retryAfterSeconds,
    });
  }

  async stop(): Promise<void> {
    await this.local.stop({ dropWaitingJobs: true }).catch(() => undefined);
    await this.shared?.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }
}

/** The shared (Redis) limiter could not take the job at all. */
class NotStarted extends Error {}

function deadlineExceeded(name: string): UpstreamError {
  return new UpstreamError(
    ErrorCode.DEADLINE_EXCEEDED,
    `${name}: the call could not start before the request deadline (the provider's rate limit is the bottleneck)`,
  );
}

/** One queue per provider credential, for the whole process. */
export class QueueRegistry {
  private readonly queues = new Map<string, ProviderQueue>();
  private readonly connection?: Bottleneck.IORedisConnection;

  /** With a Redis client, every queue's state is shared with the other replicas using that Redis. */
  constructor(redis?: Redis) {
    if (redis) {
      this.connection = new Bottleneck.IORedisConnection({ client: redis });
      this.connection.on("error", () => undefined);
    }
  }

  get(key: string, name: string, settings: QueueSettings): ProviderQueue {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = new ProviderQueue(name, settings, this.connection ? { connection: this.connection, id: `usagegraph:queue:${key}` } : undefined);
      this.queues.set(key, queue);
    }
    return queue;
  }

  all(): ProviderQueue[] {
    return [...this.queues.values()];
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((q) => q.stop()));
    // Clears Bottleneck's heartbeats and closes its subscriber connection (the client is the cache's).
    await this.connection?.disconnect(false);
  }
}
