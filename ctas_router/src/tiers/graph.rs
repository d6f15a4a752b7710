//! The graph tier: Neo4j over Bolt, one UNWIND + MERGE per batch.

use std::collections::HashMap;

use ctas_core::model::essence::Essence;
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

    /// The uniqueness constraints that make MERGE on id fast and race-free, the indexes
    /// the documented questions use (by name, alias, external id, value), and a graph
    /// written by an earlier release given its typed labels and edges; once.
    async fn ensure_schema(&self) -> Result<(), TierError> {
        self.schema
            .get_or_try_init(|| async {
                for statement in [
                    "CREATE CONSTRAINT threat_record_id IF NOT EXISTS \
                     FOR (r:ThreatRecord) REQUIRE r.id IS UNIQUE",
                    "CREATE CONSTRAINT object_id IF NOT EXISTS \
                     FOR (n:Object) REQUIRE n.id IS UNIQUE",
                    "CREATE INDEX entity_name IF NOT EXISTS FOR (n:Entity) ON (n.name)",
                    "CREATE INDEX indicator_value IF NOT EXISTS FOR (n:Indicator) ON (n.value)",
                    // Aliases and external ids are lists, which range indexes do not
                    // search by element; a full-text index does.
                    "CREATE FULLTEXT INDEX entity_names IF NOT EXISTS \
                     FOR (n:Entity) ON EACH [n.name, n.aliases, n.external_ids]",
                ] {
                    self.neo4j.run(query(statement)).await.map_err(err)?;
                }
                self.type_earlier_graph().await
            })
            .await
            .copied()
    }

    /// Releases before 0.6 wrote every relationship as a `RELATED` edge and every entity
    /// as a bare `Entity`: give them the types and labels of [`edge_type`] and
    /// [`entity_labels`], batch by batch. Nothing to do on a graph written since.
    async fn type_earlier_graph(&self) -> Result<(), TierError> {
        let mut rows = self
            .neo4j
            .execute(query(
                "MATCH ()-[e:RELATED]->() RETURN DISTINCT e.type AS type \
                 UNION MATCH (n:Entity) WHERE size(labels(n)) = 2 RETURN DISTINCT n.type AS type",
            ))
            .await
            .map_err(err)?;
        let mut types: Vec<String> = Vec::new();
        while let Some(row) = rows.next().await.map_err(err)? {
            if let Ok(t) = row.get::<String>("type") {
                types.push(t);
            }
        }
        for t in types {
            // A batch a transaction, until none is left (neo4rs runs every statement in
            // a transaction of its own, where CALL … IN TRANSACTIONS cannot run).
            while self
                .changed(
                    query(
                        "MATCH (a)-[e:RELATED {type: $type}]->(b) WITH a, e, b LIMIT 10000 \
                         CREATE (a)-[n:$($edge)]->(b) SET n = properties(e) DELETE e \
                         RETURN count(*) AS n",
                    )
                    .param("type", t.as_str())
                    .param("edge", edge_type(&t)),
                )
                .await?
                > 0
            {}
            self.changed(
                query("MATCH (n:Entity {type: $type}) SET n:$($labels) RETURN count(*) AS n")
                    .param("type", t.as_str())
                    .param("labels", entity_labels(&t)),
            )
            .await?;
        }
        Ok(())
    }

    /// Run a statement that returns `n`, the rows it changed.
    async fn changed(&self, statement: neo4rs::Query) -> Result<i64, TierError> {
        let mut rows = self.neo4j.execute(statement).await.map_err(err)?;
        let mut n = 0;
        while let Some(row) = rows.next().await.map_err(err)? {
            n += row.get::<i64>("n").map_err(err)?;
        }
        Ok(n)
    }
}

/// The labels of an entity's node: `Entity` and its STIX type in Neo4j's PascalCase
/// (`intrusion-set` → `IntrusionSet`, `attack-pattern` → `AttackPattern`,
/// `x-mitre-tactic` → `XMitreTactic`), so a query names the kind it wants.
pub fn entity_labels(stix_type: &str) -> Vec<String> {
    let label: String = stix_type
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase())
                .unwrap_or_default()
        })
        .collect();
    let mut labels = vec!["Entity".to_owned()];
    // A type that names no label of its own (empty, or a reserved one) keeps `Entity` alone.
    if !label.is_empty() && !["Entity", "Object", "Report", "Indicator"].contains(&label.as_str()) {
        labels.push(label);
    }
    labels
}

/// The type of a relationship's edge: its STIX type in Neo4j's upper snake case
/// (`uses` → `USES`, `attributed-to` → `ATTRIBUTED_TO`, `subtechnique-of` →
/// `SUBTECHNIQUE_OF`, `based-on` → `BASED_ON`); a report's `object_refs` are
/// `REFERS_TO`, what the report names.
pub fn edge_type(relationship_type: &str) -> String {
    if relationship_type == "object_refs" {
        return "REFERS_TO".to_owned();
    }
    let t: Vec<String> = relationship_type
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    match t.join("_") {
        // SIGHTED is what a sighting is; a relationship never takes its place.
        e if e.is_empty() || e == "SIGHTED" => "RELATED_TO".to_owned(),
        e => e,
    }
}

/// Reports, indicators and entities: nodes labelled `Object` (what edges meet on,
/// unique by id) and their own labels (`Report`, `Indicator`, or `Entity` with the
/// entity's type: [`entity_labels`]). Placeholders made by an edge that arrived first
/// get their properties and labels when the object does.
const NODES: &str = "
UNWIND $rows AS row
MERGE (n:Object {id: row.id})
SET n += row.props
SET n:$(row.labels)";

/// A report naming an indicator.
const SIGHTINGS: &str = "
UNWIND $rows AS row
MERGE (r:Object {id: row.report})
MERGE (i:Object {id: row.indicator})
MERGE (r)-[e:SIGHTED]->(i)
SET e.seen_at = row.seen_at, e.source = row.source";

/// STIX relationships and the ones CTAS derives, as edges of their own type
/// ([`edge_type`]) between any two objects; the STIX type stays in `type`.
///
/// Planned anew each batch: Neo4j caches a plan made when the graph had no edges of a
/// type and keeps it for 10 s or more (`cypher.min_replan_interval`), and that plan
/// scans the edges instead of expanding from the two bound nodes — ATT&CK's first load
/// into an empty graph took 12–13 s instead of 2.5 s until Neo4j replanned.
const RELATIONSHIPS: &str = "CYPHER replan=force
UNWIND $rows AS row
MERGE (a:Object {id: row.source})
MERGE (b:Object {id: row.target})
MERGE (a)-[e:$(row.edge) {id: row.id}]->(b)
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

fn node(id: &str, labels: Vec<String>, props: HashMap<&'static str, BoltType>) -> BoltType {
    HashMap::from([
        ("id", BoltType::from(id)),
        ("labels", labels.into()),
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
        ("edge", edge_type(&r.relationship_type).into()),
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

/// Items as the graph's statements take them: one parameter row per item, by the
/// statement that writes it. Public for the benchmark, which loads the same rows with
/// plain `CREATE`s as the floor (`ctas_router/examples/graph_load.rs`).
#[derive(Default)]
pub struct Rows {
    /// Flat records: `{id, kind, value, …}`.
    pub records: Vec<BoltType>,
    /// Reports, indicators, entities: `{id, labels, props}`.
    pub nodes: Vec<BoltType>,
    /// `{report, indicator, seen_at, source}`.
    pub sightings: Vec<BoltType>,
    /// Relationships: `{id, source, target, type, edge, created}`.
    pub edges: Vec<BoltType>,
}

impl Rows {
    pub fn of(items: &[Item]) -> Rows {
        let mut rows = Rows::default();
        for item in items {
            match item {
                Item::Record(r) => rows.records.push(row(r).into()),
                Item::Report(r) => rows
                    .nodes
                    .push(node(&r.id, vec!["Report".into()], report(r))),
                Item::Indicator(i) => {
                    rows.nodes
                        .push(node(&i.id, vec!["Indicator".into()], indicator(i)))
                }
                Item::Entity(e) => {
                    rows.nodes
                        .push(node(&e.id, entity_labels(&e.entity_type), entity(e)))
                }
                Item::Sighting(s) => rows.sightings.push(sighting(s)),
                Item::Relationship(r) => rows.edges.push(relationship(r)),
                // A source is a name on reports and sightings, not a node of its own.
                Item::Source(_) => {}
            }
        }
        rows
    }
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

/// Most nodes a neighbourhood visits: past it the walk stops, and says it did.
pub const MAX_VISITED: usize = 20_000;

/// A node as the API shows it: what any object has, and what it is.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct NodeView {
    pub id: String,
    pub labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// The edge a neighbour was first reached by.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct Via {
    /// The node it was reached from, one step nearer the start.
    pub from: String,
    /// The edge's type in the graph (`USES`, `SIGHTED`, `REFERS_TO`, …).
    pub edge: String,
    /// The STIX relationship type, for an edge a relationship made.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub relationship_type: Option<String>,
    /// `out` when the edge points from `from` to the neighbour, `in` otherwise.
    pub direction: String,
}

/// A node within the asked depth of the start.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Neighbor {
    #[serde(flatten)]
    pub node: NodeView,
    /// Fewest edges from the start, along edges of the asked types.
    pub distance: u32,
    pub via: Via,
}

/// Everything within `depth` edges of a node, nearest first, then by id.
#[derive(Debug, Clone)]
pub struct Neighborhood {
    pub start: NodeView,
    pub neighbors: Vec<Neighbor>,
    /// The walk stopped at [`MAX_VISITED`] nodes.
    pub truncated: bool,
}

/// Properties a node view is read from, in Cypher, for a node bound to `n`.
const VIEW: &str = "n.id AS id, labels(n) AS labels, n.name AS name, n.type AS type, \
                    n.kind AS kind, n.value AS value, n.title AS title";

impl Graph {
    /// The nodes within `depth` edges of `id`, along edges of `types` (all if None),
    /// walked breadth first one level a query, so a dense graph costs the nodes it
    /// reaches rather than every path to them. None when no object has the id.
    pub async fn neighbors(
        &self,
        id: &str,
        depth: u32,
        types: Option<Vec<String>>,
    ) -> Result<Option<Neighborhood>, TierError> {
        let mut rows = self
            .neo4j
            .execute(query(&format!("MATCH (n:Object {{id: $id}}) RETURN {VIEW}")).param("id", id))
            .await
            .map_err(err)?;
        let Some(row) = rows.next().await.map_err(err)? else {
            return Ok(None);
        };
        let start: NodeView = row.to().map_err(err)?;
        let mut seen = std::collections::HashSet::from([start.id.clone()]);
        let mut frontier = vec![start.id.clone()];
        let mut neighbors = Vec::new();
        let mut truncated = false;
        // The parent of a node reached from several is the first by (from, edge, id),
        // so the same graph always gives the same answer, page after page.
        let level = format!(
            "UNWIND $frontier AS fid \
             MATCH (a:Object {{id: fid}})-[e]-(n:Object) \
             WHERE $types IS NULL OR type(e) IN $types \
             WITH n, a, e ORDER BY a.id, type(e), e.id \
             WITH n, head(collect({{from: a.id, edge: type(e), type: e.type, \
                                   direction: CASE WHEN startNode(e) = a THEN 'out' ELSE 'in' END}})) AS via \
             RETURN {VIEW}, via ORDER BY id"
        );
        for distance in 1..=depth {
            if frontier.is_empty() {
                break;
            }
            let mut rows = self
                .neo4j
                .execute(
                    query(&level)
                        .param("frontier", std::mem::take(&mut frontier))
                        .param("types", types.clone()),
                )
                .await
                .map_err(err)?;
            while let Some(row) = rows.next().await.map_err(err)? {
                let node: NodeView = row.to().map_err(err)?;
                if !seen.insert(node.id.clone()) {
                    continue;
                }
                if seen.len() > MAX_VISITED {
                    truncated = true;
                    break;
                }
                let via: Via = row.get("via").map_err(err)?;
                frontier.push(node.id.clone());
                neighbors.push(Neighbor {
                    node,
                    distance,
                    via,
                });
            }
            if truncated {
                break;
            }
        }
        Ok(Some(Neighborhood {
            start,
            neighbors,
            truncated,
        }))
    }
}

#[async_trait::async_trait]
impl Tier for Graph {
    fn name(&self) -> TierName {
        TierName::Graph
    }

    async fn upsert(&self, items: &[Item]) -> Result<(), TierError> {
        self.ensure_schema().await?;
        let rows = Rows::of(items);
        // Nodes before the edges that meet on them.
        for (cypher, rows) in [
            (UPSERT, rows.records),
            (NODES, rows.nodes),
            (SIGHTINGS, rows.sightings),
            (RELATIONSHIPS, rows.edges),
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
                 CALL () { MATCH (:Object)-[e]->(:Object) RETURN count(e) AS edges } \
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

    async fn ping(&self) -> Result<(), TierError> {
        let mut rows = self.neo4j.execute(query("RETURN 1")).await.map_err(err)?;
        rows.next().await.map_err(err)?;
        Ok(())
    }

    async fn essences(&self, items: &[Item]) -> Result<HashMap<String, Essence>, TierError> {
        let (mut nodes, mut sighted, mut related) = (Vec::new(), Vec::new(), Vec::new());
        let mut types = HashMap::new();
        for item in items {
            let key = item.key();
            types.insert(key.clone(), item.type_name());
            match item {
                Item::Sighting(s) => sighted.push(BoltType::from(HashMap::from([
                    ("key", BoltType::from(key)),
                    ("report", s.report_id.as_str().into()),
                    ("indicator", s.indicator_id.as_str().into()),
                ]))),
                Item::Relationship(r) => related.push(BoltType::from(HashMap::from([
                    ("key", BoltType::from(key)),
                    ("source", r.source_ref.as_str().into()),
                    ("target", r.target_ref.as_str().into()),
                ]))),
                // A source is a name on reports and sightings, not a node.
                Item::Source(_) => {}
                _ => nodes.push(key),
            }
        }
        let mut found = HashMap::new();
        for (cypher, rows) in [
            (ESSENCE_NODES, BoltType::from(nodes)),
            (ESSENCE_SIGHTINGS, sighted.into()),
            (ESSENCE_EDGES, related.into()),
        ] {
            let mut answer = self
                .neo4j
                .execute(query(cypher).param("rows", rows))
                .await
                .map_err(err)?;
            while let Some(row) = answer.next().await.map_err(err)? {
                let row: EssenceRow = row.to().map_err(err)?;
                let type_name = types.get(&row.key).copied().unwrap_or_default();
                let row_json = serde_json::to_value(&row).map_err(err)?;
                found.insert(row.key.clone(), super::essence_of_row(type_name, &row_json));
            }
        }
        Ok(found)
    }
}

/// What the graph answers of an object, a sighting or a relationship, for its essence.
#[derive(serde::Deserialize, serde::Serialize)]
struct EssenceRow {
    key: String,
    kind: Option<String>,
    value: Option<String>,
    title: Option<String>,
    source: Option<String>,
    observed_at: Option<i64>,
    #[serde(rename = "type")]
    entity_type: Option<String>,
    name: Option<String>,
    source_ref: Option<String>,
    relationship_type: Option<String>,
    target_ref: Option<String>,
}

/// Nodes by id: flat records, and objects that are more than a placeholder an edge made
/// (one with a label of its own beside `Object`).
const ESSENCE_NODES: &str = "
UNWIND $rows AS key
OPTIONAL MATCH (o:Object {id: key}) WHERE size(labels(o)) > 1
OPTIONAL MATCH (t:ThreatRecord {id: key})
WITH key, coalesce(o, t) AS n WHERE n IS NOT NULL
RETURN key, n.kind AS kind, n.value AS value, n.title AS title, n.source AS source,
       n.observed_at.epochMillis AS observed_at, n.type AS type, n.name AS name,
       null AS source_ref, null AS relationship_type, null AS target_ref";

/// A report's `SIGHTED` edge to an indicator.
const ESSENCE_SIGHTINGS: &str = "
UNWIND $rows AS row
MATCH (:Object {id: row.report})-[e:SIGHTED]->(:Object {id: row.indicator})
RETURN row.key AS key, null AS kind, null AS value, null AS title, e.source AS source,
       null AS observed_at, null AS type, null AS name,
       null AS source_ref, null AS relationship_type, null AS target_ref";

/// A relationship's edge, by its id, from either end's node.
const ESSENCE_EDGES: &str = "
UNWIND $rows AS row
MATCH (a:Object {id: row.source})-[e {id: row.key}]->(b:Object {id: row.target})
RETURN row.key AS key, null AS kind, null AS value, null AS title, null AS source,
       null AS observed_at, null AS type, null AS name,
       a.id AS source_ref, e.type AS relationship_type, b.id AS target_ref";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_edge_types_are_neo4j_s_spelling_of_stix_types() {
        for (stix, label) in [
            ("intrusion-set", "IntrusionSet"),
            ("attack-pattern", "AttackPattern"),
            ("course-of-action", "CourseOfAction"),
            ("x-mitre-data-source", "XMitreDataSource"),
            ("malware", "Malware"),
        ] {
            assert_eq!(entity_labels(stix), ["Entity", label]);
        }
        // A type that would take a label the graph gives other nodes keeps Entity alone.
        assert_eq!(entity_labels("report"), ["Entity"]);
        assert_eq!(entity_labels("--"), ["Entity"]);
        for (stix, edge) in [
            ("uses", "USES"),
            ("attributed-to", "ATTRIBUTED_TO"),
            ("subtechnique-of", "SUBTECHNIQUE_OF"),
            ("based-on", "BASED_ON"),
            ("object_refs", "REFERS_TO"),
            ("x-custom rel", "X_CUSTOM_REL"),
            ("sighted", "RELATED_TO"),
            ("", "RELATED_TO"),
        ] {
            assert_eq!(edge_type(stix), edge, "{stix}");
        }
    }
}
