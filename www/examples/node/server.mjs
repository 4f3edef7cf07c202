// The demo app on a Node backend built on @zivacare/connect/server: the same
// page as the reference backend's (www/), and the endpoints it calls, in one
// file with no dependency beyond the package. Node's own http server; the
// token endpoint is the package's Fetch API handler behind a five-line adapter.
//
//   ZIVACARE_CLIENT_ID=demo-client ZIVACARE_CLIENT_SECRET=… \
//   ZIVACARE_API_URL=http://127.0.0.1:8081 node www/examples/node/server.mjs
//
// Its store is this process's memory: a demo. A production app keeps sessions
// and connections in its database (the access token encrypted) and gives the
// handler a ledger over that database too.

import http from "node:http";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createTokenHandler, ZIVACARE_URL } from "@zivacare/connect/server";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`set ${name}`);
  return v;
};
const clientId = env("ZIVACARE_CLIENT_ID");
const clientSecret = env("ZIVACARE_CLIENT_SECRET");
// The sandbox serves both of ZivaCare's hosts at one URL.
const apiUrl = process.env.ZIVACARE_API_URL;
const [host, port] = env("ZIVACARE_NODE_ADDR", "127.0.0.1:8090").split(":");
const appOrigin = env("ZIVACARE_APP_ORIGIN", `http://${host}:${port}`);
const connectUrl = env("ZIVACARE_CONNECT_URL", apiUrl ? `${apiUrl}/connect` : undefined);

/** session id → user; user → { zivaUserCode, accessToken, name }. */
const sessions = new Map();
const connections = new Map();

function sessionOf(headers) {
  const cookie = (headers.get ? headers.get("cookie") : headers.cookie) || "";
  const id = /(?:^|;\s*)sid=([A-Za-z0-9_-]+)/.exec(cookie)?.[1];
  return id && sessions.has(id) ? { id, user: sessions.get(id) } : null;
}

const handleToken = createTokenHandler({
  clientId,
  clientSecret,
  appOrigin,
  baseUrl: apiUrl ?? ZIVACARE_URL,
  getUser: (request) => sessionOf(request.headers)?.user ?? null,
  save: (user, connection) => {
    connections.set(user, { zivaUserCode: connection.zivaUserCode, accessToken: connection.accessToken, name: connection.name });
  },
});

/** A Node request as a Fetch API Request (the adapter any Node framework needs). */
function toRequest(req, body) {
  return new Request(new URL(req.url, appOrigin), { method: req.method, headers: req.headers, body: ["GET", "HEAD"].includes(req.method) ? undefined : body });
}

async function send(res, response) {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...headers });
  res.end(JSON.stringify(body));
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".wasm": "application/wasm" };
const FILES = { "/": "www/index.html", "/app.js": "www/app.js", "/app.css": "www/app.css", "/favicon.svg": "www/favicon.svg" };

async function file(res, relative) {
  try {
    const data = await readFile(path.join(ROOT, relative));
    res.writeHead(200, { "content-type": TYPES[path.extname(relative)] || "application/octet-stream" });
    res.end(data);
  } catch {
    json(res, 404, { code: "not_found", message: "Not found" });
  }
}

/** The signed-in user's latest readings of `kind`, from ZivaCare's data API with the stored token. */
async function readings(res, user, kind) {
  const stored = connections.get(user);
  if (!stored) return json(res, 404, { code: "not_connected", message: "This user is not connected" });
  if (!/^[a-z_]+$/.test(kind)) return json(res, 404, { code: "unknown_type", message: "Unknown data type" });
  const url = new URL(`${apiUrl ?? "https://api.zivacare.com"}/api/v2/human/${kind}`);
  url.searchParams.set("access_token", stored.accessToken);
  url.searchParams.set("limit", "7");
  const answer = await fetch(url, { headers: { accept: "application/json", "cache-control": "no-cache" }, redirect: "error" });
  if (!answer.ok) return json(res, 502, { code: "upstream_error", message: "ZivaCare could not give the readings" });
  json(res, 200, await answer.json());
}

async function route(req, res, body) {
  const url = new URL(req.url, appOrigin);
  if (url.pathname === "/api/zivacare/token") return send(res, await handleToken(toRequest(req, body)));
  if (url.pathname === "/api/zivacare/config") return json(res, 200, { clientId, connectUrl, serverUrl: "/api/zivacare/token" });
  const session = sessionOf(req.headers);
  if (url.pathname === "/api/zivacare/session") {
    if (req.method === "GET") return json(res, 200, { user: session?.user ?? null });
    if (req.method === "DELETE") {
      if (session) sessions.delete(session.id);
      return json(res, 200, { user: null }, { "set-cookie": "sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0" });
    }
    let user;
    try {
      user = String(JSON.parse(body.toString()).user ?? "").trim();
    } catch {
      user = "";
    }
    if (!user || user.length > 200) return json(res, 400, { code: "invalid_request", message: "Enter a name or an e-mail" });
    const id = randomBytes(24).toString("base64url");
    sessions.set(id, user);
    return json(res, 200, { user }, { "set-cookie": `sid=${id}; Path=/; HttpOnly; SameSite=Lax` });
  }
  if (url.pathname === "/api/zivacare/status") {
    if (!session) return json(res, 401, { code: "unauthenticated", message: "Sign in first" });
    const c = connections.get(session.user);
    return json(res, 200, c ? { user: session.user, connected: true, zivaUserCode: c.zivaUserCode, name: c.name } : { user: session.user, connected: false });
  }
  if (url.pathname.startsWith("/api/zivacare/data/")) {
    if (!session) return json(res, 401, { code: "unauthenticated", message: "Sign in first" });
    return readings(res, session.user, url.pathname.slice("/api/zivacare/data/".length));
  }
  if (FILES[url.pathname]) return file(res, FILES[url.pathname]);
  if (/^\/pkg\/[a-z_]+(\.js|_bg\.wasm)$/.test(url.pathname)) return file(res, url.pathname.slice(1));
  json(res, 404, { code: "not_found", message: "Not found" });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    route(req, res, Buffer.concat(chunks)).catch((e) => {
      console.error(`request failed: ${e.message}`);
      if (!res.headersSent) json(res, 500, { code: "internal_error", message: "Something went wrong" });
    });
  });
});
server.listen(Number(port), host, () => console.log(`Your app (Node): ${appOrigin}`));
process.on("SIGINT", () => server.close(() => process.exit(0)));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
