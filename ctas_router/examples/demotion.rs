//! The cost of a demotion round (benchmarks, not tests).
//!
//!   demotion DIR RECORDS
//!
//! RECORDS flat records in a new hot tier under DIR, every tier's confirmation given, one
//! in a hundred observed a year ago and the others now. Then, five times each: the
//! round's search for what is past a TTL of 30 days when nothing is (the steady state:
//! what entered since the last round is young), and the peer, what the search did
//! before the index by time — every item of the index by id read and decoded to learn
//! its time. Then one round that drops the old hundredth. One JSON line on stdout.

use std::time::{Duration, Instant};

use chrono::Utc;
use ctas_core::model::{Item, RecordInput};
use ctas_router::hot::log::TierMask;
use ctas_router::hot::{Hot, Prepared};
use ctas_router::tiers::TierName;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dir, n): (&str, usize) = match &args[1..] {
        [dir, n] => (dir, n.parse().expect("RECORDS is a number")),
        _ => {
            eprintln!("usage: demotion DIR RECORDS");
            std::process::exit(2);
        }
    };
    let hot = Hot::open(std::path::Path::new(dir)).expect("open the hot tier");
    let now = Utc::now();
    let year_ago = (now - chrono::TimeDelta::days(365)).to_rfc3339();
    for start in (0..n).step_by(10_000) {
        let items: Vec<Item> = (start..(start + 10_000).min(n))
            .map(|i| {
                let mut r = serde_json::json!({"id": format!("demotion-{i}"), "kind": "domain",
                    "value": format!("demotion-{i}.example.net"), "source": "bench"});
                if i % 100 == 0 {
                    r["observed_at"] = year_ago.clone().into();
                }
                let input: RecordInput = serde_json::from_value(r).unwrap();
                Item::Record(input.into_record(now).unwrap())
            })
            .collect();
        hot.ingest(Prepared::new(items, TierMask::ALL).unwrap())
            .await
            .unwrap();
    }
    for tier in TierName::DOWNSTREAM {
        let mut reader = hot.reader(tier).unwrap();
        loop {
            let batch = hot.read(&mut reader, 10_000, usize::MAX).unwrap();
            if batch.items.is_empty() {
                break;
            }
            hot.advance(&mut reader, &batch).await.unwrap();
        }
    }
    let (mut round, mut scan) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        // A cutoff older than everything: the round finds nothing to drop.
        let t = Instant::now();
        let dropped = hot
            .demote(now - chrono::TimeDelta::days(400))
            .await
            .unwrap();
        round.push(t.elapsed());
        assert_eq!(dropped, 0);
        let t = Instant::now();
        let all = hot.scan(None, usize::MAX).unwrap();
        let old = all
            .iter()
            .filter(|(i, _)| {
                i.time()
                    .is_some_and(|t| t < now - chrono::TimeDelta::days(400))
            })
            .count();
        scan.push(t.elapsed());
        assert_eq!((all.len(), old), (n, 0));
    }
    let t = Instant::now();
    let dropped = hot.demote(now - chrono::TimeDelta::days(30)).await.unwrap();
    let dropping = t.elapsed();
    assert_eq!(dropped as usize, n.div_ceil(100));
    println!(
        "{}",
        serde_json::json!({
            "records": n,
            "round_nothing_due_ms": median(round),
            "full_scan_ms": median(scan),
            "round_dropping_ms": dropping.as_secs_f64() * 1e3,
            "dropped": dropped,
        })
    );
    hot.close().unwrap();
}
