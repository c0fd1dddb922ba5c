//! Capabilities: the one function that gives a process its five sets
//! (bounding, effective, permitted, inheritable, ambient), on the way
//! changing its uid and gid, for `sandbox run`'s stage (none, locked),
//! the bwrap front end (bubblewrap's rule, src/bwrap/) and the OCI
//! runtime's process (the config's, src/oci/process.rs); and the names
//! of the capabilities, linux/capability.h.
//!
//! Ref: capabilities(7) "Transformation of capabilities during execve()"

use crate::error::{Context, Result};
use crate::sys;

/// Capability numbers, linux/capability.h, without the CAP_ prefix.
const CAPS: &[(&str, u32)] = &[
    ("CHOWN", 0),
    ("DAC_OVERRIDE", 1),
    ("DAC_READ_SEARCH", 2),
    ("FOWNER", 3),
    ("FSETID", 4),
    ("KILL", 5),
    ("SETGID", 6),
    ("SETUID", 7),
    ("SETPCAP", 8),
    ("LINUX_IMMUTABLE", 9),
    ("NET_BIND_SERVICE", 10),
    ("NET_BROADCAST", 11),
    ("NET_ADMIN", 12),
    ("NET_RAW", 13),
    ("IPC_LOCK", 14),
    ("IPC_OWNER", 15),
    ("SYS_MODULE", 16),
    ("SYS_RAWIO", 17),
    ("SYS_CHROOT", 18),
    ("SYS_PTRACE", 19),
    ("SYS_PACCT", 20),
    ("SYS_ADMIN", 21),
    ("SYS_BOOT", 22),
    ("SYS_NICE", 23),
    ("SYS_RESOURCE", 24),
    ("SYS_TIME", 25),
    ("SYS_TTY_CONFIG", 26),
    ("MKNOD", 27),
    ("LEASE", 28),
    ("AUDIT_WRITE", 29),
    ("AUDIT_CONTROL", 30),
    ("SETFCAP", 31),
    ("MAC_OVERRIDE", 32),
    ("MAC_ADMIN", 33),
    ("SYSLOG", 34),
    ("WAKE_ALARM", 35),
    ("BLOCK_SUSPEND", 36),
    ("AUDIT_READ", 37),
    ("PERFMON", 38),
    ("BPF", 39),
    ("CHECKPOINT_RESTORE", 40),
];

/// The capability names this build knows, without the CAP_ prefix.
pub fn names() -> impl Iterator<Item = &'static str> {
    CAPS.iter().map(|(n, _)| *n)
}

/// A capability's number from its name without the CAP_ prefix, in upper
/// case.
pub fn by_name(name: &str) -> Option<u32> {
    CAPS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// The five sets a process ends with, bit N for capability N. Bits past
/// the kernel's last capability are left out when they are set (a newer
/// config, or `--cap-add ALL`, runs on an older kernel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    /// Raised only where permitted and inheritable (the kernel's rule).
    pub ambient: u64,
}

impl CapSets {
    /// No capability in any set: what `sandbox run`'s command gets.
    pub const NONE: CapSets = CapSets {
        bounding: 0,
        effective: 0,
        permitted: 0,
        inheritable: 0,
        ambient: 0,
    };

    /// `mask` in all five sets: the command keeps exactly these across
    /// its exec, whatever its uid.
    pub const fn all_five(mask: u64) -> CapSets {
        CapSets {
            bounding: mask,
            effective: mask,
            permitted: mask,
            inheritable: mask,
            ambient: mask,
        }
    }

    /// Whether the command ends with no capability at all.
    pub fn is_none(&self) -> bool {
        *self == CapSets::NONE
    }
}

/// Whether the securebits are locked as `sandbox run` locks them: root
/// gets no capability back at execve (SECBIT_NOROOT), a change of uid
/// keeps the sets as they are (SECBIT_NO_SETUID_FIXUP), no ambient
/// capability can be raised; each locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Securebits {
    /// Left as they are (the bwrap front end, as bubblewrap; the OCI
    /// runtime, as runc): the kernel's usual rules for uid 0.
    Keep,
    Lock,
}

/// Give this thread the sets `sets`, becoming `switch_to` (uid, gid) on
/// the way, after the bounding set is cut (that needs CAP_SETPCAP) and
/// before the other sets are set (setresuid needs CAP_SETUID; the
/// capabilities are kept across it by PR_SET_KEEPCAPS, or by
/// SECBIT_NO_SETUID_FIXUP when locked). Supplementary groups are the
/// caller's to set before. Order: securebits, bounding set, ids,
/// effective/permitted/inheritable, ambient.
pub fn apply(sets: &CapSets, bits: Securebits, switch_to: Option<(u32, u32)>) -> Result<()> {
    if bits == Securebits::Lock {
        // Changing them needs CAP_SETPCAP, which the bounding set may
        // lose next.
        const SECBIT_NOROOT: libc::c_ulong = 1 << 0;
        const SECBIT_NOROOT_LOCKED: libc::c_ulong = 1 << 1;
        const SECBIT_NO_SETUID_FIXUP: libc::c_ulong = 1 << 2;
        const SECBIT_NO_SETUID_FIXUP_LOCKED: libc::c_ulong = 1 << 3;
        const SECBIT_KEEP_CAPS_LOCKED: libc::c_ulong = 1 << 5;
        const SECBIT_NO_CAP_AMBIENT_RAISE: libc::c_ulong = 1 << 6;
        const SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED: libc::c_ulong = 1 << 7;
        sys::set_securebits(
            SECBIT_NOROOT
                | SECBIT_NOROOT_LOCKED
                | SECBIT_NO_SETUID_FIXUP
                | SECBIT_NO_SETUID_FIXUP_LOCKED
                | SECBIT_KEEP_CAPS_LOCKED
                | SECBIT_NO_CAP_AMBIENT_RAISE
                | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
        )
        .ctx_step("set securebits")?;
    }
    // Up to the kernel's last capability, which a drop past it finds
    // (EINVAL); not read from /proc, which a built root may not have, or
    // have as its maker wants it.
    let mut last = 63;
    for n in 0..=63 {
        if sets.bounding & (1 << n) != 0 {
            continue;
        }
        match sys::capbset_drop(n) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && n > 0 => {
                last = n - 1;
                break;
            }
            other => other.ctx("drop from the bounding set", format!("capability {n}"))?,
        }
    }
    // Bits past it mean nothing (the kernel would mask them too).
    let known = if last == 63 {
        u64::MAX
    } else {
        (1u64 << (last + 1)) - 1
    };
    if let Some((uid, gid)) = switch_to {
        // Locked securebits keep the sets across the change (and forbid
        // PR_SET_KEEPCAPS); otherwise keep-caps does, for this change only.
        let keep = bits == Securebits::Keep;
        if keep {
            sys::set_keepcaps(true).ctx("keep capabilities", "PR_SET_KEEPCAPS")?;
        }
        sys::setresgid(gid).ctx("become group", gid)?;
        sys::setresuid(uid).ctx("become user", uid)?;
        if keep {
            sys::set_keepcaps(false).ctx("keep capabilities", "PR_SET_KEEPCAPS")?;
        }
    }
    let (e, p, i) = (
        sets.effective & known,
        sets.permitted & known,
        sets.inheritable & known,
    );
    sys::capset(e, p, i).ctx(
        "set capabilities",
        format!("effective {e:#x} permitted {p:#x} inheritable {i:#x}"),
    )?;
    sys::clear_ambient_caps().ctx_step("clear the ambient capabilities")?;
    // The kernel raises an ambient capability only when it is permitted
    // and inheritable; one that is not is left out (runc does the same:
    // its `runc spec` lists ambient capabilities without inheritable ones).
    let ambient = sets.ambient & p & i;
    for n in 0..=last {
        if ambient & (1 << n) == 0 {
            continue;
        }
        match sys::sigsafe::ambient_raise(n) {
            // Past the kernel's last (a full bounding set did not find it).
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && n > 0 => break,
            other => other.ctx("raise an ambient capability", format!("capability {n}"))?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_have_their_numbers() {
        assert_eq!(by_name("CHOWN"), Some(0));
        assert_eq!(by_name("SYS_ADMIN"), Some(21));
        assert_eq!(by_name("CHECKPOINT_RESTORE"), Some(40));
        assert_eq!(by_name("FROB"), None);
        assert_eq!(names().count(), CAPS.len());
        // Numbered in order, none missing.
        for (i, (_, n)) in CAPS.iter().enumerate() {
            assert_eq!(*n as usize, i);
        }
    }
}
