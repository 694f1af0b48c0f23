-- Webhook subscriptions. The change feed (`changes`) is the transactional
-- outbox: every record write appends to it in its own transaction, and each
-- subscription keeps its position in it (`cursor_seq`), so events go out in
-- commit order and none is skipped.
CREATE TABLE subscriptions (
    id                TEXT PRIMARY KEY,
    agency_code       TEXT NOT NULL REFERENCES agencies (code),
    client_id         TEXT NOT NULL REFERENCES api_clients (client_id),
    target_url        TEXT NOT NULL,
    event_types       TEXT NOT NULL,
    description       TEXT,
    purpose           TEXT,
    secret            TEXT NOT NULL,
    cursor_seq        BIGINT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    failing_since     TIMESTAMP,
    next_attempt_at   TIMESTAMP,
    last_error        TEXT,
    last_status       INTEGER,
    last_delivered_at TIMESTAMP,
    lease_owner       TEXT,
    lease_until       TIMESTAMP,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX subscriptions_agency ON subscriptions (agency_code, created_at);
CREATE INDEX subscriptions_due ON subscriptions (next_attempt_at);

-- Events that failed for longer than the retry window, kept as long as the
-- change feed keeps changes; a redelivery is requested through the API.
CREATE TABLE dead_letters (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    seq             BIGINT NOT NULL,
    event_id        TEXT NOT NULL,
    record_type     TEXT NOT NULL,
    record_key      TEXT NOT NULL,
    op              TEXT NOT NULL,
    version         BIGINT NOT NULL,
    worker_id       TEXT,
    body            TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL,
    first_failed_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL,
    last_status     INTEGER,
    dead_at         TIMESTAMP NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('dead', 'redelivering', 'redelivered')),
    redelivered_at  TIMESTAMP,
    lease_owner     TEXT,
    lease_until     TIMESTAMP,
    UNIQUE (subscription_id, seq)
);
CREATE INDEX dead_letters_state ON dead_letters (state);
CREATE INDEX dead_letters_dead_at ON dead_letters (dead_at);
