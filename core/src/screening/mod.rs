//! Psychological screening: instruments as versioned data, administration
//! item by item with skip logic and red flags raised at the answer, scoring,
//! and the referral policy that turns results into risk tiers with reasons.
//!
//! Owns: the instrument library (`core/instruments/*.json`, built in, plus
//! licensed item texts a deployment loads at run time), scoring, the
//! stepper an app drives (`Administration`), and the tier policy
//! (`core/instruments/policy.json` by default). Knows nothing of SQLite:
//! the case file (`model::case`, `store::cases`) stores what this computes.
//!
//! Errors name the instrument and item, never an answer: a screening answer
//! is the most sensitive thing the app holds.

mod administer;
pub mod case;
mod instrument;
mod policy;
mod score;

pub use administer::{Administration, Draft, Prompt, PromptOption, Step};
pub use instrument::{
    AnswerOption, Band, Convention, Cutoffs, Direction, Instrument, ItemDef, Language, Library,
    Licence, Loinc, MissingRule, RedFlag, RiskRule, ShowIf, Subscale, Texts,
};
pub use policy::{
    Condition, Policy, RedFlagRule, TierDecision, TierReason, TierReasonKind, TierRule, Trigger,
};
pub use score::{answers_from_list, score, ScoreOptions};

pub use crate::model::{ScreeningResult, Tier};

/// What can go wrong while screening. Messages name instruments and items,
/// never answers or people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreeningError {
    /// No instrument has this id.
    #[error("unknown instrument `{0}`")]
    UnknownInstrument(String),
    /// The instrument has no item with this id.
    #[error("{instrument}: unknown item `{item}`")]
    UnknownItem {
        /// The instrument.
        instrument: String,
        /// The item id given.
        item: String,
    },
    /// An answer is not one of the item's options.
    #[error("{instrument} item {item}: the answer is not one of the allowed values {allowed}")]
    OutOfRange {
        /// The instrument.
        instrument: String,
        /// The item.
        item: String,
        /// The allowed values, e.g. `0-3` or `0, 1, 3, 5`.
        allowed: String,
    },
    /// A required item has no answer.
    #[error("{instrument} item {item} has no answer")]
    MissingAnswer {
        /// The instrument.
        instrument: String,
        /// The first unanswered item.
        item: String,
    },
    /// An item was answered that the skip logic does not ask.
    #[error("{instrument} item {item} is not asked after the earlier answers")]
    NotAsked {
        /// The instrument.
        instrument: String,
        /// The item.
        item: String,
    },
    /// More or fewer answers than the instrument's items.
    #[error("{instrument}: {given} answers given, {expected} expected")]
    WrongCount {
        /// The instrument.
        instrument: String,
        /// How many were given.
        given: usize,
        /// What was expected, e.g. `9 or 10`.
        expected: String,
    },
    /// Too many items are blank for the instrument's missing-data rule.
    #[error(
        "{instrument}: {missing} items blank, the result is invalid (the rule allows {allowed})"
    )]
    TooManyMissing {
        /// The instrument.
        instrument: String,
        /// How many are blank.
        missing: usize,
        /// How many the rule allows.
        allowed: usize,
    },
    /// The instrument has no item texts in this language (licensed texts not
    /// loaded, or no translation).
    #[error("{instrument} has no item texts in {language}")]
    NoTexts {
        /// The instrument.
        instrument: String,
        /// The language.
        language: String,
    },
    /// An unknown option name (language, cutoff set, convention).
    #[error("unknown {what} `{value}` (known: {known})")]
    UnknownOption {
        /// What kind of option.
        what: &'static str,
        /// The value given.
        value: String,
        /// The accepted values.
        known: String,
    },
    /// A definition, policy or licensed-texts file is malformed.
    #[error("{file}: {reason}")]
    BadFile {
        /// Which file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl ScreeningError {
    /// The stable code of what went wrong (for apps to word it).
    pub fn code(&self) -> &'static str {
        match self {
            ScreeningError::UnknownInstrument(_) => "unknown_instrument",
            ScreeningError::UnknownItem { .. } => "unknown_item",
            ScreeningError::OutOfRange { .. } => "out_of_range",
            ScreeningError::MissingAnswer { .. } => "missing_answer",
            ScreeningError::NotAsked { .. } => "not_asked",
            ScreeningError::WrongCount { .. } => "wrong_count",
            ScreeningError::TooManyMissing { .. } => "too_many_missing",
            ScreeningError::NoTexts { .. } => "no_texts",
            ScreeningError::UnknownOption { .. } => "unknown_option",
            ScreeningError::BadFile { .. } => "bad_file",
        }
    }
}

#[cfg(test)]
mod tests;
