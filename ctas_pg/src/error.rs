//! Core errors as SQL errors: the right SQLSTATE and a message that names the argument.

use ctas_core::geo::GeoError;
use ctas_core::score::ScoreError;
use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

/// Raise a core error as an SQL ERROR; it never returns.
pub(crate) trait RaiseSql {
    /// The SQLSTATE that tells a client what kind of mistake this was.
    fn sqlstate(&self) -> PgSqlErrorCode;
}

impl RaiseSql for GeoError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            GeoError::TooMany { .. } | GeoError::TooManyPoints { .. } => {
                PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED
            }
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        }
    }
}

impl RaiseSql for ScoreError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            ScoreError::UnknownModel(_) => PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
            ScoreError::Evidence(_) => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            _ => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        }
    }
}

/// End the statement with an ERROR of this SQLSTATE, for what is not a core error: an
/// extension table not in the state the extension left it in (55000), a row in it that
/// CTAS cannot read (22000), text that is not UTF-8 (22021).
pub(crate) fn raise(code: PgSqlErrorCode, message: String) -> ! {
    ereport!(ERROR, code, message);
}

/// Unwrap `result`, or end the statement with an SQL ERROR built from the error.
pub(crate) fn or_raise<T, E: RaiseSql + std::fmt::Display>(result: Result<T, E>) -> T {
    match result {
        Ok(v) => v,
        Err(e) => {
            ereport!(ERROR, e.sqlstate(), e.to_string());
        }
    }
}

/// The elements of an SQL array, or an ERROR (22004) naming the array if one is NULL.
pub(crate) fn no_nulls<T>(items: Vec<Option<T>>, what: &str) -> Vec<T> {
    items
        .into_iter()
        .map(|v| {
            v.unwrap_or_else(|| {
                ereport!(
                    ERROR,
                    PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                    format!("{what} must not contain NULL")
                );
            })
        })
        .collect()
}

/// The elements of an SQL array of a fixed-width type, in place (no copy), or an
/// ERROR (22004) naming the array if one is NULL. Large arrays (a million points) are
/// why: copying them element by element into a Vec cost more than some computations.
pub(crate) fn slice_no_nulls<'a, T: pgrx::array::Scalar>(
    items: &'a pgrx::datum::Array<'_, T>,
    what: &str,
) -> &'a [T] {
    items.as_slice().unwrap_or_else(|_| {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            format!("{what} must not contain NULL")
        );
    })
}

/// Cells as H3 indexes: the same 64 bits, read unsigned (an index never sets the top bit).
pub(crate) fn as_cells(cells: &[i64]) -> &[u64] {
    // SAFETY: i64 and u64 have the same size, alignment and every bit pattern valid.
    unsafe { std::slice::from_raw_parts(cells.as_ptr().cast::<u64>(), cells.len()) }
}
