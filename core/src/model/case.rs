//! A resident's psychological file (心理健康档案) as stored: who it is
//! about, and an append-only log of what happened — screenings with their
//! full results, professional reviews (复核), referrals, crisis events,
//! visits and notes. Its current state (tier, what is due) is folded from
//! the log by `screening::case`, the same way on every phone.
//!
//! One case document per resident: its id is derived from the resident's id
//! and its first change is the same bytes on every device, so two phones that
//! open the file of the same resident while apart write into one document.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::validate::{notes_text, required_text, timestamp, Valid};
use super::*;

/// Most events in one case's log.
pub const MAX_CASE_EVENTS: usize = 2_000;
/// The case team every station starts with.
pub const DEFAULT_CASE_TEAM: &str = "main";

super::ids::checked_id!(
    /// A case file's id: derived from the resident's, so every device names
    /// the same resident's file alike.
    CaseId
);

impl CaseId {
    /// The case id of a resident.
    pub fn of(resident: &ResidentId) -> CaseId {
        use sha2::{Digest, Sha256};
        let d = Sha256::digest(format!("anxin-case:{}", resident.as_str()).as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&d[..16]);
        CaseId(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
        )
    }
}

/// The full result of one questionnaire, as scored on the phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ScreeningResult {
    /// The instrument id (`phq9`).
    pub instrument: String,
    /// The instrument definition's version.
    pub version: String,
    /// The language it was administered in.
    pub language: String,
    /// The scoring convention (K6/K10: `0-4` or `1-5`), if the instrument has several.
    pub convention: Option<String>,
    /// The cutoff set used (`international`, `zh-CN`).
    pub cutoff_set: String,
    /// The answers by item id, as the form numbers them.
    pub answers: BTreeMap<String, i64>,
    /// Items left blank (allowed by the instrument's missing-data rule).
    pub missing: Vec<String>,
    /// The total, in the convention used (none for the C-SSRS).
    pub score: Option<i64>,
    /// The percentage score (WHO-5).
    pub percent: Option<i64>,
    /// Subscale scores.
    pub subscales: BTreeMap<String, i64>,
    /// The severity band.
    pub band: Option<String>,
    /// Positive by the cutoff set.
    pub positive: bool,
    /// Why it is positive.
    pub positive_reasons: Vec<String>,
    /// Every flag raised (red flags and criteria such as `provisional_ptsd`).
    pub flags: Vec<String>,
    /// The red flags among them (`suicidal_ideation`, `self_harm`...).
    pub red_flags: Vec<String>,
    /// The risk classification (C-SSRS: `none`, `low`, `moderate`, `high`).
    pub risk: Option<String>,
    /// The tier the policy gives this result alone.
    pub tier: Tier,
    /// Why, highest tier first.
    pub reasons: Vec<String>,
    /// LOINC codes (`panel`, `total`, `item:<id>`).
    pub loinc: BTreeMap<String, String>,
    /// The policy version that graded it.
    pub policy_version: String,
}

/// A resident's case file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Case {
    /// The case id (derived from the resident's id).
    pub id: CaseId,
    /// The resident it is about.
    pub resident_id: ResidentId,
    /// The resident's household.
    pub household_id: HouseholdId,
    /// The case team whose devices hold it.
    pub team: String,
    /// The event log, by event id. Never edited or shortened.
    pub events: BTreeMap<String, CaseEvent>,
}

/// One thing that happened in a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct CaseEvent {
    /// The event's id.
    pub id: EventId,
    /// Hybrid logical timestamp (see `Request`).
    pub at: Millis,
    /// The worker who did it.
    pub by: WorkerId,
    /// Their role when they did it. Recorded in the event so that the fold
    /// (who may lower a tier, review, close a crisis) needs no other
    /// document and gives the same answer on every device, in any order
    /// documents arrive.
    pub role: Role,
    /// What happened.
    pub action: CaseAction,
}

/// What happened in a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum CaseAction {
    /// A sitting of one or more questionnaires, graded together.
    Screened {
        /// Each questionnaire's full result.
        results: Vec<ScreeningResult>,
        /// The combined tier.
        tier: Tier,
        /// Why.
        reasons: Vec<String>,
    },
    /// A professional re-reviewed a screening (复核): confirmed or changed its tier.
    Reviewed {
        /// The screening event reviewed.
        screening: EventId,
        /// The tier after review.
        tier: Tier,
        /// Why.
        reason: String,
    },
    /// A referral was proposed.
    ReferralProposed {
        /// The referral's id.
        referral: EventId,
        /// The tier it refers to.
        tier: Tier,
        /// To whom (a service, a clinic; no personal data).
        to: String,
        /// Why.
        reason: String,
    },
    /// A referral moved on.
    ReferralUpdated {
        /// The referral.
        referral: EventId,
        /// Its new status.
        status: ReferralStatus,
        /// A note (e.g. the outcome when closed).
        note: String,
    },
    /// A crisis was opened (危机干预).
    CrisisOpened {
        /// The crisis's id.
        crisis: EventId,
        /// Why, in words.
        reason: String,
        /// The screening whose red flags opened it (none when a worker
        /// opened it at the door). Closing the crisis settles that
        /// screening. Absent in files written before it existed.
        #[autosurgeon(missing = "Option::default")]
        #[serde(default)]
        screening: Option<EventId>,
    },
    /// Something done during a crisis.
    CrisisAction {
        /// The crisis.
        crisis: EventId,
        /// What was done.
        step: CrisisStep,
        /// Details.
        note: String,
    },
    /// A professional closed a crisis, stating the tier after it.
    CrisisClosed {
        /// The crisis.
        crisis: EventId,
        /// The tier after the crisis.
        tier_after: Tier,
        /// Details.
        note: String,
    },
    /// A follow-up visit or call.
    Visit {
        /// Minutes spent.
        minutes: u32,
        /// What happened.
        note: String,
    },
    /// A case note.
    Note {
        /// The note.
        text: String,
    },
    /// The worker responsible for the case.
    Assigned {
        /// The worker.
        worker: WorkerId,
    },
}

impl CaseAction {
    /// The action's name, for history and errors.
    pub fn name(&self) -> &'static str {
        match self {
            CaseAction::Screened { .. } => "screen",
            CaseAction::Reviewed { .. } => "review",
            CaseAction::ReferralProposed { .. } => "refer",
            CaseAction::ReferralUpdated { .. } => "update_referral",
            CaseAction::CrisisOpened { .. } => "open_crisis",
            CaseAction::CrisisAction { .. } => "crisis_action",
            CaseAction::CrisisClosed { .. } => "close_crisis",
            CaseAction::Visit { .. } => "visit",
            CaseAction::Note { .. } => "note",
            CaseAction::Assigned { .. } => "assign",
        }
    }

    /// The action as a refusal names it.
    pub fn deed(&self) -> crate::refusal::Deed {
        use crate::refusal::Deed;
        match self {
            CaseAction::Screened { .. } => Deed::Screen,
            CaseAction::Reviewed { .. } => Deed::Review,
            CaseAction::ReferralProposed { .. } => Deed::Refer,
            CaseAction::ReferralUpdated { .. } => Deed::UpdateReferral,
            CaseAction::CrisisOpened { .. } => Deed::OpenCrisis,
            CaseAction::CrisisAction { .. } => Deed::CrisisAction,
            CaseAction::CrisisClosed { .. } => Deed::CloseCrisis,
            CaseAction::Visit { .. } => Deed::CaseVisit,
            CaseAction::Note { .. } => Deed::Note,
            CaseAction::Assigned { .. } => Deed::AssignCase,
        }
    }

    /// Checks the action's own fields.
    pub fn validate(&self) -> Valid {
        match self {
            CaseAction::Screened { results, .. } => {
                if results.is_empty() || results.len() > 20 {
                    return Err(ValidationError::new(
                        "case.results",
                        Violation::OutOfRange { min: 1, max: 20 },
                    ));
                }
                Ok(())
            }
            CaseAction::Reviewed { reason, .. } => required_text("case.reason", reason, MAX_NOTES),
            CaseAction::ReferralProposed { to, reason, .. } => {
                required_text("case.referral.to", to, MAX_LABEL)?;
                required_text("case.reason", reason, MAX_NOTES)
            }
            CaseAction::ReferralUpdated { note, .. } => notes_text("case.note", note, MAX_NOTES),
            CaseAction::CrisisOpened { reason, .. } => {
                required_text("case.reason", reason, MAX_NOTES)
            }
            CaseAction::CrisisAction { note, .. } | CaseAction::CrisisClosed { note, .. } => {
                notes_text("case.note", note, MAX_NOTES)
            }
            CaseAction::Visit { minutes, note } => {
                super::validate::in_range("case.minutes", *minutes as i64, 1, 720)?;
                notes_text("case.note", note, MAX_NOTES)
            }
            CaseAction::Note { text } => required_text("case.note", text, MAX_NOTES),
            CaseAction::Assigned { .. } => Ok(()),
        }
    }
}

impl Case {
    /// The empty file of a resident: the same on every device.
    pub fn skeleton(resident: &ResidentId, household: &HouseholdId, team: &str) -> Case {
        Case {
            id: CaseId::of(resident),
            resident_id: resident.clone(),
            household_id: household.clone(),
            team: team.to_string(),
            events: BTreeMap::new(),
        }
    }

    /// Checks every field and event.
    pub fn validate(&self) -> Valid {
        if self.id != CaseId::of(&self.resident_id) {
            return Err(ValidationError::new(
                "case.id",
                Violation::Inconsistent("a case's id is derived from its resident's"),
            ));
        }
        required_text("case.team", &self.team, 40)?;
        if !self
            .team
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ValidationError::new("case.team", Violation::BadCharacters));
        }
        if self.events.len() > MAX_CASE_EVENTS {
            return Err(ValidationError::new(
                "case.events",
                Violation::OutOfRange {
                    min: 0,
                    max: MAX_CASE_EVENTS as i64,
                },
            ));
        }
        for e in self.events.values() {
            timestamp("case.event.at", e.at)?;
            e.action.validate()?;
        }
        Ok(())
    }

    /// The events in fold order: by hybrid timestamp, then event id.
    pub fn ordered_events(&self) -> Vec<&CaseEvent> {
        let mut events: Vec<&CaseEvent> = self.events.values().collect();
        events.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        events
    }

    /// The timestamp for a new event written now.
    pub fn next_timestamp(&self, wall_clock: Millis) -> Millis {
        let latest = self.events.values().map(|e| e.at).max().unwrap_or(0);
        wall_clock.max(latest + 1)
    }
}
