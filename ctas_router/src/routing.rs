//! Routing rules: which downstream tiers an object goes to, by the request's priority,
//! latency requirement and data type and by the object's kind, age and size.
//!
//! The hot tier (sled) takes everything: it is the log the acknowledgement waits for.
//! The rules are a TOML file (`serve --routing FILE`), read and checked once at start;
//! the first rule whose conditions all hold decides, and `default` decides for an
//! object no rule matches. With no file, every object goes to every tier.
//!
//! ```toml
//! default = ["warm", "cold", "graph"]
//!
//! [[rule]]
//! name = "urgent: everywhere"
//! priority = ["critical"]
//! tiers = ["warm", "cold", "graph"]
//!
//! [[rule]]
//! name = "history: not warm"
//! items = ["report", "sighting", "record"]
//! older_than = "30d"
//! tiers = ["cold", "graph"]
//! ```

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use ctas_core::model::Item;
use serde::Deserialize;

use crate::hot::log::TierMask;
use crate::tiers::TierName;

/// The priorities a request may declare (`?priority=`).
pub const PRIORITIES: [&str; 4] = ["critical", "high", "medium", "low"];
/// The latency requirements a request may declare (`?latency=`).
pub const LATENCIES: [&str; 3] = ["real_time", "near_real_time", "batch"];
/// The data types a request may declare (`?data_type=`).
pub const DATA_TYPES: [&str; 5] = [
    "threat_feed",
    "live_intelligence",
    "report",
    "relationship",
    "entity",
];
/// The kinds of objects a rule may name (`items`), as the model names them.
pub const ITEMS: [&str; 7] = [
    "record",
    "source",
    "report",
    "indicator",
    "sighting",
    "relationship",
    "entity",
];

/// What a request declares of itself (all optional): the query parameters of
/// `POST /v1/ingest` and `POST /v1/records`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Class {
    pub priority: Option<String>,
    pub latency: Option<String>,
    pub data_type: Option<String>,
}

impl Class {
    /// Each value checked against its vocabulary; the error names the parameter.
    pub fn check(&self) -> Result<(), String> {
        for (name, value, allowed) in [
            ("priority", &self.priority, &PRIORITIES[..]),
            ("latency", &self.latency, &LATENCIES[..]),
            ("data_type", &self.data_type, &DATA_TYPES[..]),
        ] {
            if let Some(v) = value {
                if !allowed.contains(&v.as_str()) {
                    return Err(format!(
                        "{name} must be one of {}; got {v:?}",
                        allowed.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A rule as the file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleText {
    name: Option<String>,
    #[serde(default)]
    priority: Vec<String>,
    #[serde(default)]
    latency: Vec<String>,
    #[serde(default)]
    data_type: Vec<String>,
    #[serde(default)]
    items: Vec<String>,
    older_than: Option<String>,
    newer_than: Option<String>,
    larger_than: Option<Size>,
    smaller_than: Option<Size>,
    tiers: Vec<String>,
}

/// A size in bytes: a number, or text with a unit (`512KiB`, `1MiB`, `2MB`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileText {
    default: Option<Vec<String>>,
    #[serde(default)]
    rule: Vec<RuleText>,
}

/// One rule: each condition given must hold.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    priority: Vec<String>,
    latency: Vec<String>,
    data_type: Vec<String>,
    items: Vec<String>,
    older_than: Option<TimeDelta>,
    newer_than: Option<TimeDelta>,
    larger_than: Option<u64>,
    smaller_than: Option<u64>,
    pub tiers: TierMask,
}

/// The rules, in order, and where an object no rule matches goes.
#[derive(Debug, Clone)]
pub struct Routing {
    pub rules: Vec<Rule>,
    pub default: TierMask,
}

impl Default for Routing {
    /// No rules: every object to every tier.
    fn default() -> Self {
        Routing {
            rules: Vec::new(),
            default: TierMask::ALL,
        }
    }
}

impl Rule {
    fn matches(&self, item: &Item, class: &Class, now: DateTime<Utc>) -> bool {
        let declared = |allowed: &[String], value: &Option<String>| {
            allowed.is_empty() || value.as_ref().is_some_and(|v| allowed.contains(v))
        };
        let age = item.time().map(|t| now - t);
        let size = item.weight() as u64;
        declared(&self.priority, &class.priority)
            && declared(&self.latency, &class.latency)
            && declared(&self.data_type, &class.data_type)
            && (self.items.is_empty() || self.items.iter().any(|k| k == item.type_name()))
            // An object with no time is neither old nor new.
            && self.older_than.is_none_or(|d| age.is_some_and(|a| a > d))
            && self.newer_than.is_none_or(|d| age.is_some_and(|a| a <= d))
            && self.larger_than.is_none_or(|n| size > n)
            && self.smaller_than.is_none_or(|n| size < n)
    }
}

impl Routing {
    /// The downstream tiers `item` goes to.
    pub fn route(&self, item: &Item, class: &Class, now: DateTime<Utc>) -> TierMask {
        self.rules
            .iter()
            .find(|r| r.matches(item, class, now))
            .map_or(self.default, |r| r.tiers)
    }

    /// The same rules, sending nothing to a tier not in `on` (a tier that is off).
    pub fn within(mut self, on: TierMask) -> Routing {
        for rule in &mut self.rules {
            rule.tiers = rule.tiers.and(on);
        }
        self.default = self.default.and(on);
        self
    }

    /// The first rule (or the default) that sends objects to the warm tier without the
    /// cold one, named.
    pub fn warm_without_cold(&self) -> Option<String> {
        let alone = |t: TierMask| t.contains(TierName::Warm) && !t.contains(TierName::Cold);
        self.rules
            .iter()
            .find(|r| alone(r.tiers))
            .map(|r| format!("the routing rule {:?}", r.name))
            .or_else(|| alone(self.default).then(|| "the routing default".to_owned()))
    }

    /// The rules of a file; the error names the file, the rule and what is wrong.
    pub fn load(path: &Path) -> Result<Routing, String> {
        let shown = path.display();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the routing rules {shown}: {e}"))?;
        Routing::parse(&text).map_err(|e| format!("routing rules {shown}: {e}"))
    }

    /// The rules of a TOML text.
    pub fn parse(text: &str) -> Result<Routing, String> {
        let file: FileText = toml::from_str(text).map_err(|e| e.to_string())?;
        let default = match &file.default {
            Some(t) => tiers(t).map_err(|e| format!("default: {e}"))?,
            None => TierMask::ALL,
        };
        let rules = file
            .rule
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let name = r.name.clone().unwrap_or_else(|| format!("rule {}", i + 1));
                rule(r, name.clone()).map_err(|e| format!("[[rule]] {} ({name:?}): {e}", i + 1))
            })
            .collect::<Result<_, _>>()?;
        Ok(Routing { rules, default })
    }
}

fn rule(r: RuleText, name: String) -> Result<Rule, String> {
    for (field, values, allowed) in [
        ("priority", &r.priority, &PRIORITIES[..]),
        ("latency", &r.latency, &LATENCIES[..]),
        ("data_type", &r.data_type, &DATA_TYPES[..]),
        ("items", &r.items, &ITEMS[..]),
    ] {
        if let Some(v) = values.iter().find(|v| !allowed.contains(&v.as_str())) {
            return Err(format!(
                "{field}: {v:?} is not one of {}",
                allowed.join(", ")
            ));
        }
    }
    let duration = |field: &str, text: &Option<String>| {
        text.as_deref()
            .map(|t| duration(t).map_err(|e| format!("{field}: {e}")))
            .transpose()
    };
    let size = |field: &str, s: &Option<Size>| {
        s.as_ref()
            .map(|s| bytes(s).map_err(|e| format!("{field}: {e}")))
            .transpose()
    };
    Ok(Rule {
        older_than: duration("older_than", &r.older_than)?,
        newer_than: duration("newer_than", &r.newer_than)?,
        larger_than: size("larger_than", &r.larger_than)?,
        smaller_than: size("smaller_than", &r.smaller_than)?,
        tiers: tiers(&r.tiers).map_err(|e| format!("tiers: {e}"))?,
        name,
        priority: r.priority,
        latency: r.latency,
        data_type: r.data_type,
        items: r.items,
    })
}

/// Tier names as a mask; the hot tier is not one to name (it takes everything), and
/// warm or cold must be: the hot tier keeps its copies only for a while (`--hot-ttl`),
/// and an object must outlive them somewhere it can be asked for.
fn tiers(names: &[String]) -> Result<TierMask, String> {
    let mask = names.iter().try_fold(TierMask::NONE, |mask, n| {
        TierName::parse(n).map(|t| mask.with(t)).ok_or_else(|| {
            format!(
                "{n:?} is not a downstream tier (warm, cold, graph; the hot tier takes \
                 everything)"
            )
        })
    })?;
    if !mask.contains(TierName::Warm) && !mask.contains(TierName::Cold) {
        return Err(format!(
            "{names:?} names neither warm nor cold: the hot tier's copies do not last, \
             and the graph holds no object whole"
        ));
    }
    Ok(mask)
}

/// `90s`, `15m`, `12h`, `30d`, `2w`: the rules' ages, and the hot tier's TTL.
pub fn duration(text: &str) -> Result<TimeDelta, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 90s, 15m, 12h, 30d, 2w"))?;
    let seconds = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("{text:?}: the unit must be s, m, h, d or w")),
    };
    n.checked_mul(seconds)
        .and_then(TimeDelta::try_seconds)
        .ok_or_else(|| format!("{text:?} is too long"))
}

/// A size in bytes.
fn bytes(s: &Size) -> Result<u64, String> {
    let text = match s {
        Size::Bytes(n) => return Ok(*n),
        Size::Text(t) => t.trim(),
    };
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 4096, 512KiB, 1MiB"))?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1_000,
        "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "GiB" => 1 << 30,
        _ => {
            return Err(format!(
                "{text:?}: the unit must be B, KB, KiB, MB, MiB, GB or GiB"
            ))
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctas_core::model::{Intel, RecordInput};

    const NOW: &str = "2026-11-30T12:00:00Z";

    fn now() -> DateTime<Utc> {
        NOW.parse().unwrap()
    }

    /// A flat record observed `days` ago, with a description of `extra` bytes.
    fn record(days: i64, extra: usize) -> Item {
        let input: RecordInput = serde_json::from_value(serde_json::json!({
            "kind": "domain", "value": "route.example",
            "observed_at": (now() - TimeDelta::days(days)).to_rfc3339(),
            "description": "x".repeat(extra),
        }))
        .unwrap();
        Item::Record(input.into_record(now()).unwrap())
    }

    fn mask(names: &[&str]) -> TierMask {
        tiers(&names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn class(priority: Option<&str>, latency: Option<&str>, data_type: Option<&str>) -> Class {
        Class {
            priority: priority.map(str::to_owned),
            latency: latency.map(str::to_owned),
            data_type: data_type.map(str::to_owned),
        }
    }

    #[test]
    fn with_no_rules_everything_goes_everywhere() {
        let routing = Routing::parse("").unwrap();
        assert_eq!(
            routing.route(&record(0, 0), &Class::default(), now()),
            TierMask::ALL
        );
        let routing = Routing::parse(r#"default = ["cold"]"#).unwrap();
        assert_eq!(
            routing.route(&record(0, 0), &Class::default(), now()),
            mask(&["cold"])
        );
    }

    #[test]
    fn priority_latency_and_data_type_are_what_the_request_declares() {
        let routing = Routing::parse(
            r#"default = ["cold"]
            [[rule]]
            priority = ["critical", "high"]
            tiers = ["warm", "cold", "graph"]
            [[rule]]
            latency = ["real_time"]
            tiers = ["warm"]
            [[rule]]
            data_type = ["threat_feed"]
            tiers = ["warm", "cold"]"#,
        )
        .unwrap();
        let r = record(0, 0);
        let route = |c: Class| routing.route(&r, &c, now());
        assert_eq!(route(class(Some("critical"), None, None)), TierMask::ALL);
        assert_eq!(
            route(class(Some("high"), Some("real_time"), None)),
            TierMask::ALL
        );
        assert_eq!(
            route(class(Some("low"), Some("real_time"), None)),
            mask(&["warm"])
        );
        assert_eq!(
            route(class(None, None, Some("threat_feed"))),
            mask(&["warm", "cold"])
        );
        // Undeclared: no rule that asks for a declaration holds.
        assert_eq!(route(Class::default()), mask(&["cold"]));
    }

    #[test]
    fn items_age_and_size_are_the_objects_own() {
        let routing = Routing::parse(
            r#"[[rule]]
            name = "big"
            larger_than = "64KiB"
            tiers = ["cold"]
            [[rule]]
            name = "old observations"
            items = ["record", "report", "sighting"]
            older_than = "30d"
            tiers = ["cold", "graph"]
            [[rule]]
            name = "fresh"
            newer_than = "1d"
            tiers = ["warm"]
            [[rule]]
            name = "entities"
            items = ["entity", "relationship"]
            tiers = ["cold", "graph"]"#,
        )
        .unwrap();
        let route = |i: &Item| routing.route(i, &Class::default(), now());
        assert_eq!(route(&record(0, 70 << 10)), mask(&["cold"]));
        assert_eq!(route(&record(0, 60 << 10)), mask(&["warm"]));
        assert_eq!(route(&record(31, 0)), mask(&["cold", "graph"]));
        assert_eq!(route(&record(29, 0)), TierMask::ALL);
        // A record's history: its report and sighting are as old as it; its source has
        // no time, so no age rule holds for it.
        let intel = Intel::from_items([record(40, 0)]);
        for item in intel.clone().into_items() {
            let want = match &item {
                Item::Report(_) | Item::Sighting(_) => mask(&["cold", "graph"]),
                _ => TierMask::ALL,
            };
            assert_eq!(route(&item), want, "{}", item.type_name());
        }
        let entity: Item = serde_json::from_str(
            r#"{"type": "entity", "object": {
            "id": "malware--6b1f3c2e-5a47-4c1e-9a0e-000000000001", "entity_type": "malware",
            "name": "X", "aliases": [], "external_ids": [], "created": null, "modified": null,
            "revoked": false, "object": {}}}"#,
        )
        .unwrap();
        assert_eq!(route(&entity), mask(&["cold", "graph"]));
    }

    #[test]
    fn a_bad_rule_is_named_with_what_is_wrong() {
        for (text, names) in [
            (
                "[[rule]]\ntiers = [\"hot\"]",
                "[[rule]] 1 (\"rule 1\"): tiers: \"hot\" is not a downstream tier",
            ),
            (
                "[[rule]]\nname = \"x\"\npriority = [\"urgent\"]\ntiers = [\"cold\"]",
                "priority: \"urgent\" is not one of critical, high, medium, low",
            ),
            (
                "[[rule]]\nolder_than = \"30 days\"\ntiers = [\"cold\"]",
                "older_than: \"30 days\": the unit must be s, m, h, d or w",
            ),
            (
                "[[rule]]\nlarger_than = \"1 TB\"\ntiers = [\"cold\"]",
                "larger_than: \"1 TB\": the unit must be",
            ),
            (
                "[[rule]]\nitems = [\"ioc\"]\ntiers = [\"cold\"]",
                "items: \"ioc\" is not one of record, source",
            ),
            (
                "[[rule]]\nprioriti = [\"critical\"]\ntiers = [\"cold\"]",
                "unknown field `prioriti`",
            ),
            (
                "[[rule]]\ntiers = [\"graph\"]",
                "tiers: [\"graph\"] names neither warm nor cold",
            ),
            (
                "[[rule]]\ntiers = []",
                "tiers: [] names neither warm nor cold",
            ),
            (
                "[[rule]]\npriority = [\"critical\"]",
                "missing field `tiers`",
            ),
            (
                "default = [\"warm\", \"sled\"]",
                "default: \"sled\" is not a downstream tier",
            ),
        ] {
            let e = Routing::parse(text).unwrap_err();
            assert!(e.contains(names), "{text}: {e}");
        }
        assert!(Class {
            priority: Some("urgent".into()),
            ..Class::default()
        }
        .check()
        .unwrap_err()
        .starts_with("priority must be one of critical, high, medium, low"));
    }

    #[test]
    fn durations_and_sizes_read_as_written() {
        assert_eq!(duration("90s"), Ok(TimeDelta::seconds(90)));
        assert_eq!(duration("2w"), Ok(TimeDelta::days(14)));
        assert_eq!(bytes(&Size::Text("1MiB".into())), Ok(1 << 20));
        assert_eq!(bytes(&Size::Text("2MB".into())), Ok(2_000_000));
        assert_eq!(bytes(&Size::Bytes(4096)), Ok(4096));
    }
}
