import { eachDay, minDate, todayIn, type CalendarDate, type DateRange } from "../common/dates";
import { PIPEFY_QUOTA_BUDGET_ID, DEFAULT_THRESHOLDS, type BudgetConfig } from "../config/budgets.config";
import type { OrganizationRuntime } from "../organizations/organization.registry";
import type { DimensionFilter, MetricDefinition, ProviderCatalog } from "../providers/provider";
import { MODULES_BY_KEY, PROVIDER_MODULES } from "../providers/registry";
import { round } from "../usage/rollup";
import { Granularity, SourceState, type ProviderIssue, type ReportQuota, type SeriesDimension, type SourceOutcome } from "../usage/usage.model";
import { toMetric, type ServiceScope, type UsageService } from "../usage/usage.service";
import { AlertKind, BudgetState, type Alert, type BudgetPeriod, type BudgetStatus } from "./alert.model";
import { thresholdMessage } from "./alert.message";
import { forecastOf, periodOf, periodsOver } from "./budget.period";

/** A budget as the service evaluates it: a configured one, or a vendor's quota. */
export interface BudgetDefinition {
  id: string;
  name: string;
  catalog: ProviderCatalog;
  metric: MetricDefinition;
  period: BudgetPeriod;
  /** null: the vendor's quota of each period, read from the answers (pipefy.quota). */
  amount: number | null;
  where: readonly DimensionFilter[];
  timeZone: string;
  thresholds: readonly number[];
}

/** A budget's use per day over some days, from one usage report. */
interface BudgetHistory {
  /** Use per day; a value that covers several days (a Pipefy period) counts on its last day. */
  byDay: Map<CalendarDate, number>;
  /** Windows of values that cover several days: a period they reach out of cannot be told exactly. */
  spans: DateRange[];
  source: SourceOutcome;
  issues: ProviderIssue[];
  quotas: ReportQuota[];
  /** The `where` values with the labels the provider gives them. */
  dimensions: SeriesDimension[];
}

const PIPEFY = MODULES_BY_KEY.get("pipefy")!.catalog;
const PIPEFY_CALLS = PIPEFY.metrics.find((m) => m.key === "pipefy.api_calls")!;

/**
 * Budgets (DESIGN §7). Every number comes from the usage service, as a report with the budget's
 * metric, `where` and time zone, by DAY over the days asked: a budget and a `usage` report over the
 * same days read the same store and the same upstream answers, so they never disagree. Final days
 * come from the store; only days not final yet (today) are asked upstream, through the cache.
 */
export class BudgetService {
  private readonly byOrganization: ReadonlyMap<string, readonly BudgetDefinition[]>;

  constructor(
    private readonly usage: UsageService,
    organizations: ReadonlyArray<{ id: string; budgets: readonly BudgetConfig[] }>,
    private readonly now: () => number,
  ) {
    this.byOrganization = new Map(organizations.map((o) => [o.id, o.budgets.map(definitionOf)]));
  }

  /** The organization's budgets: the configured ones, then Pipefy's quota when Pipefy is configured. */
  definitions(org: OrganizationRuntime): BudgetDefinition[] {
    const configured = [...(this.byOrganization.get(org.id) ?? [])];
    if (org.providers.has("pipefy")) {
      configured.push({
        id: PIPEFY_QUOTA_BUDGET_ID,
        name: "Pipefy API-call quota",
        catalog: PIPEFY,
        metric: PIPEFY_CALLS,
        period: "MONTH",
        amount: null,
        where: [],
        // Pipefy's periods are calendar months in UTC (DESIGN §3).
        timeZone: "UTC",
        thresholds: DEFAULT_THRESHOLDS,
      });
    }
    return configured;
  }

  /**
   * Each budget through `at` (default: today in the budget's time zone). Pipefy's quota is listed
   * when Pipefy reported a limit for the period in this answer.
   */
  async statuses(org: OrganizationRuntime, at: CalendarDate | undefined, scope: ServiceScope): Promise<{ budgets: BudgetStatus[]; issues: ProviderIssue[] }> {
    const results = await Promise.all(this.definitions(org).map((def) => this.status(org, def, at ?? todayIn(def.timeZone, this.now()), scope)));
    return {
      budgets: results.flatMap((r) => (r.status ? [r.status] : [])),
      issues: uniqueIssues(results.flatMap((r) => r.issues)),
    };
  }

  /**
   * BUDGET_THRESHOLD alerts of days in `range`: per budget, period and threshold, the first day
   * whose use since the period's start reached the threshold (a day before `range` that crossed it
   * means no alert in `range`). Ids are per budget, period and threshold, not per day: should a
   * day's numbers change once final, the alert stays the same one.
   */
  async thresholdAlerts(org: OrganizationRuntime, range: DateRange, scope: ServiceScope): Promise<{ alerts: Alert[]; issues: ProviderIssue[] }> {
    const results = await Promise.all(this.definitions(org).map((def) => this.crossings(org, def, range, scope)));
    return { alerts: results.flatMap((r) => r.alerts), issues: uniqueIssues(results.flatMap((r) => r.issues)) };
  }

  private async status(
    org: OrganizationRuntime,
    def: BudgetDefinition,
    at: CalendarDate,
    scope: ServiceScope,
  ): Promise<{ status?: BudgetStatus; issues: ProviderIssue[] }> {
    const period = periodOf(at, def.period);
    const history = await this.history(org, def, { from: period.from, to: at }, scope);
    const amount = def.amount ?? quotaFor(history.quotas, period, at);
    if (amount === null) return { issues: history.issues };
    let used = 0;
    let seen = false;
    for (const [day, value] of history.byDay) {
      if (day < period.from || day > at) continue;
      used += value;
      seen = true;
    }
    used = round(used);
    const usedRatio = round(used / amount);
    const known = history.source.state !== SourceState.FAILED && history.source.state !== SourceState.NOT_CONFIGURED && !inexact(history, period);
    return {
      status: {
        id: def.id,
        name: def.name,
        metric: toMetric(def.metric),
        period: def.period,
        amount,
        periodStart: period.from,
        periodEnd: period.to,
        used,
        remaining: round(Math.max(0, amount - used)),
        usedRatio,
        forecast: seen ? round(forecastOf(used, period, at)) : null,
        state: known ? stateOf(usedRatio, def.thresholds) : BudgetState.UNKNOWN,
        source: history.source,
      },
      issues: history.issues,
    };
  }

  private async crossings(
    org: OrganizationRuntime,
    def: BudgetDefinition,
    range: DateRange,
    scope: ServiceScope,
  ): Promise<{ alerts: Alert[]; issues: ProviderIssue[] }> {
    const last = minDate(range.to, todayIn(def.timeZone, this.now()));
    if (range.from > last) return { alerts: [], issues: [] };
    const periods = periodsOver({ from: range.from, to: last }, def.period);
    const history = await this.history(org, def, { from: periods[0]!.from, to: last }, scope);
    const alerts: Alert[] = [];
    for (const period of periods) {
      const amount = def.amount ?? quotaFor(history.quotas, period, minDate(period.to, last));
      if (amount === null || inexact(history, period)) continue;
      let used = 0;
      let seen = false;
      let next = 0;
      for (const day of eachDay(period.from, minDate(period.to, last))) {
        const value = history.byDay.get(day);
        if (value !== undefined) {
          used = round(used + value);
          seen = true;
        }
        // Two thresholds can be crossed on the same day: one alert each.
        for (; seen && next < def.thresholds.length && used >= def.thresholds[next]! * amount; next++) {
          if (day < range.from || day > range.to) continue;
          const threshold = def.thresholds[next]!;
          alerts.push({
            id: `${AlertKind.BUDGET_THRESHOLD}:${def.id}:${period.from}:${threshold}`,
            kind: AlertKind.BUDGET_THRESHOLD,
            day,
            provider: def.catalog.id,
            metric: toMetric(def.metric),
            dimensions: history.dimensions,
            value: used,
            reference: round(threshold * amount),
            message: thresholdMessage({
              name: def.name,
              dimensions: history.dimensions,
              used,
              amount,
              day,
              threshold,
              forecast: forecastOf(used, period, day),
              periodEnd: period.to,
            }),
          });
        }
      }
    }
    return { alerts, issues: history.issues };
  }

  /** One report: the budget's metric and filters, by DAY, grouped by the filtered keys for their labels. */
  private async history(org: OrganizationRuntime, def: BudgetDefinition, range: DateRange, scope: ServiceScope): Promise<BudgetHistory> {
    const { issues, series, sources, quotas } = await this.usage.report(
      org,
      {
        from: range.from,
        to: range.to,
        timeZone: def.timeZone,
        granularity: Granularity.DAY,
        providers: [def.catalog.id],
        metrics: [def.metric.key],
        where: def.where,
        groupBy: [...new Set(def.where.map((f) => f.key))],
      },
      scope,
    );
    const byDay = new Map<CalendarDate, number>();
    const spans: DateRange[] = [];
    const labels = new Map<string, SeriesDimension>();
    for (const s of series) {
      for (const d of s.dimensions) labels.set(`${d.key}\u0000${d.value}`, d);
      for (const p of s.points) {
        byDay.set(p.end, (byDay.get(p.end) ?? 0) + p.value);
        if (p.start !== p.end) spans.push({ from: p.start, to: p.end });
      }
    }
    const dimensions = def.where.flatMap((f) => f.in.map((value) => labels.get(`${f.key}\u0000${value}`) ?? { key: f.key, value, label: value }));
    return { byDay, spans, source: sources[0]!, issues, quotas: quotas.filter((q) => q.metric === def.metric.key), dimensions };
  }
}

function definitionOf(budget: BudgetConfig): BudgetDefinition {
  const module = PROVIDER_MODULES.find((m) => m.catalog.metrics.some((x) => x.key === budget.metric))!;
  return {
    id: budget.id,
    name: budget.name,
    catalog: module.catalog,
    metric: module.catalog.metrics.find((x) => x.key === budget.metric)!,
    period: budget.period,
    amount: budget.amount,
    where: budget.where,
    timeZone: budget.timeZone,
    thresholds: budget.thresholds,
  };
}

/** OK, WARNING from the first threshold below 1, EXCEEDED from 1 (DESIGN §7). */
export function stateOf(usedRatio: number, thresholds: readonly number[]): BudgetState {
  if (usedRatio >= 1) return BudgetState.EXCEEDED;
  const warning = thresholds.find((t) => t < 1);
  return warning !== undefined && usedRatio >= warning ? BudgetState.WARNING : BudgetState.OK;
}

/** The quota of the period, preferring the window that holds `day`. */
function quotaFor(quotas: readonly ReportQuota[], period: DateRange, day: CalendarDate): number | null {
  const overlapping = quotas.filter((q) => q.window.from <= period.to && q.window.to >= period.from);
  return (overlapping.find((q) => q.window.from <= day && q.window.to >= day) ?? overlapping[0])?.amount ?? null;
}

/** Whether a value that covers several days reaches into the period from outside it: its use in the period is not known. */
function inexact(history: BudgetHistory, period: DateRange): boolean {
  return history.spans.some(
    (s) => (s.to >= period.from && s.to <= period.to && s.from < period.from) || (s.from >= period.from && s.from <= period.to && s.to > period.to),
  );
}

function uniqueIssues(issues: readonly ProviderIssue[]): ProviderIssue[] {
  return [...new Map(issues.map((i) => [`${i.provider}:${i.code}:${i.message}`, i])).values()];
}
