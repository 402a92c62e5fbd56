import "reflect-metadata";
import { Presets, SingleBar } from "cli-progress";
import { addDays, eachDay, todayIn, type DateRange } from "../common/dates";
import { LoaderRegistry } from "../common/loaders";
import { createLogger } from "../common/logger";
import { ConfigError, loadConfigFile, type Config } from "../config/config";
import type { Demo } from "../demo";
import type { CallContext, DimensionKey, Provider } from "../providers/provider";
import { createRuntime } from "../runtime";

/**
 * `npm run warm -- --org ID --days N [--config FILE]`: fills the upstream cache with the last N full
 * days of every provider of an organization, through the same per-credential queues as the server
 * (so within the vendors' rate limits), showing progress with an ETA. Run again, it resumes: what
 * is cached already costs no upstream call. Useful with a Redis cache, which the servers share.
 */
interface Unit {
  provider: Provider;
  range: DateRange;
  groupBy: DimensionKey[];
}

function arg(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const days = Number(arg(argv, "days") ?? "30");
  if (!Number.isInteger(days) || days < 1 || days > 366) throw new ConfigError("--days must be a whole number from 1 to 366");
  let demo: Demo | undefined;
  let config: Config | null = loadConfigFile(argv, process.env);
  if (!config) {
    // Loaded only without a config, as in src/index.ts: warming real providers loads no emulator.
    const { startDemo } = require("../demo") as typeof import("../demo");
    demo = await startDemo(process.env, { port: 0 });
    config = demo.config;
  }
  const orgId = arg(argv, "org") ?? config.organizations[0]!.id;
  const log = createLogger("silent");
  const runtime = await createRuntime(config, { log });
  const org = runtime.organizations.get(orgId);
  if (!org) throw new ConfigError(`--org: no organization "${orgId}" in the config`);
  if (runtime.cache.kind === "memory") process.stderr.write("note: the cache is in this process's memory; warm a shared Redis cache for it to outlive this run\n");

  const yesterday = addDays(todayIn("UTC"), -1);
  const range = { from: addDays(yesterday, -(days - 1)), to: yesterday };
  // One unit per upstream fetch unit: a day for one-day-per-call providers, the range otherwise,
  // and each breakdown a provider fetches separately.
  const plan = new Map<Provider, Unit[]>();
  for (const provider of org.providers.values()) {
    const ranges = provider.catalog.maxDaysPerCall === 1 ? eachDay(range.from, range.to).map((d) => ({ from: d, to: d })) : [range];
    const breakdowns: DimensionKey[][] = [[], ...provider.catalog.dimensions.map((d) => [d.key])];
    plan.set(provider, ranges.flatMap((r) => breakdowns.map((groupBy) => ({ provider, range: r, groupBy }))));
  }
  const total = [...plan.values()].reduce((n, u) => n + u.length, 0);
  const bar = new SingleBar(
    { format: "warming |{bar}| {value}/{total} units | ETA {eta_formatted} | {fetched} fetched, {cached} cached, {failed} failed", etaBuffer: 20 },
    Presets.shades_classic,
  );
  const counts = { fetched: 0, cached: 0, failed: 0 };
  bar.start(total, 0, counts);

  await Promise.all(
    [...plan.entries()].map(async ([provider, units]) => {
      for (const unit of units) {
        const call: CallContext = {
          deadline: Date.now() + 120_000,
          signal: AbortSignal.timeout(120_000),
          stats: { upstreamRequests: 0, cachedResponses: 0 },
          loaders: new LoaderRegistry(),
          log,
          now: Date.now,
        };
        try {
          const result = await provider.fetch(
            { range: unit.range, metrics: provider.catalog.metrics.map((m) => m.key), groupBy: unit.groupBy, where: [], granularity: "DAY", records: false },
            call,
          );
          if (call.stats.upstreamRequests > 0) counts.fetched++;
          else counts.cached++;
          if (result.issues.some((i) => i.code !== "UPSTREAM_PARTIAL_DATA" && i.code !== "OUT_OF_RETENTION")) counts.failed++;
        } catch {
          counts.failed++;
        }
        bar.increment(1, counts);
      }
    }),
  );
  bar.stop();
  process.stdout.write(`warmed ${orgId}: ${range.from}..${range.to}, ${total} units: ${counts.fetched} fetched, ${counts.cached} already cached, ${counts.failed} failed\n`);
  await runtime.close();
  await demo?.stop();
  return counts.failed === total ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`usagegraph warm: ${error instanceof ConfigError ? error.message : (error as Error).message}\n`);
    process.exit(2);
  },
);
