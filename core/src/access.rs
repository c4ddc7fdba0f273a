//! Who may do what in running a station: places, people, rosters,
//! activities, imports, households. One table (`permits`), read by every
//! store operation of station setup through [`Store::require`] /
//! `Batch::require`, so a rule is written once.
//!
//! The order workflow's rules (`dispatch::authorize`) and the case file's
//! (`screening::case::is_professional`) predate this module and still live
//! beside the folds they guard; the trust work moves them here.
//!
//! `Author::System` is the device itself acting without a person (the
//! fixture, the demo's bootstrap, a new station's first administrator): it
//! passes. The command line and the SDK never act as the system on a
//! person's behalf; they name the acting worker.

use crate::dispatch::DispatchError;
use crate::doc::Author;
use crate::model::{Role, Worker};

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
    /// The action's words, for errors.
    pub fn name(self) -> &'static str {
        match self {
            Act::ManagePlaces => "manage communities and grids",
            Act::ManagePeople => "manage workers and roles",
            Act::ManageRosters => "manage grid rosters and contact cards",
            Act::ManageActivities => "manage activities",
            Act::ImportHouseholds => "import households",
            Act::MoveHouseholds => "move a household",
            Act::RecordHouseholds => "record households and visits",
            Act::ManageDevices => "enrol, renew or revoke devices",
        }
    }

    /// Who may, in words, for errors.
    fn who(self) -> &'static str {
        match self {
            Act::ManagePlaces | Act::ManagePeople | Act::ManageRosters | Act::ManageDevices => {
                "only a station admin may"
            }
            Act::ManageActivities | Act::ImportHouseholds | Act::MoveHouseholds => {
                "only a coordinator (station admin or dispatcher) may"
            }
            Act::RecordHouseholds => "any active worker may",
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
        action: act.name(),
        reason,
    };
    match (author, worker) {
        (Author::System, _) => Ok(()),
        (Author::Resident(_), _) => Err(deny("residents do not run the station")),
        (Author::Worker(_), None) => Err(deny("the acting worker is unknown")),
        (Author::Worker(_), Some(w)) if !w.active => Err(deny("the worker is not active")),
        (Author::Worker(_), Some(w)) if permits(w.role, act) => Ok(()),
        (Author::Worker(_), Some(_)) => Err(deny(act.who())),
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
