//! What the crate's tests run against: the sandbox crate on a loopback port,
//! and, for what the sandbox never does (redirect, answer slowly, 429, drop
//! the connection, answer garbage), a small HTTP server of the tests' own
//! that answers each request as it is told and records what it received.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zivacare::Client;
use zivacare_sandbox::{
    demo_app, spawn, Running, SandboxConfig, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
};

pub const SECRET_SENTINEL: &str = "sec_SENTINEL_client-secret";
pub const TOKEN_SENTINEL: &str = "tok_SENTINEL_special-token";
pub const ACCESS_SENTINEL: &str = "acc_SENTINEL_access-token";

/// A sandbox with the demo app, in memory.
pub async fn sandbox() -> Running {
    spawn(SandboxConfig::in_memory(vec![demo_app(vec![
        "http://127.0.0.1:8080".into(),
    ])]))
    .await
    .expect("sandbox")
}

/// A client of the demo app at `url`.
pub fn client(url: &str) -> Client {
    Client::builder(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        .local(url)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// A user connected through the sandbox who shared `sources`: the client
/// and the user's data API.
pub async fn connected(sb: &Running, user: &str, sources: &[&str]) -> (Client, zivacare::User) {
    let client = client(&sb.url);
    let token = sb.mint(DEMO_CLIENT_ID, user, sources).await.unwrap();
    let connection = client.exchange(token).await.unwrap();
    let data = client
        .user(connection.access_token.clone())
        .user_code(connection.ziva_user_code.clone());
    (client, data)
}

/// What the stub server does with one request.
#[derive(Clone)]
pub enum Answer {
    /// Answers `status` with these headers and body.
    With(u16, Vec<(&'static str, String)>, String),
    /// Waits, then answers.
    After(Duration, Box<Answer>),
    /// Closes the connection without answering.
    Drop,
}

impl Answer {
    pub fn json(status: u16, body: serde_json::Value) -> Answer {
        Answer::With(
            status,
            vec![("content-type", "application/json".into())],
            body.to_string(),
        )
    }
}

/// A request the stub received: its request line, headers and body.
#[derive(Clone, Debug)]
pub struct Received {
    pub line: String,
    pub head: String,
    pub body: String,
}

/// The stub server: answers the n-th request with `answers[n]` (the last
/// one again once they run out).
pub struct Stub {
    pub url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl Stub {
    pub async fn start(answers: Vec<Answer>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&received);
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let seen = Arc::clone(&seen);
                let answers = answers.clone();
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut socket).await else {
                        return;
                    };
                    let n = {
                        let mut s = seen.lock().unwrap();
                        s.push(req);
                        s.len() - 1
                    };
                    let mut answer = answers[n.min(answers.len() - 1)].clone();
                    loop {
                        match answer {
                            Answer::After(wait, then) => {
                                tokio::time::sleep(wait).await;
                                answer = *then;
                            }
                            Answer::Drop => return,
                            Answer::With(status, headers, body) => {
                                let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
                                for (k, v) in headers {
                                    out.push_str(&format!("{k}: {v}\r\n"));
                                }
                                out.push_str("\r\n");
                                out.push_str(&body);
                                let _ = socket.write_all(out.as_bytes()).await;
                                let _ = socket.shutdown().await;
                                return;
                            }
                        }
                    }
                });
            }
        });
        Stub { url, received }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        line: head.lines().next().unwrap_or_default().to_owned(),
        body: String::from_utf8_lossy(&buf[head_end..]).into_owned(),
        head,
    })
}
