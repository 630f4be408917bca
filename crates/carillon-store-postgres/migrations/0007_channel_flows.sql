-- Channel flows and streaming configurations, the same tables, keys and indexes as SQLite's: configuration
-- only, stored and returned, never invoked. Every row carries the ARN of its AppInstance, so that a purge
-- or a reset of the AppInstance finds it. Texts are escaped as every text since version 3 is (src/text.rs).
CREATE TABLE channel_flows (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    arn              TEXT NOT NULL UNIQUE,
    app_instance_arn TEXT NOT NULL,
    name             TEXT NOT NULL,
    processors       TEXT NOT NULL,
    created_ms       BIGINT NOT NULL,
    updated_ms       BIGINT NOT NULL
);
CREATE INDEX channel_flows_instance ON channel_flows (app_instance_arn, seq);

-- A channel's flow; ListChannelsAssociatedWithChannelFlow seeks on (flow, channel creation order).
ALTER TABLE channels ADD COLUMN channel_flow_arn TEXT;
CREATE INDEX channels_flow ON channels (channel_flow_arn, seq) WHERE channel_flow_arn IS NOT NULL;

CREATE TABLE streaming_configurations (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_instance_arn TEXT NOT NULL,
    data_type        TEXT NOT NULL,
    resource_arn     TEXT NOT NULL,
    UNIQUE (app_instance_arn, data_type)
);
