import { addDays, daysInRange, minDate, todayIn, type DateRange } from "../../common/dates";
import { ErrorCode, UpstreamError } from "../../common/errors";
import { ttlForUtcDays } from "../http/datasource";
import { RangeCoalescer } from "../http/range-coalescer";
import type { ProviderModule } from "../module";
import type { CallContext, Provider, ProviderDeps, ProviderQuery, ProviderResult, SourceIssue } from "../provider";
import { AI_STUDIO_CATALOG } from "./aiStudio.catalog";
import { AiStudioDataSource } from "./aiStudio.datasource";
import { toObservations, toRecords, unheldDays } from "./aiStudio.normalize";
import { AiStudioUsage } from "./aiStudio.record";
import { AiStudioSettings } from "./aiStudio.settings";
import { MAX_DAYS_PER_CALL, totalsDisagreeing, type AiStudioUsageBody } from "./aiStudio.wire";

export class AiStudioProvider implements Provider {
  readonly catalog = AI_STUDIO_CATALOG;
  private readonly source: AiStudioDataSource;

  private readonly units: RangeCoalescer<null, AiStudioUsageBody>;

  constructor(settings: AiStudioSettings, deps: ProviderDeps) {
    this.source = new AiStudioDataSource(settings, deps);
    // One call covers at most 31 days (assumed): the coalescer merges the ranges that reports ask
    // for at about the same time, cuts the union into 31-day units and runs them side by side; the
    // provider's queue bounds how many are in flight.
    this.units = new RangeCoalescer(`aiStudio:${deps.organizationId}`, {
      mergeFilters: () => null,
      covers: () => true,
      fetch: (range, _none, owner) => this.source.usage(range, ttlForUtcDays(range, owner), owner),
      keepFor: ttlForUtcDays,
      maxDays: MAX_DAYS_PER_CALL,
      joinGapsUpToDays: MAX_DAYS_PER_CALL,
    });
  }

  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // AI Studio is treated as counting UTC days; today is still filling up, later days do not exist yet.
    const today = todayIn("UTC", call.now());
    const yesterday = addDays(today, -1);
    const result: ProviderResult = { observations: [], records: [], issues: [], finalizedThrough: yesterday };
    const covered = { from: query.range.from, to: minDate(query.range.to, today) };
    if (covered.from > covered.to) return result;

    // One call covers at most 31 days (assumed). The per-request loader merges this range with the
    // other reports' ranges of the same request, cuts the union into 31-day units and runs them side
    // by side; the provider's queue bounds how many are in flight.
    const units = await this.units.load({ range: covered, filter: null, call });

    const failures: Array<{ error: UpstreamError; chunk: DateRange }> = [];
    let unheld = 0;
    const disagreeing: DateRange[] = [];
    for (const unit of units) {
      // A unit may reach beyond this report's range: only the days it serves are read from it.
      const chunk = unit.use;
      if (!unit.ok) {
        // Our own bugs are not a partial answer: let the service mask them.
        if (!(unit.error instanceof UpstreamError)) throw unit.error;
        failures.push({ error: unit.error, chunk });
        continue;
      }
      // The answer's period may not be the range asked for: whatever it says, the rows it has for
      // the asked days are served and the asked days it has no row for are missing.
      result.observations.push(...toObservations(unit.answer, chunk, query.metrics, (d) => d <= yesterday));
      if (query.records) result.records.push(...toRecords(unit.answer, chunk));
      unheld += unheldDays(unit.answer, chunk).length;
      if (totalsDisagreeing(unit.answer).length > 0) disagreeing.push(unit.range);
    }
    if (failures.length === units.length) throw failures[0]!.error;
    result.issues.push(...failures.map(({ error, chunk }) => issueFor(error, chunk)));
    if (unheld > 0) {
      const asked = daysInRange(covered.from, covered.to);
      result.issues.push({
        code: ErrorCode.UPSTREAM_PARTIAL_DATA,
        message: `AI Studio answered without a row for ${unheld} of the ${asked} day${asked === 1 ? "" : "s"} of ${covered.from}..${covered.to}: their usage is missing, not 0`,
      });
    }
    for (const range of disagreeing) {
      result.issues.push({
        code: ErrorCode.UPSTREAM_PARTIAL_DATA,
        message: `AI Studio's totals for ${range.from}..${range.to} disagree with its daily rows: the daily rows are the numbers served`,
      });
    }
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
};
