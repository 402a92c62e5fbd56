import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { preProcessFile } from "typescript";

/**
 * The one-way layers of DESIGN §5, checked on the source files themselves: the domain (usage
 * service, organizations, providers) never reaches up into the GraphQL layer, and a provider's
 * client code never reaches into its emulator (emulators serve demos and tests only).
 */
const SRC = resolve(__dirname, "..", "src");
const GRAPHQL = join(SRC, "graphql");
const PROVIDERS = join(SRC, "providers");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every module specifier of a source text: imports (type-only too), re-exports, require() and import(). */
function specifiers(text: string): string[] {
  return preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** The files a source file imports by relative path, resolved to absolute paths (without extension). */
function relativeImports(file: string): Array<{ specifier: string; target: string }> {
  return specifiers(readFileSync(file, "utf8"))
    .filter((s) => s.startsWith("./") || s.startsWith("../"))
    .map((specifier) => ({ specifier, target: resolve(dirname(file), specifier) }));
}

function isInside(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r));
}

const show = (file: string) => relative(SRC, file).split(sep).join("/");

describe("the layers", () => {
  it("finds every kind of import a file can make, so that an empty list of violations means something", () => {
    const text = [
      'import type { A } from "../graphql/a";',
      'import { B } from "../../graphql/b";',
      'export { C } from "./c";',
      'import "./side-effect";',
      'const d = require("../d");',
      'async function e() { return import("./e"); }',
      '// import { F } from "../graphql/in-a-comment";',
    ].join("\n");
    expect(specifiers(text)).toEqual(["../graphql/a", "../../graphql/b", "./c", "./side-effect", "../d", "./e"]);

    const service = join(SRC, "usage", "usage.service.ts");
    expect(relativeImports(service).map((i) => show(i.target))).toEqual(expect.arrayContaining(["providers/registry", "organizations/organization.registry"]));
  });

  it("keeps src/usage, src/organizations and src/providers free of imports from src/graphql", () => {
    const files = ["usage", "organizations", "providers"].flatMap((d) => sourceFiles(join(SRC, d)));
    expect(files.length).toBeGreaterThan(40);
    const violations = files.flatMap((file) =>
      relativeImports(file)
        .filter((i) => isInside(i.target, GRAPHQL))
        .map((i) => `${show(file)} imports "${i.specifier}"`),
    );
    expect(violations).toEqual([]);
  });

  it("keeps a provider's client code free of imports of emulator modules (only emulators, demos and tests use them)", () => {
    const files = readdirSync(PROVIDERS, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((entry) => sourceFiles(join(PROVIDERS, entry.name)))
      .filter((file) => !file.endsWith(".emulator.ts") && !file.endsWith(".demo.ts") && !file.split(sep).includes("__tests__"));
    expect(files.length).toBeGreaterThan(30);
    const violations = files.flatMap((file) =>
      relativeImports(file)
        .filter((i) =>
          basename(i.target)
            .replace(/\.(ts|js)$/, "")
            .endsWith(".emulator"),
        )
        .map((i) => `${show(file)} imports "${i.specifier}"`),
    );
    expect(violations).toEqual([]);
  });
});
