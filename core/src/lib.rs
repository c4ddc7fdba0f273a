//! Anxin core: the engine inside the aid stations' phone apps.
//!
//! Modules, from the bottom up (dependencies point down this list):
//! - [`model`]: plain domain types and their validation;
//! - [`doc`]: one automerge document per aggregate;
//! - [`store`]: SQLite persistence, query index, audit, history;
//! - [`fixture`]: a realistic synthetic community for demos, tests, benchmarks.
//!
//! See `ARCHITECTURE.md` at the top of the repository for the map.

pub mod access;
pub mod dispatch;
pub mod doc;
#[cfg(any(test, feature = "fixture"))]
pub mod fixture;
pub mod labels;
pub mod localtime;
pub mod model;
pub mod refusal;
pub mod screening;
pub mod store;
pub mod sync;
pub mod trust;
