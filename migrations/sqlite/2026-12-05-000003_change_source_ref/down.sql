ALTER TABLE change_queue DROP COLUMN source_ref;
ALTER TABLE changes DROP COLUMN source_ref;
