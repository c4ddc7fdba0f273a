//! `anxin-ffi`: the Anxin SDK for Android and iOS, a thin uniffi layer over
//! `anxin-core`.
//!
//! Owns: the exported objects (`AnxinStore`, `Questionnaire`,
//! `SyncSessionHandle`, `ListenerHandle`), the records and enums they pass,
//! the public error (`AnxinError`) and the listener traits the host
//! implements. Every exported method converts its arguments, calls core in a
//! few lines and converts the result; there is no business logic here. Every
//! call runs inside `guard`, so no panic crosses the boundary.
//!
//! The bridging layer is not the API: names and shapes here follow what a
//! Kotlin or Swift developer expects (records, enums, objects to close);
//! core keeps its own.

mod asynchronous;
mod error;
mod groups;
mod listeners;
mod records;
mod session;
mod setup;
mod worker;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use anxin_core::doc::Author;
use anxin_core::model::*;
use anxin_core::screening::{Administration, Library, Policy};
use anxin_core::store::{
    DraftRecord, NewOrder, NewResident, NewScreening, NewVisit, Store, StoreOptions,
};

use error::guard;
pub use error::{AnxinError, Result};
pub use groups::{Admin, Cases, Households, Orders, Screening, Sync};
use listeners::Listeners;
pub use listeners::{
    ConflictListener, CrisisListener, ListenerHandle, StoreChangeListener, SyncProgressListener,
};
pub use records::*;
pub use session::SyncSessionHandle;

uniffi::setup_scaffolding!();

/// Everything one open store shares with its questionnaires, sessions and
/// listener handles.
pub(crate) struct Shared {
    /// The writer. `None` once the store is closed: questionnaires and
    /// sessions still alive then fail with `AnxinError::Closed`.
    store: Mutex<Option<Store>>,
    /// A read-only connection beside the writer (file stores): list reads
    /// do not wait behind a sync applying documents.
    reader: Mutex<Option<Store>>,
    acting: Mutex<Option<WorkerId>>,
    pub(crate) listeners: Listeners,
    conflicts_told: Mutex<BTreeSet<String>>,
    /// The instruments: the built-in ones plus any licensed texts loaded.
    library: Mutex<Arc<Library>>,
    /// The referral policy the store was opened with.
    policy: Arc<Policy>,
    /// The store's file (`wipe` deletes it).
    path: String,
}

/// Where the documents a write changed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Local,
    Sync,
    Bundle,
}

/// The writer, held for one call. When it is let go, the documents the
/// call changed (core's change journal: secondary writes and everything a
/// sync applied included) are told to the store listeners — after the lock
/// is released, so a listener may call back into the store.
pub(crate) struct StoreGuard<'a> {
    guard: Option<MutexGuard<'a, Option<Store>>>,
    shared: &'a Shared,
    origin: Origin,
}

// The guards are built only around a lock holding a store (`Shared::writer`,
// `Shared::reader` check it under the lock, and only `close` empties it, under
// the same lock): the `expect`s state that invariant, they handle no error.
#[allow(clippy::expect_used)]
impl std::ops::Deref for StoreGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        self.guard
            .as_ref()
            .and_then(|g| g.as_ref())
            .expect("a store guard holds an open store")
    }
}

#[allow(clippy::expect_used)]
impl std::ops::DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        self.guard
            .as_mut()
            .and_then(|g| g.as_mut())
            .expect("a store guard holds an open store")
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        let Some(mut guard) = self.guard.take() else {
            return;
        };
        let changes = guard
            .as_mut()
            .map(|s| s.take_changes().unwrap_or_default())
            .unwrap_or_default();
        drop(guard);
        if changes.is_empty() {
            return;
        }
        let orders_changed = changes
            .iter()
            .any(|c| c.kind == anxin_core::model::DocKind::Request);
        self.shared.listeners.changed(&changes, self.origin);
        if orders_changed {
            // A conflict is found by folding orders; a listener hears of
            // each once. Errors here cannot undo the write that succeeded.
            let _ = self.shared.tell_conflicts();
        }
    }
}

/// A read connection, held for one call.
pub(crate) enum ReadGuard<'a> {
    Reader(MutexGuard<'a, Option<Store>>),
    Writer(StoreGuard<'a>),
}

#[allow(clippy::expect_used)]
impl std::ops::Deref for ReadGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        match self {
            ReadGuard::Reader(g) => g.as_ref().expect("a read guard holds an open store"),
            ReadGuard::Writer(w) => w,
        }
    }
}

fn closed() -> AnxinError {
    AnxinError::Closed {
        reason: "the store is closed".into(),
    }
}

impl Shared {
    /// The writer, for a call of this device. A panic while it was held
    /// rolled its transaction back, so a poisoned lock is safe to take over.
    pub(crate) fn store(&self) -> Result<StoreGuard<'_>> {
        self.writer(Origin::Local)
    }

    /// The writer, for a sync session or a bundle import.
    pub(crate) fn writer(&self, origin: Origin) -> Result<StoreGuard<'_>> {
        let guard = self.store.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            return Err(closed());
        }
        Ok(StoreGuard {
            guard: Some(guard),
            shared: self,
            origin,
        })
    }

    /// A connection for reading: the reader beside the writer when there
    /// is one (a file store), otherwise the writer.
    pub(crate) fn reader(&self) -> Result<ReadGuard<'_>> {
        let guard = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_some() {
            return Ok(ReadGuard::Reader(guard));
        }
        drop(guard);
        Ok(ReadGuard::Writer(self.store()?))
    }

    /// `Closed` once the store is closed.
    pub(crate) fn ensure_open(&self) -> Result<()> {
        match self
            .store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            Some(_) => Ok(()),
            None => Err(closed()),
        }
    }

    /// Closes the database (both connections). Later calls of anything
    /// still holding this store fail with `Closed`.
    pub(crate) fn close(&self) {
        let writer = self.store.lock().unwrap_or_else(|p| p.into_inner()).take();
        let reader = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop((writer, reader));
        self.listeners.clear();
    }

    fn library(&self) -> Arc<Library> {
        self.library
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn author(&self) -> Result<Author> {
        self.acting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .map(Author::Worker)
            .ok_or_else(|| AnxinError::NoActingWorker {
                reason: "no worker is acting on this device: call actAs(workerId) first".into(),
            })
    }

    /// Tells listeners about order conflicts they have not heard of yet
    /// (after a sync or an order action). No lock is held while they hear
    /// it: a listener may call back into the store.
    pub(crate) fn tell_conflicts(&self) -> Result<()> {
        let rows = self.reader()?.orders().order_conflicts(None)?;
        let new: Vec<OrderConflict> = {
            let mut told = self
                .conflicts_told
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            rows.into_iter()
                .filter(|c| told.insert(format!("{}:{}", c.request_id, c.event_id)))
                .map(OrderConflict::from)
                .collect()
        };
        for c in &new {
            self.listeners.conflict(c);
        }
        Ok(())
    }
}

/// Queue rows with the resident each order serves (read from the order:
/// the index does not keep it).
fn queue_items(store: &Store, rows: Vec<anxin_core::store::QueueRow>) -> Result<Vec<QueueItem>> {
    rows.into_iter()
        .map(|q| {
            let resident = store
                .get::<Request>(q.id.as_str())?
                .resident_id
                .map(|r| r.to_string());
            Ok(QueueItem::new(q, resident))
        })
        .collect()
}

fn parse<T>(r: std::result::Result<T, ValidationError>) -> Result<T> {
    r.map_err(AnxinError::from)
}

/// Parses an optional argument (an id or word) with core's parser.
fn optional<T>(
    value: Option<&str>,
    parse: impl Fn(&str, &'static str) -> std::result::Result<T, ValidationError>,
    field: &'static str,
) -> Result<Option<T>> {
    Ok(value.map(|v| parse(v, field)).transpose()?)
}

/// An Anxin store on this device: the entry point of the SDK. Close it
/// (`use {}` in Kotlin) when done.
#[derive(uniffi::Object)]
pub struct AnxinStore {
    shared: Arc<Shared>,
}

#[uniffi::export]
impl AnxinStore {
    /// Opens (or creates) the store at `options.path`, encrypted with
    /// `options.key` when given; sets the device's scopes when given, and
    /// the acting worker.
    #[uniffi::constructor]
    pub fn open(options: OpenOptions) -> Result<Arc<Self>> {
        guard(|| {
            let policy = Arc::new(match &options.policy_json {
                Some(json) => Policy::from_json("policy_json", json)?,
                None => Policy::builtin()?.clone(),
            });
            let mut store = Store::open(
                &options.path,
                StoreOptions {
                    key: options.key.clone(),
                    policy: Some(policy.clone()),
                    journal_changes: true,
                    ..Default::default()
                },
            )?;
            // The reader beside the writer (an in-memory store has none:
            // its reads use the writer).
            let reader = if options.path == ":memory:" || options.path.is_empty() {
                None
            } else {
                Some(Store::open(
                    &options.path,
                    StoreOptions {
                        key: options.key.clone(),
                        policy: Some(policy.clone()),
                        read_only: true,
                        ..Default::default()
                    },
                )?)
            };
            if let Some(scopes) = &options.scopes {
                store.replica_mut().set_scopes(&parse_scopes(scopes)?)?;
            }
            let acting = options
                .acting_worker
                .as_deref()
                .map(|w| WorkerId::parse(w, "acting_worker"))
                .transpose()?;
            Ok(Arc::new(Self {
                shared: Arc::new(Shared {
                    store: Mutex::new(Some(store)),
                    reader: Mutex::new(reader),
                    acting: Mutex::new(acting),
                    listeners: Listeners::default(),
                    conflicts_told: Mutex::new(BTreeSet::new()),
                    library: Mutex::new(Arc::new(Library::builtin()?.clone())),
                    policy,
                    path: options.path.clone(),
                }),
            }))
        })
    }

    /// Households, residents and canvass visits.
    pub fn households(&self) -> Arc<Households> {
        Arc::new(Households {
            shared: self.shared.clone(),
        })
    }

    /// Screening instruments and interviews.
    pub fn screening(&self) -> Arc<Screening> {
        Arc::new(Screening {
            shared: self.shared.clone(),
        })
    }

    /// Case files.
    pub fn cases(&self) -> Arc<Cases> {
        Arc::new(Cases {
            shared: self.shared.clone(),
        })
    }

    /// Service orders and volunteer hours.
    pub fn orders(&self) -> Arc<Orders> {
        Arc::new(Orders {
            shared: self.shared.clone(),
        })
    }

    /// Sync sessions, enrolment and bundles.
    pub fn sync(&self) -> Arc<Sync> {
        Arc::new(Sync {
            shared: self.shared.clone(),
        })
    }

    /// Running a station (setup, people, devices), the fixture, check, export.
    pub fn admin(&self) -> Arc<Admin> {
        Arc::new(Admin {
            shared: self.shared.clone(),
        })
    }

    /// This device's id.
    pub fn device_id(&self) -> Result<String> {
        guard(|| Ok(self.shared.reader()?.device().device_id.clone()))
    }

    /// The worker whose actions this device records from now on.
    pub fn act_as(&self, worker_id: String) -> Result<()> {
        guard(|| {
            let id = parse(WorkerId::parse(&worker_id, "worker_id"))?;
            self.shared.reader()?.get::<Worker>(id.as_str())?;
            *self.shared.acting.lock().unwrap_or_else(|p| p.into_inner()) = Some(id);
            Ok(())
        })
    }

    /// The station's grids.
    pub fn grids(&self) -> Result<Vec<GridInfo>> {
        guard(|| {
            let station = self.shared.reader()?.station()?;
            Ok(station
                .grids
                .values()
                .map(|g| GridInfo {
                    id: g.id.to_string(),
                    name: g.name.clone(),
                })
                .collect())
        })
    }

    /// Workers, optionally of one grid and one role.
    pub fn workers(
        &self,
        grid_id: Option<String>,
        role: Option<WorkerRole>,
    ) -> Result<Vec<WorkerInfo>> {
        guard(|| {
            let grid = optional(grid_id.as_deref(), GridId::parse, "grid_id")?;
            let rows = self
                .shared
                .reader()?
                .people()
                .workers(grid.as_ref(), role.map(Role::from))?;
            Ok(rows.into_iter().map(WorkerInfo::from).collect())
        })
    }

    /// For a device being handed back: closes the store and deletes its file (and
    /// its journal files). Everything still holding the store then fails with
    /// `Closed`. What was not synced is lost.
    pub fn wipe(&self) -> Result<()> {
        guard(|| {
            self.shared.close();
            if self.shared.path != ":memory:" && !self.shared.path.is_empty() {
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    match std::fs::remove_file(format!("{}{suffix}", self.shared.path)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(AnxinError::Storage {
                                reason: format!(
                                    "the store's file could not be deleted: {}",
                                    e.kind()
                                ),
                            })
                        }
                    }
                }
            }
            Ok(())
        })
    }

    /// Hears of every write (kind, id, action; never content).
    pub fn add_store_listener(
        &self,
        listener: Arc<dyn StoreChangeListener>,
    ) -> Result<Arc<ListenerHandle>> {
        guard(|| {
            self.shared.ensure_open()?;
            Ok(self.shared.listeners.add_store(&self.shared, listener))
        })
    }

    /// Hears of red flags (at the answer) and of crisis tiers.
    pub fn add_crisis_listener(
        &self,
        listener: Arc<dyn CrisisListener>,
    ) -> Result<Arc<ListenerHandle>> {
        guard(|| {
            self.shared.ensure_open()?;
            Ok(self.shared.listeners.add_crisis(&self.shared, listener))
        })
    }

    /// Hears of order conflicts (e.g. your acceptance lost to an earlier one).
    pub fn add_conflict_listener(
        &self,
        listener: Arc<dyn ConflictListener>,
    ) -> Result<Arc<ListenerHandle>> {
        guard(|| {
            self.shared.ensure_open()?;
            Ok(self.shared.listeners.add_conflict(&self.shared, listener))
        })
    }

    /// Hears of sync progress (documents done of total).
    pub fn add_sync_listener(
        &self,
        listener: Arc<dyn SyncProgressListener>,
    ) -> Result<Arc<ListenerHandle>> {
        guard(|| {
            self.shared.ensure_open()?;
            Ok(self.shared.listeners.add_sync(&self.shared, listener))
        })
    }
}

/// Only in libraries built with the `fixture` feature (tests, demos).
#[cfg(feature = "fixture")]
#[uniffi::export]
impl Admin {
    /// Fills a new store with a synthetic community (demos and tests; only
    /// in libraries built with the `fixture` feature).
    pub fn load_fixture(&self, households: u32, seed: u64) -> Result<()> {
        guard(|| {
            anxin_core::fixture::generate(
                &mut *self.shared.store()?,
                anxin_core::fixture::FixtureSpec { households, seed },
                |_, _| {},
            )?;
            Ok(())
        })
    }
}

#[uniffi::export]
impl Admin {
    /// Creates the station of a new store (the station's own device).
    pub fn init_station(&self, name: String) -> Result<String> {
        guard(|| {
            Ok(self
                .shared
                .store()?
                .setup_mut()
                .init_station(&name)?
                .id
                .to_string())
        })
    }

    /// The de-identified report (per grid and station) as JSON.
    pub fn report_json(&self) -> Result<String> {
        guard(|| {
            let report = self.shared.reader()?.orders().report()?;
            serde_json::to_string(&report).map_err(|e| AnxinError::Internal {
                reason: e.to_string(),
            })
        })
    }

    /// Every document as canonical JSON (two replicas holding the same
    /// documents give the same text).
    pub fn export_json(&self) -> Result<String> {
        guard(|| Ok(self.shared.reader()?.export_json()?))
    }

    /// Checks the store; true when sound.
    pub fn check(&self) -> Result<bool> {
        guard(|| Ok(self.shared.store()?.check()?.is_ok()))
    }
}

#[uniffi::export]
impl Households {
    /// Records a household in a grid.
    pub fn add(&self, grid_id: String, address: AddressInput) -> Result<String> {
        guard(|| {
            let grid = parse(GridId::parse(&grid_id, "grid_id"))?;
            let by = self.shared.author()?;
            let id =
                self.shared
                    .store()?
                    .households_mut()
                    .add_household(&by, &grid, address.into())?;
            Ok(id.to_string())
        })
    }

    /// Adds a resident to a household.
    pub fn add_resident(&self, household_id: String, resident: ResidentInput) -> Result<String> {
        guard(|| {
            let household = parse(HouseholdId::parse(&household_id, "household_id"))?;
            let by = self.shared.author()?;
            let new = NewResident::try_from(resident)?;
            let id = self
                .shared
                .store()?
                .households_mut()
                .add_resident(&by, &household, new)?;
            Ok(id.to_string())
        })
    }

    /// Records a canvass visit with the needs found.
    pub fn record_visit(
        &self,
        household_id: String,
        needs: Vec<NeedInput>,
        notes: String,
    ) -> Result<String> {
        guard(|| {
            let household = parse(HouseholdId::parse(&household_id, "household_id"))?;
            let by = self.shared.author()?;
            let needs = needs
                .into_iter()
                .map(Need::try_from)
                .collect::<Result<Vec<_>>>()?;
            let id = self.shared.store()?.households_mut().record_visit(
                &by,
                &household,
                NewVisit {
                    at: now_millis(),
                    needs,
                    notes,
                },
            )?;
            Ok(id.to_string())
        })
    }

    /// A grid's households in triage order (P1 first), with the reasons.
    /// `offset`: how many to skip (paging: the next page starts at the
    /// previous offset plus `limit`).
    #[uniffi::method(default(offset = 0))]
    pub fn list(&self, grid_id: String, limit: u32, offset: u32) -> Result<Vec<HouseholdInfo>> {
        guard(|| {
            let grid = parse(GridId::parse(&grid_id, "grid_id"))?;
            let rows = self
                .shared
                .reader()?
                .households()
                .households_in_grid(&grid, limit, offset)?;
            Ok(rows.into_iter().map(HouseholdInfo::from).collect())
        })
    }

    /// A household's residents.
    pub fn residents(&self, household_id: String) -> Result<Vec<ResidentInfo>> {
        guard(|| {
            let h: Household = self.shared.reader()?.get(&household_id)?;
            Ok(h.members.values().map(ResidentInfo::from).collect())
        })
    }

    /// Sets or clears a resident's vulnerability tag.
    pub fn set_resident_tag(
        &self,
        household_id: String,
        resident_id: String,
        tag: String,
        present: bool,
    ) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            self.shared.store()?.households_mut().set_resident_tag(
                &by,
                &parse(HouseholdId::parse(&household_id, "household_id"))?,
                &parse(ResidentId::parse(&resident_id, "resident_id"))?,
                parse(VulnerabilityTag::parse(&tag, "tag"))?,
                present,
            )?;
            Ok(())
        })
    }

    /// Residents carrying a vulnerability tag (`elderly_alone`,
    /// `chronic_illness`, ...), optionally in one grid: who to visit first.
    pub fn residents_with_tag(
        &self,
        tag: String,
        grid_id: Option<String>,
    ) -> Result<Vec<TaggedResident>> {
        guard(|| {
            let tag = parse(VulnerabilityTag::parse(&tag, "tag"))?;
            let grid = optional(grid_id.as_deref(), GridId::parse, "grid_id")?;
            let rows = self
                .shared
                .reader()?
                .households()
                .residents_with_tag(&tag, grid.as_ref())?;
            Ok(rows.into_iter().map(TaggedResident::from).collect())
        })
    }

    /// Moves a household (and its orders) to another grid; coordinators only.
    /// Devices of the old grid hand their copies on and purge them.
    pub fn move_household(&self, household_id: String, to_grid_id: String) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            self.shared.store()?.households_mut().move_household(
                &by,
                &parse(HouseholdId::parse(&household_id, "household_id"))?,
                &parse(GridId::parse(&to_grid_id, "to_grid_id"))?,
            )?;
            Ok(())
        })
    }
}

#[uniffi::export]
impl Screening {
    /// The screening instruments available (licensed ones need their texts).
    pub fn instruments(&self) -> Result<Vec<InstrumentInfo>> {
        guard(|| {
            Ok(self
                .shared
                .library()
                .all()
                .map(InstrumentInfo::from)
                .collect())
        })
    }

    /// Loads a deployment's licensed item texts (ISI, C-SSRS, EPDS, SDQ) from
    /// the JSON of its texts file, for this open store. The file is checked
    /// whole first: a malformed one is refused (`InvalidInput` naming the
    /// file) and changes nothing. Returns the instruments as now available.
    pub fn load_licensed_texts(
        &self,
        file_name: String,
        json: String,
    ) -> Result<Vec<InstrumentInfo>> {
        guard(|| {
            let mut library = self
                .shared
                .library
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let loaded = library.with_licensed_texts(&file_name, &json)?;
            *library = Arc::new(loaded);
            Ok(library.all().map(InstrumentInfo::from).collect())
        })
    }

    /// Starts a questionnaire in a language. Red flags raised by an answer
    /// are returned by `answer` and sent to the crisis listeners at once.
    /// `convention`: the scoring convention of the form the answers follow
    /// (K10/K6: `0-4` or `1-5`); by default the store's policy's (built in:
    /// K10 `1-5`, K6 `0-4`). Other instruments take none.
    #[uniffi::method(default(convention = None))]
    pub fn start(
        &self,
        instrument: String,
        language: Language,
        household_id: String,
        resident_id: String,
        convention: Option<String>,
    ) -> Result<Arc<Questionnaire>> {
        guard(|| {
            let library = self.shared.library();
            let convention = self
                .shared
                .policy
                .convention_or_default(&instrument, convention.as_deref());
            let admin = Administration::start(
                library.get(&instrument)?,
                language.into(),
                convention.as_deref(),
            )?;
            let q = Questionnaire {
                shared: self.shared.clone(),
                id: EventId::random().to_string(),
                admin: Mutex::new(admin),
                household_id,
                resident_id,
                alerted: Mutex::new(BTreeSet::new()),
            };
            q.save()?;
            Ok(Arc::new(q))
        })
    }

    /// Scores and records a sitting of finished questionnaires in the
    /// resident's case file. A sitting graded crisis opens a crisis record in
    /// the same write (unless one is open already) and the crisis listeners
    /// hear of it. `cutoffs`: by default the store's policy's (built in:
    /// `ZH_CN`).
    #[uniffi::method(default(cutoffs = None))]
    pub fn record(
        &self,
        questionnaires: Vec<Arc<Questionnaire>>,
        cutoffs: Option<CutoffSet>,
    ) -> Result<RecordedScreening> {
        guard(|| {
            let first = questionnaires.first().ok_or_else(|| {
                AnxinError::invalid("questionnaires", "required", "at least one questionnaire")
            })?;
            let (household, resident) = (first.household_id.clone(), first.resident_id.clone());
            let mut results = Vec::new();
            for q in &questionnaires {
                if q.household_id != household || q.resident_id != resident {
                    return Err(AnxinError::invalid(
                        "questionnaires",
                        "inconsistent",
                        "a sitting is one resident's",
                    ));
                }
                results.push(q.result(cutoffs.map(CutoffSet::code))?);
            }
            let flags: Vec<String> = results.iter().flat_map(|r| r.red_flags.clone()).collect();
            let sitting: Vec<&str> = results.iter().map(|r| r.instrument.as_str()).collect();
            let assess_with = self.shared.policy.assessments_to_follow(
                &flags,
                &sitting,
                &self.shared.library(),
                first.admin().language(),
            );
            let by = self.shared.author()?;
            let rec = self.shared.store()?.cases_mut().record_screening(
                &by,
                NewScreening {
                    household_id: parse(HouseholdId::parse(&household, "household_id"))?,
                    resident_id: parse(ResidentId::parse(&resident, "resident_id"))?,
                    team: None,
                    results,
                },
                &self.shared.library(),
            )?;
            // One alert per red flag: the flags an answer already alerted
            // are not raised again; a crisis graded without a new flag (a
            // high-risk assessment) is raised here, once, with its ids.
            let already: BTreeSet<String> = questionnaires
                .iter()
                .flat_map(|q| q.alerted.lock().unwrap_or_else(|p| p.into_inner()).clone())
                .collect();
            let new_flags: Vec<String> = flags
                .iter()
                .filter(|f| !already.contains(*f))
                .cloned()
                .collect();
            if rec.decision.tier == Tier::Crisis && (!new_flags.is_empty() || flags.is_empty()) {
                self.shared.listeners.crisis(&CrisisAlert {
                    alert_id: rec.screening.to_string(),
                    source: AlertSource::Screening,
                    household_id: household.clone(),
                    resident_id: resident.clone(),
                    flags: new_flags,
                    assess_with,
                    tier: RiskTier::Crisis,
                    item_id: None,
                    reason: rec.decision.reasons.first().cloned().unwrap_or_default(),
                    case_id: Some(rec.case_id.to_string()),
                    screening_id: Some(rec.screening.to_string()),
                    crisis_id: rec
                        .crisis_opened
                        .as_ref()
                        .or(rec.open_crises.first())
                        .map(ToString::to_string),
                });
            }
            // The sitting is filed: its interviews are drafts no more.
            let mut store = self.shared.store()?;
            for q in &questionnaires {
                store.delete_draft(&q.id)?;
            }
            drop(store);
            Ok(RecordedScreening::from(rec))
        })
    }

    /// Interviews in progress saved on this device (after every answer), oldest first:
    /// offer to resume them after the app was killed.
    pub fn drafts(&self) -> Result<Vec<DraftInfo>> {
        guard(|| {
            let rows = self.shared.reader()?.drafts()?;
            Ok(rows.into_iter().map(DraftInfo::from).collect())
        })
    }

    /// Resumes a saved interview where it stood. The red flags its answers raised
    /// were alerted then and are not raised again.
    pub fn resume(&self, draft_id: String) -> Result<Arc<Questionnaire>> {
        guard(|| {
            let record = self.shared.reader()?.draft(&draft_id)?;
            let admin = Administration::resume(&self.shared.library(), &record.draft)?;
            Ok(Arc::new(Questionnaire {
                shared: self.shared.clone(),
                id: record.id,
                admin: Mutex::new(admin),
                household_id: record.household_id,
                resident_id: record.resident_id,
                alerted: Mutex::new(record.alerted.into_iter().collect()),
            }))
        })
    }
}

#[uniffi::export]
impl Cases {
    /// Opens a crisis for a resident (at the door: the case file is created
    /// if needed). Returns the case and crisis ids.
    pub fn open_crisis(
        &self,
        household_id: String,
        resident_id: String,
        reason: String,
    ) -> Result<CrisisRef> {
        guard(|| {
            let by = self.shared.author()?;
            let (case, crisis) = self.shared.store()?.cases_mut().open_crisis(
                &by,
                &parse(HouseholdId::parse(&household_id, "household_id"))?,
                &parse(ResidentId::parse(&resident_id, "resident_id"))?,
                &reason,
            )?;
            Ok(CrisisRef {
                case_id: case.to_string(),
                crisis_id: crisis.to_string(),
            })
        })
    }

    /// Records something done during a crisis.
    pub fn crisis_action(
        &self,
        crisis: CrisisRef,
        step: CrisisStepKind,
        note: String,
    ) -> Result<CaseInfo> {
        guard(|| {
            let by = self.shared.author()?;
            let state = self.shared.store()?.cases_mut().crisis_action(
                &by,
                &parse(CaseId::parse(&crisis.case_id, "case_id"))?,
                &parse(EventId::parse(&crisis.crisis_id, "crisis_id"))?,
                step.into(),
                &note,
            )?;
            Ok(CaseInfo::from(state))
        })
    }

    /// A counselor or clinician closes a crisis, stating the tier after it.
    pub fn close_crisis(
        &self,
        crisis: CrisisRef,
        tier_after: RiskTier,
        note: String,
    ) -> Result<CaseInfo> {
        guard(|| {
            let by = self.shared.author()?;
            let state = self.shared.store()?.cases_mut().close_crisis(
                &by,
                &parse(CaseId::parse(&crisis.case_id, "case_id"))?,
                &parse(EventId::parse(&crisis.crisis_id, "crisis_id"))?,
                tier_after.into(),
                &note,
            )?;
            Ok(CaseInfo::from(state))
        })
    }

    /// A counselor or clinician reviews a screening (复核).
    pub fn review(
        &self,
        case_id: String,
        screening_id: String,
        tier: RiskTier,
        reason: String,
    ) -> Result<CaseInfo> {
        guard(|| {
            let by = self.shared.author()?;
            let state = self.shared.store()?.cases_mut().review_screening(
                &by,
                &parse(CaseId::parse(&case_id, "case_id"))?,
                &parse(EventId::parse(&screening_id, "screening_id"))?,
                tier.into(),
                &reason,
            )?;
            Ok(CaseInfo::from(state))
        })
    }

    /// Proposes a referral; returns its id.
    pub fn refer(
        &self,
        case_id: String,
        tier: RiskTier,
        to: String,
        reason: String,
    ) -> Result<String> {
        guard(|| {
            let by = self.shared.author()?;
            let id = self.shared.store()?.cases_mut().refer(
                &by,
                &parse(CaseId::parse(&case_id, "case_id"))?,
                tier.into(),
                &to,
                &reason,
            )?;
            Ok(id.to_string())
        })
    }

    /// Moves a referral on.
    pub fn update_referral(
        &self,
        case_id: String,
        referral_id: String,
        status: ReferralState,
        note: String,
    ) -> Result<CaseInfo> {
        guard(|| {
            let by = self.shared.author()?;
            let state = self.shared.store()?.cases_mut().update_referral(
                &by,
                &parse(CaseId::parse(&case_id, "case_id"))?,
                &parse(EventId::parse(&referral_id, "referral_id"))?,
                status.into(),
                &note,
            )?;
            Ok(CaseInfo::from(state))
        })
    }

    /// Records a follow-up visit or call in a case file.
    pub fn record_visit(&self, case_id: String, minutes: u32, note: String) -> Result<CaseInfo> {
        self.case_entry(case_id, CaseAction::Visit { minutes, note })
    }

    /// Adds a note to a case file.
    pub fn add_note(&self, case_id: String, text: String) -> Result<CaseInfo> {
        self.case_entry(case_id, CaseAction::Note { text })
    }

    /// Makes a social worker, counselor or clinician responsible for a case.
    pub fn assign(&self, case_id: String, worker_id: String) -> Result<CaseInfo> {
        guard(|| {
            let worker = parse(WorkerId::parse(&worker_id, "worker_id"))?;
            self.case_entry(case_id, CaseAction::Assigned { worker })
        })
    }

    /// A case file's current state.
    pub fn info(&self, case_id: String) -> Result<CaseInfo> {
        guard(|| {
            let (_, state) = self
                .shared
                .reader()?
                .cases()
                .case(&parse(CaseId::parse(&case_id, "case_id"))?, now_millis())?;
            Ok(CaseInfo::from(state))
        })
    }

    /// The case files this device holds, highest tier first; optionally
    /// one household's.
    pub fn list(&self, household_id: Option<String>) -> Result<Vec<CaseSummary>> {
        guard(|| {
            let household = optional(household_id.as_deref(), HouseholdId::parse, "household_id")?;
            let rows = self.shared.reader()?.cases().list(household.as_ref())?;
            Ok(rows.into_iter().map(CaseSummary::from).collect())
        })
    }

    /// What is due (open crises first), for one worker or the station,
    /// within `days`.
    pub fn due(&self, worker_id: Option<String>, days: u32) -> Result<Vec<DueItem>> {
        guard(|| {
            let worker = optional(worker_id.as_deref(), WorkerId::parse, "worker_id")?;
            let now = now_millis();
            let rows = self.shared.reader()?.cases().cases_due(
                worker.as_ref(),
                now,
                now + i64::from(days) * anxin_core::localtime::DAY,
            )?;
            Ok(rows.into_iter().map(DueItem::from).collect())
        })
    }
}

#[uniffi::export]
impl Orders {
    /// Records a service order (点单); returns its id.
    pub fn create(&self, order: OrderInput) -> Result<String> {
        guard(|| {
            let by = self.shared.author()?;
            let new = NewOrder::try_from(order)?;
            let id = self.shared.store()?.orders_mut().create_order(&by, new)?;
            Ok(id.to_string())
        })
    }

    /// Acts on an order (dispatch, accept, start, complete, cancel...).
    pub fn act(&self, order_id: String, action: OrderStep) -> Result<OrderInfo> {
        guard(|| {
            let by = self.shared.author()?;
            let id = parse(RequestId::parse(&order_id, "order_id"))?;
            let action = OrderAction::try_from(action)?;
            let state = self
                .shared
                .store()?
                .orders_mut()
                .order_action(&by, &id, action)?;
            Ok(OrderInfo::from_state(order_id.clone(), &state))
        })
    }

    /// Workers suggested for an order: same grid first, trained for it, least loaded.
    pub fn suggest_workers(&self, order_id: String, limit: u32) -> Result<Vec<WorkerSuggestion>> {
        guard(|| {
            let id = parse(RequestId::parse(&order_id, "order_id"))?;
            Ok(self
                .shared
                .reader()?
                .orders()
                .suggest_workers(&id, limit)?
                .into_iter()
                .map(WorkerSuggestion::from)
                .collect())
        })
    }

    /// Order conflicts to settle, optionally only those a worker is part of.
    pub fn conflicts(&self, worker_id: Option<String>) -> Result<Vec<OrderConflict>> {
        guard(|| {
            let worker = optional(worker_id.as_deref(), WorkerId::parse, "worker_id")?;
            Ok(self
                .shared
                .reader()?
                .orders()
                .order_conflicts(worker.as_ref())?
                .into_iter()
                .map(OrderConflict::from)
                .collect())
        })
    }

    /// The acting worker's tasks.
    pub fn my_tasks(&self) -> Result<Vec<QueueItem>> {
        guard(|| {
            let by = self.shared.author()?;
            let worker = by
                .worker()
                .cloned()
                .unwrap_or_else(|| WorkerId(String::new()));
            let store = self.shared.reader()?;
            let rows = store.orders().my_tasks(&worker)?;
            queue_items(&store, rows)
        })
    }

    /// The dispatch queue, most urgent household first.
    pub fn dispatch_queue(&self, grid_id: Option<String>) -> Result<Vec<QueueItem>> {
        guard(|| {
            let grid = optional(grid_id.as_deref(), GridId::parse, "grid_id")?;
            let store = self.shared.reader()?;
            let rows = store.orders().dispatch_queue(grid.as_ref())?;
            queue_items(&store, rows)
        })
    }

    /// Everything about one order (what, for whom, where it stands, who
    /// has it), for its details screen.
    pub fn details(&self, order_id: String) -> Result<OrderDetails> {
        guard(|| {
            let id = parse(RequestId::parse(&order_id, "order_id"))?;
            let (request, state) = self.shared.reader()?.orders().order(&id)?;
            Ok(OrderDetails::new(&request, &state))
        })
    }

    /// Volunteer hours per worker, optionally one worker's, of work done
    /// from `from` up to `to` (ms since the epoch; none: all time), with
    /// how much of it was acknowledged.
    #[uniffi::method(default(from = None, to = None))]
    pub fn hours(
        &self,
        worker_id: Option<String>,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<Vec<HoursInfo>> {
        guard(|| {
            let worker = optional(worker_id.as_deref(), WorkerId::parse, "worker_id")?;
            Ok(self
                .shared
                .reader()?
                .orders()
                .hours_totals(worker.as_ref(), from.unwrap_or(0), to.unwrap_or(i64::MAX))?
                .into_iter()
                .map(HoursInfo::from)
                .collect())
        })
    }
}

#[uniffi::export]
impl Sync {
    /// A sync session whose frames the host carries (Bluetooth, Nearby,
    /// Multipeer...). The initiator calls `start`; both feed `receive`.
    pub fn session(&self, options: SyncOptions) -> Result<Arc<SyncSessionHandle>> {
        guard(|| SyncSessionHandle::new(self.shared.clone(), options))
    }

    /// Enrols this new device with a one-time code from the station: a
    /// session (run it like any other over the host's transport) in which
    /// the device proves the code, receives its credential and the
    /// station's documents its worker may hold. A code works once.
    pub fn enroll(&self, code: String, max_frame_bytes: u32) -> Result<Arc<SyncSessionHandle>> {
        guard(|| {
            SyncSessionHandle::new(
                self.shared.clone(),
                SyncOptions {
                    initiator: true,
                    max_frame_bytes,
                    enrol_code: Some(code),
                    peer_device: None,
                },
            )
        })
    }

    /// Everything of the given scopes, as a bundle to carry: sealed to the
    /// devices enrolled for those scopes and the station, signed by this
    /// device.
    pub fn export_bundle(&self, scopes: Vec<String>) -> Result<Vec<u8>> {
        guard(|| {
            let scopes = parse_scopes(&scopes)?;
            Ok(anxin_core::sync::bundle::export(
                &*self.shared.store()?,
                &scopes,
            )?)
        })
    }

    /// Imports a sealed bundle into this enrolled device: opened with its
    /// key, the exporter's credential and signature checked, every change
    /// checked as sync checks it. Twice is harmless; a damaged, altered or
    /// foreign one is refused and changes nothing (`Sync`), one sealed to
    /// other devices gives `Unauthorized`, an unenrolled device
    /// `NotEnrolled`.
    pub fn import_bundle(&self, bytes: Vec<u8>) -> Result<BundleImport> {
        guard(|| {
            let r = anxin_core::sync::bundle::import(
                &mut *self.shared.writer(Origin::Bundle)?,
                &bytes,
            )?;
            Ok(BundleImport {
                documents: r.documents,
                applied: r.applied,
                unchanged: r.unchanged,
                refused: r.refused,
                quarantined: r.quarantined.len() as u32,
            })
        })
    }
}

impl Drop for AnxinStore {
    /// Closing the store (`close()` in Kotlin, releasing it in Swift)
    /// closes its database at once, even while questionnaires, sessions or
    /// handles are alive: they then fail with `Closed`.
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl Cases {
    fn case_entry(&self, case_id: String, action: CaseAction) -> Result<CaseInfo> {
        guard(|| {
            let by = self.shared.author()?;
            let state = self.shared.store()?.cases_mut().case_entry(
                &by,
                &parse(CaseId::parse(&case_id, "case_id"))?,
                action,
            )?;
            Ok(CaseInfo::from(state))
        })
    }
}

/// A questionnaire being answered, item by item. Nothing is saved until
/// `AnxinStore.recordScreening`.
#[derive(uniffi::Object)]
pub struct Questionnaire {
    shared: Arc<Shared>,
    /// This sitting's id: alerts raised at its answers carry it.
    id: String,
    admin: Mutex<Administration>,
    household_id: String,
    resident_id: String,
    /// The red flags already alerted at an answer: recording the sitting
    /// does not raise them again.
    alerted: Mutex<BTreeSet<String>>,
}

impl Questionnaire {
    /// Saves where the interview stands (durably: an answer acknowledged
    /// survives the app being killed).
    fn save(&self) -> Result<()> {
        let record = DraftRecord {
            id: self.id.clone(),
            household_id: self.household_id.clone(),
            resident_id: self.resident_id.clone(),
            draft: self.admin().draft(),
            alerted: self
                .alerted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned()
                .collect(),
            updated_at: now_millis(),
        };
        self.shared.store()?.save_draft(&record)?;
        Ok(())
    }

    fn admin(&self) -> MutexGuard<'_, Administration> {
        self.admin.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn result(&self, cutoffs: Option<&str>) -> Result<ScreeningResult> {
        Ok(self.admin().finish(cutoffs, &self.shared.policy)?)
    }
}

#[uniffi::export]
impl Questionnaire {
    /// The item to ask now, or none when every item asked is answered.
    pub fn current(&self) -> Result<Option<ItemPrompt>> {
        guard(|| {
            self.shared.ensure_open()?;
            Ok(self.admin().current().map(ItemPrompt::from))
        })
    }

    /// Records an answer (the option's value). A red flag is returned here
    /// and sent to the crisis listeners before anything is saved.
    pub fn answer(&self, item_id: String, value: i32) -> Result<AnswerResult> {
        guard(|| {
            self.shared.ensure_open()?;
            let (step, language, instrument) = {
                let mut admin = self.admin();
                let step = admin.answer(&item_id, value)?;
                (step, admin.language(), admin.instrument().id.clone())
            };
            let assess_with = self.shared.policy.assessments_to_follow(
                &step.red_flags,
                &[instrument.as_str()],
                &self.shared.library(),
                language,
            );
            let new_flags: Vec<String> = {
                let mut alerted = self.alerted.lock().unwrap_or_else(|p| p.into_inner());
                step.red_flags
                    .iter()
                    .filter(|f| alerted.insert((*f).clone()))
                    .cloned()
                    .collect()
            };
            if !new_flags.is_empty() {
                self.shared.listeners.crisis(&CrisisAlert {
                    alert_id: format!("{}:{item_id}", self.id),
                    source: AlertSource::Answer,
                    household_id: self.household_id.clone(),
                    resident_id: self.resident_id.clone(),
                    flags: new_flags,
                    assess_with: assess_with.clone(),
                    tier: RiskTier::Crisis,
                    item_id: Some(item_id.clone()),
                    reason: format!("red flag at item {item_id}"),
                    case_id: None,
                    screening_id: None,
                    crisis_id: None,
                });
            }
            self.save()?;
            Ok(AnswerResult {
                red_flags: step.red_flags,
                assess_with,
                next: step.next.map(ItemPrompt::from),
            })
        })
    }

    /// The respondent declines an item.
    pub fn decline(&self, item_id: String) -> Result<Option<ItemPrompt>> {
        guard(|| {
            self.shared.ensure_open()?;
            let next = self.admin().decline(&item_id)?.map(ItemPrompt::from);
            self.save()?;
            Ok(next)
        })
    }

    /// Scores the answers so far with a cutoff set (`international`,
    /// `zh-CN`; by default the store's policy's).
    #[uniffi::method(default(cutoffs = None))]
    pub fn score(&self, cutoffs: Option<CutoffSet>) -> Result<ScreeningOutcome> {
        guard(|| {
            self.shared.ensure_open()?;
            Ok(ScreeningOutcome::new(
                self.result(cutoffs.map(CutoffSet::code))?,
                &self.shared.policy,
            ))
        })
    }

    /// This interview's id (its draft's, see `AnxinStore.drafts`).
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Gives the interview up: its draft is deleted (nothing is recorded).
    pub fn discard(&self) -> Result<()> {
        guard(|| {
            self.shared.store()?.delete_draft(&self.id)?;
            Ok(())
        })
    }

    /// The scoring convention the answers follow (K10/K6: `0-4` or `1-5`),
    /// none for instruments with one way of scoring. The values `current()`
    /// offers are in it.
    pub fn convention(&self) -> Result<Option<String>> {
        guard(|| Ok(self.admin().convention().map(str::to_string)))
    }
}

/// Proves the panic guard to an integrator: panics inside Anxin and returns
/// the error the app would get (`AnxinError.Internal`). Never panics itself.
#[uniffi::export]
pub fn diagnostics_panic_is_an_error() -> Result<()> {
    guard(|| panic!("deliberate panic to test the guard"))
}

/// What people read for every stable code (roles, tags, needs, order
/// kinds and statuses, urgencies, priorities and reasons, tiers, bands,
/// flags, referral and crisis states, due items, conflicts, activities),
/// in `language` (from the platform's tag: `languageFromTag`). Show these;
/// never hard-code words.
#[uniffi::export]
pub fn labels(language: Language) -> Result<Vec<CodeLabel>> {
    guard(|| {
        Ok(anxin_core::labels::labels(language.into())
            .into_iter()
            .map(|l| CodeLabel {
                vocabulary: l.vocabulary.as_str().to_string(),
                code: l.code,
                text: l.text,
            })
            .collect())
    })
}

/// The word for one code of one vocabulary (`tier`, `reason`, `tag`…) in
/// `language`; the code itself when it has none (a custom tag). A triage
/// reason may be a tag's code: look it up under `reason`, then `tag`.
#[uniffi::export]
pub fn label(vocabulary: String, code: String, language: Language) -> Result<String> {
    guard(|| {
        let vocabulary = anxin_core::labels::Vocabulary::ALL
            .into_iter()
            .find(|v| v.as_str() == vocabulary)
            .ok_or_else(|| {
                AnxinError::invalid(
                    "vocabulary",
                    "unknown_value",
                    "not a vocabulary Anxin labels",
                )
            })?;
        Ok(anxin_core::labels::word(vocabulary, &code, language.into()))
    })
}

/// The language of a platform tag as it comes (`Locale.toLanguageTag()`,
/// `Locale.current.identifier`): `zh-Hans-CN`, `zh_Hant_TW`, `zh-HK`, `en-US`…
/// `InvalidInput` for a language Anxin has no texts in.
#[uniffi::export]
pub fn language_from_tag(tag: String) -> Result<Language> {
    guard(|| Ok(anxin_core::screening::Language::parse(&tag)?.into()))
}

/// The vulnerability tags Anxin knows (and labels): `elderly_alone`,
/// `chronic_illness`, … A deployment may use others (they show their code).
#[uniffi::export]
pub fn known_tags() -> Vec<String> {
    anxin_core::model::VulnerabilityTag::KNOWN
        .iter()
        .map(|t| t.to_string())
        .collect()
}

/// The SDK's version.
#[uniffi::export]
pub fn anxin_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

#[cfg(test)]
mod tests;

/// Scopes as hosts spell them (`station`, `grid:<id>`, `case:<team>`):
/// a misspelt one is `AnxinError::InvalidInput`, before anything is touched.
fn parse_scopes(scopes: &[String]) -> Result<Vec<anxin_core::model::Scope>> {
    Ok(scopes
        .iter()
        .map(|s| anxin_core::model::Scope::parse(s))
        .collect::<std::result::Result<Vec<_>, _>>()?)
}
