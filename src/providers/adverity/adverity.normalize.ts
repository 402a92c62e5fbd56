import { addDays, eachDay, monthEnd, monthStart, type CalendarDate, type DateRange } from "../../common/dates";
import type { DimensionFilter, DimensionValue, Observation } from "../provider";
import { AdverityRowUsage } from "./adverity.record";
import type { AdverityGranularity, AdverityUsageItem } from "./adverity.wire";

export const UNIQUE_ROWS = "adverity.unique_rows";
export const TOTAL_ROWS = "adverity.total_rows";

/** Dimension value of rows that no datastream is attributed to (`datastream_id: null`). */
export const NO_DATASTREAM = "(none)";
const NO_DATASTREAM_LABEL = "not attributed to a datastream";

const FIELDS: ReadonlyArray<readonly [string, "unique_rows" | "total_rows"]> = [
  [UNIQUE_ROWS, "unique_rows"],
  [TOTAL_ROWS, "total_rows"],
];

/** The value an item has for a dimension key, as `where` filters name it. */
function dimensionValue(item: AdverityUsageItem, key: string): string | undefined {
  if (key === "workspace") return item.workspace_id;
  if (key === "datastream") return item.datastream_id ?? NO_DATASTREAM;
  return undefined;
}

/** The first day of the period an item counts: its day, or its month. */
function periodOf(item: AdverityUsageItem, granularity: AdverityGranularity): CalendarDate {
  return granularity === "monthly" ? monthStart(item.date) : item.date;
}

/** Items of the covered periods that pass the `where` filters (the vendor may ignore unknown ids). */
export function select(
  items: readonly AdverityUsageItem[],
  granularity: AdverityGranularity,
  covered: DateRange,
  where: readonly DimensionFilter[],
): AdverityUsageItem[] {
  return items.filter((item) => {
    const period = periodOf(item, granularity);
    return period >= covered.from && period <= covered.to && where.every((f) => f.in.includes(dimensionValue(item, f.key) ?? ""));
  });
}

/**
 * Selected items to observations, one per metric, (workspace, datastream) pair and period. The
 * vendor lists only buckets that processed rows, so for a pair seen in the answer a period without
 * an item is a real 0 for the periods the call covered; a pair never seen has no series at all.
 * Monthly items (asked for whole months only) carry their month as the window.
 */
export function toObservations(
  items: readonly AdverityUsageItem[],
  granularity: AdverityGranularity,
  covered: DateRange,
  metrics: readonly string[],
): Observation[] {
  const periods = granularity === "monthly" ? eachMonth(covered) : eachDay(covered.from, covered.to);
  const pairs = new Map<string, { workspace: DimensionValue; datastream: DimensionValue; byPeriod: Map<CalendarDate, AdverityUsageItem> }>();
  for (const item of items) {
    const key = `${item.workspace_id}|${item.datastream_id}`;
    const pair = pairs.get(key) ?? {
      workspace: { value: item.workspace_id, label: item.workspace_name },
      datastream: item.datastream_id === null ? { value: NO_DATASTREAM, label: NO_DATASTREAM_LABEL } : { value: item.datastream_id, label: item.datastream_id },
      byPeriod: new Map<CalendarDate, AdverityUsageItem>(),
    };
    pair.byPeriod.set(periodOf(item, granularity), item);
    pairs.set(key, pair);
  }
  const out: Observation[] = [];
  for (const { workspace, datastream, byPeriod } of pairs.values()) {
    for (const [metric, field] of FIELDS) {
      if (!metrics.includes(metric)) continue;
      for (const start of periods) {
        out.push({
          metric,
          dimensions: { workspace, datastream },
          start,
          end: granularity === "monthly" ? monthEnd(start) : start,
          value: byPeriod.get(start)?.[field] ?? 0,
          // The vendor only serves days up to yesterday, and it calls them finalized.
          final: true,
        });
      }
    }
  }
  return out;
}

export function toRecords(items: readonly AdverityUsageItem[], granularity: AdverityGranularity): AdverityRowUsage[] {
  return items.map((i) =>
    AdverityRowUsage.of({
      date: i.date,
      granularity,
      workspaceId: i.workspace_id,
      workspaceName: i.workspace_name,
      datastreamId: i.datastream_id,
      uniqueRows: i.unique_rows,
      totalRows: i.total_rows,
    }),
  );
}

/** True when the range is whole calendar months: the only case the vendor's monthly items fit exactly. */
export function isWholeMonths(range: DateRange): boolean {
  return range.from === monthStart(range.from) && range.to === monthEnd(range.to);
}

/** First days of the months a range touches. */
function eachMonth(range: DateRange): CalendarDate[] {
  const out: CalendarDate[] = [];
  for (let m = monthStart(range.from); m <= range.to; m = addDays(monthEnd(m), 1)) out.push(m);
  return out;
}
