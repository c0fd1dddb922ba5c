//! Per-namespace kernel limits (`--ns-limit NAME=VALUE`, issue 14 item 5):
//! what an rlimit cannot bound, set by the child stage in the sandbox's own
//! user and IPC namespaces while it still holds their capabilities.
//!
//! - `user.*` (/proc/sys/user): the user namespace's ucount limits. The
//!   kernel charges an inotify instance, a watch, a namespace… at every
//!   level from the caller's namespace up, against each level's maximum;
//!   a new namespace starts at INT_MAX, so a sandbox could take all the
//!   host user has (their programs then get EMFILE). The file applies to
//!   the opener's user namespace and is writable with CAP_SYS_RESOURCE in
//!   it: the sandbox's root before the capabilities go. Set on the
//!   sandbox's namespace, it also bounds the nested one of `--uid`.
//! - `kernel.shm*`, `kernel.msg*`: the IPC namespace's own SysV limits,
//!   writable by the root of the user namespace that owns it. A SysV
//!   segment not mapped is in no process's address space, so `--limit as`
//!   does not bound it; the default caps SysV shared memory as /dev/shm is
//!   capped (`--shm-size`).
//!
//! memfd (and tmpfs pages in general) is bounded only by the memory cgroup
//! (`--memory`); docs/SECURITY.md says so.

use std::io::ErrorKind;

use crate::error::{Context, Result};

/// One limit: its sysctl name, and its default from the caller's own value
/// of it (None when it has none) and the /dev/shm size.
pub struct NsLimit {
    pub name: &'static str,
    default: fn(Option<u64>, u64) -> u64,
}

/// Half of what the caller has, at most `cap`: one sandbox leaves the
/// host user at least half.
fn half_or(caller: Option<u64>, cap: u64) -> u64 {
    caller.map_or(cap, |c| (c / 2).clamp(1, cap))
}

const fn l(name: &'static str, default: fn(Option<u64>, u64) -> u64) -> NsLimit {
    NsLimit { name, default }
}

/// Every limit `--ns-limit` names, and the defaults.
pub const NS_LIMITS: &[NsLimit] = &[
    l("user.max_inotify_instances", |c, _| half_or(c, 32)),
    l("user.max_inotify_watches", |c, _| half_or(c, 65536)),
    l("user.max_fanotify_groups", |c, _| half_or(c, 16)),
    l("user.max_fanotify_marks", |c, _| half_or(c, 8192)),
    l("user.max_user_namespaces", |c, _| half_or(c, 64)),
    l("user.max_mnt_namespaces", |c, _| half_or(c, 64)),
    l("user.max_pid_namespaces", |c, _| half_or(c, 64)),
    l("user.max_net_namespaces", |c, _| half_or(c, 64)),
    l("user.max_ipc_namespaces", |c, _| half_or(c, 64)),
    l("user.max_uts_namespaces", |c, _| half_or(c, 64)),
    l("user.max_cgroup_namespaces", |c, _| half_or(c, 64)),
    l("user.max_time_namespaces", |c, _| half_or(c, 64)),
    // Bytes per segment, and pages in all: as much as /dev/shm holds.
    l("kernel.shmmax", |_, shm| shm),
    l("kernel.shmall", |_, shm| shm.div_ceil(4096)),
    l("kernel.shmmni", |_, _| 256),
    // Queues; each holds at most msgmnb (16 KiB) bytes: 1 MiB in all
    // rather than the kernel's 32000 queues (500 MiB).
    l("kernel.msgmni", |_, _| 64),
    l("kernel.msgmnb", |_, _| 16384),
    l("kernel.msgmax", |_, _| 8192),
];

fn proc_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

/// `NAME=VALUE`, NAME one of `NS_LIMITS`, VALUE a number (K, M, G allowed).
pub fn parse(v: &str) -> std::result::Result<(String, u64), String> {
    let (name, value) = v
        .split_once('=')
        .ok_or_else(|| format!("--ns-limit: {v:?} is not NAME=VALUE"))?;
    if !NS_LIMITS.iter().any(|l| l.name == name) {
        let names: Vec<&str> = NS_LIMITS.iter().map(|l| l.name).collect();
        return Err(format!(
            "--ns-limit: unknown name {name:?} (one of: {})",
            names.join(", ")
        ));
    }
    let n = crate::limits::parse_size("--ns-limit", value)?;
    Ok((name.to_string(), n))
}

/// The caller's own value of a limit (the launcher's namespaces).
fn caller(name: &str) -> Option<u64> {
    use std::io::Read;
    // One read of a short number: no fstat and no second read, as
    // read_to_string would make, for each of these on every launch.
    let mut buf = [0u8; 32];
    let n = std::fs::File::open(proc_path(name))
        .ok()?
        .read(&mut buf)
        .ok()?;
    std::str::from_utf8(&buf[..n]).ok()?.trim().parse().ok()
}

/// Every limit with its value: the defaults, then what was asked (a later
/// one for the same name wins).
pub fn effective(given: &[(String, u64)], shm_size: u64) -> Vec<(String, u64)> {
    NS_LIMITS
        .iter()
        .map(|l| {
            let asked = given.iter().rev().find(|(n, _)| n == l.name);
            let v = match asked {
                Some((_, v)) => *v,
                None => (l.default)(caller(l.name), shm_size),
            };
            (l.name.to_string(), v)
        })
        .collect()
}

/// Write the limits in the child stage, through the host's /proc (before
/// the sandbox's own is mounted, and /proc/sys made read-only there): a
/// sysctl file applies to the namespaces of whoever writes it. A limit
/// this kernel does not have is skipped; so is one it keeps host-wide
/// (the IPC limits before Linux 5.17 are not the namespace's root's to
/// write): those are returned, for `--verbose` to name.
pub fn apply(limits: &[(String, u64)]) -> Result<Vec<String>> {
    let mut not_set = Vec::new();
    for (name, value) in limits {
        let path = proc_path(name);
        match std::fs::write(&path, value.to_string()) {
            Err(e) if e.kind() == ErrorKind::NotFound => not_set.push(name.clone()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
                not_set.push(name.clone())
            }
            other => other.ctx("set namespace limit", format!("{name}={value}"))?,
        }
    }
    Ok(not_set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_defaults() {
        assert_eq!(
            parse("kernel.shmmax=1G"),
            Ok(("kernel.shmmax".into(), 1 << 30))
        );
        assert!(parse("kernel.core_pattern=1").is_err());
        assert!(parse("user.max_inotify_instances").is_err());
        assert_eq!(half_or(Some(128), 32), 32);
        assert_eq!(half_or(Some(40), 32), 20);
        assert_eq!(half_or(Some(1), 32), 1);
        assert_eq!(half_or(None, 32), 32);
        let e = effective(&[("kernel.msgmni".into(), 5)], 64 << 20);
        let get = |n: &str| e.iter().find(|(k, _)| k == n).unwrap().1;
        assert_eq!(get("kernel.msgmni"), 5);
        assert_eq!(get("kernel.shmmax"), 64 << 20);
        assert_eq!(get("kernel.shmall"), 16384);
        assert_eq!(e.len(), NS_LIMITS.len());
    }
}
