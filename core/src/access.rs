//! Who may change what. Two layers, one module:
//!
//! - **Acts** (`permits`, `authorize`): what a role may do in running a
//!   station (places, people, rosters, activities, imports, households),
//!   asked by every store operation through `Batch::require` before it
//!   builds its change.
//! - **Effects** ([`Guarded::judge`]): whether a change's effect on one
//!   document — the value before and after — is one its author may make.
//!   The same judgement runs on every local write (`Batch::put`, with this
//!   device's own credential as the author) and on every change received
//!   from a peer or a bundle (with the credential of the device whose
//!   signing key attested it), so a phone never stores a change its peers
//!   would refuse, and a change one device refuses never reaches another
//!   through it.
//!
//! The order workflow's step rules stay in `dispatch::authorize` (called
//! from here for every new order event); the professional sign-offs of a
//! case file are [`needs_professional`].
//!
//! `Author::System` is the device itself acting without a person (the
//! fixture, the demo's bootstrap, a new station's first administrator): it
//! passes the act table; its effects are judged with the device's own
//! credential like any other write.

use crate::dispatch::{Acting, DispatchError};
use crate::doc::{Aggregate, Author};
use crate::model::*;
use crate::refusal::{Deed, Rule};

/// Something a worker may or may not do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Add, rename or retire communities and grids.
    ManagePlaces,
    /// Add workers, update them, change roles, deactivate, record training,
    /// import volunteer lists.
    ManagePeople,
    /// Assign and unassign grid rosters, name the grid lead, edit contact
    /// cards.
    ManageRosters,
    /// Create activities and supervision sessions, take attendance, credit
    /// their hours.
    ManageActivities,
    /// Import households from a door-to-door list.
    ImportHouseholds,
    /// Move a household to another grid.
    MoveHouseholds,
    /// Record households, residents, tags and canvass visits.
    RecordHouseholds,
    /// Enrol, renew and revoke devices (issue credentials).
    ManageDevices,
}

impl Act {
    /// The act as a refusal names it.
    pub fn deed(self) -> Deed {
        match self {
            Act::ManagePlaces => Deed::ManagePlaces,
            Act::ManagePeople => Deed::ManagePeople,
            Act::ManageRosters => Deed::ManageRosters,
            Act::ManageActivities => Deed::ManageActivities,
            Act::ImportHouseholds => Deed::ImportHouseholds,
            Act::MoveHouseholds => Deed::MoveHousehold,
            Act::RecordHouseholds => Deed::RecordHouseholds,
            Act::ManageDevices => Deed::ManageDevices,
        }
    }

    /// Who may, as the rule a refusal names.
    fn who(self) -> Rule {
        match self {
            Act::ManagePlaces | Act::ManagePeople | Act::ManageRosters | Act::ManageDevices => {
                Rule::OnlyStationAdmin
            }
            Act::ManageActivities | Act::ImportHouseholds | Act::MoveHouseholds => {
                Rule::OnlyCoordinator
            }
            Act::RecordHouseholds => Rule::AnyActiveWorker,
        }
    }
}

/// The rule table: whether a role may do `act`.
pub fn permits(role: Role, act: Act) -> bool {
    let coordinator = matches!(role, Role::StationAdmin | Role::Dispatcher);
    match act {
        Act::ManagePlaces | Act::ManagePeople | Act::ManageRosters | Act::ManageDevices => {
            role == Role::StationAdmin
        }
        Act::ManageActivities | Act::ImportHouseholds | Act::MoveHouseholds => coordinator,
        Act::RecordHouseholds => true,
    }
}

/// Checks an author (with the worker's profile when a worker acts) against
/// the table. An inactive worker may do nothing.
pub fn authorize(author: &Author, worker: Option<&Worker>, act: Act) -> Result<(), DispatchError> {
    let deny = |reason| DispatchError::PermissionDenied {
        action: act.deed(),
        reason,
    };
    match (author, worker) {
        (Author::System, _) => Ok(()),
        (Author::Resident(_), _) => Err(deny(Rule::ResidentsDoNotRunStation)),
        (Author::Worker(_), None) => Err(deny(Rule::ActingWorkerUnknown)),
        (Author::Worker(_), Some(w)) if !w.active => Err(deny(Rule::WorkerNotActive)),
        (Author::Worker(_), Some(w)) if permits(w.role, act) => Ok(()),
        (Author::Worker(_), Some(_)) => Err(deny(act.who())),
    }
}

/// Who wrote a change, as the effect rules need to know them: the worker
/// and role a device credential binds, or the station's own identity
/// (`worker: None`), which holds the station admin's authority (it is the
/// root that makes roles in the first place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The worker the writing device belongs to; `None` for the station.
    pub worker: Option<String>,
    /// That worker's role as the credential states it.
    pub role: Option<Role>,
}

impl Principal {
    /// The station's own identity (its laptop, or a store not enrolled in
    /// any station, such as a test's or a new station before `init`).
    pub fn station() -> Self {
        Principal {
            worker: None,
            role: None,
        }
    }

    /// The author a credential names.
    pub fn of(credential: &crate::trust::Credential) -> Self {
        Principal {
            worker: credential.worker.clone(),
            role: credential.role,
        }
    }

    fn is_station(&self) -> bool {
        self.worker.is_none()
    }

    fn admin(&self) -> bool {
        self.is_station() || self.role == Some(Role::StationAdmin)
    }

    fn coordinator(&self) -> bool {
        self.admin() || self.role == Some(Role::Dispatcher)
    }

    fn is(&self, worker: &str) -> bool {
        self.worker.as_deref() == Some(worker)
    }
}

/// The professional sign-offs of a case file: a review (which may lower a
/// tier) and closing a crisis. Only a counselor or clinician makes them.
pub fn needs_professional(action: &CaseAction) -> bool {
    matches!(
        action,
        CaseAction::Reviewed { .. } | CaseAction::CrisisClosed { .. }
    )
}

/// What the effect rules may look up: a worker's profile (order steps need
/// whether they are active, trained, and which grid they serve).
pub trait Lookup {
    /// A worker's profile, if this device holds it.
    fn worker(&self, id: &str) -> Option<Worker>;
}

type Verdict = Result<(), DispatchError>;

fn deny(action: Deed, reason: Rule) -> Verdict {
    Err(DispatchError::PermissionDenied { action, reason })
}

/// An aggregate whose changes are judged by their effect.
pub trait Guarded: Aggregate {
    /// Whether `who` may turn `before` (`None`: the document is new) into
    /// `after`.
    fn judge(before: Option<&Self>, after: &Self, who: &Principal, look: &dyn Lookup) -> Verdict;
}

/// Entries of an append-only map: none removed, none altered.
fn append_only<V: PartialEq>(
    before: &std::collections::BTreeMap<String, V>,
    after: &std::collections::BTreeMap<String, V>,
    action: Deed,
) -> Verdict {
    for (k, v) in before {
        match after.get(k) {
            Some(w) if w == v => {}
            Some(_) => return deny(action, Rule::EventCannotBeAltered),
            None => return deny(action, Rule::EventCannotBeRemoved),
        }
    }
    Ok(())
}

impl Guarded for Station {
    fn judge(before: Option<&Self>, after: &Self, who: &Principal, _: &dyn Lookup) -> Verdict {
        let Some(before) = before else {
            return if who.admin() {
                Ok(())
            } else {
                deny(Deed::SetUpStation, Rule::OnlyStationAdmin)
            };
        };
        let (mut b, mut a) = (before.clone(), after.clone());
        let moves_changed = b.moves != a.moves;
        b.moves.clear();
        a.moves.clear();
        if b != a && !who.admin() {
            return deny(Deed::ManagePlaces, Rule::OnlyStationAdmin);
        }
        if moves_changed && !who.coordinator() {
            return deny(Deed::MoveHousehold, Rule::OnlyCoordinator);
        }
        Ok(())
    }
}

impl Guarded for Roster {
    fn judge(before: Option<&Self>, after: &Self, who: &Principal, _: &dyn Lookup) -> Verdict {
        if before != Some(after) && !who.admin() {
            return deny(Deed::ManageRosters, Rule::OnlyStationAdmin);
        }
        Ok(())
    }
}

impl Guarded for Activity {
    fn judge(before: Option<&Self>, after: &Self, who: &Principal, _: &dyn Lookup) -> Verdict {
        if before != Some(after) && !who.coordinator() {
            return deny(Deed::ManageActivities, Rule::OnlyCoordinator);
        }
        Ok(())
    }
}

impl Guarded for Household {
    fn judge(before: Option<&Self>, after: &Self, who: &Principal, _: &dyn Lookup) -> Verdict {
        // Any worker whose device holds the grid records households,
        // residents and visits (the scope decides which devices hold it);
        // moving one to another grid is a coordinator's.
        if let Some(b) = before {
            if b.grid_id != after.grid_id && !who.coordinator() {
                return deny(Deed::MoveHousehold, Rule::OnlyCoordinator);
            }
        }
        // A new visit names the device's own worker (the station's desk
        // records for whoever canvassed).
        if !who.is_station() {
            for (k, v) in &after.visits {
                let new = before.is_none_or(|b| !b.visits.contains_key(k));
                if new && !who.is(v.worker_id.as_str()) {
                    return deny(Deed::RecordVisit, Rule::OwnWorkerOnly);
                }
            }
        }
        Ok(())
    }
}

impl Guarded for Worker {
    fn judge(before: Option<&Self>, after: &Self, who: &Principal, _: &dyn Lookup) -> Verdict {
        let profile = |w: &Worker| {
            let mut w = w.clone();
            w.hours.clear();
            w
        };
        if before.map(profile) != Some(profile(after)) && !who.admin() {
            return deny(Deed::ManagePeople, Rule::OnlyStationAdmin);
        }
        let empty = std::collections::BTreeMap::new();
        let before_hours = before.map_or(&empty, |b| &b.hours);
        for (id, entry) in &after.hours {
            match before_hours.get(id) {
                None => {
                    // Hours are credited by the work itself: the worker's
                    // own device completing an order, or a coordinator.
                    if !(who.coordinator() || who.is(after.id.as_str())) {
                        return deny(Deed::CreditHours, Rule::OwnDeviceOrCoordinator);
                    }
                }
                Some(old) => {
                    let (mut o, mut n) = (old.clone(), entry.clone());
                    o.acknowledgements.clear();
                    n.acknowledgements.clear();
                    if o != n {
                        return deny(Deed::CreditHours, Rule::HoursCannotBeAltered);
                    }
                    append_only(
                        &old.acknowledgements,
                        &entry.acknowledgements,
                        Deed::AcknowledgeHours,
                    )?;
                    for (k, ack) in &entry.acknowledgements {
                        if old.acknowledgements.contains_key(k) {
                            continue;
                        }
                        if let Actor::Worker(w) = &ack.by {
                            if !who.is_station() && !who.is(w.as_str()) {
                                return deny(Deed::AcknowledgeHours, Rule::OwnWorkerOnly);
                            }
                        }
                    }
                }
            }
        }
        for id in before_hours.keys() {
            if !after.hours.contains_key(id) {
                return deny(Deed::CreditHours, Rule::HoursCannotBeRemoved);
            }
        }
        Ok(())
    }
}

impl Guarded for Request {
    fn judge(before: Option<&Self>, after: &Self, who: &Principal, look: &dyn Lookup) -> Verdict {
        const ACTION: Deed = Deed::ChangeOrder;
        if let Some(b) = before {
            append_only(&b.events, &after.events, ACTION)?;
            let moved = b.grid_id != after.grid_id;
            if moved && !who.coordinator() {
                return deny(Deed::MoveHousehold, Rule::OnlyCoordinator);
            }
            if (
                &b.id,
                &b.household_id,
                &b.resident_id,
                &b.kind,
                b.created_at,
            ) != (
                &after.id,
                &after.household_id,
                &after.resident_id,
                &after.kind,
                after.created_at,
            ) {
                return deny(ACTION, Rule::OrderPurposeFixed);
            }
        }
        let mut new: Vec<&OrderEvent> = after
            .events
            .iter()
            .filter(|(k, _)| before.is_none_or(|b| !b.events.contains_key(*k)))
            .map(|(_, e)| e)
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        // The station's identity holds the admin's authority: it records
        // for whoever stands at the desk.
        if who.is_station() {
            return Ok(());
        }
        new.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        let mut so_far = after.clone();
        so_far.events = before.map(|b| b.events.clone()).unwrap_or_default();
        for e in new {
            let name = e.action.deed();
            match &e.by {
                Actor::Worker(w) if who.is(w.as_str()) => {
                    let mut profile =
                        look.worker(w.as_str())
                            .ok_or(DispatchError::PermissionDenied {
                                action: name,
                                reason: Rule::ActingWorkerUnknown,
                            })?;
                    // The credential's role, not whatever a worker record
                    // claims: a role is what the station signed.
                    if let Some(role) = who.role {
                        profile.role = role;
                    }
                    let state = crate::dispatch::fold(&so_far);
                    crate::dispatch::authorize(
                        &so_far,
                        &state,
                        Acting::Worker(&profile),
                        &e.action,
                    )?;
                }
                Actor::Worker(_) => {
                    return deny(name, Rule::OwnWorkerOnly);
                }
                // A resident rates through a worker's phone; whether they
                // belong to the household is the phone's to ask.
                Actor::Resident(_) if matches!(e.action, OrderAction::Rated { .. }) => {}
                Actor::Resident(_) => return deny(name, Rule::ResidentOnlyRates),
            }
            so_far.events.insert(e.id.to_string(), e.clone());
        }
        Ok(())
    }
}

impl Guarded for Case {
    fn judge(before: Option<&Self>, after: &Self, who: &Principal, _: &dyn Lookup) -> Verdict {
        const ACTION: Deed = Deed::ChangeCaseFile;
        if let Some(b) = before {
            append_only(&b.events, &after.events, ACTION)?;
            if (&b.id, &b.resident_id, &b.household_id, &b.team)
                != (
                    &after.id,
                    &after.resident_id,
                    &after.household_id,
                    &after.team,
                )
            {
                return deny(ACTION, Rule::CaseOwnerFixed);
            }
        }
        for (k, e) in &after.events {
            if before.is_some_and(|b| b.events.contains_key(k)) {
                continue;
            }
            let name = e.action.deed();
            if !who.is_station() {
                // The event's worker and role are the credential's: the
                // fold trusts the role an event records.
                if !who.is(e.by.as_str()) {
                    return deny(name, Rule::OwnWorkerOnly);
                }
                if who.role != Some(e.role) {
                    return deny(name, Rule::EventRecordsDeviceRole);
                }
            }
            if needs_professional(&e.action) {
                if !crate::screening::case::is_professional(Some(e.role)) {
                    return deny(name, Rule::OnlyProfessional);
                }
                if who.is_station() {
                    // The desk may record for anyone, but a sign-off is
                    // the professional's own signature.
                    return deny(name, Rule::SignWithOwnIdentity);
                }
            }
        }
        Ok(())
    }
}

/// A document of any kind, hydrated: what the effect rules compare.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// The station document.
    Station(Box<Station>),
    /// A grid roster.
    Roster(Box<Roster>),
    /// A household.
    Household(Box<Household>),
    /// A worker.
    Worker(Box<Worker>),
    /// An activity.
    Activity(Box<Activity>),
    /// An order.
    Request(Box<Request>),
    /// A case file.
    Case(Box<Case>),
}

/// Each aggregate as a [`Value`] (the store reads documents through its
/// kind registry, `store::kinds`).
macro_rules! into_value {
    ($($t:ident),*) => {
        $(
            impl From<$t> for Value {
                fn from(v: $t) -> Value {
                    Value::$t(Box::new(v))
                }
            }
        )*
    };
}
into_value!(Station, Roster, Household, Worker, Activity, Request, Case);

/// Judges the effect of turning `before` (`None`: a new document) into
/// `after`, written by `who`. `Err` carries the reason (an action and a
/// rule; never content).
pub fn judge(
    before: Option<&Value>,
    after: &Value,
    who: &Principal,
    look: &dyn Lookup,
) -> Result<(), String> {
    fn typed<T: Guarded>(
        before: Option<&T>,
        after: &T,
        who: &Principal,
        look: &dyn Lookup,
    ) -> Result<(), String> {
        T::judge(before, after, who, look).map_err(|e| e.to_string())
    }
    const KIND_CHANGED: &str = "a document cannot change its kind";
    match after {
        Value::Station(a) => match before {
            None => typed(None, a.as_ref(), who, look),
            Some(Value::Station(b)) => typed(Some(b.as_ref()), a.as_ref(), who, look),
            Some(_) => Err(KIND_CHANGED.into()),
        },
        Value::Roster(a) => match before {
            None => typed(None, a.as_ref(), who, look),
            Some(Value::Roster(b)) => typed(Some(b.as_ref()), a.as_ref(), who, look),
            Some(_) => Err(KIND_CHANGED.into()),
        },
        Value::Household(a) => match before {
            None => typed(None, a.as_ref(), who, look),
            Some(Value::Household(b)) => typed(Some(b.as_ref()), a.as_ref(), who, look),
            Some(_) => Err(KIND_CHANGED.into()),
        },
        Value::Worker(a) => match before {
            None => typed(None, a.as_ref(), who, look),
            Some(Value::Worker(b)) => typed(Some(b.as_ref()), a.as_ref(), who, look),
            Some(_) => Err(KIND_CHANGED.into()),
        },
        Value::Activity(a) => match before {
            None => typed(None, a.as_ref(), who, look),
            Some(Value::Activity(b)) => typed(Some(b.as_ref()), a.as_ref(), who, look),
            Some(_) => Err(KIND_CHANGED.into()),
        },
        Value::Request(a) => match before {
            None => typed(None, a.as_ref(), who, look),
            Some(Value::Request(b)) => typed(Some(b.as_ref()), a.as_ref(), who, look),
            Some(_) => Err(KIND_CHANGED.into()),
        },
        Value::Case(a) => match before {
            None => typed(None, a.as_ref(), who, look),
            Some(Value::Case(b)) => typed(Some(b.as_ref()), a.as_ref(), who, look),
            Some(_) => Err(KIND_CHANGED.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        use Act::*;
        let all = [
            ManagePlaces,
            ManagePeople,
            ManageRosters,
            ManageActivities,
            ImportHouseholds,
            MoveHouseholds,
            RecordHouseholds,
        ];
        for act in all {
            assert!(permits(Role::StationAdmin, act), "{act:?}");
            assert!(
                permits(Role::Volunteer, act) == (act == RecordHouseholds),
                "{act:?}"
            );
            assert!(
                permits(Role::Counselor, act) == (act == RecordHouseholds),
                "{act:?}"
            );
            assert_eq!(
                permits(Role::Dispatcher, act),
                matches!(
                    act,
                    ManageActivities | ImportHouseholds | MoveHouseholds | RecordHouseholds
                ),
                "{act:?}"
            );
        }
    }
}
