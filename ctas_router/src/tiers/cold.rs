//! The cold tier: PostgreSQL, the history the extension queries (`ctas.reports`,
//! `indicators`, `sightings`, `relationships`, `entities`), written by the statements
//! of `ctas_core::history` — the ones `ctas_ingest_stix` runs — one transaction a batch.

use std::collections::HashMap;
use std::time::Duration;

use ctas_core::history;
use ctas_core::model::essence::Essence;
use ctas_core::model::{observation_id, Intel, Item, ThreatRecord};
use ctas_core::schema;
use tokio::sync::Mutex;
use tokio_postgres::{Client, Config, NoTls};

use super::{Area, Label, Located, Named, Recall, Tier, TierError, TierName};

/// The cold-tier schema, in order; each file is applied once and recorded.
pub use ctas_core::schema::MIGRATIONS;

/// How long the cold tier may take, so that nothing waits on PostgreSQL for ever.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    /// To open a connection.
    pub connect: Duration,
    /// For one statement (PostgreSQL's `statement_timeout`).
    pub statement: Duration,
    /// To wait for a lock (`lock_timeout`), e.g. behind a VACUUM FULL.
    pub lock: Duration,
}

impl Timeouts {
    /// For the worker that writes batches: patient, since it only delays itself.
    const WRITER: Timeouts = Timeouts {
        connect: Duration::from_secs(10),
        statement: Duration::from_secs(60),
        lock: Duration::from_secs(10),
    };

    /// For `/v1/status` and traces: a person is waiting.
    const READER: Timeouts = Timeouts {
        connect: Duration::from_secs(2),
        statement: Duration::from_secs(2),
        lock: Duration::from_secs(1),
    };
}

/// The cold tier. It connects on first use and again after a failure, so the router
/// starts and accepts records while PostgreSQL is down. Each `Cold` has one connection;
/// the router keeps one for its worker and another for status and traces, so neither
/// waits for the other.
pub struct Cold {
    config: Config,
    timeouts: Timeouts,
    /// Only the writer applies migrations: they may take longer than a reader waits.
    migrates: bool,
    client: Mutex<Option<Client>>,
}

fn err(e: impl std::fmt::Display) -> TierError {
    TierError::new(TierName::Cold, e)
}

/// Keep the full chain of a tokio-postgres error (its Display alone says only "db
/// error"), and tell a refusal of the data from a failure that a retry may cure.
fn pg_err(e: tokio_postgres::Error) -> TierError {
    let Some(db) = e.as_db_error() else {
        return err(e);
    };
    let code = db.code().code();
    let message = format!("{} (SQLSTATE {code})", db.message());
    // 21 cardinality, 22 data exception, 23 integrity constraint, 54 program limit:
    // the same rows fail the same way every time. Everything else (connection,
    // timeout, lock, privileges, a missing table) is an operator's or a moment's
    // problem, and retrying is right.
    if ["21", "22", "23", "54"].contains(&&code[..2]) {
        TierError::permanent(TierName::Cold, message)
    } else {
        err(message)
    }
}

impl Cold {
    /// The connection the tier's worker writes through (and migrates the schema on),
    /// for this connection string (libpq's `key=value` or a URL); nothing is contacted yet.
    pub fn writer(dsn: &str) -> Result<Self, TierError> {
        Self::new(dsn, Timeouts::WRITER, true)
    }

    /// A connection for reading the extension's warninglists and pattern sets: patient
    /// (half a million entries take a while), no migrations.
    pub fn knowledge_reader(dsn: &str) -> Result<Self, TierError> {
        Self::new(dsn, Timeouts::WRITER, false)
    }

    /// A connection for status and traces, with short timeouts.
    pub fn reader(dsn: &str) -> Result<Self, TierError> {
        Self::new(dsn, Timeouts::READER, false)
    }

    fn new(dsn: &str, timeouts: Timeouts, migrates: bool) -> Result<Self, TierError> {
        let mut config: Config = dsn
            .parse()
            .map_err(|e| err(format!("bad connection string: {e}")))?;
        config
            .connect_timeout(timeouts.connect)
            .application_name("ctas-router");
        Ok(Cold {
            config,
            timeouts,
            migrates,
            client: Mutex::new(None),
        })
    }

    /// Run `f` with a live client, connecting (and migrating) first when needed.
    /// A failed call drops the client, so the next one reconnects. The whole call is
    /// bounded too, for a server that stops answering without closing the connection.
    async fn with_client<T>(
        &self,
        f: impl AsyncFnOnce(&Client) -> Result<T, tokio_postgres::Error>,
    ) -> Result<T, TierError> {
        let limit = self.timeouts.connect + self.timeouts.statement * 2;
        let mut slot = self.client.lock().await;
        let call = async {
            if slot.as_ref().is_none_or(|c| c.is_closed()) {
                *slot = Some(self.connect().await?);
            }
            f(slot.as_ref().expect("connected above"))
                .await
                .map_err(pg_err)
        };
        let result = match tokio::time::timeout(limit, call).await {
            Ok(r) => r,
            Err(_) => Err(err(format!("no answer within {limit:?}"))),
        };
        if result.is_err() {
            *slot = None;
        }
        result
    }

    async fn connect(&self) -> Result<Client, TierError> {
        let (mut client, connection) = self.config.connect(NoTls).await.map_err(pg_err)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "cold tier connection closed");
            }
        });
        client
            .batch_execute(&format!(
                "SET statement_timeout = {}; SET lock_timeout = {}",
                self.timeouts.statement.as_millis(),
                self.timeouts.lock.as_millis()
            ))
            .await
            .map_err(pg_err)?;
        if self.migrates {
            migrate(&mut client).await.map_err(pg_err)?;
        }
        Ok(client)
    }
}

/// Apply the migrations not yet recorded, each in its own transaction, under an
/// advisory lock so that two routers starting together do not race.
async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    if up_to_date(client).await? {
        return Ok(());
    }
    migrate_sql(client).await?;
    retire_threat_records(client).await
}

/// Whether every migration is recorded already. The router then touches no DDL at all
/// (the preamble's `CREATE SCHEMA IF NOT EXISTS` needs the right to create in the
/// database even when the schema exists), so it can run as a role that only reads and
/// writes the history, once a DBA has applied the schema (docs/security.md).
async fn up_to_date(client: &Client) -> Result<bool, tokio_postgres::Error> {
    let exists: bool = client
        .query_one(
            "SELECT pg_catalog.to_regclass('ctas.schema_migrations') IS NOT NULL",
            &[],
        )
        .await?
        .get(0);
    if !exists {
        return Ok(false);
    }
    let versions: Vec<&str> = MIGRATIONS.iter().map(|(v, _)| *v).collect();
    let recorded: i64 = client
        .query_one(
            "SELECT count(*) FROM ctas.schema_migrations WHERE version = ANY($1)",
            &[&versions],
        )
        .await?
        .get(0);
    let flat_table_left: bool = client
        .query_one(schema::THREAT_RECORDS_LEFT, &[])
        .await?
        .get(0);
    Ok(recorded as usize == versions.len() && !flat_table_left)
}

async fn migrate_sql(client: &mut Client) -> Result<(), tokio_postgres::Error> {
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

/// Move `ctas.threat_records` into the history and drop it (`schema::RETIRE_THREAT_RECORDS`).
async fn retire_threat_records(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.batch_execute(schema::PREAMBLE).await?;
    let left: bool = tx.query_one(schema::THREAT_RECORDS_LEFT, &[]).await?.get(0);
    if !left {
        return tx.commit().await;
    }
    let mut after = String::new();
    let mut moved = 0usize;
    loop {
        let rows: serde_json::Value = tx
            .query_one(schema::READ_THREAT_RECORDS, &[&after])
            .await?
            .get(0);
        // A row that is no record CTAS wrote stays behind with the table, not in the history.
        let records: Vec<ThreatRecord> = serde_json::from_value(rows).unwrap_or_default();
        let Some(last) = records.last() else { break };
        after = last.id.clone();
        moved += records.len();
        let intel = Intel::from_items(records.into_iter().map(Item::Record));
        write(&tx, &intel).await?;
    }
    tx.batch_execute(schema::DROP_THREAT_RECORDS).await?;
    tx.execute(
        "INSERT INTO ctas.schema_migrations (version) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&schema::RETIRE_THREAT_RECORDS],
    )
    .await?;
    tracing::info!(
        moved,
        "cold tier: ctas.threat_records moved into the history and dropped"
    );
    tx.commit().await
}

/// Run the history's statements for `intel` on `c` (in the caller's transaction).
async fn write(
    c: &impl tokio_postgres::GenericClient,
    intel: &Intel,
) -> Result<(), tokio_postgres::Error> {
    for step in history::steps(intel) {
        c.query_one(step.sql, &[&step.rows]).await?;
    }
    Ok(())
}

/// A warninglist as `ctas_warninglists` holds it.
pub struct WarninglistRow {
    pub name: String,
    pub list_type: String,
    pub description: String,
    pub version: i64,
    pub matching_attributes: Vec<String>,
    pub entries: Vec<String>,
}

/// A pattern as `ctas_patterns` holds it.
pub struct PatternRow {
    pub id: String,
    pub regex: String,
    pub severity: String,
    pub tags: Vec<String>,
    pub attack_id: Option<String>,
}

/// The extension's warninglists and pattern sets (each set's patterns in `pattern_id`
/// order, as the extension compiles them), and the cache epochs they are of.
pub struct KnowledgeRows {
    pub epochs: (i64, i64),
    pub warninglists: Vec<WarninglistRow>,
    pub pattern_sets: Vec<(String, Vec<PatternRow>)>,
}

impl Cold {
    /// The extension's warninglists and pattern sets, unless their cache epochs are
    /// still `seen`; none at all (epochs -1) when the extension is not installed here.
    pub async fn knowledge(
        &self,
        seen: Option<(i64, i64)>,
    ) -> Result<Option<KnowledgeRows>, TierError> {
        self.with_client(async |c| {
            let installed: bool = c
                .query_one("SELECT to_regclass('ctas_cache_epochs') IS NOT NULL", &[])
                .await?
                .get(0);
            if !installed {
                let none = KnowledgeRows {
                    epochs: (-1, -1),
                    warninglists: Vec::new(),
                    pattern_sets: Vec::new(),
                };
                return Ok((seen != Some(none.epochs)).then_some(none));
            }
            let row = c
                .query_one(
                    "SELECT (SELECT epoch FROM ctas_cache_epochs WHERE name = 'warninglists'),
                            (SELECT epoch FROM ctas_cache_epochs WHERE name = 'patterns')",
                    &[],
                )
                .await?;
            let epochs = (
                row.get::<_, Option<i64>>(0).unwrap_or(0),
                row.get::<_, Option<i64>>(1).unwrap_or(0),
            );
            if seen == Some(epochs) {
                return Ok(None);
            }
            let warninglists = c
                .query(
                    "SELECT name, list_type, description, version, matching_attributes, entries
                     FROM ctas_warninglists ORDER BY name",
                    &[],
                )
                .await?
                .iter()
                .map(|r| WarninglistRow {
                    name: r.get(0),
                    list_type: r.get(1),
                    description: r.get(2),
                    version: r.get(3),
                    matching_attributes: r.get(4),
                    entries: r.get(5),
                })
                .collect();
            let mut pattern_sets: Vec<(String, Vec<PatternRow>)> = c
                .query("SELECT name FROM ctas_pattern_sets ORDER BY name", &[])
                .await?
                .iter()
                .map(|r| (r.get(0), Vec::new()))
                .collect();
            for r in c
                .query(
                    "SELECT set_name, pattern_id, regex, severity, tags, attack_id
                     FROM ctas_patterns ORDER BY set_name, pattern_id",
                    &[],
                )
                .await?
            {
                let set: String = r.get(0);
                if let Some((_, patterns)) = pattern_sets.iter_mut().find(|(n, _)| *n == set) {
                    patterns.push(PatternRow {
                        id: r.get(1),
                        regex: r.get(2),
                        severity: r.get(3),
                        tags: r.get(4),
                        attack_id: r.get(5),
                    });
                }
            }
            Ok(Some(KnowledgeRows {
                epochs,
                warninglists,
                pattern_sets,
            }))
        })
        .await
    }
}

/// What `fetch` looks in, in order: the tables whose rows have an id of their own (a
/// flat record's report is `$2`, its observation id).
const FETCH: &str = "
SELECT doc FROM (
    SELECT 1 AS o, to_jsonb(t) AS doc FROM ctas.reports t WHERE id IN ($1, $2)
    UNION ALL SELECT 2, to_jsonb(t) FROM ctas.indicators t WHERE id = $1
    UNION ALL SELECT 3, to_jsonb(t) FROM ctas.entities t WHERE id = $1
    UNION ALL SELECT 4, to_jsonb(t) FROM ctas.relationships t WHERE id = $1) f
ORDER BY o LIMIT 1";

/// Rows of the history, every table.
const COUNT: &str = "
SELECT (SELECT count(*) FROM ctas.reports) + (SELECT count(*) FROM ctas.indicators)
     + (SELECT count(*) FROM ctas.sightings) + (SELECT count(*) FROM ctas.relationships)
     + (SELECT count(*) FROM ctas.entities)";

impl Cold {
    /// Bytes the cold tier's database takes on disk.
    pub async fn database_size(&self) -> Result<u64, TierError> {
        let n: i64 = self
            .with_client(async |c| {
                c.query_one("SELECT pg_database_size(current_database())", &[])
                    .await
                    .map(|r| r.get(0))
            })
            .await?;
        Ok(n.max(0) as u64)
    }
}

#[async_trait::async_trait]
impl Tier for Cold {
    fn name(&self) -> TierName {
        TierName::Cold
    }

    async fn upsert(&self, items: &[Item]) -> Result<(), TierError> {
        let intel = Intel::from_items(items.iter().cloned());
        self.with_client(async |c| {
            // A client is shared only by this worker, so a transaction on it is safe;
            // `build_transaction` needs `&mut`, hence the explicit BEGIN/COMMIT.
            c.batch_execute("BEGIN").await?;
            match write(c, &intel).await {
                Ok(()) => c.batch_execute("COMMIT").await,
                Err(e) => {
                    // The connection is dropped on error (with_client), which rolls back.
                    Err(e)
                }
            }
        })
        .await
    }

    async fn fetch(&self, id: &str) -> Result<Option<serde_json::Value>, TierError> {
        let row = self
            .with_client(async |c| c.query_opt(FETCH, &[&id, &observation_id(id)]).await)
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn count(&self) -> Result<u64, TierError> {
        let n: i64 = self
            .with_client(async |c| c.query_one(COUNT, &[]).await.map(|r| r.get(0)))
            .await?;
        Ok(n as u64)
    }

    async fn ping(&self) -> Result<(), TierError> {
        self.with_client(async |c| c.batch_execute("SELECT 1").await)
            .await
    }

    async fn essences(&self, items: &[Item]) -> Result<HashMap<String, Essence>, TierError> {
        let mut keys = EssenceKeys::default();
        for item in items {
            match item {
                Item::Source(s) => keys.sources.push(s.name.clone()),
                Item::Report(r) => keys.reports.push(r.id.clone()),
                Item::Indicator(i) => keys.indicators.push(i.id.clone()),
                Item::Sighting(s) => {
                    keys.sighted.0.push(s.report_id.clone());
                    keys.sighted.1.push(s.indicator_id.clone());
                }
                Item::Relationship(r) => {
                    keys.related.0.push(r.id.clone());
                    keys.related.1.push(r.source_ref.clone());
                    keys.related.2.push(r.relationship_type.clone());
                    keys.related.3.push(r.target_ref.clone());
                }
                Item::Entity(e) => keys.entities.push(e.id.clone()),
                // The history holds a flat record as its observation (a report, an
                // indicator, a sighting), which `verify` asks for instead.
                Item::Record(_) => {}
            }
        }
        let k = &keys;
        let rows = self
            .with_client(async |c| {
                c.query(
                    ESSENCES,
                    &[
                        &k.sources,
                        &k.reports,
                        &k.indicators,
                        &k.sighted.0,
                        &k.sighted.1,
                        &k.related.0,
                        &k.related.1,
                        &k.related.2,
                        &k.related.3,
                        &k.entities,
                    ],
                )
                .await
            })
            .await?;
        rows.iter()
            .map(|r| {
                let essence: serde_json::Value = r.get(1);
                match essence {
                    serde_json::Value::Object(m) => Ok((r.get(0), m)),
                    other => Err(err(format!("an essence came back as {other}"))),
                }
            })
            .collect()
    }
}

/// The keys [`Tier::essences`] asks the history for, a list per table.
#[derive(Default)]
struct EssenceKeys {
    sources: Vec<String>,
    reports: Vec<String>,
    indicators: Vec<String>,
    /// Report and indicator of each sighting.
    sighted: (Vec<String>, Vec<String>),
    /// Id, source, type and target of each relationship.
    related: (Vec<String>, Vec<String>, Vec<String>, Vec<String>),
    entities: Vec<String>,
}

/// What the history holds of some items, each as its key and essence, in one round
/// trip. A relationship is found by what it ties: the history keeps each (source, type,
/// target) once, under the id it came with first.
const ESSENCES: &str = "
SELECT 'source:' || name, '{}'::jsonb FROM ctas.sources WHERE name = ANY($1)
UNION ALL
SELECT id, jsonb_build_object('title', title, 'source', source,
                              'observed_at', floor(extract(epoch FROM observed_at) * 1000)::bigint)
FROM ctas.reports WHERE id = ANY($2)
UNION ALL
SELECT id, jsonb_build_object('kind', kind, 'value', value) FROM ctas.indicators WHERE id = ANY($3)
UNION ALL
SELECT 'sighting:' || s.report_id || ' ' || s.indicator_id, jsonb_build_object('source', s.source)
FROM unnest($4::text[], $5::text[]) AS k(report_id, indicator_id)
JOIN ctas.sightings s ON s.report_id = k.report_id AND s.indicator_id = k.indicator_id
UNION ALL
SELECT k.id, jsonb_build_object('source_ref', r.source_ref, 'relationship_type',
                                r.relationship_type, 'target_ref', r.target_ref)
FROM unnest($6::text[], $7::text[], $8::text[], $9::text[]) AS k(id, source_ref, type, target_ref)
JOIN ctas.relationships r ON r.source_ref = k.source_ref AND r.relationship_type = k.type
                         AND r.target_ref = k.target_ref
UNION ALL
SELECT id, jsonb_build_object('type', type, 'name', name) FROM ctas.entities WHERE id = ANY($10)";

/// What the history holds of some indicators ([`Recall::about`]), in one round trip: the
/// indicators, the sightings of them, the relationships at either end, and the sources
/// the sightings name, as the items' objects.
const ABOUT: &str = "
WITH seen AS (
    SELECT report_id, indicator_id, source, seen_at, raw, start_pos, end_pos
    FROM ctas.sightings WHERE indicator_id = ANY($1))
SELECT jsonb_build_object(
    'indicator', (SELECT coalesce(jsonb_agg(to_jsonb(i)), '[]')
                  FROM (SELECT id, kind, value, stix_id, first_seen, last_seen
                        FROM ctas.indicators WHERE id = ANY($1)) i),
    'sighting', (SELECT coalesce(jsonb_agg(to_jsonb(s)), '[]') FROM seen s),
    'relationship', (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]')
                     FROM (SELECT id, source_ref, relationship_type, target_ref, created
                           FROM ctas.relationships
                           WHERE source_ref = ANY($1) OR target_ref = ANY($1)) r),
    'source', (SELECT coalesce(jsonb_agg(to_jsonb(o)), '[]')
               FROM (SELECT name, reliability, credibility FROM ctas.sources
                     WHERE name IN (SELECT source FROM seen)) o))";

/// What some objects are and are called ([`Recall::labels`]).
const LABELS: &str = "
SELECT id, type AS object_type, name FROM ctas.entities WHERE id = ANY($1)
UNION ALL SELECT id, 'report', title FROM ctas.reports WHERE id = ANY($1)
UNION ALL SELECT id, kind, value FROM ctas.indicators WHERE id = ANY($1)";

/// A database whose history is not made yet (the writer makes it on its first
/// connection, which a lookup can come before) holds nothing: not an error.
fn no_history_yet<T: Default>(
    answer: Result<T, tokio_postgres::Error>,
) -> Result<T, tokio_postgres::Error> {
    match answer {
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
            Ok(T::default())
        }
        other => other,
    }
}

impl Recall for Cold {
    async fn about(&self, ids: &[String]) -> Result<Vec<Item>, TierError> {
        let found: serde_json::Value = self
            .with_client(async |c| {
                no_history_yet(c.query_one(ABOUT, &[&ids]).await.map(|r| r.get(0)))
            })
            .await?;
        // Each array holds objects of the item type it is named for.
        let mut items = Vec::new();
        for tb in ["indicator", "sighting", "relationship", "source"] {
            for object in found[tb].as_array().into_iter().flatten() {
                let item = serde_json::json!({"type": tb, "object": object});
                items.push(serde_json::from_value(item).map_err(err)?);
            }
        }
        Ok(items)
    }

    async fn labels(&self, ids: &[String]) -> Result<Vec<Label>, TierError> {
        let rows = self
            .with_client(async |c| no_history_yet(c.query(LABELS, &[&ids]).await))
            .await?;
        Ok(rows
            .iter()
            .map(|r| Label {
                id: r.get(0),
                object_type: r.get(1),
                name: r.get(2),
            })
            .collect())
    }
}

/// How an indicator has been sighted of late ([`Cold::behaviour`]): the anomalous hours
/// and the behaviour events of the last window, judged by the extension over the
/// indicator's sightings in the history before.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Behaviour {
    /// The window's start: what is listed is at or after it.
    pub since: chrono::DateTime<chrono::Utc>,
    /// The hours of the window `ctas_anomalies` flags (online, its defaults), oldest first.
    pub anomalies: Vec<Point>,
    /// What `ctas_events` finds in the window: `first_seen`, `burst`, `reactivated`.
    pub events: Vec<BehaviourEvent>,
}

/// An anomalous point of a series of sightings: its time and count, what was expected
/// and the band it left, and how anomalous it is (`ctas_anomalies`' row).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Point {
    pub ts: chrono::DateTime<chrono::Utc>,
    pub value: f64,
    pub expected: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub anomaly_score: f64,
}

/// A behaviour event of an indicator's sightings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BehaviourEvent {
    pub ts: chrono::DateTime<chrono::Utc>,
    pub event: String,
    pub detail: f64,
}

/// An indicator's sightings counted per hour over `$3` seconds before `$2`, the series
/// judged by `ctas_anomalies` and `ctas_events` with their defaults (as
/// `ctas_sighting_anomalies` judges every indicator's), and what falls in the last `$4`
/// seconds.
const BEHAVIOUR: &str = "
WITH counted AS (
    SELECT date_bin('1 hour', seen_at, timestamptz '2000-01-01 00:00:00+00') AS bucket,
           count(*)::float8 AS n
    FROM ctas.sightings
    WHERE indicator_id = $1::text AND seen_at >= $2::timestamptz - make_interval(secs => $3::float8)
      AND seen_at < $2::timestamptz
    GROUP BY 1
), series AS (
    SELECT array_agg(bucket ORDER BY bucket) AS t, array_agg(n ORDER BY bucket) AS v
    FROM counted HAVING count(*) > 0
)
SELECT jsonb_build_object(
    'since', $2::timestamptz - make_interval(secs => $4::float8),
    'anomalies', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                         'ts', a.ts, 'value', a.value, 'expected', a.expected, 'lower', a.lower,
                         'upper', a.upper, 'anomaly_score', a.anomaly_score) ORDER BY a.ts), '[]')
                  FROM series, ctas_anomalies(series.t, series.v) a
                  WHERE a.is_anomaly AND a.ts >= $2::timestamptz - make_interval(secs => $4::float8)),
    'events', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                      'ts', e.ts, 'event', e.event, 'detail', e.detail) ORDER BY e.ts), '[]')
               FROM series, ctas_events(series.t, series.v) e
               WHERE e.ts >= $2::timestamptz - make_interval(secs => $4::float8)))";

impl Cold {
    /// How the indicator `id` was sighted in the `window` before `at`, judged over the
    /// `history` before `at`; None when the database has not the extension's behaviour
    /// functions.
    pub async fn behaviour(
        &self,
        id: &str,
        at: chrono::DateTime<chrono::Utc>,
        history: chrono::TimeDelta,
        window: chrono::TimeDelta,
    ) -> Result<Option<Behaviour>, TierError> {
        use tokio_postgres::error::SqlState;
        let secs = |d: chrono::TimeDelta| d.num_milliseconds() as f64 / 1000.0;
        let (history, window) = (secs(history), secs(window));
        let found: Option<serde_json::Value> = self
            .with_client(async |c| {
                match c.query_one(BEHAVIOUR, &[&id, &at, &history, &window]).await {
                    Err(e) if e.code() == Some(&SqlState::UNDEFINED_FUNCTION) => Ok(None),
                    other => no_history_yet(other.map(|r| Some(r.get(0)))),
                }
            })
            .await?;
        found
            .map(|v| serde_json::from_value(v).map_err(err))
            .transpose()
    }
}

/// What `GET /v1/anomalies` asks of `ctas_sighting_anomalies`.
#[derive(Debug, Clone)]
pub struct AnomalyQuery {
    /// `indicator`, `source`, `cell` or `technique`.
    pub by: String,
    pub since: chrono::DateTime<chrono::Utc>,
    pub step_seconds: i64,
    pub history_seconds: i64,
    pub method: String,
    pub mode: String,
    pub threshold: f64,
    /// Only what comes after (score, key, time) in the answer's order.
    pub after: Option<(f64, String, chrono::DateTime<chrono::Utc>)>,
    pub limit: i64,
}

/// An anomaly in how often something is sighted: a row of `ctas_sighting_anomalies`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Anomaly {
    pub key: String,
    #[serde(flatten)]
    pub point: Point,
}

/// The extension's judgement of the history, a page of it: most anomalous first, then
/// by key (byte order) and time, as the cursor counts.
const ANOMALIES: &str = "
SELECT a.\"key\", a.ts, a.value, a.expected, a.lower, a.upper, a.anomaly_score
FROM ctas_sighting_anomalies($1, $2, make_interval(secs => $3), make_interval(secs => $4),
                             $5, $6, $7) a
WHERE $8::float8 IS NULL OR a.anomaly_score < $8
   OR (a.anomaly_score = $8 AND (a.\"key\" COLLATE \"C\" > $9
       OR (a.\"key\" = $9 AND a.ts > $10)))
ORDER BY a.anomaly_score DESC, a.\"key\" COLLATE \"C\", a.ts
LIMIT $11";

impl Cold {
    /// The anomalies since a time in how often things are sighted, by the extension's
    /// `ctas_sighting_anomalies` (the history's own judgement: the same rows SQL gives);
    /// None when the cold database has no `ctas` extension to judge with.
    pub async fn anomalies(&self, q: &AnomalyQuery) -> Result<Option<Vec<Anomaly>>, TierError> {
        let (score, key, ts) = match &q.after {
            Some((s, k, t)) => (Some(*s), Some(k.clone()), Some(*t)),
            None => (None, None, None),
        };
        use tokio_postgres::error::SqlState;
        let (step, history) = (q.step_seconds as f64, q.history_seconds as f64);
        let rows = self
            .with_client(async |c| {
                let answer = c
                    .query(
                        ANOMALIES,
                        &[
                            &q.by,
                            &q.since,
                            &step,
                            &history,
                            &q.method,
                            &q.mode,
                            &q.threshold,
                            &score,
                            &key,
                            &ts,
                            &q.limit,
                        ],
                    )
                    .await;
                match answer {
                    Err(e) if e.code() == Some(&SqlState::UNDEFINED_FUNCTION) => Ok(None),
                    other => no_history_yet(other).map(Some),
                }
            })
            .await?;
        let Some(rows) = rows else {
            return Ok(None);
        };
        Ok(Some(
            rows.iter()
                .map(|r| Anomaly {
                    key: r.get(0),
                    point: Point {
                        ts: r.get(1),
                        value: r.get(2),
                        expected: r.get(3),
                        lower: r.get(4),
                        upper: r.get(5),
                        anomaly_score: r.get(6),
                    },
                })
                .collect(),
        ))
    }
}

/// A time as the model writes it (serde's form of chrono: RFC 3339, `Z`, fractions of
/// a second only when there are some), so that a report reads the same from any tier.
fn model_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// A report's time in milliseconds, the order and the cursors of `GET /v1/reports`
/// (ids compare byte by byte, `COLLATE "C"`, as in the warm tier and in Rust).
const MILLIS: &str = "floor(extract(epoch FROM r.observed_at) * 1000)::bigint";

impl Cold {
    /// The history's reports in `area`, newest first (by the millisecond, then id), each
    /// with the indicators it names: `GET /v1/reports` beyond the warm tier.
    pub async fn reports(&self, area: &Area) -> Result<Vec<Located>, TierError> {
        use tokio_postgres::types::ToSql;
        let mut conditions: Vec<String> = Vec::new();
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        let mut bind = |p: Box<dyn ToSql + Sync + Send>| {
            params.push(p);
            format!("${}", params.len())
        };
        if let Some([west, south, east, north]) = area.bbox {
            let (w, s, e, n) = (
                bind(Box::new(west)),
                bind(Box::new(south)),
                bind(Box::new(east)),
                bind(Box::new(north)),
            );
            conditions.push(format!("r.lat BETWEEN {s} AND {n}"));
            conditions.push(if west <= east {
                format!("r.lng BETWEEN {w} AND {e}")
            } else {
                format!("(r.lng >= {w} OR r.lng <= {e})")
            });
        }
        if let Some((lo, hi)) = area.cells {
            let (lo, hi) = (bind(Box::new(lo as i64)), bind(Box::new(hi as i64)));
            conditions.push(format!("r.h3_cell BETWEEN {lo} AND {hi}"));
        }
        if let Some(since) = area.since {
            let p = bind(Box::new(since as f64 / 1000.0));
            conditions.push(format!("r.observed_at >= to_timestamp({p})"));
        }
        if let Some(until) = area.until {
            let p = bind(Box::new(until as f64 / 1000.0));
            conditions.push(format!("r.observed_at < to_timestamp({p})"));
        }
        if let Some((t, id)) = &area.after {
            let (t, id) = (bind(Box::new(*t)), bind(Box::new(id.clone())));
            conditions.push(format!(
                "({MILLIS} < {t} OR ({MILLIS} = {t} AND r.id COLLATE \"C\" < {id}))"
            ));
        }
        let limit = bind(Box::new(area.limit as i64));
        let filter = if conditions.is_empty() {
            "true".to_owned()
        } else {
            conditions.join(" AND ")
        };
        let sql = format!(
            "SELECT r.id, r.title, r.source, r.observed_at, r.published_at, r.lat, r.lng, \
                    r.h3_cell, r.tags, {MILLIS} AS t \
               FROM ctas.reports r WHERE {filter} \
              ORDER BY {MILLIS} DESC, r.id COLLATE \"C\" DESC LIMIT {limit}"
        );
        let rows = self
            .with_client(async |c| {
                let refs: Vec<&(dyn ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect();
                c.query(&sql, &refs).await
            })
            .await?;
        let mut reports: Vec<Located> = rows
            .iter()
            .map(|r| Located {
                id: r.get(0),
                title: r.get(1),
                source: r.get(2),
                observed_at: model_time(r.get(3)),
                published_at: r
                    .get::<_, Option<chrono::DateTime<chrono::Utc>>>(4)
                    .map(model_time),
                lat: r.get(5),
                lng: r.get(6),
                h3_cell: r.get::<_, Option<i64>>(7).map(|c| c as u64),
                tags: r.get(8),
                t: r.get(9),
                indicators: Vec::new(),
            })
            .collect();
        let ids: Vec<String> = reports.iter().map(|r| r.id.clone()).collect();
        let named = self
            .with_client(async |c| {
                c.query(
                    "SELECT s.report_id, s.indicator_id, i.kind, i.value, s.seen_at \
                       FROM ctas.sightings s JOIN ctas.indicators i ON i.id = s.indicator_id \
                      WHERE s.report_id = ANY($1) ORDER BY s.indicator_id",
                    &[&ids],
                )
                .await
            })
            .await?;
        let at: std::collections::HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        for row in &named {
            if let Some(&i) = at.get(row.get::<_, &str>(0)) {
                reports[i].indicators.push(Named {
                    report_id: row.get(0),
                    indicator_id: row.get(1),
                    kind: row.get(2),
                    value: row.get(3),
                    seen_at: Some(model_time(row.get(4))),
                });
            }
        }
        Ok(reports)
    }
}
