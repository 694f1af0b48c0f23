DROP INDEX worker_identities_birth;
DROP INDEX worker_identities_name;
CREATE INDEX worker_identities_birth ON worker_identities (nationality, birth_date);
CREATE INDEX worker_identities_name ON worker_identities (nationality, name_key);
