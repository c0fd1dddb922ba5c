//! Processes: clone into new namespaces, fork, pidfds, signals to a pid,
//! process groups, and waiting (`Exit`, `Ended`).

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use libc::{c_int, c_ulong, pid_t};

use super::{cvt, cvt_r};

/// `struct clone_args` as of Linux 5.7 (CLONE_ARGS_SIZE_VER2).
/// Ref: clone(2), include/uapi/linux/sched.h
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// CLONE_INTO_CGROUP (Linux 5.7): start the child in the cgroup whose
/// directory fd is in `clone_args.cgroup`. Ref: clone(2)
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// Fork-like clone into new namespaces: returns 0 in the child and the
/// child's pid in the parent, with whether the child was born in `cgroup`.
/// Tries clone3 first and falls back to clone(2) when clone3 is missing
/// (kernel < 5.3) or filtered to ENOSYS (Docker's default seccomp profile
/// does that); a kernel with clone3 but without CLONE_INTO_CGROUP (5.3 to
/// 5.6) says E2BIG or EINVAL, and gets a plain clone3. Without the cgroup
/// the caller must move the child itself before releasing it.
///
/// The caller may have other threads (a library's caller), but the child
/// then has only the calling thread and a copy of memory taken at a moment
/// when another thread may have held a lock (malloc's, say): until it execs
/// it may only call `sys::sigsafe`, which neither allocates nor locks.
pub fn clone_namespaces(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> io::Result<(pid_t, bool)> {
    let clone3 = |flags: u64, cgroup_fd: u64| {
        let mut args = CloneArgs {
            flags,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: cgroup_fd,
            ..Default::default()
        };
        // SAFETY: clone3 without CLONE_VM and without a stack behaves like
        // fork: the child runs on a copy of this address space and returns 0
        // here. `args` lives across the call and its size is passed with it.
        // The child touches no lock another thread could have held: it
        // calls only `sys::sigsafe` until its exec (see above).
        let r = cvt(unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &mut args as *mut CloneArgs,
                mem::size_of::<CloneArgs>(),
            )
        })?;
        Ok::<_, io::Error>(r as pid_t)
    };
    if let Some(fd) = cgroup {
        match clone3(flags | CLONE_INTO_CGROUP, fd.as_raw_fd() as u64) {
            Ok(pid) => return Ok((pid, true)),
            Err(e) if matches!(e.raw_os_error(), Some(libc::E2BIG) | Some(libc::EINVAL)) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {}
            Err(e) => return Err(e),
        }
    }
    match clone3(flags, 0) {
        Ok(pid) => return Ok((pid, false)),
        Err(e) if e.raw_os_error() != Some(libc::ENOSYS) => return Err(e),
        Err(_) => {}
    }
    // SAFETY: clone(2) with a NULL stack and no CLONE_VM is fork with
    // namespace flags; the same reasoning as above applies. The argument
    // order (flags, stack, parent_tid, child_tid, tls) is the x86-64 one,
    // and the NULL tid pointers are not used without CLONE_*_SETTID.
    let r = cvt(unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags as c_ulong) | libc::SIGCHLD as c_ulong,
            ptr::null_mut::<libc::c_void>(),
            ptr::null_mut::<libc::c_void>(),
            ptr::null_mut::<libc::c_void>(),
            0 as c_ulong,
        )
    })?;
    Ok((r as pid_t, false))
}

/// fork(2) for doctor's probes, the launcher's guard and `--init`. The
/// guard's parent may be multi-threaded (a library's caller), so the guard
/// calls only `sys::sigsafe`; doctor (the CLI) and the child stage (which
/// `--init` forks) are single-threaded, so their children may run ordinary
/// code.
pub fn fork() -> io::Result<pid_t> {
    // SAFETY: fork only copies the process. What the child may then do is
    // the callers' part, above: async-signal-safe calls only where another
    // thread may have held a lock at the fork.
    cvt(unsafe { libc::fork() })
}

/// A pidfd (always close-on-exec) for a process: signals sent through it
/// can never reach another process that reused the pid. Linux 5.3.
/// Ref: pidfd_open(2)
pub fn pidfd_open(pid: pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags, no pointer.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as c_ulong) })?;
    // SAFETY: the kernel just created this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn kill(pid: pid_t, sig: c_int) -> io::Result<()> {
    // SAFETY: kill takes plain integers and touches no memory of ours.
    cvt(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// The process group of `pid` (0: our own).
pub fn getpgid(pid: pid_t) -> io::Result<pid_t> {
    // SAFETY: getpgid takes a pid and touches no memory of ours.
    cvt(unsafe { libc::getpgid(pid) })
}

/// How a process ended.
///
/// ```
/// assert_eq!(sandbox::Exit::from_status(3 << 8), Some(sandbox::Exit::Code(3)));
/// assert_eq!(sandbox::Exit::from_status(9), Some(sandbox::Exit::Signal(9)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this status.
    Code(i32),
    /// A signal (this number) killed it.
    Signal(i32),
}

impl Exit {
    /// From a wait status; `None` for stopped or continued.
    pub fn from_status(status: c_int) -> Option<Exit> {
        if libc::WIFEXITED(status) {
            Some(Exit::Code(libc::WEXITSTATUS(status)))
        } else if libc::WIFSIGNALED(status) {
            Some(Exit::Signal(libc::WTERMSIG(status)))
        } else {
            None
        }
    }
}

/// A child's end with the resources it and the children it waited for
/// used. Ref: wait4(2), getrusage(2)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ended {
    pub exit: Exit,
    pub user: std::time::Duration,
    pub system: std::time::Duration,
    /// ru_maxrss: the largest resident set of any one of those processes.
    pub max_rss_bytes: u64,
}

/// waitpid(2); `Ok(None)` with `nohang` when the child is still running.
pub fn waitpid(pid: pid_t, nohang: bool) -> io::Result<Option<Exit>> {
    Ok(wait4(pid, nohang)?.map(|e| e.exit))
}

/// wait4(2) for one child; `Ok(None)` with `nohang` while it runs.
pub fn wait4(pid: pid_t, nohang: bool) -> io::Result<Option<Ended>> {
    let mut status = 0;
    let flags = if nohang { libc::WNOHANG } else { 0 };
    // SAFETY: rusage is plain integers; all-zero bytes are a valid value.
    let mut ru: libc::rusage = unsafe { mem::zeroed() };
    // SAFETY: `status` and `ru` are locals of the right types, which the
    // kernel writes into and which outlive the call.
    let r = cvt_r(|| unsafe { libc::wait4(pid, &mut status, flags, &mut ru) })?;
    if r == 0 {
        return Ok(None);
    }
    let tv = |t: libc::timeval| {
        std::time::Duration::new(
            t.tv_sec.max(0) as u64,
            (t.tv_usec.clamp(0, 999_999) as u32) * 1000,
        )
    };
    // Stopped or continued is not an end; we never ask for those.
    Ok(Exit::from_status(status).map(|exit| Ended {
        exit,
        user: tv(ru.ru_utime),
        system: tv(ru.ru_stime),
        max_rss_bytes: (ru.ru_maxrss.max(0) as u64) * 1024,
    }))
}

/// Whether this process has a child, exited or not: waitid(P_ALL) that
/// neither waits nor reaps (WNOHANG | WNOWAIT), ECHILD when there is none.
/// Ref: waitid(2)
pub fn has_children() -> bool {
    // SAFETY: siginfo_t is plain data; all-zero bytes are a valid value.
    let mut info: libc::siginfo_t = unsafe { mem::zeroed() };
    // SAFETY: `info` is a local of the right type, which the kernel writes
    // into and which outlives the call; WNOWAIT leaves any child unreaped.
    let r = cvt_r(|| unsafe {
        libc::waitid(
            libc::P_ALL,
            0,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        )
    });
    !matches!(r, Err(e) if e.raw_os_error() == Some(libc::ECHILD))
}

/// Reap any one child: (pid, wait status, the CPU time, user + system,
/// it used), or `None` when there is no child left, or, without `block`,
/// none has ended yet. The time is for `--init`'s account of the limits
/// it sees hit. Ref: wait4(2)
pub fn reap_any_timed(block: bool) -> io::Result<Option<(pid_t, c_int, std::time::Duration)>> {
    let mut status = 0;
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: rusage is plain integers; all-zero bytes are a valid value.
    let mut ru: libc::rusage = unsafe { mem::zeroed() };
    // SAFETY: `status` and `ru` are locals of the right types, which the
    // kernel writes into and which outlive the call.
    match cvt_r(|| unsafe { libc::wait4(-1, &mut status, flags, &mut ru) }) {
        Ok(0) => Ok(None),
        Ok(pid) => {
            let tv = |t: libc::timeval| {
                std::time::Duration::new(
                    t.tv_sec.max(0) as u64,
                    (t.tv_usec.clamp(0, 999_999) as u32) * 1000,
                )
            };
            Ok(Some((pid, status, tv(ru.ru_utime) + tv(ru.ru_stime))))
        }
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(None),
        Err(e) => Err(e),
    }
}
