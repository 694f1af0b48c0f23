DROP INDEX findings_pair;
DROP TABLE worker_documents;
