-- The current schema, created in one step for a new store. A store created
-- by an older version reaches the same schema through migrations/; the test
-- `migrated_store_equals_fresh` proves the two agree.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE docs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    snapshot    BLOB NOT NULL,
    heads       TEXT NOT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX docs_by_scope ON docs (scope, id);
CREATE INDEX docs_by_kind ON docs (kind, id);

CREATE TABLE doc_chunks (
    doc_id TEXT NOT NULL REFERENCES docs (id),
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    worker_id TEXT,
    doc_id    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    action    TEXT NOT NULL,
    heads     TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_doc ON audit (doc_id, seq);

CREATE TABLE idx_household (
    id                 TEXT PRIMARY KEY,
    grid_id            TEXT NOT NULL,
    address            TEXT NOT NULL,
    members            INTEGER NOT NULL,
    critical_need      INTEGER NOT NULL,
    vulnerability      INTEGER NOT NULL,
    last_visit_at      INTEGER,
    vulnerable_members INTEGER NOT NULL DEFAULT 0,
    priority           TEXT NOT NULL DEFAULT 'p4',
    flags              INTEGER NOT NULL DEFAULT 0,
    reasons            TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX idx_household_by_priority
    ON idx_household (grid_id, priority, flags DESC, last_visit_at);

CREATE TABLE idx_resident_tag (
    tag          TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    household_id TEXT NOT NULL,
    grid_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    birth_year   INTEGER NOT NULL,
    PRIMARY KEY (tag, resident_id)
) STRICT, WITHOUT ROWID;
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

CREATE TABLE idx_activity (
    id        TEXT PRIMARY KEY,
    grid_id   TEXT,
    kind      TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    attendees INTEGER NOT NULL
) STRICT;
CREATE INDEX idx_activity_by_start ON idx_activity (starts_at DESC);

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

CREATE TABLE quarantine (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,
    peer      TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    reason    TEXT NOT NULL,
    bytes     BLOB NOT NULL
) STRICT;
CREATE INDEX quarantine_by_doc ON quarantine (doc_id);
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

CREATE TABLE registry (
    device_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    body      BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (device_id, kind)
) STRICT;

CREATE TABLE enrolments (
    id               TEXT PRIMARY KEY,
    psk              BLOB NOT NULL,
    worker_id        TEXT NOT NULL,
    scopes           TEXT NOT NULL,
    expires_at       INTEGER NOT NULL,
    credential_until INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    used_at          INTEGER,
    device_id        TEXT
) STRICT;

CREATE TABLE audit_heads (
    device_id   TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    signature   BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    finding     TEXT
) STRICT;

CREATE TABLE attestations (
    doc_id    TEXT NOT NULL,
    actor     BLOB NOT NULL,
    seq       INTEGER NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (doc_id, actor)
) STRICT, WITHOUT ROWID;

CREATE TABLE drafts (
    id           TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    body         TEXT NOT NULL,
    alerted      TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
