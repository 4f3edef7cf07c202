// Accessibility, in each engine: axe-core finds no violation on the demo page
// (signed in, with readings) and on the sandbox's Connect page; the button
// works with the keyboard alone.

import { before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, eachEngine, startStack, openApp, clickConnect, finishIn, waitForConnectPage, Key } from "./harness.mjs";

const AXE = readFileSync(path.join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

/** axe-core's violations in `page`, run by the driver (beside the page's own policy). */
async function violations(page) {
  await page.ctx.use(page.handle);
  await page.driver.executeScript(AXE);
  const result = await page.evaluate(() => window.axe.run(document));
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

eachEngine(({ engine, test, inContext }) => {
  const as = (who) => `${who}.${engine}@example.com`;

  test("axe-core reports zero violations on the demo page and the Connect page", inContext(async (ctx) => {
    const page = await openApp(ctx, stack.appUrl, as("axe"));
    assert.deepEqual(await violations(page), []);
    const popup = await clickConnect(page);
    assert.deepEqual(await violations(popup), []);
    await finishIn(popup, ["Fitbit Charge (wearable)", "Withings Body+ (scale)"]);
    await page.waitForElement({ role: "heading", name: "Weight" });
    assert.deepEqual(await violations(page), [], "with its charts and tables");
  }));

  test("keyboard alone: Tab to the button, Enter opens the popup, Space works too, and the Connect page is usable", inContext(async (ctx) => {
    const page = await openApp(ctx, stack.appUrl, as("keys"));
    await page.focus("#sign-out");
    await page.press(Key.TAB);
    assert.equal(await page.evaluate(() => document.activeElement.className), "zivacare-connect-button");
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, "none", "a visible focus ring");
    const before = await ctx.handles();
    await page.press(Key.ENTER);
    const [popup] = await ctx.newWindows(before).then(async (w) => (w.length ? w : page.wait(1000).then(() => ctx.newWindows(before))));
    assert.ok(popup, "Enter opened the Connect window");
    await waitForConnectPage(popup);
    // In the Connect page: the first source, picked with Space, then Finish with Enter.
    await popup.focus({ label: "Fitbit Charge (wearable)" });
    await popup.press(" ");
    assert.equal(await popup.isChecked("Fitbit Charge (wearable)"), true);
    await popup.focus("#finish");
    await popup.press(Key.ENTER).catch(() => {});
    await popup.waitForClose();
    await page.waitForText(/^Connected to ZivaCare as keys/);
    // Space on the button opens it again.
    await page.focus(".zivacare-connect-button");
    const again = await ctx.handles();
    await page.press(" ");
    await page.wait(500);
    const [second] = await ctx.newWindows(again);
    assert.ok(second, "Space opened the Connect window");
    await second.close();
  }));
});
