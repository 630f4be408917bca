//! The command line as a user meets it (docs/behaviour.md, "Running the server"): `--help`,
//! `--version` and `serve --help` print on stdout and exit 0; a bad option or value is one line
//! on stderr and exit code 2, before anything listens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test fails by panicking

use std::process::{Command, Output, Stdio};

fn carillon(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_carillon"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CARILLON_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).stdin(Stdio::null()).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_and_version_print_and_exit_0() {
    let out = carillon(&["--version"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout).trim(), format!("carillon {}", env!("CARGO_PKG_VERSION")));

    for args in [&["--help"][..], &["-h"], &["help"]] {
        let out = carillon(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let help = text(&out.stdout);
        assert!(help.contains("Usage: carillon") && help.contains("serve"), "{help}");
    }

    for args in [&["serve", "--help"][..], &["help", "serve"]] {
        let out = carillon(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let help = text(&out.stdout);
        assert!(help.contains("Usage: carillon serve [OPTIONS]"), "{help}");
        // Every option, with its environment variable and default.
        for (option, var, default) in [
            ("--listen", "CARILLON_LISTEN", Some("127.0.0.1:4590")),
            ("--database", "CARILLON_DATABASE", None),
            ("--auth", "CARILLON_AUTH", Some("open")),
            ("--credentials", "CARILLON_CREDENTIALS", None),
            ("--control-plane", "CARILLON_CONTROL_PLANE", Some("on")),
            ("--expiration-sweep-interval", "CARILLON_EXPIRATION_SWEEP_INTERVAL", Some("60")),
            ("--clock-offset", "CARILLON_CLOCK_OFFSET", Some("0")),
            ("--threads", "CARILLON_THREADS", None),
            ("--quiet", "CARILLON_QUIET", None),
            ("--log-format", "CARILLON_LOG_FORMAT", Some("text")),
            ("--throttle", "CARILLON_THROTTLE", Some("off")),
            ("--request-timeout", "CARILLON_REQUEST_TIMEOUT", Some("30")),
            ("--header-timeout", "CARILLON_HEADER_TIMEOUT", Some("10")),
            ("--max-connections", "CARILLON_MAX_CONNECTIONS", Some("1024")),
            ("--quota-app-instances", "CARILLON_QUOTA_APP_INSTANCES", Some("100")),
            ("--quota-users", "CARILLON_QUOTA_USERS", Some("100000")),
            ("--quota-admins", "CARILLON_QUOTA_ADMINS", Some("100")),
            ("--quota-endpoints", "CARILLON_QUOTA_ENDPOINTS", Some("10")),
            ("--quota-bots", "CARILLON_QUOTA_BOTS", Some("100")),
            ("--quota-tags", "CARILLON_QUOTA_TAGS", Some("50")),
            ("--seed", "CARILLON_SEED", None),
        ] {
            let entry = help.split(&format!("      {option} ")).nth(1).or_else(|| help.split(&format!("      {option}\n")).nth(1));
            let entry = entry.unwrap_or_else(|| panic!("{option} not in {help}"));
            let entry = entry.split("\n      --").next().unwrap();
            assert!(entry.contains(&format!("[env: {var}")), "{option}: {entry}");
            if let Some(d) = default {
                assert!(entry.contains(&format!("[default: {d}]")), "{option}: {entry}");
            }
        }
    }
}

#[test]
fn the_state_commands_have_their_own_help() {
    for (args, usage) in [
        (&["state", "--help"][..], "Usage: carillon state <COMMAND>"),
        (&["state", "export", "--help"], "Usage: carillon state export --database <URL> [FILE]"),
        (&["state", "import", "--help"], "Usage: carillon state import --database <URL> <FILE>"),
        (&["help", "state", "import"], "Usage: carillon state import --database <URL> <FILE>"),
    ] {
        let out = carillon(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let help = text(&out.stdout);
        assert!(help.contains(usage), "{args:?}: {help}");
    }
    let help = text(&carillon(&["state", "export", "--help"]).stdout);
    assert!(help.contains("[env: CARILLON_DATABASE"), "{help}");
}

#[test]
fn a_bad_command_line_is_one_line_on_stderr() {
    for args in [
        &["serve", "--no-such-option"][..],
        &["serve", "--listen", "not-an-address"],
        &["serve", "--listen"],
        &["serve", "--auth", "basic"],
        &["serve", "--log-format", "xml"],
        &["serve", "--threads", "0"],
        &["serve", "--database", "mysql://u:hunter2@h/db"],
        &["serve", "--auth", "sigv4"],
        &["frobnicate"],
        &[],
        &["state"],
        &["state", "export"],
        &["state", "import", "--database", "sqlite://x.db"],
        &["state", "export", "--database", "sqlite::memory:"],
        &["state", "export", "--database", "mysql://u:hunter2@h/db"],
        &["serve", "--seed", "/nonexistent/seed.yaml"],
    ] {
        let out = carillon(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let stderr = text(&out.stderr);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(lines[0].starts_with("carillon: error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2") && !stderr.contains("listening on"), "{stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
