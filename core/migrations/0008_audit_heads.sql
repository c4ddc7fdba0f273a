-- Version 8: audit anchoring. The newest audit head (sequence number and
-- hash of the last row) each device signed, this device's own included; a
-- later head that is shorter, or differs at the same position, is recorded
-- as a finding that `check` reports.
CREATE TABLE audit_heads (
    device_id   TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    signature   BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    finding     TEXT
) STRICT;
