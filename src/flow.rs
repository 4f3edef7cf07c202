//! One Connect flow: the popup, the message listener, the close poll, the
//! timeout and the forward to the server. The flow owns every guard; ending it
//! drops them all, so nothing is left behind whatever way it ends.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use core::cell::{Cell, RefCell};

use js_sys::Function;
use wasm_bindgen::JsValue;
use web_sys::{AbortController, Event, Window};

use crate::error::{Code, Error};
use crate::forward;
use crate::js::{get, object, read_data, report, set, text, to_js_error, Callbacks};
use crate::options::Config;
use crate::protocol::{check, popup_url, Incoming, Verdict};
use crate::web::{Global, Listener, Timer};

/// How often `popup.closed` is polled.
const POLL_MS: u32 = 250;
/// A popup that reads closed this soon, without having sent anything, lost its
/// opener (Cross-Origin-Opener-Policy) rather than being closed by a person.
const SEVERED_WITHIN_MS: f64 = 1500.0;

/// The one flow open on this page, if any.
static ACTIVE: Global<Option<Rc<Flow>>> = Global::new(None);
/// The number of the last flow started.
static LAST_ID: Global<u32> = Global::new(0);

/// Flow `id`, if it is the one open now.
pub fn active(id: u32) -> Option<Rc<Flow>> {
    ACTIVE.with(|a| a.borrow().clone()).filter(|f| f.id == id) // ids start at 1: 0 never matches
}

/// How a flow ended.
pub enum Outcome {
    Done(JsValue),
    Closed,
    Failed(Error),
}

/// Where the outcome goes: the page's callbacks, or a Promise.
pub enum Sink {
    Callbacks(Callbacks),
    Promise {
        resolve: Function,
        reject: Function,
        callbacks: Callbacks,
    },
}

impl Sink {
    fn callbacks(&self) -> &Callbacks {
        match self {
            Sink::Callbacks(c) | Sink::Promise { callbacks: c, .. } => c,
        }
    }

    /// Delivers the outcome. Exceptions thrown by the page's callbacks are reported.
    /// A close goes to `close()` when the page gave one; otherwise it is the
    /// error `popup_closed`, like any other failure.
    pub fn deliver(&self, outcome: Outcome) {
        let null = &JsValue::NULL;
        let result = match outcome {
            Outcome::Done(v) => Ok(v),
            Outcome::Failed(e) => Err(e),
            Outcome::Closed => match self {
                Sink::Callbacks(Callbacks { close: Some(f), .. }) => return report(f.call0(null)),
                _ => Err(closed_error()),
            },
        };
        match (self, result) {
            (Sink::Promise { resolve, .. }, Ok(v)) => report(resolve.call1(null, &v)),
            (Sink::Promise { reject, .. }, Err(e)) => report(reject.call1(null, &to_js_error(&e))),
            (Sink::Callbacks(c), result) => {
                if let Some(f) = &c.finish {
                    report(match result {
                        Ok(v) => f.call2(null, null, &v),
                        Err(e) => f.call1(null, &to_js_error(&e)),
                    });
                }
            }
        }
    }
}

fn closed_error() -> Error {
    Error::new(
        Code::PopupClosed,
        "The Connect window was closed before finishing",
    )
}

/// Guards that live while the popup is open, dropped together.
#[derive(Default)]
struct Guards {
    popup: Option<Window>,
    message: Option<Listener>,
    poll: Option<Timer>,
    timeout: Option<Timer>,
    abort: Option<AbortController>,
    on_end: Option<Box<dyn FnOnce()>>,
}

pub struct Flow {
    /// This flow's number (from 1), by which the page refers to it.
    id: u32,
    config: Config,
    state: String,
    sink: Sink,
    ended: Cell<bool>,
    /// When the popup was first seen closed.
    closed_at: Cell<Option<f64>>,
    guards: RefCell<Guards>,
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// 128 random bits from `crypto.getRandomValues`, base64url.
fn random_state(window: &Window) -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    window
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).map(|_| ()))
        .map_err(|_| {
            Error::new(
                Code::InvalidOptions,
                "crypto.getRandomValues is not available",
            )
        })?;
    Ok(crate::protocol::base64url(&bytes))
}

/// `window.open` features that centre the popup over the page.
fn features(window: &Window, config: &Config) -> String {
    let num = |key| get(window, key).as_f64().unwrap_or(0.0);
    let (w, h) = (config.popup_width, config.popup_height);
    let left = num("screenX") + ((num("outerWidth") - f64::from(w)) / 2.0).max(0.0);
    let top = num("screenY") + ((num("outerHeight") - f64::from(h)) / 2.0).max(0.0);
    crate::protocol::popup_features(w, h, left as i32, top as i32)
}

/// Opens the popup (or navigates `popup`, one the loader opened inside the
/// click) on the Connect page with a fresh state: the window, the popup, the state.
fn open_popup(config: &Config, popup: Option<Window>) -> Result<(Window, Window, String), Error> {
    let window = crate::web::window()
        .ok_or_else(|| Error::new(Code::PopupBlocked, "No window to open a popup from"))?;
    if let Some(active) = ACTIVE.with(|a| a.borrow().clone()) {
        if let Some(p) = &active.guards.borrow().popup {
            let _ = p.focus();
        }
        if let Some(p) = popup {
            let _ = p.close();
        }
        return Err(Error::new(
            Code::Busy,
            "A ZivaCare Connect window is already open on this page",
        ));
    }
    let state = match &config.state {
        Some(s) => s.clone(),
        None => random_state(&window)?,
    };
    let origin = text(&get(&window, "location"), "origin");
    let url = popup_url(config, &origin, &state);
    let popup = match popup {
        Some(p) => {
            set(&get(&p, "location"), "href", &url.as_str().into());
            Some(p)
        }
        None => window
            .open_with_url_and_target_and_features(
                &url,
                "zivacare-connect",
                &features(&window, config),
            )
            .ok()
            .flatten(),
    };
    let popup = popup.ok_or_else(|| {
        Error::new(
            Code::PopupBlocked,
            "The browser blocked the ZivaCare Connect popup; start it from a click",
        )
    })?;
    Ok((window, popup, state))
}

/// Starts a flow: opens the popup synchronously, then listens. Never awaits
/// before `window.open`. `on_end` runs when the flow ends (also when it cannot
/// start), before the outcome is delivered.
pub fn start(
    config: Config,
    sink: Sink,
    popup: Option<Window>,
    on_end: Option<Box<dyn FnOnce()>>,
) -> Option<Rc<Flow>> {
    let (window, popup, state) = match open_popup(&config, popup) {
        Ok(opened) => opened,
        Err(e) => {
            if let Some(f) = on_end {
                f();
            }
            sink.deliver(Outcome::Failed(e));
            return None;
        }
    };
    let id = LAST_ID.with(|n| {
        let id = n.borrow().wrapping_add(1).max(1);
        n.replace(id);
        id
    });
    let flow = Rc::new(Flow {
        id,
        config,
        state,
        sink,
        ended: Cell::new(false),
        closed_at: Cell::new(None),
        guards: RefCell::new(Guards::default()),
    });
    ACTIVE.with(|a| *a.borrow_mut() = Some(flow.clone()));
    let opened_at = now();
    {
        let mut g = flow.guards.borrow_mut();
        g.popup = Some(popup);
        g.on_end = on_end;
        let weak = Rc::downgrade(&flow);
        g.message = Some(Listener::new(&window, "message", move |event| {
            if let Some(flow) = weak.upgrade() {
                flow.on_message(event);
            }
        }));
        let weak = Rc::downgrade(&flow);
        g.poll = Some(Timer::every(POLL_MS, move || {
            if let Some(flow) = weak.upgrade() {
                flow.on_poll(opened_at);
            }
        }));
        let weak = Rc::downgrade(&flow);
        g.timeout = Some(Timer::once(flow.config.timeout_ms, move || {
            if let Some(flow) = weak.upgrade() {
                flow.end(Outcome::Failed(Error::new(
                    Code::Timeout,
                    "The Connect flow timed out",
                )));
            }
        }));
    }
    flow.event("popup_opened", &JsValue::UNDEFINED);
    Some(flow)
}

impl Flow {
    fn event(&self, name: &str, details: &JsValue) {
        self.sink.callbacks().event(name, details);
    }

    /// Whether `source` is this flow's popup (the very same window object).
    fn is_popup(&self, source: JsValue) -> bool {
        match &self.guards.borrow().popup {
            Some(p) => !source.is_null() && &source == AsRef::<JsValue>::as_ref(p),
            None => false,
        }
    }

    fn on_message(self: &Rc<Self>, event: &Event) {
        if self.ended.get() {
            return;
        }
        let data = read_data(&get(event, "data"));
        let origin = text(event, "origin");
        let verdict = check(
            &self.config.connect_origin,
            &self.state,
            &Incoming {
                origin: &origin,
                from_popup: self.is_popup(get(event, "source")),
                data: &data,
            },
        );
        match verdict {
            Verdict::Reject(reason) => {
                self.event(
                    "message_rejected",
                    &object(&[("reason", &reason.as_str().into())]),
                );
            }
            Verdict::Close => self.end(Outcome::Closed),
            Verdict::Error { code, message } => {
                let mut e = Error::new(Code::ConnectError, message);
                e.connect_code = Some(code);
                self.end(Outcome::Failed(e));
            }
            Verdict::Finish { special_token } => self.on_token(special_token),
        }
    }

    fn on_poll(self: &Rc<Self>, opened_at: f64) {
        let closed = self
            .guards
            .borrow()
            .popup
            .as_ref()
            .is_some_and(|p| get(p, "closed").as_bool().unwrap_or(true));
        if !closed {
            return;
        }
        // A popup that finishes posts its message, then closes itself; the
        // message can still be queued when `closed` already reads true. End only
        // on the next poll, once any such message has been handled.
        let Some(first_seen) = self.closed_at.get() else {
            self.closed_at.set(Some(now()));
            return;
        };
        if first_seen - opened_at < SEVERED_WITHIN_MS {
            self.end(Outcome::Failed(Error::new(
                Code::OpenerSevered,
                "The Connect window lost its link to this page at once: is the page served with \
                 Cross-Origin-Opener-Policy: same-origin? Use same-origin-allow-popups.",
            )));
        } else {
            self.end(Outcome::Closed);
        }
    }

    /// A valid finish: close the popup and stop listening, then hand the token on.
    fn on_token(self: &Rc<Self>, special_token: String) {
        self.event("token_received", &JsValue::UNDEFINED);
        let (popup, message, poll) = {
            let mut g = self.guards.borrow_mut();
            (g.popup.take(), g.message.take(), g.poll.take())
        };
        if let Some(p) = popup {
            let _ = p.close();
        }
        drop((message, poll));
        let c = &self.config;
        let response = object(&[
            ("specialToken", &special_token.into()),
            ("clientId", &c.client_id.as_str().into()),
            ("clientUserId", &c.client_user_id.as_str().into()),
            ("state", &self.state.as_str().into()),
        ]);
        let Some(server_url) = c.server_url.clone() else {
            self.end(Outcome::Done(response));
            return;
        };
        let abort = AbortController::new().ok();
        let signal = abort.as_ref().map(|a| a.signal());
        self.guards.borrow_mut().abort = abort;
        forward::post(self.clone(), server_url, response, signal);
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn callbacks(&self) -> &Callbacks {
        self.sink.callbacks()
    }

    pub fn is_ended(&self) -> bool {
        self.ended.get()
    }

    /// Ends the flow once: closes the popup, drops every listener and timer,
    /// aborts a pending forward, frees the page for the next flow, then delivers.
    pub fn end(self: &Rc<Self>, outcome: Outcome) {
        if self.ended.replace(true) {
            return;
        }
        let guards = core::mem::take(&mut *self.guards.borrow_mut());
        ACTIVE.with(|a| {
            let mut a = a.borrow_mut();
            if a.as_ref().is_some_and(|f| Rc::ptr_eq(f, self)) {
                *a = None;
            }
        });
        let Guards {
            popup,
            message,
            poll,
            timeout,
            abort,
            on_end,
        } = guards;
        drop((message, poll, timeout));
        if let Some(p) = popup {
            let _ = p.close();
        }
        if let Some(a) = abort {
            a.abort();
        }
        if let Some(f) = on_end {
            f();
        }
        match &outcome {
            Outcome::Done(_) => self.event("finished", &JsValue::UNDEFINED),
            Outcome::Closed => self.event("closed", &JsValue::UNDEFINED),
            Outcome::Failed(e) => {
                self.event("error", &object(&[("code", &e.code.as_str().into())]))
            }
        }
        self.sink.deliver(outcome);
    }
}
