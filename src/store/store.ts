import { resolve } from "node:path";
import { Migrator, type Kysely } from "kysely";
import type { Logger } from "../common/logger";
import { KyselyStore } from "./kysely.store";
import { NoStore } from "./none.store";
import { openPostgres } from "./postgres.dialect";
import { openSqlite } from "./sqlite.dialect";
import { maskStoreUrl, parseStoreUrl, SQLITE_MEMORY_URL, StoreUrlError, type StoreLocation } from "./store.config";
import { oneLine, withoutPassword } from "./store.errors";
import { storeMigrationProvider, type StoreDatabase, type StoreDialect } from "./store.schema";
import { StoreOpenError, type UsageStore } from "./store.types";

export { NoStore } from "./none.store";
export { maskStoreUrl } from "./store.config";
export * from "./store.types";

export interface OpenStoreOptions {
  log: Logger;
  /** Clock for updated_at and fetched_at; injectable for tests. */
  now?: () => number;
}

/**
 * Opens the store named by `url` (see store.config.ts) and brings its schema to the latest version.
 * Throws StoreOpenError, whose message is one line that never holds the password, when the store
 * cannot be reached, opened or migrated: startup stops there.
 */
export async function openStore(url: string, options: OpenStoreOptions): Promise<UsageStore> {
  let location: StoreLocation;
  try {
    location = parseStoreUrl(url);
  } catch (error) {
    if (error instanceof StoreUrlError) throw new StoreOpenError(`store.url: ${error.message}`, "BAD_URL");
    throw error;
  }
  const now = options.now ?? Date.now;
  switch (location.kind) {
    case "none":
      return new NoStore();
    case "sqlite":
      return location.path === ":memory:" ? openMemory(url, options.log, now) : openSqliteFile(resolve(location.path), url, options.log, now);
    case "postgres": {
      const where = maskStoreUrl(location.connectionString);
      const db = await openPostgres(location.connectionString, where, options.log);
      await migrateOrDestroy(db, "postgres", where, url, options.log);
      return new KyselyStore("postgres", db, now, () => db.destroy());
    }
    default: {
      const unreachable: never = location;
      throw new Error(`unknown store location ${JSON.stringify(unreachable)}`);
    }
  }
}

async function openMemory(url: string, log: Logger, now: () => number): Promise<UsageStore> {
  const { db } = openSqlite(":memory:");
  await migrateOrDestroy(db, "sqlite", SQLITE_MEMORY_URL, url, log);
  return new KyselyStore("sqlite", db, now, () => db.destroy());
}

interface SharedSqlite {
  readonly db: Kysely<StoreDatabase>;
  readonly migrated: Promise<void>;
  refs: number;
}

/**
 * Open SQLite files of this process, by absolute path. Stores on one file share one connection:
 * better-sqlite3 waits for a lock synchronously, so a second connection in the same process would
 * block the event loop in busy_timeout while the transaction it waits for, which needs that very
 * event loop to finish, stands still. Other processes are a different matter: there the wait is
 * what serialises them (BEGIN IMMEDIATE, busy_timeout).
 */
const sqliteFiles = new Map<string, SharedSqlite>();

async function openSqliteFile(file: string, url: string, log: Logger, now: () => number): Promise<UsageStore> {
  let shared = sqliteFiles.get(file);
  if (shared === undefined) {
    const { db } = openSqlite(file);
    const entry: SharedSqlite = { db, refs: 0, migrated: migrateOrDestroy(db, "sqlite", `sqlite:${file}`, url, log) };
    sqliteFiles.set(file, entry);
    entry.migrated.catch(() => {
      if (sqliteFiles.get(file) === entry) sqliteFiles.delete(file);
    });
    shared = entry;
  }
  const entry = shared;
  // Counted before waiting, so that a close() of another store meanwhile does not destroy it.
  entry.refs++;
  try {
    await entry.migrated;
  } catch (error) {
    entry.refs--;
    throw error;
  }
  return new KyselyStore("sqlite", entry.db, now, async () => {
    if (--entry.refs > 0) return;
    if (sqliteFiles.get(file) === entry) sqliteFiles.delete(file);
    await entry.db.destroy();
  });
}

async function migrateOrDestroy(db: Kysely<StoreDatabase>, dialect: StoreDialect, where: string, url: string, log: Logger): Promise<void> {
  try {
    const applied = await migrate(db, dialect, where, url);
    log.info({ store: where, migrations: applied }, applied.length > 0 ? "store opened and migrated" : "store opened");
  } catch (error) {
    await db.destroy().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs the pending migrations; returns their names. Safe from two processes at once: on PostgreSQL
 * Kysely's Migrator holds a session advisory lock (pg_advisory_lock, in PostgresAdapter
 * acquireMigrationLock) while it reads which migrations ran and runs the rest in one transaction,
 * and it tolerates a concurrent creation of its own bookkeeping tables; on SQLite the same
 * transaction begins IMMEDIATE (sqlite.dialect.ts), so the second process waits for the first.
 */
async function migrate(db: Kysely<StoreDatabase>, dialect: StoreDialect, where: string, url: string): Promise<string[]> {
  const migrator = new Migrator({ db, provider: storeMigrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    const message = error instanceof Error ? error.message : String(error);
    throw new StoreOpenError(`cannot migrate store ${where}${failed ? ` (${failed})` : ""}: ${oneLine(withoutPassword(message, url))}`, "MIGRATION_FAILED");
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}
