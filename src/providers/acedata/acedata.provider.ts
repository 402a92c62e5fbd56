import { addDays, minDate, todayIn, type DateRange } from "../../common/dates";
import { ErrorCode } from "../../common/errors";
import { ttlForUtcDays } from "../http/datasource";
import { answersOf, idsCover, idsUnion, RangeCoalescer } from "../http/range-coalescer";
import type { ProviderModule } from "../module";
import type { CallContext, Provider, ProviderDeps, ProviderQuery, ProviderResult, SourceIssue } from "../provider";
import { ACEDATA_CATALOG } from "./acedata.catalog";
import { AceDataDataSource } from "./acedata.datasource";
import { namedApis, toObservations, toRecords } from "./acedata.normalize";
import { AceDataApiUsage } from "./acedata.record";
import { AceDataSettings } from "./acedata.settings";
import { upstreamApiIds, type AceDataAggregate } from "./acedata.wire";

export class AceDataProvider implements Provider {
  readonly catalog = ACEDATA_CATALOG;
  private readonly source: AceDataDataSource;

  private readonly units: RangeCoalescer<readonly string[], AceDataAggregate>;

  constructor(settings: AceDataSettings, deps: ProviderDeps) {
    this.source = new AceDataDataSource(settings, deps);
    this.units = new RangeCoalescer(`acedata:${deps.organizationId}`, {
      // An unfiltered key needs every API; otherwise the union of the ids asked for. The usage
      // service applies each report's own `where` again, so a wider answer is never shown as is.
      mergeFilters: idsUnion,
      covers: idsCover,
      fetch: (range, ids, owner) => this.source.aggregate(range, ids, ttlForUtcDays(range, owner), owner),
      keepFor: ttlForUtcDays,
      joinGapsUpToDays: 366,
    });
  }

  async fetch(query: ProviderQuery, call: CallContext): Promise<ProviderResult> {
    // Ace Data counts UTC days; today is still filling up and later days do not exist yet.
    const today = todayIn("UTC", call.now());
    const yesterday = addDays(today, -1);
    const covered = { from: query.range.from, to: minDate(query.range.to, today) };
    const empty: ProviderResult = { observations: [], records: [], issues: [], finalizedThrough: yesterday };
    if (covered.from > covered.to) return empty;

    const asked = query.where.find((f) => f.key === "api")?.in ?? [];
    const units = await this.units.load({ range: covered, filter: upstreamApiIds(asked), call });
    const answers = answersOf(units);
    const agg = mergeAggregates(answers);
    const issues: SourceIssue[] = [];
    const missing = unnamed(asked, agg);
    if (missing.length > 0) issues.push(missingApis(missing, covered));
    if (answers.some((u) => !u.answer.totalMatchesRows)) {
      issues.push({
        code: ErrorCode.UPSTREAM_PARTIAL_DATA,
        message: "Ace Data Cloud's total differs from the sum of the rows it listed: rows may be missing, so the credits shown may be incomplete",
      });
    }
    return {
      observations: toObservations(agg, covered, (d) => d <= yesterday),
      records: query.records ? toRecords(agg, covered) : [],
      issues,
      finalizedThrough: yesterday,
    };
  }
}

/**
 * The APIs asked for by `where` that the answer does not name. The aggregate has rows only for
 * (day, API) pairs with spend, and its API map is documented as the names of the APIs it shows:
 * an API that spent nothing in the range and an id Ace Data does not know look the same (absent
 * from both). Such an API is reported, never shown as 0. One the answer does name (in its API map,
 * without rows) is known to have spent nothing: its zeros are real.
 */
function unnamed(asked: readonly string[], agg: AceDataAggregate): string[] {
  const named = namedApis(agg);
  return [...new Set(asked)].filter((id) => !named.has(id));
}

function missingApis(ids: readonly string[], covered: DateRange): SourceIssue {
  const shown = ids.slice(0, 5).map((id) => JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id));
  const list = ids.length > 5 ? `${shown.join(", ")} and ${ids.length - 5} more` : shown.join(", ");
  const one = ids.length === 1;
  return {
    code: ErrorCode.UPSTREAM_PARTIAL_DATA,
    message:
      `${one ? "the API" : "APIs"} ${list} asked for in where ${one ? "was" : "were"} not in Ace Data Cloud's answer for ${covered.from}..${covered.to}: ` +
      `${one ? "it" : "each"} either spent nothing in that range or is not an Ace Data API id (where matches API ids); no numbers are shown for ${one ? "it" : "them"}`,
  };
}

/** The days each unit serves, from its answer, as one aggregate. */
function mergeAggregates(units: ReadonlyArray<{ use: DateRange; answer: AceDataAggregate }>): AceDataAggregate {
  return {
    rows: units.flatMap(({ use, answer }) => answer.rows.filter((r) => r.date >= use.from && r.date <= use.to)),
    apis: Object.assign({}, ...units.map((u) => u.answer.apis)),
    totalMatchesRows: units.every((u) => u.answer.totalMatchesRows),
  };
}

export const acedataModule: ProviderModule<AceDataSettings> = {
  catalog: ACEDATA_CATALOG,
  Settings: AceDataSettings,
  secretFields: ["token"],
  recordTypes: [AceDataApiUsage],
  create: (settings, deps) => new AceDataProvider(settings, deps),
};
