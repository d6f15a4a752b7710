//! `ctas-router`: the service (`serve`) and the commands that talk to it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ctas_router::cli::{self, Remote};
use ctas_router::config::Settings;

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
        #[command(flatten)]
        remote: Remote,
        /// Records per request.
        #[arg(long, default_value_t = 1000)]
        chunk: usize,
    },
    /// Print what each tier holds and what is still on its way.
    Status {
        #[command(flatten)]
        remote: Remote,
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
        #[command(flatten)]
        remote: Remote,
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
        #[command(flatten)]
        remote: Remote,
    },
    /// Print one record as each tier holds it.
    Trace {
        /// The record id.
        id: String,
        #[command(flatten)]
        remote: Remote,
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
            Command::Serve(settings) => done(ctas_router::server::serve(settings).await),
            Command::Ingest {
                files,
                remote,
                chunk,
            } => done(cli::ingest::ingest(&remote, &files, chunk).await),
            Command::Status {
                remote,
                wait_synced,
            } => done(cli::status::status(&remote, wait_synced).await),
            Command::Lookup {
                values,
                kind,
                model,
                json,
                remote,
            } => cli::lookup::lookup(&remote, values, kind, model, json).await,
            Command::Trace { id, remote } => done(cli::status::trace(&remote, &id).await),
            Command::DeadLetters {
                tier,
                replay,
                limit,
                remote,
            } => done(cli::status::dead_letters(&remote, tier.as_deref(), replay, limit).await),
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
