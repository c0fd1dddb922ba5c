//! The signals the launcher and `--init`'s init pass on, and the rule that
//! keeps a terminal's signal from arriving twice. Used by both stages.

use libc::{c_int, pid_t};

use crate::sys;

/// What the launcher, and --init's init, block and read from a signalfd:
/// the signals passed on to the command, and SIGCHLD. SIGINT, SIGTERM and
/// SIGHUP sent to the launcher also mean "stop": after `--kill-after` the
/// whole sandbox is killed, because PID 1 of a namespace never sees a
/// signal it has no handler for.
/// Ref: pid_namespaces(7), "signals"
pub const HANDLED: [c_int; 8] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCHLD,
];

/// The dispositions the command starts with (run's and exec's): the
/// default for SIGPIPE, which Rust's runtime ignores, and for every signal
/// in `HANDLED`. The launcher takes those over and passes them on; a
/// caller that ignored one (`nohup`, or `cmd &` in a script, which ignores
/// SIGINT and SIGQUIT) would otherwise hand the command a SIG_IGN that
/// execve keeps and that a POSIX shell may not even `trap`, so the signal
/// the launcher forwards would vanish.
pub fn restore_defaults() -> std::io::Result<()> {
    sys::default_signal(libc::SIGPIPE)?;
    for sig in HANDLED {
        sys::default_signal(sig)?;
    }
    Ok(())
}

/// Whether `info` is a signal the terminal sent (si_code SI_KERNEL: ^C,
/// ^\, window size, hangup) to our process group while `target` is in that
/// group too, so that `target` has had it already. Used by the launcher for
/// the sandbox's PID 1 and by --init's init for the command.
pub fn already_delivered(info: &sys::SigInfo, target: pid_t) -> bool {
    info.code == libc::SI_KERNEL
        && matches!(
            (sys::getpgid(target), sys::getpgid(0)),
            (Ok(a), Ok(b)) if a == b
        )
}
