//! Command line → `Cmd`. Pure but for the profiles `--profile` names,
//! which come from the `profile::Source` it is given (`parse` reads the
//! files; the tests and the proptest targets give them from memory).
//!
//! `sandbox run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]`
//!
//! `run_options!` declares every option of `run` once: its id (a variant
//! of `RunOpt`) with its names, whether it takes a value, its help (an
//! entry of `RUN_OPTIONS`). The scan, `run --help`, the man page and the
//! completions come from the table; what an option means is said by
//! matches on `RunOpt` with no `_` arm (`apply`, `manual::values`, the
//! round trip's `to_args`), so a new option builds only once each says it
//! (docs/DECISIONS.md, "Adding an option to run").
//!
//! Everything after COMMAND belongs to the command (`ls -la` must keep its
//! `-la`), so the scan (`split`) reads options only until COMMAND starts,
//! and keeps them in the order given: that order matters for
//! `--bind`/`--ro-bind` (a later bind covers an earlier one).

// The man page (`sandbox man`), built from the option table.
pub(crate) mod manual;
// `--profile`: TOML files of run's options, read by the same table.
pub(crate) mod profile;

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::confine::limits;
use crate::error::{Error, Result};
use crate::plan::{
    BindArg, IdMapMode, LandlockMode, RootMode, RunArgs, StdioMode, TmpfsArg, UsernsMode,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    /// `sandbox run`, and the notices its command line deserves (one line
    /// each, without the `sandbox: ` prefix).
    Run(Box<RunArgs>, Vec<String>),
    /// The engine's second stage, re-exec'd by the launcher.
    Child,
    Doctor,
    /// `sandbox images [--json | --prune]`: the image cache.
    Images(ImagesAction),
    /// `sandbox man`: the sandbox(1) page, in roff (src/cli/manual.rs).
    Man,
    /// `sandbox completions SHELL`: a completion script for SHELL.
    Completions(crate::cli::manual::Shell),
    /// `sandbox ps [--json]`.
    Ps {
        json: bool,
    },
    /// `sandbox exec …`.
    Exec(Box<crate::named::join::ExecArgs>),
    /// `sandbox kill NAME [SIGNAL]`.
    Kill {
        name: String,
        signal: i32,
    },
    /// `sandbox stop [--time SECS] NAME`.
    Stop {
        name: String,
        time: Option<std::time::Duration>,
    },
    /// `sandbox logs [-f] NAME`.
    Logs {
        name: String,
        follow: bool,
    },
    /// `sandbox profile show NAME|FILE | list`.
    Profile(ProfileAction),
    /// Text for stdout: static for most, rendered for `run --help`.
    Help(Cow<'static, str>),
    Version,
}

/// What `sandbox profile` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileAction {
    /// The options a profile sets, as a command line.
    Show(OsString),
    /// The named profiles and where each is.
    List,
}

/// What `sandbox images` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImagesAction {
    List,
    Json,
    Prune,
}

/// The canonical argv (after `sandbox run`) that parses back to a
/// `RunArgs` (the round-trip property test).
#[cfg(test)]
pub(crate) trait ToArgs {
    fn to_args(&self) -> Vec<OsString>;
}

#[cfg(test)]
impl ToArgs for RunArgs {
    /// Each option of the table in turn, by a match on its id with no `_`
    /// arm: a new option does not build until it says how it is written.
    fn to_args(&self) -> Vec<OsString> {
        use RunOpt as O;
        let mut a: Vec<OsString> = Vec::new();
        let d = RunArgs::new("");
        for o in RUN_OPTIONS {
            let mut put = |v: Option<OsString>| {
                a.push(o.long.into());
                a.extend(v);
            };
            match o.id {
                O::Hostname if self.hostname != d.hostname => {
                    put(Some(self.hostname.clone().into()))
                }
                O::Chdir if self.chdir != d.chdir => put(Some(self.chdir.clone())),
                O::Setenv => {
                    for (k, v) in &self.setenv {
                        let mut kv = k.clone();
                        kv.push("=");
                        kv.push(v);
                        put(Some(kv));
                    }
                }
                O::Uid if self.uid != d.uid => put(Some(self.uid.to_string().into())),
                O::Gid if self.gid != d.gid => put(Some(self.gid.to_string().into())),
                O::IdMap => match self.id_map {
                    IdMapMode::Auto => {}
                    IdMapMode::Single => put(Some("single".into())),
                    IdMapMode::Subuid => put(Some("subuid".into())),
                },
                O::ShareNet if self.share_net => put(None),
                O::Net if !self.share_net && self.net.mode != d.net.mode => {
                    put(Some(self.net.mode.name().into()))
                }
                O::Publish => {
                    for p in &self.net.publish {
                        put(Some(p.to_string().into()));
                    }
                }
                O::HostLoopback if self.net.host_loopback => put(None),
                O::Dns if self.net.dns => put(None),
                O::AllowNet => {
                    for r in &self.net.allow {
                        put(Some(r.to_string().into()));
                    }
                }
                O::AllowHost => {
                    for h in &self.net.hosts {
                        put(Some(h.to_string().into()));
                    }
                }
                // The binds and the tmpfs mounts between them, in order.
                O::Bind => {
                    for (i, b) in self.binds.iter().enumerate() {
                        tmpfs_args(&mut a, &self.tmpfs, i);
                        let mut spec = b.src.clone();
                        if let Some(dst) = &b.dst {
                            spec.push(":");
                            spec.push(dst);
                        }
                        let opt = match (b.read_only, b.optional) {
                            (false, false) => O::Bind,
                            (true, false) => O::RoBind,
                            (false, true) => O::BindTry,
                            (true, true) => O::RoBindTry,
                        };
                        a.extend([opt.long().into(), spec]);
                    }
                    tmpfs_args(&mut a, &self.tmpfs, self.binds.len());
                }
                O::RoBind | O::BindTry | O::RoBindTry | O::Tmpfs => {}
                // Resolved into the options it sets.
                O::Profile => {}
                O::BindSymlinks if self.bind_symlinks => put(None),
                O::ReadOnly if self.root == RootMode::ReadOnly => put(None),
                O::Rw if self.root == RootMode::ReadWrite => put(None),
                O::Sys if self.sys => put(None),
                O::TmpSize if self.sizes.tmp != d.sizes.tmp => {
                    put(Some(limits::show(self.sizes.tmp).into()))
                }
                O::ShmSize if self.sizes.shm != d.sizes.shm => {
                    put(Some(limits::show(self.sizes.shm).into()))
                }
                O::RootSize if self.sizes.root != d.sizes.root => {
                    put(Some(limits::show(self.sizes.root).into()))
                }
                O::Name => {
                    if let Some(n) = &self.name {
                        put(Some(n.into()));
                    }
                }
                O::Detach if self.detach => put(None),
                O::Init if self.init => put(None),
                O::Timeout => {
                    if let Some(t) = self.timeout {
                        put(Some(limits::show_duration(t).into()));
                    }
                }
                O::KillAfter if self.kill_after != d.kill_after => {
                    put(Some(limits::show_duration(self.kill_after).into()))
                }
                O::StatusFile => {
                    if let Some(f) = &self.status_file {
                        put(Some(f.clone()));
                    }
                }
                O::StatusFd => {
                    if let Some(n) = self.status_fd {
                        put(Some(n.to_string().into()));
                    }
                }
                O::Limit => {
                    for l in &self.limits {
                        let spec = format!("{}={}", l.resource().name, limits::show(l.value));
                        put(Some(spec.into()));
                    }
                }
                O::NsLimit => {
                    for (name, value) in &self.ns_limits {
                        put(Some(format!("{name}={value}").into()));
                    }
                }
                O::Memory => {
                    if let Some(m) = self.cgroup.memory {
                        put(Some(limits::show(m).into()));
                    }
                }
                O::Pids => {
                    if let Some(p) = self.cgroup.pids {
                        put(Some(p.to_string().into()));
                    }
                }
                O::Cpus => {
                    if let Some(c) = self.cgroup.cpus_milli {
                        put(Some(limits::show_cpus(c).into()));
                    }
                }
                O::Seccomp if !self.seccomp => put(Some("off".into())),
                O::SeccompProfile => {
                    if let Some(f) = &self.seccomp_profile {
                        put(Some(f.clone()));
                    }
                }
                O::ReportDenials if self.report_denials => put(None),
                O::Landlock => match self.landlock {
                    LandlockMode::Auto => {}
                    LandlockMode::Require => put(Some("require".into())),
                    LandlockMode::Off => put(Some("off".into())),
                },
                O::AllowRead => self.allow_read.iter().for_each(|p| put(Some(p.clone()))),
                O::AllowWrite => self.allow_write.iter().for_each(|p| put(Some(p.clone()))),
                O::AllowExec => self.allow_exec.iter().for_each(|p| put(Some(p.clone()))),
                O::Userns => match self.userns {
                    UsernsMode::Auto => {}
                    UsernsMode::Require => put(Some("require".into())),
                    UsernsMode::Off => put(Some("off".into())),
                },
                O::Stdio if self.stdio == StdioMode::Inherit => put(Some("inherit".into())),
                O::Verbose if self.verbose => put(None),
                // The defaults (the guards above), and what a RunArgs
                // never holds.
                O::Hostname
                | O::Chdir
                | O::Uid
                | O::Gid
                | O::ShareNet
                | O::Net
                | O::HostLoopback
                | O::Dns
                | O::BindSymlinks
                | O::ReadOnly
                | O::Rw
                | O::Sys
                | O::TmpSize
                | O::ShmSize
                | O::RootSize
                | O::Detach
                | O::Init
                | O::KillAfter
                | O::Seccomp
                | O::ReportDenials
                | O::Stdio
                | O::Verbose
                | O::Help
                | O::Version => {}
            }
        }
        a.push("--".into());
        a.push(self.rootfs.clone());
        a.extend(self.command.iter().cloned());
        a
    }
}

/// The `--tmpfs` options that came after `binds` binds.
#[cfg(test)]
fn tmpfs_args(a: &mut Vec<OsString>, tmpfs: &[TmpfsArg], binds: usize) {
    for t in tmpfs.iter().filter(|t| t.after_binds == binds) {
        let mut spec = t.dst.clone();
        if let Some(size) = t.size {
            spec.push(format!(":{}", limits::show(size)));
        }
        a.extend([RunOpt::Tmpfs.long().into(), spec]);
    }
}

/// Where an option is listed in `sandbox run --help` (and, later, in the
/// man page): the groups in the order shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Options,
    Supervision,
    Limits,
    Hardening,
    Other,
}

impl Group {
    pub const ALL: [Group; 5] = [
        Group::Options,
        Group::Supervision,
        Group::Limits,
        Group::Hardening,
        Group::Other,
    ];

    pub fn heading(self) -> &'static str {
        match self {
            Group::Options => "Options",
            Group::Supervision => "Supervision",
            Group::Limits => "Limits",
            Group::Hardening => "Hardening",
            Group::Other => "Other",
        }
    }

    /// Said after the heading, in parentheses.
    pub fn note(self) -> Option<&'static str> {
        match self {
            Group::Hardening => Some("docs/SECURITY.md says what each one stops"),
            _ => None,
        }
    }

    /// Said after the group's options, about all of them.
    pub fn footer(self) -> Option<&'static str> {
        match self {
            Group::Limits => Some(
                "The cgroup limits need a delegated cgroup (see docs/SUPERVISION.md); \
                 without one the run fails (125), never runs unlimited",
            ),
            Group::Hardening => Some(
                "Path rules: once any --allow-read, --allow-write or --allow-exec is given, \
                 Landlock lets the command reach only those paths (inside the sandbox; a \
                 relative one from the current directory) and what the sandbox needs: its \
                 /proc, /dev's nodes, /tmp and /dev/shm (never executed from). A path not \
                 there at the start is left out with a notice. They need Landlock ABI 3: \
                 --landlock require fails (125) below it, auto says in a notice what it did \
                 not enforce; with --landlock off they are refused",
            ),
            _ => None,
        }
    }
}

/// One option of `sandbox run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opt {
    /// With its dashes: `--hostname`.
    pub long: &'static str,
    /// `v` for `-v`.
    pub short: Option<char>,
    /// What the value is called in the help (`NAME`, `on|off`); None for a
    /// flag.
    pub value: Option<&'static str>,
    pub group: Group,
    /// Prose, not wrapped: the help wraps it.
    pub help: &'static str,
    /// May be given more than once; otherwise a second one is a usage error.
    pub repeatable: bool,
}

impl Opt {
    /// How the help names it: `-v, --verbose`, `--hostname NAME`.
    pub fn spec(&self) -> String {
        let mut s = String::new();
        if let Some(c) = self.short {
            s.push('-');
            s.push(c);
            s.push_str(", ");
        }
        s.push_str(self.long);
        if let Some(v) = self.value {
            s.push(' ');
            s.push_str(v);
        }
        s
    }

    pub fn takes_value(&self) -> bool {
        self.value.is_some()
    }
}

const fn flag(long: &'static str, group: Group, help: &'static str) -> Opt {
    Opt {
        long,
        short: None,
        value: None,
        group,
        help,
        repeatable: false,
    }
}

const fn value(long: &'static str, v: &'static str, group: Group, help: &'static str) -> Opt {
    Opt {
        long,
        short: None,
        value: Some(v),
        group,
        help,
        repeatable: false,
    }
}

const fn repeatable(o: Opt) -> Opt {
    Opt {
        repeatable: true,
        ..o
    }
}

const fn short(c: char, o: Opt) -> Opt {
    Opt {
        short: Some(c),
        ..o
    }
}

use Group::{Hardening, Limits, Options, Other, Supervision};

/// An entry of `RUN_OPTIONS`: the option's id and how it is spelled and
/// shown (`Opt`, whose fields it derefs to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOption {
    pub id: RunOpt,
    pub opt: Opt,
}

impl std::ops::Deref for RunOption {
    type Target = Opt;
    fn deref(&self) -> &Opt {
        &self.opt
    }
}

#[cfg(test)]
impl RunOpt {
    /// Its entry in `RUN_OPTIONS` (made in the variants' order).
    pub fn option(self) -> &'static RunOption {
        &RUN_OPTIONS[self as usize]
    }

    /// `--timeout` for `RunOpt::Timeout`.
    pub fn long(self) -> &'static str {
        self.option().long
    }
}

/// Every option of `sandbox run`, in the order `--help` lists them: the
/// one place an option is declared. Each line makes a variant of `RunOpt`
/// and its entry in `RUN_OPTIONS` (names, value, group, help), in the same
/// order, so `RUN_OPTIONS[id as usize]` is `id`'s entry. The scan (which
/// tokens are options and which take a value), `--help`, the man page and
/// the completions' option lists come from the table; the places that
/// must know what an option means match on `RunOpt` without a `_` arm
/// (`parse_run`'s `apply`, `manual::values`, the round trip's `to_args`),
/// so a new variant does not build until each of them handles it
/// (docs/DECISIONS.md, "Adding an option to run").
macro_rules! run_options {
    ($($id:ident = $opt:expr),* $(,)?) => {
        /// An option of `sandbox run`, by what it is rather than how it is
        /// spelled (`RunOpt::Timeout` is `--timeout`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RunOpt {
            $($id,)*
        }

        pub const RUN_OPTIONS: &[RunOption] = &[
            $(RunOption { id: RunOpt::$id, opt: $opt },)*
        ];
    };
}

run_options! {
    Profile = repeatable(value(
        "--profile",
        "FILE|NAME",
        Options,
        "take options from a profile: a TOML file whose keys are these options' long \
         names (FILE: a path with a / or ending in .toml), or a named one from \
         ~/.config/sandbox/profiles, PREFIX/share/sandbox/profiles or the built-in \
         ones (untrusted-script, build, agent); repeatable, a later profile wins over \
         an earlier one, and the command line over all; 'sandbox profile show NAME' \
         prints what one sets",
    )),
    Hostname = value(
        "--hostname",
        "NAME",
        Options,
        "hostname inside (default: sandbox)",
    ),
    Chdir = value(
        "--chdir",
        "DIR",
        Options,
        "working directory inside (default: /)",
    ),
    Setenv = repeatable(value(
        "--setenv",
        "KEY=VALUE",
        Options,
        "set a variable in the command's environment (repeatable); \
         the environment starts empty but for PATH, HOME and TERM",
    )),
    Uid = value(
        "--uid",
        "N",
        Options,
        "user id inside (default: 0, root in the sandbox)",
    ),
    Gid = value("--gid", "N", Options, "group id inside (default: 0)"),
    IdMap = value(
        "--id-map",
        "single|subuid|auto",
        Options,
        "single: only your own id is mapped, as 0; subuid: 0 is you and 1..N your \
         range in /etc/subuid and /etc/subgid, through newuidmap/newgidmap (files show \
         their own owners; --uid/--gid need no nested namespace); auto (default): \
         subuid when ROOTFS's top directory belongs to the first id of your range",
    ),
    ShareNet = flag("--share-net", Options, "the same as --net host"),
    Net = value(
        "--net",
        "none|host|pasta",
        Options,
        "the network: none is a new network namespace with only `lo`, up (default); \
         host keeps the host's, its loopback services included; pasta is a new one \
         connected to the outside through pasta (package passt), without the host's loopback",
    ),
    Publish = short(
        'p',
        repeatable(value(
            "--publish",
            "[HOSTIP:]HOSTPORT:PORT[/tcp|/udp]",
            Options,
            "forward HOSTIP:HOSTPORT on the host (HOSTIP default: 127.0.0.1) to PORT \
             inside; repeatable; needs --net pasta",
        )),
    ),
    HostLoopback = flag(
        "--host-loopback",
        Options,
        "make the host's 127.0.0.1 reachable from inside at the gateway's address, named \
         host.sandbox.internal in /etc/hosts; needs --net pasta",
    ),
    AllowNet = repeatable(value(
        "--allow-net",
        "CIDR[:PORT[-PORT]][/tcp|/udp]",
        Options,
        "when given, the only destinations the command may open connections to \
         (repeatable; IPv6 in brackets with a port); everything else is refused at once; \
         needs --net pasta; with --allow-host, the addresses its proxy may reach although \
         they are not public, and the only raw addresses it connects to",
    )),
    AllowHost = repeatable(value(
        "--allow-host",
        "PATTERN[:PORT]",
        Options,
        "reach the host PATTERN (a name, or *.NAME for the names below it) on PORT \
         (default: 80 and 443) through an HTTP and a SOCKS5 proxy on the sandbox's \
         127.0.0.1, served from the host, which refuses every other name and any name that \
         resolves to a loopback, link-local, private or host address (unless --allow-net \
         allows it); the sandbox has no other route; repeatable",
    )),
    Dns = flag(
        "--dns",
        Options,
        "a working /etc/resolv.conf inside, pointing at pasta's DNS forwarder, and \
         /etc/hosts naming the hostname (in the throwaway layer); needs --net pasta",
    ),
    Bind = repeatable(value(
        "--bind",
        "SRC[:DST]",
        Options,
        "bind host path SRC at DST (default: the same path), writable; \
         repeatable, later binds cover earlier ones",
    )),
    RoBind = repeatable(value(
        "--ro-bind",
        "SRC[:DST]",
        Options,
        "the same, read-only",
    )),
    BindTry = repeatable(value(
        "--bind-try",
        "SRC[:DST]",
        Options,
        "the same as --bind, but a SRC that does not exist is skipped \
         (a profile's caches, ~/.cargo, that a machine may not have)",
    )),
    RoBindTry = repeatable(value(
        "--ro-bind-try",
        "SRC[:DST]",
        Options,
        "the same as --ro-bind, but a missing SRC is skipped",
    )),
    Tmpfs = repeatable(value(
        "--tmpfs",
        "DST[:SIZE]",
        Options,
        "mount an empty, writable tmpfs over DST (capped at SIZE, default 256M), \
         e.g. --tmpfs ~ to hide your home; repeatable, mounted in order with the binds",
    )),
    BindSymlinks = flag(
        "--bind-symlinks",
        Options,
        "let a --bind/--ro-bind source be named through a symlink (stderr says where \
         it leads); without it such a source is refused",
    ),
    ReadOnly = flag(
        "--read-only",
        Options,
        "no writable root: only /tmp, /dev/shm, --bind and --tmpfs targets and the device \
         nodes in /dev (null, tty, ...) are writable",
    ),
    Rw = flag("--rw", Options, "write through to ROOTFS on disk"),
    Sys = flag(
        "--sys",
        Options,
        "mount a read-only /sys (default: no /sys)",
    ),
    TmpSize = value(
        "--tmp-size",
        "SIZE",
        Options,
        "cap /tmp at SIZE (default: 256M)",
    ),
    ShmSize = value(
        "--shm-size",
        "SIZE",
        Options,
        "cap /dev/shm at SIZE (default: 64M)",
    ),
    RootSize = value(
        "--root-size",
        "SIZE",
        Options,
        "cap what the command writes to the copy-on-write root (default: 256M)",
    ),
    Name = value(
        "--name",
        "NAME",
        Supervision,
        "register the sandbox under NAME (letters, digits, -, _, ., at most 64) for \
         sandbox ps, exec, kill, stop and logs; a name in use by a running sandbox \
         of yours fails (125). Default: a generated name",
    ),
    Detach = short(
        'd',
        flag(
            "--detach",
            Supervision,
            "go to the background once the sandbox runs, print its name, and keep \
             supervising it; its output goes to a log (sandbox logs NAME)",
        ),
    ),
    Init = flag(
        "--init",
        Supervision,
        "keep a minimal init as PID 1 that reaps orphans and forwards signals; \
         the command runs as PID 2",
    ),
    Timeout = value(
        "--timeout",
        "SECS",
        Supervision,
        "after SECS (fractions and s, m, h, d allowed) send SIGTERM, \
         then SIGKILL to the whole sandbox; exit 124",
    ),
    KillAfter = value(
        "--kill-after",
        "SECS",
        Supervision,
        "grace between SIGTERM and SIGKILL, for --timeout and when sandbox \
         itself is asked to stop (default: 5)",
    ),
    StatusFile = value(
        "--status-file",
        "PATH",
        Supervision,
        "write one JSON object there when the sandbox ends: exit code or signal, \
         timed_out, limits hit, times, peak memory",
    ),
    StatusFd = value(
        "--status-fd",
        "N",
        Supervision,
        "the same, to the open file descriptor N",
    ),
    Limit = repeatable(value(
        "--limit",
        "NAME=VALUE",
        Limits,
        "set a resource limit (soft and hard) for the command, names as prlimit(1): \
         as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, \
         rss, rtprio, rttime, sigpending, stack; VALUE takes K, M, G (x1024) or \
         'unlimited'; repeatable. Core dumps are off (core=0) unless \
         --limit core=... is given",
    )),
    NsLimit = repeatable(value(
        "--ns-limit",
        "NAME=VALUE",
        Limits,
        "a limit of the sandbox's own user or IPC namespace, by sysctl name: \
         user.max_inotify_instances (default: half the caller's, at most 32), \
         user.max_inotify_watches (at most 65536), user.max_fanotify_*, \
         user.max_*_namespaces (at most 64 each), kernel.shmmax, kernel.shmall \
         (default: --shm-size), kernel.shmmni (256), kernel.msgmni (64), \
         kernel.msgmnb, kernel.msgmax; repeatable",
    )),
    Memory = value(
        "--memory",
        "SIZE",
        Limits,
        "cgroup v2: memory use (K, M, G) of the whole sandbox",
    ),
    Pids = value(
        "--pids",
        "N",
        Limits,
        "cgroup v2: how many processes and threads it may hold",
    ),
    Cpus = value(
        "--cpus",
        "N",
        Limits,
        "cgroup v2: CPU time, in CPUs (0.5 = half of one CPU)",
    ),
    Seccomp = value(
        "--seccomp",
        "on|off",
        Hardening,
        "the default seccomp filter (default: on); off says so on stderr at every run",
    ),
    SeccompProfile = value(
        "--seccomp-profile",
        "FILE",
        Hardening,
        "an OCI or Docker seccomp profile (JSON, as docker's --security-opt \
         seccomp=FILE) in place of the default filter; no_new_privs stays on; \
         a bad file fails (125) naming it and what is wrong",
    ),
    ReportDenials = flag(
        "--report-denials",
        Hardening,
        "the calls the seccomp filter refuses still fail with the same errno, \
         and are reported: name, count and first pid in the status JSON \
         (\"denied\"), a summary on stderr at the end with -v",
    ),
    Landlock = value(
        "--landlock",
        "auto|require|off",
        Hardening,
        "Landlock filesystem and scope rules: auto uses what the kernel has, \
         require fails (125) without it (default: auto)",
    ),
    AllowRead = repeatable(value(
        "--allow-read",
        "PATH",
        Hardening,
        "path rules (Landlock): once any --allow-* is given, the command may read only \
         beneath these paths (inside the sandbox), --allow-write ones and --allow-exec \
         ones, besides /proc, /dev's nodes, /tmp and /dev/shm; repeatable",
    )),
    AllowWrite = repeatable(value(
        "--allow-write",
        "PATH",
        Hardening,
        "read and write (create, remove, rename, truncate) beneath PATH, never execute; \
         the mount must be writable too; repeatable",
    )),
    AllowExec = repeatable(value(
        "--allow-exec",
        "PATH",
        Hardening,
        "read and execute beneath PATH; a dynamically linked program needs its loader \
         (ld.so) under one too; repeatable",
    )),
    Userns = value(
        "--userns",
        "auto|require|off",
        Hardening,
        "where no user namespace can be made (max_user_namespaces 0, AppArmor's \
         restriction, a container's seccomp profile or masked /proc): auto (default) \
         runs in the host mode and says what was lost, require fails (125) with the \
         fix, off always takes the host mode: the host's / read-only under Landlock \
         but for --bind targets, seccomp, no_new_privs, rlimits, no namespaces; \
         ROOTFS must then be /",
    ),
    Stdio = value(
        "--stdio",
        "relay|inherit",
        Hardening,
        "relay (default): the sandbox gets a pty of its own for a terminal and \
         a pipe for a file on stdin, stdout or stderr, and runs in a new session; \
         inherit: the caller's descriptors as they are, so the command can \
         reach the caller's terminal (/dev/tty, its modes) and the metadata \
         of a file on stdio",
    ),
    Verbose = short(
        'v',
        flag(
            "--verbose",
            Other,
            "report on stderr what the sandbox set up",
        ),
    ),
    Help = short('h', flag("--help", Other, "this help")),
    Version = short('V', flag("--version", Other, "the version")),
}

/// The option a token names: `--hostname` or `-v` (no `=value`).
pub fn find(name: &str) -> Option<&'static RunOption> {
    RUN_OPTIONS.iter().find(|o| {
        o.long == name
            || o.short.is_some_and(|c| {
                let mut b = [0u8; 4];
                name.strip_prefix('-') == Some(c.encode_utf8(&mut b))
            })
    })
}

pub const RUN_SYNOPSIS: &str = "sandbox run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]";

/// What `sandbox run` does, before the options.
pub const RUN_ABOUT: &str = "\
Run COMMAND (default /bin/sh) as root and PID 1 inside new user, PID, mount,
UTS, IPC, network and cgroup namespaces, with ROOTFS as its root. No host
path is visible unless bound in. By default the root is copy-on-write:
the command may write anywhere, and its writes vanish when it exits.
ROOTFS `/` is the host's own root, read-only, with its own /proc, /dev,
/tmp and an empty /run: `sandbox run --tmpfs ~ --bind ./project / make`.

Options come before COMMAND: everything after COMMAND is passed to it
unparsed (`sandbox run ./rootfs sh job.sh --timeout 5` has no timeout, and
a notice says so); use `--` before a COMMAND that starts with `-`.";

pub const RUN_EXIT_STATUS: &str = "\
Exit status: the command's own; 128+N if it was killed by signal N;
124 if --timeout expired; 125 if the sandbox failed; 126 if COMMAND
cannot be executed; 127 if COMMAND is not found in ROOTFS.";

/// Where the help text of an option starts, and where lines end.
const HELP_COLUMN: usize = 22;
const HELP_WIDTH: usize = 80;

/// `text` broken at spaces into lines of at most `width` characters (a
/// longer word stays whole).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `sandbox run --help`, rendered from `RUN_OPTIONS`.
pub fn run_help() -> String {
    let indent = " ".repeat(HELP_COLUMN);
    let mut out = format!("usage: {RUN_SYNOPSIS}\n\n{RUN_ABOUT}\n");
    for group in Group::ALL {
        out.push('\n');
        out.push_str(group.heading());
        if let Some(note) = group.note() {
            out.push_str(&format!(" ({note})"));
        }
        out.push_str(":\n");
        for opt in RUN_OPTIONS.iter().filter(|o| o.group == group) {
            let spec = opt.spec();
            let mut lines = wrap(opt.help, HELP_WIDTH - HELP_COLUMN).into_iter();
            if spec.len() + 3 <= HELP_COLUMN {
                let first = lines.next().unwrap_or_default();
                out.push_str(&format!("  {spec:<w$}{first}\n", w = HELP_COLUMN - 2));
            } else {
                out.push_str(&format!("  {spec}\n"));
            }
            for l in lines {
                out.push_str(&format!("{indent}{l}\n"));
            }
        }
        if let Some(footer) = group.footer() {
            for l in wrap(footer, HELP_WIDTH - HELP_COLUMN) {
                out.push_str(&format!("{indent}{l}\n"));
            }
        }
    }
    out.push('\n');
    out.push_str(RUN_EXIT_STATUS);
    out
}

pub const USAGE: &str = "\
usage: sandbox run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]
       (ROOTFS: a directory, a .tar, .tar.gz or .tar.zst, or oci:DIR[:TAG])
       sandbox ps | exec | kill | stop | logs ...
       sandbox profile show NAME|FILE | list
       sandbox doctor | images [--json | --prune]
       sandbox man | completions bash|zsh|fish
       sandbox --help | --version";

pub const TOP_HELP: &str = "\
sandbox: run untrusted commands in a rootless Linux sandbox

usage: sandbox run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]
       (ROOTFS: a directory, a .tar, .tar.gz or .tar.zst, or oci:DIR[:TAG])
       sandbox ps [--json] list your running sandboxes
       sandbox exec [OPTIONS] NAME [--] [COMMAND [ARG...]]
                           run a command inside a running sandbox
       sandbox kill NAME [SIGNAL]
                           send a signal to a running sandbox (default KILL)
       sandbox stop [--time SECS] NAME
                           stop it: TERM, then KILL after the grace
       sandbox logs [-f] NAME
                           the output of a sandbox run with --detach
       sandbox profile show NAME|FILE
                           print the options a profile sets, as a command line
       sandbox profile list
                           list the named profiles and where each is read from
       sandbox doctor      check what this kernel and user allow
       sandbox images [--json | --prune]
                           list the unpacked images and tarballs, or empty the cache
       sandbox man         print the manual page (roff): sandbox man | man -l -
       sandbox completions bash|zsh|fish
                           print a completion script for that shell
       sandbox --help | --version

`sandbox run --help` lists the options.";

const DOCTOR_HELP: &str = "usage: sandbox doctor\n\nChecks, one line each, what `sandbox run` needs from this kernel and user.\nExits 0 when `sandbox run` can work here.";

fn usage(msg: impl Into<String>) -> Error {
    Error::msg("usage", msg).with_hint("run 'sandbox run --help' for the options")
}

/// Levenshtein distance, by bytes (option names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known options an unknown `name` (no `=value`) may have meant: the
/// one it is a unique prefix of (`--time`), else the nearest ones by edit
/// distance, at most 2 and less than the name is long (`--timout`).
fn suggest(name: &str) -> Vec<&'static str> {
    let core = name.trim_start_matches('-');
    if core.is_empty() {
        return Vec::new();
    }
    let longs = RUN_OPTIONS.iter().map(|o| o.long);
    if name.starts_with("--") {
        let prefixed: Vec<_> = longs.clone().filter(|l| l[2..].starts_with(core)).collect();
        if prefixed.len() == 1 {
            return prefixed;
        }
    }
    let max = 2.min(core.len() - 1);
    let scored: Vec<_> = longs.map(|l| (edit_distance(core, &l[2..]), l)).collect();
    match scored.iter().map(|&(d, _)| d).min() {
        Some(best) if best <= max => scored
            .into_iter()
            .filter(|&(d, _)| d == best)
            .map(|(_, l)| l)
            .collect(),
        _ => Vec::new(),
    }
}

/// `unknown option …`, with a `did you mean` hint when a known option is
/// close.
fn unknown_option(name: &str, msg: String) -> Error {
    let near = suggest(name);
    let e = usage(msg);
    match near.split_last() {
        None => e,
        Some((last, [])) => e.with_hint(format!("did you mean {last}?")),
        Some((last, rest)) => e.with_hint(format!("did you mean {} or {last}?", rest.join(", "))),
    }
}

/// The name part of an option token: `--uid` of `--uid=5`.
fn option_name(tok: &OsStr) -> (String, bool) {
    let bytes = tok.as_bytes();
    let eq = bytes.iter().position(|&b| b == b'=');
    let name = String::from_utf8_lossy(&bytes[..eq.unwrap_or(bytes.len())]).into_owned();
    (name, eq.is_some())
}

/// Parse the whole argv (argv[0] excluded), reading the profiles that
/// `--profile` names from the files (`profile::Files`).
pub fn parse(args: Vec<OsString>) -> Result<Cmd> {
    parse_with(args, &profile::Files)
}

/// The same, with the profiles from `profiles`: the only input besides
/// argv (the tests give it profiles held in memory).
pub fn parse_with(args: Vec<OsString>, profiles: &dyn profile::Source) -> Result<Cmd> {
    let mut it = args.into_iter();
    let Some(first) = it.next() else {
        return Err(usage("no command given").with_hint(USAGE));
    };
    let rest: Vec<OsString> = it.collect();
    // Top-level flags count only in first place: a `--version` further on
    // may be meant for the command.
    match first.to_str() {
        Some("-h") | Some("--help") | Some("help") => Ok(Cmd::Help(Cow::Borrowed(TOP_HELP))),
        Some("-V") | Some("--version") => Ok(Cmd::Version),
        Some("run") => parse_run(rest, profiles),
        Some("profile") => parse_profile(&rest),
        // The engine's second stage (`/proc/self/exe child`, re-exec'd by
        // the launcher): its input is the plan on fd 4, never argv. Run by
        // hand, the stage itself refuses.
        Some("child") => Ok(Cmd::Child),
        Some("doctor") => {
            if rest.iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Cmd::Help(Cow::Borrowed(DOCTOR_HELP)));
            }
            if let Some(a) = rest.first() {
                return Err(usage(format!("doctor takes no arguments, got {a:?}")));
            }
            Ok(Cmd::Doctor)
        }
        Some("images") => parse_images(&rest),
        Some("man") => parse_man(&rest),
        Some("ps") => parse_ps(&rest),
        Some("exec") => parse_exec(rest),
        Some("kill") => parse_kill(&rest),
        Some("stop") => parse_stop(&rest),
        Some("logs") => parse_logs(&rest),
        Some("completions") => parse_completions(&rest),
        _ if first.len() > 1 && first.as_bytes()[0] == b'-' => Err(option_before_command(&first)),
        _ => Err(usage(format!("unknown command {first:?}"))
            .with_hint("commands are: run, ps, exec, kill, stop, logs, profile, doctor, images, man, completions; see 'sandbox --help'")),
    }
}

/// The subcommands, with what each does: `sandbox --help`, the man page
/// and the completions list them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("run", "run a command in a new sandbox"),
    ("ps", "list your running sandboxes"),
    ("exec", "run a command inside a running sandbox"),
    ("kill", "send a signal to a running sandbox"),
    (
        "stop",
        "stop a running sandbox: TERM, then KILL after a grace",
    ),
    ("logs", "show the output of a detached sandbox"),
    (
        "profile",
        "show what a profile sets, as options of run (show NAME|FILE), or list the named ones (list)",
    ),
    ("doctor", "check what this kernel and user allow"),
    (
        "images",
        "list the unpacked images and tarballs (--json), or empty the cache (--prune)",
    ),
    ("man", "print the manual page, sandbox(1), in roff"),
    (
        "completions",
        "print a completion script for bash, zsh or fish",
    ),
];

/// What a subcommand other than `run` takes: its options (the table
/// `sub_options!` makes with the subcommand's id enum, which its parser
/// reads through the enum's `find`), and the words after them. The man
/// page's SYNOPSIS is written from this and `RUN_SYNOPSIS`.
pub struct Sub {
    pub name: &'static str,
    pub options: &'static [Opt],
    /// At most one of the options (`images --json | --prune`).
    pub exclusive: bool,
    /// After the options: `NAME [SIGNAL]`.
    pub args: &'static str,
}

const fn sub(name: &'static str, options: &'static [Opt], args: &'static str) -> Sub {
    Sub {
        name,
        options,
        exclusive: false,
        args,
    }
}

/// The index in `table` of the option `tok` names (`--time`, `-t`; no
/// `=value`).
fn opt_index(table: &[Opt], tok: &str) -> Option<usize> {
    table.iter().position(|o| {
        o.long == tok
            || o.short.is_some_and(|c| {
                let mut b = [0u8; 4];
                tok.strip_prefix('-') == Some(c.encode_utf8(&mut b))
            })
    })
}

/// The options of the subcommands other than `run`, declared once as
/// `run_options!` declares run's: each block makes an enum of ids (`StopOpt`)
/// and its table (`STOP_OPTIONS`, in the variants' order, which
/// `SUBCOMMANDS` lists for the subcommand), so an id cannot exist without
/// its entry. Each parser turns a token into an id with `find` and matches
/// on it with no `_` arm: a new option does not build until its parser
/// reads it (docs/DECISIONS.md, "Adding an option to run").
macro_rules! sub_options {
    ($($name:literal: $enum:ident, $table:ident { $($id:ident = $opt:expr),* $(,)? })*) => {
        $(
            #[doc = concat!("An option of `sandbox ", $name, "`, by what it is; its entry is `", stringify!($table), "[id as usize]`.")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub enum $enum {
                $($id,)*
            }

            #[doc = concat!("The options of `sandbox ", $name, "`, in `", stringify!($enum), "`'s order.")]
            pub const $table: &[Opt] = &[$($opt,)*];

            impl $enum {
                /// Every id, in the table's order.
                const ALL: &'static [Self] = &[$(Self::$id,)*];
                /// The subcommand whose options these are.
                #[cfg(test)]
                const SUB: &'static str = $name;

                /// The option `tok` names (`--time`, `-t`; no `=value`).
                fn find(tok: &str) -> Option<Self> {
                    opt_index($table, tok).map(|i| Self::ALL[i])
                }
            }
        )*

        /// Each subcommand's name with its table, for the test that
        /// `SUBCOMMANDS` lists the table its parser reads.
        #[cfg(test)]
        const SUB_TABLES: &[(&str, &[Opt])] = &[$(($enum::SUB, $table),)*];
    };
}

sub_options! {
    "ps": PsOpt, PS_OPTIONS {
        Json = flag("--json", Other, "print one JSON array"),
    }
    "exec": ExecOpt, EXEC_OPTIONS {
        Chdir = value("--chdir", "DIR", Options, "working directory inside"),
        Setenv = repeatable(value(
            "--setenv",
            "KEY=VALUE",
            Options,
            "add to the environment",
        )),
        Uid = value("--uid", "N", Options, "user id inside"),
        Gid = value("--gid", "N", Options, "group id inside"),
        Tty = short('t', flag("--tty", Options, "a pty of the sandbox's own")),
    }
    "stop": StopOpt, STOP_OPTIONS {
        Time = short(
            't',
            value("--time", "SECS", Supervision, "grace before KILL"),
        ),
    }
    "logs": LogsOpt, LOGS_OPTIONS {
        Follow = short('f', flag("--follow", Other, "until the sandbox ends")),
    }
    "images": ImagesOpt, IMAGES_OPTIONS {
        Json = flag("--json", Other, "as a JSON array"),
        Prune = flag("--prune", Other, "empty the cache"),
    }
}

/// Every subcommand but `run`, in `COMMANDS`' order.
pub const SUBCOMMANDS: &[Sub] = &[
    sub("ps", PS_OPTIONS, ""),
    sub("exec", EXEC_OPTIONS, "NAME [--] [COMMAND [ARG...]]"),
    sub("kill", &[], "NAME [SIGNAL]"),
    sub("stop", STOP_OPTIONS, "NAME"),
    sub("logs", LOGS_OPTIONS, "NAME"),
    sub("profile", &[], "show NAME|FILE | list"),
    sub("doctor", &[], ""),
    Sub {
        name: "images",
        options: IMAGES_OPTIONS,
        exclusive: true,
        args: "",
    },
    sub("man", &[], ""),
    sub("completions", &[], "bash|zsh|fish"),
];

/// `sandbox NAME [options] ARGS` for each subcommand, `run` first: the
/// man page's SYNOPSIS.
pub fn synopses() -> Vec<String> {
    let mut v = vec![RUN_SYNOPSIS.to_string()];
    for s in SUBCOMMANDS {
        let mut line = format!("sandbox {}", s.name);
        let specs: Vec<String> = s
            .options
            .iter()
            .map(|o| {
                let mut spec = match o.short {
                    Some(c) => format!("-{c}|{}", o.long),
                    None => o.long.to_string(),
                };
                if let Some(v) = o.value {
                    spec.push(' ');
                    spec.push_str(v);
                }
                spec
            })
            .collect();
        if s.exclusive && !specs.is_empty() {
            line.push_str(&format!(" [{}]", specs.join(" | ")));
        } else {
            for spec in specs {
                line.push_str(&format!(" [{spec}]"));
            }
        }
        if !s.args.is_empty() {
            line.push(' ');
            line.push_str(s.args);
        }
        v.push(line);
    }
    v
}

const MAN_HELP: &str = "usage: sandbox man\n\nPrints the manual page sandbox(1) in roff: 'sandbox man | man -l -' shows it.";

const COMPLETIONS_HELP: &str = "usage: sandbox completions bash|zsh|fish\n\nPrints a completion script for the shell; 'make install' installs all three.";

pub const PS_HELP: &str = "usage: sandbox ps [--json]\n\nLists your running sandboxes: name, PID (on the host), start time, uptime,\nnetwork, rootfs and command. --json prints one JSON array.";

pub const EXEC_HELP: &str = "\
usage: sandbox exec [OPTIONS] NAME [--] [COMMAND [ARG...]]

Runs COMMAND (default /bin/sh) inside the running sandbox NAME: in all of
its namespaces, its root and its cgroup, as confined as its own command
(no capabilities, no_new_privs, the same seccomp filter, Landlock rules
and rlimits). The environment starts empty, as with run.

Options:
  --chdir DIR         working directory inside (default: /)
  --setenv KEY=VALUE  add to the environment (repeatable)
  --uid N, --gid N    identity inside (default: the sandbox's own)
  -t, --tty           give the command a pty of the sandbox's own when a
                      terminal is on stdio (job control); without it a
                      terminal is passed as a plain byte stream

Exit status: the command's own; 128+N if it was killed by signal N; 125
if exec failed (no such sandbox, say); 126 if COMMAND cannot be executed;
127 if COMMAND is not found.";

pub const KILL_HELP: &str = "usage: sandbox kill NAME [SIGNAL]\n\nSends SIGNAL (a name such as TERM, or a number; default KILL) to the\nsandbox's PID 1. KILL ends the whole sandbox.";

pub const STOP_HELP: &str = "usage: sandbox stop [--time SECS] NAME\n\nAsks the sandbox's launcher to stop it (SIGTERM to its command), and kills\nthe whole sandbox if it has not ended after SECS (default: its\n--kill-after). Returns once the sandbox and its launcher are gone.";

pub const LOGS_HELP: &str = "usage: sandbox logs [-f|--follow] NAME\n\nPrints what a sandbox started with --detach has written to stdout and\nstderr (its last 8 MiB at most). -f keeps printing until the sandbox ends.";

fn is_help(a: &OsStr) -> bool {
    a == "-h" || a == "--help"
}

fn utf8(a: &OsStr) -> Result<&str> {
    a.to_str()
        .ok_or_else(|| usage(format!("{a:?} is not UTF-8")))
}

fn parse_name(a: &OsStr) -> Result<String> {
    let s = utf8(a)?;
    crate::named::state::check_name(s).map_err(usage)?;
    Ok(s.to_string())
}

/// `sandbox ps [--json]`.
fn parse_ps(rest: &[OsString]) -> Result<Cmd> {
    let mut json = false;
    for a in rest {
        if is_help(a) {
            return Ok(Cmd::Help(Cow::Borrowed(PS_HELP)));
        }
        match a.to_str().and_then(PsOpt::find) {
            Some(PsOpt::Json) => json = true,
            None => return Err(usage(format!("ps takes only --json, got {a:?}"))),
        }
    }
    Ok(Cmd::Ps { json })
}

/// `sandbox exec [OPTIONS] NAME [--] [COMMAND [ARG...]]`.
fn parse_exec(rest: Vec<OsString>) -> Result<Cmd> {
    let mut a = crate::named::join::ExecArgs {
        name: String::new(),
        command: Vec::new(),
        chdir: None,
        setenv: Vec::new(),
        uid: None,
        gid: None,
        tty: false,
    };
    let mut it = rest.into_iter();
    let mut name = None;
    while let Some(tok) = it.next() {
        let s = tok.to_str().unwrap_or("");
        if is_help(&tok) {
            return Ok(Cmd::Help(Cow::Borrowed(EXEC_HELP)));
        }
        if s == "--" {
            break;
        }
        if !s.starts_with('-') || s == "-" {
            name = Some(parse_name(&tok)?);
            break;
        }
        let (opt, inline) = match s.split_once('=') {
            Some((o, v)) => (o.to_string(), Some(OsString::from(v))),
            None => (s.to_string(), None),
        };
        let Some(known) = ExecOpt::find(&opt) else {
            return Err(usage(format!("unknown exec option {s}")).with_hint(
                "exec takes --chdir, --setenv, --uid, --gid and -t; see 'sandbox exec --help'",
            ));
        };
        let mut value = || -> Result<OsString> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| usage(format!("option {opt} needs a value")))
        };
        match known {
            ExecOpt::Tty => a.tty = true,
            ExecOpt::Chdir => a.chdir = Some(parse_chdir(&value()?).map_err(usage)?),
            ExecOpt::Setenv => a.setenv.push(parse_setenv(&value()?).map_err(usage)?),
            ExecOpt::Uid => a.uid = Some(parse_id(utf8(&value()?)?).map_err(usage)?),
            ExecOpt::Gid => a.gid = Some(parse_id(utf8(&value()?)?).map_err(usage)?),
        }
    }
    let name = match name {
        Some(n) => n,
        None => match it.next() {
            Some(n) => parse_name(&n)?,
            None => {
                return Err(usage("exec needs the name of a running sandbox")
                    .with_hint("sandbox exec NAME [COMMAND [ARG...]]; 'sandbox ps' lists yours"))
            }
        },
    };
    a.name = name;
    let mut command: Vec<OsString> = it.collect();
    if command.first().is_some_and(|c| c == "--") {
        command.remove(0);
    }
    if command.is_empty() {
        command.push(crate::plan::DEFAULT_COMMAND.into());
    }
    a.command = command;
    Ok(Cmd::Exec(Box::new(a)))
}

/// `sandbox kill NAME [SIGNAL]`.
fn parse_kill(rest: &[OsString]) -> Result<Cmd> {
    match rest {
        [h, ..] if is_help(h) => Ok(Cmd::Help(Cow::Borrowed(KILL_HELP))),
        [n] => Ok(Cmd::Kill {
            name: parse_name(n)?,
            signal: libc::SIGKILL,
        }),
        [n, sig] => Ok(Cmd::Kill {
            name: parse_name(n)?,
            signal: crate::named::manage::parse_signal(utf8(sig)?).map_err(usage)?,
        }),
        _ => Err(usage("usage: sandbox kill NAME [SIGNAL]")),
    }
}

/// `sandbox stop [--time SECS] NAME`.
fn parse_stop(rest: &[OsString]) -> Result<Cmd> {
    let mut time = None;
    let mut name = None;
    let mut it = rest.iter();
    while let Some(a) = it.next() {
        let s = a.to_str().unwrap_or("");
        if is_help(a) {
            return Ok(Cmd::Help(Cow::Borrowed(STOP_HELP)));
        }
        // `--time SECS`, `-t SECS`, `--time=SECS` or `-t=SECS`.
        let given = match StopOpt::find(s) {
            Some(id) => Some((id, None)),
            None => s
                .split_once('=')
                .and_then(|(o, v)| StopOpt::find(o).map(|id| (id, Some(v)))),
        };
        if let Some((id, inline)) = given {
            match id {
                StopOpt::Time => {
                    let v = match inline {
                        Some(v) => v,
                        None => utf8(
                            it.next()
                                .ok_or_else(|| usage("option --time needs a value"))?,
                        )?,
                    };
                    time = Some(limits::parse_duration("--time", v).map_err(usage)?);
                }
            }
        } else if name.is_none() {
            name = Some(parse_name(a)?);
        } else {
            return Err(usage(format!("stop takes one name, got {a:?} too")));
        }
    }
    match name {
        Some(name) => Ok(Cmd::Stop { name, time }),
        None => Err(usage("usage: sandbox stop [--time SECS] NAME")),
    }
}

/// `sandbox logs [-f] NAME`.
fn parse_logs(rest: &[OsString]) -> Result<Cmd> {
    let mut follow = false;
    let mut name = None;
    for a in rest {
        if is_help(a) {
            return Ok(Cmd::Help(Cow::Borrowed(LOGS_HELP)));
        }
        match a.to_str().and_then(LogsOpt::find) {
            Some(LogsOpt::Follow) => follow = true,
            None if name.is_none() => name = Some(parse_name(a)?),
            None => return Err(usage(format!("logs takes one name, got {a:?} too"))),
        }
    }
    match name {
        Some(name) => Ok(Cmd::Logs { name, follow }),
        None => Err(usage("usage: sandbox logs [-f] NAME")),
    }
}

const IMAGES_HELP: &str = "usage: sandbox images [--json | --prune]\n\nLists the images and tarballs unpacked for 'sandbox run' in the cache\n($XDG_CACHE_HOME/sandbox, default ~/.cache/sandbox) with their sizes;\n--json prints them as a JSON array; --prune removes them all.";

/// `sandbox images`.
fn parse_images(rest: &[OsString]) -> Result<Cmd> {
    match rest {
        [] => Ok(Cmd::Images(ImagesAction::List)),
        [a] if a == "-h" || a == "--help" => Ok(Cmd::Help(Cow::Borrowed(IMAGES_HELP))),
        [a] => match a.to_str().and_then(ImagesOpt::find) {
            Some(ImagesOpt::Json) => Ok(Cmd::Images(ImagesAction::Json)),
            Some(ImagesOpt::Prune) => Ok(Cmd::Images(ImagesAction::Prune)),
            None => Err(usage(format!("images takes --json or --prune, got {a:?}"))),
        },
        [a, ..] => Err(usage(format!("images takes --json or --prune, got {a:?}"))),
    }
}

const PROFILE_HELP: &str = "\
usage: sandbox profile show NAME|FILE
       sandbox profile list

show prints the options the profile sets (its includes resolved, ~,
${HOME} and ${PWD} expanded), shell-quoted on one line, as they would be
given to 'sandbox run'. list prints the named profiles, each with the
file it is read from (the first found of ~/.config/sandbox/profiles,
PREFIX/share/sandbox/profiles and the built-in ones).";

/// `sandbox profile show NAME|FILE | list`.
fn parse_profile(rest: &[OsString]) -> Result<Cmd> {
    let hint = "sandbox profile show NAME|FILE, or sandbox profile list";
    match rest {
        [a, ..] if is_help(a) => Ok(Cmd::Help(Cow::Borrowed(PROFILE_HELP))),
        [a] if a == "list" => Ok(Cmd::Profile(ProfileAction::List)),
        [a, spec] if a == "show" && !spec.is_empty() => {
            Ok(Cmd::Profile(ProfileAction::Show(spec.clone())))
        }
        _ => Err(usage("profile takes show NAME|FILE, or list").with_hint(hint)),
    }
}

/// `sandbox man`.
fn parse_man(rest: &[OsString]) -> Result<Cmd> {
    match rest.first() {
        None => Ok(Cmd::Man),
        Some(a) if a == "-h" || a == "--help" => Ok(Cmd::Help(Cow::Borrowed(MAN_HELP))),
        Some(a) => Err(usage(format!("man takes no arguments, got {a:?}"))),
    }
}

/// `sandbox completions SHELL`.
fn parse_completions(rest: &[OsString]) -> Result<Cmd> {
    let hint = "sandbox completions bash|zsh|fish";
    match rest {
        [a] if a == "-h" || a == "--help" => Ok(Cmd::Help(Cow::Borrowed(COMPLETIONS_HELP))),
        [a] => match crate::cli::manual::Shell::ALL
            .into_iter()
            .find(|s| a.to_str() == Some(s.name()))
        {
            Some(shell) => Ok(Cmd::Completions(shell)),
            None => Err(usage(format!("no completions for shell {a:?}")).with_hint(hint)),
        },
        [] => Err(usage("completions needs a shell: bash, zsh or fish").with_hint(hint)),
        [_, extra, ..] => {
            Err(usage(format!("completions takes one shell, got {extra:?} too")).with_hint(hint))
        }
    }
}

/// `sandbox --rw run ./rootfs`: the options belong to `run`, after it.
fn option_before_command(tok: &OsStr) -> Error {
    let (name, _) = option_name(tok);
    match find(&name) {
        Some(_) => usage(format!(
            "option {name} comes after the command: sandbox run {name} …"
        )),
        None => unknown_option(
            &name,
            format!(
                "unknown option {}; options come after the command: sandbox run [OPTIONS] ROOTFS …",
                tok.to_string_lossy()
            ),
        ),
    }
}

/// argv after `run`, split where the options end, in the order given.
struct Split {
    /// The options with their values (None for a flag), but for
    /// -h/--help and -V/--version.
    opts: Vec<Given>,
    /// -h/--help or -V/--version given as an option of their own (not as
    /// another option's value, such as `--bind -V`).
    help: bool,
    version: bool,
    rootfs: Option<OsString>,
    command: Vec<OsString>,
    /// `--` was given: what follows ROOTFS is the command's, said plainly.
    dashdash: bool,
}

struct Given {
    opt: &'static RunOption,
    /// As typed (`-v` or `--verbose`), for messages.
    name: String,
    value: Option<OsString>,
    /// Set by a profile: its file and line (`build.toml:3`), for messages.
    origin: Option<String>,
}

fn split(args: Vec<OsString>) -> Result<Split> {
    let mut s = Split {
        opts: Vec::new(),
        help: false,
        version: false,
        rootfs: None,
        command: Vec::new(),
        dashdash: false,
    };
    let mut it = args.into_iter();
    while let Some(tok) = it.next() {
        let bytes = tok.as_bytes();
        if bytes == b"--" {
            s.dashdash = true;
            let mut rest: Vec<OsString> = it.collect();
            if s.rootfs.is_none() && !rest.is_empty() {
                s.rootfs = Some(rest.remove(0));
            }
            s.command = rest;
            break;
        }
        let is_opt = bytes.len() > 1 && bytes[0] == b'-';
        if !is_opt {
            if s.rootfs.is_none() {
                s.rootfs = Some(tok);
                continue;
            }
            s.command.push(tok);
            s.command.extend(it);
            break;
        }
        let (name, has_eq) = option_name(&tok);
        let Some(opt) = find(&name) else {
            let msg = format!("unknown option {}", tok.to_string_lossy());
            return Err(unknown_option(&name, msg));
        };
        let value = match (opt.takes_value(), has_eq) {
            (true, true) => Some(OsStr::from_bytes(&bytes[name.len() + 1..]).to_os_string()),
            (true, false) => match it.next() {
                Some(v) => Some(v),
                None => return Err(usage(format!("option {name} needs a value"))),
            },
            (false, true) => return Err(usage(format!("option {name} takes no value"))),
            (false, false) => None,
        };
        match opt.id {
            RunOpt::Help => s.help = true,
            RunOpt::Version => s.version = true,
            _ => s.opts.push(Given {
                opt,
                name,
                value,
                origin: None,
            }),
        }
    }
    Ok(s)
}

type Parsed<T> = std::result::Result<T, String>;

impl Given {
    /// An error about this option's value, said where a profile set it
    /// (`sandbox: profile: build.toml:3: pids: --pids wants ...`).
    fn locate(&self, e: Error) -> Error {
        match (&self.origin, e.reason) {
            (Some(at), crate::error::Reason::Msg(m)) => {
                let key = self.opt.long.trim_start_matches('-');
                let mut located = Error::msg("profile", format!("{key}: {m}")).with_path(at);
                located.hint = e.hint.filter(|h| !h.contains("--help"));
                located
            }
            (_, reason) => Error { reason, ..e },
        }
    }

    /// The value as given (empty for a flag, which has none).
    fn os(&self) -> &OsStr {
        self.value.as_deref().unwrap_or_default()
    }

    fn parse_os<T>(&self, f: impl Fn(&OsStr) -> Parsed<T>) -> Result<T> {
        f(self.os()).map_err(usage)
    }

    fn parse<T>(&self, f: impl Fn(&str) -> Parsed<T>) -> Result<T> {
        self.parse_os(|v| match v.to_str() {
            Some(s) => f(s),
            None => Err(format!("{} wants UTF-8, got {v:?}", self.opt.long)),
        })
    }
}

fn parse_run(args: Vec<OsString>, profiles: &dyn profile::Source) -> Result<Cmd> {
    let s = split(args)?;
    if s.help {
        return Ok(Cmd::Help(Cow::Owned(run_help())));
    }
    if s.version {
        return Ok(Cmd::Version);
    }
    refuse_repeats(&s.opts)?;
    let notices = if s.dashdash {
        Vec::new()
    } else {
        options_after_command(&s.command).into_iter().collect()
    };
    let opts = profile::resolve(s.opts, profiles)?;
    let mut r = RunArgs::new(OsString::new());
    let mut later = Later::default();
    for g in &opts {
        apply(g, &mut r, &mut later).map_err(|e| g.locate(e))?;
    }
    later.finish(&mut r)?;
    rootfs_and_command(&mut r, s.rootfs, s.command)?;
    Ok(Cmd::Run(Box::new(r), notices))
}

/// `sandbox run ./rootfs /bin/sh job.sh --timeout 5`: everything after
/// COMMAND is the command's, so that --timeout is not sandbox's and the
/// run has no timeout. The command still gets it (a program may take
/// `--timeout` itself), and one notice names the options of run found
/// there (long ones, but for --verbose, --help and --version, which many
/// programs take and which change no safety). `--` before COMMAND says
/// the rest is the command's, and silences it.
fn options_after_command(command: &[OsString]) -> Option<String> {
    let mut found: Vec<&str> = Vec::new();
    for a in command.iter().skip(1) {
        if !a.as_bytes().starts_with(b"--") {
            continue;
        }
        let (name, _) = option_name(a);
        if let Some(o) = find(&name) {
            if o.group != Group::Other && !found.contains(&o.long) {
                found.push(o.long);
            }
        }
    }
    let program = command.first()?.to_string_lossy();
    let (these, are) = match found.len() {
        0 => return None,
        1 => ("option", "is"),
        _ => ("options", "are"),
    };
    Some(format!(
        "notice: {} after COMMAND ({program}) {are} passed to the command, not taken by \
         sandbox run: run's {these} must come before COMMAND (sandbox run [OPTIONS] ROOTFS \
         COMMAND [ARG...]); a '--' before COMMAND says the rest is the command's and \
         silences this",
        found.join(", ")
    ))
}

fn refuse_repeats(given: &[Given]) -> Result<()> {
    for (i, g) in given.iter().enumerate() {
        if !g.opt.repeatable && given[..i].iter().any(|h| h.opt == g.opt) {
            return Err(usage(format!("option {} given more than once", g.name)));
        }
    }
    Ok(())
}

/// What one option given means for `r`, in the order given (so a
/// `--tmpfs` knows how many binds came before it, and a later bind covers
/// an earlier one). A match on `RunOpt` with no `_` arm: a new option does
/// not build until it says here what it sets.
fn apply(g: &Given, r: &mut RunArgs, later: &mut Later) -> Result<()> {
    use RunOpt as O;
    match g.opt.id {
        // Who the command is and what it sees of the host.
        O::Hostname => r.hostname = g.parse(parse_hostname)?,
        O::Chdir => r.chdir = g.parse_os(parse_chdir)?,
        O::Setenv => r.setenv.push(g.parse_os(parse_setenv)?),
        O::Uid => r.uid = g.parse(parse_id)?,
        O::Gid => r.gid = g.parse(parse_id)?,
        O::IdMap => r.id_map = g.parse(parse_id_map)?,
        // The network; `Plan::from_args` (confine/net.rs) checks that pasta's
        // options come with `--net pasta`.
        O::ShareNet => r.share_net = true,
        O::Net => later.net = Some(g.parse(parse_net)?),
        O::Publish => r
            .net
            .publish
            .push(g.parse(crate::confine::net::parse_publish)?),
        O::HostLoopback => r.net.host_loopback = true,
        O::AllowNet => r.net.allow.push(g.parse(crate::confine::net::parse_allow)?),
        O::AllowHost => r
            .net
            .hosts
            .push(g.parse(crate::confine::proxy::parse_host)?),
        O::Dns => r.net.dns = true,
        // Mounts, in the order given.
        O::Bind | O::RoBind | O::BindTry | O::RoBindTry => {
            let (src, dst) = g.parse_os(parse_bind)?;
            r.binds.push(BindArg {
                src,
                dst,
                read_only: matches!(g.opt.id, O::RoBind | O::RoBindTry),
                optional: matches!(g.opt.id, O::BindTry | O::RoBindTry),
            });
        }
        O::Tmpfs => {
            let (dst, size) = parse_tmpfs(g.os())?;
            r.tmpfs.push(TmpfsArg {
                dst,
                size,
                after_binds: r.binds.len(),
            });
        }
        O::BindSymlinks => r.bind_symlinks = true,
        // The root's mode, /sys, and the sizes of the tmpfs mounts.
        O::ReadOnly => later.read_only = true,
        O::Rw => later.rw = true,
        O::Sys => r.sys = true,
        O::TmpSize => r.sizes.tmp = g.parse(|v| limits::parse_size(g.opt.long, v))?,
        O::ShmSize => r.sizes.shm = g.parse(|v| limits::parse_size(g.opt.long, v))?,
        O::RootSize => later.root_size = Some(g.parse(|v| limits::parse_size(g.opt.long, v))?),
        // Supervision: the launcher's, never in the plan the child stage
        // gets (plan::Supervision), but for --init.
        O::Name => {
            r.name = Some(g.parse(|v| {
                crate::named::state::check_name(v)?;
                Ok(v.to_string())
            })?)
        }
        O::Detach => r.detach = true,
        O::Init => r.init = true,
        O::Timeout => {
            let t = g.parse(|v| limits::parse_duration(g.opt.long, v))?;
            // GNU timeout's reading: 0 means no timeout.
            r.timeout = Some(t).filter(|d| !d.is_zero());
        }
        O::KillAfter => r.kill_after = g.parse(|v| limits::parse_duration(g.opt.long, v))?,
        O::StatusFile => {
            r.status_file = Some(g.parse_os(|s| {
                if s.is_empty() {
                    return Err("--status-file wants a path".into());
                }
                Ok(s.to_os_string())
            })?)
        }
        O::StatusFd => r.status_fd = Some(g.parse(parse_status_fd)?),
        // Per-process resource limits and the cgroup's.
        O::Limit => r.limits.push(g.parse(limits::parse)?),
        O::NsLimit => r.ns_limits.push(g.parse(crate::confine::nslimits::parse)?),
        O::Memory => r.cgroup.memory = Some(g.parse(|v| limits::parse_size(g.opt.long, v))?),
        O::Pids => r.cgroup.pids = Some(g.parse(parse_pids)?),
        O::Cpus => r.cgroup.cpus_milli = Some(g.parse(limits::parse_cpus)?),
        // Hardening, and how much the launcher says.
        O::Seccomp => r.seccomp = g.parse(parse_on_off)?,
        O::SeccompProfile => {
            r.seccomp_profile = Some(g.parse_os(|s| {
                if s.is_empty() {
                    return Err("--seccomp-profile wants a file".into());
                }
                Ok(s.to_os_string())
            })?)
        }
        O::ReportDenials => r.report_denials = true,
        O::Landlock => r.landlock = g.parse(parse_landlock)?,
        O::AllowRead => r.allow_read.push(g.parse_os(parse_allow_path)?),
        O::AllowWrite => r.allow_write.push(g.parse_os(parse_allow_path)?),
        O::AllowExec => r.allow_exec.push(g.parse_os(parse_allow_path)?),
        O::Userns => r.userns = g.parse(parse_userns)?,
        O::Stdio => r.stdio = g.parse(parse_stdio)?,
        O::Verbose => r.verbose = true,
        // `split` answers these before any option is applied, and
        // `profile::resolve` replaces each --profile by what it sets.
        O::Help | O::Version | O::Profile => {}
    }
    Ok(())
}

/// What is settled only once every option is read: options that exclude
/// or depend on each other, whatever their order.
#[derive(Default)]
struct Later {
    net: Option<crate::confine::net::NetMode>,
    rw: bool,
    read_only: bool,
    root_size: Option<u64>,
}

impl Later {
    fn finish(self, r: &mut RunArgs) -> Result<()> {
        use crate::confine::net::NetMode;
        if let Some(m) = self.net {
            if r.share_net && m != NetMode::Host {
                return Err(usage(format!(
                    "--share-net and --net {} exclude each other",
                    m.name()
                )));
            }
            r.net.mode = m;
        } else if r.share_net {
            r.net.mode = NetMode::Host;
        }
        r.root = match (self.rw, self.read_only) {
            (true, true) => return Err(usage("--rw and --read-only exclude each other")),
            (true, false) => RootMode::ReadWrite,
            (false, true) => RootMode::ReadOnly,
            (false, false) => RootMode::Ephemeral,
        };
        if let Some(v) = self.root_size {
            if r.root != RootMode::Ephemeral {
                return Err(usage(
                    "--root-size caps the copy-on-write root; with --rw or --read-only there is none",
                ));
            }
            r.sizes.root = v;
        }
        Ok(())
    }
}

fn parse_net(v: &str) -> Parsed<crate::confine::net::NetMode> {
    use crate::confine::net::NetMode;
    match v {
        "none" => Ok(NetMode::None),
        "host" => Ok(NetMode::Host),
        "pasta" => Ok(NetMode::Pasta),
        _ => Err(format!("--net wants none, host or pasta, got {v:?}")),
    }
}

/// `DST[:SIZE]`, split at the last `:` (so DST cannot hold one).
fn parse_tmpfs(s: &OsStr) -> Result<(OsString, Option<u64>)> {
    let b = s.as_bytes();
    let (dst, size) = match b.iter().rposition(|&c| c == b':') {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    if dst.is_empty() {
        return Err(usage(format!("--tmpfs destination is empty in {s:?}")));
    }
    let size = match size {
        None => None,
        Some(v) => {
            let v = std::str::from_utf8(v)
                .map_err(|_| usage(format!("--tmpfs size in {s:?} is not a size")))?;
            Some(limits::parse_size("--tmpfs", v).map_err(usage)?)
        }
    };
    Ok((OsStr::from_bytes(dst).to_os_string(), size))
}

fn rootfs_and_command(
    r: &mut RunArgs,
    rootfs: Option<OsString>,
    command: Vec<OsString>,
) -> Result<()> {
    r.rootfs = match rootfs {
        Some(p) if !p.is_empty() => p,
        Some(_) => return Err(usage("ROOTFS is an empty string")),
        None => return Err(usage("missing ROOTFS (a directory to use as the root)")),
    };
    if !command.is_empty() {
        r.command = command;
    }
    if r.command[0].is_empty() {
        return Err(usage("COMMAND is an empty string"));
    }
    Ok(())
}

/// RFC 1123 host name: 1–64 bytes in all (the kernel's limit), in
/// dot-separated labels of at most 63 (the DNS limit) letters, digits and
/// `-`, none empty or starting or ending with `-`.
pub fn parse_hostname(s: &str) -> std::result::Result<String, String> {
    if s.is_empty() || s.len() > 64 {
        return Err(format!("hostname {s:?} must be 1 to 64 characters"));
    }
    for label in s.split('.') {
        let ok = !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(format!(
                "hostname {s:?} may hold only letters, digits, '-' and '.' (RFC 1123)"
            ));
        }
        if label.len() > 63 {
            return Err(format!(
                "hostname {s:?}: a label (the part between dots) may be at most 63 characters (RFC 1123), this one is {}",
                label.len()
            ));
        }
    }
    Ok(s.to_string())
}

fn parse_on_off(s: &str) -> std::result::Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("--seccomp wants on or off, got {s:?}")),
    }
}

/// A path rule's PATH: any path but the empty one (made absolute and
/// normalised by `Plan::from_args`).
fn parse_allow_path(s: &OsStr) -> std::result::Result<OsString, String> {
    if s.is_empty() {
        return Err("--allow-read, --allow-write and --allow-exec want a path".into());
    }
    Ok(s.to_os_string())
}

fn parse_landlock(s: &str) -> std::result::Result<LandlockMode, String> {
    match s {
        "auto" => Ok(LandlockMode::Auto),
        "require" => Ok(LandlockMode::Require),
        "off" => Ok(LandlockMode::Off),
        _ => Err(format!("--landlock wants auto, require or off, got {s:?}")),
    }
}

fn parse_userns(s: &str) -> std::result::Result<UsernsMode, String> {
    match s {
        "auto" => Ok(UsernsMode::Auto),
        "require" => Ok(UsernsMode::Require),
        "off" => Ok(UsernsMode::Off),
        _ => Err(format!("--userns wants auto, require or off, got {s:?}")),
    }
}

fn parse_id_map(s: &str) -> std::result::Result<IdMapMode, String> {
    match s {
        "single" => Ok(IdMapMode::Single),
        "subuid" => Ok(IdMapMode::Subuid),
        "auto" => Ok(IdMapMode::Auto),
        _ => Err(format!("--id-map wants single, subuid or auto, got {s:?}")),
    }
}

fn parse_stdio(s: &str) -> std::result::Result<StdioMode, String> {
    match s {
        "relay" => Ok(StdioMode::Relay),
        "inherit" => Ok(StdioMode::Inherit),
        _ => Err(format!("--stdio wants relay or inherit, got {s:?}")),
    }
}

fn parse_pids(s: &str) -> std::result::Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if (1..=4_194_304).contains(&n) => Ok(n),
        _ => Err(format!(
            "--pids wants a number of processes from 1 to 4194304, got {s:?}"
        )),
    }
}

/// Any open descriptor but stdin; checked to be open when the run starts.
fn parse_status_fd(s: &str) -> std::result::Result<i32, String> {
    match s.parse::<i32>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "--status-fd wants a file descriptor number, 1 or above, got {s:?}"
        )),
    }
}

fn parse_id(s: &str) -> std::result::Result<u32, String> {
    match s.parse::<u32>() {
        Ok(u32::MAX) | Err(_) => Err(format!("{s:?} is not a valid id (0 to 4294967294)")),
        Ok(n) => Ok(n),
    }
}

fn parse_chdir(s: &OsStr) -> std::result::Result<OsString, String> {
    if s.as_bytes().first() != Some(&b'/') {
        return Err(format!("--chdir wants an absolute path, got {s:?}"));
    }
    Ok(s.to_os_string())
}

fn parse_setenv(s: &OsStr) -> std::result::Result<(OsString, OsString), String> {
    let b = s.as_bytes();
    match b.iter().position(|&c| c == b'=') {
        Some(i) if i > 0 => Ok((
            OsStr::from_bytes(&b[..i]).to_os_string(),
            OsStr::from_bytes(&b[i + 1..]).to_os_string(),
        )),
        _ => Err(format!(
            "--setenv wants KEY=VALUE with a non-empty KEY, got {s:?}"
        )),
    }
}

type BindSpec = (OsString, Option<OsString>);

/// `SRC[:DST]`, split at the first `:` (so SRC cannot hold one).
fn parse_bind(s: &OsStr) -> std::result::Result<BindSpec, String> {
    let b = s.as_bytes();
    let (src, dst) = match b.iter().position(|&c| c == b':') {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    if src.is_empty() {
        return Err(format!("bind source is empty in {s:?}"));
    }
    let dst = match dst {
        None => None,
        Some(d) => {
            if d.first() != Some(&b'/') {
                return Err(format!(
                    "bind destination must be an absolute path, got {:?}",
                    OsStr::from_bytes(d)
                ));
            }
            Some(OsStr::from_bytes(d).to_os_string())
        }
    };
    Ok((OsStr::from_bytes(src).to_os_string(), dst))
}

#[cfg(test)]
#[path = "cli_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confine::limits::Limit;
    use crate::plan::{CgroupLimits, Sizes, DEFAULT_SIZES};
    use proptest::prelude::*;
    use std::time::Duration;

    fn args(s: &[&str]) -> Vec<OsString> {
        s.iter().map(OsString::from).collect()
    }

    fn run(s: &[&str]) -> Result<RunArgs> {
        let mut a = args(&["run"]);
        a.extend(args(s));
        match parse(a)? {
            Cmd::Run(r, _) => Ok(*r),
            other => panic!("not a run: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let r = run(&["./rootfs"]).unwrap();
        assert_eq!(r, RunArgs::new("./rootfs"));
        assert_eq!(r.command, args(&["/bin/sh"]));
    }

    #[test]
    fn command_arguments_belong_to_the_command() {
        let r = run(&["./rootfs", "ls", "-la", "/", "--hostname", "x"]).unwrap();
        assert_eq!(r.command, args(&["ls", "-la", "/", "--hostname", "x"]));
        assert_eq!(r.hostname, "sandbox");
    }

    #[test]
    fn double_dash_allows_a_dashed_command() {
        let r = run(&["./rootfs", "--", "--weird-name", "-x"]).unwrap();
        assert_eq!(r.command, args(&["--weird-name", "-x"]));
        let r = run(&["--", "-rootfs-", "cmd"]).unwrap();
        assert_eq!(r.rootfs, "-rootfs-");
        assert_eq!(r.command, args(&["cmd"]));
    }

    #[test]
    fn options_before_and_after_rootfs() {
        let r = run(&["--hostname", "a", "./r", "--uid=5", "--share-net", "id"]).unwrap();
        assert_eq!((r.hostname.as_str(), r.uid, r.share_net), ("a", 5, true));
        assert_eq!(r.command, args(&["id"]));
    }

    #[test]
    fn binds_keep_their_order() {
        let r = run(&["--bind", "/a", "--ro-bind=/b:/c", "--bind", "/d:/e", "r"]).unwrap();
        let got: Vec<_> = r
            .binds
            .iter()
            .map(|b| (b.src.clone(), b.dst.clone(), b.read_only))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/a".into(), None, false),
                ("/b".into(), Some("/c".into()), true),
                ("/d".into(), Some("/e".into()), false),
            ]
        );
    }

    #[test]
    fn run_options_after_the_command_get_one_notice() {
        let notices = |s: &[&str]| {
            let mut a = args(&["run"]);
            a.extend(args(s));
            match parse(a).unwrap() {
                Cmd::Run(r, n) => (r.command, n),
                other => panic!("not a run: {other:?}"),
            }
        };
        let (cmd, n) = notices(&[
            "./r",
            "/bin/sh",
            "job.sh",
            "--timeout",
            "5",
            "--ro-bind=/a:/b",
            "--timeout=1",
        ]);
        // The command still gets them.
        assert_eq!(
            cmd,
            args(&[
                "/bin/sh",
                "job.sh",
                "--timeout",
                "5",
                "--ro-bind=/a:/b",
                "--timeout=1"
            ])
        );
        assert_eq!(n.len(), 1, "{n:?}");
        assert!(
            n[0].starts_with(
                "notice: --timeout, --ro-bind after COMMAND (/bin/sh) are passed to the command"
            ),
            "{}",
            n[0]
        );
        let (_, n) = notices(&["./r", "sh", "x", "--init"]);
        assert!(
            n[0].starts_with("notice: --init after COMMAND (sh) is passed"),
            "{n:?}"
        );
        // Options many programs take, short ones, and unknown ones: none.
        for quiet in [
            &["./r", "ls", "-la", "-v", "-p", "-d"][..],
            &[
                "./r",
                "prog",
                "--verbose",
                "--help",
                "--version",
                "--frobnicate",
            ],
            // `--` says the rest is the command's.
            &["./r", "--", "prog", "--timeout", "5"],
            &["--", "./r", "prog", "--timeout", "5"],
            // Before COMMAND it is run's own (control).
            &["--timeout", "5", "./r", "prog"],
        ] {
            assert_eq!(notices(quiet).1, Vec::<String>::new(), "{quiet:?}");
        }
    }

    #[test]
    fn setenv_keeps_equals_in_value() {
        let r = run(&["--setenv", "A=b=c", "--setenv=E=", "r"]).unwrap();
        assert_eq!(
            r.setenv,
            vec![("A".into(), "b=c".into()), ("E".into(), "".into())]
        );
    }

    #[test]
    fn bad_input_is_a_usage_error() {
        for bad in [
            &["--frob", "r"][..],
            &["r", "--frob"],
            &[],
            &["--hostname"],
            &["--hostname", "", "r"],
            &["--hostname", "-bad", "r"],
            &["--hostname", "a_b", "r"],
            &["--hostname", &"a".repeat(65), "r"],
            &["--chdir", "rel", "r"],
            &["--setenv", "NOEQ", "r"],
            &["--setenv", "=v", "r"],
            &["--uid", "-1", "r"],
            &["--uid", "4294967295", "r"],
            &["--gid", "x", "r"],
            &["--bind", ":/x", "r"],
            &["--bind", "/a:rel", "r"],
            &["--rw", "--read-only", "r"],
            &["--hostname", "a", "--hostname", "b", "r"],
            &["--share-net=1", "r"],
            &["", "sh"],
            &["r", ""],
            &["--timeout", "-1", "r"],
            &["--timeout", "1x", "r"],
            &["--kill-after", "", "r"],
            &["--memory", "0", "r"],
            &["--memory", "lots", "r"],
            &["--pids", "0", "r"],
            &["--cpus", "0", "r"],
            &["--status-fd", "0", "r"],
            &["--status-file", "", "r"],
            &["--tmp-size", "0", "r"],
            &["--rw", "--root-size", "1M", "r"],
            &["--init=1", "r"],
        ] {
            let e = run(bad).unwrap_err();
            assert_eq!(e.exit, 125, "{bad:?}");
            assert!(e.to_string().starts_with("sandbox: usage: "), "{e}");
        }
    }

    #[test]
    fn top_level() {
        assert_eq!(parse(args(&["--version"])).unwrap(), Cmd::Version);
        assert!(matches!(parse(args(&["--help"])).unwrap(), Cmd::Help(_)));
        assert!(matches!(
            parse(args(&["run", "--help"])).unwrap(),
            Cmd::Help(_)
        ));
        assert_eq!(parse(args(&["doctor"])).unwrap(), Cmd::Doctor);
        assert_eq!(parse(args(&["child"])).unwrap(), Cmd::Child);
        assert!(parse(args(&["frob"])).is_err());
        // A value that looks like a top-level flag is the option's value
        // (found by the round-trip proptest).
        for v in ["-V", "--version", "-h", "--help"] {
            assert!(
                matches!(
                    parse(args(&["run", "--bind", v, "r", "sh"])).unwrap(),
                    Cmd::Run(..)
                ),
                "--bind {v}"
            );
        }
        assert!(parse(args(&["--frob"])).is_err());
        // A --version for the command is the command's.
        assert!(matches!(
            parse(args(&["run", "r", "prog", "--version"])).unwrap(),
            Cmd::Run(..)
        ));
        assert!(parse(args(&[])).is_err());
    }

    #[test]
    fn hostnames() {
        for ok in ["sandbox", "a", "a-b.c9", &"a".repeat(63)] {
            assert!(parse_hostname(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a..b", ".a", "a.", "a b", "é", "-a", "a-"] {
            assert!(parse_hostname(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hostname_lengths() {
        // 64 bytes in all is the kernel's limit; a label is at most 63.
        let two_labels = format!("{}.{}", "a".repeat(31), "b".repeat(32));
        assert_eq!(two_labels.len(), 64);
        assert!(parse_hostname(&two_labels).is_ok());
        let e = parse_hostname(&"a".repeat(64)).unwrap_err();
        assert!(e.contains("at most 63 characters"), "{e}");
        let e = parse_hostname(&format!("{}.b", "a".repeat(64))).unwrap_err();
        assert!(e.contains("must be 1 to 64 characters"), "{e}");
        let e = parse_hostname(&"a".repeat(65)).unwrap_err();
        assert!(e.contains("must be 1 to 64 characters"), "{e}");
        // A bad character is reported as such, also in a long label.
        let e = parse_hostname(&format!("{}_", "a".repeat(63))).unwrap_err();
        assert!(e.contains("only letters, digits"), "{e}");
    }

    #[test]
    fn help_lists_every_option() {
        let help = run_help();
        for o in RUN_OPTIONS {
            assert!(
                help.contains(&format!("  {}", o.spec())),
                "{} missing",
                o.long
            );
            assert!(!o.help.is_empty(), "{} has no help", o.long);
        }
        for g in Group::ALL {
            assert!(help.contains(&format!("\n{}", g.heading())), "{g:?}");
        }
        for l in help.lines() {
            assert!(l.chars().count() <= HELP_WIDTH, "too long: {l}");
        }
        // The --limit help names every resource confine/limits.rs knows.
        let limit = find("--limit").unwrap().help;
        for res in limits::RESOURCES {
            assert!(
                limit.contains(&format!(" {},", res.name))
                    || limit.contains(&format!(" {};", res.name)),
                "{}",
                res.name
            );
        }
        assert!(matches!(
            parse(args(&["run", "--help"])).unwrap(),
            Cmd::Help(h) if h == help
        ));
    }

    #[test]
    fn the_table_is_consistent() {
        for (i, o) in RUN_OPTIONS.iter().enumerate() {
            assert!(o.long.starts_with("--") && o.long.len() > 3, "{}", o.long);
            for p in &RUN_OPTIONS[..i] {
                assert_ne!(p.long, o.long);
                assert!(o.short.is_none() || p.short != o.short, "{}", o.long);
            }
            assert_eq!(find(o.long), Some(o));
            if let Some(c) = o.short {
                assert_eq!(find(&format!("-{c}")), Some(o));
            }
        }
    }

    /// Each subcommand's parser reads the table `SUBCOMMANDS` shows for it
    /// (`--help`'s synopsis, the man page, the completions), and a
    /// subcommand with options has a `sub_options!` block.
    #[test]
    fn subcommands_list_the_tables_their_parsers_read() {
        for s in SUBCOMMANDS {
            let table = SUB_TABLES.iter().find(|(n, _)| *n == s.name);
            match table {
                Some((_, t)) => assert!(std::ptr::eq(*t, s.options), "{}", s.name),
                None => assert!(s.options.is_empty(), "{}: no sub_options! block", s.name),
            }
        }
        for (name, table) in SUB_TABLES {
            assert!(SUBCOMMANDS.iter().any(|s| s.name == *name), "{name}");
            for (i, o) in table.iter().enumerate() {
                assert_eq!(opt_index(table, o.long), Some(i), "{name} {}", o.long);
                if let Some(c) = o.short {
                    assert_eq!(opt_index(table, &format!("-{c}")), Some(i), "{name} -{c}");
                }
            }
        }
        assert_eq!(StopOpt::find("-t"), Some(StopOpt::Time));
        assert_eq!(ExecOpt::find("--gid"), Some(ExecOpt::Gid));
        assert_eq!(ImagesOpt::find("--prune"), Some(ImagesOpt::Prune));
        assert_eq!(LogsOpt::find("--follo"), None);
    }

    /// `split` accepts exactly the names in the table: every one of them,
    /// and nothing near them.
    #[test]
    fn split_accepts_exactly_the_table() {
        let mut names: Vec<String> = Vec::new();
        for o in RUN_OPTIONS {
            names.push(o.long.to_string());
            names.extend(o.short.map(|c| format!("-{c}")));
            // Near misses: a letter less, a letter more, one dash.
            names.push(o.long[..o.long.len() - 1].to_string());
            names.push(format!("{}s", o.long));
            names.push(o.long[1..].to_string());
        }
        names.extend(["-x", "--x", "--", "-", "--nam", "-hv", "-vv"].map(String::from));
        for name in names {
            let mut argv = vec![OsString::from(&name)];
            let known = find(&name);
            if known.is_some_and(|o| o.takes_value()) {
                argv.push("v".into());
            }
            argv.push("r".into());
            let s = split(argv);
            match known {
                Some(o) => {
                    let s = s.unwrap_or_else(|e| panic!("{name}: {e}"));
                    let seen = s.opts.iter().any(|g| g.opt == o) || s.help || s.version;
                    assert!(seen, "{name}");
                }
                // `--` and `-` are no options: split takes them as the end
                // of the options and as ROOTFS.
                None if name == "--" || name == "-" => assert!(s.is_ok()),
                None => assert!(s.is_err(), "{name} accepted"),
            }
        }
    }

    /// Every option in the table changes what `parse_run` returns when
    /// given alone: `apply` reads it (this needs a sample value for each,
    /// by a match with no `_` arm, so a new option needs one to build).
    #[test]
    fn every_option_is_read() {
        use RunOpt as O;
        let sample = |id: RunOpt| match id {
            O::Hostname | O::Name => Some("h"),
            O::Chdir | O::StatusFile | O::SeccompProfile => Some("/x"),
            O::Setenv => Some("A=b"),
            O::Uid | O::Gid | O::Pids | O::Cpus | O::Timeout | O::KillAfter => Some("7"),
            O::StatusFd => Some("3"),
            O::Bind | O::RoBind | O::BindTry | O::RoBindTry => Some("/a:/b"),
            // A profile (held in memory below) that sets --verbose.
            O::Profile => Some("v"),
            O::Tmpfs => Some("/x:1M"),
            O::Seccomp | O::Landlock | O::Userns => Some("off"),
            O::AllowRead | O::AllowWrite | O::AllowExec => Some("/x"),
            O::Stdio => Some("inherit"),
            O::IdMap => Some("subuid"),
            O::Limit => Some("nofile=5"),
            O::NsLimit => Some("kernel.msgmni=5"),
            O::Memory | O::TmpSize | O::ShmSize | O::RootSize => Some("1M"),
            O::Net => Some("pasta"),
            O::Publish => Some("8080:80"),
            O::AllowNet => Some("192.0.2.0/24:443"),
            O::AllowHost => Some("*.example.com"),
            O::ShareNet
            | O::HostLoopback
            | O::Dns
            | O::BindSymlinks
            | O::ReadOnly
            | O::Rw
            | O::Sys
            | O::Detach
            | O::Init
            | O::ReportDenials
            | O::Verbose
            | O::Help
            | O::Version => None,
        };
        for (i, o) in RUN_OPTIONS.iter().enumerate() {
            assert_eq!(
                o.id as usize, i,
                "{}: RUN_OPTIONS is in RunOpt's order",
                o.long
            );
            assert_eq!(o.id.option(), o);
            let mut argv = args(&["run", o.long]);
            assert_eq!(o.takes_value(), sample(o.id).is_some(), "{}", o.long);
            argv.extend(sample(o.id).map(OsString::from));
            argv.push("r".into());
            let profiles = profile::Memory::new(&[("/p/v.toml", "verbose = true\n")]);
            match parse_with(argv, &profiles) {
                Ok(Cmd::Run(r, _)) => assert_ne!(*r, RunArgs::new("r"), "{} ignored", o.long),
                Ok(Cmd::Help(_) | Cmd::Version) => {
                    assert!(matches!(o.id, O::Help | O::Version))
                }
                other => panic!("{}: {other:?}", o.long),
            }
        }
    }

    #[test]
    fn repeats() {
        for o in RUN_OPTIONS
            .iter()
            .filter(|o| !matches!(o.id, RunOpt::Help | RunOpt::Version))
        {
            let mut one = vec![OsString::from(o.long)];
            if o.takes_value() {
                one.push("/a".into());
            }
            let mut argv = args(&["run"]);
            argv.extend(one.iter().cloned());
            argv.extend(one);
            argv.push("r".into());
            match parse(argv) {
                Err(e) if !o.repeatable => {
                    assert!(
                        e.to_string().contains("given more than once"),
                        "{}: {e}",
                        o.long
                    )
                }
                Err(e) => assert!(!e.to_string().contains("more than once"), "{}: {e}", o.long),
                Ok(_) => assert!(o.repeatable, "{} twice accepted", o.long),
            }
        }
        let e = run(&["-v", "--verbose", "r"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("option --verbose given more than once"),
            "{e}"
        );
    }

    #[test]
    fn an_option_value_that_looks_like_an_option_is_a_value() {
        let r = run(&["--bind", "--sys", "--hostname", "--rw", "r"]);
        assert!(r.is_err(), "--rw is no hostname");
        let r = run(&["--bind", "--sys", "--setenv", "--rw=1", "r"]).unwrap();
        assert!(!r.sys);
        assert_eq!(r.binds[0].src, "--sys");
        assert_eq!(r.root, RootMode::Ephemeral);
        assert_eq!(r.setenv, vec![("--rw".into(), "1".into())]);
    }

    #[test]
    fn unknown_options_suggest_a_near_one() {
        let hint = |a: &[&str]| run(a).unwrap_err().hint.unwrap_or_default();
        let e = run(&["--timout", "5", "r"]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("sandbox: usage: unknown option --timout"),
            "{e}"
        );
        assert_eq!(e.hint.as_deref(), Some("did you mean --timeout?"));
        assert_eq!(hint(&["r", "--timout=5"]), "did you mean --timeout?");
        assert_eq!(hint(&["--ro-bnd", "/a", "r"]), "did you mean --ro-bind?");
        assert_eq!(hint(&["-verbose", "r"]), "did you mean --verbose?");
        // A unique prefix.
        assert_eq!(hint(&["--hostn", "x", "r"]), "did you mean --hostname?");
        assert_eq!(
            hint(&["--status-fi", "x", "r"]),
            "did you mean --status-file?"
        );
        // Two at the same distance.
        assert_eq!(hint(&["--xid", "1", "r"]), "did you mean --uid or --gid?");
        // Nothing near: the usual hint.
        for far in [
            &["--frob", "r"][..],
            &["--s", "r"],
            &["-x", "r"],
            &["--quux", "x", "r"],
        ] {
            assert_eq!(
                hint(far),
                "run 'sandbox run --help' for the options",
                "{far:?}"
            );
        }
    }

    #[test]
    fn options_before_the_command() {
        let e = parse(args(&["--rw", "run", "./rootfs"])).unwrap_err();
        assert_eq!(
            e.to_string().lines().next().unwrap(),
            "sandbox: usage: option --rw comes after the command: sandbox run --rw …"
        );
        let e = parse(args(&["--hostname=x", "run", "r"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("option --hostname comes after the command"),
            "{e}"
        );
        let e = parse(args(&["-v", "run", "r"])).unwrap_err();
        assert!(
            e.to_string().contains("option -v comes after the command"),
            "{e}"
        );
        let e = parse(args(&["--nosuch", "x", "run", "r"])).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown option --nosuch; options come after the command"),
            "{e}"
        );
        let e = parse(args(&["--timout", "run", "r"])).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean --timeout?"));
        assert_eq!(e.exit, 125);
    }

    fn word() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_./-]{1,12}"
    }

    fn abs_path() -> impl Strategy<Value = String> {
        "(/[a-zA-Z0-9_.-]{1,8}){1,3}"
    }

    prop_compose! {
        fn run_args()(
            rootfs in "[a-zA-Z0-9_./][a-zA-Z0-9_./-]{0,12}",
            command in proptest::collection::vec(any::<String>(), 1..4),
            hostname in "[a-z][a-z0-9-]{0,10}[a-z0-9]",
            chdir in abs_path(),
            setenv in proptest::collection::vec(("[A-Z_][A-Z0-9_]{0,6}", any::<String>()), 0..3),
            uid in 0u32..u32::MAX,
            gid in 0u32..u32::MAX,
            share_net in any::<bool>(),
            root in prop_oneof![Just(RootMode::Ephemeral), Just(RootMode::ReadOnly), Just(RootMode::ReadWrite)],
            binds in proptest::collection::vec((word(), proptest::option::of(abs_path()), any::<bool>(), any::<bool>()), 0..4),
            (seccomp, sys, verbose, bind_symlinks) in any::<(bool, bool, bool, bool)>(),
            landlock in prop_oneof![Just(LandlockMode::Auto), Just(LandlockMode::Require), Just(LandlockMode::Off)],
            limits in proptest::collection::vec((0..limits::RESOURCES.len() as u8, any::<u64>()), 0..3),
            init in any::<bool>(),
            ns_limits in proptest::collection::vec(
                (proptest::sample::select(crate::confine::nslimits::NS_LIMITS.iter().map(|l| l.name).collect::<Vec<_>>()), 1u64..1 << 40),
                0..3,
            ),
            timeout in proptest::option::of((1u64..1_000_000, 0u32..1_000_000_000)),
            kill_after in (0u64..1000, 0u32..1_000_000_000),
            cgroup in (proptest::option::of(1u64..u64::MAX), proptest::option::of(1u64..4_194_304), proptest::option::of(10u32..100_000)),
            status_file in proptest::option::of(abs_path()),
            status_fd in proptest::option::of(1i32..1000),
            sizes in (1u64..u64::MAX, 1u64..u64::MAX, 1u64..u64::MAX),
            tmpfs in proptest::collection::vec((abs_path(), proptest::option::of(1u64..u64::MAX), 0usize..5), 0..3),
            inherit in any::<bool>(),
            name in proptest::option::of("[a-zA-Z0-9_-][a-zA-Z0-9_.-]{0,20}"),
            detach in any::<bool>(),
            id_map in prop_oneof![Just(IdMapMode::Auto), Just(IdMapMode::Single), Just(IdMapMode::Subuid)],
            (seccomp_profile, report_denials) in (proptest::option::of(abs_path()), any::<bool>()),
            allow in proptest::collection::vec(proptest::collection::vec(word(), 0..3), 3),
            userns in prop_oneof![Just(UsernsMode::Auto), Just(UsernsMode::Require), Just(UsernsMode::Off)],
        ) -> RunArgs {
            let nbinds = binds.len();
            let mut tmpfs: Vec<TmpfsArg> = tmpfs.into_iter().map(|(d, size, after)| TmpfsArg {
                dst: d.into(), size, after_binds: after.min(nbinds),
            }).collect();
            tmpfs.sort_by_key(|t| t.after_binds);
            let mut command: Vec<OsString> = command.into_iter().map(Into::into).collect();
            if command[0].is_empty() { command[0] = "sh".into(); }
            RunArgs {
                rootfs: rootfs.into(),
                command,
                hostname,
                chdir: chdir.into(),
                setenv: setenv.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
                uid, gid, share_net, root,
                net: crate::confine::net::NetArgs {
                    mode: if share_net { crate::confine::net::NetMode::Host } else { crate::confine::net::NetMode::None },
                    ..Default::default()
                },
                binds: binds.into_iter().map(|(s, d, ro, optional)| BindArg {
                    src: s.into(), dst: d.map(Into::into), read_only: ro, optional,
                }).collect(),
                bind_symlinks,
                seccomp, landlock, sys, verbose,
                allow_read: allow[0].iter().map(Into::into).collect(),
                allow_write: allow[1].iter().map(Into::into).collect(),
                allow_exec: allow[2].iter().map(Into::into).collect(),
                limits: limits.into_iter().map(|(index, value)| Limit { index, value }).collect(),
                ns_limits: ns_limits.into_iter().map(|(n, v)| (n.to_string(), v)).collect(),
                ns_limit_defaults: true,
                init,
                timeout: timeout.map(|(s, n)| Duration::new(s, n)),
                kill_after: Duration::new(kill_after.0, kill_after.1),
                cgroup: CgroupLimits { memory: cgroup.0, pids: cgroup.1, cpus_milli: cgroup.2 },
                status_file: status_file.map(Into::into),
                status_fd,
                sizes: Sizes {
                    tmp: sizes.0,
                    shm: sizes.1,
                    root: if root == RootMode::Ephemeral { sizes.2 } else { DEFAULT_SIZES.root },
                },
                tmpfs,
                stdio: if inherit { StdioMode::Inherit } else { StdioMode::Relay },
                name, detach,
                id_map, userns,
                seccomp_profile: seccomp_profile.map(Into::into),
                report_denials,
                built: None,
                namespace_ids: false,
                given: Default::default(),
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_argv_never_panics(argv in proptest::collection::vec(
            prop_oneof![
                any::<String>(),
                proptest::sample::select(RUN_OPTIONS.iter().map(|o| o.long.to_string()).collect::<Vec<_>>()),
                Just("--".to_string()),
                Just("run".to_string()),
            ], 0..8)) {
            let _ = parse(argv.into_iter().map(Into::into).collect());
        }

        #[test]
        fn what_parses_round_trips(r in run_args()) {
            let mut argv: Vec<OsString> = vec!["run".into()];
            argv.extend(r.to_args());
            prop_assert_eq!(parse(argv).unwrap(), Cmd::Run(Box::new(r), Vec::new()));
        }
    }
}
