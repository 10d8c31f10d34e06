-- Runs once, on the first start of the postgres container (docker-entrypoint-initdb.d):
-- settlement gets POSTGRES_DB (`settlement`), web its own database.
CREATE DATABASE web OWNER patungan;
