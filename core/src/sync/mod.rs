//! Sync between devices with no network: sans-IO sessions, scopes, and the
//! drivers that carry frames for tests and the command line.
//!
//! Owns: the wire format ([`protocol`]), the session state machine
//! ([`session`]), and drivers — an in-memory link with loss, duplication,
//! reordering, latency and bandwidth ([`link`]), TCP ([`tcp`]) and bundle
//! files ([`bundle`]). Uses the store's replica API (digests, inventories,
//! verified merges).

#[cfg(any(test, feature = "fixture"))]
pub mod bench;
pub mod bundle;
pub mod channel;
pub mod dictionary;
pub mod link;
pub mod protocol;
pub mod ranges;
pub mod session;
pub mod tcp;

pub use session::{ExpectedResponder, Progress, SessionReport, SyncConfig, SyncError, SyncSession};

#[cfg(test)]
mod access_tests;
#[cfg(test)]
mod convergence_tests;
#[cfg(test)]
mod golden_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trust_tests;
