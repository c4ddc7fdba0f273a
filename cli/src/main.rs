//! `anxin`: the aid station's command line.
//!
//! Thin by design: every command parses its input, calls `anxin-core`, and
//! prints the result for people or (`--json`) for programs. Errors are one
//! readable line on stderr and a non-zero exit: 2 for bad input, 1 for
//! anything else. No business logic lives here.

mod bench;
mod demo;
mod devices;
mod orders;
mod print;
mod screening;
mod setup;
mod syncing;
mod today;
mod ui;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anxin_core::fixture::{self, FixtureSpec};
use anxin_core::model::{GridId, Role, ValidationError, WorkerId};
use anxin_core::screening::Policy;
use anxin_core::store::{Store, StoreError, StoreOptions};
use clap::{Parser, Subcommand};

/// Anxin (安心): offline-first records for neighbourhood aid stations.
#[derive(Parser, Debug)]
#[command(name = "anxin", version, about, long_about = None)]
struct Cli {
    /// The store file (an SQLite database).
    #[arg(long, global = true, value_name = "PATH")]
    store: Option<PathBuf>,
    /// A file holding the store's encryption key (a passphrase).
    #[arg(long, global = true, value_name = "PATH")]
    key_file: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// The language to read: zh-Hans, zh-Hant or en (also ANXIN_LANG);
    /// default: the station's. `--json` keeps the stable codes whatever
    /// the language.
    #[arg(long, global = true, value_name = "LANG")]
    lang: Option<String>,
    /// The worker acting (their id): recorded with every change.
    #[arg(long = "as", global = true, value_name = "WORKER_ID")]
    acting: Option<String>,
    /// Sign as yourself on a shared laptop: your identity file (from
    /// `anxin device identity`), opened with your passphrase (prompted, or
    /// ANXIN_PASSPHRASE). Needs `--as` naming you. A professional's
    /// sign-off (a review, closing a crisis) is made this way, never as the
    /// station.
    #[arg(long, global = true, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// A resident acting for their household (to rate an order).
    #[arg(long, global = true, value_name = "RESIDENT_ID")]
    as_resident: Option<String>,
    /// The deployment's referral policy (JSON, the shape of
    /// core/instruments/policy.json): tiers, deadlines, re-screen intervals.
    /// Every device of a station must use the same one.
    #[arg(long, global = true, value_name = "PATH")]
    policy: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a new store for a station, with its first station admin.
    Init {
        /// The station's name.
        #[arg(long)]
        station: String,
        /// The name of the station's first admin (站长), who then sets up
        /// grids, workers and rosters with `--as`.
        #[arg(long)]
        admin: Option<String>,
        /// The first admin's mobile number.
        #[arg(long, default_value = "", requires = "admin")]
        admin_phone: String,
        /// The station's language: zh-Hans, zh-Hant or en (default:
        /// simplified Chinese for a station named in Chinese, else English).
        #[arg(long = "station-lang", value_name = "LANG")]
        station_lang: Option<String>,
        /// The station's time zone (IANA; default Asia/Shanghai).
        #[arg(long, value_name = "ZONE")]
        time_zone: Option<String>,
    },
    /// The station's settings: its language and time zone.
    Station {
        /// The language people read: zh-Hans, zh-Hant or en.
        #[arg(long = "set-lang", value_name = "LANG")]
        set_lang: Option<String>,
        /// The time zone (IANA, e.g. Asia/Shanghai).
        #[arg(long, value_name = "ZONE")]
        time_zone: Option<String>,
    },
    /// The daily station report (每日工作简报): orders, new P1 households,
    /// crises and what is due, needs, activities, this week's hours.
    Today {
        /// Also write it as an A4 page to print (HTML).
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Communities (社区): add, list.
    Community {
        #[command(subcommand)]
        what: setup::CommunityCommand,
    },
    /// Grids (网格): add, rename, retire, list.
    Grid {
        #[command(subcommand)]
        what: setup::GridCommand,
    },
    /// Workers: add, update, change role, deactivate, list, show.
    Worker {
        #[command(subcommand)]
        what: setup::WorkerCommand,
    },
    /// Grid rosters: assign, unassign, name the lead, show.
    Roster {
        #[command(subcommand)]
        what: setup::RosterCommand,
    },
    /// A grid's contact card (网格志愿者联系卡): set, show as text.
    ContactCard {
        #[command(subcommand)]
        what: setup::ContactCardCommand,
    },
    /// Households from the station side: add, show.
    Household {
        #[command(subcommand)]
        what: setup::HouseholdCommand,
    },
    /// Residents: add, update, tag, untag.
    Resident {
        #[command(subcommand)]
        what: setup::ResidentCommand,
    },
    /// Residents carrying a vulnerability tag.
    Residents {
        /// The tag, e.g. elderly_alone.
        #[arg(long)]
        tag: String,
        /// Only this grid.
        #[arg(long)]
        grid: Option<String>,
    },
    /// Canvass visits (摸排): record, with the needs found.
    Visit {
        #[command(subcommand)]
        what: setup::VisitCommand,
    },
    /// Training records (培训).
    Training {
        #[command(subcommand)]
        what: setup::TrainingCommand,
    },
    /// Activities and supervision (文化活动, 团体辅导, 科普讲座, 督导).
    Activity {
        #[command(subcommand)]
        what: setup::ActivityCommand,
    },
    /// Acknowledge a worker's hours entry (by a resident served or a coordinator).
    AcknowledgeHours {
        /// The worker.
        #[arg(long)]
        worker: String,
        /// The hours entry (see `anxin worker show --json`).
        #[arg(long)]
        entry: String,
    },
    /// Import volunteer and door-to-door lists from spreadsheets; templates.
    Import {
        #[command(subcommand)]
        what: setup::ImportCommand,
    },
    /// Fill the store with a realistic synthetic community.
    Fixture {
        /// How many households.
        #[arg(long)]
        households: u32,
        /// The seed: the same seed gives the same community.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print every document as canonical JSON (stable order).
    Export,
    /// Count documents per kind and rows per index table.
    Stats,
    /// Show who changed a document, what and when.
    History {
        /// The document's id.
        id: String,
    },
    /// Check the store's integrity; exits non-zero on any fault.
    Check,
    /// Rebuild the query index from the documents.
    Reindex,
    /// List the station's grids.
    Grids,
    /// List a grid's households in triage order (P1 first), with reasons.
    Households {
        /// The grid's id (see `anxin grids`).
        #[arg(long)]
        grid: String,
        /// How many to show.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Service orders: new, dispatch, accept, start, complete, rate, cancel…
    Order {
        #[command(subcommand)]
        what: orders::OrderCommand,
    },
    /// The dispatch queue (most urgent first), or a worker's tasks.
    Queue {
        /// Only this grid.
        #[arg(long)]
        grid: Option<String>,
        /// Show this worker's tasks instead.
        #[arg(long)]
        worker: Option<String>,
    },
    /// Volunteer service hours per worker.
    Hours {
        /// Only this worker.
        #[arg(long)]
        worker: Option<String>,
        /// From this date (YYYY-MM-DD, the station's local day).
        #[arg(long)]
        from: Option<String>,
        /// Up to this date, exclusive.
        #[arg(long)]
        to: Option<String>,
        /// Certificate CSV (UTF-8 with a BOM, local dates).
        #[arg(long)]
        csv: bool,
        /// The certificate to hand the worker (志愿服务时长证明), as an
        /// A4 page (HTML); needs --worker.
        #[arg(long, value_name = "FILE")]
        certificate: Option<PathBuf>,
    },
    /// Printouts as A4 pages (HTML): a grid's contact card, a grid's visit
    /// list, the daily report, a volunteer's hours certificate.
    Print {
        #[command(subcommand)]
        what: PrintCommand,
    },
    /// Conflicts between phones that people must settle.
    Conflicts {
        /// Only those this worker is part of.
        #[arg(long)]
        worker: Option<String>,
    },
    /// De-identified aggregates per grid and station.
    Report,
    /// List workers.
    Workers {
        /// Only this grid.
        #[arg(long)]
        grid: Option<String>,
        /// Only this role.
        #[arg(long, value_parser = Role::WORDS.to_vec())]
        role: Option<String>,
    },
    /// Devices: enrol a phone by one-time code, list, revoke, renew; issue
    /// a worker's identity file for signing on this laptop.
    Device {
        #[command(subcommand)]
        what: devices::DeviceCommand,
    },
    /// Make an empty store a new device of a station, with an enrolment
    /// code from `anxin device enroll` (CODE@HOST:PORT). Bundles are sealed
    /// to enrolled devices: import them afterwards.
    Join {
        /// CODE@HOST:PORT, as `anxin device enroll --address` printed it.
        target: String,
        /// Scopes to hold (`station`, grid ids), comma-separated; default:
        /// all that the peer offers.
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
    },
    /// Sync with another device over the network.
    Sync {
        #[command(subcommand)]
        what: syncing::SyncCommand,
    },
    /// What peers sent that was refused (bounded; oldest dropped first).
    Quarantine {
        #[command(subcommand)]
        what: syncing::QuarantineCommand,
    },
    /// Carry documents in a file.
    Bundle {
        #[command(subcommand)]
        what: syncing::BundleCommand,
    },
    /// Move a household (and its orders) to another grid.
    MoveHousehold {
        /// The household.
        id: String,
        /// The grid it moves to.
        #[arg(long)]
        to_grid: String,
    },
    /// The screening instruments: ids, items, languages, licences.
    Instruments {
        /// Show one instrument in full.
        #[arg(long)]
        id: Option<String>,
        /// A deployment's licensed item texts (JSON) to load.
        #[arg(long, value_name = "FILE")]
        licensed_texts: Vec<PathBuf>,
    },
    /// Score questionnaires (nothing is saved).
    Screen {
        #[command(subcommand)]
        what: screening::ScreenCommand,
    },
    /// Psychological case files: screenings, reviews, referrals, crises, what is due.
    Case {
        #[command(subcommand)]
        what: screening::CaseCommand,
    },
    /// Run the station demo on temporary stores.
    Demo,
    /// Benchmarks (figures, not pass/fail).
    Bench {
        #[command(subcommand)]
        what: BenchCommand,
    },
}

#[derive(Subcommand, Debug)]
enum PrintCommand {
    /// The grid contact card to post in stairwells (网格志愿者联系卡).
    ContactCard {
        /// The grid's id.
        #[arg(long)]
        grid: String,
        /// The page to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// A grid's household visit list in triage order (入户走访清单).
    VisitList {
        /// The grid's id.
        #[arg(long)]
        grid: String,
        /// The page to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// The daily station report (每日工作简报).
    Today {
        /// The page to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// A volunteer's hours certificate (志愿服务时长证明).
    Certificate {
        /// The worker.
        #[arg(long)]
        worker: String,
        /// From this date (YYYY-MM-DD).
        #[arg(long)]
        from: Option<String>,
        /// Up to this date, exclusive.
        #[arg(long)]
        to: Option<String>,
        /// The page to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Sync against plain per-document automerge sync, on a fixture.
    Sync {
        /// Households in the fixture.
        #[arg(long, default_value_t = 500)]
        households: u32,
    },
    /// Durable writes against raw SQLite, and opening a large store.
    Store {
        /// Households in the store that is opened.
        #[arg(long, default_value_t = 5000)]
        households: u32,
        /// Acknowledged writes timed.
        #[arg(long, default_value_t = 300)]
        writes: u32,
        /// Encrypt every store of the run (the Anxin stores and the raw
        /// SQLite file alike) with this passphrase, as phones do: measures
        /// SQLCipher's share of a write and of an open.
        #[arg(long)]
        key: Option<String>,
    },
}

/// A command failed: what to print, and the exit code.
pub struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn input(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 2,
        }
    }
    fn other(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        // The common errors in the run's language; the rest as core words
        // them. None carries personal data: ids and field names at most.
        let said = match &e {
            StoreError::Invalid(v) => Some(validation_text(v)),
            StoreError::NotFound { kind, id } => Some(tr!(
                "{kind} {id} not found",
                "找不到{kind} {id}",
                kind = kind,
                id = id
            )),
            StoreError::KeyRejected => Some(tr!(
                "cannot open the store: it is encrypted and the key is missing or wrong, or the file is not an Anxin store",
                "无法打开数据库：它已加密而密钥缺失或不对，或者这个文件不是安心小屋数据库"
            )),
            StoreError::NotInitialised => Some(tr!(
                "this store has no station yet: run `init` first",
                "这个数据库还没有站点：请先运行 `init`"
            )),
            StoreError::NeedsUpgrade { found, known } => Some(tr!(
                "the store is at schema {found} and this build needs {known}: open it once with a command that writes (e.g. `anxin reindex`)",
                "数据库结构为第 {found} 版，本程序需要第 {known} 版：请先用一条会写入的命令打开一次（例如 `anxin reindex`）",
                found = found,
                known = known
            )),
            StoreError::TooNew { found, known } => Some(tr!(
                "the store was written by a newer version of Anxin (schema {found}; this build knows up to {known}): update this program",
                "数据库由更新版本的安心小屋写入（第 {found} 版结构，本程序只认识到第 {known} 版）：请更新本程序",
                found = found,
                known = known
            )),
            StoreError::AlreadyInitialised => Some(tr!(
                "this store already belongs to a station",
                "这个数据库已属于一个站点"
            )),
            StoreError::Dispatch(d) => Some(dispatch_text(d)),
            StoreError::Trust(t) => Some(trust_text(t)),
            StoreError::Screening(s) => Some(screening_text(s)),
            _ => None,
        };
        let message = said.unwrap_or_else(|| e.to_string());
        match e {
            StoreError::Invalid(_)
            | StoreError::KeyRejected
            | StoreError::NotFound { .. }
            | StoreError::NeedsUpgrade { .. }
            | StoreError::Dispatch(_)
            | StoreError::Trust(_)
            | StoreError::Screening(_) => Failure::input(message),
            _ => Failure::other(message),
        }
    }
}

/// A refusal in the run's language: the deed and the rule are codes, worded
/// by the labels.
fn dispatch_text(d: &anxin_core::dispatch::DispatchError) -> String {
    use anxin_core::dispatch::DispatchError;
    let lang = ui::language();
    match d {
        DispatchError::PermissionDenied { action, reason } => tr!(
            "not allowed to {action}: {reason}",
            "无权{action}：{reason}",
            action = action.words(lang),
            reason = reason.words(lang)
        ),
        DispatchError::Forbidden {
            action,
            status,
            vocabulary,
        } => tr!(
            "cannot {action}: its status is {status}",
            "无法{action}：当前状态为“{status}”",
            action = action.words(lang),
            status = ui::word(*vocabulary, status)
        ),
    }
}

/// A trust error in the run's language (ids at most, never a name).
fn trust_text(t: &anxin_core::trust::TrustError) -> String {
    use anxin_core::trust::TrustError;
    match t {
        TrustError::NotEnrolled => tr!(
            "this device is not enrolled: enrol it with a code from the station (`anxin device enroll`)",
            "本设备尚未登记：请用站点发的登记码登记（`anxin device enroll`）"
        ),
        TrustError::Revoked { device } => tr!(
            "device {device} was revoked by the station",
            "设备 {device} 已被站点吊销",
            device = device
        ),
        TrustError::Expired { device } => tr!(
            "the credential of device {device} expired: renew it at the station (`anxin device renew`)",
            "设备 {device} 的凭证已过期：请到站点续期（`anxin device renew`）",
            device = device
        ),
        TrustError::BadSignature { .. } => tr!(
            "{what}",
            "签名不是本站点的，不予信任",
            what = t
        ),
        TrustError::Malformed { .. } => tr!("{what}", "数据无法解读，不予信任", what = t),
        TrustError::BadCode => tr!(
            "this is not an Anxin enrolment code",
            "这不是安心小屋的登记码"
        ),
        TrustError::CodeUnusable => tr!(
            "the enrolment code is unknown, already used or expired: ask the station for a new one",
            "登记码无效、已用过或已过期：请向站点要一个新的"
        ),
        TrustError::Refused(rule) => rule.words(ui::language()),
    }
}

/// A screening error in the run's language: instrument and item ids stay
/// (they are what the user typed), the sentence is translated.
pub(crate) fn screening_text(e: &anxin_core::screening::ScreeningError) -> String {
    use anxin_core::screening::ScreeningError as E;
    match e {
        E::UnknownInstrument(id) => tr!(
            "unknown instrument `{id}`",
            "没有量表 `{id}`",
            id = id
        ),
        E::UnknownItem { instrument, item } => tr!(
            "{instrument}: unknown item `{item}`",
            "{instrument}：没有条目 `{item}`",
            instrument = instrument,
            item = item
        ),
        E::OutOfRange {
            instrument,
            item,
            allowed,
        } => tr!(
            "{instrument} item {item}: the answer is not one of the allowed values {allowed}",
            "{instrument} 第 {item} 题：答案不在允许的范围 {allowed} 内",
            instrument = instrument,
            item = item,
            allowed = allowed
        ),
        E::MissingAnswer { instrument, item } => tr!(
            "{instrument} item {item} has no answer",
            "{instrument} 第 {item} 题没有作答",
            instrument = instrument,
            item = item
        ),
        E::NotAsked { instrument, item } => tr!(
            "{instrument} item {item} is not asked after the earlier answers",
            "根据前面的回答，{instrument} 第 {item} 题不用问",
            instrument = instrument,
            item = item
        ),
        E::WrongCount {
            instrument,
            given,
            expected,
        } => tr!(
            "{instrument}: {given} answers given, {expected} expected",
            "{instrument}：给了 {given} 个答案，应为 {expected} 个",
            instrument = instrument,
            given = given,
            expected = expected
        ),
        E::TooManyMissing {
            instrument,
            missing,
            allowed,
        } => tr!(
            "{instrument}: {missing} items blank, the result is invalid (the rule allows {allowed})",
            "{instrument}：有 {missing} 题空白，结果无效（规则最多允许 {allowed} 题）",
            instrument = instrument,
            missing = missing,
            allowed = allowed
        ),
        E::NoTexts {
            instrument,
            language,
        } => tr!(
            "{instrument} has no item texts in {language}",
            "{instrument} 没有 {language} 的题目文本",
            instrument = instrument,
            language = language
        ),
        _ => e.to_string(),
    }
}

/// A validation error in the run's language (the field's name stays the
/// field's code: it is what the user typed after `--`).
pub(crate) fn validation_text(v: &ValidationError) -> String {
    use anxin_core::model::Violation;
    let why = match &v.violation {
        Violation::Required => tr!("is required", "不能为空"),
        Violation::TooLong { max } => tr!(
            "is longer than {max} characters",
            "超过 {max} 个字",
            max = max
        ),
        Violation::OutOfRange { min, max } => tr!(
            "must be between {min} and {max}",
            "须在 {min} 到 {max} 之间",
            min = min,
            max = max
        ),
        Violation::UnknownValue { allowed } => tr!(
            "must be one of: {list}",
            "只能是：{list}",
            list = allowed.join(", ")
        ),
        Violation::BadCharacters => tr!(
            "contains characters that are not allowed",
            "含有不允许的字符"
        ),
        Violation::NotAnId => tr!("is not a valid identifier", "不是有效的编号"),
        Violation::NoSuchEntity => tr!(
            "refers to something that does not exist",
            "指向的对象不存在"
        ),
        Violation::Duplicate => tr!("already exists", "已存在"),
        Violation::Inconsistent(why) => tr!("is inconsistent: {why}", "不一致：{why}", why = why),
    };
    tr!(
        "invalid {field}: {why}",
        "{field} 无效：{why}",
        field = v.field,
        why = why
    )
}

impl From<ValidationError> for Failure {
    fn from(e: ValidationError) -> Self {
        Failure::input(validation_text(&e))
    }
}

/// The key file a command wrote for a new store, to mention on success.
static KEY_WRITTEN: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    let chosen = cli.lang.clone().or_else(|| {
        std::env::var("ANXIN_LANG")
            .ok()
            .filter(|l| !l.trim().is_empty())
    });
    match chosen.as_deref().map(anxin_core::labels::Language::parse) {
        Some(Ok(l)) => ui::choose(Some(l)),
        Some(Err(_)) => {
            eprintln!("anxin: --lang (or ANXIN_LANG) must be zh-Hans, zh-Hant or en");
            return ExitCode::from(2);
        }
        None => ui::choose(None),
    }
    match run(cli) {
        Ok(()) => {
            if let Some(path) = KEY_WRITTEN.lock().ok().and_then(|mut k| k.take()) {
                eprintln!(
                    "anxin: {}",
                    tr!(
                        "the store is encrypted with a new key in {path} (owner-only); keep it safe, apart from the store if you can, and pass it with --key-file",
                        "数据库已用新密钥加密，密钥在 {path}（仅本人可读）；请妥善保管，最好与数据库分开存放，使用时以 --key-file 指定",
                        path = path.display()
                    )
                );
            }
            ExitCode::SUCCESS
        }
        Err(f) => {
            eprintln!("anxin: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// A reader that closed the pipe (`anxin … | head`) ends the program
/// quietly, as it does any Unix tool, instead of a panic in `println!`.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default action of one signal, before any
    // thread exists; no handler runs Rust code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Reads a key file: a text passphrase (one line), or binary bytes (such as
/// the 32 random bytes `init` writes), used as their hex spelling.
fn read_key(path: &Option<PathBuf>) -> Result<Option<String>, Failure> {
    let Some(path) = path else { return Ok(None) };
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::input(tr!(
            "cannot read the key file {path}: {e}",
            "无法读取密钥文件 {path}：{e}",
            path = path.display(),
            e = ui::io_why(&e)
        ))
    })?;
    let key = match std::str::from_utf8(&bytes) {
        Ok(text) if !text.contains('\0') => text.trim_end_matches(['\n', '\r']).to_string(),
        _ => format!("x:{}", hex_of(&bytes)),
    };
    if key.is_empty() {
        return Err(Failure::input(tr!(
            "the key file {path} is empty",
            "密钥文件 {path} 是空的",
            path = path.display()
        )));
    }
    Ok(Some(key))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The key file that goes with a store when `--key-file` is not given:
/// `<store>.key` beside it.
fn default_key_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".key");
    PathBuf::from(p)
}

/// The key file to use: `--key-file`, else `<store>.key` if it exists.
fn key_path(cli: &Cli) -> Option<PathBuf> {
    cli.key_file.clone().or_else(|| {
        cli.store
            .as_ref()
            .map(|s| default_key_path(s))
            .filter(|p| p.exists())
    })
}

/// Encryption at rest is the default: a new store without `--key-file`
/// gets 32 random bytes in `<store>.key`, readable by its owner only.
/// Returns the file written, if any.
fn make_default_key(cli: &Cli) -> Result<Option<PathBuf>, Failure> {
    let Some(store) = &cli.store else {
        return Ok(None);
    };
    if cli.key_file.is_some() || store.exists() {
        return Ok(None);
    }
    let path = default_key_path(store);
    if path.exists() {
        return Ok(None);
    }
    let key: [u8; 32] = rand::random();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&path).map_err(|e| {
        Failure::other(tr!(
            "cannot write the key file {path}: {e}",
            "无法写入密钥文件 {path}：{e}",
            path = path.display(),
            e = e
        ))
    })?;
    std::io::Write::write_all(&mut file, &key)
        .and_then(|_| file.sync_all())
        .map_err(|e| {
            Failure::other(tr!(
                "cannot write the key file {path}: {e}",
                "无法写入密钥文件 {path}：{e}",
                path = path.display(),
                e = e
            ))
        })?;
    // Said once the command succeeded (a failed init or join removes it).
    if let Ok(mut note) = KEY_WRITTEN.lock() {
        *note = Some(path.clone());
    }
    Ok(Some(path))
}

/// Opens the store named by `--store`. `create` allows a new file.
fn open(cli: &Cli, create: bool) -> Result<Store, Failure> {
    let path = cli.store.as_ref().ok_or_else(|| {
        Failure::input(tr!(
            "this command needs --store PATH (the station's store file)",
            "此命令需要 --store 路径（站点数据库文件）"
        ))
    })?;
    if !create && !path.exists() {
        return Err(Failure::input(tr!(
            "no store at {path}: create one with `anxin --store {path} init --station NAME`",
            "{path} 处没有数据库：用 `anxin --store {path} init --station 站点名称` 新建",
            path = path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Failure::input(tr!(
                "the folder {dir} does not exist",
                "文件夹 {dir} 不存在",
                dir = dir.display()
            )));
        }
    }
    if create {
        make_default_key(cli)?;
    }
    let options = StoreOptions {
        key: read_key(&key_path(cli))?,
        policy: read_policy(&cli.policy)?,
        ..Default::default()
    };
    let mut store = Store::open(path, options)?;
    adopt_station(&store);
    if let Some(file) = &cli.identity {
        let bytes = std::fs::read(file).map_err(|e| {
            Failure::input(tr!(
                "cannot read the identity file {path}: {e}",
                "无法读取身份文件 {path}：{e}",
                path = file.display(),
                e = ui::io_why(&e)
            ))
        })?;
        let phrase = devices::passphrase(&file.display().to_string())?;
        let worker = store.sign_as(&bytes, &phrase)?;
        if cli.acting.as_deref() != Some(worker.as_str()) {
            return Err(Failure::input(tr!(
                "--identity {path} belongs to worker {worker}: give --as {worker}",
                "--identity {path} 属于工作人员 {worker}：请加上 --as {worker}",
                path = file.display(),
                worker = worker
            )));
        }
    }
    Ok(store)
}

/// Opens the store named by `--store` for reading only: nothing is
/// created, migrated or written, and a store in a read-only place can be
/// inspected. For the commands that only look.
fn open_read(cli: &Cli) -> Result<Store, Failure> {
    let path = cli.store.as_ref().ok_or_else(|| {
        Failure::input(tr!(
            "this command needs --store PATH (the station's store file)",
            "此命令需要 --store 路径（站点数据库文件）"
        ))
    })?;
    if !path.is_file() {
        return Err(Failure::input(tr!(
            "no store at {path}: create one with `anxin --store {path} init --station NAME`",
            "{path} 处没有数据库：用 `anxin --store {path} init --station 站点名称` 新建",
            path = path.display()
        )));
    }
    let options = StoreOptions {
        key: read_key(&key_path(cli))?,
        policy: read_policy(&cli.policy)?,
        read_only: true,
        ..Default::default()
    };
    let store = Store::open(path, options)?;
    adopt_station(&store);
    Ok(store)
}

/// What people read follows the open station's language and zone.
fn adopt_station(store: &Store) {
    if let Ok(station) = store.station() {
        ui::adopt_station(station.language(), station.local_time());
    }
}

/// Reads the deployment's policy file named by `--policy`, if any.
fn read_policy(path: &Option<PathBuf>) -> Result<Option<Arc<Policy>>, Failure> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::input(tr!(
            "cannot read the policy file {path}: {e}",
            "无法读取政策文件 {path}：{e}",
            path = path.display(),
            e = ui::io_why(&e)
        ))
    })?;
    Ok(Some(Arc::new(Policy::from_json(
        &path.display().to_string(),
        &text,
    )?)))
}

fn print_json(value: &impl serde::Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into())
    );
}

/// The de-identified report for people.
fn print_report(report: &anxin_core::store::Report) {
    use anxin_core::labels::Vocabulary;
    let counts =
        |v: Vocabulary, m: &std::collections::BTreeMap<String, anxin_core::store::Count>| {
            if m.is_empty() {
                return tr!("none", "无");
            }
            m.iter()
                .map(|(code, n)| format!("{} {n}", ui::word(v, code)))
                .collect::<Vec<_>>()
                .join(ui::sep())
        };
    println!(
        "{}",
        tr!(
            "Station report (de-identified; counts under 5 show as <5)",
            "站点统计（去标识化；少于 5 的数目显示为 <5）"
        )
    );
    let parts = std::iter::once((tr!("Whole station", "全站"), &report.station))
        .chain(report.grids.iter().map(|(name, p)| (name.clone(), p)));
    for (name, part) in parts {
        println!("\n{name}");
        if part.orders.is_empty() {
            println!("  {}", tr!("Orders: none", "工单：无"));
        }
        for (kind, by_status) in &part.orders {
            println!(
                "  {}",
                tr!(
                    "Orders, {kind}: {list}",
                    "工单·{kind}：{list}",
                    kind = ui::word(Vocabulary::OrderKind, kind),
                    list = counts(Vocabulary::OrderStatus, by_status)
                )
            );
        }
        println!(
            "  {}",
            tr!(
                "Households by priority: {list}",
                "住户分级：{list}",
                list = counts(Vocabulary::Priority, &part.households_by_priority)
            )
        );
        println!(
            "  {}",
            tr!(
                "Case files by tier: {list}",
                "个案风险等级：{list}",
                list = counts(Vocabulary::Tier, &part.cases_by_tier)
            )
        );
        println!(
            "  {}",
            match part.median_minutes_to_completion {
                Some(m) => tr!(
                    "Median time from request to completion: {m} minutes",
                    "从点单到完成的中位时间：{m} 分钟",
                    m = format!("{m:.0}")
                ),
                None => tr!(
                    "Median time to completion: not shown (fewer than 5 completed orders)",
                    "完成时间中位数：完成工单不足 5 张，不显示"
                ),
            }
        );
    }
}

/// A time people read: `YYYY-MM-DD HH:MM` in the station's zone.
pub fn format_time(ms: i64) -> String {
    ui::time(ms)
}

fn run(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Init {
            station,
            admin,
            admin_phone,
            station_lang,
            time_zone,
        } => {
            let language = station_lang
                .as_deref()
                .map(anxin_core::labels::Language::parse)
                .transpose()
                .map_err(|_| {
                    Failure::input(tr!(
                        "--station-lang must be zh-Hans, zh-Hant or en",
                        "--station-lang 只能是 zh-Hans、zh-Hant 或 en"
                    ))
                })?;
            if let Some(zone) = time_zone {
                anxin_core::localtime::LocalTime::new(zone)?;
            }
            if let Some(path) = &cli.store {
                if path.exists() {
                    return Err(Failure::input(tr!(
                        "{path} already exists: init creates a new store",
                        "{path} 已存在：init 只新建数据库",
                        path = path.display()
                    )));
                }
            }
            let mut store = open(&cli, true)?;
            let made = store.setup_mut().init_station(station).and_then(|s| {
                let s = if language.is_some() || time_zone.is_some() {
                    store.setup_mut().set_station_settings(
                        &anxin_core::doc::Author::System,
                        language,
                        time_zone.as_deref(),
                    )?
                } else {
                    s
                };
                // The device itself creates the first admin: nobody else can.
                let admin = admin
                    .as_ref()
                    .map(|name| store.people_mut().add_first_admin(name, admin_phone))
                    .transpose()?;
                Ok((s, admin))
            });
            let (s, admin) = made.inspect_err(|_| {
                // Leave no half-made file behind on bad input.
                remove_store_files(store.path());
            })?;
            if cli.json {
                print_json(&serde_json::json!({
                    "station_id": s.id,
                    "device_id": store.device().device_id,
                    "admin": admin,
                }));
            } else {
                adopt_station(&store);
                println!(
                    "{}",
                    tr!(
                        "Created the store of station {name} ({id})",
                        "已为站点 {name} 建立数据库（{id}）",
                        name = s.name,
                        id = s.id
                    )
                );
                if let Some(a) = admin {
                    println!(
                        "{}",
                        tr!(
                            "Station admin {a}: set up with --as {a}",
                            "站点管理员 {a}：以 --as {a} 继续设置",
                            a = a
                        )
                    );
                }
            }
        }
        Command::Fixture { households, seed } => {
            if *households == 0 || *households > 200_000 {
                return Err(Failure::input(
                    "invalid --households: must be between 1 and 200000",
                ));
            }
            let mut store = open(&cli, true)?;
            let bar = indicatif::ProgressBar::new(u64::from(*households));
            if *households < 1000 || cli.json {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} households {pos}/{len} [{bar:40}] {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let summary = fixture::generate(
                &mut store,
                FixtureSpec {
                    households: *households,
                    seed: *seed,
                },
                |done, _| bar.set_position(done),
            )?;
            bar.finish_and_clear();
            adopt_station(&store);
            if cli.json {
                print_json(&summary);
            } else {
                println!(
                    "{}",
                    tr!(
                        "Generated {households} households ({residents} residents, {vulnerable} vulnerable) in {grids} grids, {workers} workers, {visits} visits, {activities} activities",
                        "已生成 {households} 户（{residents} 名居民，其中重点人群 {vulnerable} 人），{grids} 个网格，{workers} 名工作人员，{visits} 次走访，{activities} 场活动",
                        households = summary.households,
                        residents = summary.residents,
                        vulnerable = summary.vulnerable_residents,
                        grids = summary.grids.len(),
                        workers = summary.workers,
                        visits = summary.visits,
                        activities = summary.activities
                    )
                );
            }
        }
        Command::Station {
            set_lang,
            time_zone,
        } => {
            let writes = set_lang.is_some() || time_zone.is_some();
            let mut store = if writes {
                open(&cli, false)?
            } else {
                open_read(&cli)?
            };
            let language = set_lang
                .as_deref()
                .map(anxin_core::labels::Language::parse)
                .transpose()
                .map_err(|_| {
                    Failure::input(tr!(
                        "--set-lang must be zh-Hans, zh-Hant or en",
                        "--set-lang 只能是 zh-Hans、zh-Hant 或 en"
                    ))
                })?;
            let station = if language.is_some() || time_zone.is_some() {
                let author = setup::acting(&cli.acting)?;
                let s = store.setup_mut().set_station_settings(
                    &author,
                    language,
                    time_zone.as_deref(),
                )?;
                adopt_station(&store);
                s
            } else {
                store.station()?
            };
            if cli.json {
                print_json(&serde_json::json!({
                    "station_id": station.id,
                    "name": station.name,
                    "language": station.language().tag(),
                    "time_zone": station.local_time().name(),
                }));
            } else {
                println!(
                    "{}",
                    tr!(
                        "Station {name}: language {lang}, time zone {zone}",
                        "站点 {name}：语言 {lang}，时区 {zone}",
                        name = station.name,
                        lang = station.language().tag(),
                        zone = station.local_time().name()
                    )
                );
            }
        }
        Command::Today { html } => {
            let store = open_read(&cli)?;
            today::run(&store, html, cli.json)?
        }
        Command::Export => {
            let store = open_read(&cli)?;
            println!("{}", store.export_json()?);
        }
        Command::Stats => {
            let store = open_read(&cli)?;
            let stats = store.stats()?;
            if cli.json {
                print_json(&stats);
            } else {
                println!(
                    "{}",
                    tr!(
                        "schema version {v}",
                        "数据库结构版本 {v}",
                        v = stats.schema_version
                    )
                );
                println!("{}", tr!("device {d}", "设备 {d}", d = stats.device_id));
                for (kind, n) in &stats.documents {
                    println!(
                        "{}",
                        tr!(
                            "{kind}: {n} documents",
                            "{kind}：{n} 份文档",
                            kind = kind,
                            n = n
                        )
                    );
                }
                println!(
                    "{}",
                    tr!(
                        "pending chunks: {n}",
                        "待压缩片段：{n}",
                        n = stats.pending_chunks
                    )
                );
                println!(
                    "{}",
                    tr!("audit rows: {n}", "审计记录：{n} 条", n = stats.audit_rows)
                );
                for (table, n) in &stats.index {
                    println!(
                        "{}",
                        tr!("{table}: {n} rows", "{table}：{n} 行", table = table, n = n)
                    );
                }
            }
        }
        Command::History { id } => {
            let store = open_read(&cli)?;
            let h = store.history(id.trim())?;
            if cli.json {
                print_json(&h);
            } else {
                println!("{} {}", h.kind, h.id);
                for c in &h.changes {
                    let by = match (&c.device, &c.worker, &c.recorded_for) {
                        (Some(d), Some(w), _) => {
                            tr!(
                                "worker {w} (device {d})",
                                "工作人员 {w}（设备 {d}）",
                                w = w,
                                d = d
                            )
                        }
                        (Some(d), None, Some(w)) => tr!(
                            "the station's device {d}, for worker {w}",
                            "站点设备 {d}，代工作人员 {w} 记录",
                            d = d,
                            w = w
                        ),
                        (Some(d), None, None) => {
                            tr!("the station's device {d}", "站点设备 {d}", d = d)
                        }
                        (None, _, _) => tr!(
                            "no enrolled device (genesis or older data)",
                            "无入网设备（初始数据或旧数据）"
                        ),
                    };
                    println!(
                        "{}",
                        tr!(
                            "{at}  {action}  by {by}  touched: {paths}",
                            "{at}  {action}  由 {by}  改动：{paths}",
                            at = format_time(c.at),
                            action = c
                                .action
                                .clone()
                                .unwrap_or_else(|| tr!("(no action recorded)", "（未记录操作）")),
                            by = by,
                            paths = c.paths.join(", ")
                        )
                    );
                }
                println!(
                    "{}",
                    tr!(
                        "{n} audit rows on this device",
                        "本设备上有 {n} 条审计记录",
                        n = h.audit.len()
                    )
                );
            }
        }
        Command::Check => {
            let mut store = open(&cli, false)?;
            let report = store.check()?;
            if cli.json {
                print_json(&serde_json::json!({
                    "ok": report.is_ok(),
                    "report": report,
                    "faults": report.faults(),
                }));
            } else if report.is_ok() {
                println!(
                    "{}",
                    tr!(
                        "ok: {n} documents decode, the index equals a rebuild, the audit chain verifies",
                        "通过：{n} 份文档均可读取，索引与重建结果一致，审计链校验无误",
                        n = report.documents
                    )
                );
            }
            if !report.is_ok() {
                return Err(Failure::other(tr!(
                    "check failed: {faults}",
                    "自检未通过：{faults}",
                    faults = report.faults().join("; ")
                )));
            }
        }
        Command::Reindex => {
            let mut store = open(&cli, false)?;
            let damaged = store.reindex()?;
            if cli.json {
                print_json(&serde_json::json!({ "damaged_documents": damaged }));
            } else {
                println!("{}", tr!("index rebuilt", "索引已重建"));
            }
            if !damaged.is_empty() {
                return Err(Failure::other(tr!(
                    "{n} documents could not be read and were left out of the index",
                    "{n} 份文档无法读取，未计入索引",
                    n = damaged.len()
                )));
            }
        }
        Command::Grids => {
            let store = open_read(&cli)?;
            let station = store.station()?;
            if cli.json {
                print_json(&station.grids.values().collect::<Vec<_>>());
            } else {
                for g in station.grids.values() {
                    let community = station
                        .communities
                        .get(g.community_id.as_str())
                        .map(|c| c.name.as_str())
                        .unwrap_or("?");
                    println!("{}  {} ({community})", g.id, g.name);
                }
            }
        }
        Command::Households { grid, limit } => {
            let store = open_read(&cli)?;
            let grid = GridId::parse(grid, "grid")?;
            let rows = store.households().households_in_grid(&grid, *limit, 0)?;
            if cli.json {
                print_json(&rows);
            } else {
                // The triage order with its reasons, as in `--json`, in words.
                for r in rows {
                    println!(
                        "{}",
                        tr!(
                            "{p}  {id}  {address}  members {members} (vulnerable {vulnerable})  {why}",
                            "{p}  {id}  {address}  {members} 人（重点人员 {vulnerable} 人）  {why}",
                            p = r.priority.as_str().to_uppercase(),
                            id = r.id,
                            address = r.address,
                            members = r.members,
                            vulnerable = r.vulnerable_members,
                            why = if r.reasons.is_empty() {
                                tr!("routine", "常规")
                            } else {
                                r.reasons
                                    .iter()
                                    .map(|c| ui::reason(c))
                                    .collect::<Vec<_>>()
                                    .join(ui::sep())
                            }
                        )
                    );
                }
            }
        }
        Command::Order { what } => {
            let mut store = open(&cli, false)?;
            orders::run_order(&mut store, what, &cli.acting, &cli.as_resident, cli.json)?
        }
        Command::Queue { grid, worker } => {
            let store = open_read(&cli)?;
            let rows = match worker {
                Some(w) => store.orders().my_tasks(&WorkerId::parse(w, "--worker")?)?,
                None => {
                    let grid = grid
                        .as_ref()
                        .map(|g| GridId::parse(g, "--grid"))
                        .transpose()?;
                    store.orders().dispatch_queue(grid.as_ref())?
                }
            };
            orders::print_rows(&rows, cli.json);
        }
        Command::Hours {
            worker,
            from,
            to,
            csv,
            certificate,
        } => {
            let store = open_read(&cli)?;
            if let Some(path) = certificate {
                let Some(w) = worker else {
                    return Err(Failure::input(tr!(
                        "--certificate needs --worker: a certificate is one person's",
                        "--certificate 需要 --worker：证明只开给一个人"
                    )));
                };
                let (w, from, to) = orders::period(w, from, to)?;
                print::write(path, &print::certificate(&store, &w, from, to)?)?;
            }
            orders::hours(&store, worker, from, to, *csv, cli.json)?
        }
        Command::Print { what } => {
            let store = open_read(&cli)?;
            let (path, html) = match what {
                PrintCommand::ContactCard { grid, out } => (
                    out,
                    print::contact_card(&store, &GridId::parse(grid, "--grid")?)?,
                ),
                PrintCommand::VisitList { grid, out } => (
                    out,
                    print::visit_list(&store, &GridId::parse(grid, "--grid")?)?,
                ),
                PrintCommand::Today { out } => (
                    out,
                    today::html(&store.daily_report(anxin_core::model::now_millis())?),
                ),
                PrintCommand::Certificate {
                    worker,
                    from,
                    to,
                    out,
                } => {
                    let (w, from, to) = orders::period(worker, from, to)?;
                    (out, print::certificate(&store, &w, from, to)?)
                }
            };
            print::write(path, &html)?;
            if cli.json {
                print_json(&serde_json::json!({ "written": path }));
            } else {
                println!("{}", tr!("Wrote {p}", "已写入 {p}", p = path.display()));
            }
        }
        Command::Conflicts { worker } => {
            let store = open_read(&cli)?;
            let worker = worker
                .as_ref()
                .map(|w| WorkerId::parse(w, "--worker"))
                .transpose()?;
            let rows = store.orders().order_conflicts(worker.as_ref())?;
            if cli.json {
                print_json(&rows);
            } else {
                for c in rows {
                    println!(
                        "order {}: {} — {} vs {}: {}",
                        c.request_id,
                        c.kind,
                        c.worker_a,
                        c.worker_b.unwrap_or_default(),
                        c.detail
                    );
                }
            }
        }
        Command::Instruments { id, licensed_texts } => {
            screening::run_instruments(id, licensed_texts, cli.json)?
        }
        Command::Screen { what } => {
            let policy = read_policy(&cli.policy)?;
            let builtin;
            let policy = match &policy {
                Some(p) => p.as_ref(),
                None => {
                    builtin = Policy::builtin()?;
                    builtin
                }
            };
            screening::run_screen(what, policy, cli.json)?
        }
        Command::Case { what } => {
            let mut store = open(&cli, false)?;
            screening::run_case(&mut store, what, &cli.acting, cli.json)?
        }
        Command::Report => {
            let store = open_read(&cli)?;
            let report = store.orders().report()?;
            if cli.json {
                print_json(&report);
            } else {
                print_report(&report);
            }
        }
        Command::Workers { grid, role } => {
            let store = open_read(&cli)?;
            let grid = grid
                .as_ref()
                .map(|g| GridId::parse(g, "--grid"))
                .transpose()?;
            let role = role
                .as_ref()
                .map(|r| Role::parse(r, "--role"))
                .transpose()?;
            let rows = store.people().workers(grid.as_ref(), role)?;
            if cli.json {
                print_json(&rows);
            } else {
                for w in rows {
                    println!(
                        "{}  {}  {}",
                        w.id,
                        ui::word(anxin_core::labels::Vocabulary::Role, w.role.as_str()),
                        w.name
                    );
                }
            }
        }
        Command::Community { what } => {
            setup::run_community(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Grid { what } => {
            setup::run_grid(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Worker { what } => {
            setup::run_worker(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Roster { what } => {
            setup::run_roster(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::ContactCard { what } => {
            setup::run_contact_card(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Household { what } => {
            setup::run_household(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Resident { what } => {
            setup::run_resident(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Residents { tag, grid } => {
            let store = open_read(&cli)?;
            let tag = anxin_core::model::VulnerabilityTag::parse(tag, "--tag")?;
            let grid = grid
                .as_ref()
                .map(|g| GridId::parse(g, "--grid"))
                .transpose()?;
            let rows = store.households().residents_with_tag(&tag, grid.as_ref())?;
            if cli.json {
                print_json(&rows);
            } else {
                for r in rows {
                    println!(
                        "{}  {}  {}  household {}",
                        r.resident_id, r.name, r.birth_year, r.household_id
                    );
                }
            }
        }
        Command::Visit { what } => {
            setup::run_visit(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Training { what } => {
            setup::run_training(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Activity { what } => {
            setup::run_activity(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::AcknowledgeHours { worker, entry } => {
            let mut store = open(&cli, false)?;
            let by = orders::author(&cli.acting, &cli.as_resident)?;
            store.orders_mut().acknowledge_hours(
                &by,
                &WorkerId::parse(worker, "--worker")?,
                &anxin_core::model::HoursEntryId::parse(entry, "--entry")?,
            )?;
            if cli.json {
                print_json(
                    &serde_json::json!({ "worker": worker, "entry": entry, "acknowledged": true }),
                );
            } else {
                println!(
                    "{}",
                    tr!(
                        "hours entry {entry} acknowledged",
                        "服务时长记录 {entry} 已确认",
                        entry = entry
                    )
                );
            }
        }
        Command::Import { what } => {
            let mut store = match what {
                setup::ImportCommand::Template { .. } => None,
                _ => Some(open(&cli, false)?),
            };
            setup::run_import(store.as_mut(), what, &cli.acting, cli.json)?
        }
        Command::Join { target, scopes } => {
            let existed = cli.store.as_ref().is_some_and(|p| p.exists());
            let mut store = open(&cli, true)?;
            if let Err(e) = syncing::join(&mut store, target, scopes, cli.json) {
                if !existed {
                    // Leave no empty store behind a failed join.
                    let path = store.path().to_path_buf();
                    drop(store);
                    remove_store_files(&path);
                }
                return Err(e);
            }
        }
        Command::Device { what } => {
            devices::run_device(&mut open(&cli, false)?, what, &cli.acting, cli.json)?
        }
        Command::Quarantine { what } => {
            syncing::run_quarantine(&mut open(&cli, false)?, what, cli.json)?
        }
        Command::Sync { what } => {
            let mut store = open(&cli, false)?;
            syncing::run_sync(&mut store, what, cli.json)?
        }
        Command::Bundle { what } => {
            let mut store = open(&cli, false)?;
            syncing::run_bundle(&mut store, what, cli.json)?
        }
        Command::MoveHousehold { id, to_grid } => {
            let mut store = open(&cli, false)?;
            let by = match &cli.acting {
                Some(w) => anxin_core::doc::Author::Worker(WorkerId::parse(w, "--as")?),
                None => {
                    return Err(Failure::input(tr!(
                        "give --as WORKER_ID (a coordinator)",
                        "请用 --as 工作人员编号 指明协调员"
                    )))
                }
            };
            let household = anxin_core::model::HouseholdId::parse(id, "household")?;
            store.households_mut().move_household(
                &by,
                &household,
                &GridId::parse(to_grid, "--to-grid")?,
            )?;
            if !cli.json {
                println!(
                    "{}",
                    tr!("household {h} moved", "住户 {h} 已迁移", h = household)
                );
            }
        }
        Command::Demo => demo::run(cli.json)?,
        Command::Bench { what } => match what {
            BenchCommand::Sync { households } => {
                if *households == 0 || *households > 200_000 {
                    return Err(Failure::input(
                        "invalid --households: must be between 1 and 200000",
                    ));
                }
                let dir = tempfile::TempDir::new().map_err(|e| Failure::other(e.to_string()))?;
                let figures = anxin_core::sync::bench::run_bench(dir.path(), *households)?;
                print_json(&figures);
            }
            BenchCommand::Store {
                households,
                writes,
                key,
            } => bench::store(*households, *writes, key.as_deref(), cli.json)?,
        },
    }
    Ok(())
}

fn remove_store_files(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal", ".key"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}
