// Lighthouse 12.2.3 on the demo app, as a signed-in user with a connection (the
// button, the charts and the tables). What does not depend on how fast the
// machine is must be perfect: accessibility and best practices score 1.0, and
// none of the performance audits that look at what the page downloads and how
// it is built (text compression, minified and unused code, images, caching,
// document.write, passive listeners, the back/forward cache, …) finds anything.
// The performance score itself is timing (Lighthouse scales the main thread's
// measured tasks, so a busy machine scores lower): `npm run bench` measures it.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack } from "./harness.mjs";
import { connectedSession, audit, below1 } from "./lighthouse.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

test("[chromium] Lighthouse: accessibility and best practices 1.0, and no performance audit of the page's bytes or build finds anything", async () => {
  const lhr = await audit(stack, await connectedSession(stack, "lighthouse@example.com"));
  assert.equal(lhr.runtimeError, undefined, JSON.stringify(lhr.runtimeError));
  // The page Lighthouse saw was the signed-in one, with its charts.
  const dom = lhr.audits["dom-size"].numericValue;
  assert.ok(dom > 100, `a page with readings (${dom} elements)`);
  const failing = below1(lhr);
  console.log(`lighthouse ${lhr.lighthouseVersion}: performance ${lhr.categories.performance.score} (timing, not asserted); below 1: ${failing.join("; ") || "none"}`);

  const scores = { accessibility: lhr.categories.accessibility.score, "best-practices": lhr.categories["best-practices"].score };
  assert.deepEqual(scores, { accessibility: 1, "best-practices": 1 }, failing.join("\n"));
  // The performance category's opportunities and pass/fail checks: each is
  // about bytes or markup, so its result is the same on any machine.
  const checks = lhr.categories.performance.auditRefs
    .map((r) => lhr.audits[r.id])
    .filter((a) => a.scoreDisplayMode === "metricSavings" || a.scoreDisplayMode === "binary");
  assert.ok(checks.length >= 15, `the opportunities and checks ran (${checks.length})`);
  const found = checks.filter((a) => a.score !== 1).map((a) => `${a.id}: ${a.displayValue ?? a.score}`);
  assert.deepEqual(found, [], found.join("\n"));
  // What the page downloads is compressed: the SDK's module among it.
  const wasm = lhr.audits["network-requests"].details.items.find((i) => i.url.endsWith("/pkg/zivacare_connect_bg.wasm"));
  assert.ok(wasm && wasm.transferSize < wasm.resourceSize * 0.6, `the .wasm travels compressed (${wasm?.transferSize} of ${wasm?.resourceSize} bytes)`);
});
