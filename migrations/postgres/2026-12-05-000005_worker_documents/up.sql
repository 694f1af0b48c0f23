-- Each worker's joined view, kept current by every write transaction that
-- changes what it shows, so reading it is one indexed read. `body` is the
-- JSON answer itself; `version` is the worker's version (the ETag);
-- `merged_into` is set while the worker is part of another.
CREATE TABLE worker_documents (
    worker_id TEXT PRIMARY KEY REFERENCES workers (id),
    version BIGINT NOT NULL,
    merged_into TEXT,
    body TEXT NOT NULL
);

-- A pair finding is shown on the view of the pair's second worker, which
-- it names as its discriminator.
CREATE INDEX findings_pair ON findings (rule, discriminator);
