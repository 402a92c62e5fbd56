import { badResponse } from "../http/datasource";

/** Adverity wire format of `GET /api/v1/usage/`. */
export type AdverityGranularity = "daily" | "monthly";

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

/** The vendor's (Django REST framework) error envelope. */
export interface AdverityErrorBody {
  detail: string;
}

const PROVIDER = "Adverity";

export function parseUsagePage(body: unknown): AdverityUsagePage {
  if (typeof body !== "object" || body === null) badResponse(PROVIDER, "not an object");
  const b = body as Partial<Record<keyof AdverityUsagePage, unknown>>;
  if (typeof b.count !== "number" || !Number.isInteger(b.count) || b.count < 0) badResponse(PROVIDER, "no count");
  if (!Array.isArray(b.items)) badResponse(PROVIDER, "no items array");
  const items = b.items.map((raw: unknown): AdverityUsageItem => {
    const item = (typeof raw === "object" && raw !== null ? raw : {}) as Partial<Record<keyof AdverityUsageItem, unknown>>;
    const ds = item.datastream_id;
    if (
      typeof item.date !== "string" || !/^\d{4}-\d{2}-\d{2}/.test(item.date) ||
      typeof item.workspace_id !== "string" ||
      (ds !== null && ds !== undefined && typeof ds !== "string") ||
      !isCount(item.unique_rows) || !isCount(item.total_rows)
    ) {
      badResponse(PROVIDER, "an item without date, workspace_id, datastream_id and numeric row counts");
    }
    return {
      date: item.date.slice(0, 10),
      workspace_id: item.workspace_id,
      workspace_name: typeof item.workspace_name === "string" ? item.workspace_name : item.workspace_id,
      datastream_id: typeof ds === "string" ? ds : null,
      unique_rows: item.unique_rows,
      total_rows: item.total_rows,
    };
  });
  return { count: b.count, items };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}
