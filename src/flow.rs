//! One Connect flow: the popup, its message listener, the close poll, the
//! timeout and the forward to the server. The flow owns every guard (gloo's
//! `EventListener`, `Interval` and `Timeout`, the forward's `AbortController`);
//! ending it drops them all, so nothing is left behind whatever way it ends.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, MessageEvent, Window};

use crate::error::{Code, ConnectError};
use crate::forward;
use crate::js::read_data;
use crate::options::Config;
use crate::protocol::{check, popup_url, Event, Incoming, OnEvent, Verdict};

/// How often `popup.closed` is polled, in milliseconds.
const POLL_MS: u32 = 250;
/// A popup that reads closed this soon, without having sent anything, lost its
/// opener (Cross-Origin-Opener-Policy) rather than being closed by a person.
const SEVERED_WITHIN_MS: f64 = 1500.0;

thread_local! {
    /// The one flow open on this page, if any.
    static ACTIVE: RefCell<Option<Rc<Inner>>> = const { RefCell::new(None) };
}

/// A Connect flow that was started: its `close()` ends it. Dropping it changes
/// nothing (the flow ends by itself: finished, closed, failed or timed out).
///
/// ```no_run
/// use zivacare_connect::{open, ConnectOptions};
///
/// let flow = open(ConnectOptions::new("your-client-id", "ann@example.com"), |_| {});
/// if !flow.is_closed() {
///     flow.close(); // the outcome is the popup_closed error
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Flow {
    inner: Weak<Inner>,
}

impl Flow {
    /// Closes the popup and ends the flow; its outcome is the `popup_closed` error.
    pub fn close(&self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.end(Err(closed_error()));
        }
    }

    /// Whether the flow has ended (or never started).
    pub fn is_closed(&self) -> bool {
        self.inner.upgrade().is_none_or(|f| f.is_ended())
    }
}

/// What a finished flow gives: the specialToken and what it was issued for,
/// and, when `server_url` is set, the server's answer to the forward.
///
/// ```no_run
/// use serde::Deserialize;
/// use zivacare_connect::ConnectResponse;
///
/// #[derive(Deserialize)]
/// #[serde(rename_all = "camelCase")]
/// struct Connected {
///     ziva_user_code: String,
/// }
///
/// fn user_code(response: ConnectResponse) -> Option<String> {
///     let reply: Connected = serde_wasm_bindgen::from_value(response.server_response).ok()?;
///     Some(reply.ziva_user_code)
/// }
/// # let _ = user_code;
/// ```
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectResponse {
    /// The one-time token your server exchanges with its clientSecret.
    pub special_token: String,
    /// Your application.
    pub client_id: String,
    /// Your user.
    pub client_user_id: String,
    /// This flow's state, as the Connect page echoed it.
    pub state: String,
    /// The parsed JSON reply of `server_url` (a string if it was not JSON,
    /// `null` if empty); `undefined` without `server_url`.
    #[serde(
        with = "serde_wasm_bindgen::preserve",
        skip_serializing_if = "JsValue::is_undefined"
    )]
    pub server_response: JsValue,
}

/// How a flow ends: the response, or the error (`popup_closed` for a closed popup).
pub type Outcome = Result<ConnectResponse, ConnectError>;
/// Receives the outcome, once.
pub type Finish = Box<dyn FnOnce(Outcome)>;

/// The `popup_closed` error: the user, or the page, closed the popup.
pub fn closed_error() -> ConnectError {
    ConnectError::new(
        Code::PopupClosed,
        "The Connect window was closed before finishing",
    )
}

/// Guards that live while the flow is open, dropped together when it ends.
#[derive(Default)]
struct Guards {
    popup: Option<Window>,
    message: Option<EventListener>,
    poll: Option<Interval>,
    /// Held for its `Drop`, which clears it.
    _timeout: Option<Timeout>,
    abort: Option<AbortController>,
}

pub(crate) struct Inner {
    config: Rc<Config>,
    state: String,
    opened_at: f64,
    on_event: Option<OnEvent>,
    finish: Cell<Option<Finish>>,
    ended: Cell<bool>,
    /// When the popup was first seen closed.
    closed_at: Cell<Option<f64>>,
    guards: RefCell<Guards>,
}

/// 128 random bits from `crypto.getRandomValues`, base64url.
fn random_state(window: &Window) -> Result<String, ConnectError> {
    let mut bytes = [0u8; 16];
    window
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes).map(drop))
        .map_err(|_| {
            ConnectError::new(
                Code::InvalidOptions,
                "crypto.getRandomValues is not available",
            )
        })?;
    Ok(crate::protocol::base64url(&bytes))
}

/// `window.open` features that centre the popup over the page.
fn features(window: &Window, config: &Config) -> String {
    let num = |v: Result<JsValue, JsValue>| v.ok().and_then(|v| v.as_f64()).unwrap_or(0.0);
    let (w, h) = (config.popup_width, config.popup_height);
    let left = num(window.screen_x()) + ((num(window.outer_width()) - f64::from(w)) / 2.0).max(0.0);
    let top = num(window.screen_y()) + ((num(window.outer_height()) - f64::from(h)) / 2.0).max(0.0);
    crate::protocol::popup_features(w, h, left as i32, top as i32)
}

/// Closes `popup`, a blank one the loader opened inside the click, when the
/// flow it was opened for does not start.
pub(crate) fn discard(popup: Option<Window>) {
    if let Some(p) = popup {
        let _ = p.close();
    }
}

/// Opens the popup (or navigates `popup`, one the loader opened inside the
/// click) on the Connect page with a fresh state: the window, the popup, the state.
fn open_popup(
    config: &Config,
    popup: Option<Window>,
) -> Result<(Window, Window, String), ConnectError> {
    let blocked = || {
        ConnectError::new(
            Code::PopupBlocked,
            "The browser blocked the ZivaCare Connect popup; start it from a click",
        )
    };
    let window = web_sys::window().ok_or_else(blocked)?;
    if let Some(active) = ACTIVE.with(|a| a.borrow().clone()) {
        if let Some(p) = &active.guards.borrow().popup {
            let _ = p.focus();
        }
        discard(popup);
        return Err(ConnectError::new(
            Code::Busy,
            "A ZivaCare Connect window is already open on this page",
        ));
    }
    let state = match &config.state {
        Some(s) => s.clone(),
        None => random_state(&window)?,
    };
    let origin = window.location().origin().unwrap_or_default();
    let url = popup_url(config, &origin, &state);
    let popup = match popup {
        Some(p) => p.location().set_href(&url).ok().map(|()| p),
        None => window
            .open_with_url_and_target_and_features(
                &url,
                "zivacare-connect",
                &features(&window, config),
            )
            .ok()
            .flatten(),
    };
    Ok((window, popup.ok_or_else(blocked)?, state))
}

/// Starts a flow: opens the popup synchronously (never awaiting before
/// `window.open`), then listens. When it cannot start, `finish` gets the error
/// at once and the flow is closed.
pub(crate) fn start(
    config: Rc<Config>,
    popup: Option<Window>,
    on_event: Option<OnEvent>,
    finish: Finish,
) -> Flow {
    let (window, popup, state) = match open_popup(&config, popup) {
        Ok(opened) => opened,
        Err(e) => {
            finish(Err(e));
            return Flow::default();
        }
    };
    let timeout_ms = config.timeout_ms;
    let flow = Rc::new(Inner {
        config,
        state,
        opened_at: js_sys::Date::now(),
        on_event,
        finish: Cell::new(Some(finish)),
        ended: Cell::new(false),
        closed_at: Cell::new(None),
        guards: RefCell::new(Guards::default()),
    });
    ACTIVE.with(|a| *a.borrow_mut() = Some(Rc::clone(&flow)));
    let guarded = |f: fn(&Rc<Inner>)| {
        let weak: Weak<Inner> = Rc::downgrade(&flow);
        move || {
            if let Some(flow) = weak.upgrade() {
                f(&flow);
            }
        }
    };
    let weak = Rc::downgrade(&flow);
    let guards = Guards {
        popup: Some(popup),
        message: Some(EventListener::new(&window, "message", move |event| {
            if let (Some(flow), Some(event)) = (weak.upgrade(), event.dyn_ref::<MessageEvent>()) {
                flow.on_message(event);
            }
        })),
        poll: Some(Interval::new(POLL_MS, guarded(Inner::on_poll))),
        _timeout: Some(Timeout::new(
            timeout_ms,
            guarded(|flow| {
                flow.end(Err(ConnectError::new(
                    Code::Timeout,
                    "The Connect flow timed out",
                )))
            }),
        )),
        abort: None,
    };
    *flow.guards.borrow_mut() = guards;
    flow.emit(Event::PopupOpened);
    Flow {
        inner: Rc::downgrade(&flow),
    }
}

/// Runs a flow to its end: starts it at once (inside the caller's click), and
/// resolves with its outcome.
pub(crate) fn run(
    config: Rc<Config>,
    popup: Option<Window>,
    on_event: Option<OnEvent>,
) -> impl Future<Output = Outcome> {
    let (tx, rx) = futures_channel::oneshot::channel();
    start(
        config,
        popup,
        on_event,
        Box::new(move |outcome| {
            let _ = tx.send(outcome);
        }),
    );
    async move {
        // A flow always ends with an outcome; a dropped sender cannot happen.
        rx.await.unwrap_or_else(|_| Err(closed_error()))
    }
}

impl Inner {
    fn emit(&self, event: Event) {
        if let Some(f) = &self.on_event {
            f(&event);
        }
    }

    /// Whether `source` is this flow's popup (the very same window object).
    fn is_popup(&self, source: Option<js_sys::Object>) -> bool {
        match (&self.guards.borrow().popup, source) {
            (Some(popup), Some(source)) => JsValue::from(source) == JsValue::from(popup),
            _ => false,
        }
    }

    fn on_message(self: &Rc<Self>, event: &MessageEvent) {
        if self.ended.get() {
            return;
        }
        let data = read_data(&event.data());
        let verdict = check(
            &self.config.connect_origin,
            &self.state,
            &Incoming {
                origin: &event.origin(),
                from_popup: self.is_popup(event.source()),
                data: &data,
            },
        );
        match verdict {
            Verdict::Reject(reason) => self.emit(Event::MessageRejected { reason }),
            Verdict::Close => self.end(Err(closed_error())),
            Verdict::Error { code, message } => self.end(Err(ConnectError::connect(code, message))),
            Verdict::Finish { special_token } => self.on_token(special_token),
        }
    }

    fn on_poll(self: &Rc<Self>) {
        let closed = self
            .guards
            .borrow()
            .popup
            .as_ref()
            .is_some_and(|p| p.closed().unwrap_or(true));
        if !closed {
            return;
        }
        // A popup that finishes posts its message, then closes itself; the
        // message can still be queued when `closed` already reads true. End only
        // on the next poll, once any such message has been handled.
        let Some(first_seen) = self.closed_at.get() else {
            self.closed_at.set(Some(js_sys::Date::now()));
            return;
        };
        if first_seen - self.opened_at < SEVERED_WITHIN_MS {
            self.end(Err(ConnectError::new(
                Code::OpenerSevered,
                "The Connect window lost its link to this page at once: is the page served with \
                 Cross-Origin-Opener-Policy: same-origin? Use same-origin-allow-popups.",
            )));
        } else {
            self.end(Err(closed_error()));
        }
    }

    /// A valid finish: close the popup and stop listening, then hand the token
    /// on, to the page or through the forward to `serverUrl`.
    fn on_token(self: &Rc<Self>, special_token: String) {
        self.emit(Event::TokenReceived);
        let (popup, message, poll) = {
            let mut g = self.guards.borrow_mut();
            (g.popup.take(), g.message.take(), g.poll.take())
        };
        if let Some(p) = popup {
            let _ = p.close();
        }
        drop((message, poll));
        let c = &self.config;
        let response = ConnectResponse {
            special_token,
            client_id: c.client_id.clone(),
            client_user_id: c.client_user_id.clone(),
            state: self.state.clone(),
            server_response: JsValue::UNDEFINED,
        };
        let Some(url) = c.server_url.clone() else {
            return self.end(Ok(response));
        };
        let abort = AbortController::new().ok();
        let signal = abort.as_ref().map(AbortController::signal);
        self.guards.borrow_mut().abort = abort;
        let request = forward::Request::new(url, &response, c);
        let flow = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let attempt = |n| flow.emit(Event::ServerRequest { attempt: n });
            let reply = forward::post(&request, signal.as_ref(), &attempt).await;
            flow.end(reply.map(|server_response| ConnectResponse {
                server_response,
                ..response
            }));
        });
    }

    pub fn is_ended(&self) -> bool {
        self.ended.get()
    }

    /// Ends the flow once: closes the popup, drops every listener and timer,
    /// aborts a pending forward, frees the page for the next flow, then
    /// delivers the outcome.
    pub fn end(self: &Rc<Self>, outcome: Outcome) {
        if self.ended.replace(true) {
            return;
        }
        let guards = std::mem::take(&mut *self.guards.borrow_mut());
        ACTIVE.with(|a| {
            let mut a = a.borrow_mut();
            if a.as_ref().is_some_and(|f| Rc::ptr_eq(f, self)) {
                *a = None;
            }
        });
        if let Some(p) = &guards.popup {
            let _ = p.close();
        }
        if let Some(a) = &guards.abort {
            a.abort();
        }
        drop(guards);
        self.emit(match &outcome {
            Ok(_) => Event::Finished,
            Err(e) if e.code() == Code::PopupClosed => Event::Closed,
            Err(e) => Event::Error { code: e.code() },
        });
        if let Some(finish) = self.finish.take() {
            finish(outcome);
        }
    }
}
