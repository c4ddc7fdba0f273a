//! The fold of a case file's event log into its current state: the tier
//! and why, reviews due, referrals and their deadlines, crises, the
//! follow-up schedule, and the domain conflicts people must hear about.
//!
//! The rules, the same on every phone:
//! - A screening raises the tier to its own (the highest tier wins). Only a
//!   counselor or clinician lowers it: by a review (复核) or by closing a
//!   crisis. A lowering by anyone else — written by an outdated app, or
//!   concurrently with a promotion that had not reached the phone — is
//!   ignored and surfaced as a conflict.
//! - Every screening at t2 or above needs a professional review within its
//!   tier's `review_hours`; a review by anyone else does not count.
//! - A referral not acknowledged within its tier's deadline is escalated.
//! - A crisis is open until a professional closes it; after a crisis, the
//!   mhGAP follow-up schedule applies (weekly, then every two weeks).
//! - Events are folded in hybrid-timestamp order, ties by event id, so two
//!   phones that merged the same events compute the same state.

use serde::Serialize;

use super::policy::Policy;
use crate::model::*;

const HOUR: Millis = 3_600_000;
const DAY: Millis = 24 * HOUR;

/// Whether a role may lower a tier, review, or close a crisis.
pub fn is_professional(role: Option<Role>) -> bool {
    matches!(role, Some(Role::Counselor) | Some(Role::Clinician))
}

/// One screening sitting as folded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreeningView {
    /// The screening event's id.
    pub id: EventId,
    /// When.
    pub at: Millis,
    /// Who administered it.
    pub by: WorkerId,
    /// The instruments' full results.
    pub results: Vec<ScreeningResult>,
    /// The tier of the sitting.
    pub tier: Tier,
    /// Why.
    pub reasons: Vec<String>,
    /// The professional review, if done: who, when, the tier, why.
    pub review: Option<ReviewView>,
    /// When a review is due (t2 and above, until reviewed).
    pub review_due: Option<Millis>,
}

/// A professional review of a screening.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewView {
    /// The reviewer.
    pub by: WorkerId,
    /// When.
    pub at: Millis,
    /// The tier after review.
    pub tier: Tier,
    /// Why.
    pub reason: String,
}

/// A referral as folded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferralView {
    /// The referral's id.
    pub id: EventId,
    /// Its tier.
    pub tier: Tier,
    /// To whom.
    pub to: String,
    /// Why.
    pub reason: String,
    /// Its status.
    pub status: ReferralStatus,
    /// When it was proposed.
    pub proposed_at: Millis,
    /// The acknowledgement deadline.
    pub ack_due: Millis,
    /// The deadline passed unacknowledged.
    pub escalated: bool,
    /// The history: (when, status, note).
    pub history: Vec<(Millis, ReferralStatus, String)>,
}

/// A crisis as folded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrisisView {
    /// The crisis's id.
    pub id: EventId,
    /// When it was opened.
    pub opened_at: Millis,
    /// Who opened it.
    pub opened_by: WorkerId,
    /// Why.
    pub reason: String,
    /// What was done: (when, who, step, note).
    pub actions: Vec<(Millis, WorkerId, CrisisStep, String)>,
    /// Closed: (when, by which professional, tier after).
    pub closed: Option<(Millis, WorkerId, Tier)>,
}

/// Something due in a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    /// `review`, `rescreen`, `referral_ack`, `followup` or `crisis`.
    pub what: &'static str,
    /// When (for an open crisis: when it was opened).
    pub due_at: Millis,
    /// The screening, referral or crisis concerned.
    pub reference: String,
}

/// A case file's current state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseState {
    /// The case's tier.
    pub tier: Tier,
    /// Why, most recent decisive reason first.
    pub tier_reasons: Vec<String>,
    /// The worker responsible.
    pub assigned: Option<WorkerId>,
    /// Screenings, oldest first.
    pub screenings: Vec<ScreeningView>,
    /// Referrals, oldest first.
    pub referrals: Vec<ReferralView>,
    /// Crises, oldest first.
    pub crises: Vec<CrisisView>,
    /// Visits: (when, who, minutes).
    pub visits: Vec<(Millis, WorkerId, u32)>,
    /// How many notes.
    pub notes: usize,
    /// The last contact (screening, visit, crisis action).
    pub last_contact: Option<Millis>,
    /// Everything due, soonest first.
    pub due: Vec<Due>,
    /// Domain conflicts (a tier lowered without a professional...).
    pub conflicts: Vec<String>,
}

impl CaseState {
    /// The open crises.
    pub fn open_crises(&self) -> impl Iterator<Item = &CrisisView> {
        self.crises.iter().filter(|c| c.closed.is_none())
    }
}

/// Folds a case; `now` decides which referrals are escalated (nothing
/// else depends on it, so the index built from the fold is the same on
/// every device).
pub fn fold(case: &Case, policy: &Policy, now: Millis) -> CaseState {
    let mut s = CaseState {
        tier: Tier::T0,
        tier_reasons: vec!["t0: no screening yet".into()],
        assigned: None,
        screenings: Vec::new(),
        referrals: Vec::new(),
        crises: Vec::new(),
        visits: Vec::new(),
        notes: 0,
        last_contact: None,
        due: Vec::new(),
        conflicts: Vec::new(),
    };
    let mut first_crisis: Option<Millis> = None;
    for e in case.ordered_events() {
        let professional = is_professional(Some(e.role));
        match &e.action {
            CaseAction::Screened {
                results,
                tier,
                reasons,
            } => {
                // A screening only ever raises the tier.
                if *tier >= s.tier {
                    s.tier = *tier;
                    s.tier_reasons = reasons.clone();
                }
                let review_due = policy
                    .rule(*tier)
                    .review_hours
                    .map(|h| e.at + h as Millis * HOUR);
                s.screenings.push(ScreeningView {
                    id: e.id.clone(),
                    at: e.at,
                    by: e.by.clone(),
                    results: results.clone(),
                    tier: *tier,
                    reasons: reasons.clone(),
                    review: None,
                    review_due,
                });
                s.last_contact = Some(e.at);
            }
            CaseAction::Reviewed {
                screening,
                tier,
                reason,
            } => {
                let Some(view) = s.screenings.iter_mut().find(|v| v.id == *screening) else {
                    s.conflicts
                        .push(format!("review {} names an unknown screening", e.id));
                    continue;
                };
                if !professional {
                    s.conflicts.push(format!(
                        "review {} by a worker who is not a counselor or clinician was ignored",
                        e.id
                    ));
                    continue;
                }
                view.review = Some(ReviewView {
                    by: e.by.clone(),
                    at: e.at,
                    tier: *tier,
                    reason: reason.clone(),
                });
                view.review_due = None;
                // The review decides the tier from here on (it may lower it:
                // the reviewer is a professional).
                s.tier = *tier;
                s.tier_reasons = vec![format!("{}: reviewed — {reason}", tier.as_str())];
            }
            CaseAction::ReferralProposed {
                referral,
                tier,
                to,
                reason,
            } => {
                if s.referrals.iter().any(|r| r.id == *referral) {
                    continue;
                }
                s.referrals.push(ReferralView {
                    id: referral.clone(),
                    tier: *tier,
                    to: to.clone(),
                    reason: reason.clone(),
                    status: ReferralStatus::Proposed,
                    proposed_at: e.at,
                    ack_due: e.at + policy.ack_hours(*tier) as Millis * HOUR,
                    escalated: false,
                    history: vec![(e.at, ReferralStatus::Proposed, String::new())],
                });
                if *tier > s.tier {
                    s.tier = *tier;
                    s.tier_reasons = vec![format!("{}: referred — {reason}", tier.as_str())];
                }
            }
            CaseAction::ReferralUpdated {
                referral,
                status,
                note,
            } => {
                let Some(r) = s.referrals.iter_mut().find(|r| r.id == *referral) else {
                    s.conflicts.push(format!(
                        "referral update {} names an unknown referral",
                        e.id
                    ));
                    continue;
                };
                // Statuses only move forward; a concurrent, older step is
                // kept in the history but does not move the status back.
                if *status > r.status {
                    r.status = *status;
                }
                r.history.push((e.at, *status, note.clone()));
            }
            CaseAction::CrisisOpened { crisis, reason } => {
                if s.crises.iter().any(|c| c.id == *crisis) {
                    continue;
                }
                s.crises.push(CrisisView {
                    id: crisis.clone(),
                    opened_at: e.at,
                    opened_by: e.by.clone(),
                    reason: reason.clone(),
                    actions: Vec::new(),
                    closed: None,
                });
                first_crisis.get_or_insert(e.at);
                s.tier = Tier::Crisis;
                s.tier_reasons = vec![format!("crisis: crisis opened — {reason}")];
                s.last_contact = Some(e.at);
            }
            CaseAction::CrisisAction { crisis, step, note } => {
                if let Some(c) = s.crises.iter_mut().find(|c| c.id == *crisis) {
                    c.actions.push((e.at, e.by.clone(), *step, note.clone()));
                    s.last_contact = Some(e.at);
                } else {
                    s.conflicts
                        .push(format!("crisis action {} names an unknown crisis", e.id));
                }
            }
            CaseAction::CrisisClosed {
                crisis,
                tier_after,
                note,
            } => {
                let Some(c) = s.crises.iter_mut().find(|c| c.id == *crisis) else {
                    s.conflicts
                        .push(format!("crisis close {} names an unknown crisis", e.id));
                    continue;
                };
                if !professional {
                    s.conflicts.push(format!(
                        "crisis {} closed by a worker who is not a counselor or clinician: it stays open",
                        crisis
                    ));
                    continue;
                }
                if c.closed.is_some() {
                    continue;
                }
                c.closed = Some((e.at, e.by.clone(), *tier_after));
                if !s.crises.iter().any(|c| c.closed.is_none()) {
                    s.tier = *tier_after;
                    s.tier_reasons = vec![format!(
                        "{}: crisis closed by a professional{}",
                        tier_after.as_str(),
                        if note.is_empty() {
                            String::new()
                        } else {
                            " — see the note".into()
                        }
                    )];
                }
            }
            CaseAction::Visit { minutes, .. } => {
                s.visits.push((e.at, e.by.clone(), *minutes));
                s.last_contact = Some(e.at);
            }
            CaseAction::Note { .. } => s.notes += 1,
            CaseAction::Assigned { worker } => s.assigned = Some(worker.clone()),
        }
    }

    // What is due.
    for v in &s.screenings {
        if let Some(due) = v.review_due {
            s.due.push(Due {
                what: "review",
                due_at: due,
                reference: v.id.to_string(),
            });
        }
    }
    if let Some(last) = s.screenings.last() {
        let days = policy.rule(s.tier).rescreen_days as Millis;
        s.due.push(Due {
            what: "rescreen",
            due_at: last.at + days * DAY,
            reference: last.id.to_string(),
        });
    }
    for r in &mut s.referrals {
        if matches!(r.status, ReferralStatus::Proposed | ReferralStatus::Sent) {
            r.escalated = now > r.ack_due;
            s.due.push(Due {
                what: "referral_ack",
                due_at: r.ack_due,
                reference: r.id.to_string(),
            });
        }
    }
    for c in s.crises.iter().filter(|c| c.closed.is_none()) {
        s.due.push(Due {
            what: "crisis",
            due_at: c.opened_at,
            reference: c.id.to_string(),
        });
    }
    if let (Some(start), true) = (first_crisis, s.tier >= Tier::T1) {
        let f = &policy.crisis_followup;
        let last = s.last_contact.unwrap_or(start);
        let mut point = start;
        // The next scheduled contact after the last one.
        loop {
            let step = if point - start < f.weekly_for_days as Millis * DAY {
                7 * DAY
            } else {
                f.then_every_days as Millis * DAY
            };
            point += step;
            if point > last {
                break;
            }
        }
        s.due.push(Due {
            what: "followup",
            due_at: point,
            reference: String::new(),
        });
    }
    s.due
        .sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.what.cmp(b.what)));
    s
}
