//! `verify`: what each tier holds compared with the hot tier, printed as a table (or the
//! router's JSON), and what was found, one line each; `--repair` sends what differs
//! again, waits for the tiers to take it, and verifies again.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::bail;
use serde_json::{json, Value};

use super::Remote;

/// Exit status of `verify` when a tier misses or holds stale objects (1 is a failure).
pub const DIFFERENCES: u8 = 4;

/// What is asked of each page: the tier (every tier that is on when none), the findings
/// listed per tier, and the objects of the hot tier compared a request.
pub struct Asked<'a> {
    pub tier: Option<&'a str>,
    pub limit: usize,
    pub page: usize,
}

/// Ask the router to verify (and with `repair`, to send again what differs).
pub async fn verify(
    remote: &Remote,
    asked: &Asked<'_>,
    repair: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let body = walk(remote, asked, repair).await?;
    let resent: u64 = tiers_of(&body)
        .iter()
        .map(|r| r["resent"].as_u64().unwrap_or(0))
        .sum();
    if !repair || resent == 0 {
        print(&body, json, asked.limit)?;
        return verdict(&body);
    }
    // What was sent again is verified once the tiers have taken it: the exit status is
    // that of the tiers after the repair.
    if !json {
        print_table(&tiers_of(&body), asked.limit);
        eprintln!("sent {resent} object(s) again; waiting for the tiers to take them");
    }
    super::status::wait_synced(remote, REPAIR_WAIT).await?;
    let after = walk(remote, asked, false).await?;
    if json {
        let both = json!({"repaired": body, "verified": after});
        println!("{}", serde_json::to_string_pretty(&both)?);
    } else {
        println!("after the repair:");
        print_table(&tiers_of(&after), asked.limit);
    }
    verdict(&after)
}

/// Every page of the hot tier's objects, verified (and repaired) in turn, added up into
/// one answer of the router's shape; a progress line on a terminal. A tier that could
/// not answer ends the walk there: its error says how far it went.
async fn walk(remote: &Remote, asked: &Asked<'_>, repair: bool) -> anyhow::Result<Value> {
    let client = remote.client()?;
    // A progress line that rewrites itself only makes sense on a terminal.
    let progress = std::io::stderr().is_terminal();
    let total = match progress {
        true => remote.get_json(&["v1", "status"]).await.ok(),
        false => None,
    }
    .and_then(|s| s["tiers"]["hot"]["records"].as_u64());
    let started = Instant::now();
    let mut query = vec![
        ("limit", asked.limit.max(1).to_string()),
        ("objects", asked.page.to_string()),
    ];
    if let Some(t) = asked.tier {
        query.push(("tier", t.to_owned()));
    }
    let mut sum = json!({"clean": true, "tiers": []});
    let (mut cursor, mut pages) = (None::<String>, 0u64);
    loop {
        let request = if repair {
            client.post(remote.at(&["v1", "verify", "repair"])?)
        } else {
            client.get(remote.at(&["v1", "verify"])?)
        };
        let mut q = query.clone();
        q.extend(cursor.clone().map(|c| ("cursor", c)));
        let page: Value = remote.send(request.query(&q)).await?.json().await?;
        pages += 1;
        add_page(&mut sum, &page, asked.limit);
        cursor = page["next"].as_str().map(str::to_owned);
        let failed = tiers_of(&page).iter().any(|r| r["error"].is_string());
        if progress {
            let done = pages * asked.page as u64;
            let of = match total {
                Some(t) if t > 0 => {
                    format!(" of {t} ({:.0} %)", 100.0 * done.min(t) as f64 / t as f64)
                }
                _ => String::new(),
            };
            eprint!(
                "\r\x1b[2Kverified {} objects{of}, {:.0} s",
                done.min(total.unwrap_or(u64::MAX)),
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
        if cursor.is_none() || failed {
            break;
        }
    }
    if progress {
        eprint!("\r\x1b[2K");
    }
    Ok(sum)
}

/// Add one page's tiers to the sum: counts added, findings listed up to `limit`, the
/// first error kept.
fn add_page(sum: &mut Value, page: &Value, limit: usize) {
    for r in tiers_of(page) {
        let tiers = sum["tiers"].as_array_mut().expect("the sum has tiers");
        let at = match tiers.iter().position(|t| t["tier"] == r["tier"]) {
            Some(i) => i,
            None => {
                tiers.push(json!({"tier": r["tier"], "checked": 0, "waiting": 0,
                    "expired": 0, "missing": 0, "stale": 0, "resent": 0, "findings": []}));
                tiers.len() - 1
            }
        };
        let t = &mut tiers[at];
        for k in [
            "checked", "waiting", "expired", "missing", "stale", "resent",
        ] {
            t[k] = json!(t[k].as_u64().unwrap_or(0) + r[k].as_u64().unwrap_or(0));
        }
        let findings = t["findings"].as_array_mut().expect("a tier has findings");
        let room = limit.saturating_sub(findings.len());
        findings.extend(
            r["findings"]
                .as_array()
                .into_iter()
                .flatten()
                .take(room)
                .cloned(),
        );
        if t.get("error").is_none() {
            if let Some(e) = r.get("error") {
                t["error"] = e.clone();
            }
        }
    }
    sum["clean"] = json!(sum["clean"] == true && page["clean"] == true);
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
