//! What a sandbox is to be: the domain types (root mode, Landlock mode,
//! sizes, cgroup limits), the unvalidated request (`RunArgs`, which the
//! CLI and the library's `Command` fill in), and the validated run in two
//! halves: `Plan`, what the child stage needs (encoded, channel.rs), and
//! `Supervision`, what only the launcher uses (never encoded).
//!
//! The launcher validates once: paths are made absolute, the rootfs and
//! every bind source are checked to exist. The child stage receives the
//! plan encoded (channel.rs) and never re-reads user input, so it cannot
//! interpret it differently.

// The id maps the plan asks for, and the subordinate ranges they come from.
pub(crate) mod idmap;
#[doc(hidden)]
pub mod subid;

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::confine::caps::CapSets;
use crate::confine::limits::{self, Limit};
use crate::error::{Context, Error, Result};
pub use crate::plan::subid::{IdMapMode, SubIds};

pub const DEFAULT_HOSTNAME: &str = "sandbox";
pub const DEFAULT_COMMAND: &str = "/bin/sh";

/// How the root may be written (`Command::root`).
///
/// ```
/// let mut cmd = sandbox::Command::new("./rootfs", "true");
/// cmd.root(sandbox::RootMode::ReadOnly);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootMode {
    /// Copy-on-write over the rootfs; writes vanish at exit (the default).
    Ephemeral,
    /// No writable root at all; only /tmp and rw binds are writable.
    ReadOnly,
    /// Writes go through to the rootfs directory.
    ReadWrite,
}

/// `--landlock`: how hard to try for a Landlock ruleset.
///
/// ```
/// let mut cmd = sandbox::Command::new("./rootfs", "true");
/// cmd.landlock(sandbox::LandlockMode::Require);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockMode {
    /// Use what the kernel has; run without it when it has none.
    Auto,
    /// Fail (125) unless the kernel enforces a ruleset.
    Require,
    Off,
}

/// `--allow-read`, `--allow-write`, `--allow-exec`: what a path rule
/// lets the command do beneath its path (confine/landlock.rs says which
/// Landlock rights each is).
///
/// ```
/// let mut cmd = sandbox::Command::new("./rootfs", "true");
/// cmd.allow_path(sandbox::PathAccess::Exec, "/bin");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathAccess {
    /// Read files and list directories.
    Read,
    /// Read, and everything that writes (create, write, truncate, remove,
    /// rename); never execute.
    Write,
    /// Read and execute.
    Exec,
}

impl PathAccess {
    /// The option that gives it.
    pub fn option(self) -> &'static str {
        match self {
            PathAccess::Read => "--allow-read",
            PathAccess::Write => "--allow-write",
            PathAccess::Exec => "--allow-exec",
        }
    }
}

/// `--userns`: whether the sandbox must have a user namespace (and so
/// the other namespaces, the overlay root and its own /proc).
///
/// ```
/// let mut cmd = sandbox::Command::new("/", "true");
/// cmd.userns(sandbox::UsernsMode::Off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsernsMode {
    /// Use one where the host allows it; where it does not (clone, the id
    /// maps, or the stage's set-up in them refused: launch/hostmode.rs),
    /// run in the host mode and say what was lost.
    Auto,
    /// Fail (125) with the fix where the host refuses one.
    Require,
    /// Always the host mode: the host's `/`, Landlock, seccomp,
    /// no_new_privs, rlimits, no namespaces.
    Off,
}

/// `--stdio`: what the command gets as stdin, stdout and stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdioMode {
    /// The default: a new session; a pty of the sandbox's own for a
    /// terminal, a pipe the launcher pumps for a file; pipes and sockets
    /// as they are (docs/SECURITY.md, D11).
    Relay,
    /// The caller's descriptors as they are, in the caller's session: the
    /// command can reach the caller's terminal and the metadata of a file
    /// on stdio.
    Inherit,
}

/// The sandbox's pty, as the launcher asks the child stage to make it.
/// Filled in by the launcher from the caller's terminal, never from user
/// input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtyPlan {
    /// Which of fds 0, 1, 2 get the replica: bit N for fd N.
    pub fds: u8,
    /// The caller's terminal settings (relay::termios_to_bytes); empty:
    /// the pty's defaults.
    pub termios: Vec<u8>,
    /// Rows, columns, x and y pixels.
    pub winsize: [u16; 4],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindArg {
    pub src: OsString,
    /// Where it appears inside; `None` means the same path as `src`.
    pub dst: Option<OsString>,
    pub read_only: bool,
    /// `--bind-try`/`--ro-bind-try`: a source that does not exist is
    /// skipped, silently, rather than failing the
    /// run, as bubblewrap's options of that name do. A profile can then
    /// name caches a machine may not have (`~/.cargo`).
    pub optional: bool,
}

/// `--tmpfs DST[:SIZE]`: an empty tmpfs over DST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TmpfsArg {
    /// Absolute, or relative to the caller's working directory.
    pub dst: OsString,
    /// The size cap; `None` means `DEFAULT_SIZES.tmp`.
    pub size: Option<u64>,
    /// How many `--bind`/`--ro-bind` came before it on the command line:
    /// mounts are made in the order given, so `--tmpfs ~ --bind ./project`
    /// shows the project on the empty home.
    pub after_binds: usize,
}

/// One step of a root built on an empty tmpfs (`Built`), made in the
/// order given, each mount point found or made by the one walk
/// (confine/walk.rs) inside the root being built. Paths inside the
/// sandbox are absolute and normalised; a bind source is absolute on the
/// host. The bwrap front end (src/bwrap/) makes these from bubblewrap's
/// `--bind`, `--tmpfs`, `--dir`… (docs/BWRAP.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootOp {
    /// A recursive bind of a host path; `devices`: device nodes on it work
    /// (`--dev-bind`), else nodev. `dst` "/" replaces the root itself.
    Bind {
        src: PathBuf,
        dst: PathBuf,
        read_only: bool,
        devices: bool,
    },
    /// An empty tmpfs with this mode; `size` in bytes, none: the kernel's
    /// default (half the memory).
    Tmpfs {
        dst: PathBuf,
        mode: u32,
        size: Option<u64>,
    },
    /// A new procfs, with the masks `sandbox run`'s /proc has.
    Proc {
        dst: PathBuf,
    },
    /// A new /dev as `sandbox run` makes it (confine/rootfs.rs `mount_dev`).
    Dev {
        dst: PathBuf,
    },
    /// A new mqueue filesystem.
    Mqueue {
        dst: PathBuf,
    },
    /// A symlink to `target` at `dst`.
    Symlink {
        target: OsString,
        dst: PathBuf,
    },
    /// A directory, made with `mode` (parents: `parent_mode(mode)`); one
    /// that is there keeps its own.
    Dir {
        dst: PathBuf,
        mode: u32,
    },
    /// A new file with these bytes and mode.
    File {
        dst: PathBuf,
        data: Vec<u8>,
        mode: u32,
    },
    /// A file with these bytes, made outside the root and bound onto `dst`.
    BindData {
        dst: PathBuf,
        data: Vec<u8>,
        mode: u32,
        read_only: bool,
    },
    Chmod {
        dst: PathBuf,
        mode: u32,
    },
    /// The mount at `dst` made read-only (not those below it).
    RemountRo {
        dst: PathBuf,
    },
    /// An overlay at `dst` of the host directories `lowers`, given bottom
    /// first (the command line's order; the last one's files win), with
    /// writes going where `upper` says. The host paths are resolved by the
    /// front end and opened by the child stage while the host's tree is
    /// its root, refusing a symlink found on the way then.
    Overlay {
        lowers: Vec<PathBuf>,
        upper: OverlayUpper,
        dst: PathBuf,
    },
}

/// Where an overlay's writes go (`RootOp::Overlay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverlayUpper {
    /// Into the host directory `upper`, with the empty `work` on the same
    /// filesystem for the kernel's use (bwrap's `--overlay`).
    Dir { upper: PathBuf, work: PathBuf },
    /// Into a fresh tmpfs of the sandbox's own, gone when it ends
    /// (`--tmp-overlay`).
    Tmpfs,
    /// Nowhere: the overlay is read-only (`--ro-overlay`).
    ReadOnly,
}

/// The mode of a directory made as a parent on the way to a `--dir` of
/// mode `mode`: rwx for the owner, r-x for the group and the others where
/// `mode` gives them anything (bubblewrap's rule).
pub fn parent_mode(mode: u32) -> u32 {
    0o700 | if mode & 0o070 != 0 { 0o050 } else { 0 } | if mode & 0o007 != 0 { 0o005 } else { 0 }
}

/// A root built from operations on an empty tmpfs, in the order given,
/// instead of ROOTFS, and the process as the bwrap front end asks for it
/// (src/bwrap/, docs/BWRAP.md): the environment exactly as given, the
/// working directory found as bubblewrap finds it, the lock files held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub ops: Vec<RootOp>,
    /// Where to go when `Plan::chdir` is not there (bubblewrap: the
    /// caller's working directory, else $HOME, else /); None: `chdir` must
    /// work. PWD is set to where the command starts.
    pub chdir_fallback: Option<OsString>,
    /// The command's `argv[0]`, when not its path (`--argv0`).
    pub argv0: Option<OsString>,
    /// Files opened (inside) and read-locked for as long as the command
    /// runs (`--lock-file`).
    pub lock_files: Vec<OsString>,
    /// `--new-session`: a session of its own without the pty relay.
    pub new_session: bool,
    /// The caller's seccomp programs (`--seccomp FD`, `--add-seccomp-fd
    /// FD`), installed in this order where `sandbox run` installs its own.
    pub seccomp: Vec<Vec<u8>>,
    /// The command's five capability sets (bubblewrap's rule, bwrap/mod.rs
    /// `CapRequest`), given by confine/caps.rs with the securebits left
    /// alone, as bubblewrap leaves them; `CapSets::NONE`: none at all.
    pub caps: CapSets,
    /// `--disable-userns`: user.max_user_namespaces is 1 in the sandbox's
    /// user namespace, and the command runs in a nested one (that of
    /// --uid/--gid, else one mapping the same ids), from which the limit
    /// cannot be raised.
    pub disable_userns: bool,
    /// `--disable-userns` or `--assert-userns-disabled`: the stage fails
    /// unless making a user namespace fails, just before the capabilities.
    pub assert_userns_disabled: bool,
    /// The command is `/proc/self/exe`, which bubblewrap's command means
    /// itself: our binary, run as the bwrap front end from a sealed memfd
    /// copy (launch/stage.rs `SelfCopy`), never from its file on the host.
    pub self_exe: bool,
    /// `--proc` gets `sandbox run`'s masks (confine/rootfs.rs
    /// `PROC_MASKED`, `PROC_READ_ONLY`): opted into (`--sandbox-defaults
    /// masks`); without, a plain procfs, as bubblewrap mounts it.
    pub mask_proc: bool,
    /// The caller's descriptors the command gets at the same numbers, as
    /// bubblewrap passes what it inherited (docs/BWRAP.md,
    /// "Descriptors"; launch/passfds.rs). Above 2, each once.
    pub pass_fds: Vec<PassFd>,
    /// Who made the user namespace the stage is in (`--userns`,
    /// `--userns-block-fd`): the engine, or the caller.
    pub userns: BuiltUserns,
    /// `--userns2`: a user namespace to join (on `channel::USERNS2_FD`)
    /// once the root is built, before the command.
    pub userns2: bool,
    /// `--block-fd`: one byte (or EOF) read from `channel::BLOCK_FD` once
    /// the sandbox is set up, before the command.
    pub block: bool,
    /// `--pidns` without `--unshare-pid`: the stage runs in the PID
    /// namespace the caller gives, not as PID 1 of one of its own.
    pub joined_pidns: bool,
}

/// One descriptor passed to the command: `fd` is its number in the caller
/// and in the command; `at` where the child stage finds it (the same
/// number, or a copy the launcher made where it does not collide with the
/// stage's own fixed numbers, channel.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassFd {
    pub fd: i32,
    pub at: i32,
}

/// Who made the built root's user namespace (the bwrap front end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BuiltUserns {
    /// The engine: its id maps, and the nested namespace for --uid/--gid.
    #[default]
    Engine,
    /// The caller: a namespace joined (`--userns`) or whose maps the
    /// caller wrote (`--userns-block-fd`). No maps and no nested namespace
    /// of ours; `switch_to`: the ids to take in it (setresuid/setresgid).
    Caller { switch_to: Option<(u32, u32)> },
}

/// Namespaces and descriptors the caller hands the launcher (the bwrap
/// front end): what it joins or waits on instead of making. Launcher-only
/// (`Supervision`); the descriptors are the caller's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GivenNs {
    /// `--userns FD`: a user namespace to run the sandbox in. The
    /// launcher joins nothing: its child, a plain fork, execs the child
    /// stage in the caller's own user namespace, which joins this one
    /// after its exec while non-dumpable (so nothing holding capabilities
    /// in it can reach the stage, whose memory stays the caller's
    /// namespace's), makes the sandbox's other namespaces there and forks
    /// the sandbox's first process (launch/joinns.rs). No id maps.
    pub userns: Option<i32>,
    /// `--pidns FD`: a PID namespace joined with `userns` (only with it);
    /// the sandbox runs in it, not as PID 1. With `new_pid` (a new one
    /// below it): refused.
    pub pidns: Option<i32>,
    pub new_pid: bool,
    /// `--userns-block-fd`: the caller writes the id maps; the launcher
    /// writes none.
    pub caller_maps: bool,
    /// `--userns2 FD`, `--block-fd FD`: handed to the child stage on
    /// `channel::USERNS2_FD` and `channel::BLOCK_FD`.
    pub userns2: Option<i32>,
    pub block: Option<i32>,
}

impl GivenNs {
    /// Whether the user namespace is the caller's (no maps of ours).
    pub fn callers_userns(&self) -> bool {
        self.userns.is_some() || self.caller_maps
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    pub rootfs: OsString,
    /// Never empty: `/bin/sh` when none was given.
    pub command: Vec<OsString>,
    pub hostname: String,
    pub chdir: OsString,
    pub setenv: Vec<(OsString, OsString)>,
    pub uid: u32,
    pub gid: u32,
    pub share_net: bool,
    /// `--net pasta` and its options (`--net host` is `share_net`).
    pub net: crate::confine::net::NetArgs,
    pub root: RootMode,
    pub binds: Vec<BindArg>,
    /// `--bind-symlinks`: a bind source may be named through a symlink
    /// (each one is named on stderr); refused otherwise.
    pub bind_symlinks: bool,
    /// The default seccomp filter; `--seccomp off` clears it.
    pub seccomp: bool,
    /// `--seccomp-profile FILE`: an OCI or Docker profile in place of the
    /// default filter (confine/seccomp/profile.rs).
    pub seccomp_profile: Option<OsString>,
    /// `--report-denials`: the calls the filter refuses are answered by
    /// the launcher and counted (launch/denials.rs).
    pub report_denials: bool,
    pub landlock: LandlockMode,
    /// `--allow-read`, `--allow-write`, `--allow-exec` paths, as given
    /// (inside the sandbox; a relative one from the working directory).
    pub allow_read: Vec<OsString>,
    pub allow_write: Vec<OsString>,
    pub allow_exec: Vec<OsString>,
    /// `--sys`: a read-only /sys.
    pub sys: bool,
    pub verbose: bool,
    /// `--limit` values, in order (a later one for the same resource wins).
    pub limits: Vec<Limit>,
    /// `--ns-limit` values (sysctl name, value), in order.
    pub ns_limits: Vec<(String, u64)>,
    /// Whether the per-namespace limits not named in `ns_limits` take
    /// their defaults (`nslimits::effective`): `sandbox run`'s, always;
    /// the bwrap front end's only when opted into (`--sandbox-defaults
    /// limits`), as bubblewrap sets none. False: only `ns_limits`.
    pub ns_limit_defaults: bool,
    /// `--init`: a minimal init stays PID 1 and the command is PID 2.
    pub init: bool,
    /// `--timeout`: TERM, then KILL after `kill_after`; exit 124.
    pub timeout: Option<Duration>,
    /// `--kill-after`: the grace between TERM and KILL.
    pub kill_after: Duration,
    pub cgroup: CgroupLimits,
    pub status_file: Option<OsString>,
    pub status_fd: Option<i32>,
    pub sizes: Sizes,
    /// `--tmpfs` mounts, in the order given.
    pub tmpfs: Vec<TmpfsArg>,
    pub stdio: StdioMode,
    /// `--name`: the name in the state directory (named/state.rs); the
    /// launcher's business only, never in the plan.
    pub name: Option<String>,
    /// `--detach`: the launcher goes to the background once the command
    /// runs.
    pub detach: bool,
    /// `--id-map`: the single id, or the caller's subordinate ids too.
    pub id_map: IdMapMode,
    /// `--userns`: what to do where no user namespace can be made.
    pub userns: UsernsMode,
    /// A root built from operations instead of ROOTFS (the bwrap front
    /// end); `setenv` is then the whole environment.
    pub built: Option<Built>,
    /// Read the sandbox's namespace ids at clone (`Child::namespaces`).
    pub namespace_ids: bool,
    /// Namespaces and descriptors the caller gives (the bwrap front end).
    pub given: GivenNs,
}

/// `--memory`, `--pids`, `--cpus`: enforced through cgroup v2, or the run
/// fails (125).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CgroupLimits {
    pub memory: Option<u64>,
    pub pids: Option<u64>,
    /// Thousandths of a CPU.
    pub cpus_milli: Option<u32>,
}

impl CgroupLimits {
    pub fn any(&self) -> bool {
        self.memory.is_some() || self.pids.is_some() || self.cpus_milli.is_some()
    }
}

/// Size caps of the writable tmpfs mounts, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// /tmp
    pub tmp: u64,
    /// /dev/shm
    pub shm: u64,
    /// The copy-on-write root's writes (the overlay's upper layer).
    pub root: u64,
}

/// The defaults (docs/DECISIONS.md, "tmpfs sizes"): enough for builds and
/// unpacking, small next to the memory of any machine that runs builds.
pub const DEFAULT_SIZES: Sizes = Sizes {
    tmp: 256 << 20,
    shm: 64 << 20,
    root: 256 << 20,
};

/// `--kill-after`'s default, and the grace after a stop request.
pub const DEFAULT_KILL_AFTER: Duration = Duration::from_secs(5);

impl RunArgs {
    /// The defaults for a given rootfs (what `sandbox run ROOTFS` means).
    pub fn new(rootfs: impl Into<OsString>) -> Self {
        RunArgs {
            rootfs: rootfs.into(),
            command: vec![DEFAULT_COMMAND.into()],
            hostname: DEFAULT_HOSTNAME.into(),
            chdir: "/".into(),
            setenv: Vec::new(),
            uid: 0,
            gid: 0,
            share_net: false,
            net: crate::confine::net::NetArgs::default(),
            root: RootMode::Ephemeral,
            binds: Vec::new(),
            bind_symlinks: false,
            seccomp: true,
            seccomp_profile: None,
            report_denials: false,
            landlock: LandlockMode::Auto,
            allow_read: Vec::new(),
            allow_write: Vec::new(),
            allow_exec: Vec::new(),
            sys: false,
            verbose: false,
            limits: Vec::new(),
            ns_limits: Vec::new(),
            ns_limit_defaults: true,
            init: false,
            timeout: None,
            kill_after: DEFAULT_KILL_AFTER,
            cgroup: CgroupLimits::default(),
            status_file: None,
            status_fd: None,
            sizes: DEFAULT_SIZES,
            tmpfs: Vec::new(),
            stdio: StdioMode::Relay,
            name: None,
            detach: false,
            id_map: IdMapMode::Auto,
            userns: UsernsMode::Auto,
            built: None,
            namespace_ids: false,
            given: GivenNs::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Absolute, symlinks resolved, on the host.
    pub src: PathBuf,
    /// Absolute and normalised, inside the sandbox.
    pub dst: PathBuf,
    pub read_only: bool,
    /// The path given went through a symlink (`--bind-symlinks`): the
    /// launcher says where it leads. Otherwise the child stage opens `src`
    /// refusing any symlink on the way, so none swapped in since the check
    /// is followed either.
    pub via_symlink: bool,
}

/// A validated `--tmpfs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tmpfs {
    /// Absolute and normalised, inside the sandbox.
    pub dst: PathBuf,
    /// Bytes.
    pub size: u64,
    /// Mounted just before `binds[after_binds]` (after all of them when
    /// it is `binds.len()`).
    pub after_binds: u32,
}

/// What the launcher alone uses: never encoded, so it never crosses the
/// pipe to the child stage nor lands in the state entry that `sandbox
/// exec` reads (docs/DECISIONS.md, "Adding an option to run").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervision {
    /// `--timeout`: TERM, then KILL after `kill_after`; exit 124.
    pub timeout: Option<Duration>,
    /// `--kill-after`.
    pub kill_after: Duration,
    /// `--memory`, `--pids`, `--cpus`: the launcher makes the cgroup.
    pub cgroup: CgroupLimits,
    pub status_file: Option<PathBuf>,
    pub status_fd: Option<i32>,
    /// What compiling `--seccomp-profile` skipped or approximated, for `-v`.
    pub seccomp_notes: Vec<String>,
    /// `--allow-host`: the proxy's rules (the child stage gets only its
    /// ports, `Plan::proxy`).
    pub egress: Option<crate::confine::proxy::Policy>,
    /// `--userns`: the launcher tries a user namespace (auto, require) or
    /// goes straight to the host mode (off).
    pub userns: UsernsMode,
    /// Read the namespace ids of the sandbox at clone.
    pub namespace_ids: bool,
    /// Namespaces and descriptors the caller gives (`RunArgs::given`).
    pub given: GivenNs,
}

/// What the child stage needs to build the sandbox: the half of a
/// validated run that channel.rs encodes and sends down the pipe (and
/// named/state.rs saves for `sandbox exec`). What the launcher alone uses is in
/// `Supervision`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Absolute, symlinks resolved; checked to be a directory.
    pub rootfs: PathBuf,
    pub command: Vec<OsString>,
    pub hostname: String,
    pub chdir: OsString,
    /// `--setenv` pairs, in order.
    pub setenv: Vec<(OsString, OsString)>,
    /// The caller's TERM, passed on when set.
    pub term: Option<OsString>,
    pub uid: u32,
    pub gid: u32,
    pub share_net: bool,
    /// `--net pasta`: what pasta is started with (None for none and host).
    pub pasta: Option<crate::confine::net::PastaPlan>,
    /// `--allow-host`: the proxy's listening ports, which the child stage
    /// makes on the sandbox's loopback and sends up (confine/proxy.rs).
    pub proxy: Option<crate::confine::proxy::ProxyPlan>,
    pub root: RootMode,
    pub binds: Vec<Bind>,
    pub seccomp: bool,
    /// `--seccomp-profile`: its compiled program, installed in place of
    /// the default filter.
    pub seccomp_profile: Option<crate::confine::seccomp::profile::Profile>,
    /// `--report-denials`, when the kernel can notify: the child stage
    /// installs the filter with a listener and sends it up `DENIALS_FD`.
    pub report_denials: bool,
    pub landlock: LandlockMode,
    /// The path rules (`--allow-read`, `--allow-write`, `--allow-exec`),
    /// absolute and normalised, inside the sandbox; empty: none, the
    /// default ruleset (confine/landlock.rs).
    pub allow_paths: Vec<(PathAccess, PathBuf)>,
    /// The Landlock TCP rule (ABI 4): `Some(ports)`: the command may
    /// connect(2) a TCP socket only to these ports (any address; an empty
    /// list: to none); `None`: no TCP rule. Not from an option of its own:
    /// `--allow-host` fills it with its proxy's loopback ports.
    pub connect_ports: Option<Vec<u16>>,
    pub sys: bool,
    pub verbose: bool,
    /// The rlimits to set (`limits::effective`: core=0 unless asked).
    pub limits: Vec<Limit>,
    /// Every per-namespace limit to write (`nslimits::effective`).
    pub ns_limits: Vec<(String, u64)>,
    pub init: bool,
    pub sizes: Sizes,
    /// `--tmpfs` mounts, in the order given.
    pub tmpfs: Vec<Tmpfs>,
    pub stdio: StdioMode,
    /// Set by the launcher when the caller's stdio has a terminal.
    pub pty: Option<PtyPlan>,
    /// The subordinate ids mapped (`--id-map`), or None: only the
    /// caller's own id, as 0.
    pub subids: Option<SubIds>,
    /// Set by the launcher, never from user input: no namespaces could be
    /// made (or `--userns off`), so the stage runs the command in the host
    /// mode (launch/hostmode.rs) instead of building a root.
    pub host_mode: bool,
    /// A root built from operations (then `rootfs` is `/`, unused), and
    /// the process as the bwrap front end asks for it.
    pub built: Option<Built>,
}

/// `--seccomp-profile` read and compiled (with what was skipped), and
/// its and `--report-denials`' agreement with `--seccomp`.
fn seccomp_profile(
    a: &RunArgs,
) -> Result<(
    Option<crate::confine::seccomp::profile::Profile>,
    Vec<String>,
)> {
    if !a.seccomp {
        for (given, name) in [
            (a.seccomp_profile.is_some(), "--seccomp-profile"),
            (a.report_denials, "--report-denials"),
        ] {
            if given {
                return Err(Error::msg(
                    name,
                    "--seccomp off leaves no filter (drop one of the two)",
                ));
            }
        }
    }
    match &a.seccomp_profile {
        None => Ok((None, Vec::new())),
        Some(f) => {
            let (p, notes) = crate::confine::seccomp::profile::load(Path::new(f))?;
            Ok((Some(p), notes))
        }
    }
}

/// `a/./b/../c` → `a/c`, without touching the filesystem (a path inside the
/// sandbox cannot be resolved on the host).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

impl Plan {
    /// Validate the parsed arguments against the host: the one place where
    /// user input becomes a plan, split into the child stage's half and
    /// the launcher's.
    pub fn from_args(a: RunArgs, term: Option<OsString>) -> Result<(Plan, Supervision)> {
        if a.built.is_some() {
            return Self::built_from_args(a, term);
        }
        // A tarball or an OCI image: its unpacked tree in the cache
        // (image/mod.rs), unpacked now if need be.
        let image = crate::image::resolve(&a.rootfs)?;
        if image.is_some() && a.root == RootMode::ReadWrite {
            return Err(Error::msg(
                "--rw",
                "an image's unpacked tree is a shared, read-only cache entry; --rw cannot write through to it",
            )
            .with_path(PathBuf::from(&a.rootfs).display().to_string())
            .with_hint("use the default throwaway root or --read-only, or unpack it to a directory of your own"));
        }
        let rootfs_arg = image.unwrap_or_else(|| PathBuf::from(&a.rootfs));
        let rootfs = std::fs::canonicalize(&rootfs_arg).map_err(|e| {
            let err = Err::<(), _>(e).ctx("rootfs", rootfs_arg.display()).unwrap_err();
            if err.raw_errno() == Some(libc::ENOENT) {
                err.with_hint("build the default BusyBox rootfs with 'make rootfs', or pass a directory holding a root filesystem")
            } else {
                err
            }
        })?;
        if !rootfs.is_dir() {
            return Err(Error::msg("rootfs", "not a directory")
                .with_path(rootfs_arg.display().to_string())
                .with_hint(
                    "ROOTFS must be a directory holding a root filesystem (bin/, etc/, …), a .tar, .tar.gz or .tar.zst of one, or oci:DIR[:TAG]",
                ));
        }
        // `--userns off` makes no user namespace: no id maps to choose (an
        // explicit --id-map is still checked, and refused by the host mode),
        // no per-namespace limits to read or write.
        let no_userns = a.userns == UsernsMode::Off;
        let subids = match (no_userns, a.id_map) {
            (true, IdMapMode::Auto) => None,
            _ => crate::plan::subid::resolve(a.id_map, &rootfs)?,
        };
        if let Some(s) = &subids {
            crate::plan::subid::check_ids(s, a.uid, a.gid)?;
        }
        let (seccomp_profile, seccomp_notes) = seccomp_profile(&a)?;
        let mut binds = Vec::new();
        // For each bind given, how many were kept before it: a `--tmpfs`
        // mounted after the given bind i is mounted after kept[i] of them.
        let mut kept = Vec::with_capacity(a.binds.len() + 1);
        for b in a.binds {
            kept.push(binds.len());
            let src_arg = PathBuf::from(&b.src);
            let what = match (b.read_only, b.optional) {
                (false, false) => "--bind",
                (true, false) => "--ro-bind",
                (false, true) => "--bind-try",
                (true, true) => "--ro-bind-try",
            };
            let src = match std::fs::canonicalize(&src_arg) {
                Err(e) if b.optional && e.kind() == std::io::ErrorKind::NotFound => continue,
                r => r.ctx(&format!("{what} source"), src_arg.display())?,
            };
            let via_symlink = match first_symlink(&src_arg)? {
                None => false,
                Some(_) if a.bind_symlinks => true,
                Some(link) => return Err(symlink_refused(what, &src_arg, &link, &src)),
            };
            // With no link on the way when checked, the resolved path is the
            // given one, lexically. The resolution came first: a link there
            // then, gone by the check (swapped in and out by someone who
            // can write the parent), would have named its target. Refused;
            // the child walks the path with O_NOFOLLOW, so a link swapped
            // in after the check is refused there.
            if !via_symlink {
                let given = if src_arg.is_absolute() {
                    normalize(&src_arg)
                } else {
                    normalize(
                        &std::env::current_dir()
                            .ctx_step("get the current directory")?
                            .join(&src_arg),
                    )
                };
                if given != src {
                    return Err(Error::msg(
                        format!("{what} source"),
                        format!(
                            "resolved to {} but holds no symlink now: it changed while it was checked; refusing to bind it",
                            src.display()
                        ),
                    )
                    .with_path(src_arg.display().to_string()));
                }
            }
            let dst = match b.dst {
                Some(d) => normalize(Path::new(&d)),
                None if src_arg.is_absolute() => normalize(&src_arg),
                None => normalize(
                    &std::env::current_dir()
                        .ctx_step("get the current directory")?
                        .join(&src_arg),
                ),
            };
            if dst == Path::new("/") {
                return Err(Error::msg(
                    format!("{what} destination"),
                    "cannot bind over the sandbox's root; pass that directory as ROOTFS",
                )
                .with_path(src_arg.display().to_string()));
            }
            binds.push(Bind {
                src,
                dst,
                read_only: b.read_only,
                via_symlink,
            });
        }
        for l in &a.limits {
            check_limit(l)?;
        }
        kept.push(binds.len());
        let given_tmpfs: Vec<TmpfsArg> = a
            .tmpfs
            .iter()
            .map(|t| TmpfsArg {
                after_binds: kept[t.after_binds.min(kept.len() - 1)],
                ..t.clone()
            })
            .collect();
        let tmpfs = tmpfs_mounts(&given_tmpfs, binds.len())?;
        if a.landlock == LandlockMode::Off
            && !(a.allow_read.is_empty() && a.allow_write.is_empty() && a.allow_exec.is_empty())
        {
            return Err(Error::msg(
                "--landlock off",
                "--allow-read, --allow-write and --allow-exec are Landlock rules; they cannot \
                 be enforced with Landlock off",
            )
            .with_hint("drop --landlock off, or the path rules"));
        }
        let mut allow_paths = Vec::new();
        for (access, given) in [
            (PathAccess::Read, &a.allow_read),
            (PathAccess::Write, &a.allow_write),
            (PathAccess::Exec, &a.allow_exec),
        ] {
            for p in given {
                allow_paths.push((access, inside_path(access.option(), p)?));
            }
        }
        let ns_limits = match no_userns {
            true => Vec::new(),
            false => ns_limits(&a.ns_limits, a.ns_limit_defaults, a.sizes.shm),
        };
        let supervision = Supervision {
            timeout: a.timeout,
            kill_after: a.kill_after,
            cgroup: a.cgroup,
            status_file: a.status_file.map(PathBuf::from),
            status_fd: a.status_fd,
            seccomp_notes,
            egress: (!a.net.hosts.is_empty()).then(|| crate::confine::proxy::Policy {
                hosts: a.net.hosts.clone(),
                cidrs: a.net.allow.clone(),
                verbose: a.verbose,
            }),
            userns: a.userns,
            namespace_ids: a.namespace_ids,
            given: a.given,
        };
        if a.share_net && !a.net.hosts.is_empty() {
            return Err(Error::msg(
                "--allow-host",
                "gives the sandbox a network of its own with only lo and the proxy; it cannot be combined with --share-net",
            ));
        }
        let plan = Plan {
            rootfs,
            command: a.command,
            hostname: a.hostname,
            chdir: a.chdir,
            setenv: a.setenv,
            term,
            uid: a.uid,
            gid: a.gid,
            share_net: a.share_net || a.net.mode == crate::confine::net::NetMode::Host,
            pasta: crate::confine::net::PastaPlan::from_args(
                &a.net,
                a.root == RootMode::Ephemeral,
            )?,
            proxy: (!a.net.hosts.is_empty()).then(crate::confine::proxy::ProxyPlan::default),
            root: a.root,
            binds,
            seccomp: a.seccomp,
            seccomp_profile,
            report_denials: a.report_denials,
            landlock: a.landlock,
            allow_paths,
            // --allow-host: where Landlock has ABI 4, TCP connects may reach
            // only the proxy's loopback ports (docs/SECURITY.md).
            connect_ports: (!a.net.hosts.is_empty() && a.landlock != LandlockMode::Off).then(
                || {
                    crate::confine::proxy::ProxyPlan::default()
                        .proxy_ports()
                        .to_vec()
                },
            ),
            sys: a.sys,
            verbose: a.verbose,
            limits: limits::effective(&a.limits),
            ns_limits,
            init: a.init,
            sizes: a.sizes,
            tmpfs,
            stdio: a.stdio,
            pty: None,
            subids,
            host_mode: false,
            built: None,
        };
        Ok((plan, supervision))
    }

    /// A root built from operations: the front end made the paths absolute
    /// and checked the sources (bubblewrap's messages); ROOTFS, binds and
    /// `--tmpfs` do not apply.
    fn built_from_args(mut a: RunArgs, term: Option<OsString>) -> Result<(Plan, Supervision)> {
        for l in &a.limits {
            check_limit(l)?;
        }
        if let Some(b) = a.built.as_mut() {
            if let Some(p) = b.pass_fds.iter().find(|p| p.fd < 3) {
                return Err(Error::msg(
                    "pass a file descriptor",
                    format!("fd {}: stdio (0, 1, 2) is not passed by number", p.fd),
                ));
            }
            b.pass_fds.sort_by_key(|p| p.fd);
            b.pass_fds.dedup_by_key(|p| p.fd);
        }
        let ns_limits = ns_limits(&a.ns_limits, a.ns_limit_defaults, a.sizes.shm);
        let supervision = Supervision {
            timeout: a.timeout,
            kill_after: a.kill_after,
            cgroup: a.cgroup,
            status_file: a.status_file.map(PathBuf::from),
            status_fd: a.status_fd,
            seccomp_notes: Vec::new(),
            egress: None,
            // A built root cannot be had in the host mode (no mounts): fail
            // where bubblewrap would, never run on the host's / instead.
            userns: UsernsMode::Require,
            namespace_ids: a.namespace_ids,
            given: a.given,
        };
        let plan = Plan {
            rootfs: PathBuf::from("/"),
            command: a.command,
            hostname: a.hostname,
            chdir: a.chdir,
            setenv: a.setenv,
            term,
            uid: a.uid,
            gid: a.gid,
            share_net: a.share_net,
            pasta: None,
            root: RootMode::ReadWrite,
            binds: Vec::new(),
            seccomp: a.seccomp,
            landlock: a.landlock,
            sys: false,
            verbose: a.verbose,
            limits: limits::effective(&a.limits),
            // A user namespace the caller gave is not ours to limit: the
            // `user.*` limits would change it for every process in it
            // (another sandbox's); the IPC namespace is still ours.
            ns_limits: ns_limits
                .into_iter()
                .filter(|(n, _)| !(a.given.userns.is_some() && n.starts_with("user.")))
                .collect(),
            init: a.init,
            sizes: a.sizes,
            tmpfs: Vec::new(),
            stdio: a.stdio,
            pty: None,
            subids: None,
            seccomp_profile: None,
            report_denials: false,
            allow_paths: Vec::new(),
            connect_ports: None,
            proxy: None,
            host_mode: false,
            built: a.built,
        };
        Ok((plan, supervision))
    }

    /// Whether ROOTFS is the host's own root (`sandbox run / CMD`): it is
    /// then bound read-only, with an empty /run and /sys (README, "The
    /// host's root").
    pub fn host_root(&self) -> bool {
        self.built.is_none() && self.rootfs == Path::new("/")
    }
}

/// One line for each bind that a later `--tmpfs` or bind covers (the same
/// path or a parent of it), so the command will never see it:
/// `--bind ./project --tmpfs ~` is an empty home, and then only a
/// "chdir: No such file" to go on. The mounts are made in the order given
/// (confine/rootfs.rs), `tmpfs[i]` just before `binds[tmpfs[i].after_binds]`.
pub fn covered_binds(binds: &[Bind], tmpfs: &[Tmpfs]) -> Vec<String> {
    let name = |b: &Bind| if b.read_only { "--ro-bind" } else { "--bind" };
    // (option, destination, index into binds) in mount order.
    let mut order: Vec<(&str, &Path, Option<usize>)> = Vec::new();
    for i in 0..=binds.len() {
        for t in tmpfs.iter().filter(|t| t.after_binds as usize == i) {
            order.push(("--tmpfs", &t.dst, None));
        }
        if let Some(b) = binds.get(i) {
            order.push((name(b), &b.dst, Some(i)));
        }
    }
    let mut out = Vec::new();
    for (at, &(opt, dst, bind)) in order.iter().enumerate() {
        if bind.is_none() {
            continue;
        }
        if let Some(&(later, over, _)) = order[at + 1..].iter().find(|l| dst.starts_with(l.1)) {
            out.push(format!(
                "notice: {later} {} comes after {opt} {} and covers it: the sandbox will not \
                 see that bind. Mounts are made in the order given, a later one over an \
                 earlier one: give {later} {} before {opt} {}",
                over.display(),
                dst.display(),
                over.display(),
                dst.display()
            ));
        }
    }
    out
}

/// The per-namespace limits to write: every one (its default where
/// `--ns-limit` did not name it), or (`ns_limit_defaults` off: the bwrap
/// front end without the opt-in) only those named.
fn ns_limits(given: &[(String, u64)], defaults: bool, shm: u64) -> Vec<(String, u64)> {
    match defaults {
        true => crate::confine::nslimits::effective(given, shm),
        false => given.to_vec(),
    }
}

/// A path inside the sandbox given to `option`, made absolute (a
/// relative one from the working directory, as `--bind SRC` without DST)
/// and normalised, without touching the filesystem.
fn inside_path(option: &str, given: &OsString) -> Result<PathBuf> {
    let p = Path::new(given);
    if p.as_os_str().is_empty() {
        return Err(Error::msg(option, "the path is empty"));
    }
    Ok(if p.is_absolute() {
        normalize(p)
    } else {
        normalize(
            &std::env::current_dir()
                .ctx_step("get the current directory")?
                .join(p),
        )
    })
}

/// `--tmpfs` destinations made absolute (a relative one from the working
/// directory, as `--bind SRC` without DST) and normalised.
fn tmpfs_mounts(given: &[TmpfsArg], binds: usize) -> Result<Vec<Tmpfs>> {
    let mut out = Vec::new();
    for t in given {
        let p = Path::new(&t.dst);
        let dst = inside_path("--tmpfs destination", &t.dst)?;
        if dst == Path::new("/") {
            return Err(Error::msg(
                "--tmpfs destination",
                "cannot cover the sandbox's root; use an empty directory as ROOTFS",
            )
            .with_path(p.display().to_string()));
        }
        out.push(Tmpfs {
            dst,
            size: t.size.unwrap_or(DEFAULT_SIZES.tmp),
            after_binds: t.after_binds.min(binds) as u32,
        });
    }
    Ok(out)
}

/// The first component of `p` (relative ones from the current directory,
/// whose path the kernel gives resolved) that is a symlink, if any.
/// Issue 14 item 8: a sandbox that could write to `out` (an earlier run
/// with `--bind out:/out`) can make `out/cache` a link to any directory of
/// the caller's, which a later `--bind out/cache:/cache` would then mount.
fn first_symlink(p: &Path) -> Result<Option<PathBuf>> {
    let mut cur = if p.is_absolute() {
        PathBuf::from("/")
    } else {
        std::env::current_dir().ctx_step("get the current directory")?
    };
    for c in p.components() {
        match c {
            Component::Normal(n) => {
                cur.push(n);
                if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
                    return Ok(Some(cur));
                }
            }
            // No symlink before it, so `..` is the lexical parent.
            Component::ParentDir => {
                cur.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Ok(None)
}

fn symlink_refused(what: &str, given: &Path, link: &Path, real: &Path) -> Error {
    let to = std::fs::read_link(link)
        .map(|t| t.display().to_string())
        .unwrap_or_else(|_| "?".into());
    Error::msg(
        format!("{what} source"),
        format!(
            "goes through the symlink {} (-> {to}); it leads to {}; refusing to bind it",
            link.display(),
            real.display()
        ),
    )
    .with_path(given.display().to_string())
    .with_hint("name the real path if that is what you mean, or pass --bind-symlinks to follow links in bind sources")
}

/// A sandbox can lower a limit but not raise it past the caller's hard
/// limit (that needs CAP_SYS_RESOURCE on the host): say so before starting.
fn check_limit(l: &Limit) -> Result<()> {
    let r = l.resource();
    let (_, hard) = crate::sys::getrlimit(r.resource).ctx("read limit", r.name)?;
    if hard != limits::UNLIMITED && l.value > hard {
        return Err(Error::msg(
            "--limit",
            format!(
                "{}={} is above your hard limit of {} ({}); a sandbox can only lower limits",
                r.name,
                limits::show(l.value),
                limits::show(hard),
                r.unit
            ),
        )
        .with_hint("ask for less, or raise the hard limit before starting (prlimit, ulimit -H)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_mount_over_a_bind_is_named() {
        let bind = |dst: &str, read_only| Bind {
            src: "/src".into(),
            dst: dst.into(),
            read_only,
            via_symlink: false,
        };
        let tmpfs = |dst: &str, after_binds| Tmpfs {
            dst: dst.into(),
            size: 1,
            after_binds,
        };
        // --bind /home/u/project --tmpfs /home/u
        let n = covered_binds(&[bind("/home/u/project", false)], &[tmpfs("/home/u", 1)]);
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].starts_with(
                "notice: --tmpfs /home/u comes after --bind /home/u/project and covers it"
            ) && n[0].ends_with("give --tmpfs /home/u before --bind /home/u/project"),
            "{}",
            n[0]
        );
        // A later bind at the same path, or over a parent.
        let n = covered_binds(&[bind("/a/b", true), bind("/a", false)], &[]);
        assert!(
            n[0].starts_with("notice: --bind /a comes after --ro-bind /a/b"),
            "{n:?}"
        );
        // Controls: the order the README gives (tmpfs first, then the
        // bind on it), a deeper bind after a shallower one, siblings, and
        // a path that only shares a prefix of its name.
        assert!(
            covered_binds(&[bind("/home/u/project", false)], &[tmpfs("/home/u", 0)]).is_empty()
        );
        assert!(covered_binds(&[bind("/a", false), bind("/a/b", false)], &[]).is_empty());
        assert!(covered_binds(&[bind("/a/b", false)], &[tmpfs("/a/c", 1)]).is_empty());
        assert!(covered_binds(&[bind("/ab", false)], &[tmpfs("/a", 1)]).is_empty());
    }

    #[test]
    fn normalize_stays_inside() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("/../../x")), Path::new("/x"));
        assert_eq!(normalize(Path::new("/")), Path::new("/"));
    }
}
