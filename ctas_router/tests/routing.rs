//! Routing rules (`serve --routing FILE`, docs/routing.md): each object of a flat
//! record, a Unit 42 STIX bundle and an ESET MISP event is in the tiers its rule names
//! and in no other, read back from each tier (`/v1/records/{id}/trace`). The kinds and
//! times are the documents' own, read by the test; the rules are docs/routing.md's,
//! whose examples run here. Real sled, SurrealDB, PostgreSQL and Neo4j; a missing one
//! fails.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

/// The rules docs/routing.md shows, as written there.
fn documented_rules() -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/routing.md"))
            .unwrap();
    let (_, rest) = doc
        .split_once("```toml\n")
        .expect("docs/routing.md shows its rules");
    rest.split_once("```").unwrap().0.to_owned()
}

/// Where each tier says the object is: (warm, cold, graph).
fn placed(router: &Router, id: &str) -> (bool, bool, bool) {
    let (status, trace) = router
        .get(&format!("/v1/records/{id}/trace"))
        .expect("the router answers");
    assert_eq!(status, 200, "{id}: {trace}");
    let found = |tier: &str| {
        trace["tiers"][tier]["found"]
            .as_bool()
            .unwrap_or_else(|| panic!("{tier} did not answer: {trace}"))
    };
    (found("warm"), found("cold"), found("graph"))
}

#[test]
fn objects_go_where_the_first_rule_that_holds_sends_them() {
    let dir = fresh_dir("routing");
    let rules = dir.with_extension("toml");
    std::fs::write(&rules, documented_rules()).unwrap();
    let router = Router::start_opts(
        &dir,
        free_port(),
        test_dsn(),
        &["--routing", rules.to_str().unwrap()],
        &[],
    );
    assert!(
        router.log().contains("routing: the first rule"),
        "{}",
        router.log()
    );
    common::doc_examples(&router, "routing.md", 2);

    // A record of 2024 goes to the history alone; the same, critical, everywhere.
    let old = unique_value("routing-old");
    let (status, _, answer) = router.post(&json!({"kind": "domain", "value": old,
        "observed_at": "2024-03-01T00:00:00Z"}));
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["routed"], json!({"warm": 0, "cold": 1, "graph": 0}));
    let old_id = answer["ids"][0].as_str().unwrap().to_owned();
    let urgent = unique_value("routing-urgent");
    let (status, _, answer) = http::send(
        "POST",
        &format!("{}/v1/records?priority=critical", router.url),
        Some("application/json"),
        json!({"kind": "domain", "value": urgent, "observed_at": "2024-03-01T00:00:00Z"})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["routed"], json!({"warm": 1, "cold": 1, "graph": 1}));
    let urgent_id = answer["ids"][0].as_str().unwrap().to_owned();
    // A recent record: no rule holds, so the default, every tier.
    let (status, _, answer) = router.post(&json!({"kind": "domain",
        "value": unique_value("routing-new")}));
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["routed"], json!({"warm": 1, "cold": 1, "graph": 1}));

    // A STIX bundle of 2024: its entities and relationships go to the history and the
    // graph; its report, old, to the history alone (the graph may hold its id as the
    // end of an edge, nothing more).
    let path = shared("stix/unit42/2024-02-21-AsyncRAT.json");
    let bundle: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (status, _, answer) = ingest(&router, std::fs::read(&path).unwrap());
    assert_eq!(status, 202, "{answer}");
    let a = &answer["accepted"];
    let n = |k: &str| a[k].as_u64().unwrap();
    let all = [
        "sources",
        "reports",
        "indicators",
        "sightings",
        "relationships",
        "entities",
    ]
    .map(n)
    .iter()
    .sum::<u64>();
    // Sources and indicators: no rule names them. Reports and sightings are of 2024.
    assert_eq!(
        answer["routed"],
        json!({"warm": n("sources") + n("indicators"), "cold": all,
               "graph": n("sources") + n("indicators") + n("relationships") + n("entities")}),
        "{answer}"
    );
    router.wait_synced();
    assert_eq!(placed(&router, &old_id), (false, true, false));
    assert_eq!(placed(&router, &urgent_id), (true, true, true));
    let objects = bundle["objects"].as_array().unwrap();
    let of_type = |t: &'static str| {
        objects
            .iter()
            .filter(move |o| o["type"] == t)
            .map(|o| o["id"].as_str().unwrap().to_owned())
    };
    for id in of_type("malware").chain(of_type("relationship")).take(6) {
        assert_eq!(placed(&router, &id), (false, true, true), "{id}");
    }
    for id in of_type("report") {
        let (warm, cold, _) = placed(&router, &id);
        assert_eq!((warm, cold), (false, true), "{id}");
    }

    // An ESET MISP event of 2023: its report to the history; its indicators, which no
    // rule names, everywhere — asked by value, from the warm tier's copy too.
    let path = shared("misp/eset/mozi_mozi.misp-event.json");
    let export: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (status, _, answer) = ingest(&router, std::fs::read(&path).unwrap());
    assert_eq!(status, 202, "{answer}");
    router.wait_synced();
    let uuid = export["response"][0]["Event"]["uuid"].as_str().unwrap();
    let (warm, cold, _) = placed(&router, &format!("report--{uuid}"));
    assert_eq!((warm, cold), (false, true));
    let indicator = answer["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .find(|id| id.starts_with("indicator--"))
        .unwrap();
    assert_eq!(placed(&router, indicator), (true, true, true));
    // Not in the warm tier, the event's report is still found by its time: from the
    // cold one, with the indicators it names.
    let (_, page) = router
        .get("/v1/reports?since=2023-10-01T00:00:00Z&until=2023-12-01T00:00:00Z")
        .unwrap();
    let found = page["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == format!("report--{uuid}").as_str())
        .unwrap_or_else(|| panic!("{page}"));
    assert!(found["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == indicator));

    // A value no rule knows is refused before anything is stored.
    let (status, _, problem) = http::send(
        "POST",
        &format!("{}/v1/records?priority=urgent", router.url),
        Some("application/json"),
        br#"{"kind": "domain", "value": "never.example"}"#.to_vec(),
    );
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("priority must be one of critical, high, medium, low"),
        "{problem}"
    );
}

#[test]
fn a_bad_rules_file_stops_the_router_naming_the_rule() {
    let dir = fresh_dir("routing-bad");
    let rules = dir.with_extension("toml");
    let text = documented_rules().replace("older_than = \"30d\"", "older_than = \"30 days\"");
    std::fs::write(&rules, text).unwrap();
    let said = serve_refused(&["--routing".as_ref(), rules.as_os_str()]);
    assert!(
        said.contains(&format!(
            "routing rules {}: [[rule]] 2 (\"old observations: history only\"): older_than: \
             \"30 days\": the unit must be s, m, h, d or w",
            rules.display()
        )),
        "{said}"
    );
    // `config check` of a configuration file naming the rules says the same.
    let config = dir.with_extension("config.toml");
    std::fs::write(
        &config,
        format!("routing = {:?}\n", rules.display().to_string()),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ctas-router"))
        .args(["config", "check"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the unit must be s, m, h, d or w"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
