// Types of @zivacare/connect: every option, result, event and error code.
/** ZivaCare's stable error codes. */
export type ZivaConnectErrorCode =
  | "invalid_options" | "popup_blocked" | "popup_closed" | "opener_severed"
  | "connect_error" | "server_error" | "network_error" | "timeout" | "busy" | "unsupported"
  | "state_mismatch" | "redirect_state_lost" | "invalid_return" | "storage_unavailable";

/** The `Error` every failure is reported with. */
export interface ZivaConnectError extends Error {
  name: "ZivaConnectError";
  code: ZivaConnectErrorCode;
  /** invalid_options: the offending option. */
  field?: string;
  /** connect_error: ZivaCare's code, such as "0011". */
  connectCode?: string;
  /** server_error: the HTTP status of the last answer. */
  status?: number;
}

/** What a finished flow gives. */
export interface ZivaConnectResponse {
  specialToken: string;
  clientId: string;
  clientUserId: string;
  state: string;
  /** The parsed JSON reply of `serverUrl`, when it is set. */
  serverResponse?: unknown;
}

export type ZivaConnectEvent =
  | "popup_opened" | "redirecting" | "message_rejected" | "token_received" | "server_request"
  | "finished" | "closed" | "error";

/** Options shared by open(), connect() and button(). */
export interface ZivaConnectBaseOptions {
  clientId: string;
  clientUserId: string;
  /**
   * The Connect page. Default https://developer.zivacare.com/connect, on ZivaCare's documented
   * developer host; its exact path is not public: set the one ZivaCare gives you.
   */
  connectUrl?: string;
  /** Where to POST the specialToken. Without it the page receives the token itself. */
  serverUrl?: string;
  /** Per-flow nonce; default 128 random bits, base64url. */
  state?: string;
  serverHeaders?: Record<string, string>;
  credentials?: "omit" | "same-origin" | "include";
  /** The whole flow; default 600000 (10 minutes). */
  timeoutMs?: number;
  popupWidth?: number;
  popupHeight?: number;
  /** The button's label; default "Connect Health Data", or its translation for `locale`. */
  label?: string;
  /** The language of the button's label: "en", "es", "fr" or "de" (others get English). */
  locale?: string;
  /**
   * Where the Connect page returns to when it cannot post to a popup's opener (and in the
   * redirect mode): an absolute URL of this page's origin, without a fragment, registered for
   * your clientId by exact string. Pages with it call handleRedirect() on load (button() does).
   */
  returnUrl?: string;
  /** "popup" (the default), "redirect" (this tab goes), or "auto" (the popup, else the redirect). The last two need returnUrl. */
  uxMode?: "popup" | "redirect" | "auto";
  onEvent?: (name: ZivaConnectEvent, details?: { reason?: string; code?: string; attempt?: number }) => void;
}

export interface ZivaConnectOptions extends ZivaConnectBaseOptions {
  finish: (err: ZivaConnectError | null, response?: ZivaConnectResponse) => void;
  close?: () => void;
}

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
/**
 * Continues the flow a return from the Connect page reached this page by (the token is
 * forwarded to serverUrl as after the popup); resolves null on any other page.
 */
export function handleRedirect(options: ZivaConnectBaseOptions): Promise<ZivaConnectResponse | null>;
/** Loads the Wasm module now; it otherwise loads on first use. */
export function load(): Promise<void>;
/** Defines the <zivacare-connect-button> custom element. */
export function defineCustomElement(): void;
