import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { FastifyPluginAsync } from "fastify";
import { isObjectType, type GraphQLSchema } from "graphql";

export interface DashboardRoutesOptions {
  /** Clients must send an API key: the page asks for one before anything else. */
  authRequired: boolean;
  /** The served schema: the page uses fields that may not exist yet only when they do. */
  schema: GraphQLSchema;
}

/**
 * Fields the page reads only when the schema has them: told to the page when it is served, so it
 * needs no introspection (which production turns off). Issue 12 adds budgets and alerts.
 */
const OPTIONAL_FIELDS = [
  ["Organization", "budgets"],
  ["Organization", "alerts"],
  ["SourceStatus", "storedDays"],
] as const;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/**
 * The dashboard's files, served as they are: plain JS and CSS in src/dashboard/ (no build step),
 * and uPlot from node_modules. An allow-list, never a path from the URL. Read once at start-up, so
 * that a missing file stops the server instead of breaking the page.
 */
function loadAssets(): Map<string, Asset> {
  const own = join(packageRoot(), "src", "dashboard");
  const files: Array<[name: string, path: string, type: string]> = [
    ["dashboard.js", join(own, "dashboard.js"), "text/javascript; charset=utf-8"],
    ["dashboard.css", join(own, "dashboard.css"), "text/css; charset=utf-8"],
    ["favicon.svg", join(own, "favicon.svg"), "image/svg+xml"],
    ["uPlot.iife.min.js", require.resolve("uplot/dist/uPlot.iife.min.js"), "text/javascript; charset=utf-8"],
    ["uPlot.min.css", require.resolve("uplot/dist/uPlot.min.css"), "text/css; charset=utf-8"],
  ];
  return new Map(
    files.map(([name, path, type]) => {
      const body = readFileSync(path);
      return [name, { body, type, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"` }];
    }),
  );
}

/**
 * The page may load only what this server serves and talk only to it: no CDN, no inline script,
 * nothing framed. `blob:` is the CSV download made from an export answer.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** `GET /` redirects to the dashboard; `GET /dashboard` is the page; its files are under /dashboard/assets/. */
export const dashboardRoutes: FastifyPluginAsync<DashboardRoutesOptions> = async (app, { authRequired, schema }) => {
  const assets = loadAssets();
  const features = OPTIONAL_FIELDS.filter(([type, field]) => {
    const t = schema.getType(type);
    return isObjectType(t) && field in t.getFields();
  }).map(([type, field]) => `${type}.${field}`);
  const html = readFileSync(join(packageRoot(), "src", "dashboard", "index.html"), "utf8")
    .replace("__AUTH__", authRequired ? "required" : "none")
    .replace("__FEATURES__", features.join(" "));

  app.get("/", async (_request, reply) => reply.redirect("/dashboard", 302));

  app.get("/dashboard", async (_request, reply) =>
    reply
      .type("text/html; charset=utf-8")
      .header("content-security-policy", CONTENT_SECURITY_POLICY)
      .header("x-content-type-options", "nosniff")
      .header("referrer-policy", "no-referrer")
      .header("cache-control", "no-cache")
      .send(html),
  );

  app.get<{ Params: { file: string } }>("/dashboard/assets/:file", async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (!asset) return reply.callNotFound();
    reply.header("etag", asset.etag).header("cache-control", "no-cache").header("x-content-type-options", "nosniff");
    if (request.headers["if-none-match"] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });
};

/**
 * The folder of usagegraph's package.json: src/dashboard/ sits there whether this file runs from
 * src/ (tests), dist/ (`npm start`) or dist-bench/ (the benchmark).
 */
function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`usagegraph: no package.json above ${__dirname}: the dashboard's files cannot be found`);
    dir = up;
  }
  return dir;
}
