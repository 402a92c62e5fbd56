import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer as createNetServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfigFile, resolveConfig, type Config } from "../src/config/config";
import { ACEDATA_DEMO_TOKEN, AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import { createServer } from "../src/server/server";
import { startEmulator } from "./support/emulators";
import { startServer, USAGE_QUERY, utcDay, type RunningServer } from "./support/server-harness";
import { thrownBy } from "./support/thrown";

/** Each message a newcomer meets first, verbatim: it says what is wrong and what to change. */
const ENTRY = join(__dirname, "..", "dist", "index.js");
const QUIET = { USAGEGRAPH_LOG_LEVEL: process.env.USAGEGRAPH_LOG_LEVEL };

async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe("messages a newcomer can act on", () => {
  const dir = mkdtempSync(join(tmpdir(), "usagegraph-messages-"));

  it("names the line and column of a JSON syntax error in the config file", () => {
    const file = join(dir, "trailing-comma.json");
    writeFileSync(file, '{\n  "server": { "port": 4000 },\n  "organizations": [\n    { "id": "acme", "name": "Acme", }\n  ]\n}\n');
    const error = thrownBy(() => loadConfigFile(["--config", file], {}));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(`config file ${file} is not valid JSON: line 4, column 37: Expected double-quoted property name`);

    const missingComma = join(dir, "missing-comma.json");
    writeFileSync(missingComma, '{\n  "server": { "host": "127.0.0.1" }\n  "organizations": []\n}\n');
    expect(thrownBy(() => loadConfigFile(["--config", missingComma], {})).message).toBe(
      `config file ${missingComma} is not valid JSON: line 3, column 3: Expected ',' or '}' after property value`,
    );

    // V8 names some mistakes without saying where: found all the same, and the text itself is never echoed.
    const bareWord = join(dir, "bare-word.json");
    writeFileSync(bareWord, '{\n  "organizations": [{ "id": "acme", "name": secret-name }]\n}\n');
    expect(thrownBy(() => loadConfigFile(["--config", bareWord], {})).message).toBe(
      `config file ${bareWord} is not valid JSON: line 2, column 45: Unexpected token 's'`,
    );
  });

  describe("a port in use", () => {
    const demoConfig = (port: number): Config =>
      resolveConfig({ server: { host: "127.0.0.1", port }, organizations: [{ id: "demo", name: "Demo" }] }, QUIET, { demo: true });
    const fileConfig = (port: number): Config => resolveConfig({ server: { host: "127.0.0.1", port }, organizations: [{ id: "acme", name: "Acme" }] }, QUIET);

    it.each([
      [
        "demo mode",
        demoConfig,
        (p: number) =>
          `port ${p} on 127.0.0.1 is already in use by another process: start on another port with the PORT variable, e.g. PORT=${p + 1} npm start`,
      ],
      [
        "a config file",
        fileConfig,
        (p: number) =>
          `port ${p} on 127.0.0.1 is already in use by another process: set server.port in the config file, or the PORT variable (PORT=${p + 1} npm start), to a free port`,
      ],
    ])("says which setting changes it, in %s", async (_name, config, message) => {
      const { port, server: squatter } = await takenPort();
      const server = await createServer(config(port));
      try {
        await expect(server.listen()).rejects.toThrow(message(port));
      } finally {
        await server.stop();
        squatter.close();
      }
    });

    it("stops `npm start` with that line and exit code 1", async () => {
      const { port, server: squatter } = await takenPort();
      try {
        const child = spawn(process.execPath, [ENTRY], { env: { PATH: process.env.PATH, PORT: String(port), USAGEGRAPH_LOG_LEVEL: "silent" } });
        let err = "";
        child.stderr.on("data", (d) => (err += d));
        const code = await new Promise((resolve) => child.on("exit", resolve));
        expect(code).toBe(1);
        expect(err).toBe(
          `usagegraph: failed to start: port ${port} on 127.0.0.1 is already in use by another process: start on another port with the PORT variable, e.g. PORT=${port + 1} npm start\n`,
        );
      } finally {
        squatter.close();
      }
    });
  });

  describe("in demo mode", () => {
    let s: RunningServer;
    beforeAll(async () => {
      s = await startServer();
    });
    afterAll(() => s.stop());

    it("suggests the nearest metric key for an unknown one", async () => {
      const res = await s.gql(USAGE_QUERY, { input: { from: utcDay(-3), to: utcDay(-2), metrics: ["acedata.calls"] } });
      expect(res.status).toBe(400);
      expect(res.body.errors![0]!.message).toBe(
        "Invalid input: metrics: acedata.calls is not a metric key (did you mean `acedata.credits`?); known keys: " +
          "jiandaoyun.app, jiandaoyun.form_coop, jiandaoyun.form_workflow, jiandaoyun.dash, jiandaoyun.etl, jiandaoyun.aggregate, jiandaoyun.public_link, " +
          "jiandaoyun.data_trigger, jiandaoyun.automation, jiandaoyun.bpa, jiandaoyun.data, acedata.credits, aiStudio.parsed_pages, aiStudio.processor_runs, " +
          "aiStudio.processed_documents, aiStudio.completed, aiStudio.failed, pipefy.api_calls, adverity.unique_rows, adverity.total_rows",
      );
      const bare = await s.gql(USAGE_QUERY, { input: { from: utcDay(-3), to: utcDay(-2), metrics: ["total_rows", "credits"] } });
      expect(bare.body.errors![0]!.message).toMatch(
        /^Invalid input: metrics: total_rows is not a metric key \(did you mean `adverity.total_rows`\?\), credits is not a metric key \(did you mean `acedata.credits`\?\); known keys: /,
      );
    });

    it('answers organization(id: "nope") with an error naming the organizations that exist', async () => {
      const res = await s.gql(`{ organization(id: "nope") { id name } }`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        data: { organization: null },
        errors: [
          {
            message: 'There is no organization "nope". Known organizations: "demo".',
            locations: [{ line: 1, column: 3 }],
            path: ["organization"],
            extensions: { code: "BAD_USER_INPUT" },
          },
        ],
      });
    });

    it("says that a source returned nothing because the whole range is out of its retention", async () => {
      const from = utcDay(-200);
      const to = utcDay(-190);
      // Jiandaoyun keeps 180 UTC+8 days.
      const utc8 = (days: number) => new Date(Date.now() + 8 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);
      const oldest = utc8(-180);
      const message = `Jiandaoyun returned nothing: the whole range ${from}..${to} is out of retention (11 days before ${oldest} are older than Jiandaoyun's 180-day retention)`;
      const res = await s.gql(USAGE_QUERY, { input: { from, to, providers: ["JIANDAOYUN"] } });
      const usage = res.body.data.organization.usage;
      expect(usage.series).toEqual([]);
      expect(usage.sources).toEqual([
        {
          provider: "JIANDAOYUN",
          state: "FAILED",
          error: { code: "OUT_OF_RETENTION", message, retryAfterSeconds: null },
          finalizedThrough: utc8(-2),
          upstreamRequests: 0,
          cachedResponses: 0,
        },
      ]);
      expect(res.body.errors).toEqual([{ message, path: ["organization", "usage"], extensions: { code: "OUT_OF_RETENTION", provider: "JIANDAOYUN" } }]);
      expect(s.emulator("jiandaoyun").requests).toHaveLength(0);
    });

    it("keeps a range only partly out of retention PARTIAL, with the days it has", async () => {
      const res = await s.gql(USAGE_QUERY, { input: { from: utcDay(-182), to: utcDay(-178), providers: ["JIANDAOYUN"], metrics: ["jiandaoyun.app"] } });
      const usage = res.body.data.organization.usage;
      expect(usage.sources[0]).toMatchObject({
        state: "PARTIAL",
        error: { code: "OUT_OF_RETENTION", message: expect.stringMatching(/older than Jiandaoyun's 180-day retention$/) },
      });
      expect(usage.series[0].points.length).toBeGreaterThan(0);
    });
  });

  describe("with API keys", () => {
    const KEY = "newcomer-key-0123456789abcdef";
    let s: RunningServer;
    beforeAll(async () => {
      const ace = await startEmulator(AceDataEmulator);
      const acedata = { baseUrl: ace.url, token: ACEDATA_DEMO_TOKEN };
      s = await startServer({
        config: resolveConfig(
          {
            server: { host: "127.0.0.1", port: 0 },
            auth: { apiKeys: [{ name: "k", key: KEY, organizations: ["acme"] }] },
            organizations: [
              { id: "acme", name: "Acme", providers: { acedata } },
              { id: "globex", name: "Globex", providers: { acedata } },
            ],
          },
          QUIET,
        ),
      });
    });
    afterAll(() => s.stop());

    it("keeps an unknown organization and a forbidden one indistinguishable: FORBIDDEN", async () => {
      const headers = { authorization: `Bearer ${KEY}` };
      const unknown = await s.gql(`{ organization(id: "nope") { id } }`, undefined, headers);
      const forbidden = await s.gql(`{ organization(id: "globex") { id } }`, undefined, headers);
      expect(unknown.body.errors![0]).toMatchObject({ message: 'You may not read organization "nope".', extensions: { code: "FORBIDDEN" } });
      expect(forbidden.body.errors![0]).toMatchObject({ message: 'You may not read organization "globex".', extensions: { code: "FORBIDDEN" } });
      expect(JSON.stringify(unknown.body)).not.toContain("acme");
      expect(unknown.status).toBe(forbidden.status);
    });
  });
});
