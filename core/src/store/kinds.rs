//! The one place that maps a document kind to the aggregate type it is
//! read as. Everything done to a document whose kind is known only at run
//! time — checking what a peer sent, rebuilding the index, judging an
//! author's effect — goes through [`per_kind`], so a new kind is added
//! here (the compiler then finds no other `match` to extend) and in the
//! facts table of `model::DocKind`.

use super::index::Indexed;
use crate::access::{Guarded, Value};
use crate::model::*;

/// Work to do with a kind's aggregate type.
pub(crate) trait PerKind {
    /// What the work produces.
    type Output;
    /// Does the work as aggregate type `T`.
    fn run<T: Indexed + Guarded + Into<Value>>(self) -> Self::Output;
}

/// Runs `work` with the aggregate type of `kind`.
pub(crate) fn per_kind<W: PerKind>(kind: DocKind, work: W) -> W::Output {
    match kind {
        DocKind::Station => work.run::<Station>(),
        DocKind::Roster => work.run::<Roster>(),
        DocKind::Worker => work.run::<Worker>(),
        DocKind::Household => work.run::<Household>(),
        DocKind::Activity => work.run::<Activity>(),
        DocKind::Request => work.run::<Request>(),
        DocKind::Case => work.run::<Case>(),
    }
}

/// Reads a document as its kind's aggregate, for the effect rules.
pub(crate) struct ReadValue<'d>(pub &'d crate::doc::Document);

impl PerKind for ReadValue<'_> {
    type Output = Result<Value, String>;
    fn run<T: Indexed + Guarded + Into<Value>>(self) -> Self::Output {
        self.0
            .read::<T>()
            .map(Into::into)
            .map_err(|e| e.to_string())
    }
}
