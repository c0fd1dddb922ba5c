//! Joining a namespace that exists: setns(2) on a descriptor, with the
//! error every caller reports the same way (the step, what was joined and
//! the errno, and on EINVAL what the descriptor really is). The one joiner
//! of the bwrap front end's `--userns`, `--pidns` (`join_given`, called by
//! the joining child stage, launch/joinns.rs) and `--userns2`
//! (launch/stage.rs), `sandbox-oci exec` (oci/exec.rs) and `sandbox
//! exec`'s fallback through ns files (named/join.rs).

use std::os::fd::{AsFd, BorrowedFd};

use libc::c_int;

use crate::error::{Error, Result};
use crate::sys;

/// The name of a namespace kind, as /proc/PID/ns names it.
pub fn kind(nstype: c_int) -> &'static str {
    match nstype {
        libc::CLONE_NEWUSER => "user",
        libc::CLONE_NEWPID => "pid",
        libc::CLONE_NEWNS => "mnt",
        libc::CLONE_NEWNET => "net",
        libc::CLONE_NEWUTS => "uts",
        libc::CLONE_NEWIPC => "ipc",
        libc::CLONE_NEWCGROUP => "cgroup",
        0x80 => "time",
        _ => "unknown",
    }
}

/// The error setns would give for `fd` where it is no namespace of kind
/// `nstype` (None: it is one), for a check before anything runs.
pub fn check_kind(fd: BorrowedFd<'_>, nstype: c_int, step: &str, shown: &str) -> Result<()> {
    let shown = match sys::ns_type(fd) {
        Ok(t) if t == nstype => return Ok(()),
        Ok(t) => format!("{shown} (a {} namespace)", kind(t)),
        Err(_) => format!("{shown} (not a namespace)"),
    };
    Err(Error::errno(step, Some(shown), libc::EINVAL))
}

/// The steps of [`join_given`], as its errors name them.
pub const JOIN_USERNS: &str = "join the user namespace (--userns)";
pub const JOIN_PIDNS: &str = "join the PID namespace (--pidns)";

/// Join a user namespace the caller gives, and with it a PID namespace
/// (for the caller's children): `user_shown` and `pid_shown` name the
/// descriptors in errors (`fd N`, the caller's numbers). The process must
/// be single-threaded. Joining a PID namespace needs CAP_SYS_ADMIN in the
/// user namespace that owns it, which a user namespace below that owner
/// does not give: a sandbox of ours whose command runs in the nested
/// namespace of --uid/--gid has its PID namespace owned by the outer one.
/// Then, where we may (the owner is ours to join), we pass through the
/// owner: join it, the PID namespace, and the user namespace given last
/// (named/join.rs joins a sandbox of ours through its outer namespace for
/// the same reason).
pub fn join_given(
    user: BorrowedFd<'_>,
    pid: Option<BorrowedFd<'_>>,
    user_shown: &str,
    pid_shown: &str,
) -> Result<()> {
    let join_user = || join(user, libc::CLONE_NEWUSER, JOIN_USERNS, user_shown);
    let join_pid = |pid| join(pid, libc::CLONE_NEWPID, JOIN_PIDNS, pid_shown);
    let Some(pid) = pid else {
        return join_user();
    };
    let ino = |fd: BorrowedFd<'_>| sys::fstat(fd).map(|st| (st.st_dev, st.st_ino)).ok();
    let owner = sys::ns_owner(pid).ok();
    if let Some(owner) = owner.filter(|o| ino(o.as_fd()).is_some() && ino(o.as_fd()) != ino(user)) {
        if join(
            owner.as_fd(),
            libc::CLONE_NEWUSER,
            JOIN_USERNS,
            "the PID namespace's owner",
        )
        .is_ok()
        {
            join_pid(pid)?;
            return join_user();
        }
    }
    join_user()?;
    join_pid(pid)
}

/// setns(2) into the namespace behind `fd`, which must be of kind
/// `nstype` (a CLONE_NEW* flag). `shown` names it in the error (a path,
/// or `fd N`). A user namespace is joined only by a single-threaded
/// process, and only one below the caller's own; a PID namespace joined
/// applies to the caller's children, and needs CAP_SYS_ADMIN in the
/// caller's user namespace too (so: join the user namespace first).
pub fn join(fd: BorrowedFd<'_>, nstype: c_int, step: &str, shown: &str) -> Result<()> {
    let Err(e) = sys::setns(fd, nstype) else {
        return Ok(());
    };
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    let shown = match errno {
        // setns says EINVAL for the wrong kind, for a descriptor that is no
        // namespace and for a user namespace that is not below ours: say
        // which.
        libc::EINVAL => match sys::ns_type(fd) {
            Ok(t) if t != nstype => format!("{shown} (a {} namespace)", kind(t)),
            Ok(_) if nstype == libc::CLONE_NEWUSER => format!(
                "{shown} (not below this process's user namespace, or the process has threads)"
            ),
            Ok(_) => format!(
                "{shown} (not below this process's {} namespace)",
                kind(nstype)
            ),
            Err(_) => format!("{shown} (not a namespace)"),
        },
        _ => shown.to_string(),
    };
    Err(Error::errno(step, Some(shown), errno))
}
