// ZivaCare Connect in a React app (StrictMode on): the component and the hook.
// Built with Vite from the npm package: `npx vite build` in this folder.
import { createElement as h, StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { ConnectHealthDataButton, useZivaConnect } from "@zivacare/connect/react";

function HookButton(options) {
  const { open, busy } = useZivaConnect(options);
  return h("button", { type: "button", onClick: open, disabled: busy }, busy ? "Connecting…" : "Connect with the hook");
}

function App() {
  const [config, setConfig] = useState(null);
  const [status, setStatus] = useState("Not connected yet.");
  const [shown, setShown] = useState(true);
  useEffect(() => {
    fetch("/api/zivacare/config").then((r) => r.json()).then(setConfig);
  }, []);
  if (!config) return h("p", null, "Loading…");
  const options = {
    clientId: config.clientId,
    clientUserId: "react@example.com",
    connectUrl: config.connectUrl,
    serverUrl: config.serverUrl,
    finish: (err, res) => setStatus(err ? "Error: " + err.code : "Connected: " + res.serverResponse.zivaUserCode),
    close: () => setStatus("Cancelled."),
  };
  return h(
    "main",
    null,
    h("h1", null, "ZivaCare Connect with React"),
    shown ? h(ConnectHealthDataButton, options) : null,
    h("button", { type: "button", onClick: () => setShown(false) }, "Remove the button"),
    h(HookButton, options),
    h("p", { role: "status" }, status)
  );
}

createRoot(document.getElementById("root")).render(h(StrictMode, null, h(App)));
