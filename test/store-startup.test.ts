import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A store that cannot be opened stops startup with one line that names the problem, exit code 2,
 * never the password. Through the built entry point (`npm test` builds before jest runs).
 */
const ENTRY = join(__dirname, "..", "dist", "index.js");
const SECRET = "s3cret-Passw0rd";

function start(storeUrl: string, dir: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: "127.0.0.1", port: 0 },
      store: { url: storeUrl },
      organizations: [{ id: "acme", name: "Acme", providers: { acedata: { baseUrl: "http://127.0.0.1:9", token: "t".repeat(20) } } }],
    }),
  );
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [ENTRY, "--config", file], { env: { PATH: process.env.PATH, USAGEGRAPH_LOG_LEVEL: "silent" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe("a store that cannot be opened", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "usagegraph-bad-store-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ["an unknown scheme", `mysql://admin:${SECRET}@127.0.0.1/usage`, /store\.url: unknown scheme/],
    ["an unwritable path", "sqlite:/proc/usagegraph/usage.db", /store/],
    ["a refused connection", `postgres://admin:${SECRET}@127.0.0.1:1/usage`, /connection refused/],
  ])("stops with one line for %s, exit code 2, without the password", async (_name, url, pattern) => {
    const { code, stderr, stdout } = await start(url, dir);
    expect(code).toBe(2);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(stderr + stdout).not.toContain(SECRET);
  });
});
