//! Stepping through a questionnaire item by item, as an app does with a
//! respondent: the next item in the respondent's language, skip logic, and
//! a red flag reported at the very answer that raised it — before anything
//! is saved — so the app can open the crisis path at once.

use std::collections::BTreeMap;

use serde::Serialize;

use super::instrument::{Instrument, ItemDef, Language};
use super::score::{score, ScoreOptions};
use super::ScreeningError;
use crate::model::ScreeningResult;

/// One answer option as shown to the respondent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptOption {
    /// The value to pass to `answer` (the form's number, in the convention
    /// chosen).
    pub value: i32,
    /// The label in the respondent's language.
    pub label: String,
}

/// The item to ask now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    /// The item's id.
    pub item: String,
    /// 1-based position among the items asked so far.
    pub position: usize,
    /// The stem ("Over the last 2 weeks...") in the respondent's language.
    pub stem: String,
    /// The question.
    pub text: String,
    /// The options, in form order.
    pub options: Vec<PromptOption>,
    /// Whether it may be left unanswered.
    pub optional: bool,
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Red flags this answer raised (e.g. `suicidal_ideation`): open the
    /// crisis path now.
    pub red_flags: Vec<String>,
    /// The next item, or `None` when every item asked is answered.
    pub next: Option<Prompt>,
}

/// A questionnaire being administered. Nothing is saved until the app
/// records the finished result in the case file.
#[derive(Debug, Clone)]
pub struct Administration {
    instrument: Instrument,
    language: Language,
    convention: Option<String>,
    offset: i32,
    answers: BTreeMap<String, i32>,
    declined: Vec<String>,
}

/// An interview in progress, as saved between answers: enough to resume it
/// exactly (the same instrument, language, convention, answers and declined
/// items). It holds answers: it is kept only in the store's own file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Draft {
    /// The instrument's id.
    pub instrument: String,
    /// The language's tag.
    pub language: String,
    /// The scoring convention, if the instrument has several.
    pub convention: Option<String>,
    /// The answers, by item id (in the convention's values).
    pub answers: BTreeMap<String, i32>,
    /// The items declined.
    pub declined: Vec<String>,
}

impl Administration {
    /// What to save to resume this interview later.
    pub fn draft(&self) -> Draft {
        Draft {
            instrument: self.instrument.id.clone(),
            language: self.language.tag().to_string(),
            convention: self.convention.clone(),
            answers: self.answers.clone(),
            declined: self.declined.clone(),
        }
    }

    /// Resumes a saved interview: starts it again and replays its answers
    /// in the instrument's order, each checked as when it was given (a
    /// draft that no longer fits the instrument is an error, never a
    /// wrong score). Red flags are not returned: they were raised when the
    /// answers were first given.
    pub fn resume(
        library: &super::Library,
        draft: &Draft,
    ) -> Result<Administration, ScreeningError> {
        let instrument = library.get(&draft.instrument)?;
        let language = Language::parse(&draft.language)?;
        let mut admin = Administration::start(instrument, language, draft.convention.as_deref())?;
        for item in &instrument.items {
            if let Some(value) = draft.answers.get(&item.id) {
                admin.answer(&item.id, *value)?;
            } else if draft.declined.contains(&item.id) {
                admin.decline(&item.id)?;
            }
        }
        if admin.answers != draft.answers {
            // An answer the skip logic hides, or to an unknown item.
            return Err(ScreeningError::UnknownOption {
                what: "draft",
                value: draft.instrument.clone(),
                known: "answers the instrument asks".into(),
            });
        }
        Ok(admin)
    }

    /// Starts a questionnaire in a language. Fails if the instrument has no
    /// texts in that language (a licensed instrument whose texts the
    /// deployment has not loaded).
    pub fn start(
        instrument: &Instrument,
        language: Language,
        convention: Option<&str>,
    ) -> Result<Administration, ScreeningError> {
        if !instrument.has_texts(language) {
            return Err(ScreeningError::NoTexts {
                instrument: instrument.id.clone(),
                language: language.tag().to_string(),
            });
        }
        let (name, offset) = instrument.convention_offset(convention)?;
        Ok(Administration {
            instrument: instrument.clone(),
            language,
            convention: if name.is_empty() { None } else { Some(name) },
            offset,
            answers: BTreeMap::new(),
            declined: Vec::new(),
        })
    }

    /// The instrument being administered.
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// The language it is asked in.
    pub fn language(&self) -> Language {
        self.language
    }

    /// The answers so far, by item id.
    pub fn answers(&self) -> &BTreeMap<String, i32> {
        &self.answers
    }

    fn base_answers(&self) -> BTreeMap<String, i32> {
        self.answers
            .iter()
            .map(|(k, v)| (k.clone(), v - self.offset))
            .collect()
    }

    fn prompt(&self, item: &ItemDef, position: usize) -> Prompt {
        let tag = self.language.tag();
        Prompt {
            item: item.id.clone(),
            position,
            stem: self.instrument.stem.get(tag).cloned().unwrap_or_default(),
            text: item.text.get(tag).cloned().unwrap_or_default(),
            options: item
                .choices
                .iter()
                .map(|o| PromptOption {
                    value: o.value + self.offset,
                    label: o.text.get(tag).cloned().unwrap_or_default(),
                })
                .collect(),
            optional: item.optional,
        }
    }

    /// The next item to ask: the first one shown by the skip logic that is
    /// neither answered nor declined.
    pub fn current(&self) -> Option<Prompt> {
        let base = self.base_answers();
        let mut position = 0;
        for item in &self.instrument.items {
            if !self.instrument.is_shown(item, &base) {
                continue;
            }
            position += 1;
            if !self.answers.contains_key(&item.id) && !self.declined.contains(&item.id) {
                return Some(self.prompt(item, position));
            }
        }
        None
    }

    /// Records an answer (or changes an earlier one). Answers to items the
    /// new answer hides (a gate answered No) are dropped. Returns the red
    /// flags this answer raised and the next item.
    pub fn answer(&mut self, item_id: &str, value: i32) -> Result<Step, ScreeningError> {
        let inst = &self.instrument;
        let item = inst
            .item(item_id)
            .ok_or_else(|| ScreeningError::UnknownItem {
                instrument: inst.id.clone(),
                item: item_id.chars().take(10).collect(),
            })?;
        if !item.choices.iter().any(|o| o.value + self.offset == value) {
            return Err(ScreeningError::OutOfRange {
                instrument: inst.id.clone(),
                item: item.id.clone(),
                allowed: item.allowed_text(self.offset),
            });
        }
        if !inst.is_shown(item, &self.base_answers()) {
            return Err(ScreeningError::NotAsked {
                instrument: inst.id.clone(),
                item: item.id.clone(),
            });
        }
        let mut red_flags = Vec::new();
        if let Some(flag) = &item.red_flag {
            if item.score_of(value - self.offset) >= flag.score_at_least {
                red_flags.push(flag.flag.clone());
            }
        }
        self.answers.insert(item.id.clone(), value);
        self.declined.retain(|d| d != item_id);
        // Drop answers the skip logic no longer asks for.
        loop {
            let base = self.base_answers();
            let hidden: Vec<String> = self
                .instrument
                .items
                .iter()
                .filter(|i| self.answers.contains_key(&i.id) && !self.instrument.is_shown(i, &base))
                .map(|i| i.id.clone())
                .collect();
            if hidden.is_empty() {
                break;
            }
            for h in hidden {
                self.answers.remove(&h);
            }
        }
        Ok(Step {
            red_flags,
            next: self.current(),
        })
    }

    /// The respondent declines an item: it stays blank, and the
    /// instrument's missing-data rule decides at `finish` whether the
    /// result is still valid.
    pub fn decline(&mut self, item_id: &str) -> Result<Option<Prompt>, ScreeningError> {
        if self.instrument.item(item_id).is_none() {
            return Err(ScreeningError::UnknownItem {
                instrument: self.instrument.id.clone(),
                item: item_id.chars().take(10).collect(),
            });
        }
        self.answers.remove(item_id);
        if !self.declined.iter().any(|d| d == item_id) {
            self.declined.push(item_id.to_string());
        }
        Ok(self.current())
    }

    /// The scoring convention the answers follow, if the instrument has
    /// several.
    pub fn convention(&self) -> Option<&str> {
        self.convention.as_deref()
    }

    /// Scores the answers. Fails, naming the item, if a required item is
    /// unanswered.
    /// `cutoffs`: the set to grade with; none = the policy's.
    pub fn finish(
        &self,
        cutoffs: Option<&str>,
        policy: &super::Policy,
    ) -> Result<ScreeningResult, ScreeningError> {
        score(
            &self.instrument,
            &self.answers,
            &ScoreOptions {
                cutoffs: policy.cutoffs_or_default(cutoffs).to_string(),
                convention: self.convention.clone(),
                language: self.language,
                policy,
            },
        )
    }
}
