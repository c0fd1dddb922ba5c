//! `sandbox run`'s cgroup v2 leaf for `--memory`, `--pids` and `--cpus`,
//! over the core in mod.rs (discovery, files, removal).
//!
//! A fresh child cgroup of the caller's own cgroup, made for one run: the
//! sandbox is born in it (CLONE_INTO_CGROUP, or moved before it is
//! released), its limits are written before anything of the command runs,
//! and it is removed when the sandbox has ended. That needs the caller's
//! cgroup to be delegated to the caller (`systemd-run --user --scope -p
//! Delegate=yes`). Whatever stands in the way fails the run with 125: a
//! limit that was asked for is never silently dropped.
//! Ref: Documentation/admin-guide/cgroup-v2.rst ("Delegation",
//! "No Internal Process Constraint")
//!
//! What is pure is unit-tested; the rest is tested through the binary on
//! a pure cgroup v2 kernel (`make test-vm`).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{absent, keyed, read, Found};
use crate::error::{Context, Error, Result};
use crate::plan::CgroupLimits;

pub const DELEGATE_HINT: &str = "run sandbox in a cgroup delegated to you, alone in it: 'systemd-run --user --scope -p Delegate=yes sandbox run …' (docs/SUPERVISION.md); or use --limit, whose rlimits need no cgroup";

/// On a hybrid (or cgroup v1) system the controllers live in cgroup v1,
/// and no delegation of the v2 tree can give them: systemd-run would not
/// help, so the hint names what does.
pub const HYBRID_HINT: &str = "no delegated cgroup can give these limits on a hybrid or cgroup v1 system: use --limit (as, nproc, cpu: rlimits, no cgroup needed), or boot with systemd.unified_cgroup_hierarchy=1 for a pure cgroup v2 system (docs/SUPERVISION.md)";

/// The hint for a run whose cgroup limits cannot be had: delegation on a
/// pure v2 system, the alternatives on a hybrid or v1 one.
pub fn limits_hint(hybrid: bool) -> &'static str {
    if hybrid {
        HYBRID_HINT
    } else {
        DELEGATE_HINT
    }
}

/// Fail closed on a hybrid or v1 system: no delegation helps there.
fn refuse_hybrid(why: String) -> Error {
    Error::msg("cgroup", why).with_hint(limits_hint(true))
}

/// The cpu.max period: 100 ms, the kernel's default.
const CPU_PERIOD_US: u64 = 100_000;

/// Where the launcher moves itself when its cgroup must hand controllers
/// down: a cgroup with processes in it cannot (the no-internal-process
/// rule), so the launcher leaves it for this leaf first.
const LAUNCHER_LEAF: &str = "sandbox-launcher";

/// The cgroup made for one run.
pub struct Cgroup {
    dir: PathBuf,
    /// Open on `dir`, for CLONE_INTO_CGROUP.
    pub fd: OwnedFd,
    removed: bool,
}

/// A launch that fails after the cgroup was made still removes it.
impl Drop for Cgroup {
    fn drop(&mut self) {
        if !self.removed {
            let _ = self.remove();
        }
    }
}

/// What the cgroup saw, read before it is removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Usage {
    /// memory.events oom_kill: processes the OOM killer took.
    pub oom_kills: u64,
    /// pids.events max: forks refused at the limit.
    pub pids_refused: u64,
    /// memory.events max: times usage hit memory.max and was reclaimed.
    pub memory_max_hits: u64,
    /// memory.peak (Linux 5.19).
    pub peak_memory: Option<u64>,
    /// cpu.stat nr_throttled: periods in which --cpus held it back.
    pub cpu_throttled: u64,
    pub user: Option<Duration>,
    pub system: Option<Duration>,
}

/// Which controllers a set of limits needs.
pub fn controllers(l: &CgroupLimits) -> Vec<&'static str> {
    let mut c = Vec::new();
    if l.memory.is_some() {
        c.push("memory");
    }
    if l.pids.is_some() {
        c.push("pids");
    }
    if l.cpus_milli.is_some() {
        c.push("cpu");
    }
    c
}

/// The files to write, in order, and what into them.
pub fn settings(l: &CgroupLimits) -> Vec<(&'static str, String)> {
    let mut s = Vec::new();
    if let Some(m) = l.memory {
        s.push(("memory.max", m.to_string()));
        // Without this, a sandbox over its memory goes to swap instead of
        // being stopped; --memory is meant as the whole of it.
        s.push(("memory.swap.max", "0".to_string()));
    }
    if let Some(p) = l.pids {
        s.push(("pids.max", p.to_string()));
    }
    if let Some(c) = l.cpus_milli {
        s.push((
            "cpu.max",
            format!("{} {CPU_PERIOD_US}", c as u64 * CPU_PERIOD_US / 1000),
        ));
    }
    s
}

fn write(path: &Path, what: &str, data: &str) -> Result<()> {
    super::write(path, what, data).map_err(delegation_hint)
}

fn delegation_hint(e: Error) -> Error {
    if super::is_denied(&e) || e.raw_errno() == Some(libc::EBUSY) {
        e.with_hint(DELEGATE_HINT)
    } else {
        e
    }
}

/// Fail closed: why the limits cannot be had here.
fn refuse(why: String) -> Error {
    Error::msg("cgroup", why).with_hint(DELEGATE_HINT)
}

impl Cgroup {
    /// Make the run's cgroup with its limits written, or say why not.
    pub fn create(limits: &CgroupLimits) -> Result<Cgroup> {
        let found = Found::read()?;
        let Some(path) = found.own_unified() else {
            return Err(refuse_hybrid(
                "--memory, --pids and --cpus need cgroup v2, and this system has only cgroup v1"
                    .into(),
            ));
        };
        let Some(own) = found.unified().and_then(|h| h.dir_of(path)) else {
            return Err(refuse(format!(
                "cgroup v2 is not mounted where this process can see its cgroup {path}"
            )));
        };
        let wanted = controllers(limits);
        let available = read(&own.join("cgroup.controllers"))?;
        let missing = absent(&wanted, &available);
        if !missing.is_empty() {
            let hybrid = !found.is_pure_v2();
            let e = refuse(format!(
                "the cgroup v2 controller{} {} {} not available in {} (it has: {}){}",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                if missing.len() > 1 { "are" } else { "is" },
                own.display(),
                if available.trim().is_empty() {
                    "none"
                } else {
                    available.trim()
                },
                if hybrid {
                    "; on a hybrid cgroup system the controllers live in cgroup v1, which sandbox does not use (boot with systemd.unified_cgroup_hierarchy=1)"
                } else {
                    ""
                }
            ));
            return Err(e.with_hint(limits_hint(hybrid)));
        }
        let enabled = read(&own.join("cgroup.subtree_control"))?;
        let to_enable = absent(&wanted, &enabled);
        if !to_enable.is_empty() {
            enable(&own, path == "/", &to_enable)?;
        }

        let dir = own.join(format!("sandbox-{}", std::process::id()));
        super::make(&dir, "create cgroup").map_err(delegation_hint)?;
        let made = (|| {
            for (file, value) in settings(limits) {
                let p = dir.join(file);
                match super::write(&p, &format!("set {file} to {value}"), &value) {
                    // No swap accounting: there is no swap to limit.
                    Err(e) if file == "memory.swap.max" && e.raw_errno() == Some(libc::ENOENT) => {}
                    r => r?,
                }
            }
            super::open(&dir, "open cgroup")
        })();
        match made {
            Ok(fd) => Ok(Cgroup {
                dir,
                fd,
                removed: false,
            }),
            Err(e) => {
                let _ = super::rmdir(&dir);
                Err(e)
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Move a process in (when it could not be born here).
    pub fn place(&self, pid: libc::pid_t) -> Result<()> {
        write(
            &self.dir.join("cgroup.procs"),
            "move the sandbox into its cgroup",
            &pid.to_string(),
        )
    }

    pub fn usage(&self) -> Usage {
        let get = |f: &str| read(&self.dir.join(f)).unwrap_or_default();
        let (mem, pids, cpu) = (get("memory.events"), get("pids.events"), get("cpu.stat"));
        let usec = |k: &str| keyed(&cpu, k).map(Duration::from_micros);
        Usage {
            oom_kills: keyed(&mem, "oom_kill").unwrap_or(0),
            memory_max_hits: keyed(&mem, "max").unwrap_or(0),
            pids_refused: keyed(&pids, "max").unwrap_or(0),
            peak_memory: get("memory.peak").trim().parse().ok(),
            cpu_throttled: keyed(&cpu, "nr_throttled").unwrap_or(0),
            user: usec("user_usec"),
            system: usec("system_usec"),
        }
    }

    /// Kill anything left (cgroup.kill, Linux 5.14) and remove the cgroup.
    /// A cgroup whose last task is still exiting is busy for a moment.
    pub fn remove(&mut self) -> Result<()> {
        self.removed = true;
        super::kill(&self.dir);
        super::rmdir(&self.dir).ctx("remove cgroup", self.dir.display())
    }
}

/// Hand controllers from our cgroup to its children. Outside the root
/// cgroup that needs our cgroup to hold no process, so the launcher, when
/// alone in it, moves itself to a leaf first; anything else in there means
/// the cgroup is not ours to rearrange.
fn enable(own: &Path, is_root: bool, controllers: &[&str]) -> Result<()> {
    if !is_root {
        let me = std::process::id() as i32;
        let others = super::procs(own)?.into_iter().filter(|p| *p != me).count();
        if others > 0 {
            return Err(refuse(format!(
                "cannot enable {} in {}: the cgroup holds {others} other process{}, and cgroup v2 gives controllers only to the children of a cgroup without processes",
                controllers.join(", "),
                own.display(),
                if others > 1 { "es" } else { "" }
            )));
        }
        let leaf = own.join(LAUNCHER_LEAF);
        match super::make(&leaf, "create cgroup") {
            Err(e) if e.raw_errno() == Some(libc::EEXIST) => {}
            r => r.map_err(delegation_hint)?,
        }
        write(
            &leaf.join("cgroup.procs"),
            "move the launcher to its own cgroup",
            &me.to_string(),
        )?;
    }
    super::enable(own, controllers, "enable cgroup controllers").map_err(delegation_hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_fits_the_hierarchy() {
        // Pure v2: delegation is the fix.
        assert!(limits_hint(false).contains("systemd-run --user --scope -p Delegate=yes"));
        // Hybrid: it cannot be; say what can.
        let h = limits_hint(true);
        assert!(!h.contains("systemd-run") && !h.contains("Delegate"), "{h}");
        assert!(
            h.contains("--limit") && h.contains("systemd.unified_cgroup_hierarchy=1"),
            "{h}"
        );
    }

    #[test]
    fn settings_for_each_limit() {
        let l = CgroupLimits {
            memory: Some(64 << 20),
            pids: Some(50),
            cpus_milli: Some(1500),
        };
        assert_eq!(controllers(&l), ["memory", "pids", "cpu"]);
        assert_eq!(
            settings(&l),
            [
                ("memory.max", "67108864".to_string()),
                ("memory.swap.max", "0".to_string()),
                ("pids.max", "50".to_string()),
                ("cpu.max", "150000 100000".to_string()),
            ]
        );
        assert!(settings(&CgroupLimits::default()).is_empty());
        let tiny = CgroupLimits {
            cpus_milli: Some(10),
            ..Default::default()
        };
        assert_eq!(settings(&tiny), [("cpu.max", "1000 100000".to_string())]);
    }
}
