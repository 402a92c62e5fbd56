import { eachDay, type CalendarDate, type DateRange } from "../../common/dates";
import type { Observation } from "../provider";
import { AceDataApiUsage } from "./acedata.record";
import type { AceDataAggregate } from "./acedata.wire";

export const CREDITS = "acedata.credits";

/**
 * Aggregate rows to `acedata.credits` observations, one per API and day. The aggregate lists only
 * (day, API) pairs with spend, so for an API the answer names (in a row or in its API map) a day
 * without a row is a real 0 for the days the call covered; an API the answer does not name has no
 * series at all (its spend is unknown, not 0).
 */
export function toObservations(agg: AceDataAggregate, covered: DateRange, isFinal: (d: CalendarDate) => boolean): Observation[] {
  const byApi = new Map<string, Map<CalendarDate, number>>();
  for (const apiId of namedApis(agg)) byApi.set(apiId, new Map());
  for (const row of agg.rows) {
    if (row.date < covered.from || row.date > covered.to) continue;
    byApi.get(row.api_id)!.set(row.date, row.amount);
  }
  const out: Observation[] = [];
  for (const [apiId, days] of byApi) {
    const label = agg.apis[apiId]?.name ?? apiId;
    for (const date of eachDay(covered.from, covered.to)) {
      out.push({
        metric: CREDITS,
        dimensions: { api: { value: apiId, label } },
        start: date,
        end: date,
        value: days.get(date) ?? 0,
        final: isFinal(date),
      });
    }
  }
  return out;
}

/** The API ids an answer names: in its rows or in its API map. */
export function namedApis(agg: AceDataAggregate): Set<string> {
  return new Set([...agg.rows.map((r) => r.api_id), ...Object.keys(agg.apis)]);
}

export function toRecords(agg: AceDataAggregate, covered: DateRange): AceDataApiUsage[] {
  return agg.rows
    .filter((r) => r.date >= covered.from && r.date <= covered.to)
    .map((r) =>
      AceDataApiUsage.of({
        date: r.date,
        apiId: r.api_id,
        apiName: agg.apis[r.api_id]?.name ?? r.api_id,
        apiPath: agg.apis[r.api_id]?.path ?? null,
        amount: r.amount,
      }),
    );
}
