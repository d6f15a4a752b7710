//! IOC extraction in SQL: `ctas_extract_iocs`, `ctas_ioc_kind`, `ctas_refang`,
//! `ctas_defang`, and MISP warninglists (`ctas_warninglists`, `ctas_warninglist_load`,
//! `ctas_warninglist_hits`).

use std::cell::RefCell;
use std::rc::Rc;

use crate::json::JsonText;
use ctas_core::chars::CharPositions;
use ctas_core::ioc::warninglist::{ListType, Warninglist, WarninglistError, Warninglists};
use ctas_core::ioc::{self, IocKind};
use pgrx::prelude::*;
use pgrx::{IntoDatum, PgSqlErrorCode};

use crate::cache::{self, Epoch};
use crate::error::{no_nulls, or_raise, raise, RaiseSql};
use crate::fmgr::{arg, v1_call_convention};
use crate::srf::Rows;

impl RaiseSql for WarninglistError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE
    }
}

thread_local! {
    static LISTS: RefCell<Option<(Epoch, Rc<Warninglists>)>> = const { RefCell::new(None) };
}

/// The warninglists of `ctas_warninglists`, compiled once per backend and rebuilt
/// after the table changes.
pub(crate) fn warninglists() -> Rc<Warninglists> {
    let now = cache::epoch("warninglists");
    if let Some(lists) = LISTS.with_borrow(|c| {
        c.as_ref()
            .filter(|(e, _)| *e == now)
            .map(|(_, l)| l.clone())
    }) {
        return lists;
    }
    // Row by row, the arrays converted straight to strings: one jsonb of every list
    // (half a million entries for MISP's lists) cost two seconds per backend to build,
    // print and parse again, twenty times the compilation itself.
    let read = Spi::connect(|c| {
        let query = format!(
            "SELECT name, list_type, description, version, matching_attributes, entries \
             FROM {} ORDER BY name",
            crate::extension::table("ctas_warninglists")
        );
        let rows = c.select(&query, None, &[])?;
        let mut lists = Vec::new();
        for row in rows {
            let name: String = row.get(1)?.unwrap_or_default();
            let list_type: String = row.get(2)?.unwrap_or_default();
            let Some(list_type) = ListType::parse(&list_type) else {
                raise(
                    PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
                    format!(
                        "warninglist {name:?} in ctas_warninglists has list_type {list_type:?}"
                    ),
                );
            };
            lists.push(Warninglist {
                description: row.get(3)?.unwrap_or_default(),
                version: row.get(4)?.unwrap_or_default(),
                matching_attributes: no_nulls(
                    row.get::<Vec<Option<String>>>(5)?.unwrap_or_default(),
                    "ctas_warninglists.matching_attributes",
                ),
                entries: no_nulls(
                    row.get::<Vec<Option<String>>>(6)?.unwrap_or_default(),
                    "ctas_warninglists.entries",
                ),
                name,
                list_type,
            });
        }
        Ok::<_, pgrx::spi::Error>(lists)
    });
    let parsed = read.unwrap_or_else(|e| {
        raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot read ctas_warninglists: {e}"),
        )
    });
    let lists = Rc::new(or_raise(Warninglists::new(&parsed)));
    LISTS.with_borrow_mut(|c| *c = Some((now, lists.clone())));
    lists
}

v1_call_convention!(pg_finfo_ctas_extract_iocs_v1);

/// `ctas_extract_iocs(body)`: every indicator in `body`, refanged and normalised, with the
/// text as written, its place (`substr(body, start_pos, end_pos - start_pos)` is `raw`)
/// and the warninglists that hold it.
///
/// A materialize-mode set function (`crate::srf`): a retro-hunt calls it once per report
/// and gets tens of rows from each; value-per-call cost a third of the SQL time over the
/// extraction itself (benches/RESULTS.md).
///
/// # Safety
/// Called by PostgreSQL with one text argument, never NULL (the function is STRICT),
/// in a context that accepts a materialized set (InitMaterializedSRF checks).
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_extract_iocs_v1(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        let text = pg_sys::pg_detoast_datum_packed(arg(fcinfo, 0).cast_mut_ptr());
        let body = pgrx::varlena::text_to_rust_str(text).unwrap_or_else(|e| {
            raise(
                PgSqlErrorCode::ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
                format!("ctas_extract_iocs: the text is not UTF-8: {e}"),
            )
        });
        let rows = Rows::materialize(fcinfo);
        let found = ioc::extract(body);
        let lists = if found.is_empty() {
            None
        } else {
            Some(warninglists())
        };
        let lists = lists.filter(|l| !l.is_empty());
        let pos = CharPositions::new(body, found.iter().flat_map(|i| [i.start, i.end]));
        let text_datum = |s: &str| {
            pg_sys::Datum::from(pg_sys::cstring_to_text_with_len(
                s.as_ptr().cast(),
                s.len() as i32,
            ))
        };
        for i in &found {
            let hits: Vec<&str> = lists
                .as_ref()
                .map(|l| l.hits(i.kind, &i.value))
                .unwrap_or_default();
            let hits = if hits.is_empty() {
                pg_sys::Datum::from(pg_sys::construct_empty_array(pg_sys::TEXTOID))
            } else {
                hits.into_datum().expect("an array of text is a datum")
            };
            rows.put(
                [
                    text_datum(i.kind.as_str()),
                    text_datum(&i.value),
                    text_datum(&body[i.start..i.end]),
                    pg_sys::Datum::from(pos.of(i.start)),
                    pg_sys::Datum::from(pos.of(i.end)),
                    hits,
                ],
                [false; 6],
            );
        }
        pg_sys::Datum::from(0)
    })
}

/// The kind of `value` when all of it is one indicator (`'evil[.]com'` is a domain,
/// `'archive.zip'` a file name), else NULL.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_ioc_kind(value: &str) -> Option<&'static str> {
    ioc::kind_of(value).map(IocKind::as_str)
}

/// `value` refanged and normalised when all of it is one indicator, else NULL:
/// `'hXXps://Evil[.]COM/a'` gives `'https://evil.com/a'`.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_ioc_normalise(value: &str) -> Option<String> {
    ioc::normalise(value).map(|i| i.value)
}

/// `body` with every defanged form written plainly (`evil[.]com` -> `evil.com`,
/// `hxxp` -> `http`, `[at]` -> `@`).
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_refang(body: &str) -> String {
    ioc::refang(body)
}

/// `body` safe to paste into a chat or a ticket: URLs, domains, IPv4 addresses and
/// e-mail addresses defanged, everything else as it was.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_defang(body: &str) -> String {
    ioc::defang(body)
}

/// The rows of `ctas_warninglists` a MISP warninglist (its `list.json`) gives,
/// checked: a bad type, CIDR block or regex is an ERROR naming it.
// The columns are named in the type: pgrx reads them from the signature.
#[allow(clippy::type_complexity)]
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_warninglist_parse(
    list: JsonText,
) -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(description, String),
        name!(version, i64),
        name!(list_type, String),
        name!(matching_attributes, Vec<String>),
        name!(entries, Vec<String>),
    ),
> {
    let l = or_raise(Warninglist::from_misp(&list.value("list")));
    TableIterator::once((
        l.name,
        l.description,
        l.version,
        l.list_type.as_str().to_owned(),
        l.matching_attributes,
        l.entries,
    ))
}

/// The names of the warninglists that hold `value`, classified first when it is an
/// indicator: `ctas_warninglist_hits('8.8.8.8')`.
#[pg_extern(stable, strict, parallel_safe)]
fn ctas_warninglist_hits(value: &str) -> Vec<String> {
    warninglists()
        .hits_of(value)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The IOC kinds CTAS extracts, with the MISP attribute types each matches.
#[pg_extern(immutable, parallel_safe)]
fn ctas_ioc_kinds() -> TableIterator<
    'static,
    (
        name!(kind, &'static str),
        name!(misp_types, Vec<&'static str>),
    ),
> {
    TableIterator::new(
        IocKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), k.misp_types().to_vec())),
    )
}

extension_sql!(
    r#"
CREATE FUNCTION ctas_extract_iocs(body text)
RETURNS TABLE (kind text, value text, raw text, start_pos int, end_pos int, warninglists text[])
STABLE STRICT PARALLEL SAFE ROWS 20 LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_extract_iocs_v1';

CREATE TABLE ctas_warninglists (
    name                text PRIMARY KEY,
    description         text NOT NULL DEFAULT '',
    version             bigint NOT NULL DEFAULT 0,
    list_type           text NOT NULL CHECK (list_type IN ('string', 'substring', 'hostname', 'cidr', 'regex')),
    matching_attributes text[] NOT NULL DEFAULT '{}',
    entries             text[] NOT NULL,
    loaded_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ctas_warninglists IS
'MISP warninglists (known-benign values): ctas_extract_iocs flags indicators they hold. Load with ctas_warninglist_load(list.json as jsonb).';
SELECT pg_catalog.pg_extension_config_dump('ctas_warninglists', '');
CREATE TRIGGER ctas_warninglists_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ctas_warninglists
    FOR EACH STATEMENT EXECUTE FUNCTION ctas_bump_cache_epoch('warninglists');

GRANT SELECT ON ctas_warninglists TO PUBLIC;

CREATE FUNCTION ctas_warninglist_load(list jsonb) RETURNS text VOLATILE STRICT LANGUAGE sql
SET search_path = pg_catalog, @extschema@, pg_temp AS $$
    INSERT INTO ctas_warninglists AS w (name, description, version, list_type, matching_attributes, entries)
    SELECT * FROM ctas_warninglist_parse(list)
    ON CONFLICT (name) DO UPDATE
        SET description = excluded.description, version = excluded.version,
            list_type = excluded.list_type, matching_attributes = excluded.matching_attributes,
            entries = excluded.entries, loaded_at = now()
    RETURNING name
$$;
COMMENT ON FUNCTION ctas_warninglist_load(jsonb) IS
'Load (or replace, by name) one MISP warninglist from its list.json: SELECT ctas_warninglist_load(pg_read_file(''/path/list.json'')::jsonb). Returns its name.';
COMMENT ON FUNCTION ctas_extract_iocs(text) IS
'Every indicator in a text (defanged forms read, values normalised): kind, value, raw as written, start_pos/end_pos (1-based characters, end exclusive), and the warninglists that hold it.';
COMMENT ON FUNCTION ctas_ioc_kind(text) IS
'The kind of a value when all of it is one indicator (ipv4, domain, url, sha256, filename, ...), else NULL.';
COMMENT ON FUNCTION ctas_refang(text) IS
'The text with every defanged form written plainly: [.] (.) {.} [dot] (dot) " dot " \. hxxp fxp [:] [://] [@] [at] (at) [/].';
COMMENT ON FUNCTION ctas_defang(text) IS
'The text with its URLs, domains, IPv4 addresses and e-mail addresses defanged (hxxps://evil[.]com), safe to paste into a chat; ctas_refang gives it back.';
COMMENT ON FUNCTION ctas_warninglist_hits(text) IS
'The names of the warninglists of ctas_warninglists that hold a value, matched by each list''s own type (string, substring, hostname, cidr, regex).';
"#,
    name = "ctas_ioc_objects",
    requires = [
        "ctas_cache_epochs",
        ctas_ioc_kind,
        ctas_refang,
        ctas_defang,
        ctas_warninglist_parse,
        ctas_warninglist_hits
    ],
);
