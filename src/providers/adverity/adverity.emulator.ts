import { addDays, eachDay, isCalendarDate, minDate, monthStart, todayIn } from "../../common/dates";
import { EmulatorServer, seeded, type EmulatorOptions, type EmulatorResponse, type RecordedRequest } from "../emulator/emulator-server";

export const ADVERITY_DEMO_KEY = "demo-adverity-key";

/**
 * The emulator's own reading of the vendor document (schema/upstream/contracts/adverity.schema.json),
 * declared here rather than taken from the client's wire module so that the two stay independent.
 */
const PATH = "/api/v1/usage/";
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 50;

export type AdverityEmulatedGranularity = "daily" | "monthly";

/** One date × workspace × datastream bucket, every field always present. */
export interface AdverityEmulatedItem {
  date: string;
  workspace_id: string;
  workspace_name: string;
  datastream_id: string | null;
  unique_rows: number;
  total_rows: number;
}

export interface AdverityWorkspace {
  id: string;
  name: string;
  datastreams: readonly string[];
}

/** The workspaces under the emulated key, each with its datastreams. */
export const ADVERITY_WORKSPACES: readonly AdverityWorkspace[] = [
  {
    id: "6f1d3c2a-8b4e-4d1f-9a2c-0e5b7d9f1a01",
    name: "Acme Marketing",
    datastreams: ["a1c2e3f4-0001-4b5c-8d9e-111111111101", "a1c2e3f4-0002-4b5c-8d9e-111111111102", "a1c2e3f4-0003-4b5c-8d9e-111111111103"],
  },
  {
    id: "2b7e9f4c-1d3a-4e6b-8c5d-7f9a1b3c5d02",
    name: "Acme EMEA",
    datastreams: ["b2d3f4a5-0001-4c6d-9e0f-222222222201", "b2d3f4a5-0002-4c6d-9e0f-222222222202", "b2d3f4a5-0003-4c6d-9e0f-222222222203"],
  },
  {
    id: "9c4a6e8b-3f5d-4a7c-9e1b-5d7f9b1d3f03",
    name: "Acme Sandbox",
    datastreams: ["c3e4a5b6-0001-4d7e-8f1a-333333333301", "c3e4a5b6-0002-4d7e-8f1a-333333333302"],
  },
];

export interface AdverityFilters {
  workspaceIds?: readonly string[];
  datastreamIds?: readonly string[];
}

export interface AdverityEmulatorOptions extends EmulatorOptions {
  /** Keys accepted with `Token <key>` (user-credential keys); default: the demo key. */
  tokenKeys?: readonly string[];
  /** Keys accepted with `Bearer <key>` (keys made in the UI); default: the demo key. */
  bearerKeys?: readonly string[];
}

/**
 * Adverity's `GET /api/v1/usage/` on loopback: Token or Bearer keys, DRF `{"detail": ...}` errors,
 * date_from defaulting to the first of the month, date_to capped to yesterday (UTC), daily or
 * monthly items, repeatable workspace_id/datastream_id filters that ignore unknown ids, stable
 * ordering and page/page_size pagination. The vendor asks for one task at a time: a request that
 * arrives while another is in flight is throttled and counted in `concurrencyViolations`.
 */
export class AdverityEmulator extends EmulatorServer {
  readonly contract = "adverity" as const;

  protected errorBody(_status: number, message: string): unknown {
    return { detail: message };
  }

  /** Requests that arrived while another was in flight. */
  concurrencyViolations = 0;
  /** Added to the `count` of every answer: lets tests make pages disagree with their count. */
  countSkew = 0;
  /** Days the vendor lists no items for (not aggregated yet, say): lets tests make a day absent. */
  readonly unlistedDays = new Set<string>();
  private readonly tokenKeys: readonly string[];
  private readonly bearerKeys: readonly string[];

  constructor(options: AdverityEmulatorOptions = {}) {
    super(options);
    this.tokenKeys = options.tokenKeys ?? [ADVERITY_DEMO_KEY];
    this.bearerKeys = options.bearerKeys ?? [ADVERITY_DEMO_KEY];
  }

  /** One bucket, or undefined when the vendor has no row for it (no rows processed). */
  item(date: string, workspace: AdverityWorkspace, datastreamId: string | null): AdverityEmulatedItem | undefined {
    const r = seeded(`adverity:${date}:${workspace.id}:${datastreamId ?? "-"}`);
    // About one datastream bucket in five and half the unattributed buckets are absent.
    if (r < (datastreamId === null ? 0.5 : 0.2)) return undefined;
    const unique = Math.floor(r * 40_000) + 1;
    const total = unique + Math.floor(seeded(`adverity:dup:${date}:${workspace.id}:${datastreamId ?? "-"}`) * unique * 0.3);
    return { date, workspace_id: workspace.id, workspace_name: workspace.name, datastream_id: datastreamId, unique_rows: unique, total_rows: total };
  }

  /**
   * The items the vendor lists for a range, in its order (date, workspace, datastream, nulls last).
   * `to` is capped to yesterday (UTC); unknown filter ids are ignored. Monthly items sum the days of
   * the range inside each month and are dated the first of the month.
   */
  rows(from: string, to: string, granularity: AdverityEmulatedGranularity = "daily", filters: AdverityFilters = {}): AdverityEmulatedItem[] {
    const last = minDate(to, addDays(todayIn("UTC", this.now()), -1));
    const wsFilter = known(
      filters.workspaceIds,
      ADVERITY_WORKSPACES.map((w) => w.id),
    );
    const dsFilter = known(
      filters.datastreamIds,
      ADVERITY_WORKSPACES.flatMap((w) => w.datastreams),
    );
    const daily: AdverityEmulatedItem[] = [];
    for (const date of from <= last ? eachDay(from, last) : []) {
      if (this.unlistedDays.has(date)) continue;
      for (const ws of ADVERITY_WORKSPACES) {
        if (wsFilter && !wsFilter.includes(ws.id)) continue;
        const streams: Array<string | null> = dsFilter ? ws.datastreams.filter((d) => dsFilter.includes(d)) : [...ws.datastreams, null];
        for (const ds of streams) {
          const item = this.item(date, ws, ds);
          if (item) daily.push(item);
        }
      }
    }
    if (granularity === "daily") return daily;
    const months = new Map<string, AdverityEmulatedItem>();
    for (const d of daily) {
      const key = `${monthStart(d.date)}|${d.workspace_id}|${d.datastream_id}`;
      const m = months.get(key) ?? { ...d, date: monthStart(d.date), unique_rows: 0, total_rows: 0 };
      m.unique_rows += d.unique_rows;
      m.total_rows += d.total_rows;
      months.set(key, m);
    }
    return [...months.values()].sort(byDateWorkspaceDatastream);
  }

  protected handle(req: RecordedRequest): EmulatorResponse {
    // Judged at arrival, as the vendor's task queue would: another request was still being answered.
    return req.concurrent > 0 ? this.throttled() : this.answer(req);
  }

  private throttled(): EmulatorResponse {
    this.concurrencyViolations++;
    return detail(429, "Request was throttled.");
  }

  private answer(req: RecordedRequest): EmulatorResponse {
    if (req.path !== PATH) return detail(404, "Not found.");
    if (req.method !== "GET") return detail(405, `Method "${req.method}" not allowed.`);
    const auth = req.headers.authorization;
    if (typeof auth !== "string") return detail(401, "Authentication credentials were not provided.");
    const [scheme, key] = auth.split(" ", 2);
    const valid = scheme === "Token" ? this.tokenKeys : scheme === "Bearer" ? this.bearerKeys : [];
    if (key === undefined || !valid.includes(key)) return detail(401, "Invalid token.");

    const q = req.query;
    const granularity = q.get("granularity") ?? "daily";
    if (granularity !== "daily" && granularity !== "monthly") return detail(400, `granularity: "${granularity}" is not a valid choice.`);
    const today = todayIn("UTC", this.now());
    const from = q.get("date_from") ?? monthStart(today);
    const to = q.get("date_to") ?? addDays(today, -1);
    if (!isCalendarDate(from)) return detail(400, "date_from: Enter a valid date.");
    if (!isCalendarDate(to)) return detail(400, "date_to: Enter a valid date.");
    if (q.has("date_from") && q.has("date_to") && from > to) return detail(400, "date_from must not be after date_to.");
    const pageSize = q.has("page_size") ? positiveInt(q.get("page_size")) : DEFAULT_PAGE_SIZE;
    if (pageSize === undefined || pageSize > MAX_PAGE_SIZE) return detail(400, `page_size: Ensure this value is between 1 and ${MAX_PAGE_SIZE}.`);
    const page = q.has("page") ? positiveInt(q.get("page")) : 1;

    const rows = this.rows(from, to, granularity, { workspaceIds: q.getAll("workspace_id"), datastreamIds: q.getAll("datastream_id") });
    // Like DRF's paginator: page 1 of an empty list is fine, any other page past the end is not.
    if (page === undefined || (page > 1 && (page - 1) * pageSize >= rows.length)) return detail(404, "Invalid page.");
    return { status: 200, body: { count: rows.length + this.countSkew, items: rows.slice((page - 1) * pageSize, page * pageSize) } };
  }
}

/** The known ids among those asked for; undefined when none were asked for (no filter). */
function known(asked: readonly string[] | undefined, ids: readonly string[]): string[] | undefined {
  return asked && asked.length > 0 ? asked.filter((id) => ids.includes(id)) : undefined;
}

function byDateWorkspaceDatastream(a: AdverityEmulatedItem, b: AdverityEmulatedItem): number {
  const order = (i: AdverityEmulatedItem) => {
    const ws = ADVERITY_WORKSPACES.findIndex((w) => w.id === i.workspace_id);
    const ds = i.datastream_id === null ? 99 : ADVERITY_WORKSPACES[ws]!.datastreams.indexOf(i.datastream_id);
    return [i.date, ws, ds] as const;
  };
  const [x, y] = [order(a), order(b)];
  return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] - y[1] || x[2] - y[2];
}

function positiveInt(value: string | null): number | undefined {
  return value !== null && /^\d+$/.test(value) && Number(value) >= 1 ? Number(value) : undefined;
}

function detail(status: number, message: string): EmulatorResponse {
  return { status, body: { detail: message } };
}
