//! Kernel features and host state, for doctor: seccomp, Landlock, clone3,
//! and whether a path is writable.

use std::ffi::OsStr;
use std::io;
use std::ptr;

use super::{cstr, cvt};

/// seccomp filters usable: SECCOMP_GET_ACTION_AVAIL for SECCOMP_RET_ERRNO.
/// Ref: seccomp(2)
pub fn seccomp_filter_available() -> io::Result<()> {
    const SECCOMP_GET_ACTION_AVAIL: u32 = 2;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    let action = SECCOMP_RET_ERRNO;
    // SAFETY: the kernel reads one u32 from `action`, a local that outlives
    // the call; the flags are 0.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0u32,
            &action as *const u32,
        )
    })
    .map(drop)
}

/// The Landlock ABI version, or the errno: EOPNOTSUPP when built in but not
/// enabled at boot, ENOSYS when not built in. Ref: landlock_create_ruleset(2)
pub fn landlock_abi() -> io::Result<i64> {
    const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
    // SAFETY: with the VERSION flag the attr pointer must be NULL and size
    // 0, so nothing is read.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    })
}

/// Whether clone3 exists. A yes/no query: a call with a too-small size
/// fails, with EINVAL when clone3 exists and ENOSYS when it does not (or
/// a seccomp filter hides it), so only ENOSYS means "no".
pub fn clone3_present() -> bool {
    // SAFETY: a NULL pointer with size 0 is rejected before anything is
    // read, and no process is created.
    let r =
        cvt(unsafe { libc::syscall(libc::SYS_clone3, ptr::null_mut::<libc::c_void>(), 0usize) });
    !matches!(r, Err(e) if e.raw_os_error() == Some(libc::ENOSYS))
}

/// access(2) with W_OK, checked with the real uid as the kernel would for
/// the caller: `Ok` when `path` is writable, else why not.
pub fn writable(path: &OsStr) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::access(c.as_ptr(), libc::W_OK) }).map(drop)
}
