import type { CalendarDate } from "../../common/dates";
import type { Observation } from "../provider";
import { JiandaoyunResourceUsage } from "./jiandaoyun.record";
import { METRIC_FIELDS, type OverviewBody } from "./jiandaoyun.wire";

/**
 * Overviews to observations, one per day and metric asked for. Every answered day carries all
 * eleven levels; zeros (usage statistics never enabled) are reported as the vendor gave them (the
 * provider flags such days).
 */
export function toObservations(overviews: readonly OverviewBody[], metrics: readonly string[], isFinal: (d: CalendarDate) => boolean): Observation[] {
  const wanted = new Set(metrics);
  const out: Observation[] = [];
  for (const { date, metrics: values } of overviews) {
    for (const field of METRIC_FIELDS) {
      const metric = `jiandaoyun.${field}`;
      if (!wanted.has(metric)) continue;
      out.push({ metric, dimensions: {}, start: date, end: date, value: values[field], final: isFinal(date) });
    }
  }
  return out;
}

export function toRecords(overviews: readonly OverviewBody[]): JiandaoyunResourceUsage[] {
  return overviews.map(({ date, metrics: m }) =>
    JiandaoyunResourceUsage.of({
      date,
      app: m.app,
      formCoop: m.form_coop,
      formWorkflow: m.form_workflow,
      dash: m.dash,
      etl: m.etl,
      aggregate: m.aggregate,
      publicLink: m.public_link,
      dataTrigger: m.data_trigger,
      automation: m.automation,
      bpa: m.bpa,
      data: m.data,
    }),
  );
}
