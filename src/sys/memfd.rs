//! Sealed, executable memfds: the exec trampoline's image (confine/trampoline.rs)
//! and `sandbox-oci init`'s copy of our binary. What the kernel runs
//! from one of these is never our binary on the host, and nothing can
//! change it once sealed. Ref: memfd_create(2), fcntl(2) "File Sealing",
//! CVE-2019-5736
//!
//! Also the fd hygiene for host programs we spawn (hooks, pasta, nft,
//! newuidmap): nothing but their stdio may reach them.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

use libc::c_uint;

use super::{cvt, cvt_r, sigsafe};

/// MFD_EXEC (Linux 6.3): ask for an executable memfd, which
/// `vm.memfd_noexec = 2` refuses (EACCES); kernels before 6.3 know no such
/// flag (EINVAL) and make every memfd executable.
const MFD_EXEC: c_uint = 0x10;
/// CLOSE_RANGE_CLOEXEC (Linux 5.11): mark the range close-on-exec rather
/// than closing it.
const CLOSE_RANGE_CLOEXEC: c_uint = 1 << 2;

fn memfd_create(name: &CStr) -> io::Result<OwnedFd> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: `name` is a NUL-terminated string borrowed for the call; the
    // flags are integers.
    let fd = match cvt(unsafe { libc::memfd_create(name.as_ptr(), base | MFD_EXEC) }) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // SAFETY: as above.
            cvt(unsafe { libc::memfd_create(name.as_ptr(), base) })?
        }
        other => other?,
    };
    // SAFETY: the kernel just made this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Execute-only for everyone, then the four seals: no more writes, no
/// size change, no more seals. Not readable, so a process exec'd from it
/// is not dumpable (nothing without CAP_SYS_PTRACE over it can open its
/// /proc files) until its own next exec. Ref: execve(2) "dumpable"
fn seal(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fchmod takes an fd and a mode, no pointer.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), 0o111) })?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // F_SEAL_WRITE waits (about 150 ms) for every page to have no extra
    // reference, then says EBUSY: pages just written may still be held
    // for a moment by the kernel's own batching, reclaim or migration on a
    // busy machine (seen once in the suite under load). Nothing
    // of ours maps the memfd, so it passes on a later try; a bounded few.
    // Ref: mm/memfd.c memfd_wait_for_pins
    let mut tries = 0;
    loop {
        // SAFETY: F_ADD_SEALS takes an integer argument.
        match cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) }) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 5 => tries += 1,
            r => return r.map(drop),
        }
    }
}

/// A sealed, executable, close-on-exec memfd holding `bytes`.
pub fn sealed_memfd(name: &CStr, bytes: &[u8]) -> io::Result<OwnedFd> {
    let fd = memfd_create(name)?;
    sigsafe::write_all(fd.as_raw_fd(), bytes)?;
    seal(&fd)?;
    Ok(fd)
}

/// A sealed, executable, close-on-exec memfd holding a copy of the binary
/// this process runs (/proc/self/exe), copied in the kernel (sendfile).
pub fn sealed_copy_of_self(name: &CStr) -> io::Result<OwnedFd> {
    let exe = std::fs::File::open("/proc/self/exe")?;
    let size = exe.metadata()?.len();
    let fd = memfd_create(name)?;
    let mut left = size;
    while left > 0 {
        // SAFETY: both are open descriptors; a NULL offset means "the
        // input's own file offset", so no pointer is passed.
        let n = cvt_r(|| unsafe {
            libc::sendfile(
                fd.as_raw_fd(),
                exe.as_raw_fd(),
                std::ptr::null_mut(),
                left as usize,
            )
        })?;
        if n == 0 {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        left -= n as u64;
    }
    seal(&fd)?;
    Ok(fd)
}

/// Whether this process could open the binary it runs for writing (the
/// real ids decide, which are the effective ones for every caller): when
/// not, a program in a sandbox, which has at most our rights, cannot
/// either. A yes/no query; a failure to find out (no /proc) reads as yes.
pub fn own_binary_writable() -> bool {
    let c = c"/proc/self/exe";
    // SAFETY: `c` is a NUL-terminated string; faccessat reads only it.
    let r = unsafe { libc::syscall(libc::SYS_faccessat, libc::AT_FDCWD, c.as_ptr(), libc::W_OK) };
    if r == 0 {
        return true;
    }
    let e = io::Error::last_os_error().raw_os_error();
    !matches!(
        e,
        Some(libc::EACCES) | Some(libc::EROFS) | Some(libc::EPERM)
    )
}

/// Mark every descriptor from `first` up close-on-exec: close_range with
/// CLOSE_RANGE_CLOEXEC (Linux 5.11), else fcntl on `first..1024`.
/// Async-signal-safe (system calls only).
fn cloexec_from(first: RawFd) -> io::Result<()> {
    // SAFETY: close_range takes integers and only changes descriptor flags
    // with this flag.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first as c_uint,
            c_uint::MAX,
            CLOSE_RANGE_CLOEXEC,
        )
    };
    if r == 0 {
        return Ok(());
    }
    for fd in first..1024 {
        // EBADF for the numbers that are not open.
        let _ = sigsafe::set_cloexec(fd, true);
    }
    Ok(())
}

/// Let nothing but stdio reach the program `cmd` runs: whatever our caller
/// leaked to us without close-on-exec is marked close-on-exec in the child
/// just before its exec (std's own error pipe is close-on-exec already).
/// Ref: CVE-2024-21626
pub fn only_stdio(cmd: &mut Command) -> &mut Command {
    // SAFETY: the closure runs in the forked child between fork and exec,
    // where only async-signal-safe calls are allowed: it makes system
    // calls only, and neither allocates nor locks.
    unsafe { cmd.pre_exec(|| cloexec_from(3)) }
}
