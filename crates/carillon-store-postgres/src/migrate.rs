//! Schema migrations, applied in order when a store connects.
//!
//! All pending migrations run in one transaction that first takes a transaction-level advisory
//! lock, so that servers starting together on one database apply each migration exactly once:
//! the others wait for the lock, then find nothing left to do. The lock goes with the transaction,
//! whatever happens to it (even a lost connection), so it never outlives a failed start.
//! `carillon_schema_version` records each migration applied.

use crate::tx::{Conn, Failure, classify};
use carillon_store::{StoreError, StoreResult};
use std::time::Duration;

const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_purges.sql"),
    include_str!("../migrations/0003_text_escape.sql"),
    include_str!("../migrations/0004_user_counts.sql"),
    include_str!("../migrations/0005_messaging.sql"),
    include_str!("../migrations/0006_push.sql"),
    include_str!("../migrations/0007_channel_flows.sql"),
];

/// The advisory lock key of Carillon's migrations: "carillon" in ASCII.
const LOCK_KEY: i64 = 0x6361_7269_6c6c_6f6e;

/// How long a starting server waits for another one's migrations before it gives up.
const LOCK_WAIT: Duration = Duration::from_secs(60);
/// How long the migration transaction may take in all.
const LIMIT: Duration = Duration::from_secs(180);

fn failed(context: &str, f: Failure) -> StoreError {
    match classify(&f).0 {
        StoreError::Unavailable(m) => StoreError::Unavailable(format!("{context}: {m}")),
        StoreError::Conflict(m) | StoreError::Internal(m) => StoreError::Internal(format!("{context}: {m}")),
    }
}

/// Applies the pending migrations on `conn`, which must not be inside a transaction. On error
/// the caller drops the connection, which rolls back whatever was done.
pub fn apply(conn: &Conn) -> StoreResult<()> {
    let client = &conn.client;
    let step = |sql: &str| conn.wait(LIMIT, client.batch_execute(sql));
    step(&format!(
        "BEGIN ISOLATION LEVEL READ COMMITTED; \
         SET LOCAL lock_timeout = {}; SET LOCAL statement_timeout = {};",
        LOCK_WAIT.as_millis(),
        LIMIT.as_millis()
    ))
    .map_err(|f| failed("cannot start the migrations", f))?;
    step(&format!("SELECT pg_advisory_xact_lock({LOCK_KEY})")).map_err(|f| failed("cannot take the migration lock", f))?;
    step(
        "CREATE TABLE IF NOT EXISTS carillon_schema_version (\
             version    INTEGER PRIMARY KEY, \
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .map_err(|f| failed("cannot create the schema version table", f))?;
    let version: i32 = conn
        .wait(LIMIT, client.query_one("SELECT COALESCE(MAX(version), 0) FROM carillon_schema_version", &[]))
        .map_err(|f| failed("cannot read the schema version", f))?
        .try_get(0)
        .map_err(|e| StoreError::Internal(format!("cannot read the schema version: {e}")))?;
    if version < 0 || version as usize > MIGRATIONS.len() {
        let _ = step("ROLLBACK");
        return Err(StoreError::Unavailable(format!(
            "the database has schema version {version}, newer than this carillon knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let context = format!("migration {} failed", i + 1);
        step(sql).map_err(|f| failed(&context, f))?;
        if i == 0 {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| StoreError::Internal(format!("no randomness for the token secret: {e}")))?;
            conn.wait(LIMIT, client.execute("INSERT INTO meta (key, value) VALUES ('token_secret', $1)", &[&&secret[..]]))
                .map_err(|f| failed(&context, f))?;
        }
        let number = i as i32 + 1;
        conn.wait(LIMIT, client.execute("INSERT INTO carillon_schema_version (version) VALUES ($1)", &[&number]))
            .map_err(|f| failed(&context, f))?;
    }
    step("COMMIT").map_err(|f| failed("cannot commit the migrations", f))
}
