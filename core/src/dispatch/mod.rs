//! The order workflow, household triage and volunteer hours, as pure rules.
//!
//! Owns: folding an order's event log into its current state — the same way
//! on every phone, with written rules for what concurrent offline edits mean
//! ([`fold`]); who may do what ([`authorize`]); the P1–P4 household triage
//! ([`triage`]); and how work becomes hours ([`hours`]). Nothing here touches
//! SQLite: the store calls these rules inside its write transactions.

pub mod fold;
pub mod hours;
pub mod triage;

pub use fold::{fold, Conflict, ConflictKind, OrderState, SetAside};
pub use triage::{triage, Triage};

use crate::model::*;
use crate::refusal::{Deed, Rule};

/// Why an action was refused. Names the action and the state or rule as
/// codes ([`Deed`], [`Rule`], a status code), never a person; `Display` is
/// the English words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    /// The action is not possible in the current state (of an order, a
    /// referral, a crisis).
    #[error("cannot {action}: its status is {}", crate::labels::word(*.vocabulary, .status, crate::labels::Language::En))]
    Forbidden {
        /// The action tried.
        action: Deed,
        /// The status code it is in.
        status: &'static str,
        /// The vocabulary of `status` (order status, referral status,
        /// crisis state), for its words.
        vocabulary: crate::labels::Vocabulary,
    },
    /// The actor may not do this.
    #[error("not allowed to {action}: {reason}")]
    PermissionDenied {
        /// The action tried.
        action: Deed,
        /// The rule that refused it.
        reason: Rule,
    },
}

/// Coordinators dispatch, reassign, reopen, cancel and rate.
pub fn is_coordinator(role: Role) -> bool {
    matches!(role, Role::Dispatcher | Role::StationAdmin)
}

/// Whether a worker may take psychological support orders: a professional
/// role, or qualified in psychological first aid (a skill, or a training
/// record on that topic).
pub fn is_trained_for_support(worker: &Worker) -> bool {
    matches!(
        worker.role,
        Role::Counselor | Role::Clinician | Role::SocialWorker
    ) || worker.qualifications().contains("psychological_first_aid")
}

/// Who is acting, as the permission rules need to know them.
#[derive(Debug, Clone, Copy)]
pub enum Acting<'a> {
    /// A worker, with their profile.
    Worker(&'a Worker),
    /// A resident; `of_household` says whether they belong to the household
    /// the order serves.
    Resident {
        /// The resident's id.
        id: &'a ResidentId,
        /// Whether they live in the served household.
        of_household: bool,
    },
}

/// Checks that `acting` may perform `action` on an order in `state`
/// (role rules only; whether the state allows it is [`fold::check`]).
pub fn authorize(
    request: &Request,
    state: &OrderState,
    acting: Acting<'_>,
    action: &OrderAction,
) -> Result<(), DispatchError> {
    let name = action.deed();
    let deny = |reason| DispatchError::PermissionDenied {
        action: name,
        reason,
    };
    let worker = match acting {
        Acting::Worker(w) => w,
        Acting::Resident { of_household, .. } => {
            return match action {
                OrderAction::Rated { .. } if of_household => Ok(()),
                OrderAction::Rated { .. } => Err(deny(Rule::OnlyServedHouseholdRates)),
                _ => Err(deny(Rule::ResidentOnlyRates)),
            };
        }
    };
    if !worker.active {
        return Err(deny(Rule::WorkerNotActive));
    }
    let coordinator = is_coordinator(worker.role);
    let requester = state.requested_by.as_ref() == Some(&Actor::Worker(worker.id.clone()));
    match action {
        OrderAction::Requested { .. } => Ok(()),
        OrderAction::Dispatched { .. }
        | OrderAction::Reassigned { .. }
        | OrderAction::Reopened { .. } => {
            if coordinator {
                Ok(())
            } else {
                Err(deny(Rule::OnlyCoordinator))
            }
        }
        OrderAction::Accepted => {
            if request.kind == OrderKind::PsychologicalSupport && !is_trained_for_support(worker) {
                return Err(deny(Rule::NeedsTrainedWorker));
            }
            match &state.assignee {
                Some(Assignee::Worker(w)) if *w != worker.id => {
                    Err(deny(Rule::DispatchedToAnotherWorker))
                }
                Some(Assignee::Grid(g)) if worker.grid_id.as_ref().is_some_and(|own| own != g) => {
                    Err(deny(Rule::DispatchedToAnotherGrid))
                }
                _ => Ok(()),
            }
        }
        OrderAction::Declined { .. } | OrderAction::Started | OrderAction::Completed { .. } => {
            Ok(())
        }
        OrderAction::Rated { .. } => {
            if coordinator {
                Ok(())
            } else {
                Err(deny(Rule::OnlyHouseholdOrCoordinatorRates))
            }
        }
        OrderAction::Cancelled { .. } | OrderAction::ItemsChanged { .. } => {
            if coordinator || requester {
                Ok(())
            } else {
                Err(deny(Rule::OnlyCoordinatorOrRequester))
            }
        }
    }
}
