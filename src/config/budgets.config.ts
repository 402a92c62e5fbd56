import { ALERT_KINDS, type AlertKind, type BudgetPeriod } from "../alerts/alert.model";
import { nearest } from "../common/suggest";
import { MetricKind, type DimensionKey, type MetricDefinition, type ProviderKey } from "../providers/provider";
import { PROVIDER_MODULES } from "../providers/registry";
import { ConfigError } from "./config-error";

/** One budget of an organization (DESIGN §7), validated, with its defaults applied. */
export interface BudgetConfig {
  readonly id: string;
  readonly name: string;
  /** A COUNTER metric key of a provider the organization configures. */
  readonly metric: string;
  readonly period: BudgetPeriod;
  readonly amount: number;
  /** Filters on dimension keys of the metric; empty: all of it. */
  readonly where: ReadonlyArray<{ readonly key: DimensionKey; readonly in: readonly string[] }>;
  /** IANA name: decides the budget's days, weeks and months, and its "today". */
  readonly timeZone: string;
  /** Fractions of the amount, ascending, each in (0, 10]. */
  readonly thresholds: readonly number[];
}

/** A webhook alerts are POSTed to. */
export interface WebhookConfig {
  /** What logs call it; null: `webhooks[<index>]`. Never the URL, which is a secret. */
  readonly name: string | null;
  readonly url: string;
  /** The alert kinds it receives (all when the config does not say). */
  readonly kinds: readonly AlertKind[];
}

export interface NotifyConfig {
  readonly webhooks: readonly WebhookConfig[];
}

/** The id of the budget a vendor-declared quota appears as (Pipefy's `limit`): no configured budget may take it. */
export const PIPEFY_QUOTA_BUDGET_ID = "pipefy.quota";
export const DEFAULT_THRESHOLDS: readonly number[] = [0.8, 1.0];
const PERIODS: readonly BudgetPeriod[] = ["DAY", "WEEK", "MONTH"];
const BUDGET_FIELDS = ["id", "name", "metric", "period", "amount", "where", "timeZone", "thresholds"];
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAX_THRESHOLD = 10;

const METRICS = new Map<string, { provider: ProviderKey; metric: MetricDefinition }>(
  PROVIDER_MODULES.flatMap((m) => m.catalog.metrics.map((metric) => [metric.key, { provider: m.catalog.key, metric }] as const)),
);

/**
 * `organizations[i].budgets`: every mistake is one line naming the field (`…budgets[0].metric: …`).
 * `providers` are the organization's configured provider keys: a budget on a provider it does not
 * configure could never be answered.
 */
export function resolveBudgets(raw: unknown, path: string, providers: ReadonlySet<ProviderKey>): BudgetConfig[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ConfigError(`${path} must be a list of budgets`);
  const ids = new Set<string>();
  return raw.map((item, i) => {
    const here = `${path}[${i}]`;
    const budget = resolveBudget(item, here, providers);
    if (ids.has(budget.id)) throw new ConfigError(`${here}.id: "${budget.id}" is used twice in this organization`);
    ids.add(budget.id);
    return budget;
  });
}

function resolveBudget(raw: unknown, path: string, providers: ReadonlySet<ProviderKey>): BudgetConfig {
  if (!isObject(raw)) throw new ConfigError(`${path} must be an object`);
  for (const key of Object.keys(raw)) {
    if (!BUDGET_FIELDS.includes(key)) throw new ConfigError(`${path}.${key}: unknown field; expected one of ${BUDGET_FIELDS.join(", ")}`);
  }
  const { id, name, metric, period, amount, where, timeZone, thresholds } = raw;

  if (typeof id !== "string" || !ID_RE.test(id)) throw new ConfigError(`${path}.id: must be 1-64 letters, digits, '.', '_' or '-'`);
  if (id === PIPEFY_QUOTA_BUDGET_ID)
    throw new ConfigError(`${path}.id: "${PIPEFY_QUOTA_BUDGET_ID}" is the budget Pipefy's own quota appears as; choose another id`);
  if (name !== undefined && (typeof name !== "string" || name.trim() === "")) throw new ConfigError(`${path}.name: must be a non-empty string`);

  if (typeof metric !== "string") throw new ConfigError(`${path}.metric: must be a metric key such as "acedata.credits"`);
  const known = METRICS.get(metric);
  if (!known) {
    const hint = nearest(metric, [...METRICS.keys()]);
    throw new ConfigError(
      `${path}.metric: "${metric}" is not a metric key${hint ? ` (did you mean "${hint}"?)` : ""}; known: ${[...METRICS.keys()].join(", ")}`,
    );
  }
  if (known.metric.kind !== MetricKind.COUNTER) {
    throw new ConfigError(`${path}.metric: ${metric} is a GAUGE metric (a level, not a use that adds up over a period); budgets apply to COUNTER metrics only`);
  }
  if (!providers.has(known.provider)) {
    throw new ConfigError(
      `${path}.metric: ${metric} is a metric of ${known.provider}, which this organization does not configure (providers.${known.provider})`,
    );
  }

  if (typeof period !== "string" || !PERIODS.includes(period as BudgetPeriod)) throw new ConfigError(`${path}.period: must be one of ${PERIODS.join(", ")}`);
  if (typeof amount !== "number" || !Number.isFinite(amount) || amount <= 0)
    throw new ConfigError(`${path}.amount: must be a number above 0 (${known.metric.unit})`);

  const filters = resolveWhere(where, `${path}.where`, known.metric);
  const zone = timeZone ?? "UTC";
  if (typeof zone !== "string" || !isTimeZone(zone))
    throw new ConfigError(`${path}.timeZone: ${JSON.stringify(zone)} is not an IANA time zone (e.g. "UTC", "Europe/Berlin")`);

  const levels = thresholds ?? DEFAULT_THRESHOLDS;
  if (!Array.isArray(levels) || levels.length === 0)
    throw new ConfigError(`${path}.thresholds: must be a non-empty list of fractions of the amount, e.g. [0.8, 1.0]`);
  for (const [i, t] of levels.entries()) {
    if (typeof t !== "number" || !Number.isFinite(t) || t <= 0 || t > MAX_THRESHOLD) {
      throw new ConfigError(
        `${path}.thresholds[${i}]: ${JSON.stringify(t)} is outside (0, ${MAX_THRESHOLD}]; a threshold is a fraction of the amount (0.8 = 80 %)`,
      );
    }
  }
  return {
    id,
    name: typeof name === "string" ? name : id,
    metric,
    period: period as BudgetPeriod,
    amount,
    where: filters,
    timeZone: zone,
    thresholds: [...new Set(levels as number[])].sort((a, b) => a - b),
  };
}

function resolveWhere(raw: unknown, path: string, metric: MetricDefinition): BudgetConfig["where"] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ConfigError(`${path} must be a list of { key, in } filters`);
  return raw.map((f, i) => {
    const here = `${path}[${i}]`;
    if (!isObject(f)) throw new ConfigError(`${here} must be an object { key, in }`);
    for (const key of Object.keys(f)) if (key !== "key" && key !== "in") throw new ConfigError(`${here}.${key}: unknown field; expected key, in`);
    if (typeof f.key !== "string" || !metric.dimensions.includes(f.key as DimensionKey)) {
      const has = metric.dimensions.length > 0 ? `it has: ${metric.dimensions.join(", ")}` : "it has none";
      throw new ConfigError(`${here}.key: ${JSON.stringify(f.key)} is not a dimension of ${metric.key}; ${has}`);
    }
    if (!Array.isArray(f.in) || f.in.length === 0 || f.in.some((v) => typeof v !== "string" || v === "")) {
      throw new ConfigError(`${here}.in: must be a non-empty list of dimension values (strings)`);
    }
    return { key: f.key as DimensionKey, in: [...new Set(f.in as string[])] };
  });
}

/** `organizations[i].notify`. A webhook's URL is never quoted in a message: it is a secret. */
export function resolveNotify(raw: unknown, path: string): NotifyConfig {
  if (raw === undefined || raw === null) return { webhooks: [] };
  if (!isObject(raw)) throw new ConfigError(`${path} must be an object { webhooks }`);
  for (const key of Object.keys(raw)) if (key !== "webhooks") throw new ConfigError(`${path}.${key}: unknown field; expected webhooks`);
  const { webhooks } = raw;
  if (webhooks === undefined) return { webhooks: [] };
  if (!Array.isArray(webhooks)) throw new ConfigError(`${path}.webhooks must be a list of { url, kinds }`);
  const names = new Set<string>();
  return {
    webhooks: webhooks.map((w, i) => {
      const here = `${path}.webhooks[${i}]`;
      if (!isObject(w)) throw new ConfigError(`${here} must be an object { url, kinds }`);
      for (const key of Object.keys(w))
        if (!["name", "url", "kinds"].includes(key)) throw new ConfigError(`${here}.${key}: unknown field; expected name, url, kinds`);
      if (w.name !== undefined && (typeof w.name !== "string" || w.name.trim() === "")) throw new ConfigError(`${here}.name: must be a non-empty string`);
      if (typeof w.name === "string") {
        if (names.has(w.name)) throw new ConfigError(`${here}.name: "${w.name}" is used twice`);
        names.add(w.name);
      }
      if (typeof w.url !== "string" || !isHttpUrl(w.url)) throw new ConfigError(`${here}.url: must be an http:// or https:// URL`);
      let kinds: readonly AlertKind[] = ALERT_KINDS;
      if (w.kinds !== undefined) {
        if (!Array.isArray(w.kinds) || w.kinds.length === 0) throw new ConfigError(`${here}.kinds: must be a non-empty list of ${ALERT_KINDS.join(", ")}`);
        for (const [k, kind] of w.kinds.entries()) {
          if (!ALERT_KINDS.includes(kind as AlertKind))
            throw new ConfigError(`${here}.kinds[${k}]: ${JSON.stringify(kind)} is not one of ${ALERT_KINDS.join(", ")}`);
        }
        kinds = [...new Set(w.kinds as AlertKind[])];
      }
      return { name: typeof w.name === "string" ? w.name : null, url: w.url, kinds };
    }),
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
