//! What is known of one indicator, folded from the items that name it as they arrive:
//! the answer to "is this known bad, how bad now, since when, tied to whom", kept
//! ready so that a lookup reads one record instead of the history.
//!
//! A summary is built by [`facts`] of each item, applied with
//! [`IndicatorSummary::apply`]. A sighting or a relationship must be applied once only
//! (a bundle sent twice names the same sightings): each such fact carries the key that
//! makes it unique, and the store applies it only when it has not seen that key (the hot
//! tier keeps a marker per key beside the summary, written in the same atomic batch).
//! Indicator facts widen first and last seen, which may be applied any number of times.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::intel::Item;
use crate::score::{self, Combined, DecayModel, Evidence, ScoreError};

/// Most reports, sources, related objects and (source, day) pairs a summary lists;
/// beyond it the count of sightings still grows. (The score counts distinct (source,
/// day) pairs and saturates long before.)
pub const MAX_LISTED: usize = 1000;

/// One indicator as the hot tier keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndicatorSummary {
    /// `indicator--uuid5(kind:value)`.
    pub id: String,
    pub kind: Option<String>,
    pub value: Option<String>,
    /// The STIX 2.1 id of the observable it is, when STIX has one.
    pub stix_id: Option<String>,
    /// First and last seen: of the indicator in any feed, widened by its sightings.
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// Reports that named it.
    pub sightings: u64,
    /// Those reports' ids (the first [`MAX_LISTED`]).
    pub reports: Vec<String>,
    /// Who reported it, by name (the first [`MAX_LISTED`]).
    pub sources: Vec<String>,
    /// Each distinct (source, day) of its sightings with the latest time in it: what its
    /// score counts.
    pub seen: Vec<SeenOn>,
    /// Objects tied to it by a relationship (the first [`MAX_LISTED`]).
    pub related: Vec<Related>,
}

/// Sightings by one source on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenOn {
    pub source: Option<String>,
    pub day: NaiveDate,
    /// The latest sighting of that day.
    pub last: DateTime<Utc>,
}

/// The other end of a relationship.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Related {
    pub id: String,
    /// The relationship's type, as STIX writes it (`indicates`, `based-on`, …).
    #[serde(rename = "type")]
    pub relationship_type: String,
    /// Whether the indicator is the relationship's source (`indicator → id`).
    pub outgoing: bool,
}

/// Something an item says about an indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fact {
    /// The indicator itself: what it is, when it was seen.
    Indicator {
        kind: String,
        value: String,
        stix_id: Option<String>,
        first_seen: DateTime<Utc>,
        last_seen: DateTime<Utc>,
    },
    /// A report named it.
    Sighting {
        report: String,
        source: Option<String>,
        at: DateTime<Utc>,
    },
    /// A relationship has it at one end.
    Related(Related),
}

/// A fact about the indicator `indicator`; `once` is the key under which it counts only
/// once (none: it may be applied again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub indicator: String,
    pub once: Option<String>,
    pub fact: Fact,
}

/// Whether an id is an indicator's (CTAS's own, or a STIX indicator object's: both are
/// `indicator--`; a lookup by value reaches CTAS's, and a STIX indicator's summary holds
/// the relationships that lead from it).
fn is_indicator(id: &str) -> bool {
    id.starts_with("indicator--")
}

/// What `item` says about indicators.
pub fn facts(item: &Item) -> Vec<Update> {
    match item {
        Item::Indicator(i) => vec![Update {
            indicator: i.id.clone(),
            once: None,
            fact: Fact::Indicator {
                kind: i.kind.clone(),
                value: i.value.clone(),
                stix_id: i.stix_id.clone(),
                first_seen: i.first_seen,
                last_seen: i.last_seen,
            },
        }],
        Item::Sighting(s) => vec![Update {
            indicator: s.indicator_id.clone(),
            once: Some(format!("sighting {}", s.report_id)),
            fact: Fact::Sighting {
                report: s.report_id.clone(),
                source: s.source.clone(),
                at: s.seen_at,
            },
        }],
        Item::Relationship(r) => [
            (&r.source_ref, &r.target_ref, true),
            (&r.target_ref, &r.source_ref, false),
        ]
        .into_iter()
        .filter(|(end, _, _)| is_indicator(end))
        .map(|(end, other, outgoing)| Update {
            indicator: end.clone(),
            once: Some(format!("relationship {} {outgoing}", r.id)),
            fact: Fact::Related(Related {
                id: other.clone(),
                relationship_type: r.relationship_type.clone(),
                outgoing,
            }),
        })
        .collect(),
        // A flat record is an observation: what the history makes of it (a report, the
        // indicator it names, a sighting of it; `Intel::add_record`) says the same.
        Item::Record(r) => {
            let mut intel = super::Intel::default();
            intel.add_record(r);
            intel.into_items().iter().flat_map(facts).collect()
        }
        Item::Source(_) | Item::Report(_) | Item::Entity(_) => Vec::new(),
    }
}

/// The summaries of the indicators `items` tell of, each fact with a `once` key counted
/// once: what a store without the hot tier's markers folds (a lookup answered below the
/// hot tier, from the items a lower tier holds).
pub fn summarise<'a>(
    items: impl IntoIterator<Item = &'a Item>,
) -> std::collections::HashMap<String, IndicatorSummary> {
    let mut summaries = std::collections::HashMap::new();
    let mut counted = std::collections::HashSet::new();
    for update in items.into_iter().flat_map(facts) {
        if let Some(once) = &update.once {
            if !counted.insert((update.indicator.clone(), once.clone())) {
                continue;
            }
        }
        summaries
            .entry(update.indicator.clone())
            .or_insert_with(|| IndicatorSummary::new(&update.indicator))
            .apply(&update.fact);
    }
    summaries
}

impl IndicatorSummary {
    /// An empty summary of the indicator `id`.
    pub fn new(id: &str) -> Self {
        IndicatorSummary {
            id: id.to_owned(),
            ..Default::default()
        }
    }

    /// Fold one fact in (a sighting or relationship fact only once: see the module).
    pub fn apply(&mut self, fact: &Fact) {
        match fact {
            Fact::Indicator {
                kind,
                value,
                stix_id,
                first_seen,
                last_seen,
            } => {
                self.kind = Some(kind.clone());
                self.value = Some(value.clone());
                if stix_id.is_some() {
                    self.stix_id.clone_from(stix_id);
                }
                self.widen(*first_seen);
                self.widen(*last_seen);
            }
            Fact::Sighting { report, source, at } => {
                self.sightings += 1;
                self.widen(*at);
                push_new(&mut self.reports, report);
                if let Some(name) = source {
                    push_new(&mut self.sources, name);
                }
                let day = at.date_naive();
                let full = self.seen.len() >= MAX_LISTED;
                match self
                    .seen
                    .iter_mut()
                    .find(|s| s.source == *source && s.day == day)
                {
                    Some(s) => s.last = s.last.max(*at),
                    None if !full => self.seen.push(SeenOn {
                        source: source.clone(),
                        day,
                        last: *at,
                    }),
                    None => {}
                }
            }
            Fact::Related(r) => {
                if self.related.len() < MAX_LISTED && !self.related.contains(r) {
                    self.related.push(r.clone());
                }
            }
        }
    }

    fn widen(&mut self, at: DateTime<Utc>) {
        self.first_seen = Some(self.first_seen.map_or(at, |f| f.min(at)));
        self.last_seen = Some(self.last_seen.map_or(at, |l| l.max(at)));
    }

    /// The evidence `ctas_score` would take for this indicator, with `sources` (what is
    /// known of each source it names: reliability, credibility).
    pub fn evidence(&self, sources: Vec<score::Source>) -> Evidence {
        Evidence {
            kind: self.kind.clone(),
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            sources,
            // One sighting per (source, day), at the latest time of it: the score counts
            // distinct pairs and decays from the latest sighting, so it is the score of
            // every sighting.
            sightings: self
                .seen
                .iter()
                .map(|s| score::evidence::Sighting {
                    at: s.last,
                    source: s.source.clone(),
                })
                .collect(),
        }
    }

    /// Its score decayed to `at` by `model`, with the explanation; `sightings` in the
    /// explanation counts every sighting.
    pub fn score(
        &self,
        sources: Vec<score::Source>,
        model: &DecayModel,
        at: DateTime<Utc>,
    ) -> Result<Combined, ScoreError> {
        let mut combined = score::combine(&self.evidence(sources), model, at)?;
        combined.sightings = usize::try_from(self.sightings).unwrap_or(usize::MAX);
        Ok(combined)
    }
}

fn push_new(list: &mut Vec<String>, value: &str) {
    if list.len() < MAX_LISTED && !list.iter().any(|v| v == value) {
        list.push(value.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Indicator, Relationship, Sighting};
    use chrono::TimeZone;

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
    }

    #[test]
    fn a_summary_is_the_fold_of_its_facts_and_scores_as_all_its_sightings() {
        let id = "indicator--00000000-0000-5000-8000-000000000001";
        let items = [
            Item::Indicator(Indicator {
                id: id.into(),
                kind: "ipv4".into(),
                value: "198.51.100.7".into(),
                stix_id: None,
                first_seen: at(2, 0),
                last_seen: at(3, 0),
            }),
            Item::Sighting(Sighting {
                report_id: "report--a".into(),
                indicator_id: id.into(),
                source: Some("CERT-X".into()),
                seen_at: at(1, 8),
                raw: None,
                start_pos: None,
                end_pos: None,
            }),
            Item::Sighting(Sighting {
                report_id: "report--b".into(),
                indicator_id: id.into(),
                source: Some("CERT-X".into()),
                seen_at: at(1, 20),
                raw: None,
                start_pos: None,
                end_pos: None,
            }),
            Item::Relationship(Relationship {
                id: "relationship--r".into(),
                source_ref: id.into(),
                relationship_type: "indicates".into(),
                target_ref: "malware--m".into(),
                created: at(1, 0),
            }),
        ];
        let mut s = IndicatorSummary::new(id);
        let mut all = Vec::new();
        for item in &items {
            for u in facts(item) {
                assert_eq!(u.indicator, id);
                s.apply(&u.fact);
                all.push(u);
            }
        }
        assert_eq!(
            (s.first_seen, s.last_seen),
            (Some(at(1, 8)), Some(at(3, 0)))
        );
        assert_eq!(s.sightings, 2);
        assert_eq!(s.reports, ["report--a", "report--b"]);
        assert_eq!(s.sources, ["CERT-X"]);
        assert_eq!(s.seen.len(), 1, "one source, one day");
        assert_eq!(s.related[0].id, "malware--m");
        assert!(all.iter().filter(|u| u.once.is_some()).count() == 3);
        // The score of the summary is ctas_score's of every sighting.
        let model = &score::builtin_model("ctas:admiralty").unwrap();
        let full = Evidence {
            kind: Some("ipv4".into()),
            first_seen: Some(at(2, 0)),
            last_seen: Some(at(3, 0)),
            sources: vec![],
            sightings: vec![
                score::evidence::Sighting {
                    at: at(1, 8),
                    source: Some("CERT-X".into()),
                },
                score::evidence::Sighting {
                    at: at(1, 20),
                    source: Some("CERT-X".into()),
                },
            ],
        };
        let want = score::combine(&full, model, at(20, 0)).unwrap();
        let got = s.score(vec![], model, at(20, 0)).unwrap();
        assert_eq!(got.score, want.score);
        assert_eq!(got.sightings, 2);
    }

    #[test]
    fn summarise_counts_what_two_stores_both_hold_once() {
        let id = "indicator--00000000-0000-5000-8000-000000000002";
        let stix = "indicator--00000000-0000-4000-8000-000000000003";
        let sighting = Item::Sighting(Sighting {
            report_id: "report--a".into(),
            indicator_id: id.into(),
            source: Some("CERT-X".into()),
            seen_at: at(4, 0),
            raw: None,
            start_pos: None,
            end_pos: None,
        });
        let based_on = Item::Relationship(Relationship {
            id: "relationship--b".into(),
            source_ref: stix.into(),
            relationship_type: "based-on".into(),
            target_ref: id.into(),
            created: at(4, 0),
        });
        // The warm tier's copy, then the cold tier's: the same sighting and relationship.
        let items = [
            sighting.clone(),
            based_on.clone(),
            sighting,
            based_on,
            Item::Source(crate::model::Source {
                name: "CERT-X".into(),
                reliability: Some("B".into()),
                credibility: None,
            }),
        ];
        let all = summarise(&items);
        assert_eq!(all.len(), 2, "the indicator and the STIX indicator");
        let s = &all[id];
        assert_eq!(s.sightings, 1);
        assert_eq!(s.reports, ["report--a"]);
        assert_eq!(
            s.related,
            [Related {
                id: stix.into(),
                relationship_type: "based-on".into(),
                outgoing: false,
            }]
        );
        assert_eq!(all[stix].related[0].id, id);
        assert!(all[stix].related[0].outgoing);
    }
}
