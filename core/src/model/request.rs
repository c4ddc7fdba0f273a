//! A service order (点单 → 派单 → 接单 → 评单) as stored: fixed facts set
//! when it is requested, and an append-only log of events. The order's
//! current state is not stored; it is folded from the events (see
//! `dispatch::fold`), the same way on every phone.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};

use super::validate::{in_range, notes_text, optional_text, required_text, timestamp, Valid};
use super::*;

/// Most items on one order.
pub const MAX_ITEMS: usize = 30;
/// Most events in one order's log.
pub const MAX_EVENTS: usize = 500;

/// A service order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Request {
    /// The order's id.
    pub id: RequestId,
    /// The grid of the household served (decides which devices hold it).
    pub grid_id: GridId,
    /// The household served.
    pub household_id: HouseholdId,
    /// The resident served, if one in particular.
    pub resident_id: Option<ResidentId>,
    /// What it is for.
    pub kind: OrderKind,
    /// When it was requested.
    pub created_at: Millis,
    /// The event log, by event id. Never edited or shortened: only added to.
    pub events: BTreeMap<String, OrderEvent>,
}

/// One thing that happened to an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct OrderEvent {
    /// The event's id.
    pub id: EventId,
    /// Hybrid logical timestamp: the writer's clock, but always later than
    /// every event the writer had seen in this order, so causes come before
    /// effects even when phone clocks disagree.
    pub at: Millis,
    /// Who did it: a worker, or a resident of the served household.
    pub by: Actor,
    /// What happened.
    pub action: OrderAction,
}

/// Who acted on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// A worker of the station.
    Worker(WorkerId),
    /// A resident (rating their own household's order).
    Resident(ResidentId),
}

/// Where an order is dispatched to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    /// One worker.
    Worker(WorkerId),
    /// Anyone of a grid's team.
    Grid(GridId),
}

/// An item on an order, or handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct Item {
    /// What, e.g. "胰岛素 (insulin pen)".
    pub name: String,
    /// How many.
    pub quantity: u32,
    /// The unit, e.g. "盒", "支", "kg"; may be empty.
    pub unit: String,
}

/// What happened to an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// Recorded (点单).
    Requested {
        /// What is needed.
        items: Vec<Item>,
        /// How urgent.
        urgency: Urgency,
        /// By when, if there is a deadline.
        deadline: Option<Millis>,
        /// Free notes.
        note: String,
    },
    /// Dispatched (派单) to a worker or grid.
    Dispatched {
        /// To whom.
        to: Assignee,
    },
    /// Accepted (接单).
    Accepted,
    /// Declined by the worker it was dispatched to or who accepted it.
    Declined {
        /// Why.
        reason: String,
    },
    /// Under way.
    Started,
    /// Done.
    Completed {
        /// What was handed over.
        handed_over: Vec<Item>,
        /// The code the recipient gave to confirm receipt.
        confirmation_code: String,
        /// Minutes the work took (credited as volunteer hours).
        minutes: u32,
    },
    /// Rated (评单).
    Rated {
        /// 1 to 5 stars.
        stars: u32,
        /// A comment; may be empty.
        comment: String,
    },
    /// Cancelled.
    Cancelled {
        /// Why.
        reason: String,
    },
    /// Given to another worker or grid.
    Reassigned {
        /// To whom.
        to: Assignee,
    },
    /// Opened again after a cancellation or a failed completion.
    Reopened {
        /// Why.
        reason: String,
    },
    /// The items changed.
    ItemsChanged {
        /// The new list.
        items: Vec<Item>,
    },
}

impl OrderAction {
    /// The action's name, for errors and history.
    pub fn name(&self) -> &'static str {
        match self {
            OrderAction::Requested { .. } => "request",
            OrderAction::Dispatched { .. } => "dispatch",
            OrderAction::Accepted => "accept",
            OrderAction::Declined { .. } => "decline",
            OrderAction::Started => "start",
            OrderAction::Completed { .. } => "complete",
            OrderAction::Rated { .. } => "rate",
            OrderAction::Cancelled { .. } => "cancel",
            OrderAction::Reassigned { .. } => "reassign",
            OrderAction::Reopened { .. } => "reopen",
            OrderAction::ItemsChanged { .. } => "change_items",
        }
    }

    /// The action as a refusal names it.
    pub fn deed(&self) -> crate::refusal::Deed {
        use crate::refusal::Deed;
        match self {
            OrderAction::Requested { .. } => Deed::Request,
            OrderAction::Dispatched { .. } => Deed::Dispatch,
            OrderAction::Accepted => Deed::Accept,
            OrderAction::Declined { .. } => Deed::Decline,
            OrderAction::Started => Deed::Start,
            OrderAction::Completed { .. } => Deed::Complete,
            OrderAction::Rated { .. } => Deed::Rate,
            OrderAction::Cancelled { .. } => Deed::Cancel,
            OrderAction::Reassigned { .. } => Deed::Reassign,
            OrderAction::Reopened { .. } => Deed::Reopen,
            OrderAction::ItemsChanged { .. } => Deed::ChangeItems,
        }
    }

    /// Checks the action's own fields.
    pub fn validate(&self) -> Valid {
        match self {
            OrderAction::Requested {
                items,
                deadline,
                note,
                ..
            } => {
                validate_items("order.items", items)?;
                if let Some(d) = deadline {
                    timestamp("order.deadline", *d)?;
                }
                notes_text("order.note", note, MAX_NOTES)
            }
            OrderAction::ItemsChanged { items } => validate_items("order.items", items),
            OrderAction::Declined { reason }
            | OrderAction::Cancelled { reason }
            | OrderAction::Reopened { reason } => {
                required_text("order.reason", reason, MAX_LABEL * 4)
            }
            OrderAction::Completed {
                handed_over,
                confirmation_code,
                minutes,
            } => {
                validate_items("order.handed_over", handed_over)?;
                let code = confirmation_code.trim();
                if code.len() < 4 || code.len() > 8 || !code.chars().all(|c| c.is_ascii_digit()) {
                    return Err(ValidationError::new(
                        "order.confirmation_code",
                        Violation::Inconsistent("4 to 8 digits"),
                    ));
                }
                in_range("order.minutes", *minutes as i64, 1, 720)
            }
            OrderAction::Rated { stars, comment } => {
                in_range("order.stars", *stars as i64, 1, 5)?;
                notes_text("order.comment", comment, MAX_NOTES)
            }
            OrderAction::Dispatched { .. }
            | OrderAction::Reassigned { .. }
            | OrderAction::Accepted
            | OrderAction::Started => Ok(()),
        }
    }
}

fn validate_items(field: &str, items: &[Item]) -> Valid {
    if items.len() > MAX_ITEMS {
        return Err(ValidationError::new(
            field,
            Violation::OutOfRange {
                min: 0,
                max: MAX_ITEMS as i64,
            },
        ));
    }
    for item in items {
        required_text(&format!("{field}.name"), &item.name, MAX_LABEL)?;
        in_range(
            &format!("{field}.quantity"),
            item.quantity as i64,
            1,
            10_000,
        )?;
        optional_text(&format!("{field}.unit"), &item.unit, 20)?;
    }
    Ok(())
}

impl Request {
    /// Checks every field and event.
    pub fn validate(&self) -> Valid {
        timestamp("order.created_at", self.created_at)?;
        if self.events.len() > MAX_EVENTS {
            return Err(ValidationError::new(
                "order.events",
                Violation::OutOfRange {
                    min: 1,
                    max: MAX_EVENTS as i64,
                },
            ));
        }
        for e in self.events.values() {
            timestamp("order.event.at", e.at)?;
            e.action.validate()?;
        }
        Ok(())
    }

    /// The events in fold order: by hybrid timestamp, then event id.
    pub fn ordered_events(&self) -> Vec<&OrderEvent> {
        let mut events: Vec<&OrderEvent> = self.events.values().collect();
        events.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        events
    }

    /// The timestamp for a new event written now: later than the wall clock
    /// and than every event already in the log.
    pub fn next_timestamp(&self, wall_clock: Millis) -> Millis {
        let latest = self.events.values().map(|e| e.at).max().unwrap_or(0);
        wall_clock.max(latest + 1)
    }
}
