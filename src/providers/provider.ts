import type { CalendarDate, DateRange } from "../common/dates";
import type { ErrorCode, UpstreamErrorCode } from "../common/errors";
import type { Logger } from "../common/logger";
import type { LoaderRegistry } from "../common/loaders";
import type { UpstreamCache } from "./http/cache";
import type { QueueRegistry } from "./http/queue";

/** GraphQL enum values of the providers. */
export enum ProviderId {
  JIANDAOYUN = "JIANDAOYUN",
  ACEDATA = "ACEDATA",
  AI_STUDIO = "AI_STUDIO",
  PIPEFY = "PIPEFY",
  ADVERITY = "ADVERITY",
}

/** Keys of the providers in config files and in metric keys (`acedata.credits`). */
export type ProviderKey = "jiandaoyun" | "acedata" | "aiStudio" | "pipefy" | "adverity";

export enum MetricKind {
  /** Adds up over time: buckets sum. */
  COUNTER = "COUNTER",
  /** A level (number of apps): a bucket takes the last observed day. */
  GAUGE = "GAUGE",
}

/** Dimension keys a `groupBy` or `where` may name. */
export const DIMENSION_KEYS = ["api", "workspace", "datastream", "operation", "token"] as const;
export type DimensionKey = (typeof DIMENSION_KEYS)[number];

/** The dimension value of rows a provider does not attribute to one (Adverity's null datastream, Pipefy's unnamed entry). */
export const NO_DIMENSION_VALUE = "(none)";

export interface MetricDefinition {
  /** `<provider>.<name>`, e.g. `acedata.credits`. */
  key: string;
  name: string;
  unit: string;
  kind: MetricKind;
  description: string;
  /** Dimension keys this metric can be split by. */
  dimensions: readonly DimensionKey[];
}

export interface DimensionDefinition {
  key: DimensionKey;
  name: string;
  description: string;
}

/** What a provider is and what it can answer: served by `Query.providers`. */
export interface ProviderCatalog {
  id: ProviderId;
  key: ProviderKey;
  name: string;
  vendor: string;
  metrics: readonly MetricDefinition[];
  dimensions: readonly DimensionDefinition[];
  /** Finest resolution of the data, e.g. "DAY" or "CALENDAR_MONTH". */
  resolution: string;
  /** The time zone the provider counts its days in: a fact, not an option. */
  timeZone: string;
  /** How far back the provider answers, in days; null when it does not say. */
  retentionDays: number | null;
  /** Days after which a day's numbers no longer change (1 = yesterday is final). */
  finalizationLagDays: number;
  rateLimit: {
    /** Documented requests per second; null when undocumented. */
    requestsPerSecond: number | null;
    /** Documented concurrency; null when undocumented. */
    maxConcurrent: number | null;
    description: string;
  };
  /** Longest date range one upstream call may cover; null when unbounded. */
  maxDaysPerCall: number | null;
  /** Limits a user must know, e.g. Pipefy's top-10 cap. */
  notes: readonly string[];
}

export interface DimensionValue {
  value: string;
  /** Human label (API name, workspace name); the value when there is none. */
  label: string;
}

/**
 * One number a provider reported, at the provider's own resolution. Daily data has start = end;
 * coarser data (a Pipefy month) carries its true window. Normalizers emit explicit zeros for days
 * the provider answered without a row where the vendor's contract says absence means zero.
 */
export interface Observation {
  metric: string;
  dimensions: Readonly<Partial<Record<DimensionKey, DimensionValue>>>;
  start: CalendarDate;
  end: CalendarDate;
  value: number;
  final: boolean;
}

export interface DimensionFilter {
  key: DimensionKey;
  in: readonly string[];
}

/** What the usage service asks one provider for. Keys the provider does not have are removed. */
export interface ProviderQuery {
  range: DateRange;
  /** Metric keys of this provider that were asked for (never empty). */
  metrics: readonly string[];
  /** Dimension keys of this provider the caller groups by. */
  groupBy: readonly DimensionKey[];
  /** Filters on dimension keys of this provider; a provider may push them upstream. */
  where: readonly DimensionFilter[];
  /** Bucket size the caller will roll up to: lets a provider ask for coarser upstream data (Adverity monthly). */
  granularity: "DAY" | "WEEK" | "MONTH" | "TOTAL";
  /** Whether native records are wanted (Organization.records). */
  records: boolean;
}

/** Something that makes a source PARTIAL without failing it. */
export interface SourceIssue {
  code: UpstreamErrorCode | ErrorCode;
  message: string;
  retryAfterSeconds?: number;
  /**
   * The issue follows from the answer's observations themselves (a window wider than the range, an
   * "(other)" entry for a capped top list), not from days or rows the provider left unknown: the
   * answer is complete at its resolution, may be stored, and `Provider.restateIssues` says the same
   * of the same observations read back from the store. Absent: the issue may hide unknown days.
   */
  restatable?: true;
}

/** A vendor-declared quota (Pipefy's `limit`): how much of a metric a window of days allows. */
export interface ProviderQuota {
  metric: string;
  /** The days the quota is for, inclusive (Pipefy: the period's filterDate). */
  window: DateRange;
  amount: number;
}

export interface ProviderResult {
  /** Observations carrying every dimension in the query's groupBy and where keys. */
  observations: Observation[];
  /** Quotas the vendor reported in the answers of this fetch; absent when it reports none. */
  quotas?: ProviderQuota[];
  /** Native rows, instances of the provider's record classes; empty unless query.records. */
  records: object[];
  issues: SourceIssue[];
  /** Last day whose numbers the provider will not change. */
  finalizedThrough: CalendarDate | null;
}

/** Request-scoped things a provider call needs. */
export interface CallContext {
  /** Epoch ms (real time, Date.now(), whatever `now` says) after which no upstream call may start. */
  readonly deadline: number;
  /** Aborted at the deadline (and when the client goes away). */
  readonly signal: AbortSignal;
  /** Counted for SourceStatus: exact per report. */
  readonly stats: CallStats;
  readonly loaders: LoaderRegistry;
  readonly log: Logger;
  /** Clock, injectable for tests. */
  readonly now: () => number;
}

export interface CallStats {
  upstreamRequests: number;
  cachedResponses: number;
  /**
   * The earliest expiry (epoch ms, product clock) of the cached or shared answers used; absent
   * when none had one. What is built of them lives no longer (the report memo, the response cache).
   */
  expiresAt?: number;
}

/** Lowers `stats.expiresAt` to `at` when `at` is earlier. */
export function noteExpiry(stats: CallStats, at: number | undefined): void {
  if (at !== undefined && !(stats.expiresAt !== undefined && stats.expiresAt <= at)) stats.expiresAt = at;
}

export interface Provider {
  readonly catalog: ProviderCatalog;
  fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult>;
  /**
   * The `restatable` issues a fresh answer made of these observations would carry for `query`.
   * Called for observations served from the store; a provider whose answers have no restatable
   * issues need not have it.
   */
  restateIssues?(query: ProviderQuery, observations: readonly Observation[], now: number): SourceIssue[];
}

/** Process-wide things shared by every provider instance. */
export interface ProviderDeps {
  /** Organization id: part of cache keys. */
  organizationId: string;
  cache: UpstreamCache;
  queues: QueueRegistry;
  log: Logger;
  /** Where upstream calls, cache answers and breaker states are counted (Prometheus). */
  metrics?: UpstreamMetrics;
}

/** What the datasource base reports for /metrics. */
export interface UpstreamMetrics {
  /** One upstream HTTP attempt: outcome is "ok" or the contract code. */
  upstreamCall(provider: ProviderKey, outcome: string, seconds: number): void;
  cacheLookup(provider: ProviderKey, hit: boolean): void;
  queueWait(provider: ProviderKey, seconds: number): void;
  breakerState(provider: ProviderKey, organizationId: string, state: "closed" | "open" | "half_open"): void;
}

export interface EmulatorHandle {
  readonly url: string;
  stop(): Promise<void>;
}
