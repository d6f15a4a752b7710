//! MITRE ATT&CK through the router into every tier, and the graph it makes in Neo4j:
//! typed nodes and edges that answer an analyst's questions. The Cypher examples of
//! `docs/graph.md` run here, on that graph, and print what the page says; the answers are
//! also checked against the bundle itself, read in this test without CTAS's code (which
//! groups `uses` which technique, by the STIX ids of the relationships MITRE published,
//! and the shortest chain of relationships between two objects, by breadth-first search).
//!
//! Its own test binary, run alone: it empties Neo4j first (the community server has one
//! database), so that the answers are ATT&CK's and not those of other tests' bundles.
//! Real PostgreSQL with the extension, Neo4j, SurrealDB and sled; a missing one fails.

mod common;

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use common::*;
use serde_json::Value;

fn neo4j() -> neo4rs::Graph {
    neo4rs::Graph::new(env("NEO4J_URI"), env("NEO4J_USER"), env("NEO4J_PASSWORD"))
        .expect("connect to Neo4j")
}

/// Rows of a Cypher query, each value rendered as the docs print it: text as it is,
/// numbers, lists and maps as JSON. The driver hands a row over as a map, so the
/// columns come in the order `columns` gives (sorted when it is empty), and a row with
/// other columns fails.
fn cypher_in(
    graph: &neo4rs::Graph,
    statement: &str,
    columns: &[&str],
) -> (Vec<String>, Vec<Vec<String>>) {
    rt().block_on(async {
        let mut rows = graph
            .execute(neo4rs::query(statement))
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        let mut columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
        let mut out = Vec::new();
        while let Some(row) = rows.next().await.unwrap() {
            let mut keys: Vec<String> = row.keys().iter().map(|k| k.value.clone()).collect();
            keys.sort();
            if columns.is_empty() {
                columns = keys.clone();
            }
            let mut wanted = columns.clone();
            wanted.sort();
            assert_eq!(keys, wanted, "the columns of {statement}");
            out.push(
                columns
                    .iter()
                    .map(|c| match row.get::<Value>(c).unwrap() {
                        Value::String(s) => s,
                        v => v.to_string(),
                    })
                    .collect(),
            );
        }
        (columns, out)
    })
}

fn cypher(graph: &neo4rs::Graph, statement: &str) -> (Vec<String>, Vec<Vec<String>>) {
    cypher_in(graph, statement, &[])
}

/// The page's examples: a ```cypher block followed by the ```text block of its rows
/// (the columns, then a row a line, values separated by ` | `).
fn examples(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find("```cypher\n") {
        let body = &rest[at + 10..];
        let end = body.find("```").expect("a cypher block ends");
        let statement = body[..end].trim().to_owned();
        let after = body[end + 3..].trim_start();
        let printed = after
            .strip_prefix("```text\n")
            .expect("a cypher example is followed by the text it prints");
        let stop = printed.find("```").expect("a text block ends");
        out.push((statement, printed[..stop].trim_end().to_owned()));
        rest = &printed[stop..];
    }
    out
}

fn mitre_ids(o: &Value) -> Vec<String> {
    o["external_references"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["source_name"] == "mitre-attack")
        .filter_map(|r| r["external_id"].as_str().map(str::to_owned))
        .collect()
}

/// Fewest relationships between two objects of the bundle, in either direction.
fn hops(rels: &[&Value], from: &str, to: &str) -> Option<usize> {
    let mut next: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in rels {
        let (a, b) = (
            r["source_ref"].as_str().unwrap(),
            r["target_ref"].as_str().unwrap(),
        );
        next.entry(a).or_default().push(b);
        next.entry(b).or_default().push(a);
    }
    let mut seen = HashSet::from([from]);
    let mut queue = VecDeque::from([(from, 0)]);
    while let Some((at, d)) = queue.pop_front() {
        if at == to {
            return Some(d);
        }
        for &n in next.get(at).into_iter().flatten() {
            if seen.insert(n) {
                queue.push_back((n, d + 1));
            }
        }
    }
    None
}

/// Objects within `depth` relationships of `from` (of `types` only, if given), in
/// either direction, by their fewest hops.
fn within_hops(
    rels: &[&Value],
    from: &str,
    depth: usize,
    types: Option<&[&str]>,
) -> HashMap<String, usize> {
    let mut next: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in rels {
        if types.is_some_and(|t| !t.contains(&r["relationship_type"].as_str().unwrap())) {
            continue;
        }
        let (a, b) = (
            r["source_ref"].as_str().unwrap(),
            r["target_ref"].as_str().unwrap(),
        );
        next.entry(a).or_default().push(b);
        next.entry(b).or_default().push(a);
    }
    let mut dist = HashMap::from([(from.to_owned(), 0)]);
    let mut queue = VecDeque::from([from]);
    while let Some(at) = queue.pop_front() {
        let d = dist[at];
        if d == depth {
            continue;
        }
        for &n in next.get(at).into_iter().flatten() {
            if !dist.contains_key(n) {
                dist.insert(n.to_owned(), d + 1);
                queue.push_back(n);
            }
        }
    }
    dist.remove(from);
    dist
}

/// Every neighbour the router gives, page by page; how many pages it took.
fn neighborhood(
    router: &Router,
    id: &str,
    depth: usize,
    types: &str,
    limit: usize,
) -> (usize, Vec<Value>) {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut q = format!("?depth={depth}&limit={limit}");
        if !types.is_empty() {
            q += &format!("&types={types}");
        }
        if let Some(c) = &cursor {
            q += &format!("&cursor={c}");
        }
        let (status, _, page) = http::call(
            "GET",
            &format!("{}/v1/graph/{id}/neighbors{q}", router.url),
            &[],
            None,
        );
        assert_eq!(status, 200, "{q}: {page}");
        assert_eq!(page["truncated"], false);
        pages += 1;
        all.extend(page["neighbors"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (pages, all),
        }
    }
}

#[test]
fn attack_through_the_router_is_a_connected_graph_that_answers_the_docs_questions() {
    let graph = neo4j();
    // In batches, each its own transaction (neo4rs runs every statement in one).
    while cypher(
        &graph,
        "MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS deleted",
    )
    .1 != [["0"]]
    {}
    let dir = fresh_dir("graph");
    let dsn = fresh_database("ctas_router_graph");
    let router = Router::start_with(&dir, free_port(), &dsn);
    let gz = std::fs::read(shared("attack/enterprise-attack-v18.1.json.gz")).unwrap();
    let (status, _, answer) = ingest(&router, gz.clone());
    assert_eq!(status, 202, "{answer}");
    let bundle: Value = {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
        serde_json::from_slice(&text).unwrap()
    };
    let objects = bundle["objects"].as_array().unwrap();
    let by_id: HashMap<&str, &Value> = objects
        .iter()
        .map(|o| (o["id"].as_str().unwrap(), o))
        .collect();
    let rels: Vec<&Value> = objects
        .iter()
        .filter(|o| o["type"] == "relationship")
        .collect();
    let entities = objects.len() - rels.len();
    assert_eq!(answer["accepted"]["entities"], entities);
    assert_eq!(answer["accepted"]["relationships"], rels.len());
    let status = router.wait_synced_within(Duration::from_secs(600));
    for tier in ["warm", "cold", "graph"] {
        assert_eq!(status["tiers"][tier]["dead_letters"], 0, "{status}");
    }

    let (in_cold, apt29) = rt().block_on(async {
        let c = pg_at(&dsn).await;
        let n: i64 = c
            .query_one("SELECT count(*) FROM ctas.entities", &[])
            .await
            .unwrap()
            .get(0);
        let name: String = c
            .query_one(
                "SELECT name FROM ctas.entities WHERE external_ids @> '{G0016}'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        (n, name)
    });
    assert_eq!(in_cold as usize, entities);
    assert_eq!(apt29, "APT29");

    // Every object a node with its type's label; every relationship an edge of its own
    // type between the two objects it names, none missing an end.
    let mut want_labels: HashMap<String, usize> = HashMap::new();
    for o in objects.iter().filter(|o| o["type"] != "relationship") {
        let t = o["type"].as_str().unwrap();
        *want_labels.entry(t.to_owned()).or_default() += 1;
    }
    let (_, labels) = cypher_in(
        &graph,
        "MATCH (n:Entity) RETURN n.type AS type, [l IN labels(n) WHERE NOT l IN ['Object', 'Entity']][0] AS label, count(*) AS n",
        &["type", "label", "n"],
    );
    assert_eq!(labels.len(), want_labels.len(), "{labels:?}");
    for row in &labels {
        assert_eq!(
            row[2].parse::<usize>().unwrap(),
            want_labels[&row[0]],
            "{row:?}"
        );
        let pascal: String = row[0]
            .split('-')
            .map(|w| w[..1].to_uppercase() + &w[1..])
            .collect();
        assert_eq!(row[1], pascal, "{row:?}");
    }
    let mut want_edges: HashMap<String, usize> = HashMap::new();
    for r in &rels {
        let t = r["relationship_type"]
            .as_str()
            .unwrap()
            .replace('-', "_")
            .to_uppercase();
        *want_edges.entry(t).or_default() += 1;
    }
    let (_, edges) = cypher_in(
        &graph,
        "MATCH (a:Entity)-[e]->(b:Entity) RETURN type(e) AS type, count(*) AS n",
        &["type", "n"],
    );
    let got_edges: HashMap<String, usize> = edges
        .iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    assert_eq!(got_edges, want_edges);
    let (_, ends) = cypher(
        &graph,
        "MATCH (n:Object) WHERE n.type IS NULL AND n.kind IS NULL AND n.title IS NULL RETURN count(n) AS placeholders",
    );
    assert_eq!(
        ends,
        vec![vec!["0".to_owned()]],
        "an edge with an end no object filled"
    );

    // The questions of docs/graph.md, answered from the bundle.
    let group = |name: &str| -> &Value {
        objects
            .iter()
            .find(|o| {
                o["type"] == "intrusion-set"
                    && (o["name"] == name
                        || o["aliases"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|x| x == name)))
            })
            .unwrap()
    };
    let apt29 = group("Cozy Bear");
    let techniques: BTreeSet<String> = rels
        .iter()
        .filter(|r| r["relationship_type"] == "uses" && r["source_ref"] == apt29["id"])
        .filter_map(|r| by_id.get(r["target_ref"].as_str().unwrap()))
        .filter(|t| t["type"] == "attack-pattern")
        .map(|t| mitre_ids(t)[0].clone())
        .collect();
    let powershell = objects
        .iter()
        .find(|o| o["type"] == "attack-pattern" && mitre_ids(o) == ["T1059.001"])
        .unwrap();
    let groups: BTreeSet<String> = rels
        .iter()
        .filter(|r| r["relationship_type"] == "uses" && r["target_ref"] == powershell["id"])
        .filter_map(|r| by_id.get(r["source_ref"].as_str().unwrap()))
        .filter(|g| g["type"] == "intrusion-set")
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    let apt28 = group("APT28");
    let hops_29_28 = hops(
        &rels,
        apt29["id"].as_str().unwrap(),
        apt28["id"].as_str().unwrap(),
    )
    .unwrap();

    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/graph.md"),
    )
    .unwrap();
    let examples = examples(&page);
    assert_eq!(examples.len(), 3, "the page's three questions");
    let mut answers = Vec::new();
    for (statement, printed) in &examples {
        let header: Vec<&str> = printed.lines().next().unwrap().split(" | ").collect();
        let (columns, rows) = cypher_in(&graph, statement, &header);
        let mut text = vec![columns.join(" | ")];
        text.extend(rows.iter().map(|r| r.join(" | ")));
        assert_eq!(text.join("\n"), *printed, "docs/graph.md: {statement}");
        answers.push(rows);
    }
    // Which techniques APT29 uses, asked by an alias: its count and the first five ids.
    let first_five: Vec<&String> = techniques.iter().take(5).collect();
    assert_eq!(answers[0][0][0], "APT29");
    assert_eq!(answers[0][0][1], techniques.len().to_string());
    assert_eq!(
        answers[0][0][2],
        serde_json::to_string(&first_five).unwrap()
    );
    // Which groups use T1059.001.
    let first_groups: Vec<&String> = groups.iter().take(5).collect();
    assert_eq!(answers[1][0][0], groups.len().to_string());
    assert_eq!(
        answers[1][0][1],
        serde_json::to_string(&first_groups).unwrap()
    );
    // What connects APT29 and APT28: the length of the shortest chains, how many there
    // are (one per edge pair: two hops here), and through what.
    assert_eq!(answers[2][0][0], hops_29_28.to_string());
    assert_eq!(hops_29_28, 2, "the paths below are counted for two hops");
    let touching = |id: &Value| -> HashMap<&str, usize> {
        let mut n = HashMap::new();
        for r in &rels {
            if r["source_ref"] == *id {
                *n.entry(r["target_ref"].as_str().unwrap()).or_default() += 1;
            } else if r["target_ref"] == *id {
                *n.entry(r["source_ref"].as_str().unwrap()).or_default() += 1;
            }
        }
        n
    };
    let (near_29, near_28) = (touching(&apt29["id"]), touching(&apt28["id"]));
    let paths: usize = near_29
        .iter()
        .filter_map(|(x, n)| near_28.get(x).map(|m| n * m))
        .sum();
    let via: BTreeSet<&str> = near_29
        .keys()
        .filter(|x| near_28.contains_key(*x))
        .map(|x| by_id[x]["name"].as_str().unwrap())
        .collect();
    assert_eq!(answers[2][0][1], paths.to_string());
    let first_via: Vec<&&str> = via.iter().take(3).collect();
    assert_eq!(answers[2][0][2], serde_json::to_string(&first_via).unwrap());

    // GET /v1/graph/{id}/neighbors: every object within the depth, at its distance, as
    // the bundle's relationships place it (breadth-first search over them, here).
    let apt29_id = apt29["id"].as_str().unwrap();
    for (depth, types, stix_types) in [
        (1, "", None),
        (2, "uses", Some(vec!["uses"])),
        (2, "USES,attributed-to", Some(vec!["uses", "attributed-to"])),
    ] {
        let want = within_hops(&rels, apt29_id, depth, stix_types.as_deref());
        let (pages, got) = neighborhood(&router, apt29_id, depth, types, 400);
        assert_eq!(got.len(), want.len(), "depth {depth} types {types:?}");
        eprintln!(
            "neighbors of APT29, depth {depth}, types {types:?}: {} in {pages} page(s)",
            got.len()
        );
        assert!(pages > 1 || want.len() <= 400);
        for n in &got {
            let id = n["id"].as_str().unwrap();
            assert_eq!(n["distance"], want[id], "{n}");
            // Reached from a node one step nearer, over a relationship the bundle has.
            let from = n["via"]["from"].as_str().unwrap();
            let d = if from == apt29_id { 0 } else { want[from] };
            assert_eq!(d + 1, want[id], "{n}");
            let (a, b) = if n["via"]["direction"] == "out" {
                (from, id)
            } else {
                (id, from)
            };
            assert!(
                rels.iter().any(|r| r["source_ref"] == a
                    && r["target_ref"] == b
                    && r["relationship_type"] == n["via"]["type"]),
                "no relationship {a} -> {b}: {n}"
            );
            assert_eq!(by_id[id]["type"], n["type"], "{n}");
        }
    }
    let url = |q: &str| format!("{}/v1/graph/{apt29_id}/neighbors{q}", router.url);
    for (q, status, kind) in [
        ("?depth=4", 422, "invalid-query"),
        ("?limit=0", 422, "invalid-query"),
        ("?cursor=nonsense", 422, "invalid-query"),
        ("?deep=2", 422, "invalid-query"),
    ] {
        let (s, _, body) = http::call("GET", &url(q), &[], None);
        assert_eq!(
            (s, body["type"].as_str().unwrap()),
            (status, &*format!("urn:ctas:problem:{kind}")),
            "{q}: {body}"
        );
    }
    let (s, _, body) = http::call(
        "GET",
        &format!(
            "{}/v1/graph/intrusion-set--00000000-0000-4000-8000-000000000000/neighbors",
            router.url
        ),
        &[],
        None,
    );
    assert_eq!(s, 404, "{body}");
    router.stop();

    // A graph written by a release before 0.6 — a relationship as a RELATED edge, an
    // entity with no label of its type — is typed by the next router to write.
    cypher(
        &graph,
        "CREATE (:Object:Entity {id: 'intrusion-set--00000000-0000-4000-8000-0000000000a1', type: 'intrusion-set', name: 'Old Group'})
                -[:RELATED {id: 'relationship--00000000-0000-4000-8000-0000000000a3', type: 'attributed-to'}]->
                (:Object:Entity {id: 'threat-actor--00000000-0000-4000-8000-0000000000a2', type: 'threat-actor'})",
    );
    let later = Router::start_with(&fresh_dir("graph-later"), free_port(), &dsn);
    let (status, _, answer) = ingest(
        &later,
        br#"{"type": "bundle", "id": "bundle--00000000-0000-4000-8000-0000000000a4", "objects": [
            {"type": "identity", "id": "identity--00000000-0000-4000-8000-0000000000a5", "name": "Later CERT"}]}"#
            .to_vec(),
    );
    assert_eq!(status, 202, "{answer}");
    later.wait_synced();
    let (_, typed) = cypher_in(
        &graph,
        "MATCH (a {id: 'intrusion-set--00000000-0000-4000-8000-0000000000a1'})-[e]->(b)
         RETURN type(e) AS edge, e.id AS id, labels(a) AS a, labels(b) AS b",
        &["edge", "id", "a", "b"],
    );
    assert_eq!(
        typed,
        [[
            "ATTRIBUTED_TO",
            "relationship--00000000-0000-4000-8000-0000000000a3",
            r#"["Object","Entity","IntrusionSet"]"#,
            r#"["Object","Entity","ThreatActor"]"#,
        ]]
    );
    assert_eq!(
        cypher(&graph, "MATCH ()-[e:RELATED]->() RETURN count(e) AS n").1,
        [["0"]]
    );
    later.stop();

    // SurrealDB, read once the router is gone: every entity.
    let warm: usize = rt().block_on(async {
        let db =
            surrealdb::engine::any::connect(format!("surrealkv://{}", dir.join("warm").display()))
                .await
                .expect("open the warm tier");
        db.use_ns("ctas").use_db("ctas").await.unwrap();
        let mut res = db
            .query("SELECT count() AS n FROM entity GROUP ALL")
            .await
            .unwrap();
        let rows: Vec<Value> = res.take(0).unwrap();
        rows[0]["n"].as_u64().unwrap() as usize
    });
    assert_eq!(warm, entities);
}
