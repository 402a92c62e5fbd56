import { isCalendarDate, type CalendarDate, type DateRange } from "../../common/dates";
import { badResponse } from "../http/datasource";
import type {
  ApiUsageStatsDailyQuery,
  ApiUsageStatsQuery,
  GroupedApiDimension,
  OrganizationUuidQuery,
  PeriodFilter,
} from "./pipefy.generated";

/**
 * Pipefy wire format. Requests are the generated TypedDocumentNodes of `operations/*.graphql`
 * (`npm run codegen`); responses are `{data, errors}` read by the field names the operations ask
 * for. The vendor document's samples show the key `apiUsageStatsGroupedBy` for a query of
 * `apiUsageStats`: by the GraphQL spec a response key is the field name or its alias, so the field
 * asked for is what is read.
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
  /** The days the period really covers (filterDate), inclusive. */
  window: DateRange;
  /** Most rows Pipefy returns for a dimension; null when it does not say. */
  limit: number | null;
}

export interface PipefyDaily {
  days: Array<{ date: CalendarDate; metric: number }>;
  window: DateRange;
}

/** A GraphQL error answer: HTTP 200 (or 4xx) with `errors[].extensions.code`. */
export interface PipefyErrorBody {
  data?: unknown;
  errors: Array<{ message: string; extensions?: { code?: string } }>;
}

const PROVIDER = "Pipefy";

export function parseOrganizationUuid(body: unknown): string {
  const { organization } = dataOf<OrganizationUuidQuery>(body, "organization");
  if (organization === null) badResponse(PROVIDER, "no organization with the configured id");
  if (typeof organization !== "object" || typeof organization.uuid !== "string" || organization.uuid === "") {
    badResponse(PROVIDER, "an organization without a uuid");
  }
  return organization.uuid;
}

export function parseSummary(body: unknown): PipefySummary {
  const { apiUsageStats: stats } = dataOf<ApiUsageStatsQuery>(body, "apiUsageStats");
  if (typeof stats !== "object" || stats === null || !Array.isArray(stats.data)) badResponse(PROVIDER, "apiUsageStats without a data array");
  const rows = stats.data.map((row): PipefyMetricRow => {
    if (typeof row !== "object" || row === null || !isCount(row.metric)) badResponse(PROVIDER, "an apiUsageStats row without a numeric metric");
    // A row without a name still counts calls: it gets its own bucket rather than being dropped.
    return { dimension: typeof row.dimension === "string" && row.dimension !== "" ? row.dimension : "(none)", metric: row.metric };
  });
  if (stats.limit !== null && stats.limit !== undefined && !isCount(stats.limit)) badResponse(PROVIDER, "a limit that is not a number");
  return { rows, window: windowOf(stats.filterDate), limit: stats.limit ?? null };
}

export function parseDaily(body: unknown): PipefyDaily {
  const { apiUsageStatsDaily: daily } = dataOf<ApiUsageStatsDailyQuery>(body, "apiUsageStatsDaily");
  if (typeof daily !== "object" || daily === null || !Array.isArray(daily.data)) badResponse(PROVIDER, "apiUsageStatsDaily without a data array");
  const days = daily.data.map((row) => {
    const date = typeof row?.date === "string" ? row.date.slice(0, 10) : undefined;
    if (!isCalendarDate(date) || !isCount(row?.metric)) badResponse(PROVIDER, "a daily row without a date and a numeric metric");
    return { date, metric: row.metric };
  });
  return { days, window: windowOf(daily.filterDate) };
}

/** The GraphQL errors of a body, or undefined when it has none. */
export function graphqlErrors(body: unknown): PipefyErrorBody["errors"] | undefined {
  const errors = (body as Partial<PipefyErrorBody> | undefined)?.errors;
  return Array.isArray(errors) && errors.length > 0 ? errors : undefined;
}

/** `data` of a GraphQL answer, which must hold `key` (the field asked for, or its alias). */
function dataOf<T extends object>(body: unknown, key: keyof T & string): T {
  const data = (body as { data?: unknown } | null)?.data;
  if (typeof data !== "object" || data === null) badResponse(PROVIDER, "no data object");
  if (!(key in data)) badResponse(PROVIDER, `no ${key} in data`);
  return data as T;
}

/** filterDate → inclusive day range; a date-time is read as its UTC calendar day. */
function windowOf(filterDate: { from: string | null; to: string | null } | null | undefined): DateRange {
  const from = filterDate?.from?.slice(0, 10);
  const to = filterDate?.to?.slice(0, 10);
  if (!isCalendarDate(from) || !isCalendarDate(to) || from > to) badResponse(PROVIDER, "no filterDate window");
  return { from, to };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}
