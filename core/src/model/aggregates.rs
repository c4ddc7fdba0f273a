//! The aggregates — what one automerge document holds — and their entities.
//!
//! Collections of entities are maps keyed by id, not lists: two phones that
//! edit different residents of one household, or record visits at the same
//! time, merge without either edit being lost, and an edit addresses the
//! entity, not a position that may have shifted.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::validate::{
    in_range, notes_text, optional_text, phone, required_text, timestamp, Valid,
};
use super::*;

/// Longest name of a person, in characters.
pub const MAX_NAME: usize = 40;
/// Longest short label (station, grid, address part, course...), in characters.
pub const MAX_LABEL: usize = 80;
/// Longest free-text notes, in characters.
pub const MAX_NOTES: usize = 4000;
/// Most members in one household.
pub const MAX_MEMBERS: usize = 30;
/// Most needs recorded at one visit.
pub const MAX_NEEDS: usize = 20;

/// The kind of an aggregate document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// The station: communities, grids, policy choices.
    Station,
    /// A grid's roster: volunteer assignments and contact card.
    Roster,
    /// A household: address, members, canvass visits.
    Household,
    /// A service order (arrives with the orders work).
    Request,
    /// A resident's psychological case file (arrives with the screening work).
    Case,
    /// A worker: profile, role, skills, training.
    Worker,
    /// An activity with attendance.
    Activity,
}

/// What is fixed about a kind of document: its spelling in the store and
/// exports, its code on the wire, and how sensitive it is.
struct KindFacts {
    kind: DocKind,
    name: &'static str,
    wire_code: u8,
    class: DataClass,
}

/// The registry of document kinds, in export order: every fact about a
/// kind lives in this one table (the aggregate type each kind is read as
/// lives in `store::kinds`, the one place that maps kinds to types). Wire
/// codes are written out one by one, never derived from the order: a new
/// kind takes a new code, and these never change (a test holds them).
const KINDS: [KindFacts; 7] = [
    KindFacts {
        kind: DocKind::Station,
        name: "station",
        wire_code: 0,
        class: DataClass::Operational,
    },
    KindFacts {
        kind: DocKind::Roster,
        name: "roster",
        wire_code: 1,
        class: DataClass::Operational,
    },
    KindFacts {
        kind: DocKind::Worker,
        name: "worker",
        wire_code: 2,
        class: DataClass::Operational,
    },
    KindFacts {
        kind: DocKind::Household,
        name: "household",
        wire_code: 3,
        class: DataClass::Personal,
    },
    KindFacts {
        kind: DocKind::Activity,
        name: "activity",
        wire_code: 4,
        class: DataClass::Operational,
    },
    KindFacts {
        kind: DocKind::Request,
        name: "request",
        wire_code: 5,
        class: DataClass::Personal,
    },
    KindFacts {
        kind: DocKind::Case,
        name: "case",
        wire_code: 6,
        class: DataClass::Sensitive,
    },
];

impl DocKind {
    /// Every kind, in export order.
    pub const ALL: &'static [DocKind] = &[
        KINDS[0].kind,
        KINDS[1].kind,
        KINDS[2].kind,
        KINDS[3].kind,
        KINDS[4].kind,
        KINDS[5].kind,
        KINDS[6].kind,
    ];

    fn facts(self) -> &'static KindFacts {
        // Every kind has its row (a test holds it); the first row is never
        // reached for another kind.
        KINDS.iter().find(|f| f.kind == self).unwrap_or(&KINDS[0])
    }

    /// The kind's spelling in the store and in exports.
    pub fn as_str(self) -> &'static str {
        self.facts().name
    }

    /// Parses a stored kind.
    pub fn parse(text: &str) -> Option<DocKind> {
        KINDS.iter().find(|f| f.name == text).map(|f| f.kind)
    }

    /// The kind's code on the wire (sync snapshots, bundles).
    pub fn wire_code(self) -> u8 {
        self.facts().wire_code
    }

    /// The kind with this wire code, if any (a newer peer's kind is none).
    pub fn from_wire_code(code: u8) -> Option<DocKind> {
        KINDS.iter().find(|f| f.wire_code == code).map(|f| f.kind)
    }

    /// How sensitive documents of this kind are; decides where they may go.
    pub fn class(self) -> DataClass {
        self.facts().class
    }
}

/// How sensitive a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Station organisation: grids, rosters, workers, activities.
    Operational,
    /// Personal data of residents: households and their orders.
    Personal,
    /// Psychological files: only the case team may hold them.
    Sensitive,
}

/// Who may hold a document: the whole station, one grid, or a case team.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Every device of the station.
    Station,
    /// Devices that hold this grid.
    Grid(GridId),
    /// Devices of this case team.
    CaseTeam(String),
}

impl Scope {
    /// The scope's spelling in the store: `station`, `grid:<id>`, `case:<team>`.
    pub fn to_key(&self) -> String {
        match self {
            Scope::Station => "station".to_string(),
            Scope::Grid(g) => format!("grid:{g}"),
            Scope::CaseTeam(t) => format!("case:{t}"),
        }
    }

    /// Parses a scope as people and hosts write it (`station`,
    /// `grid:<id>`, `case:<team>`): a typed error for anything else.
    pub fn parse(text: &str) -> Result<Scope, ValidationError> {
        Scope::from_key(text).ok_or_else(|| {
            ValidationError::new(
                "scope",
                Violation::UnknownValue {
                    allowed: &["station", "grid:<id>", "case:<team>"],
                },
            )
        })
    }

    /// Parses a stored scope.
    pub fn from_key(text: &str) -> Option<Scope> {
        if text == "station" {
            Some(Scope::Station)
        } else if let Some(g) = text.strip_prefix("grid:") {
            Some(Scope::Grid(GridId(g.to_string())))
        } else {
            text.strip_prefix("case:")
                .map(|t| Scope::CaseTeam(t.to_string()))
        }
    }
}

/// Serialized as its spelling (`station`, `grid:<id>`, `case:<team>`), as
/// reports written before scopes were typed gave it.
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_key())
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_key())
    }
}

// ---------------------------------------------------------------- station

/// A neighbourhood aid station (安心小屋) and the area it serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Station {
    /// The station's id.
    pub id: StationId,
    /// Its name, e.g. "武昌区中南路安心小屋".
    pub name: String,
    /// When it was set up.
    pub created_at: Millis,
    /// Communities it serves, by id.
    pub communities: BTreeMap<String, Community>,
    /// Grids of those communities, by id.
    pub grids: BTreeMap<String, Grid>,
    /// Households moved between grids, by household id: every device learns
    /// of a move through this station-wide document, so one that no longer
    /// holds the new grid can hand its copy on and purge it.
    #[autosurgeon(missing = "BTreeMap::new")]
    #[serde(default)]
    pub moves: BTreeMap<String, Move>,
    /// The language people at the station read (`zh-Hans`, `zh-Hant`,
    /// `en`); empty: Chinese when the station's name is, else English.
    #[autosurgeon(missing = "String::new")]
    #[serde(default)]
    pub language: String,
    /// The station's IANA time zone; empty: Asia/Shanghai.
    #[autosurgeon(missing = "String::new")]
    #[serde(default)]
    pub time_zone: String,
}

/// Whether `c` is a Han (Chinese) character.
fn is_han(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// A household moved to another grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Move {
    /// The grid it left.
    pub from_grid: GridId,
    /// The grid it now belongs to.
    pub to_grid: GridId,
    /// When.
    pub at: Millis,
}

/// A community (社区) served by the station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Community {
    /// The community's id.
    pub id: CommunityId,
    /// Its name.
    pub name: String,
}

/// A grid (网格): a block of buildings one volunteer team covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Grid {
    /// The grid's id.
    pub id: GridId,
    /// The community it belongs to.
    pub community_id: CommunityId,
    /// Its name, e.g. "第3网格".
    pub name: String,
    /// Retired: it keeps its history but takes no new households. Absent
    /// in documents written before retiring existed.
    #[autosurgeon(missing = "bool::default")]
    #[serde(default)]
    pub retired: bool,
}

impl Station {
    /// A new station with no communities yet.
    pub fn new(name: &str, now: Millis) -> Result<Self, ValidationError> {
        let s = Station {
            id: StationId::random(),
            name: name.trim().to_string(),
            created_at: now,
            communities: BTreeMap::new(),
            grids: BTreeMap::new(),
            moves: BTreeMap::new(),
            language: String::new(),
            time_zone: String::new(),
        };
        s.validate()?;
        Ok(s)
    }

    /// The language people at the station read: the one set, else
    /// simplified Chinese for a station named in Chinese, else English.
    pub fn language(&self) -> crate::screening::Language {
        use crate::screening::Language;
        match Language::parse(&self.language) {
            Ok(l) if !self.language.is_empty() => l,
            _ if self.name.chars().any(is_han) => Language::ZhHans,
            _ => Language::En,
        }
    }

    /// The station's time zone (Asia/Shanghai unless set).
    pub fn local_time(&self) -> crate::localtime::LocalTime {
        crate::localtime::LocalTime::new(&self.time_zone).unwrap_or_default()
    }

    /// Checks every field.
    pub fn validate(&self) -> Valid {
        required_text("station.name", &self.name, MAX_LABEL)?;
        if !self.language.is_empty() && crate::screening::Language::parse(&self.language).is_err() {
            return Err(ValidationError::new(
                "station.language",
                Violation::UnknownValue {
                    allowed: &["zh-Hans", "zh-Hant", "en"],
                },
            ));
        }
        if !self.time_zone.is_empty() {
            crate::localtime::LocalTime::new(&self.time_zone)?;
        }
        timestamp("station.created_at", self.created_at)?;
        for c in self.communities.values() {
            required_text("community.name", &c.name, MAX_LABEL)?;
        }
        for g in self.grids.values() {
            required_text("grid.name", &g.name, MAX_LABEL)?;
            if !self.communities.contains_key(g.community_id.as_str()) {
                return Err(ValidationError::new(
                    "grid.community_id",
                    Violation::NoSuchEntity,
                ));
            }
        }
        Ok(())
    }

    /// The grid with this id, if the station has it.
    pub fn grid(&self, id: &GridId) -> Option<&Grid> {
        self.grids.get(id.as_str())
    }
}

// ---------------------------------------------------------------- roster

/// A grid's roster: who works there and the contact card residents see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Roster {
    /// The roster's id.
    pub id: RosterId,
    /// The grid it serves.
    pub grid_id: GridId,
    /// Workers assigned to the grid, by worker id.
    pub assignments: BTreeMap<String, Assignment>,
    /// The card every household of the grid is given.
    pub contact_card: ContactCard,
}

/// One worker's assignment to a grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Assignment {
    /// The worker.
    pub worker_id: WorkerId,
    /// Lead or member.
    pub role: RosterRole,
    /// Since when.
    pub since: Millis,
}

/// The grid's contact card (网格联系卡).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct ContactCard {
    /// Who to call.
    pub name: String,
    /// Their phone.
    pub phone: String,
    /// When they answer, e.g. "8:00–20:00".
    pub hours: String,
}

impl Roster {
    /// Checks every field.
    pub fn validate(&self) -> Valid {
        for a in self.assignments.values() {
            timestamp("roster.assignment.since", a.since)?;
        }
        let card = &self.contact_card;
        optional_text("roster.contact_card.name", &card.name, MAX_NAME)?;
        if !card.phone.is_empty() {
            phone("roster.contact_card.phone", &card.phone)?;
        }
        optional_text("roster.contact_card.hours", &card.hours, MAX_LABEL)
    }
}

// ---------------------------------------------------------------- household

/// A household: where it lives, who lives there, and what canvassing found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Household {
    /// The household's id.
    pub id: HouseholdId,
    /// The grid it belongs to (decides which devices hold it).
    pub grid_id: GridId,
    /// Its address inside the compound.
    pub address: Address,
    /// Its members, by resident id.
    pub members: BTreeMap<String, Resident>,
    /// Canvass visits, by visit id.
    pub visits: BTreeMap<String, CanvassVisit>,
    /// When it was first recorded.
    pub created_at: Millis,
}

/// An address inside a locked compound: 小区, 楼栋, 单元, 房号.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Address {
    /// The compound (小区).
    pub compound: String,
    /// The building (楼栋), e.g. "3栋".
    pub building: String,
    /// The entrance or unit (单元); may be empty.
    pub unit: String,
    /// The flat (房号), e.g. "502".
    pub room: String,
}

impl Address {
    /// A one-line label, e.g. "百步亭花园 3栋 2单元 502".
    pub fn label(&self) -> String {
        [&self.compound, &self.building, &self.unit, &self.room]
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn validate(&self) -> Valid {
        required_text("address.compound", &self.compound, MAX_LABEL)?;
        required_text("address.building", &self.building, MAX_LABEL)?;
        optional_text("address.unit", &self.unit, MAX_LABEL)?;
        required_text("address.room", &self.room, MAX_LABEL)
    }
}

/// A person living in a household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Resident {
    /// The resident's id.
    pub id: ResidentId,
    /// Their name.
    pub name: String,
    /// Their sex.
    pub sex: Sex,
    /// Year of birth.
    pub birth_year: u32,
    /// Phone number; may be empty.
    pub phone: String,
    /// Vulnerability tags.
    pub tags: WordSet<VulnerabilityTag>,
}

/// A door-to-door canvass visit (摸排) and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct CanvassVisit {
    /// The visit's id.
    pub id: VisitId,
    /// Who visited.
    pub worker_id: WorkerId,
    /// When.
    pub at: Millis,
    /// What the household needs now.
    pub needs: Vec<Need>,
    /// Free notes.
    pub notes: String,
}

/// One need found at a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Need {
    /// What kind of need.
    pub kind: NeedKind,
    /// For a medicine: which one (may be empty for other kinds).
    pub item: String,
    /// For a medicine: days of supply left.
    pub days_left: Option<u32>,
    /// More detail; required for `other`.
    pub detail: String,
    /// How severe: `critical` is an emergency (a medical emergency makes
    /// the household P1 like a medicine about to run out). Needs written
    /// before severity existed read as routine.
    #[autosurgeon(missing = "need_severity_default")]
    #[serde(default = "need_severity_default")]
    pub severity: Urgency,
    /// Met: by a completed order that served it, when and by whom. A met
    /// need stays in the visit (history keeps both) but no longer lifts the
    /// household.
    #[autosurgeon(missing = "Option::default")]
    #[serde(default)]
    pub met: Option<NeedMet>,
}

fn need_severity_default() -> Urgency {
    Urgency::Routine
}

/// When and how a need was met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct NeedMet {
    /// When.
    pub at: Millis,
    /// The worker who met it.
    pub by: WorkerId,
    /// The order whose completion met it.
    pub order: Option<RequestId>,
}

impl Need {
    /// Days of medicine left at or below which a need is critical (P1 in the
    /// household triage key of screening-reference §4: "≤3 days" is a
    /// proposal there, so this is a default, not a law).
    pub const CRITICAL_DAYS_LEFT: u32 = 3;

    /// Whether this need threatens life if not met now: a medicine about to
    /// run out, no water or food, or any need recorded as an emergency
    /// (severity `critical`: a medical emergency). A met need never is.
    pub fn is_critical(&self) -> bool {
        if self.met.is_some() {
            return false;
        }
        self.severity == Urgency::Critical
            || match self.kind {
                NeedKind::Medicine => self
                    .days_left
                    .is_some_and(|d| d <= Self::CRITICAL_DAYS_LEFT),
                NeedKind::Water | NeedKind::Food => true,
                _ => false,
            }
    }

    /// The triage reason code of a critical need.
    pub fn critical_reason(&self) -> &'static str {
        match self.kind {
            NeedKind::Medicine => "critical_medicine",
            NeedKind::Water => "no_water",
            NeedKind::Food => "no_food",
            NeedKind::MedicalCare => "medical_emergency",
            NeedKind::PsychologicalSupport => "psychological_emergency",
            NeedKind::Other => "emergency_need",
        }
    }

    /// Whether a completed order of `kind`, handing over `items`, serves
    /// this need: medicine deliveries meet the medicine they handed over
    /// (by name), groceries meet food and water, a hospital escort meets
    /// medical care, a psychological support contact meets that need.
    pub fn served_by(&self, kind: OrderKind, items: &[Item]) -> bool {
        match (kind, self.kind) {
            (OrderKind::MedicineDelivery, NeedKind::Medicine) => {
                let want = self.item.trim();
                items.iter().any(|i| {
                    let got = i.name.trim();
                    !got.is_empty() && (got == want || got.contains(want) || want.contains(got))
                })
            }
            (OrderKind::Groceries, NeedKind::Food | NeedKind::Water)
            | (OrderKind::HospitalEscort, NeedKind::MedicalCare)
            | (OrderKind::PsychologicalSupport, NeedKind::PsychologicalSupport) => true,
            _ => false,
        }
    }

    fn validate(&self) -> Valid {
        optional_text("need.item", &self.item, MAX_LABEL)?;
        notes_text("need.detail", &self.detail, MAX_LABEL * 4)?;
        match self.kind {
            NeedKind::Medicine => {
                required_text("need.item", &self.item, MAX_LABEL)?;
                match self.days_left {
                    None => {
                        return Err(ValidationError::new("need.days_left", Violation::Required))
                    }
                    Some(d) => in_range("need.days_left", d as i64, 0, 365)?,
                }
            }
            NeedKind::Other => required_text("need.detail", &self.detail, MAX_LABEL * 4)?,
            _ => {
                if self.days_left.is_some() {
                    return Err(ValidationError::new(
                        "need.days_left",
                        Violation::Inconsistent("only a medicine has days left"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Resident {
    /// Checks every field. `now` bounds the birth year.
    pub fn validate(&self, now: Millis) -> Valid {
        required_text("resident.name", &self.name, MAX_NAME)?;
        in_range(
            "resident.birth_year",
            self.birth_year as i64,
            1900,
            crate::localtime::year_of(now),
        )?;
        if !self.phone.is_empty() {
            phone("resident.phone", &self.phone)?;
        }
        Ok(())
    }

    /// Age in whole years at `now` (approximate: birth month unknown).
    pub fn age(&self, now: Millis) -> i64 {
        crate::localtime::year_of(now) - self.birth_year as i64
    }
}

impl CanvassVisit {
    /// Checks every field.
    pub fn validate(&self) -> Valid {
        timestamp("visit.at", self.at)?;
        if self.needs.len() > MAX_NEEDS {
            return Err(ValidationError::new(
                "visit.needs",
                Violation::OutOfRange {
                    min: 0,
                    max: MAX_NEEDS as i64,
                },
            ));
        }
        for need in &self.needs {
            need.validate()?;
        }
        notes_text("visit.notes", &self.notes, MAX_NOTES)
    }
}

impl Household {
    /// Checks every field. `now` bounds birth years.
    pub fn validate(&self, now: Millis) -> Valid {
        self.address.validate()?;
        timestamp("household.created_at", self.created_at)?;
        if self.members.len() > MAX_MEMBERS {
            return Err(ValidationError::new(
                "household.members",
                Violation::OutOfRange {
                    min: 0,
                    max: MAX_MEMBERS as i64,
                },
            ));
        }
        for m in self.members.values() {
            m.validate(now)?;
        }
        for v in self.visits.values() {
            v.validate()?;
        }
        Ok(())
    }

    /// The needs the household has now: those of the latest visit (a visit
    /// records the needs as they are then, so a need a later visit does not
    /// list is over) not yet met.
    pub fn current_needs(&self) -> Vec<&Need> {
        self.latest_visit()
            .map(|v| v.needs.iter().filter(|n| n.met.is_none()).collect())
            .unwrap_or_default()
    }

    /// The most recent canvass visit.
    pub fn latest_visit(&self) -> Option<&CanvassVisit> {
        self.visits
            .values()
            .max_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)))
    }

    /// How vulnerable the household is, for ordering a grid's list "most
    /// vulnerable first": whether the latest visit found a critical need, the
    /// summed weight of its members' tags, and how many members carry any tag.
    pub fn vulnerability(&self) -> Vulnerability {
        let critical_need = self.current_needs().into_iter().any(Need::is_critical);
        let weight = self
            .members
            .values()
            .flat_map(|m| m.tags.iter())
            .map(VulnerabilityTag::weight)
            .sum();
        let vulnerable_members =
            self.members.values().filter(|m| !m.tags.is_empty()).count() as u32;
        Vulnerability {
            critical_need,
            weight,
            vulnerable_members,
        }
    }
}

/// How vulnerable a household is (see [`Household::vulnerability`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Vulnerability {
    /// The latest visit found a need that threatens life now.
    pub critical_need: bool,
    /// The summed weight of every member's vulnerability tags.
    pub weight: u32,
    /// How many members carry at least one tag.
    pub vulnerable_members: u32,
}

// ---------------------------------------------------------------- worker

/// A worker of the station: volunteer, social worker, counselor, ...
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Worker {
    /// The worker's id.
    pub id: WorkerId,
    /// Their name.
    pub name: String,
    /// Their phone; may be empty.
    pub phone: String,
    /// What they do.
    pub role: Role,
    /// The grid they work in, if any (station staff may have none).
    pub grid_id: Option<GridId>,
    /// Skills, e.g. `psychological_first_aid`, `driving`, `nursing`.
    pub skills: WordSet<String>,
    /// Training they completed, by record id.
    pub training: BTreeMap<String, TrainingRecord>,
    /// Whether they are active.
    pub active: bool,
    /// The hours ledger (志愿服务时长), by entry id. Append-only. Absent in
    /// documents written before the ledger existed, hence the default.
    #[autosurgeon(missing = "BTreeMap::new")]
    #[serde(default)]
    pub hours: BTreeMap<String, HoursEntry>,
}

/// One credit of service time in a worker's ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct HoursEntry {
    /// The entry's id.
    pub id: HoursEntryId,
    /// The work it is for.
    pub source: HoursSource,
    /// Minutes credited.
    pub minutes: u32,
    /// When the work was done.
    pub at: Millis,
    /// Acknowledgements by the resident served or a coordinator, by actor id.
    pub acknowledgements: BTreeMap<String, Acknowledgement>,
}

/// What an hours entry is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum HoursSource {
    /// A completed order.
    Order(RequestId),
    /// An activity the worker ran or attended.
    Activity(ActivityId),
}

/// Someone confirmed the work behind an hours entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Acknowledgement {
    /// Who: the resident served or a coordinator.
    pub by: Actor,
    /// When.
    pub at: Millis,
}

/// A training a worker completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct TrainingRecord {
    /// The record's id.
    pub id: TrainingId,
    /// The course, e.g. "心理急救 (PFA)".
    pub course: String,
    /// When it was completed.
    pub completed_at: Millis,
    /// Hours of training, in tenths of an hour.
    pub tenths_of_hours: u32,
    /// Who gave it; may be empty (and is in records written before it
    /// existed).
    #[autosurgeon(missing = "String::new")]
    #[serde(default)]
    pub trainer: String,
    /// What it qualifies for, as a skill word (`psychological_first_aid`);
    /// empty when it qualifies for nothing in particular. The dispatch rules
    /// read it: a worker with a psychological-first-aid training may take
    /// psychological support orders.
    #[autosurgeon(missing = "String::new")]
    #[serde(default)]
    pub topic: String,
}

/// A skill word: lower-case ASCII letters, digits and `_`, 1 to 40 long.
fn is_word(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 40
        && w.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Worker {
    /// What the worker is qualified for: their skills and the topics of
    /// their training records.
    pub fn qualifications(&self) -> std::collections::BTreeSet<&str> {
        self.skills
            .iter()
            .map(String::as_str)
            .chain(
                self.training
                    .values()
                    .map(|t| t.topic.as_str())
                    .filter(|t| !t.is_empty()),
            )
            .collect()
    }

    /// Checks every field.
    pub fn validate(&self) -> Valid {
        required_text("worker.name", &self.name, MAX_NAME)?;
        if !self.phone.is_empty() {
            phone("worker.phone", &self.phone)?;
        }
        for skill in self.skills.iter() {
            if skill.is_empty()
                || skill.len() > 40
                || !skill
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                return Err(ValidationError::new(
                    "worker.skills",
                    Violation::BadCharacters,
                ));
            }
        }
        for t in self.training.values() {
            required_text("training.course", &t.course, MAX_LABEL)?;
            optional_text("training.trainer", &t.trainer, MAX_NAME)?;
            if !t.topic.is_empty() && !is_word(&t.topic) {
                return Err(ValidationError::new(
                    "training.topic",
                    Violation::BadCharacters,
                ));
            }
            timestamp("training.completed_at", t.completed_at)?;
            in_range(
                "training.tenths_of_hours",
                t.tenths_of_hours as i64,
                1,
                10_000,
            )?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- activity

/// A group session, cultural activity or training, with attendance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Activity {
    /// The activity's id.
    pub id: ActivityId,
    /// What kind.
    pub kind: ActivityKind,
    /// Its title.
    pub title: String,
    /// The grid it is held for; none for a station-wide activity.
    pub grid_id: Option<GridId>,
    /// When it starts.
    pub starts_at: Millis,
    /// How long it lasts, in minutes.
    pub duration_minutes: u32,
    /// Who runs it.
    pub facilitator_id: WorkerId,
    /// Who attended, by person id (a worker's or a resident's).
    pub attendance: BTreeMap<String, Attendance>,
}

/// One person's attendance at an activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Attendance {
    /// A worker or a resident.
    pub kind: AttendeeKind,
    /// Whether they came.
    pub present: bool,
}

impl Activity {
    /// Checks every field.
    pub fn validate(&self) -> Valid {
        required_text("activity.title", &self.title, MAX_LABEL)?;
        timestamp("activity.starts_at", self.starts_at)?;
        in_range(
            "activity.duration_minutes",
            self.duration_minutes as i64,
            1,
            24 * 60,
        )?;
        if self.attendance.len() > 500 {
            return Err(ValidationError::new(
                "activity.attendance",
                Violation::OutOfRange { min: 0, max: 500 },
            ));
        }
        Ok(())
    }

    /// The scope of the activity's document: its grid, or the station.
    pub fn scope(&self) -> Scope {
        match &self.grid_id {
            Some(g) => Scope::Grid(g.clone()),
            None => Scope::Station,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_from_their_spelling_and_print_back() {
        for text in ["station", "grid:g-1", "case:main"] {
            assert_eq!(Scope::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(
            Scope::parse("grid:g-1").unwrap(),
            Scope::Grid(GridId("g-1".into()))
        );
        for bad in ["", "stations", "grid", "Station", "team:main"] {
            let e = Scope::parse(bad).unwrap_err();
            assert_eq!(e.field, "scope");
            assert_eq!(e.violation.code(), "unknown_value");
        }
    }

    #[test]
    fn year_of_known_dates() {
        use crate::localtime::year_of;
        assert_eq!(year_of(0), 1970);
        assert_eq!(year_of(1_795_000_000_000), 2026); // 2026-11-18
        assert_eq!(year_of(951_782_400_000), 2000); // 2000-02-29
        assert_eq!(year_of(946_684_799_999), 1999);
    }

    #[test]
    fn critical_needs() {
        let med = |d| Need {
            kind: NeedKind::Medicine,
            item: "insulin".into(),
            days_left: Some(d),
            detail: String::new(),
            severity: Urgency::Routine,
            met: None,
        };
        assert!(med(3).is_critical());
        assert!(!med(4).is_critical());
        let water = Need {
            kind: NeedKind::Water,
            item: String::new(),
            days_left: None,
            detail: String::new(),
            severity: Urgency::Routine,
            met: None,
        };
        assert!(water.is_critical());
        let mut bad = water.clone();
        bad.days_left = Some(2);
        assert_eq!(bad.validate().unwrap_err().field, "need.days_left");
        let mut no_days = med(1);
        no_days.days_left = None;
        assert_eq!(
            no_days.validate().unwrap_err().violation,
            Violation::Required
        );
    }

    #[test]
    fn scope_keys_round_trip() {
        for s in [
            Scope::Station,
            Scope::Grid(GridId("g1".into())),
            Scope::CaseTeam("t".into()),
        ] {
            assert_eq!(Scope::from_key(&s.to_key()), Some(s));
        }
        assert_eq!(Scope::from_key("planet:x"), None);
    }
}
