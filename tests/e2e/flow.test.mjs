// The whole Connect flow across real origins, in each engine: the app (the
// reference backend behind the harness's proxy), ZivaCare (the sandbox) and an
// attacker site.

import { before, after, test as once } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  ROOT, eachEngine, newContext, startStack, openApp, signIn, appGet, clickConnect, finishIn,
  stateOf, rows, waitForConnectPage,
} from "./harness.mjs";

let stack;
before(async () => { stack = await startStack(); });
after(async () => { await stack?.stop(); });

const FITBIT = "Fitbit Charge (wearable)";
const SCALE = "Withings Body+ (scale)";
const connectedRows = (user) => rows(stack.db, "connections").filter((r) => r.client_user_id === user);

eachEngine(({ engine, test, inContext }) => {
  const as = (who) => `${who}.${engine}@example.com`;

  test("the full flow stores exactly one row and shows Connected with readings as charts", inContext(async (ctx) => {
    const user = as("ann.full");
    const since = stack.app.requests.length;
    const page = await openApp(ctx, stack.appUrl, user);
    await page.waitForText("Not connected yet.");
    const popup = await clickConnect(page);
    const url = new URL(await popup.url());
    assert.equal(url.origin, stack.sandboxUrl);
    assert.equal(url.searchParams.get("clientId"), "demo-client");
    assert.equal(url.searchParams.get("clientUserId"), user);
    assert.equal(url.searchParams.get("origin"), stack.appUrl);
    assert.match(url.searchParams.get("state"), /^[A-Za-z0-9_-]{22}$/);
    await finishIn(popup, [FITBIT, SCALE]);
    await page.waitForText(/^Connected to ZivaCare as ann\.full/);
    await page.waitForElement({ role: "heading", name: "Weight" });
    // Fitbit gives steps and heart rate, the scale gives weights: three charts, three tables.
    assert.equal(await page.count("#readings-list table"), 3);
    const sources = await page.texts("#readings-list td:nth-child(3)");
    assert.deepEqual([...new Set(sources)].sort(), ["fitbit", "withings"]);
    // Each chart shows the stored data: a point per reading of its table, and
    // an accessible name and summary.
    const charts = await page.evaluate(() => [...document.querySelectorAll("#readings-list .reading")].map((s) => ({
      title: s.querySelector("h3").textContent,
      points: s.querySelectorAll("svg circle").length,
      rows: s.querySelectorAll("tbody tr").length,
      values: [...s.querySelectorAll("tbody td:nth-child(2)")].map((td) => td.textContent.split(" ")[0]),
      name: s.querySelector("svg title").textContent,
      summary: s.querySelector("svg desc").textContent,
      legend: [...s.querySelectorAll(".legend li")].map((li) => li.textContent),
    })));
    assert.deepEqual(charts.map((c) => c.title), ["Steps", "Heart rate", "Weight"]);
    // Each line is named by its source in the chart's legend.
    assert.deepEqual(charts.map((c) => c.legend), [["fitbit"], ["fitbit"], ["withings"]]);
    for (const c of charts) {
      assert.equal(c.points, 7, c.title);
      assert.equal(c.points, c.rows, c.title);
      assert.equal(c.name, `${c.title} chart`);
      assert.match(c.summary, /^7 readings from \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}: lowest .*, highest .*, latest .*\.$/);
      assert.ok(c.summary.includes(`latest ${c.values[0]}`), `${c.summary} vs ${c.values[0]}`);
    }
    assert.equal(await page.count({ role: "img", name: /^Heart rate chart 7 readings from / }), 1,
      "the chart is named and described by its title and summary");
    const posts = stack.app.tokenPosts(since);
    assert.equal(posts.length, 1);
    const post = posts[0];
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
    assert.ok(!(await page.captured()).console.join("\n").includes(body.specialToken));
    // A reload still shows the stored connection (the session is kept).
    await page.reload();
    await page.waitForText(/^Connected to ZivaCare as/);
  }));

  test("blood pressure and sleep are charts too, each line named in a legend", inContext(async (ctx) => {
    const user = as("bea.types");
    const page = await openApp(ctx, stack.appUrl, user);
    await finishIn(await clickConnect(page), ["Omron Evolv (blood pressure monitor)", "Oura Ring (wearable)"]);
    await page.waitForElement({ role: "heading", name: "Sleep" });
    const charts = await page.evaluate(() => [...document.querySelectorAll("#readings-list .reading")].map((s) => ({
      title: s.querySelector("h3").textContent,
      lines: s.querySelectorAll("svg polyline").length,
      points: s.querySelectorAll("svg circle").length,
      rows: [...s.querySelectorAll("tbody tr")].map((tr) => tr.children[1].textContent),
      legend: [...s.querySelectorAll(".legend li")].map((li) => li.textContent),
      summary: s.querySelector("svg desc").textContent,
    })));
    // Oura gives heart rate and sleep, Omron blood pressure; the page shows the types it has readings of.
    assert.deepEqual(charts.map((c) => c.title), ["Heart rate", "Blood pressure", "Sleep"]);
    const [heart, pressure, sleep] = charts;
    assert.deepEqual(heart.legend, ["oura"]);
    assert.deepEqual(pressure.legend, ["omron, systolic", "omron, diastolic"]);
    assert.equal(pressure.lines, 2);
    assert.equal(pressure.points, 14, "7 readings, two measures each");
    assert.match(pressure.rows[0], /^\d{3}\/\d{2} mmHg$/);
    assert.ok(pressure.summary.includes(`latest ${pressure.rows[0]}`), pressure.summary);
    assert.deepEqual(sleep.legend, ["oura, asleep"]);
    assert.match(sleep.rows[0], /^\d(\.\d)? hours asleep$/);
    // What the page charts is what ZivaCare holds for this user.
    const stored = await appGet(page, "/api/zivacare/data/blood_pressures");
    assert.equal(stored.status, 200);
    const newest = stored.body.bloodPressures[0];
    assert.equal(pressure.rows[0], `${newest.systolic}/${newest.diastolic} mmHg`);
  }));

  test("two people in two browser profiles each see their own connection and readings only", async () => {
    const [annCtx, bobCtx] = [await newContext(engine), await newContext(engine)];
    try {
      const ann = as("ann.own");
      const annPage = await openApp(annCtx, stack.appUrl, ann);
      await finishIn(await clickConnect(annPage), [FITBIT]);
      await annPage.waitForText(/^Connected to ZivaCare as ann\.own/);
      await annPage.waitForElement({ role: "heading", name: "Steps" });
      const annSteps = await appGet(annPage, "/api/zivacare/data/steps");
      assert.equal(annSteps.status, 200);
      // Bob, in another profile: not connected, and none of Ann's data, whatever he asks for.
      const bob = as("bob.own");
      const bobPage = await openApp(bobCtx, stack.appUrl, bob);
      await bobPage.waitForText("Not connected yet.");
      assert.equal(await bobPage.count({ role: "heading", name: "Your latest readings" }), 0);
      for (const p of ["/api/zivacare/status", `/api/zivacare/status?clientUserId=${encodeURIComponent(ann)}`]) {
        const r = await appGet(bobPage, p);
        assert.deepEqual(r.body, { user: bob, connected: false }, p);
      }
      const bobSteps = await appGet(bobPage, `/api/zivacare/data/steps?clientUserId=${encodeURIComponent(ann)}`);
      assert.equal(bobSteps.status, 404);
      assert.ok(!JSON.stringify(bobSteps.body).includes(annSteps.body.steps[0].code));
      // Signed out, Ann's page sees nothing either.
      await annPage.click({ role: "button", name: "Sign out" });
      await annPage.waitForElement({ role: "button", name: "Sign in" });
      assert.equal((await appGet(annPage, "/api/zivacare/status")).status, 401);
      assert.equal(await annPage.count({ role: "button", name: "Connect Health Data" }), 0);
    } finally {
      await annCtx.close();
      await bobCtx.close();
    }
  });

  test("t01: a forged finish from an attacker origin causes no POST and leaves the flow open", inContext(async (ctx) => {
    const attacker = await ctx.newPage();
    await attacker.goto(stack.attackerUrl);
    const app = await attacker.clickForPopup("#go");
    const user = as("bob.forged");
    await signIn(app, user);
    const since = stack.app.requests.length;
    const popup = await clickConnect(app);
    // Even knowing the state, a message from another origin is ignored.
    const state = await stateOf(popup);
    await attacker.evaluate((s) => window.forge({ type: "zivacare-connect:finish", state: s, specialToken: "tok_SENTINEL_forged" }), state);
    await app.wait(600);
    assert.equal(stack.app.tokenPosts(since).length, 0);
    assert.equal(await popup.isClosed(), false, "the flow stays open");
    assert.equal(await app.attribute({ role: "button", name: "Connect Health Data" }, "aria-busy"), "true");
    // The real finish still completes.
    await finishIn(popup, ["Oura Ring (wearable)"]);
    await app.waitForText(/^Connected to ZivaCare as bob\.forged/);
    assert.equal(stack.app.tokenPosts(since).length, 1);
    assert.ok(!rows(stack.db, "exchanges").some((r) => JSON.stringify(r).includes("SENTINEL")));
    assert.equal(connectedRows(user).length, 1);
  }));

  test("t03: a finish with the wrong state, from the real popup, causes no POST", inContext(async (ctx) => {
    const user = as("carol.state");
    const page = await openApp(ctx, stack.appUrl, user);
    const since = stack.app.requests.length;
    const popup = await clickConnect(page);
    await popup.evaluate((origin) => {
      window.opener.postMessage({ type: "zivacare-connect:finish", state: "previous-attempt", specialToken: "tok_SENTINEL_state" }, origin);
      window.opener.postMessage({ type: "zivacare-connect:finish", specialToken: "tok_SENTINEL_nostate" }, origin);
    }, stack.appUrl);
    await page.wait(600);
    assert.equal(stack.app.tokenPosts(since).length, 0);
    assert.equal(await popup.isClosed(), false);
    assert.equal(connectedRows(user).length, 0);
    await popup.close();
  }));

  test("closing the popup calls close and frees the button", inContext(async (ctx) => {
    const page = await openApp(ctx, stack.appUrl, as("dan.close"));
    const since = stack.app.requests.length;
    const popup = await clickConnect(page);
    // As a person would: not within the first 1.5 s, when a popup that reads
    // closed means Cross-Origin-Opener-Policy cut it off (reported as opener_severed).
    await page.wait(1600);
    await popup.close();
    await page.waitForText("Connection cancelled.");
    const button = { role: "button", name: "Connect Health Data" };
    assert.equal(await page.isDisabled(button), false);
    assert.equal(await page.attribute(button, "aria-busy"), null);
    assert.equal(stack.app.tokenPosts(since).length, 0);
    // Cancel inside the popup ends the same way.
    const again = await clickConnect(page);
    await page.evaluate(() => { document.getElementById("status").textContent = ""; });
    await again.clickClosing({ role: "button", name: "Cancel" });
    await page.waitForText("Connection cancelled.");
  }));

  test("t15: ZivaCare refusing the backend's secret gives server_error and stores nothing", inContext(async (ctx) => {
    const user = as("erin.secret");
    const page = await openApp(ctx, stack.badUrl, user);
    const since = stack.bad.requests.length;
    await finishIn(await clickConnect(page), [FITBIT, SCALE]);
    await page.waitForText(/\(server_error\)$/, { timeout: 15_000 });
    assert.equal(stack.bad.tokenPosts(since).length, 4, "a 502 is retried three times");
    assert.equal(rows(stack.badDb, "connections").filter((r) => r.client_user_id === user).length, 0);
    assert.equal(rows(stack.badDb, "exchanges").filter((r) => r.client_user_id === user).length, 0);
    const text = await page.evaluate(() => document.getElementById("status").textContent);
    assert.ok(!/SENTINEL|sqlite|reqwest|0011/i.test(text), text);
  }));

  test("a backend failing once with a 5xx is retried and stores one row", inContext(async (ctx) => {
    const user = as("fay.retry");
    const page = await openApp(ctx, stack.appUrl, user);
    const since = stack.app.requests.length;
    stack.app.failNext("/api/zivacare/token", 503);
    await finishIn(await clickConnect(page), [FITBIT, SCALE]);
    await page.waitForText(/^Connected to ZivaCare as fay\.retry/);
    const posts = stack.app.tokenPosts(since);
    assert.equal(posts.length, 2);
    assert.equal(posts[0].body, posts[1].body, "the retry sends the same token");
    assert.equal(connectedRows(user).length, 1);
  }));

  test("a Connect error reaches the page as connect_error", inContext(async (ctx) => {
    const page = await openApp(ctx, stack.appUrl, as("gus.error"));
    const since = stack.app.requests.length;
    const popup = await clickConnect(page);
    await popup.clickClosing({ role: "button", name: "Simulate a ZivaCare error" });
    await page.waitForText(/\(connect_error\)$/);
    assert.equal(stack.app.tokenPosts(since).length, 0);
  }));

  test("t16: the Connect page opened from an unregistered origin posts nothing", inContext(async (ctx) => {
    const page = await ctx.newPage();
    await page.goto(stack.attackerUrl);
    await page.evaluate(() => {
      window.received = [];
      window.addEventListener("message", (e) => window.received.push(JSON.stringify(e.data)));
    });
    const url = `${stack.sandboxUrl}/connect?clientId=demo-client&clientUserId=x%40example.com&origin=${encodeURIComponent(stack.attackerUrl)}&state=abcdef`;
    await page.evaluate((u) => {
      const go = document.getElementById("go");
      go.replaceWith(go.cloneNode(true)); // no attacker handler: this click opens the Connect page
      document.getElementById("go").addEventListener("click", () => window.open(u));
    }, url);
    const popup = await page.clickForPopup("#go");
    await popup.waitForText(/not registered for this application/);
    assert.equal(await popup.count({ role: "button", name: "Finish Connecting Data" }), 0);
    await page.wait(300);
    assert.deepEqual(await page.evaluate(() => window.received), []);
  }));
});

// Once, after every engine: nothing secret in the servers' logs or the build.
once("t13: the clientSecret and tokens are in no server log and no built file", () => {
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
