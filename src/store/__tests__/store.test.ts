import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { Client } from "pg";
import { createLogger } from "../../common/logger";
import { startPostgres, type PostgresServer } from "../../../test/support/postgres";
import { openStore, StoreArgumentError, StoreOpenError, type StoredObservation, type UsageStore } from "../store";

const log = createLogger("silent");
const ROOT = resolve(__dirname, "../../..");
const START = Date.parse("2026-03-01T00:00:00Z");

/**
 * Node processes that each load the store, say "ready", wait for "go" on stdin (so that they open
 * the store at the same moment, not one startup time apart), open the store at STORE_URL, write one
 * answer, close it and say "ok".
 */
const CHILD = `
const { openStore } = require(${JSON.stringify(join(ROOT, "src/store/store.ts"))});
const { createLogger } = require(${JSON.stringify(join(ROOT, "src/common/logger.ts"))});
process.stdout.write("ready\\n");
process.stdin.once("data", async () => {
  try {
    const store = await openStore(process.env.STORE_URL, { log: createLogger("silent") });
    await store.write("acme", "acedata", "daily", ["2026-02-01"], [{ metric: "acedata.credits", dimensions: {}, start: "2026-02-01", end: "2026-02-01", value: 3, final: true }], true);
    await store.close();
    process.stdout.write("ok\\n");
    process.exit(0);
  } catch (error) {
    process.stderr.write(error.message);
    process.exit(1);
  }
});
`;

async function openInProcesses(url: string, n: number): Promise<string[]> {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ["--require", join(ROOT, "test/support/ts-require.js"), "-e", CHILD], { env: { PATH: process.env.PATH, STORE_URL: url } }),
  );
  const outputs = children.map((child) => {
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const ready = new Promise<void>((resolve) => child.stdout.on("data", () => out.includes("ready") && resolve()));
    const exited = new Promise<string>((resolve) => child.once("exit", (code) => resolve(code === 0 ? out.trim().split("\n").pop()! : `exit ${code}: ${err}`)));
    return { ready, exited };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin.end("go\n");
  return Promise.all(outputs.map((o) => o.exited));
}

let pg: PostgresServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "usagegraph-store-"));
  pg = await startPostgres();
}, 30_000);

afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Every migration, once each, in order. */
const MIGRATIONS = [expect.objectContaining({ name: "001_initial" }), expect.objectContaining({ name: "002_notifications" })];

const ORDER: Record<string, string> = {
  observations: "organization, provider, scope, metric, dims, start_day, end_day",
  coverage: "organization, provider, scope, day",
  kysely_migration: "name",
};

/** A store URL for a fresh, empty database: a new SQLite file in a new folder, or a new PostgreSQL database. */
type Fresh = (name: string) => Promise<string>;

interface Target {
  name: string;
  fresh: Fresh;
  /** Rows of a table as the database holds them, for "nothing changed" checks; null for :memory:. */
  dump: ((url: string, table: string) => Promise<unknown[]>) | null;
}

const sqliteFile: Target = {
  name: "SQLite file",
  fresh: async (name) => `sqlite:${join(dir, name, "usagegraph.db")}`,
  dump: async (url, table) => {
    const db = new Database(url.slice("sqlite:".length), { readonly: true });
    try {
      return db.prepare(`select * from ${table} order by ${ORDER[table]}`).all();
    } finally {
      db.close();
    }
  },
};

const postgres: Target = {
  name: "PostgreSQL",
  fresh: (name) => pg.createDatabase(name),
  dump: async (url, table) => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(`select * from ${table} order by ${ORDER[table]}`)).rows;
    } finally {
      await client.end();
    }
  },
};

const memory: Target = { name: "SQLite in memory", fresh: async () => "sqlite::memory:", dump: null };

const obs = (metric: string, day: string, value: number, dimensions: StoredObservation["dimensions"] = {}, final = true): StoredObservation => ({
  metric,
  dimensions,
  start: day,
  end: day,
  value,
  final,
});

describe.each([sqliteFile, postgres, memory])("the usage store over $name", (target) => {
  let url: string;
  let store: UsageStore;
  const dbName = target.name.toLowerCase().replace(/[^a-z]+/g, "_");

  beforeAll(async () => {
    url = await target.fresh(`suite_${dbName}`);
    store = await openStore(url, { log, now: () => START });
  });
  afterAll(() => store?.close());

  it("reads back a final answer: its observations and its covered days", async () => {
    await store.write(
      "acme",
      "acedata",
      "daily",
      ["2026-02-01", "2026-02-02"],
      [obs("acedata.credits", "2026-02-01", 12.5), obs("acedata.credits", "2026-02-02", 7)],
      true,
    );
    expect(await store.finalDays("acme", "acedata", "daily", { from: "2026-01-31", to: "2026-02-03" })).toEqual(new Set(["2026-02-01", "2026-02-02"]));
    expect(await store.observations("acme", "acedata", "daily", { from: "2026-02-01", to: "2026-02-28" })).toEqual([
      obs("acedata.credits", "2026-02-01", 12.5),
      obs("acedata.credits", "2026-02-02", 7),
    ]);
  });

  it("tells a day answered without rows (covered, zero rows) from a day never fetched (not covered)", async () => {
    await store.write("zero", "pipefy", "daily", ["2026-02-10"], [], true);
    const range = { from: "2026-02-10", to: "2026-02-11" };
    expect(await store.finalDays("zero", "pipefy", "daily", range)).toEqual(new Set(["2026-02-10"]));
    expect(await store.observations("zero", "pipefy", "daily", range)).toEqual([]);
  });

  it("never reads non-final data back as final", async () => {
    await store.write("fresh", "aiStudio", "daily", ["2026-02-20"], [obs("aiStudio.tokens", "2026-02-20", 40, {}, false)], false);
    const range = { from: "2026-02-20", to: "2026-02-20" };
    expect(await store.finalDays("fresh", "aiStudio", "daily", range)).toEqual(new Set());
    expect(await store.observations("fresh", "aiStudio", "daily", range)).toEqual([]);
    expect(await store.extent("fresh", "aiStudio")).toEqual({ from: null, through: null, days: 0 });
  });

  it("replaces a non-final value by a later final one, and never a final value by a non-final one", async () => {
    const range = { from: "2026-02-21", to: "2026-02-21" };
    await store.write("late", "aiStudio", "daily", ["2026-02-21"], [obs("aiStudio.tokens", "2026-02-21", 40, {}, false)], false);
    await store.write("late", "aiStudio", "daily", ["2026-02-21"], [obs("aiStudio.tokens", "2026-02-21", 55)], true);
    expect(await store.observations("late", "aiStudio", "daily", range)).toEqual([obs("aiStudio.tokens", "2026-02-21", 55)]);
    await store.write("late", "aiStudio", "daily", ["2026-02-21"], [obs("aiStudio.tokens", "2026-02-21", 99, {}, false)], false);
    expect(await store.observations("late", "aiStudio", "daily", range)).toEqual([obs("aiStudio.tokens", "2026-02-21", 55)]);
    expect(await store.finalDays("late", "aiStudio", "daily", range)).toEqual(new Set(["2026-02-21"]));
  });

  it("upserts idempotently: writing the same answer twice leaves one row per key", async () => {
    const answer = [
      obs("jiandaoyun.apiCalls", "2026-01-05", 3, { api: { value: "a1", label: "Orders" } }),
      obs("jiandaoyun.apiCalls", "2026-01-05", 4, { api: { value: "a2", label: "Forms" } }),
    ];
    await store.write("idem", "jiandaoyun", "daily:api", ["2026-01-05"], answer, true);
    await store.write("idem", "jiandaoyun", "daily:api", ["2026-01-05"], answer, true);
    const read = await store.observations("idem", "jiandaoyun", "daily:api", { from: "2026-01-05", to: "2026-01-05" });
    expect(read).toHaveLength(2);
    expect(read.map((o) => o.value).sort()).toEqual([3, 4]);
  });

  it("keeps dimensions with their labels, one row whatever the order of the keys", async () => {
    const day = "2026-01-06";
    await store.write(
      "dims",
      "adverity",
      "daily",
      [day],
      [obs("adverity.rows", day, 1, { workspace: { value: "w1", label: "Main" }, datastream: { value: "d9", label: "Ads" } })],
      true,
    );
    // Same dimensions, other key order and a renamed label: the same series, updated.
    await store.write(
      "dims",
      "adverity",
      "daily",
      [day],
      [obs("adverity.rows", day, 2, { datastream: { value: "d9", label: "Ads (EU)" }, workspace: { value: "w1", label: "Main" } })],
      true,
    );
    expect(await store.observations("dims", "adverity", "daily", { from: day, to: day })).toEqual([
      obs("adverity.rows", day, 2, { datastream: { value: "d9", label: "Ads (EU)" }, workspace: { value: "w1", label: "Main" } }),
    ]);
  });

  it("keeps coverage and rows per scope: a filtered answer and an unfiltered one never mix", async () => {
    const day = "2026-02-01";
    const range = { from: day, to: day };
    const all = [obs("acedata.credits", day, 5, { api: { value: "a1", label: "A1" } }), obs("acedata.credits", day, 7, { api: { value: "a2", label: "A2" } })];
    await store.write("scopes", "acedata", "groupBy:api", [day], all, true);
    await store.write("scopes", "acedata", "groupBy:api where:api=a1", [day], [obs("acedata.credits", day, 5, { api: { value: "a1", label: "A1" } })], true);
    expect(await store.observations("scopes", "acedata", "groupBy:api", range)).toEqual(all);
    expect(await store.observations("scopes", "acedata", "groupBy:api where:api=a1", range)).toEqual([all[0]]);
    expect(await store.finalDays("scopes", "acedata", "daily", range)).toEqual(new Set());
    expect(await store.observations("scopes", "acedata", "daily", range)).toEqual([]);
  });

  it("reads the windows that overlap the range, and only the metrics asked for", async () => {
    const month: StoredObservation = {
      metric: "pipefy.operations",
      dimensions: { operation: { value: "createCard", label: "createCard" } },
      start: "2026-01-01",
      end: "2026-01-31",
      value: 900,
      final: true,
    };
    await store.write(
      "windows",
      "pipefy",
      "breakdown:operation:2026-01",
      ["2026-01-01", "2026-01-31"],
      [month, obs("pipefy.aiCredits", "2026-01-15", 5)],
      true,
    );
    expect(await store.observations("windows", "pipefy", "breakdown:operation:2026-01", { from: "2026-01-01", to: "2026-01-31" })).toEqual([
      month,
      obs("pipefy.aiCredits", "2026-01-15", 5),
    ]);
    expect(await store.observations("windows", "pipefy", "breakdown:operation:2026-01", { from: "2026-01-16", to: "2026-02-10" })).toEqual([month]);
    expect(await store.observations("windows", "pipefy", "breakdown:operation:2026-01", { from: "2025-12-01", to: "2026-01-01" })).toEqual([month]);
    expect(await store.observations("windows", "pipefy", "breakdown:operation:2026-01", { from: "2026-02-01", to: "2026-02-28" })).toEqual([]);
    expect(
      await store.observations("windows", "pipefy", "breakdown:operation:2026-01", { from: "2026-01-01", to: "2026-01-31" }, ["pipefy.operations"]),
    ).toEqual([month]);
    expect(await store.observations("windows", "pipefy", "breakdown:operation:2026-01", { from: "2026-01-01", to: "2026-01-31" }, [])).toEqual([]);
  });

  it("refuses a non-finite value, a final write with a non-final row, a key given twice and a window over 366 days, writing nothing", async () => {
    const day = "2026-01-07";
    const bad = [
      [obs("acedata.credits", day, 1), obs("acedata.credits", "2026-01-08", Number.NaN)],
      [obs("acedata.credits", day, Number.POSITIVE_INFINITY)],
      [obs("acedata.credits", day, 1, {}, false)],
      [obs("acedata.credits", day, 1), obs("acedata.credits", day, 2)],
      [{ ...obs("acedata.credits", day, 1), start: "2025-01-01" }],
    ];
    for (const answer of bad) {
      await expect(store.write("refused", "acedata", "daily", [day], answer, true)).rejects.toThrow(StoreArgumentError);
    }
    await expect(store.write("refused", "acedata", "daily", ["2026-02-30"], [], true)).rejects.toThrow(StoreArgumentError);
    expect(await store.finalDays("refused", "acedata", "daily", { from: day, to: "2026-01-08" })).toEqual(new Set());
    expect(await store.observations("refused", "acedata", "daily", { from: day, to: "2026-01-08" })).toEqual([]);
  });

  it("reports the extent: first and last final day and the number of final days, any scope", async () => {
    await store.write("extent", "pipefy", "daily", ["2026-01-03", "2026-01-04"], [], true);
    await store.write("extent", "pipefy", "breakdown", ["2026-01-04", "2026-01-09"], [], true);
    await store.write("extent", "pipefy", "daily", ["2026-01-20"], [], false);
    expect(await store.extent("extent", "pipefy")).toEqual({ from: "2026-01-03", through: "2026-01-09", days: 3 });
    expect(await store.extent("extent", "acedata")).toEqual({ from: null, through: null, days: 0 });
  });

  it("records a collection run, updates it when it ends, and lists runs newest first", async () => {
    const first = {
      organization: "runs",
      provider: "acedata",
      startedAt: "2026-03-01T02:30:00Z",
      finishedAt: null,
      state: "RUNNING" as const,
      errorCode: null,
      errorMessage: null,
      days: 0,
    };
    await store.recordRun(first);
    await store.recordRun({ ...first, finishedAt: "2026-03-01T02:31:10.500Z", state: "OK", days: 2 });
    await store.recordRun({
      ...first,
      startedAt: "2026-03-02T02:30:00.000Z",
      finishedAt: "2026-03-02T02:30:05.000Z",
      state: "FAILED",
      errorCode: "UPSTREAM_TIMEOUT",
      errorMessage: "Ace Data did not answer in 10 s",
    });
    expect(await store.lastRuns("runs", "acedata", 5)).toEqual([
      {
        ...first,
        startedAt: "2026-03-02T02:30:00.000Z",
        finishedAt: "2026-03-02T02:30:05.000Z",
        state: "FAILED",
        errorCode: "UPSTREAM_TIMEOUT",
        errorMessage: "Ace Data did not answer in 10 s",
      },
      { ...first, startedAt: "2026-03-01T02:30:00.000Z", finishedAt: "2026-03-01T02:31:10.500Z", state: "OK", days: 2 },
    ]);
    expect(await store.lastRuns("runs", "acedata", 1)).toHaveLength(1);
  });

  it("lets exactly one of several concurrent claims of a delivery through, and none once it is sent", async () => {
    const key = { organization: "notify", alertId: "ANOMALY:acedata:x:2026-03-01", webhook: "hook-a" };
    const claims = await Promise.all([1, 2, 3, 4].map(() => store.claimNotification(key, 60_000)));
    const winners = claims.filter((c): c is string => c !== null);
    expect(winners).toHaveLength(1);
    await store.settleNotification(key, winners[0]!, { sent: true, status: 200, attempts: 1 });
    expect(await store.claimNotification(key, 60_000)).toBeNull();
    // Another webhook of the same alert is a delivery of its own.
    expect(await store.claimNotification({ ...key, webhook: "hook-b" }, 60_000)).not.toBeNull();
  });

  it("gives a failed delivery to the next claim, once, and never to a stale claimer's settle", async () => {
    const key = { organization: "notify", alertId: "BUDGET_THRESHOLD:b:2026-03-01:0.8", webhook: "hook-a" };
    const first = (await store.claimNotification(key, 60_000))!;
    expect(await store.claimNotification(key, 60_000)).toBeNull();
    await store.settleNotification(key, first, { sent: false, status: 500, attempts: 4 });
    const retries = await Promise.all([store.claimNotification(key, 60_000), store.claimNotification(key, 60_000)]);
    expect(retries.filter((c) => c !== null)).toHaveLength(1);
    // The first claimer's late settle does not touch the row the retry now owns.
    await store.settleNotification(key, first, { sent: true, status: 200, attempts: 1 });
    expect(await store.claimNotification(key, 60_000)).toBeNull();
    await store.settleNotification(
      key,
      retries.find((c) => c !== null)!,
      { sent: true, status: 200, attempts: 1 },
    );
    expect(await store.claimNotification(key, 60_000)).toBeNull();
  });

  it("answers healthy while open", async () => {
    expect(store.kind).toBe(target.name === "PostgreSQL" ? "postgres" : "sqlite");
    expect(await store.healthy()).toBe(true);
  });
});

describe.each([sqliteFile, postgres])("opening the same $name twice", (target) => {
  const dbName = target.name.toLowerCase().replace(/[^a-z]+/g, "_");

  it("changes nothing when the same answer is written twice, not even updated_at", async () => {
    const url = await target.fresh(`idem_${dbName}`);
    let now = START;
    const store = await openStore(url, { log, now: () => now });
    try {
      const answer = [obs("acedata.credits", "2026-02-01", 1.25, { api: { value: "x", label: "X" } }), obs("acedata.credits", "2026-02-02", 0)];
      await store.write("acme", "acedata", "daily", ["2026-02-01", "2026-02-02", "2026-02-03"], answer, true);
      const before = { observations: await target.dump!(url, "observations"), coverage: await target.dump!(url, "coverage") };
      now += 3_600_000;
      await store.write("acme", "acedata", "daily", ["2026-02-01", "2026-02-02", "2026-02-03"], answer, true);
      expect({ observations: await target.dump!(url, "observations"), coverage: await target.dump!(url, "coverage") }).toEqual(before);
    } finally {
      await store.close();
    }
  });

  it("hands a delivery whose claimer vanished mid-flight to another store once its lease has passed, and keeps a sent one across a reopen", async () => {
    const url = await target.fresh(`lease_${dbName}`);
    let now = START;
    const first = await openStore(url, { log, now: () => now });
    const key = { organization: "acme", alertId: "SOURCE_FAILING:acedata:2026-03-01T02:30:00.000Z", webhook: "hook" };
    expect(await first.claimNotification(key, 60_000)).not.toBeNull();
    await first.close();
    const second = await openStore(url, { log, now: () => now });
    try {
      now += 30_000;
      expect(await second.claimNotification(key, 60_000)).toBeNull();
      now += 60_000;
      const claim = await second.claimNotification(key, 60_000);
      expect(claim).not.toBeNull();
      await second.settleNotification(key, claim!, { sent: true, status: 204, attempts: 1 });
      now += 3_600_000;
      expect(await second.claimNotification(key, 60_000)).toBeNull();
    } finally {
      await second.close();
    }
  });

  it("keeps the data across a reopen, and running the migrations again is harmless", async () => {
    const url = await target.fresh(`reopen_${dbName}`);
    const first = await openStore(url, { log });
    await first.write("acme", "acedata", "daily", ["2026-02-01"], [obs("acedata.credits", "2026-02-01", 3)], true);
    await first.close();
    const second = await openStore(url, { log });
    try {
      expect(await second.observations("acme", "acedata", "daily", { from: "2026-02-01", to: "2026-02-01" })).toEqual([
        obs("acedata.credits", "2026-02-01", 3),
      ]);
      expect(await target.dump!(url, "kysely_migration")).toEqual(MIGRATIONS);
    } finally {
      await second.close();
    }
  });

  it("migrates once when several stores open a fresh database at the same moment", async () => {
    const url = await target.fresh(`race_${dbName}`);
    const stores = await Promise.all([openStore(url, { log }), openStore(url, { log }), openStore(url, { log })]);
    try {
      await Promise.all(
        stores.map((s, i) => s.write("acme", "acedata", "daily", ["2026-02-01"], [obs("acedata.credits", "2026-02-01", 3)], true).then(() => i)),
      );
      expect(await target.dump!(url, "kysely_migration")).toEqual(MIGRATIONS);
      for (const s of stores) expect(await s.finalDays("acme", "acedata", "daily", { from: "2026-02-01", to: "2026-02-01" })).toEqual(new Set(["2026-02-01"]));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

describe("a SQLite store file", () => {
  // Stores of one process share one connection per file (see openSqliteFile); what keeps two
  // processes apart is SQLite's own locking, so this takes two processes. (Two PostgreSQL stores are
  // two sessions whether in one process or two: the in-process race above covers them.)
  it("is migrated once when three processes open it fresh at the same moment", async () => {
    const url = await sqliteFile.fresh("processes");
    expect(await openInProcesses(url, 3)).toEqual(["ok", "ok", "ok"]);
    expect(await sqliteFile.dump!(url, "kysely_migration")).toEqual(MIGRATIONS);
    expect(await sqliteFile.dump!(url, "observations")).toHaveLength(1);
  });

  it("is created with its folder and written in WAL mode", async () => {
    const file = join(dir, "made", "for", "it", "usagegraph.db");
    const store = await openStore(`sqlite:${file}`, { log });
    try {
      expect(statSync(file).isFile()).toBe(true);
      const db = new Database(file, { readonly: true });
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
      db.close();
    } finally {
      await store.close();
    }
    expect(await store.healthy()).toBe(false);
    await store.close();
  });
});

describe("store.url none", () => {
  it("stores nothing and covers nothing", async () => {
    const store = await openStore("none", { log });
    expect(store.kind).toBe("none");
    await store.write("acme", "acedata", "daily", ["2026-02-01"], [obs("acedata.credits", "2026-02-01", 3)], true);
    expect(await store.finalDays("acme", "acedata", "daily", { from: "2026-02-01", to: "2026-02-01" })).toEqual(new Set());
    expect(await store.observations("acme", "acedata", "daily", { from: "2026-02-01", to: "2026-02-01" })).toEqual([]);
    expect(await store.extent("acme", "acedata")).toEqual({ from: null, through: null, days: 0 });
    expect(await store.lastRuns("acme", "acedata", 3)).toEqual([]);
    expect(await store.healthy()).toBe(true);
    await store.close();
  });
});

describe("a store that cannot be opened", () => {
  async function openError(url: string): Promise<StoreOpenError> {
    try {
      const store = await openStore(url, { log });
      await store.close();
    } catch (error) {
      expect(error).toBeInstanceOf(StoreOpenError);
      const e = error as StoreOpenError;
      expect(e.message).not.toMatch(/[\r\n]/);
      return e;
    }
    throw new Error("expected a StoreOpenError");
  }

  it("names an unknown scheme, never the URL", async () => {
    const e = await openError("mysql://root:hunter2-secret@127.0.0.1:3306/usage");
    expect(e.reason).toBe("BAD_URL");
    expect(e.message).toBe('store.url: unknown scheme "mysql"; expected sqlite:<path>, sqlite::memory:, postgres://user:pass@host:port/db or none');
    expect((await openError("hunter2-secret")).message).not.toContain("hunter2");
  });

  it("names a path where no folder can be created or no file opened", async () => {
    const folder = await openError("sqlite:/proc/usagegraph-test/usagegraph.db");
    expect(folder.reason).toBe("CANNOT_CREATE_FOLDER");
    expect(folder.message).toMatch(
      /^cannot open store sqlite:\/proc\/usagegraph-test\/usagegraph\.db: cannot create folder \/proc\/usagegraph-test \(E[A-Z]+\)$/,
    );
    const file = await openError("sqlite:/proc/usagegraph.db");
    expect(file.reason).toBe("CANNOT_OPEN");
    expect(file.message).toMatch(/^cannot open store sqlite:\/proc\/usagegraph\.db: /);
  });

  it("names a file that is not a SQLite database", async () => {
    const path = join(dir, "not-a-database.db");
    writeFileSync(path, "this is not SQLite ".repeat(100));
    const e = await openError(`sqlite:${path}`);
    expect(e.reason).toBe("CANNOT_OPEN");
    expect(e.message).toBe(`cannot open store sqlite:${path}: file is not a database`);
  });

  it("names a refused connection, with the password masked", async () => {
    // A port that was free a moment ago: nothing listens there.
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address() as AddressInfo;
        srv.close(() => resolve(port));
      });
    });
    const e = await openError(`postgres://usagegraph:s3cret-refused@127.0.0.1:${closed}/usage`);
    expect(e.reason).toBe("CONNECTION_REFUSED");
    expect(e.message).toBe(`cannot open store postgres://usagegraph:***@127.0.0.1:${closed}/usage: connection refused`);
  });

  it("names failed authentication and holds neither the wrong nor the right password", async () => {
    await pg.createDatabase("auth_check");
    const wrong = "wr0ng-p@ss:word";
    const e = await openError(pg.urlWithPassword("auth_check", wrong));
    expect(e.reason).toBe("AUTHENTICATION_FAILED");
    expect(e.message).toBe(`cannot open store postgres://usagegraph:***@127.0.0.1:${pg.port}/auth_check: authentication failed (wrong user or password)`);
    for (const secret of [wrong, encodeURIComponent(wrong), pg.password]) expect(e.message).not.toContain(secret);

    const none = await openError(`postgres://usagegraph@127.0.0.1:${pg.port}/auth_check`);
    expect(none.reason).toBe("AUTHENTICATION_FAILED");
  });

  it("names a database that does not exist", async () => {
    const e = await openError(pg.urlWithPassword("no_such_db", pg.password));
    expect(e.reason).toBe("NO_DATABASE");
    expect(e.message).not.toContain(pg.password);
  });
});
