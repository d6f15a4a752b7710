//! A load generator for ctas-router on loopback (benchmarks, not tests).
//!
//!   load ingest URL CLIENTS RECORDS_PER_REQUEST SECONDS
//!       CLIENTS clients post requests back to back; acknowledged records/s.
//!   load lookup URL RATE SECONDS [INGEST_CLIENTS]
//!       GET /v1/records/{id} at a fixed RATE (open loop: a request is sent on schedule
//!       whether or not the previous one answered; open_loop.rs), optionally while
//!       INGEST_CLIENTS post 1,000-record requests; p50/p99/max latency.
//!   load lookup-value URL RATE SECONDS [INGEST_CLIENTS]
//!       the same with GET /v1/indicators/{value} (the value in capitals): classified,
//!       normalised, the summary read and the score computed per request.
//!   load lookup-pg URL DSN RATE SECONDS
//!       the peer: the same 1,000 domains, ingested through the router into its cold tier,
//!       asked of PostgreSQL alone at RATE by the same open loop (a prepared statement on
//!       the indexed ctas.indicators, the value given already normalised).
//!   load batch URL DSN
//!       10,000 values at once (half known): POST /v1/indicators/lookup, and the peer,
//!       PostgreSQL's `value = ANY($1)` on the same table; the median of 20 calls each.
//!   load sled DIR RECORDS_PER_REQUEST SECONDS
//!       the floor: the same records written straight into sled by one thread, each
//!       request's records inserted under their ids and flushed, no HTTP, no router.
//!   load synced URL RECORDS
//!       post RECORDS records in 1,000-record requests with 4 clients, then the time until
//!       every tier holds them all (GET /v1/status).
//!
//! One JSON line per run on stdout (scripts/bench_router.sh runs them; benches/RESULTS.md
//! holds the figures).
//!
//! The lookups at a rate (`lookup`, `lookup-value`, `lookup-pg`) are sent by one loop
//! for both sides (open_loop.rs) over 16 connections, after the records are in every
//! tier and after a second of warm-up; the requests are written out beforehand in each
//! side's protocol (wire.rs). With `LOAD_TRACE=FILE`, each counted request's due time
//! (CLOCK_MONOTONIC, ns) and its latencies from due and from sent (ms) are written to
//! FILE, one line each, to be lined up with `perf record -k CLOCK_MONOTONIC`. Each run's
//! JSON line says how much CPU time the hypervisor took from the machine meanwhile
//! (`stolen_ms`): with a few hundred ms of it in ten seconds, a p99 measures the host,
//! not the server.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod open_loop;
mod wire;

fn records(tag: &str, client: usize, from: u64, n: u64) -> Vec<Value> {
    (from..from + n)
        .map(|i| {
            json!({"kind": "domain", "value": format!("{tag}-{client}-{i}.example.net"),
                   "source": "load", "tags": ["bench"]})
        })
        .collect()
}

/// `clients` tasks posting `per_request`-record requests until `stop`; records acknowledged.
async fn ingest_clients(
    url: &str,
    tag: &str,
    clients: usize,
    per_request: u64,
    stop: Arc<AtomicBool>,
    limit: Option<u64>,
) -> u64 {
    let http = reqwest::Client::new();
    let acked = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (http, url, tag, stop, acked) = (
                http.clone(),
                format!("{url}/v1/records"),
                tag.to_owned(),
                stop.clone(),
                acked.clone(),
            );
            tokio::spawn(async move {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && limit.is_none_or(|l| i < l) {
                    let body = records(&tag, c, i, per_request);
                    let r = http
                        .post(&url)
                        .json(&body)
                        .send()
                        .await
                        .expect("router reachable");
                    assert_eq!(
                        r.status().as_u16(),
                        202,
                        "{}",
                        r.text().await.unwrap_or_default()
                    );
                    i += per_request;
                    acked.fetch_add(per_request, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    acked.load(Ordering::Relaxed)
}

/// The JSON a request is answered with.
async fn answer(request: reqwest::RequestBuilder) -> Value {
    let r = request.send().await.expect("router reachable");
    r.json().await.expect("a JSON answer")
}

fn tag() -> String {
    format!("load{}", chrono::Utc::now().timestamp_millis())
}

async fn ingest(url: &str, clients: usize, per_request: u64, seconds: u64) -> Value {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let acked = ingest_clients(url, &tag(), clients, per_request, stop, None).await;
    timer.await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    json!({"bench": "ingest", "clients": clients, "records_per_request": per_request,
           "records": acked, "seconds": secs, "records_per_s": acked as f64 / secs})
}

async fn lookup(url: &str, rate: u64, seconds: u64, ingesting: usize, by_value: bool) -> Value {
    // What to look up: ingest some first, and read them back by the ids the router gave,
    // or by value (`GET /v1/indicators/{value}`, the value in capitals, as an analyst
    // might paste it).
    let (body, ids) = into_every_tier(url, 1000).await;
    let paths: Vec<String> = if by_value {
        body.iter()
            .map(|r| {
                format!(
                    "/v1/indicators/{}",
                    r["value"].as_str().unwrap().to_uppercase()
                )
            })
            .collect()
    } else {
        ids.iter().map(|id| format!("/v1/records/{id}")).collect()
    };
    let stop = Arc::new(AtomicBool::new(false));
    // The ingesting clients get threads and a runtime of their own: encoding 1,000-record
    // bodies on the lookups' runtime would delay reading the lookups' answers, and the
    // generator's delay would be counted as the router's.
    let load = (ingesting > 0).then(|| {
        let (url, stop) = (url.to_owned(), stop.clone());
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap()
                .block_on(ingest_clients(&url, &tag(), ingesting, 1000, stop, None))
        })
    });
    if load.is_some() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The open loop on a thread of its own (it blocks in epoll, not in the runtime).
    let wire = wire::Http::new(url.trim_start_matches("http://"), &paths);
    let lat = tokio::task::spawn_blocking(move || open_loop::run(&wire, rate, seconds))
        .await
        .unwrap();
    stop.store(true, Ordering::Relaxed);
    let ingested = match load {
        Some(l) => l.join().unwrap(),
        None => 0,
    };
    let mut out = latencies(lat);
    out["bench"] = json!(if by_value {
        "lookup by value"
    } else {
        "lookup by id"
    });
    out["rate"] = json!(rate);
    out["ingest_clients"] = json!(ingesting);
    out["ingested_meanwhile"] = json!(ingested);
    out
}

/// p50, p99 and max from when each request was due (the figure that counts), and p50
/// and p99 from when it was sent (the server's answer alone, to tell its delays from
/// the generator's); milliseconds.
fn latencies(run: open_loop::Latencies) -> Value {
    let mut sent: Vec<f64> = run.each.iter().map(|l| l.2).collect();
    let mut lat: Vec<f64> = run.each.iter().map(|l| l.1).collect();
    lat.sort_by(f64::total_cmp);
    sent.sort_by(f64::total_cmp);
    let q = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    let qs = |p: f64| sent[((sent.len() as f64 * p) as usize).min(sent.len() - 1)];
    json!({"lookups": lat.len(), "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": lat[lat.len() - 1],
           "from_sent_p50_ms": qs(0.5), "from_sent_p99_ms": qs(0.99),
           "achieved_rate": run.achieved_rate, "generator_realtime": run.realtime,
           "stolen_ms": run.stolen_ms})
}

/// Ingest `n` domains through the router and wait until every tier holds them (so that
/// no tier's sync is still at work when the clock starts, on either side); the records
/// posted and the ids the router gave them.
async fn into_every_tier(url: &str, n: u64) -> (Vec<Value>, Vec<String>) {
    let http = reqwest::Client::new();
    let body = records(&tag(), 0, 0, n);
    let mut ids = Vec::new();
    for chunk in body.chunks(1000) {
        let r = answer(http.post(format!("{url}/v1/records")).json(&chunk)).await;
        ids.extend(
            r["ids"]
                .as_array()
                .expect("the ids given")
                .iter()
                .map(|v| v.as_str().unwrap().to_owned()),
        );
    }
    while answer(http.get(format!("{url}/v1/status"))).await["synced"] != true {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (body, ids)
}

/// The values of `into_every_tier`'s records.
fn values(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["value"].as_str().unwrap().to_owned())
        .collect()
}

async fn pg(dsn: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(dsn, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL reachable");
    tokio::spawn(conn);
    client
}

/// The peer of `lookup-value`: the same values asked of PostgreSQL alone, at `rate`, on
/// the same schedule.
async fn lookup_pg(url: &str, dsn: &str, rate: u64, seconds: u64) -> Value {
    let values = values(&into_every_tier(url, 1000).await.0);
    let wire = wire::Postgres::new(
        dsn,
        "SELECT id, kind, value, first_seen, last_seen, stix_id FROM ctas.indicators \
         WHERE value = $1 AND kind = 'domain'",
        &values,
    );
    let lat = tokio::task::spawn_blocking(move || open_loop::run(&wire, rate, seconds))
        .await
        .unwrap();
    let mut out = latencies(lat);
    out["bench"] = json!("lookup by value, PostgreSQL alone");
    out["rate"] = json!(rate);
    out
}

/// 10,000 values at once, half of them known: the router's batch lookup and
/// PostgreSQL's `= ANY` on the same table; the median of 20 calls each, and the first
/// call (the router asks its warm and cold tiers for the 5,000 it does not know; the
/// calls after find them remembered as absent).
async fn batch(url: &str, dsn: &str) -> Value {
    let known = values(&into_every_tier(url, 5000).await.0);
    let mut values = known.clone();
    values.extend((0..5000).map(|i| format!("unknown-{i}.example.net")));
    let http = reqwest::Client::new();
    let client = pg(dsn).await;
    // A plan for each call's array: after five calls PostgreSQL would switch the
    // prepared statement to its generic plan, which scans the table (22 ms became 180).
    client
        .batch_execute("SET plan_cache_mode = force_custom_plan")
        .await
        .unwrap();
    let stmt = client
        .prepare(
            "SELECT id, kind, value, first_seen, last_seen, stix_id FROM ctas.indicators \
             WHERE value = ANY($1) AND kind = 'domain'",
        )
        .await
        .unwrap();
    let median = |mut t: Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let (mut router, mut peer) = (Vec::new(), Vec::new());
    let body = serde_json::to_vec(&json!({"values": values})).unwrap();
    let mut answer_bytes = 0;
    for _ in 0..20 {
        // Until the whole answer is in, as for the peer's rows: decoding the JSON is
        // the client's work, after the clock.
        let start = Instant::now();
        let bytes = http
            .post(format!("{url}/v1/indicators/lookup"))
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("router reachable")
            .bytes()
            .await
            .expect("the answer");
        router.push(start.elapsed().as_secs_f64() * 1e3);
        answer_bytes = bytes.len();
        let a: Value = serde_json::from_slice(&bytes).expect("a JSON answer");
        assert_eq!(a["found"], 5000, "the router found {}", a["found"]);
        let start = Instant::now();
        let rows = client.query(&stmt, &[&values]).await.unwrap();
        peer.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(rows.len(), 5000);
    }
    json!({"bench": "batch lookup of 10,000 values (5,000 known)",
           "answer_bytes": answer_bytes,
           "router_ms_first": router[0], "postgresql_ms_first": peer[0],
           "router_ms_p50": median(router), "postgresql_ms_p50": median(peer)})
}

async fn synced(url: &str, n: u64) -> Value {
    let http = reqwest::Client::new();
    let status = |http: reqwest::Client| answer(http.get(format!("{url}/v1/status")));
    let before = status(http.clone()).await;
    let started = Instant::now();
    let clients = 4;
    let acked = ingest_clients(
        url,
        &tag(),
        clients,
        1000,
        Arc::new(AtomicBool::new(false)),
        Some(n / clients as u64),
    )
    .await;
    let acked_at = started.elapsed().as_secs_f64();
    let want = |tier: &str| before["tiers"][tier]["records"].as_u64().unwrap_or(0) + acked;
    loop {
        let s = status(http.clone()).await;
        if ["warm", "cold", "graph"]
            .iter()
            .all(|t| s["tiers"][t]["records"].as_u64() >= Some(want(t)))
            && s["synced"] == true
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let secs = started.elapsed().as_secs_f64();
    json!({"bench": "synced", "records": acked, "acknowledged_after_s": acked_at,
           "every_tier_after_s": secs, "records_per_s_to_every_tier": acked as f64 / secs})
}

fn sled_floor(dir: &str, per_request: u64, seconds: u64) -> Value {
    let db = sled::open(dir).expect("open sled");
    let tree = db.open_tree("records").unwrap();
    let started = Instant::now();
    let mut written = 0u64;
    let now = chrono::Utc::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        for r in records(&tag(), 0, written, per_request) {
            let input: ctas_core::model::RecordInput = serde_json::from_value(r).unwrap();
            let record = input.into_record(now).unwrap();
            tree.insert(record.id.as_bytes(), serde_json::to_vec(&record).unwrap())
                .unwrap();
        }
        db.flush().unwrap();
        written += per_request;
    }
    let secs = started.elapsed().as_secs_f64();
    json!({"bench": "sled-floor", "records_per_request": per_request, "records": written,
           "seconds": secs, "records_per_s": written as f64 / secs})
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = |i: usize| -> u64 {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("argument {i} must be a number"))
    };
    let out = match args.get(1).map(String::as_str) {
        Some("ingest") => ingest(&args[2], n(3) as usize, n(4), n(5)).await,
        Some(mode @ ("lookup" | "lookup-value")) => {
            lookup(
                &args[2],
                n(3),
                n(4),
                args.get(5).map_or(0, |_| n(5) as usize),
                mode == "lookup-value",
            )
            .await
        }
        Some("lookup-pg") => lookup_pg(&args[2], &args[3], n(4), n(5)).await,
        Some("batch") => batch(&args[2], &args[3]).await,
        Some("synced") => synced(&args[2], n(3)).await,
        Some("sled") => sled_floor(&args[2], n(3), n(4)),
        _ => {
            eprintln!("usage: load ingest URL CLIENTS RECORDS_PER_REQUEST SECONDS | lookup|lookup-value URL RATE SECONDS [INGEST_CLIENTS] | lookup-pg URL DSN RATE SECONDS | batch URL DSN | synced URL RECORDS | sled DIR RECORDS_PER_REQUEST SECONDS");
            std::process::exit(2);
        }
    };
    println!("{out}");
}
