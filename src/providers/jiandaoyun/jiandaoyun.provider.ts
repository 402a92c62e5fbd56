import { addDays, daysInRange, eachDay, maxDate, minDate, todayAtOffset, type CalendarDate } from "../../common/dates";
import { ErrorCode, UpstreamError } from "../../common/errors";
import { TTL } from "../http/datasource";
import type { ProviderModule } from "../module";
import type { CallContext, Provider, ProviderDeps, ProviderQuery, ProviderResult, SourceIssue } from "../provider";
import { JIANDAOYUN_CATALOG, RETENTION_DAYS } from "./jiandaoyun.catalog";
import { JiandaoyunDataSource } from "./jiandaoyun.datasource";
import { toObservations, toRecords } from "./jiandaoyun.normalize";
import { JiandaoyunResourceUsage } from "./jiandaoyun.record";
import { JiandaoyunSettings } from "./jiandaoyun.settings";
import { allZero, type OverviewBody } from "./jiandaoyun.wire";

export class JiandaoyunProvider implements Provider {
  readonly catalog = JIANDAOYUN_CATALOG;
  private readonly source: JiandaoyunDataSource;

  constructor(settings: JiandaoyunSettings, deps: ProviderDeps) {
    this.source = new JiandaoyunDataSource(settings, deps);
  }

  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // Jiandaoyun's days are UTC+8 days: a day is published at T-1, and the document calls it closed
    // then; we count it final only from T-2, in case the day is still settling when first published.
    const today = todayAtOffset(8, call.now());
    const yesterday = addDays(today, -1);
    const finalizedThrough = addDays(today, -2);
    const oldest = addDays(today, -RETENTION_DAYS);
    const { from, to } = query.range;

    const skipped: SourceIssue[] = [];
    if (to > yesterday) {
      const n = daysInRange(maxDate(from, today), to);
      skipped.push({
        code: ErrorCode.OUT_OF_RETENTION,
        message: `${n} ${days(n)} after ${yesterday} ${n === 1 ? "is" : "are"} not available yet: Jiandaoyun publishes a day at T-1 (UTC+8)`,
      });
    }
    if (from < oldest) {
      const n = daysInRange(from, minDate(to, addDays(oldest, -1)));
      skipped.push({
        code: ErrorCode.OUT_OF_RETENTION,
        message: `${n} ${days(n)} before ${oldest} ${n === 1 ? "is" : "are"} older than Jiandaoyun's ${RETENTION_DAYS}-day retention`,
      });
    }

    const first = maxDate(from, oldest);
    const last = minDate(to, yesterday);
    const asked = first <= last ? eachDay(first, last) : [];
    // One call per day, all at once: the credential's queue paces them at the documented rate.
    const settled = await Promise.allSettled(asked.map((d) => this.source.overview(d, d <= finalizedThrough ? TTL.final : TTL.fresh, call)));

    const overviews: OverviewBody[] = [];
    const failed: Array<{ date: CalendarDate; error: UpstreamError }> = [];
    settled.forEach((s, i) => {
      if (s.status === "fulfilled") overviews.push(s.value);
      else if (s.reason instanceof UpstreamError) failed.push({ date: asked[i]!, error: s.reason });
      else throw s.reason;
    });
    const firstFailure = failed[0];
    if (firstFailure && overviews.length === 0) throw firstFailure.error;

    const issues: SourceIssue[] = [];
    if (firstFailure) {
      const { code, message, options } = firstFailure.error;
      issues.push({
        code,
        message: `${message}; ${failed.length} of ${asked.length} days could not be read (${listDays(failed.map((f) => f.date))})`,
        ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {}),
      });
    }
    // The vendor answers 0 for every metric when the company never enabled usage statistics: such a
    // day is served as the vendor gave it, but flagged, since its zeros may mean "not counted".
    const zeroDays = overviews
      .filter(allZero)
      .map((o) => o.date)
      .sort();
    if (zeroDays.length > 0) {
      const n = zeroDays.length;
      issues.push({
        code: ErrorCode.UPSTREAM_PARTIAL_DATA,
        message:
          `Jiandaoyun reported every metric as 0 on ${n} ${days(n)} (${listDays(zeroDays)}): usage statistics may not be enabled for the company ` +
          "(Admin Console > Management Tools > Usage Statistics); until it is, the vendor answers 0",
      });
    }
    issues.push(...skipped);

    const isFinal = (d: CalendarDate) => d <= finalizedThrough;
    return {
      observations: toObservations(overviews, query.metrics, isFinal),
      records: query.records ? toRecords(overviews) : [],
      issues,
      finalizedThrough,
    };
  }
}

const days = (n: number) => (n === 1 ? "day" : "days");

function listDays(dates: readonly CalendarDate[]): string {
  return dates.length <= 5 ? dates.join(", ") : `${dates.slice(0, 5).join(", ")} and ${dates.length - 5} more`;
}

export const jiandaoyunModule: ProviderModule<JiandaoyunSettings> = {
  catalog: JIANDAOYUN_CATALOG,
  Settings: JiandaoyunSettings,
  secretFields: ["apiKey"],
  recordTypes: [JiandaoyunResourceUsage],
  create: (settings, deps) => new JiandaoyunProvider(settings, deps),
};
