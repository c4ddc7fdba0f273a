-- Version 3: how many members of a household are vulnerable (a second sort
-- key), and the activities index.
ALTER TABLE idx_household ADD COLUMN vulnerable_members INTEGER NOT NULL DEFAULT 0;
DROP INDEX idx_household_by_grid;
CREATE INDEX idx_household_by_grid
    ON idx_household (grid_id, critical_need DESC, vulnerability DESC, vulnerable_members DESC, last_visit_at);

CREATE TABLE idx_activity (
    id        TEXT PRIMARY KEY,
    grid_id   TEXT,
    kind      TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    attendees INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_activity_by_start ON idx_activity (starts_at DESC);
