//! The command line (on clap): `carillon serve`'s options, each also read from an environment
//! variable. A bad value is one line on stderr and a non-zero exit, before anything listens.

use carillon_service::Quotas;
use carillon_store_postgres::redact;
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `carillon`'s command line.
#[derive(Debug, Parser)]
#[command(name = "carillon", version, about = "An Amazon Chime SDK Identity and Messaging API server", subcommand_required = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the Amazon Chime SDK Identity and Messaging API server in the foreground
    ///
    /// SIGINT or SIGTERM stop it cleanly. Each option is also read from the environment variable
    /// shown; an option given on the command line wins, and a later one wins over an earlier one.
    #[command(args_override_self = true)]
    Serve(Box<ServeArgs>),
    /// Exports or imports all state of a database, offline (no server may be using it)
    #[command(subcommand)]
    State(StateCommand),
}

/// `carillon state ...`: the state document of `GET`/`PUT /_carillon/state`, without a server.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Writes the database's state document to FILE, or to stdout
    Export {
        /// sqlite://PATH or postgres://...
        #[arg(long, env = "CARILLON_DATABASE", value_name = "URL", hide_env_values = true)]
        database: String,
        /// Where to write the document [default: stdout]
        file: Option<PathBuf>,
    },
    /// Replaces all state of the database (creating its schema if needed) with FILE's document
    Import {
        /// sqlite://PATH or postgres://...
        #[arg(long, env = "CARILLON_DATABASE", value_name = "URL", hide_env_values = true)]
        database: String,
        /// A state document, as `carillon state export` or `GET /_carillon/state` writes it
        file: PathBuf,
    },
}

/// The options of `carillon serve`, as given; [`ServeArgs::config`] checks them together.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to listen; port 0 picks a free one
    #[arg(long, env = "CARILLON_LISTEN", value_name = "ADDR:PORT", default_value = "127.0.0.1:4590")]
    pub listen: SocketAddr,
    /// sqlite://PATH, sqlite::memory: or postgres://... [default:
    /// sqlite://$XDG_DATA_HOME/carillon/carillon.db, else ~/.local/share/carillon/carillon.db]
    #[arg(long, env = "CARILLON_DATABASE", value_name = "URL", hide_env_values = true)]
    pub database: Option<String>,
    /// open: no signature checked; sigv4: every request signed
    #[arg(long, env = "CARILLON_AUTH", value_enum, default_value_t = AuthMode::Open)]
    pub auth: AuthMode,
    /// Lines ACCESS_KEY_ID:SECRET_ACCESS_KEY:ACCOUNT_ID, with :admin after the account for an
    /// operator's key
    #[arg(long, env = "CARILLON_CREDENTIALS", value_name = "FILE", hide_env_values = true)]
    pub credentials: Option<PathBuf>,
    /// off: of /_carillon/ only health answers
    #[arg(long, env = "CARILLON_CONTROL_PLANE", value_enum, default_value_t = Switch::On)]
    pub control_plane: Switch,
    /// How often expired users are deleted, in seconds
    #[arg(long, env = "CARILLON_EXPIRATION_SWEEP_INTERVAL", value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub expiration_sweep_interval: u64,
    /// Moves the service's clock forward (tests), in seconds, at most 100 years either way
    #[arg(long, env = "CARILLON_CLOCK_OFFSET", value_name = "SECS", default_value_t = 0, allow_negative_numbers = true)]
    pub clock_offset: i64,
    /// Worker threads [default: the number of CPUs]
    #[arg(long, env = "CARILLON_THREADS", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub threads: Option<u64>,
    /// Only warnings and errors: no line for a request answered 2xx, 3xx or 4xx (a 403 with a known
    /// cause is still logged)
    #[arg(long, env = "CARILLON_QUIET")]
    pub quiet: bool,
    /// How log lines are written on stderr
    #[arg(long, env = "CARILLON_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// AWS's request rates per account
    #[arg(long, env = "CARILLON_THROTTLE", value_enum, default_value_t = Throttle::Off)]
    pub throttle: Throttle,
    /// Time a client gets to send a request's body, in seconds
    #[arg(long, env = "CARILLON_REQUEST_TIMEOUT", value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// Time a connection gets to send a complete request head, and the longest a keep-alive
    /// connection may stay idle, in seconds
    #[arg(long, env = "CARILLON_HEADER_TIMEOUT", value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Open connections at once; more wait to be accepted
    #[arg(long, env = "CARILLON_MAX_CONNECTIONS", value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Origins whose browser pages may call the API and the control plane: scheme://host[:port]
    /// separated by commas, or * for every origin [default: http(s)://localhost and
    /// http(s)://127.0.0.1, any port]
    #[arg(long, env = "CARILLON_CORS_ORIGINS", value_name = "LIST", value_parser = crate::cors::Origins::parse)]
    pub cors_origins: Option<crate::cors::Origins>,
    /// Resources to create at start when missing: a seed file, JSON or YAML (see examples/seed.yaml)
    #[arg(long, env = "CARILLON_SEED", value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// API requests kept in the request journal (GET /_carillon/requests); 0 turns it off
    #[arg(long, env = "CARILLON_JOURNAL_SIZE", value_name = "N", default_value_t = 1000)]
    pub journal_size: u64,
    /// Also keep each journaled request's and answer's body, members the model marks sensitive as
    /// `***`
    #[arg(long, env = "CARILLON_JOURNAL_BODIES")]
    pub journal_bodies: bool,
    /// What GetMessagingSessionEndpoint answers, host[:port] [default: the request's Host header,
    /// with the listener's port when it names none]
    #[arg(long, env = "CARILLON_MESSAGING_ENDPOINT", value_name = "HOST[:PORT]", value_parser = parse_messaging_endpoint)]
    pub messaging_endpoint: Option<String>,
    /// AppInstances per account and region
    #[arg(long, env = "CARILLON_QUOTA_APP_INSTANCES", value_name = "N", default_value_t = Quotas::default().app_instances_per_account)]
    pub quota_app_instances: u64,
    /// Users per AppInstance
    #[arg(long, env = "CARILLON_QUOTA_USERS", value_name = "N", default_value_t = Quotas::default().users_per_app_instance)]
    pub quota_users: u64,
    /// Admins per AppInstance
    #[arg(long, env = "CARILLON_QUOTA_ADMINS", value_name = "N", default_value_t = Quotas::default().admins_per_app_instance)]
    pub quota_admins: u64,
    /// Endpoints per user
    #[arg(long, env = "CARILLON_QUOTA_ENDPOINTS", value_name = "N", default_value_t = Quotas::default().endpoints_per_user)]
    pub quota_endpoints: u64,
    /// Bots per AppInstance
    #[arg(long, env = "CARILLON_QUOTA_BOTS", value_name = "N", default_value_t = Quotas::default().bots_per_app_instance)]
    pub quota_bots: u64,
    /// Tags per resource
    #[arg(long, env = "CARILLON_QUOTA_TAGS", value_name = "N", default_value_t = Quotas::default().tags_per_resource)]
    pub quota_tags: u64,
    /// Channels per AppInstance
    #[arg(long, env = "CARILLON_QUOTA_CHANNELS", value_name = "N", default_value_t = Quotas::default().channels_per_app_instance)]
    pub quota_channels: u64,
    /// Memberships per channel
    #[arg(long, env = "CARILLON_QUOTA_CHANNEL_MEMBERSHIPS", value_name = "N", default_value_t = Quotas::default().memberships_per_channel)]
    pub quota_channel_memberships: u64,
    /// Channels a user or bot can be a member of
    #[arg(long, env = "CARILLON_QUOTA_USER_MEMBERSHIPS", value_name = "N", default_value_t = Quotas::default().memberships_per_user)]
    pub quota_user_memberships: u64,
    /// Moderators per channel
    #[arg(long, env = "CARILLON_QUOTA_CHANNEL_MODERATORS", value_name = "N", default_value_t = Quotas::default().moderators_per_channel)]
    pub quota_channel_moderators: u64,
    /// Push outbox entries kept (the newest)
    #[arg(long, env = "CARILLON_PUSH_OUTBOX_LIMIT", value_name = "N", default_value_t = Quotas::default().push_outbox_limit)]
    pub push_outbox_limit: u64,
}

/// `on` or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// `--throttle`: no rate limit, or AWS's rate profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Throttle {
    Off,
    Aws,
}

/// `--log-format`: tracing's text lines (an RFC 3339 timestamp first), or one JSON object a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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
    pub log_format: LogFormat,
    pub throttle: bool,
    pub request_timeout_secs: u64,
    /// How long a connection may take to send a complete request head (or stay idle between requests).
    pub header_timeout_secs: u64,
    pub max_connections: usize,
    /// How many API requests the request journal keeps (0: none).
    pub journal_size: usize,
    /// The origins whose pages may call the server (`--cors-origins`).
    pub cors_origins: crate::cors::Origins,
    /// Whether journal entries keep the request's and answer's bodies (sensitive members hidden).
    pub journal_bodies: bool,
    /// `--messaging-endpoint`: what GetMessagingSessionEndpoint answers, when set.
    pub messaging_endpoint: Option<String>,
    pub quotas: Quotas,
    /// The seed applied at start, read and parsed.
    pub seed: Option<Seed>,
}

/// `--messaging-endpoint`: a host with an optional port, no scheme or path (the JavaScript SDK
/// builds `wss://` + it + `/connect`).
fn parse_messaging_endpoint(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 255
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if ok { Ok(text.to_string()) } else { Err("must be host[:port], without a scheme or a path".to_string()) }
}

/// A seed file, read.
#[derive(Debug, Clone)]
pub struct Seed {
    /// The file, for messages.
    pub path: PathBuf,
    pub document: carillon_service::seed::SeedDocument,
}

impl Seed {
    /// Reads and parses a seed file: JSON when it starts with `{`, else YAML (of which JSON is a
    /// part, but JSON's own parser names its faults better). Any fault is one line.
    pub fn read(path: &std::path::Path) -> Result<Seed, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the seed file {}: {e}", path.display()))?;
        let document = if text.trim_start().starts_with('{') {
            serde_json::from_str(&text).map_err(|e| e.to_string())
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| e.to_string())
        }
        .map_err(|e| format!("the seed file {} is invalid: {}", path.display(), e.replace('\n', " ")))?;
        Ok(Seed { path: path.to_path_buf(), document })
    }
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
            log_format: LogFormat::Text,
            throttle: false,
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            max_connections: 1024,
            journal_size: 1000,
            cors_origins: crate::cors::Origins::Local,
            journal_bodies: false,
            messaging_endpoint: None,
            quotas: Quotas::default(),
            seed: None,
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

impl ServeArgs {
    /// The configuration these options give, checked together.
    pub fn config(&self) -> Result<Config, String> {
        let database = match &self.database {
            Some(url) if !url.is_empty() => parse_database(url)?,
            _ => default_database(),
        };
        let credentials = self.credentials.clone().filter(|p| !p.as_os_str().is_empty());
        if self.auth == AuthMode::Sigv4 && credentials.is_none() {
            return Err("--auth sigv4 needs --credentials FILE".into());
        }
        carillon_service::clock::check_offset_secs(self.clock_offset).map_err(|e| format!("--clock-offset: {e}"))?;
        let seed = self.seed.as_deref().filter(|p| !p.as_os_str().is_empty()).map(Seed::read).transpose()?;
        let size = |option: &str, n: u64| usize::try_from(n).map_err(|_| format!("{option} is too large: {n}"));
        Ok(Config {
            listen: self.listen,
            database,
            auth: self.auth,
            credentials,
            control_plane: self.control_plane == Switch::On,
            sweep_interval_secs: self.expiration_sweep_interval,
            clock_offset_secs: self.clock_offset,
            threads: self.threads.map(|n| size("--threads", n)).transpose()?,
            quiet: self.quiet,
            log_format: self.log_format,
            throttle: self.throttle == Throttle::Aws,
            request_timeout_secs: self.request_timeout,
            header_timeout_secs: self.header_timeout,
            max_connections: size("--max-connections", self.max_connections)?,
            journal_size: size("--journal-size", self.journal_size)?,
            cors_origins: self.cors_origins.clone().unwrap_or_default(),
            journal_bodies: self.journal_bodies,
            messaging_endpoint: self.messaging_endpoint.clone(),
            quotas: Quotas {
                app_instances_per_account: self.quota_app_instances,
                users_per_app_instance: self.quota_users,
                admins_per_app_instance: self.quota_admins,
                endpoints_per_user: self.quota_endpoints,
                bots_per_app_instance: self.quota_bots,
                tags_per_resource: self.quota_tags,
                channels_per_app_instance: self.quota_channels,
                memberships_per_channel: self.quota_channel_memberships,
                memberships_per_user: self.quota_user_memberships,
                moderators_per_channel: self.quota_channel_moderators,
                push_outbox_limit: self.push_outbox_limit,
                ..Quotas::default()
            },
            seed,
        })
    }
}

/// The first line of clap's message, without its `error: ` prefix: what `carillon: error: ` is
/// followed by on stderr.
pub fn one_line_error(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let first = rendered.lines().find(|l| !l.trim().is_empty()).unwrap_or("bad command line");
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// Parses a whole command line (`argv[0]` first), with `env` giving the environment variables.
/// An empty variable is as good as unset, and for `--quiet` `0`, `false`, `no`, `off` mean off. The
/// variables are read through `env` rather than by clap itself, so that tests can give theirs;
/// `--help` is rendered from the plain command, which shows each option's variable.
pub fn command_line<I, T>(argv: I, env: impl Fn(&str) -> Option<String>) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let argv: Vec<std::ffi::OsString> = argv.into_iter().map(Into::into).collect();
    let command =
        Cli::command().mut_subcommand("serve", |serve| serve.mut_args(|arg| from_env(arg, &env))).mut_subcommand("state", |state| {
            state
                .mut_subcommand("export", |c| c.mut_args(|arg| from_env(arg, &env)))
                .mut_subcommand("import", |c| c.mut_args(|arg| from_env(arg, &env)))
        });
    match command.try_get_matches_from(&argv) {
        Ok(matches) => Cli::from_arg_matches(&matches),
        Err(e) if matches!(e.kind(), clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion) => {
            Err(Cli::command().try_get_matches_from(&argv).err().unwrap_or(e))
        }
        Err(e) => Err(e),
    }
}

/// `arg` with its environment variable's value, if set and not empty, as its default, and clap's
/// own reading of the environment switched off.
fn from_env(arg: clap::Arg, env: &impl Fn(&str) -> Option<String>) -> clap::Arg {
    let Some(var) = arg.get_env().and_then(|v| v.to_str()).map(str::to_owned) else { return arg };
    let is_flag = !arg.get_action().takes_values();
    let arg = arg.env(None::<&'static str>);
    match env(&var).filter(|v| !v.is_empty()) {
        Some(v) if is_flag => {
            let off = ["0", "false", "no", "off", "n", "f"].contains(&v.trim().to_ascii_lowercase().as_str());
            arg.default_value(if off { "false" } else { "true" })
        }
        Some(v) => arg.default_value(v),
        None => arg,
    }
}

/// Parses the arguments after `serve`, with `env` giving the environment variables.
pub fn parse(args: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Config, String> {
    let argv = ["carillon", "serve"].into_iter().map(str::to_owned).chain(args.iter().cloned());
    match command_line(argv, env).map_err(|e| one_line_error(&e))?.command {
        Command::Serve(serve) => serve.config(),
        Command::State(_) => Err("not a serve command line".into()),
    }
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
    fn messaging_quotas_are_options_too() {
        let c = parse(&args(&["--quota-channels", "2", "--quota-channel-memberships", "3", "--quota-user-memberships", "4"]), |k| {
            (k == "CARILLON_QUOTA_CHANNEL_MODERATORS").then(|| "5".to_string())
        })
        .unwrap();
        let q = &c.quotas;
        let got = (q.channels_per_app_instance, q.memberships_per_channel, q.memberships_per_user, q.moderators_per_channel);
        assert_eq!(got, (2, 3, 4, 5));
        assert_eq!(parse(&args(&[]), |_| None).unwrap().quotas.memberships_per_channel, 10_000);
    }

    #[test]
    fn the_push_outbox_limit_is_an_option() {
        assert_eq!(parse(&args(&["--push-outbox-limit", "7"]), |_| None).unwrap().quotas.push_outbox_limit, 7);
        assert_eq!(parse(&args(&[]), |_| None).unwrap().quotas.push_outbox_limit, 10_000);
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
    fn empty_variables_are_unset_and_quiet_reads_off_words() {
        let env = |k: &str| match k {
            "CARILLON_LISTEN" | "CARILLON_THREADS" | "CARILLON_DATABASE" => Some(String::new()),
            "CARILLON_QUIET" => Some("0".into()),
            "CARILLON_LOG_FORMAT" => Some("json".into()),
            _ => None,
        };
        let c = parse(&args(&[]), env).unwrap();
        assert_eq!((c.listen.port(), c.threads, c.quiet, c.log_format), (4590, None, false, LogFormat::Json));
        assert!(parse(&args(&[]), |k| (k == "CARILLON_QUIET").then(|| "1".into())).unwrap().quiet);
        assert!(!parse(&args(&[]), |k| (k == "CARILLON_QUIET").then(|| "false".into())).unwrap().quiet);
        assert_eq!(parse(&args(&["--log-format", "text"]), env).unwrap().log_format, LogFormat::Text);
        let e = parse(&args(&[]), |k| (k == "CARILLON_LOG_FORMAT").then(|| "xml".into())).unwrap_err();
        assert!(e.contains("--log-format") && !e.contains('\n'), "{e}");
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
    fn the_journal_keeps_1000_requests_unless_told() {
        assert_eq!(parse(&args(&[]), |_| None).unwrap().journal_size, 1000);
        assert_eq!(parse(&args(&[]), |k| (k == "CARILLON_JOURNAL_SIZE").then(|| "0".into())).unwrap().journal_size, 0);
        assert_eq!(parse(&args(&["--journal-size", "5"]), |k| (k == "CARILLON_JOURNAL_SIZE").then(|| "0".into())).unwrap().journal_size, 5);
        assert!(parse(&args(&["--journal-size", "-1"]), |_| None).is_err());
        assert!(!parse(&args(&[]), |_| None).unwrap().journal_bodies);
        assert!(parse(&args(&["--journal-bodies"]), |_| None).unwrap().journal_bodies);
        assert!(parse(&args(&[]), |k| (k == "CARILLON_JOURNAL_BODIES").then(|| "1".into())).unwrap().journal_bodies);
        assert!(!parse(&args(&[]), |k| (k == "CARILLON_JOURNAL_BODIES").then(|| "off".into())).unwrap().journal_bodies);
    }

    #[test]
    fn the_messaging_endpoint_is_a_host_and_port_or_unset() {
        assert_eq!(parse(&args(&[]), |_| None).unwrap().messaging_endpoint, None);
        let set = |v: &str| parse(&args(&["--messaging-endpoint", v]), |_| None).map(|c| c.messaging_endpoint);
        assert_eq!(set("chat.example.com:8443").unwrap().as_deref(), Some("chat.example.com:8443"));
        let env = parse(&args(&[]), |k| (k == "CARILLON_MESSAGING_ENDPOINT").then(|| "localhost".into())).unwrap();
        assert_eq!(env.messaging_endpoint.as_deref(), Some("localhost"));
        for bad in ["", "wss://localhost", "localhost/connect", "a b"] {
            assert!(set(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cors_origins_default_to_this_machine_and_a_bad_list_is_one_line() {
        use crate::cors::Origins;
        assert_eq!(parse(&args(&[]), |_| None).unwrap().cors_origins, Origins::Local);
        assert_eq!(parse(&args(&["--cors-origins", "*"]), |_| None).unwrap().cors_origins, Origins::Any);
        let env = |k: &str| (k == "CARILLON_CORS_ORIGINS").then(|| "https://a.example,http://b.example:8080".into());
        assert_eq!(
            parse(&args(&[]), env).unwrap().cors_origins,
            Origins::List(vec!["https://a.example".into(), "http://b.example:8080".into()])
        );
        assert_eq!(parse(&args(&["--cors-origins=*"]), env).unwrap().cors_origins, Origins::Any);
        for bad in ["null", "http://a.example/", "", "a.example"] {
            let e = parse(&args(&["--cors-origins", bad]), |_| None).unwrap_err();
            assert!(e.contains("--cors-origins") && !e.contains('\n'), "{bad}: {e}");
        }
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
