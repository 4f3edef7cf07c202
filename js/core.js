// The JavaScript side of ZivaCare Connect, shared by the classic script
// (pkg/connect.js) and the ES module entry (pkg/index.js). Only what must be
// JavaScript: loading the Wasm module once, keeping calls made before it is
// ready (a popup still opens inside the click), and the custom element's class.
// The button, the flow and the declarative forms live in the Wasm module.

/** An error like the module's own: `name` ZivaConnectError and a stable `code`. */
export function zivaError(code, message) {
  var e = new Error(message);
  e.name = "ZivaConnectError";
  e.code = code;
  return e;
}

/**
 * A return from the Connect page (`#zc_v=1&zc_state=…`), taken out of the URL
 * at once, before any other script of the page can read it: its fragment, for
 * the module to check and forward; `null` on any other page.
 */
function takeReturn() {
  if (typeof location === "undefined" || !/(^#|&)zc_/.test(location.hash)) return null;
  var fragment = location.hash.slice(1);
  history.replaceState(history.state, "", location.href.split("#")[0]);
  return fragment;
}

/**
 * @param {() => Promise<any>} loadModule resolves with the initialised module
 */
export function createZivaConnect(loadModule) {
  var mod = null;
  var loading = null;
  var returned = takeReturn();

  // One load per page; a failed load can be retried by the next call.
  function load() {
    if (!loading) {
      loading = loadModule().then(
        function (m) {
          if (returned !== null) m.captureReturn(returned);
          returned = null;
          mod = m;
          return m;
        },
        function (err) {
          loading = null;
          var e = zivaError("network_error", "The ZivaCare Connect module could not be loaded");
          e.cause = err;
          throw e;
        }
      );
    }
    return loading;
  }

  // A failure after the call has returned goes to the page's finish callback;
  // without one, to the console rather than nowhere.
  function fail(options, err) {
    if (options && typeof options.finish === "function") options.finish(err);
    else console.error(err);
  }

  // Before the module is ready, the popup must still open inside the click:
  // open it blank now; the module navigates it once loaded. Not for the
  // redirect modes: the module decides there, and may take this tab instead.
  function blankPopup(options) {
    if (options && options.uxMode && options.uxMode !== "popup") return null;
    var w = (options && options.popupWidth) || 500;
    var h = (options && options.popupHeight) || 720;
    try {
      return window.open("about:blank", "zivacare-connect", "popup=yes,width=" + w + ",height=" + h);
    } catch (e) {
      return null;
    }
  }

  function open(options) {
    if (mod) return mod.open(options);
    var popup = blankPopup(options);
    var handle = null;
    var cancelled = false;
    load()
      .then(function (m) {
        if (!cancelled) handle = m.open(options, popup);
      })
      .catch(function (err) {
        if (popup) popup.close();
        fail(options, err);
      });
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
        return m.connect(options, popup);
      },
      function (err) {
        if (popup) popup.close();
        throw err;
      }
    );
  }

  // `render(module)` at once when the module is ready, else once it is; the
  // handle's destroy() before that means it never renders.
  function later(render, options) {
    if (mod) return render(mod) || { destroy: function () {} };
    var handle = null;
    var destroyed = false;
    load()
      .then(function (m) {
        if (!destroyed) handle = render(m);
      })
      .catch(function (err) {
        fail(options, err);
      });
    return {
      destroy: function () {
        destroyed = true;
        if (handle) handle.destroy();
        handle = null;
      },
    };
  }

  // No click to keep: the module continues the flow once it is loaded.
  function handleRedirect(options) {
    return load().then(function (m) {
      return m.handleRedirect(options);
    });
  }

  function button(target, options) {
    return later(function (m) {
      return m.button(target, options);
    }, options);
  }

  function mountDeclared() {
    later(function (m) {
      m.mountDeclared();
    });
  }

  // The attributes the custom element renders from; changing one re-renders it.
  var ATTRIBUTES = ["client-id", "client-user-id", "server-url", "connect-url", "label", "state", "locale", "return-url", "ux-mode"];

  /** Defines <zivacare-connect-button> once per page; the module renders it. */
  function defineElement() {
    var registry = typeof window !== "undefined" && window.customElements;
    if (!registry || registry.get("zivacare-connect-button")) return;
    registry.define(
      "zivacare-connect-button",
      class extends HTMLElement {
        static get observedAttributes() {
          return ATTRIBUTES;
        }
        connectedCallback() {
          this.render();
        }
        disconnectedCallback() {
          if (this.handle) this.handle.destroy();
          this.handle = null;
        }
        attributeChangedCallback() {
          if (this.handle) this.render();
        }
        render() {
          var host = this;
          if (host.handle) host.handle.destroy();
          host.handle = later(function (m) {
            return m.mountElement(host);
          });
        }
      }
    );
  }

  return {
    open: open,
    connect: connect,
    button: button,
    handleRedirect: handleRedirect,
    load: load,
    mountDeclared: mountDeclared,
    defineElement: defineElement,
  };
}
