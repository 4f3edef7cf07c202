//! The reference backend of ZivaCare Connect ("your server"), built on the
//! `zivacare` crate (ZivaCare's API and the SDK's forward as a route) and run
//! beside the `zivacare-sandbox` crate by `zivacare-dev`. What is the
//! application's own lives here, from the bottom: `crypto` (the keys that
//! seal stored access tokens), `store` (SQLite or PostgreSQL, migrations),
//! `exchanges` (the record of exchanges on that store), `auth` (who the user
//! is: the demo's session), `backend` (the routes) and `config` (the command
//! line and environment).

pub mod auth;
pub mod backend;
pub mod config;
pub mod crypto;
pub mod exchanges;
pub mod store;
