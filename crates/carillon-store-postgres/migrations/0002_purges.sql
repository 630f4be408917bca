-- Version 2: the queue of large deletes purged in the background (the same table as SQLite's).
CREATE TABLE purges (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             TEXT NOT NULL,
    arn              TEXT NOT NULL,
    app_instance_arn TEXT NOT NULL,
    created_ms       BIGINT NOT NULL
);
CREATE INDEX purges_arn ON purges (arn);
