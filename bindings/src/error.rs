//! The one public error of the SDK, shaped by what the caller can do, and
//! the guard that keeps every panic on this side of the boundary.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use anxin_core::dispatch::DispatchError;
use anxin_core::screening::ScreeningError;
use anxin_core::store::StoreError;
use anxin_core::sync::bundle::BundleError;
use anxin_core::sync::SyncError;
use anxin_core::trust::TrustError;

/// What went wrong, by what the app can do about it. Messages never carry
/// names, answers or notes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum AnxinError {
    /// The thing named does not exist (here): show "not found", refresh.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `household 3f2…`.
        what: String,
    },
    /// The input broke a rule: show it next to `field`; nothing was saved.
    /// `violation` is a code (`required`, `too_long`, `out_of_range`,
    /// `unknown_value`, `bad_characters`, `not_an_id`, `no_such_entity`,
    /// `duplicate`, `inconsistent`, or a screening one: `missing_answer`,
    /// `not_asked`, `no_texts`, …) with its limits, for the app's own words;
    /// `reason` is the English sentence.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field, e.g. `resident.birth_year` or `phq9 item 4`.
        field: String,
        /// The rule broken, as a code.
        violation: String,
        /// The smallest value allowed, when the rule names one.
        min: Option<i64>,
        /// The largest value (or length) allowed, when the rule names one.
        max: Option<i64>,
        /// The English sentence (logs, a fallback).
        reason: String,
    },
    /// The action does not fit the current state (an order already
    /// completed, a referral moved back, a crisis already closed): refresh.
    /// Show it with `label("deed", action)` and the status's label.
    #[error("conflict: {reason}")]
    Conflict {
        /// The action tried, a code of the `deed` vocabulary.
        action: String,
        /// The status it is in, a code of `status_vocabulary`.
        status: String,
        /// The vocabulary of `status`: `order_status`, `referral_status`
        /// or `crisis_state`.
        status_vocabulary: String,
        /// The English sentence (logs, a fallback).
        reason: String,
    },
    /// The acting worker may not do this. Show it with `label("deed",
    /// action)` and `label("rule", rule)` in the user's language.
    #[error("permission denied: {reason}")]
    PermissionDenied {
        /// The action tried, a code of the `deed` vocabulary.
        action: String,
        /// The rule that refused it, a code of the `rule` vocabulary.
        rule: String,
        /// The English sentence (logs, a fallback).
        reason: String,
    },
    /// The store is encrypted and the key is missing or wrong (or the file
    /// is not an Anxin store): ask for the key again; nothing was opened.
    #[error("key rejected: {reason}")]
    KeyRejected {
        /// What to do.
        reason: String,
    },
    /// The store was written by a newer version of Anxin: update the app.
    /// Nothing was changed.
    #[error("store too new: schema {found}, this version knows up to {known}")]
    StoreTooNew {
        /// The store's schema version.
        found: u32,
        /// The newest this build knows.
        known: u32,
    },
    /// No worker is acting on this device: call `actAs(workerId)` (after
    /// sign-in) before recording anything.
    #[error("no acting worker: {reason}")]
    NoActingWorker {
        /// What to do.
        reason: String,
    },
    /// The store was closed; this object (a questionnaire, a session, the
    /// store) can no longer be used: open the store again.
    #[error("closed: {reason}")]
    Closed {
        /// What was closed.
        reason: String,
    },
    /// The store could not be opened or written (disk full, a damaged
    /// file): nothing of the call was saved.
    #[error("storage: {reason}")]
    Storage {
        /// Why.
        reason: String,
    },
    /// This device has no credential of a station: enrol it with a code
    /// from the station (`enroll`).
    #[error("not enrolled: {reason}")]
    NotEnrolled {
        /// What to do.
        reason: String,
    },
    /// The station revoked a credential (this device's or the peer's), or
    /// it expired: the device must be renewed or enrolled again.
    #[error("revoked: {reason}")]
    Revoked {
        /// Whose, and what to do.
        reason: String,
    },
    /// A peer, record or code was not trusted: another station, a forged
    /// or foreign credential, a used or expired enrolment code, a scope
    /// the credential does not grant.
    #[error("unauthorized: {reason}")]
    Unauthorized {
        /// Why.
        reason: String,
    },
    /// A sync session or bundle failed; what arrived before is kept.
    #[error("sync: {reason}")]
    Sync {
        /// Why.
        reason: String,
    },
    /// A bug in Anxin (a panic was caught): report it.
    #[error("internal error: {reason}")]
    Internal {
        /// What is known.
        reason: String,
    },
}

impl AnxinError {
    /// An `InvalidInput` the SDK itself finds (no limits).
    pub(crate) fn invalid(field: &str, violation: &str, reason: impl Into<String>) -> Self {
        AnxinError::InvalidInput {
            field: field.into(),
            violation: violation.into(),
            min: None,
            max: None,
            reason: reason.into(),
        }
    }
}

/// The result of every exported call.
pub type Result<T> = std::result::Result<T, AnxinError>;

impl From<StoreError> for AnxinError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(v) => v.into(),
            StoreError::NotFound { kind, id } => AnxinError::NotFound {
                what: format!("{kind} {id}"),
            },
            StoreError::Dispatch(d) => d.into(),
            StoreError::Screening(s) => s.into(),
            StoreError::Trust(t) => t.into(),
            StoreError::KeyRejected => AnxinError::KeyRejected {
                reason: e_text(&StoreError::KeyRejected),
            },
            StoreError::TooNew { found, known } => AnxinError::StoreTooNew { found, known },
            StoreError::NotInitialised => AnxinError::NotEnrolled {
                reason: "this device has joined no station yet: enrol it with a code (or, on the station's own device, initStation)".into(),
            },
            other => AnxinError::Storage {
                reason: other.to_string(),
            },
        }
    }
}

fn e_text(e: &impl std::fmt::Display) -> String {
    e.to_string()
}

impl From<DispatchError> for AnxinError {
    fn from(e: DispatchError) -> Self {
        let reason = e.to_string();
        match e {
            DispatchError::Forbidden {
                action,
                status,
                vocabulary,
            } => AnxinError::Conflict {
                action: action.code().into(),
                status: status.into(),
                status_vocabulary: vocabulary.as_str().into(),
                reason,
            },
            DispatchError::PermissionDenied {
                action,
                reason: rule,
            } => AnxinError::PermissionDenied {
                action: action.code().into(),
                rule: rule.code().into(),
                reason,
            },
        }
    }
}

impl From<ScreeningError> for AnxinError {
    fn from(e: ScreeningError) -> Self {
        let field = match &e {
            ScreeningError::UnknownItem { instrument, item }
            | ScreeningError::OutOfRange {
                instrument, item, ..
            }
            | ScreeningError::MissingAnswer { instrument, item }
            | ScreeningError::NotAsked { instrument, item } => format!("{instrument} item {item}"),
            ScreeningError::WrongCount { instrument, .. }
            | ScreeningError::TooManyMissing { instrument, .. }
            | ScreeningError::NoTexts { instrument, .. } => instrument.clone(),
            ScreeningError::UnknownInstrument(_) => "instrument".into(),
            ScreeningError::UnknownOption { what, .. } => (*what).to_string(),
            ScreeningError::BadFile { file, .. } => file.clone(),
        };
        AnxinError::InvalidInput {
            field,
            violation: e.code().into(),
            min: None,
            max: None,
            reason: e.to_string(),
        }
    }
}

impl From<anxin_core::model::ValidationError> for AnxinError {
    fn from(v: anxin_core::model::ValidationError) -> Self {
        let (min, max) = v.violation.limits();
        AnxinError::InvalidInput {
            field: v.field.clone(),
            violation: v.violation.code().into(),
            min,
            max,
            reason: v.violation.to_string(),
        }
    }
}

impl From<TrustError> for AnxinError {
    fn from(e: TrustError) -> Self {
        let reason = e.to_string();
        match e {
            TrustError::NotEnrolled => AnxinError::NotEnrolled { reason },
            TrustError::Revoked { .. } | TrustError::Expired { .. } => {
                AnxinError::Revoked { reason }
            }
            TrustError::BadCode => AnxinError::invalid("enrol_code", "bad_code", reason),
            TrustError::BadSignature { .. }
            | TrustError::Malformed { .. }
            | TrustError::CodeUnusable
            | TrustError::Refused(_) => AnxinError::Unauthorized { reason },
        }
    }
}

impl From<SyncError> for AnxinError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Store(s) => s.into(),
            SyncError::Trust(t) => t.into(),
            other => AnxinError::Sync {
                reason: other.to_string(),
            },
        }
    }
}

impl From<BundleError> for AnxinError {
    fn from(e: BundleError) -> Self {
        let reason = e.to_string();
        match e {
            BundleError::Store(s) => s.into(),
            BundleError::NotEnrolled => AnxinError::NotEnrolled { reason },
            BundleError::NotForThisDevice | BundleError::BadExporter(_) | BundleError::Foreign => {
                AnxinError::Unauthorized { reason }
            }
            _ => AnxinError::Sync { reason },
        }
    }
}

/// Runs `f`, turning a panic into `AnxinError::Internal`. The panic's own
/// message is not passed on (it could quote data); the host gets a fixed
/// text and can report the bug.
pub fn guard<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    quiet_panics();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err(AnxinError::Internal {
            reason: "a bug in Anxin stopped this call; nothing of it was saved".into(),
        }),
    }
}

/// Replaces the default panic hook, which prints the panic's message to
/// stderr (logcat, the device console) where it could quote a name or an
/// answer, with one that prints only where the bug is. Installed once, on
/// the first call into the SDK.
fn quiet_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_else(|| "an unknown place".into());
            eprintln!(
                "anxin: internal error at {at} (the message is withheld: it could quote data)"
            );
        }));
    });
}
