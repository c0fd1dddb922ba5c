//! The state directory: `--root/ID/` holds `state.json` (our record of the
//! container), `config.json` (the bundle's, as it was at create: exec and
//! the poststop hooks read it after the bundle may be gone) and, until
//! `start`, `exec.fifo`, on which the container's process waits.
//!
//! The root follows the state-directory rule of both front ends
//! (confine/statedir.rs): ours, not a symlink, closed to other users (0700 for the
//! default, no write for them when an engine gives `--root`), checked at
//! every command. What we put in it is theirs to neither read nor change:
//! container directories 0700, files 0600 (docs/SECURITY.md).
//!
//! A container directory appears under its id only with its creator's
//! lock (an flock on the directory) already held: `create` makes it as
//! `~new-PID` and renames it into place without replacing anything. The
//! lock lives as long as `create` does, so a directory whose lock is free
//! and that records no started process was left by a `create` that died;
//! `delete` removes it and the id is free again.
//!
//! The status is derived, never stored (runtime.md "State"): no process
//! recorded yet → creating while the creator lives, else stopped; the
//! process is gone (or a zombie, or its pid was reused: the start time
//! differs) → stopped; alive in a frozen cgroup → paused (`pause`);
//! alive with the FIFO still there → created; else running.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::confine::statedir::{self, Access};
use crate::error::{Context, Error, Result};
use crate::sys;

/// What `create` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    /// The container's process, as the caller's PID namespace numbers it.
    pub pid: i32,
    /// Its start time (/proc/PID/stat field 22), to tell a reused pid.
    pub start_time: u64,
    pub bundle: PathBuf,
    pub created: String,
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// Our cgroup record (confine/cgroup/oci.rs), when the container has one.
    #[serde(default)]
    pub cgroup: Option<serde_json::Value>,
    /// Whether the container has its own PID namespace (kill --all and ps
    /// then find its processes there).
    #[serde(default)]
    pub own_pidns: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Creating,
    Created,
    Running,
    /// Frozen by `pause` (its cgroup's freezer says so).
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// `--root`, or the default (`default_root`).
pub fn root_dir(given: Option<&Path>) -> PathBuf {
    match given {
        Some(r) => r.to_path_buf(),
        None => default_root(),
    }
}

/// /run/sandbox-oci for real root, else $XDG_RUNTIME_DIR/sandbox-oci,
/// else /tmp/sandbox-oci-UID.
fn default_root() -> PathBuf {
    if sys::geteuid() == 0 && sys::writable(Path::new("/run").as_os_str()).is_ok() {
        return PathBuf::from("/run/sandbox-oci");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(x) if !x.is_empty() => Path::new(&x).join("sandbox-oci"),
        _ => PathBuf::from(format!("/tmp/sandbox-oci-{}", sys::geteuid())),
    }
}

/// `root` checked by the state-directory rule (confine/statedir.rs): private
/// (0700) when it is our default, closed to other users' writes when an
/// engine chose it. `create`: made (0700) when missing; otherwise None
/// when missing.
pub fn open_root(root: &Path, create: bool) -> Result<Option<PathBuf>> {
    let access = match root == default_root() {
        true => Access::Private,
        false => Access::Shared,
    };
    statedir::open(
        root,
        create,
        access,
        "remove it, or give --root a directory of your own",
    )
}

fn does_not_exist(id: &str) -> Error {
    Error::msg("state", format!("container {id} does not exist"))
}

/// A container directory, not following a symlink.
fn open_dir(dir: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
}

/// Whether the `create` that made `dir` still runs: it holds the
/// directory's lock until it ends.
fn creator_alive(dir: &Path) -> bool {
    match open_dir(dir) {
        Ok(d) => !sys::try_lock(d.as_fd()).unwrap_or(false),
        Err(_) => false,
    }
}

/// The new container's directory `root/id` (0700), locked: the returned
/// file holds the lock for as long as it lives (`create` keeps it until it
/// ends). The name appears with the lock already held, and never over an
/// existing one: "already exists" then.
pub fn make_container_dir(root: &Path, id: &str) -> Result<(PathBuf, fs::File)> {
    let dir = Container::dir_of(root, id);
    let exists = || Error::msg("create", format!("container with id {id} already exists"));
    // '~' is in no container id (cli.rs check_id).
    let tmp = root.join(format!("~new-{}", std::process::id()));
    let mkdir = |p: &Path| fs::DirBuilder::new().mode(0o700).create(p);
    if let Err(e) = mkdir(&tmp) {
        if e.kind() != std::io::ErrorKind::AlreadyExists {
            return Err(e).ctx("make the container's directory", tmp.display());
        }
        // Left by a dead process that had our pid.
        let _ = fs::remove_dir_all(&tmp);
        mkdir(&tmp).ctx("make the container's directory", tmp.display())?;
    }
    let lock = |p: &Path| -> Result<fs::File> {
        let d = open_dir(p).ctx("open the container's directory", p.display())?;
        match sys::try_lock(d.as_fd()) {
            Ok(true) => Ok(d),
            Ok(false) => Err(
                Error::msg("lock the container's directory", "already locked")
                    .with_path(p.display().to_string()),
            ),
            Err(e) => Err(e).ctx("lock the container's directory", p.display()),
        }
    };
    let held = match lock(&tmp) {
        Ok(h) => h,
        Err(e) => {
            let _ = fs::remove_dir(&tmp);
            return Err(e);
        }
    };
    match sys::rename_noreplace(&tmp, &dir) {
        Ok(()) => Ok((dir, held)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {
            // A file system without RENAME_NOREPLACE: made in place,
            // locked right after.
            let _ = fs::remove_dir(&tmp);
            drop(held);
            match mkdir(&dir) {
                Ok(()) => Ok((dir.clone(), lock(&dir)?)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(exists()),
                Err(e) => Err(e).ctx("make the container's directory", dir.display()),
            }
        }
        Err(e) => {
            let _ = fs::remove_dir(&tmp);
            match e.raw_os_error() {
                Some(libc::EEXIST) | Some(libc::ENOTEMPTY) => Err(exists()),
                _ => Err(e).ctx("make the container's directory", dir.display()),
            }
        }
    }
}

/// What is under an id that has no record.
pub enum Leftover {
    /// Nothing: the container does not exist.
    Nothing,
    /// A directory whose `create` died before it recorded anything: now
    /// removed.
    Removed,
    /// A directory whose `create` still runs.
    Creating,
    /// A record appeared meanwhile (a `create` just ended).
    Recorded,
}

/// Remove `root/id` when a `create` that died left it without a record
/// (`root` checked by the caller).
pub fn remove_half_made(root: &Path, id: &str) -> Result<Leftover> {
    let dir = Container::dir_of(root, id);
    let Ok(d) = open_dir(&dir) else {
        return Ok(Leftover::Nothing);
    };
    if !sys::try_lock(d.as_fd()).unwrap_or(false) {
        return Ok(Leftover::Creating);
    }
    if fs::symlink_metadata(dir.join("state.json")).is_ok() {
        return Ok(Leftover::Recorded);
    }
    // The lock is ours until the directory is gone: no `create` can take
    // the name meanwhile (it renames into place only where nothing is).
    fs::remove_dir_all(&dir).ctx("remove the half-made container", dir.display())?;
    Ok(Leftover::Removed)
}

/// One container's directory.
pub struct Container {
    pub dir: PathBuf,
    pub record: Record,
}

impl Container {
    pub fn dir_of(root: &Path, id: &str) -> PathBuf {
        root.join(id)
    }

    /// Load `id`; a missing one is the error engines look for ("does not
    /// exist", as runc words it; containerd and podman match on it).
    pub fn load(root: &Path, id: &str) -> Result<Container> {
        Self::find(root, id)?.ok_or_else(|| does_not_exist(id))
    }

    /// Load `id` after checking `root`; None when there is no record of
    /// it (no root, no directory, or one a `create` left half-made).
    pub fn find(root: &Path, id: &str) -> Result<Option<Container>> {
        if open_root(root, false)?.is_none() {
            return Ok(None);
        }
        Self::read(root, id)
    }

    /// Load `id` from a checked `root`.
    fn read(root: &Path, id: &str) -> Result<Option<Container>> {
        let dir = Self::dir_of(root, id);
        let path = dir.join("state.json");
        let text = match fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .and_then(|mut f| {
                let mut t = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut t).map(|_| t)
            }) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Ok(None),
            Err(e) => return Err(e).ctx("read state", path.display()),
        };
        let record = serde_json::from_slice(&text)
            .map_err(|e| Error::msg("read state", format!("{}: {e}", path.display())))?;
        Ok(Some(Container { dir, record }))
    }

    pub fn fifo(&self) -> PathBuf {
        self.dir.join("exec.fifo")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    pub fn config(&self) -> Result<super::spec::Spec> {
        super::load_spec(&self.config_path())
    }

    /// Write the record atomically (0600).
    pub fn save(&self) -> Result<()> {
        write_private(
            &self.dir.join("state.json"),
            &serde_json::to_vec(&self.record).expect("a record serializes"),
        )
    }

    pub fn alive(&self) -> bool {
        crate::procfs::alive(self.record.pid, self.record.start_time)
    }

    pub fn status(&self) -> Status {
        if self.record.pid <= 0 {
            // Recorded before its process: while `create` runs, or left by
            // one that died.
            return match creator_alive(&self.dir) {
                true => Status::Creating,
                false => Status::Stopped,
            };
        }
        if !self.alive() {
            Status::Stopped
        } else if self.cgroup().is_some_and(|cg| cg.frozen()) {
            Status::Paused
        } else if self.fifo().exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    /// The container's cgroup, when it has one (and its record reads).
    pub fn cgroup(&self) -> Option<super::cgroup::Cgroup> {
        let v = self.record.cgroup.as_ref()?;
        super::cgroup::Cgroup::from_json(v).ok()
    }

    /// The spec's state JSON (runtime.md "State").
    pub fn state_json(&self) -> serde_json::Value {
        let status = self.status();
        let mut v = serde_json::json!({
            "ociVersion": super::spec::VERSION,
            "id": self.record.id,
            "status": status.as_str(),
            "bundle": self.record.bundle,
            "rootfs": "",
            "created": self.record.created,
            "owner": "",
        });
        if status != Status::Stopped {
            v["pid"] = self.record.pid.into();
        } else {
            v["pid"] = 0.into();
        }
        if !self.record.annotations.is_empty() {
            v["annotations"] = serde_json::to_value(&self.record.annotations).expect("map");
        }
        v
    }

    /// The container's processes, in the caller's pid numbering: its
    /// cgroup's when it has one, else every process in its PID namespace
    /// (when it has its own), else the container's process only.
    pub fn pids(&self) -> Result<Vec<i32>> {
        if !self.alive() {
            return Ok(vec![]);
        }
        if let Some(cg) = &self.record.cgroup {
            let cg = super::cgroup::Cgroup::from_json(cg)?;
            let mut p = cg.pids()?;
            if !p.is_empty() {
                p.sort_unstable();
                return Ok(p);
            }
        }
        if !self.record.own_pidns {
            return Ok(vec![self.record.pid]);
        }
        let ns = fs::read_link(format!("/proc/{}/ns/pid", self.record.pid)).ctx(
            "read the container's pid namespace",
            format!("/proc/{}/ns/pid", self.record.pid),
        )?;
        let mut out = vec![];
        for e in fs::read_dir("/proc")
            .ctx("list processes", "/proc")?
            .flatten()
        {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            if fs::read_link(format!("/proc/{pid}/ns/pid")).ok().as_ref() == Some(&ns) {
                out.push(pid);
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// Write `bytes` to `path` through a temporary file and a rename (a pid
/// file, where the caller asks).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).ctx("write", tmp.display())?;
    fs::rename(&tmp, path).ctx("rename", path.display())
}

/// Write a state-directory file: 0600, through a new temporary file and
/// a rename, never through a symlink.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    // One left by a writer that died is replaced, whatever its mode.
    let _ = fs::remove_file(&tmp);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes))
        .ctx("write", tmp.display())?;
    fs::rename(&tmp, path).ctx("rename", path.display())
}

/// Keep the bundle's config.json (the text `create` read and applies) in
/// the state directory, 0600 (it holds the container's environment).
pub fn keep_config(text: &[u8], to: &Path) -> Result<()> {
    let mut dst = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(to)
        .ctx("keep config.json", to.display())?;
    dst.write_all(text).ctx("keep config.json", to.display())?;
    Ok(())
}

/// Every container under `root` (for `list`; `root` checked by the
/// caller). Directories a `create` was making when it died, before it
/// renamed them into place (`~new-PID`, PID gone), are removed.
pub fn all(root: &Path) -> Vec<Container> {
    let mut v: Vec<Container> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            if let Some(pid) = name.strip_prefix("~new-") {
                if !Path::new("/proc").join(pid).exists() {
                    let _ = fs::remove_dir_all(e.path());
                }
                return None;
            }
            Container::read(root, name).ok().flatten()
        })
        .collect();
    v.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    v
}
