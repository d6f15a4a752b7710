//! Built only with `--features bench` (scripts/bench.sh): functions with the signatures
//! of real ones that do no work, so a benchmark can tell the cost of a call through
//! pgrx from the cost of the computation.

use pgrx::prelude::*;

/// `ctas_decay`'s signature, returning `base`: the floor of a Rust function call.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_bench_noop_decay(
    base: f64,
    _last_seen: TimestampWithTimeZone,
    _lifetime: Interval,
    _speed: f64,
    _at: TimestampWithTimeZone,
) -> f64 {
    base
}
