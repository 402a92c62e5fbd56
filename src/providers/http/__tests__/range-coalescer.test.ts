import { RangeCoalescer, idsCover, idsUnion, answersOf } from "../range-coalescer";
import type { DateRange } from "../../../common/dates";
import { callContext } from "../../../../test/support/provider-harness";

/** Units fetched, as [from, to, filter]; answers are the days of the unit. */
function coalescer(options: { maxDays?: number; keepMs?: number; fail?: (r: DateRange) => boolean } = {}) {
  const fetched: Array<[string, string, string[]]> = [];
  const c = new RangeCoalescer<readonly string[], DateRange>("test", {
    mergeFilters: idsUnion,
    covers: idsCover,
    fetch: async (range, filter, call) => {
      call.stats.upstreamRequests++;
      fetched.push([range.from, range.to, [...filter]]);
      if (options.fail?.(range)) throw new Error("upstream failed");
      return range;
    },
    keepFor: () => options.keepMs ?? 60_000,
    maxDays: options.maxDays,
  });
  return { c, fetched };
}

const r = (from: string, to: string): DateRange => ({ from, to });

describe("RangeCoalescer", () => {
  it("merges overlapping and adjacent ranges of concurrent reports into one unit, and counts it once", async () => {
    const { c, fetched } = coalescer();
    const calls = [callContext(), callContext(), callContext()];
    const [a, b, d] = await Promise.all([
      c.load({ range: r("2026-01-01", "2026-01-10"), filter: [], call: calls[0]! }),
      c.load({ range: r("2026-01-05", "2026-01-15"), filter: [], call: calls[1]! }),
      c.load({ range: r("2026-01-16", "2026-01-20"), filter: [], call: calls[2]! }),
    ]);
    expect(fetched).toEqual([["2026-01-01", "2026-01-20", []]]);
    expect(answersOf(a!).map((u) => u.use)).toEqual([r("2026-01-01", "2026-01-10")]);
    expect(answersOf(b!).map((u) => u.use)).toEqual([r("2026-01-05", "2026-01-15")]);
    expect(answersOf(d!).map((u) => u.use)).toEqual([r("2026-01-16", "2026-01-20")]);
    const kept = Date.now() + 60_000;
    expect(calls.map((x) => x.stats)).toEqual([
      { upstreamRequests: 1, cachedResponses: 0 },
      // The reports served by the unit get its lifetime: the board keeps it for keepFor (60 s).
      { upstreamRequests: 0, cachedResponses: 1, expiresAt: expect.any(Number) },
      { upstreamRequests: 0, cachedResponses: 1, expiresAt: expect.any(Number) },
    ]);
    for (const x of calls.slice(1)) expect(Math.abs(x.stats.expiresAt! - kept)).toBeLessThan(5_000);
  });

  it("reads held days from the board and fetches only the gaps, never a day twice", async () => {
    const { c, fetched } = coalescer();
    const first = callContext();
    await c.load({ range: r("2026-01-10", "2026-01-20"), filter: [], call: first });
    const second = callContext();
    const units = answersOf(await c.load({ range: r("2026-01-05", "2026-01-25"), filter: [], call: second }));
    expect(fetched.slice(1)).toEqual([
      ["2026-01-05", "2026-01-09", []],
      ["2026-01-21", "2026-01-25", []],
    ]);
    expect(units.map((u) => u.use)).toEqual([r("2026-01-05", "2026-01-09"), r("2026-01-10", "2026-01-20"), r("2026-01-21", "2026-01-25")]);
    expect(second.stats).toMatchObject({ upstreamRequests: 2, cachedResponses: 1 });
  });

  it("serves a filtered key from an unfiltered unit, but not the other way round", async () => {
    const { c, fetched } = coalescer();
    const a = callContext();
    await c.load({ range: r("2026-02-01", "2026-02-05"), filter: ["x"], call: a });
    const b = callContext();
    await c.load({ range: r("2026-02-01", "2026-02-05"), filter: [], call: b });
    const d = callContext();
    await c.load({ range: r("2026-02-02", "2026-02-03"), filter: ["y"], call: d });
    expect(fetched).toEqual([
      ["2026-02-01", "2026-02-05", ["x"]],
      ["2026-02-01", "2026-02-05", []],
    ]);
    expect(d.stats).toMatchObject({ upstreamRequests: 0, cachedResponses: 1 });
  });

  it("cuts merged ranges into units of at most maxDays", async () => {
    const { c, fetched } = coalescer({ maxDays: 31 });
    const a = callContext();
    const units = await c.load({ range: r("2026-01-01", "2026-03-15"), filter: [], call: a });
    expect(fetched.map(([f, t]) => [f, t])).toEqual([
      ["2026-01-01", "2026-01-31"],
      ["2026-02-01", "2026-03-03"],
      ["2026-03-04", "2026-03-15"],
    ]);
    expect(units).toHaveLength(3);
  });

  it("never keeps a failed unit: the next key asks again", async () => {
    let failing = true;
    const { c, fetched } = coalescer({ fail: () => failing });
    const a = callContext();
    const units = await c.load({ range: r("2026-04-01", "2026-04-02"), filter: [], call: a });
    expect(() => answersOf(units)).toThrow("upstream failed");
    failing = false;
    const b = callContext();
    answersOf(await c.load({ range: r("2026-04-01", "2026-04-02"), filter: [], call: b }));
    expect(fetched).toHaveLength(2);
  });
});

describe("RangeCoalescer with joinGapsUpToDays", () => {
  it("asks one call over two gaps of a key instead of two, reading the held days between from it", async () => {
    const fetched: Array<[string, string]> = [];
    const c = new RangeCoalescer<null, DateRange>("join", {
      mergeFilters: () => null,
      covers: () => true,
      fetch: async (range, _f, call) => {
        call.stats.upstreamRequests++;
        fetched.push([range.from, range.to]);
        return range;
      },
      keepFor: () => 60_000,
      joinGapsUpToDays: 366,
    });
    const a = callContext();
    await c.load({ range: r("2026-03-10", "2026-03-15"), filter: null, call: a });
    const b = callContext();
    const units = answersOf(await c.load({ range: r("2026-03-01", "2026-03-31"), filter: null, call: b }));
    expect(fetched).toEqual([
      ["2026-03-10", "2026-03-15"],
      ["2026-03-01", "2026-03-31"],
    ]);
    expect(units.map((u) => u.use)).toEqual([r("2026-03-01", "2026-03-31")]);
    expect(b.stats).toEqual({ upstreamRequests: 1, cachedResponses: 0 });
  });
});
