//! `start`, `state`, `kill`, `delete`, `ps`, `list` and `features`: the
//! operations on a container that exists (runtime.md "Operations").

use std::fs;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

use crate::error::{Context, Error, Result};
use crate::sys;

use super::cgroup::Cgroup;
use super::cli::Global;
use super::hooks;
use super::log::Log;
use super::state::{self, Container, Status};

fn load(g: &Global, id: &str) -> Result<Container> {
    Container::load(&state::root_dir(g.root.as_deref()), id)
}

/// Let the parked process go: open the FIFO for reading (its open for
/// writing then returns), read its byte, remove the FIFO; poststart hooks.
pub fn start(g: &Global, log: &Log, id: &str) -> Result<()> {
    let c = load(g, id)?;
    match c.status() {
        Status::Created => {}
        s => {
            return Err(Error::msg(
                "start",
                format!(
                    "cannot start container {id}: it is {}, not created",
                    s.as_str()
                ),
            ))
        }
    }
    let fifo = c.fifo();
    let mut f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .ctx("open the exec fifo", fifo.display())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut b = [0u8; 1];
    loop {
        match f.read(&mut b) {
            Ok(1) => break,
            Ok(_) | Err(_) if !c.alive() => {
                return Err(Error::msg(
                    "start",
                    format!("container {id}'s process ended before it was started"),
                ))
            }
            _ if Instant::now() > deadline => {
                return Err(Error::msg(
                    "start",
                    format!(
                        "container {id}'s process did not answer on {} in 30 s",
                        fifo.display()
                    ),
                ))
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    fs::remove_file(&fifo).ctx("remove the exec fifo", fifo.display())?;
    // The FIFO reaches its end when the program is exec'd (the process
    // holds it close-on-exec): poststart runs after that, as the spec says.
    let mut after = vec![];
    loop {
        match f.read(&mut b) {
            Ok(0) => break,
            Ok(_) => after.push(b[0]),
            Err(_) if !c.alive() => break,
            Err(_) if Instant::now() > deadline => {
                return Err(Error::msg(
                    "start",
                    format!("container {id}'s process did not exec its program in 30 s"),
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
    if !after.is_empty() {
        // The process's own error, one channel.rs frame: ours to report.
        return Err(
            crate::channel::decode_error_frame(&after).unwrap_or_else(|m| {
                Error::msg(
                    "start",
                    format!("container {id}'s process failed, with an unreadable report: {m}"),
                )
            }),
        );
    }
    let spec = c.config()?;
    let st = super::hook_state(id, "running", c.record.pid, &c.record.bundle, &spec);
    if let Err(e) = hooks::run(spec.hooks.as_ref(), hooks::Kind::Poststart, &st) {
        log.warn(e.to_string().trim_start_matches("sandbox: "));
    }
    Ok(())
}

pub fn state(g: &Global, id: &str) -> Result<u8> {
    let c = load(g, id)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&c.state_json()).expect("serializes")
    );
    Ok(0)
}

/// A signal by name (`KILL`, `SIGKILL`) or number.
pub fn parse_signal(s: &str) -> Result<i32> {
    if let Ok(n) = s.parse::<i32>() {
        if (1..=64).contains(&n) {
            return Ok(n);
        }
    }
    let name = s.to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    let table = [
        ("HUP", libc::SIGHUP),
        ("INT", libc::SIGINT),
        ("QUIT", libc::SIGQUIT),
        ("ILL", libc::SIGILL),
        ("TRAP", libc::SIGTRAP),
        ("ABRT", libc::SIGABRT),
        ("IOT", libc::SIGIOT),
        ("BUS", libc::SIGBUS),
        ("FPE", libc::SIGFPE),
        ("KILL", libc::SIGKILL),
        ("USR1", libc::SIGUSR1),
        ("SEGV", libc::SIGSEGV),
        ("USR2", libc::SIGUSR2),
        ("PIPE", libc::SIGPIPE),
        ("ALRM", libc::SIGALRM),
        ("TERM", libc::SIGTERM),
        ("STKFLT", libc::SIGSTKFLT),
        ("CHLD", libc::SIGCHLD),
        ("CONT", libc::SIGCONT),
        ("STOP", libc::SIGSTOP),
        ("TSTP", libc::SIGTSTP),
        ("TTIN", libc::SIGTTIN),
        ("TTOU", libc::SIGTTOU),
        ("URG", libc::SIGURG),
        ("XCPU", libc::SIGXCPU),
        ("XFSZ", libc::SIGXFSZ),
        ("VTALRM", libc::SIGVTALRM),
        ("PROF", libc::SIGPROF),
        ("WINCH", libc::SIGWINCH),
        ("IO", libc::SIGIO),
        ("POLL", libc::SIGIO),
        ("PWR", libc::SIGPWR),
        ("SYS", libc::SIGSYS),
    ];
    if let Some((_, n)) = table.iter().find(|(n, _)| *n == name) {
        return Ok(*n);
    }
    let rt = |base: i32, off: &str| off.parse::<i32>().ok().map(|o| base + o);
    let n = match name {
        "RTMIN" => Some(34),
        "RTMAX" => Some(64),
        n if n.starts_with("RTMIN+") => rt(34, &n[6..]),
        n if n.starts_with("RTMAX-") => rt(64, &n[6..]).map(|v| 128 - v),
        _ => None,
    };
    match n {
        Some(n) if (34..=64).contains(&n) => Ok(n),
        _ => Err(Error::msg("kill", format!("'{s}' is not a signal"))),
    }
}

pub fn kill(g: &Global, id: &str, all: bool, signal: &str) -> Result<u8> {
    let sig = parse_signal(signal)?;
    let c = load(g, id)?;
    if matches!(c.status(), Status::Stopped | Status::Creating) {
        return Err(Error::msg(
            "kill",
            format!("container {id}: container not running"),
        ));
    }
    if all {
        for pid in c.pids()? {
            let _ = sys::kill(pid, sig);
        }
        return Ok(0);
    }
    // Through a pidfd checked against the recorded start time: a pid that
    // was reused is never signalled.
    let fd = sys::pidfd_open(c.record.pid).ctx("pidfd_open", c.record.pid)?;
    if !c.alive() {
        return Err(Error::msg(
            "kill",
            format!("container {id}: container not running"),
        ));
    }
    sys::sigsafe::pidfd_send_signal(fd.as_raw_fd(), sig)
        .ctx("kill", format!("pid {}", c.record.pid))?;
    Ok(0)
}

fn being_created(id: &str) -> Error {
    Error::msg(
        "delete",
        format!("container {id} is being created: its create has not ended"),
    )
}

/// Delete: a stopped or created container (or any, with --force: killed
/// first). Waits (bounded) for the process to be gone, removes the cgroup,
/// runs the poststop hooks, removes the state. What a `create` that died
/// left goes too (state.rs), so that its id can be used again; one whose
/// `create` still runs is refused, even with --force.
pub fn delete(g: &Global, log: &Log, id: &str, force: bool) -> Result<u8> {
    let root = state::root_dir(g.root.as_deref());
    let c = match Container::find(&root, id)? {
        Some(c) => c,
        None => match state::remove_half_made(&root, id)? {
            state::Leftover::Removed => return Ok(0),
            state::Leftover::Creating => return Err(being_created(id)),
            state::Leftover::Recorded => Container::load(&root, id)?,
            state::Leftover::Nothing => {
                return Err(Error::msg(
                    "state",
                    format!("container {id} does not exist"),
                ))
            }
        },
    };
    let status = c.status();
    if status == Status::Creating {
        return Err(being_created(id));
    }
    if status == Status::Running && !force {
        return Err(Error::msg(
            "delete",
            format!("cannot delete container {id} that is not stopped: running (use --force)"),
        ));
    }
    if c.alive() {
        if let Ok(fd) = sys::pidfd_open(c.record.pid) {
            if c.alive() {
                let _ = sys::sigsafe::pidfd_send_signal(fd.as_raw_fd(), libc::SIGKILL);
            }
        }
        if !c.record.own_pidns {
            for pid in c.pids().unwrap_or_default() {
                let _ = sys::kill(pid, libc::SIGKILL);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while c.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    if let Some(v) = &c.record.cgroup {
        let cg = Cgroup::from_json(v)?;
        for pid in cg.pids().unwrap_or_default() {
            let _ = sys::kill(pid, libc::SIGKILL);
        }
        if let Err(e) = cg.remove() {
            log.warn(e.to_string().trim_start_matches("sandbox: "));
        }
    }
    if let Ok(spec) = c.config() {
        let st = super::hook_state(id, "stopped", c.record.pid, &c.record.bundle, &spec);
        if let Err(e) = hooks::run(spec.hooks.as_ref(), hooks::Kind::Poststop, &st) {
            log.warn(e.to_string().trim_start_matches("sandbox: "));
        }
    }
    fs::remove_dir_all(&c.dir).ctx("remove the container's state", c.dir.display())?;
    Ok(0)
}

pub fn ps(g: &Global, id: &str, json: bool) -> Result<u8> {
    let c = load(g, id)?;
    let pids = c.pids()?;
    if json {
        println!("{}", serde_json::to_string(&pids).expect("serializes"));
    } else {
        println!("PID");
        for p in pids {
            println!("{p}");
        }
    }
    Ok(0)
}

pub fn list(g: &Global, json: bool) -> Result<u8> {
    let root = state::root_dir(g.root.as_deref());
    let all = match state::open_root(&root, false)? {
        Some(_) => state::all(&root),
        None => Vec::new(),
    };
    if json {
        let v: Vec<_> = all.iter().map(Container::state_json).collect();
        println!("{}", serde_json::Value::from(v));
    } else {
        println!(
            "{:<24} {:<8} {:<8} {:<40} CREATED",
            "ID", "PID", "STATUS", "BUNDLE"
        );
        for c in &all {
            println!(
                "{:<24} {:<8} {:<8} {:<40} {}",
                c.record.id,
                c.record.pid,
                c.status().as_str(),
                c.record.bundle.display(),
                c.record.created
            );
        }
    }
    Ok(0)
}
