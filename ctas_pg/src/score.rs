//! Scoring in SQL: decay, validity, confidence scales, and explained scores over
//! evidence with a named model from the `ctas_decay_models` table.

use crate::json::JsonText;
use chrono::{DateTime, Utc};
use ctas_core::score::{self, DecayModel, Evidence, ModelKind, Polynomial, ScoreError};
use pgrx::aggregate::{Aggregate, ParallelOption};
use pgrx::prelude::*;
use pgrx::{AggregateName, Internal, JsonB, PgMemoryContexts, PgSqlErrorCode};

use crate::error::{or_raise, raise};
use crate::fmgr::{arg, v1_call_convention, v1_former_name};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
pub(crate) const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;
const MICROS_PER_DAY: f64 = 86_400_000_000.0;

/// An interval in days as `extract(epoch from interval) / 86400` counts it
/// (a year is 365.25 days, a month 30).
fn interval_days(months: i32, days: i32, micros: i64) -> f64 {
    let years = months / 12;
    let rest_months = months - 12 * years;
    years as f64 * 365.25 + rest_months as f64 * 30.0 + days as f64 + micros as f64 / MICROS_PER_DAY
}

/// A timestamptz in microseconds, refusing `±infinity` (PostgreSQL's i64::MIN and MAX).
fn finite(micros: i64, arg: &'static str) -> i64 {
    if micros == i64::MIN || micros == i64::MAX {
        or_raise::<(), _>(Err(ScoreError::Time(arg)));
    }
    micros
}

fn finite_micros(t: TimestampWithTimeZone, arg: &'static str) -> i64 {
    finite(pg_sys::TimestampTz::from(t), arg)
}

/// The score `base` decays to by `at`, counted from `last_seen`, on the curve with
/// `lifetime` and decay `speed` (MISP's polynomial model).
fn decay(base: f64, last_seen: i64, lifetime: &pg_sys::Interval, speed: f64, at: i64) -> f64 {
    let days = interval_days(lifetime.month, lifetime.day, lifetime.time);
    let c = or_raise(Polynomial::new(days, speed));
    let elapsed = (finite(at, "at") - finite(last_seen, "last_seen")) as f64 / MICROS_PER_DAY;
    or_raise(c.score(base, elapsed))
}

/// The arguments both curve functions take first — (base float8, last_seen timestamptz,
/// lifetime interval, speed float8) — and their fifth, as a datum.
///
/// # Safety
/// `fcinfo` is a call of a STRICT function declared with those four and a fifth argument.
unsafe fn curve_args<'a>(
    fcinfo: pg_sys::FunctionCallInfo,
) -> (f64, i64, &'a pg_sys::Interval, f64, pg_sys::Datum) {
    // float8 and timestamptz are passed by value on 64-bit builds, interval by reference.
    (
        f64::from_bits(arg(fcinfo, 0).value() as u64),
        arg(fcinfo, 1).value() as i64,
        &*arg(fcinfo, 2).cast_mut_ptr::<pg_sys::Interval>(),
        f64::from_bits(arg(fcinfo, 3).value() as u64),
        arg(fcinfo, 4),
    )
}

v1_call_convention!(pg_finfo_ctas_decay_v1);

/// `ctas_decay(base, last_seen, lifetime, speed, at)` through the plain fmgr interface.
///
/// Why not `#[pg_extern]` (`crate::fmgr`): its argument unboxing and memory-context
/// switch cost about 60 ns a call, more than the decay itself, and this is the function
/// that runs over millions of rows (benches/RESULTS.md). So it reads its five arguments
/// itself.
///
/// # Safety
/// Called by PostgreSQL with the five arguments of the SQL declaration below, never NULL
/// (the function is STRICT).
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_decay_v1(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        let (base, last_seen, lifetime, speed, at) = curve_args(fcinfo);
        let at = at.value() as i64;
        pg_sys::Datum::from(decay(base, last_seen, lifetime, speed, at).to_bits() as usize)
    })
}

/// The moment `base` decays to `score` on the curve from `last_seen`, in microseconds;
/// None when it never does (score above base) or the moment is beyond timestamptz.
fn valid_until(
    base: f64,
    last_seen: i64,
    lifetime: &pg_sys::Interval,
    speed: f64,
    score: f64,
) -> Option<i64> {
    let days = interval_days(lifetime.month, lifetime.day, lifetime.time);
    let c = or_raise(Polynomial::new(days, speed));
    let from = finite(last_seen, "last_seen");
    let days = or_raise(c.days_until(base, score))?;
    let micros = from.saturating_add((days * MICROS_PER_DAY).round() as i64);
    TimestampWithTimeZone::try_from(micros).ok().map(|_| micros)
}

v1_call_convention!(pg_finfo_ctas_valid_until_v1);

/// `ctas_valid_until(base, last_seen, lifetime, speed, score)`: the moment the score
/// falls to `score`; NULL when it never does. A plain V1 function for the reason
/// `ctas_decay` is one: it runs over every row of a table of indicators, and pgrx's
/// wrapper cost more than the computation (benches/RESULTS.md).
///
/// # Safety
/// Called by PostgreSQL with the five arguments of the SQL declaration below, never NULL
/// (the function is STRICT).
#[no_mangle]
#[doc(hidden)]
pub unsafe extern "C-unwind" fn ctas_valid_until_v1(
    fcinfo: pg_sys::FunctionCallInfo,
) -> pg_sys::Datum {
    pg_sys::submodules::panic::pgrx_extern_c_guard(|| {
        let (base, last_seen, lifetime, speed, score) = curve_args(fcinfo);
        let score = f64::from_bits(score.value() as u64);
        match valid_until(base, last_seen, lifetime, speed, score) {
            Some(micros) => pg_sys::Datum::from(micros),
            None => {
                (*fcinfo).isnull = true;
                pg_sys::Datum::from(0)
            }
        }
    })
}

// 0.1.0 declared the function under pgrx's symbol name.
v1_former_name!(ctas_valid_until_wrapper, pg_finfo_ctas_valid_until_wrapper => ctas_valid_until_v1);

// CREATE OR REPLACE: the upgrade from 0.1.0, where the function already exists with the
// same signature, runs this block as it is.
extension_sql!(
    r#"
CREATE OR REPLACE FUNCTION ctas_valid_until(base float8, last_seen timestamptz, lifetime interval,
                                            speed float8, score float8)
RETURNS timestamptz IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_valid_until_v1';
"#,
    name = "ctas_valid_until"
);

/// The label of a STIX confidence (0–100) on a STIX 2.1 confidence scale.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_confidence_to(scale: &str, value: i32) -> &'static str {
    or_raise(score::confidence_to(scale, value.into()))
}

/// The STIX confidence (0–100) of a label on a STIX 2.1 confidence scale.
#[pg_extern(immutable, strict, parallel_safe)]
fn ctas_confidence_from(scale: &str, value: &str) -> i32 {
    or_raise(score::confidence_from(scale, value)) as i32
}

/// The decay models CTAS ships, as rows of `ctas_decay_models`.
// The row type must be spelt out here: pgrx reads the column names from this signature.
#[allow(clippy::type_complexity)]
#[pg_extern(immutable, parallel_safe)]
fn ctas_builtin_decay_models() -> TableIterator<
    'static,
    (
        name!(name, String),
        name!(kind, String),
        name!(lifetime_days, f64),
        name!(speed, f64),
        name!(threshold, f64),
        name!(default_base_score, f64),
        name!(base_score_weights, JsonB),
        name!(types, Vec<String>),
        name!(reaction_points, Vec<f64>),
        name!(rule_order, i32),
    ),
> {
    let rows: Vec<_> = score::builtin_models()
        .into_iter()
        .map(|m| {
            let weights: serde_json::Map<String, serde_json::Value> = m
                .base_score_weights
                .into_iter()
                .map(|(t, w)| (t, w.into()))
                .collect();
            let kind = match m.kind {
                ModelKind::Misp => "misp",
                ModelKind::Opencti => "opencti",
            };
            (
                m.name,
                kind.to_owned(),
                m.curve.lifetime_days,
                m.curve.speed,
                m.threshold,
                m.default_base_score,
                JsonB(weights.into()),
                m.types,
                m.reaction_points,
                m.order,
            )
        })
        .collect();
    TableIterator::new(rows)
}

/// One row of `ctas_decay_models` as `to_jsonb` gives it.
#[derive(serde::Deserialize)]
struct StoredModel {
    name: String,
    kind: String,
    lifetime_days: f64,
    speed: f64,
    threshold: f64,
    default_base_score: f64,
    base_score_weights: std::collections::BTreeMap<String, f64>,
    types: Vec<String>,
    reaction_points: Vec<f64>,
    rule_order: i32,
}

fn load_models() -> Vec<DecayModel> {
    // Read-only SPI: a parallel worker (ctas_score and ctas_analyze are PARALLEL SAFE)
    // may not run the read-write kind, which wants a transaction id.
    let query = format!(
        "SELECT coalesce(jsonb_agg(to_jsonb(m)), '[]') FROM {} m",
        crate::extension::table("ctas_decay_models")
    );
    let json = Spi::connect(|c| c.select(&query, Some(1), &[])?.first().get_one::<JsonB>());
    let rows: Vec<StoredModel> = match json {
        Ok(Some(JsonB(v))) => serde_json::from_value(v).unwrap_or_else(|e| {
            raise(
                PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
                format!("ctas_decay_models has a row CTAS cannot read: {e}"),
            )
        }),
        Ok(None) => Vec::new(),
        Err(e) => raise(
            PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("cannot read ctas_decay_models: {e}"),
        ),
    };
    rows.into_iter()
        .map(|r| DecayModel {
            name: r.name,
            kind: if r.kind == "opencti" {
                ModelKind::Opencti
            } else {
                ModelKind::Misp
            },
            curve: Polynomial {
                lifetime_days: r.lifetime_days,
                speed: r.speed,
            },
            threshold: r.threshold,
            default_base_score: r.default_base_score,
            base_score_weights: r.base_score_weights.into_iter().collect(),
            types: r.types,
            reaction_points: r.reaction_points,
            order: r.rule_order,
        })
        .collect()
}

/// The models, read once per call site (one query sees one snapshot, as STABLE
/// promises) and kept in the function's memory context, so a scan of millions of
/// rows reads the table once, not once a row.
///
/// # Safety
/// `fcinfo` must be the call's own FunctionCallInfo.
pub(crate) unsafe fn models_for_call<'a>(fcinfo: pg_sys::FunctionCallInfo) -> &'a [DecayModel] {
    let flinfo = (*fcinfo).flinfo;
    if (*flinfo).fn_extra.is_null() {
        let models = load_models();
        let ptr = PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete(models);
        (*flinfo).fn_extra = ptr.cast();
    }
    &*((*flinfo).fn_extra as *const Vec<DecayModel>)
}

pub(crate) fn to_chrono(t: TimestampWithTimeZone) -> DateTime<Utc> {
    let micros = finite_micros(t, "at");
    DateTime::from_timestamp_micros(micros + PG_EPOCH_OFFSET_MICROS)
        .unwrap_or_else(|| or_raise(Err(ScoreError::Time("at"))))
}

/// Score the evidence about one indicator with a model, at a time; the score with
/// its explanation (each source's base and contribution, sightings, decay) as jsonb.
#[pg_extern(stable, strict, parallel_safe)]
fn ctas_score(
    evidence: JsonText,
    model: default!(&str, "'opencti'"),
    at: default!(TimestampWithTimeZone, "now()"),
    fcinfo: pg_sys::FunctionCallInfo,
) -> JsonB {
    let evidence = or_raise(Evidence::from_value(evidence.value("evidence")));
    // SAFETY: fcinfo is this call's.
    let models = unsafe { models_for_call(fcinfo) };
    let m = or_raise(score::pick_model(models, model, evidence.kind.as_deref()));
    let combined = or_raise(score::combine(&evidence, m, to_chrono(at)));
    JsonB(serde_json::to_value(combined).expect("a score serialises"))
}

/// `ctas_score_agg(evidence, model, at)`: one explained score from many rows of evidence
/// about the same indicator (a row per report or per sighting), for GROUP BY.
#[derive(AggregateName)]
#[aggregate_name = "ctas_score_agg"]
pub struct ScoreAgg;

/// What the aggregate gathers for one group: the merged evidence, and the model and
/// time of its first row (they are the same for every row in sensible queries).
#[derive(Default)]
struct ScoreAggState {
    evidence: Evidence,
    model: Option<String>,
    at: Option<TimestampWithTimeZone>,
}

#[pg_aggregate]
impl Aggregate<ScoreAgg> for ScoreAgg {
    type State = Internal;
    type Args = (
        pgrx::name!(evidence, Option<JsonB>),
        pgrx::name!(model, Option<String>),
        pgrx::name!(at, Option<TimestampWithTimeZone>),
    );
    type Finalize = Option<JsonB>;
    const PARALLEL: Option<ParallelOption> = Some(ParallelOption::Safe);

    fn state(
        mut current: Self::State,
        (evidence, model, at): Self::Args,
        fcinfo: pg_sys::FunctionCallInfo,
    ) -> Self::State {
        let Some(JsonB(evidence)) = evidence else {
            return current;
        };
        let evidence = or_raise(Evidence::from_value(evidence));
        // SAFETY: the state lives in the aggregate's memory context, and this
        // aggregate only ever stores a ScoreAggState in it.
        unsafe {
            Self::in_memory_context(fcinfo, move |_| {
                let state = current.get_or_insert_default::<ScoreAggState>();
                state.evidence.merge(evidence);
                if state.model.is_none() {
                    state.model = model;
                }
                if state.at.is_none() {
                    state.at = at;
                }
                current
            })
        }
    }

    fn finalize(
        mut current: Self::State,
        _direct_args: Self::OrderedSetArgs,
        fcinfo: pg_sys::FunctionCallInfo,
    ) -> Self::Finalize {
        // SAFETY: as in `state`.
        let state = unsafe { current.get_mut::<ScoreAggState>() }?;
        let model = state.model.as_deref().unwrap_or("opencti");
        let at = state
            .at
            .unwrap_or_else(|| or_raise(Err(ScoreError::Time("at"))));
        // SAFETY: fcinfo is this call's.
        let models = unsafe { models_for_call(fcinfo) };
        let m = or_raise(score::pick_model(
            models,
            model,
            state.evidence.kind.as_deref(),
        ));
        let combined = or_raise(score::combine(&state.evidence, m, to_chrono(at)));
        Some(JsonB(
            serde_json::to_value(combined).expect("a score serialises"),
        ))
    }
}

extension_sql!(
    r#"
CREATE TABLE ctas_decay_models (
    name               text PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('misp', 'opencti')),
    lifetime_days      float8 NOT NULL CHECK (lifetime_days > 0 AND lifetime_days < 'Infinity'),
    speed              float8 NOT NULL CHECK (speed > 0 AND speed < 'Infinity'),
    threshold          float8 NOT NULL CHECK (threshold BETWEEN 0 AND 100),
    default_base_score float8 NOT NULL CHECK (default_base_score BETWEEN 0 AND 100),
    base_score_weights jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(base_score_weights) = 'object'),
    types              text[] NOT NULL DEFAULT '{}',
    reaction_points    float8[] NOT NULL DEFAULT '{}',
    rule_order         int NOT NULL DEFAULT 0,
    builtin            boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE ctas_decay_models IS
'Decay models for ctas_score: MISP models (polynomial curve, threshold, taxonomy weights) and OpenCTI decay rules (speed = 3 x pound, threshold = revoke score). Add your own rows; builtin rows are reloaded by the extension.';
INSERT INTO ctas_decay_models
SELECT *, true FROM ctas_builtin_decay_models();
SELECT pg_catalog.pg_extension_config_dump('ctas_decay_models', 'WHERE NOT builtin');
GRANT SELECT ON ctas_decay_models TO PUBLIC;

CREATE FUNCTION ctas_decay(base float8, last_seen timestamptz, lifetime interval, speed float8,
                           at timestamptz)
RETURNS float8 IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c
AS 'MODULE_PATHNAME', 'ctas_decay_v1';

CREATE FUNCTION ctas_decay(base float8, last_seen timestamptz, lifetime interval, speed float8)
RETURNS float8 STABLE STRICT PARALLEL SAFE LANGUAGE sql
-- A standard SQL body: its names are bound here, not looked up on each call (and it is
-- still inlined into the query that calls it).
RETURN ctas_decay(base, last_seen, lifetime, speed, now());

COMMENT ON FUNCTION ctas_decay(float8, timestamptz, interval, float8, timestamptz) IS
'Score base (0-100) decayed from last_seen to at: base * (1 - (t/lifetime)^(1/speed)), base before last_seen, 0 after the lifetime. Example: ctas_decay(80, ''2026-01-01'', ''120 days'', 2, ''2026-01-11'') = 56.906.';
COMMENT ON FUNCTION ctas_decay(float8, timestamptz, interval, float8) IS
'ctas_decay at now(): STABLE, for queries that ask "how bad is it today".';
COMMENT ON FUNCTION ctas_builtin_decay_models() IS
'The decay models CTAS ships, as rows of ctas_decay_models; the extension loads them on CREATE EXTENSION.';
COMMENT ON FUNCTION ctas_valid_until(float8, timestamptz, interval, float8, float8) IS
'When the decaying score reaches score (a threshold, a revoke score): last_seen + lifetime * (1 - score/base)^speed; NULL if score is above base.';
COMMENT ON FUNCTION ctas_confidence_to(text, int) IS
'The label of a STIX confidence 0-100 on a STIX 2.1 scale: none-low-med-high, 0-10, admiralty-credibility, wep, dni.';
COMMENT ON FUNCTION ctas_confidence_from(text, text) IS
'The STIX confidence 0-100 of a label on a STIX 2.1 scale; a label matches whole or by one of its / alternatives, ignoring case.';
COMMENT ON AGGREGATE ctas_score_agg(jsonb, text, timestamptz) IS
'One explained score per group from many rows of evidence about one indicator (their sources and sightings merged), with a model of ctas_decay_models, at a time; rows whose evidence is NULL are skipped.';
COMMENT ON FUNCTION ctas_score(jsonb, text, timestamptz) IS
'Score an indicator from its evidence {kind, first_seen, last_seen, sources:[{name, confidence, reliability, credibility, tags}], sightings:[{at, source}]} with a model of ctas_decay_models (''opencti'' picks the OpenCTI rule for kind), at a time: {score, base, sources:[{source, base, from, contribution}], decayed, valid_until, ...}.';
"#,
    name = "ctas_score_objects",
    // Last, after every function and the aggregate that it comments on or calls.
    finalize
);
