-- The matcher reads a block (nationality with a birth date or a name key)
-- only for its members' worker ids, and stops one past the largest block it
-- compares. With the worker id in the index that read is the index alone:
-- no row is fetched per member, which matters most for the common names
-- whose blocks are read only to learn that they are too large.
DROP INDEX worker_identities_birth;
DROP INDEX worker_identities_name;
CREATE INDEX worker_identities_birth ON worker_identities (nationality, birth_date, worker_id);
CREATE INDEX worker_identities_name ON worker_identities (nationality, name_key, worker_id);
