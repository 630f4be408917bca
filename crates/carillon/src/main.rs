//! The `carillon` binary: parses the command line (clap), installs the log subscriber, builds the
//! runtime and runs the server.

use carillon::config::{self, Command, Config, LogFormat, StateCommand};
use clap::error::ErrorKind;
use std::process::ExitCode;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

fn main() -> ExitCode {
    let cli = match config::command_line(std::env::args_os(), |var| std::env::var(var).ok()) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            return fail("missing command (try carillon serve, or carillon --help)");
        }
        Err(e) => return fail(&config::one_line_error(&e)),
    };
    let config = match cli.command {
        Command::Serve(args) => match args.config() {
            Ok(c) => c,
            Err(e) => return fail(&e),
        },
        Command::State(command) => return state(command),
    };
    init_logging(&config);
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(n) = config.threads {
        runtime.worker_threads(n);
    }
    let runtime = match runtime.build() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    match runtime.block_on(carillon::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// `carillon state export|import`: exit 0 once done, else one line on stderr and exit 2.
fn state(command: StateCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let done = runtime.block_on(async {
        match command {
            StateCommand::Export { database, file } => carillon::state::export(&database, file.as_deref()).await,
            StateCommand::Import { database, file } => {
                let imported = carillon::state::import(&database, &file).await?;
                eprintln!("carillon: imported {imported}");
                Ok(())
            }
        }
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// One subscriber for the process, writing on stderr in the format asked for. The server's own
/// events are logged from info up; a request's line (target `carillon::request`) only from warn up
/// with `--quiet`; other crates' events only from warn up.
fn init_logging(config: &Config) {
    let requests = if config.quiet { LevelFilter::WARN } else { LevelFilter::INFO };
    let filter = Targets::new()
        .with_default(LevelFilter::WARN)
        .with_target("carillon", LevelFilter::INFO)
        .with_target(carillon::REQUEST_LOG_TARGET, requests);
    let layer = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false).with_target(false);
    let installed = match config.log_format {
        LogFormat::Text => tracing_subscriber::registry().with(layer.with_filter(filter)).try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.json().flatten_event(true).with_current_span(false).with_span_list(false).with_filter(filter))
            .try_init(),
    };
    if let Err(e) = installed {
        eprintln!("carillon: cannot install the log subscriber: {e}");
    }
}

/// A start-up failure: one line on stderr (as JSON with `--log-format json` once the subscriber is
/// in place, else plain) and exit code 2.
fn fail(message: &str) -> ExitCode {
    let message = message.replace('\n', " ");
    if tracing::dispatcher::has_been_set() {
        tracing::error!(target: "carillon", "carillon: error: {message}");
    } else {
        eprintln!("carillon: error: {message}");
    }
    ExitCode::from(2)
}
