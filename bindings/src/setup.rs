//! The coordinator's surface: setting up and running a station — the first
//! admin, communities and grids, workers and rosters, contact cards,
//! training, activities and attendance, hours and their acknowledgement.
//! Every method converts, calls core (where the role rules live), converts.

use anxin_core::model::*;
use anxin_core::store::{NewActivity, NewTraining, NewWorker, ResidentUpdate, WorkerUpdate};

use crate::error::{guard, AnxinError, Result};
use crate::groups::{Admin, Households, Orders};
use crate::parse;
use crate::records::WorkerRole;

/// A worker to register.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WorkerInput {
    /// Their name.
    pub name: String,
    /// Their mobile number (unique among the station's workers); may be empty.
    pub phone: String,
    /// Their role.
    pub role: WorkerRole,
    /// Their grid, if any.
    #[uniffi(default = None)]
    pub grid_id: Option<String>,
    /// Skill words (`psychological_first_aid`, `driving`, `nursing`).
    #[uniffi(default = [])]
    pub skills: Vec<String>,
}

/// Changes to a worker; a field left null stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct WorkerChanges {
    /// A new name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// A new phone.
    #[uniffi(default = None)]
    pub phone: Option<String>,
    /// The skills, replacing the old ones.
    #[uniffi(default = None)]
    pub skills: Option<Vec<String>>,
    /// A new grid.
    #[uniffi(default = None)]
    pub grid_id: Option<String>,
    /// Take the worker off any grid (station staff).
    #[uniffi(default = false)]
    pub clear_grid: bool,
}

/// Changes to a resident; a field left null stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct ResidentChanges {
    /// A new name.
    #[uniffi(default = None)]
    pub name: Option<String>,
    /// `female`, `male` or `unknown`.
    #[uniffi(default = None)]
    pub sex: Option<String>,
    /// Year of birth.
    #[uniffi(default = None)]
    pub birth_year: Option<u32>,
    /// Phone (empty to clear).
    #[uniffi(default = None)]
    pub phone: Option<String>,
}

/// A grid's contact card (网格志愿者联系卡).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ContactCardInfo {
    /// Who to call.
    pub name: String,
    /// Their phone.
    pub phone: String,
    /// When they answer, e.g. 8:00-20:00.
    pub hours: String,
}

/// One worker on a grid's roster.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RosterEntry {
    /// The worker.
    pub worker_id: String,
    /// Whether they lead the grid (网格长).
    pub lead: bool,
    /// Since when (ms since the epoch).
    pub since: i64,
}

/// A completed training (培训).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TrainingInput {
    /// The course.
    pub course: String,
    /// What it qualifies for, as a skill word (`psychological_first_aid`),
    /// or empty.
    pub topic: String,
    /// Who gave it; may be empty.
    pub trainer: String,
    /// When (ms since the epoch).
    pub completed_at: i64,
    /// Hours, in tenths.
    pub tenths_of_hours: u32,
}

/// An activity to schedule: `group_session` (团体辅导), `cultural_activity`
/// (文化活动), `lecture` (科普讲座), `training`, or `supervision` (督导: the
/// title names the topics, never case content).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ActivityInput {
    /// The kind (one of the words above).
    pub kind: String,
    /// The title.
    pub title: String,
    /// Its grid, or null for the whole station.
    #[uniffi(default = None)]
    pub grid_id: Option<String>,
    /// When it starts (ms since the epoch).
    pub starts_at: i64,
    /// How long, in minutes.
    pub duration_minutes: u32,
    /// Who runs it (the supervisor); null = the acting worker.
    #[uniffi(default = None)]
    pub facilitator_id: Option<String>,
}

/// An activity as listed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ActivityInfo {
    /// Its id.
    pub id: String,
    /// The kind.
    pub kind: String,
    /// The title.
    pub title: String,
    /// Its grid, if not station-wide.
    pub grid_id: Option<String>,
    /// When it starts.
    pub starts_at: i64,
    /// How long, in minutes.
    pub duration_minutes: u32,
    /// Who runs it.
    pub facilitator_id: String,
    /// How many came.
    pub present: u32,
}

/// One entry of a worker's hours ledger.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HoursEntryInfo {
    /// The entry (for `acknowledgeHours`).
    pub id: String,
    /// `order` or `activity`.
    pub source_kind: String,
    /// The order or activity.
    pub source_id: String,
    /// Minutes credited.
    pub minutes: u32,
    /// When.
    pub at: i64,
    /// How many acknowledged it (the resident served, a coordinator).
    pub acknowledgements: u32,
}

fn grid(text: &str, field: &'static str) -> Result<GridId> {
    parse(GridId::parse(text, field))
}

fn worker(text: &str, field: &'static str) -> Result<WorkerId> {
    parse(WorkerId::parse(text, field))
}

#[uniffi::export]
impl Admin {
    /// A new station's first administrator (before anyone can act):
    /// refused once the station has an admin. Returns the worker id to
    /// `actAs`.
    pub fn add_first_admin(&self, name: String, phone: String) -> Result<String> {
        guard(|| {
            let id = self
                .shared
                .store()?
                .people_mut()
                .add_first_admin(&name, &phone)?;
            Ok(id.to_string())
        })
    }

    /// Adds a community (社区). Station admins only.
    pub fn add_community(&self, name: String) -> Result<String> {
        guard(|| {
            let by = self.shared.author()?;
            let id = self.shared.store()?.setup_mut().add_community(&by, &name)?;
            Ok(id.to_string())
        })
    }

    /// Adds a grid (网格) to a community, with an empty roster. Station
    /// admins only.
    pub fn add_grid(&self, community_id: String, name: String) -> Result<String> {
        guard(|| {
            let by = self.shared.author()?;
            let c = parse(CommunityId::parse(&community_id, "community_id"))?;
            let id = self.shared.store()?.setup_mut().add_grid(&by, &c, &name)?;
            Ok(id.to_string())
        })
    }

    /// Renames a grid. Station admins only.
    pub fn rename_grid(&self, grid_id: String, name: String) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            self.shared.store()?.setup_mut().rename_grid(
                &by,
                &grid(&grid_id, "grid_id")?,
                &name,
            )?;
            Ok(())
        })
    }

    /// Retires a grid: history kept, no new households. Station admins only.
    pub fn retire_grid(&self, grid_id: String) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            self.shared
                .store()?
                .setup_mut()
                .retire_grid(&by, &grid(&grid_id, "grid_id")?)?;
            Ok(())
        })
    }

    /// Registers a worker. Station admins only.
    pub fn add_worker(&self, worker: WorkerInput) -> Result<String> {
        guard(|| {
            let by = self.shared.author()?;
            let grid_id = worker
                .grid_id
                .as_deref()
                .map(|g| grid(g, "grid_id"))
                .transpose()?;
            let id = self.shared.store()?.people_mut().add_worker(
                &by,
                NewWorker {
                    name: worker.name,
                    phone: worker.phone,
                    role: worker.role.into(),
                    grid_id,
                    skills: worker.skills,
                },
            )?;
            Ok(id.to_string())
        })
    }

    /// Changes a worker's name, phone, skills or grid. Station admins only.
    pub fn update_worker(&self, worker_id: String, changes: WorkerChanges) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            let grid_id = match (changes.grid_id.as_deref(), changes.clear_grid) {
                (Some(_), true) => {
                    return Err(AnxinError::invalid(
                        "grid_id",
                        "inconsistent",
                        "give a grid or clear it, not both",
                    ))
                }
                (Some(g), false) => Some(Some(grid(g, "grid_id")?)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let w = worker(&worker_id, "worker_id")?;
            self.shared.store()?.people_mut().update_worker(
                &by,
                &w,
                WorkerUpdate {
                    name: changes.name,
                    phone: changes.phone,
                    skills: changes.skills,
                    grid_id,
                },
            )?;
            Ok(())
        })
    }

    /// Changes a worker's role. Station admins only; the last admin stays.
    pub fn set_worker_role(&self, worker_id: String, role: WorkerRole) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            self.shared.store()?.people_mut().set_worker_role(
                &by,
                &worker(&worker_id, "worker_id")?,
                role.into(),
            )?;
            Ok(())
        })
    }

    /// Deactivates a worker: history and hours kept; they can no longer act
    /// or be dispatched to. Station admins only.
    pub fn deactivate_worker(&self, worker_id: String) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            self.shared
                .store()?
                .people_mut()
                .deactivate_worker(&by, &worker(&worker_id, "worker_id")?)?;
            Ok(())
        })
    }

    /// Puts a worker on a grid's roster, as its lead (the former lead stays
    /// a member) or a member. Station admins only.
    pub fn assign_to_grid(&self, grid_id: String, worker_id: String, lead: bool) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            let role = if lead {
                RosterRole::Lead
            } else {
                RosterRole::Member
            };
            let g = grid(&grid_id, "grid_id")?;
            self.shared.store()?.people_mut().assign_to_grid(
                &by,
                &g,
                &worker(&worker_id, "worker_id")?,
                role,
            )?;
            Ok(())
        })
    }

    /// Takes a worker off a grid's roster. Station admins only.
    pub fn unassign_from_grid(&self, grid_id: String, worker_id: String) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            let g = grid(&grid_id, "grid_id")?;
            self.shared.store()?.people_mut().unassign_from_grid(
                &by,
                &g,
                &worker(&worker_id, "worker_id")?,
            )?;
            Ok(())
        })
    }

    /// A grid's roster.
    pub fn roster(&self, grid_id: String) -> Result<Vec<RosterEntry>> {
        guard(|| {
            let r = self
                .shared
                .reader()?
                .people()
                .roster_of(&grid(&grid_id, "grid_id")?)?;
            Ok(r.assignments
                .values()
                .map(|a| RosterEntry {
                    worker_id: a.worker_id.to_string(),
                    lead: a.role == RosterRole::Lead,
                    since: a.since,
                })
                .collect())
        })
    }

    /// Sets a grid's contact card. Station admins only.
    pub fn set_contact_card(&self, grid_id: String, card: ContactCardInfo) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            let card = ContactCard {
                name: card.name,
                phone: card.phone,
                hours: card.hours,
            };
            self.shared.store()?.people_mut().set_contact_card(
                &by,
                &grid(&grid_id, "grid_id")?,
                card,
            )?;
            Ok(())
        })
    }

    /// A grid's contact card.
    pub fn contact_card(&self, grid_id: String) -> Result<ContactCardInfo> {
        guard(|| {
            let c = self
                .shared
                .reader()?
                .people()
                .roster_of(&grid(&grid_id, "grid_id")?)?
                .contact_card;
            Ok(ContactCardInfo {
                name: c.name,
                phone: c.phone,
                hours: c.hours,
            })
        })
    }

    /// Records a completed training. Station admins only. A training on
    /// `psychological_first_aid` qualifies for psychological support orders.
    pub fn add_training(&self, worker_id: String, training: TrainingInput) -> Result<String> {
        guard(|| {
            let by = self.shared.author()?;
            let id = self.shared.store()?.people_mut().add_training(
                &by,
                &worker(&worker_id, "worker_id")?,
                NewTraining {
                    course: training.course,
                    topic: training.topic,
                    trainer: training.trainer,
                    completed_at: training.completed_at,
                    tenths_of_hours: training.tenths_of_hours,
                },
            )?;
            Ok(id.to_string())
        })
    }

    /// Schedules an activity or supervision session. Coordinators only.
    pub fn add_activity(&self, activity: ActivityInput) -> Result<String> {
        guard(|| {
            let by = self.shared.author()?;
            let id = self.shared.store()?.orders_mut().add_activity(
                &by,
                NewActivity {
                    kind: parse(ActivityKind::parse(&activity.kind, "kind"))?,
                    title: activity.title,
                    grid_id: activity
                        .grid_id
                        .as_deref()
                        .map(|g| grid(g, "grid_id"))
                        .transpose()?,
                    starts_at: activity.starts_at,
                    duration_minutes: activity.duration_minutes,
                    facilitator: activity
                        .facilitator_id
                        .as_deref()
                        .map(|w| worker(w, "facilitator_id"))
                        .transpose()?,
                },
            )?;
            Ok(id.to_string())
        })
    }

    /// Records whether a worker or a resident attended. The facilitator or a
    /// coordinator.
    pub fn record_attendance(
        &self,
        activity_id: String,
        person_id: String,
        resident: bool,
        present: bool,
    ) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            let a = parse(ActivityId::parse(&activity_id, "activity_id"))?;
            let kind = if resident {
                AttendeeKind::Resident
            } else {
                AttendeeKind::Worker
            };
            self.shared
                .store()?
                .orders_mut()
                .record_attendance(&by, &a, &person_id, kind, present)?;
            Ok(())
        })
    }

    /// Credits an activity's hours to its facilitator and the workers
    /// present; returns how many were credited (crediting again credits
    /// nothing). Coordinators only.
    pub fn credit_activity_hours(&self, activity_id: String) -> Result<u32> {
        guard(|| {
            let by = self.shared.author()?;
            let a = parse(ActivityId::parse(&activity_id, "activity_id"))?;
            let n = self
                .shared
                .store()?
                .orders_mut()
                .credit_activity_hours(&by, &a)?;
            Ok(n)
        })
    }

    /// Activities starting in [from, to) (ms), soonest first; optionally of a
    /// grid (station-wide ones included).
    pub fn activities(
        &self,
        grid_id: Option<String>,
        from: i64,
        to: i64,
    ) -> Result<Vec<ActivityInfo>> {
        guard(|| {
            let g = grid_id.as_deref().map(|g| grid(g, "grid_id")).transpose()?;
            Ok(self
                .shared
                .reader()?
                .orders()
                .activities(g.as_ref(), from, to)?
                .into_iter()
                .map(|a| ActivityInfo {
                    id: a.id.to_string(),
                    kind: a.kind.as_str().to_string(),
                    title: a.title,
                    grid_id: a.grid_id.map(|g| g.to_string()),
                    starts_at: a.starts_at,
                    duration_minutes: a.duration_minutes,
                    facilitator_id: a.facilitator_id.to_string(),
                    present: a.attendance.values().filter(|x| x.present).count() as u32,
                })
                .collect())
        })
    }

    /// On the station laptop: a one-time code that enrols a new device for
    /// `worker_id` (the acting worker must be a station admin). `scopes`:
    /// what the device may hold (`station`, `grid:<id>`, `grid:*`,
    /// `case:main`); null for what the worker's role and grids call for.
    /// The code works once, within `code_minutes`; the credential lasts
    /// `credential_days`. Show it as text or as a QR code.
    pub fn enrol_device(
        &self,
        worker_id: String,
        scopes: Option<Vec<String>>,
        code_minutes: u32,
        credential_days: u32,
    ) -> Result<String> {
        guard(|| {
            let by = self.shared.author()?;
            let worker = parse(WorkerId::parse(&worker_id, "worker_id"))?;
            let code = self.shared.store()?.devices_mut().enrol_device(
                &by,
                &worker,
                anxin_core::store::EnrolOptions {
                    scopes,
                    code_minutes,
                    credential_days,
                    address: None,
                },
            )?;
            Ok(code.to_text())
        })
    }

    /// The devices of the station's registry, revoked ones included.
    pub fn devices(&self) -> Result<Vec<crate::records::DeviceInfo>> {
        guard(|| {
            Ok(self
                .shared
                .reader()?
                .devices()
                .list()?
                .into_iter()
                .map(|d| crate::records::DeviceInfo {
                    device_id: d.device_id,
                    worker_id: d.worker_id,
                    role: d.role.map(WorkerRole::from),
                    scopes: d.scopes,
                    expires_at: d.expires_at,
                    revoked: d.revoked,
                })
                .collect())
        })
    }

    /// On the station laptop: revokes a device (a lost phone, a worker who
    /// left). Every peer that learns of it refuses the device.
    pub fn revoke_device(&self, device_id: String) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            Ok(self
                .shared
                .store()?
                .devices_mut()
                .revoke_device(&by, &device_id)?)
        })
    }

    /// On the station laptop: renews a device's credential for `days`
    /// more days; returns the new expiry (milliseconds since the epoch).
    pub fn renew_device(&self, device_id: String, days: u32) -> Result<i64> {
        guard(|| {
            let by = self.shared.author()?;
            Ok(self
                .shared
                .store()?
                .devices_mut()
                .renew_device(&by, &device_id, days)?)
        })
    }

    /// On the station laptop (station admins): issues a worker's own
    /// identity file, encrypted with the `passphrase` the worker chooses
    /// (at least 8 characters), valid for `days`. The worker keeps it and
    /// signs with it at a shared laptop (`signAs`); it is revoked like a
    /// device.
    pub fn issue_identity(
        &self,
        worker_id: String,
        days: u32,
        passphrase: String,
    ) -> Result<Vec<u8>> {
        guard(|| {
            let by = self.shared.author()?;
            let worker = parse(WorkerId::parse(&worker_id, "worker_id"))?;
            Ok(self
                .shared
                .store()?
                .issue_identity(&by, &worker, days, &passphrase)?)
        })
    }

    /// Signs every later write with the identity in `identity` (opened
    /// with `passphrase`) and acts as its worker: how a counselor reviews
    /// or closes a crisis at a shared laptop, where the station's own
    /// identity may not. A wrong passphrase gives `Unauthorized`.
    pub fn sign_as(&self, identity: Vec<u8>, passphrase: String) -> Result<()> {
        guard(|| {
            let worker = self.shared.store()?.sign_as(&identity, &passphrase)?;
            *self.shared.acting.lock().unwrap_or_else(|p| p.into_inner()) = Some(worker);
            Ok(())
        })
    }

    /// Stops signing with an identity: later writes are the device's own
    /// again (name the acting worker with `actAs`).
    pub fn sign_as_device(&self) -> Result<()> {
        guard(|| {
            self.shared.store()?.sign_as_device();
            Ok(())
        })
    }
}

#[uniffi::export]
impl Households {
    /// Changes a resident's details (null fields stay). Any active worker.
    pub fn update_resident(
        &self,
        household_id: String,
        resident_id: String,
        changes: ResidentChanges,
    ) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            let h = parse(HouseholdId::parse(&household_id, "household_id"))?;
            let r = parse(ResidentId::parse(&resident_id, "resident_id"))?;
            let sex = changes
                .sex
                .as_deref()
                .map(|s| parse(Sex::parse(s, "sex")))
                .transpose()?;
            self.shared.store()?.households_mut().update_resident(
                &by,
                &h,
                &r,
                ResidentUpdate {
                    name: changes.name,
                    sex,
                    birth_year: changes.birth_year,
                    phone: changes.phone,
                },
            )?;
            Ok(())
        })
    }
}

#[uniffi::export]
impl Orders {
    /// A worker's hours ledger, oldest first.
    pub fn hours_entries(&self, worker_id: String) -> Result<Vec<HoursEntryInfo>> {
        guard(|| {
            let w: Worker = self
                .shared
                .reader()?
                .get(worker(&worker_id, "worker_id")?.as_str())?;
            let mut entries: Vec<HoursEntryInfo> = w
                .hours
                .values()
                .map(|e| {
                    let (kind, id) = match &e.source {
                        HoursSource::Order(r) => ("order", r.to_string()),
                        HoursSource::Activity(a) => ("activity", a.to_string()),
                    };
                    HoursEntryInfo {
                        id: e.id.to_string(),
                        source_kind: kind.into(),
                        source_id: id,
                        minutes: e.minutes,
                        at: e.at,
                        acknowledgements: e.acknowledgements.len() as u32,
                    }
                })
                .collect();
            entries.sort_by_key(|e| e.at);
            Ok(entries)
        })
    }

    /// Acknowledges an hours entry, as the acting worker (a coordinator).
    /// A resident acknowledges with `acknowledgeHoursAsResident`.
    pub fn acknowledge_hours(&self, worker_id: String, entry_id: String) -> Result<()> {
        guard(|| {
            let by = self.shared.author()?;
            let e = parse(HoursEntryId::parse(&entry_id, "entry_id"))?;
            self.shared.store()?.orders_mut().acknowledge_hours(
                &by,
                &worker(&worker_id, "worker_id")?,
                &e,
            )?;
            Ok(())
        })
    }

    /// A resident served (a household member of the order, or present at
    /// the activity) acknowledges an hours entry.
    pub fn acknowledge_hours_as_resident(
        &self,
        resident_id: String,
        worker_id: String,
        entry_id: String,
    ) -> Result<()> {
        guard(|| {
            let by = anxin_core::doc::Author::Resident(parse(ResidentId::parse(
                &resident_id,
                "resident_id",
            ))?);
            let e = parse(HoursEntryId::parse(&entry_id, "entry_id"))?;
            self.shared.store()?.orders_mut().acknowledge_hours(
                &by,
                &worker(&worker_id, "worker_id")?,
                &e,
            )?;
            Ok(())
        })
    }
}
