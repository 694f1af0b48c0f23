DROP TABLE worker_documents;
