//! `ingest`: files, directories or stdin to a running router.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use serde_json::Value;

use super::Remote;

/// The files `paths` stand for: a directory for the files in it CTAS reads, sorted.
fn files_of(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    const READ: [&str; 4] = [".json", ".json.gz", ".ndjson", ".jsonl"];
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inside: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("cannot read the directory {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    let name = f.to_string_lossy();
                    f.is_file() && READ.iter().any(|ext| name.ends_with(ext))
                })
                .collect();
            inside.sort();
            out.extend(inside);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn read_bytes(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf)?;
        return Ok(buf);
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// What a file holds: a document for `/v1/ingest` (a STIX bundle, a MISP export, gzip
/// as it is), or flat records to send in chunks to `/v1/records`.
enum Contents {
    Document(Vec<u8>),
    Records(Vec<Value>),
}

fn contents(path: &PathBuf) -> anyhow::Result<Contents> {
    let bytes = read_bytes(path)?;
    if crate::pipeline::is_gzip(&bytes) {
        return Ok(Contents::Document(bytes));
    }
    let is_record = crate::pipeline::is_record;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(items)) if items.first().is_some_and(is_record) => {
            Ok(Contents::Records(items))
        }
        Ok(one) if is_record(&one) => Ok(Contents::Records(vec![one])),
        Ok(_) => Ok(Contents::Document(bytes)),
        // Not one JSON value: records, one a line.
        Err(_) => {
            let text = std::str::from_utf8(&bytes)
                .with_context(|| format!("{}: not UTF-8 text", path.display()))?;
            text.lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    serde_json::from_str(l).with_context(|| {
                        format!(
                            "{}:{}: not JSON (nor one JSON document)",
                            path.display(),
                            i + 1
                        )
                    })
                })
                .collect::<anyhow::Result<_>>()
                .map(Contents::Records)
        }
    }
}

/// Send the files, `chunk` records a request, with a progress line on a terminal and a
/// summary at the end. A file refused stops the run and says what was stored before.
pub async fn ingest(remote: &Remote, paths: &[PathBuf], chunk: usize) -> anyhow::Result<()> {
    let client = remote.client()?;
    let files = files_of(paths)?;
    let started = Instant::now();
    // A progress line that rewrites itself only makes sense on a terminal.
    let progress = std::io::stderr().is_terminal();
    let mut totals: std::collections::BTreeMap<String, u64> = Default::default();
    for (n, file) in files.iter().enumerate() {
        let name = file.display();
        let post = |path: &str| -> anyhow::Result<reqwest::RequestBuilder> {
            Ok(client
                .post(remote.at(&["v1", path])?)
                .header("content-type", "application/json"))
        };
        match contents(file)? {
            Contents::Document(bytes) => {
                let answer: Value = remote
                    .send(post("ingest")?.body(bytes))
                    .await
                    .with_context(|| format!("{name}: nothing of it stored"))?
                    .json()
                    .await?;
                for (part, count) in answer["accepted"].as_object().into_iter().flatten() {
                    *totals.entry(part.clone()).or_default() += count.as_u64().unwrap_or(0);
                }
                eprintln!(
                    "[{}/{}] {name}: {} {}",
                    n + 1,
                    files.len(),
                    answer["format"].as_str().unwrap_or("?"),
                    answer["accepted"]
                );
            }
            Contents::Records(records) => {
                let total = records.len();
                let mut sent = 0;
                let file_started = Instant::now();
                for batch in records.chunks(chunk.max(1)) {
                    remote
                        .send(post("records")?.json(&batch))
                        .await
                        .with_context(|| {
                            format!(
                                "{name}: records {}..{} not stored ({} accepted before)",
                                sent + 1,
                                sent + batch.len(),
                                sent
                            )
                        })?;
                    sent += batch.len();
                    if progress {
                        let rate = sent as f64 / file_started.elapsed().as_secs_f64().max(1e-3);
                        let eta = (total - sent) as f64 / rate.max(1e-9);
                        eprint!(
                            "\r[{}/{}] {name}: {sent}/{total} records, {rate:.0}/s, ETA {eta:.0} s   ",
                            n + 1,
                            files.len()
                        );
                        let _ = std::io::stderr().flush();
                    }
                }
                *totals.entry("records".into()).or_default() += sent as u64;
                eprintln!(
                    "{}[{}/{}] {name}: {sent} records",
                    // Back to the line's start and clear it: the progress line was longer.
                    if progress { "\r\x1b[2K" } else { "" },
                    n + 1,
                    files.len()
                );
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let said: Vec<String> = totals
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(part, n)| format!("{n} {part}"))
        .collect();
    eprintln!(
        "ingested {} file(s) in {secs:.2} s: {}",
        files.len(),
        if said.is_empty() {
            "nothing".into()
        } else {
            said.join(", ")
        }
    );
    Ok(())
}
