//! ZivaCare's server API, typed: step 3 of ZivaCare Connect, "a single
//! server-side endpoint" that exchanges the page's one-time specialToken for
//! the user's access token, and the data API that token opens.
//!
//! - [`Client`]: your application's credentials and one HTTP client, cheap to
//!   clone. [`Client::exchange`] (the specialToken, once: never retried, no
//!   redirect followed), [`Client::create_user`] (the popup-free path).
//! - [`User`] (from [`Client::user`]): one user's data, for every
//!   [`DataType`] ZivaCare documents: a [`Page`], all pages as a `Stream`,
//!   one record by code, a day, a period, writes, the [`Profile`], in the
//!   [`UnitSystem`] you ask for. Reads are retried (bounded) on outages.
//! - [`Error`]: one `#[non_exhaustive]` enum, ZivaCare's documented codes as
//!   variants, a stable [`Error::code`] for each.
//! - [`exchange_once`] and the [`Ledger`] trait: one exchange per
//!   specialToken however often the page's SDK posts it, on any number of
//!   instances; [`MemoryLedger`] for one process.
//! - With the feature `axum`: [`axum::TokenRoute`], the SDK's forward as a
//!   ready route that takes your own extractor of the signed-in user.
//!
//! Secrets never print: [`ClientSecret`], [`SpecialToken`] and
//! [`AccessToken`] show as `<redacted>` in `Debug` and `Display`, and no
//! error's text holds one (the HTTP client's errors, which name the request
//! URL and with it a data request's `access_token`, are reduced to what
//! failed; ZivaCare's messages are scrubbed of what the request sent).
//!
//! The whole flow against the local sandbox (`zivacare-sandbox`), as the
//! crate's tests run it:
//!
//! ```
//! use futures_util::TryStreamExt;
//! use zivacare::{Client, DataType, Query, Record};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = zivacare_sandbox::spawn(zivacare_sandbox::SandboxConfig::in_memory(vec![
//! #     zivacare_sandbox::demo_app(vec!["http://127.0.0.1:8080".into()]),
//! # ])).await?;
//! # let sandbox_url = sandbox.url.clone();
//! # let special_token = sandbox.mint("demo-client", "ann@example.com", &["withings"]).await?;
//! let client = Client::builder("demo-client", "sandbox-demo-secret")
//!     .local(sandbox_url) // ZivaCare's production hosts without this line
//!     .build()?;
//! // The specialToken the page forwarded: exchanged once.
//! let connection = client.exchange(special_token).await?;
//! // Store connection.ziva_user_code and connection.access_token (encrypted).
//! let user = client.user(connection.access_token).user_code(connection.ziva_user_code);
//! let latest = user.page(DataType::Weights, Query::new().limit(7)).await?;
//! assert_eq!(latest.records.len(), 7);
//! let all: Vec<Record> = user.all(DataType::Weights, Query::new()).try_collect().await?;
//! assert_eq!(all.len() as u64, latest.total);
//! # Ok(()) }
//! ```
//!
//! Modules, from the bottom: `secret`, `text` and `data` (pure), `error`,
//! `http` (one request, and retried reads), `client`, `user` (the data API),
//! `ledger` (exactly once) and `axum` (the route).

#![warn(missing_docs)]

#[cfg(feature = "axum")]
pub mod axum;
mod client;
mod data;
mod error;
mod http;
mod ledger;
mod secret;
pub mod text;
mod user;

pub use client::{
    Client, ClientBuilder, Connection, CreatedUser, Environment, DEFAULT_READ_RETRIES,
    DEFAULT_TIMEOUT, PRODUCTION_API_URL, PRODUCTION_DEVELOPER_URL,
};
pub use data::{
    BadDate, DataType, Day, Page, Profile, Query, Record, Timestamp, UnitSystem, UnknownDataType,
};
pub use error::Error;
pub use ledger::{
    exchange_once, stale_after, Claim, Claimed, Entry, ExchangeError, Exchanged, Ledger,
    LedgerError, MemoryLedger, WRITE_BUDGET,
};
pub use secret::{AccessToken, ClientSecret, SpecialToken};
pub use user::{ApiVersion, User};
