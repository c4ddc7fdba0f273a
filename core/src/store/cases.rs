//! Case files in the store: recording a screening sitting, professional
//! review, referrals, crisis events, visits and notes, and the "what is due"
//! queries — per worker and per station — from the index.
//!
//! Every action is one write that appends one event to the resident's case
//! document (created on first use; see `Case`). Results are re-scored from
//! their answers before they are stored, so a stored result always agrees
//! with the instrument definition and policy it names. A refused action is a
//! typed error and writes nothing.

use std::sync::Arc;

use rusqlite::{params, Connection};
use serde::Serialize;

use super::index::{parse_word, IndexContext, Indexed};
use super::{Batch, Store, StoreError};
use crate::dispatch::DispatchError;
use crate::doc::Author;
use crate::model::*;
use crate::refusal::{Deed, Rule};
use crate::screening::case::{fold, is_professional, CaseState};
use crate::screening::{score, Language, Library, ScoreOptions, ScreeningError, TierDecision};

impl From<ScreeningError> for StoreError {
    fn from(e: ScreeningError) -> Self {
        StoreError::Screening(e)
    }
}

impl Indexed for Case {
    fn write_index(&self, conn: &Connection, ctx: &IndexContext<'_>) -> rusqlite::Result<()> {
        let id = self.id.as_str();
        conn.prepare_cached("DELETE FROM idx_case_due WHERE case_id = ?1")?
            .execute([id])?;
        // `now` only decides escalation flags, which are not indexed.
        let state = fold(self, ctx.policy, 0);
        let worker = state
            .assigned
            .clone()
            .or_else(|| state.screenings.last().map(|s| s.by.clone()));
        super::index::upsert_row(
            conn,
            "idx_case",
            &[
                "id",
                "resident_id",
                "household_id",
                "team",
                "tier",
                "assigned",
                "open_crises",
                "screenings",
                "conflicts",
                "last_screened",
            ],
            &[
                &id,
                &self.resident_id.as_str(),
                &self.household_id.as_str(),
                &self.team,
                &state.tier.as_str(),
                &state.assigned.as_ref().map(|w| w.to_string()),
                &(state.open_crises().count() as i64),
                &(state.screenings.len() as i64),
                &(state.conflicts.len() as i64),
                &state.screenings.last().map(|s| s.at),
            ],
        )?;
        for d in &state.due {
            conn.prepare_cached(
                "INSERT OR REPLACE INTO idx_case_due (case_id, what, reference, due_at, worker_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5)")?
.execute(
                params![id, d.what, d.reference, d.due_at, worker.as_ref().map(|w| w.to_string())],
            )?;
        }
        Ok(())
    }
}

/// One thing due in a case, from the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueRow {
    /// The case.
    pub case_id: String,
    /// The resident (an id; names stay in the household document).
    pub resident_id: String,
    /// The household.
    pub household_id: String,
    /// The case's tier.
    pub tier: Tier,
    /// `review`, `rescreen`, `referral_ack`, `followup` or `crisis`.
    pub what: String,
    /// The screening, referral or crisis concerned.
    pub reference: String,
    /// When it is due.
    pub due_at: Millis,
    /// The worker responsible (assigned, or the last screener).
    pub worker_id: Option<String>,
    /// Already late at the time asked.
    pub overdue: bool,
}

/// A case as listed, from the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaseRow {
    /// The case.
    pub id: String,
    /// The resident.
    pub resident_id: String,
    /// The household.
    pub household_id: String,
    /// The tier.
    pub tier: Tier,
    /// The worker responsible.
    pub assigned: Option<String>,
    /// Open crises.
    pub open_crises: u32,
    /// Screenings recorded.
    pub screenings: u32,
    /// Domain conflicts to look at.
    pub conflicts: u32,
}

/// What recording a screening sitting gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recorded {
    /// The case file.
    pub case_id: CaseId,
    /// The screening event.
    pub screening: EventId,
    /// The sitting's combined tier and reasons.
    pub decision: TierDecision,
    /// The case's tier after it.
    pub case_tier: Tier,
    /// The crisis this sitting opened, in the same write: a sitting graded
    /// crisis (an unassessed red flag, or a high-risk assessment) opens one
    /// unless the resident already has an open crisis, which then covers it.
    pub crisis_opened: Option<EventId>,
    /// The resident's open crises after the sitting (the new one included).
    pub open_crises: Vec<EventId>,
}

impl Batch<'_> {
    /// The acting worker and their role.
    fn acting_worker(&self, author: &Author) -> Result<Worker, StoreError> {
        let Some(w) = author.worker() else {
            return Err(DispatchError::PermissionDenied {
                action: Deed::WriteCaseFile,
                reason: Rule::OnlyStationWorkersKeepCases,
            }
            .into());
        };
        let worker = self.get::<Worker>(w.as_str())?;
        if !worker.active {
            return Err(DispatchError::PermissionDenied {
                action: Deed::WriteCaseFile,
                reason: Rule::WorkerNotActive,
            }
            .into());
        }
        Ok(worker)
    }

    /// Appends one event to a resident's case, creating the file on first
    /// use. `check` sees the folded state and may refuse.
    fn case_event(
        &mut self,
        author: &Author,
        case_id: &CaseId,
        create: Option<(&ResidentId, &HouseholdId, &str)>,
        action: CaseAction,
        check: impl FnOnce(&CaseState, &Worker) -> Result<(), StoreError>,
    ) -> Result<(EventId, CaseState), StoreError> {
        self.case_events(author, case_id, create, action, check, |_, _| None)
            .map(|(id, _, state)| (id, state))
    }

    /// `case_event`, then a follow-up event in the same change when `then`
    /// asks for one, given the state before the first event and the first
    /// event's id (a red-flag sitting opens its crisis). Returns the first
    /// event's id, the follow-up action written, and the state after both.
    fn case_events(
        &mut self,
        author: &Author,
        case_id: &CaseId,
        create: Option<(&ResidentId, &HouseholdId, &str)>,
        action: CaseAction,
        check: impl FnOnce(&CaseState, &Worker) -> Result<(), StoreError>,
        then: impl FnOnce(&CaseState, &EventId) -> Option<CaseAction>,
    ) -> Result<(EventId, Option<CaseAction>, CaseState), StoreError> {
        let worker = self.acting_worker(author)?;
        action.validate()?;
        let policy = self.policy;
        let now = self.now();
        let event_id = EventId::random();
        let name = format!("case.{}", action.name());
        let mut folded = None;
        let eid = event_id.clone();
        self.put::<Case>(author, &name, case_id.as_str(), |current| {
            let mut case = match (current, create) {
                (Some(c), _) => c,
                (None, Some((resident, household, team))) => {
                    Case::skeleton(resident, household, team)
                }
                (None, None) => {
                    return Err(StoreError::NotFound {
                        kind: "case",
                        id: case_id.to_string(),
                    })
                }
            };
            let before = fold(&case, policy, now);
            check(&before, &worker)?;
            let follow = then(&before, &eid);
            if let Some(f) = &follow {
                f.validate()?;
            }
            for (id, action) in std::iter::once((eid.clone(), action))
                .chain(follow.clone().map(|f| (EventId::random(), f)))
            {
                let at = case.next_timestamp(now);
                case.events.insert(
                    id.to_string(),
                    CaseEvent {
                        id,
                        at,
                        by: worker.id.clone(),
                        role: worker.role,
                        action,
                    },
                );
            }
            folded = Some((follow, fold(&case, policy, now)));
            Ok(case)
        })?;
        let (follow, state) = folded.ok_or_else(|| StoreError::NotFound {
            kind: "case",
            id: case_id.to_string(),
        })?;
        Ok((event_id, follow, state))
    }
}

fn professional_only(action: Deed) -> impl FnOnce(&CaseState, &Worker) -> Result<(), StoreError> {
    move |_, w| {
        if is_professional(Some(w.role)) {
            Ok(())
        } else {
            Err(DispatchError::PermissionDenied {
                action,
                reason: Rule::OnlyProfessional,
            }
            .into())
        }
    }
}

/// How a screening is to be recorded.
#[derive(Debug, Clone)]
pub struct NewScreening {
    /// The household of the resident.
    pub household_id: HouseholdId,
    /// The resident screened.
    pub resident_id: ResidentId,
    /// The case team (default `main`).
    pub team: Option<String>,
    /// The results of the sitting (as returned by `score` or
    /// `Administration::finish`).
    pub results: Vec<ScreeningResult>,
}

impl Store {
    /// Appends one event to an existing case file, as one write.
    fn append_case(
        &mut self,
        author: &Author,
        case: &CaseId,
        action: CaseAction,
        check: impl FnOnce(&CaseState, &Worker) -> Result<(), StoreError>,
    ) -> Result<CaseState, StoreError> {
        self.batch(|b| b.case_event(author, case, None, action, check))
            .map(|(_, s)| s)
    }
}

/// Why a sitting opens a crisis, if it does: it was graded crisis. Names
/// the red flags and instruments (codes), never an answer.
fn crisis_reason(decision: &TierDecision, action: &CaseAction) -> Option<String> {
    if decision.tier != Tier::Crisis {
        return None;
    }
    let CaseAction::Screened { results, .. } = action else {
        return None;
    };
    let mut parts: Vec<String> = results
        .iter()
        .flat_map(|r| {
            r.red_flags
                .iter()
                .map(move |f| format!("red flag {f} ({})", r.instrument))
        })
        .collect();
    if parts.is_empty() {
        parts = results
            .iter()
            .filter(|r| r.tier == Tier::Crisis)
            .map(|r| format!("{} graded crisis", r.instrument))
            .collect();
    }
    Some(format!("screening: {}", parts.join(", ")))
}

fn open_crisis_named(state: &CaseState, crisis: &EventId) -> Result<(), StoreError> {
    match state.crises.iter().find(|c| c.id == *crisis) {
        None => Err(StoreError::NotFound {
            kind: "crisis",
            id: crisis.to_string(),
        }),
        Some(c) if c.closed.is_some() => Err(DispatchError::Forbidden {
            action: Deed::ActOnCrisis,
            status: "closed",
            vocabulary: crate::labels::Vocabulary::CrisisState,
        }
        .into()),
        Some(_) => Ok(()),
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Cases<S> {
    /// A case file and its folded state at `now`.
    pub fn case(&self, id: &CaseId, now: Millis) -> Result<(Case, CaseState), StoreError> {
        let case = self.store.get::<Case>(id.as_str())?;
        let state = fold(&case, &self.store.policy, now);
        Ok((case, state))
    }

    /// Cases from the index, highest tier first; optionally one household's.
    pub fn list(&self, household: Option<&HouseholdId>) -> Result<Vec<CaseRow>, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT id, resident_id, household_id, tier, assigned, open_crises, screenings, conflicts \
             FROM idx_case WHERE ?1 IS NULL OR household_id = ?1 \
             ORDER BY CASE tier WHEN 'crisis' THEN 0 WHEN 't3' THEN 1 WHEN 't2' THEN 2 WHEN 't1' THEN 3 ELSE 4 END, id",
        )?;
        let rows = stmt
            .query_map([household.map(|h| h.as_str())], |r| {
                Ok(CaseRow {
                    id: r.get(0)?,
                    resident_id: r.get(1)?,
                    household_id: r.get(2)?,
                    tier: parse_word(r.get(3)?, 3, Tier::parse)?,
                    assigned: r.get(4)?,
                    open_crises: r.get(5)?,
                    screenings: r.get(6)?,
                    conflicts: r.get(7)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// What is due, soonest first, for one worker or the whole station:
    /// open crises, reviews, unacknowledged referrals, follow-ups and
    /// re-screens. `horizon` keeps items due up to that time (overdue ones
    /// always appear).
    pub fn cases_due(
        &self,
        worker: Option<&WorkerId>,
        now: Millis,
        horizon: Millis,
    ) -> Result<Vec<DueRow>, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT d.case_id, c.resident_id, c.household_id, c.tier, d.what, d.reference, d.due_at, d.worker_id \
             FROM idx_case_due d JOIN idx_case c ON c.id = d.case_id \
             WHERE (?1 IS NULL OR d.worker_id = ?1) AND d.due_at <= ?2 \
             ORDER BY CASE d.what WHEN 'crisis' THEN 0 ELSE 1 END, d.due_at, d.case_id, d.what",
        )?;
        let rows = stmt
            .query_map(params![worker.map(|w| w.as_str()), horizon], |r| {
                let due_at: Millis = r.get(6)?;
                Ok(DueRow {
                    case_id: r.get(0)?,
                    resident_id: r.get(1)?,
                    household_id: r.get(2)?,
                    tier: parse_word(r.get(3)?, 3, Tier::parse)?,
                    what: r.get(4)?,
                    reference: r.get(5)?,
                    due_at,
                    worker_id: r.get(7)?,
                    overdue: due_at < now,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

impl super::Cases<&mut Store> {
    /// Records a screening sitting in the resident's case file (created on
    /// first use). Each result is re-scored from its answers with the
    /// instrument and cutoff set it names, and the sitting is graded as a
    /// whole: highest tier wins, red flags override totals, a risk
    /// assessment in the sitting grades them.
    pub fn record_screening(
        &mut self,
        author: &Author,
        s: NewScreening,
        library: &Library,
    ) -> Result<Recorded, StoreError> {
        // Held apart from `self`, which the write below borrows mutably.
        let policy = Arc::clone(&self.store.policy);
        let policy = policy.as_ref();
        let mut results = Vec::with_capacity(s.results.len());
        for r in &s.results {
            let inst = library.get(&r.instrument)?;
            if inst.version != r.version {
                return Err(ValidationError::new(
                    "screening.version",
                    Violation::Inconsistent(
                        "the result was scored with another version of the instrument",
                    ),
                )
                .into());
            }
            let answers = r
                .answers
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        (*v).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
                    )
                })
                .collect();
            let rescored = score(
                inst,
                &answers,
                &ScoreOptions {
                    cutoffs: r.cutoff_set.clone(),
                    convention: r.convention.clone(),
                    language: Language::parse(&r.language)?,
                    policy,
                },
            )?;
            results.push(rescored);
        }
        if results.is_empty() {
            return Err(ValidationError::new("screening.results", Violation::Required).into());
        }
        let decision = policy.combine(&results);
        let team = s.team.unwrap_or_else(|| DEFAULT_CASE_TEAM.to_string());
        let case_id = CaseId::of(&s.resident_id);
        let action = CaseAction::Screened {
            results,
            tier: decision.tier,
            reasons: decision.reasons.clone(),
        };
        let crisis_reason = crisis_reason(&decision, &action);
        let (screening, follow, state) = self.store.batch(|b| {
            let household = b.get::<Household>(s.household_id.as_str())?;
            if !household.members.contains_key(s.resident_id.as_str()) {
                return Err(StoreError::NotFound {
                    kind: "resident",
                    id: s.resident_id.to_string(),
                });
            }
            b.case_events(
                author,
                &case_id,
                Some((&s.resident_id, &s.household_id, &team)),
                action,
                |_, _| Ok(()),
                // A red flag always opens the crisis path: in this write,
                // unless an open crisis already covers the resident.
                |before, screening| {
                    let reason = crisis_reason?;
                    if before.open_crises().next().is_some() {
                        return None;
                    }
                    Some(CaseAction::CrisisOpened {
                        crisis: EventId::random(),
                        reason,
                        screening: Some(screening.clone()),
                    })
                },
            )
        })?;
        let crisis_opened = match follow {
            Some(CaseAction::CrisisOpened { crisis, .. }) => Some(crisis),
            _ => None,
        };
        Ok(Recorded {
            case_id,
            screening,
            decision,
            case_tier: state.tier,
            crisis_opened,
            open_crises: state.open_crises().map(|c| c.id.clone()).collect(),
        })
    }

    /// A professional re-reviews a screening (复核): confirms or changes its
    /// tier, with a reason. Counselors and clinicians only.
    pub fn review_screening(
        &mut self,
        author: &Author,
        case: &CaseId,
        screening: &EventId,
        tier: Tier,
        reason: &str,
    ) -> Result<CaseState, StoreError> {
        let screening_id = screening.clone();
        self.store.append_case(
            author,
            case,
            CaseAction::Reviewed {
                screening: screening.clone(),
                tier,
                reason: reason.to_string(),
            },
            move |state, w| {
                if !state.screenings.iter().any(|s| s.id == screening_id) {
                    return Err(StoreError::NotFound {
                        kind: "screening",
                        id: screening_id.to_string(),
                    });
                }
                professional_only(Deed::Review)(state, w)
            },
        )
    }

    /// Proposes a referral at a tier to a service.
    pub fn refer(
        &mut self,
        author: &Author,
        case: &CaseId,
        tier: Tier,
        to: &str,
        reason: &str,
    ) -> Result<EventId, StoreError> {
        let referral = EventId::random();
        self.store.append_case(
            author,
            case,
            CaseAction::ReferralProposed {
                referral: referral.clone(),
                tier,
                to: to.to_string(),
                reason: reason.to_string(),
            },
            |_, _| Ok(()),
        )?;
        Ok(referral)
    }

    /// Moves a referral on: sent, acknowledged, seen, closed. Statuses only
    /// move forward; a volunteer may not close a referral.
    pub fn update_referral(
        &mut self,
        author: &Author,
        case: &CaseId,
        referral: &EventId,
        status: ReferralStatus,
        note: &str,
    ) -> Result<CaseState, StoreError> {
        let rid = referral.clone();
        self.store.append_case(
            author,
            case,
            CaseAction::ReferralUpdated {
                referral: referral.clone(),
                status,
                note: note.to_string(),
            },
            move |state, w| {
                let r = state
                    .referrals
                    .iter()
                    .find(|r| r.id == rid)
                    .ok_or_else(|| StoreError::NotFound {
                        kind: "referral",
                        id: rid.to_string(),
                    })?;
                if status <= r.status {
                    return Err(DispatchError::Forbidden {
                        action: Deed::MoveReferralBack,
                        status: r.status.as_str(),
                        vocabulary: crate::labels::Vocabulary::ReferralStatus,
                    }
                    .into());
                }
                if w.role == Role::Volunteer && status == ReferralStatus::Closed {
                    return Err(DispatchError::PermissionDenied {
                        action: Deed::CloseReferral,
                        reason: Rule::VolunteerCannotCloseReferral,
                    }
                    .into());
                }
                Ok(())
            },
        )
    }

    /// Opens a crisis (危机干预) in a resident's file — created on first use,
    /// so a volunteer can open one at the door.
    pub fn open_crisis(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        resident: &ResidentId,
        reason: &str,
    ) -> Result<(CaseId, EventId), StoreError> {
        let crisis = EventId::random();
        let case_id = CaseId::of(resident);
        self.store.batch(|b| {
            let h = b.get::<Household>(household.as_str())?;
            if !h.members.contains_key(resident.as_str()) {
                return Err(StoreError::NotFound {
                    kind: "resident",
                    id: resident.to_string(),
                });
            }
            b.case_event(
                author,
                &case_id,
                Some((resident, household, DEFAULT_CASE_TEAM)),
                CaseAction::CrisisOpened {
                    crisis: crisis.clone(),
                    reason: reason.to_string(),
                    screening: None,
                },
                |_, _| Ok(()),
            )
        })?;
        Ok((case_id, crisis))
    }

    /// Records something done during an open crisis.
    pub fn crisis_action(
        &mut self,
        author: &Author,
        case: &CaseId,
        crisis: &EventId,
        step: CrisisStep,
        note: &str,
    ) -> Result<CaseState, StoreError> {
        let cid = crisis.clone();
        self.store.append_case(
            author,
            case,
            CaseAction::CrisisAction {
                crisis: crisis.clone(),
                step,
                note: note.to_string(),
            },
            move |state, _| open_crisis_named(state, &cid),
        )
    }

    /// A professional closes a crisis, stating the tier after it.
    pub fn close_crisis(
        &mut self,
        author: &Author,
        case: &CaseId,
        crisis: &EventId,
        tier_after: Tier,
        note: &str,
    ) -> Result<CaseState, StoreError> {
        let cid = crisis.clone();
        self.store.append_case(
            author,
            case,
            CaseAction::CrisisClosed {
                crisis: crisis.clone(),
                tier_after,
                note: note.to_string(),
            },
            move |state, w| {
                open_crisis_named(state, &cid)?;
                professional_only(Deed::CloseCrisis)(state, w)
            },
        )
    }

    /// Records a follow-up visit, a note, or the worker responsible.
    pub fn case_entry(
        &mut self,
        author: &Author,
        case: &CaseId,
        action: CaseAction,
    ) -> Result<CaseState, StoreError> {
        match &action {
            CaseAction::Visit { .. } | CaseAction::Note { .. } => {}
            CaseAction::Assigned { worker } => {
                let w = self.store.get::<Worker>(worker.as_str())?;
                if !matches!(
                    w.role,
                    Role::Counselor | Role::Clinician | Role::SocialWorker
                ) {
                    return Err(DispatchError::PermissionDenied {
                        action: Deed::AssignCase,
                        reason: Rule::CaseGoesToProfessional,
                    }
                    .into());
                }
            }
            _ => {
                return Err(ValidationError::new(
                    "case.action",
                    Violation::Inconsistent("use the dedicated operation"),
                )
                .into())
            }
        }
        self.store.append_case(author, case, action, |_, _| Ok(()))
    }
}
