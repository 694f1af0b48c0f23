-- Cross-agency compliance findings, derived by Sinergi, with their lifecycle.
CREATE TABLE findings (
    id                TEXT PRIMARY KEY,
    rule              TEXT NOT NULL,
    severity          TEXT NOT NULL,
    subject_kind      TEXT NOT NULL CHECK (subject_kind IN ('worker', 'employer')),
    subject_id        TEXT NOT NULL,
    discriminator     TEXT NOT NULL,
    responsible       TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    evidence          TEXT NOT NULL,
    message_en        TEXT NOT NULL,
    message_id        TEXT NOT NULL,
    region_code       TEXT,
    employer_nib      TEXT,
    worker_id         TEXT,
    status_by         TEXT NOT NULL,
    status_note       TEXT,
    status_changed_at TIMESTAMP NOT NULL,
    first_seen_at     TIMESTAMP NOT NULL,
    last_seen_at      TIMESTAMP NOT NULL,
    version           BIGINT NOT NULL,
    UNIQUE (rule, subject_kind, subject_id, discriminator)
);
CREATE INDEX findings_subject ON findings (subject_kind, subject_id);
CREATE INDEX findings_status ON findings (status, rule);
CREATE INDEX findings_region ON findings (region_code);
