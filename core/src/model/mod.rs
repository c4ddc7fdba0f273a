//! Plain domain types of an aid station: station, communities and grids,
//! households and residents, workers, canvass visits, activities and grid
//! rosters — with their validation.
//!
//! Owns: the shape of every aggregate and the rules an input must satisfy
//! before it may be written. Knows nothing of SQLite or sync. The types derive
//! `serde` (for canonical JSON export) and autosurgeon's `Reconcile`/`Hydrate`
//! (so the `doc` module can map them onto automerge documents without a second
//! set of mirror types).
//!
//! Validation errors name the field and the rule, never the value: a resident's
//! name or phone number must not leak into logs or error text.

mod ids;
mod validate;
mod vocab;

pub mod aggregates;
pub mod case;
pub mod request;

pub use aggregates::*;
pub use case::*;
pub use ids::*;
pub use request::*;
pub use validate::{ValidationError, Violation};
pub use vocab::*;

/// Milliseconds since the Unix epoch (UTC). Used for every timestamp in the
/// model so that documents stay language-neutral and comparable.
pub type Millis = i64;

/// The current wall-clock time in milliseconds.
pub fn now_millis() -> Millis {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
