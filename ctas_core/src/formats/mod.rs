//! The formats threat intelligence comes in, read into the one model ([`Intel`]):
//! STIX 2.0/2.1 bundles ([`stix`]), MISP event exports ([`misp`]).
//!
//! A document is read whole or refused whole: the first bad field is named by its JSON
//! path (`objects[812].created: not a timestamp`), and nothing of the document is
//! returned. Each object is moved out of the parsed JSON as it is read, so a large
//! bundle is not held twice.

pub mod misp;
pub mod pattern;
pub mod report;
pub mod stix;

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::model::Intel;

/// A document that cannot be read: where (a JSON path) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// `objects[812].created`; empty for the document itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for FormatError {}

/// The formats CTAS reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Stix,
    Misp,
}

impl Format {
    /// What a parsed document is, from its shape: a STIX bundle has `"type": "bundle"`;
    /// MISP exports are `{"Event": …}`, `{"response": […]}`, a list of events, or a bare
    /// event (with `info`).
    pub fn of(doc: &Value) -> Option<Format> {
        match doc {
            Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("bundle") => {
                Some(Format::Stix)
            }
            Value::Object(o)
                if o.contains_key("Event")
                    || o.contains_key("response")
                    || o.contains_key("info") =>
            {
                Some(Format::Misp)
            }
            Value::Array(_) => Some(Format::Misp),
            _ => None,
        }
    }
}

/// A document read: what it holds in the model, how many objects of each type it had,
/// and what it held that names no indicator (MISP attribute types), counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Parsed {
    pub intel: Intel,
    /// STIX objects by type, or MISP `events` and `attributes`.
    pub objects: BTreeMap<String, usize>,
    pub skipped: BTreeMap<String, usize>,
}

/// Reads `doc` as `format`; `now` stands in for times a document does not give.
pub fn parse(format: Format, doc: Value, now: DateTime<Utc>) -> Result<Parsed, FormatError> {
    match format {
        Format::Stix => stix::parse(doc, now),
        Format::Misp => misp::parse(doc, now),
    }
}

/// Reads `doc` as whichever format its shape says.
pub fn parse_any(doc: Value, now: DateTime<Utc>) -> Result<Parsed, FormatError> {
    match Format::of(&doc) {
        Some(format) => parse(format, doc, now),
        None => Err(FormatError {
            path: String::new(),
            message: format!(
                "expected a STIX bundle ({{\"type\": \"bundle\", …}}) or a MISP export \
                 ({{\"Event\": …}}, {{\"response\": […]}}), got {}",
                preview(&doc)
            ),
        }),
    }
}

/// The start of a value's JSON, for messages.
pub(crate) fn preview(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Helpers for reading fields with their path in errors.
pub(crate) struct At<'a> {
    pub path: &'a str,
}

impl At<'_> {
    pub fn err(&self, field: &str, message: impl Into<String>) -> FormatError {
        FormatError {
            path: if field.is_empty() {
                self.path.to_owned()
            } else if self.path.is_empty() {
                field.to_owned()
            } else {
                format!("{}.{field}", self.path)
            },
            message: message.into(),
        }
    }

    /// An optional string field; present but not a string is an error.
    pub fn opt_str<'v>(&self, o: &'v Value, field: &str) -> Result<Option<&'v str>, FormatError> {
        match o.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => {
                Err(self.err(field, format!("expected a string, got {}", preview(other))))
            }
        }
    }

    /// A required string field.
    pub fn str<'v>(&self, o: &'v Value, field: &str) -> Result<&'v str, FormatError> {
        match self.opt_str(o, field)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(self.err(field, "must not be empty")),
            None => Err(self.err(field, "missing")),
        }
    }

    /// An optional RFC 3339 timestamp, to the microsecond (what PostgreSQL keeps).
    pub fn time(&self, o: &Value, field: &str) -> Result<Option<DateTime<Utc>>, FormatError> {
        let Some(s) = self.opt_str(o, field)? else {
            return Ok(None);
        };
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => {
                let t = chrono::SubsecRound::trunc_subsecs(t.with_timezone(&Utc), 6);
                if crate::model::OBSERVED_YEARS.contains(&chrono::Datelike::year(&t)) {
                    Ok(Some(t))
                } else {
                    Err(self.err(field, format!("{s} is outside the years 0001 to 9999")))
                }
            }
            Err(_) => Err(self.err(
                field,
                format!("not a timestamp: {s} (expected RFC 3339, such as 2026-10-15T09:00:00Z)"),
            )),
        }
    }

    /// An optional list of strings.
    pub fn strings(&self, o: &Value, field: &str) -> Result<Vec<String>, FormatError> {
        match o.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.err(
                        &format!("{field}[{i}]"),
                        format!("expected a string, got {}", preview(other)),
                    )),
                })
                .collect(),
            Some(other) => Err(self.err(
                field,
                format!("expected a list of strings, got {}", preview(other)),
            )),
        }
    }
}

/// Refuses a NUL character anywhere in `v` (PostgreSQL's text cannot hold one), naming
/// where it is.
pub(crate) fn refuse_nul(v: &Value, path: &str) -> Result<(), FormatError> {
    match nul_at(v) {
        None => Ok(()),
        Some(steps) => Err(FormatError {
            path: steps
                .iter()
                .rev()
                .fold(path.to_owned(), |p, step| match step {
                    Step::Index(i) => format!("{p}[{i}]"),
                    Step::Key(k) if p.is_empty() => k.to_string(),
                    Step::Key(k) => format!("{p}.{k}"),
                }),
            message: "contains a NUL character (U+0000), which PostgreSQL cannot store".into(),
        }),
    }
}

enum Step<'a> {
    Index(usize),
    Key(&'a str),
}

/// Where the first NUL in `v` is, innermost step first; the path is only built for the
/// document that has one.
fn nul_at(v: &Value) -> Option<Vec<Step<'_>>> {
    match v {
        Value::String(s) => s.contains('\0').then(Vec::new),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let mut steps = nul_at(item)?;
            steps.push(Step::Index(i));
            Some(steps)
        }),
        Value::Object(members) => members.iter().find_map(|(k, item)| {
            let mut steps = if k.contains('\0') {
                Vec::new()
            } else {
                nul_at(item)?
            };
            steps.push(Step::Key(k));
            Some(steps)
        }),
        _ => None,
    }
}
