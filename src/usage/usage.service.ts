import { setMaxListeners } from "node:events";
import { minDate, todayIn, type DateRange } from "../common/dates";
import { deadlineAfter } from "../common/deadline";
import { ErrorCode, UpstreamError, type UpstreamErrorCode } from "../common/errors";
import type { Logger } from "../common/logger";
import type { LoaderRegistry } from "../common/loaders";
import type { OrganizationRuntime } from "../organizations/organization.registry";
import { PROVIDER_MODULES } from "../providers/registry";
import {
  NO_DIMENSION_VALUE,
  type CallContext,
  type CallStats,
  type DimensionKey,
  type MetricDefinition,
  type Observation,
  type Provider,
  type ProviderCatalog,
  type ProviderId,
  type ProviderQuery,
  type ProviderResult,
} from "../providers/provider";
import type { UsageStore } from "../store/store";
import { wholeRangeOutOfRetention } from "./out-of-retention";
import { round, rollUp, seriesTotal } from "./rollup";
import { LRUCache } from "lru-cache";
import { Lifetime, nextQuarterHour } from "./lifetime";
import { StoredFetch } from "./stored-fetch";
import {
  Granularity,
  SourceState,
  type Metric,
  type ProviderIssue,
  type RecordsAnswer,
  type RecordsQuery,
  type SeriesDimension,
  type SourceOutcome,
  type SourcesAnswer,
  type UsagePoint,
  type UsageQuery,
  type UsageReport,
  type UsageSeries,
} from "./usage.model";

/** What the service needs of the request it serves. */
export interface ServiceScope {
  readonly loaders: LoaderRegistry;
  readonly log: Logger;
  /** Aborted when the client goes away. */
  readonly signal?: AbortSignal;
  /** Told how long what the service answered may be served again (the response cache reads it). */
  readonly lifetime?: Lifetime;
}

/** One provider's part of an answer. */
interface ProviderRun {
  catalog: ProviderCatalog;
  result?: ProviderResult;
  source: SourceOutcome;
  issues: ProviderIssue[];
  /** Its counters: whether it made an upstream call, and when the answers it used expire. */
  stats: CallStats;
}

/**
 * Issues a reusable report may carry: what the answers themselves say (coarser or missing data, days
 * past retention), which stays true as long as those answers do. Any other code is a failure.
 */
const REUSABLE_ISSUES: ReadonlySet<string> = new Set([ErrorCode.UPSTREAM_PARTIAL_DATA, ErrorCode.OUT_OF_RETENTION]);

/** A report kept for reuse, and what decides how long it stays right. */
interface KeptReport {
  report: UsageReport;
  /** Epoch ms, product clock: the earliest expiry of its parts, at most the next quarter hour. */
  expiresAt: number;
  /** The store's write count when it was built: a write since (days now stored) makes it stale. */
  generation: number;
}

/**
 * The usage service: plans one query per provider, runs them side by side under one deadline,
 * turns observations into series and rolls them up. It knows providers only through `Provider`.
 */
export class UsageService {
  /** Null without a store: every report goes upstream (through the cache). */
  private readonly stored: StoredFetch | null;
  /**
   * Reports built from answers that were all reused (cache hits, shared answers, store reads),
   * by organization and query: asked again while every part is still valid, the same report is
   * served without rebuilding it (no provider normalisation, no series building). Its counters are
   * the ones that execution reported (0 upstream requests, its cached responses and stored days),
   * which is what building it again now would report.
   */
  private readonly kept = new LRUCache<string, KeptReport>({
    max: 500,
    ttl: 15 * 60_000,
    // Bounded by size too: a year of Adverity by workspace is a large report.
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (k) => 1_024 + k.report.series.reduce((n, series) => n + 256 + series.points.length * 96, 0),
  });

  constructor(private readonly options: { deadlineMs: number; now: () => number; store?: UsageStore; log?: Logger }) {
    this.stored = options.store && options.store.kind !== "none" && options.log ? new StoredFetch(options.store, options.log) : null;
  }

  /** This process's store writes so far (0 without a store): reports built before a write may be stale. */
  private get generation(): number {
    return this.options.store?.writes.count ?? 0;
  }

  async report(org: OrganizationRuntime, input: UsageQuery, scope: ServiceScope): Promise<UsageReport> {
    const key = `${org.id}\n${JSON.stringify(input)}`;
    const now = this.options.now();
    const known = this.kept.get(key);
    if (known && known.expiresAt > now && known.generation === this.generation) {
      scope.lifetime?.note(known.expiresAt);
      return known.report;
    }
    const generation = this.generation;
    const { report, runs } = await this.build(org, input, scope);
    // Reusable only when nothing was asked upstream for it and no part failed: then every part is a
    // cached, shared or stored answer whose lifetime is known. A failure served without a call (one
    // remembered, an open circuit, a deadline; Jiandaoyun turns a day's failure into PARTIAL) has no
    // such lifetime: a report that carries one is built again next time.
    const reusable = runs.every(
      (r) =>
        r.stats.upstreamRequests === 0 && r.source.state !== SourceState.FAILED && r.issues.every((i) => REUSABLE_ISSUES.has(i.code) && !i.retryAfterSeconds),
    );
    const expiresAt = Math.min(nextQuarterHour(now), ...runs.map((r) => r.stats.expiresAt ?? Infinity));
    if (!reusable || expiresAt <= now) {
      scope.lifetime?.refuse();
      return report;
    }
    if (generation === this.generation) this.kept.set(key, { report, expiresAt, generation });
    scope.lifetime?.note(expiresAt);
    return report;
  }

  private async build(org: OrganizationRuntime, input: UsageQuery, scope: ServiceScope): Promise<{ report: UsageReport; runs: ProviderRun[] }> {
    const timeZone = input.timeZone ?? "UTC";
    const granularity = input.granularity ?? Granularity.DAY;
    // Days after today in the caller's time zone are not asked of anyone: they have no usage yet.
    const range: DateRange = { from: input.from, to: minDate(input.to, todayIn(timeZone, this.options.now())) };
    const groupBy = new Set(input.groupBy ?? []);

    const runs = await this.runAll(org, input.providers, scope, (catalog) => {
      const metrics = catalog.metrics.map((m) => m.key).filter((k) => !input.metrics || input.metrics.includes(k));
      if (metrics.length === 0 || range.from > range.to) return undefined;
      const keys = new Set(catalog.dimensions.map((d) => d.key));
      return {
        range,
        metrics,
        groupBy: [...groupBy].filter((k) => keys.has(k)),
        where: (input.where ?? []).filter((f) => keys.has(f.key)),
        granularity,
        records: false,
      };
    });

    const series: UsageSeries[] = [];
    for (const { catalog, result } of runs) {
      if (!result) continue;
      const keys = new Set(catalog.dimensions.map((d) => d.key));
      const where = (input.where ?? []).filter((f) => keys.has(f.key));
      const kept = [...groupBy].filter((k) => keys.has(k)).sort();
      const metrics = catalog.metrics.filter((m) => !input.metrics || input.metrics.includes(m.key));
      series.push(...buildSeries(catalog, metrics, result.observations, kept, where, granularity, range));
    }
    const quotas = runs.flatMap(({ catalog, result }) => (result?.quotas ?? []).map((q) => ({ provider: catalog.id, ...q })));
    const report: UsageReport = {
      series,
      quotas,
      ...sourcesOf(runs),
      from: range.from,
      to: input.to,
      granularity,
      timeZone,
      generatedAt: new Date(this.options.now()),
    };
    return { report, runs };
  }

  async records(org: OrganizationRuntime, input: RecordsQuery, scope: ServiceScope): Promise<RecordsAnswer> {
    // Native records are not kept for reuse.
    scope.lifetime?.refuse();
    // Each provider clips the range to the days it has.
    const range: DateRange = { from: input.from, to: input.to };
    const runs = await this.runAll(org, input.providers, scope, (catalog) => ({
      range,
      metrics: catalog.metrics.map((m) => m.key),
      groupBy: [],
      where: [],
      granularity: "DAY",
      records: true,
    }));
    return { records: runs.flatMap((r) => r.result?.records ?? []), ...sourcesOf(runs) };
  }

  /** Runs one query per provider asked for, side by side; one failing never fails the others. */
  private async runAll(
    org: OrganizationRuntime,
    asked: readonly ProviderId[] | undefined,
    scope: ServiceScope,
    plan: (catalog: ProviderCatalog) => ProviderQuery | undefined,
  ): Promise<ProviderRun[]> {
    const ids = asked && asked.length > 0 ? [...new Set(asked)] : PROVIDER_MODULES.filter((m) => org.providers.has(m.catalog.key)).map((m) => m.catalog.id);
    // Real time, not the product clock: the queues and retries compare it with Date.now().
    const deadline = Date.now() + this.options.deadlineMs;
    // Our own timer, not AbortSignal.timeout: see deadlineAfter for why the latter can vanish.
    const timer = deadlineAfter(this.options.deadlineMs, scope.signal);
    const { signal } = timer;
    // Every upstream call of the report listens to it (30 Jiandaoyun days are 30 listeners).
    setMaxListeners(0, signal);
    const ordered = PROVIDER_MODULES.filter((m) => ids.includes(m.catalog.id));
    try {
      return await Promise.all(
        ordered.map(async ({ catalog }) => {
          const provider = org.providers.get(catalog.key);
          const stats: CallStats = { upstreamRequests: 0, cachedResponses: 0 };
          if (!provider) return { catalog, source: outcome(catalog.id, SourceState.NOT_CONFIGURED, stats, null, 0), issues: [], stats };
          const query = plan(catalog);
          if (!query) return { catalog, result: undefined, source: outcome(catalog.id, SourceState.OK, stats, null, 0), issues: [], stats };
          return this.runOne(org.id, provider, query, {
            deadline,
            signal,
            stats,
            loaders: scope.loaders,
            log: scope.log.child({ organization: org.id, provider: catalog.key }),
            now: this.options.now,
          });
        }),
      );
    } finally {
      timer.clear();
    }
  }

  private async runOne(organization: string, provider: Provider, query: ProviderQuery, call: CallContext): Promise<ProviderRun> {
    const { catalog } = provider;
    try {
      // Native records are the vendor's rows as it sends them: never from the store.
      const result =
        this.stored && !query.records
          ? await this.stored.fetch(organization, provider, query, call)
          : { ...(await provider.fetch(query, call)), storedDays: 0 };
      const issue = result.issues[0];
      const source = outcome(catalog.id, issue ? SourceState.PARTIAL : SourceState.OK, call.stats, result.finalizedThrough, result.storedDays);
      if (issue) source.error = { code: issue.code, message: issue.message, retryAfterSeconds: issue.retryAfterSeconds ?? null };
      const issues = result.issues.map((i) => ({ provider: catalog.id, code: i.code, message: i.message, retryAfterSeconds: i.retryAfterSeconds }));
      // Nothing at all because no day asked is one the provider serves: a FAILED source that says so.
      const outOfRetention = wholeRangeOutOfRetention(catalog, query.range, result);
      if (outOfRetention) {
        Object.assign(source, { state: SourceState.FAILED, error: { code: ErrorCode.OUT_OF_RETENTION, message: outOfRetention, retryAfterSeconds: null } });
        return { catalog, source, issues: [{ provider: catalog.id, code: ErrorCode.OUT_OF_RETENTION, message: outOfRetention }], stats: call.stats };
      }
      return { catalog, result, source, issues, stats: call.stats };
    } catch (error) {
      let code: UpstreamErrorCode | ErrorCode.INTERNAL_SERVER_ERROR = ErrorCode.INTERNAL_SERVER_ERROR;
      let message = `${catalog.name}: internal error while reading usage`;
      let retryAfterSeconds: number | undefined;
      if (error instanceof UpstreamError) {
        ({ code, message } = error);
        retryAfterSeconds = error.options.retryAfterSeconds;
        // The upstream call itself was logged by the datasource (vendor code sanitized there).
        call.log.warn({ code, status: error.options.status }, "provider failed");
      } else {
        // Our own bug: the client sees a generic message; the log has the error's name and message only.
        call.log.error({ err: { name: (error as Error)?.name, message: String((error as Error)?.message).slice(0, 200) } }, "provider crashed");
      }
      const source = outcome(catalog.id, SourceState.FAILED, call.stats, null, 0);
      source.error = { code, message, retryAfterSeconds: retryAfterSeconds ?? null };
      return { catalog, source, issues: [{ provider: catalog.id, code, message, retryAfterSeconds }], stats: call.stats };
    }
  }
}

function outcome(provider: ProviderId, state: SourceState, stats: CallStats, finalizedThrough: string | null, storedDays: number): SourceOutcome {
  // Read the counters now: they are exact for this report once its provider call has settled.
  return { provider, state, error: null, finalizedThrough, upstreamRequests: stats.upstreamRequests, cachedResponses: stats.cachedResponses, storedDays };
}

function sourcesOf(runs: readonly ProviderRun[]): SourcesAnswer {
  return { sources: runs.map((r) => r.source), issues: runs.flatMap((r) => r.issues) };
}

/**
 * Observations → series: filter by metric and `where`, keep only the grouped-by dimensions (summing
 * what is grouped away, window by window), then roll each series up to the granularity.
 */
function buildSeries(
  catalog: ProviderCatalog,
  metrics: readonly MetricDefinition[],
  observations: readonly Observation[],
  groupBy: readonly DimensionKey[],
  where: ReadonlyArray<{ key: DimensionKey; in: readonly string[] }>,
  granularity: Granularity,
  range: DateRange,
): UsageSeries[] {
  const byMetric = new Map(metrics.map((m) => [m.key, { def: m, kept: groupBy.filter((k) => m.dimensions.includes(k)) }]));
  const groups = new Map<string, { metric: MetricDefinition; dims: SeriesDimension[]; windows: Map<string, UsagePoint> }>();
  // This loop runs once per observation of a report (tens of thousands for a year of Adverity):
  // keys are plain strings and a group's dimension objects are made once, not per observation.
  for (const obs of observations) {
    const entry = byMetric.get(obs.metric);
    if (!entry) continue;
    if (where.length > 0 && !where.every((f) => f.in.includes(obs.dimensions[f.key]?.value as string))) continue;
    let key = entry.def.key;
    for (const k of entry.kept) key += `|${obs.dimensions[k]?.value ?? NO_DIMENSION_VALUE}`;
    let group = groups.get(key);
    if (!group) {
      const dims = entry.kept.map((k) => {
        const d = obs.dimensions[k];
        return { key: k, value: d?.value ?? NO_DIMENSION_VALUE, label: d?.label ?? d?.value ?? NO_DIMENSION_VALUE };
      });
      group = { metric: entry.def, dims, windows: new Map<string, UsagePoint>() };
      groups.set(key, group);
    }
    // Dimensions grouped away are disjoint parts of the same window: they add up, for gauges too.
    const window = obs.start === obs.end ? obs.start : `${obs.start}|${obs.end}`;
    const point = group.windows.get(window);
    if (point) {
      point.value += obs.value;
      point.final &&= obs.final;
    } else {
      group.windows.set(window, { start: obs.start, end: obs.end, value: obs.value, final: obs.final });
    }
  }
  const out: UsageSeries[] = [];
  for (const { metric, dims, windows } of groups.values()) {
    const points = [...windows.values()];
    for (const p of points) p.value = round(p.value);
    const rolled = rollUp(points, metric.kind, granularity, range);
    out.push({ provider: catalog.id, metric: toMetric(metric), dimensions: dims, points: rolled, total: seriesTotal(rolled, metric.kind) });
  }
  const order = new Map(catalog.metrics.map((m, i) => [m.key, i]));
  return out.sort(
    (a, b) =>
      order.get(a.metric.key)! - order.get(b.metric.key)! ||
      a.dimensions
        .map((d) => d.label)
        .join("\u0000")
        .localeCompare(b.dimensions.map((d) => d.label).join("\u0000")),
  );
}

export function toMetric(def: MetricDefinition): Metric {
  return { key: def.key, name: def.name, unit: def.unit, kind: def.kind, description: def.description };
}
