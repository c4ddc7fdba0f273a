//! Scoring one completed questionnaire: checks every answer, applies skip
//! logic and the instrument's missing-data rule, reverse keying, non-linear
//! values, subscales, criteria, risk classification, bands and the chosen
//! cutoff set, then asks the policy for the tier and its reasons.

use std::collections::BTreeMap;

use super::instrument::{Instrument, Language};
use super::policy::Policy;
use super::ScreeningError;
use crate::model::{ScreeningResult, Tier};

/// How to score.
#[derive(Debug, Clone)]
pub struct ScoreOptions<'p> {
    /// The cutoff set (`international` or `zh-CN`), chosen per deployment.
    pub cutoffs: String,
    /// The scoring convention (K6/K10: `0-4` or `1-5`); `None` = default.
    pub convention: Option<String>,
    /// The language the questionnaire was administered in.
    pub language: Language,
    /// The referral policy.
    pub policy: &'p Policy,
}

/// Turns answers given in form order (`None` = left blank) into answers by
/// item id, walking the items the skip logic shows: the PC-PTSD-5 with the
/// gate answered No takes one answer. An optional trailing item (PHQ-9
/// item 10) may be left out.
pub fn answers_from_list(
    inst: &Instrument,
    list: &[Option<i32>],
) -> Result<BTreeMap<String, i32>, ScreeningError> {
    let mut answers = BTreeMap::new();
    let mut next = list.iter();
    let mut shown = 0usize;
    let mut required = 0usize;
    for item in &inst.items {
        if !inst.is_shown(item, &answers) {
            continue;
        }
        shown += 1;
        if !item.optional {
            required = shown;
        }
        match next.next() {
            Some(Some(v)) => {
                answers.insert(item.id.clone(), *v);
            }
            Some(None) => {}
            None if item.optional => {}
            None => {
                return Err(ScreeningError::WrongCount {
                    instrument: inst.id.clone(),
                    given: list.len(),
                    expected: expected_count(inst, &answers),
                })
            }
        }
    }
    if next.next().is_some() {
        return Err(ScreeningError::WrongCount {
            instrument: inst.id.clone(),
            given: list.len(),
            expected: expected_count(inst, &answers),
        });
    }
    let _ = required;
    Ok(answers)
}

fn expected_count(inst: &Instrument, answers: &BTreeMap<String, i32>) -> String {
    let shown: Vec<_> = inst
        .items
        .iter()
        .filter(|i| inst.is_shown(i, answers))
        .collect();
    let required = shown.iter().filter(|i| !i.optional).count();
    if required == shown.len() {
        required.to_string()
    } else {
        format!("{required} to {}", shown.len())
    }
}

/// Scores answers (by item id, in the chosen convention) and grades them.
pub fn score(
    inst: &Instrument,
    answers: &BTreeMap<String, i32>,
    opts: &ScoreOptions<'_>,
) -> Result<ScreeningResult, ScreeningError> {
    let cutoffs = inst
        .cutoffs
        .get(&opts.cutoffs)
        .ok_or_else(|| ScreeningError::UnknownOption {
            what: "cutoff set",
            value: opts.cutoffs.chars().take(20).collect(),
            known: inst.cutoffs.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
    let (convention, offset) = inst.convention_offset(opts.convention.as_deref())?;

    // Every answer names a known item, is asked, and is an allowed value.
    let mut base: BTreeMap<String, i32> = BTreeMap::new();
    for (id, value) in answers {
        let item = inst.item(id).ok_or_else(|| ScreeningError::UnknownItem {
            instrument: inst.id.clone(),
            item: id.chars().take(10).collect(),
        })?;
        if !item.choices.iter().any(|o| o.value + offset == *value) {
            return Err(ScreeningError::OutOfRange {
                instrument: inst.id.clone(),
                item: id.clone(),
                allowed: item.allowed_text(offset),
            });
        }
        base.insert(id.clone(), value - offset);
    }
    for item in &inst.items {
        if base.contains_key(&item.id) && !inst.is_shown(item, &base) {
            return Err(ScreeningError::NotAsked {
                instrument: inst.id.clone(),
                item: item.id.clone(),
            });
        }
    }

    // Missing data.
    let missing: Vec<String> = inst
        .items
        .iter()
        .filter(|i| !i.optional && inst.is_shown(i, &base) && !base.contains_key(&i.id))
        .map(|i| i.id.clone())
        .collect();
    let rule = &inst.missing;
    if !missing.is_empty() {
        if let Some(limit) = rule.invalid_at {
            if missing.len() >= limit {
                return Err(ScreeningError::TooManyMissing {
                    instrument: inst.id.clone(),
                    missing: missing.len(),
                    allowed: limit - 1,
                });
            }
        } else if rule.prorate_subscales_min_answered.is_none() {
            return Err(ScreeningError::MissingAnswer {
                instrument: inst.id.clone(),
                item: missing[0].clone(),
            });
        }
    }

    // Item scores (base convention, reverse keying applied).
    let item_score: BTreeMap<&str, i32> = inst
        .items
        .iter()
        .filter_map(|i| base.get(&i.id).map(|v| (i.id.as_str(), i.score_of(*v))))
        .collect();

    // Subscales, prorated where the rule allows.
    let mut subscales = BTreeMap::new();
    for s in &inst.subscales {
        let answered: Vec<i32> = s
            .items
            .iter()
            .filter_map(|i| item_score.get(i.as_str()).copied())
            .collect();
        let sum: i32 = answered.iter().sum();
        let value = match rule.prorate_subscales_min_answered {
            Some(min) if answered.len() < s.items.len() => {
                if answered.len() < min {
                    return Err(ScreeningError::TooManyMissing {
                        instrument: inst.id.clone(),
                        missing: s.items.len() - answered.len(),
                        allowed: s.items.len() - min,
                    });
                }
                // Round half up: mean × items.
                ((sum as f64) * (s.items.len() as f64) / (answered.len() as f64) + 0.5).floor()
                    as i32
            }
            _ => sum,
        };
        subscales.insert(s.id.clone(), value as i64);
    }

    // Total, in the base convention.
    let scored_items = inst.items.iter().filter(|i| i.scored).count() as i32;
    let base_total: Option<i32> = if inst.no_total {
        None
    } else if let Some(parts) = &inst.total_from_subscales {
        Some(
            parts
                .iter()
                .map(|p| subscales.get(p).copied().unwrap_or(0) as i32)
                .sum(),
        )
    } else {
        Some(
            inst.items
                .iter()
                .filter(|i| i.scored)
                .filter_map(|i| item_score.get(i.id.as_str()))
                .sum(),
        )
    };
    let total = base_total.map(|t| t + offset * scored_items);
    let band_total = base_total.map(|t| t + inst.bands_offset() * scored_items);

    let bands = inst
        .bands_by_cutoffs
        .get(&opts.cutoffs)
        .unwrap_or(&inst.bands);
    let band = band_total.and_then(|t| {
        bands
            .iter()
            .find(|b| b.min <= t && t <= b.max)
            .map(|b| b.name.clone())
    });

    // Positive by the cutoff set. Thresholds are stated in the bands'
    // convention; the reasons show them in the sitting's, beside its total.
    let mut positive_reasons = Vec::new();
    let shift = (inst.bands_offset() - offset) * scored_items;
    let scoring = if convention.is_empty() {
        String::new()
    } else {
        format!(", {convention} scoring")
    };
    if let (Some(t), Some(at)) = (band_total, cutoffs.positive_at) {
        if t >= at {
            positive_reasons.push(format!("total {} ≥ {}{scoring}", t - shift, at - shift));
        }
    }
    if let (Some(t), Some(below)) = (band_total, cutoffs.positive_below) {
        if t < below {
            positive_reasons.push(format!("total {} < {}{scoring}", t - shift, below - shift));
        }
    }
    if let Some(at_most) = cutoffs.item_at_most {
        let low: Vec<&str> = inst
            .items
            .iter()
            .filter(|i| i.scored && item_score.get(i.id.as_str()).is_some_and(|s| *s <= at_most))
            .map(|i| i.id.as_str())
            .collect();
        if !low.is_empty() {
            positive_reasons.push(format!("item {} at {at_most} or less", low.join(", ")));
        }
    }
    for (sub, at) in &cutoffs.subscales {
        if let Some(v) = subscales.get(sub) {
            if *v >= *at as i64 {
                positive_reasons.push(format!("{sub} {v} ≥ {at}"));
            }
        }
    }

    // Red flags, criteria, risk.
    let mut red_flags = Vec::new();
    for item in &inst.items {
        if let (Some(flag), Some(s)) = (&item.red_flag, item_score.get(item.id.as_str())) {
            if *s >= flag.score_at_least && !red_flags.contains(&flag.flag) {
                red_flags.push(flag.flag.clone());
            }
        }
    }
    let mut flags = red_flags.clone();
    for item in &inst.items {
        if let (Some(flag), Some(s)) = (&item.flag, item_score.get(item.id.as_str())) {
            if *s >= flag.score_at_least && !flags.contains(&flag.flag) {
                flags.push(flag.flag.clone());
            }
        }
    }
    for c in &inst.criteria {
        let met = c.need.iter().all(|(sub, need)| {
            let endorsed = inst
                .subscales
                .iter()
                .find(|s| &s.id == sub)
                .map(|s| {
                    s.items
                        .iter()
                        .filter(|i| {
                            item_score
                                .get(i.as_str())
                                .is_some_and(|v| *v >= c.endorse_at)
                        })
                        .count()
                })
                .unwrap_or(0);
            endorsed as u32 >= *need
        });
        if met {
            flags.push(c.flag.clone());
        }
    }
    let risk = if inst.risk.is_empty() {
        None
    } else {
        Some(
            inst.risk
                .iter()
                .find(|r| {
                    r.any_of
                        .iter()
                        .any(|i| item_score.get(i.as_str()).is_some_and(|v| *v >= 1))
                })
                .map(|r| r.level.clone())
                .unwrap_or_else(|| "none".to_string()),
        )
    };

    let mut loinc = BTreeMap::new();
    if let Some(p) = &inst.loinc.panel {
        loinc.insert("panel".to_string(), p.clone());
    }
    if let Some(t) = &inst.loinc.total {
        loinc.insert("total".to_string(), t.clone());
    }
    for item in &inst.items {
        if let (Some(code), true) = (&item.loinc, base.contains_key(&item.id)) {
            loinc.insert(format!("item:{}", item.id), code.clone());
        }
    }

    let mut result = ScreeningResult {
        instrument: inst.id.clone(),
        version: inst.version.clone(),
        language: opts.language.tag().to_string(),
        convention: if convention.is_empty() {
            None
        } else {
            Some(convention)
        },
        cutoff_set: opts.cutoffs.clone(),
        answers: answers
            .iter()
            .map(|(k, v)| (k.clone(), *v as i64))
            .collect(),
        missing,
        score: total.map(i64::from),
        percent: match (total, inst.percent_factor) {
            (Some(t), Some(f)) => Some((t * f) as i64),
            _ => None,
        },
        subscales,
        band,
        positive: !positive_reasons.is_empty(),
        positive_reasons,
        flags,
        red_flags,
        risk,
        tier: Tier::T0,
        reasons: Vec::new(),
        loinc,
        policy_version: opts.policy.version.clone(),
    };
    let decision = opts.policy.assess(&result, false);
    result.tier = decision.tier;
    result.reasons = decision.reasons;
    Ok(result)
}
