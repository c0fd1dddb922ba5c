//! Joining what exists: setns(2) into a running sandbox's namespaces
//! (through a pidfd, or an ns file), the parent of a user namespace, and
//! flock(2) and renameat2(2) for the state directory's entries (named/state.rs,
//! named/join.rs).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use libc::c_int;

use super::{cstr, cvt};

/// setns(2) on `fd`: an ns file (`/proc/PID/ns/X`, `nstype` 0 or its
/// CLONE_NEW* flag), or a pidfd with the CLONE_NEW* flags of every
/// namespace to join at once (Linux 5.8; older kernels say EINVAL).
/// A PID namespace joined so applies to the caller's children only.
/// Ref: setns(2)
pub fn setns(fd: BorrowedFd<'_>, nstype: c_int) -> io::Result<()> {
    // SAFETY: setns takes a descriptor, which `fd` holds open, and flags;
    // no pointer.
    cvt(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

/// NS_GET_PARENT: `_IO(0xb7, 0x2)`. Ref: ioctl_ns(2)
const NS_GET_PARENT: libc::c_ulong = 0xb702;

/// The parent of the user namespace behind `fd` (an fd of
/// `/proc/PID/ns/user`), as a new fd. EPERM when the parent is outside
/// the caller's own user namespace. Ref: ioctl_ns(2)
pub fn ns_parent(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: NS_GET_PARENT takes no argument and returns a new fd.
    let r = cvt(unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_PARENT as _) })?;
    // SAFETY: the kernel just created this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// NS_GET_USERNS: `_IO(0xb7, 0x1)`. Ref: ioctl_ns(2)
const NS_GET_USERNS: libc::c_ulong = 0xb701;

/// The user namespace that owns the namespace behind `fd`, as a new fd.
/// EPERM when it is outside the caller's own user namespace.
/// Ref: ioctl_ns(2)
pub fn ns_owner(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: NS_GET_USERNS takes no argument and returns a new fd.
    let r = cvt(unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_USERNS as _) })?;
    // SAFETY: the kernel just created this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// NS_GET_NSTYPE: `_IO(0xb7, 0x3)`. Ref: ioctl_ns(2)
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// The kind of namespace behind `fd` (its CLONE_NEW* flag); ENOTTY when
/// `fd` is not a namespace. Ref: ioctl_ns(2)
pub fn ns_type(fd: BorrowedFd<'_>) -> io::Result<c_int> {
    // SAFETY: NS_GET_NSTYPE takes no argument and only returns a number.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) })
}

/// flock(2) LOCK_EX, without waiting: Ok(false) when another open file
/// description holds it. The lock lives as long as the description.
pub fn try_lock(fd: BorrowedFd<'_>) -> io::Result<bool> {
    // SAFETY: flock takes a descriptor and flags; no pointer.
    match cvt(unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }) {
        Ok(_) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether `fd` is a pidfd whose process still runs: a signal 0 through
/// it answers ESRCH once the process has ended.
pub fn pidfd_alive(fd: BorrowedFd<'_>) -> bool {
    super::sigsafe::pidfd_send_signal(fd.as_raw_fd(), 0).is_ok()
}

/// renameat2(2) with RENAME_NOREPLACE: EEXIST when `to` exists, never
/// replacing it. EINVAL where the file system cannot (and ENOSYS before
/// Linux 3.15); the caller falls back to link and unlink.
pub fn rename_noreplace(from: &std::path::Path, to: &std::path::Path) -> io::Result<()> {
    let (from, to) = (cstr(from)?, cstr(to)?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call;
    // the kernel only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    cvt(r).map(drop)
}
