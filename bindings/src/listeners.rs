//! Listener traits the host implements, and the handles that unregister
//! them.
//!
//! The registry holds every listener strongly until its handle's
//! `unregister()` is called or the store closes: an app that drops the
//! handle (or whose garbage collector collects it) still hears every crisis
//! alert. Listeners are called on the thread that made the change, with no
//! lock of the store held (a listener may call back into the store); the
//! Kotlin and Swift adapters move them onto an executor or queue the app
//! chooses.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, Weak};

use crate::records::{ChangeOrigin, CrisisAlert, DocumentKind, OrderConflict, StoreChange};
use crate::{Origin, Shared};

/// Hears of every write to the store.
#[uniffi::export(with_foreign)]
pub trait StoreChangeListener: Send + Sync {
    /// A document changed (kind, id, origin; never its content).
    fn on_change(&self, change: StoreChange);
}

/// Hears of red flags at the answer that raised them, and of crisis tiers.
#[uniffi::export(with_foreign)]
pub trait CrisisListener: Send + Sync {
    /// Open the crisis path now.
    fn on_crisis(&self, alert: CrisisAlert);
}

/// Hears of order conflicts, e.g. an acceptance lost to an earlier one.
#[uniffi::export(with_foreign)]
pub trait ConflictListener: Send + Sync {
    /// A conflict was found (after a sync or an order action).
    fn on_conflict(&self, conflict: OrderConflict);
}

/// Hears of sync progress, for a progress bar.
#[uniffi::export(with_foreign)]
pub trait SyncProgressListener: Send + Sync {
    /// Documents done of the total known so far.
    fn on_progress(&self, done: u64, total: u64);
}

enum Registered {
    Store(Arc<dyn StoreChangeListener>),
    Crisis(Arc<dyn CrisisListener>),
    Conflict(Arc<dyn ConflictListener>),
    Sync(Arc<dyn SyncProgressListener>),
}

/// The listeners of one store.
#[derive(Default)]
pub(crate) struct Listeners {
    next: Mutex<u64>,
    all: Mutex<BTreeMap<u64, Registered>>,
}

/// A registered listener. The listener stays registered until
/// `unregister()` is called or the store closes — not when this handle is
/// closed or collected, so a forgotten handle never silences crisis alerts.
#[derive(uniffi::Object)]
pub struct ListenerHandle {
    id: u64,
    shared: Weak<Shared>,
}

#[uniffi::export]
impl ListenerHandle {
    /// Unregisters the listener: it hears nothing more. Calling it again,
    /// or after the store closed, does nothing.
    pub fn unregister(&self) {
        if let Some(shared) = self.shared.upgrade() {
            shared.listeners.remove(self.id);
        }
    }
}

impl Listeners {
    fn add(&self, shared: &Arc<Shared>, r: Registered) -> Arc<ListenerHandle> {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        *next += 1;
        let id = *next;
        self.all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, r);
        Arc::new(ListenerHandle {
            id,
            shared: Arc::downgrade(shared),
        })
    }

    /// Drops every listener (the store closed).
    pub(crate) fn clear(&self) {
        self.all.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    fn remove(&self, id: u64) {
        self.all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    pub(crate) fn add_store(
        &self,
        s: &Arc<Shared>,
        l: Arc<dyn StoreChangeListener>,
    ) -> Arc<ListenerHandle> {
        self.add(s, Registered::Store(l))
    }

    pub(crate) fn add_crisis(
        &self,
        s: &Arc<Shared>,
        l: Arc<dyn CrisisListener>,
    ) -> Arc<ListenerHandle> {
        self.add(s, Registered::Crisis(l))
    }

    pub(crate) fn add_conflict(
        &self,
        s: &Arc<Shared>,
        l: Arc<dyn ConflictListener>,
    ) -> Arc<ListenerHandle> {
        self.add(s, Registered::Conflict(l))
    }

    pub(crate) fn add_sync(
        &self,
        s: &Arc<Shared>,
        l: Arc<dyn SyncProgressListener>,
    ) -> Arc<ListenerHandle> {
        self.add(s, Registered::Sync(l))
    }

    /// Calls `f` on each listener, outside the registry's lock (a listener
    /// may register or close handles) and never letting a failing host
    /// callback break the write that already succeeded.
    fn each(&self, f: impl Fn(&Registered)) {
        let listeners: Vec<Registered> = self
            .all
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|r| match r {
                Registered::Store(l) => Registered::Store(l.clone()),
                Registered::Crisis(l) => Registered::Crisis(l.clone()),
                Registered::Conflict(l) => Registered::Conflict(l.clone()),
                Registered::Sync(l) => Registered::Sync(l.clone()),
            })
            .collect();
        for r in &listeners {
            let _ = catch_unwind(AssertUnwindSafe(|| f(r)));
        }
    }

    /// Tells the store listeners of the documents a call changed.
    pub(crate) fn changed(&self, changes: &[anxin_core::store::Changed], origin: Origin) {
        let changes: Vec<StoreChange> = changes
            .iter()
            .map(|c| StoreChange {
                kind: DocumentKind::from(c.kind),
                id: c.id.clone(),
                origin: match origin {
                    Origin::Local => ChangeOrigin::ThisDevice,
                    Origin::Sync => ChangeOrigin::Sync,
                    Origin::Bundle => ChangeOrigin::Bundle,
                },
                removed: c.removed,
            })
            .collect();
        self.each(|r| {
            if let Registered::Store(l) = r {
                for change in &changes {
                    l.on_change(change.clone());
                }
            }
        });
    }

    pub(crate) fn crisis(&self, alert: &CrisisAlert) {
        self.each(|r| {
            if let Registered::Crisis(l) = r {
                l.on_crisis(alert.clone());
            }
        });
    }

    pub(crate) fn conflict(&self, c: &OrderConflict) {
        self.each(|r| {
            if let Registered::Conflict(l) = r {
                l.on_conflict(c.clone());
            }
        });
    }

    pub(crate) fn progress(&self, done: u64, total: u64) {
        self.each(|r| {
            if let Registered::Sync(l) = r {
                l.on_progress(done, total);
            }
        });
    }
}
