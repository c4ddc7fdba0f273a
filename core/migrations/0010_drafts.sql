-- Version 10: interviews in progress. A questionnaire being answered is
-- saved after every answer so it survives the app being killed; it holds
-- answers, so it lives in the store's (encrypted) file and never syncs.
-- `alerted`: the red flags already alerted, not raised again on resume.
CREATE TABLE drafts (
    id           TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    body         TEXT NOT NULL,
    alerted      TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;
