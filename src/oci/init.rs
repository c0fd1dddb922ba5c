//! The container's process: `sandbox-oci init FD`, re-exec'd by the
//! launcher (create.rs) inside the container's new namespaces, with the
//! launcher's socket on FD.
//!
//! The conversation:
//! - down, one JSON object a line: [`InitMsg`], after the launcher wrote
//!   the id maps and placed us in the cgroup (the clone child read a
//!   release byte before its exec); later the line `"go"`;
//! - up, channel.rs frames (the one wire format of an [`Error`], which
//!   `sandbox run`'s stage and `sandbox-oci exec` use too):
//!   `Reached(Hooks)` when the mounts are made but the root is not yet
//!   entered (the launcher runs createRuntime hooks and answers `"go"`),
//!   then `Reached(Ready)` once everything the program needs is in place,
//!   or an `Error`. The launcher then records the container and exits; we
//!   wait on the exec FIFO until `start` opens it, then run startContainer
//!   hooks, install seccomp and exec the program. An error from then on
//!   goes to `start`, as a frame on the FIFO after its byte.
//!
//! Each direction is a byte stream of its own, so the two formats never
//! mix: the message down is OCI data that serde already reads (config.json
//! itself), the messages up are those every stage of ours sends.
//!
//! Every error is told once: to the launcher until ready, on our stderr
//! between ready and `start` (nobody reads the socket then), to `start`
//! after (which reports it), on stderr if the one it was for is gone.

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::channel::{self, Point, ReportSender, Up};
use crate::error::{Context, Error, Result};
use crate::sys;

use super::spec::{LinuxNamespaceType, Process};
use super::{hooks, mounts, process, seccomp};

/// What the launcher tells the container's process.
#[derive(Debug, Serialize, Deserialize)]
pub struct InitMsg {
    pub id: String,
    /// The text of config.json as `create` read it (the container's root
    /// may be an id that cannot read the 0600 copy in the state directory).
    pub config: String,
    pub rootfs: PathBuf,
    /// The container's process as the caller numbers it (for hooks' state).
    pub pid: i32,
    pub bundle: PathBuf,
    pub fifo_fd: i32,
    pub console_fd: Option<i32>,
    pub mnt_ns_fd: Option<i32>,
    pub preserve_fds: u32,
    pub no_pivot: bool,
    /// The container has a user namespace of its own.
    pub in_userns: bool,
    /// Keep the parent-death signal: `run` in the foreground.
    pub keep_pdeathsig: bool,
    /// The annotation org.sandbox.die-with-caller: this pid is the caller
    /// the container must not outlive.
    pub die_with_caller: Option<i32>,
}

/// One JSON line down the socket (the launcher's end).
pub fn send(sock: &UnixStream, v: &impl Serialize) -> Result<()> {
    let mut line = serde_json::to_vec(v).expect("serializes");
    line.push(b'\n');
    (&*sock)
        .write_all(&line)
        .ctx("write to the launcher's socket", "init")
}

/// One JSON line from the socket (init's end); `None` at EOF.
pub fn recv<T: for<'a> Deserialize<'a>>(r: &mut impl BufRead) -> Result<Option<T>> {
    let mut line = String::new();
    let n = r
        .read_line(&mut line)
        .ctx("read the launcher's socket", "init")?;
    if n == 0 {
        return Ok(None);
    }
    serde_json::from_str(&line)
        .map(Some)
        .map_err(|e| Error::msg("protocol", format!("bad message {line:?}: {e}")))
}

/// `sandbox-oci init FD`. Returns only on failure (the exit status).
pub fn main(fd: i32) -> u8 {
    // Nothing in the container may open our /proc files (our binary's
    // among them) or attach to us while we are parked in it; the memfd
    // copy we run from (create.rs) makes /proc/self/exe harmless anyway.
    // Ref: CVE-2019-5736
    if let Err(e) = sys::set_dumpable(false) {
        eprintln!("sandbox: init: mark the process non-dumpable: {e}");
        return 1;
    }
    // Refuse to run by hand: the fd must be our socket.
    if fd < 3 || !sys::fd_is_open(fd) {
        eprintln!("sandbox: init: the container's process is started by 'sandbox-oci create', not by hand");
        return 1;
    }
    let sock = match sys::adopt_fd(fd) {
        Ok(f) => UnixStream::from(f),
        Err(e) => {
            eprintln!("sandbox: init: fd {fd}: {e}");
            return 1;
        }
    };
    let up = ReportSender::new(sock.as_raw_fd());
    let mut reader = BufReader::new(&sock);
    let r = match recv::<InitMsg>(&mut reader) {
        Ok(Some(m)) => stage(&sock, &up, &mut reader, m),
        Ok(None) => return 1,
        Err(e) => Err(Failed::Untold(e)),
    };
    match r {
        Ok(never) => match never {},
        Err(Failed::Told(exit)) => exit,
        Err(Failed::Untold(e)) => {
            // Before ready the launcher reads the socket and reports it;
            // if it is gone, stderr is all we have.
            if up.up(&Up::Error(e.clone())).is_err() {
                e.report();
            }
            e.exit
        }
    }
}

enum Never {}

/// How the set-up failed: with an error for the launcher, which listens
/// until we are ready, or with one told already (on stderr, or to `start`
/// on the exec FIFO), leaving its exit status.
enum Failed {
    Untold(Error),
    Told(u8),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Self {
        Failed::Untold(e)
    }
}

/// Between ready and `start`: nobody reads the socket, stderr it is.
fn tell(e: Error) -> Failed {
    e.report();
    Failed::Told(e.exit)
}

fn stage(
    sock: &UnixStream,
    up: &ReportSender,
    reader: &mut impl BufRead,
    m: InitMsg,
) -> std::result::Result<Never, Failed> {
    let spec = super::parse_spec(&m.config, &m.bundle.join("config.json"))?;
    let proc_ = spec
        .process
        .clone()
        .ok_or_else(|| Error::msg("config", "process is required to create a container"))?;
    let ours: HashSet<i32> = [
        Some(sock.as_raw_fd()),
        Some(m.fifo_fd),
        m.console_fd,
        m.mnt_ns_fd,
    ]
    .into_iter()
    .flatten()
    .collect();
    for fd in &ours {
        sys::set_cloexec(*fd, true).ctx("set close-on-exec", fd)?;
    }
    close_others(3 + m.preserve_fds as i32, &ours)?;
    if let Some(fd) = m.mnt_ns_fd {
        let f = sys::adopt_fd(fd).ctx("mount namespace fd", fd)?;
        sys::setns(f.as_fd(), libc::CLONE_NEWNS)
            .ctx("join the mount namespace", "linux.namespaces")?;
    }
    let linux = spec.linux.as_ref();
    let has_ns = |t: LinuxNamespaceType| {
        linux
            .and_then(|l| l.namespaces.as_ref())
            .is_some_and(|ns| ns.iter().any(|n| n.typ == t))
    };
    if let Some(h) = spec.hostname.as_deref().filter(|h| !h.is_empty()) {
        if !has_ns(LinuxNamespaceType::Uts) {
            return Err(Error::msg(
                "hostname",
                "setting the hostname needs a UTS namespace in linux.namespaces",
            )
            .into());
        }
        sys::sethostname(h).ctx("sethostname", h)?;
    }
    if let Some(d) = spec.domainname.as_deref().filter(|h| !h.is_empty()) {
        sys::setdomainname(d).ctx("setdomainname", d)?;
    }
    mounts::prepare(&spec, &m.rootfs, m.in_userns)?;
    let state = |status: &str| super::hook_state(&m.id, status, m.pid, &m.bundle, &spec);
    let hooks_ = spec.hooks.as_ref();
    if !hooks::list(hooks_, hooks::Kind::CreateRuntime).is_empty()
        || !hooks::list(hooks_, hooks::Kind::Prestart).is_empty()
    {
        up.up(&Up::Reached(Point::Hooks))
            .ctx("write to the launcher's socket", "init")?;
        match recv::<String>(reader)? {
            Some(s) if s == "go" => {}
            _ => {
                return Err(Error::msg("createRuntime hook", "the launcher did not answer").into())
            }
        }
    }
    hooks::run(hooks_, hooks::Kind::CreateContainer, &state("created"))?;
    mounts::enter(&m.rootfs, m.no_pivot)?;
    // Before the read-only and masked paths: /proc/sys is one of them.
    for (k, v) in linux.and_then(|l| l.sysctl.as_ref()).into_iter().flatten() {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        fs::write(&path, v).ctx("sysctl", &path)?;
    }
    mounts::finish(&spec)?;
    sys::sigsafe::setsid().ctx("setsid", "the container's process")?;
    if proc_.terminal.unwrap_or(false) {
        let Some(fd) = m.console_fd else {
            return Err(Error::msg(
                "terminal",
                "process.terminal is true but no --console-socket was given",
            )
            .into());
        };
        let sock = sys::adopt_fd(fd).ctx("console socket", fd)?;
        console(&sock, &proc_, true)?;
    }
    process::limits(&proc_)?;
    let mut proc_ = proc_;
    process::default_home(&mut proc_);
    let exe = process::resolve(&proc_)?;
    let exec = process::Exec::new(&exe, &proc_)?;
    let filter = match linux.and_then(|l| l.seccomp.as_ref()) {
        Some(s) => Some(seccomp::compile(s)?),
        None => None,
    };
    let nnp = proc_.no_new_privileges.unwrap_or(false);
    // Without no_new_privs the filter can only be installed while we still
    // hold CAP_SYS_ADMIN: before the ids and capabilities change, as runc
    // does. With it, as late as possible.
    let early = filter.is_some() && !nnp && !process::keeps_sys_admin(&proc_);
    // The launcher exits once we are ready: from here its death is no
    // longer ours (unless it waits for us, as `run` does).
    if !m.keep_pdeathsig {
        sys::set_parent_death_signal(0).ctx("clear the parent-death signal", "init")?;
    }
    let fifo_path = format!("/proc/self/fd/{}", m.fifo_fd);
    up.up(&Up::Reached(Point::Ready))
        .ctx("write to the launcher's socket", "init")?;
    // Parked until `start` opens the FIFO for reading.
    let mut fifo = fs::OpenOptions::new()
        .write(true)
        .open(&fifo_path)
        .map_err(|e| {
            let err = Error::errno("open the exec fifo", Some(fifo_path.clone()), e.raw_os_error().unwrap_or(libc::EIO));
            if e.kind() == std::io::ErrorKind::NotFound {
                err.with_hint("the container needs /proc mounted in it (a proc mount, or a bind of the host's), as with runc")
            } else {
                err
            }
        })
        .map_err(tell)?;
    fifo.write_all(b"0")
        .ctx("write the exec fifo", &fifo_path)
        .map_err(tell)?;
    // Kept open, close-on-exec: `start` reads to its end, which comes when
    // the program is exec'd (or we fail), and only then runs poststart.
    // The ids and capabilities change only now: the FIFO (ours, 0600) and
    // /proc/self/fd (not ours once we are not dumpable) need them as they
    // were. What fails from here is reported to `start` on the FIFO.
    let after = || -> Result<Never> {
        if early {
            seccomp::install(filter.as_ref().expect("checked"))?;
        }
        process::cwd(&proc_)?;
        process::identity(&proc_)?;
        if let Some(caller) = m.die_with_caller {
            sys::set_parent_death_signal(libc::SIGKILL).ctx("die with the caller", caller)?;
            if sys::getppid() != caller {
                return Err(Error::msg(
                    "die-with-caller",
                    format!("the caller (pid {caller}) is gone or is not this container's parent (a child subreaper, as conmon and containerd's shim are)"),
                ));
            }
        }
        hooks::run(hooks_, hooks::Kind::StartContainer, &state("running"))?;
        if let Some(mode) = spec
            .annotations
            .as_ref()
            .and_then(|a| a.get(super::ANNOTATION_LANDLOCK))
        {
            super::landlock::apply(mode, &spec)?;
        }
        if let (Some(f), false) = (&filter, early) {
            seccomp::install(f)?;
        }
        Err(exec.exec())
    };
    let e = match after() {
        Ok(never) => match never {},
        Err(e) => e,
    };
    // `start` is reading the FIFO: what follows its byte is our error,
    // one frame, which `start` reports (the launcher is long gone). Only
    // if `start` is gone too do we say it ourselves.
    if fifo.write_all(&channel::error_frame(&e)).is_err() {
        e.report();
    }
    drop(fifo);
    Err(Failed::Told(e.exit))
}

/// Close every fd from `first` on except ours (what conmon or the shim
/// leaked to us must not reach the container).
fn close_others(first: i32, keep: &HashSet<i32>) -> Result<()> {
    let keep: Vec<i32> = keep.iter().copied().collect();
    sys::close_from_except(first, &keep).ctx("close inherited file descriptors", first)
}

/// A pty from the container's devpts: the master goes to the console
/// socket, the replica becomes stdio and the controlling terminal, and
/// /dev/console is bound to it.
pub fn console(sock: &OwnedFd, p: &Process, bind_console: bool) -> Result<()> {
    let (master, replica) = sys::open_pty("/dev/ptmx").ctx("open a pty", "/dev/ptmx")?;
    if let Some(size) = p.console_size {
        let ws = sys::Winsize {
            ws_row: size.height as u16,
            ws_col: size.width as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        sys::set_winsize(master.as_fd(), &ws).ctx("set the console size", "/dev/ptmx")?;
    }
    let n = sys::pty_number(replica.as_fd()).ctx("pty number", "/dev/ptmx")?;
    let pts = format!("/dev/pts/{n}");
    if bind_console {
        mounts::bind_console(&replica)?;
    }
    sys::send_fd(sock.as_fd(), master.as_fd()).ctx("send the pty to the console socket", &pts)?;
    drop(master);
    for std_fd in 0..3 {
        sys::sigsafe::dup2(replica.as_raw_fd(), std_fd).ctx("dup the pty onto stdio", &pts)?;
    }
    sys::set_controlling_tty(replica.as_fd()).ctx("make the pty the controlling terminal", &pts)?;
    Ok(())
}
