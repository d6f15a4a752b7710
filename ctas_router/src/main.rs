//! `ctas-router`: the service (`serve`) and the commands that talk to it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use ctas_router::api::{self, AppState};
use ctas_router::config::Settings;
use ctas_router::hot::Hot;
use ctas_router::metrics::Metrics;
use ctas_router::sync::{self, WorkerContext};
use ctas_router::tiers::{cold::Cold, graph::Graph, warm::Warm};
use serde_json::Value;
use tokio::sync::{watch, Notify};

#[derive(Parser)]
#[command(
    name = "ctas-router",
    version,
    about = "CTAS router: ingest threat data into sled, SurrealDB, PostgreSQL and Neo4j, kept in sync"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service.
    Serve(Settings),
    /// Send STIX bundles, MISP exports and records (files, directories, or - for stdin;
    /// gzip or not) to a running router.
    Ingest {
        /// STIX bundles and MISP exports (JSON, gzip or not), records as NDJSON or a JSON
        /// array; a directory stands for its `.json`, `.json.gz`, `.ndjson` and `.jsonl` files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Router URL.
        #[arg(long, env = "CTAS_URL", default_value = "http://127.0.0.1:8077")]
        url: String,
        /// Records per request.
        #[arg(long, default_value_t = 1000)]
        chunk: usize,
    },
    /// Print what each tier holds and what is still on its way.
    Status {
        /// Router URL.
        #[arg(long, env = "CTAS_URL", default_value = "http://127.0.0.1:8077")]
        url: String,
        /// Wait up to this many seconds until every outbox is empty; exit 1 if not.
        #[arg(long, value_name = "SECONDS")]
        wait_synced: Option<u64>,
    },
    /// List the records a tier refused for good, or send them again (--replay).
    DeadLetters {
        /// Only this tier: warm, cold or graph.
        #[arg(long)]
        tier: Option<String>,
        /// Send them to their tier again, once the cause is fixed.
        #[arg(long)]
        replay: bool,
        /// Most letters listed per tier.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Router URL.
        #[arg(long, env = "CTAS_URL", default_value = "http://127.0.0.1:8077")]
        url: String,
    },
    /// Is it known bad? Each value (defanged or not; `-` reads one a line from stdin)
    /// with its kind, score now, first and last seen, reports and sources, or why it is
    /// unknown. Exit status 0: every value known; 3: one or more unknown; 1: the router
    /// could not answer.
    Lookup {
        /// Indicators as an analyst has them: `evil[.]com`, `hxxp://…`, an IP, a hash.
        #[arg(required = true)]
        values: Vec<String>,
        /// Their kind, when the value alone cannot say (see ctas_ioc_kinds()).
        #[arg(long)]
        kind: Option<String>,
        /// The decay model the score is computed with.
        #[arg(long)]
        model: Option<String>,
        /// Print the router's answers as JSON, one per line, instead of a table.
        #[arg(long)]
        json: bool,
        /// Router URL.
        #[arg(long, env = "CTAS_URL", default_value = "http://127.0.0.1:8077")]
        url: String,
    },
    /// Print one record as each tier holds it.
    Trace {
        /// The record id.
        id: String,
        /// Router URL.
        #[arg(long, env = "CTAS_URL", default_value = "http://127.0.0.1:8077")]
        url: String,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CTAS_LOG")
                .unwrap_or_else(|_| "info,surrealdb=warn,surrealkv=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ctas-router: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let done = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(settings) => done(serve(settings).await),
            Command::Ingest { files, url, chunk } => done(ingest(&files, &url, chunk).await),
            Command::Status { url, wait_synced } => done(status(&url, wait_synced).await),
            Command::Lookup {
                values,
                kind,
                model,
                json,
                url,
            } => lookup(values, kind, model, json, &url).await,
            Command::Trace { id, url } => done(trace(&id, &url).await),
            Command::DeadLetters {
                tier,
                replay,
                limit,
                url,
            } => done(dead_letters(&url, tier.as_deref(), replay, limit).await),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ctas-router: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create data directory {}",
            settings.data_dir.display()
        )
    })?;
    let hot_dir = settings.data_dir.join("hot");
    let hot = Hot::open(&hot_dir)
        .with_context(|| format!("cannot open the hot tier at {}", hot_dir.display()))?;
    let background =
        ctas_router::background::runtime().context("cannot start the background runtime")?;
    let warm_endpoint = settings.warm_endpoint();
    // The embedded SurrealDB runs its engine on the runtime that opens it.
    let endpoint = warm_endpoint.clone();
    let warm = Arc::new(
        background
            .spawn(async move { Warm::connect(&endpoint).await })
            .await?
            .with_context(|| format!("cannot open the warm tier at {warm_endpoint}"))?,
    );
    let cold = Arc::new(Cold::writer(&settings.pg_dsn)?);
    let graph = Arc::new(Graph::new(
        &settings.neo4j_uri,
        &settings.neo4j_user,
        &settings.neo4j_password,
    )?);
    let metrics = Arc::new(Metrics::default());
    let wake = Arc::new(Notify::new());
    let last_error: Arc<[std::sync::Mutex<Option<String>>; 3]> = Arc::default();

    let (stop, stopped) = watch::channel(false);
    let ctx = WorkerContext {
        hot: hot.clone(),
        wake: wake.clone(),
        metrics: metrics.clone(),
        last_error: last_error.clone(),
        batch_size: settings.batch_size.max(1),
    };
    let knowledge = ctas_router::knowledge::Shared::default();
    let workers = [
        background.spawn(sync::run(warm.clone(), ctx.clone(), stopped.clone())),
        background.spawn(sync::run(cold.clone(), ctx.clone(), stopped.clone())),
        background.spawn(ctas_router::knowledge::keep_current(
            Arc::new(Cold::knowledge_reader(&settings.pg_dsn)?),
            knowledge.clone(),
            stopped.clone(),
        )),
        background.spawn(sync::run(graph.clone(), ctx, stopped)),
    ];

    let app = api::routes(AppState {
        hot: hot.clone(),
        warm,
        cold: Arc::new(Cold::reader(&settings.pg_dsn)?),
        graph,
        wake,
        metrics,
        last_error,
        knowledge,
        background: background.handle().clone(),
    });
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    tracing::info!(
        listen = %settings.listen,
        data_dir = %settings.data_dir.display(),
        warm = %warm_endpoint,
        "ctas-router ready"
    );
    // Answers go out at once rather than waiting on Nagle's algorithm for an ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;

    tracing::info!("shutting down: stopping workers and flushing the hot tier");
    let _ = stop.send(true);
    for w in workers {
        let _ = w.await;
    }
    tokio::task::spawn_blocking(move || hot.close()).await??;
    background.shutdown_background();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}

/// The detail of a problem+json answer, or the body as it came.
async fn problem_text(resp: reqwest::Response) -> String {
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    match serde_json::from_str::<Value>(&body) {
        Ok(p) if p.get("detail").is_some() => {
            format!("{status}: {}", p["detail"].as_str().unwrap_or_default())
        }
        _ => format!("{status}: {body}"),
    }
}

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
    if ctas_router::pipeline::is_gzip(&bytes) {
        return Ok(Contents::Document(bytes));
    }
    let is_record = ctas_router::pipeline::is_record;
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

async fn ingest(paths: &[PathBuf], url: &str, chunk: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let files = files_of(paths)?;
    let started = Instant::now();
    // A progress line that rewrites itself only makes sense on a terminal.
    let progress = std::io::stderr().is_terminal();
    let mut totals: std::collections::BTreeMap<String, u64> = Default::default();
    for (n, file) in files.iter().enumerate() {
        let name = file.display();
        let post = |path: &str| {
            client
                .post(format!("{url}{path}"))
                .header("content-type", "application/json")
        };
        match contents(file)? {
            Contents::Document(bytes) => {
                let resp = post("/v1/ingest")
                    .body(bytes)
                    .send()
                    .await
                    .with_context(|| format!("cannot reach the router at {url}"))?;
                if !resp.status().is_success() {
                    bail!(
                        "{name} refused, nothing of it stored: {}",
                        problem_text(resp).await
                    );
                }
                let answer: Value = resp.json().await?;
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
                    let resp = post("/v1/records")
                        .json(&batch)
                        .send()
                        .await
                        .with_context(|| format!("cannot reach the router at {url}"))?;
                    if !resp.status().is_success() {
                        bail!(
                            "{name}: records {}..{} refused ({} accepted before): {}",
                            sent + 1,
                            sent + batch.len(),
                            sent,
                            problem_text(resp).await
                        );
                    }
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

async fn get_json(url: &str) -> anyhow::Result<Value> {
    let resp = reqwest::get(url)
        .await
        .with_context(|| format!("cannot reach the router at {url}"))?;
    if !resp.status().is_success() {
        bail!("{}", problem_text(resp).await);
    }
    Ok(resp.json().await?)
}

async fn status(url: &str, wait_synced: Option<u64>) -> anyhow::Result<()> {
    let deadline = wait_synced.map(|s| Instant::now() + Duration::from_secs(s));
    loop {
        let s = get_json(&format!("{url}/v1/status")).await?;
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

/// Exit status of `lookup` when one or more values are unknown (1 is a failure).
const SOME_UNKNOWN: u8 = 3;

async fn lookup(
    values: Vec<String>,
    kind: Option<String>,
    model: Option<String>,
    json: bool,
    url: &str,
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
    let client = reqwest::Client::new();
    let mut query = Vec::new();
    if let Some(m) = &model {
        query.push(("model", m.clone()));
    }
    let mut unknown = 0;
    let mut out = std::io::stdout().lock();
    for batch in values.chunks(ctas_router::lookup::MAX_BATCH) {
        let resp = client
            .post(format!("{url}/v1/indicators/lookup"))
            .query(&query)
            .json(&serde_json::json!({"values": batch, "kind": kind}))
            .send()
            .await
            .with_context(|| format!("cannot reach the router at {url}"))?;
        if !resp.status().is_success() {
            bail!("{}", problem_text(resp).await);
        }
        let answer: Value = resp.json().await?;
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

async fn trace(id: &str, url: &str) -> anyhow::Result<()> {
    let mut u = reqwest::Url::parse(url).context("bad --url")?;
    u.path_segments_mut()
        .map_err(|_| anyhow::anyhow!("bad --url {url}"))?
        .extend(["v1", "records", id, "trace"]);
    let t = get_json(u.as_str()).await?;
    println!("{}", serde_json::to_string_pretty(&t)?);
    Ok(())
}

async fn dead_letters(
    url: &str,
    tier: Option<&str>,
    replay: bool,
    limit: usize,
) -> anyhow::Result<()> {
    let mut query = Vec::new();
    if let Some(t) = tier {
        query.push(("tier", t.to_owned()));
    }
    let client = reqwest::Client::new();
    let request = if replay {
        client.post(format!("{url}/v1/dead-letters/replay"))
    } else {
        query.push(("limit", limit.to_string()));
        client.get(format!("{url}/v1/dead-letters"))
    };
    let resp = request
        .query(&query)
        .send()
        .await
        .with_context(|| format!("cannot reach the router at {url}"))?;
    if !resp.status().is_success() {
        bail!("{}", problem_text(resp).await);
    }
    let body: Value = resp.json().await?;
    if replay {
        for (tier, n) in body["replayed"].as_object().into_iter().flatten() {
            eprintln!("{tier}: {n} record(s) sent again");
        }
    }
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(())
}
