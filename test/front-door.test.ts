import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { resolveConfig } from "../src/config/config";
import { startupBanner } from "../src/server/banner";
import { exampleQuery, lastFinishedWeek } from "../src/server/example-query";
import { startServer, type RunningServer } from "./support/server-harness";

const ROOT = join(__dirname, "..");
const ENTRY = join(ROOT, "dist", "index.js");

describe("the front door", () => {
  let s: RunningServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.stop());

  it("redirects / to the dashboard", async () => {
    const res = await fetch(`${s.url}/`, { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/dashboard");
  });

  it("serves the dashboard as one page that loads only this server's files", async () => {
    const res = await fetch(`${s.url}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'.*connect-src 'self'/);
    const html = await res.text();
    expect(html).toContain('data-auth="none"');
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => /^(https?:)?\/\//.test(r))).toEqual([]);
    const assets = refs.filter((r) => r.startsWith("/dashboard/assets/"));
    expect(assets).toEqual(
      expect.arrayContaining([
        "/dashboard/assets/uPlot.iife.min.js",
        "/dashboard/assets/uPlot.min.css",
        "/dashboard/assets/dashboard.js",
        "/dashboard/assets/dashboard.css",
      ]),
    );
    for (const asset of assets) {
      const a = await fetch(`${s.url}${asset}`);
      expect(a.status).toBe(200);
      expect(a.headers.get("content-type")).toMatch(/^(text\/javascript|text\/css|image\/svg\+xml)/);
      const again = await fetch(`${s.url}${asset}`, { headers: { "if-none-match": a.headers.get("etag")! } });
      expect(again.status).toBe(304);
    }
    expect((await fetch(`${s.url}/dashboard/assets/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${s.url}/dashboard/assets/index.html`)).status).toBe(404);
  });

  it("tells the page when the server asks for an API key", async () => {
    const raw = JSON.parse(JSON.stringify(s.server.config));
    const withAuth = await startServer({
      config: resolveConfig(
        {
          server: { host: "127.0.0.1", port: 0 },
          auth: { apiKeys: [{ name: "k", key: "front-door-key-0123456789", organizations: ["demo"] }] },
          organizations: raw.organizations,
        },
        { USAGEGRAPH_LOG_LEVEL: process.env.USAGEGRAPH_LOG_LEVEL },
      ),
    });
    try {
      expect(await (await fetch(`${withAuth.url}/dashboard`)).text()).toContain('data-auth="required"');
    } finally {
      await withAuth.stop();
    }
  });
});

describe("the startup banner and the README", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  it("keeps the README's example equal to the query the banner and the IDE show, for a finished week", () => {
    const block = /## Example[\s\S]*?```graphql\n([\s\S]*?)\n```/.exec(readme)![1]!;
    const [, from, to] = /from: "(\d{4}-\d{2}-\d{2})", to: "(\d{4}-\d{2}-\d{2})"/.exec(block)!;
    // Asked two days after that week ended, the example is that week.
    const askedOn = Date.parse(`${to}T12:00:00Z`) + 2 * 86_400_000;
    expect(lastFinishedWeek(askedOn)).toEqual({ from, to });
    expect(new Date(`${from}T00:00:00Z`).getUTCDay()).toBe(1);
    expect(block).toBe(exampleQuery("demo", askedOn));
  });

  it("takes the last week that has ended, Monday to Sunday", () => {
    expect(lastFinishedWeek(Date.parse("2026-12-01T19:00:00Z"))).toEqual({ from: "2026-11-23", to: "2026-11-29" });
    expect(lastFinishedWeek(Date.parse("2026-11-30T00:00:01Z"))).toEqual({ from: "2026-11-23", to: "2026-11-29" });
    expect(lastFinishedWeek(Date.parse("2026-11-29T23:59:59Z"))).toEqual({ from: "2026-11-16", to: "2026-11-22" });
  });

  it("lists the dashboard, the IDE, the export, /healthz, /readyz and /metrics, then the README's query", () => {
    const config = resolveConfig({ organizations: [{ id: "demo", name: "Demo" }] }, {}, { demo: true });
    const now = Date.parse("2026-12-01T19:00:00Z");
    const banner = startupBanner("http://127.0.0.1:4000", config, now);
    for (const path of ["/dashboard", "/graphql", "/export/usage.csv?organization=demo&from=yyyy-MM-dd&to=yyyy-MM-dd", "/healthz", "/readyz", "/metrics"]) {
      expect(banner).toContain(`http://127.0.0.1:4000${path}`);
    }
    expect(banner).toContain(`Example query: the README's, for the last finished ISO week (paste it into the IDE):\n\n${exampleQuery("demo", now)}\n`);
  });

  it("is what `npm start` prints in demo mode", async () => {
    const child = spawn(process.execPath, [ENTRY], { env: { PATH: process.env.PATH, PORT: "0", USAGEGRAPH_LOG_LEVEL: "warn" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise((resolve) => child.on("exit", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no banner: ${out}`)), 15_000);
        child.stdout.on("data", () => {
          if (out.includes("cachedResponses }")) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const url = /Dashboard {4}(http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(out)![1]!;
      expect(out).toContain(`GraphQL IDE  ${url}/graphql`);
      expect(out).toContain(exampleQuery("demo"));
      expect((await fetch(`${url}/dashboard`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
  });
});
