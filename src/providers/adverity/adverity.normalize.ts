import { monthEnd, monthStart, type CalendarDate, type DateRange } from "../../common/dates";
import { NO_DIMENSION_VALUE, type DimensionFilter, type DimensionValue, type Observation } from "../provider";
import { AdverityRowUsage } from "./adverity.record";
import { periodStart, type AdverityGranularity, type AdverityUsageItem } from "./adverity.wire";

export const UNIQUE_ROWS = "adverity.unique_rows";
export const TOTAL_ROWS = "adverity.total_rows";

/** Dimension value of rows that no datastream is attributed to (`datastream_id: null`). */
export const NO_DATASTREAM = NO_DIMENSION_VALUE;
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

/** Items of the covered periods that pass the `where` filters (the vendor may ignore unknown ids). */
export function select(
  items: readonly AdverityUsageItem[],
  granularity: AdverityGranularity,
  covered: DateRange,
  where: readonly DimensionFilter[],
): AdverityUsageItem[] {
  return items.filter((item) => {
    const period = periodStart(item, granularity);
    return period >= covered.from && period <= covered.to && where.every((f) => f.in.includes(dimensionValue(item, f.key) ?? ""));
  });
}

/**
 * Selected items to observations: one per metric and item, nothing else. A bucket the vendor does
 * not list gets no observation, never a 0 (adverity.wire.ts). A period is final once it has ended
 * (the vendor serves only days up to yesterday, and calls them finalized). Monthly items (asked for
 * whole months only) carry their month as the window.
 */
export function toObservations(
  items: readonly AdverityUsageItem[],
  granularity: AdverityGranularity,
  metrics: readonly string[],
  finalThrough: CalendarDate,
): Observation[] {
  const out: Observation[] = [];
  for (const item of items) {
    const workspace: DimensionValue = { value: item.workspace_id, label: item.workspace_name };
    const datastream: DimensionValue =
      item.datastream_id === null ? { value: NO_DATASTREAM, label: NO_DATASTREAM_LABEL } : { value: item.datastream_id, label: item.datastream_id };
    const start = periodStart(item, granularity);
    const end = granularity === "monthly" ? monthEnd(start) : start;
    for (const [metric, field] of FIELDS) {
      if (!metrics.includes(metric)) continue;
      out.push({ metric, dimensions: { workspace, datastream }, start, end, value: item[field], final: end <= finalThrough });
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
