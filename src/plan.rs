//! The validated plan, and the byte encoding that carries it (and the
//! child's errors) between the two stages.
//!
//! The parent validates once: paths are made absolute, the rootfs and every
//! bind source are checked to exist. The child decodes the plan from fd 3
//! and never re-reads user input, so it cannot interpret it differently.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::cli::{CgroupLimits, LandlockMode, RootMode, RunArgs, Sizes};
use crate::error::{Context, Error, Reason, Result};
use crate::limits::{self, Limit, RESOURCES};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bind {
    /// Absolute, symlinks resolved, on the host.
    pub src: PathBuf,
    /// Absolute and normalised, inside the sandbox.
    pub dst: PathBuf,
    pub read_only: bool,
}

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
    pub root: RootMode,
    pub binds: Vec<Bind>,
    pub seccomp: bool,
    pub landlock: LandlockMode,
    pub sys: bool,
    pub verbose: bool,
    /// The rlimits to set (`limits::effective`: core=0 unless asked).
    pub limits: Vec<Limit>,
    pub init: bool,
    pub sizes: Sizes,
    /// What the parent alone uses: the child stage receives it but never
    /// reads it.
    pub timeout: Option<Duration>,
    pub kill_after: Duration,
    pub cgroup: CgroupLimits,
    pub status_file: Option<PathBuf>,
    pub status_fd: Option<i32>,
}

/// `a/./b/../c` → `a/c`, without touching the filesystem (a path inside the
/// sandbox cannot be resolved on the host).
fn normalize(p: &Path) -> PathBuf {
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
    /// user input becomes a plan.
    pub fn from_args(a: RunArgs, term: Option<OsString>) -> Result<Plan> {
        let rootfs_arg = PathBuf::from(&a.rootfs);
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
                    "ROOTFS must be a directory holding a root filesystem (bin/, etc/, …)",
                ));
        }
        let mut binds = Vec::new();
        for b in a.binds {
            let src_arg = PathBuf::from(&b.src);
            let what = if b.read_only { "--ro-bind" } else { "--bind" };
            let src = std::fs::canonicalize(&src_arg)
                .ctx(&format!("{what} source"), src_arg.display())?;
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
            });
        }
        for l in &a.limits {
            check_limit(l)?;
        }
        Ok(Plan {
            rootfs,
            command: a.command,
            hostname: a.hostname,
            chdir: a.chdir,
            setenv: a.setenv,
            term,
            uid: a.uid,
            gid: a.gid,
            share_net: a.share_net,
            root: a.root,
            binds,
            seccomp: a.seccomp,
            landlock: a.landlock,
            sys: a.sys,
            verbose: a.verbose,
            limits: limits::effective(&a.limits),
            init: a.init,
            sizes: a.sizes,
            timeout: a.timeout,
            kill_after: a.kill_after,
            cgroup: a.cgroup,
            status_file: a.status_file.map(PathBuf::from),
            status_fd: a.status_fd,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer(MAGIC_PLAN.to_vec());
        w.bytes(self.rootfs.as_os_str().as_bytes());
        w.u32(self.command.len() as u32);
        for c in &self.command {
            w.bytes(c.as_bytes());
        }
        w.bytes(self.hostname.as_bytes());
        w.bytes(self.chdir.as_bytes());
        w.u32(self.setenv.len() as u32);
        for (k, v) in &self.setenv {
            w.bytes(k.as_bytes());
            w.bytes(v.as_bytes());
        }
        w.opt(self.term.as_ref().map(|t| t.as_bytes()));
        w.u32(self.uid);
        w.u32(self.gid);
        w.u8(self.share_net as u8);
        w.u8(match self.root {
            RootMode::Ephemeral => 0,
            RootMode::ReadOnly => 1,
            RootMode::ReadWrite => 2,
        });
        w.u32(self.binds.len() as u32);
        for b in &self.binds {
            w.bytes(b.src.as_os_str().as_bytes());
            w.bytes(b.dst.as_os_str().as_bytes());
            w.u8(b.read_only as u8);
        }
        w.u8(self.seccomp as u8);
        w.u8(match self.landlock {
            LandlockMode::Auto => 0,
            LandlockMode::Require => 1,
            LandlockMode::Off => 2,
        });
        w.u8(self.sys as u8);
        w.u8(self.verbose as u8);
        w.u32(self.limits.len() as u32);
        for l in &self.limits {
            w.u8(l.index);
            w.u64(l.value);
        }
        w.u8(self.init as u8);
        w.u64(self.sizes.tmp);
        w.u64(self.sizes.shm);
        w.u64(self.sizes.root);
        w.opt_duration(self.timeout);
        w.opt_duration(Some(self.kill_after));
        w.opt_u64(self.cgroup.memory);
        w.opt_u64(self.cgroup.pids);
        w.opt_u64(self.cgroup.cpus_milli.map(u64::from));
        w.opt(self.status_file.as_ref().map(|p| p.as_os_str().as_bytes()));
        w.opt_u64(self.status_fd.map(|n| n as u32 as u64));
        w.0
    }

    pub fn decode(buf: &[u8]) -> std::result::Result<Plan, String> {
        let mut r = Reader::new(buf, MAGIC_PLAN)?;
        let rootfs = r.path()?;
        let command = (0..r.u32()?)
            .map(|_| r.os())
            .collect::<std::result::Result<_, _>>()?;
        let hostname = r.string()?;
        let chdir = r.os()?;
        let setenv = (0..r.u32()?)
            .map(|_| Ok((r.os()?, r.os()?)))
            .collect::<std::result::Result<_, String>>()?;
        let term = r.opt()?.map(OsString::from_vec);
        let uid = r.u32()?;
        let gid = r.u32()?;
        let share_net = r.u8()? != 0;
        let root = match r.u8()? {
            0 => RootMode::Ephemeral,
            1 => RootMode::ReadOnly,
            2 => RootMode::ReadWrite,
            n => return Err(format!("bad root mode {n}")),
        };
        let binds = (0..r.u32()?)
            .map(|_| {
                Ok(Bind {
                    src: r.path()?,
                    dst: r.path()?,
                    read_only: r.u8()? != 0,
                })
            })
            .collect::<std::result::Result<_, String>>()?;
        let seccomp = r.u8()? != 0;
        let landlock = match r.u8()? {
            0 => LandlockMode::Auto,
            1 => LandlockMode::Require,
            2 => LandlockMode::Off,
            n => return Err(format!("bad landlock mode {n}")),
        };
        let sys = r.u8()? != 0;
        let verbose = r.u8()? != 0;
        let limits = (0..r.u32()?)
            .map(|_| {
                let index = r.u8()?;
                if index as usize >= RESOURCES.len() {
                    return Err(format!("bad resource {index}"));
                }
                Ok(Limit {
                    index,
                    value: r.u64()?,
                })
            })
            .collect::<std::result::Result<_, String>>()?;
        let init = r.u8()? != 0;
        let sizes = Sizes {
            tmp: r.u64()?,
            shm: r.u64()?,
            root: r.u64()?,
        };
        let timeout = r.opt_duration()?;
        let kill_after = r.opt_duration()?.ok_or("no kill-after")?;
        let cgroup = CgroupLimits {
            memory: r.opt_u64()?,
            pids: r.opt_u64()?,
            cpus_milli: r.opt_u64()?.map(|v| v as u32),
        };
        let status_file = r.opt()?.map(|p| PathBuf::from(OsString::from_vec(p)));
        let status_fd = r.opt_u64()?.map(|v| v as u32 as i32);
        r.end()?;
        Ok(Plan {
            rootfs,
            command,
            hostname,
            chdir,
            setenv,
            term,
            uid,
            gid,
            share_net,
            root,
            binds,
            seccomp,
            landlock,
            sys,
            verbose,
            limits,
            init,
            sizes,
            timeout,
            kill_after,
            cgroup,
            status_file,
            status_fd,
        })
    }
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

const MAGIC_PLAN: &[u8] = b"sandbox-plan-4\0";
const MAGIC_ERROR: &[u8] = b"sandbox-error-1\0";
const MAGIC_STATUS: &[u8] = b"sandbox-status-1\0";

/// One record on the error pipe: a u32 length, then the record. The child
/// stage sends at most one error; under --init, init then sends the
/// command's wait status. Each record is written with one write(2) of less
/// than PIPE_BUF bytes, so records never interleave.
pub fn frame(record: &[u8]) -> Vec<u8> {
    let mut v = (record.len() as u32).to_le_bytes().to_vec();
    v.extend_from_slice(record);
    v
}

/// Init's report: how the command (PID 2) ended, as a raw wait status.
pub fn encode_status(wait_status: i32) -> Vec<u8> {
    let mut w = Writer(MAGIC_STATUS.to_vec());
    w.u32(wait_status as u32);
    w.0
}

/// What came over the error pipe: the child's error and init's status of
/// the command, each if sent.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reports {
    pub error: Option<Error>,
    pub status: Option<i32>,
}

pub fn decode_reports(mut buf: &[u8]) -> std::result::Result<Reports, String> {
    let mut out = Reports::default();
    while !buf.is_empty() {
        if buf.len() < 4 {
            return Err("report ends early".into());
        }
        let n = u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize;
        let rec = buf.get(4..4 + n).ok_or("report ends early")?;
        if rec.starts_with(MAGIC_STATUS) {
            let mut r = Reader::new(rec, MAGIC_STATUS)?;
            out.status = Some(r.u32()? as i32);
            r.end()?;
        } else {
            out.error = Some(decode_error(rec)?);
        }
        buf = &buf[4 + n..];
    }
    Ok(out)
}

/// An error from the child stage, for the parent to print.
pub fn encode_error(e: &Error) -> Vec<u8> {
    let mut w = Writer(MAGIC_ERROR.to_vec());
    w.bytes(e.step.as_bytes());
    w.opt(e.path.as_ref().map(|p| p.as_bytes()));
    match &e.reason {
        Reason::Errno(n) => {
            w.u8(0);
            w.u32(*n as u32);
        }
        Reason::Msg(m) => {
            w.u8(1);
            w.bytes(m.as_bytes());
        }
    }
    w.opt(e.hint.as_ref().map(|h| h.as_bytes()));
    w.u8(e.exit);
    w.0
}

pub fn decode_error(buf: &[u8]) -> std::result::Result<Error, String> {
    let mut r = Reader::new(buf, MAGIC_ERROR)?;
    let step = r.string()?;
    let path = r.opt()?.map(|p| String::from_utf8_lossy(&p).into_owned());
    let reason = match r.u8()? {
        0 => Reason::Errno(r.u32()? as i32),
        1 => Reason::Msg(r.string()?),
        n => return Err(format!("bad reason tag {n}")),
    };
    let hint = r.opt()?.map(|h| String::from_utf8_lossy(&h).into_owned());
    let exit = r.u8()?;
    r.end()?;
    Ok(Error {
        step,
        path,
        reason,
        hint,
        exit,
    })
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.u64(v);
            }
        }
    }
    fn opt_duration(&mut self, d: Option<Duration>) {
        self.opt_u64(d.map(|d| d.as_secs()));
        if let Some(d) = d {
            self.u32(d.subsec_nanos());
        }
    }
    fn opt(&mut self, b: Option<&[u8]>) {
        match b {
            None => self.u8(0),
            Some(b) => {
                self.u8(1);
                self.bytes(b);
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], magic: &[u8]) -> std::result::Result<Self, String> {
        match buf.strip_prefix(magic) {
            Some(rest) => Ok(Reader { buf: rest }),
            None => Err("not a message from this version of sandbox".into()),
        }
    }
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self.buf.len() < n {
            return Err("message ends early".into());
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn bytes(&mut self) -> std::result::Result<Vec<u8>, String> {
        let n = self.u32()? as usize;
        Ok(self.take(n)?.to_vec())
    }
    fn os(&mut self) -> std::result::Result<OsString, String> {
        Ok(OsString::from_vec(self.bytes()?))
    }
    fn path(&mut self) -> std::result::Result<PathBuf, String> {
        Ok(PathBuf::from(self.os()?))
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        String::from_utf8(self.bytes()?).map_err(|_| "text is not UTF-8".to_string())
    }
    fn opt(&mut self) -> std::result::Result<Option<Vec<u8>>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.bytes()?)),
            n => Err(format!("bad option tag {n}")),
        }
    }
    fn opt_u64(&mut self) -> std::result::Result<Option<u64>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.u64()?)),
            n => Err(format!("bad option tag {n}")),
        }
    }
    fn opt_duration(&mut self) -> std::result::Result<Option<Duration>, String> {
        let Some(secs) = self.opt_u64()? else {
            return Ok(None);
        };
        let nanos = self.u32()?;
        if nanos >= 1_000_000_000 {
            return Err("bad duration".into());
        }
        Ok(Some(Duration::new(secs, nanos)))
    }
    fn end(&self) -> std::result::Result<(), String> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err("trailing bytes after message".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn os_string() -> impl Strategy<Value = OsString> {
        proptest::collection::vec(1u8..=255, 0..20).prop_map(OsString::from_vec)
    }

    prop_compose! {
        fn plan()(
            rootfs in os_string(), command in proptest::collection::vec(os_string(), 1..4),
            hostname in "[a-z]{1,10}", chdir in os_string(),
            setenv in proptest::collection::vec((os_string(), os_string()), 0..3),
            term in proptest::option::of(os_string()), uid in any::<u32>(), gid in any::<u32>(),
            share_net in any::<bool>(), root in 0u8..3,
            binds in proptest::collection::vec((os_string(), os_string(), any::<bool>()), 0..3),
            (seccomp, sys, verbose) in any::<(bool, bool, bool)>(), landlock in 0u8..3,
            limits in proptest::collection::vec((0..RESOURCES.len() as u8, any::<u64>()), 0..4),
            init in any::<bool>(), sizes in any::<(u64, u64, u64)>(),
            timeout in proptest::option::of((any::<u64>(), 0u32..1_000_000_000)),
            kill_after in (any::<u64>(), 0u32..1_000_000_000),
            cgroup in any::<(Option<u64>, Option<u64>, Option<u32>)>(),
            status_file in proptest::option::of(os_string()), status_fd in proptest::option::of(0i32..i32::MAX),
        ) -> Plan {
            Plan {
                rootfs: rootfs.into(), command, hostname, chdir, setenv, term, uid, gid, share_net,
                root: [RootMode::Ephemeral, RootMode::ReadOnly, RootMode::ReadWrite][root as usize],
                binds: binds.into_iter().map(|(s, d, r)| Bind { src: s.into(), dst: d.into(), read_only: r }).collect(),
                seccomp, sys, verbose,
                limits: limits.into_iter().map(|(index, value)| Limit { index, value }).collect(),
                landlock: [LandlockMode::Auto, LandlockMode::Require, LandlockMode::Off][landlock as usize],
                init,
                sizes: Sizes { tmp: sizes.0, shm: sizes.1, root: sizes.2 },
                timeout: timeout.map(|(s, n)| Duration::new(s, n)),
                kill_after: Duration::new(kill_after.0, kill_after.1),
                cgroup: CgroupLimits { memory: cgroup.0, pids: cgroup.1, cpus_milli: cgroup.2 },
                status_file: status_file.map(Into::into),
                status_fd,
            }
        }
    }

    proptest! {
        #[test]
        fn plans_round_trip(p in plan()) {
            prop_assert_eq!(Plan::decode(&p.encode()).unwrap(), p);
        }

        #[test]
        fn truncated_plans_are_rejected(p in plan(), frac in 0.0f64..1.0) {
            let bytes = p.encode();
            let cut = (bytes.len() as f64 * frac) as usize;
            prop_assert!(Plan::decode(&bytes[..cut]).is_err());
        }

        #[test]
        fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Plan::decode(&b);
            let _ = decode_error(&b);
            let _ = decode_reports(&b);
        }

        #[test]
        fn framed_reports_round_trip(msg in ".{0,40}", status in proptest::option::of(any::<i32>()), err in any::<bool>()) {
            let e = Error::msg("exec", msg);
            let mut buf = Vec::new();
            if err {
                buf.extend(frame(&encode_error(&e)));
            }
            if let Some(s) = status {
                buf.extend(frame(&encode_status(s)));
            }
            let r = decode_reports(&buf).unwrap();
            prop_assert_eq!(r.error, err.then_some(e));
            prop_assert_eq!(r.status, status);
            if !buf.is_empty() {
                prop_assert!(decode_reports(&buf[..buf.len() - 1]).is_err());
            }
        }

        #[test]
        fn errors_round_trip(step in ".{0,20}", path in proptest::option::of(".{0,20}"),
                             errno in proptest::option::of(1i32..200), msg in ".{0,20}",
                             hint in proptest::option::of(".{0,20}"), exit in any::<u8>()) {
            let e = Error {
                step, path, hint, exit,
                reason: match errno { Some(n) => Reason::Errno(n), None => Reason::Msg(msg) },
            };
            prop_assert_eq!(decode_error(&encode_error(&e)).unwrap(), e);
        }
    }

    #[test]
    fn normalize_stays_inside() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("/../../x")), Path::new("/x"));
        assert_eq!(normalize(Path::new("/")), Path::new("/"));
    }
}
