-- Version 5: Chime SDK Messaging's chat core, the same tables, keys and indexes as SQLite's version 4.
-- Every row carries the ARN of its AppInstance, so that a purge or a reset of the AppInstance finds it.
-- `{Arn, Name}` pairs are kept as two columns, the name as the operation saw it. Texts are escaped as
-- every text since version 3 is (src/text.rs).
CREATE TABLE channels (
    seq                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn                  TEXT NOT NULL UNIQUE,
    app_instance_arn     TEXT NOT NULL,
    name                 TEXT NOT NULL,
    mode                 TEXT NOT NULL,
    privacy              TEXT NOT NULL,
    metadata             TEXT,
    created_by_arn       TEXT NOT NULL,
    created_by_name      TEXT,
    created_ms           BIGINT NOT NULL,
    updated_ms           BIGINT NOT NULL,
    last_message_ms      BIGINT,
    expiration_days      INTEGER,
    expiration_criterion TEXT,
    expires_at_ms        BIGINT
);
CREATE INDEX channels_instance ON channels (app_instance_arn, seq);
CREATE INDEX channels_privacy ON channels (app_instance_arn, privacy, seq);
CREATE INDEX channels_expiry ON channels (expires_at_ms) WHERE expires_at_ms IS NOT NULL;

CREATE TABLE channel_memberships (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_arn      TEXT NOT NULL,
    app_instance_arn TEXT NOT NULL,
    member_arn       TEXT NOT NULL,
    member_name      TEXT,
    membership_type  TEXT NOT NULL,
    invited_by_arn   TEXT NOT NULL,
    invited_by_name  TEXT,
    created_ms       BIGINT NOT NULL,
    updated_ms       BIGINT NOT NULL,
    read_marker_ms   BIGINT,
    preferences      TEXT,
    UNIQUE (channel_arn, member_arn)
);
CREATE INDEX channel_memberships_channel ON channel_memberships (channel_arn, seq);
CREATE INDEX channel_memberships_type ON channel_memberships (channel_arn, membership_type, seq);
CREATE INDEX channel_memberships_member ON channel_memberships (member_arn, seq);
CREATE INDEX channel_memberships_instance ON channel_memberships (app_instance_arn);

CREATE TABLE channel_moderators (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_arn      TEXT NOT NULL,
    app_instance_arn TEXT NOT NULL,
    moderator_arn    TEXT NOT NULL,
    moderator_name   TEXT,
    created_by_arn   TEXT NOT NULL,
    created_by_name  TEXT,
    created_ms       BIGINT NOT NULL,
    UNIQUE (channel_arn, moderator_arn)
);
CREATE INDEX channel_moderators_channel ON channel_moderators (channel_arn, seq);
CREATE INDEX channel_moderators_member ON channel_moderators (moderator_arn);
CREATE INDEX channel_moderators_instance ON channel_moderators (app_instance_arn);

CREATE TABLE channel_messages (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_arn        TEXT NOT NULL,
    app_instance_arn   TEXT NOT NULL,
    message_id         TEXT NOT NULL,
    message_type       TEXT NOT NULL,
    content            TEXT,
    metadata           TEXT,
    content_type       TEXT,
    message_attributes TEXT,
    sender_arn         TEXT NOT NULL,
    sender_name        TEXT,
    created_ms         BIGINT NOT NULL,
    updated_ms         BIGINT NOT NULL,
    edited_ms          BIGINT,
    redacted           BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (channel_arn, message_id)
);
-- ListChannelMessages seeks on (created_ms, seq) in either direction: one index seek at any depth.
CREATE INDEX channel_messages_time ON channel_messages (channel_arn, created_ms, seq);
-- Retention deletes an AppInstance's oldest messages first; purges and resets find them by AppInstance.
CREATE INDEX channel_messages_instance ON channel_messages (app_instance_arn, created_ms);

-- The number of channels of each AppInstance, kept by a trigger as user_counts is (version 4). Writers
-- into one AppInstance already hold its owner lock, so its row adds no contention.
CREATE TABLE channel_counts (
    app_instance_arn TEXT PRIMARY KEY,
    n                BIGINT NOT NULL
);
CREATE FUNCTION carillon_count_channels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO channel_counts (app_instance_arn, n) VALUES (NEW.app_instance_arn, 1)
            ON CONFLICT (app_instance_arn) DO UPDATE SET n = channel_counts.n + 1;
        RETURN NEW;
    END IF;
    UPDATE channel_counts SET n = n - 1 WHERE app_instance_arn = OLD.app_instance_arn;
    DELETE FROM channel_counts WHERE app_instance_arn = OLD.app_instance_arn AND n <= 0;
    RETURN OLD;
END;
$$;
CREATE TRIGGER channels_counted AFTER INSERT OR DELETE ON channels FOR EACH ROW EXECUTE FUNCTION carillon_count_channels();
