import { Query, Resolver } from "type-graphql";
import { PROVIDER_MODULES } from "../providers/registry";
import { toMetric } from "../usage/usage.service";
import { DimensionInfo, ProviderInfo, RateLimitInfo } from "./provider-info.type";

@Resolver(() => ProviderInfo)
export class ProviderResolver {
  @Query(() => [ProviderInfo], { description: "Catalog: every provider with its metrics, units, kinds, resolution, retention and limits." })
  providers(): ProviderInfo[] {
    return PROVIDER_MODULES.map(({ catalog: c }) =>
      Object.assign(new ProviderInfo(), {
        id: c.id,
        key: c.key,
        name: c.name,
        vendor: c.vendor,
        metrics: c.metrics.map(toMetric),
        dimensions: c.dimensions.map((d) => Object.assign(new DimensionInfo(), d)),
        resolution: c.resolution,
        timeZone: c.timeZone,
        retentionDays: c.retentionDays,
        finalizationLagDays: c.finalizationLagDays,
        rateLimit: Object.assign(new RateLimitInfo(), c.rateLimit),
        maxDaysPerCall: c.maxDaysPerCall,
        notes: [...c.notes],
      }),
    );
  }
}
