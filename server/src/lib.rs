//! A local ZivaCare sandbox and a reference backend, so the whole Connect flow
//! runs on one machine: see `sandbox` (ZivaCare's side) and `backend` (yours).
//! The rest, by concern: `auth` (who the user is), `store` (the database),
//! `crypto`, `text`, `error`, `http` and `config`.

pub mod auth;
pub mod backend;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod sandbox;
pub mod store;
pub mod text;
