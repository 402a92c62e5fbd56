import type { CalendarDate } from "../common/dates";
import type { CollectionRun, StoreExtent, UsageStore } from "./store.types";

/** `store.url: "none"`: stores nothing and covers nothing, so every day goes upstream as before. */
export class NoStore implements UsageStore {
  readonly kind = "none";

  async write(): Promise<void> {}

  async finalDays(): Promise<Set<CalendarDate>> {
    return new Set();
  }

  async observations(): Promise<[]> {
    return [];
  }

  async extent(): Promise<StoreExtent> {
    return { from: null, through: null, days: 0 };
  }

  async recordRun(): Promise<void> {}

  async lastRuns(): Promise<CollectionRun[]> {
    return [];
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
