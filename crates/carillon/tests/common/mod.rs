//! The harness is the carillon-testing crate. This adds what only this crate's tests know: where
//! the `carillon` binary under test is, for the tests whose point is a process.

use carillon_testing::Launch;
use std::path::Path;

/// `carillon serve --listen 127.0.0.1:0 --database sqlite://DB --quiet`, not yet started.
pub fn serve_sqlite(db: &Path) -> Launch {
    Launch::serve(env!("CARGO_BIN_EXE_carillon"), &format!("sqlite://{}", db.display()))
}
