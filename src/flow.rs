//! One Connect flow: the popup, its message listener, the close poll, the
//! timeout and the forward to the server; with `returnUrl`, the redirect (this
//! tab goes to the Connect page), the bridge a popup cut off from this page
//! comes back through, and the flow that resumes on the page a return reaches.
//! The flow owns every guard (gloo's `EventListener`, `Interval` and `Timeout`,
//! the forward's `AbortController`, the bridge's channel); ending it drops them
//! all, so nothing is left behind whatever way it ends.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::{Interval, Timeout};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, MessageEvent, Window};

use crate::error::{Code, ConnectError};
use crate::event::{Event, OnEvent};
use crate::forward::{self, ConnectResponse, Outcome};
use crate::js::read_data;
use crate::options::{Config, UxMode};
use crate::protocol::{check, check_data, check_return, popup_url, Incoming, Pending, Verdict};
use crate::redirect::{self, Bridge, MSG_RETURN};

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
    /// With `returnUrl`: where a popup cut off from this page hands its return.
    bridge: Option<Bridge>,
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
    /// Whether ending it forgets this tab's pending record (a flow started
    /// here with `returnUrl`; a resumed one leaves that to `come_back`).
    keeps_record: bool,
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

/// How a flow went to the Connect page.
enum Via {
    Popup(Window),
    /// This tab itself.
    Redirect,
}

/// Goes to the Connect page with a fresh state: in a popup (or in `popup`,
/// one the loader opened inside the click), or, by `uxMode`, in this tab.
/// With `returnUrl`, the tab's pending record is kept first, before anything
/// opens. The window, the way, the state.
fn begin(config: &Config, popup: Option<Window>) -> Result<(Window, Via, String), ConnectError> {
    let blocked = || {
        ConnectError::new(
            Code::PopupBlocked,
            "The browser blocked the ZivaCare Connect popup; start it from a click",
        )
    };
    let window = crate::web::window().ok_or_else(blocked)?;
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
    let keep = |redirect: bool| {
        config.return_url.as_ref().is_some_and(|return_url| {
            let pending = Pending {
                state: state.clone(),
                client_id: config.client_id.clone(),
                client_user_id: config.client_user_id.clone(),
                connect_origin: config.connect_origin.clone(),
                return_url: return_url.clone(),
                redirect,
                expires: js_sys::Date::now() + f64::from(config.timeout_ms),
            };
            redirect::store(&window, &pending)
        })
    };
    let here = match config.ux_mode {
        UxMode::Redirect => true,
        UxMode::Auto => popup.is_none() && redirect::in_app_or_standalone(&window),
        UxMode::Popup => false,
    };
    if !here {
        // Kept in case the popup comes back by redirect (it opened in this
        // very tab, or lost its opener); the flow works without it.
        keep(false);
        let url = popup_url(config, &origin, &state, UxMode::Popup);
        let opened = match popup {
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
        match opened {
            Some(popup) => return Ok((window, Via::Popup(popup), state)),
            None if config.ux_mode == UxMode::Popup => return Err(blocked()),
            // `auto`: no window (blocked, missing, throwing): this tab goes.
            None => {}
        }
    }
    if !keep(true) {
        return Err(ConnectError::new(
            Code::StorageUnavailable,
            "This browser keeps no storage for the page, which the redirect to ZivaCare Connect needs",
        ));
    }
    let url = popup_url(config, &origin, &state, UxMode::Redirect);
    window.location().assign(&url).map_err(|_| blocked())?;
    Ok((window, Via::Redirect, state))
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
    let (window, via, state) = match begin(&config, popup) {
        Ok(begun) => begun,
        Err(e) => {
            finish(Err(e));
            return Flow::default();
        }
    };
    let timeout_ms = config.timeout_ms;
    let keeps_record = config.return_url.is_some();
    let flow = Inner::new(config, state, on_event, finish, keeps_record);
    ACTIVE.with(|a| *a.borrow_mut() = Some(Rc::clone(&flow)));
    let guarded = |f: fn(&Rc<Inner>)| {
        let weak: Weak<Inner> = Rc::downgrade(&flow);
        move || {
            if let Some(flow) = weak.upgrade() {
                f(&flow);
            }
        }
    };
    let timeout = Some(Timeout::new(timeout_ms, guarded(Inner::on_timeout)));
    let guards = match via {
        Via::Popup(popup) => {
            let weak = Rc::downgrade(&flow);
            let bridged = Rc::downgrade(&flow);
            Guards {
                popup: Some(popup),
                message: Some(EventListener::new(&window, "message", move |event| {
                    if let (Some(flow), Some(event)) =
                        (weak.upgrade(), event.dyn_ref::<MessageEvent>())
                    {
                        flow.on_message(event);
                    }
                })),
                poll: Some(Interval::new(POLL_MS, guarded(Inner::on_poll))),
                _timeout: timeout,
                abort: None,
                bridge: flow.config.return_url.as_ref().and_then(|_| {
                    Bridge::listen(move |event| {
                        if let Some(flow) = bridged.upgrade() {
                            flow.on_bridge(event);
                        }
                    })
                }),
            }
        }
        Via::Redirect => Guards {
            _timeout: timeout,
            ..Guards::default()
        },
    };
    *flow.guards.borrow_mut() = guards;
    flow.emit(if flow.guards.borrow().popup.is_some() {
        Event::PopupOpened
    } else {
        Event::Redirecting
    });
    Flow {
        inner: Rc::downgrade(&flow),
    }
}

/// The outcome of the flow `start` starts, as a future: it starts at once
/// (inside the caller's click), and resolves with how it ended.
fn promised(start: impl FnOnce(Finish)) -> impl Future<Output = Outcome> {
    let (tx, rx) = futures_channel::oneshot::channel();
    start(Box::new(move |outcome| {
        let _ = tx.send(outcome);
    }));
    async move {
        // A flow always ends with an outcome; a dropped sender cannot happen.
        rx.await.unwrap_or_else(|_| Err(closed_error()))
    }
}

/// The flow a return on this page continues, if this page was reached by
/// one: taken out of the URL, checked against this tab's pending record (or
/// handed to the tab waiting for it, when this page is a popup cut off from
/// its opener), then ended as a popup's message would end it, with the same
/// events and forward. `None`: no return here, or handed on.
pub(crate) async fn come_back(config: Rc<Config>, on_event: Option<OnEvent>) -> Option<Outcome> {
    let window = crate::web::window()?;
    let taken = redirect::take_return(&window)?;
    let pending = redirect::load(&window);
    let (verdict, state, expires) = match taken {
        Err(e) => (Err(e), String::new(), None),
        Ok(ret) => {
            let here = pending
                .as_ref()
                .is_some_and(|p| p.redirect && p.state == ret.state);
            if !here && redirect::hand_off(&ret).await {
                // This is the popup: the tab it came from has the return now.
                let _ = window.close();
                return None;
            }
            match check_return(pending.as_ref(), &ret, &config, js_sys::Date::now()) {
                Ok(()) => {
                    // Used: no second return may use it.
                    redirect::forget(&window);
                    let expires = pending.map(|p| p.expires);
                    (Ok(ret.outcome), ret.state, expires)
                }
                Err(code) => {
                    if code == Code::Timeout {
                        redirect::forget(&window);
                    }
                    (Err(refused(code)), ret.state, None)
                }
            }
        }
    };
    let outcome = promised(|finish| {
        let flow = Inner::new(config, state, on_event, finish, false);
        let left = expires.map_or(0.0, |e| e - js_sys::Date::now()).max(1.0);
        let weak = Rc::downgrade(&flow);
        *flow.guards.borrow_mut() = Guards {
            _timeout: Some(Timeout::new(left as u32, move || {
                if let Some(flow) = weak.upgrade() {
                    flow.on_timeout();
                }
            })),
            ..Guards::default()
        };
        ACTIVE.with(|a| {
            a.borrow_mut().get_or_insert_with(|| Rc::clone(&flow));
        });
        match verdict {
            Ok(v) => flow.on_verdict(v),
            Err(e) => flow.end(Err(e)),
        }
    });
    Some(outcome.await)
}

/// The error of a return refused with `code`.
fn refused(code: Code) -> ConnectError {
    let message = match code {
        Code::StateMismatch => "This return from ZivaCare Connect is not for the connection pending in this tab; nothing was forwarded",
        Code::RedirectStateLost => "No connection is pending in this tab (it began in another tab or browser, or was completed already); nothing was forwarded",
        _ => "The Connect flow timed out",
    };
    ConnectError::new(code, message)
}

/// Runs a flow to its end: starts it at once (inside the caller's click), and
/// resolves with its outcome.
pub(crate) fn run(
    config: Rc<Config>,
    popup: Option<Window>,
    on_event: Option<OnEvent>,
) -> impl Future<Output = Outcome> {
    promised(|finish| {
        start(config, popup, on_event, finish);
    })
}

impl Inner {
    fn new(
        config: Rc<Config>,
        state: String,
        on_event: Option<OnEvent>,
        finish: Finish,
        keeps_record: bool,
    ) -> Rc<Inner> {
        Rc::new(Inner {
            keeps_record,
            config,
            state,
            opened_at: js_sys::Date::now(),
            on_event,
            finish: Cell::new(Some(finish)),
            ended: Cell::new(false),
            closed_at: Cell::new(None),
            guards: RefCell::new(Guards::default()),
        })
    }

    fn on_timeout(self: &Rc<Self>) {
        self.end(Err(ConnectError::new(
            Code::Timeout,
            "The Connect flow timed out",
        )))
    }

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
        self.on_verdict(verdict);
    }

    /// What a message (from the popup, the bridge or a return) decided.
    fn on_verdict(self: &Rc<Self>, verdict: Verdict) {
        match verdict {
            Verdict::Reject(reason) => self.emit(Event::MessageRejected { reason }),
            Verdict::Close => self.end(Err(closed_error())),
            Verdict::Error { code, message } => self.end(Err(ConnectError::connect(code, message))),
            Verdict::Finish { special_token } => self.on_token(special_token),
        }
    }

    /// A message of the bridge: a return page asking whose its state is (this
    /// flow's: say so), or the return it then hands over. Others' are not this
    /// flow's business, and are ignored without a word.
    fn on_bridge(self: &Rc<Self>, event: &MessageEvent) {
        if self.ended.get() {
            return;
        }
        let data = read_data(&event.data());
        if redirect::is_bridge(&data, MSG_RETURN, &self.state) {
            if let Some(bridge) = &self.guards.borrow().bridge {
                bridge.claim(&self.state);
            }
            return;
        }
        match check_data(&self.state, &data) {
            Verdict::Reject(_) => {}
            verdict => self.on_verdict(verdict),
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
            if self.config.return_url.is_some() {
                // Cut off from this page (Cross-Origin-Opener-Policy): the
                // popup comes back through its return page and the bridge.
                self.guards.borrow_mut().poll.take();
                return;
            }
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
        let (popup, message, poll, bridge) = {
            let mut g = self.guards.borrow_mut();
            (
                g.popup.take(),
                g.message.take(),
                g.poll.take(),
                g.bridge.take(),
            )
        };
        if let Some(p) = popup {
            let _ = p.close();
        }
        drop((message, poll, bridge));
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
        if self.keeps_record {
            if let Some(window) = crate::web::window() {
                redirect::forget(&window);
            }
        }
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
