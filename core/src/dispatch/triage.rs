//! Household triage P1–P4: life first, the most vulnerable first, the most
//! urgent first (生命优先、弱势优先、紧迫优先). The key is the proposal of
//! screening-reference §4; every priority comes with its reasons.
//!
//! - **P1** life-threatening: a critical need at the latest visit not yet
//!   met (medicine with ≤ 3 days left, no water, no food, or any need
//!   recorded as an emergency — `medical_emergency` for medical care),
//!   children with no adult in the household, or any member at risk tier
//!   `crisis` or `t3`.
//! - **P2** high vulnerability without support: an older person living
//!   alone, a disabled person, a pregnant or postpartum woman, a bereaved
//!   family, a recovered patient, or a chronic illness with a current
//!   medicine or medical-care need.
//! - **P3** vulnerable with support: any other tag, a psychological support
//!   need, or a member at tier `t2` or `t1`.
//! - **P4** routine.
//!
//! Within a priority: more vulnerability flags first, then the longest since
//! the last contact (never contacted first).

use serde::Serialize;

use crate::model::*;

/// A household's priority and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Triage {
    /// P1 to P4.
    pub priority: Priority,
    /// Reason codes, most serious first (e.g. `critical_medicine`,
    /// `elderly_alone`). Codes, not names: they go into queues and reports.
    pub reasons: Vec<String>,
    /// How many vulnerability flags the household has (tags plus critical
    /// needs): the second sort key.
    pub flags: u32,
}

/// Every reason code triage gives besides a vulnerability tag's own code
/// (a tag that lifts a priority is its own reason).
pub const REASONS: &[&str] = &[
    "critical_medicine",
    "no_water",
    "no_food",
    "medical_emergency",
    "psychological_emergency",
    "emergency_need",
    "child_without_caregiver",
    "mental_health_crisis_or_t3",
    "chronic_illness_with_medical_need",
    "psychological_support_need",
    "mental_health_t1_t2",
];

/// Triage of a household at `now`, given the risk tiers of its members
/// (empty until they are screened).
pub fn triage(household: &Household, now: Millis, tiers: &[Tier]) -> Triage {
    let mut p1 = Vec::new();
    let mut p2 = Vec::new();
    let mut p3 = Vec::new();
    // Needs still open: a need met by a completed order no longer lifts.
    let needs: Vec<&Need> = household.current_needs();
    for need in &needs {
        if need.is_critical() {
            p1.push(need.critical_reason());
        }
    }
    let members: Vec<&Resident> = household.members.values().collect();
    if !members.is_empty() && members.iter().all(|m| m.age(now) < 18) {
        p1.push("child_without_caregiver");
    }
    if tiers.iter().any(|t| matches!(t, Tier::Crisis | Tier::T3)) {
        p1.push("mental_health_crisis_or_t3");
    }
    let medical_need = needs
        .iter()
        .any(|n| matches!(n.kind, NeedKind::Medicine | NeedKind::MedicalCare));
    let mut flags = needs.iter().filter(|n| n.is_critical()).count() as u32;
    for m in &members {
        for tag in m.tags.iter() {
            flags += 1;
            let code = tag.as_str();
            match tag {
                VulnerabilityTag::ElderlyAlone
                | VulnerabilityTag::Disabled
                | VulnerabilityTag::PregnantPostpartum
                | VulnerabilityTag::Bereaved
                | VulnerabilityTag::Recovered => p2.push(code.to_string()),
                VulnerabilityTag::ChronicIllness if medical_need => {
                    p2.push("chronic_illness_with_medical_need".to_string())
                }
                _ => p3.push(code.to_string()),
            }
        }
    }
    if needs
        .iter()
        .any(|n| n.kind == NeedKind::PsychologicalSupport)
    {
        p3.push("psychological_support_need".into());
    }
    if tiers.iter().any(|t| matches!(t, Tier::T2 | Tier::T1)) {
        p3.push("mental_health_t1_t2".into());
    }
    let dedup = |v: &mut Vec<String>| {
        let mut seen = std::collections::BTreeSet::new();
        v.retain(|x| seen.insert(x.clone()));
    };
    let mut reasons: Vec<String> = p1.iter().map(|s| s.to_string()).collect();
    dedup(&mut p2);
    dedup(&mut p3);
    reasons.extend(p2.iter().cloned());
    reasons.extend(p3.iter().cloned());
    dedup(&mut reasons);
    let priority = if !p1.is_empty() {
        Priority::P1
    } else if !p2.is_empty() {
        Priority::P2
    } else if !p3.is_empty() {
        Priority::P3
    } else {
        Priority::P4
    };
    Triage {
        priority,
        reasons,
        flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const NOW: Millis = 1_795_000_000_000; // 2026-11

    fn resident(birth_year: u32, tags: &[VulnerabilityTag]) -> Resident {
        Resident {
            id: ResidentId::random(),
            name: "x".into(),
            sex: Sex::Unknown,
            birth_year,
            phone: String::new(),
            tags: tags.iter().cloned().collect(),
        }
    }

    fn household(members: Vec<Resident>, needs: Vec<Need>) -> Household {
        let mut visits = BTreeMap::new();
        if !needs.is_empty() {
            visits.insert(
                "v".into(),
                CanvassVisit {
                    id: VisitId::random(),
                    worker_id: WorkerId::random(),
                    at: NOW - 1000,
                    needs,
                    notes: String::new(),
                },
            );
        }
        Household {
            id: HouseholdId::random(),
            grid_id: GridId::random(),
            address: Address {
                compound: "c".into(),
                building: "b".into(),
                unit: String::new(),
                room: "1".into(),
            },
            members: members.into_iter().map(|m| (m.id.to_string(), m)).collect(),
            visits,
            created_at: NOW - 10_000,
        }
    }

    fn need(kind: NeedKind, days: Option<u32>) -> Need {
        Need {
            kind,
            item: if kind == NeedKind::Medicine {
                "insulin".into()
            } else {
                String::new()
            },
            days_left: days,
            detail: String::new(),
            severity: Urgency::Routine,
            met: None,
        }
    }

    #[test]
    fn every_reason_is_a_listed_code_or_a_tag() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in NeedKind::ALL {
            for tags in [&[][..], VulnerabilityTag::KNOWN] {
                let tags: Vec<VulnerabilityTag> = tags
                    .iter()
                    .map(|t| VulnerabilityTag::parse(t, "tag").unwrap())
                    .collect();
                let mut n = need(*kind, Some(1));
                n.severity = Urgency::Critical;
                for (born, tiers) in [(2015, &[Tier::Crisis][..]), (1950, &[Tier::T2][..])] {
                    let r = resident(born, &tags);
                    let h = household(vec![r], vec![n.clone(), need(NeedKind::Medicine, None)]);
                    seen.extend(triage(&h, NOW, tiers).reasons);
                }
            }
        }
        for reason in &seen {
            assert!(
                REASONS.contains(&reason.as_str())
                    || VulnerabilityTag::KNOWN.contains(&reason.as_str()),
                "{reason}"
            );
        }
        for code in REASONS {
            assert!(seen.contains(*code), "{code} is never given");
        }
    }

    #[test]
    fn each_priority_with_its_reasons() {
        let insulin = household(
            vec![resident(1960, &[])],
            vec![need(NeedKind::Medicine, Some(3))],
        );
        let t = triage(&insulin, NOW, &[]);
        assert_eq!(t.priority, Priority::P1);
        assert_eq!(t.reasons, vec!["critical_medicine"]);

        let water = household(vec![resident(1990, &[])], vec![need(NeedKind::Water, None)]);
        assert_eq!(triage(&water, NOW, &[]).reasons, vec!["no_water"]);

        let children = household(vec![resident(2015, &[VulnerabilityTag::Child])], vec![]);
        let t = triage(&children, NOW, &[]);
        assert_eq!(t.priority, Priority::P1);
        assert_eq!(t.reasons[0], "child_without_caregiver");

        let plain = household(vec![resident(1990, &[])], vec![]);
        assert_eq!(triage(&plain, NOW, &[Tier::Crisis]).priority, Priority::P1);
        assert_eq!(triage(&plain, NOW, &[Tier::T3]).priority, Priority::P1);
        assert_eq!(triage(&plain, NOW, &[Tier::T2]).priority, Priority::P3);
        assert_eq!(triage(&plain, NOW, &[Tier::T0]).priority, Priority::P4);

        let alone = household(
            vec![resident(1940, &[VulnerabilityTag::ElderlyAlone])],
            vec![],
        );
        let t = triage(&alone, NOW, &[]);
        assert_eq!(
            (t.priority, t.reasons.clone()),
            (Priority::P2, vec!["elderly_alone".to_string()])
        );

        let chronic = household(
            vec![resident(1960, &[VulnerabilityTag::ChronicIllness])],
            vec![],
        );
        assert_eq!(triage(&chronic, NOW, &[]).priority, Priority::P3);
        let chronic_need = household(
            vec![resident(1960, &[VulnerabilityTag::ChronicIllness])],
            vec![need(NeedKind::Medicine, Some(12))],
        );
        let t = triage(&chronic_need, NOW, &[]);
        assert_eq!(t.priority, Priority::P2);
        assert_eq!(t.reasons, vec!["chronic_illness_with_medical_need"]);

        let family = household(
            vec![
                resident(1985, &[]),
                resident(2016, &[VulnerabilityTag::Child]),
            ],
            vec![],
        );
        assert_eq!(triage(&family, NOW, &[]).priority, Priority::P3);
        let support = household(
            vec![resident(1985, &[])],
            vec![need(NeedKind::PsychologicalSupport, None)],
        );
        assert_eq!(
            triage(&support, NOW, &[]).reasons,
            vec!["psychological_support_need"]
        );
        assert_eq!(triage(&plain, NOW, &[]).priority, Priority::P4);
        assert!(triage(&plain, NOW, &[]).reasons.is_empty());
    }

    #[test]
    fn an_emergency_need_lifts_and_a_met_need_does_not() {
        let mut emergency = need(NeedKind::MedicalCare, None);
        emergency.severity = Urgency::Critical;
        let h = household(vec![resident(1990, &[])], vec![emergency.clone()]);
        let t = triage(&h, NOW, &[]);
        assert_eq!(
            (t.priority, t.reasons.clone()),
            (Priority::P1, vec!["medical_emergency".to_string()])
        );
        // Routine medical care: not P1.
        let h = household(
            vec![resident(1990, &[])],
            vec![need(NeedKind::MedicalCare, None)],
        );
        assert_eq!(triage(&h, NOW, &[]).priority, Priority::P4);
        // Insulin delivered: the need is met and no longer lifts.
        let mut insulin = need(NeedKind::Medicine, Some(1));
        insulin.met = Some(NeedMet {
            at: NOW,
            by: WorkerId::random(),
            order: None,
        });
        let h = household(
            vec![resident(1940, &[VulnerabilityTag::ElderlyAlone])],
            vec![insulin],
        );
        let t = triage(&h, NOW, &[]);
        assert_eq!(
            (t.priority, t.reasons.clone()),
            (Priority::P2, vec!["elderly_alone".to_string()])
        );
        // It stays in the visit.
        assert_eq!(h.latest_visit().unwrap().needs.len(), 1);
    }

    #[test]
    fn reasons_are_most_serious_first_and_flags_count_tags() {
        let h = household(
            vec![
                resident(
                    1940,
                    &[VulnerabilityTag::ElderlyAlone, VulnerabilityTag::Disabled],
                ),
                resident(1990, &[VulnerabilityTag::FrontLineWorker]),
            ],
            vec![need(NeedKind::Food, None)],
        );
        let t = triage(&h, NOW, &[]);
        assert_eq!(t.priority, Priority::P1);
        assert_eq!(
            t.reasons,
            vec!["no_food", "elderly_alone", "disabled", "front_line_worker"]
        );
        assert_eq!(t.flags, 4);
    }
}
