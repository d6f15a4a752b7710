//! The hot tier's TTL (`serve --hot-ttl`): a copy older than it leaves sled once warm
//! and cold have it, and not before — not while the cold tier is down across the TTL
//! (#14 items 3 and 6). Read back from each tier (`/v1/records/{id}/trace`); the times
//! are the records' own. Real sled, SurrealDB, PostgreSQL and Neo4j; a missing one
//! fails.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;

/// Whether each tier holds `id`: (hot, warm, cold); None for a tier that did not answer.
fn held(router: &Router, id: &str) -> (bool, bool, Option<bool>) {
    let (status, trace) = router.get(&format!("/v1/records/{id}/trace")).unwrap();
    assert_eq!(status, 200, "{trace}");
    let t = &trace["tiers"];
    (
        t["hot"]["found"] == true,
        t["warm"]["found"] == true,
        t["cold"]["found"].as_bool(),
    )
}

fn post_one(router: &Router, value: &str, observed_at: &str) -> String {
    let (status, _, answer) = router.post(&json!({"kind": "domain", "value": value,
        "observed_at": observed_at, "source": "sensor-ttl"}));
    assert_eq!(status, 202, "{answer}");
    answer["ids"][0].as_str().unwrap().to_owned()
}

#[test]
fn an_old_copy_leaves_the_hot_tier_once_warm_and_cold_have_it() {
    let dir = fresh_dir("demotion");
    let router = Router::start_opts(
        &dir,
        free_port(),
        test_dsn(),
        &["--hot-ttl", "30d", "--demote-every", "1s"],
        &[],
    );
    let old_value = format!("{}.example", unique_value("ttl-old").replace('.', "-"));
    let new_value = format!("{}.example", unique_value("ttl-new").replace('.', "-"));
    let old = post_one(&router, &old_value, "2020-01-01T00:00:00Z");
    let new = post_one(&router, &new_value, &chrono::Utc::now().to_rfc3339());
    router.wait_until(Duration::from_secs(60), "the old copy to leave sled", |r| {
        !held(r, &old).0
    });
    assert_eq!(held(&router, &old), (false, true, Some(true)));
    // Within the TTL: kept, once every tier has it too (the old copy can leave before
    // the warm tier has taken the new one: a round reads only what is old).
    router.wait_synced();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(held(&router, &new), (true, true, Some(true)));
    // Still read by id (from the warm tier now), and still known by value (the index by
    // value stays hot).
    let (status, got) = router.get(&format!("/v1/records/{old}")).unwrap();
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (&got["id"], &got["value"], &got["observed_at"]),
        (
            &json!(old),
            &json!(old_value),
            &json!("2020-01-01T00:00:00Z")
        )
    );
    let (status, known) = router
        .get(&format!("/v1/indicators/{old_value}?kind=domain"))
        .unwrap();
    assert_eq!(status, 200, "{known}");
    assert_eq!(known["sources"][0]["name"], "sensor-ttl");
    let metrics = http::text(&format!("{}/metrics", router.url), &[]);
    let demoted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("ctas_hot_demoted_total "))
        .expect("ctas_hot_demoted_total is exported")
        .parse()
        .unwrap();
    assert!(demoted >= 1.0, "{metrics}");
}

#[test]
fn copies_stay_in_hot_and_warm_while_the_cold_tier_is_down_across_their_ttls() {
    let dir = fresh_dir("demotion-down");
    let port = free_port();
    // Nothing listens on port 9: the cold tier is down from the start.
    let down = "host=127.0.0.1 port=9 user=ctas password=ctas dbname=ctas connect_timeout=1";
    let args = [
        "--hot-ttl",
        "1h",
        "--warm-ttl",
        "1h",
        "--demote-every",
        "1s",
    ];
    let router = Router::start_opts(&dir, port, down, &args, &[]);
    let value = format!("{}.example", unique_value("ttl-down").replace('.', "-"));
    let id = post_one(&router, &value, "2020-01-01T00:00:00Z");
    // Its observation: `report--` and the record's UUID (docs/router.md).
    let report = id.replace("indicator--", "report--");
    router.wait_until(Duration::from_secs(30), "the warm tier to confirm", |r| {
        held(r, &id).1
    });
    // Many demotion rounds with the copy past both TTLs and confirmed by warm alone.
    std::thread::sleep(Duration::from_secs(6));
    let (hot, warm, cold) = held(&router, &id);
    assert!(hot && warm && cold != Some(true), "{:?}", (hot, warm, cold));
    assert!(
        held(&router, &report).1,
        "the observation left the warm tier"
    );
    let (_, status) = router.get("/v1/status").unwrap();
    assert_eq!(status["tiers"]["cold"]["pending"], 1, "{status}");
    router.stop();

    // The cold tier back: it takes the record, and only then do sled and SurrealDB let
    // it go.
    let router = Router::start_opts(&dir, port, test_dsn(), &args, &[]);
    // The warm tier keeps the indicator (the record's id is its indicator's), not the
    // record: no observation time. (Its round drops the observation and the record one
    // after the other: both are waited for.)
    let warm_kept = |r: &Router| {
        let (_, trace) = r.get(&format!("/v1/records/{id}/trace")).unwrap();
        trace["tiers"]["warm"]["record"].clone()
    };
    router.wait_until(
        Duration::from_secs(60),
        "the copies to leave sled and SurrealDB",
        |r| !held(r, &id).0 && !held(r, &report).1 && warm_kept(r).get("observed_at").is_none(),
    );
    assert_eq!(held(&router, &id), (false, true, Some(true)));
    let kept = warm_kept(&router);
    assert!(kept["last_seen"].is_string(), "{kept}");
    let (status, got) = router.get(&format!("/v1/records/{id}")).unwrap();
    assert_eq!(status, 200, "{got}");
    // Read by id from the warm tier still: the indicator the record named (its id).
    assert_eq!(
        (&got["kind"], &got["value"]),
        (&json!("domain"), &json!(value)),
        "{got}"
    );
    // Kept in warm: what is younger than its TTL.
    let recent = post_one(
        &router,
        &format!("{value}-2"),
        &chrono::Utc::now().to_rfc3339(),
    );
    router.wait_synced();
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(held(&router, &recent), (true, true, Some(true)));
}

#[test]
fn a_warm_ttl_refuses_rules_that_leave_objects_in_warm_alone() {
    let dir = fresh_dir("demotion-rules");
    let rules = dir.with_extension("toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"fast\"\nlatency = [\"real_time\"]\ntiers = [\"warm\"]\n",
    )
    .unwrap();
    let said = serve_refused(&[
        "--warm-ttl".as_ref(),
        "7d".as_ref(),
        "--routing".as_ref(),
        rules.as_os_str(),
    ]);
    assert!(
        said.contains(
            "the routing rule \"fast\" sends objects to the warm tier but not the cold one"
        ),
        "{said}"
    );
}
