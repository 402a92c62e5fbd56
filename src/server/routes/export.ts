import { pipeline, Readable } from "node:stream";
import { stringify } from "csv-stringify";
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import type { Principal } from "../../auth/api-keys";
import { BadUserInputError, ErrorCode, UnknownOrganizationError, UsageGraphError } from "../../common/errors";
import { LoaderRegistry } from "../../common/loaders";
import type { Logger } from "../../common/logger";
import type { AppServices } from "../../context";
import { parseUsageInput, type UsageInputFields } from "../../graphql/usage.parse";
import type { UsageReport, UsageSeries } from "../../usage/usage.model";
import { disconnectSignal } from "./graphql";

export interface ExportRouteOptions {
  services: AppServices;
  /** The principal of an Authorization header; throws UNAUTHENTICATED (401) when it has none. */
  authenticate(header: string | undefined): Principal;
  log: Logger;
}

export const EXPORT_PATH = "/export/usage.csv";

/** Query-string parameters and the UsageInput field each one is; lists are comma-separated (or repeated). */
const LIST_PARAMETERS = ["providers", "metrics", "groupBy"] as const;
const SINGLE_PARAMETERS = ["from", "to", "granularity", "timeZone"] as const;
const PARAMETERS: readonly string[] = ["organization", ...SINGLE_PARAMETERS, ...LIST_PARAMETERS];

/** The state of every source of the report, `PROVIDER=STATE` pairs, comma-separated (DESIGN §8). */
export const SOURCES_HEADER = "x-usagegraph-sources";

/**
 * `GET /export/usage.csv?organization=ID&from=D&to=D&granularity=G&timeZone=Z&providers=P,P&metrics=M,M&groupBy=K,K`:
 * the `usage` report as RFC 4180 CSV, one row per point. The same authentication, the same input
 * parser (parseUsageInput) and the same usage service as GraphQL; a refusal is one plain-text line
 * with its status (400 bad parameter, 401 no key, 403 another organization) and costs no upstream call.
 */
export const exportRoute: FastifyPluginAsync<ExportRouteOptions> = async (app, { services, authenticate, log }) => {
  // No HEAD: it would cost the same upstream calls as GET for an answer without its rows.
  app.get<{ Querystring: Record<string, string | string[] | undefined> }>(EXPORT_PATH, { exposeHeadRoute: false }, async (request, reply) => {
    let principal: Principal;
    try {
      principal = authenticate(request.headers.authorization);
    } catch (error) {
      return refuse(reply.header("www-authenticate", 'Bearer realm="usagegraph"'), 401, error);
    }
    let report: UsageReport;
    let organization: string;
    let groupBy: string[];
    try {
      const params = request.query;
      const unknown = Object.keys(params).filter((k) => !PARAMETERS.includes(k));
      if (unknown.length > 0) throw new BadUserInputError(`unknown parameter ${unknown.join(", ")}; known: ${PARAMETERS.join(", ")}`);
      organization = single(params, "organization") ?? "";
      if (organization === "") throw new BadUserInputError("organization is required: the id of the organization to export");
      // Who may read what is decided before the input is looked at, as GraphQL resolves organization before usage.
      const loaders = new LoaderRegistry();
      const org = await services.organizations.loader(principal, loaders).load(organization);
      if (!org) throw services.organizations.unknown(principal, organization);
      const fields: Record<string, unknown> = {};
      for (const name of SINGLE_PARAMETERS) fields[name] = single(params, name);
      for (const name of LIST_PARAMETERS) fields[name] = commaList(params[name]);
      const query = await parseUsageInput(fields as UsageInputFields);
      groupBy = [...new Set(query.groupBy ?? [])];
      const runtime = services.organizations.runtime(principal, organization);
      report = await services.usage.report(runtime, query, {
        loaders,
        log: log.child({ requestId: request.id, principal: principal.name, route: EXPORT_PATH }),
        signal: disconnectSignal(reply.raw),
      });
    } catch (error) {
      if (error instanceof UnknownOrganizationError) return refuse(reply, 404, error);
      if (error instanceof UsageGraphError && error.code === ErrorCode.FORBIDDEN) return refuse(reply, 403, error);
      if (error instanceof UsageGraphError && error.code === ErrorCode.BAD_USER_INPUT) return refuse(reply, 400, error);
      throw error;
    }

    const csv = stringify({
      header: true,
      columns: ["organization", "provider", "metric", "unit", "kind", ...groupBy, "start", "end", "value", "final"],
      // RFC 4180: CRLF between records; booleans spelled out (the library's default writes 1 and "").
      record_delimiter: "windows",
      cast: { boolean: (value) => (value ? "true" : "false") },
    });
    // Rows are made one at a time as the stringifier asks for them: a year of Adverity by
    // datastream is never held as one string.
    pipeline(Readable.from(rows(organization, report.series, groupBy)), csv, (error) => {
      if (error) log.warn({ requestId: request.id, err: { name: error.name, message: error.message.slice(0, 200) } }, "CSV export stopped");
    });
    return reply
      .type("text/csv; charset=utf-8")
      .header("content-disposition", `attachment; filename="usage-${organization}-${report.from}-${report.to}.csv"`)
      .header(SOURCES_HEADER, report.sources.map((s) => `${s.provider}=${s.state}`).join(","))
      .header("cache-control", "no-store")
      .send(csv);
  });
};

function* rows(organization: string, series: readonly UsageSeries[], groupBy: readonly string[]): Generator<unknown[]> {
  for (const s of series) {
    // A dimension the provider does not have (or that was not grouped by) is an empty cell.
    const dimensions = groupBy.map((key) => s.dimensions.find((d) => d.key === key)?.label ?? "");
    for (const p of s.points) {
      yield [organization, s.provider, s.metric.key, s.metric.unit, s.metric.kind, ...dimensions, p.start, p.end, p.value, p.final];
    }
  }
}

/** A refusal: its status and one line of plain text saying why. */
function refuse(reply: FastifyReply, status: number, error: unknown): FastifyReply {
  const message = error instanceof Error ? error.message : "Bad request.";
  return reply
    .code(status)
    .type("text/plain; charset=utf-8")
    .send(`${message.replace(/\s+/g, " ").trim()}\n`);
}

function single(params: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) throw new BadUserInputError(`${name} may be given once`);
  return value === undefined || value === "" ? undefined : value;
}

/** `a,b` and `x=a&x=b` alike; an empty value is no value (the default). */
function commaList(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = [value]
    .flat()
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
  return items.length > 0 ? items : undefined;
}
