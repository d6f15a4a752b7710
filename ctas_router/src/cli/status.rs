//! `status`, `trace` and `dead-letters`: what the tiers hold and what they refused.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::Value;

use super::Remote;

/// Print what each tier holds; with `wait_synced`, first wait until every outbox is
/// empty, failing after that many seconds.
pub async fn status(remote: &Remote, wait_synced: Option<u64>) -> anyhow::Result<()> {
    let deadline = wait_synced.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        let s = remote.get_json(&["v1", "status"]).await?;
        let synced = s["synced"] == true;
        match deadline {
            Some(d) if !synced && Instant::now() < d => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Some(_) if !synced => {
                println!("{}", serde_json::to_string_pretty(&s)?);
                bail!("tiers not in sync after {} s", wait_synced.unwrap_or(0));
            }
            _ => {
                println!("{}", serde_json::to_string_pretty(&s)?);
                return Ok(());
            }
        }
    }
}

/// Print one record as each tier holds it.
pub async fn trace(remote: &Remote, id: &str) -> anyhow::Result<()> {
    let t = remote.get_json(&["v1", "records", id, "trace"]).await?;
    println!("{}", serde_json::to_string_pretty(&t)?);
    Ok(())
}

/// List the dead letters, or send them to their tier again.
pub async fn dead_letters(
    remote: &Remote,
    tier: Option<&str>,
    replay: bool,
    limit: usize,
) -> anyhow::Result<()> {
    let mut query = Vec::new();
    if let Some(t) = tier {
        query.push(("tier", t.to_owned()));
    }
    let client = remote.client()?;
    let request = if replay {
        client.post(remote.at(&["v1", "dead-letters", "replay"])?)
    } else {
        query.push(("limit", limit.to_string()));
        client.get(remote.at(&["v1", "dead-letters"])?)
    };
    let body: Value = remote.send(request.query(&query)).await?.json().await?;
    if replay {
        for (tier, n) in body["replayed"].as_object().into_iter().flatten() {
            eprintln!("{tier}: {n} record(s) sent again");
        }
    }
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}
