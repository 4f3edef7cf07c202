//! The DOM parts in headless Chromium (`wasm-pack test --headless --chrome`):
//! the flow: the message filter with real `MessageEvent`s, popup blocking and
//! the forward. `window.open` and `window.fetch` are wrapped to observe calls;
//! the real ones still run unless a test blocks the popup or answers the fetch.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use zivacare_connect::{button_js as button, connect_js as connect, open_js as open};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
// The Connect stand-in is a page of this test server's own origin: the server
// sends Cross-Origin-Opener-Policy: same-origin, which cuts a cross-origin popup
// (or one showing an error page) off from its opener.
const CONNECT = location.origin;
const CONNECT_PAGE = CONNECT + "/wasm-bindgen-test";
let log = [], fetches = [], opened = [], replies = [];
const realOpen = window.open.bind(window);
let blockPopups = false;
let lastPopup = null;
window.open = (url, ...rest) => {
  opened.push(String(url));
  lastPopup = blockPopups ? null : realOpen(url, ...rest);
  return lastPopup;
};
// Installed by reset(), not at load: the test harness itself fetches the .wasm.
// Takes fetch's arguments as fetch does: a Request, or a URL and options.
const fakeFetch = async (input, init) => {
  const req = new Request(input, init);
  fetches.push({ url: req.url, method: req.method, type: req.headers.get("content-type"),
                 marker: req.headers.get("x-zivacare-connect"), csrf: req.headers.get("x-csrf-token"),
                 body: await req.text() });
  const status = replies.length ? replies.shift() : 200;
  if (status === 0) throw new TypeError("Failed to fetch");
  return new Response(JSON.stringify({ zivaUserCode: "u-1", connected: status < 300 }), { status });
};
export function reset() {
  window.fetch = fakeFetch;
  log = []; fetches = []; opened = []; replies = []; blockPopups = false;
}
export function block_popups() { blockPopups = true; }
export function reply_with(statuses) { replies = Array.from(statuses); }
export function cross_origin_connect() { return "http://localhost:" + location.port + "/connect"; }
export function options(extra) {
  return Object.assign({
    clientId: "demo-client",
    clientUserId: "ann@example.com",
    connectUrl: CONNECT_PAGE,
    finish(err, res) {
      log.push(err ? "finish:error:" + err.code + (err.status ? ":" + err.status : "") + (err.connectCode ? ":" + err.connectCode : "")
                   : "finish:ok:" + res.specialToken + (res.serverResponse ? ":server:" + res.serverResponse.zivaUserCode : ""));
    },
    close() { log.push("close"); },
    onEvent(name, details) {
      if (name === "message_rejected") log.push("rejected:" + details.reason);
    },
  }, extra || {});
}
export function no_server(opts) { delete opts.serverUrl; return opts; }
export function log_text() { return log.join(" "); }
export function fetch_count() { return fetches.length; }
export function fetch_field(i, name) { return String(fetches[i][name]); }
export function open_count() { return opened.length; }
export function popup_state() {
  return new URL(opened[opened.length - 1]).searchParams.get("state");
}
export function popup_url() { return opened[opened.length - 1]; }
/** Posts to this window as if from `source` at `origin`. (A browser sets the
 * source of the events it makes; WebKit's MessageEvent constructor refuses a
 * closed window for it, so the stand-in sets it on the event itself.) */
export function post(data, origin, source) {
  const event = new MessageEvent("message", { data, origin: origin || CONNECT });
  Object.defineProperty(event, "source", { value: source === undefined ? null : source });
  window.dispatchEvent(event);
}
export function current_popup() { return lastPopup; }
export function finish_msg(state, token) { return { type: "zivacare-connect:finish", state, specialToken: token }; }
export function proto_msg(state) {
  return JSON.parse('{"__proto__": {"type": "zivacare-connect:finish", "specialToken": "tok_SENTINEL_proto"}, "state": "' + state + '"}');
}
export function session_has(text) {
  return JSON.stringify(Object.assign({}, sessionStorage)).includes(text)
    || JSON.stringify(Object.assign({}, localStorage)).includes(text)
    || document.cookie.includes(text) || location.href.includes(text)
    || document.documentElement.outerHTML.includes(text);
}
"#)]
extern "C" {
    fn reset();
    fn block_popups();
    fn reply_with(statuses: Vec<u16>);
    fn options(extra: JsValue) -> JsValue;
    fn cross_origin_connect() -> String;
    fn log_text() -> String;
    fn fetch_count() -> u32;
    fn fetch_field(i: u32, name: &str) -> String;
    fn current_popup() -> JsValue;
    fn open_count() -> u32;
    fn popup_state() -> String;
    fn popup_url() -> String;
    fn post(data: JsValue, origin: Option<String>, source: JsValue);
    fn finish_msg(state: &str, token: &str) -> JsValue;
    fn proto_msg(state: &str) -> JsValue;
    fn session_has(text: &str) -> bool;
}

const TOKEN: &str = "tok_SENTINEL_browser-1";
fn extra(pairs: &[(&str, JsValue)]) -> JsValue {
    let obj = js_sys::Object::new();
    for (k, v) in pairs {
        js_sys::Reflect::set(&obj, &(*k).into(), v).unwrap();
    }
    obj.into()
}

fn server() -> JsValue {
    extra(&[("serverUrl", "/api/zivacare/token".into())])
}

async fn settle(ms: u32) {
    let wait = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(wait).await.unwrap();
}

#[wasm_bindgen_test]
fn invalid_options_are_real_errors_naming_the_option() {
    reset();
    let err = open(&options(extra(&[("clientId", 42.into())])), None)
        .err()
        .expect("error");
    assert!(err.is_instance_of::<js_sys::Error>());
    let get = |k: &str| js_sys::Reflect::get(&err, &k.into()).unwrap();
    assert_eq!(get("code"), "invalid_options");
    assert_eq!(get("field"), "clientId");
    assert_eq!(get("name"), "ZivaConnectError");
    assert_eq!(open_count(), 0, "nothing opened");
}

#[wasm_bindgen_test]
async fn t01_t02_t03_t06_forged_messages_are_ignored_and_never_posted() {
    reset();
    let handle = open(&options(server()), None).unwrap();
    let popup = current_popup();
    let state = popup_state();
    let good = || finish_msg(&state, TOKEN);
    post(good(), Some("http://127.0.0.1:9999".into()), popup.clone()); // another port
    post(
        good(),
        Some(cross_origin_connect().replace("/connect", "")),
        popup.clone(),
    ); // same host, other name
    post(good(), Some("null".into()), popup.clone()); // sandboxed frame
    post(good(), None, JsValue::NULL); // right origin, no window
    post(good(), None, js_sys::global().into()); // right origin, wrong window
    post(finish_msg("previous-attempt", TOKEN), None, popup.clone());
    post(finish_msg(&state, "tok\nen"), None, popup.clone());
    post(
        finish_msg(&state, &"a".repeat(1 << 20)),
        None,
        popup.clone(),
    );
    post(
        JsValue::from_str(
            &js_sys::JSON::stringify(&good())
                .unwrap()
                .as_string()
                .unwrap(),
        ),
        None,
        popup.clone(),
    );
    post(JsValue::NULL, None, popup.clone());
    post(js_sys::Array::of1(&good()).into(), None, popup.clone());
    post(proto_msg(&state), None, popup.clone());
    settle(50).await;
    assert_eq!(fetch_count(), 0);
    assert_eq!(
        log_text(),
        "rejected:origin rejected:origin rejected:origin rejected:source rejected:source \
         rejected:state rejected:token rejected:token rejected:shape rejected:shape rejected:shape rejected:shape"
    );
    assert!(!handle.closed(), "ignored messages never end the flow");
    assert_eq!(
        js_sys::Reflect::get(&popup, &"closed".into()).unwrap(),
        false
    );
    handle.close();
    assert_eq!(log_text().rsplit(' ').next(), Some("close"));
}

#[wasm_bindgen_test]
async fn t05_t07_a_valid_finish_posts_once_with_the_protocol_body() {
    reset();
    let opts = options(extra(&[
        ("serverUrl", "/api/zivacare/token".into()),
        ("serverHeaders", extra(&[("X-CSRF-Token", "csrf-1".into())])),
    ]));
    open(&opts, None).unwrap();
    let popup = current_popup();
    let state = popup_state();
    post(finish_msg(&state, TOKEN), None, popup.clone());
    post(finish_msg(&state, TOKEN), None, popup.clone()); // the same message twice
    settle(100).await;
    assert_eq!(fetch_count(), 1);
    assert!(fetch_field(0, "url").ends_with("/api/zivacare/token"));
    assert_eq!(fetch_field(0, "method"), "POST");
    assert_eq!(fetch_field(0, "type"), "application/json");
    assert_eq!(fetch_field(0, "marker"), "1");
    assert_eq!(fetch_field(0, "csrf"), "csrf-1");
    let expected_body = [
        r#"{"specialToken":""#,
        TOKEN,
        r#"","clientId":"demo-client","clientUserId":"ann@example.com","state":""#,
        &state,
        r#""}"#,
    ]
    .concat();
    assert_eq!(fetch_field(0, "body"), expected_body);
    assert_eq!(log_text(), ["finish:ok:", TOKEN, ":server:u-1"].concat());
    assert_eq!(
        js_sys::Reflect::get(&popup, &"closed".into()).unwrap(),
        true
    );
    assert!(
        !session_has(TOKEN),
        "the token is kept nowhere a script can read it"
    );
}

#[wasm_bindgen_test]
async fn network_errors_and_5xx_are_retried_but_4xx_is_final() {
    reset();
    reply_with(vec![0, 503, 200]);
    open(&options(server()), None).unwrap();
    post(finish_msg(&popup_state(), TOKEN), None, current_popup());
    settle(1200).await;
    assert_eq!(fetch_count(), 3);
    assert_eq!(log_text(), ["finish:ok:", TOKEN, ":server:u-1"].concat());

    reset();
    reply_with(vec![400]);
    open(&options(server()), None).unwrap();
    post(finish_msg(&popup_state(), TOKEN), None, current_popup());
    settle(400).await;
    assert_eq!(fetch_count(), 1);
    assert_eq!(log_text(), "finish:error:server_error:400");

    reset();
    reply_with(vec![500, 500, 500, 500]);
    open(&options(server()), None).unwrap();
    post(finish_msg(&popup_state(), TOKEN), None, current_popup());
    settle(2200).await;
    assert_eq!(fetch_count(), 4);
    assert_eq!(log_text(), "finish:error:server_error:500");
}

#[wasm_bindgen_test]
async fn t04_a_blocked_popup_reports_popup_blocked_and_leaves_nothing_behind() {
    reset();
    block_popups();
    let handle = open(&options(server()), None).unwrap();
    assert_eq!(log_text(), "finish:error:popup_blocked");
    assert!(handle.closed());
    // No listener was left: the next flow is not busy.
    reset();
    let handle = open(&options(JsValue::UNDEFINED), None).unwrap();
    assert!(!handle.closed());
    handle.close();
    assert_eq!(log_text(), "close");
}

#[wasm_bindgen_test]
async fn a_second_flow_is_busy_and_connect_errors_and_closes_are_reported() {
    reset();
    let first = open(&options(JsValue::UNDEFINED), None).unwrap();
    open(&options(JsValue::UNDEFINED), None).unwrap();
    assert_eq!(log_text(), "finish:error:busy");
    assert_eq!(open_count(), 1);
    let error = extra(&[
        ("type", "zivacare-connect:error".into()),
        ("state", popup_state().into()),
        ("code", "0011".into()),
        ("message", "<img src=x onerror=alert(1)>".into()),
    ]);
    post(error, None, current_popup());
    assert_eq!(
        log_text(),
        "finish:error:busy finish:error:connect_error:0011"
    );
    assert!(first.closed());

    reset();
    open(&options(JsValue::UNDEFINED), None).unwrap();
    let close = extra(&[
        ("type", "zivacare-connect:close".into()),
        ("state", popup_state().into()),
    ]);
    post(close, None, current_popup());
    assert_eq!(log_text(), "close");
}

#[wasm_bindgen_test]
async fn t05_a_message_after_the_timeout_is_ignored() {
    reset();
    open(
        &options(extra(&[
            ("timeoutMs", 300.into()),
            ("serverUrl", "/t".into()),
        ])),
        None,
    )
    .unwrap();
    let (state, popup) = (popup_state(), current_popup());
    settle(500).await;
    assert_eq!(log_text(), "finish:error:timeout");
    assert_eq!(
        js_sys::Reflect::get(&popup, &"closed".into()).unwrap(),
        true
    );
    post(finish_msg(&state, TOKEN), None, popup);
    settle(50).await;
    assert_eq!(fetch_count(), 0);
    assert_eq!(log_text(), "finish:error:timeout");
}

#[wasm_bindgen_test]
async fn connect_resolves_and_rejects_a_promise() {
    reset();
    let plain = options(JsValue::UNDEFINED);
    for key in ["finish", "close"] {
        js_sys::Reflect::delete_property(plain.unchecked_ref::<js_sys::Object>(), &key.into())
            .unwrap();
    }
    let promise = connect(&plain, None);
    post(finish_msg(&popup_state(), TOKEN), None, current_popup());
    let response = wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
    assert_eq!(
        js_sys::Reflect::get(&response, &"specialToken".into()).unwrap(),
        TOKEN
    );
    assert!(popup_url().contains("clientUserId=ann%40example.com"));

    let promise = connect(&plain, None);
    let close = extra(&[
        ("type", "zivacare-connect:close".into()),
        ("state", popup_state().into()),
    ]);
    post(close, None, current_popup());
    let err = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .unwrap_err();
    assert_eq!(
        js_sys::Reflect::get(&err, &"code".into()).unwrap(),
        "popup_closed"
    );

    let err = wasm_bindgen_futures::JsFuture::from(connect(&options(JsValue::UNDEFINED), None))
        .await
        .unwrap_err();
    assert_eq!(
        js_sys::Reflect::get(&err, &"field".into()).unwrap(),
        "finish"
    );
}

#[wasm_bindgen_test]
async fn t09_a_popup_cut_off_by_cross_origin_opener_policy_is_reported_distinctly() {
    // This test page is served with COOP same-origin, so a cross-origin popup
    // loses its opener at once: the flow must say so instead of hanging.
    reset();
    open(
        &options(extra(&[("connectUrl", cross_origin_connect().into())])),
        None,
    )
    .unwrap();
    settle(1000).await;
    assert_eq!(log_text(), "finish:error:opener_severed");
}

#[wasm_bindgen_test]
async fn a_finish_queued_behind_the_popup_closing_still_counts() {
    // The Connect page posts its finish, then closes itself: the message may be
    // handled after `popup.closed` already reads true.
    reset();
    open(&options(JsValue::UNDEFINED), None).unwrap();
    let (state, popup) = (popup_state(), current_popup());
    js_sys::Reflect::get(&popup, &"close".into())
        .unwrap()
        .unchecked_into::<js_sys::Function>()
        .call0(&popup)
        .unwrap();
    settle(300).await; // one poll has seen it closed
    post(finish_msg(&state, TOKEN), None, popup);
    settle(400).await;
    assert_eq!(log_text(), ["finish:ok:", TOKEN].concat());
}

/// A fresh `<div>` in the page's body, for a button.
fn host() -> web_sys::Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div
}

fn the_button(host: &web_sys::Element) -> web_sys::HtmlButtonElement {
    host.query_selector("button")
        .unwrap()
        .expect("a button")
        .unchecked_into()
}

#[wasm_bindgen_test]
fn the_module_draws_the_button_labelled_in_the_options_locale() {
    reset();
    let mut labels = Vec::new();
    for locale in ["en", "es", "fr-CA", "DE", "it"] {
        let div = host();
        button(&div, &options(extra(&[("locale", locale.into())]))).unwrap();
        let b = the_button(&div);
        assert_eq!(b.type_(), "button");
        assert_eq!(b.class_name(), "zivacare-connect-button");
        assert_eq!(b.get_attribute("part").as_deref(), Some("button"));
        labels.push(b.text_content().unwrap());
    }
    assert_eq!(
        labels,
        [
            "Connect Health Data",
            "Conectar datos de salud",
            "Connecter mes données de santé",
            "Gesundheitsdaten verbinden",
            "Connect Health Data"
        ]
    );
    let div = host();
    button(
        &div,
        &options(extra(&[("label", "Share <b>my</b> data".into())])),
    )
    .unwrap();
    assert_eq!(
        the_button(&div).inner_html(),
        "Share &lt;b&gt;my&lt;/b&gt; data",
        "a label is text, never markup"
    );
}

#[wasm_bindgen_test]
async fn t05_the_button_is_busy_while_its_flow_is_open_and_destroy_ends_it_once() {
    reset();
    let div = host();
    let handle = button(&div, &options(JsValue::UNDEFINED)).unwrap();
    let b = the_button(&div);
    assert!(!b.disabled());
    b.click();
    assert_eq!(open_count(), 1);
    assert!(b.disabled());
    assert_eq!(b.get_attribute("aria-busy").as_deref(), Some("true"));
    b.click(); // a disabled button: nothing
    assert_eq!(open_count(), 1);
    let close = extra(&[
        ("type", "zivacare-connect:close".into()),
        ("state", popup_state().into()),
    ]);
    post(close, None, current_popup());
    assert_eq!(log_text(), "close");
    assert!(!b.disabled());
    assert_eq!(b.get_attribute("aria-busy"), None);
    // Destroyed mid-flow: the popup closes, close() is called, nothing is left.
    b.click();
    let popup = current_popup();
    handle.destroy();
    handle.destroy();
    assert_eq!(log_text(), "close close");
    assert_eq!(
        js_sys::Reflect::get(&popup, &"closed".into()).unwrap(),
        true
    );
    assert_eq!(div.child_element_count(), 0);
    b.click(); // the removed button has no listener left
    assert_eq!(open_count(), 2);
}

#[wasm_bindgen_test]
fn a_bad_target_or_option_is_a_clear_error_and_draws_nothing() {
    reset();
    let div = host();
    let code = |e: JsValue| {
        let get = |k: &str| js_sys::Reflect::get(&e, &k.into()).unwrap();
        format!(
            "{}:{}",
            get("code").as_string().unwrap(),
            get("field").as_string().unwrap()
        )
    };
    let opts = options(JsValue::UNDEFINED);
    for target in [
        JsValue::from("#nowhere"),
        JsValue::from("##"),
        JsValue::from(42),
    ] {
        assert_eq!(
            code(button(&target, &opts).err().unwrap()),
            "invalid_options:target"
        );
    }
    let bad = options(extra(&[("clientUserId", JsValue::NULL)]));
    assert_eq!(
        code(button(&div, &bad).err().unwrap()),
        "invalid_options:clientUserId"
    );
    assert_eq!(div.child_element_count(), 0);
}

// The Rust API, as a Leptos or Yew app calls it.
mod rust_api {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use zivacare_connect::{
        connect as connect_rs, open as open_rs, Button, Code, ConnectError, ConnectOptions,
        ConnectResponse, Event,
    };

    fn rust_options() -> ConnectOptions {
        ConnectOptions::new("demo-client", "ann@example.com").connect_url(
            js_sys::Reflect::get(&options(JsValue::UNDEFINED), &"connectUrl".into())
                .unwrap()
                .as_string()
                .unwrap(),
        )
    }

    type Seen = Rc<RefCell<Vec<String>>>;

    fn record(seen: &Seen) -> impl Fn(Result<ConnectResponse, ConnectError>) + 'static {
        let seen = Rc::clone(seen);
        move |outcome| {
            seen.borrow_mut().push(match outcome {
                Ok(r) => ["ok:", &r.special_token].concat(),
                Err(e) => ["error:", e.code().as_str()].concat(),
            })
        }
    }

    #[wasm_bindgen_test]
    async fn open_takes_typed_options_and_calls_back_once_with_typed_events() {
        reset();
        let seen: Seen = Rc::default();
        let events: Seen = Rc::default();
        let log = Rc::clone(&events);
        let options = rust_options()
            .server_url("/api/zivacare/token")
            .on_event(move |e: &Event| log.borrow_mut().push(e.name().to_owned()));
        let first = Rc::clone(&seen);
        let flow = open_rs(options, move |outcome| record(&first)(outcome));
        assert!(!flow.is_closed());
        post(finish_msg(&popup_state(), TOKEN), None, current_popup());
        settle(100).await;
        assert_eq!(*seen.borrow(), [["ok:", TOKEN].concat()]);
        assert!(flow.is_closed());
        assert_eq!(
            *events.borrow(),
            [
                "popup_opened",
                "token_received",
                "server_request",
                "finished"
            ]
        );
        assert_eq!(fetch_count(), 1);
        // Closing an ended flow changes nothing.
        flow.close();
        assert_eq!(seen.borrow().len(), 1);
    }

    #[wasm_bindgen_test]
    async fn connect_resolves_with_the_response_and_invalid_options_name_their_field() {
        reset();
        let flow = connect_rs(rust_options());
        post(finish_msg(&popup_state(), TOKEN), None, current_popup());
        let response = flow.await.expect("a response");
        assert_eq!(response.special_token, TOKEN);
        assert_eq!(response.client_user_id, "ann@example.com");
        assert!(response.server_response.is_undefined());

        let err = connect_rs(ConnectOptions::new("demo-client", " "))
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.field()),
            (Code::InvalidOptions, Some("clientUserId"))
        );
        let as_error: &dyn std::error::Error = &err;
        assert!(as_error.to_string().contains("clientUserId"));
        let err = connect_rs(rust_options().timeout_ms(0)).await.unwrap_err();
        assert_eq!(err.field(), Some("timeoutMs"));
        assert_eq!(open_count(), 1, "no window for invalid options");
    }

    #[wasm_bindgen_test]
    fn a_blocked_popup_reaches_on_finish_at_once() {
        reset();
        block_popups();
        let seen: Seen = Rc::default();
        let flow = open_rs(rust_options(), record(&seen));
        assert_eq!(*seen.borrow(), ["error:popup_blocked"]);
        assert!(flow.is_closed());
    }

    #[wasm_bindgen_test]
    fn the_button_is_its_own_guard() {
        reset();
        let div = host();
        let seen: Seen = Rc::default();
        let button = Button::new(&div, rust_options().locale("es"), record(&seen)).unwrap();
        let b = the_button(&div);
        assert_eq!(b.text_content().unwrap(), "Conectar datos de salud");
        b.click();
        assert_eq!(open_count(), 1);
        let popup = current_popup();
        drop(button);
        assert_eq!(div.child_element_count(), 0, "dropping it removes it");
        assert_eq!(
            *seen.borrow(),
            ["error:popup_closed"],
            "and closes its flow"
        );
        assert_eq!(
            js_sys::Reflect::get(&popup, &"closed".into()).unwrap(),
            true
        );
        b.click();
        assert_eq!(open_count(), 1, "its listener went with it");
        let err = Button::new(&div, ConnectOptions::new("", "ann"), record(&seen))
            .err()
            .unwrap();
        assert_eq!(err.field(), Some("clientId"));
    }
}
