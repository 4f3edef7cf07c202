// npm run bench: this SDK's script-tag install side by side with
// humanapi-connect-client 2.4.1 (its README's script-tag install), against pages
// on loopback: in headless Chromium in detail (through the DevTools protocol:
// cache off and on, memory), then time to a clickable button and click to
// window in each engine (Chromium, Firefox, WebKit, over WebDriver); then
// Lighthouse's performance score of the demo app (the whole stack, signed in
// with readings), a few runs. Prints the tables and writes bench-results.json.
// Figures vary between machines; the ratios (ours / theirs) are what we track.

import http from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, ENGINES, newContext } from "../tests/e2e/drivers.mjs";
import { startStack } from "../tests/e2e/harness.mjs";
import { connectedSession, audit } from "../tests/e2e/lighthouse.mjs";

function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    // Keep Chromium's popup blocker on, as users have it.
    ignoreDefaultArgs: ["--disable-popup-blocking"],
  });
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const LOADS = Number(process.env.BENCH_LOADS || 30);
const LIGHTHOUSE_RUNS = Number(process.env.BENCH_LIGHTHOUSE_RUNS || 5);
const THEIRS = "node_modules/humanapi-connect-client/build/humanapi-connect-client.js";
const OURS = ["pkg/connect.js", "pkg/zivacare_connect_bg.wasm"];

const types = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html", ".json": "application/json" };

function page(body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title></head><body>${body}</body></html>`;
}

const WASM_INTEGRITY = () => JSON.parse(readFileSync(path.join(ROOT, "pkg/integrity.json"), "utf8"))["zivacare_connect_bg.wasm"];

// Ours: the button is clickable once the module has drawn it (a mutation of #c).
function ours(connectOrigin, head = "") {
  return page(`${head}<div id="c"></div>
<script>performance.mark("start");
new MutationObserver(function (_, o) { if (document.querySelector("#c button")) { performance.mark("clickable"); o.disconnect(); } })
  .observe(document.getElementById("c"), { childList: true });</script>
<script src="pkg/connect.js"></script>
<script>performance.mark("run");
window.bench = {};
ZivaConnect.button("#c", { clientId: "bench", clientUserId: "bench@example.com",
  connectUrl: "${connectOrigin}/connect", serverUrl: "/token",
  finish: function () { window.bench.finished = performance.now(); } });
ZivaConnect.ready.then(function () { performance.mark("ready"); });
</script>`);
}

// The stages of our load, marked by the page itself, so every engine has them:
// the .wasm's fetch called, WebAssembly.instantiate(Streaming) called and
// settled, and the module's first element (the start of drawing). Resource
// Timing gives the .wasm request's start and end.
const STAGES = `<script>(function () {
  function mark(n) { if (!performance.getEntriesByName(n).length) performance.mark(n); }
  var f = window.fetch;
  window.fetch = function (u) { if (String(u).indexOf(".wasm") >= 0) mark("wasm-fetch"); return f.apply(this, arguments); };
  ["instantiateStreaming", "instantiate"].forEach(function (k) {
    var real = WebAssembly[k];
    WebAssembly[k] = function () {
      mark("instantiate-start");
      return real.apply(this, arguments).then(function (r) { mark("instantiate-end"); return r; });
    };
  });
  var create = Document.prototype.createElement;
  Document.prototype.createElement = function () {
    if (performance.getEntriesByName("instantiate-end").length) mark("draw-start");
    return create.apply(this, arguments);
  };
})();</script>`;

function pages(connectOrigin) {
  return {
    "/ours.html": ours(connectOrigin),
    "/ours-stages.html": ours(connectOrigin, STAGES),
    // The preload of docs/host-page.md: the .wasm fetch starts with the page, with its integrity hash.
    "/ours-preload.html": ours(connectOrigin,
      `<link rel="preload" href="pkg/zivacare_connect_bg.wasm" as="fetch" crossorigin="anonymous" integrity="${WASM_INTEGRITY()}">`),
    "/theirs.html": page(`<div class="hapi__token-container"><button data-hapi-token="bench-token">Open Connect</button></div>
<script>performance.mark("start")</script>
<script src="vendor/humanapi-connect-client.js" onload="performance.mark('clickable'); performance.mark('ready')"></script>`),
  };
}

// The Connect stand-in: posts a finish to its opener as soon as it loads.
const CONNECT_PAGE = page(`<script src="/connect-standin.js"></script>`);
const CONNECT_JS = `var q = new URLSearchParams(location.search);
window.opener.postMessage({ type: "zivacare-connect:finish", state: q.get("state"), specialToken: "tok_bench_0123456789" }, q.get("origin"));`;

function serve(routes) {
  const srv = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    // /r/N/… is /…: a URL no cache has seen, for a cold load without clearing caches.
    url.pathname = url.pathname.replace(/^\/r\/\d+\//, "/");
    if (req.method === "POST" && url.pathname === "/token") {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"zivaUserCode":"bench","connected":true}');
    }
    let body = routes[url.pathname];
    const ext = path.extname(url.pathname) || ".html";
    if (body === undefined) {
      const file = url.pathname.startsWith("/vendor/") ? THEIRS : path.join(ROOT, url.pathname);
      try { body = readFileSync(file); } catch { res.writeHead(404); return res.end(); }
    }
    res.writeHead(200, { "content-type": types[ext] || "application/octet-stream", "cache-control": "max-age=3600" });
    res.end(body);
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve(srv)));
}

function sizes(files) {
  const out = { raw: 0, gzip: 0, brotli: 0, files: {} };
  for (const f of files) {
    const data = readFileSync(path.join(ROOT, f));
    const s = {
      raw: data.length,
      gzip: execFileSync("gzip", ["-9c", path.join(ROOT, f)]).length,
      brotli: zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
    };
    out.files[f] = s;
    for (const k of ["raw", "gzip", "brotli"]) out[k] += s[k];
  }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const p95 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(s.length * 0.95) - 1)]; };
const stats = (xs) => ({ median: +median(xs).toFixed(2), p95: +p95(xs).toFixed(2), n: xs.length });

async function readyTimes(browser, url, cached) {
  const clickable = [];
  const ready = [];
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: !cached });
  if (cached) await page.goto(url); // warm the cache
  for (let i = 0; i < LOADS; i++) {
    await page.goto(url);
    await page.waitForFunction(() => ["ready", "clickable"].every((n) => performance.getEntriesByName(n).length > 0));
    const t = await page.evaluate(() => {
      const at = (n) => performance.getEntriesByName(n)[0].startTime;
      return [at("clickable") - at("start"), at("ready") - at("start")];
    });
    clickable.push(t[0]);
    ready.push(t[1]);
  }
  await ctx.close();
  return { clickable: stats(clickable), ready: stats(ready) };
}

/**
 * In the page: records when a click happens (`t.click`) and when its window
 * exists: ours, `window.open` called (`t.call`) and returned (`t.window`);
 * theirs, its Connect iframe added (`t.window`).
 */
function watchClickToWindow(ours) {
  window.t = {};
  addEventListener("click", () => { window.t.click = performance.now(); }, true);
  if (ours) {
    const open = window.open;
    window.open = function () {
      window.t.call = performance.now();
      const w = open.apply(this, arguments);
      window.t.window = performance.now();
      return w;
    };
  } else {
    new MutationObserver((records) => {
      if (!window.t.window && records.some((r) => [...r.addedNodes].some((n) => n.nodeName === "IFRAME" || (n.querySelector && n.querySelector("iframe"))))) window.t.window = performance.now();
    }).observe(document.body, { childList: true, subtree: true });
  }
}

/** Click to popup window (ours) or Connect iframe (theirs), measured inside the page. */
async function clickToWindow(browser, url, ours) {
  const times = [];
  const calls = [];
  for (let i = 0; i < Math.min(LOADS, 10); i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForFunction(() => performance.getEntriesByName("ready").length > 0);
    await page.evaluate(watchClickToWindow, ours);
    const popup = ours ? page.waitForEvent("popup") : null;
    await page.getByRole("button").first().click();
    await page.waitForFunction(() => window.t.window !== undefined);
    const t = await page.evaluate(() => window.t);
    times.push(t.window - t.click);
    // Ours: when window.open is called (our own work); theirs: the iframe is its window.
    calls.push((t.call ?? t.window) - t.click);
    if (popup) (await popup).close();
    await ctx.close();
  }
  return { exists: stats(times), opened: stats(calls) };
}

/** For this SDK: finish message to POST leaving, and to finish() being called. */
async function forwardTimes(browser, url) {
  const toPost = [];
  const toFinish = [];
  for (let i = 0; i < Math.min(LOADS, 10); i++) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForFunction(() => performance.getEntriesByName("ready").length > 0);
    await page.evaluate(() => {
      addEventListener("message", () => { window.bench.message = performance.now(); }, true);
      const f = window.fetch;
      window.fetch = function () { window.bench.post = window.bench.post || performance.now(); return f.apply(this, arguments); };
    });
    await page.getByRole("button").click();
    await page.waitForFunction(() => window.bench.finished !== undefined);
    const b = await page.evaluate(() => window.bench);
    toPost.push(b.post - b.message);
    toFinish.push(b.finished - b.message);
    await ctx.close();
  }
  return { messageToPost: stats(toPost), messageToFinish: stats(toFinish) };
}

async function memory(browser, url, ours) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const cdp = await ctx.newCDPSession(page);
  // Keep a reference to the instance the loader creates, to read its memory
  // (whatever its export is called: the build shortens export names).
  await page.addInitScript(() => {
    for (const name of ["instantiateStreaming", "instantiate"]) {
      const real = WebAssembly[name];
      WebAssembly[name] = async function () {
        const result = await real.apply(this, arguments);
        window.__wasmInstance = result.instance || result;
        return result;
      };
    }
  });
  await page.goto(url);
  await page.waitForFunction(() => performance.getEntriesByName("ready").length > 0);
  await cdp.send("HeapProfiler.collectGarbage");
  const heap = await cdp.send("Runtime.getHeapUsage");
  const wasm = ours ? await page.evaluate(() => Object.values(window.__wasmInstance.exports).find((e) => e instanceof WebAssembly.Memory).buffer.byteLength) : 0;
  await ctx.close();
  return { jsHeapUsed: heap.usedSize, wasmMemory: wasm };
}

/**
 * In the page, after a load of /ours-stages.html: the time each stage took, ms,
 * as [name, ms] pairs (WebDriver would hand an object back with its keys sorted).
 * The .wasm's request is Resource Timing's (fetchStart to responseEnd).
 */
function stagesOfLoad() {
  const at = (n) => performance.getEntriesByName(n)[0].startTime;
  const resource = (end) => performance.getEntriesByType("resource").find((e) => e.name.endsWith(end));
  const wasm = resource(".wasm");
  return Object.entries({
    "connect.js's last byte (after the start)": Math.max(0, resource("/connect.js").responseEnd - at("start")),
    "connect.js parsed and run, to the .wasm fetch": at("wasm-fetch") - Math.max(at("start"), resource("/connect.js").responseEnd),
    "the rest of connect.js": at("run") - at("wasm-fetch"),
    ".wasm request, fetch to last byte": wasm.responseEnd - wasm.fetchStart,
    "last byte to compile (integrity check, the task)": at("instantiate-start") - wasm.responseEnd,
    "compile and instantiate": at("instantiate-end") - at("instantiate-start"),
    "glue and the module, to its first element": at("draw-start") - at("instantiate-end"),
    "drawing the button": at("clickable") - at("draw-start"),
    "total: clickable": at("clickable") - at("start"),
  });
}

const STAGE_MARKS = ["start", "run", "wasm-fetch", "instantiate-start", "instantiate-end", "draw-start", "clickable", "ready"];

/** The median of each figure over several loads. */
function medians(loads) {
  return Object.fromEntries(Object.keys(loads[0]).map((k) => [k, +median(loads.map((l) => l[k])).toFixed(2)]));
}

/**
 * `measure()` after each of LOADS loads of `file` in `page` (a drivers.mjs
 * page), cold (a URL no cache has seen: every file is fetched) and then
 * cached (the same URL again, after one load that fills the cache).
 */
async function coldAndCached(page, base, file, measure) {
  const cold = [];
  const cached = [];
  const fresh = Date.now();
  for (let i = 0; i < LOADS; i++) {
    await page.goto(`${base}/r/${fresh}${i}/${file}`);
    cold.push(await measure());
  }
  await page.goto(`${base}/${file}`);
  for (let i = 0; i < LOADS; i++) {
    await page.goto(`${base}/${file}`);
    cached.push(await measure());
  }
  return { cold, cached };
}

/**
 * Our load's stages in `engine` (WebDriver): cold (every file fetched) and
 * cached, the median of each stage over LOADS loads.
 */
async function engineStages(engine, base) {
  const ctx = await newContext(engine);
  try {
    const page = await ctx.newPage();
    const ready = () => page.waitFor((names) => names.every((n) => performance.getEntriesByName(n).length > 0), [STAGE_MARKS], { timeout: 30_000 });
    const { cold, cached } = await coldAndCached(page, base, "ours-stages.html", async () => {
      await ready();
      return Object.fromEntries(await page.evaluate(stagesOfLoad));
    });
    return { cold: medians(cold), cached: medians(cached) };
  } finally {
    await ctx.close();
  }
}

// What a DevTools trace of one cached load shows, from the first mark (`start`)
// on: each event's start or end relative to it, ms.
const TRACE_CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.wasm", "disabled-by-default-v8.wasm.detailed", "blink.user_timing"];
function traceStages(events) {
  const mark = (name) => events.find((e) => e.name === name && e.cat.includes("user_timing"));
  const start = mark("start");
  const main = events.filter((e) => e.pid === start.pid && e.tid === start.tid);
  const rel = (ts) => (ts - start.ts) / 1000;
  const end = (e) => e.ts + (e.dur || 0);
  const script = main.find((e) => e.name === "EvaluateScript" && e.args?.data?.url?.endsWith("/connect.js"));
  const compileScript = main.find((e) => e.name === "v8.compile" && e.args?.data?.url?.endsWith("/connect.js"));
  const wasmRequest = events.find((e) => e.name === "ResourceSendRequest" && e.args?.data?.url?.endsWith(".wasm"));
  const id = wasmRequest.args.data.requestId;
  const ofRequest = (name) => events.find((e) => e.name === name && e.args?.data?.requestId === id);
  const compile = events.find((e) => e.name === "wasm.StartStreamingCompilation" || e.name === "wasm.SyncCompile");
  const compiled = events.find((e) => e.name === "wasm.FinishAsyncCompile" || e.name === "wasm.SyncCompile");
  const instantiate = events.find((e) => e.name === "wasm.InstanceBuilder.Build");
  const clickable = mark("clickable");
  return {
    "connect.js compile (parse)": +(compileScript.dur / 1000).toFixed(2),
    "connect.js run": +(script.dur / 1000).toFixed(2),
    ".wasm request sent (after the start)": rel(wasmRequest.ts),
    ".wasm response headers in the page": rel(ofRequest("ResourceReceiveResponse").ts),
    ".wasm last byte in the page": rel(ofRequest("ResourceFinish").ts),
    "compile started": rel(compile.ts),
    "compile finished": rel(compiled.name === "wasm.SyncCompile" ? end(compiled) : compiled.ts),
    "instantiated": rel(end(instantiate)),
    "clickable (glue, module, drawing)": rel(clickable.ts),
    "main thread busy with other work while the .wasm is on its way": +(main
      .filter((e) => e.name === "RunTask" && e.ts >= wasmRequest.ts && end(e) <= ofRequest("ResourceFinish").ts)
      .reduce((s, e) => s + e.dur, 0) / 1000).toFixed(2),
  };
}

/** Chromium (DevTools protocol): traces of `runs` cached loads of `url`, the median of each figure. */
async function traceRuns(browser, url, runs = 10) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(url); // warm the cache
  const out = [];
  for (let i = 0; i < runs; i++) {
    await browser.startTracing(page, { categories: TRACE_CATEGORIES });
    await page.goto(url);
    await page.waitForFunction(() => ["ready", "clickable"].every((n) => performance.getEntriesByName(n).length > 0));
    const trace = JSON.parse((await browser.stopTracing()).toString());
    out.push(traceStages(trace.traceEvents));
  }
  await ctx.close();
  return medians(out);
}

const ratio = (a, b) => (b ? +(a / b).toFixed(2) : null);

/** Marks `clickable` and `ready` after `start` in `page` (a drivers.mjs page). */
async function marks(page) {
  await page.waitFor(() => ["ready", "clickable"].every((n) => performance.getEntriesByName(n).length > 0), [], { timeout: 30_000 });
  return page.evaluate(() => {
    const at = (n) => performance.getEntriesByName(n)[0].startTime;
    return [at("clickable") - at("start"), at("ready") - at("start")];
  });
}

/**
 * In `engine`, over WebDriver: time to a clickable button and to a ready module,
 * cold (a URL no cache has seen: every file is fetched) and cached (the same
 * URL again), and click to window (the click, then `window.open` or the iframe).
 */
async function engineTimes(engine, base) {
  const out = {};
  for (const who of ["ours", "theirs"]) {
    const ctx = await newContext(engine);
    try {
      const page = await ctx.newPage();
      const loads = await coldAndCached(page, base, `${who}.html`, () => marks(page));
      const [cold, warm] = [loads.cold, loads.cached].map((ms) => ({ clickable: ms.map((m) => m[0]), ready: ms.map((m) => m[1]) }));
      const clicks = [];
      for (let i = 0; i < Math.min(LOADS, 10); i++) {
        await page.goto(`${base}/${who}.html`);
        await marks(page);
        await page.evaluate(watchClickToWindow, who === "ours");
        const before = await ctx.handles();
        await page.click("button");
        await page.waitFor(() => window.t.window !== undefined);
        const t = await page.evaluate(() => window.t);
        clicks.push(t.window - t.click);
        for (const w of await ctx.newWindows(before)) await w.close();
      }
      out[who] = { cold: { clickable: stats(cold.clickable), ready: stats(cold.ready) }, warm: { clickable: stats(warm.clickable), ready: stats(warm.ready) }, clickToWindow: stats(clicks) };
    } finally {
      await ctx.close();
    }
  }
  return out;
}

// Lighthouse's performance score of the demo app and the metrics it weighs, each
// run a fresh Chromium on the same signed-in page: median, lowest and highest.
const LIGHTHOUSE_METRICS = ["first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index"];
async function lighthouseRuns() {
  const stack = await startStack();
  try {
    const cookie = await connectedSession(stack, "bench@example.com");
    const runs = [];
    for (let i = 0; i < LIGHTHOUSE_RUNS; i++) {
      const lhr = await audit(stack, cookie);
      runs.push({
        performance: lhr.categories.performance.score,
        ...Object.fromEntries(LIGHTHOUSE_METRICS.map((id) => [id, lhr.audits[id].numericValue])),
      });
    }
    const spread = (xs) => ({ median: +median(xs).toFixed(3), min: +Math.min(...xs).toFixed(3), max: +Math.max(...xs).toFixed(3) });
    return { runs: runs.length, ...Object.fromEntries(["performance", ...LIGHTHOUSE_METRICS].map((k) => [k, spread(runs.map((r) => r[k]))])) };
  } finally {
    await stack.stop();
  }
}

function printStages(startup) {
  console.log("A cached load in Chromium, from its DevTools trace (median of 10 loads; ms after the first mark, or a duration):");
  const t = startup.chromiumTrace;
  const w = Math.max(...Object.keys(t).map((k) => k.length));
  for (const [k, v] of Object.entries(t)) console.log(`  ${k.padEnd(w)}  ${String(v).padStart(7)}`);
  const engines = Object.keys(startup.engines);
  const names = Object.keys(startup.engines[engines[0]].cold);
  const w2 = Math.max(...names.map((k) => k.length));
  console.log(`\nEach stage in each engine, marked by the page (median ms of ${LOADS} loads, cold / cached):`);
  console.log(`  ${"".padEnd(w2)}  ${engines.map((e) => e.padStart(17)).join("")}`);
  for (const k of names) {
    console.log(`  ${k.padEnd(w2)}  ${engines.map((e) => `${startup.engines[e].cold[k]} / ${startup.engines[e].cached[k]}`.padStart(17)).join("")}`);
  }
  console.log("");
}

async function main() {
  const connect = await serve({ "/connect": CONNECT_PAGE, "/connect-standin.js": CONNECT_JS });
  const connectOrigin = `http://127.0.0.1:${connect.address().port}`;
  const app = await serve(pages(connectOrigin));
  const base = `http://127.0.0.1:${app.address().port}`;
  const browser = await launchBrowser();
  const results = { date: new Date().toISOString(), loads: LOADS, ours: {}, preload: {}, theirs: {} };
  try {
    // Where our load's time goes: a trace in Chromium, the page's marks in each engine.
    results.startup = { chromiumTrace: await traceRuns(browser, base + "/ours.html"), engines: {} };
    for (const engine of ENGINES) results.startup.engines[engine] = await engineStages(engine, base);
    printStages(results.startup);
    if (process.env.BENCH_ONLY === "stages") return;
    results.ours.bytes = sizes(OURS);
    results.theirs.bytes = sizes([THEIRS]);
    for (const [who, file] of [["ours", "/ours.html"], ["theirs", "/theirs.html"]]) {
      results[who].coldLoad = await readyTimes(browser, base + file, false);
      results[who].warmLoad = await readyTimes(browser, base + file, true);
      results[who].clickToWindow = await clickToWindow(browser, base + file, who === "ours");
      results[who].memory = await memory(browser, base + file, who === "ours");
    }
    results.preload.coldLoad = await readyTimes(browser, base + "/ours-preload.html", false);
    results.preload.warmLoad = await readyTimes(browser, base + "/ours-preload.html", true);
    results.ours.forward = await forwardTimes(browser, base + "/ours.html");
    await browser.close();
    results.engines = {};
    for (const engine of ENGINES) results.engines[engine] = await engineTimes(engine, base);
    results.lighthouse = await lighthouseRuns();
  } finally {
    await browser.close().catch(() => {});
    app.close();
    connect.close();
  }
  writeFileSync(path.join(ROOT, "bench-results.json"), JSON.stringify(results, null, 2) + "\n");

  const o = results.ours, t = results.theirs, pre = results.preload;
  const rowsOut = [
    ["bytes, raw", o.bytes.raw, t.bytes.raw],
    ["bytes, gzip -9", o.bytes.gzip, t.bytes.gzip],
    ["bytes, brotli", o.bytes.brotli, t.bytes.brotli],
    ["clickable button, no cache, median ms", o.coldLoad.clickable.median, t.coldLoad.clickable.median],
    ["ready (module loaded), no cache, median ms", o.coldLoad.ready.median, t.coldLoad.ready.median],
    ["ready, no cache, p95 ms", o.coldLoad.ready.p95, t.coldLoad.ready.p95],
    ["ready, cached, median ms", o.warmLoad.ready.median, t.warmLoad.ready.median],
    ["ready, cached, p95 ms", o.warmLoad.ready.p95, t.warmLoad.ready.p95],
    ["clickable button, no cache, p95 ms", o.coldLoad.clickable.p95, t.coldLoad.clickable.p95],
    ["clickable button, cached, median ms", o.warmLoad.clickable.median, t.warmLoad.clickable.median],
    ["clickable button, cached, p95 ms", o.warmLoad.clickable.p95, t.warmLoad.clickable.p95],
    ["with <link rel=preload>: clickable, no cache, median ms", pre.coldLoad.clickable.median, t.coldLoad.clickable.median],
    ["with <link rel=preload>: clickable, no cache, p95 ms", pre.coldLoad.clickable.p95, t.coldLoad.clickable.p95],
    ["with <link rel=preload>: clickable, cached, median ms", pre.warmLoad.clickable.median, t.warmLoad.clickable.median],
    ["with <link rel=preload>: clickable, cached, p95 ms", pre.warmLoad.clickable.p95, t.warmLoad.clickable.p95],
    ["click to window.open call / iframe, median ms", o.clickToWindow.opened.median, t.clickToWindow.opened.median],
    ["click to window existing, median ms", o.clickToWindow.exists.median, t.clickToWindow.exists.median],
    ["JS heap after ready, bytes", o.memory.jsHeapUsed, t.memory.jsHeapUsed],
    ["Wasm linear memory, bytes", o.memory.wasmMemory, "-"],
    ["finish message to POST, median ms", o.forward.messageToPost.median, "-"],
    ["finish message to finish(), median ms", o.forward.messageToFinish.median, "-"],
  ];
  const w = Math.max(...rowsOut.map((r) => r[0].length));
  console.log(`${"".padEnd(w)}  ${"ours".padStart(10)}  ${"theirs".padStart(10)}  ${"ours/theirs".padStart(11)}`);
  for (const [name, a, b] of rowsOut) {
    const r = typeof a === "number" && typeof b === "number" ? ratio(a, b) : "";
    console.log(`${name.padEnd(w)}  ${String(a).padStart(10)}  ${String(b).padStart(10)}  ${String(r).padStart(11)}`);
  }
  console.log(`\n${LOADS} loads each; details in bench-results.json`);

  // Each engine: ours / theirs, median (p95) ms.
  const cell = (x) => `${x.median} (${x.p95})`;
  const engineRows = [
    ["clickable button, cold", (e) => e.cold.clickable],
    ["clickable button, cached", (e) => e.warm.clickable],
    ["ready, cold", (e) => e.cold.ready],
    ["ready, cached", (e) => e.warm.ready],
    ["click to window", (e) => e.clickToWindow],
  ];
  const engines = Object.keys(results.engines);
  const cols = engines.map((e) => `${e}: ours / theirs`);
  const w2 = Math.max(...engineRows.map((r) => r[0].length));
  console.log(`\nIn each engine (WebDriver; median (p95) ms):\n${"".padEnd(w2)}  ${cols.map((c) => c.padStart(30)).join("  ")}`);
  for (const [name, pick] of engineRows) {
    const cells = engines.map((e) => `${cell(pick(results.engines[e].ours))} / ${cell(pick(results.engines[e].theirs))}`);
    console.log(`${name.padEnd(w2)}  ${cells.map((c) => c.padStart(30)).join("  ")}`);
  }
  const lh = results.lighthouse;
  console.log(`\nLighthouse 12.2.3 on the demo app (signed in, with readings), ${lh.runs} runs, median [lowest, highest]:`);
  for (const k of ["performance", ...LIGHTHOUSE_METRICS]) {
    const unit = k === "performance" || k === "cumulative-layout-shift" ? "" : " ms";
    console.log(`${k.padEnd(26)}  ${lh[k].median}${unit} [${lh[k].min}, ${lh[k].max}]`);
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
