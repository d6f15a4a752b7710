//! Where the extension's own tables are, named so that no object of a user can stand in
//! for them.
//!
//! An SPI query runs with the caller's `search_path`: an unqualified `ctas_patterns`
//! would find a TEMP table of that name first, or a table in a schema the caller put
//! ahead of the extension's. Every query of the extension's tables names their schema,
//! found once per backend (and again if the extension is dropped and created anew).

use std::cell::RefCell;

use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use crate::error::raise;

thread_local! {
    /// The extension's oid and its schema, quoted as an identifier.
    static SCHEMA: RefCell<Option<(pg_sys::Oid, String)>> = const { RefCell::new(None) };
}

/// `schema.name` of one of the extension's tables, quoted where needed.
pub(crate) fn table(name: &str) -> String {
    format!("{}.{name}", schema())
}

/// The schema the extension was created in, quoted as an identifier.
fn schema() -> String {
    // SAFETY: a catalog lookup by name; missing_ok, so it returns InvalidOid instead of
    // raising when the extension is not there.
    let oid = unsafe { pg_sys::get_extension_oid(c"ctas".as_ptr(), true) };
    if oid == pg_sys::InvalidOid {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            "extension \"ctas\" is not created in this database; run CREATE EXTENSION ctas".into(),
        );
    }
    if let Some(name) = SCHEMA.with_borrow(|s| match s {
        Some((o, name)) if *o == oid => Some(name.clone()),
        _ => None,
    }) {
        return name;
    }
    // Read-only SPI: parallel workers (of ctas_analyze, ctas_score) may not run the
    // read-write kind, which wants a transaction id.
    let read = Spi::connect(|c| {
        c.select(
            "SELECT pg_catalog.quote_ident(n.nspname::text) FROM pg_catalog.pg_extension e \
             JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.oid = $1",
            Some(1),
            &[oid.into()],
        )?
        .first()
        .get_one::<String>()
    });
    let name = match read {
        Ok(Some(name)) => name,
        other => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot find the schema of extension \"ctas\": {other:?}"),
        ),
    };
    SCHEMA.with_borrow_mut(|s| *s = Some((oid, name.clone())));
    name
}
