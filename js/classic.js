// pkg/connect.js: the classic script. <script src=".../connect.js"> defines
// window.ZivaConnect at once and loads the Wasm module from the script's own
// folder (or from its data-wasm-url attribute). Included twice, it loads once.
// The wasm-bindgen glue is bundled in, so a page downloads two files: this
// script (covered by the page's integrity attribute) and the .wasm (fetched with
// the integrity hash of the build it came with).
import init, { open, connect, button, mountDeclared, mountElement, handleRedirect, captureReturn } from "../pkg/zivacare_connect.js";
import { createZivaConnect } from "./core.js";

/* global __WASM_INTEGRITY__ */

(function () {
  if (typeof window === "undefined" || typeof document === "undefined") return;
  if (window.ZivaConnect && window.ZivaConnect.__zivacare) return;

  var script = document.currentScript;
  var base = script && script.src ? script.src : document.baseURI;
  var wasmAttr = script && script.getAttribute("data-wasm-url");
  var wasmUrl = new URL(wasmAttr || "zivacare_connect_bg.wasm", base).href;

  // A .wasm from elsewhere (data-wasm-url) may be another build: no hash then.
  var integrity = wasmAttr ? undefined : __WASM_INTEGRITY__;

  var api = createZivaConnect(function () {
    var wasm = fetch(wasmUrl, { credentials: "same-origin", integrity: integrity });
    return init({ module_or_path: wasm }).then(function () {
      return {
        open: open, connect: connect, button: button, mountDeclared: mountDeclared, mountElement: mountElement,
        handleRedirect: handleRedirect, captureReturn: captureReturn,
      };
    });
  });

  var ready = api.load().then(function () {});
  ready.catch(function () {}); // reported to whoever awaits it; no unhandled rejection
  window.ZivaConnect = {
    __zivacare: true,
    open: api.open,
    connect: api.connect,
    button: api.button,
    handleRedirect: api.handleRedirect,
    ready: ready,
  };

  api.defineElement();
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", api.mountDeclared);
  } else {
    api.mountDeclared();
  }
})();
