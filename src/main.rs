//! sandbox: a rootless Linux sandbox launcher.
//!
//! Dispatch only: `run` (parent.rs, then child.rs in the re-exec'd
//! binary), `child` (the internal second stage), `doctor`. Exit codes are
//! DESIGN.md's: the command's own, 128+N, 125, 126, 127.

mod child;
mod cli;
mod doctor;
mod error;
mod idmap;
mod parent;
mod plan;
mod rootfs;
mod sys;

use std::process::ExitCode;

fn main() -> ExitCode {
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
        cli::Cmd::Child => child::main(),
        cli::Cmd::Doctor => doctor::main(),
        cli::Cmd::Run(args) => {
            let term = std::env::var_os("TERM");
            match plan::Plan::from_args(args, term).and_then(|p| parent::run(&p)) {
                Ok(code) => code,
                Err(e) => {
                    e.report();
                    e.exit
                }
            }
        }
    };
    ExitCode::from(code)
}
