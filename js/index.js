// The ES module entry of @zivacare/connect. Importing it touches no browser
// global where there is none (safe under server rendering); in a browser it
// only takes a return from the Connect page out of the URL at once (see
// core.js). The Wasm module loads on first use,
// located with new URL(…, import.meta.url) so that Vite and webpack 5 bundle it.
import { createZivaConnect, zivaError } from "./core.js";

const api = createZivaConnect(() =>
  import("./zivacare_connect.js").then((m) =>
    m.default({ module_or_path: new URL("./zivacare_connect_bg.wasm", import.meta.url) }).then(() => m)
  )
);

// Server rendering: the functions exist, and report `unsupported` if called.
const inBrowser = () => typeof window !== "undefined" && typeof document !== "undefined";
const unsupported = () =>
  zivaError("unsupported", "ZivaCare Connect runs in a browser page: there is no window here (server rendering?)");
const browserOnly = (f) =>
  function () {
    if (!inBrowser()) throw unsupported();
    return f.apply(this, arguments);
  };

/** Opens the Connect popup; see docs/api.md. */
export const open = browserOnly(api.open);
/** Opens the Connect popup; resolves with the response. */
export const connect = (options) => (inBrowser() ? api.connect(options) : Promise.reject(unsupported()));
/** Renders a "Connect Health Data" button into `target`. */
export const button = browserOnly(api.button);
/** Continues the flow a return from the Connect page reached this page by; resolves `null` on any other page. */
export const handleRedirect = (options) => (inBrowser() ? api.handleRedirect(options) : Promise.reject(unsupported()));
/** Loads the module now (it loads on first use otherwise). */
export const load = () => (inBrowser() ? api.load().then(() => undefined) : Promise.reject(unsupported()));
/** Defines the <zivacare-connect-button> custom element. */
export const defineCustomElement = api.defineElement;
