//! sandbox-oci driven as an engine drives it: a bundle (config.json and
//! the shared test rootfs), `sandbox-oci --root STATE ...` as the test user.
//! For tests/oci.rs and tests/oci_hostile.rs.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::*;
use serde_json::{json, Value};

/// The binary under the name `sandbox-oci` (dispatch is on argv[0]).
pub fn oci_bin() -> PathBuf {
    let st = stage();
    let link = st.dir.join("oci-bin/sandbox-oci");
    if !link.exists() {
        let _ = fs::create_dir_all(link.parent().unwrap());
        let _ = symlink(&st.bin, &link);
    }
    link
}

pub struct Bundle {
    pub dir: PathBuf,
    pub root: PathBuf,
    pub config: Value,
}

/// A bundle whose rootfs is the shared test rootfs (read-only root), with
/// the mounts, namespaces and process a rootless engine would give.
pub fn bundle(name: &str, args: &[&str]) -> Bundle {
    let dir = test_dir(&format!("oci-{name}"));
    let root = test_dir(&format!("oci-state-{name}"));
    let uid = stage().host_uid;
    let gid = stage().drop_to.map(|d| d.1).unwrap_or(uid);
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let config = json!({
        "ociVersion": "1.1.0",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
            "noNewPrivileges": true
        },
        "root": {"path": rootfs_arg(), "readonly": true},
        "hostname": "oci-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]}
        ],
        "linux": {
            "uidMappings": [{"containerID": 0, "hostID": uid, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": gid, "size": 1}],
            "namespaces": [
                {"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                {"type": "mount"}, {"type": "user"}, {"type": "network"}, {"type": "cgroup"}
            ],
            "maskedPaths": ["/proc/kcore", "/proc/timer_list", "/etc/passwd", "/usr/sbin"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"]
        }
    });
    Bundle { dir, root, config }
}

impl Bundle {
    pub fn write(&self) {
        let path = self.dir.join("config.json");
        fs::write(&path, serde_json::to_vec_pretty(&self.config).unwrap()).unwrap();
        let _ = as_test_user("true").status();
        chown_to_test_user(&path);
    }

    /// `sandbox-oci --root STATE ARGS…` as the test user.
    pub fn oci(&self, args: &[&str]) -> Command {
        let mut c = as_test_user(oci_bin());
        c.arg("--root")
            .arg(&self.root)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        c
    }

    pub fn out(&self, args: &[&str]) -> Output {
        let mut c = self.oci(args);
        let deadline = Duration::from_secs(30);
        let child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_output(child, deadline)
    }

    pub fn bundle_arg(&self) -> String {
        self.dir.display().to_string()
    }

    pub fn state(&self, id: &str) -> Value {
        let o = self.out(&["state", id]);
        assert!(o.status.success(), "state: {}", text(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap()
    }

    /// create with stdout to a file (the container's process keeps it), then
    /// the pid from the pid file.
    pub fn create(&self, id: &str) -> (i32, PathBuf) {
        self.write();
        let out = self.dir.join(format!("{id}.out"));
        let f = fs::File::create(&out).unwrap();
        chown_to_test_user(&out);
        let pidfile = self.dir.join(format!("{id}.pid"));
        // The container's process keeps create's stdio: files, not pipes
        // (a pipe would stay open until the container ends).
        let err = self.dir.join(format!("{id}.err"));
        let e = fs::File::create(&err).unwrap();
        let mut child = self
            .oci(&[
                "create",
                "--bundle",
                &self.bundle_arg(),
                "--pid-file",
                &pidfile.display().to_string(),
                id,
            ])
            .stdout(f)
            .stderr(e)
            .spawn()
            .unwrap();
        let start = Instant::now();
        let st = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "create timed out"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(st.success(), "create: {}", read_out(&err));
        let pid: i32 = fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (pid, out)
    }
}

pub fn chown_to_test_user(p: &Path) {
    if let Some((u, g)) = stage().drop_to {
        std::os::unix::fs::chown(p, Some(u), Some(g)).unwrap();
    }
}

/// Collect a child's output, killing it past the deadline.
pub fn wait_output(mut child: std::process::Child, deadline: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("timed out; stderr: {}", text(&o.stderr));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Poll `f` for up to 10 s.
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn read_out(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}
