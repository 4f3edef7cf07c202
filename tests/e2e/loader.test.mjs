// The script-tag install, in each engine: pkg/connect.js loaded the way
// integrators include it, including calls before the module is ready, double
// inclusion, and the declarative and custom-element forms.

import { before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  ROOT, eachEngine, startStack, sessionFor, rows, finishIn, waitForConnectPage,
} from "./harness.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const script = `<script src="/pkg/connect.js"></script>`;
const GARMIN = ["Garmin Forerunner (wearable)"];

/**
 * Opens `body` as a page of the app's origin, in `ctx`'s first window,
 * signed in as `user` if given; the SDK's files come from the real backend
 * (the `.wasm` delayed by `wasmDelayMs`, or tampered with).
 */
async function pageWith(ctx, body, { user, ...options } = {}) {
  const url = stack.app.page(body, options);
  const page = await ctx.newPage();
  if (user) await sessionFor(page, stack.appUrl, user);
  await page.goto(url);
  page.prefix = new URL(url).pathname;
  return page;
}

/** The `.wasm` requests that reached the app for `page`. */
const wasmRequests = (page) => stack.app.requests.filter((r) => r.path.startsWith(page.prefix) && r.path.endsWith(".wasm"));

// The button itself, once the module has loaded.
const buttonOptions = (connectUrl, user, extra) => ({
  clientId: "demo-client", clientUserId: user, connectUrl, serverUrl: "/api/zivacare/token",
  finish: (err, res) => window.results.push(err ? "error:" + err.code : "ok:" + res.serverResponse.connected),
  close: () => window.results.push("close"),
  ...extra,
});

eachEngine(({ engine, test, inContext }) => {
  const as = (who) => `${who}.${engine}@example.com`;
  const connectUrl = () => `${stack.sandboxUrl}/connect`;

  test("button() before the module is ready returns at once, renders once it is ready, and its click completes the flow", inContext(async (ctx) => {
    const user = as("early");
    const page = await pageWith(ctx, `${script}<div id="c"></div><div id="gone"></div>`, { wasmDelayMs: 1500, user });
    const early = await page.evaluate((connectUrl, user) => {
      window.results = [];
      const options = {
        clientId: "demo-client", clientUserId: user, connectUrl, serverUrl: "/api/zivacare/token",
        finish: (err, res) => window.results.push(err ? err.code : res.serverResponse.connected),
      };
      const handle = ZivaConnect.button("#c", options);
      // Destroyed before the module is there: it never renders.
      ZivaConnect.button("#gone", { ...options, label: "Never" }).destroy();
      return { destroy: typeof handle.destroy, buttons: document.querySelectorAll("button").length };
    }, connectUrl(), user);
    assert.deepEqual(early, { destroy: "function", buttons: 0 }, "a handle at once; the module draws the button");
    await page.evaluate(() => ZivaConnect.ready);
    assert.equal(await page.count("#c button"), 1);
    assert.equal(await page.count("#gone button"), 0, "destroyed before the module was ready");
    const popup = await page.clickForPopup({ role: "button", name: "Connect Health Data" });
    assert.equal(await page.attribute("#c button", "aria-busy"), "true", "busy at once");
    await waitForConnectPage(popup);
    assert.equal(new URL(await popup.url()).searchParams.get("clientUserId"), user);
    await finishIn(popup, GARMIN);
    await page.waitFor(() => window.results.length === 1);
    assert.deepEqual(await page.evaluate(() => window.results), [true]);
    assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
    assert.deepEqual((await page.captured()).errors, []);
  }));

  test("open() before the module is ready still opens the popup inside the click", inContext(async (ctx) => {
    // The module takes 1.5 s to come: longer than any engine lets a click open
    // a window (WebKit: under a second). The loader opens it blank in the click.
    const page = await pageWith(ctx, `${script}<button id="go">Go</button>`, { wasmDelayMs: 1500 });
    await page.evaluate((connectUrl) => {
      window.results = [];
      document.getElementById("go").addEventListener("click", () => {
        window.handle = ZivaConnect.open({
          clientId: "demo-client", clientUserId: "sync@example.com", connectUrl,
          finish: (err, res) => window.results.push(err ? err.code : res.specialToken.length),
          close: () => window.results.push("close"),
        });
      });
    }, connectUrl());
    const popup = await page.clickForPopup("#go");
    await waitForConnectPage(popup);
    await popup.clickClosing({ role: "button", name: "Cancel" });
    await page.waitFor(() => window.results.length === 1);
    assert.deepEqual(await page.evaluate(() => window.results), ["close"]);
  }));

  test("connect() before the module is ready opens the popup inside the click and resolves", inContext(async (ctx) => {
    const page = await pageWith(ctx, `${script}<button id="go">Go</button>`, { wasmDelayMs: 1500 });
    await page.evaluate((connectUrl) => {
      document.getElementById("go").addEventListener("click", () => {
        window.outcome = ZivaConnect.connect({ clientId: "demo-client", clientUserId: "promise@example.com", connectUrl })
          .then((r) => "token:" + r.specialToken.length, (e) => "error:" + e.code);
      });
    }, connectUrl());
    const popup = await page.clickForPopup("#go");
    await waitForConnectPage(popup);
    await finishIn(popup, GARMIN);
    assert.match(await page.evaluate(() => window.outcome), /^token:\d+$/);
  }));

  test("including the script twice loads the module once", inContext(async (ctx) => {
    const page = await pageWith(ctx, `${script}${script}<div id="c"></div>`);
    await page.evaluate(() => ZivaConnect.ready);
    assert.equal(await page.evaluate(() => typeof ZivaConnect.open), "function");
    await page.wait(300);
    assert.equal(wasmRequests(page).length, 1);
    assert.deepEqual((await page.captured()).errors, []);
  }));

  test("a data-zivacare-connect element becomes a working button with no script of the page", inContext(async (ctx) => {
    const user = as("declared");
    const markup = `<div id="d" data-zivacare-connect data-client-id="demo-client" data-client-user-id="${user}"
      data-server-url="/api/zivacare/token" data-connect-url="${connectUrl()}"></div>${script}`;
    const page = await pageWith(ctx, markup, { user });
    await page.evaluate(() => {
      window.events = [];
      for (const name of ["zivacare-finish", "zivacare-close", "zivacare-error"]) {
        document.addEventListener(name, (e) => window.events.push([name, e.detail && e.detail.serverResponse && e.detail.serverResponse.connected]));
      }
    });
    const popup = await page.clickForPopup({ role: "button", name: "Connect Health Data" });
    await waitForConnectPage(popup);
    await finishIn(popup, GARMIN);
    await page.waitFor(() => window.events.length === 1);
    assert.deepEqual(await page.evaluate(() => window.events), [["zivacare-finish", true]]);
    assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
  }));

  test("the custom element reports through DOM events and removing it mid-flow closes the popup", inContext(async (ctx) => {
    const markup = `${script}<zivacare-connect-button id="el" client-id="demo-client" client-user-id="el@example.com"
      server-url="/api/zivacare/token" connect-url="${connectUrl()}" label="Share my data"></zivacare-connect-button>`;
    const page = await pageWith(ctx, markup);
    await page.evaluate(() => ZivaConnect.ready);
    await page.evaluate(() => {
      window.events = [];
      document.getElementById("el").addEventListener("zivacare-close", () => window.events.push("close"));
    });
    const popup = await page.clickForPopup({ role: "button", name: "Share my data" });
    await waitForConnectPage(popup);
    await page.evaluate(() => document.getElementById("el").remove());
    await popup.waitForClose();
    assert.equal(await page.count({ role: "button" }), 0);
    // An invalid attribute is reported as an event, not thrown into the void.
    const code = await page.evaluate(() => new Promise((resolve) => {
      const el = document.createElement("zivacare-connect-button");
      el.setAttribute("client-id", "demo-client");
      el.addEventListener("zivacare-error", (e) => resolve(e.detail.code + ":" + e.detail.field));
      document.body.append(el);
    }));
    assert.equal(code, "invalid_options:clientUserId");
  }));

  test("locale labels are the same for buttons asked for before and after the module has loaded", inContext(async (ctx) => {
    const page = await pageWith(ctx, `${script}<div id="c"></div>`, { wasmDelayMs: 800 });
    const locales = ["en", "es", "fr-CA", "de", "it"];
    const labels = () => page.texts("#c button");
    const render = () => page.evaluate((locales, connectUrl) => {
      for (const locale of locales) {
        ZivaConnect.button("#c", { clientId: "demo-client", clientUserId: "l@example.com", connectUrl, locale, finish() {} });
      }
    }, locales, connectUrl());
    await render(); // before the module is ready: drawn once it is
    assert.deepEqual(await labels(), [], "nothing is drawn before the module is ready");
    await page.evaluate(() => ZivaConnect.ready);
    const before = await labels();
    await render(); // and buttons asked for once the module is there
    const after = await labels();
    const expected = ["Connect Health Data", "Conectar datos de salud", "Connecter mes données de santé", "Gesundheitsdaten verbinden", "Connect Health Data"];
    assert.deepEqual(before, expected);
    assert.deepEqual(after, [...expected, ...expected]);
  }));

  test("the custom element is themable with CSS custom properties and ::part(button)", inContext(async (ctx) => {
    const css = `<style>
      zivacare-connect-button { --zivacare-button-background: rgb(1, 2, 3); }
      #b::part(button) { color: rgb(4, 5, 6); }
    </style>`;
    const markup = `${css}${script}<zivacare-connect-button client-id="demo-client" client-user-id="t@example.com"></zivacare-connect-button>
      <zivacare-connect-button id="b" client-id="demo-client" client-user-id="t@example.com" locale="de"></zivacare-connect-button>`;
    const page = await pageWith(ctx, markup);
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
  }));

  test("Subresource Integrity: the published hash loads the script, and a tampered .wasm is refused", inContext(async (ctx) => {
    const integrity = JSON.parse(readFileSync(path.join(ROOT, "pkg/integrity.json"), "utf8"));
    const tag = `<script src="/pkg/connect.js" integrity="${integrity["connect.js"]}" crossorigin="anonymous"></script>`;
    const page = await pageWith(ctx, tag);
    assert.equal(await page.evaluate(() => ZivaConnect.ready.then(() => "ready")), "ready");
    await page.goto(stack.app.page(tag, { tamperWasm: true }));
    const outcome = await page.evaluate(() => ZivaConnect.ready.then(() => "loaded", (e) => "refused:" + e.code));
    assert.equal(outcome, "refused:network_error");
  }));

  test("data-wasm-url makes the loader take the .wasm from elsewhere", inContext(async (ctx) => {
    stack.app.mount("/cdn/", path.join(ROOT, "pkg"));
    const page = await pageWith(ctx, `<script src="/pkg/connect.js" data-wasm-url="/cdn/zivacare_connect_bg.wasm"></script>`);
    assert.equal(await page.evaluate(() => ZivaConnect.ready.then(() => "ready")), "ready");
    assert.equal(wasmRequests(page).length, 0, "not the one beside the script");
    assert.ok(stack.app.requests.some((r) => r.path === "/cdn/zivacare_connect_bg.wasm"));
  }));

  test("invalid options given before the module is ready reach finish, and the blank popup closes", inContext(async (ctx) => {
    const page = await pageWith(ctx, `${script}<button id="go">Go</button>`, { wasmDelayMs: 800 });
    await page.evaluate(() => {
      window.results = [];
      document.getElementById("go").addEventListener("click", () => {
        ZivaConnect.open({ clientId: "demo-client", clientUserId: "", finish: (err) => window.results.push(err.code + ":" + err.field) });
      });
    });
    const popup = await page.clickForPopup("#go");
    await popup.waitForClose();
    await page.waitFor(() => window.results.length === 1);
    assert.deepEqual(await page.evaluate(() => window.results), ["invalid_options:clientUserId"]);
  }));

  test("button() renders an accessible button; bad targets and options are clear errors; destroy removes it", inContext(async (ctx) => {
    const page = await pageWith(ctx, `${script}<div id="c"></div>`);
    await page.evaluate(() => ZivaConnect.ready);
    const b = { role: "button", name: "Connect Health Data" };
    await page.evaluate((connectUrl) => {
      window.results = [];
      window.handle = ZivaConnect.button("#c", { clientId: "demo-client", clientUserId: "a@example.com", connectUrl, finish() {} });
    }, connectUrl());
    assert.equal(await page.count(b), 1);
    assert.equal(await page.attribute(b, "type"), "button");
    assert.equal(await page.isDisabled(b), false);
    assert.equal(await page.attribute(b, "aria-busy"), null);
    await page.evaluate(() => { window.handle.destroy(); window.handle.destroy(); });
    assert.equal(await page.count("button"), 0, "gone, and destroy twice is safe");
    await page.evaluate((connectUrl) => {
      ZivaConnect.button(document.getElementById("c"), { clientId: "demo-client", clientUserId: "a@example.com", connectUrl, label: "Conectar", finish() {} });
    }, connectUrl());
    assert.equal(await page.count({ role: "button", name: "Conectar" }), 1);
    const failures = await page.evaluate((connectUrl) => {
      const opts = { clientId: "demo-client", clientUserId: "a@example.com", connectUrl, finish() {} };
      // The page's own Error (Firefox runs WebDriver scripts with a global of their own).
      const attempt = (target, o) => {
        try { ZivaConnect.button(target, o); return "no error"; } catch (e) {
          return [e instanceof window.Error, e.name, e.code, e.field].join(" ");
        }
      };
      return [attempt("#nowhere", opts), attempt("##", opts), attempt(42, opts), attempt("#c", { ...opts, clientId: 42 })];
    }, connectUrl());
    assert.deepEqual(failures, [
      "true ZivaConnectError invalid_options target",
      "true ZivaConnectError invalid_options target",
      "true ZivaConnectError invalid_options target",
      "true ZivaConnectError invalid_options clientId",
    ]);
    assert.equal(await page.count("button"), 1, "no button for a call that threw");
    assert.deepEqual((await page.captured()).errors, []);
  }));

  test("t05: the button is busy while its flow is open: a double click opens one popup; usable again after finish", inContext(async (ctx) => {
    const user = as("busy");
    const page = await pageWith(ctx, `${script}<div id="c"></div>`, { user });
    await page.evaluate(() => ZivaConnect.ready);
    await page.evaluate((connectUrl, user, opts) => {
      window.results = [];
      ZivaConnect.button("#c", eval(`(${opts})`)(connectUrl, user));
    }, connectUrl(), user, buttonOptions.toString());
    const before = await ctx.handles();
    const b = { role: "button", name: "Connect Health Data" };
    await page.dblclick(b);
    await page.wait(500);
    const popups = await ctx.newWindows(before);
    assert.equal(popups.length, 1, "one popup for a double click");
    assert.equal(await page.isDisabled(b), true);
    assert.equal(await page.attribute(b, "aria-busy"), "true");
    await waitForConnectPage(popups[0]);
    await finishIn(popups[0], GARMIN);
    await page.waitFor(() => window.results.length === 1);
    assert.deepEqual(await page.evaluate(() => window.results), ["ok:true"]);
    assert.equal(await page.isDisabled(b), false);
    assert.equal(await page.attribute(b, "aria-busy"), null);
    assert.equal(rows(stack.db, "connections").filter((r) => r.client_user_id === user).length, 1);
  }));

  test("destroying a button mid-flow closes the popup, calls close, and frees the page for the next flow", inContext(async (ctx) => {
    const page = await pageWith(ctx, `${script}<div id="c"></div><button id="again">again</button>`);
    await page.evaluate(() => ZivaConnect.ready);
    await page.evaluate((connectUrl, opts) => {
      window.results = [];
      window.handle = ZivaConnect.button("#c", eval(`(${opts})`)(connectUrl, "gone@example.com"));
      document.getElementById("again").onclick = () => ZivaConnect.open(eval(`(${opts})`)(connectUrl, "gone@example.com"));
    }, connectUrl(), buttonOptions.toString());
    const popup = await page.clickForPopup({ role: "button", name: "Connect Health Data" });
    await waitForConnectPage(popup);
    await page.evaluate(() => window.handle.destroy());
    await popup.waitForClose();
    assert.deepEqual(await page.evaluate(() => window.results), ["close"]);
    assert.equal(await page.count("#c button"), 0);
    // No flow is left open: the next one is not "busy".
    const again = await page.clickForPopup("#again");
    await waitForConnectPage(again);
    assert.deepEqual(await page.evaluate(() => window.results), ["close"], "no busy error");
  }));
});
