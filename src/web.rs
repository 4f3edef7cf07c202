//! The page's window, and small owners of browser resources, released on drop:
//! an event listener and a timer. (The gloo crates do the same, but need `std`;
//! without `std` the module leaves out Rust's formatting and panic machinery,
//! several KB of gzip.)

use core::cell::RefCell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

#[wasm_bindgen]
extern "C" {
    /// The page's `window` (`web_sys::window()` probes four globals for it).
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Option<web_sys::Window>;
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(handler: &JsValue, ms: i32) -> i32;
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(handler: &JsValue, ms: i32) -> i32;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: i32);
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(id: i32);
}

/// The page's window; `None` outside a page.
pub fn window() -> Option<web_sys::Window> {
    WINDOW.with(Clone::clone)
}

/// A listener of `kind` events on `target`, removed when dropped.
pub struct Listener {
    target: EventTarget,
    kind: &'static str,
    handler: Closure<dyn FnMut(Event)>,
}

impl Listener {
    pub fn new(
        target: &EventTarget,
        kind: &'static str,
        mut f: impl FnMut(&Event) + 'static,
    ) -> Listener {
        let handler = Closure::<dyn FnMut(Event)>::new(move |e: Event| f(&e));
        let _ = target.add_event_listener_with_callback(kind, handler.as_ref().unchecked_ref());
        Listener {
            target: target.clone(),
            kind,
            handler,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.handler.as_ref().unchecked_ref());
    }
}

/// A `setTimeout` or `setInterval`, cleared when dropped.
pub struct Timer {
    id: i32,
    repeats: bool,
    _handler: Closure<dyn FnMut()>,
}

impl Timer {
    /// Runs `f` once after `ms` milliseconds.
    pub fn once(ms: u32, f: impl FnOnce() + 'static) -> Timer {
        let mut f = Some(f);
        let handler = Closure::<dyn FnMut()>::new(move || {
            if let Some(f) = f.take() {
                f();
            }
        });
        Timer {
            id: set_timeout(handler.as_ref(), ms.min(i32::MAX as u32) as i32),
            repeats: false,
            _handler: handler,
        }
    }

    /// Runs `f` every `ms` milliseconds.
    pub fn every(ms: u32, f: impl FnMut() + 'static) -> Timer {
        let handler = Closure::<dyn FnMut()>::new(f);
        Timer {
            id: set_interval(handler.as_ref(), ms.min(i32::MAX as u32) as i32),
            repeats: true,
            _handler: handler,
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if self.repeats {
            clear_interval(self.id);
        } else {
            clear_timeout(self.id);
        }
    }
}

/// A global for the module's one thread: wasm32-unknown-unknown without the
/// `atomics` feature runs single-threaded, so sharing needs no lock.
pub struct Global<T>(RefCell<T>);

// SAFETY: there is one thread (see above); the value is never seen from another.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    pub const fn new(value: T) -> Global<T> {
        Global(RefCell::new(value))
    }

    pub fn with<R>(&self, f: impl FnOnce(&RefCell<T>) -> R) -> R {
        f(&self.0)
    }
}
