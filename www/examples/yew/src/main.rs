//! ZivaCare Connect in a Yew app: the SDK's button as a component, which
//! removes it (and closes its popup) when unmounted, and the popup opened with
//! `connect()` from a click.

use wasm_bindgen_futures::spawn_local;
use yew::prelude::*;
use zivacare_connect::{connect, Button, ConnectOptions};

#[path = "../../rust-app.rs"]
mod app;
use app::{describe, load_config, AppConfig};

/// The user this example signs in as (the test command's session).
const USER: &str = "yew@example.com";

fn options(config: &AppConfig) -> ConnectOptions {
    app::options(config, USER)
}

#[derive(Properties, PartialEq)]
struct ButtonProps {
    config: AppConfig,
    on_outcome: Callback<String>,
}

/// The SDK's "Connect Health Data" button, for as long as the component is
/// mounted: the `Button` is the guard, dropped by the effect's cleanup.
#[function_component]
fn ConnectHealthDataButton(props: &ButtonProps) -> Html {
    let host = use_node_ref();
    {
        let (host, config, on_outcome) =
            (host.clone(), props.config.clone(), props.on_outcome.clone());
        use_effect_with(config, move |config| {
            let button = host.cast::<web_sys::Element>().and_then(|el| {
                Button::new(&el, options(config), move |outcome| {
                    on_outcome.emit(describe(outcome))
                })
                .ok()
            });
            move || drop(button)
        });
    }
    html! { <span ref={host} class="zivacare-connect"></span> }
}

#[function_component]
fn App() -> Html {
    let config = use_state(|| None::<AppConfig>);
    let status = use_state(|| "Not connected yet.".to_owned());
    let shown = use_state(|| true);
    let busy = use_state(|| false);
    {
        let config = config.clone();
        use_effect_with((), move |_| {
            spawn_local(async move {
                config.set(load_config().await);
            });
        });
    }
    let Some(app) = (*config).clone() else {
        return html! { <main><p>{ "Loading…" }</p></main> };
    };
    let on_outcome = {
        let status = status.clone();
        Callback::from(move |text: String| status.set(text))
    };
    let remove = {
        let shown = shown.clone();
        Callback::from(move |_| shown.set(false))
    };
    let open = {
        let (app, status, busy) = (app.clone(), status.clone(), busy.clone());
        Callback::from(move |_| {
            busy.set(true);
            // The popup opens now, inside the click; the outcome comes later.
            let flow = connect(options(&app));
            let (status, busy) = (status.clone(), busy.clone());
            spawn_local(async move {
                status.set(describe(flow.await));
                busy.set(false);
            });
        })
    };
    html! {
        <main>
            <h1>{ "ZivaCare Connect with Yew" }</h1>
            if *shown {
                <ConnectHealthDataButton config={app} {on_outcome} />
            }
            <button type="button" onclick={remove}>{ "Remove the button" }</button>
            <button type="button" disabled={*busy} onclick={open}>
                { if *busy { "Connecting…" } else { "Connect with connect()" } }
            </button>
            <p role="status">{ (*status).clone() }</p>
        </main>
    }
}

fn main() {
    yew::Renderer::<App>::new().render();
}
