//! The SDK's entry points, once: [`open`], [`connect`] and [`Button`] for Rust
//! callers, and the JavaScript exports the loaders (`js/`) call, which read a
//! page's options into [`ConnectOptions`] and call the same functions.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use web_sys::{Element, Node, Window};

use crate::button::Button;
use crate::error::ConnectError;
use crate::event::OnEvent;
use crate::flow::{self, Flow};
use crate::forward::ConnectResponse;
use crate::js::{prepare, read_options, to_js, to_js_error, Callbacks};
use crate::options::{Config, ConnectOptions};

/// Opens the Connect popup now (call it in the click handler: browsers allow a
/// window only for a moment after a click) and returns the flow; `on_finish`
/// receives its outcome once: the response, or the error (`popup_closed` when
/// the user closes the window). Invalid options, or a blocked popup, reach
/// `on_finish` at once, and the flow is closed.
///
/// ```no_run
/// use zivacare_connect::{open, Code, ConnectOptions};
///
/// let options = ConnectOptions::new("your-client-id", "ann@example.com")
///     .server_url("/api/zivacare/token");
/// let flow = open(options, |outcome| match outcome {
///     Ok(response) => web_sys::console::log_1(&response.server_response),
///     Err(err) if err.code() == Code::PopupClosed => {}
///     Err(err) => web_sys::console::warn_1(&err.to_string().into()),
/// });
/// // The page can end it early:
/// flow.close();
/// ```
pub fn open(
    options: ConnectOptions,
    on_finish: impl FnOnce(Result<ConnectResponse, ConnectError>) + 'static,
) -> Flow {
    open_in(options, None, Box::new(on_finish))
}

/// [`open`], in `popup` if the loader opened one inside the click.
fn open_in(options: ConnectOptions, popup: Option<Window>, finish: flow::Finish) -> Flow {
    match prepare(options, Some(true)) {
        Ok((config, on_event)) => flow::start(config, popup, on_event, finish),
        Err(e) => {
            flow::discard(popup);
            finish(Err(e));
            Flow::default()
        }
    }
}

/// Opens the Connect popup at once (the window opens when this is called, not
/// when the future is first polled: call it in the click handler) and resolves
/// with the response, or the error.
///
/// ```no_run
/// use zivacare_connect::{connect, ConnectOptions};
///
/// # async fn on_click() {
/// let flow = connect(ConnectOptions::new("your-client-id", "ann@example.com"));
/// match flow.await {
///     Ok(response) => {
///         // Send response.special_token to your server.
///     }
///     Err(err) => web_sys::console::warn_1(&err.to_string().into()),
/// }
/// # }
/// ```
pub fn connect(
    options: ConnectOptions,
) -> impl std::future::Future<Output = Result<ConnectResponse, ConnectError>> {
    connect_in(Ok(options), None)
}

/// [`connect`] of `options` as read (a page's may already have failed to
/// read), in `popup` if the loader opened one inside the click.
fn connect_in(
    options: Result<ConnectOptions, ConnectError>,
    popup: Option<Window>,
) -> impl std::future::Future<Output = Result<ConnectResponse, ConnectError>> {
    let flow = match options.and_then(|options| prepare(options, None)) {
        Ok((config, on_event)) => Ok(flow::run(config, popup, on_event)),
        Err(e) => {
            flow::discard(popup);
            Err(e)
        }
    };
    async move { flow?.await }
}

/// Continues the flow this page was reached by from the Connect page (its
/// return, in the URL's fragment): takes the return out of the URL at once,
/// checks it against this tab's pending flow, and forwards the token to
/// `server_url` exactly as after the popup, with the same events and errors.
/// Resolves `None` when the page was not reached by a return (or was a popup
/// that handed its return to the tab it came from, and closes). Call it when
/// the page loads, with the options the flow began with; a [`Button`] does so
/// itself.
///
/// ```no_run
/// use zivacare_connect::{handle_redirect, ConnectOptions, UxMode};
///
/// # async fn on_load() {
/// let options = ConnectOptions::new("your-client-id", "ann@example.com")
///     .server_url("/api/zivacare/token")
///     .return_url("https://app.example.com/connect")
///     .ux_mode(UxMode::Auto);
/// match handle_redirect(options).await {
///     Ok(Some(response)) => web_sys::console::log_1(&response.server_response),
///     Ok(None) => {} // not a return
///     Err(err) => web_sys::console::warn_1(&err.to_string().into()),
/// }
/// # }
/// ```
pub fn handle_redirect(
    options: ConnectOptions,
) -> impl std::future::Future<Output = Result<Option<ConnectResponse>, ConnectError>> {
    let prepared = prepare(options, None);
    async move {
        let (config, on_event) = prepared?;
        flow::come_back(config, on_event).await.transpose()
    }
}

/// `handleRedirect(options)` for JavaScript: a Promise of the response, or
/// `null` when the page was not reached by a return. It takes `open()`'s
/// options (the outcome then goes to `finish` and `close` as `open()`'s does,
/// and the Promise resolves with the response or `null`) or `connect()`'s
/// (the Promise rejects with the error).
#[wasm_bindgen(js_name = handleRedirect)]
pub fn handle_redirect_js(options: &JsValue) -> Promise {
    let read = read_options(options, true);
    promise(async move {
        let (options, callbacks) = read.map_err(|e| to_js_error(&e))?;
        let outcome = handle_redirect(options).await;
        let response = outcome.as_ref().ok().and_then(|r| r.as_ref()).map(to_js);
        let response = response.unwrap_or(JsValue::NULL);
        match (outcome, callbacks.finish.is_some()) {
            (Ok(Some(r)), true) => callbacks.deliver(Ok(r)),
            (Err(e), true) => callbacks.deliver(Err(e)),
            (Err(e), false) => return Err(to_js_error(&e)),
            _ => {}
        }
        Ok(response)
    })
}

/// Keeps the fragment of a return the loader took out of the URL before any
/// other script of the page ran, for `handleRedirect`.
#[wasm_bindgen(js_name = captureReturn)]
pub fn capture_return(fragment: String) {
    crate::redirect::capture(fragment);
}

/// The page's handle of a flow that `open()` started.
#[wasm_bindgen]
pub struct FlowHandle(Flow);

#[wasm_bindgen]
impl FlowHandle {
    /// Closes the popup and ends the flow (reported as `popup_closed`).
    pub fn close(&self) {
        self.0.close();
    }

    /// Whether the flow has ended (or never started).
    #[wasm_bindgen(getter)]
    pub fn closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// `open(options)` for JavaScript: `finish(err, response)` (and `close()`)
/// receive the outcome. In `popup` if the loader opened one inside the click.
/// Invalid options throw.
#[wasm_bindgen(js_name = open)]
pub fn open_js(options: &JsValue, popup: Option<Window>) -> Result<FlowHandle, JsValue> {
    let (config, on_event, callbacks) = read_checked(options)?;
    let finish = Box::new(move |outcome| callbacks.deliver(outcome));
    Ok(FlowHandle(flow::start(config, popup, on_event, finish)))
}

/// A page's options for a flow whose outcome goes to its callbacks, read and
/// checked: the config, the event handler, and the callbacks.
fn read_checked(options: &JsValue) -> Result<(Rc<Config>, Option<OnEvent>, Callbacks), JsValue> {
    let (options, callbacks) = read_options(options, true).map_err(|e| to_js_error(&e))?;
    let (config, on_event) =
        prepare(options, Some(callbacks.finish.is_some())).map_err(|e| to_js_error(&e))?;
    Ok((config, on_event, callbacks))
}

/// A Promise of `future`. Boxed, so that one instance of
/// `future_to_promise` serves every export that returns a Promise.
fn promise(
    future: impl std::future::Future<Output = Result<JsValue, JsValue>> + 'static,
) -> Promise {
    let boxed: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>> =
        Box::pin(future);
    wasm_bindgen_futures::future_to_promise(boxed)
}

/// `connect(options)` for JavaScript: a Promise of the response, made from the
/// Rust future. In `popup` if the loader opened one inside the click.
#[wasm_bindgen(js_name = connect)]
pub fn connect_js(options: &JsValue, popup: Option<Window>) -> Promise {
    let flow = connect_in(
        read_options(options, false).map(|(options, _)| options),
        popup,
    );
    promise(async move {
        flow.await
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
    to_js_error(&ConnectError::option("target", problem))
}

/// `button(target, options)` for JavaScript: renders a "Connect Health Data"
/// button into `target` (a CSS selector or a node); a click runs `open(options)`.
#[wasm_bindgen(js_name = button)]
pub fn button_js(target: &JsValue, options: &JsValue) -> Result<ButtonHandle, JsValue> {
    let node: Node = match target.as_string() {
        Some(selector) => crate::web::window()
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
    let (config, on_event, callbacks) = read_checked(options)?;
    let on_outcome = Rc::new(move |outcome| callbacks.deliver(outcome));
    let button = Button::draw(&node, config, on_outcome, on_event).map_err(|e| to_js_error(&e))?;
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
