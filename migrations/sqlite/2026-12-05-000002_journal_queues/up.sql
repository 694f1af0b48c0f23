-- The journal queues of PostgreSQL (one schema for both databases). SQLite
-- has one writer, which numbers audit events and changes in its own
-- transaction: these tables stay empty.
CREATE TABLE change_queue (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    record_type TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    op          TEXT NOT NULL,
    version     BIGINT NOT NULL,
    agency_code TEXT NOT NULL,
    worker_id   TEXT,
    payload     TEXT
);

CREATE TABLE audit_queue (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
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
