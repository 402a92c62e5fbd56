import type { DateRange } from "../../common/dates";
import { HttpDataSource } from "../http/datasource";
import type { CallContext, ProviderDeps } from "../provider";
import { ACEDATA_CATALOG } from "./acedata.catalog";
import type { AceDataSettings } from "./acedata.settings";
import { aggregateQuery, errorCodeOf, parseAggregate, type AceDataAggregate } from "./acedata.wire";

export class AceDataDataSource extends HttpDataSource {
  constructor(
    private readonly config: AceDataSettings,
    deps: ProviderDeps,
  ) {
    super(ACEDATA_CATALOG, config, config.token, deps);
  }

  protected authorization(): string {
    return `Bearer ${this.config.token}`;
  }

  protected override vendorCode(body: unknown): string | undefined {
    return errorCodeOf(body);
  }

  /** Spend per UTC day and API over a day range, optionally for some APIs only. */
  aggregate(range: DateRange, apiIds: readonly string[], ttlMs: number, call: CallContext): Promise<AceDataAggregate> {
    const query = aggregateQuery(range, apiIds, this.config.applicationId);
    return this.request({ method: "GET", path: "/api/v1/usage/apis/aggregate/", query, ttlMs }, call, (body) => parseAggregate(body, range));
  }
}
