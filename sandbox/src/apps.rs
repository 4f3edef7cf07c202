//! What ZivaCare knows of integrators: their registered applications.

use serde::{Deserialize, Deserializer};
use zivacare::ClientSecret;

/// A registered application.
///
/// ```
/// let app: zivacare_sandbox::RegisteredApp = serde_json::from_str(r#"{
///     "clientId": "my-app", "clientSecret": "s3cret", "name": "My App",
///     "origins": ["https://app.example.com"], "returnUrls": ["https://app.example.com/connected"]
/// }"#).unwrap();
/// assert!(!format!("{app:?}").contains("s3cret"));
/// ```
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
    /// Exact URLs the Connect page may return to (`returnUrl`), compared
    /// string for string: another path, port, case or a trailing slash is
    /// another URL, refused with a page that goes nowhere.
    #[serde(default)]
    pub return_urls: Vec<String>,
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<ClientSecret, D::Error> {
    String::deserialize(d).map(ClientSecret::new)
}

/// The built-in demo app's clientId.
///
/// ```
/// assert_eq!(zivacare_sandbox::demo_app(vec![]).client_id, zivacare_sandbox::DEMO_CLIENT_ID);
/// ```
pub const DEMO_CLIENT_ID: &str = "demo-client";
/// The sandbox's demo secret: public by nature, never valid at ZivaCare.
///
/// ```
/// assert!(zivacare_sandbox::demo_app(vec![]).client_secret.matches(zivacare_sandbox::DEMO_CLIENT_SECRET));
/// ```
pub const DEMO_CLIENT_SECRET: &str = "sandbox-demo-secret";

/// The built-in demo app, registered for the given app origins, and to
/// return to the page at the root of each (`{origin}/`).
///
/// ```
/// let app = zivacare_sandbox::demo_app(vec!["http://127.0.0.1:8080".into()]);
/// assert_eq!(app.name, "ZivaCare Demo App");
/// ```
pub fn demo_app(origins: Vec<String>) -> RegisteredApp {
    RegisteredApp {
        client_id: DEMO_CLIENT_ID.into(),
        client_secret: ClientSecret::new(DEMO_CLIENT_SECRET),
        name: "ZivaCare Demo App".into(),
        return_urls: origins.iter().map(|o| format!("{o}/")).collect(),
        origins,
    }
}

/// Reads registered apps from a JSON file: `[{clientId, clientSecret, name,
/// origins, returnUrls?}]`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let file = dir.path().join("apps.json");
/// std::fs::write(&file, r#"[{"clientId": "a", "clientSecret": "s", "name": "A", "origins": []}]"#).unwrap();
/// assert_eq!(zivacare_sandbox::load_apps(&file).unwrap()[0].client_id, "a");
/// assert!(zivacare_sandbox::load_apps(&dir.path().join("none.json")).is_err());
/// ```
pub fn load_apps(path: &std::path::Path) -> Result<Vec<RegisteredApp>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a valid apps file: {e}", path.display()))
}
