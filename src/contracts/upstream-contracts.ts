import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { buildSchema, type GraphQLSchema } from "graphql";

/**
 * The upstream contracts (`schema/upstream/contracts/`, a byte-identical copy of the shared
 * contracts): the single source of truth of what usagegraph may send to each vendor and may rely
 * on in its answers. Neither the client nor an emulator owns them; both read them from here, so a
 * client and its emulator stay two independent readings of one document.
 */

/** Contract file names, by provider key. */
export const REST_CONTRACTS = {
  jiandaoyun: "jiandaoyun.schema.json",
  acedata: "acedata.schema.json",
  aiStudio: "aistudio.schema.json",
  adverity: "adverity.schema.json",
} as const;
export type RestContractProvider = keyof typeof REST_CONTRACTS;

/** `x-request` of a REST contract. */
export interface ContractRequest {
  method: string;
  path: string;
}

/** The folder of the vendored contracts, found from wherever this file was compiled to. */
export function contractsDir(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const candidate = join(dir, "schema", "upstream", "contracts");
    if (existsSync(join(candidate, "pipefy.graphql"))) return candidate;
    if (dirname(dir) === dir) throw new Error("schema/upstream/contracts not found above " + __dirname);
  }
}

let ajv: Ajv2020 | undefined;
const schemas = new Map<RestContractProvider, Record<string, unknown>>();

function contractAjv(): Ajv2020 {
  if (ajv) return ajv;
  // strict: a keyword the contract misspells is an error, not silently ignored; the x- keywords
  // are annotations, declared as such (contracts README).
  ajv = new Ajv2020({ allErrors: true, strict: true });
  ajv.addVocabulary(["x-source", "x-request", "x-responses", "x-limits", "x-in", "x-repeat"]);
  addFormats(ajv);
  for (const key of Object.keys(REST_CONTRACTS) as RestContractProvider[]) {
    const schema = JSON.parse(readFileSync(join(contractsDir(), REST_CONTRACTS[key]), "utf8")) as Record<string, unknown>;
    schemas.set(key, schema);
    ajv.addSchema(schema);
  }
  return ajv;
}

/** The parsed JSON Schema of a REST contract. */
export function restContract(provider: RestContractProvider): Record<string, unknown> {
  contractAjv();
  return schemas.get(provider)!;
}

/** A compiled validator of one definition (`response`, `request`, `error`, …) of a REST contract. */
export function contractValidator(provider: RestContractProvider, definition: string): ValidateFunction {
  const id = `urn:usagegraph:upstream:${provider === "aiStudio" ? "aistudio" : provider}#/$defs/${definition}`;
  const validate = contractAjv().getSchema(id);
  if (!validate) throw new Error(`no definition ${definition} in the ${provider} contract`);
  return validate;
}

/** Ajv errors as one short line: where and what, never the offending value. */
export function describeContractErrors(errors: readonly ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return "does not match the contract";
  return errors
    .slice(0, 3)
    .map((e) => `${e.instancePath || "(body)"} ${e.message ?? "is invalid"}`)
    .join("; ");
}

let pipefySchema: GraphQLSchema | undefined;

/** Pipefy's contract SDL as an executable-less schema: what any operation sent to Pipefy must validate against. */
export function pipefyContractSchema(): GraphQLSchema {
  pipefySchema ??= buildSchema(readFileSync(join(contractsDir(), "pipefy.graphql"), "utf8"));
  return pipefySchema;
}

/** The documents' own sample bodies (`samples/<provider>-<n>.json`), parsed. */
export function contractSample(name: string): unknown {
  return JSON.parse(readFileSync(join(contractsDir(), "samples", name), "utf8"));
}
