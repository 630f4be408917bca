-- Version 3: the number of users of each AppInstance, kept by triggers in the transaction that inserts or
-- deletes a user (whatever deletes it: a delete, a cascade, a purge batch, a reset, an import), so that
-- the users quota is checked by one lookup instead of counting up to 100,000 index entries.
CREATE TABLE user_counts (
    app_instance_arn TEXT PRIMARY KEY,
    n                INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO user_counts (app_instance_arn, n) SELECT app_instance_arn, COUNT(*) FROM users GROUP BY app_instance_arn;
CREATE TRIGGER users_counted AFTER INSERT ON users BEGIN
    INSERT INTO user_counts (app_instance_arn, n) VALUES (NEW.app_instance_arn, 1)
        ON CONFLICT (app_instance_arn) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER users_uncounted AFTER DELETE ON users BEGIN
    UPDATE user_counts SET n = n - 1 WHERE app_instance_arn = OLD.app_instance_arn;
    DELETE FROM user_counts WHERE app_instance_arn = OLD.app_instance_arn AND n <= 0;
END;
