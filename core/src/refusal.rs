//! Why an action was refused, as stable codes: the [`Deed`] tried and the
//! [`Rule`] that refused it.
//!
//! Owns the two closed lists. Errors carry these values, never sentences,
//! so an app or the command line words them in the reader's language (the
//! `deed` and `rule` vocabularies of [`crate::labels`]); an error's
//! `Display` is the English words, for logs and for callers that show
//! nothing else. A test holds every code to a label in all three languages.

use crate::labels::{word, Language, Vocabulary};

/// Declares a closed list of codes: the enum, its `ALL`, `code()`,
/// `from_code()` and an English `Display` from the labels.
macro_rules! coded {
    ($(#[$meta:meta])* $name:ident in $vocabulary:expr; $($(#[$vmeta:meta])* $variant:ident = $code:literal,)+) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable code (the labels' key; what the SDK passes on).
            pub fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The value with this code, if any.
            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// The words in `language`.
            pub fn words(self, language: Language) -> String {
                word($vocabulary, self.code(), language)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.words(Language::En))
            }
        }
    };
}

coded! {
    /// What was tried.
    Deed in Vocabulary::Deed;
    /// Record a new order.
    Request = "request",
    /// Dispatch an order.
    Dispatch = "dispatch",
    /// Accept an order.
    Accept = "accept",
    /// Decline an order.
    Decline = "decline",
    /// Start an order.
    Start = "start",
    /// Complete an order.
    Complete = "complete",
    /// Rate an order.
    Rate = "rate",
    /// Cancel an order.
    Cancel = "cancel",
    /// Reassign an order.
    Reassign = "reassign",
    /// Reopen an order.
    Reopen = "reopen",
    /// Change an order's items.
    ChangeItems = "change_items",
    /// Any step of an order.
    ActOnOrder = "act_on_order",
    /// Change an order's document.
    ChangeOrder = "change_order",
    /// Record a screening in a case file.
    Screen = "screen",
    /// Review a case (which may lower its tier).
    Review = "review",
    /// Propose a referral.
    Refer = "refer",
    /// Update a referral.
    UpdateReferral = "update_referral",
    /// Move a referral to an earlier state.
    MoveReferralBack = "move_referral_back",
    /// Close a referral.
    CloseReferral = "close_referral",
    /// Open a crisis.
    OpenCrisis = "open_crisis",
    /// Record a step taken in a crisis.
    CrisisAction = "crisis_action",
    /// Close a crisis.
    CloseCrisis = "close_crisis",
    /// Any step of a crisis.
    ActOnCrisis = "act_on_crisis",
    /// Record a follow-up visit in a case file.
    CaseVisit = "case_visit",
    /// Write a case note.
    Note = "note",
    /// Assign a case to a professional.
    AssignCase = "assign_case",
    /// Write to a case file at all.
    WriteCaseFile = "write_case_file",
    /// Change a case file's document.
    ChangeCaseFile = "change_case_file",
    /// Set up a station.
    SetUpStation = "set_up_station",
    /// Add, rename or retire communities and grids.
    ManagePlaces = "manage_places",
    /// Add and update workers and their roles.
    ManagePeople = "manage_people",
    /// Change a worker's role.
    ChangeRole = "change_role",
    /// Deactivate a worker.
    DeactivateWorker = "deactivate_worker",
    /// Create a new station's first administrator.
    CreateFirstAdmin = "create_first_admin",
    /// Assign a worker to a grid.
    AssignWorker = "assign_worker",
    /// Manage grid rosters and contact cards.
    ManageRosters = "manage_rosters",
    /// Manage activities and attendance.
    ManageActivities = "manage_activities",
    /// Import households from a list.
    ImportHouseholds = "import_households",
    /// Move a household to another grid.
    MoveHousehold = "move_household",
    /// Record households, residents, tags and visits.
    RecordHouseholds = "record_households",
    /// Record a canvass visit.
    RecordVisit = "record_visit",
    /// Enrol, renew or revoke devices.
    ManageDevices = "manage_devices",
    /// Credit volunteer hours.
    CreditHours = "credit_hours",
    /// Acknowledge volunteer hours.
    AcknowledgeHours = "acknowledge_hours",
}

coded! {
    /// The rule that refused it.
    Rule in Vocabulary::Rule;
    /// The worker is not active.
    WorkerNotActive = "worker_not_active",
    /// The acting worker is not known on this device.
    ActingWorkerUnknown = "acting_worker_unknown",
    /// Residents do not run the station.
    ResidentsDoNotRunStation = "residents_do_not_run_station",
    /// Only a station admin may.
    OnlyStationAdmin = "only_station_admin",
    /// Only a coordinator (station admin or dispatcher) may.
    OnlyCoordinator = "only_coordinator",
    /// Any active worker may (said when nothing else refused).
    AnyActiveWorker = "any_active_worker",
    /// Only the household served rates its order.
    OnlyServedHouseholdRates = "only_served_household_rates",
    /// A resident may only rate their household's order.
    ResidentOnlyRates = "resident_only_rates",
    /// Only the household served or a coordinator rates.
    OnlyHouseholdOrCoordinatorRates = "only_household_or_coordinator_rates",
    /// Only a coordinator or whoever requested the order.
    OnlyCoordinatorOrRequester = "only_coordinator_or_requester",
    /// Psychological support needs a trained worker.
    NeedsTrainedWorker = "needs_trained_worker",
    /// The order was dispatched to another worker.
    DispatchedToAnotherWorker = "dispatched_to_another_worker",
    /// The order was dispatched to another grid.
    DispatchedToAnotherGrid = "dispatched_to_another_grid",
    /// Only a worker may (not a resident).
    OnlyAWorker = "only_a_worker",
    /// Only the worker the order was dispatched to may.
    OnlyAssignee = "only_assignee",
    /// Only the worker who accepted the order may.
    OnlyAcceptor = "only_acceptor",
    /// Orders are recorded and acted on by a person.
    OrdersNeedAPerson = "orders_need_a_person",
    /// Only the household served, a resident who attended, or a
    /// coordinator acknowledges hours.
    WhoAcknowledges = "who_acknowledges",
    /// Only workers of the station keep case files.
    OnlyStationWorkersKeepCases = "only_station_workers_keep_cases",
    /// Only a counselor or clinician may.
    OnlyProfessional = "only_professional",
    /// A professional signs with their own identity, not the station's.
    SignWithOwnIdentity = "sign_with_own_identity",
    /// A volunteer may not close a referral.
    VolunteerCannotCloseReferral = "volunteer_cannot_close_referral",
    /// A case goes to a social worker, counselor or clinician.
    CaseGoesToProfessional = "case_goes_to_professional",
    /// The station's last active admin keeps the role and stays active.
    LastAdminStays = "last_admin_stays",
    /// The station has an admin already; an admin adds workers.
    StationHasAdmin = "station_has_admin",
    /// A recorded event cannot be altered.
    EventCannotBeAltered = "event_cannot_be_altered",
    /// A recorded event cannot be removed.
    EventCannotBeRemoved = "event_cannot_be_removed",
    /// A device records only for its own worker.
    OwnWorkerOnly = "own_worker_only",
    /// An event records its device's role.
    EventRecordsDeviceRole = "event_records_device_role",
    /// Only the worker's own device or a coordinator credits hours.
    OwnDeviceOrCoordinator = "own_device_or_coordinator",
    /// Credited hours cannot be altered.
    HoursCannotBeAltered = "hours_cannot_be_altered",
    /// Credited hours cannot be removed.
    HoursCannotBeRemoved = "hours_cannot_be_removed",
    /// What an order is for cannot change.
    OrderPurposeFixed = "order_purpose_fixed",
    /// Whose case file it is cannot change.
    CaseOwnerFixed = "case_owner_fixed",
    /// Only the station laptop holds the station key.
    OnlyStationLaptop = "only_station_laptop",
    /// Case scopes go to counselors, clinicians and social workers.
    CaseScopesNeedProfessional = "case_scopes_need_professional",
    /// The device is enrolled already.
    AlreadyEnrolled = "already_enrolled",
    /// The credential is for another device.
    CredentialForAnotherDevice = "credential_for_another_device",
    /// The station laptop cannot revoke itself.
    StationCannotRevokeItself = "station_cannot_revoke_itself",
    /// The identity file does not open with that passphrase.
    WrongPassphrase = "wrong_passphrase",
    /// The identity's keys and credential differ.
    IdentityMismatch = "identity_mismatch",
    /// An identity belongs to a worker.
    IdentityNeedsWorker = "identity_needs_worker",
    /// The peer is not enrolled itself.
    PeerNotEnrolled = "peer_not_enrolled",
    /// The peer is not the station laptop.
    PeerNotStationLaptop = "peer_not_station_laptop",
    /// The peer's credential belongs to another device.
    PeerCredentialMismatch = "peer_credential_mismatch",
    /// The peer refused (its words are not repeated: the peer controls them).
    RefusedByPeer = "refused_by_peer",
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::label;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for d in Deed::ALL {
            assert_eq!(Deed::from_code(d.code()), Some(*d));
        }
        for r in Rule::ALL {
            assert_eq!(Rule::from_code(r.code()), Some(*r));
        }
        let mut seen = std::collections::BTreeSet::new();
        assert!(Deed::ALL.iter().all(|d| seen.insert(d.code())));
        seen.clear();
        assert!(Rule::ALL.iter().all(|r| seen.insert(r.code())));
    }

    #[test]
    fn english_words_are_the_labels() {
        assert_eq!(
            Rule::OnlyStationAdmin.to_string(),
            label(Vocabulary::Rule, "only_station_admin", Language::En).unwrap()
        );
        assert_ne!(Deed::Dispatch.to_string(), "dispatch");
    }
}
