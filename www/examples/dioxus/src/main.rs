//! ZivaCare Connect in a Dioxus app (its web renderer, built with cargo and
//! the wasm-bindgen CLI): the SDK's button as a component, which removes it
//! (and closes its popup) when unmounted, and the popup opened with
//! `connect()` from a click.

use dioxus::prelude::*;
use dioxus::web::WebEventExt;
use zivacare_connect::{connect, Button, ConnectOptions};

#[path = "../../rust-app.rs"]
mod app;
use app::{describe, load_config, AppConfig};

/// The user this example signs in as (the test command's session).
const USER: &str = "dioxus@example.com";

fn options(config: &AppConfig) -> ConnectOptions {
    app::options(config, USER)
}

/// The SDK's "Connect Health Data" button, for as long as the component is
/// mounted: the `Button` is held by the component and dropped with it.
#[component]
fn ConnectHealthDataButton(config: AppConfig, status: Signal<String>) -> Element {
    let mut button = use_signal(|| None::<Button>);
    use_drop(move || drop(button.take()));
    rsx! {
        span {
            class: "zivacare-connect",
            onmounted: move |event| {
                let Some(host) = event.data().try_as_web_event() else { return };
                let drawn = Button::new(&host, options(&config), move |outcome| {
                    // A signal is Copy: each outcome sets a copy of it.
                    let mut status = status;
                    status.set(describe(outcome))
                });
                button.set(drawn.ok());
            },
        }
    }
}

#[component]
fn App() -> Element {
    let config = use_resource(load_config);
    let mut status = use_signal(|| "Not connected yet.".to_owned());
    let mut shown = use_signal(|| true);
    let mut busy = use_signal(|| false);
    let Some(Some(app)) = config.read().clone() else {
        return rsx! { main { p { "Loading…" } } };
    };
    let open = {
        let app = app.clone();
        move |_| {
            // The popup opens now, inside the click; the outcome comes later.
            // Open it before setting any signal: Firefox runs the page's
            // pending tasks inside window.open, and a render that a signal
            // scheduled would then re-enter Dioxus's (borrowed) virtual DOM.
            let flow = connect(options(&app));
            busy.set(true);
            spawn(async move {
                status.set(describe(flow.await));
                busy.set(false);
            });
        }
    };
    rsx! {
        main {
            h1 { "ZivaCare Connect with Dioxus" }
            if shown() {
                ConnectHealthDataButton { config: app.clone(), status }
            }
            button { r#type: "button", onclick: move |_| shown.set(false), "Remove the button" }
            button { r#type: "button", disabled: busy(), onclick: open,
                if busy() { "Connecting…" } else { "Connect with connect()" }
            }
            p { role: "status", "{status}" }
        }
    }
}

fn main() {
    dioxus::launch(App);
}
