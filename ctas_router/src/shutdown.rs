//! How the router stops: SIGTERM or Ctrl-C ends accepting, requests in flight get a
//! bounded time to finish, then the workers stop and the hot tier is flushed.
//!
//! The signal handlers are installed before the router listens, so a failure to
//! install them is an error at start, not a panic when the signal comes.

use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};

/// Both signals an operator stops a service with.
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    /// Catch SIGTERM and SIGINT from now on.
    pub fn install() -> std::io::Result<Self> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// The first of them to come; its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// The bounds of a stop.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Time requests in flight have to finish once the signal came.
    pub drain: Duration,
    /// Time the outbox workers have to finish the batch they are moving.
    pub workers: Duration,
}
