//! The cold tier's load against PostgreSQL's floor (a benchmark, not a test): a bundle's
//! history written by the statements of `ctas_core::history` — what the router's cold
//! worker and `ctas_ingest_stix` run — then the very rows it stored, exported and
//! written again with a plain COPY into the same tables emptied (same indexes and
//! constraints), in the same run.
//!
//!   history_load DSN BUNDLE(.json or .json.gz) RUNS
//!
//! DSN names a database with the cold-tier schema applied and nothing in it.

use std::io::Read;
use std::time::Instant;

use futures_util::{SinkExt, TryStreamExt};
use tokio_postgres::NoTls;

const TABLES: [&str; 6] = [
    "sources",
    "entities",
    "reports",
    "indicators",
    "sightings",
    "relationships",
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (dsn, path, runs) = (&args[1], &args[2], args[3].parse::<usize>().unwrap());
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
    let parsed = ctas_core::formats::parse_any(doc, chrono::Utc::now()).unwrap();
    let steps = ctas_core::history::steps(&parsed.intel);
    let (mut client, conn) = tokio_postgres::connect(dsn, NoTls).await.unwrap();
    tokio::spawn(conn);
    let truncate = format!(
        "TRUNCATE {} CASCADE",
        TABLES.map(|t| format!("ctas.{t}")).join(", ")
    );
    let (mut history, mut copy) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        client.batch_execute(&truncate).await.unwrap();
        let t = Instant::now();
        let tx = client.transaction().await.unwrap();
        for step in &steps {
            tx.query_one(step.sql, &[&step.rows]).await.unwrap();
        }
        tx.commit().await.unwrap();
        history.push(t.elapsed().as_secs_f64());

        let mut dumps = Vec::new();
        for t in TABLES {
            let out = client
                .copy_out(&format!("COPY ctas.{t} TO STDOUT"))
                .await
                .unwrap();
            let chunks: Vec<bytes::Bytes> = out.try_collect().await.unwrap();
            dumps.push(chunks.concat());
        }
        client.batch_execute(&truncate).await.unwrap();
        let t = Instant::now();
        let tx = client.transaction().await.unwrap();
        for (table, rows) in TABLES.iter().zip(&dumps) {
            let sink = tx
                .copy_in(&format!("COPY ctas.{table} FROM STDIN"))
                .await
                .unwrap();
            futures_util::pin_mut!(sink);
            sink.send(bytes::Bytes::from(rows.clone())).await.unwrap();
            sink.finish().await.unwrap();
        }
        tx.commit().await.unwrap();
        copy.push(t.elapsed().as_secs_f64());
    }
    let counts = parsed.intel.counts();
    let ratios: Vec<String> = history
        .iter()
        .zip(&copy)
        .map(|(h, c)| format!("{:.2}", h / c))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "rows": counts,
            "history_s": median(history.clone()),
            "copy_s": median(copy.clone()),
            "history_runs": history,
            "copy_runs": copy,
            "ratio_per_run": ratios,
        })
    );
}
