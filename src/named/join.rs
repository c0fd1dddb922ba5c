//! `sandbox exec NAME COMMAND`: run a command inside a running sandbox,
//! as confined as the sandbox's own command (issue 17; docs/SECURITY.md,
//! "sandbox exec"; docs/DECISIONS.md, "Named sandboxes").
//!
//! Three processes, as the launcher has for `run`:
//!
//! ```text
//! exec (the CLI, on the host): find the entry, check the pidfd of the
//! │   sandbox's PID 1 against the record, open its root (and ns files),
//! │   prepare the stdio relay, block signals; then relay, forward, wait
//! └─ helper (fork): non-dumpable, PDEATHSIG; setns into the sandbox's
//!    │   user, mount, PID, UTS, IPC, network (and cgroup) namespaces
//!    │   through the pidfd (Linux 5.8; /proc/PID/ns files before);
//!    │   forwards signals, reports the command's wait status
//!    └─ command (fork, so in the sandbox's PID namespace): chroot to
//!           the sandbox's root, its own session (and pty with -t),
//!           environment, --uid, working directory, then the child
//!           stage's own steps with the sandbox's saved plan: rlimits,
//!           capabilities, no_new_privs, Landlock, PDEATHSIG, seccomp,
//!           execve
//! ```
//!
//! Failures come up the report pipe as the child stage's do (channel.rs),
//! so the exit codes are `run`'s: the command's own, 128+N, 125, 126, 127.

use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

use libc::c_int;

use crate::channel::{self, ReportReceiver, ReportSender, Up};
use crate::confine::{landlock, nsjoin};
use crate::error::{Context, Error, Result};
use crate::launch::relay;
use crate::launch::stage;
use crate::named::state;
use crate::plan::{Plan, StdioMode};
use crate::signals::HANDLED;
use crate::sys::{self, sigsafe, Exit};

/// What `sandbox exec` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecArgs {
    pub name: String,
    /// Never empty: `/bin/sh` when none was given.
    pub command: Vec<OsString>,
    /// Default `/`.
    pub chdir: Option<OsString>,
    pub setenv: Vec<(OsString, OsString)>,
    /// Default: the sandbox's own `--uid` and `--gid`.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    /// `-t`: a terminal on stdio gets a pty of the sandbox's own (job
    /// control); without it, a terminal is pumped like a file.
    pub tty: bool,
}

/// Every namespace of the sandbox's but the PID one's is the caller's
/// own after setns; the PID namespace is its children's.
const NAMESPACES: [(&str, c_int); 7] = [
    ("user", libc::CLONE_NEWUSER),
    ("mnt", libc::CLONE_NEWNS),
    ("pid", libc::CLONE_NEWPID),
    ("uts", libc::CLONE_NEWUTS),
    ("ipc", libc::CLONE_NEWIPC),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
];

/// What the helper needs, all opened on the host before the fork.
struct Target {
    pidfd: OwnedFd,
    /// The sandbox's outer user namespace when its PID 1 sits in the
    /// nested one of `--uid`/`--gid` (whose parent it is).
    outer_user: Option<OwnedFd>,
    /// `/proc/PID/ns/*`, for kernels whose setns takes no pidfd.
    ns: Vec<(c_int, OwnedFd)>,
    /// `/proc/PID/root`: the sandbox's root directory.
    root: OwnedFd,
    /// The sandbox's own cgroup (when it has limits): the command is
    /// born there.
    cgroup: Option<OwnedFd>,
}

fn open_target(live: &state::Live, plan: &Plan) -> Result<Target> {
    let (pid, start) = (live.record.pid, live.record.pid_start);
    let ended = || Error::msg("find the sandbox", "it has ended").with_path(live.name.clone());
    let pidfd = state::checked_pidfd(pid, start).ok_or_else(ended)?;
    // Not before its set-up is done (no_new_privs comes after pivot_root
    // and the nested user namespace): until then its root is the host's.
    // Checked before /proc/PID/root is opened, and the sandbox's own
    // processes cannot chroot or pivot_root after it.
    if !state::wait_confined(pid, start, std::time::Duration::from_secs(5)) {
        return Err(Error::msg(
            "join the sandbox",
            "it has not finished setting up (or has ended)",
        )
        .with_path(live.name.clone()));
    }
    let proc = |rest: &str| Path::new("/proc").join(pid.to_string()).join(rest);
    // Not O_PATH: the ioctl below needs a real open.
    let open = |p: &Path| std::fs::File::open(p).map(OwnedFd::from);
    let root = sys::open_path(
        &proc("root"),
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
    )
    .ctx("open the sandbox's root", proc("root").display())?;
    let mut ns = Vec::new();
    for (name, flag) in NAMESPACES {
        let p = proc(&format!("ns/{name}"));
        ns.push((
            flag,
            open(&p).ctx("open the sandbox's namespace", p.display())?,
        ));
    }
    // With subordinate ids, --uid/--gid need no nested namespace: PID 1 is
    // in the sandbox's own user namespace then.
    let outer_user = if plan.subids.is_none() && (plan.uid != 0 || plan.gid != 0) {
        let user = &ns[0].1;
        Some(sys::ns_parent(user.as_fd()).ctx(
            "find the sandbox's user namespace",
            proc("ns/user").display(),
        )?)
    } else {
        None
    };
    let cgroup = if live.record.cgroup {
        let text = std::fs::read_to_string(proc("cgroup")).ctx("read", proc("cgroup").display())?;
        let rel = crate::procfs::unified_cgroup(&text)
            .ok_or_else(|| Error::msg("find the sandbox's cgroup", "no cgroup v2 line"))?;
        let dir = crate::confine::cgroup::Found::read()?
            .unified()
            .and_then(|h| h.dir_of(rel))
            .ok_or_else(|| {
                Error::msg(
                    "find the sandbox's cgroup",
                    format!("cgroup v2 is not mounted where this process can see {rel}"),
                )
            })?;
        Some(
            sys::open_path(&dir, libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
                .ctx("open the sandbox's cgroup", dir.display())?,
        )
    } else {
        None
    };
    // Opened by pid: still the same process after the opens, so what was
    // opened is its, not a stranger's that took the pid since.
    if crate::procfs::start_time(pid) != Some(start) || !sys::pidfd_alive(pidfd.as_fd()) {
        return Err(ended());
    }
    Ok(Target {
        pidfd,
        outer_user,
        ns,
        root,
        cgroup,
    })
}

/// `sandbox exec`: the command's status (its own, 128+N), or the error
/// (125, 126, 127) for the caller to print.
pub fn exec(a: ExecArgs, term: Option<OsString>) -> Result<u8> {
    let live = state::find(&a.name)?;
    let bytes = live.plan()?;
    let plan = channel::decode_plan(&bytes)
        .map_err(|m| Error::msg("read the sandbox's plan", m).with_path(a.name.clone()))?;
    if plan.host_mode {
        return Err(Error::msg(
            "exec",
            "this sandbox runs in the host mode (--userns): it has no namespaces to join",
        )
        .with_path(a.name.clone())
        .with_hint("run the command with 'sandbox run --userns off / COMMAND' instead"));
    }
    let target = open_target(&live, &plan)?;
    let stdio = relay::prepare_with(StdioMode::Relay, a.tty)?;
    let (report_r, report_w) = sys::pipe_high().ctx_step("create the report pipe")?;
    sys::block_signals(&HANDLED).ctx_step("block signals")?;
    let sigfd = sys::signalfd(&HANDLED).ctx_step("create the signal fd")?;
    let mut cmd = plan.clone();
    cmd.command = a.command;
    cmd.setenv = a.setenv;
    cmd.term = term;
    cmd.uid = a.uid.unwrap_or(plan.uid);
    cmd.gid = a.gid.unwrap_or(plan.gid);
    cmd.chdir = a.chdir.unwrap_or_else(|| "/".into());
    cmd.pty = stdio.pty.clone();
    let helper = sys::fork().ctx_step("start the exec helper")?;
    if helper == 0 {
        // ---- The helper: a fork of this single-threaded process ----
        let report = ReportSender::new(report_w.as_raw_fd());
        let e = match helper_main(&target, &plan, &cmd, &stdio, report_w.as_raw_fd(), &sigfd) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        report.error(&e);
        sys::exit_now(e.exit as i32);
    }
    drop(report_w);
    drop(target);
    let mut relay = stdio.after_clone();
    let helper_fd = sys::pidfd_open(helper).ctx_step("open a pidfd for the exec helper")?;
    let mut reports = ReportReceiver::new(report_r);
    let mut got = channel::Reports::default();
    loop {
        let base = [sigfd.as_fd(), helper_fd.as_fd()];
        let (rev, report_ready) = relay.poll_round(&base, &reports, -1, "wait for the command")?;
        if report_ready {
            reports.read_some().ctx_step("read the report pipe")?;
            take(&mut reports, &mut got);
        }
        if rev[0] != 0 {
            while let Some(info) = sys::read_signal(sigfd.as_fd()).ctx_step("read signals")? {
                let sig = info.signo;
                let from_terminal = info.code == libc::SI_KERNEL;
                let handled = match sig {
                    libc::SIGCHLD => true,
                    libc::SIGWINCH => relay.resize(),
                    libc::SIGINT | libc::SIGQUIT if from_terminal => relay.terminal_signal(sig),
                    _ => false,
                };
                if !handled {
                    // The helper passes it on to the command.
                    let _ = sys::kill(helper, sig);
                }
            }
        }
        if rev[1] != 0 {
            let _ = sys::waitpid(helper, false);
            relay.finish();
            reports.read_to_end();
            take(&mut reports, &mut got);
            break;
        }
    }
    if let Some(e) = got.error {
        return Err(e);
    }
    match got.status.and_then(Exit::from_status) {
        Some(Exit::Code(c)) => Ok(c as u8),
        Some(Exit::Signal(s)) => Ok(128u8.wrapping_add(s as u8)),
        None => Err(Error::msg("exec", "the exec helper ended without a report")),
    }
}

fn take(reports: &mut ReportReceiver, got: &mut channel::Reports) {
    while let Some(m) = reports.next() {
        match m {
            Ok(Up::Notice(n)) => eprintln!("sandbox: {n}"),
            Ok(Up::Error(e)) => {
                got.error.get_or_insert(e);
            }
            Ok(Up::Status(s, _)) => got.status = Some(s),
            Ok(m @ (Up::Reached(_) | Up::Joined { .. })) => {
                got.error
                    .get_or_insert(Error::msg("exec", format!("unexpected report {m:?}")));
            }
            Err(m) => {
                got.error
                    .get_or_insert(Error::msg("exec", format!("unreadable report: {m}")));
            }
        }
    }
}

/// Close every fd of this process but 0–2 and `keep`.
fn close_all_but(keep: &[RawFd]) {
    let _ = sys::close_from_except(3, keep);
}

/// Join the sandbox's namespaces: through the pidfd, all at once, when
/// the kernel can (5.8); else through the ns files, user first.
fn join(t: &Target, cgroup_later: bool) -> Result<()> {
    let mut flags = NAMESPACES.iter().fold(0, |f, (_, n)| f | n);
    if cgroup_later {
        flags &= !libc::CLONE_NEWCGROUP;
    }
    if let Some(outer) = &t.outer_user {
        // PID 1 sits in the nested namespace of --uid/--gid, whose
        // capabilities do not reach the mounts: join the outer one, and
        // the command makes its own nested one as the child stage did.
        sys::setns(outer.as_fd(), libc::CLONE_NEWUSER)
            .ctx_step("join the sandbox's user namespace")?;
        flags &= !libc::CLONE_NEWUSER;
    }
    match sys::setns(t.pidfd.as_fd(), flags) {
        Ok(()) => return Ok(()),
        // No setns through a pidfd (before 5.8).
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {}
        Err(e) => return Err(e).ctx_step("join the sandbox's namespaces"),
    }
    for (flag, fd) in &t.ns {
        if flags & flag != 0 {
            let shown = format!("{} namespace", nsjoin::kind(*flag));
            nsjoin::join(fd.as_fd(), *flag, "join the sandbox's namespaces", &shown)?;
        }
    }
    Ok(())
}

/// The helper: join, fork the command, pass signals on, report its end.
fn helper_main(
    t: &Target,
    plan: &Plan,
    cmd: &Plan,
    stdio: &relay::Prepared,
    report_w: RawFd,
    sigfd: &OwnedFd,
) -> Result<std::convert::Infallible> {
    // Nothing in the sandbox may attach to us or open our /proc files
    // once we are in its namespaces. Ref: CVE-2019-5736, CVE-2016-9962
    sys::set_dumpable(false).ctx_step("mark the exec helper non-dumpable")?;
    sys::set_parent_death_signal(libc::SIGKILL).ctx_step("set the parent death signal")?;
    let mut keep = vec![
        report_w,
        sigfd.as_raw_fd(),
        t.pidfd.as_raw_fd(),
        t.root.as_raw_fd(),
    ];
    keep.extend(t.outer_user.as_ref().map(|f| f.as_raw_fd()));
    keep.extend(t.ns.iter().map(|(_, f)| f.as_raw_fd()));
    keep.extend(t.cgroup.as_ref().map(|f| f.as_raw_fd()));
    keep.extend(stdio.child_stdio.iter().copied().filter(|&f| f >= 0));
    if stdio.child_tty >= 0 {
        keep.push(stdio.child_tty);
    }
    close_all_but(&keep);
    join(t, t.cgroup.is_some())?;
    let cgroup = t.cgroup.as_ref().map(|f| f.as_fd());
    let (pid, in_cgroup) =
        sys::clone_namespaces(0, cgroup).ctx_step("start the command in the sandbox's cgroup")?;
    if pid == 0 {
        // ---- The command's process: in the sandbox's PID namespace ----
        let report = ReportSender::new(report_w);
        let e = match command_main(t, plan, cmd, stdio, report_w) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        report.error(&e);
        sys::exit_now(e.exit as i32);
    }
    if cgroup.is_some() && !in_cgroup {
        let _ = sys::kill(pid, libc::SIGKILL);
        let _ = sys::waitpid(pid, false);
        return Err(Error::msg(
            "join the sandbox's cgroup",
            "this kernel cannot start a process in a cgroup (CLONE_INTO_CGROUP, Linux 5.7)",
        ));
    }
    // Not ours to hold: the command's stdio and pty socket (its pipes
    // read EOF only when every end is closed), the caller's stdio.
    for fd in stdio.child_stdio.iter().chain([&stdio.child_tty]) {
        if *fd >= 0 {
            let _ = sys::close(*fd);
        }
    }
    for fd in 0..3 {
        let _ = sys::close(fd);
    }
    let report = ReportSender::new(report_w);
    loop {
        let _ = sys::poll(&[(sigfd.as_fd(), libc::POLLIN)], 1000);
        while let Ok(Some(info)) = sys::read_signal(sigfd.as_fd()) {
            if info.signo != libc::SIGCHLD {
                let _ = sys::kill(pid, info.signo);
            }
        }
        if let Ok(Some(end)) = sys::waitpid(pid, true) {
            let status = match end {
                Exit::Code(c) => (c & 0xff) << 8,
                Exit::Signal(s) => s & 0x7f,
            };
            report.status(status, 0);
            sys::exit_now(0);
        }
    }
}

/// The command's process, until its exec: the sandbox's root, then the
/// child stage's own steps in the child stage's order.
fn command_main(
    t: &Target,
    plan: &Plan,
    cmd: &Plan,
    stdio: &relay::Prepared,
    report_w: RawFd,
) -> Result<std::convert::Infallible> {
    if t.cgroup.is_some() {
        let cgns = t.ns.iter().find(|(f, _)| *f == libc::CLONE_NEWCGROUP);
        if let Some((_, fd)) = cgns {
            sys::setns(fd.as_fd(), libc::CLONE_NEWCGROUP)
                .ctx_step("join the sandbox's cgroup namespace")?;
        }
    }
    // The sandbox's root, as its PID 1 has it (after its pivot_root).
    sys::fchdir(&t.root).ctx_step("enter the sandbox's root")?;
    sys::chroot(OsStr::new(".")).ctx_step("enter the sandbox's root")?;
    std::env::set_current_dir("/").ctx("chdir", "/")?;
    // A session of our own, as the sandbox's command has; with -t the
    // pty below becomes its controlling terminal.
    sigsafe::setsid().ctx_step("start a new session")?;
    for (target, src) in [0, 1, 2].into_iter().zip(stdio.child_stdio) {
        if src >= 0 {
            sigsafe::dup2(src, target).ctx_step("set up stdio")?;
        }
    }
    if let Some(pty) = &cmd.pty {
        let sock = sys::adopt_fd(stdio.child_tty).ctx_step("adopt the pty socket")?;
        relay::make_pty(pty, sock, true)?;
    }
    // Nothing but 0–2 and the report pipe, which closes on exec.
    let report = ReportSender::new(report_w);
    close_all_but(&[report_w]);
    let env = stage::environment(cmd, stage::rootfs_home(cmd.uid, &report));
    if plan.subids.is_none() && (cmd.uid != 0 || cmd.gid != 0) {
        // Writing our own uid_map needs our /proc/self files to be ours,
        // which they are not while we are non-dumpable with memory made on
        // the host. Dumpable for these two writes: nothing in the sandbox
        // can attach to us meanwhile, since we hold capabilities it lacks
        // (ptrace's capability-subset rule); the credential change makes
        // us non-dumpable again, and so does the line after.
        sys::set_dumpable(true).ctx_step("set up --uid/--gid")?;
        stage::enter_identity(cmd.uid, cmd.gid, None)?;
        sys::set_dumpable(false).ctx_step("mark the command non-dumpable")?;
    }
    stage::enter_workdir(&cmd.chdir)?;
    // Before the limits (RLIMIT_FSIZE applies to the trampoline's memfd).
    let command = stage::prepare_exec(cmd, &env, report_w)?;
    sys::unblock_all_signals().ctx_step("unblock signals")?;
    crate::signals::restore_defaults().ctx_step("restore the default signal dispositions")?;
    // The sandbox's plan, not the exec's arguments, says how confined.
    stage::set_rlimits(plan)?;
    // With subordinate ids the identity is a plain setresuid inside the
    // sandbox's own user namespace, made while the capabilities go.
    stage::drop_capabilities(plan.subids.map(|_| (cmd.uid, cmd.gid)))?;
    sys::set_no_new_privs().ctx_step("set no_new_privs")?;
    let root_writable = sys::mount_flags(OsStr::new("/"))
        .map(|f| f & libc::MS_RDONLY == 0)
        .unwrap_or(false);
    for n in landlock::apply(plan, root_writable)?.notices {
        report.notice(&n);
    }
    sys::set_parent_death_signal(libc::SIGKILL).ctx_step("set the parent death signal")?;
    if plan.seccomp {
        stage::apply_seccomp(plan, None)?;
    }
    Err(command.run())
}
