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

  function resolve(target) {
    var el = typeof target === "string" ? document.querySelector(target) : target;
    if (!el || typeof el.appendChild !== "function") {
      var e = new Error("target must be a CSS selector or an Element that exists");
      e.name = "ZivaConnectError";
      e.code = "invalid_options";
      e.field = "target";
      throw e;
    }
    return el;
  }

  function button(target, options) {
    if (mod) return mod.button(target, options);
    // Render the button now: a click before the module is ready opens the popup
    // inside that click; the module takes the button over once loaded.
    var el = document.createElement("button");
    el.type = "button";
    el.className = "zivacare-connect-button";
    el.setAttribute("part", "button");
    el.textContent = (options && typeof options.label === "string" && options.label) || "Connect Health Data";
    resolve(target).appendChild(el);
    var clicked = false;
    var popup = null;
    var handle = null;
    var destroyed = false;
    function early() {
      if (clicked) return;
      clicked = true;
      popup = blankPopup(options);
      el.disabled = true;
      el.setAttribute("aria-busy", "true");
    }
    el.addEventListener("click", early);
    load().then(
      function (m) {
        el.removeEventListener("click", early);
        if (destroyed) return;
        try {
          handle = m.__adoptButton(el, options, clicked, popup);
        } catch (err) {
          el.remove();
          if (popup) popup.close();
          if (options && typeof options.finish === "function") options.finish(err);
          else console.error(err);
        }
      },
      function (err) {
        if (popup) popup.close();
        el.disabled = false;
        el.removeAttribute("aria-busy");
        if (clicked && options && typeof options.finish === "function") options.finish(loadError(err));
      }
    );
    return {
      destroy: function () {
        destroyed = true;
        el.removeEventListener("click", early);
        if (handle) handle.destroy();
        else {
          el.remove();
          if (popup) popup.close();
        }
        handle = null;
      },
    };
  }

  // Declarative use: <div data-zivacare-connect data-client-id=… data-client-user-id=…
  // data-server-url=…> and <zivacare-connect-button client-id=… …> become buttons
  // that report through DOM events: zivacare-finish, zivacare-close, zivacare-error.
  function emit(el, name, detail) {
    el.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true, composed: true }));
  }

  function mount(el, read) {
    var options = { clientId: read("client-id"), clientUserId: read("client-user-id") };
    var extra = { serverUrl: "server-url", connectUrl: "connect-url", label: "label", state: "state" };
    for (var key in extra) {
      var value = read(extra[key]);
      if (value) options[key] = value;
    }
    options.finish = function (err, response) {
      if (err) emit(el, "zivacare-error", err);
      else emit(el, "zivacare-finish", response);
    };
    options.close = function () {
      emit(el, "zivacare-close", null);
    };
    try {
      return button(el, options);
    } catch (err) {
      emit(el, "zivacare-error", err);
      return null;
    }
  }

  function mountDeclared(root) {
    var found = root.querySelectorAll("[data-zivacare-connect]");
    for (var i = 0; i < found.length; i++) {
      var el = found[i];
      if (el.__zivacareMounted) continue;
      el.__zivacareMounted = true;
      mount(el, function (name) {
        return this.getAttribute("data-" + name);
      }.bind(el));
    }
  }

  if (window.customElements && !window.customElements.get("zivacare-connect-button")) {
    var ConnectButton = function () {
      return Reflect.construct(HTMLElement, [], ConnectButton);
    };
    ConnectButton.prototype = Object.create(HTMLElement.prototype);
    ConnectButton.prototype.constructor = ConnectButton;
    Object.setPrototypeOf(ConnectButton, HTMLElement);
    ConnectButton.observedAttributes = ["client-id", "client-user-id", "server-url", "connect-url", "label", "state"];
    ConnectButton.prototype.connectedCallback = function () {
      this.render();
    };
    ConnectButton.prototype.disconnectedCallback = function () {
      if (this.handle) this.handle.destroy();
      this.handle = null;
    };
    ConnectButton.prototype.attributeChangedCallback = function () {
      if (this.handle) this.render();
    };
    ConnectButton.prototype.render = function () {
      if (this.handle) this.handle.destroy();
      this.handle = mount(this, this.getAttribute.bind(this));
    };
    window.customElements.define("zivacare-connect-button", ConnectButton);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      mountDeclared(document);
    });
  } else {
    mountDeclared(document);
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
