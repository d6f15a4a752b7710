//! `GET /v1/indicators/{value}`: an indicator asked by its value as an analyst has it,
//! answered from the hot tier's summary — how many reports named it and which, who, since
//! when, tied to what, its score now. The truths are the documents the test sends (three
//! MISP events naming one domain, by three organisations on three days) and ESET's real
//! events read by the test without CTAS's code. Real sled, SurrealDB, PostgreSQL and
//! Neo4j behind the router; a missing one fails.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::{json, Value};

fn event(uuid: &str, org: &str, date: &str, domain: &str) -> Value {
    json!({"Event": {"uuid": uuid, "info": format!("C2 seen by {org}"), "date": date,
        "Orgc": {"name": org},
        "Attribute": [{"type": "domain", "value": domain}]}})
}

/// The reports an answer lists, as a set.
fn reports_of(found: &Value) -> BTreeSet<&str> {
    found["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect()
}

/// The names of the sources an answer lists, as a set.
fn sources_of(found: &Value) -> BTreeSet<&str> {
    found["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

/// When the scores are asked for, so that two answers can be compared whole.
const AT: &str = "2026-11-01T00:00:00Z";

fn lookup(router: &Router, value: &str) -> (u16, Value) {
    // A value is one path segment: what a URL's slashes would split is percent-encoded.
    router
        .get(&format!("/v1/indicators/{}?at={AT}", percent_encode(value)))
        .expect("the router answers")
}

#[test]
fn an_indicator_is_found_by_its_value_with_every_report_that_named_it() {
    let dir = fresh_dir("lookup");
    let router = Router::start(&dir);
    let domain = format!("{}.net", unique_value("lookup-c2").replace('.', "-"));
    let events = [
        (
            "6b1f3c2e-5a47-4c1e-9a0e-0000000a0001",
            "CERT-A",
            "2026-10-01",
        ),
        (
            "6b1f3c2e-5a47-4c1e-9a0e-0000000a0002",
            "CERT-B",
            "2026-10-05",
        ),
        (
            "6b1f3c2e-5a47-4c1e-9a0e-0000000a0003",
            "CERT-C",
            "2026-10-09",
        ),
    ];
    // Each event twice, the second time all at once: a sighting counts once.
    for (uuid, org, date) in events {
        let (status, _, answer) = ingest(
            &router,
            event(uuid, org, date, &domain).to_string().into_bytes(),
        );
        assert_eq!(status, 202, "{answer}");
    }
    let all: Vec<Value> = events
        .iter()
        .map(|(u, o, d)| event(u, o, d, &domain)["Event"].clone())
        .collect();
    let (status, _, answer) = ingest(
        &router,
        json!({"response": all.iter().map(|e| json!({"Event": e})).collect::<Vec<_>>()})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 202, "{answer}");

    // Asked defanged and in capitals.
    let asked = domain.to_uppercase().replace(".NET", "[.]NET");
    let (status, found) = lookup(&router, &asked);
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["kind"], "domain");
    assert_eq!(found["value"], domain);
    assert_eq!(found["sightings"], 3, "{found}");
    let reports = reports_of(&found);
    let want: BTreeSet<String> = events
        .iter()
        .map(|(u, _, _)| format!("report--{u}"))
        .collect();
    assert_eq!(reports, want.iter().map(String::as_str).collect());
    assert_eq!(
        sources_of(&found),
        BTreeSet::from(["CERT-A", "CERT-B", "CERT-C"])
    );
    assert_eq!(found["first_seen"], "2026-10-01T00:00:00Z");
    assert_eq!(found["last_seen"], "2026-10-09T00:00:00Z");
    // Three sources on three days: three independent sightings in the score.
    assert_eq!(found["score"]["independent_sightings"], 3, "{found}");
    assert_eq!(found["score"]["sightings"], 3);
    assert_eq!(found["score"]["model"], "ctas:admiralty");

    // Many values at once, answered in the order asked: a SIEM enriching its events.
    let (status, _, batch) = http::send(
        "POST",
        &format!("{}/v1/indicators/lookup?at={AT}", router.url),
        Some("application/json"),
        json!({"values": [asked, "203.0.113.254", "just words", domain]})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 200, "{batch}");
    assert_eq!(
        (batch["asked"].clone(), batch["found"].clone()),
        (json!(4), json!(2))
    );
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results[0]["value"], json!(asked));
    assert_eq!(
        results[0]["indicator"], found,
        "the same answer as the single lookup"
    );
    assert_eq!(results[1]["found"], false);
    assert!(
        results[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("no ipv4"),
        "{batch}"
    );
    assert!(
        results[2]["reason"].as_str().unwrap().contains("?kind="),
        "{batch}"
    );
    assert_eq!(results[3]["indicator"]["id"], found["id"]);
    let too_many: Vec<String> = (0..10_001)
        .map(|i| format!("198.51.100.{}", i % 250))
        .collect();
    let (status, _, refused) = http::send(
        "POST",
        &format!("{}/v1/indicators/lookup", router.url),
        Some("application/json"),
        json!({"values": too_many}).to_string().into_bytes(),
    );
    assert_eq!(status, 413, "{refused}");
    assert_eq!(refused["type"], "urn:ctas:problem:too-many-values");
    // A batch large enough to be answered in parts on several threads: each answer in
    // the place of its value.
    let many: Vec<String> = (0..3000)
        .map(|i| match i % 700 {
            7 => asked.to_string(),
            _ => format!("batch-{i}.unknown.example.net"),
        })
        .collect();
    let (status, _, answered) = http::send(
        "POST",
        &format!("{}/v1/indicators/lookup?at={AT}", router.url),
        Some("application/json"),
        json!({"values": many}).to_string().into_bytes(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        (&answered["asked"], &answered["found"]),
        (&json!(3000), &json!(5))
    );
    for (i, (value, answer)) in many
        .iter()
        .zip(answered["results"].as_array().unwrap())
        .enumerate()
    {
        assert_eq!(answer["value"], json!(value), "answer {i}");
        assert_eq!(answer["found"], json!(i % 700 == 7), "answer {i}");
    }

    // The same through the CLI, as a script would ask: a line per value, exit 3 when
    // one is unknown, 0 when all are known, values from stdin with `-`.
    let cli_at = |url: &str, args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ctas-router"))
            .arg("lookup")
            .args(args)
            .args(["--url", url])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let cli = |args: &[&str], stdin: &str| cli_at(&router.url, args, stdin);
    let (code, out, err) = cli(&[&asked, "203.0.113.254"], "");
    assert_eq!(code, Some(3), "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let first: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(&first[..2], [domain.as_str(), "domain"], "{out}");
    assert!(first.contains(&"sightings 3"), "{out}");
    assert!(first.contains(&"sources CERT-A,CERT-B,CERT-C"), "{out}");
    assert!(
        lines[1].starts_with("203.0.113.254\tunknown\tno ipv4"),
        "{out}"
    );
    assert!(err.contains("1 of 2 value(s) unknown"), "{err}");
    let (code, out, err) = cli(&["-", "--json"], &format!("{asked}\n\n{domain}\n"));
    assert_eq!(code, Some(0), "{out}{err}");
    let answers: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|a| a["indicator"]["id"] == found["id"]));
    let (code, _, err) = cli_at("http://127.0.0.1:9", &["x"], "");
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot reach the router at http://127.0.0.1:9"),
        "{err}"
    );

    // The same after a restart: the summary is on disk.
    let port = router.url.rsplit(':').next().unwrap().parse().unwrap();
    router.stop();
    let router = Router::start_on(&dir, port);
    let (status, again) = lookup(&router, &domain);
    assert_eq!(status, 200);
    assert_eq!(again["sightings"], 3);
    assert_eq!(again["reports"], found["reports"]);

    // ESET's events: a SHA-256 of one, asked in capitals, names that event's report.
    let path = shared("misp/eset/mozi_mozi.misp-event.json");
    let export: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let (status, _, answer) = ingest(&router, std::fs::read(&path).unwrap());
    assert_eq!(status, 202, "{answer}");
    // MISP's REST shape: {"response": [{"Event": {...}}]}.
    let ev = &export["response"][0]["Event"];
    let sha = ev["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .chain(
            ev["Object"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|o| o["Attribute"].as_array().unwrap()),
        )
        .find(|a| a["type"] == "sha256")
        .map(|a| a["value"].as_str().unwrap().to_owned())
        .expect("the event has a SHA-256");
    let (status, found) = lookup(&router, &sha.to_uppercase());
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["kind"], "sha256");
    assert_eq!(found["value"], sha.to_lowercase());
    assert!(
        found["reports"]
            .as_array()
            .unwrap()
            .contains(&json!(format!("report--{}", ev["uuid"].as_str().unwrap()))),
        "{found}"
    );
    assert_eq!(found["sources"][0]["name"], ev["Orgc"]["name"]);

    // A flat record is an observation of the indicator it names, found the same way.
    let ip = "198.51.100.201";
    let (status, _, answer) = router.post(&json!([
        {"kind": "ipv4", "value": ip, "source": "sensor-7", "observed_at": "2026-11-02T10:00:00Z"}
    ]));
    assert_eq!(status, 202, "{answer}");
    let (status, found) = lookup(&router, "198.51.100[.]201");
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["sightings"], 1);
    assert_eq!(found["sources"][0]["name"], "sensor-7");
    assert_eq!(found["last_seen"], "2026-11-02T10:00:00Z");

    // Unknown: 404; not an indicator: 422; both problem+json.
    let (status, missing) = lookup(&router, "203.0.113.254");
    assert_eq!(status, 404, "{missing}");
    assert_eq!(missing["type"], "urn:ctas:problem:unknown-indicator");
    let (status, bad) = lookup(&router, "just words");
    assert_eq!(status, 422, "{bad}");
    assert!(bad["detail"].as_str().unwrap().contains("?kind="), "{bad}");
    // With its kind named, a value CTAS would not classify alone is found.
    let (status, named) = router
        .get("/v1/indicators/invoice_2026.xlsm?kind=filename")
        .unwrap();
    assert_eq!(status, 404, "nothing named it: {named}");
    router.stop();
}

/// A STIX report naming `domain` in its text, with an indicator whose pattern compares
/// it, the malware that indicator indicates, and the relationship between them.
fn stix_bundle(domain: &str) -> Value {
    json!({"type": "bundle", "id": "bundle--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0001", "objects": [
        {"type": "identity", "spec_version": "2.1", "id": "identity--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0002",
         "created": "2026-10-20T00:00:00Z", "modified": "2026-10-20T00:00:00Z",
         "name": "CERT-D", "identity_class": "organization"},
        {"type": "malware", "spec_version": "2.1", "id": "malware--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0003",
         "created": "2026-10-20T00:00:00Z", "modified": "2026-10-20T00:00:00Z",
         "name": "BelowLoader", "is_family": true},
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0004",
         "created": "2026-10-20T00:00:00Z", "modified": "2026-10-20T00:00:00Z",
         "pattern": format!("[domain-name:value = '{domain}']"), "pattern_type": "stix",
         "valid_from": "2026-10-20T00:00:00Z"},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0005",
         "created": "2026-10-20T00:00:00Z", "modified": "2026-10-20T00:00:00Z",
         "relationship_type": "indicates",
         "source_ref": "indicator--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0004",
         "target_ref": "malware--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0003"},
        {"type": "report", "spec_version": "2.1", "id": "report--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0006",
         "created": "2026-10-20T00:00:00Z", "modified": "2026-10-20T00:00:00Z",
         "created_by_ref": "identity--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0002",
         "name": "BelowLoader", "published": "2026-10-20T00:00:00Z",
         "description": format!("BelowLoader calls home to {domain}."),
         "object_refs": ["indicator--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0004",
                         "malware--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0003"]}]})
}

/// The value of one sample of a Prometheus text exposition.
fn sample(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// What the documents sent say of the domain, whichever tier answers: two MISP events by
/// two organisations on two days and a STIX report naming it (in its text, and through
/// an indicator whose pattern compares it) — three reports, three sources, tied to the
/// malware BelowLoader through that STIX indicator.
fn assert_the_documents_truths(found: &Value, domain: &str) {
    assert_eq!(found["value"], domain, "{found}");
    assert_eq!(found["kind"], "domain");
    assert_eq!(found["sightings"], 3, "{found}");
    assert_eq!(
        reports_of(found),
        BTreeSet::from([
            "report--6b1f3c2e-5a47-4c1e-9a0e-0000000c0001",
            "report--6b1f3c2e-5a47-4c1e-9a0e-0000000c0002",
            "report--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0006",
        ])
    );
    assert_eq!(
        sources_of(found),
        BTreeSet::from(["CERT-A", "CERT-B", "CERT-D"])
    );
    assert_eq!(found["first_seen"], "2026-10-01T00:00:00Z");
    assert_eq!(found["last_seen"], "2026-10-20T00:00:00Z", "{found}");
    let malware = found["related"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "malware--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0003")
        .unwrap_or_else(|| panic!("tied to the malware: {found}"));
    assert_eq!(
        (&malware["name"], &malware["object_type"], &malware["via"]),
        (
            &json!("BelowLoader"),
            &json!("malware"),
            &json!("indicator--7c2e4f3a-1b5d-4e6f-8a9b-0000000b0004")
        ),
        "{found}"
    );
    assert_eq!(found["score"]["independent_sightings"], 3, "{found}");
}

#[test]
fn a_hot_tier_begun_anew_answers_from_the_warm_and_cold_tiers_and_keeps_the_answer() {
    let dir = fresh_dir("lookup-below");
    let dsn = fresh_database("ctas_router_lookup_below");
    let port = free_port();
    let router = Router::start_with(&dir, port, &dsn);
    let domain = format!("{}.net", unique_value("below-c2").replace('.', "-"));
    let events = [
        event(
            "6b1f3c2e-5a47-4c1e-9a0e-0000000c0001",
            "CERT-A",
            "2026-10-01",
            &domain,
        ),
        event(
            "6b1f3c2e-5a47-4c1e-9a0e-0000000c0002",
            "CERT-B",
            "2026-10-05",
            &domain,
        ),
        stix_bundle(&domain),
    ];
    for doc in &events {
        let (status, _, answer) = ingest(&router, doc.to_string().into_bytes());
        assert_eq!(status, 202, "{answer}");
    }
    router.wait_synced();
    let (status, hot) = lookup(&router, &domain);
    assert_eq!(status, 200, "{hot}");
    assert_eq!(hot["tier"], "hot");
    assert_the_documents_truths(&hot, &domain);
    router.stop();

    // The hot tier begun anew beside the same warm and cold tiers.
    std::fs::remove_dir_all(dir.join("hot")).unwrap();
    let router = Router::start_with(&dir, port, &dsn);
    let (status, warm) = lookup(&router, &domain.to_uppercase());
    assert_eq!(status, 200, "{warm}");
    assert_eq!(warm["tier"], "warm", "{warm}");
    assert_the_documents_truths(&warm, &domain);
    let mut as_hot = warm.clone();
    as_hot["tier"] = json!("hot");
    assert_eq!(as_hot, hot, "the same answer as the hot tier gave");
    // Promoted: asked again, the hot tier answers; sent again, a sighting counts once.
    let (status, again) = lookup(&router, &domain);
    assert_eq!((status, &again["tier"]), (200, &json!("hot")), "{again}");
    let (status, _, answer) = ingest(&router, events[0].to_string().into_bytes());
    assert_eq!(status, 202, "{answer}");
    let (_, again) = lookup(&router, &domain);
    assert_eq!(again, hot, "nothing counted twice");
    let metrics = http::text(&format!("{}/metrics", router.url), &[]);
    assert_eq!(
        sample(
            &metrics,
            r#"ctas_lookups_total{tier="warm",result="found"}"#
        ),
        1.0,
        "{metrics}"
    );
    router.stop();

    // Only the history left: the cold tier answers, in a batch beside values nothing
    // knows.
    std::fs::remove_dir_all(dir.join("hot")).unwrap();
    std::fs::remove_dir_all(dir.join("warm")).unwrap();
    let router = Router::start_with(&dir, port, &dsn);
    let (status, _, batch) = http::send(
        "POST",
        &format!("{}/v1/indicators/lookup?at={AT}", router.url),
        Some("application/json"),
        json!({"values": ["203.0.113.253", domain.replace(".net", "[.]net")]})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["found"], 1, "{batch}");
    assert_eq!(batch["unavailable"], json!([]));
    assert_eq!(batch["results"][0]["found"], false);
    let cold = &batch["results"][1]["indicator"];
    assert_eq!(cold["tier"], "cold", "{batch}");
    assert_the_documents_truths(cold, &domain);
    router.stop();
}

#[test]
fn history_loaded_by_sql_is_found_by_the_router_and_a_silent_tier_is_not_called_unknown() {
    let dsn = fresh_database_with_history("ctas_router_lookup_sql");
    let domain = format!("{}.net", unique_value("sql-c2").replace('.', "-"));
    rt().block_on(async {
        let c = pg_at(&dsn).await;
        let event = event(
            "6b1f3c2e-5a47-4c1e-9a0e-0000000c0101",
            "CERT-SQL",
            "2026-10-12",
            &domain,
        );
        c.execute(
            "SELECT ctas_ingest_misp($1::text::jsonb)",
            &[&event.to_string()],
        )
        .await
        .unwrap();
    });
    let dir = fresh_dir("lookup-sql");
    let router = Router::start_with(&dir, free_port(), &dsn);
    // Asked before, and not held below: not asked of them again for a while.
    let later = format!("later-{domain}");
    assert_eq!(lookup(&router, &later).0, 404);
    rt().block_on(async {
        let event = event(
            "6b1f3c2e-5a47-4c1e-9a0e-0000000c0102",
            "CERT-SQL",
            "2026-10-13",
            &later,
        );
        pg_at(&dsn)
            .await
            .execute(
                "SELECT ctas_ingest_misp($1::text::jsonb)",
                &[&event.to_string()],
            )
            .await
            .unwrap();
    });
    assert_eq!(
        lookup(&router, &later).0,
        404,
        "remembered as absent for 60 s (docs/router.md)"
    );
    let (status, found) = lookup(&router, &domain);
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["tier"], "cold");
    assert_eq!(found["sightings"], 1);
    assert_eq!(
        found["reports"],
        json!(["report--6b1f3c2e-5a47-4c1e-9a0e-0000000c0101"])
    );
    assert_eq!(found["sources"][0]["name"], "CERT-SQL");
    assert_eq!(found["first_seen"], "2026-10-12T00:00:00Z");
    router.stop();

    // The cold tier nowhere: a value the hot and warm tiers do not know may be in it.
    let dir = fresh_dir("lookup-silent");
    let router = Router::start_with(
        &dir,
        free_port(),
        "host=127.0.0.1 port=9 user=nobody dbname=nowhere connect_timeout=1",
    );
    let (status, silent) = lookup(&router, "203.0.113.252");
    assert_eq!(status, 503, "{silent}");
    assert_eq!(silent["type"], "urn:ctas:problem:tier-unavailable");
    assert!(
        silent["detail"].as_str().unwrap().contains("cold tier"),
        "{silent}"
    );
    let (status, _, batch) = http::send(
        "POST",
        &format!("{}/v1/indicators/lookup", router.url),
        Some("application/json"),
        json!({"values": ["203.0.113.252"]})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["found"], 0);
    assert!(
        batch["unavailable"][0]
            .as_str()
            .unwrap()
            .contains("cold tier"),
        "{batch}"
    );
    assert!(
        batch["results"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("cannot be said"),
        "{batch}"
    );
    router.stop();
}
