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

    /// Whether the order still needs work (not completed, rated or cancelled).
    pub fn is_open(&self) -> bool {
        !matches!(
            self.status,
            OrderStatus::Completed | OrderStatus::Rated | OrderStatus::Cancelled
        )
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
        action: action.name(),
        status: status.as_str(),
    }
}

fn only(action: &OrderAction, reason: &'static str) -> DispatchError {
    DispatchError::PermissionDenied {
        action: action.name(),
        reason,
    }
}

/// Whether `event` may be applied to an order in `state`: the state machine
/// and who may act on it (the acceptor starts and completes, the assignee
/// accepts or declines). Role rules are in [`super::authorize`].
pub fn check(state: &OrderState, by: &Actor, action: &OrderAction) -> Result<(), DispatchError> {
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
                return Err(only(action, "only a worker accepts"));
            };
            match &state.assignee {
                Some(Assignee::Worker(assigned)) if assigned != w => {
                    Err(only(action, "the order was dispatched to another worker"))
                }
                _ => Ok(()),
            }
        }
        OrderAction::Declined { .. } => match (status, &state.assignee) {
            (S::Dispatched, Some(Assignee::Worker(a))) if Some(a) == worker => Ok(()),
            (S::Dispatched, _) => Err(only(
                action,
                "only the worker it was dispatched to declines",
            )),
            (S::Accepted, _) if is_acceptor => Ok(()),
            (S::Accepted, _) => Err(only(action, "only the worker who accepted it")),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Started => match status {
            S::Accepted if is_acceptor => Ok(()),
            S::Accepted => Err(only(action, "only the worker who accepted it")),
            _ => Err(forbidden(action, status)),
        },
        OrderAction::Completed { .. } => match status {
            S::Started if is_acceptor => Ok(()),
            S::Started => Err(only(action, "only the worker who accepted it")),
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
