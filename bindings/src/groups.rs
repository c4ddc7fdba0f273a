//! The SDK's surfaces by area: `store.households()`, `store.screening()`,
//! `store.cases()`, `store.orders()`, `store.sync()`, `store.admin()`.
//!
//! Each is a small object sharing the store's state; the calls themselves
//! are defined beside the code they use (`lib.rs`, `setup.rs`), each in an
//! `impl` of its group. Getting a group costs nothing and opens nothing.

use std::sync::Arc;

use crate::Shared;

/// Households, residents and canvass visits: what a volunteer records at
/// the door, and the triage-ordered lists of a grid.
#[derive(uniffi::Object)]
pub struct Households {
    pub(crate) shared: Arc<Shared>,
}

/// Screening instruments and interviews: start one, resume a draft, record
/// a sitting.
#[derive(uniffi::Object)]
pub struct Screening {
    pub(crate) shared: Arc<Shared>,
}

/// Case files: crises, reviews, referrals, follow-ups, what is due.
#[derive(uniffi::Object)]
pub struct Cases {
    pub(crate) shared: Arc<Shared>,
}

/// Service orders from request to rating, tasks, queues, volunteer hours.
#[derive(uniffi::Object)]
pub struct Orders {
    pub(crate) shared: Arc<Shared>,
}

/// Sync sessions the host's transport drives, enrolment, sealed bundles.
#[derive(uniffi::Object)]
pub struct Sync {
    pub(crate) shared: Arc<Shared>,
}

/// Running a station: setup, people, rosters, activities, devices and
/// identities, the fixture, check, export and report.
#[derive(uniffi::Object)]
pub struct Admin {
    pub(crate) shared: Arc<Shared>,
}
