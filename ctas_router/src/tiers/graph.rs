//! The graph tier: Neo4j over Bolt, one UNWIND + MERGE per batch.

use std::collections::HashMap;

use ctas_core::model::{Entity, Indicator, Item, Relationship, Report, Sighting, ThreatRecord};
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
                for constraint in [
                    "CREATE CONSTRAINT threat_record_id IF NOT EXISTS \
                     FOR (r:ThreatRecord) REQUIRE r.id IS UNIQUE",
                    "CREATE CONSTRAINT object_id IF NOT EXISTS \
                     FOR (n:Object) REQUIRE n.id IS UNIQUE",
                    "CREATE INDEX related_id IF NOT EXISTS FOR ()-[e:RELATED]-() ON (e.id)",
                ] {
                    self.neo4j.run(query(constraint)).await.map_err(err)?;
                }
                Ok(())
            })
            .await
            .copied()
    }
}

/// Reports, indicators and entities: nodes labelled `Object` (what edges meet on,
/// unique by id) and their own label. Placeholders made by an edge that arrived first
/// get their properties when the object does.
const NODES: &str = "
UNWIND $rows AS row
MERGE (n:Object {id: row.id})
SET n += row.props
FOREACH (_ IN CASE WHEN row.label = 'Report' THEN [1] ELSE [] END | SET n:Report)
FOREACH (_ IN CASE WHEN row.label = 'Indicator' THEN [1] ELSE [] END | SET n:Indicator)
FOREACH (_ IN CASE WHEN row.label = 'Entity' THEN [1] ELSE [] END | SET n:Entity)";

/// A report naming an indicator.
const SIGHTINGS: &str = "
UNWIND $rows AS row
MERGE (r:Object {id: row.report})
MERGE (i:Object {id: row.indicator})
MERGE (r)-[e:SIGHTED]->(i)
SET e.seen_at = row.seen_at, e.source = row.source";

/// STIX relationships and the ones CTAS derives, as edges between any two objects.
const RELATIONSHIPS: &str = "
UNWIND $rows AS row
MERGE (a:Object {id: row.source})
MERGE (b:Object {id: row.target})
MERGE (a)-[e:RELATED {id: row.id}]->(b)
SET e.type = row.type, e.created = row.created";

fn report(r: &Report) -> HashMap<&'static str, BoltType> {
    HashMap::from([
        ("title", BoltType::from(r.title.clone())),
        ("source", r.source.clone().into()),
        ("observed_at", r.observed_at.into()),
        ("h3_cell", r.h3_cell.map(|c| c as i64).into()),
        ("tags", r.tags.clone().into()),
    ])
}

fn indicator(i: &Indicator) -> HashMap<&'static str, BoltType> {
    HashMap::from([
        ("kind", BoltType::from(i.kind.as_str())),
        ("value", i.value.as_str().into()),
        ("stix_id", i.stix_id.clone().into()),
        ("first_seen", i.first_seen.into()),
        ("last_seen", i.last_seen.into()),
    ])
}

fn entity(e: &Entity) -> HashMap<&'static str, BoltType> {
    HashMap::from([
        ("type", BoltType::from(e.entity_type.as_str())),
        ("name", e.name.clone().into()),
        ("aliases", e.aliases.clone().into()),
        ("external_ids", e.external_ids.clone().into()),
        ("revoked", e.revoked.into()),
    ])
}

fn node(id: &str, label: &str, props: HashMap<&'static str, BoltType>) -> BoltType {
    HashMap::from([
        ("id", BoltType::from(id)),
        ("label", label.into()),
        ("props", props.into()),
    ])
    .into()
}

fn sighting(s: &Sighting) -> BoltType {
    HashMap::from([
        ("report", BoltType::from(s.report_id.as_str())),
        ("indicator", s.indicator_id.as_str().into()),
        ("seen_at", s.seen_at.into()),
        ("source", s.source.clone().into()),
    ])
    .into()
}

fn relationship(r: &Relationship) -> BoltType {
    HashMap::from([
        ("id", BoltType::from(r.id.as_str())),
        ("source", r.source_ref.as_str().into()),
        ("target", r.target_ref.as_str().into()),
        ("type", r.relationship_type.as_str().into()),
        ("created", r.created.into()),
    ])
    .into()
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

impl Graph {
    /// A report, indicator or entity node, with its labels and edges' count.
    async fn fetch_object(&self, id: &str) -> Result<Option<serde_json::Value>, TierError> {
        let mut rows = self
            .neo4j
            .execute(
                query(
                    "MATCH (n:Object {id: $id}) \
                     RETURN n.id AS id, labels(n) AS labels, n.name AS name, n.type AS type, \
                            n.kind AS kind, n.value AS value, n.title AS title, \
                            COUNT { (n)--() } AS edges",
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
            labels: Vec<String>,
            name: Option<String>,
            r#type: Option<String>,
            kind: Option<String>,
            value: Option<String>,
            title: Option<String>,
            edges: i64,
        }
        let node: Node = row.to().map_err(err)?;
        Ok(Some(serde_json::to_value(node).map_err(err)?))
    }
}

impl Tier for Graph {
    const NAME: TierName = TierName::Graph;

    async fn upsert(&self, items: &[Item]) -> Result<(), TierError> {
        self.ensure_schema().await?;
        let (mut records, mut nodes, mut sightings, mut edges) = (vec![], vec![], vec![], vec![]);
        for item in items {
            match item {
                Item::Record(r) => records.push(row(r).into()),
                Item::Report(r) => nodes.push(node(&r.id, "Report", report(r))),
                Item::Indicator(i) => nodes.push(node(&i.id, "Indicator", indicator(i))),
                Item::Entity(e) => nodes.push(node(&e.id, "Entity", entity(e))),
                Item::Sighting(s) => sightings.push(sighting(s)),
                Item::Relationship(r) => edges.push(relationship(r)),
                // A source is a name on reports and sightings, not a node of its own.
                Item::Source(_) => {}
            }
        }
        // Nodes before the edges that meet on them.
        for (cypher, rows) in [
            (UPSERT, records),
            (NODES, nodes),
            (SIGHTINGS, sightings),
            (RELATIONSHIPS, edges),
        ] {
            if !rows.is_empty() {
                self.neo4j
                    .run(query(cypher).param("rows", rows))
                    .await
                    .map_err(neo_err)?;
            }
        }
        Ok(())
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
            return self.fetch_object(id).await;
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
            .execute(query(
                "CALL () { MATCH (n) WHERE n:ThreatRecord OR n:Object RETURN count(n) AS nodes } \
                 CALL () { MATCH ()-[e:RELATED|SIGHTED]->() RETURN count(e) AS edges } \
                 RETURN nodes + edges AS n",
            ))
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
