//! Stage 1: the launcher, on the host, as the caller's uid.
//!
//! clone into the new namespaces → write the id maps → release the child
//! (which runs the child stage, child.rs, without an exec of its own) →
//! read its error pipe (EOF means the command was exec'd) → forward
//! signals and wait → turn the end into an exit code.

use std::fs;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use libc::{c_int, pid_t};

use crate::cgroup::Cgroup;
use crate::error::{Context, Error, Result, EXIT_SANDBOX};
use crate::idmap::IdMap;
use crate::limits;
use crate::plan::{self, Plan};
use crate::status::{self, Report};
use crate::sys::{self, sigsafe, Exit};

/// GNU timeout's status for "the time ran out".
pub const EXIT_TIMEOUT: u8 = 124;

/// The fd the child stage writes its error reports to: the write end of
/// the error pipe, moved there so that everything above it can be closed.
pub const CHILD_ERR_FD: c_int = 3;

/// What the launcher, and --init's init, block and read from a signalfd:
/// the signals passed on to the command, and SIGCHLD. SIGINT, SIGTERM and
/// SIGHUP sent to the launcher also mean "stop": after `--kill-after` the
/// whole sandbox is killed, because PID 1 of a namespace never sees a
/// signal it has no handler for.
/// Ref: pid_namespaces(7), "signals"
pub const HANDLED: [c_int; 8] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGWINCH,
    libc::SIGCHLD,
];

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

/// `--status-file` / `--status-fd`: where the JSON goes, opened (or
/// checked) before anything runs, so a bad path fails the run up front.
enum StatusSink {
    File(fs::File, String),
    Fd(i32),
}

impl StatusSink {
    fn open(plan: &Plan) -> Result<Vec<StatusSink>> {
        let mut sinks = Vec::new();
        if let Some(p) = &plan.status_file {
            let f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(p)
                .ctx("open the status file", p.display())?;
            sinks.push(StatusSink::File(f, p.display().to_string()));
        }
        if let Some(n) = plan.status_fd {
            if !sys::fd_is_open(n) {
                return Err(
                    Error::errno("--status-fd", Some(format!("fd {n}")), libc::EBADF).with_hint(
                        "open it in the calling shell, e.g. 'sandbox run --status-fd 3 … 3>status.json'",
                    ),
                );
            }
            sinks.push(StatusSink::Fd(n));
        }
        Ok(sinks)
    }

    fn write(self, json: &str) {
        let line = format!("{json}\n");
        let (r, shown) = match self {
            StatusSink::File(mut f, path) => (f.write_all(line.as_bytes()), path),
            StatusSink::Fd(n) => (sys::write_all(n, line.as_bytes()), format!("fd {n}")),
        };
        if let Err(e) = r.ctx("write the status", shown) {
            e.report();
        }
    }
}

pub fn run(plan: &Plan) -> Result<u8> {
    let sinks = StatusSink::open(plan)?;
    let started = Instant::now();
    let mut report = Report::default();
    let result = launch(plan, &mut report);
    report.wall = started.elapsed();
    match &result {
        Ok(code) => report.status = *code,
        Err(e) => {
            report.status = e.exit;
            report.error = Some(e.to_string());
        }
    }
    if !sinks.is_empty() {
        let json = report.json();
        for s in sinks {
            s.write(&json);
        }
    }
    if plan.verbose && result.is_ok() {
        eprintln!("{}", report.line());
    }
    result
}

/// Everything between the checks and the end: clone, release, supervise,
/// collect. Fills in `report` with what it learns.
fn launch(plan: &Plan, report: &mut Report) -> Result<u8> {
    // ---- Parent, on the host, unprivileged ----
    check_stdio()?;
    if !plan.seccomp {
        eprintln!(
            "sandbox: warning: --seccomp off: the command runs without the default seccomp filter"
        );
    }
    // Made (and its limits written) before the sandbox exists; removed once
    // the sandbox has ended, or when dropped on an early error.
    let cgroup = if plan.cgroup.any() {
        Some(Cgroup::create(&plan.cgroup)?)
    } else {
        None
    };

    // The clone child's one possible failure before the release, encoded
    // now: until then it only patches the errno in (no allocation there).
    let mut net_report = ChildReport::new(
        "create the network namespace (unshare)",
        None,
        Some("check 'sysctl user.max_net_namespaces' (must be > 0), or run with --share-net"),
    );

    let (ctl_read, ctl_write) = sys::pipe_high().ctx_step("create the control pipe")?;
    let (err_read, err_write) = sys::pipe_high().ctx_step("create the error pipe")?;

    // Block the signals we handle before clone, so none is lost between
    // clone and the wait loop; the child stage unblocks them before exec.
    sys::block_signals(&HANDLED).ctx_step("block signals")?;
    let sigfd = sys::signalfd(&HANDLED).ctx_step("create the signal fd")?;

    // No CLONE_NEWNET here: a network namespace is the slow one to make
    // (a third of a millisecond), so the clone child makes it itself while
    // we fork the guard and write its id maps.
    let flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP;
    assert_single_threaded();
    let (pid, in_cgroup) =
        sys::clone_namespaces(flags as u64, cgroup.as_ref().map(|c| c.fd.as_fd()))
            .map_err(clone_error)?;
    if pid == 0 {
        let fds = CloneFds {
            ctl_read: ctl_read.as_raw_fd(),
            ctl_write: ctl_write.as_raw_fd(),
            err_read: err_read.as_raw_fd(),
            err_write: err_write.as_raw_fd(),
        };
        let net = (!plan.share_net).then_some(&mut net_report);
        child_after_clone(fds, net, plan);
    }

    // ---- Parent, after clone ----
    // The child's ends, closed by name: the error pipe reads EOF only when
    // every write end is gone.
    drop(ctl_read);
    drop(err_write);
    // Until the release byte is sent, giving up here ends the child: it
    // reads EOF on the control pipe, or dies of the SIGKILL.
    // A clone child that failed on its own first (making its network
    // namespace) said why on the error pipe: that is the cause, and our
    // own failure (its maps can no longer be written) only follows from it.
    let abort = |e: Error| {
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = sys::waitpid(pid, false);
        let mut said = Vec::new();
        if let Ok(fd) = err_read.try_clone() {
            let _ = fs::File::from(fd).read_to_end(&mut said);
        }
        Err(plan::decode_reports(&said)
            .ok()
            .and_then(|r| r.error)
            .unwrap_or(e))
    };
    if let (Some(cg), false) = (&cgroup, in_cgroup) {
        // No CLONE_INTO_CGROUP (kernel < 5.7): the child has not run
        // anything of ours yet (it waits for the release byte), so moving
        // it now still places it before the command.
        if let Err(e) = cg.place(pid) {
            return abort(e);
        }
    }
    let guard = match Guard::spawn(pid, cgroup.as_ref().map(|c| c.dir())) {
        Ok(g) => g,
        Err(e) => return abort(e),
    };
    if let Err(e) = write_id_maps(pid) {
        return abort(e);
    }

    // The release byte. The clone child has the plan already: it is a copy
    // of this process, and runs the child stage from that copy.
    let sent = sys::write_all(ctl_write.as_raw_fd(), &[1u8]);
    drop(ctl_write);
    if let Err(e) = sent {
        // EPIPE: the child died before reading; its status says why.
        if e.raw_os_error() != Some(libc::EPIPE) {
            return abort(Err::<(), _>(e).ctx_step("release the child").unwrap_err());
        }
    }

    let mut sup = Supervisor {
        pid,
        kill_after: plan.kill_after,
        timeout_at: plan.timeout.map(|t| Instant::now() + t),
        kill_at: None,
        timed_out: false,
        stopped_by: None,
        killed: false,
    };
    let (ended, reports) = sup.wait(fs::File::from(err_read), &sigfd)?;
    let usage = cgroup.as_ref().map(|c| c.usage());
    if let Some(mut cg) = cgroup {
        if let Err(e) = cg.remove() {
            e.report();
        }
    }
    if let Some(g) = guard {
        g.dismiss();
    }

    report.timed_out = sup.timed_out;
    report.stopped_by = sup.stopped_by;
    report.killed_after_grace = sup.killed;
    // The cgroup counts every process of the sandbox, reaped or not.
    report.user = usage.as_ref().and_then(|u| u.user).or(Some(ended.user));
    report.system = usage.as_ref().and_then(|u| u.system).or(Some(ended.system));
    match usage.as_ref().and_then(|u| u.peak_memory) {
        Some(p) => {
            report.peak_memory = Some(p);
            report.peak_memory_source = Some("cgroup");
        }
        None => {
            report.peak_memory = Some(ended.max_rss_bytes);
            report.peak_memory_source = Some("process");
        }
    }
    if let Some(e) = reports.error {
        return Err(e);
    }
    // Under --init, PID 1 is our init and the command's own end came over
    // the error pipe.
    let exit = reports
        .status
        .and_then(Exit::from_status)
        .unwrap_or(ended.exit);
    report.exit = Some(exit);
    report.oom_killed = usage.as_ref().is_some_and(|u| u.oom_kills > 0);
    report.limits_hit = status::limits_hit(
        Some(exit),
        sup.timed_out,
        &plan.limits,
        usage.as_ref(),
        Some(ended.user + ended.system),
    );
    if sup.timed_out {
        let t = plan.timeout.map(limits::show_duration).unwrap_or_default();
        if sup.killed {
            eprintln!(
                "sandbox: timed out after {t} s; killed the sandbox after the {} s grace period",
                limits::show_duration(plan.kill_after)
            );
        } else {
            eprintln!("sandbox: timed out after {t} s; the command ended on SIGTERM");
        }
        return Ok(EXIT_TIMEOUT);
    }
    if report.oom_killed {
        eprintln!(
            "sandbox: the sandbox reached its --memory limit and the kernel killed a process in it"
        );
    }
    Ok(match exit {
        Exit::Code(c) => c as u8,
        Exit::Signal(s) => 128u8.wrapping_add(s as u8),
    })
}

/// The launcher's watchdog: a small process of its own that outlives a
/// launcher killed with SIGKILL, then kills the sandbox through a pidfd
/// (so never a process that reused the pid) and removes its cgroup.
/// PR_SET_PDEATHSIG alone is not enough: the command, as PID 1, may clear
/// it (prctl(PR_SET_PDEATHSIG, 0)) or swap it for a signal it ignores, and
/// nothing in the sandbox can reach the guard.
struct Guard {
    pid: pid_t,
    /// Its only link to us: EOF means we died; a byte means "done".
    life: OwnedFd,
}

impl Guard {
    /// `None` on kernels without pidfds (< 5.3): PR_SET_PDEATHSIG is then
    /// the only defence, as docs/SUPERVISION.md says.
    fn spawn(sandbox: pid_t, cgroup: Option<&std::path::Path>) -> Result<Option<Guard>> {
        let pidfd = match sys::pidfd_open(sandbox) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => return Ok(None),
            Err(e) => return Err(e).ctx_step("open a pidfd for the sandbox"),
        };
        let cgroup = cgroup
            .map(sys::cstr)
            .transpose()
            .ctx_step("prepare the guard")?;
        let (life_read, life_write) = sys::pipe_high().ctx_step("create the guard's pipe")?;
        let pid = sys::fork().ctx_step("start the guard")?;
        if pid == 0 {
            guard_main(life_read.as_raw_fd(), pidfd.as_raw_fd(), cgroup.as_deref());
        }
        Ok(Some(Guard {
            pid,
            life: life_write,
        }))
    }

    /// We end normally: tell the guard so, and reap it.
    fn dismiss(self) {
        let _ = sys::write_all(self.life.as_raw_fd(), b"D");
        drop(self.life);
        let _ = sys::waitpid(self.pid, false);
    }
}

/// The guard process. `sys::sigsafe` calls only: it is a fork of the
/// launcher.
fn guard_main(life: c_int, pidfd: c_int, cgroup: Option<&std::ffi::CStr>) -> ! {
    // Its own session: the terminal's ^C, ^Z and hangup go to the
    // launcher's process group, not to the guard; a kill of that group
    // misses it too. The signals the launcher blocked stay blocked here.
    let _ = sigsafe::setsid();
    // Keep only the pipe (as 0) and the pidfd (as 1): nothing else of the
    // launcher's, above all not its stdout, which a reader may wait on.
    if sigsafe::dup2(life, 0).is_err() || sigsafe::dup2(pidfd, 1).is_err() {
        sigsafe::exit_now(1);
    }
    let _ = sigsafe::close_range(2);
    if let Ok(Some(_)) = sigsafe::read_byte(0) {
        // The launcher ended normally and has cleaned up.
        sigsafe::exit_now(0);
    }
    // EOF: the launcher died without a word.
    let _ = sigsafe::pidfd_send_signal(1, libc::SIGKILL);
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

/// An error report framed for the error pipe, with room for the errno the
/// clone child fills in.
struct ChildReport {
    buf: Vec<u8>,
    errno_at: usize,
}

impl ChildReport {
    /// `step` failing with errno `0` for now; the slot is where the
    /// encodings with two different errnos differ.
    fn new(step: &str, path: Option<&str>, hint: Option<&str>) -> ChildReport {
        let encode = |errno| {
            let mut e = Error::errno(step, path.map(Into::into), errno);
            if let Some(h) = hint {
                e = e.with_hint(h);
            }
            plan::frame(&plan::encode_error(&e))
        };
        let buf = encode(0);
        let errno_at = buf
            .iter()
            .zip(encode(-1))
            .position(|(a, b)| *a != b)
            .expect("the errno is encoded");
        ChildReport { buf, errno_at }
    }

    /// Async-signal-safe: patch and write, then exit.
    fn send(&mut self, fd: c_int, errno: i32) -> ! {
        self.buf[self.errno_at..self.errno_at + 4].copy_from_slice(&(errno as u32).to_le_bytes());
        let _ = sigsafe::write_all(fd, &self.buf);
        sigsafe::exit_now(EXIT_SANDBOX as i32)
    }
}

/// The clone child runs the child stage on a copy of this process's heap,
/// which is only consistent when no other thread could have held a lock
/// at the clone. Nothing here starts a thread; debug builds (the test
/// suite) check it on every launch.
fn assert_single_threaded() {
    #[cfg(debug_assertions)]
    {
        let threads = fs::read_dir("/proc/self/task").map(|d| d.count());
        assert!(
            matches!(threads, Ok(1) | Err(_)),
            "the launcher must be single-threaded when it clones: {threads:?}"
        );
    }
}

/// The pipe ends as raw numbers, for the clone child.
struct CloneFds {
    ctl_read: c_int,
    ctl_write: c_int,
    err_read: c_int,
    err_write: c_int,
}

/// The clone child: PID 1 of the new namespaces. Until the release byte
/// it only makes async-signal-safe calls; after it, it runs the child stage
/// (child.rs) and ends in the command's execve or in `_exit`, never
/// returning into the launcher's frames it was copied from.
///
/// Running the child stage here, with no exec of `/proc/self/exe child`
/// first, is safe because the launcher is single-threaded when it clones
/// (`assert_single_threaded`): this copy of its heap and locks is
/// consistent, as after fork(2) in a single-threaded program. It saves an
/// exec and a second start of the binary, a tenth of a launch
/// (docs/DECISIONS.md, "The child stage without a re-exec").
fn child_after_clone(fds: CloneFds, net: Option<&mut ChildReport>, plan: &Plan) -> ! {
    // ---- Clone child, PID 1 in the new namespaces, uid not yet mapped ----
    // Our copies of the parent's ends go first: while we hold the control
    // pipe's write end, the read below could never see EOF.
    let _ = sigsafe::close(fds.ctl_write);
    let _ = sigsafe::close(fds.err_read);
    // Arm the death signal before waiting: if the parent is already gone the
    // read below sees EOF (the parent's write end closed) and we leave, so
    // no window exists in which the parent dies unnoticed.
    if sigsafe::set_parent_death_signal(libc::SIGKILL).is_err() {
        sigsafe::exit_now(EXIT_SANDBOX as i32);
    }
    // We hold every capability in the new user namespace already, maps or
    // not, so the network namespace can be made now, while the parent
    // works; it belongs to the new user namespace as if cloned with it.
    if let Some(r) = net {
        if let Err(e) = sigsafe::unshare(libc::CLONE_NEWNET) {
            r.send(fds.err_write, e.raw_os_error().unwrap_or(libc::EIO));
        }
    }
    // Wait for the release byte: the maps must be written before the child
    // stage runs, or it would act as an unmapped uid (DESIGN.md).
    match sigsafe::read_byte(fds.ctl_read) {
        Ok(Some(1)) => {}
        _ => sigsafe::exit_now(EXIT_SANDBOX as i32),
    }
    let _ = sigsafe::close(fds.ctl_read);
    // The error pipe on its fixed number (pipe_high put it at 10 or above,
    // so this clobbers nothing of ours); the child stage closes every fd
    // above it, the launcher's among them.
    if sigsafe::dup2(fds.err_write, CHILD_ERR_FD).is_err() {
        sigsafe::exit_now(EXIT_SANDBOX as i32);
    }
    let code = crate::child::main(plan);
    sigsafe::exit_now(code as i32)
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

/// Whether `info` is a signal the terminal sent (si_code SI_KERNEL: ^C,
/// ^\, window size, hangup) to our process group while `target` is in that
/// group too, so that `target` has had it already. Used by the launcher for
/// the sandbox's PID 1 and by --init's init for the command.
pub fn already_delivered(info: &sys::SigInfo, target: pid_t) -> bool {
    info.code == libc::SI_KERNEL
        && matches!(
            (sys::getpgid(target), sys::getpgid(0)),
            (Ok(a), Ok(b)) if a == b
        )
}

struct Supervisor {
    pid: pid_t,
    kill_after: Duration,
    timeout_at: Option<Instant>,
    /// Set once we were asked to stop or timed out: when to SIGKILL.
    kill_at: Option<Instant>,
    timed_out: bool,
    stopped_by: Option<c_int>,
    /// Whether the grace period ran out and we killed the sandbox.
    killed: bool,
}

impl Supervisor {
    /// Wait for the child to end, forwarding signals and enforcing the
    /// timeout. Returns how PID 1 ended and what came over the error pipe.
    fn wait(
        &mut self,
        mut err_read: fs::File,
        sigfd: &OwnedFd,
    ) -> Result<(sys::Ended, plan::Reports)> {
        let mut report = Vec::new();
        let mut err_open = true;
        loop {
            let next = [self.kill_at, self.timeout_at].into_iter().flatten().min();
            let timeout = match next {
                None => -1,
                // Rounded up: a poll that wakes a little early would spin.
                Some(d) => (d.saturating_duration_since(Instant::now()).as_micros() as u64)
                    .div_ceil(1000)
                    .min(i32::MAX as u64) as c_int,
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
                while let Some(info) = sys::read_signal(sigfd.as_fd()).ctx_step("read signals")? {
                    if info.signo != libc::SIGCHLD {
                        self.on_signal(info);
                    }
                }
            }
            let now = Instant::now();
            if self.timeout_at.is_some_and(|t| now >= t) {
                self.timeout_at = None;
                self.timed_out = true;
                self.ask_to_stop();
            }
            if self.kill_at.is_some_and(|k| now >= k) {
                self.kill_now();
            }
            if let Some(ended) = sys::wait4(self.pid, true).ctx_step("wait for the sandbox")? {
                // The child is gone: every write end of the error pipe is
                // closed, so this read ends.
                if err_open {
                    let _ = err_read.read_to_end(&mut report);
                }
                let reports = plan::decode_reports(&report).unwrap_or_else(|m| plan::Reports {
                    error: Some(Error::msg("child stage", format!("unreadable report: {m}"))),
                    status: None,
                });
                return Ok((ended, reports));
            }
        }
    }

    /// A signal sent to the launcher. What the terminal sends (^C, ^\,
    /// window size; si_code SI_KERNEL) to our process group has already
    /// reached the sandbox when it shares the group, so it is not sent
    /// twice, and ^C is the command's to handle, not a request to end the
    /// sandbox. A signal sent to us on purpose (kill, a supervisor) is
    /// forwarded, and TERM, INT or HUP mean "stop": the sandbox gets the
    /// grace period, then SIGKILL; a second one kills at once. A hangup
    /// always means stop.
    fn on_signal(&mut self, info: sys::SigInfo) {
        let sig = info.signo;
        let from_terminal = already_delivered(&info, self.pid);
        if !from_terminal {
            let _ = sys::kill(self.pid, sig);
        }
        let stop = match sig {
            libc::SIGHUP => true,
            libc::SIGTERM | libc::SIGINT => !from_terminal,
            _ => false,
        };
        if stop {
            self.stopped_by.get_or_insert(sig);
            if self.kill_at.is_some() {
                self.kill_now();
            } else {
                self.start_grace();
            }
        }
    }

    /// The timeout: SIGTERM (under --init, init hands it to the command),
    /// then the grace period.
    fn ask_to_stop(&mut self) {
        let _ = sys::kill(self.pid, libc::SIGTERM);
        if self.kill_at.is_none() {
            self.start_grace();
        }
    }

    fn start_grace(&mut self) {
        if self.kill_after.is_zero() {
            self.kill_now();
        } else {
            self.kill_at = Some(Instant::now() + self.kill_after);
        }
    }

    /// Killing PID 1 of the namespace kills every process in it, setsid'd,
    /// double-forked and signal-ignoring ones included.
    /// Ref: pid_namespaces(7)
    fn kill_now(&mut self) {
        if sys::kill(self.pid, libc::SIGKILL).is_ok() {
            self.killed = true;
        }
        self.kill_at = None;
    }
}
