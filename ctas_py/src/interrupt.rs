//! Ctrl-C during long work.
//!
//! The core's long loops call `ctas_core::interrupt::check` every few thousand steps
//! (some once a point). Here the check asks Python whether a signal arrived (only the
//! main thread can see one); if so, it unwinds out of the core with [`Interrupted`], which
//! [`run`] turns into the `KeyboardInterrupt` Python would have raised.
//!
//! Asking needs the GIL, which another Python thread may hold for up to its switch
//! interval (5 ms): asked at every call, a once-a-point loop would crawl beside a busy
//! thread. So Python is asked at most every [`INTERVAL`]; the other calls cost a clock
//! read.

use std::cell::Cell;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// How often Python is asked at most: a Ctrl-C is heard within this.
const INTERVAL: Duration = Duration::from_millis(50);

thread_local! {
    static ASKED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The panic payload of an interrupted call.
struct Interrupted(PyErr);

fn check() {
    let now = Instant::now();
    let due = ASKED.with(|asked| match asked.get() {
        Some(t) if now.duration_since(t) < INTERVAL => false,
        _ => {
            asked.set(Some(now));
            true
        }
    });
    if !due {
        return;
    }
    let pending = Python::attach(|py| py.check_signals().err());
    if let Some(e) = pending {
        std::panic::resume_unwind(Box::new(Interrupted(e)));
    }
}

pub(crate) fn register() {
    ctas_core::interrupt::register(check);
}

/// Runs `work` with the GIL released; a signal during it (Ctrl-C) ends it with the
/// exception its handler raised, `KeyboardInterrupt` by default.
pub(crate) fn run<T: Send>(py: Python<'_>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    py.detach(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)))
        .or_else(|payload| match payload.downcast::<Interrupted>() {
            Ok(i) => Err(i.0),
            Err(other) => std::panic::resume_unwind(other),
        })
}
