//! Words people read for every stable code: roles, tags, needs, order kinds
//! and statuses, urgencies, priorities and their reasons, tiers, bands,
//! flags, referral and crisis states, due-item kinds, conflict kinds,
//! activity kinds, and why an action was refused — in zh-Hans, zh-Hant and en.
//!
//! Owns the vocabulary list and the lookup. The words themselves are data,
//! `instruments/labels.json`, beside the instruments' own texts; the codes
//! stay the one spelling in JSON, documents, the index and the wire (the
//! `--json` output keeps them). A test holds every code of every vocabulary
//! to a label in all three languages, and the data to no code that does
//! not exist.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use crate::screening::Language;

/// A closed set of codes that people see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vocabulary {
    /// A resident's sex.
    Sex,
    /// A worker's role.
    Role,
    /// A need found at a visit.
    NeedKind,
    /// A station activity.
    ActivityKind,
    /// Who attended an activity.
    AttendeeKind,
    /// A grid roster role.
    RosterRole,
    /// A vulnerability tag (the known ones; custom tags show their code).
    Tag,
    /// An order kind.
    OrderKind,
    /// An order's urgency (and a need's severity).
    Urgency,
    /// An order's status.
    OrderStatus,
    /// A household's triage priority.
    Priority,
    /// Why a household has its priority.
    Reason,
    /// A care tier.
    Tier,
    /// A severity band of an instrument's total (and a C-SSRS risk level).
    Band,
    /// A flag an answer or a rule raises.
    Flag,
    /// A step taken in a crisis.
    CrisisStep,
    /// A referral's state.
    ReferralStatus,
    /// A crisis's state.
    CrisisState,
    /// What is due on a case.
    DueKind,
    /// A kind of order conflict.
    ConflictKind,
    /// An action that was refused ([`crate::refusal::Deed`]).
    Deed,
    /// The rule that refused an action ([`crate::refusal::Rule`]).
    Rule,
    /// What kind of reason gave a tier
    /// ([`crate::screening::TierReasonKind`]).
    TierReason,
}

impl Vocabulary {
    /// Every vocabulary.
    pub const ALL: [Vocabulary; 23] = [
        Vocabulary::Sex,
        Vocabulary::Role,
        Vocabulary::NeedKind,
        Vocabulary::ActivityKind,
        Vocabulary::AttendeeKind,
        Vocabulary::RosterRole,
        Vocabulary::Tag,
        Vocabulary::OrderKind,
        Vocabulary::Urgency,
        Vocabulary::OrderStatus,
        Vocabulary::Priority,
        Vocabulary::Reason,
        Vocabulary::Tier,
        Vocabulary::Band,
        Vocabulary::Flag,
        Vocabulary::CrisisStep,
        Vocabulary::ReferralStatus,
        Vocabulary::CrisisState,
        Vocabulary::DueKind,
        Vocabulary::ConflictKind,
        Vocabulary::Deed,
        Vocabulary::Rule,
        Vocabulary::TierReason,
    ];

    /// The vocabulary's name in the data file and the SDK.
    pub fn as_str(self) -> &'static str {
        match self {
            Vocabulary::Sex => "sex",
            Vocabulary::Role => "role",
            Vocabulary::NeedKind => "need_kind",
            Vocabulary::ActivityKind => "activity_kind",
            Vocabulary::AttendeeKind => "attendee_kind",
            Vocabulary::RosterRole => "roster_role",
            Vocabulary::Tag => "tag",
            Vocabulary::OrderKind => "order_kind",
            Vocabulary::Urgency => "urgency",
            Vocabulary::OrderStatus => "order_status",
            Vocabulary::Priority => "priority",
            Vocabulary::Reason => "reason",
            Vocabulary::Tier => "tier",
            Vocabulary::Band => "band",
            Vocabulary::Flag => "flag",
            Vocabulary::CrisisStep => "crisis_step",
            Vocabulary::ReferralStatus => "referral_status",
            Vocabulary::CrisisState => "crisis_state",
            Vocabulary::DueKind => "due_kind",
            Vocabulary::ConflictKind => "conflict_kind",
            Vocabulary::Deed => "deed",
            Vocabulary::Rule => "rule",
            Vocabulary::TierReason => "tier_reason",
        }
    }
}

/// One code's word in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    /// The vocabulary.
    pub vocabulary: Vocabulary,
    /// The stable code.
    pub code: String,
    /// What people read.
    pub text: String,
}

type Words = BTreeMap<Vocabulary, BTreeMap<String, BTreeMap<Language, String>>>;

#[derive(Deserialize)]
struct File {
    vocabularies: Words,
}

const DATA: &str = include_str!("../instruments/labels.json");

fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    WORDS.get_or_init(|| {
        // The file ships inside the library and a test parses it, so a
        // failure here cannot reach a user; empty words would show codes.
        serde_json::from_str::<File>(DATA)
            .map(|f| f.vocabularies)
            .unwrap_or_default()
    })
}

/// The word for `code` in `language`, if the code is known.
pub fn label(vocabulary: Vocabulary, code: &str, language: Language) -> Option<&'static str> {
    words()
        .get(&vocabulary)?
        .get(code)?
        .get(&language)
        .map(String::as_str)
}

/// The word for `code`, or the code itself when it has none (a custom tag,
/// a code from a newer app).
pub fn word(vocabulary: Vocabulary, code: &str, language: Language) -> String {
    label(vocabulary, code, language)
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

/// Every label in `language`, by vocabulary then code.
pub fn labels(language: Language) -> Vec<Label> {
    let mut out = Vec::new();
    for (vocabulary, codes) in words() {
        for (code, texts) in codes {
            if let Some(text) = texts.get(&language) {
                out.push(Label {
                    vocabulary: *vocabulary,
                    code: code.clone(),
                    text: text.clone(),
                });
            }
        }
    }
    out
}

/// The codes each vocabulary has in the code (the source of truth the data
/// must cover).
pub fn codes(vocabulary: Vocabulary) -> Vec<String> {
    use crate::model::*;
    fn all(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }
    match vocabulary {
        Vocabulary::Sex => all(Sex::WORDS),
        Vocabulary::Role => all(Role::WORDS),
        Vocabulary::NeedKind => all(NeedKind::WORDS),
        Vocabulary::ActivityKind => all(ActivityKind::WORDS),
        Vocabulary::AttendeeKind => all(AttendeeKind::WORDS),
        Vocabulary::RosterRole => all(RosterRole::WORDS),
        Vocabulary::Tag => all(VulnerabilityTag::KNOWN),
        Vocabulary::OrderKind => all(OrderKind::WORDS),
        Vocabulary::Urgency => all(Urgency::WORDS),
        Vocabulary::OrderStatus => all(OrderStatus::WORDS),
        Vocabulary::Priority => all(Priority::WORDS),
        Vocabulary::Reason => all(crate::dispatch::triage::REASONS),
        Vocabulary::Tier => all(Tier::WORDS),
        Vocabulary::Band | Vocabulary::Flag => {
            let mut out = std::collections::BTreeSet::new();
            if let Ok(library) = crate::screening::Library::builtin() {
                for i in library.all() {
                    if vocabulary == Vocabulary::Band {
                        out.extend(i.bands.iter().map(|b| b.name.clone()));
                        out.extend(
                            i.bands_by_cutoffs
                                .values()
                                .flatten()
                                .map(|b| b.name.clone()),
                        );
                        out.extend(i.risk.iter().map(|r| r.level.clone()));
                    } else {
                        for item in &i.items {
                            out.extend(item.red_flag.iter().map(|f| f.flag.clone()));
                            out.extend(item.flag.iter().map(|f| f.flag.clone()));
                        }
                        out.extend(i.criteria.iter().map(|c| c.flag.clone()));
                    }
                }
            }
            out.into_iter().collect()
        }
        Vocabulary::CrisisStep => all(CrisisStep::WORDS),
        Vocabulary::ReferralStatus => all(ReferralStatus::WORDS),
        Vocabulary::CrisisState => all(&["open", "closed"]),
        Vocabulary::DueKind => all(crate::screening::case::DUE_KINDS),
        Vocabulary::ConflictKind => all(crate::dispatch::fold::CONFLICT_KINDS),
        Vocabulary::Deed => crate::refusal::Deed::ALL
            .iter()
            .map(|d| d.code().to_string())
            .collect(),
        Vocabulary::Rule => crate::refusal::Rule::ALL
            .iter()
            .map(|r| r.code().to_string())
            .collect(),
        Vocabulary::TierReason => crate::screening::TierReasonKind::ALL
            .iter()
            .map(|k| k.code().to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_label_in_every_language_and_the_data_names_no_other() {
        let mut missing = Vec::new();
        for v in Vocabulary::ALL {
            let codes = codes(v);
            assert!(!codes.is_empty(), "{v:?} has no codes");
            for code in &codes {
                for lang in Language::ALL {
                    match label(v, code, lang) {
                        Some(text) if !text.trim().is_empty() => {
                            if lang != Language::En {
                                // A Chinese label has no Latin words in it
                                // (a coordinator reads no English).
                                assert!(
                                    !text.chars().any(|c| c.is_ascii_alphabetic()),
                                    "{v:?}/{code}/{lang:?}: {text}"
                                );
                            }
                        }
                        _ => missing.push(format!("{}/{code}/{}", v.as_str(), lang.tag())),
                    }
                }
            }
            let data: Vec<&String> = words()
                .get(&v)
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            for code in data {
                assert!(
                    codes.contains(code),
                    "labels.json names an unknown code {}/{code}",
                    v.as_str()
                );
            }
        }
        assert!(missing.is_empty(), "codes without labels: {missing:?}");
    }

    #[test]
    fn platform_language_tags_are_understood() {
        for (tag, lang) in [
            ("zh-Hans", Language::ZhHans),
            ("zh-Hans-CN", Language::ZhHans),
            ("zh_CN", Language::ZhHans),
            ("zh", Language::ZhHans),
            ("zh-Hant", Language::ZhHant),
            ("zh_Hant_TW", Language::ZhHant),
            ("zh-TW", Language::ZhHant),
            ("zh-HK", Language::ZhHant),
            ("zh-Hans-HK", Language::ZhHans),
            ("en", Language::En),
            ("en-US", Language::En),
            ("EN_gb", Language::En),
        ] {
            assert_eq!(Language::parse(tag).unwrap(), lang, "{tag}");
        }
        for bad in ["", "fr", "zhx", "-"] {
            assert!(Language::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_code_without_a_label_shows_itself() {
        assert_eq!(
            word(Vocabulary::Tag, "dialysis_patient", Language::ZhHans),
            "dialysis_patient"
        );
        assert_eq!(
            word(Vocabulary::Tier, "t2", Language::ZhHans),
            "二级（心理咨询）"
        );
        assert_eq!(
            word(Vocabulary::Tier, "t2", Language::ZhHant),
            "二級（心理諮詢）"
        );
        assert_eq!(labels(Language::En).len(), labels(Language::ZhHans).len());
    }
}
