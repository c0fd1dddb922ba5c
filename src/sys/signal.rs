//! Signals: the mask, signalfd, and dispositions.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr;

use libc::c_int;

use super::cvt;

fn sigset(signals: &[c_int]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data, so all-zero bytes are a valid value;
    // sigemptyset initialises the local set and sigaddset only sets bits in
    // it (failing only for invalid numbers, which callers never pass).
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
    // SAFETY: `set` is an initialised local that outlives the call; a NULL
    // old-mask pointer means the old mask is not wanted.
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
    // SAFETY: as in block_signals.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set, ptr::null_mut()) };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(())
}

/// A signalfd for `signals` (which must be blocked). Ref: signalfd(2)
pub fn signalfd(signals: &[c_int]) -> io::Result<OwnedFd> {
    let set = sigset(signals);
    // SAFETY: `set` is an initialised local that outlives the call.
    let fd = cvt(unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) })?;
    // SAFETY: the kernel just created this descriptor; nothing else owns it.
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
    // SAFETY: signalfd_siginfo is plain integers; all-zero bytes are a
    // valid value.
    let mut info: libc::signalfd_siginfo = unsafe { mem::zeroed() };
    let size = mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: the kernel writes at most `size` bytes, the size of `info`,
    // a local that outlives the call.
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

/// Restore a signal's default disposition.
pub fn default_signal(sig: c_int) -> io::Result<()> {
    // SAFETY: SIG_DFL installs no handler code of ours, so no Rust code can
    // run in signal context because of it.
    if unsafe { libc::signal(sig, libc::SIG_DFL) } == libc::SIG_ERR {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
