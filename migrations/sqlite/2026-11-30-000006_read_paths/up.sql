-- SQLite already compares text byte by byte (BINARY), which the region range
-- filter relies on.

-- Records of one employer or under one parent come out of the index already
-- in key order. Without it SQLite walks every record of the type in key
-- order instead, and the findings engine's reads grow with the whole table.
DROP INDEX records_employer;
CREATE INDEX records_employer ON records (record_type, employer_nib, record_key);
DROP INDEX records_ref;
CREATE INDEX records_ref ON records (record_type, ref_key, record_key);

-- A region page (region range, status, key order) is read from the index
-- alone; only the page's own rows are fetched.
DROP INDEX records_region;
CREATE INDEX records_region ON records (record_type, region_code, status, record_key);
