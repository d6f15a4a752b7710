//! The history CTAS keeps: reports, the indicators they name, sightings, relationships
//! and entities (the STIX domain objects an analyst names). Every format is parsed into
//! an [`Intel`]; every face stores one the same way (`ctas.reports`, `ctas.indicators`,
//! `ctas.sightings`, `ctas.relationships`, `ctas.entities`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use uuid::Uuid;

use super::ids::{normal_indicator_id, normalise, observable_id, relationship_id};
use super::record::ThreatRecord;
use crate::chars::CharPositions;
use crate::ioc;

/// Who publishes reports, with how far they are trusted (NATO Admiralty code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    /// Source reliability, `A` (reliable) to `F` (cannot be judged).
    pub reliability: Option<String>,
    /// Default credibility of its information, `1` (confirmed) to `6` (cannot be judged).
    pub credibility: Option<String>,
}

/// A report: prose with a time, a place and a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The STIX id, `report--<MISP event uuid>`, or derived from time and text.
    pub id: String,
    pub title: Option<String>,
    pub body: String,
    /// The STIX report it came from.
    pub stix_id: Option<String>,
    /// The MISP event it came from.
    pub misp_uuid: Option<Uuid>,
    /// The name of who published it.
    pub source: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub observed_at: DateTime<Utc>,
    pub lat: Option<f64>,
    pub lng: Option<f64>,
    /// H3 cell at [`super::RECORD_H3_RESOLUTION`] when located.
    pub h3_cell: Option<u64>,
    pub tags: Vec<String>,
}

/// An indicator: a kind and a normalised value, seen from `first_seen` to `last_seen`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// `indicator--uuid5(kind:value)` ([`super::indicator_id`]).
    pub id: String,
    pub kind: String,
    pub value: String,
    /// The STIX 2.1 deterministic id of the observable it is, when STIX has one.
    pub stix_id: Option<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// A report naming an indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    pub report_id: String,
    pub indicator_id: String,
    pub source: Option<String>,
    pub seen_at: DateTime<Utc>,
    /// The indicator as written.
    pub raw: Option<String>,
    /// 1-based character positions in the report's body, end exclusive.
    pub start_pos: Option<i32>,
    pub end_pos: Option<i32>,
}

/// A typed edge between any two ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relationship {
    pub id: String,
    pub source_ref: String,
    pub relationship_type: String,
    pub target_ref: String,
    pub created: DateTime<Utc>,
}

/// A STIX domain object an analyst names (intrusion set, malware, attack pattern, ...)
/// or any object CTAS does not model otherwise, custom `x-` types included, kept whole.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entity {
    pub id: String,
    /// The STIX type: `intrusion-set`, `malware`, `x-mitre-tactic`, ...
    pub entity_type: String,
    pub name: Option<String>,
    pub aliases: Vec<String>,
    /// Ids in other catalogues: ATT&CK's `T1059.001`, `G0016`, CVE numbers.
    pub external_ids: Vec<String>,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub revoked: bool,
    /// The object as it came, as JSON text: a 30 MB bundle's entities are not held as
    /// a parsed tree besides it.
    pub object: Box<RawValue>,
}

impl PartialEq for Entity {
    fn eq(&self, o: &Self) -> bool {
        (
            &self.id,
            &self.entity_type,
            &self.name,
            &self.aliases,
            &self.external_ids,
            self.created,
            self.modified,
            self.revoked,
            self.object.get(),
        ) == (
            &o.id,
            &o.entity_type,
            &o.name,
            &o.aliases,
            &o.external_ids,
            o.created,
            o.modified,
            o.revoked,
            o.object.get(),
        )
    }
}

impl Entity {
    /// Whether a version of an entity modified at `modified` stands in place of the
    /// version of the same id held before (`held`): the later `modified` wins, and an
    /// equal one (the version sent again, or put back by a repair); an undated version
    /// (a MISP galaxy cluster) never replaces a dated one (the ATT&CK object it names).
    /// The one rule of every tier, whatever order versions arrive in; the cold tier's
    /// upsert says it in SQL ([`crate::history`]).
    pub fn replaces(modified: Option<DateTime<Utc>>, held: Option<DateTime<Utc>>) -> bool {
        // None orders before every date.
        modified >= held
    }
}

/// What one document holds, each object once (by id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Intel {
    pub sources: Vec<Source>,
    pub reports: Vec<Report>,
    pub indicators: Vec<Indicator>,
    pub sightings: Vec<Sighting>,
    pub relationships: Vec<Relationship>,
    pub entities: Vec<Entity>,
    #[serde(skip)]
    index: Index,
}

/// Where each id sits, so that the same object met twice is kept once.
#[derive(Debug, Clone, Default, PartialEq)]
struct Index {
    sources: HashMap<String, usize>,
    indicators: HashMap<String, usize>,
    sightings: HashMap<(String, String), usize>,
    relationships: HashMap<(String, String, String), usize>,
    reports: HashMap<String, usize>,
    entities: HashMap<String, usize>,
}

impl Intel {
    /// Records the indicator `value` of `kind` seen at `seen`; returns its id. The same
    /// indicator added again widens its first/last seen.
    pub fn add_indicator(&mut self, kind: &str, value: &str, seen: DateTime<Utc>) -> String {
        let normal = normalise(kind, value);
        self.merge_indicator(Indicator {
            id: normal_indicator_id(kind, &normal),
            stix_id: observable_id(kind, &normal),
            kind: kind.to_owned(),
            value: normal,
            first_seen: seen,
            last_seen: seen,
        })
    }

    /// An indicator already in normal form with its ids (an item read back from the
    /// router's log); the same indicator again widens its first/last seen. Its id.
    pub fn merge_indicator(&mut self, ind: Indicator) -> String {
        let id = ind.id.clone();
        match self.index.indicators.get(&id) {
            Some(&i) => {
                let kept = &mut self.indicators[i];
                kept.first_seen = kept.first_seen.min(ind.first_seen);
                kept.last_seen = kept.last_seen.max(ind.last_seen);
            }
            None => {
                self.index
                    .indicators
                    .insert(id.clone(), self.indicators.len());
                self.indicators.push(ind);
            }
        }
        id
    }

    /// A report naming an indicator; one sighting per pair, the first kept, with the
    /// place in the text a later one knows when the first did not (a STIX report names
    /// an indicator by reference and again in its text).
    pub fn add_sighting(&mut self, sighting: Sighting) {
        let key = (sighting.report_id.clone(), sighting.indicator_id.clone());
        match self.index.sightings.get(&key) {
            Some(&i) => {
                let kept = &mut self.sightings[i];
                if kept.start_pos.is_none() && sighting.start_pos.is_some() {
                    kept.raw = sighting.raw;
                    kept.start_pos = sighting.start_pos;
                    kept.end_pos = sighting.end_pos;
                }
            }
            None => {
                self.index.sightings.insert(key, self.sightings.len());
                self.sightings.push(sighting);
            }
        }
    }

    /// A relationship; one per (source, type, target), the earliest `created` kept.
    pub fn add_relationship(&mut self, rel: Relationship) {
        let key = (
            rel.source_ref.clone(),
            rel.relationship_type.clone(),
            rel.target_ref.clone(),
        );
        match self.index.relationships.get(&key) {
            Some(&i) => {
                let kept = &mut self.relationships[i];
                kept.created = kept.created.min(rel.created);
            }
            None => {
                self.index
                    .relationships
                    .insert(key, self.relationships.len());
                self.relationships.push(rel);
            }
        }
    }

    /// A relationship CTAS derives, with its derived id.
    pub fn relate(&mut self, source: &str, rtype: &str, target: &str, created: DateTime<Utc>) {
        self.add_relationship(Relationship {
            id: relationship_id(source, rtype, target),
            source_ref: source.to_owned(),
            relationship_type: rtype.to_owned(),
            target_ref: target.to_owned(),
            created,
        });
    }

    /// A source; what is known of its ratings is kept, the first word on each winning.
    pub fn add_source(&mut self, source: Source) {
        match self.index.sources.get(&source.name) {
            Some(&i) => {
                let kept = &mut self.sources[i];
                kept.reliability = kept.reliability.take().or(source.reliability);
                kept.credibility = kept.credibility.take().or(source.credibility);
            }
            None => {
                self.index
                    .sources
                    .insert(source.name.clone(), self.sources.len());
                self.sources.push(source);
            }
        }
    }

    /// A report, and its source; a second report of the same id replaces the first (a
    /// later version).
    pub fn add_report(&mut self, report: Report) {
        if let Some(name) = &report.source {
            self.add_source(Source {
                name: name.clone(),
                reliability: None,
                credibility: None,
            });
        }
        match self.index.reports.get(&report.id) {
            Some(&i) => self.reports[i] = report,
            None => {
                self.index
                    .reports
                    .insert(report.id.clone(), self.reports.len());
                self.reports.push(report);
            }
        }
    }

    /// An entity; of two versions of one id, the one [`Entity::replaces`] keeps.
    pub fn add_entity(&mut self, entity: Entity) {
        match self.index.entities.get(&entity.id) {
            Some(&i) => {
                if Entity::replaces(entity.modified, self.entities[i].modified) {
                    self.entities[i] = entity;
                }
            }
            None => {
                self.index
                    .entities
                    .insert(entity.id.clone(), self.entities.len());
                self.entities.push(entity);
            }
        }
    }

    /// Reads every report's text for indicators, as `ctas_extract_iocs` does: each one
    /// an indicator and a sighting with its place in the text.
    pub fn extract_from_reports(&mut self) {
        for r in 0..self.reports.len() {
            self.extract_from_report(r);
        }
    }

    /// [`Intel::extract_from_reports`] for the report at `r`.
    fn extract_from_report(&mut self, r: usize) {
        // The body is lent out while indicators are added, then put back.
        let body = std::mem::take(&mut self.reports[r].body);
        let (report_id, source, seen) = {
            let rep = &self.reports[r];
            (rep.id.clone(), rep.source.clone(), rep.observed_at)
        };
        let iocs = ioc::extract(&body);
        let pos = CharPositions::new(&body, iocs.iter().flat_map(|i| [i.start, i.end]));
        for i in &iocs {
            let indicator_id = self.add_indicator(i.kind.as_str(), &i.value, seen);
            self.add_sighting(Sighting {
                report_id: report_id.clone(),
                indicator_id,
                source: source.clone(),
                seen_at: seen,
                raw: Some(body[i.start..i.end].to_owned()),
                start_pos: Some(pos.of(i.start)),
                end_pos: Some(pos.of(i.end)),
            });
        }
        self.reports[r].body = body;
    }

    /// How many objects of each part it holds.
    pub fn counts(&self) -> Counts {
        Counts {
            sources: self.sources.len(),
            reports: self.reports.len(),
            indicators: self.indicators.len(),
            sightings: self.sightings.len(),
            relationships: self.relationships.len(),
            entities: self.entities.len(),
        }
    }
}

/// How many of each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub sources: usize,
    pub reports: usize,
    pub indicators: usize,
    pub sightings: usize,
    pub relationships: usize,
    pub entities: usize,
}

/// One object of the model: what ctas-router's log carries and its tiers store, each
/// with a key of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "object", rename_all = "snake_case")]
pub enum Item {
    /// A flat record, as a client sent it (kept whole for the hot and warm tiers; the
    /// history holds it as an observation, [`Intel::add_record`]).
    Record(ThreatRecord),
    Source(Source),
    Report(Report),
    Indicator(Indicator),
    Sighting(Sighting),
    Relationship(Relationship),
    Entity(Entity),
}

impl Item {
    /// The key the item is stored under: its id, or for a sighting the pair it ties
    /// and for a source its name.
    pub fn key(&self) -> String {
        match self {
            Item::Record(r) => r.id.clone(),
            Item::Source(s) => format!("source:{}", s.name),
            Item::Report(r) => r.id.clone(),
            Item::Indicator(i) => i.id.clone(),
            Item::Sighting(s) => format!("sighting:{} {}", s.report_id, s.indicator_id),
            Item::Relationship(r) => r.id.clone(),
            Item::Entity(e) => e.id.clone(),
        }
    }

    /// What kind of item it is, as its tag says.
    pub fn type_name(&self) -> &'static str {
        match self {
            Item::Record(_) => "record",
            Item::Source(_) => "source",
            Item::Report(_) => "report",
            Item::Indicator(_) => "indicator",
            Item::Sighting(_) => "sighting",
            Item::Relationship(_) => "relationship",
            Item::Entity(_) => "entity",
        }
    }

    /// This item, a later version of `earlier` (same key), takes what of it still
    /// holds: an indicator seen in two documents was seen from the first to the last
    /// time of either; an entity stays the version [`Entity::replaces`] keeps. Of other
    /// items the later version stands as it is.
    pub fn absorb(&mut self, earlier: &Item) {
        match (self, earlier) {
            (Item::Indicator(later), Item::Indicator(earlier)) => {
                later.first_seen = later.first_seen.min(earlier.first_seen);
                later.last_seen = later.last_seen.max(earlier.last_seen);
                if later.stix_id.is_none() {
                    later.stix_id.clone_from(&earlier.stix_id);
                }
            }
            (Item::Entity(later), Item::Entity(earlier))
                if !Entity::replaces(later.modified, earlier.modified) =>
            {
                later.clone_from(earlier);
            }
            _ => {}
        }
    }

    /// When it was observed, seen or made: a record's or report's observation, an
    /// indicator's last sighting, a sighting's, a relationship's creation, an entity's
    /// last modification (or creation). A source has none. What ages an item.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        match self {
            Item::Record(r) => Some(r.observed_at),
            Item::Report(r) => Some(r.observed_at),
            Item::Indicator(i) => Some(i.last_seen),
            Item::Sighting(s) => Some(s.seen_at),
            Item::Relationship(r) => Some(r.created),
            Item::Entity(e) => e.modified.or(e.created),
            Item::Source(_) => None,
        }
    }

    /// About how many bytes it takes: for bounding batches.
    pub fn weight(&self) -> usize {
        256 + match self {
            Item::Record(r) => r.value.len() + r.description.as_ref().map_or(0, String::len),
            Item::Report(r) => r.body.len(),
            Item::Indicator(i) => i.value.len(),
            Item::Entity(e) => e.object.get().len(),
            _ => 0,
        }
    }
}

impl Intel {
    /// The items, in an order that lets each be stored after what it refers to:
    /// sources, entities, reports, indicators, sightings, relationships.
    pub fn into_items(self) -> Vec<Item> {
        let mut items = Vec::with_capacity(
            self.sources.len()
                + self.entities.len()
                + self.reports.len()
                + self.indicators.len()
                + self.sightings.len()
                + self.relationships.len(),
        );
        items.extend(self.sources.into_iter().map(Item::Source));
        items.extend(self.entities.into_iter().map(Item::Entity));
        items.extend(self.reports.into_iter().map(Item::Report));
        items.extend(self.indicators.into_iter().map(Item::Indicator));
        items.extend(self.sightings.into_iter().map(Item::Sighting));
        items.extend(self.relationships.into_iter().map(Item::Relationship));
        items
    }

    /// The history of `items`: flat records become observations.
    pub fn from_items(items: impl IntoIterator<Item = Item>) -> Intel {
        let mut intel = Intel::default();
        for item in items {
            match item {
                Item::Record(r) => intel.add_record(&r),
                Item::Source(s) => intel.add_source(s),
                Item::Report(r) => intel.add_report(r),
                Item::Indicator(i) => {
                    intel.merge_indicator(i);
                }
                Item::Sighting(s) => intel.add_sighting(s),
                Item::Relationship(r) => intel.add_relationship(r),
                Item::Entity(e) => intel.add_entity(e),
            }
        }
        intel
    }

    /// A flat record as the history holds it: an observation, that is a report whose
    /// id is [`observation_id`] of the record's — its description (or `kind value`) the
    /// text, its source, time, place and tags — and, unless it is itself a report
    /// (kind `report`, its value the text), the indicator it names and a sighting of it.
    /// A report's text and a description are read for indicators like any report's.
    pub fn add_record(&mut self, r: &ThreatRecord) {
        let is_report = r.kind == "report";
        let named = format!("{} {}", r.kind, r.value);
        let body = if is_report {
            r.value.clone()
        } else {
            r.description.clone().unwrap_or_else(|| named.clone())
        };
        let report_id = observation_id(&r.id);
        self.add_report(Report {
            id: report_id.clone(),
            title: if is_report {
                r.description.clone()
            } else {
                Some(named)
            },
            body,
            stix_id: None,
            misp_uuid: None,
            source: r.source.clone(),
            published_at: None,
            observed_at: r.observed_at,
            lat: r.lat,
            lng: r.lng,
            h3_cell: r.h3_cell,
            tags: r.tags.clone(),
        });
        let at = self.index.reports[&report_id];
        if !is_report {
            let indicator_id = self.add_indicator(&r.kind, &r.value, r.observed_at);
            self.add_sighting(Sighting {
                report_id,
                indicator_id,
                source: r.source.clone(),
                seen_at: r.observed_at,
                raw: Some(r.value.clone()),
                start_pos: None,
                end_pos: None,
            });
        }
        // A description is prose, read like a report's; `kind value` is only a name.
        if is_report || r.description.is_some() {
            self.extract_from_report(at);
        }
    }
}

/// The id of the report a flat record is in the history: the record's own id, except
/// that an `indicator--` id (the default: the id of the indicator it names) becomes
/// `report--` with the same UUID, so that report and indicator do not share an id.
pub fn observation_id(record_id: &str) -> String {
    match record_id.strip_prefix("indicator--") {
        Some(uuid) => format!("report--{uuid}"),
        None => record_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(name: &str, modified: Option<&str>) -> Entity {
        Entity {
            id: "malware--00000000-0000-4000-8000-000000000001".into(),
            entity_type: "malware".into(),
            name: Some(name.into()),
            aliases: Vec::new(),
            external_ids: Vec::new(),
            created: None,
            modified: modified.map(|m| m.parse().unwrap()),
            revoked: false,
            object: RawValue::from_string("{}".into()).unwrap(),
        }
    }

    /// STIX 2.1 (3.6, versioning): of the versions of an object, the one with the latest
    /// `modified` is the current one, whichever arrives last; the same holds in a batch
    /// of the log (absorb) as in a document (add_entity).
    #[test]
    fn the_latest_modified_version_of_an_entity_stands() {
        let new = version("new", Some("2024-06-13T01:05:00.001Z"));
        let old = version("old", Some("2024-06-10T20:11:00.001Z"));
        let undated = version("undated", None);
        let kept = |first: &Entity, then: &Entity| {
            let mut later = Item::Entity(then.clone());
            later.absorb(&Item::Entity(first.clone()));
            let mut intel = Intel::default();
            intel.add_entity(first.clone());
            intel.add_entity(then.clone());
            assert_eq!(intel.entities.len(), 1);
            assert_eq!(later, Item::Entity(intel.entities[0].clone()));
            intel.entities[0].name.clone().unwrap()
        };
        assert_eq!(kept(&old, &new), "new");
        assert_eq!(kept(&new, &old), "new");
        assert_eq!(kept(&new, &undated), "new");
        assert_eq!(kept(&undated, &old), "old");
        let again = version("put back", Some("2024-06-13T01:05:00.001Z"));
        assert_eq!(kept(&new, &again), "put back", "an equal version replaces");
    }
}
