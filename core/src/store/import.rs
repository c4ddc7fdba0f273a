//! Importing the spreadsheets coordinators already keep: volunteer lists
//! (志愿者名单) and door-to-door lists (摸排表). The file format (CSV, XLSX)
//! is the caller's business: this module takes a [`Sheet`] of text cells,
//! with the column layout of [`columns`] (Chinese or English headers).
//!
//! Every row is checked before anything is written; a dry run reports every
//! problem (row, column, reason — never the cell's value) and writes
//! nothing; a real run is all-or-nothing, one transaction. Importing the same
//! file again changes nothing: workers are matched on their phone number,
//! households on their address, residents within a household on name and
//! year of birth.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::ops::NewWorker;
use super::{Batch, Store, StoreError};
use crate::access::Act;
use crate::doc::{Aggregate, Author};
use crate::model::*;

/// What a sheet holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// A volunteer / worker list, one worker a row.
    Workers,
    /// A door-to-door list, one resident a row (rows with the same address
    /// are one household; a row without a name records the household only).
    Households,
}

/// One column of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The stable key (also the English header).
    pub key: &'static str,
    /// The Chinese header.
    pub zh: &'static str,
    /// Must be filled in every row.
    pub required: bool,
    /// What goes in it.
    pub help: &'static str,
    /// An example value for the template.
    pub example: &'static str,
    /// A second example row's value.
    pub example2: &'static str,
}

const WORKER_COLUMNS: &[Column] = &[
    Column { key: "name", zh: "姓名", required: true, help: "full name", example: "张伟", example2: "李娜" },
    Column { key: "phone", zh: "手机号", required: true, help: "mobile number; matches the worker on re-import", example: "13800000001", example2: "13800000002" },
    Column { key: "role", zh: "角色", required: true, help: "志愿者/volunteer, 社工/social_worker, 心理咨询师/counselor, 医生/clinician, 调度员/dispatcher, 站长/station_admin", example: "志愿者", example2: "社工" },
    Column { key: "grid", zh: "网格", required: false, help: "the grid's name (or id); empty for station staff", example: "第1网格", example2: "" },
    Column { key: "skills", zh: "技能", required: false, help: "skill words separated by ; or 、 (psychological_first_aid, driving, nursing)", example: "driving", example2: "psychological_first_aid" },
];

const HOUSEHOLD_COLUMNS: &[Column] = &[
    Column { key: "compound", zh: "小区", required: true, help: "the compound", example: "百步亭花园", example2: "百步亭花园" },
    Column { key: "building", zh: "楼栋", required: true, help: "the building", example: "3栋", example2: "3栋" },
    Column { key: "unit", zh: "单元", required: false, help: "the entrance or unit", example: "2单元", example2: "2单元" },
    Column { key: "room", zh: "房号", required: true, help: "the flat", example: "502", example2: "502" },
    Column { key: "grid", zh: "网格", required: true, help: "the grid's name (or id)", example: "第1网格", example2: "第1网格" },
    Column { key: "name", zh: "姓名", required: false, help: "a resident's name; empty to record the household only", example: "王秀英", example2: "王建国" },
    Column { key: "sex", zh: "性别", required: false, help: "男/male, 女/female, or empty", example: "女", example2: "男" },
    Column { key: "birth_year", zh: "出生年份", required: false, help: "year of birth, e.g. 1942 (required with a name)", example: "1942", example2: "1940" },
    Column { key: "phone", zh: "电话", required: false, help: "the resident's phone", example: "", example2: "13900000003" },
    Column { key: "tags", zh: "标签", required: false, help: "vulnerability tags separated by ; or 、 (独居老人/elderly_alone, 慢性病/chronic_illness, 残疾/disabled, 孕产妇/pregnant_postpartum, 儿童/child…)", example: "慢性病", example2: "" },
];

/// The columns of a kind of sheet, in template order.
pub fn columns(kind: ImportKind) -> &'static [Column] {
    match kind {
        ImportKind::Workers => WORKER_COLUMNS,
        ImportKind::Households => HOUSEHOLD_COLUMNS,
    }
}

/// A sheet of text cells: the header row, then the data rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sheet {
    /// The header row (row 1).
    pub header: Vec<String>,
    /// The data rows (row 2 on).
    pub rows: Vec<Vec<String>>,
}

/// A problem with one cell or row. Names where, never what was written there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// The spreadsheet row (the header is row 1).
    pub row: usize,
    /// The column's key (`phone`), or empty for the whole row.
    pub column: String,
    /// What is wrong.
    pub reason: String,
}

/// What an import did, or would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// What was imported.
    pub kind: ImportKind,
    /// Data rows read.
    pub rows: usize,
    /// Workers or households created.
    pub created: usize,
    /// Residents added (households only).
    pub residents_added: usize,
    /// Rows already in the store, changing nothing.
    pub unchanged: usize,
    /// Every problem found; when any, nothing was written.
    pub problems: Vec<RowProblem>,
    /// Whether the store was changed (false for a dry run or any problem).
    pub written: bool,
}

/// Role words a coordinator's sheet may use.
fn parse_role(text: &str) -> Option<Role> {
    let t = text.trim();
    Role::parse(t, "role").ok().or(match t {
        "志愿者" => Some(Role::Volunteer),
        "社工" | "社会工作者" => Some(Role::SocialWorker),
        "心理咨询师" | "咨询师" => Some(Role::Counselor),
        "医生" | "临床医生" | "精神科医生" => Some(Role::Clinician),
        "调度员" | "调度" => Some(Role::Dispatcher),
        "站长" | "管理员" => Some(Role::StationAdmin),
        _ => None,
    })
}

fn parse_sex(text: &str) -> Option<Sex> {
    match text.trim() {
        "" | "未知" => Some(Sex::Unknown),
        "男" => Some(Sex::Male),
        "女" => Some(Sex::Female),
        other => Sex::parse(other, "sex").ok(),
    }
}

fn parse_tag(text: &str) -> Result<VulnerabilityTag, ValidationError> {
    let code = match text.trim() {
        "独居老人" => "elderly_alone",
        "残疾" | "残疾人" => "disabled",
        "慢性病" => "chronic_illness",
        "孕产妇" => "pregnant_postpartum",
        "儿童" => "child",
        "丧亲" => "bereaved",
        "康复者" | "康复" => "recovered",
        "一线工作者" => "front_line_worker",
        "军属" => "military_family",
        "社区矫正" => "community_corrections",
        other => other,
    };
    VulnerabilityTag::parse(code, "tags")
}

fn split_words(text: &str) -> Vec<String> {
    text.split([';', '；', '、', ',', '，'])
        .map(|w| w.trim().to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

/// The column key of a validation field (`worker.phone` → `phone`).
fn column_of(field: &str) -> String {
    let last = field.rsplit('.').next().unwrap_or(field);
    match last {
        "grid_id" => "grid".into(),
        other => other.into(),
    }
}

/// Maps header cells to column keys; problems for unknown and missing ones.
fn header_map(
    kind: ImportKind,
    header: &[String],
    problems: &mut Vec<RowProblem>,
) -> BTreeMap<&'static str, usize> {
    let mut map = BTreeMap::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        if h.is_empty() {
            continue;
        }
        match columns(kind)
            .iter()
            .find(|c| c.key.eq_ignore_ascii_case(h) || c.zh == h)
        {
            Some(c) if map.contains_key(c.key) => problems.push(RowProblem {
                row: 1,
                column: c.key.into(),
                reason: "the column appears twice".into(),
            }),
            Some(c) => {
                map.insert(c.key, i);
            }
            None => problems.push(RowProblem {
                row: 1,
                column: format!("column {}", i + 1),
                reason: "not a column of this template (see `anxin import template`)".into(),
            }),
        }
    }
    for c in columns(kind).iter().filter(|c| c.required) {
        if !map.contains_key(c.key) {
            problems.push(RowProblem {
                row: 1,
                column: c.key.into(),
                reason: format!("the required column {} ({}) is missing", c.key, c.zh),
            });
        }
    }
    map
}

/// The sheet's data rows that are not blank, numbered as the spreadsheet
/// numbers them (the header is row 1).
fn data_rows<'a>(
    sheet: &'a Sheet,
    map: &'a BTreeMap<&'static str, usize>,
) -> impl Iterator<Item = Row<'a>> {
    sheet
        .rows
        .iter()
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .map(move |(i, cells)| Row {
            number: i + 2,
            cells,
            map,
        })
}

struct Row<'a> {
    number: usize,
    cells: &'a [String],
    map: &'a BTreeMap<&'static str, usize>,
}

impl Row<'_> {
    fn get(&self, key: &str) -> &str {
        self.map
            .get(key)
            .and_then(|i| self.cells.get(*i))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    fn problem(&self, column: &str, reason: impl Into<String>) -> RowProblem {
        RowProblem {
            row: self.number,
            column: column.into(),
            reason: reason.into(),
        }
    }
}

/// A grid named in a sheet: by id or by its (unique) name.
fn find_grid(station: &Station, text: &str) -> Result<GridId, &'static str> {
    if let Some(g) = station.grids.get(text) {
        return Ok(g.id.clone());
    }
    let named: Vec<&Grid> = station.grids.values().filter(|g| g.name == text).collect();
    match named.as_slice() {
        [one] => Ok(one.id.clone()),
        [] => Err("no grid of the station has this name"),
        _ => Err("several grids have this name: give the grid's id"),
    }
}

struct WorkerPlan {
    new: NewWorker,
}

struct HouseholdPlan {
    existing: Option<HouseholdId>,
    grid: GridId,
    address: Address,
    residents: Vec<Resident>,
}

fn plan_workers(
    b: &Batch<'_>,
    station: &Station,
    sheet: &Sheet,
    map: &BTreeMap<&'static str, usize>,
    report: &mut ImportReport,
) -> Result<Vec<WorkerPlan>, StoreError> {
    let mut plans = Vec::new();
    let mut phones = BTreeSet::new();
    // Loaded once: a volunteer list of hundreds must not reload every
    // worker for every row.
    let known_phones = b.worker_phones()?;
    for row in data_rows(sheet, map) {
        let before = report.problems.len();
        let role = parse_role(row.get("role"));
        if role.is_none() {
            report.problems.push(row.problem(
                "role",
                "not a role (志愿者, 社工, 心理咨询师, 医生, 调度员, 站长, or the English words)",
            ));
        }
        let grid = match row.get("grid") {
            "" => None,
            g => match find_grid(station, g) {
                Ok(id) => Some(id),
                Err(reason) => {
                    report.problems.push(row.problem("grid", reason));
                    None
                }
            },
        };
        let phone = row.get("phone").to_string();
        if phone.is_empty() {
            report
                .problems
                .push(row.problem("phone", "is required (workers are matched on it)"));
        } else if !phones.insert(phone.clone()) {
            report
                .problems
                .push(row.problem("phone", "appears in an earlier row of this file"));
        }
        let candidate = Worker {
            id: WorkerId::random(),
            name: row.get("name").to_string(),
            phone: phone.clone(),
            role: role.unwrap_or(Role::Volunteer),
            grid_id: grid.clone(),
            skills: split_words(row.get("skills")).into_iter().collect(),
            training: BTreeMap::new(),
            active: true,
            hours: BTreeMap::new(),
        };
        if let Err(e) = Aggregate::validate(&candidate, b.now()) {
            report
                .problems
                .push(row.problem(&column_of(&e.field), e.violation.to_string()));
        }
        if report.problems.len() > before {
            continue;
        }
        if known_phones.contains(&phone) {
            report.unchanged += 1;
            continue;
        }
        report.created += 1;
        plans.push(WorkerPlan {
            new: NewWorker {
                name: candidate.name,
                phone: candidate.phone,
                role: candidate.role,
                grid_id: candidate.grid_id,
                skills: candidate.skills.iter().cloned().collect(),
            },
        });
    }
    Ok(plans)
}

/// Address key for matching: each part trimmed.
fn address_key(a: &Address) -> String {
    a.label()
}

fn plan_households(
    b: &Batch<'_>,
    station: &Station,
    sheet: &Sheet,
    map: &BTreeMap<&'static str, usize>,
    report: &mut ImportReport,
) -> Result<Vec<HouseholdPlan>, StoreError> {
    // Households already in the store, by address.
    let mut known: BTreeMap<String, HouseholdId> = BTreeMap::new();
    {
        let mut stmt =
            b.tx.prepare_cached("SELECT id, address FROM idx_household")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, address) = row?;
            known.insert(address, HouseholdId(id));
        }
    }
    let mut plans: Vec<HouseholdPlan> = Vec::new();
    let mut by_address: BTreeMap<String, usize> = BTreeMap::new();
    let now = b.now();
    for row in data_rows(sheet, map) {
        let before = report.problems.len();
        let address = Address {
            compound: row.get("compound").to_string(),
            building: row.get("building").to_string(),
            unit: row.get("unit").to_string(),
            room: row.get("room").to_string(),
        };
        let grid = match find_grid(station, row.get("grid")) {
            Ok(id) => match station.grid(&id) {
                Some(g) if g.retired => {
                    report.problems.push(
                        row.problem("grid", "the grid is retired and takes no new households"),
                    );
                    None
                }
                _ => Some(id),
            },
            Err(reason) => {
                report.problems.push(row.problem(
                    "grid",
                    if row.get("grid").is_empty() {
                        "is required"
                    } else {
                        reason
                    },
                ));
                None
            }
        };
        let mut resident = None;
        if !row.get("name").is_empty() {
            let sex = parse_sex(row.get("sex")).unwrap_or_else(|| {
                report
                    .problems
                    .push(row.problem("sex", "not 男, 女, male, female or empty"));
                Sex::Unknown
            });
            let birth_year = match row.get("birth_year").parse::<u32>() {
                Ok(y) => y,
                Err(_) => {
                    report.problems.push(
                        row.problem("birth_year", "is required with a name, as a year (1942)"),
                    );
                    0
                }
            };
            let mut tags = WordSet(BTreeSet::new());
            for t in split_words(row.get("tags")) {
                match parse_tag(&t) {
                    Ok(tag) => {
                        tags.0.insert(tag);
                    }
                    Err(e) => report
                        .problems
                        .push(row.problem("tags", e.violation.to_string())),
                }
            }
            resident = Some(Resident {
                id: ResidentId::random(),
                name: row.get("name").to_string(),
                sex,
                birth_year,
                phone: row.get("phone").to_string(),
                tags,
            });
        }
        // The model's own rules, with the column they concern.
        let candidate = Household {
            id: HouseholdId::random(),
            grid_id: grid.clone().unwrap_or_else(GridId::random),
            address: address.clone(),
            members: resident
                .iter()
                .map(|r| (r.id.to_string(), r.clone()))
                .collect(),
            visits: BTreeMap::new(),
            created_at: now,
        };
        if report.problems.len() == before {
            if let Err(e) = Aggregate::validate(&candidate, now) {
                report
                    .problems
                    .push(row.problem(&column_of(&e.field), e.violation.to_string()));
            }
        }
        if report.problems.len() > before {
            continue;
        }
        let Some(grid) = grid else { continue };
        let key = address_key(&address);
        let index = match by_address.get(&key) {
            Some(i) => {
                if plans[*i].grid != grid {
                    report.problems.push(
                        row.problem("grid", "an earlier row puts this address in another grid"),
                    );
                    continue;
                }
                *i
            }
            None => {
                let existing = known.get(&key).cloned();
                if let Some(id) = &existing {
                    let h = b.get::<Household>(id.as_str())?;
                    if h.grid_id != grid {
                        report.problems.push(row.problem(
                            "grid",
                            "this address is already a household of another grid (move it instead)",
                        ));
                        continue;
                    }
                }
                plans.push(HouseholdPlan {
                    existing,
                    grid,
                    address,
                    residents: Vec::new(),
                });
                by_address.insert(key, plans.len() - 1);
                plans.len() - 1
            }
        };
        match resident {
            None => {
                if plans[index].existing.is_some() {
                    report.unchanged += 1;
                }
            }
            Some(r) => {
                let same = |m: &Resident| m.name == r.name && m.birth_year == r.birth_year;
                let in_store = match &plans[index].existing {
                    Some(id) => b.get::<Household>(id.as_str())?.members.values().any(same),
                    None => false,
                };
                if in_store || plans[index].residents.iter().any(same) {
                    report.unchanged += 1;
                } else {
                    plans[index].residents.push(r);
                }
            }
        }
    }
    report.created = plans.iter().filter(|p| p.existing.is_none()).count();
    report.residents_added = plans.iter().map(|p| p.residents.len()).sum();
    Ok(plans)
}

fn apply_households(
    b: &mut Batch<'_>,
    author: &Author,
    plans: Vec<HouseholdPlan>,
) -> Result<(), StoreError> {
    for p in plans {
        match p.existing {
            None => {
                b.add_household_with_id(
                    author,
                    HouseholdId::random(),
                    &p.grid,
                    p.address,
                    p.residents,
                )?;
            }
            Some(id) if !p.residents.is_empty() => {
                b.put::<Household>(author, "household.import_residents", id.as_str(), |h| {
                    let mut h = h.ok_or_else(|| StoreError::NotFound {
                        kind: "household",
                        id: id.to_string(),
                    })?;
                    for r in p.residents {
                        h.members.insert(r.id.to_string(), r);
                    }
                    Ok(h)
                })?;
            }
            Some(_) => {}
        }
    }
    Ok(())
}

impl super::Setup<&mut Store> {
    /// Imports a sheet: checks every row, then — unless `dry_run` or a
    /// problem was found — writes everything in one transaction. Workers:
    /// station admins only; households: coordinators.
    pub fn import(
        &mut self,
        author: &Author,
        kind: ImportKind,
        sheet: &Sheet,
        dry_run: bool,
    ) -> Result<ImportReport, StoreError> {
        let act = match kind {
            ImportKind::Workers => Act::ManagePeople,
            ImportKind::Households => Act::ImportHouseholds,
        };
        self.store.batch(|b| {
            b.require(author, act)?;
            let mut report = ImportReport {
                kind,
                rows: sheet.rows.len(),
                created: 0,
                residents_added: 0,
                unchanged: 0,
                problems: Vec::new(),
                written: false,
            };
            let map = header_map(kind, &sheet.header, &mut report.problems);
            let station = b.station()?;
            match kind {
                ImportKind::Workers => {
                    let plans = plan_workers(b, &station, sheet, &map, &mut report)?;
                    if report.problems.is_empty() && !dry_run {
                        // Grids and phones were checked when planning.
                        for p in plans {
                            b.insert_worker(author, p.new)?;
                        }
                        report.written = report.created > 0;
                    }
                }
                ImportKind::Households => {
                    let plans = plan_households(b, &station, sheet, &map, &mut report)?;
                    if report.problems.is_empty() && !dry_run {
                        apply_households(b, author, plans)?;
                        report.written = report.created + report.residents_added > 0;
                    }
                }
            }
            Ok(report)
        })
    }
}
