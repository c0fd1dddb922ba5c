//! The only module with `unsafe`: thin wrappers over libc, by topic.
//!
//! Each wrapper turns the C convention (-1 and errno) into `io::Result`
//! through `cvt` (or `cvt_r`, which retries on EINTR), and every raw fd it
//! creates becomes an `OwnedFd` at once. Callers attach the step and path
//! (see `error::Context`). Nothing here decides policy. The few functions
//! that answer a plain yes/no question (`isatty`, `fd_is_open`, …) return
//! `bool` and say so; calls that cannot fail (`geteuid`) return their value.
//!
//! `sigsafe` holds the async-signal-safe subset: the only functions the
//! clone child (before it execs) and the guard process may call. Parent.rs
//! calls them as `sys::sigsafe::…` there, so the boundary shows at the call
//! site; the ones other code uses too are re-exported here. Every other
//! item is re-exported from its topic module, so callers write `sys::name`.

#[cfg(test)]
pub mod alloc_meter;
mod cgroup;
mod fd;
mod memfd;
mod mount;
mod net;
mod ns;
mod oci;
mod privileges;
mod probe;
mod process;
mod seccomp;
mod signal;
pub mod sigsafe;
mod tty;

pub use cgroup::*;
pub use fd::*;
pub use memfd::*;
pub use mount::*;
pub use net::*;
pub use ns::*;
pub use oci::*;
pub use privileges::*;
pub use probe::*;
pub use process::*;
pub use seccomp::*;
pub use signal::*;
pub use sigsafe::{
    close, execve, execveat_fd, exit_now, set_cloexec, set_parent_death_signal, setresgid,
    setresuid, unshare, write_all, CStringArray,
};
pub use tty::*;

use std::ffi::{CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;

/// Map -1 to the thread's errno. (std's `cvt` in `sys/pal/unix/mod.rs`.)
/// Async-signal-safe: reading errno and building an `io::Error` from its
/// number neither allocates nor locks.
fn cvt<T: PartialEq + From<i8>>(r: T) -> io::Result<T> {
    if r == T::from(-1) {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Like `cvt`, retrying on EINTR. Async-signal-safe as `cvt` is.
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
