//! One record traced through every tier, read back from each store with that
//! store's own client: sled, SurrealDB, PostgreSQL (tokio-postgres) and Neo4j (neo4rs).
//!
//! These tests run the real `ctas-router` binary against the real services that
//! `scripts/test.sh` starts. A missing service fails the test; nothing is skipped.

mod common;

use common::*;
use serde_json::{json, Value};

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
    let row = cold_row(&id).expect("the record is in the history");
    assert_eq!(
        row["indicator"],
        json!(id),
        "the indicator of the history has the record's id"
    );
    assert_eq!(row["source"], "tracer-test");
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
    assert_eq!(
        stored["type"], "record",
        "the hot tier holds items of the model"
    );
    assert_eq!(stored["object"]["value"], json!(value));
    // Every tier confirmed the record, so the log it was fed from is collected.
    assert!(db.open_tree("log").unwrap().is_empty(), "log collected");
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
        let client = pg().await;
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

/// What a tier could never store is refused at the door, naming the field, before the
/// acknowledgement; a long value that a btree index could not hold is stored everywhere.
#[test]
fn records_no_tier_can_store_are_refused_and_long_values_are_stored() {
    let dir = fresh_dir("door");
    let router = Router::start(&dir);
    let cases = [
        (
            json!({"kind": "domain", "value": "a\u{0}b.example"}),
            "field `value` contains a NUL character",
        ),
        (
            json!({"kind": "domain", "value": "x.example", "tags": ["ok", "t\u{0}"]}),
            "field `tags` contains a NUL",
        ),
        (
            json!({"kind": "domain", "value": "x.example", "observed_at": "+200000-01-01T00:00:00Z"}),
            "field `observed_at`",
        ),
        (
            json!({"kind": "domain", "value": "x.example", "observed_at": "-5000-06-01T00:00:00Z"}),
            "field `observed_at`",
        ),
    ];
    for (record, want) in cases {
        let (status, ctype, body) =
            router.post(&json!([{"kind": "domain", "value": unique_value("fine")}, record]));
        assert_eq!(
            (status, ctype.as_str()),
            (422, "application/problem+json"),
            "{body}"
        );
        assert_eq!(body["errors"][0]["index"], 1, "{body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(want), "{message}");
    }
    assert_eq!(
        router.get("/v1/status").unwrap().1["tiers"]["hot"]["records"],
        0
    );

    // 20 kB, far over a btree entry's 2.7 kB: a real phishing URL can be that long.
    let url = format!("https://{}/?q={}", unique_value("long"), "a".repeat(20_000));
    let (status, _, body) = router.post(&json!({"kind": "url", "value": url}));
    assert_eq!(status, 202, "{body}");
    let id = body["ids"][0].as_str().unwrap().to_owned();
    let status = router.wait_synced();
    for tier in ["warm", "cold", "graph"] {
        assert_eq!(status["tiers"][tier]["last_error"], Value::Null, "{status}");
        assert_eq!(status["tiers"][tier]["dead_letters"], 0, "{status}");
    }
    assert_eq!(cold_row(&id).unwrap()["value"], json!(url));
    assert_eq!(graph_nodes(&id).0, 1);
    router.stop();
    graph_forget(&[&id]);
}

/// Only a body that says it is JSON is read, so no web page can write through a
/// browser; every error, including the ones axum writes itself, is problem+json.
#[test]
fn every_error_is_problem_json_and_only_json_is_json() {
    let dir = fresh_dir("problems");
    let router = Router::start(&dir);
    let records = format!("{}/v1/records", router.url);
    let record = json!({"kind": "domain", "value": unique_value("ctype")}).to_string();
    for ctype in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, got, body) = http::send("POST", &records, ctype, record.clone().into_bytes());
        assert_eq!(
            (status, got.as_str()),
            (415, "application/problem+json"),
            "{ctype:?}: {body}"
        );
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{body}"
        );
    }
    let (status, _, body) = http::send(
        "POST",
        &records,
        Some("application/json; charset=utf-8"),
        record.into_bytes(),
    );
    assert_eq!(status, 202, "{body}");
    let (status, _, _) = http::send(
        "POST",
        &format!("{}/v1/analyze", router.url),
        Some("text/plain"),
        b"{}".to_vec(),
    );
    assert_eq!(status, 415);

    let too_big = vec![b' '; ctas_router::api::MAX_BODY_BYTES + 1];
    let cases = [
        (
            "GET",
            format!("{}/no/such/path", router.url),
            None,
            vec![],
            404,
            "/no/such/path",
        ),
        ("DELETE", records.clone(), None, vec![], 405, "DELETE"),
        (
            "POST",
            records.clone(),
            Some("application/json"),
            too_big,
            413,
            "limit",
        ),
        (
            "GET",
            format!("{}/v1/records/%FF%FE", router.url),
            None,
            vec![],
            400,
            "",
        ),
        (
            "GET",
            format!("{}/v1/dead-letters?tier=lukewarm", router.url),
            None,
            vec![],
            422,
            "lukewarm",
        ),
    ];
    for (method, url, ctype, body, want, says) in cases {
        let (status, got, problem) = http::send(method, &url, ctype, body);
        assert_eq!(
            (status, got.as_str()),
            (want, "application/problem+json"),
            "{method} {url}: {problem}"
        );
        assert_eq!(problem["status"], want, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
    router.stop();
}

/// Every `sh` example of docs/router.md, run against a router of its own, with a
/// history of its own (what other tests ingest is no part of the examples' answers).
#[test]
fn the_router_examples_in_the_docs_answer_what_they_say() {
    let dir = fresh_dir("docs");
    // With the extension, whose judgement `GET /v1/anomalies` asks for.
    let dsn = fresh_database_with_history("ctas_test_router_docs");
    let router = Router::start_with(&dir, free_port(), &dsn);
    common::doc_examples(&router, "router.md", 5);
    router.stop();
}
