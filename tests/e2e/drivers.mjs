// The three browser engines the end-to-end tests run in, behind one small API:
// Chromium (chromedriver), Firefox (geckodriver) and WebKit (WebKitWebDriver,
// Safari's engine, under Xvfb), each driven over WebDriver by
// selenium-webdriver, with the popup blocker on as users have it. A test body
// is written once against `Context` and `Page`; the harness runs it in each engine.

import { spawn } from "node:child_process";
import { Builder, Key } from "selenium-webdriver";
import { freePort } from "./ports.mjs";

export { Key };

/** The engines, in the order tests run; ZIVACARE_ENGINES=chromium,webkit picks some. */
export const ENGINES = (process.env.ZIVACARE_ENGINES || "chromium,firefox,webkit").split(",").filter(Boolean);

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const FIREFOX = process.env.FIREFOX || "/usr/bin/firefox-esr";

export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const ENGINE_SETUP = {
  chromium: {
    driver: () => [process.env.CHROMEDRIVER || "chromedriver", (port) => [`--port=${port}`]],
    capabilities: () => ({
      browserName: "chrome",
      "goog:chromeOptions": {
        binary: CHROMIUM,
        args: [...CHROMIUM_ARGS, "--window-size=1024,800"],
        // chromedriver turns the popup blocker off unless told not to.
        excludeSwitches: ["disable-popup-blocking"],
      },
    }),
  },
  firefox: {
    driver: () => [process.env.GECKODRIVER || "geckodriver", (port) => ["--port", String(port)]],
    capabilities: () => ({
      browserName: "firefox",
      "moz:firefoxOptions": {
        binary: FIREFOX,
        args: ["-headless", "--width=1024", "--height=800"],
        // geckodriver's profile turns the popup blocker off; users have it on.
        prefs: { "dom.disable_open_during_load": true, "network.captive-portal-service.enabled": false },
      },
    }),
  },
  webkit: {
    driver: () => [process.env.WEBKITDRIVER || "WebKitWebDriver", (port) => [`--port=${port}`]],
    capabilities: () => ({
      browserName: "MiniBrowser",
      "webkitgtk:browserOptions": { args: ["--automation"] },
    }),
  },
};

const drivers = new Set();
process.on("exit", () => { for (const d of drivers) d.kill("SIGKILL"); });

/**
 * A WebDriver server of `engine` for one session (geckodriver takes one session
 * at a time; every engine is treated alike): its URL and its process.
 */
async function driverServer(engine) {
  const [bin, args] = ENGINE_SETUP[engine].driver();
  const port = await freePort();
  const child = spawn(bin, args(port), { stdio: ["ignore", "ignore", "pipe"] });
  let errors = "";
  child.stderr.on("data", (c) => { errors += c; });
  // A driver never keeps the tests' process alive.
  child.unref();
  child.stderr.unref();
  drivers.add(child);
  child.on("exit", () => drivers.delete(child));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${url}/status`);
      if (r.ok) return { url, child };
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${bin} did not start: ${errors}`);
}

/**
 * A browser of `engine` with its own profile (cookies, storage, cache): one
 * WebDriver session. Starting one is bounded in time: a WebKit session without
 * a display hangs rather than failing.
 */
export async function newContext(engine) {
  const server = await driverServer(engine);
  const start = new Builder().usingServer(server.url).withCapabilities(ENGINE_SETUP[engine].capabilities()).build();
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${engine}: no session within 60 s (is there a display for WebKit?)`)), 60_000);
  });
  try {
    const driver = await Promise.race([start, timeout]);
    await driver.manage().setTimeouts({ script: 30_000, pageLoad: 30_000, implicit: 0 });
    return new Context(engine, driver, server.child);
  } catch (e) {
    server.child.kill("SIGKILL");
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns a truthy value (returned) or `timeout` ms pass. */
export async function until(check, { timeout = 10_000, what = "a condition" } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await sleep(50);
  }
}

// Finds elements in the page, looking into open shadow roots: by CSS, by role
// and accessible name ({role: "button", name}), by the text of their <label>, or
// by text. Runs in the page.
const FINDER = `
const __all = (root, css) => {
  const out = [...root.querySelectorAll(css)];
  for (const el of root.querySelectorAll("*")) if (el.shadowRoot) out.push(...__all(el.shadowRoot, css));
  return out;
};
const __name = (el) => (el.getAttribute("aria-label") || el.textContent || el.value || "").replace(/\\s+/g, " ").trim();
const __visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length) && !el.closest("[hidden]");
const __match = (text, want) => want.regex ? new RegExp(want.regex, want.flags).test(text) : want.part ? text.includes(want.text) : text === want.text;
const __find = (spec) => {
  if (spec.css) return __all(document, spec.css);
  if (spec.role) {
    const css = { button: "button,[role=button]", heading: "h1,h2,h3,h4,h5,h6", img: "[role=img],img", link: "a[href]" }[spec.role];
    return __all(document, css).filter((el) => __visible(el) && (spec.name === undefined || __match(
      spec.role === "img" && el.getAttribute("aria-labelledby")
        ? el.getAttribute("aria-labelledby").split(" ").map((id) => (el.getRootNode().getElementById(id) || {}).textContent || "").join(" ").trim()
        : __name(el), spec.name)));
  }
  if (spec.label) return __all(document, "label").filter((l) => __match(__name(l), spec.label))
    .map((l) => l.control || l.querySelector("input")).filter(Boolean);
  if (spec.text) return __all(document, "p,span,div,li,td,strong,h1,h2,h3,button,label,main,figcaption")
    .filter((el) => __visible(el) && __match(__name(el), spec.text) && ![...el.children].some((c) => __match(__name(c), spec.text)));
  return [];
};`;

/** `name` as a matcher the page understands: a string is exact, a RegExp a pattern. */
const want = (name) => (name instanceof RegExp ? { regex: name.source, flags: name.flags } : name === undefined ? undefined : { text: name });

/** What to find: "#css", {role, name}, {label}, {text} (a string: within the text, as a person reads it). */
function spec(target) {
  if (typeof target === "string") return { css: target };
  const out = { ...target };
  for (const key of ["name", "label", "text"]) if (key in out) out[key] = want(out[key]);
  if (typeof target.text === "string") out.text.part = true;
  return out;
}

/** One browser profile: a WebDriver session and its windows. */
export class Context {
  constructor(engine, driver, server) {
    this.engine = engine;
    this.driver = driver;
    this.server = server;
    this.current = null;
    this.pages = [];
  }

  /** The first page of the context (a session starts with one window). */
  async newPage() {
    const handles = await this.driver.getAllWindowHandles();
    const used = new Set(this.pages.map((p) => p.handle));
    let handle = handles.find((h) => !used.has(h));
    if (!handle) {
      await this.driver.switchTo().newWindow("window");
      handle = await this.driver.getWindowHandle();
      this.current = handle;
    }
    const page = new Page(this, handle);
    this.pages.push(page);
    return page;
  }

  async use(handle) {
    if (this.current !== handle) {
      await this.driver.switchTo().window(handle);
      this.current = handle;
    }
  }

  async handles() {
    return this.driver.getAllWindowHandles();
  }

  /** The windows opened since `before` (a list of handles), as pages. */
  async newWindows(before) {
    const now = await this.handles();
    return now.filter((h) => !before.includes(h)).map((h) => {
      const page = new Page(this, h);
      this.pages.push(page);
      return page;
    });
  }

  async cookies() {
    return this.driver.manage().getCookies();
  }

  async close() {
    await this.driver.quit().catch(() => {});
    this.server.kill("SIGTERM");
  }
}

/** One window of a context. */
export class Page {
  constructor(ctx, handle) {
    this.ctx = ctx;
    this.handle = handle;
  }

  get driver() {
    return this.ctx.driver;
  }

  async goto(url) {
    await this.ctx.use(this.handle);
    await this.driver.get(url);
  }

  async reload() {
    await this.ctx.use(this.handle);
    await this.driver.navigate().refresh();
  }

  async url() {
    await this.ctx.use(this.handle);
    return this.driver.getCurrentUrl();
  }

  /** Runs `fn(...args)` in the page (it may return a Promise); its JSON-able result. */
  async evaluate(fn, ...args) {
    await this.ctx.use(this.handle);
    const script = `${FINDER}
      const done = arguments[arguments.length - 1];
      const args = JSON.parse(arguments[0]);
      Promise.resolve().then(() => (${fn.toString()})(...args))
        .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ error: String(e && e.stack || e) }));`;
    const r = await this.driver.executeAsyncScript(script, JSON.stringify(args));
    if (r && "error" in r) throw new Error(`in the page: ${r.error}`);
    return r ? r.ok : r;
  }

  /** Waits until `fn(...args)` is truthy in the page. */
  async waitFor(fn, args = [], options = {}) {
    return until(() => this.evaluate(fn, ...args), { what: fn.toString().slice(0, 80), ...options });
  }

  /** How many elements `target` finds. */
  async count(target) {
    return this.evaluate((s) => __find(s).length, spec(target));
  }

  /** Waits for `target` to exist (and, for roles and text, be visible). */
  async waitForElement(target, options = {}) {
    await this.waitFor((s) => __find(s).length > 0, [spec(target)], { what: JSON.stringify(target), ...options });
  }

  async waitForText(text, options = {}) {
    await this.waitForElement({ text }, options);
  }

  /** The first element `target` finds, as WebDriver knows it. */
  async element(target) {
    await this.waitForElement(target);
    await this.ctx.use(this.handle);
    return this.driver.executeScript(`${FINDER} return __find(arguments[0])[0];`, spec(target));
  }

  /** A real click (the browser's own input, trusted as a person's). */
  async click(target) {
    await (await this.element(target)).click();
  }

  async dblclick(target) {
    const el = await this.element(target);
    await this.driver.actions({ async: true }).doubleClick(el).perform();
  }

  /** Clicks `target` and returns the window the click opened. */
  async clickForPopup(target, { timeout = 10_000 } = {}) {
    const before = await this.ctx.handles();
    await this.click(target);
    const [popup] = await until(async () => {
      const fresh = await this.ctx.newWindows(before);
      return fresh.length ? fresh : null;
    }, { timeout, what: `a window opened by clicking ${JSON.stringify(target)}` });
    return popup;
  }

  /** Clicks `target`, which closes this very window (tolerating the driver's surprise). */
  async clickClosing(target) {
    const el = await this.element(target);
    await el.click().catch(() => {});
    await this.waitForClose();
  }

  async fill(target, text) {
    const el = await this.element(target);
    await el.clear();
    await el.sendKeys(text);
  }

  async check(label) {
    const target = { label };
    if (!(await this.evaluate((s) => __find(s)[0]?.checked, spec(target)))) await this.click(target);
  }

  async isChecked(label) {
    return this.evaluate((s) => !!__find(s)[0]?.checked, spec({ label }));
  }

  async focus(target) {
    await this.evaluate((s) => __find(s)[0].focus(), spec(target));
  }

  /** Presses keys on whatever has the focus: Key.TAB, Key.ENTER, " "… */
  async press(...keys) {
    await this.ctx.use(this.handle);
    await this.driver.actions({ async: true }).sendKeys(...keys).perform();
  }

  async attribute(target, name) {
    return this.evaluate((s, n) => __find(s)[0]?.getAttribute(n) ?? null, spec(target), name);
  }

  async isDisabled(target) {
    return this.evaluate((s) => !!__find(s)[0]?.disabled, spec(target));
  }

  async texts(target) {
    return this.evaluate((s) => __find(s).map((el) => el.textContent), spec(target));
  }

  async isClosed() {
    return !(await this.ctx.handles()).includes(this.handle);
  }

  async waitForClose({ timeout = 10_000 } = {}) {
    await until(() => this.isClosed(), { timeout, what: "the window to close" });
    if (this.ctx.current === this.handle) this.ctx.current = null;
  }

  /** Closes this window as a person would. */
  async close() {
    if (await this.isClosed()) return;
    await this.ctx.use(this.handle);
    await this.driver.close();
    this.ctx.current = null;
  }

  /** The capture script's records in this page: console lines, page errors, policy violations. */
  async captured() {
    return this.evaluate(() => window.__captured || { console: [], errors: [], violations: [] });
  }

  async wait(ms) {
    await sleep(ms);
  }
}
