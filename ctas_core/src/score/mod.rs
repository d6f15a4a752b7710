//! Threat scoring: decay over time, base scores from evidence, confidence scales,
//! and one explained score from many sources and sightings.
//!
//! Scores are on 0–100, times in days (fractions allowed), as MISP and OpenCTI use them.

pub mod combine;
pub mod decay;
pub mod evidence;
pub mod scale;

use thiserror::Error;

pub use combine::{combine, pick_model, Combined, Contribution, SIGHTING_WEIGHT};
pub use decay::{builtin_model, builtin_models, DecayModel, ModelKind, Polynomial};
pub use evidence::{Evidence, Sighting, Source};
pub use scale::{confidence_from, confidence_to, Scale};

/// Why a score could not be computed; each variant names the argument and its range.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScoreError {
    /// A base score outside 0–100.
    #[error("base must be a number in [0, 100], got {0}")]
    Base(f64),
    /// A target score outside 0–100.
    #[error("score must be a number in [0, 100], got {0}")]
    Target(f64),
    /// A lifetime that is not positive.
    #[error("lifetime must be positive, got {0} days")]
    Lifetime(f64),
    /// A decay speed that is not positive.
    #[error("speed must be a number > 0, got {0}")]
    Speed(f64),
    /// A time that is not a finite number.
    #[error("{0} must be a finite time")]
    Time(&'static str),
    /// A confidence outside 0–100.
    #[error("value must be an integer in [0, 100] (STIX confidence), got {0}")]
    Confidence(i64),
    /// A scale name that is not known.
    #[error("scale must be one of {known}, got {0:?}", known = scale::Scale::NAMES.join(", "))]
    UnknownScale(String),
    /// A value that the named scale does not have.
    #[error("value {value:?} is not on the {scale} scale; it has {allowed}")]
    NotOnScale {
        /// The scale.
        scale: &'static str,
        /// The value given.
        value: String,
        /// What the scale accepts.
        allowed: String,
    },
    /// A value on a scale that maps to no confidence (Admiralty 6, "cannot be judged").
    #[error("value {value:?} on the {scale} scale means the truth cannot be judged: it has no confidence")]
    NoConfidence {
        /// The scale.
        scale: &'static str,
        /// The value given.
        value: String,
    },
    /// A decay model that does not exist.
    #[error("model {0:?} is not a known decay model")]
    UnknownModel(String),
    /// Evidence that is not the JSON shape `ctas_score` reads.
    #[error("evidence: {0}")]
    Evidence(String),
    /// Evidence whose shape is right but a value is out of its range.
    #[error("evidence: {0}")]
    EvidenceValue(String),
}

/// Check that a score is within 0–100.
pub(crate) fn check_score(value: f64, err: fn(f64) -> ScoreError) -> Result<f64, ScoreError> {
    if value.is_finite() && (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(err(value))
    }
}
