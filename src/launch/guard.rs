//! The guard, the launcher's watchdog. `Guard` is the launcher's handle on
//! it; `guard_main`, the forked process, is one of the two
//! async-signal-safe zones (clone_child.rs is the other): `sys::sigsafe`
//! calls only.

use std::os::fd::{AsRawFd, OwnedFd};

use libc::{c_int, pid_t};

use crate::error::{Context, Result};
use crate::sys::{self, sigsafe};

/// The launcher's watchdog: a small process of its own that outlives a
/// launcher killed with SIGKILL, then kills the sandbox through a pidfd
/// (so never a process that reused the pid) and removes its cgroup.
/// PR_SET_PDEATHSIG alone is not enough: the command, as PID 1, may clear
/// it (prctl(PR_SET_PDEATHSIG, 0)) or swap it for a signal it ignores, and
/// nothing in the sandbox can reach the guard.
pub(super) struct Guard {
    pid: pid_t,
    /// Its only link to us: EOF means we died; a byte means "done".
    life: OwnedFd,
    /// Whether it leaves as soon as the sandbox has ended (nothing of
    /// ours to clean up after it then).
    leaves_with_sandbox: bool,
}

impl Guard {
    /// `tty`: the caller's terminal and its settings before the run, put
    /// back if the launcher dies while the terminal is raw. `pasta`:
    /// whether a process to kill with the sandbox will follow (`watch`).
    pub(super) fn spawn(
        pidfd: &OwnedFd,
        cgroup: Option<&std::path::Path>,
        tty: Option<(c_int, sys::Termios)>,
        pasta: bool,
    ) -> Result<Guard> {
        // With nothing but the sandbox to see to (no cgroup to remove, no
        // pasta to kill, no terminal to put back), the guard is done when
        // the sandbox is: it leaves then, while we collect the end, rather
        // than when we tell it to (its exit is on our way out otherwise).
        let leaves_with_sandbox = cgroup.is_none() && tty.is_none() && !pasta;
        let cgroup = cgroup
            .map(sys::cstr)
            .transpose()
            .ctx_step("prepare the guard")?;
        let (life_read, life_write) = sys::pipe_high().ctx_step("create the guard's pipe")?;
        let pid = sys::fork().ctx_step("start the guard")?;
        if pid == 0 {
            guard_main(
                life_read.as_raw_fd(),
                pidfd.as_raw_fd(),
                cgroup.as_deref(),
                tty,
                leaves_with_sandbox,
            );
        }
        Ok(Guard {
            pid,
            life: life_write,
            leaves_with_sandbox,
        })
    }

    /// Kill process `pid` too (pasta) if we die. Our unreaped child, so the
    /// pid stays its own until the guard has opened a pidfd for it.
    pub(super) fn watch(&self, pid: pid_t) {
        let mut msg = [b'P', 0, 0, 0, 0];
        msg[1..].copy_from_slice(&pid.to_le_bytes());
        let _ = sys::write_all(self.life.as_raw_fd(), &msg);
    }

    /// We end normally: tell the guard so, and reap it. One that leaves
    /// with the sandbox may be gone already (a write would raise SIGPIPE,
    /// which a library's caller may not ignore): it is only closed on, and
    /// if it still runs it finds the sandbox over and leaves.
    /// Whether it has nothing to clean up after the sandbox (it leaves
    /// when the sandbox has ended).
    pub(super) fn leaves_with_sandbox(&self) -> bool {
        self.leaves_with_sandbox
    }

    /// Let go of it without waiting for its exit (a launcher on its way
    /// out, `Running::wait_for_status`): it sees our end of the pipe close,
    /// signals the sandbox's PID 1, already ending, and leaves; whoever
    /// inherits it reaps it.
    pub(super) fn leave(self) {
        drop(self.life);
    }

    pub(super) fn dismiss(self) {
        if !self.leaves_with_sandbox {
            let _ = sys::write_all(self.life.as_raw_fd(), b"D");
        }
        drop(self.life);
        let _ = sys::waitpid(self.pid, false);
    }
}

/// The guard process. `sys::sigsafe` calls only: it is a fork of the
/// launcher, which may have other threads (a library's caller).
fn guard_main(
    life: c_int,
    pidfd: c_int,
    cgroup: Option<&std::ffi::CStr>,
    tty: Option<(c_int, sys::Termios)>,
    leaves_with_sandbox: bool,
) -> ! {
    // Its own session: the terminal's ^C, ^Z and hangup go to the
    // launcher's process group, not to the guard; a kill of that group
    // misses it too. The signals the launcher blocked stay blocked here.
    let _ = sigsafe::setsid();
    // Keep only the pipe (as 0), the pidfd (as 1) and the caller's
    // terminal when the relay may make it raw (as 2): nothing else of the
    // launcher's, above all not its stdout, which a reader may wait on.
    if sigsafe::dup2(life, 0).is_err() || sigsafe::dup2(pidfd, 1).is_err() {
        sigsafe::exit_now(1);
    }
    let tty = tty.filter(|(fd, _)| sigsafe::dup2(*fd, 2).is_ok());
    let _ = sigsafe::close_range(if tty.is_some() { 3 } else { 2 });
    // A process to kill along with the sandbox (pasta), by pidfd.
    let mut also = -1;
    loop {
        // The sandbox has ended (its PID 1's pidfd polls readable once
        // every process of it is gone) and nothing else needs us.
        if leaves_with_sandbox && matches!(sigsafe::poll_either(0, 1), Ok((false, true))) {
            sigsafe::exit_now(0);
        }
        match sigsafe::read_byte(0) {
            Ok(Some(b'P')) => {
                let mut pid = [0u8; 4];
                for b in &mut pid {
                    *b = match sigsafe::read_byte(0) {
                        Ok(Some(b)) => b,
                        _ => 0,
                    };
                }
                if let Ok(fd) = sigsafe::pidfd_open(pid_t::from_le_bytes(pid)) {
                    also = fd;
                }
            }
            // "Done": the launcher ended normally and has cleaned up.
            Ok(Some(_)) => sigsafe::exit_now(0),
            // EOF: the launcher died without a word.
            _ => break,
        }
    }
    let _ = sigsafe::pidfd_send_signal(1, libc::SIGKILL);
    if also >= 0 {
        let _ = sigsafe::pidfd_send_signal(also, libc::SIGKILL);
    }
    // Its terminal may be raw: put the settings from before the run back.
    if let Some((_, saved)) = &tty {
        let _ = sigsafe::restore_termios(2, saved);
    }
    // Wait for the sandbox to be gone (its pidfd polls readable), then
    // remove its cgroup, which is busy until then.
    let _ = sigsafe::poll(1, 10_000);
    if let Some(dir) = cgroup {
        for _ in 0..100 {
            match sigsafe::rmdir(dir) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {}
                _ => break,
            }
            let _ = sigsafe::poll(-1, 10);
        }
    }
    sigsafe::exit_now(0)
}
