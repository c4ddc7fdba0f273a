//! Typed identifiers. Every aggregate and entity is named by a random UUID
//! (text form), wrapped in its own type so that a worker id cannot be passed
//! where a household id is expected.

use serde::{Deserialize, Serialize};

/// A UUID-text identifier type: the struct and what every id has (a
/// checked `parse`, its text, the automerge mapping, `Display`). Ids drawn
/// at random add `random`/`from_rng` ([`id_type!`]); a case id is derived
/// from its resident's instead (`case::CaseId::of`).
macro_rules! checked_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Parses an identifier given from outside (a command line, a
            /// binding). Only canonical UUID text is accepted.
            pub fn parse(text: &str, field: &'static str) -> Result<Self, super::ValidationError> {
                uuid::Uuid::parse_str(text.trim())
                    .map(|u| Self(u.to_string()))
                    .map_err(|_| super::ValidationError::new(field, super::Violation::NotAnId))
            }

            /// The identifier's text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        // By hand rather than derived: the derived newtype mapping cannot
        // hydrate inside an `Option` (it lacks `hydrate_string`).
        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, mut r: R) -> Result<(), R::Error> {
                r.str(&self.0)
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                Ok(Self(s.to_string()))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }
    };
}
pub(super) use checked_id;

/// An identifier drawn at random (see [`checked_id!`]).
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        checked_id!($(#[$doc])* $name);

        impl $name {
            /// A fresh random identifier.
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// An identifier drawn from a seeded generator (fixtures, tests):
            /// the same seed gives the same ids.
            pub fn from_rng<R: rand::Rng>(rng: &mut R) -> Self {
                Self(uuid::Builder::from_random_bytes(rng.gen()).into_uuid().to_string())
            }
        }
    };
}

id_type!(
    /// Identifies a station (安心小屋).
    StationId
);
id_type!(
    /// Identifies a community (社区) served by a station.
    CommunityId
);
id_type!(
    /// Identifies a grid (网格), the unit a volunteer team covers.
    GridId
);
id_type!(
    /// Identifies a household document.
    HouseholdId
);
id_type!(
    /// Identifies a resident inside a household.
    ResidentId
);
id_type!(
    /// Identifies a worker (volunteer, social worker, counselor, ...).
    WorkerId
);
id_type!(
    /// Identifies a canvass visit inside a household.
    VisitId
);
id_type!(
    /// Identifies an activity document.
    ActivityId
);
id_type!(
    /// Identifies a grid's roster document.
    RosterId
);
id_type!(
    /// Identifies a training record inside a worker document.
    TrainingId
);
id_type!(
    /// Identifies a service order (request document).
    RequestId
);
id_type!(
    /// Identifies one event in an order's log.
    EventId
);
id_type!(
    /// Identifies an entry in a worker's hours ledger.
    HoursEntryId
);
