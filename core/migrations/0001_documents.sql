-- Version 1: documents, incremental chunks, the device's identity, the audit log.
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
) STRICT;

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
