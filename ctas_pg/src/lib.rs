//! The `ctas` PostgreSQL extension.
//!
//! This crate only converts: SQL types in, `ctas_core` does the work, SQL types and
//! SQL errors out. A module per family of SQL functions.

mod analyze;
mod behaviour;
#[cfg(feature = "bench")]
mod bench;
mod cache;
mod cluster;
mod error;
mod extension;
mod fmgr;
mod h3;
mod history;
mod hotspot;
mod ingest;
mod ioc;
mod json;
mod patterns;
mod score;
mod srf;

::pgrx::pg_module_magic!(name, version);

/// Called once when a backend loads the library: defines the `ctas.*` settings, and
/// lets the core's long loops stop for `statement_timeout`, `pg_cancel_backend` and
/// `pg_terminate_backend` (the error unwinds the core's frames as a Rust panic, which
/// pgrx turns back into the PostgreSQL error at the function's edge).
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    analyze::register_settings();
    patterns::register_settings();
    ctas_core::interrupt::register(|| {
        pgrx::pg_sys::check_for_interrupts!();
    });
}
