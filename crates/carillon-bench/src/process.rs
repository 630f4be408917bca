//! Child servers (Carillon and the baseline): spawning them pinned to a core (the process itself is
//! carillon-testing's `ServerProcess`), and reading their memory and CPU from /proc.

use carillon_testing::{Launch, ServerProcess};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// A child server process (`carillon-testing`'s), with the figures the bench reads of it.
pub struct Server {
    process: ServerProcess,
    pub pid: u32,
    pub addr: SocketAddr,
    /// The time from spawn to the `listening on` line.
    pub to_listening: Duration,
    pub spawned_at: Instant,
}

type Job = Box<dyn FnOnce() + Send>;

/// A thread started before the load generator pins itself, so it keeps the process's original
/// affinity: children are spawned from it (or from threads it starts), never from a pinned thread.
static SPAWNER: std::sync::OnceLock<Mutex<mpsc::Sender<Job>>> = std::sync::OnceLock::new();

/// Starts the spawner thread. Call before pinning the current thread.
pub fn init_spawner() {
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("spawner".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("spawner thread");
        Mutex::new(tx)
    });
}

/// Runs `f` with the process's original affinity, or on a thread pinned to `cpu`: a process
/// spawned there inherits that affinity, and so do all the threads it starts.
fn on_core<T: Send + 'static>(cpu: Option<usize>, f: impl FnOnce() -> T + Send + 'static) -> T {
    init_spawner();
    let (tx, rx) = mpsc::channel();
    let job: Job = Box::new(move || {
        let run = move || {
            if let Some(id) = cpu
                && !core_affinity::set_for_current(core_affinity::CoreId { id })
            {
                eprintln!("carillon-bench: warning: could not pin to cpu {id}");
            }
            let _ = tx.send(f());
        };
        if cpu.is_some() {
            let _ = std::thread::spawn(run).join();
        } else {
            run();
        }
    });
    SPAWNER.get().expect("spawner").lock().expect("spawner lock").send(job).expect("spawner alive");
    rx.recv().expect("spawn result")
}

impl Server {
    /// Spawns `program args` pinned to `cpu`, waits (up to 60 s) for its listening line.
    pub fn spawn(program: &Path, args: &[String], cpu: Option<usize>) -> Result<Server, String> {
        let process = Launch::new(program).args(args).listen_timeout(Duration::from_secs(60)).keep_lines(20).start_via(move |cmd| {
            on_core(cpu, move || {
                let mut cmd = cmd;
                cmd.spawn()
            })
        })?;
        Ok(Server {
            pid: process.pid(),
            addr: process.addr(),
            to_listening: process.listening_after(),
            spawned_at: process.spawned_at(),
            process,
        })
    }

    pub fn stderr_tail(&self) -> String {
        self.process.log_tail(20)
    }

    /// SIGTERM, then waits up to 30 s (SIGKILL after). Returns the time it took to exit.
    pub fn stop(mut self) -> Duration {
        let t = Instant::now();
        let _ = self.process.terminate(Duration::from_secs(30));
        t.elapsed()
    }
}

/// One blocking `GET path` on a new connection: the status, or None if it could not connect.
pub fn get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.set_nodelay(true);
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).ok()?;
    let mut buf = Vec::with_capacity(512);
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Polls `GET /_carillon/health` until 200 (every 1 ms, up to `limit`).
pub fn wait_healthy(addr: SocketAddr, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if get_status(addr, "/_carillon/health") == Some(200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// (VmRSS, VmHWM) of a process, in KiB.
pub fn memory_kib(pid: u32) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> { text.lines().find(|l| l.starts_with(name))?.split_whitespace().nth(1)?.parse().ok() };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// User plus system CPU time of a process (all its threads), in clock ticks (1/100 s on Linux).
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // after "pid (comm) ": state=0 ... utime=11 stime=12
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

pub const TICKS_PER_SEC: f64 = 100.0;

/// Per-thread CPU ticks and context switches of a process: tid -> (name, ticks, switches).
pub type Threads = std::collections::BTreeMap<u32, (String, u64, u64)>;

pub fn threads(pid: u32) -> Threads {
    let mut out = Threads::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let base = e.path();
        let name = std::fs::read_to_string(base.join("comm")).map(|s| s.trim().to_string()).unwrap_or_default();
        let ticks = std::fs::read_to_string(base.join("stat")).ok().and_then(|t| {
            let rest = t[t.rfind(')')? + 2..].to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        });
        let switches = std::fs::read_to_string(base.join("status")).ok().map(|t| {
            t.lines()
                .filter(|l| l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>()
        });
        out.insert(tid, (name, ticks.unwrap_or(0), switches.unwrap_or(0)));
    }
    out
}

/// Between two snapshots: CPU by thread name ("name xN" -> share of one core, over `wall`
/// seconds) and the total number of context switches.
pub fn thread_delta(before: &Threads, after: &Threads, wall: f64) -> (Vec<(String, f64)>, u64) {
    let mut by_name: std::collections::BTreeMap<String, (usize, u64)> = std::collections::BTreeMap::new();
    let mut switches = 0;
    for (tid, (name, ticks, cs)) in after {
        let (t0, c0) = before.get(tid).map(|b| (b.1, b.2)).unwrap_or((0, 0));
        let dt = ticks.saturating_sub(t0);
        switches += cs.saturating_sub(c0);
        let e = by_name.entry(name.clone()).or_default();
        if dt > 0 {
            e.0 += 1;
        }
        e.1 += dt;
    }
    let mut v: Vec<(String, f64)> = by_name
        .into_iter()
        .filter(|(_, (_, t))| *t > 0)
        .map(|(n, (k, t))| (format!("{n} x{k}"), t as f64 / TICKS_PER_SEC / wall))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1));
    (v, switches)
}

/// Samples a process's VmRSS every 10 ms on a background thread, keeping the highest.
pub struct RssPoller {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<u64>>,
}

impl RssPoller {
    pub fn start(pid: Option<u32>) -> RssPoller {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = pid.map(|pid| {
            std::thread::spawn(move || {
                let mut peak = 0;
                while !s.load(Ordering::Relaxed) {
                    if let Some((rss, _)) = memory_kib(pid) {
                        peak = peak.max(rss);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                if let Some((rss, _)) = memory_kib(pid) {
                    peak = peak.max(rss);
                }
                peak
            })
        });
        RssPoller { stop, handle }
    }

    /// The highest VmRSS seen, in KiB.
    pub fn finish(mut self) -> Option<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok())
    }
}

/// What this machine is: nproc, CPU model, kernel, load average now.
pub fn machine() -> (usize, String, String) {
    // Counted from /proc/cpuinfo: available_parallelism() would see this thread's pinning.
    let nproc = std::fs::read_to_string("/proc/cpuinfo")
        .map(|t| t.lines().filter(|l| l.starts_with("processor")).count())
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default();
    (nproc, model, kernel)
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}
