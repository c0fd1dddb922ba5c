//! The joining child stage, `sandbox child join U [P]`: the bwrap front
//! end's `--userns FD` (and `--pidns FD`), namespaces the caller gives.
//!
//! The launcher joins nothing: its clone child is a plain fork that execs
//! this stage in the caller's own user namespace, handing it the two
//! descriptors on `channel::USERNS_FD` and `PIDNS_FD` (U and P are the
//! caller's numbers, for errors). A process exec'd inside a user namespace
//! belongs to it (its memory's user namespace is set at exec), and then
//! whatever holds CAP_SYS_PTRACE there may ptrace it or open its
//! /proc/PID/root, the host's tree until the pivot, non-dumpable or not.
//! So the stage is exec'd first and joins after, non-dumpable: its memory
//! stays the caller's user namespace's, which nothing in the joined one
//! holds a capability in (docs/BWRAP.md, "`--userns` and `--pidns`").
//!
//! In order: non-dumpable (stage.rs, before the plan is read) → join
//! (confine/nsjoin.rs `join_given`: the PID namespace's owner if it must,
//! the PID namespace, the user namespace) → non-dumpable again (a
//! credential change may reset it) → unshare the sandbox's other
//! namespaces, owned by the joined user namespace → read their inode
//! numbers (a process may read its own; the launcher cannot read ours)
//! → fork. The fork's child (the "inner") is PID 1 of the new PID
//! namespace, or a member of the joined one, and goes on as the ordinary
//! stage. The fork's parent (the "intermediate") reports the inner's pid
//! and namespaces up the report pipe (`Up::Joined`), waits for the
//! launcher's go-ahead on the control pipe (it takes a pidfd of the inner
//! and forks the guard to watch it first), lets the inner go, closes
//! everything but stderr, passes the signals the launcher forwards on to
//! the inner, and ends as the inner ended.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use libc::pid_t;

use crate::channel::{ReportSender, Up, NAMESPACES, PIDNS_FD, USERNS_FD};
use crate::confine::nsjoin;
use crate::error::{Context, Result, EXIT_SANDBOX};
use crate::plan::Plan;
use crate::signals::{self, HANDLED};
use crate::sys::{self, sigsafe, Exit};

/// The stage's third argument on the join path.
pub const JOIN_ARG: &str = "join";

/// The caller's numbers of the descriptors to join: the user namespace's,
/// and the PID namespace's if one is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Given {
    pub user: i32,
    pub pid: Option<i32>,
}

impl Given {
    /// The stage's arguments after `child`: `join U [P]`.
    pub fn to_args(self) -> Vec<String> {
        let mut v = vec![JOIN_ARG.to_string(), self.user.to_string()];
        v.extend(self.pid.map(|p| p.to_string()));
        v
    }

    /// From the stage's own arguments, when the third is `join`.
    pub(super) fn from_args() -> Option<Given> {
        let args: Vec<String> = std::env::args_os()
            .skip(2)
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        Given::parse(&args)
    }

    /// From the arguments after `child`.
    fn parse(args: &[String]) -> Option<Given> {
        match args {
            [j, u] if j == JOIN_ARG => Some(Given {
                user: u.parse().ok()?,
                pid: None,
            }),
            [j, u, p] if j == JOIN_ARG => Some(Given {
                user: u.parse().ok()?,
                pid: Some(p.parse().ok()?),
            }),
            _ => None,
        }
    }
}

/// Join, make the sandbox's namespaces, fork. Returns in the inner only,
/// which goes on as the stage; the intermediate never returns.
pub(super) fn join_and_fork(
    plan: &Plan,
    report: &ReportSender,
    given: Given,
    ctl: OwnedFd,
) -> Result<()> {
    let adopt = |fd, step| sys::adopt_fd(fd).ctx(step, format!("fd {fd}"));
    let user = adopt(USERNS_FD, nsjoin::JOIN_USERNS)?;
    let pid = given
        .pid
        .map(|_| adopt(PIDNS_FD, nsjoin::JOIN_PIDNS))
        .transpose()?;
    // Single-threaded: nothing of ours has started a thread yet.
    nsjoin::join_given(
        user.as_fd(),
        pid.as_ref().map(|f| f.as_fd()),
        &format!("fd {}", given.user),
        &format!("fd {}", given.pid.unwrap_or(-1)),
    )?;
    // A change of credentials the kernel does not see as a subset of the
    // old ones (a user namespace not ours) sets the dumpable flag to
    // fs.suid_dumpable and clears the parent-death signal: both again.
    sys::set_dumpable(false).ctx_step("mark the child stage non-dumpable")?;
    sys::set_parent_death_signal(libc::SIGKILL).ctx_step("set the parent death signal")?;
    let joined_pid = pid.is_some();
    drop((user, pid));
    // The sandbox's other namespaces, as clone makes them elsewhere, here
    // owned by the joined user namespace.
    let mut flags = super::launcher::namespace_flags(plan) & !libc::CLONE_NEWUSER;
    if joined_pid {
        flags &= !libc::CLONE_NEWPID;
    }
    sys::unshare(flags).ctx_step("create namespaces (unshare)")?;
    // Blocked before the fork (the launcher blocked them already when it
    // forwards signals): none is lost before the intermediate reads them,
    // and the inner unblocks them before the command, as the stage does.
    sys::block_signals(&HANDLED).ctx_step("block signals")?;
    let sigfd = sys::signalfd(&HANDLED).ctx_step("create the signal fd")?;
    // The intermediate holds the write end for its whole life: the inner
    // reads the go-ahead byte from it, and POLLHUP means it is gone.
    let (go_read, go_write) = sys::pipe_high().ctx_step("create the fork's pipe")?;
    let inner = sys::fork().ctx_step("start the sandbox's first process (fork)")?;
    if inner == 0 {
        drop((go_write, sigfd, ctl));
        sys::set_parent_death_signal(libc::SIGKILL).ctx_step("set the parent death signal")?;
        // Past the death signal, so the intermediate dying after the
        // check kills us; before it, the check sees it gone.
        let go = sigsafe::read_byte(go_read.as_raw_fd());
        let gone = sys::poll(&[(go_read.as_fd(), libc::POLLIN)], 0)
            .map_or(true, |r| r[0] & libc::POLLHUP != 0);
        if go.ok().flatten().is_none() || gone {
            sys::exit_now(EXIT_SANDBOX as i32);
        }
        return Ok(());
    }
    drop(go_read);
    // Read once the inner exists: a new PID namespace's link is there only
    // from its first process on.
    let namespaces = own_namespaces(plan.share_net);
    intermediate(inner, report, namespaces, sigfd, go_write, ctl)
}

/// The inode numbers of this process's new namespaces in
/// `channel::NAMESPACES`' order (the PID namespace: its children's), 0 for
/// the network's when it is the host's, or one that could not be read.
fn own_namespaces(share_net: bool) -> [u64; 6] {
    let mut out = [0; 6];
    for (slot, (_, ns)) in out.iter_mut().zip(NAMESPACES) {
        if ns == "net" && share_net {
            continue;
        }
        let name = if ns == "pid" { "pid_for_children" } else { ns };
        if let Ok(m) = std::fs::metadata(format!("/proc/self/ns/{name}")) {
            *slot = m.ino();
        }
    }
    out
}

/// The intermediate: report the inner, let it go, hold nothing of the
/// sandbox's, pass signals on, and end as the inner ends.
fn intermediate(
    inner: pid_t,
    report: &ReportSender,
    namespaces: [u64; 6],
    sigfd: OwnedFd,
    go: OwnedFd,
    ctl: OwnedFd,
) -> ! {
    let pidfd = sys::pidfd_open(inner).ok();
    if report
        .up(&Up::Joined {
            pid: inner,
            namespaces,
        })
        .is_err()
    {
        // The launcher is gone (its death signal is on its way to us).
        let _ = sys::kill(inner, libc::SIGKILL);
        sys::exit_now(EXIT_SANDBOX as i32);
    }
    // The launcher's go-ahead on the control pipe: it holds a pidfd of the
    // inner now (and its guard watches it), and has written --info-fd.
    // EOF: it is gone, and so is the sandbox.
    if !matches!(sigsafe::read_byte(ctl.as_raw_fd()), Ok(Some(_))) {
        let _ = sys::kill(inner, libc::SIGKILL);
        sys::exit_now(EXIT_SANDBOX as i32);
    }
    drop(ctl);
    // The report pipe and everything else the stage inherited: the
    // launcher sees EOF on the report pipe when the inner execs the
    // command, and a reader of the command's stdout when it closes its own.
    let mut keep = vec![sigfd.as_raw_fd(), go.as_raw_fd()];
    keep.extend(pidfd.as_ref().map(|f| f.as_raw_fd()));
    let _ = sys::close_from_except(3, &keep);
    let _ = sys::close(0);
    let _ = sys::close(1);
    if sigsafe::write_all(go.as_raw_fd(), &[1]).is_err() {
        let _ = sys::kill(inner, libc::SIGKILL);
    }
    let mut fds = vec![(sigfd.as_fd(), libc::POLLIN)];
    fds.extend(pidfd.as_ref().map(|f| (f.as_fd(), libc::POLLIN)));
    // Each turn waits for a signal or the inner's end (without pidfds,
    // before Linux 5.3, that is SIGCHLD): as long as the sandbox runs.
    loop {
        match sys::waitpid(inner, true) {
            Ok(Some(exit)) => end_as(exit),
            Ok(None) => {}
            Err(_) => sys::exit_now(EXIT_SANDBOX as i32),
        }
        let _ = sys::poll(&fds, -1);
        while let Ok(Some(info)) = sys::read_signal(sigfd.as_fd()) {
            if info.signo == libc::SIGCHLD || signals::already_delivered(&info, inner) {
                continue;
            }
            let _ = match &pidfd {
                Some(fd) => sigsafe::pidfd_send_signal(fd.as_raw_fd(), info.signo),
                None => sys::kill(inner, info.signo),
            };
        }
    }
}

/// End as the inner ended: its exit code, or its signal (the default
/// disposition restored, then raised; 128 + the signal if it did not
/// end us).
fn end_as(exit: Exit) -> ! {
    match exit {
        Exit::Code(c) => sys::exit_now(c),
        Exit::Signal(n) => {
            let _ = sys::default_signal(n);
            let _ = sys::kill(std::process::id() as pid_t, n);
            let _ = sys::unblock_all_signals();
            sys::exit_now(128 + n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stage's arguments say what the launcher meant, and nothing
    /// else reads as a join (`sandbox child`, `child host`, garbage).
    #[test]
    fn arguments_round_trip() {
        for g in [
            Given { user: 5, pid: None },
            Given {
                user: 11,
                pid: Some(12),
            },
        ] {
            assert_eq!(Given::parse(&g.to_args()), Some(g));
        }
        let s = |v: &[&str]| v.iter().map(|a| a.to_string()).collect::<Vec<_>>();
        for bad in [
            &[][..],
            &["host"],
            &["join"],
            &["join", "x"],
            &["join", "1", "2", "3"],
            &["pidns", "1"],
        ] {
            assert_eq!(Given::parse(&s(bad)), None, "{bad:?}");
        }
    }
}
