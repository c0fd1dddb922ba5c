//! cgroups, for both front ends: one core and the layers over it.
//!
//! - this file, the core: which hierarchies the system has and where the
//!   caller is in them (/proc/self/mountinfo and /proc/self/cgroup,
//!   parsed by `procfs`), whether a cgroup is delegated, and the file
//!   work every cgroup needs: make a directory (and its missing parents),
//!   write a limit file (no O_CREAT, one write; the error names the file
//!   and the errno), enable controllers for the children, list the
//!   processes, read the counters, kill what is left (cgroup.kill) and
//!   remove the directories (retrying while the last task exits).
//! - `run`: `sandbox run`'s leaf cgroup for `--memory`, `--pids` and
//!   `--cpus` (cgroup v2, delegated).
//! - `oci`: sandbox-oci's container cgroup, `linux.cgroupsPath` and
//!   `linux.resources` (cgroup v2 and the v1 hierarchies).
//! - `devices`: `linux.resources.devices` as cgroup v1 lines and as a
//!   cgroup v2 eBPF device program (loaded by sys::bpf_*).
//!
//! Ref: Documentation/admin-guide/cgroup-v2.rst, cgroup-v1/*.rst

pub mod devices;
pub mod oci;
mod run;

pub use run::{Cgroup, Usage};

use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Context, Error, Result};
use crate::procfs;
use crate::sys;

// ---------------------------------------------------------------------
// Which hierarchies this system has, and where the caller is in them.

/// The cgroup v1 controllers (those of a named hierarchy such as
/// name=systemd are none).
const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "misc",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
];

/// A mounted cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hierarchy {
    /// "unified" for cgroup v2, else the controllers, comma-separated.
    pub name: String,
    /// Empty for cgroup v2.
    pub controllers: Vec<String>,
    /// Where it is mounted (the first mount of it in the table).
    pub mount: PathBuf,
    /// Each mount of it: (the mount's root within the hierarchy, "/" but
    /// in a cgroup namespace or a bind mount; the mount point).
    mounts: Vec<(PathBuf, PathBuf)>,
}

impl Hierarchy {
    /// Whether it is cgroup v2.
    pub fn v2(&self) -> bool {
        self.name == "unified"
    }

    /// The directory of cgroup `path` (as /proc/PID/cgroup names it), in
    /// the first mount whose root covers it.
    pub fn dir_of(&self, path: &str) -> Option<PathBuf> {
        self.mounts.iter().find_map(|(root, mount)| {
            let rest = Path::new(path).strip_prefix(root).ok()?;
            Some(if rest.as_os_str().is_empty() {
                mount.clone()
            } else {
                mount.join(rest)
            })
        })
    }

    /// Whether the caller's line of /proc/PID/cgroup is this hierarchy's.
    fn is(&self, l: &procfs::CgroupLine) -> bool {
        if self.v2() {
            l.unified()
        } else {
            self.controllers.iter().any(|c| l.has(c))
        }
    }
}

/// The cgroup hierarchies of a mount table, in its order, each once.
/// Ref: proc(5) "mountinfo"
fn hierarchies(mounts: &[procfs::Mount]) -> Vec<Hierarchy> {
    let mut found: Vec<Hierarchy> = Vec::new();
    for m in mounts {
        let (name, controllers) = match m.fstype.as_str() {
            "cgroup2" => ("unified".to_string(), Vec::new()),
            "cgroup" => {
                let c: Vec<String> = m
                    .super_options
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o))
                    .map(str::to_string)
                    .collect();
                if c.is_empty() {
                    continue;
                }
                (c.join(","), c)
            }
            _ => continue,
        };
        let mount = (m.root.clone(), m.mount_point.clone());
        match found.iter_mut().find(|h| h.name == name) {
            Some(h) => h.mounts.push(mount),
            None => found.push(Hierarchy {
                name,
                controllers,
                mount: m.mount_point.clone(),
                mounts: vec![mount],
            }),
        }
    }
    found
}

/// The system's hierarchies and the caller's /proc/self/cgroup.
pub struct Found {
    /// The mounted hierarchies, the unified one among them.
    pub hierarchies: Vec<Hierarchy>,
    proc_cgroup: String,
}

impl Found {
    /// Read the caller's mount table and cgroups.
    pub fn read() -> Result<Found> {
        Ok(Found::parse(
            &read(Path::new(procfs::MOUNTINFO))?,
            read(Path::new("/proc/self/cgroup"))?,
        ))
    }

    /// From the text of /proc/PID/mountinfo and /proc/PID/cgroup.
    pub fn parse(mountinfo: &str, proc_cgroup: String) -> Found {
        Found {
            hierarchies: hierarchies(&procfs::mountinfo(mountinfo)),
            proc_cgroup,
        }
    }

    /// cgroup v2 at /sys/fs/cgroup (as runc decides, whatever v1
    /// hierarchy some program may have mounted elsewhere, net_cls for a
    /// VPN say), or cgroup v2 mounted and no v1 hierarchy with a
    /// controller.
    pub fn is_pure_v2(&self) -> bool {
        self.unified().is_some_and(|u| {
            u.mount == Path::new("/sys/fs/cgroup") || self.hierarchies.iter().all(Hierarchy::v2)
        })
    }

    /// The cgroup v2 hierarchy, when mounted.
    pub fn unified(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.v2())
    }

    /// The v1 hierarchy that has `controller`.
    pub fn v1(&self, controller: &str) -> Option<&Hierarchy> {
        self.hierarchies
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }

    /// The caller's cgroup in `h`, from /proc/self/cgroup.
    pub fn own(&self, h: &Hierarchy) -> Option<&str> {
        procfs::cgroups(&self.proc_cgroup)
            .into_iter()
            .find(|l| h.is(l))
            .map(|l| l.path)
    }

    /// The caller's cgroup v2 path (its "0::" line), mounted or not.
    pub fn own_unified(&self) -> Option<&str> {
        procfs::unified_cgroup(&self.proc_cgroup)
    }
}

/// Not root, or root of a user namespace other than the initial one.
pub fn rootless() -> bool {
    sys::geteuid() != 0
        || fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| !is_initial_uid_map(&m))
}

/// The initial user namespace maps all 2^32 - 1 ids onto themselves.
fn is_initial_uid_map(uid_map: &str) -> bool {
    uid_map.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"]
}

/// Whether the cgroup v2 directory `dir` is delegated to the caller: it,
/// its cgroup.procs and its cgroup.subtree_control writable.
pub fn delegated(dir: &Path) -> bool {
    ["", "cgroup.procs", "cgroup.subtree_control"]
        .iter()
        .all(|f| sys::writable(dir.join(f).as_os_str()).is_ok())
}

// ---------------------------------------------------------------------
// Files and directories.

/// An io::Error as ours, with its step and path.
pub fn io_error(step: &str, path: &Path, e: io::Error) -> Error {
    match Err::<(), _>(e).ctx(step, path.display()) {
        Err(e) => e,
        Ok(()) => unreachable!(),
    }
}

/// Read a cgroup file (or /proc's).
pub fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).ctx("read", path.display())
}

/// Write a cgroup file: opened without O_CREAT (cgroupfs answers EACCES,
/// not ENOENT, to creating a file that is not there), in one write.
pub fn write_file(path: &Path, data: &str) -> io::Result<()> {
    fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .write_all(data.as_bytes())
}

/// [`write_file`], the error naming `step`, the file and the errno.
pub fn write(path: &Path, step: &str, data: &str) -> Result<()> {
    write_file(path, data).ctx(step, path.display())
}

/// A write refused for want of rights: the cgroup is not the caller's.
pub fn is_denied(e: &Error) -> bool {
    matches!(
        e.raw_errno(),
        Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS)
    )
}

/// Make the cgroup `dir`, whose parent is there; one that exists already
/// is an error (EEXIST).
pub fn make(dir: &Path, step: &str) -> Result<()> {
    fs::create_dir(dir).ctx(step, dir.display())
}

/// Make `dir` and its missing parents; how many it made. On failure the
/// ones made are removed again.
pub fn mkdir_p(dir: &Path, why: &str) -> Result<usize> {
    let mut missing = Vec::new();
    let mut p = dir;
    while fs::symlink_metadata(p).is_err() {
        missing.push(p);
        match p.parent() {
            Some(parent) => p = parent,
            None => break,
        }
    }
    missing.reverse();
    let mut made = 0;
    for d in &missing {
        match fs::create_dir(d) {
            Ok(()) => made += 1,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                for m in missing[..made].iter().rev() {
                    let _ = fs::remove_dir(m);
                }
                return Err(io_error(&format!("create cgroup{why}"), d, e));
            }
        }
    }
    Ok(made)
}

/// Open the cgroup directory `dir` (for CLONE_INTO_CGROUP, or to attach
/// a program to it).
pub fn open(dir: &Path, step: &str) -> Result<OwnedFd> {
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .ctx(step, dir.display())?;
    Ok(OwnedFd::from(f))
}

/// The controllers of `wanted` that a cgroup.controllers or
/// cgroup.subtree_control text does not list (whole words: "cpuset" is
/// not "cpu").
pub fn absent<'a>(wanted: &[&'a str], listed: &str) -> Vec<&'a str> {
    let listed: Vec<&str> = listed.split_whitespace().collect();
    wanted
        .iter()
        .copied()
        .filter(|c| !listed.contains(c))
        .collect()
}

/// Enable `controllers` for the children of `dir`, in one write of its
/// cgroup.subtree_control.
pub fn enable(dir: &Path, controllers: &[&str], step: &str) -> Result<()> {
    let line: Vec<String> = controllers.iter().map(|c| format!("+{c}")).collect();
    write(&dir.join("cgroup.subtree_control"), step, &line.join(" "))
}

/// The pids in `dir`'s cgroup.procs.
pub fn procs(dir: &Path) -> Result<Vec<i32>> {
    Ok(read(&dir.join("cgroup.procs"))?
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .collect())
}

/// The pids in `dir`'s cgroup.procs and those of every cgroup below.
pub fn collect_pids(dir: &Path, pids: &mut Vec<i32>) -> Result<()> {
    pids.extend(procs(dir)?);
    for e in fs::read_dir(dir).ctx("list cgroup", dir.display())? {
        let e = e.ctx("list cgroup", dir.display())?;
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_pids(&e.path(), pids)?;
        }
    }
    Ok(())
}

/// `key value` lines (memory.events, pids.events, cpu.stat) → the value.
pub fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok())?
    })
}

/// Kill every process in `dir` and below (cgroup.kill, Linux 5.14); best
/// effort: an older kernel has no such file.
pub fn kill(dir: &Path) {
    let _ = write_file(&dir.join("cgroup.kill"), "1");
}

/// rmdir, retried while the cgroup is busy (its last task still exiting),
/// for up to a second; a directory already gone is fine.
pub fn rmdir(path: &Path) -> io::Result<()> {
    let mut tries = 0;
    loop {
        match fs::remove_dir(path) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            r => return r,
        }
    }
}

/// Remove the cgroups below `path`, deepest first.
pub fn rmdir_below(path: &Path) -> Result<()> {
    let Ok(entries) = fs::read_dir(path) else {
        return Ok(());
    };
    for e in entries {
        let e = e.ctx("list cgroup", path.display())?;
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let p = e.path();
            rmdir_below(&p)?;
            rmdir(&p).ctx("remove cgroup", p.display())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const HYBRID_MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
99 31 0:32 /sub /mnt/again rw,relatime - cgroup cgroup rw,memory
";
    pub(crate) const HYBRID_PROC: &str = "\
9:name=systemd:/
8:pids:/
5:devices:/
4:memory:/process_api/ae14
3:cpuset:/
2:cpu,cpuacct:/x
0::/u
";

    pub(crate) fn found(mountinfo: &str, proc_cgroup: &str) -> Found {
        Found::parse(mountinfo, proc_cgroup.to_string())
    }

    #[test]
    fn hierarchies_of_a_hybrid_system() {
        let f = found(HYBRID_MOUNTINFO, HYBRID_PROC);
        let names: Vec<&str> = f.hierarchies.iter().map(|h| h.name.as_str()).collect();
        // The named systemd hierarchy has no controller; a second mount
        // of memory is the same hierarchy.
        assert_eq!(
            names,
            [
                "cpu,cpuacct",
                "cpuset",
                "memory",
                "devices",
                "pids",
                "unified"
            ]
        );
        assert!(!f.is_pure_v2());
        assert_eq!(
            f.v1("cpuacct").unwrap().mount,
            Path::new("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert!(f.v1("hugetlb").is_none());
        let mem = f.v1("memory").unwrap();
        assert_eq!(f.own(mem), Some("/process_api/ae14"));
        assert_eq!(f.own(f.v1("cpu").unwrap()), Some("/x"));
        assert_eq!(f.own(f.unified().unwrap()), Some("/u"));
        assert_eq!(f.own_unified(), Some("/u"));
        // The second mount of memory covers what is below its root.
        assert_eq!(
            mem.dir_of("/a"),
            Some(PathBuf::from("/sys/fs/cgroup/memory/a"))
        );
    }

    #[test]
    fn cgroup_dir_from_mountinfo() {
        let mi = "\
24 1 0:22 / /sys rw - sysfs sysfs rw
30 24 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
35 30 0:30 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw
36 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
";
        let f = found(mi, "0::/a/b\n");
        let u = f.unified().unwrap();
        assert_eq!(
            u.dir_of("/a/b"),
            Some(PathBuf::from("/sys/fs/cgroup/unified/a/b"))
        );
        assert_eq!(u.dir_of("/"), Some(PathBuf::from("/sys/fs/cgroup/unified")));
        // A cgroup namespace: the mount's root is our cgroup's ancestor.
        let ns = "40 1 0:30 /user.slice /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n";
        let f = found(ns, "0::/\n");
        let u = f.unified().unwrap();
        assert_eq!(
            u.dir_of("/user.slice/s.scope"),
            Some(PathBuf::from("/mnt/cg x/s.scope"))
        );
        assert_eq!(u.dir_of("/user.slicex"), None);
        // A second mount of the hierarchy covers what the first does not.
        let two = format!("{ns}41 1 0:30 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let f = found(&two, "0::/\n");
        assert_eq!(
            f.unified().unwrap().dir_of("/system.slice"),
            Some(PathBuf::from("/sys/fs/cgroup/system.slice"))
        );
        // cgroup v1 only: no unified hierarchy.
        let f = found(
            "36 30 0:31 / /m rw - cgroup cgroup rw,memory\n",
            "4:memory:/\n",
        );
        assert!(f.unified().is_none() && f.own_unified().is_none());
    }

    #[test]
    fn pure_or_not() {
        let mi = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert!(found(mi, "0::/\n").is_pure_v2());
        // Nothing mounted: neither v2 nor anything to resolve in.
        assert!(!found("", "0::/\n").is_pure_v2());
        // A v1 hierarchy some program mounted beside a cgroup v2 at
        // /sys/fs/cgroup does not make it hybrid.
        let net_cls = "50 30 0:40 / /run/net_cls rw - cgroup cgroup rw,net_cls\n";
        assert!(found(&format!("{mi}{net_cls}"), "0::/\n").is_pure_v2());
        // cgroup v2 elsewhere: pure only without a v1 controller.
        let elsewhere = "30 23 0:26 / /mnt/v2 rw - cgroup2 cgroup2 rw\n";
        assert!(found(elsewhere, "0::/\n").is_pure_v2());
        assert!(!found(&format!("{elsewhere}{net_cls}"), "0::/\n").is_pure_v2());
    }

    #[test]
    fn the_initial_user_namespace() {
        assert!(is_initial_uid_map("         0          0 4294967295\n"));
        assert!(!is_initial_uid_map("         0       1000          1\n"));
        assert!(!is_initial_uid_map(""));
    }

    #[test]
    fn controllers_not_listed() {
        let want = ["memory", "pids", "cpu"];
        assert_eq!(absent(&want, "cpuset cpu io memory\n"), ["pids"]);
        assert_eq!(absent(&want, ""), want);
        assert!(absent(&want, "pids memory cpu").is_empty());
        // Whole words only: "cpuset" is not "cpu".
        assert_eq!(absent(&["cpu"], "cpuset"), ["cpu"]);
    }

    #[test]
    fn keyed_files() {
        let ev = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(keyed(ev, "oom_kill"), Some(1));
        assert_eq!(keyed(ev, "max"), Some(12));
        assert_eq!(keyed(ev, "oom"), Some(1));
        assert_eq!(keyed(ev, "nope"), None);
        assert_eq!(keyed("usage_usec 1500\n", "usage_usec"), Some(1500));
    }

    #[test]
    fn a_limit_file_is_never_created() {
        // Control: the directory is writable, and a file there can be made.
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("there"), "").unwrap();
        write(&d.path().join("there"), "set there", "1").unwrap();
        let e = write(&d.path().join("memory.max"), "set memory.max", "1").unwrap_err();
        assert_eq!(e.raw_errno(), Some(libc::ENOENT));
        assert!(e.to_string().contains("memory.max"), "{e}");
        assert!(!d.path().join("memory.max").exists());
    }
}
