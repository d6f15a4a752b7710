//! What operations alert on: `/metrics` of the running router, linted by Prometheus' own
//! `promtool check metrics`, holding what the requests made; and the example alerting
//! rules, checked and unit-tested by `promtool` (`deploy/prometheus/`).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{env, free_port, fresh_dir, http, Router};
use serde_json::json;

fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let path = env("PROMTOOL");
    let mut child = Command::new(&path)
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/prometheus"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run promtool at {path} ({e}): scripts/install.sh unpacks it")
        });
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_alerting_rules_pass_promtool_and_their_unit_tests() {
    let (ok, said) = promtool(&["check", "rules", "ctas-alerts.yml"], None);
    assert!(ok, "{said}");
    assert!(said.contains("SUCCESS: 6 rules found"), "{said}");
    let (ok, said) = promtool(&["test", "rules", "ctas-alerts.test.yml"], None);
    assert!(ok, "{said}");
}

/// The value of the sample with exactly this name and these labels.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn metrics_pass_promtool_and_count_what_happened() {
    // PostgreSQL where nothing listens: the cold tier is down and falls behind.
    let nowhere = format!("host=127.0.0.1 port={} user=ctas dbname=ctas", free_port());
    let dir = fresh_dir("metrics");
    let router = Router::start_opts(&dir, free_port(), &nowhere, &[], &[]);
    let value = common::unique_value("metrics");
    let (status, _, _) = http::post(
        &format!("{}/v1/records", router.url),
        &json!({"kind": "domain", "value": value}),
    );
    assert_eq!(status, 202);
    let (status, _, _) = http::post(
        &format!("{}/v1/records", router.url),
        &json!({"kind": "domain"}),
    );
    assert_eq!(status, 422);
    for asked in [
        value.as_str(),
        "unknown-to-metrics.example.net",
        "not an indicator",
    ] {
        router.get(&format!("/v1/indicators/{}", asked.replace(' ', "%20")));
    }
    let (status, _, _) = http::post(
        &format!("{}/v1/indicators/lookup", router.url),
        &json!({"values": [value, "unknown-2.example.net", "not an indicator"]}),
    );
    assert_eq!(status, 200);
    // The warm tier takes the record; the cold one cannot.
    router.wait_until(
        Duration::from_secs(30),
        "the warm tier to take the record",
        |r| {
            r.get("/v1/status")
                .is_some_and(|(_, s)| s["tiers"]["warm"]["pending"] == 0)
        },
    );
    std::thread::sleep(Duration::from_millis(1500));

    let text = http::text(&format!("{}/metrics", router.url), &[]);
    let (ok, said) = promtool(&["check", "metrics"], Some(&text));
    assert!(ok, "promtool check metrics: {said}\n{text}");

    let route = |r: &str, method: &str, status: u16, what: &str| {
        format!(
            "ctas_http_request_duration_seconds_{what}{{route=\"{r}\",method=\"{method}\",status=\"{status}\"}}"
        )
    };
    let count =
        |series: String| sample(&text, &series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(
        count(route("/v1/indicators/{value}", "GET", 200, "count")),
        1.0
    );
    // Not in the hot or warm tier, and the cold tier down: not called unknown.
    assert_eq!(
        count(route("/v1/indicators/{value}", "GET", 503, "count")),
        1.0
    );
    assert_eq!(
        count(route("/v1/indicators/{value}", "GET", 422, "count")),
        1.0
    );
    assert_eq!(count(route("/v1/records", "POST", 202, "count")), 1.0);
    assert_eq!(count(route("/v1/records", "POST", 422, "count")), 1.0);
    assert!(count(route("/v1/indicators/lookup", "POST", 200, "sum")) > 0.0);
    // Buckets are cumulative and end at the count.
    let inf = r#"ctas_http_request_duration_seconds_bucket{route="/v1/records",method="POST",status="202",le="+Inf"}"#;
    assert_eq!(count(inf.into()), 1.0);
    // Lookups by who answered, alone and in the batch: two found, two that only the
    // cold tier (down) could have known, two no indicator at all; error answers by
    // their problem type.
    for (series, n) in [
        (r#"ctas_lookups_total{tier="hot",result="found"}"#, 2.0),
        (r#"ctas_lookups_total{tier="none",result="unknown"}"#, 0.0),
        (
            r#"ctas_lookups_total{tier="none",result="unavailable"}"#,
            2.0,
        ),
        (r#"ctas_lookups_total{tier="none",result="invalid"}"#, 2.0),
        (r#"ctas_http_problems_total{type="invalid-record"}"#, 1.0),
        (r#"ctas_http_problems_total{type="tier-unavailable"}"#, 1.0),
        (r#"ctas_http_problems_total{type="not-an-indicator"}"#, 1.0),
    ] {
        assert_eq!(count(series.into()), n, "{series}");
    }
    // The cold tier: down, and the record acknowledged over 1.5 s ago still on its way.
    assert_eq!(count(r#"ctas_tier_up{tier="cold"}"#.into()), 0.0);
    assert_eq!(count(r#"ctas_tier_up{tier="warm"}"#.into()), 1.0);
    assert_eq!(count(r#"ctas_outbox_pending{tier="cold"}"#.into()), 1.0);
    assert!(count(r#"ctas_outbox_lag_seconds{tier="cold"}"#.into()) >= 1.5);
    assert_eq!(count(r#"ctas_outbox_lag_seconds{tier="warm"}"#.into()), 0.0);
    assert!(count(r#"ctas_store_size_bytes{tier="hot"}"#.into()) > 0.0);
    assert!(count(r#"ctas_store_size_bytes{tier="warm"}"#.into()) > 0.0);
    assert!(sample(&text, r#"ctas_store_size_bytes{tier="cold"}"#).is_none());
    router.stop();
}
