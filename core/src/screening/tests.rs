//! Vectors at every band boundary of every instrument, red flags, reverse
//! and non-linear items, skip logic, missing data, bad input, licensed
//! texts, policy combination, and property tests.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn library() -> &'static Library {
    Library::builtin().expect("the shipped definitions parse")
}

fn policy() -> &'static Policy {
    Policy::builtin().expect("the shipped policy parses")
}

fn run_with(
    id: &str,
    list: &[i32],
    cutoffs: &str,
    convention: Option<&str>,
) -> Result<ScreeningResult, ScreeningError> {
    let inst = library().get(id)?;
    let answers = answers_from_list(inst, &list.iter().map(|v| Some(*v)).collect::<Vec<_>>())?;
    score(
        inst,
        &answers,
        &ScoreOptions {
            cutoffs: cutoffs.into(),
            convention: convention.map(String::from),
            language: Language::ZhHans,
            policy: policy(),
        },
    )
}

fn run(id: &str, list: &[i32]) -> ScreeningResult {
    run_with(id, list, "international", None).unwrap_or_else(|e| panic!("{id} {list:?}: {e}"))
}

/// Answers summing to `total` over `n` items of at most `max` each.
fn spread(total: i32, n: usize, max: i32) -> Vec<i32> {
    let mut left = total;
    (0..n)
        .map(|_| {
            let v = left.min(max);
            left -= v;
            v
        })
        .collect()
}

fn phq9(total: i32, item9: i32) -> Vec<i32> {
    let mut v = spread(total - item9, 8, 3);
    v.push(item9);
    v
}

#[track_caller]
fn expect(r: &ScreeningResult, score: Option<i64>, band: Option<&str>, tier: Tier) {
    assert_eq!(
        (r.score, r.band.as_deref(), r.tier),
        (score, band, tier),
        "{} {:?}: {:?}",
        r.instrument,
        r.answers,
        r.reasons
    );
    assert!(!r.reasons.is_empty());
}

#[test]
fn every_shipped_definition_and_the_policy_load() {
    let lib = library();
    let ids: Vec<&str> = lib.all().map(|i| i.id.as_str()).collect();
    for id in [
        "phq9", "phq2", "gad7", "gad2", "phq4", "pcl5", "pcptsd5", "k6", "k10", "who5", "gds15",
        "srq20", "psc17", "cries8", "isi", "cssrs", "epds", "sdq",
    ] {
        assert!(ids.contains(&id), "{id} missing");
    }
    // Free instruments ship texts in all three languages; licensed ones none.
    for inst in lib.all() {
        for lang in Language::ALL {
            assert_eq!(
                inst.has_texts(lang),
                inst.licence.texts_shipped,
                "{} {lang:?}",
                inst.id
            );
        }
    }
    for t in &policy().triggers {
        assert!(
            lib.get(&t.instrument).is_ok(),
            "policy names {}",
            t.instrument
        );
    }
    assert_eq!(
        lib.get("phq9").unwrap().item("9").unwrap().loinc.as_deref(),
        Some("44260-8")
    );
    assert_eq!(
        lib.get("phq9").unwrap().loinc.total.as_deref(),
        Some("44261-6")
    );
    assert_eq!(
        lib.get("gad7").unwrap().loinc.total.as_deref(),
        Some("70274-6")
    );
    // PHQ-2 items carry the PHQ-9 codes and texts they come from.
    assert_eq!(
        lib.get("phq2").unwrap().item("2").unwrap().loinc.as_deref(),
        Some("44255-8")
    );
}

#[test]
fn phq9_bands_and_tiers_at_every_boundary() {
    for (total, band, tier) in [
        (0, "minimal", Tier::T0),
        (4, "minimal", Tier::T0),
        (5, "mild", Tier::T1),
        (9, "mild", Tier::T1),
        (10, "moderate", Tier::T2),
        (14, "moderate", Tier::T2),
        (15, "moderately_severe", Tier::T2),
        (19, "moderately_severe", Tier::T2),
        (20, "severe", Tier::T3),
        (24, "severe", Tier::T3),
    ] {
        let r = run("phq9", &phq9(total, 0));
        expect(&r, Some(total as i64), Some(band), tier);
        assert_eq!(r.positive, total >= 10);
        assert!(r.flags.is_empty());
    }
    // Item 10 (difficulty) is optional and not in the total.
    let mut with_difficulty = phq9(12, 0);
    with_difficulty.push(3);
    assert_eq!(run("phq9", &with_difficulty).score, Some(12));
    assert_eq!(run("phq9", &with_difficulty).loinc["item:10"], "69722-7");
}

#[test]
fn phq9_item9_is_a_red_flag_whatever_the_total() {
    for item9 in 1..=3 {
        let r = run("phq9", &phq9(item9, item9));
        assert_eq!(r.red_flags, vec!["suicidal_ideation"]);
        assert_eq!(r.tier, Tier::Crisis, "{:?}", r.reasons);
        assert!(r.reasons[0].contains("red flag"));
    }
    let r = run("phq9", &phq9(27, 3));
    expect(&r, Some(27), Some("severe"), Tier::Crisis);
    // A risk assessment in the same sitting grades it: C-SSRS low keeps t2.
    let phq = run("phq9", &phq9(3, 1));
    let cssrs = run("cssrs", &[1, 0, 0]);
    let d = policy().combine(&[phq.clone(), cssrs]);
    assert_eq!(d.tier, Tier::T2, "{:?}", d.reasons);
    // ... high risk makes it a crisis.
    let d = policy().combine(&[phq, run("cssrs", &[1, 1, 0, 1, 0, 0])]);
    assert_eq!(d.tier, Tier::Crisis);
}

#[test]
fn gad7_phq2_gad2_phq4() {
    for (total, band, tier) in [
        (0, "minimal", Tier::T0),
        (4, "minimal", Tier::T0),
        (5, "mild", Tier::T1),
        (9, "mild", Tier::T1),
        (10, "moderate", Tier::T2),
        (14, "moderate", Tier::T2),
        (15, "severe", Tier::T2),
        (21, "severe", Tier::T2),
    ] {
        expect(
            &run("gad7", &spread(total, 7, 3)),
            Some(total as i64),
            Some(band),
            tier,
        );
    }
    for id in ["phq2", "gad2"] {
        expect(&run(id, &[1, 1]), Some(2), Some("negative"), Tier::T0);
        expect(&run(id, &[2, 1]), Some(3), Some("positive"), Tier::T1);
        expect(&run(id, &[3, 3]), Some(6), Some("positive"), Tier::T1);
    }
    let r = run("phq4", &[1, 1, 0, 0]);
    expect(&r, Some(2), Some("normal"), Tier::T0);
    let r = run("phq4", &[2, 1, 0, 0]);
    expect(&r, Some(3), Some("mild"), Tier::T1);
    assert_eq!((r.subscales["anxiety"], r.subscales["depression"]), (3, 0));
    assert!(r.positive && r.positive_reasons[0].contains("anxiety"));
    let r = run("phq4", &[0, 0, 1, 1]);
    assert!(!r.positive);
    expect(&run("phq4", &[1, 1, 2, 1]), Some(5), Some("mild"), Tier::T1);
    expect(
        &run("phq4", &[2, 1, 2, 1]),
        Some(6),
        Some("moderate"),
        Tier::T2,
    );
    expect(
        &run("phq4", &[3, 2, 2, 1]),
        Some(8),
        Some("moderate"),
        Tier::T2,
    );
    expect(
        &run("phq4", &[3, 3, 2, 1]),
        Some(9),
        Some("severe"),
        Tier::T2,
    );
}

#[test]
fn pcl5_clusters_cutoff_and_provisional_diagnosis() {
    let r = run("pcl5", &spread(32, 20, 4));
    assert_eq!(r.band.as_deref(), Some("below_threshold"));
    let r = run("pcl5", &spread(33, 20, 4));
    expect(&r, Some(33), Some("probable_ptsd"), Tier::T2);
    expect(
        &run("pcl5", &[4; 20]),
        Some(80),
        Some("probable_ptsd"),
        Tier::T2,
    );
    // The DSM-5 rule: items at 2 or more; 1 B, 1 C, 2 D, 2 E.
    let mut a = vec![0; 20];
    for i in [1, 6, 8, 9, 15, 16] {
        a[i - 1] = 2;
    }
    let r = run("pcl5", &a);
    assert_eq!(r.score, Some(12));
    assert_eq!(r.flags, vec!["provisional_ptsd"]);
    assert_eq!(r.tier, Tier::T2);
    assert_eq!(
        (
            r.subscales["b_intrusion"],
            r.subscales["c_avoidance"],
            r.subscales["d_cognition_mood"],
            r.subscales["e_arousal"]
        ),
        (2, 2, 4, 4)
    );
    a[8] = 1; // only one D item endorsed now
    let r = run("pcl5", &a);
    assert!(r.flags.is_empty());
    assert_eq!(r.tier, Tier::T0);
}

#[test]
fn pcptsd5_gate_skips_the_items() {
    let r = run("pcptsd5", &[0]);
    expect(&r, Some(0), Some("negative"), Tier::T0);
    assert_eq!(r.answers.len(), 1);
    expect(
        &run("pcptsd5", &[1, 1, 1, 0, 0, 0]),
        Some(2),
        Some("negative"),
        Tier::T0,
    );
    expect(
        &run("pcptsd5", &[1, 1, 1, 1, 0, 0]),
        Some(3),
        Some("positive"),
        Tier::T2,
    );
    expect(
        &run("pcptsd5", &[1, 1, 1, 1, 1, 1]),
        Some(5),
        Some("positive"),
        Tier::T2,
    );
    // Gate No, then answers anyway: wrong count.
    assert!(matches!(
        run_with("pcptsd5", &[0, 1, 1, 1, 1, 1], "international", None),
        Err(ScreeningError::WrongCount { given: 6, .. })
    ));
    // By item id: an answer to an item the gate hides is refused.
    let inst = library().get("pcptsd5").unwrap();
    let answers: BTreeMap<String, i32> = [("gate".to_string(), 0), ("1".to_string(), 1)].into();
    let err = score(inst, &answers, &opts("international")).unwrap_err();
    assert_eq!(
        err,
        ScreeningError::NotAsked {
            instrument: "pcptsd5".into(),
            item: "1".into()
        }
    );
}

fn opts(cutoffs: &str) -> ScoreOptions<'static> {
    ScoreOptions {
        cutoffs: cutoffs.into(),
        convention: None,
        language: Language::En,
        policy: policy(),
    }
}

#[test]
fn k10_and_k6_in_both_conventions() {
    // Australian 1-5 scoring: bands as published.
    for (answers, total, band, tier) in [
        (vec![1; 10], 10, "low", Tier::T0),
        (
            spread(5, 10, 1).iter().map(|v| v + 1).collect::<Vec<_>>(),
            15,
            "low",
            Tier::T0,
        ),
        (
            spread(6, 10, 1).iter().map(|v| v + 1).collect(),
            16,
            "moderate",
            Tier::T0,
        ),
        (vec![2; 10], 20, "moderate", Tier::T1),
        (
            spread(11, 10, 4).iter().map(|v| v + 1).collect(),
            21,
            "moderate",
            Tier::T1,
        ),
        (
            spread(12, 10, 4).iter().map(|v| v + 1).collect(),
            22,
            "high",
            Tier::T1,
        ),
        (
            spread(15, 10, 4).iter().map(|v| v + 1).collect(),
            25,
            "high",
            Tier::T2,
        ),
        (
            spread(19, 10, 4).iter().map(|v| v + 1).collect(),
            29,
            "high",
            Tier::T2,
        ),
        (
            spread(20, 10, 4).iter().map(|v| v + 1).collect(),
            30,
            "very_high",
            Tier::T2,
        ),
        (vec![5; 10], 50, "very_high", Tier::T2),
    ] {
        let r = run_with("k10", &answers, "international", Some("1-5")).unwrap();
        expect(&r, Some(total), Some(band), tier);
        assert_eq!(r.convention.as_deref(), Some("1-5"));
        // The same answers in US 0-4 scoring: total 10 lower, same band and tier.
        let us: Vec<i32> = answers.iter().map(|v| v - 1).collect();
        let r = run_with("k10", &us, "international", Some("0-4")).unwrap();
        expect(&r, Some(total - 10), Some(band), tier);
        assert_eq!(r.convention.as_deref(), Some("0-4"));
    }
    // 5 is not a 0-4 answer; 0 is not a 1-5 answer.
    assert!(matches!(
        run_with("k10", &[5; 10], "international", Some("0-4")),
        Err(ScreeningError::OutOfRange { .. })
    ));
    assert!(matches!(
        run_with("k10", &[0; 10], "international", Some("1-5")),
        Err(ScreeningError::OutOfRange { .. })
    ));
    assert!(matches!(
        run_with("k10", &[1; 10], "international", Some("2-6")),
        Err(ScreeningError::UnknownOption {
            what: "scoring convention",
            ..
        })
    ));
    // K6, 0-4 scoring: 13 = serious distress.
    expect(
        &run_with("k6", &spread(12, 6, 4), "international", None).unwrap(),
        Some(12),
        Some("below_threshold"),
        Tier::T0,
    );
    expect(
        &run_with("k6", &spread(13, 6, 4), "international", None).unwrap(),
        Some(13),
        Some("serious_distress"),
        Tier::T2,
    );
    let au: Vec<i32> = spread(13, 6, 4).iter().map(|v| v + 1).collect();
    expect(
        &run_with("k6", &au, "international", Some("1-5")).unwrap(),
        Some(19),
        Some("serious_distress"),
        Tier::T2,
    );
}

#[test]
fn who5_higher_is_better() {
    let r = run("who5", &[5; 5]);
    expect(&r, Some(25), Some("adequate_wellbeing"), Tier::T0);
    assert_eq!(r.percent, Some(100));
    assert!(!r.positive);
    expect(
        &run("who5", &[3, 3, 3, 2, 2]),
        Some(13),
        Some("adequate_wellbeing"),
        Tier::T0,
    );
    let r = run("who5", &[3, 3, 2, 2, 2]);
    expect(&r, Some(12), Some("poor_wellbeing"), Tier::T1);
    assert_eq!(r.percent, Some(48));
    // Any single item at 0-1 is positive even with a good total.
    let r = run("who5", &[4, 4, 4, 4, 1]);
    expect(&r, Some(17), Some("adequate_wellbeing"), Tier::T1);
    assert!(r.positive_reasons[0].contains("item 5"));
    assert_eq!(
        library().get("who5").unwrap().direction,
        Direction::HigherIsBetter
    );
}

#[test]
fn gds15_reverse_keyed_and_cutoff_sets() {
    // Best answers: Yes on the reverse-keyed items, No on the others.
    let best: Vec<i32> = (1..=15)
        .map(|i| i32::from([1, 5, 7, 11, 13].contains(&i)))
        .collect();
    expect(&run("gds15", &best), Some(0), Some("normal"), Tier::T0);
    // All No: one point for each reverse-keyed item.
    expect(&run("gds15", &[0; 15]), Some(5), Some("mild"), Tier::T1);
    // All Yes: one point for each of the ten others.
    expect(&run("gds15", &[1; 15]), Some(10), Some("severe"), Tier::T2);
    let worst: Vec<i32> = best.iter().map(|v| 1 - v).collect();
    expect(&run("gds15", &worst), Some(15), Some("severe"), Tier::T2);
    // 7: positive internationally (> 5), not by the Hong Kong cutoff (>= 8).
    let mut seven = best.clone();
    for i in [2, 3, 4, 6, 8, 9, 10] {
        seven[i - 1] = 1;
    }
    let intl = run_with("gds15", &seven, "international", None).unwrap();
    let zh = run_with("gds15", &seven, "zh-CN", None).unwrap();
    assert_eq!(
        (intl.score, intl.positive, intl.tier),
        (Some(7), true, Tier::T2)
    );
    assert_eq!((zh.score, zh.positive, zh.tier), (Some(7), false, Tier::T1));
    assert_eq!(zh.cutoff_set, "zh-CN");
}

#[test]
fn srq20_cutoff_sets_and_item17() {
    let seven: Vec<i32> = (1..=20).map(|i| i32::from(i <= 7)).collect();
    let intl = run_with("srq20", &seven, "international", None).unwrap();
    expect(&intl, Some(7), Some("below_threshold"), Tier::T0);
    let zh = run_with("srq20", &seven, "zh-CN", None).unwrap();
    expect(
        &zh,
        Some(7),
        Some("probable_common_mental_disorder"),
        Tier::T2,
    );
    let eight: Vec<i32> = (1..=20).map(|i| i32::from(i <= 8)).collect();
    expect(
        &run("srq20", &eight),
        Some(8),
        Some("probable_common_mental_disorder"),
        Tier::T2,
    );
    let mut a = vec![0; 20];
    a[16] = 1;
    let r = run("srq20", &a);
    assert_eq!((r.score, r.tier), (Some(1), Tier::Crisis));
    assert_eq!(r.red_flags, vec!["suicidal_ideation"]);
}

#[test]
fn psc17_parts_and_blanks() {
    let r = run("psc17", &spread(14, 17, 2));
    assert_eq!(
        (r.score, r.positive),
        (Some(14), false),
        "{:?}",
        r.subscales
    );
    let mut a = vec![0; 17];
    for i in [2, 6, 9, 11, 15] {
        a[i - 1] = 1;
    }
    let r = run("psc17", &a);
    assert_eq!(
        (r.score, r.subscales["internalizing"], r.positive, r.tier),
        (Some(5), 5, true, Tier::T2)
    );
    let mut a = vec![0; 17];
    for i in [1, 3, 7, 13] {
        a[i - 1] = 2;
    }
    let r = run("psc17", &a);
    assert_eq!((r.subscales["attention"], r.positive), (8, true));
    expect(
        &run("psc17", &[1; 17]),
        Some(17),
        Some("positive"),
        Tier::T2,
    );
    // Three blanks are allowed (counted 0); four make the result invalid.
    let inst = library().get("psc17").unwrap();
    let three: Vec<Option<i32>> = (0..17)
        .map(|i| if i < 3 { None } else { Some(1) })
        .collect();
    let r = score(
        inst,
        &answers_from_list(inst, &three).unwrap(),
        &opts("international"),
    )
    .unwrap();
    assert_eq!((r.score, r.missing.len()), (Some(14), 3));
    let four: Vec<Option<i32>> = (0..17)
        .map(|i| if i < 4 { None } else { Some(1) })
        .collect();
    assert_eq!(
        score(
            inst,
            &answers_from_list(inst, &four).unwrap(),
            &opts("international")
        )
        .unwrap_err(),
        ScreeningError::TooManyMissing {
            instrument: "psc17".into(),
            missing: 4,
            allowed: 3
        }
    );
}

#[test]
fn cries8_non_linear_values() {
    let r = run("cries8", &[3, 3, 3, 3, 3, 1, 1, 0]);
    expect(&r, Some(17), Some("probable_ptsd"), Tier::T2);
    assert_eq!((r.subscales["intrusion"], r.subscales["avoidance"]), (8, 9));
    expect(
        &run("cries8", &[3, 3, 3, 3, 3, 1, 0, 0]),
        Some(16),
        Some("below_threshold"),
        Tier::T0,
    );
    expect(
        &run("cries8", &[5; 8]),
        Some(40),
        Some("probable_ptsd"),
        Tier::T2,
    );
    match run_with("cries8", &[2, 0, 0, 0, 0, 0, 0, 0], "international", None) {
        Err(ScreeningError::OutOfRange { item, allowed, .. }) => {
            assert_eq!((item.as_str(), allowed.as_str()), ("1", "0, 1, 3, 5"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn licensed_instruments_score_without_texts() {
    for (total, band, tier) in [
        (7, "no_insomnia", Tier::T0),
        (8, "subthreshold", Tier::T1),
        (14, "subthreshold", Tier::T1),
        (15, "moderate", Tier::T2),
        (21, "moderate", Tier::T2),
        (22, "severe", Tier::T2),
        (28, "severe", Tier::T2),
    ] {
        expect(
            &run("isi", &spread(total, 7, 4)),
            Some(total as i64),
            Some(band),
            tier,
        );
    }
    // ISI cutoff sets: 9 is a case in zh-CN (Hong Kong), not internationally.
    assert!(
        !run_with("isi", &spread(9, 7, 4), "international", None)
            .unwrap()
            .positive
    );
    assert!(
        run_with("isi", &spread(9, 7, 4), "zh-CN", None)
            .unwrap()
            .positive
    );

    // EPDS: answers are form positions; items 3 and 5-10 reverse-keyed.
    let r = run("epds", &[0, 0, 3, 0, 3, 3, 3, 3, 3, 3]);
    expect(&r, Some(0), Some("below_threshold"), Tier::T0);
    let r = run("epds", &[3, 3, 3, 3, 3, 3, 3, 3, 3, 2]);
    assert_eq!(
        (r.score, r.red_flags.clone(), r.tier),
        (Some(10), vec!["self_harm".to_string()], Tier::Crisis)
    );
    // 10-12 (international cutoffs): possible depression, repeat in two
    // weeks (screening-reference: "if in doubt, repeat after 2 weeks").
    let r = run("epds", &[3, 3, 3, 3, 3, 3, 2, 2, 2, 3]);
    expect(&r, Some(12), Some("possible_depression"), Tier::T1);
    assert!(
        r.reasons[0].contains("repeat after two weeks"),
        "{:?}",
        r.reasons
    );
    assert_eq!(policy().rescreen_days(r.tier, std::slice::from_ref(&r)), 14);
    let r9 = run("epds", &[3; 10]);
    assert_eq!((r9.score, r9.tier), (Some(9), Tier::T0));
    assert_eq!(
        policy().rescreen_days(r9.tier, std::slice::from_ref(&r9)),
        28
    );
    assert!(
        run_with("epds", &[3, 3, 3, 3, 3, 3, 2, 2, 2, 3], "zh-CN", None)
            .unwrap()
            .positive
    );
    expect(
        &run("epds", &[3, 3, 3, 3, 3, 2, 2, 2, 2, 3]),
        Some(13),
        Some("probable_depression"),
        Tier::T2,
    );

    // SDQ: reverse items 7, 11, 14, 21, 25; total difficulties excludes prosocial.
    let r = run("sdq", &[0; 25]);
    assert_eq!(
        (
            r.score,
            r.subscales["conduct"],
            r.subscales["hyperactivity"],
            r.subscales["peer"],
            r.subscales["prosocial"]
        ),
        (Some(10), 2, 4, 4, 0)
    );
    assert_eq!(r.band.as_deref(), Some("normal"));
    let r = run("sdq", &[2; 25]);
    assert_eq!(
        (r.score, r.subscales["prosocial"], r.tier),
        (Some(30), 10, Tier::T2)
    );
    // A subscale with 3 of 5 answered is prorated; with 2 the result is invalid.
    let inst = library().get("sdq").unwrap();
    let mut list: Vec<Option<i32>> = vec![Some(2); 25];
    list[2] = None; // item 3, emotional
    list[7] = None; // item 8, emotional
    let r = score(
        inst,
        &answers_from_list(inst, &list).unwrap(),
        &opts("international"),
    )
    .unwrap();
    assert_eq!(r.subscales["emotional"], 10);
    list[12] = None; // item 13, emotional: only 2 of 5 left
    assert!(matches!(
        score(
            inst,
            &answers_from_list(inst, &list).unwrap(),
            &opts("international")
        ),
        Err(ScreeningError::TooManyMissing { .. })
    ));
}

#[test]
fn cssrs_flow_and_risk() {
    let r = run("cssrs", &[0, 0, 0]);
    assert_eq!(
        (r.score, r.risk.as_deref(), r.tier),
        (None, Some("none"), Tier::T0)
    );
    let r = run("cssrs", &[1, 0, 0]);
    assert_eq!((r.risk.as_deref(), r.tier), (Some("low"), Tier::T2));
    let r = run("cssrs", &[1, 1, 1, 0, 0, 0]);
    assert_eq!((r.risk.as_deref(), r.tier), (Some("moderate"), Tier::T2));
    let r = run("cssrs", &[1, 1, 0, 1, 0, 0]);
    assert_eq!((r.risk.as_deref(), r.tier), (Some("high"), Tier::Crisis));
    let r = run("cssrs", &[1, 1, 0, 0, 1, 0]);
    assert_eq!((r.risk.as_deref(), r.tier), (Some("high"), Tier::Crisis));
    // Past behaviour: moderate; within 3 months: high.
    assert_eq!(
        run("cssrs", &[0, 0, 1, 0]).risk.as_deref(),
        Some("moderate")
    );
    let r = run("cssrs", &[0, 0, 1, 1]);
    assert_eq!((r.risk.as_deref(), r.tier), (Some("high"), Tier::Crisis));
    // Q2 = No skips Q3-Q5: six answers are too many.
    assert!(matches!(
        run_with("cssrs", &[1, 0, 1, 1, 1, 0], "international", None),
        Err(ScreeningError::WrongCount { .. })
    ));
}

#[test]
fn bad_input_names_the_item_and_never_the_answer() {
    assert_eq!(
        run_with("phq9", &[0; 8], "international", None).unwrap_err(),
        ScreeningError::WrongCount {
            instrument: "phq9".into(),
            given: 8,
            expected: "9 to 10".into()
        }
    );
    assert!(matches!(
        run_with("phq9", &[0; 11], "international", None),
        Err(ScreeningError::WrongCount { given: 11, .. })
    ));
    let err = run_with("phq9", &[0, 0, 0, 7, 0, 0, 0, 0, 0], "international", None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "phq9 item 4: the answer is not one of the allowed values 0-3"
    );
    assert!(!err.to_string().contains('7'));
    assert!(matches!(
        run_with("phq99", &[0], "international", None),
        Err(ScreeningError::UnknownInstrument(_))
    ));
    assert!(matches!(
        run_with("phq9", &[0; 9], "us", None),
        Err(ScreeningError::UnknownOption {
            what: "cutoff set",
            ..
        })
    ));
    // A skipped required item.
    let inst = library().get("gad7").unwrap();
    let mut list = vec![Some(1); 7];
    list[3] = None;
    let err = score(
        inst,
        &answers_from_list(inst, &list).unwrap(),
        &opts("international"),
    )
    .unwrap_err();
    assert_eq!(
        err,
        ScreeningError::MissingAnswer {
            instrument: "gad7".into(),
            item: "4".into()
        }
    );
    let answers: BTreeMap<String, i32> = [("x".to_string(), 0)].into();
    assert!(matches!(
        score(inst, &answers, &opts("international")),
        Err(ScreeningError::UnknownItem { .. })
    ));
}

#[test]
fn administration_steps_and_flags_at_the_answer() {
    let inst = library().get("phq9").unwrap();
    let mut a = Administration::start(inst, Language::ZhHans, None).unwrap();
    let first = a.current().unwrap();
    assert_eq!((first.item.as_str(), first.position), ("1", 1));
    assert_eq!(first.text, "做事时提不起劲或没有兴趣");
    assert_eq!(first.options[3].label, "几乎每天");
    for i in 1..=8 {
        let step = a.answer(&i.to_string(), 1).unwrap();
        assert!(step.red_flags.is_empty());
        assert_eq!(step.next.unwrap().item, (i + 1).to_string());
    }
    // The red flag is known at the answer, before anything is scored or saved.
    let step = a.answer("9", 2).unwrap();
    assert_eq!(step.red_flags, vec!["suicidal_ideation"]);
    assert_eq!(step.next.unwrap().item, "10");
    assert!(a.answer("9", 4).is_err());
    let r = a.finish(Some("international"), policy()).unwrap();
    assert_eq!(
        (r.score, r.tier, r.language.as_str()),
        (Some(10), Tier::Crisis, "zh-Hans")
    );

    // Gate logic: answering the gate No ends the PC-PTSD-5, and changing a
    // Yes to No drops the answers it hid.
    let inst = library().get("pcptsd5").unwrap();
    let mut a = Administration::start(inst, Language::En, None).unwrap();
    let step = a.answer("gate", 1).unwrap();
    assert_eq!(step.next.unwrap().item, "1");
    a.answer("1", 1).unwrap();
    let step = a.answer("gate", 0).unwrap();
    assert!(step.next.is_none());
    assert_eq!(a.answers().len(), 1);
    assert_eq!(
        a.answer("2", 1).unwrap_err(),
        ScreeningError::NotAsked {
            instrument: "pcptsd5".into(),
            item: "2".into()
        }
    );
    assert_eq!(
        a.finish(Some("international"), policy()).unwrap().score,
        Some(0)
    );

    // Declining a required item: finishing names it.
    let inst = library().get("gad2").unwrap();
    let mut a = Administration::start(inst, Language::ZhHant, None).unwrap();
    a.answer("1", 2).unwrap();
    assert!(a.decline("2").unwrap().is_none());
    assert_eq!(
        a.finish(Some("international"), policy()).unwrap_err(),
        ScreeningError::MissingAnswer {
            instrument: "gad2".into(),
            item: "2".into()
        }
    );
}

/// A deployment's C-SSRS texts file with placeholder wording (the real
/// texts are licensed); the SDK's Kotlin and Swift tests load the same file.
const CSSRS_TEXTS: &str = include_str!("../../testdata/cssrs-texts.json");

#[test]
fn licensed_texts_load_from_a_deployment_file_and_bad_files_are_refused() {
    let lib = library();
    let inst = lib.get("cssrs").unwrap();
    assert!(matches!(
        Administration::start(inst, Language::En, None),
        Err(ScreeningError::NoTexts { .. })
    ));
    let loaded = lib
        .with_licensed_texts("cssrs-texts.json", CSSRS_TEXTS)
        .unwrap();
    let inst = loaded.get("cssrs").unwrap();
    let mut a = Administration::start(inst, Language::En, None).unwrap();
    assert_eq!(a.current().unwrap().text, "Q1 text");
    // The C-SSRS flow: Q2 = No goes straight to Q6.
    a.answer("1", 1).unwrap();
    let step = a.answer("2", 0).unwrap();
    assert_eq!(step.next.unwrap().item, "6");
    let step = a.answer("6", 1).unwrap();
    assert_eq!(step.red_flags, vec!["suicidal_behaviour"]);
    let step = a.answer("6b", 1).unwrap();
    assert_eq!(step.red_flags, vec!["recent_suicidal_behaviour"]);
    assert_eq!(
        a.finish(Some("international"), policy()).unwrap().tier,
        Tier::Crisis
    );
    assert!(Administration::start(inst, Language::ZhHans, None).is_err());

    let refused = |json: &str| match lib.with_licensed_texts("t.json", json) {
        Ok(_) => panic!("a bad texts file was accepted"),
        Err(e) => e,
    };
    for (bad, expect) in [
        ("not json", "t.json"),
        (&CSSRS_TEXTS.replace("2026.1", "1999.1"), "version"),
        (
            &CSSRS_TEXTS.replace("\"6b\": {\"en\": \"Q6b text\"}", "\"7\": {\"en\": \"x\"}"),
            "unknown item",
        ),
        (
            &CSSRS_TEXTS.replace("\"cssrs\"", "\"phq9\""),
            "ships its own texts",
        ),
        (&CSSRS_TEXTS.replace("\"Q3 text\"", "\"\""), "empty"),
        (
            &CSSRS_TEXTS.replace(
                "\"3\": [{\"en\": \"No\"}, {\"en\": \"Yes\"}],",
                "\"3\": [{\"en\": \"No\"}],",
            ),
            "option labels",
        ),
        (
            &CSSRS_TEXTS.replace("\"Q4 text\"}", "\"Q4\", \"xx\": \"y\"}"),
            "language",
        ),
        (
            &CSSRS_TEXTS.replace("Clario sublicence TEST-0001", " "),
            "licence",
        ),
        (
            &CSSRS_TEXTS.replace("\"licence\"", "\"licence\": \"x\", \"extra\""),
            "unknown field",
        ),
    ] {
        let err = refused(bad).to_string();
        assert!(err.contains(expect), "{err} should mention {expect}");
    }
    // The original library is unchanged by a refused or accepted file.
    assert!(!lib.get("cssrs").unwrap().has_texts(Language::En));
    // After a red flag the app continues with the C-SSRS where its texts
    // are loaded in the respondent's language, and only there.
    let flagged = ["suicidal_ideation".to_string()];
    let follow = |flags: &[String], sitting: &[&str], lib: &Library, language| {
        policy().assessments_to_follow(flags, sitting, lib, language)
    };
    assert!(follow(&flagged, &["phq9"], lib, Language::En).is_empty());
    assert_eq!(
        follow(&flagged, &["phq9"], &loaded, Language::En),
        vec!["cssrs"]
    );
    assert!(follow(&flagged, &["phq9"], &loaded, Language::ZhHans).is_empty());
    assert!(follow(&[], &["phq9"], &loaded, Language::En).is_empty());
    // A sitting that holds the C-SSRS is already assessed.
    assert!(follow(&flagged, &["phq9", "cssrs"], &loaded, Language::En).is_empty());
}

#[test]
fn a_malformed_policy_is_refused() {
    let json = include_str!("../../instruments/policy.json");
    assert!(Policy::from_json("p.json", json).is_ok());
    for (from, to) in [
        (
            "\"t1\": {\"response_hours\": 168,",
            "\"t9\": {\"response_hours\": 168,",
        ),
        ("\"when\": {\"risk\": \"high\"}", "\"when\": {}"),
        ("\"weekly_for_days\": 56", "\"weekly_for_days\": 0"),
        (
            "\"tier\": \"crisis\", \"reason\": \"C-SSRS",
            "\"tier\": \"t5\", \"reason\": \"C-SSRS",
        ),
    ] {
        assert!(json.contains(from), "{from}");
        assert!(
            Policy::from_json("p.json", &json.replace(from, to)).is_err(),
            "{to}"
        );
    }
}

/// Random valid answers for an instrument: one number per item chooses its
/// option; items the skip logic hides get none.
fn answers_for(inst: &Instrument, picks: &[usize]) -> BTreeMap<String, i32> {
    let mut base = BTreeMap::new();
    for (i, item) in inst.items.iter().enumerate() {
        if inst.is_shown(item, &base) {
            let opt = &item.choices[picks[i % picks.len()] % item.choices.len()];
            base.insert(item.id.clone(), opt.value);
        }
    }
    base
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn score_is_in_range_and_raising_an_item_never_lowers_total_or_tier(
        which in 0usize..18,
        picks in prop::collection::vec(0usize..6, 25),
        item_pick in 0usize..25,
        cutoffs in prop::sample::select(vec!["international", "zh-CN"]),
    ) {
        let lib = library();
        let inst = lib.all().nth(which).unwrap();
        let answers = answers_for(inst, &picks);
        let opts = opts(cutoffs);
        let r = score(inst, &answers, &opts).unwrap();
        if let Some(total) = r.score {
            let scored: Vec<_> = inst.items.iter().filter(|i| i.scored).collect();
            let max: i32 = scored.iter().map(|i| i.value_range().1).sum();
            prop_assert!(total >= 0 && total <= max as i64, "{} {total} of {max}", inst.id);
        }
        // Raise one item's score (not a gate: gates change what is asked).
        let gates: Vec<&str> = inst.items.iter().filter_map(|i| i.show_if.as_ref().map(|s| s.item.as_str())).collect();
        let item = &inst.items[item_pick % inst.items.len()];
        if let (Some(current), false) = (answers.get(&item.id), gates.contains(&item.id.as_str())) {
            let higher = item.choices.iter().map(|o| o.value).filter(|v| item.score_of(*v) > item.score_of(*current)).min();
            if let Some(v) = higher {
                let mut raised = answers.clone();
                raised.insert(item.id.clone(), v);
                let r2 = score(inst, &raised, &opts).unwrap();
                if inst.direction == Direction::HigherIsWorse {
                    prop_assert!(r2.score >= r.score, "{} total fell", inst.id);
                    prop_assert!(r2.tier >= r.tier, "{} tier fell: {:?} -> {:?}", inst.id, r.reasons, r2.reasons);
                } else {
                    prop_assert!(r2.score >= r.score);
                    prop_assert!(r2.tier <= r.tier, "WHO-5: better answers never raise the tier");
                }
            }
        }
    }

    #[test]
    fn arbitrary_answers_never_panic(
        which in 0usize..18,
        raw in prop::collection::vec(prop::option::of(-3i32..9), 0..30),
    ) {
        let inst = library().all().nth(which).unwrap();
        if let Ok(answers) = answers_from_list(inst, &raw) {
            let _ = score(inst, &answers, &opts("international"));
        }
    }
}

// ---- Issue 11: clinical safety of the scoring and the policy's defaults ----

/// Scores as every surface does by default: the policy's cutoff set and the
/// policy's convention for the instrument.
fn run_default(id: &str, list: &[i32]) -> ScreeningResult {
    let p = policy();
    run_with(
        id,
        list,
        p.cutoffs_or_default(None),
        p.convention_or_default(id, None).as_deref(),
    )
    .unwrap_or_else(|e| panic!("{id} {list:?}: {e}"))
}

#[test]
fn the_builtin_policy_is_for_chinese_stations() {
    let p = policy();
    assert_eq!(p.cutoffs_or_default(None), "zh-CN");
    assert_eq!(p.cutoffs_or_default(Some("international")), "international");
    // SRQ-20 = 7 is t2 with the Hangzhou 6/7 cutoff, below it internationally.
    let seven = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let zh = run_default("srq20", &seven);
    assert_eq!((zh.cutoff_set.as_str(), zh.tier), ("zh-CN", Tier::T2));
    assert_eq!(zh.band.as_deref(), Some("probable_common_mental_disorder"));
    assert_eq!(run("srq20", &seven).tier, Tier::T0);
    // GDS-15 follows the reference: Hong Kong >= 8 is t2 (T2 row), 5-7 mild.
    let gds = |n: usize| {
        // Items 1, 5, 7, 11, 13 score on "No" (0); the rest on "Yes" (1).
        let reverse = [1usize, 5, 7, 11, 13];
        let mut a = Vec::new();
        let mut left = n;
        for item in 1..=15 {
            let point = left > 0;
            if point {
                left -= 1;
            }
            let yes = if reverse.contains(&item) {
                !point
            } else {
                point
            };
            a.push(i32::from(yes));
        }
        run_default("gds15", &a)
    };
    assert_eq!((gds(7).score, gds(7).tier), (Some(7), Tier::T1));
    assert_eq!((gds(8).score, gds(8).tier), (Some(8), Tier::T2));
    assert_eq!(gds(4).tier, Tier::T0);
}

#[test]
fn k10_follows_the_deployments_convention_and_says_it() {
    let p = policy();
    assert_eq!(p.convention_or_default("k10", None).as_deref(), Some("1-5"));
    assert_eq!(p.convention_or_default("k6", None).as_deref(), Some("0-4"));
    assert_eq!(p.convention_or_default("phq9", None), None);
    // A 1-5 paper form, every answer "none of the time": total 10, low, t0
    // (today's bug: read as 0-4, "total 10 (moderate) → t1").
    let r = run_default("k10", &[1; 10]);
    assert_eq!(r.convention.as_deref(), Some("1-5"));
    expect(&r, Some(10), Some("low"), Tier::T0);
    // The same ticks on a 0-4 form mean "a little of the time": total 10 in
    // 0-4 scoring is 20 in the bands' 1-5: mild. The reason speaks 0-4.
    let r = run_with("k10", &[1; 10], "zh-CN", Some("0-4")).unwrap();
    assert_eq!((r.score, r.tier), (Some(10), Tier::T1));
    assert!(
        r.reasons
            .iter()
            .any(|x| x.contains("total 10 in 10-14, 0-4 scoring")),
        "{:?}",
        r.reasons
    );
    // Positive: the reason's numbers are the printed total's convention.
    let r = run_with("k10", &[2; 10], "zh-CN", Some("0-4")).unwrap();
    assert_eq!((r.score, r.tier), (Some(20), Tier::T2));
    assert!(
        r.positive_reasons
            .iter()
            .any(|x| x == "total 20 ≥ 15, 0-4 scoring"),
        "{:?}",
        r.positive_reasons
    );
    let r = run_with("k10", &[3; 10], "zh-CN", Some("1-5")).unwrap();
    assert!(
        r.positive_reasons
            .iter()
            .any(|x| x == "total 30 ≥ 25, 1-5 scoring"),
        "{:?}",
        r.positive_reasons
    );
}

#[test]
fn k10_items_follow_the_published_order() {
    let k10 = library().get("k10").unwrap();
    let en = |id: &str| k10.item(id).unwrap().text["en"].clone();
    assert_eq!(en("7"), "depressed?");
    assert_eq!(en("8"), "that everything was an effort?");
    assert_eq!(en("9"), "so sad that nothing could cheer you up?");
    assert_eq!(en("10"), "worthless?");
    // K6: nervous, hopeless, restless, so depressed…, effort, worthless.
    let k6 = library().get("k6").unwrap();
    let k6en = |id: &str| k6.item(id).unwrap().text["en"].clone();
    assert_eq!(k6en("4"), "so depressed that nothing could cheer you up?");
    assert_eq!(k6en("5"), "that everything was an effort?");
}

#[test]
fn a_reason_names_the_band_its_total_is_in() {
    // PHQ-9 12: moderate, positive — not "PHQ-9 mild (5-9)".
    let r = run("phq9", &[2, 2, 2, 2, 1, 1, 1, 1, 0]);
    assert_eq!(r.score, Some(12));
    assert!(
        r.reasons.iter().all(|x| !x.contains("mild")),
        "{:?}",
        r.reasons
    );
    // Every trigger with a named range fires only inside it, for every
    // instrument and total: the range in the reason contains the total.
    for id in ["phq9", "gad7", "phq4", "isi", "gds15", "sdq", "epds"] {
        let inst = library().get(id).unwrap();
        let n = inst
            .items
            .iter()
            .filter(|i| i.scored && !i.optional)
            .count();
        let max = inst.items[0].value_range().1;
        for total in 0..=(n as i32 * max) {
            let Ok(r) = run_with(id, &spread(total, n, max), "international", None) else {
                continue;
            };
            let Some(score) = r.score else { continue };
            for reason in &r.reasons {
                if let Some(range) = reason
                    .split("total ")
                    .nth(1)
                    .and_then(|t| t.split(" in ").nth(1))
                {
                    let range: String = range
                        .chars()
                        .take_while(|c| c.is_ascii_digit() || *c == '-')
                        .collect();
                    let mut ends = range.split('-').map(|x| x.parse::<i64>().unwrap());
                    let (lo, hi) = (ends.next().unwrap(), ends.next().unwrap());
                    assert!(lo <= score && score <= hi, "{id} {score}: {reason}");
                }
            }
        }
    }
}

#[test]
fn severe_functional_impairment_lifts_a_positive_screen_to_t3() {
    // PHQ-9 12 (positive) with item 10 "extremely difficult": t3.
    let r = run_default("phq9", &[2, 2, 2, 2, 1, 1, 1, 1, 0, 3]);
    assert!(r.flags.contains(&"severe_impairment".to_string()));
    assert_eq!(r.tier, Tier::T3, "{:?}", r.reasons);
    assert!(r.reasons[0].contains("severe functional impairment"));
    // "Very difficult" is not severe: t2.
    assert_eq!(
        run_default("phq9", &[2, 2, 2, 2, 1, 1, 1, 1, 0, 2]).tier,
        Tier::T2
    );
    // Impairment without a positive screen does not lift: mild stays t1.
    let mild = run_default("phq9", &[1, 1, 1, 1, 1, 1, 0, 0, 0, 3]);
    assert_eq!((mild.score, mild.tier), (Some(6), Tier::T1));
}

#[test]
fn a_policy_with_a_wrong_default_is_refused() {
    let base: serde_json::Value =
        serde_json::from_str(include_str!("../../instruments/policy.json")).unwrap();
    let mut bad = base.clone();
    bad["cutoff_set"] = "martian".into();
    assert!(Policy::from_json("p.json", &bad.to_string()).is_err());
    let mut bad = base.clone();
    bad["conventions"]["k10"] = "2-6".into();
    assert!(Policy::from_json("p.json", &bad.to_string()).is_err());
    let mut bad = base.clone();
    bad["conventions"]["phq9"] = "0-4".into();
    assert!(Policy::from_json("p.json", &bad.to_string()).is_err());
    // An older deployment file without the new fields still loads, with
    // the Chinese defaults.
    let mut old = base;
    for k in [
        "cutoff_set",
        "conventions",
        "no_improvement",
        "defaults_note",
    ] {
        old.as_object_mut().unwrap().remove(k);
    }
    let p = Policy::from_json("p.json", &old.to_string()).unwrap();
    assert_eq!(p.cutoffs_or_default(None), "zh-CN");
    assert!(p.no_improvement.is_none());
}

#[test]
fn every_tier_reason_comes_as_codes_and_values_too() {
    // A rule on the total: the values it looked at, in the sitting's terms.
    let moderate = run("phq9", &phq9(12, 0));
    let d = policy().assess(&moderate, false);
    assert_eq!(d.tier, Tier::T2);
    assert_eq!(d.why.len(), d.reasons.len());
    let w = &d.why[0];
    assert_eq!(
        (w.tier, w.kind, w.instrument.as_str(), w.total),
        (Tier::T2, TierReasonKind::Rule, "phq9", Some(12))
    );
    // PHQ-9's t2 rule is a positive screen: by which cutoff set.
    assert_eq!(w.positive_by.as_deref(), Some(moderate.cutoff_set.as_str()));
    // A rule on the total names its bounds.
    let d = policy().assess(&run("phq9", &phq9(22, 0)), false);
    let w = &d.why[0];
    assert_eq!(
        (w.tier, w.total, w.total_at_least),
        (Tier::T3, Some(22), Some(20))
    );
    // An unassessed red flag: the crisis path, naming the flag.
    let d = policy().assess(&run("phq9", &phq9(3, 1)), false);
    assert!(d
        .why
        .iter()
        .any(|w| w.kind == TierReasonKind::RedFlagUnassessed
            && w.flag.as_deref() == Some("suicidal_ideation")
            && w.tier == Tier::Crisis));
    // A risk level (C-SSRS), and a result below every threshold.
    let d = policy().assess(&run("cssrs", &[1, 1, 0, 1, 0, 0]), false);
    assert!(d.why.iter().any(|w| w.risk.as_deref() == Some("high")));
    let d = policy().assess(&run("phq9", &phq9(0, 0)), false);
    assert_eq!(d.why[0].kind, TierReasonKind::BelowThresholds);
    // A whole sitting keeps them one for one with the sentences.
    let d = policy().combine(&[run("phq9", &phq9(12, 0)), run("gad7", &spread(11, 7, 3))]);
    assert_eq!(d.why.len(), d.reasons.len());
    assert!(d.why.iter().any(|w| w.instrument == "gad7"));
    assert_eq!(policy().combine(&[]).why[0].kind, TierReasonKind::NoResults);
}
