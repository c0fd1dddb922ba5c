//! The launcher's supervision of a released sandbox: poll the signalfd,
//! the pidfd and the report pipe; pass signals on, enforce the timeout and
//! the grace period, wait for PID 1 (docs/SUPERVISION.md). `Running`
//! (launcher.rs) owns a `Supervisor` and collects the end from it.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use libc::{c_int, pid_t};

use super::denials::Denials;
use super::launcher::Notices;
use crate::channel::{self, ReportReceiver, Up};
use crate::error::{Context, Error, Result};
use crate::launch::relay::Relay;
use crate::plan::Supervision;
use crate::signals::already_delivered;
use crate::sys;

/// One released sandbox's deadlines and how it was ended.
pub(super) struct Supervisor {
    pid: pid_t,
    pub(super) kill_after: Duration,
    timeout_at: Option<Instant>,
    /// Set once we were asked to stop or timed out: when to SIGKILL.
    kill_at: Option<Instant>,
    pub(super) timed_out: bool,
    pub(super) stopped_by: Option<c_int>,
    /// Whether the grace period ran out and we killed the sandbox.
    pub(super) killed: bool,
    /// Whether PID 1 has been waited for.
    pub(super) reaped: bool,
    /// Return as soon as init has reported the command's status, without
    /// waiting for PID 1's exit and the namespaces' teardown (a caller
    /// that exits right after: `Running::wait_for_status`).
    pub(super) leave_at_status: bool,
    /// The join path: a pidfd of the sandbox's first process, which the
    /// clone child (`pid`) relays to; SIGKILL goes to both.
    pub(super) inner: Option<std::os::fd::RawFd>,
}

/// What the launcher serves while it waits, besides the sandbox's own
/// pipes: `--report-denials`' seccomp listener and `--allow-host`'s proxy.
pub(super) struct Served<'a> {
    pub denials: Option<&'a mut Denials>,
    pub proxy: Option<&'a crate::confine::proxy::Proxy>,
}

impl Supervisor {
    /// `released`: when the sandbox was released, which `--timeout`
    /// counts from (the launcher may have waited for the stage's set-up
    /// since: launch/hostmode.rs `await_isolated`).
    pub(super) fn new(pid: pid_t, s: &Supervision, released: Instant) -> Supervisor {
        Supervisor {
            pid,
            kill_after: s.kill_after,
            timeout_at: s.timeout.map(|t| released + t),
            kill_at: None,
            timed_out: false,
            stopped_by: None,
            killed: false,
            reaped: false,
            leave_at_status: false,
            inner: None,
        }
    }

    /// How long poll may sleep: until the next deadline, else forever; and
    /// without a pidfd or a signalfd to wake us, 10 ms at a time.
    fn poll_timeout(&self, woken_by_exit: bool) -> c_int {
        let next = [self.kill_at, self.timeout_at].into_iter().flatten().min();
        let ms = match next {
            None => -1,
            // Rounded up: a poll that wakes a little early would spin.
            Some(d) => (d.saturating_duration_since(Instant::now()).as_micros() as u64)
                .div_ceil(1000)
                .min(i32::MAX as u64) as c_int,
        };
        match (woken_by_exit, ms) {
            (true, ms) => ms,
            (false, -1) => 10,
            (false, ms) => ms.min(10),
        }
    }

    /// Wait for the child to end, forwarding signals and enforcing the
    /// timeout. Returns how PID 1 ended and what came over the report pipe.
    pub(super) fn wait(
        &mut self,
        reports: &mut ReportReceiver,
        sigfd: Option<&OwnedFd>,
        pidfd: Option<&OwnedFd>,
        relay: &mut Relay,
        notices: &mut Notices,
        served: Served<'_>,
    ) -> Result<(sys::Ended, channel::Reports)> {
        let Served { mut denials, proxy } = served;
        let mut got = channel::Reports::default();
        loop {
            let timeout = self.poll_timeout(sigfd.is_some() || pidfd.is_some());
            let mut base: Vec<std::os::fd::BorrowedFd<'_>> = [sigfd, pidfd]
                .into_iter()
                .flatten()
                .map(|f| f.as_fd())
                .collect();
            // --report-denials: its socket, then its listener, last.
            let denials_fd = denials.as_deref().and_then(Denials::fd);
            let denials_at = denials_fd.map(|fd| {
                base.push(fd);
                base.len() - 1
            });
            // `--allow-host`'s refusals, as they happen (-v).
            let proxy_at = proxy.map(|p| {
                base.push(p.notify_fd());
                base.len() - 1
            });
            let (rev, report_ready) =
                relay.poll_round(&base, reports, timeout, "wait for the sandbox")?;
            drop(base);
            if let (Some(d), Some(i)) = (denials.as_deref_mut(), denials_at) {
                d.ready(rev[i]);
            }
            if let Some(p) = proxy {
                if proxy_at.is_some_and(|i| rev[i] != 0) {
                    for n in p.take_notices() {
                        notices.say(n);
                    }
                }
            }
            if report_ready {
                reports.read_some().ctx_step("read the report pipe")?;
                take_reports(reports, &mut got, notices);
                // Init wrote the command's end: the rest is PID 1's exit
                // (the kernel kills what is left) and the teardown, which
                // a caller on its way out need not wait for, as bubblewrap
                // does not. Nothing to drain: the command wrote to the
                // caller's own descriptors.
                // (A status that does not decode: wait for PID 1 instead.)
                let exit = got.status.and_then(sys::Exit::from_status);
                if let (true, Some(exit)) = (self.leave_at_status && relay.is_idle(), exit) {
                    if got.error.is_none() {
                        let ended = sys::Ended {
                            exit,
                            user: Duration::ZERO,
                            system: Duration::ZERO,
                            max_rss_bytes: 0,
                        };
                        return Ok((ended, got));
                    }
                }
            }
            if let Some(fd) = sigfd {
                if rev[0] != 0 {
                    while let Some(info) = sys::read_signal(fd.as_fd()).ctx_step("read signals")? {
                        if info.signo != libc::SIGCHLD {
                            self.on_signal(info, relay);
                        }
                    }
                }
            }
            self.deadlines();
            if let Some(ended) = sys::wait4(self.pid, true).ctx_step("wait for the sandbox")? {
                self.reaped = true;
                // Every process of the sandbox is gone: what it wrote is
                // in the pipes and the pty; pass it on, and put the
                // caller's terminal back.
                relay.finish();
                // The child is gone: every write end of the report pipe is
                // closed, so this read ends.
                reports.read_to_end();
                take_reports(reports, &mut got, notices);
                if reports.has_partial() && got.error.is_none() {
                    got.error = Some(Error::msg(
                        "child stage",
                        "unreadable report: it ends early",
                    ));
                }
                return Ok((ended, got));
            }
        }
    }

    fn deadlines(&mut self) {
        let now = Instant::now();
        if self.timeout_at.is_some_and(|t| now >= t) {
            self.timeout_at = None;
            self.timed_out = true;
            self.ask_to_stop();
        }
        if self.kill_at.is_some_and(|k| now >= k) {
            self.kill_now();
        }
    }

    /// A signal sent to the launcher. What the terminal sends (^C, ^\,
    /// window size; si_code SI_KERNEL) to our process group has already
    /// reached the sandbox when it shares the group, so it is not sent
    /// twice, and ^C is the command's to handle, not a request to end the
    /// sandbox. A signal sent to us on purpose (kill, a supervisor) is
    /// forwarded, and TERM, INT or HUP mean "stop": the sandbox gets the
    /// grace period, then SIGKILL; a second one kills at once. A hangup
    /// always means stop.
    ///
    /// Under `--stdio relay` the sandbox has a session of its own, so the
    /// caller's terminal reaches it only through the relay: a window
    /// change becomes a new size on the sandbox's pty, and ^C or ^\ the
    /// caller's terminal generated (while it is not raw) goes to the pty's
    /// foreground group, as if typed there; once, either way.
    fn on_signal(&mut self, info: sys::SigInfo, relay: &Relay) {
        let sig = info.signo;
        let from_terminal = info.code == libc::SI_KERNEL;
        let handled = match sig {
            libc::SIGWINCH => relay.resize(),
            libc::SIGINT | libc::SIGQUIT if from_terminal => relay.terminal_signal(sig),
            _ => false,
        };
        if !handled && !already_delivered(&info, self.pid) {
            let _ = sys::kill(self.pid, sig);
        }
        let stop = match sig {
            libc::SIGHUP => true,
            libc::SIGTERM | libc::SIGINT => !from_terminal,
            _ => false,
        };
        if stop {
            self.stopped_by.get_or_insert(sig);
            if self.kill_at.is_some() {
                self.kill_now();
            } else {
                self.start_grace();
            }
        }
    }

    /// The timeout: SIGTERM (under --init, init hands it to the command),
    /// then the grace period.
    fn ask_to_stop(&mut self) {
        let _ = sys::kill(self.pid, libc::SIGTERM);
        if self.kill_at.is_none() {
            self.start_grace();
        }
    }

    fn start_grace(&mut self) {
        if self.kill_after.is_zero() {
            self.kill_now();
        } else {
            self.kill_at = Some(Instant::now() + self.kill_after);
        }
    }

    /// Killing PID 1 of the namespace kills every process in it, setsid'd,
    /// double-forked and signal-ignoring ones included.
    /// Ref: pid_namespaces(7)
    fn kill_now(&mut self) {
        if let Some(fd) = self.inner {
            let _ = sys::sigsafe::pidfd_send_signal(fd, libc::SIGKILL);
        }
        if sys::kill(self.pid, libc::SIGKILL).is_ok() {
            self.killed = true;
        }
        self.kill_at = None;
    }
}

/// Sort what has arrived: notices go out at once, the error and init's
/// status are kept. An unreadable message is the sandbox's error.
fn take_reports(reports: &mut ReportReceiver, got: &mut channel::Reports, notices: &mut Notices) {
    while let Some(m) = reports.next() {
        match m {
            Ok(Up::Notice(n)) => notices.say(n),
            Ok(Up::Error(e)) => {
                got.error.get_or_insert(e);
            }
            Ok(Up::Status(s, seen)) => {
                got.status = Some(s);
                got.seen |= seen;
            }
            // The launcher stopped waiting for it (a signal, the time).
            Ok(Up::Reached(channel::Point::Isolated)) => {}
            // The joining stage's report (launch/joinns.rs), read by the
            // launcher before it supervises; nothing to do here.
            Ok(Up::Joined { .. }) => {}
            Ok(Up::Reached(p)) => {
                got.error.get_or_insert(Error::msg(
                    "child stage",
                    format!("unexpected report {p:?}"),
                ));
            }
            Err(m) => {
                got.error
                    .get_or_insert(Error::msg("child stage", format!("unreadable report: {m}")));
            }
        }
    }
}
