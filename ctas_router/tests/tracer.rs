//! One record traced through every tier, read back from each store with that
//! store's own client: sled, SurrealDB, PostgreSQL (tokio-postgres) and Neo4j (neo4rs).
//!
//! These tests run the real `ctas-router` binary against the real services that
//! `scripts/test.sh` starts. A missing service fails the test; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the router tests through scripts/test.sh (make test), which starts the services")
    })
}

/// A router process on its own port and data directory, stopped on drop.
struct Router {
    child: Option<Child>,
    url: String,
    data_dir: PathBuf,
}

impl Router {
    fn start(data_dir: &Path) -> Router {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(data_dir.with_extension("log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .env("CTAS_PG_DSN", test_dsn())
            .env("NEO4J_URI", env("NEO4J_URI"))
            .env("NEO4J_USER", env("NEO4J_USER"))
            .env("NEO4J_PASSWORD", env("NEO4J_PASSWORD"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start ctas-router");
        let router = Router {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
            data_dir: data_dir.to_owned(),
        };
        router.wait_until(
            Duration::from_secs(60),
            "the router to answer /health",
            |r| r.get("/health").is_some_and(|(s, _)| s == 200),
        );
        router
    }

    fn get(&self, path: &str) -> Option<(u16, Value)> {
        http::get(&format!("{}{path}", self.url))
    }

    fn post(&self, body: &Value) -> (u16, String, Value) {
        http::post(&format!("{}/v1/records", self.url), body)
    }

    fn wait_until(&self, timeout: Duration, what: &str, ok: impl Fn(&Router) -> bool) {
        let deadline = Instant::now() + timeout;
        while !ok(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; router log: {}",
                std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_synced(&self) -> Value {
        self.wait_until(Duration::from_secs(60), "every outbox to drain", |r| {
            r.get("/v1/status")
                .is_some_and(|(_, s)| s["synced"] == true)
        });
        self.get("/v1/status").unwrap().1
    }

    /// SIGTERM, as an operator or systemd would stop it; it must exit cleanly.
    fn stop(mut self) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = child.wait().unwrap();
        assert!(exit.success(), "router exited with {exit}");
    }

    /// SIGKILL: a crash, with no chance to flush anything.
    fn crash(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A small blocking HTTP client over reqwest's async one, so the tests stay plain.
mod http {
    use reqwest::Client;
    use serde_json::Value;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    pub fn get(url: &str) -> Option<(u16, Value)> {
        rt().block_on(async {
            let r = reqwest::get(url).await.ok()?;
            let status = r.status().as_u16();
            Some((status, r.json().await.unwrap_or(Value::Null)))
        })
    }

    pub fn post(url: &str, body: &Value) -> (u16, String, Value) {
        rt().block_on(async {
            let r = Client::new().post(url).json(body).send().await.unwrap();
            let status = r.status().as_u16();
            let ctype = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, ctype, r.json().await.unwrap())
        })
    }
}

/// A data directory of one test: removed when the test passes, kept (with the router's
/// log beside it) when it fails, for the post-mortem.
struct TestDir(PathBuf);

impl std::ops::Deref for TestDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept for inspection: {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
            let _ = std::fs::remove_file(self.0.with_extension("log"));
        }
    }
}

fn fresh_dir(name: &str) -> TestDir {
    let dir = std::env::temp_dir().join(format!(
        "ctas-test-{name}-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    TestDir(dir)
}

/// A value no earlier run has used, so each test traces a record of its own.
fn unique_value(tag: &str) -> String {
    format!(
        "{tag}-{}-{}.example.net",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap()
    )
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A database of the tests' own, made anew once per run, so the cold tier the tests
/// fill is neither the demo's nor left from an earlier run.
fn test_dsn() -> &'static str {
    static DSN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DSN.get_or_init(|| {
        const DB: &str = "ctas_router_test";
        let admin = env("CTAS_PG_DSN");
        rt().block_on(async {
            let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .expect("connect to PostgreSQL");
            tokio::spawn(conn);
            // Two statements: CREATE DATABASE cannot share a transaction.
            for sql in [
                format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"),
                format!("CREATE DATABASE {DB}"),
            ] {
                client
                    .batch_execute(&sql)
                    .await
                    .expect("make the test database");
            }
        });
        // A later keyword wins in a libpq key=value string, as scripts/env.sh writes it.
        format!("{admin} dbname={DB}")
    })
}

/// Remove the test's nodes from Neo4j, which has one database for everyone.
fn graph_forget(ids: &[&str]) {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    rt().block_on(async {
        let graph = neo4rs::Graph::new(env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD"))
            .expect("connect to Neo4j");
        graph
            .run(
                neo4rs::query("MATCH (r:ThreatRecord) WHERE r.id IN $ids DETACH DELETE r")
                    .param("ids", ids),
            )
            .await
            .unwrap();
    })
}

/// The record as PostgreSQL holds it, read with tokio-postgres.
fn cold_row(id: &str) -> Option<Value> {
    rt().block_on(async {
        let (client, conn) = tokio_postgres::connect(test_dsn(), tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(conn);
        let rows = client
            .query(
                "SELECT to_jsonb(t) FROM ctas.threat_records t WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap();
        assert!(rows.len() <= 1);
        rows.first().map(|r| r.get(0))
    })
}

/// How many nodes Neo4j has for this id, and the node's properties, read with neo4rs.
fn graph_nodes(id: &str) -> (i64, Option<(String, String, Option<i64>)>) {
    rt().block_on(async {
        let graph = neo4rs::Graph::new(env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD"))
            .expect("connect to Neo4j");
        let mut rows = graph
            .execute(
                neo4rs::query(
                    "MATCH (r:ThreatRecord {id: $id}) \
                     RETURN count(r) AS n, collect([r.kind, r.value])[0] AS kv, \
                            collect(r.h3_cell)[0] AS cell",
                )
                .param("id", id),
            )
            .await
            .unwrap();
        let row = rows.next().await.unwrap().unwrap();
        let n: i64 = row.get("n").unwrap();
        let kv: Option<Vec<String>> = row.get("kv").unwrap();
        let cell: Option<i64> = row.get("cell").unwrap();
        (n, kv.map(|kv| (kv[0].clone(), kv[1].clone(), cell)))
    })
}

#[test]
fn one_record_reaches_every_tier_and_reads_back_from_each() {
    let dir = fresh_dir("tracer");
    let router = Router::start(&dir);
    let value = unique_value("c2");
    let record = json!({
        "kind": "domain", "value": value.to_uppercase(), "source": "tracer-test",
        "observed_at": "2026-11-20T08:30:00Z", "lat": 52.52, "lng": 13.405,
        "tags": ["tlp:clear", "kill-chain:c2"]
    });
    let (status, _, body) = router.post(&record);
    assert_eq!(status, 202, "{body}");
    let id = body["ids"][0].as_str().unwrap().to_owned();
    assert_eq!(id, ctas_core::model::indicator_id("domain", &value));
    let cell = ctas_core::geo::cell(52.52, 13.405, 7).unwrap();

    let status = router.wait_synced();
    assert_eq!(
        status["tiers"]["cold"]["last_error"],
        Value::Null,
        "{status}"
    );

    // PostgreSQL, through its own client.
    let row = cold_row(&id).expect("the record is in ctas.threat_records");
    assert_eq!(row["value"], json!(value), "normalised to lower case");
    assert_eq!(row["kind"], "domain");
    assert_eq!(row["h3_cell"], json!(cell as i64));
    assert_eq!(row["tags"], json!(["tlp:clear", "kill-chain:c2"]));

    // Neo4j, through neo4rs.
    assert_eq!(
        graph_nodes(&id),
        (1, Some(("domain".into(), value.clone(), Some(cell as i64))))
    );

    // The router's own trace agrees with what the stores said.
    let (_, trace) = router.get(&format!("/v1/records/{id}/trace")).unwrap();
    for tier in ["hot", "warm", "cold", "graph"] {
        assert_eq!(trace["tiers"][tier]["found"], true, "{tier}: {trace}");
    }
    router.stop();

    // sled and SurrealKV are single-process stores: read them once the router is gone.
    let db = sled::open(dir.join("hot")).expect("open the hot tier");
    let stored: Value =
        serde_json::from_slice(&db.open_tree("records").unwrap().get(&id).unwrap().unwrap())
            .unwrap();
    assert_eq!(stored["value"], json!(value));
    for outbox in ["outbox:warm", "outbox:cold", "outbox:graph"] {
        assert!(db.open_tree(outbox).unwrap().is_empty(), "{outbox} drained");
    }
    drop(db);

    let warm: Option<Value> = rt().block_on(async {
        let db =
            surrealdb::engine::any::connect(format!("surrealkv://{}", dir.join("warm").display()))
                .await
                .expect("open the warm tier");
        db.use_ns("ctas").use_db("ctas").await.unwrap();
        db.select(("threat_record", id.as_str())).await.unwrap()
    });
    let warm = warm.expect("the record is in SurrealDB");
    assert_eq!(warm["value"], json!(value));
    assert_eq!(warm["h3_cell"], json!(cell));
    graph_forget(&[&id]);
}

#[test]
fn an_acknowledged_record_survives_a_crash_and_is_delivered_after_restart() {
    let dir = fresh_dir("crash");
    let router = Router::start(&dir);
    let value = unique_value("crash");
    let (status, _, body) = router.post(&json!({"kind": "domain", "value": value}));
    assert_eq!(status, 202, "{body}");
    let id = body["ids"][0].as_str().unwrap().to_owned();
    router.crash();

    // The acknowledgement promised the record was on disk: it must be, crash or not.
    {
        let db = sled::open(dir.join("hot")).unwrap();
        assert!(db.open_tree("records").unwrap().get(&id).unwrap().is_some());
    }

    // Restarted on the same directory, the router finishes delivering it, exactly once.
    let router = Router::start(&dir);
    router.wait_synced();
    assert!(
        cold_row(&id).is_some(),
        "delivered to PostgreSQL after restart"
    );
    assert_eq!(graph_nodes(&id).0, 1, "one node in Neo4j after restart");
    router.stop();
    graph_forget(&[&id]);
}

#[test]
fn the_same_record_twice_is_stored_once_in_every_tier() {
    let dir = fresh_dir("twice");
    let router = Router::start(&dir);
    let value = unique_value("twice");
    let first = json!({"kind": "domain", "value": value, "source": "a"});
    let second = json!([{"kind": "domain", "value": value, "source": "b"}]);
    let (s1, _, b1) = router.post(&first);
    let (s2, _, b2) = router.post(&second);
    assert_eq!((s1, s2), (202, 202));
    assert_eq!(b1["ids"][0], b2["ids"][0]);
    let id = b1["ids"][0].as_str().unwrap().to_owned();
    let status = router.wait_synced();
    assert_eq!(
        cold_row(&id).unwrap()["source"],
        "b",
        "the later record wins"
    );
    assert_eq!(graph_nodes(&id).0, 1);
    assert_eq!(status["tiers"]["hot"]["records"], 1);
    router.stop();
    graph_forget(&[&id]);
}

#[test]
fn a_bad_record_is_a_problem_naming_the_field_and_nothing_is_stored() {
    let dir = fresh_dir("bad");
    let router = Router::start(&dir);
    let good = json!({"kind": "domain", "value": unique_value("good")});
    let bad = json!({"kind": "ipv4", "value": "203.0.113.9", "lat": 95.0, "lng": 0.0});
    let (status, ctype, body) = router.post(&json!([good, bad]));
    assert_eq!(status, 422, "{body}");
    assert_eq!(ctype, "application/problem+json");
    assert_eq!(body["type"], "urn:ctas:problem:invalid-record");
    assert_eq!(body["errors"][0]["index"], 1);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("lat must be"), "{message}");

    let (_, status_body) = router.get("/v1/status").unwrap();
    assert_eq!(status_body["tiers"]["hot"]["records"], 0, "all or nothing");

    let (status, _, body) = router.post(&json!({"kind": "domain"}));
    assert_eq!(status, 422);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("missing field `value`"),
        "{body}"
    );
    router.stop();
}

/// The router and SQL give the same analysis of the same report: both call
/// `ctas_core::analyze` (the SQL side with the extension installed in the test database).
#[test]
fn the_router_and_sql_analyse_a_report_alike() {
    let dir = fresh_dir("analyze");
    let router = Router::start(&dir);
    let report = json!({
        "text": "Beacon to hxxps://evil[.]com/gate.php from 10.1.2.3; dropper invoice.docm, T1059.001",
        "lat": 51.5007, "lng": -0.1246,
        "observed_at": "2026-10-25T00:00:00Z",
        "source": {"name": "CERT-X", "reliability": "B", "credibility": "2"},
        "tags": ["tlp:amber"]
    });
    let at = "2026-11-01T00:00:00Z";
    let (status, _, from_router) = http::post(
        &format!("{}/v1/analyze?resolution=8&at={at}", router.url),
        &report,
    );
    assert_eq!(status, 200, "{from_router}");
    let from_sql: Value = rt().block_on(async {
        let (client, conn) = tokio_postgres::connect(test_dsn(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        client.batch_execute("CREATE EXTENSION IF NOT EXISTS ctas").await.unwrap();
        let row = client
            .query_one(
                "SELECT ctas_analyze($1::text::jsonb, NULL, 8, 'ctas:admiralty', $2::text::timestamptz)",
                &[&report.to_string(), &at],
            )
            .await
            .unwrap();
        row.get(0)
    });
    assert_eq!(from_router, from_sql);
    assert_eq!(
        from_router["iocs"].as_array().unwrap().len(),
        5,
        "{from_router}"
    );
    assert_eq!(from_router["h3_resolution"], 8);

    let (status, ctype, body) = http::post(
        &format!("{}/v1/analyze", router.url),
        &json!({"text": "x", "lat": 1.0}),
    );
    assert_eq!(
        (status, ctype.as_str()),
        (422, "application/problem+json"),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap().contains("`lat` and `lng`"),
        "{body}"
    );
    router.stop();
}
