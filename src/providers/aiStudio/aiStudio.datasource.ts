import type { DateRange } from "../../common/dates";
import type { UpstreamError } from "../../common/errors";
import { HttpDataSource, type UpstreamResponse } from "../http/datasource";
import type { CallContext, ProviderDeps } from "../provider";
import { AI_STUDIO_CATALOG } from "./aiStudio.catalog";
import type { AiStudioSettings } from "./aiStudio.settings";
import { errorCodeOf, parseUsage, usageRequest, type AiStudioUsageBody } from "./aiStudio.wire";

export class AiStudioDataSource extends HttpDataSource {
  constructor(private readonly config: AiStudioSettings, deps: ProviderDeps) {
    super(AI_STUDIO_CATALOG, config, config.apiKey, deps);
  }

  protected authorization(): string {
    return `Bearer ${this.config.apiKey}`;
  }

  /** The assumed envelope carries no more than the status says; its code goes to the logs. */
  protected override errorFor(res: UpstreamResponse): UpstreamError | undefined {
    const error = super.errorFor(res);
    if (error && error.options.vendorCode === undefined) error.options.vendorCode = errorCodeOf(res.json);
    return error;
  }

  /** Daily usage over a UTC day range of at most 31 days, as the contract shapes it. */
  usage(range: DateRange, ttlMs: number, call: CallContext): Promise<AiStudioUsageBody> {
    return this.request({ ...usageRequest(range), ttlMs }, call, parseUsage);
  }
}
