//! Evidence about one indicator, and the base score each source gives it.
//!
//! A source's base score follows MISP's `computeBasescore`: each tag with a numerical
//! value whose taxonomy the model weights contributes `weight / Σ weights · value`.
//! A source's Admiralty `reliability` and `credibility` count as the matching
//! `admiralty-scale` tags. With no weighted tag, a STIX `confidence` is the base; with
//! neither, the model's default base score.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::decay::DecayModel;
use super::ScoreError;

/// Admiralty source reliability A–F as MISP's `admiralty-scale` taxonomy values them.
const RELIABILITY: &[(&str, f64)] = &[
    ("a", 100.0),
    ("b", 75.0),
    ("c", 50.0),
    ("d", 25.0),
    ("e", 0.0),
    ("f", 50.0),
];

/// Admiralty information credibility 1–6, likewise.
const CREDIBILITY: &[(&str, f64)] = &[
    ("1", 100.0),
    ("2", 75.0),
    ("3", 50.0),
    ("4", 25.0),
    ("5", 0.0),
    ("6", 50.0),
];

const RELIABILITY_TAXONOMY: &str = "admiralty-scale:source-reliability";
const CREDIBILITY_TAXONOMY: &str = "admiralty-scale:information-credibility";

fn lookup(table: &[(&str, f64)], key: &str) -> Option<f64> {
    let key = key.trim().trim_matches('"').to_ascii_lowercase();
    table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// The value of an Admiralty source-reliability letter (A–F).
pub fn reliability_value(letter: &str) -> Result<f64, ScoreError> {
    lookup(RELIABILITY, letter).ok_or_else(|| {
        ScoreError::EvidenceValue(format!(
            "reliability must be an Admiralty letter A-F, got {letter:?}"
        ))
    })
}

/// The value of an Admiralty information-credibility digit (1–6).
pub fn credibility_value(digit: &str) -> Result<f64, ScoreError> {
    lookup(CREDIBILITY, digit).ok_or_else(|| {
        ScoreError::EvidenceValue(format!(
            "credibility must be an Admiralty digit 1-6, got {digit:?}"
        ))
    })
}

/// MISP's base name of a tag, the key of a model's weights: `ns:pred="v"` → `ns:pred`,
/// `ns:pred` → `ns`, anything else → itself.
pub fn tag_base(name: &str) -> &str {
    match name.split_once(':') {
        Some((ns, rest)) => match rest.split_once('=') {
            Some((pred, _)) => &name[..ns.len() + 1 + pred.len()],
            None => ns,
        },
        None => name,
    }
}

/// The numerical value CTAS knows for a tag without one given (the Admiralty scale).
pub fn known_tag_value(name: &str) -> Option<f64> {
    let value = name.split_once('=').map(|(_, v)| v)?;
    match tag_base(name) {
        RELIABILITY_TAXONOMY => lookup(RELIABILITY, value),
        CREDIBILITY_TAXONOMY => lookup(CREDIBILITY, value),
        _ => None,
    }
}

/// A MISP-style tag: `"ns:pred=\"value\""`, or `{"name": ..., "value": 75}` to give
/// its numerical value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Tag {
    /// The tag's name alone.
    Name(String),
    /// The tag with its numerical value.
    Valued {
        /// The tag.
        name: String,
        /// Its numerical value (0–100).
        value: f64,
    },
}

impl Tag {
    fn name(&self) -> &str {
        match self {
            Tag::Name(n) | Tag::Valued { name: n, .. } => n,
        }
    }

    fn value(&self) -> Option<f64> {
        match self {
            Tag::Name(n) => known_tag_value(n),
            Tag::Valued { value, .. } => Some(*value),
        }
    }
}

/// One source's report of the indicator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Who reported it.
    pub name: Option<String>,
    /// STIX confidence, 0–100.
    pub confidence: Option<i64>,
    /// Admiralty source reliability, A–F.
    pub reliability: Option<String>,
    /// Admiralty information credibility, 1–6.
    pub credibility: Option<String>,
    /// MISP-style tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A sighting of the indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sighting {
    /// When it was seen.
    pub at: DateTime<Utc>,
    /// Who saw it.
    pub source: Option<String>,
}

/// Everything known about one indicator, as `ctas_score` takes it (jsonb).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// The indicator's type (`ipv4`, `IPv4-Addr`, `domain`, ...), to pick a decay rule.
    pub kind: Option<String>,
    /// First seen.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last seen.
    pub last_seen: Option<DateTime<Utc>>,
    /// Sources that reported it.
    #[serde(default)]
    pub sources: Vec<Source>,
    /// Sightings.
    #[serde(default)]
    pub sightings: Vec<Sighting>,
}

impl Evidence {
    /// Parse evidence from JSON text, with an error that names the field at fault.
    pub fn from_json(json: &str) -> Result<Evidence, ScoreError> {
        serde_json::from_str(json).map_err(|e| ScoreError::Evidence(e.to_string()))
    }

    /// Read evidence from a JSON value (jsonb in SQL), likewise.
    pub fn from_value(value: serde_json::Value) -> Result<Evidence, ScoreError> {
        serde_json::from_value(value).map_err(|e| ScoreError::Evidence(e.to_string()))
    }

    /// The time decay counts from: the last sighting, else last seen, else first seen.
    pub fn reference_time(&self) -> Option<DateTime<Utc>> {
        self.sightings
            .iter()
            .map(|s| s.at)
            .max()
            .or(self.last_seen)
            .or(self.first_seen)
    }

    /// Add another row's evidence to this one (what `ctas_score_agg` does per row).
    pub fn merge(&mut self, other: Evidence) {
        if self.kind.is_none() {
            self.kind = other.kind;
        }
        self.first_seen = min_opt(self.first_seen, other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
        self.sources.extend(other.sources);
        self.sightings.extend(other.sightings);
    }
}

fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Where a source's base score came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseFrom {
    /// Weighted taxonomy tags.
    Tags,
    /// STIX confidence.
    Confidence,
    /// The model's default base score.
    Default,
}

/// One weighted tag in a base score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedTag {
    /// The tag.
    pub tag: String,
    /// Its numerical value.
    pub value: f64,
    /// Its effective weight (the model's weight over the sum of the weights present).
    pub weight: f64,
}

/// A source's base score, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceBase {
    /// The score, 0–100.
    pub base: f64,
    /// Where it came from.
    pub from: BaseFrom,
    /// The tags that made it, when it came from tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<WeightedTag>,
}

impl Source {
    /// This source's base score under `model`.
    pub fn base(&self, model: &DecayModel) -> Result<SourceBase, ScoreError> {
        let mut tags: Vec<(String, f64)> = Vec::new();
        if let Some(r) = &self.reliability {
            tags.push((
                format!(
                    "{RELIABILITY_TAXONOMY}=\"{}\"",
                    r.trim().to_ascii_lowercase()
                ),
                reliability_value(r)?,
            ));
        }
        if let Some(c) = &self.credibility {
            tags.push((
                format!("{CREDIBILITY_TAXONOMY}=\"{}\"", c.trim()),
                credibility_value(c)?,
            ));
        }
        for t in &self.tags {
            if let Some(v) = t.value() {
                if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
                    return Err(ScoreError::EvidenceValue(format!(
                        "tag {:?} has value {v}; numerical values are in [0, 100]",
                        t.name()
                    )));
                }
                tags.push((t.name().to_owned(), v));
            }
        }
        let weight = |tag: &str| {
            let base = tag_base(tag);
            model
                .base_score_weights
                .iter()
                .find(|(t, _)| t == base)
                .map(|(_, w)| *w)
                .filter(|w| *w > 0.0)
        };
        let total: f64 = tags.iter().filter_map(|(t, _)| weight(t)).sum();
        if total > 0.0 {
            let weighted: Vec<WeightedTag> = tags
                .iter()
                .filter_map(|(t, v)| {
                    weight(t).map(|w| WeightedTag {
                        tag: t.clone(),
                        value: *v,
                        weight: w / total,
                    })
                })
                .collect();
            let base = weighted.iter().map(|w| w.weight * w.value).sum();
            return Ok(SourceBase {
                base,
                from: BaseFrom::Tags,
                tags: weighted,
            });
        }
        if let Some(c) = self.confidence {
            if !(0..=100).contains(&c) {
                return Err(ScoreError::Confidence(c));
            }
            return Ok(SourceBase {
                base: c as f64,
                from: BaseFrom::Confidence,
                tags: Vec::new(),
            });
        }
        Ok(SourceBase {
            base: model.default_base_score,
            from: BaseFrom::Default,
            tags: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::decay::builtin_model;

    fn model(name: &str) -> DecayModel {
        builtin_model(name).unwrap()
    }

    #[test]
    fn tag_base_names_follow_misp() {
        assert_eq!(
            tag_base("admiralty-scale:source-reliability=\"b\""),
            "admiralty-scale:source-reliability"
        );
        assert_eq!(tag_base("priority-level:high"), "priority-level");
        assert_eq!(tag_base("tlp"), "tlp");
    }

    #[test]
    fn admiralty_letters_weighted_half_and_half() {
        let s = Source {
            reliability: Some("B".into()),
            credibility: Some("2".into()),
            ..Default::default()
        };
        let b = s.base(&model("ctas:admiralty")).unwrap();
        assert_eq!((b.base, b.from), (75.0, BaseFrom::Tags));
        let s = Source {
            reliability: Some("A".into()),
            credibility: Some("4".into()),
            ..Default::default()
        };
        assert_eq!(s.base(&model("ctas:admiralty")).unwrap().base, 62.5);
    }

    #[test]
    fn misp_weights_are_renormalised_over_the_tags_present() {
        // Two of nids-simple's taxonomies present, equal weights: the plain mean.
        let s = Source {
            tags: vec![
                Tag::Valued {
                    name: "false-positive:risk=\"low\"".into(),
                    value: 100.0,
                },
                Tag::Valued {
                    name: "retention:expired".into(),
                    value: 0.0,
                },
                Tag::Valued {
                    name: "tlp:clear".into(),
                    value: 0.0,
                },
            ],
            ..Default::default()
        };
        let b = s.base(&model("misp:nids-simple")).unwrap();
        assert_eq!(b.tags.len(), 2, "tlp is not weighted by the model");
        assert!((b.base - 50.0).abs() < 1e-9, "{}", b.base);
    }

    #[test]
    fn confidence_then_default_when_no_weighted_tag() {
        let m = model("misp:nids-simple");
        let s = Source {
            confidence: Some(65),
            ..Default::default()
        };
        assert_eq!(s.base(&m).unwrap().base, 65.0);
        assert_eq!(Source::default().base(&m).unwrap().base, 80.0);
    }

    #[test]
    fn bad_evidence_names_the_field() {
        let m = model("ctas:admiralty");
        let s = Source {
            reliability: Some("G".into()),
            ..Default::default()
        };
        assert!(s
            .base(&m)
            .unwrap_err()
            .to_string()
            .contains("reliability must be an Admiralty letter A-F"));
        let e = Evidence::from_json(r#"{"sources":[{"confidance":50}]}"#).unwrap_err();
        assert!(e.to_string().contains("confidance"), "{e}");
    }
}
