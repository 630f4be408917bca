-- Version 2: the queue of large deletes purged in the background. A queued purge's parent row is
-- gone already; its children stay until the purge's batches have removed them.
CREATE TABLE purges (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind             TEXT NOT NULL,
    arn              TEXT NOT NULL,
    app_instance_arn TEXT NOT NULL,
    created_ms       INTEGER NOT NULL
);
CREATE INDEX purges_arn ON purges (arn);
