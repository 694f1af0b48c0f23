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

-- The head of the chain: one row, locked by each append so links never fork.
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
