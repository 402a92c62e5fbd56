import { addDays, eachDay, type DateRange } from "../common/dates";
import type { OrganizationRuntime } from "../organizations/organization.registry";
import { DIMENSION_KEYS, MetricKind } from "../providers/provider";
import { PROVIDER_MODULES } from "../providers/registry";
import type { CollectionRun, UsageStore } from "../store/store";
import { Granularity, type ProviderIssue } from "../usage/usage.model";
import type { ServiceScope, UsageService } from "../usage/usage.service";
import { AlertKind, type Alert } from "./alert.model";
import { anomalyMessage, sourceFailingMessage } from "./alert.message";
import { ANOMALY_BASELINE_DAYS, findAnomalies } from "./anomaly";
import type { BudgetService } from "./budget.service";

/** Consecutive failed collection runs that make a SOURCE_FAILING alert (DESIGN §7). */
export const FAILED_RUNS = 2;
/** Collection runs read per provider to find failing streaks: over a year of daily runs. */
const RUN_HISTORY = 400;
const KIND_ORDER: Record<AlertKind, number> = { [AlertKind.SOURCE_FAILING]: 0, [AlertKind.BUDGET_THRESHOLD]: 1, [AlertKind.ANOMALY]: 2 };

export interface AlertServiceDeps {
  usage: UsageService;
  budgets: BudgetService;
  store: UsageStore;
}

/**
 * Alerts of an organization over a range of days (DESIGN §7), computed from what the usage service
 * and the store hold: nothing about them is kept except which were notified. Computing the same
 * range twice gives the same alerts with the same ids.
 */
export class AlertService {
  constructor(private readonly deps: AlertServiceDeps) {}

  /** Alerts of the days `range`, newest first. */
  async alerts(org: OrganizationRuntime, range: DateRange, scope: ServiceScope): Promise<{ alerts: Alert[]; issues: ProviderIssue[] }> {
    const [thresholds, anomalies, failing] = await Promise.all([
      this.deps.budgets.thresholdAlerts(org, range, scope),
      this.anomalies(org, range, scope),
      this.failingSources(org, range, scope),
    ]);
    const alerts = [...thresholds.alerts, ...anomalies.alerts, ...failing].sort(
      (a, b) => (a.day < b.day ? 1 : a.day > b.day ? -1 : 0) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
    const issues = [...new Map([...thresholds.issues, ...anomalies.issues].map((i) => [`${i.provider}:${i.code}:${i.message}`, i])).values()];
    return { alerts, issues };
  }

  /**
   * ANOMALY: every COUNTER series of the organization, split by every dimension its provider has,
   * by DAY over the range and the 14 days before it. A provider whose breakdowns are coarser than
   * days (Pipefy: per period; its catalog's resolution is not plain DAY) has no daily value per
   * dimension: its daily totals are judged instead, without asking for breakdowns at all.
   */
  private async anomalies(org: OrganizationRuntime, range: DateRange, scope: ServiceScope): Promise<{ alerts: Alert[]; issues: ProviderIssue[] }> {
    const modules = PROVIDER_MODULES.filter((m) => org.providers.has(m.catalog.key) && m.catalog.metrics.some((x) => x.kind === MetricKind.COUNTER));
    if (modules.length === 0) return { alerts: [], issues: [] };
    const metrics = modules.flatMap((m) => m.catalog.metrics.filter((x) => x.kind === MetricKind.COUNTER).map((x) => x.key));
    const query = { from: addDays(range.from, -ANOMALY_BASELINE_DAYS), to: range.to, timeZone: "UTC", granularity: Granularity.DAY, metrics };
    const daily = modules.filter((m) => m.catalog.resolution === "DAY").map((m) => m.catalog.id);
    const totalsOnly = modules.filter((m) => m.catalog.resolution !== "DAY").map((m) => m.catalog.id);
    const reports = await Promise.all([
      daily.length > 0 ? this.deps.usage.report(org, { ...query, providers: daily, groupBy: [...DIMENSION_KEYS] }, scope) : undefined,
      totalsOnly.length > 0 ? this.deps.usage.report(org, { ...query, providers: totalsOnly }, scope) : undefined,
    ]);
    const series = reports.flatMap((r) => r?.series ?? []);

    const days = eachDay(range.from, range.to);
    const alerts: Alert[] = [];
    for (const s of series) {
      const values = new Map(s.points.filter((p) => p.start === p.end).map((p) => [p.start, p.value]));
      // Only closed days are judged: a day still filling up is not what it will be.
      const final = new Set(s.points.filter((p) => p.final).map((p) => p.start));
      for (const a of findAnomalies(
        values,
        days.filter((d) => final.has(d)),
      )) {
        const catalog = PROVIDER_MODULES.find((m) => m.catalog.id === s.provider)!.catalog;
        alerts.push({
          id: `${AlertKind.ANOMALY}:${catalog.key}:${s.metric.key}:${s.dimensions.map((d) => `${d.key}=${encodeURIComponent(d.value)}`).join(",")}:${a.day}`,
          kind: AlertKind.ANOMALY,
          day: a.day,
          provider: s.provider,
          metric: s.metric,
          dimensions: s.dimensions,
          value: a.value,
          reference: a.median,
          message: anomalyMessage({
            providerName: catalog.name,
            metric: s.metric,
            dimensions: s.dimensions,
            day: a.day,
            value: a.value,
            median: a.median,
            days: ANOMALY_BASELINE_DAYS,
          }),
        });
      }
    }
    return { alerts, issues: reports.flatMap((r) => r?.issues ?? []) };
  }

  /**
   * SOURCE_FAILING: once per streak of failed collection runs, on the day of the run that made it
   * 2 in a row (its id is that run's start), so a provider failing for a week is one alert, not seven.
   * Runs still RUNNING neither extend nor break a streak.
   */
  private async failingSources(org: OrganizationRuntime, range: DateRange, scope: ServiceScope): Promise<Alert[]> {
    const alerts: Alert[] = [];
    for (const { catalog } of PROVIDER_MODULES.filter((m) => org.providers.has(m.catalog.key))) {
      let runs: CollectionRun[];
      try {
        runs = await this.deps.store.lastRuns(org.id, catalog.key, RUN_HISTORY);
      } catch (error) {
        scope.log.warn(
          { provider: catalog.key, err: { name: (error as Error)?.name, message: String((error as Error)?.message).slice(0, 200) } },
          "store read of collection runs failed: no SOURCE_FAILING alerts",
        );
        continue;
      }
      let streak = 0;
      for (const run of runs.slice().reverse()) {
        if (run.state === "RUNNING") continue;
        streak = run.state === "FAILED" ? streak + 1 : 0;
        if (streak !== FAILED_RUNS) continue;
        const at = run.finishedAt ?? run.startedAt;
        const day = at.slice(0, 10);
        if (day < range.from || day > range.to) continue;
        alerts.push({
          id: `${AlertKind.SOURCE_FAILING}:${catalog.key}:${run.startedAt}`,
          kind: AlertKind.SOURCE_FAILING,
          day,
          provider: catalog.id,
          metric: null,
          dimensions: [],
          value: null,
          reference: null,
          message: sourceFailingMessage({ providerName: catalog.name, runs: FAILED_RUNS, at, errorCode: run.errorCode, errorMessage: run.errorMessage }),
        });
      }
    }
    return alerts;
  }
}
