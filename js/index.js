// The ES module entry of @zivacare/connect. Importing it touches no browser
// global (safe under server rendering); the Wasm module loads on first use,
// located with new URL(…, import.meta.url) so that Vite and webpack 5 bundle it.
import { createZivaConnect } from "./core.js";

const api = createZivaConnect(() =>
  import("./zivacare_connect.js").then((m) =>
    m.default({ module_or_path: new URL("./zivacare_connect_bg.wasm", import.meta.url) }).then(() => m)
  )
);

/** Opens the Connect popup; see the README. */
export const open = api.open;
/** Opens the Connect popup; resolves with the response. */
export const connect = api.connect;
/** Renders a "Connect Health Data" button into `target`. */
export const button = api.button;
/** Loads the module now (it loads on first use otherwise). */
export const load = () => api.load().then(() => undefined);
/** Defines the <zivacare-connect-button> custom element. */
export const defineCustomElement = api.defineElement;
