//! The host mode (`--userns auto|require|off`, issue 26): where the host
//! refuses an unprivileged user namespace, the command runs without any
//! namespace, with what is still possible: the host's `/` as its root,
//! read-only under Landlock but for the `--bind` targets, the default
//! seccomp filter (which refuses namespace creation too), no_new_privs,
//! the rlimits, a new session and the pty relay, `--timeout`, the cgroup
//! limits and the status JSON.
//!
//! This file says why a user namespace cannot be had here and what fixes
//! it (the launcher's notice, `--userns require`'s error and `sandbox
//! doctor` share the words), which of the stage's failures are the host's
//! refusal found late (`late_refusal`, `await_isolated`), and what of a
//! plan the host mode cannot do.
//! The launcher decides (launcher.rs `spawn`); the child stage runs the
//! mode (stage.rs `host_stage`). docs/DECISIONS.md, "The host mode".

use std::fs;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::launcher::Notices;
use crate::channel::{Point, ReportReceiver, Up};
use crate::confine::landlock;
use crate::error::{describe_errno, Error, Result};
use crate::plan::{LandlockMode, Plan, RootMode};

/// Why there is no user namespace (or none that can build a sandbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// `--userns off`.
    Asked,
    /// `user.max_user_namespaces` is 0 here (ENOSPC from clone).
    MaxUserNamespaces,
    /// Debian's and older Ubuntu kernels' `kernel.unprivileged_userns_clone` is 0.
    UnprivilegedClone,
    /// Ubuntu 23.10+: `kernel.apparmor_restrict_unprivileged_userns` is 1
    /// and no AppArmor profile grants this binary `userns`: the namespace
    /// is made, but without any capability in it.
    AppArmor,
    /// A seccomp filter (a container's profile) refuses the clone.
    Seccomp,
    /// The host's /proc is partly masked (a container's), so the kernel
    /// would refuse the sandbox a /proc of its own.
    ProcMasked,
    /// Anything else: the step and its errno.
    Other(&'static str, i32),
    /// The namespaces were made, but a step of the stage's set-up in them
    /// (`late_refusal` says which count) was refused with the errno,
    /// before anything of the command ran; what refused it, as far as
    /// can be told (`ProcMasked`, `AppArmor`, `Seccomp`), else `Other`
    /// (an LSM's rule or a filter nothing here can read).
    InStage(&'static str, i32, Box<Cause>),
}

fn sysctl(path: &str) -> Option<i64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

const MAX_USERNS: &str = "/proc/sys/user/max_user_namespaces";
const UNPRIV_CLONE: &str = "/proc/sys/kernel/unprivileged_userns_clone";
const APPARMOR_RESTRICT: &str = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns";

/// Whether AppArmor will make any user namespace of ours useless: the
/// restriction is on and this process runs unconfined (a profile that
/// grants `userns`, as `make install` installs, gives it a label of its
/// own). Two small reads; nothing on hosts without the sysctl.
pub fn apparmor_refuses() -> bool {
    if sysctl(APPARMOR_RESTRICT) != Some(1) {
        return false;
    }
    let label = fs::read_to_string("/proc/self/attr/apparmor/current")
        .or_else(|_| fs::read_to_string("/proc/self/attr/current"))
        .unwrap_or_default();
    label.trim_end_matches(['\n', '\0']) == "unconfined"
}

/// Whether this looks like the inside of a container (podman's and
/// Docker's marker files): only there is the /proc check worth its read
/// of mountinfo on every launch.
pub fn in_container() -> bool {
    Path::new("/run/.containerenv").exists() || Path::new("/.dockerenv").exists()
}

/// Whether the kernel would refuse a new /proc: some mount covers a file
/// or a non-empty directory of the host's /proc (a container's masked
/// paths), which `mount_too_revealing` does not accept. binfmt_misc's
/// mount on its own empty directory is the one the kernel accepts.
pub fn proc_masked() -> bool {
    let Ok(mounts) = crate::procfs::own_mounts() else {
        return false;
    };
    mounts.iter().any(|m| {
        m.mount_point.starts_with("/proc")
            && m.mount_point != Path::new("/proc")
            && m.mount_point != Path::new("/proc/sys/fs/binfmt_misc")
    })
}

/// Under a seccomp filter (`PR_GET_SECCOMP`, one cheap call) nothing says
/// which calls it refuses: a container's profile may let the user
/// namespace be made and refuse what the stage then does in it (podman's
/// default, with an unmasked /proc, refuses sethostname and mount to a
/// container without CAP_SYS_ADMIN). So under one, a forked child tries
/// what the stage needs first (a user, UTS and mount namespace, the
/// hostname, a mount) and exits with the errno; `Some((step, errno))`
/// when refused. The child makes async-signal-safe calls only (the
/// library's caller may have other threads). About 0.5 ms, and only where
/// a filter is on us.
pub fn filter_refuses() -> Option<(&'static str, i32)> {
    if !matches!(crate::sys::seccomp_mode(), Ok(2)) {
        return None;
    }
    use crate::sys::sigsafe;
    const STEPS: [&str; 3] = [
        "create namespaces (unshare)",
        "set hostname",
        "make mounts private",
    ];
    let pid = crate::sys::fork().ok()?;
    if pid == 0 {
        let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWUTS | libc::CLONE_NEWNS;
        let tries: [&dyn Fn() -> std::io::Result<()>; 3] = [
            &|| sigsafe::unshare(flags),
            &|| sigsafe::sethostname(b"sandbox"),
            &sigsafe::make_mounts_private,
        ];
        for (i, t) in tries.iter().enumerate() {
            if let Err(e) = t() {
                let errno = e.raw_os_error().unwrap_or(libc::EIO).clamp(1, 63);
                sigsafe::exit_now(((i as i32) << 6) | errno);
            }
        }
        sigsafe::exit_now(0);
    }
    match crate::sys::waitpid(pid, false) {
        Ok(Some(crate::sys::Exit::Code(0))) => None,
        Ok(Some(crate::sys::Exit::Code(c))) => Some((STEPS[(c >> 6).clamp(0, 2) as usize], c & 63)),
        _ => None,
    }
}

/// Why the clone (or the id maps, `step`) failed with `errno`, by reading
/// the sysctls that refuse it and this process's seccomp mode.
pub fn diagnose(step: &'static str, errno: i32) -> Cause {
    if sysctl(MAX_USERNS) == Some(0) {
        Cause::MaxUserNamespaces
    } else if sysctl(UNPRIV_CLONE) == Some(0) {
        Cause::UnprivilegedClone
    } else if apparmor_refuses() {
        Cause::AppArmor
    } else if errno == libc::EPERM && matches!(crate::sys::seccomp_mode(), Ok(2)) {
        Cause::Seccomp
    } else {
        Cause::Other(step, errno)
    }
}

/// The errnos with which a host refuses a user namespace (clone) or its
/// maps: the cases `--userns auto` answers with the host mode. Anything
/// else is a failure of ours and fails the run.
pub fn refused(errno: Option<i32>) -> bool {
    matches!(
        errno,
        Some(libc::EPERM) | Some(libc::ENOSPC) | Some(libc::EACCES) | Some(libc::EUSERS)
    )
}

/// The steps of `sandbox run`'s stage (stage.rs, confine/rootfs.rs),
/// before it reports `Point::Isolated`, whose refusal with one of the
/// errnos is the host's and not the plan's: none of them depends on a path
/// or value the caller gave that could make it fail so (a missing or
/// unreadable `--bind` source, a mount point the rootfs lacks, a bad size
/// fail with other steps or errnos, and still fail the run). `Some(path)`:
/// that step only on the path (ours: the staging tmpfs and the sandbox's
/// /tmp). Ref: mount_too_revealing (fs/namespace.c) for EPERM on a fresh
/// /proc under a masked one; AppArmor and SELinux deny with EACCES, a
/// seccomp profile mostly with EPERM.
///
/// Not the network namespace (`user.max_net_namespaces` 0, say): the user
/// namespace works, and its error's fix (raise the sysctl, or
/// `--share-net`, which keeps every other namespace) gives up far less
/// than the host mode would.
const LATE: &[(&str, Option<&str>, &[i32])] = &[
    ("set hostname", None, &[libc::EPERM, libc::EACCES]),
    ("make mounts private", None, &[libc::EPERM, libc::EACCES]),
    ("mount tmpfs", Some("/tmp"), &[libc::EPERM, libc::EACCES]),
    ("mount proc", None, &[libc::EPERM, libc::EACCES]),
    ("pivot_root", None, &[libc::EPERM, libc::EACCES]),
    ("detach the old root", None, &[libc::EPERM, libc::EACCES]),
];

/// Whether the stage's error `e` (reported before `Point::Isolated`) is
/// the host refusing what the namespaces need (`LATE`), and why.
pub fn late_refusal(e: &Error) -> Option<Cause> {
    let errno = e.raw_errno()?;
    let &(step, _, _) = LATE.iter().find(|(step, path, errnos)| {
        *step == e.step
            && path.is_none_or(|p| e.path.as_deref() == Some(p))
            && errnos.contains(&errno)
    })?;
    let why = if step == "mount proc" && errno == libc::EPERM && proc_masked() {
        Cause::ProcMasked
    } else if apparmor_refuses() {
        Cause::AppArmor
    } else if errno == libc::EPERM && matches!(crate::sys::seccomp_mode(), Ok(2)) {
        Cause::Seccomp
    } else {
        Cause::Other(step, errno)
    };
    Some(Cause::InStage(step, errno, Box::new(why)))
}

/// The most the launcher waits for the stage's `Point::Isolated` (a few
/// milliseconds on an ordinary launch): past it, or on a signal for the
/// launcher, it stops waiting and supervises as usual, and a refusal after
/// that fails the run as any error of the stage does.
pub const ISOLATED_WITHIN: Duration = Duration::from_secs(10);

/// After the release, until the stage says `Point::Isolated` (then
/// `None`): pass its notices on, and if what it reports instead is the
/// host's refusal (`late_refusal`), return why; the caller kills and reaps
/// it (it ran nothing of the command) and answers as `--userns` says.
/// Anything else it reports, its end (EOF), `within` passing or (with
/// `signals`: the launcher forwards them) a signal other than SIGCHLD
/// pending leaves the rest to the supervisor, which reads what is left on
/// the pipe, and the signal from its own signalfd. SIGCHLD is left out:
/// it is pending already after `filter_refuses`' child, and the
/// supervisor does not need it.
pub(super) fn await_isolated(
    reports: &mut ReportReceiver,
    signals: bool,
    notices: &mut Notices,
    within: Duration,
) -> Option<Cause> {
    let until = Instant::now() + within;
    // Readable while such a signal is pending; never read here.
    let others: Vec<libc::c_int> = crate::signals::HANDLED
        .into_iter()
        .filter(|s| *s != libc::SIGCHLD)
        .collect();
    let sigfd = signals
        .then(|| crate::sys::signalfd(&others).ok())
        .flatten();
    // Each turn reads at least a byte, or ends the wait.
    for _ in 0..1_000_000 {
        while let Some(m) = reports.peek() {
            match m {
                Ok(Up::Notice(n)) => {
                    reports.next();
                    notices.say(n);
                }
                Ok(Up::Reached(Point::Isolated)) => {
                    reports.next();
                    return None;
                }
                Ok(Up::Error(e)) => return late_refusal(&e),
                _ => return None,
            }
        }
        let left = until.saturating_duration_since(Instant::now());
        if !reports.is_open() || left.is_zero() {
            return None;
        }
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as i32;
        let mut fds = vec![(reports.fd(), libc::POLLIN)];
        fds.extend(sigfd.as_ref().map(|f| (f.as_fd(), libc::POLLIN)));
        match crate::sys::poll(&fds, ms) {
            Ok(rev) if rev.get(1).is_some_and(|r| *r != 0) => return None,
            Ok(rev) if rev[0] != 0 => {
                if reports.read_some().is_err() {
                    return None;
                }
            }
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(_) => return None,
        }
    }
    None
}

impl Cause {
    /// Why, in a few words.
    pub fn why(&self) -> String {
        match self {
            Cause::Asked => "--userns off".into(),
            Cause::MaxUserNamespaces => "user.max_user_namespaces is 0".into(),
            Cause::UnprivilegedClone => "kernel.unprivileged_userns_clone is 0".into(),
            Cause::AppArmor => "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns = 1) and no profile grants sandbox 'userns'".into(),
            Cause::Seccomp => "a seccomp filter (a container's profile) refuses the calls that make and set up namespaces (unshare or clone with namespace flags, sethostname, mount)".into(),
            Cause::ProcMasked => "/proc is partly masked (a container's), so the kernel refuses the sandbox a /proc of its own".into(),
            Cause::Other(step, errno) => format!("{step}: {}", describe_errno(*errno)),
            Cause::InStage(step, errno, by) => format!(
                "{step} in the sandbox's new namespaces: {}: {}",
                describe_errno(*errno),
                match **by {
                    Cause::Other(..) => "refused by the host's security policy (an LSM such as AppArmor or SELinux, or a seccomp filter)".to_string(),
                    ref known => known.why(),
                }
            ),
        }
    }

    /// The fix, as commands to run.
    pub fn fix(&self) -> String {
        match self {
            Cause::Asked => "drop --userns off".into(),
            Cause::MaxUserNamespaces => "sudo sysctl -w user.max_user_namespaces=15000 (and the same line in /etc/sysctl.d/ to keep it; inside a user namespace, raise it in the namespace that set it)".into(),
            Cause::UnprivilegedClone => "sudo sysctl -w kernel.unprivileged_userns_clone=1 (and in /etc/sysctl.d/ to keep it)".into(),
            Cause::AppArmor => "install sandbox's AppArmor profile (make install puts it in /etc/apparmor.d/sandbox; then sudo apparmor_parser -r /etc/apparmor.d/sandbox), or sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0".into(),
            Cause::Seccomp => "run the container with a seccomp profile that allows unshare, setns and clone with namespace flags (podman/docker run --security-opt seccomp=unconfined, or such a profile of your own)".into(),
            Cause::ProcMasked => "give the container an unmasked /proc (podman run --security-opt unmask=ALL; docker run --security-opt systempaths=unconfined)".into(),
            Cause::Other(..) => "see 'sandbox doctor'".into(),
            Cause::InStage(step, _, by) => match **by {
                Cause::Other(..) => format!(
                    "find what refuses {step} (the kernel log: apparmor=\"DENIED\" or avc: denied lines; a container's seccomp profile) and allow it for sandbox; 'sandbox doctor' tries the same steps"
                ),
                ref known => known.fix(),
            },
        }
    }

    /// `--userns require`'s failure.
    pub fn error(&self) -> Error {
        Error::msg(
            "user namespace",
            format!("required (--userns require), but {}", self.why()),
        )
        .with_hint(format!(
            "{}; or run without one with --userns auto or off",
            self.fix()
        ))
    }

    /// The one notice of a run in the host mode.
    pub fn notice(&self) -> String {
        let why = match self {
            Cause::Asked => "--userns off".to_string(),
            Cause::InStage(..) => format!("no usable user namespace here ({})", self.why()),
            other => format!("no user namespace here ({})", other.why()),
        };
        format!(
            "notice: {why}: running in the host mode, without namespaces: lost are the \
             PID, mount, network, IPC and UTS namespaces (the network is the host's), the \
             overlay root (the root is the host's /, read-only by Landlock but for --bind \
             targets) and /proc isolation; kept are Landlock, seccomp, no_new_privs, rlimits, \
             the new session and the pty; {}",
            match self {
                Cause::Asked => "see docs/SECURITY.md, \"The host mode\"".to_string(),
                other => format!("to get them back: {}", other.fix()),
            }
        )
    }
}

/// The end of each of `check`'s hints, which `check_for` replaces with
/// the fix for the cause.
const ELSEWHERE: &str = "run where user namespaces work ('sandbox doctor' says how)";

/// What a plan asks that the host mode cannot give: each fails the run
/// with a clear line rather than being dropped in silence.
pub fn check(plan: &Plan) -> Result<()> {
    let refuse = |what: &str, why: &str| {
        Err(Error::msg(
            "host mode",
            format!("{what}: {why} without a user namespace"),
        )
        .with_hint(format!("drop it, or {ELSEWHERE}")))
    };
    if !plan.host_root() {
        return Err(Error::msg(
            "host mode",
            format!(
                "rootfs {}: without a user namespace the root can only be the host's /",
                plan.rootfs.display()
            ),
        )
        .with_hint(format!(
            "pass / as ROOTFS ('sandbox run / COMMAND'), or {ELSEWHERE}"
        )));
    }
    if let Some(b) = plan.binds.iter().find(|b| b.src != b.dst) {
        return refuse(
            &format!("--bind {}:{}", b.src.display(), b.dst.display()),
            "a bind to another path needs a mount namespace, which cannot be made",
        );
    }
    if plan.pasta.is_some() {
        return refuse("--net pasta", "a network namespace cannot be made");
    }
    if plan.proxy.is_some() {
        // Its promise is a namespace with only `lo`: here the command
        // would have the host's network beside the proxy.
        return refuse(
            "--allow-host",
            "a network namespace (with only lo) cannot be made",
        );
    }
    if plan.init {
        return refuse(
            "--init",
            "a PID namespace (for init to be PID 1) cannot be made",
        );
    }
    if plan.uid != 0 || plan.gid != 0 {
        return refuse(
            "--uid/--gid",
            "the command runs as your own uid and gid; another identity cannot be had",
        );
    }
    if plan.subids.as_ref().is_some_and(|s| s.range_is_root) {
        return refuse("--id-map subuid", "subordinate ids cannot be mapped");
    }
    Ok(())
}

/// `check`, for a run that takes the host mode because of `cause`: a
/// refusal also says why there is no user namespace, and the fix, so it
/// is the one clear line the run ends with (no notice of a host mode that
/// does not run).
pub fn check_for(plan: &Plan, cause: &Cause) -> Result<()> {
    use crate::error::Reason;
    check(plan).map_err(|e| match cause {
        Cause::Asked => e,
        c => Error {
            reason: Reason::Msg(format!(
                "{}; and there is none here: {}",
                match &e.reason {
                    Reason::Msg(m) => m.clone(),
                    Reason::Errno(n) => describe_errno(*n),
                },
                c.why()
            )),
            hint: e.hint.as_ref().map(|h| h.replace(ELSEWHERE, &c.fix())),
            ..e
        },
    })
}

/// The host mode's Landlock ruleset: read and execute anywhere but
/// beneath a `--tmpfs` target (which a mount would have covered with an
/// empty directory: here it is hidden instead, reads fail), write only
/// beneath the `--bind` targets (and `/` with `--rw`), and the harmless
/// device nodes plus the sandbox's own pty. Required unless `--landlock
/// off`: without it the mode has no filesystem wall but the file modes.
pub fn landlock(plan: &Plan, pty: Option<u32>) -> Result<landlock::Outcome> {
    let mode = match plan.landlock {
        LandlockMode::Off => return Ok(landlock::Outcome {
            summary:
                "landlock: off (--landlock off): the host's files are guarded only by their modes"
                    .into(),
            notices: Vec::new(),
        }),
        _ => LandlockMode::Require,
    };
    let hidden: Vec<PathBuf> = plan
        .tmpfs
        .iter()
        .map(|t| fs::canonicalize(&t.dst).unwrap_or_else(|_| t.dst.clone()))
        .collect();
    let mut write: Vec<PathBuf> = plan
        .binds
        .iter()
        .filter(|b| !b.read_only)
        .map(|b| b.dst.clone())
        .collect();
    if plan.root == RootMode::ReadWrite {
        write.push("/".into());
    }
    let mut devices: Vec<PathBuf> = ["null", "zero", "full", "random", "urandom", "tty"]
        .iter()
        .map(|d| Path::new("/dev").join(d))
        .collect();
    devices.extend(pty.map(|n| PathBuf::from(format!("/dev/pts/{n}"))));
    let rules = landlock::Rules::host_mode(read_roots(&hidden), write, devices, &plan.allow_paths);
    landlock::enforce(
        mode,
        &rules,
        "pass --landlock off to run the host mode without it (then only the files' modes guard them)",
    )
}

/// Read rules covering all of `/` but the `hidden` paths: Landlock grants
/// only, so each directory on the way to a hidden path gets no rule of its
/// own (it cannot be listed) and each of its other entries one. Symlinks
/// are not followed (their targets have rules where they are); a path
/// made later next to a hidden one is not readable either.
pub fn read_roots(hidden: &[PathBuf]) -> Vec<PathBuf> {
    fn walk(dir: &Path, hidden: &[PathBuf], out: &mut Vec<PathBuf>, depth: usize) {
        if hidden.iter().any(|h| h == dir) {
            return;
        }
        if depth > 64 || !hidden.iter().any(|h| h.starts_with(dir)) {
            out.push(dir.to_path_buf());
            return;
        }
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_symlink()) {
                continue;
            }
            walk(&e.path(), hidden, out, depth + 1);
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/"), hidden, &mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cause_has_a_fix_and_a_notice_naming_what_was_lost() {
        for c in [
            Cause::Asked,
            Cause::MaxUserNamespaces,
            Cause::UnprivilegedClone,
            Cause::AppArmor,
            Cause::Seccomp,
            Cause::ProcMasked,
            Cause::Other("create namespaces (clone)", libc::EPERM),
            Cause::InStage("mount proc", libc::EPERM, Box::new(Cause::ProcMasked)),
            Cause::InStage(
                "pivot_root",
                libc::EACCES,
                Box::new(Cause::Other("pivot_root", libc::EACCES)),
            ),
        ] {
            let n = c.notice();
            for lost in ["namespaces", "overlay root", "/proc isolation"] {
                assert!(n.contains(lost), "{c:?}: {n}");
            }
            assert!(!c.fix().is_empty());
            assert_eq!(c.error().exit, crate::error::EXIT_SANDBOX);
        }
        assert!(Cause::MaxUserNamespaces
            .fix()
            .contains("sysctl -w user.max_user_namespaces="));
    }

    #[test]
    fn only_refusals_fall_back() {
        for e in [libc::EPERM, libc::ENOSPC, libc::EACCES, libc::EUSERS] {
            assert!(refused(Some(e)));
        }
        // Controls: our own failures are not a host's refusal.
        for e in [libc::ENOMEM, libc::EINVAL, libc::EBADF] {
            assert!(!refused(Some(e)));
        }
        assert!(!refused(None));
    }

    #[test]
    fn only_the_hosts_refusals_of_the_stage_fall_back_late() {
        let at = |step: &str, path: &str, errno| {
            late_refusal(&Error::errno(step, Some(path.into()), errno))
        };
        for (step, path, errnos) in LATE {
            for &e in *errnos {
                let c = at(step, path.unwrap_or("/x"), e).unwrap();
                assert!(matches!(c, Cause::InStage(s, n, _) if s == *step && n == e));
                // The notice and the error name the step and the errno.
                let shown = format!(
                    "{step} in the sandbox's new namespaces: {}",
                    describe_errno(e)
                );
                assert!(c.notice().contains(&shown), "{}", c.notice());
                assert!(c.error().to_string().contains(&shown));
            }
            // Controls: the same step failing otherwise is not a refusal.
            assert!(at(step, path.unwrap_or("/x"), libc::EINVAL).is_none());
            assert!(at(step, path.unwrap_or("/x"), libc::ENOENT).is_none());
        }
        // The caller's own mistakes, whatever the errno.
        for (step, path) in [
            ("open bind source", "/missing"),
            ("bind", "/data"),
            ("bind read-only", "/data"),
            ("create mount point", "/nonexistent"),
            ("mount tmpfs", "/home/me"),
            ("open rootfs", "/srv/root"),
            ("chdir", "/nowhere"),
        ] {
            for e in [libc::EPERM, libc::EACCES, libc::ENOENT, libc::EROFS] {
                assert!(at(step, path, e).is_none(), "{step} {path} {e}");
            }
        }
        // Ours, not an errno: never.
        assert!(late_refusal(&Error::msg("mount proc", "refused")).is_none());
        // A refused network namespace alone: its own error and fix.
        for e in [libc::EPERM, libc::ENOSPC] {
            assert!(at("create the network namespace (unshare)", "/x", e).is_none());
        }
        // The staging tmpfs and the sandbox's /tmp are ours.
        assert!(at("mount tmpfs", "/tmp", libc::EACCES).is_some());
    }

    #[test]
    fn a_late_refusal_of_what_the_host_mode_cannot_do_names_the_cause_and_fix() {
        let mut a = crate::plan::RunArgs::new("/");
        a.init = true;
        let plan = Plan::from_args(a, None).unwrap().0;
        let late = Cause::InStage("mount proc", libc::EPERM, Box::new(Cause::ProcMasked));
        let e = check_for(&plan, &late).unwrap_err();
        assert!(
            e.to_string().contains("--init") && e.to_string().contains("/proc is partly masked"),
            "{e}"
        );
        assert_eq!(
            e.hint.unwrap(),
            format!("drop it, or {}", Cause::ProcMasked.fix())
        );
        // Control: --userns off's refusal says nothing of a cause.
        let e = check_for(&plan, &Cause::Asked).unwrap_err();
        assert!(!e.to_string().contains("there is none here"), "{e}");
        assert!(e.hint.unwrap().ends_with(ELSEWHERE));
    }

    #[test]
    fn the_host_mode_refuses_what_it_cannot_do() {
        let plan = |f: &dyn Fn(&mut crate::plan::RunArgs)| {
            let mut a = crate::plan::RunArgs::new("/");
            f(&mut a);
            Plan::from_args(a, None).unwrap().0
        };
        assert!(check(&plan(&|_| {})).is_ok());
        assert!(check(&plan(&|a| a.init = true)).is_err());
        assert!(check(&plan(&|a| a.uid = 5)).is_err());
        assert!(check(&plan(
            &|a| a.net.hosts = vec![crate::confine::proxy::parse_host("example.com").unwrap()]
        ))
        .is_err());
        let tmp = std::env::temp_dir();
        let same = crate::plan::BindArg {
            src: tmp.clone().into(),
            dst: None,
            read_only: false,
            optional: false,
        };
        assert!(check(&plan(&|a| a.binds = vec![same.clone()])).is_ok());
        let moved = crate::plan::BindArg {
            dst: Some("/elsewhere".into()),
            ..same.clone()
        };
        assert!(check(&plan(&|a| a.binds = vec![moved.clone()])).is_err());
        let other = crate::plan::RunArgs::new(&tmp);
        let e = check(&Plan::from_args(other, None).unwrap().0).unwrap_err();
        assert!(e.to_string().contains("can only be the host's /"), "{e}");
    }

    #[test]
    fn read_roots_leave_out_the_hidden_path_and_only_it() {
        let dir = std::env::temp_dir().join(format!("hostmode-roots-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for d in ["a/secret/x", "a/open", "b"] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::os::unix::fs::symlink(dir.join("a/secret"), dir.join("a/link")).unwrap();
        let hidden = vec![dir.join("a/secret")];
        let roots = read_roots(&hidden);
        let _ = fs::remove_dir_all(&dir);
        assert!(roots.contains(&dir.join("a/open")), "{roots:?}");
        assert!(roots.contains(&dir.join("b")), "{roots:?}");
        // Neither the hidden path, anything beneath it, an ancestor (which
        // would grant it), nor a link to it.
        for r in &roots {
            assert!(
                !r.starts_with(&hidden[0]) && !hidden[0].starts_with(r),
                "{r:?}"
            );
            assert_ne!(r, &dir.join("a/link"));
        }
        // Control: with nothing hidden, one rule for all of /.
        assert_eq!(read_roots(&[]), vec![PathBuf::from("/")]);
    }
}
