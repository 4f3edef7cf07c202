/*! ZivaCare Connect loader: a classic script that defines window.ZivaConnect at once
 * and loads the WebAssembly module from its own folder (or from data-wasm-url).
 * Calls made before the module is ready still open the popup inside the click. */
(function () {
  "use strict";
  if (typeof window === "undefined" || typeof document === "undefined") return;
  if (window.ZivaConnect && window.ZivaConnect.__zivacare) return; // included twice: load once

  var script = document.currentScript;
  var base = script && script.src ? script.src : document.baseURI;
  var glueUrl = new URL("zivacare_connect.js", base).href;
  var wasmAttr = script && script.getAttribute("data-wasm-url");
  var wasmUrl = new URL(wasmAttr || "zivacare_connect_bg.wasm", base).href;
  var mod = null;
  var loading = null;

  function load() {
    if (!loading) {
      loading = import(glueUrl)
        .then(function (m) {
          return m.default({ module_or_path: wasmUrl }).then(function () {
            mod = m;
            return m;
          });
        })
        .catch(function (err) {
          loading = null; // a failed load can be retried by the next call
          throw err;
        });
    }
    return loading;
  }

  function loadError(cause) {
    var e = new Error("The ZivaCare Connect module could not be loaded");
    e.name = "ZivaConnectError";
    e.code = "network_error";
    e.cause = cause;
    return e;
  }

  // The popup must open inside the click: open it blank now, navigate it once ready.
  function blankPopup(options) {
    var w = (options && options.popupWidth) || 500;
    var h = (options && options.popupHeight) || 720;
    return window.open("about:blank", "zivacare-connect", "popup=yes,width=" + w + ",height=" + h);
  }

  function open(options) {
    if (mod) return mod.open(options);
    var popup = blankPopup(options);
    var handle = null;
    var cancelled = false;
    load().then(
      function (m) {
        if (cancelled) return;
        handle = popup ? m.__openIn(options, popup) : m.open(options);
      },
      function (err) {
        if (popup) popup.close();
        if (options && typeof options.finish === "function") options.finish(loadError(err));
      }
    );
    return {
      close: function () {
        cancelled = true;
        if (handle) handle.close();
        else if (popup) popup.close();
      },
      get closed() {
        return cancelled || (handle ? handle.closed : false);
      },
    };
  }

  function connect(options) {
    if (mod) return mod.connect(options);
    var popup = blankPopup(options);
    return load().then(
      function (m) {
        return popup ? m.__connectIn(options, popup) : m.connect(options);
      },
      function (err) {
        if (popup) popup.close();
        throw loadError(err);
      }
    );
  }

  function button(target, options) {
    if (mod) return mod.button(target, options);
    var handle = null;
    var destroyed = false;
    load().then(function (m) {
      if (!destroyed) handle = m.button(target, options);
    });
    return {
      destroy: function () {
        destroyed = true;
        if (handle) handle.destroy();
        handle = null;
      },
    };
  }

  var ready = load().then(function () {});
  ready.catch(function () {}); // reported to whoever awaits it; no unhandled rejection
  window.ZivaConnect = {
    __zivacare: true,
    open: open,
    connect: connect,
    button: button,
    ready: ready,
  };
})();
