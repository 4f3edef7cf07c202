//! The JavaScript boundary: options and message data read out of JS values,
//! crate errors turned into real `Error` objects, and Rust values handed to JS
//! through serde-wasm-bindgen.
//!
//! Options are read by a typed reader rather than `serde_wasm_bindgen::from_value`:
//! serde-wasm-bindgen ignores `deny_unknown_fields` (unknown options would pass),
//! its type errors do not name the field, and its deserializer costs about 19 KB
//! gzip of the download.

use std::rc::Rc;

use js_sys::{Function, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Code, ConnectError};
use crate::event::{Event, OnEvent};
use crate::forward::Outcome;
use crate::options::{
    as_whole, check_keys, validate, Config, ConnectOptions, ParsedUrl, NOT_WHOLE,
};
use crate::protocol::{Data, Field};

/// `obj[key]` of an object the page gave, or `undefined` if reading it throws.
fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A Rust value as a JS value (plain objects for maps, `undefined` for unit).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> JsValue {
    const OBJECTS: serde_wasm_bindgen::Serializer =
        serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value.serialize(&OBJECTS).unwrap_or(JsValue::UNDEFINED)
}

/// A real `Error` with `name`, stable `code` and the details of its code.
pub fn to_js_error(e: &ConnectError) -> JsValue {
    let err: JsValue = js_sys::Error::new(e.message()).into();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&err, &JsValue::from_str(key), &value);
    };
    set("name", "ZivaConnectError".into());
    set("code", e.code().as_str().into());
    if let Some(f) = e.field() {
        set("field", f.into());
    }
    if let Some(c) = e.connect_code() {
        set("connectCode", c.into());
    }
    if let Some(s) = e.status() {
        set("status", s.into());
    }
    err
}

/// Surfaces an exception thrown by a page's callback without ending anything.
pub fn report(result: Result<JsValue, JsValue>) {
    if let Err(e) = result {
        web_sys::console::error_1(&e);
    }
}

/// The page's callbacks, kept apart from the plain options.
#[derive(Clone, Default)]
pub struct Callbacks {
    pub finish: Option<Function>,
    pub close: Option<Function>,
    pub on_event: Option<Function>,
}

impl Callbacks {
    /// Delivers a flow's outcome: `finish(null, response)` or `finish(error)`;
    /// a closed popup goes to `close()` when the page gave one.
    pub fn deliver(&self, outcome: Outcome) {
        let null = &JsValue::NULL;
        match (outcome, &self.close) {
            (Err(e), Some(close)) if e.code() == Code::PopupClosed => report(close.call0(null)),
            (outcome, _) => {
                if let Some(finish) = &self.finish {
                    report(match outcome {
                        Ok(r) => finish.call2(null, null, &to_js(&r)),
                        Err(e) => finish.call1(null, &to_js_error(&e)),
                    });
                }
            }
        }
    }

    /// `onEvent(name, details)` as a flow's event handler; an exception from it
    /// is logged, never fatal.
    pub fn on_event(&self) -> Option<OnEvent> {
        let f = self.on_event.clone()?;
        Some(Rc::new(move |event: &Event| {
            report(f.call2(&JsValue::NULL, &event.name().into(), &to_js(event)));
        }))
    }
}

/// Reads options one by one, keeping the first type error (the option and
/// its problem): one exit path, where the error is made.
struct Reader<'a> {
    obj: &'a JsValue,
    error: Option<(&'static str, &'static str)>,
}

impl Reader<'_> {
    fn fail(&mut self, field: &'static str, problem: &'static str) {
        self.error.get_or_insert((field, problem));
    }

    /// An optional option: `undefined` counts as absent, as in most JS APIs;
    /// a value that `ok` refuses (`null` included) is an error naming the option.
    fn value(
        &mut self,
        key: &'static str,
        ok: fn(&JsValue) -> bool,
        problem: &'static str,
    ) -> Option<JsValue> {
        let v = get(self.obj, key);
        if v.is_undefined() {
            return None;
        }
        if !ok(&v) {
            self.fail(key, problem);
            return None;
        }
        Some(v)
    }

    fn string(&mut self, key: &'static str) -> Option<String> {
        self.value(key, JsValue::is_string, "must be a string")?
            .as_string()
    }

    /// A whole number (JavaScript has only floats); its range is checked later.
    fn whole(&mut self, key: &'static str) -> Option<u32> {
        let n = self
            .value(key, |v| v.as_f64().is_some(), "must be a number")?
            .as_f64()?;
        let whole = as_whole(n);
        if whole.is_none() {
            self.fail(key, NOT_WHOLE);
        }
        whole
    }

    fn function(&mut self, key: &'static str) -> Option<Function> {
        Some(
            self.value(key, JsValue::is_function, "must be a function")?
                .unchecked_into(),
        )
    }

    fn headers(&mut self) -> Vec<(String, String)> {
        const F: &str = "serverHeaders";
        let v = get(self.obj, F);
        let mut list = Vec::new();
        if v.is_undefined() {
            return list;
        }
        if !v.is_object() || js_sys::Array::is_array(&v) {
            self.fail(F, "must be an object of header names to string values");
            return list;
        }
        for entry in Object::entries(v.unchecked_ref::<Object>()).iter() {
            let entry: js_sys::Array = entry.unchecked_into();
            match (entry.get(0).as_string(), entry.get(1).as_string()) {
                (Some(name), Some(value)) => list.push((name, value)),
                _ => {
                    self.fail(F, "must map header names to string values");
                    break;
                }
            }
        }
        list
    }
}

/// Parses `input` with the browser's URL parser, relative to `base` if given.
pub fn parse_url(input: &str, base: Option<&str>) -> Result<ParsedUrl, String> {
    let url = match base {
        Some(b) => web_sys::Url::new_with_base(input, b),
        None => web_sys::Url::new(input),
    }
    .map_err(|_| input.to_owned())?;
    Ok(ParsedUrl {
        href: url.href(),
        origin: url.origin(),
        protocol: url.protocol(),
        hostname: url.hostname(),
        has_credentials: !url.username().is_empty() || !url.password().is_empty(),
        // `#` alone is a fragment too (an empty one, which `hash` does not show).
        has_hash: url.href().bytes().any(|b| b == b'#'),
    })
}

/// The page's address, the base of a relative `serverUrl`.
pub fn page_url() -> Option<String> {
    crate::web::window()?.location().href().ok()
}

/// Reads the options object of `open()`, `connect()` or `button()` (its type
/// errors name the option), and whether `finish` is among its callbacks.
pub fn read_options(
    options: &JsValue,
    callbacks_allowed: bool,
) -> Result<(ConnectOptions, Callbacks), ConnectError> {
    if !options.is_object() {
        return Err(ConnectError::option("options", "must be an object"));
    }
    let keys: Vec<String> = Object::keys(options.unchecked_ref::<Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    check_keys(&keys, callbacks_allowed)?;
    let mut r = Reader {
        obj: options,
        error: None,
    };
    let callbacks = Callbacks {
        finish: r.function("finish"),
        close: r.function("close"),
        on_event: r.function("onEvent"),
    };
    let options = ConnectOptions {
        client_id: r.string("clientId"),
        client_user_id: r.string("clientUserId"),
        connect_url: r.string("connectUrl"),
        server_url: r.string("serverUrl"),
        state: r.string("state"),
        server_headers: r.headers(),
        credentials: r.string("credentials"),
        timeout_ms: r.whole("timeoutMs"),
        popup_width: r.whole("popupWidth"),
        popup_height: r.whole("popupHeight"),
        label: r.string("label"),
        locale: r.string("locale"),
        return_url: r.string("returnUrl"),
        ux_mode: r.string("uxMode"),
        on_event: callbacks.on_event(),
    };
    match r.error {
        Some((field, problem)) => Err(ConnectError::option(field, problem)),
        None => Ok((options, callbacks)),
    }
}

/// Reads a message's data. Only own properties count, so `__proto__` tricks and
/// getters on the prototype change nothing; only plain objects are accepted.
pub fn read_data(data: &JsValue) -> Data {
    if !data.is_object() || js_sys::Array::is_array(data) {
        return Data::NotObject;
    }
    let obj: &Object = data.unchecked_ref();
    let proto = Object::get_prototype_of(data);
    if !(proto.is_null() || proto == Object::get_prototype_of(&Object::new())) {
        return Data::NotObject;
    }
    let field = |key: &str| {
        let key = JsValue::from_str(key);
        if !Object::has_own(obj, &key) {
            return Field::Missing;
        }
        match Reflect::get(obj, &key).ok().and_then(|v| v.as_string()) {
            Some(s) => Field::Text(s),
            None => Field::Other,
        }
    };
    Data::Object {
        kind: field("type"),
        state: field("state"),
        special_token: field("specialToken"),
        code: field("code"),
        message: field("message"),
    }
}

/// Checks `options` (their URLs with the browser's parser, `serverUrl`
/// relative to the page) and applies the defaults. `finish`: for a flow whose
/// outcome goes to a callback, whether the caller gave one (it must); `None`
/// for a flow that resolves a future.
pub(crate) fn prepare(
    options: ConnectOptions,
    finish: Option<bool>,
) -> Result<(Rc<Config>, Option<OnEvent>), ConnectError> {
    let has_finish = finish.unwrap_or(false);
    let (raw, on_event) = options.into_raw(parse_url, page_url().as_deref(), has_finish);
    Ok((Rc::new(validate(raw, finish.is_some())?), on_event))
}
