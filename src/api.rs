//! The functions and handles a page sees: `open`, `connect`, `button`.

use alloc::vec::Vec;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::button::Button;
use crate::error::Error;
use crate::flow::{start, FlowRef, Outcome, Sink};
use crate::js::{read_options, to_js_error};
use crate::web::Global;

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

fn open_with(options: &JsValue, popup: Option<web_sys::Window>) -> Result<FlowHandle, JsValue> {
    let (config, callbacks) = read_options(options, true).map_err(throw)?;
    let flow = start(config, Sink::Callbacks(callbacks), popup, None);
    Ok(FlowHandle {
        flow: flow
            .as_ref()
            .map(alloc::rc::Rc::downgrade)
            .unwrap_or_default(),
    })
}

/// Opens the Connect popup; compatible with ZivaCare's connect.js.
/// Throws `invalid_options`; every other failure goes to `finish(err)`.
#[wasm_bindgen(skip_typescript)]
pub fn open(options: &JsValue) -> Result<FlowHandle, JsValue> {
    open_with(options, None)
}

/// For the script-tag loader: finishes an `open()` whose popup it opened blank
/// inside the click, before the module was ready.
#[wasm_bindgen(js_name = "__openIn", skip_typescript)]
pub fn open_in(options: &JsValue, popup: web_sys::Window) -> Result<FlowHandle, JsValue> {
    open_with(options, Some(popup))
}

/// For the script-tag loader: `connect()` into a popup it opened blank.
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

/// Rendered buttons live here until `destroy()`, not as long as their handle:
/// a page that drops the handle (garbage collection frees it) keeps its button.
static BUTTONS: Global<Vec<(u32, Button)>> = Global::new(Vec::new());
static NEXT_ID: Global<u32> = Global::new(0);

/// The handle `button()` returns.
#[wasm_bindgen]
pub struct ButtonHandle {
    id: u32,
}

#[wasm_bindgen]
impl ButtonHandle {
    /// Removes the button and every listener it added; ends a flow it started.
    /// Safe to call more than once.
    pub fn destroy(&self) {
        let button = BUTTONS.with(|b| {
            let mut b = b.borrow_mut();
            let i = b.iter().position(|(id, _)| *id == self.id)?;
            Some(b.swap_remove(i).1)
        });
        // Dropped outside the borrow: ending a flow runs the page's callbacks.
        drop(button);
    }
}

fn keep(button: Button) -> ButtonHandle {
    let id = NEXT_ID.with(|n| {
        let id = *n.borrow();
        n.replace(id.wrapping_add(1))
    });
    BUTTONS.with(|b| b.borrow_mut().push((id, button)));
    ButtonHandle { id }
}

/// Renders a "Connect Health Data" button into `target` (a selector or an Element).
#[wasm_bindgen(skip_typescript)]
pub fn button(target: &JsValue, options: &JsValue) -> Result<ButtonHandle, JsValue> {
    let (config, callbacks) = read_options(options, true).map_err(throw)?;
    Ok(keep(
        Button::render(target, config, callbacks).map_err(throw)?,
    ))
}

/// For the script-tag loader: adopts the button it rendered before the module
/// was ready. If that button was clicked, `popup` is the window the loader
/// opened in the click (`null`: the browser blocked it).
#[wasm_bindgen(js_name = "__adoptButton", skip_typescript)]
pub fn adopt_button(
    element: web_sys::HtmlButtonElement,
    options: &JsValue,
    clicked: bool,
    popup: Option<web_sys::Window>,
) -> Result<ButtonHandle, JsValue> {
    let (config, callbacks) = read_options(options, true).map_err(throw)?;
    element.set_text_content(Some(&config.label));
    let clicked = clicked.then_some(popup);
    Ok(keep(Button::attach(element, config, callbacks, clicked)))
}
