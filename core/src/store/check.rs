//! Whole-store operations: integrity check, index rebuild, canonical export,
//! statistics and per-aggregate history.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;

use super::index::{dump, IndexContext, Indexed, INDEX_TABLES};
use super::{audit, load_document, AuditEntry, Store, StoreError};
use crate::doc::{ChangeSummary, Document};
use crate::model::*;

/// What `check` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// SQLite's `integrity_check` answer (`["ok"]` when sound).
    pub sqlite_integrity: Vec<String>,
    /// How many documents were decoded.
    pub documents: usize,
    /// Documents that cannot be decoded or do not have their kind's shape.
    pub damaged_documents: Vec<String>,
    /// Whether the index equals a rebuild from the documents.
    pub index_matches_rebuild: bool,
    /// The first audit row whose hash chain does not verify, if any.
    pub audit_chain_broken_at: Option<i64>,
    /// Audit anchoring: this device's chain lost or rewrote a head it
    /// signed, or a peer's did.
    pub audit_anchor_faults: Vec<String>,
}

impl CheckReport {
    /// Whether nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.sqlite_integrity == ["ok"]
            && self.damaged_documents.is_empty()
            && self.index_matches_rebuild
            && self.audit_chain_broken_at.is_none()
            && self.audit_anchor_faults.is_empty()
    }

    /// One line per fault, for people.
    pub fn faults(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.sqlite_integrity != ["ok"] {
            out.push(format!(
                "SQLite integrity check failed: {}",
                self.sqlite_integrity.join("; ")
            ));
        }
        for id in &self.damaged_documents {
            out.push(format!("document {id} cannot be decoded"));
        }
        if !self.index_matches_rebuild {
            out.push("the query index differs from a rebuild (run `reindex`)".into());
        }
        if let Some(seq) = self.audit_chain_broken_at {
            out.push(format!("the audit log's hash chain breaks at row {seq}"));
        }
        out.extend(self.audit_anchor_faults.iter().cloned());
        out
    }
}

/// Counts of what a store holds.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// The schema version.
    pub schema_version: u32,
    /// This device's id.
    pub device_id: String,
    /// Documents per kind.
    pub documents: BTreeMap<String, u64>,
    /// Incremental chunks not yet compacted.
    pub pending_chunks: u64,
    /// Rows in the audit log.
    pub audit_rows: u64,
    /// Rows per index table.
    pub index: BTreeMap<String, u64>,
    /// Residents and vulnerable residents (from the index).
    pub residents_tagged: u64,
}

/// A document's history: its automerge changes and this device's audit rows.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// The document's id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// Every change, oldest first (from every device that wrote it).
    pub changes: Vec<ChangeSummary>,
    /// This device's audit rows for it.
    pub audit: Vec<AuditEntry>,
}

fn reindex_document(
    conn: &rusqlite::Connection,
    ctx: &IndexContext<'_>,
    kind: DocKind,
    doc: &Document,
) -> Result<bool, ()> {
    struct Reindex<'a, 'c> {
        conn: &'a rusqlite::Connection,
        ctx: &'a IndexContext<'c>,
        doc: &'a Document,
    }
    impl super::kinds::PerKind for Reindex<'_, '_> {
        type Output = Result<bool, ()>;
        fn run<T: Indexed + crate::access::Guarded + Into<crate::access::Value>>(
            self,
        ) -> Self::Output {
            let value: T = self.doc.read().map_err(|_| ())?;
            value.write_index(self.conn, self.ctx).map_err(|_| ())?;
            Ok(true)
        }
    }
    super::kinds::per_kind(kind, Reindex { conn, ctx, doc })
}

impl Store {
    fn doc_list(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, kind, scope FROM docs ORDER BY kind, id")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Rebuilds the whole query index from the documents, in one transaction.
    /// Returns the ids of documents that could not be read (left out).
    pub fn reindex(&mut self) -> Result<Vec<String>, StoreError> {
        let docs = self.doc_list()?;
        let tx = self.conn.transaction()?;
        let ctx = IndexContext {
            policy: &self.policy,
        };
        let damaged = rebuild(&tx, &ctx, &self.device.actor, &docs)?;
        tx.commit()?;
        Ok(damaged)
    }

    /// Checks the store: SQLite's integrity check, every document decodes into
    /// its kind, the index equals a rebuild, the audit chain verifies.
    pub fn check(&mut self) -> Result<CheckReport, StoreError> {
        let mut report = CheckReport::default();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        report.sqlite_integrity = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<_, _>>()?;
        drop(stmt);
        let docs = self.doc_list()?;
        report.documents = docs.len();
        let before = dump(&self.conn)?;
        let tx = self.conn.transaction()?;
        let ctx = IndexContext {
            policy: &self.policy,
        };
        report.damaged_documents = rebuild(&tx, &ctx, &self.device.actor, &docs)?;
        let after = dump(&tx)?;
        // Never commit: check only looks.
        tx.rollback()?;
        report.index_matches_rebuild = before == after;
        report.audit_chain_broken_at = audit::verify_chain(&self.conn)?;
        report.audit_anchor_faults = self.devices().audit_anchor_faults()?;
        Ok(report)
    }

    /// Every document as canonical JSON, in a stable order (kind, then id),
    /// with nothing specific to this device: two replicas that hold the same
    /// documents export the same bytes.
    pub fn export_json(&self) -> Result<String, StoreError> {
        let mut docs = self.doc_list()?;
        let position = |k: &str| {
            DocKind::parse(k)
                .and_then(|d| DocKind::ALL.iter().position(|x| *x == d))
                .unwrap_or(usize::MAX)
        };
        docs.sort_by(|a, b| position(&a.1).cmp(&position(&b.1)).then(a.0.cmp(&b.0)));
        let mut out = Vec::with_capacity(docs.len());
        for (id, kind, scope) in docs {
            let doc =
                load_document(&self.conn, &self.device.actor, &id, None)?.ok_or_else(|| {
                    StoreError::NotFound {
                        kind: "document",
                        id: id.clone(),
                    }
                })?;
            out.push(serde_json::json!({
                "id": id,
                "kind": kind,
                "scope": scope,
                "content": doc.to_json(),
            }));
        }
        let export = serde_json::json!({
            "format": "anxin-export/1",
            "documents": out,
        });
        Ok(serde_json::to_string_pretty(&export).unwrap_or_default())
    }

    /// A digest of every row of the query index: two replicas holding the
    /// same documents have the same fingerprint.
    pub fn index_fingerprint(&self) -> Result<String, StoreError> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for line in dump(&self.conn)? {
            h.update(line.as_bytes());
            h.update(b"\n");
        }
        Ok(hex::encode(h.finalize()))
    }

    /// Counts per kind and per index table.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let mut documents = BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, count(*) FROM docs GROUP BY kind")?;
        for row in stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })? {
            let (k, n) = row?;
            documents.insert(k, n);
        }
        let count = |sql: &str| -> Result<u64, StoreError> {
            Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        let mut index = BTreeMap::new();
        for table in INDEX_TABLES {
            index.insert(
                table.to_string(),
                count(&format!("SELECT count(*) FROM {table}"))?,
            );
        }
        Ok(Stats {
            schema_version: self.schema_version()?,
            device_id: self.device.device_id.clone(),
            documents,
            pending_chunks: count("SELECT count(*) FROM doc_chunks")?,
            audit_rows: count("SELECT count(*) FROM audit")?,
            index,
            residents_tagged: count("SELECT count(DISTINCT resident_id) FROM idx_resident_tag")?,
        })
    }

    /// Who changed what and when in one aggregate.
    pub fn history(&self, id: &str) -> Result<History, StoreError> {
        let kind: String = self
            .conn
            .prepare_cached("SELECT kind FROM docs WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .map_err(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound {
                    kind: "document",
                    id: id.to_string(),
                },
                other => other.into(),
            })?;
        let mut doc =
            load_document(&self.conn, &self.device.actor, id, None)?.ok_or_else(|| {
                StoreError::NotFound {
                    kind: "document",
                    id: id.to_string(),
                }
            })?;
        Ok(History {
            id: id.to_string(),
            kind,
            changes: self.verified_history(doc.history())?,
            audit: audit::for_doc(&self.conn, id)?,
        })
    }
}

impl Store {
    /// Puts the verified author on every change: the device and worker the
    /// registry binds to its actor id.
    fn verified_history(
        &self,
        mut changes: Vec<ChangeSummary>,
    ) -> Result<Vec<ChangeSummary>, StoreError> {
        for c in &mut changes {
            match self.verified_author(&c.actor)? {
                Some((device, Some(worker))) => {
                    c.device = Some(device);
                    c.worker = Some(WorkerId::from(worker));
                    c.recorded_for = None;
                }
                Some((device, None)) => c.device = Some(device),
                None => c.recorded_for = None,
            }
        }
        Ok(changes)
    }
}

fn rebuild(
    conn: &rusqlite::Connection,
    ctx: &IndexContext<'_>,
    actor: &automerge::ActorId,
    docs: &[(String, String, String)],
) -> Result<Vec<String>, StoreError> {
    for table in INDEX_TABLES {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    let mut damaged = Vec::new();
    for (id, kind, _) in docs {
        let Some(kind) = DocKind::parse(kind) else {
            damaged.push(id.clone());
            continue;
        };
        match load_document(conn, actor, id, Some(kind)) {
            Ok(Some(doc)) => {
                if reindex_document(conn, ctx, kind, &doc).is_err() {
                    damaged.push(id.clone());
                }
            }
            Ok(None) => {}
            Err(StoreError::Corrupt { .. }) => damaged.push(id.clone()),
            Err(e) => return Err(e),
        }
    }
    Ok(damaged)
}
