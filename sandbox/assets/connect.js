// The sandbox's Connect page: pick sources, finish or cancel, and tell the app
// through window.opener, addressed to the app's registered origin only.
"use strict";

const main = document.getElementById("connect");
if (main) {
  const { clientId, clientUserId, origin, state } = main.dataset;
  const status = document.getElementById("status");
  const finish = document.getElementById("finish");

  const tell = (message) => {
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
