import { addDays, minDate, todayIn } from "../../common/dates";
import { TTL } from "../http/datasource";
import { answersOf, rangeLoader } from "../http/range-loader";
import type { ProviderModule } from "../module";
import type { CallContext, Provider, ProviderDeps, ProviderQuery, ProviderResult } from "../provider";
import { ACEDATA_CATALOG } from "./acedata.catalog";
import { AceDataDataSource } from "./acedata.datasource";
import { ACEDATA_DEMO_TOKEN, AceDataEmulator } from "./acedata.emulator";
import { toObservations, toRecords } from "./acedata.normalize";
import { AceDataApiUsage } from "./acedata.record";
import { AceDataSettings } from "./acedata.settings";
import type { AceDataAggregate } from "./acedata.wire";

export class AceDataProvider implements Provider {
  readonly catalog = ACEDATA_CATALOG;
  private readonly source: AceDataDataSource;

  private readonly loaderName: string;

  constructor(settings: AceDataSettings, deps: ProviderDeps) {
    this.source = new AceDataDataSource(settings, deps);
    this.loaderName = `acedata:${deps.organizationId}`;
  }

  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // Ace Data counts UTC days; today is still filling up and later days do not exist yet.
    const today = todayIn("UTC", call.now());
    const yesterday = addDays(today, -1);
    const covered = { from: query.range.from, to: minDate(query.range.to, today) };
    const empty: ProviderResult = { observations: [], records: [], issues: [], finalizedThrough: yesterday };
    if (covered.from > covered.to) return empty;

    const apiIds = query.where.find((f) => f.key === "api")?.in ?? [];
    const units = await rangeLoader<readonly string[], AceDataAggregate>(call, this.loaderName, {
      // An unfiltered key needs every API; otherwise the union of the ids asked for. The usage
      // service applies each report's own `where` again, so a wider answer is never shown as is.
      mergeFilters: (filters) => (filters.some((f) => f.length === 0) ? [] : [...new Set(filters.flat())].sort()),
      fetch: (range, ids, owner) => this.source.aggregate(range, ids, range.to <= yesterday ? TTL.final : TTL.fresh, owner),
    }).load({ range: covered, filter: apiIds, call });
    const agg = mergeAggregates(answersOf(units).map((u) => u.answer));
    return {
      observations: toObservations(agg, covered, (d) => d <= yesterday),
      records: query.records ? toRecords(agg, covered) : [],
      issues: [],
      finalizedThrough: yesterday,
    };
  }
}

/** Answers of disjoint ranges as one aggregate. */
function mergeAggregates(answers: readonly AceDataAggregate[]): AceDataAggregate {
  if (answers.length === 1) return answers[0]!;
  return {
    rows: answers.flatMap((a) => a.rows),
    total: answers.reduce((t, a) => t + a.total, 0),
    apis: Object.assign({}, ...answers.map((a) => a.apis)),
  };
}

export const acedataModule: ProviderModule<AceDataSettings> = {
  catalog: ACEDATA_CATALOG,
  Settings: AceDataSettings,
  secretFields: ["token"],
  recordTypes: [AceDataApiUsage],
  create: (settings, deps) => new AceDataProvider(settings, deps),
  startEmulator: (options) => new AceDataEmulator(options).start(),
  demoSettings: (url) => ({ baseUrl: url, token: ACEDATA_DEMO_TOKEN }),
  errorSamples: {
    authFailure: { status: 401, body: { error: { code: "invalid_token", message: "Invalid token." }, trace_id: "t-401" } },
    badParameter: { status: 400, body: { error: { code: "invalid_parameter", message: "created_at_from is invalid" }, trace_id: "t-400" } },
    rateLimited: { status: 429, body: { error: { code: "too_many_requests", message: "Rate limit exceeded." }, trace_id: "t-429" } },
  },
};
