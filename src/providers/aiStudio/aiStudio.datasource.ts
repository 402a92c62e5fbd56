import type { DateRange } from "../../common/dates";
import { HttpDataSource } from "../http/datasource";
import type { CallContext, ProviderDeps } from "../provider";
import { AI_STUDIO_CATALOG } from "./aiStudio.catalog";
import type { AiStudioSettings } from "./aiStudio.settings";
import { errorCodeOf, parseUsage, usageRequest, type AiStudioUsageBody } from "./aiStudio.wire";

export class AiStudioDataSource extends HttpDataSource {
  constructor(
    private readonly config: AiStudioSettings,
    deps: ProviderDeps,
  ) {
    super(AI_STUDIO_CATALOG, config, config.apiKey, deps);
  }

  protected authorization(): string {
    return `Bearer ${this.config.apiKey}`;
  }

  /** The assumed envelope carries no more than the status says; its code goes to the logs. */
  protected override vendorCode(body: unknown): string | undefined {
    return errorCodeOf(body);
  }

  /** Daily usage over a UTC day range of at most 31 days, as the contract shapes it. */
  usage(range: DateRange, ttlMs: number, call: CallContext): Promise<AiStudioUsageBody> {
    return this.request({ ...usageRequest(range), ttlMs }, call, parseUsage);
  }
}
