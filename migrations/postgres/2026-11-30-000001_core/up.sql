-- Agencies, their API clients and the token signing keys.
CREATE TABLE agencies (
    code         TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('immigration', 'manpower', 'regional', 'district', 'admin')),
    jurisdiction TEXT,
    created_at   TIMESTAMP NOT NULL
);

CREATE TABLE api_clients (
    client_id   TEXT PRIMARY KEY,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
CREATE INDEX api_clients_agency ON api_clients (agency_code);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    retired_at  TIMESTAMP
);

-- One row per person; identity attributes live per reporting agency.
CREATE TABLE workers (
    id         TEXT PRIMARY KEY,
    version    BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE worker_passports (
    number      TEXT NOT NULL,
    country     TEXT NOT NULL,
    worker_id   TEXT NOT NULL REFERENCES workers (id),
    expires_on  DATE,
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (number, country)
);
CREATE INDEX worker_passports_worker ON worker_passports (worker_id);

CREATE TABLE worker_identities (
    worker_id   TEXT NOT NULL REFERENCES workers (id),
    agency_code TEXT NOT NULL REFERENCES agencies (code),
    client_id   TEXT NOT NULL,
    passport_no TEXT NOT NULL,
    nationality TEXT NOT NULL,
    full_name   TEXT NOT NULL,
    sex         TEXT,
    birth_date  DATE,
    record_type TEXT NOT NULL,
    record_key  TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (worker_id, agency_code)
);

-- Every agency record: the normalised document plus the columns it is found by.
CREATE TABLE records (
    record_type  TEXT NOT NULL,
    record_key   TEXT NOT NULL,
    agency_code  TEXT NOT NULL REFERENCES agencies (code),
    client_id    TEXT NOT NULL,
    source_ref   TEXT,
    worker_id    TEXT REFERENCES workers (id),
    employer_nib TEXT,
    region_code  TEXT,
    status       TEXT,
    kind         TEXT,
    nationality  TEXT,
    ref_key      TEXT,
    valid_from   DATE,
    valid_until  DATE,
    doc          TEXT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (record_type, record_key),
    UNIQUE (record_type, agency_code, source_ref)
);
CREATE INDEX records_employer ON records (record_type, employer_nib);
CREATE INDEX records_region ON records (record_type, region_code);
CREATE INDEX records_worker ON records (worker_id);
CREATE INDEX records_ref ON records (record_type, ref_key);
