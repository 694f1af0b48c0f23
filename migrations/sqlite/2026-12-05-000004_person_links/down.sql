DELETE FROM changes WHERE op IN ('merged', 'unmerged');
CREATE TABLE changes_old (
    seq         BIGINT PRIMARY KEY,
    record_type TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    version     BIGINT NOT NULL,
    agency_code TEXT NOT NULL,
    worker_id   TEXT,
    payload     TEXT,
    changed_at  TIMESTAMP NOT NULL,
    source_ref  TEXT
);
INSERT INTO changes_old SELECT seq, record_type, record_key, op, version, agency_code, worker_id, payload, changed_at, source_ref FROM changes;
DROP TABLE changes;
ALTER TABLE changes_old RENAME TO changes;
CREATE INDEX changes_type_seq ON changes (record_type, seq);
DROP TABLE person_links;
DROP INDEX worker_identities_previous;
DROP INDEX worker_identities_name;
DROP INDEX worker_identities_birth;
ALTER TABLE worker_identities DROP COLUMN name_key;
ALTER TABLE worker_identities DROP COLUMN previous_passport_no;
ALTER TABLE workers DROP COLUMN merged_into;
