//! `anxin instruments`, `anxin screen score` and `anxin case …`: parse,
//! call the core, print. Scores and tiers are computed by `anxin-core`;
//! nothing here decides anything.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anxin_core::doc::Author;
use anxin_core::model::*;
use anxin_core::screening::{
    answers_from_list, score, Language, Library, Policy, ScoreOptions, ScreeningError,
};
use anxin_core::store::{NewScreening, Store};
use clap::Subcommand;
use serde::Serialize;

use crate::{format_time, print_json, Failure};

impl From<ScreeningError> for Failure {
    fn from(e: ScreeningError) -> Self {
        Failure::input(crate::screening_text(&e))
    }
}

/// `anxin screen …`.
#[derive(Subcommand, Debug)]
pub enum ScreenCommand {
    /// Score one questionnaire's answers and grade them (nothing is saved).
    Score(ScoreArgs),
}

/// The answers of one questionnaire and how to score them.
#[derive(clap::Args, Debug)]
pub struct ScoreArgs {
    /// The instrument id (`phq9`, `gad7`, … see `anxin instruments`).
    #[arg(long)]
    instrument: String,
    /// Each item's answer in form order, as the form numbers the chosen
    /// option (PHQ-9 0-3, WHO-5 0-5, CRIES-8 0/1/3/5, yes/no 1/0); leave an
    /// entry empty for a blank item. Items the skip logic hides take no entry.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    answers: Vec<String>,
    /// The cutoff set (default: the policy's; the built-in policy's is `zh-CN`).
    #[arg(long, value_parser = ["international", "zh-CN"])]
    cutoffs: Option<String>,
    /// The language the questionnaire was given in.
    #[arg(long, default_value = "zh-Hans", value_parser = ["zh-Hans", "zh-Hant", "en"])]
    language: String,
    /// The scoring convention, for instruments that have several (K6/K10:
    /// `0-4` or `1-5`; default: the policy's, K10 `1-5` and K6 `0-4` built in).
    #[arg(long)]
    convention: Option<String>,
    /// A deployment's licensed item texts (JSON) to load first.
    #[arg(long, value_name = "FILE")]
    licensed_texts: Vec<PathBuf>,
}

/// Loads the library with any licensed texts files given.
pub fn library(files: &[PathBuf]) -> Result<Library, Failure> {
    let mut lib = Library::builtin()?.clone();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|e| {
            Failure::input(crate::tr!(
                "cannot read {path}: {e}",
                "无法读取 {path}：{e}",
                path = f.display(),
                e = e
            ))
        })?;
        lib = lib.with_licensed_texts(&f.display().to_string(), &text)?;
    }
    Ok(lib)
}

fn parse_answers(raw: &[String]) -> Result<Vec<Option<i32>>, Failure> {
    raw.iter()
        .enumerate()
        .map(|(i, a)| {
            let a = a.trim();
            if a.is_empty() || a == "-" {
                Ok(None)
            } else {
                a.parse::<i32>().map(Some).map_err(|_| {
                    Failure::input(crate::tr!(
                        "--answers: entry {n} is not a number",
                        "--answers：第 {n} 项不是数字",
                        n = i + 1
                    ))
                })
            }
        })
        .collect()
}

/// Scores one questionnaire from command-line arguments.
pub fn score_args(
    args: &ScoreArgs,
    lib: &Library,
    policy: &Policy,
) -> Result<ScreeningResult, Failure> {
    let inst = lib.get(&args.instrument)?;
    let answers = answers_from_list(inst, &parse_answers(&args.answers)?)?;
    Ok(score(
        inst,
        &answers,
        &ScoreOptions {
            cutoffs: policy
                .cutoffs_or_default(args.cutoffs.as_deref())
                .to_string(),
            convention: policy.convention_or_default(&inst.id, args.convention.as_deref()),
            language: Language::parse(&args.language)?,
            policy,
        },
    )?)
}

/// One line about a result, for people.
pub fn describe(r: &ScreeningResult) -> String {
    use anxin_core::labels::Vocabulary;
    let zh = crate::ui::language() != anxin_core::labels::Language::En;
    let mut line = match (r.score, &r.convention) {
        (Some(s), Some(c)) => crate::tr!(
            "{inst} total {s} ({c} scoring)",
            "{inst} 总分 {s}（{c} 计分）",
            inst = r.instrument,
            s = s,
            c = c
        ),
        (Some(s), None) => crate::tr!(
            "{inst} total {s}",
            "{inst} 总分 {s}",
            inst = r.instrument,
            s = s
        ),
        (None, _) => crate::tr!(
            "{inst} risk {risk}",
            "{inst} 风险 {risk}",
            inst = r.instrument,
            risk = match r.risk.as_deref() {
                Some(level) if zh => crate::ui::word(Vocabulary::Band, level),
                Some(level) => level.to_string(),
                None => crate::tr!("none", "无"),
            }
        ),
    };
    if let Some(b) = &r.band {
        let b = if zh {
            crate::ui::word(Vocabulary::Band, b)
        } else {
            b.clone()
        };
        line.push_str(&crate::tr!(" ({b})", "（{b}）", b = b));
    }
    if !r.red_flags.is_empty() {
        line.push_str(&crate::tr!(
            " RED FLAG: {flags}",
            " 红旗预警：{words}",
            flags = r.red_flags.join(", "),
            words = r
                .red_flags
                .iter()
                .map(|f| crate::ui::word(Vocabulary::Flag, f))
                .collect::<Vec<_>>()
                .join(crate::ui::sep())
        ));
    }
    let tier = if zh {
        crate::ui::word(Vocabulary::Tier, r.tier.as_str())
    } else {
        r.tier.to_string()
    };
    line.push_str(&format!(" → {tier}"));
    line
}

pub fn run_screen(cmd: &ScreenCommand, policy: &Policy, json: bool) -> Result<(), Failure> {
    match cmd {
        ScreenCommand::Score(args) => {
            let lib = library(&args.licensed_texts)?;
            let r = score_args(args, &lib, policy)?;
            if json {
                print_json(&r);
            } else {
                println!("{}", describe(&r));
                for reason in &r.reasons {
                    println!("  {reason}");
                }
            }
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct InstrumentSummary<'a> {
    id: &'a str,
    name: &'a str,
    version: &'a str,
    items: usize,
    texts_shipped: bool,
    languages: Vec<&'static str>,
    conventions: Vec<&'a str>,
    cutoff_sets: Vec<&'a str>,
    loinc: &'a anxin_core::screening::Loinc,
    licence: &'a str,
}

pub fn run_instruments(id: &Option<String>, files: &[PathBuf], json: bool) -> Result<(), Failure> {
    let lib = library(files)?;
    if let Some(id) = id {
        let inst = lib.get(id)?;
        if json {
            print_json(inst);
        } else {
            println!(
                "{} — {} (version {})",
                inst.name,
                inst.title.get("en").cloned().unwrap_or_default(),
                inst.version
            );
            println!("  {}", inst.licence.notice);
            for item in &inst.items {
                let text = item.text.get("zh-Hans").or_else(|| item.text.get("en"));
                println!(
                    "  {:>4}  {}",
                    item.id,
                    text.map(String::as_str)
                        .unwrap_or("(licensed text not loaded)")
                );
            }
        }
        return Ok(());
    }
    let rows: Vec<InstrumentSummary<'_>> = lib
        .all()
        .map(|i| InstrumentSummary {
            id: &i.id,
            name: &i.name,
            version: &i.version,
            items: i.items.len(),
            texts_shipped: i.licence.texts_shipped,
            languages: Language::ALL
                .iter()
                .filter(|l| i.has_texts(**l))
                .map(|l| l.tag())
                .collect(),
            conventions: i.conventions.iter().map(|c| c.id.as_str()).collect(),
            cutoff_sets: i.cutoffs.keys().map(String::as_str).collect(),
            loinc: &i.loinc,
            licence: &i.licence.notice,
        })
        .collect();
    if json {
        print_json(&rows);
    } else {
        for r in rows {
            println!(
                "{:<8} {:<16} {:>2} items  texts: {}",
                r.id,
                r.name,
                r.items,
                if r.languages.is_empty() {
                    "licensed, load with --licensed-texts".to_string()
                } else {
                    r.languages.join(", ")
                }
            );
        }
    }
    Ok(())
}

/// `anxin case …`.
#[derive(Subcommand, Debug)]
pub enum CaseCommand {
    /// Record a screening sitting in a resident's case file (one or more
    /// questionnaires, graded together).
    Screen {
        /// The resident's household.
        #[arg(long)]
        household: String,
        /// The resident screened.
        #[arg(long)]
        resident: String,
        /// An instrument; repeat with its --answers for several in one sitting.
        #[arg(long = "instrument", required = true)]
        instruments: Vec<String>,
        /// The answers of the instrument at the same position (comma-separated).
        #[arg(long = "answers", required = true, allow_hyphen_values = true)]
        answers: Vec<String>,
        /// The cutoff set (default: the policy's; the built-in policy's is `zh-CN`).
        #[arg(long, value_parser = ["international", "zh-CN"])]
        cutoffs: Option<String>,
        /// The scoring convention of the paper form, for the instruments of
        /// the sitting that have several (K6/K10: `0-4` or `1-5`; default:
        /// the policy's).
        #[arg(long)]
        convention: Option<String>,
        /// The language used.
        #[arg(long, default_value = "zh-Hans", value_parser = ["zh-Hans", "zh-Hant", "en"])]
        language: String,
        /// Licensed item texts to load (for the C-SSRS, EPDS, ISI, SDQ).
        #[arg(long, value_name = "FILE")]
        licensed_texts: Vec<PathBuf>,
    },
    /// A counselor or clinician reviews a screening (复核).
    Review {
        /// The case.
        case: String,
        /// The screening event.
        #[arg(long)]
        screening: String,
        /// The tier after review.
        #[arg(long, value_parser = Tier::WORDS.to_vec())]
        tier: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Propose a referral.
    Refer {
        /// The case.
        case: String,
        /// The tier referred to.
        #[arg(long, value_parser = Tier::WORDS.to_vec())]
        tier: String,
        /// To which service.
        #[arg(long)]
        to: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Move a referral on (sent, acknowledged, seen, closed).
    Referral {
        /// The case.
        case: String,
        /// The referral.
        referral: String,
        /// Its new status.
        #[arg(long, value_parser = ReferralStatus::WORDS.to_vec())]
        status: String,
        /// A note (the outcome, when closing).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Crisis intervention (危机干预).
    Crisis {
        #[command(subcommand)]
        what: CrisisCommand,
    },
    /// Record a follow-up visit or call.
    Visit {
        /// The case.
        case: String,
        /// Minutes spent.
        #[arg(long)]
        minutes: u32,
        /// What happened.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Add a case note.
    Note {
        /// The case.
        case: String,
        /// The note.
        #[arg(long)]
        text: String,
    },
    /// Make a social worker, counselor or clinician responsible for a case.
    Assign {
        /// The case.
        case: String,
        /// The worker.
        #[arg(long)]
        worker: String,
    },
    /// Show a case file's state.
    Show {
        /// The case.
        case: String,
    },
    /// List case files, highest tier first.
    List {
        /// Only this household's.
        #[arg(long)]
        household: Option<String>,
    },
    /// What is due: open crises, reviews, referrals, follow-ups, re-screens.
    Due {
        /// Only this worker's.
        #[arg(long)]
        worker: Option<String>,
        /// Include what falls due within this many days.
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
}

/// Crisis commands.
#[derive(Subcommand, Debug)]
pub enum CrisisCommand {
    /// Open a crisis for a resident (creates the case file if needed).
    Open {
        /// The household.
        #[arg(long)]
        household: String,
        /// The resident.
        #[arg(long)]
        resident: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Record something done.
    Act {
        /// The case.
        case: String,
        /// The crisis.
        crisis: String,
        /// What was done.
        #[arg(long, value_parser = CrisisStep::WORDS.to_vec())]
        step: String,
        /// Details.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// A counselor or clinician closes the crisis.
    Close {
        /// The case.
        case: String,
        /// The crisis.
        crisis: String,
        /// The tier after the crisis.
        #[arg(long, value_parser = Tier::WORDS.to_vec())]
        tier_after: String,
        /// Details.
        #[arg(long, default_value = "")]
        note: String,
    },
}

fn worker_author(acting: &Option<String>) -> Result<Author, Failure> {
    match acting {
        Some(w) => Ok(Author::Worker(WorkerId::parse(w, "--as")?)),
        None => Err(Failure::input(
            "this command records who acted: give --as WORKER_ID (see `anxin workers`)",
        )),
    }
}

fn case_id(text: &str) -> Result<CaseId, Failure> {
    CaseId::parse(text, "case").map_err(Failure::from)
}

fn print_state(state: &anxin_core::screening::case::CaseState, json: bool) {
    if json {
        print_json(state);
        return;
    }
    use anxin_core::labels::Vocabulary;
    let tier = |t: Tier| crate::ui::word(Vocabulary::Tier, t.as_str());
    println!(
        "{}",
        crate::tr!(
            "tier {t} ({code})",
            "风险等级 {t}（{code}）",
            t = tier(state.tier),
            code = state.tier
        )
    );
    for r in &state.tier_reasons {
        println!("  {r}");
    }
    for s in &state.screenings {
        let what: Vec<String> = s.results.iter().map(describe).collect();
        println!(
            "{}",
            crate::tr!(
                "screening {id} at {at}: {what}{review}",
                "筛查 {id}（{at}）：{what}{review}",
                id = s.id,
                at = format_time(s.at),
                what = what.join("; "),
                review = match (&s.review, s.review_due) {
                    (Some(r), _) =>
                        crate::tr!(" — reviewed: {t}", " — 已复核：{t}", t = tier(r.tier)),
                    (None, Some(due)) => crate::tr!(
                        " — review due {due}",
                        " — 须于 {due} 前复核",
                        due = format_time(due)
                    ),
                    _ => String::new(),
                }
            )
        );
    }
    for r in &state.referrals {
        println!(
            "{}",
            crate::tr!(
                "referral {id} → {to} ({tier}): {status}{escalated}",
                "转介 {id} → {to}（{tier}）：{status}{escalated}",
                id = r.id,
                to = r.to,
                tier = tier(r.tier),
                status = crate::ui::word(Vocabulary::ReferralStatus, r.status.as_str()),
                escalated = if r.escalated {
                    crate::tr!(
                        " ESCALATED: not acknowledged in time",
                        " 已升级：未按时确认"
                    )
                } else {
                    String::new()
                }
            )
        );
    }
    for c in &state.crises {
        println!(
            "{}",
            crate::tr!(
                "crisis {id} opened {at}: {n} actions, {state}",
                "危机 {id}（{at} 建立）：已采取 {n} 项措施，{state}",
                id = c.id,
                at = format_time(c.opened_at),
                n = c.actions.len(),
                state = match &c.closed {
                    Some((at, _, t)) => crate::tr!(
                        "closed {at} → {t}",
                        "已于 {at} 解除 → {t}",
                        at = format_time(*at),
                        t = tier(*t)
                    ),
                    None => crate::tr!("OPEN", "处置中"),
                }
            )
        );
    }
    for d in &state.due {
        println!(
            "{}",
            crate::tr!(
                "due: {what} by {due}",
                "待办：{what}，截止 {due}",
                what = crate::ui::word(Vocabulary::DueKind, d.what),
                due = format_time(d.due_at)
            )
        );
    }
    for c in &state.conflicts {
        println!("{}", crate::tr!("conflict: {c}", "冲突：{c}", c = c));
    }
}

pub fn run_case(
    store: &mut Store,
    cmd: &CaseCommand,
    acting: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let now = now_millis();
    match cmd {
        CaseCommand::Screen {
            household,
            resident,
            instruments,
            answers,
            cutoffs,
            convention,
            language,
            licensed_texts,
        } => {
            if instruments.len() != answers.len() {
                return Err(Failure::input(crate::tr!(
                    "give one --answers for each --instrument",
                    "每个 --instrument 都要对应一个 --answers"
                )));
            }
            let lib = library(licensed_texts)?;
            let has_conventions = |id: &str| lib.get(id).is_ok_and(|i| !i.conventions.is_empty());
            if convention.is_some() && !instruments.iter().any(|i| has_conventions(i)) {
                return Err(Failure::input(
                    "--convention: no instrument of this sitting has scoring conventions (K6, K10 do)",
                ));
            }
            let mut results = Vec::new();
            for (i, a) in instruments.iter().zip(answers) {
                let args = ScoreArgs {
                    instrument: i.clone(),
                    answers: a.split(',').map(String::from).collect(),
                    cutoffs: cutoffs.clone(),
                    language: language.clone(),
                    convention: convention.clone().filter(|_| has_conventions(i)),
                    licensed_texts: Vec::new(),
                };
                results.push(score_args(&args, &lib, store.policy())?);
            }
            let rec = store.cases_mut().record_screening(
                &worker_author(acting)?,
                NewScreening {
                    household_id: HouseholdId::parse(household, "--household")?,
                    resident_id: ResidentId::parse(resident, "--resident")?,
                    team: None,
                    results: results.clone(),
                },
                &lib,
            )?;
            if json {
                print_json(&serde_json::json!({
                    "case": rec.case_id,
                    "screening": rec.screening,
                    "tier": rec.decision.tier,
                    "reasons": rec.decision.reasons,
                    "case_tier": rec.case_tier,
                    "crisis_opened": rec.crisis_opened,
                    "open_crises": rec.open_crises,
                    "results": results,
                }));
            } else {
                for r in &results {
                    println!("{}", describe(r));
                }
                let zh = crate::ui::language() != anxin_core::labels::Language::En;
                let tier = |t: Tier| {
                    if zh {
                        crate::ui::word(anxin_core::labels::Vocabulary::Tier, t.as_str())
                    } else {
                        t.to_string()
                    }
                };
                println!(
                    "{}",
                    crate::tr!(
                        "case {case} screening {screening}: {tier} (case {case_tier})",
                        "个案 {case} 筛查 {screening}：{tier}（个案等级 {case_tier}）",
                        case = rec.case_id,
                        screening = rec.screening,
                        tier = tier(rec.decision.tier),
                        case_tier = tier(rec.case_tier)
                    )
                );
                for r in &rec.decision.reasons {
                    println!("  {r}");
                }
                match (&rec.crisis_opened, rec.open_crises.first()) {
                    (Some(c), _) => println!(
                        "{}",
                        crate::tr!(
                            "CRISIS {c} opened: do not leave the person alone; call the on-call counselor (120/110 if life is in danger)",
                            "危机 {c} 已建立：不要让当事人独处；立即联系值班心理咨询师（生命危急请拨 120/110）",
                            c = c
                        )
                    ),
                    (None, Some(c)) if rec.decision.tier == Tier::Crisis => println!(
                        "{}",
                        crate::tr!(
                            "covered by the open crisis {c}: add this to its actions",
                            "已在处置中的危机 {c} 之内：请把本次情况记入其处置措施",
                            c = c
                        )
                    ),
                    _ => {}
                }
            }
        }
        CaseCommand::Review {
            case,
            screening,
            tier,
            reason,
        } => {
            let state = store.cases_mut().review_screening(
                &worker_author(acting)?,
                &case_id(case)?,
                &EventId::parse(screening, "--screening")?,
                Tier::parse(tier, "--tier")?,
                reason,
            )?;
            print_state(&state, json);
        }
        CaseCommand::Refer {
            case,
            tier,
            to,
            reason,
        } => {
            let r = store.cases_mut().refer(
                &worker_author(acting)?,
                &case_id(case)?,
                Tier::parse(tier, "--tier")?,
                to,
                reason,
            )?;
            if json {
                print_json(&serde_json::json!({ "referral": r }));
            } else {
                println!(
                    "{}",
                    crate::tr!("referral {r} proposed", "已提出转介 {r}", r = r)
                );
            }
        }
        CaseCommand::Referral {
            case,
            referral,
            status,
            note,
        } => {
            let state = store.cases_mut().update_referral(
                &worker_author(acting)?,
                &case_id(case)?,
                &EventId::parse(referral, "referral")?,
                ReferralStatus::parse(status, "--status")?,
                note,
            )?;
            print_state(&state, json);
        }
        CaseCommand::Crisis { what } => match what {
            CrisisCommand::Open {
                household,
                resident,
                reason,
            } => {
                let (case, crisis) = store.cases_mut().open_crisis(
                    &worker_author(acting)?,
                    &HouseholdId::parse(household, "--household")?,
                    &ResidentId::parse(resident, "--resident")?,
                    reason,
                )?;
                if json {
                    print_json(&serde_json::json!({ "case": case, "crisis": crisis }));
                } else {
                    println!(
                        "{}",
                        crate::tr!(
                            "crisis {crisis} opened in case {case}: do not leave the person alone",
                            "已在个案 {case} 中建立危机 {crisis}：不要让当事人独处",
                            crisis = crisis,
                            case = case
                        )
                    );
                }
            }
            CrisisCommand::Act {
                case,
                crisis,
                step,
                note,
            } => {
                let state = store.cases_mut().crisis_action(
                    &worker_author(acting)?,
                    &case_id(case)?,
                    &EventId::parse(crisis, "crisis")?,
                    CrisisStep::parse(step, "--step")?,
                    note,
                )?;
                print_state(&state, json);
            }
            CrisisCommand::Close {
                case,
                crisis,
                tier_after,
                note,
            } => {
                let state = store.cases_mut().close_crisis(
                    &worker_author(acting)?,
                    &case_id(case)?,
                    &EventId::parse(crisis, "crisis")?,
                    Tier::parse(tier_after, "--tier-after")?,
                    note,
                )?;
                print_state(&state, json);
            }
        },
        CaseCommand::Visit {
            case,
            minutes,
            note,
        } => {
            let state = store.cases_mut().case_entry(
                &worker_author(acting)?,
                &case_id(case)?,
                CaseAction::Visit {
                    minutes: *minutes,
                    note: note.clone(),
                },
            )?;
            print_state(&state, json);
        }
        CaseCommand::Note { case, text } => {
            let state = store.cases_mut().case_entry(
                &worker_author(acting)?,
                &case_id(case)?,
                CaseAction::Note { text: text.clone() },
            )?;
            print_state(&state, json);
        }
        CaseCommand::Assign { case, worker } => {
            let state = store.cases_mut().case_entry(
                &worker_author(acting)?,
                &case_id(case)?,
                CaseAction::Assigned {
                    worker: WorkerId::parse(worker, "--worker")?,
                },
            )?;
            print_state(&state, json);
        }
        CaseCommand::Show { case } => {
            let (_, state) = store.cases().case(&case_id(case)?, now)?;
            print_state(&state, json);
        }
        CaseCommand::List { household } => {
            let h = household
                .as_deref()
                .map(|h| HouseholdId::parse(h, "--household"))
                .transpose()?;
            let rows = store.cases().list(h.as_ref())?;
            if json {
                print_json(&rows);
            } else {
                for r in rows {
                    println!(
                        "{}",
                        crate::tr!(
                            "{id} {tier}  resident {resident}  screenings {n}  open crises {crises}",
                            "{id} {tier}  居民 {resident}  筛查 {n} 次  处置中危机 {crises}",
                            id = r.id,
                            tier = crate::ui::word(anxin_core::labels::Vocabulary::Tier, r.tier.as_str()),
                            resident = r.resident_id,
                            n = r.screenings,
                            crises = r.open_crises
                        )
                    );
                }
            }
        }
        CaseCommand::Due { worker, days } => {
            let w = worker
                .as_deref()
                .map(|w| WorkerId::parse(w, "--worker"))
                .transpose()?;
            // Up to the end of the station's local day `days` days ahead.
            let local = crate::ui::local_time();
            let horizon = local
                .day_of(now + i64::from(*days) * anxin_core::localtime::DAY)
                .1
                - 1;
            let rows = store.cases().cases_due(w.as_ref(), now, horizon)?;
            if json {
                print_json(&rows);
            } else if rows.is_empty() {
                println!("{}", crate::tr!("nothing due", "没有待办"));
            } else {
                use anxin_core::labels::Vocabulary;
                let mut by_what: BTreeMap<&str, usize> = BTreeMap::new();
                for r in &rows {
                    *by_what.entry(r.what.as_str()).or_default() += 1;
                    println!(
                        "{}",
                        crate::tr!(
                            "{what}  {due}  case {case} ({tier}){late}",
                            "{what}  {due}  个案 {case}（{tier}）{late}",
                            what = crate::ui::word(Vocabulary::DueKind, &r.what),
                            due = format_time(r.due_at),
                            case = r.case_id,
                            tier = crate::ui::word(Vocabulary::Tier, r.tier.as_str()),
                            late = if r.overdue {
                                crate::tr!(" OVERDUE", " 已逾期")
                            } else {
                                String::new()
                            }
                        )
                    );
                }
                let summary: Vec<String> = by_what
                    .iter()
                    .map(|(k, v)| format!("{} {v}", crate::ui::word(Vocabulary::DueKind, k)))
                    .collect();
                println!("{}", summary.join(crate::ui::sep()));
            }
        }
    }
    Ok(())
}
