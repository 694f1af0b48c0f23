DROP TRIGGER audit_tree_no_truncate ON audit_tree;
DROP TRIGGER audit_tree_no_update ON audit_tree;
DROP FUNCTION audit_tree_append_only();
DROP TABLE audit_checkpoints;
DROP TABLE audit_tree;
