//! `verify`: what each tier holds compared with the hot tier, printed as a table (or the
//! router's JSON), and what was found, one line each.

use std::process::ExitCode;

use anyhow::bail;
use serde_json::Value;

use super::Remote;

/// Exit status of `verify` when a tier misses or holds stale objects (1 is a failure).
pub const DIFFERENCES: u8 = 4;

/// Ask the router to verify (and with `repair`, to send again what differs).
pub async fn verify(
    remote: &Remote,
    tier: Option<&str>,
    repair: bool,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut query = vec![("limit", limit.max(1).to_string())];
    if let Some(t) = tier {
        query.push(("tier", t.to_owned()));
    }
    let client = remote.client()?;
    let request = if repair {
        client.post(remote.at(&["v1", "verify", "repair"])?)
    } else {
        client.get(remote.at(&["v1", "verify"])?)
    };
    let body: Value = remote.send(request.query(&query)).await?.json().await?;
    let reports = body["tiers"].as_array().cloned().unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print_table(&reports, limit);
    }
    let failed: Vec<String> = reports
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r["tier"].as_str()?, r["error"].as_str()?)))
        .collect();
    if !failed.is_empty() {
        bail!("could not verify every tier: {}", failed.join("; "));
    }
    if body["clean"] == true {
        return Ok(ExitCode::SUCCESS);
    }
    if repair {
        eprintln!(
            "sent again what differed; run verify again once `status` shows the tiers in sync"
        );
    }
    Ok(ExitCode::from(DIFFERENCES))
}

fn print_table(reports: &[Value], limit: usize) {
    println!(
        "{:<6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "tier", "checked", "waiting", "expired", "missing", "stale", "resent"
    );
    for r in reports {
        let n = |k: &str| r[k].as_u64().unwrap_or(0);
        println!(
            "{:<6} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7}",
            r["tier"].as_str().unwrap_or("?"),
            n("checked"),
            n("waiting"),
            n("expired"),
            n("missing"),
            n("stale"),
            n("resent")
        );
    }
    for r in reports {
        let tier = r["tier"].as_str().unwrap_or("?");
        let findings = r["findings"].as_array().cloned().unwrap_or_default();
        for f in &findings {
            let fields: Vec<String> = f["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|d| {
                    format!(
                        "{} {} ≠ {}",
                        d["field"].as_str().unwrap_or("?"),
                        d["expected"],
                        d["found"]
                    )
                })
                .collect();
            let of = f["of"]
                .as_str()
                .map(|o| format!(" (of {o})"))
                .unwrap_or_default();
            println!(
                "{tier}: {} {} {}{of}{}{}",
                f["problem"].as_str().unwrap_or("?"),
                f["type"].as_str().unwrap_or("?"),
                f["key"].as_str().unwrap_or("?"),
                if fields.is_empty() { "" } else { ": " },
                fields.join(", ")
            );
        }
        let told = n_told(r);
        if told > findings.len() as u64 && findings.len() >= limit {
            println!(
                "{tier}: … and {} more (--limit)",
                told - findings.len() as u64
            );
        }
        if let Some(e) = r["error"].as_str() {
            println!("{tier}: stopped: {e}");
        }
    }
}

fn n_told(r: &Value) -> u64 {
    r["missing"].as_u64().unwrap_or(0) + r["stale"].as_u64().unwrap_or(0)
}
