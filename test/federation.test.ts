import { readFileSync } from "node:fs";
import { join } from "node:path";
import { composeServices } from "@apollo/composition";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";
import type { AceDataEmulator } from "../src/providers/acedata/acedata.emulator";
import { postGraphQL, startServer, utcDay, type RunningServer } from "./support/server-harness";

/** A second subgraph, written here, that owns Organization and points accounts at one. */
const ACCOUNTS_SDL = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Account @key(fields: "id") { id: ID! email: String! organization: Organization! }
  type Organization @key(fields: "id") { id: ID! plan: String! }
  type Query { me: Account! }
`;

describe("federation through an Apollo gateway", () => {
  let usagegraph: RunningServer;
  let accounts: ApolloServer;
  let gateway: ApolloServer;
  let gatewayUrl: string;

  beforeAll(async () => {
    expect(process.env.APOLLO_TELEMETRY_DISABLED).toBe("true");
    usagegraph = await startServer();
    accounts = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(ACCOUNTS_SDL),
        resolvers: {
          Query: { me: () => ({ id: "u1", email: "ada@example.com", organization: { id: "demo" } }) },
          Organization: { plan: () => "enterprise", __resolveReference: (ref: { id: string }) => ref },
        } as never,
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    const { url: accountsUrl } = await startStandaloneServer(accounts, { listen: { port: 0, host: "127.0.0.1" } });
    const composed = composeServices([
      { name: "usagegraph", url: `${usagegraph.url}/graphql`, typeDefs: parse(readFileSync(join(__dirname, "..", "schema", "schema.graphql"), "utf8")) },
      { name: "accounts", url: accountsUrl, typeDefs: parse(ACCOUNTS_SDL) },
    ]);
    expect(composed.errors ?? []).toEqual([]);
    gateway = new ApolloServer({ gateway: new ApolloGateway({ supergraphSdl: composed.supergraphSdl! }) });
    ({ url: gatewayUrl } = await startStandaloneServer(gateway, { listen: { port: 0, host: "127.0.0.1" } }));
    gatewayUrl = gatewayUrl.replace(/\/$/, "");
  });

  afterAll(async () => {
    await gateway?.stop();
    await accounts?.stop();
    await usagegraph?.stop();
  });

  it("resolves Organization.usage for an organization that another subgraph owns", async () => {
    const from = utcDay(-7);
    const to = utcDay(-1);
    const res = await postGraphQL(
      gatewayUrl.replace(/\/graphql$/, ""),
      `{ me { email organization { id plan name usage(input: { from: "${from}", to: "${to}", granularity: TOTAL, providers: [ACEDATA] }) {
          series { provider metric { key } total } sources { provider state upstreamRequests } } } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    const org = res.body.data.me.organization;
    expect(org).toMatchObject({ id: "demo", plan: "enterprise", name: "Demo Organization" });
    const emulator = usagegraph.emulator<AceDataEmulator>("acedata");
    const expected = emulator.rows(from, to).reduce((sum, r) => sum + r.amount, 0);
    expect(org.usage.series).toHaveLength(1);
    expect(org.usage.series[0].total).toBeCloseTo(expected, 9);
    expect(org.usage.sources).toEqual([{ provider: "ACEDATA", state: "OK", upstreamRequests: 1 }]);
  });
});
