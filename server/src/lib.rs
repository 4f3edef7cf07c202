//! A local ZivaCare sandbox and a reference backend, so the whole Connect flow
//! runs on one machine: see `sandbox` (ZivaCare's side) and `backend` (yours).

pub mod backend;
pub mod sandbox;
pub mod store;
pub mod util;
