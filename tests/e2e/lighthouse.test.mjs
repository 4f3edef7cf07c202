// Lighthouse 12.2.3 on the demo app, as a signed-in user with a connection (the
// button, the charts and the tables): performance, accessibility and best
// practices must each score 1.0. Lighthouse audits Chromium only: it runs once,
// in the same headless Chromium as the other tests, launched by its own
// chrome-launcher; the connection is made in Chromium too.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";
import { newContext, startStack, openApp, clickConnect, finishIn, CHROMIUM_ARGS } from "./harness.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test("[chromium] Lighthouse scores the demo 1.0 in performance, accessibility and best practices", async () => {
  // A user connected through the whole flow: the page then has its readings.
  const ctx = await newContext("chromium");
  let session;
  try {
    const page = await openApp(ctx, stack.appUrl, "lighthouse@example.com");
    await finishIn(await clickConnect(page), ["Fitbit Charge (wearable)", "Withings Body+ (scale)"]);
    await page.waitForElement({ role: "heading", name: "Weight" });
    session = (await ctx.cookies()).find((c) => c.name === "zivacare_session");
  } finally {
    await ctx.close();
  }

  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROMIUM || "/usr/bin/chromium",
    chromeFlags: CHROMIUM_ARGS,
  });
  try {
    const result = await lighthouse(`${stack.appUrl}/`, {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: ["performance", "accessibility", "best-practices"],
      extraHeaders: { Cookie: `${session.name}=${session.value}` },
    });
    const lhr = result.lhr;
    assert.equal(lhr.runtimeError, undefined, JSON.stringify(lhr.runtimeError));
    // The page Lighthouse saw was the signed-in one, with its charts.
    const dom = lhr.audits["dom-size"].numericValue;
    assert.ok(dom > 100, `a page with readings (${dom} elements)`);
    const scores = Object.fromEntries(Object.values(lhr.categories).map((c) => [c.id, c.score]));
    const failing = Object.values(lhr.audits)
      .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode !== "informative" && a.scoreDisplayMode !== "manual")
      .map((a) => `${a.id}: ${a.score} ${a.displayValue ?? ""}`);
    console.log(`lighthouse ${lhr.lighthouseVersion}: ${JSON.stringify(scores)}; below 1: ${failing.join("; ") || "none"}`);
    assert.deepEqual(scores, { performance: 1, accessibility: 1, "best-practices": 1 }, failing.join("\n"));
  } finally {
    await chrome.kill();
  }
});
