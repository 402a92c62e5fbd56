import { isAbsolute, resolve } from "node:path";

/**
 * Where the store lives, parsed from `store.url`:
 * `sqlite:<path>`, `sqlite::memory:`, `postgres://user:pass@host:port/db` (or `postgresql://`), `none`.
 */
export type StoreLocation =
  | { readonly kind: "none" }
  | { readonly kind: "sqlite"; readonly path: string | ":memory:" }
  | { readonly kind: "postgres"; readonly connectionString: string };

/** A `store.url` that names no store. The message never holds the URL (it may hold a password). */
export class StoreUrlError extends Error {
  override name = "StoreUrlError";
}

export const SQLITE_MEMORY_URL = "sqlite::memory:";
/** The default store when a config file is given, relative to the config file's folder. */
export const DEFAULT_SQLITE_PATH = "data/usagegraph.db";

const EXPECTED = "expected sqlite:<path>, sqlite::memory:, postgres://user:pass@host:port/db or none";

export function parseStoreUrl(url: string): StoreLocation {
  if (url === "none") return { kind: "none" };
  if (url === SQLITE_MEMORY_URL) return { kind: "sqlite", path: ":memory:" };
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    if (path === "" || path.startsWith("//"))
      throw new StoreUrlError(`a sqlite URL is sqlite:<path> (sqlite:data/usagegraph.db, sqlite:/var/lib/usagegraph.db)`);
    return { kind: "sqlite", path };
  }
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StoreUrlError("not a valid postgres:// URL (percent-encode special characters in the user and password)");
    }
    if (parsed.hostname === "") throw new StoreUrlError("a postgres URL needs a host (postgres://user:pass@host:5432/db)");
    if (parsed.pathname.length <= 1) throw new StoreUrlError("a postgres URL needs a database name (postgres://user:pass@host:5432/db)");
    return { kind: "postgres", connectionString: url };
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]{0,20}):/.exec(url)?.[1];
  throw new StoreUrlError(scheme ? `unknown scheme "${scheme}"; ${EXPECTED}` : `not a store URL; ${EXPECTED}`);
}

/**
 * The URL with a relative sqlite path made absolute against `baseDir` (the config file's folder:
 * a server started from another working directory must find the same file). Other URLs unchanged.
 */
export function resolveStoreUrl(url: string, baseDir: string | undefined): string {
  const location = parseStoreUrl(url);
  if (location.kind !== "sqlite" || location.path === ":memory:" || isAbsolute(location.path)) return url;
  if (baseDir === undefined) throw new StoreUrlError("a relative sqlite path needs a config file to resolve against; give an absolute path");
  return `sqlite:${resolve(baseDir, location.path)}`;
}

/** `store.url` when the config leaves it out: a file next to the config file, else in memory. */
export function defaultStoreUrl(options: { demo: boolean; configDir: string | undefined }): string {
  if (options.demo || options.configDir === undefined) return SQLITE_MEMORY_URL;
  return `sqlite:${resolve(options.configDir, DEFAULT_SQLITE_PATH)}`;
}

/** The URL fit for a log line or an error: the password replaced by `***`. */
export function maskStoreUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") {
      parsed.password = "***";
      return parsed.toString();
    }
    return url;
  } catch {
    // Not parseable as a URL: mask anything between "user:" and "@" all the same.
    return url.replace(/(\/\/[^/:@]*:)[^@]*@/, "$1***@");
  }
}
