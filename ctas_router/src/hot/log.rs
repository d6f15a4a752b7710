//! The hot tier's log: every acknowledged request is one entry under one sled key.
//!
//! A single key is sled's unit of atomicity that needs no lock: sled's transactions and
//! `apply_batch` take its global concurrency-control write lock, and that lock is where
//! the router deadlocked under concurrent clients. So a request is stored whole or not
//! at all by being one value, and everything else (the index by id, each tier's
//! progress) is derived from the log and can be rebuilt from it.

use std::ops::Range;

use ctas_core::model::{Item, ThreatRecord};

use super::HotError;
use crate::tiers::TierName;

/// Format of an entry's value; bumped if the layout changes. Format 1 held flat records
/// only; format 2 holds items of the model (a flat record is one kind of item); format
/// 3 adds when the entry was made, so an outbox can say how far behind it is.
const FORMAT: u8 = 3;
const FORMAT_ITEMS: u8 = 2;
const FORMAT_RECORDS: u8 = 1;

/// Bytes before an entry's JSON: format, tier mask, record count, and (format 3) the
/// time it was made, in microseconds since the Unix epoch.
const HEADER_LEN: usize = 1 + 1 + 4 + 8;
const HEADER_LEN_UNTIMED: usize = 1 + 1 + 4;

/// The downstream tiers an entry is for (one bit per [`TierName::index`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierMask(u8);

impl TierMask {
    /// Every downstream tier.
    pub const ALL: TierMask = TierMask(0b111);

    /// No downstream tier: the hot tier alone.
    pub const NONE: TierMask = TierMask(0);

    /// These tiers and `tier`.
    pub fn with(self, tier: TierName) -> Self {
        TierMask(self.0 | 1 << tier.index())
    }

    /// Only `tier` (a replay of its dead letters).
    pub fn only(tier: TierName) -> Self {
        TierMask(1 << tier.index())
    }

    /// Whether the entry is for `tier`.
    pub fn contains(self, tier: TierName) -> bool {
        self.0 & (1 << tier.index()) != 0
    }

    /// The tiers in either.
    pub fn union(self, other: TierMask) -> Self {
        TierMask(self.0 | other.0)
    }

    /// The tiers in both.
    pub fn and(self, other: TierMask) -> Self {
        TierMask(self.0 & other.0)
    }

    /// The downstream tiers not in it.
    pub fn complement(self) -> Self {
        TierMask(!self.0 & Self::ALL.0)
    }

    /// As one byte, and back (kept in an atomic).
    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn from_bits(bits: u8) -> Self {
        TierMask(bits & Self::ALL.0)
    }
}

/// Where a record sits in the log: the entry's sequence number and its place in it.
/// A tier's cursor is the position of the next record it has not confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// The entry (sequence numbers start at 1 and are never reused).
    pub seq: u64,
    /// The record's index within the entry.
    pub index: u32,
}

impl Position {
    /// As a sled key (big-endian, so keys sort by position).
    pub fn to_key(self) -> [u8; 12] {
        let mut k = [0u8; 12];
        k[..8].copy_from_slice(&self.seq.to_be_bytes());
        k[8..].copy_from_slice(&self.index.to_be_bytes());
        k
    }

    /// From a key made by [`Position::to_key`].
    pub fn from_key(k: &[u8]) -> Option<Self> {
        Some(Position {
            seq: u64::from_be_bytes(k.get(..8)?.try_into().ok()?),
            index: u32::from_be_bytes(k.get(8..12)?.try_into().ok()?),
        })
    }
}

/// An entry's sled key.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// The sequence number of an entry's key.
pub fn key_seq(k: &[u8]) -> Result<u64, HotError> {
    k.try_into()
        .map(u64::from_be_bytes)
        .map_err(|_| HotError::Corrupt(format!("log key of {} bytes", k.len())))
}

/// What the header of an entry says, readable without parsing its items.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// The tiers it is for.
    pub tiers: TierMask,
    /// How many items it holds.
    pub count: u32,
    /// When it was made (None in entries of formats 1 and 2).
    pub made: Option<chrono::DateTime<chrono::Utc>>,
}

/// An entry as it is built: the header, then the items as one JSON array, each item
/// written straight into it and where it lies noted, so that the index stores the same
/// bytes and nothing is encoded twice or held as items and bytes at once.
pub struct EntryBuilder {
    buf: Vec<u8>,
    spans: Vec<Range<usize>>,
}

impl EntryBuilder {
    /// An entry with no items yet.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(HEADER_LEN + 2);
        buf.extend_from_slice(&[FORMAT; 1]);
        buf.resize(HEADER_LEN, 0);
        buf.push(b'[');
        EntryBuilder {
            buf,
            spans: Vec::new(),
        }
    }

    /// Add one item: `write` appends its JSON.
    pub fn push(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> serde_json::Result<()> {
        let mark = self.buf.len();
        if !self.spans.is_empty() {
            self.buf.push(b',');
        }
        let start = self.buf.len();
        if let Err(e) = write(&mut self.buf) {
            self.buf.truncate(mark);
            return Err(e);
        }
        self.spans.push(start..self.buf.len());
        Ok(())
    }

    /// How many bytes are written so far.
    pub fn len_bytes(&self) -> usize {
        self.buf.len()
    }

    /// The entry, for `tiers`, as sled's value: moved into sled's shared buffer here
    /// (off the writer thread), which the log keeps and the index's values are cut from.
    pub fn finish(self, tiers: TierMask) -> Entry {
        let made = chrono::Utc::now().timestamp_micros().to_be_bytes();
        self.finish_made(tiers, made)
    }

    /// The entry, made at `made` (the header's bytes).
    fn finish_made(mut self, tiers: TierMask, made: [u8; 8]) -> Entry {
        self.buf[1] = tiers.0;
        self.buf[2..6].copy_from_slice(&(self.spans.len() as u32).to_be_bytes());
        self.buf[6..HEADER_LEN].copy_from_slice(&made);
        self.buf.push(b']');
        Entry {
            tiers,
            value: sled::IVec::from(self.buf),
            spans: self.spans,
        }
    }
}

impl Default for EntryBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// An entry ready for the log.
pub struct Entry {
    /// The tiers it is for.
    pub tiers: TierMask,
    /// The entry as sled stores it.
    pub value: sled::IVec,
    spans: Vec<Range<usize>>,
}

impl Entry {
    /// How many items it holds.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The entry without the items at `drop` (positions, ascending), for the same tiers,
    /// made when it was.
    pub fn without(&self, drop: &[usize]) -> Entry {
        let mut entry = EntryBuilder::new();
        for (i, item) in self.items().enumerate() {
            if drop.binary_search(&i).is_err() {
                entry
                    .push(|buf| {
                        buf.extend_from_slice(&item);
                        Ok(())
                    })
                    .expect("copying bytes cannot fail");
            }
        }
        let mut made = [0; 8];
        made.copy_from_slice(&self.value[6..HEADER_LEN]);
        entry.finish_made(self.tiers, made)
    }

    /// Each item's JSON, in order: a view of the entry's buffer, not a copy, so the
    /// index and the log hold one buffer between them in sled's cache.
    pub fn items(&self) -> impl Iterator<Item = sled::IVec> + '_ {
        self.spans
            .iter()
            .map(|s| self.value.subslice(s.start, s.len()))
    }
}

/// How many bytes an entry of this format has before its JSON.
fn header_len(format: Option<&u8>) -> Option<usize> {
    match format {
        Some(&FORMAT) => Some(HEADER_LEN),
        Some(&FORMAT_ITEMS | &FORMAT_RECORDS) => Some(HEADER_LEN_UNTIMED),
        _ => None,
    }
}

/// The header of an entry.
pub fn header(value: &[u8]) -> Result<Header, HotError> {
    let corrupt = || {
        HotError::Corrupt(format!(
            "log entry of {} bytes with format {:?}",
            value.len(),
            value.first()
        ))
    };
    let len = header_len(value.first()).ok_or_else(corrupt)?;
    let head = value.get(..len).ok_or_else(corrupt)?;
    let made = head.get(6..14).and_then(|b| {
        let micros = i64::from_be_bytes(b.try_into().ok()?);
        chrono::DateTime::from_timestamp_micros(micros)
    });
    Ok(Header {
        tiers: TierMask(head[1]),
        count: u32::from_be_bytes([head[2], head[3], head[4], head[5]]),
        made,
    })
}

/// The items of an entry.
pub fn items(value: &[u8]) -> Result<Vec<Item>, HotError> {
    header(value)?;
    let body = &value[header_len(value.first()).unwrap_or(HEADER_LEN)..];
    let decoded = if value[0] == FORMAT_RECORDS {
        serde_json::from_slice::<Vec<ThreatRecord>>(body)
            .map(|records| records.into_iter().map(Item::Record).collect())
    } else {
        serde_json::from_slice(body)
    };
    decoded.map_err(|e| HotError::Corrupt(format!("log entry does not decode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_reads_back_as_written() {
        let now = "2026-11-30T00:00:00Z".parse().unwrap();
        let rs: Vec<ThreatRecord> = ["a.example", "b.example"]
            .iter()
            .map(|v| {
                serde_json::from_value::<ctas_core::model::RecordInput>(
                    serde_json::json!({"kind": "domain", "value": v}),
                )
                .unwrap()
                .into_record(now)
                .unwrap()
            })
            .collect();
        let written: Vec<Item> = rs.iter().cloned().map(Item::Record).collect();
        let mut entry = EntryBuilder::new();
        for r in &written {
            entry.push(|buf| serde_json::to_writer(buf, r)).unwrap();
        }
        let entry = entry.finish(TierMask::only(TierName::Cold));
        let value = entry.value.to_vec();
        for (bytes, r) in entry.items().zip(&written) {
            assert_eq!(&*bytes, serde_json::to_vec(r).unwrap(), "the index's bytes");
        }
        let h = header(&value).unwrap();
        assert_eq!(h.count, 2);
        let age = chrono::Utc::now() - h.made.unwrap();
        assert!(age >= chrono::TimeDelta::zero() && age < chrono::TimeDelta::seconds(5));
        assert!(h.tiers.contains(TierName::Cold) && !h.tiers.contains(TierName::Warm));
        assert_eq!(items(&value).unwrap(), written);
        // Entries of the earlier formats read as they did: items with no time, and
        // flat records as record items.
        let mut untimed = vec![FORMAT_ITEMS];
        untimed.extend_from_slice(&value[1..6]);
        untimed.extend_from_slice(&value[HEADER_LEN..]);
        assert_eq!(items(&untimed).unwrap(), written);
        assert_eq!(header(&untimed).unwrap().made, None);
        let mut old = vec![FORMAT_RECORDS, value[1]];
        old.extend_from_slice(&value[2..6]);
        old.extend_from_slice(&serde_json::to_vec(&rs).unwrap());
        assert_eq!(items(&old).unwrap(), written);
    }

    #[test]
    fn positions_sort_as_their_keys() {
        let a = Position { seq: 1, index: 300 };
        let b = Position { seq: 2, index: 0 };
        assert!(a < b && a.to_key() < b.to_key());
        assert_eq!(Position::from_key(&b.to_key()), Some(b));
    }
}
