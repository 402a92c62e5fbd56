import { contractValidator, describeContractErrors } from "../../contracts/upstream-contracts";
import { badResponse } from "../http/datasource";

/**
 * Jiandaoyun wire format of `POST /api/v1/corp_usage/overview` (schema/upstream/contracts/
 * jiandaoyun.schema.json): request `{"date":"yyyy-MM-dd"}` (a UTC+8 day), answer
 * `{"date", "metrics": {...}}` with organization-level gauges, each an integer ≥ 0.
 */
export const METRIC_FIELDS = [
  "app",
  "form_coop",
  "form_workflow",
  "dash",
  "etl",
  "aggregate",
  "public_link",
  "data_trigger",
  "automation",
  "bpa",
  "data",
] as const;

export type MetricField = (typeof METRIC_FIELDS)[number];

export interface OverviewRequest {
  date: string;
}

export interface OverviewBody {
  date: string;
  metrics: Record<MetricField, number>;
}

/** The vendor's error envelope, sent with HTTP 400. */
export interface JiandaoyunErrorBody {
  code: number;
  msg: string;
}

/** Vendor error codes the open API answers with. */
export const VendorCode = {
  BAD_KEY: 8301,
  NO_PERMISSION: 8302,
  COMPANY_FREQUENCY_LIMIT: 8303,
  KEY_FREQUENCY_LIMIT: 8304,
  BAD_PARAMETER: 17017,
  BAD_KEY_ALT: 17018,
  // Not in the contract's list (it allows other codes): the API key's own restrictions, set in
  // Open Platform > Key Management > API Key (IP whitelist, app and API authorization scope).
  IP_NOT_WHITELISTED: 17052,
  APP_NOT_AUTHORIZED: 17053,
  API_NOT_AUTHORIZED: 17054,
} as const;

const PROVIDER = "Jiandaoyun";

/**
 * Parses the answer for `date`: the body must satisfy the contract's `$defs/response` (all eleven
 * metrics, each an integer ≥ 0); an answer for another day is as wrong as a missing field. Metrics
 * the contract does not list are ignored.
 */
export function parseOverview(body: unknown, date: string): OverviewBody {
  const validate = contractValidator("jiandaoyun", "response");
  if (!validate(body)) badResponse(PROVIDER, describeContractErrors(validate.errors));
  const b = body as OverviewBody;
  if (b.date !== date) badResponse(PROVIDER, "an answer for another day than the one asked for");
  const metrics = {} as Record<MetricField, number>;
  for (const field of METRIC_FIELDS) metrics[field] = b.metrics[field];
  return { date, metrics };
}

/** Whether every metric of a day is 0: what the vendor answers when usage statistics were never enabled. */
export function allZero(overview: OverviewBody): boolean {
  return METRIC_FIELDS.every((f) => overview.metrics[f] === 0);
}

/** The vendor code of an error envelope, or undefined. */
export function errorCodeOf(body: unknown): number | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const code = (body as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}
