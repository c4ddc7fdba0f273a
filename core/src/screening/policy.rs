//! The referral policy as data: which result gives which tier, with the
//! reason; the red-flag rule; response, review and re-screen intervals per
//! tier; the crisis follow-up schedule. The default is
//! `core/instruments/policy.json` (screening-reference.md section 2); a
//! deployment may load its own with `Policy::from_json`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{Language, Library, ScreeningError};
use crate::model::{ScreeningResult, Tier};

const DEFAULT: &str = include_str!("../../instruments/policy.json");

/// Intervals and the expected action for one tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierRule {
    /// Hours within which someone must respond (0 = on the same visit).
    #[serde(default)]
    pub response_hours: Option<u32>,
    /// Hours within which a professional must re-review a result at this
    /// tier (none below t2).
    #[serde(default)]
    pub review_hours: Option<u32>,
    /// Days until the next screening is due.
    pub rescreen_days: u32,
    /// What the worker should do, in words.
    pub action: String,
    /// Which of the values are proposals to confirm [U].
    #[serde(default)]
    pub configurable: Vec<String>,
}

/// How red-flag items (PHQ-9 item 9, SRQ-20 item 17, EPDS item 10...) act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedFlagRule {
    /// The tier of a red flag no risk assessment has graded yet.
    pub unassessed: Tier,
    /// The lowest tier of a red flag once assessed.
    pub assessed_floor: Tier,
    /// The instruments that count as a risk assessment (`cssrs`).
    pub assessments: Vec<String>,
    /// The rule in words.
    #[serde(default)]
    pub note: String,
}

/// The mhGAP follow-up schedule after a crisis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Followup {
    /// Weekly contact for this many days after the crisis opened.
    pub weekly_for_days: u32,
    /// Then one contact every this many days.
    pub then_every_days: u32,
    /// Where the schedule comes from.
    #[serde(default)]
    pub source: String,
}

/// When a trigger applies. Every field given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The total (in the convention bands are stated in) is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_at_least: Option<i64>,
    /// The result is positive by the chosen cutoff set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive: Option<bool>,
    /// The risk classification (C-SSRS) is this level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    /// The result carries this flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
}

/// One rule: a result of `instrument` meeting `when` gives at least `tier`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// The instrument id.
    pub instrument: String,
    /// The condition.
    pub when: Condition,
    /// The tier it gives.
    pub tier: Tier,
    /// The reason shown with the tier.
    pub reason: String,
    /// The threshold is a proposal to confirm [U].
    #[serde(default)]
    pub configurable: bool,
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Recorded with every result.
    pub version: String,
    /// Where the rules come from.
    #[serde(default)]
    pub source: String,
    /// Intervals per tier (`crisis`, `t3`, `t2`, `t1`, `t0`).
    pub tiers: BTreeMap<String, TierRule>,
    /// The red-flag rule.
    pub red_flags: RedFlagRule,
    /// The follow-up schedule after a crisis.
    pub crisis_followup: Followup,
    /// Hours a referral at each tier may wait for acknowledgement before it
    /// is escalated.
    pub referral_ack_hours: BTreeMap<String, u32>,
    /// The triggers.
    pub triggers: Vec<Trigger>,
}

/// A tier with the reasons for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierDecision {
    /// The tier.
    pub tier: Tier,
    /// Why, highest tier first; never empty.
    pub reasons: Vec<String>,
}

impl Policy {
    /// The default policy shipped with Anxin.
    pub fn builtin() -> Result<&'static Policy, ScreeningError> {
        static POLICY: OnceLock<Result<Policy, ScreeningError>> = OnceLock::new();
        POLICY
            .get_or_init(|| Policy::from_json("policy.json", DEFAULT))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses and checks a policy file: every tier has its rule, every
    /// trigger a condition.
    pub fn from_json(file: &str, json: &str) -> Result<Policy, ScreeningError> {
        let bad = |reason: String| ScreeningError::BadFile {
            file: file.to_string(),
            reason,
        };
        let policy: Policy = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        for tier in Tier::ALL {
            if !policy.tiers.contains_key(tier.as_str()) {
                return Err(bad(format!("no rule for tier {}", tier.as_str())));
            }
            if !policy.referral_ack_hours.contains_key(tier.as_str()) {
                return Err(bad(format!(
                    "no referral deadline for tier {}",
                    tier.as_str()
                )));
            }
        }
        for (name, rule) in &policy.tiers {
            let tier =
                Tier::parse_word(name).ok_or_else(|| bad(format!("unknown tier `{name}`")))?;
            if tier >= Tier::T2 && rule.review_hours.is_none() {
                return Err(bad(format!("tier {name} needs review_hours")));
            }
        }
        for t in &policy.triggers {
            if t.when == Condition::default() {
                return Err(bad(format!(
                    "a trigger of {} has no condition",
                    t.instrument
                )));
            }
        }
        if policy.crisis_followup.weekly_for_days == 0
            || policy.crisis_followup.then_every_days == 0
        {
            return Err(bad("follow-up intervals must be positive".into()));
        }
        Ok(policy)
    }

    /// A digest of the whole policy (its canonical JSON): two devices fold
    /// case files alike exactly when their fingerprints are equal.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        // Serialising plain structs and maps cannot fail; an empty text
        // would only make every store rebuild its index once.
        let json = serde_json::to_string(self).unwrap_or_default();
        hex::encode(&Sha256::digest(json.as_bytes())[..16])
    }

    /// The risk assessments (the red-flag rule's, the C-SSRS) to continue
    /// with after `red_flags` were raised in a sitting of `instruments`:
    /// those `library` can administer in `language`. Empty when nothing was
    /// flagged, when the sitting already holds an assessment, or when no
    /// assessment's licensed texts are loaded (then a professional's
    /// evaluation is the assessment).
    pub fn assessments_to_follow(
        &self,
        red_flags: &[String],
        instruments: &[&str],
        library: &Library,
        language: Language,
    ) -> Vec<String> {
        let assessed = instruments
            .iter()
            .any(|i| self.red_flags.assessments.iter().any(|a| a == i));
        if red_flags.is_empty() || assessed {
            return Vec::new();
        }
        self.red_flags
            .assessments
            .iter()
            .filter(|id| library.get(id).is_ok_and(|i| i.has_texts(language)))
            .cloned()
            .collect()
    }

    /// The rule of a tier.
    pub fn rule(&self, tier: Tier) -> &TierRule {
        // `from_json` guarantees every tier has a rule.
        &self.tiers[tier.as_str()]
    }

    /// Hours a referral at `tier` may wait for acknowledgement.
    pub fn ack_hours(&self, tier: Tier) -> u32 {
        self.referral_ack_hours
            .get(tier.as_str())
            .copied()
            .unwrap_or(24)
    }

    /// Grades one result. `assessed`: a risk assessment in the same sitting
    /// graded any red flag (see `combine`).
    pub fn assess(&self, r: &ScreeningResult, assessed: bool) -> TierDecision {
        let mut found: Vec<(Tier, String)> = Vec::new();
        let name = r.instrument.as_str();
        for t in self.triggers.iter().filter(|t| t.instrument == name) {
            if let Some(detail) = matches(&t.when, r) {
                found.push((
                    t.tier,
                    format!("{}: {} ({detail})", t.tier.as_str(), t.reason),
                ));
            }
        }
        let is_assessment = self.red_flags.assessments.iter().any(|a| a == name);
        if !is_assessment {
            for flag in &r.red_flags {
                let (tier, how) = if assessed {
                    (self.red_flags.assessed_floor, "graded by a risk assessment")
                } else {
                    (
                        self.red_flags.unassessed,
                        "not yet graded by a risk assessment: open the crisis path",
                    )
                };
                found.push((
                    tier,
                    format!("{}: red flag {flag} on {name}, {how}", tier.as_str()),
                ));
            }
        }
        decide(found, name)
    }

    /// Combines the results of one sitting (e.g. PHQ-9, GAD-7 and the
    /// C-SSRS the red flag led to): the highest tier wins; a red flag counts
    /// as assessed when the sitting includes a risk assessment.
    pub fn combine(&self, results: &[ScreeningResult]) -> TierDecision {
        let assessed = results
            .iter()
            .any(|r| self.red_flags.assessments.contains(&r.instrument));
        let mut found = Vec::new();
        for r in results {
            let d = self.assess(r, assessed);
            for reason in d.reasons {
                found.push((d.tier, format!("{}: {reason}", r.instrument)));
            }
        }
        if found.is_empty() {
            return TierDecision {
                tier: Tier::T0,
                reasons: vec!["t0: no screening results".into()],
            };
        }
        let tier = found.iter().map(|(t, _)| *t).max().unwrap_or(Tier::T0);
        TierDecision {
            tier,
            reasons: found.into_iter().map(|(_, r)| r).collect(),
        }
    }
}

fn decide(mut found: Vec<(Tier, String)>, name: &str) -> TierDecision {
    if found.is_empty() {
        return TierDecision {
            tier: Tier::T0,
            reasons: vec![format!("t0: {name} below every referral threshold")],
        };
    }
    // Highest tier first; stable within a tier (policy order).
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    TierDecision {
        tier: found[0].0,
        reasons: found.into_iter().map(|(_, r)| r).collect(),
    }
}

/// Whether a condition holds; `Some(detail)` says with which values.
fn matches(c: &Condition, r: &ScreeningResult) -> Option<String> {
    let mut detail = Vec::new();
    if let Some(at) = c.total_at_least {
        let total = band_total(r)?;
        if total < at {
            return None;
        }
        detail.push(format!("total {total} ≥ {at}"));
    }
    if let Some(want) = c.positive {
        if r.positive != want {
            return None;
        }
        if want {
            detail.push(format!(
                "{} cutoffs: {}",
                r.cutoff_set,
                r.positive_reasons.join("; ")
            ));
        }
    }
    if let Some(level) = &c.risk {
        if r.risk.as_ref() != Some(level) {
            return None;
        }
        detail.push(format!("risk {level}"));
    }
    if let Some(flag) = &c.flag {
        if !r.flags.contains(flag) {
            return None;
        }
        detail.push(format!("flag {flag}"));
    }
    Some(detail.join("; "))
}

/// The total in the convention bands and thresholds are stated in (K10:
/// 1-5). The result records the convention it was given in.
fn band_total(r: &ScreeningResult) -> Option<i64> {
    let score = r.score?;
    let Ok(library) = super::Library::builtin() else {
        return Some(score);
    };
    let Ok(inst) = library.get(&r.instrument) else {
        return Some(score);
    };
    let given = inst
        .convention_offset(r.convention.as_deref())
        .map(|(_, o)| o)
        .unwrap_or(0);
    let items = inst.items.iter().filter(|i| i.scored).count() as i64;
    Some(score + (inst.bands_offset() - given) as i64 * items)
}
