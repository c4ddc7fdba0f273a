//! The `anxin` binary, run as a user would: every command, good and bad
//! input, exit codes, one-line errors, JSON output.

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;

fn anxin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args(args)
        .output()
        .unwrap()
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
    fails(&["--store", &s, "stats"], 1, "key is missing or wrong");
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
        1,
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

/// Changes index rows with plain SQL, as a bug or a careless tool might.
fn damage_index(path: &str) -> bool {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute(
        "UPDATE idx_household SET vulnerability = vulnerability + 7",
        [],
    )
    .unwrap()
        > 0
}

#[test]
fn demo_runs_and_reports() {
    let out = ok(&["demo"]);
    assert!(out.contains("check ok"), "{out}");
    assert!(out.contains("第1网格") && out.contains("第2网格"));
    assert!(out.contains("elderly_alone"));
    let v: serde_json::Value = serde_json::from_str(&ok(&["demo", "--json"])).unwrap();
    assert_eq!(v["check_ok"], true);
    assert_eq!(v["grids"].as_array().unwrap().len(), 2);
    assert!(v["insulin_household_rank"].as_u64().unwrap() >= 1);
    assert_eq!(v["phones"]["all_agree"], true);
    assert_eq!(v["phones"]["double_acceptance_winner_told_both"], true);
    assert!(out.contains("first acceptance wins"));
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
        "only a dispatcher",
    );
    fails(
        &["--store", &s, "--as", &volunteer, "order", "accept", &id],
        2,
        "cannot accept an order that is requested",
    );
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
        "rated",
    );
    let shown = json(&["--store", &s, "order", "show", &id, "--json"]);
    assert_eq!(shown["state"]["status"], "rated");
    assert_eq!(shown["order"]["events"].as_object().unwrap().len(), 6);

    let hours = json(&["--store", &s, "hours", "--worker", &volunteer, "--json"]);
    assert!(hours[0]["minutes"].as_u64().unwrap() >= 30);
    let csv = ok(&["--store", &s, "hours", "--csv"]);
    assert!(csv.starts_with(
        "worker_id,name,period_from_ms,period_to_ms,hours,acknowledged_hours,entries\n"
    ));
    assert!(csv.contains(&volunteer));
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
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first.strip_prefix("serving sync on ").unwrap().to_string();

    fails(&["--store", &b, "sync", "connect", &addr], 2, "no store at");
    let joined = json(&["--store", &b, "join", &addr, "--json"]);
    assert_eq!(joined["completed"], true);
    fails(
        &["--store", &b, "join", &addr],
        2,
        "already belongs to a station",
    );
    let again = json(&["--store", &b, "sync", "connect", &addr, "--json"]);
    assert_eq!(again["completed"], true);
    assert_eq!(again["documents_received"], 0);
    assert!(server.wait().unwrap().success());
    let reports: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(reports.iter().all(|l| l.starts_with("sync complete")));
    assert_eq!(
        ok(&["--store", &a, "export", "--json"]),
        ok(&["--store", &b, "export", "--json"])
    );

    // A bundle of one grid, into a new device; then damage is refused.
    let grid = json(&["--store", &a, "grids", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let file = dir.path().join("grid.bundle");
    let file = file.to_str().unwrap().to_string();
    ok(&[
        "--store", &a, "bundle", "export", "--scope", "station", "--scope", &grid, "--out", &file,
    ]);
    let c = dir.path().join("carried.db");
    let c = c.to_str().unwrap().to_string();
    let r = json(&["--store", &c, "join", &file, "--json"]);
    assert!(r["applied"].as_u64().unwrap() > 0);
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
    fails(&["--store", &d, "join", "127.0.0.1:1"], 1, "cannot connect");
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
        "holds no scope",
    );
}

/// Starts `sync serve` on a free loopback port; returns the child and address.
fn serve(store: &str) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_anxin"))
        .args(["--store", store, "sync", "serve", "--listen", "127.0.0.1:0"])
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
        let mut client = Command::new(env!("CARGO_BIN_EXE_anxin"))
            .args(["--store", &phone, "join", &addr])
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
        // The next session completes: join again if the kill came before the
        // phone learned its station, else an ordinary sync.
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
            let r = json(&["--store", &phone, "join", &addr, "--json"]);
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
        "ble_seconds",
        "ble_limit_seconds",
        "peak_rss_bytes",
    ] {
        assert!(v[field].is_number(), "{field} missing: {v}");
    }
    assert_eq!(v["unchanged_round_trips"], 1);
    assert!(v["unchanged_bytes"].as_u64().unwrap() < v["naive_unchanged_bytes"].as_u64().unwrap());
    fails(&["bench", "sync", "--households", "0"], 2, "--households");
}
