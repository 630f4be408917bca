//! `carillon-bench`: starts Carillon (or targets --url), seeds it, drives SigV4-signed operation
//! mixes over keep-alive connections, drives the same requests against a minimal hyper baseline
//! pinned to the same core, and reports throughput, latency percentiles, errors, start-up time
//! and memory, against the project's performance targets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark tool, not a server: it stops on what it cannot measure

mod api;
mod baseline;
mod floor;
mod load;
mod options;
mod process;
mod report;
mod sign;

use api::{MixOp, Op, Signed};
use load::{RunSpec, Workload};
use options::{AuthChoice, Options, Scenario};
use process::Server;
use report::{Messaging, Report, RunRow, Scale, SeedStat, Startup, Summary};
use sign::Signer;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("__baseline") {
        return baseline::main(&args[1..]);
    }
    let opts = match options::parse(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{}", options::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("carillon-bench: error: {e}");
            return ExitCode::from(2);
        }
    };
    process::init_spawner();
    if let Some(id) = opts.client_cpu
        && !core_affinity::set_for_current(core_affinity::CoreId { id })
    {
        eprintln!("carillon-bench: warning: could not pin the load generator to cpu {id}");
    }
    load::set_engine(opts.engine);
    // One thread: the load generator is a single-threaded tokio runtime (pinned with --client-cpu).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // On SIGINT or SIGTERM the bench future is dropped: the servers it started are killed and its
    // temporary databases removed.
    let interrupted = async {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(mut i), Ok(mut t)) => tokio::select! {
                _ = i.recv() => {}
                _ = t.recv() => {}
            },
            _ => std::future::pending::<()>().await,
        }
    };
    let result = rt.block_on(async {
        tokio::select! {
            r = Bench::new(opts).and_then_run() => r,
            _ = interrupted => Err("interrupted".to_string()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carillon-bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A server under test: where it listens, and its pid when we started it.
struct Target {
    addr: SocketAddr,
    host: String,
    pid: Option<u32>,
    /// The SQLite file the server serves, when we started it on ours (not on a `--database` given
    /// with --server-arg).
    db: Option<PathBuf>,
}

/// The size of a SQLite database with its -wal file, MB.
fn db_size_mb(db: &Path) -> f64 {
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    (size(db.to_path_buf()) + size(PathBuf::from(wal))) as f64 / 1_048_576.0
}

/// What the bench says instead of a floor when the server ran on another database.
const FLOOR_NOT_MEASURED: &str = "\n== floor: not measured: the server ran on the --database given with --server-arg ==";

/// A seeded endpoint: its user's index in [`Seeded::users`], its EndpointId.
type SeededEndpoint = (u32, String);

/// What seeding made.
struct Seeded {
    app_arn: String,
    users: Vec<String>,
    endpoints: Vec<SeededEndpoint>,
    /// Users with no endpoints, one per connection, for register-deregister.
    spare_users: Vec<String>,
}

/// A Pinpoint application ARN in the AppInstance's own account and region (which the server
/// derived from the credential: open mode may not know the bench's access key).
fn pinpoint_arn(app_arn: &str) -> String {
    let parts: Vec<&str> = app_arn.split(':').collect();
    let (region, account) = (parts.get(3).copied().unwrap_or("us-east-1"), parts.get(4).copied().unwrap_or("000000000000"));
    format!("arn:aws:mobiletargeting:{region}:{account}:apps/abc")
}

impl Seeded {
    fn user_arn(&self, i: usize) -> &str {
        &self.users[i]
    }

    /// The endpoints of a run's pool of `n` Updates and `n` Describes, (the Update's, the
    /// Describe's) in the order the workload signs them: drawn from a fixed seed, so that every run
    /// of one size, and the floor measured beside them, goes to the same endpoints.
    fn picks(&self, n: usize) -> Vec<(&SeededEndpoint, &SeededEndpoint)> {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut pick = || &self.endpoints[rng.below(self.endpoints.len())];
        (0..n.min(self.endpoints.len())).map(|_| (pick(), pick())).collect()
    }

    /// The (user ARN, EndpointId) of the Describes of a pool of `n`.
    fn describe_targets(&self, n: usize) -> Vec<(String, String)> {
        self.picks(n).into_iter().map(|(_, (u, id))| (self.user_arn(*u as usize).to_string(), id.clone())).collect()
    }
}

struct Bench {
    o: Options,
    dir: tempfile::TempDir,
    creds_file: PathBuf,
    /// The auth mode servers are started in (resolved from --auth auto on the first start).
    mode: Option<&'static str>,
    report: Report,
    nonce: String,
}

/// The operator credential the bench adds to the server's credentials file: the control plane
/// (`GET /_carillon/push-outbox`) needs one in sigv4 mode.
fn operator(c: &sign::Credentials) -> sign::Credentials {
    sign::Credentials {
        access_key: format!("{}OPERATOR", c.access_key),
        secret: format!("{}/operator", c.secret),
        account: c.account.clone(),
    }
}

fn nonce() -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{:x}{:05x}", t.as_secs(), t.subsec_micros())
}

/// A small, fast, deterministic random number generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

fn out(line: &str) {
    let mut so = std::io::stdout().lock();
    let _ = writeln!(so, "{line}");
    let _ = so.flush();
}

/// The filesystem type holding `path` (from /proc/mounts, longest mount point prefix).
fn filesystem_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && path.starts_with(f[1])).then(|| (f[1].len(), format!("{} ({} on {})", f[2], f[0], f[1])))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, s)| s)
        .unwrap_or_else(|| "unknown".into())
}

impl Bench {
    fn new(o: Options) -> Bench {
        let dir = match &o.db_dir {
            Some(d) => {
                let _ = std::fs::create_dir_all(d);
                tempfile::Builder::new().prefix("carillon-bench-").tempdir_in(d)
            }
            None => tempfile::Builder::new().prefix("carillon-bench-").tempdir(),
        }
        .expect("temporary directory");
        let creds_file = dir.path().join("credentials");
        // The bench's own credential, and an operator's for the control plane (the push outbox).
        std::fs::write(&creds_file, format!("# carillon-bench\n{}\n{}:admin\n", o.creds.line(), operator(&o.creds).line()))
            .expect("write credentials");
        Bench { o, dir, creds_file, mode: None, report: Report::default(), nonce: nonce() }
    }

    async fn and_then_run(mut self) -> Result<(), String> {
        let (nproc, model, kernel) = process::machine();
        let h = &mut self.report.header;
        h.push(("machine".into(), format!("{nproc} CPUs, {model}, Linux {kernel}")));
        h.push(("load average at start".into(), process::load_average()));
        h.push((
            "pinning".into(),
            format!(
                "server {} (--threads {}), load generator {}",
                self.o.server_cpu.map(|c| format!("cpu {c}")).unwrap_or_else(|| "unpinned".into()),
                self.o.threads.map(|t| t.to_string()).unwrap_or_else(|| "default".into()),
                self.o.client_cpu.map(|c| format!("cpu {c}")).unwrap_or_else(|| "unpinned".into())
            ),
        ));
        h.push((
            "load generator".into(),
            format!("one tokio current-thread runtime, {:?} HTTP/1.1 client, keep-alive", self.o.engine).to_lowercase(),
        ));
        h.push(("database".into(), format!("SQLite in {} ({})", self.dir.path().display(), filesystem_of(self.dir.path()))));
        out(&format!("carillon-bench: {nproc} CPUs, {model}, Linux {kernel}; load average {}", process::load_average()));
        if self.o.url.is_none() && !self.o.server.exists() {
            return Err(format!(
                "no server binary at {} (build it with cargo build --release --bin carillon, or pass --server PATH or --url)",
                self.o.server.display()
            ));
        }
        let scenario = self.o.scenario;
        if matches!(scenario, Scenario::Standard | Scenario::All | Scenario::Startup) && self.o.url.is_none() {
            self.startup()?;
        }
        if matches!(scenario, Scenario::Standard | Scenario::All) {
            self.standard().await?;
        }
        if matches!(scenario, Scenario::Scale | Scenario::All) {
            self.scale().await?;
        }
        if matches!(scenario, Scenario::Messaging | Scenario::All) {
            self.messaging().await?;
        }
        let load_end = process::load_average();
        self.report.header.push(("load average at end".into(), load_end.clone()));
        self.report.header.push(("auth".into(), self.mode.unwrap_or("n/a (--url)").to_string()));
        self.report.header.push((
            "run length".into(),
            format!("{:.1} s warm-up + {:.1} s measured per run", self.o.warmup.as_secs_f64(), self.o.duration.as_secs_f64()),
        ));
        out(&self.report.print_targets(self.o.connections));
        out(&format!("load average at end: {load_end}; auth mode: {}", self.mode.unwrap_or("n/a")));
        for n in &self.report.notes {
            out(&format!("note: {n}"));
        }
        if self.o.markdown {
            out(&self.report.markdown(self.o.connections));
        }
        Ok(())
    }

    fn serve_args(&self, db: &Path, auth: &str) -> Vec<String> {
        let mut a: Vec<String> = ["serve", "--listen", "127.0.0.1:0", "--quiet"].iter().map(|s| s.to_string()).collect();
        a.push("--database".into());
        a.push(format!("sqlite://{}", db.display()));
        a.push("--auth".into());
        a.push(auth.into());
        a.push("--credentials".into());
        a.push(self.creds_file.display().to_string());
        if let Some(t) = self.o.threads {
            a.push("--threads".into());
            a.push(t.to_string());
        }
        a.extend(self.o.server_args.iter().cloned());
        a
    }

    /// Starts Carillon on `db`, in sigv4 mode when it has it (per --auth).
    fn spawn_server(&mut self, db: &Path) -> Result<Server, String> {
        let mode = match (self.mode, self.o.auth) {
            (Some(m), _) => m,
            (None, AuthChoice::Open) => "open",
            (None, _) => "sigv4",
        };
        match Server::spawn(&self.o.server, &self.serve_args(db, mode), self.o.server_cpu) {
            Ok(s) => {
                self.mode = Some(mode);
                Ok(s)
            }
            Err(e) if self.mode.is_none() && self.o.auth == AuthChoice::Auto => {
                let _ = std::fs::remove_file(db);
                let note = format!(
                    "the server did not start with --auth sigv4 ({}); benchmarked in open mode with every request SigV4-signed anyway",
                    e.rsplit("before listening: ").next().unwrap_or(&e).chars().take(300).collect::<String>()
                );
                eprintln!("carillon-bench: {note}");
                self.report.notes.push(note);
                self.mode = Some("open");
                Server::spawn(&self.o.server, &self.serve_args(db, "open"), self.o.server_cpu)
            }
            Err(e) => Err(e),
        }
    }

    fn signer(&self, t: &Target) -> Signer {
        Signer::now(&self.o.creds, &self.o.region, &t.host)
    }

    /// Start-up time to the first answered request, and idle RSS, over fresh databases.
    fn startup(&mut self) -> Result<(), String> {
        let mut st = Startup::default();
        out("\n== start-up (spawn -> first 200 from GET /_carillon/health), fresh database each, then a restart on it ==");
        for i in 0..self.o.startup_runs * 2 {
            let fresh = i % 2 == 0;
            let db = self.dir.path().join(format!("startup-{}.db", i / 2));
            let server = self.spawn_server(&db)?;
            if !process::wait_healthy(server.addr, Duration::from_secs(10)) {
                return Err(format!("the server did not answer /_carillon/health: {}", server.stderr_tail()));
            }
            let health = server.spawned_at.elapsed();
            std::thread::sleep(Duration::from_millis(300));
            let rss = process::memory_kib(server.pid).map(|m| m.0).unwrap_or(0);
            let listening = server.to_listening;
            server.stop();
            out(&format!(
                "  run {} ({}): listening line {:.1} ms, first 200 at {:.1} ms, idle RSS {:.1} MB",
                i / 2 + 1,
                if fresh { "new database" } else { "restart" },
                listening.as_secs_f64() * 1e3,
                health.as_secs_f64() * 1e3,
                rss as f64 / 1024.0
            ));
            let times = (listening.as_secs_f64() * 1e3, health.as_secs_f64() * 1e3);
            if fresh {
                st.runs.push(times);
                st.idle_rss.push(rss);
            } else {
                st.restarts.push(times);
            }
        }
        out(&format!(
            "  median: first answered request {:.1} ms on a new database, {:.1} ms on a restart; idle RSS {:.1} MB",
            st.median_health_ms(),
            report::median(&st.restarts.iter().map(|r| r.1).collect::<Vec<_>>()),
            st.median_idle_mb()
        ));
        self.report.startup = Some(st);
        Ok(())
    }

    /// Starts the server (or connects to --url) on a database named `name`.
    fn target(&mut self, name: &str) -> Result<(Target, Option<Server>), String> {
        if let Some(url) = &self.o.url {
            let hostport = url.trim_start_matches("http://").trim_end_matches('/');
            let addr: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(hostport)
                .map_err(|e| format!("--url {url}: {e}"))?
                .next()
                .ok_or_else(|| format!("--url {url}: no address"))?;
            return Ok((Target { addr, host: hostport.to_string(), pid: None, db: None }, None));
        }
        let db = self.dir.path().join(format!("{name}.db"));
        let server = self.spawn_server(&db)?;
        if !process::wait_healthy(server.addr, Duration::from_secs(10)) {
            return Err(format!("the server did not answer /_carillon/health: {}", server.stderr_tail()));
        }
        let served = (!names_database(&self.o.server_args)).then_some(db);
        Ok((Target { addr: server.addr, host: server.addr.to_string(), pid: Some(server.pid), db: served }, Some(server)))
    }

    /// Creates an AppInstance with `users` users of `epu` endpoints each, and `spare` users with none.
    async fn seed(&mut self, t: &Target, label: &str, users: usize, epu: usize, spare: usize) -> Result<Seeded, String> {
        let conns = self.o.seed_connections;
        let signer = self.signer(t);
        let mut sender = load::connect(t.addr).await?;
        let token = format!("{label}-{}", self.nonce);
        let (status, body) = load::send(&mut sender, &api::create_app_instance(&signer, &format!("bench {label}"), &token)).await?;
        if status != 201 {
            return Err(format!("CreateAppInstance: {status} {}", String::from_utf8_lossy(&body)));
        }
        let app = api::member(&body, "AppInstanceArn").ok_or("CreateAppInstance: no AppInstanceArn")?;
        let ids: Vec<String> = (0..users).map(|i| format!("u{i:07}")).chain((0..spare).map(|j| format!("spare{j:04}"))).collect();
        let arns: Vec<String> = ids.iter().map(|id| format!("{app}/user/{id}")).collect();
        let big = users * epu.max(1) >= 20_000;
        out(&format!(
            "\n== seeding {label}: {} users x {epu} endpoints (+{spare} spare users) over {conns} connections ==",
            report::thousands(users)
        ));
        let (creds, region, host) = (self.o.creds.clone(), self.o.region.clone(), t.host.clone());
        let nonce = format!("{}-{label}", self.nonce);
        let ids = Arc::new(ids);
        let (app2, ids2, n2) = (app.clone(), ids.clone(), nonce.clone());
        let (c2, r2, h2) = (creds.clone(), region.clone(), host.clone());
        let user_time = load::parallel(
            t.addr,
            conns,
            ids.len(),
            big.then_some(&format!("{label} users") as &str),
            move |i| {
                let s = Signer::now(&c2, &r2, &h2);
                api::create_user(&s, &app2, &ids2[i], &format!("Bench user {i}"), &format!("{n2}-u-{i}"))
            },
            |_, _| {},
        )
        .await
        .map_err(|e| format!("seeding users: {e}"))?;
        out(&format!(
            "  users: {} in {:.1} s ({:.0}/s)",
            report::thousands(ids.len()),
            user_time.as_secs_f64(),
            ids.len() as f64 / user_time.as_secs_f64()
        ));
        let total = users * epu;
        let found: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(vec![String::new(); total]));
        let pinpoint = pinpoint_arn(&app);
        let arns = Arc::new(arns);
        let (arns2, found2, p2) = (arns.clone(), found.clone(), pinpoint.clone());
        let endpoint_time = if total > 0 {
            load::parallel(
                t.addr,
                conns,
                total,
                big.then_some(&format!("{label} endpoints") as &str),
                move |i| {
                    let s = Signer::now(&creds, &region, &host);
                    api::register(&s, &arns2[i / epu], &p2, &format!("device-{nonce}-{i}"), &format!("{nonce}-e-{i}"))
                },
                move |i, body| {
                    if let Some(id) = api::member(body, "EndpointId")
                        && let Ok(mut f) = found2.lock()
                    {
                        f[i] = id;
                    }
                },
            )
            .await
            .map_err(|e| format!("seeding endpoints: {e}"))?
        } else {
            Duration::ZERO
        };
        if total > 0 {
            out(&format!(
                "  endpoints: {} in {:.1} s ({:.0}/s)",
                report::thousands(total),
                endpoint_time.as_secs_f64(),
                total as f64 / endpoint_time.as_secs_f64()
            ));
        }
        if let Some(db) = &t.db {
            out(&format!("  database now {:.1} MB (file and WAL)", db_size_mb(db)));
        }
        self.report.seeding.push(SeedStat {
            label: label.to_string(),
            users: ids.len(),
            endpoints: total,
            user_secs: user_time.as_secs_f64(),
            endpoint_secs: endpoint_time.as_secs_f64(),
            connections: conns,
        });
        let found = std::mem::take(&mut *found.lock().map_err(|_| "lock")?);
        let endpoints: Vec<(u32, String)> = found.into_iter().enumerate().map(|(i, id)| ((i / epu.max(1)) as u32, id)).collect();
        if endpoints.iter().any(|(_, id)| id.is_empty()) {
            return Err("seeding: a Register answered without an EndpointId".into());
        }
        let all = Arc::try_unwrap(arns).unwrap_or_else(|a| (*a).clone());
        let (users_v, spare_v) = all.split_at(users);
        Ok(Seeded { app_arn: app, users: users_v.to_vec(), endpoints, spare_users: spare_v.to_vec() })
    }

    /// Walks ListAppInstanceUsers (max-results 50) to `page`; returns the token that fetches it.
    async fn walk(&self, t: &Target, app: &str, page: usize) -> Result<Option<String>, String> {
        let mut sender = load::connect(t.addr).await?;
        let mut token: Option<String> = None;
        let mut signer = (Instant::now(), self.signer(t));
        for p in 1..page {
            if signer.0.elapsed() > Duration::from_secs(60) {
                signer = (Instant::now(), self.signer(t));
            }
            let (status, body) = load::send(&mut sender, &api::list_users(&signer.1, app, 50, token.as_deref())).await?;
            if status != 200 {
                return Err(format!("ListAppInstanceUsers page {p}: {status} {}", String::from_utf8_lossy(&body)));
            }
            token = api::member(&body, "NextToken");
            if token.is_none() {
                return Err(format!("ListAppInstanceUsers: page {p} is the last, page {page} does not exist"));
            }
        }
        Ok(token)
    }

    /// The pre-signed pools for a run (signed now: they stay valid 15 minutes).
    async fn workload(&self, t: &Target, s: &Seeded, spec: &RunSpec, list: Option<Vec<Signed>>) -> Result<Workload, String> {
        let signer = self.signer(t);
        let uses = |m: MixOp| spec.mix.iter().any(|(x, _)| *x == m);
        let mut update = Vec::new();
        let mut describe = Vec::new();
        if uses(MixOp::Update) || uses(MixOp::Describe) {
            if s.endpoints.is_empty() {
                return Err("update and describe need --endpoints-per-user of at least 1".into());
            }
            for ((u, id), (du, did)) in s.picks(spec.pool) {
                update.push(api::update(&signer, s.user_arn(*u as usize), id));
                describe.push(api::describe(&signer, s.user_arn(*du as usize), did));
            }
        }
        let list = match list {
            Some(l) => l,
            None if uses(MixOp::ListUsers) => {
                let pages = s.users.len().div_ceil(50).max(1);
                let page = self.o.list_page.min(pages);
                let token = self.walk(t, &s.app_arn, page).await?;
                vec![api::list_users(&self.signer(t), &s.app_arn, 50, token.as_deref())]
            }
            None => Vec::new(),
        };
        let on_the_fly = uses(MixOp::RegisterDeregister).then(|| load::OnTheFly {
            creds: self.o.creds.clone(),
            region: self.o.region.clone(),
            host: t.host.clone(),
            pinpoint_arn: pinpoint_arn(&s.app_arn),
            users: s.spare_users.clone(),
            nonce: nonce(),
        });
        if on_the_fly.as_ref().is_some_and(|f| f.users.is_empty()) {
            return Err("register-deregister needs spare users".into());
        }
        Ok(Workload { update, describe, list, on_the_fly, ..Workload::default() })
    }

    /// One run against Carillon, then (when enabled) the same requests against the baseline.
    async fn run_pair(&mut self, t: &Target, spec: &RunSpec, w: Workload, with_baseline: bool) -> Result<RunRow, String> {
        let w = Arc::new(w);
        out(&format!("\n== {} (mix {}, {} connections) ==\n{}", spec.label, spec.mix_text(), spec.connections, report::RUN_HEADER));
        let r = load::run(t.addr, t.pid, spec, w.clone()).await;
        let c = Summary::of(&r);
        if let Some(f) = &w.fresh_sends {
            let n = f.signed.load(std::sync::atomic::Ordering::Relaxed);
            if n > 0 {
                let note = format!(
                    "{}: the {} pre-signed sends ran out, {n} more were signed during the run (client CPU)",
                    spec.label,
                    w.send.len()
                );
                out(&format!("    note: {note}"));
                self.report.notes.push(note);
            }
        }
        out(&report::run_line(&spec.label, "carillon", spec.connections, &c));
        if !c.threads.is_empty() {
            out(&format!("    carillon threads: {}", c.threads_text()));
        }
        if (r.requests == 0 || !r.errors.is_empty())
            && let Some(e) = &r.first_error
        {
            out(&format!("    first error: {e}"));
        }
        self.warn_if_client_bound(&spec.label, "carillon", &c);
        let mut baseline = None;
        if with_baseline && self.o.baseline && self.o.url.is_none() && !r.samples.is_empty() {
            let answers = self.dir.path().join("baseline-answers.json");
            baseline::write_answers(&answers, &r.samples).map_err(|e| format!("baseline answers: {e}"))?;
            let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
            let threads = self.o.threads.unwrap_or_else(|| process::machine().0);
            let args: Vec<String> = vec![
                "__baseline".into(),
                "--listen".into(),
                "127.0.0.1:0".into(),
                "--threads".into(),
                threads.to_string(),
                "--answers".into(),
                answers.display().to_string(),
            ];
            let server = Server::spawn(&exe, &args, self.o.server_cpu)?;
            // The baseline stores nothing: it gets the sends Carillon got, round and round.
            w.send_cycle.store(true, std::sync::atomic::Ordering::Relaxed);
            let b = load::run(server.addr, Some(server.pid), spec, w.clone()).await;
            server.stop();
            let bs = Summary::of(&b);
            out(&report::run_line(&spec.label, "baseline", spec.connections, &bs));
            out(&format!("    baseline threads: {}", bs.threads_text()));
            out(&report::ratio_line(&spec.label, &c, &bs));
            self.warn_if_client_bound(&spec.label, "baseline", &bs);
            baseline = Some(bs);
        }
        let per_op = report::per_op_lines(&c);
        if !per_op.is_empty() {
            out(&format!("  carillon per operation:\n{}", per_op.trim_end()));
        }
        Ok(RunRow { label: spec.label.clone(), connections: spec.connections, carillon: c, baseline })
    }

    /// A run whose load generator used 90% or more of its core may be bounded by it.
    fn warn_if_client_bound(&mut self, label: &str, server: &str, s: &Summary) {
        if let Some(c) = s.client_cpu.filter(|c| *c >= 0.9) {
            let note = format!(
                "{label} against {server}: the load generator used {:.0}% of its core, so this req/s may be bounded by the client; \
                 the server's CPU per request (srv us/req) is the figure that does not depend on it",
                c * 100.0
            );
            out(&format!("    note: {note}"));
            self.report.notes.push(note);
        }
    }

    fn spec(&self, label: &str, mix: Vec<(MixOp, u32)>, connections: usize) -> RunSpec {
        RunSpec { label: label.to_string(), mix, connections, warmup: self.o.warmup, duration: self.o.duration, pool: self.o.pool }
    }

    /// A run of the scale scenario: its Describes and Updates are spread over `--scale-pool`
    /// endpoints, so that the large database is read where it is not cached.
    fn scale_spec(&self, label: &str, mix: Vec<(MixOp, u32)>, connections: usize) -> RunSpec {
        RunSpec { pool: self.o.scale_pool, ..self.spec(label, mix, connections) }
    }

    async fn standard(&mut self) -> Result<(), String> {
        let c = self.o.connections;
        let specs: Vec<RunSpec> = match &self.o.mix {
            Some(mix) => vec![self.spec(&format!("{} x{c}", mix_label(mix)), mix.clone(), c)],
            None => vec![
                self.spec(&format!("update x{c}"), vec![(MixOp::Update, 1)], c),
                self.spec(&format!("describe x{c}"), vec![(MixOp::Describe, 1)], c),
                self.spec("update x1", vec![(MixOp::Update, 1)], 1),
                self.spec("describe x1", vec![(MixOp::Describe, 1)], 1),
                self.spec(
                    &format!("mixed x{c}"),
                    vec![(MixOp::Update, 1), (MixOp::Describe, 1), (MixOp::RegisterDeregister, 1), (MixOp::ListUsers, 1)],
                    c,
                ),
            ],
        };
        let spare =
            specs.iter().filter(|s| s.mix.iter().any(|(m, _)| *m == MixOp::RegisterDeregister)).map(|s| s.connections).max().unwrap_or(0);
        let (t, server) = self.target("standard")?;
        if let Some(pid) = t.pid
            && let Some((rss, _)) = process::memory_kib(pid)
        {
            out(&format!("\nserver pid {pid} at {}: RSS before seeding {:.1} MB", t.addr, rss as f64 / 1024.0));
        }
        let seeded = self.seed(&t, "standard", self.o.seed_users, self.o.endpoints_per_user, spare).await?;
        // The floor's group: as many updates per commit as the server's group commit reached.
        let mut group = None;
        for spec in specs {
            let w = self.workload(&t, &seeded, &spec, None).await?;
            let counting = spec.label == format!("update x{c}");
            let before = if counting { self.commits(&t).await } else { None };
            let row = self.run_pair(&t, &spec, w, true).await?;
            if let (Some((s0, n0)), Some((s1, n1))) = (before, if counting { self.commits(&t).await } else { None })
                && n1 > n0
            {
                group = Some((s1 - s0) / (n1 - n0));
            }
            if spec.connections == c && spec.connections > 1 {
                self.report.load_rss_connections = c;
                if let Some(k) = row.carillon.peak_rss_kib {
                    self.report.load_rss_kib = Some(self.report.load_rss_kib.unwrap_or(0).max(k));
                }
            }
            self.report.runs.push(row);
        }
        if let (Some(server), Some(pid)) = (server, t.pid) {
            if let Some((rss, hwm)) = process::memory_kib(pid) {
                out(&format!(
                    "\nserver after the runs: RSS {:.1} MB, VmHWM (includes seeding) {:.1} MB",
                    rss as f64 / 1024.0,
                    hwm as f64 / 1024.0
                ));
            }
            let took = server.stop();
            out(&format!("server stopped (SIGTERM) in {:.1} ms", took.as_secs_f64() * 1e3));
            // The floor is SQLite's cost on the file just served: none when --server-arg sent the
            // server to another database (PostgreSQL, say).
            match &t.db {
                Some(db) => self.floor(db, &seeded, group)?,
                None => out(FLOOR_NOT_MEASURED),
            }
        }
        Ok(())
    }

    /// The store's commits so far, from the server's metrics: (transactions made durable, physical
    /// commits). None when the metrics cannot be read.
    async fn commits(&self, t: &Target) -> Option<(f64, f64)> {
        let mut sender = load::connect_with(t.addr, load::Engine::Hyper).await.ok()?;
        let op = Signer::now(&operator(&self.o.creds), &self.o.region, &t.host);
        let (status, body) = load::send(&mut sender, &api::metrics(&op)).await.ok()?;
        if status != 200 {
            return None;
        }
        let text = String::from_utf8_lossy(&body);
        let value = |name: &str| -> Option<f64> { text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok()) };
        Some((value("carillon_store_commit_batch_size_sum")?, value("carillon_store_commit_batch_size_count")?))
    }

    /// SQLite's own cost of the Update's and the Describe's statements on the database just
    /// served, on the server's core: the floor under the server's CPU per request.
    fn floor(&mut self, db: &Path, seeded: &Seeded, group: Option<f64>) -> Result<(), String> {
        // Without a measured group (another mix), the largest the connections allow.
        let group = group.map(|g| g.round().max(1.0) as usize).unwrap_or(self.o.connections);
        let endpoints: Vec<(String, String)> =
            seeded.endpoints.iter().map(|(u, id)| (seeded.users[*u as usize].clone(), id.clone())).collect();
        let duration = self.o.duration.min(Duration::from_secs(5));
        out(&format!(
            "\n== floor: SQLite's own work on {} (the store's UPDATE, {group} per durable commit as the server's group commit reached; its SELECT), {:.0} s each, on the server's core ==",
            db.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            duration.as_secs_f64()
        ));
        let f = floor::measure(db, endpoints, group, duration, self.o.server_cpu)?;
        for (what, m) in [("update", f.update), ("describe", f.describe)] {
            out(&format!("  {what}: {}", m.line()));
        }
        self.report.floor = Some(f);
        Ok(())
    }

    /// SQLite's own cost of the Describes' `SELECT` over each scale AppInstance's endpoints, on
    /// the database just served (both in the full file), on the server's core: the floor under the
    /// scale target's ratio. None, said, when it could not be measured: the runs' figures stand.
    fn scale_floor(&self, db: &Path, small: &Seeded, large: &Seeded, sizes: (usize, usize)) -> Option<report::ScaleFloor> {
        let duration = self.o.duration.min(Duration::from_secs(5));
        out(&format!(
            "\n== floor: SQLite's own SELECT of the Describes' endpoints on {} (both AppInstances, in the full file), {:.0} s each, on the server's core ==",
            db.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            duration.as_secs_f64()
        ));
        let large_targets = large.describe_targets(self.o.scale_pool);
        let large_distinct = large_targets.iter().collect::<std::collections::HashSet<_>>().len();
        let measured = floor::measure_reads(db, small.describe_targets(self.o.scale_pool), duration, self.o.server_cpu)
            .and_then(|s| Ok((s, floor::measure_reads(db, large_targets, duration, self.o.server_cpu)?)));
        match measured {
            Ok((small, large)) => {
                for (size, m) in [(sizes.0, small), (sizes.1, large)] {
                    out(&format!("  the {}-endpoint AppInstance's: {}", report::thousands(size), m.line()));
                }
                Some(report::ScaleFloor { small, large, large_distinct })
            }
            Err(e) => {
                out(&format!("  not measured: {e}"));
                None
            }
        }
    }

    /// Describe and Update together at full load: with writes between the reads, SQLite empties a
    /// read connection's page cache at its first read after each commit, which the read-only runs
    /// never show. Its row goes into the run table.
    async fn scale_mixed(&mut self, t: &Target, seeded: &Seeded, endpoints: usize) -> Result<(), String> {
        let c = self.o.connections;
        let spec = self.scale_spec(&format!("scale mixed x{c} @{endpoints}"), vec![(MixOp::Describe, 1), (MixOp::Update, 1)], c);
        let w = self.workload(t, seeded, &spec, None).await?;
        let row = self.run_pair(t, &spec, w, false).await?;
        self.report.runs.push(row);
        Ok(())
    }

    async fn scale(&mut self) -> Result<(), String> {
        let epu = self.o.scale_endpoints_per_user;
        let small_users = (self.o.scale_small_endpoints / epu).max(1);
        let large_users = self.o.scale_users;
        let mut scale = Scale { small_endpoints: small_users * epu, large_endpoints: large_users * epu, ..Scale::default() };
        out(&format!(
            "\n== scale: {} endpoints vs {} endpoints ({} users); each run's requests spread over {} endpoints at most ==",
            report::thousands(scale.small_endpoints),
            report::thousands(scale.large_endpoints),
            report::thousands(large_users),
            report::thousands(self.o.scale_pool)
        ));
        let (t, server) = self.target("scale")?;
        let small = self.seed(&t, "scale-small", small_users, epu, 0).await?;
        let conns = [1, self.o.connections];
        for c in conns {
            for (op, m) in [(Op::Describe, MixOp::Describe), (Op::Update, MixOp::Update)] {
                let spec = self.scale_spec(&format!("scale {} x{c} @{}", op.name(), scale.small_endpoints), vec![(m, 1)], c);
                let w = self.workload(&t, &small, &spec, None).await?;
                let row = self.run_pair(&t, &spec, w, false).await?;
                scale.small.insert((op, c), row.carillon);
            }
        }
        self.scale_mixed(&t, &small, scale.small_endpoints).await?;
        let large = self.seed(&t, "scale-large", large_users, epu, 0).await?;
        for c in conns {
            for (op, m) in [(Op::Describe, MixOp::Describe), (Op::Update, MixOp::Update)] {
                let spec = self.scale_spec(&format!("scale {} x{c} @{}", op.name(), scale.large_endpoints), vec![(m, 1)], c);
                let w = self.workload(&t, &large, &spec, None).await?;
                let row = self.run_pair(&t, &spec, w, false).await?;
                scale.large.insert((op, c), row.carillon);
            }
        }
        self.scale_mixed(&t, &large, scale.large_endpoints).await?;
        let pages = large.users.len().div_ceil(50);
        let page = self.o.scale_page.min(pages).max(1);
        scale.page = page;
        out(&format!(
            "\n== ListAppInstanceUsers: walking to page {} of {} (max-results 50) ==",
            report::thousands(page),
            report::thousands(pages)
        ));
        let walk_start = Instant::now();
        let token = self.walk(&t, &large.app_arn, page).await?;
        scale.walk_secs = walk_start.elapsed().as_secs_f64();
        out(&format!(
            "  walked {} pages in {:.1} s ({:.3} ms a page)",
            page - 1,
            scale.walk_secs,
            scale.walk_secs * 1e3 / (page.max(2) - 1) as f64
        ));
        for (which, tok) in [(1usize, None), (page, token.as_deref())] {
            let spec = self.spec(&format!("list-users page {which} x1"), vec![(MixOp::ListUsers, 1)], 1);
            let list = vec![api::list_users(&self.signer(&t), &large.app_arn, 50, tok)];
            let w = self.workload(&t, &large, &spec, Some(list)).await?;
            let row = self.run_pair(&t, &spec, w, false).await?;
            if which == 1 {
                scale.page1 = Some(row.carillon);
            } else {
                scale.page_n = Some(row.carillon);
            }
        }
        if let Some(server) = server {
            if let Some((rss, hwm)) = process::memory_kib(server.pid) {
                out(&format!("\nserver after the scale runs: RSS {:.1} MB, VmHWM {:.1} MB", rss as f64 / 1024.0, hwm as f64 / 1024.0));
            }
            server.stop();
            // The floor is SQLite's cost on the file just served: none when --server-arg sent the
            // server to another database.
            match &t.db {
                Some(db) => scale.floor = self.scale_floor(db, &small, &large, (scale.small_endpoints, scale.large_endpoints)),
                None => out(FLOOR_NOT_MEASURED),
            }
            // Start-up again, on the large database.
            let db = self.dir.path().join("scale.db");
            let again = self.spawn_server(&db)?;
            if process::wait_healthy(again.addr, Duration::from_secs(30)) {
                let ms = again.spawned_at.elapsed().as_secs_f64() * 1e3;
                std::thread::sleep(Duration::from_millis(300));
                let rss = process::memory_kib(again.pid).map(|m| m.0).unwrap_or(0);
                out(&format!(
                    "restart on the large database: first answered request at {ms:.1} ms, idle RSS {:.1} MB",
                    rss as f64 / 1024.0
                ));
                scale.restart = Some((ms, rss));
                self.report.notes.push(format!(
                    "start-up on the {}-endpoint database: first answered request at {ms:.1} ms, idle RSS {:.1} MB",
                    report::thousands(scale.large_endpoints),
                    rss as f64 / 1024.0
                ));
            }
            again.stop();
        }
        self.report.scale = Some(scale);
        Ok(())
    }
    /// Creates a channel by `owner` and adds `members` (DEFAULT) with BatchCreateChannelMembership,
    /// 100 per call. Returns the channel's ARN.
    async fn channel(&self, t: &Target, app: &str, owner: &str, name: &str, members: &[String]) -> Result<String, String> {
        let mut sender = load::connect(t.addr).await?;
        let signer = self.signer(t);
        let token = format!("{}-{name}", self.nonce);
        let (status, body) = load::send(&mut sender, &api::create_channel(&signer, owner, app, name, &token)).await?;
        if status != 201 {
            return Err(format!("CreateChannel {name}: {status} {}", String::from_utf8_lossy(&body)));
        }
        let arn = api::member(&body, "ChannelArn").ok_or("CreateChannel: no ChannelArn")?;
        for chunk in members.chunks(100) {
            let (status, body) = load::send(&mut sender, &api::batch_memberships(&self.signer(t), owner, &arn, chunk)).await?;
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let errors = v.get("Errors").and_then(|e| e.as_array()).map(Vec::len).unwrap_or(0);
            let made =
                v.get("BatchChannelMemberships").and_then(|b| b.get("Members")).and_then(|m| m.as_array()).map(Vec::len).unwrap_or(0);
            if status != 200 || errors > 0 || made != chunk.len() {
                return Err(format!(
                    "BatchCreateChannelMembership on {name}: {status}, {made} of {} members added: {}",
                    chunk.len(),
                    String::from_utf8_lossy(&body[..body.len().min(400)])
                ));
            }
        }
        Ok(arn)
    }

    /// Sends `n` messages to `channel` as `owner` over --seed-connections connections (signed,
    /// without PushNotification). Returns the time it took, and the times (epoch ms) when the
    /// answers to the messages at the two ends of [`middle`] arrived: the messages created between
    /// them lie in the middle of the channel.
    async fn seed_messages(
        &mut self,
        t: &Target,
        owner: &str,
        channel: &str,
        label: &str,
        n: usize,
    ) -> Result<(Duration, i64, i64), String> {
        let conns = self.o.seed_connections;
        out(&format!("\n== seeding {label}: {} messages over {conns} connections (signed SendChannelMessage) ==", report::thousands(n)));
        let (creds, region, host) = (self.o.creds.clone(), self.o.region.clone(), t.host.clone());
        let (owner2, channel2, nonce) = (owner.to_string(), channel.to_string(), format!("{}-{label}", self.nonce));
        let (lo, hi) = middle(n);
        let marks: Arc<Mutex<(i64, i64)>> = Arc::new(Mutex::new((0, 0)));
        let marks2 = marks.clone();
        let now_ms = || SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let took = load::parallel(
            t.addr,
            conns,
            n,
            (n >= 20_000).then_some(label),
            move |i| {
                let s = Signer::now(&creds, &region, &host);
                api::send_message(&s, &owner2, &channel2, &format!("bench message {i}"), false, Some(&format!("{nonce}-{i}")))
            },
            move |i, _| {
                if (i == lo || i == hi)
                    && let Ok(mut m) = marks2.lock()
                {
                    if i == lo {
                        m.0 = now_ms();
                    } else {
                        m.1 = now_ms();
                    }
                }
            },
        )
        .await
        .map_err(|e| format!("seeding messages: {e}"))?;
        let (a, b) = *marks.lock().map_err(|_| "lock")?;
        out(&format!(
            "  messages: {} in {:.1} s ({:.0}/s); the middle ({lo} to {hi}) was written between {} and {}",
            report::thousands(n),
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            api::iso8601_ms(a),
            api::iso8601_ms(b)
        ));
        if let Some(db) = &t.db {
            out(&format!("  database now {:.1} MB (file and WAL)", db_size_mb(db)));
        }
        Ok((took, a, b))
    }

    /// A run of the messaging scenario: with --quick, 1-second runs (it has 24 of them).
    fn messaging_spec(&self, label: &str, mix: Vec<(MixOp, u32)>, connections: usize) -> RunSpec {
        let mut spec = self.spec(label, mix, connections);
        if self.o.quick {
            spec.warmup = Duration::from_millis(250);
            spec.duration = Duration::from_secs(1);
        }
        spec
    }

    /// The sends of one run: each request has its own ClientRequestToken (a request sent twice
    /// would be a replay), so there must be one for every send of the run. A 1-second probe at the
    /// run's connections gives the rate; the pool holds 1.5 times what the run needs at that rate,
    /// signed before it, and the workers sign more on the fly (counted) if it runs out.
    async fn send_workload(&self, t: &Target, bearer: &str, channel: &str, spec: &RunSpec) -> Result<Workload, String> {
        let fresh = |nonce: String| load::FreshSends {
            creds: self.o.creds.clone(),
            region: self.o.region.clone(),
            host: t.host.clone(),
            bearer: bearer.to_string(),
            channel_arn: channel.to_string(),
            nonce,
            signed: Default::default(),
        };
        // A slow send (a large channel, many connections queued on the one writer) may not finish
        // within a short probe: try longer ones.
        let mut rate = 0.0;
        for secs in [1, 4, 16] {
            let probe = RunSpec { warmup: Duration::from_millis(200), duration: Duration::from_secs(secs), ..spec.clone() };
            let w = Arc::new(Workload { fresh_sends: Some(fresh(nonce())), ..Workload::default() });
            let r = load::run(t.addr, None, &probe, w).await;
            if !r.errors.is_empty() {
                return Err(format!("{}: the probe failed: {}", spec.label, r.first_error.unwrap_or_default()));
            }
            if r.requests > 0 {
                rate = r.rps();
                break;
            }
        }
        if rate == 0.0 {
            return Err(format!("{}: no send was answered within a 16-second probe", spec.label));
        }
        let seconds = (spec.warmup + spec.duration).as_secs_f64();
        let size = ((rate * seconds * 1.5) as usize + 64 * spec.connections).min(2_000_000);
        let signer = self.signer(t);
        let nonce = nonce();
        let started = Instant::now();
        let send: Vec<Signed> = (0..size)
            .map(|i| api::send_message(&signer, bearer, channel, &format!("bench send {i}"), true, Some(&format!("{nonce}-p{i}"))))
            .collect();
        out(&format!(
            "\n  {}: probe {:.0} sends/s; {} sends pre-signed in {:.1} s, each with its own ClientRequestToken",
            spec.label,
            rate,
            report::thousands(size),
            started.elapsed().as_secs_f64()
        ));
        Ok(Workload { send, fresh_sends: Some(fresh(format!("{nonce}-f"))), ..Workload::default() })
    }

    async fn messaging(&mut self) -> Result<(), String> {
        let members = self.o.msg_members;
        let epu = self.o.msg_endpoints_per_member;
        let c = self.o.connections;
        let mut m = Messaging {
            small_members: 2,
            large_members: members,
            endpoints_per_member: epu,
            small_messages: self.o.msg_small_messages,
            large_messages: self.o.msg_large_messages,
            ..Messaging::default()
        };
        out(&format!(
            "\n== messaging: SendChannelMessage on 2 members vs {} members x {epu} endpoints; ListChannelMessages at {} vs {} messages ==",
            report::thousands(members),
            report::thousands(m.large_messages),
            report::thousands(m.small_messages)
        ));
        let (t, server) = self.target("messaging")?;
        let seeded = self.seed(&t, "messaging", members, epu, 0).await?;
        let app = seeded.app_arn.clone();
        let owner = seeded.users[0].clone();
        let started = Instant::now();
        let small = self.channel(&t, &app, &owner, "send-2", &seeded.users[1..2]).await?;
        let large = self.channel(&t, &app, &owner, &format!("send-{members}"), &seeded.users[1..members]).await?;
        let took = started.elapsed().as_secs_f64();
        out(&format!("  channels: 2 and {} members (BatchCreateChannelMembership, 100 a call) in {took:.1} s", report::thousands(members)));
        m.seeding.push((format!("channel memberships ({} calls of at most 100)", (members - 1).div_ceil(100) + 1), members + 1, took, 1));
        // One send first: it must answer 201 with a MessageId, and push to every member's endpoints.
        let mut probe = load::connect(t.addr).await?;
        for (arn, n) in [(&small, 2), (&large, members)] {
            let token = format!("{}-probe-{n}", self.nonce);
            let (status, body) =
                load::send(&mut probe, &api::send_message(&self.signer(&t), &owner, arn, "probe", true, Some(&token))).await?;
            if status != 201 || api::member(&body, "MessageId").is_none() {
                return Err(format!("SendChannelMessage to the {n}-member channel: {status} {}", String::from_utf8_lossy(&body)));
            }
        }
        // Every run measures sends on a full outbox (each send then trims as many entries as it
        // adds): fill it first with sends to the large channel.
        let limit = outbox_limit(&self.o.server_args);
        let fill = limit.div_ceil(members * epu) + 1;
        let started = Instant::now();
        for i in 0..fill {
            let token = format!("{}-fill-{i}", self.nonce);
            let (status, body) =
                load::send(&mut probe, &api::send_message(&self.signer(&t), &owner, &large, "fill", true, Some(&token))).await?;
            if status != 201 {
                return Err(format!("SendChannelMessage (filling the outbox): {status} {}", String::from_utf8_lossy(&body)));
            }
        }
        out(&format!(
            "  push outbox filled to its limit ({} entries) with {fill} sends to the large channel in {:.1} s",
            report::thousands(limit),
            started.elapsed().as_secs_f64()
        ));
        for (arn, n) in [(small.clone(), 2usize), (large.clone(), members)] {
            for conns in [c, 1] {
                let spec = self.messaging_spec(&format!("send @{n} members x{conns}"), vec![(MixOp::SendMessage, 1)], conns);
                let w = self.send_workload(&t, &owner, &arn, &spec).await?;
                let row = self.run_pair(&t, &spec, w, true).await?;
                if !row.carillon.errors.is_empty() {
                    self.report.notes.push(format!("{}: errors {} (every send should answer 201)", spec.label, row.carillon.errors_text()));
                }
                m.sends.insert((n, conns), row);
            }
        }
        for conns in [c, 1] {
            if let Some(us) = m.per_recipient(conns) {
                out(&format!(
                    "  push decision: {us:.2} us of server CPU per recipient endpoint at {conns} connection(s) ({} extra endpoints)",
                    report::thousands(m.extra_endpoints())
                ));
            }
        }
        // The outbox after the sends (the server keeps the newest --push-outbox-limit entries).
        let started = Instant::now();
        let mut sender = load::connect_with(t.addr, load::Engine::Hyper).await?;
        let op = Signer::now(&operator(&self.o.creds), &self.o.region, &t.host);
        match load::send(&mut sender, &api::push_outbox(&op, None)).await {
            Ok((200, body)) => {
                let ms = started.elapsed().as_secs_f64() * 1e3;
                let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| format!("push outbox: {e}"))?;
                let n = v.get("Entries").and_then(|e| e.as_array()).map(Vec::len).unwrap_or(0);
                out(&format!(
                    "  push outbox after the sends: {} entries, {:.1} MB, read in {ms:.0} ms",
                    report::thousands(n),
                    body.len() as f64 / 1_048_576.0
                ));
                m.outbox = Some((n, body.len(), ms));
            }
            Ok((status, body)) => {
                let note = format!("the push outbox could not be read: {status} {}", String::from_utf8_lossy(&body[..body.len().min(200)]));
                out(&format!("  {note}"));
                self.report.notes.push(note);
            }
            Err(e) => return Err(format!("push outbox: {e}")),
        }
        // ListChannelMessages: two channels of the owner alone, filled with messages.
        let list_small = self.channel(&t, &app, &owner, "list-small", &[]).await?;
        let list_large = self.channel(&t, &app, &owner, "list-large", &[]).await?;
        let (ns, nl) = (m.small_messages, m.large_messages);
        let (ts, s_lo, s_hi) = self.seed_messages(&t, &owner, &list_small, "list-small", ns).await?;
        m.seeding.push(("messages, small channel".into(), ns, ts.as_secs_f64(), self.o.seed_connections));
        let (tl, l_lo, l_hi) = self.seed_messages(&t, &owner, &list_large, "list-large", nl).await?;
        m.seeding.push(("messages, large channel".into(), nl, tl.as_secs_f64(), self.o.seed_connections));
        let queries = |lo: i64, hi: i64| -> Vec<(&'static str, api::MessageQuery)> {
            let mid = |ascending| api::MessageQuery { ascending, not_before_ms: Some(lo), not_after_ms: Some(hi), next_token: None };
            vec![
                ("first page DESC", api::MessageQuery::default()),
                ("first page ASC", api::MessageQuery { ascending: true, ..api::MessageQuery::default() }),
                ("middle page DESC", mid(false)),
                ("middle page ASC", mid(true)),
            ]
        };
        let (qs, ql) = (queries(s_lo, s_hi), queries(l_lo, l_hi));
        // Each page once, to check it answers 200 and to count its messages.
        let mut probe = load::connect(t.addr).await?;
        for ((name, q_small), (_, q_large)) in qs.iter().zip(&ql) {
            let mut sizes = [0usize; 2];
            for (k, (arn, q)) in [(&list_small, q_small), (&list_large, q_large)].into_iter().enumerate() {
                let (status, body) = load::send(&mut probe, &api::list_messages(&self.signer(&t), &owner, arn, q)).await?;
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                sizes[k] = v.get("ChannelMessages").and_then(|e| e.as_array()).map(Vec::len).unwrap_or(0);
                if status != 200 || sizes[k] == 0 {
                    return Err(format!(
                        "ListChannelMessages {name}: {status}, {} messages: {}",
                        sizes[k],
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                }
            }
            out(&format!(
                "  ListChannelMessages {name}: {} messages on the small channel's page, {} on the large one's",
                sizes[0], sizes[1]
            ));
            m.page_sizes.push((name.to_string(), sizes[0], sizes[1]));
        }
        for ((name, q_small), (_, q_large)) in qs.iter().zip(&ql) {
            for conns in [1, c] {
                let mut rows = Vec::new();
                for (arn, q, n) in [(&list_small, q_small, ns), (&list_large, q_large, nl)] {
                    let spec = self.messaging_spec(
                        &format!("list {name} @{} x{conns}", report::thousands(n)),
                        vec![(MixOp::ListMessages, 1)],
                        conns,
                    );
                    let list_messages = vec![api::list_messages(&self.signer(&t), &owner, arn, q)];
                    let row = self.run_pair(&t, &spec, Workload { list_messages, ..Workload::default() }, false).await?;
                    rows.push(row.carillon);
                }
                let (sm, lg) = (rows.remove(0), rows.remove(0));
                let (r, ok) = report::flat(sm.p50, lg.p50, report::LIST_FLAT);
                out(&format!(
                    "  {name} x{conns}: p50 {:.3} ms at {} vs {:.3} ms at {} messages = {r:.2}x ({})",
                    lg.p50,
                    report::thousands(nl),
                    sm.p50,
                    report::thousands(ns),
                    if ok { "within 1.3x" } else { "over 1.3x" }
                ));
                m.lists.push((name.to_string(), conns, sm, lg));
            }
        }
        if let Some(server) = server {
            if let Some((rss, hwm)) = process::memory_kib(server.pid) {
                out(&format!("\nserver after the messaging runs: RSS {:.1} MB, VmHWM {:.1} MB", rss as f64 / 1024.0, hwm as f64 / 1024.0));
            }
            server.stop();
        }
        self.report.messaging = Some(m);
        Ok(())
    }
}

/// The indices of the messages whose answers bound the "middle page" of a channel of `n` messages:
/// 10% of them either side of the middle, and at least 100 (the page is 50), within the channel.
fn middle(n: usize) -> (usize, usize) {
    let half = (n / 10).max(100);
    (n.div_ceil(2).saturating_sub(half), (n / 2 + half).min(n.saturating_sub(1)))
}

/// The server's `--push-outbox-limit` among `args` (passed with --server-arg), else its default.
fn outbox_limit(args: &[String]) -> usize {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix("--push-outbox-limit=") {
            return v.parse().unwrap_or(10_000);
        }
        if a == "--push-outbox-limit" {
            return it.next().and_then(|v| v.parse().ok()).unwrap_or(10_000);
        }
    }
    10_000
}

/// Whether `args` (passed with --server-arg) give the server a `--database` of their own.
fn names_database(args: &[String]) -> bool {
    args.iter().any(|a| a == "--database" || a.starts_with("--database="))
}

fn mix_label(mix: &[(MixOp, u32)]) -> String {
    if mix.len() == 1 {
        mix[0].0.name().to_string()
    } else {
        mix.iter().map(|(m, w)| format!("{}={w}", m.name())).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_middle_holds_a_full_page_or_the_whole_channel() {
        assert_eq!(middle(1_000_000), (400_000, 600_000));
        assert_eq!(middle(1000), (400, 600));
        assert_eq!(middle(100), (0, 99));
        assert_eq!(middle(3000), (1200, 1800));
    }

    #[test]
    fn outbox_limit_from_server_args() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(outbox_limit(&args(&[])), 10_000);
        assert_eq!(outbox_limit(&args(&["--push-outbox-limit", "500"])), 500);
        assert_eq!(outbox_limit(&args(&["--quiet", "--push-outbox-limit=70"])), 70);
    }

    #[test]
    fn a_database_given_with_server_args_is_seen() {
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(!names_database(&args(&[])));
        assert!(!names_database(&args(&["--quiet", "--threads", "1"])));
        assert!(names_database(&args(&["--database", "postgres://h/db"])));
        assert!(names_database(&args(&["--database=postgres://h/db"])));
    }
}
