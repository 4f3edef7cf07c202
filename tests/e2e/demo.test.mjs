// The README's demo: `zivacare-dev demo` runs sandbox and backend together;
// Ctrl-C stops it cleanly and a restart keeps the stored connections.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { start, freePort, launchBrowser, openApp, appGet, clickConnect, clickClosing } from "./harness.mjs";

test("the demo runs the whole flow, stops on Ctrl-C and keeps connections across a restart", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "zivacare-demo-"));
  const [app, sandbox] = [await freePort(), await freePort()];
  const env = {
    ZIVACARE_BACKEND_ADDR: `127.0.0.1:${app}`,
    ZIVACARE_SANDBOX_ADDR: `127.0.0.1:${sandbox}`,
    ZIVACARE_DB: path.join(dir, "backend.db"),
    ZIVACARE_SANDBOX_DB: path.join(dir, "sandbox.db"),
  };
  const logs = [];
  const bothUp = /open this/;
  let demo = await start("demo", env, logs, bothUp);
  const browser = await launchBrowser();
  const user = "demo.user@example.com";
  try {
    assert.match(logs.join(""), new RegExp(`ZivaCare sandbox: +http://127\\.0\\.0\\.1:${sandbox}`));
    assert.match(logs.join(""), new RegExp(`Your app \\(demo\\): +http://127\\.0\\.0\\.1:${app}`));
    const ctx = await browser.newContext();
    const { page } = await openApp(ctx, `http://127.0.0.1:${app}`, user);
    const popup = await clickConnect(page);
    await popup.getByLabel("Fitbit Charge (wearable)").check();
    await clickClosing(popup, "Finish Connecting Data");
    await page.getByText(/^Connected to ZivaCare as demo\.user/).waitFor();
    await page.getByRole("heading", { name: "Heart rate" }).waitFor();

    demo.kill("SIGINT");
    assert.deepEqual(await demo.exited, { code: 0, signal: null }, "a clean exit on Ctrl-C");
    demo = await start("demo", env, logs, bothUp);
    // The restarted demo keeps its session key: the page is still signed in.
    const status = await appGet(page, "/api/zivacare/status");
    assert.equal(status.body.connected, true);
    // The restarted sandbox still knows the stored access token: readings still come.
    const steps = await appGet(page, "/api/zivacare/data/steps");
    assert.equal(steps.body.total, 30);
    await ctx.close();
  } finally {
    await browser.close();
    demo.kill("SIGINT");
    await demo.exited;
  }
  assert.ok(!logs.join("").includes("sandbox-demo-secret"), "the secret is never logged");
});
