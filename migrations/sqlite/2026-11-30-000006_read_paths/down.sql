DROP INDEX records_ref;
CREATE INDEX records_ref ON records (record_type, ref_key);
DROP INDEX records_employer;
CREATE INDEX records_employer ON records (record_type, employer_nib);
