//! The one protocol between the launcher (launch/launcher.rs) and the child stage
//! (launch/stage.rs): what travels, on which descriptor, in which bytes. Its
//! frames up are also how every other process of ours reports to the one
//! that waits for it: `sandbox exec`'s helpers (named/join.rs), `sandbox-oci
//! exec`'s child, and `sandbox-oci init` (to `create` on its socket, to
//! `start` on the exec FIFO). An [`Error`] has this one encoding on the
//! wire.
//!
//! Two pipes, one per direction, both made by the launcher before clone:
//!
//! ```text
//!  launcher                                   child stage (PID 1 inside)
//!  PlanSender     ── control pipe ─▶ fd 4 ─  clone child: the release byte;
//!                                            `sandbox child`: recv_plan()
//!  ReportReceiver ◀─ report pipe ─── fd 3 ─  ReportSender (CLOEXEC at exec)
//!  relay::Relay   ◀─ pty socket ──── fd 5 ─  relay::make_pty: the master,
//!                                            once (only with a plan.pty)
//!  denials.rs     ◀─ denials socket ─ fd 6 ─  the seccomp listener, once
//!                                            (only with report_denials)
//!  proxy::Proxy   ◀─ proxy socket ── fd 7 ─  proxy::listen_and_send: the
//!                                            two listeners (plan.proxy)
//! ```
//!
//! The bwrap front end's namespace descriptors travel on fixed numbers
//! too: `--userns2` on 8, `--block-fd` on 9, `--userns` on 10 and
//! `--pidns` on 11; the launcher's own descriptors are all at
//! `sys::HIGH_FD` (12) or above, so the clone child's dup2 onto 3 to 11
//! clobbers none of them.
//!
//! **Down (control pipe).** First one raw byte, `RELEASE`, read by the clone
//! child before it execs (it can decode nothing: async-signal-safe only).
//! Then one frame holding the encoded [`Plan`], read by the re-exec'd child
//! stage. The launcher writes both at once, after the id maps; a plan larger
//! than the pipe's buffer just makes that write wait for the reader.
//!
//! **Up (report pipe).** Frames, each written with one write(2):
//! [`Up::Notice`] (a line for the user, e.g. the overlay fallback or the
//! `-v` summary), at most one [`Up::Error`] (the stage failed: step, path,
//! errno or text, hint, exit code), and under `--init` one [`Up::Status`]
//! (the command's raw wait status, and the limits init saw hit in what it
//! reaped: `status::SEEN_*` bits). The write end is close-on-exec, so EOF
//! without an error means the command was exec'd (under `--init`, that init
//! has ended). `sandbox-oci init` also sends [`Up::Reached`]: the points of
//! its set-up where `create` runs hooks or records the container. A stage
//! that joins the namespaces the caller gives (`sandbox child join`,
//! launch/stage.rs) sends one [`Up::Joined`] once it has forked the
//! process that becomes the sandbox: that process's pid and its
//! namespaces, which the launcher cannot read itself.
//!
//! **Frame.** A little-endian `u32` length, then that many bytes, which
//! begin with a magic naming the kind and its version (`sandbox-plan-11\0`,
//! `sandbox-error-1\0`, `sandbox-status-2\0`, `sandbox-notice-1\0`,
//! `sandbox-reached-1\0`, `sandbox-joined-1\0`).
//! Integers are little-endian `u32`/`u64`; byte strings are a `u32` length
//! and the bytes; an optional value is a tag byte (0 absent, 1 present)
//! and the value. A decoder refuses a wrong magic, a short or overlong
//! record and an unknown tag, so a mismatched binary or garbage on the fd
//! is an error, never a misread plan.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};

use crate::confine::caps::CapSets;
use crate::confine::limits::{Limit, RESOURCES};
use crate::confine::net::{PastaPlan, Proto, Publish};
use crate::confine::proxy::ProxyPlan;
use crate::error::{Context, Error, Reason, Result, EXIT_SANDBOX};
use crate::plan::subid::{Range, SubIds};
use crate::plan::{
    Bind, Built, BuiltUserns, LandlockMode, OverlayUpper, PassFd, PathAccess, Plan, PtyPlan,
    RootMode, RootOp, Sizes, StdioMode, Tmpfs,
};
use crate::sys::{self, sigsafe};

/// Where the child stage finds the report pipe's write end. It is the
/// lowest fd above stdio, so "close every fd above `REPORT_FD`" leaves the
/// command nothing else.
pub const REPORT_FD: RawFd = 3;
/// Where the child stage finds the control pipe's read end (the plan);
/// closed once the plan is read.
pub const PLAN_FD: RawFd = 4;
/// Where the child stage finds its end of the pty socket, a unix stream
/// socketpair the launcher makes only when the plan has a `pty`: the stage
/// sends the master of the pty it made up this socket (SCM_RIGHTS, one
/// byte of data), then closes it. EOF without a descriptor means the stage
/// failed first (its error is on the report pipe).
pub const TTY_FD: RawFd = 5;
/// Where the child stage finds its end of the denials socket, a unix
/// stream socketpair the launcher makes only with `--report-denials`
/// (plan.report_denials): the stage installs its seccomp filter with a
/// listener and sends the listener up this socket (SCM_RIGHTS, as the pty
/// master), then closes it. EOF without a descriptor: the stage failed
/// first.
pub const DENIALS_FD: RawFd = 6;
/// Where the child stage finds its end of the proxy socket, a unix
/// stream socketpair the launcher makes only when the plan has a `proxy`
/// (`--allow-host`): the stage sends the two listening sockets it made on
/// the sandbox's loopback up it (HTTP, then SOCKS5; confine/proxy.rs).
pub const PROXY_FD: RawFd = 7;
/// Where the child stage finds the user namespace the bwrap front end's
/// `--userns2 FD` names (`Built::userns2`), joined before the command.
pub const USERNS2_FD: RawFd = 8;
/// Where the child stage finds the bwrap front end's `--block-fd FD`
/// (`Built::block`): read once the sandbox is set up, before the command.
pub const BLOCK_FD: RawFd = 9;
/// Where the child stage finds the user namespace the bwrap front end's
/// `--userns FD` names (`GivenNs::userns`): joined by the stage itself,
/// after its exec (`sandbox child join`, launch/stage.rs).
pub const USERNS_FD: RawFd = 10;
/// Where the child stage finds the PID namespace of `--pidns FD`, joined
/// with `USERNS_FD`'s.
pub const PIDNS_FD: RawFd = 11;
// Every fixed number lies below the launcher's own descriptors.
const _: () = assert!(PIDNS_FD < sys::HIGH_FD);
/// The byte that releases the clone child once its id maps are written.
pub const RELEASE: u8 = 1;

const MAGIC_PLAN: &[u8] = b"sandbox-plan-12\0";
const MAGIC_ERROR: &[u8] = b"sandbox-error-1\0";
const MAGIC_STATUS: &[u8] = b"sandbox-status-2\0";
const MAGIC_NOTICE: &[u8] = b"sandbox-notice-1\0";
const MAGIC_REACHED: &[u8] = b"sandbox-reached-1\0";
const MAGIC_JOINED: &[u8] = b"sandbox-joined-1\0";

/// The sandbox's namespaces as bubblewrap's `--info-fd` names them, and
/// their names under /proc/PID/ns (the order of [`Up::Joined`]'s inodes).
pub const NAMESPACES: [(&str, &str); 6] = [
    ("cgroup-namespace", "cgroup"),
    ("ipc-namespace", "ipc"),
    ("mnt-namespace", "mnt"),
    ("net-namespace", "net"),
    ("pid-namespace", "pid"),
    ("uts-namespace", "uts"),
];

/// A plan larger than this is refused rather than read (a bound on what a
/// wrong fd 4 could make the child stage allocate). argv and environment
/// together are at most a few MiB.
const MAX_PLAN: usize = 64 << 20;

/// What the child stage sends up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Up {
    Notice(String),
    Error(Error),
    /// init's report: the command's wait status, and `status::SEEN_*`.
    Status(i32, u32),
    /// `sandbox-oci init` got this far; `sandbox run`'s stage sends only
    /// [`Point::Isolated`].
    Reached(Point),
    /// The joining stage (`sandbox child join`) forked the sandbox's first
    /// process: its pid as the launcher's PID namespace numbers it, and
    /// the inode numbers of its namespaces in [`NAMESPACES`]' order (0:
    /// not its own, or not read).
    Joined {
        pid: i32,
        namespaces: [u64; 6],
    },
}

/// Where `sandbox-oci init` tells `create` it is, and (`Isolated`) where
/// `sandbox run`'s stage tells the launcher it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// The mounts are made, the root not yet entered: `create` runs the
    /// prestart and createRuntime hooks, then answers.
    Hooks,
    /// Everything the program needs is in place: `create` records the
    /// container; init waits on the exec FIFO for `start`.
    Ready,
    /// `sandbox run`'s stage (not the bwrap front end's): its namespaces
    /// are set up and its root is built, nothing of the command has run.
    /// A refusal by the host can no longer come: until this, the launcher
    /// may still answer one with the host mode (launch/hostmode.rs
    /// `await_isolated`).
    Isolated,
}

/// The error and init's status, once they came up (notices are passed on
/// as they arrive).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reports {
    pub error: Option<Error>,
    pub status: Option<i32>,
    /// `status::SEEN_*` bits from init.
    pub seen: u32,
}

/// A u32 length, then the record.
fn frame(record: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + record.len());
    v.extend_from_slice(&(record.len() as u32).to_le_bytes());
    v.extend_from_slice(record);
    v
}

// ---- Down: the launcher's end ----

/// The launcher's end of the control pipe.
pub struct PlanSender(OwnedFd);

impl PlanSender {
    pub fn new(fd: OwnedFd) -> PlanSender {
        PlanSender(fd)
    }

    /// The release byte: the clone child execs the child stage, which
    /// then waits for the plan. EPIPE means the child is gone: its wait
    /// status and report pipe say why.
    pub fn release(&self) -> io::Result<()> {
        sys::write_all(std::os::fd::AsRawFd::as_raw_fd(&self.0), &[RELEASE])
    }

    /// The plan (encoded once, by [`encode_plan`]); closes the pipe.
    pub fn send_plan(self, encoded_plan: &[u8]) -> io::Result<()> {
        fs::File::from(self.0).write_all(&frame(encoded_plan))
    }

    /// The plan, the pipe kept open for one more byte (`release` again):
    /// the join path's go-ahead, once the launcher holds the sandbox's
    /// first process (launch/joinns.rs).
    pub fn send_plan_keep(&self, encoded_plan: &[u8]) -> io::Result<()> {
        sys::write_all(
            std::os::fd::AsRawFd::as_raw_fd(&self.0),
            &frame(encoded_plan),
        )
    }
}

// ---- Down: the child stage's end ----

/// Read the plan from `PLAN_FD` (the release byte was the clone child's)
/// and close it.
pub fn recv_plan() -> Result<Plan> {
    recv_plan_keep().map(|(plan, _)| plan)
}

/// The plan, and `PLAN_FD` kept: the join path reads the launcher's
/// go-ahead from it after the plan (launch/joinns.rs).
pub fn recv_plan_keep() -> Result<(Plan, OwnedFd)> {
    let fd = sys::adopt_fd(PLAN_FD).ctx("read the plan", format!("fd {PLAN_FD}"))?;
    let mut f = fs::File::from(fd);
    let plan = read_plan(&mut f)?;
    Ok((plan, OwnedFd::from(f)))
}

fn read_plan(f: &mut fs::File) -> Result<Plan> {
    let mut len = [0u8; 4];
    f.read_exact(&mut len).ctx_step("read the plan")?;
    let n = u32::from_le_bytes(len) as usize;
    if n > MAX_PLAN {
        return Err(Error::msg(
            "read the plan",
            format!("{n} bytes is too large"),
        ));
    }
    let mut buf = vec![0u8; n];
    f.read_exact(&mut buf).ctx_step("read the plan")?;
    decode_plan(&buf).map_err(|m| Error::msg("read the plan", m))
}

// ---- Up: the child stage's end ----

/// The child stage's end of the report pipe, on `REPORT_FD`. Each message
/// is one write(2) of one frame, so the launcher never sees half of one
/// interleaved with another.
pub struct ReportSender(AtomicI32);

impl ReportSender {
    /// The report pipe as the child stage finds it.
    pub fn on_report_fd() -> ReportSender {
        ReportSender(AtomicI32::new(REPORT_FD))
    }

    /// A report pipe on another fd (`sandbox exec`'s helpers, named/join.rs).
    pub fn new(fd: RawFd) -> ReportSender {
        ReportSender(AtomicI32::new(fd))
    }

    /// The descriptor it writes to now.
    pub fn fd(&self) -> RawFd {
        self.0.load(Ordering::Relaxed)
    }

    /// Move the pipe to a close-on-exec descriptor numbered `min` or
    /// above, out of the way of a descriptor the command gets at its old
    /// number (launch/passfds.rs); the old number is closed. Every later
    /// message, the trampoline's too, goes to the new one.
    pub fn move_up(&self, min: RawFd) -> io::Result<()> {
        let old = self.fd();
        let new = sys::dup_raw_at_least(old, min)?;
        self.0
            .store(std::os::fd::IntoRawFd::into_raw_fd(new), Ordering::Relaxed);
        sigsafe::close(old)
    }

    pub fn error(&self, e: &Error) {
        self.send(&encode_error(e));
    }

    /// Init's report of how the command (PID 2) ended.
    pub fn status(&self, wait_status: i32, seen: u32) {
        self.send(&encode_up(&Up::Status(wait_status, seen)));
    }

    pub fn notice(&self, text: &str) {
        self.send(&encode_up(&Up::Notice(text.to_string())));
    }

    /// Any message, saying whether it could be written: a sender for which
    /// the reader being gone changes what it does next (`sandbox-oci
    /// init` then reports on stderr).
    pub fn up(&self, m: &Up) -> io::Result<()> {
        sys::write_all(self.fd(), &frame(&encode_up(m)))
    }

    fn send(&self, record: &[u8]) {
        // The launcher gone is the one failure, and nobody is left to tell.
        let _ = sys::write_all(self.fd(), &frame(record));
    }
}

/// The clone child's possible failures before it execs the child stage,
/// encoded by the launcher before clone: the clone child may not allocate,
/// so it only patches the errno into the prepared bytes and writes them.
pub struct PreparedError {
    buf: Vec<u8>,
    errno_at: usize,
}

impl PreparedError {
    pub fn new(step: &str, path: Option<&str>, hint: Option<&str>) -> PreparedError {
        let mut e = Error::errno(step, path.map(Into::into), 0);
        if let Some(h) = hint {
            e = e.with_hint(h);
        }
        PreparedError::from_error(&e)
    }

    /// `e` (whose reason is an errno, replaced) with its errno left to
    /// patch: its exit code and hint are kept.
    pub fn from_error(e: &Error) -> PreparedError {
        let encode = |errno| {
            let mut e = e.clone();
            e.reason = Reason::Errno(errno);
            frame(&encode_error(&e))
        };
        // Encoded with two errnos: the bytes that differ are the slot.
        let buf = encode(0);
        let errno_at = buf
            .iter()
            .zip(encode(-1))
            .position(|(a, b)| *a != b)
            .expect("the errno is encoded");
        PreparedError { buf, errno_at }
    }

    /// The whole frame, errno 0 in its slot.
    pub fn frame(&self) -> &[u8] {
        &self.buf
    }

    /// Where the errno's four little-endian bytes go in `frame()`.
    pub fn errno_at(&self) -> usize {
        self.errno_at
    }

    /// Async-signal-safe: patch the errno in, write, `_exit(125)`.
    pub fn send(&mut self, fd: RawFd, errno: i32) -> ! {
        self.buf[self.errno_at..self.errno_at + 4].copy_from_slice(&(errno as u32).to_le_bytes());
        let _ = sigsafe::write_all(fd, &self.buf);
        sigsafe::exit_now(EXIT_SANDBOX as i32)
    }
}

/// The whole frame `ReportSender::error` writes for `e` (the exec
/// trampoline's fixed reports, confine/trampoline.rs; `sandbox-oci init`'s error
/// to `start` on the exec FIFO).
pub fn error_frame(e: &Error) -> Vec<u8> {
    frame(&encode_error(e))
}

/// The error in `bytes`, which must be exactly one frame of
/// [`error_frame`] (what `start` read from the exec FIFO).
pub fn decode_error_frame(bytes: &[u8]) -> std::result::Result<Error, String> {
    let (len, rec) = bytes
        .split_first_chunk::<4>()
        .ok_or("the message ends early")?;
    if u32::from_le_bytes(*len) as usize != rec.len() {
        return Err(format!(
            "a frame of {} bytes holds {} bytes",
            u32::from_le_bytes(*len),
            rec.len()
        ));
    }
    decode_error(rec)
}

// ---- Up: the launcher's end ----

/// The launcher's end of the report pipe: reads what is there without
/// blocking the supervisor for long, and hands out whole messages.
pub struct ReportReceiver {
    file: fs::File,
    buf: Vec<u8>,
    open: bool,
}

impl ReportReceiver {
    pub fn new(fd: OwnedFd) -> ReportReceiver {
        ReportReceiver {
            file: fs::File::from(fd),
            buf: Vec::new(),
            open: true,
        }
    }

    /// Whether the write ends may still send (no EOF seen yet).
    pub fn is_open(&self) -> bool {
        self.open
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// One read(2): call when poll says the pipe is readable.
    pub fn read_some(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        match self.file.read(&mut chunk) {
            Ok(0) => self.open = false,
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Read to EOF: call once every write end is gone (the child reaped),
    /// or it blocks.
    pub fn read_to_end(&mut self) {
        if self.open {
            let _ = self.file.read_to_end(&mut self.buf);
            self.open = false;
        }
    }

    /// The next whole message, if one has arrived.
    pub fn next(&mut self) -> Option<std::result::Result<Up, String>> {
        let n = self.whole()?;
        let rec: Vec<u8> = self.buf.drain(..4 + n).skip(4).collect();
        Some(decode_up(&rec))
    }

    /// The next whole message, if one has arrived, left for `next`.
    pub fn peek(&self) -> Option<std::result::Result<Up, String>> {
        let n = self.whole()?;
        Some(decode_up(&self.buf[4..4 + n]))
    }

    /// The length of the first record, once all of it has arrived.
    fn whole(&self) -> Option<usize> {
        if self.buf.len() < 4 {
            return None;
        }
        let n = u32::from_le_bytes(self.buf[..4].try_into().unwrap()) as usize;
        (self.buf.len() >= 4 + n).then_some(n)
    }

    /// Whether bytes of an unfinished frame are left over.
    pub fn has_partial(&self) -> bool {
        !self.buf.is_empty()
    }

    /// The next whole message, blocking until it has come; `None` at EOF
    /// (a frame cut short by the EOF is an error). For a reader with
    /// nothing else to watch (`sandbox-oci create` during init's set-up).
    /// Each turn reads at least one byte or reaches EOF.
    pub fn wait_next(&mut self) -> io::Result<Option<std::result::Result<Up, String>>> {
        loop {
            if let Some(m) = self.next() {
                return Ok(Some(m));
            }
            if !self.open {
                return Ok(self
                    .has_partial()
                    .then(|| Err("the message ends early".to_string())));
            }
            self.read_some()?;
        }
    }

    #[cfg(test)]
    fn from_bytes(b: &[u8]) -> ReportReceiver {
        let (r, w) = sys::pipe_high().unwrap();
        sys::write_all(std::os::fd::AsRawFd::as_raw_fd(&w), b).unwrap();
        drop(w);
        let mut rr = ReportReceiver::new(r);
        rr.read_to_end();
        rr
    }
}

fn encode_up(m: &Up) -> Vec<u8> {
    match m {
        Up::Error(e) => encode_error(e),
        Up::Notice(text) => {
            let mut w = Writer(MAGIC_NOTICE.to_vec());
            w.bytes(text.as_bytes());
            w.0
        }
        Up::Status(wait_status, seen) => {
            let mut w = Writer(MAGIC_STATUS.to_vec());
            w.u32(*wait_status as u32);
            w.u32(*seen);
            w.0
        }
        Up::Reached(p) => {
            let mut w = Writer(MAGIC_REACHED.to_vec());
            w.u8(match p {
                Point::Hooks => 0,
                Point::Ready => 1,
                Point::Isolated => 2,
            });
            w.0
        }
        Up::Joined { pid, namespaces } => {
            let mut w = Writer(MAGIC_JOINED.to_vec());
            w.u32(*pid as u32);
            for n in namespaces {
                w.u64(*n);
            }
            w.0
        }
    }
}

fn decode_up(rec: &[u8]) -> std::result::Result<Up, String> {
    if rec.starts_with(MAGIC_JOINED) {
        let mut r = Reader::new(rec, MAGIC_JOINED)?;
        let pid = r.u32()? as i32;
        if pid <= 0 {
            return Err(format!("bad pid {pid}"));
        }
        let mut namespaces = [0u64; 6];
        for n in &mut namespaces {
            *n = r.u64()?;
        }
        r.end()?;
        Ok(Up::Joined { pid, namespaces })
    } else if rec.starts_with(MAGIC_REACHED) {
        let mut r = Reader::new(rec, MAGIC_REACHED)?;
        let p = match r.u8()? {
            0 => Point::Hooks,
            1 => Point::Ready,
            2 => Point::Isolated,
            n => return Err(format!("bad point {n}")),
        };
        r.end()?;
        Ok(Up::Reached(p))
    } else if rec.starts_with(MAGIC_STATUS) {
        let mut r = Reader::new(rec, MAGIC_STATUS)?;
        let s = r.u32()? as i32;
        let seen = r.u32()?;
        r.end()?;
        Ok(Up::Status(s, seen))
    } else if rec.starts_with(MAGIC_NOTICE) {
        let mut r = Reader::new(rec, MAGIC_NOTICE)?;
        let s = r.string()?;
        r.end()?;
        Ok(Up::Notice(s))
    } else {
        decode_error(rec).map(Up::Error)
    }
}

fn encode_error(e: &Error) -> Vec<u8> {
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

fn decode_error(buf: &[u8]) -> std::result::Result<Error, String> {
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

// ---- The plan's bytes ----

/// The validated plan as the child stage receives it. Encoded once, by the
/// launcher; the child stage decodes it and never parses user input.
pub fn encode_plan(p: &Plan) -> Vec<u8> {
    let mut w = Writer(MAGIC_PLAN.to_vec());
    w.bytes(p.rootfs.as_os_str().as_bytes());
    w.u32(p.command.len() as u32);
    for c in &p.command {
        w.bytes(c.as_bytes());
    }
    w.bytes(p.hostname.as_bytes());
    w.bytes(p.chdir.as_bytes());
    w.u32(p.setenv.len() as u32);
    for (k, v) in &p.setenv {
        w.bytes(k.as_bytes());
        w.bytes(v.as_bytes());
    }
    w.opt(p.term.as_ref().map(|t| t.as_bytes()));
    w.u32(p.uid);
    w.u32(p.gid);
    w.u8(p.share_net as u8);
    w.u8(match p.root {
        RootMode::Ephemeral => 0,
        RootMode::ReadOnly => 1,
        RootMode::ReadWrite => 2,
    });
    w.u32(p.binds.len() as u32);
    for b in &p.binds {
        w.bytes(b.src.as_os_str().as_bytes());
        w.bytes(b.dst.as_os_str().as_bytes());
        w.u8(b.read_only as u8);
        w.u8(b.via_symlink as u8);
    }
    w.u8(p.seccomp as u8);
    match &p.seccomp_profile {
        None => w.u8(0),
        Some(s) => {
            w.u8(1);
            w.bytes(s.file.as_bytes());
            w.u32(s.flags);
            w.u32(s.program.len() as u32);
            for i in &s.program {
                w.u64(*i);
            }
        }
    }
    w.u8(p.report_denials as u8);
    w.u8(match p.landlock {
        LandlockMode::Auto => 0,
        LandlockMode::Require => 1,
        LandlockMode::Off => 2,
    });
    w.u8(p.sys as u8);
    w.u8(p.verbose as u8);
    w.u32(p.limits.len() as u32);
    for l in &p.limits {
        w.u8(l.index);
        w.u64(l.value);
    }
    w.u32(p.ns_limits.len() as u32);
    for (name, value) in &p.ns_limits {
        w.bytes(name.as_bytes());
        w.u64(*value);
    }
    w.u8(p.init as u8);
    w.u64(p.sizes.tmp);
    w.u64(p.sizes.shm);
    w.u64(p.sizes.root);
    encode_tmpfs(&mut w, &p.tmpfs);
    w.u8(match p.stdio {
        StdioMode::Relay => 0,
        StdioMode::Inherit => 1,
    });
    match &p.pty {
        None => w.u8(0),
        Some(t) => {
            w.u8(1);
            w.u8(t.fds);
            w.bytes(&t.termios);
            for v in t.winsize {
                w.u32(v as u32);
            }
        }
    }
    encode_pasta(&mut w, p.pasta.as_ref());
    match &p.subids {
        None => w.u8(0),
        Some(s) => {
            w.u8(1);
            for v in [s.uid.start, s.uid.count, s.gid.start, s.gid.count] {
                w.u32(v);
            }
            w.u8(s.range_is_root as u8);
        }
    }
    encode_landlock(&mut w, &p.allow_paths, p.connect_ports.as_deref());
    match &p.proxy {
        None => w.u8(0),
        Some(x) => {
            w.u8(1);
            w.u32(x.http_port.into());
            w.u32(x.socks_port.into());
        }
    }
    w.u8(p.host_mode as u8);
    encode_built(&mut w, p.built.as_ref());
    w.0
}

/// The Landlock path rules and TCP ports: each rule as its kind and path,
/// then the ports, present or not.
fn encode_landlock(w: &mut Writer, paths: &[(PathAccess, PathBuf)], ports: Option<&[u16]>) {
    w.u32(paths.len() as u32);
    for (a, p) in paths {
        w.u8(match a {
            PathAccess::Read => 0,
            PathAccess::Write => 1,
            PathAccess::Exec => 2,
        });
        w.bytes(p.as_os_str().as_bytes());
    }
    w.u8(ports.is_some() as u8);
    if let Some(ports) = ports {
        w.u32(ports.len() as u32);
        for p in ports {
            w.u32((*p).into());
        }
    }
}

type LandlockRules = (Vec<(PathAccess, PathBuf)>, Option<Vec<u16>>);

fn decode_landlock(r: &mut Reader) -> std::result::Result<LandlockRules, String> {
    let paths = r.list(|r| {
        let access = match r.u8()? {
            0 => PathAccess::Read,
            1 => PathAccess::Write,
            2 => PathAccess::Exec,
            n => return Err(format!("bad path rule {n}")),
        };
        Ok((access, r.path()?))
    })?;
    let ports = if r.bool()? {
        Some(r.list(|r| u16::try_from(r.u32()?).map_err(|_| "bad port".to_string()))?)
    } else {
        None
    };
    Ok((paths, ports))
}

/// The built root's part (the bwrap front end): present or not, then its
/// operations, each a tag and its fields, and the process's settings.
fn encode_built(w: &mut Writer, b: Option<&Built>) {
    w.u8(b.is_some() as u8);
    let Some(b) = b else { return };
    w.u32(b.ops.len() as u32);
    for op in &b.ops {
        let path = |w: &mut Writer, p: &PathBuf| w.bytes(p.as_os_str().as_bytes());
        match op {
            RootOp::Bind {
                src,
                dst,
                read_only,
                devices,
            } => {
                w.u8(0);
                path(w, src);
                path(w, dst);
                w.u8(*read_only as u8);
                w.u8(*devices as u8);
            }
            RootOp::Tmpfs { dst, mode, size } => {
                w.u8(1);
                path(w, dst);
                w.u32(*mode);
                let size = size.map(u64::to_le_bytes);
                w.opt(size.as_ref().map(|s| &s[..]));
            }
            RootOp::Proc { dst } => {
                w.u8(2);
                path(w, dst);
            }
            RootOp::Dev { dst } => {
                w.u8(3);
                path(w, dst);
            }
            RootOp::Mqueue { dst } => {
                w.u8(4);
                path(w, dst);
            }
            RootOp::Symlink { target, dst } => {
                w.u8(5);
                w.bytes(target.as_bytes());
                path(w, dst);
            }
            RootOp::Dir { dst, mode } => {
                w.u8(6);
                path(w, dst);
                w.u32(*mode);
            }
            RootOp::File { dst, data, mode } => {
                w.u8(7);
                path(w, dst);
                w.bytes(data);
                w.u32(*mode);
            }
            RootOp::BindData {
                dst,
                data,
                mode,
                read_only,
            } => {
                w.u8(8);
                path(w, dst);
                w.bytes(data);
                w.u32(*mode);
                w.u8(*read_only as u8);
            }
            RootOp::Chmod { dst, mode } => {
                w.u8(9);
                path(w, dst);
                w.u32(*mode);
            }
            RootOp::RemountRo { dst } => {
                w.u8(10);
                path(w, dst);
            }
            RootOp::Overlay { lowers, upper, dst } => {
                // The lower layers, bottom first; where writes go (0: a
                // host directory and its work directory, 1: a tmpfs, 2:
                // nowhere); the mount point.
                w.u8(11);
                w.u32(lowers.len() as u32);
                for l in lowers {
                    path(w, l);
                }
                match upper {
                    OverlayUpper::Dir { upper, work } => {
                        w.u8(0);
                        path(w, upper);
                        path(w, work);
                    }
                    OverlayUpper::Tmpfs => w.u8(1),
                    OverlayUpper::ReadOnly => w.u8(2),
                }
                path(w, dst);
            }
        }
    }
    w.opt(b.chdir_fallback.as_ref().map(|c| c.as_bytes()));
    w.opt(b.argv0.as_ref().map(|c| c.as_bytes()));
    w.u32(b.lock_files.len() as u32);
    for l in &b.lock_files {
        w.bytes(l.as_bytes());
    }
    w.u8(b.new_session as u8);
    w.u32(b.seccomp.len() as u32);
    for prog in &b.seccomp {
        w.bytes(prog);
    }
    let c = &b.caps;
    for set in [
        c.bounding,
        c.effective,
        c.permitted,
        c.inheritable,
        c.ambient,
    ] {
        w.u64(set);
    }
    w.u8(b.disable_userns as u8);
    w.u8(b.assert_userns_disabled as u8);
    w.u8(b.self_exe as u8);
    w.u8(b.mask_proc as u8);
    w.u32(b.pass_fds.len() as u32);
    for p in &b.pass_fds {
        w.u32(p.fd as u32);
        w.u32(p.at as u32);
    }
    match b.userns {
        BuiltUserns::Engine => w.u8(0),
        BuiltUserns::Caller { switch_to: None } => w.u8(1),
        BuiltUserns::Caller {
            switch_to: Some((uid, gid)),
        } => {
            w.u8(2);
            w.u32(uid);
            w.u32(gid);
        }
    }
    w.u8(b.userns2 as u8);
    w.u8(b.block as u8);
    w.u8(b.joined_pidns as u8);
}

fn decode_built(r: &mut Reader) -> std::result::Result<Option<Built>, String> {
    if !r.bool()? {
        return Ok(None);
    }
    let ops = r.list(|r| {
        Ok(match r.u8()? {
            0 => RootOp::Bind {
                src: r.path()?,
                dst: r.path()?,
                read_only: r.bool()?,
                devices: r.bool()?,
            },
            1 => RootOp::Tmpfs {
                dst: r.path()?,
                mode: r.u32()?,
                size: match r.opt()? {
                    None => None,
                    Some(b) => Some(u64::from_le_bytes(
                        <[u8; 8]>::try_from(&b[..]).map_err(|_| "bad tmpfs size")?,
                    )),
                },
            },
            2 => RootOp::Proc { dst: r.path()? },
            3 => RootOp::Dev { dst: r.path()? },
            4 => RootOp::Mqueue { dst: r.path()? },
            5 => RootOp::Symlink {
                target: r.os()?,
                dst: r.path()?,
            },
            6 => RootOp::Dir {
                dst: r.path()?,
                mode: r.u32()?,
            },
            7 => RootOp::File {
                dst: r.path()?,
                data: r.bytes()?,
                mode: r.u32()?,
            },
            8 => RootOp::BindData {
                dst: r.path()?,
                data: r.bytes()?,
                mode: r.u32()?,
                read_only: r.bool()?,
            },
            9 => RootOp::Chmod {
                dst: r.path()?,
                mode: r.u32()?,
            },
            10 => RootOp::RemountRo { dst: r.path()? },
            11 => RootOp::Overlay {
                lowers: r.list(|r| r.path())?,
                upper: match r.u8()? {
                    0 => OverlayUpper::Dir {
                        upper: r.path()?,
                        work: r.path()?,
                    },
                    1 => OverlayUpper::Tmpfs,
                    2 => OverlayUpper::ReadOnly,
                    n => return Err(format!("bad overlay upper layer {n}")),
                },
                dst: r.path()?,
            },
            n => return Err(format!("bad root operation {n}")),
        })
    })?;
    Ok(Some(Built {
        ops,
        chdir_fallback: r.opt()?.map(OsString::from_vec),
        argv0: r.opt()?.map(OsString::from_vec),
        lock_files: r.list(|r| r.os())?,
        new_session: r.bool()?,
        seccomp: r.list(|r| r.bytes())?,
        caps: CapSets {
            bounding: r.u64()?,
            effective: r.u64()?,
            permitted: r.u64()?,
            inheritable: r.u64()?,
            ambient: r.u64()?,
        },
        disable_userns: r.bool()?,
        assert_userns_disabled: r.bool()?,
        self_exe: r.bool()?,
        mask_proc: r.bool()?,
        pass_fds: r.list(|r| {
            let (fd, at) = (r.u32()?, r.u32()?);
            match (i32::try_from(fd), i32::try_from(at)) {
                (Ok(fd), Ok(at)) if fd > 2 && at > 2 => Ok(PassFd { fd, at }),
                _ => Err(format!("bad passed fd {fd} at {at}")),
            }
        })?,
        userns: match r.u8()? {
            0 => BuiltUserns::Engine,
            1 => BuiltUserns::Caller { switch_to: None },
            2 => BuiltUserns::Caller {
                switch_to: Some((r.u32()?, r.u32()?)),
            },
            n => return Err(format!("bad user namespace kind {n}")),
        },
        userns2: r.bool()?,
        block: r.bool()?,
        joined_pidns: r.bool()?,
    }))
}

fn encode_tmpfs(w: &mut Writer, tmpfs: &[Tmpfs]) {
    w.u32(tmpfs.len() as u32);
    for t in tmpfs {
        w.bytes(t.dst.as_os_str().as_bytes());
        w.u64(t.size);
        w.u32(t.after_binds);
    }
}

fn decode_tmpfs(r: &mut Reader<'_>) -> std::result::Result<Vec<Tmpfs>, String> {
    r.list(|r| {
        Ok(Tmpfs {
            dst: r.path()?,
            size: r.u64()?,
            after_binds: r.u32()?,
        })
    })
}

/// `--net pasta`'s part: present or not, then the published ports, the
/// host-loopback address and `--dns`.
fn encode_pasta(w: &mut Writer, p: Option<&PastaPlan>) {
    w.u8(p.is_some() as u8);
    let Some(p) = p else { return };
    w.u32(p.publish.len() as u32);
    for f in &p.publish {
        w.bytes(f.host_ip.to_string().as_bytes());
        w.u32(f.host_port.into());
        w.u32(f.port.into());
        w.u8(matches!(f.proto, Proto::Udp) as u8);
    }
    let hl = p.host_loopback.map(|a| a.octets());
    w.opt(hl.as_ref().map(|o| &o[..]));
    w.u8(p.dns as u8);
    // The rules as their own text, which parse_allow reads back exactly.
    w.u32(p.allow.len() as u32);
    for a in &p.allow {
        w.bytes(a.to_string().as_bytes());
    }
    w.opt(p.nft.as_ref().map(|n| n.as_os_str().as_bytes()));
}

fn decode_pasta(r: &mut Reader) -> std::result::Result<Option<PastaPlan>, String> {
    if !r.bool()? {
        return Ok(None);
    }
    let port = |r: &mut Reader| -> std::result::Result<u16, String> {
        u16::try_from(r.u32()?).map_err(|_| "bad port".to_string())
    };
    let publish = r.list(|r| {
        let ip = r.string()?;
        let host_ip: std::net::IpAddr = ip.parse().map_err(|_| format!("bad address {ip:?}"))?;
        // Only the canonical text, as for the allow rules below.
        if host_ip.to_string() != ip {
            return Err(format!("address {ip:?} is not in its canonical form"));
        }
        Ok(Publish {
            host_ip,
            host_port: port(r)?,
            port: port(r)?,
            proto: if r.bool()? { Proto::Udp } else { Proto::Tcp },
        })
    })?;
    let host_loopback = match r.opt()? {
        None => None,
        Some(o) => Some(Ipv4Addr::from(
            <[u8; 4]>::try_from(&o[..]).map_err(|_| "bad host-loopback address")?,
        )),
    };
    let dns = r.bool()?;
    // Only the canonical text (what encode_pasta writes): parse_allow also
    // takes spellings such as a prefix "/06", which would decode to a
    // plan that encodes otherwise.
    let allow = r.list(|r| {
        let text = r.string()?;
        let rule = crate::confine::net::parse_allow(&text)?;
        if rule.to_string() != text {
            return Err(format!("allow rule {text:?} is not in its canonical form"));
        }
        Ok(rule)
    })?;
    let nft = r.opt()?.map(|p| PathBuf::from(OsString::from_vec(p)));
    Ok(Some(PastaPlan {
        publish,
        host_loopback,
        dns,
        allow,
        nft,
    }))
}

pub fn decode_plan(buf: &[u8]) -> std::result::Result<Plan, String> {
    let mut r = Reader::new(buf, MAGIC_PLAN)?;
    let rootfs = r.path()?;
    let command: Vec<OsString> = r.list(|r| r.os())?;
    if command.is_empty() {
        return Err("the plan has no command".into());
    }
    let hostname = r.string()?;
    let chdir = r.os()?;
    let setenv = r.list(|r| Ok((r.os()?, r.os()?)))?;
    let term = r.opt()?.map(OsString::from_vec);
    let uid = r.u32()?;
    let gid = r.u32()?;
    let share_net = r.bool()?;
    let root = match r.u8()? {
        0 => RootMode::Ephemeral,
        1 => RootMode::ReadOnly,
        2 => RootMode::ReadWrite,
        n => return Err(format!("bad root mode {n}")),
    };
    let binds = r.list(|r| {
        Ok(Bind {
            src: r.path()?,
            dst: r.path()?,
            read_only: r.bool()?,
            via_symlink: r.bool()?,
        })
    })?;
    let seccomp = r.bool()?;
    let seccomp_profile = match r.u8()? {
        0 => None,
        1 => Some(crate::confine::seccomp::profile::Profile {
            file: r.string()?,
            flags: r.u32()?,
            program: r.list(|r| r.u64())?,
        }),
        n => return Err(format!("bad option tag {n}")),
    };
    let report_denials = r.bool()?;
    let landlock = match r.u8()? {
        0 => LandlockMode::Auto,
        1 => LandlockMode::Require,
        2 => LandlockMode::Off,
        n => return Err(format!("bad landlock mode {n}")),
    };
    let sys = r.bool()?;
    let verbose = r.bool()?;
    let limits = r.list(|r| {
        let index = r.u8()?;
        if index as usize >= RESOURCES.len() {
            return Err(format!("bad resource {index}"));
        }
        Ok(Limit {
            index,
            value: r.u64()?,
        })
    })?;
    let ns_limits = r.list(|r| Ok((r.string()?, r.u64()?)))?;
    let init = r.bool()?;
    let sizes = Sizes {
        tmp: r.u64()?,
        shm: r.u64()?,
        root: r.u64()?,
    };
    let tmpfs = decode_tmpfs(&mut r)?;
    let stdio = match r.u8()? {
        0 => StdioMode::Relay,
        1 => StdioMode::Inherit,
        n => return Err(format!("bad stdio mode {n}")),
    };
    let pty = match r.u8()? {
        0 => None,
        1 => {
            let fds = r.u8()?;
            let termios = r.bytes()?;
            let mut winsize = [0u16; 4];
            for v in &mut winsize {
                *v = u16::try_from(r.u32()?).map_err(|_| "bad window size")?;
            }
            Some(PtyPlan {
                fds,
                termios,
                winsize,
            })
        }
        n => return Err(format!("bad pty tag {n}")),
    };
    let pasta = decode_pasta(&mut r)?;
    let subids = match r.u8()? {
        0 => None,
        1 => {
            let mut range = || -> std::result::Result<Range, String> {
                Ok(Range {
                    start: r.u32()?,
                    count: r.u32()?,
                })
            };
            let uid = range()?;
            let gid = range()?;
            let range_is_root = r.bool()?;
            Some(SubIds {
                uid,
                gid,
                range_is_root,
            })
        }
        n => return Err(format!("bad id map tag {n}")),
    };
    let (allow_paths, connect_ports) = decode_landlock(&mut r)?;
    let proxy = match r.u8()? {
        0 => None,
        1 => {
            let mut port = || u16::try_from(r.u32()?).map_err(|_| "bad proxy port".to_string());
            Some(ProxyPlan {
                http_port: port()?,
                socks_port: port()?,
            })
        }
        n => return Err(format!("bad proxy tag {n}")),
    };
    let host_mode = r.bool()?;
    let built = decode_built(&mut r)?;
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
        pasta,
        proxy,
        root,
        binds,
        seccomp,
        seccomp_profile,
        report_denials,
        landlock,
        allow_paths,
        connect_ports,
        sys,
        verbose,
        limits,
        ns_limits,
        init,
        sizes,
        tmpfs,
        stdio,
        pty,
        subids,
        host_mode,
        built,
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
    fn bool(&mut self) -> std::result::Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(format!("bad flag {n}")),
        }
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
    fn string(&mut self) -> std::result::Result<String, String> {
        String::from_utf8(self.bytes()?).map_err(|_| "text is not UTF-8".to_string())
    }
    fn os(&mut self) -> std::result::Result<OsString, String> {
        Ok(OsString::from_vec(self.bytes()?))
    }
    fn path(&mut self) -> std::result::Result<PathBuf, String> {
        Ok(PathBuf::from(self.os()?))
    }
    /// A u32 count, then that many items; the count cannot make us
    /// reserve more than the bytes left could hold.
    fn list<T>(
        &mut self,
        mut item: impl FnMut(&mut Self) -> std::result::Result<T, String>,
    ) -> std::result::Result<Vec<T>, String> {
        let n = self.u32()? as usize;
        if n > self.buf.len() {
            return Err("message ends early".into());
        }
        (0..n).map(|_| item(self)).collect()
    }
    fn opt(&mut self) -> std::result::Result<Option<Vec<u8>>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.bytes()?)),
            n => Err(format!("bad option tag {n}")),
        }
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
#[path = "channel_fuzz.rs"]
mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(r: &mut ReportReceiver) -> std::result::Result<Vec<Up>, String> {
        let mut v = Vec::new();
        while let Some(m) = r.next() {
            v.push(m?);
        }
        if r.has_partial() {
            return Err("partial".into());
        }
        Ok(v)
    }

    proptest! {
        #[test]
        fn garbage_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_error(&b);
            let _ = decode_up(&b);
            let _ = decode_plan(&b);
            let _ = decode_error_frame(&b);
            let _ = all(&mut ReportReceiver::from_bytes(&b));
        }

        #[test]
        fn messages_round_trip(msg in ".{0,40}", status in proptest::option::of(any::<i32>()),
                               err in any::<bool>(), notice in proptest::option::of(".{0,40}")) {
            let e = Error::msg("exec", msg);
            let mut want = Vec::new();
            let mut buf = Vec::new();
            if let Some(n) = &notice {
                let mut w = Writer(MAGIC_NOTICE.to_vec());
                w.bytes(n.as_bytes());
                buf.extend(frame(&w.0));
                want.push(Up::Notice(n.clone()));
            }
            if err {
                buf.extend(frame(&encode_error(&e)));
                want.push(Up::Error(e.clone()));
            }
            if let Some(s) = status {
                let mut w = Writer(MAGIC_STATUS.to_vec());
                w.u32(s as u32);
                w.u32(s as u32 & 3);
                buf.extend(frame(&w.0));
                want.push(Up::Status(s, s as u32 & 3));
            }
            prop_assert_eq!(all(&mut ReportReceiver::from_bytes(&buf)).unwrap(), want);
            if !buf.is_empty() {
                prop_assert!(all(&mut ReportReceiver::from_bytes(&buf[..buf.len() - 1])).is_err());
            }
        }

        #[test]
        fn joined_round_trips(pid in 1..i32::MAX, namespaces in any::<[u64; 6]>(),
                              notice in ".{0,20}") {
            let m = Up::Joined { pid, namespaces };
            let rec = encode_up(&m);
            prop_assert_eq!(decode_up(&rec), Ok(m.clone()));
            // Among other frames, in order; every shorter record refused.
            let mut buf = frame(&encode_up(&Up::Notice(notice.clone())));
            buf.extend(frame(&rec));
            prop_assert_eq!(
                all(&mut ReportReceiver::from_bytes(&buf)).unwrap(),
                vec![Up::Notice(notice), m]
            );
            for cut in [0, MAGIC_JOINED.len(), rec.len() - 1] {
                prop_assert!(decode_up(&rec[..cut]).is_err());
            }
            let mut longer = rec.clone();
            longer.push(0);
            prop_assert!(decode_up(&longer).is_err());
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

        #[test]
        fn plans_round_trip(plan in arb_plan()) {
            let bytes = encode_plan(&plan);
            prop_assert_eq!(decode_plan(&bytes).unwrap(), plan);
            // Every shorter prefix is refused, never misread.
            for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
                prop_assert!(decode_plan(&bytes[..cut]).is_err());
            }
        }
    }

    fn os() -> impl Strategy<Value = OsString> {
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(OsString::from_vec)
    }

    /// Any root operation of a built root (the bwrap front end).
    fn arb_root_op() -> impl Strategy<Value = RootOp> {
        let path = || os().prop_map(PathBuf::from);
        prop_oneof![
            (path(), path(), any::<bool>(), any::<bool>()).prop_map(
                |(src, dst, read_only, devices)| RootOp::Bind {
                    src,
                    dst,
                    read_only,
                    devices
                }
            ),
            (path(), any::<u32>(), proptest::option::of(any::<u64>()))
                .prop_map(|(dst, mode, size)| RootOp::Tmpfs { dst, mode, size }),
            path().prop_map(|dst| RootOp::Proc { dst }),
            path().prop_map(|dst| RootOp::Dev { dst }),
            path().prop_map(|dst| RootOp::Mqueue { dst }),
            (os(), path()).prop_map(|(target, dst)| RootOp::Symlink { target, dst }),
            (path(), any::<u32>()).prop_map(|(dst, mode)| RootOp::Dir { dst, mode }),
            (
                path(),
                proptest::collection::vec(any::<u8>(), 0..8),
                any::<u32>()
            )
                .prop_map(|(dst, data, mode)| RootOp::File { dst, data, mode }),
            (
                path(),
                proptest::collection::vec(any::<u8>(), 0..8),
                any::<u32>(),
                any::<bool>()
            )
                .prop_map(|(dst, data, mode, read_only)| RootOp::BindData {
                    dst,
                    data,
                    mode,
                    read_only
                }),
            (path(), any::<u32>()).prop_map(|(dst, mode)| RootOp::Chmod { dst, mode }),
            path().prop_map(|dst| RootOp::RemountRo { dst }),
            (
                proptest::collection::vec(path(), 0..4),
                0u8..3,
                path(),
                path(),
                path()
            )
                .prop_map(|(lowers, kind, upper, work, dst)| RootOp::Overlay {
                    lowers,
                    upper: match kind {
                        0 => OverlayUpper::Dir { upper, work },
                        1 => OverlayUpper::Tmpfs,
                        _ => OverlayUpper::ReadOnly,
                    },
                    dst,
                }),
        ]
    }

    prop_compose! {
        fn arb_built()(
            ops in proptest::collection::vec(arb_root_op(), 0..4),
            chdir_fallback in proptest::option::of(os()), argv0 in proptest::option::of(os()),
            lock_files in proptest::collection::vec(os(), 0..2), new_session in any::<bool>(),
            seccomp in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..16), 0..2),
            pass_fds in proptest::collection::vec((3i32..i32::MAX, 3i32..i32::MAX), 0..3),
            sets in any::<(u64, u64, u64, u64, u64)>(),
            flags in any::<(bool, bool, bool, bool)>(),
            userns in (0u8..3, any::<(u32, u32)>()),
            given in any::<(bool, bool, bool)>(),
        ) -> Built {
            let userns = match userns.0 {
                0 => BuiltUserns::Engine,
                1 => BuiltUserns::Caller { switch_to: None },
                _ => BuiltUserns::Caller { switch_to: Some(userns.1) },
            };
            let pass_fds = pass_fds.into_iter().map(|(fd, at)| PassFd { fd, at }).collect();
            let caps = CapSets {
                bounding: sets.0,
                effective: sets.1,
                permitted: sets.2,
                inheritable: sets.3,
                ambient: sets.4,
            };
            Built {
                ops, chdir_fallback, argv0, lock_files, new_session, seccomp, pass_fds, caps,
                disable_userns: flags.0, assert_userns_disabled: flags.1, self_exe: flags.2,
                mask_proc: flags.3,
                userns, userns2: given.0, block: given.1, joined_pidns: given.2,
            }
        }
    }

    prop_compose! {
        pub(super) fn arb_plan()(
            rootfs in os(), command in proptest::collection::vec(os(), 1..4),
            hostname in "[a-z]{1,10}", chdir in os(),
            setenv in proptest::collection::vec((os(), os()), 0..3),
            term in proptest::option::of(os()), uid in any::<u32>(), gid in any::<u32>(),
            flags in any::<(bool, bool, bool, bool, bool)>(),
            root in 0u8..3, landlock in 0u8..3,
            binds in proptest::collection::vec((os(), os(), any::<bool>(), any::<bool>()), 0..3),
            limits in proptest::collection::vec((0..RESOURCES.len() as u8, any::<u64>()), 0..3),
            ns_limits in proptest::collection::vec(("[a-z._]{1,30}", any::<u64>()), 0..3),
            sizes in any::<(u64, u64, u64)>(),
            tmpfs in proptest::collection::vec((os(), any::<u64>(), any::<u32>()), 0..3),
            inherit in any::<bool>(),
            pty in proptest::option::of((0u8..8, proptest::collection::vec(any::<u8>(), 0..60), any::<[u16; 4]>())),
            pasta in proptest::option::of((
                proptest::collection::vec((any::<[u8; 16]>(), any::<bool>(), 1u16.., 1u16.., any::<bool>()), 0..3),
                proptest::option::of(any::<[u8; 4]>()), any::<bool>(),
                proptest::collection::vec((any::<[u8; 4]>(), 0u8..=32, proptest::option::of((1u16.., 1u16..)), 0u8..3), 0..3),
                proptest::option::of(os()),
            )),
            subids in proptest::option::of(any::<([u32; 4], bool)>()),
            seccomp_profile in proptest::option::of(("[ -~]{0,20}", any::<u32>(), proptest::collection::vec(any::<u64>(), 0..5))),
            report_denials in any::<bool>(),
            allow_paths in proptest::collection::vec((0u8..3, os()), 0..3),
            connect_ports in proptest::option::of(proptest::collection::vec(any::<u16>(), 0..3)),
            proxy in proptest::option::of(any::<(u16, u16)>()),
            host_mode in any::<bool>(),
            built in proptest::option::of(arb_built()),
        ) -> Plan {
            Plan {
                rootfs: rootfs.into(), command, hostname, chdir, setenv, term, uid, gid,
                share_net: flags.0, seccomp: flags.1, sys: flags.2, verbose: flags.3, init: flags.4,
                root: [RootMode::Ephemeral, RootMode::ReadOnly, RootMode::ReadWrite][root as usize],
                landlock: [LandlockMode::Auto, LandlockMode::Require, LandlockMode::Off][landlock as usize],
                binds: binds.into_iter().map(|(s, d, ro, via)| Bind { src: s.into(), dst: d.into(), read_only: ro, via_symlink: via }).collect(),
                limits: limits.into_iter().map(|(index, value)| Limit { index, value }).collect(),
                ns_limits,
                sizes: Sizes { tmp: sizes.0, shm: sizes.1, root: sizes.2 },
                tmpfs: tmpfs.into_iter().map(|(d, size, after_binds)| Tmpfs { dst: d.into(), size, after_binds }).collect(),
                stdio: if inherit { StdioMode::Inherit } else { StdioMode::Relay },
                pty: pty.map(|(fds, termios, winsize)| PtyPlan { fds, termios, winsize }),
                pasta: pasta.map(|(publish, hl, dns, allow, nft)| PastaPlan {
                    allow: allow.into_iter().map(|(a, prefix, ports, proto)| crate::confine::net::AllowRule {
                        addr: std::net::IpAddr::from(a), prefix,
                        ports: ports.map(|(x, y)| (x.min(y), x.max(y))),
                        proto: [None, Some(Proto::Tcp), Some(Proto::Udp)][proto as usize],
                    }).collect(),
                    nft: nft.map(Into::into),
                    publish: publish.into_iter().map(|(ip, v6, host_port, port, udp)| Publish {
                        host_ip: if v6 {
                            std::net::IpAddr::from(ip)
                        } else {
                            std::net::IpAddr::from([ip[0], ip[1], ip[2], ip[3]])
                        },
                        host_port, port,
                        proto: if udp { Proto::Udp } else { Proto::Tcp },
                    }).collect(),
                    host_loopback: hl.map(Ipv4Addr::from),
                    dns,
                }),
                proxy: proxy.map(|(http_port, socks_port)| ProxyPlan { http_port, socks_port }),
                subids: subids.map(|([a, b, c, d], rr)| SubIds { uid: Range { start: a, count: b }, gid: Range { start: c, count: d }, range_is_root: rr }),
                seccomp_profile: seccomp_profile.map(|(file, flags, program)| crate::confine::seccomp::profile::Profile { file, flags, program }),
                report_denials,
                allow_paths: allow_paths.into_iter().map(|(a, p)| ([PathAccess::Read, PathAccess::Write, PathAccess::Exec][a as usize], p.into())).collect(),
                connect_ports,
                host_mode,
                built,
            }
        }
    }

    /// A built root (the bwrap front end) comes back as it went: every
    /// kind of operation, in its order, and the process's settings.
    #[test]
    fn a_built_root_round_trips() {
        let mut a = crate::plan::RunArgs::new("/");
        a.built = Some(Built {
            ops: vec![
                RootOp::Bind {
                    src: "/usr".into(),
                    dst: "/usr".into(),
                    read_only: true,
                    devices: false,
                },
                RootOp::Bind {
                    src: "/".into(),
                    dst: "/".into(),
                    read_only: false,
                    devices: true,
                },
                RootOp::Tmpfs {
                    dst: "/tmp".into(),
                    mode: 0o1777,
                    size: Some(1 << 20),
                },
                RootOp::Tmpfs {
                    dst: "/run".into(),
                    mode: 0o755,
                    size: None,
                },
                RootOp::Proc {
                    dst: "/proc".into(),
                },
                RootOp::Dev { dst: "/dev".into() },
                RootOp::Mqueue {
                    dst: "/dev/mqueue".into(),
                },
                RootOp::Symlink {
                    target: "usr/lib".into(),
                    dst: "/lib".into(),
                },
                RootOp::Dir {
                    dst: "/var/tmp".into(),
                    mode: 0o1741,
                },
                RootOp::File {
                    dst: "/etc/x".into(),
                    data: b"a\0b".to_vec(),
                    mode: 0o640,
                },
                RootOp::BindData {
                    dst: "/etc/y".into(),
                    data: vec![],
                    mode: 0o600,
                    read_only: true,
                },
                RootOp::Chmod {
                    dst: "/var".into(),
                    mode: 0o700,
                },
                RootOp::RemountRo { dst: "/".into() },
                RootOp::Overlay {
                    lowers: vec!["/a".into(), "/b,c:d\\e".into()],
                    upper: OverlayUpper::Dir {
                        upper: "/u".into(),
                        work: "/w".into(),
                    },
                    dst: "/o".into(),
                },
                RootOp::Overlay {
                    lowers: vec!["/a".into()],
                    upper: OverlayUpper::Tmpfs,
                    dst: "/t".into(),
                },
                RootOp::Overlay {
                    lowers: vec![],
                    upper: OverlayUpper::ReadOnly,
                    dst: "/r".into(),
                },
            ],
            chdir_fallback: Some("/home/u".into()),
            argv0: Some("sh".into()),
            lock_files: vec!["/tmp/lock".into()],
            new_session: true,
            seccomp: vec![vec![6, 0, 0, 0, 0, 0, 0xff, 0x7f]],
            caps: CapSets {
                bounding: u64::MAX,
                effective: 1 << 21,
                permitted: 1 << 40 | 1,
                inheritable: 1 << 63,
                ambient: 0x2000,
            },
            disable_userns: true,
            assert_userns_disabled: false,
            self_exe: true,
            mask_proc: true,
            pass_fds: vec![PassFd { fd: 3, at: 12 }, PassFd { fd: 100, at: 100 }],
            userns: BuiltUserns::Caller {
                switch_to: Some((1000, 100)),
            },
            userns2: true,
            block: true,
            joined_pidns: true,
        });
        let (plan, _) = Plan::from_args(a.clone(), None).unwrap();
        assert_eq!(decode_plan(&encode_plan(&plan)).unwrap(), plan);
        for userns in [BuiltUserns::Engine, BuiltUserns::Caller { switch_to: None }] {
            let mut b = plan.clone();
            b.built.as_mut().unwrap().userns = userns;
            assert_eq!(decode_plan(&encode_plan(&b)).unwrap(), b);
        }
        let enc = encode_plan(&plan);
        assert!(decode_plan(&enc[..enc.len() - 1]).is_err());
    }

    /// The one wire format of an Error, as `sandbox run`'s stage,
    /// `sandbox-oci exec` and `sandbox-oci init` send it (socket, pipe or
    /// exec FIFO): every field comes back as it went, with either reason.
    #[test]
    fn an_error_round_trips_with_every_field() {
        use std::os::fd::AsRawFd;
        let errors = [
            Error::errno("mount proc", Some("/proc".into()), libc::EPERM)
                .with_hint("a hint: with colons")
                .with_exit(crate::error::EXIT_CANNOT_EXEC),
            Error::msg("exec", "\"/x\": stat /x: no such file or directory")
                .with_path("/x")
                .with_hint("h")
                .with_exit(crate::error::EXIT_NOT_FOUND),
        ];
        for e in errors {
            // Through the sender and the reader create uses.
            let (r, w) = sys::pipe_high().unwrap();
            ReportSender::new(w.as_raw_fd())
                .up(&Up::Error(e.clone()))
                .unwrap();
            ReportSender::new(w.as_raw_fd()).error(&e);
            drop(w);
            let mut rr = ReportReceiver::new(r);
            for _ in 0..2 {
                assert_eq!(rr.wait_next().unwrap(), Some(Ok(Up::Error(e.clone()))));
            }
            assert_eq!(rr.wait_next().unwrap(), None);
            // Through the frame init writes to the exec FIFO for `start`.
            let f = error_frame(&e);
            assert_eq!(decode_error_frame(&f).unwrap(), e);
            assert!(decode_error_frame(&f[..f.len() - 1]).is_err());
            assert!(decode_error_frame(&[f.as_slice(), &[0]].concat()).is_err());
        }
    }

    #[test]
    fn init_points_round_trip_and_a_cut_frame_is_an_error() {
        use std::os::fd::AsRawFd;
        let (r, w) = sys::pipe_high().unwrap();
        let s = ReportSender::new(w.as_raw_fd());
        s.up(&Up::Reached(Point::Hooks)).unwrap();
        s.up(&Up::Reached(Point::Ready)).unwrap();
        s.up(&Up::Reached(Point::Isolated)).unwrap();
        let cut = error_frame(&Error::msg("a", "b"));
        sys::write_all(w.as_raw_fd(), &cut[..cut.len() - 1]).unwrap();
        drop(w);
        let mut rr = ReportReceiver::new(r);
        assert_eq!(rr.wait_next().unwrap(), Some(Ok(Up::Reached(Point::Hooks))));
        assert_eq!(rr.wait_next().unwrap(), Some(Ok(Up::Reached(Point::Ready))));
        assert_eq!(rr.peek(), Some(Ok(Up::Reached(Point::Isolated))));
        assert_eq!(
            rr.wait_next().unwrap(),
            Some(Ok(Up::Reached(Point::Isolated)))
        );
        assert!(matches!(rr.wait_next().unwrap(), Some(Err(_))));
    }

    #[test]
    fn a_prepared_error_is_the_error_with_its_errno() {
        let mut p = PreparedError::new("exec the child stage", Some("/proc/self/exe"), Some("h"));
        p.buf[p.errno_at..p.errno_at + 4].copy_from_slice(&(libc::ENOENT as u32).to_le_bytes());
        let mut r = ReportReceiver::from_bytes(&p.buf);
        let want = Error::errno(
            "exec the child stage",
            Some("/proc/self/exe".into()),
            libc::ENOENT,
        )
        .with_hint("h");
        assert_eq!(all(&mut r).unwrap(), vec![Up::Error(want)]);
    }
}
