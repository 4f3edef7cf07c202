// Starts the real servers on loopback for the end-to-end tests: the ZivaCare
// sandbox, the reference backend (and a second backend with a wrong
// clientSecret), an attacker site on a third origin, and in front of each
// backend a small proxy that is the app's origin: it serves the test pages and
// the built examples, records the SDK's token POSTs, can fail or delay a
// request, and adds the capture script to every page. Each test body runs in
// every engine (`eachEngine`), in browsers of `drivers.mjs`.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, existsSync, statSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { ENGINES, newContext } from "./drivers.mjs";
import { freePort } from "./ports.mjs";

export { ENGINES, newContext, until, Key, CHROMIUM_ARGS } from "./drivers.mjs";
export { freePort } from "./ports.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "target/debug/zivacare-dev");

/**
 * Defines the tests of `body` once per engine: `body({ engine, test, inContext })`,
 * where `test(name, fn)` names each result with its engine, `[firefox] name`,
 * and `inContext(fn)` is a test body `fn(ctx)` given a fresh browser of the
 * engine, closed after it whatever happens.
 */
export function eachEngine(body) {
  for (const engine of ENGINES) {
    describe(engine, () => {
      const inContext = (fn) => async () => {
        const ctx = await newContext(engine);
        try {
          await fn(ctx);
        } finally {
          await ctx.close();
        }
      };
      body({ engine, test: (name, fn) => test(`[${engine}] ${name}`, fn), inContext });
    });
  }
}

// Servers never outlive the test process, whatever way a test ends.
const children = new Set();
process.on("exit", () => { for (const c of children) c.kill("SIGKILL"); });

/**
 * Runs `command args` and resolves once its output matches `ready`; `logs`
 * collects its output, and it is killed when the tests' process ends.
 */
function startProcess(command, args, env, logs, ready) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    child.on("exit", () => children.delete(child));
    let out = "";
    const onData = (chunk) => {
      out += chunk;
      logs.push(String(chunk));
      if (ready.test(out)) resolve(child);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (c) => logs.push(String(c)));
    child.on("exit", (code) => reject(new Error(`${path.basename(command)} ${args.join(" ")} exited with ${code}: ${logs.join("")}`)));
    child.exited = new Promise((done) => child.on("exit", (code, signal) => done({ code, signal })));
  });
}

/** Runs `zivacare-dev MODE` and resolves once its output matches `ready`. */
export function start(mode, env, logs = [], ready = /http:\/\//) {
  return startProcess(BIN, [mode], env, logs, ready);
}

/** Runs the demo's Node backend (www/examples/node/server.mjs) and resolves once it listens. */
export function startNodeExample(env, logs = []) {
  return startProcess(process.execPath, [path.join(ROOT, "www/examples/node/server.mjs")], env, logs, /Your app \(Node\)/);
}

/** Counts rows of a table in a SQLite file with the sqlite3 command-line tool. */
export function sqlite(file, sql) {
  return execFileSync("sqlite3", ["-json", file, sql], { encoding: "utf8" }).trim();
}

export function rows(file, table) {
  const out = sqlite(file, `SELECT * FROM ${table}`);
  return out ? JSON.parse(out) : [];
}

const ATTACKER_PAGE = `<!doctype html><html><head><title>Win a prize</title>
<script src="/attacker.js" defer></script></head><body>
<button id="go">Claim your prize</button></body></html>`;

const ATTACKER_JS = `"use strict";
let app = null;
document.getElementById("go").addEventListener("click", () => { app = window.open(document.body.dataset.app, "app"); });
window.forge = (message) => app.postMessage(message, "*");`;

/** The attacker's site; `requests` records what reached it (URL and Referer). */
function serveAttacker(port, appUrl, requests) {
  const srv = http.createServer((req, res) => {
    requests.push({ url: req.url, referer: req.headers.referer || "" });
    if (req.url.startsWith("/pixel.svg")) {
      res.writeHead(200, { "content-type": "image/svg+xml", "cache-control": "no-store" });
      return res.end('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>');
    }
    if (req.url === "/attacker.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(ATTACKER_JS);
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(ATTACKER_PAGE.replace("<body>", `<body data-app="${appUrl}">`));
  });
  return new Promise((resolve) => srv.listen(port, "127.0.0.1", () => resolve(srv)));
}

// Records what happens in a page, in every engine alike: console lines, page
// errors and Content-Security-Policy violations. Added first to every page.
const CAPTURE_JS = `(function () {
  var c = window.__captured = { console: [], errors: [], violations: [] };
  ["log", "info", "warn", "error"].forEach(function (k) {
    var f = console[k];
    console[k] = function () { c.console.push([].map.call(arguments, String).join(" ")); return f.apply(console, arguments); };
  });
  addEventListener("error", function (e) { c.errors.push(String(e.message)); });
  addEventListener("unhandledrejection", function (e) { c.errors.push(String(e.reason)); });
  document.addEventListener("securitypolicyviolation", function (e) { c.violations.push(e.violatedDirective + " " + e.blockedURI); });
})();`;
const CAPTURE_TAG = `<script src="/__harness/capture.js"></script>`;

const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html", ".css": "text/css", ".json": "application/json", ".svg": "image/svg+xml" };

/** How to decode and encode again an answer of each `Content-Encoding` the backend uses. */
const CODINGS = {
  identity: [(b) => b, (b) => b],
  gzip: [zlib.gunzipSync, zlib.gzipSync],
  br: [zlib.brotliDecompressSync, zlib.brotliCompressSync],
};

/** `html` with the capture script as the first thing in its head. */
function withCapture(html) {
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (h) => h + CAPTURE_TAG) : CAPTURE_TAG + html;
}

/**
 * A pass-through in front of a server at `target` (the sandbox, as browsers
 * reach it) that records every request line and `Referer` it forwards.
 */
export class Recorder {
  constructor(target) {
    this.target = new URL(target);
    this.requests = [];
  }

  async listen(port) {
    this.server = http.createServer((req, res) => {
      this.requests.push({ method: req.method, url: req.url, referer: req.headers.referer || "" });
      const up = http.request({ host: this.target.hostname, port: this.target.port, method: req.method, path: req.url,
        headers: { ...req.headers, host: this.target.host } }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on("error", () => { res.writeHead(502); res.end(); });
      req.pipe(up);
    });
    await new Promise((r) => this.server.listen(port, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  close() {
    this.server.close();
  }
}

/**
 * The app's origin in front of a backend at `target`. Test pages live under
 * `/t/N/`; their `/t/N/pkg/…` is the backend's `/pkg/…` (so that a page's
 * loader fetches its `.wasm` from there, which can be delayed or tampered with).
 */
class AppProxy {
  constructor(target) {
    this.target = new URL(target);
    this.requests = [];
    this.pages = new Map();
    this.mounts = new Map();
    this.failures = [];
    this.next = 0;
    /** What `/return` (a registered return URL) serves: set by a test. */
    this.returnPage = null;
  }

  async listen(port) {
    this.server = http.createServer((req, res) => this.handle(req, res).catch((e) => {
      res.writeHead(502);
      res.end(String(e));
    }));
    await new Promise((r) => this.server.listen(port, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${port}`;
    return this;
  }

  /**
   * Serves `body` (an HTML body, or a whole document) as a page of the app's
   * origin; its path. `wasmDelayMs` delays its `.wasm`, `tamperWasm` flips a
   * byte of it, `headers` are added to the page's answer.
   */
  page(body, { wasmDelayMs = 0, tamperWasm = false, headers = {}, demo = false } = {}) {
    const prefix = `/t/${++this.next}/`;
    const html = demo || /^<!doctype/i.test(body) ? body
      : `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body>${body}</body></html>`;
    this.pages.set(prefix, { html: demo ? null : html.replaceAll('src="/pkg/', `src="${prefix}pkg/`), wasmDelayMs, tamperWasm, headers });
    return this.url + prefix;
  }

  /** The demo app's own page, served with `headers` added. */
  demo(headers) {
    return this.page("", { demo: true, headers });
  }

  /** Serves the files of `dir` under `prefix` (a built example). */
  mount(prefix, dir) {
    this.mounts.set(prefix, dir);
    return this.url + prefix;
  }

  /** The next `count` requests to `path` get `status` without reaching the backend. */
  failNext(pathname, status, count = 1) {
    this.failures.push({ pathname, status, count });
  }

  /** The SDK's POSTs of tokens, as they reached the app. */
  tokenPosts(since = 0) {
    return this.requests.slice(since).filter((r) => r.path === "/api/zivacare/token" && r.method === "POST");
  }

  async handle(req, res) {
    const url = new URL(req.url, this.url);
    const body = await new Promise((resolve) => {
      const chunks = [];
      req.on("data", (c) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
    });
    this.requests.push({ path: url.pathname, url: req.url, method: req.method, headers: req.headers, body: body.toString() });
    if (url.pathname === "/return" && this.returnPage) {
      res.writeHead(200, { "content-type": "text/html", ...this.returnPage.headers });
      return res.end(withCapture(this.returnPage.html));
    }
    if (url.pathname === "/__harness/capture.js") {
      res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" });
      return res.end(CAPTURE_JS);
    }
    const failure = this.failures.find((f) => f.pathname === url.pathname && f.count > 0);
    if (failure) {
      failure.count--;
      res.writeHead(failure.status, { "content-type": "text/plain" });
      return res.end("failing on purpose");
    }
    for (const [prefix, dir] of this.mounts) {
      if (url.pathname.startsWith(prefix)) {
        let file = path.join(dir, url.pathname.slice(prefix.length) || "index.html");
        if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) file = path.join(dir, "index.html");
        const data = readFileSync(file);
        res.writeHead(200, { "content-type": TYPES[path.extname(file)] || "application/octet-stream" });
        return res.end(file.endsWith(".html") ? withCapture(data.toString()) : data);
      }
    }
    const prefix = [...this.pages.keys()].find((p) => url.pathname.startsWith(p));
    if (prefix) {
      const page = this.pages.get(prefix);
      const rest = url.pathname.slice(prefix.length);
      if (rest === "" && page.html !== null) {
        res.writeHead(200, { "content-type": "text/html", ...page.headers });
        return res.end(withCapture(page.html));
      }
      if (rest.startsWith("pkg/")) {
        if (rest.endsWith(".wasm") && page.wasmDelayMs) await new Promise((r) => setTimeout(r, page.wasmDelayMs));
        return this.forward(req, res, "/" + rest + url.search, body, {}, page.tamperWasm && rest.endsWith(".wasm"));
      }
      return this.forward(req, res, rest === "" ? "/" : "/" + rest, body, page.headers);
    }
    return this.forward(req, res, url.pathname + url.search, body);
  }

  /**
   * Passes the request on to the backend, adding `extra` headers to its answer.
   * Answers stay as the backend compressed them (what a browser measures is
   * what users get), except a page, which gets the capture script and is then
   * compressed again the same way, and a tampered file, which is sent plain.
   */
  forward(req, res, pathAndQuery, body, extra = {}, tamper = false) {
    const headers = { ...req.headers, host: this.target.host };
    if (tamper) delete headers["accept-encoding"];
    return new Promise((resolve, reject) => {
      const up = http.request({ host: this.target.hostname, port: this.target.port, method: req.method, path: pathAndQuery, headers }, (r) => {
        const chunks = [];
        r.on("data", (c) => chunks.push(c));
        r.on("end", () => {
          let data = Buffer.concat(chunks);
          const out = { ...r.headers, ...extra };
          delete out["content-length"];
          if ((r.headers["content-type"] || "").startsWith("text/html")) {
            const coding = r.headers["content-encoding"] || "identity";
            if (!CODINGS[coding]) return reject(new Error(`the backend answered a page in ${coding}, which the proxy cannot decode`));
            const [decode, encode] = CODINGS[coding];
            data = encode(Buffer.from(withCapture(decode(data).toString())));
          }
          if (tamper && data.length) data[data.length - 1] ^= 1;
          res.writeHead(r.statusCode, out);
          res.end(data);
          resolve();
        });
        r.on("error", reject);
      });
      up.on("error", reject);
      up.end(body);
    });
  }

  close() {
    this.server.close();
  }
}

/** Everything the end-to-end tests run against; `stop()` ends it all. */
export async function startStack() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "zivacare-e2e-"));
  const ports = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(() => freePort()));
  const [sandboxPort, appPort, badPort, attackerPort, appBackendPort, badBackendPort, zivacarePort] = ports;
  // Browsers reach the sandbox through a recorder; the backends, directly.
  const directSandbox = `http://127.0.0.1:${sandboxPort}`;
  const sandboxUrl = `http://127.0.0.1:${zivacarePort}`;
  const appUrl = `http://127.0.0.1:${appPort}`;
  const badUrl = `http://127.0.0.1:${badPort}`;
  const attackerUrl = `http://127.0.0.1:${attackerPort}`;
  const secret = "sec_SENTINEL_e2e-client-secret";
  const apps = path.join(dir, "apps.json");
  writeFileSync(apps, JSON.stringify([{
    clientId: "demo-client", clientSecret: secret, name: "ZivaCare Demo App",
    origins: [appUrl, badUrl],
    returnUrls: [`${appUrl}/`, `${appUrl}/return`, `${badUrl}/`],
  }]));
  const logs = [];
  const common = {
    ZIVACARE_APPS: apps, ZIVACARE_API_URL: directSandbox, ZIVACARE_CONNECT_URL: `${sandboxUrl}/connect`,
    ZIVACARE_CLIENT_ID: "demo-client",
    ZIVACARE_KEYS: "e2e:" + Buffer.alloc(32, 9).toString("base64"),
    ZIVACARE_SESSION_KEY: Buffer.alloc(64, 5).toString("base64"),
  };
  const procs = [];
  procs.push(await start("sandbox", { ...common, ZIVACARE_SANDBOX_ADDR: `127.0.0.1:${sandboxPort}`, ZIVACARE_SANDBOX_DB: path.join(dir, "sandbox.db") }, logs));
  const db = path.join(dir, "backend.db");
  const badDb = path.join(dir, "bad-backend.db");
  // Each backend knows its app by the origin of the proxy in front of it.
  procs.push(await start("backend", { ...common, ZIVACARE_BACKEND_ADDR: `127.0.0.1:${appBackendPort}`, ZIVACARE_ALLOWED_ORIGINS: appUrl, ZIVACARE_CLIENT_SECRET: secret, ZIVACARE_DB: db }, logs));
  procs.push(await start("backend", { ...common, ZIVACARE_BACKEND_ADDR: `127.0.0.1:${badBackendPort}`, ZIVACARE_ALLOWED_ORIGINS: badUrl, ZIVACARE_CLIENT_SECRET: "sec_SENTINEL_wrong-secret", ZIVACARE_DB: badDb }, logs));
  const app = await new AppProxy(`http://127.0.0.1:${appBackendPort}`).listen(appPort);
  const bad = await new AppProxy(`http://127.0.0.1:${badBackendPort}`).listen(badPort);
  const zivacare = await new Recorder(directSandbox).listen(zivacarePort);
  const attackerRequests = [];
  const attacker = await serveAttacker(attackerPort, appUrl, attackerRequests);
  return {
    dir, sandboxUrl, appUrl, badUrl, attackerUrl, db, badDb, secret, logs, app, bad, zivacare, attackerRequests,
    /** Every request line and Referer that any server of the stack saw from browsers. */
    seen() {
      const lines = [];
      for (const r of [...app.requests, ...bad.requests]) lines.push(r.url, r.headers.referer || "");
      for (const r of [...zivacare.requests, ...attackerRequests]) lines.push(r.url, r.referer);
      return lines.join("\n");
    },
    async stop() {
      attacker.close();
      zivacare.close();
      app.close();
      bad.close();
      for (const p of procs) p.kill("SIGTERM");
    },
  };
}

/** Signs `user` in on the demo page, as a person would, and waits for the button. */
export async function signIn(page, user) {
  await page.waitForElement({ role: "button", name: "Sign in" });
  await page.fill("#user", user);
  await page.click({ role: "button", name: "Sign in" });
  await page.waitForText(`Signed in as ${user}.`);
  await page.waitForElement({ role: "button", name: "Connect Health Data" });
}

/** Opens the demo app at `url` in `ctx`, signs `user` in and waits for the button. */
export async function openApp(ctx, url, user) {
  const page = await ctx.newPage();
  await page.goto(url);
  await signIn(page, user);
  return page;
}

/** Gives the browser of `page` a session of the app at `appUrl` for `user`, as its sign-in does. */
export async function sessionFor(page, appUrl, user) {
  if (!(await page.url()).startsWith(appUrl)) await page.goto(`${appUrl}/favicon.svg`);
  const status = await page.evaluate((u) => fetch("/api/zivacare/session", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-ZivaCare-Connect": "1" },
    body: JSON.stringify({ user: u }),
  }).then((r) => r.status), user);
  if (status !== 200) throw new Error(`sign-in of ${user} answered ${status}`);
}

/** GET `path` of the app as its page does (with the page's session). */
export function appGet(page, pathname) {
  return page.evaluate((p) => fetch(p).then(async (r) => ({ status: r.status, body: await r.json() })), pathname);
}

/** Clicks the Connect button for real and returns the Connect popup, loaded. */
export async function clickConnect(page, name = "Connect Health Data") {
  const popup = await page.clickForPopup({ role: "button", name });
  await waitForConnectPage(popup);
  return popup;
}

/** Waits until `popup` shows the Connect page (a popup opened blank first navigates). */
export async function waitForConnectPage(popup) {
  await popup.waitFor(() => location.pathname === "/connect" && document.readyState !== "loading", [], { timeout: 15_000 });
}

/** The state the SDK put in the Connect page's URL. */
export async function stateOf(popup) {
  return new URL(await popup.url()).searchParams.get("state");
}

/** Picks `sources` in the Connect popup and finishes, which closes it. */
export async function finishIn(popup, sources) {
  for (const s of sources) await popup.check(s);
  await popup.clickClosing({ role: "button", name: "Finish Connecting Data" });
}
