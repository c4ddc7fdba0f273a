//! What a store keeps in memory so that it does not redo work: documents
//! recently read or written, with the aggregate each holds (the write path
//! otherwise loads a document from its snapshot and chunks and hydrates it
//! for every call), and the device's own credential
//! once its signature is checked (every write and every session asks who
//! this device writes as).
//!
//! Nothing here can go stale unnoticed: a cached document is used only
//! while the `heads` the `docs` table records for it are the ones it was
//! cached with (every path that writes a document — local writes, sync,
//! bundles, purges — updates or removes that row), and a credential only
//! while the bytes it was checked from are the ones stored. The SQLite
//! file stays the one truth; the caches only skip reloading it.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use automerge::ActorId;

use crate::doc::Document;
use crate::trust::{Credential, Signed};

/// How many documents a store keeps in memory: a volunteer's current
/// households, their orders and the station document, with room to spare.
/// Bounded, since a cheap phone has little memory and an export walks every
/// document.
pub(crate) const CACHED_DOCUMENTS: usize = 48;

/// Documents by id, each with the heads (as the `docs` table writes them)
/// it holds. Oldest inserted is evicted first.
#[derive(Default)]
pub(crate) struct DocCache(Mutex<Docs>, AtomicU64);

#[derive(Default)]
struct Docs {
    by_id: HashMap<String, (String, Cached)>,
    order: VecDeque<String>,
}

/// A cached document and, once known, the aggregate it holds (hydrating a
/// household costs as much as loading it).
pub(crate) struct Cached {
    pub doc: Document,
    pub value: Option<Box<dyn Any + Send>>,
}

impl Cached {
    /// A document whose aggregate is not known yet.
    pub(crate) fn doc(doc: Document) -> Self {
        Cached { doc, value: None }
    }

    /// A document and the aggregate it holds.
    pub(crate) fn with<T: Any + Send>(doc: Document, value: T) -> Self {
        Cached {
            doc,
            value: Some(Box::new(value)),
        }
    }

    /// The aggregate this document holds, as `T`, if known.
    pub(crate) fn value<T: Any + Clone>(&self) -> Option<T> {
        self.value.as_ref()?.downcast_ref::<T>().cloned()
    }
}

impl DocCache {
    /// Takes the cached copy of `id` if it holds exactly `heads`, as
    /// written by `actor`. The copy leaves the cache: a write mutates it,
    /// and it comes back only with the write committed ([`DocCache::put`]).
    pub(crate) fn take(&self, id: &str, heads: &str, actor: &ActorId) -> Option<Cached> {
        let mut docs = self.0.lock().ok()?;
        let (cached_heads, mut cached) = docs.by_id.remove(id)?;
        docs.order.retain(|k| k != id);
        (cached_heads == heads).then(|| {
            cached.doc.set_actor(actor);
            cached
        })
    }

    /// Keeps `doc`, which holds `heads`, for the next read or write of
    /// `id`.
    pub(crate) fn put(&self, id: &str, heads: String, cached: Cached) {
        let Ok(mut docs) = self.0.lock() else {
            return;
        };
        if docs.by_id.insert(id.to_string(), (heads, cached)).is_some() {
            docs.order.retain(|k| k != id);
        }
        docs.order.push_back(id.to_string());
        while docs.order.len() > CACHED_DOCUMENTS {
            if let Some(old) = docs.order.pop_front() {
                docs.by_id.remove(&old);
            }
        }
    }

    /// Forgets every cached document (tests that damage the file behind
    /// the store's back).
    #[cfg(test)]
    pub(crate) fn clear(&self) {
        if let Ok(mut docs) = self.0.lock() {
            docs.by_id.clear();
            docs.order.clear();
        }
    }

    /// Counts a document read from disk because the cache did not hold
    /// it as stored.
    pub(crate) fn missed(&self) {
        self.1.fetch_add(1, Ordering::Relaxed);
    }

    /// How many documents were read from disk past the cache (tests).
    #[cfg(test)]
    pub(crate) fn misses(&self) -> u64 {
        self.1.load(Ordering::Relaxed)
    }
}

/// What a credential was checked from: the credential the device stored,
/// the newest renewal the registry holds for it, and the station key.
pub(crate) type CredentialSource = (Option<String>, Option<Signed>, Option<[u8; 32]>);

/// One value derived from stored state, kept with the state it was derived
/// from (`K`: the stored bytes or heads read back cheaply) and recomputed
/// when that changes: the device's own credential, the scopes a store
/// holds by default (from the station document's grids).
pub(crate) struct Memo<K, V>(Mutex<Option<(K, V)>>);

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo(Mutex::new(None))
    }
}

impl<K: PartialEq, V: Clone> Memo<K, V> {
    /// The value derived from `source`, if it was.
    pub(crate) fn get(&self, source: &K) -> Option<V> {
        let guard = self.0.lock().ok()?;
        let (s, v) = guard.as_ref()?;
        (s == source).then(|| v.clone())
    }

    /// Remembers what `source` derived to.
    pub(crate) fn put(&self, source: K, value: V) {
        if let Ok(mut guard) = self.0.lock() {
            *guard = Some((source, value));
        }
    }
}

/// Credentials whose station signature was checked, by the exact bytes
/// checked (body, signature, station key): verification is a pure function
/// of them, so a hit is as good as checking again.
#[derive(Default)]
pub(crate) struct VerifiedCredentials(Mutex<HashMap<SignedBytes, Credential>>);

/// A signed credential's body and signature, and the station key checked.
type SignedBytes = (Vec<u8>, Vec<u8>, [u8; 32]);

/// At most this many are kept (a station has tens of devices); when full,
/// the memo starts over.
const VERIFIED_CREDENTIALS: usize = 512;

impl VerifiedCredentials {
    /// The credential `signed` was checked to under `station`, if it was.
    pub(crate) fn get(&self, signed: &Signed, station: &[u8; 32]) -> Option<Credential> {
        let memo = self.0.lock().ok()?;
        memo.get(&(signed.body.clone(), signed.signature.clone(), *station))
            .cloned()
    }

    /// Remembers that `signed` checked to `credential` under `station`.
    pub(crate) fn put(&self, signed: &Signed, station: &[u8; 32], credential: Credential) {
        if let Ok(mut memo) = self.0.lock() {
            if memo.len() >= VERIFIED_CREDENTIALS {
                memo.clear();
            }
            memo.insert(
                (signed.body.clone(), signed.signature.clone(), *station),
                credential,
            );
        }
    }
}
