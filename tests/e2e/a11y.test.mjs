// Accessibility: axe-core finds no violation on the demo page and on the
// sandbox's Connect page; the button works with the keyboard alone.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { ROOT, startStack, openApp } from "./harness.mjs";

const AXE = path.join(ROOT, "node_modules/axe-core/axe.min.js");

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

async function violations(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document));
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

test("axe-core reports zero violations on the demo page and the Connect page", async () => {
  // Only so that axe itself can be injected into the Connect page's strict policy.
  const ctx = await stack.browser.newContext({ bypassCSP: true });
  const { page } = await openApp(ctx, stack.appUrl, "axe@example.com");
  assert.deepEqual(await violations(page), []);
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: "Connect Health Data" }).click()]);
  await popup.waitForLoadState("load");
  assert.deepEqual(await violations(popup), []);
  await popup.close();
  await ctx.close();
});

test("keyboard alone: Tab to the button, Enter opens the popup, Space works too, and the Connect page is usable", async () => {
  const ctx = await stack.browser.newContext();
  const { page } = await openApp(ctx, stack.appUrl, "keys@example.com");
  await page.focus("#sign-out");
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement.className);
  assert.equal(focused, "zivacare-connect-button");
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, "none", "a visible focus ring");
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.keyboard.press("Enter")]);
  await popup.waitForLoadState("load");
  // In the Connect page: Tab to the first source, Space to pick it, then to Finish.
  await popup.keyboard.press("Tab");
  await popup.keyboard.press("Space");
  assert.equal(await popup.getByLabel("Fitbit Charge (wearable)").isChecked(), true);
  const closed = popup.waitForEvent("close");
  await popup.focus("#finish");
  await popup.keyboard.press("Enter").catch(() => {});
  await closed;
  await page.getByText(/^Connected to ZivaCare as keys/).waitFor();
  // Space on the button opens it again.
  await page.focus(".zivacare-connect-button");
  const [again] = await Promise.all([page.waitForEvent("popup"), page.keyboard.press("Space")]);
  await again.close();
  await ctx.close();
});
