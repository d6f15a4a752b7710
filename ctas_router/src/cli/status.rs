//! `status`, `trace` and `dead-letters`: what the tiers hold and what they refused.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::Value;

use super::Remote;

/// Print what each tier holds; with `wait_synced`, first wait until every outbox is
/// empty, failing after that many seconds.
pub async fn status(remote: &Remote, wait_synced: Option<u64>) -> anyhow::Result<()> {
    let (s, synced) = match wait_synced {
        Some(secs) => until_synced(remote, Duration::from_secs(secs)).await?,
        None => (remote.get_json(&["v1", "status"]).await?, true),
    };
    println!("{}", serde_json::to_string_pretty(&s)?);
    if !synced {
        bail!("tiers not in sync after {} s", wait_synced.unwrap_or(0));
    }
    Ok(())
}

/// Wait until every outbox is empty, failing after `limit`.
pub async fn wait_synced(remote: &Remote, limit: Duration) -> anyhow::Result<()> {
    if !until_synced(remote, limit).await?.1 {
        bail!("tiers not in sync after {} s", limit.as_secs());
    }
    Ok(())
}

/// The status once every outbox is empty, or the last one read when `limit` has passed;
/// whether they were empty.
async fn until_synced(remote: &Remote, limit: Duration) -> anyhow::Result<(Value, bool)> {
    let deadline = Instant::now() + limit;
    loop {
        let s = remote.get_json(&["v1", "status"]).await?;
        let synced = s["synced"] == true;
        if synced || Instant::now() >= deadline {
            return Ok((s, synced));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
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
