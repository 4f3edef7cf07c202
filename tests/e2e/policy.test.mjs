// The host page's own security headers, in each engine: a strict
// Content-Security-Policy must not break the SDK, and Cross-Origin-Opener-Policy:
// same-origin (which cuts the popup off) must be reported distinctly, not hang.

import { before, after } from "node:test";
import assert from "node:assert/strict";
import { eachEngine, startStack, signIn, rows, finishIn, clickConnect } from "./harness.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "connect-src 'self'; require-trusted-types-for 'script'";

eachEngine(({ engine, test, inContext }) => {
  const as = (who) => `${who}.${engine}@example.com`;

  test("t08: under a strict CSP with Trusted Types the whole flow completes with zero violations", inContext(async (ctx) => {
    // The reference backend serves the demo app under the strict policy itself.
    const served = (await fetch(stack.appUrl + "/")).headers.get("content-security-policy");
    assert.ok(served.startsWith(STRICT_CSP), served);
    const page = await ctx.newPage();
    await page.goto(stack.app.demo({}));
    const user = as("csp");
    await signIn(page, user);
    await finishIn(await clickConnect(page), ["Fitbit Charge (wearable)"]);
    await page.waitForText(/^Connected to ZivaCare as csp/);
    await page.waitForElement({ role: "heading", name: "Steps" });
    assert.deepEqual((await page.captured()).violations, []);
    assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
  }));

  test("t09: a host page with COOP same-origin and no return URL gets opener_severed, not a silent hang", inContext(async (ctx) => {
    // (With a return URL, as the demo has, the popup comes back through the
    // bridge instead: see redirect.test.mjs.)
    const page = await ctx.newPage();
    await page.goto(stack.app.page(`<script src="/pkg/connect.js"></script><div id="c"></div>`,
      { headers: { "cross-origin-opener-policy": "same-origin" } }));
    await page.evaluate((connectUrl) => {
      window.results = [];
      return ZivaConnect.ready.then(() => ZivaConnect.button("#c", {
        clientId: "demo-client", clientUserId: "coop@example.com", connectUrl, serverUrl: "/api/zivacare/token",
        finish: (err) => window.results.push(err ? err.code : "finished"),
      }));
    }, `${stack.sandboxUrl}/connect`);
    await page.click({ role: "button", name: "Connect Health Data" });
    await page.waitFor(() => window.results.length === 1, [], { timeout: 5000 });
    assert.deepEqual(await page.evaluate(() => window.results), ["opener_severed"]);
  }));

  test("t08: the custom element renders and styles itself under the strict CSP with zero violations", inContext(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(stack.app.page(`<!doctype html><html lang="en"><head><title>strict</title><script src="/pkg/connect.js"></script></head><body>
      <zivacare-connect-button client-id="demo-client" client-user-id="strict@example.com"
        connect-url="${stack.sandboxUrl}/connect"></zivacare-connect-button></body></html>`, { headers: { "content-security-policy": STRICT_CSP } }));
    await page.evaluate(() => ZivaConnect.ready);
    const bg = await page.evaluate(() => getComputedStyle(document.querySelector("zivacare-connect-button").shadowRoot.querySelector("button")).backgroundColor);
    assert.equal(bg, "rgb(11, 93, 91)", "the default look applies");
    assert.deepEqual((await page.captured()).violations, []);
  }));
});
