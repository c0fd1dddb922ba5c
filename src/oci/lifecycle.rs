//! `start`, `state`, `kill`, `delete`, `pause`, `resume`, `update`, `ps`
//! and `list`: the operations on a container that exists (runtime.md
//! "Operations", and runc's for the cgroup).

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
    let status = c.status();
    // --all reaches what is left in the cgroup after the container's
    // process ended too, as runc's does: containerd's shim sends it when
    // that process exits in a PID namespace it does not own (a pod's app
    // container), whose leftovers no kernel kills.
    if all && status == Status::Stopped {
        if let Some(cg) = c.cgroup() {
            for pid in cg.pids()? {
                let _ = sys::kill(pid, sig);
            }
        }
        return Ok(0);
    }
    if matches!(status, Status::Stopped | Status::Creating) {
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
    if matches!(status, Status::Running | Status::Paused) && !force {
        return Err(Error::msg(
            "delete",
            format!(
                "cannot delete container {id} that is not stopped: {} (use --force)",
                status.as_str()
            ),
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
        // A paused container's processes take their SIGKILL when thawed
        // (the v1 freezer holds even that).
        if status == Status::Paused {
            if let Some(cg) = c.cgroup() {
                if let Err(e) = cg.freeze(false) {
                    log.warn(e.to_string().trim_start_matches("sandbox: "));
                }
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

/// `pause` and `resume`: the container's cgroup freezer. A container
/// without a cgroup (rootless where cgroups are not delegated, and no
/// cgroupsPath) cannot be paused: said so, with what would give it one.
pub fn pause(g: &Global, id: &str, frozen: bool) -> Result<u8> {
    let step = if frozen { "pause" } else { "resume" };
    let c = load(g, id)?;
    let (ok, want) = if frozen {
        // runc pauses a created container too.
        (
            matches!(c.status(), Status::Running | Status::Created),
            "running or created",
        )
    } else {
        (c.status() == Status::Paused, "paused")
    };
    if !ok {
        return Err(Error::msg(
            step,
            format!("container {id} is {}, not {want}", c.status().as_str()),
        ));
    }
    let cg = c.cgroup().ok_or_else(|| no_cgroup(step, id))?;
    cg.freeze(frozen)?;
    Ok(0)
}

fn no_cgroup(step: &str, id: &str) -> Error {
    Error::msg(
        step,
        format!("container {id} has no cgroup (it was created rootless where cgroups are not delegated, with no cgroupsPath and no limits)"),
    )
    .with_hint("give the container a cgroupsPath: as root, or in a cgroup v2 directory delegated to the runtime's user")
}

/// `update`: new resources for a running (or created, or paused)
/// container's cgroup; see [`Cgroup::update`].
pub fn update(g: &Global, id: &str, res: &super::spec::LinuxResources) -> Result<u8> {
    let c = load(g, id)?;
    if matches!(c.status(), Status::Stopped | Status::Creating) {
        return Err(Error::msg(
            "update",
            format!("container {id} is {}", c.status().as_str()),
        ));
    }
    let cg = c.cgroup().ok_or_else(|| no_cgroup("update", id))?;
    cg.update(res)?;
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

/// The resources `update` applies: the JSON of `--resources` (a file, or
/// `-` for stdin), with runc's flags over it. Sizes take runc's units
/// (`64m`, `1g`: powers of 1024).
pub fn update_resources(a: &super::cli::UpdateArgs) -> Result<super::spec::LinuxResources> {
    use super::spec::{LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};
    let mut r: LinuxResources = match &a.resources {
        None => LinuxResources::default(),
        Some(p) => {
            let text = if p.as_os_str() == "-" {
                let mut t = String::new();
                std::io::stdin()
                    .read_to_string(&mut t)
                    .ctx("read --resources", "stdin")?;
                t
            } else {
                fs::read_to_string(p).ctx("read --resources", p.display())?
            };
            serde_json::from_str(&text)
                .map_err(|e| Error::msg("read --resources", format!("{}: {e}", p.display())))?
        }
    };
    for (flag, v) in &a.flags {
        let bad = |why: &str| Error::msg("update", format!("--{flag} {v}: {why}"));
        let int = || v.parse::<i64>().map_err(|_| bad("not a number"));
        let size = || parse_size(v).ok_or_else(|| bad("not a size (a number, or with k, m, g, t)"));
        let mem = r.memory.get_or_insert_with(LinuxMemory::default);
        match flag.as_str() {
            "memory" => mem.limit = Some(size()?),
            "memory-swap" => mem.swap = Some(size()?),
            "memory-reservation" => mem.reservation = Some(size()?),
            "pids-limit" => r.pids = Some(LinuxPids { limit: int()? }),
            "cpu-period" | "cpu-quota" | "cpu-share" | "cpu-rt-period" | "cpu-rt-runtime"
            | "cpuset-cpus" | "cpuset-mems" => {
                let c = r.cpu.get_or_insert_with(LinuxCpu::default);
                let unsigned = || v.parse::<u64>().map_err(|_| bad("not a number"));
                match flag.as_str() {
                    "cpu-period" => c.period = Some(unsigned()?),
                    "cpu-quota" => c.quota = Some(int()?),
                    "cpu-share" => c.shares = Some(unsigned()?),
                    "cpu-rt-period" => c.realtime_period = Some(unsigned()?),
                    "cpu-rt-runtime" => c.realtime_runtime = Some(int()?),
                    "cpuset-cpus" => c.cpus = Some(v.clone()),
                    _ => c.mems = Some(v.clone()),
                }
            }
            // Gone from the kernel (kernel memory), or not ours to set
            // (block I/O, Intel RDT): named, not ignored.
            _ => {
                return Err(Error::msg(
                    "update",
                    format!("--{flag} cannot be enforced: sandbox-oci does not implement it"),
                ))
            }
        }
        if r.memory == Some(LinuxMemory::default()) {
            r.memory = None;
        }
    }
    Ok(r)
}

/// A size as runc's flags take it: bytes, or with a suffix k, m, g or t
/// (powers of 1024, "b" and "kb"-style spellings too); -1 is unlimited.
fn parse_size(s: &str) -> Option<i64> {
    if s == "-1" {
        return Some(-1);
    }
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_end_matches('b').trim_end_matches('i');
    let (num, shift) = match t.chars().last()? {
        'k' => (&t[..t.len() - 1], 10),
        'm' => (&t[..t.len() - 1], 20),
        'g' => (&t[..t.len() - 1], 30),
        't' => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let n: i64 = num.trim().parse().ok().filter(|n| *n >= 0)?;
    n.checked_mul(1i64 << shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_runc_reads_them() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("64m"), Some(64 << 20));
        assert_eq!(parse_size("64M"), Some(64 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("2kb"), Some(2048));
        assert_eq!(parse_size("-1"), Some(-1));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size("-5"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn flags_override_the_json() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.json");
        fs::write(
            &f,
            r#"{"memory": {"limit": 1000, "swap": 2000}, "cpu": {"shares": 2}, "devices": [{"allow": false, "access": "rwm"}]}"#,
        )
        .unwrap();
        let a = super::super::cli::UpdateArgs {
            id: "c".into(),
            resources: Some(f),
            flags: vec![
                ("memory".into(), "1m".into()),
                ("pids-limit".into(), "7".into()),
                ("cpu-quota".into(), "-1".into()),
            ],
        };
        let r = update_resources(&a).unwrap();
        let m = r.memory.unwrap();
        assert_eq!((m.limit, m.swap), (Some(1 << 20), Some(2000)));
        assert_eq!(r.pids.unwrap().limit, 7);
        let c = r.cpu.unwrap();
        assert_eq!((c.shares, c.quota), (Some(2), Some(-1)));
        let a = super::super::cli::UpdateArgs {
            id: "c".into(),
            resources: None,
            flags: vec![("blkio-weight".into(), "10".into())],
        };
        let e = update_resources(&a).unwrap_err();
        assert!(e.to_string().contains("--blkio-weight"), "{e}");
    }
}
