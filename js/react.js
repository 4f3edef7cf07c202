// @zivacare/connect/react: a thin React adapter. The behaviour lives in the
// Wasm core; this only ties it to a component's life: unmounting (also under
// StrictMode's double mounting) closes an open popup and removes every listener.
import { createElement, useCallback, useEffect, useRef, useState } from "react";
import { button, handleRedirect, open } from "./index.js";

const CALLBACKS = ["finish", "close", "onEvent"];

function plain(options) {
  const out = {};
  for (const key in options) if (!CALLBACKS.includes(key) && options[key] !== undefined) out[key] = options[key];
  return out;
}

/** The page's latest callbacks, called through a stable wrapper. */
function withLatest(ref, done) {
  const o = ref.current;
  const wrapped = {
    ...plain(o),
    finish: (err, res) => {
      done();
      ref.current.finish?.(err, res);
    },
    onEvent: (name, details) => ref.current.onEvent?.(name, details),
  };
  if (o.close) {
    wrapped.close = () => {
      done();
      ref.current.close?.();
    };
  }
  return wrapped;
}

/**
 * `const { open, close, busy } = useZivaConnect(options)`: call `open()` from a
 * click handler (the popup must open inside the click).
 */
export function useZivaConnect(options) {
  const ref = useRef(options);
  ref.current = options;
  const handle = useRef(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    // A page reached by a return from the Connect page: the flow goes on here.
    if (ref.current.returnUrl) {
      const o = withLatest(ref, () => setBusy(false));
      handleRedirect(plain(o)).then((res) => res && o.finish(null, res), (err) => (err.code === "popup_closed" && o.close ? o.close() : o.finish(err)));
    }
    return () => {
      handle.current?.close();
      handle.current = null;
    };
  }, []);
  const start = useCallback(() => {
    setBusy(true);
    handle.current = open(
      withLatest(ref, () => {
        handle.current = null;
        setBusy(false);
      })
    );
  }, []);
  const close = useCallback(() => handle.current?.close(), []);
  return { open: start, close, busy };
}

/** `<ConnectHealthDataButton clientId=… clientUserId=… finish=…/>`: the SDK's button. */
export function ConnectHealthDataButton(props) {
  const host = useRef(null);
  const ref = useRef(props);
  ref.current = props;
  const { finish, close, onEvent, ...rest } = props;
  const key = JSON.stringify(rest);
  useEffect(() => {
    const handle = button(host.current, withLatest(ref, () => {}));
    return () => handle.destroy();
  }, [key]);
  return createElement("span", { ref: host, className: "zivacare-connect" });
}
