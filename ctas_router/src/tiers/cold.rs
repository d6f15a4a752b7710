//! The cold tier: PostgreSQL, the schema in `sql/schema`, one statement per batch.

use ctas_core::model::ThreatRecord;
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use super::{Tier, TierError, TierName};

/// The cold-tier schema, in order; each file is applied once and recorded.
pub use ctas_core::schema::MIGRATIONS;

/// The whole batch goes in as one jsonb array, so a batch is one round trip and one
/// statement whatever its size; ON CONFLICT makes a replay harmless.
const UPSERT: &str = r#"
INSERT INTO ctas.threat_records
    (id, kind, value, source, observed_at, lat, lng, h3_cell, tags, description)
SELECT r.id, r.kind, r.value, r.source, r.observed_at, r.lat, r.lng, r.h3_cell,
       coalesce(r.tags, '{}'), r.description
FROM jsonb_to_recordset($1::jsonb) AS r(
    id text, kind text, value text, source text, observed_at timestamptz,
    lat float8, lng float8, h3_cell bigint, tags text[], description text)
ON CONFLICT (id) DO UPDATE SET
    kind = EXCLUDED.kind, value = EXCLUDED.value, source = EXCLUDED.source,
    observed_at = EXCLUDED.observed_at, lat = EXCLUDED.lat, lng = EXCLUDED.lng,
    h3_cell = EXCLUDED.h3_cell, tags = EXCLUDED.tags,
    description = EXCLUDED.description, updated_at = now()
"#;

/// The cold tier. It connects on first use and again after a failure, so the router
/// starts and accepts records while PostgreSQL is down.
pub struct Cold {
    dsn: String,
    client: Mutex<Option<Client>>,
}

fn err(e: impl std::fmt::Display) -> TierError {
    TierError::new(TierName::Cold, e)
}

/// Keep the full chain of a tokio-postgres error: its Display alone says only "db error".
fn pg_err(e: tokio_postgres::Error) -> TierError {
    match e.as_db_error() {
        Some(db) => err(format!("{} (SQLSTATE {})", db.message(), db.code().code())),
        None => err(e),
    }
}

impl Cold {
    /// A cold tier for this connection string; nothing is contacted yet.
    pub fn new(dsn: impl Into<String>) -> Self {
        Cold {
            dsn: dsn.into(),
            client: Mutex::new(None),
        }
    }

    /// Run `f` with a live client, connecting (and migrating) first when needed.
    /// A failed call drops the client, so the next one reconnects.
    async fn with_client<T>(
        &self,
        f: impl AsyncFnOnce(&Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, TierError> {
        let mut slot = self.client.lock().await;
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = Some(self.connect().await?);
        }
        let result = f(slot.as_ref().expect("connected above")).await;
        if result.is_err() {
            *slot = None;
        }
        result.map_err(pg_err)
    }

    async fn connect(&self) -> Result<Client, TierError> {
        let (mut client, connection) = tokio_postgres::connect(&self.dsn, NoTls)
            .await
            .map_err(pg_err)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "cold tier connection closed");
            }
        });
        migrate(&mut client).await.map_err(pg_err)?;
        Ok(client)
    }
}

/// Apply the migrations not yet recorded, each in its own transaction, under an
/// advisory lock so that two routers starting together do not race.
async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(ctas_core::schema::PREAMBLE).await?;
    for (version, sql) in MIGRATIONS {
        let done = tx
            .query_opt(
                "SELECT 1 FROM ctas.schema_migrations WHERE version = $1",
                &[version],
            )
            .await?;
        if done.is_none() {
            tx.batch_execute(sql).await?;
            tx.execute(
                "INSERT INTO ctas.schema_migrations (version) VALUES ($1)",
                &[version],
            )
            .await?;
            tracing::info!(version, "cold tier: applied migration");
        }
    }
    tx.commit().await
}

impl Tier for Cold {
    const NAME: TierName = TierName::Cold;

    async fn upsert(&self, records: &[ThreatRecord]) -> Result<(), TierError> {
        let rows = serde_json::to_value(records).map_err(err)?;
        self.with_client(async |c| c.execute(UPSERT, &[&rows]).await.map(drop))
            .await
    }

    async fn fetch(&self, id: &str) -> Result<Option<serde_json::Value>, TierError> {
        let row = self
            .with_client(async |c| {
                c.query_opt(
                    "SELECT to_jsonb(t) FROM ctas.threat_records t WHERE id = $1",
                    &[&id],
                )
                .await
            })
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn count(&self) -> Result<u64, TierError> {
        let n: i64 = self
            .with_client(async |c| {
                c.query_one("SELECT count(*) FROM ctas.threat_records", &[])
                    .await
                    .map(|r| r.get(0))
            })
            .await?;
        Ok(n as u64)
    }
}
