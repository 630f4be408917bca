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
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction().map_err(crate::tx::map_err)?;
        tx.execute_batch(sql).map_err(crate::tx::map_err)?;
        if i == 0 {
            tx.execute("INSERT INTO meta (key, value) VALUES ('token_secret', randomblob(32))", []).map_err(crate::tx::map_err)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1)).map_err(crate::tx::map_err)?;
        tx.commit().map_err(crate::tx::map_err)?;
    }
    Ok(())
}
