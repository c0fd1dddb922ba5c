//! `sandbox`: the command-line tool over the library (src/lib.rs).
//!
//! It parses (cli.rs), prints, and maps the ending to an exit code: the
//! command's own, 128+N, 124 (timeout), 125 (the sandbox failed), 126
//! (cannot execute), 127 (not found). `sandbox child` is the engine's
//! second stage, which the launcher re-execs; run by hand it refuses.
#![deny(unsafe_code)]

mod cli;

// cli.rs names the library's domain types as `crate::…`.
pub(crate) use sandbox::{error, limits, nslimits, plan};

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(e) = refuse_privilege() {
        e.report();
        return ExitCode::from(e.exit);
    }
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let cmd = match cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            e.report();
            return ExitCode::from(e.exit);
        }
    };
    let code = match cmd {
        cli::Cmd::Help(text) => {
            println!("{text}");
            0
        }
        cli::Cmd::Version => {
            println!("sandbox {}", env!("CARGO_PKG_VERSION"));
            0
        }
        cli::Cmd::Child => sandbox::child_stage(),
        cli::Cmd::Doctor => {
            let (report, code) = sandbox::doctor::check();
            // A reader that stops early (`sandbox doctor | head -2`) is no
            // error.
            let _ = std::io::stdout().lock().write_all(report.as_bytes());
            code
        }
        cli::Cmd::Run(args) => run(*args),
    };
    ExitCode::from(code)
}

/// `sandbox run`: notices and errors to stderr as `sandbox: …` lines, the
/// `-v` summary at the end, and the sandbox's status as ours.
fn run(args: plan::RunArgs) -> u8 {
    let verbose = args.verbose;
    let mut cmd = sandbox::Command::from_args(args);
    cmd.cli(std::env::var_os("TERM"))
        .on_notice(|n| eprintln!("sandbox: {n}"));
    let report = match cmd.spawn() {
        Ok(mut child) => child.wait(),
        Err(e) => {
            e.report();
            return e.exit;
        }
    };
    match &report.error {
        Some(e) => e.report(),
        None if verbose => eprintln!("{}", report.line()),
        None => {}
    }
    report.status
}

/// sandbox is rootless by design and makes no attempt to be safe with
/// privileges it did not ask for: installed setuid, setgid or with file
/// capabilities, it refuses to run at all rather than hand a caller a mount
/// namespace with real root behind it. Ref: bubblewrap's setuid mode, and
/// the class of bugs it has had (CVE-2016-8659, CVE-2020-5291)
fn refuse_privilege() -> error::Result<()> {
    if sandbox::started_with_privileges() {
        return Err(error::Error::msg(
            "start",
            "this binary was started with privileges (setuid, setgid or file capabilities); sandbox is rootless and refuses to run so",
        )
        .with_hint("remove them: 'chmod u-s,g-s' and 'setcap -r' on the sandbox binary"));
    }
    Ok(())
}
