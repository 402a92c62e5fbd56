import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfigFile, resolveConfig } from "../../config/config";
import { maskStoreUrl } from "../store.config";
import { thrownBy } from "../../../test/support/thrown";

const organizations = [{ id: "acme", name: "Acme" }];

const configError = (fn: () => unknown) => thrownBy(fn, ConfigError);

describe("store.url in the configuration", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "usagegraph-store-config-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function load(doc: object): ReturnType<typeof loadConfigFile> {
    const file = join(dir, "conf", "usagegraph.json");
    mkdirSync(join(dir, "conf"), { recursive: true });
    writeFileSync(file, JSON.stringify(doc));
    return loadConfigFile(["--config", file], {});
  }

  it("defaults to data/usagegraph.db next to the config file, whatever the working directory", () => {
    expect(load({ organizations })!.store.url).toBe(`sqlite:${join(dir, "conf", "data", "usagegraph.db")}`);
  });

  it("resolves a relative sqlite path against the config file's folder and keeps an absolute one", () => {
    expect(load({ organizations, store: { url: "sqlite:../state/usage.db" } })!.store.url).toBe(`sqlite:${join(dir, "state", "usage.db")}`);
    expect(load({ organizations, store: { url: "sqlite:/var/lib/usagegraph/usage.db" } })!.store.url).toBe("sqlite:/var/lib/usagegraph/usage.db");
  });

  it("defaults to an in-memory store in demo mode and without a config file", () => {
    expect(resolveConfig({ organizations }, {}, { demo: true }).store.url).toBe("sqlite::memory:");
    expect(resolveConfig({ organizations }, {}).store.url).toBe("sqlite::memory:");
  });

  it("takes postgres:// (with ${NAME} substitution), sqlite::memory: and none as they are", () => {
    const url = "postgres://usagegraph:${PGPASSWORD}@db.internal:5432/usage";
    expect(resolveConfig({ organizations, store: { url } }, { PGPASSWORD: "pw" }).store.url).toBe("postgres://usagegraph:pw@db.internal:5432/usage");
    expect(resolveConfig({ organizations, store: { url: "sqlite::memory:" } }, {}).store.url).toBe("sqlite::memory:");
    expect(resolveConfig({ organizations, store: { url: "none" } }, {}).store.url).toBe("none");
  });

  it("names store.url for an unknown scheme and never prints the URL", () => {
    const error = configError(() => resolveConfig({ organizations, store: { url: "mysql://root:hunter2-secret@db:3306/usage" } }, {}));
    expect(error.message).toBe('store.url: unknown scheme "mysql"; expected sqlite:<path>, sqlite::memory:, postgres://user:pass@host:port/db or none');
    for (const url of ["hunter2-secret", "postgres://u:hunter2-secret@/usage", "postgres://u:hunter2-secret@db", "sqlite:"]) {
      const e = configError(() => resolveConfig({ organizations, store: { url } }, {}));
      expect(e.message).toMatch(/^store\.url: /);
      expect(e.message).not.toContain("hunter2");
    }
    expect(configError(() => resolveConfig({ organizations, store: { url: 5 } }, {})).message).toMatch(/^store\.url: /);
    expect(configError(() => resolveConfig({ organizations, store: { path: "x" } }, {})).message).toMatch(/^store\.path: /);
  });

  it("refuses a relative sqlite path when there is no config file to resolve it against", () => {
    expect(configError(() => resolveConfig({ organizations, store: { url: "sqlite:data/usage.db" } }, {})).message).toBe(
      "store.url: a relative sqlite path needs a config file to resolve against; give an absolute path",
    );
  });
});

describe("maskStoreUrl", () => {
  it("replaces the password, percent-encoded or not, and leaves URLs without one alone", () => {
    expect(maskStoreUrl("postgres://app:s3cret@db:5432/usage")).toBe("postgres://app:***@db:5432/usage");
    expect(maskStoreUrl("postgres://app:p%40ss%3Aword@db/usage")).toBe("postgres://app:***@db/usage");
    expect(maskStoreUrl("postgres://app@db/usage")).toBe("postgres://app@db/usage");
    expect(maskStoreUrl("sqlite:/var/lib/usagegraph.db")).toBe("sqlite:/var/lib/usagegraph.db");
  });
});
