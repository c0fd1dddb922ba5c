//! `--report-denials`, the launcher's side: the seccomp listener the child
//! stage installed its filter with comes up `channel::DENIALS_FD`'s
//! socket (as the pty master comes up the pty socket); the supervision
//! loop polls it, and each notification (a call the filter refuses with
//! an errno, confine/seccomp/notify.rs) is answered with exactly that
//! errno, found by running the run's unchanged filter on the call's
//! seccomp_data, and counted by name.
//!
//! Bounded: a flood of refused calls costs a counter each. At most
//! `MAX_NAMES` distinct calls are told apart (the first sight of one reads
//! /proc/PID/status once, for the pid inside the sandbox); the rest are
//! counted in `other`. At most `BATCH` notifications are served per round
//! of the poll loop, so signals, the timeout and the sandbox's end are
//! seen between batches.
//!
//! The answer never continues the call (no SECCOMP_USER_NOTIF_FLAG_CONTINUE):
//! the call fails as it would without the option. A notification the
//! filter would not refuse with an errno cannot come (the programs differ
//! only in those returns); should one, it gets ENOSYS.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use libc::sock_filter;

use super::launcher::Notices;
use crate::channel::DENIALS_FD;
use crate::confine::seccomp::notify;
use crate::error::{Context, Error, Result};
use crate::launch::status::{Denied, DeniedCall};
use crate::plan::Plan;
use crate::sys;

/// Distinct calls told apart; the rest are counted in `other`.
pub const MAX_NAMES: usize = 256;
/// Notifications served per round of the supervision loop.
const BATCH: usize = 256;

/// Before clone: the denials socket (the launcher's end, the child's), or
/// why the kernel cannot have one (said as a warning, and in the report);
/// nothing without `--report-denials`.
pub(super) fn prepare(
    plan: &Plan,
    notices: &mut Notices,
) -> Result<std::result::Result<Option<(OwnedFd, OwnedFd)>, String>> {
    if !plan.report_denials || !plan.seccomp {
        return Ok(Ok(None));
    }
    if !notify::available() {
        let why = "this kernel has no seccomp user notification (SECCOMP_RET_USER_NOTIF, Linux 5.0): refused calls fail as without the option, unreported";
        notices.say(format!("warning: --report-denials: {why}"));
        return Ok(Err(why.into()));
    }
    // The stage hands the listener up with sendmsg, under the new filter
    // already: a profile that refused it would leave the call waiting for
    // the listener it is sending.
    if let Some(p) = &plan.seccomp_profile {
        if !notify::allows_send(&p.filter(), DENIALS_FD) {
            return Err(Error::msg(
                "--report-denials",
                "the seccomp profile does not allow sendmsg, with which the sandbox hands the filter's listener to the launcher",
            )
            .with_path(p.file.clone()));
        }
    }
    sys::socketpair_high()
        .ctx_step("create the denials socket")
        .map(|pair| Ok(Some(pair)))
}

/// The launcher's end of the denials socket, then the listener.
pub(super) struct Denials {
    /// Until the listener has come up it (or it closed: the stage failed,
    /// or could not hand it up).
    sock: Option<OwnedFd>,
    listener: Option<OwnedFd>,
    /// The run's filter as the sandbox would have had it.
    program: Vec<sock_filter>,
    report: Denied,
}

impl Denials {
    /// For a plan with `report_denials`, holding the launcher's end of the
    /// socket whose other end the clone child puts on DENIALS_FD.
    pub(super) fn new(plan: &Plan, sock: OwnedFd) -> Denials {
        let profile = plan.seccomp_profile.as_ref().map(|p| p.filter());
        Denials {
            sock: Some(sock),
            listener: None,
            program: notify::program(profile.as_deref()).to_vec(),
            report: Denied::default(),
        }
    }

    /// The descriptor to poll for reading: the socket until the listener
    /// came, then the listener until every process under the filter is
    /// gone (POLLHUP).
    pub(super) fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.sock
            .as_ref()
            .or(self.listener.as_ref())
            .map(|f| f.as_fd())
    }

    /// Act on the poll's revents for `fd()`.
    pub(super) fn ready(&mut self, revents: i16) {
        if revents == 0 {
            return;
        }
        if let Some(sock) = self.sock.take() {
            // One descriptor, or EOF: the stage failed first (its error is
            // on the report pipe).
            if let Ok(Some(l)) = sys::recv_fd(sock.as_fd()) {
                self.listener = Some(l);
            }
            return;
        }
        let Some(l) = self.listener.take() else {
            return;
        };
        let mut hup = revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
        let mut readable = revents & libc::POLLIN != 0;
        for _ in 0..BATCH {
            if !readable {
                break;
            }
            match sys::seccomp_notif_recv(l.as_fd()) {
                Ok(n) => {
                    let errno = notify::errno_for(&self.program, &n.data).unwrap_or(libc::ENOSYS);
                    // A call not seen before: its caller's pid inside the
                    // sandbox, read while the caller waits for our answer
                    // (once answered it may exit, and its /proc go).
                    let first_pid = self.is_new(&n, errno).then(|| inner_pid(n.pid)).flatten();
                    // ENOENT: the caller is gone or was interrupted; the
                    // kernel restarts or drops the call, not our concern.
                    let _ = sys::seccomp_notif_send_errno(l.as_fd(), n.id, errno);
                    self.count(&n, errno, first_pid);
                }
                // ENOENT: the call went away between poll and read.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(_) => {
                    hup = true;
                    break;
                }
            }
            // Another one waiting? (The read blocks when none is.)
            readable = matches!(sys::poll(&[(l.as_fd(), libc::POLLIN)], 0), Ok(r) if r[0] & libc::POLLIN != 0);
        }
        // Kept until every process under the filter is gone.
        if !hup || readable {
            self.listener = Some(l);
        }
    }

    /// Whether `n` would start an entry of its own (not counted yet, and
    /// room for it).
    fn is_new(&self, n: &sys::SeccompNotif, errno: i32) -> bool {
        let (abi, nr) = notify::abi_and_number(&n.data);
        let r = &self.report;
        r.syscalls.len() < MAX_NAMES
            && !r
                .syscalls
                .iter()
                .any(|e| e.nr == nr && e.abi == abi && e.errno == errno)
    }

    fn count(&mut self, n: &sys::SeccompNotif, errno: i32, first_pid: Option<u32>) {
        let r = &mut self.report;
        let (abi, nr) = notify::abi_and_number(&n.data);
        if let Some(e) = r
            .syscalls
            .iter_mut()
            .find(|e| e.nr == nr && e.abi == abi && e.errno == errno)
        {
            e.count += 1;
            return;
        }
        if r.syscalls.len() >= MAX_NAMES {
            r.other = r.other.saturating_add(1);
            return;
        }
        r.syscalls.push(DeniedCall {
            name: notify::name(abi, nr).map_or_else(|| format!("syscall {nr}"), str::to_owned),
            abi,
            nr,
            errno,
            count: 1,
            first_pid: first_pid.unwrap_or(n.pid),
        });
    }

    /// What was refused, once the sandbox has ended.
    pub(super) fn finish(self) -> Denied {
        self.report
    }
}

/// The pid inside the sandbox of the host's `pid` (the last NSpid in
/// /proc/PID/status).
fn inner_pid(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("NSpid:"))?;
    line.split_whitespace().last()?.parse().ok()
}
