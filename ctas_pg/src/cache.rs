//! Per-backend caches of things that are expensive to build (compiled warninglists,
//! compiled pattern sets), and how they notice that their source table changed.
//!
//! Each source table bumps its row of `ctas_cache_epochs` in a statement trigger. A
//! cache reads that row at most once per SQL statement (one SPI query, however many
//! rows the statement reads), so a retro-hunt over a million rows pays for it once.
//! The epoch is paired with the row's `xmin`: a rolled-back bump followed by another
//! session's committed one gives the same number but a different `xmin`.

use std::cell::RefCell;
use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::PgSqlErrorCode;

use crate::error::raise;

/// The version of a cached source: `(epoch, xmin)` of its `ctas_cache_epochs` row.
pub(crate) type Epoch = (i64, i64);

/// Which statement of which transaction is running: the epoch cannot change within it
/// unless a command of its own changed the table, which bumps the command id.
/// The local transaction id, statement start time and command id.
type Statement = (u32, i64, u32);

fn statement() -> Statement {
    // SAFETY: MyProc is set for every backend and parallel worker before any SQL runs;
    // the two functions only read transaction state.
    unsafe {
        (
            (*pg_sys::MyProc).lxid,
            pg_sys::GetCurrentStatementStartTimestamp(),
            pg_sys::GetCurrentCommandId(false),
        )
    }
}

thread_local! {
    static SEEN: RefCell<Option<(Statement, HashMap<&'static str, Epoch>)>> = const { RefCell::new(None) };
}

/// The current epoch of source `name` (`'warninglists'`, `'patterns'`).
pub(crate) fn epoch(name: &'static str) -> Epoch {
    let now = statement();
    if let Some(e) = SEEN.with_borrow(|seen| match seen {
        Some((at, epochs)) if *at == now => epochs.get(name).copied(),
        _ => None,
    }) {
        return e;
    }
    let query = format!(
        "SELECT epoch, xmin::text::bigint FROM {} WHERE name = '{name}'",
        crate::extension::table("ctas_cache_epochs")
    );
    let read = Spi::connect(|c| {
        let table = c.select(&query, Some(1), &[])?;
        // An empty result has no first row to read: say what is missing instead.
        if table.is_empty() {
            return Ok((None, None));
        }
        table.first().get_two::<i64, i64>()
    });
    let e = match read {
        Ok((Some(epoch), Some(xmin))) => (epoch, xmin),
        Ok(_) => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("ctas_cache_epochs has no row {name:?}; reinstall the extension"),
        ),
        Err(err) => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot read ctas_cache_epochs: {err}"),
        ),
    };
    SEEN.with_borrow_mut(|seen| {
        if !matches!(seen, Some((at, _)) if *at == now) {
            *seen = Some((now, HashMap::new()));
        }
        if let Some((_, epochs)) = seen {
            epochs.insert(name, e);
        }
    });
    e
}

extension_sql!(
    r#"
CREATE TABLE ctas_cache_epochs (
    name  text PRIMARY KEY,
    epoch bigint NOT NULL DEFAULT 0
);
COMMENT ON TABLE ctas_cache_epochs IS
'One row per source of a per-backend cache (warninglists, patterns); a statement trigger on the source bumps epoch, and every backend rebuilds its cache at its next statement.';
INSERT INTO ctas_cache_epochs (name) VALUES ('warninglists'), ('patterns');

-- Everyone reads the epochs (every cache checks them); whoever may write a source table
-- bumps its epoch through the trigger, which runs as the extension's owner.
GRANT SELECT ON ctas_cache_epochs TO PUBLIC;
CREATE FUNCTION ctas_bump_cache_epoch() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path = pg_catalog, @extschema@, pg_temp AS $$
BEGIN
    UPDATE @extschema@.ctas_cache_epochs SET epoch = epoch + 1 WHERE name = TG_ARGV[0];
    RETURN NULL;
END
$$;
"#,
    name = "ctas_cache_epochs",
);
