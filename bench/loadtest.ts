// `npm run loadtest`: autocannon against the server in demo mode, bounded in time. Zero errors;
// RSS and event-loop delay reported; SIGTERM during load drains in-flight requests. Exits non-zero
// when a check fails.
process.env.APOLLO_TELEMETRY_DISABLED = "true";

import { execFileSync } from "node:child_process";
import { Agent, request as httpRequest } from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, RssSampler, startNode } from "./lib/child";
import { shift, utcDay } from "./lib/days";
import { load, metricValue, noGraphQLErrors, percentile, postGraphQL, scrapeMetrics } from "./lib/load";
import { describeMachine, fixed, machine, mib, replaceSection, table } from "./lib/machine";
import { operationOf, problemsOf, type BenchRequest, type GraphQLBody } from "./lib/report";

const LOAD = { connections: 20, durationSeconds: 15 };
const DRAIN = { connections: 20, probes: 4, probesAfterMs: 1_000, sigtermAfterMs: 1_600, maxMs: 30_000 };
/** A request sent this long before SIGTERM has certainly been read by the server (see bench/README.md). */
const ACCEPTED_BEFORE_MS = 50;

interface Outcome {
  kind: "load" | "probe";
  sentAt: number;
  doneAt: number;
  status?: number;
  valid: boolean;
  error?: string;
}

async function main(): Promise<number> {
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[loadtest ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  const checks: Array<{ name: string; ok: boolean; detail: string }> = [];
  const check = (name: string, ok: boolean, detail = "") => {
    checks.push({ name, ok, detail });
    if (!ok) log(`CHECK FAILED: ${name} ${detail}`);
  };

  execFileSync(process.execPath, [join(ROOT, "scripts", "build-if-needed.js")], { cwd: ROOT, stdio: "inherit" });

  // The report every dashboard opens first: 7 closed days, all providers, by API and workspace.
  const report: BenchRequest = {
    name: "7-day report",
    description: "7 closed days, all providers, DAY, groupBy api, workspace",
    panels: [{ alias: "usage", from: utcDay(-8), to: utcDay(-2), granularity: "DAY", groupBy: ["api", "workspace"] }],
  };
  const reportOp = operationOf(report, "demo");
  const reportBody = JSON.stringify(reportOp);
  const providersBody = JSON.stringify({ query: "{ providers { id } }" });

  // ---- Phase 1: sustained load. ----
  let server = await startNode(join(ROOT, "dist", "index.js"), [], { env: { PORT: "0" } });
  log(`demo server pid ${server.pid} at ${server.base}`);
  let rss = new RssSampler(server.pid, 200);
  try {
    const warm = await postGraphQL<GraphQLBody>(server.base, reportOp.query, reportOp.variables);
    const problems = problemsOf(warm.status, warm.body, report);
    check("the warm-up report answers in full", problems.length === 0 && !warm.body.errors, problems.join("; "));
    log(`warmed the report in ${fixed(warm.ms / 1000)} s (${(warm.text.length / 1024).toFixed(0)} KiB)`);

    await scrapeMetrics(server.base); // resets the event-loop delay histogram: what follows covers the load only
    log(`autocannon: ${LOAD.connections} connections, ${LOAD.durationSeconds} s, cached report and { providers { id } } alternating`);
    const result = await load(server.base, [{ body: reportBody }, { body: providersBody }], {
      connections: LOAD.connections,
      durationSeconds: LOAD.durationSeconds,
      verify: noGraphQLErrors,
    });
    const metrics = await scrapeMetrics(server.base);
    const lag = {
      p50: (metricValue(metrics, "usagegraph_nodejs_eventloop_lag_p50_seconds") ?? NaN) * 1000,
      p99: (metricValue(metrics, "usagegraph_nodejs_eventloop_lag_p99_seconds") ?? NaN) * 1000,
      max: (metricValue(metrics, "usagegraph_nodejs_eventloop_lag_max_seconds") ?? NaN) * 1000,
    };
    const metricsRss = metricValue(metrics, "usagegraph_process_resident_memory_bytes") ?? NaN;
    const memory = rss.stop();
    check("load: zero non-2xx", result.non2xx === 0, `${result.non2xx}`);
    check("load: zero connection errors or timeouts", result.errors === 0 && result.timeouts === 0, `${result.errors} errors, ${result.timeouts} timeouts`);
    check("load: zero GraphQL errors in bodies", result.mismatches === 0, `${result.mismatches} bodies with errors or without data`);
    check("load: requests were served", result.ok2xx > 0, `${result.ok2xx}`);
    log(
      `load: ${fixed(result.requestsPerSecond, 0)} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, peak RSS ${mib(memory.peakBytes)}, loop delay p99 ${fixed(lag.p99, 1)} ms`,
    );

    const exit1 = await server.stop();
    check("server exits 0 after the load", exit1.code === 0, `code ${exit1.code} signal ${exit1.signal}`);

    // ---- Phase 2: SIGTERM in the middle of load, with slow requests in flight. ----
    server = await startNode(join(ROOT, "dist", "index.js"), [], { env: { PORT: "0" } });
    rss = new RssSampler(server.pid, 200);
    const warm2 = await postGraphQL<GraphQLBody>(server.base, reportOp.query, reportOp.variables);
    check("drain: the warm-up report answers in full", warm2.status === 200 && !warm2.body.errors);
    const drainServer = server;
    const drain = await drainUnderLoad(server.base, server.pid, reportBody, providersBody, server.exited, log).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; server output:\n${drainServer.tail()}`);
    });
    const exit2 = await server.exited;
    const drainMemory = rss.stop();
    const exitMs = drain.exitedAt - drain.sigtermAt;

    const pre = drain.outcomes.filter((o) => o.sentAt < drain.sigtermAt);
    const inFlight = pre.filter((o) => o.doneAt >= drain.sigtermAt);
    const accepted = inFlight.filter((o) => o.sentAt <= drain.sigtermAt - ACCEPTED_BEFORE_MS);
    const raced = inFlight.filter((o) => o.sentAt > drain.sigtermAt - ACCEPTED_BEFORE_MS);
    const after = drain.outcomes.filter((o) => o.sentAt >= drain.sigtermAt);
    const answered = drain.outcomes.filter((o) => o.status !== undefined);
    const probes = drain.outcomes.filter((o) => o.kind === "probe");
    const describe = (list: readonly Outcome[]) =>
      list
        .filter((o) => !o.valid)
        .slice(0, 3)
        .map((o) => `${o.kind} sent ${o.sentAt - drain.sigtermAt} ms from SIGTERM: ${o.status ?? o.error}`)
        .join("; ");
    check("drain: the server exits 0 after SIGTERM", exit2.code === 0, `code ${exit2.code} signal ${exit2.signal}`);
    check("drain: requests were in flight at SIGTERM", inFlight.length > 0, `${inFlight.length}`);
    check(
      "drain: every request in flight at SIGTERM completes with 200 and a full answer",
      accepted.every((o) => o.valid),
      describe(accepted),
    );
    check(
      "drain: every slow request (upstream calls still queued at SIGTERM) completes with 200",
      probes.length === DRAIN.probes && probes.every((o) => o.valid),
      describe(probes),
    );
    check(
      "drain: every answer received, before or after SIGTERM, is 200 with a full answer",
      answered.every((o) => o.valid),
      describe(answered),
    );
    log(
      `drain: ${inFlight.length} in flight at SIGTERM (${probes.filter((o) => o.doneAt >= drain.sigtermAt).length} slow), all completed: ${accepted.every((o) => o.valid)}; exit ${exit2.code} after ${exitMs} ms`,
    );

    // ---- Report. ----
    const m = machine();
    const summary = {
      generatedAt: new Date().toISOString(),
      machine: m,
      load: { ...LOAD, result, eventLoopDelayMs: lag, peakRssBytes: memory.peakBytes, highWaterRssBytes: memory.highWaterBytes, metricsRssBytes: metricsRss },
      drain: {
        connections: DRAIN.connections,
        requests: drain.outcomes.length,
        inFlightAtSigterm: inFlight.length,
        slowInFlightAtSigterm: probes.filter((o) => o.doneAt >= drain.sigtermAt).length,
        inFlightCompleted200: inFlight.filter((o) => o.valid).length,
        racedSigterm: { count: raced.length, completed200: raced.filter((o) => o.valid).length },
        sentAfterSigterm: {
          count: after.length,
          answered200: after.filter((o) => o.valid).length,
          refused: after.filter((o) => o.status === undefined).length,
        },
        exitCode: exit2.code,
        exitAfterMs: exitMs,
        latencyOfInFlightMs: {
          p50: percentile(
            inFlight.map((o) => o.doneAt - o.sentAt),
            50,
          ),
          max: Math.max(0, ...inFlight.map((o) => o.doneAt - o.sentAt)),
        },
        peakRssBytes: drainMemory.peakBytes,
      },
      checks,
    };
    mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
    writeFileSync(join(ROOT, "bench", "results", "loadtest-latest.json"), `${JSON.stringify(summary, null, 2)}\n`);

    const failed = checks.filter((c) => !c.ok);
    const markdown = [
      `### usagegraph load test, ${summary.generatedAt.slice(0, 10)}`,
      "",
      `Machine: ${describeMachine(m)}. Demo mode (emulators in the server process, no upstream latency).`,
      "",
      table(
        ["measure", "value"],
        [
          ["load", `${LOAD.connections} connections, ${fixed(result.durationSeconds, 1)} s, cached 7-day report and \`{ providers { id } }\` alternating`],
          ["requests/s", fixed(result.requestsPerSecond, 0)],
          ["latency p50 / p99 / max", `${result.latencyMs.p50} / ${result.latencyMs.p99} / ${result.latencyMs.max} ms`],
          ["requests (2xx)", `${result.requests} (${result.ok2xx})`],
          ["non-2xx / connection errors / timeouts / GraphQL errors", `${result.non2xx} / ${result.errors} / ${result.timeouts} / ${result.mismatches}`],
          ["peak RSS (200 ms samples)", `${mib(memory.peakBytes)} (high-water mark ${mib(memory.highWaterBytes)})`],
          ["event-loop delay during load p50 / p99 / max", `${fixed(lag.p50, 1)} / ${fixed(lag.p99, 1)} / ${fixed(lag.max, 1)} ms`],
          [
            "SIGTERM under load",
            `${inFlight.length} in flight (${summary.drain.slowInFlightAtSigterm} waiting on Jiandaoyun's queue, ${raced.length} sent less than ${ACCEPTED_BEFORE_MS} ms before the signal), ${summary.drain.inFlightCompleted200} completed with 200; ${after.length} sent after SIGTERM (${summary.drain.sentAfterSigterm.answered200} answered, ${summary.drain.sentAfterSigterm.refused} refused); exit code ${exit2.code} after ${exitMs} ms`,
          ],
        ],
      ),
      "",
      failed.length === 0 ? `All ${checks.length} checks passed.` : `Failed checks:\n${failed.map((c) => `- ${c.name}: ${c.detail}`).join("\n")}`,
    ].join("\n");
    replaceSection(join(ROOT, "bench", "README.md"), "loadtest:results", markdown);
    process.stdout.write(`\n${markdown}\n`);
    return failed.length === 0 ? 0 : 1;
  } finally {
    rss.stop();
    await server.stop();
  }
}

/**
 * Keeps `connections` keep-alive connections busy with the cached report and the catalog, sends
 * slow requests (single uncached Jiandaoyun days, which wait on its 1 request/second queue), then
 * SIGTERM while all of that is in flight. Every request's outcome is recorded with its send time.
 */
async function drainUnderLoad(
  base: string,
  pid: number,
  reportBody: string,
  providersBody: string,
  exited: Promise<unknown>,
  log: (line: string) => void,
): Promise<{ outcomes: Outcome[]; sigtermAt: number; exitedAt: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: DRAIN.connections + DRAIN.probes });
  const outcomes: Outcome[] = [];
  let stop = false;
  let sigtermAt = Infinity;
  const exitedAt = exited.then(() => Date.now());

  const loops = Array.from({ length: DRAIN.connections }, async (_, i) => {
    for (let n = i; !stop; n++) {
      const outcome = await post(agent, base, n % 2 === 0 ? reportBody : providersBody, "load");
      outcomes.push(outcome);
      // Once the server is gone there is nothing left to ask.
      if (outcome.status === undefined && outcome.sentAt >= sigtermAt) break;
    }
  });

  await sleep(DRAIN.probesAfterMs);
  const probes = Array.from({ length: DRAIN.probes }, (_, i) => {
    const day = shift(utcDay(-2), -40 - i);
    const op = operationOf(
      { name: "probe", description: "", panels: [{ alias: "usage", from: day, to: day, granularity: "DAY", providers: ["JIANDAOYUN"] }] },
      "demo",
    );
    return post(agent, base, JSON.stringify(op), "probe").then((o) => outcomes.push(o));
  });

  await sleep(DRAIN.sigtermAfterMs - DRAIN.probesAfterMs);
  sigtermAt = Date.now();
  process.kill(pid, "SIGTERM");
  log(`SIGTERM sent to ${pid}`);
  const timeout = setTimeout(() => {
    stop = true;
  }, DRAIN.maxMs);
  await Promise.all(probes);
  const done = await exitedAt;
  stop = true;
  await Promise.all(loops);
  clearTimeout(timeout);
  agent.destroy();
  return { outcomes, sigtermAt, exitedAt: done };
}

/** One POST /graphql on `agent`: 200 with data and no `errors` is valid. */
function post(agent: Agent, base: string, body: string, kind: Outcome["kind"]): Promise<Outcome> {
  const url = new URL(`${base}/graphql`);
  const sentAt = Date.now();
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ kind, sentAt, doneAt: Date.now(), status: res.statusCode, valid: res.statusCode === 200 && noGraphQLErrors(text) });
        });
        res.on("error", (e) =>
          resolve({ kind, sentAt, doneAt: Date.now(), status: res.statusCode, valid: false, error: (e as NodeJS.ErrnoException).code ?? e.message }),
        );
      },
    );
    req.on("error", (e) => resolve({ kind, sentAt, doneAt: Date.now(), valid: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`loadtest failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
