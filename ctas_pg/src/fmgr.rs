//! Plain V1 C functions: what PostgreSQL looks up to call one, and its arguments.
//!
//! Why some functions bypass `#[pg_extern]`: its generic argument unboxing and
//! memory-context switch cost tens of nanoseconds a call, which shows on functions that
//! run over millions of rows (`ctas_decay`), and it cannot return a set
//! in materialize mode (`crate::srf`). Such functions are declared in SQL by hand
//! (`LANGUAGE c AS 'MODULE_PATHNAME', '<symbol>'`) in an `extension_sql!`, and run inside
//! pgrx's guard, which turns a Rust panic or an SQL ERROR into PostgreSQL's error handling.

use pgrx::pg_sys;

/// Exports the V1 call-convention record (`pg_finfo_<symbol>`) PostgreSQL looks up
/// before it calls the C function `<symbol>`.
macro_rules! v1_call_convention {
    ($finfo:ident) => {
        #[no_mangle]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static ::pgrx::pg_sys::Pg_finfo_record {
            const V1: ::pgrx::pg_sys::Pg_finfo_record =
                ::pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}
pub(crate) use v1_call_convention;

/// Exports `$old` (with its call-convention record `$finfo`) as another name of the V1
/// function `$new`: an installation of an older version of the extension, before
/// `ALTER EXTENSION ctas UPDATE`, still calls a function by the symbol its install
/// script named (pgrx's `<name>_wrapper` in 0.1.0).
macro_rules! v1_former_name {
    ($old:ident, $finfo:ident => $new:ident) => {
        $crate::fmgr::v1_call_convention!($finfo);

        /// A former name of a V1 function of this crate.
        ///
        /// # Safety
        /// As the function it names.
        #[no_mangle]
        #[doc(hidden)]
        pub unsafe extern "C-unwind" fn $old(
            fcinfo: ::pgrx::pg_sys::FunctionCallInfo,
        ) -> ::pgrx::pg_sys::Datum {
            $new(fcinfo)
        }
    };
}
pub(crate) use v1_former_name;

/// Argument `i` of a call (the functions here are STRICT, so never NULL).
///
/// # Safety
/// `fcinfo` is a call with more than `i` arguments.
pub(crate) unsafe fn arg(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> pg_sys::Datum {
    (*fcinfo).args.as_slice(i + 1)[i].value
}

/// Whether argument `i` of a call is NULL (for the functions that are not STRICT).
///
/// # Safety
/// `fcinfo` is a call with more than `i` arguments.
pub(crate) unsafe fn arg_is_null(fcinfo: pg_sys::FunctionCallInfo, i: usize) -> bool {
    (*fcinfo).args.as_slice(i + 1)[i].isnull
}
