import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { providerDemo } from "../src/providers/demo-registry";
import { PROVIDER_MODULES } from "../src/providers/registry";
import { startProviderEmulator } from "./support/emulators";
import { postGraphQL, utcDay } from "./support/server-harness";

const DIST = join(__dirname, "..", "dist");
const ENTRY = join(DIST, "index.js");
const PROBE = join(__dirname, "support", "loaded-modules.js");

/** What only demo mode, the tests and the benchmark may load. */
const DEMO_ONLY = [/\.emulator\.js$/, /\.demo\.js$/, /[\\/]emulator-server\.js$/, /[\\/]demo-registry\.js$/, /^demo\.js$/];

describe("a server started with a config (NODE_ENV=production)", () => {
  it("loads no emulator, no demo part and no emulator server, also after answering every provider", async () => {
    expect(existsSync(ENTRY)).toBe(true);
    // The vendors are emulators of this test's own, outside the server process.
    const dir = mkdtempSync(join(tmpdir(), "usagegraph-production-"));
    const providers: Record<string, unknown> = {};
    for (const m of PROVIDER_MODULES) {
      const emulator = await startProviderEmulator(m.catalog.key);
      providers[m.catalog.key] = providerDemo(m.catalog.key).demoSettings(emulator.url);
    }
    const configFile = join(dir, "config.json");
    writeFileSync(configFile, JSON.stringify({ server: { host: "127.0.0.1", port: 0 }, organizations: [{ id: "acme", name: "Acme", providers }] }));
    const loadedFile = join(dir, "loaded.json");

    const child = spawn(process.execPath, ["--require", PROBE, ENTRY, "--config", configFile], {
      env: { PATH: process.env.PATH, NODE_ENV: "production", USAGEGRAPH_LOG_LEVEL: "info", USAGEGRAPH_LOADED_MODULES: loadedFile },
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line: ${out}`)), 15_000);
        child.stdout.on("data", () => {
          const m = /"url":"(http:\/\/[^"]+)\/graphql"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const res = await postGraphQL(
        url,
        `{ providers { id } organization(id: "acme") { usage(input: { from: "${utcDay(-3)}", to: "${utcDay(-3)}" }) { sources { provider state } } } }`,
      );
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.providers).toHaveLength(PROVIDER_MODULES.length);
      expect(res.body.data.organization.usage.sources.map((s: { state: string }) => s.state)).toEqual(PROVIDER_MODULES.map(() => "OK"));
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exit).toBe(0);

    const loaded = (JSON.parse(readFileSync(loadedFile, "utf8")) as string[])
      .filter((file) => !relative(DIST, file).startsWith(".."))
      .map((file) => relative(DIST, file).split(sep).join("/"));
    // The list is the real one: the providers' runtime code is in it.
    expect(loaded).toEqual(
      expect.arrayContaining(["index.js", "providers/registry.js", ...PROVIDER_MODULES.map((m) => `providers/${m.catalog.key}/${m.catalog.key}.provider.js`)]),
    );
    expect(loaded.filter((file) => DEMO_ONLY.some((pattern) => pattern.test(file)))).toEqual([]);
  });
});
