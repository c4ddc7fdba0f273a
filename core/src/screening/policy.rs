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
    /// The total (in the convention bands are stated in) is at most this:
    /// a trigger whose reason names a band ("PHQ-9 mild (5-9)") fires only
    /// inside that band.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_at_most: Option<i64>,
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
    /// Re-screen after this many days when the trigger fires (EPDS 10-12:
    /// "if in doubt, repeat after 2 weeks"), sooner than the tier's own
    /// interval would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescreen_days: Option<u32>,
}

/// A t2 case that does not improve is escalated (NICE: "if there is no
/// improvement at 4-6 weeks, change treatment"; screening-reference §2, T3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoImprovement {
    /// The tier watched (t2).
    pub tier: Tier,
    /// A re-screen at least this many days after the first sitting at that
    /// tier, still at that tier or above, makes an `escalate` item due.
    pub after_days: u32,
    /// Where the rule comes from.
    #[serde(default)]
    pub source: String,
}

fn default_cutoff_set() -> String {
    "zh-CN".to_string()
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
    /// The cutoff set the deployment's forms use unless a sitting names
    /// another (`zh-CN` for Chinese stations, `international`).
    #[serde(default = "default_cutoff_set")]
    pub cutoff_set: String,
    /// The scoring convention the deployment's paper forms use, per
    /// instrument that has several (K10/K6: `0-4` or `1-5`). An instrument
    /// not named here uses its first convention.
    #[serde(default)]
    pub conventions: BTreeMap<String, String>,
    /// Why the defaults above are what they are, in words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub defaults_note: String,
    /// The no-improvement rule (none: never escalated by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_improvement: Option<NoImprovement>,
}

/// A tier with the reasons for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierDecision {
    /// The tier.
    pub tier: Tier,
    /// Why, highest tier first; never empty. English, for logs and people
    /// who read English; `why` holds the same reasons as codes and values.
    pub reasons: Vec<String>,
    /// The same reasons, one for one, as codes with their values (for an
    /// app to word in its user's language with the labels).
    pub why: Vec<TierReason>,
}

/// What kind of reason gave a tier (vocabulary `tier_reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TierReasonKind {
    /// A rule of the policy matched the result (total, band, risk level or flag).
    Rule,
    /// A red flag no risk assessment in the sitting graded: the crisis path.
    RedFlagUnassessed,
    /// A red flag a risk assessment in the same sitting graded.
    RedFlagAssessed,
    /// The result is below every referral threshold.
    BelowThresholds,
    /// The sitting had no results.
    NoResults,
}

impl TierReasonKind {
    /// Every kind (the labels cover each code).
    pub const ALL: &'static [TierReasonKind] = &[
        TierReasonKind::Rule,
        TierReasonKind::RedFlagUnassessed,
        TierReasonKind::RedFlagAssessed,
        TierReasonKind::BelowThresholds,
        TierReasonKind::NoResults,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            TierReasonKind::Rule => "rule",
            TierReasonKind::RedFlagUnassessed => "red_flag_unassessed",
            TierReasonKind::RedFlagAssessed => "red_flag_assessed",
            TierReasonKind::BelowThresholds => "below_thresholds",
            TierReasonKind::NoResults => "no_results",
        }
    }
}

/// One reason for a tier, as codes and values: which instrument, what
/// kind of reason, and the values the rule looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TierReason {
    /// The tier this reason gives.
    pub tier: Tier,
    /// The instrument (empty for `NoResults`).
    pub instrument: String,
    /// What kind of reason.
    pub kind: TierReasonKind,
    /// The total, in the convention the sitting was scored in.
    pub total: Option<i64>,
    /// The rule's lower bound on the total, in the same convention.
    pub total_at_least: Option<i64>,
    /// The rule's upper bound on the total, in the same convention.
    pub total_at_most: Option<i64>,
    /// The scoring convention (K10/K6), if the instrument has several.
    pub convention: Option<String>,
    /// The cutoff set, when the rule asked for a positive screen.
    pub positive_by: Option<String>,
    /// The risk level (C-SSRS), when the rule looked at it.
    pub risk: Option<String>,
    /// The flag, when the rule or a red flag named one.
    pub flag: Option<String>,
}

impl TierReason {
    /// A reason with no values yet.
    pub fn new(tier: Tier, instrument: &str, kind: TierReasonKind) -> Self {
        TierReason {
            tier,
            instrument: instrument.to_string(),
            kind,
            total: None,
            total_at_least: None,
            total_at_most: None,
            convention: None,
            positive_by: None,
            risk: None,
            flag: None,
        }
    }
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
        if let Ok(library) = Library::builtin() {
            for inst in library.all() {
                if !inst.cutoffs.contains_key(&policy.cutoff_set) {
                    return Err(bad(format!(
                        "cutoff set `{}` is not defined for {}",
                        policy.cutoff_set.chars().take(20).collect::<String>(),
                        inst.id
                    )));
                }
            }
            for (instrument, convention) in &policy.conventions {
                let inst = library.get(instrument).map_err(|_| {
                    bad(format!(
                        "conventions: unknown instrument `{}`",
                        instrument.chars().take(20).collect::<String>()
                    ))
                })?;
                if !inst.conventions.iter().any(|c| &c.id == convention) {
                    return Err(bad(format!(
                        "conventions: {} has no convention `{}`",
                        inst.id,
                        convention.chars().take(10).collect::<String>()
                    )));
                }
            }
        }
        if let Some(rule) = &policy.no_improvement {
            if rule.after_days == 0 {
                return Err(bad("no_improvement.after_days must be positive".into()));
            }
        }
        for t in &policy.triggers {
            if let (Some(lo), Some(hi)) = (t.when.total_at_least, t.when.total_at_most) {
                if lo > hi {
                    return Err(bad(format!(
                        "a trigger of {} can never fire ({lo} > {hi})",
                        t.instrument
                    )));
                }
            }
            if t.rescreen_days == Some(0) {
                return Err(bad(format!(
                    "a trigger of {} re-screens after 0 days",
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

    /// The cutoff set a sitting uses: the one asked for, else the policy's.
    pub fn cutoffs_or_default<'a>(&'a self, asked: Option<&'a str>) -> &'a str {
        asked.unwrap_or(&self.cutoff_set)
    }

    /// The scoring convention a sitting of `instrument` uses: the one asked
    /// for, else the deployment's (`conventions`), else none (the
    /// instrument's first).
    pub fn convention_or_default(&self, instrument: &str, asked: Option<&str>) -> Option<String> {
        asked
            .map(str::to_string)
            .or_else(|| self.conventions.get(instrument).cloned())
    }

    /// Days until the next screening after a sitting graded `tier` with
    /// `results`: the tier's interval, or sooner where a trigger that fired
    /// asks for it (EPDS 10-12).
    pub fn rescreen_days(&self, tier: Tier, results: &[ScreeningResult]) -> u32 {
        let mut days = self.rule(tier).rescreen_days;
        for r in results {
            for t in self
                .triggers
                .iter()
                .filter(|t| t.instrument == r.instrument)
            {
                let Some(d) = t.rescreen_days else { continue };
                let mut why = TierReason::new(t.tier, &t.instrument, TierReasonKind::Rule);
                if matches(&t.when, r, &mut why).is_some() {
                    days = days.min(d);
                }
            }
        }
        days
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
        let mut found: Vec<(Tier, String, TierReason)> = Vec::new();
        let name = r.instrument.as_str();
        for t in self.triggers.iter().filter(|t| t.instrument == name) {
            let mut why = TierReason::new(t.tier, name, TierReasonKind::Rule);
            if let Some(detail) = matches(&t.when, r, &mut why) {
                found.push((
                    t.tier,
                    format!("{}: {} ({detail})", t.tier.as_str(), t.reason),
                    why,
                ));
            }
        }
        let is_assessment = self.red_flags.assessments.iter().any(|a| a == name);
        if !is_assessment {
            for flag in &r.red_flags {
                let (tier, how, kind) = if assessed {
                    (
                        self.red_flags.assessed_floor,
                        "graded by a risk assessment",
                        TierReasonKind::RedFlagAssessed,
                    )
                } else {
                    (
                        self.red_flags.unassessed,
                        "not yet graded by a risk assessment: open the crisis path",
                        TierReasonKind::RedFlagUnassessed,
                    )
                };
                found.push((
                    tier,
                    format!("{}: red flag {flag} on {name}, {how}", tier.as_str()),
                    TierReason {
                        flag: Some(flag.clone()),
                        ..TierReason::new(tier, name, kind)
                    },
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
            for (reason, why) in d.reasons.into_iter().zip(d.why) {
                found.push((d.tier, format!("{}: {reason}", r.instrument), why));
            }
        }
        if found.is_empty() {
            return TierDecision {
                tier: Tier::T0,
                reasons: vec!["t0: no screening results".into()],
                why: vec![TierReason::new(Tier::T0, "", TierReasonKind::NoResults)],
            };
        }
        let tier = found.iter().map(|(t, _, _)| *t).max().unwrap_or(Tier::T0);
        let (reasons, why) = found.into_iter().map(|(_, r, w)| (r, w)).unzip();
        TierDecision { tier, reasons, why }
    }
}

fn decide(mut found: Vec<(Tier, String, TierReason)>, name: &str) -> TierDecision {
    if found.is_empty() {
        return TierDecision {
            tier: Tier::T0,
            reasons: vec![format!("t0: {name} below every referral threshold")],
            why: vec![TierReason::new(
                Tier::T0,
                name,
                TierReasonKind::BelowThresholds,
            )],
        };
    }
    // Highest tier first; stable within a tier (policy order).
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    let tier = found[0].0;
    let (reasons, why) = found.into_iter().map(|(_, r, w)| (r, w)).unzip();
    TierDecision { tier, reasons, why }
}

/// Whether a condition holds; `Some(detail)` says with which values, in
/// words, and `why` receives them as values.
fn matches(c: &Condition, r: &ScreeningResult, why: &mut TierReason) -> Option<String> {
    let mut detail = Vec::new();
    // The total, whatever the rule asks, in the convention it was scored in.
    if let Some((total, shift)) = band_total(r) {
        why.total = Some(total - shift);
        why.convention = r.convention.clone();
    }
    if c.total_at_least.is_some() || c.total_at_most.is_some() {
        let (total, shift) = band_total(r)?;
        if c.total_at_least.is_some_and(|at| total < at)
            || c.total_at_most.is_some_and(|at| total > at)
        {
            return None;
        }
        // Shown in the convention the sitting was scored in, so the printed
        // total and the reason agree.
        let shown = |v: i64| v - shift;
        why.total = Some(shown(total));
        why.total_at_least = c.total_at_least.map(shown);
        why.total_at_most = c.total_at_most.map(shown);
        why.convention = r.convention.clone();
        let scoring = r
            .convention
            .as_ref()
            .map(|c| format!(", {c} scoring"))
            .unwrap_or_default();
        detail.push(match (c.total_at_least, c.total_at_most) {
            (Some(lo), Some(hi)) => format!(
                "total {} in {}-{}{scoring}",
                shown(total),
                shown(lo),
                shown(hi)
            ),
            (Some(lo), None) => format!("total {} ≥ {}{scoring}", shown(total), shown(lo)),
            (None, Some(hi)) => format!("total {} ≤ {}{scoring}", shown(total), shown(hi)),
            (None, None) => format!("total {}{scoring}", shown(total)),
        });
    }
    if let Some(want) = c.positive {
        if r.positive != want {
            return None;
        }
        if want {
            why.positive_by = Some(r.cutoff_set.clone());
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
        why.risk = Some(level.clone());
        detail.push(format!("risk {level}"));
    }
    if let Some(flag) = &c.flag {
        if !r.flags.contains(flag) {
            return None;
        }
        why.flag = Some(flag.clone());
        detail.push(format!("flag {flag}"));
    }
    Some(detail.join("; "))
}

/// The total in the convention bands and thresholds are stated in (K10:
/// 1-5), and the shift from the convention the result was given in
/// (band total - given total). The result records its convention.
fn band_total(r: &ScreeningResult) -> Option<(i64, i64)> {
    let score = r.score?;
    let Ok(library) = super::Library::builtin() else {
        return Some((score, 0));
    };
    let Ok(inst) = library.get(&r.instrument) else {
        return Some((score, 0));
    };
    let given = inst
        .convention_offset(r.convention.as_deref())
        .map(|(_, o)| o)
        .unwrap_or(0);
    let items = inst.items.iter().filter(|i| i.scored).count() as i64;
    let shift = (inst.bands_offset() - given) as i64 * items;
    Some((score + shift, shift))
}
