//! CTAS core: the analysis that both faces of CTAS share.
//!
//! Everything here is pure: no I/O, no PostgreSQL, no async runtime. The `ctas`
//! PostgreSQL extension and the `ctas-router` service call the same functions, so
//! the same record gives the same answer wherever it is analysed.

pub mod analyze;
pub mod behaviour;
pub mod chars;
pub mod formats;
pub mod geo;
pub mod history;
pub mod interrupt;
pub mod ioc;
pub mod model;
pub mod patterns;
pub mod rfc3339;
pub mod schema;
pub mod score;
