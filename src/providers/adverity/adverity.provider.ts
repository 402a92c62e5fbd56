import { addDays, minDate, todayIn } from "../../common/dates";
import { TTL } from "../http/datasource";
import { answersOf, idsCover, idsUnion, RangeCoalescer } from "../http/range-loader";
import type { ProviderModule } from "../module";
import type { CallContext, Provider, ProviderDeps, ProviderQuery, ProviderResult } from "../provider";
import { ADVERITY_CATALOG } from "./adverity.catalog";
import { AdverityDataSource } from "./adverity.datasource";
import { ADVERITY_DEMO_KEY, AdverityEmulator } from "./adverity.emulator";
import { isWholeMonths, NO_DATASTREAM, select, toObservations, toRecords } from "./adverity.normalize";
import { AdverityRowUsage } from "./adverity.record";
import { AdveritySettings } from "./adverity.settings";
import type { AdverityGranularity, AdverityUsageItem } from "./adverity.wire";

type Filter = { workspaceIds: readonly string[]; datastreamIds: readonly string[] };

export class AdverityProvider implements Provider {
  readonly catalog = ADVERITY_CATALOG;
  private readonly source: AdverityDataSource;

  private readonly units: Record<AdverityGranularity, RangeCoalescer<Filter, AdverityUsageItem[]>>;

  constructor(settings: AdveritySettings, deps: ProviderDeps) {
    this.source = new AdverityDataSource(settings, deps);
    const coalescer = (granularity: AdverityGranularity) =>
      new RangeCoalescer<Filter, AdverityUsageItem[]>(`adverity:${deps.organizationId}:${granularity}`, {
        // Per dimension: the union of the ids asked for, or everything when a report asked for all.
        // That answer holds every report's rows; each report keeps its own below and in the service.
        mergeFilters: (filters) => ({
          workspaceIds: idsUnion(filters.map((f) => f.workspaceIds)),
          datastreamIds: idsUnion(filters.map((f) => f.datastreamIds)),
        }),
        covers: (unit, key) => idsCover(unit.workspaceIds, key.workspaceIds) && idsCover(unit.datastreamIds, key.datastreamIds),
        fetch: (range, filter, owner) => this.source.usage({ granularity, range, ...filter }, TTL.final, owner),
        // Every day the vendor returns is final (today is never returned).
        keepFor: () => TTL.final,
      });
    this.units = { daily: coalescer("daily"), monthly: coalescer("monthly") };
  }

  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // The vendor serves UTC days up to yesterday, all finalized; today never is.
    const yesterday = addDays(todayIn("UTC", call.now()), -1);
    const covered = { from: query.range.from, to: minDate(query.range.to, yesterday) };
    const empty: ProviderResult = { observations: [], records: [], issues: [], finalizedThrough: yesterday };
    if (covered.from > covered.to || query.where.some((f) => f.in.length === 0)) return empty;

    // A monthly item is dated the first of its month even when the range cuts the month: only whole
    // months may be asked for monthly, and only when the caller rolls up to months or more anyway.
    const coarse = query.granularity === "MONTH" || query.granularity === "TOTAL";
    const granularity = coarse && isWholeMonths(covered) ? "monthly" : "daily";
    const workspaceIds = query.where.find((f) => f.key === "workspace")?.in ?? [];
    // datastream_id cannot ask for the unattributed rows: with "(none)" in the filter, filter locally only.
    const datastreams = query.where.find((f) => f.key === "datastream")?.in ?? [];
    const datastreamIds = datastreams.includes(NO_DATASTREAM) ? [] : datastreams;

    const units = await this.units[granularity].loader(call).load({ range: covered, filter: { workspaceIds, datastreamIds }, call });
    const items = answersOf(units).flatMap(({ use, answer }) => answer.filter((i) => i.date >= use.from && i.date <= use.to));
    // Filtered again here: the vendor ignores unknown ids, and "(none)" was not sent at all.
    const selected = select(items, granularity, covered, query.where);
    return {
      observations: toObservations(selected, granularity, covered, query.metrics),
      records: query.records ? toRecords(selected, granularity) : [],
      issues: [],
      finalizedThrough: yesterday,
    };
  }
}

export const adverityModule: ProviderModule<AdveritySettings> = {
  catalog: ADVERITY_CATALOG,
  Settings: AdveritySettings,
  secretFields: ["apiKey"],
  recordTypes: [AdverityRowUsage],
  create: (settings, deps) => new AdverityProvider(settings, deps),
  startEmulator: (options) => new AdverityEmulator(options).start(),
  demoSettings: (url) => ({ baseUrl: url, apiKey: ADVERITY_DEMO_KEY, authScheme: "Token" }),
  errorSamples: {
    authFailure: { status: 401, body: { detail: "Invalid token." } },
    badParameter: { status: 400, body: { detail: "date_from: Enter a valid date." } },
    rateLimited: { status: 429, body: { detail: "Request was throttled." } },
  },
};
