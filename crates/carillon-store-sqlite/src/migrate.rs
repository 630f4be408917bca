//! Schema migrations, applied in order at start; `PRAGMA user_version` records the last one.

use carillon_store::{StoreError, StoreResult};
use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_purges.sql"),
    include_str!("../migrations/0003_user_counts.sql"),
    include_str!("../migrations/0004_messaging.sql"),
    include_str!("../migrations/0005_push.sql"),
    include_str!("../migrations/0006_channel_flows.sql"),
];

pub fn apply(conn: &mut Connection) -> StoreResult<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(crate::tx::map_err)?;
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {version}, newer than this carillon knows ({})",
            MIGRATIONS.len()
        )));
    }
    if version as usize == MIGRATIONS.len() {
        return Ok(());
    }
    // Every pending migration in one transaction: one durable commit (one fsync) instead of one
    // each, which is most of a new database's start-up, and a crash leaves the schema as it was.
    let tx = conn.transaction().map_err(crate::tx::map_err)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(crate::tx::map_err)?;
        if i == 0 {
            tx.execute("INSERT INTO meta (key, value) VALUES ('token_secret', randomblob(32))", []).map_err(crate::tx::map_err)?;
        }
    }
    tx.execute_batch(&format!("PRAGMA user_version = {}", MIGRATIONS.len())).map_err(crate::tx::map_err)?;
    tx.commit().map_err(crate::tx::map_err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test fails by panicking
mod tests {
    use super::*;

    fn version(conn: &Connection) -> usize {
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap() as usize
    }

    fn secrets(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM meta WHERE key = 'token_secret'", [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_new_database_gets_every_migration_and_one_secret() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len());
        assert_eq!(secrets(&conn), 1);
        // Again: nothing pending, nothing changes.
        apply(&mut conn).unwrap();
        assert_eq!((version(&conn), secrets(&conn)), (MIGRATIONS.len(), 1));
    }

    #[test]
    fn an_older_database_gets_the_migrations_it_lacks_and_keeps_its_secret() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch(MIGRATIONS[1]).unwrap();
        conn.execute("INSERT INTO meta (key, value) VALUES ('token_secret', x'01')", []).unwrap();
        conn.execute_batch("PRAGMA user_version = 2").unwrap();
        apply(&mut conn).unwrap();
        assert_eq!(version(&conn), MIGRATIONS.len());
        let secret: Vec<u8> = conn.query_row("SELECT value FROM meta WHERE key = 'token_secret'", [], |r| r.get(0)).unwrap();
        assert_eq!(secret, vec![1]);
        // The last migration's tables are there.
        conn.query_row("SELECT COUNT(*) FROM channel_flows", [], |r| r.get::<_, i64>(0)).unwrap();
    }
}
