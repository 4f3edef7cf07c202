// The React, Vue and Svelte examples (built with Vite), the Angular example
// (built with Angular's own build) and a plain webpack 5 example, each built
// once from the packed npm tarball, and the Leptos, Yew and Dioxus examples
// (Rust, on the crate's Rust API; built by scripts/build-rust-examples.sh),
// served on the app's origin and driven through the whole flow against the
// sandbox, in each engine.

import { before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT, eachEngine, startStack, sessionFor, rows, finishIn, waitForConnectPage } from "./harness.mjs";

let stack;
const dist = {};
before(async () => {
  const out = path.join(ROOT, "target/examples");
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: ROOT, encoding: "utf8" }));
  const tarball = path.join(out, packed[0].filename);
  for (const name of ["react", "vue", "svelte", "angular", "webpack"]) dist[name] = build(name, tarball);
  for (const name of ["leptos", "yew", "dioxus"]) {
    dist[name] = path.join(ROOT, "target/rust-examples", name, "dist");
    if (!existsSync(path.join(dist[name], "example_bg.wasm"))) {
      throw new Error(`the ${name} example is not built: scripts/build-rust-examples.sh ${name}`);
    }
  }
  stack = await startStack();
  for (const name of Object.keys(dist)) stack.app.mount(`/${name}/`, dist[name]);
});
after(async () => { await stack?.stop(); });

/**
 * Copies www/examples/NAME into target/examples (inside the repository, so that
 * the frameworks and build tools resolve from its node_modules), installs the
 * tarball there, and builds it for /NAME/: with Vite, or webpack, or
 * Angular's own build (`ng build`, its esbuild-based application builder).
 */
function build(name, tarball) {
  const dir = path.join(ROOT, "target/examples", name);
  cpSync(path.join(ROOT, "www/examples", name), dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `example-${name}`, private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--omit=peer", tarball], { cwd: dir, stdio: "ignore" });
  if (name === "angular") {
    execFileSync("node", [path.join(ROOT, "node_modules/@angular/cli/bin/ng.js"), "build", "--base-href", `/${name}/`],
      { cwd: dir, stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, NG_CLI_ANALYTICS: "false" } });
  } else if (name === "webpack") {
    execFileSync("node", [path.join(ROOT, "node_modules/webpack-cli/bin/cli.js"), "--no-stats"], { cwd: dir, stdio: "inherit" });
    copyFileSync(path.join(dir, "index.html"), path.join(dir, "dist/index.html"));
  } else {
    execFileSync("node", [path.join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--base", `/${name}/`, "--logLevel", "error"], { cwd: dir, stdio: "inherit" });
  }
  return path.join(dir, "dist");
}

eachEngine(({ engine, test, inContext }) => {
  /** The example NAME, in a browser where its user (NAME@example.com) is signed in. */
  async function openExample(ctx, name) {
    const page = await ctx.newPage();
    await sessionFor(page, stack.appUrl, `${name}@example.com`);
    await page.goto(`${stack.appUrl}/${name}/`);
    return page;
  }
  const sdkButton = { role: "button", name: "Connect Health Data" };
  const connected = /^Connected: [0-9a-f-]{36}$/;

  // Each example has the SDK's button as a component, and a second way to open
  // the popup from a click: React's hook, Vue's composable, connect() in Rust.
  const apps = [
    ["react", "the component and the hook", /^Connect with the hook$/],
    ["vue", "the component and the composable", /^Connect with the composable$/],
    ["leptos", "the Rust component and connect()", "Connect with connect()"],
    ["yew", "the Rust component and connect()", "Connect with connect()"],
    ["dioxus", "the Rust component and connect()", "Connect with connect()"],
    ["angular", "the custom element and connect()", "Connect with connect()"],
  ];
  for (const [name, what, second] of apps) {
    test(`${name}: ${what} run the flow; unmounting mid-flow closes the popup`, inContext(async (ctx) => {
      const page = await openExample(ctx, name);
      await page.waitForElement(sdkButton, { timeout: 20_000 });
      assert.equal(await page.count(sdkButton), 1, "one button, even under React's StrictMode");
      // The component: the whole flow.
      const popup = await page.clickForPopup(sdkButton);
      await waitForConnectPage(popup);
      await finishIn(popup, ["Fitbit Charge (wearable)"]);
      await page.waitForText(connected);
      assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === `${name}@example.com`).length, 1);
      // The second way: open, then cancel.
      const other = await page.clickForPopup({ role: "button", name: second });
      await waitForConnectPage(other);
      assert.equal(await page.isDisabled({ role: "button", name: "Connecting…" }), true);
      await other.clickClosing({ role: "button", name: "Cancel" });
      await page.waitForText("Cancelled.");
      // Unmounting the component mid-flow closes its popup.
      const third = await page.clickForPopup(sdkButton);
      await page.click({ role: "button", name: "Remove the button" });
      await third.waitForClose();
      assert.equal(await page.count(sdkButton), 0);
      assert.deepEqual((await page.captured()).errors, []);
    }));
  }

  test("svelte: the custom element runs the flow and reports through DOM events; removing it closes the popup", inContext(async (ctx) => {
    const page = await openExample(ctx, "svelte");
    const popup = await page.clickForPopup(sdkButton);
    await waitForConnectPage(popup);
    await finishIn(popup, ["Withings Body+ (scale)"]);
    await page.waitForText(connected);
    assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === "svelte@example.com").length, 1);
    const again = await page.clickForPopup(sdkButton);
    await page.click({ role: "button", name: "Remove the button" });
    await again.waitForClose();
    assert.deepEqual((await page.captured()).errors, []);
  }));

  test("webpack 5: the package builds with no extra plugin and runs the flow", inContext(async (ctx) => {
    const page = await openExample(ctx, "webpack");
    const popup = await page.clickForPopup(sdkButton);
    await waitForConnectPage(popup);
    await finishIn(popup, ["Garmin Forerunner (wearable)"]);
    await page.waitForText(connected);
    assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === "webpack@example.com").length, 1);
    assert.deepEqual((await page.captured()).errors, []);
  }));
});
