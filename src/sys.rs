//! The only module with `unsafe`: thin wrappers over libc.
//!
//! Each wrapper turns the C convention (-1 and errno) into `io::Result`, and
//! every raw fd it creates becomes an `OwnedFd` at once. Callers attach the
//! step and path (see `error::Context`). Nothing here decides policy.
//!
//! Functions marked "async-signal-safe" are the only ones the clone child may
//! call before it execs (see `parent.rs`): they neither allocate nor lock.

use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::ptr;

use libc::{c_int, c_ulong, pid_t};

/// Map -1 to the thread's errno. (std's `cvt` in `sys/pal/unix/mod.rs`.)
fn cvt<T: PartialEq + From<i8>>(r: T) -> io::Result<T> {
    if r == T::from(-1) {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Like `cvt`, retrying on EINTR.
fn cvt_r<T: PartialEq + From<i8>>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        match cvt(f()) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            other => return other,
        }
    }
}

/// A C string from a path or string; a NUL inside is EINVAL, as the kernel
/// would say for a path it cannot represent.
pub fn cstr(s: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(s.as_ref().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

// ---------------------------------------------------------------------------
// Process creation

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
/// The caller must be single-threaded, and the child may only call
/// async-signal-safe functions until it execs.
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
        // The launcher is single-threaded at this point (no thread is ever
        // spawned before), so no lock can be held by a thread that does not
        // exist in the child.
        let r = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &mut args as *mut CloneArgs,
                mem::size_of::<CloneArgs>(),
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r as pid_t)
        }
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
    // order (flags, stack, parent_tid, child_tid, tls) is the x86-64 one.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags as c_ulong) | libc::SIGCHLD as c_ulong,
            ptr::null_mut::<libc::c_void>(),
            ptr::null_mut::<libc::c_void>(),
            ptr::null_mut::<libc::c_void>(),
            0 as c_ulong,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((r as pid_t, false))
}

/// A pidfd (always close-on-exec) for a process: signals sent through it
/// can never reach another
/// process that reused the pid. Linux 5.3. Ref: pidfd_open(2)
pub fn pidfd_open(pid: pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags; the result is a fresh fd.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as c_ulong) })?;
    // SAFETY: fresh descriptor, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Async-signal-safe: send `sig` to the process behind a pidfd.
/// Ref: pidfd_send_signal(2)
pub fn pidfd_send_signal(fd: RawFd, sig: c_int) -> io::Result<()> {
    // SAFETY: a NULL siginfo means "as kill(2) would"; flags must be 0.
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

/// Whether clone3 exists: a call with a too-small size is EINVAL when it does.
pub fn clone3_present() -> bool {
    // SAFETY: a NULL pointer with size 0 is rejected before anything is read.
    let r = unsafe { libc::syscall(libc::SYS_clone3, ptr::null_mut::<libc::c_void>(), 0usize) };
    !(r < 0 && errno() == libc::ENOSYS)
}

/// Async-signal-safe: end the process now, without running any Rust or C
/// exit handlers (which a forked child must not run twice).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no user-space state.
    unsafe { libc::_exit(code) }
}

/// Async-signal-safe: ask for `sig` when the parent thread dies.
pub fn set_parent_death_signal(sig: c_int) -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number and nothing else.
    cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as c_ulong, 0, 0, 0) }).map(drop)
}

/// Async-signal-safe: read one byte from a raw fd; `Ok(None)` at EOF.
pub fn read_byte(fd: RawFd) -> io::Result<Option<u8>> {
    let mut b = 0u8;
    // SAFETY: reads at most one byte into a local that outlives the call.
    let n = cvt_r(|| unsafe { libc::read(fd, (&mut b as *mut u8).cast(), 1) })?;
    Ok(if n == 0 { None } else { Some(b) })
}

/// Async-signal-safe: duplicate `old` onto `new`; the copy is not CLOEXEC.
pub fn dup2(old: RawFd, new: RawFd) -> io::Result<()> {
    // SAFETY: dup2 only manipulates the descriptor table.
    cvt_r(|| unsafe { libc::dup2(old, new) }).map(drop)
}

/// Async-signal-safe: execve with prepared NULL-terminated arrays. Returns
/// only on failure, with the errno.
pub fn execve(path: &CStr, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> i32 {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()));
    debug_assert!(envp.last().is_some_and(|p| p.is_null()));
    // SAFETY: the caller keeps the strings behind argv/envp alive, and both
    // arrays end with a NULL pointer (checked above in debug builds).
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    errno()
}

/// Async-signal-safe: close a descriptor held by number; errors (EBADF)
/// are of no interest to the callers.
pub fn close_raw(fd: RawFd) {
    // SAFETY: closes a number no Rust object in this process owns (the
    // callers are a fresh clone or fork child, on copies of the parent's).
    unsafe { libc::close(fd) };
}

/// Async-signal-safe: close every descriptor from `first` up with
/// close_range (5.9+), or one by one up to 1024 where it is missing.
pub fn close_range_raw(first: RawFd) {
    // SAFETY: as close_raw: the caller is a fork child that owns nothing.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
    if r != 0 {
        for fd in first..1024 {
            close_raw(fd);
        }
    }
}

/// Async-signal-safe: start a new session (leave the terminal's process
/// group). Fails only for a group leader, which a fork child is not.
pub fn setsid() {
    // SAFETY: setsid takes no arguments.
    unsafe { libc::setsid() };
}

/// Async-signal-safe: wait up to `ms` for `fd` to poll readable (or just
/// sleep, with fd -1). Returns whether it did.
pub fn poll_raw(fd: RawFd, ms: c_int) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd we own; a negative fd is ignored by poll.
    unsafe { libc::poll(&mut p, 1, ms) > 0 }
}

/// Async-signal-safe: rmdir; 0 or the errno.
pub fn rmdir_raw(path: &CStr) -> i32 {
    // SAFETY: `path` is a valid C string for the call.
    if unsafe { libc::rmdir(path.as_ptr()) } == 0 {
        0
    } else {
        errno()
    }
}

/// A pipe whose two ends are CLOEXEC and numbered 10 or above, so that the
/// clone child can dup2 them onto 3 and 4 without clobbering one with the
/// other. Returns (read end, write end).
pub fn pipe_high() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 writes two fds into the array we own.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both fds were just created and are owned by nobody else.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((dup_high(&r)?, dup_high(&w)?))
}

fn dup_high(fd: &OwnedFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new fd that we take ownership of.
    let n = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) })?;
    // SAFETY: `n` is a fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

/// Set or clear FD_CLOEXEC on a descriptor we hold by number.
pub fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    let flags = if on { libc::FD_CLOEXEC } else { 0 };
    // SAFETY: F_SETFD only changes the descriptor's flags.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, flags) }).map(drop)
}

/// Adopt a descriptor by number (the error pipe on fd 3 in the child stage).
/// Fails with EBADF when it is not open.
pub fn adopt_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: the fd is open and, by the stage protocol, owned by nobody else
    // in this process.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The file type bits (S_IFMT) of what a descriptor is open on; None
/// when it is not open.
fn fd_type(fd: RawFd) -> Option<libc::mode_t> {
    // SAFETY: fstat writes into a zeroed stat we own.
    unsafe {
        let mut st: libc::stat = mem::zeroed();
        (libc::fstat(fd, &mut st) == 0).then_some(st.st_mode & libc::S_IFMT)
    }
}

/// Whether a descriptor is open on a directory (O_PATH included).
pub fn is_dir_fd(fd: RawFd) -> bool {
    fd_type(fd) == Some(libc::S_IFDIR)
}

/// Close every descriptor from `first` up. Uses close_range (5.9+) and falls
/// back to closing what /proc/self/fd lists.
pub fn close_from(first: RawFd) -> io::Result<()> {
    // SAFETY: close_range only closes descriptors; no Rust object in this
    // process owns one at or above `first` when this is called.
    let r = unsafe { libc::syscall(libc::SYS_close_range, first as u32, u32::MAX, 0u32) };
    if r == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::ENOSYS) {
        return Err(e);
    }
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= first)
        .collect();
    for fd in fds {
        // SAFETY: as above; EBADF for the directory's own fd is harmless.
        unsafe { libc::close(fd) };
    }
    Ok(())
}

pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty only queries the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

// ---------------------------------------------------------------------------
// Identity

pub fn geteuid() -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::geteuid() }
}

pub fn getegid() -> u32 {
    // SAFETY: always succeeds.
    unsafe { libc::getegid() }
}

/// access(2) with W_OK, checked with the real uid as the kernel would for
/// the caller.
pub fn writable(path: &OsStr) -> bool {
    let Ok(c) = cstr(path) else { return false };
    // SAFETY: `c` is a valid C string for the call's duration.
    unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 }
}

// ---------------------------------------------------------------------------
// Namespaces, mounts, root

pub fn unshare(flags: c_int) -> io::Result<()> {
    // SAFETY: unshare takes only flags.
    cvt(unsafe { libc::unshare(flags) }).map(drop)
}

pub fn sethostname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length describe `name`'s bytes.
    cvt(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) }).map(drop)
}

pub fn mount(
    source: Option<&OsStr>,
    target: &OsStr,
    fstype: Option<&str>,
    flags: c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let source = source.map(cstr).transpose()?;
    let target = cstr(target)?;
    let fstype = fstype.map(cstr).transpose()?;
    let data = data.map(cstr).transpose()?;
    let p = |c: &Option<CString>| c.as_ref().map_or(ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is NULL or a valid C string living across the call.
    cvt(unsafe {
        libc::mount(
            p(&source),
            target.as_ptr(),
            p(&fstype),
            flags,
            p(&data).cast(),
        )
    })
    .map(drop)
}

pub fn umount2(target: &OsStr, flags: c_int) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: `t` is a valid C string.
    cvt(unsafe { libc::umount2(t.as_ptr(), flags) }).map(drop)
}

pub fn pivot_root(new_root: &OsStr, put_old: &OsStr) -> io::Result<()> {
    let n = cstr(new_root)?;
    let o = cstr(put_old)?;
    // SAFETY: both are valid C strings; pivot_root has no libc wrapper.
    cvt(unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) }).map(drop)
}

/// `struct mount_attr` (Linux 5.12). Ref: mount_setattr(2)
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// Set mount attributes on the mount at `path` (and below it with
/// `recursive`). ENOSYS on kernels before 5.12.
pub fn mount_setattr(path: &OsStr, recursive: bool, attr_set: u64) -> io::Result<()> {
    let c = cstr(path)?;
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 } as u32;
    // SAFETY: `c` and `attr` outlive the call and the size passed is attr's.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c.as_ptr(),
            flags,
            &attr as *const MountAttr,
            mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// The mount flags (MS_RDONLY, MS_NOSUID, …) of the mount holding `path`,
/// as statvfs reports them; a remount inside a user namespace must repeat
/// the ones the kernel locked. Ref: mount(2) "EPERM", statvfs(3)
pub fn mount_flags(path: &OsStr) -> io::Result<c_ulong> {
    let c = cstr(path)?;
    // SAFETY: statvfs fills a zeroed struct we own.
    let st = unsafe {
        let mut st: libc::statvfs = mem::zeroed();
        cvt(libc::statvfs(c.as_ptr(), &mut st))?;
        st
    };
    let mut flags = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st.f_flag & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    Ok(flags)
}

/// Bring the loopback interface up: SIOCGIFFLAGS then SIOCSIFFLAGS with
/// IFF_UP, through a throwaway datagram socket. Ref: netdevice(7)
pub fn loopback_up() -> io::Result<()> {
    // SAFETY: socket returns a fresh fd that we own at once.
    let sock = unsafe {
        let fd = cvt(libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            0,
        ))?;
        OwnedFd::from_raw_fd(fd)
    };
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS reads the name and fills ifru_flags in `ifr`.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) })?;
    // SAFETY: the union member was just filled by the kernel as flags.
    unsafe { ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
    // SAFETY: SIOCSIFFLAGS reads `ifr`, which is fully initialised.
    cvt(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) })?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Signals and waiting

fn sigset(signals: &[c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; sigaddset only sets bits and
    // fails only for invalid numbers, which callers never pass.
    unsafe {
        let mut set: libc::sigset_t = mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Block `signals` for this thread (and so for the clone child, which
/// inherits the mask until the child stage clears it).
pub fn block_signals(signals: &[c_int]) -> io::Result<()> {
    let set = sigset(signals);
    // SAFETY: `set` is initialised; the old mask is not wanted.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// Unblock every signal: the mask survives execve, and the command must not
/// start with its signals blocked.
pub fn unblock_all_signals() -> io::Result<()> {
    let set = sigset(&[]);
    // SAFETY: as above.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set, ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// A signalfd for `signals` (which must be blocked). Ref: signalfd(2)
pub fn signalfd(signals: &[c_int]) -> io::Result<OwnedFd> {
    let set = sigset(signals);
    // SAFETY: `set` is initialised; the result is a fresh fd we own.
    let fd = cvt(unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) })?;
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What a signalfd says about one signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigInfo {
    pub signo: c_int,
    /// si_code: SI_USER for kill(2), SI_KERNEL for the terminal's ^C, …
    pub code: c_int,
    /// The sender as this process's PID namespace sees it (0 when the
    /// sender is outside it).
    pub pid: u32,
}

/// Read one pending signal from a signalfd, or `None` when none is pending.
pub fn read_signal(fd: BorrowedFd<'_>) -> io::Result<Option<SigInfo>> {
    // SAFETY: signalfd_siginfo is plain data; zeroed is valid.
    let mut info: libc::signalfd_siginfo = unsafe { mem::zeroed() };
    let size = mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: reads at most `size` bytes into `info`.
    let r = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut info as *mut libc::signalfd_siginfo).cast(),
            size,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(None),
            _ => Err(e),
        };
    }
    Ok(Some(SigInfo {
        signo: info.ssi_signo as c_int,
        code: info.ssi_code,
        pid: info.ssi_pid,
    }))
}

/// The process group of `pid` (0: our own).
pub fn getpgid(pid: pid_t) -> io::Result<pid_t> {
    // SAFETY: getpgid takes a pid.
    cvt(unsafe { libc::getpgid(pid) })
}

/// poll(2) over (fd, events) pairs; returns the revents in the same order.
pub fn poll(fds: &[(BorrowedFd<'_>, i16)], timeout_ms: c_int) -> io::Result<Vec<i16>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, ev)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: *ev,
            revents: 0,
        })
        .collect();
    // SAFETY: the array and its length describe `pfds`.
    match cvt(unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) }) {
        Ok(_) => Ok(pfds.iter().map(|p| p.revents).collect()),
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(vec![0; pfds.len()]),
        Err(e) => Err(e),
    }
}

pub fn kill(pid: pid_t, sig: c_int) -> io::Result<()> {
    // SAFETY: kill takes plain integers.
    cvt(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// How a child ended.
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
    // SAFETY: rusage is plain data; zeroed is valid.
    let mut ru: libc::rusage = unsafe { mem::zeroed() };
    // SAFETY: `status` and `ru` are locals the kernel writes into.
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

/// Reap any one child: (pid, wait status), or `None` when there is no
/// child left, or, without `block`, none has ended yet.
pub fn reap_any(block: bool) -> io::Result<Option<(pid_t, c_int)>> {
    let mut status = 0;
    let flags = if block { 0 } else { libc::WNOHANG };
    // SAFETY: `status` is a local the kernel writes into.
    match cvt_r(|| unsafe { libc::waitpid(-1, &mut status, flags) }) {
        Ok(0) => Ok(None),
        Ok(pid) => Ok(Some((pid, status))),
        Err(e) if e.raw_os_error() == Some(libc::ECHILD) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether a descriptor is open in this process.
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

// ---------------------------------------------------------------------------
// Kernel features (for doctor)

/// seccomp filters usable: SECCOMP_GET_ACTION_AVAIL for SECCOMP_RET_ERRNO.
/// Ref: seccomp(2)
pub fn seccomp_filter_available() -> io::Result<()> {
    const SECCOMP_GET_ACTION_AVAIL: u32 = 2;
    const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
    let action = SECCOMP_RET_ERRNO;
    // SAFETY: the kernel reads one u32 from `action`.
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
    // SAFETY: with the VERSION flag the attr pointer must be NULL and size 0.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    })
}

/// Async-signal-safe: write all of `buf` to a raw fd.
pub fn write_raw(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: writes from a slice we borrow for the call.
        let n = cvt_r(|| unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })?;
        buf = &buf[n as usize..];
    }
    Ok(())
}

pub fn chroot(path: &OsStr) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: `c` is a valid C string.
    cvt(unsafe { libc::chroot(c.as_ptr()) }).map(drop)
}

pub fn fchdir(dir: &OwnedFd) -> io::Result<()> {
    // SAFETY: fchdir takes a descriptor we hold open.
    cvt(unsafe { libc::fchdir(dir.as_raw_fd()) }).map(drop)
}

/// Restore a signal's default disposition.
pub fn default_signal(sig: c_int) -> io::Result<()> {
    // SAFETY: SIG_DFL installs no handler code of ours.
    if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// fork(2) for doctor's probes, the launcher's guard and `--init`: the
/// child may only use what is safe after fork in a single-threaded
/// process (the guard), or execs or lives on as a single thread (init).
pub fn fork() -> io::Result<pid_t> {
    // SAFETY: every caller is single-threaded: doctor, the launcher (which
    // never spawns a thread) and the child stage.
    cvt(unsafe { libc::fork() })
}

// ---------------------------------------------------------------------------
// Privileges

/// prctl(2) with integer arguments only.
fn prctl(option: c_int, arg2: c_ulong) -> io::Result<c_int> {
    // SAFETY: every option used here takes integers, no pointers.
    cvt(unsafe { libc::prctl(option, arg2, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) })
}

/// Remove one capability from the bounding set. Ref: prctl(2) PR_CAPBSET_DROP
pub fn capbset_drop(cap: u32) -> io::Result<()> {
    prctl(libc::PR_CAPBSET_DROP, cap as c_ulong).map(drop)
}

/// Empty the ambient set. Ref: prctl(2) PR_CAP_AMBIENT
pub fn clear_ambient_caps() -> io::Result<()> {
    // SAFETY: integer arguments only.
    cvt(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
        )
    })
    .map(drop)
}

pub fn set_securebits(bits: c_ulong) -> io::Result<()> {
    prctl(libc::PR_SET_SECUREBITS, bits).map(drop)
}

/// Empty the effective, permitted and inheritable sets of this thread.
/// Ref: capget(2), include/uapi/linux/capability.h (version 3: two u32 words)
pub fn clear_caps() -> io::Result<()> {
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
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [Data {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: the header and the two data words are laid out as the kernel's
    // version 3 structures and live for the call.
    cvt(unsafe { libc::syscall(libc::SYS_capset, &mut header as *mut Header, data.as_ptr()) })
        .map(drop)
}

pub fn set_no_new_privs() -> io::Result<()> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1).map(drop)
}

pub fn set_dumpable(on: bool) -> io::Result<()> {
    prctl(libc::PR_SET_DUMPABLE, on as c_ulong).map(drop)
}

/// Whether the kernel started this program in secure-execution mode:
/// setuid, setgid or file capabilities. Ref: getauxval(3) AT_SECURE
pub fn secure_exec() -> bool {
    // SAFETY: getauxval only reads the auxiliary vector.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// (real, effective) uid and gid.
pub fn ids() -> ((u32, u32), (u32, u32)) {
    // SAFETY: these calls always succeed.
    unsafe {
        (
            (libc::getuid(), libc::geteuid()),
            (libc::getgid(), libc::getegid()),
        )
    }
}

// ---------------------------------------------------------------------------
// Walking the new root without leaving it

/// openat(2) of one name in `dir`; with O_CREAT the mode is 0644.
pub fn openat(dir: BorrowedFd<'_>, name: &OsStr, flags: c_int) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: `c` outlives the call.
    let fd = cvt_r(|| unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_CLOEXEC,
            0o644 as libc::c_uint,
        )
    })?;
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn readlinkat(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<std::ffi::OsString> {
    use std::os::unix::ffi::OsStringExt;
    let c = cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the kernel writes at most buf.len() bytes into `buf`.
    let n = cvt(unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    })?;
    buf.truncate(n as usize);
    Ok(std::ffi::OsString::from_vec(buf))
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` outlives the call.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: fstat fills a zeroed stat we own.
    unsafe {
        let mut st: libc::stat = mem::zeroed();
        cvt(libc::fstat(fd.as_raw_fd(), &mut st))?;
        Ok(st)
    }
}

pub fn major_minor(dev: libc::dev_t) -> (u32, u32) {
    (libc::major(dev), libc::minor(dev))
}

// ---------------------------------------------------------------------------
// Resource limits

/// (soft, hard) of one resource. Ref: getrlimit(2)
pub fn getrlimit(resource: u32) -> io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: the kernel fills the rlimit we own.
    cvt(unsafe { libc::getrlimit(resource as _, &mut r) })?;
    Ok((r.rlim_cur, r.rlim_max))
}

pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> io::Result<()> {
    let r = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: the kernel reads the rlimit we own.
    cvt(unsafe { libc::setrlimit(resource as _, &r) }).map(drop)
}
