//! The "Connect Health Data" button: a `<button>` drawn with web-sys whose
//! click runs a flow, busy (`disabled`, `aria-busy="true"`) while that flow is
//! open, so a double click opens one popup. The [`Button`] is the guard:
//! dropping it removes the element and its click listener, and closes a flow
//! it started.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{HtmlButtonElement, Node};

use crate::error::Error;
use crate::flow::{self, closed_error, Flow, OnEvent, Outcome};
use crate::options::Config;

/// Receives the outcome of every flow the button runs.
pub type OnOutcome = Rc<dyn Fn(Outcome)>;

pub struct Button {
    inner: Rc<Inner>,
}

struct Inner {
    element: HtmlButtonElement,
    config: Rc<Config>,
    on_outcome: OnOutcome,
    on_event: Option<OnEvent>,
    click: RefCell<Option<EventListener>>,
    /// The flow its last click started.
    flow: RefCell<Weak<Flow>>,
}

fn dom_error(_: wasm_bindgen::JsValue) -> Error {
    Error::option("target", "cannot hold a button")
}

impl Button {
    /// Draws the button at the end of `target`: `<button type="button"
    /// class="zivacare-connect-button" part="button">` with the options' label.
    pub fn new(
        target: &Node,
        config: Config,
        on_outcome: OnOutcome,
        on_event: Option<OnEvent>,
    ) -> Result<Button, Error> {
        let document = target
            .owner_document()
            .ok_or_else(|| dom_error(wasm_bindgen::JsValue::NULL))?;
        let element: HtmlButtonElement = document
            .create_element("button")
            .map_err(dom_error)?
            .unchecked_into();
        element.set_type("button");
        element.set_class_name("zivacare-connect-button");
        element.set_attribute("part", "button").map_err(dom_error)?;
        element.set_text_content(Some(&config.label));
        target.append_child(&element).map_err(dom_error)?;
        let inner = Rc::new(Inner {
            element,
            config: Rc::new(config),
            on_outcome,
            on_event,
            click: RefCell::new(None),
            flow: RefCell::new(Weak::new()),
        });
        let weak = Rc::downgrade(&inner);
        let click = EventListener::new(&inner.element, "click", move |_| {
            if let Some(button) = weak.upgrade() {
                button.click();
            }
        });
        *inner.click.borrow_mut() = Some(click);
        Ok(Button { inner })
    }
}

impl Inner {
    fn set_busy(&self, busy: bool) {
        self.element.set_disabled(busy);
        let _ = if busy {
            self.element.set_attribute("aria-busy", "true")
        } else {
            self.element.remove_attribute("aria-busy")
        };
    }

    fn click(self: &Rc<Self>) {
        let open = self.flow.borrow().upgrade().is_some_and(|f| !f.is_ended());
        if open {
            return;
        }
        self.set_busy(true);
        let weak = Rc::downgrade(self);
        let on_outcome = Rc::clone(&self.on_outcome);
        let flow = flow::start(
            Rc::clone(&self.config),
            None,
            self.on_event.clone(),
            Box::new(move |outcome| {
                if let Some(button) = weak.upgrade() {
                    button.set_busy(false);
                }
                on_outcome(outcome);
            }),
        );
        *self.flow.borrow_mut() = flow.as_ref().map(Rc::downgrade).unwrap_or_default();
    }
}

impl Drop for Button {
    fn drop(&mut self) {
        let inner = &self.inner;
        inner.click.take();
        inner.element.remove();
        if let Some(flow) = inner.flow.take().upgrade() {
            flow.end(Err(closed_error()));
        }
    }
}
