//! ZivaCare Connect for WebAssembly.
//!
//! `open()`, `connect()` and `button()` replace ZivaCare's `connect.js`: the
//! module draws the "Connect Health Data" button, opens the Connect popup,
//! accepts only the verified finish message of the flow it started, and
//! forwards the one-time specialToken to the integrator's server.
//!
//! The pure logic (options, protocol, retry policy) is in [`options`] and
//! [`protocol`], tested natively; the rest talks to the browser: `flow` (the
//! popup and its listeners), `forward` (the POST), `button`, `element` (the
//! declarative forms), `js` (the JavaScript boundary) and `api` (the exports).

pub mod error;
#[doc(hidden)]
pub mod invariants;
pub mod options;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod button;
#[cfg(target_arch = "wasm32")]
mod element;
#[cfg(target_arch = "wasm32")]
mod flow;
#[cfg(target_arch = "wasm32")]
mod forward;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
pub use api::*;

/// A smaller allocator than Rust's default: the module allocates little, and
/// only on the page's one thread.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    // SAFETY: wasm32-unknown-unknown without the `atomics` feature has one thread.
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };
