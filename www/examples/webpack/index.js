// ZivaCare Connect from the npm package in a webpack 5 build, no extra plugin:
// webpack emits the .wasm found through new URL(…, import.meta.url).
import { button } from "@zivacare/connect";

const status = document.getElementById("status");
fetch("/api/zivacare/config")
  .then((r) => r.json())
  .then((config) => {
    button("#connect", {
      clientId: config.clientId,
      clientUserId: "webpack@example.com",
      connectUrl: config.connectUrl,
      serverUrl: config.serverUrl,
      finish(err, res) {
        status.textContent = err ? "Error: " + err.code : "Connected: " + res.serverResponse.zivaUserCode;
      },
      close() {
        status.textContent = "Cancelled.";
      },
    });
  });
