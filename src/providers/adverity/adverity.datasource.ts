import type { DateRange } from "../../common/dates";
import { badResponse, HttpDataSource } from "../http/datasource";
import type { CallContext, ProviderDeps } from "../provider";
import { ADVERITY_CATALOG } from "./adverity.catalog";
import type { AdveritySettings } from "./adverity.settings";
import { MAX_PAGE_SIZE, parseUsagePage, type AdverityGranularity, type AdverityUsageItem } from "./adverity.wire";

export interface AdverityUsageQuery {
  granularity: AdverityGranularity;
  /** Days the vendor has: never after yesterday (UTC). */
  range: DateRange;
  /** Upstream filters; empty = all. */
  workspaceIds: readonly string[];
  datastreamIds: readonly string[];
}

export class AdverityDataSource extends HttpDataSource {
  constructor(private readonly config: AdveritySettings, deps: ProviderDeps) {
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
   */
  async usage(query: AdverityUsageQuery, ttlMs: number, call: CallContext): Promise<AdverityUsageItem[]> {
    let items = await this.allPages(query, ttlMs, call);
    if (!items && ttlMs > 0) items = await this.allPages(query, 0, call);
    return items ?? badResponse(this.catalog.name, "the pages do not add up to the count they report");
  }

  /** The items of all pages, or undefined when page sizes, counts or buckets do not agree. */
  private async allPages(query: AdverityUsageQuery, ttlMs: number, call: CallContext): Promise<AdverityUsageItem[] | undefined> {
    const items: AdverityUsageItem[] = [];
    let count: number | undefined;
    for (let page = 1; count === undefined || items.length < count; page++) {
      const body = await this.request({ method: "GET", path: "/api/v1/usage/", query: this.params(query, page), ttlMs }, call, parseUsagePage);
      count ??= body.count;
      if (body.count !== count || (body.items.length === 0 && count > 0)) return undefined;
      items.push(...body.items);
    }
    const buckets = new Set(items.map((i) => `${i.date}|${i.workspace_id}|${i.datastream_id}`));
    return items.length === count && buckets.size === count ? items : undefined;
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
