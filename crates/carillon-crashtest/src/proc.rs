//! The processes under test: a `carillon serve` child, and the PostgreSQL server it may use.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `carillon serve`.
pub struct Server {
    child: Child,
    pub url: String,
    pub pid: u32,
    /// Its stderr lines (the last ones), for diagnosis.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `bin serve --listen 127.0.0.1:0 --database URL --quiet` and waits for its listening line.
    pub fn start(bin: &Path, database: &str, extra: &[String]) -> Result<Server, String> {
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--database")
            .arg(database)
            .arg("--quiet")
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let pid = child.id();
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(i) = line.find("listening on ") {
                    let url = line[i + "listening on ".len()..].split_whitespace().next().unwrap_or_default().to_string();
                    let _ = tx.send(url);
                    sent = true;
                }
                if let Ok(mut l) = log2.lock() {
                    l.push(line);
                    if l.len() > 200 {
                        l.drain(..100);
                    }
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => Ok(Server { child, url, pid, log }),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                std::thread::sleep(Duration::from_millis(50));
                let lines = log.lock().map(|l| l.join(" | ")).unwrap_or_default();
                Err(format!("carillon did not print its listening line (exit {status:?}): {lines}"))
            }
        }
    }

    /// SIGKILL, and reap.
    pub fn kill(mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }

    /// SIGTERM and wait up to `limit` for the exit (then SIGKILL). Returns the exit code.
    pub fn terminate(mut self, limit: Duration) -> Result<Option<i32>, String> {
        signal(self.pid, "TERM");
        let start = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => return Ok(s.code()),
                Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(format!("carillon did not exit within {limit:?} of SIGTERM"));
                }
            }
        }
    }

    pub fn log_tail(&self, n: usize) -> String {
        self.log.lock().map(|l| l.iter().rev().take(n).rev().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).stderr(Stdio::null()).status();
}

/// VmRSS of a process, in kB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Finds the carillon binary: `--bin`, else `CARILLON_BIN`, else `carillon` beside this program
/// (target/<profile>/), built first with cargo when this program was started by cargo.
pub fn find_carillon(explicit: Option<PathBuf>, build: bool) -> Result<PathBuf, String> {
    if let Some(p) = explicit.or_else(|| std::env::var_os("CARILLON_BIN").filter(|v| !v.is_empty()).map(PathBuf::from)) {
        return if p.exists() { Ok(p) } else { Err(format!("carillon binary {} does not exist", p.display())) };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = exe.parent().ok_or("no parent directory")?;
    // target/<profile>/carillon-crashtest, or target/<profile>/deps/... for test binaries.
    let profile_dir = if dir.file_name().is_some_and(|n| n == "deps") { dir.parent().ok_or("no parent")? } else { dir };
    let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug").to_string();
    if build && let Some(cargo) = std::env::var_os("CARGO") {
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "carillon", "--bin", "carillon"]);
        if profile == "release" {
            cmd.arg("--release");
        } else if profile != "debug" {
            cmd.args(["--profile", &profile]);
        }
        eprintln!("crashtest: building carillon ({profile}) with cargo");
        let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
        if !status.success() {
            return Err("cargo build -p carillon failed".into());
        }
    }
    let candidates = [profile_dir.join("carillon"), PathBuf::from("target").join(&profile).join("carillon")];
    candidates.iter().find(|p| p.exists()).cloned().ok_or_else(|| {
        format!(
            "no carillon binary at {}; build it (cargo build -p carillon{}) or pass --bin / CARILLON_BIN",
            candidates[0].display(),
            if profile == "release" { " --release" } else { "" }
        )
    })
}

/// The PostgreSQL cluster that the postgres mode kills and restarts.
#[derive(Debug, Clone)]
pub struct Postgres {
    /// URL of a database to connect to for CREATE/DROP DATABASE.
    pub admin_url: String,
    /// The data directory holding postmaster.pid.
    pub data_dir: PathBuf,
    /// The command that starts the cluster again.
    pub start_cmd: String,
}

impl Postgres {
    /// `admin_url` with its database replaced by `db`.
    pub fn url_for(&self, db: &str) -> String {
        let (base, query) = match self.admin_url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (self.admin_url.as_str(), None),
        };
        let rest = base.split_once("://").map(|(_, r)| r).unwrap_or(base);
        let base = match rest.find('/') {
            Some(i) => &base[..base.len() - rest.len() + i],
            None => base,
        };
        match query {
            Some(q) => format!("{base}/{db}?{q}"),
            None => format!("{base}/{db}"),
        }
    }

    fn host_port(&self) -> (String, String) {
        let rest = self.admin_url.split_once("://").map(|(_, r)| r).unwrap_or(&self.admin_url);
        let rest = rest.split(['/', '?']).next().unwrap_or("");
        let hostport = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.to_string()),
            None => (if hostport.is_empty() { "127.0.0.1".into() } else { hostport.to_string() }, "5432".into()),
        }
    }

    pub async fn execute(&self, sql: &str) -> Result<(), String> {
        let (client, conn) = tokio_postgres::connect(&self.admin_url, tokio_postgres::NoTls)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.admin_url))?;
        let task = tokio::spawn(conn);
        let r = client.batch_execute(sql).await.map_err(|e| format!("{sql}: {e}"));
        drop(client);
        let _ = task.await;
        r
    }

    pub fn postmaster_pid(&self) -> Result<u32, String> {
        let path = self.data_dir.join("postmaster.pid");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        text.lines().next().and_then(|l| l.trim().parse().ok()).ok_or_else(|| format!("no pid in {}", path.display()))
    }

    /// SIGKILLs the postmaster and waits for it to be gone.
    pub fn kill(&self) -> Result<u32, String> {
        let pid = self.postmaster_pid()?;
        signal(pid, "KILL");
        let start = Instant::now();
        while alive(pid) {
            if start.elapsed() > Duration::from_secs(15) {
                return Err(format!("the postmaster {pid} is still alive 15 s after SIGKILL"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(pid)
    }

    /// Starts the cluster with the start command (retrying while orphaned backends exit) and
    /// waits for pg_isready.
    pub fn start(&self) -> Result<Duration, String> {
        let began = Instant::now();
        let mut last = String::new();
        for _ in 0..30 {
            let out =
                Command::new("sh").arg("-c").arg(&self.start_cmd).output().map_err(|e| format!("cannot run {}: {e}", self.start_cmd))?;
            if out.status.success() {
                last.clear();
                break;
            }
            last = format!("{} {}", String::from_utf8_lossy(&out.stdout).trim(), String::from_utf8_lossy(&out.stderr).trim());
            if self.ready() {
                last.clear();
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        if !last.is_empty() {
            return Err(format!("cannot start PostgreSQL with `{}`: {last}", self.start_cmd));
        }
        while !self.ready() {
            if began.elapsed() > Duration::from_secs(120) {
                return Err("PostgreSQL is not ready 120 s after its start".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(began.elapsed())
    }

    pub fn ready(&self) -> bool {
        let (host, port) = self.host_port();
        Command::new("pg_isready").args(["-q", "-h", &host, "-p", &port]).status().map(|s| s.success()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let pg =
            Postgres { admin_url: "postgres://postgres@127.0.0.1:5432/test".into(), data_dir: PathBuf::new(), start_cmd: String::new() };
        assert_eq!(pg.url_for("x"), "postgres://postgres@127.0.0.1:5432/x");
        assert_eq!(pg.host_port(), ("127.0.0.1".into(), "5432".into()));
        let pg =
            Postgres { admin_url: "postgresql://u:p@h:6000?sslmode=disable".into(), data_dir: PathBuf::new(), start_cmd: String::new() };
        assert_eq!(pg.url_for("x"), "postgresql://u:p@h:6000/x?sslmode=disable");
        assert_eq!(pg.host_port(), ("h".into(), "6000".into()));
    }
}
