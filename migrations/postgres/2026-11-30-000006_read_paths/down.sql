ALTER TABLE records ALTER COLUMN region_code TYPE TEXT COLLATE "default";
