//! The domain operations an app or the command line calls: set up a station,
//! its communities and grids, workers and rosters, households, residents,
//! canvass visits and activities. Each is one write (one transaction) built
//! on [`Store::put`], and validates its input before anything is written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Batch, Store, StoreError};
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
    /// Its title.
    pub title: String,
    /// Its grid, or none for the whole station.
    pub grid_id: Option<GridId>,
    /// When it starts.
    pub starts_at: Millis,
    /// How long, in minutes.
    pub duration_minutes: u32,
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
            .query_row("SELECT value FROM meta WHERE key = 'station_id'", [], |r| {
                r.get(0)
            })
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

    /// See [`Store::add_household`].
    pub fn add_household(
        &mut self,
        author: &Author,
        grid: &GridId,
        address: Address,
    ) -> Result<HouseholdId, StoreError> {
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
    /// Sets up this store for a new station. Fails if it already has one.
    pub fn init_station(&mut self, name: &str) -> Result<Station, StoreError> {
        if self.meta("station_id")?.is_some() {
            return Err(StoreError::AlreadyInitialised);
        }
        let station = Station::new(name, now_millis())?;
        self.batch(|b| {
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

    /// Adds a community to the station.
    pub fn add_community(
        &mut self,
        author: &Author,
        name: &str,
    ) -> Result<CommunityId, StoreError> {
        let id = CommunityId::random();
        let station = self.meta("station_id")?.ok_or(StoreError::NotInitialised)?;
        self.put::<Station>(author, "station.add_community", &station, |s| {
            let mut s = s.ok_or(StoreError::NotInitialised)?;
            s.communities.insert(
                id.to_string(),
                Community {
                    id: id.clone(),
                    name: name.trim().to_string(),
                },
            );
            Ok(s)
        })?;
        Ok(id)
    }

    /// Adds a grid to a community, with an empty roster.
    pub fn add_grid(
        &mut self,
        author: &Author,
        community: &CommunityId,
        name: &str,
    ) -> Result<GridId, StoreError> {
        let id = GridId::random();
        let station = self.meta("station_id")?.ok_or(StoreError::NotInitialised)?;
        self.batch(|b| {
            b.put::<Station>(author, "station.add_grid", &station, |s| {
                let mut s = s.ok_or(StoreError::NotInitialised)?;
                if !s.communities.contains_key(community.as_str()) {
                    return Err(
                        ValidationError::new("community_id", Violation::NoSuchEntity).into(),
                    );
                }
                s.grids.insert(
                    id.to_string(),
                    Grid {
                        id: id.clone(),
                        community_id: community.clone(),
                        name: name.trim().to_string(),
                    },
                );
                Ok(s)
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

    /// The roster document of a grid.
    pub fn roster_of(&self, grid: &GridId) -> Result<Roster, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM docs WHERE kind = 'roster' AND scope = ?1 ORDER BY id",
        )?;
        let ids: Vec<String> = stmt
            .query_map([format!("grid:{grid}")], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let id = ids
            .first()
            .ok_or_else(|| not_found("roster", grid.as_str()))?;
        self.get::<Roster>(id)
    }

    /// Registers a worker.
    pub fn add_worker(&mut self, author: &Author, new: NewWorker) -> Result<WorkerId, StoreError> {
        let id = WorkerId::random();
        let station = self.station()?;
        if let Some(g) = &new.grid_id {
            if station.grid(g).is_none() {
                return Err(ValidationError::new("worker.grid_id", Violation::NoSuchEntity).into());
            }
        }
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

    /// Records a completed training for a worker.
    pub fn add_training(
        &mut self,
        author: &Author,
        worker: &WorkerId,
        course: &str,
        completed_at: Millis,
        tenths_of_hours: u32,
    ) -> Result<TrainingId, StoreError> {
        let id = TrainingId::random();
        self.put::<Worker>(author, "worker.add_training", worker.as_str(), |w| {
            let mut w = w.ok_or_else(|| not_found("worker", worker.as_str()))?;
            w.training.insert(
                id.to_string(),
                TrainingRecord {
                    id: id.clone(),
                    course: course.trim().to_string(),
                    completed_at,
                    tenths_of_hours,
                },
            );
            Ok(w)
        })?;
        Ok(id)
    }

    /// Assigns a worker to a grid's roster.
    pub fn assign_to_grid(
        &mut self,
        author: &Author,
        grid: &GridId,
        worker: &WorkerId,
        role: RosterRole,
    ) -> Result<(), StoreError> {
        self.get::<Worker>(worker.as_str())?;
        let roster = self.roster_of(grid)?;
        let now = now_millis();
        self.put::<Roster>(author, "roster.assign", roster.id.as_str(), |r| {
            let mut r = r.ok_or_else(|| not_found("roster", grid.as_str()))?;
            r.assignments.insert(
                worker.to_string(),
                Assignment {
                    worker_id: worker.clone(),
                    role,
                    since: now,
                },
            );
            Ok(r)
        })?;
        Ok(())
    }

    /// Sets the contact card residents of a grid are given.
    pub fn set_contact_card(
        &mut self,
        author: &Author,
        grid: &GridId,
        card: ContactCard,
    ) -> Result<(), StoreError> {
        let roster = self.roster_of(grid)?;
        self.put::<Roster>(author, "roster.set_contact_card", roster.id.as_str(), |r| {
            let mut r = r.ok_or_else(|| not_found("roster", grid.as_str()))?;
            r.contact_card = card;
            Ok(r)
        })?;
        Ok(())
    }

    /// Records a new household in a grid.
    pub fn add_household(
        &mut self,
        author: &Author,
        grid: &GridId,
        address: Address,
    ) -> Result<HouseholdId, StoreError> {
        self.batch(|b| b.add_household(author, grid, address))
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
                .conn
                .prepare("SELECT id FROM idx_request WHERE household_id = ?1 ORDER BY id")?;
            let rows = stmt
                .query_map([household.as_str()], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            rows
        };
        self.batch(|b| {
            let Author::Worker(w) = author else {
                return Err(crate::dispatch::DispatchError::PermissionDenied {
                    action: "move a household",
                    reason: "only a coordinator moves households",
                }
                .into());
            };
            if !crate::dispatch::is_coordinator(b.get::<Worker>(w.as_str())?.role) {
                return Err(crate::dispatch::DispatchError::PermissionDenied {
                    action: "move a household",
                    reason: "only a coordinator moves households",
                }
                .into());
            }
            b.require_grid(to)?;
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

    /// Adds a resident to a household.
    pub fn add_resident(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        new: NewResident,
    ) -> Result<ResidentId, StoreError> {
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

    /// Adds or removes a vulnerability tag on a resident.
    pub fn set_resident_tag(
        &mut self,
        author: &Author,
        household: &HouseholdId,
        resident: &ResidentId,
        tag: VulnerabilityTag,
        present: bool,
    ) -> Result<(), StoreError> {
        self.put::<Household>(author, "household.set_tag", household.as_str(), |h| {
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
        let id = VisitId::random();
        self.put::<Household>(author, "household.record_visit", household.as_str(), |h| {
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

    /// Schedules an activity run by the acting worker.
    pub fn add_activity(
        &mut self,
        author: &Author,
        new: NewActivity,
    ) -> Result<ActivityId, StoreError> {
        let facilitator = author
            .worker()
            .cloned()
            .ok_or_else(|| ValidationError::new("activity.facilitator_id", Violation::Required))?;
        if let Some(g) = &new.grid_id {
            if self.station()?.grid(g).is_none() {
                return Err(
                    ValidationError::new("activity.grid_id", Violation::NoSuchEntity).into(),
                );
            }
        }
        let id = ActivityId::random();
        self.put::<Activity>(author, "activity.create", id.as_str(), |_| {
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
        self.put::<Activity>(author, "activity.attendance", activity.as_str(), |a| {
            let mut a = a.ok_or_else(|| not_found("activity", activity.as_str()))?;
            a.attendance
                .insert(person_id.to_string(), Attendance { kind, present });
            Ok(a)
        })?;
        Ok(())
    }
}
