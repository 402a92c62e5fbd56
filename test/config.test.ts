import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, configPathFrom, loadConfigFile, resolveConfig } from "../src/config/config";
import { thrownBy } from "./support/thrown";

const base = () => ({
  organizations: [{ id: "acme", name: "Acme", providers: { acedata: { baseUrl: "http://127.0.0.1:9", token: "${ACE_TOKEN}" } } }],
});
const env = { ACE_TOKEN: "s3cret-token-value" };

const errorOf = (fn: () => unknown) => thrownBy(fn, ConfigError);

describe("configuration", () => {
  it("substitutes ${NAME} from the environment and applies the documented defaults", () => {
    const config = resolveConfig(base(), env);
    expect(config.server).toEqual({ host: "127.0.0.1", port: 4000 });
    expect(config.cache.url).toBe("memory://");
    expect(config.limits.deadlineMs).toBe(25_000);
    expect(config.auth).toBeNull();
    const ace = config.organizations[0]!.providers.acedata as any;
    expect(ace.token).toBe("s3cret-token-value");
    expect(ace.timeoutMs).toBe(10_000);
    expect(ace.maxRetries).toBe(2);
    expect(Object.isFrozen(config) && Object.isFrozen(config.organizations[0])).toBe(true);
  });

  it("names a missing environment variable, and never prints a value", () => {
    const error = errorOf(() => resolveConfig(base(), {}));
    expect(error.message).toBe("organizations[0].providers.acedata.token: environment variable ACE_TOKEN is not set");
  });

  it("names the field of a bad value without printing secrets", () => {
    const raw = base();
    (raw.organizations[0]!.providers.acedata as any).baseUrl = "not a url";
    const error = errorOf(() => resolveConfig(raw, env));
    expect(error.message).toBe("organizations[0].providers.acedata.baseUrl: baseUrl must be an http(s) URL");
    expect(error.message).not.toContain("s3cret");
  });

  it.each([
    [{ organizations: [] }, "organizations: at least one organization is required"],
    [{ ...base(), server: { port: 70000 } }, "server.port: port must not be greater than 65535"],
    [{ ...base(), cache: { url: "memcached://x" } }, "cache.url: url must be memory:// or redis://host:port/db"],
    [{ ...base(), colour: "blue" }, "colour: unknown field; expected one of server, auth, cache, organizations, limits, log, graphql"],
    [{ organizations: [{ id: "a", name: "A", providers: { stripe: {} } }] }, "organizations[0].providers.stripe: unknown provider"],
    [
      { organizations: [{ id: "a", name: "A", providers: { acedata: { baseUrl: "http://x", token: "t", tokn: "typo" } } }] },
      "organizations[0].providers.acedata.tokn: property tokn should not exist",
    ],
    [
      {
        organizations: [
          { id: "a", name: "A" },
          { id: "a", name: "B" },
        ],
      },
      'organizations[1].id: "a" is used twice',
    ],
    [{ ...base(), auth: { apiKeys: [{ name: "k", key: "short", organizations: ["acme"] }] } }, "auth.apiKeys[0].key: key must be at least 16 characters"],
    [
      { ...base(), auth: { apiKeys: [{ name: "k", key: "0123456789abcdef", organizations: ["nope"] }] } },
      'auth.apiKeys[0].organizations: unknown organization "nope"',
    ],
    [{ ...base(), server: { host: "0.0.0.0" } }, "auth: required when server.host is not loopback (0.0.0.0)"],
  ])("refuses %j with a line naming the field", (raw, message) => {
    expect(errorOf(() => resolveConfig(raw, env)).message).toContain(message);
  });

  it("lets PORT override server.port", () => {
    expect(resolveConfig(base(), { ...env, PORT: "5123" }).server.port).toBe(5123);
    expect(errorOf(() => resolveConfig(base(), { ...env, PORT: "http" })).message).toBe("PORT must be a port number (0-65535)");
  });

  it("reads the file from --config or USAGEGRAPH_CONFIG, and none means demo mode", () => {
    const dir = mkdtempSync(join(tmpdir(), "usagegraph-config-"));
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify(base()));
    expect(configPathFrom(["--config", file], {})).toBe(file);
    expect(configPathFrom([`--config=${file}`], {})).toBe(file);
    expect(configPathFrom([], { USAGEGRAPH_CONFIG: file })).toBe(file);
    expect(loadConfigFile([], {})).toBeNull();
    expect(loadConfigFile(["--config", file], env)!.organizations[0]!.id).toBe("acme");
    writeFileSync(file, "{ not json");
    expect(errorOf(() => loadConfigFile(["--config", file], env)).message).toMatch(/is not valid JSON/);
  });
});
