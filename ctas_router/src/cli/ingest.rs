//! `ingest`: files, directories or stdin to a running router.

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
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

/// A file, or standard input for `-`, and how many bytes it has when that is known.
fn open(path: &PathBuf) -> anyhow::Result<(Box<dyn BufRead + Send>, Option<u64>)> {
    if path.as_os_str() == "-" {
        return Ok((Box::new(BufReader::new(std::io::stdin())), None));
    }
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let size = file.metadata().ok().map(|m| m.len());
    Ok((Box::new(BufReader::with_capacity(1 << 20, file)), size))
}

/// What a file holds: a document for `/v1/ingest` (a STIX bundle, a MISP export, gzip
/// as it is), flat records to send in chunks to `/v1/records`, or NDJSON records to
/// send as they are read — a feed piped in need not end before the first are stored.
enum Contents {
    Document(Vec<u8>),
    Records(Vec<Value>),
    /// The first line, already parsed, and the rest still to read.
    Stream(Value, Box<dyn BufRead + Send>, Option<u64>),
}

fn contents(path: &PathBuf) -> anyhow::Result<Contents> {
    let (mut input, size) = open(path)?;
    let is_record = crate::pipeline::is_record;
    if !crate::pipeline::is_gzip(input.fill_buf()?) {
        // One record on the first line: NDJSON, read as it comes.
        let mut first = String::new();
        while first.trim().is_empty() {
            if input.read_line(&mut first)? == 0 {
                break;
            }
        }
        match serde_json::from_str::<Value>(&first) {
            Ok(one) if is_record(&one) => return Ok(Contents::Stream(one, input, size)),
            _ => {
                let mut bytes = first.into_bytes();
                input.read_to_end(&mut bytes)?;
                return whole(path, bytes);
            }
        }
    }
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    Ok(Contents::Document(bytes))
}

/// A file read whole: a document, a JSON array of records, or records a line.
fn whole(path: &Path, bytes: Vec<u8>) -> anyhow::Result<Contents> {
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

/// Chunks of NDJSON records read on a thread of their own, so reading and sending
/// overlap; at most two chunks wait, so memory stays two chunks whatever the feed's
/// size. Each comes with the bytes read so far of the file's size (when it has one), or
/// the error of the line at fault.
fn chunks(
    first: Value,
    mut input: Box<dyn BufRead + Send>,
    name: String,
    chunk: usize,
    size: Option<u64>,
) -> tokio::sync::mpsc::Receiver<Chunk> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    std::thread::spawn(move || {
        let mut batch = vec![first];
        let (mut read, mut line_no, mut line) = (0u64, 1usize, String::new());
        loop {
            line.clear();
            let n = match input.read_line(&mut line) {
                Ok(n) => n,
                Err(e) => {
                    let _ = tx.blocking_send(Err(anyhow::anyhow!("{name}: {e}")));
                    return;
                }
            };
            read += n as u64;
            line_no += 1;
            if n > 0 && !line.trim().is_empty() {
                match serde_json::from_str(&line) {
                    Ok(v) => batch.push(v),
                    Err(e) => {
                        let _ = tx.blocking_send(Err(anyhow::anyhow!(
                            "{name}:{line_no}: not a JSON record: {e}"
                        )));
                        return;
                    }
                }
            }
            if (n == 0 || batch.len() >= chunk) && !batch.is_empty() {
                let full = std::mem::take(&mut batch);
                if tx
                    .blocking_send(Ok((full, size.map(|t| (read, t)))))
                    .is_err()
                {
                    return;
                }
            }
            if n == 0 {
                return;
            }
        }
    });
    rx
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
        let rx = match contents(file)? {
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
                continue;
            }
            Contents::Records(records) => chunks_of(records, chunk.max(1)),
            Contents::Stream(first, input, size) => {
                chunks(first, input, name.to_string(), chunk.max(1), size)
            }
        };
        let place = (n, files.len());
        let sent = send_chunks(remote, &post, rx, &name.to_string(), progress, place).await?;
        *totals.entry("records".into()).or_default() += sent;
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

/// A chunk of records, and how far through its file the run is once it is sent (done
/// and total, in records or bytes) when that is known.
type Chunk = anyhow::Result<(Vec<Value>, Option<(u64, u64)>)>;

/// Records already read, in chunks.
fn chunks_of(records: Vec<Value>, chunk: usize) -> tokio::sync::mpsc::Receiver<Chunk> {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let total = records.len() as u64;
    std::thread::spawn(move || {
        let mut done = 0;
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            let batch: Vec<Value> = records.by_ref().take(chunk).collect();
            done += batch.len() as u64;
            if tx.blocking_send(Ok((batch, Some((done, total))))).is_err() {
                return;
            }
        }
    });
    rx
}

/// Send each chunk to `/v1/records` as it comes, with a progress line on a terminal
/// (records, rate, and the ETA when the end is known) and a line at the end; how many
/// records were sent. A chunk refused, or a line that is no record, stops the run,
/// saying how many were stored before.
async fn send_chunks(
    remote: &Remote,
    post: &dyn Fn(&str) -> anyhow::Result<reqwest::RequestBuilder>,
    mut rx: tokio::sync::mpsc::Receiver<Chunk>,
    name: &str,
    progress: bool,
    (n, files): (usize, usize),
) -> anyhow::Result<u64> {
    let started = Instant::now();
    let mut sent = 0u64;
    while let Some(next) = rx.recv().await {
        let (batch, done) = next.with_context(|| format!("{sent} records stored before"))?;
        remote
            .send(post("records")?.json(&batch))
            .await
            .with_context(|| {
                format!(
                    "{name}: records {}..{} not stored ({sent} accepted before)",
                    sent + 1,
                    sent + batch.len() as u64,
                )
            })?;
        sent += batch.len() as u64;
        if progress {
            let secs = started.elapsed().as_secs_f64().max(1e-3);
            let rate = sent as f64 / secs;
            let eta = match done {
                Some((d, t)) if d > 0 => {
                    format!(", ETA {:.0} s", secs * (t - d.min(t)) as f64 / d as f64)
                }
                _ => String::new(),
            };
            eprint!(
                "\r[{}/{files}] {name}: {sent} records, {rate:.0}/s{eta}   ",
                n + 1
            );
            let _ = std::io::stderr().flush();
        }
    }
    eprintln!(
        "{}[{}/{files}] {name}: {sent} records",
        // Back to the line's start and clear it: the progress line was longer.
        if progress { "\r\x1b[2K" } else { "" },
        n + 1,
    );
    Ok(sent)
}
