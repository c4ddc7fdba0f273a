-- Version 6: the index of psychological case files — each case's tier and
-- what is due (reviews, re-screens, referral acknowledgements, follow-ups,
-- open crises), so "what is due" lists never load a case document.
CREATE TABLE idx_case (
    id            TEXT PRIMARY KEY,
    resident_id   TEXT NOT NULL,
    household_id  TEXT NOT NULL,
    team          TEXT NOT NULL,
    tier          TEXT NOT NULL,
    assigned      TEXT,
    open_crises   INTEGER NOT NULL,
    screenings    INTEGER NOT NULL,
    conflicts     INTEGER NOT NULL,
    last_screened INTEGER
) STRICT;
CREATE INDEX idx_case_by_household ON idx_case (household_id, tier);
CREATE INDEX idx_case_by_tier ON idx_case (tier);

CREATE TABLE idx_case_due (
    case_id   TEXT NOT NULL,
    what      TEXT NOT NULL,
    reference TEXT NOT NULL,
    due_at    INTEGER NOT NULL,
    worker_id TEXT,
    PRIMARY KEY (case_id, what, reference)
) STRICT;
CREATE INDEX idx_case_due_by_time ON idx_case_due (due_at);
CREATE INDEX idx_case_due_by_worker ON idx_case_due (worker_id, due_at);
