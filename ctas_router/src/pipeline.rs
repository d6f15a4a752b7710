//! Bytes in, items for the hot commit out: what `POST /v1/ingest`, `POST /v1/records`
//! and `ctas-router ingest` share. A body is gunzipped when it is gzip, read as the
//! format it is (a STIX bundle, a MISP export, flat records as JSON or NDJSON) by
//! `ctas_core::formats` — the code `ctas_ingest_stix` and `ctas_ingest_misp` run — and
//! validated whole: one bad field refuses it, named, before anything is stored.

use std::io::Read;

use axum::body::Bytes;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use ctas_core::analyze::{self as analysis, Settings};
use ctas_core::formats::{self, Format, FormatError, Parsed};
use ctas_core::model::{Intel, Item, RecordInput, ThreatRecord};
use ctas_core::score;
use serde_json::{json, Value};

use crate::api::Problem;
use crate::hot::Prepared;
use crate::knowledge::Knowledge;
use crate::routing::{Class, Routing};
use crate::tiers::TierName;

/// Most records in one request.
pub const MAX_RECORDS_PER_REQUEST: usize = 100_000;

/// Largest body once gunzipped: a compressed body may not unpack into more than this.
pub const MAX_UNPACKED_BYTES: usize = 512 << 20;

/// Most ids an answer lists (ATT&CK alone is 24,771 objects).
const MAX_IDS_ANSWERED: usize = 10_000;

/// How a body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    Json,
    Ndjson,
}

/// What reading a body may need besides it.
pub struct Context {
    /// The time of records and documents that give none.
    pub now: DateTime<Utc>,
    /// The time reports are scored at (`?at=`; now by default).
    pub at: DateTime<Utc>,
    /// The cold tier's warninglists and pattern sets, for analysing reports.
    pub knowledge: Arc<Knowledge>,
    /// Which downstream tiers each object goes to.
    pub routing: Arc<Routing>,
    /// What the request declares of itself, for the routing rules.
    pub class: Class,
}

impl Context {
    /// `items` encoded for the hot tier, each routed to its tiers; and how many went to
    /// each downstream tier, for the answer.
    fn prepare(&self, items: Vec<Item>) -> Result<(Prepared, Value), Problem> {
        let routing = &self.routing;
        let prepared = Prepared::routed(items, routing.default, |item| {
            routing.route(item, &self.class, self.now)
        })
        .map_err(Problem::internal)?;
        let routed: serde_json::Map<String, Value> = TierName::DOWNSTREAM
            .into_iter()
            .zip(prepared.routed_to())
            .map(|(tier, n)| (tier.as_str().to_owned(), n.into()))
            .collect();
        Ok((prepared, Value::Object(routed)))
    }
}

/// A way of reading a request body: [`records`] or [`document`]. It takes the body, to
/// let it go once parsed: a 34 MB bundle is not held as text while it is encoded.
pub type Reader = fn(BodyFormat, Bytes, &Context) -> Result<Accepted, Problem>;

/// Most report analyses an answer lists.
const MAX_ANALYSES_ANSWERED: usize = 1_000;

/// What a request brought, ready for the hot tier.
pub struct Accepted {
    /// The items, encoded.
    pub prepared: Prepared,
    /// What to answer: what was accepted, per part, and the ids.
    pub answer: Value,
}

/// `POST /v1/records`: flat records only (one, an array, or NDJSON).
pub fn records(format: BodyFormat, body: Bytes, cx: &Context) -> Result<Accepted, Problem> {
    let values = record_values(format, &body)?;
    drop(body);
    accept_records(values, cx)
}

/// `POST /v1/ingest`: whatever the body is — gzip or not, a STIX bundle, a MISP export,
/// flat records.
pub fn document(format: BodyFormat, body: Bytes, cx: &Context) -> Result<Accepted, Problem> {
    let body = gunzip(body)?;
    match read_document(format, &body, cx.now)? {
        Body::Records(values) => {
            drop(body);
            accept_records(values, cx)
        }
        Body::Document(kind, parsed) => {
            drop(body);
            accept_document(kind, *parsed, cx)
        }
    }
}

/// What a body held.
enum Body {
    Records(Vec<Value>),
    Document(Format, Box<Parsed>),
}

fn read_document(format: BodyFormat, body: &[u8], now: DateTime<Utc>) -> Result<Body, Problem> {
    if format == BodyFormat::Ndjson {
        return Ok(Body::Records(record_values(format, body)?));
    }
    // A STIX bundle (the large documents: ATT&CK is 34 MB) is read object by object
    // from its text, never held as a whole parsed tree.
    if is_bundle(body) {
        let parsed =
            formats::stix::parse_slice(body, now).map_err(|e| invalid_document(Format::Stix, e))?;
        return Ok(Body::Document(Format::Stix, Box::new(parsed)));
    }
    let doc: Value = serde_json::from_slice(body).map_err(|e| bad_json(e.to_string()))?;
    let records = match &doc {
        Value::Object(_) if is_record(&doc) => true,
        Value::Array(items) => items.first().is_some_and(is_record),
        _ => false,
    };
    if records {
        return Ok(Body::Records(match doc {
            Value::Array(items) => items,
            one => vec![one],
        }));
    }
    let Some(kind) = Format::of(&doc) else {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-format",
            "Not a format CTAS reads",
            "expected a STIX 2.x bundle ({\"type\": \"bundle\", \"objects\": [...]}), a MISP \
             export ({\"Event\": ...}, {\"response\": [...]}) or records ({\"kind\", \"value\"})"
                .into(),
        ));
    };
    let parsed = formats::parse(kind, doc, now).map_err(|e| invalid_document(kind, e))?;
    Ok(Body::Document(kind, Box::new(parsed)))
}

/// Whether a JSON value is a flat record (`{"kind", "value", ...}`) rather than a
/// document: how `/v1/ingest` and `ctas-router ingest` tell records from MISP events.
pub fn is_record(v: &Value) -> bool {
    v.get("kind").is_some() && v.get("value").is_some()
}

/// Whether the body is a JSON object whose `type` is `bundle`: one pass over the text
/// that keeps nothing but that member.
fn is_bundle(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe<'a> {
        #[serde(rename = "type", borrow, default)]
        kind: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Probe>(body).is_ok_and(|p| p.kind.as_deref() == Some("bundle"))
}

fn accept_document(kind: Format, parsed: Parsed, cx: &Context) -> Result<Accepted, Problem> {
    let Parsed {
        intel,
        objects,
        skipped,
    } = parsed;
    let counts = intel.counts();
    let analysis = analyse_reports(&intel, cx)?;
    let items = intel.into_items();
    let ids = answered_ids(
        items
            .iter()
            .filter(|i| matches!(i, Item::Report(_) | Item::Indicator(_) | Item::Entity(_)))
            .map(Item::key),
    );
    let (prepared, routed) = cx.prepare(items)?;
    Ok(Accepted {
        prepared,
        answer: json!({
            "format": kind,
            "accepted": counts,
            "routed": routed,
            "objects": objects,
            "skipped": skipped,
            "ids": ids.0,
            "ids_truncated": ids.1,
            "analysis": analysis,
        }),
    })
}

/// Each report analysed as `ctas_analyze` would (the cold tier's warninglists, the
/// model `ctas:admiralty`, at ingest): its score, severity, confidence, how many
/// indicators it names and how many of those a warninglist holds.
fn analyse_reports(intel: &Intel, cx: &Context) -> Result<Vec<Value>, Problem> {
    static MODELS: std::sync::LazyLock<Vec<score::DecayModel>> =
        std::sync::LazyLock::new(score::builtin_models);
    let model =
        score::pick_model(&MODELS, "ctas:admiralty", Some("report")).map_err(Problem::internal)?;
    let settings = Settings {
        resolution: ctas_core::model::RECORD_H3_RESOLUTION,
        model,
        at: cx.at,
    };
    let mut out = Vec::new();
    for r in intel.reports.iter().take(MAX_ANALYSES_ANSWERED) {
        let source = r.source.as_ref().map(|name| {
            let rated = intel.sources.iter().find(|s| &s.name == name);
            score::Source {
                name: Some(name.clone()),
                confidence: None,
                reliability: rated.and_then(|s| s.reliability.clone()),
                credibility: rated.and_then(|s| s.credibility.clone()),
                tags: Vec::new(),
            }
        });
        let report = analysis::Report {
            text: r.body.clone(),
            lat: r.lat,
            lng: r.lng,
            observed_at: Some(r.observed_at),
            source,
            tags: r.tags.clone(),
        };
        let a = analysis::analyze(&report, &cx.knowledge.lists, None, &settings)
            .map_err(|e| invalid_document_analysis(&r.id, e.to_string()))?;
        out.push(json!({
            "report": r.id,
            "score": a.score.score,
            "severity": a.severity,
            "confidence": a.confidence,
            "iocs": a.iocs.len(),
            "warninglisted": a.iocs.iter().filter(|i| !i.warninglists.is_empty()).count(),
        }));
    }
    Ok(out)
}

fn invalid_document_analysis(id: &str, e: String) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-document",
        "Invalid document",
        format!("report {id} cannot be analysed, nothing was stored: {e}"),
    )
}

/// At most [`MAX_IDS_ANSWERED`] ids, and whether there were more.
fn answered_ids(ids: impl Iterator<Item = String>) -> (Vec<String>, bool) {
    let mut out: Vec<String> = ids.take(MAX_IDS_ANSWERED + 1).collect();
    let more = out.len() > MAX_IDS_ANSWERED;
    out.truncate(MAX_IDS_ANSWERED);
    (out, more)
}

fn invalid_document(kind: Format, e: FormatError) -> Problem {
    let name = match kind {
        Format::Stix => "STIX bundle",
        Format::Misp => "MISP export",
    };
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-document",
        "Invalid document",
        format!("the {name} was refused whole, nothing was stored: {e}"),
    )
    .with("errors", json!([{"path": e.path, "message": e.message}]))
}

/// Whether bytes are gzip, by their magic bytes (whatever headers or names say).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The body, gunzipped if it is gzip.
fn gunzip(body: Bytes) -> Result<Bytes, Problem> {
    if !is_gzip(&body) {
        return Ok(body);
    }
    // Sized by the gzip trailer (the unpacked size, modulo 4 GiB, of the last member), so
    // a large body is not grown by doubling into a buffer twice its size; never beyond
    // what deflate can unpack to (1,032:1), whatever a forged trailer says.
    let hint = body
        .last_chunk::<4>()
        .map_or(0, |n| u32::from_le_bytes(*n) as usize)
        .min(body.len().saturating_mul(1032));
    let mut out = Vec::with_capacity(hint.min(MAX_UNPACKED_BYTES) + 1);
    flate2::read::MultiGzDecoder::new(&body[..])
        .take(MAX_UNPACKED_BYTES as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-gzip",
                "Body is not valid gzip",
                e.to_string(),
            )
        })?;
    if out.len() > MAX_UNPACKED_BYTES {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request body too large",
            format!("the gzip body unpacks to over {MAX_UNPACKED_BYTES} bytes"),
        ));
    }
    Ok(out.into())
}

fn bad_json(detail: String) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid-json",
        "Body is not valid JSON",
        detail,
    )
}

/// A body of flat records as JSON values: a JSON object, a JSON array of objects, or
/// NDJSON (one object a line).
fn record_values(format: BodyFormat, body: &[u8]) -> Result<Vec<Value>, Problem> {
    if format == BodyFormat::Ndjson {
        let text = std::str::from_utf8(body).map_err(|e| bad_json(e.to_string()))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| bad_json(format!("line {}: {e}", i + 1)))
            })
            .collect()
    } else {
        match serde_json::from_slice(body).map_err(|e| bad_json(e.to_string()))? {
            Value::Array(items) => Ok(items),
            one @ Value::Object(_) => Ok(vec![one]),
            _ => Err(bad_json(
                "expected a record object or an array of record objects".into(),
            )),
        }
    }
}

/// Flat records validated against what every tier can store and encoded for the hot
/// tier, with their ids; or the problem naming each bad record.
fn accept_records(values: Vec<Value>, cx: &Context) -> Result<Accepted, Problem> {
    let now = cx.now;
    if values.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-records",
            "No records",
            "the request holds no record".into(),
        ));
    }
    if values.len() > MAX_RECORDS_PER_REQUEST {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-many-records",
            "Too many records",
            format!(
                "{} records in one request; the limit is {MAX_RECORDS_PER_REQUEST}",
                values.len()
            ),
        ));
    }
    let mut errors = Vec::new();
    let mut records: Vec<ThreatRecord> = Vec::with_capacity(values.len());
    for (index, v) in values.into_iter().enumerate() {
        let record = serde_json::from_value::<RecordInput>(v)
            .map_err(|e| e.to_string())
            .and_then(|input| input.into_record(now).map_err(|e| e.to_string()));
        match record {
            Ok(r) => records.push(r),
            Err(message) => errors.push(json!({"index": index, "message": message})),
        }
    }
    if !errors.is_empty() {
        return Err(invalid_records(errors));
    }
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let items: Vec<Item> = records.into_iter().map(Item::Record).collect();
    let (prepared, routed) = cx.prepare(items)?;
    Ok(Accepted {
        prepared,
        answer: json!({"accepted": ids.len(), "routed": routed, "ids": ids}),
    })
}

fn invalid_records(errors: Vec<Value>) -> Problem {
    let detail = format!(
        "{} record(s) are invalid; nothing was stored: {}",
        errors.len(),
        errors[0]["message"].as_str().unwrap_or_default()
    );
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid-record",
        "Invalid record",
        detail,
    )
    .with("errors", Value::Array(errors))
}
