import type { ZivaConnectBaseOptions, ZivaConnectOptions } from "./index.js";

export interface UseZivaConnect {
  /** Opens the Connect popup; call it from a click handler. */
  open(): void;
  /** Closes the popup and ends the flow. */
  close(): void;
  /** Whether a flow is open. */
  busy: boolean;
}

export function useZivaConnect(options: ZivaConnectOptions): UseZivaConnect;
export function ConnectHealthDataButton(props: ZivaConnectOptions): unknown;
export type { ZivaConnectBaseOptions, ZivaConnectOptions };
