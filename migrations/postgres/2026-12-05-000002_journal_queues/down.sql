DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM change_queue) OR EXISTS (SELECT 1 FROM audit_queue) THEN
        RAISE EXCEPTION 'the journal queues are not empty: start a server (or run sinergi audit verify) to sequence them first';
    END IF;
END $$;
DROP TABLE audit_queue;
DROP TABLE change_queue;
