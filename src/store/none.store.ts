import type { CalendarDate } from "../common/dates";
import { randomUUID } from "node:crypto";
import type { CollectionRun, NotificationKey, NotificationOutcome, StoreExtent, UsageStore } from "./store.types";

/**
 * `store.url: "none"`: stores nothing and covers nothing, so every day goes upstream as before.
 * Notifications are remembered in memory, for this process only: without a store a restart or a
 * second replica sends an alert again.
 */
export class NoStore implements UsageStore {
  readonly kind = "none";
  readonly writes = { count: 0, lastAt: -Infinity };
  private readonly deliveries = new Map<string, { state: "SENDING" | "SENT" | "FAILED"; claim: string; claimedAt: number }>();

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

  async claimNotification(key: NotificationKey, leaseMs: number): Promise<string | null> {
    const id = JSON.stringify([key.organization, key.alertId, key.webhook]);
    const row = this.deliveries.get(id);
    const now = Date.now();
    if (row && (row.state === "SENT" || (row.state === "SENDING" && row.claimedAt >= now - leaseMs))) return null;
    const claim = randomUUID();
    this.deliveries.set(id, { state: "SENDING", claim, claimedAt: now });
    return claim;
  }

  async settleNotification(key: NotificationKey, claim: string, outcome: NotificationOutcome): Promise<void> {
    const row = this.deliveries.get(JSON.stringify([key.organization, key.alertId, key.webhook]));
    if (row && row.claim === claim) row.state = outcome.sent ? "SENT" : "FAILED";
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
