//! The records and enums the SDK passes, and their conversions from and to
//! core's types. Ids travel as strings; closed vocabularies as enums.

use anxin_core::model as m;
use anxin_core::model::{
    Address, Assignee, CrisisStep, DocKind, GridId, HouseholdId, Item, Need, OrderAction,
    ReferralStatus, Resident, ResidentId, Role, ScreeningResult, Tier, VulnerabilityTag, WorkerId,
};
use anxin_core::screening::case::{CaseState, CrisisView, ReferralView, ScreeningView};
use anxin_core::screening::{Instrument, Prompt};
use anxin_core::store::{
    CaseRow, ConflictRow, DueRow, HouseholdRow, NewOrder, NewResident, QueueRow, Recorded,
    ResidentRow, Suggestion, WorkerRow,
};

use crate::error::{AnxinError, Result};

/// Declares an SDK enum mirroring a closed vocabulary of core, with the
/// conversions both ways (exhaustive: a code core adds breaks the build
/// here, not an app at run time).
macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident = $core:ty { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl From<$core> for $name {
            fn from(c: $core) -> Self {
                match c {
                    $(<$core>::$variant => $name::$variant,)+
                }
            }
        }

        impl From<$name> for $core {
            fn from(c: $name) -> Self {
                match c {
                    $($name::$variant => <$core>::$variant,)+
                }
            }
        }
    };
}

mirror! {
    /// A resident's sex.
    Sex = m::Sex {
        /// Female.
        Female,
        /// Male.
        Male,
        /// Not recorded.
        Unknown,
    }
}

mirror! {
    /// What a need found at a visit is for.
    NeedKind = m::NeedKind {
        /// Medicine.
        Medicine,
        /// Food.
        Food,
        /// Drinking water.
        Water,
        /// Medical care.
        MedicalCare,
        /// Psychological support.
        PsychologicalSupport,
        /// Anything else.
        Other,
    }
}

mirror! {
    /// What an order is for.
    OrderKind = m::OrderKind {
        /// Deliver medicine.
        MedicineDelivery,
        /// Deliver groceries.
        Groceries,
        /// Deliver test kits.
        TestKits,
        /// Escort to hospital.
        HospitalEscort,
        /// Psychological support (trained workers only).
        PsychologicalSupport,
        /// A home visit.
        HomeVisit,
        /// Anything else.
        Other,
    }
}

mirror! {
    /// How urgent an order (or a need) is.
    Urgency = m::Urgency {
        /// Routine.
        Routine,
        /// Urgent.
        Urgent,
        /// Critical: an emergency.
        Critical,
    }
}

mirror! {
    /// Where an order stands.
    OrderStatus = m::OrderStatus {
        /// Requested, not yet dispatched.
        Requested,
        /// Dispatched to a worker or a grid.
        Dispatched,
        /// Accepted by a worker.
        Accepted,
        /// Being carried out.
        Started,
        /// Done.
        Completed,
        /// Done and rated by the household.
        Rated,
        /// Cancelled.
        Cancelled,
    }
}

mirror! {
    /// A household's triage priority.
    Priority = m::Priority {
        /// Act within hours.
        P1,
        /// Act today.
        P2,
        /// Act this week.
        P3,
        /// Next round.
        P4,
    }
}

/// What is due on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum DueKind {
    /// An open crisis.
    Crisis,
    /// A screening a professional must review.
    Review,
    /// A referral the receiving service must acknowledge.
    ReferralAck,
    /// A referral not acknowledged in time: escalate.
    Escalate,
    /// A follow-up visit.
    Followup,
    /// A re-screening.
    Rescreen,
}

impl DueKind {
    /// Every kind with its code (a test holds this to core's list).
    pub(crate) const CODES: [(DueKind, &'static str); 6] = [
        (DueKind::Crisis, "crisis"),
        (DueKind::Review, "review"),
        (DueKind::ReferralAck, "referral_ack"),
        (DueKind::Escalate, "escalate"),
        (DueKind::Followup, "followup"),
        (DueKind::Rescreen, "rescreen"),
    ];

    pub(crate) fn from_code(code: &str) -> Option<DueKind> {
        Self::CODES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(k, _)| *k)
    }
}

/// A kind of order conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum ConflictKind {
    /// Two workers accepted the order out of contact; one keeps it.
    AcceptanceLost,
    /// Completed on one phone, cancelled on another.
    CompletedAndCancelled,
}

impl ConflictKind {
    /// Every kind with its code (a test holds this to core's list).
    pub(crate) const CODES: [(ConflictKind, &'static str); 2] = [
        (ConflictKind::AcceptanceLost, "acceptance_lost"),
        (
            ConflictKind::CompletedAndCancelled,
            "completed_and_cancelled",
        ),
    ];

    pub(crate) fn from_code(code: &str) -> Option<ConflictKind> {
        Self::CODES
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(k, _)| *k)
    }
}

/// The cutoff set a sitting is graded with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum CutoffSet {
    /// The cutoffs validated in China (`zh-CN`).
    ZhCn,
    /// The international cutoffs.
    International,
}

impl CutoffSet {
    pub(crate) fn code(self) -> &'static str {
        match self {
            CutoffSet::ZhCn => "zh-CN",
            CutoffSet::International => "international",
        }
    }

    pub(crate) fn from_code(code: &str) -> Option<CutoffSet> {
        [CutoffSet::ZhCn, CutoffSet::International]
            .into_iter()
            .find(|c| c.code() == code)
    }
}

mirror! {
    /// A language of the screening texts and the labels. `languageFromTag`
    /// reads a platform tag (`zh-Hans-CN`, `zh_Hant_TW`, `en-US`).
    Language = anxin_core::screening::Language {
        /// English.
        En,
        /// Simplified Chinese.
        ZhHans,
        /// Traditional Chinese.
        ZhHant,
    }
}

/// How to open a store.
#[derive(Debug, Clone, uniffi::Record)]
pub struct OpenOptions {
    /// The store file (created if missing).
    pub path: String,
    /// The encryption key (a passphrase from the platform keystore); none
    /// for an unencrypted store.
    #[uniffi(default = None)]
    pub key: Option<String>,
    /// The scopes this device holds (`station`, `grid:<id>`, `case:main`);
    /// none keeps what the store has (a new store: all of its station's).
    #[uniffi(default = None)]
    pub scopes: Option<Vec<String>>,
    /// The worker using this device, recorded with every change.
    #[uniffi(default = None)]
    pub acting_worker: Option<String>,
    /// The deployment's referral policy (JSON in the shape of Anxin's
    /// `instruments/policy.json`: tiers, review and acknowledgement
    /// deadlines, re-screen intervals); none uses the built-in one. Every
    /// device of a station must use the same policy.
    #[uniffi(default)]
    pub policy_json: Option<String>,
}

/// A grid of the station.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GridInfo {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A worker's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum WorkerRole {
    /// A volunteer.
    Volunteer,
    /// A social worker.
    SocialWorker,
    /// A psychological counselor.
    Counselor,
    /// A clinician.
    Clinician,
    /// A dispatcher.
    Dispatcher,
    /// The station's administrator.
    StationAdmin,
}

impl From<WorkerRole> for Role {
    fn from(r: WorkerRole) -> Self {
        match r {
            WorkerRole::Volunteer => Role::Volunteer,
            WorkerRole::SocialWorker => Role::SocialWorker,
            WorkerRole::Counselor => Role::Counselor,
            WorkerRole::Clinician => Role::Clinician,
            WorkerRole::Dispatcher => Role::Dispatcher,
            WorkerRole::StationAdmin => Role::StationAdmin,
        }
    }
}

impl From<Role> for WorkerRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Volunteer => WorkerRole::Volunteer,
            Role::SocialWorker => WorkerRole::SocialWorker,
            Role::Counselor => WorkerRole::Counselor,
            Role::Clinician => WorkerRole::Clinician,
            Role::Dispatcher => WorkerRole::Dispatcher,
            Role::StationAdmin => WorkerRole::StationAdmin,
        }
    }
}

/// A worker, as listed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WorkerInfo {
    /// Their id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: WorkerRole,
    /// Their grid, if any.
    pub grid_id: Option<String>,
}

impl From<WorkerRow> for WorkerInfo {
    fn from(w: WorkerRow) -> Self {
        Self {
            id: w.id.to_string(),
            name: w.name,
            role: w.role.into(),
            grid_id: w.grid_id.map(|g| g.to_string()),
        }
    }
}

/// A household's address.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AddressInput {
    /// The compound (小区).
    pub compound: String,
    /// The building (栋).
    pub building: String,
    /// The unit (单元); may be empty.
    pub unit: String,
    /// The room.
    pub room: String,
}

impl From<AddressInput> for Address {
    fn from(a: AddressInput) -> Self {
        Address {
            compound: a.compound,
            building: a.building,
            unit: a.unit,
            room: a.room,
        }
    }
}

/// A resident to add.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ResidentInput {
    /// Their name.
    pub name: String,
    /// Their sex.
    pub sex: Sex,
    /// Year of birth.
    pub birth_year: u32,
    /// Phone; may be empty.
    #[uniffi(default = "")]
    pub phone: String,
    /// Vulnerability tags (`elderly_alone`, `chronic_illness`, …).
    #[uniffi(default = [])]
    pub tags: Vec<String>,
}

impl TryFrom<ResidentInput> for NewResident {
    type Error = AnxinError;
    fn try_from(r: ResidentInput) -> Result<Self> {
        Ok(NewResident {
            name: r.name,
            sex: r.sex.into(),
            birth_year: r.birth_year,
            phone: r.phone,
            tags: r
                .tags
                .iter()
                .map(|t| VulnerabilityTag::parse(t, "resident.tags"))
                .collect::<std::result::Result<_, _>>()?,
        })
    }
}

/// A resident, as stored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ResidentInfo {
    /// Their id.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their sex.
    pub sex: Sex,
    /// Year of birth.
    pub birth_year: u32,
    /// Phone; may be empty.
    pub phone: String,
    /// Vulnerability tags.
    pub tags: Vec<String>,
}

impl From<&Resident> for ResidentInfo {
    fn from(r: &Resident) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.clone(),
            sex: r.sex.into(),
            birth_year: r.birth_year,
            phone: r.phone.clone(),
            tags: r.tags.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// A need found at a canvass visit.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NeedInput {
    /// What it is for.
    pub kind: NeedKind,
    /// The medicine or item, e.g. 胰岛素.
    pub item: String,
    /// Days of supply left (medicine).
    pub days_left: Option<u32>,
    /// Details.
    #[uniffi(default = "")]
    pub detail: String,
    /// How severe (none: routine). Critical is an emergency: a critical
    /// `MEDICAL_CARE` need makes the household P1.
    #[uniffi(default = None)]
    pub severity: Option<Urgency>,
}

impl TryFrom<NeedInput> for Need {
    type Error = AnxinError;
    fn try_from(n: NeedInput) -> Result<Self> {
        Ok(Need {
            kind: n.kind.into(),
            item: n.item,
            days_left: n.days_left,
            detail: n.detail,
            severity: n.severity.map_or(m::Urgency::Routine, Into::into),
            met: None,
        })
    }
}

/// A household in triage order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HouseholdInfo {
    /// Its id.
    pub id: String,
    /// Its address.
    pub address: String,
    /// How many members.
    pub members: u32,
    /// `P1` (act within hours) to `P4` (next round).
    pub priority: Priority,
    /// Why, as reason codes.
    pub reasons: Vec<String>,
}

impl From<HouseholdRow> for HouseholdInfo {
    fn from(h: HouseholdRow) -> Self {
        Self {
            id: h.id.to_string(),
            address: h.address,
            members: h.members,
            priority: h.priority.into(),
            reasons: h.reasons,
        }
    }
}

/// A screening instrument.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InstrumentInfo {
    /// Its id (`phq9`).
    pub id: String,
    /// Its name (`PHQ-9`).
    pub name: String,
    /// The definition's version.
    pub version: String,
    /// How many items.
    pub items: u32,
    /// Languages its texts are available in.
    pub languages: Vec<Language>,
    /// The licence notice.
    pub licence: String,
}

impl From<&Instrument> for InstrumentInfo {
    fn from(i: &Instrument) -> Self {
        Self {
            id: i.id.clone(),
            name: i.name.clone(),
            version: i.version.clone(),
            items: i.items.len() as u32,
            languages: anxin_core::screening::Language::ALL
                .iter()
                .filter(|l| i.has_texts(**l))
                .map(|l| Language::from(*l))
                .collect(),
            licence: i.licence.notice.clone(),
        }
    }
}

/// An answer option as shown.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PromptChoice {
    /// The value to pass to `answer`.
    pub value: i32,
    /// The label in the respondent's language.
    pub label: String,
}

/// The item to ask.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ItemPrompt {
    /// The item's id.
    pub item_id: String,
    /// Its position among the items asked.
    pub position: u32,
    /// The stem.
    pub stem: String,
    /// The question.
    pub text: String,
    /// The options.
    pub choices: Vec<PromptChoice>,
    /// May be left unanswered.
    pub optional: bool,
}

impl From<Prompt> for ItemPrompt {
    fn from(p: Prompt) -> Self {
        Self {
            item_id: p.item,
            position: p.position as u32,
            stem: p.stem,
            text: p.text,
            choices: p
                .options
                .into_iter()
                .map(|o| PromptChoice {
                    value: o.value,
                    label: o.label,
                })
                .collect(),
            optional: p.optional,
        }
    }
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AnswerResult {
    /// Red flags this answer raised: open the crisis path now.
    pub red_flags: Vec<String>,
    /// With a red flag: the risk assessments (`cssrs`) to continue with,
    /// those whose texts are loaded in this language; empty when none is, and
    /// then a counselor or clinician evaluates the person.
    pub assess_with: Vec<String>,
    /// The next item, or none when done.
    pub next: Option<ItemPrompt>,
}

/// A risk tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RiskTier {
    /// Self-help.
    T0,
    /// Volunteer or social worker follow-up.
    T1,
    /// Counselor.
    T2,
    /// Psychiatrist or hospital.
    T3,
    /// Emergency: do not leave the person alone.
    Crisis,
}

impl From<Tier> for RiskTier {
    fn from(t: Tier) -> Self {
        match t {
            Tier::T0 => RiskTier::T0,
            Tier::T1 => RiskTier::T1,
            Tier::T2 => RiskTier::T2,
            Tier::T3 => RiskTier::T3,
            Tier::Crisis => RiskTier::Crisis,
        }
    }
}

impl From<RiskTier> for Tier {
    fn from(t: RiskTier) -> Self {
        match t {
            RiskTier::T0 => Tier::T0,
            RiskTier::T1 => Tier::T1,
            RiskTier::T2 => Tier::T2,
            RiskTier::T3 => Tier::T3,
            RiskTier::Crisis => Tier::Crisis,
        }
    }
}

/// A scored questionnaire.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScreeningOutcome {
    /// The instrument.
    pub instrument: String,
    /// The total (none for the C-SSRS).
    pub score: Option<i64>,
    /// The band.
    pub band: Option<String>,
    /// Every flag raised.
    pub flags: Vec<String>,
    /// The tier of this result alone.
    pub tier: RiskTier,
    /// Why.
    pub reasons: Vec<String>,
    /// The scoring convention the answers and the total are in (K6/K10:
    /// `0-4` or `1-5`); none for instruments with one way of scoring.
    pub convention: Option<String>,
    /// The cutoff set it was graded with.
    pub cutoff_set: CutoffSet,
    /// Why its tier, as codes and values (one for each of `reasons`; empty
    /// for results read back from a case file, whose tier is the case's).
    pub why: Vec<TierReasonInfo>,
}

impl ScreeningOutcome {
    /// The outcome of a result, with the policy's reasons for its tier.
    pub(crate) fn new(r: ScreeningResult, policy: &anxin_core::screening::Policy) -> Self {
        let why = policy.assess(&r, false).why;
        Self {
            why: why.into_iter().map(TierReasonInfo::from).collect(),
            ..Self::from(r)
        }
    }
}

mirror! {
    /// What kind of reason gave a tier (labels: vocabulary `tier_reason`).
    TierReasonKind = anxin_core::screening::TierReasonKind {
        /// A rule of the referral policy matched (a total, a positive screen,
        /// a risk level, a flag).
        Rule,
        /// A red flag no risk assessment in the sitting graded: the crisis path.
        RedFlagUnassessed,
        /// A red flag a risk assessment in the same sitting graded.
        RedFlagAssessed,
        /// Below every referral threshold.
        BelowThresholds,
        /// The sitting had no results.
        NoResults,
    }
}

/// One reason for a tier, as codes and values: word it with the labels
/// (`tier`, `tier_reason`, `band`, `flag`) and the numbers.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TierReasonInfo {
    /// The tier this reason gives.
    pub tier: RiskTier,
    /// What kind of reason.
    pub kind: TierReasonKind,
    /// The instrument (empty for `NO_RESULTS`).
    pub instrument: String,
    /// The total, in the convention it was scored in.
    pub total: Option<i64>,
    /// The rule's lower bound on the total.
    pub total_at_least: Option<i64>,
    /// The rule's upper bound on the total.
    pub total_at_most: Option<i64>,
    /// The scoring convention (K10/K6), if the instrument has several.
    pub convention: Option<String>,
    /// The cutoff set of a positive screen the rule asked for.
    pub positive_by: Option<CutoffSet>,
    /// The risk level (C-SSRS) the rule looked at.
    pub risk: Option<String>,
    /// The flag the rule or the red flag named.
    pub flag: Option<String>,
}

impl From<anxin_core::screening::TierReason> for TierReasonInfo {
    fn from(w: anxin_core::screening::TierReason) -> Self {
        Self {
            tier: w.tier.into(),
            kind: w.kind.into(),
            instrument: w.instrument,
            total: w.total,
            total_at_least: w.total_at_least,
            total_at_most: w.total_at_most,
            convention: w.convention,
            positive_by: w.positive_by.as_deref().and_then(CutoffSet::from_code),
            risk: w.risk,
            flag: w.flag,
        }
    }
}

impl From<ScreeningResult> for ScreeningOutcome {
    fn from(r: ScreeningResult) -> Self {
        Self {
            why: Vec::new(),
            instrument: r.instrument,
            score: r.score,
            band: r.band,
            flags: r.flags,
            tier: r.tier.into(),
            reasons: r.reasons,
            convention: r.convention,
            // Core grades only with the sets instruments define, which are
            // these two; a deployment's own set reads as international.
            cutoff_set: CutoffSet::from_code(&r.cutoff_set).unwrap_or(CutoffSet::International),
        }
    }
}

/// A recorded screening sitting.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RecordedScreening {
    /// The resident's case file.
    pub case_id: String,
    /// The screening's id (for a review).
    pub screening_id: String,
    /// The sitting's tier.
    pub tier: RiskTier,
    /// Why, in English.
    pub reasons: Vec<String>,
    /// Why, as codes and values (one for each of `reasons`).
    pub why: Vec<TierReasonInfo>,
    /// The case's tier after it.
    pub case_tier: RiskTier,
    /// The crisis this sitting opened in the same write (a sitting graded
    /// crisis opens one unless an open crisis already covers the resident).
    pub crisis_id: Option<String>,
    /// The resident's open crises after the sitting.
    pub open_crisis_ids: Vec<String>,
}

impl From<Recorded> for RecordedScreening {
    fn from(r: Recorded) -> Self {
        Self {
            case_id: r.case_id.to_string(),
            screening_id: r.screening.to_string(),
            tier: r.decision.tier.into(),
            reasons: r.decision.reasons,
            why: r
                .decision
                .why
                .into_iter()
                .map(TierReasonInfo::from)
                .collect(),
            case_tier: r.case_tier.into(),
            crisis_id: r.crisis_opened.map(|c| c.to_string()),
            open_crisis_ids: r.open_crises.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A crisis in a case file.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CrisisRef {
    /// The case.
    pub case_id: String,
    /// The crisis.
    pub crisis_id: String,
}

/// Something done during a crisis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CrisisStepKind {
    /// Stayed with the person.
    StayedWithPerson,
    /// Means removed.
    MeansRemoved,
    /// 120/110 called.
    EmergencyServicesCalled,
    /// Handed to a counselor or clinician.
    HandedToProfessional,
    /// Family or friends mobilised.
    FamilyMobilised,
    /// Something else (in the note).
    Other,
}

impl From<CrisisStepKind> for CrisisStep {
    fn from(s: CrisisStepKind) -> Self {
        match s {
            CrisisStepKind::StayedWithPerson => CrisisStep::StayedWithPerson,
            CrisisStepKind::MeansRemoved => CrisisStep::MeansRemoved,
            CrisisStepKind::EmergencyServicesCalled => CrisisStep::EmergencyServicesCalled,
            CrisisStepKind::HandedToProfessional => CrisisStep::HandedToProfessional,
            CrisisStepKind::FamilyMobilised => CrisisStep::FamilyMobilised,
            CrisisStepKind::Other => CrisisStep::Other,
        }
    }
}

impl From<CrisisStep> for CrisisStepKind {
    fn from(s: CrisisStep) -> Self {
        match s {
            CrisisStep::StayedWithPerson => CrisisStepKind::StayedWithPerson,
            CrisisStep::MeansRemoved => CrisisStepKind::MeansRemoved,
            CrisisStep::EmergencyServicesCalled => CrisisStepKind::EmergencyServicesCalled,
            CrisisStep::HandedToProfessional => CrisisStepKind::HandedToProfessional,
            CrisisStep::FamilyMobilised => CrisisStepKind::FamilyMobilised,
            CrisisStep::Other => CrisisStepKind::Other,
        }
    }
}

/// Where a referral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReferralState {
    /// Proposed.
    Proposed,
    /// Sent.
    Sent,
    /// Acknowledged by the service.
    Acknowledged,
    /// The person was seen.
    Seen,
    /// Closed.
    Closed,
}

impl From<ReferralState> for ReferralStatus {
    fn from(s: ReferralState) -> Self {
        match s {
            ReferralState::Proposed => ReferralStatus::Proposed,
            ReferralState::Sent => ReferralStatus::Sent,
            ReferralState::Acknowledged => ReferralStatus::Acknowledged,
            ReferralState::Seen => ReferralStatus::Seen,
            ReferralState::Closed => ReferralStatus::Closed,
        }
    }
}

impl From<ReferralStatus> for ReferralState {
    fn from(s: ReferralStatus) -> Self {
        match s {
            ReferralStatus::Proposed => ReferralState::Proposed,
            ReferralStatus::Sent => ReferralState::Sent,
            ReferralStatus::Acknowledged => ReferralState::Acknowledged,
            ReferralStatus::Seen => ReferralState::Seen,
            ReferralStatus::Closed => ReferralState::Closed,
        }
    }
}

/// Something due in a case.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DueItem {
    /// The case.
    pub case_id: String,
    /// The resident.
    pub resident_id: String,
    /// The household.
    pub household_id: String,
    /// The case's tier.
    pub tier: RiskTier,
    /// What is due.
    pub what: DueKind,
    /// The screening, referral or crisis concerned (the id to pass to
    /// `reviewScreening`, `updateReferral` or `crisisAction`).
    pub reference: String,
    /// When due (ms since the epoch).
    pub due_at: i64,
    /// The worker responsible (assigned, or the last screener).
    pub worker_id: Option<String>,
    /// Already late.
    pub overdue: bool,
}

impl From<DueRow> for DueItem {
    fn from(d: DueRow) -> Self {
        Self {
            case_id: d.case_id,
            resident_id: d.resident_id,
            household_id: d.household_id,
            tier: d.tier.into(),
            what: DueKind::from_code(&d.what).unwrap_or(DueKind::Followup),
            reference: d.reference,
            due_at: d.due_at,
            worker_id: d.worker_id,
            overdue: d.overdue,
        }
    }
}

/// A screening sitting in a case file.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ScreeningSummary {
    /// The screening's id (for `reviewScreening`).
    pub id: String,
    /// When (ms since the epoch).
    pub at: i64,
    /// Who administered it.
    pub by: String,
    /// Each instrument's result.
    pub results: Vec<ScreeningOutcome>,
    /// The sitting's tier.
    pub tier: RiskTier,
    /// Why.
    pub reasons: Vec<String>,
    /// The tier a professional's review set, once reviewed.
    pub reviewed_tier: Option<RiskTier>,
    /// When the professional review is due (t2 and above, until reviewed).
    pub review_due: Option<i64>,
}

impl From<ScreeningView> for ScreeningSummary {
    fn from(v: ScreeningView) -> Self {
        Self {
            id: v.id.to_string(),
            at: v.at,
            by: v.by.to_string(),
            results: v.results.into_iter().map(ScreeningOutcome::from).collect(),
            tier: v.tier.into(),
            reasons: v.reasons,
            reviewed_tier: v.review.map(|r| r.tier.into()),
            review_due: v.review_due,
        }
    }
}

/// A referral in a case file.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReferralInfo {
    /// The referral's id (for `updateReferral`).
    pub id: String,
    /// Its tier.
    pub tier: RiskTier,
    /// To whom.
    pub to: String,
    /// Where it stands.
    pub status: ReferralState,
    /// The acknowledgement deadline (ms since the epoch).
    pub ack_due: i64,
    /// The deadline passed unacknowledged: escalate.
    pub escalated: bool,
}

impl From<ReferralView> for ReferralInfo {
    fn from(r: ReferralView) -> Self {
        Self {
            id: r.id.to_string(),
            tier: r.tier.into(),
            to: r.to,
            status: r.status.into(),
            ack_due: r.ack_due,
            escalated: r.escalated,
        }
    }
}

/// A crisis in a case file.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CrisisInfo {
    /// The crisis's id (for `crisisAction` and `closeCrisis`).
    pub id: String,
    /// When it was opened (ms since the epoch).
    pub opened_at: i64,
    /// Who opened it.
    pub opened_by: String,
    /// What was done, in order.
    pub actions: Vec<CrisisStepKind>,
    /// When a professional closed it; none while open.
    pub closed_at: Option<i64>,
}

impl From<CrisisView> for CrisisInfo {
    fn from(c: CrisisView) -> Self {
        Self {
            id: c.id.to_string(),
            opened_at: c.opened_at,
            opened_by: c.opened_by.to_string(),
            actions: c.actions.into_iter().map(|(_, _, s, _)| s.into()).collect(),
            closed_at: c.closed.map(|(at, _, _)| at),
        }
    }
}

/// A case file's state.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CaseInfo {
    /// The tier.
    pub tier: RiskTier,
    /// Why.
    pub reasons: Vec<String>,
    /// The worker responsible.
    pub assigned: Option<String>,
    /// Screening sittings, oldest first.
    pub screenings: Vec<ScreeningSummary>,
    /// Screenings awaiting a professional review.
    pub reviews_pending: u32,
    /// Referrals, oldest first.
    pub referrals: Vec<ReferralInfo>,
    /// Crises, oldest first.
    pub crises: Vec<CrisisInfo>,
    /// Open crises.
    pub open_crises: u32,
    /// Referrals past their acknowledgement deadline.
    pub escalated_referrals: u32,
    /// Visits recorded.
    pub visits: u32,
    /// Notes recorded.
    pub notes: u32,
    /// Conflicts to look at (e.g. a review by a volunteer was ignored).
    pub conflicts: Vec<String>,
}

impl From<CaseState> for CaseInfo {
    fn from(s: CaseState) -> Self {
        let reviews_pending = s
            .screenings
            .iter()
            .filter(|v| v.review_due.is_some())
            .count() as u32;
        let open_crises = s.open_crises().count() as u32;
        let escalated_referrals = s.referrals.iter().filter(|r| r.escalated).count() as u32;
        Self {
            tier: s.tier.into(),
            reasons: s.tier_reasons,
            assigned: s.assigned.map(|w| w.to_string()),
            screenings: s.screenings.into_iter().map(Into::into).collect(),
            reviews_pending,
            referrals: s.referrals.into_iter().map(Into::into).collect(),
            crises: s.crises.into_iter().map(Into::into).collect(),
            open_crises,
            escalated_referrals,
            visits: s.visits.len() as u32,
            notes: s.notes as u32,
            conflicts: s.conflicts,
        }
    }
}

/// A case file as listed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CaseSummary {
    /// The case.
    pub case_id: String,
    /// The resident.
    pub resident_id: String,
    /// The household.
    pub household_id: String,
    /// The tier.
    pub tier: RiskTier,
    /// The worker responsible.
    pub assigned: Option<String>,
    /// Open crises.
    pub open_crises: u32,
    /// Screenings recorded.
    pub screenings: u32,
    /// Conflicts to look at.
    pub conflicts: u32,
}

impl From<CaseRow> for CaseSummary {
    fn from(c: CaseRow) -> Self {
        Self {
            case_id: c.id,
            resident_id: c.resident_id,
            household_id: c.household_id,
            tier: c.tier.into(),
            assigned: c.assigned,
            open_crises: c.open_crises,
            screenings: c.screenings,
            conflicts: c.conflicts,
        }
    }
}

/// A resident carrying a vulnerability tag, from the index.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TaggedResident {
    /// The resident.
    pub resident_id: String,
    /// Their household.
    pub household_id: String,
    /// The household's grid.
    pub grid_id: String,
    /// Their name.
    pub name: String,
    /// Their year of birth.
    pub birth_year: u32,
}

impl From<ResidentRow> for TaggedResident {
    fn from(r: ResidentRow) -> Self {
        Self {
            resident_id: r.resident_id.to_string(),
            household_id: r.household_id.to_string(),
            grid_id: r.grid_id.to_string(),
            name: r.name,
            birth_year: r.birth_year,
        }
    }
}

/// An item on an order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OrderItem {
    /// What.
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// The unit; may be empty.
    pub unit: String,
}

impl From<OrderItem> for Item {
    fn from(i: OrderItem) -> Self {
        Item {
            name: i.name,
            quantity: i.quantity,
            unit: i.unit,
        }
    }
}

/// A new order.
#[derive(Debug, Clone, uniffi::Record)]
pub struct OrderInput {
    /// The household served.
    pub household_id: String,
    /// The resident served, if one.
    #[uniffi(default = None)]
    pub resident_id: Option<String>,
    /// What it is for.
    pub kind: OrderKind,
    /// The items.
    pub items: Vec<OrderItem>,
    /// How urgent.
    pub urgency: Urgency,
    /// A deadline (ms since the epoch).
    #[uniffi(default = None)]
    pub deadline: Option<i64>,
    /// Notes.
    #[uniffi(default = "")]
    pub note: String,
}

impl TryFrom<OrderInput> for NewOrder {
    type Error = AnxinError;
    fn try_from(o: OrderInput) -> Result<Self> {
        Ok(NewOrder {
            household_id: HouseholdId::parse(&o.household_id, "order.household_id")?,
            resident_id: o
                .resident_id
                .as_deref()
                .map(|r| ResidentId::parse(r, "order.resident_id"))
                .transpose()?,
            kind: o.kind.into(),
            items: o.items.into_iter().map(Item::from).collect(),
            urgency: o.urgency.into(),
            deadline: o.deadline,
            note: o.note,
        })
    }
}

/// An action on an order.
#[derive(Debug, Clone, uniffi::Enum)]
pub enum OrderStep {
    /// Dispatch (派单) to a worker.
    DispatchToWorker {
        /// The worker.
        worker_id: String,
    },
    /// Dispatch to a grid's team.
    DispatchToGrid {
        /// The grid.
        grid_id: String,
    },
    /// Accept (接单).
    Accept,
    /// Decline.
    Decline {
        /// Why.
        reason: String,
    },
    /// Start.
    Start,
    /// Complete with handover proof.
    Complete {
        /// What was handed over.
        handed_over: Vec<OrderItem>,
        /// The recipient's confirmation code (4-8 digits).
        confirmation_code: String,
        /// Minutes the work took.
        minutes: u32,
    },
    /// Rate (评单), as the served household or a coordinator.
    Rate {
        /// 1-5.
        stars: u32,
        /// A comment.
        comment: String,
    },
    /// Cancel.
    Cancel {
        /// Why.
        reason: String,
    },
}

impl TryFrom<OrderStep> for OrderAction {
    type Error = AnxinError;
    fn try_from(s: OrderStep) -> Result<Self> {
        Ok(match s {
            OrderStep::DispatchToWorker { worker_id } => OrderAction::Dispatched {
                to: Assignee::Worker(WorkerId::parse(&worker_id, "order.to")?),
            },
            OrderStep::DispatchToGrid { grid_id } => OrderAction::Dispatched {
                to: Assignee::Grid(GridId::parse(&grid_id, "order.to")?),
            },
            OrderStep::Accept => OrderAction::Accepted,
            OrderStep::Decline { reason } => OrderAction::Declined { reason },
            OrderStep::Start => OrderAction::Started,
            OrderStep::Complete {
                handed_over,
                confirmation_code,
                minutes,
            } => OrderAction::Completed {
                handed_over: handed_over.into_iter().map(Item::from).collect(),
                confirmation_code,
                minutes,
            },
            OrderStep::Rate { stars, comment } => OrderAction::Rated { stars, comment },
            OrderStep::Cancel { reason } => OrderAction::Cancelled { reason },
        })
    }
}

/// An order's current state.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OrderInfo {
    /// The order.
    pub id: String,
    /// Where it stands.
    pub status: OrderStatus,
    /// Who accepted it.
    pub accepted_by: Option<String>,
    /// Stars, once rated.
    pub stars: Option<u32>,
    /// Items changed after acceptance: check them.
    pub items_changed: bool,
}

impl OrderInfo {
    pub(crate) fn from_state(id: String, s: &anxin_core::dispatch::OrderState) -> Self {
        Self {
            id,
            status: s.status.into(),
            accepted_by: s.accepted_by.as_ref().map(|w| w.to_string()),
            stars: s.stars,
            items_changed: s.items_changed_after_acceptance,
        }
    }
}

/// An order in a queue.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QueueItem {
    /// The order.
    pub id: String,
    /// Its kind.
    pub kind: OrderKind,
    /// Its status.
    pub status: OrderStatus,
    /// The household's triage priority.
    pub priority: Priority,
    /// Why.
    pub reasons: Vec<String>,
    /// The address.
    pub address: String,
    /// How urgent.
    pub urgency: Urgency,
    /// The deadline (ms since the epoch, UTC), if any.
    pub deadline: Option<i64>,
    /// When it was requested (ms since the epoch, UTC).
    pub created_at: i64,
    /// The household served: go to the door.
    pub household_id: String,
    /// The resident served, if one.
    pub resident_id: Option<String>,
    /// The household's grid.
    pub grid_id: String,
    /// The items changed after it was accepted: check them.
    pub items_changed: bool,
}

impl QueueItem {
    /// A queue row with the resident its order serves (from the order).
    pub(crate) fn new(q: QueueRow, resident_id: Option<String>) -> Self {
        Self {
            id: q.id.to_string(),
            kind: q.kind.into(),
            status: q.status.into(),
            priority: q.priority.into(),
            reasons: q.reasons,
            address: q.address,
            urgency: q.urgency.into(),
            deadline: q.deadline,
            created_at: q.created_at,
            household_id: q.household_id.to_string(),
            resident_id,
            grid_id: q.grid_id.to_string(),
            items_changed: q.items_changed,
        }
    }
}

/// Everything about one order, for its details screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OrderDetails {
    /// The order.
    pub id: String,
    /// What it is for.
    pub kind: OrderKind,
    /// Where it stands.
    pub status: OrderStatus,
    /// How urgent.
    pub urgency: Urgency,
    /// The deadline (ms since the epoch, UTC), if any.
    pub deadline: Option<i64>,
    /// When it was requested.
    pub created_at: i64,
    /// The household served.
    pub household_id: String,
    /// The resident served, if one.
    pub resident_id: Option<String>,
    /// The household's grid.
    pub grid_id: String,
    /// The items asked for (as last changed).
    pub items: Vec<OrderItem>,
    /// The worker it was dispatched to, if one.
    pub assigned_worker: Option<String>,
    /// The grid it was dispatched to, if one.
    pub assigned_grid: Option<String>,
    /// Who accepted it.
    pub accepted_by: Option<String>,
    /// Who completed it.
    pub completed_by: Option<String>,
    /// What was handed over.
    pub handed_over: Vec<OrderItem>,
    /// Minutes the work took.
    pub minutes: Option<u32>,
    /// Stars, once rated.
    pub stars: Option<u32>,
    /// The items changed after acceptance: check them.
    pub items_changed: bool,
    /// Conflicts found on it (e.g. an acceptance lost to another worker's).
    pub conflicts: Vec<ConflictKind>,
}

impl OrderDetails {
    pub(crate) fn new(r: &m::Request, s: &anxin_core::dispatch::OrderState) -> Self {
        let item = |i: &Item| OrderItem {
            name: i.name.clone(),
            quantity: i.quantity,
            unit: i.unit.clone(),
        };
        Self {
            id: r.id.to_string(),
            kind: r.kind.into(),
            status: s.status.into(),
            urgency: s.urgency.into(),
            deadline: s.deadline,
            created_at: r.created_at,
            household_id: r.household_id.to_string(),
            resident_id: r.resident_id.as_ref().map(ToString::to_string),
            grid_id: r.grid_id.to_string(),
            items: s.items.iter().map(item).collect(),
            assigned_worker: match &s.assignee {
                Some(Assignee::Worker(w)) => Some(w.to_string()),
                _ => None,
            },
            assigned_grid: match &s.assignee {
                Some(Assignee::Grid(g)) => Some(g.to_string()),
                _ => None,
            },
            accepted_by: s.accepted_by.as_ref().map(ToString::to_string),
            completed_by: s.completed_by.as_ref().map(ToString::to_string),
            handed_over: s.handed_over.iter().map(item).collect(),
            minutes: s.minutes,
            stars: s.stars,
            items_changed: s.items_changed_after_acceptance,
            conflicts: s
                .conflicts
                .iter()
                .filter_map(|c| ConflictKind::from_code(c.kind.code()))
                .collect(),
        }
    }
}

/// A worker suggested for an order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WorkerSuggestion {
    /// The worker.
    pub worker_id: String,
    /// Their name.
    pub name: String,
    /// Their role.
    pub role: WorkerRole,
    /// Of the order's grid.
    pub same_grid: bool,
    /// Trained for the order (psychological support).
    pub trained: bool,
    /// Open orders they hold.
    pub load: u32,
}

impl From<Suggestion> for WorkerSuggestion {
    fn from(s: Suggestion) -> Self {
        Self {
            worker_id: s.worker_id.to_string(),
            name: s.name,
            role: s.role.into(),
            same_grid: s.same_grid,
            trained: s.trained,
            load: s.load,
        }
    }
}

/// A worker's volunteer hours.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HoursInfo {
    /// The worker.
    pub worker_id: String,
    /// Minutes credited.
    pub minutes: u64,
    /// Of which acknowledged.
    pub acknowledged_minutes: u64,
}

impl From<anxin_core::dispatch::hours::HoursTotal> for HoursInfo {
    fn from(h: anxin_core::dispatch::hours::HoursTotal) -> Self {
        Self {
            worker_id: h.worker_id.to_string(),
            minutes: h.minutes,
            acknowledged_minutes: h.acknowledged_minutes,
        }
    }
}

/// How a sync session runs.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncOptions {
    /// This side starts the session (calls `start`).
    pub initiator: bool,
    /// The largest frame the transport carries (e.g. 4096 for Bluetooth LE).
    pub max_frame_bytes: u32,
    /// A new device enrolling with a one-time code from the station (text
    /// as printed or scanned); null for an enrolled device's session.
    #[uniffi(default = None)]
    pub enrol_code: Option<String>,
    /// The device the initiator expects to reach (e.g. from a Bluetooth
    /// advertisement); null means the station laptop. With the right guess
    /// an unchanged exchange is one round trip; a wrong one costs one more.
    #[uniffi(default = None)]
    pub peer_device: Option<String>,
}

/// A device in the station's registry.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DeviceInfo {
    /// The device.
    pub device_id: String,
    /// Its worker; null for the station laptop.
    pub worker_id: Option<String>,
    /// The role its credential carries; null for the station laptop.
    pub role: Option<WorkerRole>,
    /// The scopes its credential grants.
    pub scopes: Vec<String>,
    /// When the credential expires (milliseconds since the epoch).
    pub expires_at: i64,
    /// Whether the station revoked it.
    pub revoked: bool,
}

/// What a session did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// The peer's device id.
    pub peer: String,
    /// Completed normally.
    pub completed: bool,
    /// Documents received and applied.
    pub documents_received: u32,
    /// Whole documents sent.
    pub snapshots_sent: u32,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Documents quarantined (not applied), with the reason.
    pub quarantined: Vec<String>,
    /// Why it stopped, if it failed.
    pub error: Option<String>,
}

/// What importing a bundle did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct BundleImport {
    /// Documents in the bundle.
    pub documents: u32,
    /// Documents that changed this store.
    pub applied: u32,
    /// Already up to date.
    pub unchanged: u32,
    /// Outside this device's scopes.
    pub refused: u32,
    /// Quarantined.
    pub quarantined: u32,
}

/// A red flag or a crisis, for the crisis listeners.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CrisisAlert {
    /// The alert's id: the same alert is never raised twice, and an app
    /// that stores alerts can deduplicate by it.
    pub alert_id: String,
    /// Where it was raised: at an answer (before anything is saved) or by
    /// recording a sitting.
    pub source: AlertSource,
    /// The household.
    pub household_id: String,
    /// The resident.
    pub resident_id: String,
    /// The red flags raised.
    pub flags: Vec<String>,
    /// The risk assessments (`cssrs`) to continue with; empty when none can
    /// be administered here, and then a professional evaluates the person.
    pub assess_with: Vec<String>,
    /// The tier.
    pub tier: RiskTier,
    /// The item whose answer raised it (an alert at the answer).
    pub item_id: Option<String>,
    /// Why, in English (no answers, no names); show `flags` with the
    /// `flag` labels instead.
    pub reason: String,
    /// The case file, once the sitting is recorded (none for an alert at
    /// the answer, before anything is saved).
    pub case_id: Option<String>,
    /// The screening event, once recorded.
    pub screening_id: Option<String>,
    /// The crisis record opened for it, once recorded.
    pub crisis_id: Option<String>,
}

/// An interview in progress saved on this device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DraftInfo {
    /// The draft's id: pass it to `resumeQuestionnaire`.
    pub draft_id: String,
    /// The household.
    pub household_id: String,
    /// The resident.
    pub resident_id: String,
    /// The instrument (`phq9`, …).
    pub instrument: String,
    /// The language it is asked in.
    pub language: Language,
    /// Items answered so far.
    pub answered: u32,
    /// When it was last saved (ms since the epoch, UTC).
    pub updated_at: i64,
}

impl From<anxin_core::store::DraftRecord> for DraftInfo {
    fn from(r: anxin_core::store::DraftRecord) -> Self {
        DraftInfo {
            draft_id: r.id,
            household_id: r.household_id,
            resident_id: r.resident_id,
            instrument: r.draft.instrument,
            language: anxin_core::screening::Language::parse(&r.draft.language)
                .map(Language::from)
                .unwrap_or(Language::En),
            answered: r.draft.answers.len() as u32,
            updated_at: r.updated_at,
        }
    }
}

/// Where a crisis alert was raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AlertSource {
    /// At the answer that raised a red flag, before anything is saved.
    Answer,
    /// By recording a sitting graded crisis whose flags no answer alerted
    /// (e.g. a high-risk assessment).
    Screening,
}

/// An order conflict, for the conflict listeners.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OrderConflict {
    /// The order.
    pub order_id: String,
    /// What happened.
    pub kind: ConflictKind,
    /// The worker who won (or acted first).
    pub worker_a: String,
    /// The worker whose action was set aside.
    pub worker_b: Option<String>,
    /// Details.
    pub detail: String,
}

impl From<ConflictRow> for OrderConflict {
    fn from(c: ConflictRow) -> Self {
        Self {
            order_id: c.request_id.to_string(),
            kind: ConflictKind::from_code(&c.kind).unwrap_or(ConflictKind::AcceptanceLost),
            worker_a: c.worker_a,
            worker_b: c.worker_b,
            detail: c.detail,
        }
    }
}

/// A document a write changed: one per document per call, for every
/// document the call touched (a crisis a screening opened, every document
/// a sync or bundle applied). Residents live in their household's
/// document: adding or changing one reports the household.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StoreChange {
    /// The document's kind.
    pub kind: DocumentKind,
    /// The document's id.
    pub id: String,
    /// Where the change came from.
    pub origin: ChangeOrigin,
    /// The document left this device (its household moved to a grid the
    /// device does not hold): drop it from lists.
    pub removed: bool,
}

/// The kinds of documents a store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DocumentKind {
    /// The station: communities and grids.
    Station,
    /// A grid's roster and contact card.
    Roster,
    /// A household with its residents and visits.
    Household,
    /// A service order.
    Order,
    /// A resident's case file.
    CaseFile,
    /// A worker.
    Worker,
    /// An activity.
    Activity,
}

impl From<DocKind> for DocumentKind {
    fn from(k: DocKind) -> Self {
        match k {
            DocKind::Station => DocumentKind::Station,
            DocKind::Roster => DocumentKind::Roster,
            DocKind::Household => DocumentKind::Household,
            DocKind::Request => DocumentKind::Order,
            DocKind::Case => DocumentKind::CaseFile,
            DocKind::Worker => DocumentKind::Worker,
            DocKind::Activity => DocumentKind::Activity,
        }
    }
}

/// Where a change came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChangeOrigin {
    /// A call on this device.
    ThisDevice,
    /// A sync session.
    Sync,
    /// A sealed bundle imported.
    Bundle,
}

/// One code's word in one language (see `labels`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CodeLabel {
    /// The vocabulary: `role`, `tag`, `need_kind`, `order_kind`,
    /// `order_status`, `urgency`, `priority`, `reason`, `tier`, `band`,
    /// `flag`, `crisis_step`, `referral_status`, `crisis_state`, `due_kind`,
    /// `conflict_kind`, `activity_kind`, `attendee_kind`, `roster_role`,
    /// `sex`.
    pub vocabulary: String,
    /// The stable code, as the SDK's records carry it.
    pub code: String,
    /// What people read.
    pub text: String,
}
