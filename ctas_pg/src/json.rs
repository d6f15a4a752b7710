//! `jsonb` arguments as their text, read by CTAS rather than by pgrx.
//!
//! pgrx's `JsonB` parses its argument while unboxing it and panics on anything
//! serde_json refuses: a jsonb nested deeper than serde_json's 128 levels ended the
//! statement with an internal error (XX000) instead of naming the limit. Kept as text,
//! the argument is parsed where the function can say what was wrong, and a STIX bundle
//! is read object by object from the text (`formats::stix::parse_slice`) rather than
//! turned into a tree first.

use pgrx::callconv::{Arg, ArgAbi};
use pgrx::pg_sys;
use pgrx::pgrx_sql_entity_graph::metadata::{
    ArgumentError, ReturnsError, ReturnsRef, SqlMappingRef, SqlTranslatable, TypeOrigin,
};
use pgrx::{FromDatum, PgSqlErrorCode};
use serde_json::Value;

use crate::error::raise;

/// How deep a JSON argument may nest: serde_json's own limit, which keeps parsing off
/// the end of the stack.
pub const MAX_DEPTH: usize = 128;

/// A `jsonb` argument as the text PostgreSQL writes for it.
pub struct JsonText(pub String);

impl JsonText {
    /// The argument as a JSON value; an ERROR naming `arg` if it nests too deep (54000).
    pub fn value(&self, arg: &str) -> Value {
        serde_json::from_str(&self.0).unwrap_or_else(|e| refused(arg, &e))
    }
}

/// The ERROR for JSON that serde_json refused: too deep (54000) or, should PostgreSQL's
/// text of a jsonb ever not read as JSON, bad text (22P02).
pub fn refused(arg: &str, e: &serde_json::Error) -> ! {
    if is_too_deep(&e.to_string()) {
        too_deep(arg)
    }
    raise(
        PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        format!("{arg}: {e}"),
    )
}

/// Whether serde_json's message says the JSON nested too deep.
pub fn is_too_deep(message: &str) -> bool {
    message.contains("recursion limit exceeded")
}

/// The ERROR for JSON nested deeper than [`MAX_DEPTH`], naming `arg` (54000).
pub fn too_deep(arg: &str) -> ! {
    raise(
        PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        format!(
            "{arg}: JSON nested deeper than {MAX_DEPTH} levels, the most CTAS reads (a fixed limit)"
        ),
    )
}

impl FromDatum for JsonText {
    unsafe fn from_polymorphic_datum(
        datum: pg_sys::Datum,
        is_null: bool,
        _: pg_sys::Oid,
    ) -> Option<Self> {
        if is_null {
            return None;
        }
        // SAFETY: a non-null datum of a jsonb argument is a jsonb varlena; jsonb_out
        // returns a palloc'd C string, freed once copied.
        unsafe {
            let cstr: *mut std::ffi::c_char =
                pgrx::direct_function_call_as_datum(pg_sys::jsonb_out, &[Some(datum)])?
                    .cast_mut_ptr();
            let text = std::ffi::CStr::from_ptr(cstr)
                .to_string_lossy()
                .into_owned();
            pg_sys::pfree(cstr.cast());
            Some(JsonText(text))
        }
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for JsonText {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: as pgrx's own jsonb arguments.
        unsafe {
            arg.unbox_arg_using_from_datum()
                .unwrap_or_else(|| panic!("argument {index} must not be null"))
        }
    }
}

// SAFETY: the argument is a jsonb, as pgrx maps its own JsonB.
unsafe impl SqlTranslatable for JsonText {
    const TYPE_IDENT: &'static str = pgrx::pgrx_resolved_type!(JsonText);
    const TYPE_ORIGIN: TypeOrigin = TypeOrigin::External;
    const ARGUMENT_SQL: Result<SqlMappingRef, ArgumentError> = Ok(SqlMappingRef::literal("jsonb"));
    const RETURN_SQL: Result<ReturnsRef, ReturnsError> =
        Ok(ReturnsRef::One(SqlMappingRef::literal("jsonb")));
}
