import { daysInRange, isCalendarDate, type DateRange } from "../../common/dates";
import { badResponse, type UpstreamRequest } from "../http/datasource";

/**
 * AI Studio wire format of "get usage": an ASSUMED CONTRACT. The vendor document names only the
 * metrics, so the endpoint, its parameters, the body and the error envelope below are our
 * assumption (DESIGN.md §1). Everything that depends on them lives in this one module (request
 * building, response parsing and validation, the error envelope) so it can be swapped when the real
 * endpoint is known; the datasource, normalizer, emulator and provider only use what it exports.
 *
 *   GET /v1/usage?start_date=yyyy-MM-dd&end_date=yyyy-MM-dd   Authorization: Bearer <apiKey>
 *   200 {"period":{"start_date","end_date"},"totals":{counts},"daily":[{"date", ...counts}]}
 *   400/401/403/429/5xx {"error":{"code":string,"message":string}}
 *
 * A range covers at most 31 days, and a day of the range without a `daily` row had no usage (0).
 */
export const USAGE_PATH = "/v1/usage";
export const MAX_DAYS_PER_CALL = 31;

/** The five counters, under their wire names; metric keys are `aiStudio.<field>`. */
export const COUNT_FIELDS = ["parsed_pages", "processor_runs", "processed_documents", "completed", "failed"] as const;
export type CountField = (typeof COUNT_FIELDS)[number];
export type AiStudioCounts = Record<CountField, number>;

export interface AiStudioDailyRow extends AiStudioCounts {
  date: string;
}

export interface AiStudioUsageBody {
  period: { start_date: string; end_date: string };
  totals: AiStudioCounts;
  daily: AiStudioDailyRow[];
}

/** The assumed error envelope. */
export interface AiStudioErrorBody {
  error: { code: string; message: string };
}

const PROVIDER = "AI Studio";

export function usageRequest(range: DateRange): Omit<UpstreamRequest, "ttlMs"> {
  return {
    method: "GET",
    path: USAGE_PATH,
    query: [
      ["start_date", range.from],
      ["end_date", range.to],
    ],
  };
}

/**
 * Reads a usage body asked for `asked` and checks it against itself: the period must echo the asked
 * range, every row must be a distinct day inside it, and the rows must add up to the totals. A body
 * that fails any of these cannot be trusted for any day, so the whole answer is refused.
 */
export function parseUsage(body: unknown, asked: DateRange): AiStudioUsageBody {
  if (!isObject(body)) badResponse(PROVIDER, "not an object");
  const { period, totals, daily } = body;
  if (!isObject(period) || !isCalendarDate(period.start_date) || !isCalendarDate(period.end_date)) {
    badResponse(PROVIDER, "no period with start_date and end_date");
  }
  if (period.start_date !== asked.from || period.end_date !== asked.to) {
    badResponse(PROVIDER, `the period ${period.start_date}..${period.end_date} is not the asked ${asked.from}..${asked.to}`);
  }
  if (!isCounts(totals)) badResponse(PROVIDER, "totals without the five counters");
  if (!Array.isArray(daily)) badResponse(PROVIDER, "no daily array");
  const seen = new Set<string>();
  for (const row of daily as unknown[]) {
    if (!isDailyRow(row)) badResponse(PROVIDER, "a daily row without a date and the five counters");
    if (row.date < asked.from || row.date > asked.to) badResponse(PROVIDER, `a daily row for ${row.date}, outside the asked range`);
    if (seen.has(row.date)) badResponse(PROVIDER, `two daily rows for ${row.date}`);
    seen.add(row.date);
  }
  const rows = daily as AiStudioDailyRow[];
  for (const field of COUNT_FIELDS) {
    const sum = rows.reduce((s, r) => s + r[field], 0);
    // Counters are whole numbers; the tolerance only absorbs float rounding should they not be.
    if (Math.abs(sum - totals[field]) > 1e-9 * Math.max(1, Math.abs(totals[field]))) {
      badResponse(PROVIDER, `the daily ${field} do not add up to its total`);
    }
  }
  return {
    period: { start_date: period.start_date, end_date: period.end_date },
    totals: pickCounts(totals),
    daily: rows.map((r) => ({ date: r.date, ...pickCounts(r) })),
  };
}

/** The vendor code of an error envelope, for logs. */
export function errorCodeOf(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.error)) return undefined;
  return typeof body.error.code === "string" ? body.error.code : undefined;
}

export function errorBody(code: string, message: string): AiStudioErrorBody {
  return { error: { code, message } };
}

/** Days one call may cover: for the emulator's parameter rule. */
export function withinCallLimit(range: DateRange): boolean {
  return daysInRange(range.from, range.to) <= MAX_DAYS_PER_CALL;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCounts(value: unknown): value is AiStudioCounts {
  return isObject(value) && COUNT_FIELDS.every((f) => typeof value[f] === "number" && Number.isFinite(value[f]) && (value[f] as number) >= 0);
}

function isDailyRow(value: unknown): value is AiStudioDailyRow {
  return isCounts(value) && isCalendarDate((value as { date?: unknown }).date);
}

function pickCounts(value: AiStudioCounts): AiStudioCounts {
  return Object.fromEntries(COUNT_FIELDS.map((f) => [f, value[f]])) as AiStudioCounts;
}
