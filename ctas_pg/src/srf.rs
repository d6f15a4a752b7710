//! Set-returning functions in materialize mode: one call fills a tuplestore.
//!
//! Why not `#[pg_extern]` returning a `TableIterator`: pgrx answers PostgreSQL's
//! value-per-call protocol, which re-enters the function for every row. Returning
//! 100,000 Gi* rows that way cost as much as computing them (benches/RESULTS.md), and
//! a million DBSCAN rows a quarter of a second. Here the function is a plain V1 C
//! function (`crate::fmgr`): it is called once, puts every row into the tuplestore
//! PostgreSQL hands it, and the executor reads the rows from there.

use pgrx::pg_sys;

/// The tuplestore of one call of a materialize-mode function.
pub(crate) struct Rows {
    rsinfo: *mut pg_sys::ReturnSetInfo,
}

impl Rows {
    /// Switches this call to materialize mode (InitMaterializedSRF errors out when the
    /// caller cannot take a materialized set, e.g. a set function in a plain SELECT list
    /// of an old-style caller).
    ///
    /// # Safety
    /// `fcinfo` is the call PostgreSQL made to a set-returning V1 function.
    pub(crate) unsafe fn materialize(fcinfo: pg_sys::FunctionCallInfo) -> Rows {
        pg_sys::InitMaterializedSRF(fcinfo, 0);
        Rows {
            rsinfo: (*fcinfo).resultinfo.cast::<pg_sys::ReturnSetInfo>(),
        }
    }

    /// Appends one row: a value per column of the declared result, NULL where `nulls`
    /// says so. The values are copied into the tuplestore.
    pub(crate) fn put<const N: usize>(&self, mut values: [pg_sys::Datum; N], mut nulls: [bool; N]) {
        // SAFETY: `materialize` set up setResult and setDesc, whose natts is the N
        // columns the SQL declaration of the calling function gives.
        unsafe {
            pg_sys::tuplestore_putvalues(
                (*self.rsinfo).setResult,
                (*self.rsinfo).setDesc,
                values.as_mut_ptr(),
                nulls.as_mut_ptr(),
            );
        }
    }
}
