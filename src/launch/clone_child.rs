//! The clone child's code, from clone to its exec of `/proc/self/exe
//! child` (stage.rs). One of the two async-signal-safe zones (guard.rs is
//! the other): `sys::sigsafe` calls only, nothing that allocates or locks.

use libc::c_int;

use crate::channel::{
    self, PreparedError, BLOCK_FD, DENIALS_FD, PIDNS_FD, PLAN_FD, PROXY_FD, REPORT_FD, TTY_FD,
    USERNS2_FD, USERNS_FD,
};
use crate::sys::{self, sigsafe};

/// The pipe ends as raw numbers, for the clone child.
pub(super) struct CloneFds<'a> {
    pub ctl_read: c_int,
    pub ctl_write: c_int,
    pub report_read: c_int,
    pub report_write: c_int,
    /// What goes on fds 0, 1, 2 in place of the caller's (relay.rs; -1:
    /// the caller's own).
    pub stdio: [c_int; 3],
    /// The pty socket's child end, for `TTY_FD` (-1: none).
    pub tty: c_int,
    /// The denials socket's child end, for `DENIALS_FD` (-1: none).
    pub denials: c_int,
    /// The proxy socket's child end, for `PROXY_FD` (-1: none).
    pub proxy: c_int,
    /// The descriptors the bwrap front end passes to the command, where
    /// the stage finds them (passfds.rs), in ascending order: kept, and
    /// made inheritable here.
    pub pass: &'a [c_int],
    /// Copies of the caller's `--userns2`, `--block-fd`, `--userns` and
    /// `--pidns` descriptors, for `USERNS2_FD`, `BLOCK_FD`, `USERNS_FD`
    /// and `PIDNS_FD` (-1: none).
    pub userns2: c_int,
    pub block: c_int,
    pub userns: c_int,
    pub pidns: c_int,
}

/// The clone child: PID 1 of the new namespaces, still the launcher's
/// image, until it execs `/proc/self/exe child`.
///
/// Async-signal-safe calls only: the launcher's heap and locks are a copy
/// of a moment we do not control (another thread of a library's caller may
/// have held malloc's lock), so nothing here allocates or locks. All it
/// needs was made before clone (`Prepared`).
pub(super) fn child_after_clone(
    fds: CloneFds<'_>,
    exe: &std::ffi::CStr,
    argv: &sys::CStringArray,
    envp: &sys::CStringArray,
    exec_error: &mut PreparedError,
    become_root: bool,
    keep_caps: bool,
) -> ! {
    // ---- Clone child, PID 1 in the new namespaces, uid not yet mapped ----
    // Our copies of the launcher's ends go first: while we hold the control
    // pipe's write end, the read below could never see EOF.
    let _ = sigsafe::close(fds.ctl_write);
    let _ = sigsafe::close(fds.report_read);
    // Nothing else of the launcher's or its caller's either: the stage
    // would close it after its exec, but until the release we would hold
    // it, and a caller waiting for EOF on a descriptor it handed the
    // launcher (the bwrap front end's --info-fd, before it writes the id
    // maps of --userns-block-fd) would wait on us. Best effort: the stage
    // closes what is left all the same.
    let mut keep = [
        fds.ctl_read,
        fds.report_write,
        fds.stdio[0],
        fds.stdio[1],
        fds.stdio[2],
        fds.tty,
        fds.denials,
        fds.proxy,
        fds.userns2,
        fds.block,
        fds.userns,
        fds.pidns,
    ];
    let _ = sigsafe::close_all_except(&mut keep, fds.pass);
    // Arm the death signal before waiting: if the launcher is already gone
    // the read below sees EOF (its write end closed) and we leave, so no
    // window exists in which it dies unnoticed.
    if sigsafe::set_parent_death_signal(libc::SIGKILL).is_err() {
        sigsafe::exit_now(crate::error::EXIT_SANDBOX as i32);
    }
    // Wait for the release byte: the maps must be written before we exec,
    // or the exec of an unmapped uid drops every capability
    // (docs/ARCHITECTURE.md, "Ordering constraints").
    match sigsafe::read_byte(fds.ctl_read) {
        Ok(Some(channel::RELEASE)) => {}
        _ => sigsafe::exit_now(crate::error::EXIT_SANDBOX as i32),
    }
    // A tree made by a subordinate range (plan/subid.rs): the range is 0..N-1
    // and we, the caller, are N. Become 0 while we hold every capability
    // of the namespace, or the exec below would drop them all. The
    // credential change clears the death signal: arm it again.
    if become_root
        && (sigsafe::setresgid(0).is_err()
            || sigsafe::setresuid(0).is_err()
            || sigsafe::set_parent_death_signal(libc::SIGKILL).is_err())
    {
        sigsafe::exit_now(crate::error::EXIT_SANDBOX as i32);
    }
    // A user namespace the caller mapped (the bwrap front end's
    // --userns-block-fd): our uid in it need not be 0, and the
    // exec of a uid other than 0 drops every capability; ambient ones stay.
    if keep_caps && sigsafe::keep_caps_across_exec().is_err() {
        sigsafe::exit_now(crate::error::EXIT_SANDBOX as i32);
    }
    // The pipes on the numbers the child stage expects. Both are 12 or
    // above (pipe_high), so neither dup2 clobbers the other's source; the
    // copies are not CLOEXEC, so they survive the exec, and every other fd
    // of the launcher's is CLOEXEC.
    if sigsafe::dup2(fds.report_write, REPORT_FD).is_err()
        || sigsafe::dup2(fds.ctl_read, PLAN_FD).is_err()
    {
        sigsafe::exit_now(crate::error::EXIT_SANDBOX as i32);
    }
    // The relay's pipes in place of the caller's files, the pty socket,
    // the denials socket, the proxy socket and the caller's descriptors
    // for the stage; all of them are 12 or above too.
    for (target, src) in [
        (0, fds.stdio[0]),
        (1, fds.stdio[1]),
        (2, fds.stdio[2]),
        (TTY_FD, fds.tty),
        (DENIALS_FD, fds.denials),
        (PROXY_FD, fds.proxy),
        (USERNS2_FD, fds.userns2),
        (BLOCK_FD, fds.block),
        (USERNS_FD, fds.userns),
        (PIDNS_FD, fds.pidns),
    ] {
        if src >= 0 && sigsafe::dup2(src, target).is_err() {
            sigsafe::exit_now(crate::error::EXIT_SANDBOX as i32);
        }
    }
    if super::passfds::inheritable(fds.pass).is_err() {
        sigsafe::exit_now(crate::error::EXIT_SANDBOX as i32);
    }
    let Err(e) = sigsafe::execve(exe, argv, envp);
    exec_error.send(REPORT_FD, e.raw_os_error().unwrap_or(libc::EIO))
}
