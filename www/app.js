// The demo app: renders the Connect button with the SDK, and shows the
// connection and the user's latest readings (step 6 of the flow).
"use strict";

const statusEl = document.getElementById("status");
const input = document.getElementById("client-user-id");
const readings = document.getElementById("readings");
const list = document.getElementById("readings-list");
let config = null;
let handle = null;

function say(text, kind) {
  statusEl.textContent = text;
  statusEl.className = kind || "";
}

async function getJson(url) {
  const resp = await fetch(url, { headers: { Accept: "application/json" } });
  if (!resp.ok) throw new Error(url + " answered " + resp.status);
  return resp.json();
}

function table(title, records) {
  const section = document.createElement("div");
  const h = document.createElement("h3");
  h.textContent = title;
  section.append(h);
  if (!records.length) {
    const p = document.createElement("p");
    p.textContent = "No readings from the sources you shared.";
    section.append(p);
    return section;
  }
  const t = document.createElement("table");
  for (const r of records) {
    const row = t.insertRow();
    row.insertCell().textContent = r.record_time.slice(0, 10);
    row.insertCell().textContent = r.value + " " + r.unit;
    row.insertCell().textContent = r.source;
  }
  section.append(t);
  return section;
}

async function showData(user) {
  const kinds = [["steps", "Steps"], ["heart_rates", "Heart rate"], ["weights", "Weight"]];
  const parts = await Promise.all(kinds.map(async ([kind, title]) => {
    const body = await getJson("/api/zivacare/data/" + kind + "?clientUserId=" + encodeURIComponent(user));
    return table(title, body[kind] || []);
  }));
  list.replaceChildren(...parts);
  readings.hidden = false;
}

async function refresh() {
  const user = input.value.trim();
  readings.hidden = true;
  if (!user) return say("Enter your user id to connect.");
  const status = await getJson("/api/zivacare/status?clientUserId=" + encodeURIComponent(user));
  if (status.connected) {
    say("Connected to ZivaCare as " + status.name + " (" + status.zivaUserCode + ")", "connected");
    await showData(user);
  } else {
    say("Not connected yet.");
  }
}

function render() {
  if (handle) handle.destroy();
  const user = input.value.trim();
  if (!user || !config) return;
  handle = ZivaConnect.button("#connect", {
    clientId: config.clientId,
    clientUserId: user,
    connectUrl: config.connectUrl,
    serverUrl: config.serverUrl,
    finish(err) {
      if (err) {
        say(err.code === "popup_closed" ? "Connection cancelled." : "Could not connect: " + err.message + " (" + err.code + ")", "error");
        return;
      }
      refresh().catch((e) => say(e.message, "error"));
    },
    close() {
      say("Connection cancelled.");
    },
  });
}

// The button follows the field as the user types, so a click right after
// typing hits the button for that user (a re-render on "change" would replace
// the button under the very click that blurs the field).
input.addEventListener("input", render);
input.addEventListener("change", () => refresh().catch((e) => say(e.message, "error")));

(async () => {
  try {
    config = await getJson("/api/zivacare/config");
    // No need to wait for ZivaConnect.ready: the module draws the button as
    // soon as it is ready.
    render();
    await refresh();
  } catch (e) {
    say("The demo could not start: " + e.message, "error");
  }
})();
