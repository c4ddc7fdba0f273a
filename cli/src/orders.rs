//! `anxin order …`, `queue`, `hours`, `conflicts`, `report`, `workers`:
//! parse, call the core, print. The acting person is `--as WORKER_ID` (or
//! `--as-resident RESIDENT_ID` for a rating), because every action on an
//! order records who did it.

use anxin_core::dispatch::hours::certificate_csv;
use anxin_core::doc::Author;
use anxin_core::model::*;
use anxin_core::store::{NewOrder, Store};
use clap::{Args, Subcommand};

use crate::{format_time, print_json, Failure};

/// Order commands.
#[derive(Subcommand, Debug)]
pub enum OrderCommand {
    /// Record a new order (点单).
    New {
        /// The household served.
        #[arg(long)]
        household: String,
        /// The resident served, if one in particular.
        #[arg(long)]
        resident: Option<String>,
        /// What it is for.
        #[arg(long, value_parser = OrderKind::WORDS.to_vec())]
        kind: String,
        /// An item, as NAME:QUANTITY[:UNIT]; repeat for more.
        #[arg(long = "item")]
        items: Vec<String>,
        /// How urgent.
        #[arg(long, default_value = "routine", value_parser = Urgency::WORDS.to_vec())]
        urgency: String,
        /// A deadline, in hours from now.
        #[arg(long)]
        deadline_hours: Option<u32>,
        /// Free notes.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Dispatch an order (派单) to a worker or a grid.
    Dispatch(Target),
    /// Give an order to another worker or grid.
    Reassign(Target),
    /// Accept an order (接单).
    Accept {
        /// The order.
        id: String,
    },
    /// Decline an order dispatched to you or accepted by you.
    Decline {
        /// The order.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Start work on an accepted order.
    Start {
        /// The order.
        id: String,
    },
    /// Complete an order with handover proof.
    Complete {
        /// The order.
        id: String,
        /// What was handed over, as NAME:QUANTITY[:UNIT]; repeat for more.
        #[arg(long = "handed")]
        handed: Vec<String>,
        /// The confirmation code the recipient gave (4 to 8 digits).
        #[arg(long)]
        code: String,
        /// Minutes the work took.
        #[arg(long)]
        minutes: u32,
    },
    /// Rate a completed order (评单).
    Rate {
        /// The order.
        id: String,
        /// 1 to 5.
        #[arg(long)]
        stars: u32,
        /// A comment.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Cancel an order.
    Cancel {
        /// The order.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Reopen a cancelled or completed order.
    Reopen {
        /// The order.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Replace an order's items.
    Items {
        /// The order.
        id: String,
        /// An item, as NAME:QUANTITY[:UNIT]; repeat for more.
        #[arg(long = "item")]
        items: Vec<String>,
    },
    /// List orders.
    List {
        /// Only this grid.
        #[arg(long)]
        grid: Option<String>,
        /// Only this status.
        #[arg(long, value_parser = OrderStatus::WORDS.to_vec())]
        status: Option<String>,
    },
    /// Show one order, its state, events and conflicts.
    Show {
        /// The order.
        id: String,
    },
    /// Suggest workers for an order.
    Suggest {
        /// The order.
        id: String,
    },
}

/// Where to dispatch.
#[derive(Args, Debug)]
pub struct Target {
    /// The order.
    id: String,
    /// To this worker.
    #[arg(long, conflicts_with = "to_grid", required_unless_present = "to_grid")]
    to_worker: Option<String>,
    /// To anyone of this grid.
    #[arg(long)]
    to_grid: Option<String>,
}

pub fn author(acting: &Option<String>, resident: &Option<String>) -> Result<Author, Failure> {
    match (acting, resident) {
        (Some(w), None) => Ok(Author::Worker(WorkerId::parse(w, "--as")?)),
        (None, Some(r)) => Ok(Author::Resident(ResidentId::parse(r, "--as-resident")?)),
        (None, None) => Err(Failure::input(
            "this command records who acted: give --as WORKER_ID (see `anxin workers`)",
        )),
        (Some(_), Some(_)) => Err(Failure::input(crate::tr!(
            "give --as or --as-resident, not both",
            "--as 与 --as-resident 只能给一个"
        ))),
    }
}

/// Parses `NAME:QUANTITY[:UNIT]`.
fn parse_items(texts: &[String], field: &'static str) -> Result<Vec<Item>, Failure> {
    texts
        .iter()
        .map(|t| {
            let mut parts = t.splitn(3, ':');
            let name = parts.next().unwrap_or("").trim().to_string();
            let quantity = parts
                .next()
                .and_then(|q| q.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    Failure::input(crate::tr!(
                        "invalid {field}: write NAME:QUANTITY[:UNIT], e.g. 胰岛素:2:支",
                        "{field} 无效：请写 名称:数量[:单位]，例如 胰岛素:2:支",
                        field = field
                    ))
                })?;
            let unit = parts.next().unwrap_or("").trim().to_string();
            Ok(Item {
                name,
                quantity,
                unit,
            })
        })
        .collect()
}

fn target(t: &Target) -> Result<(RequestId, Assignee), Failure> {
    let id = RequestId::parse(&t.id, "order")?;
    let to = match (&t.to_worker, &t.to_grid) {
        (Some(w), _) => Assignee::Worker(WorkerId::parse(w, "--to-worker")?),
        (None, Some(g)) => Assignee::Grid(GridId::parse(g, "--to-grid")?),
        (None, None) => {
            return Err(Failure::input(crate::tr!(
                "give --to-worker or --to-grid",
                "请给出 --to-worker 或 --to-grid"
            )))
        }
    };
    Ok((id, to))
}

/// Parses `YYYY-MM-DD` as the first millisecond of that day in the
/// station's zone.
pub fn parse_date(text: &str, field: &str) -> Result<Millis, Failure> {
    crate::ui::local_time().parse_date(text).map_err(|_| {
        Failure::input(crate::tr!(
            "invalid {field}: write a date as YYYY-MM-DD",
            "{field} 无效：日期请写成 年-月-日（YYYY-MM-DD）",
            field = field
        ))
    })
}

pub fn run_order(
    store: &mut Store,
    cmd: &OrderCommand,
    acting: &Option<String>,
    as_resident: &Option<String>,
    json: bool,
) -> Result<(), Failure> {
    let act = |store: &mut Store, id: &str, action: OrderAction| -> Result<(), Failure> {
        let id = RequestId::parse(id, "order")?;
        let by = author(acting, as_resident)?;
        let state = store.orders_mut().order_action(&by, &id, action)?;
        if json {
            print_json(&state);
        } else {
            println!(
                "{}",
                crate::tr!(
                    "order {id}: {status}",
                    "工单 {id}：{word}",
                    id = id,
                    status = state.status,
                    word = crate::ui::word(
                        anxin_core::labels::Vocabulary::OrderStatus,
                        state.status.as_str()
                    )
                )
            );
        }
        Ok(())
    };
    match cmd {
        OrderCommand::New {
            household,
            resident,
            kind,
            items,
            urgency,
            deadline_hours,
            note,
        } => {
            let by = author(acting, as_resident)?;
            let new = NewOrder {
                household_id: HouseholdId::parse(household, "--household")?,
                resident_id: resident
                    .as_ref()
                    .map(|r| ResidentId::parse(r, "--resident"))
                    .transpose()?,
                kind: OrderKind::parse(kind, "--kind")?,
                items: parse_items(items, "--item")?,
                urgency: Urgency::parse(urgency, "--urgency")?,
                deadline: deadline_hours.map(|h| now_millis() + i64::from(h) * 3_600_000),
                note: note.clone(),
            };
            let id = store.orders_mut().create_order(&by, new)?;
            if json {
                print_json(&serde_json::json!({ "id": id }));
            } else {
                println!(
                    "{}",
                    crate::tr!("order {id}: requested", "工单 {id}：待派单", id = id)
                );
            }
        }
        OrderCommand::Dispatch(t) => {
            let (id, to) = target(t)?;
            act(store, id.as_str(), OrderAction::Dispatched { to })?
        }
        OrderCommand::Reassign(t) => {
            let (id, to) = target(t)?;
            act(store, id.as_str(), OrderAction::Reassigned { to })?
        }
        OrderCommand::Accept { id } => act(store, id, OrderAction::Accepted)?,
        OrderCommand::Start { id } => act(store, id, OrderAction::Started)?,
        OrderCommand::Decline { id, reason } => act(
            store,
            id,
            OrderAction::Declined {
                reason: reason.clone(),
            },
        )?,
        OrderCommand::Complete {
            id,
            handed,
            code,
            minutes,
        } => act(
            store,
            id,
            OrderAction::Completed {
                handed_over: parse_items(handed, "--handed")?,
                confirmation_code: code.clone(),
                minutes: *minutes,
            },
        )?,
        OrderCommand::Rate { id, stars, comment } => act(
            store,
            id,
            OrderAction::Rated {
                stars: *stars,
                comment: comment.clone(),
            },
        )?,
        OrderCommand::Cancel { id, reason } => act(
            store,
            id,
            OrderAction::Cancelled {
                reason: reason.clone(),
            },
        )?,
        OrderCommand::Reopen { id, reason } => act(
            store,
            id,
            OrderAction::Reopened {
                reason: reason.clone(),
            },
        )?,
        OrderCommand::Items { id, items } => act(
            store,
            id,
            OrderAction::ItemsChanged {
                items: parse_items(items, "--item")?,
            },
        )?,
        OrderCommand::List { grid, status } => {
            let grid = grid
                .as_ref()
                .map(|g| GridId::parse(g, "--grid"))
                .transpose()?;
            let status = status
                .as_ref()
                .map(|s| OrderStatus::parse(s, "--status"))
                .transpose()?;
            let rows = store.orders().list(grid.as_ref(), status)?;
            print_rows(&rows, json);
        }
        OrderCommand::Show { id } => {
            let id = RequestId::parse(id, "order")?;
            let (request, state) = store.orders().order(&id)?;
            if json {
                print_json(&serde_json::json!({ "order": request, "state": state }));
            } else {
                use anxin_core::labels::Vocabulary;
                println!(
                    "{}",
                    crate::tr!(
                        "order {id}: {kind} {status} ({urgency}), household {household}",
                        "工单 {id}：{kind_word}，{status_word}（{urgency_word}），住户 {household}",
                        id = id,
                        kind = request.kind,
                        status = state.status,
                        urgency = state.urgency,
                        kind_word = crate::ui::word(Vocabulary::OrderKind, request.kind.as_str()),
                        status_word =
                            crate::ui::word(Vocabulary::OrderStatus, state.status.as_str()),
                        urgency_word = crate::ui::word(Vocabulary::Urgency, state.urgency.as_str()),
                        household = request.household_id
                    )
                );
                for item in &state.items {
                    println!(
                        "{}",
                        crate::tr!(
                            "  item: {name} × {n} {unit}",
                            "  物品：{name} × {n} {unit}",
                            name = item.name,
                            n = item.quantity,
                            unit = item.unit
                        )
                    );
                }
                for e in request.ordered_events() {
                    println!("  {}  {}", format_time(e.at), e.action.name());
                }
                for c in &state.conflicts {
                    println!(
                        "  CONFLICT: {}",
                        serde_json::to_string(&c.kind).unwrap_or_default()
                    );
                }
            }
        }
        OrderCommand::Suggest { id } => {
            let id = RequestId::parse(id, "order")?;
            let rows = store.orders().suggest_workers(&id, 10)?;
            if json {
                print_json(&rows);
            } else {
                for s in rows {
                    println!(
                        "{}",
                        crate::tr!(
                            "{id}  {name} ({role}){grid}{trained}  load {load}",
                            "{id}  {name}（{role_word}）{grid}{trained}  手上 {load} 单",
                            id = s.worker_id,
                            name = s.name,
                            role = s.role,
                            role_word = crate::ui::word(
                                anxin_core::labels::Vocabulary::Role,
                                s.role.as_str()
                            ),
                            grid = if s.same_grid {
                                crate::tr!("  same grid", "  同网格")
                            } else {
                                String::new()
                            },
                            trained = if s.trained {
                                crate::tr!("  trained", "  受过培训")
                            } else {
                                String::new()
                            },
                            load = s.load
                        )
                    );
                }
            }
        }
    }
    Ok(())
}

pub fn print_rows(rows: &[anxin_core::store::QueueRow], json: bool) {
    if json {
        print_json(&rows);
        return;
    }
    use anxin_core::labels::Vocabulary;
    for r in rows {
        println!(
            "{}  {}  {}  {}  {}  {}  [{}]{}",
            r.id,
            r.priority.as_str().to_uppercase(),
            crate::ui::word(Vocabulary::OrderStatus, r.status.as_str()),
            crate::ui::word(Vocabulary::Urgency, r.urgency.as_str()),
            crate::ui::word(Vocabulary::OrderKind, r.kind.as_str()),
            r.address,
            r.reasons
                .iter()
                .map(|c| crate::ui::reason(c))
                .collect::<Vec<_>>()
                .join(crate::ui::sep()),
            if r.items_changed {
                crate::tr!("  ITEMS CHANGED", "  物品已变更")
            } else {
                String::new()
            }
        );
    }
}

/// A period `[from, to)` from the command line's local dates (an open
/// start or end when not given).
fn parse_period(from: &Option<String>, to: &Option<String>) -> Result<(Millis, Millis), Failure> {
    let from = from
        .as_ref()
        .map(|d| parse_date(d, "--from"))
        .transpose()?
        .unwrap_or(0);
    let to = to
        .as_ref()
        .map(|d| parse_date(d, "--to"))
        .transpose()?
        .unwrap_or(i64::MAX);
    if from >= to {
        return Err(Failure::input(crate::tr!(
            "invalid period: --from must be before --to",
            "期间无效：--from 必须早于 --to"
        )));
    }
    Ok((from, to))
}

/// A worker and a period from the command line.
pub fn period(
    worker: &str,
    from: &Option<String>,
    to: &Option<String>,
) -> Result<(WorkerId, Millis, Millis), Failure> {
    let worker = WorkerId::parse(worker, "--worker")?;
    let (from, to) = parse_period(from, to)?;
    Ok((worker, from, to))
}

/// `anxin hours`: totals per worker, as text, JSON or the certificate CSV.
pub fn hours(
    store: &Store,
    worker: &Option<String>,
    from: &Option<String>,
    to: &Option<String>,
    csv: bool,
    json: bool,
) -> Result<(), Failure> {
    let worker = worker
        .as_ref()
        .map(|w| WorkerId::parse(w, "--worker"))
        .transpose()?;
    let (from, to) = parse_period(from, to)?;
    let totals = store.orders().hours_totals(worker.as_ref(), from, to)?;
    if csv {
        print!(
            "{}",
            certificate_csv(
                &totals,
                from,
                to,
                &crate::ui::local_time(),
                crate::ui::language()
            )
        );
    } else if json {
        print_json(&totals);
    } else {
        for t in totals {
            println!(
                "{}",
                crate::tr!(
                    "{id}  {name}  {hours} h ({ack} h acknowledged, {entries} entries)",
                    "{id}  {name}  {hours} 小时（已确认 {ack} 小时，{entries} 条记录）",
                    id = t.worker_id,
                    name = t.name,
                    hours = format!("{:.1}", t.minutes as f64 / 60.0),
                    ack = format!("{:.1}", t.acknowledged_minutes as f64 / 60.0),
                    entries = t.entries
                )
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_items_parse() {
        // Midnight in Wuhan (the default zone) is 16:00 UTC the day before.
        assert_eq!(parse_date("1970-01-02", "d").ok(), Some(57_600_000));
        assert_eq!(
            parse_date("2026-11-24", "d").ok(),
            Some(1_795_478_400_000 - 8 * 3_600_000)
        );
        assert!(parse_date("2026-13-01", "d").is_err());
        assert!(parse_date("yesterday", "d").is_err());
        let items = parse_items(&["胰岛素:2:支".into(), "米:5".into()], "--item")
            .ok()
            .unwrap();
        assert_eq!(items[0].unit, "支");
        assert_eq!(items[1].quantity, 5);
        assert!(parse_items(&["米".into()], "--item").is_err());
        assert!(parse_items(&["米:lots".into()], "--item").is_err());
    }
}
