// @zivacare/connect/vue: a thin Vue 3 adapter. The behaviour lives in the Wasm
// core; unmounting closes an open popup and removes every listener.
import { defineComponent, h, onBeforeUnmount, onMounted, ref, watch } from "vue";
import { button, handleRedirect, open } from "./index.js";

/**
 * `const { open, close, busy } = useZivaConnect(options)`: call `open()` from a
 * click handler; `options` may be a ref or a getter.
 */
export function useZivaConnect(options) {
  const busy = ref(false);
  let handle = null;
  const current = () => (typeof options === "function" ? options() : options.value ?? options);
  function start() {
    const o = current();
    busy.value = true;
    const done = () => {
      handle = null;
      busy.value = false;
    };
    handle = open({
      ...o,
      finish: (err, res) => {
        done();
        o.finish?.(err, res);
      },
      ...(o.close ? { close: () => { done(); o.close(); } } : {}),
    });
  }
  onMounted(() => {
    // A page reached by a return from the Connect page: the flow goes on here.
    const o = current();
    if (!o.returnUrl) return;
    const { finish, close, ...plain } = o;
    handleRedirect(plain).then((res) => res && finish?.(null, res), (err) => (err.code === "popup_closed" && close ? close() : finish?.(err)));
  });
  onBeforeUnmount(() => handle?.close());
  return { open: start, close: () => handle?.close(), busy };
}

/** `<ConnectHealthDataButton client-id=… client-user-id=… @finish=… @close=… @error=…>` */
export const ConnectHealthDataButton = defineComponent({
  name: "ConnectHealthDataButton",
  props: {
    clientId: { type: String, required: true },
    clientUserId: { type: String, required: true },
    serverUrl: String,
    connectUrl: String,
    label: String,
    locale: String,
    state: String,
    returnUrl: String,
    uxMode: String,
  },
  emits: ["finish", "close", "error"],
  setup(props, { emit }) {
    const host = ref(null);
    let handle = null;
    const render = () => {
      handle?.destroy();
      const options = {};
      for (const key in props) if (props[key] !== undefined) options[key] = props[key];
      handle = button(host.value, {
        ...options,
        finish: (err, res) => (err ? emit("error", err) : emit("finish", res)),
        close: () => emit("close"),
      });
    };
    onMounted(render);
    watch(() => ({ ...props }), render);
    onBeforeUnmount(() => {
      handle?.destroy();
      handle = null;
    });
    return () => h("span", { ref: host, class: "zivacare-connect" });
  },
});
