-- Version 11: the tables that every write appends to by a composite key keep
-- their rows in that key's b-tree (WITHOUT ROWID). As rowid tables each
-- insert wrote two b-trees — the table, and the index SQLite builds for the
-- primary key — so two pages into the WAL and its fsync; now it is one.
-- Measured by counting the WAL frames of one `add_resident` (ARCHITECTURE,
-- "Cost"). The rows are copied as they are; nothing is derived again.
CREATE TABLE doc_chunks_v11 (
    doc_id TEXT NOT NULL REFERENCES docs (id),
    seq    INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (doc_id, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO doc_chunks_v11 (doc_id, seq, bytes) SELECT doc_id, seq, bytes FROM doc_chunks;
DROP TABLE doc_chunks;
ALTER TABLE doc_chunks_v11 RENAME TO doc_chunks;

CREATE TABLE idx_resident_tag_v11 (
    tag          TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    household_id TEXT NOT NULL,
    grid_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    birth_year   INTEGER NOT NULL,
    PRIMARY KEY (tag, resident_id)
) STRICT, WITHOUT ROWID;
INSERT INTO idx_resident_tag_v11 (tag, resident_id, household_id, grid_id, name, birth_year)
    SELECT tag, resident_id, household_id, grid_id, name, birth_year FROM idx_resident_tag;
DROP TABLE idx_resident_tag;
ALTER TABLE idx_resident_tag_v11 RENAME TO idx_resident_tag;
CREATE INDEX idx_resident_tag_by_household ON idx_resident_tag (household_id);
CREATE INDEX idx_resident_tag_by_grid ON idx_resident_tag (grid_id, tag);

CREATE TABLE attestations_v11 (
    doc_id    TEXT NOT NULL,
    actor     BLOB NOT NULL,
    seq       INTEGER NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (doc_id, actor)
) STRICT, WITHOUT ROWID;
INSERT INTO attestations_v11 (doc_id, actor, seq, signature)
    SELECT doc_id, actor, seq, signature FROM attestations;
DROP TABLE attestations;
ALTER TABLE attestations_v11 RENAME TO attestations;
