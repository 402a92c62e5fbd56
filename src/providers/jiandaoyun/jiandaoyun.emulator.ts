import { addDays, isCalendarDate, todayAtOffset, toEpochDay } from "../../common/dates";
import { bearerToken, EmulatorServer, seeded, type EmulatorOptions, type EmulatorResponse, type RecordedRequest } from "../emulator/emulator-server";

export const JIANDAOYUN_DEMO_KEY = "demo-jiandaoyun-key";

/** The documented limit of this API: 1 request per second per key. */
const REQUESTS_PER_SECOND = 1;

/** The document: "the API supports querying data from the last 180 days only". */
const DAYS_BACK = 180;

/** The eleven metrics of the document's response parameters, in its order. */
const METRICS = ["app", "form_coop", "form_workflow", "dash", "etl", "aggregate", "public_link", "data_trigger", "automation", "bpa", "data"] as const;
export type JiandaoyunEmulatedMetric = (typeof METRICS)[number];

/** The open API's error codes this emulator answers with. */
const CODE = { BAD_KEY: 8301, KEY_FREQUENCY_LIMIT: 8304, BAD_PARAMETER: 17017 } as const;

export interface JiandaoyunEmulatorOptions extends EmulatorOptions {
  apiKey?: string;
  /** false: the organization never enabled usage statistics, so every metric is 0. */
  usageStatsEnabled?: boolean;
}

/**
 * Jiandaoyun's usage overview on loopback: Bearer key, `date` rules in UTC+8 (≤ yesterday, within
 * 180 days, omitted = yesterday), the vendor's `{code, msg}` errors with HTTP 400, and the 1
 * request/second limit, enforced per key where requests arrive, as the real service does.
 */
export class JiandaoyunEmulator extends EmulatorServer {
  readonly contract = "jiandaoyun" as const;

  protected errorBody(status: number, message: string): unknown {
    return { code: status === 429 ? 8304 : status, msg: message };
  }

  /** Requests refused with 8304 because they came too soon after the previous accepted one. */
  violations = 0;
  usageStatsEnabled: boolean;
  private readonly apiKey: string;
  private readonly minIntervalMs: number;
  private readonly lastAccepted = new Map<string, number>();

  constructor(options: JiandaoyunEmulatorOptions = {}) {
    super(options);
    this.apiKey = options.apiKey ?? JIANDAOYUN_DEMO_KEY;
    this.usageStatsEnabled = options.usageStatsEnabled ?? true;
    this.minIntervalMs = 1000 / (options.requestsPerSecond ?? REQUESTS_PER_SECOND);
  }

  /** Today in UTC+8, by the emulator's clock. */
  today(): string {
    return todayAtOffset(8, this.now());
  }

  /** The organization's levels on one UTC+8 day: deterministic, slowly growing gauges. */
  metrics(date: string): Record<JiandaoyunEmulatedMetric, number> {
    if (!this.usageStatsEnabled) return Object.fromEntries(METRICS.map((f) => [f, 0])) as Record<JiandaoyunEmulatedMetric, number>;
    // Position in a 360-day cycle: levels grow over the cycle, with a little day-to-day noise.
    const growth = (((toEpochDay(date) % 360) + 360) % 360) / 360;
    const noise = (field: string, span: number) => Math.floor(seeded(`jiandaoyun:${field}:${date}`) * span);
    const app = 8 + Math.floor(growth * 12);
    return {
      app,
      form_coop: app * 9 + noise("form_coop", 6),
      form_workflow: app * 2 + noise("form_workflow", 3),
      dash: app + 4 + noise("dash", 3),
      etl: 2 + Math.floor(growth * 6),
      aggregate: 1 + Math.floor(growth * 4),
      public_link: app * 3 + noise("public_link", 5),
      data_trigger: 5 + Math.floor(growth * 8),
      automation: 3 + Math.floor(growth * 6),
      bpa: 1 + Math.floor(growth * 3),
      data: 20_000 + Math.floor(growth * 60_000) + noise("data", 400),
    };
  }

  protected handle(req: RecordedRequest): EmulatorResponse {
    if (req.path !== "/api/v1/corp_usage/overview") return { status: 404, body: { code: 404, msg: "Not Found" } };
    if (req.method !== "POST") return { status: 405, body: { code: 405, msg: "Method Not Allowed" } };
    const key = bearerToken(req);
    if (key !== this.apiKey) return vendorError(CODE.BAD_KEY, "Invalid API key.");

    // Judged at arrival: a request less than an interval (1 s) after the last accepted one with this key is refused.
    const last = this.lastAccepted.get(key);
    if (last !== undefined && req.at - last < this.minIntervalMs) {
      this.violations++;
      return vendorError(CODE.KEY_FREQUENCY_LIMIT, "Request frequency of the API key exceeds the limit.");
    }
    this.lastAccepted.set(key, req.at);

    const body = req.body ?? {};
    if (typeof body !== "object" || body === null || Array.isArray(body)) return vendorError(CODE.BAD_PARAMETER, "Invalid request body.");
    const today = this.today();
    const yesterday = addDays(today, -1);
    const asked = (body as { date?: unknown }).date;
    const date = asked === undefined || asked === "" ? yesterday : asked;
    if (!isCalendarDate(date)) return vendorError(CODE.BAD_PARAMETER, "date must be yyyy-MM-dd.");
    if (date > yesterday) return vendorError(CODE.BAD_PARAMETER, "date must not be later than T-1.");
    if (date < addDays(today, -DAYS_BACK)) return vendorError(CODE.BAD_PARAMETER, "Only the last 180 days can be queried.");

    return { status: 200, body: { date, metrics: this.metrics(date) } };
  }
}

function vendorError(code: number, msg: string): EmulatorResponse {
  return { status: 400, body: { code, msg } };
}
