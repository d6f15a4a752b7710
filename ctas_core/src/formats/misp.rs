//! MISP event exports into the model, in every shape MISP writes them:
//! `{"Event": …}`, `{"response": [{"Event": …}, …]}`, a list of either, a bare event.
//!
//! - an event becomes a report `report--<event uuid>`: `info` its title; `info`, the
//!   prose of `text`/`comment` attributes, the event reports and the comments its text;
//!   `date` when it was observed; `Orgc` its source; its tags;
//! - every attribute, those of objects too, whose MISP type names an indicator kind
//!   ([`IocKind::misp_types`]; composite types such as `filename|sha256` split) becomes
//!   an indicator sighted in that report. MISP's typing is trusted where CTAS reads the
//!   value the same way or cannot read it; a value CTAS reads as another kind, and types
//!   that name no indicator (`port`), are counted in `skipped`;
//! - an attribute's sightings (MISP's `Sighting`, type 0) widen when it was seen;
//! - galaxy clusters become entities (a `mitre-attack-pattern` cluster carries the
//!   ATT&CK object's own uuid, so it is the same entity as ATT&CK's bundle gives), tied
//!   to the report (`object_refs`) or to the attribute's indicators (`related-to`);
//! - related events become `related-to` relationships between the reports.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::Value;
use uuid::Uuid;

use super::{preview, At, FormatError, Parsed};
use crate::ioc::{self, IocKind};
use crate::model::{Entity, Report, Sighting};

/// Reads an export; `now` is the observation time of events without a date.
pub fn parse(doc: Value, now: DateTime<Utc>) -> Result<Parsed, FormatError> {
    let mut parsed = Parsed::default();
    for (path, event) in events(doc)? {
        let at = At { path: &path };
        if !event.is_object() {
            return Err(at.err("", format!("expected an event, got {}", preview(&event))));
        }
        super::refuse_nul(&event, &path)?;
        read_event(&at, &event, now, &mut parsed)?;
        *parsed.objects.entry("events".into()).or_default() += 1;
    }
    parsed.intel.extract_from_reports();
    Ok(parsed)
}

/// The events of an export, each with its path.
fn events(doc: Value) -> Result<Vec<(String, Value)>, FormatError> {
    let unwrap = |prefix: String, v: Value| match v {
        Value::Object(mut o) if o.contains_key("Event") => (
            format!("{prefix}{}Event", if prefix.is_empty() { "" } else { "." }),
            o.remove("Event").unwrap_or_default(),
        ),
        other => (prefix, other),
    };
    let list = |prefix: &str, items: Vec<Value>| -> Vec<(String, Value)> {
        items
            .into_iter()
            .enumerate()
            .map(|(i, v)| unwrap(format!("{prefix}[{i}]"), v))
            .collect()
    };
    match doc {
        Value::Array(items) => Ok(list("", items)),
        Value::Object(mut o) => match o.remove("response") {
            Some(Value::Array(items)) => Ok(list("response", items)),
            Some(other) => Err(At { path: "" }.err(
                "response",
                format!("expected a list of events, got {}", preview(&other)),
            )),
            None if o.contains_key("Event") || o.contains_key("info") => {
                Ok(vec![unwrap(String::new(), Value::Object(o))])
            }
            None => Err(expected(&Value::Object(o))),
        },
        other => Err(expected(&other)),
    }
}

fn expected(doc: &Value) -> FormatError {
    FormatError {
        path: String::new(),
        message: format!(
            "expected an event export ({{\"Event\": {{...}}}}, {{\"response\": [...]}} or an event), got {}",
            preview(doc)
        ),
    }
}

fn read_event(
    at: &At<'_>,
    ev: &Value,
    now: DateTime<Utc>,
    parsed: &mut Parsed,
) -> Result<(), FormatError> {
    let info = at.str(ev, "info")?;
    let uuid_text = at.str(ev, "uuid")?;
    let uuid = Uuid::parse_str(uuid_text)
        .map_err(|_| at.err("uuid", format!("{uuid_text} is not a UUID")))?;
    let date = match at.opt_str(ev, "date")? {
        None => None,
        Some(d) => Some(
            d.get(..10)
                .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
                .ok_or_else(|| at.err("date", format!("{d} is not a date (expected YYYY-MM-DD)")))?
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc(),
        ),
    };
    let seen = match date {
        Some(d) => d,
        None => epoch(at, ev, "timestamp")?.unwrap_or(now),
    };
    let published_at = epoch(at, ev, "publish_timestamp")?;
    let source = ev
        .get("Orgc")
        .and_then(|o| o.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let report_id = format!("report--{uuid}");

    let mut prose = vec![info.to_owned()];
    let mut comments: Vec<String> = Vec::new();
    let attrs = attributes(at, ev, seen)?;
    for a in &attrs {
        if matches!(a.types.as_str(), "text" | "comment") {
            prose.push(a.value.clone());
        }
        if let Some(c) = &a.comment {
            comments.push(c.clone());
        }
    }
    if let Some(Value::Array(reports)) = ev.get("EventReport") {
        for r in reports.iter().filter(|r| !deleted(r)) {
            prose.extend(r.get("content").and_then(Value::as_str).map(str::to_owned));
        }
    }
    comments.sort();
    comments.dedup();
    prose.extend(comments);

    let intel = &mut parsed.intel;
    *parsed.objects.entry("attributes".into()).or_default() += attrs.len();
    for a in &attrs {
        let mut ids = Vec::new();
        for (t, v) in a.parts() {
            match choose(t, v) {
                Choice::Kind(kind) => {
                    let id = intel.add_indicator(kind.as_str(), v, a.at);
                    for &s in &a.sighted {
                        intel.add_indicator(kind.as_str(), v, s);
                    }
                    intel.add_sighting(Sighting {
                        report_id: report_id.clone(),
                        indicator_id: id.clone(),
                        source: source.clone(),
                        seen_at: a.at,
                        raw: Some(v.to_owned()),
                        start_pos: None,
                        end_pos: None,
                    });
                    ids.push(id);
                }
                Choice::Prose => {}
                Choice::Skip(why) => *parsed.skipped.entry(why).or_default() += 1,
            }
        }
        for e in &a.galaxies {
            for id in &ids {
                intel.relate(id, "related-to", &e.id, a.at);
            }
        }
    }
    for e in attrs.into_iter().flat_map(|a| a.galaxies) {
        intel.add_entity(e);
    }
    for e in clusters(at, ev)? {
        intel.relate(&report_id, "object_refs", &e.id, seen);
        intel.add_entity(e);
    }
    if let Some(Value::Array(related)) = ev.get("RelatedEvent") {
        for r in related {
            let r = r.get("Event").unwrap_or(r);
            if let Some(other) = r
                .get("uuid")
                .and_then(Value::as_str)
                .and_then(|u| Uuid::parse_str(u).ok())
            {
                intel.relate(&report_id, "related-to", &format!("report--{other}"), seen);
            }
        }
    }
    let tags = match ev.get("Tag") {
        Some(Value::Array(tags)) => tags
            .iter()
            .filter_map(|t| t.get("name")?.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    intel.add_report(Report {
        id: report_id,
        title: Some(info.to_owned()),
        body: prose.join("\n"),
        stix_id: None,
        misp_uuid: Some(uuid),
        source,
        published_at: published_at.filter(|t| t.timestamp() != 0),
        observed_at: seen,
        lat: None,
        lng: None,
        h3_cell: None,
        tags,
    });
    Ok(())
}

/// One attribute, of the event or of one of its objects.
struct Attribute {
    types: String,
    value: String,
    comment: Option<String>,
    at: DateTime<Utc>,
    /// When MISP users reported seeing it (sightings of type 0).
    sighted: Vec<DateTime<Utc>>,
    galaxies: Vec<Entity>,
}

impl Attribute {
    /// (type, value) of each part: `filename|sha256` is two.
    fn parts(&self) -> Vec<(&str, &str)> {
        if self.types.contains('|') {
            self.types
                .split('|')
                .zip(self.value.split('|'))
                .map(|(t, v)| (t, v.trim()))
                .collect()
        } else {
            vec![(self.types.as_str(), self.value.trim())]
        }
    }
}

/// The attributes of event `ev`; those without a time of their own get the event's, `seen`.
fn attributes(at: &At<'_>, ev: &Value, seen: DateTime<Utc>) -> Result<Vec<Attribute>, FormatError> {
    let mut lists: Vec<(String, &Value)> = Vec::new();
    if let Some(list) = ev.get("Attribute") {
        lists.push(("Attribute".into(), list));
    }
    match ev.get("Object") {
        None | Some(Value::Null) | Some(Value::Array(_)) => {}
        Some(other) => {
            return Err(at.err(
                "Object",
                format!("expected a list of objects, got {}", preview(other)),
            ))
        }
    }
    if let Some(Value::Array(objects)) = ev.get("Object") {
        for (i, o) in objects.iter().enumerate() {
            if !o.is_object() {
                return Err(at.err(
                    &format!("Object[{i}]"),
                    format!(
                        "expected an object {{\"name\", \"Attribute\": [...]}}, got {}",
                        preview(o)
                    ),
                ));
            }
            if deleted(o) {
                continue;
            }
            if let Some(list) = o.get("Attribute") {
                lists.push((format!("Object[{i}].Attribute"), list));
            }
        }
    }
    let mut out = Vec::new();
    for (field, list) in lists {
        let Value::Array(items) = list else {
            return Err(at.err(
                &field,
                format!("expected a list of attributes, got {}", preview(list)),
            ));
        };
        for (i, a) in items.iter().enumerate() {
            let path = format!("{}.{field}[{i}]", at.path)
                .trim_start_matches('.')
                .to_owned();
            let here = At { path: &path };
            if !a.is_object() {
                // A value alone would be an attribute without a type: refused rather
                // than passed over, so that no indicator of the event is lost unseen.
                return Err(here.err(
                    "",
                    format!(
                        "expected an attribute {{\"type\": ..., \"value\": ...}}, got {}",
                        preview(a)
                    ),
                ));
            }
            if deleted(a) {
                continue;
            }
            let Some(value) = here.opt_str(a, "value")? else {
                continue;
            };
            let types = here.str(a, "type")?.to_owned();
            let mut sighted = Vec::new();
            if let Some(Value::Array(sightings)) = a.get("Sighting") {
                for (j, s) in sightings.iter().enumerate() {
                    let spath = format!("{path}.Sighting[{j}]");
                    let sat = At { path: &spath };
                    let kind = s
                        .get("type")
                        .map(|t| t.as_str().map(str::to_owned).unwrap_or(t.to_string()));
                    if matches!(kind.as_deref(), None | Some("0")) {
                        sighted.extend(epoch(&sat, s, "date_sighting")?);
                    }
                }
            }
            out.push(Attribute {
                at: epoch(&here, a, "timestamp")?.unwrap_or(seen),
                comment: here
                    .opt_str(a, "comment")?
                    .filter(|c| !c.trim().is_empty())
                    .map(str::to_owned),
                value: value.to_owned(),
                types,
                sighted,
                galaxies: clusters(&here, a)?,
            });
        }
    }
    Ok(out)
}

/// What an attribute part becomes.
enum Choice {
    Kind(IocKind),
    /// Text and comments: the report's prose, not indicators.
    Prose,
    /// Counted under this name in `skipped`.
    Skip(String),
}

fn choose(t: &str, value: &str) -> Choice {
    if matches!(t, "text" | "comment") {
        return Choice::Prose;
    }
    if value.is_empty() {
        return Choice::Skip(format!("{t} (empty)"));
    }
    let t = if t == "ip" { "ip-dst" } else { t };
    let kinds: Vec<IocKind> = IocKind::ALL
        .into_iter()
        .filter(|k| k.misp_types().contains(&t))
        .collect();
    if kinds.is_empty() {
        return Choice::Skip(t.to_owned());
    }
    let read_as = ioc::kind_of(value);
    match read_as {
        Some(k) if kinds.contains(&k) => Choice::Kind(k),
        None if kinds.len() == 1 => Choice::Kind(kinds[0]),
        _ => Choice::Skip(format!(
            "{t} (read as {})",
            read_as.map(|k| k.as_str()).unwrap_or("nothing")
        )),
    }
}

/// The galaxy clusters of an event or attribute, as entities.
fn clusters(at: &At<'_>, holder: &Value) -> Result<Vec<Entity>, FormatError> {
    let Some(Value::Array(galaxies)) = holder.get("Galaxy") else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (g, galaxy) in galaxies.iter().enumerate() {
        let galaxy_type = galaxy.get("type").and_then(Value::as_str).unwrap_or("");
        let Some(Value::Array(list)) = galaxy.get("GalaxyCluster") else {
            continue;
        };
        for (c, cluster) in list.iter().enumerate() {
            let path = format!("{}.Galaxy[{g}].GalaxyCluster[{c}]", at.path)
                .trim_start_matches('.')
                .to_owned();
            let here = At { path: &path };
            let text = here.str(cluster, "uuid")?;
            let uuid = Uuid::parse_str(text)
                .map_err(|_| here.err("uuid", format!("{text} is not a UUID")))?;
            let meta = cluster.get("meta");
            let listed = |key: &str| -> Vec<String> {
                match meta.and_then(|m| m.get(key)) {
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    Some(Value::String(s)) => vec![s.clone()],
                    _ => Vec::new(),
                }
            };
            let entity_type = entity_type(galaxy_type);
            out.push(Entity {
                id: format!("{entity_type}--{uuid}"),
                entity_type: entity_type.to_owned(),
                name: here.opt_str(cluster, "value")?.map(|v| {
                    // ATT&CK clusters are named `Malware - T1587.001`; the name is before.
                    match listed("external_id").first() {
                        Some(ext) => v.strip_suffix(&format!(" - {ext}")).unwrap_or(v).to_owned(),
                        None => v.to_owned(),
                    }
                }),
                aliases: listed("synonyms"),
                external_ids: listed("external_id"),
                created: None,
                modified: None,
                revoked: false,
                object: serde_json::value::to_raw_value(cluster)
                    .map_err(|e| here.err("", format!("cannot be kept: {e}")))?,
            });
        }
    }
    Ok(out)
}

/// The STIX type of what a galaxy's clusters name.
fn entity_type(galaxy_type: &str) -> &'static str {
    match galaxy_type {
        "mitre-attack-pattern" | "mitre-enterprise-attack-attack-pattern" => "attack-pattern",
        "mitre-intrusion-set" | "mitre-enterprise-attack-intrusion-set" => "intrusion-set",
        "mitre-malware"
        | "mitre-enterprise-attack-malware"
        | "malpedia"
        | "ransomware"
        | "botnet"
        | "rat"
        | "stealer" => "malware",
        "mitre-tool" | "mitre-enterprise-attack-tool" | "tool" => "tool",
        "mitre-course-of-action" | "mitre-enterprise-attack-course-of-action" => "course-of-action",
        "threat-actor" => "threat-actor",
        "sector" => "identity",
        "country" | "region" => "location",
        _ => "x-misp-galaxy-cluster",
    }
}

/// A MISP epoch-seconds field (a string or a number).
fn epoch(at: &At<'_>, o: &Value, field: &str) -> Result<Option<DateTime<Utc>>, FormatError> {
    let secs = match o.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.is_empty() => return Ok(None),
        Some(Value::String(s)) => s.parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        Some(_) => None,
    };
    match secs.and_then(|s| Utc.timestamp_opt(s, 0).single()) {
        Some(t) if crate::model::OBSERVED_YEARS.contains(&chrono::Datelike::year(&t)) => {
            Ok(Some(t))
        }
        _ => Err(at.err(
            field,
            format!("expected seconds since 1970, got {}", preview(&o[field])),
        )),
    }
}

fn deleted(o: &Value) -> bool {
    match o.get("deleted") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "1" || s == "true",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-30T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn every_shape_gives_the_same_event() {
        let event = json!({"uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e001", "info": "Shape",
            "date": "2031-02-03", "Attribute": [{"type": "ip-dst|port", "value": "198.51.100.99|443"}]});
        let shapes = [
            json!({"Event": event}),
            json!({"response": [{"Event": event}]}),
            json!([{"Event": event}]),
            json!([event]),
            event.clone(),
        ];
        for shape in shapes {
            let p = parse(shape.clone(), now()).unwrap();
            assert_eq!(p.intel.reports.len(), 1, "{shape}");
            assert_eq!(
                p.intel.reports[0].observed_at,
                "2031-02-03T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
            );
            assert_eq!(p.intel.indicators[0].value, "198.51.100.99");
            assert_eq!(p.skipped.get("port"), Some(&1));
        }
    }

    #[test]
    fn an_attribute_without_a_time_has_its_events() {
        let ev = json!({"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e002", "info": "t",
            "timestamp": "1792483200", "Attribute": [{"type": "domain", "value": "a.example.com"}]}});
        let p = parse(ev, now()).unwrap();
        let when: DateTime<Utc> = "2026-10-20T08:00:00Z".parse().unwrap();
        assert_eq!(p.intel.reports[0].observed_at, when);
        assert_eq!(p.intel.indicators[0].first_seen, when);
        assert_eq!(p.intel.sightings[0].seen_at, when);
    }

    #[test]
    fn a_bad_event_is_named_by_its_path() {
        let cases = [
            (
                json!({"response": [{"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e001", "info": "ok"}}, {"Event": {"info": "x"}}]}),
                "response[1].Event.uuid: missing",
            ),
            (
                json!({"Event": {"uuid": "12", "info": "x"}}),
                "Event.uuid: 12 is not a UUID",
            ),
            (
                json!({"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e001", "info": "x", "date": "20/10/2026"}}),
                "Event.date: 20/10/2026 is not a date (expected YYYY-MM-DD)",
            ),
            (
                json!({"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e001", "info": "x",
                "Object": [{"Attribute": [{"type": "ip-dst", "value": "1.2.3.4", "timestamp": "soon"}]}]}}),
                "Event.Object[0].Attribute[0].timestamp: expected seconds since 1970, got \"soon\"",
            ),
            (json!({"type": "bundle"}), "expected an event export"),
            (
                json!({"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e001", "info": "x",
                "Attribute": [{"type": "ip-dst", "value": "1.2.3.4"}, "203.0.113.9"]}}),
                "Event.Attribute[1]: expected an attribute {\"type\": ..., \"value\": ...}, got \"203.0.113.9\"",
            ),
            (
                json!({"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e001", "info": "x",
                "Object": [7]}}),
                "Event.Object[0]: expected an object",
            ),
            (
                json!({"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-00000000e001", "info": "x",
                "Object": {"name": "file"}}}),
                "Event.Object: expected a list of objects",
            ),
        ];
        for (doc, want) in cases {
            let err = parse(doc, now()).unwrap_err().to_string();
            assert!(err.starts_with(want), "{want}: got {err}");
        }
    }
}
