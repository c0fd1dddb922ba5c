//! The async-signal-safe subset: the only functions the clone child may
//! call before it execs (launch/clone_child.rs), and the guard process
//! (launch/guard.rs) at all. Both are copies of the launcher made by clone or fork: another
//! thread's lock or a half-updated allocator may be frozen in that copy, so
//! nothing here allocates or takes a lock. Each function is one system call
//! (or a loop of them) plus `cvt`, which only reads errno; an `io::Error`
//! made from an errno number holds the number, not a heap allocation.
//!
//! Descriptors are taken by number (`RawFd`): the callers hold copies of
//! the launcher's fds, which no Rust object in the copy will use again, and
//! they end in execve or `_exit`. Which numbers they close or replace is
//! their protocol (launch/clone_child.rs, launch/guard.rs), not something these wrappers can check.
//! Closing or duplicating a number is memory-safe in any case: it changes
//! only the descriptor table.

use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::RawFd;
use std::ptr;

use libc::{c_char, c_int, c_ulong};

use super::{cvt, cvt_r};

/// End the process now, without running any Rust or C exit handlers (which
/// a forked child must not run twice).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit takes an integer and never returns; it runs no exit
    // handlers, so nothing of the parent's copied state is touched.
    unsafe { libc::_exit(code) }
}

/// Real, effective and saved uid, all `uid`. Ref: setresuid(2)
pub fn setresuid(uid: u32) -> io::Result<()> {
    // SAFETY: integers only, one system call. The raw syscall changes
    // this thread's ids alone: its callers (the clone child, the child
    // stage) are single-threaded.
    cvt(unsafe { libc::syscall(libc::SYS_setresuid, uid, uid, uid) }).map(drop)
}

/// Real, effective and saved gid, all `gid`. Ref: setresgid(2)
pub fn setresgid(gid: u32) -> io::Result<()> {
    // SAFETY: integers only; single-threaded caller, as for setresuid.
    cvt(unsafe { libc::syscall(libc::SYS_setresgid, gid, gid, gid) }).map(drop)
}

/// Ask for `sig` when the parent thread dies. Ref: prctl(2) PR_SET_PDEATHSIG
pub fn set_parent_death_signal(sig: c_int) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; the unused arguments
    // are zero and no pointer is passed.
    cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as c_ulong, 0, 0, 0) }).map(drop)
}

/// unshare(2): move this process into new namespaces.
pub fn unshare(flags: c_int) -> io::Result<()> {
    // SAFETY: unshare takes only flags and touches no memory of ours.
    cvt(unsafe { libc::unshare(flags) }).map(drop)
}

/// sethostname(2) with bytes made before (no allocation).
pub fn sethostname(name: &[u8]) -> io::Result<()> {
    // SAFETY: the pointer and length describe `name`, which outlives the
    // call; the kernel copies it.
    cvt(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

/// mount(2) making every mount of this mount namespace private
/// (`mount --make-rprivate /`), with static strings (no allocation).
pub fn make_mounts_private() -> io::Result<()> {
    // SAFETY: a NUL-terminated static path; the source, type and data
    // pointers are null, which MS_PRIVATE allows.
    cvt(unsafe {
        libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    })
    .map(drop)
}

/// Read one byte from a raw fd; `Ok(None)` at EOF. Retries on EINTR.
pub fn read_byte(fd: RawFd) -> io::Result<Option<u8>> {
    let mut b = 0u8;
    // SAFETY: the kernel writes at most one byte, into the local `b`,
    // which outlives the call.
    let n = cvt_r(|| unsafe { libc::read(fd, (&mut b as *mut u8).cast(), 1) })?;
    Ok(if n == 0 { None } else { Some(b) })
}

/// Write all of `buf` to a raw fd, retrying on EINTR and short writes.
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: the kernel reads at most buf.len() bytes from `buf`,
        // which is borrowed for the call.
        let n = cvt_r(|| unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })?;
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Duplicate `old` onto `new` (closing what `new` was); the copy is not
/// close-on-exec. When `old == new` nothing changes, its flag included.
pub fn dup2(old: RawFd, new: RawFd) -> io::Result<()> {
    // SAFETY: dup2 takes two integers and only changes the descriptor table.
    cvt_r(|| unsafe { libc::dup2(old, new) }).map(drop)
}

/// Set or clear FD_CLOEXEC on a descriptor held by number (F_SETFD; it is
/// the only descriptor flag).
pub fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    let flags = if on { libc::FD_CLOEXEC } else { 0 };
    // SAFETY: F_SETFD takes an integer argument and only changes the
    // descriptor's flags.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, flags) }).map(drop)
}

/// Close a descriptor held by number.
pub fn close(fd: RawFd) -> io::Result<()> {
    // SAFETY: close takes an integer and only changes the descriptor table
    // (see the module doc for why the number is the caller's to close).
    cvt(unsafe { libc::close(fd) }).map(drop)
}

/// Close every descriptor from `first` up with close_range (Linux 5.9).
/// Where that fails (ENOSYS on older kernels) it closes `first..1024` one
/// by one, and still returns close_range's error: descriptors above 1023
/// may then be left open.
pub fn close_range(first: RawFd) -> io::Result<()> {
    // SAFETY: close_range takes integers and only changes the descriptor
    // table, as close does.
    let r = cvt(unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) });
    if r.is_err() {
        for fd in first..1024 {
            // EBADF for the numbers that were not open.
            let _ = close(fd);
        }
    }
    r.map(drop)
}

/// Close every descriptor above stdio but those in `keep` and in `also`
/// (negative entries are ignored; `keep` is sorted in place: no
/// allocation; `also` must be in ascending order already). With
/// close_range (Linux 5.9) over each gap; where that fails, one by one up
/// to 1023, returning close_range's error.
pub fn close_all_except(keep: &mut [RawFd], also: &[RawFd]) -> io::Result<()> {
    // Insertion sort: a dozen numbers at most.
    for i in 1..keep.len() {
        let mut j = i;
        while j > 0 && keep[j - 1] > keep[j] {
            keep.swap(j - 1, j);
            j -= 1;
        }
    }
    let mut first: RawFd = 3;
    let mut result = Ok(());
    let mut gap = |from: RawFd, to: u32| {
        // SAFETY: close_range takes integers and only changes the
        // descriptor table, as close does.
        let r = cvt(unsafe { libc::syscall(libc::SYS_close_range, from as u32, to, 0u32) });
        if r.is_err() {
            for fd in from..(to.min(1023) as RawFd + 1) {
                // EBADF for the numbers that were not open.
                let _ = close(fd);
            }
            result = r.map(drop);
        }
    };
    // The two sorted lists merged as they are walked.
    let (mut i, mut j) = (0, 0);
    loop {
        let k = match (keep.get(i), also.get(j)) {
            (Some(&a), Some(&b)) if a <= b => {
                i += 1;
                a
            }
            (_, Some(&b)) => {
                j += 1;
                b
            }
            (Some(&a), None) => {
                i += 1;
                a
            }
            (None, None) => break,
        };
        if k < first {
            continue;
        }
        if k > first {
            gap(first, (k - 1) as u32);
        }
        first = k + 1;
    }
    gap(first, u32::MAX);
    result
}

/// Start a new session (leave the terminal's process group); returns its
/// id. Fails (EPERM) only for a process group leader, which a fork child
/// is not.
pub fn setsid() -> io::Result<libc::pid_t> {
    // SAFETY: setsid takes no arguments and touches no memory of ours.
    cvt(unsafe { libc::setsid() })
}

/// Wait up to `ms` milliseconds for `fd` to poll readable (POLLIN, or an
/// error or hangup condition); with fd -1, just sleep. `Ok(true)` when it
/// did, `Ok(false)` on timeout. A signal ends the wait early with EINTR.
pub fn poll(fd: RawFd, ms: c_int) -> io::Result<bool> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd, a local that outlives the call, and the count 1;
    // poll ignores an entry with a negative fd.
    Ok(cvt(unsafe { libc::poll(&mut p, 1, ms) })? > 0)
}

/// Wait (without end) until `a` or `b` polls readable (POLLIN, or an
/// error or hangup condition): whether each did. A signal ends the wait
/// early with EINTR.
pub fn poll_either(a: RawFd, b: RawFd) -> io::Result<(bool, bool)> {
    let mut p = [a, b].map(|fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    });
    // SAFETY: two pollfds, a local array that outlives the call, and the
    // count 2.
    cvt(unsafe { libc::poll(p.as_mut_ptr(), 2, -1) })?;
    Ok((p[0].revents != 0, p[1].revents != 0))
}

/// rmdir(2) of a path prepared as a C string.
pub fn rmdir(path: &CStr) -> io::Result<()> {
    // SAFETY: `path` is a NUL-terminated string borrowed for the call.
    cvt(unsafe { libc::rmdir(path.as_ptr()) }).map(drop)
}

/// pidfd_open(2) as a raw fd, for the guard (which must not build an
/// `OwnedFd` it might drop at the wrong time).
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<RawFd> {
    // SAFETY: pidfd_open takes a pid and flags, no pointer.
    cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_ulong) })
        .map(|fd| fd as RawFd)
}

/// Send `sig` to the process behind a pidfd. Ref: pidfd_send_signal(2)
pub fn pidfd_send_signal(fd: RawFd, sig: c_int) -> io::Result<()> {
    // SAFETY: a NULL siginfo means "as kill(2) would", so no pointer is
    // read; the flags must be 0.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd,
            sig,
            ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    })
    .map(drop)
}

/// Strings for execve, prepared before the code that must not allocate:
/// the C strings and the NULL-terminated array of pointers to them. The
/// pointers stay valid as long as this value lives: the strings are never
/// changed or dropped before it, and moving a `CString` (or the `Vec` of
/// them) does not move its bytes.
pub struct CStringArray {
    /// Owned for `ptrs`, which point into them.
    _strings: Vec<CString>,
    ptrs: Vec<*const c_char>,
}

impl CStringArray {
    pub fn new(strings: Vec<CString>) -> CStringArray {
        let mut ptrs: Vec<*const c_char> = strings.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(ptr::null());
        CStringArray {
            _strings: strings,
            ptrs,
        }
    }
}

/// execve(2). Returns only on failure, with the error.
pub fn execve(path: &CStr, argv: &CStringArray, envp: &CStringArray) -> io::Result<Infallible> {
    // SAFETY: `path` is a NUL-terminated string; both arrays end with a
    // NULL pointer, and each other entry points into a string the array
    // owns (CStringArray's invariant), all borrowed for the call.
    unsafe { libc::execve(path.as_ptr(), argv.ptrs.as_ptr(), envp.ptrs.as_ptr()) };
    Err(io::Error::last_os_error())
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): run the program `fd` is
/// open on (a sealed memfd, sys::sealed_memfd). Returns only on failure.
/// Ref: execveat(2)
pub fn execveat_fd(fd: RawFd, argv: &CStringArray, envp: &CStringArray) -> io::Result<Infallible> {
    // SAFETY: the empty path is a NUL-terminated literal; both arrays end
    // with a NULL pointer, and each other entry points into a string the
    // array owns (CStringArray's invariant), all borrowed for the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd,
            c"".as_ptr(),
            argv.ptrs.as_ptr(),
            envp.ptrs.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    Err(io::Error::last_os_error())
}

/// Put a terminal's settings back (tcsetattr, TCSANOW): the guard's last
/// act when the launcher died with the caller's terminal in raw mode. An
/// ioctl, so async-signal-safe.
pub fn restore_termios(fd: RawFd, t: &libc::termios) -> io::Result<()> {
    // SAFETY: `t` is borrowed for the call and only read.
    cvt_r(|| unsafe { libc::tcsetattr(fd, libc::TCSANOW, t) }).map(drop)
}

/// Keep this process's permitted capabilities across execve though its uid
/// is not 0 in its user namespace: inheritable := permitted, then each one
/// raised in the ambient set (until the kernel's last, EINVAL). For the
/// clone child in a user namespace the caller made or mapped (the bwrap
/// front end's `--userns`, `--userns-block-fd`), whose exec of the stage
/// would otherwise drop them all. Ref: capabilities(7) "ambient"
pub fn keep_caps_across_exec() -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: the header and two data words have the kernel's version 3
    // layout, are ours and live across the call, which writes the data.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut Header,
            data.as_mut_ptr(),
        )
    })?;
    for d in &mut data {
        d.inheritable = d.permitted;
    }
    // SAFETY: as above; capset only reads them.
    cvt(unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) })?;
    for cap in 0..64u32 {
        let word = data[(cap / 32) as usize].permitted;
        if word & (1 << (cap % 32)) == 0 {
            continue;
        }
        match ambient_raise(cap) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            other => other?,
        };
    }
    Ok(())
}

/// Raise one capability in the ambient set (it must be permitted and
/// inheritable): for the clone child, which keeps its capabilities across
/// its exec, and for confine/caps.rs. Ref: prctl(2) PR_CAP_AMBIENT_RAISE
pub fn ambient_raise(cap: u32) -> io::Result<()> {
    // SAFETY: integer arguments only; the unused ones are zero.
    cvt(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as c_ulong,
            cap as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
        )
    })
    .map(drop)
}
