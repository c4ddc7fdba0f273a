//! Closed vocabularies (sex, role, need kinds, ...) and the extensible set of
//! vulnerability tags.
//!
//! Each word has exactly one spelling (snake_case), used alike in JSON, in the
//! automerge documents, in the SQL index and on the command line. The
//! `str_enum!` macro keeps those four in step.

use std::collections::BTreeSet;
use std::fmt;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ValidationError, Violation};

macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every word of this vocabulary, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The spellings, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($text),+];

            /// The one spelling of this word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a word given from outside; `field` names it in the error.
            pub fn parse(text: &str, field: &str) -> Result<Self, ValidationError> {
                match text.trim() {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ValidationError::new(field, Violation::UnknownValue { allowed: Self::WORDS })),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::parse(&text, stringify!($name)).map_err(serde::de::Error::custom)
            }
        }

        impl Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
                reconciler.str(self.as_str())
            }
        }

        impl Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
                $name::parse(s, stringify!($name))
                    .map_err(|_| HydrateError::unexpected(stringify!($name), "an unknown word".to_string()))
            }
        }
    };
}

str_enum!(
    /// A resident's sex as recorded at canvassing.
    Sex {
        /// Female.
        Female = "female",
        /// Male.
        Male = "male",
        /// Not recorded or declined.
        Unknown = "unknown",
    }
);

str_enum!(
    /// What a worker does for the station. Decides what they may do and see.
    Role {
        /// A volunteer (志愿者): canvassing, deliveries, follow-up.
        Volunteer = "volunteer",
        /// A social worker (社工).
        SocialWorker = "social_worker",
        /// A psychological counselor (心理咨询师).
        Counselor = "counselor",
        /// A clinician (doctor, psychiatrist, nurse).
        Clinician = "clinician",
        /// A dispatcher (派单员) who assigns orders.
        Dispatcher = "dispatcher",
        /// The station's administrator.
        StationAdmin = "station_admin",
    }
);

str_enum!(
    /// A kind of need found at a canvass visit.
    NeedKind {
        /// Medicine running out (with days of supply left).
        Medicine = "medicine",
        /// Food.
        Food = "food",
        /// Drinking water.
        Water = "water",
        /// Medical care (a visit, a hospital appointment, dialysis...).
        MedicalCare = "medical_care",
        /// Psychological support.
        PsychologicalSupport = "psychological_support",
        /// Anything else (described in `detail`).
        Other = "other",
    }
);

str_enum!(
    /// A kind of station activity.
    ActivityKind {
        /// A group session (support group, psychoeducation).
        GroupSession = "group_session",
        /// A cultural activity.
        CulturalActivity = "cultural_activity",
        /// Training of workers or volunteers.
        Training = "training",
        /// A popular-science talk (科普讲座).
        Lecture = "lecture",
        /// A supervision session (督导): a supervisor with workers; its
        /// title names the topics, never case content.
        Supervision = "supervision",
    }
);

str_enum!(
    /// Who attended an activity.
    AttendeeKind {
        /// A worker of the station.
        Worker = "worker",
        /// A resident.
        Resident = "resident",
    }
);

str_enum!(
    /// A worker's place in a grid's roster.
    RosterRole {
        /// The grid's lead contact (网格长).
        Lead = "lead",
        /// A member of the grid's team.
        Member = "member",
    }
);

/// A vulnerability tag on a resident. The well-known tags are named; a
/// deployment may add its own (`Custom`), spelled in lower-case snake_case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VulnerabilityTag {
    /// An older person living alone (独居老人).
    ElderlyAlone,
    /// A person with a disability (残障人士).
    Disabled,
    /// Chronic illness needing regular medicine (慢性病需长期用药).
    ChronicIllness,
    /// Pregnant or postpartum (孕产妇).
    PregnantPostpartum,
    /// A child (儿童).
    Child,
    /// A bereaved family (丧亲家庭).
    Bereaved,
    /// A person recovered from the disease (康复者).
    Recovered,
    /// A front-line worker (一线工作人员).
    FrontLineWorker,
    /// A military family (军属).
    MilitaryFamily,
    /// Under community corrections (社区矫正对象).
    CommunityCorrections,
    /// A tag added by a deployment.
    Custom(String),
}

impl VulnerabilityTag {
    /// The well-known tags, in a stable order.
    pub const KNOWN: &'static [&'static str] = &[
        "elderly_alone",
        "disabled",
        "chronic_illness",
        "pregnant_postpartum",
        "child",
        "bereaved",
        "recovered",
        "front_line_worker",
        "military_family",
        "community_corrections",
    ];

    /// The tag's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ElderlyAlone => "elderly_alone",
            Self::Disabled => "disabled",
            Self::ChronicIllness => "chronic_illness",
            Self::PregnantPostpartum => "pregnant_postpartum",
            Self::Child => "child",
            Self::Bereaved => "bereaved",
            Self::Recovered => "recovered",
            Self::FrontLineWorker => "front_line_worker",
            Self::MilitaryFamily => "military_family",
            Self::CommunityCorrections => "community_corrections",
            Self::Custom(s) => s,
        }
    }

    /// Parses a tag: a well-known word, or a custom one of 2 to 40 characters
    /// `a-z`, `0-9` and `_`, starting with a letter.
    pub fn parse(text: &str, field: &str) -> Result<Self, ValidationError> {
        let text = text.trim();
        Ok(match text {
            "elderly_alone" => Self::ElderlyAlone,
            "disabled" => Self::Disabled,
            "chronic_illness" => Self::ChronicIllness,
            "pregnant_postpartum" => Self::PregnantPostpartum,
            "child" => Self::Child,
            "bereaved" => Self::Bereaved,
            "recovered" => Self::Recovered,
            "front_line_worker" => Self::FrontLineWorker,
            "military_family" => Self::MilitaryFamily,
            "community_corrections" => Self::CommunityCorrections,
            other => {
                let ok = (2..=40).contains(&other.len())
                    && other.starts_with(|c: char| c.is_ascii_lowercase())
                    && other
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !ok {
                    return Err(ValidationError::new(field, Violation::BadCharacters));
                }
                Self::Custom(other.to_string())
            }
        })
    }

    /// How much this tag weighs when ordering households "most vulnerable
    /// first". Tags of people who cannot fend for themselves weigh most
    /// (UNHCR "immediate attention" list, screening-reference §4).
    pub fn weight(&self) -> u32 {
        match self {
            Self::ElderlyAlone | Self::Disabled | Self::PregnantPostpartum => 3,
            Self::ChronicIllness | Self::Child | Self::Bereaved => 2,
            Self::Recovered
            | Self::FrontLineWorker
            | Self::MilitaryFamily
            | Self::CommunityCorrections
            | Self::Custom(_) => 1,
        }
    }
}

impl fmt::Display for VulnerabilityTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for VulnerabilityTag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for VulnerabilityTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text, "tag").map_err(serde::de::Error::custom)
    }
}

/// A set of words kept in an automerge map `{word: true}`, so that two phones
/// adding different tags concurrently both keep theirs (a list would also
/// merge, but could hold the same tag twice).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WordSet<T: Ord>(pub BTreeSet<T>);

impl<T: Ord> WordSet<T> {
    /// Whether the set holds `item`.
    pub fn contains(&self, item: &T) -> bool {
        self.0.contains(item)
    }
    /// Iterates in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }
    /// The number of words.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Ord> FromIterator<T> for WordSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// A word that can live in a [`WordSet`].
pub trait Word: Ord + Sized {
    /// Its spelling.
    fn word(&self) -> &str;
    /// Parses a stored spelling.
    fn from_word(text: &str) -> Option<Self>;
}

impl Word for VulnerabilityTag {
    fn word(&self) -> &str {
        self.as_str()
    }
    fn from_word(text: &str) -> Option<Self> {
        Self::parse(text, "tag").ok()
    }
}

impl Word for String {
    fn word(&self) -> &str {
        self
    }
    fn from_word(text: &str) -> Option<Self> {
        Some(text.to_string())
    }
}

impl<T: Word> Serialize for WordSet<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|w| w.word()))
    }
}

impl<'de, T: Word> Deserialize<'de> for WordSet<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let words = Vec::<String>::deserialize(d)?;
        words
            .iter()
            .map(|w| T::from_word(w).ok_or_else(|| serde::de::Error::custom("unknown word")))
            .collect()
    }
}

impl<T: Word> Reconcile for WordSet<T> {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
        let map: std::collections::BTreeMap<&str, bool> =
            self.0.iter().map(|w| (w.word(), true)).collect();
        map.reconcile(reconciler)
    }
}

impl<T: Word> Hydrate for WordSet<T> {
    fn hydrate_map<D: autosurgeon::ReadDoc>(
        doc: &D,
        obj: &automerge::ObjId,
    ) -> Result<Self, HydrateError> {
        let map = std::collections::BTreeMap::<String, bool>::hydrate_map(doc, obj)?;
        map.into_iter()
            .filter(|(_, present)| *present)
            .map(|(w, _)| {
                T::from_word(&w).ok_or_else(|| {
                    HydrateError::unexpected("a known word", "an unknown word".into())
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str(), "role").unwrap(), *role);
        }
        for word in VulnerabilityTag::KNOWN {
            let tag = VulnerabilityTag::parse(word, "tag").unwrap();
            assert!(!matches!(tag, VulnerabilityTag::Custom(_)), "{word}");
            assert_eq!(tag.as_str(), *word);
        }
    }

    #[test]
    fn custom_tags_are_extensible_but_checked() {
        assert_eq!(
            VulnerabilityTag::parse("dialysis_patient", "tag").unwrap(),
            VulnerabilityTag::Custom("dialysis_patient".into())
        );
        assert!(VulnerabilityTag::parse("Has Space", "tag").is_err());
        assert!(VulnerabilityTag::parse("x", "tag").is_err());
        assert!(VulnerabilityTag::parse("9lives", "tag").is_err());
    }

    #[test]
    fn unknown_role_is_a_typed_error_listing_the_words() {
        let err = Role::parse("boss", "worker.role").unwrap_err();
        assert_eq!(err.field, "worker.role");
        assert!(err.to_string().contains("station_admin"));
    }
}

str_enum!(
    /// What a service order is for.
    OrderKind {
        /// Pick up and deliver medicine.
        MedicineDelivery = "medicine_delivery",
        /// Groceries and supplies.
        Groceries = "groceries",
        /// Antigen test kits.
        TestKits = "test_kits",
        /// Escort or transport to hospital.
        HospitalEscort = "hospital_escort",
        /// A psychological support contact (needs a trained worker).
        PsychologicalSupport = "psychological_support",
        /// A home visit.
        HomeVisit = "home_visit",
        /// Anything else.
        Other = "other",
    }
);

str_enum!(
    /// How urgent an order is.
    Urgency {
        /// Next round.
        Routine = "routine",
        /// Within the day.
        Urgent = "urgent",
        /// Now: life may depend on it.
        Critical = "critical",
    }
);

str_enum!(
    /// Where an order stands, as folded from its events.
    OrderStatus {
        /// Recorded (点单), not yet dispatched.
        Requested = "requested",
        /// Dispatched (派单) to a worker or a grid.
        Dispatched = "dispatched",
        /// Accepted (接单) by a worker.
        Accepted = "accepted",
        /// Under way.
        Started = "started",
        /// Done, with handover proof.
        Completed = "completed",
        /// Rated (评单).
        Rated = "rated",
        /// Cancelled, with a reason.
        Cancelled = "cancelled",
    }
);

str_enum!(
    /// A household's triage priority (screening-reference §4): life first,
    /// the most vulnerable first, the most urgent first.
    Priority {
        /// Life-threatening: act within hours.
        P1 = "p1",
        /// High vulnerability without support: act within 24 h.
        P2 = "p2",
        /// Vulnerable with support, or a mental-health T1/T2 result: 72 h.
        P3 = "p3",
        /// Routine: next round.
        P4 = "p4",
    }
);

str_enum!(
    /// A risk tier of stepped care (分级转介), lowest first, so `max` is the
    /// most urgent.
    Tier {
        /// Self-help and psychoeducation.
        T0 = "t0",
        /// Volunteer or social-worker follow-up.
        T1 = "t1",
        /// Counselor.
        T2 = "t2",
        /// Psychiatrist or hospital.
        T3 = "t3",
        /// Emergency: do not leave the person alone.
        Crisis = "crisis",
    }
);

impl Tier {
    /// Parses a tier word, `None` if unknown.
    pub fn parse_word(text: &str) -> Option<Tier> {
        Tier::ALL.iter().copied().find(|t| t.as_str() == text)
    }
}

str_enum!(
    /// Something done during a crisis (危机干预).
    CrisisStep {
        /// Stayed with the person; did not leave them alone.
        StayedWithPerson = "stayed_with_person",
        /// Means of self-harm removed.
        MeansRemoved = "means_removed",
        /// Emergency services (120/110) called.
        EmergencyServicesCalled = "emergency_services_called",
        /// Handed over to a counselor or clinician.
        HandedToProfessional = "handed_to_professional",
        /// Family or friends mobilised.
        FamilyMobilised = "family_mobilised",
        /// Something else (described in the note).
        Other = "other",
    }
);

str_enum!(
    /// Where a referral stands. `escalated` is not stored: it is derived
    /// when a deadline passes unacknowledged.
    ReferralStatus {
        /// Proposed by a worker.
        Proposed = "proposed",
        /// Sent to the service.
        Sent = "sent",
        /// The service acknowledged it.
        Acknowledged = "acknowledged",
        /// The person was seen.
        Seen = "seen",
        /// Closed (with the outcome in the note).
        Closed = "closed",
    }
);
