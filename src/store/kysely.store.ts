import { randomUUID } from "node:crypto";
import { sql, type Insertable, type Kysely } from "kysely";
import { addDays, daysInRange, isCalendarDate, type CalendarDate, type DateRange } from "../common/dates";
import type { CollectionRunRow, ObservationRow, StoreDatabase, StoreDialect } from "./store.schema";
import {
  StoreArgumentError,
  type CollectionRun,
  type CollectionRunState,
  type NotificationKey,
  type NotificationOutcome,
  type StoreExtent,
  type StoredObservation,
  type UsageStore,
} from "./store.types";

/**
 * Rows per INSERT. SQLite allows 32,766 bound parameters per statement and PostgreSQL 65,535; an
 * observation binds 11, so 500 rows stay far below both.
 */
const ROWS_PER_INSERT = 500;
const RUN_STATES: ReadonlySet<string> = new Set<CollectionRunState>(["RUNNING", "OK", "PARTIAL", "FAILED"]);
const MAX_ERROR_MESSAGE = 1_000;
/**
 * The widest window an observation may have (Pipefy's widest period is three months). It bounds a
 * range read: a row overlapping `range` starts at most this many days before it.
 */
export const MAX_WINDOW_DAYS = 366;

/** The store over SQLite or PostgreSQL: the same queries for both, through Kysely. */
export class KyselyStore implements UsageStore {
  #closed = false;
  readonly writes = { count: 0, lastAt: -Infinity };

  constructor(
    readonly kind: StoreDialect,
    private readonly db: Kysely<StoreDatabase>,
    private readonly now: () => number,
    /** Called once by close(): destroys the pool, or lets go of a shared SQLite connection. */
    private readonly release: () => Promise<void>,
  ) {}

  async write(
    org: string,
    provider: string,
    scope: string,
    days: readonly CalendarDate[],
    observations: readonly StoredObservation[],
    final: boolean,
  ): Promise<void> {
    requireName("organization", org);
    requireName("provider", provider);
    requireName("scope", scope);
    for (const [i, day] of days.entries()) if (!isCalendarDate(day)) throw new StoreArgumentError(`days[${i}]: not a calendar date (yyyy-MM-dd)`);
    const at = new Date(this.now()).toISOString();
    const flag = final ? 1 : 0;

    // Checked in full before the transaction: a bad observation writes nothing rather than part.
    const rows = new Map<string, Insertable<ObservationRow>>();
    for (const [i, o] of observations.entries()) {
      const where = `observations[${i}]`;
      if (typeof o.metric !== "string" || o.metric === "") throw new StoreArgumentError(`${where}.metric: must be a non-empty string`);
      if (!isCalendarDate(o.start) || !isCalendarDate(o.end) || o.start > o.end)
        throw new StoreArgumentError(`${where} (${o.metric}): start and end must be calendar dates with start <= end`);
      if (daysInRange(o.start, o.end) > MAX_WINDOW_DAYS) throw new StoreArgumentError(`${where} (${o.metric}): a window is at most ${MAX_WINDOW_DAYS} days`);
      if (typeof o.value !== "number" || !Number.isFinite(o.value)) throw new StoreArgumentError(`${where} (${o.metric}): value must be a finite number`);
      if (final && !o.final) throw new StoreArgumentError(`${where} (${o.metric}): a final write holds only final observations`);
      const { dims, labels } = encodeDimensions(o.dimensions, where);
      const key = JSON.stringify([o.metric, dims, o.start, o.end]);
      // One row per key: PostgreSQL refuses an INSERT … ON CONFLICT that touches a row twice, and
      // silently keeping one of two numbers would lose data.
      if (rows.has(key)) throw new StoreArgumentError(`${where} (${o.metric}): the same metric, dimensions, start and end appear twice`);
      rows.set(key, {
        organization: org,
        provider,
        scope,
        metric: o.metric,
        dims,
        labels,
        start_day: o.start,
        end_day: o.end,
        value: o.value,
        final: flag,
        updated_at: at,
      });
    }
    const coverage = [...new Set(days)].map((day) => ({ organization: org, provider, scope, day, final: flag, fetched_at: at }));
    if (rows.size === 0 && coverage.length === 0) return;

    await this.db.transaction().execute(async (trx) => {
      for (const chunk of chunks([...rows.values()], ROWS_PER_INSERT)) {
        await trx
          .insertInto("observations")
          .values(chunk)
          .onConflict((oc) =>
            oc
              .columns(["organization", "provider", "scope", "metric", "dims", "start_day", "end_day"])
              .doUpdateSet((eb) => ({
                labels: eb.ref("excluded.labels"),
                value: eb.ref("excluded.value"),
                final: eb.ref("excluded.final"),
                updated_at: eb.ref("excluded.updated_at"),
              }))
              // A final row is only replaced by a final one, and a row only when something changed:
              // the same answer written twice leaves even updated_at alone.
              .where((eb) =>
                eb.and([
                  eb.or([eb("observations.final", "=", 0), eb("excluded.final", "=", 1)]),
                  eb.or([
                    eb("observations.value", "<>", eb.ref("excluded.value")),
                    eb("observations.labels", "<>", eb.ref("excluded.labels")),
                    eb("observations.final", "<>", eb.ref("excluded.final")),
                  ]),
                ]),
              ),
          )
          .execute();
      }
      for (const chunk of chunks(coverage, ROWS_PER_INSERT)) {
        await trx
          .insertInto("coverage")
          .values(chunk)
          .onConflict((oc) =>
            oc
              .columns(["organization", "provider", "scope", "day"])
              .doUpdateSet((eb) => ({ final: eb.ref("excluded.final"), fetched_at: eb.ref("excluded.fetched_at") }))
              // Final coverage is settled; non-final coverage records the latest fetch.
              .where("coverage.final", "=", 0),
          )
          .execute();
      }
    });
    this.writes.count++;
    this.writes.lastAt = this.now();
  }

  async finalDays(org: string, provider: string, scope: string, range: DateRange): Promise<Set<CalendarDate>> {
    requireRange(range);
    const rows = await this.db
      .selectFrom("coverage")
      .select("day")
      .where("organization", "=", org)
      .where("provider", "=", provider)
      .where("scope", "=", scope)
      .where("final", "=", 1)
      .where("day", ">=", range.from)
      .where("day", "<=", range.to)
      .execute();
    return new Set(rows.map((r) => r.day));
  }

  async observations(org: string, provider: string, scope: string, range: DateRange, metrics?: readonly string[]): Promise<StoredObservation[]> {
    requireRange(range);
    if (metrics !== undefined && metrics.length === 0) return [];
    let query = this.db
      .selectFrom("observations")
      .select(["metric", "dims", "labels", "start_day", "end_day", "value"])
      .where("organization", "=", org)
      .where("provider", "=", provider)
      .where("scope", "=", scope)
      .where("final", "=", 1)
      .where("start_day", ">=", addDays(range.from, 1 - MAX_WINDOW_DAYS))
      .where("start_day", "<=", range.to)
      .where("end_day", ">=", range.from);
    if (metrics !== undefined) query = query.where("metric", "in", [...metrics]);
    const rows = await query.orderBy("start_day").orderBy("metric").orderBy("dims").orderBy("end_day").execute();
    return rows.map((r) => ({
      metric: r.metric,
      dimensions: decodeDimensions(r.dims, r.labels),
      start: r.start_day,
      end: r.end_day,
      value: r.value,
      final: true,
    }));
  }

  async extent(org: string, provider: string): Promise<StoreExtent> {
    const row = await this.db
      .selectFrom("coverage")
      .select((eb) => [eb.fn.min("day").as("from"), eb.fn.max("day").as("through"), eb.fn.count("day").distinct().as("days")])
      .where("organization", "=", org)
      .where("provider", "=", provider)
      .where("final", "=", 1)
      .executeTakeFirstOrThrow();
    // PostgreSQL counts in bigint, which pg returns as a string.
    return { from: row.from ?? null, through: row.through ?? null, days: Number(row.days) };
  }

  async recordRun(run: CollectionRun): Promise<void> {
    requireName("organization", run.organization);
    requireName("provider", run.provider);
    if (!RUN_STATES.has(run.state)) throw new StoreArgumentError(`run.state: must be one of ${[...RUN_STATES].join(", ")}`);
    if (!Number.isInteger(run.days) || run.days < 0) throw new StoreArgumentError("run.days: must be a whole number >= 0");
    const row: Insertable<CollectionRunRow> = {
      organization: run.organization,
      provider: run.provider,
      started_at: instant(run.startedAt, "run.startedAt"),
      finished_at: run.finishedAt === null ? null : instant(run.finishedAt, "run.finishedAt"),
      state: run.state,
      error_code: run.errorCode,
      error_message: run.errorMessage === null ? null : run.errorMessage.slice(0, MAX_ERROR_MESSAGE),
      days: run.days,
    };
    await this.db
      .insertInto("collection_runs")
      .values(row)
      .onConflict((oc) =>
        oc.columns(["organization", "provider", "started_at"]).doUpdateSet((eb) => ({
          finished_at: eb.ref("excluded.finished_at"),
          state: eb.ref("excluded.state"),
          error_code: eb.ref("excluded.error_code"),
          error_message: eb.ref("excluded.error_message"),
          days: eb.ref("excluded.days"),
        })),
      )
      .execute();
  }

  async lastRuns(org: string, provider: string, n: number): Promise<CollectionRun[]> {
    if (!Number.isInteger(n) || n < 0) throw new StoreArgumentError("n: must be a whole number >= 0");
    if (n === 0) return [];
    const rows = await this.db
      .selectFrom("collection_runs")
      .selectAll()
      .where("organization", "=", org)
      .where("provider", "=", provider)
      .orderBy("started_at", "desc")
      .limit(n)
      .execute();
    return rows.map((r) => ({
      organization: r.organization,
      provider: r.provider,
      startedAt: isoOf(r.started_at),
      finishedAt: r.finished_at === null ? null : isoOf(r.finished_at),
      state: r.state as CollectionRunState,
      errorCode: r.error_code,
      errorMessage: r.error_message,
      days: r.days,
    }));
  }

  async claimNotification(key: NotificationKey, leaseMs: number): Promise<string | null> {
    requireNotificationKey(key);
    if (!Number.isFinite(leaseMs) || leaseMs <= 0) throw new StoreArgumentError("leaseMs: must be a number above 0");
    const claim = randomUUID();
    const now = this.now();
    const at = new Date(now).toISOString();
    const where = { organization: key.organization, alert_id: key.alertId, webhook: key.webhook };
    // First delivery: the primary key lets exactly one INSERT through, whoever races for it.
    const inserted = await this.db
      .insertInto("notifications")
      .values({ ...where, state: "SENDING", claim, claimed_at: at, sent_at: null, attempts: 0, last_status: null })
      .onConflict((oc) => oc.columns(["organization", "alert_id", "webhook"]).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return claim;
    // A delivery that failed for good, or whose claimer died mid-flight (its lease ran out), is
    // taken over by one conditional UPDATE: the row lock (PostgreSQL re-checks the WHERE clause
    // after a concurrent update commits) or SQLite's single writer lets one caller match it.
    const expired = new Date(now - leaseMs).toISOString();
    const updated = await this.db
      .updateTable("notifications")
      .set({ state: "SENDING", claim, claimed_at: at })
      .where("organization", "=", where.organization)
      .where("alert_id", "=", where.alert_id)
      .where("webhook", "=", where.webhook)
      .where((eb) => eb.or([eb("state", "=", "FAILED"), eb.and([eb("state", "=", "SENDING"), eb("claimed_at", "<", expired)])]))
      .executeTakeFirst();
    return Number(updated.numUpdatedRows) === 1 ? claim : null;
  }

  async settleNotification(key: NotificationKey, claim: string, outcome: NotificationOutcome): Promise<void> {
    requireNotificationKey(key);
    if (!Number.isInteger(outcome.attempts) || outcome.attempts < 0) throw new StoreArgumentError("outcome.attempts: must be a whole number >= 0");
    await this.db
      .updateTable("notifications")
      .set((eb) => ({
        state: outcome.sent ? "SENT" : "FAILED",
        sent_at: outcome.sent ? new Date(this.now()).toISOString() : null,
        attempts: eb("attempts", "+", outcome.attempts),
        last_status: outcome.status,
      }))
      .where("organization", "=", key.organization)
      .where("alert_id", "=", key.alertId)
      .where("webhook", "=", key.webhook)
      .where("claim", "=", claim)
      .execute();
  }

  async healthy(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      await sql`select 1`.execute(this.db);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.release();
  }
}

/**
 * The key part `dims` is the canonical JSON of key → value (keys sorted, so one set of dimensions
 * has one spelling); labels are kept apart because a label may change (an API renamed) without
 * making a different series.
 */
export function encodeDimensions(dimensions: StoredObservation["dimensions"], where: string): { dims: string; labels: string } {
  const keys = Object.keys(dimensions).sort();
  const values: Record<string, string> = {};
  const labels: Record<string, string> = {};
  for (const key of keys) {
    const d = dimensions[key];
    if (!d || typeof d.value !== "string" || typeof d.label !== "string")
      throw new StoreArgumentError(`${where}.dimensions.${key}: must be { value: string, label: string }`);
    values[key] = d.value;
    labels[key] = d.label;
  }
  return { dims: JSON.stringify(values), labels: JSON.stringify(labels) };
}

function decodeDimensions(dims: string, labels: string): StoredObservation["dimensions"] {
  const values = JSON.parse(dims) as Record<string, string>;
  const names = JSON.parse(labels) as Record<string, string>;
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, { value, label: names[key] ?? value }]));
}

function requireName(field: string, value: string): void {
  if (typeof value !== "string" || value === "") throw new StoreArgumentError(`${field}: must be a non-empty string`);
}

function requireNotificationKey(key: NotificationKey): void {
  requireName("organization", key.organization);
  requireName("alertId", key.alertId);
  requireName("webhook", key.webhook);
}

function requireRange(range: DateRange): void {
  if (!isCalendarDate(range.from) || !isCalendarDate(range.to)) throw new StoreArgumentError("range: from and to must be calendar dates (yyyy-MM-dd)");
}

/** The canonical ISO 8601 form, so that one instant is one key in both dialects. */
function instant(value: string, field: string): string {
  const ms = Date.parse(value);
  if (typeof value !== "string" || Number.isNaN(ms)) throw new StoreArgumentError(`${field}: must be an ISO 8601 instant`);
  return new Date(ms).toISOString();
}

function isoOf(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
