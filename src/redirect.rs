//! The browser parts of the redirect return: the pending record a tab keeps
//! while it is away at the Connect page (`sessionStorage`, or a cookie where
//! storage throws), the signals of an in-app browser or a home-screen app,
//! taking a return out of the URL at once, and the same-origin
//! `BroadcastChannel` by which a popup cut off from its opener hands its
//! return to the tab waiting for it. The rules are pure, in `protocol`.

use std::cell::RefCell;

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, HtmlDocument, MessageEvent, Window};

use crate::error::{Code, ConnectError};
use crate::js::{read_data, to_js};
use crate::protocol::{
    is_in_app_browser, parse_return, push_int, Data, Field, Pending, Return, Verdict, MSG_CLOSE,
    MSG_ERROR, MSG_FINISH,
};
use crate::text::cat;

/// Where the pending record is kept: a `sessionStorage` key (this tab's), or
/// a cookie of this name where storage throws.
const KEY: &str = "zivacare-connect:pending";
const COOKIE: &str = "zivacare_pending=";
/// The channel a popup's return page and the tab it was opened from share.
const CHANNEL: &str = "zivacare-connect";
/// A return page asks which tab waits for its state…
pub const MSG_RETURN: &str = "zivacare-connect:return";
/// …and the tab that does answers.
pub const MSG_MINE: &str = "zivacare-connect:mine";
/// How long a return page waits for that answer before it handles the return
/// itself (a tab that went to the Connect page and came back).
const HAND_OFF_MS: u32 = 500;

thread_local! {
    /// A return the loader took out of the URL before any other script ran.
    static CAPTURED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps `fragment`, a return the loader took out of the URL, for
/// [`take_return`].
pub fn capture(fragment: String) {
    CAPTURED.with(|c| *c.borrow_mut() = Some(fragment));
}

fn storage(window: &Window) -> Option<web_sys::Storage> {
    window.session_storage().ok().flatten()
}

fn document(window: &Window) -> Option<HtmlDocument> {
    window.document()?.dyn_into::<HtmlDocument>().ok()
}

/// Keeps `pending` for this tab; whether it can be read back.
pub fn store(window: &Window, pending: &Pending) -> bool {
    let value = pending.encode();
    if storage(window).is_some_and(|s| s.set_item(KEY, &value).is_ok()) {
        return true;
    }
    let secure = window.location().protocol().is_ok_and(|p| p == "https:");
    let max_age = ((pending.expires - js_sys::Date::now()) / 1000.0).max(1.0) as u32;
    let mut cookie = cat(&[COOKIE, &value, "; path=/; samesite=lax; max-age="]);
    push_int(&mut cookie, i64::from(max_age));
    if secure {
        cookie.push_str("; secure");
    }
    if let Some(d) = document(window) {
        let _ = d.set_cookie(&cookie);
    }
    load(window).is_some_and(|p| p == *pending)
}

/// The pending record of this tab, if any.
pub fn load(window: &Window) -> Option<Pending> {
    if let Some(value) = storage(window).and_then(|s| s.get_item(KEY).ok().flatten()) {
        return Pending::decode(&value);
    }
    let cookies = document(window)?.cookie().ok()?;
    let value = cookies
        .as_bytes()
        .split(|b| *b == b';')
        .map(|c| c.trim_ascii_start())
        .find_map(|c| c.strip_prefix(COOKIE.as_bytes()))?;
    Pending::decode(std::str::from_utf8(value).ok()?)
}

/// Forgets the pending record of this tab.
pub fn forget(window: &Window) {
    if let Some(s) = storage(window) {
        let _ = s.remove_item(KEY);
    }
    if let Some(d) = document(window) {
        let _ = d.set_cookie(&cat(&[COOKIE, "; path=/; max-age=0"]));
    }
}

/// Whether the page runs where a popup cannot do its work: a known in-app
/// browser (by its user agent), or an app added to a home screen (iOS's
/// `navigator.standalone`, or `display-mode: standalone`). Heuristics.
pub fn in_app_or_standalone(window: &Window) -> bool {
    let navigator = window.navigator();
    let standalone = js_sys::Reflect::get(&navigator, &"standalone".into())
        .is_ok_and(|v| v.as_bool() == Some(true));
    standalone
        || navigator
            .user_agent()
            .is_ok_and(|ua| is_in_app_browser(&ua))
        || window
            .match_media("(display-mode: standalone)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches())
}

/// The return this page was reached by, if any, taken out of the URL at once
/// (`history.replaceState`: a reload, a bookmark or Back never carries it),
/// and only once. The loader takes it out before any other script runs.
pub fn take_return(window: &Window) -> Option<Result<Return, ConnectError>> {
    let parsed = match CAPTURED.with(|c| c.borrow_mut().take()) {
        Some(fragment) => parse_return(&fragment)?,
        None => {
            let href = window.location().href().ok()?;
            let at = href.bytes().position(|b| b == b'#')?;
            // `get`, not `[]`: `#` is a character boundary, and no panic path.
            let parsed = parse_return(href.get(at + 1..)?)?;
            if let Ok(history) = window.history() {
                let state = history.state().unwrap_or(JsValue::NULL);
                let _ = history.replace_state_with_url(&state, "", href.get(..at));
            }
            parsed
        }
    };
    Some(parsed.map_err(|()| {
        ConnectError::new(
            Code::InvalidReturn,
            "The return from the Connect page is malformed; nothing was forwarded",
        )
    }))
}

/// A message of the bridge, shaped as the Connect page's messages are.
struct Message<'a> {
    kind: &'a str,
    state: &'a str,
    special_token: Option<&'a str>,
    code: Option<&'a str>,
    message: Option<&'a str>,
}

/// `{type, state, specialToken?, code?, message?}`, as a map (see `ConnectResponse`).
impl Serialize for Message<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.kind)?;
        m.serialize_entry("state", self.state)?;
        for (key, value) in [
            ("specialToken", self.special_token),
            ("code", self.code),
            ("message", self.message),
        ] {
            if let Some(v) = value {
                m.serialize_entry(key, v)?;
            }
        }
        m.end()
    }
}

fn message(kind: &str, state: &str) -> JsValue {
    to_js(&Message {
        kind,
        state,
        special_token: None,
        code: None,
        message: None,
    })
}

/// Whether `data` is a bridge message of `kind` for `state`.
pub fn is_bridge(data: &Data, kind: &str, state: &str) -> bool {
    matches!(data, Data::Object { kind: Field::Text(k), state: Field::Text(s), .. }
        if k == kind && s == state)
}

/// The channel of a flow that may come back through a return page, and its
/// listener: both go when it is dropped.
pub struct Bridge {
    channel: BroadcastChannel,
    _listener: EventListener,
}

impl Bridge {
    /// Listens on the channel, handing each message to `on_message`.
    pub fn listen(on_message: impl FnMut(&MessageEvent) + 'static) -> Option<Bridge> {
        let channel = BroadcastChannel::new(CHANNEL).ok()?;
        let mut on_message = on_message;
        let listener = EventListener::new(&channel, "message", move |e| {
            if let Some(e) = e.dyn_ref::<MessageEvent>() {
                on_message(e);
            }
        });
        Some(Bridge {
            channel,
            _listener: listener,
        })
    }

    /// Tells the return page of `state` that this tab waits for it.
    pub fn claim(&self, state: &str) {
        let _ = self.channel.post_message(&message(MSG_MINE, state));
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.channel.close();
    }
}

/// Hands `ret` to the tab waiting for its state, if one answers within half
/// a second (a popup whose opener was cut off came back here); whether it did.
/// The token goes out only after that tab has answered.
pub async fn hand_off(ret: &Return) -> bool {
    // A Promise the answer (or, after a while, its absence) settles.
    let mut settle = None;
    let answered = js_sys::Promise::new(&mut |resolve, _| settle = Some(resolve));
    let Some(settle) = settle else { return false };
    let answer = move |mine: bool| {
        let _ = settle.call1(&JsValue::NULL, &JsValue::from_bool(mine));
    };
    let state = ret.state.clone();
    let on_answer = answer.clone();
    let Some(bridge) = Bridge::listen(move |e| {
        if is_bridge(&read_data(&e.data()), MSG_MINE, &state) {
            on_answer(true);
        }
    }) else {
        return false;
    };
    let _wait = Timeout::new(HAND_OFF_MS, move || answer(false));
    let _ = bridge
        .channel
        .post_message(&message(MSG_RETURN, &ret.state));
    let mine = wasm_bindgen_futures::JsFuture::from(answered)
        .await
        .is_ok_and(|v| v.is_truthy());
    if mine {
        let (kind, token, code, text) = match &ret.outcome {
            Verdict::Finish { special_token } => {
                (MSG_FINISH, Some(special_token.as_str()), None, None)
            }
            Verdict::Error { code, message } => {
                (MSG_ERROR, None, Some(code.as_str()), Some(message.as_str()))
            }
            _ => (MSG_CLOSE, None, None, None),
        };
        let _ = bridge.channel.post_message(&to_js(&Message {
            kind,
            state: &ret.state,
            special_token: token,
            code,
            message: text,
        }));
    }
    mine
}
