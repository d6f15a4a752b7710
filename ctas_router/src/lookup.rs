//! Lookup by value: what the tiers know of an indicator asked as an analyst has it.
//!
//! The value is refanged, classified and normalised the way ingest does
//! (`ctas_core::ioc::normalise`, or `ctas_core::model::normalise` for a kind named), so
//! `hxxp://Evil[.]com`, `EVIL.COM` and `2001:DB8:0::1` reach the ids ingest gave them;
//! the answer is the indicator's summary (`ctas_core::model::summary`) with its sources
//! as the tiers know them, what it is tied to, and its score decayed to the time asked.
//!
//! The hot tier's summary answers first. An indicator it has none of (a hot tier begun
//! anew beside older warm and cold tiers; history loaded into PostgreSQL by SQL) is
//! asked of the warm and the cold tier at once, for all such values of a batch in one
//! query each; what they hold is folded into a summary (their union: the warm tier may
//! hold what the cold has not confirmed yet, the cold what the warm has let go) and
//! promoted, so the next lookup of it is a hot one; what neither holds is not asked of
//! them again for a minute ([`Absent`]). Names of related objects the hot tier no
//! longer holds (demoted) are asked of the warm tier, then the cold.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use ctas_core::model::summary::{facts, summarise, Related};
use ctas_core::model::{IndicatorSummary, Item, Source};
use ctas_core::score;

use crate::api::{Problem, MODELS};
use crate::hot::{Hot, HotError};
use crate::metrics::Answered;
use crate::tiers::cold::Cold;
use crate::tiers::warm::Warm;
use crate::tiers::{in_time, Label, Recall, TierName};

/// Most values one batch lookup answers.
pub const MAX_BATCH: usize = 10_000;

/// Most values whose hot reads run on the runtime's thread.
const INLINE: usize = 8;

/// Why a value has no answer.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("{} is not an indicator CTAS can classify; name its kind with ?kind= (see ctas_ioc_kinds())", Quoted(.0))]
    NotAnIndicator(String),
    #[error("no {} {} is known (id {})", .0.kind, Quoted(&.0.normal), .0.id)]
    Unknown(Arc<Name>),
    #[error("no {} {} is in the hot tier, and it cannot be said whether a lower tier knows it: {silent}", .name.kind, Quoted(&.name.normal))]
    Unavailable { name: Arc<Name>, silent: String },
    #[error("{0}")]
    Model(String),
    #[error("the indicator cannot be scored: {0}")]
    Score(String),
    #[error(transparent)]
    Hot(#[from] HotError),
}

/// A value quoted as `{:?}` writes it: most values need no escaping, and are copied
/// whole rather than a character at a time (the messages of a batch's 5,000 unknown
/// values were a twentieth of its profile).
struct Quoted<'a>(&'a str);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // `{:?}` escapes `"`, `\` and what is not printable; other printable ASCII stays.
        let plain = |b: &u8| matches!(b, b' '..=b'~') && !matches!(b, b'"' | b'\\');
        if self.0.as_bytes().iter().all(plain) {
            f.write_str("\"")?;
            f.write_str(self.0)?;
            f.write_str("\"")
        } else {
            write!(f, "{:?}", self.0)
        }
    }
}

impl LookupError {
    /// How a value that has no answer counts in the metrics.
    pub fn answered(&self) -> Answered {
        match self {
            LookupError::NotAnIndicator(_) => Answered::Invalid,
            LookupError::Unknown(_) => Answered::Unknown,
            _ => Answered::Unavailable,
        }
    }
}

impl From<LookupError> for Problem {
    fn from(e: LookupError) -> Problem {
        let (status, kind, title) = match &e {
            LookupError::NotAnIndicator(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-an-indicator",
                "Not an indicator",
            ),
            LookupError::Unknown(_) => (
                StatusCode::NOT_FOUND,
                "unknown-indicator",
                "Unknown indicator",
            ),
            LookupError::Unavailable { .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "tier-unavailable",
                "A tier did not answer",
            ),
            LookupError::Model(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-model",
                "Unknown decay model",
            ),
            LookupError::Score(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "cannot-score",
                "The indicator cannot be scored",
            ),
            LookupError::Hot(_) => return Problem::internal(e),
        };
        Problem::new(status, kind, title, e.to_string())
    }
}

/// The tiers a lookup looks in, in order.
#[derive(Clone)]
pub struct Tiers {
    pub hot: Hot,
    pub warm: Arc<Warm>,
    /// None when off: it holds nothing then.
    pub cold: Option<Arc<Cold>>,
    /// What the warm and cold tiers were asked for lately and did not hold.
    pub absent: Arc<Absent>,
}

/// How long an indicator the warm and cold tiers did not hold is not asked of them
/// again: what reaches them later other than through the router (history loaded by
/// SQL) is found after this at the latest. What comes through the router is in the hot
/// tier, asked first, at once.
pub const ABSENT_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// Most indicators remembered as absent (about 100 bytes each).
const ABSENT_MOST: usize = 200_000;

/// Indicators the tiers below the hot one did not hold when last asked, for
/// [`ABSENT_FOR`] (negative caching, as DNS resolvers do, RFC 2308): a SIEM asks the
/// same unknown values again and again, and SurrealDB takes about 100 ms to look up
/// 5,000 ids — twice the whole budget of a batch lookup.
#[derive(Default)]
pub struct Absent {
    since: std::sync::Mutex<HashMap<String, std::time::Instant>>,
}

impl Absent {
    /// Whether each of `ids` was found absent less than [`ABSENT_FOR`] ago.
    fn contains_all(&self, ids: &[&str]) -> Vec<bool> {
        let now = std::time::Instant::now();
        let since = self.since.lock().expect("poisoned");
        ids.iter()
            .map(|id| since.get(*id).is_some_and(|t| now - *t < ABSENT_FOR))
            .collect()
    }

    /// Remember `ids` as absent from now on; past [`ABSENT_MOST`], what has expired
    /// goes, and if that is not enough, everything.
    fn remember(&self, ids: impl IntoIterator<Item = String>) {
        let now = std::time::Instant::now();
        let mut since = self.since.lock().expect("poisoned");
        since.extend(ids.into_iter().map(|id| (id, now)));
        if since.len() > ABSENT_MOST {
            since.retain(|_, t| t.elapsed() < ABSENT_FOR);
            if since.len() > ABSENT_MOST {
                since.clear();
            }
        }
    }
}

/// What is asked of every value of a lookup.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The values' kind, when named.
    pub kind: Option<String>,
    /// The decay model's name.
    pub model: String,
    /// When the score is decayed to.
    pub at: DateTime<Utc>,
}

/// The indicator `value` as the tiers know it ([`gather`] of one value).
pub async fn look_up(tiers: &Tiers, value: String, asked: Asked) -> Result<Answer, LookupError> {
    let (_, mut slots) = gather(tiers, vec![value], asked).await?;
    match slots.results.pop() {
        Some(Slot::Found(answer)) => Ok(*answer),
        Some(Slot::Missing(e)) => Err(e),
        _ => Err(LookupError::Hot(HotError::Corrupt(
            "a lookup of one value had no answer".into(),
        ))),
    }
}

/// Each of `values` looked up, in the order asked (the values are handed back beside
/// their answers). A failure of the hot tier, or a model that does not apply, fails
/// the whole lookup; a lower tier that does not answer leaves the values only it could
/// have known unanswered, and is named.
async fn gather(
    tiers: &Tiers,
    values: Vec<String>,
    asked: Asked,
) -> Result<(Vec<String>, Slots), LookupError> {
    // The hot tier first, for every value: a few sled reads on the runtime's thread
    // (a hand-off to a blocking thread would cost a single lookup more than its reads),
    // a batch's many off it.
    let (values, mut slots) = if values.len() <= INLINE {
        let slots = from_hot(&tiers.hot, &tiers.absent, &values, &asked)?;
        (values, slots)
    } else {
        from_hot_in_parts(tiers, values, &asked).await?
    };
    let missed: Vec<String> = slots
        .results
        .iter()
        .filter_map(|s| match s {
            Slot::Miss(name) => Some(name.id.clone()),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !missed.is_empty() {
        recall(tiers, &mut slots, &missed, &asked).await?;
    }
    name_related(tiers, &mut slots).await;
    Ok((values, slots))
}

/// Values a blocking thread answers from the hot tier at the least: a batch is cut
/// into [`parts_for_cores`] parts, down to parts of this size (and its answers written
/// as JSON likewise).
pub const PART: usize = 512;

/// How many parts a batch is cut into: four a core, as a known value's answer takes ten
/// times an unknown one's to make and to write, and the known values may all sit at one
/// end of a batch (cut in as many parts as cores, one core made every answer while the
/// other was soon idle).
pub fn parts_for_cores() -> usize {
    4 * std::thread::available_parallelism().map_or(1, usize::from)
}

/// [`from_hot`] of many values, off the runtime: in parts on the blocking threads at
/// once (each value's answer — normalising, scoring, naming its ties — is CPU work), the
/// answers put back in the order asked.
async fn from_hot_in_parts(
    tiers: &Tiers,
    values: Vec<String>,
    asked: &Asked,
) -> Result<(Vec<String>, Slots), LookupError> {
    let size = values.len().div_ceil(parts_for_cores()).max(PART);
    let parts: Vec<Vec<String>> = values.chunks(size).map(<[String]>::to_vec).collect();
    let tasks: Vec<_> = parts
        .into_iter()
        .map(|part| {
            let (hot, absent, asked) = (tiers.hot.clone(), tiers.absent.clone(), asked.clone());
            tokio::task::spawn_blocking(move || from_hot(&hot, &absent, &part, &asked))
        })
        .collect();
    let mut slots = Slots {
        results: Vec::with_capacity(values.len()),
        unavailable: Vec::new(),
    };
    for task in tasks {
        let part = task.await.map_err(|e| {
            LookupError::Hot(HotError::Corrupt(format!("the lookup failed: {e}")))
        })??;
        slots.results.extend(part.results);
    }
    Ok((values, slots))
}

/// Each value's answer from the hot tier, or what to ask below it: not what the tiers
/// below did not hold a moment ago ([`Absent`]). The maps shared by every lookup are
/// asked under one lock for all the values (asked value by value, two threads took
/// turns at each lock ten thousand times a batch).
fn from_hot(
    hot: &Hot,
    absent: &Absent,
    values: &[String],
    asked: &Asked,
) -> Result<Slots, LookupError> {
    let mut results = Vec::with_capacity(values.len());
    let names = NAMES.resolve_all(values, asked.kind.as_deref());
    let ids: Vec<&str> = names.iter().flatten().map(|n| n.id.as_str()).collect();
    let summaries = hot.indicators(&ids)?;
    let unheld: Vec<&str> = ids
        .iter()
        .zip(&summaries)
        .filter(|(_, s)| s.is_none())
        .map(|(id, _)| *id)
        .collect();
    let mut absent = absent.contains_all(&unheld).into_iter();
    let mut summaries = summaries.into_iter();
    let view = View::hot(hot);
    for (value, name) in values.iter().zip(&names) {
        let Some(name) = name else {
            results.push(Slot::Missing(LookupError::NotAnIndicator(value.clone())));
            continue;
        };
        results.push(match summaries.next().flatten() {
            Some(summary) => Slot::Found(Box::new(answer(
                &view,
                &name.kind,
                name.normal.clone(),
                &summary,
                asked,
                "hot",
            )?)),
            None if absent.next() == Some(true) => {
                Slot::Missing(LookupError::Unknown(name.clone()))
            }
            None => Slot::Miss(name.clone()),
        });
    }
    Ok(Slots {
        results,
        unavailable: Vec::new(),
    })
}

/// A value as the tiers know it: its kind, normal form and indicator id.
#[derive(Debug)]
pub struct Name {
    pub kind: String,
    pub normal: String,
    pub id: String,
}

/// The name of a value as asked (of the kind named, else as the IOC scanner reads it);
/// None when it is not an indicator.
fn resolve(value: &str, kind: Option<&str>) -> Option<Name> {
    let (kind, normal) = match kind {
        Some(kind) => (kind.to_owned(), ctas_core::model::normalise(kind, value)),
        None => {
            let ioc = ctas_core::ioc::normalise(value)?;
            (ioc.kind.as_str().to_owned(), ioc.value)
        }
    };
    let id = ctas_core::model::indicator_id(&kind, &normal);
    Some(Name { kind, normal, id })
}

/// Most values whose names are remembered (a few hundred bytes each).
const NAMES_MOST: usize = 200_000;

/// Values named lately ([`resolve`], a pure function of the value and the kind asked):
/// a SIEM asks the same values again and again, and reading one (the IOC scanner, then
/// the normal form and its UUIDv5 again) was a fifth of a batch lookup's time.
static NAMES: Names = Names {
    by_kind: std::sync::Mutex::new(Vec::new()),
};

/// Each kind asked (None: found by the scanner) with its values' names.
type NamesOfKind = (Option<String>, HashMap<String, Option<Arc<Name>>>);

struct Names {
    by_kind: std::sync::Mutex<Vec<NamesOfKind>>,
}

impl Names {
    /// The names of `values` as asked, remembered or read now (outside the lock).
    fn resolve_all(&self, values: &[String], kind: Option<&str>) -> Vec<Option<Arc<Name>>> {
        let mut names: Vec<Option<Option<Arc<Name>>>> = {
            let by_kind = self.by_kind.lock().expect("poisoned");
            match by_kind.iter().find(|(k, _)| k.as_deref() == kind) {
                Some((_, known)) => values
                    .iter()
                    .map(|v| known.get(v.as_str()).cloned())
                    .collect(),
                None => vec![None; values.len()],
            }
        };
        let mut new = Vec::new();
        for (value, name) in values.iter().zip(&mut names) {
            if name.is_none() {
                let read = resolve(value, kind).map(Arc::new);
                new.push((value.clone(), read.clone()));
                *name = Some(read);
            }
        }
        if !new.is_empty() {
            let mut by_kind = self.by_kind.lock().expect("poisoned");
            // Each kind counts too: a client naming a new kind at every call (any
            // string is one) must not grow the list for ever.
            let held: usize = by_kind.iter().map(|(_, known)| 1 + known.len()).sum();
            if held + new.len() > NAMES_MOST {
                by_kind.clear();
            }
            let at = match by_kind.iter().position(|(k, _)| k.as_deref() == kind) {
                Some(at) => at,
                None => {
                    by_kind.push((kind.map(str::to_owned), HashMap::new()));
                    by_kind.len() - 1
                }
            };
            by_kind[at].1.extend(new);
        }
        names.into_iter().map(Option::flatten).collect()
    }
}

/// Ask the warm and the cold tier at once what they hold of the indicators `ids`, which
/// the hot tier has no summary of; answer the misses from the union, promote it.
async fn recall(
    tiers: &Tiers,
    slots: &mut Slots,
    ids: &[String],
    asked: &Asked,
) -> Result<(), LookupError> {
    let (warm, cold) = tokio::join!(
        in_time(TierName::Warm, tiers.warm.about(ids)),
        cold_about(tiers, ids),
    );
    let mut items = Vec::new();
    let mut in_warm = HashSet::new();
    for (tier, found) in [(TierName::Warm, warm), (TierName::Cold, cold)] {
        match found {
            Ok(found) => {
                if tier == TierName::Warm {
                    in_warm.extend(found.iter().flat_map(facts).map(|u| u.indicator));
                }
                items.extend(found);
            }
            Err(e) => slots.unavailable.push(e),
        }
    }
    // A STIX indicator whose pattern names one of them (`based-on`) carries what it is
    // tied to (`indicates` a malware): its own relationships are asked too.
    let summaries = summarise(&items);
    let via: Vec<String> = ids
        .iter()
        .filter_map(|id| summaries.get(id))
        .flat_map(|s| &s.related)
        .filter(|r| r.relationship_type == "based-on" && !r.outgoing)
        .map(|r| r.id.clone())
        .filter(|id| !ids.contains(id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !via.is_empty() {
        let (warm, cold) = tokio::join!(
            in_time(TierName::Warm, tiers.warm.about(&via)),
            cold_about(tiers, &via),
        );
        for found in [warm, cold] {
            match found {
                Ok(found) => items.extend(found),
                Err(e) => slots.unavailable.push(e),
            }
        }
    }
    let summaries = summarise(&items);
    let view = View {
        hot: &tiers.hot,
        summaries: &summaries,
        sources: items
            .iter()
            .filter_map(|i| match i {
                Item::Source(s) => Some((s.name.clone(), s.clone())),
                _ => None,
            })
            .collect(),
        read: Default::default(),
    };
    let silent = slots.unavailable.join("; ");
    if silent.is_empty() {
        tiers.absent.remember(
            ids.iter()
                .filter(|id| !summaries.contains_key(id.as_str()))
                .cloned(),
        );
    }
    for slot in &mut slots.results {
        let Slot::Miss(name) = slot else {
            continue;
        };
        *slot = match summaries.get(name.id.as_str()) {
            Some(summary) => {
                let tier = if in_warm.contains(name.id.as_str()) {
                    "warm"
                } else {
                    "cold"
                };
                let found = answer(&view, &name.kind, name.normal.clone(), summary, asked, tier)?;
                Slot::Found(Box::new(found))
            }
            None if silent.is_empty() => Slot::Missing(LookupError::Unknown(name.clone())),
            None => Slot::Missing(LookupError::Unavailable {
                name: name.clone(),
                silent: silent.clone(),
            }),
        };
    }
    if !items.is_empty() {
        // Not the lookup's failure: the next one asks below again.
        if let Err(e) = tiers.hot.promote(items).await {
            tracing::warn!(error = %e, "a lookup's answer from below was not kept hot");
        }
    }
    Ok(())
}

/// What the cold tier holds of `ids` ([`Recall::about`]); nothing when it is off.
async fn cold_about(tiers: &Tiers, ids: &[String]) -> Result<Vec<Item>, String> {
    match &tiers.cold {
        Some(cold) => in_time(TierName::Cold, cold.about(ids)).await,
        None => Ok(Vec::new()),
    }
}

/// Name the related objects the hot tier does not hold (demoted, or never there),
/// from the warm tier, then the cold; a tier that does not answer leaves them unnamed.
async fn name_related(tiers: &Tiers, slots: &mut Slots) {
    let unnamed = |slots: &Slots| -> Vec<String> {
        slots
            .results
            .iter()
            .filter_map(|s| match s {
                Slot::Found(a) => Some(a.related.iter()),
                _ => None,
            })
            .flatten()
            .filter(|r| r.object_type.is_none())
            .map(|r| r.id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    for tier in [TierName::Warm, TierName::Cold] {
        let ids = unnamed(slots);
        if ids.is_empty() {
            return;
        }
        let labels = match (tier, &tiers.cold) {
            (TierName::Warm, _) => in_time(tier, tiers.warm.labels(&ids)).await,
            (_, Some(cold)) => in_time(tier, cold.labels(&ids)).await,
            (_, None) => return,
        };
        let labels: HashMap<String, Label> = match labels {
            Ok(labels) => labels.into_iter().map(|l| (l.id.clone(), l)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "related objects of a lookup left unnamed");
                continue;
            }
        };
        for slot in &mut slots.results {
            if let Slot::Found(a) = slot {
                for r in a.related.iter_mut().filter(|r| r.object_type.is_none()) {
                    if let Some(l) = labels.get(&r.id) {
                        r.object_type.clone_from(&l.object_type);
                        r.name.clone_from(&l.name);
                    }
                }
            }
        }
    }
}

/// Where an answer's parts are read: the summaries and sources a lower tier answered
/// with, else the hot tier. A view serves one batch (or a part of it): each source is
/// read once for all its values.
struct View<'a> {
    hot: &'a Hot,
    summaries: &'a HashMap<String, IndicatorSummary>,
    sources: HashMap<String, Source>,
    /// The sources read so far, by name.
    read: std::cell::RefCell<HashMap<String, Option<Source>>>,
}

impl<'a> View<'a> {
    fn hot(hot: &'a Hot) -> Self {
        static NONE: std::sync::OnceLock<HashMap<String, IndicatorSummary>> =
            std::sync::OnceLock::new();
        View {
            hot,
            summaries: NONE.get_or_init(HashMap::new),
            sources: HashMap::new(),
            read: Default::default(),
        }
    }

    fn summary(&self, id: &str) -> Result<Option<Arc<IndicatorSummary>>, HotError> {
        match self.summaries.get(id) {
            Some(s) => Ok(Some(Arc::new(s.clone()))),
            None => self.hot.indicator(id),
        }
    }

    fn source(&self, name: &str) -> Result<Option<Source>, HotError> {
        if let Some(known) = self.read.borrow().get(name) {
            return Ok(known.clone());
        }
        let source = match self.hot.get(&format!("source:{name}"))? {
            Some(Item::Source(s)) => Some(s),
            _ => self.sources.get(name).cloned(),
        };
        self.read
            .borrow_mut()
            .insert(name.to_owned(), source.clone());
        Ok(source)
    }
}

/// The answer for a known indicator, its score decayed as asked.
fn answer(
    view: &View,
    kind: &str,
    normal: String,
    summary: &IndicatorSummary,
    asked: &Asked,
    tier: &'static str,
) -> Result<Answer, LookupError> {
    let model = score::pick_model(&MODELS, &asked.model, Some(kind))
        .map_err(|e| LookupError::Model(e.to_string()))?;
    let sources = sources(view, summary)?;
    let score = summary
        .score(sources.clone(), model, asked.at)
        .map_err(|e| LookupError::Score(e.to_string()))?;
    Ok(Answer {
        behaviour: None,
        related: related(view, summary)?,
        sources: sources
            .into_iter()
            .map(|s| SourceAnswer {
                credibility: s.credibility,
                name: s.name,
                reliability: s.reliability,
            })
            .collect(),
        first_seen: summary.first_seen,
        id: summary.id.clone(),
        kind: kind.to_owned(),
        last_seen: summary.last_seen,
        reports: summary.reports.clone(),
        score,
        sightings: summary.sightings,
        stix_id: summary.stix_id.clone(),
        tier,
        value: normal,
    })
}

// The answers are typed and serialised once: built as `serde_json::Value` trees first,
// a batch of 5,000 known values spent most of its 220 ms allocating, filling and
// dropping their maps (perf: malloc, BTreeMap inserts, Value drops). Fields are in
// alphabetical order, the order those trees printed them in.

/// What a lookup answers for a known indicator.
#[derive(Debug, serde::Serialize)]
pub struct Answer {
    /// How it was sighted of late, when asked (`?behaviour=true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behaviour: Option<BehaviourAnswer>,
    #[serde(serialize_with = "ctas_core::rfc3339::serialize_option")]
    pub first_seen: Option<DateTime<Utc>>,
    pub id: String,
    pub kind: String,
    #[serde(serialize_with = "ctas_core::rfc3339::serialize_option")]
    pub last_seen: Option<DateTime<Utc>>,
    pub related: Vec<RelatedAnswer>,
    pub reports: Vec<String>,
    pub score: score::Combined,
    pub sightings: u64,
    pub sources: Vec<SourceAnswer>,
    pub stix_id: Option<String>,
    /// The tier that answered: `hot`, or `warm` / `cold` when the hot tier had no
    /// summary of it (promoted since).
    pub tier: &'static str,
    pub value: String,
}

/// How a known indicator was sighted of late, judged in the cold tier; or why that is not
/// known (the cold tier off, down, or without the extension), the lookup itself answered.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum BehaviourAnswer {
    Judged(crate::tiers::cold::Behaviour),
    Unknown { error: String },
}

/// A source of a known indicator, with what the tiers know of it.
#[derive(Debug, serde::Serialize)]
pub struct SourceAnswer {
    pub credibility: Option<String>,
    pub name: Option<String>,
    pub reliability: Option<String>,
}

/// Something a known indicator is tied to.
#[derive(Debug, serde::Serialize)]
pub struct RelatedAnswer {
    pub id: String,
    pub name: Option<String>,
    pub object_type: Option<String>,
    pub outgoing: bool,
    #[serde(rename = "type")]
    pub relationship_type: String,
    pub via: Option<String>,
}

/// Each value's answer as it is gathered.
enum Slot {
    Found(Box<Answer>),
    /// No answer, and why.
    Missing(LookupError),
    /// The hot tier has no summary of it: to be asked below.
    Miss(Arc<Name>),
}

/// The values' answers in the order asked, and the tiers that did not answer.
struct Slots {
    results: Vec<Slot>,
    unavailable: Vec<String>,
}

/// The answer to a batch: how many were asked and found, each value's answer in the
/// order asked, and the lower tiers that did not answer (the values only they could
/// have known are marked so).
#[derive(Debug, serde::Serialize)]
pub struct Batch {
    pub asked: usize,
    pub found: usize,
    pub results: Vec<BatchEntry>,
    pub unavailable: Vec<String>,
}

/// One value of a batch: `{"found": true, "indicator", "value"}` or `{"found": false,
/// "reason", "value"}`.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum BatchEntry {
    Known {
        found: bool,
        indicator: Box<Answer>,
        value: String,
    },
    Unknown {
        found: bool,
        /// Written as its message when the answer is (on the threads writing it, with
        /// no string made first).
        #[serde(serialize_with = "message")]
        reason: LookupError,
        value: String,
    },
}

/// An error as its message.
fn message<S: serde::Serializer>(e: &LookupError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(e)
}

impl Batch {
    /// How many values each answered so: by the tier that knew them, unknown, invalid.
    pub fn tally(&self) -> Vec<(Answered, u64)> {
        let mut counts: BTreeMap<Answered, u64> = BTreeMap::new();
        for entry in &self.results {
            let answered = match entry {
                BatchEntry::Known { indicator, .. } => match indicator.tier {
                    "warm" => Answered::Warm,
                    "cold" => Answered::Cold,
                    _ => Answered::Hot,
                },
                BatchEntry::Unknown { reason, .. } => reason.answered(),
            };
            *counts.entry(answered).or_default() += 1;
        }
        counts.into_iter().collect()
    }
}

/// Each of `values` looked up ([`gather`]), in the order asked: the whole answer fails
/// only when the hot tier does, or the model does not apply.
pub async fn look_up_all(
    tiers: &Tiers,
    values: Vec<String>,
    asked: Asked,
) -> Result<Batch, LookupError> {
    let (values, slots) = gather(tiers, values, asked).await?;
    let mut found = 0;
    let results = values
        .into_iter()
        .zip(slots.results)
        .map(|(value, slot)| match slot {
            Slot::Found(indicator) => {
                found += 1;
                Ok(BatchEntry::Known {
                    found: true,
                    indicator,
                    value,
                })
            }
            Slot::Missing(
                e @ (LookupError::Unknown(_)
                | LookupError::NotAnIndicator(_)
                | LookupError::Unavailable { .. }),
            ) => Ok(BatchEntry::Unknown {
                found: false,
                reason: e,
                value,
            }),
            Slot::Missing(e) => Err(e),
            Slot::Miss(_) => Err(LookupError::Hot(HotError::Corrupt(
                "a value was left unanswered".into(),
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Batch {
        asked: results.len(),
        found,
        results,
        unavailable: slots.unavailable,
    })
}

/// The sources a summary names, with what the tiers know of each (reliability,
/// credibility).
fn sources(view: &View, summary: &IndicatorSummary) -> Result<Vec<score::Source>, HotError> {
    summary
        .sources
        .iter()
        .map(|name| {
            let (reliability, credibility) = match view.source(name)? {
                Some(src) => (src.reliability, src.credibility),
                None => (None, None),
            };
            Ok(score::Source {
                name: Some(name.clone()),
                reliability,
                credibility,
                ..Default::default()
            })
        })
        .collect()
}

/// What it is tied to: its relationships, and through a STIX indicator whose pattern
/// names it (`based-on`), what that indicator is tied to (`indicates` a malware).
fn related(view: &View, summary: &IndicatorSummary) -> Result<Vec<RelatedAnswer>, HotError> {
    let mut out = Vec::new();
    for r in &summary.related {
        out.push(related_json(view.hot, r, None)?);
        if r.relationship_type == "based-on" && !r.outgoing {
            if let Some(stix) = view.summary(&r.id)? {
                for further in stix
                    .related
                    .iter()
                    .filter(|x| x.relationship_type != "based-on")
                {
                    out.push(related_json(view.hot, further, Some(&r.id))?);
                }
            }
        }
    }
    Ok(out)
}

/// A related object as a lookup shows it: its id, the relationship, what it is and its
/// name when the hot tier holds it (else [`name_related`] asks below), and the STIX
/// indicator it was reached through.
fn related_json(hot: &Hot, r: &Related, via: Option<&str>) -> Result<RelatedAnswer, HotError> {
    let (object_type, name) = match hot.get(&r.id)? {
        Some(Item::Entity(e)) => (Some(e.entity_type), e.name),
        Some(Item::Report(rep)) => (Some("report".to_owned()), rep.title),
        Some(Item::Indicator(i)) => (Some(i.kind), Some(i.value)),
        _ => (None, None),
    };
    Ok(RelatedAnswer {
        id: r.id.clone(),
        name,
        object_type,
        outgoing: r.outgoing,
        relationship_type: r.relationship_type.clone(),
        via: via.map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Quoted` writes what `{:?}` writes (the standard library's escaping is the
    /// oracle): every character up to U+07FF and some beyond (marks that join the one
    /// before, invisible ones, the byte order mark, an emoji, private use), alone,
    /// within a plain value, and at both ends of one.
    #[test]
    fn quoted_is_what_debug_writes() {
        let beyond = [
            '\u{0301}',
            '\u{200b}',
            '\u{2028}',
            '\u{feff}',
            '\u{1f41b}',
            '\u{e000}',
        ];
        let chars = (0..0x800u32).filter_map(char::from_u32).chain(beyond);
        for c in chars {
            for s in [
                c.to_string(),
                format!("evil{c}.example.com"),
                format!("{c}evil.example.com{c}"),
            ] {
                assert_eq!(Quoted(&s).to_string(), format!("{s:?}"), "{:#x}", c as u32);
            }
        }
        assert_eq!(Quoted("").to_string(), "\"\"");
    }
}
