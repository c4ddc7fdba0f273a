-- Version 7: trust. The registry holds the station's signed credentials and
-- revocations (every device keeps the whole registry, so it can check the
-- author of a change that reached it through another device); `enrolments`
-- holds the station laptop's pending one-time codes.
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
