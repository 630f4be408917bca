//! `carillon serve`'s options, each also read from an environment variable. A bad value is one
//! line on stderr and a non-zero exit, before anything listens.

use carillon_service::Quotas;
use carillon_store_postgres::redact;
use std::net::SocketAddr;
use std::path::PathBuf;

pub const USAGE: &str = "\
usage: carillon serve [OPTIONS]

Runs the Amazon Chime SDK Identity API server in the foreground; SIGINT or SIGTERM stop it cleanly.

options (each also read from the environment variable in brackets):
  --listen ADDR:PORT                 where to listen, port 0 picks a free one [CARILLON_LISTEN] (127.0.0.1:4590)
  --database URL                     sqlite://PATH, sqlite::memory: or postgres://... [CARILLON_DATABASE]
                                     (sqlite://$XDG_DATA_HOME/carillon/carillon.db, else ~/.local/share/carillon/carillon.db)
  --auth open|sigv4                  open: no signature checked; sigv4: every request signed [CARILLON_AUTH] (open)
  --credentials FILE                 lines ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID, with :admin
                                     after the account for an operator's key [CARILLON_CREDENTIALS]
  --control-plane on|off             off: of /_carillon/ only health answers [CARILLON_CONTROL_PLANE] (on)
  --expiration-sweep-interval SECS   how often expired users are deleted [CARILLON_EXPIRATION_SWEEP_INTERVAL] (60)
  --clock-offset SECS                moves the service's clock forward (tests) [CARILLON_CLOCK_OFFSET] (0)
  --threads N                        worker threads [CARILLON_THREADS] (number of CPUs)
  --quiet                            no per-request log lines [CARILLON_QUIET=1]
  --throttle off|aws                 AWS's request rates per account [CARILLON_THROTTLE] (off)
  --request-timeout SECS             time a client gets to send a request's body [CARILLON_REQUEST_TIMEOUT] (30)
  --header-timeout SECS              time a connection gets to send a complete request head, and the
                                     longest a keep-alive connection may stay idle [CARILLON_HEADER_TIMEOUT] (10)
  --max-connections N                open connections at once; more wait to be accepted [CARILLON_MAX_CONNECTIONS] (1024)
  --quota-app-instances N            AppInstances per account and region [CARILLON_QUOTA_APP_INSTANCES] (100)
  --quota-users N                    users per AppInstance [CARILLON_QUOTA_USERS] (100000)
  --quota-admins N                   admins per AppInstance [CARILLON_QUOTA_ADMINS] (100)
  --quota-endpoints N                endpoints per user [CARILLON_QUOTA_ENDPOINTS] (10)
  --quota-bots N                     bots per AppInstance [CARILLON_QUOTA_BOTS] (100)
  --quota-tags N                     tags per resource [CARILLON_QUOTA_TAGS] (50)
";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    Open,
    Sigv4,
}

/// Where the store lives.
#[derive(Clone, PartialEq, Eq)]
pub enum Database {
    SqliteFile(PathBuf),
    SqliteMemory,
    Postgres(String),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::SqliteFile(p) => write!(f, "sqlite://{}", p.display()),
            Database::SqliteMemory => f.write_str("sqlite::memory:"),
            Database::Postgres(url) => write!(f, "{}", redact(url)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: Database,
    pub auth: AuthMode,
    pub credentials: Option<PathBuf>,
    /// Whether `/_carillon/` serves more than health (in sigv4 mode, to operators only).
    pub control_plane: bool,
    pub sweep_interval_secs: u64,
    pub clock_offset_secs: i64,
    pub threads: Option<usize>,
    pub quiet: bool,
    pub throttle: bool,
    pub request_timeout_secs: u64,
    /// How long a connection may take to send a complete request head (or stay idle between requests).
    pub header_timeout_secs: u64,
    pub max_connections: usize,
    pub quotas: Quotas,
}

/// In-memory SQLite, `127.0.0.1:0`, open auth, quiet, every other option at its default.
impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database: Database::SqliteMemory,
            auth: AuthMode::Open,
            credentials: None,
            control_plane: true,
            sweep_interval_secs: 60,
            clock_offset_secs: 0,
            threads: None,
            quiet: true,
            throttle: false,
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            max_connections: 1024,
            quotas: Quotas::default(),
        }
    }
}

impl Config {
    /// The [default](Config::default) configuration on the database `database` names
    /// (`sqlite://PATH`, `sqlite::memory:` or `postgres://...`), for tests that run the server in
    /// process.
    pub fn for_tests(database: &str) -> Result<Config, String> {
        Ok(Config { database: parse_database(database)?, ..Config::default() })
    }
}

fn default_database() -> Database {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".local/share")));
    match base {
        Some(b) => Database::SqliteFile(b.join("carillon").join("carillon.db")),
        None => Database::SqliteFile(PathBuf::from("carillon.db")),
    }
}

pub fn parse_database(url: &str) -> Result<Database, String> {
    if url == "sqlite::memory:" || url == "sqlite://:memory:" {
        Ok(Database::SqliteMemory)
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err("--database sqlite:// needs a path, e.g. sqlite://./carillon.db".into());
        }
        Ok(Database::SqliteFile(PathBuf::from(path)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Database::Postgres(url.to_string()))
    } else {
        Err(format!("--database must be sqlite://PATH, sqlite::memory: or postgres://..., not {}", redact(url)))
    }
}

/// The options, each paired with its environment variable and whether it takes a value.
const OPTIONS: &[(&str, &str, bool)] = &[
    ("--listen", "CARILLON_LISTEN", true),
    ("--database", "CARILLON_DATABASE", true),
    ("--auth", "CARILLON_AUTH", true),
    ("--credentials", "CARILLON_CREDENTIALS", true),
    ("--control-plane", "CARILLON_CONTROL_PLANE", true),
    ("--expiration-sweep-interval", "CARILLON_EXPIRATION_SWEEP_INTERVAL", true),
    ("--clock-offset", "CARILLON_CLOCK_OFFSET", true),
    ("--threads", "CARILLON_THREADS", true),
    ("--quiet", "CARILLON_QUIET", false),
    ("--throttle", "CARILLON_THROTTLE", true),
    ("--request-timeout", "CARILLON_REQUEST_TIMEOUT", true),
    ("--header-timeout", "CARILLON_HEADER_TIMEOUT", true),
    ("--max-connections", "CARILLON_MAX_CONNECTIONS", true),
    ("--quota-app-instances", "CARILLON_QUOTA_APP_INSTANCES", true),
    ("--quota-users", "CARILLON_QUOTA_USERS", true),
    ("--quota-admins", "CARILLON_QUOTA_ADMINS", true),
    ("--quota-endpoints", "CARILLON_QUOTA_ENDPOINTS", true),
    ("--quota-bots", "CARILLON_QUOTA_BOTS", true),
    ("--quota-tags", "CARILLON_QUOTA_TAGS", true),
];

fn number<T: std::str::FromStr>(option: &str, value: &str) -> Result<T, String> {
    value.trim().parse().map_err(|_| format!("{option} takes a number, not '{value}'"))
}

/// Parses the arguments after `serve`, with `env` giving environment values.
pub fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
    let mut given: Vec<(&'static str, String)> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let Some(&(opt, _, takes_value)) = OPTIONS.iter().find(|(o, _, _)| *o == name) else {
            return Err(format!("unknown option '{arg}' (see carillon --help)"));
        };
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    args.get(i).cloned().ok_or_else(|| format!("{opt} needs a value"))?
                }
            }
        } else {
            "1".to_string()
        };
        given.push((opt, value));
        i += 1;
    }
    let get = |opt: &str| -> Option<String> {
        given.iter().rev().find(|(o, _)| *o == opt).map(|(_, v)| v.clone()).or_else(|| {
            let var = OPTIONS.iter().find(|(o, _, _)| *o == opt).map(|(_, v, _)| *v)?;
            env(var).filter(|v| !v.is_empty())
        })
    };
    let listen = get("--listen").unwrap_or_else(|| "127.0.0.1:4590".into());
    let listen: SocketAddr = listen.parse().map_err(|_| format!("--listen takes ADDR:PORT, not '{listen}'"))?;
    let database = match get("--database") {
        Some(url) => parse_database(&url)?,
        None => default_database(),
    };
    let auth = match get("--auth").as_deref() {
        None | Some("open") => AuthMode::Open,
        Some("sigv4") => AuthMode::Sigv4,
        Some(other) => return Err(format!("--auth takes open or sigv4, not '{other}'")),
    };
    let credentials = get("--credentials").map(PathBuf::from);
    if auth == AuthMode::Sigv4 && credentials.is_none() {
        return Err("--auth sigv4 needs --credentials FILE".into());
    }
    let control_plane = match get("--control-plane").as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => return Err(format!("--control-plane takes on or off, not '{other}'")),
    };
    let sweep_interval_secs: u64 =
        get("--expiration-sweep-interval").map(|v| number("--expiration-sweep-interval", &v)).transpose()?.unwrap_or(60);
    if sweep_interval_secs == 0 {
        return Err("--expiration-sweep-interval must be at least 1 second".into());
    }
    let clock_offset_secs = get("--clock-offset").map(|v| number("--clock-offset", &v)).transpose()?.unwrap_or(0);
    carillon_service::clock::check_offset_secs(clock_offset_secs).map_err(|e| format!("--clock-offset: {e}"))?;
    let threads = get("--threads").map(|v| number::<usize>("--threads", &v)).transpose()?;
    if threads == Some(0) {
        return Err("--threads must be at least 1".into());
    }
    let quiet = get("--quiet").is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    let throttle = match get("--throttle").as_deref() {
        None | Some("off") => false,
        Some("aws") => true,
        Some(other) => return Err(format!("--throttle takes off or aws, not '{other}'")),
    };
    let request_timeout_secs: u64 = get("--request-timeout").map(|v| number("--request-timeout", &v)).transpose()?.unwrap_or(30);
    if request_timeout_secs == 0 {
        return Err("--request-timeout must be at least 1 second".into());
    }
    let header_timeout_secs: u64 = get("--header-timeout").map(|v| number("--header-timeout", &v)).transpose()?.unwrap_or(10);
    if header_timeout_secs == 0 {
        return Err("--header-timeout must be at least 1 second".into());
    }
    let max_connections: usize = get("--max-connections").map(|v| number("--max-connections", &v)).transpose()?.unwrap_or(1024);
    if max_connections == 0 {
        return Err("--max-connections must be at least 1".into());
    }
    let d = Quotas::default();
    let quota =
        |opt: &str, default: u64| -> Result<u64, String> { get(opt).map(|v| number(opt, &v)).transpose().map(|v| v.unwrap_or(default)) };
    let quotas = Quotas {
        app_instances_per_account: quota("--quota-app-instances", d.app_instances_per_account)?,
        users_per_app_instance: quota("--quota-users", d.users_per_app_instance)?,
        admins_per_app_instance: quota("--quota-admins", d.admins_per_app_instance)?,
        endpoints_per_user: quota("--quota-endpoints", d.endpoints_per_user)?,
        bots_per_app_instance: quota("--quota-bots", d.bots_per_app_instance)?,
        tags_per_resource: quota("--quota-tags", d.tags_per_resource)?,
    };
    Ok(Config {
        listen,
        database,
        auth,
        credentials,
        control_plane,
        sweep_interval_secs,
        clock_offset_secs,
        threads,
        quiet,
        throttle,
        request_timeout_secs,
        header_timeout_secs,
        max_connections,
        quotas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_beat_environment_and_defaults_apply() {
        let env = |k: &str| (k == "CARILLON_LISTEN").then(|| "127.0.0.1:9".to_string());
        let c = parse(&args(&["--database", "sqlite::memory:"]), env).unwrap();
        assert_eq!(c.listen.port(), 9);
        assert_eq!(c.database, Database::SqliteMemory);
        let c = parse(&args(&["--listen=127.0.0.1:0", "--quota-endpoints", "3"]), env).unwrap();
        assert_eq!(c.listen.port(), 0);
        assert_eq!(c.quotas.endpoints_per_user, 3);
        assert_eq!(c.auth, AuthMode::Open);
    }

    #[test]
    fn bad_options_are_one_line_errors() {
        for bad in
            [&["--nope"][..], &["--listen"], &["--listen", "x"], &["--auth", "basic"], &["--database", "mysql://x"], &["--auth", "sigv4"]]
        {
            let e = parse(&args(bad), |_| None).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn the_control_plane_is_on_unless_switched_off() {
        assert!(parse(&args(&[]), |_| None).unwrap().control_plane);
        assert!(!parse(&args(&["--control-plane", "off"]), |_| None).unwrap().control_plane);
        assert!(!parse(&args(&[]), |k| (k == "CARILLON_CONTROL_PLANE").then(|| "off".into())).unwrap().control_plane);
        assert!(parse(&args(&["--control-plane=on"]), |k| (k == "CARILLON_CONTROL_PLANE").then(|| "off".into())).unwrap().control_plane);
        let e = parse(&args(&["--control-plane", "maybe"]), |_| None).unwrap_err();
        assert!(e.contains("--control-plane") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn the_header_timeout_defaults_to_10_seconds() {
        assert_eq!(parse(&args(&[]), |_| None).unwrap().header_timeout_secs, 10);
        assert_eq!(parse(&args(&[]), |k| (k == "CARILLON_HEADER_TIMEOUT").then(|| "3".into())).unwrap().header_timeout_secs, 3);
        assert!(parse(&args(&["--header-timeout", "0"]), |_| None).is_err());
    }

    #[test]
    fn the_clock_offset_is_at_most_100_years_either_way() {
        for bad in ["1000000000000", "-1000000000000", "3155760001", "-3155760001"] {
            let e = parse(&args(&["--clock-offset", bad]), |_| None).unwrap_err();
            assert!(e.contains("--clock-offset") && !e.contains('\n'), "{e}");
        }
        assert_eq!(parse(&args(&["--clock-offset", "-3155760000"]), |_| None).unwrap().clock_offset_secs, -3_155_760_000);
    }

    #[test]
    fn debug_of_the_database_never_shows_a_password() {
        for (url, secret) in [
            ("postgres://u:pw@h/db", "pw"),
            ("postgres://u:p@ss@h/db", "p@ss"),
            ("postgresql://h/db?user=u&password=hunter2", "hunter2"),
            ("postgres://h/db?password=hunter2&sslmode=disable", "hunter2"),
        ] {
            let shown = format!("{:?}", parse_database(url).unwrap());
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("***"), "{shown}");
        }
        assert_eq!(format!("{:?}", parse_database("postgres://u:pw@h/db").unwrap()), "postgres://u:***@h/db");
        let e = parse_database("mysql://u:hunter2@h/db").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn the_test_configuration_is_quiet_in_memory_on_a_free_port() {
        let c = Config::for_tests("sqlite::memory:").unwrap();
        assert_eq!((c.database, c.listen.port(), c.quiet, c.auth), (Database::SqliteMemory, 0, true, AuthMode::Open));
        assert!(Config::for_tests("mysql://x").is_err());
    }
}
