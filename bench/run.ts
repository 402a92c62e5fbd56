// `npm run bench`: upstream calls against their minimum, cold and warm latency, fan-in and memory,
// in one run on one machine. Writes bench/results/latest.json and prints a markdown table.
process.env.APOLLO_TELEMETRY_DISABLED = "true";

import "reflect-metadata";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdverityEmulator } from "../src/providers/adverity/adverity.emulator";
import type { EmulatorServer, RecordedRequest } from "../src/providers/emulator/emulator-server";
import type { JiandaoyunEmulator } from "../src/providers/jiandaoyun/jiandaoyun.emulator";
import type { PipefyEmulator } from "../src/providers/pipefy/pipefy.emulator";
import { providerDemos } from "../src/providers/demo-registry";
import { PROVIDER_MODULES } from "../src/providers/registry";
import { freePort, ROOT, RssSampler, startNode, type ServerProcess } from "./lib/child";
import { load, percentile, postGraphQL, type LoadResult } from "./lib/load";
import { describeMachine, fixed, machine, mib, replaceSection, table } from "./lib/machine";
import { add, MinimumCalls, PROVIDER_KEYS, total, zero, type Counts, type Minimum, type ProviderKey } from "./lib/minimum";
import { operationOf, problemsOf, reportedUpstream, type BenchRequest, type GraphQLBody } from "./lib/report";
import { plan } from "./queries";

const LATENCY_MS = 40;
const ORGANIZATION = "demo";
const WARM = { connections: 10, warmupSeconds: 3, durationSeconds: 10 };
const FAN_IN_CLIENTS = 50;
const TARGETS = { calls: 1.0, cold: 1.05, warm: 0.5, fanIn: 1.0 };

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
  writeFileSync(
    configFile,
    JSON.stringify(
      {
        organizations: [{ id: ORGANIZATION, name: "Demo", providers: Object.fromEntries(parts.map(({ module, demo }) => [module.catalog.key, demo.demoSettings(emulators.get(module.catalog.key)!.url)])) }],
        log: { level: "warn" },
        // The cold 30-day report waits ~33 s for Jiandaoyun's 1 request/second: above the default 25 s deadline.
        limits: { deadlineMs: 120_000 },
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

  let server: ServerProcess | undefined;
  let bare: ServerProcess | undefined;
  try {
    server = await startNode(join(ROOT, "dist", "index.js"), ["--config", configFile], { port: await freePort() });
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

    // A cold cache, not a cold process: one 1-day report on a day no phase reads, so that the
    // measure is not the first report's module loading, JIT warm-up and connection set-up (about
    // 40 ms). Its calls go through the minimum model too (Pipefy periods are shared). Then a pause
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
    const arrivals = emulator<JiandaoyunEmulator>("jiandaoyun").requests.slice(before.jiandaoyun).map((r) => r.at);
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
    const { query, variables } = operationOf(p.cold, ORGANIZATION);
    const reportBody = JSON.stringify({ query, variables });
    log(`warm: autocannon ${WARM.connections} connections, ${WARM.warmupSeconds} s warm-up + ${WARM.durationSeconds} s, response ${(expected.length / 1024).toFixed(0)} KiB`);
    before = counts();
    await load(server.base, [{ body: reportBody }], { connections: WARM.connections, durationSeconds: WARM.warmupSeconds });
    const warm = await load(server.base, [{ body: reportBody }], {
      connections: WARM.connections,
      durationSeconds: WARM.durationSeconds,
      // Every answer must be the full cached report, byte for byte.
      verify: (body) => body === expected,
    });
    check("warm: no upstream request under load", total(since(before)) === 0, JSON.stringify(since(before)));
    check("warm: every answer is the full report (no error, no mismatch)", warm.non2xx === 0 && warm.errors === 0 && warm.mismatches === 0, loadSummary(warm));

    bare = await startNode(join(ROOT, "dist-bench", "bench", "bare-apollo.js"), []);
    const typename = JSON.stringify({ query: "{ __typename }" });
    const typenameAnswer = JSON.stringify({ data: { __typename: "Query" } });
    await load(bare.base, [{ body: typename }], { connections: WARM.connections, durationSeconds: WARM.warmupSeconds });
    const baseline = await load(bare.base, [{ body: typename }], {
      connections: WARM.connections,
      durationSeconds: WARM.durationSeconds,
      verify: (body) => body.trim() === typenameAnswer,
    });
    check("baseline: bare Apollo answers every request", baseline.non2xx === 0 && baseline.errors === 0 && baseline.mismatches === 0, loadSummary(baseline));
    await bare.stop();
    bare = undefined;
    const warmRatio = warm.requestsPerSecond / baseline.requestsPerSecond;
    log(`warm: ${fixed(warm.requestsPerSecond, 0)} req/s (p50 ${warm.latencyMs.p50} ms, p99 ${warm.latencyMs.p99} ms); bare Apollo ${fixed(baseline.requestsPerSecond, 0)} req/s; ratio ${fixed(warmRatio, 3)}`);
    rss.mark("warm");

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
      const upstream = PROVIDER_KEYS.flatMap((k) => emulators.get(k)!.requests.slice(before[k]).map((r) => describeCall(k, r)));
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
    check("fan-in: sources.upstreamRequests (summed) equals the calls the emulators saw", fanReported === total(fanMade), `${fanReported} vs ${total(fanMade)}`);
    const fanLatencies = fanRes.map((r) => r.ms);
    const fanP99 = percentile(fanLatencies, 99);
    const fanP50 = percentile(fanLatencies, 50);
    const fanBound = lowerBound(fanMin, LATENCY_MS);
    const fanRatio = total(fanMade) / total(fanMin.calls);
    log(`fan-in: ${total(fanMade)} calls (minimum ${total(fanMin.calls)}), p50 ${fixed(fanP50 / 1000)} s, p99 ${fixed(fanP99 / 1000)} s`);

    // ---- 5. Memory, and the rate limits as the vendors saw them. ----
    const memory = rss.stop();
    const jdy = emulator<JiandaoyunEmulator>("jiandaoyun");
    const adv = emulator<AdverityEmulator>("adverity");
    check("Jiandaoyun never saw two calls less than 1 s apart", jdy.violations === 0, `${jdy.violations} refused`);
    check("Adverity never saw two calls at once", adv.concurrencyViolations === 0, `${adv.concurrencyViolations} refused`);
    const refused = PROVIDER_KEYS.flatMap((k) => emulators.get(k)!.requests.filter((r) => (r.status ?? 200) >= 400).map(() => k));
    check("no upstream call was refused", refused.length === 0, refused.join(", "));

    const exit = await server.stop();
    server = undefined;
    check("server exits 0 on SIGTERM", exit.code === 0, `code ${exit.code} signal ${exit.signal}`);

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
        target: TARGETS.warm,
        connections: WARM.connections,
        durationSeconds: WARM.durationSeconds,
        responseBytes: Buffer.byteLength(expected),
        usagegraph: warm,
        bareApollo: baseline,
        ratio: warmRatio,
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
      memory: { peakRssBytes: memory.peakBytes, highWaterRssBytes: memory.highWaterBytes, samples: memory.samples, intervalMs: 200, peakByPhase: rss.phases },
      checks,
    };

    const summary = table(
      ["measure", "target", "measured", "result"],
      [
        ["1. Calls: dashboard set, upstream calls ÷ minimum", "1.00", `${total(callsMade)} ÷ ${total(callsMin)} = **${fixed(callsRatio)}**`, verdict(callsRatio <= TARGETS.calls + 1e-9)],
        [
          "2. Cold: 30-day report, all providers, ÷ lower bound",
          "≤ 1.05",
          `${fixed(coldRes.ms / 1000)} s ÷ ${fixed(bound.seconds)} s = **${fixed(coldRatio, 3)}** (÷ n/rate bound ${fixed(bound.looseSeconds)} s: ${fixed(coldRes.ms / 1000 / bound.looseSeconds, 3)})`,
          verdict(coldRatio <= TARGETS.cold),
        ],
        [
          "3. Warm: same report cached, req/s ÷ bare Apollo `{ __typename }` req/s",
          "≥ 0.5",
          `${fixed(warm.requestsPerSecond, 0)} ÷ ${fixed(baseline.requestsPerSecond, 0)} = **${fixed(warmRatio, 3)}** (p50 ${warm.latencyMs.p50} ms, p99 ${warm.latencyMs.p99} ms; bare p50 ${baseline.latencyMs.p50} ms, p99 ${baseline.latencyMs.p99} ms)`,
          verdict(warmRatio >= TARGETS.warm),
        ],
        [
          `4. Fan-in: ${p.fanIn.length} concurrent overlapping reports, upstream calls ÷ minimum`,
          "1.00",
          `${total(fanMade)} ÷ ${total(fanMin.calls)} = **${fixed(fanRatio)}**; p99 ${fixed(fanP99 / 1000)} s (lower bound ${fixed(fanBound.seconds)} s, ratio ${fixed(fanP99 / 1000 / fanBound.seconds, 3)})`,
          verdict(fanRatio <= TARGETS.fanIn + 1e-9),
        ],
        ["5. Peak RSS of the server process", "—", `**${mib(memory.peakBytes)}** (200 ms samples; kernel high-water mark ${mib(memory.highWaterBytes)}); by phase: ${rss.phases.map((x) => `${x.phase} ${mib(x.peakBytes)}`).join(", ")}`, "—"],
      ],
    );
    const perProvider = table(
      ["provider", "dashboard calls (made / min)", "fan-in calls (made / min)", "cold calls (made / min)"],
      PROVIDER_KEYS.map((k) => [k, `${callsMade[k]} / ${callsMin[k]}`, `${fanMade[k]} / ${fanMin.calls[k]}`, `${coldMade[k]} / ${coldMin.calls[k]}`]),
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

    const misses = [callsRatio > TARGETS.calls + 1e-9, coldRatio > TARGETS.cold, warmRatio < TARGETS.warm, fanRatio > TARGETS.fanIn + 1e-9].filter(Boolean).length;
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

function total0(byProvider: Record<string, number>): number {
  return Object.values(byProvider).reduce((n, v) => n + v, 0);
}

function shiftLast(requests: readonly BenchRequest[]): string {
  return requests.map((r) => r.panels[0]!.to).sort().at(-1)!;
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
