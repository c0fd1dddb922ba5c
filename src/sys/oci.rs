//! Calls the OCI runtime (src/oci/) needed first beyond the launcher's,
//! now shared through confine/caps.rs: full capability sets, the ambient
//! set, keep-caps; and supplementary groups, device nodes, FIFOs, the
//! umask and the NIS domain name.

use std::ffi::OsStr;
use std::io;

use libc::{c_int, c_ulong};

use super::{cstr, cvt};

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: c_int,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Set this thread's effective, permitted and inheritable sets (bit N is
/// capability N). Ref: capset(2), linux/capability.h (version 3: 2 words)
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> io::Result<()> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let word = |v: u64, i: usize| (v >> (32 * i)) as u32;
    let data = [0, 1].map(|i| CapData {
        effective: word(effective, i),
        permitted: word(permitted, i),
        inheritable: word(inheritable, i),
    });
    // SAFETY: the header and the two data words have the kernel's version 3
    // layout and live across the call.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    })
    .map(drop)
}

/// This thread's effective, permitted and inheritable sets (bit N is
/// capability N). Ref: capget(2), linux/capability.h (version 3: 2 words)
pub fn capget() -> io::Result<(u64, u64, u64)> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: the header and the two data words have the kernel's version 3
    // layout; the kernel writes the two words, which live across the call.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut CapHeader,
            data.as_mut_ptr(),
        )
    })?;
    let join = |f: fn(&CapData) -> u32| u64::from(f(&data[0])) | u64::from(f(&data[1])) << 32;
    Ok((
        join(|d| d.effective),
        join(|d| d.permitted),
        join(|d| d.inheritable),
    ))
}

/// Keep the permitted set across a change of uid from 0. Ref: prctl(2)
pub fn set_keepcaps(on: bool) -> io::Result<()> {
    // SAFETY: integer arguments only; the unused ones are zero.
    cvt(unsafe {
        libc::prctl(
            libc::PR_SET_KEEPCAPS,
            on as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
        )
    })
    .map(drop)
}

/// The highest capability number this kernel knows. Ref: prctl(2)
/// PR_CAPBSET_READ (EINVAL past the last).
pub fn last_cap() -> u32 {
    let mut n = 0;
    // SAFETY: integer arguments only; the unused ones are zero.
    while n < 63 && unsafe { libc::prctl(libc::PR_CAPBSET_READ, (n + 1) as c_ulong, 0, 0, 0) } >= 0
    {
        n += 1;
    }
    n
}

/// Set the supplementary groups. Ref: setgroups(2)
pub fn setgroups(gids: &[u32]) -> io::Result<()> {
    // SAFETY: the kernel reads `gids.len()` gid_t values from the slice,
    // which outlives the call.
    cvt(unsafe { libc::syscall(libc::SYS_setgroups, gids.len(), gids.as_ptr()) }).map(drop)
}

/// mkfifo(3).
pub fn mkfifo(path: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: `c` is NUL-terminated and outlives the call.
    cvt(unsafe { libc::mkfifo(c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// umask(2); cannot fail. Returns the old mask.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: an integer argument, no memory.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

/// setdomainname(2).
pub fn setdomainname(name: &str) -> io::Result<()> {
    // SAFETY: the kernel reads `name.len()` bytes from `name`.
    cvt(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) }).map(drop)
}

/// getppid(2); cannot fail.
pub fn getppid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::getppid() }
}

/// A close-on-exec duplicate of `fd` numbered `min` or above.
pub fn dup_at_least(fd: std::os::fd::BorrowedFd<'_>, min: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::AsRawFd;
    super::dup_raw_at_least(fd.as_raw_fd(), min)
}
