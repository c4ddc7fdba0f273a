-- Version 9: signed authorship. For each document and each actor that
-- wrote into it, the newest attestation seen: the writing device's
-- signature over the hash of its change `seq`, which (through automerge's
-- hash chain) vouches for all its earlier changes in that document. Sent
-- with the document's changes so every receiver can check who wrote them.
CREATE TABLE attestations (
    doc_id    TEXT NOT NULL,
    actor     BLOB NOT NULL,
    seq       INTEGER NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (doc_id, actor)
) STRICT;
