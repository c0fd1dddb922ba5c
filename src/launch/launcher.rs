//! Stage 1: the launcher, on the host, as the caller's uid.
//!
//! prepare (checks, cgroup, pipes, the re-exec's arguments) → clone into
//! the new namespaces (namespaces the caller gives: a plain fork, and the
//! stage joins them, joinns.rs) → the clone child waits for the release
//! byte, then re-execs `/proc/self/exe child` (stage.rs) → meanwhile the launcher
//! places it in its cgroup, starts the guard and writes the id maps →
//! release with the plan (channel.rs) → supervise: read the report pipe
//! (EOF means the command was exec'd), forward signals, enforce the
//! timeout, wait → collect the end into a `Report`.
//!
//! The launcher prints nothing: what the user should read goes to the
//! `Options::on_notice` callback and into `Report::notices`.
//! docs/ARCHITECTURE.md has the stages and the ordering constraints.

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use libc::{c_int, pid_t};

use super::clone_child::{child_after_clone, CloneFds};
use super::denials::Denials;
use super::guard::Guard;
use super::hostmode::{self, Cause};
use super::stage;
use super::supervise::Supervisor;
use crate::channel::{self, PlanSender, PreparedError, ReportReceiver, Up};
use crate::confine::cgroup::{Cgroup, Usage};
use crate::confine::limits;
use crate::confine::net::{Pasta, PastaLaunch};
use crate::confine::nsjoin;
use crate::confine::proxy::Proxy;
use crate::error::{Context, Error, Result};
use crate::launch::relay::{self, Relay};
use crate::launch::status::{self, Report};
use crate::plan::idmap::{IdMap, Writer};
use crate::plan::{Plan, Supervision, UsernsMode};
use crate::signals::HANDLED;
use crate::sys::{self, sigsafe, Exit};

/// GNU timeout's status for "the time ran out".
pub const EXIT_TIMEOUT: u8 = 124;

/// A notice for the user (one line, without the `sandbox: ` prefix).
pub type NoticeFn = Box<dyn FnMut(&str) + Send>;

/// How the launcher behaves beyond the plan: what a command-line tool
/// wants differs from what a library's caller wants.
#[derive(Default)]
pub struct Options {
    /// Take over SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and
    /// SIGWINCH (blocked, read from a signalfd) and pass them on; TERM,
    /// INT and HUP also mean "stop the sandbox". For a program that owns
    /// its process's signals (the CLI); a library caller leaves it off.
    pub forward_signals: bool,
    /// Called with each notice as it happens.
    pub on_notice: Option<NoticeFn>,
    /// Called once the sandbox's first process exists (its pid as the
    /// host sees it, and `namespace_ids` when asked), before its id maps
    /// are written and it is released: the bwrap front end writes
    /// `--info-fd` here and waits on `--userns-block-fd`, as bubblewrap
    /// does. Where the stage joins namespaces the caller gives
    /// (`GivenNs::userns`), the first process is forked by the stage, so
    /// this is called once the stage has reported it, after the release.
    pub before_release: Option<BeforeRelease>,
}

/// `Options::before_release`.
pub type BeforeRelease = Box<dyn FnOnce(pid_t, &[(&'static str, u64)]) + Send>;

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
    fn open(s: &Supervision) -> Result<Vec<StatusSink>> {
        Self::open_at(s.status_file.as_deref(), s.status_fd)
    }

    fn open_at(file: Option<&std::path::Path>, fd: Option<i32>) -> Result<Vec<StatusSink>> {
        let mut sinks = Vec::new();
        if let Some(p) = file {
            let f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .custom_flags(libc::O_CLOEXEC)
                .open(p)
                .ctx("open the status file", p.display())?;
            sinks.push(StatusSink::File(f, p.display().to_string()));
        }
        if let Some(n) = fd {
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

    fn write(self, json: &str) -> Result<()> {
        let line = format!("{json}\n");
        let (r, shown) = match self {
            StatusSink::File(mut f, path) => (f.write_all(line.as_bytes()), path),
            StatusSink::Fd(n) => (sys::write_all(n, line.as_bytes()), format!("fd {n}")),
        };
        r.ctx("write the status", shown)
    }
}

/// Where notices go: the caller's callback, and the report.
pub(super) struct Notices {
    callback: Option<NoticeFn>,
    seen: Vec<String>,
}

impl Notices {
    pub(super) fn say(&mut self, text: impl Into<String>) {
        let text = text.into();
        if let Some(f) = &mut self.callback {
            f(&text);
        }
        self.seen.push(text);
    }
}

/// A sandbox that has been released and runs: wait for it, or kill it.
pub struct Running {
    pid: pid_t,
    /// `namespace_ids`, when the plan asked (`Supervision::namespace_ids`).
    namespaces: Vec<(&'static str, u64)>,
    /// Signals through it can never reach a process that reused the pid;
    /// readable once the sandbox's PID 1 has ended. None before Linux 5.3.
    pidfd: Option<OwnedFd>,
    /// The join path: the sandbox's first process, which SIGKILL reaches
    /// directly (the clone child relays the other signals to it).
    inner: Option<OwnedFd>,
    guard: Option<Guard>,
    cgroup: Option<Cgroup>,
    reports: ReportReceiver,
    sigfd: Option<OwnedFd>,
    /// `--net pasta`'s process; killed and reaped when the sandbox ends.
    pasta: Option<Pasta>,
    /// `--allow-host`'s proxy; stopped when the sandbox ends.
    proxy: Option<Proxy>,
    sinks: Vec<StatusSink>,
    notices: Notices,
    started: Instant,
    sup: Supervisor,
    /// The caller's stdio and the sandbox's (relay.rs).
    relay: Relay,
    /// What collecting the end needs from the plan.
    limits: Vec<limits::Limit>,
    network: &'static str,
    timeout: Option<Duration>,
    /// `--report-denials`: the listener's server, or why there is none.
    denials: Option<Denials>,
    denials_skipped: Option<String>,
    verbose: bool,
    /// Started in the host mode (hostmode.rs): no namespaces.
    host_mode: bool,
}

/// Validate nothing more (the plan is validated), start the sandbox and
/// return once it is released. A failure after the status sinks were
/// opened is written to them too.
pub fn spawn(plan: &Plan, supervision: &Supervision, opts: Options) -> Result<Running> {
    if crate::started_with_privileges() {
        return Err(Error::msg(
            "start",
            "this process was started with privileges (setuid, setgid or file capabilities); sandbox is rootless and refuses to launch so",
        ));
    }
    let sinks = StatusSink::open(supervision)?;
    let mut notices = Notices {
        callback: opts.on_notice,
        seen: Vec::new(),
    };
    let started = Instant::now();
    let mut hook = opts.before_release;
    match launch(
        plan,
        supervision,
        opts.forward_signals,
        &mut notices,
        &mut hook,
    ) {
        Ok(s) => Ok(Running {
            pid: s.pid,
            namespaces: s.namespaces,
            pidfd: s.pidfd,
            guard: s.guard,
            cgroup: s.cgroup,
            reports: s.reports,
            sup: {
                let mut sup = Supervisor::new(s.pid, supervision, s.released);
                sup.inner = s.inner.as_ref().map(|f| f.as_raw_fd());
                sup
            },
            inner: s.inner,
            sigfd: s.sigfd,
            pasta: s.pasta,
            proxy: s.proxy,
            sinks,
            notices,
            started,
            relay: s.relay,
            limits: plan.limits.clone(),
            timeout: supervision.timeout,
            // No network namespace in the host mode: the host's.
            network: if s.host { "host" } else { network_name(plan) },
            host_mode: s.host,
            denials: s.denials,
            denials_skipped: s.denials_skipped,
            verbose: plan.verbose,
        }),
        Err(e) => {
            let report = Report {
                wall: started.elapsed(),
                notices: notices.seen,
                network: Some(network_name(plan)),
                ..unstarted(&e)
            };
            write_sinks(sinks, &report, &mut |_| {});
            Err(e)
        }
    }
}

/// The report of a run that failed before its command could start.
fn unstarted(e: &Error) -> Report {
    Report {
        status: e.exit,
        error: Some(e.clone()),
        // Nothing ran, so nothing was hit.
        limits_hit_complete: true,
        ..Report::default()
    }
}

/// A run that failed before there was a plan (a missing bind source or
/// rootfs, a limit above the hard one, a name in use): its report goes to
/// `--status-file` and `--status-fd` all the same, so a wrapper always
/// finds one once the option was given. Nothing to say if they cannot be
/// opened: the error itself is what the caller reports.
pub(crate) fn report_unstarted(file: Option<&std::path::Path>, fd: Option<i32>, e: &Error) {
    if let Ok(sinks) = StatusSink::open_at(file, fd) {
        write_sinks(sinks, &unstarted(e), &mut |_| {});
    }
}

/// The network mode, as `--status-file` and `-v` name it.
fn network_name(plan: &Plan) -> &'static str {
    match (&plan.pasta, plan.share_net) {
        _ if plan.proxy.is_some() => "proxy",
        (Some(_), _) => "pasta",
        (None, true) => "host",
        (None, false) => "none",
    }
}

fn write_sinks(sinks: Vec<StatusSink>, report: &Report, notice: &mut dyn FnMut(String)) {
    if sinks.is_empty() {
        return;
    }
    let json = report.json();
    for s in sinks {
        if let Err(e) = s.write(&json) {
            notice(e.to_string().trim_start_matches("sandbox: ").to_string());
        }
    }
}

/// Why a launch could not start: the host refused the user namespace
/// (which `--userns auto` answers with the host mode), or anything else.
enum Failed {
    Refused(Cause),
    Other(Error),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Failed {
        Failed::Other(e)
    }
}

/// A refusal that no host mode answers: its error, with the fix.
impl From<Failed> for Error {
    fn from(f: Failed) -> Error {
        match f {
            Failed::Refused(c) => c.error(),
            Failed::Other(e) => e,
        }
    }
}

/// `--userns`: a launch in namespaces, or in the host mode
/// (hostmode.rs), and with `auto` the host mode where the host refuses
/// the namespaces. Known refusals are found before clone where that is
/// cheap (AppArmor's restriction: two small reads; under a seccomp filter
/// only, a forked probe; a masked /proc: read only inside a container);
/// the rest is what clone or the id maps say, or (late) what the stage
/// reports before its namespaces are set up (hostmode.rs `late_refusal`).
fn launch(
    plan: &Plan,
    supervision: &Supervision,
    forward_signals: bool,
    notices: &mut Notices,
    hook: &mut Option<BeforeRelease>,
) -> Result<Started> {
    let g = &supervision.given;
    // A PID namespace is joined with the user namespace that goes with it
    // (joinns.rs); a new one below it would need one more process, and
    // pasta a network namespace at the release, which the joining stage
    // makes only after it.
    let refuse = |step: &str, why: &str| Err(Error::msg(step, why));
    if g.pidns.is_some() && g.userns.is_none() {
        return refuse(
            nsjoin::JOIN_PIDNS,
            "only with the user namespace that goes with it (--userns)",
        );
    }
    if g.pidns.is_some() && g.new_pid {
        return refuse(
            nsjoin::JOIN_PIDNS,
            "a new PID namespace below a joined one is not supported",
        );
    }
    if g.userns.is_some() && plan.pasta.is_some() {
        return refuse(nsjoin::JOIN_USERNS, "not with --net pasta");
    }
    // A user namespace the caller gives is joined, not made: nothing for
    // the host mode to answer.
    if g.userns.is_some() {
        return start(
            plan,
            supervision,
            forward_signals,
            notices,
            false,
            true,
            hook,
        )
        .map_err(Error::from);
    }
    let known = match supervision.userns {
        UsernsMode::Off => Some(Cause::Asked),
        _ if hostmode::apparmor_refuses() => Some(Cause::AppArmor),
        _ => match hostmode::filter_refuses() {
            Some((step, errno)) if hostmode::refused(Some(errno)) => {
                Some(hostmode::diagnose(step, errno))
            }
            // A built root (the bwrap front end) never takes the host
            // mode, and its /proc is mounted only where it asks for one
            // (`--proc`): not worth a read of mountinfo on each launch.
            _ if plan.built.is_none() && hostmode::in_container() && hostmode::proc_masked() => {
                Some(Cause::ProcMasked)
            }
            _ => None,
        },
    };
    // The plan's notices are said by the first try only.
    let first = known.is_some();
    let cause = match known {
        Some(c) => c,
        None => match start(
            plan,
            supervision,
            forward_signals,
            notices,
            false,
            true,
            hook,
        ) {
            Ok(s) => return Ok(s),
            Err(Failed::Other(e)) => return Err(e),
            Err(Failed::Refused(c)) => c,
        },
    };
    if supervision.userns == UsernsMode::Require {
        return Err(cause.error());
    }
    hostmode::check_for(plan, &cause)?;
    notices.say(cause.notice());
    if plan.landlock == crate::plan::LandlockMode::Off {
        notices.say(
            "warning: --landlock off in the host mode: nothing but the files' modes guards the host's files",
        );
    }
    start(
        plan,
        supervision,
        forward_signals,
        notices,
        true,
        first,
        hook,
    )
    .map_err(Error::from)
}

/// What `start` leaves running.
struct Started {
    pid: pid_t,
    namespaces: Vec<(&'static str, u64)>,
    pidfd: Option<OwnedFd>,
    /// The join path: a pidfd of the sandbox's first process (the clone
    /// child only relays to it).
    inner: Option<OwnedFd>,
    guard: Option<Guard>,
    cgroup: Option<Cgroup>,
    reports: ReportReceiver,
    sigfd: Option<OwnedFd>,
    relay: Relay,
    pasta: Option<Pasta>,
    denials: Option<Denials>,
    denials_skipped: Option<String>,
    proxy: Option<Proxy>,
    host: bool,
    /// When the release byte went: `--timeout` counts from it.
    released: Instant,
}

/// Everything made before clone: after it, the clone child may neither
/// allocate nor lock, so its arguments, reports and fds exist already.
struct Prepared {
    cgroup: Option<Cgroup>,
    plan_bytes: Vec<u8>,
    exe: CString,
    argv: sys::CStringArray,
    envp: sys::CStringArray,
    exec_error: PreparedError,
    ctl: (OwnedFd, OwnedFd),
    report: (OwnedFd, OwnedFd),
    sigfd: Option<OwnedFd>,
    stdio: relay::Prepared,
    /// `--net pasta`: pasta found, its features and the tun device checked.
    pasta: Option<PastaLaunch>,
    /// `--report-denials`: the denials socket (ours, the child's), or why
    /// the kernel cannot have it.
    denials: std::result::Result<Option<(OwnedFd, OwnedFd)>, String>,
    /// `--allow-host`: the proxy socket (ours, the child's).
    proxy_sock: Option<(OwnedFd, OwnedFd)>,
    /// The bwrap front end's descriptors for the command (passfds.rs).
    passed: super::passfds::Prepared,
    /// Copies of the caller's `--userns2`, `--block-fd`, `--userns` and
    /// `--pidns` descriptors, for the clone child to put on `USERNS2_FD`,
    /// `BLOCK_FD`, `USERNS_FD` and `PIDNS_FD`.
    given_fds: Option<[Option<OwnedFd>; 4]>,
}

/// One launch: in new namespaces, or (`host`) in the host mode, with no
/// namespace at all. `say`: the plan's notices are said (not again on the
/// host mode's second try).
#[allow(clippy::too_many_arguments)]
fn start(
    plan: &Plan,
    supervision: &Supervision,
    forward_signals: bool,
    notices: &mut Notices,
    host: bool,
    say: bool,
    hook: &mut Option<BeforeRelease>,
) -> std::result::Result<Started, Failed> {
    // ---- Launcher, on the host, unprivileged ----
    let mut p = prepare(plan, supervision, forward_signals, notices, host, say)?;
    let (pid, in_cgroup) = clone_child(plan, &supervision.given, &mut p, host)?;
    // The clone child waits for the release: its namespaces are the
    // sandbox's, and it is still there to be read. Where the stage joins
    // namespaces the caller gives (joinns.rs), it reports them instead.
    let joins = !host && joining(&supervision.given).is_some();
    let namespaces = if supervision.namespace_ids && !joins {
        namespace_ids(pid, plan.share_net)
    } else {
        Vec::new()
    };

    // ---- Launcher, after clone; the child waits for the release ----
    // The child's ends, closed by name: the report pipe reads EOF only
    // when every write end is gone.
    let (ctl_read, ctl_write) = p.ctl;
    let (report_read, report_write) = p.report;
    drop(ctl_read);
    drop(report_write);
    // The clone child has its own copies of the descriptors to pass.
    drop(p.passed);
    let (denials, denials_skipped) = match p.denials {
        Ok(Some((mine, theirs))) => {
            drop(theirs);
            (Some(Denials::new(plan, mine)), None)
        }
        Ok(None) => (None, None),
        Err(why) => (None, Some(why)),
    };
    let mut reports = ReportReceiver::new(report_read);
    // Ours no longer: the clone child has its copies.
    drop(p.given_fds.take());
    let guard_tty = p.stdio.guard_tty();
    // The guard, unless nothing is left for it to do: under --init the
    // sandbox's PID 1 is our own init, whose parent-death signal the
    // command cannot clear and the stage checks it re-armed in time
    // (stage.rs `launcher_alive`), so our death takes the sandbox with it
    // as the guard would; then there is no cgroup to remove, no pasta to
    // kill and no terminal to put back. Only in our own binary (the CLI,
    // the bwrap front end: `forward_signals`), which forks nothing else:
    // a library's caller may fork and so hold the report pipe's read end
    // that `launcher_alive` counts on being ours alone.
    let guard_needed = !plan.init
        || host
        || !forward_signals
        || p.cgroup.is_some()
        || p.pasta.is_some()
        || guard_tty.is_some();
    let relay = p.stdio.after_clone();
    let proxy_sock = p.proxy_sock.map(|(mine, _theirs)| mine);
    let child = Unreleased { pid };
    if !joins {
        if let Some(f) = hook.take() {
            f(pid, &namespaces);
        }
    }
    let with = ReleaseWith {
        cgroup: p.cgroup.as_ref(),
        in_cgroup,
        plan_bytes: &p.plan_bytes,
        // The join path's guard, forked later, gets the terminal.
        guard_tty: if joins { None } else { guard_tty },
        pasta: p.pasta.as_ref(),
        subids: plan.subids.as_ref(),
        host,
        callers_userns: supervision.given.callers_userns(),
        guard_needed: guard_needed && !joins,
        joins,
    };
    match release(&child, ctl_write, with) {
        Ok((pidfd, mut guard, pasta, kept_ctl)) => {
            let released = Instant::now();
            // The joining stage: the sandbox's first process, forked once
            // the namespaces given are joined, and its namespaces; then
            // the hook, with them. Signals, the pidfd, the guard and the
            // wait stay on the clone child, which passes signals on and
            // ends as that process ends.
            let mut namespaces = namespaces;
            let mut inner = None;
            if joins {
                let within = supervision
                    .timeout
                    .map_or(JOINED_WITHIN, |t| t.min(JOINED_WITHIN));
                match await_joined(&mut reports, notices, within) {
                    Ok((first, ns)) => {
                        namespaces = ns
                            .into_iter()
                            .filter(|(_, ino)| supervision.namespace_ids && *ino != 0)
                            .collect();
                        // The first process waits for the go-ahead (its
                        // parent, the clone child, has not reaped it), so
                        // the pid is still its own: a pidfd of it, for the
                        // guard and for every kill of the sandbox, since
                        // killing the clone child reaches the command
                        // only through a death signal it may clear.
                        inner = sys::pidfd_open(first).ok();
                        if let Some(f) = hook.take() {
                            f(first, &namespaces);
                        }
                        if let Some(fd) = &inner {
                            guard = Some(
                                Guard::spawn(fd, None, guard_tty, false).map_err(Failed::Other)?,
                            );
                        }
                        if let Some(ctl) = kept_ctl {
                            // EPIPE: the clone child is gone; the wait says how.
                            let _ = ctl.release();
                        }
                    }
                    Err(e) => {
                        // Nothing of the command ran: the stage killed and
                        // reaped, then what the release started.
                        drop(child);
                        if let Some(g) = guard {
                            g.dismiss();
                        }
                        drop(pasta);
                        reports.read_to_end();
                        return Err(Failed::Other(first_error(&mut reports).unwrap_or(e)));
                    }
                }
            }
            // `--userns auto|require`: a refusal the checks before clone
            // could not see comes from the stage before it has set up its
            // namespaces; wait for that (hostmode.rs `await_isolated`).
            let late = match (host, supervision.userns, &plan.built) {
                (false, UsernsMode::Auto | UsernsMode::Require, None) => {
                    let within = supervision.timeout.map_or(hostmode::ISOLATED_WITHIN, |t| {
                        t.min(hostmode::ISOLATED_WITHIN)
                    });
                    let signals = p.sigfd.is_some();
                    hostmode::await_isolated(&mut reports, signals, notices, within)
                }
                _ => None,
            };
            if let Some(cause) = late {
                // Nothing of the command ran: the stage, killed and
                // reaped, then what the release started, in `wait`'s
                // order (pasta reaped only once the guard, which may hold
                // its pid, is gone); the cgroup is removed as `p` goes.
                drop(child);
                let mut pasta = pasta;
                if let Some(p) = &mut pasta {
                    p.kill();
                }
                if let Some(g) = guard {
                    g.dismiss();
                }
                drop(pasta);
                return Err(Failed::Refused(cause));
            }
            std::mem::forget(child);
            // Threads of ours from here on: the clone child has exec'd
            // (or will, on code prepared before clone) and the guard is
            // forked; nothing is forked after this.
            let proxy = match (proxy_sock, &supervision.egress) {
                (Some(sock), Some(policy)) => Some(Proxy::start(sock, policy.clone())?),
                _ => None,
            };
            Ok(Started {
                proxy,
                pid,
                namespaces,
                pidfd,
                inner,
                guard,
                cgroup: p.cgroup,
                reports,
                sigfd: p.sigfd,
                relay,
                pasta,
                denials,
                denials_skipped,
                host,
                released,
            })
        }
        Err(e) => {
            // Killed and reaped: every write end of the report pipe is gone.
            drop(child);
            reports.read_to_end();
            // A clone child that failed on its own first (making its
            // network namespace, or the exec) said why: that is the cause,
            // and our failure (its maps can no longer be written) follows.
            match first_error(&mut reports) {
                Some(first) => Err(Failed::Other(first)),
                None => Err(e),
            }
        }
    }
}

/// `--bind-symlinks`: say where each source named through a symlink
/// really is, since that is what gets mounted.
fn bind_symlink_notices(plan: &Plan, notices: &mut Notices) {
    for b in plan.binds.iter().filter(|b| b.via_symlink) {
        notices.say(format!(
            "notice: bind source named through a symlink: binding {} at {}",
            b.src.display(),
            b.dst.display()
        ));
    }
}

/// The checks, the cgroup, the pipes, the signalfd and the re-exec's
/// arguments, all before clone.
fn prepare(
    plan: &Plan,
    supervision: &Supervision,
    forward_signals: bool,
    notices: &mut Notices,
    host: bool,
    say: bool,
) -> Result<Prepared> {
    check_stdio()?;
    if say {
        // The bwrap front end runs without it by default, as bubblewrap
        // does (docs/BWRAP.md): no warning there.
        if !plan.seccomp && plan.built.is_none() {
            notices
                .say("warning: --seccomp off: the command runs without the default seccomp filter");
        }
        bind_symlink_notices(plan, notices);
        for n in crate::plan::covered_binds(&plan.binds, &plan.tmpfs) {
            notices.say(n);
        }
    }
    if plan.verbose {
        for n in &supervision.seccomp_notes {
            notices.say(format!("notice: --seccomp-profile: {n}"));
        }
    }
    let denials = super::denials::prepare(plan, notices)?;
    // Made (and its limits written) before the sandbox exists; removed once
    // the sandbox has ended, or when dropped on an early error.
    let cgroup = if supervision.cgroup.any() {
        Some(Cgroup::create(&supervision.cgroup)?)
    } else {
        None
    };
    let stdio = relay::prepare(plan.stdio)?;
    let pasta = match &plan.pasta {
        Some(pp) => {
            let launch = PastaLaunch::prepare(pp)?;
            if plan.verbose {
                notices.say(format!("network: pasta, {}", launch.describe()));
            }
            Some(launch)
        }
        None => {
            if plan.verbose && plan.proxy.is_none() {
                notices.say(if plan.share_net {
                    "network: host (the host's network namespace)"
                } else {
                    "network: none (a new network namespace with only lo)"
                });
            }
            None
        }
    };
    let proxy_sock = match &plan.proxy {
        Some(p) => {
            if plan.verbose {
                notices.say(format!(
                    "network: proxy (only lo; HTTP proxy on 127.0.0.1:{}, SOCKS5 on 127.0.0.1:{}, served from the host)",
                    p.http_port, p.socks_port
                ));
            }
            Some(sys::socketpair_high().ctx_step("create the proxy socket")?)
        }
        None => None,
    };
    let passed = super::passfds::prepare(plan)?;
    let g = &supervision.given;
    let pass = |fd: Option<i32>, what: &str| -> Result<Option<OwnedFd>> {
        fd.map(|n| sys::dup_passed(n).ctx(what, format!("fd {n}")))
            .transpose()
    };
    // Namespaces to join are joined by the stage after its exec
    // (joinns.rs); checked here, so a wrong descriptor fails before
    // anything runs, named by the caller's number.
    let join = |fd: Option<i32>, nstype: c_int, step: &str| -> Result<Option<OwnedFd>> {
        let Some(n) = fd else { return Ok(None) };
        let copy = sys::dup_passed(n).ctx(step, format!("fd {n}"))?;
        nsjoin::check_kind(copy.as_fd(), nstype, step, &format!("fd {n}"))?;
        Ok(Some(copy))
    };
    let given_fds = [
        pass(g.userns2, "take the user namespace (--userns2)")?,
        pass(g.block, "take the descriptor to block on (--block-fd)")?,
        join(g.userns, libc::CLONE_NEWUSER, nsjoin::JOIN_USERNS)?,
        join(g.pidns, libc::CLONE_NEWPID, nsjoin::JOIN_PIDNS)?,
    ];
    let ctl = sys::pipe_high().ctx_step("create the control pipe")?;
    let report = sys::pipe_high().ctx_step("create the report pipe")?;
    // Blocked before clone, so none is lost between clone and the wait
    // loop; the child stage unblocks them before the command's exec.
    let sigfd = if forward_signals {
        sys::block_signals(&HANDLED).ctx_step("block signals")?;
        Some(sys::signalfd(&HANDLED).ctx_step("create the signal fd")?)
    } else {
        None
    };
    Ok(Prepared {
        cgroup,
        plan_bytes: match (&stdio.pty, matches!(denials, Ok(Some(_))), host) {
            (None, report_denials, false)
                if report_denials == plan.report_denials && passed.built.is_none() =>
            {
                channel::encode_plan(plan)
            }
            (pty, report_denials, _) => channel::encode_plan(&Plan {
                pty: pty.clone(),
                report_denials,
                host_mode: host,
                built: passed.built.clone().or_else(|| plan.built.clone()),
                ..plan.clone()
            }),
        },
        exe: CString::new("/proc/self/exe").unwrap(),
        // The stage is PID 1 of a new PID namespace, or (the host mode)
        // told so here and by the plan, which must agree; or it joins the
        // namespaces given (joinns.rs), told the caller's numbers.
        argv: sys::CStringArray::new(
            ["sandbox", "child"]
                .into_iter()
                .map(String::from)
                .chain(match (host, joining(g)) {
                    (true, _) => vec![stage::HOST_ARG.to_string()],
                    (false, Some(given)) => given.to_args(),
                    (false, None) => Vec::new(),
                })
                .map(|a| CString::new(a).unwrap())
                .collect(),
        ),
        // The stage needs nothing from the environment: what it needs of
        // the caller's (TERM) is in the plan.
        envp: sys::CStringArray::new(Vec::new()),
        exec_error: PreparedError::new("exec the child stage", Some("/proc/self/exe"), None),
        ctl,
        report,
        sigfd,
        stdio,
        pasta,
        denials,
        proxy_sock,
        passed,
        given_fds: Some(given_fds),
    })
}

/// The namespaces the sandbox gets: every one but the network's (the
/// child stage makes that one in a helper thread while it builds the
/// root: it is the slow one, 0.4 ms here), which is made here too with
/// `--net pasta` or a built root. Made by clone, or (joinns.rs) by the
/// stage's unshare once it has joined the caller's user namespace.
pub(super) fn namespace_flags(plan: &Plan) -> c_int {
    let mut flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP;
    // pasta joins the network namespace through /proc/PID/ns/net as soon
    // as the maps are written: it must exist by then, not be on its way in
    // the clone child (pasta would find the host's).
    // The bwrap front end's --info-fd names the sandbox's namespaces, read
    // at clone: the network one must be the sandbox's by then too.
    if plan.pasta.is_some() || (plan.built.is_some() && !plan.share_net) {
        flags |= libc::CLONE_NEWNET;
    }
    flags
}

/// The namespaces the caller gives, when there are any to join: the
/// stage's arguments (joinns.rs).
fn joining(given: &crate::plan::GivenNs) -> Option<super::joinns::Given> {
    given.userns.map(|user| super::joinns::Given {
        user,
        pid: given.pidns,
    })
}

/// clone into the sandbox's namespaces (`namespace_flags`). Returns in the
/// launcher only.
///
/// In the host mode no namespace: a plain fork (into the cgroup, if any),
/// which the clone child and the stage treat as before. With namespaces
/// the caller gives (the bwrap front end's `--userns`, `--pidns`), a plain
/// fork too: the stage joins them after its exec and makes the sandbox's
/// namespaces then (joinns.rs), so that nothing of ours is exec'd inside
/// a user namespace others may hold capabilities in.
fn clone_child(
    plan: &Plan,
    given: &crate::plan::GivenNs,
    p: &mut Prepared,
    host: bool,
) -> std::result::Result<(pid_t, bool), Failed> {
    let joins = joining(given).is_some();
    let flags = if host || joins {
        0
    } else {
        namespace_flags(plan)
    };
    let cgroup = p.cgroup.as_ref().map(|c| c.fd.as_fd());
    let (pid, in_cgroup) = sys::clone_namespaces(flags as u64, cgroup).map_err(|e| {
        let errno = e.raw_os_error();
        let err = clone_error(e);
        match errno {
            Some(n) if flags != 0 && hostmode::refused(errno) => {
                Failed::Refused(hostmode::diagnose("create namespaces (clone)", n))
            }
            _ => Failed::Other(err),
        }
    })?;
    if pid == 0 {
        let fds = CloneFds {
            ctl_read: p.ctl.0.as_raw_fd(),
            ctl_write: p.ctl.1.as_raw_fd(),
            report_read: p.report.0.as_raw_fd(),
            report_write: p.report.1.as_raw_fd(),
            stdio: p.stdio.child_stdio,
            tty: p.stdio.child_tty,
            denials: match &p.denials {
                Ok(Some((_, theirs))) => theirs.as_raw_fd(),
                _ => -1,
            },
            proxy: p
                .proxy_sock
                .as_ref()
                .map_or(-1, |(_, theirs)| theirs.as_raw_fd()),
            pass: &p.passed.at,
            userns2: passed_raw(&p.given_fds, 0),
            block: passed_raw(&p.given_fds, 1),
            userns: passed_raw(&p.given_fds, 2),
            pidns: passed_raw(&p.given_fds, 3),
        };
        let become_root = plan.subids.is_some_and(|s| s.range_is_root);
        child_after_clone(
            fds,
            &p.exe,
            &p.argv,
            &p.envp,
            &mut p.exec_error,
            become_root,
            // --userns-block-fd: the caller's maps, our uid in them not 0.
            given.caller_maps && !host && !joins,
        );
    }
    Ok((pid, in_cgroup))
}

/// The number of a descriptor in `Prepared::given_fds`, or -1.
fn passed_raw(passed: &Option<[Option<OwnedFd>; 4]>, i: usize) -> c_int {
    passed
        .as_ref()
        .and_then(|p| p[i].as_ref())
        .map_or(-1, |f| f.as_raw_fd())
}

/// The inode numbers of the sandbox's namespaces (as `stat -L
/// /proc/self/ns/NAME` shows them inside), by bubblewrap's names; the
/// network's only when it is the sandbox's own.
fn namespace_ids(pid: pid_t, share_net: bool) -> Vec<(&'static str, u64)> {
    let mut out = Vec::new();
    for (key, ns) in channel::NAMESPACES {
        if ns == "net" && share_net {
            continue;
        }
        let path = format!("/proc/{pid}/ns/{ns}");
        if let Ok(m) = std::fs::metadata(&path) {
            out.push((key, std::os::unix::fs::MetadataExt::ino(&m)));
        }
    }
    out
}

/// A clone child not yet released: dropping it kills and reaps it (it
/// would read EOF on the control pipe and leave anyway; the kill makes
/// that immediate and the reap leaves no zombie).
struct Unreleased {
    pid: pid_t,
}

impl Drop for Unreleased {
    fn drop(&mut self) {
        let _ = sys::kill(self.pid, libc::SIGKILL);
        let _ = sys::waitpid(self.pid, false);
    }
}

/// The launcher's part between clone and the command: cgroup placement
/// (before 5.7), the guard, the id maps, pasta (`--net pasta`), then the
/// release byte and the plan. Returns the pidfd, the guard and pasta.
/// What `release` sets up, made before clone.
struct ReleaseWith<'a> {
    cgroup: Option<&'a Cgroup>,
    /// Whether clone put the child in the cgroup already.
    in_cgroup: bool,
    plan_bytes: &'a [u8],
    /// The caller's terminal and its settings, for the guard to restore.
    guard_tty: Option<(c_int, sys::Termios)>,
    pasta: Option<&'a PastaLaunch>,
    subids: Option<&'a crate::plan::subid::SubIds>,
    /// The host mode: no user namespace, so no maps.
    host: bool,
    /// The user namespace is the caller's (`GivenNs::callers_userns`): its
    /// maps are not ours to write.
    callers_userns: bool,
    /// Whether a guard is forked (`start` says when it is not).
    guard_needed: bool,
    /// The join path: the control pipe is kept for the go-ahead, and the
    /// guard is forked by `start` once the sandbox's first process is
    /// known, to watch it.
    joins: bool,
}

/// What `release` leaves: the pidfd, the guard and pasta.
type Released = (
    Option<OwnedFd>,
    Option<Guard>,
    Option<Pasta>,
    Option<PlanSender>,
);

fn release(
    child: &Unreleased,
    ctl_write: OwnedFd,
    with: ReleaseWith<'_>,
) -> std::result::Result<Released, Failed> {
    let ReleaseWith {
        cgroup,
        in_cgroup,
        plan_bytes,
        guard_tty,
        pasta,
        subids,
        host,
        callers_userns,
        guard_needed,
        joins,
    } = with;
    let pid = child.pid;
    if let (Some(cg), false) = (cgroup, in_cgroup) {
        // No CLONE_INTO_CGROUP (kernel < 5.7): the child has not run
        // anything of ours yet (it waits for the release byte), so moving
        // it now still places it before the command.
        cg.place(pid)?;
    }
    let pidfd = match sys::pidfd_open(pid) {
        Ok(fd) => Some(fd),
        // Kernels before 5.3: no guard, PR_SET_PDEATHSIG is the defence
        // (docs/SUPERVISION.md), and the wait loop polls.
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => None,
        Err(e) => {
            return Err(e)
                .ctx_step("open a pidfd for the sandbox")
                .map_err(Failed::Other)
        }
    };
    // The guard must exist before the command can clear its death signal:
    // the command runs only after the child stage has the plan, which is
    // sent once the guard runs. Until then the clone child's and the
    // stage's PR_SET_PDEATHSIG covers our death, so the guard is forked
    // after the release byte, while the clone child execs the stage. With
    // pasta or a cgroup, which the guard also cleans up after us, it is
    // forked first, as before.
    let mut guard_tty = Some(guard_tty);
    let mut spawn_guard = || match &pidfd {
        Some(fd) => Guard::spawn(
            fd,
            cgroup.map(|c| c.dir()),
            guard_tty.take().flatten(),
            pasta.is_some(),
        )
        .map(Some),
        None => Ok(None),
    };
    let early = pasta.is_some() || cgroup.is_some();
    let mut guard = if early && guard_needed {
        spawn_guard()?
    } else {
        None
    };
    match subids {
        _ if host || callers_userns => {}
        // Through shadow's helpers, which check /etc/subuid and /etc/subgid
        // (plan/subid.rs); newgidmap leaves setgroups as the policy there says.
        Some(s) => crate::plan::subid::write_maps(pid, s)?,
        None => write_id_maps(proc_pid(pid, pidfd.as_ref())).map_err(|e| match e.raw_errno() {
            Some(n) if hostmode::refused(Some(n)) => {
                Failed::Refused(hostmode::diagnose("write the id maps", n))
            }
            _ => Failed::Other(e),
        })?,
    }
    // pasta joins the namespaces through /proc/PID/ns, so after the maps
    // (it needs the user namespace's capabilities, which an unmapped
    // namespace does not give) and before the release, so the command
    // starts with the interface configured. The guard learns its pid
    // before anything else can happen, and kills it if we die.
    let pasta = match pasta {
        Some(launch) => {
            let p = Pasta::start(launch, pid, |pasta| {
                if let Some(g) = &guard {
                    g.watch(pasta);
                }
            })?;
            Some(p)
        }
        None => None,
    };
    // The release byte, for the clone child; the plan, for the child stage
    // it execs. EPIPE: the child died before reading; its status and its
    // report say why.
    let ctl = PlanSender::new(ctl_write);
    let released = ctl.release();
    if released.is_ok() && !early && guard_needed {
        guard = spawn_guard()?;
    }
    // The join path keeps the pipe for its go-ahead (`start`).
    let (sent, kept) = match joins {
        true => (
            released.and_then(|()| ctl.send_plan_keep(plan_bytes)),
            Some(ctl),
        ),
        false => (released.and_then(|()| ctl.send_plan(plan_bytes)), None),
    };
    if let Err(e) = sent {
        if e.raw_os_error() != Some(libc::EPIPE) {
            return Err(e).ctx_step("release the child").map_err(Failed::Other);
        }
    }
    Ok((pidfd, guard, pasta, kept))
}

/// The most the launcher waits for the joining stage's `Up::Joined` (a
/// millisecond or two on an ordinary launch).
const JOINED_WITHIN: Duration = Duration::from_secs(10);

/// After the release of a joining stage (joinns.rs), until it reports the
/// sandbox's first process: its pid and its namespaces (bubblewrap's
/// names, inode numbers; 0 where not read). Notices are passed on; an
/// error, anything else, the stage's end (EOF) or `within` passing fail
/// the run. Signals wait in the signalfd for the supervisor.
fn await_joined(
    reports: &mut ReportReceiver,
    notices: &mut Notices,
    within: Duration,
) -> Result<(pid_t, Vec<(&'static str, u64)>)> {
    const STEP: &str = "join the namespaces given (--userns)";
    let until = Instant::now() + within;
    // Each turn reads at least a byte, or ends the wait.
    for _ in 0..1_000_000 {
        while let Some(m) = reports.next() {
            match m {
                Ok(Up::Notice(n)) => notices.say(n),
                Ok(Up::Joined { pid, namespaces }) => {
                    let named = channel::NAMESPACES
                        .iter()
                        .zip(namespaces)
                        .map(|((key, _), ino)| (*key, ino))
                        .collect();
                    return Ok((pid, named));
                }
                Ok(Up::Error(e)) => return Err(e),
                Ok(other) => {
                    return Err(Error::msg(
                        STEP,
                        format!("unexpected report from the child stage: {other:?}"),
                    ))
                }
                Err(m) => {
                    return Err(Error::msg(
                        STEP,
                        format!("unreadable report from the child stage: {m}"),
                    ))
                }
            }
        }
        let left = until.saturating_duration_since(Instant::now());
        if !reports.is_open() {
            return Err(Error::msg(
                STEP,
                "the child stage ended before it reported the sandbox's first process",
            ));
        }
        if left.is_zero() {
            return Err(Error::msg(
                STEP,
                format!(
                    "the child stage did not report the sandbox's first process within {} s",
                    within.as_secs()
                ),
            ));
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        match sys::poll(&[(reports.fd(), libc::POLLIN)], ms) {
            Ok(rev) if rev[0] != 0 => reports.read_some().ctx_step(STEP)?,
            Ok(_) => {}
            Err(e) => return Err(e).ctx_step(STEP),
        }
    }
    Err(Error::msg(STEP, "too many reports from the child stage"))
}

fn first_error(reports: &mut ReportReceiver) -> Option<Error> {
    while let Some(m) = reports.next() {
        if let Ok(Up::Error(e)) = m {
            return Some(e);
        }
    }
    None
}

impl Running {
    /// Whether it runs in the host mode (`--userns`), without namespaces.
    pub fn host_mode(&self) -> bool {
        self.host_mode
    }

    /// The sandbox's PID 1, as the host sees it (where the stage joins
    /// namespaces the caller gives: the process between, which passes
    /// signals on to the sandbox's first process and ends as it ends).
    pub fn pid(&self) -> pid_t {
        self.pid
    }

    /// The sandbox's namespaces as read at clone, or as the joining stage
    /// reported them (bubblewrap's names and the inode numbers), when the
    /// run asked for them.
    pub fn namespaces(&self) -> &[(&'static str, u64)] {
        &self.namespaces
    }

    /// SIGKILL to the sandbox's PID 1, which takes the whole PID namespace
    /// with it. Ref: pid_namespaces(7)
    pub fn kill(&self) -> std::io::Result<()> {
        self.signal(libc::SIGKILL)
    }

    /// Send `sig` to the sandbox's PID 1 (through the pidfd, when the
    /// kernel has them, so never to a process that reused the pid).
    pub fn signal(&self, sig: c_int) -> std::io::Result<()> {
        // The join path: SIGKILL to the sandbox's first process too, which
        // the clone child's death reaches only through a death signal the
        // command may have cleared.
        if let (Some(fd), libc::SIGKILL) = (&self.inner, sig) {
            let _ = sigsafe::pidfd_send_signal(fd.as_raw_fd(), sig);
        }
        match &self.pidfd {
            Some(fd) => sigsafe::pidfd_send_signal(fd.as_raw_fd(), sig),
            None => sys::kill(self.pid, sig),
        }
    }

    /// [`Running::wait`] for a caller that exits right after (the bwrap
    /// front end): under init, it returns once init has reported the
    /// command's end, as bubblewrap's does, without waiting for the
    /// sandbox's PID 1 to exit and its namespaces to be torn down (the
    /// kernel kills what is left in it as PID 1 goes); the guard is let go
    /// and PID 1 is left for whoever inherits it to reap. Only where
    /// nothing of ours is left to clean up or drain (no cgroup, pasta,
    /// proxy, denials listener or relay); otherwise it is `wait`. The
    /// report has no CPU times or peak memory then.
    pub fn wait_for_status(mut self) -> Report {
        self.sup.leave_at_status = self.cgroup.is_none()
            && self.pasta.is_none()
            && self.proxy.is_none()
            && self.denials.is_none()
            && self.guard.as_ref().is_none_or(|g| g.leaves_with_sandbox());
        self.wait()
    }

    /// Supervise until the sandbox ends, then collect how it ended. The
    /// report says why when the sandbox itself failed (`error`).
    pub fn wait(mut self) -> Report {
        let waited = self.sup.wait(
            &mut self.reports,
            self.sigfd.as_ref(),
            self.pidfd.as_ref(),
            &mut self.relay,
            &mut self.notices,
            super::supervise::Served {
                denials: self.denials.as_mut(),
                proxy: self.proxy.as_ref(),
            },
        );
        // The join path: the clone child has ended (or the wait failed), so
        // the sandbox's first process, which it relayed to, goes too, even
        // one that cleared its death signal. Normally already gone.
        if let Some(fd) = &self.inner {
            let _ = sigsafe::pidfd_send_signal(fd.as_raw_fd(), libc::SIGKILL);
        }
        // The sandbox has ended: its proxy's listening sockets close (the
        // last hold on its network namespace) and every connection ends.
        let net = self.proxy.take().map(|mut p| {
            for n in p.take_notices() {
                self.notices.say(n);
            }
            p.stop()
        });
        // The sandbox has ended (or the wait failed): its network goes too.
        if let Some(p) = &mut self.pasta {
            p.kill();
        }
        let usage = self.cgroup.as_ref().map(|c| c.usage());
        if let Some(mut cg) = self.cgroup.take() {
            if let Err(e) = cg.remove() {
                self.notices
                    .say(e.to_string().trim_start_matches("sandbox: "));
            }
        }
        if let Some(g) = self.guard.take() {
            match self.sup.reaped {
                true => g.dismiss(),
                // Left at init's report (`wait_for_status`), or the wait
                // failed: Drop kills PID 1.
                false if self.sup.leave_at_status => g.leave(),
                false => g.dismiss(),
            }
        }
        // Reaped only after the guard is gone: until then the guard may
        // hold its pid, which must not be reused.
        drop(self.pasta.take());
        let mut report = match waited {
            Ok((ended, reports)) => self.collect(ended, reports, usage.as_ref()),
            Err(e) => Report {
                status: e.exit,
                error: Some(e),
                ..Report::default()
            },
        };
        report.wall = self.started.elapsed();
        report.network = Some(self.network);
        report.denied = match (self.denials.take(), self.denials_skipped.take()) {
            (Some(d), _) => Some(d.finish()),
            (None, Some(why)) => Some(status::Denied {
                skipped: Some(why),
                ..status::Denied::default()
            }),
            (None, None) => None,
        };
        if let (Some(d), true) = (&report.denied, self.verbose) {
            self.notices.say(d.summary());
        }
        report.net = net;
        report.notices = std::mem::take(&mut self.notices.seen);
        let notices = &mut self.notices;
        write_sinks(std::mem::take(&mut self.sinks), &report, &mut |n| {
            notices.say(n.clone());
        });
        report.notices.append(&mut notices.seen);
        report
    }

    /// Turn how PID 1 ended, what came over the report pipe and the
    /// cgroup's counters into the report.
    fn collect(
        &mut self,
        ended: sys::Ended,
        reports: channel::Reports,
        usage: Option<&Usage>,
    ) -> Report {
        let sup = &self.sup;
        let mut report = Report {
            timed_out: sup.timed_out,
            stopped_by: sup.stopped_by,
            killed_after_grace: sup.killed,
            limits_hit_complete: status::limits_hit_complete(&self.limits),
            // The cgroup counts every process of the sandbox, reaped or not.
            user: usage.and_then(|u| u.user).or(Some(ended.user)),
            system: usage.and_then(|u| u.system).or(Some(ended.system)),
            ..Report::default()
        };
        match usage.and_then(|u| u.peak_memory) {
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
            report.status = e.exit;
            report.error = Some(e);
            return report;
        }
        // Under --init, PID 1 is our init and the command's own end came
        // over the report pipe.
        let exit = reports
            .status
            .and_then(Exit::from_status)
            .unwrap_or(ended.exit);
        report.exit = Some(exit);
        report.oom_killed = usage.is_some_and(|u| u.oom_kills > 0);
        report.limits_hit = status::limits_hit(
            Some(exit),
            sup.timed_out,
            &self.limits,
            usage,
            Some(ended.user + ended.system),
        );
        status::add_seen(&mut report.limits_hit, reports.seen);
        report.status = match exit {
            Exit::Code(c) => c as u8,
            Exit::Signal(s) => 128u8.wrapping_add(s as u8),
        };
        if sup.timed_out {
            report.status = EXIT_TIMEOUT;
            let t = self.timeout.map(limits::show_duration).unwrap_or_default();
            self.notices.say(if sup.killed {
                format!(
                    "timed out after {t} s; killed the sandbox after the {} s grace period",
                    limits::show_duration(sup.kill_after)
                )
            } else {
                format!("timed out after {t} s; the command ended on SIGTERM")
            });
        } else if report.oom_killed {
            self.notices.say(
                "the sandbox reached its --memory limit and the kernel killed a process in it",
            );
        }
        report
    }
}

impl Drop for Running {
    /// A `Running` dropped without `wait` (a library caller's early
    /// return, a panic) must not leave a sandbox behind: kill and reap it.
    /// The guard and the cgroup clean up after themselves.
    fn drop(&mut self) {
        if !self.sup.reaped {
            let _ = self.kill();
            // `wait_for_status`: the command has ended and the caller is
            // on its way out; PID 1's exit and teardown are not waited
            // for.
            if !self.sup.leave_at_status {
                let _ = sys::waitpid(self.pid, false);
            }
        }
        if let Some(g) = self.guard.take() {
            g.dismiss();
        }
    }
}

/// The child's pid as the /proc we see numbers it: `pid`, unless that
/// /proc belongs to another PID namespace than ours (the bwrap front end
/// run inside a sandbox whose /proc is the host's, `--bind /proc /proc`:
/// bubblewrap's own tests do it), where /proc/PID would be another
/// process, and writing its maps the wrong namespace's. Then the number
/// the pidfd's fdinfo gives, which is in the PID namespace of the procfs
/// read (Linux 5.10+ for fdinfo; before, `pid`, and a refused write).
fn proc_pid(pid: pid_t, pidfd: Option<&std::os::fd::OwnedFd>) -> pid_t {
    let ours = std::process::id().to_string();
    if std::fs::read_link("/proc/self").is_ok_and(|p| p.as_os_str() == ours.as_str()) {
        return pid;
    }
    let Some(fd) = pidfd else { return pid };
    let info = std::fs::read_to_string(format!(
        "/proc/self/fdinfo/{}",
        std::os::fd::AsRawFd::as_raw_fd(fd)
    ))
    .unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|n| n.trim().parse::<pid_t>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(pid)
}

/// Our own uid and gid as 0 inside: uid_map, then "deny" to setgroups,
/// then gid_map, by the one id-map writer (plan/idmap.rs).
fn write_id_maps(pid: pid_t) -> Result<()> {
    let uid = [IdMap::single(0, sys::geteuid())];
    let gid = [IdMap::single(0, sys::getegid())];
    crate::plan::idmap::write(pid, &uid, &gid, Writer::Launcher).map_err(|e| {
        if e.raw_errno() == Some(libc::EPERM) {
            e.with_hint(USERNS_HINT)
        } else {
            e
        }
    })
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
