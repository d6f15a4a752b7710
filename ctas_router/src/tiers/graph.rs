//! The graph tier: Neo4j over Bolt, one UNWIND + MERGE per batch.

use std::collections::HashMap;

use ctas_core::model::ThreatRecord;
use neo4rs::{query, BoltType, Graph as Neo4j};
use tokio::sync::OnceCell;

use super::{Tier, TierError, TierName};

/// Node label of a threat record.
pub const LABEL: &str = "ThreatRecord";

/// MERGE on the id makes a replayed batch a no-op, which matters because neo4rs
/// retries and the outbox delivers at least once.
const UPSERT: &str = "
UNWIND $rows AS row
MERGE (r:ThreatRecord {id: row.id})
SET r.kind = row.kind, r.value = row.value, r.source = row.source,
    r.observed_at = row.observed_at, r.lat = row.lat, r.lng = row.lng,
    r.h3_cell = row.h3_cell, r.tags = row.tags, r.description = row.description
";

/// The graph tier.
pub struct Graph {
    neo4j: Neo4j,
    schema: OnceCell<()>,
}

fn err(e: impl std::fmt::Display) -> TierError {
    TierError::new(TierName::Graph, e)
}

/// A neo4rs error, told apart: Neo4j's client errors about the statement or a
/// constraint, and values the driver cannot encode, refuse the same records every
/// time; connections, timeouts, transient and database errors may pass on a retry.
fn neo_err(e: neo4rs::Error) -> TierError {
    let permanent = match &e {
        neo4rs::Error::Neo4j(n) => {
            n.code().starts_with("Neo.ClientError.Statement.")
                || n.code() == "Neo.ClientError.Schema.ConstraintValidationFailed"
        }
        neo4rs::Error::StringTooLong
        | neo4rs::Error::MapTooBig
        | neo4rs::Error::BytesTooBig
        | neo4rs::Error::ListTooLong => true,
        _ => false,
    };
    if permanent {
        TierError::permanent(TierName::Graph, e)
    } else {
        err(e)
    }
}

impl Graph {
    /// A graph tier for this server; connections are opened when first needed.
    pub fn new(uri: &str, user: &str, password: &str) -> Result<Self, TierError> {
        let config = neo4rs::ConfigBuilder::default()
            .uri(uri)
            .user(user)
            .password(password)
            .max_connections(4)
            .build()
            .map_err(err)?;
        Ok(Graph {
            neo4j: Neo4j::connect(config).map_err(err)?,
            schema: OnceCell::new(),
        })
    }

    /// The uniqueness constraint that makes MERGE on id fast and race-free, once.
    async fn ensure_schema(&self) -> Result<(), TierError> {
        self.schema
            .get_or_try_init(|| async {
                self.neo4j
                    .run(query(
                        "CREATE CONSTRAINT threat_record_id IF NOT EXISTS \
                         FOR (r:ThreatRecord) REQUIRE r.id IS UNIQUE",
                    ))
                    .await
                    .map(drop)
                    .map_err(err)
            })
            .await
            .copied()
    }
}

fn row(r: &ThreatRecord) -> HashMap<&'static str, BoltType> {
    HashMap::from([
        ("id", BoltType::from(r.id.as_str())),
        ("kind", r.kind.as_str().into()),
        ("value", r.value.as_str().into()),
        ("source", r.source.clone().into()),
        ("observed_at", r.observed_at.into()),
        ("lat", r.lat.into()),
        ("lng", r.lng.into()),
        // H3 indexes never set the top bit, so they fit Neo4j's signed integers.
        ("h3_cell", r.h3_cell.map(|c| c as i64).into()),
        ("tags", r.tags.clone().into()),
        ("description", r.description.clone().into()),
    ])
}

impl Tier for Graph {
    const NAME: TierName = TierName::Graph;

    async fn upsert(&self, records: &[ThreatRecord]) -> Result<(), TierError> {
        self.ensure_schema().await?;
        let rows: Vec<BoltType> = records.iter().map(|r| row(r).into()).collect();
        self.neo4j
            .run(query(UPSERT).param("rows", rows))
            .await
            .map(drop)
            .map_err(neo_err)
    }

    async fn fetch(&self, id: &str) -> Result<Option<serde_json::Value>, TierError> {
        let mut rows = self
            .neo4j
            .execute(
                query(
                    "MATCH (r:ThreatRecord {id: $id}) \
                     RETURN r.id AS id, r.kind AS kind, r.value AS value, r.source AS source, \
                            toString(r.observed_at) AS observed_at, r.h3_cell AS h3_cell, \
                            r.tags AS tags",
                )
                .param("id", id),
            )
            .await
            .map_err(err)?;
        let Some(row) = rows.next().await.map_err(err)? else {
            return Ok(None);
        };
        #[derive(serde::Deserialize, serde::Serialize)]
        struct Node {
            id: String,
            kind: String,
            value: String,
            source: Option<String>,
            observed_at: String,
            h3_cell: Option<i64>,
            tags: Vec<String>,
        }
        let node: Node = row.to().map_err(err)?;
        Ok(Some(serde_json::to_value(node).map_err(err)?))
    }

    async fn count(&self) -> Result<u64, TierError> {
        let mut rows = self
            .neo4j
            .execute(query("MATCH (r:ThreatRecord) RETURN count(r) AS n"))
            .await
            .map_err(err)?;
        let row = rows.next().await.map_err(err)?;
        let n: i64 = row
            .map(|r| r.get("n"))
            .transpose()
            .map_err(err)?
            .unwrap_or(0);
        Ok(n as u64)
    }
}
