-- The audit log as a Merkle tree (RFC 9162): every complete subtree's hash,
-- and the checkpoints (size + root) signed with a key kept outside the database.
CREATE TABLE audit_tree (
    level INTEGER NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

CREATE TABLE audit_checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root      BLOB NOT NULL,
    signed_at TIMESTAMP NOT NULL,
    note      TEXT NOT NULL
);

CREATE TRIGGER audit_tree_no_update BEFORE UPDATE ON audit_tree
BEGIN
    SELECT RAISE(ABORT, 'audit_tree is append-only');
END;
CREATE TRIGGER audit_tree_no_delete BEFORE DELETE ON audit_tree
BEGIN
    SELECT RAISE(ABORT, 'audit_tree is append-only');
END;
