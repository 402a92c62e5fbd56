import "reflect-metadata";
import { ConfigError, loadConfigFile, type Config } from "./config/config";
import { createLogger } from "./common/logger";
import type { Demo } from "./demo";
import { createServer } from "./server/server";
import { StoreOpenError } from "./store/store";
import { startupBanner } from "./server/banner";

/** Process entry: config (or demo mode), server, graceful shutdown on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: Config | null;
  try {
    config = loadConfigFile(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`usagegraph: configuration error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  let demo: Demo | undefined;
  if (!config) {
    try {
      // Loaded only here: a server started with a config never loads demo mode or an emulator.
      const { startDemo } = require("./demo") as typeof import("./demo");
      demo = await startDemo(process.env);
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`usagegraph: configuration error: ${error.message}\n`);
        process.exit(2);
      }
      throw error;
    }
    config = demo.config;
  }
  const log = createLogger(config.log.level);
  let server: Awaited<ReturnType<typeof createServer>>;
  try {
    // Demo mode collects the last days at start, so that `collection` and history have something to show.
    server = await createServer(config, { log, collectOnStart: config.demo });
  } catch (error) {
    if (error instanceof StoreOpenError) {
      // One line that names the problem and never the password (StoreOpenError masks it).
      process.stderr.write(`usagegraph: store error: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const url = await server.listen();

  // Installed before anything is printed: whoever reads the listening line may signal at once, and
  // a SIGTERM that arrives before a handler exists kills the process (no drain, no exit code).
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "draining in-flight requests");
    void (async () => {
      await server.stop();
      await demo?.stop();
      log.info("stopped");
      process.exit(0);
    })().catch(() => process.exit(1));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  log.info(
    { url: `${url}/graphql`, dashboard: `${url}/dashboard`, demo: config.demo, organizations: config.organizations.map((o) => o.id) },
    "usagegraph listening",
  );
  if (config.demo) process.stdout.write(startupBanner(url, config));
}

main().catch((error: unknown) => {
  process.stderr.write(`usagegraph: failed to start: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
