import { addDays, minDate, todayIn } from "../../common/dates";
import { TTL } from "../http/datasource";
import type { ProviderModule } from "../module";
import type { CallContext, Provider, ProviderDeps, ProviderQuery, ProviderResult } from "../provider";
import { ACEDATA_CATALOG } from "./acedata.catalog";
import { AceDataDataSource } from "./acedata.datasource";
import { ACEDATA_DEMO_TOKEN, AceDataEmulator } from "./acedata.emulator";
import { toObservations, toRecords } from "./acedata.normalize";
import { AceDataApiUsage } from "./acedata.record";
import { AceDataSettings } from "./acedata.settings";

export class AceDataProvider implements Provider {
  readonly catalog = ACEDATA_CATALOG;
  private readonly source: AceDataDataSource;

  constructor(settings: AceDataSettings, deps: ProviderDeps) {
    this.source = new AceDataDataSource(settings, deps);
  }

  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // Ace Data counts UTC days; today is still filling up and later days do not exist yet.
    const today = todayIn("UTC", call.now());
    const yesterday = addDays(today, -1);
    const covered = { from: query.range.from, to: minDate(query.range.to, today) };
    const empty: ProviderResult = { observations: [], records: [], issues: [], finalizedThrough: yesterday };
    if (covered.from > covered.to) return empty;

    const apiIds = query.where.find((f) => f.key === "api")?.in ?? [];
    const ttlMs = covered.to <= yesterday ? TTL.final : TTL.fresh;
    const agg = await this.source.aggregate(covered, apiIds, ttlMs, call);
    return {
      observations: toObservations(agg, covered, (d) => d <= yesterday),
      records: query.records ? toRecords(agg, covered) : [],
      issues: [],
      finalizedThrough: yesterday,
    };
  }
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
