// Starts the real servers on loopback and a real headless Chromium for the
// end-to-end tests: the ZivaCare sandbox, the reference backend (and a second
// backend with a wrong clientSecret), and an attacker site on a third origin.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "target/debug/zivacare-dev");

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    // Keep Chromium's popup blocker on, as users have it.
    ignoreDefaultArgs: ["--disable-popup-blocking"],
  });
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Servers never outlive the test process, whatever way a test ends.
const children = new Set();
process.on("exit", () => { for (const c of children) c.kill("SIGKILL"); });

/** Runs `zivacare-dev MODE` and resolves once its output matches `ready`. */
export function start(mode, env, logs = [], ready = /http:\/\//) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, [mode], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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
    child.on("exit", (code) => reject(new Error(`zivacare-dev ${mode} exited with ${code}: ${logs.join("")}`)));
    child.exited = new Promise((done) => child.on("exit", (code, signal) => done({ code, signal })));
  });
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
document.getElementById("go").addEventListener("click", () => { app = window.open(window.APP_URL || document.body.dataset.app, "app"); });
window.forge = (message) => app.postMessage(message, "*");`;

function serveAttacker(port, appUrl) {
  const srv = http.createServer((req, res) => {
    if (req.url === "/attacker.js") {
      res.writeHead(200, { "content-type": "text/javascript" });
      return res.end(ATTACKER_JS);
    }
    res.writeHead(200, { "content-type": "text/html" });
    res.end(ATTACKER_PAGE.replace("<body>", `<body data-app="${appUrl}">`));
  });
  return new Promise((resolve) => srv.listen(port, "127.0.0.1", () => resolve(srv)));
}

/** Everything the end-to-end tests run against; `stop()` ends it all. */
export async function startStack() {
  const dir = mkdtempSync(path.join(os.tmpdir(), "zivacare-e2e-"));
  const [sandboxPort, appPort, badPort, attackerPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const appUrl = `http://127.0.0.1:${appPort}`;
  const badUrl = `http://127.0.0.1:${badPort}`;
  const attackerUrl = `http://127.0.0.1:${attackerPort}`;
  const secret = "sec_SENTINEL_e2e-client-secret";
  const apps = path.join(dir, "apps.json");
  writeFileSync(apps, JSON.stringify([{
    clientId: "demo-client", clientSecret: secret, name: "ZivaCare Demo App",
    origins: [appUrl, badUrl],
  }]));
  const logs = [];
  const common = {
    ZIVACARE_APPS: apps, ZIVACARE_API_URL: sandboxUrl, ZIVACARE_CLIENT_ID: "demo-client",
    ZIVACARE_KEYS: "e2e:" + Buffer.alloc(32, 9).toString("base64"),
    ZIVACARE_SESSION_KEY: Buffer.alloc(64, 5).toString("base64"),
  };
  const procs = [];
  procs.push(await start("sandbox", { ...common, ZIVACARE_SANDBOX_ADDR: `127.0.0.1:${sandboxPort}`, ZIVACARE_SANDBOX_DB: path.join(dir, "sandbox.db") }, logs));
  const db = path.join(dir, "backend.db");
  const badDb = path.join(dir, "bad-backend.db");
  procs.push(await start("backend", { ...common, ZIVACARE_BACKEND_ADDR: `127.0.0.1:${appPort}`, ZIVACARE_CLIENT_SECRET: secret, ZIVACARE_DB: db }, logs));
  procs.push(await start("backend", { ...common, ZIVACARE_BACKEND_ADDR: `127.0.0.1:${badPort}`, ZIVACARE_CLIENT_SECRET: "sec_SENTINEL_wrong-secret", ZIVACARE_DB: badDb }, logs));
  const attacker = await serveAttacker(attackerPort, appUrl);
  const browser = await launchBrowser();
  return {
    dir, sandboxUrl, appUrl, badUrl, attackerUrl, db, badDb, secret, logs, browser,
    async stop() {
      await browser.close();
      attacker.close();
      for (const p of procs) p.kill("SIGTERM");
    },
  };
}

/** Signs `user` in on the demo page, as a person would, and waits for the button. */
export async function signIn(page, user) {
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await page.fill("#user", user);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText(`Signed in as ${user}.`).waitFor();
  await page.getByRole("button", { name: "Connect Health Data" }).waitFor();
}

/** Opens the demo app, signs `user` in and waits for the button. */
export async function openApp(context, url, user) {
  const page = await context.newPage();
  const events = { console: [], tokenPosts: [] };
  page.on("console", (m) => events.console.push(m.text()));
  page.on("request", (r) => {
    if (r.url().endsWith("/api/zivacare/token")) events.tokenPosts.push({ headers: r.headers(), body: r.postData() });
  });
  await page.goto(url);
  await signIn(page, user);
  return { page, events };
}

/** Gives browser context `ctx` a session of the app at `appUrl` for `user`, as its sign-in would. */
export async function sessionFor(ctx, appUrl, user) {
  const r = await ctx.request.post(`${appUrl}/api/zivacare/session`, {
    headers: { Origin: appUrl, "X-ZivaCare-Connect": "1" },
    data: { user },
  });
  if (!r.ok()) throw new Error(`sign-in of ${user} answered ${r.status()}`);
}

/** GET `path` of the app as its page does (with the page's session). */
export function appGet(page, path) {
  return page.evaluate((p) => fetch(p).then(async (r) => ({ status: r.status, body: await r.json() })), path);
}

/** Clicks the Connect button for real and returns the Connect popup. */
export async function clickConnect(page) {
  const [popup] = await Promise.all([
    page.waitForEvent("popup"),
    page.getByRole("button", { name: "Connect Health Data" }).click(),
  ]);
  await popup.waitForLoadState("domcontentloaded");
  return popup;
}

export function stateOf(popup) {
  return new URL(popup.url()).searchParams.get("state");
}

/**
 * Clicks a control of the Connect popup that closes the popup itself
 * (Finish, Cancel, Simulate an error). Playwright may report the closing as a
 * failed click; that closing is exactly the expected outcome.
 */
export async function clickClosing(popup, name) {
  const closed = popup.waitForEvent("close");
  await popup.getByRole("button", { name }).click().catch((err) => {
    if (!popup.isClosed()) throw err;
  });
  await closed;
}
