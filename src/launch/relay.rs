//! The caller's stdin, stdout and stderr, and what the sandbox gets in
//! their place (docs/SECURITY.md, D11; docs/DECISIONS.md, "Stdio").
//!
//! Under `--stdio relay` (the default) the sandbox never holds the caller's
//! terminal or a file of the caller's:
//!
//! - a **terminal** on any of fds 0–2: the child stage makes a pty in the
//!   sandbox's own devpts, makes its replica the controlling terminal of a
//!   new session and the command's stdio in place of the terminal, and sends
//!   the master up the pty socket (channel.rs, `TTY_FD`). The launcher puts
//!   the caller's terminal in raw mode and relays both ways (`Relay`);
//! - a **regular file**, a block or character device (but /dev/null),
//!   anything that is neither pipe nor socket: a pipe, which the launcher
//!   pumps to or from the caller's descriptor with splice (`Pump`);
//! - **pipes, sockets, /dev/null and closed descriptors** are passed as
//!   they are (a named pipe is pumped: its inode is on disk).
//!
//! Launcher side: `prepare` (before clone) → `Prepared::after_clone` →
//! `Relay`, driven by `Supervisor::wait`'s poll loop. Child side:
//! `make_pty`.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::error::{Context, Result};
use crate::plan::{PtyPlan, StdioMode};
use crate::sys;

/// How much one splice or read moves at most.
const CHUNK: usize = 1 << 20;
/// The buffer for the terminal relay (and the read/write fallback).
const BUF: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Passed as it is.
    Pass,
    /// Replaced by a pipe the launcher pumps.
    Pump,
    /// Replaced by the replica of the sandbox's pty.
    Tty,
}

fn classify(fd: RawFd) -> Kind {
    if sys::isatty(fd) {
        return Kind::Tty;
    }
    match sys::fstat_raw(fd) {
        // Closed: nothing of the caller's to hand over.
        Err(_) => Kind::Pass,
        Ok(st) => match st.st_mode & libc::S_IFMT {
            // A socket's inode is sockfs's, a pipe's pipefs's: nothing
            // anyone else looks at. A named pipe's is on disk: pumped.
            libc::S_IFSOCK => Kind::Pass,
            libc::S_IFIFO if sys::is_anonymous_pipe(fd) => Kind::Pass,
            // /dev/null: owned by the host's root, so its mode, owner and
            // xattrs are out of reach; only its times could be touched
            // (SECURITY.md, known limits).
            libc::S_IFCHR if sys::major_minor(st.st_rdev) == (1, 3) => Kind::Pass,
            _ => Kind::Pump,
        },
    }
}

/// The caller's terminal, as the relay uses it.
struct TtyPrep {
    /// The launcher's end of the pty socket.
    sock: OwnedFd,
    /// A dup of the caller's stdin when it is a terminal: read, and put in
    /// raw mode while the relay runs.
    input: Option<OwnedFd>,
    /// Where the pty's output goes: a dup of the first terminal among
    /// stdout, stderr, stdin.
    output: OwnedFd,
    /// The input terminal's settings before the run.
    saved: Option<sys::Termios>,
}

/// Everything the relay needs, made before clone.
pub struct Prepared {
    /// What the clone child dup2s onto fds 0, 1, 2 (-1: leave it).
    pub child_stdio: [RawFd; 3],
    /// What it dup2s onto `channel::TTY_FD` (-1: none).
    pub child_tty: RawFd,
    /// The child's ends, closed by the launcher after clone.
    child_ends: Vec<OwnedFd>,
    pumps: Vec<Pump>,
    tty: Option<TtyPrep>,
    /// The pty the child stage is to make, for the plan.
    pub pty: Option<PtyPlan>,
}

/// Look at the caller's fds 0–2 and make the pipes, the socket and the
/// dups the relay needs. Under `--stdio inherit`, nothing.
pub fn prepare(mode: StdioMode) -> Result<Prepared> {
    prepare_with(mode, true)
}

/// `prepare`, with `tty` false (`sandbox exec` without `-t`): a terminal
/// is pumped as a byte stream like a file, and no pty is made.
pub fn prepare_with(mode: StdioMode, tty: bool) -> Result<Prepared> {
    let mut p = Prepared {
        child_stdio: [-1; 3],
        child_tty: -1,
        child_ends: Vec::new(),
        pumps: Vec::new(),
        tty: None,
        pty: None,
    };
    if mode == StdioMode::Inherit {
        return Ok(p);
    }
    let kind = |fd| match classify(fd) {
        Kind::Tty if !tty => Kind::Pump,
        k => k,
    };
    let kinds = [kind(0), kind(1), kind(2)];
    // stdin
    if kinds[0] == Kind::Pump {
        let (r, w) = sys::pipe_high().ctx_step("create the stdin pipe")?;
        sys::set_nonblocking(w.as_fd(), true).ctx_step("create the stdin pipe")?;
        let caller = sys::dup_high_raw(0).ctx("duplicate", "stdin")?;
        p.child_stdio[0] = r.as_raw_fd();
        p.child_ends.push(r);
        p.pumps.push(Pump::new(caller, w, true));
    }
    // stdout and stderr; one pipe for both when they are the same file
    // (`>log 2>&1`), so their order is kept.
    let ino = |fd| sys::fstat_raw(fd).ok().map(|st| (st.st_dev, st.st_ino));
    let shared = kinds[1] == Kind::Pump && kinds[2] == Kind::Pump && ino(1) == ino(2);
    for fd in [1, 2] {
        if kinds[fd as usize] != Kind::Pump {
            continue;
        }
        if fd == 2 && shared {
            p.child_stdio[2] = p.child_stdio[1];
            continue;
        }
        let (r, w) = sys::pipe_high().ctx_step("create an output pipe")?;
        sys::set_nonblocking(r.as_fd(), true).ctx_step("create an output pipe")?;
        let caller =
            sys::dup_high_raw(fd).ctx("duplicate", if fd == 1 { "stdout" } else { "stderr" })?;
        p.child_stdio[fd as usize] = w.as_raw_fd();
        p.child_ends.push(w);
        p.pumps.push(Pump::new(r, caller, false));
    }
    if kinds.contains(&Kind::Tty) {
        let (mine, theirs) = sys::socketpair_high().ctx_step("create the pty socket")?;
        let input = match kinds[0] {
            Kind::Tty => Some(sys::dup_high_raw(0).ctx("duplicate", "stdin")?),
            _ => None,
        };
        let out_fd = [1, 2, 0]
            .into_iter()
            .find(|&fd| kinds[fd as usize] == Kind::Tty)
            .unwrap_or(0);
        let output = sys::dup_high_raw(out_fd).ctx("duplicate", "the terminal")?;
        let saved = input.as_ref().and_then(|i| sys::tcgetattr(i.as_fd()).ok());
        let term = input.as_ref().map_or(output.as_fd(), |i| i.as_fd());
        let winsize = sys::get_winsize(term)
            .map(|w| [w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel])
            .unwrap_or([0; 4]);
        let termios = sys::tcgetattr(term)
            .map(|t| termios_to_bytes(&t))
            .unwrap_or_default();
        let fds = (0..3)
            .filter(|&i| kinds[i] == Kind::Tty)
            .fold(0u8, |m, i| m | 1 << i);
        p.pty = Some(PtyPlan {
            fds,
            termios,
            winsize,
        });
        p.child_tty = theirs.as_raw_fd();
        p.child_ends.push(theirs);
        p.tty = Some(TtyPrep {
            sock: mine,
            input,
            output,
            saved,
        });
    }
    Ok(p)
}

impl Prepared {
    /// The terminal and its settings, for the guard to restore if the
    /// launcher dies while the terminal is raw.
    pub fn guard_tty(&self) -> Option<(RawFd, sys::Termios)> {
        let t = self.tty.as_ref()?;
        Some((t.input.as_ref()?.as_raw_fd(), t.saved?))
    }

    /// After clone: close the child's ends (a pipe reads EOF only once
    /// every write end is gone) and hand over the rest.
    pub fn after_clone(self) -> Relay {
        drop(self.child_ends);
        Relay {
            pumps: self.pumps,
            tty: self.tty.map(|t| Tty {
                sock: Some(t.sock),
                master: None,
                input: t.input,
                output: t.output,
                saved: t.saved,
                raw: false,
                to_master: Buf::default(),
                to_output: Buf::default(),
                master_done: false,
            }),
        }
    }
}

/// Pending bytes of one direction.
#[derive(Default)]
struct Buf {
    data: Vec<u8>,
    off: usize,
}

impl Buf {
    fn pending(&self) -> bool {
        self.off < self.data.len()
    }

    /// Write what is pending to `to`; Ok(false) when it would block.
    fn flush(&mut self, to: BorrowedFd<'_>) -> io::Result<bool> {
        while self.pending() {
            match sys::write_some(to, &self.data[self.off..]) {
                Ok(n) => self.off += n,
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        self.data.clear();
        self.off = 0;
        Ok(true)
    }

    /// One read from `from` into the (empty) buffer: Ok(None) at EOF,
    /// Ok(Some(0)) when nothing was there.
    fn fill(&mut self, from: BorrowedFd<'_>) -> io::Result<Option<usize>> {
        self.data.resize(BUF, 0);
        self.off = 0;
        let r = sys::read_some(from, &mut self.data);
        let n = match r {
            Ok(0) => {
                self.data.clear();
                return Ok(None);
            }
            Ok(n) => n,
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => 0,
            Err(e) => {
                self.data.clear();
                return Err(e);
            }
        };
        self.data.truncate(n);
        Ok(Some(n))
    }
}

/// One pumped descriptor: the caller's file and our pipe, either way.
struct Pump {
    /// For stdin the caller's file; otherwise our pipe's read end
    /// (non-blocking).
    from: Option<OwnedFd>,
    /// For stdin our pipe's write end (non-blocking); otherwise the
    /// caller's file.
    to: Option<OwnedFd>,
    stdin: bool,
    /// splice until the kernel says it cannot (EINVAL: an O_APPEND file, a
    /// file system without splice), then read and write.
    splice: bool,
    buf: Buf,
    /// The output side was full at the last try.
    blocked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Moved,
    Idle,
    Done,
}

impl Pump {
    fn new(from: OwnedFd, to: OwnedFd, stdin: bool) -> Pump {
        Pump {
            from: Some(from),
            to: Some(to),
            stdin,
            splice: true,
            buf: Buf::default(),
            blocked: false,
        }
    }

    /// What to wait for: the output side when it was full or bytes are
    /// pending, else the input side.
    fn interest(&self) -> Option<(BorrowedFd<'_>, i16)> {
        let (from, to) = (self.from.as_ref()?, self.to.as_ref()?);
        Some(if self.blocked || self.buf.pending() {
            (to.as_fd(), libc::POLLOUT)
        } else {
            (from.as_fd(), libc::POLLIN)
        })
    }

    /// Close both sides: for stdin, the command reads EOF; for output,
    /// its next write gets EPIPE.
    fn finish(&mut self) -> Step {
        self.from = None;
        self.to = None;
        Step::Done
    }

    fn step(&mut self) -> Step {
        let (Some(from), Some(to)) = (&self.from, &self.to) else {
            return Step::Done;
        };
        if self.buf.pending() {
            return match self.buf.flush(to.as_fd()) {
                Ok(true) => Step::Moved,
                Ok(false) => Step::Idle,
                Err(_) => self.finish(),
            };
        }
        if self.splice {
            match sys::splice(from.as_fd(), to.as_fd(), CHUNK) {
                Ok(0) => return self.finish(),
                Ok(_) => {
                    self.blocked = false;
                    return Step::Moved;
                }
                Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                    // For stdin our pipe is full; for output our pipe is
                    // empty. (A caller's file that says EAGAIN itself was
                    // set O_NONBLOCK by someone: both sides are then
                    // waited for in turn.)
                    self.blocked = self.stdin && !self.blocked;
                    return Step::Idle;
                }
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => self.splice = false,
                Err(_) => return self.finish(),
            }
        }
        match self.buf.fill(from.as_fd()) {
            Ok(None) | Err(_) => self.finish(),
            Ok(Some(0)) => Step::Idle,
            Ok(Some(_)) => match self.buf.flush(to.as_fd()) {
                Ok(_) => Step::Moved,
                Err(_) => self.finish(),
            },
        }
    }
}

/// The relay between the caller's terminal and the sandbox's pty.
struct Tty {
    /// Until the master has come.
    sock: Option<OwnedFd>,
    master: Option<OwnedFd>,
    input: Option<OwnedFd>,
    output: OwnedFd,
    saved: Option<sys::Termios>,
    /// Whether the caller's terminal is in raw mode now.
    raw: bool,
    to_master: Buf,
    to_output: Buf,
    /// The master said EIO: every replica is closed.
    master_done: bool,
}

/// What a polled descriptor is, for `Relay::ready`.
#[derive(Debug, Clone, Copy)]
pub enum Token {
    Pump(usize),
    Sock,
    MasterIn,
    MasterOut,
    Input,
    Output,
}

/// The launcher's side, while the sandbox runs.
pub struct Relay {
    pumps: Vec<Pump>,
    tty: Option<Tty>,
}

impl Relay {
    /// Whether it moves anything (pipes or a pty); a run whose stdio is
    /// the caller's own has nothing to drain at the end.
    pub fn is_idle(&self) -> bool {
        self.pumps.is_empty() && self.tty.is_none()
    }

    /// The descriptors to poll, with what each is.
    pub fn interest(&self) -> Vec<(BorrowedFd<'_>, i16, Token)> {
        let mut v = Vec::new();
        for (i, p) in self.pumps.iter().enumerate() {
            if let Some((fd, ev)) = p.interest() {
                v.push((fd, ev, Token::Pump(i)));
            }
        }
        let Some(t) = &self.tty else {
            return v;
        };
        if let Some(s) = &t.sock {
            v.push((s.as_fd(), libc::POLLIN, Token::Sock));
        }
        let Some(m) = &t.master else {
            return v;
        };
        if !t.master_done {
            if t.to_output.pending() {
                v.push((t.output.as_fd(), libc::POLLOUT, Token::Output));
            } else {
                v.push((m.as_fd(), libc::POLLIN, Token::MasterOut));
            }
            if t.to_master.pending() {
                v.push((m.as_fd(), libc::POLLOUT, Token::MasterIn));
            } else if let Some(i) = &t.input {
                v.push((i.as_fd(), libc::POLLIN, Token::Input));
            }
        }
        v
    }

    /// One poll over `base` (the caller's own descriptors, in order), the
    /// report pipe while it is open, and the relay's descriptors, each of
    /// which is then served. Returns `base`'s revents and whether the
    /// report pipe is readable. `step` names the wait in an error.
    pub fn poll_round(
        &mut self,
        base: &[BorrowedFd<'_>],
        reports: &crate::channel::ReportReceiver,
        timeout: libc::c_int,
        step: &str,
    ) -> Result<(Vec<i16>, bool)> {
        let (rev, report_at, tokens) = {
            let mut fds: Vec<(BorrowedFd<'_>, i16)> =
                base.iter().map(|fd| (*fd, libc::POLLIN)).collect();
            let report_at = reports.is_open().then(|| {
                fds.push((reports.fd(), libc::POLLIN));
                fds.len() - 1
            });
            let mut tokens = Vec::new();
            for (fd, ev, tok) in self.interest() {
                fds.push((fd, ev));
                tokens.push(tok);
            }
            (sys::poll(&fds, timeout).ctx_step(step)?, report_at, tokens)
        };
        self.ready(&tokens, &rev[rev.len() - tokens.len()..]);
        let report_ready = report_at.is_some_and(|i| rev[i] != 0);
        Ok((rev[..base.len()].to_vec(), report_ready))
    }

    /// Act on what poll said, for the descriptors `interest` gave.
    pub fn ready(&mut self, tokens: &[Token], revents: &[i16]) {
        for (tok, &rev) in tokens.iter().zip(revents) {
            if rev == 0 {
                continue;
            }
            match *tok {
                Token::Pump(i) => {
                    self.pumps[i].step();
                }
                Token::Sock => self.take_master(),
                Token::MasterOut => {
                    self.master_to_output(false);
                }
                Token::Output => {
                    if let Some(t) = &mut self.tty {
                        if t.to_output.flush(t.output.as_fd()).is_err() {
                            t.to_output = Buf::default();
                        }
                    }
                }
                Token::Input => self.input_to_master(),
                Token::MasterIn => {
                    if let Some(t) = &mut self.tty {
                        if let Some(m) = &t.master {
                            if t.to_master.flush(m.as_fd()).is_err() {
                                t.to_master = Buf::default();
                            }
                        }
                    }
                }
            }
        }
    }

    /// The master has come up the pty socket (or the socket closed: the
    /// stage failed, and says why on the report pipe).
    fn take_master(&mut self) {
        let Some(t) = &mut self.tty else { return };
        let Some(sock) = t.sock.take() else { return };
        let Ok(Some(master)) = sys::recv_fd(sock.as_fd()) else {
            return;
        };
        let _ = sys::set_nonblocking(master.as_fd(), true);
        // The size may have changed since the plan was made.
        let term = t.input.as_ref().unwrap_or(&t.output);
        if let Ok(w) = sys::get_winsize(term.as_fd()) {
            let _ = sys::set_winsize(master.as_fd(), &w);
        }
        // Raw: every key goes to the pty as a byte, and its line discipline
        // does the echo, the editing and ^C, ^Z, ^\ for the sandbox.
        if let (Some(i), Some(saved)) = (&t.input, &t.saved) {
            let mut raw = *saved;
            make_raw(&mut raw);
            t.raw = sys::tcsetattr(i.as_fd(), &raw).is_ok();
        }
        t.master = Some(master);
    }

    fn input_to_master(&mut self) {
        let Some(t) = &mut self.tty else { return };
        let (Some(i), Some(m)) = (&t.input, &t.master) else {
            return;
        };
        match t.to_master.fill(i.as_fd()) {
            // EOF or an error (the terminal hung up): nothing more to send.
            Ok(None) | Err(_) => t.input = None,
            Ok(Some(_)) => {
                if t.to_master.flush(m.as_fd()).is_err() {
                    t.to_master = Buf::default();
                }
            }
        }
    }

    /// Move what the pty has to the caller's terminal. `block`: at the end,
    /// write it all out.
    fn master_to_output(&mut self, block: bool) -> Step {
        let Some(t) = &mut self.tty else {
            return Step::Done;
        };
        let Some(m) = &t.master else {
            return Step::Done;
        };
        if t.master_done {
            return Step::Done;
        }
        match t.to_output.fill(m.as_fd()) {
            // EIO: no replica is open any more.
            Ok(None) | Err(_) => {
                t.master_done = true;
                Step::Done
            }
            Ok(Some(0)) => Step::Idle,
            Ok(Some(_)) => {
                let r = if block {
                    sys::write_all(t.output.as_raw_fd(), &t.to_output.data[t.to_output.off..])
                        .map(|_| true)
                } else {
                    t.to_output.flush(t.output.as_fd())
                };
                match r {
                    Ok(true) if block => t.to_output = Buf::default(),
                    Ok(_) => {}
                    Err(_) => t.to_output = Buf::default(),
                }
                Step::Moved
            }
        }
    }

    /// SIGWINCH: give the pty the caller's new size (the kernel signals the
    /// sandbox's foreground group). False when there is no pty.
    pub fn resize(&self) -> bool {
        let Some(t) = &self.tty else { return false };
        if let Some(m) = &t.master {
            let term = t.input.as_ref().unwrap_or(&t.output);
            if let Ok(w) = sys::get_winsize(term.as_fd()) {
                let _ = sys::set_winsize(m.as_fd(), &w);
            }
        }
        true
    }

    /// A signal the caller's terminal generated (^C, ^\ while it is not
    /// raw): give it to the pty's foreground group, as if typed there.
    /// False when there is no pty yet.
    pub fn terminal_signal(&self, sig: libc::c_int) -> bool {
        match self.tty.as_ref().and_then(|t| t.master.as_ref()) {
            Some(m) => sys::pty_signal(m.as_fd(), sig).is_ok(),
            None => false,
        }
    }

    /// The sandbox has ended (every process in it is gone, so no one writes
    /// any more): move what is left in the pipes and the pty, then put the
    /// terminal back. Bounded: a pipe holds at most its size, and each
    /// round moves something or ends.
    pub fn finish(&mut self) {
        for p in &mut self.pumps {
            if p.stdin {
                p.finish();
                continue;
            }
            for _ in 0..100_000 {
                match p.step() {
                    Step::Moved => {}
                    Step::Idle | Step::Done => break,
                }
            }
            p.finish();
        }
        if let Some(t) = &mut self.tty {
            if t.to_output.pending() {
                let _ = sys::write_all(t.output.as_raw_fd(), &t.to_output.data[t.to_output.off..]);
                t.to_output = Buf::default();
            }
        }
        for _ in 0..100_000 {
            if self.master_to_output(true) != Step::Moved {
                break;
            }
        }
        self.restore();
    }

    fn restore(&mut self) {
        if let Some(t) = &mut self.tty {
            if let (true, Some(i), Some(saved)) = (t.raw, &t.input, &t.saved) {
                let _ = sys::tcsetattr(i.as_fd(), saved);
                t.raw = false;
            }
        }
    }
}

impl Drop for Relay {
    /// Every way out of the launcher (an error, a panic, a library caller
    /// that drops the child) puts the caller's terminal back.
    fn drop(&mut self) {
        self.restore();
    }
}

/// cfmakeraw(3): no line editing, echo, signals or output processing.
pub fn make_raw(t: &mut sys::Termios) {
    t.c_iflag &= !(libc::IGNBRK
        | libc::BRKINT
        | libc::PARMRK
        | libc::ISTRIP
        | libc::INLCR
        | libc::IGNCR
        | libc::ICRNL
        | libc::IXON);
    t.c_oflag &= !libc::OPOST;
    t.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::ISIG | libc::IEXTEN);
    t.c_cflag &= !(libc::CSIZE | libc::PARENB);
    t.c_cflag |= libc::CS8;
    t.c_cc[libc::VMIN] = 1;
    t.c_cc[libc::VTIME] = 0;
}

/// A termios as plain bytes for the plan: the four flag words, the line,
/// the control characters and the two speeds, little-endian.
pub fn termios_to_bytes(t: &sys::Termios) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    for w in [t.c_iflag, t.c_oflag, t.c_cflag, t.c_lflag] {
        v.extend_from_slice(&w.to_le_bytes());
    }
    v.push(t.c_line);
    v.extend_from_slice(&t.c_cc);
    let (ispeed, ospeed) = sys::termios_speeds(t);
    v.extend_from_slice(&ispeed.to_le_bytes());
    v.extend_from_slice(&ospeed.to_le_bytes());
    v
}

/// The other way; None when the length is not a termios's.
pub fn termios_from_bytes(b: &[u8]) -> Option<sys::Termios> {
    const NCCS: usize = 32;
    if b.len() != 16 + 1 + NCCS + 8 {
        return None;
    }
    let word = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    let mut cc = [0u8; NCCS];
    cc.copy_from_slice(&b[17..17 + NCCS]);
    let mut t = sys::Termios {
        c_iflag: word(0),
        c_oflag: word(4),
        c_cflag: word(8),
        c_lflag: word(12),
        c_line: b[16],
        c_cc: cc,
        ..sys::termios_default()
    };
    sys::set_termios_speeds(&mut t, word(17 + NCCS), word(21 + NCCS));
    Some(t)
}

/// The child stage's part: after the mounts, make a pty in the sandbox's
/// own devpts, set it up as the caller's terminal was, make it the
/// controlling terminal of this (new) session, put the replica on the fds
/// that had the caller's terminal, and send the master up `sock`.
/// `console`: link /dev/console to it (the sandbox's own /dev; not in
/// the host mode, whose /dev is the host's). Returns the pty's number.
pub fn make_pty(plan: &PtyPlan, sock: OwnedFd, console: bool) -> Result<u32> {
    let (master, replica) = sys::open_pty("/dev/ptmx").ctx("open a pty", "/dev/ptmx")?;
    if let Some(t) = termios_from_bytes(&plan.termios) {
        sys::tcsetattr(replica.as_fd(), &t).ctx("set up the pty", "/dev/ptmx")?;
    }
    let [rows, cols, x, y] = plan.winsize;
    let w = sys::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: x,
        ws_ypixel: y,
    };
    sys::set_winsize(replica.as_fd(), &w).ctx("set up the pty", "/dev/ptmx")?;
    sys::set_controlling_tty(replica.as_fd()).ctx_step("make the pty the controlling terminal")?;
    for fd in 0..3 {
        if plan.fds & (1 << fd) != 0 {
            sys::sigsafe::dup2(replica.as_raw_fd(), fd).ctx_step("put the pty on stdio")?;
        }
    }
    // /dev/console names the session's terminal, as the caller's terminal
    // did under --stdio inherit.
    let n = sys::pty_number(replica.as_fd()).ctx("set up the pty", "/dev/ptmx")?;
    // `sandbox exec -t` finds the sandbox's own there already.
    if console {
        match std::os::unix::fs::symlink(format!("pts/{n}"), "/dev/console") {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            r => r.ctx("create symlink", "/dev/console")?,
        }
    }
    sys::send_fd(sock.as_fd(), master.as_fd()).ctx_step("send the pty to the launcher")?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn termios_bytes_round_trip() {
        let mut t = termios_from_bytes(&[7u8; 57]).unwrap();
        t.c_iflag = 0x1234_5678;
        t.c_cc[3] = 9;
        sys::set_termios_speeds(&mut t, 9600, 38400);
        let back = termios_from_bytes(&termios_to_bytes(&t)).unwrap();
        assert_eq!(termios_to_bytes(&back), termios_to_bytes(&t));
        assert!(termios_from_bytes(&[0; 56]).is_none());
    }

    #[test]
    fn raw_mode_turns_off_what_cfmakeraw_does() {
        let mut t = termios_from_bytes(&[0xffu8; 57]).unwrap();
        make_raw(&mut t);
        assert_eq!(t.c_lflag & (libc::ECHO | libc::ICANON | libc::ISIG), 0);
        assert_eq!(t.c_oflag & libc::OPOST, 0);
        assert_eq!(t.c_cflag & libc::CSIZE, libc::CS8);
        assert_eq!((t.c_cc[libc::VMIN], t.c_cc[libc::VTIME]), (1, 0));
    }
}
