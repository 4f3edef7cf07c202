// The npm package as a user gets it: `npm pack`, installed into a fresh project.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT, eachEngine, newContext, startStack, sessionFor, rows, finishIn, waitForConnectPage } from "./harness.mjs";

let project;
let tarball;
before(() => {
  const out = mkdtempSync(path.join(os.tmpdir(), "zivacare-pack-"));
  const packed = JSON.parse(execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: ROOT, encoding: "utf8" }));
  tarball = { path: path.join(out, packed[0].filename), files: packed[0].files.map((f) => f.path).sort(), size: packed[0].size };
  project = mkdtempSync(path.join(os.tmpdir(), "zivacare-user-"));
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "user-app", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball.path], { cwd: project, stdio: "ignore" });
});

/**
 * tsc's complaints about `code` as a file of the user's project, resolved as
 * `resolution` ("bundler" for pages, "nodenext" for a Node server); "" if none.
 */
function typeCheck(code, resolution) {
  writeFileSync(path.join(project, "check.ts"), code);
  const module = resolution === "bundler" ? "esnext" : resolution;
  try {
    execFileSync(path.join(ROOT, "node_modules/.bin/tsc"), ["--noEmit", "--strict", "--skipLibCheck", "false",
      "--module", module, "--moduleResolution", resolution, "--target", "es2022", "--lib", "es2022,dom",
      "check.ts"], { cwd: project, encoding: "utf8", stdio: "pipe" });
    return "";
  } catch (e) {
    return e.stdout;
  }
}

test("the tarball holds exactly what users need", () => {
  console.log(`packed: ${tarball.size} bytes, ${tarball.files.length} files: ${tarball.files.join(" ")}`);
  assert.deepEqual(tarball.files, [
    "CHANGELOG.md", "LICENSE", "README.md", "package.json",
    "pkg/connect.d.ts", "pkg/connect.js", "pkg/index.d.ts", "pkg/index.js", "pkg/integrity.json",
    "pkg/react.d.ts", "pkg/react.js", "pkg/server.browser.js", "pkg/server.d.ts", "pkg/server.js", "pkg/vue.d.ts", "pkg/vue.js",
    "pkg/zivacare_connect.d.ts", "pkg/zivacare_connect.js", "pkg/zivacare_connect_bg.wasm",
  ]);
});

test("the TypeScript declarations type a user's code, and reject a wrong option", () => {
  const good = `
    import { open, connect, button, type ZivaConnectError, type ZivaConnectResponse } from "@zivacare/connect";
    import { useZivaConnect } from "@zivacare/connect/react";
    const handle = open({ clientId: "c", clientUserId: "u", locale: "es", timeoutMs: 1000,
      serverHeaders: { "X-CSRF-Token": "t" }, credentials: "include",
      onEvent: (name, details) => { if (name === "message_rejected") console.log(details?.reason); },
      finish: (err: ZivaConnectError | null, res?: ZivaConnectResponse) => {
        if (err && err.code === "connect_error") console.log(err.connectCode);
        if (res) console.log(res.specialToken, res.serverResponse);
      } });
    handle.close();
    const closed: boolean = handle.closed;
    connect({ clientId: "c", clientUserId: "u" }).then((r) => r.state);
    button("#x", { clientId: "c", clientUserId: "u", finish() {} }).destroy();
    const hook: (o: Parameters<typeof useZivaConnect>[0]) => void = useZivaConnect;
    export { closed, hook };`;
  const bad = `import { open } from "@zivacare/connect";
    open({ clientId: "c", clientUserId: "u", finish() {}, credentials: "everything" });`;
  const tsc = (code) => typeCheck(code, "bundler");
  assert.equal(tsc(good), "");
  assert.match(tsc(bad), /"everything"/);
  // Script-tag users: the global, typed from the classic script's own declaration.
  const global = `
    import type {} from "@zivacare/connect/connect.js";
    const handle = ZivaConnect.open({ clientId: "c", clientUserId: "u", finish(err, res) { if (res) res.state.trim(); } });
    handle.close();
    window.ZivaConnect.button(document.body, { clientId: "c", clientUserId: "u", finish() {} }).destroy();
    const ready: Promise<void> = window.ZivaConnect.ready;
    export { ready };`;
  assert.equal(tsc(global), "");
  assert.match(tsc(`import type {} from "@zivacare/connect/connect.js";
    ZivaConnect.connect({ clientId: "c", clientUserId: "u", popupWidth: "wide" });`), /popupWidth|string/);
});

test("importing under Node (server rendering) touches no window and calls fail clearly", async () => {
  const script = `
    import * as z from "@zivacare/connect";
    const out = { exports: Object.keys(z).sort() };
    try { z.open({}); } catch (e) { out.open = e.code; }
    try { z.button("#x", {}); } catch (e) { out.button = e.code; }
    await z.connect({}).catch((e) => { out.connect = e.code + ":" + e.message; });
    await z.load().catch((e) => { out.load = e.code; });
    await z.handleRedirect({}).catch((e) => { out.handleRedirect = e.code; });
    console.log(JSON.stringify(out));`;
  const out = JSON.parse(execFileSync("node", ["--input-type=module", "-e", script], { cwd: project, encoding: "utf8" }));
  assert.deepEqual(out.exports, ["button", "connect", "defineCustomElement", "handleRedirect", "load", "open"]);
  assert.equal(out.open, "unsupported");
  assert.equal(out.button, "unsupported");
  assert.match(out.connect, /^unsupported:.*browser/);
  assert.equal(out.load, "unsupported");
  assert.equal(out.handleRedirect, "unsupported");
});

test("the server entry types a user's handler, loads under Node, and never enters a browser bundle", () => {
  const good = `
    import { createTokenHandler, exchangeToken, memoryLedger, type Connection, type ZivaCareError } from "@zivacare/connect/server";
    const handler = createTokenHandler({
      clientId: "c", clientSecret: "s", appOrigin: ["https://app.example.com"], ledger: memoryLedger(),
      getUser: async (request: Request) => ({ clientUserId: "ann@example.com", id: 7 }),
      save: async (user, connection: Connection) => { const id: number = user.id; void id; void connection.accessToken; },
    });
    const answer: Promise<Response> = handler(new Request("https://app.example.com/api/zivacare/token"));
    exchangeToken({ specialToken: "t", clientSecret: "s" }).catch((e: ZivaCareError) => e.code === "token_rejected");
    export { answer };`;
  const bad = `import { createTokenHandler } from "@zivacare/connect/server";
    createTokenHandler({ clientId: "c", clientSecret: "s", appOrigin: "https://a.example", getUser: () => null });`;
  const tsc = (code) => typeCheck(code, "nodenext");
  assert.equal(tsc(good), "");
  assert.match(tsc(bad), /save/);
  const loaded = execFileSync("node", ["--input-type=module", "-e",
    `import * as s from "@zivacare/connect/server"; console.log(Object.keys(s).sort().join(" "))`], { cwd: project, encoding: "utf8" });
  assert.equal(loaded.trim(), "CONNECT_HEADER DEFAULT_TIMEOUT_MS MAX_FORWARD_BODY ZIVACARE_URL ZivaCareError createTokenHandler exchangeToken memoryLedger");
  // A bundle for the browser gets the stub that throws; one for Workers or edge runtimes, the handler.
  writeFileSync(path.join(project, "entry.js"), `import { exchangeToken } from "@zivacare/connect/server"; console.log(typeof exchangeToken);`);
  const bundle = (...args) => execFileSync(path.join(ROOT, "node_modules/.bin/esbuild"), ["entry.js", "--bundle", "--format=esm", ...args], { cwd: project, encoding: "utf8" });
  const browser = bundle("--platform=browser");
  assert.ok(!browser.includes("get-access-token") && !browser.includes("clientSecret,"), "no server code in a browser bundle");
  assert.match(browser, /runs on your server/);
  assert.match(bundle("--platform=browser", "--conditions=workerd,worker"), /get-access-token/);
  assert.match(bundle("--platform=node"), /get-access-token/);
  // And the browser entries hold none of it either.
  for (const f of ["connect.js", "index.js", "zivacare_connect.js"]) {
    assert.ok(!readFileSync(path.join(project, "node_modules/@zivacare/connect/pkg", f), "utf8").includes("get-access-token"), f);
  }
});

let stack;
after(async () => { await stack?.stop(); });

eachEngine(({ engine, test }) => {
  test("the installed package's ES module runs the whole flow in a browser", async () => {
    stack ??= await startStack();
    // The app serves the package's files itself, as a bundler's output would.
    const vendor = stack.app.mount("/vendor/", path.join(project, "node_modules/@zivacare/connect/pkg"));
    const user = `esm.${engine}@example.com`;
    const url = stack.app.page(`<div id="c"></div><script type="module">
      import { button } from "${vendor}index.js";
      window.results = [];
      button("#c", { clientId: "demo-client", clientUserId: "${user}", connectUrl: "${stack.sandboxUrl}/connect",
        serverUrl: "/api/zivacare/token", finish: (err, res) => window.results.push(err ? err.code : res.serverResponse.connected) });
      </script>`);
    const ctx = await newContext(engine);
    try {
      const page = await ctx.newPage();
      await sessionFor(page, stack.appUrl, user);
      await page.goto(url);
      const popup = await page.clickForPopup({ role: "button", name: "Connect Health Data" });
      await waitForConnectPage(popup);
      await finishIn(popup, ["Quest Diagnostics (lab results)"]);
      await page.waitFor(() => window.results.length === 1);
      assert.deepEqual(await page.evaluate(() => window.results), [true]);
      assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
    } finally {
      await ctx.close();
    }
  });
});
