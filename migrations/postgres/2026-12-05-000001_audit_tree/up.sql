-- The audit log as a Merkle tree (RFC 9162): every complete subtree's hash,
-- and the checkpoints (size + root) signed with a key kept outside the database.
CREATE TABLE audit_tree (
    level INTEGER NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root      BYTEA NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    note      TEXT NOT NULL
);

CREATE FUNCTION audit_tree_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_tree is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_tree_no_update BEFORE UPDATE OR DELETE ON audit_tree
    FOR EACH ROW EXECUTE FUNCTION audit_tree_append_only();
CREATE TRIGGER audit_tree_no_truncate BEFORE TRUNCATE ON audit_tree
    FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_append_only();
