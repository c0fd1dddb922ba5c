//! Command line → `Cmd`. Pure: no system calls (a proptest target).
//!
//! `sandbox run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]`
//!
//! pico-args looks for an option anywhere in its input, but everything after
//! COMMAND belongs to the command (`ls -la` must keep its `-la`). So a short
//! scan first splits argv into option tokens, ROOTFS and the command; only
//! the option tokens go to pico-args for typed parsing. The scan also keeps
//! the order of `--bind`/`--ro-bind`, which matters (a later bind covers an
//! earlier one) and which pico-args, keyed by name, does not keep.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::error::{Error, Result};
use crate::limits;
use crate::plan::{BindArg, LandlockMode, RootMode, RunArgs};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmd {
    Run(Box<RunArgs>),
    /// The engine's second stage, re-exec'd by the launcher.
    Child,
    Doctor,
    Help(&'static str),
    Version,
}

/// The canonical argv (after `sandbox run`) that parses back to a
/// `RunArgs` (the round-trip property test).
#[cfg(test)]
pub(crate) trait ToArgs {
    fn to_args(&self) -> Vec<OsString>;
}

#[cfg(test)]
impl ToArgs for RunArgs {
    fn to_args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let d = RunArgs::new("");
        if self.hostname != d.hostname {
            a.extend(["--hostname".into(), self.hostname.clone().into()]);
        }
        if self.chdir != d.chdir {
            a.extend(["--chdir".into(), self.chdir.clone()]);
        }
        for (k, v) in &self.setenv {
            let mut kv = k.clone();
            kv.push("=");
            kv.push(v);
            a.extend(["--setenv".into(), kv]);
        }
        if self.uid != 0 {
            a.extend(["--uid".into(), self.uid.to_string().into()]);
        }
        if self.gid != 0 {
            a.extend(["--gid".into(), self.gid.to_string().into()]);
        }
        if self.share_net {
            a.push("--share-net".into());
        }
        match self.root {
            RootMode::Ephemeral => {}
            RootMode::ReadOnly => a.push("--read-only".into()),
            RootMode::ReadWrite => a.push("--rw".into()),
        }
        for b in &self.binds {
            let mut spec = b.src.clone();
            if let Some(dst) = &b.dst {
                spec.push(":");
                spec.push(dst);
            }
            let opt = if b.read_only { "--ro-bind" } else { "--bind" };
            a.extend([opt.into(), spec]);
        }
        if !self.seccomp {
            a.extend(["--seccomp".into(), "off".into()]);
        }
        match self.landlock {
            LandlockMode::Auto => {}
            LandlockMode::Require => a.extend(["--landlock".into(), "require".into()]),
            LandlockMode::Off => a.extend(["--landlock".into(), "off".into()]),
        }
        if self.sys {
            a.push("--sys".into());
        }
        if self.verbose {
            a.push("--verbose".into());
        }
        for l in &self.limits {
            let spec = format!("{}={}", l.resource().name, limits::show(l.value));
            a.extend(["--limit".into(), spec.into()]);
        }
        if self.init {
            a.push("--init".into());
        }
        if let Some(t) = self.timeout {
            a.extend(["--timeout".into(), limits::show_duration(t).into()]);
        }
        if self.kill_after != d.kill_after {
            a.extend([
                "--kill-after".into(),
                limits::show_duration(self.kill_after).into(),
            ]);
        }
        if let Some(m) = self.cgroup.memory {
            a.extend(["--memory".into(), limits::show(m).into()]);
        }
        if let Some(p) = self.cgroup.pids {
            a.extend(["--pids".into(), p.to_string().into()]);
        }
        if let Some(c) = self.cgroup.cpus_milli {
            a.extend(["--cpus".into(), limits::show_cpus(c).into()]);
        }
        if let Some(f) = &self.status_file {
            a.extend(["--status-file".into(), f.clone()]);
        }
        if let Some(n) = self.status_fd {
            a.extend(["--status-fd".into(), n.to_string().into()]);
        }
        for (opt, v, dv) in [
            ("--tmp-size", self.sizes.tmp, d.sizes.tmp),
            ("--shm-size", self.sizes.shm, d.sizes.shm),
            ("--root-size", self.sizes.root, d.sizes.root),
        ] {
            if v != dv {
                a.extend([opt.into(), limits::show(v).into()]);
            }
        }
        a.push("--".into());
        a.push(self.rootfs.clone());
        a.extend(self.command.iter().cloned());
        a
    }
}

const VALUE_OPTS: &[&str] = &[
    "--hostname",
    "--chdir",
    "--setenv",
    "--uid",
    "--gid",
    "--bind",
    "--ro-bind",
    "--seccomp",
    "--landlock",
    "--limit",
    "--timeout",
    "--kill-after",
    "--memory",
    "--pids",
    "--cpus",
    "--status-file",
    "--status-fd",
    "--tmp-size",
    "--shm-size",
    "--root-size",
];
const FLAG_OPTS: &[&str] = &[
    "--share-net",
    "--rw",
    "--read-only",
    "--sys",
    "--init",
    "-v",
    "--verbose",
    "-h",
    "--help",
    "-V",
    "--version",
];

pub const USAGE: &str = "\
usage: sandbox run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]
       sandbox doctor
       sandbox --help | --version";

pub const RUN_HELP: &str = "\
usage: sandbox run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]

Run COMMAND (default /bin/sh) as root and PID 1 inside new user, PID, mount,
UTS, IPC, network and cgroup namespaces, with ROOTFS as its root. No host
path is visible unless bound in. By default the root is copy-on-write:
the command may write anywhere, and its writes vanish when it exits.

Everything after COMMAND is passed to it unparsed; use `--` before a
COMMAND that starts with `-`.

Options:
  --hostname NAME     hostname inside (default: sandbox)
  --chdir DIR         working directory inside (default: /)
  --setenv KEY=VALUE  set a variable in the command's environment (repeatable);
                      the environment starts empty but for PATH, HOME and TERM
  --uid N, --gid N    identity inside (default: 0, root in the sandbox)
  --share-net         keep the host's network (default: a new network
                      namespace with only `lo`, up)
  --bind SRC[:DST]    bind host path SRC at DST (default: the same path),
                      writable; repeatable, later binds cover earlier ones
  --ro-bind SRC[:DST] the same, read-only
  --read-only         no writable root; only /tmp and --bind targets are
  --rw                write through to ROOTFS on disk
  --sys               mount a read-only /sys (default: no /sys)
  --tmp-size SIZE     cap /tmp at SIZE (default: 256M)
  --shm-size SIZE     cap /dev/shm at SIZE (default: 64M)
  --root-size SIZE    cap what the command writes to the copy-on-write
                      root (default: 256M)

Supervision:
  --init              keep a minimal init as PID 1 that reaps orphans and
                      forwards signals; the command runs as PID 2
  --timeout SECS      after SECS (fractions and s, m, h, d allowed) send
                      SIGTERM, then SIGKILL to the whole sandbox; exit 124
  --kill-after SECS   grace between SIGTERM and SIGKILL, for --timeout and
                      when sandbox itself is asked to stop (default: 5)
  --status-file PATH  write one JSON object there when the sandbox ends:
                      exit code or signal, timed_out, limits hit, times,
                      peak memory
  --status-fd N       the same, to the open file descriptor N

Limits:
  --limit NAME=VALUE  set a resource limit (soft and hard) for the command,
                      names as prlimit(1): as, core, cpu, data, fsize, locks,
                      memlock, msgqueue, nice, nofile, nproc, rss, rtprio,
                      rttime, sigpending, stack; VALUE takes K, M, G (x1024)
                      or 'unlimited'; repeatable. Core dumps are off (core=0)
                      unless --limit core=... is given
  --memory SIZE       cgroup v2: memory use (K, M, G) of the whole sandbox;
  --pids N            cgroup v2: how many processes and threads it may hold;
  --cpus N            cgroup v2: CPU time, in CPUs (0.5 = half of one CPU).
                      These need a delegated cgroup (see docs/SUPERVISION.md);
                      without one the run fails (125), never runs unlimited

Hardening (docs/SECURITY.md says what each one stops):
  --seccomp on|off    the default seccomp filter (default: on); off says so
                      on stderr at every run
  --landlock auto|require|off
                      Landlock filesystem and scope rules: auto uses what the
                      kernel has, require fails (125) without it (default: auto)

Other:
  -v, --verbose       report on stderr what the sandbox set up
  -h, --help          this help
  -V, --version       the version

Exit status: the command's own; 128+N if it was killed by signal N;
125 if the sandbox failed; 126 if COMMAND cannot be executed;
127 if COMMAND is not found in ROOTFS.";

pub const TOP_HELP: &str = "\
sandbox: run untrusted commands in a rootless Linux sandbox

usage: sandbox run [OPTIONS] ROOTFS [--] [COMMAND [ARG...]]
       sandbox doctor      check what this kernel and user allow
       sandbox --help | --version

`sandbox run --help` lists the options.";

fn usage(msg: impl Into<String>) -> Error {
    Error::msg("usage", msg).with_hint("run 'sandbox run --help' for the options")
}

/// Parse the whole argv (argv[0] excluded).
pub fn parse(args: Vec<OsString>) -> Result<Cmd> {
    // Top-level flags only in first place: `contains` would also find a
    // `--version` meant for the command.
    match args.first().and_then(|a| a.to_str()) {
        Some("-h") | Some("--help") => return Ok(Cmd::Help(TOP_HELP)),
        Some("-V") | Some("--version") => return Ok(Cmd::Version),
        _ => {}
    }
    let mut pa = pico_args::Arguments::from_vec(args);
    let sub = pa.subcommand().map_err(|e| usage(e.to_string()))?;
    match sub.as_deref() {
        Some("run") => parse_run(pa.finish()),
        // The engine's second stage (`/proc/self/exe child`, re-exec'd by
        // the launcher): its input is the plan on fd 4, never argv. Run by
        // hand, the stage itself refuses.
        Some("child") => Ok(Cmd::Child),
        Some("doctor") => {
            let rest = pa.finish();
            if rest.iter().any(|a| a == "-h" || a == "--help") {
                return Ok(Cmd::Help("usage: sandbox doctor\n\nChecks, one line each, what `sandbox run` needs from this kernel and user.\nExits 0 when `sandbox run` can work here."));
            }
            if let Some(a) = rest.first() {
                return Err(usage(format!("doctor takes no arguments, got {a:?}")));
            }
            Ok(Cmd::Doctor)
        }
        Some("help") => Ok(Cmd::Help(TOP_HELP)),
        Some(other) => Err(usage(format!("unknown command {other:?}"))
            .with_hint("commands are: run, doctor; see 'sandbox --help'")),
        None => Err(usage("no command given").with_hint(USAGE)),
    }
}

/// Where the option tokens end, in the order given.
struct Split {
    opts: Vec<OsString>,
    /// -h/--help or -V/--version given as an option of their own (not as
    /// another option's value, such as `--bind -V`).
    help: bool,
    version: bool,
    bind_order: Vec<bool>,
    rootfs: Option<OsString>,
    command: Vec<OsString>,
}

fn split(args: Vec<OsString>) -> Result<Split> {
    let mut s = Split {
        opts: Vec::new(),
        help: false,
        version: false,
        bind_order: Vec::new(),
        rootfs: None,
        command: Vec::new(),
    };
    let mut it = args.into_iter();
    while let Some(tok) = it.next() {
        let bytes = tok.as_bytes();
        if bytes == b"--" {
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
        let eq = bytes.iter().position(|&b| b == b'=');
        let has_eq = eq.is_some();
        let name = String::from_utf8_lossy(&bytes[..eq.unwrap_or(bytes.len())]).into_owned();
        if VALUE_OPTS.contains(&name.as_str()) {
            if name.ends_with("bind") {
                s.bind_order.push(name == "--ro-bind");
            }
            // Always hand pico-args `--key value`: its OsStr parsers do not
            // split `--key=value`.
            if has_eq {
                s.opts.push(name.clone().into());
                s.opts
                    .push(OsStr::from_bytes(&bytes[name.len() + 1..]).to_os_string());
            } else {
                s.opts.push(tok);
                match it.next() {
                    Some(v) => s.opts.push(v),
                    None => return Err(usage(format!("option {name} needs a value"))),
                }
            }
        } else if FLAG_OPTS.contains(&name.as_str()) && !has_eq {
            match name.as_str() {
                "-h" | "--help" => s.help = true,
                "-V" | "--version" => s.version = true,
                _ => s.opts.push(tok),
            }
        } else if FLAG_OPTS.contains(&name.as_str()) {
            return Err(usage(format!("option {name} takes no value")));
        } else {
            return Err(usage(format!("unknown option {}", tok.to_string_lossy())));
        }
    }
    Ok(s)
}

fn parse_run(args: Vec<OsString>) -> Result<Cmd> {
    let s = split(args)?;
    if s.help {
        return Ok(Cmd::Help(RUN_HELP));
    }
    if s.version {
        return Ok(Cmd::Version);
    }
    let mut pa = pico_args::Arguments::from_vec(s.opts);
    let pe = |e: pico_args::Error| match e {
        pico_args::Error::Utf8ArgumentParsingFailed { cause, .. }
        | pico_args::Error::ArgumentParsingFailed { cause } => usage(cause),
        other => usage(other.to_string()),
    };

    let mut r = RunArgs::new(OsString::new());
    if let Some(h) = pa
        .opt_value_from_fn("--hostname", parse_hostname)
        .map_err(pe)?
    {
        r.hostname = h;
    }
    if let Some(d) = pa
        .opt_value_from_os_str("--chdir", parse_chdir)
        .map_err(pe)?
    {
        r.chdir = d;
    }
    r.setenv = pa
        .values_from_os_str("--setenv", parse_setenv)
        .map_err(pe)?;
    if let Some(u) = pa.opt_value_from_fn("--uid", parse_id).map_err(pe)? {
        r.uid = u;
    }
    if let Some(g) = pa.opt_value_from_fn("--gid", parse_id).map_err(pe)? {
        r.gid = g;
    }
    r.share_net = pa.contains("--share-net");
    let rw = pa.contains("--rw");
    let ro = pa.contains("--read-only");
    r.root = match (rw, ro) {
        (true, true) => return Err(usage("--rw and --read-only exclude each other")),
        (true, false) => RootMode::ReadWrite,
        (false, true) => RootMode::ReadOnly,
        (false, false) => RootMode::Ephemeral,
    };
    r.sys = pa.contains("--sys");
    r.limits = pa.values_from_fn("--limit", limits::parse).map_err(pe)?;
    r.verbose = pa.contains(["-v", "--verbose"]);
    r.init = pa.contains("--init");
    r.timeout = pa
        .opt_value_from_fn("--timeout", |v| limits::parse_duration("--timeout", v))
        .map_err(pe)?
        // GNU timeout's reading: 0 means no timeout.
        .filter(|d| !d.is_zero());
    if let Some(k) = pa
        .opt_value_from_fn("--kill-after", |v| {
            limits::parse_duration("--kill-after", v)
        })
        .map_err(pe)?
    {
        r.kill_after = k;
    }
    r.cgroup.memory = pa
        .opt_value_from_fn("--memory", |v| limits::parse_size("--memory", v))
        .map_err(pe)?;
    r.cgroup.pids = pa.opt_value_from_fn("--pids", parse_pids).map_err(pe)?;
    r.cgroup.cpus_milli = pa
        .opt_value_from_fn("--cpus", limits::parse_cpus)
        .map_err(pe)?;
    r.status_file = pa
        .opt_value_from_os_str(
            "--status-file",
            |s| -> std::result::Result<OsString, String> {
                if s.is_empty() {
                    return Err("--status-file wants a path".into());
                }
                Ok(s.to_os_string())
            },
        )
        .map_err(pe)?;
    r.status_fd = pa
        .opt_value_from_fn("--status-fd", parse_status_fd)
        .map_err(pe)?;
    if let Some(v) = pa
        .opt_value_from_fn("--tmp-size", |v| limits::parse_size("--tmp-size", v))
        .map_err(pe)?
    {
        r.sizes.tmp = v;
    }
    if let Some(v) = pa
        .opt_value_from_fn("--shm-size", |v| limits::parse_size("--shm-size", v))
        .map_err(pe)?
    {
        r.sizes.shm = v;
    }
    if let Some(v) = pa
        .opt_value_from_fn("--root-size", |v| limits::parse_size("--root-size", v))
        .map_err(pe)?
    {
        if r.root != RootMode::Ephemeral {
            return Err(usage(
                "--root-size caps the copy-on-write root; with --rw or --read-only there is none",
            ));
        }
        r.sizes.root = v;
    }
    if let Some(on) = pa
        .opt_value_from_fn("--seccomp", parse_on_off)
        .map_err(pe)?
    {
        r.seccomp = on;
    }
    if let Some(m) = pa
        .opt_value_from_fn("--landlock", parse_landlock)
        .map_err(pe)?
    {
        r.landlock = m;
    }
    let mut rw_binds = pa
        .values_from_os_str("--bind", parse_bind)
        .map_err(pe)?
        .into_iter();
    let mut ro_binds = pa
        .values_from_os_str("--ro-bind", parse_bind)
        .map_err(pe)?
        .into_iter();
    for read_only in s.bind_order {
        let next = if read_only {
            ro_binds.next()
        } else {
            rw_binds.next()
        };
        let (src, dst) = next.expect("split counted every bind option");
        r.binds.push(BindArg {
            src,
            dst,
            read_only,
        });
    }
    let rest = pa.finish();
    if let Some(first) = rest.first() {
        let name = first.to_string_lossy();
        return Err(usage(format!("option {name} given more than once")));
    }
    r.rootfs = match s.rootfs {
        Some(p) if !p.is_empty() => p,
        Some(_) => return Err(usage("ROOTFS is an empty string")),
        None => return Err(usage("missing ROOTFS (a directory to use as the root)")),
    };
    if !s.command.is_empty() {
        r.command = s.command;
    }
    if r.command[0].is_empty() {
        return Err(usage("COMMAND is an empty string"));
    }
    Ok(Cmd::Run(Box::new(r)))
}

/// RFC 1123 host name: 1–64 bytes (the kernel's limit), dot-separated
/// labels of letters, digits and `-`, none empty or starting or ending
/// with `-`.
pub fn parse_hostname(s: &str) -> std::result::Result<String, String> {
    if s.is_empty() || s.len() > 64 {
        return Err(format!("hostname {s:?} must be 1 to 64 characters"));
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !s.split('.').all(label_ok) {
        return Err(format!(
            "hostname {s:?} may hold only letters, digits, '-' and '.' (RFC 1123)"
        ));
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

fn parse_landlock(s: &str) -> std::result::Result<LandlockMode, String> {
    match s {
        "auto" => Ok(LandlockMode::Auto),
        "require" => Ok(LandlockMode::Require),
        "off" => Ok(LandlockMode::Off),
        _ => Err(format!("--landlock wants auto, require or off, got {s:?}")),
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
mod tests {
    use super::*;
    use crate::limits::Limit;
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
            Cmd::Run(r) => Ok(*r),
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
                    Cmd::Run(_)
                ),
                "--bind {v}"
            );
        }
        assert!(parse(args(&["--frob"])).is_err());
        // A --version for the command is the command's.
        assert!(matches!(
            parse(args(&["run", "r", "prog", "--version"])).unwrap(),
            Cmd::Run(_)
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
            binds in proptest::collection::vec((word(), proptest::option::of(abs_path()), any::<bool>()), 0..4),
            (seccomp, sys, verbose) in any::<(bool, bool, bool)>(),
            landlock in prop_oneof![Just(LandlockMode::Auto), Just(LandlockMode::Require), Just(LandlockMode::Off)],
            limits in proptest::collection::vec((0..limits::RESOURCES.len() as u8, any::<u64>()), 0..3),
            init in any::<bool>(),
            timeout in proptest::option::of((1u64..1_000_000, 0u32..1_000_000_000)),
            kill_after in (0u64..1000, 0u32..1_000_000_000),
            cgroup in (proptest::option::of(1u64..u64::MAX), proptest::option::of(1u64..4_194_304), proptest::option::of(10u32..100_000)),
            status_file in proptest::option::of(abs_path()),
            status_fd in proptest::option::of(1i32..1000),
            sizes in (1u64..u64::MAX, 1u64..u64::MAX, 1u64..u64::MAX),
        ) -> RunArgs {
            let mut command: Vec<OsString> = command.into_iter().map(Into::into).collect();
            if command[0].is_empty() { command[0] = "sh".into(); }
            RunArgs {
                rootfs: rootfs.into(),
                command,
                hostname,
                chdir: chdir.into(),
                setenv: setenv.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
                uid, gid, share_net, root,
                binds: binds.into_iter().map(|(s, d, ro)| BindArg {
                    src: s.into(), dst: d.map(Into::into), read_only: ro,
                }).collect(),
                seccomp, landlock, sys, verbose,
                limits: limits.into_iter().map(|(index, value)| Limit { index, value }).collect(),
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
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_argv_never_panics(argv in proptest::collection::vec(
            prop_oneof![
                any::<String>(),
                proptest::sample::select(VALUE_OPTS.iter().chain(FLAG_OPTS).map(|s| s.to_string()).collect::<Vec<_>>()),
                Just("--".to_string()),
                Just("run".to_string()),
            ], 0..8)) {
            let _ = parse(argv.into_iter().map(Into::into).collect());
        }

        #[test]
        fn what_parses_round_trips(r in run_args()) {
            let mut argv: Vec<OsString> = vec!["run".into()];
            argv.extend(r.to_args());
            prop_assert_eq!(parse(argv).unwrap(), Cmd::Run(Box::new(r)));
        }
    }
}
