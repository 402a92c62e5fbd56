import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { resolveConfig } from "../src/config/config";
import { ACEDATA_DEMO_TOKEN, AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import { startEmulator } from "./support/emulators";
import { startServer, USAGE_QUERY, type RunningServer } from "./support/server-harness";

/**
 * The dashboard driven in a real Chromium (the Debian package; never a downloaded browser). These
 * tests never skip: without Chromium they fail, saying how to install it.
 *
 * Screenshots go to a temporary folder; with UPDATE_SCREENSHOTS=1 they replace docs/dashboard-*.png.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"];
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS ? join(__dirname, "..", "docs") : mkdtempSync(join(tmpdir(), "usagegraph-screenshots-"));

async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}. The dashboard's browser tests need it and never skip: ` +
        `install the Debian package (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH.`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}

/** 127.0.0.1 only, blob: URLs made from its answers included (the CSV download). */
function onLoopback(url: string): boolean {
  try {
    return new URL(url.replace(/^blob:/, "")).hostname === "127.0.0.1";
  } catch {
    return false;
  }
}

interface Watched {
  context: BrowserContext;
  page: Page;
  requests: Array<{ url: string; authorization: string | undefined }>;
  consoleErrors: string[];
}

/** A page whose every request is recorded (and refused unless it stays on loopback), and whose console errors are kept. */
async function watchedPage(browser: Browser, viewport = { width: 1400, height: 900 }): Promise<Watched> {
  const context = await browser.newContext({ viewport, timezoneId: "UTC", locale: "en-US", acceptDownloads: true });
  const requests: Watched["requests"] = [];
  const consoleErrors: string[] = [];
  context.on("request", (r) => requests.push({ url: r.url(), authorization: r.headers().authorization }));
  await context.route("**/*", (route) => (onLoopback(route.request().url()) ? route.continue() : route.abort()));
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(`page error: ${e.message}`));
  return { context, page, requests, consoleErrors };
}

const ready = (page: Page, timeout: number) => page.waitForSelector('body[data-state="ready"]', { timeout });

/** The input of the report on screen, as the page recorded it. */
async function shownQuery(
  page: Page,
): Promise<{ organization: string; input: Record<string, unknown> & { from: string; to: string; granularity: string; timeZone: string; groupBy?: string[] } }> {
  return JSON.parse((await page.getAttribute("body", "data-query"))!);
}

function exportParams(query: Awaited<ReturnType<typeof shownQuery>>): URLSearchParams {
  const { organization, input } = query;
  const params = new URLSearchParams({ organization, from: input.from, to: input.to, granularity: input.granularity, timeZone: input.timeZone });
  if (input.groupBy) params.set("groupBy", input.groupBy.join(","));
  return params;
}

describe("the dashboard in Chromium, demo mode", () => {
  let s: RunningServer;
  let browser: Browser;
  let w: Watched;

  beforeAll(async () => {
    [s, browser] = await Promise.all([startServer(), launchChromium()]);
    w = await watchedPage(browser);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  it("opens from / on the last 7 days of every provider", async () => {
    await w.page.goto(`${s.url}/`);
    expect(new URL(w.page.url()).pathname).toBe("/dashboard");
    await ready(w.page, 40_000);
    const query = await shownQuery(w.page);
    expect(query.organization).toBe("demo");
    expect(await w.page.locator("#preset").inputValue()).toBe("7");
    expect(await w.page.locator("#sources tbody tr").count()).toBe(5);
  }, 60_000);

  it("says what a cold Jiandaoyun range costs while it loads, then charts the last 30 days with the totals of `usage`", async () => {
    await w.page.selectOption("#preset", "30");
    await w.page.waitForSelector('body[data-state="loading"]', { timeout: 5_000 });
    expect(await w.page.locator("#status").textContent()).toMatch(
      /Jiandaoyun allows one request per second, one day per request: days not read before take about 30 s for 30 days/,
    );
    await ready(w.page, 60_000);

    const query = await shownQuery(w.page);
    expect([query.input.from, query.input.to]).toEqual([day(-30), day(-1)]);
    const report = (await s.gql(USAGE_QUERY, { input: query.input })).body.data.organization.usage;
    const expected = new Map<string, number>();
    for (const series of report.series as Array<{ metric: { key: string }; total: number | null }>) {
      expected.set(series.metric.key, (expected.get(series.metric.key) ?? 0) + (series.total ?? 0));
    }
    const charts = await w.page.locator(".chart").evaluateAll((cards) =>
      cards.map((c) => ({
        metric: (c as HTMLElement).dataset.metric!,
        total: Number((c as HTMLElement).dataset.plottedTotal),
        canvases: c.querySelectorAll("canvas").length,
      })),
    );
    expect(charts.map((c) => c.metric).sort()).toEqual([...expected.keys()].sort());
    expect(charts.length).toBe(20);
    for (const chart of charts) {
      expect(chart.canvases).toBeGreaterThan(0);
      expect(chart.total).toBeCloseTo(expected.get(chart.metric)!, 6);
    }
  }, 90_000);

  it("lists the five providers in the sources table", async () => {
    const rows = await w.page
      .locator("#sources tbody tr")
      .evaluateAll((trs) => trs.map((tr) => ({ provider: (tr as HTMLElement).dataset.provider, state: tr.querySelector(".state")!.textContent })));
    expect(rows.map((r) => r.provider)).toEqual(["JIANDAOYUN", "ACEDATA", "AI_STUDIO", "PIPEFY", "ADVERITY"]);
    for (const r of rows) expect(["OK", "PARTIAL"]).toContain(r.state);
  });

  it("downloads the CSV of what is shown, the same as /export answers", async () => {
    const query = await shownQuery(w.page);
    const [download] = await Promise.all([w.page.waitForEvent("download", { timeout: 15_000 }), w.page.click("#download")]);
    expect(download.suggestedFilename()).toBe(`usage-demo-${query.input.from}-${query.input.to}.csv`);
    const downloaded = readFileSync((await download.path())!, "utf8");
    const direct = await (await fetch(`${s.url}/export/usage.csv?${exportParams(query)}`)).text();
    expect(downloaded).toBe(direct);
    expect(downloaded.split("\r\n")[0]).toBe("organization,provider,metric,unit,kind,api,workspace,start,end,value,final");
  }, 30_000);

  it("is readable on a laptop (1400×900) and on a phone (390×844)", async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await w.page.screenshot({ path: join(SCREENSHOTS, "dashboard-1400x900.png") });
    await w.page.setViewportSize({ width: 390, height: 844 });
    // Charts follow the width once the resize settles.
    await w.page.waitForFunction(() => [...document.querySelectorAll(".chart canvas")].every((c) => c.getBoundingClientRect().width <= 390), undefined, {
      timeout: 5_000,
    });
    const overflow = await w.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await w.page.screenshot({ path: join(SCREENSHOTS, "dashboard-390x844.png") });
  });

  it("made no request beyond loopback and logged no console error", () => {
    expect(w.requests.length).toBeGreaterThan(5);
    expect(w.requests.filter((r) => !onLoopback(r.url)).map((r) => r.url)).toEqual([]);
    const paths = new Set(w.requests.map((r) => new URL(r.url.replace(/^blob:/, "")).pathname));
    for (const p of ["/dashboard", "/graphql", "/export/usage.csv", "/dashboard/assets/uPlot.iife.min.js"]) expect(paths.has(p)).toBe(true);
    expect(w.consoleErrors).toEqual([]);
  });
});

describe("the dashboard in Chromium, with API keys", () => {
  const KEY = "dashboard-browser-key-0123456789";
  let s: RunningServer;
  let browser: Browser;
  let w: Watched;

  beforeAll(async () => {
    const ace = await startEmulator(AceDataEmulator);
    const config = resolveConfig(
      {
        server: { host: "127.0.0.1", port: 0 },
        auth: { apiKeys: [{ name: "dashboard", key: KEY, organizations: ["acme"] }] },
        organizations: [{ id: "acme", name: "Acme", providers: { acedata: { baseUrl: ace.url, token: ACEDATA_DEMO_TOKEN } } }],
      },
      { USAGEGRAPH_LOG_LEVEL: process.env.USAGEGRAPH_LOG_LEVEL },
    );
    [s, browser] = await Promise.all([startServer({ config }), launchChromium()]);
    w = await watchedPage(browser);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.stop();
  });

  it("asks for the key, keeps it in sessionStorage and sends it as a header, never in a URL", async () => {
    await w.page.goto(`${s.url}/dashboard`);
    await w.page.waitForSelector('body[data-state="auth"]');
    expect(await w.page.isVisible("#key-form")).toBe(true);
    await w.page.fill("#key", KEY);
    await w.page.click('#key-form button[type="submit"]');
    await ready(w.page, 20_000);
    expect(await w.page.evaluate(() => sessionStorage.getItem("usagegraph.apiKey"))).toBe(KEY);
    expect(await w.page.locator("#sources tbody tr").count()).toBe(1);

    // A reload in the same tab keeps the key: no second prompt.
    await w.page.reload();
    await ready(w.page, 20_000);
    const [download] = await Promise.all([w.page.waitForEvent("download"), w.page.click("#download")]);
    expect(readFileSync((await download.path())!, "utf8")).toMatch(
      /^organization,provider,metric,unit,kind,api,workspace,start,end,value,final\r\nacme,ACEDATA,acedata.credits,/,
    );

    const api = w.requests.filter((r) => /\/(graphql|export\/usage\.csv)/.test(r.url));
    expect(api.length).toBeGreaterThanOrEqual(4);
    for (const r of api) expect(r.authorization).toBe(`Bearer ${KEY}`);
    expect(w.requests.filter((r) => r.url.includes(KEY))).toEqual([]);
    expect(w.consoleErrors).toEqual([]);
  }, 60_000);
});

/** `yyyy-MM-dd` of today + `days` in UTC, as the page's presets (in UTC here) compute it. */
function day(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}
