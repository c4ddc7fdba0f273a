//! The `anxin` binary, run as a user would: every command, good and bad
//! input, exit codes, one-line errors, JSON output.

// Test code: an unwrap that fails is a failed test, with its line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

/// The passphrase identity files are issued and opened with in these tests.
const PASSPHRASE: &str = "correct horse battery";

/// Runs `anxin` in English (the messages these tests look for) unless the
/// arguments choose a language.
fn anxin(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anxin"));
    cmd.args(args).env("ANXIN_PASSPHRASE", PASSPHRASE);
    if !args.contains(&"--lang") {
        cmd.env("ANXIN_LANG", "en");
    }
    cmd.output().unwrap()
}

/// Runs `anxin` as a station's user would: in the station's language.
fn in_station_language(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args(args)
        .env_remove("ANXIN_LANG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The counselor's identity file, issued by the station admin: what she
/// signs her reviews and crisis closings with at the laptop.
fn identity_of(store: &str, worker: &str) -> String {
    let out = Path::new(store).with_file_name(format!("{worker}.identity"));
    let out = out.to_str().unwrap().to_string();
    let admin = worker_of(store, "station_admin");
    ok(&[
        "--store", store, "--as", &admin, "device", "identity", "--worker", worker, "--out", &out,
    ]);
    out
}

fn ok(args: &[&str]) -> String {
    let out = anxin(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail with `code` and one readable line.
fn fails(args: &[&str], code: i32, needle: &str) -> String {
    let out = anxin(args);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(needle), "{args:?}: {err}");
    if code != 2 || !err.starts_with("error:") {
        // Our own errors (not clap's usage text) are exactly one line.
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("anxin: "), "{err}");
    }
    err
}

fn store_path(dir: &Path) -> String {
    dir.join("station.db").to_str().unwrap().to_string()
}

fn fixture_store(households: &str, seed: &str) -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    let s = store_path(dir.path());
    ok(&[
        "--store",
        &s,
        "fixture",
        "--households",
        households,
        "--seed",
        seed,
    ]);
    (dir, s)
}

/// The first worker of `role` in a store.
fn worker_of(store: &str, role: &str) -> String {
    json(&["--store", store, "workers", "--role", role, "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A one-time enrolment code (CODE@ADDR) from the station laptop `station`
/// for a device holding everything the laptop holds (a counselor's, with
/// every grid and the case team).
fn enrol_code(station: &str, addr: &str) -> String {
    let admin = worker_of(station, "station_admin");
    let counselor = worker_of(station, "counselor");
    json(&[
        "--store",
        station,
        "--as",
        &admin,
        "device",
        "enroll",
        "--worker",
        &counselor,
        "--scopes",
        "station,grid:*,case:main",
        "--address",
        addr,
        "--json",
    ])["code"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn help_everywhere() {
    for cmd in [
        vec!["--help"],
        vec!["init", "--help"],
        vec!["fixture", "--help"],
        vec!["export", "--help"],
        vec!["stats", "--help"],
        vec!["history", "--help"],
        vec!["check", "--help"],
        vec!["reindex", "--help"],
        vec!["demo", "--help"],
        vec!["grids", "--help"],
        vec!["households", "--help"],
        vec!["bench", "store", "--help"],
        vec!["instruments", "--help"],
        vec!["screen", "score", "--help"],
        vec!["case", "--help"],
        vec!["case", "crisis", "open", "--help"],
        vec!["case", "due", "--help"],
    ] {
        let out = ok(&cmd);
        assert!(out.contains("Usage:"), "{cmd:?}");
    }
}

#[test]
fn init_then_stats_and_bad_init() {
    let dir = TempDir::new().unwrap();
    let s = store_path(dir.path());
    let out = ok(&[
        "--store",
        &s,
        "--json",
        "init",
        "--station",
        "中南路安心小屋",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["station_id"].as_str().unwrap().len() == 36);
    fails(
        &["--store", &s, "init", "--station", "again"],
        2,
        "already exists",
    );

    // A blank name is refused and leaves no file behind.
    let other = dir.path().join("blank.db");
    let other = other.to_str().unwrap();
    fails(
        &["--store", other, "init", "--station", "  "],
        2,
        "station.name",
    );
    assert!(!Path::new(other).exists());

    let stats: serde_json::Value =
        serde_json::from_str(&ok(&["--store", &s, "stats", "--json"])).unwrap();
    assert_eq!(stats["documents"]["station"], 1);
    assert_eq!(stats["schema_version"], anxin_core::store::schema::LATEST);
}

#[test]
fn commands_without_a_store_say_what_to_do() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("none.db");
    let missing = missing.to_str().unwrap();
    for cmd in ["export", "stats", "check", "reindex", "grids"] {
        fails(&[cmd], 2, "needs --store");
        fails(&["--store", missing, cmd], 2, "no store at");
        assert!(!Path::new(missing).exists(), "{cmd} created a file");
    }
    fails(&["--store", missing, "history", "x"], 2, "no store at");
    fails(
        &["--store", missing, "households", "--grid", "x"],
        2,
        "no store at",
    );
}

#[test]
fn bad_arguments_are_rejected() {
    let (_d, s) = fixture_store("30", "3");
    fails(
        &["--store", &s, "fixture", "--households", "0"],
        2,
        "--households",
    );
    fails(
        &["--store", &s, "fixture", "--households", "many"],
        2,
        "invalid value",
    );
    fails(
        &["--store", &s, "households", "--grid", "not-a-grid"],
        2,
        "invalid grid",
    );
    let unknown_grid = "00000000-0000-4000-8000-000000000000";
    let out = ok(&[
        "--store",
        &s,
        "households",
        "--grid",
        unknown_grid,
        "--json",
    ]);
    assert_eq!(out.trim(), "[]");
    fails(
        &["--store", &s, "history", "nope"],
        2,
        "document nope not found",
    );
    fails(&["--store", &s, "frobnicate"], 2, "unrecognized subcommand");
    fails(&["init"], 2, "--station");
    fails(&["bench", "store", "--households", "0"], 2, "at least 1");
}

#[test]
fn key_file_problems_are_clear() {
    let dir = TempDir::new().unwrap();
    let s = store_path(dir.path());
    let key = dir.path().join("key");
    std::fs::write(&key, "a good passphrase\n").unwrap();
    let key = key.to_str().unwrap();
    ok(&[
        "--store",
        &s,
        "--key-file",
        key,
        "init",
        "--station",
        "加密站",
    ]);
    ok(&["--store", &s, "--key-file", key, "check"]);
    fails(&["--store", &s, "stats"], 2, "key is missing or wrong");
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "another").unwrap();
    fails(
        &[
            "--store",
            &s,
            "--key-file",
            wrong.to_str().unwrap(),
            "stats",
        ],
        2,
        "key is missing or wrong",
    );
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    fails(
        &[
            "--store",
            &s,
            "--key-file",
            empty.to_str().unwrap(),
            "stats",
        ],
        2,
        "is empty",
    );
    fails(
        &["--store", &s, "--key-file", "/nonexistent/key", "stats"],
        2,
        "cannot read the key file",
    );
}

#[test]
fn a_new_store_is_encrypted_by_default_with_an_owner_only_key_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let s = store_path(dir.path());
    let out = anxin(&["--store", &s, "init", "--station", "默认加密站"]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    let key = format!("{s}.key");
    assert!(said.contains(&key), "{said}");
    let meta = std::fs::metadata(&key).unwrap();
    assert_eq!(meta.len(), 32, "32 random bytes");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    // The key beside the store is found without being named...
    ok(&["--store", &s, "check"]);
    // ...and the file itself is no SQLite database without it.
    let head = std::fs::read(&s).unwrap();
    assert!(!head.starts_with(b"SQLite format 3"));
    let moved = dir.path().join("elsewhere.key");
    std::fs::rename(&key, &moved).unwrap();
    fails(&["--store", &s, "stats"], 2, "key is missing or wrong");
    // A binary key file named explicitly works.
    ok(&[
        "--store",
        &s,
        "--key-file",
        moved.to_str().unwrap(),
        "check",
    ]);
}

#[test]
fn same_seed_exports_the_same_bytes() {
    let (_a, a) = fixture_store("80", "42");
    let (_b, b) = fixture_store("80", "42");
    let (_c, c) = fixture_store("80", "43");
    let ea = ok(&["--store", &a, "export", "--json"]);
    assert_eq!(ea, ok(&["--store", &b, "export", "--json"]));
    assert_ne!(ea, ok(&["--store", &c, "export", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&ea).unwrap();
    assert!(v["documents"].as_array().unwrap().len() > 80);
}

#[test]
fn check_reindex_history_and_lists() {
    let (_d, s) = fixture_store("150", "9");
    assert!(ok(&["--store", &s, "check"]).starts_with("ok"));
    let report: serde_json::Value =
        serde_json::from_str(&ok(&["--store", &s, "check", "--json"])).unwrap();
    assert_eq!(report["ok"], true);
    ok(&["--store", &s, "reindex"]);
    let grids: serde_json::Value =
        serde_json::from_str(&ok(&["--store", &s, "grids", "--json"])).unwrap();
    let grid = grids[0]["id"].as_str().unwrap().to_string();
    let list: serde_json::Value = serde_json::from_str(&ok(&[
        "--store",
        &s,
        "households",
        "--grid",
        &grid,
        "--limit",
        "5",
        "--json",
    ]))
    .unwrap();
    let first = list[0]["id"].as_str().unwrap().to_string();
    let history = ok(&["--store", &s, "history", &first]);
    assert!(history.contains("fixture.household"), "{history}");
    let h: serde_json::Value =
        serde_json::from_str(&ok(&["--store", &s, "history", &first, "--json"])).unwrap();
    assert_eq!(h["kind"], "household");
    assert_eq!(h["changes"].as_array().unwrap().len(), 1);

    // Damage the index behind the store's back: check fails, reindex repairs.
    assert!(damage_index(&s));
    let out = anxin(&["--store", &s, "check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("index differs"));
    ok(&["--store", &s, "reindex"]);
    ok(&["--store", &s, "check"]);
}

/// Changes index rows with plain SQL, as a bug or a careless tool might
/// (with the store's key, which `init` wrote beside it).
fn damage_index(path: &str) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    let key = std::fs::read(format!("{path}.key")).unwrap();
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    conn.pragma_update(None, "key", format!("x:{hex}")).unwrap();
    conn.execute(
        "UPDATE idx_household SET vulnerability = vulnerability + 7",
        [],
    )
    .unwrap()
        > 0
}

#[test]
fn demo_runs_and_reports() {
    let out = ok(&["--lang", "en", "demo"]);
    assert!(out.contains("check ok"), "{out}");
    assert!(out.contains("第1网格") && out.contains("第2网格"));
    assert!(out.contains("Elderly living alone"), "{out}");
    let v: serde_json::Value = serde_json::from_str(&ok(&["demo", "--json"])).unwrap();
    assert_eq!(v["check_ok"], true);
    assert_eq!(v["grids"].as_array().unwrap().len(), 2);
    assert!(v["insulin_household_rank"].as_u64().unwrap() >= 1);
    assert_eq!(v["phones"]["all_agree"], true);
    assert_eq!(v["phones"]["double_acceptance_winner_told_both"], true);
    assert!(out.contains("first acceptance wins"));
    // The crisis path: a red flag at the answer, the household lifted, the
    // review due, then reviewed, referred and followed up.
    assert!(
        out.contains("RED FLAG Suicidal thoughts raised at this answer"),
        "{out}"
    );
    let s = &v["screening"];
    assert_eq!(s["results"][2]["tier"], "crisis");
    assert_eq!(s["crisis_household_priority"], "p1");
    assert!(s["due_before_review"].as_u64().unwrap() >= 3);
    assert_eq!(s["due_after"]["referral_ack"], 1);
    assert_eq!(s["due_after"]["followup"], 1);
    // Issue 11: the red flag opened its crisis record by itself, and a
    // review of the older sitting did not hide it.
    assert!(
        out.contains("opened crisis") && out.contains("by itself"),
        "{out}"
    );
    assert!(out.contains("the case stays Crisis"), "{out}");
    // Issue 12: the station is built through the setup operations and a
    // spreadsheet import, not the fixture, and a contact card is printed.
    assert!(
        out.contains("Imported 摸排表.csv") && out.contains("importing it again changed nothing"),
        "{out}"
    );
    assert!(
        out.contains("网格志愿者联系卡") && out.contains("网格长"),
        "{out}"
    );
}

/// Latin words in text meant for a Chinese reader, other than ids (hex
/// runs of 8 or more), instrument names and file extensions people know.
fn english_words(text: &str) -> Vec<String> {
    const KNOWN: &[&str] = &["PHQ", "GDS", "csv"];
    let mut out = Vec::new();
    for token in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        let letters = token.chars().filter(|c| c.is_ascii_alphabetic()).count();
        let hex_id = token.len() >= 8 && token.chars().all(|c| c.is_ascii_hexdigit());
        if letters >= 2 && !hex_id && !KNOWN.contains(&token) {
            out.push(token.to_string());
        }
    }
    out
}

#[test]
fn the_demo_and_the_daily_report_read_in_chinese_by_default() {
    let out = in_station_language(&["demo"]);
    assert_eq!(english_words(&out), Vec::<String>::new(), "{out}");
    assert!(out.contains("作答即触发红旗预警（自杀意念）"), "{out}");
    assert!(out.contains("重新打开加密数据库后自检：通过"), "{out}");
    // "N items" is what is listed below it.
    let said = out
        .lines()
        .find_map(|l| l.split("全站当前待办（共 ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<usize>().ok())
        .expect("the due line");
    let start = out
        .lines()
        .position(|l| l.contains("全站当前待办"))
        .unwrap();
    let listed = out
        .lines()
        .skip(start + 1)
        .take_while(|l| l.starts_with("    "))
        .count();
    assert_eq!(said, listed, "{out}");
    // Traditional Chinese converts the sentences, not the names.
    let hant = ok(&["--lang", "zh-Hant", "demo"]);
    assert!(hant.contains("作答即觸發紅旗預警（自殺意念）"), "{hant}");
    assert!(hant.contains("王秀英"), "{hant}");

    let (_dir, s) = fixture_store("120", "3");
    let today = in_station_language(&["--store", &s, "today"]);
    assert_eq!(english_words(&today), Vec::<String>::new(), "{today}");
    assert!(today.starts_with("每日工作简报"), "{today}");
    assert!(today.contains("北京时间"), "{today}");
    let en = std::process::Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args(["--store", &s, "today"])
        .env("ANXIN_LANG", "en")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&en.stdout).starts_with("Daily station report"));
    let v = json(&["--store", &s, "today", "--json"]);
    assert_eq!(v["time_zone"], "Asia/Shanghai");
    assert!(
        v["open_orders"][0]["urgency"].is_string(),
        "codes stay codes: {v}"
    );
    fails(&["--store", &s, "--lang", "fr", "today"], 2, "--lang");
    // Errors too, one line, in the station's language.
    let out = Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args(["--store", &s, "households", "--grid", "nope"])
        .env_remove("ANXIN_LANG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.trim_end(), "anxin: grid 无效：不是有效的编号", "{err}");
}

#[test]
fn printouts_are_whole_a4_pages_in_the_stations_language() {
    let (dir, s) = fixture_store("150", "5");
    let grids = json(&["--store", &s, "grids", "--json"]);
    let grid = grids[0]["id"].as_str().unwrap().to_string();
    let grid_name = grids[0]["name"].as_str().unwrap().to_string();
    let page = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let read = |name: &str| std::fs::read_to_string(page(name)).unwrap();

    in_station_language(&[
        "--store",
        &s,
        "print",
        "contact-card",
        "--grid",
        &grid,
        "--out",
        &page("card.html"),
    ]);
    let card = read("card.html");
    for needle in [
        "<html lang=\"zh-Hans\">",
        "size: A4",
        "网格志愿者联系卡",
        &grid_name,
        "网格长",
        "急救请拨 120",
    ] {
        assert!(card.contains(needle), "{needle}: {card}");
    }
    assert!(!card.contains("<script"), "self-contained, no scripts");

    in_station_language(&[
        "--store",
        &s,
        "print",
        "visit-list",
        "--grid",
        &grid,
        "--out",
        &page("list.html"),
    ]);
    let list = read("list.html");
    assert!(
        list.contains("入户走访清单") && list.contains("本次记录（手写）"),
        "{list}"
    );
    // Every household of the grid, in triage order, no resident names.
    let households = json(&[
        "--store",
        &s,
        "households",
        "--grid",
        &grid,
        "--limit",
        "1000",
        "--json",
    ]);
    let rows = list.matches("<tr><td>").count();
    assert_eq!(rows, households.as_array().unwrap().len());
    let first = list.find("<tr><td>1</td>").unwrap();
    let top = households[0]["address"].as_str().unwrap();
    assert!(
        list[first..].starts_with(&format!("<tr><td>1</td><td><span style=\"white-space:nowrap\">一级（当天）</span></td><td>{top}"))
            || households[0]["priority"] != "p1",
        "{list}"
    );
    let residents = json(&[
        "--store",
        &s,
        "residents",
        "--tag",
        "elderly_alone",
        "--grid",
        &grid,
        "--json",
    ]);
    let names: Vec<&str> = residents
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(!names.is_empty());
    for name in names {
        assert!(!list.contains(name), "the visit list names nobody: {name}");
    }

    in_station_language(&[
        "--store",
        &s,
        "print",
        "today",
        "--out",
        &page("today.html"),
    ]);
    let today = read("today.html");
    assert!(
        today.contains("每日工作简报")
            && today.contains("未完成工单")
            && today.contains("北京时间"),
        "{today}"
    );

    let hours = json(&["--store", &s, "hours", "--json"]);
    let worker = hours[0]["worker_id"].as_str().unwrap().to_string();
    let name = hours[0]["name"].as_str().unwrap().to_string();
    in_station_language(&[
        "--store",
        &s,
        "print",
        "certificate",
        "--worker",
        &worker,
        "--out",
        &page("cert.html"),
    ]);
    let cert = read("cert.html");
    for needle in [
        "志愿服务时长证明",
        name.as_str(),
        "截至",
        "小时",
        "开具日期",
        "盖章处",
    ] {
        assert!(cert.contains(needle), "{needle}: {cert}");
    }
    // English on request.
    ok(&[
        "--store",
        &s,
        "--lang",
        "en",
        "print",
        "contact-card",
        "--grid",
        &grid,
        "--out",
        &page("card-en.html"),
    ]);
    assert!(read("card-en.html").contains("Grid volunteer contact card"));
    fails(
        &[
            "--store",
            &s,
            "print",
            "visit-list",
            "--grid",
            "nope",
            "--out",
            &page("x.html"),
        ],
        2,
        "--grid",
    );
}

#[test]
fn command_line_hygiene() {
    use std::io::Read;
    let (dir, s) = fixture_store("60", "9");

    // A reader that stops early (`| head`) ends the command quietly.
    let mut child = Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args(["--store", &s, "export"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(101), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );

    // Commands that only look create nothing, migrate nothing, write nothing.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let empty = empty.to_str().unwrap();
    for cmd in [
        &["stats"][..],
        &["export"],
        &["today"],
        &["grids"],
        &["report"],
    ] {
        let mut args = vec!["--store", empty];
        args.extend_from_slice(cmd);
        fails(&args, 2, "not an Anxin store");
        assert_eq!(std::fs::metadata(empty).unwrap().len(), 0, "{cmd:?}");
    }
    let missing = dir.path().join("missing.db");
    fails(
        &["--store", missing.to_str().unwrap(), "stats"],
        2,
        "no store at",
    );
    assert!(!missing.exists());
    let before = std::fs::read(&s).unwrap();
    for cmd in [
        &["stats"][..],
        &["export"],
        &["today"],
        &["grids"],
        &["report"],
        &["hours"],
    ] {
        let mut args = vec!["--store", s.as_str()];
        args.extend_from_slice(cmd);
        ok(&args);
    }
    assert!(
        std::fs::read(&s).unwrap() == before,
        "read-only commands left the file as it was"
    );

    // A store in a read-only place can be inspected (a read-only bind mount
    // in a private mount namespace: root ignores file permissions).
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::copy(&s, ro.join("s.db")).unwrap();
    std::fs::copy(format!("{s}.key"), ro.join("s.db.key")).unwrap();
    let ro = ro.to_str().unwrap();
    let script = format!(
        "mount --bind {ro} {ro} && mount -o remount,ro,bind {ro} && ! touch {ro}/probe 2>/dev/null && {} --store {ro}/s.db stats",
        env!("CARGO_BIN_EXE_anxin")
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .env("ANXIN_LANG", "en")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("schema version"),
        "{out:?}"
    );

    // A folder that does not exist is bad input.
    fails(
        &[
            "--store",
            "/nonexistent/folder/s.db",
            "init",
            "--station",
            "站",
        ],
        2,
        "does not exist",
    );
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).unwrap()
}

#[test]
fn an_order_through_the_command_line() {
    let (_d, s) = fixture_store("120", "5");
    let grid = json(&["--store", &s, "grids", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let volunteer = json(&[
        "--store",
        &s,
        "workers",
        "--grid",
        &grid,
        "--role",
        "volunteer",
        "--json",
    ])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dispatcher = json(&["--store", &s, "workers", "--role", "dispatcher", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let household = json(&["--store", &s, "households", "--grid", &grid, "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    fails(
        &[
            "--store",
            &s,
            "order",
            "new",
            "--household",
            &household,
            "--kind",
            "groceries",
        ],
        2,
        "--as WORKER_ID",
    );
    fails(
        &[
            "--store",
            &s,
            "--as",
            &volunteer,
            "order",
            "new",
            "--household",
            &household,
            "--kind",
            "groceries",
            "--item",
            "米",
        ],
        2,
        "NAME:QUANTITY",
    );
    fails(
        &[
            "--store",
            &s,
            "--as",
            &volunteer,
            "order",
            "new",
            "--household",
            &household,
            "--kind",
            "pizza",
        ],
        2,
        "invalid value",
    );
    let id = json(&[
        "--store",
        &s,
        "--as",
        &volunteer,
        "order",
        "new",
        "--household",
        &household,
        "--kind",
        "groceries",
        "--item",
        "大米:5:kg",
        "--item",
        "鸡蛋:20:个",
        "--urgency",
        "urgent",
        "--json",
    ])["id"]
        .as_str()
        .unwrap()
        .to_string();
    let queue = json(&["--store", &s, "queue", "--grid", &grid, "--json"]);
    assert!(queue
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == id.as_str()));

    // A volunteer cannot dispatch; accepting before dispatch is forbidden.
    fails(
        &[
            "--store",
            &s,
            "--as",
            &volunteer,
            "order",
            "dispatch",
            &id,
            "--to-grid",
            &grid,
        ],
        2,
        "not allowed to dispatch an order: only a coordinator",
    );
    fails(
        &["--store", &s, "--as", &volunteer, "order", "accept", &id],
        2,
        "cannot accept an order: its status is Requested",
    );
    // The same refusals in the station's language: the deed, the rule and
    // the status are codes core hands over, worded here.
    let zh = |args: &[&str]| {
        let mut all = vec!["--lang", "zh-Hans"];
        all.extend_from_slice(args);
        let out = anxin(&all);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let err = zh(&[
        "--store",
        &s,
        "--as",
        &volunteer,
        "order",
        "dispatch",
        &id,
        "--to-grid",
        &grid,
    ]);
    assert_eq!(
        err.trim(),
        "anxin: 无权派单：只有协调人（站点管理员或派单员）可以",
        "{err}"
    );
    let err = zh(&["--store", &s, "--as", &volunteer, "order", "accept", &id]);
    assert_eq!(
        english_words(err.trim_start_matches("anxin:")),
        Vec::<String>::new(),
        "{err}"
    );
    assert!(err.contains("无法接单"), "{err}");
    ok(&[
        "--store",
        &s,
        "--as",
        &dispatcher,
        "order",
        "dispatch",
        &id,
        "--to-worker",
        &volunteer,
    ]);
    let tasks = json(&["--store", &s, "queue", "--worker", &volunteer, "--json"]);
    assert!(tasks
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == id.as_str()));
    let suggested = json(&["--store", &s, "order", "suggest", &id, "--json"]);
    assert!(!suggested.as_array().unwrap().is_empty());
    ok(&["--store", &s, "--as", &volunteer, "order", "accept", &id]);
    ok(&["--store", &s, "--as", &volunteer, "order", "start", &id]);
    fails(
        &[
            "--store",
            &s,
            "--as",
            &volunteer,
            "order",
            "complete",
            &id,
            "--handed",
            "大米:5:kg",
            "--code",
            "12",
            "--minutes",
            "30",
        ],
        2,
        "order.confirmation_code",
    );
    let state = json(&[
        "--store",
        &s,
        "--as",
        &volunteer,
        "order",
        "complete",
        &id,
        "--handed",
        "大米:5:kg",
        "--handed",
        "鸡蛋:20:个",
        "--code",
        "4821",
        "--minutes",
        "30",
        "--json",
    ]);
    assert_eq!(state["status"], "completed");
    ok(&[
        "--store",
        &s,
        "--as",
        &dispatcher,
        "order",
        "rate",
        &id,
        "--stars",
        "4",
    ]);
    fails(
        &[
            "--store",
            &s,
            "--as",
            &dispatcher,
            "order",
            "rate",
            &id,
            "--stars",
            "4",
        ],
        2,
        "its status is Rated",
    );
    let shown = json(&["--store", &s, "order", "show", &id, "--json"]);
    assert_eq!(shown["state"]["status"], "rated");
    assert_eq!(shown["order"]["events"].as_object().unwrap().len(), 6);

    let hours = json(&["--store", &s, "hours", "--worker", &volunteer, "--json"]);
    assert!(hours[0]["minutes"].as_u64().unwrap() >= 30);
    // The certificate CSV opens in a spreadsheet: a BOM, headings in the
    // station's language, the period as local dates (the last day included).
    let csv = in_station_language(&[
        "--store",
        &s,
        "hours",
        "--csv",
        "--from",
        "2026-01-01",
        "--to",
        "2099-01-01",
    ]);
    assert!(
        csv.starts_with("\u{feff}工作人员编号,姓名,起始日期,截止日期,服务时长（小时）"),
        "{csv}"
    );
    assert!(csv.contains(",2026-01-01,2098-12-31,"), "{csv}");
    assert!(csv.contains(&volunteer));
    let open_ended = ok(&["--store", &s, "--lang", "en", "hours", "--csv"]);
    assert!(open_ended.starts_with(
        "\u{feff}worker_id,name,period_from,period_to,hours,acknowledged_hours,entries\n"
    ));
    assert!(!open_ended.contains("9223372036854775807"), "{open_ended}");
    // The certificate to hand the volunteer (志愿服务时长证明).
    let page = Path::new(&s).with_file_name("certificate.html");
    let page = page.to_str().unwrap();
    in_station_language(&[
        "--store",
        &s,
        "hours",
        "--worker",
        &volunteer,
        "--from",
        "2026-01-01",
        "--to",
        "2099-01-01",
        "--certificate",
        page,
    ]);
    let html = std::fs::read_to_string(page).unwrap();
    for needle in [
        "志愿服务时长证明",
        "2026-01-01",
        "2098-12-31",
        "已确认",
        "开具日期",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }
    fails(
        &["--store", &s, "hours", "--certificate", page],
        2,
        "--worker",
    );
    fails(
        &["--store", &s, "hours", "--from", "2026-02-30x"],
        2,
        "YYYY-MM-DD",
    );
    fails(
        &[
            "--store",
            &s,
            "hours",
            "--from",
            "2026-05-01",
            "--to",
            "2026-04-01",
        ],
        2,
        "before --to",
    );
    let report = json(&["--store", &s, "report", "--json"]);
    assert!(
        report["station"]["orders"]["groceries"]["rated"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(!report.to_string().contains(&household));
    let conflicts = json(&["--store", &s, "conflicts", "--json"]);
    assert!(conflicts.is_array());
    ok(&["--store", &s, "check"]);
    fails(
        &["--store", &s, "--as", "nobody", "order", "accept", &id],
        2,
        "invalid --as",
    );
    fails(
        &[
            "--store",
            &s,
            "order",
            "show",
            "00000000-0000-4000-8000-000000000000",
        ],
        2,
        "not found",
    );
}

#[test]
fn two_stores_converge_over_sync_serve_and_connect_and_over_a_bundle() {
    use std::io::BufRead;
    let (dir, a) = fixture_store("60", "8");
    let b = dir.path().join("phone.db");
    let b = b.to_str().unwrap().to_string();

    let mut server = Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args([
            "--store",
            &a,
            "sync",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--sessions",
            "2",
        ])
        .env("ANXIN_LANG", "en")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("serving sync on ").unwrap().to_string();

    fails(&["--store", &b, "sync", "connect", &addr], 2, "no store at");
    // A bare address is no longer enough: a device joins with a code.
    fails(&["--store", &b, "join", &addr], 2, "enrolment code");
    let code = enrol_code(&a, &addr);
    let joined = json(&["--store", &b, "join", &code, "--json"]);
    assert_eq!(joined["completed"], true, "{joined}");
    fails(
        &["--store", &b, "join", &code],
        2,
        "already belongs to a station",
    );
    let again = json(&["--store", &b, "sync", "connect", &addr, "--json"]);
    assert_eq!(again["completed"], true);
    // The laptop's registry lists the laptop and the enrolled phone, and
    // listing needs no --as.
    let devices = json(&["--store", &a, "device", "list", "--json"]);
    assert_eq!(devices.as_array().unwrap().len(), 2, "{devices}");
    assert_eq!(
        devices[1]["role"].as_str().or(devices[0]["role"].as_str()),
        Some("counselor")
    );
    assert_eq!(again["documents_received"], 0);
    assert!(server.wait().unwrap().success());
    let reports: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().all(|l| l.starts_with("sync complete")));
    assert_eq!(
        ok(&["--store", &a, "export", "--json"]),
        ok(&["--store", &b, "export", "--json"])
    );

    // A sealed bundle of one grid, carried to the enrolled phone; a new
    // device cannot join from a file; then damage is refused.
    let grid = json(&["--store", &a, "grids", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let household = json(&[
        "--store",
        &a,
        "--as",
        &worker_of(&a, "station_admin"),
        "household",
        "add",
        "--grid",
        &grid,
        "--compound",
        "带出小区",
        "--building",
        "1",
        "--unit",
        "1",
        "--room",
        "101",
        "--json",
    ]);
    assert!(household["household"].is_string(), "{household}");
    let file = dir.path().join("grid.bundle");
    let file = file.to_str().unwrap().to_string();
    ok(&[
        "--store", &a, "bundle", "export", "--scope", "station", "--scope", &grid, "--out", &file,
    ]);
    let sealed = std::fs::read(&file).unwrap();
    assert!(!sealed
        .windows("带出小区".len())
        .any(|w| w == "带出小区".as_bytes()));
    let fresh = dir.path().join("carried.db");
    let fresh = fresh.to_str().unwrap().to_string();
    fails(&["--store", &fresh, "join", &file], 2, "enrolment code");
    assert!(!Path::new(&fresh).exists());
    let c = b.clone();
    let r = json(&["--store", &c, "bundle", "import", &file, "--json"]);
    assert_eq!(r["applied"], 1, "{r}");
    let r = json(&["--store", &c, "bundle", "import", &file, "--json"]);
    assert_eq!(r["applied"], 0);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() - 100);
    std::fs::write(&file, &bytes).unwrap();
    let before = ok(&["--store", &c, "export", "--json"]);
    fails(&["--store", &c, "bundle", "import", &file], 2, "corrupted");
    assert_eq!(ok(&["--store", &c, "export", "--json"]), before);
    ok(&["--store", &c, "check"]);

    // Joining an address where nobody listens fails and leaves no file.
    let d = dir.path().join("nobody.db");
    let d = d.to_str().unwrap().to_string();
    let nowhere = format!("{}@127.0.0.1:1", code.split('@').next().unwrap());
    fails(&["--store", &d, "join", &nowhere], 1, "cannot connect");
    assert!(!Path::new(&d).exists());
    // A bad address, a bogus scope: bad input, exit 2, no store left.
    let bad = format!(
        "{}@nohost.invalid:notaport",
        code.split('@').next().unwrap()
    );
    fails(&["--store", &d, "join", &bad], 2, "not an address");
    fails(
        &["--store", &d, "join", &nowhere, "--scopes", "grid:zzz"],
        2,
        "--scopes",
    );
    assert!(!Path::new(&d).exists());
    fails(
        &[
            "--store",
            &a,
            "bundle",
            "export",
            "--scope",
            "grid:nope",
            "--out",
            &file,
        ],
        2,
        "not a valid identifier",
    );
}

/// Starts `sync serve` on a free loopback port; returns the child and address.
fn serve(store: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args(["--store", store, "sync", "serve", "--listen", "127.0.0.1:0"])
        .env("ANXIN_LANG", "en")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    // Keep draining reports so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let addr = first.strip_prefix("serving sync on ").unwrap().to_string();
    (child, addr)
}

#[test]
fn sigkill_mid_session_leaves_both_stores_intact_and_the_next_session_completes() {
    let trials: u64 = std::env::var("ANXIN_SYNC_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let (dir, station) = fixture_store("600", "21");
    let (mut server, mut addr) = serve(&station);
    let mut mid_session = 0;
    for trial in 0..trials {
        let phone = dir.path().join(format!("phone{trial}.db"));
        let phone = phone.to_str().unwrap().to_string();
        let kill_server = trial % 2 == 1;
        let code = enrol_code(&station, &addr);
        let mut client = Command::new(env!("CARGO_BIN_EXE_anxin"))
            .args(["--store", &phone, "join", &code])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Somewhere in the session (a join of 600 households takes a while).
        std::thread::sleep(std::time::Duration::from_millis(50 + (trial * 97) % 600));
        // Count only kills that landed while the session was running.
        if client.try_wait().unwrap().is_none() {
            mid_session += 1;
        }
        if kill_server {
            server.kill().unwrap();
            server.wait().unwrap();
            let _ = client.wait();
        } else {
            client.kill().unwrap();
            client.wait().unwrap();
        }
        // Both stores reopen and pass their checks.
        ok(&["--store", &station, "check"]);
        if Path::new(&phone).exists() {
            ok(&["--store", &phone, "check"]);
        }
        if kill_server {
            let (s, a) = serve(&station);
            server = s;
            addr = a;
        }
        // The next session completes: enrol again (a code works once) if
        // the kill came before the phone had documents, else an ordinary
        // sync.
        let joined = Path::new(&phone).exists()
            && json(&["--store", &phone, "stats", "--json"])["documents"]
                .as_object()
                .is_some_and(|d| !d.is_empty());
        if joined {
            let r = json(&["--store", &phone, "sync", "connect", &addr, "--json"]);
            assert_eq!(r["completed"], true, "trial {trial}: {r}");
        } else {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{phone}{suffix}"));
            }
            let code = enrol_code(&station, &addr);
            let r = json(&["--store", &phone, "join", &code, "--json"]);
            assert_eq!(r["completed"], true, "trial {trial}: {r}");
        }
        assert_eq!(
            ok(&["--store", &phone, "export", "--json"]),
            ok(&["--store", &station, "export", "--json"]),
            "trial {trial}: the phone and the station differ"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        mid_session * 2 >= trials,
        "only {mid_session} of {trials} kills landed mid-session"
    );
}

#[test]
fn bench_sync_prints_every_figure() {
    let v = json(&["bench", "sync", "--households", "40"]);
    for field in [
        "docs",
        "unchanged_bytes",
        "unchanged_round_trips",
        "naive_unchanged_bytes",
        "first_sync_bytes",
        "snapshot_bytes",
        "naive_first_sync_bytes",
        "incremental_bytes",
        "changed_json_bytes",
        "incremental_round_trips",
        "v4_incremental_bytes",
        "v3_incremental_bytes",
        "v2_incremental_bytes",
        "ble_seconds",
        "ble_limit_seconds",
        "peak_rss_bytes",
    ] {
        assert!(v[field].is_number(), "{field} missing: {v}");
    }
    // The Hello rides in the handshake's first message: one round trip,
    // for the whole store and for one grid.
    assert_eq!(v["unchanged_round_trips"], 1);
    assert_eq!(v["unchanged_grid_round_trips"], 1);
    assert!(v["unchanged_bytes"].as_u64().unwrap() < v["naive_unchanged_bytes"].as_u64().unwrap());
    // A visit pushed as what changed since the last session: one round
    // trip, fewer bytes than finding it by ranges; protocol 5's Resume and
    // dictionary fewer again than protocol 4's full Hello.
    assert_eq!(v["incremental_round_trips"], 1);
    assert_eq!(v["v4_incremental_round_trips"], 1);
    let bytes = |f: &str| v[f].as_u64().unwrap();
    assert!(
        bytes("incremental_bytes") < bytes("v4_incremental_bytes"),
        "{v}"
    );
    assert!(
        bytes("v4_incremental_bytes") < bytes("v3_incremental_bytes"),
        "{v}"
    );
    // The idle session and the changes' share add up to the incremental
    // exchange, and both cost something.
    let idle = v["idle_session_bytes"].as_u64().unwrap();
    let changes = v["incremental_change_bytes"].as_u64().unwrap();
    assert!(idle > 0 && changes > 0, "{v}");
    assert_eq!(idle + changes, v["incremental_bytes"].as_u64().unwrap());
    fails(&["bench", "sync", "--households", "0"], 2, "--households");
}

#[test]
fn bench_store_prints_every_figure_and_counts_the_pages_of_a_write() {
    let v = json(&[
        "bench",
        "store",
        "--households",
        "5",
        "--writes",
        "5",
        "--json",
    ]);
    for field in [
        "anxin_write_ms",
        "raw_sqlite_insert_ms",
        "write_ratio",
        "anxin_wal_pages_per_write",
        "raw_wal_pages_per_write",
        "open_to_first_list_ms",
        "naive_open_to_first_list_ms",
        "peak_rss_bytes",
    ] {
        assert!(v[field].is_number(), "{field} missing: {v}");
    }
    // Pages, not time: what the write path's schema and statements put
    // through the WAL and its fsync. A raw insert writes its table and its
    // key's index; an acknowledged write its document's chunk and row, the
    // attestation, the index rows that changed and the audit row — about
    // ten pages, where it was fifteen with `INSERT OR REPLACE` index rows,
    // the scope rewritten with every write and rowid chunk and tag tables.
    let pages = |f: &str| v[f].as_f64().unwrap();
    assert!(pages("raw_wal_pages_per_write") >= 1.0, "{v}");
    assert!(
        pages("anxin_wal_pages_per_write") > pages("raw_wal_pages_per_write"),
        "{v}"
    );
    assert!(pages("anxin_wal_pages_per_write") < 14.0, "{v}");
}

/// One valid answer list per shipped instrument, in form numbering.
const VECTORS: &[(&str, &str, i64, &str)] = &[
    ("phq9", "2,2,2,2,1,1,1,1,0", 12, "t2"),
    ("phq2", "2,1", 3, "t1"),
    ("gad7", "1,1,1,1,1,0,0", 5, "t1"),
    ("gad2", "1,1", 2, "t0"),
    ("phq4", "2,1,2,1", 6, "t2"),
    ("pcl5", "2,0,0,0,0,2,0,2,2,0,0,0,0,0,2,2,0,0,0,0", 12, "t2"),
    ("pcptsd5", "1,1,1,1,0,0", 3, "t2"),
    ("k6", "3,3,3,2,1,1", 13, "t2"),
    // The built-in policy's K10 convention is 1-5: "none of the time" is 1.
    ("k10", "1,1,1,1,1,1,1,1,1,1", 10, "t0"),
    ("who5", "2,2,2,3,3", 12, "t1"),
    ("gds15", "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0", 5, "t1"),
    ("srq20", "1,1,1,1,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0", 8, "t2"),
    ("psc17", "0,1,0,0,0,1,0,0,1,0,1,0,0,0,1,0,0", 5, "t2"),
    ("cries8", "3,3,3,3,3,1,1,0", 17, "t2"),
    ("isi", "2,2,2,2,2,2,3", 15, "t2"),
    ("epds", "0,0,3,0,3,3,3,3,3,3", 0, "t0"),
    (
        "sdq",
        "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0",
        10,
        "t0",
    ),
];

#[test]
fn screen_score_answers_as_specified_for_every_instrument() {
    let listed = json(&["instruments", "--json"]);
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    for (id, answers, total, tier) in VECTORS {
        assert!(ids.contains(id), "{id} not listed");
        let r = json(&[
            "screen",
            "score",
            "--instrument",
            id,
            "--answers",
            answers,
            "--json",
        ]);
        for field in [
            "instrument",
            "version",
            "score",
            "subscales",
            "band",
            "flags",
            "tier",
            "reasons",
            "loinc",
        ] {
            assert!(r.get(field).is_some(), "{id}: no {field}");
        }
        assert_eq!(r["instrument"], *id);
        assert_eq!(r["score"], *total, "{id}");
        assert_eq!(r["tier"], *tier, "{id}: {}", r["reasons"]);
        assert!(r["subscales"].is_object() && r["loinc"].is_object() && r["flags"].is_array());
        assert!(!r["reasons"].as_array().unwrap().is_empty());
    }
    // The C-SSRS has no total; its flow skips Q3-Q5 when Q2 is No.
    let r = json(&[
        "screen",
        "score",
        "--instrument",
        "cssrs",
        "--answers",
        "1,0,1,1",
        "--json",
    ]);
    assert_eq!(
        (r["score"].clone(), r["tier"].clone()),
        (serde_json::Value::Null, "crisis".into())
    );
    assert_eq!(ids.len(), VECTORS.len() + 1);

    // A red flag, the zh-CN cutoff set, the languages, K10 in 1-5 scoring.
    let r = json(&[
        "screen",
        "score",
        "--instrument",
        "phq9",
        "--answers",
        "0,0,0,0,0,0,0,0,1",
        "--json",
    ]);
    assert_eq!(r["flags"], serde_json::json!(["suicidal_ideation"]));
    assert_eq!(r["tier"], "crisis");
    let srq7 = "1,1,1,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0";
    let zh = json(&[
        "screen",
        "score",
        "--instrument",
        "srq20",
        "--answers",
        srq7,
        "--cutoffs",
        "zh-CN",
        "--json",
    ]);
    let intl = json(&[
        "screen",
        "score",
        "--instrument",
        "srq20",
        "--answers",
        srq7,
        "--cutoffs",
        "international",
        "--json",
    ]);
    assert_eq!(
        (zh["tier"].as_str(), intl["tier"].as_str()),
        (Some("t2"), Some("t0"))
    );
    let r = json(&[
        "screen",
        "score",
        "--instrument",
        "gad7",
        "--answers",
        "0,0,0,0,0,0,0",
        "--language",
        "zh-Hant",
        "--json",
    ]);
    assert_eq!(r["language"], "zh-Hant");
    let r = json(&[
        "screen",
        "score",
        "--instrument",
        "k10",
        "--answers",
        "3,3,3,3,3,2,2,2,2,2",
        "--convention",
        "1-5",
        "--json",
    ]);
    assert_eq!(
        (
            r["score"].as_i64(),
            r["convention"].as_str(),
            r["tier"].as_str()
        ),
        (Some(25), Some("1-5"), Some("t2"))
    );
    assert_eq!(
        json(&[
            "screen",
            "score",
            "--instrument",
            "who5",
            "--answers",
            "5,5,5,5,5",
            "--json"
        ])["percent"],
        100
    );

    // Bad input: one readable line naming the item, exit 2.
    fails(
        &[
            "screen",
            "score",
            "--instrument",
            "phq9",
            "--answers",
            "0,1",
        ],
        2,
        "2 answers given, 9 to 10 expected",
    );
    fails(
        &[
            "screen",
            "score",
            "--instrument",
            "phq9",
            "--answers",
            "0,0,0,4,0,0,0,0,0",
        ],
        2,
        "item 4",
    );
    fails(
        &[
            "screen",
            "score",
            "--instrument",
            "cries8",
            "--answers",
            "2,0,0,0,0,0,0,0",
        ],
        2,
        "0, 1, 3, 5",
    );
    fails(
        &["screen", "score", "--instrument", "nope", "--answers", "1"],
        2,
        "unknown instrument",
    );
    fails(
        &[
            "screen",
            "score",
            "--instrument",
            "gad7",
            "--answers",
            "1,1,,1,1,1,1",
        ],
        2,
        "item 3 has no answer",
    );
    fails(
        &[
            "screen",
            "score",
            "--instrument",
            "gad7",
            "--answers",
            "1,x,1,1,1,1,1",
        ],
        2,
        "entry 2",
    );
    fails(
        &[
            "screen",
            "score",
            "--instrument",
            "psc17",
            "--answers",
            ",,,,1,1,1,1,1,1,1,1,1,1,1,1,1",
        ],
        2,
        "invalid",
    );
    fails(
        &[
            "screen",
            "score",
            "--instrument",
            "phq9",
            "--answers",
            "0,0,0,0,0,0,0,0,0",
            "--cutoffs",
            "us",
        ],
        2,
        "invalid value",
    );
}

#[test]
fn licensed_texts_load_from_a_file_and_a_bad_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let good = dir.path().join("isi.json");
    let items: Vec<String> = (1..=7)
        .map(|i| format!("\"{i}\": {{\"en\": \"ISI item {i}\"}}"))
        .collect();
    let options: Vec<String> = (1..=7)
        .map(|i| format!("\"{i}\": [{{\"en\": \"a\"}}, {{\"en\": \"b\"}}, {{\"en\": \"c\"}}, {{\"en\": \"d\"}}, {{\"en\": \"e\"}}]"))
        .collect();
    std::fs::write(
        &good,
        format!(
            "{{\"instrument\": \"isi\", \"version\": \"2026.1\", \"licence\": \"Mapi licence 42\", \"items\": {{{}}}, \"options\": {{{}}}}}",
            items.join(","),
            options.join(",")
        ),
    )
    .unwrap();
    let out = ok(&[
        "instruments",
        "--id",
        "isi",
        "--licensed-texts",
        good.to_str().unwrap(),
    ]);
    assert!(out.contains("ISI item 7"), "{out}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"instrument\": \"isi\"").unwrap();
    fails(
        &["instruments", "--licensed-texts", bad.to_str().unwrap()],
        2,
        "bad.json",
    );
}

fn first_resident(s: &str, household: &str) -> String {
    let export = json(&["--store", s, "export", "--json"]);
    let doc = export["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == household)
        .unwrap();
    doc["content"]["members"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone()
}

/// The people and place of a case test on a fixture store: the first grid,
/// its last (lowest-priority, not P1) household and a resident of it, a
/// volunteer of the grid and a counselor.
struct Scene {
    grid: String,
    household: String,
    resident: String,
    volunteer: String,
    counselor: String,
}

fn scene(s: &str) -> Scene {
    let grid = json(&["--store", s, "grids", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let households = json(&[
        "--store",
        s,
        "households",
        "--grid",
        &grid,
        "--limit",
        "40",
        "--json",
    ]);
    let household = households.as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        households.as_array().unwrap().last().unwrap()["priority"],
        "p1"
    );
    let resident = first_resident(s, &household);
    let volunteer = json(&[
        "--store",
        s,
        "workers",
        "--grid",
        &grid,
        "--role",
        "volunteer",
        "--json",
    ])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let counselor = json(&["--store", s, "workers", "--role", "counselor", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    Scene {
        grid,
        household,
        resident,
        volunteer,
        counselor,
    }
}

#[test]
fn a_case_through_the_command_line() {
    let (_d, s) = fixture_store("40", "9");
    let Scene {
        grid,
        household,
        resident,
        volunteer,
        counselor,
    } = scene(&s);
    let identity = identity_of(&s, &counselor);

    // The volunteer screens; item 9 raises the red flag.
    let rec = json(&[
        "--store",
        &s,
        "--as",
        &volunteer,
        "case",
        "screen",
        "--household",
        &household,
        "--resident",
        &resident,
        "--instrument",
        "phq9",
        "--answers",
        "1,1,1,1,0,0,0,0,2",
        "--json",
    ]);
    assert_eq!(rec["tier"], "crisis");
    let case = rec["case"].as_str().unwrap().to_string();
    let screening = rec["screening"].as_str().unwrap().to_string();
    // The red flag opened its crisis record in the same write, and it leads
    // what is due.
    let opened = rec["crisis_opened"]
        .as_str()
        .expect("a crisis was opened")
        .to_string();
    let due = json(&["--store", &s, "case", "due", "--json"]);
    assert_eq!(due[0]["what"], "crisis");
    assert_eq!(due[0]["reference"], opened.as_str());
    let shown = ok(&["--store", &s, "case", "show", &case]);
    assert!(
        shown.contains("screening: red flag suicidal_ideation (phq9)"),
        "{shown}"
    );
    assert!(!shown.contains("1,1,1,1,0,0,0,0,2"));
    // The household is lifted to P1 in its grid's triage list.
    let all = json(&[
        "--store",
        &s,
        "households",
        "--grid",
        &grid,
        "--limit",
        "40",
        "--json",
    ]);
    let row = all
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == household.as_str())
        .unwrap();
    assert_eq!(row["priority"], "p1");
    assert!(row["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r == "mental_health_crisis_or_t3"));
    // Due: the review, station-wide and for the volunteer.
    let due = json(&["--store", &s, "case", "due", "--json"]);
    assert!(due
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["what"] == "review" && d["case_id"] == case.as_str()));
    let due = json(&[
        "--store", &s, "case", "due", "--worker", &volunteer, "--json",
    ]);
    assert!(due
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["what"] == "review"));
    // The volunteer may not review; the counselor does.
    fails(
        &[
            "--store",
            &s,
            "--as",
            &volunteer,
            "case",
            "review",
            &case,
            "--screening",
            &screening,
            "--tier",
            "t1",
            "--reason",
            "x",
        ],
        2,
        "counselor or clinician",
    );
    // At the station's laptop the counselor signs with her own identity:
    // `--as` alone cannot make a professional's sign-off, and her file
    // does not sign for anyone else.
    fails(
        &[
            "--store",
            &s,
            "--as",
            &counselor,
            "case",
            "review",
            &case,
            "--screening",
            &screening,
            "--tier",
            "t2",
            "--reason",
            "x",
        ],
        2,
        "own identity",
    );
    fails(
        &[
            "--store",
            &s,
            "--identity",
            &identity,
            "--as",
            &volunteer,
            "case",
            "review",
            &case,
            "--screening",
            &screening,
            "--tier",
            "t2",
            "--reason",
            "x",
        ],
        2,
        "belongs to worker",
    );
    let wrong = anxin(&[
        "--store",
        &s,
        "--identity",
        &identity,
        "--as",
        &counselor,
        "case",
        "show",
        &case,
    ]);
    assert!(wrong.status.success());
    let stolen = Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args([
            "--store",
            &s,
            "--identity",
            &identity,
            "--as",
            &counselor,
            "case",
            "show",
            &case,
        ])
        .env("ANXIN_PASSPHRASE", "not hers")
        .env("ANXIN_LANG", "en")
        .output()
        .unwrap();
    assert_eq!(stolen.status.code(), Some(2), "{stolen:?}");
    assert!(String::from_utf8_lossy(&stolen.stderr).contains("passphrase"));
    let state = json(&[
        "--store",
        &s,
        "--identity",
        &identity,
        "--as",
        &counselor,
        "case",
        "review",
        &case,
        "--screening",
        &screening,
        "--tier",
        "t2",
        "--reason",
        "passive ideation, no plan",
        "--json",
    ]);
    // The sitting is graded t2; the open crisis still holds the case.
    assert_eq!(state["tier"], "crisis");
    // Referral and crisis.
    let r = json(&[
        "--store",
        &s,
        "--as",
        &counselor,
        "case",
        "refer",
        &case,
        "--tier",
        "t3",
        "--to",
        "区精神卫生中心",
        "--reason",
        "specialist",
        "--json",
    ]);
    let referral = r["referral"].as_str().unwrap().to_string();
    ok(&[
        "--store", &s, "--as", &counselor, "case", "referral", &case, &referral, "--status", "sent",
    ]);
    fails(
        &[
            "--store", &s, "--as", &counselor, "case", "referral", &case, &referral, "--status",
            "proposed",
        ],
        2,
        "cannot",
    );
    let c = json(&[
        "--store",
        &s,
        "--as",
        &volunteer,
        "case",
        "crisis",
        "open",
        "--household",
        &household,
        "--resident",
        &resident,
        "--reason",
        "plan disclosed",
        "--json",
    ]);
    let crisis = c["crisis"].as_str().unwrap().to_string();
    ok(&[
        "--store",
        &s,
        "--as",
        &volunteer,
        "case",
        "crisis",
        "act",
        &case,
        &crisis,
        "--step",
        "stayed_with_person",
    ]);
    fails(
        &[
            "--store",
            &s,
            "--as",
            &volunteer,
            "case",
            "crisis",
            "close",
            &case,
            &crisis,
            "--tier-after",
            "t2",
        ],
        2,
        "not allowed",
    );
    let state = json(&[
        "--store",
        &s,
        "--identity",
        &identity,
        "--as",
        &counselor,
        "case",
        "crisis",
        "close",
        &case,
        &crisis,
        "--tier-after",
        "t3",
        "--json",
    ]);
    // The crisis the red flag opened is still open: it holds the case.
    assert_eq!(state["tier"], "crisis");
    let state = json(&[
        "--store",
        &s,
        "--identity",
        &identity,
        "--as",
        &counselor,
        "case",
        "crisis",
        "close",
        &case,
        &opened,
        "--tier-after",
        "t2",
        "--json",
    ]);
    // Both closed: the latest judgement (t3) and the open t3 referral.
    assert_eq!(state["tier"], "t3");
    let shown = ok(&["--store", &s, "case", "show", &case]);
    assert!(
        shown.contains("tier Tier 3 — specialist (t3)") && shown.contains("referral"),
        "{shown}"
    );
    let list = json(&["--store", &s, "case", "list", "--json"]);
    assert_eq!(list[0]["id"], case.as_str(), "{list}");
    let report = json(&["--store", &s, "report", "--json"]);
    assert_eq!(
        report["station"]["cases_by_tier"]["t3"], "<5",
        "one case is not shown as one"
    );
    ok(&["--store", &s, "check"]);
    // Bad ids and missing --as.
    fails(&["--store", &s, "case", "show", "nope"], 2, "case");
    fails(
        &["--store", &s, "case", "note", &case, "--text", "x"],
        2,
        "--as",
    );
}

#[test]
fn a_deployments_policy_file_decides_the_tier_and_a_bad_one_is_refused() {
    let dir = TempDir::new().unwrap();
    let builtin = include_str!("../../core/instruments/policy.json");
    // This deployment sends PHQ-9 totals of 15 or more (here: 15) to a psychiatrist.
    let own = builtin.replace(
        r#""when": {"total_at_least": 20}, "tier": "t3""#,
        r#""when": {"total_at_least": 15}, "tier": "t3""#,
    );
    assert_ne!(own, builtin);
    let own_path = dir.path().join("policy.json");
    std::fs::write(&own_path, &own).unwrap();
    let own_path = own_path.to_str().unwrap();
    let phq9_15 = [
        "screen",
        "score",
        "--instrument",
        "phq9",
        "--answers",
        "2,2,2,2,2,2,2,1,0",
        "--json",
    ];
    assert_eq!(json(&phq9_15)["tier"], "t2");
    let mut with_policy = vec!["--policy", own_path];
    with_policy.extend(phq9_15);
    assert_eq!(json(&with_policy)["tier"], "t3");

    let bad_path = dir.path().join("bad.json");
    std::fs::write(&bad_path, own.replace(r#""t1":"#, r#""t9":"#)).unwrap();
    let bad_path = bad_path.to_str().unwrap();
    let mut with_bad = vec!["--policy", bad_path];
    with_bad.extend(phq9_15);
    fails(&with_bad, 2, "bad.json");
    fails(
        &[
            "--policy",
            "/nonexistent/policy.json",
            "screen",
            "score",
            "--instrument",
            "phq9",
            "--answers",
            "0,0,0,0,0,0,0,0,0",
        ],
        2,
        "policy file",
    );
    // A store opened with the policy folds its case files with it.
    let s = store_path(dir.path());
    ok(&[
        "--store",
        &s,
        "--policy",
        own_path,
        "init",
        "--station",
        "站",
    ]);
    ok(&["--store", &s, "--policy", own_path, "check"]);
    ok(&["--store", &s, "check"]);
}

/// Issue 11 through the command line: reviewing an older screening down does
/// not hide a newer red flag; the red flag opened its crisis by itself; a
/// K10 paper form is scored in the policy's convention unless told.
#[test]
fn clinical_safety_through_the_command_line() {
    let (_d, s) = fixture_store("40", "11");
    let Scene {
        grid,
        household,
        resident,
        volunteer,
        counselor,
    } = scene(&s);
    let identity = identity_of(&s, &counselor);
    let screen = |answers: &str| {
        json(&[
            "--store",
            &s,
            "--as",
            &volunteer,
            "case",
            "screen",
            "--household",
            &household,
            "--resident",
            &resident,
            "--instrument",
            "phq9",
            "--answers",
            answers,
            "--json",
        ])
    };
    let first = screen("2,2,2,2,1,1,0,0,0");
    assert_eq!(first["tier"], "t2");
    assert!(first["crisis_opened"].is_null());
    let second = screen("2,2,2,2,1,1,0,0,1");
    assert_eq!(second["tier"], "crisis");
    assert!(second["crisis_opened"].is_string());
    let case = first["case"].as_str().unwrap().to_string();
    let state = json(&[
        "--store",
        &s,
        "--identity",
        &identity,
        "--as",
        &counselor,
        "case",
        "review",
        &case,
        "--screening",
        first["screening"].as_str().unwrap(),
        "--tier",
        "t0",
        "--reason",
        "situational",
        "--json",
    ]);
    assert_eq!(state["tier"], "crisis");
    let text = ok(&["--store", &s, "case", "show", &case]);
    assert!(text.contains("tier Crisis (crisis)"), "{text}");
    assert!(text.contains("OPEN"), "{text}");
    let row = json(&[
        "--store",
        &s,
        "households",
        "--grid",
        &grid,
        "--limit",
        "40",
        "--json",
    ])
    .as_array()
    .unwrap()
    .iter()
    .find(|h| h["id"] == household.as_str())
    .cloned()
    .unwrap();
    assert_eq!(row["priority"], "p1");
    // The text listing says the same as --json: the P level and why, no
    // longer the old "weight … CRITICAL NEED".
    let text = ok(&[
        "--store",
        &s,
        "households",
        "--grid",
        &grid,
        "--limit",
        "40",
    ]);
    let line = text
        .lines()
        .find(|l| l.contains(household.as_str()))
        .unwrap();
    assert!(line.starts_with("P1  "), "{line}");
    // Reasons in words (codes stay in --json).
    assert!(line.contains("Mental-health crisis or tier 3"), "{line}");
    assert_eq!(row["reasons"][0], "mental_health_crisis_or_t3");
    assert!(!text.contains("weight") && !text.contains("CRITICAL NEED"));
    let report = json(&["--store", &s, "report", "--json"]);
    assert_eq!(
        report["station"]["cases_by_tier"]["crisis"], "<5",
        "{report}"
    );
    // The same for people, in the station's language, the small count
    // suppressed there too.
    let text = in_station_language(&["--store", &s, "report"]);
    assert!(
        text.contains("站点统计（去标识化") && text.contains("危机 <5"),
        "{text}"
    );
    assert_eq!(english_words(&text), Vec::<String>::new(), "{text}");

    // K10 on a 1-5 form, every answer "none of the time": total 10, low, t0.
    let k10 = |extra: &[&'static str]| -> Vec<String> {
        let mut args: Vec<String> = [
            "--store",
            &s,
            "--as",
            &volunteer,
            "case",
            "screen",
            "--household",
            &household,
            "--resident",
            &resident,
            "--instrument",
            "k10",
            "--answers",
            "1,1,1,1,1,1,1,1,1,1",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let a = k10(&["--json"]);
    let r = json(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        (
            r["results"][0]["score"].as_i64(),
            r["results"][0]["convention"].as_str(),
            r["tier"].as_str()
        ),
        (Some(10), Some("1-5"), Some("t0"))
    );
    // Told the form is 0-4: the same ticks are 10 in 0-4 (mild), and the
    // printed line says so.
    let a = k10(&["--convention", "0-4"]);
    let out = ok(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.contains("k10 total 10 (0-4 scoring) (moderate) → t1"),
        "{out}"
    );
    assert!(out.contains("total 10 in 10-14, 0-4 scoring"), "{out}");
    // A convention for a sitting without K6/K10 is bad input.
    fails(
        &[
            "--store",
            &s,
            "--as",
            &volunteer,
            "case",
            "screen",
            "--household",
            &household,
            "--resident",
            &resident,
            "--instrument",
            "phq9",
            "--answers",
            "0,0,0,0,0,0,0,0,0",
            "--convention",
            "1-5",
        ],
        2,
        "--convention",
    );
    // screen score uses the policy's cutoff set: SRQ-20 = 7 is t2 (zh-CN).
    let r = json(&[
        "screen",
        "score",
        "--instrument",
        "srq20",
        "--answers",
        "1,1,1,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0",
        "--json",
    ]);
    assert_eq!(
        (r["cutoff_set"].as_str(), r["tier"].as_str()),
        (Some("zh-CN"), Some("t2"))
    );
    let r = json(&[
        "screen",
        "score",
        "--instrument",
        "srq20",
        "--answers",
        "1,1,1,1,1,1,1,0,0,0,0,0,0,0,0,0,0,0,0,0",
        "--cutoffs",
        "international",
        "--json",
    ]);
    assert_eq!(r["tier"], "t0");
}

fn field(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_string()
}

/// Issue 12: a station set up and run from an empty store with the
/// documented commands only.
#[test]
fn a_station_is_set_up_from_nothing_with_the_documented_commands() {
    let dir = TempDir::new().unwrap();
    let s = store_path(dir.path());
    let init = json(&[
        "--store",
        &s,
        "init",
        "--station",
        "中南路安心小屋",
        "--admin",
        "张站长",
        "--admin-phone",
        "13800000000",
        "--json",
    ]);
    let admin = field(&init, "admin");
    let a = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["--store", s.as_str(), "--as", admin.as_str()]
            .iter()
            .map(|x| x.to_string())
            .collect();
        v.extend(args.iter().map(|x| x.to_string()));
        v
    };
    let run = |args: Vec<String>| json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let community = field(
        &run(a(&["community", "add", "百步亭社区", "--json"])),
        "community",
    );
    let grid = field(
        &run(a(&[
            "grid",
            "add",
            "--community",
            &community,
            "第1网格",
            "--json",
        ])),
        "grid",
    );
    let spare = field(
        &run(a(&[
            "grid",
            "add",
            "--community",
            &community,
            "第9网格",
            "--json",
        ])),
        "grid",
    );
    run(a(&["grid", "rename", &spare, "第九网格", "--json"]));
    run(a(&["grid", "retire", &spare, "--json"]));
    let grids = json(&["--store", &s, "grid", "list", "--json"]);
    assert!(grids
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["name"] == "第九网格" && g["retired"] == true));

    // People.
    let volunteer = field(
        &run(a(&[
            "worker",
            "add",
            "--name",
            "张伟",
            "--phone",
            "13800000001",
            "--role",
            "volunteer",
            "--grid",
            &grid,
            "--json",
        ])),
        "worker",
    );
    let dispatcher = field(
        &run(a(&[
            "worker",
            "add",
            "--name",
            "周调度",
            "--phone",
            "13800000002",
            "--role",
            "volunteer",
            "--json",
        ])),
        "worker",
    );
    run(a(&["worker", "role", &dispatcher, "dispatcher", "--json"]));
    run(a(&[
        "worker", "update", &volunteer, "--skill", "driving", "--json",
    ]));
    run(a(&[
        "roster", "lead", "--grid", &grid, &volunteer, "--json",
    ]));
    run(a(&[
        "contact-card",
        "set",
        "--grid",
        &grid,
        "--name",
        "张伟",
        "--phone",
        "13800000001",
        "--hours",
        "8:00-20:00",
        "--json",
    ]));
    let card = ok(&["--store", &s, "contact-card", "show", "--grid", &grid]);
    assert!(
        card.contains("网格志愿者联系卡") && card.contains("张伟") && card.contains("13800000001"),
        "{card}"
    );
    run(a(&[
        "training",
        "add",
        &volunteer,
        "--course",
        "心理急救（PFA）基础",
        "--topic",
        "psychological_first_aid",
        "--trainer",
        "市心理热线",
        "--date",
        "2026-11-20",
        "--hours",
        "4",
        "--json",
    ]));
    let shown = ok(&["--store", &s, "worker", "show", &volunteer]);
    assert!(
        shown.contains("psychological_first_aid") && shown.contains("心理急救"),
        "{shown}"
    );

    // The role rules: a volunteer cannot manage places or people; nothing written.
    let before = ok(&["--store", &s, "export"]);
    fails(
        &[
            "--store",
            &s,
            "--as",
            &volunteer,
            "grid",
            "add",
            "--community",
            &community,
            "第2网格",
        ],
        2,
        "only a station admin",
    );
    fails(
        &[
            "--store",
            &s,
            "--as",
            &dispatcher,
            "worker",
            "add",
            "--name",
            "x",
            "--role",
            "volunteer",
        ],
        2,
        "only a station admin",
    );
    fails(
        &[
            "--store",
            &s,
            "grid",
            "add",
            "--community",
            &community,
            "第2网格",
        ],
        2,
        "--as",
    );
    assert_eq!(ok(&["--store", &s, "export"]), before);

    // Households from the station side.
    let h = field(
        &run(a(&[
            "household",
            "add",
            "--grid",
            &grid,
            "--compound",
            "百步亭花园",
            "--building",
            "3栋",
            "--unit",
            "2单元",
            "--room",
            "502",
            "--json",
        ])),
        "household",
    );
    fails(
        &[
            "--store",
            &s,
            "--as",
            &admin,
            "household",
            "add",
            "--grid",
            &spare,
            "--compound",
            "百步亭花园",
            "--building",
            "9栋",
            "--room",
            "1",
        ],
        2,
        "retired",
    );
    let r = field(
        &run(a(&[
            "resident",
            "add",
            "--household",
            &h,
            "--name",
            "王秀英",
            "--sex",
            "female",
            "--birth-year",
            "1942",
            "--tag",
            "chronic_illness",
            "--json",
        ])),
        "resident",
    );
    run(a(&[
        "resident",
        "tag",
        "--household",
        &h,
        &r,
        "elderly_alone",
        "--json",
    ]));
    run(a(&[
        "resident",
        "update",
        "--household",
        &h,
        &r,
        "--phone",
        "13900000009",
        "--json",
    ]));
    let tagged = json(&[
        "--store",
        &s,
        "residents",
        "--tag",
        "elderly_alone",
        "--grid",
        &grid,
        "--json",
    ]);
    assert_eq!(tagged.as_array().unwrap().len(), 1);
    let v = run(vec![
        "--store".into(),
        s.clone(),
        "--as".into(),
        volunteer.clone(),
        "visit".into(),
        "record".into(),
        "--household".into(),
        h.clone(),
        "--need".into(),
        "medicine:胰岛素:2".into(),
        "--need".into(),
        "medical_care:透析@critical".into(),
        "--json".into(),
    ]);
    assert_eq!(v["priority"], "p1");
    let shown = ok(&["--store", &s, "household", "show", &h]);
    assert!(
        shown.contains("胰岛素") && shown.contains("severity critical"),
        "{shown}"
    );

    // An activity with attendance, hours credited and acknowledged.
    let act = field(
        &run(a(&[
            "activity",
            "add",
            "--kind",
            "group_session",
            "--title",
            "居家情绪互助小组",
            "--grid",
            &grid,
            "--start",
            "2026-11-30 06:00",
            "--minutes",
            "90",
            "--facilitator",
            &volunteer,
            "--json",
        ])),
        "activity",
    );
    run(a(&[
        "activity",
        "attend",
        &act,
        "--worker",
        &dispatcher,
        "--resident",
        &r,
        "--json",
    ]));
    let credited = run(vec![
        "--store".into(),
        s.clone(),
        "--as".into(),
        dispatcher.clone(),
        "activity".into(),
        "credit".into(),
        act.clone(),
        "--json".into(),
    ]);
    assert_eq!(credited["credited"], 2);
    let past = json(&["--store", &s, "activity", "list", "--past", "--json"]);
    assert_eq!(past.as_array().unwrap().len(), 1);
    let w = json(&["--store", &s, "worker", "show", &volunteer, "--json"]);
    let entry = w["hours"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    ok(&[
        "--store",
        &s,
        "--as-resident",
        &r,
        "acknowledge-hours",
        "--worker",
        &volunteer,
        "--entry",
        &entry,
    ]);
    let hours = json(&["--store", &s, "hours", "--worker", &volunteer, "--json"]);
    assert_eq!(hours[0]["acknowledged_minutes"], 90, "{hours}");
    let sup = field(
        &run(a(&[
            "activity",
            "add",
            "--kind",
            "supervision",
            "--title",
            "个案督导：边界",
            "--start",
            "2030-01-01 02:00",
            "--minutes",
            "60",
            "--facilitator",
            &admin,
            "--json",
        ])),
        "activity",
    );
    let upcoming = json(&["--store", &s, "activity", "list", "--json"]);
    assert!(upcoming
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == sup.as_str() && x["kind"] == "supervision"));

    // Deactivated: cannot act; history kept.
    run(a(&["worker", "deactivate", &dispatcher, "--json"]));
    fails(
        &[
            "--store",
            &s,
            "--as",
            &dispatcher,
            "activity",
            "credit",
            &act,
        ],
        2,
        "not active",
    );
    assert!(ok(&["--store", &s, "worker", "list"]).contains("inactive"));
    ok(&["--store", &s, "check"]);
}

#[test]
fn spreadsheets_import_checked_all_or_nothing_and_idempotent() {
    let dir = TempDir::new().unwrap();
    let s = store_path(dir.path());
    let admin = field(
        &json(&[
            "--store",
            &s,
            "init",
            "--station",
            "站",
            "--admin",
            "站长",
            "--json",
        ]),
        "admin",
    );
    let community = field(
        &json(&[
            "--store",
            &s,
            "--as",
            &admin,
            "community",
            "add",
            "社区",
            "--json",
        ]),
        "community",
    );
    json(&[
        "--store",
        &s,
        "--as",
        &admin,
        "grid",
        "add",
        "--community",
        &community,
        "第1网格",
        "--json",
    ]);
    let p = |name: &str| dir.path().join(name).to_string_lossy().to_string();

    // Templates in both formats; the xlsx one imports as it is.
    let columns = json(&[
        "import",
        "template",
        "workers",
        "--out",
        &p("志愿者.xlsx"),
        "--json",
    ]);
    assert_eq!(columns[0]["zh"], "姓名");
    ok(&["import", "template", "households", "--out", &p("摸排.csv")]);
    let csv = std::fs::read(p("摸排.csv")).unwrap();
    assert!(
        csv.starts_with("\u{feff}小区".as_bytes()),
        "UTF-8 with a BOM for Excel"
    );
    let r = json(&[
        "--store",
        &s,
        "--as",
        &admin,
        "import",
        "workers",
        &p("志愿者.xlsx"),
        "--json",
    ]);
    assert_eq!(
        (r["created"].as_u64(), r["written"].as_bool()),
        (Some(2), Some(true))
    );
    let r = json(&[
        "--store",
        &s,
        "--as",
        &admin,
        "import",
        "workers",
        &p("志愿者.xlsx"),
        "--json",
    ]);
    assert_eq!(
        (r["created"].as_u64(), r["unchanged"].as_u64()),
        (Some(0), Some(2))
    );

    // 1,000 households, English headers; a dry run writes nothing.
    let mut text =
        String::from("compound,building,unit,room,grid,name,sex,birth_year,phone,tags\n");
    for i in 0..1000 {
        text.push_str(&format!(
            "百步亭花园,{}栋,,{},第1网格,居民{i},女,1950,,{}\n",
            i / 100 + 1,
            100 + i % 100,
            if i % 9 == 0 { "独居老人" } else { "" }
        ));
    }
    std::fs::write(p("big.csv"), &text).unwrap();
    let before = ok(&["--store", &s, "export"]);
    let dry = json(&[
        "--store",
        &s,
        "--as",
        &admin,
        "import",
        "households",
        &p("big.csv"),
        "--dry-run",
        "--json",
    ]);
    assert_eq!(
        (dry["created"].as_u64(), dry["written"].as_bool()),
        (Some(1000), Some(false))
    );
    assert_eq!(ok(&["--store", &s, "export"]), before);
    let started = std::time::Instant::now();
    let done = json(&[
        "--store",
        &s,
        "--as",
        &admin,
        "import",
        "households",
        &p("big.csv"),
        "--json",
    ]);
    eprintln!("1,000-row import took {:?}", started.elapsed());
    assert_eq!(
        (done["created"].as_u64(), done["residents_added"].as_u64()),
        (Some(1000), Some(1000))
    );
    let after = ok(&["--store", &s, "export"]);
    let again = json(&[
        "--store",
        &s,
        "--as",
        &admin,
        "import",
        "households",
        &p("big.csv"),
        "--json",
    ]);
    assert_eq!(
        (again["created"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(1000))
    );
    assert_eq!(
        ok(&["--store", &s, "export"]),
        after,
        "re-import changed nothing"
    );

    // Bad rows: exit 2, one line on stderr, every row reported, nothing written.
    std::fs::write(
        p("bad.csv"),
        "小区,楼栋,单元,房号,网格,姓名,性别,出生年份,电话,标签\n百步亭花园,1栋,,,第1网格,甲,女,1950,,\n百步亭花园,1栋,,7,第7网格,乙,女,1950,,\n百步亭花园,1栋,,8,第1网格,丙,女,一九五零,,\n",
    )
    .unwrap();
    let out = anxin(&[
        "--store",
        &s,
        "--as",
        &admin,
        "import",
        "households",
        &p("bad.csv"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("row 2 room")
            && stdout.contains("row 3 grid")
            && stdout.contains("row 4 birth_year"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("一九五零") && !stdout.contains("第7网格"),
        "no cell values echoed: {stdout}"
    );
    assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1);
    assert_eq!(ok(&["--store", &s, "export"]), after);
    // A volunteer may not import.
    let v = json(&[
        "--store",
        &s,
        "worker",
        "list",
        "--role",
        "volunteer",
        "--json",
    ])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    fails(
        &[
            "--store",
            &s,
            "--as",
            &v,
            "import",
            "households",
            &p("big.csv"),
        ],
        2,
        "coordinator",
    );
    fails(
        &[
            "--store",
            &s,
            "--as",
            &admin,
            "import",
            "workers",
            &p("nothing.txt"),
        ],
        2,
        ".csv or .xlsx",
    );
}

#[test]
fn every_setup_command_has_help() {
    for cmd in [
        vec!["community"],
        vec!["grid"],
        vec!["worker"],
        vec!["roster"],
        vec!["contact-card"],
        vec!["household"],
        vec!["resident"],
        vec!["residents"],
        vec!["visit"],
        vec!["training"],
        vec!["activity"],
        vec!["acknowledge-hours"],
        vec!["import"],
        vec!["import", "template"],
        vec!["worker", "add"],
        vec!["activity", "add"],
        vec!["visit", "record"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let text = ok(&args);
        assert!(text.contains("Usage"), "{cmd:?}");
    }
}

#[test]
fn errors_read_in_the_stations_language_to_the_end() {
    let (dir, s) = fixture_store("5", "2");
    let zh = |args: &[&str]| {
        let mut all = vec!["--lang", "zh-Hans"];
        all.extend_from_slice(args);
        let out = anxin(&all);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    // A damaged bundle: every word Chinese.
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, b"not a bundle at all").unwrap();
    let err = zh(&["--store", &s, "bundle", "import", garbage.to_str().unwrap()]);
    assert!(err.contains("数据包"), "{err}");
    assert_eq!(
        english_words(err.trim_start_matches("anxin:")),
        Vec::<String>::new(),
        "{err}"
    );
    // A missing key file: the system's reason in Chinese too (the path
    // stays as typed).
    let missing = dir.path().join("no-such.key");
    let err = zh(&[
        "--store",
        &s,
        "--key-file",
        missing.to_str().unwrap(),
        "check",
    ]);
    assert!(
        err.contains("无法读取密钥文件") && err.contains("文件或文件夹不存在"),
        "{err}"
    );
    // Answers that are not numbers.
    let err = zh(&[
        "screen",
        "score",
        "--instrument",
        "phq9",
        "--answers",
        "1,x,2",
    ]);
    assert!(err.contains("第 2 项不是数字"), "{err}");
}
