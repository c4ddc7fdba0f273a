//! Store tests against real SQLite files in temporary folders.

use super::*;
use crate::store::NewResident;
use tempfile::TempDir;

pub(crate) struct Fixture {
    pub _dir: TempDir,
    pub store: Store,
    pub admin: Author,
    pub grid: GridId,
    pub volunteer: WorkerId,
}

pub(crate) fn address(room: &str) -> Address {
    Address {
        compound: "百步亭花园".into(),
        building: "3栋".into(),
        unit: "2单元".into(),
        room: room.into(),
    }
}

fn resident(name: &str, tags: Vec<VulnerabilityTag>) -> NewResident {
    NewResident {
        name: name.into(),
        sex: Sex::Female,
        birth_year: 1948,
        phone: String::new(),
        tags,
    }
}

fn setup_with(options: StoreOptions) -> Fixture {
    let dir = TempDir::new().unwrap();
    let mut store = Store::open(dir.path().join("anxin.db"), options).unwrap();
    store.setup_mut().init_station("中南路安心小屋").unwrap();
    let community = store
        .setup_mut()
        .add_community(&Author::System, "百步亭社区")
        .unwrap();
    let grid = store
        .setup_mut()
        .add_grid(&Author::System, &community, "第3网格")
        .unwrap();
    let volunteer = store
        .people_mut()
        .add_worker(
            &Author::System,
            NewWorker {
                name: "李志愿".into(),
                phone: "13800138000".into(),
                role: Role::Volunteer,
                grid_id: Some(grid.clone()),
                skills: vec!["driving".into()],
            },
        )
        .unwrap();
    Fixture {
        _dir: dir,
        store,
        admin: Author::System,
        grid,
        volunteer,
    }
}

fn setup() -> Fixture {
    setup_with(StoreOptions::default())
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

fn row_counts(store: &Store) -> Vec<i64> {
    [
        "docs",
        "doc_chunks",
        "audit",
        "idx_household",
        "idx_resident_tag",
        "idx_visit",
        "idx_worker",
    ]
    .iter()
    .map(|t| count(store, t))
    .collect()
}

#[test]
fn a_write_stores_change_index_and_audit_together() {
    let mut f = setup();
    let author = Author::Worker(f.volunteer.clone());
    let h = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("502"))
        .unwrap();
    let audit_before = count(&f.store, "audit");
    let chunks_before = count(&f.store, "doc_chunks");
    f.store
        .households_mut()
        .add_resident(
            &author,
            &h,
            resident("王秀英", vec![VulnerabilityTag::ElderlyAlone]),
        )
        .unwrap();
    assert_eq!(count(&f.store, "doc_chunks"), chunks_before + 1);
    assert_eq!(count(&f.store, "audit"), audit_before + 1);
    let tagged = f
        .store
        .households()
        .residents_with_tag(&VulnerabilityTag::ElderlyAlone, Some(&f.grid))
        .unwrap();
    assert_eq!(tagged.len(), 1);
    assert_eq!(tagged[0].name, "王秀英");
    let h2: Household = f.store.get(h.as_str()).unwrap();
    assert_eq!(h2.members.len(), 1);
}

#[test]
fn bad_input_changes_nothing_and_names_the_field() {
    let mut f = setup();
    let author = Author::Worker(f.volunteer.clone());
    let h = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("502"))
        .unwrap();
    let before = row_counts(&f.store);
    let export_before = f.store.export_json().unwrap();

    let mut bad = resident("王秀英", vec![]);
    bad.birth_year = 1850;
    let err = f
        .store
        .households_mut()
        .add_resident(&author, &h, bad)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(v) if v.field == "resident.birth_year"),
        "{err}"
    );
    assert!(!err.to_string().contains("王秀英"));

    let mut bad = resident("", vec![]);
    bad.phone = "12".into();
    assert!(matches!(
        f.store.households_mut().add_resident(&author, &h, bad).unwrap_err(),
        StoreError::Invalid(v) if v.field == "resident.name"
    ));
    let err = f
        .store
        .households_mut()
        .add_household(&author, &GridId::random(), address("1"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(v) if v.field == "grid_id"));
    let err = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address(""))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(v) if v.field == "address.room"));
    let ghost = Author::Worker(WorkerId::random());
    assert!(matches!(
        f.store
            .households_mut()
            .add_household(&ghost, &f.grid, address("1"))
            .unwrap_err(),
        StoreError::NotFound { kind: "worker", .. }
    ));
    let visit = NewVisit {
        at: now_millis(),
        needs: vec![Need {
            kind: NeedKind::Medicine,
            item: "insulin".into(),
            days_left: None,
            detail: String::new(),
            severity: Urgency::Routine,
            met: None,
        }],
        notes: String::new(),
    };
    assert!(matches!(
        f.store.households_mut().record_visit(&author, &h, visit).unwrap_err(),
        StoreError::Invalid(v) if v.field == "need.days_left"
    ));
    assert!(matches!(
        f.store.get::<Worker>(h.as_str()).unwrap_err(),
        StoreError::NotFound { kind: "worker", .. }
    ));

    assert_eq!(row_counts(&f.store), before);
    assert_eq!(f.store.export_json().unwrap(), export_before);
}

#[test]
fn unchanged_value_writes_nothing() {
    let mut f = setup();
    let h = f
        .store
        .households_mut()
        .add_household(&f.admin, &f.grid, address("502"))
        .unwrap();
    let before = row_counts(&f.store);
    let out = f
        .store
        .put::<Household>(&f.admin, "noop", h.as_str(), |h| Ok(h.unwrap()))
        .unwrap();
    assert_eq!(out, Written::Unchanged);
    assert_eq!(row_counts(&f.store), before);
}

#[test]
fn chunks_are_compacted_into_a_snapshot_past_the_threshold() {
    let mut f = setup_with(StoreOptions {
        compact_after_chunks: 4,
        ..Default::default()
    });
    let author = Author::Worker(f.volunteer.clone());
    let h = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("502"))
        .unwrap();
    let mut seen_counts = Vec::new();
    for i in 0..7 {
        f.store
            .households_mut()
            .add_resident(&author, &h, resident(&format!("居民{i}"), vec![]))
            .unwrap();
        seen_counts.push(
            f.store
                .conn
                .query_row(
                    "SELECT count(*) FROM doc_chunks WHERE doc_id = ?1",
                    [h.as_str()],
                    |r| r.get::<_, i64>(0),
                )
                .unwrap(),
        );
    }
    assert_eq!(seen_counts, vec![1, 2, 3, 0, 1, 2, 3]);
    let h2: Household = f.store.get(h.as_str()).unwrap();
    assert_eq!(h2.members.len(), 7);
    assert!(f.store.check().unwrap().is_ok());
}

#[test]
fn households_list_most_vulnerable_first() {
    let mut f = setup();
    let author = Author::Worker(f.volunteer.clone());
    let plain = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("101"))
        .unwrap();
    f.store
        .households_mut()
        .add_resident(&author, &plain, resident("甲", vec![]))
        .unwrap();
    let elderly = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("102"))
        .unwrap();
    f.store
        .households_mut()
        .add_resident(
            &author,
            &elderly,
            resident("乙", vec![VulnerabilityTag::ElderlyAlone]),
        )
        .unwrap();
    let child = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("103"))
        .unwrap();
    f.store
        .households_mut()
        .add_resident(
            &author,
            &child,
            resident("丙", vec![VulnerabilityTag::Child]),
        )
        .unwrap();
    let insulin = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("104"))
        .unwrap();
    f.store
        .households_mut()
        .add_resident(&author, &insulin, resident("丁", vec![]))
        .unwrap();
    f.store
        .households_mut()
        .record_visit(
            &author,
            &insulin,
            NewVisit {
                at: now_millis(),
                needs: vec![Need {
                    kind: NeedKind::Medicine,
                    item: "胰岛素".into(),
                    days_left: Some(2),
                    detail: String::new(),
                    severity: Urgency::Routine,
                    met: None,
                }],
                notes: String::new(),
            },
        )
        .unwrap();
    let order: Vec<HouseholdId> = f
        .store
        .households()
        .households_in_grid(&f.grid, 10, 0)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(order, vec![insulin.clone(), elderly, child, plain]);
    let visits = f
        .store
        .households()
        .recent_visits(Some(&f.grid), 5)
        .unwrap();
    assert_eq!(visits.len(), 1);
    assert!(visits[0].critical);
    assert_eq!(visits[0].household_id, insulin);
    let volunteers = f
        .store
        .people()
        .workers(Some(&f.grid), Some(Role::Volunteer))
        .unwrap();
    assert_eq!(volunteers.len(), 1);
    assert!(f
        .store
        .people()
        .workers(None, Some(Role::Counselor))
        .unwrap()
        .is_empty());
}

#[test]
fn check_finds_a_tampered_index_and_audit_and_reindex_repairs_the_index() {
    let mut f = setup();
    let author = Author::Worker(f.volunteer.clone());
    let h = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("502"))
        .unwrap();
    f.store
        .households_mut()
        .add_resident(
            &author,
            &h,
            resident("王", vec![VulnerabilityTag::Disabled]),
        )
        .unwrap();
    let report = f.store.check().unwrap();
    assert!(report.is_ok(), "{:?}", report.faults());

    f.store
        .conn
        .execute("UPDATE idx_household SET vulnerability = 99", [])
        .unwrap();
    let report = f.store.check().unwrap();
    assert!(!report.index_matches_rebuild);
    assert!(!report.is_ok());
    // check only looks: the tampered row is still there.
    assert_eq!(
        f.store
            .conn
            .query_row("SELECT vulnerability FROM idx_household", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        99
    );
    assert!(f.store.reindex().unwrap().is_empty());
    assert!(f.store.check().unwrap().is_ok());

    f.store
        .conn
        .execute("UPDATE audit SET action = 'forged' WHERE seq = 2", [])
        .unwrap();
    assert_eq!(f.store.check().unwrap().audit_chain_broken_at, Some(2));
}

#[test]
fn damaged_document_is_reported_not_a_crash() {
    let mut f = setup();
    let h = f
        .store
        .households_mut()
        .add_household(&f.admin, &f.grid, address("502"))
        .unwrap();
    // Damage found on the next start: `tamper` also forgets what this
    // store holds in memory (a running store keeps serving the copy it
    // cached before the damage; `check` always reads the disk).
    f.store
        .tamper(&format!(
            "UPDATE docs SET snapshot = x'00010203' WHERE id = '{h}'"
        ))
        .unwrap();
    let report = f.store.check().unwrap();
    assert_eq!(report.damaged_documents, vec![h.to_string()]);
    assert!(matches!(
        f.store.get::<Household>(h.as_str()).unwrap_err(),
        StoreError::Corrupt { .. }
    ));
}

#[test]
fn history_tells_who_changed_what_and_when() {
    let mut f = setup();
    let author = Author::Worker(f.volunteer.clone());
    let h = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("502"))
        .unwrap();
    let r = f
        .store
        .households_mut()
        .add_resident(&author, &h, resident("SECRET_NAME", vec![]))
        .unwrap();
    let history = f.store.history(h.as_str()).unwrap();
    assert_eq!(history.kind, "household");
    assert_eq!(history.changes.len(), 2);
    assert_eq!(history.audit.len(), 2);
    assert_eq!(
        history.changes[1].action.as_deref(),
        Some("household.add_resident")
    );
    // The station laptop wrote it at its desk for the volunteer: the
    // verified author is the laptop, the worker a claim it vouches for.
    assert_eq!(
        history.changes[1].device.as_deref(),
        Some(f.store.device().device_id.as_str())
    );
    assert_eq!(history.changes[1].worker, None);
    assert_eq!(history.changes[1].recorded_for.as_ref(), Some(&f.volunteer));
    assert!(history.changes[1]
        .paths
        .iter()
        .any(|p| p.starts_with(&format!("members/{r}"))));
    assert_eq!(
        history.audit[1].worker_id.as_deref(),
        Some(f.volunteer.as_str())
    );
    let text = serde_json::to_string(&history).unwrap();
    assert!(!text.contains("SECRET_NAME"));
    assert!(matches!(
        f.store.history("nope").unwrap_err(),
        StoreError::NotFound { .. }
    ));
}

#[test]
fn identity_is_stable_across_reopen() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a.db");
    let first = Store::open(&path, StoreOptions::default())
        .unwrap()
        .device()
        .clone();
    let second = Store::open(&path, StoreOptions::default())
        .unwrap()
        .device()
        .clone();
    assert_eq!(first, second);
    let mut s = Store::open(&path, StoreOptions::default()).unwrap();
    s.setup_mut().init_station("站").unwrap();
    assert!(matches!(
        s.setup_mut().init_station("again").unwrap_err(),
        StoreError::AlreadyInitialised
    ));
}

// ------------------------------------------------------------ encryption

fn files_of(dir: &std::path::Path) -> Vec<Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn write_canary(
    options: StoreOptions,
    dir: &std::path::Path,
    canary: &str,
    close: bool,
) -> Option<Store> {
    let mut store = Store::open(dir.join("anxin.db"), options).unwrap();
    store.setup_mut().init_station("站").unwrap();
    let c = store
        .setup_mut()
        .add_community(&Author::System, "社区")
        .unwrap();
    let g = store
        .setup_mut()
        .add_grid(&Author::System, &c, "网格")
        .unwrap();
    let h = store
        .households_mut()
        .add_household(&Author::System, &g, address("1"))
        .unwrap();
    store
        .households_mut()
        .add_resident(
            &Author::System,
            &h,
            resident(canary, vec![VulnerabilityTag::Child]),
        )
        .unwrap();
    if close {
        None
    } else {
        Some(store)
    }
}

#[test]
fn encrypted_store_leaks_no_canary_to_any_file() {
    let canary = "CANARYZHANGSAN";
    // Control: without a key the canary is found, so the scan can fail.
    let plain = TempDir::new().unwrap();
    let _open = write_canary(StoreOptions::default(), plain.path(), canary, false);
    assert!(files_of(plain.path())
        .iter()
        .any(|f| contains(f, canary.as_bytes())));

    let dir = TempDir::new().unwrap();
    let key = StoreOptions {
        key: Some("correct horse battery staple".into()),
        ..Default::default()
    };
    // Scanned while the store is open (WAL and -shm present) and after close.
    let open = write_canary(key.clone(), dir.path(), canary, false);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("-wal")), "{names:?}");
    for file in files_of(dir.path()) {
        assert!(!contains(&file, canary.as_bytes()));
        assert!(!contains(&file, "百步亭".as_bytes()));
    }
    drop(open);
    for file in files_of(dir.path()) {
        assert!(!contains(&file, canary.as_bytes()));
    }

    // Wrong key, no key: a clear error, never a crash.
    let path = dir.path().join("anxin.db");
    let wrong = StoreOptions {
        key: Some("wrong".into()),
        ..Default::default()
    };
    assert!(matches!(
        Store::open(&path, wrong),
        Err(StoreError::KeyRejected)
    ));
    assert!(matches!(
        Store::open(&path, StoreOptions::default()),
        Err(StoreError::KeyRejected)
    ));
    let empty = StoreOptions {
        key: Some(String::new()),
        ..Default::default()
    };
    assert!(matches!(
        Store::open(&path, empty),
        Err(StoreError::Invalid(_))
    ));
    // The right key opens it, and everything is there.
    let mut store = Store::open(&path, key).unwrap();
    assert!(store.check().unwrap().is_ok());
    assert!(store.export_json().unwrap().contains(canary));
}

/// The SQLCipher built by `core/sqlcipher`, with its crypto provider in
/// Rust (no OpenSSL): two stores get different salts (the file's first 16
/// bytes, from the operating system's generator).
/// That it reads files the OpenSSL provider wrote is
/// `the_frozen_first_release_store_opens_migrates_and_checks` (that store
/// was written by the OpenSSL build).
#[test]
fn stores_are_encrypted_by_sqlcipher_with_its_own_crypto_and_fresh_salts() {
    let dir = TempDir::new().unwrap();
    let key = StoreOptions {
        key: Some("correct horse battery staple".into()),
        ..Default::default()
    };
    let mut salts = Vec::new();
    for name in ["a.db", "b.db"] {
        let path = dir.path().join(name);
        drop(Store::open(&path, key.clone()).unwrap());
        let file = std::fs::read(&path).unwrap();
        assert!(!file.starts_with(b"SQLite format 3"));
        salts.push(file[..16].to_vec());

        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "key", "correct horse battery staple")
            .unwrap();
        let provider: String = conn
            .query_row("PRAGMA cipher_provider", [], |r| r.get(0))
            .unwrap();
        assert_eq!(provider, anxin_sqlcipher::PROVIDER_NAME);
    }
    assert_ne!(salts[0], salts[1]);
}

#[test]
fn a_file_that_is_not_a_store_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, vec![b'x'; 4096]).unwrap();
    assert!(matches!(
        Store::open(&path, StoreOptions::default()),
        Err(StoreError::KeyRejected)
    ));
}

// ------------------------------------------------------------ migrations

#[test]
fn migrated_store_equals_fresh() {
    // A fresh store at the latest version, with content.
    let mut f = setup();
    let author = Author::Worker(f.volunteer.clone());
    let h = f
        .store
        .households_mut()
        .add_household(&author, &f.grid, address("502"))
        .unwrap();
    f.store
        .households_mut()
        .add_resident(
            &author,
            &h,
            resident("王", vec![VulnerabilityTag::ElderlyAlone]),
        )
        .unwrap();
    f.store
        .households_mut()
        .record_visit(
            &author,
            &h,
            NewVisit {
                at: now_millis(),
                needs: vec![],
                notes: "ok".into(),
            },
        )
        .unwrap();
    let fresh_schema = schema::describe(&f.store.conn).unwrap();
    let fresh_export = f.store.export_json().unwrap();
    let fresh_index = index::dump(&f.store.conn).unwrap();
    let fresh_path = f.store.path().to_path_buf();

    for version in 0..schema::LATEST {
        let dir = TempDir::new().unwrap();
        let old = dir.path().join("old.db");
        Store::create_at_version(&old, version).unwrap();
        if version >= 1 {
            // Carry the documents into the old store, as an old app would
            // have written them (documents and audit exist since version 1).
            let conn = Connection::open(&old).unwrap();
            conn.execute(
                "ATTACH DATABASE ?1 AS fresh",
                [fresh_path.to_str().unwrap()],
            )
            .unwrap();
            conn.execute_batch(
                "INSERT INTO docs SELECT * FROM fresh.docs;
                 INSERT INTO doc_chunks SELECT * FROM fresh.doc_chunks;
                 INSERT INTO audit SELECT * FROM fresh.audit;
                 INSERT OR REPLACE INTO meta SELECT * FROM fresh.meta WHERE key = 'station_id';
",
            )
            .unwrap();
            // And the index rows an old app would have written, for the index
            // tables (and columns) that existed at that version.
            let tables: Vec<String> = conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'idx_%'",
                )
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for table in tables {
                let columns: Vec<String> = conn
                    .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let columns = columns.join(", ");
                conn.execute(
                    &format!("INSERT INTO {table} ({columns}) SELECT {columns} FROM fresh.{table}"),
                    [],
                )
                .unwrap();
            }
            conn.execute_batch("DETACH DATABASE fresh;").unwrap();
        }
        let mut migrated = Store::open(&old, StoreOptions::default()).unwrap();
        assert_eq!(migrated.schema_version().unwrap(), schema::LATEST);
        assert_eq!(
            schema::describe(&migrated.conn).unwrap(),
            fresh_schema,
            "schema migrated from version {version} differs from a fresh one"
        );
        if version >= 1 {
            assert_eq!(migrated.export_json().unwrap(), fresh_export);
            assert_eq!(index::dump(&migrated.conn).unwrap(), fresh_index);
            assert!(migrated.check().unwrap().is_ok());
        }
    }
}

#[test]
fn schema_description_sees_differences() {
    // The comparison above must be able to fail: a missing column shows.
    let dir = TempDir::new().unwrap();
    let a = Store::open(dir.path().join("a.db"), StoreOptions::default()).unwrap();
    let b = Store::open(dir.path().join("b.db"), StoreOptions::default()).unwrap();
    assert_eq!(
        schema::describe(&a.conn).unwrap(),
        schema::describe(&b.conn).unwrap()
    );
    b.conn
        .execute_batch(
            "DROP INDEX idx_visit_by_at; CREATE INDEX idx_visit_by_at ON idx_visit (at);",
        )
        .unwrap();
    assert_ne!(
        schema::describe(&a.conn).unwrap(),
        schema::describe(&b.conn).unwrap()
    );
    // So does a table that lost WITHOUT ROWID (same columns, same key).
    let c = Store::open(dir.path().join("c.db"), StoreOptions::default()).unwrap();
    c.conn
        .execute_batch(
            "DROP TABLE attestations;
             CREATE TABLE attestations (doc_id TEXT NOT NULL, actor BLOB NOT NULL, \
             seq INTEGER NOT NULL, signature BLOB NOT NULL, PRIMARY KEY (doc_id, actor)) STRICT;",
        )
        .unwrap();
    assert_ne!(
        schema::describe(&a.conn).unwrap(),
        schema::describe(&c.conn).unwrap()
    );
}

#[test]
fn a_newer_store_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("new.db");
    drop(Store::open(&path, StoreOptions::default()).unwrap());
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", schema::LATEST + 1)
        .unwrap();
    assert!(matches!(
        Store::open(&path, StoreOptions::default()),
        Err(StoreError::TooNew { .. })
    ));
}

/// The store frozen at schema 10 (the first schema phones in the field
/// carry: made by `anxin fixture --households 12 --seed 10`, encrypted with
/// the key beside it) must open, migrate and pass `check` in every later
/// build, with everything it held.
#[test]
fn the_frozen_first_release_store_opens_migrates_and_checks() {
    let frozen = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/frozen");
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store-v10.db");
    std::fs::copy(frozen.join("store-v10.db"), &path).unwrap();
    // The command line's key file: 32 random bytes, passed as `x:<hex>`.
    let key = format!(
        "x:{}",
        hex::encode(std::fs::read(frozen.join("store-v10.db.key")).unwrap())
    );
    let options = || StoreOptions {
        key: Some(key.clone()),
        ..Default::default()
    };
    // As frozen: schema 10 (read-only opens refuse anything else).
    let before = Store::open(
        &path,
        StoreOptions {
            read_only: true,
            ..options()
        },
    );
    if schema::LATEST == 10 {
        assert!(before.is_ok(), "{:?}", before.err());
    } else {
        assert!(matches!(
            before,
            Err(StoreError::NeedsUpgrade { found: 10, .. })
        ));
    }
    drop(before);
    let mut store = Store::open(&path, options()).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::LATEST);
    let report = store.check().unwrap();
    assert!(report.is_ok(), "{report:?}");
    let stats = store.stats().unwrap();
    assert_eq!(stats.documents.get("household"), Some(&12));
    assert_eq!(stats.documents.get("worker"), Some(&13));
    let station = store.station().unwrap();
    assert_eq!(station.grids.len(), 2);
}

/// The write path keeps the documents it wrote in memory (`store::cache`):
/// the next write of the same household does not load it from disk again.
/// The copy is used only while the file holds the same heads: a write by
/// another connection, or a write rolled back, is never hidden by it.
#[test]
fn writes_reuse_the_document_in_memory_and_never_serve_a_stale_one() {
    let mut f = setup();
    let h = f
        .store
        .households_mut()
        .add_household(&f.admin, &f.grid, address("601"))
        .unwrap();
    f.store
        .households_mut()
        .add_resident(&f.admin, &h, resident("甲", vec![]))
        .unwrap();
    let loads = f.store.docs.misses();
    f.store
        .households_mut()
        .add_resident(&f.admin, &h, resident("乙", vec![]))
        .unwrap();
    let read: Household = f.store.get(h.as_str()).unwrap();
    assert_eq!(read.members.len(), 2);
    assert_eq!(
        f.store.docs.misses(),
        loads,
        "a write and a read of a household just written loaded it from disk"
    );

    // Another connection to the same file writes: this store's copy is
    // stale, and the next read and write build on the file's.
    let mut other = f.store.opener()().unwrap();
    other
        .households_mut()
        .add_resident(&f.admin, &h, resident("丙", vec![]))
        .unwrap();
    let read: Household = f.store.get(h.as_str()).unwrap();
    assert_eq!(read.members.len(), 3);
    assert_eq!(f.store.docs.misses(), loads + 1);
    f.store
        .households_mut()
        .add_resident(&f.admin, &h, resident("丁", vec![]))
        .unwrap();
    let read: Household = other.get(h.as_str()).unwrap();
    assert_eq!(read.members.len(), 4);

    // A write rolled back leaves nothing in memory either.
    let refused = f.store.batch(|b| {
        b.add_resident(&Author::System, &h, resident("戊", vec![]))?;
        Err::<(), _>(StoreError::NotInitialised)
    });
    assert!(refused.is_err());
    let read: Household = f.store.get(h.as_str()).unwrap();
    assert_eq!(read.members.len(), 4);
    assert!(f.store.check().unwrap().is_ok());
}

/// A responder sets what it remembers of its peer (`hello_scopes:`) on every
/// full Hello, in the middle of the handshake. Remembering what is already
/// remembered writes nothing — no WAL frame, so no fsync: SQLite leaves a
/// row whose new bytes equal the old ones untouched, and this holds it to it.
#[test]
fn setting_a_meta_value_to_what_it_already_is_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("meta.db");
    let store = Store::open(&path, StoreOptions::default()).unwrap();
    let wal_after = |value: &str| {
        store
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        store.set_meta("hello_scopes:peer", value).unwrap();
        std::fs::metadata(path.with_extension("db-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
    };
    assert!(wal_after(r#"["grid:a"]"#) > 0);
    assert_eq!(wal_after(r#"["grid:a"]"#), 0);
    assert!(wal_after(r#"["grid:a","grid:b"]"#) > 0);
    assert_eq!(
        store.meta("hello_scopes:peer").unwrap().as_deref(),
        Some(r#"["grid:a","grid:b"]"#)
    );
}
