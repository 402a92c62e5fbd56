// The bench's baseline: a bare Apollo Server 5 with a trivial schema, nothing else. Started by
// bench/run.ts as its own process (like usagegraph), answering `{ __typename }`.
process.env.APOLLO_TELEMETRY_DISABLED = "true";

import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";

async function main(): Promise<void> {
  const server = new ApolloServer({ typeDefs: "type Query { ok: Boolean }", resolvers: { Query: { ok: () => true } } });
  const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: 0 } });
  process.stdout.write(`${JSON.stringify({ url })}\n`);
  process.on("SIGTERM", () => void server.stop().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  process.stderr.write(`bare-apollo: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
