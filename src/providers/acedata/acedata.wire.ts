import type { ErrorObject } from "ajv";
import type { DateRange } from "../../common/dates";
import { contractValidator, describeContractErrors } from "../../contracts/upstream-contracts";
import { badResponse } from "../http/datasource";

/**
 * Ace Data Cloud wire format of `GET /api/v1/usage/apis/aggregate/` (schema/upstream/contracts/
 * acedata.schema.json). The document shows `{results, total, api_map:{id:{name,path}}}`; the
 * vendor's own clients read `{items, total, apis:{id:{title}}}` from the live service. Exactly one
 * of them is a valid answer; both are read into one shape.
 */
export interface AceDataRow {
  date: string;
  api_id: string;
  amount: number;
}

export interface AceDataDocumentedBody {
  results: AceDataRow[];
  total: number;
  api_map: Record<string, { name?: string; path?: string }>;
}

export interface AceDataLiveBody {
  items: AceDataRow[];
  total: number;
  apis: Record<string, { title?: string }>;
}

/** The vendor's error envelopes. */
export type AceDataErrorBody = { error: { code: string; message: string }; trace_id: string } | { detail: string };

export interface AceDataAggregate {
  rows: AceDataRow[];
  /** APIs the answer names in its API map, with their label (the id when it has no name). */
  apis: Record<string, { name: string; path: string | null }>;
  /** Whether `total` is the sum of the rows, as the contract says it is. */
  totalMatchesRows: boolean;
}

/** The query parameters of the aggregate call, in the order they are sent. */
export function aggregateQuery(range: DateRange, apiIds: readonly string[], applicationId: string | undefined): Array<[string, string]> {
  // The contract's instants have seconds and an offset; the end is inclusive (…T23:59:59Z).
  const query: Array<[string, string]> = [
    ["created_at_from", `${range.from}T00:00:00Z`],
    ["created_at_to", `${range.to}T23:59:59Z`],
  ];
  if (applicationId) query.push(["application_id", applicationId]);
  for (const id of upstreamApiIds(apiIds)) query.push(["api_id", id]);
  return query;
}

/** The `api_id` values to send: each id once, sorted (one cache key per set), never an empty one (the contract's minLength 1). */
export function upstreamApiIds(apiIds: readonly string[]): string[] {
  return [...new Set(apiIds.filter((id) => id.length > 0))].sort();
}

const PROVIDER = "Ace Data Cloud";

/**
 * Sums of binary fractions drift in the last digits, and a vendor may round its total to cents:
 * a difference within this is not an inconsistency.
 */
const TOTAL_TOLERANCE = 0.01;

/**
 * Parses an answer for `range`: the body must satisfy the contract's `$defs/response`; then the
 * checks a schema cannot state: every row lies in the days asked for, and no (date, api_id) pair
 * comes twice (a repeated row would be counted twice).
 */
export function parseAggregate(body: unknown, range: DateRange): AceDataAggregate {
  const validate = contractValidator("acedata", "response");
  if (!validate(body)) badResponse(PROVIDER, describeContractErrors(withoutApiIds(validate.errors)));
  const b = body as AceDataDocumentedBody | AceDataLiveBody;
  const rows = "results" in b ? b.results : b.items;
  const seen = new Set<string>();
  let sum = 0;
  for (const row of rows) {
    if (row.date < range.from || row.date > range.to) badResponse(PROVIDER, "a row dated outside the days asked for");
    const key = `${row.date}\n${row.api_id}`;
    if (seen.has(key)) badResponse(PROVIDER, "the same (date, api_id) row twice");
    seen.add(key);
    sum += row.amount;
  }
  const apis: AceDataAggregate["apis"] = {};
  if ("api_map" in b) {
    for (const [id, info] of Object.entries(b.api_map)) apis[id] = { name: info.name || id, path: info.path ?? null };
  } else {
    for (const [id, info] of Object.entries(b.apis)) apis[id] = { name: info.title || id, path: null };
  }
  return {
    rows: rows.map((r) => ({ date: r.date, api_id: r.api_id, amount: r.amount })),
    apis,
    totalMatchesRows: Math.abs(sum - b.total) <= Math.max(TOTAL_TOLERANCE, Math.abs(b.total) * 1e-9),
  };
}

/** The keys of the API maps are the vendor's API ids: an error message names where, never which. */
function withoutApiIds(errors: readonly ErrorObject[] | null | undefined): ErrorObject[] {
  return (errors ?? []).map((e) => ({ ...e, instancePath: e.instancePath.replace(/^\/(api_map|apis)\/[^/]+/, "/$1/{id}") }));
}

/** Reads the vendor code of an error envelope, for logs. */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body === "object" && body !== null && "error" in body) {
    const code = (body as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}
