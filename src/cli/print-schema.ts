import "reflect-metadata";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildUsageGraphSchema } from "../graphql/schema";

/** Writes the printed subgraph schema to schema/schema.graphql (`npm run schema:print`). */
async function main(): Promise<void> {
  const { sdl } = await buildUsageGraphSchema();
  const path = join(__dirname, "..", "..", "schema", "schema.graphql");
  writeFileSync(path, `${sdl}\n`);
  process.stdout.write(`wrote ${path}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
