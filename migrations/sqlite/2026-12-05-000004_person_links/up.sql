-- Person matching (docs/person-matching.md): one person under two passports
-- is found as a candidate pair, confirmed (merged) or rejected, and a merge
-- can be undone.
ALTER TABLE workers ADD COLUMN merged_into TEXT;
ALTER TABLE worker_identities ADD COLUMN previous_passport_no TEXT;
-- The name as the matcher compares it; NULL until the next sweep for rows
-- written before matching existed.
ALTER TABLE worker_identities ADD COLUMN name_key TEXT;
CREATE INDEX worker_identities_birth ON worker_identities (nationality, birth_date);
CREATE INDEX worker_identities_name ON worker_identities (nationality, name_key);
CREATE INDEX worker_identities_previous ON worker_identities (previous_passport_no);

CREATE TABLE person_links (
    id TEXT PRIMARY KEY,
    worker_a TEXT NOT NULL,
    worker_b TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL NOT NULL,
    evidence TEXT NOT NULL,
    basis TEXT NOT NULL,
    survivor TEXT,
    moved TEXT,
    reason TEXT,
    case_ref TEXT,
    decided_by TEXT,
    decided_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL,
    UNIQUE (worker_a, worker_b)
);
CREATE INDEX person_links_b ON person_links (worker_b);
CREATE INDEX person_links_status ON person_links (status);

-- A merge and its undo are announced in the change feed as operations on
-- the absorbed worker. SQLite cannot alter a CHECK constraint: the table is
-- rebuilt with its rows.
CREATE TABLE changes_new (
    seq         BIGINT PRIMARY KEY,
    record_type TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('upsert', 'delete', 'merged', 'unmerged')),
    version     BIGINT NOT NULL,
    agency_code TEXT NOT NULL,
    worker_id   TEXT,
    payload     TEXT,
    changed_at  TIMESTAMP NOT NULL,
    source_ref  TEXT
);
INSERT INTO changes_new (seq, record_type, record_key, op, version, agency_code, worker_id, payload, changed_at, source_ref)
    SELECT seq, record_type, record_key, op, version, agency_code, worker_id, payload, changed_at, source_ref FROM changes;
DROP TABLE changes;
ALTER TABLE changes_new RENAME TO changes;
CREATE INDEX changes_type_seq ON changes (record_type, seq);
