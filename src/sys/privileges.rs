//! Privileges and identity: capabilities, securebits, no_new_privs,
//! dumpable, the command line /proc shows, ids, secure-execution mode, and
//! resource limits.

use std::io;

use libc::{c_int, c_ulong};

use super::cvt;

/// prctl(2) with integer arguments only.
fn prctl(option: c_int, arg2: c_ulong) -> io::Result<c_int> {
    // SAFETY: every option used here takes integers, no pointers, and the
    // unused arguments are zero.
    cvt(unsafe { libc::prctl(option, arg2, 0 as c_ulong, 0 as c_ulong, 0 as c_ulong) })
}

/// Remove one capability from the bounding set. Ref: prctl(2) PR_CAPBSET_DROP
pub fn capbset_drop(cap: u32) -> io::Result<()> {
    prctl(libc::PR_CAPBSET_DROP, cap as c_ulong).map(drop)
}

/// Empty the ambient set. Ref: prctl(2) PR_CAP_AMBIENT
pub fn clear_ambient_caps() -> io::Result<()> {
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes integers only; the unused
    // arguments are zero.
    cvt(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
            0 as c_ulong,
        )
    })
    .map(drop)
}

pub fn set_securebits(bits: c_ulong) -> io::Result<()> {
    prctl(libc::PR_SET_SECUREBITS, bits).map(drop)
}

/// Empty the effective, permitted and inheritable sets of this thread.
pub fn clear_caps() -> io::Result<()> {
    super::capset(0, 0, 0)
}

/// This thread's bounding set (bit N is capability N), read up to the
/// kernel's last capability. Ref: prctl(2) PR_CAPBSET_READ
pub fn bounding_set() -> u64 {
    (0..64u32)
        .map_while(|n| {
            prctl(libc::PR_CAPBSET_READ, n as c_ulong)
                .ok()
                .map(|r| (n, r))
        })
        .filter(|(_, r)| *r == 1)
        .fold(0, |m, (n, _)| m | 1 << n)
}

/// This thread's effective set (bit N is capability N).
/// Ref: capget(2), linux/capability.h (version 3: two u32 words)
pub fn effective_caps() -> io::Result<u64> {
    super::capget().map(|(effective, _, _)| effective)
}

pub fn set_no_new_privs() -> io::Result<()> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1).map(drop)
}

/// PR_GET_SECCOMP: 0 without seccomp, 2 under a filter (a container's
/// profile, systemd's SystemCallFilter). (Strict mode would not get here.)
pub fn seccomp_mode() -> io::Result<i32> {
    prctl(libc::PR_GET_SECCOMP, 0)
}

pub fn set_dumpable(on: bool) -> io::Result<()> {
    prctl(libc::PR_SET_DUMPABLE, on as c_ulong).map(drop)
}

/// Whether the kernel started this program in secure-execution mode:
/// setuid, setgid or file capabilities. A yes/no query: getauxval's only
/// failure (ENOENT, no such entry) reads as 0, "no".
/// Ref: getauxval(3) AT_SECURE
pub fn secure_exec() -> bool {
    // SAFETY: getauxval takes an integer and only reads the auxiliary
    // vector the kernel set up.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// (real, effective) uid and gid. These calls cannot fail.
pub fn ids() -> ((u32, u32), (u32, u32)) {
    // SAFETY: these calls take no arguments and touch no memory of ours.
    unsafe {
        (
            (libc::getuid(), libc::geteuid()),
            (libc::getgid(), libc::getegid()),
        )
    }
}

/// The effective uid; cannot fail.
pub fn geteuid() -> u32 {
    // SAFETY: geteuid takes no arguments and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// The effective gid; cannot fail.
pub fn getegid() -> u32 {
    // SAFETY: getegid takes no arguments and touches no memory of ours.
    unsafe { libc::getegid() }
}

/// No supplementary groups. Ref: setgroups(2)
pub fn setgroups_empty() -> io::Result<()> {
    // SAFETY: a count of 0 with a null list reads no memory.
    cvt(unsafe { libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) }).map(drop)
}

// ---------------------------------------------------------------------------
// Resource limits

/// (soft, hard) of one resource. Ref: getrlimit(2)
pub fn getrlimit(resource: u32) -> io::Result<(u64, u64)> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: the kernel fills `r`, a local rlimit that outlives the call.
    cvt(unsafe { libc::getrlimit(resource as _, &mut r) })?;
    Ok((r.rlim_cur, r.rlim_max))
}

pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> io::Result<()> {
    let r = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: the kernel reads `r`, a local rlimit that outlives the call.
    cvt(unsafe { libc::setrlimit(resource as _, &r) }).map(drop)
}
