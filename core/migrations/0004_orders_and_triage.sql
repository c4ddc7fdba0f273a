-- Version 4: household triage (P1–P4 with reasons) replaces the provisional
-- vulnerability order; the orders, conflicts, skills and hours indexes.
ALTER TABLE idx_household ADD COLUMN priority TEXT NOT NULL DEFAULT 'p4';
ALTER TABLE idx_household ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;
ALTER TABLE idx_household ADD COLUMN reasons TEXT NOT NULL DEFAULT '';
DROP INDEX idx_household_by_grid;
CREATE INDEX idx_household_by_priority
    ON idx_household (grid_id, priority, flags DESC, last_visit_at);

CREATE TABLE idx_request (
    id              TEXT PRIMARY KEY,
    grid_id         TEXT NOT NULL,
    household_id    TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    urgency         TEXT NOT NULL,
    assignee_worker TEXT,
    assignee_grid   TEXT,
    accepted_by     TEXT,
    requested_by    TEXT,
    created_at      INTEGER NOT NULL,
    deadline        INTEGER,
    completed_at    INTEGER,
    stars           INTEGER,
    items_changed   INTEGER NOT NULL,
    needs_training  INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_request_by_status ON idx_request (status, grid_id);
CREATE INDEX idx_request_by_acceptor ON idx_request (accepted_by, status);
CREATE INDEX idx_request_by_assignee ON idx_request (assignee_worker, status);

CREATE TABLE idx_order_conflict (
    request_id TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    worker_a   TEXT NOT NULL,
    worker_b   TEXT,
    detail     TEXT NOT NULL,
    PRIMARY KEY (request_id, event_id)
) STRICT;

CREATE TABLE idx_worker_skill (
    worker_id TEXT NOT NULL,
    skill     TEXT NOT NULL,
    PRIMARY KEY (worker_id, skill)
) STRICT;

CREATE TABLE idx_hours (
    entry_id     TEXT PRIMARY KEY,
    worker_id    TEXT NOT NULL,
    source_kind  TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    minutes      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    acknowledged INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_hours_by_worker ON idx_hours (worker_id, at);
