DROP INDEX records_region;
CREATE INDEX records_region ON records (record_type, region_code);
DROP INDEX records_ref;
CREATE INDEX records_ref ON records (record_type, ref_key);
DROP INDEX records_employer;
CREATE INDEX records_employer ON records (record_type, employer_nib);
