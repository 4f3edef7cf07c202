// @zivacare/connect/server: step 3 of ZivaCare Connect on Node and every
// runtime with the Fetch API (Next.js route handlers, Hono, Remix, Deno, Bun,
// Cloudflare Workers). The exchange of the page's one-time specialToken for the
// user's access token, and the endpoint the SDK forwards that token to, with
// the same refusals, statuses and codes as the Rust crate `zivacare`. No
// dependencies; nothing here is imported by the browser entries, and a browser
// bundle that imports this entry gets server.browser.js, which throws.
//
// No error, log line or printed value holds the clientSecret, a specialToken
// or an access token: ZivaCare's messages are scrubbed of what was sent, the
// runtime's network errors are reduced to their code, and a connection's
// accessToken is readable but neither enumerable nor printed.

/** ZivaCare's developer host, where the exchange is. */
export const ZIVACARE_URL = "https://developer.zivacare.com";
/** How long the exchange may take by default, ms. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** The largest body the token endpoint reads, bytes (the SDK's is under 2 KiB). */
export const MAX_FORWARD_BODY = 4096;
/** The header the SDK sends with its forward (a page cannot send it cross-origin without CORS). */
export const CONNECT_HEADER = "x-zivacare-connect";

// How long storing an exchanged connection may be retried, and how often a
// repeat of a token whose exchange is under way looks again, ms.
const WRITE_BUDGET_MS = 5_000;
const CLAIM_POLL_MS = 25;
const MAX_MESSAGE = 500;
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

/**
 * An error of this module: a stable `code` (the Rust crate's `Error::code`),
 * a message for people, ZivaCare's own code where it gave one
 * (`zivacareCode`), the HTTP status of ZivaCare's answer (`status`), and for a
 * network failure a `cause` that holds only the runtime's error code.
 */
export class ZivaCareError extends Error {
  constructor(code, message, details = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "ZivaCareError";
    this.code = code;
    if (details.zivacareCode !== undefined) this.zivacareCode = details.zivacareCode;
    if (details.status !== undefined) this.status = details.status;
    if (details.retryAfter !== undefined) this.retryAfter = details.retryAfter;
  }
}

/** 1 to 512 characters of base64url plus `.` and `~`: specialTokens and states. */
function isTokenText(s) {
  return typeof s === "string" && s.length >= 1 && s.length <= 512 && /^[A-Za-z0-9\-_.~]+$/.test(s);
}

/** Not blank, at most 512 characters (code points), no control characters: a user id. */
function isPlainText(s) {
  // eslint-disable-next-line no-control-regex
  return typeof s === "string" && s.trim() !== "" && [...s].length <= 512 && !/[\u0000-\u001f\u007f-\u009f]/.test(s);
}

/** `text` with every secret of 4 characters or more replaced by `<redacted>`. */
function scrub(text, secrets) {
  let out = text;
  for (const s of secrets) if (typeof s === "string" && s.length >= 4) out = out.split(s).join("<redacted>");
  return out;
}

function configError(message) {
  return new ZivaCareError("invalid_config", `ZivaCare configuration: ${message}`);
}

/** `url` as an absolute http(s) URL without a trailing slash, or an `invalid_config` error. */
function baseOf(url, name) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    throw configError(`${name} is not an absolute URL`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw configError(`${name} must be an http: or https: URL`);
  return parsed.href.replace(/\/+$/, "");
}

/**
 * What ZivaCare's refusal of an exchange means: 429 is `rate_limited`; a 4xx
 * with one of ZivaCare's application codes (0004, 0007, 0011) is
 * `upstream_misconfigured`, any other 4xx `token_rejected`; anything else,
 * redirects included, `upstream_error`.
 */
function refusal(status, headers, body, secrets) {
  if (status === 429) {
    const secs = Number.parseInt(headers.get("retry-after") || "", 10);
    return new ZivaCareError("rate_limited", "ZivaCare asks for fewer requests", {
      status, retryAfter: Number.isFinite(secs) ? secs : undefined,
    });
  }
  if (status < 400 || status >= 500) {
    const message = status >= 300 && status < 400
      ? `ZivaCare answered with a redirect (${status}), which is not followed`
      : `ZivaCare answered ${status}`;
    return new ZivaCareError("upstream_error", message, { status });
  }
  let parsed = null;
  try {
    parsed = JSON.parse(body);
  } catch {
    // not JSON: the status stands for the code
  }
  const text = (v) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);
  const code = scrub(text(parsed && parsed.code) ?? String(status), secrets);
  const said = [...scrub(text(parsed && parsed.message) ?? "", secrets)].slice(0, MAX_MESSAGE).join("");
  const details = { status, zivacareCode: code };
  switch (code) {
    case "0004":
    case "0007":
    case "0011":
      return new ZivaCareError("upstream_misconfigured", `ZivaCare refused the request (${code}): ${said}`, details);
    case "0005":
      return new ZivaCareError("invalid_request", `ZivaCare refused the request (${code}): ${said}`, details);
    case "0001":
      return new ZivaCareError("duplicate_user", `ZivaCare refused the request (${code}): ${said}`, details);
    default:
      return new ZivaCareError("token_rejected", `ZivaCare refused the specialToken (${code}): ${said}`, details);
  }
}

/** The runtime's network error as `upstream_error`, keeping only its code (`ECONNREFUSED`, …). */
function transport(err) {
  let e = err;
  let code;
  for (let i = 0; e && i < 5 && code === undefined; i++, e = e.cause) {
    if (typeof e.code === "string" && /^[A-Z0-9_]+$/.test(e.code)) code = e.code;
  }
  const cause = code === undefined ? undefined : Object.assign(new Error(code), { code });
  return new ZivaCareError("upstream_error", `ZivaCare could not be reached${code ? ` (${code})` : ""}`, { cause });
}

/** A connection as exchangeToken resolves it: the access token readable, never printed. */
function connection(zivaUserCode, accessToken, name, email) {
  const c = { zivaUserCode, name, email };
  Object.defineProperty(c, "accessToken", { value: accessToken, enumerable: false });
  Object.defineProperty(c, INSPECT, {
    value: () => ({ zivaUserCode, accessToken: "<redacted>", name, email }),
    enumerable: false,
  });
  return c;
}

/**
 * Exchanges a specialToken for the user's connection, with ZivaCare (or the
 * sandbox at `baseUrl`): one POST, never retried once it may have reached
 * ZivaCare (a specialToken is single-use), no redirect followed (it would send
 * the clientSecret again, to wherever it points). Resolves with
 * `{zivaUserCode, accessToken, name, email}`; rejects with a ZivaCareError
 * (`token_rejected`, `upstream_misconfigured`, `upstream_error`,
 * `upstream_timeout`, `rate_limited`, `invalid_config`), or with `signal`'s
 * reason once it aborts.
 */
export async function exchangeToken({ specialToken, clientSecret, baseUrl = ZIVACARE_URL, signal, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  if (typeof clientSecret !== "string" || clientSecret === "") throw configError("clientSecret is required");
  if (!isTokenText(specialToken)) {
    throw new ZivaCareError("invalid_request", "specialToken must be 1 to 512 characters of A-Z a-z 0-9 - _ . ~");
  }
  const url = `${baseOf(baseUrl, "baseUrl")}/oauth/v2/get-access-token`;
  const secrets = [specialToken, clientSecret];
  const timeout = AbortSignal.timeout(timeoutMs);
  const signals = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const fail = (err) => {
    if (signal && signal.aborted) throw signal.reason;
    if (timeout.aborted) throw new ZivaCareError("upstream_timeout", "ZivaCare did not answer in time");
    throw transport(err);
  };
  let response;
  let body;
  try {
    response = await fetch(url, {
      method: "POST",
      redirect: "manual",
      headers: { accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ specialToken, clientSecret }).toString(),
      signal: signals,
    });
    body = await response.text();
  } catch (err) {
    fail(err);
  }
  // A runtime that hides a manual redirect's answer (status 0) still saw one.
  const status = response.type === "opaqueredirect" ? 307 : response.status;
  if (status < 200 || status >= 300) throw refusal(status, response.headers, body, secrets);
  let raw;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new ZivaCareError("upstream_error", "ZivaCare's answer is not as documented: not JSON");
  }
  const code = raw && raw.ziva_user_code;
  const token = raw && raw.access_token;
  if (typeof code !== "string" || code === "" || typeof token !== "string" || token === "") {
    throw new ZivaCareError("upstream_error", "ZivaCare's answer is not as documented: the exchange's answer has no ziva_user_code or access_token");
  }
  const str = (v) => (typeof v === "string" ? v : "");
  return connection(code, token, str(raw.name), str(raw.email));
}

/** SHA-256 of `text`, hex. */
async function sha256(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A ledger in this process's memory: right for one process (a single Node
 * server, tests), wrong for several instances or a serverless platform, where
 * each instance would hold its own. Implement the same four methods over your
 * database there (see server.d.ts, `Ledger`).
 */
export function memoryLedger() {
  const entries = new Map();
  const held = (claim) => {
    const e = entries.get(claim.tokenHash);
    if (!e || e.claimId !== claim.id || e.outcome) throw new Error("the entry is not pending under this claim");
    return e;
  };
  return {
    async claim(claim, staleAfterMs) {
      const fresh = { clientUserId: claim.clientUserId, claimId: claim.id, claimedAt: Date.now(), outcome: null };
      const e = entries.get(claim.tokenHash);
      if (!e) {
        entries.set(claim.tokenHash, fresh);
        return { status: "new" };
      }
      if (e.outcome && e.outcome.zivaUserCode !== undefined) {
        return { status: "exchanged", clientUserId: e.clientUserId, zivaUserCode: e.outcome.zivaUserCode };
      }
      if (e.outcome) return { status: "refused", clientUserId: e.clientUserId };
      if (e.clientUserId === claim.clientUserId && Date.now() - e.claimedAt > staleAfterMs) {
        entries.set(claim.tokenHash, fresh);
        return { status: "taken_over" };
      }
      return { status: "pending", clientUserId: e.clientUserId };
    },
    async complete(claim, { zivaUserCode }) {
      held(claim).outcome = { zivaUserCode };
    },
    async release(claim) {
      held(claim);
      entries.delete(claim.tokenHash);
    },
    async refuse(claim, why) {
      held(claim).outcome = { refused: why };
    },
  };
}

/** `fn()`, tried again with backoff while it throws, for up to WRITE_BUDGET_MS. */
async function withinBudget(fn, log, what) {
  const start = Date.now();
  let wait = 50;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() - start + wait > WRITE_BUDGET_MS) throw err;
      log("warn", `${what} failed; retrying: ${errorText(err)}`);
      await sleep(wait);
      wait = Math.min(wait * 2, 1000);
    }
  }
}

/** An application's error, for the log: its name and message (the application's own text). */
function errorText(err) {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

// The refusals, as the Rust crate's route answers them.
const REFUSALS = {
  forbiddenOrigin: [403, "forbidden", "Origin not allowed"],
  noHeader: [403, "forbidden", "Missing X-ZivaCare-Connect header"],
  otherUser: [403, "forbidden", "This connection is for another user than the one signed in"],
  unauthenticated: [401, "unauthenticated", "Sign in first"],
  mediaType: [415, "unsupported_media_type", "Send application/json"],
  tooLarge: [413, "body_too_large", "The request body is too large"],
  malformed: [400, "invalid_request", "Malformed request body"],
  method: [405, "method_not_allowed", "Use POST"],
  internal: [500, "internal_error", "Something went wrong"],
  tokenRejected: [400, "token_rejected", "ZivaCare did not accept this connection: connect again"],
  tokenReused: [409, "token_reused", "This specialToken was already used"],
  misconfigured: [502, "upstream_misconfigured", "ZivaCare could not complete the connection"],
  upstream: [502, "upstream_error", "ZivaCare could not complete the connection"],
  timeout: [504, "upstream_timeout", "ZivaCare did not answer in time"],
};

/** A JSON answer that is personal: never cached, never sniffed. */
function answer(status, body, extra = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store", "x-content-type-options": "nosniff", ...extra },
  });
}

function refuse([status, code, message], extra) {
  return answer(status, { code, message }, extra);
}

/** Whether `type` is JSON: `application/json` or `application/*+json`, any parameters. */
function isJson(type) {
  const essence = (type || "").split(";")[0].trim().toLowerCase();
  return essence === "application/json" || (essence.startsWith("application/") && essence.endsWith("+json"));
}

/** The body, read up to MAX_FORWARD_BODY bytes; `null` when it is larger. */
async function readBody(request) {
  const length = Number(request.headers.get("content-length"));
  if (Number.isFinite(length) && length > MAX_FORWARD_BODY) return null;
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_FORWARD_BODY) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}

const FORWARD_KEYS = ["specialToken", "clientId", "clientUserId", "state"];
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/**
 * The SDK's forward, `{"specialToken", "clientId", "clientUserId", "state"}`,
 * all strings, each key once and no other: the fields, or `null`. (JSON.parse
 * alone would keep the last of two same keys.)
 */
function parseForward(text) {
  const fields = {};
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const string = () => {
    JSON_STRING.lastIndex = i;
    const m = JSON_STRING.exec(text);
    if (!m) return null;
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  ws();
  if (text[i++] !== "{") return null;
  ws();
  for (;;) {
    const key = string();
    if (key === null || !FORWARD_KEYS.includes(key) || Object.hasOwn(fields, key)) return null;
    ws();
    if (text[i++] !== ":") return null;
    ws();
    const value = string();
    if (value === null) return null;
    fields[key] = value;
    ws();
    const next = text[i++];
    if (next === "}") break;
    if (next !== ",") return null;
    ws();
  }
  ws();
  if (i !== text.length || FORWARD_KEYS.some((k) => !Object.hasOwn(fields, k))) return null;
  return fields;
}

/** The problem with a well-formed forward, in the Rust route's words, or `null`. */
function problemOf(forward, clientId) {
  if (!isTokenText(forward.specialToken)) return "Invalid specialToken";
  if (forward.clientId !== clientId) return "Unknown clientId";
  if (!isPlainText(forward.clientUserId)) return "Invalid clientUserId";
  if (!isTokenText(forward.state)) return "Invalid state";
  return null;
}

/** The clientUserId of what getUser returned: the user's `clientUserId`, or the string itself. */
function userIdOf(user) {
  if (typeof user === "string") return user;
  return user && typeof user.clientUserId === "string" ? user.clientUserId : null;
}

function checkConfig(options) {
  const o = options || {};
  for (const name of ["clientId", "clientSecret"]) {
    if (typeof o[name] !== "string" || o[name] === "") throw configError(`${name} is required`);
  }
  const origins = typeof o.appOrigin === "string" ? [o.appOrigin] : o.appOrigin;
  if (!Array.isArray(origins) || origins.length === 0 || !origins.every((x) => typeof x === "string" && x !== "")) {
    throw configError("appOrigin is required: your page's origin, such as https://app.example.com, or a list of them");
  }
  for (const origin of origins) {
    let parsed;
    try {
      parsed = new URL(origin);
    } catch {
      throw configError(`appOrigin ${JSON.stringify(origin)} is not an origin`);
    }
    if (parsed.origin !== origin) throw configError(`appOrigin ${JSON.stringify(origin)} is not an origin (did you mean ${JSON.stringify(parsed.origin)}?)`);
  }
  for (const name of ["getUser", "save"]) {
    if (typeof o[name] !== "function") throw configError(`${name} is required: a function`);
  }
  const ledger = o.ledger === undefined ? memoryLedger() : o.ledger;
  for (const method of ["claim", "complete", "release", "refuse"]) {
    if (!ledger || typeof ledger[method] !== "function") throw configError(`ledger must have a ${method} method`);
  }
  const log = o.log === undefined ? (level, message) => console[level](message) : o.log;
  if (typeof log !== "function") throw configError("log must be a function(level, message)");
  return { origins, ledger, log, baseUrl: baseOf(o.baseUrl ?? ZIVACARE_URL, "baseUrl"), timeoutMs: o.timeoutMs ?? DEFAULT_TIMEOUT_MS };
}

/**
 * The endpoint the SDK forwards its specialToken to, as a Fetch API handler:
 * `(request, context?) => Promise<Response>`. It refuses exactly what the
 * Rust crate's route refuses, with the same statuses and `{code, message}`
 * bodies, and stores nothing when it refuses. `getUser(request, context)` is
 * who is signed in (from your session, never from the request's body): an
 * object with `clientUserId`, that id as a string, or null. `save(user,
 * connection, context)` stores the connection (`zivaUserCode`, and
 * `accessToken`, encrypted) for that user. A repeat of a token is answered
 * with the first outcome, through `ledger` (in memory by default: one
 * process only).
 */
export function createTokenHandler(options) {
  const { clientId, clientSecret, getUser, save } = options || {};
  const config = checkConfig(options);
  const { origins, ledger } = config;
  // Every line logged is scrubbed of the secret and of the tokens at hand,
  // which an application's own error (a database's, say) could quote.
  const log = (level, message, secrets = []) => config.log(level, scrub(message, [clientSecret, ...secrets]));
  const staleAfterMs = config.timeoutMs + WRITE_BUDGET_MS + 5_000;
  let misconfigurationLogged = false;

  /** One exchange per token, whoever asks how often: the connection's zivaUserCode. */
  async function exchangeOnce(user, clientUserId, specialToken, context) {
    const secrets = [specialToken];
    const say = (level, message) => log(level, message, secrets);
    const tokenHash = await sha256(specialToken);
    let claim;
    for (;;) {
      claim = { tokenHash, clientUserId, id: crypto.randomUUID() };
      const held = await ledger.claim(claim, staleAfterMs);
      if (held.status === "new") break;
      if (held.status === "taken_over") {
        say("warn", "a stale claim on a specialToken was taken over");
        break;
      }
      if (held.clientUserId !== clientUserId) return { refusal: REFUSALS.tokenReused };
      if (held.status === "exchanged") return { zivaUserCode: held.zivaUserCode };
      if (held.status === "refused") return { refusal: REFUSALS.tokenRejected };
      await sleep(CLAIM_POLL_MS);
    }
    let connected;
    try {
      connected = await exchangeToken({ specialToken, clientSecret, baseUrl: config.baseUrl, timeoutMs: config.timeoutMs });
    } catch (err) {
      if (err.code === "token_rejected") {
        say("info", "ZivaCare refused a specialToken");
        await ledger.refuse(claim, err.zivacareCode || "refused").catch((e) => say("error", `recording a refused specialToken failed: ${errorText(e)}`));
        return { refusal: REFUSALS.tokenRejected };
      }
      // ZivaCare did not exchange it: the claim is given up, for a retry.
      await ledger.release(claim).catch((e) => say("error", `releasing a claim failed: ${errorText(e)}`));
      if (err.code === "upstream_misconfigured") {
        if (!misconfigurationLogged) {
          misconfigurationLogged = true;
          say("error", `configuration error: ZivaCare refused this backend's application (${err.zivacareCode}): check clientId and clientSecret`);
        }
        return { refusal: REFUSALS.misconfigured };
      }
      say("error", `the token exchange with ZivaCare failed: ${err.message}`);
      return { refusal: err.code === "upstream_timeout" ? REFUSALS.timeout : REFUSALS.upstream };
    }
    secrets.push(connected.accessToken);
    // ZivaCare spent the token: from here the claim stays, whatever fails, so
    // that no retry exchanges it again.
    try {
      await withinBudget(() => save(user, connected, context), say, "storing an exchanged connection");
      await withinBudget(() => ledger.complete(claim, { zivaUserCode: connected.zivaUserCode }), say, "recording an exchange");
    } catch (err) {
      say("error", `an exchanged connection could not be stored: ${errorText(err)}`);
      return { refusal: REFUSALS.internal };
    }
    return { zivaUserCode: connected.zivaUserCode };
  }

  return async function handleToken(request, context) {
    let token = "";
    try {
      if (request.method !== "POST") return refuse(REFUSALS.method, { allow: "POST" });
      if (!origins.includes(request.headers.get("origin"))) return refuse(REFUSALS.forbiddenOrigin);
      if (!request.headers.has(CONNECT_HEADER)) return refuse(REFUSALS.noHeader);
      const user = await getUser(request, context);
      const signedIn = user === null || user === undefined ? null : userIdOf(user);
      if (signedIn === null) return refuse(REFUSALS.unauthenticated);
      if (!isJson(request.headers.get("content-type"))) return refuse(REFUSALS.mediaType);
      let text;
      try {
        text = await readBody(request);
      } catch {
        return refuse(REFUSALS.malformed);
      }
      if (text === null) return refuse(REFUSALS.tooLarge);
      const forward = parseForward(text);
      if (!forward) return refuse(REFUSALS.malformed);
      const problem = problemOf(forward, clientId);
      if (problem) return refuse([400, "invalid_request", problem]);
      if (forward.clientUserId !== signedIn) return refuse(REFUSALS.otherUser);
      token = forward.specialToken;
      const done = await exchangeOnce(user, signedIn, forward.specialToken, context);
      if (done.refusal) return refuse(done.refusal);
      return answer(200, { zivaUserCode: done.zivaUserCode, connected: true });
    } catch (err) {
      log("error", `the token endpoint failed: ${errorText(err)}`, [token]);
      return refuse(REFUSALS.internal);
    }
  };
}
