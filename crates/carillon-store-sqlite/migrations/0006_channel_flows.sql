-- Channel flows and streaming configurations: configuration only, stored and returned, never invoked.
-- Every row carries the ARN of its AppInstance, so that a purge or a reset of the AppInstance finds it.
CREATE TABLE channel_flows (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    arn              TEXT NOT NULL UNIQUE,
    app_instance_arn TEXT NOT NULL,
    name             TEXT NOT NULL,
    processors       TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    updated_ms       INTEGER NOT NULL
);
CREATE INDEX channel_flows_instance ON channel_flows (app_instance_arn, seq);

-- A channel's flow; ListChannelsAssociatedWithChannelFlow seeks on (flow, channel creation order).
ALTER TABLE channels ADD COLUMN channel_flow_arn TEXT;
CREATE INDEX channels_flow ON channels (channel_flow_arn, seq) WHERE channel_flow_arn IS NOT NULL;

CREATE TABLE streaming_configurations (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    app_instance_arn TEXT NOT NULL,
    data_type        TEXT NOT NULL,
    resource_arn     TEXT NOT NULL,
    UNIQUE (app_instance_arn, data_type)
);
