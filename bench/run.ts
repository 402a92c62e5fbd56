// `npm run bench`: upstream calls against their minimum, cold and warm latency, fan-in, memory, and
// the usage store after a restart (a 90-day report, the store's size, the cold report again),
// in one run on one machine. Writes bench/results/latest.json and prints a markdown table.
process.env.APOLLO_TELEMETRY_DISABLED = "true";

import "reflect-metadata";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdverityEmulator } from "../src/providers/adverity/adverity.emulator";
import type { EmulatorServer, RecordedRequest } from "../src/providers/emulator/emulator-server";
import type { JiandaoyunEmulator } from "../src/providers/jiandaoyun/jiandaoyun.emulator";
import type { PipefyEmulator } from "../src/providers/pipefy/pipefy.emulator";
import Database from "better-sqlite3";
import { providerDemos } from "../src/providers/demo-registry";
import { PROVIDER_MODULES } from "../src/providers/registry";
import { fetchScope } from "../src/usage/stored-fetch";
import { freePort, ROOT, RssSampler, startNode, type ServerProcess } from "./lib/child";
import { load, percentile, postGraphQL, type LoadResult } from "./lib/load";
import { describeMachine, fixed, machine, mib, replaceSection, table } from "./lib/machine";
import { add, MinimumCalls, PROVIDER_KEYS, total, zero, type Counts, type Minimum, type ProviderKey } from "./lib/minimum";
import { length } from "./lib/days";
import { operationOf, problemsOf, reportedUpstream, seriesOf, storedDaysOf, type BenchRequest, type GraphQLBody } from "./lib/report";
import { plan } from "./queries";

const LATENCY_MS = 40;
const ORGANIZATION = "demo";
const WARM = { connections: 16, warmupSeconds: 3, durationSeconds: 10 };
const FAN_IN_CLIENTS = 50;
/** Row 3 (issue 14): warm ÷ own `{ __typename }`, p99, server CPU per request, peak RSS under the warm load. */
const TARGETS = { calls: 1.0, cold: 1.05, warm: 0.4, warmP99Ms: 10, warmCpuMs: 0.3, warmRssMiB: 250, fanIn: 1.0, restartCalls: 0 };
const DAYS_PER_YEAR = 365;
/** The servers under test run as they are deployed (graphql-js skips its development checks; introspection is off). */
const PRODUCTION = { NODE_ENV: "production" };

interface CallsRow {
  name: string;
  description: string;
  made: Counts;
  minimum: Counts;
  reported: number;
  ms: number;
  /** The upstream calls as the emulators saw them (method, path, query, body), for diagnosis. */
  upstream: string[];
}

async function main(): Promise<number> {
  const strict = process.argv.includes("--strict");
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

  // The server under test is the built one, run as its own process.
  execFileSync(process.execPath, [join(ROOT, "scripts", "build-if-needed.js")], { cwd: ROOT, stdio: "inherit" });

  const emulators = new Map<ProviderKey, EmulatorServer>();
  // The bench counts and inspects every upstream call: the emulators keep their request logs.
  const parts = providerDemos();
  for (const { module, demo } of parts) emulators.set(module.catalog.key, await demo.startEmulator({ latencyMs: LATENCY_MS, recordRequests: true }));
  const emulator = <E extends EmulatorServer>(key: ProviderKey) => emulators.get(key) as E;
  const model = new MinimumCalls({ adverity: emulator<AdverityEmulator>("adverity"), pipefy: emulator<PipefyEmulator>("pipefy") });
  const counts = (): Counts => {
    const c = zero();
    for (const k of PROVIDER_KEYS) c[k] = emulators.get(k)!.requests.length;
    return c;
  };
  const since = (before: Counts): Counts => {
    const now = counts();
    const c = zero();
    for (const k of PROVIDER_KEYS) c[k] = now[k] - before[k];
    return c;
  };

  const dir = mkdtempSync(join(tmpdir(), "usagegraph-bench-"));
  const configFile = join(dir, "config.json");
  // A SQLite file, not sqlite::memory:, so that a second server process can start on the same store.
  // Fresh for every run: the first server starts with an empty store, as the minimum model assumes.
  const storeFile = join(dir, "usage.db");
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        organizations: [
          {
            id: ORGANIZATION,
            name: "Demo",
            providers: Object.fromEntries(parts.map(({ module, demo }) => [module.catalog.key, demo.demoSettings(emulators.get(module.catalog.key)!.url)])),
          },
        ],
        log: { level: "warn" },
        // The cold 30-day report waits ~33 s for Jiandaoyun's 1 request/second: above the default 25 s deadline.
        limits: { deadlineMs: 120_000 },
        store: { url: `sqlite:${storeFile}` },
        // No scheduled collection: every upstream call of the run is one a phase asked for.
        collect: false,
      },
      null,
      2,
    ),
  );

  const checks: Array<{ name: string; ok: boolean; detail: string }> = [];
  const check = (name: string, ok: boolean, detail = "") => {
    checks.push({ name, ok, detail });
    if (!ok) log(`CHECK FAILED: ${name} ${detail}`);
  };

  /** Every source of every panel read all the panel's days from the store. */
  const checkStored = (name: string, request: BenchRequest, body: GraphQLBody) => {
    const got = storedDaysOf(body);
    const want = Object.fromEntries(Object.keys(got).map((k) => [k, length(request.panels.find((x) => k.startsWith(`${x.alias}/`))!)]));
    check(
      `${name}: every day of every source read from the store (storedDays)`,
      Object.keys(got).length > 0 && sameJson(got, want),
      `${JSON.stringify(got)} vs ${JSON.stringify(want)}`,
    );
  };

  let server: ServerProcess | undefined;
  let bare: ServerProcess | undefined;
  try {
    server = await startNode(join(ROOT, "dist", "index.js"), ["--config", configFile], { port: await freePort(), env: PRODUCTION });
    const rss = new RssSampler(server.pid, 200);
    rss.mark("start");
    const p = plan(Date.now(), FAN_IN_CLIENTS);
    log(`server pid ${server.pid} at ${server.base}; today ${p.today} (UTC); upstream latency ${LATENCY_MS} ms`);

    const send = async (request: BenchRequest) => {
      const { query, variables } = operationOf(request, ORGANIZATION);
      const res = await postGraphQL<GraphQLBody>(server!.base, query, variables);
      const problems = problemsOf(res.status, res.body, request);
      check(`${request.name} answers in full`, problems.length === 0, problems.slice(0, 3).join("; "));
      return res;
    };

    // A cold cache, not a cold process: one 1-day report on a day no phase before the fill reads, so
    // that the measure is not the first report's module loading, JIT warm-up and connection set-up
    // (about 40 ms). Its calls go through the minimum model too (Pipefy periods are shared). Then a pause
    // longer than Jiandaoyun's interval, so its queue is idle when the cold report starts.
    log(`warm-up: ${p.processWarmUp.description}`);
    model.request(p.processWarmUp.panels);
    await send(p.processWarmUp);
    await new Promise((r) => setTimeout(r, 1_500));
    rss.mark("process warm-up");

    // ---- 2. Cold: one 30-day report over all five providers, nothing cached. ----
    log(`cold: ${p.cold.description} (${p.cold.panels[0]!.from}..${p.cold.panels[0]!.to}); Jiandaoyun alone needs ~30 s`);
    const coldMin = model.request(p.cold.panels);
    let before = counts();
    const coldRes = await send(p.cold);
    const coldMade = since(before);
    const coldSent = Date.now() - coldRes.ms;
    const arrivals = emulator<JiandaoyunEmulator>("jiandaoyun")
      .requests.slice(before.jiandaoyun)
      .map((r) => r.at);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    const pacing = {
      firstArrivalAfterMs: arrivals.length > 0 ? arrivals[0]! - coldSent : NaN,
      arrivalGapMs: { min: Math.min(...gaps), mean: gaps.reduce((a, b) => a + b, 0) / gaps.length, max: Math.max(...gaps) },
      lastArrivalToAnswerMs: arrivals.length > 0 ? Date.now() - arrivals.at(-1)! : NaN,
    };
    const coldReported = total0(reportedUpstream(coldRes.body));
    check("cold: sources.upstreamRequests equals the calls the emulators saw", coldReported === total(coldMade), `${coldReported} vs ${total(coldMade)}`);
    const bound = lowerBound(coldMin, LATENCY_MS);
    const coldRatio = coldRes.ms / 1000 / bound.seconds;
    log(`cold: ${fixed(coldRes.ms / 1000)} s, lower bound ${fixed(bound.seconds)} s (${bound.provider}), ratio ${fixed(coldRatio, 3)}`);
    rss.mark("cold");
    log(
      `cold: Jiandaoyun calls arrived ${fixed(pacing.arrivalGapMs.min, 0)}–${fixed(pacing.arrivalGapMs.max, 0)} ms apart (mean ${fixed(pacing.arrivalGapMs.mean, 1)}), the first ${fixed(pacing.firstArrivalAfterMs, 0)} ms after the request, the answer ${fixed(pacing.lastArrivalToAnswerMs, 0)} ms after the last`,
    );

    // ---- 3. Warm: the same report, fully cached, under autocannon; then a bare Apollo Server. ----
    before = counts();
    const again = await send(p.cold);
    check("warm: the report is fully cached (no upstream request)", total0(reportedUpstream(again.body)) === 0 && total(since(before)) === 0);
    const expected = again.text;
    // With the store on, the days of this report are read from it (storedDays), not from the cache.
    const warmStoredDays = storedDaysOf(again.body);
    log(`warm: days read from the store ${JSON.stringify(warmStoredDays)}`);
    const { query, variables } = operationOf(p.cold, ORGANIZATION);
    const reportBody = JSON.stringify({ query, variables });
    log(
      `warm: autocannon ${WARM.connections} connections, ${WARM.warmupSeconds} s warm-up + ${WARM.durationSeconds} s, response ${(expected.length / 1024).toFixed(0)} KiB`,
    );
    // usagegraph's own floor first: `{ __typename }` on the same process, same load.
    const typename = JSON.stringify({ query: "{ __typename }" });
    const typenameAnswer = JSON.stringify({ data: { __typename: "Query" } });
    const isTypename = (body: string) => body.trim() === typenameAnswer;
    await load(server.base, [{ body: typename }], { connections: WARM.connections, durationSeconds: WARM.warmupSeconds });
    const floorCpu = cpuMs(server.pid);
    const floor = await load(server.base, [{ body: typename }], { connections: WARM.connections, durationSeconds: WARM.durationSeconds, verify: isTypename });
    const floorCpuPerRequest = (cpuMs(server.pid) - floorCpu) / floor.requests;
    check("floor: usagegraph answers every { __typename }", floor.non2xx === 0 && floor.errors === 0 && floor.mismatches === 0, loadSummary(floor));

    before = counts();
    await load(server.base, [{ body: reportBody }], { connections: WARM.connections, durationSeconds: WARM.warmupSeconds });
    rss.mark("warm-up of the warm load");
    const warmCpu = cpuMs(server.pid);
    const warm = await load(server.base, [{ body: reportBody }], {
      connections: WARM.connections,
      durationSeconds: WARM.durationSeconds,
      // Every answer must be the full cached report, byte for byte.
      verify: (body) => body === expected,
    });
    const warmCpuPerRequest = (cpuMs(server.pid) - warmCpu) / warm.requests;
    rss.mark("warm");
    const warmRssBytes = rss.phases.at(-1)!.peakBytes;
    check("warm: no upstream request under load", total(since(before)) === 0, JSON.stringify(since(before)));
    check("warm: every answer is the full report (no error, no mismatch)", warm.non2xx === 0 && warm.errors === 0 && warm.mismatches === 0, loadSummary(warm));

    // What the response cache saves: the same report by GET (never replayed), executed each time
    // over the report memo (no provider work, no series building: GraphQL execution and serialisation).
    await load(server.base, [{ body: reportBody, get: true }], { connections: WARM.connections, durationSeconds: WARM.warmupSeconds });
    const executedCpu = cpuMs(server.pid);
    const executed = await load(server.base, [{ body: reportBody, get: true }], {
      connections: WARM.connections,
      durationSeconds: WARM.durationSeconds,
      verify: (body) => body === expected,
    });
    const executedCpuPerRequest = (cpuMs(server.pid) - executedCpu) / executed.requests;
    check("executed: every GET answer is the full report", executed.non2xx === 0 && executed.errors === 0 && executed.mismatches === 0, loadSummary(executed));

    // For the record, a bare Apollo Server's `{ __typename }` (its own process): where usagegraph's floor stands.
    bare = await startNode(join(ROOT, "dist-bench", "bench", "bare-apollo.js"), [], { env: PRODUCTION });
    await load(bare.base, [{ body: typename }], { connections: WARM.connections, durationSeconds: WARM.warmupSeconds });
    const baseline = await load(bare.base, [{ body: typename }], { connections: WARM.connections, durationSeconds: WARM.durationSeconds, verify: isTypename });
    check("baseline: bare Apollo answers every request", baseline.non2xx === 0 && baseline.errors === 0 && baseline.mismatches === 0, loadSummary(baseline));
    await bare.stop();
    bare = undefined;
    const warmRatio = warm.requestsPerSecond / floor.requestsPerSecond;
    const warmMet =
      warmRatio >= TARGETS.warm &&
      warm.latencyMs.p99 < TARGETS.warmP99Ms &&
      warmCpuPerRequest <= TARGETS.warmCpuMs &&
      warmRssBytes <= TARGETS.warmRssMiB * 1024 * 1024;
    log(
      `warm: ${fixed(warm.requestsPerSecond, 0)} req/s (p50 ${warm.latencyMs.p50} ms, p99 ${warm.latencyMs.p99} ms, ${fixed(warmCpuPerRequest, 3)} ms CPU/request, peak RSS ${mib(warmRssBytes)}); own { __typename } ${fixed(floor.requestsPerSecond, 0)} req/s (${fixed(floorCpuPerRequest, 3)} ms CPU/request); ratio ${fixed(warmRatio, 3)}; bare Apollo ${fixed(baseline.requestsPerSecond, 0)} req/s; executed by GET over the report memo ${fixed(executed.requestsPerSecond, 0)} req/s (p99 ${executed.latencyMs.p99} ms, ${fixed(executedCpuPerRequest, 3)} ms CPU/request)`,
    );

    // ---- 1. Calls: a dashboard session, request by request. ----
    log(`calls: ${p.dashboard.length} dashboard requests`);
    const rows: CallsRow[] = [];
    for (const request of p.dashboard) {
      const minimum = model.request(request.panels);
      before = counts();
      const res = await send(request);
      const made = since(before);
      const reported = total0(reportedUpstream(res.body));
      check(`${request.name}: sources.upstreamRequests equals the calls the emulators saw`, reported === total(made), `${reported} vs ${total(made)}`);
      const upstream = PROVIDER_KEYS.flatMap((k) =>
        emulators
          .get(k)!
          .requests.slice(before[k])
          .map((r) => describeCall(k, r)),
      );
      rows.push({ name: request.name, description: request.description, made, minimum: minimum.calls, reported, ms: res.ms, upstream });
      log(`  ${request.name}: ${total(made)} calls (minimum ${total(minimum.calls)}) in ${fixed(res.ms / 1000)} s`);
      if (total(made) !== total(minimum.calls)) upstream.forEach((u) => log(`    ${u}`));
    }
    const callsMade = rows.reduce((c, r) => add(c, r.made), zero());
    const callsMin = rows.reduce((c, r) => add(c, r.minimum), zero());
    const callsRatio = total(callsMade) / total(callsMin);
    rss.mark("calls");

    // ---- 4. Fan-in: 50 clients at once, overlapping reports. ----
    log(`fan-in: ${p.fanIn.length} concurrent clients, 7-day windows over ${p.fanIn[0]!.panels[0]!.from}..${shiftLast(p.fanIn)}`);
    const fanMin = model.request(p.fanIn.flatMap((r) => r.panels));
    before = counts();
    const fanStart = performance.now();
    const fanRes = await Promise.all(p.fanIn.map((r) => send(r)));
    const fanWall = performance.now() - fanStart;
    rss.mark("fan-in");
    const fanMade = since(before);
    const fanReported = fanRes.reduce((n, r) => n + total0(reportedUpstream(r.body)), 0);
    check(
      "fan-in: sources.upstreamRequests (summed) equals the calls the emulators saw",
      fanReported === total(fanMade),
      `${fanReported} vs ${total(fanMade)}`,
    );
    const fanLatencies = fanRes.map((r) => r.ms);
    const fanP99 = percentile(fanLatencies, 99);
    const fanP50 = percentile(fanLatencies, 50);
    const fanBound = lowerBound(fanMin, LATENCY_MS);
    const fanRatio = total(fanMade) / total(fanMin.calls);
    log(`fan-in: ${total(fanMade)} calls (minimum ${total(fanMin.calls)}), p50 ${fixed(fanP50 / 1000)} s, p99 ${fixed(fanP99 / 1000)} s`);

    // ---- Fill: the 90-day report once, so that the store holds every day of it (no target). ----
    // Only the days no earlier phase stored in the daily report's scope go upstream (Jiandaoyun:
    // 34 of the 90, ~34 s at 1/s). Its calls go through the minimum model too, not as a target: the
    // store asks each run of missing days on its own, where the model may join two runs in one call.
    log(`fill: ${p.long.description} (${p.long.panels[0]!.from}..${p.long.panels[0]!.to})`);
    const fillMin = model.request(p.long.panels);
    before = counts();
    const fillRes = await send(p.long);
    const fillMade = since(before);
    const fillReported = total0(reportedUpstream(fillRes.body));
    check("fill: sources.upstreamRequests equals the calls the emulators saw", fillReported === total(fillMade), `${fillReported} vs ${total(fillMade)}`);
    log(`fill: ${total(fillMade)} calls (model ${total(fillMin.calls)}) in ${fixed(fillRes.ms / 1000)} s; ${JSON.stringify(fillMade)}`);
    rss.mark("fill");
    const storeAfterFill = storeSize(storeFile);

    // ---- 5. Memory (of the first server), and its exit. ----
    const memory = rss.stop();
    const exit = await server.stop();
    server = undefined;
    check("server exits 0 on SIGTERM", exit.code === 0, `code ${exit.code} signal ${exit.signal}`);
    const storeAfterExit = storeSize(storeFile);
    const storeRows = rowsOf(storeFile, fetchScope({ range: p.long.panels[0]!, metrics: [], groupBy: [], where: [], granularity: "DAY", records: false }));
    log(
      `store: ${storeAfterFill.bytes} bytes after the fill (file ${storeAfterFill.file} + wal ${storeAfterFill.wal}), ${storeAfterExit.bytes} after the server's exit; rows ${JSON.stringify(storeRows)}`,
    );

    // ---- Restart: a new server process on the same store file, nothing cached. ----
    // The minimum of a new process on that store: a fresh model that holds what the fill stored
    // (the daily report scope of every day of the 90, a superset of the restart requests' days).
    const restartModel = new MinimumCalls({ adverity: emulator<AdverityEmulator>("adverity"), pipefy: emulator<PipefyEmulator>("pipefy") });
    restartModel.request(p.long.panels);
    restartModel.restart();
    const spawned = performance.now();
    server = await startNode(join(ROOT, "dist", "index.js"), ["--config", configFile], { port: await freePort(), env: PRODUCTION });
    const readyMs = performance.now() - spawned;
    const rss2 = new RssSampler(server.pid, 200);
    rss2.mark("start");
    log(`restart: server pid ${server.pid} at ${server.base}, ready ${fixed(readyMs / 1000)} s after spawn`);
    before = counts();
    const rwMin = restartModel.request(p.processWarmUp.panels);
    const restartWarmUp = await send(p.processWarmUp);
    check(
      "restart warm-up: no upstream request (the day is stored)",
      total(rwMin.calls) === 0 && total(since(before)) === 0 && total0(reportedUpstream(restartWarmUp.body)) === 0,
      JSON.stringify(since(before)),
    );
    rss2.mark("process warm-up");

    // ---- 8. Cold after a restart: row 2's report, first time on this process. ----
    const rcMin = restartModel.request(p.cold.panels);
    before = counts();
    const rcRes = await send(p.cold);
    const rcMade = since(before);
    const rcReported = total0(reportedUpstream(rcRes.body));
    check("restart cold: sources.upstreamRequests equals the calls the emulators saw", rcReported === total(rcMade), `${rcReported} vs ${total(rcMade)}`);
    checkStored("restart cold", p.cold, rcRes.body);
    check("restart cold: the series equal the first server's", sameJson(seriesOf(rcRes.body), seriesOf(again.body)));
    log(`restart cold: ${fixed(rcRes.ms / 1000, 3)} s, ${total(rcMade)} calls (minimum ${total(rcMin.calls)}); row 2 took ${fixed(coldRes.ms / 1000)} s`);
    rss2.mark("cold 30 d");

    // ---- 6. The 90-day report from the store, once, then under the warm row's load. ----
    const rlMin = restartModel.request(p.long.panels);
    before = counts();
    const rlRes = await send(p.long);
    const rlMade = since(before);
    const rlReported = total0(reportedUpstream(rlRes.body));
    check("restart 90 days: sources.upstreamRequests equals the calls the emulators saw", rlReported === total(rlMade), `${rlReported} vs ${total(rlMade)}`);
    checkStored("restart 90 days", p.long, rlRes.body);
    check("restart 90 days: the series equal the fill's", sameJson(seriesOf(rlRes.body), seriesOf(fillRes.body)));
    const longExpected = rlRes.text;
    const long = operationOf(p.long, ORGANIZATION);
    const longBody = JSON.stringify({ query: long.query, variables: long.variables });
    log(
      `restart 90 days: first answer ${fixed(rlRes.ms / 1000, 3)} s, ${total(rlMade)} calls; autocannon as the warm row, response ${(longExpected.length / 1024).toFixed(0)} KiB`,
    );
    before = counts();
    await load(server.base, [{ body: longBody }], { connections: WARM.connections, durationSeconds: WARM.warmupSeconds });
    const longLoad = await load(server.base, [{ body: longBody }], {
      connections: WARM.connections,
      durationSeconds: WARM.durationSeconds,
      verify: (body) => body === longExpected,
    });
    const rlLoadMade = since(before);
    check("restart 90 days: no upstream request under load", total(rlLoadMade) === 0, JSON.stringify(rlLoadMade));
    check(
      "restart 90 days: every answer is the full report (no error, no mismatch)",
      longLoad.non2xx === 0 && longLoad.errors === 0 && longLoad.mismatches === 0,
      loadSummary(longLoad),
    );
    log(
      `restart 90 days: ${fixed(longLoad.requestsPerSecond, 0)} req/s (p50 ${longLoad.latencyMs.p50} ms, p99 ${longLoad.latencyMs.p99} ms); cached 30-day report ${fixed(warm.requestsPerSecond, 0)} req/s`,
    );
    rss2.mark("90 d under load");
    const memory2 = rss2.stop();
    const exit2 = await server.stop();
    server = undefined;
    check("restarted server exits 0 on SIGTERM", exit2.code === 0, `code ${exit2.code} signal ${exit2.signal}`);

    // ---- 7. Store size per organization-year. ----
    // Days stored: the 90 days of the long report, which every provider's source read from the store
    // after the restart (checked above: storedDays). The file holds more than those (the grouped,
    // filtered, weekly and monthly scopes of the other phases, AI Studio's D5 days before T-91).
    const daysStored = length(p.long.panels[0]!);
    const perYear = (bytes: number) => (bytes / daysStored) * DAYS_PER_YEAR;
    const restartCalls = total(rcMade) + total(rlMade) + total(rlLoadMade);

    // ---- The rate limits as the vendors saw them, over both servers. ----
    const jdy = emulator<JiandaoyunEmulator>("jiandaoyun");
    const adv = emulator<AdverityEmulator>("adverity");
    check("Jiandaoyun never saw two calls less than 1 s apart", jdy.violations === 0, `${jdy.violations} refused`);
    check("Adverity never saw two calls at once", adv.concurrencyViolations === 0, `${adv.concurrencyViolations} refused`);
    const refused = PROVIDER_KEYS.flatMap((k) =>
      emulators
        .get(k)!
        .requests.filter((r) => (r.status ?? 200) >= 400)
        .map(() => k),
    );
    check("no upstream call was refused", refused.length === 0, refused.join(", "));

    // ---- Results. ----
    const m = machine();
    const verdict = (ok: boolean) => (ok ? "pass" : "**miss**");
    const results = {
      generatedAt: new Date().toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 100) / 10,
      machine: m,
      upstreamLatencyMs: LATENCY_MS,
      today: p.today,
      calls: {
        target: TARGETS.calls,
        made: total(callsMade),
        minimum: total(callsMin),
        ratio: callsRatio,
        byProvider: Object.fromEntries(PROVIDER_KEYS.map((k) => [k, { made: callsMade[k], minimum: callsMin[k] }])),
        requests: rows.map((r) => ({ ...r, madeTotal: total(r.made), minimumTotal: total(r.minimum) })),
      },
      cold: {
        target: TARGETS.cold,
        range: { from: p.cold.panels[0]!.from, to: p.cold.panels[0]!.to },
        seconds: coldRes.ms / 1000,
        lowerBoundSeconds: bound.seconds,
        lowerBoundProvider: bound.provider,
        ratio: coldRatio,
        looseLowerBoundSeconds: bound.looseSeconds,
        looseRatio: coldRes.ms / 1000 / bound.looseSeconds,
        perProviderBoundSeconds: bound.perProvider,
        jiandaoyunPacing: pacing,
        upstreamCalls: { made: coldMade, minimum: coldMin.calls },
      },
      warm: {
        target: { ratio: TARGETS.warm, p99Ms: TARGETS.warmP99Ms, cpuMsPerRequest: TARGETS.warmCpuMs, peakRssMiB: TARGETS.warmRssMiB },
        connections: WARM.connections,
        durationSeconds: WARM.durationSeconds,
        responseBytes: Buffer.byteLength(expected),
        storedDays: warmStoredDays,
        usagegraph: warm,
        cpuMsPerRequest: warmCpuPerRequest,
        peakRssBytes: warmRssBytes,
        ownTypename: { ...floor, cpuMsPerRequest: floorCpuPerRequest },
        executedOverReportMemo: { ...executed, cpuMsPerRequest: executedCpuPerRequest },
        bareApollo: baseline,
        ratio: warmRatio,
        met: warmMet,
      },
      fanIn: {
        target: TARGETS.fanIn,
        clients: p.fanIn.length,
        made: total(fanMade),
        minimum: total(fanMin.calls),
        ratio: fanRatio,
        byProvider: Object.fromEntries(PROVIDER_KEYS.map((k) => [k, { made: fanMade[k], minimum: fanMin.calls[k] }])),
        latencyMs: { p50: fanP50, p99: fanP99, max: Math.max(...fanLatencies), wall: fanWall },
        lowerBoundSeconds: fanBound.seconds,
        p99OverLowerBound: fanP99 / 1000 / fanBound.seconds,
      },
      memory: {
        peakRssBytes: memory.peakBytes,
        highWaterRssBytes: memory.highWaterBytes,
        samples: memory.samples,
        intervalMs: 200,
        peakByPhase: rss.phases,
        restarted: { peakRssBytes: memory2.peakBytes, highWaterRssBytes: memory2.highWaterBytes, samples: memory2.samples, peakByPhase: rss2.phases },
      },
      fill: {
        range: { from: p.long.panels[0]!.from, to: p.long.panels[0]!.to },
        panels: p.long.panels,
        seconds: fillRes.ms / 1000,
        made: total(fillMade),
        minimum: total(fillMin.calls),
        byProvider: Object.fromEntries(PROVIDER_KEYS.map((k) => [k, { made: fillMade[k], minimum: fillMin.calls[k] }])),
      },
      restart: {
        target: TARGETS.restartCalls,
        readySeconds: readyMs / 1000,
        cold: {
          seconds: rcRes.ms / 1000,
          made: total(rcMade),
          minimum: total(rcMin.calls),
          byProvider: rcMade,
          storedDays: storedDaysOf(rcRes.body),
          firstServerSeconds: coldRes.ms / 1000,
        },
        long: {
          range: { from: p.long.panels[0]!.from, to: p.long.panels[0]!.to },
          days: daysStored,
          firstAnswerSeconds: rlRes.ms / 1000,
          made: total(rlMade),
          minimum: total(rlMin.calls),
          madeUnderLoad: total(rlLoadMade),
          storedDays: storedDaysOf(rlRes.body),
          responseBytes: Buffer.byteLength(longExpected),
          load: longLoad,
          cached30DayRequestsPerSecond: warm.requestsPerSecond,
        },
      },
      store: {
        url: "sqlite:<temp dir>/usage.db",
        afterFill: storeAfterFill,
        afterExit: storeAfterExit,
        rows: storeRows,
        daysStored,
        bytesPerOrganizationYear: perYear(storeAfterExit.bytes),
        bytesPerOrganizationYearBeforeCheckpoint: perYear(storeAfterFill.bytes),
      },
      checks,
    };

    const summary = table(
      ["measure", "target", "measured", "result"],
      [
        [
          "1. Calls: dashboard set, upstream calls ÷ minimum",
          "1.00",
          `${total(callsMade)} ÷ ${total(callsMin)} = **${fixed(callsRatio)}**`,
          verdict(callsRatio <= TARGETS.calls + 1e-9),
        ],
        [
          "2. Cold: 30-day report, all providers, ÷ lower bound",
          "≤ 1.05",
          `${fixed(coldRes.ms / 1000)} s ÷ ${fixed(bound.seconds)} s = **${fixed(coldRatio, 3)}** (÷ n/rate bound ${fixed(bound.looseSeconds)} s: ${fixed(coldRes.ms / 1000 / bound.looseSeconds, 3)})`,
          verdict(coldRatio <= TARGETS.cold),
        ],
        [
          `3. Warm: same report, ${WARM.connections} connections, req/s ÷ usagegraph's own \`{ __typename }\` req/s; p99; server CPU per request; peak RSS`,
          `≥ ${TARGETS.warm}; < ${TARGETS.warmP99Ms} ms; ≤ ${TARGETS.warmCpuMs} ms; ≤ ${TARGETS.warmRssMiB} MiB`,
          `${fixed(warm.requestsPerSecond, 0)} ÷ ${fixed(floor.requestsPerSecond, 0)} = **${fixed(warmRatio, 3)}**; p99 **${warm.latencyMs.p99} ms** (p50 ${warm.latencyMs.p50} ms); **${fixed(warmCpuPerRequest, 3)} ms** CPU/request (floor ${fixed(floorCpuPerRequest, 3)} ms); peak RSS **${mib(warmRssBytes)}**; ${(Buffer.byteLength(expected) / 1024).toFixed(0)} KiB; without the response cache (GET, executed over the report memo) ${fixed(executed.requestsPerSecond, 0)} req/s, p99 ${executed.latencyMs.p99} ms, ${fixed(executedCpuPerRequest, 3)} ms CPU/request; bare Apollo \`{ __typename }\` ${fixed(baseline.requestsPerSecond, 0)} req/s`,
          verdict(warmMet),
        ],
        [
          `4. Fan-in: ${p.fanIn.length} concurrent overlapping reports, upstream calls ÷ minimum`,
          "1.00",
          `${total(fanMade)} ÷ ${total(fanMin.calls)} = **${fixed(fanRatio)}**; p99 ${fixed(fanP99 / 1000)} s (lower bound ${fixed(fanBound.seconds)} s, ratio ${fixed(fanP99 / 1000 / fanBound.seconds, 3)})`,
          verdict(fanRatio <= TARGETS.fanIn + 1e-9),
        ],
        [
          "5. Peak RSS of the server process",
          "—",
          `**${mib(memory.peakBytes)}** (200 ms samples; kernel high-water mark ${mib(memory.highWaterBytes)}); by phase: ${rss.phases.map((x) => `${x.phase} ${mib(x.peakBytes)}`).join(", ")}; restarted server ${mib(memory2.peakBytes)}`,
          "—",
        ],
        [
          `6. Restart: ${p.long.description} from the store, upstream calls; req/s under row 3's load`,
          "0 calls",
          `**${total(rlMade) + total(rlLoadMade)}** calls (minimum ${total(rlMin.calls)}), ${storedSummary(rlRes.body)}; **${fixed(longLoad.requestsPerSecond, 0)} req/s** (p50 ${longLoad.latencyMs.p50} ms, p99 ${longLoad.latencyMs.p99} ms; ${(longExpected.length / 1024).toFixed(0)} KiB) beside the cached 30-day report's ${fixed(warm.requestsPerSecond, 0)} req/s (row 3)`,
          verdict(total(rlMade) + total(rlLoadMade) === TARGETS.restartCalls),
        ],
        [
          "7. Store size per organization-year: SQLite file + -wal after the fill and the server's exit ÷ days stored × 365",
          "—",
          `**${bytes(perYear(storeAfterExit.bytes))} bytes** (${mib(perYear(storeAfterExit.bytes))}): ${bytes(storeAfterExit.bytes)} bytes (file ${bytes(storeAfterExit.file)} + wal ${bytes(storeAfterExit.wal)}) ÷ ${daysStored} days × ${DAYS_PER_YEAR}; ${bytes(storeRows.observations)} observation rows, ${bytes(storeRows.dailyScope)} of them the daily report's; before the exit's checkpoint ${bytes(storeAfterFill.file)} + wal ${bytes(storeAfterFill.wal)} bytes`,
          "—",
        ],
        [
          "8. Restart: cold 30-day report (row 2's report, new process, same store)",
          "0 calls",
          `**${fixed(rcRes.ms / 1000, 3)} s**, **${total(rcMade)}** calls (minimum ${total(rcMin.calls)}), ${storedSummary(rcRes.body)}; row 2: ${fixed(coldRes.ms / 1000)} s, ${total(coldMade)} calls; server ready ${fixed(readyMs / 1000)} s after spawn`,
          verdict(total(rcMade) === TARGETS.restartCalls),
        ],
      ],
    );
    const perProvider = table(
      ["provider", "dashboard calls (made / min)", "fan-in calls (made / min)", "cold calls (made / min)", "fill calls (made / model, no target)"],
      PROVIDER_KEYS.map((k) => [
        k,
        `${callsMade[k]} / ${callsMin[k]}`,
        `${fanMade[k]} / ${fanMin.calls[k]}`,
        `${coldMade[k]} / ${coldMin.calls[k]}`,
        `${fillMade[k]} / ${fillMin.calls[k]}`,
      ]),
    );
    const perRequest = table(
      ["dashboard request", "what", "calls made", "minimum", "time"],
      rows.map((r) => [r.name, r.description, String(total(r.made)), String(total(r.minimum)), `${fixed(r.ms / 1000)} s`]),
    );
    const failed = checks.filter((c) => !c.ok);
    const markdown = [
      `### usagegraph bench, ${results.generatedAt.slice(0, 10)}`,
      "",
      `Machine: ${describeMachine(m)}. Upstream latency ${LATENCY_MS} ms. Bench took ${fixed(results.durationSeconds, 0)} s.`,
      "",
      summary,
      "",
      perProvider,
      "",
      perRequest,
      "",
      failed.length === 0 ? `All ${checks.length} checks passed.` : `Failed checks:\n${failed.map((c) => `- ${c.name}: ${c.detail}`).join("\n")}`,
    ].join("\n");

    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
    replaceSection(join(ROOT, "bench", "README.md"), "bench:results", markdown);
    process.stdout.write(`\n${markdown}\n`);

    const misses = [
      callsRatio > TARGETS.calls + 1e-9,
      coldRatio > TARGETS.cold,
      !warmMet,
      fanRatio > TARGETS.fanIn + 1e-9,
      restartCalls !== TARGETS.restartCalls,
    ].filter(Boolean).length;
    if (failed.length > 0) return 1;
    return strict && misses > 0 ? 3 : 0;
  } finally {
    await bare?.stop();
    await server?.stop();
    await Promise.all([...emulators.values()].map((e) => e.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The time no server can beat: for each provider, its necessary calls at its documented rate plus
 * one upstream latency, the slowest provider deciding. Rate-limited (Jiandaoyun): n calls must
 * arrive 1/rate apart, so the last can start (n − 1)/rate after the first and answers one latency
 * later. Others: rounds of `maxConcurrent` calls, one latency each (Pipefy: its uuid lookup first).
 * `looseSeconds` reads "n calls at the rate" as n/rate: a server can beat it by up to 1/rate.
 */
function lowerBound(min: Minimum, latencyMs: number): { seconds: number; looseSeconds: number; provider: string; perProvider: Record<string, number> } {
  const L = latencyMs / 1000;
  const perProvider: Record<string, number> = {};
  const loose: Record<string, number> = {};
  for (const m of PROVIDER_MODULES) {
    const key = m.catalog.key as ProviderKey;
    const n = min.calls[key];
    const { requestsPerSecond: rate, maxConcurrent } = m.catalog.rateLimit;
    if (n === 0) {
      perProvider[key] = loose[key] = 0;
    } else if (rate) {
      perProvider[key] = (n - 1) / rate + L;
      loose[key] = n / rate + L;
    } else {
      const c = maxConcurrent ?? n;
      const chained = key === "pipefy" && min.pipefyUuid;
      perProvider[key] = loose[key] = chained ? L + Math.ceil((n - 1) / c) * L : Math.ceil(n / c) * L;
    }
  }
  const [provider, seconds] = Object.entries(perProvider).sort((a, b) => b[1] - a[1])[0]!;
  return { seconds, looseSeconds: Math.max(...Object.values(loose)), provider, perProvider };
}

/** One upstream call in a line: provider, method, path and query, and the JSON body's gist. */
function describeCall(provider: ProviderKey, r: RecordedRequest): string {
  const query = r.query.toString();
  const body = r.body as { date?: string; operationName?: string; variables?: unknown } | undefined;
  const gist = body?.date ?? (body?.variables ? JSON.stringify(body.variables).replace(/"organizationUuid":"[^"]*",?/, "") : "");
  return `${provider} ${r.method} ${r.path}${query ? `?${query}` : ""}${gist ? ` ${gist}` : ""} → ${r.status ?? "?"}`;
}

/** The store's bytes on disk: the SQLite file and its write-ahead log (-shm is an index of the log, not data). */
function storeSize(file: string): { file: number; wal: number; bytes: number } {
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  const main = size(file);
  const wal = size(`${file}-wal`);
  return { file: main, wal, bytes: main + wal };
}

/**
 * Rows in the store file, read-only: observations and coverage, and the observations of one fetch
 * scope (the daily report's). Only while no server has the file open.
 */
function rowsOf(file: string, scope: string): { observations: number; dailyScope: number; coverage: number } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const count = (sql: string, ...args: unknown[]) => (db.prepare(sql).get(...args) as { n: number }).n;
    return {
      observations: count("select count(*) as n from observations"),
      dailyScope: count("select count(*) as n from observations where scope = ?", scope),
      coverage: count("select count(*) as n from coverage"),
    };
  } finally {
    db.close();
  }
}

/** "N provider-days from the store": storedDays summed over the sources of an answer. */
function storedSummary(body: GraphQLBody): string {
  const days = Object.values(storedDaysOf(body));
  return `${days.reduce((a, b) => a + b, 0)} provider-days from the store (${days.length} sources)`;
}

/** CPU time (user + system) the process has used so far, in ms, from /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces), 1-based: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const bytes = (n: number): string => Math.round(n).toLocaleString("en-US");

function total0(byProvider: Record<string, number>): number {
  return Object.values(byProvider).reduce((n, v) => n + v, 0);
}

function shiftLast(requests: readonly BenchRequest[]): string {
  return requests
    .map((r) => r.panels[0]!.to)
    .sort()
    .at(-1)!;
}

function loadSummary(r: LoadResult): string {
  return `${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors, ${r.mismatches} mismatches`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
