import type { CalendarDate } from "../common/dates";
import type { ProviderId } from "../providers/provider";
import type { Metric, SeriesDimension, SourceOutcome } from "../usage/usage.model";

/**
 * Budgets and alerts (DESIGN §7), in plain types: the GraphQL layer registers the enums and serves
 * these objects through its @ObjectTypes, and the notifier POSTs them.
 */

export enum BudgetState {
  OK = "OK",
  /** At or over the first threshold below 1. */
  WARNING = "WARNING",
  /** At or over the amount. */
  EXCEEDED = "EXCEEDED",
  /** The source could not answer the period. */
  UNKNOWN = "UNKNOWN",
}

export enum AlertKind {
  /** The day a budget's use first reached one of its thresholds in a period. */
  BUDGET_THRESHOLD = "BUDGET_THRESHOLD",
  /** A COUNTER day above 3 × the median of the 14 days before it. */
  ANOMALY = "ANOMALY",
  /** A provider whose collection failed on 2 consecutive runs. */
  SOURCE_FAILING = "SOURCE_FAILING",
}

export const ALERT_KINDS: readonly AlertKind[] = Object.values(AlertKind);

/** Budget periods: calendar days, ISO weeks (Monday first) and calendar months, in the budget's time zone. */
export type BudgetPeriod = "DAY" | "WEEK" | "MONTH";

/** A budget's use through a day. */
export interface BudgetStatus {
  id: string;
  name: string;
  metric: Metric;
  period: BudgetPeriod;
  amount: number;
  periodStart: CalendarDate;
  periodEnd: CalendarDate;
  /** Through `at`. */
  used: number;
  /** The amount minus the use, 0 once exceeded. */
  remaining: number;
  usedRatio: number;
  /** used + mean daily use of the period's days so far × the days left; null before any day has data. */
  forecast: number | null;
  state: BudgetState;
  /** How the budget's provider answered the period. */
  source: SourceOutcome;
}

export interface Alert {
  /**
   * Deterministic: the same alert computed twice, by two replicas or after a restart, has the same
   * id, so that it is the notification key.
   */
  id: string;
  kind: AlertKind;
  day: CalendarDate;
  provider: ProviderId;
  metric: Metric | null;
  dimensions: SeriesDimension[];
  value: number | null;
  /** The threshold amount, or the expected value (the median) of an anomaly. */
  reference: number | null;
  message: string;
}
