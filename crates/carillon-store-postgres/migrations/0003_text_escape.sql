-- Version 3: TEXT cannot hold U+0000, so from this version on the store keeps U+0000 as U+0001 '0'
-- and U+0001 as U+0001 '1' (see src/text.rs). No U+0000 could be stored before; a U+0001 could,
-- and is rewritten here to its escaped form. Rows without U+0001 (nearly all) are left alone.

UPDATE app_instances SET arn = replace(arn, chr(1), chr(1) || '1') WHERE strpos(arn, chr(1)) > 0;
UPDATE app_instances SET account = replace(account, chr(1), chr(1) || '1') WHERE strpos(account, chr(1)) > 0;
UPDATE app_instances SET region = replace(region, chr(1), chr(1) || '1') WHERE strpos(region, chr(1)) > 0;
UPDATE app_instances SET name = replace(name, chr(1), chr(1) || '1') WHERE strpos(name, chr(1)) > 0;
UPDATE app_instances SET metadata = replace(metadata, chr(1), chr(1) || '1') WHERE strpos(metadata, chr(1)) > 0;
UPDATE users SET arn = replace(arn, chr(1), chr(1) || '1') WHERE strpos(arn, chr(1)) > 0;
UPDATE users SET app_instance_arn = replace(app_instance_arn, chr(1), chr(1) || '1') WHERE strpos(app_instance_arn, chr(1)) > 0;
UPDATE users SET user_id = replace(user_id, chr(1), chr(1) || '1') WHERE strpos(user_id, chr(1)) > 0;
UPDATE users SET name = replace(name, chr(1), chr(1) || '1') WHERE strpos(name, chr(1)) > 0;
UPDATE users SET metadata = replace(metadata, chr(1), chr(1) || '1') WHERE strpos(metadata, chr(1)) > 0;
UPDATE bots SET arn = replace(arn, chr(1), chr(1) || '1') WHERE strpos(arn, chr(1)) > 0;
UPDATE bots SET app_instance_arn = replace(app_instance_arn, chr(1), chr(1) || '1') WHERE strpos(app_instance_arn, chr(1)) > 0;
UPDATE bots SET name = replace(name, chr(1), chr(1) || '1') WHERE strpos(name, chr(1)) > 0;
UPDATE bots SET metadata = replace(metadata, chr(1), chr(1) || '1') WHERE strpos(metadata, chr(1)) > 0;
UPDATE bots SET configuration = replace(configuration, chr(1), chr(1) || '1') WHERE strpos(configuration, chr(1)) > 0;
UPDATE admins SET app_instance_arn = replace(app_instance_arn, chr(1), chr(1) || '1') WHERE strpos(app_instance_arn, chr(1)) > 0;
UPDATE admins SET member_arn = replace(member_arn, chr(1), chr(1) || '1') WHERE strpos(member_arn, chr(1)) > 0;
UPDATE endpoints SET user_arn = replace(user_arn, chr(1), chr(1) || '1') WHERE strpos(user_arn, chr(1)) > 0;
UPDATE endpoints SET endpoint_id = replace(endpoint_id, chr(1), chr(1) || '1') WHERE strpos(endpoint_id, chr(1)) > 0;
UPDATE endpoints SET app_instance_arn = replace(app_instance_arn, chr(1), chr(1) || '1') WHERE strpos(app_instance_arn, chr(1)) > 0;
UPDATE endpoints SET name = replace(name, chr(1), chr(1) || '1') WHERE strpos(name, chr(1)) > 0;
UPDATE endpoints SET resource_arn = replace(resource_arn, chr(1), chr(1) || '1') WHERE strpos(resource_arn, chr(1)) > 0;
UPDATE endpoints SET device_token = replace(device_token, chr(1), chr(1) || '1') WHERE strpos(device_token, chr(1)) > 0;
UPDATE endpoints SET voip_device_token = replace(voip_device_token, chr(1), chr(1) || '1') WHERE strpos(voip_device_token, chr(1)) > 0;
UPDATE tags SET resource_arn = replace(resource_arn, chr(1), chr(1) || '1') WHERE strpos(resource_arn, chr(1)) > 0;
UPDATE tags SET app_instance_arn = replace(app_instance_arn, chr(1), chr(1) || '1') WHERE strpos(app_instance_arn, chr(1)) > 0;
UPDATE tags SET key = replace(key, chr(1), chr(1) || '1') WHERE strpos(key, chr(1)) > 0;
UPDATE tags SET value = replace(value, chr(1), chr(1) || '1') WHERE strpos(value, chr(1)) > 0;
UPDATE idempotency SET account = replace(account, chr(1), chr(1) || '1') WHERE strpos(account, chr(1)) > 0;
UPDATE idempotency SET region = replace(region, chr(1), chr(1) || '1') WHERE strpos(region, chr(1)) > 0;
UPDATE idempotency SET operation = replace(operation, chr(1), chr(1) || '1') WHERE strpos(operation, chr(1)) > 0;
UPDATE idempotency SET token = replace(token, chr(1), chr(1) || '1') WHERE strpos(token, chr(1)) > 0;
UPDATE idempotency SET fingerprint = replace(fingerprint, chr(1), chr(1) || '1') WHERE strpos(fingerprint, chr(1)) > 0;
UPDATE idempotency SET resource_arn = replace(resource_arn, chr(1), chr(1) || '1') WHERE strpos(resource_arn, chr(1)) > 0;
UPDATE idempotency SET app_instance_arn = replace(app_instance_arn, chr(1), chr(1) || '1') WHERE strpos(app_instance_arn, chr(1)) > 0;
UPDATE idempotency SET response = replace(response, chr(1), chr(1) || '1') WHERE strpos(response, chr(1)) > 0;
UPDATE purges SET arn = replace(arn, chr(1), chr(1) || '1') WHERE strpos(arn, chr(1)) > 0;
UPDATE purges SET app_instance_arn = replace(app_instance_arn, chr(1), chr(1) || '1') WHERE strpos(app_instance_arn, chr(1)) > 0;
