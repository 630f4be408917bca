-- Version 5: push notifications. The outbox of push decisions, newest N kept, and the push-failure
-- markers. A device token is stored only as its SHA-256 (lowercase hex), never raw.
CREATE TABLE push_outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms             INTEGER NOT NULL,
    account_id          TEXT NOT NULL,
    region              TEXT NOT NULL,
    app_instance_arn    TEXT NOT NULL,
    channel_arn         TEXT NOT NULL,
    message_id          TEXT NOT NULL,
    sender_arn          TEXT NOT NULL,
    recipient_arn       TEXT NOT NULL,
    endpoint_id         TEXT,
    endpoint_type       TEXT,
    resource_arn        TEXT,
    device_token_sha256 TEXT,
    push_type           TEXT NOT NULL,
    title               TEXT,
    body                TEXT,
    outcome             TEXT NOT NULL,
    reason              TEXT
);
-- Resets find an AppInstance's entries; the control plane's filters are served by a scan of at most
-- the outbox limit.
CREATE INDEX push_outbox_instance ON push_outbox (app_instance_arn);

-- target_kind is DEVICE_TOKEN (target: the token's SHA-256) or RESOURCE_ARN (target: the ARN).
CREATE TABLE push_failure_markers (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    target_kind   TEXT NOT NULL,
    target        TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    UNIQUE (target_kind, target)
);
