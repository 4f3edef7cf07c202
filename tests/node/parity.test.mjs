// The Node handler refuses exactly what the Rust route refuses: the same
// requests, sent to the reference backend (zivacare-dev backend, on the
// `zivacare` crate) and to the Node example app (www/examples/node, on
// @zivacare/connect/server), each signed in through its own session endpoint,
// get the same status and the same `{code, message}` body.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { start, startNodeExample, freePort } from "../e2e/harness.mjs";

const SECRET = "sec_SENTINEL_parity-secret";
let sandboxUrl;
const servers = {};
const children = [];

before(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "zivacare-parity-"));
  const [sandboxPort, rustPort, nodePort] = [await freePort(), await freePort(), await freePort()];
  const rust = `http://127.0.0.1:${rustPort}`;
  const node = `http://127.0.0.1:${nodePort}`;
  const apps = path.join(dir, "apps.json");
  writeFileSync(apps, JSON.stringify([{ clientId: "demo-client", clientSecret: SECRET, name: "Parity", origins: [rust, node] }]));
  sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const common = { ZIVACARE_APPS: apps, ZIVACARE_API_URL: sandboxUrl, ZIVACARE_CLIENT_ID: "demo-client", ZIVACARE_CLIENT_SECRET: SECRET, ZIVACARE_RATE_LIMIT: "100000" };
  children.push(await start("sandbox", { ...common, ZIVACARE_SANDBOX_ADDR: `127.0.0.1:${sandboxPort}`, ZIVACARE_SANDBOX_DB: path.join(dir, "sandbox.db") }));
  children.push(await start("backend", {
    ...common, ZIVACARE_BACKEND_ADDR: `127.0.0.1:${rustPort}`, ZIVACARE_DB: path.join(dir, "backend.db"),
    ZIVACARE_KEYS: "p:" + Buffer.alloc(32, 3).toString("base64"), ZIVACARE_SESSION_KEY: Buffer.alloc(64, 4).toString("base64"),
  }));
  children.push(await startNodeExample({ ...common, ZIVACARE_NODE_ADDR: `127.0.0.1:${nodePort}` }));
  for (const [name, origin] of [["rust", rust], ["node", node]]) {
    const r = await fetch(`${origin}/api/zivacare/session`, {
      method: "POST", headers: { "content-type": "application/json", "x-zivacare-connect": "1", origin }, body: JSON.stringify({ user: "ann@example.com" }),
    });
    assert.equal(r.status, 200, `${name} signs in`);
    servers[name] = { origin, cookie: r.headers.get("set-cookie").split(";")[0] };
  }
});

after(() => {
  for (const c of children) c.kill("SIGTERM");
});

async function mint(origin) {
  const r = await fetch(`${sandboxUrl}/connect/finish`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ clientId: "demo-client", clientUserId: "ann@example.com", origin, sources: ["fitbit"] }),
  });
  return (await r.json()).specialToken;
}

/** The forward of `token` to `server`, with `change` applied; status and body. */
async function send(server, token, change) {
  const headers = { origin: server.origin, "content-type": "application/json", "x-zivacare-connect": "1", cookie: server.cookie };
  if (change.origin) headers.origin = change.origin;
  if (change.noHeader) delete headers["x-zivacare-connect"];
  if (change.noSession) delete headers.cookie;
  if (change.type) headers["content-type"] = change.type;
  const fields = { specialToken: token, clientId: "demo-client", clientUserId: "ann@example.com", state: "st_1", ...change.fields };
  const body = change.body ? change.body(token) : JSON.stringify(fields);
  const r = await fetch(`${server.origin}/api/zivacare/token`, { method: "POST", headers, body });
  const text = await r.text();
  return [r.status, r.headers.get("cache-control"), text ? JSON.parse(text) : null];
}

const CASES = {
  "a foreign Origin": { origin: "https://attacker.example" },
  "no X-ZivaCare-Connect": { noHeader: true },
  "no session": { noSession: true },
  "not JSON": { type: "text/plain" },
  "over 4 KiB": { fields: { pad: "x".repeat(5000) } },
  "not JSON at all": { body: () => "{nope" },
  "a duplicate key": { body: (t) => `{"specialToken":"${t}","specialToken":"${t}","clientId":"demo-client","clientUserId":"ann@example.com","state":"s"}` },
  "an unknown key": { fields: { extra: "x" } },
  "a missing key": { body: (t) => JSON.stringify({ specialToken: t, clientId: "demo-client", clientUserId: "ann@example.com" }) },
  "a number for a string": { fields: { state: 1 } },
  "a malformed specialToken": { fields: { specialToken: "a b" } },
  "another clientId": { fields: { clientId: "someone-else" } },
  "a blank clientUserId": { fields: { clientUserId: " " } },
  "a malformed state": { fields: { state: "" } },
  "another user's clientUserId": { fields: { clientUserId: "bob@example.com" } },
  "a token ZivaCare does not know": { fields: { specialToken: "tok_unknown_0123456789" } },
};

test("every refusal is the same from the Rust route and the Node handler", async () => {
  for (const [name, change] of Object.entries(CASES)) {
    const [rust, node] = await Promise.all([
      mint(servers.rust.origin).then((t) => send(servers.rust, t, change)),
      mint(servers.node.origin).then((t) => send(servers.node, t, change)),
    ]);
    assert.deepEqual(node, rust, name);
    assert.ok(rust[0] >= 400, `${name} is refused (${rust[0]})`);
  }
});

test("both connect the signed-in user, and answer a repeat with the first outcome", async () => {
  for (const server of Object.values(servers)) {
    const token = await mint(server.origin);
    const first = await send(server, token, {});
    assert.equal(first[0], 200);
    assert.equal(first[2].connected, true);
    assert.deepEqual(await send(server, token, {}), first);
    // The same token from another user's session: token_reused.
    const other = await fetch(`${server.origin}/api/zivacare/session`, {
      method: "POST", headers: { "content-type": "application/json", "x-zivacare-connect": "1", origin: server.origin }, body: JSON.stringify({ user: "bob@example.com" }),
    });
    const bob = { ...server, cookie: other.headers.get("set-cookie").split(";")[0] };
    const reused = await send(bob, token, { fields: { clientUserId: "bob@example.com" } });
    assert.deepEqual([reused[0], reused[2].code], [409, "token_reused"]);
  }
});
