import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { CompiledQuery, Kysely, SqliteAdapter, SqliteDriver, SqliteIntrospector, SqliteQueryCompiler, type DatabaseConnection, type Dialect } from "kysely";
import type { StoreDatabase } from "./store.schema";
import { oneLine } from "./store.errors";
import { StoreOpenError } from "./store.types";

/** How long a writer waits for another process's write transaction before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/**
 * Every transaction starts with BEGIN IMMEDIATE, taking the write lock up front. A deferred BEGIN
 * takes it at the first write; in WAL mode a transaction that read first and then finds another
 * process committed in between fails at once with SQLITE_BUSY, whatever busy_timeout says. Every
 * transaction here writes (store writes, migrations), so none loses anything by waiting at BEGIN.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}

/**
 * SQLite does run DDL inside transactions; Kysely's adapter says it does not, so its Migrator would
 * run a migration statement by statement and take no lock. Saying so here makes the Migrator wrap
 * all pending migrations in one (immediate) transaction: a second process opening the same file
 * waits for the first to finish, then finds nothing left to do; a failed migration leaves nothing
 * half done.
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * `mkdir -p`, one level at a time. Not `mkdirSync(dir, { recursive: true })`: on Node 20 that never
 * returns when mkdir fails with ENOENT under a parent that exists (any folder under /proc), it
 * retries the parent forever on the event loop's thread.
 */
function makeFolder(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (error) {
      // Another process (a second replica starting) made it in between.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** Opens (creating it and its folder) the SQLite file at `path`, or an in-memory database. */
export function openSqlite(path: string): { db: Kysely<StoreDatabase>; path: string } {
  const file = path === ":memory:" ? path : resolve(path);
  const where = `sqlite:${file}`;
  if (file !== ":memory:") {
    try {
      makeFolder(dirname(file));
    } catch (error) {
      throw new StoreOpenError(
        `cannot open store ${where}: cannot create folder ${dirname(file)} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
        "CANNOT_CREATE_FOLDER",
      );
    }
  }
  let database: Database.Database | undefined;
  try {
    database = new Database(file, { timeout: SQLITE_BUSY_TIMEOUT_MS });
    database.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
    // WAL: readers never block the writer nor the writer the readers; NORMAL sync is durable in WAL
    // except for the last transactions on power loss, which the next collection run writes again.
    database.pragma("journal_mode = WAL");
    database.pragma("synchronous = NORMAL");
  } catch (error) {
    database?.close();
    throw new StoreOpenError(`cannot open store ${where}: ${oneLine((error as Error).message)}`, "CANNOT_OPEN");
  }
  const sqlite = database;
  const dialect: Dialect = {
    createAdapter: () => new TransactionalDdlSqliteAdapter(),
    createDriver: () => new ImmediateSqliteDriver({ database: sqlite }),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
  return { db: new Kysely<StoreDatabase>({ dialect }), path: file };
}
