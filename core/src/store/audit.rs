//! The audit log: one row per acknowledged write, hash-chained so that a row
//! removed or altered afterwards is detected by `check`. Rows name the action
//! code, the acting worker and the document, never a value.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::StoreError;
use crate::model::Millis;

const GENESIS: &str = "genesis";

pub(super) struct NewEntry<'a> {
    pub at: Millis,
    pub device_id: &'a str,
    pub worker_id: Option<&'a str>,
    pub doc_id: &'a str,
    pub kind: &'a str,
    pub action: &'a str,
    pub heads: &'a str,
}

/// One audit row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the log.
    pub seq: i64,
    /// When the write was made (ms).
    pub at: Millis,
    /// The device that made it.
    pub device_id: String,
    /// The acting worker, if any.
    pub worker_id: Option<String>,
    /// The document written.
    pub doc_id: String,
    /// Its kind.
    pub kind: String,
    /// The action code.
    pub action: String,
    /// The document's heads after the write.
    pub heads: String,
}

fn digest(prev: &str, e: &NewEntry<'_>) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &e.at.to_string(),
        e.device_id,
        e.worker_id.unwrap_or(""),
        e.doc_id,
        e.kind,
        e.action,
        e.heads,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

pub(super) fn append(conn: &Connection, e: &NewEntry<'_>) -> Result<(), StoreError> {
    let prev: String = conn
        .prepare_cached("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or_else(|| GENESIS.to_string());
    let hash = digest(&prev, e);
    conn.prepare_cached(
        "INSERT INTO audit (at, device_id, worker_id, doc_id, kind, action, heads, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![e.at, e.device_id, e.worker_id, e.doc_id, e.kind, e.action, e.heads, prev, hash])?;
    Ok(())
}

/// The audit rows of one document, oldest first.
pub(super) fn for_doc(conn: &Connection, doc_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, device_id, worker_id, doc_id, kind, action, heads \
         FROM audit WHERE doc_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([doc_id], |r| {
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                device_id: r.get(2)?,
                worker_id: r.get(3)?,
                doc_id: r.get(4)?,
                kind: r.get(5)?,
                action: r.get(6)?,
                heads: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Walks the chain; returns the seq of the first row that does not verify.
pub(super) fn verify_chain(conn: &Connection) -> Result<Option<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, at, device_id, worker_id, doc_id, kind, action, heads, prev_hash, hash \
         FROM audit ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_string();
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let (device, worker, doc, kind, action, heads): (
            String,
            Option<String>,
            String,
            String,
            String,
            String,
        ) = (
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        );
        let entry = NewEntry {
            at: r.get(1)?,
            device_id: &device,
            worker_id: worker.as_deref(),
            doc_id: &doc,
            kind: &kind,
            action: &action,
            heads: &heads,
        };
        let stored_prev: String = r.get(8)?;
        let stored_hash: String = r.get(9)?;
        if stored_prev != prev || digest(&prev, &entry) != stored_hash {
            return Ok(Some(seq));
        }
        prev = stored_hash;
    }
    Ok(None)
}

/// The head of a device's audit chain, signed by the device: how long its
/// chain was, and the hash of its last row, when it said so.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditHead {
    /// The last row's sequence number (0: no rows).
    pub seq: i64,
    /// The last row's hash (empty: no rows).
    pub hash: String,
    /// The device's Ed25519 signature over the device id, `seq` and `hash`.
    pub signature: Vec<u8>,
}

/// The bytes an audit head's signature covers.
pub fn head_message(device: &str, seq: i64, hash: &str) -> Vec<u8> {
    let mut m = b"anxin/audit-head/1".to_vec();
    m.extend_from_slice(device.as_bytes());
    m.push(0);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m
}

/// The last row's (seq, hash), or (0, "") for an empty log.
pub(super) fn last(conn: &Connection) -> Result<(i64, String), StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((0, String::new())))
}

/// The hash of row `seq`, if the log has it.
pub(super) fn hash_at(conn: &Connection, seq: i64) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT hash FROM audit WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()?)
}
