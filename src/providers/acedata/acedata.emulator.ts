import { addDays, eachDay, minDate, todayIn } from "../../common/dates";
import { bearerToken, EmulatorServer, seeded, type EmulatorOptions, type EmulatorResponse, type RecordedRequest } from "../emulator/emulator-server";

export const ACEDATA_DEMO_TOKEN = "demo-acedata-token";

/** One aggregate row as the document prints it: an API's spend on one day. */
export interface AceDataEmulatedRow {
  date: string;
  api_id: string;
  amount: number;
}

export interface AceDataApi {
  id: string;
  name: string;
  path: string;
}

/** The APIs the emulated account uses; their spend differs by day (deterministic). */
export const ACEDATA_APIS: readonly AceDataApi[] = [
  { id: "3f6c1a2e-0b1d-4c55-9a51-6f0f7d3e8a01", name: "Midjourney Imagine", path: "/v1/midjourney/imagine" },
  { id: "8a2d9c44-7e1f-4b3a-8c2e-1d5f6a7b8c02", name: "Claude Messages", path: "/v1/claude/messages" },
  { id: "c41e7b90-2f3a-4d6b-9e8c-7a1b2c3d4e03", name: "Suno Audios", path: "/v1/suno/audios" },
  { id: "e9b05d1f-6c2a-4f7e-8d3b-5a4c3b2a1f04", name: "Serp Google", path: "/v1/serp/google" },
];

/**
 * Ace Data Cloud's aggregate endpoint on loopback. Bearer auth, an ISO `created_at` range,
 * repeatable `api_id`, optional `application_id`, the documented `results/api_map` body or the live
 * service's `items/apis` body (`shape`), and the vendor's error envelopes.
 */
export class AceDataEmulator extends EmulatorServer {
  readonly contract = "acedata" as const;

  protected errorBody(status: number, message: string): unknown {
    return errorEnvelope(status, status === 429 ? "too_many_requests" : "upstream_error", message).body;
  }

  shape: "documented" | "live" = "documented";

  constructor(options: EmulatorOptions & { token?: string; shape?: "documented" | "live" } = {}) {
    super(options);
    this.token = options.token ?? ACEDATA_DEMO_TOKEN;
    this.shape = options.shape ?? "documented";
  }

  private readonly token: string;

  /** A day whose spend is 5 × the usual (anomaly tests); null: none. */
  spikeDay: string | null = null;
  /** The API the spike is for; null: every API. */
  spikeApiId: string | null = null;

  /** Spend of one API on one UTC day; 0 means the vendor lists no row for that pair. */
  amount(date: string, apiId: string, applicationId?: string | null): number {
    const r = seeded(`acedata:${applicationId ?? ""}:${date}:${apiId}`);
    // About one pair in four has no spend at all: absent rows are part of the contract.
    const usual = r < 0.25 ? 0 : Math.round(r * 800) / 10;
    const spiked = date === this.spikeDay && (this.spikeApiId === null || this.spikeApiId === apiId);
    return spiked ? Math.round(usual * 50) / 10 : usual;
  }

  /** The rows the vendor returns for a UTC day range, optionally filtered. */
  rows(from: string, to: string, apiIds: readonly string[] = [], applicationId?: string | null): AceDataEmulatedRow[] {
    const today = todayIn("UTC", this.now());
    const rows: AceDataEmulatedRow[] = [];
    const apis = ACEDATA_APIS.filter((a) => apiIds.length === 0 || apiIds.includes(a.id));
    for (const date of eachDay(from, minDate(to, today))) {
      for (const api of apis) {
        const amount = this.amount(date, api.id, applicationId);
        if (amount > 0) rows.push({ date, api_id: api.id, amount });
      }
    }
    return rows;
  }

  protected handle(req: RecordedRequest): EmulatorResponse {
    if (req.path !== "/api/v1/usage/apis/aggregate/") return errorEnvelope(404, "not_found", "Not found.");
    if (req.method !== "GET") return errorEnvelope(405, "method_not_allowed", `Method "${req.method}" not allowed.`);
    if (bearerToken(req) !== this.token) {
      return errorEnvelope(401, "invalid_token", "Authentication credentials were not provided or are invalid.");
    }
    const today = todayIn("UTC", this.now());
    const from = isoDay(req.query.get("created_at_from"));
    const to = isoDay(req.query.get("created_at_to"));
    if (from === null || to === null) return errorEnvelope(400, "bad_request", "created_at_from and created_at_to must be ISO 8601 date-times.");
    const apiIds = req.query.getAll("api_id");
    const rows = this.rows(from ?? addDays(today, -29), to ?? today, apiIds, req.query.get("application_id"));
    const total = Math.round(rows.reduce((s, r) => s + r.amount, 0) * 10) / 10;
    const used = ACEDATA_APIS.filter((a) => rows.some((r) => r.api_id === a.id));
    if (this.shape === "live") {
      return { status: 200, body: { items: rows, total, apis: Object.fromEntries(used.map((a) => [a.id, { title: a.name }])) } };
    }
    return {
      status: 200,
      body: { results: rows, total, api_map: Object.fromEntries(used.map((a) => [a.id, { name: a.name, path: a.path }])) },
    };
  }
}

/**
 * `2024-08-01T00:00:00Z` → `2024-08-01`, the UTC day of the instant; undefined when absent, null
 * when not an ISO 8601 date-time with seconds and an offset (the document's examples are such
 * instants; a bare date is not one). The end instant is inclusive: `…T23:59:59Z` ends that day.
 */
function isoDay(value: string | null): string | null | undefined {
  if (value === null || value === "") return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/.test(value)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : new Date(at).toISOString().slice(0, 10);
}

function errorEnvelope(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: { error: { code, message }, trace_id: `trace-${status}-${code}` } };
}
