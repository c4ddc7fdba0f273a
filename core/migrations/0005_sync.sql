-- Version 5: documents received from a peer that could not be applied, kept
-- with the reason so nothing is silently dropped and one bad document never
-- blocks the rest of a session.
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
