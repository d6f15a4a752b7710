//! Pattern sets for retro-hunts: `ctas_pattern_sets`, `ctas_patterns`, `ctas_match`,
//! `ctas_matches`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use ctas_core::patterns::{compile_one, PatternError, PatternSet, DEFAULT_MAX_MATCHES};
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use pgrx::{JsonB, PgSqlErrorCode};

use crate::cache::{self, Epoch};
use crate::error::{or_raise, raise, RaiseSql};
use ctas_core::chars::CharPositions;

impl RaiseSql for PatternError {
    fn sqlstate(&self) -> PgSqlErrorCode {
        match self {
            PatternError::Invalid { .. } => PgSqlErrorCode::ERRCODE_INVALID_REGULAR_EXPRESSION,
            _ => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        }
    }
}

/// Sets compiled in this backend, all of one epoch of the pattern tables.
const MAX_CACHED_SETS: usize = 64;

pub(crate) struct Compiled {
    pub(crate) set: PatternSet,
    /// Per pattern, in the set's order: severity, tags, ATT&CK id.
    pub(crate) meta: Vec<(String, Vec<String>, Option<String>)>,
}

thread_local! {
    static SETS: RefCell<(Epoch, HashMap<String, Rc<Compiled>>)> = RefCell::new(((-1, -1), HashMap::new()));
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The set `name`, compiled once per backend and rebuilt after its tables change.
pub(crate) fn compiled(name: &str) -> Rc<Compiled> {
    let now = cache::epoch("patterns");
    if let Some(c) = SETS.with_borrow(|(e, sets)| {
        if *e == now {
            sets.get(name).cloned()
        } else {
            None
        }
    }) {
        return c;
    }
    let query = format!(
        "SELECT (SELECT count(*) FROM {sets} WHERE name = {q}), \
         (SELECT coalesce(jsonb_agg(jsonb_build_array(pattern_id, regex, severity, tags, attack_id) ORDER BY pattern_id), '[]') \
          FROM {patterns} WHERE set_name = {q})",
        q = quote(name),
        sets = crate::extension::table("ctas_pattern_sets"),
        patterns = crate::extension::table("ctas_patterns"),
    );
    let read = Spi::connect(|c| {
        c.select(&query, Some(1), &[])?
            .first()
            .get_two::<i64, JsonB>()
    });
    let rows = match read {
        Ok((Some(1), Some(JsonB(serde_json::Value::Array(rows))))) => rows,
        Ok(_) => {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT,
                format!("pattern set {name:?} does not exist"),
                "Create it with INSERT INTO ctas_pattern_sets (name) VALUES (...), then add rows to ctas_patterns."
            );
        }
        Err(e) => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot read ctas_patterns: {e}"),
        ),
    };
    let mut ids = Vec::with_capacity(rows.len());
    let mut meta = Vec::with_capacity(rows.len());
    for r in &rows {
        let s = |k: usize| {
            r.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        ids.push((s(0), s(1)));
        let tags = r
            .get(3)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        meta.push((
            s(2),
            tags,
            r.get(4).and_then(|v| v.as_str()).map(str::to_owned),
        ));
    }
    let set = match PatternSet::compile(ids.iter().map(|(i, p)| (i.as_str(), p.as_str()))) {
        Ok(set) => set,
        Err(e) => raise(e.sqlstate(), format!("pattern set {name:?}: {e}")),
    };
    let c = Rc::new(Compiled { set, meta });
    SETS.with_borrow_mut(|(e, sets)| {
        if *e != now || sets.len() >= MAX_CACHED_SETS {
            sets.clear();
            *e = now;
        }
        sets.insert(name.to_owned(), c.clone());
    });
    c
}

/// Whether `regex` compiles, or an ERROR (2201B) naming `pattern_id`: the CHECK of
/// `ctas_patterns`, so a bad pattern is refused when it is written.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_pattern_check(pattern_id: &str, regex: &str) -> bool {
    or_raise(compile_one(pattern_id, regex));
    true
}

/// Every match of the patterns of set `set_name` in `body`: pattern, place
/// (1-based characters, end exclusive), matched text, severity, tags, ATT&CK id.
// The columns are named in the type: pgrx reads them from the signature.
#[allow(clippy::type_complexity)]
#[pg_extern(stable, strict, parallel_safe)]
fn ctas_match(
    body: &str,
    set_name: &str,
) -> TableIterator<
    'static,
    (
        name!(pattern_id, String),
        name!(start_pos, i32),
        name!(end_pos, i32),
        name!(matched, String),
        name!(severity, String),
        name!(tags, Vec<String>),
        name!(attack_id, Option<String>),
    ),
> {
    let c = compiled(set_name);
    let found = c
        .set
        .matches(body, max_matches())
        .unwrap_or_else(|e| too_many_matches(&e));
    // Rows are made one at a time as PostgreSQL asks for them: what is held meanwhile
    // is the text and each match's place (about 40 bytes), not every row at once.
    let places: Vec<(usize, i32, i32, usize, usize)> = {
        let pos = CharPositions::new(body, found.iter().flat_map(|m| [m.start, m.end]));
        found
            .iter()
            .map(|m| (m.pattern, pos.of(m.start), pos.of(m.end), m.start, m.end))
            .collect()
    };
    drop(found);
    let body = body.to_owned();
    TableIterator::new(
        places
            .into_iter()
            .map(move |(p, start_pos, end_pos, start, end)| {
                let (severity, tags, attack) = &c.meta[p];
                (
                    c.set.id(p).to_owned(),
                    start_pos,
                    end_pos,
                    body[start..end].to_owned(),
                    severity.clone(),
                    tags.clone(),
                    attack.clone(),
                )
            }),
    )
}

/// `ctas.max_matches`: the most matches `ctas_match` and `ctas_analyze` return for one
/// text before refusing it (54000).
static MAX_MATCHES: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_MAX_MATCHES as i32);

pub(crate) fn register_settings() {
    GucRegistry::define_int_guc(
        c"ctas.max_matches",
        c"The most pattern matches ctas_match and ctas_analyze return for one text.",
        c"A text with more is refused with SQLSTATE 54000 before its rows are made.",
        &MAX_MATCHES,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
}

/// The current `ctas.max_matches`.
pub(crate) fn max_matches() -> usize {
    MAX_MATCHES.get().max(1) as usize
}

/// The ERROR for a text with more matches than `ctas.max_matches` allows (54000).
pub(crate) fn too_many_matches(e: &PatternError) -> ! {
    pgrx::pg_sys::panic::ErrorReport::new(
        PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        format!("{e} (ctas.max_matches)"),
        "ctas.max_matches",
    )
    .set_hint("SET ctas.max_matches to a larger number to allow more, or match a shorter text")
    .report(pgrx::PgLogLevel::ERROR);
    unreachable!("an ERROR does not return")
}

/// Whether any pattern of set `set_name` matches `body`: for WHERE clauses.
#[pg_extern(stable, strict, parallel_safe)]
fn ctas_matches(body: &str, set_name: &str) -> bool {
    compiled(set_name).set.is_match(body)
}

extension_sql!(
    r#"
CREATE TABLE ctas_pattern_sets (
    name        text PRIMARY KEY,
    description text NOT NULL DEFAULT ''
);
CREATE TABLE ctas_patterns (
    set_name   text NOT NULL REFERENCES ctas_pattern_sets (name) ON UPDATE CASCADE ON DELETE CASCADE,
    pattern_id text NOT NULL,
    regex      text NOT NULL,
    severity   text NOT NULL DEFAULT 'medium' CHECK (severity IN ('info', 'low', 'medium', 'high', 'critical')),
    tags       text[] NOT NULL DEFAULT '{}',
    attack_id  text CHECK (attack_id ~ '^(T[0-9]{4}(\.[0-9]{3})?|TA[0-9]{4}|[GSMC][0-9]{4})$'),
    PRIMARY KEY (set_name, pattern_id),
    CHECK (ctas_pattern_check(pattern_id, regex))
);
COMMENT ON TABLE ctas_pattern_sets IS
'Named sets of patterns for retro-hunts with ctas_match / ctas_matches.';
COMMENT ON TABLE ctas_patterns IS
'Patterns of the sets of ctas_pattern_sets: regular expressions of the linear-time regex crate (no look-around or back-references, so no pattern can hang a backend), at most 4096 bytes each, 10000 per set.';
GRANT SELECT ON ctas_pattern_sets, ctas_patterns TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('ctas_pattern_sets', '');
SELECT pg_catalog.pg_extension_config_dump('ctas_patterns', '');
CREATE TRIGGER ctas_pattern_sets_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ctas_pattern_sets
    FOR EACH STATEMENT EXECUTE FUNCTION ctas_bump_cache_epoch('patterns');
CREATE TRIGGER ctas_patterns_epoch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ctas_patterns
    FOR EACH STATEMENT EXECUTE FUNCTION ctas_bump_cache_epoch('patterns');
COMMENT ON FUNCTION ctas_match(text, text) IS
'Every match of the patterns of a set in a text: pattern_id, start_pos/end_pos (1-based characters, end exclusive), matched, severity, tags, attack_id. The set is compiled once per backend.';
COMMENT ON FUNCTION ctas_matches(text, text) IS
'Whether any pattern of a set matches a text; for WHERE clauses of retro-hunts.';
COMMENT ON FUNCTION ctas_pattern_check(text, text) IS
'True when a pattern compiles; otherwise an ERROR (2201B, or 54000 when too large) naming the pattern id.';
"#,
    name = "ctas_pattern_objects",
    requires = [
        "ctas_cache_epochs",
        ctas_pattern_check,
        ctas_match,
        ctas_matches
    ],
);
