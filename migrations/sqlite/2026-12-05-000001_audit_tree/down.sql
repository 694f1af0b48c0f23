DROP TRIGGER audit_tree_no_delete;
DROP TRIGGER audit_tree_no_update;
DROP TABLE audit_checkpoints;
DROP TABLE audit_tree;
