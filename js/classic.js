// pkg/connect.js: the classic script. <script src=".../connect.js"> defines
// window.ZivaConnect at once and loads the Wasm module from the script's own
// folder (or from its data-wasm-url attribute). Included twice, it loads once.
import { createZivaConnect } from "./core.js";

(function () {
  if (typeof window === "undefined" || typeof document === "undefined") return;
  if (window.ZivaConnect && window.ZivaConnect.__zivacare) return;

  var script = document.currentScript;
  var base = script && script.src ? script.src : document.baseURI;
  var glueUrl = new URL("zivacare_connect.js", base).href;
  var wasmAttr = script && script.getAttribute("data-wasm-url");
  var wasmUrl = new URL(wasmAttr || "zivacare_connect_bg.wasm", base).href;

  var api = createZivaConnect(function () {
    // Fetch the .wasm while the glue loads, not after: one round trip less.
    var wasm = fetch(wasmUrl, { credentials: "same-origin" });
    return import(/* webpackIgnore: true */ glueUrl).then(function (m) {
      return m.default({ module_or_path: wasm }).then(function () {
        return m;
      });
    });
  });

  var ready = api.load().then(function () {});
  ready.catch(function () {}); // reported to whoever awaits it; no unhandled rejection
  window.ZivaConnect = {
    __zivacare: true,
    open: api.open,
    connect: api.connect,
    button: api.button,
    ready: ready,
  };

  api.defineElement();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      api.mountDeclared(document);
    });
  } else {
    api.mountDeclared(document);
  }
})();
