//! STIX bundles and MISP exports through the router (`POST /v1/ingest`, `ctas-router
//! ingest`) into the history the extension queries: the same rows as SQL's own
//! `ctas_ingest_stix`/`ctas_ingest_misp` store, found by correlation and retro-hunts
//! (MITRE ATT&CK into every tier: `tests/graph.rs`). Real PostgreSQL with the extension, real Neo4j, real
//! SurrealDB and sled; a missing service fails the test.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn files(dir: &str) -> Vec<PathBuf> {
    let mut f: Vec<PathBuf> = std::fs::read_dir(shared(dir))
        .unwrap_or_else(|e| panic!("{dir} of the shared data: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    f.sort();
    f
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Every row of the history, table by table, without what the database itself stamps
/// (created_at, a sighting's serial id).
fn history(dsn: &str) -> Vec<(String, Vec<Value>)> {
    rt().block_on(async {
        let c = pg_at(dsn).await;
        let mut out = Vec::new();
        for (table, minus, order) in [
            ("sources", "created_at", "name"),
            ("reports", "created_at", "id"),
            ("indicators", "", "id"),
            (
                "sightings",
                "id",
                "report_id, indicator_id, pattern_id, start_pos",
            ),
            ("relationships", "", "id"),
            ("entities", "", "id"),
        ] {
            let sql =
                format!("SELECT to_jsonb(t) - '{minus}' FROM ctas.{table} t ORDER BY {order}");
            let rows: Vec<Value> = c
                .query(&sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
            out.push((table.to_owned(), rows));
        }
        out
    })
}

#[test]
fn feeds_through_the_router_are_the_rows_sql_ingest_stores() {
    let dir = fresh_dir("feeds");
    let dsn = fresh_database("ctas_router_ingest_feeds");
    let router = Router::start_with(&dir, free_port(), &dsn);
    let bundles = files("stix/unit42");
    assert_eq!(bundles.len(), 50);
    for (i, f) in bundles.iter().enumerate() {
        let bytes = std::fs::read(f).unwrap();
        // Every other bundle gzip'd: the router reads it by its magic bytes.
        let body = if i % 2 == 0 {
            gzip(&bytes)
        } else {
            bytes.clone()
        };
        let (status, _, answer) = ingest(&router, body);
        assert_eq!(status, 202, "{}: {answer}", f.display());
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let reports = doc["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] == "report")
            .count();
        assert_eq!(answer["format"], "stix");
        assert_eq!(answer["accepted"]["reports"], reports, "{answer}");
    }
    // The ESET events through the CLI, a directory at once.
    let cli = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
        .arg("ingest")
        .arg(shared("misp/eset"))
        .args(["--url", &router.url])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&cli.stderr);
    assert!(cli.status.success(), "{said}");
    assert!(said.contains("[23/23]"), "{said}");
    router.wait_synced_within(Duration::from_secs(180));

    // The same files through SQL, into a database of their own.
    let sql_dsn = sql_ingest("ctas_router_ingest_sql", &bundles, &files("misp/eset"));
    same_history(&dsn, &sql_dsn);
    router.stop();
}

/// The bundles and exports through SQL's `ctas_ingest_stix`/`ctas_ingest_misp`, in that
/// order, into a database made anew; its connection string.
fn sql_ingest(db: &str, bundles: &[PathBuf], exports: &[PathBuf]) -> String {
    let dsn = fresh_database_with_history(db);
    rt().block_on(async {
        let c = pg_at(&dsn).await;
        for (files, function) in [(bundles, "ctas_ingest_stix"), (exports, "ctas_ingest_misp")] {
            for f in files {
                let doc: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
                c.query_one(&format!("SELECT {function}($1)"), &[&doc])
                    .await
                    .unwrap();
            }
        }
    });
    dsn
}

/// Every row of the history of two databases, table by table, equal (and the reports,
/// indicators, sightings, relationships and entities not empty).
fn same_history(a: &str, b: &str) {
    for ((table, x), (_, y)) in history(a).iter().zip(&history(b)) {
        assert!(!x.is_empty() || table == "sources", "{table} is empty");
        assert_eq!(
            x.len(),
            y.len(),
            "{table}: {} rows and {}",
            x.len(),
            y.len()
        );
        for (r, s) in x.iter().zip(y) {
            assert_eq!(r, s, "{table}");
        }
    }
}

/// Unit 42's KoiLoader bundle (modified 2024-06-13) and OriginLogger bundle (2024-06-10)
/// give the same ids to different indicators. Posted newer first, the older versions
/// replace nothing in any tier: the cold tier holds each id's later version, as the
/// bundles' `modified` say (STIX 2.1, 3.6), and verify finds every other tier holding
/// the same.
#[test]
fn an_older_version_sent_last_replaces_nothing_in_any_tier() {
    let dir = fresh_dir("versions");
    let dsn = fresh_database("ctas_router_ingest_versions");
    let router = Router::start_with(&dir, free_port(), &dsn);
    let newer_first = [
        shared("stix/unit42/2024-06-12-KoiLoader-KoiStealer.json"),
        shared("stix/unit42/2024-06-10-OriginLogger.json"),
    ];
    // Of each id both bundles give, the name of the version modified last.
    let mut versions: std::collections::HashMap<String, Vec<(String, String)>> =
        std::collections::HashMap::new();
    for f in &newer_first {
        let bytes = std::fs::read(f).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        for o in doc["objects"].as_array().unwrap() {
            if o["type"] == "indicator" {
                versions
                    .entry(o["id"].as_str().unwrap().to_owned())
                    .or_default()
                    .push((
                        o["modified"].as_str().unwrap().to_owned(),
                        o["name"].as_str().unwrap().to_owned(),
                    ));
            }
        }
        let (status, _, answer) = ingest(&router, bytes);
        assert_eq!(status, 202, "{}: {answer}", f.display());
    }
    let contested: Vec<(String, String)> = versions
        .into_iter()
        .filter(|(_, v)| v.len() == 2 && v[0].0 != v[1].0 && v[0].1 != v[1].1)
        .map(|(id, v)| (id, v.into_iter().max().unwrap().1))
        .collect();
    assert!(contested.len() >= 2, "{contested:?}");
    router.wait_synced();
    rt().block_on(async {
        let c = pg_at(&dsn).await;
        for (id, name) in &contested {
            let row = c
                .query_one("SELECT name FROM ctas.entities WHERE id = $1", &[id])
                .await
                .unwrap();
            assert_eq!(&row.get::<_, String>(0), name, "{id}");
        }
    });
    router.verify_clean(100_000);
    router.stop();
}

/// Four clients post the 50 bundles at once, each in an order of its own (client 2 with
/// a stride that posts some bundles several times): the history is the one SQL stores
/// from one pass in file order — nothing lost, doubled, or told apart by the order the
/// documents came in — and every tier holds what the hot tier holds (`verify`), also of
/// the indicator ids two bundles give to different objects of different `modified`
/// (KoiLoader's and OriginLogger's): each tier keeps the later version.
#[test]
fn bundles_posted_at_once_in_any_order_give_the_same_history() {
    let dir = fresh_dir("concurrent");
    let dsn = fresh_database("ctas_router_ingest_concurrent");
    let router = Router::start_with(&dir, free_port(), &dsn);
    let bundles = files("stix/unit42");
    let bodies: Vec<Vec<u8>> = bundles.iter().map(|f| std::fs::read(f).unwrap()).collect();
    std::thread::scope(|scope| {
        for client in 0..4 {
            let (router, bodies) = (&router, &bodies);
            scope.spawn(move || {
                let n = bodies.len();
                for k in 0..n {
                    let i = match client {
                        0 => k,
                        1 => n - 1 - k,
                        c => (k * (2 * c + 1) + n / 2) % n,
                    };
                    let (status, _, answer) = ingest(router, bodies[i].clone());
                    assert_eq!(status, 202, "client {client}, bundle {i}: {answer}");
                }
            });
        }
    });
    router.wait_synced_within(Duration::from_secs(180));
    let sql_dsn = sql_ingest("ctas_router_ingest_concurrent_sql", &bundles, &[]);
    same_history(&dsn, &sql_dsn);
    router.verify_clean(100_000);
    router.stop();
}

#[test]
fn a_routed_bundle_is_found_by_correlation_and_by_a_retro_hunt() {
    let dir = fresh_dir("correlate");
    let dsn = fresh_database("ctas_router_ingest_correlate");
    let router = Router::start_with(&dir, free_port(), &dsn);
    let path = shared("stix/unit42/2024-03-06-Pikabot-with-Meduza-Stealer.json");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let report = objects.iter().find(|o| o["type"] == "report").unwrap();
    // A SHA-256 the bundle's patterns name, read from its text here, not by CTAS.
    let sha = objects
        .iter()
        .filter_map(|o| o["pattern"].as_str())
        .find_map(|p| {
            let at = p.find("file:hashes.'SHA-256' = '")? + "file:hashes.'SHA-256' = '".len();
            Some(p[at..at + 64].to_owned())
        })
        .expect("a SHA-256 in the bundle");
    let (status, _, answer) = ingest(&router, std::fs::read(&path).unwrap());
    assert_eq!(status, 202, "{answer}");
    // A MISP event, a week later, naming that hash in upper case.
    let event = json!({"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-0000000c0a01", "info": "Loader hash seen again",
        "date": "2024-03-13", "Orgc": {"name": "Test CSIRT"},
        "Attribute": [{"type": "sha256", "value": sha.to_uppercase()}]}});
    let (status, _, answer) = ingest(&router, event.to_string().into_bytes());
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["format"], "misp");
    router.wait_synced();

    rt().block_on(async {
        let c = pg_at(&dsn).await;
        c.batch_execute("SET client_min_messages = warning; CREATE EXTENSION ctas")
            .await
            .unwrap();
        let rid = report["id"].as_str().unwrap();
        let rows = c
            .query(
                "SELECT related_report, shared, shared_indicators FROM ctas_correlated_reports($1)",
                &[&rid],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].get::<_, String>(0),
            "report--6b1f3c2e-5a47-4c1e-9a0e-0000000c0a01"
        );
        assert_eq!(rows[0].get::<_, i32>(1), 1);
        assert_eq!(
            rows[0].get::<_, Vec<String>>(2),
            vec![format!("sha256:{}", sha.to_lowercase())]
        );

        // A retro-hunt over 2024 finds the word in the report that has it.
        c.batch_execute(
            "INSERT INTO ctas_pattern_sets (name) VALUES ('router-hunt');
             INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity)
             VALUES ('router-hunt', 'pikabot', '(?i)pikabot', 'high');",
        )
        .await
        .unwrap();
        // A statement of its own: the procedure commits, which a batch's implicit
        // transaction would not allow.
        c.batch_execute("CALL ctas_retro_hunt('router-hunt', '2024-01-01', '2025-01-01')")
            .await
            .unwrap();
        let hit: Vec<String> = c
            .query(
                "SELECT DISTINCT report_id FROM ctas.sightings WHERE pattern_set = 'router-hunt'",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let text = format!("{} {}", report["name"], report["description"]).to_lowercase();
        assert!(text.contains("pikabot"));
        assert_eq!(hit, vec![rid.to_owned()]);
    });
    router.stop();
}

#[test]
fn a_bad_document_is_refused_whole_naming_the_field() {
    let dir = fresh_dir("baddoc");
    let router = Router::start(&dir);
    let bad = json!({"type": "bundle", "id": "bundle--1", "objects": [
        {"type": "malware", "id": "malware--6b1f3c2e-5a47-4c1e-9a0e-00000000b001", "name": "ok"},
        {"type": "report", "id": "report--6b1f3c2e-5a47-4c1e-9a0e-00000000b002", "name": "r", "published": "15/10/2026"}]});
    let (status, ctype, body) = ingest(&router, bad.to_string().into_bytes());
    assert_eq!(
        (status, ctype.as_str()),
        (422, "application/problem+json"),
        "{body}"
    );
    assert_eq!(body["type"], "urn:ctas:problem:invalid-document");
    assert_eq!(body["errors"][0]["path"], "objects[1].published");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("objects[1].published: not a timestamp: 15/10/2026"),
        "{body}"
    );
    let (status, _, body) = ingest(&router, gzip(br#"{"Event": {"uuid": "12", "info": "x"}}"#));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["path"], "Event.uuid");
    let (status, _, body) = ingest(&router, br#"{"hello": "world"}"#.to_vec());
    assert_eq!(
        (status, body["type"].as_str()),
        (422, Some("urn:ctas:problem:unknown-format"))
    );
    let (status, _, body) = ingest(&router, vec![0x1f, 0x8b, 1, 2, 3]);
    assert_eq!(
        (status, body["type"].as_str()),
        (400, Some("urn:ctas:problem:invalid-gzip"))
    );
    // Flat records come through the same door.
    let (status, _, body) = ingest(
        &router,
        br#"[{"kind": "ipv4", "value": "198.51.100.7"}]"#.to_vec(),
    );
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (202, Some(1)),
        "{body}"
    );
    let (_, status) = router.get("/v1/status").unwrap();
    assert_eq!(
        status["tiers"]["hot"]["records"], 1,
        "only the record: {status}"
    );
    router.stop();
}

#[test]
fn the_router_analyses_as_sql_does_with_the_cold_tiers_lists_and_patterns() {
    let dir = fresh_dir("knowledge");
    let dsn = fresh_database("ctas_router_ingest_knowledge");
    let sql = |q: &str,
               params: &[&(dyn tokio_postgres::types::ToSql + Sync)]|
     -> Vec<tokio_postgres::Row> {
        rt().block_on(async { pg_at(&dsn).await.query(q, params).await.unwrap() })
    };
    sql("CREATE EXTENSION ctas", &[]);
    for list in ["public-dns-v4", "rfc1918", "rfc5735"] {
        let doc: Value = serde_json::from_slice(
            &std::fs::read(shared(&format!("warninglists/{list}.json"))).unwrap(),
        )
        .unwrap();
        sql("SELECT ctas_warninglist_load($1)", &[&doc]);
    }
    sql(
        "INSERT INTO ctas_pattern_sets (name) VALUES ('router-analyze')",
        &[],
    );
    sql(
        "INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity, attack_id) VALUES
         ('router-analyze', 'beacon', '(?i)beacon(s|ing)?', 'high', 'T1071'),
         ('router-analyze', 'ssh', '(?i)\\bssh\\b', 'low', NULL)",
        &[],
    );
    let router = Router::start_with(&dir, free_port(), &dsn);
    router.wait_until(
        Duration::from_secs(30),
        "the router to read the lists",
        |r| {
            r.get("/v1/status")
                .is_some_and(|(_, s)| s["knowledge"]["warninglists"] == 3)
        },
    );
    let report = json!({"text": "Beaconing to 8.8.8.8 and 10.1.2.3 from loader-c2.example.net; SSH brute force from 198.51.100.9",
        "observed_at": "2026-11-01T00:00:00Z", "lat": 48.85, "lng": 2.35,
        "source": {"name": "Example CERT", "reliability": "B", "credibility": "2"}, "tags": ["tlp:green"]});
    let at = "2026-11-20T00:00:00Z";
    let routed = || {
        let (status, _, body) = http::post(
            &format!(
                "{}/v1/analyze?pattern_set=router-analyze&at={at}",
                router.url
            ),
            &report,
        );
        assert_eq!(status, 200, "{body}");
        body
    };
    let in_sql = || -> Value {
        sql(
            "SELECT ctas_analyze($1, 'router-analyze', 7, 'ctas:admiralty', $2::text::timestamptz)",
            &[&report, &at],
        )[0]
        .get(0)
    };
    let (a, b) = (routed(), in_sql());
    assert_eq!(a, b);
    let listed = a["iocs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| !i["warninglists"].as_array().unwrap().is_empty())
        .count();
    assert_eq!(
        listed, 3,
        "8.8.8.8 (public DNS), 10.1.2.3 (RFC 1918), 198.51.100.9 (RFC 5735, TEST-NET-2): {a}"
    );
    assert_eq!(a["matches"].as_array().unwrap().len(), 2, "{a}");

    // A pattern added in SQL reaches the router within its refresh.
    sql(
        "INSERT INTO ctas_patterns (set_name, pattern_id, regex, severity) VALUES ('router-analyze', 'brute', '(?i)brute force', 'medium')",
        &[],
    );
    router.wait_until(Duration::from_secs(30), "the new pattern", |_| {
        routed()["matches"].as_array().unwrap().len() == 3
    });
    assert_eq!(routed(), in_sql());

    // A report ingested is analysed with the same lists.
    let event = json!({"Event": {"uuid": "6b1f3c2e-5a47-4c1e-9a0e-0000000c0b01", "info": "Resolver abuse",
        "date": "2026-11-02", "Attribute": [{"type": "text", "value": "Queries to 8.8.8.8 from 203.0.113.5"}]}});
    let (status, _, answer) = ingest(&router, event.to_string().into_bytes());
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["analysis"][0]["iocs"], 2, "{answer}");
    // 8.8.8.8 a public resolver, 203.0.113.5 in RFC 5735's TEST-NET-3.
    assert_eq!(answer["analysis"][0]["warninglisted"], 2, "{answer}");
    let (status, _, body) = http::post(
        &format!("{}/v1/analyze?pattern_set=nope", router.url),
        &report,
    );
    assert_eq!(
        (status, body["type"].as_str()),
        (404, Some("urn:ctas:problem:unknown-pattern-set"))
    );
    router.stop();
}

/// The router needs no superuser: once a DBA has installed the extension and applied the
/// schema (`SELECT ctas_schema_upgrade()`), a role granted what docs/security.md lists
/// (use of schema ctas, reading and writing its tables) runs it, and stores what SQL
/// stores. The role cannot create anything in the database, so a router that tried to
/// apply a migration would fail.
#[test]
fn a_router_that_is_not_a_superuser_stores_the_history() {
    let bundles: Vec<PathBuf> = files("stix/unit42").into_iter().take(5).collect();
    let dsn = fresh_database("ctas_router_ingest_role");
    let role = "ctas_router_writer";
    let password = "router-writer-password";
    rt().block_on(async {
        let c = pg_at(&dsn).await;
        c.batch_execute(&format!(
            "SET client_min_messages = warning; CREATE EXTENSION ctas; SELECT ctas_schema_upgrade();
             DO $$ BEGIN
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                 CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}';
               END IF;
             END $$;
             REVOKE CREATE ON SCHEMA public FROM PUBLIC;
             GRANT USAGE ON SCHEMA ctas TO {role};
             GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA ctas TO {role};
             GRANT USAGE ON ALL SEQUENCES IN SCHEMA ctas TO {role};"
        ))
        .await
        .unwrap();
        let (superuser, create): (bool, bool) = {
            let r = c
                .query_one(
                    &format!(
                        "SELECT rolsuper, has_database_privilege('{role}', current_database(), 'CREATE')
                         FROM pg_roles WHERE rolname = '{role}'"
                    ),
                    &[],
                )
                .await
                .unwrap();
            (r.get(0), r.get(1))
        };
        assert!(!superuser && !create, "the router's role is an ordinary one");
    });
    let as_role = dsn
        .split_whitespace()
        .map(|kv| match kv.split_once('=') {
            Some(("user", _)) => format!("user={role}"),
            Some(("password", _)) => format!("password={password}"),
            _ => kv.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ");
    let dir = fresh_dir("role");
    let router = Router::start_with(&dir, free_port(), &as_role);
    for f in &bundles {
        let (status, _, answer) = ingest(&router, std::fs::read(f).unwrap());
        assert_eq!(status, 202, "{}: {answer}", f.display());
    }
    let status = router.wait_synced_within(Duration::from_secs(300));
    assert_eq!(status["tiers"]["cold"]["dead_letters"], 0, "{status}");
    router.stop();
    let by_sql = sql_ingest("ctas_router_ingest_role_sql", &bundles, &[]);
    same_history(&dsn, &by_sql);
}

/// `ctas-router ingest -`: NDJSON piped in is sent a chunk at a time as it is read — a
/// feed that has not ended is stored up to its last full chunk — and a line that is no
/// record stops it, named by its number, saying how many were stored before.
#[test]
fn ndjson_piped_in_is_stored_as_it_comes() {
    let dir = fresh_dir("stream");
    let router = Router::start(&dir);
    let tag = unique_value("stream").replace('.', "-");
    let known = |i: usize| {
        router
            .get(&format!("/v1/indicators/{tag}-{i}.example.net?kind=domain"))
            .unwrap()
            .0
            == 200
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
        .args(["ingest", "-", "--url", &router.url, "--chunk", "50"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut feed = child.stdin.take().unwrap();
    for i in 0..120 {
        writeln!(
            feed,
            r#"{{"kind": "domain", "value": "{tag}-{i}.example.net"}}"#
        )
        .unwrap();
    }
    feed.flush().unwrap();
    // Two full chunks are stored while the feed is still open; the rest waits for more.
    router.wait_until(Duration::from_secs(30), "the first two chunks", |_| {
        known(99)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!known(100) && !known(119));
    drop(feed);
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("-: 120 records") && said.contains("120 records"),
        "{said}"
    );
    assert!(known(119));

    // A line that is no record: what came before it in full chunks is stored, and said.
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
        .args(["ingest", "-", "--url", &router.url, "--chunk", "2"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut feed = child.stdin.take().unwrap();
    for i in 200..202 {
        writeln!(
            feed,
            r#"{{"kind": "domain", "value": "{tag}-{i}.example.net"}}"#
        )
        .unwrap();
    }
    writeln!(feed, "not json").unwrap();
    drop(feed);
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("-:3: not a JSON record"), "{said}");
    assert!(said.contains("2 records stored before"), "{said}");
    assert!(known(201));
    router.stop();
}
