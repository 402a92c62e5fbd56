import { Kysely, PostgresDialect } from "kysely";
import { Pool, types, type CustomTypesConfig } from "pg";
import type { Logger } from "../common/logger";
import type { StoreDatabase } from "./store.schema";
import { errorCode, oneLine, withoutPassword } from "./store.errors";
import { StoreOpenError } from "./store.types";

const DATE_OID = 1082;

/**
 * pg turns a `date` into a JS Date at local midnight, which is a different day in half the world's
 * time zones. The store's days are calendar dates: keep PostgreSQL's `yyyy-MM-dd` text. Per pool,
 * not pg's process-wide `types.setTypeParser`, so no other pg user in the process is affected.
 */
const STORE_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === DATE_OID && format !== "binary" ? (value: string) => value : types.getTypeParser(oid, format as "text")) as CustomTypesConfig["getTypeParser"],
};

const CONNECT_TIMEOUT_MS = 10_000;
/** Connections per process: reports read a few ranges at once; writes are one transaction each. */
const POOL_SIZE = 5;

/** A pool on `connectionString`, checked by one connection before it is returned. */
export async function openPostgres(connectionString: string, where: string, log: Logger): Promise<Kysely<StoreDatabase>> {
  const pool = new Pool({
    connectionString,
    max: POOL_SIZE,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: 30_000,
    application_name: "usagegraph",
    types: STORE_TYPES,
  });
  // An idle client's connection can drop (server restart, failover); unhandled, pg's 'error' event
  // would end the process. The next query gets a fresh connection.
  pool.on("error", (error) =>
    log.warn({ store: where, reason: oneLine(withoutPassword(error.message, connectionString)) }, "store: an idle PostgreSQL connection failed"),
  );
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    const { reason, text } = describePostgresError(error, connectionString);
    throw new StoreOpenError(`cannot open store ${where}: ${text}`, reason);
  }
  return new Kysely<StoreDatabase>({ dialect: new PostgresDialect({ pool }) });
}

/** A short reason and one line for an error of pg or of the socket under it. */
export function describePostgresError(error: unknown, connectionString: string): { reason: string; text: string } {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case "ECONNREFUSED":
      return { reason: "CONNECTION_REFUSED", text: "connection refused" };
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return { reason: "HOST_NOT_FOUND", text: "host not found" };
    case "ETIMEDOUT":
      return { reason: "TIMEOUT", text: "connection timed out" };
    case "ECONNRESET":
      return { reason: "CONNECTION_RESET", text: "connection reset by the server" };
    case "28P01":
      return { reason: "AUTHENTICATION_FAILED", text: "authentication failed (wrong user or password)" };
    case "28000":
      return { reason: "NOT_AUTHORIZED", text: `the server refused the connection: ${oneLine(withoutPassword(message, connectionString))}` };
    case "3D000":
      return { reason: "NO_DATABASE", text: "the database does not exist" };
    case "42501":
      return { reason: "PERMISSION_DENIED", text: `permission denied: ${oneLine(withoutPassword(message, connectionString))}` };
  }
  if (/connection timeout|timeout expired/i.test(message)) return { reason: "TIMEOUT", text: `connection timed out after ${CONNECT_TIMEOUT_MS / 1000} s` };
  // pg's SCRAM client fails before sending anything when the URL has no password.
  if (/SASL|SCRAM|password/i.test(message))
    return { reason: "AUTHENTICATION_FAILED", text: "authentication failed (the server wants a password the URL does not give)" };
  return { reason: "CANNOT_OPEN", text: oneLine(withoutPassword(message, connectionString)) };
}
