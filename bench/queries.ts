import { firstOfMonth, lastOfMonth, monthsBefore, shift, utcDay, type Day } from "./lib/days";
import type { BenchRequest, Panel, ProviderName } from "./lib/report";

/**
 * The bench's requests. Every phase reads its own dates, so no phase is served from what an earlier
 * one cached (except Pipefy, whose named periods are shared by design: the minimum model counts
 * that). All days are closed days (two or more days ago, in UTC and in UTC+8), so every answer is
 * final, cached for long, and the same in every run of the same day.
 */
export interface BenchPlan {
  today: Day;
  /** Before phase 2: one day that no phase before the fill reads, all providers, to warm the process (not the cache). */
  processWarmUp: BenchRequest;
  /** Phase 2 and 3: one 30-day report over all five providers. */
  cold: BenchRequest;
  /** Phase 1: a dashboard session, request by request. */
  dashboard: readonly BenchRequest[];
  /** Phase 4: concurrent clients (one request each). */
  fanIn: readonly BenchRequest[];
  /**
   * Phases 6 and 7: 90 days over all five providers, DAY. Fetched once by the first server (the
   * fill: only the days no earlier phase stored go upstream), then read from the store by a second
   * server process on the same store file.
   */
  long: BenchRequest;
}

/** The ACE Data API a dashboard filter picks ("Claude Messages", see acedata.emulator.ts). */
export const FILTERED_API = "8a2d9c44-7e1f-4b3a-8c2e-1d5f6a7b8c02";

/** Pipefy's named periods reach back to the 1st of the third whole month before this one. */
const PIPEFY_MONTHS_BACK = 3;
const LONG_DAYS = 90;

/** Jiandaoyun's 1 request/second makes every new day cost 1 s: the drill-down panels leave it out. */
const NOT_JIANDAOYUN: readonly ProviderName[] = ["ACEDATA", "AI_STUDIO", "PIPEFY", "ADVERITY"];
const NOT_PIPEFY: readonly ProviderName[] = ["JIANDAOYUN", "ACEDATA", "AI_STUDIO", "ADVERITY"];

export function plan(now = Date.now(), fanInClients = 50): BenchPlan {
  const today = utcDay(0, now);
  const T = (offset: number) => shift(today, offset);

  const processWarmUp: BenchRequest = {
    name: "process warm-up",
    description: "1 day (T-33), all five providers, DAY",
    panels: [{ alias: "warmUp", from: T(-33), to: T(-33), granularity: "DAY" }],
  };

  const cold: BenchRequest = {
    name: "cold-30d",
    description: "30 days, all five providers, DAY",
    panels: [{ alias: "report", from: T(-31), to: T(-2), granularity: "DAY" }],
  };

  // A dashboard session ending at A: overview, drill-downs, a filter, week over week, a whole
  // month, then a week in the middle and a zoom out around it (two gaps in what is held).
  // A-41 (D10) must stay inside Pipefy's retention on any day of the month: its oldest period,
  // last_3_months, starts on the 1st three months back, at worst 89 days ago (on the 1st of a
  // month). A = T-46 keeps A-41 at T-87, and the whole session clear of the cold report's 30 days.
  const A = T(-46);
  const a = (offset: number) => shift(A, offset);
  const monthBeforeA = shift(firstOfMonth(A), -1);
  const dashboard: BenchRequest[] = [
    {
      name: "D1 overview",
      description: "A-13..A, all providers, DAY",
      panels: [{ alias: "overview", from: a(-13), to: a(0), granularity: "DAY" }],
    },
    {
      name: "D2 spend by API",
      description: "same 14 days, Ace Data, WEEK, groupBy api",
      panels: [{ alias: "spend", from: a(-13), to: a(0), granularity: "WEEK", providers: ["ACEDATA"], groupBy: ["api"] }],
    },
    {
      name: "D3 rows by workspace, 4 weeks",
      description: "A-27..A, Adverity, DAY, groupBy workspace",
      panels: [{ alias: "rows", from: a(-27), to: a(0), granularity: "DAY", providers: ["ADVERITY"], groupBy: ["workspace"] }],
    },
    {
      name: "D4 Pipefy calls by operation and token",
      description: "A-27..A, Pipefy, TOTAL, groupBy operation, token",
      panels: [{ alias: "calls", from: a(-27), to: a(0), granularity: "TOTAL", providers: ["PIPEFY"], groupBy: ["operation", "token"] }],
    },
    {
      name: "D5 AI Studio, 60 days by month",
      description: "A-59..A, AI Studio, MONTH",
      panels: [{ alias: "pages", from: a(-59), to: a(0), granularity: "MONTH", providers: ["AI_STUDIO"] }],
    },
    {
      name: "D6 week over week (3 aliases)",
      description: "A-6..A Jiandaoyun; A-6..A and A-13..A-7 Ace Data + AI Studio",
      panels: [
        { alias: "apps", from: a(-6), to: a(0), granularity: "DAY", providers: ["JIANDAOYUN"] },
        { alias: "thisWeek", from: a(-6), to: a(0), granularity: "TOTAL", providers: ["ACEDATA", "AI_STUDIO"] },
        { alias: "lastWeek", from: a(-13), to: a(-7), granularity: "TOTAL", providers: ["ACEDATA", "AI_STUDIO"] },
      ],
    },
    {
      name: "D7 spend of one API",
      description: "A-13..A, Ace Data, DAY, where api = Claude Messages",
      panels: [{ alias: "oneApi", from: a(-13), to: a(0), granularity: "DAY", providers: ["ACEDATA"], where: [{ key: "api", in: [FILTERED_API] }] }],
    },
    {
      name: "D8 Adverity rows, last whole month",
      description: "the calendar month before A's, Adverity, MONTH",
      panels: [{ alias: "month", from: firstOfMonth(monthBeforeA), to: lastOfMonth(monthBeforeA), granularity: "MONTH", providers: ["ADVERITY"] }],
    },
    {
      name: "D9 drill into a week",
      description: "A-34..A-28, all providers but Jiandaoyun, DAY, groupBy api, workspace",
      panels: [{ alias: "week", from: a(-34), to: a(-28), granularity: "DAY", providers: NOT_JIANDAOYUN, groupBy: ["api", "workspace"] }],
    },
    {
      name: "D10 zoom out to six weeks",
      description: "A-41..A, all providers but Jiandaoyun, WEEK",
      panels: [{ alias: "sixWeeks", from: a(-41), to: a(0), granularity: "WEEK", providers: NOT_JIANDAOYUN }],
    },
  ];

  // 50 clients at once, 7-day windows starting on 5 different days (F..F+4): every window overlaps
  // the others. Half group by API and workspace; the other half by Pipefy operation.
  const F = T(-45);
  const fanIn: BenchRequest[] = Array.from({ length: fanInClients }, (_, i) => {
    const from = shift(F, i % 5);
    const panel: Panel = {
      alias: "report",
      from,
      to: shift(from, 6),
      granularity: "DAY",
      groupBy: i % 2 === 0 ? ["api", "workspace"] : ["operation"],
    };
    return { name: `fan-in client ${i + 1}`, description: `${panel.from}..${panel.to}`, panels: [panel] };
  });

  // 90 closed days, T-91..T-2, which the phases before the fill already read in part (the fill asks
  // only the rest). Pipefy serves its last three whole months, which on four days of a common year
  // (March 1, April 1, May 1 and 2) begin after T-91; an answer with a day Pipefy does not serve is
  // not stored, and would be asked again after the restart. On those days Pipefy reads from its
  // oldest day, in an alias of its own; on every other day the report is one panel.
  const longPanel: Panel = { alias: "long", from: T(-(LONG_DAYS + 1)), to: T(-2), granularity: "DAY" };
  const pipefyOldest = monthsBefore(today, PIPEFY_MONTHS_BACK);
  const long: BenchRequest =
    pipefyOldest <= longPanel.from
      ? { name: "long-90d", description: `${LONG_DAYS} days, all five providers, DAY`, panels: [longPanel] }
      : {
          name: "long-90d",
          description: `${LONG_DAYS} days, all five providers, DAY (Pipefy from its oldest day, ${pipefyOldest})`,
          panels: [
            { ...longPanel, providers: NOT_PIPEFY },
            { alias: "longPipefy", from: pipefyOldest, to: longPanel.to, granularity: "DAY", providers: ["PIPEFY"] },
          ],
        };

  return { today, processWarmUp, cold, dashboard, fanIn, long };
}
