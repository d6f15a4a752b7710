//! One normalisation and one id scheme, for every face.
//!
//! An indicator's id comes from its kind and its normalised value alone, so every
//! spelling of one indicator (`EVIL[.]Example.COM`, `2001:DB8:0:0::1`) gets one id
//! whether the router, SQL or Python ingested it. Report and relationship ids come from
//! what they say, in a form that no session setting (time zone, date style) changes.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::ioc::{self, IocKind};

/// STIX 2.1's namespace for deterministic identifiers (section 2.9 of the spec), so
/// that our ids for observables agree with any STIX producer that follows it.
pub const STIX_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// Values of these kinds compare case-insensitively when CTAS cannot read them as an
/// indicator of their kind (a host under a private TLD, say), so they are lower-cased.
const CASE_INSENSITIVE_KINDS: &[&str] = &[
    "domain", "hostname", "email", "md5", "sha1", "sha256", "sha512", "ipv6", "mac", "imphash",
];

/// The normal form of `value` as an indicator of `kind` (a lower-case kind name): the
/// value trimmed and refanged, then read by the IOC scanner, whose reading (lower-case
/// hosts and hashes, RFC 5952 IPv6, `AS13335`, `CVE-2024-1234`) wins when it reads the
/// whole value as that kind. Otherwise addresses are still written in their standard
/// form and case-insensitive kinds lower-cased; other values are kept as given.
pub fn normalise(kind: &str, value: &str) -> String {
    let value = value.trim();
    let Some(known) = IocKind::parse(kind) else {
        return fallback(kind, value);
    };
    // File names and registry keys are taken as written: `[.]` in them is no defanging.
    if matches!(known, IocKind::FileName | IocKind::RegistryKey) {
        return value.to_owned();
    }
    let refanged = ioc::refang(value);
    match ioc::normalise(&refanged) {
        Some(found) if found.kind == known => found.value,
        _ => fallback(kind, refanged.trim()),
    }
}

fn fallback(kind: &str, value: &str) -> String {
    match kind {
        "ipv6" => match value.parse::<std::net::Ipv6Addr>() {
            // std writes IPv6 as RFC 5952 section 4 asks: `::` for the longest run of
            // zeros, lower-case hex, no leading zeros.
            Ok(addr) => addr.to_string(),
            Err(_) => value.to_lowercase(),
        },
        "ipv4" => match value.parse::<std::net::Ipv4Addr>() {
            Ok(addr) => addr.to_string(),
            Err(_) => value.to_owned(),
        },
        _ if CASE_INSENSITIVE_KINDS.contains(&kind) => value.to_lowercase(),
        _ => value.to_owned(),
    }
}

/// The deterministic id of an indicator: `indicator--` and the UUIDv5 (STIX namespace)
/// of `kind:value`, the value normalised first ([`normalise`]).
pub fn indicator_id(kind: &str, value: &str) -> String {
    normal_indicator_id(kind, &normalise(kind, value))
}

/// [`indicator_id`] of a value already in normal form.
pub fn normal_indicator_id(kind: &str, normal: &str) -> String {
    prefixed("indicator", &format!("{kind}:{normal}"))
}

/// The id of a report that has none of its own: its observation time (RFC 3339, UTC,
/// to the microsecond, as PostgreSQL keeps it) and its text. The same text observed at
/// the same time is the same report.
pub fn report_id(observed_at: DateTime<Utc>, body: &str) -> String {
    let at = observed_at
        .trunc_subsecs(6)
        .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    prefixed("report", &format!("report:{at}{body}"))
}

/// The id of a relationship CTAS derives (a report's reference, an indicator named by a
/// STIX pattern, a MISP galaxy cluster): one per (source, type, target).
pub fn relationship_id(source_ref: &str, relationship_type: &str, target_ref: &str) -> String {
    prefixed(
        "relationship",
        &format!("{relationship_type}:{source_ref} {target_ref}"),
    )
}

fn prefixed(prefix: &str, name: &str) -> String {
    format!(
        "{prefix}--{}",
        Uuid::new_v5(&STIX_NAMESPACE, name.as_bytes())
    )
}

/// The STIX 2.1 cyber-observable an indicator of `kind` is, with its id-contributing
/// properties (section 2.9), for the kinds STIX has an observable for.
pub fn observable(kind: &str, normal: &str) -> Option<(&'static str, Value)> {
    let v = normal;
    Some(match IocKind::parse(kind)? {
        IocKind::Ipv4 => ("ipv4-addr", json!({ "value": v })),
        IocKind::Ipv6 => ("ipv6-addr", json!({ "value": v })),
        // STIX writes a network as the address value in CIDR notation.
        IocKind::Cidr if v.contains(':') => ("ipv6-addr", json!({ "value": v })),
        IocKind::Cidr => ("ipv4-addr", json!({ "value": v })),
        IocKind::Domain => ("domain-name", json!({ "value": v })),
        IocKind::Url => ("url", json!({ "value": v })),
        IocKind::Email => ("email-addr", json!({ "value": v })),
        IocKind::Mac => ("mac-addr", json!({ "value": v })),
        IocKind::Asn => {
            let number: u64 = v.trim_start_matches("AS").parse().ok()?;
            ("autonomous-system", json!({ "number": number }))
        }
        IocKind::Md5 => ("file", json!({ "hashes": { "MD5": v } })),
        IocKind::Sha1 => ("file", json!({ "hashes": { "SHA-1": v } })),
        IocKind::Sha256 => ("file", json!({ "hashes": { "SHA-256": v } })),
        IocKind::Sha512 => ("file", json!({ "hashes": { "SHA-512": v } })),
        IocKind::Ssdeep => ("file", json!({ "hashes": { "SSDEEP": v } })),
        IocKind::FileName => ("file", json!({ "name": v })),
        IocKind::RegistryKey => ("windows-registry-key", json!({ "key": v })),
        _ => return None,
    })
}

/// The STIX 2.1 deterministic id of the observable an indicator is (`domain-name--…`):
/// the UUIDv5 of the canonical JSON (RFC 8785) of its id-contributing properties.
pub fn observable_id(kind: &str, normal: &str) -> Option<String> {
    let (stix_type, properties) = observable(kind, normal)?;
    Some(format!(
        "{stix_type}--{}",
        Uuid::new_v5(&STIX_NAMESPACE, canonical_json(&properties).as_bytes())
    ))
}

/// RFC 8785 canonical JSON of the values [`observable`] builds (objects, strings and
/// integers): members sorted by key, no whitespace, strings escaped as ECMAScript's
/// JSON.stringify does, which serde_json's writer matches for these.
fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut members: Vec<(&String, &Value)> = m.iter().collect();
            // RFC 8785 sorts by UTF-16 code units; the keys here are ASCII.
            members.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = members
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), canonical_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_an_indicator_gets_one_id() {
        let same = |kind: &str, spellings: &[&str]| {
            let ids: Vec<String> = spellings.iter().map(|s| indicator_id(kind, s)).collect();
            assert!(
                ids.windows(2).all(|w| w[0] == w[1]),
                "{kind}: {spellings:?}"
            );
        };
        same(
            "domain",
            &[
                "EVIL[.]Example.COM",
                "evil.example.com",
                " evil(.)example.com ",
            ],
        );
        same(
            "ipv6",
            &[
                "2001:DB8:0:0::1",
                "2001:db8::1",
                "2001:0db8:0000:0000:0000:0000:0000:0001",
            ],
        );
        same("ipv4", &["203.0.113[.]7", "203.0.113.7"]);
        same(
            "url",
            &[
                "hxxps://Evil.Example.com/Path",
                "https://evil.example.com/Path",
            ],
        );
        same("sha256", &[&"A".repeat(64), &"a".repeat(64)]);
        // Unknown to the scanner: lower-cased by kind, kept by others.
        same("domain", &["Printer.LOCAL", "printer.local"]);
        assert_ne!(
            indicator_id("filename", "A.exe"),
            indicator_id("filename", "a.exe")
        );
        // The path of a URL keeps its case.
        assert_ne!(
            indicator_id("url", "http://a.example/X"),
            indicator_id("url", "http://a.example/x")
        );
    }

    #[test]
    fn report_ids_hold_the_instant_not_its_spelling() {
        let a: DateTime<Utc> = "2026-03-01T10:00:00+02:00".parse().unwrap();
        let b: DateTime<Utc> = "2026-03-01T08:00:00.0000001Z".parse().unwrap();
        assert_eq!(report_id(a, "text"), report_id(b, "text"));
        assert_ne!(report_id(a, "text"), report_id(a, "text."));
    }
}
