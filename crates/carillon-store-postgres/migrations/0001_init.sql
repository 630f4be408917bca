-- Carillon's PostgreSQL schema, version 1: the same tables, keys and indexes as the SQLite
-- schema. `seq` is an identity column: creation order, and the seek key of lists.
-- The migration runner inserts the random `token_secret` into `meta` in the same transaction.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE app_instances (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn              TEXT NOT NULL UNIQUE,
    account          TEXT NOT NULL,
    region           TEXT NOT NULL,
    name             TEXT NOT NULL,
    metadata         TEXT,
    created_ms       BIGINT NOT NULL,
    updated_ms       BIGINT NOT NULL,
    retention_days   INTEGER,
    retention_set_ms BIGINT
);
CREATE INDEX app_instances_scope ON app_instances (account, region, seq);

CREATE TABLE users (
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn                  TEXT NOT NULL UNIQUE,
    app_instance_arn     TEXT NOT NULL,
    user_id              TEXT NOT NULL,
    name                 TEXT NOT NULL,
    metadata             TEXT,
    created_ms           BIGINT NOT NULL,
    updated_ms           BIGINT NOT NULL,
    expiration_days      INTEGER,
    expiration_criterion TEXT,
    expires_at_ms        BIGINT
);
CREATE INDEX users_instance ON users (app_instance_arn, seq);
CREATE INDEX users_expiry ON users (expires_at_ms) WHERE expires_at_ms IS NOT NULL;

CREATE TABLE bots (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn              TEXT NOT NULL UNIQUE,
    app_instance_arn TEXT NOT NULL,
    name             TEXT,
    metadata         TEXT,
    configuration    TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    updated_ms       BIGINT NOT NULL
);
CREATE INDEX bots_instance ON bots (app_instance_arn, seq);

CREATE TABLE admins (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_instance_arn TEXT NOT NULL,
    member_arn       TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    UNIQUE (app_instance_arn, member_arn)
);
CREATE INDEX admins_instance ON admins (app_instance_arn, seq);
CREATE INDEX admins_member ON admins (member_arn);

CREATE TABLE endpoints (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_arn          TEXT NOT NULL,
    endpoint_id       TEXT NOT NULL,
    app_instance_arn  TEXT NOT NULL,
    name              TEXT,
    endpoint_type     TEXT NOT NULL,
    resource_arn      TEXT NOT NULL,
    device_token      TEXT NOT NULL,
    voip_device_token TEXT,
    allow_messages    TEXT NOT NULL,
    status            TEXT NOT NULL,
    status_reason     TEXT,
    created_ms        BIGINT NOT NULL,
    updated_ms        BIGINT NOT NULL,
    UNIQUE (user_arn, endpoint_id),
    UNIQUE (user_arn, device_token)
);
CREATE INDEX endpoints_user ON endpoints (user_arn, seq);
CREATE INDEX endpoints_instance ON endpoints (app_instance_arn);

CREATE TABLE tags (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    resource_arn     TEXT NOT NULL,
    app_instance_arn TEXT NOT NULL,
    key              TEXT NOT NULL,
    value            TEXT NOT NULL,
    UNIQUE (resource_arn, key)
);
CREATE INDEX tags_instance ON tags (app_instance_arn);

CREATE TABLE idempotency (
    account          TEXT NOT NULL,
    region           TEXT NOT NULL,
    operation        TEXT NOT NULL,
    token            TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    resource_arn     TEXT NOT NULL,
    app_instance_arn TEXT NOT NULL,
    response         TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    PRIMARY KEY (account, region, operation, token)
);
CREATE INDEX idempotency_resource ON idempotency (resource_arn);
CREATE INDEX idempotency_instance ON idempotency (app_instance_arn);
