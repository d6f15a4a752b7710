//! The threat record: the flat record a client sends the router.
//!
//! Ids are deterministic so that a record delivered twice, or replayed from an
//! outbox after a crash, lands on the same row, document and node in every tier.

use super::ids::{normal_indicator_id, normalise};
use crate::geo;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// H3 resolution at which records are indexed when they carry a location
/// (resolution 7: cells of about 5 km², the scale of a city district).
pub const RECORD_H3_RESOLUTION: i32 = 7;

/// Longest accepted id, kind or source, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// Longest accepted value or description, in bytes.
pub const MAX_TEXT_LEN: usize = 1 << 20;

/// Longest accepted tag, in bytes.
pub const MAX_TAG_LEN: usize = 1024;

/// Most tags on one record.
pub const MAX_TAGS: usize = 1024;

/// The years an observation time may fall in: RFC 3339's four-digit years, which every
/// tier stores (PostgreSQL's `timestamptz` ends in 294276, chrono's and Neo4j's further,
/// but a year outside these is a typo, not an observation).
pub const OBSERVED_YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// A record as a client sends it: only `kind` and `value` are required.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// The record's own id (a STIX id, say); derived from kind and value when absent.
    pub id: Option<String>,
    /// What the value is: `ipv4`, `domain`, `sha256`, `url`, `report`, ...
    pub kind: String,
    /// The indicator or the report text.
    pub value: String,
    /// Who reported it.
    pub source: Option<String>,
    /// When it was observed; the ingest time when absent.
    pub observed_at: Option<DateTime<Utc>>,
    /// Latitude in degrees, with `lng`.
    pub lat: Option<f64>,
    /// Longitude in degrees, with `lat`.
    pub lng: Option<f64>,
    /// Free tags (MISP-style `namespace:predicate="value"` or plain words).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free text about the record.
    pub description: Option<String>,
}

/// A validated record with its deterministic id and derived fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatRecord {
    /// Deterministic id: the given one, or `indicator--<uuid5(kind:value)>`.
    pub id: String,
    /// Lower-case kind.
    pub kind: String,
    /// Normalised value.
    pub value: String,
    /// Who reported it.
    pub source: Option<String>,
    /// When it was observed.
    pub observed_at: DateTime<Utc>,
    /// Latitude in degrees.
    pub lat: Option<f64>,
    /// Longitude in degrees.
    pub lng: Option<f64>,
    /// The H3 cell at [`RECORD_H3_RESOLUTION`] when the record has a location.
    pub h3_cell: Option<u64>,
    /// Tags, as given.
    pub tags: Vec<String>,
    /// Free text.
    pub description: Option<String>,
}

/// Why a record was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RecordError {
    /// A required field is empty.
    #[error("field `{0}` must not be empty")]
    Empty(&'static str),
    /// A field is longer than allowed.
    #[error("field `{field}` is {len} bytes long; the limit is {max}")]
    TooLong {
        /// The field at fault.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Only one of lat and lng was given.
    #[error("fields `lat` and `lng` must be given together")]
    HalfLocation,
    /// The location is outside the globe.
    #[error("field {0}")]
    Location(#[from] geo::GeoError),
    /// A NUL character, which PostgreSQL cannot store in text.
    #[error("field `{0}` contains a NUL character (U+0000), which the cold tier (PostgreSQL) cannot store")]
    Nul(&'static str),
    /// Too many tags.
    #[error("field `tags` has {0} tags; the limit is {MAX_TAGS}")]
    TooManyTags(usize),
    /// An observation time outside [`OBSERVED_YEARS`].
    #[error("field `observed_at` is {0}; it must fall in the years 0001 to 9999")]
    ObservedAt(DateTime<Utc>),
}

/// Digits of a second a record's time keeps.
const MICROSECOND_DIGITS: u16 = 6;

impl RecordInput {
    /// Validate and normalise the record; `now` stands in for a missing observation time.
    pub fn into_record(self, now: DateTime<Utc>) -> Result<ThreatRecord, RecordError> {
        let kind = self.kind.trim().to_ascii_lowercase();
        check_text("kind", &kind, MAX_NAME_LEN)?;
        let value = normalise(&kind, &self.value);
        check_text("value", &value, MAX_TEXT_LEN)?;
        let id = match self.id {
            Some(id) => {
                let id = id.trim().to_owned();
                check_text("id", &id, MAX_NAME_LEN)?;
                id
            }
            None => normal_indicator_id(&kind, &value),
        };
        if let Some(source) = &self.source {
            check_text("source", source, MAX_NAME_LEN)?;
        }
        if let Some(description) = &self.description {
            check_len("description", description, MAX_TEXT_LEN)?;
        }
        if self.tags.len() > MAX_TAGS {
            return Err(RecordError::TooManyTags(self.tags.len()));
        }
        for tag in &self.tags {
            check_len("tags", tag, MAX_TAG_LEN)?;
        }
        if let Some(at) = self.observed_at {
            if !OBSERVED_YEARS.contains(&chrono::Datelike::year(&at)) {
                return Err(RecordError::ObservedAt(at));
            }
        }
        let h3_cell = match (self.lat, self.lng) {
            (Some(lat), Some(lng)) => Some(geo::cell(lat, lng, RECORD_H3_RESOLUTION)?),
            (None, None) => None,
            _ => return Err(RecordError::HalfLocation),
        };
        Ok(ThreatRecord {
            id,
            kind,
            value,
            source: self.source,
            // To the microsecond, what PostgreSQL keeps: it rounds finer times to the
            // nearest, which can cross a millisecond the other tiers would not (a time
            // of x.2659996 s kept as x.266000), and `verify` then told them apart.
            observed_at: self
                .observed_at
                .unwrap_or(now)
                .trunc_subsecs(MICROSECOND_DIGITS),
            lat: self.lat,
            lng: self.lng,
            h3_cell,
            tags: self.tags,
            description: self.description,
        })
    }
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), RecordError> {
    if text.trim().is_empty() {
        return Err(RecordError::Empty(field));
    }
    check_len(field, text, max)
}

fn check_len(field: &'static str, text: &str, max: usize) -> Result<(), RecordError> {
    if text.contains('\0') {
        return Err(RecordError::Nul(field));
    }
    if text.len() > max {
        return Err(RecordError::TooLong {
            field,
            len: text.len(),
            max,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> RecordInput {
        serde_json::from_str(json).unwrap()
    }

    fn now() -> DateTime<Utc> {
        "2026-11-27T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_same_indicator_gets_the_same_id_however_it_is_written() {
        let a = input(r#"{"kind":"domain","value":"Evil.Example.COM"}"#).into_record(now());
        let b = input(r#"{"kind":" DOMAIN ","value":" evil.example.com"}"#).into_record(now());
        assert_eq!(a.unwrap().id, b.unwrap().id);
    }

    #[test]
    fn a_given_id_is_kept() {
        let r = input(r#"{"id":"indicator--0a1b","kind":"ipv4","value":"203.0.113.7"}"#)
            .into_record(now())
            .unwrap();
        assert_eq!(r.id, "indicator--0a1b");
        assert_eq!(r.observed_at, now());
    }

    #[test]
    fn times_are_kept_to_the_microsecond_as_postgresql_keeps_them() {
        // PostgreSQL's timestamptz has a resolution of 1 microsecond (its manual, 8.5):
        // a finer time would be rounded there and truncated elsewhere.
        let given = input(
            r#"{"kind":"ipv4","value":"203.0.113.7","observed_at":"2026-11-27T12:00:00.2659996Z"}"#,
        )
        .into_record(now())
        .unwrap();
        let at: DateTime<Utc> = "2026-11-27T12:00:00.265999Z".parse().unwrap();
        assert_eq!(given.observed_at, at);
        let defaulted = input(r#"{"kind":"ipv4","value":"203.0.113.7"}"#)
            .into_record("2026-11-27T12:00:00.999999900Z".parse().unwrap())
            .unwrap();
        assert_eq!(defaulted.observed_at.timestamp_subsec_nanos(), 999_999_000);
    }

    #[test]
    fn a_located_record_gets_its_cell() {
        let r = input(r#"{"kind":"ipv4","value":"203.0.113.7","lat":51.5007,"lng":-0.1246}"#)
            .into_record(now())
            .unwrap();
        assert_eq!(r.h3_cell, Some(geo::cell(51.5007, -0.1246, 7).unwrap()));
    }

    #[test]
    fn bad_records_name_the_field() {
        let cases = [
            (
                r#"{"kind":"","value":"x"}"#,
                "field `kind` must not be empty",
            ),
            (
                r#"{"kind":"ipv4","value":"  "}"#,
                "field `value` must not be empty",
            ),
            (
                r#"{"kind":"ipv4","value":"x","lat":1.0}"#,
                "fields `lat` and `lng`",
            ),
            (
                r#"{"kind":"ipv4","value":"x","lat":91.0,"lng":0.0}"#,
                "field lat must",
            ),
            (
                r#"{"kind":"url","value":"http://a.example/\u0000"}"#,
                "field `value` contains a NUL character",
            ),
            (
                r#"{"kind":"url","value":"x","tags":["ok","a\u0000b"]}"#,
                "field `tags` contains a NUL character",
            ),
            (
                r#"{"kind":"url","value":"x","source":"\u0000"}"#,
                "field `source` contains a NUL character",
            ),
            (
                r#"{"kind":"ipv4","value":"x","observed_at":"+200000-01-01T00:00:00Z"}"#,
                "field `observed_at` is",
            ),
            (
                r#"{"kind":"ipv4","value":"x","observed_at":"-5000-01-01T00:00:00Z"}"#,
                "field `observed_at` is",
            ),
            (
                r#"{"kind":"ipv4","value":"x","observed_at":"0000-12-31T23:59:59Z"}"#,
                "field `observed_at` is",
            ),
        ];
        for (json, want) in cases {
            let err = input(json).into_record(now()).unwrap_err().to_string();
            assert!(err.starts_with(want), "{json}: got {err}");
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<RecordInput>(r#"{"kind":"a","value":"b","lattitude":1}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("lattitude"), "{err}");
    }
}
