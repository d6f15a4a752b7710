//! The graph tier's load against Neo4j's floor (a benchmark, not a test): a bundle's
//! items written by the graph tier's own code (`Graph::upsert`, batches of the router's
//! default 500 items, `UNWIND … MERGE` under the uniqueness constraint, in the log's
//! order, as the graph worker writes them), then the very same rows written with plain
//! `UNWIND … CREATE` — every node first, then every edge found by its ends' ids under the
//! same constraint, nothing merged — into the same Neo4j emptied, in the same run.
//!
//!   graph_load BUNDLE(.json or .json.gz) RUNS
//!   graph_load --empty        (only empty Neo4j: benches/ingest.py, before each run)
//!
//! Neo4j from NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD. It empties the database.

use std::io::Read;
use std::time::Instant;

use ctas_router::tiers::graph::{Graph, Rows};
use ctas_router::tiers::Tier;
use neo4rs::{query, BoltType};

/// The router's default batch size (`--batch-size`).
const BATCH: usize = 500;

const FLOOR_NODES: &str = "
UNWIND $rows AS row
CREATE (n:Object {id: row.id})
SET n += row.props
SET n:$(row.labels)";

const FLOOR_SIGHTINGS: &str = "
UNWIND $rows AS row
MATCH (r:Object {id: row.report})
MATCH (i:Object {id: row.indicator})
CREATE (r)-[e:SIGHTED]->(i)
SET e.seen_at = row.seen_at, e.source = row.source";

const FLOOR_EDGES: &str = "
UNWIND $rows AS row
MATCH (a:Object {id: row.source})
MATCH (b:Object {id: row.target})
CREATE (a)-[e:$(row.edge)]->(b)
SET e.id = row.id, e.type = row.type, e.created = row.created";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set (source scripts/env.sh)"))
}

async fn empty(neo4j: &neo4rs::Graph) {
    loop {
        let mut rows = neo4j
            .execute(query(
                "MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS n",
            ))
            .await
            .unwrap();
        let n: i64 = rows.next().await.unwrap().unwrap().get("n").unwrap();
        while rows.next().await.unwrap().is_some() {}
        if n == 0 {
            break;
        }
    }
}

async fn count(neo4j: &neo4rs::Graph) -> (i64, i64) {
    let mut rows = neo4j
        .execute(query(
            "CALL () { MATCH (n:Object) RETURN count(n) AS nodes } \
             CALL () { MATCH (:Object)-[e]->(:Object) RETURN count(e) AS edges } \
             RETURN nodes, edges",
        ))
        .await
        .unwrap();
    let row = rows.next().await.unwrap().unwrap();
    (row.get("nodes").unwrap(), row.get("edges").unwrap())
}

async fn run_batches(neo4j: &neo4rs::Graph, statement: &str, rows: &[BoltType]) {
    for chunk in rows.chunks(BATCH) {
        neo4j
            .run(query(statement).param("rows", chunk.to_vec()))
            .await
            .unwrap();
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (uri, user, password) = (env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD"));
    let neo4j = neo4rs::Graph::new(&uri, &user, &password).unwrap();
    if args[1] == "--empty" {
        empty(&neo4j).await;
        return;
    }
    let (path, runs) = (&args[1], args[2].parse::<usize>().unwrap());
    let raw = std::fs::read(path).unwrap();
    let mut text = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut text)
            .unwrap();
    } else {
        text = raw;
    }
    let doc: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let items = ctas_core::formats::parse_any(doc, chrono::Utc::now())
        .unwrap()
        .intel
        .into_items();
    let tier = Graph::new(&uri, &user, &password).unwrap();
    let all = Rows::of(&items);
    println!(
        "{} items: {} nodes, {} sightings, {} edges; batches of {BATCH}; {runs} runs, median (min-max)",
        items.len(),
        all.nodes.len(),
        all.sightings.len(),
        all.edges.len()
    );
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    let mut sizes = Vec::new();
    for _ in 0..runs {
        empty(&neo4j).await;
        let t = Instant::now();
        for chunk in items.chunks(BATCH) {
            tier.upsert(chunk).await.unwrap();
        }
        ours.push(t.elapsed().as_secs_f64());
        let written = count(&neo4j).await;

        empty(&neo4j).await;
        let t = Instant::now();
        run_batches(&neo4j, FLOOR_NODES, &all.nodes).await;
        run_batches(&neo4j, FLOOR_SIGHTINGS, &all.sightings).await;
        run_batches(&neo4j, FLOOR_EDGES, &all.edges).await;
        floor.push(t.elapsed().as_secs_f64());
        let created = count(&neo4j).await;
        assert_eq!(written, created, "both loads write the same graph");
        sizes.push(written);
    }
    let line = |name: &str, v: &[f64]| {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = v.iter().cloned().fold(0.0, f64::max);
        println!(
            "{name}: {:.2} s ({lo:.2}-{hi:.2}), {:.0} items/s",
            median(v.to_vec()),
            items.len() as f64 / median(v.to_vec())
        );
    };
    println!("graph: {} nodes, {} edges", sizes[0].0, sizes[0].1);
    line("graph tier (UNWIND … MERGE, as the router)", &ours);
    line("floor (UNWIND … CREATE, nodes then edges)", &floor);
    println!("ratio: {:.2}", median(ours) / median(floor));
}
