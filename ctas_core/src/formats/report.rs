//! One report as `ctas_ingest_report` takes it: `{text, title, observed_at, published_at,
//! source: {name, reliability, credibility}, lat, lng, tags, stix_id, id}`.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{preview, At, FormatError, Parsed};
use crate::geo;
use crate::model::{report_id, Report, Source, RECORD_H3_RESOLUTION};

const FIELDS: &[&str] = &[
    "text",
    "title",
    "observed_at",
    "published_at",
    "source",
    "lat",
    "lng",
    "tags",
    "stix_id",
    "id",
];
const SOURCE_FIELDS: &[&str] = &["name", "reliability", "credibility", "confidence", "tags"];

/// Reads one report; `id` (when given) wins over the document's, and a report with
/// neither gets the id of its time and text ([`report_id`]).
pub fn parse(doc: Value, id: Option<&str>, now: DateTime<Utc>) -> Result<Parsed, FormatError> {
    let at = At { path: "" };
    let Value::Object(fields) = &doc else {
        return Err(at.err(
            "",
            format!(
                "expected an object {{\"text\": ...}}, got {}",
                preview(&doc)
            ),
        ));
    };
    if let Some(unknown) = fields.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(at.err(
            unknown,
            format!("unknown field; the fields are {}", FIELDS.join(", ")),
        ));
    }
    super::refuse_nul(&doc, "")?;
    let body = at
        .opt_str(&doc, "text")?
        .ok_or_else(|| at.err("text", "missing"))?;
    let observed_at = at.time(&doc, "observed_at")?.unwrap_or(now);
    let coordinate = |field: &str| match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(at.err(field, format!("expected degrees, got {}", preview(other)))),
    };
    let (lat, lng) = (coordinate("lat")?, coordinate("lng")?);
    let h3_cell = match (lat, lng) {
        (Some(lat), Some(lng)) => {
            Some(geo::cell(lat, lng, RECORD_H3_RESOLUTION).map_err(|e| at.err("", e.to_string()))?)
        }
        (None, None) => None,
        _ => return Err(at.err("lat", "lat and lng must be given together")),
    };
    let source = match doc.get("source") {
        None | Some(Value::Null) => None,
        Some(s @ Value::Object(o)) => {
            let at = At { path: "source" };
            if let Some(unknown) = o.keys().find(|k| !SOURCE_FIELDS.contains(&k.as_str())) {
                return Err(at.err(
                    unknown,
                    format!("unknown field; the fields are {}", SOURCE_FIELDS.join(", ")),
                ));
            }
            let rating = |field: &str,
                          allowed: std::ops::RangeInclusive<char>|
             -> Result<Option<String>, FormatError> {
                match at.opt_str(s, field)? {
                    None => Ok(None),
                    Some(r) if r.len() == 1 && r.chars().all(|c| allowed.contains(&c)) => {
                        Ok(Some(r.to_owned()))
                    }
                    Some(r) => Err(at.err(
                        field,
                        format!("{r:?} is not one of {}–{}", allowed.start(), allowed.end()),
                    )),
                }
            };
            Some(Source {
                name: at.str(s, "name")?.to_owned(),
                reliability: rating("reliability", 'A'..='F')?,
                credibility: rating("credibility", '1'..='6')?,
            })
        }
        Some(other) => {
            return Err(at.err(
                "source",
                format!("expected {{\"name\": ...}}, got {}", preview(other)),
            ))
        }
    };
    let id = match id {
        Some(id) => id.to_owned(),
        None => match at.opt_str(&doc, "id")? {
            Some(id) => id.to_owned(),
            None => report_id(observed_at, body),
        },
    };
    let mut parsed = Parsed::default();
    let intel = &mut parsed.intel;
    if let Some(s) = &source {
        intel.add_source(s.clone());
    }
    intel.add_report(Report {
        id,
        title: at.opt_str(&doc, "title")?.map(str::to_owned),
        body: body.to_owned(),
        stix_id: at.opt_str(&doc, "stix_id")?.map(str::to_owned),
        misp_uuid: None,
        source: source.map(|s| s.name),
        published_at: at.time(&doc, "published_at")?,
        observed_at,
        lat,
        lng,
        h3_cell,
        tags: at.strings(&doc, "tags")?,
    });
    parsed.objects.insert("reports".into(), 1);
    intel.extract_from_reports();
    Ok(parsed)
}
