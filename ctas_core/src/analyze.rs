//! One threat report in, everything CTAS can say about it out: the indicators it names
//! (with the warninglists that hold them), the patterns of a set it matches, the H3
//! cell it happened in, its score decayed to now with the explanation, a severity and a
//! confidence.
//!
//! The `ctas` extension (`ctas_analyze`) and the router (`POST /v1/analyze`) both call
//! [`analyze`], so the same report gives the same answer wherever it is analysed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::chars::CharPositions;
use crate::geo;
use crate::ioc;
use crate::ioc::warninglist::Warninglists;
use crate::patterns::PatternSet;
use crate::score::{self, Combined, DecayModel, Evidence, ScoreError, Source};

/// The longest report text analysed, in bytes (PostgreSQL's text can hold 1 GB; an
/// analysis returns every indicator, so it is bounded like a record's text).
pub const MAX_REPORT_LEN: usize = 16 << 20;

/// A threat report, as `ctas_analyze` takes it (jsonb) and the router's API does.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The report's text.
    pub text: String,
    /// Where it happened (WGS 84 degrees), both or neither.
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// When it was observed; the time of analysis when absent.
    pub observed_at: Option<DateTime<Utc>>,
    /// Who reported it: name, STIX confidence, Admiralty reliability (A–F) and
    /// credibility (1–6), tags.
    pub source: Option<Source>,
    /// MISP-style tags of the report itself (`tlp:amber`, `admiralty-scale:…`).
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Report {
    /// A report from JSON, with an error that names the field at fault (serde's own
    /// message for a bad time, "premature end of input", names none).
    pub fn from_value(v: serde_json::Value) -> Result<Report, String> {
        if let Some(t) = v.get("observed_at").and_then(|t| t.as_str()) {
            if DateTime::parse_from_rfc3339(t).is_err() {
                return Err(format!("field `observed_at`: {t:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z"));
            }
        }
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
}

/// How to analyse: the H3 resolution of the cell, the decay model, the time.
#[derive(Debug, Clone)]
pub struct Settings<'a> {
    pub resolution: i32,
    pub model: &'a DecayModel,
    pub at: DateTime<Utc>,
}

/// A pattern set with the metadata of each pattern, in the set's order.
pub struct Hunt<'a> {
    pub name: &'a str,
    pub set: &'a PatternSet,
    /// Per pattern: severity, tags, ATT&CK id.
    pub meta: &'a [(String, Vec<String>, Option<String>)],
    /// Most matches the report may have ([`crate::patterns::DEFAULT_MAX_MATCHES`] unless the
    /// caller allows more).
    pub max_matches: usize,
}

/// One indicator of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundIoc {
    pub kind: String,
    pub value: String,
    pub raw: String,
    /// Where `raw` stands in the text, as `ctas_extract_iocs` and `ctas_match` say it:
    /// 1-based characters, end exclusive (`substr(text, start_pos, end_pos - start_pos)`
    /// is `raw`).
    pub start_pos: i32,
    pub end_pos: i32,
    pub warninglists: Vec<String>,
}

/// One match of a pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternMatch {
    pub set: String,
    pub pattern_id: String,
    /// 1-based characters, end exclusive, as [`FoundIoc::start_pos`].
    pub start_pos: i32,
    pub end_pos: i32,
    pub matched: String,
    pub severity: String,
    pub tags: Vec<String>,
    pub attack_id: Option<String>,
}

/// Everything CTAS says about a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    pub iocs: Vec<FoundIoc>,
    pub matches: Vec<PatternMatch>,
    /// The H3 cell (hexadecimal, as h3-js and h3-pg print it) at the chosen resolution.
    pub h3_cell: Option<String>,
    pub h3_resolution: Option<i32>,
    /// The decayed score with its explanation (as `ctas_score` gives it).
    pub score: Combined,
    /// info, low, medium, high or critical: the highest of the matched patterns'
    /// severities and the band of the score (see [`severity_of`]).
    pub severity: String,
    /// STIX confidence 0–100 of the report: the source's, or from its Admiralty
    /// credibility, else none.
    pub confidence: Option<i64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AnalyzeError {
    #[error("field `text` is {len} bytes long; the limit is {MAX_REPORT_LEN}")]
    TooLong { len: usize },
    #[error("fields `lat` and `lng` must be given together")]
    HalfLocation,
    #[error("field {0}")]
    Location(#[from] geo::GeoError),
    /// The resolution asked for, an argument rather than a field of the report.
    #[error("resolution must be an integer in [0, 15], got {0}")]
    Resolution(i32),
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error("field `text`: {0}")]
    Patterns(#[from] crate::patterns::PatternError),
}

/// The severities a pattern or a report can have, lowest first.
pub const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// The severity band of a score: ≥ 80 critical, ≥ 60 high, ≥ 40 medium, ≥ 20 low, else
/// info; a matched pattern raises it to its own severity.
pub fn severity_of(score: f64, matched: impl IntoIterator<Item = impl AsRef<str>>) -> &'static str {
    let band = match score {
        s if s >= 80.0 => 4,
        s if s >= 60.0 => 3,
        s if s >= 40.0 => 2,
        s if s >= 20.0 => 1,
        _ => 0,
    };
    let highest = matched
        .into_iter()
        .filter_map(|m| SEVERITIES.iter().position(|s| *s == m.as_ref()))
        .max()
        .unwrap_or(0);
    SEVERITIES[band.max(highest)]
}

/// Analyse `report` with `lists` and, when given, the pattern set `hunt`.
pub fn analyze(
    report: &Report,
    lists: &Warninglists,
    hunt: Option<&Hunt<'_>>,
    settings: &Settings<'_>,
) -> Result<Analysis, AnalyzeError> {
    if report.text.len() > MAX_REPORT_LEN {
        return Err(AnalyzeError::TooLong {
            len: report.text.len(),
        });
    }
    if !(0..=15).contains(&settings.resolution) {
        return Err(AnalyzeError::Resolution(settings.resolution));
    }
    let h3_cell = match (report.lat, report.lng) {
        (Some(lat), Some(lng)) => Some(geo::cell(lat, lng, settings.resolution)?),
        (None, None) => None,
        _ => return Err(AnalyzeError::HalfLocation),
    };
    let text = &report.text;
    let found = ioc::extract(text);
    let matched = match hunt {
        Some(h) => h.set.matches(text, h.max_matches)?,
        None => Vec::new(),
    };
    let pos = CharPositions::new(
        text,
        found
            .iter()
            .flat_map(|i| [i.start, i.end])
            .chain(matched.iter().flat_map(|m| [m.start, m.end])),
    );
    let iocs: Vec<FoundIoc> = found
        .into_iter()
        .map(|i| FoundIoc {
            kind: i.kind.as_str().to_owned(),
            warninglists: lists
                .hits(i.kind, &i.value)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            raw: text[i.start..i.end].to_owned(),
            value: i.value,
            start_pos: pos.of(i.start),
            end_pos: pos.of(i.end),
        })
        .collect();
    let matches: Vec<PatternMatch> = match hunt {
        Some(h) => matched
            .into_iter()
            .map(|m| {
                let (severity, tags, attack_id) = &h.meta[m.pattern];
                PatternMatch {
                    set: h.name.to_owned(),
                    pattern_id: h.set.id(m.pattern).to_owned(),
                    start_pos: pos.of(m.start),
                    end_pos: pos.of(m.end),
                    matched: text[m.start..m.end].to_owned(),
                    severity: severity.clone(),
                    tags: tags.clone(),
                    attack_id: attack_id.clone(),
                }
            })
            .collect(),
        None => Vec::new(),
    };
    let observed = report.observed_at.unwrap_or(settings.at);
    let mut source = report.source.clone().unwrap_or_default();
    source
        .tags
        .extend(report.tags.iter().cloned().map(score::evidence::Tag::Name));
    let evidence = Evidence {
        kind: Some("report".to_owned()),
        first_seen: Some(observed),
        last_seen: Some(observed),
        sources: vec![source.clone()],
        sightings: Vec::new(),
    };
    let combined = score::combine(&evidence, settings.model, settings.at)?;
    let confidence = match (source.confidence, source.credibility.as_deref()) {
        (Some(c), _) => Some(c.clamp(0, 100)),
        // Credibility 6, "truth cannot be judged", has no confidence.
        (None, Some(cred)) => score::confidence_from("admiralty-credibility", cred).ok(),
        (None, None) => None,
    };
    let severity =
        severity_of(combined.score, matches.iter().map(|m| m.severity.as_str())).to_owned();
    Ok(Analysis {
        iocs,
        matches,
        h3_cell: h3_cell.map(|c| format!("{c:x}")),
        h3_resolution: h3_cell.map(|_| settings.resolution),
        score: combined,
        severity,
        confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ioc::warninglist::Warninglist;
    use chrono::TimeZone;

    fn settings(model: &DecayModel) -> Settings<'_> {
        Settings {
            resolution: 7,
            model,
            at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn a_report_is_analysed_whole() {
        let model = score::builtin_model("ctas:admiralty").expect("shipped");
        let lists = Warninglists::new(&[Warninglist::from_misp(&serde_json::json!({
            "name": "RFC 1918", "type": "cidr", "list": ["10.0.0.0/8"]
        }))
        .unwrap()])
        .unwrap();
        let set = PatternSet::compile([("cs", r"(?i)cobalt\s*strike")]).unwrap();
        let meta = vec![(
            "high".to_owned(),
            vec!["c2".to_owned()],
            Some("S0154".to_owned()),
        )];
        let hunt = Hunt {
            name: "c2",
            set: &set,
            meta: &meta,
            max_matches: crate::patterns::DEFAULT_MAX_MATCHES,
        };
        let report: Report = serde_json::from_value(serde_json::json!({
            "text": "Cobalt Strike beacon to hxxps://evil[.]com/a from 10.1.2.3",
            "lat": 51.5007, "lng": -0.1246,
            "observed_at": "2026-10-25T00:00:00Z",
            "source": {"name": "CERT-X", "reliability": "B", "credibility": "2"},
            "tags": ["tlp:amber"]
        }))
        .unwrap();
        let a = analyze(&report, &lists, Some(&hunt), &settings(&model)).unwrap();
        let kinds: Vec<&str> = a.iocs.iter().map(|i| i.kind.as_str()).collect();
        assert_eq!(kinds, ["url", "domain", "ipv4"]);
        assert_eq!(a.iocs[2].warninglists, ["RFC 1918"]);
        assert_eq!(a.matches.len(), 1);
        assert_eq!(a.matches[0].matched, "Cobalt Strike");
        assert_eq!(a.h3_cell.as_deref(), Some("87194ad14ffffff"));
        assert!(a.score.score > 0.0 && a.score.score <= 100.0);
        assert_eq!(a.severity, "high");
        assert_eq!(
            a.confidence,
            Some(score::confidence_from("admiralty-credibility", "2").unwrap())
        );
    }

    #[test]
    fn bad_reports_are_named() {
        let model = score::builtin_model("ctas:admiralty").unwrap();
        let lists = Warninglists::default();
        let half = Report {
            text: "x".into(),
            lat: Some(1.0),
            ..Default::default()
        };
        assert_eq!(
            analyze(&half, &lists, None, &settings(&model)),
            Err(AnalyzeError::HalfLocation)
        );
        let far = Report {
            text: "x".into(),
            lat: Some(91.0),
            lng: Some(0.0),
            ..Default::default()
        };
        assert!(analyze(&far, &lists, None, &settings(&model))
            .unwrap_err()
            .to_string()
            .starts_with("field lat"));
    }

    #[test]
    fn severity_bands_and_patterns() {
        assert_eq!(severity_of(85.0, ["low"]), "critical");
        assert_eq!(severity_of(10.0, ["high", "low"]), "high");
        assert_eq!(severity_of(45.0, Vec::<String>::new()), "medium");
        assert_eq!(severity_of(0.0, ["unknown"]), "info");
    }
}
