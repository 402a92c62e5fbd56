import { createHash } from "node:crypto";
import { addDays, todayIn } from "../common/dates";
import { LoaderRegistry } from "../common/loaders";
import type { Logger } from "../common/logger";
import type { NotifyConfig, WebhookConfig } from "../config/budgets.config";
import type { OrganizationRegistry } from "../organizations/organization.registry";
import type { NotificationKey, UsageStore } from "../store/store";
import type { Alert } from "./alert.model";
import type { AlertService } from "./alert.service";
import { DEFAULT_WEBHOOK_RETRY, postWebhook, type WebhookRetry } from "./webhook";

export interface NotifierOptions {
  /** Alerts of this many days before today (UTC) are still sent when new: a run missed for a few days catches up. */
  lookbackDays: number;
  /**
   * How long a claimed delivery may stay in flight before another evaluation takes it over (its
   * claimer died between claiming and settling). Longer than the longest delivery with its retries.
   */
  leaseMs: number;
  retry: WebhookRetry;
}

export const DEFAULT_NOTIFIER_OPTIONS: NotifierOptions = { lookbackDays: 7, leaseMs: 10 * 60_000, retry: DEFAULT_WEBHOOK_RETRY };

/** What one evaluation did, per organization; webhooks are not named here (see the log). */
export interface EvaluationSummary {
  organization: string;
  /** Alerts of the days evaluated. */
  alerts: number;
  /** Deliveries made now (one alert to one webhook). */
  sent: number;
  /** Deliveries that failed after their retries: the next evaluation tries them again. */
  failed: number;
  /** Deliveries already made, or in flight elsewhere (another replica). */
  skipped: number;
}

export interface NotifierDeps {
  alerts: AlertService;
  organizations: OrganizationRegistry;
  /** Per organization id. */
  notify: ReadonlyMap<string, NotifyConfig>;
  store: UsageStore;
  log: Logger;
  now: () => number;
  options?: Partial<NotifierOptions>;
}

/**
 * Sends each alert once to each webhook that takes its kind (DESIGN §7).
 *
 * Once, across restarts and replicas, because the store decides who sends: a delivery (alert id ×
 * webhook) is first claimed by a write that the `notifications` primary key lets through for one
 * caller only, and only that caller POSTs. Checking "was it sent?" and then sending would let two
 * replicas both see "no" and both send. A delivery that fails after its retries is marked FAILED,
 * which the next evaluation's claim takes over, so it is retried on the next run; one whose
 * claimer died in flight is taken over once its lease has passed. The one case that can still send
 * twice is a process that dies after the receiver got the POST and before the store recorded it:
 * no store can tell that apart from a POST that never arrived.
 *
 * A webhook's URL is a secret (Slack's carries a token): it is never logged nor returned; logs name
 * a webhook by its `name` or its index, and the store keys deliveries by a hash of the URL.
 */
export class AlertNotifier {
  private readonly options: NotifierOptions;

  constructor(private readonly deps: NotifierDeps) {
    this.options = { ...DEFAULT_NOTIFIER_OPTIONS, ...deps.options };
  }

  /** Computes the organization's recent alerts and sends the new ones. Never throws for a webhook's failure. */
  async evaluate(organizationId: string): Promise<EvaluationSummary> {
    const summary: EvaluationSummary = { organization: organizationId, alerts: 0, sent: 0, failed: 0, skipped: 0 };
    const org = this.deps.organizations.get(organizationId);
    const webhooks = this.deps.notify.get(organizationId)?.webhooks ?? [];
    if (!org || webhooks.length === 0) return summary;
    const log = this.deps.log.child({ organization: organizationId, job: "alerts" });
    const today = todayIn("UTC", this.deps.now());
    // A day ahead: a budget in a time zone east of UTC may already be on tomorrow.
    const range = { from: addDays(today, -this.options.lookbackDays), to: addDays(today, 1) };
    const { alerts } = await this.deps.alerts.alerts(org, range, { loaders: new LoaderRegistry(), log });
    summary.alerts = alerts.length;
    // Oldest first: a channel reads them in the order they happened.
    const ordered = [...alerts].reverse();
    await Promise.all(
      webhooks.map(async (hook, index) => {
        const name = hook.name ?? `webhooks[${index}]`;
        for (const alert of ordered) {
          if (!hook.kinds.includes(alert.kind)) continue;
          const outcome = await this.deliver(organizationId, org.name, hook, alert, log.child({ webhook: name, alert: alert.id }));
          summary[outcome]++;
        }
      }),
    );
    return summary;
  }

  private async deliver(
    organization: string,
    organizationName: string,
    hook: WebhookConfig,
    alert: Alert,
    log: Logger,
  ): Promise<"sent" | "failed" | "skipped"> {
    const key: NotificationKey = { organization, alertId: alert.id, webhook: webhookKey(hook.url) };
    let claim: string | null;
    try {
      claim = await this.deps.store.claimNotification(key, this.options.leaseMs);
    } catch (error) {
      // Without a claim nothing is sent: a missed alert is retried next run, a double one cannot be taken back.
      log.warn({ err: errorSummary(error) }, "store claim of an alert failed: not sent now, retried on the next evaluation");
      return "failed";
    }
    if (claim === null) return "skipped";
    const result = await postWebhook(hook.url, webhookBody(organization, organizationName, alert), this.options.retry);
    try {
      await this.deps.store.settleNotification(key, claim, { sent: result.delivered, status: result.status, attempts: result.attempts });
    } catch (error) {
      log.warn({ err: errorSummary(error) }, "store could not record the delivery of an alert");
    }
    if (result.delivered) {
      log.info({ status: result.status, attempts: result.attempts }, "alert sent");
      return "sent";
    }
    log.warn({ status: result.status, reason: result.reason, attempts: result.attempts }, "webhook delivery failed: retried on the next evaluation");
    return "failed";
  }
}

/**
 * The function to run after each collection run (the collector's `onRunFinished`): evaluates the
 * run's organization. Failures are logged, never thrown into the collector.
 */
export function alertsAfterRun(notifier: AlertNotifier, log: Logger): (run: { organization: string }) => Promise<void> {
  return async ({ organization }) => {
    try {
      await notifier.evaluate(organization);
    } catch (error) {
      log.warn({ organization, err: errorSummary(error) }, "alert evaluation failed");
    }
  };
}

/** The store's key of a webhook: a hash of its URL, which is stable when webhooks are reordered and reveals nothing of the URL. */
export function webhookKey(url: string): string {
  return createHash("sha256").update(url).digest("hex").slice(0, 32);
}

/** Slack-compatible: `text` is what a channel shows (with &, < and > escaped as Slack asks); `alert` carries the fields. */
export function webhookBody(organization: string, organizationName: string, alert: Alert): unknown {
  return {
    text: alert.message.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"),
    organization: { id: organization, name: organizationName },
    alert: {
      id: alert.id,
      kind: alert.kind,
      day: alert.day,
      provider: alert.provider,
      metric: alert.metric,
      dimensions: alert.dimensions,
      value: alert.value,
      reference: alert.reference,
      message: alert.message,
    },
  };
}

function errorSummary(error: unknown): { name: string; message: string } {
  return { name: String((error as Error)?.name), message: String((error as Error)?.message).slice(0, 200) };
}
