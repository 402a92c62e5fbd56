import { badResponse } from "../http/datasource";

/**
 * Ace Data Cloud wire format of `GET /api/v1/usage/apis/aggregate/`. The document shows
 * `{results, total, api_map:{id:{name,path}}}`; the vendor's own clients read
 * `{items, total, apis:{id:{title}}}` from the live service. Both are accepted and read into one shape.
 */
export interface AceDataRow {
  date: string;
  api_id: string;
  amount: number;
}

export interface AceDataDocumentedBody {
  results: AceDataRow[];
  total: number;
  api_map: Record<string, { name: string; path?: string }>;
}

export interface AceDataLiveBody {
  items: AceDataRow[];
  total: number;
  apis: Record<string, { title: string; path?: string }>;
}

/** The vendor's error envelopes. */
export type AceDataErrorBody = { error: { code: string; message: string }; trace_id?: string } | { detail: unknown };

export interface AceDataAggregate {
  rows: AceDataRow[];
  total: number;
  apis: Record<string, { name: string; path: string | null }>;
}

const PROVIDER = "Ace Data Cloud";

export function parseAggregate(body: unknown): AceDataAggregate {
  if (typeof body !== "object" || body === null) badResponse(PROVIDER, "not an object");
  const b = body as Partial<AceDataDocumentedBody & AceDataLiveBody>;
  const rows = b.results ?? b.items;
  if (!Array.isArray(rows)) badResponse(PROVIDER, "no results or items array");
  for (const row of rows) {
    if (
      typeof row !== "object" || row === null ||
      typeof row.date !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(row.date) ||
      typeof row.api_id !== "string" ||
      typeof row.amount !== "number" || !Number.isFinite(row.amount)
    ) {
      badResponse(PROVIDER, "a row without date, api_id and a numeric amount");
    }
  }
  const apis: AceDataAggregate["apis"] = {};
  for (const [id, info] of Object.entries(b.api_map ?? {})) apis[id] = { name: String(info?.name ?? id), path: info?.path ?? null };
  for (const [id, info] of Object.entries(b.apis ?? {})) apis[id] = { name: String(info?.title ?? id), path: info?.path ?? null };
  return {
    rows: rows.map((r) => ({ date: r.date.slice(0, 10), api_id: r.api_id, amount: r.amount })),
    total: typeof b.total === "number" ? b.total : rows.reduce((s, r) => s + r.amount, 0),
    apis,
  };
}

/** Reads the vendor code of an error envelope, for logs. */
export function errorCodeOf(body: unknown): string | undefined {
  if (typeof body === "object" && body !== null && "error" in body) {
    const code = (body as { error?: { code?: unknown } }).error?.code;
    return typeof code === "string" ? code : undefined;
  }
  return undefined;
}
