//! The state directory: `--root/ID/` holds `state.json` (our record of the
//! container), `config.json` (the bundle's, as it was at create: exec and
//! the poststop hooks read it after the bundle may be gone) and, until
//! `start`, `exec.fifo`, on which the container's process waits.
//!
//! The status is derived, never stored (runtime.md "State"): the process
//! is gone (or a zombie, or its pid was reused: the start time differs) →
//! stopped; alive with the FIFO still there → created; else running.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
    /// Our cgroup record (cgroup.rs), when the container has one.
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
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Stopped => "stopped",
        }
    }
}

/// `--root`, or: /run/sandbox-oci for real root, else
/// $XDG_RUNTIME_DIR/sandbox-oci, else /tmp/sandbox-oci-UID.
pub fn root_dir(given: Option<&Path>) -> PathBuf {
    if let Some(r) = given {
        return r.to_path_buf();
    }
    if sys::geteuid() == 0 && sys::writable(Path::new("/run").as_os_str()).is_ok() {
        return PathBuf::from("/run/sandbox-oci");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(x) if !x.is_empty() => Path::new(&x).join("sandbox-oci"),
        _ => PathBuf::from(format!("/tmp/sandbox-oci-{}", sys::geteuid())),
    }
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
        let dir = Self::dir_of(root, id);
        let path = dir.join("state.json");
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::msg(
                    "state",
                    format!("container {id} does not exist"),
                ))
            }
            Err(e) => return Err(e).ctx("read state", path.display()),
        };
        let record = serde_json::from_slice(&text)
            .map_err(|e| Error::msg("read state", format!("{}: {e}", path.display())))?;
        Ok(Container { dir, record })
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

    /// Write the record atomically.
    pub fn save(&self) -> Result<()> {
        write_atomic(
            &self.dir.join("state.json"),
            &serde_json::to_vec(&self.record).expect("a record serializes"),
        )
    }

    pub fn alive(&self) -> bool {
        process_alive(self.record.pid, self.record.start_time)
    }

    pub fn status(&self) -> Status {
        if self.record.pid <= 0 {
            return Status::Creating;
        }
        if !self.alive() {
            Status::Stopped
        } else if self.fifo().exists() {
            Status::Created
        } else {
            Status::Running
        }
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

/// Whether `pid` is alive, not a zombie, and started at `start_time`.
pub fn process_alive(pid: i32, start_time: u64) -> bool {
    match stat(pid) {
        Some((state, st)) => state != 'Z' && state != 'X' && st == start_time,
        None => false,
    }
}

/// (state letter, start time) from /proc/PID/stat.
pub fn stat(pid: i32) -> Option<(char, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold anything; the fields
    // after the last ')' are plain.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let state = f.first()?.chars().next()?;
    // Field 22 overall is index 19 after pid and comm.
    let start = f.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Write `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, bytes).ctx("write", tmp.display())?;
    fs::rename(&tmp, path).ctx("rename", path.display())
}

/// Every container under `root` (for `list`).
pub fn all(root: &Path) -> Vec<Container> {
    let mut v: Vec<Container> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Container::load(root, e.file_name().to_str()?).ok())
        .collect();
    v.sort_by(|a, b| a.record.id.cmp(&b.record.id));
    v
}
