import { daysInRange, eachDay, isCalendarDate, minDate, todayIn, type DateRange } from "../../common/dates";
import { bearerToken, EmulatorServer, seeded, type EmulatorOptions, type EmulatorResponse, type RecordedRequest } from "../emulator/emulator-server";
import {
  COUNT_FIELDS,
  errorBody,
  MAX_DAYS_PER_CALL,
  USAGE_PATH,
  withinCallLimit,
  type AiStudioCounts,
  type AiStudioDailyRow,
  type AiStudioUsageBody,
} from "./aiStudio.wire";

export const AI_STUDIO_DEMO_KEY = "demo-ai-studio-key";

const ZERO: AiStudioCounts = { parsed_pages: 0, processor_runs: 0, processed_documents: 0, completed: 0, failed: 0 };

/**
 * AI Studio's "get usage" on loopback, playing the assumed contract of `aiStudio.wire.ts`: Bearer
 * auth, both dates required, at most 31 days per call, data through today (UTC) only, idle days
 * without a row, totals that are the sum of the rows, and the assumed error envelope.
 */
export class AiStudioEmulator extends EmulatorServer {
  readonly contract = "aiStudio" as const;

  protected errorBody(status: number, message: string): unknown {
    return error(status, status === 429 ? "rate_limited" : "upstream_error", message).body;
  }

  private readonly apiKey: string;

  constructor(options: EmulatorOptions & { apiKey?: string } = {}) {
    super(options);
    this.apiKey = options.apiKey ?? AI_STUDIO_DEMO_KEY;
  }

  /** The counters of one UTC day (all 0 on an idle day); completed + failed = processor_runs. */
  day(date: string): AiStudioCounts {
    if (seeded(`aiStudio:${date}:idle`) < 0.2) return { ...ZERO };
    const runs = 1 + Math.floor(seeded(`aiStudio:${date}:runs`) * 60);
    const failed = Math.floor(seeded(`aiStudio:${date}:failed`) * Math.min(runs, 8));
    const documents = runs + Math.floor(seeded(`aiStudio:${date}:documents`) * runs * 3);
    const pages = documents * (1 + Math.floor(seeded(`aiStudio:${date}:pages`) * 12));
    return { parsed_pages: pages, processor_runs: runs, processed_documents: documents, completed: runs - failed, failed };
  }

  /** The body the vendor answers for a range: days up to today, idle days left out. */
  answer(range: DateRange): AiStudioUsageBody {
    const daily: AiStudioDailyRow[] = [];
    const today = todayIn("UTC", this.now());
    if (range.from <= today) {
      for (const date of eachDay(range.from, minDate(range.to, today))) {
        const counts = this.day(date);
        if (counts.processor_runs > 0) daily.push({ date, ...counts });
      }
    }
    const totals = { ...ZERO };
    for (const row of daily) for (const f of COUNT_FIELDS) totals[f] += row[f];
    return { period: { start_date: range.from, end_date: range.to }, totals, daily };
  }

  protected handle(req: RecordedRequest): EmulatorResponse {
    if (req.path !== USAGE_PATH) return error(404, "not_found", "Not found.");
    if (req.method !== "GET") return error(405, "method_not_allowed", "Method not allowed.");
    if (bearerToken(req) !== this.apiKey) return error(401, "unauthorized", "Missing or invalid API key.");
    const from = req.query.get("start_date");
    const to = req.query.get("end_date");
    if (!isCalendarDate(from) || !isCalendarDate(to)) {
      return error(400, "invalid_parameter", "start_date and end_date are required, as yyyy-MM-dd.");
    }
    if (to < from) return error(400, "invalid_parameter", "end_date must not be before start_date.");
    if (!withinCallLimit({ from, to })) {
      return error(400, "range_too_large", `A request covers at most ${MAX_DAYS_PER_CALL} days; asked ${daysInRange(from, to)}.`);
    }
    return { status: 200, body: this.answer({ from, to }) };
  }
}

function error(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: errorBody(code, message) };
}
