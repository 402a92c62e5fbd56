import { daysInRange, eachDay, isCalendarDate, minDate, todayIn, type DateRange } from "../../common/dates";
import { bearerToken, EmulatorServer, seeded, type EmulatorOptions, type EmulatorResponse, type RecordedRequest } from "../emulator/emulator-server";

export const AI_STUDIO_DEMO_KEY = "demo-ai-studio-key";

/**
 * The emulator's own reading of the assumed contract (schema/upstream/contracts/aistudio.schema.json),
 * declared here rather than taken from the client's wire module so that the two stay independent.
 */
const PATH = "/v1/usage";
const PARAMETERS = ["start_date", "end_date"];
const MAX_RANGE_DAYS = 31;

interface Counts {
  parsed_pages: number;
  processor_runs: number;
  processed_documents: number;
  completed: number;
  failed: number;
}

interface DayRow extends Counts {
  date: string;
}

interface UsageBody {
  period: { start_date: string; end_date: string };
  totals: Counts;
  daily: DayRow[];
}

const ZERO: Counts = { parsed_pages: 0, processor_runs: 0, processed_documents: 0, completed: 0, failed: 0 };

/**
 * AI Studio's "get usage" on loopback, playing the assumed contract: Bearer auth, both dates
 * required and nothing else, at most 31 days per call counting both ends, one row for every day of
 * the range through today (UTC), idle days included with zeros, no row after today, totals that
 * are the sum of the rows, and the assumed `{"error":{"code","message"}}` envelope.
 */
export class AiStudioEmulator extends EmulatorServer {
  readonly contract = "aiStudio" as const;

  /** Days the vendor answers without a row (its data for them lost or late): lets tests make a day absent. */
  readonly unheldDays = new Set<string>();

  /** Counters the vendor has revised since (a day still counting up): lets tests change a non-final day. */
  readonly revisedDays = new Map<string, Counts>();

  protected errorBody(status: number, message: string): unknown {
    return envelope(status === 429 ? "rate_limited" : status === 401 ? "unauthorized" : "upstream_error", message);
  }

  private readonly apiKey: string;

  constructor(options: EmulatorOptions & { apiKey?: string } = {}) {
    super(options);
    this.apiKey = options.apiKey ?? AI_STUDIO_DEMO_KEY;
  }

  /** The counters of one UTC day (all 0 on an idle day); completed + failed = processor_runs. */
  day(date: string): Counts {
    const revised = this.revisedDays.get(date);
    if (revised) return { ...revised };
    if (seeded(`aiStudio:${date}:idle`) < 0.2) return { ...ZERO };
    const runs = 1 + Math.floor(seeded(`aiStudio:${date}:runs`) * 60);
    const failed = Math.floor(seeded(`aiStudio:${date}:failed`) * Math.min(runs, 8));
    const documents = runs + Math.floor(seeded(`aiStudio:${date}:documents`) * runs * 3);
    const pages = documents * (1 + Math.floor(seeded(`aiStudio:${date}:pages`) * 12));
    return { parsed_pages: pages, processor_runs: runs, processed_documents: documents, completed: runs - failed, failed };
  }

  /** The body the vendor answers for a range: a row for each day up to today, none after. */
  answer(range: DateRange): UsageBody {
    const daily: DayRow[] = [];
    const today = todayIn("UTC", this.now());
    if (range.from <= today) {
      for (const date of eachDay(range.from, minDate(range.to, today))) {
        if (!this.unheldDays.has(date)) daily.push({ date, ...this.day(date) });
      }
    }
    const totals = { ...ZERO };
    for (const row of daily) for (const f of Object.keys(ZERO) as Array<keyof Counts>) totals[f] += row[f];
    return { period: { start_date: range.from, end_date: range.to }, totals, daily };
  }

  protected handle(req: RecordedRequest): EmulatorResponse {
    if (req.path !== PATH) return error(404, "not_found", "Not found.");
    if (req.method !== "GET") return error(405, "method_not_allowed", "Method not allowed.");
    if (bearerToken(req) !== this.apiKey) return error(401, "unauthorized", "Missing or invalid API key.");
    const names = [...req.query.keys()];
    if (names.some((n) => !PARAMETERS.includes(n)) || names.length !== new Set(names).size) {
      return error(400, "invalid_parameter", "Only start_date and end_date are accepted, once each.");
    }
    const from = req.query.get("start_date");
    const to = req.query.get("end_date");
    if (!isCalendarDate(from) || !isCalendarDate(to)) {
      return error(400, "invalid_parameter", "start_date and end_date are required, as yyyy-MM-dd.");
    }
    if (to < from) return error(400, "invalid_parameter", "end_date must not be before start_date.");
    if (daysInRange(from, to) > MAX_RANGE_DAYS) {
      return error(400, "range_too_large", `A request covers at most ${MAX_RANGE_DAYS} days; asked ${daysInRange(from, to)}.`);
    }
    return { status: 200, body: this.answer({ from, to }) };
  }
}

function envelope(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function error(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: envelope(code, message) };
}
