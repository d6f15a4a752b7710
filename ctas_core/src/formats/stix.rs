//! STIX 2.0 and 2.1 bundles into the model.
//!
//! - a `report` becomes a report (name and description its text, `published` when it
//!   was observed, the name of its `created_by_ref` identity its source, `labels` its
//!   tags); what it refers to (`object_refs`) becomes relationships of type
//!   `object_refs`, and the indicators among them its sightings;
//! - an `indicator` is kept as an entity, and each value its pattern compares for
//!   equality ([`super::pattern`]) becomes an indicator tied to it by `based-on`;
//! - a cyber-observable (`ipv4-addr`, `domain-name`, `file`, ...) becomes an indicator;
//! - a `relationship` is kept as it is; a `sighting` of an indicator becomes a
//!   relationship `sighting-of` from where it was sighted, and is kept as an entity;
//! - every other object — intrusion sets, malware, tools, attack patterns, identities,
//!   custom `x-` types — is kept whole as an entity.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{pattern, preview, At, FormatError, Parsed};
use crate::model::{Entity, Relationship, Report, Sighting};

/// Objects of these types are read into the model; others are entities.
const OBSERVABLE_PROPERTIES: &[(&str, &str)] = &[
    ("ipv4-addr", "value"),
    ("ipv6-addr", "value"),
    ("domain-name", "value"),
    ("url", "value"),
    ("email-addr", "value"),
    ("mac-addr", "value"),
    ("windows-registry-key", "key"),
];

/// A report waiting for the end of the bundle, when every identity's name is known.
struct PendingReport {
    report: Report,
    created_by: Option<String>,
    refs: Vec<String>,
}

/// Reads a bundle; `now` is the observation time of reports that give none.
pub fn parse(doc: Value, now: DateTime<Utc>) -> Result<Parsed, FormatError> {
    let top = At { path: "" };
    let Value::Object(mut bundle) = doc else {
        return Err(top.err(
            "",
            format!(
                "expected a bundle {{\"type\": \"bundle\", \"objects\": [...]}}, got {}",
                preview(&doc)
            ),
        ));
    };
    if bundle.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err(top.err(
            "type",
            format!(
                "expected a bundle {{\"type\": \"bundle\", \"objects\": [...]}}, got type {}",
                bundle
                    .get("type")
                    .map(preview)
                    .unwrap_or_else(|| "missing".into())
            ),
        ));
    }
    let objects = match bundle.remove("objects") {
        Some(Value::Array(objects)) => objects,
        None => return Err(top.err("objects", "the bundle has no \"objects\" array")),
        Some(other) => {
            return Err(top.err(
                "objects",
                format!("expected an array, got {}", preview(&other)),
            ))
        }
    };
    drop(bundle);

    let mut parsed = Parsed::default();
    let mut identities: HashMap<String, String> = HashMap::new();
    let mut reports: Vec<PendingReport> = Vec::new();
    // STIX indicator id -> the ids of the indicators its pattern names.
    let mut named: HashMap<String, Vec<String>> = HashMap::new();

    for (i, object) in objects.into_iter().enumerate() {
        let path = format!("objects[{i}]");
        let at = At { path: &path };
        if !object.is_object() {
            return Err(at.err("", format!("expected an object, got {}", preview(&object))));
        }
        super::refuse_nul(&object, &path)?;
        let stix_type = at.str(&object, "type")?.to_owned();
        let id = at.str(&object, "id")?.to_owned();
        match id.split_once("--") {
            Some((prefix, _)) if prefix == stix_type => {}
            _ => return Err(at.err("id", format!("{id} is not of the form {stix_type}--<uuid>"))),
        }
        *parsed.objects.entry(stix_type.clone()).or_default() += 1;
        let created = at.time(&object, "created")?;
        let modified = at.time(&object, "modified")?;
        // Every timestamp is checked, whatever the type, so a bad one refuses the bundle.
        for field in [
            "valid_from",
            "valid_until",
            "published",
            "first_seen",
            "last_seen",
            "first_observed",
            "last_observed",
        ] {
            at.time(&object, field)?;
        }
        let intel = &mut parsed.intel;
        match stix_type.as_str() {
            "relationship" => {
                let rel = Relationship {
                    source_ref: at.str(&object, "source_ref")?.to_owned(),
                    relationship_type: at.str(&object, "relationship_type")?.to_owned(),
                    target_ref: at.str(&object, "target_ref")?.to_owned(),
                    created: created.unwrap_or(now),
                    id,
                };
                intel.add_relationship(rel);
            }
            "report" => {
                let name = at.opt_str(&object, "name")?;
                let description = at.opt_str(&object, "description")?;
                let published = at.time(&object, "published")?;
                let body = [name, description]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("\n\n");
                let report = Report {
                    title: name.map(str::to_owned),
                    body,
                    stix_id: Some(id.clone()),
                    misp_uuid: None,
                    source: None,
                    published_at: published,
                    observed_at: published.or(created).unwrap_or(now),
                    lat: None,
                    lng: None,
                    h3_cell: None,
                    tags: at.strings(&object, "labels")?,
                    id,
                };
                reports.push(PendingReport {
                    report,
                    created_by: at.opt_str(&object, "created_by_ref")?.map(str::to_owned),
                    refs: at.strings(&object, "object_refs")?,
                });
            }
            "indicator" => {
                let seen = at.time(&object, "valid_from")?.or(created).unwrap_or(now);
                let ids: Vec<String> = match at.opt_str(&object, "pattern")? {
                    Some(p) => pattern::observables(p)
                        .into_iter()
                        .map(|o| intel.add_indicator(o.kind.as_str(), &o.value, seen))
                        .collect(),
                    None => Vec::new(),
                };
                for target in &ids {
                    intel.relate(&id, "based-on", target, seen);
                }
                named.insert(id.clone(), ids);
                intel.add_entity(entity(&at, stix_type, id, created, modified, object)?);
            }
            "sighting" => {
                let of = at.str(&object, "sighting_of_ref")?.to_owned();
                let seen = at.time(&object, "first_seen")?.or(created).unwrap_or(now);
                for place in at.strings(&object, "where_sighted_refs")? {
                    intel.relate(&place, "sighting-of", &of, seen);
                }
                intel.add_entity(entity(&at, stix_type, id, created, modified, object)?);
            }
            t => {
                if let Some(kind_value) = observable(&at, t, &object)? {
                    let (kind, value) = kind_value;
                    intel.add_indicator(kind, &value, created.unwrap_or(now));
                } else {
                    if t == "identity" {
                        if let Some(name) = at.opt_str(&object, "name")? {
                            identities.insert(id.clone(), name.to_owned());
                        }
                    }
                    intel.add_entity(entity(&at, stix_type, id, created, modified, object)?);
                }
            }
        }
    }

    // Reports last: their source is an identity of the bundle, their sightings the
    // indicators named by the STIX indicators they refer to.
    for PendingReport {
        mut report,
        created_by,
        refs,
    } in reports
    {
        report.source = created_by.and_then(|c| identities.get(&c).cloned());
        let intel = &mut parsed.intel;
        for r in &refs {
            intel.relate(&report.id, "object_refs", r, report.observed_at);
            for indicator_id in named.get(r).into_iter().flatten() {
                intel.add_sighting(Sighting {
                    report_id: report.id.clone(),
                    indicator_id: indicator_id.clone(),
                    source: report.source.clone(),
                    seen_at: report.observed_at,
                    raw: None,
                    start_pos: None,
                    end_pos: None,
                });
            }
        }
        intel.add_report(report);
    }
    parsed.intel.extract_from_reports();
    Ok(parsed)
}

/// The indicator a cyber-observable object is: (kind, value).
fn observable(
    at: &At<'_>,
    stix_type: &str,
    o: &Value,
) -> Result<Option<(&'static str, String)>, FormatError> {
    if let Some((_, property)) = OBSERVABLE_PROPERTIES.iter().find(|(t, _)| *t == stix_type) {
        let value = at.str(o, property)?;
        let kind = match stix_type {
            "ipv4-addr" | "ipv6-addr" if value.contains('/') => "cidr",
            "ipv4-addr" => "ipv4",
            "ipv6-addr" => "ipv6",
            "domain-name" => "domain",
            "url" => "url",
            "email-addr" => "email",
            "mac-addr" => "mac",
            _ => "registry_key",
        };
        return Ok(Some((kind, value.to_owned())));
    }
    match stix_type {
        "autonomous-system" => match o.get("number").and_then(Value::as_u64) {
            Some(n) => Ok(Some(("asn", format!("AS{n}")))),
            None => Err(at.err("number", "expected a non-negative integer")),
        },
        // A file is the strongest hash it has, else its name.
        "file" => {
            let hashes = o.get("hashes").and_then(Value::as_object);
            for (names, kind) in [
                (&["SHA-512", "SHA512"][..], "sha512"),
                (&["SHA-256", "SHA256"][..], "sha256"),
                (&["SHA-1", "SHA1"][..], "sha1"),
                (&["MD5"][..], "md5"),
            ] {
                if let Some(v) = hashes.and_then(|h| names.iter().find_map(|n| h.get(*n)?.as_str()))
                {
                    return Ok(Some((kind, v.to_owned())));
                }
            }
            Ok(at.opt_str(o, "name")?.map(|n| ("filename", n.to_owned())))
        }
        _ => Ok(None),
    }
}

/// An object kept whole, with what SQL looks it up by.
fn entity(
    at: &At<'_>,
    entity_type: String,
    id: String,
    created: Option<DateTime<Utc>>,
    modified: Option<DateTime<Utc>>,
    object: Value,
) -> Result<Entity, FormatError> {
    let mut aliases = at.strings(&object, "aliases")?;
    for a in at.strings(&object, "x_mitre_aliases")? {
        if !aliases.contains(&a) {
            aliases.push(a);
        }
    }
    let external_ids = match object.get("external_references") {
        Some(Value::Array(refs)) => refs
            .iter()
            .filter_map(|r| r.get("external_id")?.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Entity {
        name: at.opt_str(&object, "name")?.map(str::to_owned),
        revoked: object
            .get("revoked")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        aliases,
        external_ids,
        created,
        modified,
        id,
        entity_type,
        object,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        "2026-11-30T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_bad_field_is_named_by_its_path() {
        let bad = json!({"type": "bundle", "id": "bundle--1", "objects": [
            {"type": "malware", "id": "malware--1", "name": "m"},
            {"type": "report", "id": "report--2", "published": "15/10/2026"},
        ]});
        let err = parse(bad, now()).unwrap_err().to_string();
        assert!(
            err.starts_with("objects[1].published: not a timestamp: 15/10/2026"),
            "{err}"
        );
        let bad = json!({"type": "bundle", "objects": [
            {"type": "relationship", "id": "relationship--1", "source_ref": "a--1", "relationship_type": "uses"}]});
        assert_eq!(
            parse(bad, now()).unwrap_err().to_string(),
            "objects[0].target_ref: missing"
        );
        let bad = json!({"type": "bundle", "objects": [{"type": "tool", "id": "malware--1"}]});
        assert_eq!(
            parse(bad, now()).unwrap_err().to_string(),
            "objects[0].id: malware--1 is not of the form tool--<uuid>"
        );
        let bad = json!({"type": "bundle", "objects": [{"type": "tool", "id": "tool--1", "x": ["a\u{0}"]}]});
        assert!(parse(bad, now())
            .unwrap_err()
            .to_string()
            .starts_with("objects[0].x[0]: contains a NUL"));
    }

    #[test]
    fn custom_and_unmodelled_objects_are_kept_whole() {
        let doc = json!({"type": "bundle", "objects": [
            {"type": "x-mitre-tactic", "id": "x-mitre-tactic--1", "name": "Execution", "x_mitre_shortname": "execution"},
            {"type": "marking-definition", "id": "marking-definition--2", "definition": {"tlp": "green"}},
        ]});
        let p = parse(doc.clone(), now()).unwrap();
        let objects: Vec<&Value> = p.intel.entities.iter().map(|e| &e.object).collect();
        assert_eq!(
            objects,
            doc["objects"]
                .as_array()
                .unwrap()
                .iter()
                .collect::<Vec<_>>()
        );
    }
}
