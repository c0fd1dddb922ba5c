//! sandbox-oci's container cgroup: `linux.cgroupsPath` and
//! `linux.resources`, a layer over the core (mod.rs: discovery, files,
//! removal) with the device rules in devices.rs.
//!
//! [`Cgroup::create`] makes the container's cgroup directories and writes
//! its limits before the container's process is moved in ([`Cgroup::add`]);
//! the state file keeps them ([`Cgroup::to_json`]) for `ps`, `kill --all`
//! and `delete` ([`Cgroup::pids`], [`Cgroup::remove`]).
//!
//! Where the directories are: `linux.cgroupsPath` as runc's cgroupfs
//! driver reads it. An absolute path is below the hierarchy's root (its
//! mount point); a relative one is below the caller's own cgroup, read from
//! /proc/self/cgroup: in each cgroup v1 hierarchy the caller's cgroup there,
//! in the unified hierarchy of a hybrid system the caller's v2 cgroup, and
//! on a pure cgroup v2 system, as runc does, the *parent* of the caller's
//! cgroup: the caller's own cgroup holds processes (the caller at least),
//! and cgroup v2 hands controllers only to the children of a cgroup
//! without processes. Without a cgroupsPath, a container that asks for
//! limits gets `sandbox-oci-<id>`, relative. The path is cleaned
//! lexically first: `..` never climbs above where it starts.
//!
//! What is enforced where:
//! - pure cgroup v2: memory (memory.max, memory.swap.max, memory.low),
//!   pids.max, cpu (cpu.weight from shares, cpu.max, cpu.max.burst,
//!   cpu.idle), cpuset.cpus/mems, `hugetlb.<size>.max` and any
//!   `linux.resources.unified` file, each controller enabled in the
//!   parents' cgroup.subtree_control where that is possible. As root,
//!   device rules become an eBPF program attached to the directory.
//!   (As root, device rules always have runc's default list appended,
//!   devices.rs `default_allowed`.)
//! - hybrid or cgroup v1, as root: the v1 files (memory.limit_in_bytes,
//!   memory.memsw.limit_in_bytes, memory.soft_limit_in_bytes,
//!   memory.swappiness, memory.oom_control, pids.max, cpu.shares,
//!   cpu.cfs_quota_us/cfs_period_us/cfs_burst_us, cpu.idle,
//!   cpu.rt_runtime_us/rt_period_us, cpuset.cpus/mems,
//!   `hugetlb.<size>.limit_in_bytes`), each in a directory of the v1
//!   hierarchy that has the controller (a new cpuset directory first gets
//!   its parent's cpus and mems: a task cannot join a cpuset without
//!   them); device rules in the devices controller, and, where the
//!   unified hierarchy is mounted, also as the eBPF program on the
//!   container's directory there (the kernel checks both). The unified
//!   directory is made in any case, to track the container's processes;
//!   `linux.resources.unified` files are written there.
//! - rootless (not root, or root of a user namespace): what a delegated
//!   cgroup v2 directory allows. Device rules are ignored: in a user
//!   namespace no device node can be made (mknod needs CAP_MKNOD in the
//!   initial user namespace), so the rules are moot, as runc treats them.
//!   A cgroup v1 directory is never delegated by our hosts, so a rootless
//!   container that asks for no limit gets no cgroup there at all.
//!
//! What fails closed, always with the config field, the file and the
//! errno, and a hint: a limit whose directory cannot be made, whose
//! controller is missing or not enabled, or whose file the kernel
//! refuses; device rules as root where neither the devices controller nor
//! cgroup v2 is there to enforce them; and fields sandbox-oci does not
//! implement: `linux.resources.blockIO`, `network`, `rdma`, and realtime
//! CPU on cgroup v2.
//!
//! What is ignored, as runc ignores it: `memory.kernel` and
//! `memory.kernelTCP` (gone from the kernel since 5.4 and 6.1), and, on
//! cgroup v2 only, `memory.swappiness` and `memory.disableOOMKiller`
//! (cgroup v2 has neither; both tune rather than limit). A value of -1
//! (unlimited) or 0 (unset) is not written: a new cgroup is unlimited.
//!
//! Ref: Documentation/admin-guide/cgroup-v2.rst, and cgroup-v1/*.rst
//! (memory, cpusets, devices, pids); the runtime spec's config-linux.md.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde_json::{json, Value};

use super::devices::{
    attach_program, default_allowed, denies_any, device_rules, v1_device_lines, DevRule,
};
use super::{
    absent, collect_pids, enable, io_error, is_denied, mkdir_p, read, rmdir, rmdir_below, rootless,
    write_file, Found, Hierarchy,
};
use crate::error::{Context, Error, Result};
use crate::oci::spec::{Linux, LinuxBlockIo, LinuxDeviceCgroup, LinuxNetwork, LinuxResources};

/// For a rootless container that asks for a limit it cannot have.
const DELEGATE_HINT: &str = "an unprivileged runtime can set cgroup limits only in a cgroup v2 directory delegated to it (e.g. run it under 'systemd-run --user --scope -p Delegate=yes'); or leave the limit out of the container's config (podman: --cgroups=disabled)";

/// For a limit on a hybrid or v1 system without root.
const V1_HINT: &str = "cgroup v1 directories belong to root: run the runtime as root, boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2 (where a delegated cgroup can hold limits), or leave the limit out of the container's config";

/// The cpu.max period when the config gives none: the kernel's default.
const CPU_PERIOD_US: u64 = 100_000;

/// The container's cgroup directories, one per hierarchy, and how much of
/// each path this container made (what [`Cgroup::remove`] takes away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    dirs: Vec<Dir>,
}

/// One of the container's cgroup directories.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dir {
    /// "unified" for cgroup v2, else the v1 hierarchy's controllers
    /// ("memory", "cpu,cpuacct").
    hierarchy: String,
    path: PathBuf,
    /// How many directories, from `path` up, the container made: 0 when it
    /// joined a cgroup that was there.
    created: usize,
}

impl Cgroup {
    /// From the config: None when there is nothing to do (no cgroupsPath
    /// and no resources; or rootless with no writable cgroup and no limit
    /// asked). Creates the directories and writes the limits. A limit that
    /// is asked for and cannot be enforced fails closed, with a message
    /// naming the limit, the file and the errno, and a hint.
    ///
    /// `systemd` (the runtime was given --systemd-cgroup) reads
    /// cgroupsPath as systemd's "slice:prefix:name". There is no systemd
    /// on our hosts to ask for a unit, so it becomes the plain path that
    /// systemd would have made: the slice expanded as systemd does
    /// ("a-b.slice" is "a.slice/a-b.slice"; "system.slice" when empty, or
    /// "user.slice" rootless), then "prefix-name.scope" (or the name
    /// itself when it ends in ".slice"). As root that path is absolute;
    /// rootless it is below the caller's own cgroup, since the user
    /// manager's cgroup systemd would use is not there to ask.
    pub fn create(linux: &Linux, id: &str, systemd: bool) -> Result<Option<Cgroup>> {
        let rootless = rootless();
        let given = linux
            .cgroups_path
            .as_ref()
            .map(|p| p.to_string_lossy().into_owned())
            .filter(|p| !p.is_empty());
        let empty = LinuxResources::default();
        let res = linux.resources.as_ref().unwrap_or(&empty);
        if given.is_none() && *res == empty {
            return Ok(None);
        }
        unsupported(res)?;
        // Device rules are moot in a user namespace (see the module's
        // documentation).
        let rules = if rootless {
            Vec::new()
        } else {
            let own: Vec<&Path> = linux
                .devices
                .iter()
                .flatten()
                .map(|d| d.path.as_path())
                .collect();
            let mut list = res.devices.clone().unwrap_or_default();
            list.extend(default_allowed(&own));
            device_rules(&list)?
        };
        let found = Found::read()?;
        let v2 = found.is_pure_v2();
        let settings = if v2 {
            v2_settings(res, false)?
        } else {
            v1_settings(res, false)?
        };
        // On a hybrid system, linux.resources.unified is for the unified
        // directory (v2_settings has it already).
        let extra = if v2 { Vec::new() } else { unified(res)? };
        let asked = !settings.is_empty() || !extra.is_empty() || denies_any(&rules);
        if !asked && (given.is_none() || (rootless && !v2)) {
            return Ok(None);
        }
        let target = match (&given, systemd) {
            (Some(p), false) => Target::parse(p)?,
            (Some(p), true) => Target::systemd(p, rootless)?,
            (None, false) => Target::for_id(id)?,
            (None, true) => Target::systemd(&format!(":sandbox-oci:{id}"), rootless)?,
        };
        if v2 {
            create_v2(&found, &target, &settings, &rules, rootless)
        } else {
            create_v1(&found, &target, &settings, &extra, &rules)
        }
    }

    /// Move a process in (before it runs the user's program).
    pub fn add(&self, pid: i32) -> Result<()> {
        for d in &self.dirs {
            let procs = d.path.join("cgroup.procs");
            write_file(&procs, &pid.to_string()).ctx(
                &format!("move process {pid} into its cgroup"),
                procs.display(),
            )?;
        }
        Ok(())
    }

    /// The processes in it (for `ps` and `kill --all`), those of any
    /// cgroup the container made below it included.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let mut pids = Vec::new();
        if let Some(d) = self.tracking() {
            collect_pids(&d.path, &mut pids)?;
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Remove the directories (after the processes are gone; retry
    /// briefly on EBUSY): any cgroups the container made inside its own,
    /// then its own, then the parents this container made, as long as
    /// nobody else has put a cgroup in them. A cgroup it joined (one that
    /// was there before) is left, as is anything attached to it.
    pub fn remove(&self) -> Result<()> {
        let mut first = None;
        for d in &self.dirs {
            if let Err(e) = remove_dir(d) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }

    /// `sandbox-oci update`: write `res` (the resources JSON containerd's
    /// shim sends: the container's whole `linux.resources`, changed) into
    /// the container's existing directories. As at create, a limit that
    /// cannot be enforced fails, naming it; -1 lifts a limit. Device rules
    /// stay as `create` made them (runc's update leaves them too; the shim
    /// sends the config's unchanged). Where cgroup v1 and the unified
    /// hierarchy are both mounted, `unified` goes to the latter.
    pub fn update(&self, res: &LinuxResources) -> Result<()> {
        unsupported(res)?;
        let found = Found::read()?;
        if found.is_pure_v2() {
            let d = self
                .dir("unified")
                .ok_or_else(|| Error::msg("update", "the container has no cgroup v2 directory"))?;
            let settings = v2_settings(res, true)?;
            let h = found
                .unified()
                .ok_or_else(|| Error::msg("update", "cgroup v2 is not mounted"))?;
            let rootless = rootless();
            let failed = enable_controllers(&h.mount, &d.path, &settings);
            for s in &settings {
                write_setting(&d.path, s)
                    .map_err(|e| v2_hint(e, s, &h.mount, &failed, rootless))?;
            }
            return Ok(());
        }
        let mut settings = v1_settings(res, true)?;
        order_memory_v1(self.dir("memory"), &mut settings);
        for s in &settings {
            let d = self.dir(&s.controller).ok_or_else(|| {
                not_enforced(
                    &s.field,
                    &format!(
                        "the container has no cgroup in the {} hierarchy (it was created without one)",
                        s.controller
                    ),
                )
            })?;
            write_setting(&d.path, s).map_err(v1_hint)?;
        }
        let extra = unified(res)?;
        if !extra.is_empty() {
            let d = self.dir("unified").ok_or_else(|| {
                not_enforced(&extra[0].field, "the container has no cgroup v2 directory")
            })?;
            for s in &extra {
                write_setting(&d.path, s)?;
            }
        }
        Ok(())
    }

    /// `pause` (true) and `resume` (false): the freezer, v1's where the
    /// container has a directory in that hierarchy (as runc on a hybrid
    /// system), else cgroup v2's cgroup.freeze. Returns once the kernel
    /// reports every process frozen (or thawed), within 10 s.
    pub fn freeze(&self, frozen: bool) -> Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let step = if frozen { "pause" } else { "resume" };
        if let Some(d) = self.dir("freezer") {
            let f = d.path.join("freezer.state");
            let want = if frozen { "FROZEN" } else { "THAWED" };
            // A freeze in progress reads FREEZING; writing FROZEN again
            // goes on with it (tasks in a vfork, say).
            return poll_until(
                deadline,
                || {
                    write_file(&f, want).ctx(&format!("{step}: write {want}"), f.display())?;
                    Ok(read(&f)?.trim() == want)
                },
                || {
                    Error::msg(step, format!("the freezer did not reach {want} in 10 s"))
                        .with_path(f.display().to_string())
                },
            );
        }
        let Some(d) = self.dir("unified") else {
            return Err(Error::msg(
                step,
                "the container's cgroup has neither a v1 freezer nor a cgroup v2 directory",
            ));
        };
        let f = d.path.join("cgroup.freeze");
        let want = if frozen { "1" } else { "0" };
        write_file(&f, want).ctx(&format!("{step}: write {want}"), f.display())?;
        let events = d.path.join("cgroup.events");
        poll_until(
            deadline,
            || {
                Ok(read(&events)?
                    .lines()
                    .any(|l| l == format!("frozen {want}")))
            },
            || {
                Error::msg(
                    step,
                    format!("cgroup.events did not say 'frozen {want}' in 10 s"),
                )
                .with_path(events.display().to_string())
            },
        )
    }

    /// Whether the container is paused: its freezer says FROZEN (v1), or
    /// cgroup.freeze is 1 (v2).
    pub fn frozen(&self) -> bool {
        if let Some(d) = self.dir("freezer") {
            return read(&d.path.join("freezer.state")).is_ok_and(|s| s.trim() == "FROZEN");
        }
        self.dir("unified")
            .is_some_and(|d| read(&d.path.join("cgroup.freeze")).is_ok_and(|s| s.trim() == "1"))
    }

    /// The directory in the hierarchy that has `controller` ("unified":
    /// the cgroup v2 one).
    fn dir(&self, controller: &str) -> Option<&Dir> {
        self.dirs.iter().find(|d| {
            d.hierarchy == controller
                || (controller != "unified" && d.hierarchy.split(',').any(|c| c == controller))
        })
    }

    /// For the container's state file.
    pub fn to_json(&self) -> Value {
        let dirs: Vec<Value> = self
            .dirs
            .iter()
            .map(|d| {
                json!({
                    "hierarchy": d.hierarchy,
                    "path": d.path.to_string_lossy(),
                    "created": d.created,
                })
            })
            .collect();
        json!({ "dirs": dirs })
    }

    /// Back from the state file; the paths must be absolute and clean.
    pub fn from_json(v: &Value) -> Result<Cgroup> {
        let bad = |why: &str| Error::msg("read the container's cgroup from its state", why);
        let list = v
            .get("dirs")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no \"dirs\" list"))?;
        let mut dirs = Vec::new();
        for d in list {
            let hierarchy = d.get("hierarchy").and_then(Value::as_str);
            let path = d.get("path").and_then(Value::as_str);
            let created = d.get("created").and_then(Value::as_u64);
            let (Some(hierarchy), Some(path), Some(created)) = (hierarchy, path, created) else {
                return Err(bad(&format!("a malformed entry: {d}")));
            };
            let path = PathBuf::from(path);
            if !path.is_absolute()
                || path
                    .components()
                    .any(|c| !matches!(c, Component::RootDir | Component::Normal(_)))
            {
                return Err(bad(&format!(
                    "the path {} is not absolute and clean",
                    path.display()
                )));
            }
            dirs.push(Dir {
                hierarchy: hierarchy.to_string(),
                path,
                created: created as usize,
            });
        }
        Ok(Cgroup { dirs })
    }

    /// The directory whose cgroup.procs lists the container: the unified
    /// one when there is one (v1 hierarchies hold the same processes).
    fn tracking(&self) -> Option<&Dir> {
        self.dirs
            .iter()
            .find(|d| d.hierarchy == "unified")
            .or(self.dirs.first())
    }
}

/// Attach `rules` as an eBPF device program to the cgroup v2 directory
/// `dir` (what [`Cgroup::create`] does as root where cgroup v2 is
/// mounted), here on its own for the tests. Rules that deny nothing attach
/// nothing.
#[doc(hidden)]
pub fn attach_device_rules(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<()> {
    attach_program(dir, &device_rules(rules)?)
}

// ---------------------------------------------------------------------
// Where: cgroupsPath to a path in each hierarchy.

/// A cleaned cgroupsPath: its components, below the hierarchy's root
/// (absolute) or below the caller's cgroup (relative).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    absolute: bool,
    parts: Vec<String>,
}

impl Target {
    /// cgroupsPath as given, cleaned lexically: "." and empty components
    /// dropped, ".." taking one away but never climbing above the start.
    fn parse(path: &str) -> Result<Target> {
        let mut parts: Vec<String> = Vec::new();
        for c in path.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                c => parts.push(c.to_string()),
            }
        }
        if parts.is_empty() {
            return Err(Error::msg(
                "linux.cgroupsPath",
                format!("{path:?} names the root of the hierarchy, which cannot be a container's cgroup"),
            ));
        }
        Ok(Target {
            absolute: path.starts_with('/'),
            parts,
        })
    }

    /// No cgroupsPath but limits: a cgroup named for the container, below
    /// the caller's.
    fn for_id(id: &str) -> Result<Target> {
        if id.is_empty() || id.contains('/') || id == "." || id == ".." {
            return Err(Error::msg(
                "linux.cgroupsPath",
                format!("the container id {id:?} cannot name a cgroup"),
            ));
        }
        Target::parse(&format!("sandbox-oci-{id}"))
    }

    /// systemd's "slice:prefix:name", mapped to the path systemd would
    /// make (see [`Cgroup::create`]).
    fn systemd(spec: &str, rootless: bool) -> Result<Target> {
        let bad = |why: String| {
            Error::msg(
                "linux.cgroupsPath",
                format!("{spec:?}: {why}, with --systemd-cgroup"),
            )
        };
        let fields: Vec<&str> = spec.split(':').collect();
        let [slice, prefix, name] = fields[..] else {
            return Err(bad("expected \"slice:prefix:name\"".into()));
        };
        if name.is_empty() || name.contains('/') {
            return Err(bad(format!("the name {name:?} cannot name a cgroup")));
        }
        if prefix.contains('/') {
            return Err(bad(format!("the prefix {prefix:?} cannot name a cgroup")));
        }
        let slice = match slice {
            "" if rootless => "user.slice",
            "" => "system.slice",
            s => s,
        };
        let mut path = expand_slice(slice).map_err(bad)?;
        let unit = if name.ends_with(".slice") {
            name.to_string()
        } else if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        path.push('/');
        path.push_str(&unit);
        if rootless {
            path.remove(0);
        }
        Target::parse(&path)
    }

    fn rel(&self) -> PathBuf {
        self.parts.iter().collect()
    }

    /// The directory of the container's cgroup in `h`: below its mount
    /// when absolute; else below the caller's own cgroup there, or its
    /// parent (`parent_of_own`, pure cgroup v2: see the module's
    /// documentation).
    fn resolve(&self, found: &Found, h: &Hierarchy, parent_of_own: bool) -> Result<PathBuf> {
        if self.absolute {
            return Ok(h.mount.join(self.rel()));
        }
        let own = found.own(h).ok_or_else(|| {
            Error::msg(
                "find the caller's cgroup",
                format!("/proc/self/cgroup has no line for the {} hierarchy", h.name),
            )
        })?;
        let own = if parent_of_own {
            Path::new(own)
                .parent()
                .map_or(own.to_string(), |p| p.to_string_lossy().into_owned())
        } else {
            own.to_string()
        };
        let base = h.dir_of(&own).ok_or_else(|| {
            Error::msg(
                "find the caller's cgroup",
                format!(
                    "its cgroup {own} is outside the {} hierarchy mounted at {}",
                    h.name,
                    h.mount.display()
                ),
            )
        })?;
        Ok(base.join(self.rel()))
    }
}

/// systemd's slice name to its path: "a-b.slice" is "/a.slice/a-b.slice",
/// "-.slice" the root. Ref: systemd.slice(5)
fn expand_slice(slice: &str) -> std::result::Result<String, String> {
    let invalid = || format!("{slice:?} is not a slice name");
    let stem = slice.strip_suffix(".slice").ok_or_else(invalid)?;
    if stem.is_empty() || slice.contains('/') {
        return Err(invalid());
    }
    if stem == "-" {
        return Ok(String::new());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(invalid());
        }
        path += &format!("/{prefix}{part}.slice");
        prefix += &format!("{part}-");
    }
    Ok(path)
}

// ---------------------------------------------------------------------
// What: the files to write.

/// One file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    /// The controller whose file it is ("cgroup" for cgroup v2's core
    /// files).
    controller: String,
    file: String,
    value: String,
    /// The config field it comes from, for the messages.
    field: String,
}

fn setting(controller: &str, file: &str, value: impl ToString, field: &str) -> Setting {
    Setting {
        controller: controller.to_string(),
        file: file.to_string(),
        value: value.to_string(),
        field: format!("linux.resources.{field}"),
    }
}

/// Fields sandbox-oci does not enforce: fail closed when any is given.
fn unsupported(r: &LinuxResources) -> Result<()> {
    let given = [
        (
            "blockIO",
            r.block_io
                .as_ref()
                .is_some_and(|b| *b != LinuxBlockIo::default()),
        ),
        (
            "network",
            r.network
                .as_ref()
                .is_some_and(|n| *n != LinuxNetwork::default()),
        ),
        ("rdma", r.rdma.as_ref().is_some_and(|m| !m.is_empty())),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((name, _)) => Err(not_enforced(
            &format!("linux.resources.{name}"),
            "sandbox-oci does not implement it",
        )),
        None => Ok(()),
    }
}

fn not_enforced(field: &str, why: &str) -> Error {
    Error::msg(field, format!("cannot be enforced: {why}")).with_hint(format!(
        "leave {field} out of the container's config; sandbox-oci never runs a container without a limit it was given"
    ))
}

/// A page size as the hugetlb files name it ("2MB", "1GB").
fn page_size(s: &str) -> Result<&str> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(Error::msg(
            "linux.resources.hugepageLimits",
            format!("{s:?} is not a page size"),
        ))
    }
}

/// The cgroup v2 files, in the order they are written. `update`: for a
/// cgroup that exists (`sandbox-oci update`), where -1 (unlimited) must be
/// written to lift a limit set before.
fn v2_settings(r: &LinuxResources, update: bool) -> Result<Vec<Setting>> {
    let mut s = pids_max(r, update);
    if let Some(m) = r.memory {
        let (limit, swap) = (m.limit.unwrap_or(0), m.swap.unwrap_or(0));
        if let Some(v) = swap_v2(swap, limit)? {
            s.push(setting("memory", "memory.swap.max", v, "memory.swap"));
        } else if update && swap == -1 {
            s.push(setting("memory", "memory.swap.max", "max", "memory.swap"));
        }
        if limit > 0 {
            s.push(setting("memory", "memory.max", limit, "memory.limit"));
        } else if update && limit == -1 {
            s.push(setting("memory", "memory.max", "max", "memory.limit"));
        }
        if let Some(v) = m.reservation.filter(|v| *v > 0) {
            s.push(setting("memory", "memory.low", v, "memory.reservation"));
        }
    }
    if let Some(c) = &r.cpu {
        if let Some(i) = c.idle {
            s.push(setting("cpu", "cpu.idle", i, "cpu.idle"));
        }
        if let Some(sh) = c.shares.filter(|v| *v > 0) {
            let w = shares_to_weight(sh);
            s.push(setting("cpu", "cpu.weight", w, "cpu.shares"));
        }
        let quota = c.quota.unwrap_or(0);
        let period = c.period.unwrap_or(0);
        if quota != 0 || period != 0 {
            let q = if quota > 0 {
                quota.to_string()
            } else {
                "max".to_string()
            };
            let p = if period > 0 { period } else { CPU_PERIOD_US };
            let field = if quota != 0 {
                "cpu.quota"
            } else {
                "cpu.period"
            };
            s.push(setting("cpu", "cpu.max", format!("{q} {p}"), field));
        }
        if let Some(b) = c.burst {
            s.push(setting("cpu", "cpu.max.burst", b, "cpu.burst"));
        }
        if c.realtime_runtime.is_some() || c.realtime_period.is_some() {
            return Err(not_enforced(
                "linux.resources.cpu.realtimeRuntime",
                "cgroup v2 has no realtime CPU controller",
            ));
        }
        push_cpuset(&mut s, &c.cpus, &c.mems);
    }
    push_hugetlb(&mut s, r, "max")?;
    s.extend(unified(r)?);
    Ok(s)
}

/// pids.max, the same file in cgroup v1 and v2 (-1 is "max", written on
/// `update` only).
fn pids_max(r: &LinuxResources, update: bool) -> Vec<Setting> {
    match r.pids {
        Some(p) if p.limit > 0 => vec![setting("pids", "pids.max", p.limit, "pids.limit")],
        Some(p) if p.limit < 0 && update => vec![setting("pids", "pids.max", "max", "pids.limit")],
        _ => Vec::new(),
    }
}

/// `hugetlb.<size>.<file>` for each of `linux.resources.hugepageLimits`
/// ("max" on cgroup v2, "limit_in_bytes" on v1).
fn push_hugetlb(s: &mut Vec<Setting>, r: &LinuxResources, file: &str) -> Result<()> {
    for h in r.hugepage_limits.as_deref().unwrap_or_default() {
        let size = page_size(&h.page_size)?;
        s.push(setting(
            "hugetlb",
            &format!("hugetlb.{size}.{file}"),
            h.limit.max(0),
            &format!("hugepageLimits[{size}]"),
        ));
    }
    Ok(())
}

fn push_cpuset(s: &mut Vec<Setting>, cpus: &Option<String>, mems: &Option<String>) {
    if let Some(v) = cpus.as_deref().filter(|v| !v.is_empty()) {
        s.push(setting("cpuset", "cpuset.cpus", v, "cpu.cpus"));
    }
    if let Some(v) = mems.as_deref().filter(|v| !v.is_empty()) {
        s.push(setting("cpuset", "cpuset.mems", v, "cpu.mems"));
    }
}

/// `linux.resources.unified`: cgroup v2 files by name, sorted. A name is a
/// file in the container's directory ("memory.high"); the controller is
/// its first word. cgroup.procs and cgroup.threads move processes, not
/// limits, and are refused.
fn unified(r: &LinuxResources) -> Result<Vec<Setting>> {
    let Some(map) = &r.unified else {
        return Ok(Vec::new());
    };
    let sorted: BTreeMap<&String, &String> = map.iter().collect();
    let mut s = Vec::new();
    for (key, value) in sorted {
        let (controller, rest) = key.split_once('.').unwrap_or((key, ""));
        if controller.is_empty()
            || rest.is_empty()
            || key.contains('/')
            || key == "cgroup.procs"
            || key == "cgroup.threads"
        {
            return Err(Error::msg(
                "linux.resources.unified",
                format!("{key:?} is not a cgroup v2 interface file a container may set"),
            ));
        }
        s.push(setting(controller, key, value, &format!("unified[{key}]")));
    }
    Ok(s)
}

/// The v1 files, in the order they are written (`linux.resources.unified`
/// aside: that is for a cgroup v2 directory). `update`: as for
/// [`v2_settings`], -1 is written (v1 reads it as unlimited).
fn v1_settings(r: &LinuxResources, update: bool) -> Result<Vec<Setting>> {
    let mut s = pids_max(r, update);
    let given = |v: &Option<i64>| v.filter(|v| *v > 0 || (update && *v == -1));
    if let Some(m) = r.memory {
        // The limit before memory+swap: the kernel keeps
        // memsw.limit_in_bytes >= limit_in_bytes at every write
        // (`update` orders them for the values already there).
        if let Some(v) = given(&m.limit) {
            s.push(setting(
                "memory",
                "memory.limit_in_bytes",
                v,
                "memory.limit",
            ));
        }
        if let Some(v) = given(&m.swap) {
            s.push(setting(
                "memory",
                "memory.memsw.limit_in_bytes",
                v,
                "memory.swap",
            ));
        }
        if let Some(v) = m.reservation.filter(|v| *v > 0) {
            s.push(setting(
                "memory",
                "memory.soft_limit_in_bytes",
                v,
                "memory.reservation",
            ));
        }
        if let Some(v) = m.swappiness {
            if v > 100 {
                return Err(Error::msg(
                    "linux.resources.memory.swappiness",
                    format!("{v} is not in 0-100"),
                ));
            }
            s.push(setting(
                "memory",
                "memory.swappiness",
                v,
                "memory.swappiness",
            ));
        }
        if m.disable_oom_killer == Some(true) {
            s.push(setting(
                "memory",
                "memory.oom_control",
                1,
                "memory.disableOOMKiller",
            ));
        }
    }
    if let Some(c) = &r.cpu {
        if let Some(v) = c.shares.filter(|v| *v > 0) {
            s.push(setting("cpu", "cpu.shares", v, "cpu.shares"));
        }
        // The period before the quota, which the kernel checks against it.
        if let Some(v) = c.period.filter(|v| *v > 0) {
            s.push(setting("cpu", "cpu.cfs_period_us", v, "cpu.period"));
        }
        if let Some(v) = given(&c.quota) {
            s.push(setting("cpu", "cpu.cfs_quota_us", v, "cpu.quota"));
        }
        if let Some(v) = c.burst {
            s.push(setting("cpu", "cpu.cfs_burst_us", v, "cpu.burst"));
        }
        if let Some(v) = c.idle {
            s.push(setting("cpu", "cpu.idle", v, "cpu.idle"));
        }
        if let Some(v) = c.realtime_period {
            s.push(setting("cpu", "cpu.rt_period_us", v, "cpu.realtimePeriod"));
        }
        if let Some(v) = c.realtime_runtime {
            s.push(setting(
                "cpu",
                "cpu.rt_runtime_us",
                v,
                "cpu.realtimeRuntime",
            ));
        }
        push_cpuset(&mut s, &c.cpus, &c.mems);
    }
    push_hugetlb(&mut s, r, "limit_in_bytes")?;
    Ok(s)
}

/// On cgroup v1 the kernel keeps memory.memsw.limit_in_bytes at least
/// memory.limit_in_bytes at every write: when an update raises the limit
/// above the memory+swap limit there now (or lifts memory+swap), write
/// memory+swap first.
fn order_memory_v1(dir: Option<&Dir>, settings: &mut [Setting]) {
    let at = |f: &str| settings.iter().position(|s| s.file == f);
    let (Some(l), Some(w)) = (
        at("memory.limit_in_bytes"),
        at("memory.memsw.limit_in_bytes"),
    ) else {
        return;
    };
    let Some(d) = dir else { return };
    let now: i64 = read(&d.path.join("memory.memsw.limit_in_bytes"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(i64::MAX);
    let value = |i: usize| settings[i].value.parse::<i64>().unwrap_or(-1);
    let limit = value(l);
    if value(w) == -1 || limit == -1 || limit > now {
        settings.swap(l, w);
    }
}

/// cpu.shares (cgroup v1, 2 to 262144, default 1024) to cpu.weight
/// (cgroup v2, 1 to 10000, default 100), as runc converts since 1.3: a
/// curve through the minimum, the default and the maximum (10 to the power
/// of a quadratic in log2(shares)), so that the default maps to the
/// default. 0 is "unset".
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        1..=2 => 1,
        262_144.. => 10_000,
        _ => {
            let l = (shares as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            // The last bit of the float must not push an exact weight
            // (1024 shares: 100) to the next integer.
            (10f64.powf(exponent) - 1e-9).ceil() as u64
        }
    }
}

/// OCI's memory.swap is memory+swap; cgroup v2's memory.swap.max is the
/// swap alone. None: nothing to write.
fn swap_v2(swap: i64, limit: i64) -> Result<Option<String>> {
    let bad = |why: &str| Error::msg("linux.resources.memory.swap", why.to_string());
    match (swap, limit) {
        (0, _) | (-1, _) => Ok(None),
        (_, l) if l <= 0 => Err(bad(&format!(
            "{swap} (memory+swap) needs linux.resources.memory.limit, to know the swap from it"
        ))),
        (s, l) if s < l => Err(bad(&format!(
            "{s} (memory+swap) is less than linux.resources.memory.limit {l}"
        ))),
        (s, l) => Ok(Some((s - l).to_string())),
    }
}

// ---------------------------------------------------------------------
// Making it: one function per kind of hierarchy.

/// Pure cgroup v2: one directory.
fn create_v2(
    found: &Found,
    target: &Target,
    settings: &[Setting],
    rules: &[DevRule],
    rootless: bool,
) -> Result<Option<Cgroup>> {
    let h = found
        .unified()
        .ok_or_else(|| Error::msg("create cgroup", "cgroup v2 is not mounted"))?;
    let asked = !settings.is_empty() || denies_any(rules);
    let dir = target.resolve(found, h, true)?;
    let created = match mkdir_p(&dir, &purpose(settings)) {
        Ok(n) => n,
        Err(e) if rootless && !asked && is_denied(&e) => return Ok(None),
        Err(e) if is_denied(&e) && rootless => return Err(e.with_hint(DELEGATE_HINT)),
        Err(e) => return Err(e),
    };
    let cg = Cgroup {
        dirs: vec![Dir {
            hierarchy: h.name.clone(),
            path: dir.clone(),
            created,
        }],
    };
    let done = (|| {
        let failed = enable_controllers(&h.mount, &dir, settings);
        for s in settings {
            write_setting(&dir, s).map_err(|e| v2_hint(e, s, &h.mount, &failed, rootless))?;
        }
        attach_program(&dir, rules)
    })();
    match done {
        Ok(()) => Ok(Some(cg)),
        Err(e) => {
            let _ = cg.remove();
            Err(e)
        }
    }
}

/// Enable the settings' controllers in the cgroup.subtree_control of each
/// directory from the hierarchy's root down to `dir`'s parent, where not
/// yet enabled. Failures are not errors here (a parent may not be ours to
/// change, and may have them already); they are returned, by controller,
/// for the message should a file of that controller be missing.
fn enable_controllers(mount: &Path, dir: &Path, settings: &[Setting]) -> Vec<(String, Error)> {
    let mut wanted: Vec<&str> = settings
        .iter()
        .map(|s| s.controller.as_str())
        .filter(|c| *c != "cgroup")
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut failed = Vec::new();
    let Ok(below) = dir.strip_prefix(mount) else {
        return failed;
    };
    let mut parent = mount.to_path_buf();
    for part in below.components() {
        let enabled = read(&parent.join("cgroup.subtree_control")).unwrap_or_default();
        // One at a time: a controller the kernel refuses must not keep
        // the others from being enabled.
        for c in absent(&wanted, &enabled) {
            if let Err(e) = enable(&parent, &[c], &format!("enable +{c}")) {
                failed.push((c.to_string(), e));
            }
        }
        parent.push(part);
    }
    failed
}

/// The hint for a cgroup v2 file that could not be written.
fn v2_hint(
    e: Error,
    s: &Setting,
    mount: &Path,
    failed: &[(String, Error)],
    rootless: bool,
) -> Error {
    match e.raw_errno() {
        Some(libc::ENOENT) => {
            let why = match failed.iter().find(|(c, _)| *c == s.controller) {
                Some((_, f)) => format!(" ({f})"),
                None => String::new(),
            };
            let available =
                fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
            let hint = if available.split_whitespace().any(|c| c == s.controller) {
                format!(
                    "the {} controller is not enabled for this cgroup{why}: a cgroup that holds processes cannot hand controllers to its children; give the container a cgroupsPath below one that holds none, or leave {} out",
                    s.controller, s.field
                )
            } else {
                format!(
                    "this kernel's cgroup v2 has no {} controller ({} lists: {}); leave {} out of the container's config",
                    s.controller,
                    mount.join("cgroup.controllers").display(),
                    available.trim(),
                    s.field
                )
            };
            e.with_hint(hint)
        }
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) if rootless => {
            e.with_hint(DELEGATE_HINT)
        }
        _ => e,
    }
}

/// Hybrid or cgroup v1: a directory in each v1 hierarchy a setting needs,
/// and one in the unified hierarchy when it is mounted.
fn create_v1(
    found: &Found,
    target: &Target,
    settings: &[Setting],
    unified_settings: &[Setting],
    rules: &[DevRule],
) -> Result<Option<Cgroup>> {
    let mut cg = Cgroup { dirs: Vec::new() };
    let done = (|| {
        // By hierarchy, in the order the settings come (co-mounted
        // controllers share one).
        let mut plan: Vec<(&Hierarchy, Vec<&Setting>)> = Vec::new();
        for s in settings {
            let Some(h) = found.v1(&s.controller) else {
                return Err(Error::msg(
                    format!("set {} to {}", s.field, s.value),
                    format!(
                        "no cgroup v1 hierarchy has the {} controller mounted (see /proc/self/mountinfo)",
                        s.controller
                    ),
                )
                .with_path(&s.file)
                .with_hint(format!(
                    "mount the {} controller, or leave {} out of the container's config",
                    s.controller, s.field
                )));
            };
            match plan.iter_mut().find(|(p, _)| p.name == h.name) {
                Some((_, list)) => list.push(s),
                None => plan.push((h, vec![s])),
            }
        }
        for (h, list) in &plan {
            let dir = target.resolve(found, h, false)?;
            let created = mkdir_p(&dir, &purpose(list.iter().copied())).map_err(v1_hint)?;
            cg.dirs.push(Dir {
                hierarchy: h.name.clone(),
                path: dir.clone(),
                created,
            });
            if h.controllers.iter().any(|c| c == "cpuset") {
                cpuset_inherit(&h.mount, &dir)?;
            }
            for s in list {
                write_setting(&dir, s).map_err(v1_hint)?;
            }
        }
        let unified = found.unified();
        if denies_any(rules) {
            devices_v1(found, target, rules, unified.is_some(), &mut cg)?;
        }
        // Every other v1 hierarchy with a controller gets the directory
        // too, as runc's cgroupfs driver does: the container is then
        // exactly cgroupsPath in each (what containerd's shim reads back
        // from /proc/PID/cgroup to watch for OOM kills and read stats),
        // `update` finds the controller there, and `pause` the freezer.
        for h in found.hierarchies.iter().filter(|h| !h.v2()) {
            if cg.dirs.iter().any(|d| d.hierarchy == h.name) {
                continue;
            }
            let dir = target.resolve(found, h, false)?;
            let created = mkdir_p(&dir, "").map_err(v1_hint)?;
            cg.dirs.push(Dir {
                hierarchy: h.name.clone(),
                path: dir.clone(),
                created,
            });
            if h.controllers.iter().any(|c| c == "cpuset") {
                cpuset_inherit(&h.mount, &dir)?;
            }
        }
        match unified {
            Some(h) => {
                let dir = target.resolve(found, h, false)?;
                let created = mkdir_p(&dir, &purpose(unified_settings))?;
                cg.dirs.push(Dir {
                    hierarchy: h.name.clone(),
                    path: dir.clone(),
                    created,
                });
                for s in unified_settings {
                    write_setting(&dir, s).map_err(|e| {
                        if e.raw_errno() == Some(libc::ENOENT) {
                            e.with_hint(format!("on this hybrid system the controllers are in cgroup v1, and the unified hierarchy has no {} files; leave {} out of the container's config", s.controller, s.field))
                        } else {
                            e
                        }
                    })?;
                }
                attach_program(&dir, rules)?;
            }
            None if !unified_settings.is_empty() => {
                let s = &unified_settings[0];
                return Err(not_enforced(
                    &s.field,
                    "this system has no cgroup v2 hierarchy (only cgroup v1)",
                ));
            }
            None if cg.dirs.is_empty() => {
                // Only a cgroupsPath: a directory to track the processes,
                // in the pids hierarchy, or any.
                let h = found
                    .v1("pids")
                    .or(found.hierarchies.first())
                    .ok_or_else(|| {
                        Error::msg(
                            "create cgroup",
                            "no cgroup hierarchy is mounted (see /proc/self/mountinfo)",
                        )
                    })?;
                let dir = target.resolve(found, h, false)?;
                let created = mkdir_p(&dir, "")?;
                cg.dirs.push(Dir {
                    hierarchy: h.name.clone(),
                    path: dir,
                    created,
                });
            }
            None => {}
        }
        Ok(())
    })();
    match done {
        Ok(()) => Ok(Some(cg)),
        Err(e) => {
            let _ = cg.remove();
            Err(e)
        }
    }
}

/// Device rules in the v1 devices controller, written in the config's
/// order. Without that controller the eBPF program on the unified
/// directory (attached by the caller) must do alone; without either, fail
/// closed.
fn devices_v1(
    found: &Found,
    target: &Target,
    rules: &[DevRule],
    have_unified: bool,
    cg: &mut Cgroup,
) -> Result<()> {
    let Some(h) = found.v1("devices") else {
        if have_unified {
            return Ok(());
        }
        return Err(not_enforced(
            "linux.resources.devices",
            "this system has neither the cgroup v1 devices controller nor cgroup v2",
        ));
    };
    let dir = target.resolve(found, h, false)?;
    let dirs_made = cg.dirs.iter().position(|d| d.hierarchy == h.name);
    if dirs_made.is_none() {
        let created = mkdir_p(&dir, " for linux.resources.devices").map_err(v1_hint)?;
        cg.dirs.push(Dir {
            hierarchy: h.name.clone(),
            path: dir.clone(),
            created,
        });
    }
    for (file, line) in v1_device_lines(rules) {
        let p = dir.join(file);
        write_file(&p, &line)
            .ctx(
                &format!("set linux.resources.devices ({file} {line})"),
                p.display(),
            )
            .map_err(|e| {
                if e.raw_errno() == Some(libc::EPERM) {
                    e.with_hint("a cgroup cannot allow a device its parent denies")
                } else {
                    e
                }
            })?;
    }
    Ok(())
}

fn v1_hint(e: Error) -> Error {
    match e.raw_errno() {
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => e.with_hint(V1_HINT),
        Some(libc::ENOENT) => e.with_hint(
            "this kernel lacks the file (a controller option not built in, or swap accounting off: boot with swapaccount=1); leave the limit out of the container's config",
        ),
        _ => e,
    }
}

/// A new cpuset directory has empty cpus and mems, and a task cannot join
/// it so: give each directory from the hierarchy's root down to `dir` its
/// parent's where empty. The config's own values are written after.
fn cpuset_inherit(mount: &Path, dir: &Path) -> Result<()> {
    let Ok(below) = dir.strip_prefix(mount) else {
        return Ok(());
    };
    let mut parent = mount.to_path_buf();
    for part in below.components() {
        let child = parent.join(part);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let mine = child.join(file);
            if read(&mine)?.trim().is_empty() {
                let theirs = read(&parent.join(file))?;
                write_file(&mine, theirs.trim()).ctx(
                    &format!("copy {file} from the parent cgroup"),
                    mine.display(),
                )?;
            }
        }
        parent = child;
    }
    Ok(())
}

/// " for FIELD[ and N more]": what a directory is made for, in messages.
fn purpose<'a>(settings: impl IntoIterator<Item = &'a Setting>) -> String {
    let fields: Vec<&str> = settings.into_iter().map(|s| s.field.as_str()).collect();
    match &fields[..] {
        [] => String::new(),
        [f] => format!(" for {f}"),
        [f, rest @ ..] => format!(" for {f} and {} more", rest.len()),
    }
}

// ---------------------------------------------------------------------
// Files and directories (the core's, with the OCI fields in the errors).

/// Write one setting. A value the kernel refuses gets a hint here; the
/// callers add theirs for a missing file or a denied write.
fn write_setting(dir: &Path, s: &Setting) -> Result<()> {
    let p = dir.join(&s.file);
    write_file(&p, &s.value)
        .ctx(&format!("set {} to {}", s.field, s.value), p.display())
        .map_err(|e| {
            let hint = match e.raw_errno() {
                Some(libc::EINVAL) if s.file.contains("memsw") => {
                    "memory.swap is memory+swap: it must be at least memory.limit".to_string()
                }
                Some(libc::EBUSY) if s.controller == "memory" => {
                    "the cgroup already uses more memory than that".to_string()
                }
                Some(libc::EINVAL) | Some(libc::ERANGE) if s.controller == "cpuset" => {
                    "the cpus and mems must be ones the parent cgroup has".to_string()
                }
                Some(libc::EINVAL) | Some(libc::ERANGE) => format!(
                    "the kernel refused {:?} for {}: check {} in the container's config",
                    s.value, s.file, s.field
                ),
                _ => return e,
            };
            e.with_hint(hint)
        })
}

fn remove_dir(d: &Dir) -> Result<()> {
    if d.created == 0 {
        return Ok(());
    }
    rmdir_below(&d.path)?;
    rmdir(&d.path).ctx("remove cgroup", d.path.display())?;
    // The parents it made, while nobody else uses them.
    for p in d.path.ancestors().skip(1).take(d.created - 1) {
        match fs::remove_dir(p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::ENOTEMPTY)) => {
                break
            }
            Err(e) => return Err(io_error("remove cgroup", p, e)),
        }
    }
    Ok(())
}

/// Try `done` every millisecond until it says so, or fail with `late()`
/// once `deadline` has passed (the freezer's state, v1 and v2).
fn poll_until(
    deadline: std::time::Instant,
    mut done: impl FnMut() -> Result<bool>,
    late: impl Fn() -> Error,
) -> Result<()> {
    loop {
        if done()? {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(late());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(absolute: bool, parts: &[&str]) -> Target {
        Target {
            absolute,
            parts: parts.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn cgroups_path_is_cleaned() {
        assert_eq!(
            Target::parse("/a/b/../c").unwrap(),
            target(true, &["a", "c"])
        );
        assert_eq!(
            Target::parse("a/./b//c/").unwrap(),
            target(false, &["a", "b", "c"])
        );
        // ".." never climbs above where the path starts.
        assert_eq!(Target::parse("../../x").unwrap(), target(false, &["x"]));
        assert_eq!(Target::parse("/../../x").unwrap(), target(true, &["x"]));
        assert!(Target::parse("/").is_err());
        assert!(Target::parse("/a/..").is_err());
        assert_eq!(
            Target::for_id("c1").unwrap(),
            target(false, &["sandbox-oci-c1"])
        );
        assert!(Target::for_id("a/b").is_err());
        assert!(Target::for_id("..").is_err());
    }

    #[test]
    fn systemd_form_becomes_the_path_systemd_would_make() {
        assert_eq!(
            Target::systemd("system.slice:docker:1234", false).unwrap(),
            target(true, &["system.slice", "docker-1234.scope"])
        );
        assert_eq!(
            Target::systemd("user-1000.slice:libpod:abc", false).unwrap(),
            target(true, &["user.slice", "user-1000.slice", "libpod-abc.scope"])
        );
        // An empty slice: system.slice, or user.slice (relative) rootless.
        assert_eq!(
            Target::systemd(":sandbox-oci:x", false).unwrap(),
            target(true, &["system.slice", "sandbox-oci-x.scope"])
        );
        assert_eq!(
            Target::systemd(":sandbox-oci:x", true).unwrap(),
            target(false, &["user.slice", "sandbox-oci-x.scope"])
        );
        assert_eq!(
            Target::systemd("machine.slice::my.slice", false).unwrap(),
            target(true, &["machine.slice", "my.slice"])
        );
        assert_eq!(
            Target::systemd("-.slice:p:n", false).unwrap(),
            target(true, &["p-n.scope"])
        );
        for bad in [
            "a:b",
            "a:b:c:d",
            "notaslice:p:n",
            "a--b.slice:p:n",
            "s.slice:p:",
            "s.slice:p:a/b",
        ] {
            let e = Target::systemd(bad, false).unwrap_err();
            assert_eq!(e.step, "linux.cgroupsPath", "{bad}: {e}");
        }
    }

    #[test]
    fn shares_to_weight_as_runc() {
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(shares_to_weight(1), 1);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(3), 2);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(262_143), 10_000);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(1 << 30), 10_000);
        // Monotonic in between.
        let mut last = 0;
        for s in (2..262_144).step_by(97) {
            let w = shares_to_weight(s);
            assert!((1..=10_000).contains(&w) && w >= last, "{s} -> {w}");
            last = w;
        }
    }

    #[test]
    fn swap_is_memory_plus_swap() {
        assert_eq!(swap_v2(0, 100).unwrap(), None);
        assert_eq!(swap_v2(-1, 100).unwrap(), None);
        assert_eq!(swap_v2(300, 100).unwrap().as_deref(), Some("200"));
        // The same as the memory limit: no swap.
        assert_eq!(swap_v2(100, 100).unwrap().as_deref(), Some("0"));
        assert!(swap_v2(50, 100).is_err());
        assert!(swap_v2(100, 0).is_err());
        assert!(swap_v2(100, -1).is_err());
    }

    fn resources(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn files(s: &[Setting]) -> Vec<(&str, &str)> {
        s.iter()
            .map(|s| (s.file.as_str(), s.value.as_str()))
            .collect()
    }

    const LIMITS: &str = r#"{
        "memory": {"limit": 67108864, "swap": 134217728, "reservation": 33554432},
        "pids": {"limit": 32},
        "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
        "unified": {"memory.high": "50000000"}
    }"#;

    #[test]
    fn v2_files_for_each_limit() {
        let s = v2_settings(&resources(LIMITS), false).unwrap();
        assert_eq!(
            files(&s),
            [
                ("pids.max", "32"),
                ("memory.swap.max", "67108864"),
                ("memory.max", "67108864"),
                ("memory.low", "33554432"),
                ("cpu.weight", "100"),
                ("cpu.max", "50000 100000"),
                ("cpuset.cpus", "0-1"),
                ("cpuset.mems", "0"),
                ("hugetlb.2MB.max", "0"),
                ("memory.high", "50000000"),
            ]
        );
        assert_eq!(s[0].field, "linux.resources.pids.limit");
        assert_eq!(s[9].controller, "memory");
        assert_eq!(s[9].field, "linux.resources.unified[memory.high]");
        // A period alone: no quota.
        let s = v2_settings(&resources(r#"{"cpu": {"period": 50000}}"#), false).unwrap();
        assert_eq!(files(&s), [("cpu.max", "max 50000")]);
        // Unlimited and unset values write nothing.
        let s = v2_settings(&resources(
            r#"{"memory": {"limit": -1, "swap": -1}, "pids": {"limit": -1}, "cpu": {"shares": 0, "quota": -1}}"#,
        ), false)
        .unwrap();
        assert_eq!(files(&s), [("cpu.max", "max 100000")]);
        let s = v2_settings(&resources(r#"{"pids": {"limit": 0}, "memory": {}}"#), false).unwrap();
        assert!(s.is_empty());
        // Realtime CPU does not exist in cgroup v2.
        let e = v2_settings(&resources(r#"{"cpu": {"realtimeRuntime": 100}}"#), false).unwrap_err();
        assert!(e.to_string().contains("realtime"), "{e}");
    }

    #[test]
    fn v1_files_for_each_limit() {
        let s = v1_settings(&resources(LIMITS), false).unwrap();
        assert_eq!(
            files(&s),
            [
                ("pids.max", "32"),
                ("memory.limit_in_bytes", "67108864"),
                ("memory.memsw.limit_in_bytes", "134217728"),
                ("memory.soft_limit_in_bytes", "33554432"),
                ("cpu.shares", "1024"),
                ("cpu.cfs_period_us", "100000"),
                ("cpu.cfs_quota_us", "50000"),
                ("cpuset.cpus", "0-1"),
                ("cpuset.mems", "0"),
                ("hugetlb.2MB.limit_in_bytes", "0"),
            ]
        );
        let s = v1_settings(&resources(
            r#"{"memory": {"swappiness": 10, "disableOOMKiller": true}, "cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 950000}}"#,
        ), false)
        .unwrap();
        assert_eq!(
            files(&s),
            [
                ("memory.swappiness", "10"),
                ("memory.oom_control", "1"),
                ("cpu.rt_period_us", "1000000"),
                ("cpu.rt_runtime_us", "950000"),
            ]
        );
        assert!(v1_settings(&resources(r#"{"memory": {"swappiness": 101}}"#), false).is_err());
    }

    #[test]
    fn unified_keys_are_files() {
        let e = unified(&resources(r#"{"unified": {"../memory.max": "1"}}"#)).unwrap_err();
        assert!(e.to_string().contains("../memory.max"), "{e}");
        for bad in [
            "cgroup.procs",
            "cgroup.threads",
            "memory",
            ".max",
            "memory.",
        ] {
            let json = format!(r#"{{"unified": {{"{bad}": "1"}}}}"#);
            assert!(unified(&resources(&json)).is_err(), "{bad}");
        }
        let s = unified(&resources(
            r#"{"unified": {"pids.max": "5", "cgroup.max.depth": "2"}}"#,
        ))
        .unwrap();
        // Sorted by name.
        assert_eq!(files(&s), [("cgroup.max.depth", "2"), ("pids.max", "5")]);
        assert_eq!(s[0].controller, "cgroup");
    }

    #[test]
    fn fields_not_implemented_fail_closed() {
        for json in [
            r#"{"blockIO": {"weight": 100}}"#,
            r#"{"network": {"classID": 1}}"#,
            r#"{"rdma": {"mlx5_1": {"hcaHandles": 3}}}"#,
        ] {
            let e = unsupported(&resources(json)).unwrap_err();
            assert!(e.to_string().contains("cannot be enforced"), "{e}");
            assert!(e.hint.is_some());
        }
        assert!(unsupported(&resources(r#"{"blockIO": {}, "network": {}, "rdma": {}}"#)).is_ok());
    }

    #[test]
    fn nothing_asked_is_no_cgroup() {
        let linux: Linux = serde_json::from_str("{}").unwrap();
        assert_eq!(Cgroup::create(&linux, "c1", false).unwrap(), None);
        let linux: Linux = serde_json::from_str(r#"{"resources": {}}"#).unwrap();
        assert_eq!(Cgroup::create(&linux, "c1", false).unwrap(), None);
    }

    #[test]
    fn state_round_trip() {
        let cg = Cgroup {
            dirs: vec![
                Dir {
                    hierarchy: "memory".into(),
                    path: "/sys/fs/cgroup/memory/a/c1".into(),
                    created: 2,
                },
                Dir {
                    hierarchy: "unified".into(),
                    path: "/sys/fs/cgroup/unified/a/c1".into(),
                    created: 0,
                },
            ],
        };
        let v = cg.to_json();
        assert_eq!(Cgroup::from_json(&v).unwrap(), cg);
        assert_eq!(cg.tracking().unwrap().hierarchy, "unified");
        for bad in [
            r#"{}"#,
            r#"{"dirs": [{"hierarchy": "unified", "path": "rel/c1", "created": 1}]}"#,
            r#"{"dirs": [{"hierarchy": "unified", "path": "/sys/fs/cgroup/../etc", "created": 1}]}"#,
            r#"{"dirs": [{"hierarchy": "unified", "path": "/x"}]}"#,
        ] {
            let v: Value = serde_json::from_str(bad).unwrap();
            assert!(Cgroup::from_json(&v).is_err(), "{bad}");
        }
    }
}
