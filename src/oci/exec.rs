//! `exec`: another process in a running container. The launcher joins the
//! container's PID namespace (for its children), forks; the child joins
//! the user namespace (when the container has its own), then IPC, UTS,
//! network, cgroup and mount, and becomes the process `--process` (or the
//! flags) describe, under the container's seccomp profile. Errors before
//! the exec come back on a close-on-exec pipe, so `exec /nonexistent`
//! fails as `create` would. With `--detach` the launcher writes the pid
//! file and exits (the process is re-parented to the caller, conmon);
//! without it, it waits and exits with the process's status.

use std::fs;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use super::spec::{Capability, LinuxCapabilities, Process, Spec, User};

use crate::channel::{ReportReceiver, ReportSender, Up};
use crate::confine::nsjoin;
use crate::error::{Context, Error, Result};
use crate::sys;

use super::cli::{ExecArgs, Global};
use super::log::Log;
use super::state::{self, Container, Status};
use super::{process, seccomp};

/// The process to run: `--process FILE`, or the container's own process
/// with the flags applied.
fn process_of(a: &ExecArgs, c: &Container) -> Result<Process> {
    if let Some(path) = &a.process {
        let text = fs::read(path).ctx("read --process", path.display())?;
        let mut p: Process = serde_json::from_slice(&text)
            .map_err(|e| Error::msg("read --process", format!("{}: {e}", path.display())))?;
        if a.tty {
            p.terminal = Some(true);
        }
        return Ok(p);
    }
    let spec = c.config()?;
    let mut p = spec.process.unwrap_or_default();
    p.args = Some(a.args.clone());
    p.terminal = Some(a.tty);
    let env = p.env.get_or_insert_with(Vec::new);
    for e in &a.env {
        let key = e.split('=').next().unwrap_or_default();
        env.retain(|x| x.split('=').next() != Some(key));
        env.push(e.clone());
    }
    if let Some(cwd) = &a.cwd {
        p.cwd = cwd.into();
    }
    if let Some(u) = &a.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| Error::msg("exec", format!("--user {u}: give numeric ids")))
        };
        p.user = User {
            uid: num(uid)?,
            gid: match gid {
                Some(g) => num(g)?,
                None => 0,
            },
            umask: None,
            additional_gids: Some(a.additional_gids.clone()),
        };
    } else if !a.additional_gids.is_empty() {
        p.user.additional_gids = Some(a.additional_gids.clone());
    }
    if !a.caps.is_empty() {
        let caps = p.capabilities.get_or_insert_with(|| LinuxCapabilities {
            bounding: Some(vec![]),
            effective: Some(vec![]),
            inheritable: Some(vec![]),
            permitted: Some(vec![]),
            ambient: Some(vec![]),
        });
        let add: Vec<Capability> = a
            .caps
            .iter()
            .map(|c| {
                serde_json::from_value(serde_json::Value::from(c.clone()))
                    .map_err(|_| Error::msg("exec", format!("--cap {c}: not a capability")))
            })
            .collect::<Result<_>>()?;
        for set in [&mut caps.bounding, &mut caps.effective, &mut caps.permitted] {
            set.get_or_insert_with(Vec::new).extend(&add);
        }
    }
    if a.no_new_privs {
        p.no_new_privileges = Some(true);
    }
    Ok(p)
}

const NAMESPACES: &[(&str, i32)] = &[
    ("user", libc::CLONE_NEWUSER),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("mnt", libc::CLONE_NEWNS),
];

pub fn exec(g: &Global, _log: &Log, a: &ExecArgs) -> Result<u8> {
    // Before we join anything of the container's: nothing in it may open
    // our /proc files or attach to us. Ref: CVE-2019-5736
    sys::set_dumpable(false).ctx("mark the process non-dumpable", "exec")?;
    let c = Container::load(&state::root_dir(g.root.as_deref()), &a.id)?;
    match c.status() {
        Status::Running | Status::Created => {}
        Status::Paused if a.ignore_paused => {}
        Status::Paused => {
            return Err(Error::msg(
                "exec",
                format!(
                "cannot exec in container {}: it is paused (resume it, or give --ignore-paused)",
                a.id
            ),
            ))
        }
        s => {
            return Err(Error::msg(
                "exec",
                format!("cannot exec in container {}: it is {}", a.id, s.as_str()),
            ))
        }
    }
    let p = process_of(a, &c)?;
    if p.terminal.unwrap_or(false) && a.console_socket.is_none() {
        return Err(Error::msg("exec", "--tty needs --console-socket"));
    }
    let spec = c.config()?;
    let filter = match spec.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
        Some(s) => Some(seccomp::compile(s)?),
        None => None,
    };
    let pid = c.record.pid;
    // The namespaces the container's process is in and we are not.
    let mut join: Vec<(OwnedFd, i32, String)> = vec![];
    for (name, flag) in NAMESPACES {
        let theirs = format!("/proc/{pid}/ns/{name}");
        let mine = format!("/proc/self/ns/{name}");
        if fs::read_link(&theirs).ok() == fs::read_link(&mine).ok() {
            continue;
        }
        let f = fs::File::open(&theirs)
            .map(OwnedFd::from)
            .ctx("open the container's namespace", &theirs)?;
        join.push((f, *flag, theirs));
    }
    // The user namespace first, here: joining the PID namespace needs
    // CAP_SYS_ADMIN in our own user namespace too, which is then the
    // container's. The launcher is single-threaded, as setns(CLONE_NEWUSER)
    // requires.
    if let Some(i) = join
        .iter()
        .position(|(_, flag, _)| *flag == libc::CLONE_NEWUSER)
    {
        let (f, _, path) = join.remove(i);
        nsjoin::join(
            f.as_fd(),
            libc::CLONE_NEWUSER,
            "join the container's namespace",
            &path,
        )?;
    }
    let pidns = format!("/proc/{pid}/ns/pid");
    if fs::read_link(&pidns).ok() != fs::read_link("/proc/self/ns/pid").ok() {
        let f = fs::File::open(&pidns)
            .map(OwnedFd::from)
            .ctx("open the container's namespace", &pidns)?;
        nsjoin::join(
            f.as_fd(),
            libc::CLONE_NEWPID,
            "join the container's namespace",
            &pidns,
        )?;
    }
    if !crate::procfs::alive(pid, c.record.start_time) {
        return Err(Error::msg(
            "exec",
            format!("container {} is not running", a.id),
        ));
    }
    let console = match &a.console_socket {
        Some(path) => Some(OwnedFd::from(
            UnixStream::connect(path).ctx("connect to the console socket", path.display())?,
        )),
        None => None,
    };
    let cgroup = match &c.record.cgroup {
        Some(v) => Some(super::cgroup::Cgroup::from_json(v)?),
        None => None,
    };
    let landlock = spec
        .annotations
        .as_ref()
        .and_then(|a| a.get(super::ANNOTATION_LANDLOCK))
        .cloned();
    let (err_r, err_w) = sys::pipe_high().ctx("pipe", "exec")?;
    // The child waits on this until it is in the container's cgroup: what
    // it runs, and whatever that forks, is counted and limited there from
    // the first instruction (`kill --all` and `delete` find it).
    let (go_r, go_w) = sys::pipe_high().ctx("pipe", "exec")?;
    let child = sys::fork().ctx("fork", "exec")?;
    if child == 0 {
        drop(err_r);
        drop(go_w);
        // A launcher gone before the word: nothing to run.
        if !matches!(sys::sigsafe::read_byte(go_r.as_raw_fd()), Ok(Some(b'G'))) {
            sys::exit_now(1);
        }
        drop(go_r);
        let e = match in_child(
            &join,
            console.as_ref(),
            &p,
            filter.as_ref(),
            landlock.as_deref(),
            &spec,
            a.preserve_fds,
            err_w.as_raw_fd(),
        ) {
            Ok(never) => match never {},
            Err(e) => e,
        };
        ReportSender::new(err_w.as_raw_fd()).error(&e);
        sys::exit_now(e.exit as i32);
    }
    drop(err_w);
    drop(console);
    drop(go_r);
    if let Some(cg) = &cgroup {
        // Best effort: a cgroup that went away does not stop the exec.
        let _ = cg.add(child);
    }
    sys::sigsafe::write_all(go_w.as_raw_fd(), b"G").ctx("release the exec'd process", child)?;
    drop(go_w);
    if let Some(path) = &a.pid_file {
        state::write_atomic(path, child.to_string().as_bytes())?;
    }
    // EOF: the program was exec'd (or the process died without a word).
    let mut reports = ReportReceiver::new(err_r);
    reports.read_to_end();
    if let Some(r) = reports.next() {
        let _ = sys::waitpid(child, false);
        return Err(match r {
            Ok(Up::Error(e)) => e,
            Ok(other) => Error::msg("exec", format!("unexpected report {other:?}")),
            Err(m) => Error::msg("exec", format!("bad report from the process: {m}")),
        });
    }
    if a.detach {
        return Ok(0);
    }
    super::create::wait_forwarding(child)
}

enum Never {}

#[allow(clippy::too_many_arguments)]
fn in_child(
    join: &[(OwnedFd, i32, String)],
    console: Option<&OwnedFd>,
    p: &Process,
    filter: Option<&seccomp::Program>,
    landlock: Option<&str>,
    spec: &Spec,
    preserve_fds: u32,
    err_w: RawFd,
) -> Result<Never> {
    sys::set_dumpable(false).ctx("mark the process non-dumpable", "exec")?;
    for (f, flag, path) in join {
        nsjoin::join(f.as_fd(), *flag, "join the container's namespace", path)?;
    }
    if p.terminal.unwrap_or(false) {
        sys::sigsafe::setsid().ctx("setsid", "exec")?;
        super::init::console(console.expect("checked"), p, false)?;
    }
    // Only stdio and the caller's --preserve-fds (3 to 3+N-1) reach the
    // program: whatever else our caller leaked to us goes (our own are
    // close-on-exec, the report pipe too). Ref: CVE-2024-21626
    let first = 3i32.saturating_add(i32::try_from(preserve_fds).unwrap_or(i32::MAX));
    sys::close_from_except(first, &[err_w]).ctx("close inherited file descriptors", "exec")?;
    let mut p = p.clone();
    process::default_home(&mut p);
    let p = &p;
    process::cwd(p)?;
    let exe = process::resolve(p)?;
    let exec = process::Exec::new(&exe, p)?;
    // Before the rlimits: RLIMIT_FSIZE applies to the memfd's writes.
    let sealed = exec.seal(err_w);
    process::limits(p)?;
    let nnp = p.no_new_privileges.unwrap_or(false);
    let early = filter.is_some() && !nnp && !process::keeps_sys_admin(p);
    if early {
        seccomp::install(filter.expect("checked"))?;
    }
    process::identity(p)?;
    if let Some(mode) = landlock {
        super::landlock::apply(mode, spec)?;
    }
    if let (Some(f), false) = (filter, early) {
        seccomp::install(f)?;
    }
    Err(exec.exec_sealed(&sealed))
}
