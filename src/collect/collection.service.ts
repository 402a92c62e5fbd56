import type { CalendarDate } from "../common/dates";
import type { CollectConfig } from "../config/config";
import type { OrganizationRuntime } from "../organizations/organization.registry";
import { PROVIDER_MODULES } from "../providers/registry";
import type { ProviderId } from "../providers/provider";
import type { CollectionRun, UsageStore } from "../store/store";
import { SourceState } from "../usage/usage.model";
import { nextRunAt } from "./collection.schedule";
import type { Collector } from "./collector";

/** What `Organization.collection` shows of one configured provider (DESIGN §6). */
export interface CollectionStatus {
  provider: ProviderId;
  /** First and last day the store holds as final, and how many days it holds (any report shape). */
  storedFrom: CalendarDate | null;
  storedThrough: CalendarDate | null;
  storedDays: number;
  /** Days of the backfill window (within retention, final by now) that collection has not stored yet. */
  missingDays: number;
  /** The latest run: when it started, how it ended (null while it runs) and why, when not OK. */
  lastRunAt: Date | null;
  lastRunState: SourceState | null;
  lastError: { code: string; message: string; retryAfterSeconds: number | null } | null;
  /** When the schedule runs next; null when collection is off. */
  nextRunAt: Date | null;
}

export interface CollectionServiceOptions {
  collector: Collector;
  store: UsageStore;
  /** The schedule that runs in the server; false when collection is off (config, or no store). */
  schedule: CollectConfig | false;
  now: () => number;
}

/** Where collection stands for an organization, provider by provider. */
export class CollectionService {
  constructor(private readonly options: CollectionServiceOptions) {}

  async status(org: OrganizationRuntime): Promise<CollectionStatus[]> {
    const { collector, store, schedule, now } = this.options;
    const next = nextRunAt(schedule, now());
    const providers = PROVIDER_MODULES.map((m) => org.providers.get(m.catalog.key)).filter((p) => p !== undefined);
    return Promise.all(
      providers.map(async (provider) => {
        const key = provider.catalog.key;
        const [extent, plan, [run]] = await Promise.all([store.extent(org.id, key), collector.plan(org.id, provider), store.lastRuns(org.id, key, 1)]);
        return {
          provider: provider.catalog.id,
          storedFrom: extent.from,
          storedThrough: extent.through,
          storedDays: extent.days,
          missingDays: plan.missing.length,
          lastRunAt: run ? new Date(run.startedAt) : null,
          lastRunState: run ? stateOf(run) : null,
          lastError: run?.errorCode ? { code: run.errorCode, message: run.errorMessage ?? run.errorCode, retryAfterSeconds: null } : null,
          nextRunAt: next,
        };
      }),
    );
  }
}

function stateOf(run: CollectionRun): SourceState | null {
  switch (run.state) {
    case "RUNNING":
      return null;
    case "OK":
      return SourceState.OK;
    case "PARTIAL":
      return SourceState.PARTIAL;
    case "FAILED":
      return SourceState.FAILED;
    default: {
      const unreachable: never = run.state;
      throw new Error(`unknown run state ${String(unreachable)}`);
    }
  }
}
