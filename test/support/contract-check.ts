import { isDeepStrictEqual } from "node:util";
import { execute, parse, validate, type DocumentNode, type GraphQLFieldResolver } from "graphql";
import {
  contractValidator,
  describeContractErrors,
  pipefyContractSchema,
  restContract,
  type RestContractProvider,
} from "../../src/contracts/upstream-contracts";
import type { Exchange } from "../../src/providers/emulator/emulator-server";

/**
 * Checks one emulator exchange against the upstream contract (schema/upstream/contracts/README.md,
 * "How usagegraph must use them"): the request's method, path and query or body; the response body
 * against its status's definition; for Pipefy, the operation validates against the contract SDL and
 * the answer is one the SDL allows for it. Returns the violations, each one line.
 */
export function checkExchange(exchange: Exchange): string[] {
  return exchange.contract === "pipefy" ? checkPipefy(exchange) : checkRest(exchange.contract, exchange);
}

interface XRequest {
  method: string;
  path: string;
}

function checkRest(provider: RestContractProvider, exchange: Exchange): string[] {
  const contract = restContract(provider) as {
    "x-request": XRequest;
    "x-responses": Record<string, string>;
    $defs: Record<string, { "x-in"?: string; properties?: Record<string, { "x-repeat"?: boolean }> }>;
  };
  const problems: string[] = [];
  const { request } = exchange;
  const expected = contract["x-request"];
  if (request.method !== expected.method || request.path !== expected.path) {
    // A request off the documented method and path says nothing more worth checking.
    return [`${provider}: request ${request.method} ${request.path} is not the contract's ${expected.method} ${expected.path}`];
  }
  const requestDef = contract.$defs.request!;
  const instance = requestDef["x-in"] === "query" ? queryObject(request.rawQuery, requestDef.properties ?? {}) : jsonOrNull(request.rawBody);
  const validRequest = contractValidator(provider, "request");
  if (!validRequest(instance)) problems.push(`${provider}: request ${requestDef["x-in"]} ${describeContractErrors(validRequest.errors)}`);

  if (exchange.offContract !== undefined || exchange.body === undefined) return problems;
  const ref = contract["x-responses"][String(exchange.status)] ?? contract["x-responses"].default;
  if (!ref) return [...problems, `${provider}: status ${exchange.status} is not one the contract describes`];
  const body = jsonOrNull(exchange.body);
  const validResponse = contractValidator(provider, ref.replace("#/$defs/", ""));
  if (!validResponse(body)) problems.push(`${provider}: HTTP ${exchange.status} body ${describeContractErrors(validResponse.errors)}`);
  return problems;
}

/** The query string as the contract README reads it: x-repeat parameters as arrays, others as strings. */
function queryObject(raw: string, properties: Record<string, { "x-repeat"?: boolean }>): Record<string, string | string[]> {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(raw)) values.set(name, [...(values.get(name) ?? []), value]);
  const out: Record<string, string | string[]> = {};
  for (const [name, list] of values) out[name] = properties[name]?.["x-repeat"] || list.length > 1 ? list : list[0]!;
  return out;
}

function checkPipefy(exchange: Exchange): string[] {
  const { request } = exchange;
  if (request.method !== "POST" || request.path !== "/graphql") return [`pipefy: request ${request.method} ${request.path} is not POST /graphql`];
  const payload = jsonOrNull(request.rawBody) as { query?: unknown; variables?: unknown; operationName?: unknown } | null;
  if (!payload || typeof payload.query !== "string") return ["pipefy: request body has no GraphQL query"];
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch {
    return ["pipefy: request query does not parse"];
  }
  const problems = validate(pipefyContractSchema(), document).map((e) => `pipefy: operation ${e.message}`);
  if (problems.length > 0 || exchange.offContract !== undefined || exchange.body === undefined) return problems;

  const body = jsonOrNull(exchange.body) as { data?: unknown; errors?: unknown } | null;
  if (!body || typeof body !== "object") return [`pipefy: HTTP ${exchange.status} body is not a JSON object`];
  // Errors travel as HTTP 200 with errors[] (or 401/429 with the documented body): the transport
  // notes of the SDL allow them, with partial data or none.
  if (Array.isArray(body.errors)) return [];
  if (exchange.status !== 200) return [`pipefy: HTTP ${exchange.status} answered without errors[]`];
  if (typeof body.data !== "object" || body.data === null) return ["pipefy: HTTP 200 answered without data"];
  // The answer is one the SDL allows for this operation: executing the operation over the answer
  // (each field read from its response key) gives the answer back unchanged.
  const readKey: GraphQLFieldResolver<unknown, unknown> = (source, _args, _ctx, info) =>
    source !== null && typeof source === "object" ? (source as Record<string, unknown>)[info.path.key as string] : undefined;
  const replayed = execute({
    schema: pipefyContractSchema(),
    document,
    rootValue: body.data,
    variableValues: (payload.variables ?? {}) as Record<string, unknown>,
    operationName: typeof payload.operationName === "string" ? payload.operationName : undefined,
    fieldResolver: readKey,
  }) as { data?: unknown; errors?: readonly unknown[] };
  if (replayed.errors?.length) return [`pipefy: answer does not fit the operation (${String((replayed.errors[0] as Error).message)})`];
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(replayed.data)), body.data))
    return ["pipefy: answer holds fields the operation did not select or values of the wrong type"];
  return [];
}

function jsonOrNull(text: string): unknown {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
