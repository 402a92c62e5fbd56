import { isCalendarDate, type CalendarDate, type DateRange } from "../../common/dates";
import { badResponse } from "../http/datasource";
import { NO_DIMENSION_VALUE } from "../provider";
import type { ApiUsageDailyWithWindowQuery, ApiUsageStatsQuery, GroupedApiDimension, OrganizationUuidQuery, PeriodFilter } from "./pipefy.generated";

/**
 * Pipefy wire format. Requests are the generated TypedDocumentNodes of `operations/*.graphql`
 * (`npm run codegen`, validated against the contract SDL schema/upstream/contracts/pipefy.graphql);
 * responses are `{data, errors}` read by the response keys the operations select (field name or
 * alias, per the GraphQL spec). The vendor document's samples answer `apiUsageStats` under the key
 * `apiUsageStatsGroupedBy`: an answer under that key is read in place of a selected
 * `apiUsageStats` key that is missing.
 *
 * Every value is checked before it becomes a number: counts are whole numbers ≥ 0 (the contract's
 * Int), dates are yyyy-MM-dd, and an entry or a day listed twice is a bad answer, not a sum. Fields
 * the contract does not promise (filterDate, limit, a row's dimension) may be absent.
 */
export type { GroupedApiDimension, PeriodFilter };

export const PERIODS: readonly PeriodFilter[] = ["current_month", "last_month", "last_3_months"];

/** One row of `apiUsageStats`: an operation name, a token name, or "Counter" for the total. */
export interface PipefyMetricRow {
  dimension: string;
  metric: number;
}

export interface PipefySummary {
  rows: PipefyMetricRow[];
  /** The days the period covers, inclusive: its filterDate, or the period's calendar window when the answer has none. */
  window: DateRange;
  /** The organization's API-call quota for the period (`limit`); null when the answer does not say. Never a row cap. */
  quota: number | null;
}

export interface PipefyDaily {
  days: Array<{ date: CalendarDate; metric: number }>;
  /** The window of the period's total (apiUsageStatsDaily reports none of its own). */
  window: DateRange;
  /** The period's total: apiUsageStats without a dimension, exactly one row. */
  total: PipefySummary;
}

/** A GraphQL error answer: HTTP 200 (or 4xx) with `errors[].extensions.code`. */
export interface PipefyErrorBody {
  data?: unknown;
  errors: Array<{ message?: string; extensions?: { code?: string } }>;
}

const PROVIDER = "Pipefy";

/** The response key of the vendor document's samples for an `apiUsageStats` query. */
const SAMPLE_KEY = "apiUsageStatsGroupedBy";

/** The entry of rows that come without a name: they still count calls, in a bucket of their own. */
const UNNAMED = NO_DIMENSION_VALUE;

export function parseOrganizationUuid(body: unknown): string {
  const organization = field<OrganizationUuidQuery>(dataOf(body), "organization");
  if (organization === null) badResponse(PROVIDER, "no organization with the configured id");
  if (!isObject(organization) || typeof organization.uuid !== "string" || organization.uuid === "") {
    badResponse(PROVIDER, "an organization without a uuid");
  }
  return organization.uuid;
}

/** A breakdown of one period by one dimension (the top rows). `fallback`: the window when the answer reports none. */
export function parseSummary(body: unknown, fallback: DateRange): PipefySummary {
  return summaryOf(statsField<ApiUsageStatsQuery>(dataOf(body), "apiUsageStats"), fallback);
}

/** A period's daily totals with the window, total and quota of the same period (one POST). */
export function parseDailyWithWindow(body: unknown, fallback: DateRange): PipefyDaily {
  const data = dataOf(body);
  const total = summaryOf(statsField<ApiUsageDailyWithWindowQuery>(data, "total"), fallback);
  if (total.rows.length !== 1) badResponse(PROVIDER, "a period total that is not exactly one row");
  const daily = field<ApiUsageDailyWithWindowQuery>(data, "daily");
  if (!isObject(daily) || !Array.isArray(daily.data)) badResponse(PROVIDER, "apiUsageStatsDaily without a data array");
  const seen = new Set<CalendarDate>();
  const days = daily.data.map((row: unknown) => {
    if (!isObject(row) || !isCalendarDate(row.date)) badResponse(PROVIDER, "a daily row without a yyyy-MM-dd date");
    if (!isCount(row.metric)) badResponse(PROVIDER, "a daily row whose metric is not a whole number of calls");
    if (seen.has(row.date)) badResponse(PROVIDER, "a daily answer that lists the same day twice");
    seen.add(row.date);
    return { date: row.date, metric: row.metric };
  });
  return { days, window: total.window, total };
}

/** The GraphQL errors of a body, or undefined when it has none. */
export function graphqlErrors(body: unknown): PipefyErrorBody["errors"] | undefined {
  const errors = (body as Partial<PipefyErrorBody> | undefined)?.errors;
  return Array.isArray(errors) && errors.length > 0 ? errors : undefined;
}

function summaryOf(stats: unknown, fallback: DateRange): PipefySummary {
  if (!isObject(stats) || !Array.isArray(stats.data)) badResponse(PROVIDER, "apiUsageStats without a data array");
  const seen = new Set<string>();
  const rows = stats.data.map((row: unknown): PipefyMetricRow => {
    if (!isObject(row) || !isCount(row.metric)) badResponse(PROVIDER, "an apiUsageStats row whose metric is not a whole number of calls");
    const { dimension } = row;
    if (dimension !== null && dimension !== undefined && typeof dimension !== "string")
      badResponse(PROVIDER, "an apiUsageStats row whose dimension is not a string");
    const name = typeof dimension === "string" && dimension !== "" ? dimension : UNNAMED;
    if (seen.has(name)) badResponse(PROVIDER, "an apiUsageStats answer that lists the same entry twice");
    seen.add(name);
    return { dimension: name, metric: row.metric };
  });
  const { limit } = stats;
  if (limit !== null && limit !== undefined && !isCount(limit)) badResponse(PROVIDER, "a limit that is not a whole number of calls");
  return { rows, window: windowOf(stats.filterDate, fallback), quota: isCount(limit) ? limit : null };
}

/** `data` of a GraphQL answer. */
function dataOf(body: unknown): Record<string, unknown> {
  const data = isObject(body) ? body.data : undefined;
  if (!isObject(data)) badResponse(PROVIDER, "no data object");
  return data;
}

/** The answer under `key`, the response key the operation selects. */
function field<T extends object>(data: Record<string, unknown>, key: keyof T & string): unknown {
  if (!(key in data)) badResponse(PROVIDER, `no ${key} in data`);
  return data[key];
}

/** The answer of a selected `apiUsageStats` under its key, or under the documents' sample key instead. */
function statsField<T extends object>(data: Record<string, unknown>, key: keyof T & string): unknown {
  return !(key in data) && SAMPLE_KEY in data ? data[SAMPLE_KEY] : field<T>(data, key);
}

/**
 * filterDate → inclusive day range, reading the first 10 characters of each end (a date-time reads
 * as its calendar day). Without a filterDate (the vendor's samples have none) the window is the
 * period's calendar window in UTC, given by the caller.
 */
function windowOf(filterDate: unknown, fallback: DateRange): DateRange {
  if (filterDate === null || filterDate === undefined) return fallback;
  if (!isObject(filterDate)) badResponse(PROVIDER, "a filterDate that is not an object");
  const { from, to } = filterDate;
  if ((from === null || from === undefined) && (to === null || to === undefined)) return fallback;
  const first = typeof from === "string" ? from.slice(0, 10) : undefined;
  const last = typeof to === "string" ? to.slice(0, 10) : undefined;
  if (!isCalendarDate(first) || !isCalendarDate(last) || first > last) badResponse(PROVIDER, "a filterDate that is not a window of yyyy-MM-dd days");
  return { from: first, to: last };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A whole number of calls ≥ 0, exact in a double (a larger one would already be a rounded number). */
function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
