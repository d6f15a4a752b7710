//! `verify` (seed §4.2, data integrity): every item the hot tier holds, compared with
//! what each tier it was sent to holds of it, and with `repair`, sent again where it
//! is missing or stale.
//!
//! The hot tier is the reference: it holds each item as it was sent last, and the
//! tiers each item was sent to. A tier is compared by the items' essences
//! ([`ctas_core::model::essence`]), read back from its own shape (a row, a document, a
//! node or an edge), a chunk of keys a round trip. What a tier has not confirmed yet
//! (waiting in the log for it, or in its dead letter) is not a difference; what the
//! warm tier dropped after its TTL neither. A difference is told only when it is seen
//! twice, the second time after the tier's waiting items were read again: an item
//! confirmed between the two reads is not one.
//!
//! What a tier holds beyond the hot tier (history demoted from the hot tier, rows
//! written by SQL) is not compared: nothing says it should not be there.
//!
//! One call compares a page of the hot tier's objects, in key order, after a cursor:
//! a request stays within the router's request timeout however large the store (about
//! 30,000 comparisons a second here, `benches/RESULTS.md`), and the CLI walks the pages.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use ctas_core::model::essence::{differences, essence, Difference};
use ctas_core::model::{Intel, Item};
use serde::Serialize;

use crate::api::AppState;
use crate::hot::Hot;
use crate::tiers::{Tier, TierName};

/// Items of the hot tier compared a round trip.
pub const CHUNK: usize = 1000;

/// What a verification is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Send what is missing or stale to its tier again.
    pub repair: bool,
    /// Most findings listed per tier (all are counted).
    pub list: usize,
    /// Compare the hot tier's objects after this key (the `next` of the page before).
    pub after: Option<String>,
    /// Compare at most this many of the hot tier's objects.
    pub objects: usize,
}

/// What one call found: each tier's report on the page, and where the next page starts
/// (none when the page reached the end of the hot tier).
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub tiers: Vec<TierReport>,
    pub next: Option<String>,
}

/// Why an item is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The tier does not hold it.
    Missing,
    /// The tier holds it with other content.
    Stale,
}

/// An item a tier does not hold as the hot tier does.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The key the tier stores it under.
    pub key: String,
    #[serde(rename = "type")]
    pub item_type: &'static str,
    pub problem: Problem,
    /// The hot tier's item it stands for, when another (a flat record's observation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// For a stale item, each field that differs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<Difference>,
}

/// What one tier's verification found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TierReport {
    pub tier: &'static str,
    /// Items of the hot tier sent to this tier and compared.
    pub checked: u64,
    /// Items not compared: the tier has not confirmed them yet.
    pub waiting: u64,
    /// Items not compared: the warm tier drops them after its TTL.
    pub expired: u64,
    pub missing: u64,
    pub stale: u64,
    /// Items sent to the tier again (`repair`).
    pub resent: u64,
    /// The first findings, up to the asked number.
    pub findings: Vec<Finding>,
    /// Why the verification of this tier stopped before the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TierReport {
    /// Nothing missing or stale, and the tier answered to the end.
    pub fn is_clean(&self) -> bool {
        self.missing == 0 && self.stale == 0 && self.error.is_none()
    }
}

/// Verify each of `tiers` (on tiers only: the caller checks) in turn, over one page of
/// the hot tier's objects: every tier over the same keys, from after `opts.after` to the
/// page's last key, fixed before the first tier is read.
pub async fn run(state: &AppState, tiers: &[TierName], opts: &Options) -> Result<Page, String> {
    let (hot, after, objects) = (state.hot.clone(), opts.after.clone(), opts.objects);
    let (last, more) = tokio::task::spawn_blocking(move || hot.page_end(after.as_deref(), objects))
        .await
        .map_err(|e| format!("reading the hot tier failed: {e}"))?
        .map_err(|e| e.to_string())?;
    let page = Range {
        after: opts.after.as_deref(),
        last: last.as_deref(),
    };
    let warm_cutoff = state.warm_ttl.map(|ttl| Utc::now() - ttl);
    let mut reports = Vec::new();
    for &name in tiers {
        let Some(tier) = state.tiers.get(name) else {
            continue;
        };
        // Only the warm tier lets what is past its TTL go.
        let cutoff = warm_cutoff.filter(|_| name == TierName::Warm);
        reports.push(check(&state.hot, tier.as_ref(), opts, page, cutoff).await);
    }
    if opts.repair {
        state.wake.notify_waiters();
    }
    Ok(Page {
        tiers: reports,
        next: if more { last } else { None },
    })
}

/// The hot tier's keys a page covers: after `after`, up to `last` included (to the
/// end when none).
#[derive(Debug, Clone, Copy)]
struct Range<'a> {
    after: Option<&'a str>,
    last: Option<&'a str>,
}

/// What `tier` should hold of an item the hot tier holds: the item, and for a flat
/// record the observation the warm and cold tiers make of it (the cold tier holds
/// only that). Sources are left out: the hot tier keeps those a lookup promoted, which
/// no tier was sent.
fn expected_in(tier: TierName, item: &Item) -> Vec<Item> {
    match item {
        Item::Source(_) => Vec::new(),
        Item::Record(_) if tier != TierName::Graph => {
            let mut out: Vec<Item> = Intel::from_items([item.clone()])
                .into_items()
                .into_iter()
                .filter(|i| !matches!(i, Item::Source(_)))
                .collect();
            if tier == TierName::Warm {
                out.push(item.clone());
            }
            out
        }
        _ => vec![item.clone()],
    }
}

/// Whether the warm tier drops `item` at its TTL: reports, flat records and sightings
/// observed before `cutoff`.
fn expired(item: &Item, cutoff: Option<DateTime<Utc>>) -> bool {
    matches!(item, Item::Report(_) | Item::Record(_) | Item::Sighting(_))
        && cutoff.is_some_and(|c| item.time().is_some_and(|t| t < c))
}

/// An expected item: the hot tier's key it stands for, and the item.
type Expected = (String, Item);

async fn check(
    hot: &Hot,
    tier: &dyn Tier,
    opts: &Options,
    page: Range<'_>,
    cutoff: Option<DateTime<Utc>>,
) -> TierReport {
    let mut report = TierReport {
        tier: tier.name().as_str(),
        ..TierReport::default()
    };
    if let Err(e) = check_all(hot, tier, opts, page, cutoff, &mut report).await {
        report.error = Some(e);
    }
    report
}

async fn check_all(
    hot: &Hot,
    tier: &dyn Tier,
    opts: &Options,
    page: Range<'_>,
    cutoff: Option<DateTime<Utc>>,
    report: &mut TierReport,
) -> Result<(), String> {
    let name = tier.name();
    let mut after: Option<String> = page.after.map(str::to_owned);
    loop {
        let (h, from) = (hot.clone(), after.clone());
        let mut chunk = tokio::task::spawn_blocking(move || h.scan(from.as_deref(), CHUNK))
            .await
            .map_err(|e| format!("reading the hot tier failed: {e}"))?
            .map_err(|e| e.to_string())?;
        // Keys written since the page was fixed may come before its last: compared too,
        // as in a page without an end.
        if let Some(last) = page.last {
            chunk.retain(|(item, _)| item.key().as_str() <= last);
        }
        let Some((last, _)) = chunk.last() else {
            return Ok(());
        };
        after = Some(last.key());
        let mut expected: Vec<Expected> = Vec::new();
        let mut origins: HashMap<String, Item> = HashMap::new();
        for (item, sent_to) in chunk {
            if !sent_to.contains(name) {
                continue;
            }
            let wanted = expected_in(name, &item);
            if wanted.is_empty() {
                continue;
            }
            if expired(&item, cutoff) {
                report.expired += 1;
                continue;
            }
            report.checked += 1;
            let origin = item.key();
            for w in wanted {
                if expired(&w, cutoff) {
                    continue;
                }
                expected.push((origin.clone(), w));
            }
            origins.insert(origin, item);
        }
        let suspects = compare(tier, &expected).await?;
        if suspects.is_empty() {
            continue;
        }
        // Read again what the tier has not confirmed, then the suspects from the tier:
        // an item confirmed since the first read is no difference.
        let waiting = hot.waiting_for(name).await.map_err(|e| e.to_string())?;
        let (wait, again): (Vec<Expected>, Vec<Expected>) = suspects
            .into_iter()
            .map(|(e, _)| e)
            .partition(|(origin, _)| waiting.contains(origin));
        report.waiting += wait.iter().map(|(o, _)| o).collect::<HashSet<_>>().len() as u64;
        let mut resend: Vec<Item> = Vec::new();
        let mut resent: HashSet<String> = HashSet::new();
        for ((origin, item), fields) in compare(tier, &again).await? {
            let problem = if fields.is_empty() {
                report.missing += 1;
                Problem::Missing
            } else {
                report.stale += 1;
                Problem::Stale
            };
            if report.findings.len() < opts.list {
                let key = item.key();
                report.findings.push(Finding {
                    of: (key != origin).then(|| origin.clone()),
                    key,
                    item_type: item.type_name(),
                    problem,
                    fields,
                });
            }
            if opts.repair && resent.insert(origin.clone()) {
                resend.extend(origins.get(&origin).cloned());
            }
        }
        if !resend.is_empty() {
            report.resent += hot.resend(name, resend).await.map_err(|e| e.to_string())?;
        }
    }
}

/// The expected items `tier` does not hold as expected, each with the fields that
/// differ (none: it is missing).
async fn compare(
    tier: &dyn Tier,
    expected: &[Expected],
) -> Result<Vec<(Expected, Vec<Difference>)>, String> {
    if expected.is_empty() {
        return Ok(Vec::new());
    }
    let items: Vec<Item> = expected.iter().map(|(_, i)| i.clone()).collect();
    let found = crate::tiers::in_time(tier.name(), tier.essences(&items)).await?;
    Ok(expected
        .iter()
        .filter_map(|e| {
            let want = essence(&e.1);
            match found.get(&e.1.key()) {
                None => Some((e.clone(), Vec::new())),
                Some(got) => {
                    let d = differences(&want, got);
                    (!d.is_empty()).then(|| (e.clone(), d))
                }
            }
        })
        .collect())
}
