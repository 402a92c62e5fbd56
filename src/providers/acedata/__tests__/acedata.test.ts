import { addDays, eachDay, todayIn } from "../../../common/dates";
import { ErrorCode } from "../../../common/errors";
import { contractSample, restContract } from "../../../contracts/upstream-contracts";
import { takeContractViolations } from "../../../../test/support/contract-violations";
import { startEmulator } from "../../../../test/support/emulators";
import { callContext, failure, providerDeps } from "../../../../test/support/provider-harness";
import type { Provider, ProviderQuery, ProviderResult } from "../../provider";
import { ACEDATA_APIS, ACEDATA_DEMO_TOKEN, AceDataEmulator } from "../acedata.emulator";
import { acedataModule } from "../acedata.provider";
import { AceDataSettings } from "../acedata.settings";

const PATH = "/api/v1/usage/apis/aggregate/";
const day = (offset: number) => addDays(todayIn("UTC"), offset);

let emulator: AceDataEmulator;
beforeAll(async () => {
  emulator = await startEmulator(AceDataEmulator);
});
beforeEach(() => {
  emulator.clearFaults().resetLog();
  emulator.shape = "documented";
});

/** A fresh provider (no cache, no held answers) against the emulator. */
function provider(overrides: Partial<AceDataSettings> = {}): Provider {
  const settings = Object.assign(new AceDataSettings(), { baseUrl: emulator.url, token: ACEDATA_DEMO_TOKEN, timeoutMs: 3_000, maxRetries: 0 }, overrides);
  return acedataModule.create(settings, providerDeps());
}

function query(from: string, to: string, apiIds?: readonly string[], records = false): ProviderQuery {
  return {
    range: { from, to },
    metrics: ["acedata.credits"],
    groupBy: ["api"],
    where: apiIds ? [{ key: "api", in: apiIds }] : [],
    granularity: "DAY",
    records,
  };
}

async function fetchWith(q: ProviderQuery, p: Provider = provider()): Promise<ProviderResult> {
  return p.fetch(q, callContext());
}

/** api id → [date, value] of the observations of one result. */
function byApi(result: ProviderResult): Record<string, Array<[string, number]>> {
  const out: Record<string, Array<[string, number]>> = {};
  for (const o of result.observations) (out[o.dimensions.api!.value] ??= []).push([o.start, o.value]);
  return out;
}

/** An API with spend on `date` in the emulator's data. */
function apiWithSpend(date: string): (typeof ACEDATA_APIS)[number] {
  return ACEDATA_APIS.find((a) => emulator.amount(date, a.id) > 0)!;
}

describe("Ace Data Cloud request", () => {
  it("sends the contract's query: both ISO instants with seconds and an offset, the end inclusive, each api_id once, no user_id", async () => {
    const [a, b] = [ACEDATA_APIS[1]!.id, ACEDATA_APIS[0]!.id];
    await fetchWith(query(day(-12), day(-10), [a, b, a]), provider({ applicationId: "app-7" }));
    expect(emulator.requests).toHaveLength(1);
    const r = emulator.requests[0]!;
    expect([r.method, r.path, r.headers.authorization, r.headers.accept]).toEqual(["GET", PATH, `Bearer ${ACEDATA_DEMO_TOKEN}`, "application/json"]);
    const ids = [a, b].sort();
    expect(r.rawQuery).toBe(
      `created_at_from=${day(-12)}T00%3A00%3A00Z&created_at_to=${day(-10)}T23%3A59%3A59Z&application_id=app-7&api_id=${ids[0]}&api_id=${ids[1]}`,
    );
    expect(r.query.has("user_id")).toBe(false);
  });

  it("never sends an empty api_id, and reports the empty id as not in the answer", async () => {
    const api = apiWithSpend(day(-14));
    const result = await fetchWith(query(day(-14), day(-14), [api.id, ""]));
    expect(emulator.requests[0]!.query.getAll("api_id")).toEqual([api.id]);
    expect(Object.keys(byApi(result))).toEqual([api.id]);
    expect(result.issues).toEqual([{ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining('the API "" asked for in where was not in') }]);
  });

  it("is refused by the emulator with the vendor's 400 envelope when created_at is a bare date", async () => {
    const res = await fetch(`${emulator.url}${PATH}?created_at_from=2024-08-01&created_at_to=2024-08-31`, {
      headers: { authorization: `Bearer ${ACEDATA_DEMO_TOKEN}` },
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "bad_request", message: expect.any(String) }, trace_id: expect.any(String) });
    // The request is off the contract on purpose: the checker saw it.
    expect(takeContractViolations()).toEqual([expect.stringMatching(/^acedata: request query \/created_at_from must match/)]);
  });
});

describe("Ace Data Cloud APIs asked for in where", () => {
  it("reports an API the answer does not name as PARTIAL with UPSTREAM_PARTIAL_DATA instead of dropping it silently", async () => {
    const date = day(-20);
    const api = apiWithSpend(date);
    const result = await fetchWith(query(date, date, [api.id, "no-such-api"]));
    expect(byApi(result)).toEqual({ [api.id]: [[date, emulator.amount(date, api.id)]] });
    expect(result.issues).toEqual([
      {
        code: ErrorCode.UPSTREAM_PARTIAL_DATA,
        message: `the API "no-such-api" asked for in where was not in Ace Data Cloud's answer for ${date}..${date}: it either spent nothing in that range or is not an Ace Data API id (where matches API ids); no numbers are shown for it`,
      },
    ]);
  });

  it("reports real zeros, and no issue, for an API the answer names in its API map without rows", async () => {
    const from = day(-31);
    const to = day(-30);
    emulator.inject({ kind: "status", status: 200, body: { results: [], total: 0, api_map: { "idle-api": { name: "Idle API" } } } }, 1);
    const result = await fetchWith(query(from, to, ["idle-api"]));
    expect(result.issues).toEqual([]);
    expect(result.observations.map((o) => [o.dimensions.api, o.start, o.value])).toEqual(
      eachDay(from, to).map((d) => [{ value: "idle-api", label: "Idle API" }, d, 0]),
    );
  });
});

describe("Ace Data Cloud answers", () => {
  it("accepts the document's sample body and every example of the contract's response definitions", async () => {
    emulator.inject({ kind: "status", status: 200, body: contractSample("acedata-1.json") }, 1);
    const sample = await fetchWith(query("2024-08-15", "2024-08-16"));
    expect(sample.issues).toEqual([]);
    expect(byApi(sample)).toEqual({
      "api-uuid-1": [
        ["2024-08-15", 45.5],
        ["2024-08-16", 30.2],
      ],
      "api-uuid-2": [
        ["2024-08-15", 12.3],
        ["2024-08-16", 0],
      ],
    });
    expect(sample.observations.find((o) => o.dimensions.api!.value === "api-uuid-2")!.dimensions.api!.label).toBe("Claude Messages");

    const defs = (restContract("acedata") as { $defs: Record<string, { examples?: unknown[] }> }).$defs;
    const examples = ["response", "documentedResponse", "liveResponse"].flatMap((name) => defs[name]!.examples ?? []);
    expect(examples.length).toBeGreaterThan(0);
    for (const body of examples) {
      emulator.inject({ kind: "status", status: 200, body }, 1);
      const result = await fetchWith(query("2024-08-15", "2024-08-16"));
      expect(result.issues).toEqual([]);
    }
  });

  it("maps the contract's error example (invalid_token) to UPSTREAM_AUTH_FAILED", async () => {
    const [body] = (restContract("acedata") as { $defs: { errorEnvelope: { examples: unknown[] } } }).$defs.errorEnvelope.examples;
    emulator.inject({ kind: "status", status: 401, body }, 1);
    expect((await failure(fetchWith(query(day(-40), day(-40))), ACEDATA_DEMO_TOKEN)).code).toBe(ErrorCode.UPSTREAM_AUTH_FAILED);
  });

  it("accepts what the contract leaves optional or open: no API map entry, no name or title, unknown extra fields", async () => {
    const date = day(-50);
    emulator.inject(
      {
        kind: "status",
        status: 200,
        body: {
          results: [
            { date, api_id: "a", amount: 1.5, currency: "credits" },
            { date, api_id: "b", amount: 2 },
          ],
          total: 3.5,
          api_map: { a: { path: "/v1/a" } },
          next: null,
        },
      },
      1,
    );
    const documented = await fetchWith(query(date, date, undefined, true));
    expect(documented.issues).toEqual([]);
    expect(documented.observations.map((o) => [o.dimensions.api, o.value])).toEqual([
      [{ value: "a", label: "a" }, 1.5],
      [{ value: "b", label: "b" }, 2],
    ]);
    expect(documented.records).toEqual([
      expect.objectContaining({ apiId: "a", apiName: "a", apiPath: "/v1/a", amount: 1.5 }),
      expect.objectContaining({ apiId: "b", apiName: "b", apiPath: null, amount: 2 }),
    ]);

    emulator.inject({ kind: "status", status: 200, body: { items: [{ date, api_id: "a", amount: 4 }], total: 4, apis: { a: {}, z: { title: "Zed" } } } }, 1);
    const live = await fetchWith(query(date, date));
    expect(live.observations.map((o) => [o.dimensions.api, o.value])).toEqual([
      [{ value: "a", label: "a" }, 4],
      [{ value: "z", label: "Zed" }, 0],
    ]);
  });

  it("fails with UPSTREAM_BAD_RESPONSE when a (date, api_id) row repeats, instead of counting it twice", async () => {
    const date = day(-60);
    const row = { date, api_id: ACEDATA_APIS[0]!.id, amount: 71.6 };
    emulator.inject(
      {
        kind: "status",
        status: 200,
        body: { results: [row, row], total: 71.6, api_map: {} },
        offContract: "the same (date, api_id) row twice: a row is the aggregate of one API on one day",
      },
      1,
    );
    const error = await failure(fetchWith(query(date, date)), ACEDATA_DEMO_TOKEN);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain("the same (date, api_id) row twice");
    expect(error.message).not.toContain(ACEDATA_APIS[0]!.id);
  });

  it.each([
    ["a negative amount", (date: string) => ({ results: [{ date, api_id: "a", amount: -3 }], total: 0, api_map: {} }), "/results/0/amount must be >= 0"],
    ["both shapes at once", (_date: string) => ({ results: [], items: [], total: 0, api_map: {}, apis: {} }), "must match exactly one schema in oneOf"],
    ["a row without an amount", (date: string) => ({ items: [{ date, api_id: "a" }], total: 0, apis: {} }), "must have required property 'amount'"],
    [
      "a name that is not a string",
      (date: string) => ({ results: [{ date, api_id: "secret-api-id", amount: 1 }], total: 1, api_map: { "secret-api-id": { name: 7 } } }),
      "/api_map/{id}/name must be string",
    ],
  ])("fails with UPSTREAM_BAD_RESPONSE on %s, naming where the contract is broken but no upstream value", async (what, body, expected) => {
    const date = day(-61);
    emulator.inject({ kind: "status", status: 200, body: body(date), offContract: what }, 1);
    const error = await failure(fetchWith(query(date, date)), ACEDATA_DEMO_TOKEN);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain(expected);
    expect(error.message).not.toContain("secret-api-id");
  });

  it("fails with UPSTREAM_BAD_RESPONSE when a row lies outside the days asked for", async () => {
    const date = day(-62);
    emulator.inject(
      {
        kind: "status",
        status: 200,
        body: { results: [{ date: addDays(date, -1), api_id: "a", amount: 5 }], total: 5, api_map: {} },
        offContract: "a row dated outside the window asked for",
      },
      1,
    );
    const error = await failure(fetchWith(query(date, date)), ACEDATA_DEMO_TOKEN);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(error.message).toContain("outside the days asked for");
  });

  it("serves the rows but reports PARTIAL when the total is not the sum of the rows", async () => {
    const date = day(-63);
    emulator.inject(
      {
        kind: "status",
        status: 200,
        body: { results: [{ date, api_id: "a", amount: 71.6 }], total: 143.2, api_map: { a: { name: "A" } } },
        offContract: "a total that is not the sum of the rows",
      },
      1,
    );
    const result = await fetchWith(query(date, date));
    expect(byApi(result)).toEqual({ a: [[date, 71.6]] });
    expect(result.issues).toEqual([{ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: expect.stringContaining("total differs from the sum of the rows") }]);
  });

  it("takes a total that differs from the rows' sum only by rounding as consistent", async () => {
    const date = day(-64);
    const results = [0.1, 0.2, 0.3, 12.345].map((amount, i) => ({ date, api_id: `api-${i}`, amount }));
    emulator.inject({ kind: "status", status: 200, body: { results, total: 12.95, api_map: {} } }, 1);
    expect((await fetchWith(query(date, date))).issues).toEqual([]);
  });
});
