//! ZivaCare Connect in a Leptos app (client-side rendering): the SDK's button
//! as a component, which removes it (and closes its popup) when unmounted, and
//! the popup opened with `connect()` from a click.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use zivacare_connect::{connect, Button, ConnectOptions};

#[path = "../../rust-app.rs"]
mod app;
use app::{describe, load_config, AppConfig};

/// The user this example signs in as (the test command's session).
const USER: &str = "leptos@example.com";

fn options(config: &AppConfig) -> ConnectOptions {
    app::options(config, USER)
}

/// The SDK's "Connect Health Data" button, for as long as the component is
/// mounted: the `Button` is the guard, dropped on cleanup.
#[component]
fn ConnectHealthDataButton(options: ConnectOptions, on_outcome: Callback<String>) -> impl IntoView {
    let host = NodeRef::<html::Span>::new();
    let button = StoredValue::new(SendWrapper::new(None::<Button>));
    let options = SendWrapper::new(options);
    host.on_load(move |el| {
        let made = Button::new(&el, (*options).clone(), move |outcome| {
            on_outcome.run(describe(outcome))
        });
        button.set_value(SendWrapper::new(made.ok()));
    });
    on_cleanup(move || button.set_value(SendWrapper::new(None)));
    view! { <span node_ref=host class="zivacare-connect"></span> }
}

#[component]
fn App() -> impl IntoView {
    let config = LocalResource::new(load_config);
    let (status, set_status) = signal("Not connected yet.".to_owned());
    let (shown, set_shown) = signal(true);
    let (busy, set_busy) = signal(false);
    let on_outcome = Callback::new(move |text: String| set_status.set(text));
    view! {
        <main>
            <h1>"ZivaCare Connect with Leptos"</h1>
            {move || match config.get().flatten() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(config) => {
                    let for_button = config.clone();
                    let open = move |_| {
                        set_busy.set(true);
                        // The popup opens now, inside the click; the outcome comes later.
                        let flow = connect(options(&config));
                        spawn_local(async move {
                            set_status.set(describe(flow.await));
                            set_busy.set(false);
                        });
                    };
                    view! {
                        <Show when=move || shown.get()>
                            <ConnectHealthDataButton options=options(&for_button) on_outcome=on_outcome />
                        </Show>
                        <button type="button" on:click=move |_| set_shown.set(false)>"Remove the button"</button>
                        <button type="button" disabled=busy on:click=open>
                            {move || if busy.get() { "Connecting…" } else { "Connect with connect()" }}
                        </button>
                    }
                    .into_any()
                }
            }}
            <p role="status">{status}</p>
        </main>
    }
}

fn main() {
    mount_to_body(App);
}
