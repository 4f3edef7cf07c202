// The sandbox's Connect page: pick sources, finish or cancel, and tell the app.
// From a popup, through window.opener, addressed to the app's registered
// origin only. With a registered return URL, by going back to it with the
// outcome in the fragment (never the query): in the redirect mode, and from a
// popup with no opener left (an in-app browser that opened it in the same tab,
// or a page whose Cross-Origin-Opener-Policy cut it off).
"use strict";

const main = document.getElementById("connect");
if (main) {
  const { clientId, clientUserId, origin, state, returnUrl, uxMode } = main.dataset;
  const status = document.getElementById("status");
  const finish = document.getElementById("finish");

  // #zc_v=1&zc_state=…&zc_result=finish&zc_token=… (or close, or error with zc_code and zc_message).
  const fragment = (message) => {
    const result = message.type.slice("zivacare-connect:".length);
    const parts = [["zc_v", "1"], ["zc_state", state], ["zc_result", result]];
    if (message.specialToken) parts.push(["zc_token", message.specialToken]);
    if (message.code) parts.push(["zc_code", message.code], ["zc_message", message.message]);
    return parts.map(([k, v]) => k + "=" + encodeURIComponent(v)).join("&");
  };

  // Whether the app heard it (this window may then close).
  const tell = (message) => {
    if (returnUrl && (uxMode === "redirect" || !window.opener)) {
      location.replace(returnUrl + "#" + fragment(message));
      return false;
    }
    if (!window.opener) {
      status.textContent = "This window was not opened by an app; nothing was shared.";
      return false;
    }
    window.opener.postMessage(Object.assign({ state }, message), origin);
    return true;
  };

  document.getElementById("sources").addEventListener("submit", async (event) => {
    event.preventDefault();
    const sources = Array.from(document.querySelectorAll("input[name=source]:checked"), (i) => i.value);
    if (sources.length === 0) {
      status.textContent = "Choose at least one source to share.";
      return;
    }
    finish.disabled = true;
    status.textContent = "Connecting…";
    try {
      const resp = await fetch("/connect/finish", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ clientId, clientUserId, origin, sources }),
      });
      const body = await resp.json();
      if (!resp.ok) {
        tell({ type: "zivacare-connect:error", code: String(body.code), message: String(body.message) });
        status.textContent = "ZivaCare could not connect your data: " + body.message;
        finish.disabled = false;
        return;
      }
      if (tell({ type: "zivacare-connect:finish", specialToken: body.specialToken })) window.close();
    } catch (err) {
      status.textContent = "ZivaCare could not be reached. Please try again.";
      finish.disabled = false;
    }
  });

  document.getElementById("cancel").addEventListener("click", () => {
    if (tell({ type: "zivacare-connect:close" })) window.close();
  });

  document.getElementById("simulate-error").addEventListener("click", () => {
    const sent = tell({
      type: "zivacare-connect:error",
      code: "0011",
      message: "Application not recognised (simulated by the sandbox)",
    });
    if (sent) window.close();
  });
}
