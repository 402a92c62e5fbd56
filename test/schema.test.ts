import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildUsageGraphSchema } from "../src/graphql/schema";

describe("the subgraph schema", () => {
  it("is exactly what schema/schema.graphql holds (run npm run schema:print after a change)", async () => {
    const { sdl } = await buildUsageGraphSchema();
    expect(readFileSync(join(__dirname, "..", "schema", "schema.graphql"), "utf8").trim()).toBe(sdl.trim());
  });

  it("has every name of the DESIGN contract", async () => {
    const { sdl } = await buildUsageGraphSchema();
    for (const name of [
      "scalar Date",
      "scalar DateTime",
      "enum ProviderId",
      "enum MetricKind",
      "enum Granularity",
      "enum SourceState",
      "type Organization",
      '@key(fields: "id")',
      "usage(input: UsageInput!): UsageReport!",
      "records(input: RecordsInput!): [UsageRecord!]!",
      "union UsageRecord",
      "input UsageInput",
      "input RecordsInput",
      "type UsageReport",
      "type UsageSeries",
      "type UsagePoint",
      "type SourceStatus",
      "upstreamRequests: Int!",
      "cachedResponses: Int!",
      "finalizedThrough: Date",
      "providers: [ProviderInfo!]!",
      "collection: [CollectionStatus!]!",
      "type CollectionStatus",
      "storedDays: Int!",
      "missingDays: Int!",
      "lastRunState: SourceState",
      "lastError: SourceError",
      "nextRunAt: DateTime",
      "budgets(at: Date): [BudgetStatus!]!",
      "type BudgetStatus",
      "enum BudgetState",
      "alerts(from: Date!, to: Date!): [Alert!]!",
      "type Alert",
      "enum AlertKind",
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
