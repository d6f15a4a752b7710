//! The runtime for the router's background work, at a lower CPU priority.
//!
//! Parsing and validating large requests, the tier workers and the embedded SurrealDB
//! all want CPU; lookups want it at once and for a few microseconds. On a machine of
//! two cores the background work would otherwise sit on the same threads as the HTTP
//! handlers (the landed router's lookups went from 0.4 ms to 1.4 s at the p50 under
//! 16 ingesting clients). So it runs on a runtime of its own, whose threads the kernel
//! weighs lower (nice), and the HTTP runtime's threads are preempted for nothing.

use tokio::runtime::{Builder, Runtime};

/// Niceness of the background threads: about a tenth of the CPU weight of the HTTP
/// threads when both want to run, all of it when the HTTP threads are idle.
const NICE: libc::c_int = 10;

/// The background runtime: two workers (one per core here) and a blocking pool.
pub fn runtime() -> std::io::Result<Background> {
    Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ctas-background")
        .on_thread_start(lower_priority)
        .enable_all()
        .build()
        .map(|r| Background(Some(r)))
}

/// The background runtime, shut down without waiting for its threads when dropped. It
/// is dropped inside the HTTP runtime — when `serve` ends, or returns an error at start
/// (a warm store another process holds) — where waiting would block a runtime thread,
/// which tokio refuses with a panic.
pub struct Background(Option<Runtime>);

impl std::ops::Deref for Background {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        self.0.as_ref().expect("the runtime is there until dropped")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

fn lower_priority() {
    // On Linux, PRIO_PROCESS with 0 names the calling thread alone, not the process.
    // Raising one's own niceness needs no privilege; a failure leaves the default.
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
    if rc != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "background thread keeps its priority");
    }
}
