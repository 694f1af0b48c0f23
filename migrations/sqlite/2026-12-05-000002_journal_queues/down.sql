DROP TABLE audit_queue;
DROP TABLE change_queue;
