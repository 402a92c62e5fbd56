import { monthStart, type DateRange } from "../../common/dates";
import { badResponse, HttpDataSource } from "../http/datasource";
import type { CallContext, ProviderDeps } from "../provider";
import { ADVERITY_CATALOG } from "./adverity.catalog";
import type { AdveritySettings } from "./adverity.settings";
import { bucketKey, MAX_PAGE_SIZE, parseUsagePage, USAGE_PATH, type AdverityGranularity, type AdverityUsageItem } from "./adverity.wire";

export interface AdverityUsageQuery {
  granularity: AdverityGranularity;
  /** Days the vendor has: never after yesterday (UTC). */
  range: DateRange;
  /** Upstream filters; empty = all. Never an empty id (the contract's ids have at least one character). */
  workspaceIds: readonly string[];
  datastreamIds: readonly string[];
}

export class AdverityDataSource extends HttpDataSource {
  constructor(
    private readonly config: AdveritySettings,
    deps: ProviderDeps,
  ) {
    super(ADVERITY_CATALOG, config, config.apiKey, deps);
  }

  protected authorization(): string {
    return `${this.config.authScheme} ${this.config.apiKey}`;
  }

  /**
   * Every item of a usage query, read page after page (the queue keeps one call in flight, as the
   * vendor asks). Pages are cached one by one, so a cached first page and a fresh later one can
   * disagree if the vendor ever restates its data: then the pages are read once more, uncached,
   * before the answer is called inconsistent.
   *
   * The vendor serves finalized data: pages of closed days are cached as final. A period they list
   * nothing for stays unknown (adverity.wire.ts), reported as such by the provider on every report
   * that covers it, never turned into a zero.
   */
  async usage(query: AdverityUsageQuery, ttlMs: number, call: CallContext): Promise<AdverityUsageItem[]> {
    let items = await this.allPages(query, ttlMs, call);
    if (!items && ttlMs > 0) items = await this.allPages(query, 0, call);
    if (!items) return badResponse(this.catalog.name, "its pages do not add up to the count they report, or repeat an item");
    return items;
  }

  /** The items of all pages, or undefined when page sizes, counts or buckets do not agree. */
  private async allPages(query: AdverityUsageQuery, ttlMs: number, call: CallContext): Promise<AdverityUsageItem[] | undefined> {
    const items: AdverityUsageItem[] = [];
    const buckets = new Set<string>();
    let count: number | undefined;
    for (let page = 1; count === undefined || items.length < count; page++) {
      const body = await this.request({ method: "GET", path: USAGE_PATH, query: this.params(query, page), ttlMs }, call, parseUsagePage);
      count ??= body.count;
      // Every page but the last is full and the last holds the rest: a page that is short, long or
      // counts differently means the pages were read from different states of the vendor's data.
      if (body.count !== count || body.items.length !== Math.min(MAX_PAGE_SIZE, count - items.length)) return undefined;
      for (const item of body.items) {
        if (query.granularity === "monthly" && item.date !== monthStart(item.date)) {
          badResponse(this.catalog.name, "a monthly item not dated the first day of its month");
        }
        const key = bucketKey(item);
        if (buckets.has(key)) return undefined;
        buckets.add(key);
        items.push(item);
      }
    }
    return items;
  }

  private params(query: AdverityUsageQuery, page: number): Array<[string, string]> {
    const params: Array<[string, string]> = [
      ["granularity", query.granularity],
      ["date_from", query.range.from],
      ["date_to", query.range.to],
    ];
    for (const id of [...query.workspaceIds].sort()) params.push(["workspace_id", id]);
    for (const id of [...query.datastreamIds].sort()) params.push(["datastream_id", id]);
    params.push(["page", String(page)], ["page_size", String(MAX_PAGE_SIZE)]);
    return params;
  }
}
