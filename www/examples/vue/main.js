// ZivaCare Connect in a Vue 3 app: the component and the composable.
// Built with Vite from the npm package: `npx vite build` in this folder.
import { createApp, defineComponent, h, onMounted, ref } from "vue";
import { ConnectHealthDataButton, useZivaConnect } from "@zivacare/connect/vue";

const HookButton = defineComponent({
  props: { options: { type: Object, required: true } },
  setup(props) {
    const { open, busy } = useZivaConnect(() => props.options);
    return () => h("button", { type: "button", onClick: open, disabled: busy.value }, busy.value ? "Connecting…" : "Connect with the composable");
  },
});

const App = defineComponent({
  setup() {
    const config = ref(null);
    const status = ref("Not connected yet.");
    const shown = ref(true);
    onMounted(async () => {
      config.value = await (await fetch("/api/zivacare/config")).json();
    });
    return () => {
      if (!config.value) return h("p", "Loading…");
      const c = config.value;
      const common = { clientId: c.clientId, clientUserId: "vue@example.com", connectUrl: c.connectUrl, serverUrl: c.serverUrl };
      return h("main", [
        h("h1", "ZivaCare Connect with Vue"),
        shown.value
          ? h(ConnectHealthDataButton, {
              ...common,
              onFinish: (res) => (status.value = "Connected: " + res.serverResponse.zivaUserCode),
              onError: (err) => (status.value = "Error: " + err.code),
              onClose: () => (status.value = "Cancelled."),
            })
          : null,
        h("button", { type: "button", onClick: () => (shown.value = false) }, "Remove the button"),
        h(HookButton, {
          options: {
            ...common,
            finish: (err, res) => (status.value = err ? "Error: " + err.code : "Connected: " + res.serverResponse.zivaUserCode),
            close: () => (status.value = "Cancelled."),
          },
        }),
        h("p", { role: "status" }, status.value),
      ]);
    };
  },
});

createApp(App).mount("#root");
