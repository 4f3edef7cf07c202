//! The sandbox on a loopback port, with a test app, and plain HTTP requests
//! to it (reqwest, no redirect followed), as any client sends them.
#![allow(dead_code)]

use zivacare::axum::ClientIp;
use zivacare::ClientSecret;
use zivacare_sandbox::{spawn, RegisteredApp, Running, SandboxConfig};

pub const APP_ORIGIN: &str = "http://127.0.0.1:8080";
pub const CLIENT_ID: &str = "demo-client";
pub const SECRET: &str = "sec_SENTINEL_sandbox-secret";
pub const RETURN_URL: &str = "http://127.0.0.1:8080/connected";

pub fn app() -> RegisteredApp {
    RegisteredApp {
        client_id: CLIENT_ID.into(),
        client_secret: ClientSecret::new(SECRET),
        name: "Test <App>".into(),
        origins: vec![APP_ORIGIN.into()],
        return_urls: vec![RETURN_URL.into()],
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    pub sandbox: Running,
    pub http: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.text).unwrap_or(serde_json::Value::Null)
    }
}

pub async fn world() -> World {
    world_with(600, 100_000).await
}

/// A sandbox whose tokens live `ttl` seconds, limited to `per_minute`
/// requests a minute per client address, on a SQLite file of its own.
pub async fn world_with(ttl: i64, per_minute: u32) -> World {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = spawn(SandboxConfig {
        token_ttl_secs: ttl,
        rate_limit_per_minute: per_minute,
        client_ip: ClientIp::Peer,
        ..SandboxConfig::new(vec![app()], dir.path().join("sandbox.db"))
    })
    .await
    .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    World { dir, sandbox, http }
}

pub async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    Reply {
        status,
        headers,
        text: resp.text().await.unwrap(),
    }
}

impl World {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.url)
    }

    pub async fn get(&self, path: &str) -> Reply {
        reply(self.http.get(self.url(path)).send().await.unwrap()).await
    }

    pub async fn post(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let resp = self
            .http
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        reply(resp).await
    }

    /// Mints a specialToken through the Connect page's own finish endpoint.
    pub async fn mint(&self, user: &str, sources: &[&str]) -> String {
        let body = serde_json::json!({ "clientId": CLIENT_ID, "clientUserId": user, "origin": APP_ORIGIN, "sources": sources });
        let r = self
            .post("/connect/finish", "application/json", body.to_string())
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()["specialToken"].as_str().unwrap().to_owned()
    }

    /// The exchange as ZivaCare's docs show it: a form with the token and the secret.
    pub async fn exchange_form(&self, token: &str, secret: &str) -> Reply {
        self.post(
            "/oauth/v2/get-access-token",
            "application/x-www-form-urlencoded",
            form(token, secret),
        )
        .await
    }

    /// A user who shared `sources`: their access token.
    pub async fn reader(&self, user: &str, sources: &[&str]) -> String {
        let token = match sources {
            // The Connect page asks for a source; user creation grants none.
            [] => self.sandbox.mint(CLIENT_ID, user, &[]).await.unwrap(),
            _ => self.mint(user, sources).await,
        };
        self.exchange_form(&token, SECRET).await.json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Rows of a table of the sandbox's database.
    pub fn count(&self, table: &str) -> i64 {
        let db = rusqlite::Connection::open(self.dir.path().join("sandbox.db")).unwrap();
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

pub fn form(token: &str, secret: &str) -> String {
    serde_urlencoded::to_string([("specialToken", token), ("clientSecret", secret)]).unwrap()
}
