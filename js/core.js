// The JS side of ZivaCare Connect, shared by the classic script (pkg/connect.js)
// and the ES module entry (pkg/index.js, which keeps it from running outside a
// browser): it draws the button, loads the Wasm module once, and makes calls
// that come before the module is ready safe: the popup still opens inside the
// click, and the module finishes the flow once loaded. The flow itself lives
// once, in the Wasm core.

/** An error like the module's own: `name` ZivaConnectError and a stable `code`. */
export function zivaError(code, message) {
  var e = new Error(message);
  e.name = "ZivaConnectError";
  e.code = code;
  return e;
}

/**
 * @param {() => Promise<any>} loadModule resolves with the initialised module
 */
export function createZivaConnect(loadModule) {
  var mod = null;
  var loading = null;

  function load() {
    if (!loading) {
      loading = loadModule()
        .then(function (m) {
          mod = m;
          return m;
        })
        .catch(function (err) {
          loading = null; // a failed load can be retried by the next call
          throw err;
        });
    }
    return loading;
  }

  function loadError(cause) {
    var e = zivaError("network_error", "The ZivaCare Connect module could not be loaded");
    e.cause = cause;
    return e;
  }

  // The popup must open inside the click: open it blank now, navigate it once ready.
  function blankPopup(options) {
    var w = (options && options.popupWidth) || 500;
    var h = (options && options.popupHeight) || 720;
    return window.open("about:blank", "zivacare-connect", "popup=yes,width=" + w + ",height=" + h);
  }

  // A failure after the call has returned (the module loaded late) goes to the
  // page's finish callback; without one, to the console rather than nowhere.
  function fail(options, popup, err) {
    if (popup) popup.close();
    if (options && typeof options.finish === "function") options.finish(err);
    else console.error(err);
  }

  // The page's handle of flow number `id` in the module.
  function handleOf(m, id) {
    return {
      close: function () {
        m.__close(id);
      },
      get closed() {
        return !m.__isOpen(id);
      },
    };
  }

  // Runs a flow; `onEnd` (optional) is called when it ends or cannot start,
  // before its outcome reaches the page.
  function launch(options, onEnd) {
    if (mod) return handleOf(mod, mod.__openIn(options, null, onEnd));
    var popup = blankPopup(options);
    var handle = null;
    var cancelled = false;
    load().then(
      function (m) {
        if (cancelled) return;
        try {
          handle = handleOf(m, m.__openIn(options, popup, onEnd));
        } catch (err) {
          if (onEnd) onEnd();
          fail(options, popup, err); // invalid options, found once the module could check them
        }
      },
      function (err) {
        if (onEnd) onEnd();
        fail(options, popup, loadError(err));
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

  function open(options) {
    return launch(options, null);
  }

  function connect(options) {
    if (mod) return settled(mod, options, null);
    var popup = blankPopup(options);
    return load().then(
      function (m) {
        return settled(m, options, popup);
      },
      function (err) {
        if (popup) popup.close();
        throw loadError(err);
      }
    );
  }

  function settled(m, options, popup) {
    return new Promise(function (resolve, reject) {
      m.__connectIn(options, popup, resolve, reject);
    });
  }

  // The button's label by language; other languages get English. (The module
  // checks the `label` and `locale` options; the button is drawn here, so that it
  // is there and clickable before the module has loaded.)
  var LABELS = { en: "Connect Health Data", es: "Conectar datos de salud", fr: "Connecter mes données de santé", de: "Gesundheitsdaten verbinden" };

  function labelOf(options) {
    if (options && typeof options.label === "string" && options.label) return options.label;
    var lang = options && typeof options.locale === "string" ? options.locale.split(/[-_]/)[0].toLowerCase() : "en";
    return LABELS[lang] || LABELS.en;
  }

  function targetError(problem) {
    var e = zivaError("invalid_options", "target " + problem);
    e.field = "target";
    return e;
  }

  function resolve(target) {
    var el = target;
    if (typeof target === "string") {
      try {
        el = document.querySelector(target);
      } catch (err) {
        throw targetError("is not a valid CSS selector");
      }
      if (!el) throw targetError("matches no element");
    }
    if (!el || typeof el.appendChild !== "function") throw targetError("must be a CSS selector or an Element");
    return el;
  }

  // A <button> whose click runs open(): busy (disabled, aria-busy) while its
  // flow is open, so a double click opens one popup. Before the module has
  // loaded, a click still opens the popup inside the click (see open()).
  function button(target, options) {
    if (mod) mod.__check(options); // invalid options throw here, at once
    var el = document.createElement("button");
    el.type = "button";
    el.className = "zivacare-connect-button";
    el.setAttribute("part", "button");
    el.textContent = labelOf(options);
    resolve(target).appendChild(el);
    var handle = null;
    var destroyed = false;

    function busy(on) {
      el.disabled = on;
      if (on) el.setAttribute("aria-busy", "true");
      else el.removeAttribute("aria-busy");
    }
    function ended() {
      handle = null;
      busy(false);
    }
    function click() {
      if (handle || destroyed) return;
      busy(true);
      try {
        var h = launch(options, ended);
        if (el.disabled) handle = h; // unless it ended at once (a blocked popup)
      } catch (err) {
        busy(false); // options changed since button() checked them
        fail(options, null, err);
      }
    }
    el.addEventListener("click", click);
    if (!mod) {
      // Options are checked once the module is there; a flow a click started
      // meanwhile reports its own failure through finish.
      load().then(function (m) {
        try {
          m.__check(options);
        } catch (err) {
          if (destroyed) return;
          destroyed = true;
          el.remove();
          if (!handle) fail(options, null, err);
        }
      }, function () {});
    }
    return {
      destroy: function () {
        destroyed = true;
        el.removeEventListener("click", click);
        el.remove();
        if (handle) handle.close();
      },
    };
  }

  // Declarative use: <div data-zivacare-connect data-client-id=… data-client-user-id=…
  // data-server-url=…> and <zivacare-connect-button client-id=… …> become buttons
  // that report through DOM events: zivacare-finish, zivacare-close, zivacare-error.
  function emit(el, name, detail) {
    el.dispatchEvent(new CustomEvent(name, { detail: detail, bubbles: true, composed: true }));
  }

  // The attributes of the declarative forms (data-… and the custom element's).
  var OPTIONAL = { serverUrl: "server-url", connectUrl: "connect-url", label: "label", state: "state", locale: "locale" };
  var ATTRIBUTES = ["client-id", "client-user-id"].concat(Object.values(OPTIONAL));

  // `host` gets the DOM events; the button goes into `target` (the host itself,
  // or the custom element's shadow root).
  function mount(el, read, target) {
    var options = { clientId: read("client-id"), clientUserId: read("client-user-id") };
    for (var key in OPTIONAL) {
      var value = read(OPTIONAL[key]);
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
      return button(target || el, options);
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

  // The custom element's look, themable from the page with CSS custom properties
  // (--zivacare-button-background, -color, -radius, -padding, --zivacare-focus-color)
  // or ::part(button). A constructed stylesheet: no inline style, so strict CSPs hold.
  var CSS =
    ":host{display:inline-block}" +
    "button{font:inherit;font-weight:600;cursor:pointer;border:0;" +
    "padding:var(--zivacare-button-padding,.65em 1.2em);border-radius:var(--zivacare-button-radius,8px);" +
    "background:var(--zivacare-button-background,#0b5d5b);color:var(--zivacare-button-color,#fff)}" +
    "button:focus-visible{outline:3px solid var(--zivacare-focus-color,#f0a500);outline-offset:2px}" +
    "button:disabled{opacity:.6;cursor:progress}";
  var sheet = null;

  function shadowFor(el) {
    if (el.shadowRoot) return el.shadowRoot;
    var root = el.attachShadow({ mode: "open" });
    if (!sheet && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
    }
    if (sheet) root.adoptedStyleSheets = [sheet];
    return root;
  }

  /** Defines <zivacare-connect-button> once per page. */
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
          if (this.handle) this.handle.destroy();
          this.handle = mount(this, this.getAttribute.bind(this), shadowFor(this));
        }
      }
    );
  }


  return {
    open: open,
    connect: connect,
    button: button,
    load: load,
    mountDeclared: mountDeclared,
    defineElement: defineElement,
  };
}

