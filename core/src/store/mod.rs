//! The SQLite store: SQLite is the disk, automerge is the truth.
//!
//! Owns: opening a store file (SQLCipher-encrypted when a key is given), the
//! schema and its migrations, the device's identity (device id and automerge
//! actor id), document persistence (snapshot + incremental chunks, compacted
//! past a threshold), the derived query index, the hash-chained audit log,
//! history, integrity checks and the canonical export.
//!
//! The write path: every API write is one `Batch` — one SQLite transaction
//! that holds the automerge change bytes, the updated index rows and an audit
//! row, never one without the others. `synchronous = FULL` in WAL mode, so a
//! write that returned `Ok` is on disk (the crash test kills writers with
//! SIGKILL and checks this).

mod attest;
mod audit;
mod cache;
mod cases;
mod check;
mod daily;
mod drafts;
mod facades;
mod identity;
mod import;
mod index;
mod kinds;
mod ops;
mod orders;
mod replica;
pub mod schema;
mod trust;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use automerge::ActorId;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::doc::{heads_text, Aggregate, Author, ChangeNote, DocError, Document};
use crate::model::*;
use crate::screening::Policy;

pub use audit::{AuditEntry, AuditHead};
pub use cases::{CaseRow, DueRow, NewScreening, Recorded};
pub use check::{CheckReport, Stats};
pub use daily::{ActivityLine, CaseLine, DailyReport, HoursLine, HouseholdLine, OrderLine};
pub use drafts::DraftRecord;
pub use facades::{Cases, Devices, Households, Orders, People, Replica, Setup};
pub use import::{columns as import_columns, Column, ImportKind, ImportReport, RowProblem, Sheet};
pub use index::{
    GridSummary, HouseholdRow, IndexContext, Indexed, ResidentRow, VisitRow, WorkerRow,
};
pub use ops::{
    NewActivity, NewResident, NewTraining, NewVisit, NewWorker, ResidentUpdate, WorkerUpdate,
};
pub use orders::{
    ConflictRow, Count, NewOrder, QueueRow, Report, ReportPart, Suggestion, SMALLEST_SHOWN_COUNT,
};
pub use replica::{
    heads_digest, Applied, QuarantineRow, Refusal, SyncStep, QUARANTINE_MAX_BYTES,
    QUARANTINE_MAX_ROWS,
};
pub use trust::{DeviceRow, EnrolOptions};

/// What can go wrong in the store. Messages never carry personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An input broke a rule; nothing was written.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The named thing does not exist in this store.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What kind of thing.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// The key is missing or wrong, or the file is not an Anxin store.
    #[error("cannot open the store: it is encrypted and the key is missing or wrong, or the file is not an Anxin store")]
    KeyRejected,
    /// The store was written by a newer version of Anxin.
    #[error("the store was written by a newer version of Anxin (schema {found}; this build knows up to {known})")]
    TooNew {
        /// The store's schema version.
        found: u32,
        /// The newest this build knows.
        known: u32,
    },
    /// Opened for reading only, the store needs migrating first.
    #[error("the store is at schema {found} and this build needs {known}: open it once with a command that writes (e.g. `anxin reindex`)")]
    NeedsUpgrade {
        /// The store's schema version.
        found: u32,
        /// The version this build works with.
        known: u32,
    },
    /// The store has no station yet.
    #[error("this store has no station yet: run `init` first")]
    NotInitialised,
    /// The store already belongs to a station.
    #[error("this store already belongs to a station")]
    AlreadyInitialised,
    /// A stored document cannot be read.
    #[error("document {id} is damaged: {source}")]
    Corrupt {
        /// The document's id.
        id: String,
        /// Why.
        source: DocError,
    },
    /// The order workflow refused the action; nothing was written.
    #[error(transparent)]
    Dispatch(#[from] crate::dispatch::DispatchError),
    /// A screening result could not be scored; nothing was written.
    #[error(transparent)]
    Screening(crate::screening::ScreeningError),
    /// SQLite failed (disk full, I/O error, locked...).
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// A key, credential or enrolment was not trusted; nothing was written.
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
}

/// Options for opening a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The encryption key (a passphrase). `None` opens an unencrypted store.
    pub key: Option<String>,
    /// After how many incremental chunks a document is compacted into one
    /// snapshot. Small values save disk and load time, large ones write time.
    pub compact_after_chunks: u32,
    /// The deployment's referral policy (tiers, review and acknowledgement
    /// deadlines, re-screen intervals: the values screening-reference.md
    /// marks [U]); `None` uses the built-in one. Every device of a station
    /// must use the same policy, or their case folds disagree on deadlines.
    /// Opening a store with a policy other than the one its index was built
    /// with rebuilds the index.
    pub policy: Option<Arc<Policy>>,
    /// Open for reading only: nothing is created, migrated or written (a
    /// missing file, an empty one or an older schema is an error), and a
    /// store in a read-only place can be inspected.
    pub read_only: bool,
    /// Keep a journal of the documents each write changed (local writes,
    /// sync, bundles, purges), drained with [`Store::take_changes`]: what
    /// an app's live lists listen to. Off for the command line.
    pub journal_changes: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            key: None,
            compact_after_chunks: 16,
            policy: None,
            read_only: false,
            journal_changes: false,
        }
    }
}

/// A document that committed writes changed since the journal was last
/// drained (see [`StoreOptions::journal_changes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The document's kind.
    pub kind: DocKind,
    /// Its id.
    pub id: String,
    /// Whether it was removed from this device (its household moved to a
    /// grid the device does not hold).
    pub removed: bool,
}

/// This device's identity in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// The device's id (a UUID), named in audit rows.
    pub device_id: String,
    /// The automerge actor id this device writes changes with.
    pub actor: ActorId,
}

/// The result of a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    /// A change was stored; the document's new heads.
    Changed {
        /// The new heads, as stored.
        heads: String,
    },
    /// The value equalled what was stored; nothing was written.
    Unchanged,
}

/// An Anxin store: one SQLite file holding one device's documents.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    device: DeviceIdentity,
    /// This device's signing and Noise keys.
    keys: crate::trust::DeviceKeys,
    options: StoreOptions,
    /// The referral policy case files are folded with: the deployment's,
    /// or the built-in one.
    policy: Arc<Policy>,
    /// Credentials by actor id (who may have written a change), rebuilt
    /// when the registry changes.
    authors: attest::AuthorsCache,
    /// The identity this store's writes are signed with, when a worker
    /// signs on a shared laptop (`sign_as`); `None`: the device's own.
    signer: Option<identity::Signer>,
    /// Documents recently read or written, kept while their stored heads
    /// say they are current (see `cache`).
    docs: cache::DocCache,
    /// This device's credential, checked once per stored form.
    own_credential: cache::Memo<
        cache::CredentialSource,
        Option<(crate::trust::Signed, crate::trust::Credential)>,
    >,
    /// The scopes held by default, by the station document's heads.
    default_scopes: cache::Memo<Option<String>, Vec<String>>,
    /// Credentials whose station signature was checked.
    verified: cache::VerifiedCredentials,
}

const BUSY_TIMEOUT_MS: u64 = 5_000;

/// The `meta` key holding the fingerprint of the policy the case index was
/// built with (absent: the built-in policy).
const POLICY_META_KEY: &str = "case_policy";

/// Gives the connection its key (if any) and proves it with a first read;
/// returns how many schema objects the file holds. SQLCipher would print
/// decryption failures to stderr: the caller gets `KeyRejected` instead,
/// which says what to do.
fn unlock(conn: &Connection, key: Option<&str>) -> Result<i64, StoreError> {
    // SQLCipher's crypto provider is Rust code that C calls: keep it linked.
    anxin_sqlcipher::link();
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE");
    if let Some(key) = key {
        if key.is_empty() {
            return Err(ValidationError::new("key", Violation::Required).into());
        }
        conn.pragma_update(None, "key", key)?;
    }
    // Not the statement cache: with a wrong key the prepare itself fails,
    // and that error must reach the match below.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)) {
        Ok(n) => Ok(n),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Err(StoreError::KeyRejected)
        }
        Err(e) => Err(e.into()),
    }
}

impl Store {
    /// Opens (or creates) the store at `path`.
    ///
    /// With a key, the file is SQLCipher-encrypted; a wrong or missing key
    /// gives [`StoreError::KeyRejected`], never a crash. An older schema is
    /// migrated; a newer one is refused.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        if options.read_only {
            return Self::open_read_only(path, options);
        }
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        unlock(&conn, options.key.as_deref())?;
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        // "wal" for a file; an in-memory store (tests) reports "memory".
        let _ = mode;
        // FULL: the WAL is synced at every commit, so an acknowledged write
        // survives power loss, not only a process crash.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        // Temporary tables and sort spills stay in memory: never on disk
        // unencrypted.
        conn.pragma_update(None, "temp_store", "MEMORY")?;

        let needs_reindex = schema::upgrade(&mut conn, schema::LATEST)?;
        let mut store = Store::assemble(conn, path, options)?;
        store.backfill_attestations()?;
        // The case index holds tiers and due dates folded with a policy: a
        // store opened with another policy than last time rebuilds it.
        let fingerprint = store.policy.fingerprint();
        let indexed_with = store.meta(POLICY_META_KEY)?.unwrap_or_else(|| {
            Policy::builtin()
                .map(Policy::fingerprint)
                .unwrap_or_default()
        });
        if needs_reindex || indexed_with != fingerprint {
            store.reindex()?;
        }
        if indexed_with != fingerprint {
            store.batch(|b| b.set_meta(POLICY_META_KEY, &fingerprint))?;
        }
        Ok(store)
    }

    /// [`Store::open`] for reading only: no file is created, nothing is
    /// migrated, back-filled or re-indexed.
    fn open_read_only(path: PathBuf, options: StoreOptions) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        // An empty file has no tables: not a store, and not made one here.
        let probe = |conn: &Connection| match unlock(conn, options.key.as_deref())? {
            0 => Err(StoreError::KeyRejected),
            _ => Ok(()),
        };
        let conn = Connection::open_with_flags(&path, flags)?;
        let conn = match probe(&conn) {
            Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)))
                if e.code == rusqlite::ErrorCode::CannotOpen =>
            {
                // In a read-only place a WAL store without its shared-memory
                // file cannot be opened normally; nobody can write there, so
                // it is opened as immutable.
                drop(conn);
                let uri = format!(
                    "file:{}?immutable=1",
                    path.display()
                        .to_string()
                        .replace('%', "%25")
                        .replace('?', "%3f")
                        .replace('#', "%23")
                );
                let conn = Connection::open_with_flags(&uri, flags | OpenFlags::SQLITE_OPEN_URI)?;
                probe(&conn)?;
                conn
            }
            Err(e) => return Err(e),
            Ok(()) => conn,
        };
        conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let found = schema::version(&conn)?;
        if found > schema::LATEST {
            return Err(StoreError::TooNew {
                found,
                known: schema::LATEST,
            });
        }
        if found < schema::LATEST {
            return Err(StoreError::NeedsUpgrade {
                found,
                known: schema::LATEST,
            });
        }
        Store::assemble(conn, path, options)
    }

    /// The store around an open, unlocked, current connection: the
    /// device's identity and the policy (kept once, in `policy`; `options`
    /// keeps the rest).
    fn assemble(
        conn: Connection,
        path: PathBuf,
        mut options: StoreOptions,
    ) -> Result<Store, StoreError> {
        let (device, keys) = load_or_create_identity(&conn)?;
        // Every fixed statement of the store goes through the statement
        // cache (`prepare_cached`): sessions and the write path run them
        // over and over, and parsing was an eighth of a sync's time. The
        // capacity holds them all (about 110 fixed ones, and the index rows'
        // `UPDATE`s, one per set of columns that change together — a few per
        // index table; rusqlite keeps 16), so none is evicted and parsed again.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        if options.journal_changes {
            // A temporary table: per connection, in memory, and written in
            // the write's own transaction, so a rolled-back write leaves
            // no entry and a committed one cannot miss its entry.
            conn.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS changed_docs (\
                 seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, \
                 kind TEXT NOT NULL, removed INTEGER NOT NULL)",
            )?;
        }
        let policy = match options.policy.take() {
            Some(p) => p,
            None => Arc::new(Policy::builtin()?.clone()),
        };
        Ok(Store {
            conn,
            path,
            device,
            keys,
            options,
            policy,
            authors: Default::default(),
            signer: None,
            docs: Default::default(),
            own_credential: Default::default(),
            default_scopes: Default::default(),
            verified: Default::default(),
        })
    }

    /// Opens a store at a given older schema version, for the migration tests
    /// only: creates it by walking the migrations up to `version`.
    #[doc(hidden)]
    pub fn create_at_version(path: impl AsRef<Path>, version: u32) -> Result<(), StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        schema::upgrade(&mut conn, version)?;
        if version >= 1 {
            load_or_create_identity(&conn)?;
        }
        Ok(())
    }

    /// Opens further connections to the same store file, with the same key
    /// and policy (a server's sessions each use their own, on their own
    /// threads). For an in-memory store each opens a new, empty store.
    pub fn opener(&self) -> impl Fn() -> Result<Store, StoreError> + Send + Sync + 'static {
        let path = self.path.clone();
        let options = StoreOptions {
            policy: Some(self.policy.clone()),
            ..self.options.clone()
        };
        move || Store::open(&path, options.clone())
    }

    /// Test only: runs SQL straight on the file, as a tool tampering with
    /// it would.
    #[cfg(test)]
    pub(crate) fn tamper(&self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql)?;
        self.docs.clear();
        Ok(())
    }

    /// The whole database as bytes, for tests that copy a prepared store
    /// many times ([`Store::from_image`]).
    #[doc(hidden)]
    pub fn image(&mut self) -> Result<Vec<u8>, StoreError> {
        Ok(self.conn.serialize(rusqlite::MAIN_DB)?.to_vec())
    }

    /// An in-memory store holding a copy of an [`Store::image`]: the same
    /// device, keys, credential and documents.
    #[doc(hidden)]
    pub fn from_image(image: &[u8]) -> Result<Store, StoreError> {
        // Not through `open`: the schema comes with the image, so building
        // an empty one first would be thrown away (the convergence tests
        // copy thousands of stores).
        let mut conn = Connection::open_in_memory()?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, image, image.len(), false)?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        let found = schema::version(&conn)?;
        if found != schema::LATEST {
            return Err(StoreError::NeedsUpgrade {
                found,
                known: schema::LATEST,
            });
        }
        Store::assemble(conn, PathBuf::from(":memory:"), StoreOptions::default())
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The referral policy this store folds case files with.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// This device's identity.
    pub fn device(&self) -> &DeviceIdentity {
        &self.device
    }

    /// The schema version.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::version(&self.conn)
    }

    /// The station this store belongs to.
    pub fn station(&self) -> Result<Station, StoreError> {
        let id = self.meta("station_id")?.ok_or(StoreError::NotInitialised)?;
        self.get::<Station>(&id)
    }

    /// Reads one aggregate.
    pub fn get<T: Aggregate>(&self, id: &str) -> Result<T, StoreError> {
        read_cached(&self.conn, &self.docs, &self.device.actor, id)
    }

    /// The documents committed writes changed since the last call, oldest
    /// first, each once (empty unless the store was opened with
    /// [`StoreOptions::journal_changes`]). Core reports every document a
    /// write touched — the ones a call wrote on the side (a crisis opened
    /// by a screening, hours credited on completion) and every one a sync
    /// or bundle applied — so no caller assembles this by hand.
    pub fn take_changes(&mut self) -> Result<Vec<Changed>, StoreError> {
        if !self.options.journal_changes {
            return Ok(Vec::new());
        }
        let tx = self.conn.transaction()?;
        let rows: Vec<(String, String, bool)> = tx
            .prepare_cached("SELECT id, kind, removed FROM temp.changed_docs ORDER BY seq")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        tx.prepare_cached("DELETE FROM temp.changed_docs")?
            .execute([])?;
        tx.commit()?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, kind, removed)| {
                Some(Changed {
                    kind: DocKind::parse(&kind)?,
                    id,
                    removed,
                })
            })
            .collect())
    }

    /// Runs `f` as one write: everything it puts commits together, or —
    /// if it returns an error — nothing does.
    pub fn batch<R>(
        &mut self,
        f: impl FnOnce(&mut Batch<'_>) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let principal = match &self.signer {
            Some(s) => s.principal.clone(),
            None => self.own_principal()?,
        };
        let (device, keys) = match &self.signer {
            Some(s) => (&s.device, &s.keys),
            None => (&self.device, &self.keys),
        };
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut batch = Batch {
            tx,
            principal,
            judge_effects: true,
            device,
            keys,
            policy: &self.policy,
            compact_after: self.options.compact_after_chunks.max(1),
            now: now_millis(),
            journal: self.options.journal_changes,
            docs: &self.docs,
            written: Default::default(),
        };
        let out = f(&mut batch)?;
        let Batch { tx, written, .. } = batch;
        tx.commit()?;
        // Only now, committed, are the written documents the stored ones.
        for (id, heads, doc) in written {
            self.docs.put(&id, heads, doc);
        }
        Ok(out)
    }

    /// Test only: writes as a malicious app on this device would — with
    /// the device's own keys and attestation, but past the access module.
    /// Whatever it writes must be refused by every peer.
    #[cfg(test)]
    pub(crate) fn forge<T: Indexed + crate::access::Guarded>(
        &mut self,
        claimed: &Author,
        id: &str,
        mutate: impl FnOnce(Option<T>) -> Result<T, StoreError>,
    ) -> Result<Written, StoreError> {
        self.batch(|b| {
            b.judge_effects = false;
            b.put(claimed, "forged", id, mutate)
        })
    }

    /// Writes one aggregate: `mutate` receives the current value (`None` if
    /// the document does not exist yet) and returns the new one.
    pub fn put<T: Indexed + crate::access::Guarded>(
        &mut self,
        author: &Author,
        action: &str,
        id: &str,
        mutate: impl FnOnce(Option<T>) -> Result<T, StoreError>,
    ) -> Result<Written, StoreError> {
        self.batch(|b| b.put(author, action, id, mutate))
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a meta value outside any write (what this device remembers of
    /// its peers and scopes; a batch has its own [`Batch::set_meta`]).
    fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])?;
        Ok(())
    }

    /// Forgets a meta value set by [`Store::set_meta`].
    fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("DELETE FROM meta WHERE key = ?1")?
            .execute([key])?;
        Ok(())
    }

    /// A fixed-size value kept in `meta` as hex (a fingerprint, a hash);
    /// `None` if absent or malformed.
    fn meta_bytes<const N: usize>(&self, key: &str) -> Result<Option<[u8; N]>, StoreError> {
        Ok(self
            .meta(key)?
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| b.try_into().ok()))
    }

    /// Keeps (or, `None`, forgets) a value [`Store::meta_bytes`] reads.
    fn set_meta_bytes<const N: usize>(
        &self,
        key: &str,
        value: Option<[u8; N]>,
    ) -> Result<(), StoreError> {
        match value {
            Some(v) => self.set_meta(key, &hex::encode(v)),
            None => self.delete_meta(key),
        }
    }

    fn load_document(
        &self,
        id: &str,
        kind: Option<DocKind>,
    ) -> Result<Option<Document>, StoreError> {
        load_document(&self.conn, &self.device.actor, id, kind)
    }
}

/// Statements kept prepared per connection (see `Store::assemble`).
const STATEMENT_CACHE: usize = 256;

fn load_or_create_identity(
    conn: &Connection,
) -> Result<(DeviceIdentity, crate::trust::DeviceKeys), StoreError> {
    let get = |key: &str| -> Result<Option<String>, StoreError> {
        Ok(conn
            .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    };
    let corrupt = || StoreError::Corrupt {
        id: "meta".into(),
        source: DocError::Undecodable,
    };
    // Keys first: a new device's actor id is derived from its signing key.
    // A store made before keys existed gets them now and keeps its actor
    // (its credential names the actor explicitly).
    let keys = match get("device_keys")? {
        Some(text) => hex::decode(text)
            .ok()
            .and_then(|b| crate::trust::DeviceKeys::from_secret_bytes(&b))
            .ok_or_else(corrupt)?,
        None => {
            let keys = crate::trust::DeviceKeys::generate();
            conn.prepare_cached("INSERT INTO meta (key, value) VALUES ('device_keys', ?1)")?
                .execute([hex::encode(keys.secret_bytes())])?;
            keys
        }
    };
    if let (Some(device_id), Some(actor)) = (get("device_id")?, get("actor_id")?) {
        let actor = ActorId::try_from(actor.as_str()).map_err(|_| corrupt())?;
        return Ok((DeviceIdentity { device_id, actor }, keys));
    }
    let device_id = uuid::Uuid::new_v4().to_string();
    let actor = ActorId::try_from(keys.actor_hex().as_str()).map_err(|_| corrupt())?;
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES ('device_id', ?1), ('actor_id', ?2)",
    )?
    .execute(params![device_id, actor.to_hex_string()])?;
    Ok((DeviceIdentity { device_id, actor }, keys))
}

/// Loads a stored document (snapshot then chunks in order). `kind`, if
/// given, must match: a household id is never read as a worker.
fn load_document(
    conn: &Connection,
    actor: &ActorId,
    id: &str,
    kind: Option<DocKind>,
) -> Result<Option<Document>, StoreError> {
    let row: Option<(String, Vec<u8>)> = conn
        .prepare_cached("SELECT kind, snapshot FROM docs WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((stored_kind, snapshot)) = row else {
        return Ok(None);
    };
    if let Some(kind) = kind {
        if stored_kind != kind.as_str() {
            return Ok(None);
        }
    }
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM doc_chunks WHERE doc_id = ?1 ORDER BY seq")?;
    let chunks: Vec<Vec<u8>> = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Document::load(actor, &snapshot, chunks.iter().map(|c| c.as_slice()))
        .map(Some)
        .map_err(|source| StoreError::Corrupt {
            id: id.to_string(),
            source,
        })
}

/// Loads a stored document like [`load_document`], from `cache` when it
/// holds the stored heads; returns its kind and stored heads too. The
/// document leaves the cache: the caller puts it back (unchanged, or once
/// its write committed).
fn take_document(
    conn: &Connection,
    cache: &cache::DocCache,
    actor: &ActorId,
    id: &str,
) -> Result<Option<(DocKind, String, cache::Cached)>, StoreError> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT kind, heads FROM docs WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((kind, heads)) = row else {
        return Ok(None);
    };
    let kind = DocKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
        id: id.to_string(),
        source: DocError::Undecodable,
    })?;
    if let Some(cached) = cache.take(id, &heads, actor) {
        return Ok(Some((kind, heads, cached)));
    }
    cache.missed();
    Ok(load_document(conn, actor, id, Some(kind))?
        .map(|doc| (kind, heads, cache::Cached::doc(doc))))
}

/// The aggregate a (possibly cached) document holds: the cached value when
/// there is one, else hydrated from the document.
fn aggregate<T: Aggregate>(id: &str, cached: &cache::Cached) -> Result<T, StoreError> {
    let hydrate = || {
        cached
            .doc
            .read::<T>()
            .map_err(|source| StoreError::Corrupt {
                id: id.to_string(),
                source,
            })
    };
    match cached.value::<T>() {
        Some(value) => {
            // Debug builds (every test) prove the cached value is what the
            // document holds; no value in the message (it may hold names).
            debug_assert!(
                hydrate().ok().as_ref() == Some(&value),
                "a cached {} differs from its document",
                T::KIND.as_str()
            );
            Ok(value)
        }
        None => hydrate(),
    }
}

/// Reads one aggregate through the document cache.
fn read_cached<T: Aggregate>(
    conn: &Connection,
    cache: &cache::DocCache,
    actor: &ActorId,
    id: &str,
) -> Result<T, StoreError> {
    let not_found = || StoreError::NotFound {
        kind: T::KIND.as_str(),
        id: id.to_string(),
    };
    let (kind, heads, cached) = take_document(conn, cache, actor, id)?.ok_or_else(not_found)?;
    if kind != T::KIND {
        cache.put(id, heads, cached);
        return Err(not_found());
    }
    let value = aggregate::<T>(id, &cached);
    match &value {
        Ok(v) => cache.put(id, heads, cache::Cached::with(cached.doc, v.clone())),
        Err(_) => cache.put(id, heads, cached),
    }
    value
}

/// Where and how a document's new state is written.
pub(crate) struct DocWrite<'a> {
    pub id: &'a str,
    pub kind: DocKind,
    pub scope: &'a str,
    pub heads: &'a str,
    pub now: Millis,
    pub compact_after: u32,
    /// Record the write in the change journal.
    pub journal: bool,
}

/// Stores a document's new state inside the caller's transaction: a new
/// document as its snapshot (`change` is `None`); a known one by appending
/// `change` as a chunk, or — when that would reach the compaction threshold
/// — by replacing snapshot and chunks with one fresh snapshot. The one place
/// documents reach the disk, for local writes and for sync alike.
pub(crate) fn persist_change(
    conn: &Connection,
    w: &DocWrite<'_>,
    doc: &mut Document,
    change: Option<&[u8]>,
) -> Result<(), StoreError> {
    if w.journal {
        journal(conn, w.kind, w.id, false)?;
    }
    let Some(change) = change else {
        conn.prepare_cached(
            "INSERT INTO docs (id, kind, scope, snapshot, heads, chunk_count, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
        )?
        .execute(params![
            w.id,
            w.kind.as_str(),
            w.scope,
            doc.save(),
            w.heads,
            w.now
        ])?;
        return Ok(());
    };
    let chunks: u32 = conn
        .prepare_cached("SELECT chunk_count FROM docs WHERE id = ?1")?
        .query_row([w.id], |r| r.get(0))?;
    // The scope is set apart, and only when it moved (a household changing
    // grid): naming it in the main UPDATE rewrote the document's entry in
    // `docs_by_scope` on every write, one more page to fsync.
    conn.prepare_cached("UPDATE docs SET scope = ?2 WHERE id = ?1 AND scope IS NOT ?2")?
        .execute(params![w.id, w.scope])?;
    if chunks + 1 >= w.compact_after.max(1) {
        // Compaction: the chunks are folded into one snapshot in the same
        // transaction as the write that crossed the threshold.
        conn.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
            .execute([w.id])?;
        conn.prepare_cached(
            "UPDATE docs SET snapshot = ?2, heads = ?3, chunk_count = 0, updated_at = ?4 \
             WHERE id = ?1",
        )?
        .execute(params![w.id, doc.save(), w.heads, w.now])?;
    } else {
        // A document's chunks are numbered 1..=chunk_count (every build has
        // written the chunk and the count together, and compaction resets
        // both), so the next number is known without asking for MAX(seq):
        // SQLite re-prepares a statement with that subquery on every run
        // (measured, `StatementStatus::RePrepare`), a parse per write.
        conn.prepare_cached("INSERT INTO doc_chunks (doc_id, seq, bytes) VALUES (?1, ?2, ?3)")?
            .execute(params![w.id, chunks + 1, change])?;
        conn.prepare_cached(
            "UPDATE docs SET heads = ?2, chunk_count = chunk_count + 1, updated_at = ?3 \
             WHERE id = ?1",
        )?
        .execute(params![w.id, w.heads, w.now])?;
    }
    Ok(())
}

/// Notes in the change journal that a document changed (or was removed).
pub(crate) fn journal(
    conn: &Connection,
    kind: DocKind,
    id: &str,
    removed: bool,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO temp.changed_docs (id, kind, removed) VALUES (?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET removed = excluded.removed",
    )?
    .execute(params![id, kind.as_str(), removed])?;
    Ok(())
}

/// Worker profiles as a write in progress sees them (for the access
/// module's order rules).
struct BatchLookup<'b, 's>(&'b Batch<'s>);

impl crate::access::Lookup for BatchLookup<'_, '_> {
    fn worker(&self, id: &str) -> Option<Worker> {
        self.0.get::<Worker>(id).ok()
    }
}

/// One write in progress: a SQLite transaction. See [`Store::batch`].
pub struct Batch<'s> {
    tx: rusqlite::Transaction<'s>,
    /// Who this device writes as (its credential's worker and role): every
    /// change is judged by the access module as its peers will judge it.
    principal: crate::access::Principal,
    /// Always true, except in tests that play a malicious app writing
    /// behind the access module's back (`Store::forge`).
    judge_effects: bool,
    device: &'s DeviceIdentity,
    keys: &'s crate::trust::DeviceKeys,
    policy: &'s Policy,
    compact_after: u32,
    now: Millis,
    journal: bool,
    /// The store's document cache.
    docs: &'s cache::DocCache,
    /// Documents this write changed (id, heads, document and the value it
    /// now holds): cached once it commits, dropped if it does not.
    written: std::collections::VecDeque<(String, String, cache::Cached)>,
}

impl Batch<'_> {
    /// The time this write is stamped with.
    pub fn now(&self) -> Millis {
        self.now
    }

    /// Reads an aggregate as this write sees it.
    pub fn get<T: Aggregate>(&self, id: &str) -> Result<T, StoreError> {
        read_cached(&self.tx, self.docs, &self.device.actor, id)
    }

    /// Sets a meta value (station id...).
    pub(crate) fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, value])?;
        Ok(())
    }

    /// Writes one aggregate within this batch; see [`Store::put`].
    pub fn put<T: Indexed + crate::access::Guarded>(
        &mut self,
        author: &Author,
        action: &str,
        id: &str,
        mutate: impl FnOnce(Option<T>) -> Result<T, StoreError>,
    ) -> Result<Written, StoreError> {
        if let Author::Worker(w) = author {
            let known: bool = self
                .tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM idx_worker WHERE id = ?1)")?
                .query_row([w.as_str()], |r| r.get(0))?;
            if !known {
                return Err(StoreError::NotFound {
                    kind: "worker",
                    id: w.to_string(),
                });
            }
        }
        let existing = match take_document(&self.tx, self.docs, &self.device.actor, id)? {
            Some((kind, heads, cached)) if kind != T::KIND => {
                self.docs.put(id, heads, cached);
                return Err(StoreError::NotFound {
                    kind: T::KIND.as_str(),
                    id: id.to_string(),
                });
            }
            Some((_, _, cached)) => Some(cached),
            None => None,
        };
        let is_new = existing.is_none();
        let current = match &existing {
            Some(cached) => Some(aggregate::<T>(id, cached)?),
            None => None,
        };
        let existing = existing.map(|c| c.doc);
        let value = mutate(current.clone())?;
        value.validate(self.now)?;
        // The same judgement a peer applies on receiving this change.
        if self.judge_effects {
            T::judge(
                current.as_ref(),
                &value,
                &self.principal,
                &BatchLookup(&*self),
            )?;
        }
        if value.doc_id() != id {
            return Err(ValidationError::new(
                "id",
                Violation::Inconsistent("an aggregate's id cannot change"),
            )
            .into());
        }
        let genesis = if is_new { value.genesis() } else { None };
        let mut doc = match (existing, &genesis) {
            (Some(doc), _) => doc,
            (None, Some(skeleton)) => {
                Document::genesis(skeleton, &self.device.actor).map_err(|source| {
                    StoreError::Corrupt {
                        id: id.to_string(),
                        source,
                    }
                })?
            }
            (None, None) => Document::new(&self.device.actor),
        };
        let note = ChangeNote {
            action: action.to_string(),
            worker: author.worker().cloned(),
            resident: author.resident().cloned(),
        };
        let written = doc
            .write(&value, current.as_ref(), &note, self.now)
            .map_err(|source| StoreError::Corrupt {
                id: id.to_string(),
                source,
            })?;
        let change = match written {
            Some(change) => change,
            // A new document that is only its skeleton is still new.
            None if is_new && genesis.is_some() => Vec::new(),
            None => {
                if let (false, Some(current)) = (is_new, current) {
                    self.docs.put(
                        id,
                        heads_text(&doc.heads()),
                        cache::Cached::with(doc, current),
                    );
                }
                return Ok(Written::Unchanged);
            }
        };
        let heads = heads_text(&doc.heads());
        let scope = value.scope().to_key();
        attest::attest_local(&self.tx, self.keys, id, &mut doc)?;
        persist_change(
            &self.tx,
            &DocWrite {
                id,
                kind: T::KIND,
                scope: &scope,
                heads: &heads,
                now: self.now,
                compact_after: self.compact_after,
                journal: self.journal,
            },
            &mut doc,
            if is_new { None } else { Some(&change) },
        )?;
        value.write_index(
            &self.tx,
            &IndexContext {
                policy: self.policy,
            },
        )?;
        // The audit row names who acted: a worker id, or `resident:<id>`.
        let who = match author {
            Author::Worker(w) => Some(w.to_string()),
            Author::Resident(r) => Some(format!("resident:{r}")),
            Author::System => None,
        };
        audit::append(
            &self.tx,
            &audit::NewEntry {
                at: self.now,
                device_id: &self.device.device_id,
                worker_id: who.as_deref(),
                doc_id: id,
                kind: T::KIND.as_str(),
                action,
                heads: &heads,
            },
        )?;
        // Only the last few written can stay cached: a batch of hundreds
        // (an import, the fixture) must not hold them all in memory.
        if self.written.len() >= cache::CACHED_DOCUMENTS {
            self.written.pop_front();
        }
        self.written.push_back((
            id.to_string(),
            heads.clone(),
            cache::Cached::with(doc, value),
        ));
        Ok(Written::Changed { heads })
    }
}

#[cfg(test)]
mod case_tests;
#[cfg(test)]
mod order_tests;
#[cfg(test)]
mod setup_tests;
#[cfg(test)]
mod tests;
