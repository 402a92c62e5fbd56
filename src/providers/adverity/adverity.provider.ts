import { addDays, minDate, todayIn, type DateRange } from "../../common/dates";
import { ErrorCode } from "../../common/errors";
import { TTL } from "../http/datasource";
import { answersOf, idsCover, idsUnion, RangeCoalescer } from "../http/range-coalescer";
import type { ProviderModule } from "../module";
import type { CallContext, DimensionKey, Provider, ProviderDeps, ProviderQuery, ProviderResult, SourceIssue } from "../provider";
import { ADVERITY_CATALOG } from "./adverity.catalog";
import { AdverityDataSource } from "./adverity.datasource";
import { isWholeMonths, NO_DATASTREAM, select, toObservations, toRecords } from "./adverity.normalize";
import { AdverityRowUsage } from "./adverity.record";
import { AdveritySettings } from "./adverity.settings";
import { periodStart, unheldPeriods, type AdverityGranularity, type AdverityUsageItem } from "./adverity.wire";

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
        // Every day the vendor returns is final (today is never returned); the periods an answer
        // does not hold are asked again by the datasource once its pages come from the cache.
        keepFor: () => TTL.final,
      });
    this.units = { daily: coalescer("daily"), monthly: coalescer("monthly") };
  }

  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // The vendor serves UTC days up to yesterday, all finalized; today never is.
    const yesterday = addDays(todayIn("UTC", call.now()), -1);
    const covered = { from: query.range.from, to: minDate(query.range.to, yesterday) };
    const empty: ProviderResult = { observations: [], records: [], issues: [], finalizedThrough: yesterday };
    // A filter naming no id, or only the empty id no item has, matches nothing: nothing to ask.
    if (covered.from > covered.to || query.where.some((f) => f.in.every((id) => id === ""))) return empty;

    // A monthly item is dated the first of its month even when the range cuts the month: only whole
    // months may be asked for monthly, and only when the caller rolls up to months or more anyway.
    const coarse = query.granularity === "MONTH" || query.granularity === "TOTAL";
    const granularity = coarse && isWholeMonths(covered) ? "monthly" : "daily";
    const workspaceIds = upstreamIds(query, "workspace");
    // datastream_id cannot ask for the unattributed rows: with "(none)" in the filter, filter locally only.
    const datastreams = upstreamIds(query, "datastream");
    const datastreamIds = datastreams.includes(NO_DATASTREAM) ? [] : datastreams;
    const filter = { workspaceIds, datastreamIds };

    const units = await this.units[granularity].load({ range: covered, filter, call });
    const items: AdverityUsageItem[] = [];
    let unheld = 0;
    for (const { use, answer } of answersOf(units)) {
      const served = answer.filter((i) => periodStart(i, granularity) >= use.from && periodStart(i, granularity) <= use.to);
      items.push(...served);
      // Judged on the items this report's own upstream filter asks for, so that a unit shared with
      // another report's wider filter does not change what this report holds.
      unheld += unheldPeriods(
        served.filter((i) => passes(i, filter)),
        granularity,
        use,
      ).length;
    }
    // Filtered again here: the vendor ignores unknown ids, and "(none)" was not sent at all.
    const selected = select(items, granularity, covered, query.where);
    return {
      observations: toObservations(selected, granularity, query.metrics, yesterday),
      records: query.records ? toRecords(selected, granularity) : [],
      issues: unheld > 0 ? [unheldIssue(unheld, granularity, covered)] : [],
      finalizedThrough: yesterday,
    };
  }
}

/** The ids of a `where` filter that can go upstream (the contract's ids are never empty). */
function upstreamIds(query: ProviderQuery, key: DimensionKey): string[] {
  return (query.where.find((f) => f.key === key)?.in ?? []).filter((id) => id !== "");
}

/** Whether the vendor would list an item for a query with this upstream filter. */
function passes(item: AdverityUsageItem, filter: Filter): boolean {
  return (
    (filter.workspaceIds.length === 0 || filter.workspaceIds.includes(item.workspace_id)) &&
    (filter.datastreamIds.length === 0 || (item.datastream_id !== null && filter.datastreamIds.includes(item.datastream_id)))
  );
}

/** Days (or months) the vendor listed nothing for: unknown, so missing, not 0 (adverity.wire.ts). */
function unheldIssue(count: number, granularity: AdverityGranularity, covered: DateRange): SourceIssue {
  const unit = granularity === "monthly" ? "month" : "day";
  return {
    code: ErrorCode.UPSTREAM_PARTIAL_DATA,
    message: `Adverity listed no rows for ${count} ${unit}${count === 1 ? "" : "s"} of ${covered.from}..${covered.to}: their usage is unknown, reported missing, not 0`,
  };
}

export const adverityModule: ProviderModule<AdveritySettings> = {
  catalog: ADVERITY_CATALOG,
  Settings: AdveritySettings,
  secretFields: ["apiKey"],
  recordTypes: [AdverityRowUsage],
  create: (settings, deps) => new AdverityProvider(settings, deps),
};
