import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, resolveConfig } from "../src/config/config";

/** Budgets and webhooks in the config (DESIGN §7): every mistake stops startup with one line naming the field. */
const ROOT = join(__dirname, "..");
const HOOK = "https://hooks.slack.example/services/T000/B000/s3cret-hook-token";

const org = (extra: Record<string, unknown>) => ({
  organizations: [
    {
      id: "acme",
      name: "Acme",
      providers: {
        acedata: { baseUrl: "http://127.0.0.1:9", token: "t".repeat(20) },
        jiandaoyun: { baseUrl: "http://127.0.0.1:9", apiKey: "k".repeat(20) },
      },
      ...extra,
    },
  ],
});
const budget = (fields: Record<string, unknown>) =>
  org({ budgets: [{ id: "ace", name: "Ace Data credits", metric: "acedata.credits", period: "MONTH", amount: 5000, ...fields }] });

function messageOf(raw: unknown, env: NodeJS.ProcessEnv = {}): string {
  try {
    resolveConfig(raw, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("budgets in the config", () => {
  it("applies the documented defaults: thresholds 0.8 and 1, UTC, the id as the name", () => {
    const config = resolveConfig(org({ budgets: [{ id: "ace", metric: "acedata.credits", period: "WEEK", amount: 100 }] }), {});
    expect(config.organizations[0]!.budgets).toEqual([
      { id: "ace", name: "ace", metric: "acedata.credits", period: "WEEK", amount: 100, where: [], timeZone: "UTC", thresholds: [0.8, 1] },
    ]);
    expect(config.organizations[0]!.notify).toEqual({ webhooks: [] });
  });

  it("keeps a full budget as written, thresholds in ascending order", () => {
    const config = resolveConfig(budget({ where: [{ key: "api", in: ["8a2d"] }], timeZone: "Europe/Berlin", thresholds: [1, 0.5, 0.9] }), {});
    expect(config.organizations[0]!.budgets[0]).toMatchObject({ where: [{ key: "api", in: ["8a2d"] }], timeZone: "Europe/Berlin", thresholds: [0.5, 0.9, 1] });
  });

  it.each([
    [
      "an unknown metric",
      { metric: "acedata.credit" },
      'organizations[0].budgets[0].metric: "acedata.credit" is not a metric key (did you mean "acedata.credits"?)',
    ],
    ["a GAUGE metric", { metric: "jiandaoyun.app" }, "organizations[0].budgets[0].metric: jiandaoyun.app is a GAUGE metric"],
    [
      "a metric of a provider the organization does not configure",
      { metric: "pipefy.api_calls" },
      "organizations[0].budgets[0].metric: pipefy.api_calls is a metric of pipefy, which this organization does not configure",
    ],
    [
      "an unknown dimension key",
      { where: [{ key: "workspace", in: ["w1"] }] },
      'organizations[0].budgets[0].where[0].key: "workspace" is not a dimension of acedata.credits; it has: api',
    ],
    ["a filter without values", { where: [{ key: "api", in: [] }] }, "organizations[0].budgets[0].where[0].in: must be a non-empty list"],
    ["an amount of 0", { amount: 0 }, "organizations[0].budgets[0].amount: must be a number above 0"],
    ["a negative amount", { amount: -5 }, "organizations[0].budgets[0].amount: must be a number above 0"],
    ["an amount that is not a number", { amount: "5000" }, "organizations[0].budgets[0].amount: must be a number above 0"],
    ["a threshold of 0", { thresholds: [0, 1] }, "organizations[0].budgets[0].thresholds[0]: 0 is outside (0, 10]"],
    ["a threshold above 10", { thresholds: [0.8, 11] }, "organizations[0].budgets[0].thresholds[1]: 11 is outside (0, 10]"],
    ["a negative threshold", { thresholds: [-0.5] }, "organizations[0].budgets[0].thresholds[0]: -0.5 is outside (0, 10]"],
    ["no thresholds", { thresholds: [] }, "organizations[0].budgets[0].thresholds: must be a non-empty list"],
    ["an unknown period", { period: "YEAR" }, "organizations[0].budgets[0].period: must be one of DAY, WEEK, MONTH"],
    ["an unknown time zone", { timeZone: "Mars/Olympus" }, 'organizations[0].budgets[0].timeZone: "Mars/Olympus" is not an IANA time zone'],
    ["the id of Pipefy's quota", { id: "pipefy.quota" }, 'organizations[0].budgets[0].id: "pipefy.quota" is the budget Pipefy\'s own quota appears as'],
    ["an unknown field", { limit: 3 }, "organizations[0].budgets[0].limit: unknown field"],
  ])("refuses %s with one line naming the field", (_what, fields, expected) => {
    const message = messageOf(budget(fields));
    expect(message.startsWith(expected)).toBe(true);
    expect(message).not.toContain("\n");
  });

  it("refuses two budgets with one id", () => {
    const raw = org({
      budgets: [
        { id: "a", metric: "acedata.credits", period: "DAY", amount: 1 },
        { id: "a", metric: "acedata.credits", period: "WEEK", amount: 2 },
      ],
    });
    expect(messageOf(raw)).toBe('organizations[0].budgets[1].id: "a" is used twice in this organization');
  });
});

describe("webhooks in the config", () => {
  it("takes the URL from the environment and every kind by default", () => {
    const config = resolveConfig(org({ notify: { webhooks: [{ url: "${HOOK_URL}" }, { name: "finance", url: HOOK, kinds: ["BUDGET_THRESHOLD"] }] } }), {
      HOOK_URL: HOOK,
    });
    expect(config.organizations[0]!.notify.webhooks).toEqual([
      { name: null, url: HOOK, kinds: ["BUDGET_THRESHOLD", "ANOMALY", "SOURCE_FAILING"] },
      { name: "finance", url: HOOK, kinds: ["BUDGET_THRESHOLD"] },
    ]);
  });

  it("names a bad URL without quoting it, an unknown kind, and a missing variable without a value", () => {
    const bad = `ftp://${HOOK.slice("https://".length)}`;
    const message = messageOf(org({ notify: { webhooks: [{ url: bad }] } }));
    expect(message).toBe("organizations[0].notify.webhooks[0].url: must be an http:// or https:// URL");
    expect(message).not.toContain("s3cret");
    expect(messageOf(org({ notify: { webhooks: [{ url: HOOK, kinds: ["BUDGET"] }] } }))).toBe(
      'organizations[0].notify.webhooks[0].kinds[0]: "BUDGET" is not one of BUDGET_THRESHOLD, ANOMALY, SOURCE_FAILING',
    );
    expect(messageOf(org({ notify: { webhooks: [{ url: "${HOOK_URL}" }] } }))).toBe(
      "organizations[0].notify.webhooks[0].url: environment variable HOOK_URL is not set",
    );
  });
});

describe("a server started with a bad budget", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "usagegraph-budgets-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("exits with code 2 and one line that names the field", async () => {
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ server: { host: "127.0.0.1", port: 0 }, store: { url: "none" }, ...budget({ thresholds: [0.8, 12] }) }));
    const child = spawn(process.execPath, ["--require", join(ROOT, "test/support/ts-require.js"), join(ROOT, "src/index.ts"), "--config", file], {
      env: { PATH: process.env.PATH, USAGEGRAPH_LOG_LEVEL: "silent" },
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    clearTimeout(timer);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([
      "usagegraph: configuration error: organizations[0].budgets[0].thresholds[1]: 12 is outside (0, 10]; a threshold is a fraction of the amount (0.8 = 80 %)",
    ]);
  });
});
