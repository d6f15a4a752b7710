//! What operations ask: status (what each tier holds, what is on its way), liveness,
//! readiness (each tier's real state) and metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::{in_time, within, AppState, Problem, READY_TIMEOUT};
use crate::metrics::Gauges;
use crate::tiers::{Tier, TierName};

async fn tier_json(
    name: TierName,
    tier: Option<&Arc<dyn Tier>>,
    s: &AppState,
    counts: &crate::hot::CountsSnapshot,
) -> Value {
    let i = name.index();
    let last_error = s.last_error[i].lock().expect("poisoned").clone();
    let mut v = json!({
        "pending": counts.pending[i],
        "dead_letters": counts.dead[i],
        "last_error": last_error,
    });
    let Some(tier) = tier else {
        v["records"] = Value::Null;
        v["off"] = json!(true);
        v["error"] = json!(off(name));
        return v;
    };
    match in_time(name, tier.count()).await {
        Ok(n) => v["records"] = json!(n),
        Err(e) => {
            v["records"] = Value::Null;
            v["error"] = json!(e);
        }
    }
    v
}

/// What a tier that is off says of itself.
pub fn off(tier: TierName) -> String {
    format!(
        "the {tier} tier is off: {}",
        crate::config::how_to_turn_on(tier)
    )
}

/// `GET /v1/status`: records per tier and what is still on its way. Pending and dead
/// letters are counters; each tier's record count is asked of the tier, and a tier that
/// does not answer in time says so (`records: null`, `error`).
pub async fn status(State(s): State<AppState>) -> Json<Value> {
    let counts = s.hot.counts();
    let below = s
        .tiers
        .ask_each(|name, tier| tier_json(name, tier, &s, &counts))
        .await;
    let mut tiers = json!({"hot": {"records": counts.records}});
    for (name, v) in TierName::DOWNSTREAM.into_iter().zip(below) {
        tiers[name.as_str()] = v;
    }
    Json(json!({
        "synced": counts.pending.iter().all(|&n| n == 0),
        "tiers": tiers,
        "knowledge": s.knowledge.summary(),
    }))
}

/// Bytes the files under `dir` take (SurrealKV's directory).
fn dir_size(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}

/// `GET /metrics`: Prometheus text format. The gauges are read now: the hot tier's
/// counters, each outbox's lag, a ping of each tier (within the readiness bound), the
/// stores' sizes; a store that cannot say has no sample.
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let hot = s.hot.clone();
    let warm_dir = s.warm_dir.clone();
    let local = s.background.spawn_blocking(move || {
        let now = chrono::Utc::now();
        let lag = TierName::DOWNSTREAM.map(|t| match hot.oldest_pending(t) {
            Ok(None) => Some(0.0),
            Ok(Some(made)) => Some((now - made).as_seconds_f64().max(0.0)),
            Err(_) => None,
        });
        let mut sizes = Vec::new();
        if let Ok(n) = hot.size_on_disk() {
            sizes.push(("hot", n));
        }
        if let Some(dir) = warm_dir {
            sizes.push(("warm", dir_size(&dir)));
        }
        (lag, sizes)
    });
    let cold_size = async {
        match &s.cold {
            Some(cold) => within(READY_TIMEOUT, TierName::Cold, cold.database_size())
                .await
                .ok(),
            None => None,
        }
    };
    let (pinged, cold_size) = tokio::join!(s.tiers.ask_each(|_, tier| ping(tier)), cold_size);
    let (lag, mut sizes) = local.await.unwrap_or_default();
    if let Some(n) = cold_size {
        sizes.push(("cold", n));
    }
    // A tier that is off has no up sample: it is not down.
    let up = |pinged: &Option<Result<f64, String>>| pinged.as_ref().map(Result::is_ok);
    let gauges = Gauges {
        hot: s.hot.counts(),
        lag,
        up: pinged.each_ref().map(up),
        sizes,
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&gauges),
    )
}

/// `GET /healthz`: the process answers. It says nothing of the tiers (`/readyz` does):
/// an orchestrator restarts a process that fails it, and restarting the router does not
/// bring a database back.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// A tier pinged within the readiness bound: how long it took (ms), or why it did not
/// answer; None when it is off.
async fn ping(tier: Option<&Arc<dyn Tier>>) -> Option<Result<f64, String>> {
    let start = std::time::Instant::now();
    let tier = tier?;
    Some(
        within(READY_TIMEOUT, tier.name(), tier.ping())
            .await
            .map(|()| start.elapsed().as_secs_f64() * 1e3),
    )
}

/// `GET /readyz`: each tier asked now. 200 when the hot tier takes writes and every
/// required tier answers ([`crate::config::Settings::require`]); otherwise 503, a
/// problem naming the tiers down. A tier not required may be down: its outbox keeps
/// what it will be sent.
pub async fn readyz(State(s): State<AppState>) -> axum::response::Response {
    let hot_up = s.hot.is_writable();
    let pinged = s.tiers.ask_each(|_, tier| ping(tier)).await;
    let mut tiers = json!({"hot": {"up": hot_up, "required": true}});
    let mut down = Vec::new();
    if !hot_up {
        let e = "the hot tier's writer has stopped (shutting down)";
        tiers["hot"]["error"] = json!(e);
        down.push(format!("hot ({e})"));
    }
    for (name, pinged) in TierName::DOWNSTREAM.into_iter().zip(pinged) {
        let required = s.required.contains(&name);
        tiers[name.as_str()] = match pinged {
            // Required and off is refused at start.
            None => json!({"up": false, "required": required, "off": true, "error": off(name)}),
            Some(Ok(ms)) => json!({"up": true, "required": required, "ms": ms}),
            Some(Err(e)) => {
                if required {
                    down.push(format!("{name} ({e})"));
                }
                json!({"up": false, "required": required, "error": e})
            }
        };
    }
    if down.is_empty() {
        return Json(json!({"ready": true, "tiers": tiers})).into_response();
    }
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "not-ready",
        "Not ready",
        format!("required tier(s) down: {}", down.join("; ")),
    )
    .with("tiers", tiers)
    .into_response()
}
