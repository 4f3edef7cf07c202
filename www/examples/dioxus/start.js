// Starts the app: its Wasm, built with wasm-bindgen --target web beside this file.
import init from "./example.js";
init({ module_or_path: new URL("./example_bg.wasm", import.meta.url) });
