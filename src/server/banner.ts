import type { Config } from "../config/config";
import { exampleQuery } from "./example-query";
import { EXPORT_PATH } from "./routes/export";

/**
 * What `npm start` prints in demo mode once it listens: where everything is, and the README's
 * example query (for the last finished week) to paste into the IDE.
 */
export function startupBanner(url: string, config: Config, now: number = Date.now()): string {
  const org = config.organizations[0]!.id;
  const lines = [
    `usagegraph demo mode: built-in emulators of all providers on loopback, organization "${org}", no auth.`,
    "",
    `  Dashboard    ${url}/dashboard`,
    `  GraphQL IDE  ${url}/graphql`,
    `  CSV export   ${url}${EXPORT_PATH}?organization=${org}&from=yyyy-MM-dd&to=yyyy-MM-dd`,
    `  Health       ${url}/healthz   readiness: ${url}/readyz   Prometheus: ${url}/metrics`,
    "",
    "Example query: the README's, for the last finished ISO week (paste it into the IDE):",
    "",
    exampleQuery(org, now),
  ];
  return `\n${lines.join("\n")}\n\n`;
}
