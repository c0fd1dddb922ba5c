//! The Landlock ruleset, for both front ends: one builder ([`enforce`])
//! with the ABI it targets, the path rules, the scopes and the modes;
//! `sandbox run`/`exec` give it their rules here ([`apply`]), sandbox-oci's
//! `org.sandbox.landlock` annotation its own (oci/landlock.rs).
//!
//! For `sandbox run`, applied in the child stage after pivot_root (so
//! the paths below are the sandbox's own) and before seccomp:
//! read and execute anywhere under `/`; write only where a writable mount
//! is (the root unless it is read-only, /tmp, /dev/shm, `--bind` and
//! `--tmpfs` targets, /run when the root is the host's)
//! and to the device nodes in /dev; on ABI 6 and later also the
//! abstract-unix-socket and signal scopes, so a command run with
//! `--share-net` cannot reach the host's abstract sockets.
//!
//! Mounts already stop most writes; Landlock is the second wall, and the
//! only one for what mounts cannot say (a writable root that must still not
//! reach a socket of the host's, a device ioctl on a node we did not list).
//! Ref: Documentation/userspace-api/landlock.rst

use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, BitFlags, CompatLevel, Compatible, LandlockStatus, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

use crate::confine::rootfs;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::plan::{LandlockMode, RootMode};

/// The newest ABI whose rights we use and have tested. The crate drops what
/// an older kernel lacks (best effort); require only insists that some
/// ruleset is enforced.
const ABI_TARGET: ABI = ABI::V6;

/// The device nodes in /dev a sandbox may read, write, truncate and ioctl
/// (ttys need ioctls): those bound from the host (rootfs::DEVICES), the
/// console, the pty devices. /dev/ptmx is a node in an OCI container's
/// /dev and a link to pts/ptmx in ours.
fn device_nodes() -> Vec<PathBuf> {
    rootfs::DEVICES
        .iter()
        .chain(&["console", "pts", "ptmx"])
        .map(|d| Path::new("/dev").join(d))
        .collect()
}

/// What was enforced, for `--verbose` and the require check.
pub struct Outcome {
    pub summary: String,
}

/// What a ruleset grants, by path (each beneath it): read and execute,
/// everything, or a device's read, write, truncate and ioctl. A path
/// that is not there is left out (/dev/console exists only with a
/// terminal); any other that cannot be opened fails the ruleset.
pub struct Rules {
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    pub devices: Vec<PathBuf>,
}

impl Rules {
    /// Read anywhere under `/`, write beneath `write`, and the device
    /// nodes of /dev.
    pub fn new(write: Vec<PathBuf>) -> Rules {
        Rules {
            read: vec![PathBuf::from("/")],
            write,
            devices: device_nodes(),
        }
    }
}

/// Build the ruleset for `rules`, with the abstract-unix-socket and
/// signal scopes (ABI 6), and restrict the calling thread (and what it
/// execs). Best effort: what the kernel lacks is dropped. Under
/// `LandlockMode::Require` a kernel that enforces nothing fails, with
/// `hint` (the front end's way to run without it).
pub fn enforce(mode: LandlockMode, rules: &Rules, hint: &str) -> Result<Outcome> {
    if mode == LandlockMode::Off {
        return Ok(Outcome {
            summary: "landlock: off".into(),
        });
    }
    let err =
        |what: &str, e: &dyn std::fmt::Display| Error::msg("landlock", format!("{what}: {e}"));
    let abi = ABI_TARGET;
    let read = AccessFs::from_read(abi);
    let all = AccessFs::from_all(abi);
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev;
    let grants: [(&[PathBuf], BitFlags<AccessFs>); 3] = [
        (&rules.read, read),
        (&rules.write, all),
        (&rules.devices, device),
    ];

    let mut rs = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(|e| err("handle filesystem access", &e))?
        .scope(Scope::from_all(abi))
        .map_err(|e| err("scope", &e))?
        .create()
        .map_err(|e| err("create the ruleset", &e))?;
    for (paths, access) in grants {
        for path in paths {
            let fd = match PathFd::new(path) {
                Ok(fd) => fd,
                Err(_) if !path.exists() => continue,
                Err(e) => return Err(err(&format!("open {}", path.display()), &e)),
            };
            rs = rs
                .add_rule(PathBeneath::new(fd, access))
                .map_err(|e| err(&format!("rule for {}", path.display()), &e))?;
        }
    }
    let status = rs
        .restrict_self()
        .map_err(|e| err("restrict the process", &e))?;

    let abi_seen = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => Some(effective_abi as i32),
        _ => None,
    };
    let (enforced, what) = match (status.ruleset, abi_seen) {
        (RulesetStatus::FullyEnforced, Some(n)) => {
            (true, format!("enforced (ABI {n}: filesystem and scopes)"))
        }
        (RulesetStatus::PartiallyEnforced, Some(n)) => (
            true,
            format!(
                "partly enforced (kernel ABI {n}; {})",
                if n < 6 {
                    "no abstract-socket or signal scopes"
                } else {
                    "some rights missing"
                }
            ),
        ),
        _ => (
            false,
            format!("not enforced: {}", unavailable_reason(&status.landlock)),
        ),
    };
    if mode == LandlockMode::Require && !enforced {
        return Err(Error::msg("landlock", format!("required, but {what}")).with_hint(format!(
            "boot a kernel with Landlock in its LSM list (CONFIG_LSM or lsm=...,landlock), or {hint}"
        )));
    }
    Ok(Outcome {
        summary: format!("landlock: {what}"),
    })
}

/// `sandbox run`'s and `exec`'s ruleset. `root_writable` is false for
/// `--read-only` and for the overlay-unavailable fallback.
pub fn apply(plan: &Plan, root_writable: bool) -> Result<Outcome> {
    if plan.landlock == LandlockMode::Off {
        return Ok(Outcome {
            summary: "landlock: off (--landlock off)".into(),
        });
    }
    let mut writable: Vec<PathBuf> = vec!["/tmp".into(), "/dev/shm".into()];
    if root_writable && plan.root != RootMode::ReadOnly {
        writable.push("/".into());
    }
    for b in plan.binds.iter().filter(|b| !b.read_only) {
        writable.push(b.dst.clone());
    }
    writable.extend(tmpfs_targets(plan).into_iter().map(Path::to_path_buf));
    enforce(plan.landlock, &Rules::new(writable), "use --landlock auto")
}

/// The writable tmpfs mounts besides /tmp and /dev/shm: `--tmpfs`
/// targets, and the empty /run of a sandbox whose root is the host's.
fn tmpfs_targets(plan: &Plan) -> Vec<&Path> {
    let mut v: Vec<&Path> = plan.tmpfs.iter().map(|t| t.dst.as_path()).collect();
    if plan.host_root() {
        v.push(Path::new("/run"));
    }
    v
}

fn unavailable_reason(s: &LandlockStatus) -> &'static str {
    match s {
        LandlockStatus::NotEnabled => "the kernel has Landlock built in but not enabled at boot",
        LandlockStatus::NotImplemented => "the kernel is built without Landlock",
        LandlockStatus::Available { .. } => "the kernel refused the ruleset",
    }
}
