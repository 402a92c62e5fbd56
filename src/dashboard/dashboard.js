// usagegraph dashboard. Plain browser JavaScript served as it is (no build step); uPlot is the
// chart library, served by the same server from node_modules. The page talks to /graphql and
// /export only, and sends the API key (when the server asks for one) as a header, never in a URL.
(() => {
  "use strict";

  const KEY_STORAGE = "usagegraph.apiKey";
  const COLORS = ["#1f4f8f", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#e67700", "#5c940d", "#364fc7", "#a61e4d", "#495057", "#087f5b"];
  const body = document.body;
  const features = new Set((body.dataset.features || "").split(/\s+/).filter(Boolean));
  const authRequired = body.dataset.auth === "required";
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const $ = (id) => document.getElementById(id);
  const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
  const compactFormat = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

  const state = { catalog: new Map(), configured: null, charts: [], loading: null, query: null };

  class AuthRequired extends Error {}

  // ---- talking to the server --------------------------------------------------------------

  function authHeaders() {
    const key = sessionStorage.getItem(KEY_STORAGE);
    return key ? { authorization: `Bearer ${key}` } : {};
  }

  async function graphql(query, variables, signal) {
    const res = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...authHeaders() },
      body: JSON.stringify({ query, variables }),
      signal,
    });
    let answer;
    try {
      answer = await res.json();
    } catch {
      throw new Error(`The server answered HTTP ${res.status}.`);
    }
    const errors = answer.errors || [];
    if (res.status === 401 || errors.some((e) => e.extensions && e.extensions.code === "UNAUTHENTICATED"))
      throw new AuthRequired(errors[0] ? errors[0].message : "An API key is required.");
    // Errors of one provider come with data beside them (shown in the sources table); others are the request's own.
    const fatal = errors.filter((e) => !(e.extensions && e.extensions.provider));
    if (!answer.data || (fatal.length > 0 && res.status >= 400))
      throw new Error(fatal.map((e) => e.message).join(" ") || `The server answered HTTP ${res.status}.`);
    if (fatal.length > 0 && Object.values(answer.data).every((v) => v === null)) throw new Error(fatal.map((e) => e.message).join(" "));
    return answer.data;
  }

  const REPORT_QUERY = `query Dashboard($organization: ID!, $input: UsageInput!${features.has("Organization.alerts") ? ", $from: Date!, $to: Date!" : ""}) {
  organization(id: $organization) {
    usage(input: $input) {
      series { provider metric { key name unit kind } dimensions { key value label } points { start end value final } total }
      sources { provider state error { code message } finalizedThrough upstreamRequests cachedResponses${features.has("SourceStatus.storedDays") ? " storedDays" : ""} }
    }${
      // Issue 12: budgets and alerts, asked for only when the schema has them.
      features.has("Organization.budgets")
        ? "\n    budgets { id name metric { key unit } period amount periodStart periodEnd used remaining usedRatio forecast state }"
        : ""
    }${features.has("Organization.alerts") ? "\n    alerts(from: $from, to: $to) { id kind day provider metric { key } message }" : ""}
  }
}`;

  // ---- dates (calendar days as yyyy-MM-dd, computed in UTC arithmetic) ------------------------

  const today = () => new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  const toDay = (ms) => new Date(ms).toISOString().slice(0, 10);
  const epoch = (day) => Date.parse(`${day}T00:00:00Z`);
  const addDays = (day, n) => toDay(epoch(day) + n * 86_400_000);
  const daysBetween = (from, to) => Math.round((epoch(to) - epoch(from)) / 86_400_000) + 1;

  /** A preset's days: "last N days" are the N finished days before today. */
  function presetRange(preset) {
    const now = today();
    if (preset === "this-month") return { from: `${now.slice(0, 7)}-01`, to: now };
    if (preset === "last-month") {
      const lastDay = addDays(`${now.slice(0, 7)}-01`, -1);
      return { from: `${lastDay.slice(0, 7)}-01`, to: lastDay };
    }
    const n = Number(preset);
    const to = addDays(now, -1);
    return { from: addDays(to, -(n - 1)), to };
  }

  // ---- start: key, organizations, catalog ---------------------------------------------------

  async function start() {
    $("time-zone").textContent = timeZone;
    if (authRequired && !sessionStorage.getItem(KEY_STORAGE)) return askForKey();
    let data;
    try {
      data = await graphql("{ organizations { id name } providers { id name rateLimit { requestsPerSecond } maxDaysPerCall } }");
    } catch (error) {
      if (error instanceof AuthRequired) {
        sessionStorage.removeItem(KEY_STORAGE);
        return askForKey("The server did not accept this key.");
      }
      return showFailure(error);
    }
    for (const p of data.providers) state.catalog.set(p.id, p);
    const select = $("organization");
    select.replaceChildren(...data.organizations.map((o) => new Option(`${o.name} (${o.id})`, o.id)));
    $("key-form").hidden = true;
    $("app").hidden = false;
    $("forget-key").hidden = !authRequired;
    if (data.organizations.length === 0) return showFailure(new Error("This key may read no organization."));
    applyPreset();
    void load();
  }

  function askForKey(problem) {
    body.dataset.state = "auth";
    $("app").hidden = true;
    $("key-form").hidden = false;
    $("key-error").hidden = !problem;
    $("key-error").textContent = problem || "";
    $("key").focus();
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $("key").value = "";
    void start();
  });

  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    location.reload();
  });

  // ---- controls ------------------------------------------------------------------------------

  function applyPreset() {
    const preset = $("preset").value;
    if (preset === "custom") return;
    const { from, to } = presetRange(preset);
    $("from").value = from;
    $("to").value = to;
  }

  function currentInput() {
    const groupBy = [...document.querySelectorAll("#group-by input:checked")].map((i) => i.value);
    return {
      organization: $("organization").value,
      input: { from: $("from").value, to: $("to").value, granularity: $("granularity").value, timeZone, ...(groupBy.length ? { groupBy } : {}) },
    };
  }

  $("preset").addEventListener("change", () => {
    applyPreset();
    void load();
  });
  for (const id of ["from", "to"]) {
    $(id).addEventListener("change", () => {
      $("preset").value = "custom";
      void load();
    });
  }
  for (const id of ["organization", "granularity"]) $(id).addEventListener("change", () => void load());
  $("group-by").addEventListener("change", () => void load());
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    void load();
  });
  $("download").addEventListener("click", () => void downloadCsv());

  // ---- loading a report ------------------------------------------------------------------------

  async function load() {
    const query = currentInput();
    if (!query.input.from || !query.input.to) return;
    // A newer choice wins: the request of the older one is abandoned (and the server stops its upstream work).
    if (state.loading) state.loading.controller.abort();
    const controller = new AbortController();
    const started = Date.now();
    const timer = setInterval(() => showProgress(query, started), 1000);
    state.loading = { controller };
    body.dataset.state = "loading";
    $("download").disabled = true;
    showProgress(query, started);
    try {
      const data = await graphql(
        REPORT_QUERY,
        { organization: query.organization, input: query.input, from: query.input.from, to: query.input.to },
        controller.signal,
      );
      if (controller.signal.aborted) return;
      const org = data.organization;
      state.query = query;
      state.configured = new Set(org.usage.sources.filter((s) => s.state !== "NOT_CONFIGURED").map((s) => s.provider));
      renderSources(org.usage.sources);
      renderCharts(org.usage.series);
      renderBudgets(org.budgets);
      renderAlerts(org.alerts);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      setStatus(`${org.usage.series.length} series over ${daysBetween(query.input.from, query.input.to)} days, answered in ${seconds} s.`);
      body.dataset.query = JSON.stringify(query);
      body.dataset.state = "ready";
      $("download").disabled = false;
    } catch (error) {
      if (controller.signal.aborted || (error && error.name === "AbortError")) return;
      if (error instanceof AuthRequired) {
        sessionStorage.removeItem(KEY_STORAGE);
        return askForKey("The server did not accept this key.");
      }
      showFailure(error);
    } finally {
      clearInterval(timer);
      if (state.loading && state.loading.controller === controller) state.loading = null;
    }
  }

  /**
   * While a report loads: what takes the time. A provider that answers one day per call at a
   * documented rate (Jiandaoyun: one request per second) needs about a second per day it has not
   * answered before; days it has answered come from the cache at once.
   */
  function showProgress(query, started) {
    const days = daysBetween(query.input.from, query.input.to);
    const elapsed = Math.round((Date.now() - started) / 1000);
    const slow = [...state.catalog.values()]
      .filter((p) => (!state.configured || state.configured.has(p.id)) && p.maxDaysPerCall && p.rateLimit.requestsPerSecond)
      .map((p) => ({ p, seconds: Math.ceil(Math.min(days, 366) / p.maxDaysPerCall / p.rateLimit.requestsPerSecond) }))
      .filter((s) => s.seconds >= 3);
    let text = `Loading ${days} days…`;
    for (const { p, seconds } of slow) {
      const rate = p.rateLimit.requestsPerSecond === 1 ? "one request per second" : `${p.rateLimit.requestsPerSecond} requests per second`;
      const per = p.maxDaysPerCall === 1 ? "one day per request" : `${p.maxDaysPerCall} days per request`;
      text += ` ${p.name} allows ${rate}, ${per}: days not read before take about ${seconds} s for ${days} days (about ${Math.min(days, elapsed * p.maxDaysPerCall * p.rateLimit.requestsPerSecond)} of ${days} days by now).`;
    }
    setStatus(`${text}${elapsed > 0 ? ` ${elapsed} s so far.` : ""}`);
  }

  function setStatus(text, isError = false) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("error", isError);
  }

  function showFailure(error) {
    body.dataset.state = "error";
    $("app").hidden = false;
    setStatus(error && error.message ? error.message : String(error), true);
  }

  // ---- sources -----------------------------------------------------------------------------------

  function renderSources(sources) {
    const rows = sources.map((s) => {
      const tr = document.createElement("tr");
      tr.dataset.provider = s.provider;
      const badge = Object.assign(document.createElement("span"), { className: `state state-${s.state}`, textContent: s.state.replace("_", " ") });
      const cells = [
        cell(providerName(s.provider)),
        cell(badge),
        cell(s.finalizedThrough || "—"),
        cell(String(s.upstreamRequests), "num"),
        cell(String(s.cachedResponses), "num"),
        // SourceStatus.storedDays arrives with the usage store; "—" while the schema has no such field.
        cell(s.storedDays === undefined || s.storedDays === null ? "—" : String(s.storedDays), "num"),
        cell(s.error ? `${s.error.code}: ${s.error.message}` : "", "note"),
      ];
      tr.append(...cells);
      return tr;
    });
    $("sources").tBodies[0].replaceChildren(...rows);
  }

  function cell(content, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    if (typeof content === "string") td.textContent = content;
    else td.append(content);
    return td;
  }

  function providerName(id) {
    const p = state.catalog.get(id);
    return p ? p.name : id;
  }

  // ---- charts ------------------------------------------------------------------------------------

  /** One chart per metric, one line per dimension value (or one line when the metric is not split). */
  function renderCharts(series) {
    for (const c of state.charts) c.plot && c.plot.destroy();
    state.charts = [];
    const byMetric = new Map();
    for (const s of series) {
      const group = byMetric.get(s.metric.key) || { metric: s.metric, provider: s.provider, series: [] };
      group.series.push(s);
      byMetric.set(s.metric.key, group);
    }
    // What is used up (COUNTER: credits, calls, rows) before levels (GAUGE: apps, forms), each in report order.
    const groups = [...byMetric.values()].sort((a, b) => (a.metric.kind === "GAUGE") - (b.metric.kind === "GAUGE"));
    const cards = groups.map((group) => chartCard(group));
    $("charts").replaceChildren(...cards.map((c) => c.card));
    for (const c of cards) {
      c.draw();
      state.charts.push(c);
    }
  }

  function chartCard({ metric, provider, series }) {
    const card = document.createElement("article");
    card.className = "chart";
    card.dataset.metric = metric.key;
    const header = document.createElement("header");
    const title = document.createElement("div");
    title.append(Object.assign(document.createElement("h3"), { textContent: `${providerName(provider)} · ${metric.name}` }));
    title.append(
      Object.assign(document.createElement("div"), {
        className: "key",
        textContent: `${metric.key} · ${metric.unit} · ${metric.kind === "GAUGE" ? "level (last value)" : "sum"}`,
      }),
    );
    const totalEl = Object.assign(document.createElement("div"), { className: "total" });
    header.append(title, totalEl);
    const plotEl = Object.assign(document.createElement("div"), { className: "plot" });
    card.append(header, plotEl);

    // One x value per bucket start over all series of the metric; a series without a bucket there is a gap.
    const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.start)))].sort();
    const data = [xs.map((d) => epoch(d) / 1000)];
    for (const s of series) {
      const at = new Map(s.points.map((p) => [p.start, p.value]));
      data.push(xs.map((d) => (at.has(d) ? at.get(d) : null)));
    }
    // What is plotted, added up as the metric's kind says (COUNTER: the sum; GAUGE: the last value),
    // over every line: the total shown and exposed in data-plotted-total (the browser test compares it with `usage`).
    const plotted = data.slice(1).reduce((sum, values) => {
      const present = values.filter((v) => v !== null);
      return sum + (metric.kind === "GAUGE" ? (present.length ? present[present.length - 1] : 0) : present.reduce((a, b) => a + b, 0));
    }, 0);
    card.dataset.plottedTotal = String(plotted);
    card.dataset.series = String(series.length);
    totalEl.textContent = `${numberFormat.format(plotted)} ${metric.unit}`;

    const chart = { card, plot: null, draw: () => {} };
    if (xs.length === 0) {
      plotEl.append(Object.assign(document.createElement("p"), { className: "empty", textContent: "No data in this range." }));
      return chart;
    }
    chart.draw = () => {
      const options = {
        width: Math.max(200, plotEl.clientWidth),
        height: 210,
        // Buckets are calendar days: show them as dates, whatever the browser's own zone.
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
        scales: { x: { time: true } },
        cursor: { points: { size: 6 } },
        // A legend of the lines (names and colours), not of the hovered values.
        legend: { show: series.length > 1 || series[0].dimensions.length > 0, live: false },
        axes: [
          { stroke: "#5b6675", grid: { stroke: "#eef1f5" } },
          { stroke: "#5b6675", grid: { stroke: "#eef1f5" }, size: 56, values: (_u, ticks) => ticks.map((t) => compactFormat.format(t)) },
        ],
        series: [
          { label: "start", value: (_u, ts) => (ts === null || ts === undefined ? "—" : toDay(ts * 1000)) },
          ...series.map((s, i) => ({
            label: s.dimensions.length ? s.dimensions.map((d) => d.label).join(" / ") : metric.name,
            stroke: COLORS[i % COLORS.length],
            width: 2,
            points: { show: xs.length <= 45, size: 4 },
            value: (_u, v) => (v === null || v === undefined ? "—" : numberFormat.format(v)),
          })),
        ],
      };
      chart.plot = new uPlot(options, data, plotEl);
    };
    return chart;
  }

  let resizeTimer;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of state.charts) if (c.plot) c.plot.setSize({ width: Math.max(200, c.plot.root.parentElement.clientWidth), height: 210 });
    }, 150);
  });

  // ---- issue 12: budgets and recent alerts (rendered only when the schema has them) ----------

  function renderBudgets(budgets) {
    $("budgets-panel").hidden = !budgets || budgets.length === 0;
    if (!budgets) return;
    $("budgets").replaceChildren(
      ...budgets.map((b) => {
        const li = Object.assign(document.createElement("li"), { className: "budget" });
        li.dataset.state = b.state;
        const bar = Object.assign(document.createElement("div"), { className: "meter" });
        const used = document.createElement("span");
        used.style.width = `${Math.min(100, Math.round(b.usedRatio * 100))}%`;
        bar.append(used);
        const forecast = b.forecast === null ? "no forecast yet" : `forecast ${numberFormat.format(b.forecast)} by ${b.periodEnd}`;
        li.append(
          Object.assign(document.createElement("strong"), { textContent: `${b.name} · ${b.state}` }),
          bar,
          Object.assign(document.createElement("small"), {
            textContent: `${numberFormat.format(b.used)} of ${numberFormat.format(b.amount)} ${b.metric.unit} (${Math.round(b.usedRatio * 100)}%), ${b.periodStart}..${b.periodEnd}; ${forecast}`,
          }),
        );
        return li;
      }),
    );
  }

  function renderAlerts(alerts) {
    $("alerts-panel").hidden = !alerts || alerts.length === 0;
    if (!alerts) return;
    $("alerts").replaceChildren(
      ...alerts.slice(0, 20).map((a) => {
        const li = document.createElement("li");
        li.append(
          Object.assign(document.createElement("small"), { textContent: `${a.day} · ${providerName(a.provider)} · ${a.kind} ` }),
          document.createTextNode(a.message),
        );
        return li;
      }),
    );
  }

  // ---- CSV of what is shown ----------------------------------------------------------------------

  /** The shown report as CSV from /export, fetched with the key in a header and saved from a blob. */
  async function downloadCsv() {
    if (!state.query) return;
    const { organization, input } = state.query;
    const params = new URLSearchParams({ organization, from: input.from, to: input.to, granularity: input.granularity, timeZone: input.timeZone });
    if (input.groupBy) params.set("groupBy", input.groupBy.join(","));
    const button = $("download");
    button.disabled = true;
    try {
      const res = await fetch(`/export/usage.csv?${params}`, { headers: authHeaders() });
      if (!res.ok) throw new Error(`CSV export refused (HTTP ${res.status}): ${(await res.text()).trim()}`);
      const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") || "");
      const url = URL.createObjectURL(await res.blob());
      const link = Object.assign(document.createElement("a"), { href: url, download: name ? name[1] : "usage.csv" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setStatus(error.message, true);
    } finally {
      button.disabled = false;
    }
  }

  void start();
})();
