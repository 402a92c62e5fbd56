import { eachDay, type DateRange } from "../../common/dates";
import { ErrorCode } from "../../common/errors";
import { createLogger } from "../../common/logger";
import { PIPEFY_CATALOG } from "../../providers/pipefy/pipefy.catalog";
import type { Observation, Provider, ProviderQuery, ProviderResult, SourceIssue } from "../../providers/provider";
import { openStore, type UsageStore } from "../../store/store";
import { callContext } from "../../../test/support/provider-harness";
import { fetchScope, StoredFetch } from "../stored-fetch";

/**
 * StoredFetch with windows wider than a day (Pipefy's periods): a window answers all its days, two
 * windows of one scope never count a day twice, and an answer is stored only when its issues say
 * nothing is unknown. The provider is a scripted one: what is under test is what StoredFetch does
 * with its answers, over a real (in-memory SQLite) store.
 */
const NOW = Date.parse("2026-12-01T12:00:00Z");
const log = createLogger("silent");

/** Answers every fetch with the windows `windowsFor` gives for its range, 100 calls of "createCard" each. */
class WindowedProvider implements Provider {
  readonly catalog = PIPEFY_CATALOG;
  readonly asked: DateRange[] = [];
  constructor(
    private readonly windowsFor: (range: DateRange) => DateRange[],
    private readonly extraIssues: SourceIssue[] = [],
  ) {}

  async fetch(query: ProviderQuery): Promise<ProviderResult> {
    this.asked.push({ ...query.range });
    const observations = this.windowsFor(query.range).map((w) => row(w));
    return { observations, records: [], issues: [...this.restateIssues(query, observations), ...this.extraIssues], finalizedThrough: "2026-11-30" };
  }

  restateIssues(query: ProviderQuery, observations: readonly Observation[]): SourceIssue[] {
    return observations
      .filter((o) => o.start < query.range.from || o.end > query.range.to)
      .map((o) => ({ code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: `covers ${o.start}..${o.end}`, restatable: true as const }));
  }
}

function row(w: DateRange): Observation {
  return {
    metric: "pipefy.api_calls",
    dimensions: { operation: { value: "createCard", label: "createCard" } },
    start: w.from,
    end: w.to,
    value: 100,
    final: true,
  };
}

function query(from: string, to: string): ProviderQuery {
  return { range: { from, to }, metrics: ["pipefy.api_calls"], groupBy: ["operation"], where: [], granularity: "MONTH", records: false };
}

const SEP_NOV = { from: "2026-09-01", to: "2026-11-30" };
const NOV = { from: "2026-11-01", to: "2026-11-30" };
const total = (r: ProviderResult) => r.observations.reduce((s, o) => s + o.value, 0);

describe("StoredFetch with windows", () => {
  let store: UsageStore;
  let stored: StoredFetch;
  beforeEach(async () => {
    store = await openStore("sqlite::memory:", { log, now: () => NOW });
    stored = new StoredFetch(store, log);
  });
  afterEach(() => store.close());
  const fetch = (provider: Provider, from: string, to: string) =>
    stored.fetch(
      "acme",
      provider,
      query(from, to),
      callContext(20_000, () => NOW),
    );

  it("covers every day of a final window wider than the gap, and restates its issues when read back", async () => {
    const provider = new WindowedProvider(() => [SEP_NOV]);
    const fresh = await fetch(provider, "2026-09-01", "2026-09-30");
    expect(fresh).toMatchObject({ storedDays: 0, issues: [{ message: "covers 2026-09-01..2026-11-30" }] });
    expect(await store.finalDays("acme", "pipefy", fetchScope(query("2026-09-01", "2026-09-30")), SEP_NOV)).toEqual(new Set(eachDay(SEP_NOV.from, SEP_NOV.to)));

    const october = await fetch(provider, "2026-10-01", "2026-10-31");
    expect(provider.asked).toHaveLength(1);
    expect(october).toMatchObject({ storedDays: 31, observations: [row(SEP_NOV)], issues: [{ message: "covers 2026-09-01..2026-11-30", restatable: true }] });
    const whole = await fetch(provider, SEP_NOV.from, SEP_NOV.to);
    expect(whole).toMatchObject({ storedDays: 91, observations: [row(SEP_NOV)], issues: [] });
    expect(provider.asked).toHaveLength(1);
  });

  it("never writes a window over days another window already covers, and never counts a day twice", async () => {
    // November first (its own window), then September..October, which Pipefy answers with Sep..Nov.
    const provider = new WindowedProvider((r) => (r.from >= NOV.from ? [NOV] : [SEP_NOV]));
    await fetch(provider, NOV.from, NOV.to);
    const wide = await fetch(provider, SEP_NOV.from, SEP_NOV.to);
    // The fresh Sep..Nov window displaces the stored November one: 100 calls, not 200.
    expect(wide.observations).toEqual([row(SEP_NOV)]);
    expect(total(wide)).toBe(100);
    expect(wide.issues).toEqual([]);
    // It was not written (it overlaps November's): September and October are asked again.
    const again = await fetch(provider, SEP_NOV.from, SEP_NOV.to);
    expect(provider.asked.map((r) => `${r.from}..${r.to}`)).toEqual(["2026-11-01..2026-11-30", "2026-09-01..2026-10-31", "2026-09-01..2026-10-31"]);
    expect(total(again)).toBe(100);
  });

  it("keeps one of two overlapping stored windows (racing writers) and asks again for the days only the other answered", async () => {
    const scope = fetchScope(query(NOV.from, NOV.to));
    const oct = { from: "2026-10-01", to: "2026-10-31" };
    const octNov = { from: "2026-10-15", to: "2026-11-30" };
    await store.write("acme", "pipefy", scope, eachDay(oct.from, oct.to), [row(oct)], true);
    await store.write("acme", "pipefy", scope, eachDay(octNov.from, octNov.to), [row(octNov)], true);
    const provider = new WindowedProvider((r) => [r]);
    const answer = await fetch(provider, oct.from, NOV.to);
    expect(provider.asked).toEqual([NOV]);
    expect(answer.storedDays).toBe(31);
    expect(answer.observations).toEqual([row(oct), row(NOV)]);
  });

  it("keeps the wider of two overlapping windows that two gaps were answered with: no day counted twice", async () => {
    // October is stored; September and November are gaps, which Pipefy answers with its last three
    // months (Sep..Nov) and its last month (Nov): one window holds the other.
    const scope = fetchScope(query(NOV.from, NOV.to));
    const oct = { from: "2026-10-01", to: "2026-10-31" };
    await store.write("acme", "pipefy", scope, eachDay(oct.from, oct.to), [row(oct)], true);
    const provider = new WindowedProvider((r) => (r.from === NOV.from ? [NOV] : [SEP_NOV]));
    const answer = await fetch(provider, SEP_NOV.from, SEP_NOV.to);
    expect(provider.asked).toEqual([
      { from: "2026-09-01", to: "2026-09-30" },
      { from: "2026-11-01", to: "2026-11-30" },
    ]);
    expect(answer.observations).toEqual([row(SEP_NOV)]);
    expect(total(answer)).toBe(100);
    expect(answer.issues).toEqual([]);
  });

  it("does not serve a stored window reaching past the range for a provider that cannot restate what it means", async () => {
    // An Adverity-like month read back for part of it would add days nobody asked for.
    const plain: Provider = { catalog: PIPEFY_CATALOG, fetch: (q) => new WindowedProvider((r) => [r]).fetch(q) };
    const asked: DateRange[] = [];
    const counting: Provider = { catalog: PIPEFY_CATALOG, fetch: (q, c) => (asked.push(q.range), plain.fetch(q, c)) };
    await fetch(counting, NOV.from, NOV.to);
    const part = await fetch(counting, "2026-11-10", "2026-11-30");
    expect(asked).toEqual([NOV, { from: "2026-11-10", to: "2026-11-30" }]);
    expect(part).toMatchObject({ storedDays: 0, observations: [row({ from: "2026-11-10", to: "2026-11-30" })] });
  });

  it("gives a report read from the store the lifetime of the store read held in memory", async () => {
    const provider = new WindowedProvider((r) => [r]);
    await fetch(provider, NOV.from, NOV.to);
    const call = callContext(20_000, () => NOW);
    await stored.fetch("acme", provider, query(NOV.from, NOV.to), call);
    expect(provider.asked).toHaveLength(1);
    expect(call.stats).toEqual({ upstreamRequests: 0, cachedResponses: 0, expiresAt: NOW + 5 * 60_000 });
  });

  it("sees a write of another StoredFetch on the same store at once (collection's, for the reports'): its kept reads end", async () => {
    // The reports' answer has an issue, so it is not written: the read kept in memory holds nothing.
    const unknown: SourceIssue = { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: "some days may be missing" };
    const reports = new WindowedProvider(() => [NOV], [unknown]);
    expect((await fetch(reports, NOV.from, NOV.to)).storedDays).toBe(0);
    // Collection's StoredFetch (another object, the same store) writes those days.
    const collection = new StoredFetch(store, log);
    await collection.fetch(
      "acme",
      new WindowedProvider(() => [NOV]),
      query(NOV.from, NOV.to),
      callContext(20_000, () => NOW),
    );
    expect(stored.generation).toBe(store.writes.count);
    // The reports' next read is not the one kept before the write: the days come from the store.
    const again = await fetch(reports, NOV.from, NOV.to);
    expect(again).toMatchObject({ storedDays: 30, observations: [row(NOV)], issues: [] });
    expect(reports.asked).toHaveLength(1);
  });

  it("stores nothing of an answer with an issue that may hide unknown days", async () => {
    const unknown: SourceIssue = { code: ErrorCode.UPSTREAM_PARTIAL_DATA, message: "some days may be missing" };
    const provider = new WindowedProvider((r) => [r], [unknown]);
    await fetch(provider, NOV.from, NOV.to);
    const again = await fetch(provider, NOV.from, NOV.to);
    expect(again.storedDays).toBe(0);
    expect(again.issues).toEqual([unknown]);
    expect(provider.asked).toHaveLength(2);
  });

  it("says which days a displaced stored window alone answered", async () => {
    const scope = fetchScope(query(NOV.from, NOV.to));
    const octNov = { from: "2026-10-01", to: "2026-11-30" };
    await store.write("acme", "pipefy", scope, eachDay(octNov.from, octNov.to), [row(octNov)], true);
    // September is a gap; Pipefy now answers it with Sep..Oct, which overlaps the stored Oct..Nov.
    const provider = new WindowedProvider(() => [{ from: "2026-09-01", to: "2026-10-31" }]);
    const answer = await fetch(provider, SEP_NOV.from, SEP_NOV.to);
    expect(answer.observations).toEqual([row({ from: "2026-09-01", to: "2026-10-31" })]);
    expect(answer.issues).toContainEqual({
      code: ErrorCode.UPSTREAM_PARTIAL_DATA,
      message: expect.stringContaining("no number for 2026-11-01..2026-11-30 in this answer"),
    });
  });
});
