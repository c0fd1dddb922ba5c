//! sandbox: a rootless Linux sandbox launcher.
//!
//! Dispatch only: `run` (parent.rs, then child.rs in the clone child) and
//! `doctor`. Exit codes are DESIGN.md's: the command's own, 128+N, 125,
//! 126, 127.

// `sys` is the one module allowed `unsafe`, and each of its unsafe blocks
// says why it is sound.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod cgroup;
mod child;
mod cli;
mod doctor;
mod error;
mod idmap;
mod landlock;
mod limits;
mod parent;
mod plan;
mod rootfs;
mod seccomp;
mod status;
#[allow(unsafe_code)]
mod sys;

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
        cli::Cmd::Doctor => doctor::main(),
        cli::Cmd::Run(args) => {
            let term = std::env::var_os("TERM");
            match plan::Plan::from_args(*args, term).and_then(|p| parent::run(&p)) {
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

/// sandbox is rootless by design and makes no attempt to be safe with
/// privileges it did not ask for: installed setuid, setgid or with file
/// capabilities, it refuses to run at all rather than hand a caller a mount
/// namespace with real root behind it. Ref: bubblewrap's setuid mode, and
/// the class of bugs it has had (CVE-2016-8659, CVE-2020-5291)
fn refuse_privilege() -> error::Result<()> {
    let ((ruid, euid), (rgid, egid)) = sys::ids();
    if sys::secure_exec() || ruid != euid || rgid != egid {
        return Err(error::Error::msg(
            "start",
            "this binary was started with privileges (setuid, setgid or file capabilities); sandbox is rootless and refuses to run so",
        )
        .with_hint("remove them: 'chmod u-s,g-s' and 'setcap -r' on the sandbox binary"));
    }
    Ok(())
}
