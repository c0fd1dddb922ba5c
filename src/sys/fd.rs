//! File descriptors: pipes, adopting and closing by number, what an fd is
//! open on, poll, and the *at calls that walk the new root without leaving
//! it.

use std::ffi::{OsStr, OsString};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;

use libc::c_int;

use super::{cstr, cvt, cvt_r, sigsafe};

/// The lowest number above every fixed descriptor of the child stage's
/// (channel.rs: 3 to 11): the launcher keeps what it hands the clone
/// child at this number or above, so the clone child's dup2 onto the
/// fixed numbers clobbers none of it.
pub const HIGH_FD: RawFd = 12;

/// A pipe whose two ends are CLOEXEC and numbered `HIGH_FD` or above, so
/// that the clone child can dup2 its ends onto the low fixed numbers the
/// child stage expects (the report pipe's write end onto 3, the control
/// pipe's read end onto 4; channel.rs) without clobbering one with the
/// other. Returns (read end, write end).
pub fn pipe_high() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: pipe2 writes two fds into the two-element array we own.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: the kernel just created both fds; nothing else owns them.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((dup_high(&r)?, dup_high(&w)?))
}

fn dup_high(fd: &OwnedFd) -> io::Result<OwnedFd> {
    dup_raw_at_least(fd.as_raw_fd(), HIGH_FD)
}

/// A close-on-exec duplicate, numbered `min` or above, of a descriptor
/// held by number (the child stage's report pipe on `REPORT_FD`).
pub fn dup_raw_at_least(fd: RawFd, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an integer (the lowest number wanted)
    // and only changes the descriptor table; an fd that is not open fails
    // with EBADF.
    let n = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: `n` is the new descriptor just made; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

/// The descriptors above 2 that this process holds without close-on-exec,
/// in order: what it inherited at its exec and will pass on at the next
/// one (everything Rust's std and this crate open is close-on-exec).
/// Read from /proc/self/fd, whose own descriptor is close-on-exec.
pub fn inherited_fds() -> io::Result<Vec<RawFd>> {
    let mut fds: Vec<RawFd> = Vec::new();
    for d in std::fs::read_dir("/proc/self/fd")? {
        let Some(fd) = d?.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        // SAFETY: F_GETFD takes no argument and only reads the fd's flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if fd > 2 && flags >= 0 && flags & libc::FD_CLOEXEC == 0 {
            fds.push(fd);
        }
    }
    fds.sort_unstable();
    Ok(fds)
}

/// An O_PATH descriptor for `path` (plus `flags`), close-on-exec. Not
/// through std's OpenOptions: on musl, std masks custom flags with
/// O_ACCMODE, which there includes O_PATH (as O_SEARCH), so the flag is
/// dropped and the file is really opened. Ref: open(2) "O_PATH"
pub fn open_path(path: &std::path::Path, flags: c_int) -> io::Result<OwnedFd> {
    let c = cstr(path)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call; open
    // reads only it.
    let fd = cvt_r(|| unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC | flags) })?;
    // SAFETY: the kernel just made this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Adopt a descriptor by number (the child stage's pipes on fds 3 and 4,
/// channel.rs). Fails with EBADF when it is not open.
pub fn adopt_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD takes no argument and only reads the fd's flags.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: the fd is open and, by the stage protocol, owned by nobody else
    // in this process.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A close-on-exec copy, numbered `HIGH_FD` or above, of a descriptor the caller
/// handed over by number (the bwrap front end's `--userns FD` & co.):
/// the original stays as it is; EBADF when it is not open.
pub fn dup_passed(fd: RawFd) -> io::Result<OwnedFd> {
    dup_raw_at_least(fd, HIGH_FD)
}

/// Whether a descriptor is open in this process: a yes/no query (F_GETFD
/// fails only with EBADF).
pub fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD takes no argument and only reads the fd's flags.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// The file type bits (S_IFMT) of what a descriptor is open on.
fn fd_type(fd: RawFd) -> io::Result<libc::mode_t> {
    // SAFETY: stat is plain integers, so all-zero bytes are a valid value;
    // fstat writes into that local, which outlives the call.
    let st = unsafe {
        let mut st: libc::stat = mem::zeroed();
        cvt(libc::fstat(fd, &mut st))?;
        st
    };
    Ok(st.st_mode & libc::S_IFMT)
}

/// Whether a descriptor is open on a directory (O_PATH included): a yes/no
/// query, false also when `fd` is not open.
pub fn is_dir_fd(fd: RawFd) -> bool {
    matches!(fd_type(fd), Ok(libc::S_IFDIR))
}

/// Whether a descriptor is a terminal: a yes/no query, false also when it
/// is not open.
pub fn isatty(fd: RawFd) -> bool {
    // SAFETY: isatty takes an integer and only queries the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// Close every descriptor from `first` up but those in `keep`: close_range
/// (5.9+) over the gaps between them, else what /proc/self/fd lists.
pub fn close_from_except(first: RawFd, keep: &[RawFd]) -> io::Result<()> {
    let mut kept: Vec<RawFd> = keep.iter().copied().filter(|&k| k >= first).collect();
    kept.sort_unstable();
    kept.dedup();
    let mut lo = first as u32;
    let mut ranges = Vec::with_capacity(kept.len() + 1);
    for k in &kept {
        if (*k as u32) > lo {
            ranges.push((lo, *k as u32 - 1));
        }
        lo = *k as u32 + 1;
    }
    ranges.push((lo, u32::MAX));
    for (lo, hi) in ranges {
        // SAFETY: close_range takes integers and only changes the
        // descriptor table; no Rust object in this process owns a
        // descriptor in the ranges closed (the caller's protocol: it keeps
        // what it still uses).
        let r = unsafe { libc::syscall(libc::SYS_close_range, lo, hi, 0u32) };
        if r == 0 {
            continue;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOSYS) {
            return Err(e);
        }
        let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")?
            .filter_map(|d| d.ok()?.file_name().to_str()?.parse().ok())
            .filter(|&fd| fd >= first && !kept.contains(&fd))
            .collect();
        for fd in fds {
            // As above; EBADF for the directory's own fd, closed by now, is
            // harmless.
            let _ = sigsafe::close(fd);
        }
        return Ok(());
    }
    Ok(())
}

/// poll(2) over (fd, events) pairs; returns the revents in the same order.
/// EINTR counts as "nothing happened" (all zero).
pub fn poll(fds: &[(BorrowedFd<'_>, i16)], timeout_ms: c_int) -> io::Result<Vec<i16>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|(fd, ev)| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: *ev,
            revents: 0,
        })
        .collect();
    // SAFETY: the pointer and length describe `pfds`, which outlives the
    // call; the kernel writes only the revents fields.
    match cvt(unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) }) {
        Ok(_) => Ok(pfds.iter().map(|p| p.revents).collect()),
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(vec![0; pfds.len()]),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// Walking the new root without leaving it

/// openat(2) of one name in `dir`; with O_CREAT the mode is 0644.
pub fn openat(dir: BorrowedFd<'_>, name: &OsStr, flags: c_int) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call; the
    // mode is passed as the variadic unsigned int openat reads with O_CREAT.
    let fd = cvt_r(|| unsafe {
        libc::openat(
            dir.as_raw_fd(),
            c.as_ptr(),
            flags | libc::O_CLOEXEC,
            0o644 as libc::c_uint,
        )
    })?;
    // SAFETY: the kernel just created this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn readlinkat(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OsString> {
    let c = cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `c` is a NUL-terminated string; the kernel writes at most
    // buf.len() bytes into `buf`; both outlive the call.
    let n = cvt(unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    })?;
    buf.truncate(n as usize);
    Ok(OsString::from_vec(buf))
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    // SAFETY: stat is plain integers, so all-zero bytes are a valid value;
    // fstat writes into that local, which outlives the call.
    unsafe {
        let mut st: libc::stat = mem::zeroed();
        cvt(libc::fstat(fd.as_raw_fd(), &mut st))?;
        Ok(st)
    }
}

/// A device number's (major, minor).
pub fn major_minor(dev: libc::dev_t) -> (u32, u32) {
    (libc::major(dev), libc::minor(dev))
}

/// mknodat(2): a node named `name` in `dir` (`mode` holds its type bits).
pub fn mknodat(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    mode: u32,
    major: u32,
    minor: u32,
) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call; the
    // other arguments are integers.
    cvt(unsafe {
        libc::mknodat(
            dir.as_raw_fd(),
            c.as_ptr(),
            mode as libc::mode_t,
            libc::makedev(major, minor),
        )
    })
    .map(drop)
}

/// symlinkat(2): a link `name` in `dir`, pointing at `to`.
pub fn symlinkat(to: &OsStr, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let t = cstr(to)?;
    let c = cstr(name)?;
    // SAFETY: both are NUL-terminated strings that outlive the call.
    cvt(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), c.as_ptr()) }).map(drop)
}

/// unlinkat(2) of a non-directory `name` in `dir`.
pub fn unlinkat(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), c.as_ptr(), 0) }).map(drop)
}

/// The owner of what `fd` is open on (an O_PATH fd too): fchownat with
/// AT_EMPTY_PATH, which never follows a link.
pub fn fchown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: the empty string is a static NUL-terminated literal; the
    // other arguments are integers.
    cvt(unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            uid,
            gid,
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}

/// A whole-file read lock (fcntl F_SETLK, F_RDLCK), failing with EAGAIN
/// when a writer holds it: bubblewrap's `--lock-file`. Released when the
/// process closes any descriptor of the file or ends.
pub fn lock_shared(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: flock is plain integers, so all-zero bytes are a valid value
    // (start 0, len 0: the whole file).
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_RDLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: F_SETLK reads the flock we own, which outlives the call.
    cvt_r(|| unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETLK, &fl as *const libc::flock) })
        .map(drop)
}

/// A file's contents read from a descriptor the caller passed by number
/// (bwrap's `--file FD`, `--args FD`), which is then closed: the
/// descriptor is the caller's to give away.
pub fn read_passed_fd(fd: RawFd) -> io::Result<Vec<u8>> {
    use std::io::Read;
    // SAFETY: F_GETFD takes no argument and only reads the fd's flags.
    cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: the caller handed this descriptor over on the command line;
    // nothing else in this process owns it.
    let mut f = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mut out = Vec::new();
    f.read_to_end(&mut out)?;
    Ok(out)
}
