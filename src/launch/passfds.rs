//! The caller's descriptors for the bwrap front end (docs/BWRAP.md,
//! "Descriptors"): each one the plan names (`Built::pass_fds`) reaches
//! the command at its own number, as bubblewrap passes what it inherited.
//! `sandbox run` passes none: only a built root has the list, and
//! without one the stage closes everything above stdio
//! (CVE-2024-21626).
//!
//! How they travel: clone copies the launcher's descriptor table, and the
//! clone child's exec of the stage keeps what is not close-on-exec. A
//! descriptor at `FIRST_FREE` (12) or above stays on its number all the way
//! (the clone child clears its close-on-exec flag, so one the launcher's
//! caller opened close-on-exec passes too). Those at 3 to 11 would be
//! overwritten by the stage's own fixed numbers (channel.rs: report pipe,
//! plan, pty, denials and proxy sockets, `--userns2`, `--block-fd`,
//! `--userns` and `--pidns`): the launcher copies each to 12
//! or above first, and the plan says where (`PassFd::at`). The stage
//! keeps them open through its set-up; before it prepares the exec it
//! moves its own report pipe and denials socket out of the way and dup2s
//! each copy onto its number ([`place`]). Under `--init`, init closes
//! them: only the command holds them.
//!
//! The count: every passed descriptor is already open in the caller, so
//! its number is within the caller's RLIMIT_NOFILE; the launcher adds at
//! most nine copies. Where even those do not fit (EMFILE) the launch
//! fails naming the descriptor, before anything runs.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use libc::c_int;

use crate::channel::ReportSender;
use crate::error::{Context, Error, Result};
use crate::plan::{Built, PassFd, Plan};
use crate::sys::{self, sigsafe};

/// The lowest number none of the stage's fixed descriptors uses.
pub(crate) const FIRST_FREE: RawFd = sys::HIGH_FD;

/// What the launcher made before clone: the plan's list with where the
/// stage finds each descriptor, the copies (dropped once the clone child
/// has its own), and the numbers the clone child makes inheritable.
#[derive(Default)]
pub(super) struct Prepared {
    /// The plan's `built` with `at` filled in; None: nothing to pass.
    pub built: Option<Built>,
    _copies: Vec<OwnedFd>,
    pub at: Vec<c_int>,
}

/// Launcher, before clone: check each descriptor is open and copy those
/// the stage's fixed numbers would overwrite.
pub(super) fn prepare(plan: &Plan) -> Result<Prepared> {
    let Some(b) = plan.built.as_ref().filter(|b| !b.pass_fds.is_empty()) else {
        return Ok(Prepared::default());
    };
    let step = "pass a file descriptor";
    for p in &b.pass_fds {
        if !sys::fd_is_open(p.fd) {
            return Err(Error::errno(
                step,
                Some(format!("fd {}", p.fd)),
                libc::EBADF,
            ));
        }
    }
    let mut copies = Vec::new();
    let mut pass = Vec::with_capacity(b.pass_fds.len());
    for p in &b.pass_fds {
        let at = if p.fd < FIRST_FREE {
            let copy = sys::dup_raw_at_least(p.fd, FIRST_FREE).map_err(|e| {
                let e = Err::<(), _>(e)
                    .ctx(step, format!("fd {}", p.fd))
                    .unwrap_err();
                match e.raw_errno() {
                    Some(libc::EMFILE) | Some(libc::EINVAL) => e.with_hint(
                        "no room for a copy under RLIMIT_NOFILE: close the descriptors the \
                         command does not need (or mark them close-on-exec), or raise 'ulimit -n'",
                    ),
                    _ => e,
                }
            })?;
            let n = copy.as_raw_fd();
            copies.push(copy);
            n
        } else {
            p.fd
        };
        pass.push(PassFd { fd: p.fd, at });
    }
    // Ascending: the clone child keeps them (sys::sigsafe::close_all_except).
    let mut at: Vec<c_int> = pass.iter().map(|p| p.at).collect();
    at.sort_unstable();
    Ok(Prepared {
        at,
        built: Some(Built {
            pass_fds: pass,
            ..b.clone()
        }),
        _copies: copies,
    })
}

/// Clone child (async-signal-safe): make each descriptor to pass survive
/// the exec of the stage. Err: the first that could not be.
pub(super) fn inheritable(at: &[c_int]) -> std::io::Result<()> {
    for &fd in at {
        sigsafe::set_cloexec(fd, false)?;
    }
    Ok(())
}

/// Stage: where the descriptors to pass are until [`place`], for the
/// stage to keep open when it closes what else it inherited.
pub(crate) fn kept(plan: &Plan) -> Vec<RawFd> {
    list(plan).iter().map(|p| p.at).collect()
}

/// Stage: the numbers the command gets (for init to close).
pub(crate) fn targets(plan: &Plan) -> Vec<RawFd> {
    list(plan).iter().map(|p| p.fd).collect()
}

fn list(plan: &Plan) -> &[PassFd] {
    plan.built.as_ref().map_or(&[], |b| &b.pass_fds)
}

/// Stage, after it closed everything else above stdio and before the
/// exec is prepared (the trampoline writes a failed exec to the report
/// pipe's number as it is then): move the report pipe and the denials
/// socket off the numbers the command gets, then put each descriptor on
/// its number, not close-on-exec.
pub(crate) fn place(
    plan: &Plan,
    report: &ReportSender,
    denials: &mut Option<OwnedFd>,
) -> Result<()> {
    let pass = list(plan);
    if pass.is_empty() {
        return Ok(());
    }
    let taken = |fd: RawFd| pass.iter().any(|p| p.fd == fd);
    // Lowest free from FIRST_FREE: the descriptors at 12 or above are in
    // place and the copies open, so this lands on neither.
    if taken(report.fd()) {
        report
            .move_up(FIRST_FREE)
            .ctx_step("move the report pipe off a passed descriptor's number")?;
    }
    if let Some(sock) = denials.as_ref().filter(|s| taken(s.as_raw_fd())) {
        let moved = sys::dup_raw_at_least(sock.as_raw_fd(), FIRST_FREE)
            .ctx_step("move the denials socket off a passed descriptor's number")?;
        // The old number closes here, before a copy is put on it.
        *denials = Some(moved);
    }
    for p in pass.iter().filter(|p| p.at != p.fd) {
        sigsafe::dup2(p.at, p.fd).ctx("pass a file descriptor", format!("fd {}", p.fd))?;
        sigsafe::close(p.at).ctx(
            "close the copy of a passed descriptor",
            format!("fd {}", p.at),
        )?;
    }
    Ok(())
}
