//! The floor under the server's CPU per request: what SQLite itself spends on the statements of an
//! Update and of a Describe, on the benchmark's own database, without Carillon around them.
//!
//! Run on the server's core after the server has stopped, on the database it served:
//! - updates: `BEGIN`, then `group` times the same `UPDATE` the store runs for
//!   UpdateAppInstanceUserEndpoint, then `COMMIT` (WAL, `synchronous=FULL`: one fsync per group, as
//!   the store's group commit at full load), with no savepoints, queues or replies;
//! - reads: the `SELECT` the store runs for DescribeAppInstanceUserEndpoint, prepared once, each
//!   in its own autocommit snapshot, on a connection set up like the store's read connections.
//!
//! The statements and the connections' settings are the store's own (`carillon_store_sqlite::raw`).
//! CPU is the thread's own user plus system time (which includes the fsync system calls, not the
//! wait for the disk).

use carillon_store_sqlite::raw;
use rusqlite::{Connection, params};
use std::path::Path;
use std::time::{Duration, Instant};

/// One measure: operations done, the thread's CPU and the wall time they took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Measure {
    pub ops: u64,
    pub cpu: Duration,
    pub wall: Duration,
}

impl Measure {
    pub fn cpu_us_per_op(&self) -> f64 {
        if self.ops == 0 { 0.0 } else { self.cpu.as_secs_f64() * 1e6 / self.ops as f64 }
    }

    pub fn ops_per_sec(&self) -> f64 {
        if self.wall.is_zero() { 0.0 } else { self.ops as f64 / self.wall.as_secs_f64() }
    }

    /// The measure as the bench prints it: CPU per statement, rate, count and time.
    pub fn line(&self) -> String {
        format!(
            "{:.1} µs of CPU per statement, {:.0}/s over {} ({:.1} s)",
            self.cpu_us_per_op(),
            self.ops_per_sec(),
            crate::report::thousands(self.ops as usize),
            self.wall.as_secs_f64()
        )
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Floor {
    pub group: usize,
    pub update: Measure,
    pub describe: Measure,
}

/// Measures both, each for about `duration`, on a thread pinned to `cpu` when given.
/// `endpoints` are (user ARN, EndpointId) pairs that exist in `db`.
pub fn measure(db: &Path, endpoints: Vec<(String, String)>, group: usize, duration: Duration, cpu: Option<usize>) -> Result<Floor, String> {
    if endpoints.is_empty() {
        return Err("the floor needs at least one endpoint".into());
    }
    let db = db.to_path_buf();
    on_core(cpu, move || {
        let writer = raw::connection(&db, false).map_err(|e| format!("the floor's writer: {e}"))?;
        let update = updates(&writer, &endpoints, group, duration).map_err(|e| format!("the floor's updates: {e}"))?;
        let reader = raw::connection(&db, true).map_err(|e| format!("the floor's reader: {e}"))?;
        let describe = reads(&reader, &endpoints, duration).map_err(|e| format!("the floor's reads: {e}"))?;
        Ok(Floor { group, update, describe })
    })
}

/// The Describe's `SELECT` alone, for about `duration`, over `endpoints` in turn, on a thread pinned
/// to `cpu` when given: the scale scenario's floor, measured on the large and the small AppInstance
/// of one database.
pub fn measure_reads(db: &Path, endpoints: Vec<(String, String)>, duration: Duration, cpu: Option<usize>) -> Result<Measure, String> {
    if endpoints.is_empty() {
        return Err("the floor needs at least one endpoint".into());
    }
    let db = db.to_path_buf();
    on_core(cpu, move || {
        let reader = raw::connection(&db, true).map_err(|e| format!("the floor's reader: {e}"))?;
        reads(&reader, &endpoints, duration).map_err(|e| format!("the floor's reads: {e}"))
    })
}

/// Runs `f` on a thread of its own, pinned to `cpu` when given.
fn on_core<T: Send + 'static>(cpu: Option<usize>, f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    std::thread::spawn(move || {
        if let Some(c) = cpu {
            core_affinity::set_for_current(core_affinity::CoreId { id: c });
        }
        f()
    })
    .join()
    .map_err(|_| "the floor's thread panicked".to_string())?
}

fn updates(conn: &Connection, endpoints: &[(String, String)], group: usize, duration: Duration) -> rusqlite::Result<Measure> {
    let mut begin = conn.prepare("BEGIN")?;
    let mut commit = conn.prepare("COMMIT")?;
    let mut update = conn.prepare(raw::UPDATE_ENDPOINT)?;
    let mut run = |n: usize, next: &mut usize, flip: &mut bool| -> rusqlite::Result<()> {
        for _ in 0..n {
            begin.execute([])?;
            for _ in 0..group {
                let (user, id) = &endpoints[*next % endpoints.len()];
                *next += 1;
                *flip = !*flip;
                let name = if *flip { "floor-a" } else { "floor-b" };
                let changed = update.execute(params![user, id, name, None::<&str>, None::<&str>, None::<&str>, now_ms()])?;
                if changed != 1 {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
            }
            commit.execute([])?;
        }
        Ok(())
    };
    let (mut next, mut flip) = (0usize, false);
    run(20, &mut next, &mut flip)?;
    let (start, cpu0) = (Instant::now(), thread_cpu());
    let mut groups = 0u64;
    while start.elapsed() < duration {
        run(10, &mut next, &mut flip)?;
        groups += 10;
    }
    Ok(Measure { ops: groups * group as u64, cpu: thread_cpu().saturating_sub(cpu0), wall: start.elapsed() })
}

fn reads(conn: &Connection, endpoints: &[(String, String)], duration: Duration) -> rusqlite::Result<Measure> {
    let mut select = conn.prepare(raw::GET_ENDPOINT)?;
    let columns = select.column_count();
    let mut next = 0usize;
    let mut run = |n: usize| -> rusqlite::Result<()> {
        for _ in 0..n {
            let (user, id) = &endpoints[next % endpoints.len()];
            next += 1;
            let mut rows = select.query(params![user, id])?;
            let row = rows.next()?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            // Read every column, as the store decodes the whole record.
            for i in 0..columns {
                let _ = row.get_ref(i)?;
            }
        }
        Ok(())
    };
    run(1000)?;
    let (start, cpu0) = (Instant::now(), thread_cpu());
    let mut ops = 0u64;
    while start.elapsed() < duration {
        run(1000)?;
        ops += 1000;
    }
    Ok(Measure { ops, cpu: thread_cpu().saturating_sub(cpu0), wall: start.elapsed() })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// This thread's user plus system CPU time, from `/proc/thread-self/stat` (clock ticks of 10 ms:
/// over runs of seconds, well under 1%).
fn thread_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|t| {
            let rest = t[t.rfind(')')? + 2..].to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    Duration::from_secs_f64(ticks as f64 / crate::process::TICKS_PER_SEC)
}
