-- Writers append audit events and changes here, unnumbered, instead of
-- taking the next position under the head rows (which every write
-- transaction queued on). The sequencer moves committed rows into
-- audit_events and changes in id order, numbering and chaining them.
CREATE TABLE change_queue (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_type TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    op          TEXT NOT NULL,
    version     BIGINT NOT NULL,
    agency_code TEXT NOT NULL,
    worker_id   TEXT,
    payload     TEXT
);

CREATE TABLE audit_queue (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at       TIMESTAMP NOT NULL,
    client_id         TEXT,
    agency_code       TEXT,
    action            TEXT NOT NULL,
    resource_type     TEXT NOT NULL,
    resource_key      TEXT,
    subject_worker_id TEXT,
    result_count      BIGINT,
    purpose           TEXT,
    case_ref          TEXT,
    status            INTEGER NOT NULL,
    request_id        TEXT NOT NULL
);

-- Rows live for milliseconds: vacuum them often.
ALTER TABLE change_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
ALTER TABLE audit_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);
