//! The fold of a case file's event log into its current state: the tier
//! and why, reviews due, referrals and their deadlines, crises, the
//! follow-up schedule, and the domain conflicts people must hear about.
//!
//! The rules, the same on every phone:
//! - The case's tier is derived, never overwritten: it is the highest of
//!   every screening not yet reviewed (at its own computed tier), the most
//!   recent professional judgement (the reviewed screening latest in the
//!   log, or a closed crisis), every open crisis, and every referral not
//!   yet closed. A review applies to its own screening only, so reviewing
//!   an older sitting never hides a newer, unreviewed red flag.
//! - Only a counselor or clinician judges: by a review (复核) or by closing
//!   a crisis. A judgement by anyone else — written by an outdated app, or
//!   concurrently with a promotion that had not reached the phone — is
//!   ignored and surfaced as a conflict.
//! - Closing a crisis settles the screenings it covers: the one whose red
//!   flags opened it and any red-flag sitting recorded while it was open.
//! - Every screening at t2 or above needs a professional review within its
//!   tier's `review_hours`; a review by anyone else does not count.
//! - A referral not acknowledged within its tier's deadline is escalated.
//! - A crisis is open until a professional closes it; after a crisis, the
//!   mhGAP follow-up schedule applies (weekly, then every two weeks).
//! - A case that stays at the policy's no-improvement tier (t2) on a
//!   re-screen 4 weeks or more after it first reached it is due to be
//!   escalated (`escalate`), until a referral above that tier is made.
//! - Events are folded in hybrid-timestamp order, ties by event id, so two
//!   phones that merged the same events compute the same state.

use serde::Serialize;

use super::policy::Policy;
use crate::localtime::{DAY, HOUR};
use crate::model::*;

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

impl ScreeningView {
    /// The sitting's tier now: the professional's if reviewed, else the
    /// computed one.
    pub fn current_tier(&self) -> Tier {
        self.review.as_ref().map_or(self.tier, |r| r.tier)
    }
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
    /// The screenings it covers: the one whose red flags opened it, and
    /// red-flag sittings recorded while it was open. Closing it settles them.
    pub covers: Vec<EventId>,
}

/// Every kind of due item (`Due::what`), in the order of urgency people
/// read them (the labels cover each).
pub const DUE_KINDS: &[&str] = &[
    "crisis",
    "review",
    "referral_ack",
    "escalate",
    "followup",
    "rescreen",
];

/// Something due in a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    /// One of [`DUE_KINDS`].
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
                // A red-flag sitting while a crisis is open is that
                // crisis's to settle.
                if *tier == Tier::Crisis {
                    for c in s.crises.iter_mut().filter(|c| c.closed.is_none()) {
                        c.covers.push(e.id.clone());
                    }
                }
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
            CaseAction::CrisisOpened {
                crisis,
                reason,
                screening,
            } => {
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
                    covers: screening.iter().cloned().collect(),
                });
                first_crisis.get_or_insert(e.at);
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
                note: _,
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
                // The professional who closed the crisis judged the sittings
                // it covered.
                let covers = c.covers.clone();
                for v in s.screenings.iter_mut().filter(|v| covers.contains(&v.id)) {
                    v.review = Some(ReviewView {
                        by: e.by.clone(),
                        at: e.at,
                        tier: *tier_after,
                        reason: format!("crisis {crisis} closed"),
                    });
                    v.review_due = None;
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
    (s.tier, s.tier_reasons) = derive_tier(&s);

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
        let days = policy.rescreen_days(s.tier, &last.results) as Millis;
        s.due.push(Due {
            what: "rescreen",
            due_at: last.at + days * DAY,
            reference: last.id.to_string(),
        });
    }
    if let Some(due) = no_improvement(&s, policy) {
        s.due.push(due);
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

/// The case's tier and why, derived from the folded parts (see the module
/// documentation): nothing lowers it below an unreviewed screening, an open
/// crisis or an open referral; among professional judgements the one about
/// the most recent screening or crisis stands.
fn derive_tier(s: &CaseState) -> (Tier, Vec<String>) {
    // (tier, reasons) of everything that holds the tier up; ties go to the
    // later entry (the most recent reason is the one shown).
    let mut holding: Vec<(Tier, Vec<String>)> = Vec::new();
    // The latest professional judgement: (position in time of what was
    // judged, tier, reason).
    let mut judgement: Option<(Millis, Tier, String)> = None;
    let mut judge = |at: Millis, tier: Tier, reason: String| {
        if judgement.as_ref().is_none_or(|(j, _, _)| at >= *j) {
            judgement = Some((at, tier, reason));
        }
    };
    for v in &s.screenings {
        match &v.review {
            None => holding.push((v.tier, v.reasons.clone())),
            Some(r) => judge(
                v.at,
                r.tier,
                format!("{}: reviewed — {}", r.tier.as_str(), r.reason),
            ),
        }
    }
    for c in &s.crises {
        match &c.closed {
            None => holding.push((
                Tier::Crisis,
                vec![format!("crisis: crisis opened — {}", c.reason)],
            )),
            Some((_, _, after)) => judge(
                c.opened_at,
                *after,
                format!("{}: crisis closed by a professional", after.as_str()),
            ),
        }
    }
    if let Some((_, tier, reason)) = judgement {
        holding.push((tier, vec![reason]));
    }
    for r in &s.referrals {
        if r.status != ReferralStatus::Closed {
            holding.push((
                r.tier,
                vec![format!("{}: referred — {}", r.tier.as_str(), r.reason)],
            ));
        }
    }
    let mut best: Option<(Tier, Vec<String>)> = None;
    for (tier, reasons) in holding {
        if best.as_ref().is_none_or(|(t, _)| tier >= *t) {
            best = Some((tier, reasons));
        }
    }
    best.unwrap_or_else(|| (Tier::T0, vec!["t0: no screening yet".into()]))
}

/// The `escalate` item of the no-improvement rule: the case is at the rule's
/// tier, its latest screening is at that tier or above, and the run of
/// sittings at or above it began at least `after_days` before the latest.
/// A referral above the rule's tier made since the latest sitting settles it.
fn no_improvement(s: &CaseState, policy: &Policy) -> Option<Due> {
    let rule = policy.no_improvement.as_ref()?;
    if s.tier != rule.tier {
        return None;
    }
    let latest = s.screenings.last()?;
    let mut start = None;
    for v in s.screenings.iter().rev() {
        if v.current_tier() < rule.tier {
            break;
        }
        start = Some(v.at);
    }
    let start = start?;
    if latest.at - start < rule.after_days as Millis * DAY {
        return None;
    }
    let settled = s
        .referrals
        .iter()
        .any(|r| r.tier > rule.tier && r.proposed_at >= latest.at);
    (!settled).then(|| Due {
        what: "escalate",
        due_at: latest.at,
        reference: latest.id.to_string(),
    })
}
