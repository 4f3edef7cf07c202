//! What ZivaCare knows of integrators: their registered applications.

use serde::{Deserialize, Deserializer};
use zivacare::ClientSecret;

/// A registered application.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisteredApp {
    /// Its clientId.
    pub client_id: String,
    /// Its clientSecret.
    #[serde(deserialize_with = "secret")]
    pub client_secret: ClientSecret,
    /// Its name, shown on the Connect page.
    pub name: String,
    /// Exact origins (`scheme://host[:port]`) allowed to open the Connect page.
    pub origins: Vec<String>,
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<ClientSecret, D::Error> {
    String::deserialize(d).map(ClientSecret::new)
}

/// The built-in demo app's clientId.
pub const DEMO_CLIENT_ID: &str = "demo-client";
/// The sandbox's demo secret: public by nature, never valid at ZivaCare.
pub const DEMO_CLIENT_SECRET: &str = "sandbox-demo-secret";

/// The built-in demo app, registered for the given app origins.
pub fn demo_app(origins: Vec<String>) -> RegisteredApp {
    RegisteredApp {
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: ClientSecret::new(DEMO_CLIENT_SECRET),
        name: "ZivaCare Demo App".into(),
        origins,
    }
}

/// Reads registered apps from a JSON file: `[{clientId, clientSecret, name, origins}]`.
pub fn load_apps(path: &std::path::Path) -> Result<Vec<RegisteredApp>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a valid apps file: {e}", path.display()))
}
