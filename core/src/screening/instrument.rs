//! Instrument definitions: the data shipped in `core/instruments/`, resolved
//! into one `Instrument` per questionnaire, and the licensed item texts a
//! deployment loads at run time.
//!
//! An instrument file states items, answer options, reverse keying, skip
//! logic (`show_if`), red-flag items, subscales, bands, cutoff sets, LOINC
//! codes, the licence and where each translation comes from. Values the
//! reference marks unverified carry `"configurable": true` in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::ScreeningError;

/// Texts by language tag (`en`, `zh-Hans`, `zh-Hant`).
pub type Texts = BTreeMap<String, String>;

/// A language an instrument can be administered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Language {
    /// Simplified Chinese.
    #[serde(rename = "zh-Hans")]
    ZhHans,
    /// Traditional Chinese.
    #[serde(rename = "zh-Hant")]
    ZhHant,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Language {
    /// Every language texts are shipped in.
    pub const ALL: [Language; 3] = [Language::ZhHans, Language::ZhHant, Language::En];

    /// The BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Language::ZhHans => "zh-Hans",
            Language::ZhHant => "zh-Hant",
            Language::En => "en",
        }
    }

    /// Parses a tag: `zh-Hans`, `zh-Hant`, `en`, and the platform forms
    /// apps and systems give (`zh-Hans-CN`, `zh_Hant_TW`, `zh-CN`, `zh-HK`,
    /// `en-US`, `en_GB`), case-insensitively.
    pub fn parse(tag: &str) -> Result<Language, ScreeningError> {
        let norm = tag.trim().replace('_', "-").to_ascii_lowercase();
        let parts: Vec<&str> = norm.split('-').collect();
        let traditional = |p: &[&str]| {
            p.contains(&"hant")
                || (!p.contains(&"hans") && p.iter().any(|r| matches!(*r, "tw" | "hk" | "mo")))
        };
        match parts.first().copied() {
            Some("zh") if traditional(&parts) => Ok(Language::ZhHant),
            Some("zh") => Ok(Language::ZhHans),
            Some("en") => Ok(Language::En),
            _ => Err(ScreeningError::UnknownOption {
                what: "language",
                value: tag.chars().take(20).collect(),
                known: "zh-Hans, zh-Hant, en".into(),
            }),
        }
    }
}

/// Whether a higher score is worse (most instruments) or better (WHO-5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher means more symptoms.
    #[default]
    HigherIsWorse,
    /// Higher means better well-being.
    HigherIsBetter,
}

/// The licence of an instrument's texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    /// Whether Anxin ships the item texts. When false, the texts come from a
    /// deployment's licensed file (`Library::load_licensed_texts`).
    pub texts_shipped: bool,
    /// The copyright or licence notice to display with the instrument.
    pub notice: String,
    /// The licence terms are not verified yet.
    #[serde(default)]
    pub unverified: bool,
}

/// LOINC codes of the panel and the total, where known and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Loinc {
    /// The questionnaire panel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub panel: Option<String>,
    /// The total score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
}

/// One answer option of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerOption {
    /// The number the instrument's form assigns to the option (its score
    /// before reverse keying).
    pub value: i32,
    /// The option's label per language (empty for licensed instruments
    /// until their texts are loaded).
    #[serde(default)]
    pub text: Texts,
    /// The LOINC answer code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<String>,
}

/// Skip logic: the item is asked only when an earlier item's answer is at
/// least a value (the PC-PTSD-5 gate, the C-SSRS flow).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShowIf {
    /// The earlier item.
    pub item: String,
    /// The least answer that shows this item.
    pub at_least: i32,
}

/// An item whose answer must be acted on at once, whatever the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedFlag {
    /// The least item score (after reverse keying) that raises it.
    pub score_at_least: i32,
    /// The flag raised, e.g. `suicidal_ideation`.
    pub flag: String,
}

/// One item of an instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDef {
    /// The item's id within the instrument (`1`, `9`, `gate`, `6b`).
    pub id: String,
    /// Copies text, options and LOINC code from another instrument's item
    /// (`phq9:1`); resolved when the library loads.
    #[serde(default, skip_serializing)]
    pub from: Option<String>,
    /// The item's LOINC code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loinc: Option<String>,
    /// The question per language.
    #[serde(default)]
    pub text: Texts,
    /// The option set's name (resolved into `choices`).
    #[serde(default, skip_serializing)]
    pub options: Option<String>,
    /// The answer options.
    #[serde(default)]
    pub choices: Vec<AnswerOption>,
    /// Scored the other way round: score = highest + lowest value - answer.
    #[serde(default)]
    pub reverse: bool,
    /// Counts towards the total (PHQ-9 item 10 and the PC-PTSD-5 gate do not).
    #[serde(default = "yes")]
    pub scored: bool,
    /// May be left unanswered without making the result incomplete.
    #[serde(default)]
    pub optional: bool,
    /// Skip logic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<ShowIf>,
    /// Red flag raised by this item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub red_flag: Option<RedFlag>,
    /// Another flag raised by this item, e.g. `severe_impairment` from the
    /// PHQ-9 difficulty item answered "extremely difficult": it goes into the
    /// result's flags for the policy's triggers, not into its red flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag: Option<RedFlag>,
}

fn yes() -> bool {
    true
}

impl ItemDef {
    /// The lowest and highest option values.
    pub fn value_range(&self) -> (i32, i32) {
        let min = self.choices.iter().map(|o| o.value).min().unwrap_or(0);
        let max = self.choices.iter().map(|o| o.value).max().unwrap_or(0);
        (min, max)
    }

    /// The item's score for an answer (base convention), reverse keying applied.
    pub fn score_of(&self, value: i32) -> i32 {
        if self.reverse {
            let (min, max) = self.value_range();
            min + max - value
        } else {
            value
        }
    }

    /// The allowed values as text, for errors.
    pub fn allowed_text(&self, offset: i32) -> String {
        let values: Vec<i32> = self.choices.iter().map(|o| o.value + offset).collect();
        let contiguous = values.windows(2).all(|w| (w[1] - w[0]).abs() == 1);
        let (min, max) = (
            values.iter().min().copied().unwrap_or(0),
            values.iter().max().copied().unwrap_or(0),
        );
        if contiguous && values.len() > 2 {
            format!("{min}-{max}")
        } else {
            let mut sorted = values.clone();
            sorted.sort();
            sorted
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// A named group of items scored together (PHQ-4 parts, PCL-5 clusters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscale {
    /// The subscale's id.
    pub id: String,
    /// Its items.
    pub items: Vec<String>,
}

/// A diagnostic-style rule over subscales: count items endorsed at or above
/// a score, and require a number per subscale (the PCL-5 provisional
/// diagnosis).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    /// The flag raised when met.
    pub flag: String,
    /// An item counts as endorsed at this score or above.
    pub endorse_at: i32,
    /// Endorsed items needed per subscale.
    pub need: BTreeMap<String, u32>,
}

/// Classification by the most severe item endorsed (C-SSRS).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRule {
    /// The risk level.
    pub level: String,
    /// Any of these items answered yes gives this level.
    pub any_of: Vec<String>,
}

/// A severity band of the total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    /// Lowest total in the band.
    pub min: i32,
    /// Highest total in the band.
    pub max: i32,
    /// The band's name, e.g. `moderate`.
    pub name: String,
}

/// The thresholds of one cutoff set (`international`, `zh-CN`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Cutoffs {
    /// Positive when the total is at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_at: Option<i32>,
    /// Positive when the total is below this (higher-is-better instruments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub positive_below: Option<i32>,
    /// Positive when any scored item is at most this (WHO-5: an item at 0-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_at_most: Option<i32>,
    /// Positive when a subscale is at least its value.
    #[serde(default)]
    pub subscales: BTreeMap<String, i32>,
    /// Where the values come from.
    pub source: String,
    /// The value is a proposal or unverified [U]: a deployment's
    /// professional lead should confirm it.
    #[serde(default)]
    pub configurable: bool,
}

/// A scoring convention (K6/K10: answers 0-4 or 1-5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Convention {
    /// Its name, e.g. `0-4`.
    pub id: String,
    /// Added to every option value in this convention.
    pub offset: i32,
}

/// What to do with unanswered items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MissingRule {
    /// The result is invalid when this many items or more are blank; fewer
    /// blanks count as 0 (PSC-17). Without a rule, every item is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_at: Option<usize>,
    /// A subscale with at least this many items answered is prorated (SDQ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prorate_subscales_min_answered: Option<usize>,
    /// The rule in words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// One questionnaire, resolved and ready to administer and score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instrument {
    /// Lower-case id without punctuation (`phq9`).
    pub id: String,
    /// The definition's version, recorded with every result.
    pub version: String,
    /// The usual short name (`PHQ-9`).
    pub name: String,
    /// The full title per language.
    pub title: Texts,
    /// The question stem per language.
    #[serde(default)]
    pub stem: Texts,
    /// Take the stem from another instrument.
    #[serde(default, skip_serializing)]
    pub stem_from: Option<String>,
    /// The licence of the texts.
    pub licence: Licence,
    /// Where each language's texts come from (original wording, working
    /// translation to be replaced by a validated one...).
    #[serde(default)]
    pub translations: BTreeMap<String, String>,
    /// Take the translation notes from another instrument.
    #[serde(default, skip_serializing)]
    pub translations_from: Option<String>,
    /// LOINC codes of panel and total.
    #[serde(default)]
    pub loinc: Loinc,
    /// Whether higher is worse or better.
    #[serde(default)]
    pub direction: Direction,
    /// Percentage = total × this (WHO-5: 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent_factor: Option<i32>,
    /// The default option set's name.
    #[serde(default, skip_serializing)]
    pub options: Option<String>,
    /// Scoring conventions; the first is the default.
    #[serde(default)]
    pub conventions: Vec<Convention>,
    /// The convention bands and cutoffs are stated in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bands_convention: Option<String>,
    /// The items in form order.
    pub items: Vec<ItemDef>,
    /// Subscales.
    #[serde(default)]
    pub subscales: Vec<Subscale>,
    /// The total is the sum of these subscales (SDQ total difficulties)
    /// instead of the sum of scored items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_from_subscales: Option<Vec<String>>,
    /// No total score (C-SSRS: classified by the most severe item).
    #[serde(default)]
    pub no_total: bool,
    /// Diagnostic-style rules.
    #[serde(default)]
    pub criteria: Vec<Criterion>,
    /// Risk classification by the most severe item, most severe first.
    #[serde(default)]
    pub risk: Vec<RiskRule>,
    /// Severity bands of the total.
    #[serde(default)]
    pub bands: Vec<Band>,
    /// Bands that differ in a cutoff set.
    #[serde(default)]
    pub bands_by_cutoffs: BTreeMap<String, Vec<Band>>,
    /// Cutoff sets by name.
    #[serde(default)]
    pub cutoffs: BTreeMap<String, Cutoffs>,
    /// Missing-data rule.
    #[serde(default)]
    pub missing: MissingRule,
    /// Youngest age the instrument is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<u32>,
    /// How answers map to form options, where it is not obvious.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_convention: Option<String>,
    /// Notes for the professional lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Parts of the definition still to verify against the official form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unverified: Vec<String>,
    /// Published sources.
    #[serde(default)]
    pub sources: Vec<String>,
}

impl Instrument {
    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&ItemDef> {
        self.items.iter().find(|i| i.id == id)
    }

    /// The offset of a convention (`None`: the default, the first listed).
    pub fn convention_offset(
        &self,
        convention: Option<&str>,
    ) -> Result<(String, i32), ScreeningError> {
        match (convention, self.conventions.first()) {
            (None, None) => Ok((String::new(), 0)),
            (None, Some(c)) => Ok((c.id.clone(), c.offset)),
            (Some(name), _) => self
                .conventions
                .iter()
                .find(|c| c.id == name)
                .map(|c| (c.id.clone(), c.offset))
                .ok_or_else(|| ScreeningError::UnknownOption {
                    what: "scoring convention",
                    value: name.chars().take(20).collect(),
                    known: if self.conventions.is_empty() {
                        format!("{} has one convention", self.id)
                    } else {
                        self.conventions
                            .iter()
                            .map(|c| c.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                }),
        }
    }

    /// The offset of the convention bands are stated in.
    pub fn bands_offset(&self) -> i32 {
        self.bands_convention
            .as_deref()
            .and_then(|b| self.conventions.iter().find(|c| c.id == b))
            .map(|c| c.offset)
            .unwrap_or(0)
    }

    /// Whether every item has a text in `language`.
    pub fn has_texts(&self, language: Language) -> bool {
        self.items
            .iter()
            .all(|i| i.text.contains_key(language.tag()))
    }

    /// Whether an item is asked, given the answers so far.
    pub fn is_shown(&self, item: &ItemDef, answers: &BTreeMap<String, i32>) -> bool {
        match &item.show_if {
            None => true,
            Some(cond) => {
                let parent_shown = self
                    .item(&cond.item)
                    .map(|p| self.is_shown(p, answers))
                    .unwrap_or(false);
                parent_shown && answers.get(&cond.item).is_some_and(|v| *v >= cond.at_least)
            }
        }
    }
}

/// Every instrument Anxin knows, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    instruments: BTreeMap<String, Instrument>,
}

/// The shipped definition files, by name.
const FILES: &[(&str, &str)] = &[
    ("phq9.json", include_str!("../../instruments/phq9.json")),
    ("phq2.json", include_str!("../../instruments/phq2.json")),
    ("phq4.json", include_str!("../../instruments/phq4.json")),
    ("gad7.json", include_str!("../../instruments/gad7.json")),
    ("gad2.json", include_str!("../../instruments/gad2.json")),
    ("pcl5.json", include_str!("../../instruments/pcl5.json")),
    (
        "pcptsd5.json",
        include_str!("../../instruments/pcptsd5.json"),
    ),
    ("k10.json", include_str!("../../instruments/k10.json")),
    ("k6.json", include_str!("../../instruments/k6.json")),
    ("who5.json", include_str!("../../instruments/who5.json")),
    ("gds15.json", include_str!("../../instruments/gds15.json")),
    ("srq20.json", include_str!("../../instruments/srq20.json")),
    ("psc17.json", include_str!("../../instruments/psc17.json")),
    ("cries8.json", include_str!("../../instruments/cries8.json")),
    ("isi.json", include_str!("../../instruments/isi.json")),
    ("cssrs.json", include_str!("../../instruments/cssrs.json")),
    ("epds.json", include_str!("../../instruments/epds.json")),
    ("sdq.json", include_str!("../../instruments/sdq.json")),
];
const OPTIONS: &str = include_str!("../../instruments/options.json");

fn bad(file: &str, reason: impl Into<String>) -> ScreeningError {
    ScreeningError::BadFile {
        file: file.to_string(),
        reason: reason.into(),
    }
}

/// Longest item or option text accepted from a licensed-texts file.
const MAX_TEXT: usize = 2_000;

/// A deployment's licensed item texts for one instrument.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LicensedTexts {
    instrument: String,
    version: String,
    /// The deployment's licence reference (recorded, not checked).
    licence: String,
    #[serde(default)]
    title: Texts,
    #[serde(default)]
    stem: Texts,
    /// Item texts by item id.
    items: BTreeMap<String, Texts>,
    /// Option labels per item (several instruments word them per item),
    /// in the order of the item's options.
    #[serde(default)]
    options: BTreeMap<String, Vec<Texts>>,
}

impl Library {
    /// The instruments shipped with Anxin (parsed once per process).
    pub fn builtin() -> Result<&'static Library, ScreeningError> {
        static BUILTIN: OnceLock<Result<Library, ScreeningError>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| Library::parse(FILES, OPTIONS))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Parses definition files and resolves shared option sets and `from`
    /// references.
    pub fn parse(files: &[(&str, &str)], options: &str) -> Result<Library, ScreeningError> {
        let sets: BTreeMap<String, Vec<AnswerOption>> =
            serde_json::from_str(options).map_err(|e| bad("options.json", e.to_string()))?;
        let mut raw = BTreeMap::new();
        for (name, text) in files {
            let inst: Instrument =
                serde_json::from_str(text).map_err(|e| bad(name, e.to_string()))?;
            raw.insert(inst.id.clone(), inst);
        }
        let snapshot = raw.clone();
        for inst in raw.values_mut() {
            let file = format!("{}.json", inst.id);
            if let Some(other) = inst.stem_from.take() {
                inst.stem = snapshot
                    .get(&other)
                    .ok_or_else(|| bad(&file, format!("stem_from names unknown `{other}`")))?
                    .stem
                    .clone();
            }
            if let Some(other) = inst.translations_from.take() {
                inst.translations = snapshot
                    .get(&other)
                    .ok_or_else(|| {
                        bad(&file, format!("translations_from names unknown `{other}`"))
                    })?
                    .translations
                    .clone();
            }
            let default_set = inst.options.clone();
            for item in &mut inst.items {
                if let Some(from) = item.from.take() {
                    let (other, other_item) = from
                        .split_once(':')
                        .ok_or_else(|| bad(&file, format!("bad `from` {from}")))?;
                    let src = snapshot
                        .get(other)
                        .and_then(|i| i.item(other_item))
                        .ok_or_else(|| bad(&file, format!("`from` names unknown {from}")))?;
                    item.text = src.text.clone();
                    item.loinc = src.loinc.clone();
                    if item.options.is_none() {
                        item.options = src
                            .options
                            .clone()
                            .or_else(|| snapshot.get(other).and_then(|i| i.options.clone()));
                    }
                }
                let set = item
                    .options
                    .clone()
                    .or_else(|| default_set.clone())
                    .ok_or_else(|| bad(&file, format!("item {} has no options", item.id)))?;
                item.choices = sets
                    .get(&set)
                    .ok_or_else(|| bad(&file, format!("unknown option set `{set}`")))?
                    .clone();
                item.options = Some(set);
            }
            validate_definition(inst).map_err(|r| bad(&file, r))?;
        }
        Ok(Library { instruments: raw })
    }

    /// The instrument with this id.
    pub fn get(&self, id: &str) -> Result<&Instrument, ScreeningError> {
        self.instruments
            .get(id)
            .ok_or_else(|| ScreeningError::UnknownInstrument(id.chars().take(30).collect()))
    }

    /// Every instrument, by id.
    pub fn all(&self) -> impl Iterator<Item = &Instrument> {
        self.instruments.values()
    }

    /// Loads a deployment's licensed item texts (JSON) into a copy of the
    /// library. The file is checked whole before anything changes: an
    /// instrument whose texts are not shipped, the same definition version,
    /// a text for every item in every language it provides, option labels
    /// matching the item's options, no unknown items. A malformed file is
    /// refused with the reason and changes nothing.
    pub fn with_licensed_texts(
        &self,
        file_name: &str,
        json: &str,
    ) -> Result<Library, ScreeningError> {
        let texts: LicensedTexts =
            serde_json::from_str(json).map_err(|e| bad(file_name, e.to_string()))?;
        let inst = self.instruments.get(&texts.instrument).ok_or_else(|| {
            bad(
                file_name,
                format!("unknown instrument `{}`", texts.instrument),
            )
        })?;
        if inst.licence.texts_shipped {
            return Err(bad(
                file_name,
                format!(
                    "{} ships its own texts; only licensed instruments take a texts file",
                    inst.id
                ),
            ));
        }
        if texts.version != inst.version {
            return Err(bad(
                file_name,
                format!(
                    "written for version {}, this build has {}",
                    texts.version, inst.version
                ),
            ));
        }
        if texts.licence.trim().is_empty() {
            return Err(bad(file_name, "the licence reference is empty"));
        }
        let languages: BTreeSet<&String> = texts.items.values().flat_map(|t| t.keys()).collect();
        if languages.is_empty() {
            return Err(bad(file_name, "no item texts"));
        }
        for lang in &languages {
            Language::parse(lang)
                .map_err(|_| bad(file_name, format!("unknown language `{lang}`")))?;
        }
        let check_texts = |what: &str, t: &Texts| -> Result<(), ScreeningError> {
            for lang in &languages {
                match t.get(*lang) {
                    Some(s) if !s.trim().is_empty() && s.chars().count() <= MAX_TEXT => {}
                    Some(_) => {
                        return Err(bad(
                            file_name,
                            format!("{what}: empty or too long text in {lang}"),
                        ))
                    }
                    None => return Err(bad(file_name, format!("{what}: no text in {lang}"))),
                }
            }
            Ok(())
        };
        for id in texts.items.keys().chain(texts.options.keys()) {
            if inst.item(id).is_none() {
                return Err(bad(file_name, format!("unknown item `{id}`")));
            }
        }
        let mut updated = inst.clone();
        for item in &mut updated.items {
            let t = texts
                .items
                .get(&item.id)
                .ok_or_else(|| bad(file_name, format!("item {} has no text", item.id)))?;
            check_texts(&format!("item {}", item.id), t)?;
            item.text = t.clone();
            if let Some(labels) = texts.options.get(&item.id) {
                if labels.len() != item.choices.len() {
                    return Err(bad(
                        file_name,
                        format!(
                            "item {}: {} option labels for {} options",
                            item.id,
                            labels.len(),
                            item.choices.len()
                        ),
                    ));
                }
                for (choice, label) in item.choices.iter_mut().zip(labels) {
                    check_texts(&format!("item {} options", item.id), label)?;
                    choice.text = label.clone();
                }
            } else if item.choices.iter().any(|c| c.text.is_empty()) {
                return Err(bad(
                    file_name,
                    format!("item {} has no option labels", item.id),
                ));
            }
        }
        if !texts.title.is_empty() {
            updated.title = texts.title;
        }
        updated.stem = texts.stem;
        updated.translations = languages
            .iter()
            .map(|l| {
                (
                    (*l).clone(),
                    format!("licensed texts: {}", texts.licence.trim()),
                )
            })
            .collect();
        let mut library = self.clone();
        library.instruments.insert(updated.id.clone(), updated);
        Ok(library)
    }
}

/// Structural checks of a definition, so a mistake in a shipped file fails
/// the build's tests instead of a screening.
fn validate_definition(inst: &Instrument) -> Result<(), String> {
    let ids: BTreeSet<&str> = inst.items.iter().map(|i| i.id.as_str()).collect();
    if ids.len() != inst.items.len() {
        return Err("duplicate item ids".into());
    }
    if !inst
        .id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err("the id must be lower-case letters and digits".into());
    }
    for item in &inst.items {
        if item.choices.is_empty() {
            return Err(format!("item {} has no options", item.id));
        }
        if let Some(s) = &item.show_if {
            let pos = inst.items.iter().position(|i| i.id == s.item);
            let me = inst.items.iter().position(|i| i.id == item.id);
            if pos.is_none() || pos >= me {
                return Err(format!(
                    "item {}: show_if must name an earlier item",
                    item.id
                ));
            }
        }
        if inst.licence.texts_shipped {
            for lang in Language::ALL {
                if !item.text.contains_key(lang.tag()) {
                    return Err(format!("item {} has no {} text", item.id, lang.tag()));
                }
                if item
                    .choices
                    .iter()
                    .any(|c| !c.text.contains_key(lang.tag()))
                {
                    return Err(format!(
                        "item {} has options without {} text",
                        item.id,
                        lang.tag()
                    ));
                }
            }
        }
    }
    for s in &inst.subscales {
        if let Some(bad) = s.items.iter().find(|i| !ids.contains(i.as_str())) {
            return Err(format!("subscale {} names unknown item {bad}", s.id));
        }
    }
    for r in &inst.risk {
        if let Some(bad) = r.any_of.iter().find(|i| !ids.contains(i.as_str())) {
            return Err(format!("risk rule names unknown item {bad}"));
        }
    }
    let subscale_ids: BTreeSet<&str> = inst.subscales.iter().map(|s| s.id.as_str()).collect();
    for c in &inst.criteria {
        if let Some(bad) = c.need.keys().find(|s| !subscale_ids.contains(s.as_str())) {
            return Err(format!("criterion names unknown subscale {bad}"));
        }
    }
    for set in ["international", "zh-CN"] {
        let c = inst
            .cutoffs
            .get(set)
            .ok_or_else(|| format!("no `{set}` cutoff set"))?;
        if let Some(bad) = c
            .subscales
            .keys()
            .find(|s| !subscale_ids.contains(s.as_str()))
        {
            return Err(format!("cutoff names unknown subscale {bad}"));
        }
    }
    // Bands must tile the whole range of the total without gaps.
    for bands in std::iter::once(&inst.bands).chain(inst.bands_by_cutoffs.values()) {
        for w in bands.windows(2) {
            if w[1].min != w[0].max + 1 {
                return Err("bands must be contiguous".into());
            }
        }
    }
    Ok(())
}
