//! What the Rust examples (Leptos, Yew, Dioxus) share, included by each as its
//! module `app`: the app's configuration from its server, the options of a flow
//! for the signed-in user, and how an outcome is told on the page.

use serde::Deserialize;
use zivacare_connect::{Code, ConnectError, ConnectOptions, ConnectResponse};

/// What the app's server says the page needs: `GET /api/zivacare/config`.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppConfig {
    client_id: String,
    connect_url: String,
    server_url: String,
}

/// The app's configuration, from its server; `None` if it cannot be had.
pub async fn load_config() -> Option<AppConfig> {
    let resp = gloo_net::http::Request::get("/api/zivacare/config")
        .send()
        .await
        .ok()?;
    resp.json::<AppConfig>().await.ok()
}

/// The app's server's answer to the forward.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connected {
    ziva_user_code: String,
}

/// A flow's options for `user`, the signed-in user.
pub fn options(config: &AppConfig, user: &str) -> ConnectOptions {
    ConnectOptions::new(&config.client_id, user)
        .connect_url(&config.connect_url)
        .server_url(&config.server_url)
}

/// A flow's outcome, as the page tells it.
pub fn describe(outcome: Result<ConnectResponse, ConnectError>) -> String {
    match outcome {
        Ok(response) => match serde_wasm_bindgen::from_value::<Connected>(response.server_response)
        {
            Ok(c) => format!("Connected: {}", c.ziva_user_code),
            Err(_) => "Connected.".to_owned(),
        },
        Err(e) if e.code() == Code::PopupClosed => "Cancelled.".to_owned(),
        Err(e) => format!("Error: {}", e.code().as_str()),
    }
}
