//! Lookup by value: what the hot tier knows of an indicator asked as an analyst has it.
//!
//! The value is refanged, classified and normalised the way ingest does
//! (`ctas_core::ioc::normalise`, or `ctas_core::model::normalise` for a kind named), so
//! `hxxp://Evil[.]com`, `EVIL.COM` and `2001:DB8:0::1` reach the ids ingest gave them;
//! the answer is the indicator's summary (`ctas_core::model::summary`) with its sources
//! as sled knows them, what it is tied to, and its score decayed to the time asked.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ctas_core::model::summary::Related;
use ctas_core::model::{IndicatorSummary, Item};
use ctas_core::score::{self, DecayModel};

use crate::api::Problem;
use crate::hot::{Hot, HotError};

/// Most values one batch lookup answers.
pub const MAX_BATCH: usize = 10_000;

/// Why a value has no answer.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{0:?} is not an indicator CTAS can classify; name its kind with ?kind= (see ctas_ioc_kinds())")]
    NotAnIndicator(String),
    #[error("no {kind} {value:?} is known (id {id})")]
    Unknown {
        kind: String,
        value: String,
        id: String,
    },
    #[error("{0}")]
    Model(String),
    #[error("the indicator cannot be scored: {0}")]
    Score(String),
    #[error(transparent)]
    Hot(#[from] HotError),
}

impl From<LookupError> for Problem {
    fn from(e: LookupError) -> Problem {
        let (status, kind, title) = match &e {
            LookupError::NotAnIndicator(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-an-indicator",
                "Not an indicator",
            ),
            LookupError::Unknown { .. } => (
                StatusCode::NOT_FOUND,
                "unknown-indicator",
                "Unknown indicator",
            ),
            LookupError::Model(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-model",
                "Unknown decay model",
            ),
            LookupError::Score(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "cannot-score",
                "The indicator cannot be scored",
            ),
            LookupError::Hot(_) => return Problem::internal(e),
        };
        Problem::new(status, kind, title, e.to_string())
    }
}

/// The indicator `value` (of `kind`, when named) as the hot tier knows it, its score
/// decayed to `at` by the model named `model`.
pub fn look_up(
    hot: &Hot,
    value: &str,
    kind: Option<&str>,
    models: &[DecayModel],
    model: &str,
    at: DateTime<Utc>,
) -> Result<Answer, LookupError> {
    let (kind, normal) = match kind {
        Some(kind) => (kind.to_owned(), ctas_core::model::normalise(kind, value)),
        None => match ctas_core::ioc::normalise(value) {
            Some(ioc) => (ioc.kind.as_str().to_owned(), ioc.value),
            None => return Err(LookupError::NotAnIndicator(value.to_owned())),
        },
    };
    let id = ctas_core::model::indicator_id(&kind, &normal);
    let Some(summary) = hot.indicator(&id)? else {
        return Err(LookupError::Unknown {
            kind,
            value: normal,
            id,
        });
    };
    let model = score::pick_model(models, model, Some(&kind))
        .map_err(|e| LookupError::Model(e.to_string()))?;
    let sources = sources(hot, &summary)?;
    let score = summary
        .score(sources.clone(), model, at)
        .map_err(|e| LookupError::Score(e.to_string()))?;
    Ok(Answer {
        related: related(hot, &summary)?,
        sources: sources
            .into_iter()
            .map(|s| SourceAnswer {
                credibility: s.credibility,
                name: s.name,
                reliability: s.reliability,
            })
            .collect(),
        first_seen: summary.first_seen,
        id,
        kind,
        last_seen: summary.last_seen,
        reports: summary.reports,
        score,
        sightings: summary.sightings,
        stix_id: summary.stix_id,
        value: normal,
    })
}

// The answers are typed and serialised once: built as `serde_json::Value` trees first,
// a batch of 5,000 known values spent most of its 220 ms allocating, filling and
// dropping their maps (perf: malloc, BTreeMap inserts, Value drops). Fields are in
// alphabetical order, the order those trees printed them in.

/// What a lookup answers for a known indicator.
#[derive(Debug, serde::Serialize)]
pub struct Answer {
    pub first_seen: Option<DateTime<Utc>>,
    pub id: String,
    pub kind: String,
    pub last_seen: Option<DateTime<Utc>>,
    pub related: Vec<RelatedAnswer>,
    pub reports: Vec<String>,
    pub score: score::Combined,
    pub sightings: u64,
    pub sources: Vec<SourceAnswer>,
    pub stix_id: Option<String>,
    pub value: String,
}

/// A source of a known indicator, with what the hot tier knows of it.
#[derive(Debug, serde::Serialize)]
pub struct SourceAnswer {
    pub credibility: Option<String>,
    pub name: Option<String>,
    pub reliability: Option<String>,
}

/// Something a known indicator is tied to.
#[derive(Debug, serde::Serialize)]
pub struct RelatedAnswer {
    pub id: String,
    pub name: Option<String>,
    pub object_type: Option<String>,
    pub outgoing: bool,
    #[serde(rename = "type")]
    pub relationship_type: String,
    pub via: Option<String>,
}

/// The answer to a batch: how many were asked and found, and each value's answer in the
/// order asked.
#[derive(Debug, serde::Serialize)]
pub struct Batch {
    pub asked: usize,
    pub found: usize,
    /// How many were no indicator at all (among those not found), for the metrics.
    #[serde(skip)]
    pub invalid: usize,
    pub results: Vec<BatchEntry>,
}

/// One value of a batch: `{"found": true, "indicator", "value"}` or `{"found": false,
/// "reason", "value"}`.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum BatchEntry {
    Known {
        found: bool,
        indicator: Box<Answer>,
        value: String,
    },
    Unknown {
        found: bool,
        reason: String,
        value: String,
    },
}

/// Each of `values` looked up: `{"value", "found": true, "indicator": …}`, or
/// `{"value", "found": false, "reason": …}` for one unknown or not an indicator, in the
/// order asked. A failure of the hot tier fails the whole batch.
pub fn look_up_all(
    hot: &Hot,
    values: &[String],
    kind: Option<&str>,
    models: &[DecayModel],
    model: &str,
    at: DateTime<Utc>,
) -> Result<Batch, LookupError> {
    let mut results = Vec::with_capacity(values.len());
    let mut found = 0;
    let mut invalid = 0;
    for value in values {
        results.push(match look_up(hot, value, kind, models, model, at) {
            Ok(indicator) => {
                found += 1;
                BatchEntry::Known {
                    found: true,
                    indicator: Box::new(indicator),
                    value: value.clone(),
                }
            }
            Err(e @ (LookupError::Unknown { .. } | LookupError::NotAnIndicator(_))) => {
                invalid += usize::from(matches!(e, LookupError::NotAnIndicator(_)));
                BatchEntry::Unknown {
                    found: false,
                    reason: e.to_string(),
                    value: value.clone(),
                }
            }
            Err(e) => return Err(e),
        });
    }
    Ok(Batch {
        asked: values.len(),
        found,
        invalid,
        results,
    })
}

/// The sources a summary names, with what sled knows of each (reliability, credibility).
fn sources(hot: &Hot, summary: &IndicatorSummary) -> Result<Vec<score::Source>, HotError> {
    summary
        .sources
        .iter()
        .map(|name| {
            let (reliability, credibility) = match hot.get(&format!("source:{name}"))? {
                Some(Item::Source(src)) => (src.reliability, src.credibility),
                _ => (None, None),
            };
            Ok(score::Source {
                name: Some(name.clone()),
                reliability,
                credibility,
                ..Default::default()
            })
        })
        .collect()
}

/// What it is tied to: its relationships, and through a STIX indicator whose pattern
/// names it (`based-on`), what that indicator is tied to (`indicates` a malware).
fn related(hot: &Hot, summary: &IndicatorSummary) -> Result<Vec<RelatedAnswer>, HotError> {
    let mut out = Vec::new();
    for r in &summary.related {
        out.push(related_json(hot, r, None)?);
        if r.relationship_type == "based-on" && !r.outgoing {
            if let Some(stix) = hot.indicator(&r.id)? {
                for further in stix
                    .related
                    .iter()
                    .filter(|x| x.relationship_type != "based-on")
                {
                    out.push(related_json(hot, further, Some(&r.id))?);
                }
            }
        }
    }
    Ok(out)
}

/// A related object as a lookup shows it: its id, the relationship, what it is and its
/// name when the hot tier holds it, and the STIX indicator it was reached through.
fn related_json(hot: &Hot, r: &Related, via: Option<&str>) -> Result<RelatedAnswer, HotError> {
    let (object_type, name) = match hot.get(&r.id)? {
        Some(Item::Entity(e)) => (Some(e.entity_type), e.name),
        Some(Item::Report(rep)) => (Some("report".to_owned()), rep.title),
        Some(Item::Indicator(i)) => (Some(i.kind), Some(i.value)),
        _ => (None, None),
    };
    Ok(RelatedAnswer {
        id: r.id.clone(),
        name,
        object_type,
        outgoing: r.outgoing,
        relationship_type: r.relationship_type.clone(),
        via: via.map(str::to_owned),
    })
}
