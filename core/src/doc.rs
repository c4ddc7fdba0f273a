//! Mapping aggregates onto automerge documents, one document per aggregate.
//!
//! Owns: the `Aggregate` trait (kind, id, scope, validation of each aggregate
//! type), `Document` (an automerge document with this device's actor), the
//! metadata written into every change (action and acting worker), and reading
//! a document's history back.
//!
//! Writes go through autosurgeon: hydrate the current value, change it in
//! Rust, reconcile it back. Reconcile writes only what differs, so a change
//! made on one phone touches only the fields it changed and merges cleanly
//! with a concurrent change to other fields on another phone.

use automerge::{ActorId, AutoCommit, ChangeHash};
use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use crate::model::*;

/// Something stored as one automerge document.
pub trait Aggregate: Reconcile + Hydrate + Serialize + Clone + PartialEq + Send + 'static {
    /// The document kind.
    const KIND: DocKind;
    /// The document id (the aggregate's id).
    fn doc_id(&self) -> &str;
    /// Which devices may hold it.
    fn scope(&self) -> Scope;
    /// Checks every field; `now` bounds dates such as birth years.
    fn validate(&self, now: Millis) -> Result<(), ValidationError>;
    /// For aggregates that several devices may create while apart (a
    /// resident's case file, whose id is derived from the resident's): the
    /// skeleton written as the document's first change, byte-identical on
    /// every device, so their later changes share one history instead of
    /// two conflicting roots.
    fn genesis(&self) -> Option<Self> {
        None
    }
}

mod pruned;

impl Aggregate for Station {
    const KIND: DocKind = DocKind::Station;
    fn doc_id(&self) -> &str {
        self.id.as_str()
    }
    fn scope(&self) -> Scope {
        Scope::Station
    }
    fn validate(&self, _now: Millis) -> Result<(), ValidationError> {
        Station::validate(self)
    }
}

impl Aggregate for Roster {
    const KIND: DocKind = DocKind::Roster;
    fn doc_id(&self) -> &str {
        self.id.as_str()
    }
    fn scope(&self) -> Scope {
        Scope::Grid(self.grid_id.clone())
    }
    fn validate(&self, _now: Millis) -> Result<(), ValidationError> {
        Roster::validate(self)
    }
}

impl Aggregate for Household {
    const KIND: DocKind = DocKind::Household;
    fn doc_id(&self) -> &str {
        self.id.as_str()
    }
    fn scope(&self) -> Scope {
        Scope::Grid(self.grid_id.clone())
    }
    fn validate(&self, now: Millis) -> Result<(), ValidationError> {
        Household::validate(self, now)
    }
}

impl Aggregate for Worker {
    const KIND: DocKind = DocKind::Worker;
    fn doc_id(&self) -> &str {
        self.id.as_str()
    }
    fn scope(&self) -> Scope {
        Scope::Station
    }
    fn validate(&self, _now: Millis) -> Result<(), ValidationError> {
        Worker::validate(self)
    }
}

impl Aggregate for Request {
    const KIND: DocKind = DocKind::Request;
    fn doc_id(&self) -> &str {
        self.id.as_str()
    }
    fn scope(&self) -> Scope {
        Scope::Grid(self.grid_id.clone())
    }
    fn validate(&self, _now: Millis) -> Result<(), ValidationError> {
        Request::validate(self)
    }
}

impl Aggregate for Activity {
    const KIND: DocKind = DocKind::Activity;
    fn doc_id(&self) -> &str {
        self.id.as_str()
    }
    fn scope(&self) -> Scope {
        Activity::scope(self)
    }
    fn validate(&self, _now: Millis) -> Result<(), ValidationError> {
        Activity::validate(self)
    }
}

impl Aggregate for Case {
    const KIND: DocKind = DocKind::Case;
    fn doc_id(&self) -> &str {
        self.id.as_str()
    }
    fn scope(&self) -> Scope {
        Scope::CaseTeam(self.team.clone())
    }
    fn validate(&self, _now: Millis) -> Result<(), ValidationError> {
        Case::validate(self)
    }
    fn genesis(&self) -> Option<Self> {
        Some(Case::skeleton(
            &self.resident_id,
            &self.household_id,
            &self.team,
        ))
    }
}

/// Who made a change: a worker of the station, or the system itself (setting
/// up a store, a migration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    /// A worker acting through an app or the command line.
    Worker(WorkerId),
    /// A resident acting for their own household (rating an order,
    /// acknowledging hours), through a worker's phone or their own.
    Resident(ResidentId),
    /// The software itself.
    System,
}

impl Author {
    /// The worker id, if a worker acted.
    pub fn worker(&self) -> Option<&WorkerId> {
        match self {
            Author::Worker(w) => Some(w),
            Author::Resident(_) | Author::System => None,
        }
    }

    /// The resident id, if a resident acted.
    pub fn resident(&self) -> Option<&ResidentId> {
        match self {
            Author::Resident(r) => Some(r),
            Author::Worker(_) | Author::System => None,
        }
    }
}

/// What is written into every automerge change's message: the action code
/// (e.g. `household.add_resident`) and the acting worker. Never a name or a
/// value: the message travels with the document to every device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeNote {
    /// What was done.
    #[serde(rename = "a")]
    pub action: String,
    /// Who did it (a worker id), absent for the system.
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<WorkerId>,
    /// The acting resident, when a resident acted.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub resident: Option<ResidentId>,
}

/// A document failed to load, decode or update.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The bytes are not a valid automerge document.
    #[error("the document's bytes cannot be decoded")]
    Undecodable,
    /// The document decodes but does not have the shape of its kind.
    #[error("the document does not have the shape of a {kind}")]
    WrongShape {
        /// The expected kind.
        kind: &'static str,
    },
    /// Writing into the document failed.
    #[error("the document could not be updated")]
    Update,
}

/// One automerge document, opened with this device's actor id.
#[derive(Clone)]
pub struct Document {
    inner: AutoCommit,
}

impl Document {
    /// A new, empty document written by `actor`.
    pub fn new(actor: &ActorId) -> Self {
        Self {
            inner: AutoCommit::new().with_actor(actor.clone()),
        }
    }

    /// A new document whose first change is `skeleton`, written by an actor
    /// derived from the document's kind and id at time 0 with no message:
    /// the same bytes, hence the same change hash, on every device. Later
    /// changes are written by `actor`.
    pub fn genesis<T: Aggregate>(skeleton: &T, actor: &ActorId) -> Result<Self, DocError> {
        let mut inner = AutoCommit::new().with_actor(genesis_actor(T::KIND, skeleton.doc_id()));
        autosurgeon::reconcile(&mut inner, skeleton).map_err(|_| DocError::Update)?;
        inner.commit_with(automerge::transaction::CommitOptions::default().with_time(0));
        Ok(Self {
            inner: inner.with_actor(actor.clone()),
        })
    }

    /// Loads a snapshot and the incremental chunks saved after it.
    pub fn load<'a>(
        actor: &ActorId,
        snapshot: &[u8],
        chunks: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, DocError> {
        let mut inner = AutoCommit::load(snapshot).map_err(|_| DocError::Undecodable)?;
        for chunk in chunks {
            inner
                .load_incremental(chunk)
                .map_err(|_| DocError::Undecodable)?;
        }
        Ok(Self {
            inner: inner.with_actor(actor.clone()),
        })
    }

    /// Makes `actor` the author of this document's next changes (a cached
    /// copy may have been last written under another identity's actor).
    pub(crate) fn set_actor(&mut self, actor: &ActorId) {
        self.inner.set_actor(actor.clone());
    }

    /// Reads the aggregate this document holds.
    pub fn read<T: Aggregate>(&self) -> Result<T, DocError> {
        autosurgeon::hydrate(&self.inner).map_err(|_| DocError::WrongShape {
            kind: T::KIND.as_str(),
        })
    }

    /// Makes the document hold `value`, as one automerge change carrying
    /// `note`. Returns the change's bytes (to append to the store), or `None`
    /// when `value` equals what the document already holds.
    ///
    /// `holds`: the value the document holds now, when the caller knows it
    /// (the write path always does): then only the parts of `value` that
    /// differ from it are reconciled (see `pruned`).
    pub fn write<T: Aggregate>(
        &mut self,
        value: &T,
        holds: Option<&T>,
        note: &ChangeNote,
        at: Millis,
    ) -> Result<Option<Vec<u8>>, DocError> {
        let before = self.inner.get_heads();
        let jsons = holds.and_then(|old| Some((pruned::json(old)?, pruned::json(value)?)));
        match &jsons {
            Some((old, new)) => {
                let pruned = pruned::Pruned {
                    value,
                    old: Some(old),
                    new: Some(new),
                };
                autosurgeon::reconcile(&mut self.inner, pruned).map_err(|_| DocError::Update)?;
                // Every test proves the pruning left nothing out: the whole
                // value reconciled again writes nothing more.
                #[cfg(debug_assertions)]
                {
                    use automerge::transaction::Transactable;
                    let ops = self.inner.pending_ops();
                    autosurgeon::reconcile(&mut self.inner, value).map_err(|_| DocError::Update)?;
                    assert_eq!(
                        self.inner.pending_ops(),
                        ops,
                        "a pruned reconcile of a {} left changes out",
                        T::KIND.as_str()
                    );
                }
            }
            None => autosurgeon::reconcile(&mut self.inner, value).map_err(|_| DocError::Update)?,
        }
        let message = serde_json::to_string(note).map_err(|_| DocError::Update)?;
        let options = automerge::transaction::CommitOptions::default()
            .with_message(message)
            .with_time(at / 1000);
        match self.inner.commit_with(options) {
            None => Ok(None),
            Some(_) => Ok(Some(self.inner.save_after(&before))),
        }
    }

    /// The whole document, compacted, for a snapshot.
    pub fn save(&mut self) -> Vec<u8> {
        self.inner.save()
    }

    /// The current heads, sorted.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        let mut heads = self.inner.get_heads();
        heads.sort();
        heads
    }

    /// The document as canonical JSON (keys in sorted order, the winning value
    /// where concurrent writes conflict), whatever its kind.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(automerge::AutoSerde::from(&self.inner))
            .unwrap_or(serde_json::Value::Null)
    }

    /// Every change in the document's history, oldest first: who, when, what
    /// (the action code and the paths it touched — keys, never values).
    pub fn history(&mut self) -> Vec<ChangeSummary> {
        let changes = self.inner.get_changes(&[]);
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let note = change
                .message()
                .and_then(|m| serde_json::from_str::<ChangeNote>(m).ok());
            let deps = change.deps().to_vec();
            let patches = self.inner.diff(&deps, &[change.hash()]);
            let mut paths: Vec<String> = patches.iter().map(patch_path).collect();
            paths.sort();
            paths.dedup();
            out.push(ChangeSummary {
                hash: change.hash().to_string(),
                actor: change.actor_id().to_hex_string(),
                seq: change.seq(),
                at: change.timestamp() * 1000,
                action: note.as_ref().map(|n| n.action.clone()),
                device: None,
                worker: None,
                // The change's own claim; `Store::history` keeps it only
                // when the station's identity wrote the change.
                recorded_for: note.and_then(|n| n.worker),
                paths,
            });
        }
        out.sort_by(|a, b| {
            a.at.cmp(&b.at)
                .then(a.actor.cmp(&b.actor))
                .then(a.seq.cmp(&b.seq))
        });
        out
    }

    /// The underlying automerge document (for sync).
    pub fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.inner
    }
}

/// The actor that writes a document's genesis change (see
/// [`Document::genesis`]): derived from its kind and id, so no device's.
pub fn genesis_actor(kind: DocKind, id: &str) -> ActorId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("anxin-genesis:{}:{}", kind.as_str(), id).as_bytes());
    ActorId::from(&digest[..16])
}

/// A document's state expressed as the sorted hex of its heads, as kept in the
/// store to compare replicas cheaply.
pub fn heads_text(heads: &[ChangeHash]) -> String {
    heads
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn patch_path(patch: &automerge::Patch) -> String {
    use automerge::{PatchAction, Prop};
    let mut parts: Vec<String> = patch
        .path
        .iter()
        .map(|(_, prop)| match prop {
            Prop::Map(k) => k.clone(),
            Prop::Seq(i) => i.to_string(),
        })
        .collect();
    match &patch.action {
        PatchAction::PutMap { key, .. } | PatchAction::DeleteMap { key } => parts.push(key.clone()),
        PatchAction::PutSeq { index, .. } => parts.push(index.to_string()),
        _ => {}
    }
    if parts.is_empty() {
        "/".to_string()
    } else {
        parts.join("/")
    }
}

/// One change in a document's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeSummary {
    /// The change's hash.
    pub hash: String,
    /// The automerge actor (one per device) that made it.
    pub actor: String,
    /// Its sequence number for that actor.
    pub seq: u64,
    /// When (milliseconds; automerge keeps seconds).
    pub at: Millis,
    /// The action code, if the change carried one.
    pub action: Option<String>,
    /// The enrolled device that wrote it, as its credential says (`None`:
    /// no credential names the actor — a case file's genesis, or a change
    /// from before attestations).
    pub device: Option<String>,
    /// The worker that device belongs to, from its credential: the
    /// verified author. `None` for the station's own identity.
    pub worker: Option<WorkerId>,
    /// When the station's own identity wrote the change at its desk, the
    /// worker it recorded the change for (a claim the station vouches for,
    /// never read from any other device's changes).
    pub recorded_for: Option<WorkerId>,
    /// The document paths the change touched.
    pub paths: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn household() -> Household {
        Household {
            id: HouseholdId::random(),
            grid_id: GridId::random(),
            address: Address {
                compound: "百步亭花园".into(),
                building: "3栋".into(),
                unit: "2单元".into(),
                room: "502".into(),
            },
            members: BTreeMap::new(),
            visits: BTreeMap::new(),
            created_at: 1_790_000_000_000,
        }
    }

    fn resident(name: &str) -> Resident {
        Resident {
            id: ResidentId::random(),
            name: name.into(),
            sex: Sex::Female,
            birth_year: 1940,
            phone: String::new(),
            tags: [VulnerabilityTag::ElderlyAlone].into_iter().collect(),
        }
    }

    fn note(action: &str) -> ChangeNote {
        ChangeNote {
            action: action.into(),
            worker: Some(WorkerId::random()),
            resident: None,
        }
    }

    #[test]
    fn write_read_round_trip_and_no_op_writes_nothing() {
        let actor = ActorId::random();
        let mut doc = Document::new(&actor);
        let mut h = household();
        h.members.insert("r".into(), resident("王秀英"));
        assert!(doc
            .write(&h, None, &note("household.create"), 1)
            .unwrap()
            .is_some());
        assert_eq!(doc.read::<Household>().unwrap(), h);
        assert!(doc
            .write(&h, None, &note("household.noop"), 2)
            .unwrap()
            .is_none());
    }

    /// A write that knows what the document holds reconciles only what
    /// differs, and makes exactly the change the whole reconcile makes
    /// (same operations, so the same change hash), for additions, edits
    /// deep in a member, and removals.
    #[test]
    fn a_pruned_write_makes_the_same_change_as_a_whole_reconcile() {
        let actor = ActorId::random();
        let mut base = Document::new(&actor);
        let mut h = household();
        for name in ["甲", "乙", "丙", "丁"] {
            let r = resident(name);
            h.members.insert(r.id.to_string(), r);
        }
        base.write(&h, None, &note("create"), 1).unwrap();
        let mut next = h.clone();
        let added = resident("戊");
        next.members.insert(added.id.to_string(), added);
        let first = next.members.keys().next().unwrap().clone();
        if let Some(m) = next.members.get_mut(&first) {
            m.phone = "13900000000".into();
            m.tags = std::iter::empty().collect();
        }
        let last = next.members.keys().last().unwrap().clone();
        next.members.remove(&last);
        let action = note("edit");
        let (mut whole, mut pruned) = (base.clone(), base.clone());
        let c1 = whole.write(&next, None, &action, 2).unwrap().unwrap();
        let c2 = pruned.write(&next, Some(&h), &action, 2).unwrap().unwrap();
        assert_eq!(c1, c2);
        assert_eq!(whole.heads(), pruned.heads());
        assert_eq!(pruned.read::<Household>().unwrap(), next);
        // Nothing differs: nothing is written.
        assert!(pruned
            .write(&next, Some(&next), &action, 3)
            .unwrap()
            .is_none());
    }

    #[test]
    fn concurrent_edits_to_different_members_both_survive() {
        let a_actor = ActorId::random();
        let mut a = Document::new(&a_actor);
        let mut h = household();
        a.write(&h, None, &note("create"), 1).unwrap();
        let snapshot = a.save();
        let mut b = Document::load(&ActorId::random(), &snapshot, []).unwrap();

        let mut ha = h.clone();
        let ra = resident("甲");
        ha.members.insert(ra.id.to_string(), ra.clone());
        let ca = a.write(&ha, None, &note("add"), 2).unwrap().unwrap();

        let mut hb: Household = b.read().unwrap();
        let rb = resident("乙");
        hb.members.insert(rb.id.to_string(), rb.clone());
        let cb = b.write(&hb, None, &note("add"), 2).unwrap().unwrap();

        a.automerge().load_incremental(&cb).unwrap();
        b.automerge().load_incremental(&ca).unwrap();
        let merged_a: Household = a.read().unwrap();
        let merged_b: Household = b.read().unwrap();
        assert_eq!(merged_a, merged_b);
        h.members.insert(ra.id.to_string(), ra);
        h.members.insert(rb.id.to_string(), rb);
        assert_eq!(merged_a, h);
        assert_eq!(a.to_json(), b.to_json());
    }

    #[test]
    fn history_names_action_worker_and_paths_but_no_values() {
        let mut doc = Document::new(&ActorId::random());
        let mut h = household();
        doc.write(&h, None, &note("household.create"), 1_790_000_000_000)
            .unwrap();
        let r = resident("CANARY_NAME");
        h.members.insert(r.id.to_string(), r.clone());
        doc.write(&h, None, &note("household.add_resident"), 1_790_000_100_000)
            .unwrap();
        let history = doc.history();
        assert_eq!(history.len(), 2);
        assert_eq!(history[1].action.as_deref(), Some("household.add_resident"));
        assert!(history[1].recorded_for.is_some());
        assert!(history[1]
            .paths
            .iter()
            .any(|p| p.starts_with(&format!("members/{}", r.id))));
        let text = format!("{history:?}");
        assert!(!text.contains("CANARY_NAME"));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(matches!(
            Document::load(&ActorId::random(), b"not automerge", []),
            Err(DocError::Undecodable)
        ));
        let mut doc = Document::new(&ActorId::random());
        let w = Worker {
            id: WorkerId::random(),
            name: "x".into(),
            phone: String::new(),
            role: Role::Volunteer,
            grid_id: None,
            skills: WordSet::default(),
            training: BTreeMap::new(),
            active: true,
            hours: BTreeMap::new(),
        };
        doc.write(&w, None, &note("w"), 1).unwrap();
        assert!(matches!(
            doc.read::<Household>(),
            Err(DocError::WrongShape { kind: "household" })
        ));
    }
}
