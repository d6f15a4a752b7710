//! `GET /v1/anomalies`: what is sighted more often than its history says, judged in the
//! cold tier by the extension. The truth is planted: a domain seen once an hour for two
//! days, then forty times in one hour, beside one seen once an hour throughout. The
//! router's answer is the extension's own (`ctas_sighting_anomalies` asked with
//! tokio-postgres), page by page. Real sled, SurrealDB, PostgreSQL and Neo4j.

mod common;

use common::*;
use serde_json::{json, Value};

/// The hour the burst is in: the anomalies are asked from here on.
const BURST: &str = "2026-11-20T12:00:00Z";

fn at(hours_before: i64, minute: i64) -> String {
    let burst: chrono::DateTime<chrono::Utc> = BURST.parse().unwrap();
    (burst - chrono::TimeDelta::hours(hours_before) + chrono::TimeDelta::minutes(minute))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn record(id: String, value: &str, observed_at: String) -> Value {
    json!({"id": id, "kind": "domain", "value": value, "source": "sensor-1",
           "observed_at": observed_at})
}

#[test]
fn a_burst_is_the_anomaly_the_router_and_sql_both_give() {
    let dsn = fresh_database_with_history("ctas_router_behaviour");
    let dir = fresh_dir("behaviour");
    let router = Router::start_with(&dir, free_port(), &dsn);
    let tag = unique_value("burst").replace('.', "-");
    // Three domains burst (40, 30 and 20 sightings in the hour); one does not.
    let bursts: Vec<(String, i64)> = [40, 30, 20]
        .into_iter()
        .map(|n| (format!("{tag}-c2-{n}.top"), n))
        .collect();
    let steady = format!("{tag}-cdn.top");
    let mut records = Vec::new();
    for (domain, n) in &bursts {
        for h in 1..=48 {
            records.push(record(format!("{domain}-h{h}"), domain, at(h, 10)));
        }
        for m in 0..*n {
            records.push(record(format!("{domain}-m{m}"), domain, at(0, m)));
        }
    }
    for h in 0..=48 {
        records.push(record(format!("{tag}-s{h}"), &steady, at(h, 20)));
    }
    let (status, _, answer) = router.post(&Value::Array(records));
    assert_eq!(status, 202, "{answer}");
    router.wait_synced();

    let ask = |query: &str| {
        router
            .get(&format!("/v1/anomalies?since={BURST}&history=2d{query}"))
            .unwrap()
    };
    let (status, found) = ask("");
    assert_eq!(status, 200, "{found}");
    let list = found["anomalies"].as_array().unwrap();
    let mut keys: Vec<&str> = list.iter().map(|a| a["key"].as_str().unwrap()).collect();
    keys.sort();
    let mut want: Vec<String> = bursts.iter().map(|(d, _)| format!("domain:{d}")).collect();
    want.sort();
    assert_eq!(keys, want, "the three bursts, not the steady one: {found}");
    for a in list {
        let (_, n) = bursts
            .iter()
            .find(|(d, _)| a["key"] == format!("domain:{d}"))
            .unwrap();
        assert_eq!(
            (&a["ts"], a["value"].as_f64()),
            (&json!(BURST), Some(*n as f64))
        );
        assert!(a["upper"].as_f64().unwrap() < *n as f64, "{found}");
    }
    assert_eq!(found["next"], Value::Null);

    // The extension's own answer, asked directly: the same rows.
    let sql: Vec<Value> = rt().block_on(async {
        pg_at(&dsn)
            .await
            .query(
                "SELECT json_build_object('key', key, 'ts', ts, 'value', value,
                        'expected', expected, 'lower', lower, 'upper', upper,
                        'anomaly_score', anomaly_score)::jsonb
                 FROM ctas_sighting_anomalies('indicator', $1::text::timestamptz, '1 hour', '2 days')",
                &[&BURST],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    });
    assert_eq!(sql.len(), list.len());
    for (mine, theirs) in list.iter().zip(&sql) {
        assert_eq!(mine["key"], theirs["key"]);
        for field in ["value", "expected", "lower", "upper", "anomaly_score"] {
            assert_eq!(
                mine[field].as_f64(),
                theirs[field].as_f64(),
                "{field}: {theirs}"
            );
        }
    }

    // Asked by value with `behaviour=true` an hour after the burst: the same judgement of
    // the same series (the extension's, above), and the burst as an event; the first
    // sighting, two days before, is outside the day listed.
    let after = "2026-11-20T13:00:00Z";
    for (domain, n) in &bursts {
        let (status, found) = router
            .get(&format!(
                "/v1/indicators/{domain}?kind=domain&behaviour=true&at={after}"
            ))
            .unwrap();
        assert_eq!(status, 200, "{found}");
        let b = &found["behaviour"];
        assert_eq!(b["since"], "2026-11-19T13:00:00Z", "{b}");
        let theirs = sql
            .iter()
            .find(|r| r["key"] == format!("domain:{domain}"))
            .unwrap();
        let points = b["anomalies"].as_array().unwrap();
        assert_eq!(points.len(), 1, "{b}");
        assert_eq!(
            (&points[0]["ts"], points[0]["value"].as_f64()),
            (&json!(BURST), Some(*n as f64))
        );
        for field in ["expected", "lower", "upper", "anomaly_score"] {
            assert_eq!(
                points[0][field].as_f64(),
                theirs[field].as_f64(),
                "{field}: {b}"
            );
        }
        assert_eq!(
            b["events"],
            json!([{"ts": BURST, "event": "burst", "detail": theirs["anomaly_score"]}]),
            "{b}"
        );
    }
    let (status, found) = router
        .get(&format!(
            "/v1/indicators/{steady}?kind=domain&behaviour=true&at={after}"
        ))
        .unwrap();
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        (
            &found["behaviour"]["anomalies"],
            &found["behaviour"]["events"]
        ),
        (&json!([]), &json!([])),
        "{found}"
    );
    // Not asked, not there.
    let (_, found) = router
        .get(&format!("/v1/indicators/{steady}?kind=domain"))
        .unwrap();
    assert!(found.get("behaviour").is_none(), "{found}");

    // By source, both domains' sightings count as one series: the burst shows there too.
    let (status, by_source) = ask("&by=source");
    assert_eq!(status, 200, "{by_source}");
    assert_eq!(by_source["anomalies"][0]["key"], "sensor-1", "{by_source}");

    // One a page, followed by the cursor: the same three in the same order.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = ask(&format!("&limit=1{cursor}"));
        assert_eq!(status, 200, "{page}");
        paged.extend(page["anomalies"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={}", percent_encode(next)),
            None => break,
        }
    }
    assert_eq!(&paged, list);

    // Bad input: 422 naming the parameter.
    for (query, said) in [
        (
            "&by=planet",
            "by must be indicator, source, cell or technique",
        ),
        ("&step=0h", "step must be a duration"),
        ("&method=magic", "method must be one of auto, robust_z"),
        ("&mode=later", "mode must be online or retrospective"),
        ("&threshold=-1", "threshold must be a positive number"),
        ("&cursor=nowhere", "is not a `next` this API gave"),
    ] {
        let (status, problem) = ask(query);
        assert_eq!(status, 422, "{query}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(said),
            "{query}: {problem}"
        );
    }
    router.stop();

    // A cold tier without the extension cannot judge, and says what to do.
    let bare = fresh_database("ctas_router_behaviour_bare");
    let dir = fresh_dir("behaviour-bare");
    let router = Router::start_with(&dir, free_port(), &bare);
    let (status, problem) = router.get("/v1/anomalies").unwrap();
    assert_eq!(
        (status, &problem["type"]),
        (503, &json!("urn:ctas:problem:no-extension")),
        "{problem}"
    );
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("CREATE EXTENSION ctas"));
    router.stop();
    // And with no cold tier at all.
    let dir = fresh_dir("behaviour-alone");
    let router = Router::start_alone(&dir, free_port());
    let (status, problem) = router.get("/v1/anomalies").unwrap();
    assert_eq!(
        (status, &problem["type"]),
        (503, &json!("urn:ctas:problem:tier-off"))
    );
    // A lookup still answers, and says why it cannot tell the behaviour.
    let value = format!("{tag}-alone.top");
    let (status, _, answer) = router.post(&record(format!("{tag}-alone"), &value, at(1, 0)));
    assert_eq!(status, 202, "{answer}");
    let (status, found) = router
        .get(&format!(
            "/v1/indicators/{value}?kind=domain&behaviour=true"
        ))
        .unwrap();
    assert_eq!(status, 200, "{found}");
    let said = found["behaviour"]["error"].as_str().unwrap();
    assert!(said.contains("cold tier is off"), "{found}");
    router.stop();
}
