// The redirect return, in each engine, across real origins: the app (its
// registered return page `/return`, which is also where each flow starts),
// ZivaCare (the sandbox, behind a recorder) and an attacker site. Each test
// counts the POSTs of tokens, checks that no request line and no Referer any
// server saw holds a token, and that the URL holds no `zc_` key afterwards.

import { before, after } from "node:test";
import assert from "node:assert/strict";
import {
  eachEngine, newContext, startStack, sessionFor, rows, openApp, clickConnect, finishIn, waitForConnectPage,
} from "./harness.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const FITBIT = "Fitbit Charge (wearable)";
const BUTTON = { role: "button", name: "Connect Health Data" };

/**
 * The page at `/return` (a return URL the app registered): a button for
 * `user`, `options` added (returnUrl is `/return` unless they say otherwise),
 * `inject` run before the SDK loads, and what finish and close receive in
 * `window.results`. With `call: "open"`, no button: open() is called once
 * without a click, and handleRedirect() reports the return.
 */
function returnPage(user, { options = {}, inject = "", image = false, call = "button" } = {}) {
  const opts = {
    clientId: "demo-client", clientUserId: user, connectUrl: `${stack.sandboxUrl}/connect`,
    serverUrl: "/api/zivacare/token", returnUrl: `${stack.appUrl}/return`, ...options,
  };
  const script = call === "button"
    ? `ZivaConnect.button("#c", options);`
    : `if (!sessionStorage.started) {
         sessionStorage.started = "1";
         ZivaConnect.ready.then(function () {
           try { ZivaConnect.open(options); } catch (e) { results.push("error:" + e.code); }
         });
       } else ZivaConnect.handleRedirect(options);`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>return</title>
    ${inject ? `<script>${inject}</script>` : ""}<script src="/pkg/connect.js"></script></head><body>
    <div id="c"></div>${image ? `<img alt="" src="${stack.attackerUrl}/pixel.svg">` : ""}
    <script>
      window.results = [];
      var options = ${JSON.stringify(opts)};
      options.finish = function (err, res) {
        results.push(err ? "error:" + err.code + (err.connectCode ? ":" + err.connectCode : "") : "ok:" + res.serverResponse.connected);
      };
      options.close = function () { results.push("close"); };
      ${script}
    </script></body></html>`;
}

/** Serves `html` at `/return`, and opens it in `ctx` signed in as `user`. */
async function start(ctx, user, html, proxy = stack.app) {
  proxy.returnPage = { html, headers: {} };
  const page = await ctx.newPage();
  await sessionFor(page, proxy.url, user);
  await page.goto(`${proxy.url}/return`);
  return page;
}

/** Waits for the tab itself to show the Connect page. */
async function atConnect(page) {
  await page.waitFor(() => location.pathname === "/connect" && document.readyState !== "loading", [], { timeout: 15_000 });
}

/** Back on the return page, with `n` results. */
async function results(page, n = 1) {
  await page.waitFor((n) => location.pathname === "/return" && window.results && window.results.length >= n, [n], { timeout: 15_000 });
  await page.wait(300);
  return page.evaluate(() => window.results);
}

/** Loads `url` as a new document (a URL that differs from the page's by its fragment only would not be). */
async function load(page, url) {
  await page.goto("about:blank");
  await page.goto(url);
}

/** A specialToken minted at the sandbox, as "Finish Connecting Data" would for `user`. */
async function mint(user) {
  const r = await fetch(`${stack.sandboxUrl}/connect/finish`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify({ clientId: "demo-client", clientUserId: user, origin: stack.appUrl, sources: ["fitbit"] }),
  });
  return (await r.json()).specialToken;
}

/** What every test checks last: the POSTs since `since`, no token where servers log, no zc_ in the URL. */
async function clean(page, since, posts, tokens = []) {
  const sent = stack.app.tokenPosts(since);
  assert.equal(sent.length, posts, "POSTs of the token");
  const seen = stack.seen();
  for (const t of [...tokens, ...sent.map((p) => JSON.parse(p.body).specialToken)]) {
    assert.ok(!seen.includes(t), "no request line or Referer holds the token");
  }
  assert.ok(!(await page.url()).includes("zc_"), await page.url());
}

eachEngine(({ engine, test, inContext }) => {
  const as = (who) => `${who}.${engine}@example.com`;
  const connected = (user) => rows(stack.db, "connections").filter((r) => r.client_user_id === user).length;

  test("redirect: app, sandbox, return URL: one POST, finish once; then reload, Back and Forward forward nothing", inContext(async (ctx) => {
    const user = as("rita.redirect");
    const page = await start(ctx, user, returnPage(user, { options: { uxMode: "redirect" } }));
    const since = stack.app.requests.length;
    const handles = await ctx.handles();
    await page.click(BUTTON);
    await atConnect(page);
    assert.deepEqual(await ctx.handles(), handles, "no window: this tab went");
    const connectUrl = new URL(await page.url());
    assert.equal(connectUrl.searchParams.get("returnUrl"), `${stack.appUrl}/return`);
    assert.equal(connectUrl.searchParams.get("uxMode"), "redirect");
    await page.check(FITBIT);
    await page.click({ role: "button", name: "Finish Connecting Data" });
    assert.deepEqual(await results(page), ["ok:true"]);
    assert.equal(connected(user), 1);
    await clean(page, since, 1);
    // The pending record went with it: a reload, Back and Forward find nothing to forward.
    await page.reload();
    assert.deepEqual(await page.evaluate(() => ZivaConnect.handleRedirect(options)), null);
    await page.driver.navigate().back();
    await page.wait(500);
    await page.driver.navigate().forward();
    await page.waitFor(() => location.pathname === "/return");
    assert.deepEqual(await page.evaluate(() => ZivaConnect.handleRedirect(options)), null);
    await clean(page, since, 1);
    assert.deepEqual(await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith("zivacare"))), []);
  }));

  test("t17: a tampered state, another browser, a late return and a second delivery forward nothing", inContext(async (ctx) => {
    const user = as("tom.forged");
    const page = await start(ctx, user, returnPage(user, { options: { uxMode: "redirect" } }));
    const since = stack.app.requests.length;
    await page.click(BUTTON);
    await atConnect(page);
    const state = new URL(await page.url()).searchParams.get("state");
    const token = await mint(user);
    const back = (s) => `${stack.appUrl}/return#zc_v=1&zc_state=${s}&zc_result=finish&zc_token=${token}`;
    // A guessed state: not this tab's flow.
    await load(page, back(state + "x"));
    assert.deepEqual(await results(page), ["error:state_mismatch"]);
    // The right one, in a fresh browser: it has no flow pending.
    const other = await newContext(engine);
    try {
      const elsewhere = await other.newPage();
      await sessionFor(elsewhere, stack.appUrl, user);
      await elsewhere.goto(back(state));
      assert.deepEqual(await results(elsewhere), ["error:redirect_state_lost"]);
      await clean(elsewhere, since, 0, [token]);
    } finally {
      await other.close();
    }
    // In the tab it began in, once; delivered again, nothing.
    await load(page, back(state));
    assert.deepEqual(await results(page), ["ok:true"]);
    await load(page, back(state));
    assert.deepEqual(await results(page), ["error:redirect_state_lost"]);
    await clean(page, since, 1, [token]);
    // Past timeoutMs: timeout, and nothing sent.
    stack.app.returnPage = { html: returnPage(user, { options: { uxMode: "redirect", timeoutMs: 1500 } }), headers: {} };
    await load(page, `${stack.appUrl}/return`);
    await page.click(BUTTON);
    await atConnect(page);
    const late = new URL(await page.url()).searchParams.get("state");
    const lateToken = await mint(user);
    await page.wait(2000);
    await load(page, `${stack.appUrl}/return#zc_v=1&zc_state=${late}&zc_result=finish&zc_token=${lateToken}`);
    assert.deepEqual(await results(page), ["error:timeout"]);
    // And a malformed return: invalid_return.
    await load(page, `${stack.appUrl}/return#zc_v=1&zc_state=${late}&zc_result=finish&zc_token=bad%0Atoken`);
    assert.deepEqual(await results(page), ["error:invalid_return"]);
    await clean(page, since, 1, [token, lateToken]);
  }));

  test("a cancel and a Connect error come back as close() and connect_error with its code", inContext(async (ctx) => {
    const user = as("cal.cancel");
    const page = await start(ctx, user, returnPage(user, { options: { uxMode: "redirect" } }));
    const since = stack.app.requests.length;
    await page.click(BUTTON);
    await atConnect(page);
    await page.click({ role: "button", name: "Cancel" });
    assert.deepEqual(await results(page), ["close"]);
    await page.click(BUTTON);
    await atConnect(page);
    await page.click({ role: "button", name: "Simulate a ZivaCare error" });
    assert.deepEqual(await results(page), ["error:connect_error:0011"]);
    await clean(page, since, 0);
  }));

  test("t19: a return URL the app did not register leaves the sandbox where it is; a foreign or fragment one is refused first", inContext(async (ctx) => {
    const user = as("una.unregistered");
    for (const [proxy, returnUrl] of [
      [stack.app, `${stack.appUrl}/return/`],
      [stack.app, `${stack.appUrl}/Return`],
      [stack.app, `${stack.appUrl}/elsewhere`],
      [stack.bad, `${stack.badUrl}/return`],
    ]) {
      const page = await start(ctx, user, returnPage(user, { options: { uxMode: "redirect", returnUrl } }), proxy);
      const seen = proxy.requests.length;
      await page.click(BUTTON);
      await atConnect(page);
      await page.waitForText("not registered for this application");
      await page.wait(500);
      assert.ok((await page.url()).startsWith(`${stack.sandboxUrl}/connect`), "stays put");
      // (WebKit fetches the page it left's favicon late: not a return.)
      const heard = proxy.requests.slice(seen).map((r) => r.path).filter((p) => p !== "/favicon.ico");
      assert.deepEqual(heard, [], `${returnUrl}: the app heard nothing`);
      assert.equal(await page.count({ css: "a" }), 0, "a page that links nowhere");
    }
    // Another origin, or a fragment: refused before anything opens or navigates.
    for (const returnUrl of [`${stack.attackerUrl}/return`, `${stack.appUrl}/return#x`]) {
      const page = await start(ctx, user, returnPage(user, { options: { uxMode: "redirect", returnUrl }, call: "open" }));
      await page.waitFor(() => window.results.length === 1);
      assert.deepEqual(await page.evaluate(() => window.results), ["error:invalid_options"]);
      assert.equal(new URL(await page.url()).pathname, "/return");
    }
  }));

  for (const [what, inject] of [
    ["returns null", "window.open = function () { return null; };"],
    ["returns undefined", "window.open = function () { return undefined; };"],
    ["is missing", "window.open = undefined;"],
    ["throws", "window.open = function () { throw new Error('no windows here'); };"],
  ]) {
    test(`auto: where window.open ${what}, the tab goes instead and the flow completes`, inContext(async (ctx) => {
      const user = as(`alex.${what.replace(/ /g, "-")}`);
      const page = await start(ctx, user, returnPage(user, { options: { uxMode: "auto" }, inject }));
      await page.evaluate(() => ZivaConnect.ready);
      const since = stack.app.requests.length;
      await page.click(BUTTON);
      await atConnect(page);
      await finishHere(page);
      assert.deepEqual(await results(page), ["ok:true"]);
      await clean(page, since, 1);
    }));
  }

  test("auto: the engine's own popup blocker (no click) sends the tab instead, and the flow completes", inContext(async (ctx) => {
    const user = as("bo.blocked");
    const page = await start(ctx, user, returnPage(user, { options: { uxMode: "auto" }, call: "open" }));
    const since = stack.app.requests.length;
    await atConnect(page);
    await finishHere(page);
    assert.deepEqual(await results(page), ["ok:true"]);
    await clean(page, since, 1);
  }));

  for (const [what, inject] of [
    ["an in-app browser's user agent", "Object.defineProperty(navigator, 'userAgent', { get: function () { return 'Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 Mobile/15E148 Instagram 310.0.0.40.109'; } });"],
    ["a home-screen app", "Object.defineProperty(navigator, 'standalone', { get: function () { return true; } });"],
  ]) {
    test(`auto: in ${what}, no window is even tried: the tab goes and the flow completes`, inContext(async (ctx) => {
      const user = as(`ina.${what.split(" ")[1]}`);
      const count = "var real = window.open; window.open = function () { sessionStorage.opens = String(Number(sessionStorage.opens || 0) + 1); return real.apply(window, arguments); };";
      const page = await start(ctx, user, returnPage(user, { options: { uxMode: "auto" }, inject: inject + count }));
      await page.evaluate(() => ZivaConnect.ready);
      const since = stack.app.requests.length;
      const handles = await ctx.handles();
      await page.click(BUTTON);
      await atConnect(page);
      assert.deepEqual(await ctx.handles(), handles);
      await finishHere(page);
      assert.deepEqual(await results(page), ["ok:true"]);
      assert.equal(await page.evaluate(() => sessionStorage.opens || "0"), "0", "window.open was never called");
      await clean(page, since, 1);
    }));
  }

  test("popup with a return URL, where window.open navigates this same tab: the Connect page returns by redirect, one POST", inContext(async (ctx) => {
    const user = as("sam.same-tab");
    const inject = "window.open = function (url) { location.href = url; return null; };";
    const page = await start(ctx, user, returnPage(user, { inject }));
    await page.evaluate(() => ZivaConnect.ready);
    const since = stack.app.requests.length;
    await page.click(BUTTON);
    await atConnect(page);
    assert.equal(new URL(await page.url()).searchParams.get("uxMode"), "popup");
    await finishHere(page);
    assert.deepEqual(await results(page), ["ok:true"]);
    await clean(page, since, 1);
  }));

  test("t18: the return page's own requests (an image from the attacker's site) carry no token", inContext(async (ctx) => {
    const user = as("ivy.image");
    const page = await start(ctx, user, returnPage(user, { options: { uxMode: "redirect" }, image: true }));
    const since = stack.app.requests.length;
    const seen = stack.attackerRequests.length;
    await page.click(BUTTON);
    await atConnect(page);
    await finishHere(page);
    assert.deepEqual(await results(page), ["ok:true"]);
    const pixels = stack.attackerRequests.slice(seen).filter((r) => r.url.startsWith("/pixel.svg"));
    assert.ok(pixels.length >= 1, "the return page loaded the image: " + JSON.stringify(stack.attackerRequests.slice(seen)));
    const token = JSON.parse(stack.app.tokenPosts(since)[0].body).specialToken;
    for (const p of pixels) assert.ok(!p.referer.includes(token) && !p.referer.includes("zc_"), p.referer);
    // Nor did the page's history: Back leads to a URL without it.
    assert.ok(!(await page.evaluate(() => location.href + JSON.stringify(history.state))).includes(token));
    await clean(page, since, 1);
  }));

  test("COOP same-origin with a return URL: the cut-off popup's return page hands the flow to the tab, which forwards once", inContext(async (ctx) => {
    const user = as("cora.coop");
    const page = await ctx.newPage();
    // The demo app (returnUrl, uxMode auto) served with the header that cuts popups off.
    await page.goto(stack.app.demo({ "cross-origin-opener-policy": "same-origin" }));
    await sessionFor(page, stack.appUrl, user);
    await page.reload();
    await page.waitForElement(BUTTON);
    const since = stack.app.requests.length;
    const popup = await clickConnect(page);
    await finishIn(popup, [FITBIT]);
    await page.waitForText(/^Connected to ZivaCare as cora\.coop/, { timeout: 15_000 });
    assert.equal(connected(user), 1);
    await page.wait(500);
    await clean(page, since, 1);
  }));
});

/** Picks a source and finishes in this very tab (it went to the Connect page). */
async function finishHere(page) {
  await page.check(FITBIT);
  await page.click({ role: "button", name: "Finish Connecting Data" });
}
