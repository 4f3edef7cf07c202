// The whole Connect flow across real origins in headless Chromium: the app
// (reference backend), ZivaCare (the sandbox) and an attacker site.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ROOT, startStack, openApp, signIn, appGet, clickConnect, stateOf, rows, clickClosing } from "./harness.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

async function finishIn(popup, sources = ["Fitbit Charge (wearable)", "Withings Body+ (scale)"]) {
  for (const s of sources) await popup.getByLabel(s).check();
  await clickClosing(popup, "Finish Connecting Data");
}

const connectedRows = (user) => rows(stack.db, "connections").filter((r) => r.client_user_id === user);

test("the full flow stores exactly one row and shows Connected with readings", async () => {
  const ctx = await stack.browser.newContext();
  const user = "ann.full@example.com";
  const { page, events } = await openApp(ctx, stack.appUrl, user);
  await page.getByText("Not connected yet.").waitFor();
  const popup = await clickConnect(page);
  const url = new URL(popup.url());
  assert.equal(url.origin, stack.sandboxUrl);
  assert.equal(url.searchParams.get("clientId"), "demo-client");
  assert.equal(url.searchParams.get("clientUserId"), user);
  assert.equal(url.searchParams.get("origin"), stack.appUrl);
  assert.match(url.searchParams.get("state"), /^[A-Za-z0-9_-]{22}$/);
  await finishIn(popup);
  await page.getByText(/^Connected to ZivaCare as ann\.full/).waitFor();
  await page.getByRole("heading", { name: "Steps" }).waitFor();
  // Fitbit gives steps and heart rate, the scale gives weights: three charts, three tables.
  assert.equal(await page.locator("#readings-list table").count(), 3);
  const sources = await page.locator("#readings-list td:nth-child(3)").allTextContents();
  assert.deepEqual([...new Set(sources)].sort(), ["fitbit", "withings"]);
  // Each chart shows the stored data: a point per reading of its table, and
  // an accessible name and summary.
  const charts = await page.locator("#readings-list .reading").evaluateAll((sections) => sections.map((s) => ({
    title: s.querySelector("h3").textContent,
    points: s.querySelectorAll("svg circle").length,
    rows: s.querySelectorAll("tbody tr").length,
    values: [...s.querySelectorAll("tbody td:nth-child(2)")].map((td) => td.textContent.split(" ")[0]),
    name: s.querySelector("svg title").textContent,
    summary: s.querySelector("svg desc").textContent,
  })));
  assert.deepEqual(charts.map((c) => c.title), ["Steps", "Heart rate", "Weight"]);
  for (const c of charts) {
    assert.equal(c.points, 7, c.title);
    assert.equal(c.points, c.rows, c.title);
    assert.equal(c.name, `${c.title} chart`);
    assert.match(c.summary, /^7 readings from \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}: lowest .*, highest .*, latest .*\.$/);
    assert.ok(c.summary.includes(`latest ${c.values[0]}`), `${c.summary} vs ${c.values[0]}`);
  }
  const chartName = await page.getByRole("img", { name: "Heart rate chart" }).count();
  assert.equal(chartName, 1);
  assert.equal(events.tokenPosts.length, 1);
  const post = events.tokenPosts[0];
  assert.equal(post.headers["content-type"], "application/json");
  assert.equal(post.headers["x-zivacare-connect"], "1");
  const body = JSON.parse(post.body);
  assert.deepEqual(Object.keys(body), ["specialToken", "clientId", "clientUserId", "state"]);
  assert.equal(body.clientUserId, user);
  assert.equal(body.state, url.searchParams.get("state"));
  const stored = connectedRows(user);
  assert.equal(stored.length, 1);
  assert.match(stored[0].ziva_user_code, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(stored[0].email, user);
  // The token is nowhere a script can read it, nor in the console.
  const visible = await page.evaluate(() => JSON.stringify([document.documentElement.outerHTML, { ...localStorage }, { ...sessionStorage }, document.cookie, location.href]));
  assert.ok(!visible.includes(body.specialToken));
  assert.ok(!events.console.join("\n").includes(body.specialToken));
  // A reload still shows the stored connection (the session is kept).
  await page.reload();
  await page.getByText(/^Connected to ZivaCare as/).waitFor();
  await ctx.close();
});

test("two people in two browser profiles each see their own connection and readings only", async () => {
  const [annCtx, bobCtx] = [await stack.browser.newContext(), await stack.browser.newContext()];
  const ann = "ann.own@example.com";
  const { page: annPage } = await openApp(annCtx, stack.appUrl, ann);
  const popup = await clickConnect(annPage);
  await finishIn(popup, ["Fitbit Charge (wearable)"]);
  await annPage.getByText(/^Connected to ZivaCare as ann\.own/).waitFor();
  await annPage.getByRole("heading", { name: "Steps" }).waitFor();
  const annSteps = await appGet(annPage, "/api/zivacare/data/steps");
  assert.equal(annSteps.status, 200);
  // Bob, in another profile: not connected, and none of Ann's data, whatever he asks for.
  const { page: bobPage } = await openApp(bobCtx, stack.appUrl, "bob.own@example.com");
  await bobPage.getByText("Not connected yet.").waitFor();
  assert.equal(await bobPage.locator("#readings").isHidden(), true);
  for (const path of ["/api/zivacare/status", `/api/zivacare/status?clientUserId=${encodeURIComponent(ann)}`]) {
    const r = await appGet(bobPage, path);
    assert.deepEqual(r.body, { user: "bob.own@example.com", connected: false }, path);
  }
  const bobSteps = await appGet(bobPage, `/api/zivacare/data/steps?clientUserId=${encodeURIComponent(ann)}`);
  assert.equal(bobSteps.status, 404);
  assert.ok(!JSON.stringify(bobSteps.body).includes(annSteps.body.steps[0].code));
  // Signed out, Ann's page sees nothing either.
  await annPage.getByRole("button", { name: "Sign out" }).click();
  await annPage.getByRole("button", { name: "Sign in" }).waitFor();
  assert.equal((await appGet(annPage, "/api/zivacare/status")).status, 401);
  assert.equal(await annPage.getByRole("button", { name: "Connect Health Data" }).count(), 0);
  await annCtx.close();
  await bobCtx.close();
});

test("t01: a forged finish from an attacker origin causes no POST and leaves the flow open", async () => {
  const ctx = await stack.browser.newContext();
  const attacker = await ctx.newPage();
  await attacker.goto(stack.attackerUrl);
  const [app] = await Promise.all([attacker.waitForEvent("popup"), attacker.click("#go")]);
  const posts = [];
  app.on("request", (r) => r.url().endsWith("/api/zivacare/token") && posts.push(r));
  const user = "bob.forged@example.com";
  await signIn(app, user);
  const popup = await clickConnect(app);
  // Even knowing the state, a message from another origin is ignored.
  await attacker.evaluate((state) => window.forge({ type: "zivacare-connect:finish", state, specialToken: "tok_SENTINEL_forged" }), stateOf(popup));
  await app.waitForTimeout(600);
  assert.equal(posts.length, 0);
  assert.equal(popup.isClosed(), false, "the flow stays open");
  assert.equal(await app.getByRole("button", { name: "Connect Health Data" }).getAttribute("aria-busy"), "true");
  // The real finish still completes.
  await finishIn(popup, ["Oura Ring (wearable)"]);
  await app.getByText(/^Connected to ZivaCare as bob\.forged/).waitFor();
  assert.equal(posts.length, 1);
  assert.ok(!rows(stack.db, "exchanges").some((r) => JSON.stringify(r).includes("SENTINEL")));
  assert.equal(connectedRows(user).length, 1);
  await ctx.close();
});

test("t03: a finish with the wrong state, from the real popup, causes no POST", async () => {
  const ctx = await stack.browser.newContext();
  const user = "carol.state@example.com";
  const { page, events } = await openApp(ctx, stack.appUrl, user);
  const popup = await clickConnect(page);
  await popup.evaluate((origin) => {
    window.opener.postMessage({ type: "zivacare-connect:finish", state: "previous-attempt", specialToken: "tok_SENTINEL_state" }, origin);
    window.opener.postMessage({ type: "zivacare-connect:finish", specialToken: "tok_SENTINEL_nostate" }, origin);
  }, stack.appUrl);
  await page.waitForTimeout(600);
  assert.equal(events.tokenPosts.length, 0);
  assert.equal(popup.isClosed(), false);
  assert.equal(connectedRows(user).length, 0);
  await popup.close();
  await ctx.close();
});

test("closing the popup calls close and frees the button", async () => {
  const ctx = await stack.browser.newContext();
  const { page, events } = await openApp(ctx, stack.appUrl, "dan.close@example.com");
  const popup = await clickConnect(page);
  await popup.getByRole("button", { name: "Cancel" }).waitFor();
  // As a person would: not within the first 1.5 s, when a popup that reads
  // closed means Cross-Origin-Opener-Policy cut it off (reported as opener_severed).
  await page.waitForTimeout(1600);
  await popup.close();
  await page.getByText("Connection cancelled.").waitFor();
  const button = page.getByRole("button", { name: "Connect Health Data" });
  assert.equal(await button.isEnabled(), true);
  assert.equal(await button.getAttribute("aria-busy"), null);
  assert.equal(events.tokenPosts.length, 0);
  // Cancel inside the popup ends the same way.
  const again = await clickConnect(page);
  await clickClosing(again, "Cancel");
  await page.getByText("Connection cancelled.").waitFor();
  await ctx.close();
});

test("t15: ZivaCare refusing the backend's secret gives server_error and stores nothing", async () => {
  const ctx = await stack.browser.newContext();
  const user = "erin.secret@example.com";
  const { page, events } = await openApp(ctx, stack.badUrl, user);
  const popup = await clickConnect(page);
  await finishIn(popup);
  await page.getByText(/\(server_error\)$/).waitFor({ timeout: 15000 });
  assert.equal(events.tokenPosts.length, 4, "a 502 is retried three times");
  assert.equal(rows(stack.badDb, "connections").length, 0);
  assert.equal(rows(stack.badDb, "exchanges").length, 0);
  const text = await page.locator("#status").textContent();
  assert.ok(!/SENTINEL|sqlite|reqwest/i.test(text), text);
  await ctx.close();
});

test("a backend failing once with a 5xx is retried and stores one row", async () => {
  const ctx = await stack.browser.newContext();
  const user = "fay.retry@example.com";
  const { page, events } = await openApp(ctx, stack.appUrl, user);
  let failed = 0;
  await page.route("**/api/zivacare/token", (route) => {
    if (failed++ === 0) return route.fulfill({ status: 503, body: "busy" });
    return route.continue();
  });
  const popup = await clickConnect(page);
  await finishIn(popup);
  await page.getByText(/^Connected to ZivaCare as fay\.retry/).waitFor();
  assert.equal(events.tokenPosts.length, 2);
  assert.equal(events.tokenPosts[0].body, events.tokenPosts[1].body, "the retry sends the same token");
  assert.equal(connectedRows(user).length, 1);
  await ctx.close();
});

test("a Connect error reaches the page as connect_error", async () => {
  const ctx = await stack.browser.newContext();
  const { page, events } = await openApp(ctx, stack.appUrl, "gus.error@example.com");
  const popup = await clickConnect(page);
  await clickClosing(popup, "Simulate a ZivaCare error");
  await page.getByText(/\(connect_error\)$/).waitFor();
  assert.equal(events.tokenPosts.length, 0);
  await ctx.close();
});

test("t16: the Connect page opened from an unregistered origin posts nothing", async () => {
  const ctx = await stack.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(stack.attackerUrl);
  const received = [];
  await page.exposeFunction("record", (m) => received.push(m));
  await page.evaluate(() => window.addEventListener("message", (e) => window.record(JSON.stringify(e.data))));
  const url = `${stack.sandboxUrl}/connect?clientId=demo-client&clientUserId=x%40example.com&origin=${encodeURIComponent(stack.attackerUrl)}&state=abcdef`;
  const [popup] = await Promise.all([page.waitForEvent("popup"), page.evaluate((u) => { document.getElementById("go").onclick = null; window.open(u); }, url)]);
  await popup.waitForLoadState();
  await popup.getByText("not registered for this application").waitFor();
  assert.equal(await popup.getByRole("button", { name: "Finish Connecting Data" }).count(), 0);
  await page.waitForTimeout(300);
  assert.deepEqual(received, []);
  await ctx.close();
});

test("t13: the clientSecret and tokens are in no server log and no built file", async () => {
  const logs = stack.logs.join("");
  assert.ok(logs.length > 0);
  for (const secret of [stack.secret, "sec_SENTINEL", "tok_SENTINEL"]) {
    assert.ok(!logs.includes(secret), `${secret} in the logs`);
  }
  const sealed = rows(stack.db, "connections").map((r) => r.access_token_sealed);
  assert.ok(sealed.length > 0 && sealed.every((s) => !logs.includes(s)));
  for (const file of ["pkg/connect.js", "pkg/index.js", "pkg/zivacare_connect.js", "pkg/zivacare_connect_bg.wasm"]) {
    const text = readFileSync(path.join(ROOT, file)).toString("latin1");
    for (const secret of [stack.secret, "sandbox-demo-secret", "SENTINEL"]) {
      assert.ok(!text.includes(secret), `${secret} in ${file}`);
    }
  }
});
