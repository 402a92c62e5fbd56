import { addDays, chunkRange, minDate, todayIn, type DateRange } from "../../common/dates";
import { UpstreamError } from "../../common/errors";
import { TTL } from "../http/datasource";
import type { ProviderModule } from "../module";
import type { CallContext, Provider, ProviderDeps, ProviderQuery, ProviderResult, SourceIssue } from "../provider";
import { AI_STUDIO_CATALOG } from "./aiStudio.catalog";
import { AiStudioDataSource } from "./aiStudio.datasource";
import { AI_STUDIO_DEMO_KEY, AiStudioEmulator } from "./aiStudio.emulator";
import { toObservations, toRecords } from "./aiStudio.normalize";
import { AiStudioUsage } from "./aiStudio.record";
import { AiStudioSettings } from "./aiStudio.settings";
import { errorBody, MAX_DAYS_PER_CALL } from "./aiStudio.wire";

export class AiStudioProvider implements Provider {
  readonly catalog = AI_STUDIO_CATALOG;
  private readonly source: AiStudioDataSource;

  constructor(settings: AiStudioSettings, deps: ProviderDeps) {
    this.source = new AiStudioDataSource(settings, deps);
  }

  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // AI Studio is treated as counting UTC days; today is still filling up, later days do not exist yet.
    const today = todayIn("UTC", call.now());
    const yesterday = addDays(today, -1);
    const result: ProviderResult = { observations: [], records: [], issues: [], finalizedThrough: yesterday };
    const covered = { from: query.range.from, to: minDate(query.range.to, today) };
    if (covered.from > covered.to) return result;

    // One call covers at most 31 days (assumed); the chunks run side by side and the provider's
    // queue bounds how many are in flight.
    const chunks = chunkRange(covered, MAX_DAYS_PER_CALL);
    const settled = await Promise.allSettled(
      chunks.map((chunk) => this.source.usage(chunk, chunk.to <= yesterday ? TTL.final : TTL.fresh, call)),
    );

    const failures: Array<{ error: UpstreamError; chunk: DateRange }> = [];
    settled.forEach((outcome, i) => {
      const chunk = chunks[i]!;
      if (outcome.status === "rejected") {
        // Our own bugs are not a partial answer: let the service mask them.
        if (!(outcome.reason instanceof UpstreamError)) throw outcome.reason;
        failures.push({ error: outcome.reason, chunk });
        return;
      }
      result.observations.push(...toObservations(outcome.value, chunk, query.metrics, (d) => d <= yesterday));
      if (query.records) result.records.push(...toRecords(outcome.value));
    });
    if (failures.length === chunks.length) throw failures[0]!.error;
    result.issues.push(...failures.map(({ error, chunk }) => issueFor(error, chunk)));
    return result;
  }
}

/** A chunk that failed while others answered: its days are missing, not zero. */
function issueFor(error: UpstreamError, chunk: DateRange): SourceIssue {
  return {
    code: error.code,
    message: `${error.message}; usage for ${chunk.from}..${chunk.to} is missing`,
    ...(error.options.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.options.retryAfterSeconds } : {}),
  };
}

export const aiStudioModule: ProviderModule<AiStudioSettings> = {
  catalog: AI_STUDIO_CATALOG,
  Settings: AiStudioSettings,
  secretFields: ["apiKey"],
  recordTypes: [AiStudioUsage],
  create: (settings, deps) => new AiStudioProvider(settings, deps),
  startEmulator: (options) => new AiStudioEmulator(options).start(),
  demoSettings: (url) => ({ baseUrl: url, apiKey: AI_STUDIO_DEMO_KEY }),
  // The assumed envelope (aiStudio.wire.ts): the vendor document shows none.
  errorSamples: {
    authFailure: { status: 401, body: errorBody("unauthorized", "Missing or invalid API key.") },
    badParameter: { status: 400, body: errorBody("invalid_parameter", "start_date and end_date are required, as yyyy-MM-dd.") },
    rateLimited: { status: 429, body: errorBody("rate_limited", "Too many requests.") },
  },
};
