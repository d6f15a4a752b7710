//! Where the router listens and where its tiers are, from flags or the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

/// Settings for `ctas-router serve`.
#[derive(Debug, Clone, Args)]
pub struct Settings {
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

    /// Cold tier: a libpq-style connection string for PostgreSQL.
    #[arg(
        long,
        env = "CTAS_PG_DSN",
        default_value = "host=127.0.0.1 port=5432 user=ctas password=ctas dbname=ctas"
    )]
    pub pg_dsn: String,

    /// Graph tier: Neo4j Bolt URI.
    #[arg(long, env = "NEO4J_URI", default_value = "bolt://127.0.0.1:7687")]
    pub neo4j_uri: String,

    /// Graph tier: Neo4j user.
    #[arg(long, env = "NEO4J_USER", default_value = "neo4j")]
    pub neo4j_user: String,

    /// Graph tier: Neo4j password.
    #[arg(long, env = "NEO4J_PASSWORD", hide_env_values = true)]
    pub neo4j_password: String,

    /// Most records a worker moves to its tier in one batch.
    #[arg(long, env = "CTAS_BATCH_SIZE", default_value_t = 500)]
    pub batch_size: usize,
}

impl Settings {
    /// The SurrealDB endpoint to connect to, embedded unless configured otherwise.
    pub fn warm_endpoint(&self) -> String {
        if self.surreal_endpoint.is_empty() {
            format!("surrealkv://{}", self.data_dir.join("warm").display())
        } else {
            self.surreal_endpoint.clone()
        }
    }
}
