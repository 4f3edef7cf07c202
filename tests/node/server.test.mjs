// @zivacare/connect/server under Node's test runner, over real HTTP: the
// exchange and the token handler against the sandbox (zivacare-dev sandbox,
// behind a recorder that counts what reaches it), and against a ZivaCare that
// misbehaves (a loopback server that redirects, fails, stalls or answers
// garbage). The handler is served by Node's http server through the adapter
// docs/node.md shows.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { start, freePort, Recorder } from "../e2e/harness.mjs";
import { exchangeToken, createTokenHandler, memoryLedger, ZivaCareError, MAX_FORWARD_BODY } from "@zivacare/connect/server";

const SECRET = "sec_SENTINEL_node-secret";
const APP = "https://app.example.com";
let sandbox;
let zivacare;

before(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "zivacare-node-"));
  const apps = path.join(dir, "apps.json");
  writeFileSync(apps, JSON.stringify([{ clientId: "node-client", clientSecret: SECRET, name: "Node app", origins: [APP] }]));
  const port = await freePort();
  sandbox = await start("sandbox", {
    ZIVACARE_APPS: apps, ZIVACARE_SANDBOX_ADDR: `127.0.0.1:${port}`, ZIVACARE_SANDBOX_DB: path.join(dir, "sandbox.db"), ZIVACARE_RATE_LIMIT: "100000",
  });
  zivacare = await new Recorder(`http://127.0.0.1:${port}`).listen(await freePort());
});

after(() => {
  zivacare.close();
  sandbox.kill("SIGTERM");
});

/** A specialToken for `user`, minted as the Connect page's own script does. */
async function mint(user = "ann@example.com") {
  const r = await fetch(`${zivacare.url}/connect/finish`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ clientId: "node-client", clientUserId: user, origin: APP, sources: ["fitbit"] }),
  });
  assert.equal(r.status, 200);
  return (await r.json()).specialToken;
}

/** How many exchanges reached the sandbox so far. */
const exchanges = () => zivacare.requests.filter((r) => r.url === "/oauth/v2/get-access-token").length;

/** Serves `handler` with Node's http server, through the adapter of docs/node.md; its URL. */
async function serve(handler) {
  const server = http.createServer(async (req, res) => {
    const request = new Request(new URL(req.url, `http://${req.headers.host}`), {
      method: req.method, headers: req.headers, body: ["GET", "HEAD"].includes(req.method) ? undefined : req, duplex: "half",
    });
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  after(() => server.close());
  return `http://127.0.0.1:${server.address().port}/api/zivacare/token`;
}

/**
 * A token handler for the app at APP over the sandbox; the signed-in user is
 * the `x-test-user` header (a test's stand-in for the app's session). `saved`
 * and `logs` record what it stored and logged.
 */
async function handlerOver({ secret = SECRET, baseUrl = zivacare.url, save, ledger } = {}) {
  const saved = [];
  const logs = [];
  const handler = createTokenHandler({
    clientId: "node-client", clientSecret: secret, appOrigin: APP, baseUrl, ledger,
    getUser: (request) => request.headers.get("x-test-user"),
    save: save || ((user, connection) => { saved.push({ user, connection }); }),
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  return { url: await serve(handler), saved, logs };
}

/** The SDK's forward, as it sends it (each part can be changed). */
function forward(url, { token, user = "ann@example.com", as = user, origin = APP, header = true, type = "application/json", body } = {}) {
  const headers = { origin, "content-type": type };
  if (header) headers["x-zivacare-connect"] = "1";
  if (as) headers["x-test-user"] = as;
  const payload = body ?? JSON.stringify({ specialToken: token, clientId: "node-client", clientUserId: user, state: "st_1" });
  return fetch(url, { method: "POST", headers, body: payload }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() }));
}

const noSecretIn = (text) => {
  assert.ok(!text.includes("SENTINEL"), `no secret or token in: ${text}`);
};

test("exchangeToken gives the connection once; a repeat is token_rejected, and nothing prints a secret or a token", async () => {
  const token = await mint();
  const c = await exchangeToken({ specialToken: token, clientSecret: SECRET, baseUrl: zivacare.url });
  assert.match(c.zivaUserCode, /^[0-9a-f-]{36}$/);
  assert.ok(c.accessToken.length > 20);
  assert.equal(c.email, "ann@example.com");
  // Readable, never printed: not in JSON, a spread or the console.
  assert.ok(!JSON.stringify(c).includes(c.accessToken));
  assert.ok(!JSON.stringify({ ...c }).includes(c.accessToken));
  assert.ok(!inspect(c).includes(c.accessToken) && inspect(c).includes("<redacted>"));

  const again = await exchangeToken({ specialToken: token, clientSecret: SECRET, baseUrl: zivacare.url }).catch((e) => e);
  assert.ok(again instanceof ZivaCareError);
  assert.equal(again.code, "token_rejected");
  assert.equal(again.zivacareCode, "used_token");
  assert.ok(!again.message.includes(token) && !inspect(again).includes(token), inspect(again));
});

test("a wrong clientSecret is upstream_misconfigured, names no secret, and leaves the token for the rightful server", async () => {
  const token = await mint();
  const e = await exchangeToken({ specialToken: token, clientSecret: "sec_SENTINEL_wrong", baseUrl: zivacare.url }).catch((x) => x);
  assert.equal(e.code, "upstream_misconfigured");
  assert.equal(e.zivacareCode, "0011");
  noSecretIn(inspect(e));
  assert.ok(!inspect(e).includes(token));
  const c = await exchangeToken({ specialToken: token, clientSecret: SECRET, baseUrl: zivacare.url });
  assert.ok(c.zivaUserCode);
});

/** A ZivaCare that misbehaves: `behave(req, res, body)` answers; every request is recorded. */
async function misbehaving(behave) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ url: req.url, body });
      behave(req, res, body);
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  after(() => server.close());
  return { url: `http://127.0.0.1:${server.address().port}`, seen, server };
}

test("exchangeToken follows no redirect, never retries, and names what failed without the secret", async () => {
  const elsewhere = await misbehaving((req, res) => { res.writeHead(200); res.end("{}"); });
  const redirecting = await misbehaving((req, res) => { res.writeHead(307, { location: `${elsewhere.url}/steal` }); res.end(); });
  const e = await exchangeToken({ specialToken: "tok_SENTINEL_1", clientSecret: SECRET, baseUrl: redirecting.url }).catch((x) => x);
  assert.equal(e.code, "upstream_error");
  assert.match(e.message, /redirect \(307\), which is not followed/);
  assert.equal(elsewhere.seen.length, 0, "the secret went nowhere else");

  const down = await misbehaving((req, res) => { res.writeHead(503); res.end("down"); });
  const d = await exchangeToken({ specialToken: "tok_SENTINEL_2", clientSecret: SECRET, baseUrl: down.url }).catch((x) => x);
  assert.equal(d.code, "upstream_error");
  assert.equal(d.status, 503);
  assert.equal(down.seen.length, 1, "sent once");

  const echo = await misbehaving((req, res, body) => {
    res.writeHead(400, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "invalid_token", message: `bad request: ${body}` }));
  });
  const x = await exchangeToken({ specialToken: "tok_SENTINEL_3", clientSecret: SECRET, baseUrl: echo.url }).catch((y) => y);
  assert.equal(x.code, "token_rejected");
  assert.match(x.message, /<redacted>/);
  noSecretIn(inspect(x));

  const garbage = await misbehaving((req, res) => { res.writeHead(200, { "content-type": "application/json" }); res.end("{\"access_token\": 1}"); });
  const g = await exchangeToken({ specialToken: "tok_SENTINEL_4", clientSecret: SECRET, baseUrl: garbage.url }).catch((y) => y);
  assert.equal(g.code, "upstream_error");
  assert.match(g.message, /not as documented/);

  const closed = await freePort();
  const r = await exchangeToken({ specialToken: "tok_SENTINEL_5", clientSecret: SECRET, baseUrl: `http://127.0.0.1:${closed}` }).catch((y) => y);
  assert.equal(r.code, "upstream_error");
  assert.equal(r.cause.code, "ECONNREFUSED");
  noSecretIn(inspect(r, { depth: 10 }));
});

test("exchangeToken times out as upstream_timeout, and a caller's abort is the caller's", async () => {
  const stalled = await misbehaving(() => {});
  const t0 = Date.now();
  const e = await exchangeToken({ specialToken: "tok_SENTINEL_6", clientSecret: SECRET, baseUrl: stalled.url, timeoutMs: 300 }).catch((x) => x);
  assert.equal(e.code, "upstream_timeout");
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(stalled.seen.length, 1, "a slow exchange is sent once, never again");
  const controller = new AbortController();
  const pending = exchangeToken({ specialToken: "tok_SENTINEL_7", clientSecret: SECRET, baseUrl: stalled.url, signal: controller.signal }).catch((x) => x);
  controller.abort();
  assert.equal((await pending).name, "AbortError");
  stalled.server.closeAllConnections();
});

test("bad configuration is a clear invalid_config naming the option", () => {
  const base = { clientId: "c", clientSecret: "s", appOrigin: APP, getUser() {}, save() {} };
  const config = (o) => { try { createTokenHandler({ ...base, ...o }); return null; } catch (e) { return e; } };
  assert.equal(config({}), null);
  assert.match(config({ clientSecret: "" }).message, /clientSecret is required/);
  assert.equal(config({ clientSecret: undefined }).code, "invalid_config");
  assert.match(config({ appOrigin: "https://app.example.com/" }).message, /not an origin \(did you mean "https:\/\/app\.example\.com"\?\)/);
  assert.match(config({ getUser: undefined }).message, /getUser is required/);
  assert.match(config({ ledger: {} }).message, /ledger must have a claim method/);
  assert.match(config({ baseUrl: "ftp://x" }).message, /baseUrl must be an http: or https: URL/);
  return exchangeToken({ specialToken: "t", clientSecret: "" }).then(assert.fail, (e) => assert.equal(e.code, "invalid_config"));
});

test("the handler connects the signed-in user once, however often the forward comes", async () => {
  const { url, saved, logs } = await handlerOver();
  const token = await mint();
  const before = exchanges();
  const first = await forward(url, { token });
  assert.equal(first.status, 200);
  assert.equal(first.body.connected, true);
  assert.equal(first.headers.get("cache-control"), "no-store");
  assert.equal(first.headers.get("x-content-type-options"), "nosniff");
  assert.equal(saved.length, 1);
  assert.equal(saved[0].user, "ann@example.com");
  assert.equal(saved[0].connection.zivaUserCode, first.body.zivaUserCode);
  // Ten more at once: each gets the first outcome; ZivaCare was asked once.
  const repeats = await Promise.all(Array.from({ length: 10 }, () => forward(url, { token })));
  assert.deepEqual(repeats.map((r) => [r.status, r.body.zivaUserCode]), Array(10).fill([200, first.body.zivaUserCode]));
  assert.equal(exchanges() - before, 1);
  assert.equal(saved.length, 1);
  // The same token for another user is refused.
  const other = await forward(url, { token, user: "bob@example.com" });
  assert.deepEqual([other.status, other.body.code], [409, "token_reused"]);
  for (const line of logs) assert.ok(!line.includes(token) && !line.includes(SECRET), line);
});

test("ten first forwards of one token at once: one exchange, one save, ten answers alike", async () => {
  const { url, saved } = await handlerOver();
  const token = await mint("cy@example.com");
  const before = exchanges();
  const all = await Promise.all(Array.from({ length: 10 }, () => forward(url, { token, user: "cy@example.com" })));
  assert.equal(new Set(all.map((r) => `${r.status} ${r.body.zivaUserCode}`)).size, 1);
  assert.equal(all[0].status, 200);
  assert.equal(exchanges() - before, 1);
  assert.equal(saved.length, 1);
});

test("each refusal is the Rust route's, stores nothing, and leaves the token usable", async () => {
  const { url, saved } = await handlerOver();
  const token = await mint();
  const before = exchanges();
  const cases = [
    [{ origin: "https://attacker.example" }, 403, "forbidden", "Origin not allowed"],
    [{ header: false }, 403, "forbidden", "Missing X-ZivaCare-Connect header"],
    [{ as: null }, 401, "unauthenticated", "Sign in first"],
    [{ type: "text/plain" }, 415, "unsupported_media_type", "Send application/json"],
    [{ body: JSON.stringify({ specialToken: token, pad: "x".repeat(MAX_FORWARD_BODY) }) }, 413, "body_too_large", "The request body is too large"],
    [{ body: "{not json" }, 400, "invalid_request", "Malformed request body"],
    [{ body: `{"specialToken":"${token}","specialToken":"${token}","clientId":"node-client","clientUserId":"ann@example.com","state":"s"}` }, 400, "invalid_request", "Malformed request body"],
    [{ body: JSON.stringify({ specialToken: token, clientId: "node-client", clientUserId: "ann@example.com", state: "s", extra: 1 }) }, 400, "invalid_request", "Malformed request body"],
    [{ body: JSON.stringify({ specialToken: token, clientId: "node-client", clientUserId: "ann@example.com" }) }, 400, "invalid_request", "Malformed request body"],
    [{ body: JSON.stringify({ specialToken: token, clientId: "node-client", clientUserId: "ann@example.com", state: 7 }) }, 400, "invalid_request", "Malformed request body"],
    [{ body: JSON.stringify({ specialToken: "has space", clientId: "node-client", clientUserId: "ann@example.com", state: "s" }) }, 400, "invalid_request", "Invalid specialToken"],
    [{ body: JSON.stringify({ specialToken: token, clientId: "other", clientUserId: "ann@example.com", state: "s" }) }, 400, "invalid_request", "Unknown clientId"],
    [{ body: JSON.stringify({ specialToken: token, clientId: "node-client", clientUserId: "ann@example.com", state: "s s" }) }, 400, "invalid_request", "Invalid state"],
    [{ user: "bob@example.com", as: "ann@example.com" }, 403, "forbidden", "This connection is for another user than the one signed in"],
  ];
  for (const [change, status, code, message] of cases) {
    const r = await forward(url, { token, ...change });
    assert.deepEqual([r.status, r.body], [status, { code, message }], JSON.stringify(change).slice(0, 80));
    assert.equal(r.headers.get("cache-control"), "no-store");
  }
  const get = await fetch(url);
  assert.equal(get.status, 405);
  assert.equal(exchanges(), before, "no refusal reached ZivaCare");
  assert.equal(saved.length, 0, "no refusal stored anything");
  assert.equal((await forward(url, { token })).status, 200, "the token still connects");
});

test("a token ZivaCare refuses is token_rejected, and so is its repeat, without asking ZivaCare again", async () => {
  const { url, saved } = await handlerOver();
  const before = exchanges();
  const r = await forward(url, { token: "tok_unknown_0123456789" });
  assert.deepEqual([r.status, r.body.code], [400, "token_rejected"]);
  const again = await forward(url, { token: "tok_unknown_0123456789" });
  assert.deepEqual([again.status, again.body.code], [400, "token_rejected"]);
  assert.equal(exchanges() - before, 1);
  assert.equal(saved.length, 0);
});

test("a wrong clientSecret is 502 upstream_misconfigured, logged once as a configuration error, without the secret", async () => {
  const { url, logs, saved } = await handlerOver({ secret: "sec_SENTINEL_wrong-secret" });
  const a = await forward(url, { token: await mint() });
  const b = await forward(url, { token: await mint() });
  assert.deepEqual([a.status, a.body.code, b.status], [502, "upstream_misconfigured", 502]);
  assert.equal(logs.filter((l) => l.includes("configuration error")).length, 1);
  assert.match(logs.join("\n"), /check clientId and clientSecret/);
  noSecretIn(logs.join("\n"));
  assert.equal(saved.length, 0);
});

test("ZivaCare down or slow: 502 and 504, the claim given up, so the SDK's retry connects", async () => {
  let fail = 1;
  const flaky = await misbehaving((req, res, body) => {
    if (fail-- > 0) {
      res.writeHead(503);
      return res.end();
    }
    // Then the sandbox answers.
    fetch(`${zivacare.url}${req.url}`, { method: "POST", headers: { "content-type": req.headers["content-type"] }, body })
      .then(async (r) => { res.writeHead(r.status, { "content-type": "application/json" }); res.end(await r.text()); });
  });
  const { url, saved } = await handlerOver({ baseUrl: flaky.url });
  const token = await mint();
  const down = await forward(url, { token });
  assert.deepEqual([down.status, down.body.code], [502, "upstream_error"]);
  assert.equal(saved.length, 0);
  const retry = await forward(url, { token });
  assert.equal(retry.status, 200);
  assert.equal(saved.length, 1);

  const stalled = await misbehaving(() => {});
  const slow = createTokenHandler({
    clientId: "node-client", clientSecret: SECRET, appOrigin: APP, baseUrl: stalled.url, timeoutMs: 300,
    getUser: () => "ann@example.com", save: () => assert.fail("nothing to save"), log: () => {},
  });
  const r = await forward(await serve(slow), { token: await mint() });
  assert.deepEqual([r.status, r.body.code], [504, "upstream_timeout"]);
  stalled.server.closeAllConnections();
});

test("a save that fails is retried; one that keeps failing is 500, logged without the tokens its error quotes", async () => {
  let failures = 2;
  const ok = await handlerOver({
    save: () => { if (failures-- > 0) throw new Error("database busy"); },
  });
  assert.equal((await forward(ok.url, { token: await mint() })).status, 200);
  assert.equal(ok.logs.filter((l) => l.includes("retrying: Error: database busy")).length, 2);

  const token = await mint();
  const broken = await handlerOver({
    save: (user, connection) => { throw new Error(`insert failed for ${connection.accessToken} (${token})`); },
  });
  const t0 = Date.now();
  const r = await forward(broken.url, { token });
  assert.deepEqual([r.status, r.body], [500, { code: "internal_error", message: "Something went wrong" }]);
  assert.ok(Date.now() - t0 >= 4000, "retried for the write budget");
  const log = broken.logs.join("\n");
  assert.match(log, /could not be stored: Error: insert failed for <redacted> \(<redacted>\)/);
  assert.ok(!log.includes(token));
});

test("a ledger of the application's own is used for every claim", async () => {
  const calls = [];
  const inner = memoryLedger();
  const ledger = Object.fromEntries(["claim", "complete", "release", "refuse"].map((m) => [m, (...args) => {
    calls.push([m, ...args.map((a) => (typeof a === "object" ? Object.keys(a).sort().join(",") : typeof a))]);
    return inner[m](...args);
  }]));
  const { url } = await handlerOver({ ledger });
  const token = await mint();
  assert.equal((await forward(url, { token })).status, 200);
  assert.deepEqual(calls, [
    ["claim", "clientUserId,id,tokenHash", "number"],
    ["complete", "clientUserId,id,tokenHash", "zivaUserCode"],
  ]);
  const hash = JSON.stringify(calls);
  assert.ok(!hash.includes(token), "the ledger never sees the token itself");
});
