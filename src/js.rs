//! The JS boundary: reading options and message data out of JS values, and
//! turning crate errors into real `Error` objects.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::Error;
use crate::options::{check_keys, validate, Config, ParsedUrl, RawOptions};
use crate::protocol::{Data, Field};

/// The page's callbacks, kept apart from the plain options.
#[derive(Clone, Default)]
pub struct Callbacks {
    pub finish: Option<Function>,
    pub close: Option<Function>,
    pub on_event: Option<Function>,
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Reads an optional option: `undefined` counts as absent, as in most JS APIs;
/// anything `convert` refuses (`null` included) is an error naming the option.
fn opt<T>(
    obj: &JsValue,
    key: &str,
    problem: &str,
    convert: impl FnOnce(JsValue) -> Option<T>,
) -> Result<Option<T>, Error> {
    let v = get(obj, key);
    if v.is_undefined() {
        return Ok(None);
    }
    convert(v)
        .map(Some)
        .ok_or_else(|| Error::option(key, problem))
}

fn opt_string(obj: &JsValue, key: &str) -> Result<Option<String>, Error> {
    opt(obj, key, "must be a string", |v| v.as_string())
}

fn opt_number(obj: &JsValue, key: &str) -> Result<Option<f64>, Error> {
    opt(obj, key, "must be a number", |v| v.as_f64())
}

fn opt_function(obj: &JsValue, key: &str) -> Result<Option<Function>, Error> {
    opt(obj, key, "must be a function", |v| {
        v.dyn_into::<Function>().ok()
    })
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
        has_hash: !url.hash().is_empty(),
    })
}

fn opt_url(
    obj: &JsValue,
    key: &str,
    base: Option<&str>,
) -> Result<Option<Result<ParsedUrl, String>>, Error> {
    Ok(opt_string(obj, key)?.map(|s| parse_url(&s, base)))
}

fn headers(obj: &JsValue) -> Result<Vec<(String, String)>, Error> {
    const F: &str = "serverHeaders";
    let v = get(obj, F);
    if v.is_undefined() {
        return Ok(Vec::new());
    }
    if !v.is_object() || js_sys::Array::is_array(&v) {
        return Err(Error::option(
            F,
            "must be an object of header names to string values",
        ));
    }
    let mut list = Vec::new();
    for entry in Object::entries(v.unchecked_ref::<Object>()).iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        match (entry.get(0).as_string(), entry.get(1).as_string()) {
            (Some(name), Some(value)) => list.push((name, value)),
            _ => return Err(Error::option(F, "must map header names to string values")),
        }
    }
    Ok(list)
}

/// Reads and validates the options object of `open()`, `connect()` or `button()`.
pub fn read_options(
    options: &JsValue,
    callbacks_allowed: bool,
) -> Result<(Config, Callbacks), Error> {
    if !options.is_object() {
        return Err(Error::option("options", "must be an object"));
    }
    let keys: Vec<String> = Object::keys(options.unchecked_ref::<Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    check_keys(&keys, callbacks_allowed)?;
    let callbacks = Callbacks {
        finish: opt_function(options, "finish")?,
        close: opt_function(options, "close")?,
        on_event: opt_function(options, "onEvent")?,
    };
    let page = web_sys::window().and_then(|w| w.location().href().ok());
    let raw = RawOptions {
        client_id: opt_string(options, "clientId")?,
        client_user_id: opt_string(options, "clientUserId")?,
        connect_url: opt_url(options, "connectUrl", None)?,
        server_url: opt_url(options, "serverUrl", page.as_deref())?,
        state: opt_string(options, "state")?,
        server_headers: headers(options)?,
        credentials: opt_string(options, "credentials")?,
        timeout_ms: opt_number(options, "timeoutMs")?,
        popup_width: opt_number(options, "popupWidth")?,
        popup_height: opt_number(options, "popupHeight")?,
        label: opt_string(options, "label")?,
        locale: opt_string(options, "locale")?,
        has_finish: callbacks.finish.is_some(),
    };
    Ok((validate(raw, callbacks_allowed)?, callbacks))
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

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A real `Error` with `name`, stable `code` and the details of its code.
pub fn to_js_error(e: &Error) -> JsValue {
    let err: JsValue = js_sys::Error::new(&e.message).into();
    set(&err, "name", &"ZivaConnectError".into());
    set(&err, "code", &e.code.as_str().into());
    if let Some(f) = &e.field {
        set(&err, "field", &f.into());
    }
    if let Some(c) = &e.connect_code {
        set(&err, "connectCode", &c.into());
    }
    if let Some(s) = e.status {
        set(&err, "status", &s.into());
    }
    err
}

/// A plain object from key/value pairs.
pub fn object(pairs: &[(&str, &JsValue)]) -> JsValue {
    let obj: JsValue = Object::new().into();
    for (k, v) in pairs {
        set(&obj, k, v);
    }
    obj
}

impl Callbacks {
    /// Calls `onEvent(name, details)`; an exception from it is logged, never fatal.
    pub fn event(&self, name: &str, details: &JsValue) {
        if let Some(f) = &self.on_event {
            report(f.call2(&JsValue::NULL, &name.into(), details));
        }
    }
}

/// Surfaces an exception thrown by a page's callback without ending the flow.
pub fn report(result: Result<JsValue, JsValue>) {
    if let Err(e) = result {
        web_sys::console::error_1(&e);
    }
}
