//! The domain operations an app or the command line calls: set up a station,
//! its communities and grids, workers and rosters, households, residents,
//! canvass visits and activities. Each is one write (one transaction) built
//! on [`Store::put`], and validates its input before anything is written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Batch, Store, StoreError};
use crate::access::{self, Act};
use crate::doc::Author;
use crate::model::*;

/// A resident to add to a household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewResident {
    /// Their name.
    pub name: String,
    /// Their sex.
    pub sex: Sex,
    /// Year of birth.
    pub birth_year: u32,
    /// Phone; may be empty.
    pub phone: String,
    /// Vulnerability tags.
    pub tags: Vec<VulnerabilityTag>,
}

/// A worker to register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewWorker {
    /// Their name.
    pub name: String,
    /// Phone; may be empty.
    pub phone: String,
    /// Their role.
    pub role: Role,
    /// Their grid, if any.
    pub grid_id: Option<GridId>,
    /// Skills (lower-case snake_case words).
    pub skills: Vec<String>,
}

/// A canvass visit to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewVisit {
    /// When it took place.
    pub at: Millis,
    /// The needs found.
    pub needs: Vec<Need>,
    /// Free notes.
    pub notes: String,
}

/// An activity to schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewActivity {
    /// What kind.
    pub kind: ActivityKind,
    /// Its title (for a supervision session: the topics, never case
    /// content).
    pub title: String,
    /// Its grid, or none for the whole station.
    pub grid_id: Option<GridId>,
    /// When it starts.
    pub starts_at: Millis,
    /// How long, in minutes.
    pub duration_minutes: u32,
    /// Who runs it (for supervision: the supervisor); none = the acting
    /// worker.
    #[serde(default)]
    pub facilitator: Option<WorkerId>,
}

/// Changes to a worker's profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerUpdate {
    /// A new name.
    pub name: Option<String>,
    /// A new phone (empty to clear).
    pub phone: Option<String>,
    /// The skills, replacing the old ones.
    pub skills: Option<Vec<String>>,
    /// The grid: `Some(None)` for none (station staff).
    pub grid_id: Option<Option<GridId>>,
}

/// Changes to a resident; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResidentUpdate {
    /// A new name.
    pub name: Option<String>,
    /// Sex.
    pub sex: Option<Sex>,
    /// Year of birth.
    pub birth_year: Option<u32>,
    /// Phone (empty to clear).
    pub phone: Option<String>,
}

/// A completed training (培训) to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTraining {
    /// The course, e.g. "心理急救（PFA）基础".
    pub course: String,
    /// What it qualifies for (`psychological_first_aid`), or empty.
    pub topic: String,
    /// Who gave it; may be empty.
    pub trainer: String,
    /// When it was completed.
    pub completed_at: Millis,
    /// Hours, in tenths of an hour.
    pub tenths_of_hours: u32,
}

fn not_found(kind: &'static str, id: &str) -> StoreError {
    StoreError::NotFound {
        kind,
        id: id.to_string(),
    }
}

impl Batch<'_> {
    fn station_id(&self) -> Result<String, StoreError> {
        use rusqlite::OptionalExtension;
        self.tx
            .prepare_cached("SELECT value FROM meta WHERE key = 'station_id'")?
            .query_row([], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NotInitialised)
    }

    /// The station, as this write sees it.
    pub fn station(&self) -> Result<Station, StoreError> {
        let id = self.station_id()?;
        self.get::<Station>(&id)
    }

    fn require_grid(&self, grid: &GridId) -> Result<(), StoreError> {
        if self.station()?.grid(grid).is_none() {
            return Err(ValidationError::new("grid_id", Violation::NoSuchEntity).into());
        }
        Ok(())
    }

    /// A grid that can take new households: it exists and is not retired.
    fn require_open_grid(&self, grid: &GridId) -> Result<(), StoreError> {
        match self.station()?.grid(grid) {
            None => Err(ValidationError::new("grid_id", Violation::NoSuchEntity).into()),
            Some(g) if g.retired => Err(ValidationError::new(
                "grid_id",
                Violation::Inconsistent("the grid is retired and takes no new households"),
            )
            .into()),
            Some(_) => Ok(()),
        }
    }

    /// Checks that `author` may do `act` (see [`crate::access`]); returns the
    /// acting worker's profile when a worker acts.
    pub fn require(&self, author: &Author, act: Act) -> Result<Option<Worker>, StoreError> {
        let worker = match author.worker() {
            Some(w) => Some(self.get::<Worker>(w.as_str())?),
            None => None,
        };
        access::authorize(author, worker.as_ref(), act)?;
        Ok(worker)
    }

    fn station_put(
        &mut self,
        author: &Author,
        action: &str,
        mutate: impl FnOnce(&mut Station) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let id = self.station_id()?;
        self.put::<Station>(author, action, &id, |s| {
            let mut s = s.ok_or(StoreError::NotInitialised)?;
            mutate(&mut s)?;
            Ok(s)
        })?;
        Ok(())
    }

    /// The ids of every worker of the station.
    fn worker_ids(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT id FROM idx_worker ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// The worker with this phone number, if any (imports match on it).
    pub fn worker_by_phone(&self, phone: &str) -> Result<Option<Worker>, StoreError> {
        let phone = phone.trim();
        if phone.is_empty() {
            return Ok(None);
        }
        for id in self.worker_ids()? {
            let w = self.get::<Worker>(&id)?;
            if w.phone == phone {
                return Ok(Some(w));
            }
        }
        Ok(None)
    }

    /// See [`People::add_worker`].
    pub fn add_worker(&mut self, author: &Author, new: NewWorker) -> Result<WorkerId, StoreError> {
        self.require(author, Act::ManagePeople)?;
        if let Some(g) = &new.grid_id {
            if self.station()?.grid(g).is_none() {
                return Err(ValidationError::new("worker.grid_id", Violation::NoSuchEntity).into());
            }
        }
        if self.worker_by_phone(&new.phone)?.is_some() {
            return Err(ValidationError::new("worker.phone", Violation::Duplicate).into());
        }
        self.insert_worker(author, new)
    }

    /// The phone numbers of the station's workers (imports match on them).
    pub fn worker_phones(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut phones = std::collections::BTreeSet::new();
        for id in self.worker_ids()? {
            let w = self.get::<Worker>(&id)?;
            if !w.phone.is_empty() {
                phones.insert(w.phone);
            }
        }
        Ok(phones)
    }

    /// Writes a new worker whose grid and phone the caller has checked.
    pub(super) fn insert_worker(
        &mut self,
        author: &Author,
        new: NewWorker,
    ) -> Result<WorkerId, StoreError> {
        let id = WorkerId::random();
        self.put::<Worker>(author, "worker.create", id.as_str(), |_| {
            Ok(Worker {
                id: id.clone(),
                name: new.name.trim().to_string(),
                phone: new.phone.trim().to_string(),
                role: new.role,
                grid_id: new.grid_id,
                skills: new.skills.into_iter().collect(),
                training: BTreeMap::new(),
                active: true,
                hours: BTreeMap::new(),
            })
        })?;
        Ok(id)
    }

    /// Refuses `action` when `worker` is the station's last active admin:
    /// someone must always be able to run the station.
    fn keep_an_admin(
        &self,
        worker: &WorkerId,
        action: crate::refusal::Deed,
    ) -> Result<(), StoreError> {
        let current = self.get::<Worker>(worker.as_str())?;
        if current.role != Role::StationAdmin || !current.active {
            return Ok(());
        }
        let others: i64 = self.tx.prepare_cached(
            "SELECT count(*) FROM idx_worker WHERE role = 'station_admin' AND active = 1 AND id != ?1")?
.query_row(
            [worker.as_str()],
            |r| r.get(0),
        )?;
        if others == 0 {
            return Err(crate::dispatch::DispatchError::PermissionDenied {
                action,
                reason: crate::refusal::Rule::LastAdminStays,
            }
            .into());
        }
        Ok(())
    }

    fn put_worker(
        &mut self,
        author: &Author,
        action: &str,
        worker: &WorkerId,
        mutate: impl FnOnce(&mut Worker) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.put::<Worker>(author, action, worker.as_str(), |w| {
            let mut w = w.ok_or_else(|| not_found("worker", worker.as_str()))?;
            mutate(&mut w)?;
            Ok(w)
        })?;
        Ok(())
    }

    /// See [`Households::add_resident`].
    pub fn add_resident(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        new: NewResident,
    ) -> Result<ResidentId, StoreError> {
        self.require(author, Act::RecordHouseholds)?;
        let id = ResidentId::random();
        self.put::<Household>(author, "household.add_resident", household.as_str(), |h| {
            let mut h = h.ok_or_else(|| not_found("household", household.as_str()))?;
            h.members.insert(
                id.to_string(),
                Resident {
                    id: id.clone(),
                    name: new.name.trim().to_string(),
                    sex: new.sex,
                    birth_year: new.birth_year,
                    phone: new.phone.trim().to_string(),
                    tags: new.tags.into_iter().collect(),
                },
            );
            Ok(h)
        })?;
        Ok(id)
    }

    /// See [`Households::add_household`].
    pub fn add_household(
        &mut self,
        author: &Author,
        grid: &GridId,
        address: Address,
    ) -> Result<HouseholdId, StoreError> {
        self.require(author, Act::RecordHouseholds)?;
        self.require_open_grid(grid)?;
        let id = HouseholdId::random();
        self.add_household_with_id(author, id.clone(), grid, address, Vec::new())?;
        Ok(id)
    }

    /// Creates a household with a given id and members (fixtures, imports).
    pub fn add_household_with_id(
        &mut self,
        author: &Author,
        id: HouseholdId,
        grid: &GridId,
        address: Address,
        members: Vec<Resident>,
    ) -> Result<(), StoreError> {
        self.require_grid(grid)?;
        let now = self.now;
        self.put::<Household>(author, "household.create", id.as_str(), |existing| {
            if existing.is_some() {
                return Err(ValidationError::new("household.id", Violation::Duplicate).into());
            }
            Ok(Household {
                id: id.clone(),
                grid_id: grid.clone(),
                address,
                members: members.into_iter().map(|m| (m.id.to_string(), m)).collect(),
                visits: BTreeMap::new(),
                created_at: now,
            })
        })?;
        Ok(())
    }
}

impl Store {
    /// Changes one grid of the station document. Station admins only.
    fn put_grid(
        &mut self,
        author: &Author,
        action: &str,
        grid: &GridId,
        mutate: impl FnOnce(&mut Grid),
    ) -> Result<(), StoreError> {
        self.batch(|b| {
            b.require(author, Act::ManagePlaces)?;
            b.station_put(author, action, |s| {
                let g = s
                    .grids
                    .get_mut(grid.as_str())
                    .ok_or_else(|| not_found("grid", grid.as_str()))?;
                mutate(g);
                Ok(())
            })
        })
    }

    fn put_roster(
        &mut self,
        author: &Author,
        action: &str,
        grid: &GridId,
        mutate: impl FnOnce(&mut Roster, Millis) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let roster = self.people().roster_of(grid)?;
        self.batch(|b| {
            b.require(author, Act::ManageRosters)?;
            let now = b.now();
            b.put::<Roster>(author, action, roster.id.as_str(), |r| {
                let mut r = r.ok_or_else(|| not_found("roster", grid.as_str()))?;
                mutate(&mut r, now)?;
                Ok(r)
            })?;
            Ok(())
        })
    }
}

impl super::Setup<&mut Store> {
    /// Sets up this store for a new station. Fails if it already has one.
    pub fn init_station(&mut self, name: &str) -> Result<Station, StoreError> {
        if self.store.meta("station_id")?.is_some() {
            return Err(StoreError::AlreadyInitialised);
        }
        let station = Station::new(name, now_millis())?;
        self.store.batch(|b| {
            b.make_station_key(station.id.as_str())?;
            let s = station.clone();
            b.put::<Station>(
                &Author::System,
                "station.create",
                station.id.as_str(),
                |_| Ok(s),
            )?;
            b.set_meta("station_id", station.id.as_str())
        })?;
        Ok(station)
    }

    /// Sets the language people at the station read and its time zone
    /// (IANA); `None` leaves one as it is. Station admins only.
    pub fn set_station_settings(
        &mut self,
        author: &Author,
        language: Option<crate::screening::Language>,
        time_zone: Option<&str>,
    ) -> Result<Station, StoreError> {
        if let Some(zone) = time_zone {
            crate::localtime::LocalTime::new(zone)?;
        }
        self.store.batch(|b| {
            // The station's settings are the administrator's, as its places.
            b.require(author, Act::ManagePlaces)?;
            b.station_put(author, "station.settings", |s| {
                if let Some(l) = language {
                    s.language = l.tag().to_string();
                }
                if let Some(zone) = time_zone {
                    s.time_zone = zone.trim().to_string();
                }
                Ok(())
            })
        })?;
        self.store.station()
    }

    /// Adds a community to the station. Station admins only.
    pub fn add_community(
        &mut self,
        author: &Author,
        name: &str,
    ) -> Result<CommunityId, StoreError> {
        let id = CommunityId::random();
        self.store.batch(|b| {
            b.require(author, Act::ManagePlaces)?;
            b.station_put(author, "station.add_community", |s| {
                if s.communities.values().any(|c| c.name == name.trim()) {
                    return Err(ValidationError::new("community.name", Violation::Duplicate).into());
                }
                s.communities.insert(
                    id.to_string(),
                    Community {
                        id: id.clone(),
                        name: name.trim().to_string(),
                    },
                );
                Ok(())
            })
        })?;
        Ok(id)
    }

    /// Renames a grid. Station admins only.
    pub fn rename_grid(
        &mut self,
        author: &Author,
        grid: &GridId,
        name: &str,
    ) -> Result<(), StoreError> {
        self.store
            .put_grid(author, "station.rename_grid", grid, |g| {
                g.name = name.trim().to_string()
            })
    }

    /// Retires a grid: it keeps its households, orders and history, and
    /// takes no new households. Station admins only.
    pub fn retire_grid(&mut self, author: &Author, grid: &GridId) -> Result<(), StoreError> {
        self.store
            .put_grid(author, "station.retire_grid", grid, |g| g.retired = true)
    }

    /// Adds a grid to a community, with an empty roster. Station admins only.
    pub fn add_grid(
        &mut self,
        author: &Author,
        community: &CommunityId,
        name: &str,
    ) -> Result<GridId, StoreError> {
        let id = GridId::random();
        self.store.batch(|b| {
            b.require(author, Act::ManagePlaces)?;
            b.station_put(author, "station.add_grid", |s| {
                if !s.communities.contains_key(community.as_str()) {
                    return Err(
                        ValidationError::new("community_id", Violation::NoSuchEntity).into(),
                    );
                }
                if s.grids
                    .values()
                    .any(|g| g.community_id == *community && g.name == name.trim())
                {
                    return Err(ValidationError::new("grid.name", Violation::Duplicate).into());
                }
                s.grids.insert(
                    id.to_string(),
                    Grid {
                        id: id.clone(),
                        community_id: community.clone(),
                        name: name.trim().to_string(),
                        retired: false,
                    },
                );
                Ok(())
            })?;
            let roster = RosterId::random();
            b.put::<Roster>(author, "roster.create", roster.as_str(), |_| {
                Ok(Roster {
                    id: roster.clone(),
                    grid_id: id.clone(),
                    assignments: BTreeMap::new(),
                    contact_card: ContactCard::default(),
                })
            })
        })?;
        Ok(id)
    }
}

impl<S: std::ops::Deref<Target = Store>> super::People<S> {
    /// The roster document of a grid.
    pub fn roster_of(&self, grid: &GridId) -> Result<Roster, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT id FROM docs WHERE kind = 'roster' AND scope = ?1 ORDER BY id",
        )?;
        let ids: Vec<String> = stmt
            .query_map([format!("grid:{grid}")], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let id = ids
            .first()
            .ok_or_else(|| not_found("roster", grid.as_str()))?;
        self.store.get::<Roster>(id)
    }
}

impl super::People<&mut Store> {
    /// A new station's first administrator, created by the device itself:
    /// refused once the station has an active station admin (from then on
    /// an admin adds workers).
    pub fn add_first_admin(&mut self, name: &str, phone: &str) -> Result<WorkerId, StoreError> {
        self.store.batch(|b| {
            let admins: i64 =
                b.tx.prepare_cached(
                    "SELECT count(*) FROM idx_worker WHERE role = 'station_admin' AND active = 1",
                )?
                .query_row([], |r| r.get(0))?;
            if admins > 0 {
                return Err(crate::dispatch::DispatchError::PermissionDenied {
                    action: crate::refusal::Deed::CreateFirstAdmin,
                    reason: crate::refusal::Rule::StationHasAdmin,
                }
                .into());
            }
            b.add_worker(
                &Author::System,
                NewWorker {
                    name: name.to_string(),
                    phone: phone.to_string(),
                    role: Role::StationAdmin,
                    grid_id: None,
                    skills: Vec::new(),
                },
            )
        })
    }

    /// Registers a worker. Station admins only; a phone number already
    /// used by another worker is refused.
    pub fn add_worker(&mut self, author: &Author, new: NewWorker) -> Result<WorkerId, StoreError> {
        self.store.batch(|b| b.add_worker(author, new))
    }

    /// Changes a worker's name, phone, skills or grid. Station admins only.
    pub fn update_worker(
        &mut self,
        author: &Author,
        worker: &WorkerId,
        update: WorkerUpdate,
    ) -> Result<(), StoreError> {
        self.store.batch(|b| {
            b.require(author, Act::ManagePeople)?;
            if let Some(Some(g)) = &update.grid_id {
                b.require_grid(g)?;
            }
            if let Some(phone) = &update.phone {
                if b.worker_by_phone(phone)?.is_some_and(|w| w.id != *worker) {
                    return Err(ValidationError::new("worker.phone", Violation::Duplicate).into());
                }
            }
            b.put_worker(author, "worker.update", worker, |w| {
                if let Some(name) = update.name {
                    w.name = name.trim().to_string();
                }
                if let Some(phone) = update.phone {
                    w.phone = phone.trim().to_string();
                }
                if let Some(skills) = update.skills {
                    w.skills = skills.into_iter().collect();
                }
                if let Some(grid) = update.grid_id {
                    w.grid_id = grid;
                }
                Ok(())
            })
        })
    }

    /// Changes a worker's role. Station admins only; the station's last
    /// active admin keeps the role (someone must be able to run it).
    pub fn set_worker_role(
        &mut self,
        author: &Author,
        worker: &WorkerId,
        role: Role,
    ) -> Result<(), StoreError> {
        self.store.batch(|b| {
            b.require(author, Act::ManagePeople)?;
            if role != Role::StationAdmin {
                b.keep_an_admin(worker, crate::refusal::Deed::ChangeRole)?;
            }
            b.put_worker(author, "worker.set_role", worker, |w| {
                w.role = role;
                Ok(())
            })
        })
    }

    /// Deactivates a worker: their history and hours stay; they can no
    /// longer be dispatched to or act. Station admins only; not the last
    /// active admin.
    pub fn deactivate_worker(
        &mut self,
        author: &Author,
        worker: &WorkerId,
    ) -> Result<(), StoreError> {
        self.store.batch(|b| {
            b.require(author, Act::ManagePeople)?;
            b.keep_an_admin(worker, crate::refusal::Deed::DeactivateWorker)?;
            b.put_worker(author, "worker.deactivate", worker, |w| {
                w.active = false;
                Ok(())
            })
        })
    }

    /// Records a completed training (培训) for a worker. Station admins only.
    /// A training whose topic is `psychological_first_aid` qualifies the
    /// worker for psychological support orders.
    pub fn add_training(
        &mut self,
        author: &Author,
        worker: &WorkerId,
        training: NewTraining,
    ) -> Result<TrainingId, StoreError> {
        let id = TrainingId::random();
        self.store.batch(|b| {
            b.require(author, Act::ManagePeople)?;
            b.put_worker(author, "worker.add_training", worker, |w| {
                w.training.insert(
                    id.to_string(),
                    TrainingRecord {
                        id: id.clone(),
                        course: training.course.trim().to_string(),
                        completed_at: training.completed_at,
                        tenths_of_hours: training.tenths_of_hours,
                        trainer: training.trainer.trim().to_string(),
                        topic: training.topic.trim().to_string(),
                    },
                );
                Ok(())
            })
        })?;
        Ok(id)
    }

    /// Assigns a worker to a grid's roster. Station admins only. Naming a
    /// lead makes the grid's former lead a member: a grid has one lead.
    pub fn assign_to_grid(
        &mut self,
        author: &Author,
        grid: &GridId,
        worker: &WorkerId,
        role: RosterRole,
    ) -> Result<(), StoreError> {
        let w = self.store.get::<Worker>(worker.as_str())?;
        if !w.active {
            return Err(crate::dispatch::DispatchError::PermissionDenied {
                action: crate::refusal::Deed::AssignWorker,
                reason: crate::refusal::Rule::WorkerNotActive,
            }
            .into());
        }
        self.store
            .put_roster(author, "roster.assign", grid, |r, now| {
                if role == RosterRole::Lead {
                    for a in r.assignments.values_mut() {
                        if a.role == RosterRole::Lead && a.worker_id != *worker {
                            a.role = RosterRole::Member;
                        }
                    }
                }
                let since = r.assignments.get(worker.as_str()).map_or(now, |a| a.since);
                r.assignments.insert(
                    worker.to_string(),
                    Assignment {
                        worker_id: worker.clone(),
                        role,
                        since,
                    },
                );
                Ok(())
            })
    }

    /// Takes a worker off a grid's roster. Station admins only.
    pub fn unassign_from_grid(
        &mut self,
        author: &Author,
        grid: &GridId,
        worker: &WorkerId,
    ) -> Result<(), StoreError> {
        self.store
            .put_roster(author, "roster.unassign", grid, |r, _| {
                r.assignments
                    .remove(worker.as_str())
                    .map(|_| ())
                    .ok_or_else(|| not_found("assignment", worker.as_str()))
            })
    }

    /// Sets the contact card residents of a grid are given. Station admins
    /// only.
    pub fn set_contact_card(
        &mut self,
        author: &Author,
        grid: &GridId,
        card: ContactCard,
    ) -> Result<(), StoreError> {
        self.store
            .put_roster(author, "roster.set_contact_card", grid, |r, _| {
                r.contact_card = card;
                Ok(())
            })
    }
}

impl super::Households<&mut Store> {
    /// Records a new household in a grid.
    pub fn add_household(
        &mut self,
        author: &Author,
        grid: &GridId,
        address: Address,
    ) -> Result<HouseholdId, StoreError> {
        self.store.batch(|b| b.add_household(author, grid, address))
    }

    /// Moves a household to another grid, with its orders: their documents
    /// change scope, and the move is recorded in the station document so
    /// devices of the old grid hand their copies on and purge them (see
    /// `sync`). Coordinators only.
    pub fn move_household(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        to: &GridId,
    ) -> Result<(), StoreError> {
        let orders: Vec<String> = {
            let mut stmt = self
                .store
                .conn
                .prepare_cached("SELECT id FROM idx_request WHERE household_id = ?1 ORDER BY id")?;
            let rows = stmt
                .query_map([household.as_str()], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            rows
        };
        self.store.batch(|b| {
            if author.worker().is_none() {
                return Err(crate::dispatch::DispatchError::PermissionDenied {
                    action: crate::refusal::Deed::MoveHousehold,
                    reason: crate::refusal::Rule::OnlyCoordinator,
                }
                .into());
            }
            b.require(author, Act::MoveHouseholds)?;
            b.require_open_grid(to)?;
            let current = b.get::<Household>(household.as_str())?;
            if current.grid_id == *to {
                return Ok(());
            }
            let from = current.grid_id.clone();
            let at = b.now();
            b.put::<Household>(author, "household.move", household.as_str(), |h| {
                let mut h = h.ok_or_else(|| not_found("household", household.as_str()))?;
                h.grid_id = to.clone();
                Ok(h)
            })?;
            for id in &orders {
                b.put::<Request>(author, "order.move", id, |r| {
                    let mut r = r.ok_or_else(|| not_found("request", id))?;
                    r.grid_id = to.clone();
                    Ok(r)
                })?;
            }
            let station = b.station()?;
            b.put::<Station>(author, "station.record_move", station.id.as_str(), |s| {
                let mut s = s.ok_or(StoreError::NotInitialised)?;
                s.moves.insert(
                    household.to_string(),
                    Move {
                        from_grid: from,
                        to_grid: to.clone(),
                        at,
                    },
                );
                Ok(s)
            })?;
            Ok(())
        })
    }

    /// Adds a resident to a household. Any active worker.
    pub fn add_resident(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        new: NewResident,
    ) -> Result<ResidentId, StoreError> {
        self.store.batch(|b| b.add_resident(author, household, new))
    }

    /// Changes a resident's name, sex, year of birth or phone. Any active
    /// worker.
    pub fn update_resident(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        resident: &ResidentId,
        update: ResidentUpdate,
    ) -> Result<(), StoreError> {
        self.store.batch(|b| {
            b.require(author, Act::RecordHouseholds)?;
            b.put::<Household>(
                author,
                "household.update_resident",
                household.as_str(),
                |h| {
                    let mut h = h.ok_or_else(|| not_found("household", household.as_str()))?;
                    let m = h
                        .members
                        .get_mut(resident.as_str())
                        .ok_or_else(|| not_found("resident", resident.as_str()))?;
                    if let Some(name) = update.name {
                        m.name = name.trim().to_string();
                    }
                    if let Some(sex) = update.sex {
                        m.sex = sex;
                    }
                    if let Some(year) = update.birth_year {
                        m.birth_year = year;
                    }
                    if let Some(phone) = update.phone {
                        m.phone = phone.trim().to_string();
                    }
                    Ok(h)
                },
            )?;
            Ok(())
        })
    }

    /// Adds or removes a vulnerability tag on a resident. Any active worker.
    pub fn set_resident_tag(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        resident: &ResidentId,
        tag: VulnerabilityTag,
        present: bool,
    ) -> Result<(), StoreError> {
        self.store
            .batch(|b| b.require(author, Act::RecordHouseholds).map(|_| ()))?;
        self.store
            .put::<Household>(author, "household.set_tag", household.as_str(), |h| {
                let mut h = h.ok_or_else(|| not_found("household", household.as_str()))?;
                let m = h
                    .members
                    .get_mut(resident.as_str())
                    .ok_or_else(|| not_found("resident", resident.as_str()))?;
                if present {
                    m.tags.0.insert(tag);
                } else {
                    m.tags.0.remove(&tag);
                }
                Ok(h)
            })?;
        Ok(())
    }

    /// Records a canvass visit made by the acting worker.
    pub fn record_visit(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        visit: NewVisit,
    ) -> Result<VisitId, StoreError> {
        let worker = author
            .worker()
            .cloned()
            .ok_or_else(|| ValidationError::new("visit.worker_id", Violation::Required))?;
        self.store
            .batch(|b| b.require(author, Act::RecordHouseholds).map(|_| ()))?;
        let id = VisitId::random();
        self.store
            .put::<Household>(author, "household.record_visit", household.as_str(), |h| {
                let mut h = h.ok_or_else(|| not_found("household", household.as_str()))?;
                h.visits.insert(
                    id.to_string(),
                    CanvassVisit {
                        id: id.clone(),
                        worker_id: worker,
                        at: visit.at,
                        needs: visit.needs,
                        notes: visit.notes,
                    },
                );
                Ok(h)
            })?;
        Ok(id)
    }
}

impl<S: std::ops::Deref<Target = Store>> super::Orders<S> {
    /// Activities starting in `[from, to)`, soonest first; optionally of
    /// one grid (station-wide ones included).
    pub fn activities(
        &self,
        grid: Option<&GridId>,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<Activity>, StoreError> {
        let mut stmt = self.store.conn.prepare_cached(
            "SELECT id FROM idx_activity WHERE starts_at >= ?1 AND starts_at < ?2 \
             AND (?3 IS NULL OR grid_id IS NULL OR grid_id = ?3) ORDER BY starts_at, id",
        )?;
        let ids: Vec<String> = stmt
            .query_map(rusqlite::params![from, to, grid.map(|g| g.as_str())], |r| {
                r.get(0)
            })?
            .collect::<Result<_, _>>()?;
        ids.iter()
            .map(|id| self.store.get::<Activity>(id))
            .collect()
    }
}

impl super::Orders<&mut Store> {
    /// Schedules an activity (文化活动, 团体辅导, 科普讲座, training) or a
    /// supervision session (督导), run by its facilitator (by default the
    /// acting worker). Coordinators only.
    pub fn add_activity(
        &mut self,
        author: &Author,
        new: NewActivity,
    ) -> Result<ActivityId, StoreError> {
        self.store
            .batch(|b| b.require(author, Act::ManageActivities).map(|_| ()))?;
        let facilitator = new
            .facilitator
            .clone()
            .or_else(|| author.worker().cloned())
            .ok_or_else(|| ValidationError::new("activity.facilitator_id", Violation::Required))?;
        let f = self.store.get::<Worker>(facilitator.as_str())?;
        if !f.active {
            return Err(ValidationError::new(
                "activity.facilitator_id",
                Violation::Inconsistent("the facilitator is not active"),
            )
            .into());
        }
        if let Some(g) = &new.grid_id {
            if self.store.station()?.grid(g).is_none() {
                return Err(
                    ValidationError::new("activity.grid_id", Violation::NoSuchEntity).into(),
                );
            }
        }
        let id = ActivityId::random();
        self.store
            .put::<Activity>(author, "activity.create", id.as_str(), |_| {
                Ok(Activity {
                    id: id.clone(),
                    kind: new.kind,
                    title: new.title.trim().to_string(),
                    grid_id: new.grid_id,
                    starts_at: new.starts_at,
                    duration_minutes: new.duration_minutes,
                    facilitator_id: facilitator,
                    attendance: BTreeMap::new(),
                })
            })?;
        Ok(id)
    }

    /// Records whether a worker or resident attended an activity.
    pub fn record_attendance(
        &mut self,
        author: &Author,
        activity: &ActivityId,
        person_id: &str,
        kind: AttendeeKind,
        present: bool,
    ) -> Result<(), StoreError> {
        if uuid::Uuid::parse_str(person_id).is_err() {
            return Err(ValidationError::new("attendance.person_id", Violation::NotAnId).into());
        }
        // The facilitator takes attendance at their own activity; otherwise a
        // coordinator does.
        let current = self.store.get::<Activity>(activity.as_str())?;
        if author.worker() != Some(&current.facilitator_id) {
            self.store
                .batch(|b| b.require(author, Act::ManageActivities).map(|_| ()))?;
        }
        match kind {
            AttendeeKind::Worker => {
                self.store.get::<Worker>(person_id)?;
            }
            // A resident's id is checked for shape only: their household
            // may be of a grid this device does not hold.
            AttendeeKind::Resident => {}
        }
        self.store
            .put::<Activity>(author, "activity.attendance", activity.as_str(), |a| {
                let mut a = a.ok_or_else(|| not_found("activity", activity.as_str()))?;
                a.attendance
                    .insert(person_id.to_string(), Attendance { kind, present });
                Ok(a)
            })?;
        Ok(())
    }
}
