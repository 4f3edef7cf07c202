// The demo flow on a Node backend (www/examples/node, built on
// @zivacare/connect/server), in each engine: the demo's own page, signed in,
// connected through the sandbox's Connect popup, then the readings the Node
// server fetched with the stored access token.

import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { before, after } from "node:test";
import { eachEngine, start, startNodeExample, freePort, openApp, appGet, clickConnect, finishIn } from "./harness.mjs";

const SECRET = "sec_SENTINEL_node-e2e";
let appUrl;
const logs = [];
const children = [];

before(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "zivacare-node-e2e-"));
  const [sandboxPort, nodePort] = [await freePort(), await freePort()];
  appUrl = `http://127.0.0.1:${nodePort}`;
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const apps = path.join(dir, "apps.json");
  writeFileSync(apps, JSON.stringify([{ clientId: "demo-client", clientSecret: SECRET, name: "Node demo", origins: [appUrl], returnUrls: [`${appUrl}/`] }]));
  children.push(await start("sandbox", { ZIVACARE_APPS: apps, ZIVACARE_SANDBOX_ADDR: `127.0.0.1:${sandboxPort}`, ZIVACARE_SANDBOX_DB: path.join(dir, "sandbox.db") }));
  children.push(await startNodeExample({
    ZIVACARE_CLIENT_ID: "demo-client", ZIVACARE_CLIENT_SECRET: SECRET, ZIVACARE_API_URL: sandboxUrl, ZIVACARE_NODE_ADDR: `127.0.0.1:${nodePort}`,
  }, logs));
});

after(() => {
  for (const c of children) c.kill("SIGTERM");
  assert.ok(!logs.join("").includes("SENTINEL"), "the Node server never logs the secret");
});

eachEngine(({ engine, test, inContext }) => {
  test("the demo flow on the Node backend: sign in, connect in the popup, see the readings", inContext(async (ctx) => {
    const user = `node.${engine}@example.com`;
    const page = await openApp(ctx, appUrl, user);
    await finishIn(await clickConnect(page), ["Fitbit Charge (wearable)"]);
    await page.waitForText(/^Connected to ZivaCare as node\./);
    await page.waitForElement({ role: "heading", name: "Heart rate" });
    const status = await appGet(page, "/api/zivacare/status");
    assert.equal(status.body.connected, true);
    assert.match(status.body.zivaUserCode, /^[0-9a-f-]{36}$/);
    const steps = await appGet(page, "/api/zivacare/data/steps");
    assert.equal(steps.body.steps.length, 7);
    assert.ok(steps.body.steps.every((r) => r.source === "fitbit"));
  }));
});
