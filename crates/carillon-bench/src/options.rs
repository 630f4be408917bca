//! Command-line options.

use crate::api::MixOp;
use crate::sign::Credentials;
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
usage: carillon-bench [OPTIONS]

Starts a Carillon server (or targets --url), seeds it, drives SigV4-signed operation mixes over
keep-alive connections, drives the same requests against a minimal hyper baseline on the same
core, and prints throughput, latency percentiles, errors, start-up time and memory.

scenarios:
  --scenario standard      start-up and idle RSS, then update and describe at --connections and at 1
                           connection, and a mixed run, each against Carillon and the baseline (default)
  --scenario scale         Describe/Update p50 at --scale-users x --scale-endpoints-per-user endpoints
                           vs --scale-small-endpoints; ListAppInstanceUsers page --scale-page vs page 1
  --scenario messaging     SendChannelMessage (PERSISTENT, with a PushNotification) on a channel of 2
                           members and on one of --msg-members members with --msg-endpoints-per-member
                           endpoints each, at --connections and at 1 connection, against Carillon and the
                           baseline; the push decision's CPU per recipient endpoint; the push outbox after;
                           ListChannelMessages pages on a channel of --msg-large-messages messages vs one
                           of --msg-small-messages
  --scenario startup       start-up time and idle RSS only
  --scenario all           standard, then scale, then messaging
  --quick                  2-second runs and small seeds (CI): proves the tool works

server:
  --server PATH            the carillon binary (target/release/carillon)
  --url http://HOST:PORT   use a running server instead (no start-up, RSS or CPU figures)
  --auth auto|sigv4|open   auto tries --auth sigv4 and falls back to open (auto); requests are
                           SigV4-signed whatever the mode
  --credentials AKID:SECRET:ACCOUNT   the credential to sign with (generated, account 123456789012)
  --region R               the region signed into the scope (us-east-1)
  --server-cpu N           pin the server (and the baseline) to core N; implies --threads 1
  --client-cpu N           pin the load generator to core N
  --threads N              the server's and the baseline's worker threads
  --server-arg ARG         one more argument for carillon serve (repeatable)
  --db-dir DIR             where the temporary databases go (the system temp dir)
  --startup-runs N         start-ups timed for the median (7)

load:
  --mix update=1,describe=1   one run of this mix instead of the standard set; operations: update,
                           describe, register-deregister, list-users
  --connections N          keep-alive connections (32)
  --duration SECS          measured seconds of each run (10)
  --warmup SECS            seconds before measuring (2)
  --list-page P            list-users fetches page P (walks the tokens first) (1)
  --pool N                 pre-signed requests per operation (4096)
  --no-baseline            skip the baseline runs
  --client raw|hyper       the load generator's HTTP client: pre-serialized requests written to the
                           socket with a minimal response parser (raw), or hyper 1's client
                           connection (conn::http1), which costs more client CPU a request and
                           saturates the client core before the baseline server does (raw)

seeding:
  --seed-users N           users of the standard scenario's AppInstance (1000)
  --endpoints-per-user M   endpoints of each (2)
  --seed-connections N     connections used for seeding (128)
  --scale-users N          (100000)
  --scale-endpoints-per-user M   (10)
  --scale-small-endpoints N      the small AppInstance's endpoints (1000)
  --scale-page P           (2000)
  --scale-pool N           pre-signed requests per operation in the scale runs, more distinct
                           endpoints than Carillon's cache of endpoints holds (8,192), so that at
                           1,000,000 endpoints a Describe reads the database (32768)
  --msg-members N          members of the messaging scenario's large channel (1000)
  --msg-endpoints-per-member M   endpoints of each member (2)
  --msg-small-messages N   messages of the small ListChannelMessages channel (1000)
  --msg-large-messages N   messages of the large one (1000000)

output:
  --markdown               also print the results as Markdown rows for BENCHMARKS.md
";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    Standard,
    Scale,
    Startup,
    Messaging,
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthChoice {
    Auto,
    Sigv4,
    Open,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub scenario: Scenario,
    pub server: PathBuf,
    pub url: Option<String>,
    pub auth: AuthChoice,
    pub creds: Credentials,
    pub region: String,
    pub server_cpu: Option<usize>,
    pub client_cpu: Option<usize>,
    pub threads: Option<usize>,
    pub server_args: Vec<String>,
    pub db_dir: Option<PathBuf>,
    pub startup_runs: usize,
    pub mix: Option<Vec<(MixOp, u32)>>,
    pub connections: usize,
    pub duration: Duration,
    pub warmup: Duration,
    pub list_page: usize,
    pub pool: usize,
    pub baseline: bool,
    pub seed_users: usize,
    pub endpoints_per_user: usize,
    pub seed_connections: usize,
    pub scale_users: usize,
    pub scale_endpoints_per_user: usize,
    pub scale_small_endpoints: usize,
    pub scale_page: usize,
    pub scale_pool: usize,
    pub msg_members: usize,
    pub msg_endpoints_per_member: usize,
    pub msg_small_messages: usize,
    pub msg_large_messages: usize,
    pub quick: bool,
    pub markdown: bool,
    pub engine: crate::load::Engine,
}

pub fn parse_mix(s: &str) -> Result<Vec<(MixOp, u32)>, String> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, w) = part.split_once('=').unwrap_or((part, "1"));
        let op = MixOp::parse(name.trim()).ok_or_else(|| format!("--mix: unknown operation '{name}'"))?;
        let w: u32 = w.trim().parse().map_err(|_| format!("--mix: weight of {name} must be a number"))?;
        if w > 0 {
            out.push((op, w));
        }
    }
    if out.is_empty() {
        return Err("--mix needs at least one operation with a weight above 0".into());
    }
    Ok(out)
}

fn secs(v: &str, opt: &str) -> Result<Duration, String> {
    let f: f64 = v.parse().map_err(|_| format!("{opt} takes seconds, not '{v}'"))?;
    if !(0.0..86_400.0).contains(&f) {
        return Err(format!("{opt} out of range"));
    }
    Ok(Duration::from_secs_f64(f))
}

pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        scenario: Scenario::Standard,
        server: PathBuf::from("target/release/carillon"),
        url: None,
        auth: AuthChoice::Auto,
        creds: Credentials {
            access_key: "AKIDCARILLONBENCH01".into(),
            secret: "carillon/bench+secret/0123456789abcdefEXAMPLE".into(),
            account: "123456789012".into(),
        },
        region: "us-east-1".into(),
        server_cpu: None,
        client_cpu: None,
        threads: None,
        server_args: Vec::new(),
        db_dir: None,
        startup_runs: 7,
        mix: None,
        connections: 32,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        list_page: 1,
        pool: 4096,
        baseline: true,
        seed_users: 1000,
        endpoints_per_user: 2,
        seed_connections: 128,
        scale_users: 100_000,
        scale_endpoints_per_user: 10,
        scale_small_endpoints: 1000,
        scale_page: 2000,
        scale_pool: 32_768,
        msg_members: 1000,
        msg_endpoints_per_member: 2,
        msg_small_messages: 1000,
        msg_large_messages: 1_000_000,
        quick: false,
        markdown: false,
        engine: crate::load::Engine::Raw,
    };
    // --quick first, so that explicit options given with it still win.
    if args.iter().any(|a| a == "--quick") {
        o.quick = true;
        o.duration = Duration::from_secs(2);
        o.warmup = Duration::from_millis(500);
        o.startup_runs = 3;
        o.seed_users = 100;
        o.endpoints_per_user = 2;
        o.seed_connections = 16;
        o.connections = 8;
        o.pool = 512;
        o.scale_users = 1000;
        o.scale_endpoints_per_user = 4;
        o.scale_small_endpoints = 100;
        o.scale_page = 20;
        o.scale_pool = 512;
        o.msg_members = 150;
        o.msg_small_messages = 100;
        o.msg_large_messages = 3000;
    }
    let mut i = 0;
    while i < args.len() {
        let (name, inline) = match args[i].split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (args[i].clone(), None),
        };
        let flag = matches!(name.as_str(), "--quick" | "--markdown" | "--no-baseline" | "--help" | "-h");
        let value = if flag {
            String::new()
        } else {
            match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i).cloned().ok_or_else(|| format!("{name} needs a value"))?
                }
            }
        };
        let num = |v: &str| -> Result<usize, String> { v.parse().map_err(|_| format!("{name} takes a number, not '{v}'")) };
        match name.as_str() {
            "--help" | "-h" => return Err(String::new()),
            "--quick" => {}
            "--markdown" => o.markdown = true,
            "--no-baseline" => o.baseline = false,
            "--scenario" => {
                o.scenario = match value.as_str() {
                    "standard" => Scenario::Standard,
                    "scale" => Scenario::Scale,
                    "startup" => Scenario::Startup,
                    "messaging" => Scenario::Messaging,
                    "all" => Scenario::All,
                    v => {
                        return Err(format!("--scenario takes standard, scale, messaging, startup or all, not '{v}'"));
                    }
                }
            }
            "--server" => o.server = PathBuf::from(value),
            "--url" => o.url = Some(value),
            "--auth" => {
                o.auth = match value.as_str() {
                    "auto" => AuthChoice::Auto,
                    "sigv4" => AuthChoice::Sigv4,
                    "open" => AuthChoice::Open,
                    v => return Err(format!("--auth takes auto, sigv4 or open, not '{v}'")),
                }
            }
            "--credentials" => o.creds = Credentials::parse(&value).ok_or("--credentials takes AKID:SECRET:ACCOUNT (12 digits)")?,
            "--region" => o.region = value,
            "--server-cpu" => o.server_cpu = Some(num(&value)?),
            "--client-cpu" => o.client_cpu = Some(num(&value)?),
            "--threads" => o.threads = Some(num(&value)?.max(1)),
            "--server-arg" => o.server_args.push(value),
            "--db-dir" => o.db_dir = Some(PathBuf::from(value)),
            "--startup-runs" => o.startup_runs = num(&value)?.max(1),
            "--mix" => o.mix = Some(parse_mix(&value)?),
            "--connections" => o.connections = num(&value)?.max(1),
            "--duration" => o.duration = secs(&value, "--duration")?,
            "--warmup" => o.warmup = secs(&value, "--warmup")?,
            "--list-page" => o.list_page = num(&value)?.max(1),
            "--pool" => o.pool = num(&value)?.max(1),
            "--seed-users" => o.seed_users = num(&value)?.max(1),
            "--endpoints-per-user" => o.endpoints_per_user = num(&value)?,
            "--seed-connections" => o.seed_connections = num(&value)?.max(1),
            "--scale-users" => o.scale_users = num(&value)?.max(1),
            "--scale-endpoints-per-user" => o.scale_endpoints_per_user = num(&value)?.max(1),
            "--scale-small-endpoints" => o.scale_small_endpoints = num(&value)?.max(1),
            "--client" => {
                o.engine = match value.as_str() {
                    "hyper" => crate::load::Engine::Hyper,
                    "raw" => crate::load::Engine::Raw,
                    v => return Err(format!("--client takes hyper or raw, not '{v}'")),
                }
            }
            "--scale-page" => o.scale_page = num(&value)?.max(1),
            "--scale-pool" => o.scale_pool = num(&value)?.max(1),
            "--msg-members" => o.msg_members = num(&value)?.max(2),
            "--msg-endpoints-per-member" => o.msg_endpoints_per_member = num(&value)?.clamp(1, 10),
            "--msg-small-messages" => o.msg_small_messages = num(&value)?.max(10),
            "--msg-large-messages" => o.msg_large_messages = num(&value)?.max(10),
            other => return Err(format!("unknown option '{other}' (see --help)")),
        }
        i += 1;
    }
    if o.threads.is_none() && o.server_cpu.is_some() {
        o.threads = Some(1);
    }
    Ok(o)
}
