//! The bubblewrap-compatible front end: `bwrap`'s command line (`argv[0]`
//! `bwrap` or `sandbox-bwrap`, or `sandbox bwrap ARGS`) translated onto
//! the engine `sandbox run` uses (docs/BWRAP.md).
//!
//! The root is built from the operations given (`--bind`, `--tmpfs`,
//! `--dir`, …), in their order, on an empty tmpfs: `plan::Built`, which
//! confine/rootfs.rs makes through the one walk (confine/walk.rs). The
//! process is as bubblewrap makes it: the caller's environment, uid and
//! working directory, no Landlock, no seccomp filter, no pty relay; the
//! capabilities bubblewrap hands on (`CapRequest`), set by the engine's
//! one capability function (confine/caps.rs).
//! `--sandbox-defaults LIST` or `SANDBOX_BWRAP_DEFAULTS=LIST` opts into
//! ours instead ([`DEFAULTS_OPTION`], docs/BWRAP.md).
//! An option we do not support fails with bubblewrap's exit code, 1, and
//! one line that names it: never ignored.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::confine::caps::CapSets;
use crate::plan::{
    normalize, Built, BuiltUserns, GivenNs, LandlockMode, OverlayUpper, PassFd, RootOp, RunArgs,
    StdioMode,
};

/// bubblewrap's exit code for its own failures (usage, set-up).
pub const EXIT_FAILURE: u8 = 1;

/// The bubblewrap release whose command line this front end follows.
pub const BWRAP_VERSION: &str = "0.8.0";

/// What the command line asked, before it becomes a `RunArgs`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub ops: Vec<RootOp>,
    pub unshare_net: bool,
    pub unshare_pid: bool,
    pub unshare_uts: bool,
    pub unshare_user: bool,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub hostname: Option<String>,
    pub chdir: Option<OsString>,
    /// The environment the command gets: the caller's, changed by
    /// `--setenv`, `--unsetenv` and `--clearenv` in their order.
    pub env: Vec<(OsString, OsString)>,
    pub argv0: Option<OsString>,
    pub lock_files: Vec<OsString>,
    pub die_with_parent: bool,
    pub new_session: bool,
    pub as_pid_1: bool,
    pub info_fd: Option<i32>,
    pub json_status_fd: Option<i32>,
    /// Descriptors options name that bubblewrap closes before the command
    /// runs and parsing leaves open (`--bind-fd`, `--ro-bind-fd`): closed
    /// once parsed, never passed. (`--args`, `--file`, `--bind-data`,
    /// `--seccomp` read theirs to the end and close them while parsing.)
    pub option_fds: Vec<i32>,
    /// `--seccomp FD` (at most one) or `--add-seccomp-fd FD`: the programs read.
    pub seccomp: Vec<Vec<u8>>,
    /// `--cap-add` and `--cap-drop`, in their order: with the caller's
    /// uid, the command's capabilities (`CapRequest::sets`).
    pub caps: CapRequest,
    pub disable_userns: bool,
    pub assert_userns_disabled: bool,
    /// `--unshare-user` itself (not `-try`, not `--unshare-all`): what
    /// `--userns` and `--userns-block-fd` are checked against.
    pub unshare_user_explicit: bool,
    /// `--unshare-user-try` or `--unshare-all`.
    pub unshare_user_try: bool,
    /// `--userns FD`, `--userns2 FD`, `--pidns FD`: namespaces to join.
    pub userns: Option<i32>,
    pub userns2: Option<i32>,
    pub pidns: Option<i32>,
    /// `--userns-block-fd FD`: read after the user namespace is made,
    /// before its id maps (which the caller writes).
    pub userns_block_fd: Option<i32>,
    /// `--block-fd FD`: read before the command runs.
    pub block_fd: Option<i32>,
    /// `--sync-fd FD`: held open for as long as the sandbox runs.
    pub sync_fd: Option<i32>,
    pub command: Vec<OsString>,
    /// Our defaults opted into (`--sandbox-defaults`, `SANDBOX_BWRAP_DEFAULTS`):
    /// `landlock` (auto) or `landlock=require`: our ruleset on the built
    /// root (confine/landlock.rs `Rules::built`); None: none, as bubblewrap.
    pub opt_landlock: Option<LandlockMode>,
    /// `seccomp`: our default filter, beside the caller's programs.
    pub opt_seccomp: bool,
    /// `relay`: `sandbox run`'s stdio (`StdioMode::Relay`).
    pub opt_relay: bool,
    /// `caps`: no capabilities for the command whatever bubblewrap would
    /// keep (recorded here; the capability code reads it).
    pub opt_drop_caps: bool,
    /// `limits`: `sandbox run`'s per-namespace limits (confine/nslimits.rs)
    /// in the sandbox's user and IPC namespaces; bubblewrap sets none.
    pub opt_limits: bool,
    /// `masks`: `sandbox run`'s masks over a `--proc`; bubblewrap has none.
    pub opt_masks: bool,
}

/// Our option that opts into sandbox's own defaults where bubblewrap's
/// differ: a comma-separated list of [`DEFAULTS_ITEMS`].
pub const DEFAULTS_OPTION: &str = "--sandbox-defaults";
/// The same list for callers that cannot change the command line (a tool
/// that runs `bwrap` with a fixed one). Read once and removed from the
/// environment the command inherits (docs/BWRAP.md says why).
pub const DEFAULTS_ENV: &str = "SANDBOX_BWRAP_DEFAULTS";
/// The items a list may hold.
pub const DEFAULTS_ITEMS: &[&str] = &[
    "landlock",
    "landlock=auto",
    "landlock=require",
    "seccomp",
    "relay",
    "caps",
    "limits",
    "masks",
    "all",
];

/// Add the items of `list` (from `source`: the option or the variable) to
/// `p`. Items only add: neither source can take back what the other
/// asked, and `landlock=require` wins over `landlock`. An empty list is
/// nothing; an unknown or empty item is an error.
fn opt_into(p: &mut Parsed, source: &str, list: &OsStr) -> R<()> {
    let Some(list) = list.to_str() else {
        return err(format!("{source}: not valid UTF-8"));
    };
    if list.trim().is_empty() {
        return Ok(());
    }
    let landlock = |p: &mut Parsed, m: LandlockMode| {
        if p.opt_landlock != Some(LandlockMode::Require) {
            p.opt_landlock = Some(m);
        }
    };
    for item in list.split(',').map(str::trim) {
        match item {
            "landlock" | "landlock=auto" => landlock(p, LandlockMode::Auto),
            "landlock=require" => landlock(p, LandlockMode::Require),
            "seccomp" => p.opt_seccomp = true,
            "relay" => p.opt_relay = true,
            "caps" => p.opt_drop_caps = true,
            "limits" => p.opt_limits = true,
            "masks" => p.opt_masks = true,
            "all" => {
                landlock(p, LandlockMode::Auto);
                p.opt_seccomp = true;
                p.opt_relay = true;
                p.opt_drop_caps = true;
                p.opt_limits = true;
                p.opt_masks = true;
            }
            other => {
                return err(format!(
                    "{source}: unknown item {other:?} (known: {})",
                    DEFAULTS_ITEMS.join(", ")
                ))
            }
        }
    }
    Ok(())
}

/// `--cap-add CAP|ALL` and `--cap-drop CAP|ALL` folded in their order:
/// the set is `(start & keep) | add`, `start` being what bubblewrap
/// (not setuid) starts from: the caller's effective set when its uid is
/// 0, else none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapRequest {
    keep: u64,
    add: u64,
    /// Whether either option was given.
    used: bool,
}

impl Default for CapRequest {
    fn default() -> Self {
        CapRequest {
            keep: u64::MAX,
            add: 0,
            used: false,
        }
    }
}

impl CapRequest {
    fn add(&mut self, mask: u64) {
        self.add |= mask;
        self.used = true;
    }

    /// Whether a `--cap-add` is in effect.
    pub fn adds_any(&self) -> bool {
        self.add != 0
    }

    fn drop(&mut self, mask: u64) {
        self.keep &= !mask;
        self.add &= !mask;
        self.used = true;
    }

    /// The command's five sets, as bubblewrap 0.8.0 (not setuid) gives
    /// them. `caller_root`: the caller's effective and bounding sets when
    /// its uid is 0; `unshare_user`: whether bubblewrap would make a user
    /// namespace (it does for any other caller). Bounding set, effective,
    /// permitted, inheritable and ambient are the requested set, so the
    /// command keeps exactly it whatever its uid; except that for a caller
    /// of uid 0 that gave neither option, the command keeps the set only
    /// as uid 0 (bubblewrap leaves the sets alone then, and a change of
    /// uid loses them at exec), and that without a user namespace the
    /// caller's bounding set stays as it is (bubblewrap cuts it in a new
    /// namespace only; we always make one, which starts with a full set).
    pub fn sets(&self, caller_root: Option<(u64, u64)>, unshare_user: bool) -> CapSets {
        let start = caller_root.map_or(0, |(effective, _)| effective);
        let set = (start & self.keep) | self.add;
        let mut sets = CapSets::all_five(set);
        if let Some((_, bounding)) = caller_root {
            if !self.used {
                sets.inheritable = 0;
                sets.ambient = 0;
            }
            if !unshare_user {
                sets.bounding = bounding;
            }
        }
        sets
    }
}

/// A capability as bubblewrap (libcap's cap_from_name) reads it: `ALL`,
/// a name with its CAP_ prefix in any case, or a number below 64.
fn cap_arg(v: &OsStr) -> R<u64> {
    let s = v.to_string_lossy();
    if s.eq_ignore_ascii_case("ALL") {
        return Ok(u64::MAX);
    }
    let upper = s.to_ascii_uppercase();
    let n = match upper.strip_prefix("CAP_") {
        Some(name) => crate::confine::caps::by_name(name),
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u32>().ok().filter(|n| *n < 64)
        }
        None => None,
    };
    match n {
        Some(n) => Ok(1 << n),
        None => err(format!("unknown cap: {s}")),
    }
}

/// How parsing ended: a run, or text to print (`--help`, `--version`).
#[derive(Debug, PartialEq, Eq)]
pub enum Cmd {
    Run(Box<Parsed>),
    Help(String),
    Version(String),
}

/// `--level-prefix` was given: our own messages start with a syslog
/// level, `<3>` for an error and `<4>` for a warning (sd-daemon(3)'s
/// form), as bubblewrap 0.9's do. Process-wide, as bubblewrap's is: set
/// by the parser when it meets the option, read by whatever prints.
static LEVEL_PREFIX: AtomicBool = AtomicBool::new(false);

/// syslog(3)'s LOG_ERR and LOG_WARNING.
const LOG_ERR: u8 = 3;
const LOG_WARNING: u8 = 4;

/// One line of ours on stderr: `bwrap: ` and the text, after the level
/// under `--level-prefix`.
fn log(level: u8, text: &str) {
    let prefix = if LEVEL_PREFIX.load(Ordering::Relaxed) {
        format!("<{level}>")
    } else {
        String::new()
    };
    eprintln!("{prefix}bwrap: {text}");
}

/// `--exec-label`, `--file-label`: bubblewrap accepts a label only where
/// SELinux is enabled (selinuxfs mounted) and checks it there; elsewhere it
/// fails, as here. Where SELinux is enabled we still refuse: the engine
/// sets no SELinux label.
fn label_refused(opt: &str) -> String {
    if Path::new("/sys/fs/selinux/enforce").exists() {
        format!("{opt}: SELinux labels are not supported by sandbox's bubblewrap front end (docs/BWRAP.md)")
    } else {
        "labeling not supported on this system".into()
    }
}

/// How many `--args FD` may nest (an fd whose arguments name another).
const MAX_ARGS_FILES: usize = 64;

fn usage(argv0: &str) -> String {
    format!(
        "usage: {argv0} [OPTIONS...] [--] COMMAND [ARGS...]

sandbox's bubblewrap-compatible front end (docs/BWRAP.md): bubblewrap {BWRAP_VERSION}'s
command line on sandbox's engine.

    --help                       Print this help
    --version                    Print version
    --args FD                    Parse NUL-separated args from FD
    --argv0 VALUE                Set argv[0] to the value VALUE before running the program
    --unshare-all                Unshare every namespace we support by default
    --share-net                  Retain the network namespace (can only combine with --unshare-all)
    --unshare-user               Create new user namespace (always)
    --unshare-user-try           Create new user namespace (always)
    --unshare-ipc                Create new ipc namespace (always)
    --unshare-pid                Create new pid namespace (always; without --as-pid-1 an init is PID 1)
    --unshare-net                Create new network namespace
    --unshare-uts                Create new uts namespace (always)
    --unshare-cgroup             Create new cgroup namespace (always)
    --unshare-cgroup-try         Create new cgroup namespace (always)
    --userns FD                  Use this user namespace (cannot combine with --unshare-user)
    --userns2 FD                 After setup switch to this user namespace, only useful with --userns
    --pidns FD                   Use this pid namespace (as parent namespace if using --unshare-pid)
    --uid UID                    Custom uid in the sandbox (requires --unshare-user or --userns)
    --gid GID                    Custom gid in the sandbox (requires --unshare-user or --userns)
    --hostname NAME              Custom hostname in the sandbox (requires --unshare-uts)
    --chdir DIR                  Change directory to DIR
    --clearenv                   Unset all environment variables
    --setenv VAR VALUE           Set an environment variable
    --unsetenv VAR               Unset an environment variable
    --lock-file DEST             Take a lock on DEST while sandbox is running
    --bind SRC DEST              Bind mount the host path SRC on DEST
    --bind-try SRC DEST          Equal to --bind but ignores non-existent SRC
    --dev-bind SRC DEST          Bind mount the host path SRC on DEST, allowing device access
    --dev-bind-try SRC DEST      Equal to --dev-bind but ignores non-existent SRC
    --ro-bind SRC DEST           Bind mount the host path SRC readonly on DEST
    --ro-bind-try SRC DEST       Equal to --ro-bind but ignores non-existent SRC
    --bind-fd FD DEST            Bind open directory or path fd on DEST
    --ro-bind-fd FD DEST         Bind open directory or path fd read-only on DEST
    --remount-ro DEST            Remount DEST as readonly; does not recursively remount
    --proc DEST                  Mount new procfs on DEST
    --dev DEST                   Mount new dev on DEST
    --tmpfs DEST                 Mount new tmpfs on DEST
    --mqueue DEST                Mount new mqueue on DEST
    --dir DEST                   Create dir at DEST
    --file FD DEST               Copy from FD to destination DEST
    --bind-data FD DEST          Copy from FD to file which is bind-mounted on DEST
    --ro-bind-data FD DEST       Copy from FD to file which is readonly bind-mounted on DEST
    --symlink SRC DEST           Create symlink at DEST with target SRC
    --exec-label LABEL           Exec label for the sandbox (needs SELinux; refused)
    --file-label LABEL           File label for temporary sandbox content (needs SELinux; refused)
    --sync-fd FD                 Keep this fd open while sandbox is running
    --info-fd FD                 Write information about the running container to FD
    --json-status-fd FD          Write container status to FD as multiple JSON documents
    --block-fd FD                Block on FD until some data to read is available
    --userns-block-fd FD         Block on FD until the user namespace is ready
    --new-session                Create a new terminal session
    --die-with-parent            Kills with SIGKILL child process (COMMAND) when bwrap or bwrap's parent dies.
    --as-pid-1                   Do not install a reaper process with PID=1
    --seccomp FD                 Load and use seccomp rules from FD (not repeatable)
    --add-seccomp-fd FD          Load and use seccomp rules from FD (repeatable)
    --cap-add CAP                Add cap CAP (or ALL) to the command's, after any before it
    --cap-drop CAP               Drop cap CAP (or ALL) from the command's (a caller of uid 0 starts with its own)
    --disable-userns             The command cannot make user namespaces (requires --unshare-user)
    --assert-userns-disabled     Fail unless making a user namespace is already impossible
    --sandbox-defaults LIST      sandbox's own defaults instead of bubblewrap's, LIST of
                                 landlock[=require], seccomp, relay, caps, limits, masks,
                                 or all
                                 (also {DEFAULTS_ENV}=LIST; docs/BWRAP.md)
    --perms OCTAL                Set permissions of next argument (--bind-data, --file, etc.)
    --size BYTES                 Set size of next argument (only for --tmpfs)
    --chmod OCTAL PATH           Change permissions of PATH (must already exist)
    --overlay-src SRC            Add the host directory SRC as a layer of the next overlay (the last given is the top)
    --overlay RWSRC WORKDIR DEST Overlay on DEST, writes going to the host directory RWSRC
                                 (WORKDIR: an empty directory on the same filesystem)
    --tmp-overlay DEST           Overlay on DEST, writes going to a tmpfs nobody else sees, gone at exit
    --ro-overlay DEST            Read-only overlay on DEST (at least two --overlay-src)
    --level-prefix               Prepend e.g. <3> to diagnostic messages (bubblewrap 0.9's option)
"
    )
}

/// A usage error, as bubblewrap words it, prefixed once when printed.
#[derive(Debug, PartialEq, Eq)]
pub struct Usage(pub String);

type R<T> = std::result::Result<T, Usage>;

fn err<T>(msg: impl Into<String>) -> R<T> {
    Err(Usage(msg.into()))
}

/// `--perms` and `--size`: they apply to the next operation only; the
/// `--overlay-src` layers given since the last overlay, bottom first.
#[derive(Default)]
struct Pending {
    perms: Option<u32>,
    size: Option<u64>,
    overlay_srcs: Vec<OsString>,
}

/// What bubblewrap says of an `--overlay-src` not followed by an overlay.
const OVERLAY_SRC_ALONE: &str = "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay";

/// Parse bubblewrap's command line. `env` is the caller's environment
/// (the start of `--setenv`'s), `read_fd` reads a descriptor passed by
/// number (`--args`, `--file`, `--bind-data`), `fd_target` names what a
/// descriptor is open on (`--bind-fd`), `exists` checks a bind source
/// (Err: the errno text).
pub fn parse(
    argv0: &str,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    read_fd: &mut dyn FnMut(i32) -> std::io::Result<Vec<u8>>,
    fd_target: &dyn Fn(i32) -> std::io::Result<PathBuf>,
    exists: &dyn Fn(&Path) -> std::result::Result<PathBuf, String>,
) -> R<Cmd> {
    // Ours, not the command's: taken out of what the command inherits
    // (`--setenv` can still give it one).
    let mut env = env;
    let from_env: Vec<OsString> = env
        .iter()
        .filter(|(k, _)| k == DEFAULTS_ENV)
        .map(|(_, v)| v.clone())
        .collect();
    env.retain(|(k, _)| k != DEFAULTS_ENV);
    let mut p = Parsed {
        env,
        ..Parsed::default()
    };
    let mut defaults: Vec<OsString> = Vec::new();
    let mut pending = Pending::default();
    let mut args: std::collections::VecDeque<OsString> = args.into();
    let mut args_files = 0;
    let mut share_net = false;
    let mut had_seccomp = false;
    // --unshare-user itself, which --disable-userns requires (not its
    // -try form, nor --unshare-all's).
    while let Some(a) = args.pop_front() {
        let opt = a.to_string_lossy().into_owned();
        if !opt.starts_with("--") || opt == "--" {
            if opt != "--" {
                args.push_front(a);
            }
            break;
        }
        let mut next = |what: &str| -> R<OsString> {
            args.pop_front()
                .ok_or_else(|| Usage(format!("{opt} takes {what}")))
        };
        // Operations that create something take --perms; --tmpfs takes
        // --size too. Anything else after either is an error.
        let takes_perms = matches!(
            opt.as_str(),
            "--dir" | "--file" | "--bind-data" | "--ro-bind-data" | "--tmpfs"
        );
        if pending.perms.is_some() && !takes_perms && opt != "--perms" && opt != "--size" {
            return err("--perms must be followed by an option that creates a file");
        }
        if pending.size.is_some() && opt != "--tmpfs" && opt != "--perms" && opt != "--size" {
            return err("--size must be followed by --tmpfs");
        }
        // `--args` only splices in more options: what it holds is checked.
        if !pending.overlay_srcs.is_empty()
            && !matches!(
                opt.as_str(),
                "--overlay-src" | "--overlay" | "--tmp-overlay" | "--ro-overlay" | "--args"
            )
        {
            return err(OVERLAY_SRC_ALONE);
        }
        match opt.as_str() {
            "--help" => return Ok(Cmd::Help(usage(argv0))),
            "--version" => {
                return Ok(Cmd::Version(format!(
                    "bubblewrap {BWRAP_VERSION} (sandbox {}: bubblewrap's command line on sandbox's engine)",
                    env!("CARGO_PKG_VERSION")
                )))
            }
            "--args" => {
                let fd = fd_arg(&opt, next("a file descriptor")?)?;
                args_files += 1;
                if args_files > MAX_ARGS_FILES {
                    return err("--args: too many argument files");
                }
                let data = read_fd(fd)
                    .map_err(|e| Usage(format!("Failed to read arguments from fd {fd}: {e}")))?;
                // NUL-separated, the last one NUL-terminated.
                let mut parts: Vec<OsString> = data
                    .split(|&b| b == 0)
                    .map(|s| OsString::from_vec(s.to_vec()))
                    .collect();
                if data.last() == Some(&0) || data.is_empty() {
                    parts.pop();
                }
                for part in parts.into_iter().rev() {
                    args.push_front(part);
                }
            }
            "--unshare-all" => {
                p.unshare_net = true;
                p.unshare_pid = true;
                p.unshare_uts = true;
                p.unshare_user = true;
                p.unshare_user_try = true;
            }
            "--share-net" => share_net = true,
            "--unshare-user" => {
                p.unshare_user = true;
                p.unshare_user_explicit = true;
            }
            "--unshare-user-try" => {
                p.unshare_user = true;
                p.unshare_user_try = true;
            }
            "--userns" | "--userns2" | "--pidns" | "--userns-block-fd" | "--block-fd"
            | "--sync-fd" => {
                let fd = fd_arg(&opt, next("an argument")?)?;
                let slot = match opt.as_str() {
                    "--userns" => &mut p.userns,
                    "--userns2" => &mut p.userns2,
                    "--pidns" => &mut p.pidns,
                    "--userns-block-fd" => &mut p.userns_block_fd,
                    "--block-fd" => &mut p.block_fd,
                    _ => &mut p.sync_fd,
                };
                if slot.replace(fd).is_some() {
                    log(
                        LOG_WARNING,
                        &format!("Only the last {opt} option will take effect"),
                    );
                }
            }
            "--level-prefix" => LEVEL_PREFIX.store(true, Ordering::Relaxed),
            "--exec-label" | "--file-label" => {
                next("an argument")?;
                return err(label_refused(&opt));
            }
            "--unshare-pid" => p.unshare_pid = true,
            "--unshare-net" => p.unshare_net = true,
            "--unshare-uts" => p.unshare_uts = true,
            // Always new: the engine makes them for every sandbox.
            "--unshare-ipc" | "--unshare-cgroup" | "--unshare-cgroup-try" => {}
            "--uid" => p.uid = Some(id_arg(&opt, next("a uid")?)?),
            "--gid" => p.gid = Some(id_arg(&opt, next("a gid")?)?),
            "--hostname" => {
                let h = next("a hostname")?;
                p.hostname = Some(
                    h.into_string()
                        .map_err(|_| Usage("--hostname: not valid UTF-8".into()))?,
                );
            }
            "--chdir" => p.chdir = Some(next("a directory")?),
            "--clearenv" => p.env.clear(),
            "--setenv" => {
                let k = next("a variable and a value")?;
                let v = next("a variable and a value")?;
                if k.is_empty() || k.as_bytes().contains(&b'=') {
                    return err(format!("--setenv: invalid variable name {:?}", k));
                }
                p.env.retain(|(ek, _)| *ek != k);
                p.env.push((k, v));
            }
            "--unsetenv" => {
                let k = next("a variable")?;
                p.env.retain(|(ek, _)| *ek != k);
            }
            "--argv0" => p.argv0 = Some(next("a value")?),
            "--lock-file" => p.lock_files.push(next("a path")?),
            "--die-with-parent" => p.die_with_parent = true,
            "--new-session" => p.new_session = true,
            "--as-pid-1" => p.as_pid_1 = true,
            "--info-fd" => p.info_fd = Some(fd_arg(&opt, next("a file descriptor")?)?),
            "--json-status-fd" => {
                p.json_status_fd = Some(fd_arg(&opt, next("a file descriptor")?)?)
            }
            "--cap-add" => p.caps.add(cap_arg(&next("an argument")?)?),
            "--cap-drop" => p.caps.drop(cap_arg(&next("an argument")?)?),
            "--disable-userns" => p.disable_userns = true,
            "--assert-userns-disabled" => p.assert_userns_disabled = true,
            "--seccomp" | "--add-seccomp-fd" => {
                let fd = fd_arg(&opt, next("a file descriptor")?)?;
                if (opt == "--seccomp" && !p.seccomp.is_empty()) || had_seccomp {
                    return err("--seccomp cannot be repeated or combined with --add-seccomp-fd");
                }
                let prog = read_fd(fd)
                    .map_err(|e| Usage(format!("Can't read seccomp data from fd {fd}: {e}")))?;
                if prog.is_empty() || prog.len() % 8 != 0 {
                    return err(format!("Invalid seccomp data from fd {fd}: {} bytes, not a multiple of 8", prog.len()));
                }
                had_seccomp |= opt == "--seccomp";
                p.seccomp.push(prog);
            }
            DEFAULTS_OPTION => {
                defaults.push(next("a list")?);
            }
            "--perms" => {
                if pending.perms.is_some() {
                    return err("--perms given twice for the same action");
                }
                pending.perms = Some(octal_arg(&opt, next("an octal mode")?)?);
            }
            "--size" => {
                if pending.size.is_some() {
                    return err("--size given twice for the same action");
                }
                pending.size = Some(size_arg(next("a size in bytes")?)?);
            }
            "--bind" | "--bind-try" | "--ro-bind" | "--ro-bind-try" | "--dev-bind"
            | "--dev-bind-try" => {
                let src = next("a source and a destination")?;
                let dst = next("a source and a destination")?;
                let src = match exists(Path::new(&src)) {
                    Ok(real) => real,
                    Err(_) if opt.ends_with("-try") => continue,
                    Err(why) => {
                        return err(format!(
                            "Can't find source path {}: {why}",
                            Path::new(&src).display()
                        ))
                    }
                };
                p.ops.push(RootOp::Bind {
                    src,
                    dst: dest(&dst),
                    read_only: opt.starts_with("--ro-"),
                    devices: opt.starts_with("--dev-"),
                });
            }
            "--bind-fd" | "--ro-bind-fd" => {
                let fd = fd_arg(&opt, next("a file descriptor and a destination")?)?;
                let dst = next("a file descriptor and a destination")?;
                let src = fd_target(fd)
                    .map_err(|e| Usage(format!("Can't find source path of fd {fd}: {e}")))?;
                p.option_fds.push(fd);
                p.ops.push(RootOp::Bind {
                    src,
                    dst: dest(&dst),
                    read_only: opt == "--ro-bind-fd",
                    devices: false,
                });
            }
            "--remount-ro" => p.ops.push(RootOp::RemountRo {
                dst: dest(&next("a destination")?),
            }),
            "--proc" => p.ops.push(RootOp::Proc {
                dst: dest(&next("a destination")?),
            }),
            "--dev" => p.ops.push(RootOp::Dev {
                dst: dest(&next("a destination")?),
            }),
            "--mqueue" => p.ops.push(RootOp::Mqueue {
                dst: dest(&next("a destination")?),
            }),
            "--tmpfs" => {
                let dst = dest(&next("a destination")?);
                let pend = std::mem::take(&mut pending);
                p.ops.push(RootOp::Tmpfs {
                    dst,
                    mode: pend.perms.unwrap_or(0o755),
                    size: pend.size,
                });
            }
            "--dir" => {
                let dst = dest(&next("a destination")?);
                let pend = std::mem::take(&mut pending);
                p.ops.push(RootOp::Dir {
                    dst,
                    mode: pend.perms.unwrap_or(0o755),
                });
            }
            "--symlink" => {
                let target = next("a target and a destination")?;
                let dst = dest(&next("a target and a destination")?);
                p.ops.push(RootOp::Symlink { target, dst });
            }
            "--chmod" => {
                let mode = octal_arg(&opt, next("an octal mode and a path")?)?;
                let dst = dest(&next("an octal mode and a path")?);
                p.ops.push(RootOp::Chmod { dst, mode });
            }
            "--file" | "--bind-data" | "--ro-bind-data" => {
                let fd = fd_arg(&opt, next("a file descriptor and a destination")?)?;
                let dst = dest(&next("a file descriptor and a destination")?);
                let data = read_fd(fd)
                    .map_err(|e| Usage(format!("Can't read from fd {fd} ({opt}): {e}")))?;
                let pend = std::mem::take(&mut pending);
                p.ops.push(if opt == "--file" {
                    RootOp::File {
                        dst,
                        data,
                        mode: pend.perms.unwrap_or(0o666),
                    }
                } else {
                    RootOp::BindData {
                        dst,
                        data,
                        mode: pend.perms.unwrap_or(0o600),
                        read_only: opt == "--ro-bind-data",
                    }
                });
            }
            "--overlay-src" => pending.overlay_srcs.push(next("a source")?),
            "--overlay" | "--tmp-overlay" | "--ro-overlay" => {
                let dirs = if opt == "--overlay" {
                    let what = "a source, a work directory and a destination";
                    Some((next(what)?, next(what)?))
                } else {
                    None
                };
                let dst = dest(&next("a destination")?);
                // The kernel wants two lower layers when there is no upper.
                let least = if opt == "--ro-overlay" { 2 } else { 1 };
                if pending.overlay_srcs.len() < least {
                    let n = if least == 1 { "one" } else { "two" };
                    return err(format!("{opt} requires at least {n} --overlay-src"));
                }
                let upper = match dirs {
                    Some((upper, work)) => OverlayUpper::Dir {
                        upper: source(&upper, exists)?,
                        work: source(&work, exists)?,
                    },
                    None if opt == "--tmp-overlay" => OverlayUpper::Tmpfs,
                    None => OverlayUpper::ReadOnly,
                };
                let lowers = std::mem::take(&mut pending.overlay_srcs)
                    .iter()
                    .map(|l| source(l, exists))
                    .collect::<R<_>>()?;
                p.ops.push(RootOp::Overlay { lowers, upper, dst });
            }
            o => return err(format!("Unknown option {o}")),
        }
    }
    if pending.perms.is_some() {
        return err("--perms must be followed by an option that creates a file");
    }
    if pending.size.is_some() {
        return err("--size must be followed by --tmpfs");
    }
    if !pending.overlay_srcs.is_empty() {
        return err(OVERLAY_SRC_ALONE);
    }
    if share_net {
        p.unshare_net = false;
    }
    for v in &from_env {
        opt_into(&mut p, DEFAULTS_ENV, v)?;
    }
    for v in &defaults {
        opt_into(&mut p, DEFAULTS_OPTION, v)?;
    }
    p.command = args.into_iter().collect();
    if p.command.is_empty() {
        return err(format!("No command specified\n{}", usage(argv0)));
    }
    if p.hostname.is_some() && !p.unshare_uts {
        return err("Specifying --hostname requires --unshare-uts");
    }
    if p.userns_block_fd.is_some() && !p.unshare_user_explicit {
        return err("--userns-block-fd requires --unshare-user");
    }
    if p.userns_block_fd.is_some() && p.info_fd.is_none() {
        return err("--userns-block-fd requires --info-fd");
    }
    if p.userns.is_some() && p.unshare_user_explicit {
        return err("--userns not compatible --unshare-user");
    }
    if p.userns.is_some() && p.unshare_user_try {
        return err("--userns not compatible --unshare-user-try");
    }
    if p.pidns.is_some() && p.unshare_pid {
        // A PID namespace below a joined one needs one more process
        // (unshare refuses CLONE_NEWPID once the children's namespace is
        // not the caller's own), which bubblewrap forks and we do not.
        return err("--pidns with --unshare-pid (or --unshare-all) is not supported by sandbox's bubblewrap front end (docs/BWRAP.md)");
    }
    if p.pidns.is_some() && p.userns.is_none() {
        // Joined by the stage after it has joined --userns's namespace,
        // which gives it the capability to (docs/BWRAP.md).
        return err("--pidns without --userns is not supported by sandbox's bubblewrap front end (docs/BWRAP.md)");
    }
    if (p.uid.is_some() || p.gid.is_some()) && !p.unshare_user && p.userns.is_none() {
        return err("Specifying --uid or --gid requires --unshare-user or --userns");
    }
    if p.opt_drop_caps && p.caps.adds_any() {
        return err(format!(
            "--cap-add cannot be combined with the caps item of {DEFAULTS_OPTION} or {DEFAULTS_ENV} (every capability dropped)"
        ));
    }
    if p.disable_userns && !p.unshare_user_explicit {
        return err("--disable-userns requires --unshare-user");
    }
    Ok(Cmd::Run(Box::new(p)))
}

/// A destination inside the sandbox, absolute and normalised (bubblewrap
/// takes a relative one from the root).
fn dest(d: &OsStr) -> PathBuf {
    normalize(Path::new(d))
}

/// An overlay's host directory, resolved (symlinks followed) as bubblewrap
/// resolves it; one that is not there is an error.
fn source(
    src: &OsStr,
    exists: &dyn Fn(&Path) -> std::result::Result<PathBuf, String>,
) -> R<PathBuf> {
    exists(Path::new(src)).map_err(|why| {
        Usage(format!(
            "Can't find source path {}: {why}",
            Path::new(src).display()
        ))
    })
}

fn fd_arg(opt: &str, v: OsString) -> R<i32> {
    let s = v.to_string_lossy();
    match s.parse::<i32>() {
        Ok(n) if n >= 0 => Ok(n),
        _ => err(format!("Invalid fd: {s} ({opt})")),
    }
}

fn id_arg(opt: &str, v: OsString) -> R<u32> {
    let s = v.to_string_lossy();
    s.parse::<u32>()
        .map_err(|_| Usage(format!("Invalid {}: {s}", &opt[2..])))
}

fn octal_arg(opt: &str, v: OsString) -> R<u32> {
    let s = v.to_string_lossy();
    match u32::from_str_radix(&s, 8) {
        Ok(m) if m <= 0o7777 && !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => Ok(m),
        _ => err(format!("{opt} takes an octal mode up to 07777, not {s:?}")),
    }
}

/// `--size`: decimal bytes, more than 0 and at most SIZE_MAX / 2, nothing
/// else in the string (no sign, no space, no suffix).
fn size_arg(v: OsString) -> R<u64> {
    let s = v.to_string_lossy();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return err(format!("Invalid size: {s:?}"));
    }
    match s.parse::<u64>() {
        Ok(n) if n > 0 && n <= u64::MAX / 2 => Ok(n),
        _ => err(format!("Invalid size: {s:?}")),
    }
}

/// The command `/proc/self/exe`: bubblewrap itself, here our binary as
/// this front end (`Built::self_exe`).
pub const SELF_EXE: &str = "/proc/self/exe";

/// The name of the sealed memfd the command `/proc/self/exe` runs from,
/// and what its /proc/self/exe reads: main.rs runs this front end for it.
pub const SELF_COPY_NAME: &std::ffi::CStr = c"sandbox-bwrap";
pub const SELF_COPY_EXE: &str = "/memfd:sandbox-bwrap (deleted)";

/// The parsed command line as a run of the engine: bubblewrap's process
/// (the caller's uid and gid, environment, hostname and working
/// directory; its capabilities by bubblewrap's rule for the caller's uid
/// `uid`; no Landlock, no seccomp filter, the caller's stdio), but for
/// what `--sandbox-defaults` opted into; no per-namespace limits.
pub fn run_args(p: &Parsed, uid: u32, gid: u32, cwd: Option<OsString>) -> RunArgs {
    let mut a = RunArgs::new("/");
    a.command = p.command.clone();
    a.hostname = p.hostname.clone().unwrap_or_else(host_name);
    a.setenv = p.env.clone();
    a.uid = p.uid.unwrap_or(uid);
    a.gid = p.gid.unwrap_or(gid);
    a.share_net = !p.unshare_net;
    a.seccomp = p.opt_seccomp;
    a.landlock = p.opt_landlock.unwrap_or(LandlockMode::Off);
    a.stdio = if p.opt_relay {
        StdioMode::Relay
    } else {
        StdioMode::Inherit
    };
    // No per-namespace limits, as bubblewrap, unless opted into (but
    // --disable-userns's own, below).
    a.ns_limit_defaults = p.opt_limits;
    // bubblewrap's PID 1 is a reaper unless --as-pid-1: ours is init.
    a.init = p.unshare_pid && !p.as_pid_1;
    a.namespace_ids = p.info_fd.is_some() || p.json_status_fd.is_some();
    let home = p
        .env
        .iter()
        .find(|(k, _)| k == "HOME")
        .map(|(_, v)| v.clone());
    let (chdir, fallback) = match &p.chdir {
        Some(d) => (d.clone(), None),
        None => (
            cwd.unwrap_or_else(|| "/".into()),
            Some(home.unwrap_or_default()),
        ),
    };
    a.chdir = chdir;
    a.built = Some(Built {
        ops: p.ops.clone(),
        chdir_fallback: fallback,
        argv0: p.argv0.clone(),
        lock_files: p.lock_files.clone(),
        new_session: p.new_session,
        seccomp: p.seccomp.clone(),
        pass_fds: Vec::new(),
        // `--sandbox-defaults caps`: none at all, as `sandbox run`'s
        // command has (a --cap-add with it is refused at parse).
        caps: if p.opt_drop_caps {
            CapSets::NONE
        } else {
            p.caps.sets(
                (uid == 0).then(|| {
                    (
                        crate::sys::effective_caps().unwrap_or(0),
                        crate::sys::bounding_set(),
                    )
                }),
                p.unshare_user,
            )
        },
        disable_userns: p.disable_userns,
        assert_userns_disabled: p.disable_userns || p.assert_userns_disabled,
        self_exe: p.command.first().is_some_and(|c| c == SELF_EXE),
        mask_proc: p.opt_masks,
        userns: match (p.userns, p.userns_block_fd) {
            // bubblewrap's setuid()/setgid() in a joined namespace, each
            // only when it differs from the caller's (-1: unchanged).
            (Some(_), _) => BuiltUserns::Caller {
                switch_to: (p.uid.is_some_and(|u| u != uid) || p.gid.is_some_and(|g| g != gid))
                    .then(|| {
                        (
                            p.uid.filter(|&u| u != uid).unwrap_or(u32::MAX),
                            p.gid.filter(|&g| g != gid).unwrap_or(u32::MAX),
                        )
                    }),
            },
            (None, Some(_)) => BuiltUserns::Caller { switch_to: None },
            (None, None) => BuiltUserns::Engine,
        },
        userns2: p.userns2.is_some(),
        block: p.block_fd.is_some(),
        joined_pidns: p.pidns.is_some() && !p.unshare_pid,
    });
    if p.disable_userns {
        // In the sandbox's user namespace, which counts the nested one the
        // command runs in: no other can be made below it.
        a.ns_limits.push(("user.max_user_namespaces".into(), 1));
    }
    a.given = GivenNs {
        userns: p.userns,
        pidns: p.pidns,
        new_pid: p.unshare_pid,
        caller_maps: p.userns_block_fd.is_some(),
        userns2: p.userns2,
        block: p.block_fd,
    };
    a
}

/// The descriptors the command gets, at the same numbers, as bubblewrap
/// passes them: what the caller left open without close-on-exec
/// (`inherited`, read once parsing has closed what `--args`, `--file`,
/// `--bind-data` and `--seccomp` named), but for those bubblewrap closes
/// before the command runs: `--info-fd`, `--json-status-fd`, `--bind-fd`
/// (docs/BWRAP.md, "Descriptors").
pub fn passed_fds(p: &Parsed, inherited: &[i32]) -> Vec<PassFd> {
    inherited
        .iter()
        .copied()
        .filter(|&fd| {
            fd > 2
                && p.info_fd != Some(fd)
                && p.json_status_fd != Some(fd)
                && !p.option_fds.contains(&fd)
                // Ours to join, read or hold, never the command's (bubblewrap
                // lets the namespace ones through: docs/BWRAP.md).
                && ![
                    p.userns,
                    p.userns2,
                    p.pidns,
                    p.userns_block_fd,
                    p.block_fd,
                    p.sync_fd,
                ]
                .contains(&Some(fd))
        })
        .map(|fd| PassFd { fd, at: fd })
        .collect()
}

/// The host's hostname (the sandbox keeps it without --hostname).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| crate::plan::DEFAULT_HOSTNAME.into())
}

/// An engine error as bubblewrap prints its own: `bwrap: ` and the text.
fn say(e: &crate::error::Error) {
    let line = e.to_string();
    log(LOG_ERR, line.strip_prefix("sandbox: ").unwrap_or(&line));
    if let Some(h) = &e.hint {
        log(LOG_ERR, &format!("hint: {h}"));
    }
}

/// The caller's descriptors that only we read or hold (`--sync-fd`,
/// `--userns-block-fd`) must be open: a bad number fails here, with 1,
/// rather than never blocking or never signalling the end.
fn check_fds(p: &Parsed) -> Result<(), crate::error::Error> {
    for (fd, opt) in [
        (p.sync_fd, "--sync-fd"),
        (p.userns_block_fd, "--userns-block-fd"),
    ] {
        if let Some(n) = fd.filter(|&n| !crate::sys::fd_is_open(n)) {
            return Err(crate::error::Error::errno(
                format!("check the descriptor ({opt})"),
                Some(format!("fd {n}")),
                libc::EBADF,
            ));
        }
    }
    Ok(())
}

/// A descriptor number given on the command line, written to and closed
/// when dropped; close-on-exec, so that only the launcher holds it.
fn out_fd(fd: i32) -> Option<std::fs::File> {
    let f = crate::sys::adopt_fd(fd).ok()?;
    let _ = crate::sys::set_cloexec(fd, true);
    Some(std::fs::File::from(f))
}

/// The sandbox's first process exists (launch/launcher.rs
/// `Options::before_release`): `--info-fd` gets its pid and namespaces
/// and is closed, `--json-status-fd` the same on one line; then
/// `--userns-block-fd` is read (one byte or EOF) and closed.
fn created(
    pid: i32,
    namespaces: &[(&'static str, u64)],
    info: Option<std::fs::File>,
    status: Option<std::fs::File>,
    userns_block: Option<std::fs::File>,
) {
    let mut fields = vec![("child-pid", pid as u64)];
    fields.extend_from_slice(namespaces);
    if let Some(mut f) = info {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("    \"{k}\": {v}"))
            .collect();
        let _ = write!(f, "{{\n{}\n}}\n", body.join(",\n"));
    }
    if let Some(mut f) = status {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("\"{k}\": {v}"))
            .collect();
        let _ = writeln!(f, "{{ {} }}", body.join(", "));
    }
    if let Some(f) = userns_block {
        // Signals are blocked here (the launcher reads them from a
        // signalfd), so EINTR is not expected; bounded all the same.
        for _ in 0..100 {
            match std::io::Read::read(&mut &f, &mut [0u8; 1]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                _ => break,
            }
        }
    }
}

/// `bwrap ARGS`: parse, run on the engine, exit as bubblewrap does (the
/// command's status; 1 when the sandbox could not be made or the command
/// not run).
pub fn main(argv0: &OsStr, args: Vec<OsString>) -> u8 {
    let argv0 = argv0.to_string_lossy();
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let mut read_fd = |fd: i32| crate::sys::read_passed_fd(fd);
    let fd_target = |fd: i32| std::fs::read_link(format!("/proc/self/fd/{fd}"));
    let exists = |p: &Path| {
        std::fs::canonicalize(p)
            .map_err(|e| crate::error::describe_errno(e.raw_os_error().unwrap_or(libc::ENOENT)))
    };
    let parsed = match parse(&argv0, args, env, &mut read_fd, &fd_target, &exists) {
        Ok(Cmd::Help(t)) => {
            let _ = std::io::stdout().lock().write_all(t.as_bytes());
            return 0;
        }
        Ok(Cmd::Version(v)) => {
            println!("{v}");
            return 0;
        }
        Ok(Cmd::Run(p)) => p,
        Err(Usage(m)) => {
            log(LOG_ERR, &m);
            return EXIT_FAILURE;
        }
    };
    if let Err(e) = check_fds(&parsed) {
        say(&e);
        return EXIT_FAILURE;
    }
    // bubblewrap closes these once used: so do we (their paths are read).
    for &fd in &parsed.option_fds {
        let _ = crate::sys::sigsafe::close(fd);
    }
    let inherited = match crate::sys::inherited_fds() {
        Ok(v) => v,
        Err(e) => {
            log(
                LOG_ERR,
                &format!("Can't list the inherited file descriptors in /proc/self/fd: {e}"),
            );
            return EXIT_FAILURE;
        }
    };
    let ((uid, _), (gid, _)) = crate::sys::ids();
    let cwd = std::env::current_dir().ok().map(PathBuf::into_os_string);
    let mut args = run_args(&parsed, uid, gid, cwd);
    if let Some(b) = args.built.as_mut() {
        b.pass_fds = passed_fds(&parsed, &inherited);
    }
    if parsed.die_with_parent {
        if let Err(e) = crate::sys::set_parent_death_signal(libc::SIGKILL) {
            log(LOG_ERR, &format!("prctl(PR_SET_PDEATHSIG): {e}"));
            return EXIT_FAILURE;
        }
    }
    let info = parsed.info_fd.and_then(out_fd);
    // The same descriptor for both: one File, cloned, so it is closed once.
    let mut status = match (parsed.json_status_fd, parsed.info_fd) {
        (Some(j), Some(i)) if j == i => info.as_ref().and_then(|f| f.try_clone().ok()),
        (j, _) => j.and_then(out_fd),
    };
    let status_first = status.as_ref().and_then(|f| f.try_clone().ok());
    let userns_block = parsed.userns_block_fd.and_then(out_fd);
    let mut cmd = crate::Command::from_args(args);
    cmd.cli(None, None)
        .on_notice(|n| log(LOG_WARNING, n))
        // As bubblewrap: the child's pid and namespaces once it exists,
        // before its id maps and its release; then, with
        // --userns-block-fd, the caller's byte (it writes the maps).
        .before_release(move |pid, namespaces| {
            created(pid, namespaces, info, status_first, userns_block)
        });
    // --sync-fd: the caller's descriptor stays open in this process, which
    // ends only once the sandbox has (and whose guard takes the sandbox
    // with it if it is killed); the stage closes its inherited copy, so
    // the command never holds it (docs/BWRAP.md).
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            say(&e);
            return EXIT_FAILURE;
        }
    };
    let report = child.wait_for_status();
    if let Some(e) = &report.error {
        say(e);
        return EXIT_FAILURE;
    }
    if let Some(f) = status.as_mut() {
        let _ = writeln!(f, "{{ \"exit-code\": {} }}", report.status);
    }
    report.status
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the caller left open reaches the command, but for what
    /// bubblewrap closes: `--info-fd`, `--json-status-fd`, `--bind-fd`.
    #[test]
    fn passed_fds_leave_out_what_bubblewrap_closes() {
        let mut read = |_| Err(std::io::Error::from_raw_os_error(libc::EBADF));
        let target = |_| Ok(PathBuf::from("/srv"));
        let exists = |p: &Path| Ok(p.to_path_buf());
        let args = [
            "--info-fd",
            "5",
            "--json-status-fd",
            "6",
            "--bind-fd",
            "7",
            "/srv",
            "--ro-bind-fd",
            "9",
            "/x",
            "true",
        ];
        let Ok(Cmd::Run(p)) = parse(
            "bwrap",
            args.iter().map(OsString::from).collect(),
            Vec::new(),
            &mut read,
            &target,
            &exists,
        ) else {
            panic!("parse failed");
        };
        let got: Vec<i32> = passed_fds(&p, &[3, 4, 5, 6, 7, 8, 9, 100])
            .iter()
            .map(|f| f.fd)
            .collect();
        assert_eq!(got, [3, 4, 8, 100]);
        assert!(passed_fds(&p, &[0, 1, 2]).is_empty());
    }

    /// Parse `args` where `--args FD` may read `fds` (number, bytes),
    /// with an empty caller environment; a run is expected.
    fn parse_with_fds(args: &[&str], fds: &[(i32, &[u8])]) -> Parsed {
        let mut read = |fd: i32| -> std::io::Result<Vec<u8>> {
            fds.iter()
                .find(|(n, _)| *n == fd)
                .map(|(_, d)| d.to_vec())
                .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EBADF))
        };
        let no_target = |_| Err(std::io::Error::from_raw_os_error(libc::EBADF));
        let exists = |p: &Path| Ok(p.to_path_buf());
        match parse(
            "bwrap",
            args.iter().map(OsString::from).collect(),
            Vec::new(),
            &mut read,
            &no_target,
            &exists,
        ) {
            Ok(Cmd::Run(p)) => *p,
            other => panic!("{other:?}"),
        }
    }

    fn parse_ok(args: &[&str]) -> Parsed {
        let mut no_fd = |_| Err(std::io::Error::from_raw_os_error(libc::EBADF));
        let no_target = |_| Err(std::io::Error::from_raw_os_error(libc::EBADF));
        let exists = |p: &Path| Ok(p.to_path_buf());
        match parse(
            "bwrap",
            args.iter().map(OsString::from).collect(),
            vec![("A".into(), "1".into())],
            &mut no_fd,
            &no_target,
            &exists,
        ) {
            Ok(Cmd::Run(p)) => *p,
            other => panic!("{other:?}"),
        }
    }

    fn parse_err(args: &[&str]) -> String {
        let mut no_fd = |_| Err(std::io::Error::from_raw_os_error(libc::EBADF));
        let no_target = |_| Err(std::io::Error::from_raw_os_error(libc::EBADF));
        let exists = |p: &Path| {
            if p.starts_with("/missing") {
                Err("No such file or directory".to_string())
            } else {
                Ok(p.to_path_buf())
            }
        };
        match parse(
            "bwrap",
            args.iter().map(OsString::from).collect(),
            Vec::new(),
            &mut no_fd,
            &no_target,
            &exists,
        ) {
            Err(Usage(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn operations_keep_their_order_and_modifiers() {
        let p = parse_ok(&[
            "--ro-bind",
            "/usr",
            "/usr",
            "--perms",
            "0700",
            "--dir",
            "/a/../b",
            "--size",
            "4096",
            "--tmpfs",
            "/tmp",
            "--bind-try",
            "/missing",
            "/m",
            "--symlink",
            "usr/lib",
            "/lib",
            "--setenv",
            "A",
            "2",
            "--",
            "--dev-bind",
            "x",
        ]);
        assert_eq!(
            p.ops,
            vec![
                RootOp::Bind {
                    src: "/usr".into(),
                    dst: "/usr".into(),
                    read_only: true,
                    devices: false
                },
                RootOp::Dir {
                    dst: "/b".into(),
                    mode: 0o700
                },
                RootOp::Tmpfs {
                    dst: "/tmp".into(),
                    mode: 0o755,
                    size: Some(4096)
                },
                RootOp::Bind {
                    src: "/missing".into(),
                    dst: "/m".into(),
                    read_only: false,
                    devices: false
                },
                RootOp::Symlink {
                    target: "usr/lib".into(),
                    dst: "/lib".into()
                },
            ]
        );
        assert_eq!(p.env, vec![("A".into(), "2".into())]);
        assert_eq!(p.command, vec![OsString::from("--dev-bind"), "x".into()]);
    }

    #[test]
    fn bad_and_unsupported_options_are_errors() {
        assert!(parse_err(&["--bind", "/missing/x", "/x", "true"])
            .starts_with("Can't find source path /missing/x: No such file"));
        for size in [
            "0",
            "123bogus",
            "",
            "-12345678",
            " -12345678",
            "18446744073709551616",
            "9223372036854775809",
        ] {
            assert!(
                parse_err(&["--size", size, "--tmpfs", "/a", "true"]).starts_with("Invalid size"),
                "{size}"
            );
        }
        assert!(
            parse_err(&["--perms", "0640", "--perms", "0640", "--tmpfs", "/a", "true"])
                .contains("twice")
        );
        assert!(
            parse_err(&["--size", "1", "--size", "1", "--tmpfs", "/a", "true"]).contains("twice")
        );
        assert!(
            parse_err(&["--perms", "0640", "--bind", "/a", "/a", "true"]).contains("--perms must")
        );
        assert!(parse_err(&["--no-such-option", "true"]).starts_with("Unknown option"));
        // bubblewrap's refusals of the namespace options, each with its
        // control: the same options in a combination it takes.
        for (bad, good) in [
            (
                &["--unshare-user", "--userns-block-fd", "3", "true"][..],
                &[
                    "--unshare-user",
                    "--info-fd",
                    "4",
                    "--userns-block-fd",
                    "3",
                    "true",
                ][..],
            ),
            (
                &["--info-fd", "4", "--userns-block-fd", "3", "true"],
                &[
                    "--info-fd",
                    "4",
                    "--unshare-user",
                    "--userns-block-fd",
                    "3",
                    "true",
                ],
            ),
            (
                &["--unshare-user", "--userns", "3", "true"],
                &["--userns", "3", "true"],
            ),
            (
                &["--unshare-all", "--userns", "3", "true"],
                &["--unshare-net", "--userns", "3", "true"],
            ),
            (
                &["--uid", "5", "true"],
                &["--userns", "3", "--uid", "5", "true"],
            ),
            (
                &["--userns", "3", "--pidns", "4", "--unshare-pid", "true"],
                &["--userns", "3", "--pidns", "4", "true"],
            ),
            (
                &["--pidns", "4", "true"],
                &["--userns", "3", "--pidns", "4", "true"],
            ),
            (&["--sync-fd", "x", "true"], &["--sync-fd", "3", "true"]),
            (&["--block-fd", "-1", "true"], &["--block-fd", "0", "true"]),
        ] {
            assert!(!parse_err(bad).is_empty(), "{bad:?}");
            parse_ok(good);
        }
        assert_eq!(
            parse_err(&["--exec-label", "x", "true"]),
            label_refused("--exec-label")
        );
        assert_eq!(
            parse_ok(&["--userns", "3", "--userns", "5", "true"]).userns,
            Some(5)
        );
        assert_eq!(
            parse_ok(&["--userns2", "3", "--userns2", "5", "true"]).userns2,
            Some(5)
        );
        assert!(parse_err(&["--pidns", "4", "true"]).starts_with("--pidns without --userns"));
        assert!(
            parse_err(&["--userns", "3", "--pidns", "4", "--unshare-pid", "true"])
                .starts_with("--pidns with --unshare-pid")
        );
        assert!(parse_err(&["--hostname", "h", "true"]).contains("--unshare-uts"));
        assert!(parse_err(&["--dir", "/x"]).starts_with("No command specified"));
        // Controls: the same options made valid.
        parse_ok(&[
            "--size", "1048576", "--perms", "01777", "--tmpfs", "/a", "true",
        ]);
        parse_ok(&["--unshare-uts", "--hostname", "h", "true"]);
    }

    /// The overlay options: `--overlay-src` layers gather, bottom first,
    /// for the next overlay; each overlay takes them all and needs its
    /// least (one, two for `--ro-overlay`); the sources are resolved.
    #[test]
    fn overlays_take_the_sources_given_before_them() {
        let p = parse_ok(&[
            "--overlay-src",
            "/bottom",
            "--overlay-src",
            "/mid/../top",
            "--tmp-overlay",
            "/a",
            "--overlay-src",
            "/one",
            "--overlay",
            "/rw",
            "/work",
            "/b/../c",
            "--overlay-src",
            "/x",
            "--overlay-src",
            "/y",
            "--ro-overlay",
            "d",
            "true",
        ]);
        assert_eq!(
            p.ops,
            vec![
                RootOp::Overlay {
                    lowers: vec!["/bottom".into(), "/mid/../top".into()],
                    upper: OverlayUpper::Tmpfs,
                    dst: "/a".into(),
                },
                RootOp::Overlay {
                    lowers: vec!["/one".into()],
                    upper: OverlayUpper::Dir {
                        upper: "/rw".into(),
                        work: "/work".into()
                    },
                    dst: "/c".into(),
                },
                RootOp::Overlay {
                    lowers: vec!["/x".into(), "/y".into()],
                    upper: OverlayUpper::ReadOnly,
                    dst: "/d".into(),
                },
            ]
        );
        // Sources are resolved (here: the test's `exists` is the identity,
        // a missing one is an error naming it).
        for args in [
            &["--overlay-src", "/missing/l", "--tmp-overlay", "/a", "true"][..],
            &[
                "--overlay-src",
                "/l",
                "--overlay",
                "/missing/u",
                "/w",
                "/a",
                "true",
            ],
            &[
                "--overlay-src",
                "/l",
                "--overlay",
                "/u",
                "/missing/w",
                "/a",
                "true",
            ],
        ] {
            assert!(
                parse_err(args).starts_with("Can't find source path /missing/"),
                "{args:?}"
            );
        }
    }

    #[test]
    fn overlay_mistakes_are_errors() {
        let alone = "--overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay";
        for args in [
            &["--overlay-src", "/l", "true"][..],
            &["--overlay-src", "/l", "--", "true"],
            &["--overlay-src", "/l", "--dir", "/d", "true"],
            &[
                "--overlay-src",
                "/l",
                "--perms",
                "0700",
                "--tmp-overlay",
                "/a",
                "true",
            ],
            &[
                "--overlay-src",
                "/l",
                "--size",
                "1",
                "--tmp-overlay",
                "/a",
                "true",
            ],
            // Checked before the source is looked for, as bubblewrap does.
            &["--overlay-src", "/missing", "--bind", "/a", "/a", "true"],
        ] {
            assert_eq!(parse_err(args), alone, "{args:?}");
        }
        assert_eq!(
            parse_err(&["--tmp-overlay", "/a", "true"]),
            "--tmp-overlay requires at least one --overlay-src"
        );
        assert_eq!(
            parse_err(&["--overlay", "/u", "/w", "/a", "true"]),
            "--overlay requires at least one --overlay-src"
        );
        assert_eq!(
            parse_err(&["--overlay-src", "/l", "--ro-overlay", "/a", "true"]),
            "--ro-overlay requires at least two --overlay-src"
        );
        // An overlay takes the sources given since the last one only.
        assert_eq!(
            parse_err(&[
                "--overlay-src",
                "/l",
                "--overlay-src",
                "/m",
                "--tmp-overlay",
                "/a",
                "--tmp-overlay",
                "/b",
                "true"
            ]),
            "--tmp-overlay requires at least one --overlay-src"
        );
        // --perms and --size are for other operations.
        assert!(parse_err(&[
            "--overlay-src",
            "/l",
            "--overlay-src",
            "/m",
            "--perms",
            "0700",
            "--ro-overlay",
            "/a",
            "true"
        ])
        .starts_with("--overlay-src must"));
        assert!(parse_err(&[
            "--perms",
            "0700",
            "--overlay-src",
            "/l",
            "--tmp-overlay",
            "/a",
            "true"
        ])
        .starts_with("--perms must be followed"));
        assert!(parse_err(&[
            "--size",
            "1",
            "--overlay-src",
            "/l",
            "--tmp-overlay",
            "/a",
            "true"
        ])
        .starts_with("--size must be followed by --tmpfs"));
        assert!(parse_err(&["--overlay-src"]).starts_with("--overlay-src takes"));
        assert!(parse_err(&["--overlay-src", "/l", "--overlay", "/u", "/w"])
            .starts_with("--overlay takes"));
        // Controls: the same lines made right.
        parse_ok(&["--overlay-src", "/l", "--tmp-overlay", "/a", "true"]);
        parse_ok(&["--overlay-src", "/l", "--overlay", "/u", "/w", "/a", "true"]);
        parse_ok(&[
            "--overlay-src",
            "/l",
            "--overlay-src",
            "/m",
            "--ro-overlay",
            "/a",
            "--perms",
            "0700",
            "--tmpfs",
            "/t",
            "true",
        ]);
    }

    /// `--args FD` between `--overlay-src` and its overlay splices the
    /// rest in, as bubblewrap's recursion reads it.
    #[test]
    fn an_overlay_may_come_from_an_args_descriptor() {
        let p = parse_with_fds(
            &["--overlay-src", "/bottom", "--args", "3", "true"],
            &[(3, b"--overlay-src\0/top\0--tmp-overlay\0/a\0")],
        );
        assert_eq!(
            p.ops,
            vec![RootOp::Overlay {
                lowers: vec!["/bottom".into(), "/top".into()],
                upper: OverlayUpper::Tmpfs,
                dst: "/a".into(),
            }]
        );
    }

    /// --cap-add/--cap-drop fold in their order onto bubblewrap's start
    /// (the caller's set when its uid is 0, else none); names as libcap
    /// reads them, an unknown one refused as bubblewrap refuses it.
    #[test]
    fn capabilities_follow_bubblewraps_rule() {
        let caps = |args: &[&str]| {
            let mut all = args.to_vec();
            all.push("true");
            parse_ok(&all).caps
        };
        let none = caps(&[]);
        // A caller of uid 0 without an option: its set, kept as uid 0 only;
        // its bounding set as it is unless a user namespace is made.
        let root = none.sets(Some((0x1ff, 0xfff)), true);
        assert_eq!(
            (
                root.bounding,
                root.effective,
                root.inheritable,
                root.ambient
            ),
            (0x1ff, 0x1ff, 0, 0)
        );
        assert_eq!(none.sets(Some((0x1ff, 0xfff)), false).bounding, 0xfff);
        assert_eq!(none.sets(None, true), CapSets::NONE);
        assert_eq!(
            caps(&["--cap-drop", "ALL"]).sets(Some((0x1ff, 0x1ff)), true),
            CapSets::NONE
        );
        // Any other caller: exactly what was added, in all five sets.
        assert_eq!(
            caps(&["--cap-add", "CAP_NET_RAW"]).sets(None, true),
            CapSets::all_five(1 << 13)
        );
        assert_eq!(
            caps(&[
                "--cap-add",
                "cap_kill",
                "--cap-add",
                "ALL",
                "--cap-drop",
                "CAP_SYS_ADMIN"
            ])
            .sets(None, true),
            CapSets::all_five(!(1 << 21))
        );
        assert_eq!(
            caps(&["--cap-drop", "CAP_KILL", "--cap-add", "5"]).sets(Some((0x20, 0x20)), true),
            CapSets::all_five(0x20)
        );
        assert_eq!(
            caps(&["--cap-drop", "CAP_KILL"]).sets(Some((0x21, 0x21)), true),
            CapSets::all_five(1)
        );
        for bad in ["kill", "CAP_FROB", "", "64", "-1", "ALLx"] {
            assert_eq!(
                parse_err(&["--cap-add", bad, "true"]),
                format!("unknown cap: {bad}")
            );
            assert_eq!(
                parse_err(&["--cap-drop", bad, "true"]),
                format!("unknown cap: {bad}")
            );
        }
        // --disable-userns needs --unshare-user itself, as in bubblewrap;
        // the control: with it.
        for other in ["--unshare-all", "--unshare-user-try"] {
            assert_eq!(
                parse_err(&[other, "--disable-userns", "true"]),
                "--disable-userns requires --unshare-user"
            );
        }
        let p = parse_ok(&["--unshare-user", "--disable-userns", "true"]);
        assert!(p.disable_userns);
        let a = run_args(&p, 1000, 1000, None);
        let b = a.built.as_ref().unwrap();
        assert!(b.disable_userns && b.assert_userns_disabled && !b.self_exe);
        assert!(a
            .ns_limits
            .contains(&("user.max_user_namespaces".to_string(), 1)));
        let a = run_args(
            &parse_ok(&["/proc/self/exe", "--version"]),
            1000,
            1000,
            None,
        );
        assert!(a.built.unwrap().self_exe);
    }

    #[test]
    fn args_from_a_descriptor_are_spliced_in_place() {
        let p = parse_with_fds(
            &["--args", "3", "--dir", "/three", "true"],
            &[(3, b"--dir\0/one\0--args\x004\0"), (4, b"--dir\0/two\0")],
        );
        let dirs: Vec<_> = p
            .ops
            .iter()
            .map(|o| match o {
                RootOp::Dir { dst, .. } => dst.clone(),
                o => panic!("{o:?}"),
            })
            .collect();
        assert_eq!(
            dirs,
            [PathBuf::from("/one"), "/two".into(), "/three".into()]
        );
    }

    fn parse_env(args: &[&str], env: &[(&str, &str)]) -> R<Cmd> {
        let mut no_fd = |_| Err(std::io::Error::from_raw_os_error(libc::EBADF));
        let no_target = |_| Err(std::io::Error::from_raw_os_error(libc::EBADF));
        let exists = |p: &Path| Ok(p.to_path_buf());
        parse(
            "bwrap",
            args.iter().map(OsString::from).collect(),
            env.iter().map(|(k, v)| (k.into(), v.into())).collect(),
            &mut no_fd,
            &no_target,
            &exists,
        )
    }

    fn opted(args: &[&str], env: &[(&str, &str)]) -> Parsed {
        match parse_env(args, env) {
            Ok(Cmd::Run(p)) => *p,
            other => panic!("{other:?}"),
        }
    }

    /// `--sandbox-defaults` and `SANDBOX_BWRAP_DEFAULTS`: each item sets
    /// its field, `all` every one; the two sources add up, and
    /// `landlock=require` wins over `landlock` whichever came first.
    #[test]
    fn sandbox_defaults_lists() {
        let none = opted(&["true"], &[]);
        assert_eq!(
            (
                none.opt_landlock,
                none.opt_seccomp,
                none.opt_relay,
                none.opt_drop_caps
            ),
            (None, false, false, false)
        );
        let a = run_args(&none, 1, 1, None);
        assert_eq!(
            (a.landlock, a.seccomp, a.stdio, a.ns_limit_defaults),
            (LandlockMode::Off, false, StdioMode::Inherit, false)
        );
        assert!(!none.opt_limits);
        let p = opted(&["--sandbox-defaults", "limits", "true"], &[]);
        assert!(p.opt_limits && !p.opt_seccomp && !p.opt_drop_caps && !p.opt_masks);
        assert!(run_args(&p, 1, 1, None).ns_limit_defaults);
        let p = opted(&["--sandbox-defaults", "masks", "true"], &[]);
        assert!(p.opt_masks && !p.opt_limits);
        assert!(run_args(&p, 1, 1, None).built.unwrap().mask_proc);
        assert!(!run_args(&none, 1, 1, None).built.unwrap().mask_proc);
        let p = opted(&["--sandbox-defaults", "seccomp, relay", "true"], &[]);
        assert_eq!(
            (p.opt_landlock, p.opt_seccomp, p.opt_relay, p.opt_drop_caps),
            (None, true, true, false)
        );
        let p = opted(&["--sandbox-defaults", "all", "true"], &[]);
        assert_eq!(
            (p.opt_landlock, p.opt_seccomp, p.opt_relay, p.opt_drop_caps),
            (Some(LandlockMode::Auto), true, true, true)
        );
        assert!(p.opt_limits && p.opt_masks);
        let a = run_args(&p, 1, 1, None);
        assert_eq!(
            (a.landlock, a.seccomp, a.stdio, a.ns_limit_defaults),
            (LandlockMode::Auto, true, StdioMode::Relay, true)
        );
        // The variable and the option add up; require wins either way.
        let p = opted(
            &["--sandbox-defaults", "landlock", "true"],
            &[(DEFAULTS_ENV, "landlock=require,caps")],
        );
        assert_eq!(p.opt_landlock, Some(LandlockMode::Require));
        assert!(p.opt_drop_caps && !p.opt_seccomp);
        let p = opted(
            &[
                "--sandbox-defaults",
                "landlock=require",
                "--sandbox-defaults",
                "all",
                "true",
            ],
            &[],
        );
        assert_eq!(p.opt_landlock, Some(LandlockMode::Require));
        let p = opted(&["true"], &[(DEFAULTS_ENV, "landlock=auto")]);
        assert_eq!(p.opt_landlock, Some(LandlockMode::Auto));
        // An empty list is nothing.
        let p = opted(&["--sandbox-defaults", "", "true"], &[(DEFAULTS_ENV, " ")]);
        assert_eq!((p.opt_landlock, p.opt_seccomp), (None, false));
    }

    /// The variable is ours: gone from what the command inherits, unless
    /// `--setenv` gives it one, which is then the command's only (not
    /// read as a list). Unknown and empty items are errors from either
    /// source, each naming where it came from.
    #[test]
    fn sandbox_defaults_variable_and_errors() {
        let p = opted(&["true"], &[("A", "1"), (DEFAULTS_ENV, "seccomp")]);
        assert!(p.opt_seccomp);
        assert_eq!(p.env, vec![("A".into(), "1".into())]);
        let p = opted(&["--setenv", DEFAULTS_ENV, "bogus", "true"], &[]);
        assert!(!p.opt_seccomp);
        assert_eq!(p.env, vec![(DEFAULTS_ENV.into(), "bogus".into())]);
        let e = |args: &[&str], env: &[(&str, &str)]| match parse_env(args, env) {
            Err(Usage(m)) => m,
            other => panic!("{other:?}"),
        };
        let m = e(&["--sandbox-defaults", "landlock,selinux", "true"], &[]);
        assert!(
            m.starts_with("--sandbox-defaults: unknown item \"selinux\" (known: landlock,"),
            "{m}"
        );
        let m = e(&["true"], &[(DEFAULTS_ENV, "seccomp,,relay")]);
        assert!(
            m.starts_with("SANDBOX_BWRAP_DEFAULTS: unknown item \"\""),
            "{m}"
        );
        for bad in ["Landlock", "landlock=off", "none", "caps=1"] {
            assert!(e(&["--sandbox-defaults", bad, "true"], &[]).contains("unknown item"));
        }
        assert!(e(&["--sandbox-defaults"], &[]).contains("takes a list"));
        // Control: each known item alone parses.
        for ok in DEFAULTS_ITEMS {
            opted(&["--sandbox-defaults", ok, "true"], &[(DEFAULTS_ENV, ok)]);
        }
    }

    #[test]
    fn parent_modes_follow_bubblewrap() {
        for (perms, parent) in [
            (0o1777, 0o755),
            (0o755, 0o755),
            (0o644, 0o755),
            (0o750, 0o750),
            (0o710, 0o750),
            (0o720, 0o750),
            (0o640, 0o750),
            (0o700, 0o700),
            (0o600, 0o700),
            (0o705, 0o705),
            (0o604, 0o705),
            (0o000, 0o700),
        ] {
            assert_eq!(crate::plan::parent_mode(perms), parent, "{perms:o}");
        }
    }
}
