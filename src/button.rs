//! The "Connect Health Data" button: a `<button>` drawn with web-sys whose
//! click runs a flow, busy (`disabled`, `aria-busy="true"`) while that flow is
//! open, so a double click opens one popup.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_events::EventListener;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlButtonElement, Node};

use crate::error::ConnectError;
use crate::event::OnEvent;
use crate::flow::{self, Flow};
use crate::forward::{ConnectResponse, Outcome};
use crate::js::prepare;
use crate::options::{Config, ConnectOptions};

/// Receives the outcome of every flow the button runs.
pub(crate) type OnOutcome = Rc<dyn Fn(Outcome)>;

/// The "Connect Health Data" button on a page. It is its own guard (the gloo
/// way): dropping it removes the `<button>` and its click listener, and closes
/// a flow it started.
///
/// ```no_run
/// use zivacare_connect::{Button, ConnectOptions};
///
/// let document = web_sys::window().unwrap().document().unwrap();
/// let target = document.get_element_by_id("connect").unwrap();
/// let options = ConnectOptions::new("your-client-id", "ann@example.com")
///     .server_url("/api/zivacare/token");
/// let button = Button::new(&target, options, |outcome| match outcome {
///     Ok(response) => web_sys::console::log_1(&response.server_response),
///     Err(err) => web_sys::console::warn_1(&err.to_string().into()),
/// })
/// .expect("valid options");
/// // … later: the button, its listener and any flow it opened go away.
/// drop(button);
/// ```
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
    flow: RefCell<Flow>,
}

fn dom_error(_: wasm_bindgen::JsValue) -> ConnectError {
    ConnectError::option("target", "cannot hold a button")
}

impl Button {
    /// Draws the button at the end of `target`: `<button type="button"
    /// class="zivacare-connect-button" part="button">` with the options' label
    /// (or its translation for their locale). Each click runs a flow, whose
    /// outcome `on_finish` receives; a closed popup is the `popup_closed` error.
    /// Invalid options are an [`invalid_options`](crate::Code::InvalidOptions)
    /// error naming the option, and nothing is drawn.
    pub fn new(
        target: &Element,
        options: ConnectOptions,
        on_finish: impl Fn(Result<ConnectResponse, ConnectError>) + 'static,
    ) -> Result<Button, ConnectError> {
        let (config, on_event) = prepare(options, Some(true))?;
        Button::draw(target, config, Rc::new(on_finish), on_event)
    }

    /// Draws the button at the end of `target` (an element or a shadow root).
    pub(crate) fn draw(
        target: &Node,
        config: Rc<Config>,
        on_outcome: OnOutcome,
        on_event: Option<OnEvent>,
    ) -> Result<Button, ConnectError> {
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
            config,
            on_outcome,
            on_event,
            click: RefCell::new(None),
            flow: RefCell::new(Flow::default()),
        });
        let weak = Rc::downgrade(&inner);
        let click = EventListener::new(&inner.element, "click", move |_| {
            if let Some(button) = weak.upgrade() {
                button.click();
            }
        });
        *inner.click.borrow_mut() = Some(click);
        if inner.config.return_url.is_some() {
            // A page reached by a return from the Connect page: the flow this
            // button began goes on here.
            let weak = Rc::downgrade(&inner);
            wasm_bindgen_futures::spawn_local(async move {
                let Some(button) = weak.upgrade() else { return };
                let (config, on_event) = (Rc::clone(&button.config), button.on_event.clone());
                let on_outcome = Rc::clone(&button.on_outcome);
                drop(button);
                if let Some(outcome) = flow::come_back(config, on_event).await {
                    on_outcome(outcome);
                }
            });
        }
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
        if !self.flow.borrow().is_closed() {
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
        *self.flow.borrow_mut() = flow;
    }
}

impl Drop for Button {
    fn drop(&mut self) {
        let inner = &self.inner;
        inner.click.take();
        inner.element.remove();
        inner.flow.take().close();
    }
}
