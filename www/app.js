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

// The readings the demo shows: the data type, ZivaCare's key for its list, a
// title, and the measures a chart draws for each source (most types have one,
// their `value`; a blood pressure has two; a sleep is shown in hours asleep).
const KINDS = [
  { kind: "steps", key: "steps", title: "Steps" },
  { kind: "heart_rates", key: "heartRates", title: "Heart rate" },
  { kind: "weights", key: "weights", title: "Weight" },
  {
    kind: "blood_pressures", key: "bloodPressures", title: "Blood pressure",
    measures: [["systolic", (r) => r.systolic], ["diastolic", (r) => r.diastolic]],
    shown: (r) => `${number(r.systolic)}/${number(r.diastolic)} ${r.unit}`,
  },
  {
    kind: "sleeps", key: "sleeps", title: "Sleep", unit: "hours asleep",
    measures: [["asleep", (r) => Math.round(r.time_asleep / 6) / 10]],
    shown: (r) => `${number(Math.round(r.time_asleep / 6) / 10)} hours asleep`,
  },
];
const VALUE = [["", (r) => r.value]];
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

/** A reading's day: of its record time, or of the end of a sleep. */
const day = (r) => (r.record_time || r.end_time || r.day).slice(0, 10);
const number = (v) => v.toLocaleString("en");
const unitOf = (spec, r) => spec.unit || r.unit;
/** A reading as the table shows it. */
const shown = (spec, r) => (spec.shown ? spec.shown(r) : `${number(r.value)} ${r.unit}`);

/**
 * A line chart of `records`: one line per source and measure, drawn with DOM
 * calls (no inline style or markup, as the page's policy requires), and a
 * legend naming the source (and measure) of each line. Its title and summary
 * are its accessible name and description; the table below it keeps every
 * figure.
 */
function chart(spec, records) {
  const id = "chart-" + spec.kind;
  const measures = spec.measures || VALUE;
  const sorted = [...records].sort((a, b) => day(a).localeCompare(day(b)));
  const values = sorted.flatMap((r) => measures.map(([, value]) => value(r)));
  const [low, high] = [Math.min(...values), Math.max(...values)];
  const span = high - low || 1;
  const days = [...new Set(sorted.map(day))];
  const x = (r) => PAD.left + (days.length > 1 ? (days.indexOf(day(r)) / (days.length - 1)) * (W - PAD.left - PAD.right) : (W - PAD.left - PAD.right) / 2);
  const y = (v) => PAD.top + (1 - (v - low) / span) * (H - PAD.top - PAD.bottom);
  const unit = unitOf(spec, sorted[0]);
  const sources = [...new Set(sorted.map((r) => r.source))];
  const latest = sources.map((source) => {
    const last = sorted.filter((r) => r.source === source).pop();
    const text = spec.shown ? shown(spec, last) : number(last.value);
    return text + (sources.length > 1 ? ` (${source})` : "");
  });
  const summary = `${records.length} readings from ${days[0]} to ${days[days.length - 1]}: ` +
    `lowest ${number(low)}, highest ${number(high)}, latest ${latest.join(", ")}${spec.shown ? "" : " " + unit}.`;
  const root = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title ${id}-desc` });
  root.append(svg("title", { id: `${id}-title` }, `${spec.title} chart`), svg("desc", { id: `${id}-desc` }, summary));
  root.append(
    svg("line", { class: "axis", x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom }),
    svg("line", { class: "axis", x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom }),
    svg("text", { x: 4, y: PAD.top + 8 }, number(high)),
    svg("text", { x: 4, y: H - PAD.bottom }, number(low)),
    svg("text", { x: PAD.left, y: H - 6 }, days[0]),
    svg("text", { x: W - PAD.right - 64, y: H - 6 }, days[days.length - 1])
  );
  const legend = document.createElement("ul");
  legend.className = "legend";
  legend.setAttribute("aria-label", `${spec.title}: the lines`);
  let line = 0;
  for (const source of sources) {
    const own = sorted.filter((r) => r.source === source);
    for (const [measure, value] of measures) {
      const cls = `source-${line++ % 3}${measure === "diastolic" ? " dashed" : ""}`;
      root.append(svg("polyline", { class: `line ${cls}`, points: own.map((r) => `${x(r)},${y(value(r))}`).join(" ") }));
      for (const r of own) root.append(svg("circle", { class: `point ${cls}`, cx: x(r), cy: y(value(r)), r: 3 }));
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = `swatch ${cls}`;
      swatch.setAttribute("aria-hidden", "true");
      item.append(swatch, measure ? `${source}, ${measure}` : source);
      legend.append(item);
    }
  }
  const figure = document.createElement("figure");
  const caption = document.createElement("figcaption");
  caption.textContent = summary;
  figure.append(root, legend, caption);
  return figure;
}

function reading(spec, records) {
  const section = document.createElement("div");
  section.className = "reading";
  const h = document.createElement("h3");
  h.textContent = spec.title;
  section.append(h, chart(spec, records));
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
    row.insertCell().textContent = shown(spec, r);
    row.insertCell().textContent = r.source;
  }
  section.append(t);
  return section;
}

/** A chart and a table for each type the shared sources have readings of. */
async function showData() {
  const lists = await Promise.all(KINDS.map(async (spec) => {
    const body = await api("GET", "/api/zivacare/data/" + spec.kind);
    return [spec, body[spec.key] || []];
  }));
  const parts = lists.filter(([, records]) => records.length).map(([spec, records]) => reading(spec, records));
  if (!parts.length) {
    const p = document.createElement("p");
    p.textContent = "No readings from the sources you shared.";
    parts.push(p);
  }
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
    // The popup; where none can open (an in-app browser, an app on a home
    // screen, a blocked window), this tab goes to ZivaCare and comes back here,
    // and the button continues the flow.
    returnUrl: location.origin + "/",
    uxMode: "auto",
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
