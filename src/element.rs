//! The declarative forms, for pages without a script of their own:
//! `<div data-zivacare-connect data-client-id=… data-client-user-id=…>` and the
//! custom element `<zivacare-connect-button client-id=… client-user-id=…>`
//! (whose class is the loader's: the browser wants a JavaScript class). Both
//! render the same [`Button`] and report through DOM events on their element:
//! `zivacare-finish` (`detail`: the response), `zivacare-close` and
//! `zivacare-error` (`detail`: the error).

use std::rc::Rc;

use wasm_bindgen::{JsCast, JsValue};
use web_sys::{
    CssStyleSheet, CustomEvent, CustomEventInit, Element, ShadowRootInit, ShadowRootMode,
};

use crate::button::Button;
use crate::error::{Code, ConnectError};
use crate::forward::Outcome;
use crate::js::{prepare, to_js, to_js_error};
use crate::options::ConnectOptions;
use crate::text::cat;

/// The custom element's look, themable from the page with CSS custom properties
/// (`--zivacare-button-background`, `-color`, `-radius`, `-padding`,
/// `--zivacare-focus-color`) or `::part(button)`. A constructed stylesheet:
/// no inline style, so strict Content-Security-Policies hold.
const CSS: &str = ":host{display:inline-block}\
button{font:inherit;font-weight:600;cursor:pointer;border:0;\
padding:var(--zivacare-button-padding,.65em 1.2em);border-radius:var(--zivacare-button-radius,8px);\
background:var(--zivacare-button-background,#0b5d5b);color:var(--zivacare-button-color,#fff)}\
button:focus-visible{outline:3px solid var(--zivacare-focus-color,#f0a500);outline-offset:2px}\
button:disabled{opacity:.6;cursor:progress}";

thread_local! {
    /// One stylesheet for every custom element of the page (`None` where the
    /// browser cannot construct stylesheets: the button is then unstyled).
    static SHEET: Option<CssStyleSheet> = CssStyleSheet::new()
        .ok()
        .filter(|s| s.replace_sync(CSS).is_ok());
}

/// Dispatches `name` on `el`, bubbling out of shadow roots.
fn emit(el: &Element, name: &str, detail: &JsValue) {
    let init = CustomEventInit::new();
    init.set_detail(detail);
    init.set_bubbles(true);
    init.set_composed(true);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = el.dispatch_event(&event);
    }
}

/// A flow's outcome as the element's DOM event.
fn emit_outcome(el: &Element, outcome: Outcome) {
    match outcome {
        Ok(response) => emit(el, "zivacare-finish", &to_js(&response)),
        Err(e) if e.code() == Code::PopupClosed => emit(el, "zivacare-close", &JsValue::NULL),
        Err(e) => emit(el, "zivacare-error", &to_js_error(&e)),
    }
}

/// The options an element's attributes give (`client-id`, `client-user-id`,
/// `server-url`, `connect-url`, `label`, `state`, `locale`, `return-url`,
/// `ux-mode`, each with `prefix`).
/// Empty optional attributes count as absent.
fn options_of(el: &Element, prefix: &str) -> ConnectOptions {
    let attr = |name: &str| el.get_attribute(&cat(&[prefix, name]));
    let optional = |name: &str| attr(name).filter(|v| !v.is_empty());
    ConnectOptions {
        client_id: attr("client-id"),
        client_user_id: attr("client-user-id"),
        connect_url: optional("connect-url"),
        server_url: optional("server-url"),
        state: optional("state"),
        label: optional("label"),
        locale: optional("locale"),
        return_url: optional("return-url"),
        ux_mode: optional("ux-mode"),
        ..ConnectOptions::default()
    }
}

/// Renders the button for `host` into `target`, reporting through `host`'s
/// events; invalid attributes are reported as `zivacare-error`, and nothing is drawn.
fn render(host: &Element, target: &web_sys::Node, prefix: &str) -> Option<Button> {
    let made = prepare(options_of(host, prefix), Some(true)).and_then(|(config, _)| {
        let el = host.clone();
        Button::draw(
            target,
            config,
            Rc::new(move |outcome| emit_outcome(&el, outcome)),
            None,
        )
    });
    match made {
        Ok(button) => Some(button),
        Err(e) => {
            emit(host, "zivacare-error", &to_js_error(&e));
            None
        }
    }
}

/// Every `[data-zivacare-connect]` element of the page, but those in `skip`
/// (already rendered), with the button drawn into it.
pub fn mount_declared(skip: impl Fn(&Element) -> bool) -> Vec<(Element, Button)> {
    let Some(found) = crate::web::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector_all("[data-zivacare-connect]").ok())
    else {
        return Vec::new();
    };
    (0..found.length())
        .filter_map(|i| found.item(i)?.dyn_into::<Element>().ok())
        .filter(|el| !skip(el))
        .filter_map(|el| {
            let button = render(&el, &el, "data-")?;
            Some((el, button))
        })
        .collect()
}

/// The custom element `host`: its open shadow root gets the stylesheet and the button.
pub fn mount_element(host: &Element) -> Result<Option<Button>, ConnectError> {
    let root = match host.shadow_root() {
        Some(root) => root,
        None => {
            let root = host
                .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
                .map_err(|_| ConnectError::option("target", "cannot have a shadow root"))?;
            SHEET.with(|sheet| {
                if let Some(sheet) = sheet {
                    root.set_adopted_style_sheets(&js_sys::Array::of1(sheet));
                }
            });
            root
        }
    };
    Ok(render(host, &root, ""))
}
