// Lighthouse 12.2.3 on the demo app as a signed-in user with a connection (the
// button, the charts and the tables), for the test command and the benchmark
// alike. Lighthouse audits Chromium only: it runs in the same headless Chromium
// as the other tests, launched by its own chrome-launcher.

import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";
import { newContext, openApp, clickConnect, finishIn, CHROMIUM_ARGS } from "./harness.mjs";

/**
 * Signs `user` in on the demo app of `stack` and connects two sources through
 * the whole flow, in Chromium; the session cookie of that user.
 */
export async function connectedSession(stack, user) {
  const ctx = await newContext("chromium");
  try {
    const page = await openApp(ctx, stack.appUrl, user);
    await finishIn(await clickConnect(page), ["Fitbit Charge (wearable)", "Withings Body+ (scale)"]);
    await page.waitForElement({ role: "heading", name: "Weight" });
    const session = (await ctx.cookies()).find((c) => c.name === "zivacare_session");
    return `${session.name}=${session.value}`;
  } finally {
    await ctx.close();
  }
}

/** Lighthouse's report (`lhr`) of the demo page of `stack`, seen with the session `cookie`. */
export async function audit(stack, cookie) {
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
      extraHeaders: { Cookie: cookie },
    });
    return result.lhr;
  } finally {
    await chrome.kill();
  }
}

/** The audits of `lhr` that do not score 1, as `id: score value` lines. */
export function below1(lhr) {
  return Object.values(lhr.audits)
    .filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode !== "informative" && a.scoreDisplayMode !== "manual")
    .map((a) => `${a.id}: ${a.score} ${a.displayValue ?? ""}`.trim());
}
