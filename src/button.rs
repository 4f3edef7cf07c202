//! The "Connect Health Data" button: a real `<button>` whose click runs `open()`.

use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use core::cell::RefCell;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{DocumentFragment, Element, HtmlButtonElement, Node};

use crate::error::Error;
use crate::flow::{start, Flow, Outcome, Sink};
use crate::js::Callbacks;
use crate::options::Config;
use crate::web::Listener;

/// Everything a rendered button owns; dropping it removes the listener.
pub struct Button {
    element: HtmlButtonElement,
    _click: Listener,
    flow: Rc<RefCell<Weak<Flow>>>,
}

fn set_busy(el: &HtmlButtonElement, busy: bool) {
    el.set_disabled(busy);
    let _ = if busy {
        el.set_attribute("aria-busy", "true")
    } else {
        el.remove_attribute("aria-busy")
    };
}

/// Finds where a button goes: a CSS selector, an Element, or a shadow root.
fn resolve_target(target: &JsValue) -> Result<Node, Error> {
    const F: &str = "target";
    if let Some(el) = target.dyn_ref::<Element>() {
        return Ok(el.clone().into());
    }
    if let Some(fragment) = target.dyn_ref::<DocumentFragment>() {
        return Ok(fragment.clone().into());
    }
    let selector = target
        .as_string()
        .ok_or_else(|| Error::option(F, "must be a CSS selector or an Element"))?;
    web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| Error::option(F, "needs a document"))?
        .query_selector(&selector)
        .map_err(|_| Error::option(F, "is not a valid CSS selector"))?
        .ok_or_else(|| Error::option(F, "matches no element"))
        .map(Into::into)
}

/// Starts a flow for the button: busy while it runs, enabled again when it ends.
/// `popup` is one the loader opened inside a click made before the module was ready.
fn launch(
    el: &HtmlButtonElement,
    config: &Config,
    callbacks: &Callbacks,
    slot: &RefCell<Weak<Flow>>,
    popup: Option<web_sys::Window>,
) {
    let restore = el.clone();
    let started = start(
        config.clone(),
        Sink::Callbacks(callbacks.clone()),
        popup,
        Some(Box::new(move || set_busy(&restore, false))),
    );
    match started {
        Some(f) => {
            set_busy(el, true);
            *slot.borrow_mut() = Rc::downgrade(&f);
        }
        None => set_busy(el, false),
    }
}

impl Button {
    /// Renders a new button into `target`.
    pub fn render(target: &JsValue, config: Config, callbacks: Callbacks) -> Result<Button, Error> {
        let parent = resolve_target(target)?;
        let doc = parent
            .owner_document()
            .ok_or_else(|| Error::option("target", "is not in a document"))?;
        let element: HtmlButtonElement = doc
            .create_element("button")
            .map_err(|_| Error::option("target", "cannot hold a button"))?
            .unchecked_into();
        element.set_type("button");
        element.set_class_name("zivacare-connect-button");
        let _ = element.set_attribute("part", "button");
        element.set_text_content(Some(&config.label));
        parent
            .append_child(&element)
            .map_err(|_| Error::option("target", "cannot hold a button"))?;
        Ok(Button::attach(element, config, callbacks, None))
    }

    /// Takes over a button the loader rendered before the module was ready;
    /// `clicked` with `popup`: it was clicked then, so the flow starts now.
    pub fn attach(
        element: HtmlButtonElement,
        config: Config,
        callbacks: Callbacks,
        clicked: Option<Option<web_sys::Window>>,
    ) -> Button {
        let flow: Rc<RefCell<Weak<Flow>>> = Rc::default();
        if let Some(popup) = clicked {
            launch(&element, &config, &callbacks, &flow, popup);
        }
        let click = {
            let (el, flow) = (element.clone(), flow.clone());
            Listener::new(&element, "click", move |_| {
                launch(&el, &config, &callbacks, &flow, None)
            })
        };
        Button {
            element,
            _click: click,
            flow,
        }
    }
}

impl Drop for Button {
    /// Removes the button and its listener; ends a flow it started.
    fn drop(&mut self) {
        self.element.remove();
        let flow = self.flow.borrow().upgrade();
        if let Some(f) = flow {
            f.end(Outcome::Closed);
        }
    }
}
