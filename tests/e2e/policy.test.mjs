// The host page's own security headers: a strict Content-Security-Policy must
// not break the SDK, and Cross-Origin-Opener-Policy: same-origin (which cuts the
// popup off) must be reported distinctly, not hang.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, signIn, rows, clickClosing } from "./harness.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const STRICT_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "connect-src 'self'; require-trusted-types-for 'script'";

/** Serves the demo app's own page, adding `headers` to its response. */
async function demoWith(ctx, headers) {
  const page = await ctx.newPage();
  await page.route(`${stack.appUrl}/`, async (route) => {
    const resp = await route.fetch();
    await route.fulfill({ response: resp, headers: { ...resp.headers(), ...headers } });
  });
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.violatedDirective + " " + e.blockedURI));
  });
  await page.goto(stack.appUrl + "/");
  return page;
}

test("t08: under a strict CSP with Trusted Types the whole flow completes with zero violations", async () => {
  const ctx = await stack.browser.newContext();
  // The reference backend serves the demo app under the strict policy itself.
  const served = (await fetch(stack.appUrl + "/")).headers.get("content-security-policy");
  assert.ok(served.startsWith(STRICT_CSP), served);
  const page = await demoWith(ctx, {});
  const user = "csp@example.com";
  await signIn(page, user);
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: "Connect Health Data" }).click()]);
  await popup.waitForLoadState("domcontentloaded");
  await popup.getByLabel("Fitbit Charge (wearable)").check();
  await clickClosing(popup, "Finish Connecting Data");
  await page.getByText(/^Connected to ZivaCare as csp/).waitFor();
  assert.deepEqual(await page.evaluate(() => window.violations), []);
  assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
  await ctx.close();
});

test("t09: a host page with COOP same-origin gets opener_severed, not a silent hang", async () => {
  const ctx = await stack.browser.newContext();
  const page = await demoWith(ctx, { "cross-origin-opener-policy": "same-origin" });
  await signIn(page, "coop@example.com");
  await page.getByRole("button", { name: "Connect Health Data" }).click();
  await page.getByText(/\(opener_severed\)$/).waitFor({ timeout: 5000 });
  assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === "coop@example.com").length, 0);
  await ctx.close();
});

test("t08: the custom element renders and styles itself under the strict CSP with zero violations", async () => {
  const ctx = await stack.browser.newContext();
  const page = await ctx.newPage();
  await page.route(`${stack.appUrl}/strict.html`, (route) => route.fulfill({
    contentType: "text/html",
    headers: { "content-security-policy": STRICT_CSP },
    body: `<!doctype html><html lang="en"><head><title>strict</title><script src="/pkg/connect.js"></script></head><body>
      <zivacare-connect-button client-id="demo-client" client-user-id="strict@example.com"
        connect-url="${stack.sandboxUrl}/connect"></zivacare-connect-button></body></html>`,
  }));
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener("securitypolicyviolation", (e) => window.violations.push(e.violatedDirective + " " + e.blockedURI));
  });
  await page.goto(`${stack.appUrl}/strict.html`);
  await page.evaluate(() => ZivaConnect.ready);
  const bg = await page.evaluate(() => getComputedStyle(document.querySelector("zivacare-connect-button").shadowRoot.querySelector("button")).backgroundColor);
  assert.equal(bg, "rgb(11, 93, 91)", "the default look applies");
  assert.deepEqual(await page.evaluate(() => window.violations), []);
  await ctx.close();
});
