-- Version 4: the number of users of each AppInstance, kept by a trigger in the transaction that inserts or
-- deletes a user (whatever deletes it: a delete, a cascade, a purge batch, a reset, an import), so that
-- the users quota is checked by one lookup instead of counting up to 100,000 index entries. Writers into
-- one AppInstance already hold its owner lock, so its row adds no contention.
CREATE TABLE user_counts (
    app_instance_arn TEXT PRIMARY KEY,
    n                BIGINT NOT NULL
);
INSERT INTO user_counts (app_instance_arn, n) SELECT app_instance_arn, COUNT(*) FROM users GROUP BY app_instance_arn;
CREATE FUNCTION carillon_count_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_counts (app_instance_arn, n) VALUES (NEW.app_instance_arn, 1)
            ON CONFLICT (app_instance_arn) DO UPDATE SET n = user_counts.n + 1;
        RETURN NEW;
    END IF;
    UPDATE user_counts SET n = n - 1 WHERE app_instance_arn = OLD.app_instance_arn;
    DELETE FROM user_counts WHERE app_instance_arn = OLD.app_instance_arn AND n <= 0;
    RETURN OLD;
END;
$$;
CREATE TRIGGER users_counted AFTER INSERT OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION carillon_count_users();
