import { Cron } from "croner";
import type Redis from "ioredis";
import type { Logger } from "../common/logger";
import type { CollectConfig } from "../config/config";
import type { OrganizationRegistry, OrganizationRuntime } from "../organizations/organization.registry";
import type { ProviderKey } from "../providers/provider";
import { PROVIDER_MODULES } from "../providers/registry";
import type { CollectionRun } from "../store/store";
import { cronerRepeatStrategy } from "./collection.schedule";
import type { Collector } from "./collector";
import { ProcessRunLock, RedisRunLock, type RunLock } from "./run-lock";

/** Progress of one organization's provider during `runNow`. */
export interface RunProgress {
  organization: string;
  provider: ProviderKey;
  done: number;
  total: number;
}

export interface RunNowOptions {
  /** Called once per run when its plan is known, then after each of its steps (in-process runs only). */
  onProgress?: (progress: RunProgress) => void;
}

/**
 * When collection runs (DESIGN §6). In-process, croner ticks on the schedule in this process. Queued,
 * with Redis configured, the runs are BullMQ jobs: one job scheduler per organization × provider, a
 * worker in every replica, so that N replicas do each run once.
 */
export interface CollectionScheduler {
  readonly mode: "in-process" | "queued";
  /** Starts the schedule (the server does; `npm run collect` does not); nothing when collection is off. */
  start(): void;
  /** Resolves once the schedule is in place (queued: registered in Redis); never rejects. */
  started(): Promise<void>;
  /**
   * One run of every organization × provider now, besides the schedule. In-process it resolves when
   * the runs have ended; queued, once their jobs are queued (any replica's worker runs them).
   */
  runNow(options?: RunNowOptions): Promise<void>;
  /** Stops the schedule, interrupts the runs in progress (recorded as such) and waits for them. */
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  collector: Collector;
  organizations: OrganizationRegistry;
  collect: CollectConfig | false;
  /** With Redis (cache.url redis://): queued runs. `client` is the cache's, for the run lock. */
  redis: { url: string; client: Redis } | null;
  log: Logger;
}

export function createCollectionScheduler(options: SchedulerOptions): CollectionScheduler {
  return options.collect && options.redis ? new QueuedScheduler(options, options.collect, options.redis) : new InProcessScheduler(options);
}

interface Target {
  org: OrganizationRuntime;
  provider: ProviderKey;
}

/** Every configured provider of every organization, in the registry's provider order. */
function targetsOf(organizations: OrganizationRegistry): Target[] {
  return organizations.all().flatMap((org) => PROVIDER_MODULES.filter((m) => org.providers.has(m.catalog.key)).map((m) => ({ org, provider: m.catalog.key })));
}

const lockKey = (organization: string, provider: string) => `${organization}/${provider}`;

/** What both schedulers do to run one target: the lock, the collector, progress, interruption. */
abstract class BaseScheduler {
  protected readonly abort = new AbortController();
  protected readonly running = new Set<Promise<unknown>>();
  protected stopped = false;

  constructor(
    protected readonly options: SchedulerOptions,
    protected readonly lock: RunLock,
  ) {}

  /** Runs one target unless a run of it is in progress (here, or in another replica when queued). */
  protected async runTarget(target: Target, onProgress?: RunNowOptions["onProgress"], startedAt?: number): Promise<CollectionRun | undefined> {
    if (this.stopped) return undefined;
    const { org, provider } = target;
    const task = this.lock.tryWith(lockKey(org.id, provider), () =>
      this.options.collector.collect(org, provider, {
        signal: this.abort.signal,
        startedAt,
        onPlan: (plan) => onProgress?.({ organization: org.id, provider, done: 0, total: plan.missing.length }),
        onProgress: (done, plan) => onProgress?.({ organization: org.id, provider, done, total: plan.missing.length }),
      }),
    );
    this.running.add(task);
    try {
      const run = await task;
      if (!run) this.options.log.debug({ organization: org.id, provider }, "collection run skipped: one is in progress");
      return run;
    } finally {
      this.running.delete(task);
    }
  }

  protected async interruptRuns(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }
}

/** Without Redis: croner in this process; one run at a time per organization × provider. */
class InProcessScheduler extends BaseScheduler implements CollectionScheduler {
  readonly mode = "in-process" as const;
  private cron: Cron | undefined;

  constructor(options: SchedulerOptions) {
    super(options, new ProcessRunLock());
  }

  start(): void {
    const { collect, log } = this.options;
    if (!collect || this.cron || this.stopped) return;
    // A tick while a target's previous run goes on skips that target only (the lock), not the others.
    this.cron = new Cron(collect.schedule, { timezone: collect.timeZone }, () => {
      void this.runAll().catch((error: unknown) =>
        log.error({ err: { message: String((error as Error)?.message).slice(0, 200) } }, "scheduled collection failed"),
      );
    });
  }

  async started(): Promise<void> {}

  async runNow(options: RunNowOptions = {}): Promise<void> {
    await this.runAll(options.onProgress);
  }

  async stop(): Promise<void> {
    this.cron?.stop();
    await this.interruptRuns();
  }

  private async runAll(onProgress?: RunNowOptions["onProgress"]): Promise<void> {
    await Promise.all(targetsOf(this.options.organizations).map((t) => this.runTarget(t, onProgress)));
  }
}

/** The BullMQ queue of collection jobs: keys under `usagegraph:collect:*` in the cache's Redis. */
const QUEUE = "collect";
const PREFIX = "usagegraph";
const JOB = "collect";
const ATTEMPTS = 3;
const BACKOFF_MS = 60_000;
/** How long stop() waits for Redis to say goodbye before dropping the connections. */
const CLOSE_TIMEOUT_MS = 5_000;
/** Failures no retry fixes: the job fails at once instead of trying again after its backoff. */
const FINAL_CODES = new Set(["UPSTREAM_AUTH_FAILED", "UPSTREAM_BAD_RESPONSE", "INTERNAL_SERVER_ERROR"]);

interface JobData {
  organization: string;
  provider: ProviderKey;
  /** The start of the job's first run attempt (epoch ms): the key its retries record under. */
  firstAttemptAt?: number;
}

type BullMQ = typeof import("bullmq");

/**
 * With Redis: one BullMQ job scheduler per organization × provider, upserted by every replica at
 * start under the same id. BullMQ keeps one scheduler per id and names each of its jobs after the
 * id and the run's time (`repeat:<id>:<ms>`), so N replicas registering the same schedule make one
 * job per run, not N; a job is handed to one worker, whichever replica it lives in. A run that
 * FAILED fails its job, which BullMQ retries with exponential backoff (the failed run is recorded
 * first; a retry records over the same run, which keeps the start of its first attempt). The run
 * lock keeps a job of a target from running while another one of it still does (see RedisRunLock).
 */
class QueuedScheduler extends BaseScheduler implements CollectionScheduler {
  readonly mode = "queued" as const;
  private setup: Promise<void> | undefined;
  private queue: import("bullmq").Queue<JobData> | undefined;
  private worker: import("bullmq").Worker<JobData> | undefined;

  constructor(
    options: SchedulerOptions,
    private readonly collect: CollectConfig,
    private readonly redis: { url: string; client: Redis },
  ) {
    super(options, new RedisRunLock(redis.client));
  }

  start(): void {
    if (this.setup || this.stopped) return;
    this.setup = this.register().catch((error: unknown) => {
      this.options.log.error({ err: { message: String((error as Error)?.message).slice(0, 200) } }, "could not register the collection schedule in Redis");
    });
  }

  async started(): Promise<void> {
    await this.setup;
  }

  async runNow(): Promise<void> {
    this.start();
    await this.setup;
    await this.queue?.addBulk(
      targetsOf(this.options.organizations).map((t) => ({ name: JOB, data: { organization: t.org.id, provider: t.provider }, opts: this.jobOptions() })),
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    await this.setup;
    // Interrupt first: the worker's close waits for its active jobs, which then end at once.
    await this.interruptRuns();
    // With Redis away a graceful close would wait for it to come back: drop the connections instead
    // (no job is active any more; one cut short is taken up again by a replica as stalled).
    const reachable = await this.redis.client.ping().then(
      () => true,
      () => false,
    );
    await within(reachable ? CLOSE_TIMEOUT_MS : 0, this.worker?.close(!reachable), () => this.worker?.disconnect());
    await within(reachable ? CLOSE_TIMEOUT_MS : 0, this.queue?.close(), () => this.queue?.disconnect());
  }

  private jobOptions() {
    return { attempts: ATTEMPTS, backoff: { type: "exponential", delay: BACKOFF_MS }, removeOnComplete: { count: 500 }, removeOnFail: { count: 1_000 } };
  }

  private async register(): Promise<void> {
    // Loaded only with Redis: a server without it never loads BullMQ.
    const { Queue, Worker, UnrecoverableError } = require("bullmq") as BullMQ;
    const { log } = this.options;
    const settings = { repeatStrategy: cronerRepeatStrategy };
    const targets = targetsOf(this.options.organizations);
    this.queue = new Queue<JobData>(QUEUE, { connection: connectionOf(this.redis.url, false), prefix: PREFIX, settings });
    // ioredis reports every reconnection attempt while Redis is away: one line a minute is enough.
    const redisError = throttled(60_000, (error: Error) => log.warn({ err: { message: error.message.slice(0, 200) } }, "collection queue: redis error"));
    this.queue.on("error", redisError);
    this.worker = new Worker<JobData>(
      QUEUE,
      async (job) => {
        const org = this.options.organizations.get(job.data.organization);
        if (!org?.providers.has(job.data.provider)) {
          // A schedule left by a config that had this organization or provider: nothing to run.
          log.warn(
            { organization: job.data.organization, provider: job.data.provider },
            "collection job for an organization or provider not in the config: skipped",
          );
          return { skipped: "not configured" };
        }
        // Every attempt of a job is one run: a retry records under the start of the first attempt,
        // which that attempt keeps in the job's data.
        const run = await this.runTarget({ org, provider: job.data.provider }, undefined, job.data.firstAttemptAt);
        if (run && job.data.firstAttemptAt === undefined)
          await job.updateData({ ...job.data, firstAttemptAt: Date.parse(run.startedAt) }).catch(() => undefined);
        // Failing the attempt has BullMQ try it again after its backoff, in whichever replica is up.
        if (this.stopped && run?.state !== "OK") throw new Error("interrupted: this replica is stopping");
        // Busy: another run of it goes on, or one whose replica died holds the lease until it expires.
        if (!run) throw new Error("a run of this organization's provider is in progress in another job");
        if (run.state === "FAILED") {
          const message = `${run.errorCode}: ${run.errorMessage}`;
          throw FINAL_CODES.has(run.errorCode ?? "") ? new UnrecoverableError(message) : new Error(message);
        }
        return { state: run.state, days: run.days };
      },
      { connection: connectionOf(this.redis.url, true), prefix: PREFIX, settings, concurrency: Math.min(Math.max(targets.length, 1), 16) },
    );
    this.worker.on("error", redisError);
    this.worker.on("failed", (job, error) =>
      log.warn({ job: job?.id, attempt: job?.attemptsMade, err: { message: error.message.slice(0, 200) } }, "collection job failed"),
    );

    const template = { name: JOB, opts: this.jobOptions() };
    await Promise.all(
      targets.map((t) =>
        this.queue!.upsertJobScheduler(
          schedulerId(t),
          { pattern: this.collect.schedule, tz: this.collect.timeZone },
          { ...template, data: { organization: t.org.id, provider: t.provider } },
        ),
      ),
    );
    log.info({ schedule: this.collect.schedule, timeZone: this.collect.timeZone, jobs: targets.length }, "collection scheduled in redis");
  }
}

function throttled<A extends unknown[]>(ms: number, fn: (...args: A) => void): (...args: A) => void {
  let last = 0;
  return (...args) => {
    if (Date.now() - last < ms) return;
    last = Date.now();
    fn(...args);
  };
}

/** No colon: BullMQ reads ids of 5 or more colon-separated parts as legacy repeatable keys. */
function schedulerId(t: Target): string {
  return `collect/${t.org.id}/${t.provider}`;
}

/**
 * BullMQ opens its own connections (a worker blocks on one). Parsed from the cache URL, which the
 * config checked to be redis://. A worker must retry commands for as long as Redis is away.
 */
function connectionOf(url: string, worker: boolean) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number(u.pathname.slice(1) || 0),
    maxRetriesPerRequest: worker ? null : 1,
    enableOfflineQueue: worker,
    connectTimeout: 2_000,
  };
}

/**
 * Waits at most `ms` for a BullMQ close, then drops the connections (`disconnect`), waiting at most
 * a second more: with Redis away, ioredis would wait for it to come back before saying goodbye.
 */
async function within(ms: number, closing: Promise<void> | undefined, disconnect: () => Promise<void> | undefined): Promise<void> {
  if (!closing) return;
  const bounded = (p: Promise<unknown>, limit: number) => {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      p.then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), limit))),
    ]).finally(() => clearTimeout(timer));
  };
  if (await bounded(closing, ms)) return;
  await bounded(disconnect() ?? Promise.resolve(), 1_000);
}

/**
 * Demo mode's start: one run of everything now, in the background, its progress in the log (at
 * most one line every 2 s, and one at the end), so that `collection` and history have something to
 * show soon after `npm start`.
 */
export function collectInBackground(scheduler: CollectionScheduler, log: Logger, backfillDays: number): Promise<void> {
  const started = Date.now();
  const runs = new Map<string, { done: number; total: number }>();
  let logged = 0;
  const sum = () => [...runs.values()].reduce((s, r) => ({ done: s.done + r.done, total: s.total + r.total }), { done: 0, total: 0 });
  log.info({ backfillDays }, `collecting the last ${backfillDays} days in the background`);
  return scheduler
    .runNow({
      onProgress: (p) => {
        runs.set(`${p.organization}/${p.provider}`, { done: p.done, total: p.total });
        if (Date.now() - logged < 2_000) return;
        logged = Date.now();
        const { done, total } = sum();
        log.info({ done, total }, `collecting: ${done}/${total} days`);
      },
    })
    .then(() => {
      const { done, total } = sum();
      log.info({ done, total, seconds: Math.round((Date.now() - started) / 1000) }, `background collection ended: ${done}/${total} days asked`);
    })
    .catch((error: unknown) => log.error({ err: { message: String((error as Error)?.message).slice(0, 200) } }, "background collection failed"));
}
