// The README's demo, in each engine: `zivacare-dev demo` runs sandbox and
// backend together; Ctrl-C stops it cleanly and a restart keeps the stored
// connections, and the session.

import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eachEngine, newContext, start, freePort, openApp, appGet, clickConnect, finishIn } from "./harness.mjs";

eachEngine(({ engine, test }) => {
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
    const ctx = await newContext(engine);
    const user = `demo.user.${engine}@example.com`;
    try {
      assert.match(logs.join(""), new RegExp(`ZivaCare sandbox: +http://127\\.0\\.0\\.1:${sandbox}`));
      assert.match(logs.join(""), new RegExp(`Your app \\(demo\\): +http://127\\.0\\.0\\.1:${app}`));
      const page = await openApp(ctx, `http://127.0.0.1:${app}`, user);
      await finishIn(await clickConnect(page), ["Fitbit Charge (wearable)"]);
      await page.waitForText(/^Connected to ZivaCare as demo\.user/);
      await page.waitForElement({ role: "heading", name: "Heart rate" });

      demo.kill("SIGINT");
      assert.deepEqual(await demo.exited, { code: 0, signal: null }, "a clean exit on Ctrl-C");
      demo = await start("demo", env, logs, bothUp);
      // The restarted demo keeps its session key: the page is still signed in.
      const status = await appGet(page, "/api/zivacare/status");
      assert.equal(status.body.connected, true);
      // The restarted sandbox still knows the stored access token: readings still come.
      const steps = await appGet(page, "/api/zivacare/data/steps");
      assert.equal(steps.body.total, 30);
    } finally {
      await ctx.close();
      demo.kill("SIGINT");
      await demo.exited;
    }
    assert.ok(!logs.join("").includes("sandbox-demo-secret"), "the secret is never logged");
  });
});
