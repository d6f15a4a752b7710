//! `lookup`: is it known bad? One answer per value, for people and for scripts.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::Value;

use super::Remote;

/// Exit status of `lookup` when one or more values are unknown (1 is a failure).
pub const SOME_UNKNOWN: u8 = 3;

/// Look the values up (`-` alone: one a line from stdin) and print each answer, a
/// table line or JSON; exit status 3 when one or more are unknown.
pub async fn lookup(
    remote: &Remote,
    values: Vec<String>,
    kind: Option<String>,
    model: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let values: Vec<String> = if values == ["-"] {
        std::io::stdin()
            .lines()
            .map(|l| l.map(|l| l.trim().to_owned()))
            .filter(|l| l.as_ref().map_or(true, |l| !l.is_empty()))
            .collect::<Result<_, _>>()
            .context("cannot read the values from stdin")?
    } else {
        values
    };
    let client = remote.client()?;
    let url = remote.at(&["v1", "indicators", "lookup"])?;
    let mut query = Vec::new();
    if let Some(m) = &model {
        query.push(("model", m.clone()));
    }
    let mut unknown = 0;
    let mut out = std::io::stdout().lock();
    for batch in values.chunks(crate::lookup::MAX_BATCH) {
        let request = client
            .post(url.clone())
            .query(&query)
            .json(&serde_json::json!({"values": batch, "kind": kind}));
        let answer: Value = remote.send(request).await?.json().await?;
        for r in answer["results"].as_array().into_iter().flatten() {
            let found = r["found"] == true;
            unknown += usize::from(!found);
            if json {
                writeln!(out, "{r}")?;
            } else if found {
                writeln!(out, "{}", known_line(&r["indicator"]))?;
            } else {
                writeln!(
                    out,
                    "{}\tunknown\t{}",
                    r["value"].as_str().unwrap_or_default(),
                    r["reason"].as_str().unwrap_or_default()
                )?;
            }
        }
    }
    if unknown > 0 {
        eprintln!("{unknown} of {} value(s) unknown", values.len());
        return Ok(ExitCode::from(SOME_UNKNOWN));
    }
    Ok(ExitCode::SUCCESS)
}

/// One known indicator on a line: value, kind, score now, first and last seen,
/// sightings, sources (tab-separated, for `cut` and `awk`).
fn known_line(i: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let sources: Vec<String> = i["sources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| text(&s["name"]))
        .collect();
    format!(
        "{}\t{}\tscore {:.1}\tfirst {}\tlast {}\tsightings {}\tsources {}",
        text(&i["value"]),
        text(&i["kind"]),
        i["score"]["score"].as_f64().unwrap_or(f64::NAN),
        text(&i["first_seen"]),
        text(&i["last_seen"]),
        i["sightings"],
        sources.join(",")
    )
}
