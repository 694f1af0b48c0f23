-- Region codes are compared byte by byte whatever the database's locale, so a
-- region and everything below it is one range scan of records_region.
ALTER TABLE records ALTER COLUMN region_code TYPE TEXT COLLATE "C";
