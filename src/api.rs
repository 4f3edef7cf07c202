//! The functions and handles a page sees: `open` and `connect` (the button is
//! drawn by the JS side, `js/core.js`, and runs `open`).

use alloc::boxed::Box;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::flow::{active, start, Outcome, Sink};
use crate::js::{read_options, report, to_js_error};

fn throw(e: Error) -> JsValue {
    to_js_error(&e)
}

/// A flow as the page holds it: its number, 0 if it never started. (A number
/// rather than a Rust object behind a JS class, whose glue would weigh more.)
pub struct FlowHandle(u32);

impl FlowHandle {
    /// Closes the popup and ends the flow (reported as `popup_closed`).
    pub fn close(&self) {
        close(self.0);
    }

    /// Whether the flow has ended (or never started).
    pub fn closed(&self) -> bool {
        !is_open(self.0)
    }
}

/// Ends flow `id` as closed, if it is still open.
#[wasm_bindgen(js_name = "__close", skip_typescript)]
pub fn close(id: u32) {
    if let Some(f) = active(id) {
        f.end(Outcome::Closed);
    }
}

/// Whether flow `id` is still open.
#[wasm_bindgen(js_name = "__isOpen", skip_typescript)]
pub fn is_open(id: u32) -> bool {
    active(id).is_some()
}

fn open_with(
    options: &JsValue,
    popup: Option<web_sys::Window>,
    on_end: Option<js_sys::Function>,
) -> Result<FlowHandle, JsValue> {
    let (config, callbacks) = read_options(options, true).map_err(throw)?;
    let on_end =
        on_end.map(|f| -> Box<dyn FnOnce()> { Box::new(move || report(f.call0(&JsValue::NULL))) });
    let flow = start(config, Sink::Callbacks(callbacks), popup, on_end);
    Ok(FlowHandle(flow.map_or(0, |f| f.id())))
}

/// Opens the Connect popup; see the README. (The loaders call `__openIn`; this
/// is the same for Rust callers and tests, not a second export.)
pub fn open(options: &JsValue) -> Result<FlowHandle, JsValue> {
    open_with(options, None, None)
}

/// `open()` for the loaders: in `popup` if they opened one inside the click,
/// calling `on_end` when the flow ends (or cannot start), before its outcome.
#[wasm_bindgen(js_name = "__openIn", skip_typescript)]
pub fn open_in(
    options: &JsValue,
    popup: Option<web_sys::Window>,
    on_end: Option<js_sys::Function>,
) -> Result<u32, JsValue> {
    open_with(options, popup, on_end).map(|h| h.0)
}

/// Checks options as `open()` would, throwing the same errors.
#[wasm_bindgen(js_name = "__check", skip_typescript)]
pub fn check(options: &JsValue) -> Result<(), JsValue> {
    read_options(options, true).map(|_| ()).map_err(throw)
}

/// `connect()` for the loaders, who make its Promise: settles it through
/// `resolve`/`reject`; in `popup` if they opened one inside the click.
#[wasm_bindgen(js_name = "__connectIn", skip_typescript)]
pub fn connect_in(
    options: &JsValue,
    popup: Option<web_sys::Window>,
    resolve: js_sys::Function,
    reject: js_sys::Function,
) {
    match read_options(options, false) {
        Ok((config, callbacks)) => {
            let sink = Sink::Promise {
                resolve,
                reject,
                callbacks,
            };
            start(config, sink, popup, None);
        }
        Err(e) => {
            if let Some(p) = popup {
                let _ = p.close();
            }
            report(reject.call1(&JsValue::NULL, &throw(e)));
        }
    }
}

/// Opens the Connect popup and resolves with the response, or rejects with the
/// error. (As `open`: for Rust callers and tests; the loaders call `__connectIn`.)
pub fn connect(options: &JsValue) -> Promise {
    Promise::new(&mut |resolve, reject| connect_in(options, None, resolve, reject))
}
