import { addDays, eachDay, maxDate, minDate, monthEnd, monthStart, type CalendarDate, type DateRange } from "../../common/dates";
import { contractValidator, describeContractErrors } from "../../contracts/upstream-contracts";
import { badResponse } from "../http/datasource";

/**
 * Adverity wire format of `GET /api/v1/usage/` (schema/upstream/contracts/adverity.schema.json).
 *
 * What an answer does not list, it does not say. The vendor document describes each item as "one
 * date × workspace × datastream bucket" of "finalized row-usage metrics", and says nothing about
 * buckets it leaves out: not that a missing bucket processed no rows, nor that every day with no
 * usage is listed. So usagegraph never turns an absent item into a 0: a bucket without an item has
 * no number, and a day (or month) for which the answer lists no item at all is one the answer does
 * not hold, reported missing.
 */
export type AdverityGranularity = "daily" | "monthly";

export const USAGE_PATH = "/api/v1/usage/";

/** The documented page size limit (default 50). */
export const MAX_PAGE_SIZE = 100;

/** One date × workspace × datastream bucket. */
export interface AdverityUsageItem {
  /** Start of the period: the day, or the first day of the month for monthly granularity. */
  date: string;
  workspace_id: string;
  workspace_name: string;
  /** null when the rows are not attributable to a datastream. */
  datastream_id: string | null;
  unique_rows: number;
  total_rows: number;
}

export interface AdverityUsagePage {
  /** Items matching the query over all pages. */
  count: number;
  items: AdverityUsageItem[];
}

const PROVIDER = "Adverity";

/**
 * Reads one page: it must satisfy the contract's `$defs/response` (a count, and items with all six
 * fields, row counts integers ≥ 0, dates YYYY-MM-DD), and no bucket may appear twice, since a
 * repeated item cannot be told from a double count.
 */
export function parseUsagePage(body: unknown): AdverityUsagePage {
  const validate = contractValidator("adverity", "response");
  if (!validate(body)) badResponse(PROVIDER, describeContractErrors(validate.errors));
  const page = body as AdverityUsagePage;
  const seen = new Set<string>();
  const items = page.items.map((i): AdverityUsageItem => {
    const key = bucketKey(i);
    if (seen.has(key)) badResponse(PROVIDER, "two items for one date, workspace and datastream");
    seen.add(key);
    return {
      date: i.date,
      workspace_id: i.workspace_id,
      workspace_name: i.workspace_name,
      datastream_id: i.datastream_id,
      unique_rows: i.unique_rows,
      total_rows: i.total_rows,
    };
  });
  return { count: page.count, items };
}

/** Identity of an item's bucket (ids are opaque: no separator can be assumed absent from them). */
export function bucketKey(item: AdverityUsageItem): string {
  return JSON.stringify([item.date, item.workspace_id, item.datastream_id]);
}

/** The periods of a range, each cut to the range: its days, or the months it touches. */
export function periodsOf(granularity: AdverityGranularity, range: DateRange): DateRange[] {
  if (granularity === "daily") return eachDay(range.from, range.to).map((d) => ({ from: d, to: d }));
  const out: DateRange[] = [];
  for (let m = monthStart(range.from); m <= range.to; m = addDays(monthEnd(m), 1)) {
    out.push({ from: maxDate(m, range.from), to: minDate(monthEnd(m), range.to) });
  }
  return out;
}

/** The first day of the period an item counts: its day, or its month. */
export function periodStart(item: AdverityUsageItem, granularity: AdverityGranularity): CalendarDate {
  return granularity === "monthly" ? monthStart(item.date) : item.date;
}

/** Periods of `range` for which `items` hold no item at all: days (or months) the answer does not hold. */
export function unheldPeriods(items: readonly AdverityUsageItem[], granularity: AdverityGranularity, range: DateRange): DateRange[] {
  const held = new Set(items.map((i) => periodStart(i, granularity)));
  return periodsOf(granularity, range).filter((p) => !held.has(granularity === "monthly" ? monthStart(p.from) : p.from));
}
