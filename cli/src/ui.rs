//! What people read: the language and the time zone of this run, words for
//! stable codes, local times, and the `tr!` macro every sentence goes
//! through.
//!
//! The language is `--lang`, else `ANXIN_LANG`, else the station's own
//! (simplified Chinese for a station named in Chinese); English until a
//! store is open. Sentences are written in English and simplified Chinese
//! beside each other; traditional Chinese is converted from the simplified
//! text. `--json` output never passes through here: it keeps the codes.

use std::sync::RwLock;

use anxin_core::labels::{self, Language, Vocabulary};
use anxin_core::localtime::LocalTime;

struct Ui {
    language: Language,
    /// Whether `--lang` or `ANXIN_LANG` chose the language (the station's
    /// setting then does not override it).
    chosen: bool,
    time: LocalTime,
}

static UI: RwLock<Option<Ui>> = RwLock::new(None);

fn with<T>(f: impl FnOnce(&Ui) -> T) -> T {
    let guard = UI.read().unwrap_or_else(|e| e.into_inner());
    match guard.as_ref() {
        Some(ui) => f(ui),
        None => f(&Ui {
            language: Language::En,
            chosen: false,
            time: LocalTime::default(),
        }),
    }
}

/// Sets the language chosen on the command line or in `ANXIN_LANG`.
pub fn choose(language: Option<Language>) {
    let mut guard = UI.write().unwrap_or_else(|e| e.into_inner());
    *guard = Some(Ui {
        language: language.unwrap_or(Language::En),
        chosen: language.is_some(),
        time: LocalTime::default(),
    });
}

/// Adopts an open station's language (unless one was chosen) and zone.
pub fn adopt_station(language: Language, time: LocalTime) {
    let mut guard = UI.write().unwrap_or_else(|e| e.into_inner());
    let chosen = guard.as_ref().is_some_and(|u| u.chosen);
    let language = match guard.as_ref() {
        Some(u) if chosen => u.language,
        _ => language,
    };
    *guard = Some(Ui {
        language,
        chosen,
        time,
    });
}

/// The language of this run.
pub fn language() -> Language {
    with(|u| u.language)
}

/// The station's zone (Asia/Shanghai until a store is open).
pub fn local_time() -> LocalTime {
    with(|u| u.time.clone())
}

/// Traditional Chinese from simplified.
pub fn hant(simplified: &str) -> String {
    zhconv::zhconv(simplified, zhconv::Variant::ZhHant)
}

/// The word for a code in this run's language (the code when it has none).
pub fn word(vocabulary: Vocabulary, code: &str) -> String {
    labels::word(vocabulary, code, language())
}

/// Why a file could not be read or written, in this run's language (the
/// operating system's own message is English).
pub fn io_why(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => crate::tr!("no such file or folder", "文件或文件夹不存在"),
        ErrorKind::PermissionDenied => crate::tr!("permission denied", "没有权限"),
        ErrorKind::IsADirectory => crate::tr!("it is a folder", "这是一个文件夹"),
        ErrorKind::AlreadyExists => crate::tr!("it exists already", "已经存在"),
        ErrorKind::ReadOnlyFilesystem => crate::tr!("the place is read-only", "该位置只读"),
        ErrorKind::StorageFull => crate::tr!("the disk is full", "磁盘已满"),
        ErrorKind::InvalidData => crate::tr!("the content is not valid text", "内容不是有效的文本"),
        _ => crate::tr!("{e}", "读写失败（{e}）", e = e),
    }
}

/// A triage reason: its own word, or the word of the tag it is.
pub fn reason(code: &str) -> String {
    let lang = language();
    labels::label(Vocabulary::Reason, code, lang)
        .or_else(|| labels::label(Vocabulary::Tag, code, lang))
        .map(str::to_string)
        .unwrap_or_else(|| code.to_string())
}

/// The list separator of this run's language.
pub fn sep() -> &'static str {
    match language() {
        Language::En => ", ",
        _ => "、",
    }
}

/// The station's zone as people name it (北京时间 for Asia/Shanghai).
pub fn zone() -> String {
    let name = with(|u| u.time.name().to_string());
    match (name.as_str(), language()) {
        ("Asia/Shanghai", Language::ZhHans) => "北京时间".into(),
        ("Asia/Shanghai", Language::ZhHant) => "北京時間".into(),
        ("Asia/Shanghai", Language::En) => "Beijing time".into(),
        _ => name,
    }
}

/// A local date and time, `YYYY-MM-DD HH:MM`.
pub fn time(at: i64) -> String {
    with(|u| u.time.date_time(at))
}

/// A local date, `YYYY-MM-DD`.
pub fn date(at: i64) -> String {
    with(|u| u.time.date(at))
}

/// Fills `{name}` placeholders of a template in this run's language.
/// Traditional Chinese converts the template only, never the values (a
/// person's name is written as they write it).
pub fn fill(en: &str, zh: &str, args: &[(&str, String)]) -> String {
    let template = match language() {
        Language::En => en.to_string(),
        Language::ZhHans => zh.to_string(),
        Language::ZhHant => hant(zh),
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template.as_str();
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match args.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(key);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A sentence in this run's language:
/// `tr!("Station {name}", "站点{name}", name = station.name)`.
#[macro_export]
macro_rules! tr {
    ($en:literal, $zh:literal $(, $key:ident = $val:expr)* $(,)?) => {
        $crate::ui::fill($en, $zh, &[$((stringify!($key), ($val).to_string())),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_in_each_language_keeps_its_values_as_written() {
        choose(Some(Language::ZhHant));
        assert_eq!(
            tr!(
                "{n} households for {who}",
                "{who}的{n}户居民",
                n = 3,
                who = "刘建国"
            ),
            "刘建国的3戶居民"
        );
        choose(Some(Language::En));
        assert_eq!(tr!("{n} households", "{n}户", n = 3), "3 households");
        choose(None);
    }
}
