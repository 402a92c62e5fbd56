import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import {
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  validateSync,
  type ValidationError,
} from "class-validator";
import type { ProviderKey } from "../providers/provider";
import { MODULES_BY_KEY } from "../providers/registry";
import { BaseProviderSettings, CircuitBreakerSettings, RateLimitSettings } from "../providers/settings";
import { resolveBudgets, resolveNotify, type BudgetConfig, type NotifyConfig } from "./budgets.config";
import { resolveCollect, type CollectConfig } from "./collect.config";
import { ConfigError } from "./config-error";
import { describeJsonError } from "./json-error";
import { defaultStoreUrl, resolveStoreUrl, StoreUrlError } from "../store/store.config";

export interface ApiKeyConfig {
  readonly name: string;
  readonly key: string;
  readonly organizations: readonly string[];
}

export interface OrganizationConfig {
  readonly id: string;
  readonly name: string;
  readonly providers: Readonly<Partial<Record<ProviderKey, BaseProviderSettings>>>;
  /** DESIGN §7; empty when the config has none. */
  readonly budgets: readonly BudgetConfig[];
  /** Where alerts are POSTed; no webhooks when the config has none. */
  readonly notify: NotifyConfig;
}

export type { BudgetConfig, NotifyConfig, WebhookConfig } from "./budgets.config";
export type { CollectConfig } from "./collect.config";

/** The resolved, validated, frozen configuration: the only thing that has read the environment. */
export interface Config {
  readonly server: { readonly host: string; readonly port: number };
  /** null: no client authentication (allowed only on a loopback host). */
  readonly auth: { readonly apiKeys: readonly ApiKeyConfig[] } | null;
  readonly cache: { readonly url: string };
  /** The durable usage store: `sqlite:<absolute path>`, `sqlite::memory:`, `postgres://…` or `none`. */
  readonly store: { readonly url: string };
  /** Scheduled collection into the store (DESIGN §6); false: none (`"collect": false`). */
  readonly collect: CollectConfig | false;
  readonly organizations: readonly OrganizationConfig[];
  readonly limits: { readonly deadlineMs: number };
  readonly log: { readonly level: string };
  readonly graphql: GraphQLLimits;
  /** Built-in emulators serve the providers (no config given). */
  readonly demo: boolean;
}

/** Operation limits, checked before any resolver runs, and what the endpoint reveals. */
export interface GraphQLLimits {
  /** Schema introspection (`__schema`); `_service` for composition is always served. */
  readonly introspection: boolean;
  readonly maxDepth: number;
  readonly maxAliases: number;
  readonly maxTokens: number;
  readonly maxDirectives: number;
  /** graphql-armor's per-field cost. */
  readonly maxCost: number;
  /** Upstream fan-out: the sum over usage/records fields of providers × days. */
  readonly maxFanOut: number;
  /** Stack traces in error responses: for local debugging only. */
  readonly debug: boolean;
}

export { ConfigError };

class ServerSection {
  @IsString()
  @IsNotEmpty()
  host: string = "127.0.0.1";

  @IsInt()
  @Min(0)
  @Max(65_535)
  port: number = 4000;
}

class ApiKeySection {
  @IsString()
  @IsNotEmpty()
  name!: string;

  @IsString()
  @MinLength(16, { message: "key must be at least 16 characters" })
  key!: string;

  @IsArray()
  @ArrayNotEmpty()
  @IsString({ each: true })
  organizations!: string[];
}

class CacheSection {
  @Matches(/^(memory:\/\/|redis:\/\/[^\s]+)$/, { message: "url must be memory:// or redis://host:port/db" })
  url: string = "memory://";
}

class StoreSection {
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  url?: string;
}

class LimitsSection {
  @IsInt()
  @Min(1_000)
  @Max(300_000)
  deadlineMs: number = 25_000;
}

class LogSection {
  @IsIn(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
  level: string = "info";
}

class GraphQLSection {
  @IsOptional()
  @IsBoolean()
  introspection?: boolean;

  @IsInt()
  @Min(2)
  @Max(50)
  maxDepth: number = 12;

  @IsInt()
  @Min(1)
  @Max(1_000)
  maxAliases: number = 15;

  @IsInt()
  @Min(100)
  @Max(100_000)
  maxTokens: number = 3_000;

  @IsInt()
  @Min(1)
  @Max(1_000)
  maxDirectives: number = 25;

  @IsInt()
  @Min(100)
  maxCost: number = 10_000;

  @IsInt()
  @Min(1)
  maxFanOut: number = 4_000;

  @IsBoolean()
  debug: boolean = false;
}

class OrganizationSection {
  @Matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, { message: "id must be 1-64 letters, digits, '.', '_' or '-'" })
  id!: string;

  @IsString()
  @IsNotEmpty()
  name!: string;

  @IsOptional()
  providers?: Record<string, unknown>;

  /** Checked by resolveBudgets. */
  @IsOptional()
  budgets?: unknown;

  /** Checked by resolveNotify. */
  @IsOptional()
  notify?: unknown;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "::1", "localhost"]);

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The config file named by `--config FILE` / `--config=FILE`, else USAGEGRAPH_CONFIG, else none. */
export function configPathFrom(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--config") return argv[i + 1];
    if (argv[i]?.startsWith("--config=")) return argv[i]!.slice("--config=".length);
  }
  return env.USAGEGRAPH_CONFIG || undefined;
}

/** Reads and resolves the config named in argv/env; null when there is none (demo mode). */
export function loadConfigFile(argv: readonly string[], env: NodeJS.ProcessEnv): Config | null {
  const path = configPathFrom(argv, env);
  if (path === undefined) return null;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${describeJsonError(text, error as Error)}`);
  }
  return resolveConfig(raw, env, { configDir: dirname(resolve(path)) });
}

/**
 * Turns a parsed config document into the frozen Config: `${NAME}` substitution from `env`,
 * validation of every section, documented defaults. Throws ConfigError naming the first bad field.
 */
export function resolveConfig(raw: unknown, env: NodeJS.ProcessEnv, options: { demo?: boolean; configDir?: string } = {}): Config {
  if (!isObject(raw)) throw new ConfigError("config must be a JSON object");
  const doc = substitute(raw, env, "") as Record<string, unknown>;
  rejectUnknown(doc, ["server", "auth", "cache", "organizations", "limits", "log", "graphql", "store", "collect"], "");

  const server = section(ServerSection, doc.server, "server");
  if (env.PORT !== undefined && env.PORT !== "") {
    const port = Number(env.PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError("PORT must be a port number (0-65535)");
    server.port = port;
  }
  const cache = section(CacheSection, doc.cache, "cache");
  const store = storeSection(doc.store, options);
  const collect = resolveCollect(doc.collect);
  const limits = section(LimitsSection, doc.limits, "limits");
  const log = section(LogSection, { ...(isObject(doc.log) ? doc.log : {}), ...(env.USAGEGRAPH_LOG_LEVEL ? { level: env.USAGEGRAPH_LOG_LEVEL } : {}) }, "log");

  const graphqlSection = section(GraphQLSection, doc.graphql, "graphql");
  // Introspection helps people exploring in an IDE; production hides the schema unless asked to.
  const graphql: GraphQLLimits = {
    ...graphqlSection,
    introspection: graphqlSection.introspection ?? (options.demo === true || env.NODE_ENV !== "production"),
  };

  if (!Array.isArray(doc.organizations) || doc.organizations.length === 0) {
    throw new ConfigError("organizations: at least one organization is required");
  }
  const organizations = doc.organizations.map((o, i) => organization(o, `organizations[${i}]`));
  const ids = new Set<string>();
  for (const [i, org] of organizations.entries()) {
    if (ids.has(org.id)) throw new ConfigError(`organizations[${i}].id: "${org.id}" is used twice`);
    ids.add(org.id);
  }

  let auth: Config["auth"] = null;
  if (doc.auth !== undefined && doc.auth !== null) {
    if (!isObject(doc.auth)) throw new ConfigError("auth must be an object");
    rejectUnknown(doc.auth, ["apiKeys"], "auth");
    if (!Array.isArray(doc.auth.apiKeys) || doc.auth.apiKeys.length === 0) throw new ConfigError("auth.apiKeys: at least one key is required");
    const apiKeys = doc.auth.apiKeys.map((k, i) => section(ApiKeySection, k, `auth.apiKeys[${i}]`));
    for (const [i, key] of apiKeys.entries()) {
      for (const id of key.organizations) {
        if (!ids.has(id)) throw new ConfigError(`auth.apiKeys[${i}].organizations: unknown organization "${id}"`);
      }
    }
    auth = { apiKeys };
  }
  if (!auth && !isLoopback(server.host)) {
    throw new ConfigError(
      `auth: required when server.host is not loopback (${server.host}); without it anyone who can reach the server reads every organization`,
    );
  }
  return deepFreeze({ server, auth, cache, store, collect, organizations, limits, log, graphql, demo: options.demo ?? false });
}

/** A relative sqlite path is resolved against the config file's folder, never the working directory. */
function storeSection(raw: unknown, options: { demo?: boolean; configDir?: string }): Config["store"] {
  const { url } = section(StoreSection, raw, "store");
  if (url === undefined) return { url: defaultStoreUrl({ demo: options.demo ?? false, configDir: options.configDir }) };
  try {
    return { url: resolveStoreUrl(url, options.configDir) };
  } catch (error) {
    // The message of a StoreUrlError names the problem, never the URL (it may hold a password).
    if (error instanceof StoreUrlError) throw new ConfigError(`store.url: ${error.message}`);
    throw error;
  }
}

function organization(raw: unknown, path: string): OrganizationConfig {
  const org = section(OrganizationSection, raw, path);
  const providers: Partial<Record<ProviderKey, BaseProviderSettings>> = {};
  if (org.providers !== undefined) {
    if (!isObject(org.providers)) throw new ConfigError(`${path}.providers must be an object`);
    for (const [key, value] of Object.entries(org.providers)) {
      const module = MODULES_BY_KEY.get(key as ProviderKey);
      if (!module) throw new ConfigError(`${path}.providers.${key}: unknown provider; known: ${[...MODULES_BY_KEY.keys()].join(", ")}`);
      const settings = section(module.Settings, value, `${path}.providers.${key}`, (s) => {
        if (s.rateLimit !== undefined) s.rateLimit = Object.assign(new RateLimitSettings(), s.rateLimit);
        if (s.circuitBreaker !== undefined) s.circuitBreaker = Object.assign(new CircuitBreakerSettings(), s.circuitBreaker);
      });
      providers[key as ProviderKey] = settings;
    }
  }
  const budgets = resolveBudgets(org.budgets, `${path}.budgets`, new Set(Object.keys(providers) as ProviderKey[]));
  return { id: org.id, name: org.name, providers, budgets, notify: resolveNotify(org.notify, `${path}.notify`) };
}

/** Builds an instance of a class-validator class from plain JSON and validates it. */
function section<T extends object>(Cls: new () => T, raw: unknown, path: string, prepare?: (value: T) => void): T {
  if (raw !== undefined && !isObject(raw)) throw new ConfigError(`${path} must be an object`);
  const value = Object.assign(new Cls(), raw ?? {});
  prepare?.(value);
  const errors = validateSync(value, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) throw new ConfigError(describe(errors[0]!, path));
  return value;
}

function describe(error: ValidationError, path: string): string {
  const here = path ? `${path}.${error.property}` : error.property;
  if (error.children && error.children.length > 0) return describe(error.children[0]!, here);
  const message = Object.values(error.constraints ?? {})[0] ?? "is invalid";
  return `${here}: ${message}`;
}

function rejectUnknown(obj: Record<string, unknown>, known: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw new ConfigError(`${path ? `${path}.` : ""}${key}: unknown field; expected one of ${known.join(", ")}`);
  }
}

/** Replaces `${NAME}` in every string by the environment variable NAME. */
function substitute(value: unknown, env: NodeJS.ProcessEnv, path: string): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined) throw new ConfigError(`${path || "config"}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, `${path}[${i}]`));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, path ? `${path}.${k}` : k)]));
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
