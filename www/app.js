// The demo app: signs its user in (a name or an e-mail, no password: it is a
// demo), renders the Connect button with the SDK for that user, and shows the
// connection and the user's latest readings as charts and tables. The server
// knows the user from the session; the page never names them to it.
"use strict";

const statusEl = document.getElementById("status");
const signInForm = document.getElementById("sign-in");
const signedIn = document.getElementById("signed-in");
const who = document.getElementById("who");
const readings = document.getElementById("readings");
const list = document.getElementById("readings-list");
let config = null;
let handle = null;

function say(text, kind) {
  statusEl.textContent = text;
  statusEl.className = kind || "";
}

async function api(method, url, body) {
  const init = { method, headers: { Accept: "application/json", "X-ZivaCare-Connect": "1" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(url, init);
  if (!resp.ok) {
    const err = new Error(url + " answered " + resp.status);
    err.status = resp.status;
    throw err;
  }
  return resp.status === 204 ? null : resp.json();
}

// The readings the demo shows: the data type, ZivaCare's key for its list, a title.
const KINDS = [["steps", "steps", "Steps"], ["heart_rates", "heartRates", "Heart rate"], ["weights", "weights", "Weight"]];
const SVG = "http://www.w3.org/2000/svg";
const W = 480;
const H = 160;
const PAD = { left: 44, right: 12, top: 12, bottom: 24 };

function svg(name, attrs, text) {
  const el = document.createElementNS(SVG, name);
  for (const key in attrs) el.setAttribute(key, attrs[key]);
  if (text !== undefined) el.textContent = text;
  return el;
}

const day = (r) => r.record_time.slice(0, 10);
const number = (v) => v.toLocaleString("en");

/**
 * A line chart of `records` (one line per source), drawn with DOM calls (no
 * inline style or markup, as the page's policy requires). Its title and
 * summary are its accessible name and description; the table below it keeps
 * every figure.
 */
function chart(kind, title, records) {
  const id = "chart-" + kind;
  const sorted = [...records].sort((a, b) => a.record_time.localeCompare(b.record_time));
  const values = sorted.map((r) => r.value);
  const [low, high] = [Math.min(...values), Math.max(...values)];
  const span = high - low || 1;
  const days = [...new Set(sorted.map(day))];
  const x = (r) => PAD.left + (days.length > 1 ? (days.indexOf(day(r)) / (days.length - 1)) * (W - PAD.left - PAD.right) : (W - PAD.left - PAD.right) / 2);
  const y = (v) => PAD.top + (1 - (v - low) / span) * (H - PAD.top - PAD.bottom);
  const unit = sorted[0].unit;
  const sources = [...new Set(sorted.map((r) => r.source))];
  const latest = sources.map((source) => {
    const last = sorted.filter((r) => r.source === source).pop();
    return number(last.value) + (sources.length > 1 ? ` (${source})` : "");
  });
  const summary = `${records.length} readings from ${days[0]} to ${days[days.length - 1]}: ` +
    `lowest ${number(low)}, highest ${number(high)}, latest ${latest.join(", ")} ${unit}.`;
  const root = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc` });
  root.append(svg("title", { id: `${id}-title` }, `${title} chart`), svg("desc", { id: `${id}-desc` }, summary));
  root.append(
    svg("line", { class: "axis", x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    svg("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
    svg("text", { x: 4, y: PAD.top + 8 }, number(high)),
    svg("text", { x: 4, y: H - PAD.bottom }, number(low)),
    svg("text", { x: PAD.left, y: H - 6 }, days[0]),
    svg("text", { x: W - PAD.right - 64, y: H - 6 }, days[days.length - 1])
  );
  sources.forEach((source, i) => {
    const own = sorted.filter((r) => r.source === source);
    const cls = `source-${i % 3}`;
    root.append(svg("polyline", { class: `line ${cls}`, points: own.map((r) => `${x(r)},${y(r.value)}`).join(" ") }));
    for (const r of own) root.append(svg("circle", { class: `point ${cls}`, cx: x(r), cy: y(r.value), r: 3 }));
  });
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = summary;
  figure.append(root, caption);
  return figure;
}

function reading(kind, title, records) {
  const section = document.createElement("div");
  section.className = "reading";
  const h = document.createElement("h3");
  h.textContent = title;
  section.append(h);
  if (!records.length) {
    const p = document.createElement("p");
    p.textContent = "No readings from the sources you shared.";
    section.append(p);
    return section;
  }
  section.append(chart(kind, title, records));
  const t = document.createElement("table");
  const head = t.createTHead().insertRow();
  for (const name of ["Day", "Value", "Source"]) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = name;
    head.append(th);
  }
  const body = t.createTBody();
  for (const r of records) {
    const row = body.insertRow();
    row.insertCell().textContent = day(r);
    row.insertCell().textContent = number(r.value) + " " + r.unit;
    row.insertCell().textContent = r.source;
  }
  section.append(t);
  return section;
}

async function showData() {
  const parts = await Promise.all(KINDS.map(async ([kind, key, title]) => {
    const body = await api("GET", "/api/zivacare/data/" + kind);
    return reading(kind, title, body[key] || []);
  }));
  list.replaceChildren(...parts);
  readings.hidden = false;
}

async function refresh() {
  readings.hidden = true;
  const status = await api("GET", "/api/zivacare/status");
  if (status.connected) {
    say("Connected to ZivaCare as " + status.name + " (" + status.zivaUserCode + ")", "connected");
    await showData();
  } else {
    say("Not connected yet.");
  }
}

function showSignedIn(user) {
  signInForm.hidden = true;
  signedIn.hidden = false;
  who.textContent = user;
  if (handle) handle.destroy();
  handle = ZivaConnect.button("#connect", {
    clientId: config.clientId,
    clientUserId: user,
    connectUrl: config.connectUrl,
    serverUrl: config.serverUrl,
    finish(err) {
      if (err) {
        say("Could not connect: " + err.message + " (" + err.code + ")", "error");
        return;
      }
      refresh().catch((e) => say(e.message, "error"));
    },
    close() {
      say("Connection cancelled.");
    },
  });
  return refresh();
}

function showSignedOut() {
  if (handle) handle.destroy();
  handle = null;
  signedIn.hidden = true;
  readings.hidden = true;
  signInForm.hidden = false;
  say("Sign in to connect your health data.");
}

signInForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const user = new FormData(signInForm).get("user").trim();
  api("POST", "/api/zivacare/session", { user })
    .then((s) => showSignedIn(s.user))
    .catch((e) => say("Could not sign in: " + e.message, "error"));
});

document.getElementById("sign-out").addEventListener("click", () => {
  api("DELETE", "/api/zivacare/session").then(showSignedOut, (e) => say(e.message, "error"));
});

(async () => {
  try {
    config = await api("GET", "/api/zivacare/config");
    // No need to wait for ZivaConnect.ready: the module draws the button as
    // soon as it is ready.
    const session = await api("GET", "/api/zivacare/session");
    if (session.user) await showSignedIn(session.user);
    else showSignedOut();
  } catch (e) {
    say("The demo could not start: " + e.message, "error");
  }
})();
