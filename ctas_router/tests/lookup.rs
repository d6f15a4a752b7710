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

/// When the scores are asked for, so that two answers can be compared whole.
const AT: &str = "2026-11-01T00:00:00Z";

fn lookup(router: &Router, value: &str) -> (u16, Value) {
    // A value is one path segment: what a URL's slashes would split is percent-encoded.
    let encoded: String = value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    router
        .get(&format!("/v1/indicators/{encoded}?at={AT}"))
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
    let reports: BTreeSet<&str> = found["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let want: BTreeSet<String> = events
        .iter()
        .map(|(u, _, _)| format!("report--{u}"))
        .collect();
    assert_eq!(reports, want.iter().map(String::as_str).collect());
    let sources: BTreeSet<&str> = found["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(sources, BTreeSet::from(["CERT-A", "CERT-B", "CERT-C"]));
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
