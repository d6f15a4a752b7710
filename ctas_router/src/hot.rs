//! The hot tier (sled): the records themselves and a durable outbox per downstream tier.
//!
//! sled is the router's source of truth until every other tier has confirmed a
//! record; a record and its outbox entries are written in one transaction and
//! flushed before the client hears "accepted".

use ctas_core::model::ThreatRecord;
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};
use sled::{Db, Tree};
use thiserror::Error;

use crate::tiers::TierName;

/// What went wrong in the hot tier.
#[derive(Debug, Error)]
pub enum HotError {
    /// sled itself failed (I/O, corruption).
    #[error("hot tier (sled): {0}")]
    Sled(#[from] sled::Error),
    /// A stored record no longer decodes; it names the key.
    #[error("hot tier (sled): record {id} does not decode: {source}")]
    Decode {
        /// The record's id.
        id: String,
        /// Why.
        source: serde_json::Error,
    },
}

impl From<TransactionError<HotError>> for HotError {
    fn from(e: TransactionError<HotError>) -> Self {
        match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => HotError::Sled(e),
        }
    }
}

/// One outbox entry: a record id waiting to be written to one tier.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// Position in the outbox (sled's monotonic id, big-endian, so keys sort by age).
    pub key: [u8; 8],
    /// The record to write.
    pub record_id: String,
}

/// The hot tier.
#[derive(Clone)]
pub struct Hot {
    db: Db,
    records: Tree,
    outboxes: [Tree; TierName::DOWNSTREAM.len()],
}

impl Hot {
    /// Open (or create) the hot tier in `dir`.
    pub fn open(dir: &std::path::Path) -> Result<Self, HotError> {
        let db = sled::open(dir)?;
        let records = db.open_tree("records")?;
        let outboxes = [
            db.open_tree(TierName::DOWNSTREAM[0].outbox_tree())?,
            db.open_tree(TierName::DOWNSTREAM[1].outbox_tree())?,
            db.open_tree(TierName::DOWNSTREAM[2].outbox_tree())?,
        ];
        Ok(Hot {
            db,
            records,
            outboxes,
        })
    }

    /// Store records and queue each for every downstream tier, durably: when this
    /// returns Ok, the records survive a crash of the router or the machine.
    pub async fn ingest(&self, records: &[ThreatRecord]) -> Result<(), HotError> {
        let mut encoded = Vec::with_capacity(records.len());
        for r in records {
            let bytes = serde_json::to_vec(r).map_err(|source| HotError::Decode {
                id: r.id.clone(),
                source,
            })?;
            // Ids for outbox keys come from outside the transaction because sled's
            // generator is itself durable and a gap in the sequence is harmless.
            let keys = [
                self.db.generate_id()?,
                self.db.generate_id()?,
                self.db.generate_id()?,
            ];
            encoded.push((r.id.as_bytes().to_vec(), bytes, keys));
        }
        let [warm, cold, graph] = &self.outboxes;
        (&self.records, warm, cold, graph).transaction(|(records, warm, cold, graph)| {
            for (id, bytes, keys) in &encoded {
                records.insert(id.as_slice(), bytes.as_slice())?;
                for (tree, key) in [warm, cold, graph].into_iter().zip(keys) {
                    tree.insert(&key.to_be_bytes(), id.as_slice())?;
                }
            }
            Ok::<(), ConflictableTransactionError<HotError>>(())
        })?;
        self.db.flush_async().await?;
        Ok(())
    }

    /// The record with this id, if the hot tier holds it.
    pub fn get(&self, id: &str) -> Result<Option<ThreatRecord>, HotError> {
        self.records
            .get(id.as_bytes())?
            .map(|bytes| {
                serde_json::from_slice(&bytes).map_err(|source| HotError::Decode {
                    id: id.to_owned(),
                    source,
                })
            })
            .transpose()
    }

    /// How many records the hot tier holds.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether the hot tier holds no record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The oldest `limit` entries waiting for `tier`.
    pub fn pending(&self, tier: TierName, limit: usize) -> Result<Vec<OutboxEntry>, HotError> {
        self.outbox(tier)
            .iter()
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                let mut key = [0u8; 8];
                key.copy_from_slice(&k);
                Ok(OutboxEntry {
                    key,
                    record_id: String::from_utf8_lossy(&v).into_owned(),
                })
            })
            .collect()
    }

    /// How many entries wait for `tier`.
    pub fn pending_len(&self, tier: TierName) -> usize {
        self.outbox(tier).len()
    }

    /// Forget entries that `tier` has confirmed, durably.
    pub async fn ack(&self, tier: TierName, entries: &[OutboxEntry]) -> Result<(), HotError> {
        let mut batch = sled::Batch::default();
        for e in entries {
            batch.remove(&e.key);
        }
        self.outbox(tier).apply_batch(batch)?;
        self.db.flush_async().await?;
        Ok(())
    }

    /// Flush everything to disk (on shutdown).
    pub async fn flush(&self) -> Result<(), HotError> {
        self.db.flush_async().await?;
        Ok(())
    }

    fn outbox(&self, tier: TierName) -> &Tree {
        &self.outboxes[tier.index()]
    }
}
