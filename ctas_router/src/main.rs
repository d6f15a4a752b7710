//! `ctas-router`: the service (`serve`) and the commands that talk to it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ctas_router::cli::{self, Remote};
use ctas_router::config::Settings;

// mimalloc, not glibc's malloc: a batch lookup makes and frees tens of thousands of small
// strings, and glibc's free lists (consolidating, unlinking) were a third of its profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Serve(Box<Settings>),
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
    /// Check a configuration file: every key known, every value valid, the tokens
    /// readable; exit 0 if so, 1 naming the first key that is not.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Compare every object the hot tier holds with each tier it was sent to, a page of
    /// objects a request, and list what is missing or stale there; --repair sends those
    /// again, waits for the tiers to take them and verifies again. Exit status 0: every
    /// tier holds what it should; 4: something is missing or stale; 1: the router or a
    /// tier could not answer.
    Verify {
        /// Only this tier: warm, cold or graph (default: every tier that is on).
        #[arg(long)]
        tier: Option<String>,
        /// Send what is missing or stale to its tier again, wait for the tiers to take
        /// it (up to 5 minutes), and verify again.
        #[arg(long)]
        repair: bool,
        /// Most findings listed per tier (all are counted).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Objects of the hot tier compared a request (1 to 1,000,000): each request
        /// stays within the router's request timeout.
        #[arg(long, default_value_t = 100_000)]
        page: usize,
        /// Print the router's answer as JSON instead of a table.
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

#[derive(Subcommand)]
enum ConfigAction {
    /// Check FILE as `serve --config FILE` would read it.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
}

/// `serve`'s settings from each key of `file` alone, so that an error names its key.
fn settings_of(file: &Path, flags: &[(String, String)]) -> Result<Settings, String> {
    let parse = |flags: &[(String, String)]| {
        let mut args: Vec<OsString> = vec!["ctas-router".into(), "serve".into()];
        for (flag, value) in flags {
            // One argument, so a value that starts with `-` is not read as a flag.
            args.push(format!("{flag}={value}").into());
        }
        Cli::try_parse_from(args)
    };
    for (flag, value) in flags {
        if let Err(e) = parse(std::slice::from_ref(&(flag.clone(), value.clone()))) {
            let key = ctas_router::config::KEYS
                .iter()
                .find(|(_, f)| format!("--{f}") == *flag)
                .map_or("?", |(k, _)| k);
            let said = e.to_string();
            let first = said
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            return Err(format!("{}: `{key}`: {first}", file.display()));
        }
    }
    match parse(flags).map_err(|e| e.to_string())?.command {
        Command::Serve(settings) => Ok(*settings),
        _ => unreachable!("parsed as serve"),
    }
}

/// The command line, with `serve`'s settings completed from `--config FILE` where no
/// flag or environment variable gave them.
fn parse_args() -> Result<Cli, String> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let matches = Cli::command().get_matches_from(&args);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let Command::Serve(settings) = &cli.command else {
        return Ok(cli);
    };
    let Some(file) = settings.config.clone() else {
        return Ok(cli);
    };
    let serve = matches
        .subcommand_matches("serve")
        .ok_or("serve's settings went missing")?;
    let given = |flag: &str| {
        matches!(
            serve.value_source(&flag.replace('-', "_")),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let flags = ctas_router::config::file_flags(&file, &given)?;
    settings_of(&file, &flags)?;
    // The file's settings, then the command line's own after them.
    let at = args.iter().position(|a| a == "serve").unwrap_or(1);
    let mut rebuilt: Vec<OsString> = args[..=at].to_vec();
    for (flag, value) in flags {
        rebuilt.push(format!("{flag}={value}").into());
    }
    rebuilt.extend_from_slice(&args[at + 1..]);
    Cli::try_parse_from(rebuilt).map_err(|e| format!("{}: {e}", file.display()))
}

/// `config check FILE`.
fn config_check(file: &Path) -> anyhow::Result<()> {
    let flags = ctas_router::config::file_flags(file, &|_| false).map_err(anyhow::Error::msg)?;
    let settings = settings_of(file, &flags).map_err(anyhow::Error::msg)?;
    settings
        .tokens()
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    settings.routing().map_err(anyhow::Error::msg)?;
    println!("{}: ok, {} setting(s)", file.display(), flags.len());
    Ok(())
}

/// A command whose output is piped into one that stops reading (`ctas-router lookup … |
/// head`) ends there, as `cat` does, rather than panicking at its next `println!`: Rust
/// ignores SIGPIPE, so the write fails instead. The server keeps ignoring it: a client
/// gone is no reason to stop.
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: restores the default disposition of one signal; no handler of ours runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CTAS_LOG")
                .unwrap_or_else(|_| "info,surrealdb=warn,surrealkv=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("ctas-router: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !matches!(cli.command, Command::Serve(_)) {
        end_quietly_on_a_closed_pipe();
    }
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
            Command::Serve(settings) => done(ctas_router::server::serve(*settings).await),
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
            Command::Config {
                action: ConfigAction::Check { file },
            } => done(config_check(&file)),
            Command::Trace { id, remote } => done(cli::status::trace(&remote, &id).await),
            Command::Verify {
                tier,
                repair,
                limit,
                page,
                json,
                remote,
            } => {
                let asked = cli::verify::Asked {
                    tier: tier.as_deref(),
                    limit,
                    page,
                };
                cli::verify::verify(&remote, &asked, repair, json).await
            }
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
