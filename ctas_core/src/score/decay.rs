//! Decay of a score with time: the polynomial curve of MISP's decaying models, which
//! OpenCTI's decay rules use too.
//!
//! `score(t) = base · (1 − (t/τ)^(1/δ))` for 0 < t < τ, `base` for t ≤ 0 and 0 from τ on,
//! where τ is the lifetime in days and δ the decay speed (OpenCTI: δ = 3 · pound).

use serde::{Deserialize, Serialize};

use super::{check_score, ScoreError};

/// OpenCTI's fixed factor between a rule's "pound" and the curve's decay speed.
pub const OPENCTI_DECAY_FACTOR: f64 = 3.0;

/// The decay curve: lifetime τ in days and decay speed δ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Polynomial {
    /// τ: days after which the score is 0.
    pub lifetime_days: f64,
    /// δ: how fast the score falls early on (larger falls faster at first).
    pub speed: f64,
}

impl Polynomial {
    /// A curve, refusing a lifetime or speed that is not a positive finite number.
    pub fn new(lifetime_days: f64, speed: f64) -> Result<Self, ScoreError> {
        if !(lifetime_days.is_finite() && lifetime_days > 0.0) {
            return Err(ScoreError::Lifetime(lifetime_days));
        }
        if !(speed.is_finite() && speed > 0.0) {
            return Err(ScoreError::Speed(speed));
        }
        Ok(Polynomial {
            lifetime_days,
            speed,
        })
    }

    /// The score `elapsed_days` after the reference time, from `base`.
    pub fn score(&self, base: f64, elapsed_days: f64) -> Result<f64, ScoreError> {
        let base = check_score(base, ScoreError::Base)?;
        if elapsed_days.is_nan() {
            return Err(ScoreError::Time("at"));
        }
        Ok(self.score_unchecked(base, elapsed_days))
    }

    /// [`Polynomial::score`] for inputs already checked (the hot loop of SQL scans).
    #[inline]
    pub fn score_unchecked(&self, base: f64, elapsed_days: f64) -> f64 {
        if elapsed_days <= 0.0 {
            base
        } else if elapsed_days >= self.lifetime_days {
            0.0
        } else {
            let x = elapsed_days / self.lifetime_days;
            // δ = 2 (MISP's default) and δ = 1 (linear) are common enough in scans of
            // millions of rows to take sqrt and the identity instead of the general pow.
            let root = if self.speed == 2.0 {
                x.sqrt()
            } else if self.speed == 1.0 {
                x
            } else {
                x.powf(1.0 / self.speed)
            };
            (base * (1.0 - root)).max(0.0)
        }
    }

    /// Days after the reference time at which the score falls to `target`, in closed
    /// form: `τ · (1 − target/base)^δ`. `None` when it never does (target above base);
    /// 0 when base is already at or below it.
    pub fn days_until(&self, base: f64, target: f64) -> Result<Option<f64>, ScoreError> {
        let base = check_score(base, ScoreError::Base)?;
        let target = check_score(target, ScoreError::Target)?;
        if target > base {
            return Ok(if base == 0.0 { Some(0.0) } else { None });
        }
        if base == 0.0 {
            return Ok(Some(0.0));
        }
        Ok(Some(
            self.lifetime_days * (1.0 - target / base).powf(self.speed),
        ))
    }
}

/// Which platform's semantics a model follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// A MISP decaying model (Polynomial formula).
    Misp,
    /// An OpenCTI decay rule.
    Opencti,
}

/// A named decay model, as stored in the `ctas.decay_models` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecayModel {
    /// Unique name.
    pub name: String,
    /// MISP or OpenCTI semantics.
    pub kind: ModelKind,
    /// The curve.
    pub curve: Polynomial,
    /// Below this score an indicator is decayed (MISP threshold, OpenCTI revoke score).
    pub threshold: f64,
    /// Base score when no evidence gives one.
    pub default_base_score: f64,
    /// Weight of each taxonomy (MISP tag base name, like `admiralty-scale:source-reliability`).
    pub base_score_weights: Vec<(String, f64)>,
    /// Indicator types the model applies to; empty means all.
    pub types: Vec<String>,
    /// OpenCTI reaction points, highest first; empty for MISP models.
    pub reaction_points: Vec<f64>,
    /// Among models that match a type, the highest order wins (OpenCTI's rule order).
    pub order: i32,
}

impl DecayModel {
    /// Whether this model applies to indicators of `kind` (case-insensitive).
    pub fn applies_to(&self, kind: &str) -> bool {
        self.types.is_empty() || self.types.iter().any(|t| t.eq_ignore_ascii_case(kind))
    }

    /// The model among `models` for an indicator of `kind`: the highest `order` among
    /// those that apply, the first listed among equals.
    pub fn select<'a>(models: &'a [DecayModel], kind: &str) -> Option<&'a DecayModel> {
        models
            .iter()
            .filter(|m| m.applies_to(kind))
            .fold(None, |best: Option<&DecayModel>, m| match best {
                Some(b) if b.order >= m.order => Some(b),
                _ => Some(m),
            })
    }
}

fn opencti_rule(
    name: &str,
    lifetime_days: f64,
    pound: f64,
    reaction_points: &[f64],
    types: &[&str],
    order: i32,
) -> DecayModel {
    DecayModel {
        name: name.into(),
        kind: ModelKind::Opencti,
        curve: Polynomial {
            lifetime_days,
            speed: OPENCTI_DECAY_FACTOR * pound,
        },
        threshold: 20.0,
        default_base_score: 100.0,
        base_score_weights: Vec::new(),
        types: types.iter().map(|t| t.to_string()).collect(),
        reaction_points: reaction_points.to_vec(),
        order,
    }
}

/// MISP's NIDS simple model's types, and CTAS's own kinds for the same things.
const NIDS_TYPES: &[&str] = &[
    "domain",
    "domain|ip",
    "hostname",
    "hostname|port",
    "ip-dst",
    "ip-dst|port",
    "ip-src",
    "ip-src|port",
    "url",
    "snort",
    "suricata",
    "zeek",
    "bro",
    "ipv4",
    "ipv6",
];

fn misp_model(name: &str, weights: &[(&str, f64)]) -> DecayModel {
    DecayModel {
        name: name.into(),
        kind: ModelKind::Misp,
        curve: Polynomial {
            lifetime_days: 120.0,
            speed: 2.0,
        },
        threshold: 30.0,
        default_base_score: 80.0,
        base_score_weights: weights.iter().map(|(t, w)| (t.to_string(), *w)).collect(),
        types: NIDS_TYPES.iter().map(|t| t.to_string()).collect(),
        reaction_points: Vec::new(),
        order: 0,
    }
}

/// The models CTAS ships: MISP's NIDS simple model as MISP publishes it, the same
/// curve weighted by the Admiralty scale, and OpenCTI's built-in decay rules.
pub fn builtin_models() -> Vec<DecayModel> {
    vec![
        misp_model(
            "misp:nids-simple",
            &[
                (
                    "estimative-language:confidence-in-analytic-judgment",
                    0.1667,
                ),
                ("estimative-language:likelihood-probability", 0.1667),
                ("false-positive:risk", 0.1667),
                ("priority-level", 0.1667),
                ("retention", 0.1667),
                (
                    "targeted-threat-index:targeting-sophistication-base-value",
                    0.0833,
                ),
                (
                    "targeted-threat-index:technical-sophistication-multiplier",
                    0.0833,
                ),
            ],
        ),
        misp_model(
            "ctas:admiralty",
            &[
                ("admiralty-scale:source-reliability", 0.5),
                ("admiralty-scale:information-credibility", 0.5),
            ],
        ),
        opencti_rule(
            "opencti:ip-url",
            47.0,
            0.55,
            &[80.0, 50.0],
            &["IPv4-Addr", "IPv6-Addr", "Url", "ipv4", "ipv6", "url"],
            1,
        ),
        opencti_rule(
            "opencti:domain",
            300.0,
            0.7,
            &[80.0, 50.0],
            &["Domain-Name", "domain", "hostname"],
            1,
        ),
        opencti_rule(
            "opencti:file-artifact",
            460.0,
            0.3,
            &[80.0],
            &[
                "StixFile", "Artifact", "file", "md5", "sha1", "sha256", "sha512",
            ],
            1,
        ),
        opencti_rule("opencti:default", 470.0, 0.35, &[80.0, 50.0], &[], 0),
    ]
}

/// The built-in model with this name.
pub fn builtin_model(name: &str) -> Option<DecayModel> {
    builtin_models().into_iter().find(|m| m.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> DecayModel {
        builtin_model(name).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn misp_nids_simple_golden_values() {
        let m = model("misp:nids-simple");
        assert!(close(m.curve.score(80.0, 10.0).unwrap(), 56.90599, 1e-5));
        let below = m.curve.days_until(80.0, m.threshold).unwrap().unwrap();
        assert!(close(below, 46.875, 1e-9), "{below}");
    }

    #[test]
    fn opencti_golden_reaction_times() {
        let cases = [
            ("opencti:ip-url", [3.302, 14.976, 32.523]),
            ("opencti:default", [86.732, 226.995, 371.828]),
        ];
        for (name, want) in cases {
            let m = model(name);
            for (target, days) in [80.0, 50.0, 20.0].into_iter().zip(want) {
                let got = m.curve.days_until(100.0, target).unwrap().unwrap();
                assert!(
                    close(got, days, 5e-4),
                    "{name} to {target}: {got} vs {days}"
                );
            }
        }
    }

    #[test]
    fn score_is_base_before_and_zero_after_the_lifetime() {
        let c = Polynomial::new(30.0, 1.5).unwrap();
        assert_eq!(c.score(70.0, -3.0).unwrap(), 70.0);
        assert_eq!(c.score(70.0, 0.0).unwrap(), 70.0);
        assert_eq!(c.score(70.0, 30.0).unwrap(), 0.0);
        assert_eq!(c.score(70.0, 1e9).unwrap(), 0.0);
    }

    #[test]
    fn the_fast_paths_agree_with_the_general_power() {
        for speed in [1.0, 2.0] {
            let c = Polynomial::new(90.0, speed).unwrap();
            for t in [0.5, 1.0, 17.3, 44.4, 89.9] {
                let general = 75.0 * (1.0 - (t / 90.0f64).powf(1.0 / speed));
                assert!(
                    close(c.score(75.0, t).unwrap(), general, 1e-12),
                    "{speed} {t}"
                );
            }
        }
    }

    #[test]
    fn days_until_inverts_score() {
        let c = Polynomial::new(120.0, 2.0).unwrap();
        for target in [1.0, 10.0, 30.0, 55.5, 79.0] {
            let t = c.days_until(80.0, target).unwrap().unwrap();
            assert!(close(c.score(80.0, t).unwrap(), target, 1e-9));
        }
        assert_eq!(c.days_until(50.0, 60.0).unwrap(), None, "never rises");
    }

    #[test]
    fn bad_parameters_name_the_argument() {
        assert_eq!(Polynomial::new(-1.0, 2.0), Err(ScoreError::Lifetime(-1.0)));
        assert_eq!(Polynomial::new(10.0, 0.0), Err(ScoreError::Speed(0.0)));
        let c = Polynomial::new(10.0, 1.0).unwrap();
        assert_eq!(c.score(101.0, 1.0), Err(ScoreError::Base(101.0)));
        assert_eq!(c.days_until(50.0, -1.0), Err(ScoreError::Target(-1.0)));
    }

    #[test]
    fn the_highest_order_rule_that_matches_wins() {
        let models: Vec<_> = builtin_models()
            .into_iter()
            .filter(|m| m.kind == ModelKind::Opencti)
            .collect();
        let pick = |k: &str| DecayModel::select(&models, k).unwrap().name.clone();
        assert_eq!(pick("IPv4-Addr"), "opencti:ip-url");
        assert_eq!(pick("Domain-Name"), "opencti:domain");
        assert_eq!(pick("StixFile"), "opencti:file-artifact");
        assert_eq!(pick("Email-Addr"), "opencti:default");
    }
}
