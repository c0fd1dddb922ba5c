//! Stage 1: the launcher, on the host, as the caller's uid.
//!
//! clone into the new namespaces → write the id maps → release the child
//! with the plan → read its error pipe (EOF means the command was exec'd) →
//! forward signals and wait → turn the end into an exit code.

use std::ffi::CString;
use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use libc::{c_int, pid_t};

use crate::error::{Context, Error, Result, EXIT_SANDBOX};
use crate::idmap::IdMap;
use crate::plan::{self, Plan};
use crate::sys::{self, Exit};

/// The fds the child stage finds its plan (read) and error pipe (write) on.
pub const CHILD_CTL_FD: c_int = 3;
pub const CHILD_ERR_FD: c_int = 4;

/// Signals passed on to the command. SIGINT, SIGTERM and SIGHUP also mean
/// "stop": after `KILL_AFTER` the whole sandbox is killed, because PID 1
/// of a namespace never sees a signal it has no handler for.
/// Ref: pid_namespaces(7), "signals"
const FORWARDED: [c_int; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
];
const KILL_AFTER: Duration = Duration::from_secs(5);

/// A directory as stdin, stdout or stderr would hand the command a way out
/// of its root (fchdir to it, or open /proc/self/fd/N) that no mount can
/// take back. Ref: CVE-2024-21626 for the same hole through a leaked fd
fn check_stdio() -> Result<()> {
    for (fd, name) in [(0, "stdin"), (1, "stdout"), (2, "stderr")] {
        if sys::is_dir_fd(fd) {
            return Err(Error::msg(
                "check stdio",
                format!("{name} (fd {fd}) is a directory, which would let the command reach the host's files through it"),
            )
            .with_hint("redirect it from or to a file, a pipe or /dev/null"));
        }
    }
    Ok(())
}

const USERNS_HINT: &str = "user namespaces look disabled for unprivileged users: check 'sysctl user.max_user_namespaces' (must be > 0), 'sysctl kernel.unprivileged_userns_clone' (Debian/Ubuntu kernels: must be 1) and 'sysctl kernel.apparmor_restrict_unprivileged_userns' (Ubuntu 23.10+: must be 0); 'sandbox doctor' checks this";

pub fn run(plan: &Plan) -> Result<u8> {
    // ---- Parent, on the host, unprivileged ----
    check_stdio()?;
    if !plan.seccomp {
        eprintln!(
            "sandbox: warning: --seccomp off: the command runs without the default seccomp filter"
        );
    }

    // Everything the clone child needs is allocated now: after clone it may
    // only make async-signal-safe calls (see `child_after_clone`).
    let exe = c"/proc/self/exe";
    let argv0 = CString::new("sandbox").unwrap();
    let argv1 = CString::new("child").unwrap();
    let argv = [argv0.as_ptr(), argv1.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null()];
    // The report for a failed exec of the child stage, encoded now; the
    // clone child only patches the errno into it (no allocation there).
    let mut exec_report = plan::encode_error(&Error::errno(
        "exec the child stage",
        Some("/proc/self/exe".into()),
        0,
    ));
    let errno_at = exec_report.len() - 2 - 4;

    let (ctl_read, ctl_write) = sys::pipe_high().ctx_step("create the control pipe")?;
    let (err_read, err_write) = sys::pipe_high().ctx_step("create the error pipe")?;

    // Block the signals we handle before clone, so none is lost between
    // clone and the wait loop; the child stage unblocks them before exec.
    let mut handled = FORWARDED.to_vec();
    handled.push(libc::SIGCHLD);
    sys::block_signals(&handled).ctx_step("block signals")?;
    let sigfd = sys::signalfd(&handled).ctx_step("create the signal fd")?;

    let mut flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP;
    if !plan.share_net {
        flags |= libc::CLONE_NEWNET;
    }
    let pid = sys::clone_namespaces(flags as u64).map_err(clone_error)?;
    if pid == 0 {
        let report = ExecReport {
            buf: &mut exec_report,
            errno_at,
        };
        child_after_clone(&ctl_read, &err_write, exe, &argv, &envp, report);
    }

    // ---- Parent, after clone ----
    // The child's ends, closed by name: the error pipe reads EOF only when
    // every write end is gone.
    drop(ctl_read);
    drop(err_write);

    if let Err(e) = write_id_maps(pid) {
        // Closing the control pipe without the release byte ends the child.
        drop(ctl_write);
        let _ = sys::waitpid(pid, false);
        return Err(e);
    }

    // Release byte, then the plan (length-prefixed). The clone child reads
    // only the release byte; the child stage reads the plan after its exec,
    // so a plan larger than the pipe buffer cannot deadlock.
    let body = plan.encode();
    let mut msg = Vec::with_capacity(5 + body.len());
    msg.push(1u8);
    msg.extend_from_slice(&(body.len() as u32).to_le_bytes());
    msg.extend_from_slice(&body);
    let mut ctl_write = fs::File::from(ctl_write);
    let sent = ctl_write.write_all(&msg);
    drop(ctl_write);
    if let Err(e) = sent {
        // EPIPE: the child died before reading; its status says why.
        if e.raw_os_error() != Some(libc::EPIPE) {
            let _ = sys::kill(pid, libc::SIGKILL);
            let _ = sys::waitpid(pid, false);
            return Err(e).ctx_step("send the plan to the child");
        }
    }

    let mut sup = Supervisor {
        pid,
        stop_deadline: None,
    };
    let (exit, report) = sup.wait(fs::File::from(err_read), &sigfd)?;
    if let Some(e) = report {
        return Err(e);
    }
    Ok(match exit {
        Exit::Code(c) => c as u8,
        Exit::Signal(s) => 128u8.wrapping_add(s as u8),
    })
}

/// A pre-encoded error report with a slot for the errno.
struct ExecReport<'a> {
    buf: &'a mut [u8],
    errno_at: usize,
}

/// The clone child: PID 1 of the new namespaces, still running the
/// launcher's image, until it execs `/proc/self/exe child`.
///
/// Only async-signal-safe calls: the parent's heap and locks are a copy of
/// a moment we do not control.
fn child_after_clone(
    ctl_read: &OwnedFd,
    err_write: &OwnedFd,
    exe: &std::ffi::CStr,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
    report: ExecReport<'_>,
) -> ! {
    // ---- Clone child, PID 1 in the new namespaces, uid not yet mapped ----
    // Arm the death signal before waiting: if the parent is already gone the
    // read below sees EOF (the parent's write end closed) and we leave, so
    // no window exists in which the parent dies unnoticed.
    if sys::set_parent_death_signal(libc::SIGKILL).is_err() {
        sys::exit_now(EXIT_SANDBOX as i32);
    }
    // Wait for the release byte: the maps must be written before we exec, or
    // the exec of an unmapped uid drops every capability (DESIGN.md).
    match sys::read_byte(ctl_read.as_raw_fd()) {
        Ok(Some(1)) => {}
        _ => sys::exit_now(EXIT_SANDBOX as i32),
    }
    // Put the pipes on the fixed numbers the child stage expects. Both are
    // >= 10 (pipe_high), so neither dup2 clobbers the other's source; the
    // copies are not CLOEXEC, so they survive the exec.
    if sys::dup2(ctl_read.as_raw_fd(), CHILD_CTL_FD).is_err()
        || sys::dup2(err_write.as_raw_fd(), CHILD_ERR_FD).is_err()
    {
        sys::exit_now(EXIT_SANDBOX as i32);
    }
    let errno = sys::execve(exe, argv, envp);
    report.buf[report.errno_at..report.errno_at + 4].copy_from_slice(&(errno as u32).to_le_bytes());
    let _ = sys::write_raw(err_write.as_raw_fd(), report.buf);
    sys::exit_now(EXIT_SANDBOX as i32)
}

/// uid_map, then "deny" to setgroups, then gid_map.
///
/// setgroups must be denied before an unprivileged process may write
/// gid_map, or a user could drop supplementary groups that deny it access.
/// Ref: CVE-2014-8989, user_namespaces(7) "/proc/[pid]/setgroups"
fn write_id_maps(pid: pid_t) -> Result<()> {
    let uid_line = IdMap::single(0, sys::geteuid()).to_string();
    let gid_line = IdMap::single(0, sys::getegid()).to_string();
    let write = |file: &str, data: &str| -> Result<()> {
        let path = format!("/proc/{pid}/{file}");
        fs::write(&path, data)
            .ctx(&format!("write {file}"), &path)
            .map_err(|e| {
                if e.raw_errno() == Some(libc::EPERM) {
                    e.with_hint(USERNS_HINT)
                } else {
                    e
                }
            })
    };
    write("uid_map", &uid_line)?;
    match write("setgroups", "deny") {
        // Kernels before 3.19 have no setgroups file and no such hole.
        Err(e) if e.raw_errno() == Some(libc::ENOENT) => {}
        other => other?,
    }
    write("gid_map", &gid_line)
}

fn clone_error(e: std::io::Error) -> Error {
    let err = Err::<(), _>(e)
        .ctx_step("create namespaces (clone)")
        .unwrap_err();
    match err.raw_errno() {
        Some(libc::EPERM) | Some(libc::ENOSPC) | Some(libc::EUSERS) | Some(libc::EINVAL) => {
            err.with_hint(USERNS_HINT)
        }
        _ => err,
    }
}

struct Supervisor {
    pid: pid_t,
    /// Set once we were asked to stop: when to SIGKILL.
    stop_deadline: Option<Instant>,
}

impl Supervisor {
    /// Wait for the child to end, forwarding signals. Returns how it ended
    /// and the error it reported before exec, if any.
    fn wait(&mut self, mut err_read: fs::File, sigfd: &OwnedFd) -> Result<(Exit, Option<Error>)> {
        let mut report = Vec::new();
        let mut err_open = true;
        loop {
            let timeout = match self.stop_deadline {
                None => -1,
                Some(d) => d
                    .saturating_duration_since(Instant::now())
                    .as_millis()
                    .min(i32::MAX as u128) as c_int,
            };
            let mut fds = vec![(sigfd.as_fd(), libc::POLLIN)];
            if err_open {
                fds.push((err_read.as_fd(), libc::POLLIN));
            }
            let rev = sys::poll(&fds, timeout).ctx_step("wait for the sandbox")?;
            if err_open && rev[1] != 0 {
                let mut buf = [0u8; 4096];
                match err_read.read(&mut buf) {
                    Ok(0) => err_open = false,
                    Ok(n) => report.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e).ctx_step("read the error pipe"),
                }
            }
            if rev[0] != 0 {
                while let Some(sig) = sys::read_signal(sigfd.as_fd()).ctx_step("read signals")? {
                    if sig == libc::SIGCHLD {
                        continue;
                    }
                    self.forward(sig);
                }
            }
            if let Some(d) = self.stop_deadline {
                if Instant::now() >= d {
                    // Killing PID 1 of the namespace kills every process in it.
                    let _ = sys::kill(self.pid, libc::SIGKILL);
                    self.stop_deadline = None;
                }
            }
            if let Some(exit) = sys::waitpid(self.pid, true).ctx_step("wait for the sandbox")? {
                // The child is gone: every write end of the error pipe is
                // closed, so this read ends.
                if err_open {
                    let _ = err_read.read_to_end(&mut report);
                }
                let err = if report.is_empty() {
                    None
                } else {
                    Some(plan::decode_error(&report).unwrap_or_else(|m| {
                        Error::msg("child stage", format!("unreadable error report: {m}"))
                    }))
                };
                return Ok((exit, err));
            }
        }
    }

    fn forward(&mut self, sig: c_int) {
        let _ = sys::kill(self.pid, sig);
        if matches!(sig, libc::SIGINT | libc::SIGTERM | libc::SIGHUP) {
            match self.stop_deadline {
                // A second stop request does not wait again.
                Some(_) => {
                    let _ = sys::kill(self.pid, libc::SIGKILL);
                }
                None => self.stop_deadline = Some(Instant::now() + KILL_AFTER),
            }
        }
    }
}
