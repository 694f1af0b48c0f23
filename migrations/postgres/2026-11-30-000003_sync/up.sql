-- The change feed: every committed change once, numbered in commit order.
CREATE TABLE changes (
    seq         BIGINT PRIMARY KEY,
    record_type TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    op          TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
    version     BIGINT NOT NULL,
    agency_code TEXT NOT NULL,
    worker_id   TEXT,
    payload     TEXT,
    changed_at  TIMESTAMP NOT NULL
);
CREATE INDEX changes_type_seq ON changes (record_type, seq);

-- The head of the feed: one row, locked by each writing transaction until it
-- commits, so sequence numbers become visible strictly in order.
CREATE TABLE change_head (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    seq            BIGINT NOT NULL,
    pruned_through BIGINT NOT NULL
);
INSERT INTO change_head (id, seq, pruned_through) VALUES (1, 0, 0);

-- Batch requests by idempotency key: replays get the stored response.
CREATE TABLE idempotency_keys (
    client_id       TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status INTEGER,
    response_body   TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
