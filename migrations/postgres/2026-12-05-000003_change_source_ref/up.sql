-- The pushing agency's own id of the changed record (its source_ref), so a
-- subscriber can match changes of records it knows only by its own id,
-- deletes included.
ALTER TABLE changes ADD COLUMN source_ref TEXT;
ALTER TABLE change_queue ADD COLUMN source_ref TEXT;
