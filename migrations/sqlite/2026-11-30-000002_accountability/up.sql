-- Declared purposes per client, and the append-only, hash-chained audit log.
ALTER TABLE api_clients ADD COLUMN purposes TEXT NOT NULL DEFAULT '';

CREATE TABLE audit_events (
    seq               BIGINT PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
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
    request_id        TEXT NOT NULL,
    prev_hash         TEXT NOT NULL,
    hash              TEXT NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject_worker_id, seq);
CREATE INDEX audit_events_client ON audit_events (client_id, seq);

-- The head of the chain: one row, updated by each append so links never fork.
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
