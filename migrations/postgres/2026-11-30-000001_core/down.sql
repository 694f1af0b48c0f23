DROP TABLE records;
DROP TABLE worker_identities;
DROP TABLE worker_passports;
DROP TABLE workers;
DROP TABLE signing_keys;
DROP TABLE api_clients;
DROP TABLE agencies;
