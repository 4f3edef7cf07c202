//! The functions and handles a page sees: `open` and `connect` (the button is
//! drawn by the JS side, `js/core.js`, and runs `open`).

use alloc::boxed::Box;
use alloc::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::flow::{start, FlowRef, Outcome, Sink};
use crate::js::{read_options, report, to_js_error};

fn throw(e: Error) -> JsValue {
    to_js_error(&e)
}

/// The handle `open()` returns.
#[wasm_bindgen]
pub struct FlowHandle {
    flow: FlowRef,
}

#[wasm_bindgen]
impl FlowHandle {
    /// Closes the popup and ends the flow (reported as `popup_closed`).
    pub fn close(&self) {
        if let Some(f) = self.flow.upgrade() {
            f.end(Outcome::Closed);
        }
    }

    /// Whether the flow has ended.
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.flow.upgrade().is_none_or(|f| f.is_ended())
    }
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
    Ok(FlowHandle {
        flow: flow.as_ref().map(Rc::downgrade).unwrap_or_default(),
    })
}

/// Opens the Connect popup; see the README.
#[wasm_bindgen(skip_typescript)]
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
) -> Result<FlowHandle, JsValue> {
    open_with(options, popup, on_end)
}

/// Checks options as `open()` would, throwing the same errors.
#[wasm_bindgen(js_name = "__check", skip_typescript)]
pub fn check(options: &JsValue) -> Result<(), JsValue> {
    read_options(options, true).map(|_| ()).map_err(throw)
}

#[wasm_bindgen(js_name = "__connectIn", skip_typescript)]
pub fn connect_in(options: &JsValue, popup: web_sys::Window) -> Promise {
    connect_with(options, Some(popup))
}

fn connect_with(options: &JsValue, popup: Option<web_sys::Window>) -> Promise {
    let mut popup = popup;
    Promise::new(&mut |resolve, reject| match read_options(options, false) {
        Ok((config, callbacks)) => {
            start(
                config,
                Sink::Promise {
                    resolve,
                    reject,
                    callbacks,
                },
                popup.take(),
                None,
            );
        }
        Err(e) => {
            if let Some(p) = popup.take() {
                let _ = p.close();
            }
            let _ = reject.call1(&JsValue::NULL, &throw(e));
        }
    })
}

/// Opens the Connect popup and resolves with the response, or rejects with the error.
#[wasm_bindgen(skip_typescript)]
pub fn connect(options: &JsValue) -> Promise {
    connect_with(options, None)
}
