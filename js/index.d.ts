// Types of the ES module entry of @zivacare/connect.
import type {
  ZivaConnectBaseOptions,
  ZivaConnectOptions,
  ZivaConnectResponse,
} from "./zivacare_connect.js";

export type {
  ZivaConnectBaseOptions,
  ZivaConnectOptions,
  ZivaConnectResponse,
  ZivaConnectError,
  ZivaConnectErrorCode,
  ZivaConnectEvent,
} from "./zivacare_connect.js";

/** What open() returns. */
export interface ZivaConnectHandle {
  /** Closes the popup and ends the flow (reported as popup_closed). */
  close(): void;
  /** Whether the flow has ended. */
  readonly closed: boolean;
}

/** What button() returns. */
export interface ZivaConnectButtonHandle {
  /** Removes the button and every listener it added; safe to call twice. */
  destroy(): void;
}

/** Opens the Connect popup; compatible with ZivaCare's connect.js. */
export function open(options: ZivaConnectOptions): ZivaConnectHandle;
/** Opens the Connect popup; resolves with the response or rejects with the error. */
export function connect(options: ZivaConnectBaseOptions): Promise<ZivaConnectResponse>;
/** Renders a "Connect Health Data" button into `target` (a CSS selector or an Element). */
export function button(target: string | Element, options: ZivaConnectOptions): ZivaConnectButtonHandle;
/** Loads the Wasm module now; it otherwise loads on first use. */
export function load(): Promise<void>;
/** Defines the <zivacare-connect-button> custom element. */
export function defineCustomElement(): void;
