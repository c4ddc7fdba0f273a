//! Folding an order's event log into its current state.
//!
//! Events are applied in hybrid-timestamp order (then event id), so every
//! phone that holds the same events computes the same state. An event that
//! is not valid where it falls — possible only when two phones acted on the
//! same order while out of contact — is set aside with its reason, and the
//! cases people must hear about become conflict records:
//!
//! 1. **Two workers accept the same order.** The first acceptance (by
//!    hybrid timestamp, then event id) wins. The other acceptance, and
//!    whatever its worker did on the order afterwards, is set aside; an
//!    `AcceptanceLost` conflict names the winner and the loser (both can
//!    query it) and says whether the loser had already started or completed
//!    the work, so the dispatcher can settle it (e.g. credit their hours).
//! 2. **Completed on one phone, cancelled on another.** The completion wins,
//!    whichever came first by timestamp: the goods were handed over, a
//!    cancellation cannot undo that. The cancellation is set aside and a
//!    `CompletedAndCancelled` conflict is raised for the dispatcher. (A
//!    cancellation followed by a deliberate reopen is not a conflict.)
//! 3. **Items changed after acceptance.** The change applies and the state
//!    says so (`items_changed_after_acceptance`) until the order completes,
//!    is reassigned or declined, so the volunteer's task list shows it.

use serde::Serialize;

use super::DispatchError;
use crate::model::*;

/// An order's current state, folded from its events.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderState {
    /// Where it stands.
    pub status: OrderStatus,
    /// The current items.
    pub items: Vec<Item>,
    /// How urgent.
    pub urgency: Urgency,
    /// By when, if set.
    pub deadline: Option<Millis>,
    /// Who requested it.
    pub requested_by: Option<Actor>,
    /// When.
    pub requested_at: Millis,
    /// Whom it is dispatched to.
    pub assignee: Option<Assignee>,
    /// Who accepted it.
    pub accepted_by: Option<WorkerId>,
    /// When it was accepted.
    pub accepted_at: Option<Millis>,
    /// When work started.
    pub started_at: Option<Millis>,
    /// When it was completed.
    pub completed_at: Option<Millis>,
    /// Who completed it.
    pub completed_by: Option<WorkerId>,
    /// What was handed over.
    pub handed_over: Vec<Item>,
    /// Minutes the work took.
    pub minutes: Option<u32>,
    /// The rating, 1 to 5.
    pub stars: Option<u32>,
    /// Why it was cancelled.
    pub cancel_reason: Option<String>,
    /// The items changed after a worker accepted it.
    pub items_changed_after_acceptance: bool,
    /// Conflicts between phones that people must hear about.
    pub conflicts: Vec<Conflict>,
    /// Events that were not applied, and why.
    pub set_aside: Vec<SetAside>,
}

/// A domain conflict found by the fold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The event that lost.
    pub event: EventId,
    /// What happened.
    pub kind: ConflictKind,
}

/// Every kind of conflict's code (the `kind` a [`ConflictKind`] is
/// serialized with).
pub const CONFLICT_KINDS: &[&str] = &["acceptance_lost", "completed_and_cancelled"];

/// The kinds of conflict, with the people involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConflictKind {
    /// Two workers accepted the order while out of contact.
    AcceptanceLost {
        /// Who keeps the order.
        winner: WorkerId,
        /// Whose acceptance was set aside.
        loser: WorkerId,
        /// Whether the loser had started or completed the work.
        loser_did_work: bool,
    },
    /// The order was completed on one phone and cancelled on another.
    CompletedAndCancelled {
        /// Who completed it.
        completed_by: WorkerId,
        /// Who cancelled it.
        cancelled_by: Actor,
    },
}

impl ConflictKind {
    /// The stable code of this kind (one of [`CONFLICT_KINDS`]).
    pub fn code(&self) -> &'static str {
        match self {
            ConflictKind::AcceptanceLost { .. } => CONFLICT_KINDS[0],
            ConflictKind::CompletedAndCancelled { .. } => CONFLICT_KINDS[1],
        }
    }
}

/// An event the fold did not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetAside {
    /// The event.
    pub event: EventId,
    /// Its action.
    pub action: &'static str,
    /// Why it was not applied.
    pub reason: String,
}

impl OrderState {
    fn empty(created_at: Millis) -> Self {
        OrderState {
            status: OrderStatus::Requested,
            items: Vec::new(),
            urgency: Urgency::Routine,
            deadline: None,
            requested_by: None,
            requested_at: created_at,
            assignee: None,
            accepted_by: None,
            accepted_at: None,
            started_at: None,
            completed_at: None,
            completed_by: None,
            handed_over: Vec::new(),
            minutes: None,
            stars: None,
            cancel_reason: None,
            items_changed_after_acceptance: false,
            conflicts: Vec::new(),
            set_aside: Vec::new(),
        }
    }

    /// The workers a conflict concerns.
    pub fn workers_in_conflicts(&self) -> Vec<WorkerId> {
        let mut out = Vec::new();
        for c in &self.conflicts {
            match &c.kind {
                ConflictKind::AcceptanceLost { winner, loser, .. } => {
                    out.push(winner.clone());
                    out.push(loser.clone());
                }
                ConflictKind::CompletedAndCancelled {
                    completed_by,
                    cancelled_by,
                } => {
                    out.push(completed_by.clone());
                    if let Actor::Worker(w) = cancelled_by {
                        out.push(w.clone());
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

fn forbidden(action: &OrderAction, status: OrderStatus) -> DispatchError {
    DispatchError::Forbidden {
        action: action.deed(),
        status: status.as_str(),
        vocabulary: crate::labels::Vocabulary::OrderStatus,
    }
}

fn only(action: &OrderAction, reason: crate::refusal::Rule) -> DispatchError {
    DispatchError::PermissionDenied {
        action: action.deed(),
        reason,
    }
}

/// Whether `event` may be applied to an order in `state`: the state machine
/// and who may act on it (the acceptor starts and completes, the assignee
/// accepts or declines). Role rules are in [`super::authorize`].
pub fn check(state: &OrderState, by: &Actor, action: &OrderAction) -> Result<(), DispatchError> {
    use crate::refusal::Rule;
    use OrderStatus as S;
    let status = state.status;
    let worker = match by {
        Actor::Worker(w) => Some(w),
        Actor::Resident(_) => None,
    };
    let is_acceptor = worker.is_some() && state.accepted_by.as_ref() == worker;
    match action {
        OrderAction::Requested { .. } => Err(forbidden(action, status)),
        OrderAction::Dispatched { .. } => match status {
            S::Requested => Ok(()),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Accepted => {
            if status != S::Dispatched {
                return Err(forbidden(action, status));
            }
            let Some(w) = worker else {
                return Err(only(action, Rule::OnlyAWorker));
            };
            match &state.assignee {
                Some(Assignee::Worker(assigned)) if assigned != w => {
                    Err(only(action, Rule::DispatchedToAnotherWorker))
                }
                _ => Ok(()),
            }
        }
        OrderAction::Declined { .. } => match (status, &state.assignee) {
            (S::Dispatched, Some(Assignee::Worker(a))) if Some(a) == worker => Ok(()),
            (S::Dispatched, _) => Err(only(action, Rule::OnlyAssignee)),
            (S::Accepted, _) if is_acceptor => Ok(()),
            (S::Accepted, _) => Err(only(action, Rule::OnlyAcceptor)),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Started => match status {
            S::Accepted if is_acceptor => Ok(()),
            S::Accepted => Err(only(action, Rule::OnlyAcceptor)),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Completed { .. } => match status {
            S::Started if is_acceptor => Ok(()),
            S::Started => Err(only(action, Rule::OnlyAcceptor)),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Rated { .. } => match status {
            S::Completed => Ok(()),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Cancelled { .. } | OrderAction::ItemsChanged { .. } => match status {
            S::Requested | S::Dispatched | S::Accepted | S::Started => Ok(()),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Reassigned { .. } => match status {
            S::Dispatched | S::Accepted | S::Started => Ok(()),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Reopened { .. } => match status {
            S::Cancelled | S::Completed => Ok(()),
            _ => Err(forbidden(action, status)),
        },
    }
}

fn apply(state: &mut OrderState, event: &OrderEvent) {
    let clear_acceptance = |s: &mut OrderState| {
        s.accepted_by = None;
        s.accepted_at = None;
        s.started_at = None;
        s.items_changed_after_acceptance = false;
    };
    match &event.action {
        OrderAction::Requested {
            items,
            urgency,
            deadline,
            ..
        } => {
            state.items = items.clone();
            state.urgency = *urgency;
            state.deadline = *deadline;
            state.requested_by = Some(event.by.clone());
            state.requested_at = event.at;
            state.status = OrderStatus::Requested;
        }
        OrderAction::Dispatched { to } => {
            state.assignee = Some(to.clone());
            state.status = OrderStatus::Dispatched;
        }
        OrderAction::Accepted => {
            if let Actor::Worker(w) = &event.by {
                state.accepted_by = Some(w.clone());
            }
            state.accepted_at = Some(event.at);
            state.status = OrderStatus::Accepted;
        }
        OrderAction::Declined { .. } => {
            clear_acceptance(state);
            state.assignee = None;
            state.status = OrderStatus::Requested;
        }
        OrderAction::Started => {
            state.started_at = Some(event.at);
            state.status = OrderStatus::Started;
        }
        OrderAction::Completed {
            handed_over,
            minutes,
            ..
        } => {
            state.completed_at = Some(event.at);
            state.completed_by = state.accepted_by.clone();
            state.handed_over = handed_over.clone();
            state.minutes = Some(*minutes);
            state.items_changed_after_acceptance = false;
            state.status = OrderStatus::Completed;
        }
        OrderAction::Rated { stars, .. } => {
            state.stars = Some(*stars);
            state.status = OrderStatus::Rated;
        }
        OrderAction::Cancelled { reason } => {
            state.cancel_reason = Some(reason.clone());
            state.status = OrderStatus::Cancelled;
        }
        OrderAction::Reassigned { to } => {
            clear_acceptance(state);
            state.assignee = Some(to.clone());
            state.status = OrderStatus::Dispatched;
        }
        OrderAction::Reopened { .. } => {
            clear_acceptance(state);
            state.assignee = None;
            state.cancel_reason = None;
            state.completed_at = None;
            state.completed_by = None;
            state.handed_over.clear();
            state.minutes = None;
            state.stars = None;
            state.status = OrderStatus::Requested;
        }
        OrderAction::ItemsChanged { items } => {
            state.items = items.clone();
            if matches!(state.status, OrderStatus::Accepted | OrderStatus::Started) {
                state.items_changed_after_acceptance = true;
            }
        }
    }
}

/// Whether, after a cancellation at this point, the current acceptor goes on
/// to complete the order with no reopen, reassignment or decline between.
fn completion_follows(rest: &[&OrderEvent], acceptor: &WorkerId) -> bool {
    for e in rest {
        match &e.action {
            OrderAction::Completed { .. } if e.by == Actor::Worker(acceptor.clone()) => {
                return true
            }
            OrderAction::Reopened { .. }
            | OrderAction::Reassigned { .. }
            | OrderAction::Declined { .. } => return false,
            _ => {}
        }
    }
    false
}

/// Folds an order's events into its current state. Deterministic: the same
/// events give the same state, in whatever order they arrived.
pub fn fold(request: &Request) -> OrderState {
    let events = request.ordered_events();
    let mut state = OrderState::empty(request.created_at);
    let mut initialised = false;
    for (i, e) in events.iter().enumerate() {
        if !initialised {
            if let OrderAction::Requested { .. } = e.action {
                apply(&mut state, e);
                initialised = true;
                continue;
            }
        }
        let outcome = if initialised {
            check(&state, &e.by, &e.action)
        } else {
            Err(forbidden(&e.action, state.status))
        };
        match outcome {
            Ok(()) => {
                if let (OrderAction::Cancelled { .. }, Some(acceptor)) =
                    (&e.action, state.accepted_by.clone())
                {
                    if completion_follows(&events[i + 1..], &acceptor) {
                        state.conflicts.push(Conflict {
                            event: e.id.clone(),
                            kind: ConflictKind::CompletedAndCancelled {
                                completed_by: acceptor,
                                cancelled_by: e.by.clone(),
                            },
                        });
                        continue;
                    }
                }
                apply(&mut state, e);
            }
            Err(err) => {
                set_aside(&mut state, e, err);
            }
        }
    }
    state
}

fn set_aside(state: &mut OrderState, e: &OrderEvent, err: DispatchError) {
    let worker = match &e.by {
        Actor::Worker(w) => Some(w.clone()),
        Actor::Resident(_) => None,
    };
    match (&e.action, &state.accepted_by, worker) {
        // A second acceptance while someone holds the order: rule 1.
        (OrderAction::Accepted, Some(winner), Some(loser)) if *winner != loser => {
            state.conflicts.push(Conflict {
                event: e.id.clone(),
                kind: ConflictKind::AcceptanceLost {
                    winner: winner.clone(),
                    loser,
                    loser_did_work: false,
                },
            });
        }
        // The loser of an acceptance went on working.
        (OrderAction::Started | OrderAction::Completed { .. }, _, Some(w)) => {
            for c in state.conflicts.iter_mut() {
                if let ConflictKind::AcceptanceLost {
                    loser,
                    loser_did_work,
                    ..
                } = &mut c.kind
                {
                    if *loser == w {
                        *loser_did_work = true;
                    }
                }
            }
        }
        // A cancellation that lost to a completion already applied: rule 2.
        (OrderAction::Cancelled { .. }, _, _)
            if matches!(state.status, OrderStatus::Completed | OrderStatus::Rated) =>
        {
            if let Some(done_by) = state.completed_by.clone() {
                state.conflicts.push(Conflict {
                    event: e.id.clone(),
                    kind: ConflictKind::CompletedAndCancelled {
                        completed_by: done_by,
                        cancelled_by: e.by.clone(),
                    },
                });
            }
        }
        _ => {}
    }
    state.set_aside.push(SetAside {
        event: e.id.clone(),
        action: e.action.name(),
        reason: err.to_string(),
    });
}

#[cfg(test)]
mod tests {
    //! Partition tests: replicas of one order document edited while out of
    //! contact, merged through automerge in every order.
    use super::*;
    use crate::doc::{ChangeNote, Document};
    use automerge::ActorId;

    const T0: Millis = 1_790_000_000_000;

    struct Replica {
        doc: Document,
    }

    impl Replica {
        fn event(&mut self, at: Millis, by: &Actor, action: OrderAction) {
            let mut r: Request = self.doc.read().unwrap();
            let e = OrderEvent {
                id: EventId::random(),
                at,
                by: by.clone(),
                action,
            };
            r.events.insert(e.id.to_string(), e);
            let note = ChangeNote {
                action: "test".into(),
                worker: None,
                resident: None,
            };
            self.doc.write(&r, None, &note, at).unwrap();
        }
    }

    fn w(name: &str) -> Actor {
        Actor::Worker(WorkerId(name.into()))
    }

    fn base(grid_dispatch: bool) -> (Vec<u8>, Actor) {
        let dispatcher = w("dispatcher");
        let mut doc = Document::new(&ActorId::random());
        let mut r = Request {
            id: RequestId::random(),
            grid_id: GridId("g".into()),
            household_id: HouseholdId("h".into()),
            resident_id: None,
            kind: OrderKind::MedicineDelivery,
            created_at: T0,
            events: Default::default(),
        };
        let mut push = |at, by: &Actor, action| {
            let e = OrderEvent {
                id: EventId::random(),
                at,
                by: by.clone(),
                action,
            };
            r.events.insert(e.id.to_string(), e);
        };
        push(
            T0,
            &w("requester"),
            OrderAction::Requested {
                items: vec![Item {
                    name: "insulin".into(),
                    quantity: 2,
                    unit: "pen".into(),
                }],
                urgency: Urgency::Critical,
                deadline: None,
                note: String::new(),
            },
        );
        if grid_dispatch {
            push(
                T0 + 10,
                &dispatcher,
                OrderAction::Dispatched {
                    to: Assignee::Grid(GridId("g".into())),
                },
            );
        }
        let note = ChangeNote {
            action: "base".into(),
            worker: None,
            resident: None,
        };
        doc.write(&r, None, &note, T0).unwrap();
        (doc.save(), dispatcher)
    }

    fn replicas(base: &[u8], n: usize) -> Vec<Replica> {
        (0..n)
            .map(|_| Replica {
                doc: Document::load(&ActorId::random(), base, []).unwrap(),
            })
            .collect()
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 1 {
            return vec![vec![0]];
        }
        let mut out = Vec::new();
        for p in permutations(n - 1) {
            for i in 0..=p.len() {
                let mut q = p.clone();
                q.insert(i, n - 1);
                out.push(q);
            }
        }
        out
    }

    /// Merges the replicas in every order; asserts all folds agree; returns it.
    fn merged_fold(replicas: &mut [Replica]) -> OrderState {
        let saved: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.doc.save()).collect();
        let mut result: Option<(OrderState, serde_json::Value)> = None;
        for order in permutations(saved.len()) {
            let mut doc = Document::load(&ActorId::random(), &saved[order[0]], []).unwrap();
            for &i in &order[1..] {
                doc.automerge().load_incremental(&saved[i]).unwrap();
            }
            let state = fold(&doc.read::<Request>().unwrap());
            let json = doc.to_json();
            match &result {
                None => result = Some((state, json)),
                Some((s, j)) => {
                    assert_eq!(&state, s, "fold differs for merge order {order:?}");
                    assert_eq!(&json, j, "document differs for merge order {order:?}");
                }
            }
        }
        result.unwrap().0
    }

    #[test]
    fn a_conflicts_code_is_the_kind_it_is_serialized_with() {
        let kinds = [
            ConflictKind::AcceptanceLost {
                winner: WorkerId("a".into()),
                loser: WorkerId("b".into()),
                loser_did_work: false,
            },
            ConflictKind::CompletedAndCancelled {
                completed_by: WorkerId("a".into()),
                cancelled_by: w("b"),
            },
        ];
        for k in kinds {
            assert_eq!(serde_json::to_value(&k).unwrap()["kind"], k.code());
        }
    }

    #[test]
    fn two_volunteers_accept_offline_first_acceptance_wins() {
        let (base, _) = base(true);
        let mut r = replicas(&base, 2);
        r[0].event(T0 + 100, &w("a"), OrderAction::Accepted);
        r[1].event(T0 + 101, &w("b"), OrderAction::Accepted);
        let s = merged_fold(&mut r);
        assert_eq!(s.status, OrderStatus::Accepted);
        assert_eq!(s.accepted_by, Some(WorkerId("a".into())));
        assert_eq!(
            s.conflicts.iter().map(|c| &c.kind).collect::<Vec<_>>(),
            vec![&ConflictKind::AcceptanceLost {
                winner: WorkerId("a".into()),
                loser: WorkerId("b".into()),
                loser_did_work: false
            }]
        );
        // Both can find it.
        assert_eq!(
            s.workers_in_conflicts(),
            vec![WorkerId("a".into()), WorkerId("b".into())]
        );
    }

    #[test]
    fn the_loser_who_already_worked_is_flagged_for_the_dispatcher() {
        let (base, _) = base(true);
        let mut r = replicas(&base, 2);
        r[0].event(T0 + 200, &w("a"), OrderAction::Accepted);
        r[1].event(T0 + 100, &w("b"), OrderAction::Accepted);
        r[1].event(T0 + 150, &w("b"), OrderAction::Started);
        r[1].event(
            T0 + 300,
            &w("b"),
            OrderAction::Completed {
                handed_over: vec![],
                confirmation_code: "1234".into(),
                minutes: 30,
            },
        );
        r[0].event(T0 + 250, &w("a"), OrderAction::Started);
        let s = merged_fold(&mut r);
        // b accepted first (by timestamp): b wins and its completion stands.
        assert_eq!(s.status, OrderStatus::Completed);
        assert_eq!(s.completed_by, Some(WorkerId("b".into())));
        assert!(matches!(
            &s.conflicts[0].kind,
            ConflictKind::AcceptanceLost { winner, loser, loser_did_work: true }
                if winner.as_str() == "b" && loser.as_str() == "a"
        ));
        assert_eq!(s.set_aside.len(), 2); // a's acceptance and a's start
    }

    #[test]
    fn completion_beats_a_concurrent_cancellation_either_way_round() {
        for cancel_at in [T0 + 250, T0 + 400] {
            let (base, dispatcher) = base(true);
            let mut shared = replicas(&base, 1).pop().unwrap();
            shared.event(T0 + 100, &w("a"), OrderAction::Accepted);
            let snapshot = shared.doc.save();
            let mut r = replicas(&snapshot, 2);
            r[0].event(T0 + 200, &w("a"), OrderAction::Started);
            r[0].event(
                T0 + 300,
                &w("a"),
                OrderAction::Completed {
                    handed_over: vec![],
                    confirmation_code: "8642".into(),
                    minutes: 40,
                },
            );
            r[1].event(
                cancel_at,
                &dispatcher,
                OrderAction::Cancelled {
                    reason: "duplicate".into(),
                },
            );
            let s = merged_fold(&mut r);
            assert_eq!(s.status, OrderStatus::Completed, "cancel at {cancel_at}");
            assert_eq!(s.cancel_reason, None);
            assert!(matches!(
                &s.conflicts[..],
                [Conflict {
                    kind: ConflictKind::CompletedAndCancelled { .. },
                    ..
                }]
            ));
        }
    }

    #[test]
    fn cancel_then_reopen_then_complete_is_no_conflict() {
        let (base, dispatcher) = base(true);
        let mut r = replicas(&base, 1);
        let a = w("a");
        r[0].event(T0 + 100, &a, OrderAction::Accepted);
        r[0].event(
            T0 + 110,
            &dispatcher,
            OrderAction::Cancelled { reason: "x".into() },
        );
        r[0].event(
            T0 + 120,
            &dispatcher,
            OrderAction::Reopened { reason: "y".into() },
        );
        r[0].event(
            T0 + 130,
            &dispatcher,
            OrderAction::Dispatched {
                to: Assignee::Worker(WorkerId("a".into())),
            },
        );
        r[0].event(T0 + 140, &a, OrderAction::Accepted);
        r[0].event(T0 + 150, &a, OrderAction::Started);
        r[0].event(
            T0 + 160,
            &a,
            OrderAction::Completed {
                handed_over: vec![],
                confirmation_code: "1111".into(),
                minutes: 5,
            },
        );
        let s = merged_fold(&mut r);
        assert_eq!(s.status, OrderStatus::Completed);
        assert!(s.conflicts.is_empty());
        assert!(s.set_aside.is_empty());
    }

    #[test]
    fn three_replicas_two_acceptances_and_an_item_change_agree_in_every_order() {
        let (base, dispatcher) = base(true);
        let mut r = replicas(&base, 3);
        r[0].event(T0 + 100, &w("a"), OrderAction::Accepted);
        r[1].event(T0 + 100, &w("b"), OrderAction::Accepted);
        r[2].event(
            T0 + 150,
            &dispatcher,
            OrderAction::ItemsChanged {
                items: vec![Item {
                    name: "insulin".into(),
                    quantity: 3,
                    unit: "pen".into(),
                }],
            },
        );
        let s = merged_fold(&mut r);
        // Same timestamp: the event id decides, the same way everywhere.
        assert_eq!(s.status, OrderStatus::Accepted);
        assert_eq!(s.conflicts.len(), 1);
        assert!(s.items_changed_after_acceptance);
        assert_eq!(s.items[0].quantity, 3);
    }

    #[test]
    fn a_change_before_acceptance_is_not_flagged() {
        let (base, dispatcher) = base(true);
        let mut r = replicas(&base, 2);
        r[0].event(
            T0 + 50,
            &dispatcher,
            OrderAction::ItemsChanged { items: vec![] },
        );
        r[1].event(T0 + 100, &w("a"), OrderAction::Accepted);
        let s = merged_fold(&mut r);
        assert!(!s.items_changed_after_acceptance);
        assert!(s.items.is_empty());
    }

    #[test]
    fn every_forbidden_transition_is_refused_by_check() {
        let (base, dispatcher) = base(false);
        let mut r = replicas(&base, 1);
        let a = w("a");
        let complete = OrderAction::Completed {
            handed_over: vec![],
            confirmation_code: "1234".into(),
            minutes: 1,
        };
        let rate = OrderAction::Rated {
            stars: 5,
            comment: String::new(),
        };
        let s = fold(&r[0].doc.read().unwrap());
        assert_eq!(s.status, OrderStatus::Requested);
        for bad in [
            OrderAction::Accepted,
            OrderAction::Started,
            complete.clone(),
            rate.clone(),
        ] {
            assert!(
                matches!(
                    check(&s, &a, &bad),
                    Err(DispatchError::Forbidden {
                        status: "requested",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        r[0].event(
            T0 + 1,
            &dispatcher,
            OrderAction::Dispatched {
                to: Assignee::Worker(WorkerId("a".into())),
            },
        );
        let s = fold(&r[0].doc.read().unwrap());
        assert!(check(
            &s,
            &dispatcher,
            &OrderAction::Dispatched {
                to: Assignee::Grid(GridId("g".into()))
            }
        )
        .is_err());
        assert!(matches!(
            check(&s, &w("b"), &OrderAction::Accepted),
            Err(DispatchError::PermissionDenied { .. })
        ));
        assert!(check(&s, &a, &OrderAction::Started).is_err());
        r[0].event(T0 + 2, &a, OrderAction::Accepted);
        let s = fold(&r[0].doc.read().unwrap());
        assert!(matches!(
            check(&s, &w("b"), &OrderAction::Started),
            Err(DispatchError::PermissionDenied { .. })
        ));
        assert!(check(&s, &a, &complete).is_err());
        r[0].event(T0 + 3, &a, OrderAction::Started);
        r[0].event(T0 + 4, &a, complete.clone());
        let s = fold(&r[0].doc.read().unwrap());
        for bad in [
            OrderAction::Cancelled { reason: "x".into() },
            OrderAction::ItemsChanged { items: vec![] },
            OrderAction::Reassigned {
                to: Assignee::Grid(GridId("g".into())),
            },
            OrderAction::Accepted,
            complete,
        ] {
            assert!(
                matches!(
                    check(&s, &dispatcher, &bad),
                    Err(DispatchError::Forbidden {
                        status: "completed",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
        assert!(check(&s, &Actor::Resident(ResidentId("r".into())), &rate).is_ok());
        r[0].event(
            T0 + 5,
            &Actor::Resident(ResidentId("r".into())),
            rate.clone(),
        );
        let s = fold(&r[0].doc.read().unwrap());
        assert_eq!(s.status, OrderStatus::Rated);
        assert!(check(&s, &dispatcher, &rate).is_err());
        assert!(check(
            &s,
            &dispatcher,
            &OrderAction::Reopened { reason: "x".into() }
        )
        .is_err());
    }
}
