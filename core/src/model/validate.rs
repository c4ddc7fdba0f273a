//! Validation errors and the small checks shared by every aggregate.
//!
//! A `ValidationError` names the offending field (a path such as
//! `members.birth_year`) and the rule it broke. It never carries the value:
//! the value may be a name, a phone number or an answer to a screening.

use std::fmt;

/// The rule an input value broke. Carries limits, never the value itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A required value is missing or blank.
    Required,
    /// The text is longer than the limit (in characters).
    TooLong {
        /// The maximum number of characters.
        max: usize,
    },
    /// A number lies outside the allowed range.
    OutOfRange {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// The value is not one of the allowed words.
    UnknownValue {
        /// The allowed words, for the error message.
        allowed: &'static [&'static str],
    },
    /// The text contains characters that are not allowed (control characters,
    /// or for a phone number anything but digits, spaces, `+` and `-`).
    BadCharacters,
    /// The value is not a well-formed identifier.
    NotAnId,
    /// The referenced entity does not exist.
    NoSuchEntity,
    /// The value duplicates an existing one where duplicates are not allowed.
    Duplicate,
    /// A combination of values is inconsistent; the text says which.
    Inconsistent(&'static str),
}

impl Violation {
    /// The stable code of the rule broken (for apps to word it).
    pub fn code(&self) -> &'static str {
        match self {
            Violation::Required => "required",
            Violation::TooLong { .. } => "too_long",
            Violation::OutOfRange { .. } => "out_of_range",
            Violation::UnknownValue { .. } => "unknown_value",
            Violation::BadCharacters => "bad_characters",
            Violation::NotAnId => "not_an_id",
            Violation::NoSuchEntity => "no_such_entity",
            Violation::Duplicate => "duplicate",
            Violation::Inconsistent(_) => "inconsistent",
        }
    }

    /// The limits the rule names: `(min, max)` of a range, `(None, max)`
    /// of a length.
    pub fn limits(&self) -> (Option<i64>, Option<i64>) {
        match self {
            Violation::TooLong { max } => (None, Some(*max as i64)),
            Violation::OutOfRange { min, max } => (Some(*min), Some(*max)),
            _ => (None, None),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Required => write!(f, "is required"),
            Violation::TooLong { max } => write!(f, "is longer than {max} characters"),
            Violation::OutOfRange { min, max } => write!(f, "must be between {min} and {max}"),
            Violation::UnknownValue { allowed } => {
                write!(f, "must be one of: {}", allowed.join(", "))
            }
            Violation::BadCharacters => write!(f, "contains characters that are not allowed"),
            Violation::NotAnId => write!(f, "is not a valid identifier"),
            Violation::NoSuchEntity => write!(f, "refers to something that does not exist"),
            Violation::Duplicate => write!(f, "already exists"),
            Violation::Inconsistent(why) => write!(f, "is inconsistent: {why}"),
        }
    }
}

/// An input value broke a rule. `field` names it; the value is never included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {violation}")]
pub struct ValidationError {
    /// The field's path, e.g. `resident.birth_year`.
    pub field: String,
    /// The rule that was broken.
    pub violation: Violation,
}

impl ValidationError {
    /// A new error for `field`.
    pub fn new(field: impl Into<String>, violation: Violation) -> Self {
        Self {
            field: field.into(),
            violation,
        }
    }

    /// The same error, with `prefix.` put before the field's path.
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}.{}", self.field);
        self
    }
}

/// Result of a validation.
pub type Valid = Result<(), ValidationError>;

/// A required single-line text: not blank, at most `max` characters, no
/// control characters. Leading and trailing spaces are not significant.
pub fn required_text(field: &str, value: &str, max: usize) -> Valid {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, Violation::Required));
    }
    optional_text(field, value, max)
}

/// An optional single-line text (may be empty).
pub fn optional_text(field: &str, value: &str, max: usize) -> Valid {
    if value.chars().count() > max {
        return Err(ValidationError::new(field, Violation::TooLong { max }));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ValidationError::new(field, Violation::BadCharacters));
    }
    Ok(())
}

/// Free multi-line notes: newlines and tabs allowed, other control characters not.
pub fn notes_text(field: &str, value: &str, max: usize) -> Valid {
    if value.chars().count() > max {
        return Err(ValidationError::new(field, Violation::TooLong { max }));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::new(field, Violation::BadCharacters));
    }
    Ok(())
}

/// A number within `min..=max`.
pub fn in_range(field: &str, value: i64, min: i64, max: i64) -> Valid {
    if value < min || value > max {
        return Err(ValidationError::new(
            field,
            Violation::OutOfRange { min, max },
        ));
    }
    Ok(())
}

/// A phone number: 3 to 20 digits, with optional `+`, spaces and dashes.
pub fn phone(field: &str, value: &str) -> Valid {
    let digits = value.chars().filter(|c| c.is_ascii_digit()).count();
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || c == '+' || c == ' ' || c == '-')
    {
        return Err(ValidationError::new(field, Violation::BadCharacters));
    }
    if !(3..=20).contains(&digits) {
        return Err(ValidationError::new(
            field,
            Violation::OutOfRange { min: 3, max: 20 },
        ));
    }
    Ok(())
}

/// A plausible timestamp: between 2000-01-01 and 2100-01-01.
pub fn timestamp(field: &str, value: i64) -> Valid {
    in_range(field, value, 946_684_800_000, 4_102_444_800_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_and_never_the_value() {
        let secret = "王秀英\u{7}";
        let err = required_text("resident.name", secret, 40).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("resident.name"));
        assert!(!text.contains("王秀英"));
        assert_eq!(err.violation, Violation::BadCharacters);
    }

    #[test]
    fn text_rules() {
        assert_eq!(
            required_text("f", "   ", 5).unwrap_err().violation,
            Violation::Required
        );
        assert_eq!(
            required_text("f", "123456", 5).unwrap_err().violation,
            Violation::TooLong { max: 5 }
        );
        // Five CJK characters are five characters, not fifteen bytes.
        assert!(required_text("f", "安心小屋站", 5).is_ok());
        assert!(notes_text("f", "line one\nline two", 100).is_ok());
        assert!(optional_text("f", "", 5).is_ok());
    }

    #[test]
    fn phone_rules() {
        assert!(phone("p", "+86 138-0013-8000").is_ok());
        assert!(phone("p", "13800138000").is_ok());
        assert_eq!(
            phone("p", "call me").unwrap_err().violation,
            Violation::BadCharacters
        );
        assert!(phone("p", "12").is_err());
    }
}
