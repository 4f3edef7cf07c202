//! What the loaders (`js/`) call: `open`, `connect` and `button`, and the
//! declarative forms. The page itself calls them through the loaders, which
//! add what must be JavaScript (loading the module once, the blank popup of a
//! call made before the module is ready).

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use web_sys::{Element, Node, Window};

use crate::button::Button;
use crate::error::Error;
use crate::flow::{self, closed_error, Flow};
use crate::js::{read_options, to_js, to_js_error};

/// The page's handle of a flow that `open()` started.
#[wasm_bindgen]
pub struct FlowHandle {
    flow: Weak<Flow>,
}

#[wasm_bindgen]
impl FlowHandle {
    /// Closes the popup and ends the flow (reported as `popup_closed`).
    pub fn close(&self) {
        if let Some(flow) = self.flow.upgrade() {
            flow.end(Err(closed_error()));
        }
    }

    /// Whether the flow has ended (or never started).
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.flow.upgrade().is_none_or(|f| f.is_ended())
    }
}

/// Opens the Connect popup; `finish(err, response)` receives the outcome. In
/// `popup` if the loader opened one inside the click. See the README.
#[wasm_bindgen]
pub fn open(options: &JsValue, popup: Option<Window>) -> Result<FlowHandle, JsValue> {
    let (config, callbacks) = read_options(options, true).map_err(|e| to_js_error(&e))?;
    let on_event = callbacks.on_event();
    let flow = flow::start(
        Rc::new(config),
        popup,
        on_event,
        Box::new(move |outcome| callbacks.deliver(outcome)),
    );
    Ok(FlowHandle {
        flow: flow.as_ref().map(Rc::downgrade).unwrap_or_default(),
    })
}

/// Opens the Connect popup at once and resolves with the response, or rejects
/// with the error. In `popup` if the loader opened one inside the click.
#[wasm_bindgen]
pub fn connect(options: &JsValue, popup: Option<Window>) -> Promise {
    let flow = read_options(options, false)
        .map(|(config, callbacks)| flow::run(Rc::new(config), popup.clone(), callbacks.on_event()));
    if flow.is_err() {
        if let Some(p) = popup {
            let _ = p.close();
        }
    }
    wasm_bindgen_futures::future_to_promise(async move {
        match flow {
            Ok(outcome) => outcome.await,
            Err(e) => Err(e),
        }
        .map(|response| to_js(&response))
        .map_err(|e| to_js_error(&e))
    })
}

thread_local! {
    /// The buttons the page made, until their `destroy()`: a button lives as long
    /// as the page wants it, not as long as the page keeps its handle.
    static BUTTONS: RefCell<Vec<(u32, Option<Element>, Button)>> = const { RefCell::new(Vec::new()) };
    static LAST_BUTTON: Cell<u32> = const { Cell::new(0) };
}

/// Keeps `button` (rendered for the declarative element `host`, if any) until
/// its handle's `destroy()`.
fn keep(host: Option<Element>, button: Button) -> ButtonHandle {
    let id = LAST_BUTTON.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    BUTTONS.with(|b| b.borrow_mut().push((id, host, button)));
    ButtonHandle { id }
}

/// The page's handle of a button.
#[wasm_bindgen]
pub struct ButtonHandle {
    id: u32,
}

#[wasm_bindgen]
impl ButtonHandle {
    /// Removes the button and every listener it added, and ends a flow it
    /// started (reported as closed); safe to call twice.
    pub fn destroy(&self) {
        let button = BUTTONS.with(|b| {
            let mut list = b.borrow_mut();
            let at = list.iter().position(|(id, ..)| *id == self.id)?;
            Some(list.remove(at))
        });
        // Dropped here, outside the borrow: a page's close() may make a new button.
        drop(button);
    }
}

fn target_error(problem: &str) -> JsValue {
    to_js_error(&Error::option("target", problem))
}

/// Renders a "Connect Health Data" button into `target` (a CSS selector or a
/// node); a click runs `open(options)`.
#[wasm_bindgen]
pub fn button(target: &JsValue, options: &JsValue) -> Result<ButtonHandle, JsValue> {
    let node: Node = match target.as_string() {
        Some(selector) => web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| target_error("has no document to be found in"))?
            .query_selector(&selector)
            .map_err(|_| target_error("is not a valid CSS selector"))?
            .ok_or_else(|| target_error("matches no element"))?
            .into(),
        None => target
            .dyn_ref::<Node>()
            .cloned()
            .ok_or_else(|| target_error("must be a CSS selector or an Element"))?,
    };
    let (config, callbacks) = read_options(options, true).map_err(|e| to_js_error(&e))?;
    let on_event = callbacks.on_event();
    let button = Button::new(
        &node,
        config,
        Rc::new(move |outcome| callbacks.deliver(outcome)),
        on_event,
    )
    .map_err(|e| to_js_error(&e))?;
    Ok(keep(None, button))
}

/// Renders every `[data-zivacare-connect]` element of the page not rendered yet.
#[wasm_bindgen(js_name = mountDeclared)]
pub fn mount_declared() {
    let rendered = |el: &Element| {
        BUTTONS.with(|b| {
            b.borrow()
                .iter()
                .any(|(_, host, _)| host.as_ref() == Some(el))
        })
    };
    for (host, button) in crate::element::mount_declared(rendered) {
        keep(Some(host), button);
    }
}

/// Renders the custom element `host` into its shadow root; `undefined` if its
/// attributes are invalid (reported as its `zivacare-error` event).
#[wasm_bindgen(js_name = mountElement)]
pub fn mount_element(host: &Element) -> Result<Option<ButtonHandle>, JsValue> {
    let button = crate::element::mount_element(host).map_err(|e| to_js_error(&e))?;
    Ok(button.map(|b| keep(None, b)))
}
