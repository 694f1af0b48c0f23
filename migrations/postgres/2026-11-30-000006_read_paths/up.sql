-- Region codes are compared byte by byte whatever the database's locale, so a
-- region and everything below it is one range scan of records_region.
ALTER TABLE records ALTER COLUMN region_code TYPE TEXT COLLATE "C";

-- Records of one employer or under one parent come out of the index already
-- in key order (the order of every list and of the findings engine's reads).
DROP INDEX records_employer;
CREATE INDEX records_employer ON records (record_type, employer_nib, record_key);
DROP INDEX records_ref;
CREATE INDEX records_ref ON records (record_type, ref_key, record_key);

-- A region page (region range, status, key order) is read from the index
-- alone; only the page's own rows are fetched.
DROP INDEX records_region;
CREATE INDEX records_region ON records (record_type, region_code, status, record_key);
