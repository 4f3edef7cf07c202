// Types of the classic script `@zivacare/connect/connect.js` (the script tag):
// it defines `window.ZivaConnect`, with the options and results of the npm
// entry's functions. In TypeScript, import this file once for its types:
//   import type {} from "@zivacare/connect/connect.js";
// (or add "@zivacare/connect/connect.js" to "types" in tsconfig.json).
import type {
  ZivaConnectBaseOptions,
  ZivaConnectButtonHandle,
  ZivaConnectHandle,
  ZivaConnectOptions,
  ZivaConnectResponse,
} from "./index.js";

export type {
  ZivaConnectBaseOptions,
  ZivaConnectButtonHandle,
  ZivaConnectError,
  ZivaConnectErrorCode,
  ZivaConnectEvent,
  ZivaConnectHandle,
  ZivaConnectOptions,
  ZivaConnectResponse,
} from "./index.js";

/** What the script tag defines as `window.ZivaConnect`. */
export interface ZivaConnectGlobal {
  /** Opens the Connect popup; compatible with ZivaCare's connect.js. */
  open(options: ZivaConnectOptions): ZivaConnectHandle;
  /** Opens the Connect popup; resolves with the response or rejects with the error. */
  connect(options: ZivaConnectBaseOptions): Promise<ZivaConnectResponse>;
  /** Renders a "Connect Health Data" button into `target` (a CSS selector or an Element). */
  button(target: string | Element, options: ZivaConnectOptions): ZivaConnectButtonHandle;
  /** Continues the flow a return from the Connect page reached this page by; resolves null on any other page. */
  handleRedirect(options: ZivaConnectBaseOptions): Promise<ZivaConnectResponse | null>;
  /** Resolves once the module is loaded (buttons asked for earlier are drawn by then). */
  readonly ready: Promise<void>;
}

declare global {
  interface Window {
    ZivaConnect: ZivaConnectGlobal;
  }
  /** The script tag's global, as `window.ZivaConnect`. */
  var ZivaConnect: ZivaConnectGlobal;
}
