//! The page's window, read once from the global `window` binding.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `window`, or `None` where there is none (a worker). `web_sys::window()`
    /// finds it by probing four globals and importing each probe.
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Option<web_sys::Window>;
}

/// The page's window; `None` outside a page.
pub fn window() -> Option<web_sys::Window> {
    WINDOW.with(Clone::clone)
}
