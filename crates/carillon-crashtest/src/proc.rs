//! The processes under test: a `carillon serve` child, and the PostgreSQL server it may use.

use carillon_testing::{Launch, signal};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A running `carillon serve`.
pub use carillon_testing::ServerProcess as Server;

/// Starts `bin serve --listen 127.0.0.1:0 --database URL --quiet` and waits for its listening line.
pub fn start(bin: &Path, database: &str) -> Result<Server, String> {
    Launch::serve(bin, database).keep_lines(200).start()
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
        let _ = signal(pid, "KILL");
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
