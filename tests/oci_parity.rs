//! sandbox-oci against runc on configs runc runs (issue 23): each config's
//! effect is checked inside the container, and runc, when installed, runs
//! the same bundle as the control (it passes, and prints the same).
//!
//! The user-namespace cases run the launcher as root in a user namespace
//! of its own with the test user's subordinate ids, as `podman unshare`
//! does (unshare(1) with newuidmap), the container's ids mapped away from
//! the launcher's.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// The binary under the name `sandbox-oci` (dispatch is on argv[0]).
fn oci_bin() -> PathBuf {
    let st = stage();
    let link = st.dir.join("parity-bin/sandbox-oci");
    if !link.exists() {
        let _ = fs::create_dir_all(link.parent().unwrap());
        let _ = symlink(&st.bin, &link);
    }
    link
}

/// runc, if installed.
fn runc() -> Option<PathBuf> {
    ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/bin/runc"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// A bundle over the shared test rootfs (read-only root) running `script`,
/// with its own user namespace mapping container ids 0.. to `uid`/`gid`
/// (`size` of them).
fn config(script: &str, uid: u32, gid: u32, size: u32) -> Value {
    json!({
        "ociVersion": "1.1.0",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/sh", "-c", script],
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "noNewPrivileges": true
        },
        "root": {"path": rootfs_arg(), "readonly": true},
        "hostname": "parity",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "mode=755", "size=65536k"]},
            {"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]}
        ],
        "linux": {
            "uidMappings": [{"containerID": 0, "hostID": uid, "size": size}],
            "gidMappings": [{"containerID": 0, "hostID": gid, "size": size}],
            "namespaces": [
                {"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                {"type": "mount"}, {"type": "user"}, {"type": "network"}
            ]
        }
    })
}

/// Write the bundle `name` and run it with `runtime` (`sandbox-oci` or
/// runc) as the test user, through `wrap` (a command line the runtime's
/// own follows) when given. Each runtime gets its own state directory.
fn run_bundle(name: &str, config: &Value, runtime: &PathBuf, wrap: &[String]) -> Output {
    let dir = test_dir(&format!("parity-{name}"));
    let state = dir.join("state");
    let path = dir.join("config.json");
    fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
    if let Some((u, g)) = stage().drop_to {
        std::os::unix::fs::chown(&path, Some(u), Some(g)).unwrap();
    }
    let mut c = match wrap.split_first() {
        Some((first, rest)) => {
            let mut c = as_test_user(first);
            c.args(rest).arg(runtime);
            c
        }
        None => as_test_user(runtime),
    };
    c.arg("--root")
        .arg(&state)
        .args(["run", "--bundle"])
        .arg(&dir)
        .arg(format!("parity-{name}"))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{name}: {} timed out", runtime.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

/// The bundle under sandbox-oci (which must pass) and, when installed,
/// under runc (the control, which must pass too): sandbox-oci's stdout.
fn both(test: &str, name: &str, config: &Value, wrap: &[String]) -> (String, Option<String>) {
    let o = run_bundle(name, config, &oci_bin(), wrap);
    assert!(
        o.status.success(),
        "{test}: sandbox-oci failed: {}{}",
        text(&o.stderr),
        text(&o.stdout)
    );
    let Some(runc) = runc() else {
        skip(
            test,
            "runc",
            "runc is not installed: no control run (the effects alone were checked)",
        );
        return (text(&o.stdout), None);
    };
    let r = run_bundle(&format!("{name}-runc"), config, &runc, wrap);
    assert!(
        r.status.success(),
        "{test}: the control, runc, failed: {}",
        text(&r.stderr)
    );
    (text(&o.stdout), Some(text(&r.stdout)))
}

/// `unshare` making the test user root in a user namespace of its own,
/// with its subordinate ids as 1 to 65536 (as `podman unshare` does), or
/// why it cannot.
fn as_root_in_userns(test: &str) -> Option<Vec<String>> {
    let (start, count) = match common::subids::range() {
        Ok(r) => r,
        Err(why) => {
            skip(test, "subuid", &why);
            return None;
        }
    };
    let n = count.min(65536);
    let wrap: Vec<String> = [
        "unshare".to_string(),
        "--user".into(),
        "--map-root-user".into(),
        format!("--map-users={start},1,{n}"),
        format!("--map-groups={start},1,{n}"),
        "--".into(),
    ]
    .into();
    // The wrapper alone, as the control of the set-up.
    let o = as_test_user(&wrap[0])
        .args(&wrap[1..])
        .args(["cat", "/proc/self/uid_map"])
        .output()
        .unwrap();
    if !o.status.success() {
        skip(
            test,
            "subuid",
            &format!("unshare with newuidmap: {}", text(&o.stderr).trim()),
        );
        return None;
    }
    let map = text(&o.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(map.contains(&format!("1 {start} {n}")), "{map}");
    Some(wrap)
}

/// The container's ids mapped to 1000.. of a launcher that is root in its
/// own user namespace: its uid 0 is not in the maps, so the container's
/// process has to become the namespace's root before it execs (else it
/// runs as the overflow id, without capabilities there: sethostname and
/// the mounts fail with EPERM), and the exec fifo has to be given to that
/// root.
fn userns_maps_without_the_launcher(test: &str, user: (u32, u32)) {
    let Some(wrap) = as_root_in_userns(test) else {
        return;
    };
    let mut c = config(
        "hostname; id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map",
        1000,
        1000,
        2000,
    );
    c["process"]["user"] = json!({"uid": user.0, "gid": user.1});
    let (ours, theirs) = both(test, test, &c, &wrap);
    let want = format!("parity\n{}\n{}\n0 1000 2000\n0 1000 2000\n", user.0, user.1);
    let squeeze = |s: &str| {
        s.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
            .collect::<String>()
    };
    assert_eq!(squeeze(&ours), want, "{test}");
    if let Some(theirs) = theirs {
        assert_eq!(squeeze(&theirs), want, "{test}: runc");
    }
}

fn userns_without_the_launchers_ids_sets_the_hostname() {
    userns_maps_without_the_launcher("userns_without_the_launchers_ids_sets_the_hostname", (0, 0));
}

fn userns_without_the_launchers_ids_runs_another_user() {
    userns_maps_without_the_launcher(
        "userns_without_the_launchers_ids_runs_another_user",
        (100, 100),
    );
}

/// rootfsPropagation shared (pivot_root refuses a shared root: it was
/// failing there), with a sysctl, oomScoreAdj, an rlimit, a masked and a
/// read-only path, rootless as the test user.
fn shared_root_with_sysctl_oom_rlimit_masked_and_read_only() {
    let test = "shared_root_with_sysctl_oom_rlimit_masked_and_read_only";
    let uid = stage().host_uid;
    let gid = stage().drop_to.map(|d| d.1).unwrap_or(uid);
    // Every line but the last is compared with runc's; the last is the
    // root mount's propagation, which only we keep shared after
    // pivot_root (runc leaves it private).
    let script = "cat /proc/sys/net/ipv4/ip_forward; cat /proc/self/oom_score_adj; \
        ulimit -Sn; ulimit -Hn; \
        echo passwd $(wc -c < /etc/passwd) group $(test -s /etc/group && echo full); \
        (echo 0 > /proc/sys/net/ipv4/ip_forward) 2>/dev/null && echo sys-rw || echo sys-ro; \
        (echo x > /run/x) && echo run-rw; \
        awk '$5 == \"/\" { print ($7 ~ /^shared:/) ? \"shared\" : \"not shared\" }' /proc/self/mountinfo";
    let mut c = config(script, uid, gid, 1);
    c["process"]["oomScoreAdj"] = json!(100);
    c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}]);
    c["linux"]["rootfsPropagation"] = json!("shared");
    c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    c["linux"]["maskedPaths"] = json!(["/etc/passwd"]);
    c["linux"]["readonlyPaths"] = json!(["/proc/sys", "/proc/sysrq-trigger"]);
    let (ours, theirs) = both(test, "shared", &c, &[]);
    let lines: Vec<&str> = ours.lines().collect();
    // The sysctl was written (a new network namespace starts at 0) before
    // /proc/sys went read-only; /run, not listed, stays writable (the
    // control of the read-only check); /etc/passwd is masked (empty)
    // while /etc/group is not.
    assert_eq!(
        lines,
        [
            "1",
            "100",
            "512",
            "1024",
            "passwd 0 group full",
            "sys-ro",
            "run-rw",
            "shared"
        ],
        "{test}: {ours}"
    );
    if let Some(theirs) = theirs {
        let theirs: Vec<&str> = theirs.lines().collect();
        assert_eq!(theirs.len(), lines.len(), "{test}: runc: {theirs:?}");
        assert_eq!(lines[..7], theirs[..7], "{test}: runc");
    }
}

tests![
    userns_without_the_launchers_ids_sets_the_hostname,
    userns_without_the_launchers_ids_runs_another_user,
    shared_root_with_sysctl_oom_rlimit_masked_and_read_only,
];
