//! What sync needs from the store: the device's scopes, per-scope digests
//! and inventories, a document's bytes, and applying what a peer sent — a
//! whole document or an automerge sync message — under the same transaction
//! rules as any write (change, index and audit together), with anything
//! that cannot be applied quarantined with its reason.

use automerge::sync::{Message, State, SyncDoc};
use automerge::ChangeHash;
use rusqlite::{params, OptionalExtension};
use sha2::{Digest, Sha256};

use super::index::{IndexContext, Indexed};
use super::{audit, load_document, Store, StoreError};
use crate::doc::{heads_text, Document};
use crate::model::*;
use crate::trust::Attestation;

/// Why a document from a peer was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The bytes are not an automerge document or message.
    Undecodable,
    /// The document does not have the shape of its kind, or its content
    /// breaks a rule.
    Invalid(String),
    /// The document's scope is not one this device holds, or differs from
    /// what the peer claimed.
    OutOfScope,
    /// A document of another kind already has this id.
    KindMismatch,
    /// A change is not covered by a valid attestation from an enrolled,
    /// unrevoked device whose credential names its author.
    Unattested(String),
    /// The access rules refuse a change's effect (the action and the rule).
    Forbidden(String),
    /// Changes whose author attested a later change that has not arrived
    /// yet (automerge delivered part of a history): they wait, unstored,
    /// for the rest within the session.
    AwaitingAttestation,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Undecodable => write!(f, "cannot be decoded"),
            Refusal::Invalid(why) => write!(f, "invalid content: {why}"),
            Refusal::OutOfScope => write!(f, "outside the scopes this device holds"),
            Refusal::KindMismatch => write!(f, "another kind of document has this id"),
            Refusal::Unattested(why) => write!(f, "unverified author: {why}"),
            Refusal::Forbidden(why) => write!(f, "refused by the access rules: {why}"),
            Refusal::AwaitingAttestation => {
                write!(f, "unverified author: the attested change never arrived")
            }
        }
    }
}

/// Most entries the quarantine keeps.
pub const QUARANTINE_MAX_ROWS: i64 = 1_000;
/// Most bytes the quarantine keeps.
pub const QUARANTINE_MAX_BYTES: i64 = 16 * 1024 * 1024;

/// One quarantined arrival.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QuarantineRow {
    /// Its number (for `purge`).
    pub seq: i64,
    /// When it arrived.
    pub at: Millis,
    /// The peer it came from.
    pub peer: String,
    /// The document it claimed to be.
    pub doc_id: String,
    /// The kind it claimed.
    pub kind: String,
    /// Why it was refused.
    pub reason: String,
    /// How many bytes are kept.
    pub bytes: i64,
}

/// What applying a peer's document or message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// New changes were stored.
    Changed,
    /// Nothing new.
    Unchanged,
    /// Not applied: quarantined with the reason.
    Quarantined(Refusal),
    /// Not stored yet: the changes wait within the session for the rest
    /// of their author's attested history (see
    /// [`Refusal::AwaitingAttestation`]).
    Pending,
}

/// The changes a peer lacks (each as automerge encodes it) and the
/// attestations of their authors.
pub type ChangesToSend = (Vec<Vec<u8>>, Vec<Attestation>);

/// One step of automerge's sync protocol for one document.
#[derive(Debug, Default)]
pub struct SyncStep {
    /// The message to send, if any.
    pub reply: Option<Vec<u8>>,
    /// What applying the incoming message did, if there was one.
    pub applied: Option<Applied>,
    /// The attestations to send with the reply (when it carries changes).
    pub attest: Vec<Attestation>,
}

/// A verified document: its scope, and how to write its index rows.
type Verified = (
    String,
    Box<dyn Fn(&rusqlite::Connection, &IndexContext<'_>) -> rusqlite::Result<()>>,
);

/// Checks a merged document: it has its kind's shape, valid content, and the
/// scope its content implies is the claimed one and one this device holds.
fn verify(
    kind: DocKind,
    doc: &Document,
    claimed_scope: &str,
    allowed: &[String],
    now: Millis,
) -> Result<Verified, Refusal> {
    struct Typed<'d> {
        doc: &'d Document,
        now: Millis,
    }
    impl super::kinds::PerKind for Typed<'_> {
        type Output = Result<Verified, Refusal>;
        fn run<T: Indexed + crate::access::Guarded + Into<crate::access::Value>>(
            self,
        ) -> Self::Output {
            let value: T = self
                .doc
                .read()
                .map_err(|e| Refusal::Invalid(e.to_string()))?;
            value
                .validate(self.now)
                .map_err(|e| Refusal::Invalid(e.to_string()))?;
            let scope = value.scope().to_key();
            Ok((
                scope,
                Box::new(move |conn, ctx| value.write_index(conn, ctx)),
            ))
        }
    }
    let (scope, index) = super::kinds::per_kind(kind, Typed { doc, now })?;
    // The content decides the scope. It may differ from the scope the peer
    // filed it under when the household moved grids and the peer is handing
    // its copy on; what matters is that this device holds the scope.
    let _ = claimed_scope;
    if !allowed.contains(&scope) {
        return Err(Refusal::OutOfScope);
    }
    Ok((scope, index))
}

/// Heads as the index keeps them (see `doc::heads_text`); `None` if
/// malformed.
fn parse_heads(text: &str) -> Option<Vec<ChangeHash>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(|h| h.parse().ok()).collect()
}

/// A document written since a sync mark, with its heads as of the mark
/// (`None`: not held then). See [`Store::changed_since`].
pub(crate) type ChangedSince = (String, Option<Vec<ChangeHash>>);

/// The meta key prefix of a peer's sync mark ([`Store::sync_mark`]).
const SYNC_MARK: &str = "sync_mark:";

/// The meta key prefix of what a peer remembers of this device's scopes
/// ([`Store::resume_hash_with`]).
const RESUME_HASH: &str = "resume_hash:";

/// The meta key prefix of a peer's remembered Hello scopes
/// ([`Store::hello_scopes_of`]).
const HELLO_SCOPES: &str = "hello_scopes:";

/// A short digest of a document's heads, for inventories.
pub fn heads_digest(heads: &str) -> [u8; 8] {
    let d = Sha256::digest(heads.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// Stored scope spellings as scopes; one that does not parse means the
/// store was damaged (every writer checks them).
fn typed(keys: Vec<String>) -> Result<Vec<Scope>, StoreError> {
    keys.iter()
        .map(|k| {
            Scope::from_key(k).ok_or_else(|| StoreError::Corrupt {
                id: "meta.scopes".into(),
                source: crate::doc::DocError::Undecodable,
            })
        })
        .collect()
}

impl Store {
    /// [`Replica::scopes`] as the store and the wire spell them (`station`,
    /// `grid:<id>`, `case:<team>`): what documents' `scope` column holds.
    pub(crate) fn scope_keys(&self) -> Result<Vec<String>, StoreError> {
        if let Some(text) = self.meta("scopes")? {
            let scopes: Vec<String> =
                serde_json::from_str(&text).map_err(|_| StoreError::Corrupt {
                    id: "meta.scopes".into(),
                    source: crate::doc::DocError::Undecodable,
                })?;
            return Ok(scopes);
        }
        // Derived from the station document: asked for every document a
        // session receives, so derived again only when that document
        // changed (its stored heads), not loaded each time.
        let station_heads: Option<String> = match self.meta("station_id")? {
            Some(id) => self
                .conn
                .prepare_cached("SELECT heads FROM docs WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?,
            None => None,
        };
        if let Some(scopes) = self.default_scopes.get(&station_heads) {
            return Ok(scopes);
        }
        let mut scopes = vec![Scope::Station.to_key()];
        if let Ok(station) = self.station() {
            scopes.extend(station.grids.keys().map(|g| format!("grid:{g}")));
            scopes.push(Scope::CaseTeam(DEFAULT_CASE_TEAM.into()).to_key());
        }
        self.default_scopes.put(station_heads, scopes.clone());
        Ok(scopes)
    }

    /// [`Replica::held_scopes`] spelled as the store and the wire spell them.
    pub(crate) fn held_scope_keys(&self) -> Result<Vec<String>, StoreError> {
        let mine = self.scope_keys()?;
        let encrypted = self.replica().encrypted_at_rest();
        Ok(match self.devices().credential()? {
            Some((_, c)) => mine
                .into_iter()
                .filter(|s| c.grants(s) && (encrypted || !s.starts_with("case:")))
                .collect(),
            None => Vec::new(),
        })
    }

    /// [`Replica::set_scopes`] from the spelling a peer sent: each is checked.
    pub(crate) fn set_scope_keys(&mut self, scopes: &[String]) -> Result<(), StoreError> {
        for s in scopes {
            if Scope::from_key(s).is_none() {
                return Err(ValidationError::new("scopes", Violation::BadCharacters).into());
            }
        }
        let mut sorted = scopes.to_vec();
        sorted.sort();
        sorted.dedup();
        let text = serde_json::to_string(&sorted).unwrap_or_default();
        self.set_meta("scopes", &text)
    }
    /// A digest of the scope spelled `key`: documents and their heads, and how many there
    /// are: equal digests mean the two devices hold the same documents in
    /// the same state.
    pub(crate) fn scope_digest_of(&self, key: &str) -> Result<([u8; 32], u32), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, heads FROM docs WHERE scope = ?1 ORDER BY id")?;
        let mut rows = stmt.query([key])?;
        let mut h = Sha256::new();
        let mut n = 0u32;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let heads: String = r.get(1)?;
            h.update((id.len() as u32).to_le_bytes());
            h.update(id.as_bytes());
            h.update((heads.len() as u32).to_le_bytes());
            h.update(heads.as_bytes());
            n += 1;
        }
        Ok((h.finalize().into(), n))
    }

    /// Where this device's history stands: the position of its newest
    /// audit row. Every acknowledged write, local or received, appends one
    /// (with the document's heads after it), so the audit log doubles as
    /// the store's change sequence.
    pub(crate) fn change_seq(&self) -> Result<i64, StoreError> {
        Ok(audit::last(&self.conn)?.0)
    }

    /// The change sequence at the end of the last completed session with
    /// `peer` (see [`Store::changed_since`]); `None` when there was none,
    /// or when the mark lies beyond this store's history (a store restored
    /// from an older copy), which no longer describes what the peer holds.
    pub(crate) fn sync_mark(&self, peer: &str) -> Result<Option<i64>, StoreError> {
        let Some(text) = self.meta(&format!("{SYNC_MARK}{peer}"))? else {
            return Ok(None);
        };
        let mark: Option<i64> = text.parse().ok();
        Ok(mark.filter(|m| *m >= 0 && *m <= self.change_seq().unwrap_or(0)))
    }

    /// Records that a session with `peer` completed with this store at
    /// `seq` of its change sequence.
    pub(crate) fn set_sync_mark(&self, peer: &str, seq: i64) -> Result<(), StoreError> {
        self.set_meta(&format!("{SYNC_MARK}{peer}"), &seq.to_string())
    }

    /// Initiator: the hash of the scope list (`protocol::scope_list_hash`)
    /// `peer` remembers from this device's last version-5 session with it,
    /// which completed; `None` if there is none.
    pub(crate) fn resume_hash_with(&self, peer: &str) -> Result<Option<[u8; 8]>, StoreError> {
        self.meta_bytes(&format!("{RESUME_HASH}{peer}"))
    }

    /// Records (or, `None`, forgets) what [`Store::resume_hash_with`]
    /// answers.
    pub(crate) fn set_resume_hash_with(
        &self,
        peer: &str,
        hash: Option<[u8; 8]>,
    ) -> Result<(), StoreError> {
        self.set_meta_bytes(&format!("{RESUME_HASH}{peer}"), hash)
    }

    /// Responder: the scopes `peer` listed in its last full Hello of
    /// protocol 5 or later, in order (what its `Resume` names by hash).
    pub(crate) fn hello_scopes_of(&self, peer: &str) -> Result<Option<Vec<String>>, StoreError> {
        Ok(self
            .meta(&format!("{HELLO_SCOPES}{peer}"))?
            .and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Remembers the scopes of `peer`'s full Hello.
    pub(crate) fn set_hello_scopes_of(
        &self,
        peer: &str,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(scopes).unwrap_or_default();
        self.set_meta(&format!("{HELLO_SCOPES}{peer}"), &text)
    }

    /// The documents of `scopes` written here (locally or by a peer) after
    /// position `mark` of the change sequence and up to `upto`, sorted by
    /// id, each with its
    /// heads as of `mark` — what a peer that held everything this device
    /// held at `mark` has of it — or `None` for a document this device did
    /// not hold then. Read from the audit log and the index; no document
    /// is loaded.
    pub(crate) fn changed_since(
        &self,
        mark: i64,
        upto: i64,
        scopes: &[String],
    ) -> Result<Vec<ChangedSince>, StoreError> {
        // Driven by the audit rows after the mark (a range of its key),
        // not by the documents: the cost is what changed, not the store.
        let ids: std::collections::BTreeMap<String, String> = self
            .conn
            .prepare_cached(
                "SELECT a.doc_id, d.scope FROM audit a JOIN docs d ON d.id = a.doc_id \
                 WHERE a.seq > ?1 AND a.seq <= ?2",
            )?
            .query_map([mark, upto], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut before = self.conn.prepare_cached(
            "SELECT heads FROM audit WHERE doc_id = ?1 AND seq <= ?2 \
             ORDER BY seq DESC LIMIT 1",
        )?;
        let mut out = Vec::new();
        for (id, scope) in ids {
            if !scopes.contains(&scope) {
                continue;
            }
            let heads: Option<String> = before
                .query_row(params![id, mark], |r| r.get(0))
                .optional()?;
            // Empty heads (a purge's row) mean the document was not held.
            let heads = heads
                .as_deref()
                .and_then(parse_heads)
                .filter(|h| !h.is_empty());
            out.push((id, heads));
        }
        Ok(out)
    }

    /// Every document of the scope spelled `key` with a short digest of its heads.
    pub(crate) fn inventory_of(&self, key: &str) -> Result<Vec<(String, [u8; 8])>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, heads FROM docs WHERE scope = ?1 ORDER BY id")?;
        let rows = stmt
            .query_map([key], |r| {
                let heads: String = r.get(1)?;
                Ok((r.get::<_, String>(0)?, heads_digest(&heads)))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Documents this device holds but may not keep, with the scope they
    /// belong to: households (and their orders) that moved to a grid it does
    /// not hold, and case files written here by a worker outside the case
    /// team (a volunteer who screened a resident). Each is handed on whole
    /// to a peer that holds that scope, then purged.
    pub(crate) fn departed_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        let Ok(station) = self.station() else {
            return Ok(Vec::new());
        };
        let held = self.held_scope_keys()?;
        let mut out = Vec::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, scope FROM docs WHERE kind = 'case' ORDER BY id")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (id, scope) = row?;
            if !held.contains(&scope) {
                out.push((id, scope));
            }
        }
        for (id, m) in &station.moves {
            let to = format!("grid:{}", m.to_grid);
            if held.contains(&to) {
                continue;
            }
            let mut ids = vec![id.clone()];
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id FROM idx_request WHERE household_id = ?1")?;
            ids.extend(
                stmt.query_map([id], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?,
            );
            for doc in ids {
                if self.replica().has_document(&doc)? {
                    out.push((doc, to.clone()));
                }
            }
        }
        Ok(out)
    }

    /// The scope a held document is filed under; `None` if not held.
    pub(crate) fn document_scope_key(&self, id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT scope FROM docs WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    }

    /// [`Replica::document_bytes`] with the scope as the store spells it.
    /// A document with no incremental chunks is sent as its stored
    /// snapshot, which is already its whole compacted form (the snapshot
    /// is written by `save`); only one with chunks is loaded and saved
    /// again, so a first sync does not rebuild every document it sends.
    pub(crate) fn document_bytes_keyed(
        &self,
        id: &str,
    ) -> Result<(DocKind, String, Vec<u8>), StoreError> {
        let not_found = || StoreError::NotFound {
            kind: "document",
            id: id.to_string(),
        };
        let (kind, scope, chunks): (String, String, i64) = self
            .conn
            .prepare_cached("SELECT kind, scope, chunk_count FROM docs WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(not_found)?;
        let kind = DocKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
            id: id.to_string(),
            source: crate::doc::DocError::Undecodable,
        })?;
        if chunks == 0 {
            let snapshot: Vec<u8> = self
                .conn
                .prepare_cached("SELECT snapshot FROM docs WHERE id = ?1")?
                .query_row([id], |r| r.get(0))?;
            return Ok((kind, scope, snapshot));
        }
        let mut doc = self.load_document(id, Some(kind))?.ok_or_else(not_found)?;
        Ok((kind, scope, doc.save()))
    }

    fn quarantine(
        &mut self,
        peer: &str,
        id: &str,
        kind: &str,
        reason: &Refusal,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO quarantine (at, peer, doc_id, kind, reason, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
.execute(
            params![now_millis(), peer, id, kind, reason.to_string(), bytes],
        )?;
        // Bounded, oldest out first: a hostile peer sending garbage fills
        // the quarantine, never the disk.
        tx.prepare_cached(
            "DELETE FROM quarantine WHERE seq IN \
             (SELECT seq FROM quarantine ORDER BY seq DESC LIMIT -1 OFFSET ?1)",
        )?
        .execute([QUARANTINE_MAX_ROWS])?;
        tx.prepare_cached(
            "DELETE FROM quarantine WHERE seq <= (SELECT seq FROM \
               (SELECT seq, sum(length(bytes)) OVER (ORDER BY seq DESC) AS total FROM quarantine) \
             WHERE total > ?1 ORDER BY seq DESC LIMIT 1)",
        )?
        .execute([QUARANTINE_MAX_BYTES])?;
        tx.commit()?;
        Ok(())
    }

    fn has_kind(&self, id: &str, kind: DocKind) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM docs WHERE id = ?1 AND kind = ?2)")?
            .query_row(params![id, kind.as_str()], |r| r.get(0))?)
    }

    #[allow(clippy::too_many_arguments)]
    fn persist_merged(
        &mut self,
        peer: &str,
        id: &str,
        kind: DocKind,
        claimed_scope: &str,
        allowed: &[String],
        doc: &mut Document,
        before: Option<Document>,
        received: &[u8],
        attested: &[Attestation],
        may_wait: bool,
    ) -> Result<Applied, StoreError> {
        let after = doc.heads();
        let mut before = before;
        let before_heads = before.as_mut().map(|b| b.heads());
        if before_heads.as_ref() == Some(&after) {
            return Ok(Applied::Unchanged);
        }
        let now = now_millis();
        let (scope, index) = match verify(kind, doc, claimed_scope, allowed, now) {
            Ok(v) => v,
            Err(r) => {
                self.quarantine(peer, id, kind.as_str(), &r, received)?;
                return Ok(Applied::Quarantined(r));
            }
        };
        // Who wrote each new change, and may they: checked on the merged
        // copy, before anything reaches the stored document.
        let authorship = match self.check_authorship(
            id,
            kind,
            before.as_ref(),
            before_heads.as_deref().unwrap_or_default(),
            doc,
            attested,
        ) {
            Ok(a) => a,
            Err(Refusal::AwaitingAttestation) if may_wait => return Ok(Applied::Pending),
            Err(r) => {
                self.quarantine(peer, id, kind.as_str(), &r, received)?;
                return Ok(Applied::Quarantined(r));
            }
        };
        let heads = heads_text(&after);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let change = before_heads
            .as_ref()
            .map(|old| doc.automerge().save_after(old));
        authorship.record(&tx, id)?;
        super::persist_change(
            &tx,
            &super::DocWrite {
                id,
                kind,
                scope: &scope,
                heads: &heads,
                now,
                compact_after: self.options.compact_after_chunks,
                journal: self.options.journal_changes,
            },
            doc,
            change.as_deref(),
        )?;
        index(
            &tx,
            &IndexContext {
                policy: &self.policy,
            },
        )?;
        audit::append(
            &tx,
            &audit::NewEntry {
                at: now,
                device_id: &self.device.device_id,
                worker_id: Some(&format!("peer:{peer}")),
                doc_id: id,
                kind: kind.as_str(),
                action: "sync.receive",
                heads: &heads,
            },
        )?;
        tx.commit()?;
        Ok(Applied::Changed)
    }

    /// A held document's kind, scope and stored state, before a peer's
    /// changes are merged into it.
    fn stored_for_merge(&self, id: &str) -> Result<(DocKind, String, Document), StoreError> {
        let (kind, scope): (String, String) = self
            .conn
            .prepare_cached("SELECT kind, scope FROM docs WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let kind = DocKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
            id: id.to_string(),
            source: crate::doc::DocError::Undecodable,
        })?;
        let stored =
            load_document(&self.conn, &self.device.actor, id, Some(kind))?.ok_or_else(|| {
                StoreError::NotFound {
                    kind: "document",
                    id: id.to_string(),
                }
            })?;
        Ok((kind, scope, stored))
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Replica<S> {
    /// The scopes this device holds. A store that never set them holds
    /// every scope of its station (the station's laptop).
    pub fn scopes(&self) -> Result<Vec<Scope>, StoreError> {
        typed(self.store.scope_keys()?)
    }

    /// The scopes this device holds and its own credential grants (none
    /// before it is enrolled): what it syncs, and what a departed document
    /// is measured against. A scope set in `meta` that the credential does
    /// not grant is never held.
    ///
    /// Case files never rest on an unencrypted disk: a store file opened
    /// without a key holds no case scope, whatever its credential grants.
    pub fn held_scopes(&self) -> Result<Vec<Scope>, StoreError> {
        typed(self.store.held_scope_keys()?)
    }

    /// Whether nothing of this store rests on disk in the clear: it has a
    /// key, or it lives in memory only.
    pub fn encrypted_at_rest(&self) -> bool {
        self.store.options.key.is_some() || self.store.path.as_os_str() == ":memory:"
    }

    /// Whether this device's scopes were set explicitly.
    pub fn has_explicit_scopes(&self) -> Result<bool, StoreError> {
        Ok(self.store.meta("scopes")?.is_some())
    }

    /// The station id this store belongs to, if any.
    pub fn station_id(&self) -> Result<Option<String>, StoreError> {
        self.store.meta("station_id")
    }

    /// A digest of a scope's documents and their heads, and how many there
    /// are: equal digests mean the two devices hold the same documents in
    /// the same state.
    pub fn scope_digest(&self, scope: &Scope) -> Result<([u8; 32], u32), StoreError> {
        self.store.scope_digest_of(&scope.to_key())
    }

    /// Every document of a scope with a short digest of its heads.
    pub fn inventory(&self, scope: &Scope) -> Result<Vec<(String, [u8; 8])>, StoreError> {
        self.store.inventory_of(&scope.to_key())
    }

    /// A document's kind, scope and whole compacted bytes, to send to a peer.
    pub fn document_bytes(&self, id: &str) -> Result<(DocKind, Scope, Vec<u8>), StoreError> {
        let (kind, scope, bytes) = self.store.document_bytes_keyed(id)?;
        let scope = Scope::from_key(&scope).ok_or_else(|| StoreError::Corrupt {
            id: id.to_string(),
            source: crate::doc::DocError::Undecodable,
        })?;
        Ok((kind, scope, bytes))
    }

    /// Whether this store holds document `id`.
    pub fn has_document(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM docs WHERE id = ?1)")?
            .query_row([id], |r| r.get(0))?)
    }

    /// The quarantined documents' ids and reasons, oldest first.
    pub fn quarantined(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .store
            .replica()
            .quarantine_rows()?
            .into_iter()
            .map(|r| (r.doc_id, r.reason))
            .collect())
    }

    /// The quarantine, oldest first (what arrived and why it was refused;
    /// the bytes themselves stay in the store).
    pub fn quarantine_rows(&self) -> Result<Vec<QuarantineRow>, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT seq, at, peer, doc_id, kind, reason, length(bytes) FROM quarantine ORDER BY seq",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(QuarantineRow {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    peer: r.get(2)?,
                    doc_id: r.get(3)?,
                    kind: r.get(4)?,
                    reason: r.get(5)?,
                    bytes: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Every document of `scopes` with its heads: the set a session
    /// reconciles by ranges (`sync::ranges`). Read from the index, no
    /// document is loaded.
    pub fn docs_with_heads(
        &self,
        scopes: &[String],
    ) -> Result<Vec<(String, Vec<ChangeHash>)>, StoreError> {
        let mut stmt = self
            .store
            .conn
            .prepare_cached("SELECT id, heads FROM docs WHERE scope = ?1")?;
        let mut out = Vec::new();
        for scope in scopes {
            let mut rows = stmt.query([scope])?;
            while let Some(r) = rows.next()? {
                let id: String = r.get(0)?;
                let heads: String = r.get(1)?;
                let heads = parse_heads(&heads).ok_or_else(|| StoreError::Corrupt {
                    id: id.clone(),
                    source: crate::doc::DocError::Undecodable,
                })?;
                out.push((id, heads));
            }
        }
        Ok(out)
    }

    /// The changes of a document that a peer whose heads are
    /// `their_heads` lacks, and the attestations to send with them. `None`
    /// when this device does not know every one of those heads: the peer
    /// holds changes this device lacks, and automerge's sync protocol must
    /// find out what each side has. `cached` as in
    /// [`Replica::sync_document`].
    pub fn changes_since(
        &self,
        id: &str,
        their_heads: &[ChangeHash],
        cached: &mut Option<Document>,
    ) -> Result<Option<ChangesToSend>, StoreError> {
        let mut doc = match cached.take() {
            Some(doc) => doc,
            None => load_document(&self.store.conn, &self.store.device.actor, id, None)?
                .ok_or_else(|| StoreError::NotFound {
                    kind: "document",
                    id: id.to_string(),
                })?,
        };
        let knows_all = their_heads
            .iter()
            .all(|h| doc.automerge().get_change_by_hash(h).is_some());
        let changes = knows_all.then(|| doc.automerge().get_changes(their_heads));
        *cached = Some(doc);
        let Some(changes) = changes else {
            return Ok(None);
        };
        if changes.is_empty() {
            return Ok(Some((Vec::new(), Vec::new())));
        }
        // Only the attestations of the actors whose changes go: the others
        // vouch for what the peer holds already.
        let actors: std::collections::HashSet<Vec<u8>> = changes
            .iter()
            .map(|c| c.actor_id().to_bytes().to_vec())
            .collect();
        let attest = self
            .store
            .attestations(id)?
            .into_iter()
            .filter(|a| actors.contains(&a.actor))
            .collect();
        Ok(Some((
            changes
                .into_iter()
                .map(|c| c.raw_bytes().to_vec())
                .collect(),
            attest,
        )))
    }
}

impl super::Replica<&mut Store> {
    /// Sets the scopes this device holds (e.g. `station` and one grid).
    pub fn set_scopes(&mut self, scopes: &[Scope]) -> Result<(), StoreError> {
        let keys: Vec<String> = scopes.iter().map(Scope::to_key).collect();
        self.store.set_scope_keys(&keys)
    }

    /// Records the station id (a new device joining a station).
    pub fn adopt_station(&mut self, station_id: &str) -> Result<(), StoreError> {
        match self.store.meta("station_id")? {
            Some(existing) if existing != station_id => Err(StoreError::AlreadyInitialised),
            Some(_) => Ok(()),
            None => {
                self.store
                    .conn
                    .prepare_cached("INSERT INTO meta (key, value) VALUES ('station_id', ?1)")?
                    .execute([station_id])?;
                Ok(())
            }
        }
    }

    /// Removes a document from this device (its copy only: the document
    /// lives on at the devices that hold its scope), with its index rows and
    /// an audit row saying why.
    pub fn purge_document(&mut self, id: &str, why: &str) -> Result<(), StoreError> {
        let tx = self
            .store
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let kind: Option<String> = tx
            .prepare_cached("SELECT kind FROM docs WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        let Some(kind) = kind else { return Ok(()) };
        for sql in [
            "DELETE FROM idx_household WHERE id = ?1",
            "DELETE FROM idx_resident_tag WHERE household_id = ?1",
            "DELETE FROM idx_visit WHERE household_id = ?1",
            "DELETE FROM idx_request WHERE id = ?1",
            "DELETE FROM idx_order_conflict WHERE request_id = ?1",
            "DELETE FROM idx_worker WHERE id = ?1",
            "DELETE FROM idx_worker_skill WHERE worker_id = ?1",
            "DELETE FROM idx_hours WHERE worker_id = ?1",
            "DELETE FROM idx_activity WHERE id = ?1",
            "DELETE FROM idx_case WHERE id = ?1",
            "DELETE FROM idx_case_due WHERE case_id = ?1",
            "DELETE FROM doc_chunks WHERE doc_id = ?1",
            "DELETE FROM attestations WHERE doc_id = ?1",
            "DELETE FROM docs WHERE id = ?1",
        ] {
            tx.execute(sql, [id])?;
        }
        if self.store.options.journal_changes {
            if let Some(kind) = DocKind::parse(&kind) {
                super::journal(&tx, kind, id, true)?;
            }
        }
        audit::append(
            &tx,
            &audit::NewEntry {
                at: now_millis(),
                device_id: &self.store.device.device_id,
                worker_id: None,
                doc_id: id,
                kind: &kind,
                action: why,
                heads: "",
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Empties the quarantine (or removes one entry); returns how many
    /// entries went.
    pub fn purge_quarantine(&mut self, seq: Option<i64>) -> Result<usize, StoreError> {
        Ok(match seq {
            Some(seq) => self
                .store
                .conn
                .prepare_cached("DELETE FROM quarantine WHERE seq = ?1")?
                .execute([seq])?,
            None => self
                .store
                .conn
                .prepare_cached("DELETE FROM quarantine")?
                .execute([])?,
        })
    }

    /// Merges a whole document sent by `peer` (automerge bytes) into the
    /// store: new or known, it is verified (shape, content, scope) before
    /// anything is written, and written as one transaction.
    /// `attested`: the attestations that came with it (see
    /// [`Store::attestations`]); every change it brings must be covered.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_document(
        &mut self,
        peer: &str,
        id: &str,
        kind: DocKind,
        claimed_scope: &str,
        bytes: &[u8],
        attested: &[Attestation],
    ) -> Result<Applied, StoreError> {
        let allowed = self.store.scope_keys()?;
        let existing = self.store.load_document(id, None)?;
        if existing.is_some() && !self.store.has_kind(id, kind)? {
            let r = Refusal::KindMismatch;
            self.store.quarantine(peer, id, kind.as_str(), &r, bytes)?;
            return Ok(Applied::Quarantined(r));
        }
        let (mut doc, before) = match existing {
            Some(mut d) => {
                let before = d.clone();
                if d.automerge().load_incremental(bytes).is_err() {
                    let r = Refusal::Undecodable;
                    self.store.quarantine(peer, id, kind.as_str(), &r, bytes)?;
                    return Ok(Applied::Quarantined(r));
                }
                (d, Some(before))
            }
            None => match Document::load(&self.store.device.actor, bytes, []) {
                Ok(d) => (d, None),
                Err(_) => {
                    let r = Refusal::Undecodable;
                    self.store.quarantine(peer, id, kind.as_str(), &r, bytes)?;
                    return Ok(Applied::Quarantined(r));
                }
            },
        };
        self.store.persist_merged(
            peer,
            id,
            kind,
            claimed_scope,
            &allowed,
            &mut doc,
            before,
            bytes,
            attested,
            false,
        )
    }

    /// Applies changes a peer sent for a document this device holds
    /// ([`Replica::changes_since`] on its side), under the same rules as
    /// [`Replica::apply_document`]. `cached` as in [`Replica::sync_document`].
    pub fn apply_changes(
        &mut self,
        peer: &str,
        id: &str,
        changes: &[Vec<u8>],
        attested: &[Attestation],
        cached: &mut Option<Document>,
    ) -> Result<Applied, StoreError> {
        let (kind, scope, stored) = self.store.stored_for_merge(id)?;
        let received: Vec<u8> = changes.concat();
        let decoded: Option<Vec<automerge::Change>> = changes
            .iter()
            .map(|c| automerge::Change::from_bytes(c.clone()).ok())
            .collect();
        let mut doc = cached.take().unwrap_or_else(|| stored.clone());
        let applied = decoded.and_then(|d| doc.automerge().apply_changes(d).ok());
        if applied.is_none() {
            let r = Refusal::Undecodable;
            self.store
                .quarantine(peer, id, kind.as_str(), &r, &received)?;
            return Ok(Applied::Quarantined(r));
        }
        let allowed = self.store.scope_keys()?;
        let result = self.store.persist_merged(
            peer,
            id,
            kind,
            &scope,
            &allowed,
            &mut doc,
            Some(stored),
            &received,
            attested,
            true,
        )?;
        if !matches!(result, Applied::Quarantined(_)) {
            *cached = Some(doc);
        }
        Ok(result)
    }

    /// Runs one step of automerge's sync protocol for a document both sides
    /// hold: applies `incoming` (if any) under the same rules as
    /// [`Replica::apply_document`], then returns the message to send, if any.
    ///
    /// `cached` carries the document between steps of one session (loaded
    /// from the store when `None`): received changes that wait for their
    /// dependencies live only in it. It comes back `None` when the document
    /// must be reloaded (after a quarantine).
    ///
    /// `attested`: the attestations that came with `incoming`. The reply,
    /// when it carries changes, goes with this document's attestations
    /// (`SyncStep::attest`).
    pub fn sync_document(
        &mut self,
        peer: &str,
        id: &str,
        state: &mut State,
        incoming: Option<&[u8]>,
        attested: &[Attestation],
        cached: &mut Option<Document>,
    ) -> Result<SyncStep, StoreError> {
        let (kind, scope, stored) = self.store.stored_for_merge(id)?;
        // The session's copy: the stored document plus changes that wait
        // for the rest of their attested history (never stored meanwhile).
        let mut doc = cached.take().unwrap_or_else(|| stored.clone());
        let mut applied = None;
        if let Some(bytes) = incoming {
            let before = stored;
            let outcome = Message::decode(bytes)
                .ok()
                .and_then(|m| doc.automerge().sync().receive_sync_message(state, m).ok());
            if outcome.is_none() {
                let r = Refusal::Undecodable;
                self.store.quarantine(peer, id, kind.as_str(), &r, bytes)?;
                return Ok(SyncStep {
                    applied: Some(Applied::Quarantined(r)),
                    ..Default::default()
                });
            }
            let allowed = self.store.scope_keys()?;
            let result = self.store.persist_merged(
                peer,
                id,
                kind,
                &scope,
                &allowed,
                &mut doc,
                Some(before),
                bytes,
                attested,
                true,
            )?;
            if let Applied::Quarantined(_) = result {
                // Do not answer from a state that includes refused changes;
                // the next step reloads the document from the store.
                return Ok(SyncStep {
                    applied: Some(result),
                    ..Default::default()
                });
            }
            applied = Some(result);
        }
        // A hash the peer says it needs did not reach it (or was dropped
        // there): forget having sent it, so it goes again. Automerge would
        // otherwise never resend it within this session.
        if let Some(need) = state.their_need.clone() {
            for hash in need {
                state.sent_hashes.remove(&hash);
            }
        }
        let reply = doc.automerge().sync().generate_sync_message(state);
        let attest = match &reply {
            Some(m) if !m.changes.is_empty() => self.store.attestations(id)?,
            _ => Vec::new(),
        };
        *cached = Some(doc);
        Ok(SyncStep {
            reply: reply.map(|m| m.encode()),
            applied,
            attest,
        })
    }
}
