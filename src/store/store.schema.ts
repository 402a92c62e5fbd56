import { sql, type ColumnType, type Kysely, type Migration, type MigrationProvider } from "kysely";

/**
 * Days are `yyyy-MM-dd`: a PostgreSQL `date` (read back as the same string: see postgres.dialect.ts)
 * or SQLite text, which sorts and compares the same way. Instants are written as ISO 8601 strings
 * and read back as a Date (PostgreSQL `timestamptz`) or the string (SQLite text).
 */
type Day = string;
type Instant = ColumnType<Date | string, string, string>;
/** 0 or 1 in both dialects: better-sqlite3 binds no booleans, and one type keeps the queries shared. */
type Flag = number;

export interface ObservationRow {
  organization: string;
  provider: string;
  /** The fetch scope that answered the row (see CoverageRow.scope): rows of two scopes never mix on read. */
  scope: string;
  metric: string;
  /** Canonical JSON of dimension key → value, keys sorted; `{}` for none. Part of the key. */
  dims: string;
  /** JSON of dimension key → label. */
  labels: string;
  start_day: Day;
  end_day: Day;
  value: number;
  final: Flag;
  updated_at: Instant;
}

export interface CoverageRow {
  organization: string;
  provider: string;
  /**
   * What the fetch asked for, chosen by the caller (the usage service: grouping, filters and
   * granularity of the query): coverage of one scope says nothing of another.
   */
  scope: string;
  day: Day;
  final: Flag;
  fetched_at: Instant;
}

export interface CollectionRunRow {
  organization: string;
  provider: string;
  started_at: Instant;
  finished_at: ColumnType<Date | string | null, string | null, string | null>;
  state: string;
  error_code: string | null;
  error_message: string | null;
  days: number;
}

/** One delivery of one alert to one webhook (002_notifications). */
export interface NotificationRow {
  organization: string;
  alert_id: string;
  /** A hash of the webhook's URL, never the URL: it is a secret. */
  webhook: string;
  /** SENDING (claimed, in flight), SENT, or FAILED (the next claim retries it). */
  state: string;
  /** The token of the claim that owns the row: only its holder settles it. */
  claim: string;
  claimed_at: Instant;
  sent_at: ColumnType<Date | string | null, string | null, string | null>;
  attempts: number;
  last_status: number | null;
}

export interface StoreDatabase {
  observations: ObservationRow;
  coverage: CoverageRow;
  collection_runs: CollectionRunRow;
  notifications: NotificationRow;
}

export type StoreDialect = "sqlite" | "postgres";

/**
 * The schema's versions, in code (nothing is read from disk at runtime). Kysely's Migrator runs them
 * in name order and records each in `kysely_migration`; a migration, once released, is never edited:
 * a change is a new one (`002_…`).
 */
export function storeMigrations(dialect: StoreDialect): Record<string, Migration> {
  const day = dialect === "postgres" ? "date" : "text";
  const instant = dialect === "postgres" ? "timestamptz" : "text";
  const double = dialect === "postgres" ? "double precision" : "real";
  return {
    "001_initial": {
      async up(db: Kysely<any>): Promise<void> {
        await db.schema
          .createTable("observations")
          .addColumn("organization", "text", (c) => c.notNull())
          .addColumn("provider", "text", (c) => c.notNull())
          .addColumn("scope", "text", (c) => c.notNull())
          .addColumn("metric", "text", (c) => c.notNull())
          .addColumn("dims", "text", (c) => c.notNull())
          .addColumn("labels", "text", (c) => c.notNull())
          .addColumn("start_day", day, (c) => c.notNull())
          .addColumn("end_day", day, (c) => c.notNull())
          .addColumn("value", double, (c) => c.notNull())
          .addColumn("final", "integer", (c) => c.notNull())
          .addColumn("updated_at", instant, (c) => c.notNull())
          .addPrimaryKeyConstraint("observations_pkey", ["organization", "provider", "scope", "metric", "dims", "start_day", "end_day"])
          .addCheckConstraint("observations_final_flag", sql`final in (0, 1)`)
          .addCheckConstraint("observations_window", sql`start_day <= end_day`)
          .execute();
        // Range reads: one organization's provider and scope, days from..to, any metric.
        await db.schema.createIndex("observations_range").on("observations").columns(["organization", "provider", "scope", "start_day", "end_day"]).execute();

        await db.schema
          .createTable("coverage")
          .addColumn("organization", "text", (c) => c.notNull())
          .addColumn("provider", "text", (c) => c.notNull())
          .addColumn("scope", "text", (c) => c.notNull())
          .addColumn("day", day, (c) => c.notNull())
          .addColumn("final", "integer", (c) => c.notNull())
          .addColumn("fetched_at", instant, (c) => c.notNull())
          .addPrimaryKeyConstraint("coverage_pkey", ["organization", "provider", "scope", "day"])
          .addCheckConstraint("coverage_final_flag", sql`final in (0, 1)`)
          .execute();
        // extent(): any scope, so the primary key's (organization, provider, scope, …) order does not serve it.
        await db.schema.createIndex("coverage_days").on("coverage").columns(["organization", "provider", "day"]).execute();

        await db.schema
          .createTable("collection_runs")
          .addColumn("organization", "text", (c) => c.notNull())
          .addColumn("provider", "text", (c) => c.notNull())
          .addColumn("started_at", instant, (c) => c.notNull())
          .addColumn("finished_at", instant)
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("error_code", "text")
          .addColumn("error_message", "text")
          .addColumn("days", "integer", (c) => c.notNull().defaultTo(0))
          .addPrimaryKeyConstraint("collection_runs_pkey", ["organization", "provider", "started_at"])
          .execute();
      },
      async down(db: Kysely<any>): Promise<void> {
        await db.schema.dropTable("collection_runs").execute();
        await db.schema.dropTable("coverage").execute();
        await db.schema.dropTable("observations").execute();
      },
    },
    "002_notifications": {
      // The primary key is what makes a delivery happen once: a claim is an INSERT it lets through
      // for one caller only, across restarts and replicas (see KyselyStore.claimNotification).
      async up(db: Kysely<any>): Promise<void> {
        await db.schema
          .createTable("notifications")
          .addColumn("organization", "text", (c) => c.notNull())
          .addColumn("alert_id", "text", (c) => c.notNull())
          .addColumn("webhook", "text", (c) => c.notNull())
          .addColumn("state", "text", (c) => c.notNull())
          .addColumn("claim", "text", (c) => c.notNull())
          .addColumn("claimed_at", instant, (c) => c.notNull())
          .addColumn("sent_at", instant)
          .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
          .addColumn("last_status", "integer")
          .addPrimaryKeyConstraint("notifications_pkey", ["organization", "alert_id", "webhook"])
          .addCheckConstraint("notifications_state", sql`state in ('SENDING', 'SENT', 'FAILED')`)
          .execute();
      },
      async down(db: Kysely<any>): Promise<void> {
        await db.schema.dropTable("notifications").execute();
      },
    },
  };
}

export function storeMigrationProvider(dialect: StoreDialect): MigrationProvider {
  return { getMigrations: async () => storeMigrations(dialect) };
}
