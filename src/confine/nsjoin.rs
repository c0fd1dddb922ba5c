//! Joining a namespace that exists: setns(2) on a descriptor, with the
//! error every caller reports the same way (the step, what was joined and
//! the errno, and on EINVAL what the descriptor really is). The one joiner
//! of the bwrap front end's `--userns`, `--pidns` and `--userns2`
//! (launch/launcher.rs, launch/stage.rs), `sandbox-oci exec` (oci/exec.rs)
//! and `sandbox exec`'s fallback through ns files (named/join.rs).

use std::os::fd::BorrowedFd;

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
