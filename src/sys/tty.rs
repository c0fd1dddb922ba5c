//! Terminals, ptys and what the stdio relay needs: termios, window size,
//! the controlling terminal, splice, and passing a descriptor over a unix
//! socket (SCM_RIGHTS). Used by launch/relay.rs (the launcher) and launch/stage.rs (the
//! stage that makes the sandbox's pty).

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;

use libc::c_int;

use super::{cstr, cvt, cvt_r};

/// A terminal's settings (struct termios), as plain data.
pub type Termios = libc::termios;

/// A termios's input and output speeds (glibc names them `c_ispeed` and
/// `c_ospeed`, musl `__c_ispeed` and `__c_ospeed`).
pub fn termios_speeds(t: &Termios) -> (u32, u32) {
    #[cfg(target_env = "musl")]
    return (t.__c_ispeed, t.__c_ospeed);
    #[cfg(not(target_env = "musl"))]
    return (t.c_ispeed, t.c_ospeed);
}

/// Set a termios's input and output speeds (see `termios_speeds`).
pub fn set_termios_speeds(t: &mut Termios, ispeed: u32, ospeed: u32) {
    #[cfg(target_env = "musl")]
    {
        t.__c_ispeed = ispeed;
        t.__c_ospeed = ospeed;
    }
    #[cfg(not(target_env = "musl"))]
    {
        t.c_ispeed = ispeed;
        t.c_ospeed = ospeed;
    }
}

/// A window size (struct winsize).
pub type Winsize = libc::winsize;

/// fstat of a descriptor held by number (stdio, which no Rust object owns).
pub fn fstat_raw(fd: RawFd) -> io::Result<libc::stat> {
    // SAFETY: stat is plain integers, so all-zero bytes are a valid value;
    // fstat writes into that local, which outlives the call.
    unsafe {
        let mut st: libc::stat = mem::zeroed();
        cvt(libc::fstat(fd, &mut st))?;
        Ok(st)
    }
}

/// A close-on-exec duplicate of `fd` numbered `HIGH_FD` or above (so the
/// clone child's dup2 onto the low numbers never clobbers it). Shares the
/// open file description: reads, writes and the file offset are the same.
pub fn dup_high_raw(fd: RawFd) -> io::Result<OwnedFd> {
    super::dup_raw_at_least(fd, super::HIGH_FD)
}

/// Set or clear O_NONBLOCK on a descriptor's open file description. Only
/// for descriptions we made ourselves (our pipes, the pty master): the
/// flag is shared with every other holder of the description.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument and only reads the status flags.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: F_SETFL takes an integer and only changes the status flags.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) }).map(drop)
}

/// One read(2) into `buf`; EINTR is retried. Ok(0) is end of file.
pub fn read_some(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the kernel writes at most buf.len() bytes into `buf`, which
    // is borrowed mutably for the call.
    cvt_r(|| unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) })
        .map(|n| n as usize)
}

/// One write(2) from `buf`; EINTR is retried. Returns how much went out.
pub fn write_some(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: the kernel reads at most buf.len() bytes from `buf`, which is
    // borrowed for the call.
    cvt_r(|| unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) })
        .map(|n| n as usize)
}

/// splice(2) up to `len` bytes from `from` to `to` (one must be a pipe),
/// without copying through user memory; SPLICE_F_NONBLOCK makes the pipe
/// side non-blocking. Ok(0) is end of input. Ref: splice(2)
pub fn splice(from: BorrowedFd<'_>, to: BorrowedFd<'_>, len: usize) -> io::Result<usize> {
    // SAFETY: NULL offsets mean "use and advance the file offsets"; only
    // integers are passed otherwise, and no memory of ours is touched.
    cvt_r(|| unsafe {
        libc::splice(
            from.as_raw_fd(),
            ptr::null_mut(),
            to.as_raw_fd(),
            ptr::null_mut(),
            len,
            libc::SPLICE_F_NONBLOCK | libc::SPLICE_F_MOVE,
        )
    })
    .map(|n| n as usize)
}

/// An all-zero termios, for building one field by field.
pub fn termios_default() -> Termios {
    // SAFETY: termios is plain integers and bytes, so all-zero is valid.
    unsafe { mem::zeroed() }
}

/// tcgetattr(3): the settings of the terminal on `fd`.
pub fn tcgetattr(fd: BorrowedFd<'_>) -> io::Result<Termios> {
    // SAFETY: termios is plain integers and bytes, so all-zero is a valid
    // value; tcgetattr writes into that local, which outlives the call.
    unsafe {
        let mut t: Termios = mem::zeroed();
        cvt(libc::tcgetattr(fd.as_raw_fd(), &mut t))?;
        Ok(t)
    }
}

/// tcsetattr(3) with TCSADRAIN: pending output is written first.
pub fn tcsetattr(fd: BorrowedFd<'_>, t: &Termios) -> io::Result<()> {
    // SAFETY: `t` is borrowed for the call and only read.
    cvt_r(|| unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSADRAIN, t) }).map(drop)
}

/// TIOCGWINSZ: the terminal's window size.
pub fn get_winsize(fd: BorrowedFd<'_>) -> io::Result<Winsize> {
    let mut w = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one struct winsize into the local `w`,
    // which outlives the call.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut w) })?;
    Ok(w)
}

/// TIOCSWINSZ: set the window size. On a pty master it sets the replica's,
/// and the kernel sends SIGWINCH to the replica's foreground group when it
/// changed.
pub fn set_winsize(fd: BorrowedFd<'_>, w: &Winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one struct winsize from `w`, borrowed for
    // the call.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, w) }).map(drop)
}

/// TIOCSIG on a pty master: send `sig` to the replica's foreground process
/// group, as if its terminal had generated it (^C, ^\).
pub fn pty_signal(master: BorrowedFd<'_>, sig: c_int) -> io::Result<()> {
    // SAFETY: TIOCSIG takes the signal number as an integer argument.
    cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSIG, sig as libc::c_ulong) }).map(drop)
}

/// Open a new pty master at `ptmx` (the sandbox's own /dev/ptmx), unlock
/// it and open its replica. Returns (master, replica), both close-on-exec
/// and neither made a controlling terminal. Ref: pty(7), ioctl_tty(2)
pub fn open_pty(ptmx: &str) -> io::Result<(OwnedFd, OwnedFd)> {
    let c = cstr(ptmx)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    let m = cvt_r(|| unsafe {
        libc::open(c.as_ptr(), libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC)
    })?;
    // SAFETY: the kernel just created this descriptor; nothing else owns it.
    let master = unsafe { OwnedFd::from_raw_fd(m) };
    let unlock: c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from `unlock`, a local.
    cvt(unsafe { libc::ioctl(m, libc::TIOCSPTLCK, &unlock) })?;
    // TIOCGPTPEER (4.13) opens the replica through the master, with no
    // path lookup; before it, the replica is /dev/pts/N of the same
    // devpts, which the stage just mounted and nothing else can reach.
    // SAFETY: TIOCGPTPEER takes the open flags as an integer argument.
    let r = unsafe {
        libc::ioctl(
            m,
            libc::TIOCGPTPEER,
            (libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) as libc::c_ulong,
        )
    };
    let replica = if r >= 0 {
        // SAFETY: the kernel just created this descriptor; nothing else owns it.
        unsafe { OwnedFd::from_raw_fd(r) }
    } else {
        let mut n: libc::c_uint = 0;
        // SAFETY: TIOCGPTN writes one unsigned int into the local `n`.
        cvt(unsafe { libc::ioctl(m, libc::TIOCGPTN, &mut n) })?;
        let path = cstr(format!("/dev/pts/{n}"))?;
        // SAFETY: `path` is a NUL-terminated string that outlives the call.
        let fd = cvt_r(|| unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: the kernel just created this descriptor; nothing else owns it.
        unsafe { OwnedFd::from_raw_fd(fd) }
    };
    Ok((master, replica))
}

/// The pty number of a replica (its minor: /dev/pts/N).
pub fn pty_number(replica: BorrowedFd<'_>) -> io::Result<u32> {
    let st = super::fstat(replica)?;
    Ok(libc::minor(st.st_rdev))
}

/// TIOCSCTTY: make `fd`'s terminal the controlling terminal of this
/// process's session (it must be a session leader without one).
pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument (0: do not steal).
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0 as libc::c_ulong) }).map(drop)
}

/// A connected pair of unix stream sockets, close-on-exec, numbered
/// `HIGH_FD` or above (see `pipe_high`).
pub fn socketpair_high() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as c_int; 2];
    // SAFETY: socketpair writes two fds into the two-element array we own.
    cvt(unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    })?;
    // SAFETY: the kernel just created both fds; nothing else owns them.
    let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((dup_high_raw(a.as_raw_fd())?, dup_high_raw(b.as_raw_fd())?))
}

/// Room for one descriptor's control message.
#[repr(C)]
union CmsgBuf {
    _align: libc::cmsghdr,
    buf: [u8; 64],
}

/// Send `fd` over the unix socket `sock` (SCM_RIGHTS), with one byte of
/// data (a stream socket carries no message without data).
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut byte = [b'T'];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = CmsgBuf { buf: [0; 64] };
    // SAFETY: msghdr is plain data, so all-zero is valid. The CMSG macros
    // compute offsets inside `cbuf`, which has room for one cmsghdr and one
    // int (CMSG_SPACE(4) is 24 bytes here); every pointer written into the
    // header points at a local that outlives the sendmsg call.
    unsafe {
        let mut msg: libc::msghdr = mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.buf.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE(mem::size_of::<c_int>() as u32) as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(mem::size_of::<c_int>() as u32) as _;
        ptr::write_unaligned(libc::CMSG_DATA(c).cast::<c_int>(), fd.as_raw_fd());
        cvt_r(|| libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)).map(drop)
    }
}

/// Receive one descriptor sent by `send_fd` (close-on-exec). Ok(None) when
/// the peer closed without sending one.
pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<Option<OwnedFd>> {
    let mut byte = [0u8];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = CmsgBuf { buf: [0; 64] };
    // SAFETY: as in send_fd; the kernel writes at most msg_controllen bytes
    // of control data into `cbuf` and one byte into `byte`. Each control
    // header is read within msg_controllen (CMSG_FIRSTHDR/NXTHDR check it),
    // and each descriptor it carries is new to this process, so it is
    // adopted (or closed) exactly once.
    unsafe {
        let mut msg: libc::msghdr = mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.buf.as_mut_ptr().cast();
        msg.msg_controllen = mem::size_of::<CmsgBuf>() as _;
        let n = cvt_r(|| libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC))?;
        let mut got = None;
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<c_int>();
                let count =
                    ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / mem::size_of::<c_int>();
                for i in 0..count {
                    let fd = OwnedFd::from_raw_fd(ptr::read_unaligned(data.add(i)));
                    if got.is_none() {
                        got = Some(fd);
                    }
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        if n == 0 && got.is_none() {
            return Ok(None);
        }
        got.map(Some)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EPROTO))
    }
}

/// Whether `fd` is an anonymous pipe (on pipefs), not a named pipe whose
/// inode lives in a file system on disk: a yes/no query, false on error.
pub fn is_anonymous_pipe(fd: RawFd) -> bool {
    const PIPEFS_MAGIC: libc::c_long = 0x5049_5045;
    // SAFETY: statfs is plain integers, so all-zero bytes are a valid
    // value; fstatfs writes into that local, which outlives the call.
    unsafe {
        let mut st: libc::statfs = mem::zeroed();
        libc::fstatfs(fd, &mut st) == 0 && st.f_type as libc::c_long == PIPEFS_MAGIC
    }
}
