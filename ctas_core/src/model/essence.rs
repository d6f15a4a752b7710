//! What every store keeps of an item, whatever shape it takes there: the fields the
//! router's `verify` compares between the hot tier and the tiers below it.
//!
//! Each tier holds an item in its own shape (a row, a document, a node or an edge) and
//! may fold later versions into it differently (the history widens an indicator's
//! first and last sighting; the hot tier keeps the version sent last). The essence is
//! the part every tier stores as it was sent and no folding changes: what an item is and
//! what it is called, what a sighting or a relationship ties, and when a report was
//! observed. Times are milliseconds since 1970, so that every store's own time type
//! compares.

use serde_json::{json, Map, Value};

use super::intel::Item;

/// The fields of an item's essence, by name, in name order.
pub type Essence = Map<String, Value>;

fn millis(t: chrono::DateTime<chrono::Utc>) -> Value {
    t.timestamp_millis().into()
}

/// The essence of `item`: the fields [`fields`] names for its type.
pub fn essence(item: &Item) -> Essence {
    let v = match item {
        Item::Record(r) => json!({
            "kind": r.kind, "value": r.value, "source": r.source,
            "observed_at": millis(r.observed_at),
        }),
        // Only its name (the key): the history keeps the reliability a source was first
        // given, the hot tier the one sent last.
        Item::Source(_) => json!({}),
        Item::Report(r) => json!({
            "title": r.title, "source": r.source, "observed_at": millis(r.observed_at),
        }),
        Item::Indicator(i) => json!({"kind": i.kind, "value": i.value}),
        Item::Sighting(s) => json!({"source": s.source}),
        Item::Relationship(r) => json!({
            "source_ref": r.source_ref, "relationship_type": r.relationship_type,
            "target_ref": r.target_ref,
        }),
        Item::Entity(e) => json!({"type": e.entity_type, "name": e.name}),
    };
    match v {
        Value::Object(m) => m,
        _ => unreachable!("every essence above is an object"),
    }
}

/// The names of the fields in the essence of an item of type `type_name`
/// ([`Item::type_name`]), for the stores that read them back.
pub fn fields(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "record" => &["kind", "observed_at", "source", "value"],
        "source" => &[],
        "report" => &["observed_at", "source", "title"],
        "indicator" => &["kind", "value"],
        "sighting" => &["source"],
        "relationship" => &["relationship_type", "source_ref", "target_ref"],
        "entity" => &["name", "type"],
        _ => &[],
    }
}

/// A field whose value differs between two essences of one item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Difference {
    pub field: String,
    /// What the reference holds (the hot tier).
    pub expected: Value,
    /// What the store compared with it holds (null when the field is absent).
    pub found: Value,
}

/// The fields of `expected` whose values `found` does not hold; a field `found` lacks
/// counts as null. Fields only `found` has are not looked at (a store may keep more).
pub fn differences(expected: &Essence, found: &Essence) -> Vec<Difference> {
    let mut out: Vec<Difference> = expected
        .iter()
        .filter_map(|(field, want)| {
            let got = found.get(field).unwrap_or(&Value::Null);
            (want != got).then(|| Difference {
                field: field.clone(),
                expected: want.clone(),
                found: got.clone(),
            })
        })
        .collect();
    // In field order, whether or not serde_json keeps maps in insertion order.
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RecordInput, Relationship};

    fn items() -> Vec<Item> {
        let record = serde_json::from_value::<RecordInput>(json!({
            "kind": "domain", "value": "essence.example", "source": "feed",
            "observed_at": "2026-11-30T10:00:00.123Z"
        }))
        .unwrap()
        .into_record(chrono::Utc::now())
        .unwrap();
        let mut all = vec![
            Item::Record(record.clone()),
            Item::Relationship(Relationship {
                id: "relationship--1".into(),
                source_ref: "intrusion-set--a".into(),
                relationship_type: "uses".into(),
                target_ref: "malware--b".into(),
                created: chrono::Utc::now(),
            }),
        ];
        all.extend(crate::model::Intel::from_items([Item::Record(record)]).into_items());
        all
    }

    /// Every type's essence has exactly the fields `fields` names for it, so a store that
    /// reads those fields back reads all of it.
    #[test]
    fn an_essence_holds_the_fields_named_for_its_type() {
        let mut seen = std::collections::HashSet::new();
        for item in items() {
            let e = essence(&item);
            let mut names: Vec<&str> = e.keys().map(String::as_str).collect();
            names.sort_unstable();
            assert_eq!(names, fields(item.type_name()), "{}", item.type_name());
            seen.insert(item.type_name());
        }
        assert!(seen.len() >= 5, "{seen:?}");
    }

    #[test]
    fn differences_name_each_field_that_differs_and_what_each_side_holds() {
        let item = &items()[0];
        let want = essence(item);
        assert!(differences(&want, &want).is_empty());
        let mut got = want.clone();
        got.insert("value".into(), "other.example".into());
        got.remove("source");
        got.insert("extra".into(), 1.into());
        let d = differences(&want, &got);
        assert_eq!(
            d,
            vec![
                Difference {
                    field: "source".into(),
                    expected: "feed".into(),
                    found: Value::Null
                },
                Difference {
                    field: "value".into(),
                    expected: "essence.example".into(),
                    found: "other.example".into()
                },
            ]
        );
        // Times compare as milliseconds, whatever text a store wrote them in.
        assert_eq!(want["observed_at"], json!(1_796_032_800_123_i64));
    }
}
