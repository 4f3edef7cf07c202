//! ZivaCare Connect for WebAssembly.
//!
//! `open()`, `connect()` and `button()` replace ZivaCare's `connect.js`: they open
//! the Connect popup, accept only the verified finish message of the flow they
//! started, and forward the one-time specialToken to the integrator's server.
//! The pure logic (options, protocol, retry policy) is in `options` and
//! `protocol`, tested natively; the rest talks to the browser.

#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]

extern crate alloc;

pub mod error;
#[doc(hidden)]
pub mod invariants;
pub mod options;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod flow;
#[cfg(target_arch = "wasm32")]
mod forward;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub use api::*;
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// Without `std`, a panic (a bug: the code has no intended one) stops the module
/// with a trap, which reaches the page as a `RuntimeError`.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}
