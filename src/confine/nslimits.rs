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

use std::ffi::OsStr;
use std::io::{ErrorKind, Write};
use std::os::fd::BorrowedFd;

use crate::error::{Context, Result};

/// One limit: its sysctl name, its default, and the value a new
/// namespace starts with where that is the same on every kernel that has
/// the file (SHMMAX, SHMALL and MSGMNI changed over the years: None).
pub struct NsLimit {
    pub name: &'static str,
    default: DefaultFrom,
    fresh: Option<u64>,
}

/// Where a default comes from.
#[derive(Clone, Copy)]
enum DefaultFrom {
    /// Half of what the caller has, at most this: one sandbox leaves the
    /// host user at least half.
    HalfOfCaller(u64),
    /// As large as /dev/shm (bytes).
    Shm,
    /// As large as /dev/shm, in pages.
    ShmPages,
    Fixed(u64),
}

/// Half of what the caller has, at most `cap`: one sandbox leaves the
/// host user at least half.
fn half_or(caller: Option<u64>, cap: u64) -> u64 {
    caller.map_or(cap, |c| (c / 2).clamp(1, cap))
}

/// A new user namespace's ucount maxima are INT_MAX (create_user_ns).
const USER_FRESH: u64 = i32::MAX as u64;

const fn user(name: &'static str, cap: u64) -> NsLimit {
    NsLimit {
        name,
        default: DefaultFrom::HalfOfCaller(cap),
        fresh: Some(USER_FRESH),
    }
}

const fn ipc(name: &'static str, default: DefaultFrom, fresh: Option<u64>) -> NsLimit {
    NsLimit {
        name,
        default,
        fresh,
    }
}

/// Every limit `--ns-limit` names, and the defaults. A new IPC namespace
/// starts with the kernel's SHMMNI, MSGMNB and MSGMAX (ipc/shm.c
/// `shm_init_ns`, ipc/msg.c `msg_init_ns`), constant since Linux 2.6.
pub const NS_LIMITS: &[NsLimit] = &[
    user("user.max_inotify_instances", 32),
    user("user.max_inotify_watches", 65536),
    user("user.max_fanotify_groups", 16),
    user("user.max_fanotify_marks", 8192),
    user("user.max_user_namespaces", 64),
    user("user.max_mnt_namespaces", 64),
    user("user.max_pid_namespaces", 64),
    user("user.max_net_namespaces", 64),
    user("user.max_ipc_namespaces", 64),
    user("user.max_uts_namespaces", 64),
    user("user.max_cgroup_namespaces", 64),
    user("user.max_time_namespaces", 64),
    // Bytes per segment, and pages in all: as much as /dev/shm holds.
    ipc("kernel.shmmax", DefaultFrom::Shm, None),
    ipc("kernel.shmall", DefaultFrom::ShmPages, None),
    ipc("kernel.shmmni", DefaultFrom::Fixed(256), Some(4096)),
    // Queues; each holds at most msgmnb (16 KiB) bytes: 1 MiB in all
    // rather than the kernel's 32000 queues (500 MiB).
    ipc("kernel.msgmni", DefaultFrom::Fixed(64), None),
    ipc("kernel.msgmnb", DefaultFrom::Fixed(16384), Some(16384)),
    ipc("kernel.msgmax", DefaultFrom::Fixed(8192), Some(8192)),
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
    let n = crate::confine::limits::parse_size("--ns-limit", value)?;
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
/// one for the same name wins). The caller's own values are read only for
/// the defaults that depend on them (the `user.*` ones).
pub fn effective(given: &[(String, u64)], shm_size: u64) -> Vec<(String, u64)> {
    NS_LIMITS
        .iter()
        .map(|l| {
            let asked = given.iter().rev().find(|(n, _)| n == l.name);
            let v = match (asked, l.default) {
                (Some((_, v)), _) => *v,
                (None, DefaultFrom::HalfOfCaller(cap)) => half_or(caller(l.name), cap),
                (None, DefaultFrom::Shm) => shm_size,
                (None, DefaultFrom::ShmPages) => shm_size.div_ceil(4096),
                (None, DefaultFrom::Fixed(v)) => v,
            };
            (l.name.to_string(), v)
        })
        .collect()
}

/// Write one limit in the child stage, through the host's /proc (before
/// the sandbox's own is mounted, and /proc/sys made read-only there): a
/// sysctl file applies to the namespaces of whoever writes it. `sys` is
/// the host's /proc/sys, opened while it was in view (the child stage's
/// two threads share the writes, launch/stage.rs `Helper`). A limit this kernel
/// does not have is skipped; so is one it keeps host-wide (the IPC limits
/// before Linux 5.17 are not the namespace's root's to write): false then,
/// for `--verbose` to name. A value the new namespace starts with already
/// (msgmnb's and msgmax's defaults are the kernel's own) is not written:
/// the write would change nothing.
pub fn apply(sys: BorrowedFd<'_>, name: &str, value: u64) -> Result<bool> {
    let fresh = NS_LIMITS
        .iter()
        .find(|l| l.name == name)
        .and_then(|l| l.fresh);
    if fresh == Some(value) {
        return Ok(true);
    }
    let file = name.replace('.', "/");
    let written = crate::sys::openat(sys, OsStr::new(&file), libc::O_WRONLY)
        .and_then(|fd| std::fs::File::from(fd).write_all(value.to_string().as_bytes()));
    match written {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => Ok(false),
        other => other
            .ctx("set namespace limit", format!("{name}={value}"))
            .map(|()| true),
    }
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

    #[test]
    fn fresh_values_are_the_kernels() {
        // The kernel's MSGMNB, MSGMAX and SHMMNI (include/uapi/linux/msg.h,
        // shm.h) and create_user_ns's INT_MAX: a limit whose value is
        // these is not written.
        let get = |n: &str| NS_LIMITS.iter().find(|l| l.name == n).unwrap().fresh;
        assert_eq!(get("kernel.msgmnb"), Some(16384));
        assert_eq!(get("kernel.msgmax"), Some(8192));
        assert_eq!(get("kernel.shmmni"), Some(4096));
        assert_eq!(get("kernel.shmmax"), None);
        assert!(NS_LIMITS
            .iter()
            .filter(|l| l.name.starts_with("user."))
            .all(|l| l.fresh == Some(2147483647)));
    }
}
