//! ZivaCare Connect for WebAssembly: the "Connect Health Data" button, the
//! Connect popup, and the forward of its one-time specialToken to your server.
//!
//! The same module serves pages in JavaScript (`window.ZivaConnect`, the npm
//! package `@zivacare/connect`) and apps written in Rust's own web frameworks
//! (Leptos, Yew, Dioxus), which depend on this crate and call it as Rust:
//!
//! - [`Button::new`] draws the button into an element; dropping the [`Button`]
//!   removes it and its listeners.
//! - [`open`] opens the popup and calls back with the outcome; [`Flow::close`]
//!   ends it early.
//! - [`connect`] opens the popup and resolves with the outcome.
//!
//! All take [`ConnectOptions`] and end with a [`ConnectResponse`] or a
//! [`ConnectError`] with a stable [`Code`]; [`Event`]s tell of the flow's
//! steps. Open the popup from a click: browsers allow a window only for a
//! moment after one (about 5 s in Chromium and Firefox, under 1 s in Safari).
//!
//! ```no_run
//! use zivacare_connect::{connect, ConnectOptions};
//!
//! # async fn on_click() {
//! let options = ConnectOptions::new("your-client-id", "ann@example.com")
//!     .server_url("/api/zivacare/token");
//! match connect(options).await {
//!     Ok(response) => web_sys::console::log_1(&response.server_response),
//!     Err(err) => web_sys::console::warn_1(&err.to_string().into()),
//! }
//! # }
//! ```
//!
//! Modules, from the bottom (each uses only those before it): `text`,
//! `error`, `event` (what `onEvent` is told), `options`, `protocol` (the
//! protocol with the Connect page and the retry policy) and `invariants`,
//! which are pure and tested natively; then the browser's parts: `web` (the
//! window), `forward` (the POST), `js` (the JavaScript boundary), `redirect`
//! (the return's storage and the tabs' channel), `flow` (the popup and its
//! listeners), `button`, `element` (the declarative forms), and `api`, the
//! entry points.

#![warn(missing_docs)]

mod api;
mod button;
mod element;
pub mod error;
mod event;
mod flow;
mod forward;
#[doc(hidden)]
pub mod invariants;
mod js;
#[doc(hidden)]
pub mod options;
#[doc(hidden)]
pub mod protocol;
mod redirect;
#[doc(hidden)]
pub mod text;
mod web;

/// The JavaScript exports, for the in-browser tests of the JavaScript boundary.
#[doc(hidden)]
pub use api::{button_js, connect_js, handle_redirect_js, open_js};
pub use api::{connect, handle_redirect, open, ButtonHandle, FlowHandle};
pub use button::Button;
pub use error::{Code, ConnectError};
pub use event::{Event, Reason};
pub use flow::Flow;
pub use forward::ConnectResponse;
pub use options::{ConnectOptions, Credentials, UxMode, DEFAULT_CONNECT_URL};

/// A smaller allocator than Rust's default, for the module the loaders ship
/// (feature `small-allocator`): it allocates little, and only on the page's one
/// thread. An app that depends on this crate keeps its own.
#[cfg(all(target_arch = "wasm32", feature = "small-allocator"))]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown without the `atomics` feature has one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
