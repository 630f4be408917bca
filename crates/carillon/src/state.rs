//! `carillon state export|import`: the state document of `GET`/`PUT /_carillon/state`
//! (`docs/behaviour.md`, "State and seeds"), read from or written to a database directly, with no
//! server running. Both refuse a database a server holds.

use crate::config::{Database, parse_database};
use crate::server::open_store;
use carillon_service::{Clock, Quotas, Service};
use carillon_store_postgres::Occupancy;
use std::io::Write as _;
use std::path::Path;

async fn open(url: &str) -> Result<Service, String> {
    let database = parse_database(url)?;
    if database == Database::SqliteMemory {
        return Err("an in-memory database holds no state to export or import; give sqlite://PATH or postgres://...".into());
    }
    let store = open_store(&database, Occupancy::Sole).await?;
    Service::new(store, Quotas::default(), Clock::default()).await.map_err(|e| format!("cannot read the database {database:?}: {e}"))
}

/// Writes the database's state document to `file`, or to stdout.
pub async fn export(url: &str, file: Option<&Path>) -> Result<(), String> {
    let service = open(url).await?;
    let out = service.export_state().await.map_err(|e| format!("the export failed: {}", e.message));
    service.store().close().await;
    let mut text = serde_json::to_vec_pretty(&out?).map_err(|e| format!("the export failed: {e}"))?;
    text.push(b'\n');
    match file {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => std::io::stdout().lock().write_all(&text).map_err(|e| format!("cannot write the document: {e}")),
    }
}

/// Replaces all state of the database with `file`'s document; answers what it imported, as
/// `PUT /_carillon/state` does.
pub async fn import(url: &str, file: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let doc = crate::control::parse_state(&text).map_err(|e| format!("{}: {}", file.display(), e.message))?;
    let wire = carillon_api::Wire::load().map_err(|e| format!("cannot load the service model: {e}"))?;
    let service = open(url).await?;
    let out = service.import_state(wire.identity_model(), wire.messaging_model(), doc).await;
    service.store().close().await;
    let n = out.map_err(|e| format!("{}: {}", file.display(), e.message))?;
    Ok(serde_json::json!({ "Imported": crate::control::counts(&n) }))
}
