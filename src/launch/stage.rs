//! Stage 2: `sandbox child`, the child stage: the binary re-exec'd by the
//! clone child (clone_child.rs) once its id maps are written.
//!
//! (`sandbox child join U [P]`: first the namespaces the caller gives are
//! joined and the sandbox's first process forked, joinns.rs; that process
//! goes on from here.)
//!
//! read the plan (channel.rs) → a helper thread makes the network
//! namespace, brings lo up and writes the namespace limits (`Helper`)
//! while this one sets the hostname, mounts and pivot_roots (confine/rootfs.rs)
//! → join it (setns) → environment → nested user namespace for
//! --uid/--gid → working directory (checked) → fd hygiene → drop
//! capabilities → no_new_privs → Landlock → seccomp → execve(command).
//! Every failure goes back to the launcher over the report pipe (fd 3) as
//! an encoded `Error`; the launcher prints it once. docs/ARCHITECTURE.md
//! has the order and the reasons for it.

use std::convert::Infallible;
use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::channel::{
    self, ReportSender, BLOCK_FD, DENIALS_FD, PLAN_FD, PROXY_FD, REPORT_FD, TTY_FD, USERNS2_FD,
};
use crate::confine::caps::{self, CapSets, Securebits};
use crate::confine::rootfs;
use crate::confine::trampoline::{Sealed, Trampoline};
use crate::confine::untrusted::{self, Refused, MAX_ROOTFS_FILE};
use crate::confine::{landlock, nsjoin, seccomp};
use crate::error::{Context, Error, Result, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND, EXIT_SANDBOX};
use crate::launch::joinns;
use crate::launch::passfds;
use crate::launch::relay;
use crate::launch::status;
use crate::plan::idmap::IdMap;
use crate::plan::{BuiltUserns, Plan, StdioMode};
use crate::signals::{self, HANDLED};
use crate::sys;

/// The PATH the command starts with (Debian's default for root).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `sandbox child`. Returns only on a failure, reported, with the exit
/// code.
/// The stage's third argument in the host mode (launch/hostmode.rs),
/// where it is not PID 1 of a new PID namespace.
pub const HOST_ARG: &str = "host";

pub fn main() -> u8 {
    // ---- Child stage: PID 1 of the new PID namespace, uid 0 with every
    // capability in the new user namespace, nothing of the host unmounted
    // yet; the plan on fd 4, the report pipe on fd 3 ----
    if !started_by_launcher() {
        Error::msg(
            "child",
            "this is the internal second stage of 'sandbox run' and is not run by hand",
        )
        .with_hint("use 'sandbox run ROOTFS [COMMAND]'")
        .report();
        return EXIT_SANDBOX;
    }
    let report = ReportSender::on_report_fd();
    let host = host_arg();
    // The join path (joinns.rs): exec'd in the caller's user namespace,
    // non-dumpable before anything else, and so while it joins.
    let join = joinns::Given::from_args();
    if join.is_some() {
        if let Err(e) = sys::set_dumpable(false).ctx_step("mark the child stage non-dumpable") {
            report.error(&e);
            return e.exit;
        }
    }
    // The join path keeps the control pipe: the launcher's go-ahead comes
    // on it once it holds the sandbox's first process.
    let received = match join {
        Some(_) => channel::recv_plan_keep().map(|(plan, ctl)| (plan, Some(ctl))),
        None => channel::recv_plan().map(|plan| (plan, None)),
    };
    let e = match received.and_then(|(plan, ctl)| {
        let joined_pidns = plan.built.as_ref().map(|b| b.joined_pidns);
        match (plan.host_mode, host, join, ctl) {
            (false, false, Some(given), Some(ctl))
                if joined_pidns.is_none_or(|j| j == given.pid.is_some()) =>
            {
                joinns::join_and_fork(&plan, &report, given, ctl)?;
                stage(&plan, &report)
            }
            (false, false, None, _) if joined_pidns != Some(true) => stage(&plan, &report),
            (true, true, None, _) => host_stage(&plan, &report),
            _ => Err(Error::msg(
                "child",
                "the plan and the arguments disagree on the host mode or the namespaces to join",
            )),
        }
    }) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    report.error(&e);
    e.exit
}

/// The launcher's clone child is PID 1 of a new PID namespace and execs us
/// with the two pipes on `REPORT_FD` and `PLAN_FD`; anything else is a
/// person (or a program) running `sandbox child` by hand.
fn started_by_launcher() -> bool {
    let is_fifo = |fd| {
        sys::adopt_fd(fd).is_ok_and(|f| {
            let fifo =
                sys::fstat(f.as_fd()).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFIFO);
            // Not ours to close yet: the stage adopts them for real below.
            std::mem::forget(f);
            fifo
        })
    };
    (std::process::id() == 1 || host_arg() || joinns::Given::from_args().is_some())
        && is_fifo(REPORT_FD)
        && is_fifo(PLAN_FD)
}

/// `sandbox child host`: the launcher's clone child in the host mode.
fn host_arg() -> bool {
    third_arg(HOST_ARG)
}

/// Whether the stage's third argument is `arg`.
fn third_arg(arg: &str) -> bool {
    std::env::args_os().nth(2).is_some_and(|a| a == arg)
}

/// The sockets the launcher hands the stage, each on its fixed number
/// and only when the plan asks for it: the pty socket (the pty master goes
/// up it), the denials socket (the seccomp listener), the proxy socket
/// (the proxy's listeners).
struct Handed {
    tty: Option<OwnedFd>,
    denials: Option<OwnedFd>,
    proxy: Option<OwnedFd>,
    /// The bwrap front end's `--userns2` and `--block-fd` descriptors.
    userns2: Option<OwnedFd>,
    block: Option<OwnedFd>,
}

/// Adopt the descriptors of [`Handed`] and close everything else the caller
/// left open without CLOEXEC: it came through the clone and the exec, and
/// none of it may reach the command but what the plan passes (the bwrap
/// front end's, launch/passfds.rs). (The plan's fd is closed already.)
fn adopt_handed(plan: &Plan) -> Result<Handed> {
    let adopt = |wanted: bool, fd: RawFd, what: &str| -> Result<Option<OwnedFd>> {
        match wanted {
            true => Ok(Some(sys::adopt_fd(fd).ctx(what, format!("fd {fd}"))?)),
            false => Ok(None),
        }
    };
    let h = Handed {
        tty: adopt(plan.pty.is_some(), TTY_FD, "adopt the pty socket")?,
        // Kept until the filter is installed.
        denials: adopt(
            plan.report_denials && plan.seccomp,
            DENIALS_FD,
            "adopt the denials socket",
        )?,
        proxy: adopt(plan.proxy.is_some(), PROXY_FD, "adopt the proxy socket")?,
        userns2: adopt(
            plan.built.as_ref().is_some_and(|b| b.userns2),
            USERNS2_FD,
            "adopt the user namespace (--userns2)",
        )?,
        block: adopt(
            plan.built.as_ref().is_some_and(|b| b.block),
            BLOCK_FD,
            "adopt the descriptor to block on (--block-fd)",
        )?,
    };
    let mut keep: Vec<RawFd> = [
        (&h.tty, TTY_FD),
        (&h.denials, DENIALS_FD),
        (&h.proxy, PROXY_FD),
        (&h.userns2, USERNS2_FD),
        (&h.block, BLOCK_FD),
    ]
    .into_iter()
    .filter_map(|(sock, fd)| sock.is_some().then_some(fd))
    .collect();
    // The bwrap front end's descriptors for the command (passfds.rs).
    keep.extend(passfds::kept(plan));
    sys::close_from_except(REPORT_FD + 1, &keep).ctx_step("close inherited file descriptors")?;
    Ok(h)
}

/// The host mode's stage (launch/hostmode.rs): no namespace, no root to
/// build; the caller's uid on the host's `/`. What the full stage does
/// after its root, in the same order: session, non-dumpable, the pty,
/// environment, working directory, fd hygiene, signals, rlimits,
/// capabilities (none are held unless the caller is root), no_new_privs,
/// Landlock (required: it is the mode's filesystem wall), seccomp (whose
/// default filter refuses namespace creation), exec.
fn host_stage(plan: &Plan, report: &ReportSender) -> Result<Infallible> {
    let Handed {
        tty: tty_sock,
        denials: denials_sock,
        ..
    } = adopt_handed(plan)?;
    if plan.stdio == StdioMode::Relay {
        sys::sigsafe::setsid().ctx_step("start a new session")?;
    }
    sys::set_dumpable(false).ctx_step("mark the child stage non-dumpable")?;
    let pty = match (&plan.pty, tty_sock) {
        (Some(pty), Some(sock)) => Some(relay::make_pty(pty, sock, false)?),
        _ => None,
    };
    let env = environment(plan, rootfs_home(sys::geteuid(), report));
    enter_workdir(&plan.chdir)?;
    let keep: &[RawFd] = if denials_sock.is_some() {
        &[DENIALS_FD]
    } else {
        &[]
    };
    sys::close_from_except(REPORT_FD + 1, keep).ctx_step("close file descriptors")?;
    sys::set_cloexec(REPORT_FD, true).ctx_step("mark the report pipe close-on-exec")?;
    sys::unblock_all_signals().ctx_step("unblock signals")?;
    crate::signals::restore_defaults().ctx_step("restore the default signal dispositions")?;
    let command = prepare_exec(plan, &env, REPORT_FD)?;
    set_rlimits(plan)?;
    // Root (in a container, say) holds capabilities to drop, with
    // CAP_SETPCAP to lock them away; anyone else may only clear the sets.
    match drop_capabilities(None) {
        Err(e) if e.raw_errno() == Some(libc::EPERM) => {
            sys::clear_ambient_caps().ctx_step("clear the ambient capabilities")?;
            sys::clear_caps().ctx_step("clear the capability sets")?;
        }
        other => other?,
    }
    sys::set_no_new_privs().ctx_step("set no_new_privs")?;
    let landlock = crate::launch::hostmode::landlock(plan, pty)?;
    if plan.verbose {
        report.notice(&format!(
            "host mode: capabilities: none; no_new_privs: on; {}; seccomp: {}",
            landlock.summary,
            if plan.seccomp {
                "default filter"
            } else {
                "off"
            }
        ));
    }
    if plan.seccomp {
        apply_seccomp(plan, denials_sock)?;
    }
    Err(command.run())
}

fn stage(plan: &Plan, report: &ReportSender) -> Result<Infallible> {
    let Handed {
        tty: tty_sock,
        denials: mut denials_sock,
        proxy: proxy_sock,
        userns2,
        block,
    } = adopt_handed(plan)?;
    // The network namespace, its `lo` and the namespace limits, made by a
    // helper thread while this one builds the root; started first, as it
    // is the longer of the two. Under --init, here on this thread instead:
    // the thread would be the PID namespace's second task (TID 2), and the
    // command, forked later, PID 3 rather than 2.
    let mut helper = Some(Helper::start(plan, !plan.init)?);
    // A session of our own: the caller's terminal, if any, is not our
    // controlling terminal, so /dev/tty cannot reach it, and nothing we do
    // to our process groups touches the caller's. (Under --stdio inherit
    // the sandbox stays in the caller's session, as it used to.)
    if plan.stdio == StdioMode::Relay || plan.built.as_ref().is_some_and(|b| b.new_session) {
        sys::sigsafe::setsid().ctx_step("start a new session")?;
    }

    // Nothing in the sandbox may open /proc/1/exe (this binary) or attach
    // to us while we set up; execve resets it for the command.
    // Ref: CVE-2019-5736
    sys::set_dumpable(false).ctx_step("mark the child stage non-dumpable")?;
    sys::sethostname(&plan.hostname).ctx("set hostname", &plan.hostname)?;
    if plan.pasta.is_some() {
        // Before the mounts, through the host's /proc, which still shows
        // our own network namespace's sysctls (clone made it, for pasta).
        crate::confine::net::allow_low_ports()?;
        if let Some(p) = &plan.pasta {
            crate::confine::net::install_rules(p)?;
        }
    }
    if plan.sys {
        // A new sysfs shows the mounter's network namespace, which must be
        // the sandbox's own by then (confine/rootfs.rs `mount_sys`).
        helper.take().map_or(Ok(()), |h| h.finish(plan, report))?;
    }
    // Whose user namespace this is (the bwrap front end's --userns,
    // --userns-block-fd: the caller's, no nested one of ours).
    let callers_userns = match plan.built.as_ref().map(|b| b.userns) {
        Some(BuiltUserns::Caller { switch_to }) => Some(switch_to),
        _ => None,
    };
    // A built root (bwrap) may have no /proc of ours: the nested user
    // namespace's maps are written through this one.
    let disable_userns = plan.built.as_ref().is_some_and(|b| b.disable_userns);
    let proc_self = match (
        &plan.built,
        plan.uid != 0 || plan.gid != 0 || disable_userns,
    ) {
        (Some(_), true) if callers_userns.is_none() => Some(
            sys::open_path(Path::new("/proc/self"), libc::O_DIRECTORY).ctx("open", "/proc/self")?,
        ),
        _ => None,
    };
    // The command /proc/self/exe (the bwrap front end's: bubblewrap
    // itself) runs our binary from a sealed copy, made while the host's
    // /proc is in view (`self_copy`).
    let self_copy = match plan.built.as_ref().is_some_and(|b| b.self_exe) {
        true => Some(self_copy()?),
        false => None,
    };
    let root_writable = rootfs::setup(plan, report)?;
    helper.take().map_or(Ok(()), |h| h.finish(plan, report))?;
    // The namespaces are set up and the root is built: a refusal by the
    // host (launch/hostmode.rs `late_refusal`) can only have come before
    // this, which the launcher waits for. Not the bwrap front end's: it
    // does not wait (bubblewrap's caller may act on --info-fd first).
    if plan.built.is_none() {
        let _ = report.up(&channel::Up::Reached(channel::Point::Isolated));
    }
    // In the sandbox's network namespace now: the proxy's listening
    // sockets on its loopback, for the launcher to serve.
    if let (Some(p), Some(sock)) = (&plan.proxy, proxy_sock) {
        crate::confine::proxy::listen_and_send(p, sock)?;
    }
    if let (Some(pty), Some(sock)) = (&plan.pty, tty_sock) {
        // A built root (the bwrap front end's `relay`) has a /dev only
        // where the command line put one, perhaps the host's: no
        // /dev/console link made there, and no /dev/ptmx is the caller's
        // to fix.
        relay::make_pty(pty, sock, plan.built.is_none()).map_err(|e| {
            match (&plan.built, e.raw_errno()) {
                (Some(_), Some(libc::ENOENT)) => e.with_hint(
                    "the relay (--sandbox-defaults relay) makes the command's terminal in the \
                     sandbox's own devpts: add --dev /dev",
                ),
                _ => e,
            }
        })?;
    }
    if let Some(pasta) = &plan.pasta {
        crate::confine::net::write_etc(pasta, &plan.hostname)?;
    }
    // A built root (the bwrap front end): the environment is exactly the
    // one given, PWD set below.
    let mut env = match plan.built {
        Some(_) => plan.setenv.clone(),
        None => environment(plan, rootfs_home(plan.uid, report)),
    };
    // With subordinate ids mapped, --uid/--gid are ids of this namespace:
    // reached by setresuid as capabilities are dropped, no nested user
    // namespace (docs/DECISIONS.md).
    // --userns2: the caller's user namespace, joined once the root is
    // built (the nested one of --uid/--gid is made in it).
    if let Some(ns) = &userns2 {
        let join = || {
            nsjoin::join(
                ns.as_fd(),
                libc::CLONE_NEWUSER,
                "join the user namespace (--userns2)",
                &format!("fd {USERNS2_FD}"),
            )
        };
        // EINVAL is worth trying again (a thread not yet gone) only for
        // a user namespace; anything else fails at once, described.
        match sys::ns_type(ns.as_fd()) {
            Ok(t) if t == libc::CLONE_NEWUSER => single_threaded(join)?,
            _ => join()?,
        }
    }
    drop(userns2);
    // In a user namespace the caller gave, --uid/--gid are ids of it,
    // taken by setresuid as capabilities are dropped (bubblewrap's way).
    let switch_to = match callers_userns {
        Some(ids) => ids,
        None => (plan.uid != 0 || plan.gid != 0).then_some((plan.uid, plan.gid)),
    };
    let setresuid = plan.subids.is_some() || callers_userns.is_some();
    // --disable-userns: the command runs in a nested user namespace, as
    // with --uid/--gid, where it cannot undo the sandbox's limit
    // (user.max_user_namespaces = 1, written by the helper above).
    if (switch_to.is_some() && !setresuid) || disable_userns {
        enter_identity(plan.uid, plan.gid, proc_self.as_ref().map(|f| f.as_fd()))?;
    }
    if plan
        .built
        .as_ref()
        .is_some_and(|b| b.assert_userns_disabled)
    {
        assert_userns_disabled()?;
    }
    match plan.built.as_ref() {
        None => enter_workdir(&plan.chdir)?,
        Some(b) => {
            let dir = enter_workdir_or(&plan.chdir, b.chdir_fallback.as_deref())?;
            env.retain(|(k, _)| k != "PWD");
            env.push(("PWD".into(), dir));
        }
    }

    // --block-fd: the sandbox is set up; the command waits for the
    // caller's byte (or EOF), as bubblewrap's does.
    if let Some(fd) = block {
        sys::sigsafe::read_byte(std::os::fd::AsRawFd::as_raw_fd(&fd))
            .ctx("block on --block-fd", format!("fd {BLOCK_FD}"))?;
    }
    // Nothing but 0, 1 and 2 reaches the command (and, from the bwrap
    // front end, the caller's descriptors it passes, put on their numbers
    // here: passfds.rs): the report pipe closes on exec (that EOF is how
    // the launcher knows the command started), and anything opened during
    // setup is closed now.
    // (The denials socket is closed once the listener has gone up it,
    // before the exec; close-on-exec besides.)
    let mut keep = passfds::kept(plan);
    if denials_sock.is_some() {
        keep.push(DENIALS_FD);
    }
    let mut self_copy = self_copy;
    keep.extend(self_copy.as_ref().map(|f| f.as_raw_fd()));
    sys::close_from_except(REPORT_FD + 1, &keep).ctx_step("close file descriptors")?;
    // The sealed copy of our binary (`/proc/self/exe` as the command) off
    // any number a passed descriptor is to take.
    if let Some(f) = self_copy
        .as_ref()
        .filter(|f| passfds::targets(plan).contains(&f.as_raw_fd()))
    {
        let moved = sys::dup_raw_at_least(f.as_raw_fd(), passfds::FIRST_FREE)
            .ctx_step("move the copy of our binary off a passed descriptor's number")?;
        self_copy = Some(moved);
    }
    passfds::place(plan, report, &mut denials_sock)?;
    if let Some(sock) = &denials_sock {
        sys::set_cloexec(std::os::fd::AsRawFd::as_raw_fd(sock), true)
            .ctx_step("mark the denials socket close-on-exec")?;
    }
    sys::set_cloexec(report.fd(), true).ctx_step("mark the report pipe close-on-exec")?;
    if let Some(b) = &plan.built {
        hold_locks(&b.lock_files)?;
    }
    // The mask and ignored dispositions survive execve: the launcher
    // blocked the forwarded signals (or its caller's thread had a mask of
    // its own), Rust's runtime ignores SIGPIPE, and a caller may ignore
    // HUP, INT or QUIT (nohup, `&` in a script).
    sys::unblock_all_signals().ctx_step("unblock signals")?;
    crate::signals::restore_defaults().ctx_step("restore the default signal dispositions")?;

    let mut command = prepare_exec(plan, &env, report.fd())?;
    command.self_copy = self_copy;
    // Resource limits (they survive execve), then privileges, narrowest
    // last: capabilities first (so nothing after can be undone), then
    // no_new_privs (which Landlock and seccomp need without
    // CAP_SYS_ADMIN), Landlock, and seccomp last so the filter need not
    // allow any setup call.
    set_rlimits(plan)?;
    match &plan.built {
        // bubblewrap's capabilities (bwrap/mod.rs `CapRequest`), the
        // securebits left as bubblewrap leaves them.
        Some(b) => give_capabilities(&b.caps, Securebits::Keep, switch_to.filter(|_| setresuid))?,
        None => drop_capabilities(switch_to.filter(|_| setresuid))?,
    }
    sys::set_no_new_privs().ctx_step("set no_new_privs")?;
    let landlock = landlock::apply(plan, root_writable)?;
    for n in &landlock.notices {
        report.notice(n);
    }
    // The nested user namespace changed our credentials, which clears the
    // parent-death signal; arm it again. Ref: prctl(2) PR_SET_PDEATHSIG
    sys::set_parent_death_signal(libc::SIGKILL).ctx_step("set the parent death signal")?;
    // A change of euid (setresuid for --uid in a user namespace the caller
    // gave, or subordinate ids) set the dumpable flag to fs.suid_dumpable:
    // off again, for init, which stays, and until the command's exec.
    sys::set_dumpable(false).ctx_step("mark the child stage non-dumpable")?;
    // A launcher that died while it was cleared sent nothing: under --init
    // with no guard forked (launcher.rs `guard_needed`), this is what
    // keeps the sandbox from outliving it.
    launcher_alive(report)?;
    if plan.verbose {
        report.notice(&format!(
            "capabilities: {}; no_new_privs: on; {}; seccomp: {}{}",
            match plan.built.as_ref().map(|b| b.caps) {
                Some(c) if !c.is_none() => format!(
                    "bounding {:#x}, effective {:#x}, ambient {:#x}",
                    c.bounding, c.effective, c.ambient
                ),
                _ => "none".into(),
            },
            landlock.summary,
            match (&plan.seccomp_profile, plan.seccomp) {
                (_, false) => "off".to_string(),
                (Some(p), true) => format!("profile {}", p.file),
                (None, true) => "default filter".into(),
            },
            if denials_sock.is_some() {
                ", refused calls reported"
            } else {
                ""
            }
        ));
    }
    if plan.seccomp {
        apply_seccomp(plan, denials_sock)?;
    }
    // The bwrap front end's --seccomp FD: the caller's own programs.
    for prog in plan.built.iter().flat_map(|b| &b.seccomp) {
        seccomp::install_raw(prog)?;
    }
    if plan.init {
        init(
            report,
            crate::launch::status::cpu_limit(&plan.limits),
            &passfds::targets(plan),
        )?;
    }
    Err(command.run())
}

/// What the child stage's helper thread does while the main thread builds
/// the root, the two being independent: make the sandbox's network
/// namespace (unless it shares the host's, or clone made it for pasta),
/// bring its `lo` up (a new network namespace starts with it down), and
/// write the namespace limits through the host's /proc (confine/nslimits.rs says
/// which files and why), those the main thread has not taken once it has
/// built the root. Making a network namespace takes about 0.45 ms here
/// and the limits 0.2 ms, the mounts 0.6 ms: in parallel they cost the
/// launch little more than the thread (docs/BENCHMARKS.md).
///
/// The thread unshares the network namespace for itself alone (a
/// namespace is per thread) and hands it back as an fd of
/// `/proc/thread-self/ns/net`, which the main thread joins with setns
/// before the command can run, and before any step that needs it (a new
/// sysfs). Until then the main thread is in the launcher's network
/// namespace with no capability over it, and does nothing there. The
/// thread has ended before anything that needs a single-threaded process
/// (the nested user namespace of --uid; capabilities, Landlock and
/// seccomp, which are per thread).
struct Helper {
    work: Work,
    limits: Arc<SharedLimits>,
}

/// Where the helper's work runs: a thread of its own, or (--init) it was
/// done on the main thread in `Helper::start`, which is then in the new
/// network namespace already.
enum Work {
    Thread(std::thread::JoinHandle<Result<Option<OwnedFd>>>),
    Done,
}

/// The namespace limits to write, taken one at a time by whichever thread
/// is free: the helper once its namespace is made, the main thread once
/// the root is built.
struct SharedLimits {
    list: Vec<(String, u64)>,
    next: AtomicUsize,
    /// The host's /proc/sys.
    sys_dir: OwnedFd,
    /// Indices into `list` of the limits not set.
    not_set: Mutex<Vec<usize>>,
}

impl SharedLimits {
    /// Write what no thread has taken yet.
    fn write_rest(&self) -> Result<()> {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some((name, value)) = self.list.get(i) else {
                return Ok(());
            };
            if !crate::confine::nslimits::apply(self.sys_dir.as_fd(), name, *value)? {
                self.not_set
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(i);
            }
        }
    }
}

impl Helper {
    fn start(plan: &Plan, in_thread: bool) -> Result<Helper> {
        // With pasta or a built root (bwrap), clone made it.
        let new_net = !plan.share_net && plan.pasta.is_none() && plan.built.is_none();
        let lo = !plan.share_net;
        // Opened here, while the host's /proc is in view: both threads
        // walk from them whatever the main thread's root is by then.
        let proc_dir =
            sys::open_path(Path::new("/proc"), libc::O_DIRECTORY).ctx("open", "/proc")?;
        let limits = Arc::new(SharedLimits {
            list: plan.ns_limits.clone(),
            next: AtomicUsize::new(0),
            sys_dir: sys::open_path(Path::new("/proc/sys"), libc::O_DIRECTORY)
                .ctx("open", "/proc/sys")?,
            not_set: Mutex::new(Vec::new()),
        });
        if !in_thread {
            // Our own namespace now: nothing to join later.
            helper_thread(new_net, lo, &limits, proc_dir)?;
            return Ok(Helper {
                work: Work::Done,
                limits,
            });
        }
        let shared = limits.clone();
        let thread = std::thread::Builder::new()
            .name("netns".into())
            .stack_size(256 << 10)
            .spawn(move || helper_thread(new_net, lo, &shared, proc_dir))
            .ctx_step("start the network namespace thread")?;
        Ok(Helper {
            work: Work::Thread(thread),
            limits,
        })
    }

    /// Write the limits the thread has not taken, wait for it, join its
    /// network namespace; say which limits were not set (-v).
    fn finish(self, plan: &Plan, report: &ReportSender) -> Result<()> {
        self.limits.write_rest()?;
        let netns = match self.work {
            Work::Thread(t) => t
                .join()
                .map_err(|_| Error::msg("network namespace thread", "it panicked"))??,
            Work::Done => None,
        };
        if let Some(fd) = netns {
            sys::setns(fd.as_fd(), libc::CLONE_NEWNET).ctx_step("enter the network namespace")?;
        }
        let mut not_set = self
            .limits
            .not_set
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if plan.verbose && !not_set.is_empty() {
            not_set.sort_unstable();
            let names: Vec<&str> = not_set
                .iter()
                .map(|&i| self.limits.list[i].0.as_str())
                .collect();
            report.notice(&format!(
                "namespace limits this kernel does not let the sandbox set: {}",
                names.join(", ")
            ));
        }
        Ok(())
    }
}

const NETNS_HINT: &str =
    "check 'sysctl user.max_net_namespaces' (must be > 0), or run with --share-net";

/// The helper thread's work (`Helper`): its new network namespace, then
/// the limits the main thread has not taken. Under --init the main thread
/// runs it itself (`Helper::start`), and is then in that namespace.
fn helper_thread(
    new_net: bool,
    lo: bool,
    limits: &SharedLimits,
    proc_dir: OwnedFd,
) -> Result<Option<OwnedFd>> {
    if new_net {
        sys::unshare(libc::CLONE_NEWNET)
            .ctx_step("create the network namespace (unshare)")
            .map_err(|e| e.with_hint(NETNS_HINT))?;
    }
    if lo {
        sys::loopback_up().ctx("bring up the loopback interface", "lo")?;
    }
    let netns = if new_net {
        let own = OsStr::new("thread-self/ns/net");
        Some(
            sys::openat(proc_dir.as_fd(), own, libc::O_RDONLY)
                .ctx("open", "/proc/thread-self/ns/net")?,
        )
    } else {
        None
    };
    limits.write_rest()?;
    Ok(netns)
}

/// Whether the launcher still runs, read from the report pipe: it holds
/// the only read end for as long as it lives (the guard keeps none), and
/// the write end of a pipe with no reader polls POLLERR (asked for POLLIN,
/// which a write end never has, the poll reports nothing else).
fn launcher_alive(report: &ReportSender) -> Result<()> {
    match sys::sigsafe::poll(report.fd(), 0) {
        Ok(true) => Err(Error::msg(
            "set the parent death signal",
            "the launcher has ended",
        )),
        _ => Ok(()),
    }
}

/// The plan's rlimits, soft and hard (`sandbox exec` sets them too).
pub(crate) fn set_rlimits(plan: &Plan) -> Result<()> {
    for l in &plan.limits {
        let r = l.resource();
        let shown = format!("{}={}", r.name, crate::confine::limits::show(l.value));
        let (soft, hard) = crate::confine::limits::soft_hard(
            l,
            sys::getrlimit(r.resource).ctx("read limit", &shown)?.1,
        );
        sys::setrlimit(r.resource, soft, hard).ctx("set limit", &shown)?;
    }
    Ok(())
}

/// `--init`: this process stays PID 1, runs the command as PID 2, passes
/// it the signals the parent forwards, reaps every orphan, and when the
/// command ends kills what is left and reports the command's status. It
/// runs under every restriction the command has (set up above). Returns
/// only in the command's process, which then execs.
fn init(
    report: &ReportSender,
    cpu_limit: Option<std::time::Duration>,
    passed: &[RawFd],
) -> Result<()> {
    // Blocked before the fork, so no SIGCHLD or forwarded signal can come
    // before the signalfd is read; the command unblocks them again.
    // (init is this re-exec'd stage: /proc/1/cmdline reads `sandbox child`
    // and its environment is empty; nothing of the launcher's shows.)
    sys::block_signals(&HANDLED).ctx_step("block signals (init)")?;
    let sigfd = sys::signalfd(&HANDLED).ctx_step("create the signal fd (init)")?;
    let cmd = sys::fork().ctx_step("start the command (init)")?;
    if cmd == 0 {
        // ---- The command's process: PID 2 ----
        drop(sigfd);
        sys::unblock_all_signals().ctx_step("unblock signals")?;
        return Ok(());
    }
    // ---- init: PID 1, as confined as the command ----
    // Not holding the caller's terminal or pipes, nor the descriptors
    // passed to the command: a reader of our stdout sees EOF when the
    // command and its children close theirs.
    for &fd in [0, 1, 2].iter().chain(passed) {
        let _ = sys::close(fd);
    }
    // Limits seen hit in the processes reaped here (status::SEEN_*).
    let mut seen = 0;
    let status = loop {
        let _ = sys::poll(&[(sigfd.as_fd(), libc::POLLIN)], -1);
        while let Ok(Some(info)) = sys::read_signal(sigfd.as_fd()) {
            if info.signo == libc::SIGCHLD {
                continue;
            }
            if !signals::already_delivered(&info, cmd) {
                let _ = sys::kill(cmd, info.signo);
            }
        }
        let mut done = None;
        while let Ok(Some((pid, st, cpu))) = sys::reap_any_timed(false) {
            seen |= status::seen_in(st, cpu, cpu_limit, false);
            if pid == cmd {
                done = Some(st);
            }
        }
        if let Some(st) = done {
            break st;
        }
    };
    // The command is done: what it left behind goes with it. kill(-1) from
    // PID 1 reaches every other process of the namespace; it walks every
    // process of the host to find them, so only when there is one: a
    // process the command left is init's child by now (orphans are
    // reparented to PID 1 as their parent exits). One that joined from
    // outside (setns) is not, and goes as init exits, just after.
    if sys::has_children() {
        let _ = sys::kill(-1, libc::SIGKILL);
        while let Ok(Some((_, st, cpu))) = sys::reap_any_timed(true) {
            seen |= status::seen_in(st, cpu, cpu_limit, true);
        }
    }
    report.status(status, seen);
    let code = match sys::Exit::from_status(status) {
        Some(sys::Exit::Code(c)) => c,
        Some(sys::Exit::Signal(s)) => 128 + s,
        None => EXIT_SANDBOX as i32,
    };
    sys::exit_now(code)
}

/// `--lock-file`: each file opened inside the sandbox and read-locked
/// (fcntl), the descriptor kept open across the command's exec, so the
/// lock is held for as long as the command runs (bubblewrap's meaning).
fn hold_locks(paths: &[OsString]) -> Result<()> {
    for p in paths {
        let shown = Path::new(p).display();
        let f = fs::File::open(p).ctx("open lock file", &shown)?;
        let fd = OwnedFd::from(f);
        sys::lock_shared(fd.as_fd()).ctx("lock", &shown)?;
        sys::set_cloexec(std::os::fd::AsRawFd::as_raw_fd(&fd), false).ctx("lock", &shown)?;
        // Held by the command from here on: never closed by us.
        std::mem::forget(fd);
    }
    Ok(())
}

/// The working directory as bubblewrap finds it: `dir`, else `fallback`
/// (the caller's $HOME), else `/`; `fallback` None: `dir` or fail.
/// Returns where it went, for PWD.
fn enter_workdir_or(dir: &OsStr, fallback: Option<&OsStr>) -> Result<OsString> {
    let Some(fallback) = fallback else {
        enter_workdir(dir)?;
        return Ok(dir.to_os_string());
    };
    for d in [dir, fallback] {
        if !d.is_empty() && enter_workdir(d).is_ok() {
            return Ok(d.to_os_string());
        }
    }
    enter_workdir(OsStr::new("/"))?;
    Ok("/".into())
}

/// chdir, then check the result is inside the new root: a directory fd
/// leaked from the host and named as /proc/self/fd/N would put the command
/// outside it. Ref: CVE-2024-21626
pub(crate) fn enter_workdir(dir: &OsStr) -> Result<()> {
    let shown = Path::new(dir).display();
    std::env::set_current_dir(dir).ctx("chdir", &shown)?;
    match std::env::current_dir() {
        Ok(cwd) if cwd.is_absolute() => Ok(()),
        _ => Err(Error::msg(
            "chdir",
            "the working directory is outside the sandbox's root",
        )
        .with_path(shown.to_string())),
    }
}

/// Empty all five capability sets and lock them so that neither a setuid
/// root binary nor uid 0 itself gets any back at execve (confine/caps.rs).
/// `switch_to`: the uid and gid to become on the way (with subordinate
/// ids mapped), without the caller's supplementary groups.
/// Ref: capabilities(7) "Capabilities and execution of programs by root"
pub(crate) fn drop_capabilities(switch_to: Option<(u32, u32)>) -> Result<()> {
    give_capabilities(&CapSets::NONE, Securebits::Lock, switch_to)
}

/// The command's capability sets `sets`, becoming `switch_to` (uid, gid)
/// on the way (confine/caps.rs `apply`), the supplementary groups gone
/// first when the identity changes.
fn give_capabilities(
    sets: &CapSets,
    bits: Securebits,
    switch_to: Option<(u32, u32)>,
) -> Result<()> {
    if switch_to.is_some() {
        // The caller's supplementary groups (nobody, inside) go: the new
        // identity has its gid alone. newgidmap leaves setgroups allowed
        // when the caller has a /etc/subgid range; if it did not, the
        // groups stay.
        match sys::setgroups_empty() {
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            other => other.ctx_step("drop supplementary groups (--uid/--gid)")?,
        }
    }
    caps::apply(sets, bits, switch_to)
}

/// Install the run's filter: the default one (src/confine/seccomp/default.rs),
/// one constant program, or `--seccomp-profile`'s. With `denials` (the
/// socket of --report-denials), its errno answers become notifications
/// and the listener goes up the socket to the launcher, which answers
/// them (launch/denials.rs); then the socket and our copy of the listener
/// are closed: nothing in the sandbox may hold either.
pub(crate) fn apply_seccomp(plan: &Plan, denials: Option<OwnedFd>) -> Result<()> {
    match (denials, &plan.seccomp_profile) {
        (Some(sock), p) => {
            let filter = p.as_ref().map(|p| p.filter());
            let flags = p.as_ref().map_or(0, |p| p.flags);
            let prog = seccomp::notify::program(filter.as_deref());
            let listener = seccomp::notify::install(prog, flags)?;
            sys::send_fd(sock.as_fd(), listener.as_fd())
                .ctx_step("send the seccomp listener to the launcher")?;
            Ok(())
        }
        (None, Some(p)) => seccomp::profile::install(p),
        (None, None) => seccomp::install_default(),
    }
}

/// Cleared, then PATH, HOME (from the rootfs's /etc/passwd), TERM (the
/// caller's) and the `--setenv` values, which win.
pub(crate) fn environment(plan: &Plan, home: OsString) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> =
        vec![("PATH".into(), DEFAULT_PATH.into()), ("HOME".into(), home)];
    if let Some(t) = &plan.term {
        env.push(("TERM".into(), t.clone()));
    }
    // `--allow-host`: the proxies, named for common tools.
    if let Some(p) = &plan.proxy {
        env.extend(
            p.environment()
                .into_iter()
                .map(|(k, v)| (k.into(), v.into())),
        );
    }
    for (k, v) in &plan.setenv {
        match env.iter_mut().find(|(ek, _)| ek == k) {
            Some(slot) => slot.1 = v.clone(),
            None => env.push((k.clone(), v.clone())),
        }
    }
    env
}

/// The home directory of `uid` in the sandbox's /etc/passwd, else `/`.
/// Read after pivot_root, so a rootfs whose /etc/passwd is a link cannot
/// make us read a host file; read through `untrusted`, so a link to
/// /dev/zero, a FIFO, a huge file or a pseudo-file gives `/` and a notice
/// instead of a stage that eats memory or never starts the command.
pub(crate) fn rootfs_home(uid: u32, report: &ReportSender) -> OsString {
    let passwd = match untrusted::read_rootfs_file(Path::new("/etc/passwd"), MAX_ROOTFS_FILE) {
        Ok(bytes) => bytes,
        Err(Refused::Missing) => Vec::new(),
        Err(Refused::Not(why)) => {
            report.notice(&format!(
                "notice: /etc/passwd in the rootfs: {why}; not read, HOME=/"
            ));
            Vec::new()
        }
    };
    untrusted::passwd_home(&passwd, uid).unwrap_or_else(|| "/".into())
}

/// --uid/--gid other than 0: with a single mapped id the set-up must run as
/// 0, so the identity is reached through a nested user namespace mapping N
/// onto our 0 (docs/DECISIONS.md, "--uid/--gid through a nested user namespace"). The mounts above now belong
/// to a more privileged namespace and are locked for the command.
pub(crate) fn enter_identity(
    uid: u32,
    gid: u32,
    proc_self: Option<std::os::fd::BorrowedFd<'_>>,
) -> Result<()> {
    // Our ids in the namespace we leave: 0, or (--userns2) whatever the
    // caller's namespace makes of us. Read before: inside the new one they
    // are unmapped until the maps are written.
    let (outer_uid, outer_gid) = (sys::geteuid(), sys::getegid());
    single_threaded(|| {
        sys::unshare(libc::CLONE_NEWUSER).ctx_step("create the nested user namespace (--uid/--gid)")
    })?;
    // Not dumpable, our /proc/self files belong to root of the namespace
    // our memory was made in: the sandbox's, since this stage was exec'd
    // inside it. That is us, so the maps are ours to write, through the one
    // writer (setgroups is "deny" already, inherited from the outer
    // namespace; writing it again changes nothing).
    if let Some(dir) = proc_self {
        return crate::plan::idmap::write_own(
            dir,
            &[IdMap::single(uid, outer_uid)],
            &[IdMap::single(gid, outer_gid)],
        );
    }
    crate::plan::idmap::write(
        std::process::id() as i32,
        &[IdMap::single(uid, outer_uid)],
        &[IdMap::single(gid, outer_gid)],
        crate::plan::idmap::Writer::Launcher,
    )
}

/// The bwrap front end's command `/proc/self/exe`, which bubblewrap's
/// tests use to run bubblewrap inside itself: our binary, copied into a
/// sealed memfd (sys/memfd.rs: execute-only, no write, no resize, no new
/// seal), named so that main.rs runs it as the bwrap front end whatever
/// argv[0] is. Exec'd from that, the command's /proc/PID/exe is the copy,
/// which nothing can write, and never our binary on the host
/// (CVE-2019-5736); made only for this command: 3 MB copied in the
/// kernel and sealed, about 1.5 ms (docs/BWRAP.md).
fn self_copy() -> Result<OwnedFd> {
    sys::sealed_copy_of_self(crate::bwrap::SELF_COPY_NAME)
        .ctx(
            "copy our binary into a sealed memfd (the command /proc/self/exe)",
            "/proc/self/exe",
        )
        .map_err(|e| e.with_hint(crate::confine::trampoline::REFUSE_HINT))
}

/// `--assert-userns-disabled` (and `--disable-userns`, which checks its
/// own work): making a user namespace must fail here, as the command would
/// try it. A refusal (ENOSPC past the limit, EPERM, EUSERS) is the
/// answer wanted; success means it is not disabled.
fn assert_userns_disabled() -> Result<()> {
    match single_threaded(|| {
        sys::unshare(libc::CLONE_NEWUSER)
            .ctx_step("check that user namespaces are disabled (unshare)")
    }) {
        Ok(()) => Err(Error::msg(
            "--assert-userns-disabled",
            "creation of new user namespaces was not disabled as requested",
        )),
        Err(e) if e.raw_errno() == Some(libc::EINVAL) => Err(e),
        Err(_) => Ok(()),
    }
}

/// Run `step`, which the kernel refuses (EINVAL) to a process with
/// threads (a new or joined user namespace): the stage's helper thread has
/// been joined, but the kernel lets go of an exited thread a moment after
/// the join returns, so EINVAL is tried again, a bounded number of times.
fn single_threaded(mut step: impl FnMut() -> Result<()>) -> Result<()> {
    let mut tries = 0;
    loop {
        match step() {
            Err(e) if e.raw_errno() == Some(libc::EINVAL) && tries < 10_000 => {
                tries += 1;
                std::thread::yield_now();
            }
            r => return r,
        }
    }
}

/// The command's exec, prepared (`prepare_exec`) before the resource
/// limits, run (`run`) last.
pub(crate) struct CommandExec {
    argv: sys::CStringArray,
    envp: sys::CStringArray,
    search: bool,
    candidates: Vec<CString>,
    name: Vec<u8>,
    rootfs: String,
    path: Vec<u8>,
    sealed: Sealed,
    /// The bwrap front end's command /proc/self/exe: exec'd from this
    /// sealed copy of our binary instead (`self_copy`).
    pub(crate) self_copy: Option<OwnedFd>,
}

/// Resolve the command as execvp would, but telling "not found" (127)
/// from "found but not executable" (126), through the exec trampoline
/// (confine/trampoline.rs), so that nothing the command's exec starts can reach
/// our binary; `report_fd` is the report pipe it writes a failure to.
/// Made before the resource limits: the trampoline's memfd is written
/// here, and RLIMIT_FSIZE would refuse that.
pub(crate) fn prepare_exec(
    plan: &Plan,
    env: &[(OsString, OsString)],
    report_fd: RawFd,
) -> Result<CommandExec> {
    let to_c = |s: &OsStr| CString::new(s.as_bytes());
    // `--argv0`: the name the command sees, not the one looked up.
    let argv0 = plan.built.as_ref().and_then(|b| b.argv0.as_deref());
    let Ok(argv) = plan
        .command
        .iter()
        .enumerate()
        .map(|(i, a)| to_c(if i == 0 { argv0.unwrap_or(a) } else { a }))
        .collect::<std::result::Result<Vec<_>, _>>()
    else {
        return Err(Error::msg("exec", "an argument holds a NUL byte"));
    };
    let envs: Vec<CString> = env
        .iter()
        .filter_map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            CString::new(kv).ok()
        })
        .collect();
    let argv = sys::CStringArray::new(argv);
    let envp = sys::CStringArray::new(envs);

    let name = plan.command[0].as_bytes().to_vec();
    let rootfs = plan.rootfs.display().to_string();
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_bytes().to_vec())
        .unwrap_or_default();
    let search = !name.contains(&b'/');
    let candidates: Vec<CString> = if search {
        path.split(|&b| b == b':')
            .filter_map(|dir| {
                let dir: &[u8] = if dir.is_empty() { b"." } else { dir };
                let mut cand = dir.to_vec();
                cand.push(b'/');
                cand.extend_from_slice(&name);
                CString::new(cand).ok()
            })
            .collect()
    } else {
        vec![CString::new(name.clone())
            .map_err(|_| Error::msg("exec", "the path holds a NUL byte"))?]
    };
    let sealed = Trampoline {
        report_fd,
        search,
        candidates: candidates
            .iter()
            .map(|c| (c.clone(), cannot_exec(&shown(c.as_bytes()), 0)))
            .collect(),
        not_found: if search {
            not_in_path(&shown(&name), &rootfs, &path)
        } else {
            not_found(&shown(&name), &rootfs)
        },
        interpreter_missing: interpreter_missing(&shown(&name)),
    }
    .seal();
    Ok(CommandExec {
        argv,
        envp,
        search,
        candidates,
        name,
        rootfs,
        path,
        sealed,
        self_copy: None,
    })
}

fn shown(p: &[u8]) -> String {
    Path::new(OsStr::from_bytes(p)).display().to_string()
}

impl CommandExec {
    /// Exec it. Returns only on failure.
    pub(crate) fn run(&self) -> Error {
        let (argv, envp, rootfs) = (&self.argv, &self.envp, &self.rootfs);
        if let Some(copy) = &self.self_copy {
            let Err(e) = sys::execveat_fd(copy.as_raw_fd(), argv, envp);
            return cannot_exec(&shown(&self.name), e.raw_os_error().unwrap_or(libc::EIO));
        }
        if let Err(e) = self.sealed.exec(argv, envp) {
            return e;
        }
        // The kernel would not exec the trampoline, and nothing in the
        // sandbox can write our binary: the plain exec, reporting as above.
        if !self.search {
            let Err(e) = sys::execve(&self.candidates[0], argv, envp);
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            return exec_error(&shown(&self.name), errno, rootfs);
        }
        let mut denied: Option<(&CString, i32)> = None;
        for c in &self.candidates {
            let Err(e) = sys::execve(c, argv, envp);
            let errno = e.raw_os_error().unwrap_or(libc::EIO);
            match errno {
                libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG => continue,
                libc::EACCES => {
                    denied.get_or_insert((c, errno));
                }
                _ => return exec_error(&shown(c.as_bytes()), errno, rootfs),
            }
        }
        match denied {
            Some((c, errno)) => exec_error(&shown(c.as_bytes()), errno, rootfs),
            None => not_in_path(&shown(&self.name), rootfs, &self.path),
        }
    }
}

/// The command named with a slash failed with `errno`.
fn exec_error(shown: &str, errno: i32, rootfs: &str) -> Error {
    if errno == libc::ENOENT {
        // execve says ENOENT both for a missing file and for a missing
        // interpreter (#! line or ELF loader).
        if fs::symlink_metadata(shown).is_ok() {
            return interpreter_missing(shown);
        }
        return not_found(shown, rootfs);
    }
    cannot_exec(shown, errno)
}

fn interpreter_missing(shown: &str) -> Error {
    Error::msg(
        "exec",
        "its interpreter (#! line or ELF loader) is missing from the rootfs",
    )
    .with_path(shown)
    .with_exit(EXIT_CANNOT_EXEC)
}

fn not_found(shown: &str, rootfs: &str) -> Error {
    Error::msg("exec", format!("not found in rootfs {rootfs}"))
        .with_path(shown)
        .with_exit(EXIT_NOT_FOUND)
}

fn cannot_exec(shown: &str, errno: i32) -> Error {
    Error::errno("exec", Some(shown.to_string()), errno).with_exit(EXIT_CANNOT_EXEC)
}

fn not_in_path(shown: &str, rootfs: &str, path: &[u8]) -> Error {
    Error::msg(
        "exec",
        format!(
            "not found in rootfs {rootfs} (PATH={})",
            String::from_utf8_lossy(path)
        ),
    )
    .with_path(shown)
    .with_hint("the command runs inside the rootfs: use a path that exists there, or bring it in with --ro-bind")
    .with_exit(EXIT_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setenv_overrides_defaults() {
        let mut a = crate::plan::RunArgs::new("/");
        a.setenv = vec![("PATH".into(), "/x".into()), ("A".into(), "b".into())];
        let (plan, _) = Plan::from_args(a, Some("xterm".into())).unwrap();
        let env = environment(&plan, "/".into());
        let get = |k: &str| env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.clone());
        assert_eq!(get("PATH"), Some("/x".into()));
        assert_eq!(get("A"), Some("b".into()));
        assert_eq!(get("TERM"), Some("xterm".into()));
        assert_eq!(env.iter().filter(|(k, _)| k == "PATH").count(), 1);
    }
}
