//! A PostgreSQL database of a test's own, made with `psql` and dropped afterwards.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

/// A database made on the server `CARILLON_TEST_POSTGRES_URL` names; dropped (with its
/// connections) on drop.
pub struct PostgresDb {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDb {
    /// A fresh database on the server `CARILLON_TEST_POSTGRES_URL` names; `None` when that
    /// variable is not set. Panics when the database cannot be made.
    pub fn fresh() -> Option<PostgresDb> {
        let admin_url = std::env::var("CARILLON_TEST_POSTGRES_URL").ok().filter(|v| !v.is_empty())?;
        Some(Self::create_on(&admin_url).unwrap_or_else(|e| panic!("{e}")))
    }

    /// A fresh database on the server `admin_url` names (a URL of a database there to connect to).
    pub fn create_on(admin_url: &str) -> Result<PostgresDb, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("carillon_sdk_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let url = with_database(admin_url, &name).ok_or_else(|| format!("not a database URL: {admin_url}"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(PostgresDb { admin_url: admin_url.to_string(), name, url })
    }

    /// Whether the tests run on PostgreSQL: `CARILLON_TEST_BACKEND=postgres`. Panics when that is
    /// asked for without `CARILLON_TEST_POSTGRES_URL`.
    pub fn wanted() -> bool {
        if std::env::var("CARILLON_TEST_BACKEND").ok().as_deref() != Some("postgres") {
            return false;
        }
        if std::env::var("CARILLON_TEST_POSTGRES_URL").map(|v| v.is_empty()).unwrap_or(true) {
            panic!("CARILLON_TEST_BACKEND=postgres needs CARILLON_TEST_POSTGRES_URL");
        }
        true
    }

    /// The URL a server connects with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        let _ = psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql").arg(url).arg("-qc").arg(sql).output().map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(format!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr).trim())) }
}

/// `url` with its database (the path) replaced by `db`, its query kept.
fn with_database(url: &str, db: &str) -> Option<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    Some(match query {
        Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
        None => format!("{scheme}://{authority}/{db}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(with_database("postgres://postgres@127.0.0.1:5432/test", "x").as_deref(), Some("postgres://postgres@127.0.0.1:5432/x"));
        assert_eq!(
            with_database("postgresql://u:p@h:6000?sslmode=disable", "x").as_deref(),
            Some("postgresql://u:p@h:6000/x?sslmode=disable")
        );
        assert_eq!(with_database("postgres://h", "x").as_deref(), Some("postgres://h/x"));
        assert_eq!(with_database("no scheme", "x"), None);
    }
}
