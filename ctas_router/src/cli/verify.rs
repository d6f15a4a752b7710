//! `verify`: what each tier holds compared with the hot tier, printed as a table (or the
//! router's JSON), and what was found, one line each; `--repair` sends what differs
//! again, waits for the tiers to take it, and verifies again.

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
    let ask = |repair: bool| -> anyhow::Result<reqwest::RequestBuilder> {
        Ok(if repair {
            client.post(remote.at(&["v1", "verify", "repair"])?)
        } else {
            client.get(remote.at(&["v1", "verify"])?)
        }
        .query(&query))
    };
    let body: Value = remote.send(ask(repair)?).await?.json().await?;
    let resent: u64 = tiers_of(&body)
        .iter()
        .map(|r| r["resent"].as_u64().unwrap_or(0))
        .sum();
    if !repair || resent == 0 {
        print(&body, json, limit)?;
        return verdict(&body);
    }
    // What was sent again is verified once the tiers have taken it: the exit status is
    // that of the tiers after the repair.
    if !json {
        print_table(&tiers_of(&body), limit);
        eprintln!("sent {resent} object(s) again; waiting for the tiers to take them");
    }
    super::status::wait_synced(remote, REPAIR_WAIT).await?;
    let after: Value = remote.send(ask(false)?).await?.json().await?;
    if json {
        let both = serde_json::json!({"repaired": body, "verified": after});
        println!("{}", serde_json::to_string_pretty(&both)?);
    } else {
        println!("after the repair:");
        print_table(&tiers_of(&after), limit);
    }
    verdict(&after)
}

/// How long `--repair` waits for the tiers to take what it sent again.
const REPAIR_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

fn tiers_of(body: &Value) -> Vec<Value> {
    body["tiers"].as_array().cloned().unwrap_or_default()
}

fn print(body: &Value, json: bool, limit: usize) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(body)?);
    } else {
        print_table(&tiers_of(body), limit);
    }
    Ok(())
}

/// The exit status a verification's answer calls for.
fn verdict(body: &Value) -> anyhow::Result<ExitCode> {
    let failed: Vec<String> = tiers_of(body)
        .iter()
        .filter_map(|r| Some(format!("{}: {}", r["tier"].as_str()?, r["error"].as_str()?)))
        .collect();
    if !failed.is_empty() {
        bail!("could not verify every tier: {}", failed.join("; "));
    }
    Ok(if body["clean"] == true {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(DIFFERENCES)
    })
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
