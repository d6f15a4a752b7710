//! One score from many sources and sightings, with the reasons.
//!
//! Sources are combined by noisy-OR: each source alone would have the indicator bad
//! with probability `base/100`; the combination is the probability that at least one
//! is right, `1 − Π(1 − pᵢ)`. Two independent sources at 60 give 84: agreement raises
//! the score, and no pile of weak sources reaches 100 unless one of them is certain.
//! Each independent sighting (a distinct observer and day) then adds a weak term of
//! [`SIGHTING_WEIGHT`] the same way. The result decays with the model's curve from the
//! last sighting, else last seen, else first seen.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::decay::{DecayModel, ModelKind};
use super::evidence::{BaseFrom, Evidence, WeightedTag};
use super::ScoreError;

/// What one independent sighting adds, as a noisy-OR term (probability 0.1).
pub const SIGHTING_WEIGHT: f64 = 0.1;

/// One source's part in the combined score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// The source's name, or `#n` for an unnamed one.
    pub source: String,
    /// Its base score.
    pub base: f64,
    /// Where the base came from.
    pub from: BaseFrom,
    /// How much lower the combined base would be without this source.
    pub contribution: f64,
    /// The weighted tags behind the base.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<WeightedTag>,
}

/// The combined score and its explanation (what `ctas_score` returns as jsonb).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Combined {
    /// The decayed score at `at`.
    pub score: f64,
    /// The model used.
    pub model: String,
    /// The combined base score, before decay.
    pub base: f64,
    /// Sources, in the order given.
    pub sources: Vec<Contribution>,
    /// Sightings counted, and how many were independent.
    pub sightings: usize,
    /// Distinct (observer, day) pairs among the sightings.
    pub independent_sightings: usize,
    /// Points the sightings added to the base.
    pub sighting_boost: f64,
    /// When decay counts from.
    #[serde(serialize_with = "crate::rfc3339::serialize_option")]
    pub reference_time: Option<DateTime<Utc>>,
    /// The time the score is for.
    #[serde(serialize_with = "crate::rfc3339::serialize")]
    pub at: DateTime<Utc>,
    /// Days from `reference_time` to `at`.
    pub elapsed_days: f64,
    /// Below this the indicator is decayed (MISP) or revoked (OpenCTI).
    pub threshold: f64,
    /// Whether the score is below the threshold.
    pub decayed: bool,
    /// When the score falls below the threshold; None if it never was above it.
    #[serde(serialize_with = "crate::rfc3339::serialize_option")]
    pub valid_until: Option<DateTime<Utc>>,
}

/// Explanations are read by people: show a contribution to a millionth of a point,
/// not with the last bits of floating-point noise (16.000000000000004).
fn for_people(points: f64) -> f64 {
    (points * 1e6).round() / 1e6
}

fn noisy_or(ps: impl IntoIterator<Item = f64>) -> f64 {
    1.0 - ps.into_iter().map(|p| 1.0 - p).product::<f64>()
}

/// The noisy-OR of all but the i-th probability, for every i, in linear time: the
/// product of the misses before i times the product of those after it (prefix and
/// suffix products), where recomputing each one from scratch took O(n²) (a million
/// sources: 844 s).
fn leave_one_out(ps: &[f64]) -> Vec<f64> {
    let mut after = vec![1.0; ps.len()];
    for i in (0..ps.len().saturating_sub(1)).rev() {
        after[i] = after[i + 1] * (1.0 - ps[i + 1]);
    }
    let mut before = 1.0;
    ps.iter()
        .zip(after)
        .map(|(p, after)| {
            let without = 1.0 - before * after;
            before *= 1.0 - p;
            without
        })
        .collect()
}

/// Pick the model: by exact name, or with `opencti` the OpenCTI rule for the
/// evidence's kind (the highest order among the rules that match it).
pub fn pick_model<'a>(
    models: &'a [DecayModel],
    name: &str,
    kind: Option<&str>,
) -> Result<&'a DecayModel, ScoreError> {
    if let Some(m) = models.iter().find(|m| m.name == name) {
        return Ok(m);
    }
    if name.eq_ignore_ascii_case("opencti") {
        let rules: Vec<DecayModel> = models
            .iter()
            .filter(|m| m.kind == ModelKind::Opencti)
            .cloned()
            .collect();
        if let Some(rule) = DecayModel::select(&rules, kind.unwrap_or("")) {
            return Ok(models
                .iter()
                .find(|m| m.name == rule.name)
                .expect("from models"));
        }
    }
    Err(ScoreError::UnknownModel(name.to_owned()))
}

/// Score `evidence` with `model` at time `at`.
pub fn combine(
    evidence: &Evidence,
    model: &DecayModel,
    at: DateTime<Utc>,
) -> Result<Combined, ScoreError> {
    let mut bases = Vec::with_capacity(evidence.sources.len().max(1));
    for (i, s) in evidence.sources.iter().enumerate() {
        let b = s.base(model)?;
        let name = s.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        bases.push((name, b));
    }
    let probs: Vec<f64> = if bases.is_empty() {
        vec![model.default_base_score / 100.0]
    } else {
        bases.iter().map(|(_, b)| b.base / 100.0).collect()
    };
    let from_sources = noisy_or(probs.iter().copied());
    let without = leave_one_out(&probs);
    let sources = bases
        .into_iter()
        .zip(without)
        .map(|((source, b), without)| Contribution {
            source,
            base: b.base,
            from: b.from,
            contribution: for_people(100.0 * (from_sources - without)),
            tags: b.tags,
        })
        .collect();

    let independent: BTreeSet<(Option<&str>, chrono::NaiveDate)> = evidence
        .sightings
        .iter()
        .map(|s| (s.source.as_deref(), s.at.date_naive()))
        .collect();
    let with_sightings = noisy_or(
        std::iter::once(from_sources)
            .chain(std::iter::repeat_n(SIGHTING_WEIGHT, independent.len())),
    );
    let base = (100.0 * with_sightings).clamp(0.0, 100.0);

    let reference_time = evidence.reference_time();
    // Microseconds, as PostgreSQL keeps time: near the end of a lifetime the curve is
    // steep enough that rounding to milliseconds shows in the ninth digit.
    let elapsed_days = reference_time
        .map(|r| {
            let d = at - r;
            d.num_microseconds()
                .map(|us| us as f64 / 86_400_000_000.0)
                .unwrap_or(d.num_milliseconds() as f64 / 86_400_000.0)
        })
        .unwrap_or(0.0);
    let score = model.curve.score_unchecked(base, elapsed_days);
    let valid_until = match (
        reference_time,
        model.curve.days_until(base, model.threshold)?,
    ) {
        (Some(r), Some(days)) if base >= model.threshold => {
            Some(r + Duration::milliseconds((days * 86_400_000.0).round() as i64))
        }
        _ => None,
    };
    Ok(Combined {
        score,
        model: model.name.clone(),
        base,
        sources,
        sightings: evidence.sightings.len(),
        independent_sightings: independent.len(),
        sighting_boost: for_people(100.0 * (with_sightings - from_sources)),
        reference_time,
        at,
        elapsed_days,
        threshold: model.threshold,
        decayed: score < model.threshold,
        valid_until,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::decay::builtin_models;
    use proptest::prelude::*;

    proptest! {
        /// Against the definition, written the slow way: the noisy-OR of the others.
        #[test]
        fn leave_one_out_is_the_noisy_or_of_the_others(ps in proptest::collection::vec(0.0f64..=1.0, 0..40)) {
            let fast = leave_one_out(&ps);
            prop_assert_eq!(fast.len(), ps.len());
            for (i, got) in fast.iter().enumerate() {
                let others = ps.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| *p);
                let want = 1.0 - others.map(|p| 1.0 - p).product::<f64>();
                prop_assert!((got - want).abs() < 1e-12, "{i}: {got} vs {want}");
            }
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn two_sources_at_60_combine_to_84_and_each_contributes() {
        let models = builtin_models();
        let m = pick_model(&models, "misp:nids-simple", None).unwrap();
        let e = Evidence::from_json(
            r#"{"sources":[{"name":"a","confidence":60},{"name":"b","confidence":60}]}"#,
        )
        .unwrap();
        let c = combine(&e, m, at("2026-01-01T00:00:00Z")).unwrap();
        assert!((c.base - 84.0).abs() < 1e-9, "{}", c.base);
        assert_eq!(c.score, c.base, "no time given: nothing to decay from");
        for s in &c.sources {
            assert!((s.contribution - 24.0).abs() < 1e-9, "{s:?}");
        }
    }

    #[test]
    fn decays_from_the_last_sighting() {
        let models = builtin_models();
        let m = pick_model(&models, "misp:nids-simple", None).unwrap();
        let e = Evidence::from_json(
            r#"{"first_seen":"2025-01-01T00:00:00Z","last_seen":"2025-06-01T00:00:00Z",
                "sightings":[{"at":"2025-12-22T00:00:00Z"}]}"#,
        )
        .unwrap();
        let c = combine(&e, m, at("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(c.reference_time, Some(at("2025-12-22T00:00:00Z")));
        assert!((c.elapsed_days - 10.0).abs() < 1e-9);
        // Default base 80, one independent sighting: 1 - 0.2 * 0.9 = 0.82.
        assert!((c.base - 82.0).abs() < 1e-9, "{}", c.base);
        let want = 82.0 * (1.0 - (10.0f64 / 120.0).sqrt());
        assert!((c.score - want).abs() < 1e-9);
        assert!(!c.decayed);
        assert!(c.valid_until.unwrap() > at("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn repeated_sightings_by_one_observer_on_one_day_count_once() {
        let models = builtin_models();
        let m = pick_model(&models, "misp:nids-simple", None).unwrap();
        let e = Evidence::from_json(
            r#"{"sightings":[{"at":"2025-12-22T01:00:00Z","source":"ids"},
                             {"at":"2025-12-22T05:00:00Z","source":"ids"},
                             {"at":"2025-12-22T05:00:00Z","source":"honeypot"}]}"#,
        )
        .unwrap();
        let c = combine(&e, m, at("2025-12-22T05:00:00Z")).unwrap();
        assert_eq!((c.sightings, c.independent_sightings), (3, 2));
    }

    #[test]
    fn opencti_picks_the_rule_for_the_kind() {
        let models = builtin_models();
        assert_eq!(
            pick_model(&models, "opencti", Some("IPv4-Addr"))
                .unwrap()
                .name,
            "opencti:ip-url"
        );
        assert_eq!(
            pick_model(&models, "opencti", Some("Email-Addr"))
                .unwrap()
                .name,
            "opencti:default"
        );
        assert!(matches!(
            pick_model(&models, "nope", None),
            Err(ScoreError::UnknownModel(_))
        ));
    }
}
