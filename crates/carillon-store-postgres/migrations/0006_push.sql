-- Version 6: push notifications, the same tables and indexes as SQLite's version 5. The outbox of push
-- decisions, newest N kept, and the push-failure markers. A device token is stored only as its SHA-256
-- (lowercase hex), never raw. Texts are escaped as every text since version 3 is (src/text.rs).
CREATE TABLE push_outbox (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_ms             BIGINT NOT NULL,
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
CREATE INDEX push_outbox_instance ON push_outbox (app_instance_arn);

-- target_kind is DEVICE_TOKEN (target: the token's SHA-256) or RESOURCE_ARN (target: the ARN).
CREATE TABLE push_failure_markers (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    target_kind   TEXT NOT NULL,
    target        TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    created_ms    BIGINT NOT NULL,
    UNIQUE (target_kind, target)
);
