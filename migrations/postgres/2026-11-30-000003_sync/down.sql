DROP TABLE idempotency_keys;
DROP TABLE change_head;
DROP TABLE changes;
