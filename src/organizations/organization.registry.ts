import type { Logger } from "../common/logger";
import type { UpstreamCache } from "../providers/http/cache";
import type { QueueRegistry } from "../providers/http/queue";
import type { Provider, ProviderKey, UpstreamMetrics } from "../providers/provider";
import { MODULES_BY_KEY } from "../providers/registry";
import type { OrganizationConfig } from "../config/config";

/** An organization with its provider instances, built once at start-up. */
export interface OrganizationRuntime {
  readonly id: string;
  readonly name: string;
  readonly providers: ReadonlyMap<ProviderKey, Provider>;
}

export class OrganizationRegistry {
  private readonly byId = new Map<string, OrganizationRuntime>();

  constructor(organizations: readonly OrganizationConfig[], deps: { cache: UpstreamCache; queues: QueueRegistry; log: Logger; metrics?: UpstreamMetrics }) {
    for (const org of organizations) {
      const providers = new Map<ProviderKey, Provider>();
      for (const [key, settings] of Object.entries(org.providers) as Array<[ProviderKey, never]>) {
        const module = MODULES_BY_KEY.get(key);
        if (!module || !settings) continue;
        providers.set(key, module.create(settings, { organizationId: org.id, cache: deps.cache, queues: deps.queues, log: deps.log, metrics: deps.metrics }));
      }
      this.byId.set(org.id, { id: org.id, name: org.name, providers });
    }
  }

  get(id: string): OrganizationRuntime | undefined {
    return this.byId.get(id);
  }

  all(): OrganizationRuntime[] {
    return [...this.byId.values()];
  }
}
