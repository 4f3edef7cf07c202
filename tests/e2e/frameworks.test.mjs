// The React, Vue and Svelte examples (built with Vite) and a plain webpack 5
// example, each built from the packed npm tarball and driven through the whole
// flow against the sandbox in headless Chromium.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, startStack, sessionFor, rows, clickClosing } from "./harness.mjs";

let stack;
let tarball;
before(async () => {
  const out = path.join(ROOT, "target/examples");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: ROOT, encoding: "utf8" }));
  tarball = path.join(out, packed[0].filename);
  stack = await startStack();
});
after(async () => { await stack?.stop(); });

/**
 * Copies www/examples/NAME into target/examples (inside the repository, so that
 * the frameworks and build tools resolve from its node_modules), installs the
 * tarball there, and builds it (Vite, or webpack for "webpack") for /NAME/.
 */
function build(name) {
  const dir = path.join(ROOT, "target/examples", name);
  cpSync(path.join(ROOT, "www/examples", name), dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `example-${name}`, private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--omit=peer", tarball], { cwd: dir, stdio: "ignore" });
  if (name === "webpack") {
    execFileSync("node", [path.join(ROOT, "node_modules/webpack-cli/bin/cli.js"), "--no-stats"], { cwd: dir, stdio: "inherit" });
    copyFileSync(path.join(dir, "index.html"), path.join(dir, "dist/index.html"));
  } else {
    execFileSync("node", [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--base", `/${name}/`, "--logLevel", "error"], { cwd: dir, stdio: "inherit" });
  }
  return path.join(dir, "dist");
}

/** Serves a built example on the app's origin, as the integrator's server would,
 * to a browser where the example's user (NAME@example.com) is signed in. */
async function openExample(ctx, name, dist) {
  await sessionFor(ctx, stack.appUrl, `${name}@example.com`);
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.route(`${stack.appUrl}/${name}/**`, (route) => {
    let file = new URL(route.request().url()).pathname.slice(name.length + 2) || "index.html";
    const type = file.endsWith(".wasm") ? "application/wasm" : file.endsWith(".js") ? "text/javascript" : "text/html";
    route.fulfill({ path: path.join(dist, file), contentType: type });
  });
  await page.goto(`${stack.appUrl}/${name}/`);
  return { page, errors };
}

for (const name of ["react", "vue"]) {
  test(`${name}: the component and the ${name === "react" ? "hook" : "composable"} run the flow; unmounting mid-flow closes the popup`, async () => {
    const dist = build(name);
    const ctx = await stack.browser.newContext();
    const { page, errors } = await openExample(ctx, name, dist);
    const sdkButton = page.getByRole("button", { name: "Connect Health Data" });
    await sdkButton.waitFor();
    assert.equal(await sdkButton.count(), 1, "one button, even under StrictMode");
    // The component: the whole flow.
    const [popup] = await Promise.all([page.waitForEvent("popup"), sdkButton.click()]);
    await popup.waitForLoadState("domcontentloaded");
    await popup.getByLabel("Fitbit Charge (wearable)").check();
    await clickClosing(popup, "Finish Connecting Data");
    await page.getByText(/^Connected: [0-9a-f-]{36}$/).waitFor();
    assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === `${name}@example.com`).length, 1);
    // The hook / composable: open, then cancel.
    const hook = page.getByRole("button", { name: /^Connect with the/ });
    const [second] = await Promise.all([page.waitForEvent("popup"), hook.click()]);
    await second.waitForLoadState("domcontentloaded");
    assert.equal(await page.getByRole("button", { name: "Connecting…" }).isDisabled(), true);
    await clickClosing(second, "Cancel");
    await page.getByText("Cancelled.").waitFor();
    // Unmounting the component mid-flow closes its popup.
    const [third] = await Promise.all([page.waitForEvent("popup"), sdkButton.click()]);
    const closed = third.waitForEvent("close");
    await page.getByRole("button", { name: "Remove the button" }).click();
    await closed;
    assert.equal(await sdkButton.count(), 0);
    assert.deepEqual(errors, []);
    await ctx.close();
  });
}

test("svelte: the custom element runs the flow and reports through DOM events; removing it closes the popup", async () => {
  const dist = build("svelte");
  const ctx = await stack.browser.newContext();
  const { page, errors } = await openExample(ctx, "svelte", dist);
  const sdkButton = page.getByRole("button", { name: "Connect Health Data" });
  const [popup] = await Promise.all([page.waitForEvent("popup"), sdkButton.click()]);
  await popup.waitForLoadState("domcontentloaded");
  await popup.getByLabel("Withings Body+ (scale)").check();
  await clickClosing(popup, "Finish Connecting Data");
  await page.getByText(/^Connected: [0-9a-f-]{36}$/).waitFor();
  assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === "svelte@example.com").length, 1);
  const [again] = await Promise.all([page.waitForEvent("popup"), sdkButton.click()]);
  const closed = again.waitForEvent("close");
  await page.getByRole("button", { name: "Remove the button" }).click();
  await closed;
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("webpack 5: the package builds with no extra plugin and runs the flow", async () => {
  const dist = build("webpack");
  const ctx = await stack.browser.newContext();
  const { page, errors } = await openExample(ctx, "webpack", dist);
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: "Connect Health Data" }).click()]);
  await popup.waitForLoadState("domcontentloaded");
  await popup.getByLabel("Garmin Forerunner (wearable)").check();
  await clickClosing(popup, "Finish Connecting Data");
  await page.getByText(/^Connected: [0-9a-f-]{36}$/).waitFor();
  assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === "webpack@example.com").length, 1);
  assert.deepEqual(errors, []);
  await ctx.close();
});
