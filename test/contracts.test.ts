import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { contractsDir } from "../src/contracts/upstream-contracts";

/** Every file below `dir`, as paths relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path).map((f) => join(name, f)) : [name];
  });
}

const shared = join(__dirname, "..", "..", "shared", "contracts");

describe("vendored upstream contracts", () => {
  it("are found where the client and the emulators look for them", () => {
    expect(relative(join(__dirname, ".."), contractsDir())).toBe(join("schema", "upstream", "contracts"));
    expect(files(contractsDir())).toEqual(expect.arrayContaining(["pipefy.graphql", "acedata.schema.json", join("samples", "pipefy-1.json")]));
  });

  (existsSync(shared) ? it : it.skip)("are byte-identical to ../shared/contracts (the team's source of truth)", () => {
    expect(files(contractsDir()).sort()).toEqual(files(shared).sort());
    for (const file of files(shared)) {
      expect({ file, same: readFileSync(join(contractsDir(), file)).equals(readFileSync(join(shared, file))) }).toEqual({ file, same: true });
    }
  });
});
