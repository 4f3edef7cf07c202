import type { Ref, DefineComponent } from "vue";
import type { ZivaConnectOptions } from "./index.js";

export function useZivaConnect(
  options: ZivaConnectOptions | Ref<ZivaConnectOptions> | (() => ZivaConnectOptions)
): { open(): void; close(): void; busy: Ref<boolean> };
export const ConnectHealthDataButton: DefineComponent<{
  clientId: string;
  clientUserId: string;
  serverUrl?: string;
  connectUrl?: string;
  label?: string;
  locale?: string;
  state?: string;
}>;
