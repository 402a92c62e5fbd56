import { addDays, describeDays, minDate, overlaps, todayIn, widestWithoutOverlaps, type CalendarDate, type DateRange } from "../../common/dates";
import { ErrorCode } from "../../common/errors";
import type { ProviderModule } from "../module";
import type { CallContext, Observation, Provider, ProviderDeps, ProviderQuery, ProviderQuota, ProviderResult, SourceIssue } from "../provider";
import { PIPEFY_CATALOG } from "./pipefy.catalog";
import { PipefyDataSource } from "./pipefy.datasource";
import {
  API_CALLS,
  breakdownObservations,
  callsOutsideTop,
  dailyAddsUp,
  dailyObservations,
  dailyRecords,
  OTHER,
  summaryRecords,
  UPSTREAM_DIMENSION,
  type BreakdownKey,
} from "./pipefy.normalize";
import { planPeriods, ttlFor, uncoveredDays } from "./pipefy.periods";
import { PipefyApiUsage } from "./pipefy.record";
import { PipefySettings } from "./pipefy.settings";
import type { PeriodFilter, PipefyDaily, PipefySummary } from "./pipefy.wire";

const BREAKDOWN_KEYS: readonly BreakdownKey[] = ["operation", "token"];

/**
 * Rows Pipefy lists per dimension at most, per its document: the only row cap. An answer's `limit`
 * is the organization's API-call quota, not a cap.
 */
const DOCUMENTED_TOP_N = 10;

/** A period's daily+window answer, asked at most once per fetch. */
type PeriodTotals = (period: PeriodFilter) => Promise<PipefyDaily>;

/** One period's breakdowns, and its total when a breakdown was capped (or records want it). */
interface PeriodBreakdown {
  period: PeriodFilter;
  window: DateRange;
  byKey: ReadonlyArray<readonly [BreakdownKey, PipefySummary]>;
  total?: PipefySummary;
}

export class PipefyProvider implements Provider {
  readonly catalog = PIPEFY_CATALOG;
  private readonly source: PipefyDataSource;

  constructor(settings: PipefySettings, deps: ProviderDeps) {
    this.source = new PipefyDataSource(settings, deps);
  }

  /**
   * Daily totals when no operation or token is asked for; otherwise per-period breakdowns with their
   * true windows. Asking for both returns both breakdowns of the same calls, each observation with
   * its own dimension only: Pipefy has no operation × token cross-tab, and summing the two would
   * count every call twice.
   */
  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // Pipefy counts UTC days; today is still filling up and later days do not exist yet.
    const today = todayIn("UTC", call.now());
    const range = answeredRange(query.range, call.now());
    const result: ProviderResult = { observations: [], records: [], issues: [], finalizedThrough: addDays(today, -1) };
    if (range.from > range.to) return result;

    const asked = askedKeys(query);
    const uuid = await this.source.organizationUuid(call);
    const periods = planPeriods(range, today);
    // Daily totals, records and capped breakdowns all read a period's daily+window POST: one each.
    const asking = new Map<PeriodFilter, Promise<PipefyDaily>>();
    const totals: PeriodTotals = (period) => {
      let answer = asking.get(period);
      if (!answer) asking.set(period, (answer = this.source.dailyWithWindow(uuid, period, ttlFor(period, call.now()), call)));
      return answer;
    };
    const [daily, breakdowns] = await Promise.all([
      asked.length === 0 || query.records ? Promise.all(periods.map(totals)) : undefined,
      asked.length > 0 || query.records ? this.breakdowns(uuid, periods, query.records ? BREAKDOWN_KEYS : asked, query.records, totals, call) : undefined,
    ]);

    if (daily) {
      result.issues.push(
        ...coverageIssues(
          range,
          daily.map((d) => d.window),
        ),
      );
      periods.forEach((period, i) => {
        if (!dailyAddsUp(daily[i]!)) {
          result.issues.push(
            partial(
              `Pipefy's daily API calls for its period ${period} do not add up to its total for that period: the days are reported as Pipefy listed them, and some may be missing`,
            ),
          );
        }
      });
      if (asked.length === 0) result.observations.push(...dailyObservations(daily, range, today));
      if (query.records) result.records.push(...dailyRecords(daily, range));
    }
    if (breakdowns) {
      // A window outside the range (should Pipefy's period not be where expected) answers nothing asked.
      const kept = withoutOverlaps(breakdowns.filter((b) => overlaps(b.window, range)));
      result.issues.push(
        ...coverageIssues(
          range,
          kept.map((b) => b.window),
        ),
      );
      for (const b of kept) {
        if (asked.length > 0) {
          const { observations, issues: periodIssues } = periodObservations(b, asked, range, today);
          result.observations.push(...observations);
          result.issues.push(...periodIssues);
        }
        if (query.records) {
          for (const [key, summary] of b.byKey) result.records.push(...summaryRecords(key, summary));
          if (b.total) result.records.push(...summaryRecords("total", b.total));
        }
      }
    }
    const quotas = quotasOf([...(daily ?? []).map((d) => d.total), ...(breakdowns ?? []).flatMap((b) => b.byKey.map(([, summary]) => summary))]);
    if (quotas.length > 0) result.quotas = quotas;
    result.issues = uniqueIssues(result.issues);
    return result;
  }

  restateIssues(query: ProviderQuery, observations: readonly Observation[], now: number): SourceIssue[] {
    const asked = askedKeys(query);
    return asked.length > 0 ? breakdownIssues(observations, asked, answeredRange(query.range, now)) : [];
  }

  private breakdowns(
    uuid: string,
    periods: readonly PeriodFilter[],
    keys: readonly BreakdownKey[],
    withTotal: boolean,
    totals: PeriodTotals,
    call: CallContext,
  ): Promise<PeriodBreakdown[]> {
    return Promise.all(
      periods.map(async (period) => {
        const ttlMs = ttlFor(period, call.now());
        const byKey = await Promise.all(keys.map(async (k) => [k, await this.source.summary(uuid, period, UPSTREAM_DIMENSION[k], ttlMs, call)] as const));
        // The top-N cap hides calls; the period total (the daily+window POST, which a daily report
        // of the same period shares) tells how many.
        const total = withTotal || byKey.some(([, s]) => isCapped(s)) ? (await totals(period)).total : undefined;
        return { period, window: byKey[0]![1].window, byKey, total };
      }),
    );
  }
}

/** The days of `range` Pipefy can answer: it counts UTC days, and later days do not exist yet. */
function answeredRange(range: DateRange, now: number): DateRange {
  return { from: range.from, to: minDate(range.to, todayIn("UTC", now)) };
}

/** The breakdowns a query asks for: by grouping or by filter. */
function askedKeys(query: ProviderQuery): BreakdownKey[] {
  return BREAKDOWN_KEYS.filter((k) => query.groupBy.includes(k) || query.where.some((f) => f.key === k));
}

/** Observations of one period's breakdowns, with the issues that make them PARTIAL. */
function periodObservations(
  b: PeriodBreakdown,
  keys: readonly BreakdownKey[],
  range: DateRange,
  today: CalendarDate,
): { observations: Observation[]; issues: SourceIssue[] } {
  const observations: Observation[] = [];
  const mismatches: SourceIssue[] = [];
  for (const [key, summary] of b.byKey) {
    if (!keys.includes(key)) continue;
    let other = 0;
    if (isCapped(summary)) {
      const total = b.total!;
      // For the current month the total is read a moment after the breakdown: calls made in
      // between land in "(other)", which is as fresh as either answer.
      const sameWindow = total.window.from === summary.window.from && total.window.to === summary.window.to;
      other = sameWindow ? callsOutsideTop(summary, total) : -1;
      if (other < 0) {
        // Not restatable: which calls are missing is unknown, so the answer is never stored.
        mismatches.push(
          partial(
            `Pipefy lists only its top ${summary.rows.length} ${pluralOf(key)} for ${b.window.from}..${b.window.to}, and its period total does not match them: calls of other ${pluralOf(key)} may be missing`,
          ),
        );
      }
    }
    observations.push(...breakdownObservations(key, summary, other, today));
  }
  return { observations, issues: [...breakdownIssues(observations, keys, range), ...mismatches] };
}

/**
 * The issues that follow from breakdown observations alone, per window in start order: a window
 * wider than the range (Pipefy breaks down per period only), and an "(other)" entry (the top-N
 * cap; its value is the exact count of the calls outside the top). Fresh answers and answers read
 * back from the store get them from here, so both say the same.
 */
export function breakdownIssues(observations: readonly Observation[], keys: readonly BreakdownKey[], range: DateRange): SourceIssue[] {
  const windows = new Map<string, Observation[]>();
  for (const o of [...observations].sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0))) {
    const span = `${o.start}..${o.end}`;
    windows.set(span, [...(windows.get(span) ?? []), o]);
  }
  const issues: SourceIssue[] = [];
  for (const [span, rows] of windows) {
    const { start, end } = rows[0]!;
    if (start < range.from || end > range.to) {
      issues.push(
        restatable(`Pipefy breaks API calls down by ${keys.join(" and ")} per period only: the breakdown covers ${span}, not just ${range.from}..${range.to}`),
      );
    }
    for (const key of keys) {
      const entries = rows.filter((o) => o.dimensions[key] !== undefined);
      const other = entries.find((o) => o.dimensions[key]!.value === OTHER);
      if (other) {
        issues.push(
          restatable(
            `Pipefy lists only its top ${entries.length - 1} ${pluralOf(key)} for ${span}: the ${other.value} calls of all other ${pluralOf(key)} are reported together as "(other)"`,
          ),
        );
      }
    }
  }
  return issues;
}

function pluralOf(key: BreakdownKey): string {
  return key === "operation" ? "operations" : "tokens";
}

/** The API-call quota (`limit`) of each period window answered, once per window. */
function quotasOf(summaries: readonly PipefySummary[]): ProviderQuota[] {
  const byWindow = new Map<string, ProviderQuota>();
  for (const s of summaries) {
    if (s.quota !== null) byWindow.set(`${s.window.from}|${s.window.to}`, { metric: API_CALLS, window: s.window, amount: s.quota });
  }
  return [...byWindow.values()];
}

function isCapped(summary: PipefySummary): boolean {
  return summary.rows.length >= DOCUMENTED_TOP_N;
}

/**
 * Pipefy's periods are expected not to overlap, but filterDate is the truth: should two windows
 * overlap, the wider one is kept so that no call is counted twice. Days this leaves uncovered are
 * reported by coverageIssues.
 */
function withoutOverlaps(breakdowns: readonly PeriodBreakdown[]): PeriodBreakdown[] {
  return widestWithoutOverlaps(breakdowns, (b) => b.window);
}

/** Days of the range no answer covered: too old for Pipefy, or (unexpectedly) between its periods. */
function coverageIssues(range: DateRange, windows: readonly DateRange[]): SourceIssue[] {
  const missing = uncoveredDays(range, windows);
  if (missing.length === 0) return [];
  const oldest = windows.reduce<CalendarDate | undefined>((o, w) => (o === undefined || w.from < o ? w.from : o), undefined);
  const tooOld = missing.filter((d) => oldest === undefined || d < oldest);
  const gaps = missing.filter((d) => oldest !== undefined && d >= oldest);
  const issues: SourceIssue[] = [];
  if (tooOld.length > 0) {
    issues.push({
      code: ErrorCode.OUT_OF_RETENTION,
      message: `Pipefy reports API usage for its recent periods only (current month, last month, last 3 months): no data for ${describeDays(tooOld)}${oldest ? ` (its earliest day is ${oldest})` : ""}`,
    });
  }
  if (gaps.length > 0) issues.push(partial(`No Pipefy period covered ${describeDays(gaps)}`));
  return issues;
}

function partial(message: string): SourceIssue {
  return { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message };
}

function restatable(message: string): SourceIssue {
  return { ...partial(message), restatable: true };
}

function uniqueIssues(issues: readonly SourceIssue[]): SourceIssue[] {
  return [...new Map(issues.map((i) => [`${i.code}:${i.message}`, i])).values()];
}

export const pipefyModule: ProviderModule<PipefySettings> = {
  catalog: PIPEFY_CATALOG,
  Settings: PipefySettings,
  secretFields: ["token"],
  recordTypes: [PipefyApiUsage],
  create: (settings, deps) => new PipefyProvider(settings, deps),
};
