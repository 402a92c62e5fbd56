import { chunkRange, daysInRange, eachDay, mergeRanges, type CalendarDate, type DateRange } from "../common/dates";
import { ErrorCode } from "../common/errors";
import { LoaderRegistry } from "../common/loaders";
import type { Logger } from "../common/logger";
import type { OrganizationRuntime } from "../organizations/organization.registry";
import type { Provider, ProviderKey } from "../providers/provider";
import type { CollectionRun, UsageStore } from "../store/store";
import { Granularity, SourceState, type SourceOutcome } from "../usage/usage.model";
import type { UsageService } from "../usage/usage.service";
import { backfillWindow, collectable, COLLECTION_SCOPE } from "./collection.window";

/** Longest range one collection step asks for: a month keeps each step well inside a deadline. */
const MAX_STEP_DAYS = 31;

/** What one organization's provider has and lacks of the days a run would collect. */
export interface CollectionPlan {
  organization: string;
  provider: ProviderKey;
  /** The collectable days (final, within retention) of the window or the asked range; null when none. */
  range: DateRange | null;
  /** Days of an asked range older than the provider's retention, or not closed yet: never asked. */
  tooOld: number;
  notFinal: number;
  /** Days of `range` already stored as final for the collection scope. */
  stored: number;
  /** Days of `range` not stored yet, in order: what the run asks upstream. */
  missing: CalendarDate[];
}

export interface CollectOptions {
  /** Days to collect instead of the last `backfillDays` (npm run collect). */
  range?: DateRange;
  /** Aborts the run between and inside its steps (the server stopping). */
  signal?: AbortSignal;
  /** Called once the plan is known. */
  onPlan?: (plan: CollectionPlan) => void;
  /** Called after each step with the number of the plan's missing days done so far. */
  onProgress?: (done: number, plan: CollectionPlan) => void;
  /**
   * The run's start (epoch ms) when this is a retry of it: the attempt records over the same run
   * (its key is organization, provider and start), so one scheduled run retried is one run, not one
   * per attempt (two failed attempts of one run are not two consecutive failed runs). Default: now.
   */
  startedAt?: number;
}

export type RunFinishedListener = (run: CollectionRun) => void | Promise<void>;

export interface CollectorOptions {
  store: UsageStore;
  /** The usage service collection runs through: its queues, cache and write-through to the store. */
  usage: UsageService;
  backfillDays: number;
  log: Logger;
  now: () => number;
}

/**
 * Collects an organization's provider into the store (DESIGN §6): works out which final days of
 * the last `backfillDays` (or of an asked range) the store lacks for the collection scope, and asks
 * for them through the usage service, as a report would, so that the rate-limited queues, the cache
 * and the store's write-through are the ones every report uses. Each run is recorded in the store:
 * RUNNING at its start, then OK, PARTIAL or FAILED with the days it wrote.
 *
 * The collector neither schedules nor locks: the scheduler makes sure one organization's provider
 * is collected by one run at a time (src/collect/collection.scheduler.ts).
 */
export class Collector {
  private readonly listeners = new Set<RunFinishedListener>();

  constructor(private readonly options: CollectorOptions) {}

  get backfillDays(): number {
    return this.options.backfillDays;
  }

  /**
   * Called after every run has been recorded, with the run as recorded (budgets and alerts
   * evaluate there). Awaited: the run ends when its listeners have. Returns the unsubscribe.
   */
  onRunFinished(listener: RunFinishedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The days a run of `provider` would ask for: the backfill window, or `range` when given. */
  async plan(organization: string, provider: Provider, range?: DateRange): Promise<CollectionPlan> {
    const { catalog } = provider;
    const now = this.options.now();
    const clipped = range ? collectable(catalog, range, now) : { range: backfillWindow(catalog, this.options.backfillDays, now), tooOld: 0, notFinal: 0 };
    const plan: CollectionPlan = { organization, provider: catalog.key, ...clipped, stored: 0, missing: [] };
    if (!plan.range) return plan;
    const covered = await this.options.store.finalDays(organization, catalog.key, COLLECTION_SCOPE, plan.range);
    plan.missing = eachDay(plan.range.from, plan.range.to).filter((d) => !covered.has(d));
    plan.stored = covered.size;
    return plan;
  }

  /**
   * One run: records it as RUNNING, asks for the missing days step by step (a step is the days one
   * upstream call can cover, a month at most, so a run makes progress however long it is, and
   * reports progress), then records how it ended. A step that FAILED ends the run: the vendor is
   * down or refusing, and the next run (or the queue's retry) takes up the days left.
   */
  async collect(org: OrganizationRuntime, key: ProviderKey, options: CollectOptions = {}): Promise<CollectionRun> {
    const provider = org.providers.get(key);
    if (!provider) throw new Error(`organization ${org.id} has no provider ${key}`);
    const { catalog } = provider;
    const log = this.options.log.child({ organization: org.id, provider: key, collection: true });
    const run: CollectionRun = {
      organization: org.id,
      provider: key,
      startedAt: new Date(options.startedAt ?? this.options.now()).toISOString(),
      finishedAt: null,
      state: "RUNNING",
      errorCode: null,
      errorMessage: null,
      days: 0,
    };
    await this.record(run, log);

    let outcome: Pick<CollectionRun, "state" | "errorCode" | "errorMessage">;
    try {
      const plan = await this.plan(org.id, provider, options.range);
      options.onPlan?.(plan);
      const missing = new Set(plan.missing);
      const size = Math.min(catalog.maxDaysPerCall ?? MAX_STEP_DAYS, MAX_STEP_DAYS);
      // Runs of consecutive missing days, cut to what one step asks.
      const steps = mergeRanges(plan.missing.map((d) => ({ from: d, to: d }))).flatMap((gap) => chunkRange(gap, size));

      let first: SourceOutcome["error"] = null;
      let failed = false;
      let done = 0;
      for (const step of steps) {
        if (options.signal?.aborted) break;
        const report = await this.options.usage.report(
          org,
          { from: step.from, to: step.to, providers: [catalog.id], granularity: Granularity.DAY },
          { loaders: new LoaderRegistry(), log, signal: options.signal },
        );
        const source = report.sources[0];
        if (source && source.state !== SourceState.OK) first ??= source.error;
        done += daysInRange(step.from, step.to);
        options.onProgress?.(done, plan);
        if (source?.state === SourceState.FAILED) {
          failed = true;
          break;
        }
      }
      run.days = plan.range ? countStored(await this.options.store.finalDays(org.id, key, COLLECTION_SCOPE, plan.range), missing) : 0;
      if (options.signal?.aborted && done < plan.missing.length) {
        outcome = {
          state: run.days > 0 ? "PARTIAL" : "FAILED",
          errorCode: ErrorCode.DEADLINE_EXCEEDED,
          errorMessage: `interrupted: usagegraph stopped after ${done} of ${plan.missing.length} days`,
        };
      } else if (first) {
        outcome = { state: failed && run.days === 0 ? "FAILED" : "PARTIAL", errorCode: first.code, errorMessage: first.message };
      } else {
        outcome = { state: "OK", errorCode: null, errorMessage: null };
      }
    } catch (error) {
      // Our own bug or the store failing: the run says so without a stack or an upstream body.
      log.error({ err: { name: (error as Error)?.name, message: String((error as Error)?.message).slice(0, 200) } }, "collection run crashed");
      outcome = { state: "FAILED", errorCode: ErrorCode.INTERNAL_SERVER_ERROR, errorMessage: `${catalog.name}: internal error while collecting` };
    }

    Object.assign(run, outcome, { finishedAt: new Date(this.options.now()).toISOString() });
    await this.record(run, log);
    log.info({ state: run.state, days: run.days, code: run.errorCode ?? undefined }, "collection run finished");
    for (const listener of this.listeners) {
      try {
        await listener({ ...run });
      } catch (error) {
        log.error({ err: { name: (error as Error)?.name, message: String((error as Error)?.message).slice(0, 200) } }, "collection listener failed");
      }
    }
    return run;
  }

  /** A run that cannot be recorded (the store failing) still runs: the failure is logged. */
  private async record(run: CollectionRun, log: Logger): Promise<void> {
    try {
      await this.options.store.recordRun(run);
    } catch (error) {
      log.warn(
        { store: this.options.store.kind, err: { name: (error as Error)?.name, message: String((error as Error)?.message).slice(0, 200) } },
        "could not record the collection run",
      );
    }
  }
}

function countStored(covered: ReadonlySet<CalendarDate>, missing: ReadonlySet<CalendarDate>): number {
  let n = 0;
  for (const day of missing) if (covered.has(day)) n++;
  return n;
}
