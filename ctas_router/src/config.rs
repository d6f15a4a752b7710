//! Where the router listens, who may call it, and where its tiers are, from flags or
//! the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::api::auth::Tokens;
use crate::hot::log::TierMask;
use crate::routing::Routing;
use crate::shutdown::Bounds;
use crate::tiers::TierName;

/// Settings for `ctas-router serve`.
#[derive(Clone, Args)]
pub struct Settings {
    /// A TOML file of these settings (`ctas-router config check FILE` checks one); a
    /// flag or an environment variable wins over the file.
    #[arg(long, env = "CTAS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address the HTTP API listens on.
    #[arg(long, env = "CTAS_LISTEN", default_value = "127.0.0.1:8077")]
    pub listen: SocketAddr,

    /// Directory for the hot tier (sled) and, when embedded, the warm tier (SurrealKV).
    #[arg(long, env = "CTAS_DATA_DIR", default_value = "./ctas-data")]
    pub data_dir: PathBuf,

    /// Warm tier endpoint: empty for SurrealKV embedded under the data directory, or
    /// a remote `ws://host:port` SurrealDB server.
    #[arg(long, env = "CTAS_SURREAL_ENDPOINT", default_value = "")]
    pub surreal_endpoint: String,

    /// Cold tier: a libpq-style connection string for PostgreSQL
    /// (`host=… user=… dbname=…`). Not given: the cold tier is off.
    #[arg(long, env = "CTAS_PG_DSN")]
    pub pg_dsn: Option<String>,

    /// Graph tier: Neo4j Bolt URI (`bolt://host:7687`). Not given: the graph tier is off.
    #[arg(long, env = "NEO4J_URI")]
    pub neo4j_uri: Option<String>,

    /// Graph tier: Neo4j user.
    #[arg(long, env = "NEO4J_USER", default_value = "neo4j")]
    pub neo4j_user: String,

    /// Graph tier: Neo4j password.
    #[arg(
        long,
        env = "NEO4J_PASSWORD",
        hide_env_values = true,
        default_value = ""
    )]
    pub neo4j_password: String,

    /// Tokens with the read scope, comma-separated (lookups, status, metrics).
    #[arg(
        long,
        env = "CTAS_READ_TOKENS",
        hide_env_values = true,
        default_value = ""
    )]
    pub read_tokens: String,

    /// Tokens with the write scope, comma-separated (ingest and replay; reads too).
    #[arg(
        long,
        env = "CTAS_WRITE_TOKENS",
        hide_env_values = true,
        default_value = ""
    )]
    pub write_tokens: String,

    /// A file of `read TOKEN` / `write TOKEN` lines (mode 600), beside the lists above.
    #[arg(long, env = "CTAS_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,

    /// Downstream tiers without which the router is not ready (`/readyz`),
    /// comma-separated. The others may be down: their outboxes keep what they will get.
    #[arg(long, env = "CTAS_REQUIRE", value_delimiter = ',', default_value = "warm",
          value_parser = tier_name)]
    pub require: Vec<TierName>,

    /// Most connections open at once; more wait in the kernel's backlog.
    #[arg(long, env = "CTAS_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Seconds a request may take, its body read included, before a 503.
    #[arg(long, env = "CTAS_REQUEST_TIMEOUT", default_value_t = 60.0, value_name = "SECONDS",
          value_parser = seconds)]
    pub request_timeout: f64,

    /// Seconds requests in flight have to finish after SIGTERM; past it they are dropped.
    #[arg(long, env = "CTAS_DRAIN_TIMEOUT", default_value_t = 20.0, value_name = "SECONDS",
          value_parser = seconds)]
    pub drain_timeout: f64,

    /// Routing rules (TOML): which downstream tiers each object goes to, by the
    /// request's priority, latency and data type and the object's kind, age and size.
    /// Without a file every object goes to every tier (docs/routing.md).
    #[arg(long, env = "CTAS_ROUTING", value_name = "FILE")]
    pub routing: Option<PathBuf>,

    /// How long the hot tier keeps its copies of objects (`30d`, `12h`): older ones are
    /// dropped once warm and cold have confirmed them, never before; lookups by value
    /// stay hot. Kept for ever when not given.
    #[arg(long, env = "CTAS_HOT_TTL", value_name = "DURATION", value_parser = positive_duration)]
    pub hot_ttl: Option<chrono::TimeDelta>,

    /// How long the warm tier keeps reports, their sightings and flat records, by their
    /// observation time: older ones are dropped once the cold tier has confirmed them.
    /// Needs every routing rule that sends objects to warm to send them to cold too.
    #[arg(long, env = "CTAS_WARM_TTL", value_name = "DURATION", value_parser = positive_duration)]
    pub warm_ttl: Option<chrono::TimeDelta>,

    /// How often demotion looks for copies past the hot and warm TTLs.
    #[arg(long, env = "CTAS_DEMOTE_EVERY", default_value = "1m", value_name = "DURATION",
          value_parser = positive_duration)]
    pub demote_every: chrono::TimeDelta,

    /// Most records a worker moves to its tier in one batch.
    #[arg(long, env = "CTAS_BATCH_SIZE", default_value_t = 500)]
    pub batch_size: usize,
}

fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds in (0, 86400]")),
    }
}

fn positive_duration(text: &str) -> Result<chrono::TimeDelta, String> {
    let d = crate::routing::duration(text)?;
    if d <= chrono::TimeDelta::zero() {
        return Err(format!("{text:?} must be longer than nothing"));
    }
    Ok(d)
}

/// What configures a tier that is off.
pub fn how_to_turn_on(tier: TierName) -> &'static str {
    match tier {
        TierName::Cold => {
            "no PostgreSQL is configured (--pg-dsn, CTAS_PG_DSN, or cold.dsn in the config file)"
        }
        TierName::Graph => {
            "no Neo4j is configured (--neo4j-uri, NEO4J_URI, or graph.uri in the config file)"
        }
        TierName::Warm => "the warm tier is always on",
    }
}

fn tier_name(name: &str) -> Result<TierName, String> {
    TierName::parse(name.trim())
        .ok_or_else(|| format!("{name:?} is not a downstream tier: warm, cold or graph"))
}

/// Time the outbox workers have to finish their batch at a stop: a tier that is slow
/// then delays the stop by this much at most.
const WORKER_STOP: Duration = Duration::from_secs(5);

impl Settings {
    /// How long a request may take.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout)
    }

    /// How long a stop may take, at most.
    pub fn bounds(&self) -> Bounds {
        Bounds {
            drain: Duration::from_secs_f64(self.drain_timeout),
            workers: WORKER_STOP,
        }
    }

    /// The tokens configured, checked against where the router listens: with none,
    /// anyone who reaches the port could write records, so only loopback is allowed.
    pub fn tokens(&self) -> Result<Tokens, String> {
        let tokens = Tokens::load(
            &self.read_tokens,
            &self.write_tokens,
            self.tokens_file.as_deref(),
        )?;
        if tokens.is_empty() && !self.listen.ip().is_loopback() {
            return Err(format!(
                "refusing to listen on {} without tokens: anyone who reaches it could read \
                 and write records. Set CTAS_WRITE_TOKENS / CTAS_READ_TOKENS or \
                 --tokens-file, or listen on 127.0.0.1",
                self.listen
            ));
        }
        Ok(tokens)
    }

    /// The downstream tiers configured: warm always (embedded unless told otherwise),
    /// cold with a PostgreSQL connection string, graph with a Neo4j URI. A tier
    /// required, or the warm TTL (which drops what cold holds), with its tier off is
    /// refused, named.
    pub fn tiers_on(&self) -> Result<TierMask, String> {
        let mut on = TierMask::NONE.with(TierName::Warm);
        if self.pg_dsn.is_some() {
            on = on.with(TierName::Cold);
        }
        if self.neo4j_uri.is_some() {
            on = on.with(TierName::Graph);
        }
        if let Some(&off) = self.require.iter().find(|&&t| !on.contains(t)) {
            return Err(format!(
                "--require names the {off} tier, which is off: {}",
                how_to_turn_on(off)
            ));
        }
        if self.warm_ttl.is_some() && !on.contains(TierName::Cold) {
            return Err(format!(
                "--warm-ttl drops from the warm tier what the cold tier holds, and the cold \
                 tier is off: {}",
                how_to_turn_on(TierName::Cold)
            ));
        }
        Ok(on)
    }

    /// The routing rules of `--routing`, or none (every object to every tier), sending
    /// nothing to a tier that is off; with a warm TTL, every rule that sends objects to
    /// warm must send them to cold too, or they would be dropped from the one tier that
    /// held them.
    pub fn routing(&self) -> Result<Routing, String> {
        let on = self.tiers_on()?;
        let routing = self
            .routing
            .as_deref()
            .map_or_else(|| Ok(Routing::default()), Routing::load)?
            .within(on);
        if self.warm_ttl.is_some() {
            if let Some(name) = routing.warm_without_cold() {
                return Err(format!(
                    "{name} sends objects to the warm tier but not the cold one, and \
                     --warm-ttl would drop them from the only tier holding them: add \
                     \"cold\" to its tiers, or do without the warm TTL"
                ));
            }
        }
        Ok(routing)
    }

    /// The SurrealDB endpoint to connect to, embedded unless configured otherwise.
    pub fn warm_endpoint(&self) -> String {
        if self.surreal_endpoint.is_empty() {
            format!("surrealkv://{}", self.data_dir.join("warm").display())
        } else {
            self.surreal_endpoint.clone()
        }
    }
}

/// The keys of a configuration file, and the `serve` flag each stands for.
pub const KEYS: &[(&str, &str)] = &[
    ("listen", "listen"),
    ("data_dir", "data-dir"),
    ("require", "require"),
    ("routing", "routing"),
    ("hot.ttl", "hot-ttl"),
    ("hot.demote_every", "demote-every"),
    ("warm.ttl", "warm-ttl"),
    ("warm.endpoint", "surreal-endpoint"),
    ("cold.dsn", "pg-dsn"),
    ("graph.uri", "neo4j-uri"),
    ("graph.user", "neo4j-user"),
    ("graph.password", "neo4j-password"),
    ("auth.read_tokens", "read-tokens"),
    ("auth.write_tokens", "write-tokens"),
    ("auth.tokens_file", "tokens-file"),
    ("limits.max_connections", "max-connections"),
    ("limits.request_timeout", "request-timeout"),
    ("limits.drain_timeout", "drain-timeout"),
    ("limits.batch_size", "batch-size"),
];

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(prev + usize::from(ca != cb));
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The file's settings as `serve` flags (`--listen`, `127.0.0.1:8077`, …), each key
/// for which `given(flag)` is false (a flag or the environment set it, and wins). An
/// error names the file and the key: one the file cannot have (with the nearest it
/// can), or a value of the wrong type.
pub fn file_flags(
    path: &std::path::Path,
    given: &dyn Fn(&str) -> bool,
) -> Result<Vec<(String, String)>, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the configuration file {shown}: {e}"))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{shown} is not TOML: {e}"))?;
    let mut flat = Vec::new();
    for (key, value) in &table {
        match value {
            toml::Value::Table(inner) => {
                for (k, v) in inner {
                    flat.push((format!("{key}.{k}"), v.clone()));
                }
            }
            v => flat.push((key.clone(), v.clone())),
        }
    }
    let mut flags = Vec::new();
    for (key, value) in flat {
        let Some((_, flag)) = KEYS.iter().find(|(k, _)| *k == key) else {
            let nearest = KEYS
                .iter()
                .min_by_key(|(k, _)| distance(k, &key))
                .map(|(k, _)| *k)
                .unwrap_or_default();
            return Err(format!(
                "{shown}: unknown key `{key}`; did you mean `{nearest}`? (keys: {})",
                KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            ));
        };
        let text = match &value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{shown}: `{key}` is a list of strings"))
                })
                .collect::<Result<Vec<_>, _>>()?
                .join(","),
            other => return Err(format!("{shown}: `{key}` cannot be a {}", other.type_str())),
        };
        if !given(flag) {
            flags.push((format!("--{flag}"), text));
        }
    }
    Ok(flags)
}
