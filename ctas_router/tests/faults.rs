//! The router under faults, each checked by reading every store directly: PostgreSQL
//! and Neo4j with their own clients, sled and SurrealDB (single-process stores) after
//! the router has stopped. Concurrency, kill -9 mid-ingest (flat records, and real
//! STIX and MISP documents), a tier stopped for 30 s (both at once), a record a tier
//! refuses for good, a table lock on the cold tier.
//!
//! The scenarios stop and start the shared PostgreSQL and Neo4j, so they run one at a
//! time (one lock) and the test binary runs alone (cargo runs test binaries in turn).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

static SERIAL: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A small deterministic generator; the seed is printed so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let seed = std::env::var("CTAS_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| chrono::Utc::now().timestamp_nanos_opt().unwrap() as u64);
        eprintln!("fault test seed: CTAS_FAULT_SEED={seed}");
        Rng(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// What the clients saw: the ids of each acknowledged request and of each request
/// that got no answer (cut by a crash), and any other answer.
#[derive(Default)]
struct Seen {
    acked: Vec<Vec<String>>,
    cut: Vec<Vec<String>>,
    other: Vec<String>,
}

impl Seen {
    fn acked_ids(&self) -> BTreeSet<String> {
        self.acked.iter().flatten().cloned().collect()
    }
}

/// `clients` tasks posting requests of `sizes` records with ids `{tag}-{client}-{n}`
/// until `stop`, pausing `pause` between requests. A request with no answer is cut
/// (the router is down or was killed); the client waits a moment and goes on.
fn ingest_until(
    url: &str,
    tag: &str,
    clients: usize,
    sizes: (u64, u64),
    pause: Duration,
    stop: Arc<AtomicBool>,
    seed: u64,
) -> std::thread::JoinHandle<Seen> {
    let (url, tag) = (format!("{url}/v1/records"), tag.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap();
            let tasks: Vec<_> = (0..clients)
                .map(|c| {
                    let (http, url, tag, stop) =
                        (http.clone(), url.clone(), tag.clone(), stop.clone());
                    tokio::spawn(async move {
                        let mut rng = Rng(seed.wrapping_add(c as u64 * 7919) | 1);
                        let mut seen = Seen::default();
                        let mut n = 0u64;
                        while !stop.load(Ordering::Relaxed) {
                            let size = sizes.0 + rng.below(sizes.1 - sizes.0 + 1);
                            let records: Vec<Value> = (0..size)
                                .map(|_| {
                                    n += 1;
                                    json!({"id": format!("{tag}-{c}-{n}"), "kind": "domain",
                                           "value": format!("{tag}-{c}-{n}.example.net"),
                                           "source": "fault-test"})
                                })
                                .collect();
                            let ids: Vec<String> = records
                                .iter()
                                .map(|r| r["id"].as_str().unwrap().to_owned())
                                .collect();
                            match http.post(&url).json(&records).send().await {
                                Ok(r) if r.status().as_u16() == 202 => {
                                    let bytes = r.bytes().await.unwrap_or_default();
                                    common::openapi::check(
                                        "POST",
                                        &url,
                                        202,
                                        "application/json",
                                        &bytes,
                                    );
                                    let body: Value =
                                        serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                                    assert_eq!(body["accepted"], json!(size), "{body}");
                                    seen.acked.push(ids);
                                }
                                Ok(r) => {
                                    let status = r.status();
                                    seen.other.push(format!(
                                        "{status}: {}",
                                        r.text().await.unwrap_or_default()
                                    ));
                                    seen.cut.push(ids);
                                }
                                Err(_) => {
                                    seen.cut.push(ids);
                                    tokio::time::sleep(Duration::from_millis(100)).await;
                                }
                            }
                            tokio::time::sleep(pause).await;
                        }
                        seen
                    })
                })
                .collect();
            let mut all = Seen::default();
            for t in tasks {
                let s = t.await.unwrap();
                all.acked.extend(s.acked);
                all.cut.extend(s.cut);
                all.other.extend(s.other);
            }
            all
        })
    })
}

/// The ids each store holds among those starting with `prefix`.
struct Stores {
    hot: HashSet<String>,
    warm: HashSet<String>,
    cold: Vec<String>,
    graph: Vec<String>,
}

/// Read every store; the router must have stopped (sled and SurrealKV are single-process).
fn read_stores(dir: &std::path::Path, dsn: &str, prefix: &str) -> Stores {
    let db = sled::open(dir.join("hot")).expect("open the hot tier");
    let hot = db
        .open_tree("records")
        .unwrap()
        .scan_prefix(prefix)
        .keys()
        .map(|k| String::from_utf8(k.unwrap().to_vec()).unwrap())
        .collect();
    drop(db);
    let cold = read_cold_ids(dsn, prefix);
    reader().block_on(async {
        let warm_db = open_warm(dir).await;
        let mut res = warm_db
            .query("SELECT VALUE record::id(id) FROM threat_record")
            .await
            .unwrap();
        let warm: Vec<String> = res.take(0).unwrap();
        let warm = warm
            .into_iter()
            .filter(|id| id.starts_with(prefix))
            .collect();

        let graph_db =
            neo4rs::Graph::new(env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD"))
                .expect("connect to Neo4j");
        let mut rows = graph_db
            .execute(
                neo4rs::query("MATCH (r:ThreatRecord) WHERE r.id STARTS WITH $p RETURN r.id AS id")
                    .param("p", prefix),
            )
            .await
            .unwrap();
        let mut graph = Vec::new();
        while let Some(row) = rows.next().await.unwrap() {
            graph.push(row.get::<String>("id").unwrap());
        }
        Stores {
            hot,
            warm,
            cold,
            graph,
        }
    })
}

/// The runtime the stores are read on, for the whole run: the embedded warm store it
/// opens stays open on it (see [`open_warm`]).
fn reader() -> &'static tokio::runtime::Runtime {
    static READER: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    READER.get_or_init(rt)
}

/// The warm tier's embedded store, once the router has stopped, opened once on
/// [`reader`]: SurrealKV lets go of its lock some time after its last handle is
/// dropped (more than 10 s here), so a second opening would find it locked.
async fn open_warm(dir: &std::path::Path) -> surrealdb::Surreal<surrealdb::engine::any::Any> {
    static OPEN: Mutex<
        BTreeMap<std::path::PathBuf, surrealdb::Surreal<surrealdb::engine::any::Any>>,
    > = Mutex::new(BTreeMap::new());
    if let Some(db) = OPEN.lock().unwrap().get(dir) {
        return db.clone();
    }
    let db = surrealdb::engine::any::connect(format!("surrealkv://{}", dir.join("warm").display()))
        .await
        .expect("open the warm tier");
    db.use_ns("ctas").use_db("ctas").await.unwrap();
    OPEN.lock().unwrap().insert(dir.to_owned(), db.clone());
    db
}

/// Every acknowledged record in every tier exactly once; of a request that got no
/// answer, all of it or none, in every tier alike.
fn check_exactly_once(seen: &Seen, stores: &Stores) {
    let acked = seen.acked_ids();
    let cold: HashSet<&String> = stores.cold.iter().collect();
    let graph: HashSet<&String> = stores.graph.iter().collect();
    assert_eq!(
        cold.len(),
        stores.cold.len(),
        "a record doubled in PostgreSQL"
    );
    assert_eq!(graph.len(), stores.graph.len(), "a record doubled in Neo4j");
    let mut expected = acked.clone();
    for ids in &seen.cut {
        let stored = ids.iter().filter(|id| stores.hot.contains(*id)).count();
        assert!(
            stored == 0 || stored == ids.len(),
            "a cut request of {} records is stored in part ({stored})",
            ids.len()
        );
        if stored > 0 {
            expected.extend(ids.iter().cloned());
        }
    }
    let expected: HashSet<&String> = expected.iter().collect();
    let hot: HashSet<&String> = stores.hot.iter().collect();
    let warm: HashSet<&String> = stores.warm.iter().collect();
    for (tier, held) in [
        ("hot", &hot),
        ("warm", &warm),
        ("cold", &cold),
        ("graph", &graph),
    ] {
        let missing: Vec<_> = expected.difference(held).take(5).collect();
        let extra: Vec<_> = held.difference(&expected).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{tier}: {} held, {} expected; missing e.g. {missing:?}, unexpected e.g. {extra:?}",
            held.len(),
            expected.len()
        );
    }
}

fn run_tag(name: &str) -> String {
    format!(
        "{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    )
}

fn sh(program: &str, args: &[&str]) {
    let status = Command::new(program)
        .args(args)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(status.success(), "{program} {args:?} failed: {status}");
}

fn scripts() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts")
}

/// 64 clients at once, half posting single records and half batches: every request is
/// answered (the landed router hung for good under 16), and everything arrives.
#[test]
fn sixty_four_concurrent_clients_are_all_answered() {
    let _serial = one_at_a_time();
    let dir = fresh_dir("concurrency");
    let router = Router::start(&dir);
    let tag = run_tag("conc");
    let stop = Arc::new(AtomicBool::new(false));
    let singles = ingest_until(
        &router.url,
        &format!("{tag}-s"),
        32,
        (1, 1),
        Duration::ZERO,
        stop.clone(),
        1,
    );
    let batches = ingest_until(
        &router.url,
        &format!("{tag}-b"),
        32,
        (10, 50),
        Duration::ZERO,
        stop.clone(),
        2,
    );
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    let (singles, batches) = (singles.join().unwrap(), batches.join().unwrap());
    for seen in [&singles, &batches] {
        assert!(
            seen.cut.is_empty() && seen.other.is_empty(),
            "unanswered or refused: {:?}",
            seen.other
        );
    }
    assert!(
        singles.acked.len() >= 64,
        "only {} single-record requests answered",
        singles.acked.len()
    );
    eprintln!(
        "64 clients, 5 s: {} single-record and {} batch requests acknowledged ({} records)",
        singles.acked.len(),
        batches.acked.len(),
        singles.acked_ids().len() + batches.acked_ids().len()
    );
    // And the router still answers at once.
    assert_eq!(router.get("/healthz").unwrap().0, 200);
    router.wait_synced_within(Duration::from_secs(180));
    router.stop();
    let mut seen = singles;
    seen.acked.extend(batches.acked);
    check_exactly_once(&seen, &read_stores(&dir, test_dsn(), &tag));
}

/// kill -9 three times at random moments while four clients ingest requests of 100 to
/// 1,000 records: every acknowledged record ends in every tier exactly once, and no
/// request the router did not answer is stored in part.
#[test]
fn three_kills_under_load_lose_and_double_nothing() {
    let _serial = one_at_a_time();
    let dir = fresh_dir("kill");
    let port = free_port();
    let mut router = Router::start_on(&dir, port);
    let tag = run_tag("kill");
    let mut rng = Rng::seeded();
    let stop = Arc::new(AtomicBool::new(false));
    let clients = ingest_until(
        &router.url,
        &tag,
        4,
        (100, 1000),
        Duration::from_millis(500),
        stop.clone(),
        rng.below(u64::MAX),
    );
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(500 + rng.below(2000)));
        router.crash();
        std::thread::sleep(Duration::from_millis(rng.below(500)));
        router = Router::start_on(&dir, port);
    }
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let seen = clients.join().unwrap();
    assert!(
        seen.other.is_empty(),
        "answers other than 202: {:?}",
        seen.other
    );
    let acked = seen.acked_ids().len();
    eprintln!(
        "3 kills: {acked} records acknowledged, {} requests cut",
        seen.cut.len()
    );
    assert!(acked >= 5_000, "only {acked} records acknowledged");
    router.wait_synced_within(Duration::from_secs(240));
    router.stop();
    check_exactly_once(&seen, &read_stores(&dir, test_dsn(), &tag));
}

/// A kill in the middle of a warm write leaves a torn record at the end of SurrealKV's
/// log: here its header, with none of the data it announces (as a kill -9 between the
/// two writes left it in CI). SurrealKV 0.21 repairs the log when it opens it by
/// writing a new file in place of the old one, but goes on appending to the old,
/// unlinked one, so everything the warm tier confirmed after the repair was gone after
/// the next crash (1,000 records lost in one CI run of the three-kill test).
#[test]
fn a_torn_warm_log_loses_nothing_written_after_its_repair() {
    let _serial = one_at_a_time();
    let dir = fresh_dir("torn");
    let port = free_port();
    let tag = run_tag("torn");
    let records = |from: usize, to: usize| -> Value {
        (from..to)
            .map(|n| {
                json!({"id": format!("{tag}-{n}"), "kind": "domain",
                            "value": format!("{tag}-{n}.example.net"), "source": "fault-test"})
            })
            .collect()
    };
    let router = Router::start_on(&dir, port);
    assert_eq!(router.post(&records(0, 300)).0, 202);
    router.wait_synced();
    router.crash();
    tear_the_warm_log(&dir.join("warm/wal"));

    let router = Router::start_on(&dir, port);
    assert_eq!(router.post(&records(300, 600)).0, 202);
    router.wait_synced();
    router.crash();

    let router = Router::start_on(&dir, port);
    router.wait_synced();
    router.stop();
    let stores = read_stores(&dir, test_dsn(), &tag);
    let seen = Seen {
        acked: vec![(0..600).map(|n| format!("{tag}-{n}")).collect()],
        ..Seen::default()
    };
    check_exactly_once(&seen, &stores);
}

/// Append to the newest segment of SurrealKV's log the header of a record whose data
/// never came: a whole record (type 1) announcing more bytes than its block holds.
fn tear_the_warm_log(wal: &std::path::Path) {
    use std::io::Write;
    const BLOCK: u64 = 32 * 1024;
    let newest = std::fs::read_dir(wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .max()
        .expect("a SurrealKV log segment");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&newest)
        .unwrap();
    let len = file.metadata().unwrap().len();
    // A header needs 7 bytes of its block; fewer left are padding to the reader.
    if BLOCK - len % BLOCK < 7 {
        file.write_all(&vec![0; (BLOCK - len % BLOCK) as usize])
            .unwrap();
    }
    file.write_all(&[0, 0, 0, 0, 0x7f, 0xff, 1]).unwrap();
}

/// A tier stopped for 30 s while clients send flat records and one client sends Unit
/// 42's STIX reports and ESET's MISP events round and round: acknowledgements go on,
/// its backlog grows while it is down and drains once it is back, and every tier
/// converges — every record, object, relationship, indicator and sighting once.
fn outage(tier: &str, down: impl FnOnce(), up: impl FnOnce()) {
    let dir = fresh_dir(&format!("outage-{tier}"));
    // A database of its own: the documents' objects have the same ids in every run.
    let dsn = fresh_database(&format!("ctas_router_faults_outage_{tier}"));
    let docs = Arc::new(documents(false));
    let router = Router::start_with(&dir, free_port(), &dsn);
    let tag = run_tag(&format!("out{tier}"));
    let stop = Arc::new(AtomicBool::new(false));
    let (documents, _) = send_documents(
        &router.url,
        docs.clone(),
        (0..docs.len()).cycle(),
        Duration::from_millis(500),
        stop.clone(),
    );
    // About 400 records/s: more than the debug build's embedded warm tier takes under
    // this load (about 120/s measured on 2026-12-01), so it lags too, but its backlog
    // drains within the bound below; at 1,000/s it did not.
    let clients = ingest_until(
        &router.url,
        &tag,
        2,
        (50, 150),
        Duration::from_millis(500),
        stop.clone(),
        3,
    );
    std::thread::sleep(Duration::from_secs(3));
    let acked_before = router.get("/v1/status").unwrap().1["tiers"]["hot"]["records"]
        .as_u64()
        .unwrap();
    down();
    let down_at = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    // verify while the tier is down and clients ingest: what it had confirmed cannot be
    // read (an error, not a finding), what waits for it is not missing.
    let (code, report) = router.get(&format!("/v1/verify?tier={tier}")).unwrap();
    assert_eq!(code, 200, "{report}");
    let during = &report["tiers"][0];
    assert_eq!(during["tier"], tier, "{report}");
    assert!(
        during["error"].is_string(),
        "a tier that is down verified: {report}"
    );
    assert_eq!(
        (&during["missing"], &during["stale"]),
        (&json!(0), &json!(0)),
        "{report}"
    );
    std::thread::sleep(Duration::from_secs(30).saturating_sub(down_at.elapsed()));
    let (_, status) = router.get("/v1/status").unwrap();
    let acked_during = status["tiers"]["hot"]["records"].as_u64().unwrap() - acked_before;
    assert!(
        acked_during > 1000,
        "only {acked_during} records acknowledged while {tier} was down"
    );
    assert!(
        status["tiers"][tier]["pending"].as_u64().unwrap() > 1000,
        "{status}"
    );
    assert!(!status["tiers"][tier]["last_error"].is_null(), "{status}");
    eprintln!(
        "{tier} down {:?}: {acked_during} records acknowledged meanwhile",
        down_at.elapsed()
    );
    let up_at = Instant::now();
    up();
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let seen = clients.join().unwrap();
    assert!(
        seen.cut.is_empty() && seen.other.is_empty(),
        "{:?}",
        seen.other
    );
    let sent = documents.join().unwrap();
    assert!(
        sent.other.is_empty(),
        "answers other than 202: {:?}",
        sent.other
    );
    let while_down = sent
        .acked
        .iter()
        .filter(|(_, at)| *at > down_at && *at < up_at)
        .count();
    assert!(
        while_down >= 5,
        "only {while_down} documents acknowledged while {tier} was down"
    );
    let status = router.wait_synced_within(Duration::from_secs(300));
    assert_eq!(
        status["tiers"][tier]["dead_letters"], 0,
        "an outage is no reason for a dead letter: {status}"
    );
    // And verify, page by page as a large store needs (one request over the whole took
    // longer than the request timeout here), finds every tier clean.
    eprintln!("{}", router.verify_clean(5000));
    router.stop();
    check_exactly_once(&seen, &read_stores(&dir, &dsn, &tag));
    check_documents(&dir, &dsn, &docs, &sent);
}

#[test]
fn postgresql_stopped_for_30_seconds_delays_but_loses_nothing() {
    let _serial = one_at_a_time();
    outage(
        "cold",
        || sh("pg_ctlcluster", &["15", "main", "stop", "-m", "fast"]),
        || {
            sh("pg_ctlcluster", &["15", "main", "start"]);
            sh("pg_isready", &["-h", "127.0.0.1", "-t", "60"]);
        },
    );
}

#[test]
fn neo4j_stopped_for_30_seconds_delays_but_loses_nothing() {
    let _serial = one_at_a_time();
    let script = scripts().join("neo4j.sh");
    let script = script.to_str().unwrap();
    outage(
        "graph",
        || sh("bash", &[script, "stop"]),
        || sh("bash", &[script, "start"]),
    );
}

/// A constraint the DBA added that one record breaks: the others flow, that record
/// waits in the cold tier's dead letter (the other tiers took it), and once the
/// constraint is gone a replay from the CLI delivers it.
#[test]
fn a_poison_record_waits_in_the_dead_letter_and_the_rest_flow() {
    let _serial = one_at_a_time();
    let dir = fresh_dir("poison");
    let router = Router::start(&dir);
    let tag = run_tag("poison");
    // The router applies the schema on its first write; make sure it exists first.
    let (s, _, _) = router.post(&json!({"id": format!("{tag}-warmup"), "kind": "domain", "value": format!("{tag}.example")}));
    assert_eq!(s, 202);
    router.wait_synced();
    let sql = |q: String| {
        rt().block_on(async {
            let client = pg().await;
            client.batch_execute(&q).await.unwrap();
        })
    };
    sql(format!(
        "ALTER TABLE ctas.reports ADD CONSTRAINT no_poison CHECK (id <> '{tag}-poison')"
    ));
    let records: Vec<Value> = (0..1000)
        .map(|i| {
            let id = if i == 437 {
                format!("{tag}-poison")
            } else {
                format!("{tag}-{i}")
            };
            json!({"id": id, "kind": "domain", "value": format!("{id}.example")})
        })
        .collect();
    let (status, _, body) = router.post(&Value::Array(records));
    assert_eq!(status, 202, "{body}");
    let status = router.wait_synced();
    assert_eq!(status["tiers"]["cold"]["dead_letters"], 1, "{status}");
    assert_eq!(status["tiers"]["warm"]["dead_letters"], 0, "{status}");
    let (_, letters) = router.get("/v1/dead-letters?tier=cold").unwrap();
    let letter = &letters["tiers"]["cold"]["letters"][0];
    assert_eq!(
        letter["item"]["object"]["id"],
        json!(format!("{tag}-poison")),
        "{letters}"
    );
    assert!(
        letter["error"].as_str().unwrap().contains("23514"),
        "{letter}"
    );
    let metrics = http_text(&format!("{}/metrics", router.url));
    assert!(
        metrics
            .lines()
            .any(|l| l == "ctas_dead_letters{tier=\"cold\"} 1"),
        "{metrics}"
    );

    let cli = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ctas-router"))
            .args(args)
            .args(["--url", &router.url])
            .output()
            .unwrap()
    };
    let listed = cli(&["dead-letters", "--tier", "cold"]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&format!("{tag}-poison")));
    let stores = read_cold_ids(test_dsn(), &tag);
    assert_eq!(
        stores.len(),
        1000,
        "the 999 others and the warm-up are in PostgreSQL"
    );
    assert!(!stores.contains(&format!("{tag}-poison")));

    sql("ALTER TABLE ctas.reports DROP CONSTRAINT no_poison".into());
    let replayed = cli(&["dead-letters", "--replay", "--tier", "cold"]);
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    assert!(String::from_utf8_lossy(&replayed.stderr).contains("cold: 1 record(s) sent again"));
    let status = router.wait_synced();
    assert_eq!(status["tiers"]["cold"]["dead_letters"], 0, "{status}");
    assert!(read_cold_ids(test_dsn(), &tag).contains(&format!("{tag}-poison")));
    router.stop();
}

/// The ids of the records PostgreSQL holds that start with `prefix` (a record with an id
/// of its own is the report of that id in the history), read with tokio-postgres.
fn read_cold_ids(dsn: &str, prefix: &str) -> Vec<String> {
    rt().block_on(async {
        let client = pg_at(dsn).await;
        client
            .query(
                "SELECT id FROM ctas.reports WHERE starts_with(id, $1)",
                &[&prefix],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    })
}

fn http_text(url: &str) -> String {
    http::text(url, &[])
}

/// A lock on the cold tier's table (VACUUM FULL, REINDEX): status and trace answer
/// within their timeout and name the tier that did not answer; ingest goes on.
#[test]
fn a_locked_cold_table_holds_up_nothing_but_its_worker() {
    let _serial = one_at_a_time();
    let dir = fresh_dir("lock");
    let router = Router::start(&dir);
    let tag = run_tag("lock");
    let (s, _, body) = router.post(
        &json!({"id": format!("{tag}-0"), "kind": "domain", "value": format!("{tag}.example")}),
    );
    assert_eq!(s, 202);
    let id = body["ids"][0].as_str().unwrap().to_owned();
    router.wait_synced();

    let runtime = rt();
    let locker = runtime.block_on(async {
        let client = pg().await;
        client
            .batch_execute("BEGIN; LOCK TABLE ctas.reports IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        client
    });
    let (s, _, _) = router.post(
        &json!({"id": format!("{tag}-1"), "kind": "domain", "value": format!("{tag}-1.example")}),
    );
    assert_eq!(s, 202, "ingest goes on");

    let started = Instant::now();
    let (code, status) = router.get("/v1/status").unwrap();
    let took = started.elapsed();
    assert_eq!(code, 200);
    assert!(took < Duration::from_secs(5), "status took {took:?}");
    assert!(status["tiers"]["cold"]["records"].is_null(), "{status}");
    assert!(
        status["tiers"]["cold"]["error"].as_str().is_some(),
        "{status}"
    );
    assert!(
        status["tiers"]["warm"]["records"].as_u64().is_some(),
        "{status}"
    );

    let started = Instant::now();
    let (code, trace) = router.get(&format!("/v1/records/{id}/trace")).unwrap();
    assert_eq!(code, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "trace took {:?}",
        started.elapsed()
    );
    assert_eq!(trace["tiers"]["hot"]["found"], true);
    assert!(
        trace["tiers"]["cold"]["error"].as_str().is_some(),
        "{trace}"
    );

    runtime.block_on(async { locker.batch_execute("ROLLBACK").await.unwrap() });
    drop(locker);
    let status = router.wait_synced();
    assert_eq!(
        status["tiers"]["cold"]["dead_letters"], 0,
        "a lock is no reason for a dead letter"
    );
    assert!(read_cold_ids(test_dsn(), &tag).contains(&format!("{tag}-1")));
    router.stop();
}

/// The STIX 2.1 domain objects (section 4 of the specification): what a bundle holds that
/// every tier must keep under its own id (a report, or an entity), beside ATT&CK's own
/// `x-mitre-` objects. Cyber-observables become indicators of CTAS's ids, and are left
/// to the lookup tests.
const SDO_TYPES: [&str; 19] = [
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
];

/// What documents say must be stored, read from their JSON alone: objects by id, and
/// relationships by id with their two ends.
#[derive(Default)]
struct Owed {
    objects: BTreeSet<String>,
    relationships: BTreeMap<String, (String, String)>,
    /// Per MISP event's report, the file hashes its attributes give (kind, value):
    /// MISP's types `md5`, `sha1` and `sha256` of that many hex digits, which every tier
    /// must hold as indicators the report sighted. Hex in lower case is the hashes'
    /// one spelling; what the router makes of other types is its own reading.
    hashes: BTreeSet<(String, String, String)>,
}

impl Owed {
    /// A STIX bundle's objects and relationships, or a MISP export's events (each the
    /// report `report--{uuid}`).
    fn add(&mut self, doc: &Value) {
        if let Some(objects) = doc["objects"].as_array() {
            for o in objects {
                let (t, id) = (o["type"].as_str().unwrap(), o["id"].as_str().unwrap());
                if t == "relationship" {
                    let end = |k: &str| o[k].as_str().unwrap().to_owned();
                    self.relationships
                        .insert(id.to_owned(), (end("source_ref"), end("target_ref")));
                } else if SDO_TYPES.contains(&t) || t.starts_with("x-mitre-") {
                    self.objects.insert(id.to_owned());
                }
            }
        }
        let events = match &doc["response"] {
            Value::Array(events) => events.iter().collect(),
            _ => vec![doc],
        };
        for e in events {
            let Some(uuid) = e["Event"]["uuid"].as_str() else {
                continue;
            };
            let report = format!("report--{uuid}");
            self.objects.insert(report.clone());
            let deleted =
                |o: &Value| matches!(&o["deleted"], Value::Bool(true)) || o["deleted"] == "1";
            let objects = e["Event"]["Object"].as_array().into_iter().flatten();
            let attributes = std::iter::once(&e["Event"])
                .chain(objects.filter(|o| !deleted(o)))
                .flat_map(|holder| holder["Attribute"].as_array().into_iter().flatten())
                .filter(|a| !deleted(a));
            for a in attributes {
                let (Some(kind), Some(value)) = (a["type"].as_str(), a["value"].as_str()) else {
                    continue;
                };
                let digits = match kind {
                    "md5" => 32,
                    "sha1" => 40,
                    "sha256" => 64,
                    _ => continue,
                };
                if value.len() == digits && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                    self.hashes.insert((
                        report.clone(),
                        kind.to_owned(),
                        value.to_ascii_lowercase(),
                    ));
                }
            }
        }
    }
}

/// What each store holds of `ids`: how many times the graph holds each (as a node, or
/// as an edge for relationships), and which the other tiers hold.
struct Held {
    warm: HashSet<String>,
    cold: HashSet<String>,
    nodes: BTreeMap<String, i64>,
    /// Per relationship: how many edges have its id, and how many labels each end of
    /// each has (a real object has its own besides `Object`; a placeholder an edge made
    /// before its end arrived has only that).
    edges: BTreeMap<String, (i64, Vec<i64>, Vec<i64>)>,
    /// The cold tier's sightings of the owed reports: (report, indicator id) → the
    /// indicator's (kind, value).
    cold_sightings: BTreeMap<(String, String), (String, String)>,
    /// The warm tier's sightings of the owed reports, and which of their indicators it
    /// holds.
    warm_sightings: BTreeSet<(String, String)>,
    warm_indicators: HashSet<String>,
    /// The graph's `SIGHTED` edges of the owed reports, counted, and its nodes of their
    /// indicators, counted.
    sighted_edges: BTreeMap<(String, String), i64>,
    indicator_nodes: BTreeMap<String, i64>,
    /// The graph's paths from the owed reports through a STIX indicator they refer to
    /// to the indicators it is based on.
    referred: BTreeSet<(String, String)>,
}

/// Read every store for what `owed` names; the router must have stopped.
fn read_held(dir: &std::path::Path, dsn: &str, owed: &Owed) -> Held {
    let objects: Vec<String> = owed.objects.iter().cloned().collect();
    // Anchored on the source's node (unique by id): edges have no index of their own.
    let relationships: Vec<neo4rs::BoltType> = owed
        .relationships
        .iter()
        .map(|(id, (source, _))| {
            std::collections::HashMap::from([("id", id.as_str()), ("source", source.as_str())])
                .into()
        })
        .collect();
    reader().block_on(async {
        let pg = pg_at(dsn).await;
        let cold = pg
            .query(
                "SELECT id FROM ctas.entities UNION ALL SELECT id FROM ctas.reports
                 UNION ALL SELECT id FROM ctas.relationships",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let reports: Vec<&String> = owed
            .objects
            .iter()
            .filter(|id| id.starts_with("report--"))
            .collect();
        let cold_sightings: BTreeMap<(String, String), (String, String)> = pg
            .query(
                "SELECT s.report_id, i.id, i.kind, i.value
                 FROM ctas.sightings s JOIN ctas.indicators i ON i.id = s.indicator_id
                 WHERE s.report_id = ANY($1)",
                &[&reports],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
            .collect();
        let indicators: Vec<String> = cold_sightings
            .keys()
            .map(|(_, i)| i.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let warm_db = open_warm(dir).await;
        let mut res = warm_db
            .query("SELECT report_id, indicator_id FROM sighting WHERE report_id IN $reports")
            .bind((
                "reports",
                reports.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            ))
            .await
            .unwrap();
        let rows: Vec<Value> = res.take(0).unwrap();
        let warm_sightings = rows
            .iter()
            .map(|r| {
                let field = |k: &str| r[k].as_str().unwrap().to_owned();
                (field("report_id"), field("indicator_id"))
            })
            .collect();
        let mut res = warm_db
            .query("SELECT VALUE record::id(id) FROM indicator WHERE record::id(id) IN $ids")
            .bind(("ids", indicators.clone()))
            .await
            .unwrap();
        let warm_indicators: Vec<String> = res.take(0).unwrap();
        let warm_indicators = warm_indicators.into_iter().collect();
        let mut warm = HashSet::new();
        for table in ["entity", "report", "relationship"] {
            let mut res = warm_db
                .query(format!("SELECT VALUE record::id(id) FROM {table}"))
                .await
                .unwrap();
            let ids: Vec<String> = res.take(0).unwrap();
            warm.extend(ids);
        }
        let graph = neo4rs::Graph::new(env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD"))
            .expect("connect to Neo4j");
        let nodes = node_counts(&graph, objects).await;
        let mut edges = BTreeMap::new();
        let mut rows = graph
            .execute(
                neo4rs::query(
                    "UNWIND $rows AS row
                     OPTIONAL MATCH (a:Object {id: row.source})-[e {id: row.id}]->(b)
                     RETURN row.id AS id, count(e) AS n, collect(size(labels(a))) AS la,
                            collect(size(labels(b))) AS lb",
                )
                .param("rows", relationships),
            )
            .await
            .unwrap();
        while let Some(row) = rows.next().await.unwrap() {
            edges.insert(
                row.get::<String>("id").unwrap(),
                (
                    row.get::<i64>("n").unwrap(),
                    row.get::<Vec<i64>>("la").unwrap(),
                    row.get::<Vec<i64>>("lb").unwrap(),
                ),
            );
        }
        // Per report and indicator: its SIGHTED edges, counted, and whether a path
        // through a STIX indicator the report refers to leads there.
        let (mut sighted_edges, mut referred) = (BTreeMap::new(), BTreeSet::new());
        let mut rows = graph
            .execute(
                neo4rs::query(
                    "UNWIND $reports AS report
                     MATCH (:Object {id: report})-[e:SIGHTED]->(i)
                     RETURN 'sighted' AS how, report, i.id AS indicator, count(e) AS n
                     UNION ALL
                     UNWIND $reports AS report
                     MATCH (:Object {id: report})-[:REFERS_TO]->()-[:BASED_ON]->(i)
                     RETURN DISTINCT 'referred' AS how, report, i.id AS indicator, 1 AS n",
                )
                .param(
                    "reports",
                    reports.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
                ),
            )
            .await
            .unwrap();
        while let Some(row) = rows.next().await.unwrap() {
            let key = (
                row.get::<String>("report").unwrap(),
                row.get::<String>("indicator").unwrap(),
            );
            if row.get::<String>("how").unwrap() == "sighted" {
                sighted_edges.insert(key, row.get::<i64>("n").unwrap());
            } else {
                referred.insert(key);
            }
        }
        let indicator_nodes = node_counts(&graph, indicators).await;
        Held {
            warm,
            cold,
            nodes,
            edges,
            cold_sightings,
            warm_sightings,
            warm_indicators,
            sighted_edges,
            indicator_nodes,
            referred,
        }
    })
}

/// How many nodes the graph holds of each id.
async fn node_counts(graph: &neo4rs::Graph, ids: Vec<String>) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    let mut rows = graph
        .execute(
            neo4rs::query(
                "UNWIND $ids AS id OPTIONAL MATCH (n:Object {id: id}) RETURN id, count(n) AS n",
            )
            .param("ids", ids),
        )
        .await
        .unwrap();
    while let Some(row) = rows.next().await.unwrap() {
        counts.insert(
            row.get::<String>("id").unwrap(),
            row.get::<i64>("n").unwrap(),
        );
    }
    counts
}

/// The documents the fault tests send: ATT&CK first if asked, then Unit 42's STIX
/// reports and ESET's MISP events, each as its bytes and its JSON.
fn documents(with_attack: bool) -> Vec<(String, Vec<u8>, Value)> {
    let mut docs: Vec<(String, Vec<u8>, Value)> = Vec::new();
    if with_attack {
        let gz = std::fs::read(shared("attack/enterprise-attack-v18.1.json.gz")).unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
        docs.push(("ATT&CK".into(), gz, serde_json::from_slice(&text).unwrap()));
    }
    for dir in ["stix/unit42", "misp/eset"] {
        let mut files: Vec<_> = std::fs::read_dir(shared(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let json = serde_json::from_slice(&bytes).unwrap();
            docs.push((f.display().to_string(), bytes, json));
        }
    }
    // The graph is shared: what an earlier run left of these objects goes first.
    let mut all = Owed::default();
    for (_, _, json) in &docs {
        all.add(json);
    }
    graph_forget(&all.objects.iter().collect::<Vec<_>>());
    docs
}

/// What the documents client saw: each acknowledged document's index and when, and any
/// answer other than 202.
#[derive(Default)]
struct Sent {
    acked: Vec<(usize, Instant)>,
    other: Vec<String>,
}

/// One client posting `docs` to `/v1/ingest` in `order` until `stop`, pausing `pause`
/// after each answer; a document that got no answer is sent again, as a client would.
/// Beside the thread, how many documents have been acknowledged so far.
fn send_documents(
    url: &str,
    docs: Arc<Vec<(String, Vec<u8>, Value)>>,
    mut order: impl Iterator<Item = usize> + Send + 'static,
    pause: Duration,
    stop: Arc<AtomicBool>,
) -> (std::thread::JoinHandle<Sent>, Arc<AtomicUsize>) {
    let url = format!("{url}/v1/ingest");
    let acked = Arc::new(AtomicUsize::new(0));
    let counted = acked.clone();
    let client = std::thread::spawn(move || {
        let mut sent = Sent::default();
        let mut next = order.next();
        while let Some(i) = next {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let (name, bytes, _) = &docs[i];
            match http::try_send("POST", &url, "application/json", bytes.clone()) {
                Some((202, _)) => {
                    sent.acked.push((i, Instant::now()));
                    counted.fetch_add(1, Ordering::Relaxed);
                    next = order.next();
                }
                Some((status, body)) => {
                    sent.other.push(format!("{name}: {status} {body}"));
                    next = order.next();
                }
                None => std::thread::sleep(Duration::from_millis(100)),
            }
            std::thread::sleep(pause);
        }
        sent
    });
    (client, acked)
}

/// Every object of every acknowledged document in every tier, once: entities and
/// reports as nodes, relationships as edges between two real objects, each MISP
/// event's file hashes as indicators its report sighted, and the sightings of every
/// owed report alike in all three tiers. The router must have stopped.
fn check_documents(
    dir: &std::path::Path,
    dsn: &str,
    docs: &[(String, Vec<u8>, Value)],
    sent: &Sent,
) {
    let mut owed = Owed::default();
    for i in sent.acked.iter().map(|(i, _)| *i).collect::<BTreeSet<_>>() {
        owed.add(&docs[i].2);
    }
    eprintln!(
        "{} documents acknowledged: {} objects, {} relationships, {} hashes owed",
        sent.acked.len(),
        owed.objects.len(),
        owed.relationships.len(),
        owed.hashes.len()
    );
    let held = read_held(dir, dsn, &owed);
    for (tier, ids) in [("warm", &held.warm), ("cold", &held.cold)] {
        let missing: Vec<&String> = owed
            .objects
            .iter()
            .chain(owed.relationships.keys())
            .filter(|id| !ids.contains(*id))
            .take(5)
            .collect();
        assert!(missing.is_empty(), "{tier} lacks e.g. {missing:?}");
    }
    let not_once: Vec<_> = held.nodes.iter().filter(|(_, &n)| n != 1).take(5).collect();
    assert!(not_once.is_empty(), "nodes not there once: {not_once:?}");
    // Each relationship one edge; an end the documents hold is a real object there.
    let real =
        |id: &str, labels: &[i64]| !owed.objects.contains(id) || labels.iter().all(|&n| n > 1);
    let bad_edges: Vec<_> = held
        .edges
        .iter()
        .filter(|(id, (n, la, lb))| {
            let (source, target) = &owed.relationships[id.as_str()];
            *n != 1 || !real(source, la) || !real(target, lb)
        })
        .take(5)
        .collect();
    assert!(
        bad_edges.is_empty(),
        "relationships not one edge between real objects (edges, labels of the ends): {bad_edges:?}"
    );
    assert_eq!(held.nodes.len(), owed.objects.len());
    assert_eq!(held.edges.len(), owed.relationships.len());

    // Indicators and sightings: MISP's hashes in the cold tier; the warm tier's
    // sightings of these reports exactly the graph's, and the cold tier's those and
    // the ones its history joins across documents (a report referring to a STIX
    // indicator another document is based on), which the graph holds as paths.
    let cold_hashes: BTreeSet<(String, String, String)> = held
        .cold_sightings
        .iter()
        .map(|((report, _), (kind, value))| (report.clone(), kind.clone(), value.clone()))
        .collect();
    let missing: Vec<_> = owed.hashes.difference(&cold_hashes).take(5).collect();
    assert!(
        !owed.hashes.is_empty() && missing.is_empty(),
        "of {} hashes MISP events name, the cold tier lacks e.g. {missing:?}",
        owed.hashes.len()
    );
    let cold: BTreeSet<(String, String)> = held.cold_sightings.keys().cloned().collect();
    let graph: BTreeSet<(String, String)> = held.sighted_edges.keys().cloned().collect();
    let differ = |tier: &str, a: &BTreeSet<(String, String)>, b: &BTreeSet<(String, String)>| {
        let missing: Vec<_> = b.difference(a).take(5).collect();
        let extra: Vec<_> = a.difference(b).take(5).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{tier}: {} sightings against {}; lacks e.g. {missing:?}, more e.g. {extra:?}",
            a.len(),
            b.len()
        );
    };
    differ("warm against the graph", &held.warm_sightings, &graph);
    let joined: BTreeSet<(String, String)> = graph.union(&held.referred).cloned().collect();
    let extra: Vec<_> = graph.difference(&cold).take(5).collect();
    assert!(
        extra.is_empty(),
        "graph sightings the cold tier lacks: {extra:?}"
    );
    let unexplained: Vec<_> = cold.difference(&joined).take(5).collect();
    assert!(
        unexplained.is_empty(),
        "cold sightings neither in the graph nor joined from its relationships: {unexplained:?}"
    );
    let doubled: Vec<_> = held
        .sighted_edges
        .iter()
        .filter(|(_, &n)| n != 1)
        .take(5)
        .collect();
    assert!(doubled.is_empty(), "sightings not one edge: {doubled:?}");
    let indicators: BTreeSet<&String> = cold.iter().map(|(_, i)| i).collect();
    let not_once: Vec<_> = held
        .indicator_nodes
        .iter()
        .filter(|(_, &n)| n != 1)
        .take(5)
        .collect();
    assert!(
        not_once.is_empty(),
        "indicator nodes not there once: {not_once:?}"
    );
    let warm_lacks: Vec<_> = indicators
        .iter()
        .filter(|i| !held.warm_indicators.contains(**i))
        .take(5)
        .collect();
    assert!(
        warm_lacks.is_empty(),
        "warm lacks indicators e.g. {warm_lacks:?}"
    );
    eprintln!(
        "{} sightings of {} indicators in every tier, {} more joined across documents in \
         the cold tier",
        graph.len(),
        indicators.len(),
        cold.len() - graph.len()
    );
}

/// kill -9 three times at random moments while one client sends ATT&CK, then Unit 42's
/// STIX reports and ESET's MISP events over and over: at the end every object of every
/// acknowledged document is in every tier, once — entities and reports as nodes,
/// relationships as edges between two real objects.
#[test]
fn kills_while_documents_arrive_lose_and_double_nothing() {
    let _serial = one_at_a_time();
    let dir = fresh_dir("kill-docs");
    let dsn = fresh_database("ctas_router_faults_docs");
    let port = free_port();
    let docs = Arc::new(documents(true));
    let mut router = Router::start_with(&dir, port, &dsn);
    let stop = Arc::new(AtomicBool::new(false));
    // ATT&CK once, then the others round and round, STIX and MISP in turn: however few
    // documents a slow run gets through before its kills end, both formats are among
    // them (Unit 42's 50 bundles first once left a run with no MISP event to check).
    let (misp, stix): (Vec<usize>, Vec<usize>) =
        (1..docs.len()).partition(|&i| docs[i].0.contains("misp/"));
    let mut turns = Vec::new();
    for i in 0..stix.len().max(misp.len()) {
        turns.extend(stix.get(i).into_iter().chain(misp.get(i)));
    }
    let order = std::iter::once(0).chain(turns.into_iter().cycle());
    let (client, acked) = send_documents(
        &router.url,
        docs.clone(),
        order,
        Duration::ZERO,
        stop.clone(),
    );
    // The kills come while the tiers take ATT&CK in (many seconds) and the other
    // documents arrive.
    while acked.load(Ordering::Relaxed) == 0 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut rng = Rng::seeded();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(300 + rng.below(2500)));
        router.crash();
        std::thread::sleep(Duration::from_millis(rng.below(500)));
        router = Router::start_with(&dir, port, &dsn);
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let sent = client.join().unwrap();
    assert!(
        sent.other.is_empty(),
        "answers other than 202: {:?}",
        sent.other
    );
    assert!(
        sent.acked.first().map(|a| a.0) == Some(0) && sent.acked.len() > 10,
        "too little acknowledged: {:?}",
        sent.acked.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    router.wait_synced_within(Duration::from_secs(300));
    router.stop();
    check_documents(&dir, &dsn, &docs, &sent);
}
