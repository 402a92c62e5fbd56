import { badResponse } from "../http/datasource";

/**
 * Jiandaoyun wire format of `POST /api/v1/corp_usage/overview`: request `{"date":"yyyy-MM-dd"}`
 * (a UTC+8 day), answer `{"date", "metrics": {...}}` with organization-level gauges.
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

/** Vendor error codes the document names. */
export const VendorCode = {
  BAD_KEY: 8301,
  NO_PERMISSION: 8302,
  COMPANY_FREQUENCY_LIMIT: 8303,
  KEY_FREQUENCY_LIMIT: 8304,
  BAD_PARAMETER: 17017,
  BAD_KEY_ALT: 17018,
} as const;

const PROVIDER = "Jiandaoyun";

/** Parses the answer for `date`; an answer for another day is as wrong as a missing field. */
export function parseOverview(body: unknown, date: string): OverviewBody {
  if (typeof body !== "object" || body === null) badResponse(PROVIDER, "not an object");
  const b = body as { date?: unknown; metrics?: unknown };
  if (typeof b.date !== "string" || b.date.slice(0, 10) !== date) badResponse(PROVIDER, "no date, or not the day asked for");
  if (typeof b.metrics !== "object" || b.metrics === null) badResponse(PROVIDER, "no metrics object");
  const raw = b.metrics as Record<string, unknown>;
  const metrics = {} as Record<MetricField, number>;
  for (const field of METRIC_FIELDS) {
    const value = raw[field];
    if (typeof value !== "number" || !Number.isFinite(value)) badResponse(PROVIDER, `metric ${field} is missing or not a number`);
    metrics[field] = value;
  }
  return { date, metrics };
}

/** The vendor code of an error envelope, or undefined. */
export function errorCodeOf(body: unknown): number | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const code = (body as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}
