//! Setting up and running a station from the command line: communities and
//! grids, workers and rosters, contact cards, households and residents,
//! canvass visits, training, activities and supervision, hours
//! acknowledgement, and spreadsheet imports with their templates.
//!
//! Every command names who acts (`--as WORKER_ID`): the role rules live in
//! core (`anxin_core::access`), never here.

use std::path::{Path, PathBuf};

use anxin_core::doc::Author;
use anxin_core::model::*;
use anxin_core::store::{
    import_columns, ImportKind, ImportReport, NewActivity, NewResident, NewTraining, NewVisit,
    NewWorker, ResidentUpdate, Sheet, Store, WorkerUpdate,
};
use clap::{Args, Subcommand, ValueEnum};

use crate::orders::parse_date;
use crate::{format_time, print_json, Failure};

/// `anxin community …`
#[derive(Subcommand, Debug)]
pub enum CommunityCommand {
    /// Add a community (社区) to the station.
    Add {
        /// Its name.
        name: String,
    },
    /// List the communities.
    List,
}

/// `anxin grid …`
#[derive(Subcommand, Debug)]
pub enum GridCommand {
    /// Add a grid (网格) to a community.
    Add {
        /// The community's id (see `anxin community list`).
        #[arg(long)]
        community: String,
        /// The grid's name, e.g. 第3网格.
        name: String,
    },
    /// Rename a grid.
    Rename {
        /// The grid's id.
        grid: String,
        /// Its new name.
        name: String,
    },
    /// Retire a grid: it keeps its history and takes no new households.
    Retire {
        /// The grid's id.
        grid: String,
    },
    /// List the grids.
    List,
}

/// `anxin worker …`
#[derive(Subcommand, Debug)]
pub enum WorkerCommand {
    /// Register a worker (volunteer, social worker, counselor…).
    Add {
        /// Their name.
        #[arg(long)]
        name: String,
        /// Their mobile number (workers are matched on it by imports).
        #[arg(long, default_value = "")]
        phone: String,
        /// Their role.
        #[arg(long, value_parser = Role::WORDS.to_vec())]
        role: String,
        /// Their grid's id.
        #[arg(long)]
        grid: Option<String>,
        /// A skill word (repeat): psychological_first_aid, driving, nursing…
        #[arg(long = "skill")]
        skills: Vec<String>,
    },
    /// Change a worker's name, phone, skills or grid.
    Update {
        /// The worker's id.
        worker: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// A new phone.
        #[arg(long)]
        phone: Option<String>,
        /// The skills (repeat; replaces the old ones).
        #[arg(long = "skill")]
        skills: Option<Vec<String>>,
        /// A new grid.
        #[arg(long, conflicts_with = "no_grid")]
        grid: Option<String>,
        /// No grid (station staff).
        #[arg(long)]
        no_grid: bool,
    },
    /// Change a worker's role.
    Role {
        /// The worker's id.
        worker: String,
        /// The new role.
        #[arg(value_parser = Role::WORDS.to_vec())]
        role: String,
    },
    /// Deactivate a worker (history and hours kept; can no longer act).
    Deactivate {
        /// The worker's id.
        worker: String,
    },
    /// List workers.
    List {
        /// Only this grid.
        #[arg(long)]
        grid: Option<String>,
        /// Only this role.
        #[arg(long, value_parser = Role::WORDS.to_vec())]
        role: Option<String>,
    },
    /// Show a worker: role, grid, skills, training, hours.
    Show {
        /// The worker's id.
        worker: String,
    },
}

/// `anxin roster …`
#[derive(Subcommand, Debug)]
pub enum RosterCommand {
    /// Put a worker on a grid's roster.
    Assign {
        /// The grid's id.
        #[arg(long)]
        grid: String,
        /// The worker's id.
        worker: String,
    },
    /// Take a worker off a grid's roster.
    Unassign {
        /// The grid's id.
        #[arg(long)]
        grid: String,
        /// The worker's id.
        worker: String,
    },
    /// Make a worker the grid's lead (网格长); the former lead stays a member.
    Lead {
        /// The grid's id.
        #[arg(long)]
        grid: String,
        /// The worker's id.
        worker: String,
    },
    /// Show a grid's roster.
    Show {
        /// The grid's id.
        #[arg(long)]
        grid: String,
    },
}

/// `anxin contact-card …`
#[derive(Subcommand, Debug)]
pub enum ContactCardCommand {
    /// Set who households of a grid call (网格志愿者联系卡).
    Set {
        /// The grid's id.
        #[arg(long)]
        grid: String,
        /// Who to call.
        #[arg(long)]
        name: String,
        /// Their phone.
        #[arg(long)]
        phone: String,
        /// When they answer, e.g. 8:00-20:00.
        #[arg(long, default_value = "")]
        hours: String,
    },
    /// Print a grid's contact card as text.
    Show {
        /// The grid's id.
        #[arg(long)]
        grid: String,
    },
}

/// `anxin household …`
#[derive(Subcommand, Debug)]
pub enum HouseholdCommand {
    /// Record a household at an address in a grid.
    Add {
        /// The grid's id.
        #[arg(long)]
        grid: String,
        /// The compound (小区).
        #[arg(long)]
        compound: String,
        /// The building (楼栋).
        #[arg(long)]
        building: String,
        /// The entrance or unit (单元).
        #[arg(long, default_value = "")]
        unit: String,
        /// The flat (房号).
        #[arg(long)]
        room: String,
    },
    /// Show a household: address, residents, visits and needs.
    Show {
        /// The household's id.
        household: String,
    },
}

/// A resident's details.
#[derive(Args, Debug)]
pub struct ResidentArgs {
    /// Their name.
    #[arg(long)]
    name: Option<String>,
    /// Their sex.
    #[arg(long, value_parser = Sex::WORDS.to_vec())]
    sex: Option<String>,
    /// Year of birth.
    #[arg(long)]
    birth_year: Option<u32>,
    /// Phone.
    #[arg(long)]
    phone: Option<String>,
}

/// `anxin resident …`
#[derive(Subcommand, Debug)]
pub enum ResidentCommand {
    /// Add a resident to a household.
    Add {
        /// The household's id.
        #[arg(long)]
        household: String,
        #[command(flatten)]
        details: ResidentArgs,
        /// A vulnerability tag (repeat): elderly_alone, disabled, chronic_illness…
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Change a resident's details.
    Update {
        /// The household's id.
        #[arg(long)]
        household: String,
        /// The resident's id.
        resident: String,
        #[command(flatten)]
        details: ResidentArgs,
    },
    /// Add a vulnerability tag.
    Tag {
        /// The household's id.
        #[arg(long)]
        household: String,
        /// The resident's id.
        resident: String,
        /// The tag.
        tag: String,
    },
    /// Remove a vulnerability tag.
    Untag {
        /// The household's id.
        #[arg(long)]
        household: String,
        /// The resident's id.
        resident: String,
        /// The tag.
        tag: String,
    },
}

/// `anxin visit …`
#[derive(Subcommand, Debug)]
pub enum VisitCommand {
    /// Record a canvass visit (摸排) and the needs found.
    Record {
        /// The household's id.
        #[arg(long)]
        household: String,
        /// A need (repeat): KIND[:ITEM[:DAYS_LEFT]][@SEVERITY], e.g.
        /// medicine:胰岛素:2, food, medical_care:透析@critical.
        #[arg(long = "need")]
        needs: Vec<String>,
        /// Notes.
        #[arg(long, default_value = "")]
        notes: String,
    },
}

/// `anxin training …`
#[derive(Subcommand, Debug)]
pub enum TrainingCommand {
    /// Record a completed training (培训) for a worker.
    Add {
        /// The worker's id.
        worker: String,
        /// The course, e.g. 心理急救（PFA）基础.
        #[arg(long)]
        course: String,
        /// What it qualifies for, as a skill word (psychological_first_aid).
        #[arg(long, default_value = "")]
        topic: String,
        /// Who gave it.
        #[arg(long, default_value = "")]
        trainer: String,
        /// When (YYYY-MM-DD).
        #[arg(long)]
        date: String,
        /// Hours (e.g. 4 or 1.5).
        #[arg(long)]
        hours: f64,
    },
}

/// `anxin activity …`
#[derive(Subcommand, Debug)]
pub enum ActivityCommand {
    /// Schedule an activity (文化活动, 团体辅导, 科普讲座, training) or a
    /// supervision session (督导: its title names the topics, no case content).
    Add {
        /// What kind.
        #[arg(long, value_parser = ActivityKind::WORDS.to_vec())]
        kind: String,
        /// Its title.
        #[arg(long)]
        title: String,
        /// Its grid (none: the whole station).
        #[arg(long)]
        grid: Option<String>,
        /// When it starts: YYYY-MM-DD HH:MM (station time).
        #[arg(long)]
        start: String,
        /// How long, in minutes.
        #[arg(long)]
        minutes: u32,
        /// Who runs it (the supervisor, for supervision); default: --as.
        #[arg(long)]
        facilitator: Option<String>,
    },
    /// Record who attended.
    Attend {
        /// The activity's id.
        activity: String,
        /// A worker who came (repeat).
        #[arg(long = "worker")]
        workers: Vec<String>,
        /// A resident who came (repeat).
        #[arg(long = "resident")]
        residents: Vec<String>,
        /// Record them as absent instead.
        #[arg(long)]
        absent: bool,
    },
    /// Credit the activity's hours to its facilitator and the workers present.
    Credit {
        /// The activity's id.
        activity: String,
    },
    /// List activities.
    List {
        /// Only this grid (station-wide ones included).
        #[arg(long)]
        grid: Option<String>,
        /// Past ones instead of upcoming ones.
        #[arg(long)]
        past: bool,
    },
}

/// What a sheet holds.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SheetKind {
    /// A volunteer / worker list.
    Workers,
    /// A door-to-door list of households and residents.
    Households,
}

impl From<SheetKind> for ImportKind {
    fn from(k: SheetKind) -> Self {
        match k {
            SheetKind::Workers => ImportKind::Workers,
            SheetKind::Households => ImportKind::Households,
        }
    }
}

/// `anxin import …`
#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Import a volunteer list (.xlsx or .csv; Chinese or English headers).
    Workers {
        /// The file.
        file: PathBuf,
        /// Check every row and report; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Import a door-to-door list (.xlsx or .csv), one resident a row.
    Households {
        /// The file.
        file: PathBuf,
        /// Check every row and report; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a template to fill in (.xlsx or .csv by the file's ending).
    Template {
        /// Which template.
        #[arg(value_enum)]
        kind: SheetKind,
        /// Where to write it, e.g. 志愿者.xlsx.
        #[arg(long)]
        out: PathBuf,
        /// Headers in English instead of Chinese.
        #[arg(long)]
        english: bool,
    },
}

pub(crate) fn acting(acting: &Option<String>) -> Result<Author, Failure> {
    match acting {
        Some(w) => Ok(Author::Worker(WorkerId::parse(w, "--as")?)),
        None => Err(Failure::input(
            "this command records who acted: give --as WORKER_ID (see `anxin worker list`)",
        )),
    }
}

fn grid_id(text: &str) -> Result<GridId, Failure> {
    Ok(GridId::parse(text, "grid")?)
}

fn worker_id(text: &str) -> Result<WorkerId, Failure> {
    Ok(WorkerId::parse(text, "worker")?)
}

fn say(json: bool, value: serde_json::Value, text: String) {
    if json {
        print_json(&value);
    } else {
        println!("{text}");
    }
}

/// Runs `anxin community …`.
pub fn run_community(
    store: &mut Store,
    cmd: &CommunityCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        CommunityCommand::Add { name } => {
            let id = store.setup_mut().add_community(&acting(by)?, name)?;
            say(
                json,
                serde_json::json!({ "community": id }),
                crate::tr!("community {id} added", "已添加社区 {id}", id = id),
            );
        }
        CommunityCommand::List => {
            let station = store.station()?;
            let list: Vec<&Community> = station.communities.values().collect();
            if json {
                print_json(&list);
            } else {
                for c in list {
                    let grids = station
                        .grids
                        .values()
                        .filter(|g| g.community_id == c.id)
                        .count();
                    println!(
                        "{}",
                        crate::tr!(
                            "{id}  {name}  ({grids} grids)",
                            "{id}  {name}（{grids} 个网格）",
                            id = c.id,
                            name = c.name,
                            grids = grids
                        )
                    );
                }
            }
        }
    }
    Ok(())
}

/// Runs `anxin grid …`.
pub fn run_grid(
    store: &mut Store,
    cmd: &GridCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        GridCommand::Add { community, name } => {
            let c = CommunityId::parse(community, "--community")?;
            let id = store.setup_mut().add_grid(&acting(by)?, &c, name)?;
            say(
                json,
                serde_json::json!({ "grid": id }),
                crate::tr!("grid {id} added", "已添加网格 {id}", id = id),
            );
        }
        GridCommand::Rename { grid, name } => {
            store
                .setup_mut()
                .rename_grid(&acting(by)?, &grid_id(grid)?, name)?;
            say(
                json,
                serde_json::json!({ "grid": grid, "renamed": true }),
                crate::tr!("grid {grid} renamed", "网格 {grid} 已改名", grid = grid),
            );
        }
        GridCommand::Retire { grid } => {
            store
                .setup_mut()
                .retire_grid(&acting(by)?, &grid_id(grid)?)?;
            say(
                json,
                serde_json::json!({ "grid": grid, "retired": true }),
                crate::tr!(
                    "grid {grid} retired: it keeps its history and takes no new households",
                    "网格 {grid} 已停用：保留历史记录，不再接收新住户",
                    grid = grid
                ),
            );
        }
        GridCommand::List => {
            let station = store.station()?;
            if json {
                print_json(&station.grids.values().collect::<Vec<_>>());
            } else {
                for g in station.grids.values() {
                    let community = station
                        .communities
                        .get(g.community_id.as_str())
                        .map_or("?", |c| c.name.as_str());
                    println!(
                        "{}  {} ({community}){}",
                        g.id,
                        g.name,
                        if g.retired {
                            crate::tr!("  retired", "  已停用")
                        } else {
                            String::new()
                        }
                    );
                }
            }
        }
    }
    Ok(())
}

/// Runs `anxin worker …`.
pub fn run_worker(
    store: &mut Store,
    cmd: &WorkerCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        WorkerCommand::Add {
            name,
            phone,
            role,
            grid,
            skills,
        } => {
            let id = store.people_mut().add_worker(
                &acting(by)?,
                NewWorker {
                    name: name.clone(),
                    phone: phone.clone(),
                    role: Role::parse(role, "--role")?,
                    grid_id: grid.as_deref().map(grid_id).transpose()?,
                    skills: skills.clone(),
                },
            )?;
            say(
                json,
                serde_json::json!({ "worker": id }),
                crate::tr!("worker {id} added", "已添加工作人员 {id}", id = id),
            );
        }
        WorkerCommand::Update {
            worker,
            name,
            phone,
            skills,
            grid,
            no_grid,
        } => {
            let grid_id = match (grid, no_grid) {
                (Some(g), _) => Some(Some(grid_id(g)?)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            store.people_mut().update_worker(
                &acting(by)?,
                &worker_id(worker)?,
                WorkerUpdate {
                    name: name.clone(),
                    phone: phone.clone(),
                    skills: skills.clone(),
                    grid_id,
                },
            )?;
            say(
                json,
                serde_json::json!({ "worker": worker, "updated": true }),
                crate::tr!(
                    "worker {worker} updated",
                    "工作人员 {worker} 已更新",
                    worker = worker
                ),
            );
        }
        WorkerCommand::Role { worker, role } => {
            store.people_mut().set_worker_role(
                &acting(by)?,
                &worker_id(worker)?,
                Role::parse(role, "role")?,
            )?;
            say(
                json,
                serde_json::json!({ "worker": worker, "role": role }),
                crate::tr!(
                    "worker {worker} is now {role}",
                    "工作人员 {worker} 现为{word}",
                    worker = worker,
                    role = role,
                    word = crate::ui::word(anxin_core::labels::Vocabulary::Role, &role.to_string())
                ),
            );
        }
        WorkerCommand::Deactivate { worker } => {
            store
                .people_mut()
                .deactivate_worker(&acting(by)?, &worker_id(worker)?)?;
            say(
                json,
                serde_json::json!({ "worker": worker, "active": false }),
                crate::tr!(
                    "worker {worker} deactivated (history and hours kept)",
                    "工作人员 {worker} 已停用（历史记录与服务时长保留）",
                    worker = worker
                ),
            );
        }
        WorkerCommand::List { grid, role } => {
            let g = grid.as_deref().map(grid_id).transpose()?;
            let r = role
                .as_deref()
                .map(|r| Role::parse(r, "--role"))
                .transpose()?;
            let rows = store.people().workers(g.as_ref(), r)?;
            if json {
                print_json(&rows);
            } else {
                for w in rows {
                    println!(
                        "{}  {}  {}{}",
                        w.id,
                        w.name,
                        crate::ui::word(anxin_core::labels::Vocabulary::Role, w.role.as_str()),
                        if w.active {
                            String::new()
                        } else {
                            crate::tr!("  inactive", "  已停用")
                        }
                    );
                }
            }
        }
        WorkerCommand::Show { worker } => {
            let w: Worker = store.get(worker_id(worker)?.as_str())?;
            if json {
                print_json(&w);
            } else {
                println!(
                    "{}  {}  {}{}",
                    w.id,
                    w.name,
                    crate::ui::word(anxin_core::labels::Vocabulary::Role, w.role.as_str()),
                    if w.active {
                        String::new()
                    } else {
                        crate::tr!("  inactive", "  已停用")
                    }
                );
                if !w.phone.is_empty() {
                    println!("{}", crate::tr!("phone {p}", "电话 {p}", p = w.phone));
                }
                if let Some(g) = &w.grid_id {
                    println!("{}", crate::tr!("grid {g}", "网格 {g}", g = g));
                }
                let q: Vec<&str> = w.qualifications().into_iter().collect();
                if !q.is_empty() {
                    println!(
                        "{}",
                        crate::tr!("qualified for {q}", "具备资质：{q}", q = q.join(", "))
                    );
                }
                for t in w.training.values() {
                    println!(
                        "{}",
                        crate::tr!(
                            "training {course} on {date}, {hours} h{by}",
                            "培训「{course}」，{date}，{hours} 小时{by}",
                            course = t.course,
                            date = format_time(t.completed_at),
                            hours = format!("{:.1}", f64::from(t.tenths_of_hours) / 10.0),
                            by = if t.trainer.is_empty() {
                                String::new()
                            } else {
                                crate::tr!(" by {t}", "，培训人 {t}", t = t.trainer)
                            }
                        )
                    );
                }
                let minutes: u32 = w.hours.values().map(|e| e.minutes).sum();
                println!(
                    "{}",
                    crate::tr!(
                        "hours {h} in {n} entries",
                        "服务时长 {h} 小时，共 {n} 条记录",
                        h = format!("{:.1}", f64::from(minutes) / 60.0),
                        n = w.hours.len()
                    )
                );
            }
        }
    }
    Ok(())
}

/// Runs `anxin roster …`.
pub fn run_roster(
    store: &mut Store,
    cmd: &RosterCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        RosterCommand::Assign { grid, worker } | RosterCommand::Lead { grid, worker } => {
            let role = if matches!(cmd, RosterCommand::Lead { .. }) {
                RosterRole::Lead
            } else {
                RosterRole::Member
            };
            store.people_mut().assign_to_grid(
                &acting(by)?,
                &grid_id(grid)?,
                &worker_id(worker)?,
                role,
            )?;
            say(
                json,
                serde_json::json!({ "grid": grid, "worker": worker, "role": role }),
                crate::tr!(
                    "{worker} is {role} of grid {grid}",
                    "{worker} 现为网格 {grid} 的{word}",
                    worker = worker,
                    role = role,
                    grid = grid,
                    word = crate::ui::word(
                        anxin_core::labels::Vocabulary::RosterRole,
                        &role.to_string()
                    )
                ),
            );
        }
        RosterCommand::Unassign { grid, worker } => {
            store.people_mut().unassign_from_grid(
                &acting(by)?,
                &grid_id(grid)?,
                &worker_id(worker)?,
            )?;
            say(
                json,
                serde_json::json!({ "grid": grid, "worker": worker, "assigned": false }),
                crate::tr!(
                    "{worker} is off grid {grid}",
                    "{worker} 已移出网格 {grid}",
                    worker = worker,
                    grid = grid
                ),
            );
        }
        RosterCommand::Show { grid } => {
            let roster = store.people().roster_of(&grid_id(grid)?)?;
            if json {
                print_json(&roster);
            } else {
                for a in roster.assignments.values() {
                    let name = store
                        .get::<Worker>(a.worker_id.as_str())
                        .map(|w| w.name)
                        .unwrap_or_default();
                    println!("{}  {}  {}", a.worker_id, name, a.role);
                }
            }
        }
    }
    Ok(())
}

/// The contact card as a person reads it on a stairwell notice.
pub fn contact_card_text(store: &Store, grid: &GridId) -> Result<String, Failure> {
    let station = store.station()?;
    let g = station
        .grid(grid)
        .ok_or_else(|| Failure::input(crate::tr!("no such grid", "没有这个网格")))?;
    let roster = store.people().roster_of(grid)?;
    let card = &roster.contact_card;
    let mut out = format!("{} · {}\n网格志愿者联系卡\n", station.name, g.name);
    if card.name.is_empty() {
        out.push_str("(no contact set: anxin contact-card set)\n");
    } else {
        out.push_str(&format!("联系人 {}  电话 {}\n", card.name, card.phone));
        if !card.hours.is_empty() {
            out.push_str(&format!("服务时间 {}\n", card.hours));
        }
    }
    for a in roster.assignments.values() {
        if let Ok(w) = store.get::<Worker>(a.worker_id.as_str()) {
            if w.active {
                let role = if a.role == RosterRole::Lead {
                    "网格长"
                } else {
                    "志愿者"
                };
                out.push_str(&format!("{role} {}  {}\n", w.name, w.phone));
            }
        }
    }
    out.push_str("生命危急请拨打 120 / 110\n");
    Ok(out)
}

/// Runs `anxin contact-card …`.
pub fn run_contact_card(
    store: &mut Store,
    cmd: &ContactCardCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        ContactCardCommand::Set {
            grid,
            name,
            phone,
            hours,
        } => {
            let card = ContactCard {
                name: name.clone(),
                phone: phone.clone(),
                hours: hours.clone(),
            };
            store
                .people_mut()
                .set_contact_card(&acting(by)?, &grid_id(grid)?, card)?;
            say(
                json,
                serde_json::json!({ "grid": grid, "contact_card": true }),
                crate::tr!(
                    "contact card of grid {grid} set",
                    "网格 {grid} 的联系卡已设置",
                    grid = grid
                ),
            );
        }
        ContactCardCommand::Show { grid } => {
            let g = grid_id(grid)?;
            if json {
                print_json(&store.people().roster_of(&g)?.contact_card);
            } else {
                print!("{}", contact_card_text(store, &g)?);
            }
        }
    }
    Ok(())
}

/// Runs `anxin household …`.
pub fn run_household(
    store: &mut Store,
    cmd: &HouseholdCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        HouseholdCommand::Add {
            grid,
            compound,
            building,
            unit,
            room,
        } => {
            let address = Address {
                compound: compound.clone(),
                building: building.clone(),
                unit: unit.clone(),
                room: room.clone(),
            };
            let id =
                store
                    .households_mut()
                    .add_household(&acting(by)?, &grid_id(grid)?, address)?;
            say(
                json,
                serde_json::json!({ "household": id }),
                crate::tr!("household {id} added", "已添加住户 {id}", id = id),
            );
        }
        HouseholdCommand::Show { household } => {
            let h: Household = store.get(HouseholdId::parse(household, "household")?.as_str())?;
            if json {
                print_json(&h);
            } else {
                println!(
                    "{}",
                    crate::tr!(
                        "{id}  {address}  grid {grid}",
                        "{id}  {address}  网格 {grid}",
                        id = h.id,
                        address = h.address.label(),
                        grid = h.grid_id
                    )
                );
                for m in h.members.values() {
                    let tags: Vec<String> = m
                        .tags
                        .iter()
                        .map(|t| crate::ui::word(anxin_core::labels::Vocabulary::Tag, t.as_str()))
                        .collect();
                    println!(
                        "{}",
                        crate::tr!(
                            "resident {id}  {name}  {sex}  {born}  {tags}",
                            "居民 {id}  {name}  {sex}  {born} 年生  {tags}",
                            id = m.id,
                            name = m.name,
                            sex = crate::ui::word(
                                anxin_core::labels::Vocabulary::Sex,
                                m.sex.as_str()
                            ),
                            born = m.birth_year,
                            tags = tags.join(crate::ui::sep())
                        )
                    );
                }
                let mut visits: Vec<&CanvassVisit> = h.visits.values().collect();
                visits.sort_by_key(|v| v.at);
                for v in visits {
                    println!(
                        "{}",
                        crate::tr!(
                            "visit {at} by {who}",
                            "走访 {at}，走访人 {who}",
                            at = format_time(v.at),
                            who = v.worker_id
                        )
                    );
                    for n in &v.needs {
                        println!(
                            "  need {}{}{} severity {}{}",
                            n.kind,
                            if n.item.is_empty() {
                                String::new()
                            } else {
                                format!(" {}", n.item)
                            },
                            n.days_left
                                .map(|d| crate::tr!(" ({d} days left)", "（还剩 {d} 天）", d = d))
                                .unwrap_or_default(),
                            n.severity,
                            n.met
                                .as_ref()
                                .map(|m| format!(", met {}", format_time(m.at)))
                                .unwrap_or_default()
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

fn parse_sex(text: &Option<String>) -> Result<Option<Sex>, Failure> {
    Ok(text
        .as_deref()
        .map(|s| Sex::parse(s, "--sex"))
        .transpose()?)
}

/// Runs `anxin resident …`.
pub fn run_resident(
    store: &mut Store,
    cmd: &ResidentCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        ResidentCommand::Add {
            household,
            details,
            tags,
        } => {
            let new = NewResident {
                name: details.name.clone().ok_or_else(|| {
                    Failure::input(crate::tr!("--name is required", "缺少 --name"))
                })?,
                sex: parse_sex(&details.sex)?.unwrap_or(Sex::Unknown),
                birth_year: details.birth_year.ok_or_else(|| {
                    Failure::input(crate::tr!("--birth-year is required", "缺少 --birth-year"))
                })?,
                phone: details.phone.clone().unwrap_or_default(),
                tags: tags
                    .iter()
                    .map(|t| VulnerabilityTag::parse(t, "--tag"))
                    .collect::<Result<_, _>>()?,
            };
            let id = store.households_mut().add_resident(
                &acting(by)?,
                &HouseholdId::parse(household, "--household")?,
                new,
            )?;
            say(
                json,
                serde_json::json!({ "resident": id }),
                crate::tr!("resident {id} added", "已添加居民 {id}", id = id),
            );
        }
        ResidentCommand::Update {
            household,
            resident,
            details,
        } => {
            store.households_mut().update_resident(
                &acting(by)?,
                &HouseholdId::parse(household, "--household")?,
                &ResidentId::parse(resident, "resident")?,
                ResidentUpdate {
                    name: details.name.clone(),
                    sex: parse_sex(&details.sex)?,
                    birth_year: details.birth_year,
                    phone: details.phone.clone(),
                },
            )?;
            say(
                json,
                serde_json::json!({ "resident": resident, "updated": true }),
                crate::tr!(
                    "resident {resident} updated",
                    "居民 {resident} 已更新",
                    resident = resident
                ),
            );
        }
        ResidentCommand::Tag {
            household,
            resident,
            tag,
        }
        | ResidentCommand::Untag {
            household,
            resident,
            tag,
        } => {
            let present = matches!(cmd, ResidentCommand::Tag { .. });
            store.households_mut().set_resident_tag(
                &acting(by)?,
                &HouseholdId::parse(household, "--household")?,
                &ResidentId::parse(resident, "resident")?,
                VulnerabilityTag::parse(tag, "tag")?,
                present,
            )?;
            say(
                json,
                serde_json::json!({ "resident": resident, "tag": tag, "present": present }),
                if present {
                    crate::tr!(
                        "resident {resident} tagged {tag}",
                        "居民 {resident} 已标记为{word}",
                        resident = resident,
                        tag = tag,
                        word = crate::ui::word(anxin_core::labels::Vocabulary::Tag, tag)
                    )
                } else {
                    crate::tr!(
                        "resident {resident} untagged {tag}",
                        "居民 {resident} 已取消标记{word}",
                        resident = resident,
                        tag = tag,
                        word = crate::ui::word(anxin_core::labels::Vocabulary::Tag, tag)
                    )
                },
            );
        }
    }
    Ok(())
}

/// Parses `KIND[:ITEM[:DAYS_LEFT]][@SEVERITY]`.
fn parse_need(text: &str) -> Result<Need, Failure> {
    let (body, severity) = match text.split_once('@') {
        Some((b, s)) => (b, Urgency::parse(s, "--need severity")?),
        None => (text, Urgency::Routine),
    };
    let mut parts = body.splitn(3, ':');
    let kind = NeedKind::parse(parts.next().unwrap_or(""), "--need kind")?;
    let item = parts.next().unwrap_or("").to_string();
    let days_left = match parts.next() {
        None | Some("") => None,
        Some(d) => Some(d.parse::<u32>().map_err(|_| {
            Failure::input(crate::tr!(
                "--need: days left must be a whole number",
                "--need：剩余天数须为整数"
            ))
        })?),
    };
    let (item, detail) = if kind == NeedKind::Medicine {
        (item, String::new())
    } else {
        (String::new(), item)
    };
    Ok(Need {
        kind,
        item,
        days_left,
        detail,
        severity,
        met: None,
    })
}

/// Runs `anxin visit …`.
pub fn run_visit(
    store: &mut Store,
    cmd: &VisitCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        VisitCommand::Record {
            household,
            needs,
            notes,
        } => {
            let needs = needs
                .iter()
                .map(|n| parse_need(n))
                .collect::<Result<Vec<_>, _>>()?;
            let h = HouseholdId::parse(household, "--household")?;
            let id = store.households_mut().record_visit(
                &acting(by)?,
                &h,
                NewVisit {
                    at: anxin_core::model::now_millis(),
                    needs,
                    notes: notes.clone(),
                },
            )?;
            let row = store
                .households()
                .households_in_grid(&store.get::<Household>(h.as_str())?.grid_id, u32::MAX, 0)?
                .into_iter()
                .find(|r| r.id == h);
            let (p, reasons, words) = row
                .map(|r| {
                    (
                        r.priority.as_str().to_uppercase(),
                        r.reasons.join(", "),
                        r.reasons
                            .iter()
                            .map(|c| crate::ui::reason(c))
                            .collect::<Vec<_>>()
                            .join(crate::ui::sep()),
                    )
                })
                .unwrap_or_default();
            say(
                json,
                serde_json::json!({ "visit": id, "priority": p.to_lowercase(), "reasons": reasons }),
                crate::tr!(
                    "visit {id} recorded; household now {p} {reasons}",
                    "走访 {id} 已记录；该户现为 {p}：{words}",
                    id = id,
                    p = p,
                    reasons = reasons,
                    words = words
                ),
            );
        }
    }
    Ok(())
}

/// Runs `anxin training …`.
pub fn run_training(
    store: &mut Store,
    cmd: &TrainingCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        TrainingCommand::Add {
            worker,
            course,
            topic,
            trainer,
            date,
            hours,
        } => {
            if !(0.1..=1000.0).contains(hours) {
                return Err(Failure::input(crate::tr!(
                    "--hours must be between 0.1 and 1000",
                    "--hours 须在 0.1 到 1000 之间"
                )));
            }
            let id = store.people_mut().add_training(
                &acting(by)?,
                &worker_id(worker)?,
                NewTraining {
                    course: course.clone(),
                    topic: topic.clone(),
                    trainer: trainer.clone(),
                    completed_at: parse_date(date, "--date")?,
                    tenths_of_hours: (hours * 10.0).round() as u32,
                },
            )?;
            say(
                json,
                serde_json::json!({ "training": id }),
                crate::tr!("training {id} recorded", "培训记录 {id} 已登记", id = id),
            );
        }
    }
    Ok(())
}

/// Parses `YYYY-MM-DD HH:MM` (or `YYYY-MM-DDTHH:MM`) in the station's zone.
fn parse_start(text: &str) -> Result<Millis, Failure> {
    let bad = || {
        Failure::input(crate::tr!(
            "invalid --start: write YYYY-MM-DD HH:MM",
            "--start 无效：请写 YYYY-MM-DD HH:MM"
        ))
    };
    let (date, time) = text.trim().split_once([' ', 'T']).ok_or_else(bad)?;
    let day = parse_date(date, "--start")?;
    let (h, m) = time.split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(day + (h * 60 + m) * 60_000)
}

/// Runs `anxin activity …`.
pub fn run_activity(
    store: &mut Store,
    cmd: &ActivityCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        ActivityCommand::Add {
            kind,
            title,
            grid,
            start,
            minutes,
            facilitator,
        } => {
            let id = store.orders_mut().add_activity(
                &acting(by)?,
                NewActivity {
                    kind: ActivityKind::parse(kind, "--kind")?,
                    title: title.clone(),
                    grid_id: grid.as_deref().map(grid_id).transpose()?,
                    starts_at: parse_start(start)?,
                    duration_minutes: *minutes,
                    facilitator: facilitator.as_deref().map(worker_id).transpose()?,
                },
            )?;
            say(
                json,
                serde_json::json!({ "activity": id }),
                crate::tr!("activity {id} scheduled", "活动 {id} 已安排", id = id),
            );
        }
        ActivityCommand::Attend {
            activity,
            workers,
            residents,
            absent,
        } => {
            if workers.is_empty() && residents.is_empty() {
                return Err(Failure::input(crate::tr!(
                    "name at least one --worker or --resident",
                    "请至少给出一个 --worker 或 --resident"
                )));
            }
            let a = ActivityId::parse(activity, "activity")?;
            let author = acting(by)?;
            for (people, kind) in [
                (workers, AttendeeKind::Worker),
                (residents, AttendeeKind::Resident),
            ] {
                for p in people {
                    store
                        .orders_mut()
                        .record_attendance(&author, &a, p, kind, !absent)?;
                }
            }
            say(
                json,
                serde_json::json!({ "activity": activity, "recorded": workers.len() + residents.len() }),
                crate::tr!(
                    "attendance recorded for {n} people",
                    "已登记 {n} 人的出勤",
                    n = workers.len() + residents.len()
                ),
            );
        }
        ActivityCommand::Credit { activity } => {
            let n = store
                .orders_mut()
                .credit_activity_hours(&acting(by)?, &ActivityId::parse(activity, "activity")?)?;
            say(
                json,
                serde_json::json!({ "activity": activity, "credited": n }),
                crate::tr!(
                    "hours credited to {n} workers",
                    "已为 {n} 名工作人员记入服务时长",
                    n = n
                ),
            );
        }
        ActivityCommand::List { grid, past } => {
            let now = anxin_core::model::now_millis();
            let (from, to) = if *past { (0, now) } else { (now, i64::MAX) };
            let g = grid.as_deref().map(grid_id).transpose()?;
            let mut list = store.orders().activities(g.as_ref(), from, to)?;
            if *past {
                list.reverse();
            }
            if json {
                print_json(&list);
            } else {
                for a in list {
                    let present = a.attendance.values().filter(|x| x.present).count();
                    println!(
                        "{}  {}  {}  {}  {} min  {present} present",
                        a.id,
                        format_time(a.starts_at),
                        a.kind,
                        a.title,
                        a.duration_minutes
                    );
                }
            }
        }
    }
    Ok(())
}

/// Reads a sheet from a .csv or .xlsx file (the first worksheet).
pub fn read_sheet(path: &Path) -> Result<Sheet, Failure> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let cannot = |e: &dyn std::fmt::Display| {
        Failure::input(crate::tr!(
            "cannot read {path}: {e}",
            "无法读取 {path}：{e}",
            path = path.display(),
            e = e
        ))
    };
    let mut rows: Vec<Vec<String>> = match ext.as_str() {
        "csv" => {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_path(path)
                .map_err(|e| cannot(&e))?;
            reader
                .records()
                .map(|r| {
                    r.map(|rec| rec.iter().map(str::to_string).collect())
                        .map_err(|e| cannot(&e))
                })
                .collect::<Result<_, _>>()?
        }
        "xlsx" | "xls" | "xlsm" | "ods" => {
            use calamine::Reader;
            let mut book = calamine::open_workbook_auto(path).map_err(|e| cannot(&e))?;
            let range = book
                .worksheet_range_at(0)
                .ok_or_else(|| {
                    Failure::input(crate::tr!(
                        "{path} has no worksheet",
                        "{path} 中没有工作表",
                        path = path.display()
                    ))
                })?
                .map_err(|e| cannot(&e))?;
            range
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect()
        }
        _ => {
            return Err(Failure::input(crate::tr!(
                "the file must end in .csv or .xlsx",
                "文件须以 .csv 或 .xlsx 结尾"
            )))
        }
    };
    if rows.is_empty() {
        return Err(Failure::input(crate::tr!(
            "{path} is empty: it needs a header row",
            "{path} 是空的：需要一行表头",
            path = path.display()
        )));
    }
    let header = rows.remove(0);
    Ok(Sheet { header, rows })
}

fn print_report(r: &ImportReport, json: bool, dry_run: bool) {
    if json {
        print_json(r);
        return;
    }
    println!(
        "{} rows: {} {} created, {} residents added, {} already present{}",
        r.rows,
        r.created,
        match r.kind {
            ImportKind::Workers => "workers",
            ImportKind::Households => "households",
        },
        r.residents_added,
        r.unchanged,
        if dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    for p in &r.problems {
        println!(
            "row {} {}: {}",
            p.row,
            if p.column.is_empty() { "-" } else { &p.column },
            p.reason
        );
    }
}

fn write_template(kind: ImportKind, out: &Path, english: bool) -> Result<(), Failure> {
    let cols = import_columns(kind);
    let header: Vec<&str> = cols
        .iter()
        .map(|c| if english { c.key } else { c.zh })
        .collect();
    let rows = [
        cols.iter().map(|c| c.example).collect::<Vec<_>>(),
        cols.iter().map(|c| c.example2).collect::<Vec<_>>(),
    ];
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let failed = |e: &dyn std::fmt::Display| {
        Failure::other(crate::tr!(
            "cannot write {path}: {e}",
            "无法写入 {path}：{e}",
            path = out.display(),
            e = e
        ))
    };
    match ext.as_str() {
        "csv" => {
            let mut text = String::from("\u{feff}");
            let mut w = csv::WriterBuilder::new().from_writer(vec![]);
            w.write_record(&header).map_err(|e| failed(&e))?;
            for r in &rows {
                w.write_record(r).map_err(|e| failed(&e))?;
            }
            let bytes = w.into_inner().map_err(|e| failed(&e))?;
            text.push_str(&String::from_utf8_lossy(&bytes));
            std::fs::write(out, text).map_err(|e| failed(&e))?;
        }
        "xlsx" => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (c, h) in header.iter().enumerate() {
                sheet
                    .write_string_with_format(0, c as u16, *h, &bold)
                    .map_err(|e| failed(&e))?;
                sheet
                    .set_column_width(c as u16, 16)
                    .map_err(|e| failed(&e))?;
            }
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    sheet
                        .write_string((r + 1) as u32, c as u16, *v)
                        .map_err(|e| failed(&e))?;
                }
            }
            book.save(out).map_err(|e| failed(&e))?;
        }
        _ => {
            return Err(Failure::input(crate::tr!(
                "--out must end in .csv or .xlsx",
                "--out 须以 .csv 或 .xlsx 结尾"
            )))
        }
    }
    Ok(())
}

/// Runs `anxin import …`.
pub fn run_import(
    store: Option<&mut Store>,
    cmd: &ImportCommand,
    by: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    match cmd {
        ImportCommand::Template { kind, out, english } => {
            let kind = ImportKind::from(*kind);
            write_template(kind, out, *english)?;
            if json {
                print_json(&import_columns(kind));
            } else {
                println!(
                    "{}",
                    crate::tr!(
                        "template written to {path}; columns:",
                        "模板已写入 {path}；各列：",
                        path = out.display()
                    )
                );
                for c in import_columns(kind) {
                    println!(
                        "  {} / {}{}: {}",
                        c.zh,
                        c.key,
                        if c.required { " (required)" } else { "" },
                        c.help
                    );
                }
            }
            Ok(())
        }
        ImportCommand::Workers { file, dry_run } | ImportCommand::Households { file, dry_run } => {
            let kind = if matches!(cmd, ImportCommand::Workers { .. }) {
                ImportKind::Workers
            } else {
                ImportKind::Households
            };
            let store = store.ok_or_else(|| {
                Failure::input(crate::tr!(
                    "this command needs --store PATH",
                    "此命令需要 --store 路径"
                ))
            })?;
            let sheet = read_sheet(file)?;
            let report = store
                .setup_mut()
                .import(&acting(by)?, kind, &sheet, *dry_run)?;
            print_report(&report, json, *dry_run);
            if report.problems.is_empty() {
                Ok(())
            } else {
                Err(Failure::input(crate::tr!(
                    "{n} problem(s) in {path}: nothing was written",
                    "{path} 中有 {n} 处问题：什么都没有写入",
                    n = report.problems.len(),
                    path = file.display()
                )))
            }
        }
    }
}
