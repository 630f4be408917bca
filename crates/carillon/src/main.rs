//! The `carillon` binary: parses the command line, builds the runtime and runs the server.

use carillon::config;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {}
        Some("--help") | Some("-h") | Some("help") => {
            print!("{}", config::USAGE);
            return ExitCode::SUCCESS;
        }
        Some("--version") | Some("-V") => {
            println!("carillon {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Some(other) => return fail(&format!("unknown command '{other}' (try carillon serve, or carillon --help)")),
        None => return fail("missing command (try carillon serve, or carillon --help)"),
    }
    let config = match config::parse(&args[1..], |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
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

fn fail(message: &str) -> ExitCode {
    eprintln!("carillon: error: {}", message.replace('\n', " "));
    ExitCode::from(2)
}
