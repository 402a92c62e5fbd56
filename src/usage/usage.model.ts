import type { CalendarDate, DateRange } from "../common/dates";
import type { ErrorCode, UpstreamErrorCode } from "../common/errors";
import type { DimensionFilter, DimensionKey, MetricKind, ProviderId } from "../providers/provider";

/**
 * The usage domain: what the usage service is asked and what it answers, in plain types. The
 * GraphQL layer (src/graphql) registers the enums, converts its validated inputs to these queries
 * and serves these objects through its @ObjectTypes, whose fields mirror them.
 */

export enum Granularity {
  DAY = "DAY",
  /** ISO week, Monday first. */
  WEEK = "WEEK",
  MONTH = "MONTH",
  /** One bucket for the whole range. */
  TOTAL = "TOTAL",
}

export enum SourceState {
  OK = "OK",
  /** Some of the asked range or breakdown could not be answered exactly; see `error`. */
  PARTIAL = "PARTIAL",
  FAILED = "FAILED",
  /** The organization has no credentials for this provider. */
  NOT_CONFIGURED = "NOT_CONFIGURED",
}

/** What usage to report. Absent fields take the service's defaults (UTC, DAY, every configured provider, all metrics). */
export interface UsageQuery {
  /** First day, inclusive. */
  from: CalendarDate;
  /** Last day, inclusive. */
  to: CalendarDate;
  timeZone?: string;
  granularity?: Granularity;
  providers?: readonly ProviderId[];
  /** Metric keys such as "acedata.credits". */
  metrics?: readonly string[];
  groupBy?: readonly DimensionKey[];
  where?: readonly DimensionFilter[];
}

/** Which native rows to return. */
export interface RecordsQuery {
  from: CalendarDate;
  to: CalendarDate;
  providers?: readonly ProviderId[];
}

/** A measured quantity of a provider, as a report shows it. */
export interface Metric {
  key: string;
  name: string;
  unit: string;
  kind: MetricKind;
  description: string;
}

/** The value of one dimension for a series. */
export interface SeriesDimension {
  key: DimensionKey;
  value: string;
  label: string;
}

/** A value over a window of days, before or after rolling up. */
export interface UsagePoint {
  start: CalendarDate;
  /** Inclusive. */
  end: CalendarDate;
  value: number;
  final: boolean;
}

/** A metric of one provider for one combination of dimension values. */
export interface UsageSeries {
  provider: ProviderId;
  metric: Metric;
  dimensions: SeriesDimension[];
  /** Ordered by start. */
  points: UsagePoint[];
  /** Sum of the points for COUNTER, the last point for GAUGE; null without points. */
  total: number | null;
}

/** Why a provider's part of an answer is missing or incomplete. */
export interface SourceError {
  code: string;
  message: string;
  retryAfterSeconds: number | null;
}

/** How one provider answered: one per provider asked for. */
export interface SourceOutcome {
  provider: ProviderId;
  state: SourceState;
  /** The first issue of a PARTIAL source, the failure of a FAILED one. */
  error: SourceError | null;
  /** Last day whose numbers the provider will not change. */
  finalizedThrough: CalendarDate | null;
  /** Upstream HTTP requests made for this answer (retries included). */
  upstreamRequests: number;
  /** Upstream answers served from cache or shared with a concurrent identical call. */
  cachedResponses: number;
  /** Days of this answer served from the usage store. */
  storedDays: number;
}

/** A provider failure or partial answer, to be shown beside the data (GraphQL `errors`). */
export interface ProviderIssue {
  provider: ProviderId;
  code: UpstreamErrorCode | ErrorCode;
  message: string;
  retryAfterSeconds?: number;
}

/** What every answer of the service carries besides its data. */
export interface SourcesAnswer {
  /** One per provider asked for, in registry order. */
  sources: SourceOutcome[];
  /** Every issue of every source, in the order of `sources`. */
  issues: ProviderIssue[];
}

/** A quota a provider declared in its answers for this report (Pipefy's `limit`): budgets read it. */
export interface ReportQuota {
  provider: ProviderId;
  metric: string;
  /** The days the quota is for, inclusive. */
  window: DateRange;
  amount: number;
}

/** Normalized usage over all providers asked for. */
export interface UsageReport extends SourcesAnswer {
  series: UsageSeries[];
  /** Quotas the providers reported while answering; none when no upstream call reported one. */
  quotas: ReportQuota[];
  from: CalendarDate;
  to: CalendarDate;
  granularity: Granularity;
  timeZone: string;
  generatedAt: Date;
}

/** Native rows of each provider: instances of the providers' record classes. */
export interface RecordsAnswer extends SourcesAnswer {
  records: object[];
}
