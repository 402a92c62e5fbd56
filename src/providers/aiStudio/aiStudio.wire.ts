import type { DateRange } from "../../common/dates";
import { contractValidator, describeContractErrors } from "../../contracts/upstream-contracts";
import { badResponse, type UpstreamRequest } from "../http/datasource";

/**
 * AI Studio wire format of "get usage": an ASSUMED CONTRACT (schema/upstream/contracts/
 * aistudio.schema.json). The vendor document names only the metrics, so the endpoint, its
 * parameters, the body and the error envelope below are our assumption (DESIGN.md §1). Everything
 * that depends on them lives in this one module (request building, response parsing and
 * validation, the error envelope) so it can be swapped when the real endpoint is known.
 *
 *   GET /v1/usage?start_date=yyyy-MM-dd&end_date=yyyy-MM-dd   Authorization: Bearer <apiKey>
 *   200 {"period":{"start_date","end_date"},"totals":{counts},"daily":[{"date", ...counts}]}
 *   400/401/403/429/5xx {"error":{"code":string,"message":string}}
 *
 * A range covers at most 31 days counting both ends. `daily` holds one row per day of the range up
 * to today: a day without a row is not a day without usage, it is a day the answer does not hold.
 * `totals` names none of its counters as required, and the numbers served are the daily rows.
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
  /** The range the answer says it covers: not necessarily the range asked for. */
  period: { start_date: string; end_date: string };
  /** The counters the answer states totals for; any of them may be absent. */
  totals: Partial<AiStudioCounts>;
  /** One row per distinct date. */
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
 * Reads a usage body: it must satisfy the contract's `$defs/response` (five integer counters ≥ 0 on
 * every row, real yyyy-MM-dd dates), and no date may have two rows, since a repeated row cannot be
 * told from a double count. Whether the answer holds the days asked for and whether its totals agree
 * with its rows is not the parser's to decide: the provider serves the rows and says what is missing.
 */
export function parseUsage(body: unknown): AiStudioUsageBody {
  const validate = contractValidator("aiStudio", "response");
  if (!validate(body)) badResponse(PROVIDER, describeContractErrors(validate.errors));
  const { period, totals, daily } = body as AiStudioUsageBody;
  const seen = new Set<string>();
  for (const row of daily) {
    if (seen.has(row.date)) badResponse(PROVIDER, "two daily rows for one date");
    seen.add(row.date);
  }
  return {
    period: { start_date: period.start_date, end_date: period.end_date },
    totals: Object.fromEntries(COUNT_FIELDS.filter((f) => totals[f] !== undefined).map((f) => [f, totals[f]])),
    daily: daily.map((r) => ({ date: r.date, ...Object.fromEntries(COUNT_FIELDS.map((f) => [f, r[f]])) }) as AiStudioDailyRow),
  };
}

/** The counters whose stated total is not the sum of the answer's daily rows. */
export function totalsDisagreeing(body: AiStudioUsageBody): CountField[] {
  return COUNT_FIELDS.filter((f) => body.totals[f] !== undefined && body.totals[f] !== body.daily.reduce((sum, r) => sum + r[f], 0));
}

/** The vendor code of an error envelope, for logs. */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

export function errorBody(code: string, message: string): AiStudioErrorBody {
  return { error: { code, message } };
}
