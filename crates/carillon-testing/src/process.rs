//! A server binary run as a child process: started, waited for until it prints its
//! `listening on http://ADDR` line, signalled, killed, its exit code and stderr read.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How to start a server process.
#[derive(Debug, Clone)]
pub struct Launch {
    program: PathBuf,
    prefix: Vec<OsString>,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    listen_timeout: Duration,
    keep_lines: usize,
}

/// A process that ended: its exit code (`None` when a signal ended it), its stderr, and how long
/// it ran.
#[derive(Debug, Clone)]
pub struct Exit {
    pub code: Option<i32>,
    pub stderr: String,
    pub took: Duration,
}

impl Launch {
    /// `program` with no arguments.
    pub fn new(program: impl Into<PathBuf>) -> Launch {
        Launch {
            program: program.into(),
            prefix: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            listen_timeout: Duration::from_secs(30),
            keep_lines: 1000,
        }
    }

    /// `carillon serve --listen 127.0.0.1:0 --database DATABASE --quiet`.
    pub fn serve(carillon: impl Into<PathBuf>, database: &str) -> Launch {
        Launch::new(carillon).args(["serve", "--listen", "127.0.0.1:0", "--database", database, "--quiet"])
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Launch {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Launch {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Launch {
        self.env.push((key.into(), value.into()));
        self
    }

    /// A command the program runs under, e.g. `["taskset", "-c", "1"]`.
    pub fn prefix<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, prefix: I) -> Launch {
        self.prefix = prefix.into_iter().map(Into::into).collect();
        self
    }

    /// How long [`Launch::start`] waits for the listening line (30 s unless told).
    pub fn listen_timeout(mut self, limit: Duration) -> Launch {
        self.listen_timeout = limit;
        self
    }

    /// How many of the last stderr lines are kept (1000 unless told).
    pub fn keep_lines(mut self, n: usize) -> Launch {
        self.keep_lines = n.max(1);
        self
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The command: stdin and stdout null, stderr piped.
    pub fn command(&self) -> Command {
        let mut cmd = match self.prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        cmd.args(&self.args).envs(self.env.iter().map(|(k, v)| (k, v))).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        cmd
    }

    /// Starts it and waits for its listening line.
    pub fn start(self) -> Result<ServerProcess, String> {
        self.start_via(|mut cmd| cmd.spawn())
    }

    /// Like [`Launch::start`], with `spawn` doing the spawning: e.g. on a thread pinned to a CPU,
    /// so that the child inherits that affinity.
    pub fn start_via(self, spawn: impl FnOnce(Command) -> std::io::Result<Child>) -> Result<ServerProcess, String> {
        let spawned_at = Instant::now();
        let mut child = spawn(self.command()).map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        let pid = child.id();
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{}: stderr is not piped", self.program.display()));
        };
        let log = Log::new(self.keep_lines);
        let (tx, rx) = mpsc::channel();
        let _reader = read_stderr(stderr, log.clone(), Some(tx));
        let fail = |child: &mut Child, what: String| {
            let _ = child.kill();
            let status = child.wait().ok();
            // Let the reader take the last lines.
            std::thread::sleep(Duration::from_millis(50));
            format!("{} {what} (exit {status:?}); stderr: {}", self.program.display(), log.tail(20).join(" | "))
        };
        match rx.recv_timeout(self.listen_timeout) {
            Ok((addr, at)) => Ok(ServerProcess {
                child,
                pid,
                addr,
                url: format!("http://{addr}"),
                spawned_at,
                listening_after: at.saturating_duration_since(spawned_at),
                log,
                exit: None,
            }),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(fail(&mut child, format!("did not print its listening line within {:?}", self.listen_timeout)))
            }
            // Its stderr closed without the line: it is exiting.
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(fail(&mut child, "exited before listening".into())),
        }
    }

    /// Runs it to its exit, for a process that is expected to give up (a start-up error). Kills it
    /// and fails if it still runs after `limit`.
    pub fn run_to_exit(self, limit: Duration) -> Result<Exit, String> {
        let started = Instant::now();
        let mut child = self.command().spawn().map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        let log = Log::new(self.keep_lines);
        let reader = child.stderr.take().map(|s| read_stderr(s, log.clone(), None));
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() <= limit => std::thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    settle(reader);
                    return Err(format!(
                        "{} was still running after {limit:?}; its stderr: {}",
                        self.program.display(),
                        log.lines().join("\n")
                    ));
                }
            }
        };
        let took = started.elapsed();
        settle(reader);
        Ok(Exit { code: status.code(), stderr: log.lines().iter().map(|l| format!("{l}\n")).collect(), took })
    }
}

/// A running server process. Dropping it kills it (SIGKILL) if it still runs.
pub struct ServerProcess {
    child: Child,
    pid: u32,
    addr: SocketAddr,
    url: String,
    spawned_at: Instant,
    listening_after: Duration,
    log: Log,
    exit: Option<Option<i32>>,
}

impl ServerProcess {
    /// `http://ADDR` from its listening line.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// When it was spawned.
    pub fn spawned_at(&self) -> Instant {
        self.spawned_at
    }

    /// From the spawn to the moment its listening line was read.
    pub fn listening_after(&self) -> Duration {
        self.listening_after
    }

    /// The stderr lines kept so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lines()
    }

    /// The last `n` stderr lines, one per line.
    pub fn log_tail(&self, n: usize) -> String {
        self.log.tail(n).join("\n")
    }

    /// Sends `sig` (a name such as `TERM`, `KILL`, `INT`).
    pub fn signal(&self, sig: &str) -> Result<(), String> {
        signal(self.pid, sig)
    }

    /// Its exit code if it has exited (`Some(None)`: ended by a signal), without waiting.
    pub fn try_exit(&mut self) -> Option<Option<i32>> {
        if self.exit.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.exit = Some(status.code());
        }
        self.exit
    }

    /// Waits at most `limit` for its exit and returns the exit code; after that, kills it and
    /// fails with its stderr.
    pub fn wait(&mut self, limit: Duration) -> Result<Option<i32>, String> {
        let start = Instant::now();
        loop {
            if let Some(code) = self.try_exit() {
                return Ok(code);
            }
            if start.elapsed() > limit {
                self.kill();
                return Err(format!("{} did not exit within {limit:?}; stderr: {}", self.pid, self.log.tail(50).join(" | ")));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// SIGTERM, then [`ServerProcess::wait`].
    pub fn terminate(&mut self, limit: Duration) -> Result<Option<i32>, String> {
        if self.try_exit().is_none() {
            self.signal("TERM")?;
        }
        self.wait(limit).map_err(|e| format!("after SIGTERM: {e}"))
    }

    /// SIGKILL, and reap. The exit status, unless it had already been reaped.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let _ = self.child.kill();
        let status = self.child.wait().ok();
        if self.exit.is_none() {
            self.exit = Some(status.and_then(|s| s.code()));
        }
        status
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.try_exit().is_none() {
            self.kill();
        }
    }
}

/// Sends `sig` (a name such as `TERM` or `KILL`) to the process `pid`, with kill(1).
pub fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("kill -{sig} {pid} failed ({status})")) }
}

/// The last stderr lines of a process.
#[derive(Clone)]
struct Log {
    lines: Arc<Mutex<Vec<String>>>,
    keep: usize,
}

impl Log {
    fn new(keep: usize) -> Log {
        Log { lines: Arc::default(), keep }
    }

    fn push(&self, line: String) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(line);
            if l.len() > self.keep {
                let over = l.len() - self.keep;
                l.drain(..over);
            }
        }
    }

    fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    fn tail(&self, n: usize) -> Vec<String> {
        self.lines.lock().map(|l| l[l.len().saturating_sub(n)..].to_vec()).unwrap_or_default()
    }
}

/// Reads stderr to its end on a thread of its own (a full pipe would stall the child), keeping
/// the lines; sends the address of the first `listening on http://ADDR` line, with when it came.
fn read_stderr(stderr: ChildStderr, log: Log, listening: Option<mpsc::Sender<(SocketAddr, Instant)>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut listening = listening;
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf).trim_end_matches(['\r', '\n']).to_string();
            if let Some(addr) = listening.as_ref().and(listening_addr(&line))
                && let Some(tx) = listening.take()
            {
                let _ = tx.send((addr, Instant::now()));
            }
            log.push(line);
        }
    })
}

/// Lets a stderr reader take the last lines: it ends at the end of the pipe, unless a process the
/// child started still holds it, so it gets at most a second.
fn settle(reader: Option<JoinHandle<()>>) {
    let Some(reader) = reader else { return };
    let start = Instant::now();
    while !reader.is_finished() && start.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The address in a `... listening on http://ADDR ...` line.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.split_whitespace().next()?.trim_end_matches('/').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_is_read() {
        assert_eq!(
            listening_addr("carillon: listening on http://127.0.0.1:4590 (store: sqlite, auth: Open)"),
            Some("127.0.0.1:4590".parse().unwrap())
        );
        assert_eq!(listening_addr("baseline: listening on http://[::1]:80"), Some("[::1]:80".parse().unwrap()));
        assert_eq!(listening_addr("carillon: error: cannot listen on 127.0.0.1:1"), None);
    }

    fn sh(script: &str) -> Launch {
        Launch::new("sh").args(["-c", script])
    }

    #[test]
    fn a_process_is_started_signalled_and_reaped() {
        let script = "trap 'echo bye >&2; exit 7' TERM; echo 'x: listening on http://127.0.0.1:9 (test)' >&2; while :; do sleep 0.05; done";
        let mut p = sh(script).start().unwrap();
        assert_eq!(p.url(), "http://127.0.0.1:9");
        assert_eq!(p.try_exit(), None);
        assert_eq!(p.terminate(Duration::from_secs(10)).unwrap(), Some(7));
        std::thread::sleep(Duration::from_millis(50));
        assert!(p.log().iter().any(|l| l == "bye"), "{:?}", p.log());
    }

    #[test]
    fn a_process_that_exits_before_listening_is_an_error_with_its_stderr() {
        let started = Instant::now();
        let err = sh("echo 'cannot open the database' >&2; exit 2").start().err().unwrap();
        assert!(err.contains("exited before listening") && err.contains("cannot open the database"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let err = sh("sleep 5").listen_timeout(Duration::from_millis(200)).start().err().unwrap();
        assert!(err.contains("did not print its listening line"), "{err}");
    }

    #[test]
    fn run_to_exit_gives_code_and_stderr_or_fails_on_a_process_that_stays() {
        let exit = sh("echo one >&2; echo two >&2; exit 3").run_to_exit(Duration::from_secs(10)).unwrap();
        assert_eq!((exit.code, exit.stderr.as_str()), (Some(3), "one\ntwo\n"));
        let err = sh("echo still here >&2; sleep 10").run_to_exit(Duration::from_millis(300)).unwrap_err();
        assert!(err.contains("still running") && err.contains("still here"), "{err}");
    }

    #[test]
    fn a_prefix_and_environment_apply() {
        let launch = Launch::new("sh").prefix(["env", "GREETING=hi"]).env("OTHER", "there").args(["-c", "echo $GREETING $OTHER >&2"]);
        assert_eq!(launch.run_to_exit(Duration::from_secs(10)).unwrap().stderr, "hi there\n");
    }

    #[test]
    fn only_the_last_lines_are_kept() {
        let log = Log::new(3);
        for i in 0..10 {
            log.push(i.to_string());
        }
        assert_eq!(log.lines(), ["7", "8", "9"]);
        assert_eq!(log.tail(2), ["8", "9"]);
    }
}
