//! The store's public operations grouped by area, so a reader finds what a
//! store can do about workers, households, orders, case files, replication
//! or devices in one place rather than among a hundred methods on `Store`.
//!
//! Each area is a borrowed view of the store: `store.people()` reads,
//! `store.people_mut()` reads and writes (a write needs the store
//! exclusively, because it is one SQLite transaction). The views hold
//! nothing of their own; the operations live beside the code they use
//! (`ops.rs`, `orders.rs`, `cases.rs`, …), in `impl People<…>` blocks.
//! What stays on [`Store`] itself is what every area shares: opening,
//! reading and writing one aggregate (`get`, `put`, `batch`), the change
//! journal, checks and exports, drafts, and signing identities.

use super::Store;

macro_rules! area {
    ($(#[$doc:meta])* $name:ident, $read:ident, $write:ident) => {
        $(#[$doc])*
        pub struct $name<S> {
            pub(super) store: S,
        }

        impl Store {
            #[doc = concat!("The [`", stringify!($name), "`] operations that read.")]
            pub fn $read(&self) -> $name<&Store> {
                $name { store: self }
            }

            #[doc = concat!("All [`", stringify!($name), "`] operations, writes included.")]
            pub fn $write(&mut self) -> $name<&mut Store> {
                $name { store: self }
            }
        }
    };
}

area!(
    /// Setting up a station: its settings, communities and grids, and
    /// importing workers and households from spreadsheets.
    Setup,
    setup,
    setup_mut
);
area!(
    /// Workers: the first admin, adding and updating workers, roles,
    /// training, grid rosters and contact cards.
    People,
    people,
    people_mut
);
area!(
    /// Households and residents: adding, moving, tagging, canvass visits,
    /// and the grid views built on them.
    Households,
    households,
    households_mut
);
area!(
    /// Orders (requests for help) through dispatch to completion, and
    /// volunteer activities and the hours they credit.
    Orders,
    orders,
    orders_mut
);
area!(
    /// Case files: screenings, referrals and crisis interventions, and the
    /// lists of cases and what is due.
    Cases,
    cases,
    cases_mut
);
area!(
    /// What this device holds and exchanges with peers: scopes, document
    /// heads and bytes, received documents and changes, quarantine.
    Replica,
    replica,
    replica_mut
);
area!(
    /// The station's device registry: enrolment, renewal, revocation,
    /// credentials, peers' verification and the audit anchors.
    Devices,
    devices,
    devices_mut
);
