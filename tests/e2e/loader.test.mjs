// The script-tag install: pkg/connect.js loaded the way integrators include it,
// including clicks before the module is ready, double inclusion, and the
// declarative and custom-element forms.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, startStack, sessionFor, rows, clickClosing } from "./harness.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

/** Serves `body` as a page of the app's origin; the SDK files come from the real backend. */
async function pageWith(ctx, body, { wasmDelayMs = 0 } = {}) {
  const page = await ctx.newPage();
  const wasmRequests = [];
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => r.url().endsWith(".wasm") && wasmRequests.push(r.url()));
  await page.route(`${stack.appUrl}/test-page.html`, (route) =>
    route.fulfill({ contentType: "text/html", body: `<!doctype html><html lang="en"><head><title>t</title></head><body>${body}</body></html>` }));
  if (wasmDelayMs) {
    await page.route("**/*.wasm", async (route) => {
      await new Promise((r) => setTimeout(r, wasmDelayMs));
      await route.continue();
    });
  }
  await page.goto(`${stack.appUrl}/test-page.html`);
  return { page, wasmRequests, errors };
}

const script = `<script src="/pkg/connect.js"></script>`;

async function finishIn(popup) {
  await popup.waitForLoadState("domcontentloaded");
  await popup.getByLabel("Garmin Forerunner (wearable)").check();
  await clickClosing(popup, "Finish Connecting Data");
}

test("button() before the module is ready returns at once, renders once it is ready, and its click completes the flow", async () => {
  const ctx = await stack.browser.newContext();
  const user = "early@example.com";
  await sessionFor(ctx, stack.appUrl, user);
  const { page, errors } = await pageWith(ctx, `${script}<div id="c"></div><div id="gone"></div>`, { wasmDelayMs: 1500 });
  const early = await page.evaluate(({ connectUrl, user }) => {
    window.results = [];
    const options = {
      clientId: "demo-client", clientUserId: user, connectUrl, serverUrl: "/api/zivacare/token",
      finish: (err, res) => window.results.push(err ? err.code : res.serverResponse.connected),
    };
    const handle = ZivaConnect.button("#c", options);
    // Destroyed before the module is there: it never renders.
    ZivaConnect.button("#gone", { ...options, label: "Never" }).destroy();
    return { destroy: typeof handle.destroy, buttons: document.querySelectorAll("button").length };
  }, { connectUrl: `${stack.sandboxUrl}/connect`, user });
  assert.deepEqual(early, { destroy: "function", buttons: 0 }, "a handle at once; the module draws the button");
  await page.evaluate(() => ZivaConnect.ready);
  assert.equal(await page.locator("#c button").count(), 1);
  assert.equal(await page.locator("#gone button").count(), 0, "destroyed before the module was ready");
  const [popup] = await Promise.all([
    page.waitForEvent("popup"),
    page.getByRole("button", { name: "Connect Health Data" }).click(),
  ]);
  assert.equal(await page.getByRole("button").getAttribute("aria-busy"), "true", "busy at once");
  await popup.waitForURL(/\/connect\?/, { timeout: 10000 });
  assert.equal(new URL(popup.url()).searchParams.get("clientUserId"), user);
  await finishIn(popup);
  await page.waitForFunction(() => window.results.length === 1);
  assert.deepEqual(await page.evaluate(() => window.results), [true]);
  assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("open() before the module is ready opens the popup synchronously", async () => {
  const ctx = await stack.browser.newContext();
  const { page } = await pageWith(ctx, `${script}<button id="go">Go</button>`, { wasmDelayMs: 1500 });
  await page.evaluate((connectUrl) => {
    window.results = [];
    document.getElementById("go").addEventListener("click", () => {
      window.handle = ZivaConnect.open({
        clientId: "demo-client", clientUserId: "sync@example.com", connectUrl,
        finish: (err, res) => window.results.push(err ? err.code : res.specialToken.length),
        close: () => window.results.push("close"),
      });
    });
  }, `${stack.sandboxUrl}/connect`);
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#go")]);
  await popup.waitForURL(/\/connect\?/, { timeout: 10000 });
  await clickClosing(popup, "Cancel");
  await page.waitForFunction(() => window.results.length === 1);
  assert.deepEqual(await page.evaluate(() => window.results), ["close"]);
  await ctx.close();
});

test("including the script twice loads the module once", async () => {
  const ctx = await stack.browser.newContext();
  const { page, wasmRequests, errors } = await pageWith(ctx, `${script}${script}<div id="c"></div>`);
  await page.evaluate(() => ZivaConnect.ready);
  const first = await page.evaluate(() => { window.first = window.ZivaConnect; return typeof ZivaConnect.open; });
  assert.equal(first, "function");
  await page.waitForTimeout(300);
  assert.equal(wasmRequests.length, 1);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("a data-zivacare-connect element becomes a working button with no script of the page", async () => {
  const ctx = await stack.browser.newContext();
  const user = "declared@example.com";
  await sessionFor(ctx, stack.appUrl, user);
  const markup = `<div id="d" data-zivacare-connect data-client-id="demo-client" data-client-user-id="${user}"
    data-server-url="/api/zivacare/token" data-connect-url="${stack.sandboxUrl}/connect"></div>${script}`;
  const { page } = await pageWith(ctx, markup);
  await page.evaluate(() => {
    window.events = [];
    for (const name of ["zivacare-finish", "zivacare-close", "zivacare-error"]) {
      document.addEventListener(name, (e) => window.events.push([name, e.detail && e.detail.serverResponse && e.detail.serverResponse.connected]));
    }
  });
  const [popup] = await Promise.all([
    page.waitForEvent("popup"),
    page.getByRole("button", { name: "Connect Health Data" }).click(),
  ]);
  await finishIn(popup);
  await page.waitForFunction(() => window.events.length === 1);
  assert.deepEqual(await page.evaluate(() => window.events), [["zivacare-finish", true]]);
  assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
  await ctx.close();
});

test("the custom element reports through DOM events and removing it mid-flow closes the popup", async () => {
  const ctx = await stack.browser.newContext();
  const markup = `${script}<zivacare-connect-button id="el" client-id="demo-client" client-user-id="el@example.com"
    server-url="/api/zivacare/token" connect-url="${stack.sandboxUrl}/connect" label="Share my data"></zivacare-connect-button>`;
  const { page } = await pageWith(ctx, markup);
  await page.evaluate(() => ZivaConnect.ready);
  await page.evaluate(() => {
    window.events = [];
    document.getElementById("el").addEventListener("zivacare-close", () => window.events.push("close"));
  });
  const [popup] = await Promise.all([
    page.waitForEvent("popup"),
    page.getByRole("button", { name: "Share my data" }).click(),
  ]);
  await popup.waitForLoadState("domcontentloaded");
  const closed = popup.waitForEvent("close");
  await page.evaluate(() => document.getElementById("el").remove());
  await closed;
  assert.equal(await page.getByRole("button").count(), 0);
  // An invalid attribute is reported as an event, not thrown into the void.
  const code = await page.evaluate(() => new Promise((resolve) => {
    const el = document.createElement("zivacare-connect-button");
    el.setAttribute("client-id", "demo-client");
    el.addEventListener("zivacare-error", (e) => resolve(e.detail.code + ":" + e.detail.field));
    document.body.append(el);
  }));
  assert.equal(code, "invalid_options:clientUserId");
  await ctx.close();
});

test("locale labels are the same for buttons asked for before and after the module has loaded", async () => {
  const ctx = await stack.browser.newContext();
  const { page } = await pageWith(ctx, `${script}<div id="c"></div>`, { wasmDelayMs: 800 });
  const locales = ["en", "es", "fr-CA", "de", "it"];
  const labels = () => page.evaluate(() => [...document.querySelectorAll("#c button")].map((b) => b.textContent));
  const render = () => page.evaluate(({ locales, connectUrl }) => {
    for (const locale of locales) {
      ZivaConnect.button("#c", { clientId: "demo-client", clientUserId: "l@example.com", connectUrl, locale, finish() {} });
    }
  }, { locales, connectUrl: `${stack.sandboxUrl}/connect` });
  await render(); // before the module is ready: drawn once it is
  assert.deepEqual(await labels(), [], "nothing is drawn before the module is ready");
  await page.evaluate(() => ZivaConnect.ready);
  const before = await labels();
  await render(); // and buttons asked for once the module is there
  const after = await labels();
  const expected = ["Connect Health Data", "Conectar datos de salud", "Connecter mes données de santé", "Gesundheitsdaten verbinden", "Connect Health Data"];
  assert.deepEqual(before, expected);
  assert.deepEqual(after, [...expected, ...expected]);
  await ctx.close();
});

test("the custom element is themable with CSS custom properties and ::part(button)", async () => {
  const ctx = await stack.browser.newContext();
  const css = `<style>
    zivacare-connect-button { --zivacare-button-background: rgb(1, 2, 3); }
    #b::part(button) { color: rgb(4, 5, 6); }
  </style>`;
  const markup = `${css}${script}<zivacare-connect-button client-id="demo-client" client-user-id="t@example.com"></zivacare-connect-button>
    <zivacare-connect-button id="b" client-id="demo-client" client-user-id="t@example.com" locale="de"></zivacare-connect-button>`;
  const { page } = await pageWith(ctx, markup);
  await page.evaluate(() => ZivaConnect.ready);
  const styles = await page.evaluate(() => [...document.querySelectorAll("zivacare-connect-button")].map((el) => {
    const b = el.shadowRoot.querySelector("button");
    const s = getComputedStyle(b);
    return [b.textContent, s.backgroundColor, s.color];
  }));
  assert.deepEqual(styles, [
    ["Connect Health Data", "rgb(1, 2, 3)", "rgb(255, 255, 255)"],
    ["Gesundheitsdaten verbinden", "rgb(1, 2, 3)", "rgb(4, 5, 6)"],
  ]);
  await ctx.close();
});

test("Subresource Integrity: the published hash loads the script, and a tampered .wasm is refused", async () => {
  const integrity = JSON.parse(readFileSync(path.join(ROOT, "pkg/integrity.json"), "utf8"));
  const tag = `<script src="/pkg/connect.js" integrity="${integrity["connect.js"]}" crossorigin="anonymous"></script>`;
  const ctx = await stack.browser.newContext();
  const { page } = await pageWith(ctx, tag);
  assert.equal(await page.evaluate(() => ZivaConnect.ready.then(() => "ready")), "ready");
  const tampered = await ctx.newPage();
  await tampered.route("**/zivacare_connect_bg.wasm", async (route) => {
    const body = await (await route.fetch()).body();
    body[body.length - 1] ^= 1;
    await route.fulfill({ body, contentType: "application/wasm" });
  });
  await tampered.route(`${stack.appUrl}/test-page.html`, (route) =>
    route.fulfill({ contentType: "text/html", body: `<!doctype html><html lang="en"><head><title>t</title></head><body>${tag}</body></html>` }));
  const consoleText = [];
  tampered.on("console", (m) => consoleText.push(m.text()));
  await tampered.goto(`${stack.appUrl}/test-page.html`);
  const outcome = await tampered.evaluate(() => ZivaConnect.ready.then(() => "loaded", () => "refused"));
  assert.equal(outcome, "refused");
  assert.ok(consoleText.some((t) => /integrity/i.test(t)), consoleText.join("\n"));
  await ctx.close();
});

test("data-wasm-url makes the loader take the .wasm from elsewhere", async () => {
  const ctx = await stack.browser.newContext();
  const page = await ctx.newPage();
  const wasm = [];
  page.on("request", (r) => r.url().endsWith(".wasm") && wasm.push(new URL(r.url()).pathname));
  await page.route(`${stack.appUrl}/cdn/sdk.wasm`, (route) =>
    route.fulfill({ path: path.join(ROOT, "pkg/zivacare_connect_bg.wasm"), contentType: "application/wasm" }));
  await page.route(`${stack.appUrl}/test-page.html`, (route) => route.fulfill({ contentType: "text/html",
    body: `<!doctype html><html lang="en"><head><title>t</title></head><body><script src="/pkg/connect.js" data-wasm-url="/cdn/sdk.wasm"></script></body></html>` }));
  await page.goto(`${stack.appUrl}/test-page.html`);
  assert.equal(await page.evaluate(() => ZivaConnect.ready.then(() => "ready")), "ready");
  assert.deepEqual(wasm, ["/cdn/sdk.wasm"]);
  await ctx.close();
});

test("invalid options given before the module is ready reach finish, and the blank popup closes", async () => {
  const ctx = await stack.browser.newContext();
  const { page } = await pageWith(ctx, `${script}<button id="go">Go</button>`, { wasmDelayMs: 800 });
  await page.evaluate(() => {
    window.results = [];
    document.getElementById("go").addEventListener("click", () => {
      ZivaConnect.open({ clientId: "demo-client", clientUserId: "", finish: (err) => window.results.push(err.code + ":" + err.field) });
    });
  });
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.click("#go")]);
  await popup.waitForEvent("close");
  await page.waitForFunction(() => window.results.length === 1);
  assert.deepEqual(await page.evaluate(() => window.results), ["invalid_options:clientUserId"]);
  await ctx.close();
});

// The button itself, once the module has loaded.
const buttonOptions = (connectUrl, user, extra) => ({
  clientId: "demo-client", clientUserId: user, connectUrl, serverUrl: "/api/zivacare/token",
  finish: (err, res) => window.results.push(err ? "error:" + err.code : "ok:" + res.serverResponse.connected),
  close: () => window.results.push("close"),
  ...extra,
});

test("button() renders an accessible button; bad targets and options are clear errors; destroy removes it", async () => {
  const ctx = await stack.browser.newContext();
  const { page, errors } = await pageWith(ctx, `${script}<div id="c"></div>`);
  await page.evaluate(() => ZivaConnect.ready);
  const connectUrl = `${stack.sandboxUrl}/connect`;
  const b = page.getByRole("button", { name: "Connect Health Data" });
  await page.evaluate((connectUrl) => {
    window.results = [];
    window.handle = ZivaConnect.button("#c", { clientId: "demo-client", clientUserId: "a@example.com", connectUrl, finish() {} });
  }, connectUrl);
  assert.equal(await b.count(), 1);
  assert.equal(await b.getAttribute("type"), "button");
  assert.equal(await b.isEnabled(), true);
  assert.equal(await b.getAttribute("aria-busy"), null);
  await page.evaluate(() => { window.handle.destroy(); window.handle.destroy(); });
  assert.equal(await page.locator("button").count(), 0, "gone, and destroy twice is safe");
  await page.evaluate((connectUrl) => {
    ZivaConnect.button(document.getElementById("c"), { clientId: "demo-client", clientUserId: "a@example.com", connectUrl, label: "Conectar", finish() {} });
  }, connectUrl);
  assert.equal(await page.getByRole("button", { name: "Conectar" }).count(), 1);
  const failures = await page.evaluate((connectUrl) => {
    const opts = { clientId: "demo-client", clientUserId: "a@example.com", connectUrl, finish() {} };
    const attempt = (target, o) => {
      try { ZivaConnect.button(target, o); return "no error"; } catch (e) {
        return [e instanceof Error, e.name, e.code, e.field].join(" ");
      }
    };
    return [attempt("#nowhere", opts), attempt("##", opts), attempt(42, opts), attempt("#c", { ...opts, clientId: 42 })];
  }, connectUrl);
  assert.deepEqual(failures, [
    "true ZivaConnectError invalid_options target",
    "true ZivaConnectError invalid_options target",
    "true ZivaConnectError invalid_options target",
    "true ZivaConnectError invalid_options clientId",
  ]);
  assert.equal(await page.locator("button").count(), 1, "no button for a call that threw");
  assert.deepEqual(errors, []);
  await ctx.close();
});

test("t05: the button is busy while its flow is open: a double click opens one popup; usable again after finish", async () => {
  const ctx = await stack.browser.newContext();
  const user = "busy@example.com";
  await sessionFor(ctx, stack.appUrl, user);
  const { page } = await pageWith(ctx, `${script}<div id="c"></div>`);
  await page.evaluate(() => ZivaConnect.ready);
  await page.evaluate(({ connectUrl, user, opts }) => {
    window.results = [];
    ZivaConnect.button("#c", eval(`(${opts})`)(connectUrl, user));
  }, { connectUrl: `${stack.sandboxUrl}/connect`, user, opts: buttonOptions.toString() });
  const popups = [];
  ctx.on("page", (p) => popups.push(p));
  const b = page.getByRole("button", { name: "Connect Health Data" });
  await b.dblclick();
  await page.waitForTimeout(300);
  assert.equal(popups.length, 1, "one popup for a double click");
  assert.equal(await b.isDisabled(), true);
  assert.equal(await b.getAttribute("aria-busy"), "true");
  await finishIn(popups[0]);
  await page.waitForFunction(() => window.results.length === 1);
  assert.deepEqual(await page.evaluate(() => window.results), ["ok:true"]);
  assert.equal(await b.isEnabled(), true);
  assert.equal(await b.getAttribute("aria-busy"), null);
  assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
  await ctx.close();
});

test("destroying a button mid-flow closes the popup, calls close, and frees the page for the next flow", async () => {
  const ctx = await stack.browser.newContext();
  const { page } = await pageWith(ctx, `${script}<div id="c"></div>`);
  await page.evaluate(() => ZivaConnect.ready);
  await page.evaluate(({ connectUrl, opts }) => {
    window.results = [];
    window.handle = ZivaConnect.button("#c", eval(`(${opts})`)(connectUrl, "gone@example.com"));
  }, { connectUrl: `${stack.sandboxUrl}/connect`, opts: buttonOptions.toString() });
  const [popup] = await Promise.all([
    page.waitForEvent("popup"),
    page.getByRole("button", { name: "Connect Health Data" }).click(),
  ]);
  await popup.waitForURL(/\/connect\?/, { timeout: 10000 });
  const closed = popup.waitForEvent("close");
  await page.evaluate(() => window.handle.destroy());
  await closed;
  assert.deepEqual(await page.evaluate(() => window.results), ["close"]);
  assert.equal(await page.locator("button").count(), 0);
  // No flow is left open: the next one is not "busy".
  await page.evaluate(({ connectUrl, opts }) => {
    const b = document.createElement("button");
    b.textContent = "again";
    b.onclick = () => ZivaConnect.open(eval(`(${opts})`)(connectUrl, "gone@example.com"));
    document.body.append(b);
  }, { connectUrl: `${stack.sandboxUrl}/connect`, opts: buttonOptions.toString() });
  const [again] = await Promise.all([page.waitForEvent("popup"), page.click("text=again")]);
  await again.waitForURL(/\/connect\?/, { timeout: 10000 });
  assert.deepEqual(await page.evaluate(() => window.results), ["close"], "no busy error");
  await ctx.close();
});
