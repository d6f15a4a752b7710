//! `ctas-router verify` (#14 item 7, #15 item 5): rows deleted and altered behind the
//! router's back — in PostgreSQL with SQL, in Neo4j with Cypher, in SurrealDB with its
//! own client while the router is stopped — are each found, named and, with `--repair`,
//! put back; what routing rules kept from a tier is not missing there. The ids and names
//! the test expects are read from the Unit 42 bundle itself. Real sled, SurrealDB,
//! PostgreSQL and Neo4j; a missing one fails.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

/// A cursor as a query parameter's value.
fn urlencoding(s: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", [("c", s)])
        .unwrap()
        .query()
        .unwrap()
        .trim_start_matches("c=")
        .to_owned()
}

/// `ctas-router verify` against `router`: its exit code and what it printed.
fn verify_cli(router: &Router, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ctas-router"))
        .args(["verify", "--url", &router.url])
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

fn verify(router: &Router) -> Value {
    let (status, body) = router.get("/v1/verify?limit=50").unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn tier<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tier"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

/// Each finding of a tier as (problem, type, key, fields that differ).
fn findings(report: &Value, name: &str) -> Vec<(String, String, String, Value)> {
    let mut out: Vec<_> = tier(report, name)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["problem"].as_str().unwrap().to_owned(),
                f["type"].as_str().unwrap().to_owned(),
                f["key"].as_str().unwrap().to_owned(),
                f.get("fields").cloned().unwrap_or(json!([])),
            )
        })
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
    out
}

async fn warm_at(dir: &std::path::Path) -> surrealdb::Surreal<surrealdb::engine::any::Any> {
    let endpoint = format!("surrealkv://{}", dir.join("warm").display());
    // The router's embedded store is let go a moment after it exits.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let db = loop {
        match surrealdb::engine::any::connect(&endpoint).await {
            Ok(db) => break db,
            Err(e) if std::time::Instant::now() > deadline => panic!("{endpoint}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    db.use_ns("ctas").use_db("ctas").await.unwrap();
    db
}

#[test]
fn verify_names_what_was_deleted_or_altered_in_each_tier_and_repair_puts_it_back() {
    let dir = fresh_dir("verify");
    let dsn = fresh_database("ctas_router_verify");
    // Relationships go to the history and the graph only: the warm tier does not miss
    // them.
    let rules = dir.join("routing.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nname = \"ties: history and graph\"\n\
         items = [\"relationship\"]\ntiers = [\"cold\", \"graph\"]\n",
    )
    .unwrap();
    let port = free_port();
    let args = ["--routing", rules.to_str().unwrap()];
    let router = Router::start_opts(&dir, port, &dsn, &args, &[]);

    let path = shared("stix/unit42/AstarothMalware.json");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let group = objects
        .iter()
        .find(|o| o["type"] == "intrusion-set")
        .unwrap();
    let (group_id, group_name) = (group["id"].as_str().unwrap(), &group["name"]);
    let uses = objects
        .iter()
        .find(|o| o["type"] == "relationship" && o["relationship_type"] == "uses")
        .unwrap();
    let uses_id = uses["id"].as_str().unwrap();
    let mut forget: Vec<String> = objects
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();

    let (status, _, answer) = ingest(&router, std::fs::read(&path).unwrap());
    assert_eq!(status, 202, "{answer}");
    router.wait_synced();

    let clean = verify(&router);
    assert_eq!(clean["clean"], true, "{clean}");
    for name in ["warm", "cold", "graph"] {
        let t = tier(&clean, name);
        assert!(t["checked"].as_u64().unwrap() > 0, "{t}");
        assert_eq!((&t["missing"], &t["stale"]), (&json!(0), &json!(0)), "{t}");
    }
    // The warm tier was not sent the bundle's relationships.
    let warm_checked = tier(&clean, "warm")["checked"].as_u64().unwrap();
    let cold_checked = tier(&clean, "cold")["checked"].as_u64().unwrap();
    let ties = objects
        .iter()
        .filter(|o| o["type"] == "relationship")
        .count() as u64;
    assert!(
        cold_checked >= warm_checked + ties,
        "cold {cold_checked}, warm {warm_checked}, relationships {ties}"
    );
    assert_eq!(verify_cli(&router, &[]).0, 0);

    // Behind the router's back: in PostgreSQL and Neo4j while it runs, in its embedded
    // SurrealDB while it is stopped.
    rt().block_on(async {
        let pg = pg_at(&dsn).await;
        let n = pg
            .execute("DELETE FROM ctas.relationships WHERE id = $1", &[&uses_id])
            .await
            .unwrap();
        assert_eq!(n, 1);
        let n = pg
            .execute(
                "UPDATE ctas.entities SET name = 'tampered' WHERE id = $1",
                &[&group_id],
            )
            .await
            .unwrap();
        assert_eq!(n, 1);
        let neo =
            neo4rs::Graph::new(env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD")).unwrap();
        neo.run(neo4rs::query("MATCH ()-[e {id: $id}]->() DELETE e").param("id", uses_id))
            .await
            .unwrap();
        neo.run(
            neo4rs::query("MATCH (n:Object {id: $id}) SET n.name = 'tampered'")
                .param("id", group_id),
        )
        .await
        .unwrap();
    });
    router.stop();
    let (indicator_id, report_id, title) = rt().block_on(async {
        let warm = warm_at(&dir).await;
        let mut res = warm
            .query("SELECT meta::id(id) AS id FROM indicator ORDER BY id LIMIT 1;")
            .query("SELECT meta::id(id) AS id, title FROM report ORDER BY id LIMIT 1;")
            .await
            .unwrap();
        let indicators: Vec<Value> = res.take(0).unwrap();
        let reports: Vec<Value> = res.take(1).unwrap();
        let indicator = indicators[0]["id"].as_str().unwrap().to_owned();
        let report = reports[0]["id"].as_str().unwrap().to_owned();
        let title = reports[0]["title"].clone();
        warm.query("DELETE type::record('indicator', $i); UPDATE type::record('report', $r) SET title = 'tampered';")
            .bind(("i", indicator.clone()))
            .bind(("r", report.clone()))
            .await
            .unwrap()
            .check()
            .unwrap();
        // The embedded store is let go once its engine has shut down, in the background.
        drop(warm);
        tokio::time::sleep(Duration::from_secs(1)).await;
        (indicator, report, title)
    });
    forget.push(indicator_id.clone());
    let router = Router::start_opts(&dir, port, &dsn, &args, &[]);

    let found = verify(&router);
    assert_eq!(found["clean"], false);
    let tampered = |want: &Value| json!([{"field": "name", "expected": want, "found": "tampered"}]);
    let named_wrong = vec![
        (
            "missing".into(),
            "relationship".into(),
            uses_id.to_owned(),
            json!([]),
        ),
        (
            "stale".into(),
            "entity".into(),
            group_id.to_owned(),
            tampered(group_name),
        ),
    ];
    assert_eq!(findings(&found, "cold"), named_wrong, "{found}");
    assert_eq!(findings(&found, "graph"), named_wrong, "{found}");
    assert_eq!(
        findings(&found, "warm"),
        vec![
            (
                "missing".into(),
                "indicator".into(),
                indicator_id.clone(),
                json!([])
            ),
            (
                "stale".into(),
                "report".into(),
                report_id.clone(),
                json!([{"field": "title", "expected": title, "found": "tampered"}])
            ),
        ],
        "{found}"
    );
    let (code, printed) = verify_cli(&router, &[]);
    assert_eq!(code, 4, "{printed}");
    assert!(
        printed.contains(&format!("cold: missing relationship {uses_id}"))
            && printed.contains(&format!("graph: stale entity {group_id}: name"))
            && printed.contains(&format!("warm: missing indicator {indicator_id}")),
        "{printed}"
    );

    // Page by page (a store too large for one request): the pages' counts and findings
    // add up to the whole, and the CLI walks them to the same table.
    let mut pages: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = router
            .get(&format!("/v1/verify?limit=50&objects=40{cursor}"))
            .unwrap();
        assert_eq!(status, 200, "{page}");
        pages.push(page.clone());
        match page["next"].as_str() {
            Some(next) => cursor = format!("&cursor={}", urlencoding(next)),
            None => break,
        }
    }
    assert!(pages.len() > 2, "{} pages", pages.len());
    for name in ["warm", "cold", "graph"] {
        let checked: u64 = pages
            .iter()
            .map(|p| tier(p, name)["checked"].as_u64().unwrap())
            .sum();
        assert_eq!(json!(checked), tier(&found, name)["checked"], "{name}");
        let mut paged: Vec<_> = pages.iter().flat_map(|p| findings(p, name)).collect();
        paged.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
        assert_eq!(paged, findings(&found, name), "{name}");
    }
    let (code, paged) = verify_cli(&router, &["--page", "40"]);
    assert_eq!((code, &paged), (4, &printed));
    let (status, bad) = router.get("/v1/verify?objects=0").unwrap();
    assert_eq!(status, 422, "{bad}");
    assert!(bad["detail"].as_str().unwrap().contains("objects"), "{bad}");

    // Repair: what differs is sent again, the tiers take it, and verified again they hold
    // it as the hot tier does.
    let (code, printed) = verify_cli(&router, &["--repair", "--json", "--page", "40"]);
    assert_eq!(code, 0, "{printed}");
    let both: Value = serde_json::from_str(&printed[..printed.rfind('}').unwrap() + 1])
        .unwrap_or_else(|e| panic!("{e}: {printed}"));
    for name in ["warm", "cold", "graph"] {
        assert_eq!(tier(&both["repaired"], name)["resent"], 2, "{both}");
    }
    assert_eq!(both["verified"]["clean"], true, "{both}");
    let after = verify(&router);
    assert_eq!(after["clean"], true, "{after}");
    assert_eq!(verify_cli(&router, &[]).0, 0);
    rt().block_on(async {
        let pg = pg_at(&dsn).await;
        let row = pg
            .query_one("SELECT name FROM ctas.entities WHERE id = $1", &[&group_id])
            .await
            .unwrap();
        assert_eq!(json!(row.get::<_, Option<String>>(0)), *group_name);
    });

    // One tier alone; a tier that is not one, or is off, is refused by name.
    let (status, one) = router.get("/v1/verify?tier=cold").unwrap();
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["tiers"].as_array().unwrap().len(), 1);
    let (status, bad) = router.get("/v1/verify?tier=lukewarm").unwrap();
    assert_eq!(status, 422, "{bad}");
    assert!(
        bad["detail"].as_str().unwrap().contains("lukewarm"),
        "{bad}"
    );
    drop(router);
    graph_forget(&forget);
}

#[test]
fn verify_refuses_a_tier_that_is_off() {
    let dir = fresh_dir("verify-off");
    let router = Router::start_alone(&dir, free_port());
    let (status, body) = router.get("/v1/verify?tier=cold").unwrap();
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["type"], "urn:ctas:problem:tier-off");
    let (status, body) = router.get("/v1/verify").unwrap();
    assert_eq!(status, 200, "{body}");
    let tiers: Vec<&str> = body["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tier"].as_str().unwrap())
        .collect();
    assert_eq!(tiers, ["warm"]);
}
