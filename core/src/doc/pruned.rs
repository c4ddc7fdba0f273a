//! Reconciling only what changed. `autosurgeon::reconcile` walks the whole
//! aggregate and reads every stored value to compare it with the new one;
//! for a household of twenty members and visits that is hundreds of
//! automerge reads to record one visit, most of an acknowledged write's
//! time. The write path knows the value the document holds (hydrated or
//! cached) and the new one, so it compares them itself — as JSON, subtree
//! by subtree — and lets autosurgeon reconcile only the map entries that
//! differ.
//!
//! The wrappers here pass every call through to autosurgeon's own
//! reconcilers, except a map `put` whose old and new subtrees are equal,
//! which is skipped: autosurgeon would find nothing to change there.
//! Sequences, text and scalars are reconciled as autosurgeon does. Debug
//! builds (every test) reconcile the whole value again afterwards and
//! require that it finds nothing left to write.

use autosurgeon::reconcile::{LoadKey, MapReconciler};
use autosurgeon::{Prop, ReadDoc, Reconcile, ReconcileError, Reconciler};
use serde_json::Value as Json;

/// A value to reconcile, with the JSON of what the document holds at its
/// place (`old`) and of the value itself (`new`), where known.
pub(super) struct Pruned<'j, R> {
    pub value: R,
    pub old: Option<&'j Json>,
    pub new: Option<&'j Json>,
}

impl<R: Reconcile> Reconcile for Pruned<'_, R> {
    type Key<'a> = R::Key<'a>;

    fn reconcile<Rc: Reconciler>(&self, reconciler: Rc) -> Result<(), Rc::Error> {
        self.value.reconcile(PruningReconciler {
            inner: reconciler,
            old: self.old,
            new: self.new,
        })
    }

    fn hydrate_key<'a, D: ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
        prop: Prop<'_>,
    ) -> Result<LoadKey<Self::Key<'a>>, ReconcileError> {
        R::hydrate_key(doc, obj, prop)
    }

    fn key(&self) -> LoadKey<Self::Key<'_>> {
        self.value.key()
    }
}

struct PruningReconciler<'j, Rc> {
    inner: Rc,
    old: Option<&'j Json>,
    new: Option<&'j Json>,
}

impl<'j, Rc: Reconciler> Reconciler for PruningReconciler<'j, Rc> {
    type Error = Rc::Error;
    type Map<'a>
        = PruningMap<'j, Rc::Map<'a>>
    where
        Self: 'a;
    type Seq<'a>
        = Rc::Seq<'a>
    where
        Self: 'a;
    type Text<'a>
        = Rc::Text<'a>
    where
        Self: 'a;
    type Counter<'a>
        = Rc::Counter<'a>
    where
        Self: 'a;

    fn none(&mut self) -> Result<(), Self::Error> {
        self.inner.none()
    }

    fn bytes<B: AsRef<[u8]>>(&mut self, value: B) -> Result<(), Self::Error> {
        self.inner.bytes(value)
    }

    fn timestamp(&mut self, value: i64) -> Result<(), Self::Error> {
        self.inner.timestamp(value)
    }

    fn boolean(&mut self, value: bool) -> Result<(), Self::Error> {
        self.inner.boolean(value)
    }

    fn str<S: AsRef<str>>(&mut self, value: S) -> Result<(), Self::Error> {
        self.inner.str(value)
    }

    fn u64(&mut self, value: u64) -> Result<(), Self::Error> {
        self.inner.u64(value)
    }

    fn i64(&mut self, value: i64) -> Result<(), Self::Error> {
        self.inner.i64(value)
    }

    fn f64(&mut self, value: f64) -> Result<(), Self::Error> {
        self.inner.f64(value)
    }

    fn map(&mut self) -> Result<Self::Map<'_>, Self::Error> {
        Ok(PruningMap {
            inner: self.inner.map()?,
            old: self.old,
            new: self.new,
        })
    }

    fn seq(&mut self) -> Result<Self::Seq<'_>, Self::Error> {
        self.inner.seq()
    }

    fn text(&mut self) -> Result<Self::Text<'_>, Self::Error> {
        self.inner.text()
    }

    fn counter(&mut self) -> Result<Self::Counter<'_>, Self::Error> {
        self.inner.counter()
    }

    fn heads(&self) -> &[automerge::ChangeHash] {
        self.inner.heads()
    }
}

struct PruningMap<'j, M> {
    inner: M,
    old: Option<&'j Json>,
    new: Option<&'j Json>,
}

impl<M: MapReconciler> MapReconciler for PruningMap<'_, M> {
    type Error = M::Error;
    type EntriesIter<'a>
        = M::EntriesIter<'a>
    where
        Self: 'a;

    fn entries(&self) -> Self::EntriesIter<'_> {
        self.inner.entries()
    }

    fn entry<P: AsRef<str>>(&self, prop: P) -> Option<automerge::Value<'_>> {
        self.inner.entry(prop)
    }

    fn put<R: Reconcile, P: AsRef<str>>(&mut self, prop: P, value: R) -> Result<(), Self::Error> {
        let old = self.old.and_then(|o| o.get(prop.as_ref()));
        let new = self.new.and_then(|n| n.get(prop.as_ref()));
        if let (Some(old), Some(new)) = (old, new) {
            if old == new {
                return Ok(());
            }
        }
        self.inner.put(prop, Pruned { value, old, new })
    }

    fn delete<P: AsRef<str>>(&mut self, prop: P) -> Result<(), Self::Error> {
        self.inner.delete(prop)
    }

    fn hydrate_entry_key<'a, R: Reconcile, P: AsRef<str>>(
        &self,
        prop: P,
    ) -> Result<LoadKey<R::Key<'a>>, Self::Error> {
        self.inner.hydrate_entry_key::<R, P>(prop)
    }

    fn retain<F: FnMut(&str, automerge::ValueRef<'_>) -> bool>(
        &mut self,
        pred: F,
    ) -> Result<(), Self::Error> {
        self.inner.retain(pred)
    }
}

/// The JSON a value is compared as (`None` if it cannot be serialised:
/// then nothing is pruned).
pub(super) fn json<T: serde::Serialize>(value: &T) -> Option<Json> {
    serde_json::to_value(value).ok()
}
