import "reflect-metadata";
import { Presets, SingleBar } from "cli-progress";
import type { CollectionPlan } from "../collect/collector";
import { addDays, isCalendarDate, todayIn, type DateRange } from "../common/dates";
import { createLogger } from "../common/logger";
import { ConfigError, loadConfigFile, type Config } from "../config/config";
import type { Demo } from "../demo";
import { PROVIDER_MODULES } from "../providers/registry";
import { createRuntime } from "../runtime";
import type { CollectionRun } from "../store/store";

/**
 * `npm run collect -- --org ID --from D --to D [--config FILE]`: backfills the store by hand, through
 * the collector the server schedules (the same queues, so within the vendors' rate limits), with a
 * progress bar and an ETA. Run again, it resumes: days the store already holds are skipped. Without
 * --from/--to it collects the last `collect.backfillDays` days; `--days N` is the last N full days
 * (what `npm run warm -- --days N` asked).
 */
function arg(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function rangeOf(argv: readonly string[]): DateRange | undefined {
  const from = arg(argv, "from");
  const to = arg(argv, "to");
  const days = arg(argv, "days");
  if (days !== undefined) {
    if (from !== undefined || to !== undefined) throw new ConfigError("--days: give either --days or --from and --to");
    const n = Number(days);
    if (!Number.isInteger(n) || n < 1 || n > 3_660) throw new ConfigError("--days must be a whole number from 1 to 3660");
    const yesterday = addDays(todayIn("UTC"), -1);
    return { from: addDays(yesterday, -(n - 1)), to: yesterday };
  }
  if (from === undefined && to === undefined) return undefined;
  if (from === undefined || to === undefined) throw new ConfigError("--from and --to go together (yyyy-MM-dd each)");
  for (const [name, value] of [
    ["from", from],
    ["to", to],
  ] as const) {
    if (!isCalendarDate(value)) throw new ConfigError(`--${name}: ${JSON.stringify(value)} is not a calendar date in yyyy-MM-dd form`);
  }
  if (from > to) throw new ConfigError(`--from (${from}) must be on or before --to (${to})`);
  return { from, to };
}

function describe(plan: CollectionPlan | undefined, run: CollectionRun): string {
  const parts = [`${run.days} days written`, `${plan?.stored ?? 0} already stored`];
  if (plan?.tooOld) parts.push(`${plan.tooOld} older than its retention`);
  if (plan?.notFinal) parts.push(`${plan.notFinal} not final yet`);
  const state = run.errorCode ? `${run.state} (${run.errorCode}: ${run.errorMessage})` : run.state;
  return `  ${run.provider}: ${parts.join(", ")}; ${state}`;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const range = rangeOf(argv);
  let demo: Demo | undefined;
  let config: Config | null = loadConfigFile(argv, process.env);
  if (!config) {
    // Loaded only without a config, as in src/index.ts: collecting real providers loads no emulator.
    const { startDemo } = require("../demo") as typeof import("../demo");
    demo = await startDemo(process.env, { port: 0 });
    config = demo.config;
  }
  const orgId = arg(argv, "org") ?? (config.organizations.length === 1 ? config.organizations[0]!.id : undefined);
  if (orgId === undefined) throw new ConfigError(`--org: which organization? one of ${config.organizations.map((o) => o.id).join(", ")}`);
  const runtime = await createRuntime(config, { log: createLogger("silent") });
  const org = runtime.organizations.get(orgId);
  if (!org) {
    await runtime.close();
    await demo?.stop();
    throw new ConfigError(`--org: no organization "${orgId}" in the config`);
  }
  if (runtime.store.kind === "none") process.stderr.write('note: store.url is "none": nothing collected is kept\n');
  else if (config.store.url === "sqlite::memory:")
    process.stderr.write("note: the store is in this process's memory; give a config with a store for what is collected to outlive this run\n");

  // Ctrl-C stops at the next step: what was written stays, the runs are recorded as interrupted.
  const abort = new AbortController();
  process.once("SIGINT", () => abort.abort());

  const { collector } = runtime.collection;
  const keys = PROVIDER_MODULES.map((m) => m.catalog.key).filter((k) => org.providers.has(k));
  const plans = new Map<string, CollectionPlan>();
  const done = new Map<string, number>();
  const bar = new SingleBar({ format: "collecting |{bar}| {value}/{total} days | ETA {eta_formatted}", etaBuffer: 20 }, Presets.shades_classic);
  // The bar counts the days to ask for: those the store lacks, final and within retention.
  const planned = await Promise.all(keys.map((k) => collector.plan(org.id, org.providers.get(k)!, range)));
  bar.start(
    planned.reduce((n, p) => n + p.missing.length, 0),
    0,
  );
  const sum = () => [...done.values()].reduce((a, b) => a + b, 0);

  const runs = await Promise.all(
    keys.map((key) =>
      collector.collect(org, key, {
        range,
        signal: abort.signal,
        onPlan: (plan) => plans.set(key, plan),
        onProgress: (n) => {
          done.set(key, n);
          bar.update(sum());
        },
      }),
    ),
  );
  bar.update(sum());
  bar.stop();

  const written = runs.reduce((n, r) => n + r.days, 0);
  const stored = [...plans.values()].reduce((n, p) => n + p.stored, 0);
  const failed = runs.filter((r) => r.state === "FAILED").length;
  const asked = range ? `${range.from}..${range.to}` : `the last ${collector.backfillDays} days`;
  process.stdout.write(`collected ${org.id}, ${asked}: ${written} days written, ${stored} already stored, ${failed} of ${runs.length} providers failed\n`);
  for (const run of runs) process.stdout.write(`${describe(plans.get(run.provider), run)}\n`);
  await runtime.close();
  await demo?.stop();
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`usagegraph collect: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(2);
  },
);
