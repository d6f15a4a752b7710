//! Where long work lets its host stop it.
//!
//! A host can be asked to end a call part way: PostgreSQL's `statement_timeout`,
//! `pg_cancel_backend` and `pg_terminate_backend` take effect only where the running
//! code checks for them. Every long loop of the core calls [`Every::tick`]; the host
//! registers once what checking means for it (the extension: PostgreSQL's
//! `CHECK_FOR_INTERRUPTS`, which ends the call with an error that unwinds the loop).
//! Without a registered check a tick costs a counter.
//!
//! A hook rather than a parameter of every long function: the check belongs to the
//! host, as PostgreSQL's own is a global, and the core's signatures stay those of the
//! work they do.

use std::sync::OnceLock;

static CHECK: OnceLock<fn()> = OnceLock::new();

/// Register the host's check; the first registration stands.
pub fn register(check: fn()) {
    let _ = CHECK.set(check);
}

/// Run the host's check now.
pub fn check() {
    if let Some(check) = CHECK.get() {
        check();
    }
}

/// Checks once every 4,096 steps of a loop: often enough to stop within a millisecond
/// or so of a request, rarely enough to cost nothing measurable.
#[derive(Default)]
pub struct Every(u32);

impl Every {
    /// One step of the loop.
    #[inline]
    pub fn tick(&mut self) {
        self.0 = self.0.wrapping_add(1);
        if self.0 & 0xfff == 0 {
            check();
        }
    }
}
