-- Version 2: the query index for a volunteer's screens. Derived from the
-- documents; filled by a reindex after this migration.
CREATE TABLE idx_household (
    id            TEXT PRIMARY KEY,
    grid_id       TEXT NOT NULL,
    address       TEXT NOT NULL,
    members       INTEGER NOT NULL,
    critical_need INTEGER NOT NULL,
    vulnerability INTEGER NOT NULL,
    last_visit_at INTEGER
) STRICT;
CREATE INDEX idx_household_by_grid
    ON idx_household (grid_id, critical_need DESC, vulnerability DESC, last_visit_at);

CREATE TABLE idx_resident_tag (
    tag          TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    household_id TEXT NOT NULL,
    grid_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    birth_year   INTEGER NOT NULL,
    PRIMARY KEY (tag, resident_id)
) STRICT;
CREATE INDEX idx_resident_tag_by_household ON idx_resident_tag (household_id);
CREATE INDEX idx_resident_tag_by_grid ON idx_resident_tag (grid_id, tag);

CREATE TABLE idx_worker (
    id      TEXT PRIMARY KEY,
    grid_id TEXT,
    role    TEXT NOT NULL,
    name    TEXT NOT NULL,
    active  INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_worker_by_grid ON idx_worker (grid_id, role);

CREATE TABLE idx_visit (
    id           TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    grid_id      TEXT NOT NULL,
    worker_id    TEXT NOT NULL,
    at           INTEGER NOT NULL,
    needs        INTEGER NOT NULL,
    critical     INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_visit_by_at ON idx_visit (at DESC);
CREATE INDEX idx_visit_by_household ON idx_visit (household_id);
