//! sandbox-oci's container cgroup (src/oci/cgroup.rs) through its library
//! API, on this machine's cgroups: the limits land in the kernel's files,
//! a process added is listed, remove leaves nothing, what cannot be
//! enforced fails closed, and device rules keep a process in the cgroup
//! from opening a device node that a process outside it can open.
//!
//! Most of it needs root (CI runs as root), as runc's cgroupfs driver
//! does; the rest is a delegated cgroup v2 (make test-vm, as uid 1000,
//! whose suite runs in a leaf of the delegated subtree: a relative
//! cgroupsPath lands beside it). The rootless case is this binary again,
//! under setpriv as an unprivileged uid.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use common::*;
use sandbox::oci::cgroup::{self, Cgroup};
use sandbox::oci::spec::Linux;
use serde_json::{json, Value};

const CG: &str = "/sys/fs/cgroup";

/// Set in this binary when it runs again as the unprivileged uid.
const AS_USER: &str = "SANDBOX_OCI_CGROUP_AS_USER";

fn euid() -> u32 {
    fs::metadata("/proc/self").unwrap().uid()
}

fn pure_v2() -> bool {
    Path::new(CG).join("cgroup.controllers").exists()
}

/// How a test may make cgroups here.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// As root: absolute cgroupsPaths, below each hierarchy's root.
    Root,
    /// As the user of a delegated cgroup v2 (make test-vm): relative
    /// cgroupsPaths, which land beside our own cgroup, in the delegated
    /// subtree.
    Delegated,
}

fn mode(test: &str) -> Option<Mode> {
    if euid() == 0 {
        Some(Mode::Root)
    } else if pure_v2() && std::env::var_os("SANDBOX_TEST_CGROUP").is_some() {
        Some(Mode::Delegated)
    } else {
        skip(
            test,
            "root",
            "needs root (as CI runs it), or a delegated cgroup v2 (make test-vm)",
        );
        None
    }
}

/// Where a test's cgroup goes: its cgroupsPath, and a function from a
/// hierarchy ("unified", or a v1 controller mounted under /sys/fs/cgroup)
/// to the directory that path means there.
type Place = (String, Box<dyn Fn(&str) -> PathBuf>);

fn place(mode: Mode, name: &str) -> Place {
    let name = format!("sandbox-oci-test-{}-{name}", std::process::id());
    match mode {
        Mode::Root => {
            let path = format!("/{name}");
            let dir = move |h: &str| {
                if pure_v2() {
                    Path::new(CG).join(&name)
                } else {
                    Path::new(CG).join(h).join(&name)
                }
            };
            (path, Box::new(dir))
        }
        Mode::Delegated => {
            // Beside our own cgroup: its parent is the delegated one.
            let own = fs::read_to_string("/proc/self/cgroup").unwrap();
            let own = own.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
            let parent = Path::new(own).parent().unwrap();
            let base = Path::new(CG).join(parent.strip_prefix("/").unwrap());
            let path = name.clone();
            (path, Box::new(move |_: &str| base.join(&name)))
        }
    }
}

fn linux(v: Value) -> Linux {
    serde_json::from_value(v).expect("a valid linux section")
}

/// Whether this system has controller `c` where a root runtime would use
/// it: in cgroup v2's root cgroup.controllers, or as a v1 hierarchy.
fn have_controller(c: &str) -> bool {
    if pure_v2() {
        fs::read_to_string(Path::new(CG).join("cgroup.controllers"))
            .unwrap_or_default()
            .split_whitespace()
            .any(|x| x == c)
    } else {
        Path::new(CG).join(c).join("cgroup.procs").exists()
    }
}

fn read(p: &Path) -> String {
    fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// What a test made, undone however it ends: its processes killed, its
/// cgroup removed, its own directories too.
#[derive(Default)]
struct Scope {
    cgroup: Option<Cgroup>,
    kids: Vec<Child>,
    dirs: Vec<PathBuf>,
}

impl Drop for Scope {
    fn drop(&mut self) {
        for k in &mut self.kids {
            let _ = k.kill();
            let _ = k.wait();
        }
        if let Some(cg) = self.cgroup.take() {
            let _ = cg.remove();
        }
        for d in self.dirs.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    }
}

/// `sh -c 'read x; SCRIPT' ARGS…` (the first of ARGS is $0): a process
/// that waits for a line on its stdin before it does anything, so that it
/// can be moved into a cgroup first.
fn waiting(script: &str, args: &[&str]) -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(format!("read x; {script}"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh")
}

/// Let a `waiting` process go, and wait for it.
fn release(mut child: Child) -> Output {
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    child.wait_with_output().unwrap()
}

fn memory_and_pids_limits_land_in_their_files() {
    let test = "memory_and_pids_limits_land_in_their_files";
    let Some(mode) = mode(test) else { return };
    if !have_controller("memory") || !have_controller("pids") {
        return skip(
            test,
            "cgroup",
            "this system lacks the memory or pids controller",
        );
    }
    let (path, dir) = place(mode, "limits");
    let config = linux(json!({
        "cgroupsPath": path,
        "resources": {"memory": {"limit": 64 << 20}, "pids": {"limit": 32}}
    }));
    let mut scope = Scope::default();
    let cg = Cgroup::create(&config, "c1", false)
        .unwrap_or_else(|e| panic!("{e} (hint: {:?})", e.hint))
        .expect("a cgroup for the limits");
    scope.cgroup = Some(cg.clone());
    if pure_v2() {
        let d = dir("unified");
        assert_eq!(read(&d.join("memory.max")), "67108864");
        assert_eq!(read(&d.join("pids.max")), "32");
    } else {
        assert_eq!(
            read(&dir("memory").join("memory.limit_in_bytes")),
            "67108864"
        );
        assert_eq!(read(&dir("pids").join("pids.max")), "32");
        if Path::new(CG).join("unified/cgroup.procs").exists() {
            assert!(
                dir("unified").is_dir(),
                "no tracking directory in the unified hierarchy"
            );
        }
    }

    let kid = waiting("exit 0", &[]);
    let pid = kid.id() as i32;
    scope.kids.push(kid);
    cg.add(pid).unwrap();
    assert_eq!(cg.pids().unwrap(), [pid]);
    // The kernel agrees: its cgroup lines name the path.
    let lines = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let name = path.trim_start_matches('/');
    for want in if pure_v2() {
        vec!["0::"]
    } else {
        vec!["memory:", "pids:"]
    } {
        let line = lines.lines().find(|l| l.contains(want)).unwrap();
        assert!(line.ends_with(name), "{line} is not in {name}");
    }

    // From the state file, the same cgroup.
    let again = Cgroup::from_json(&cg.to_json()).unwrap();
    assert_eq!(again, cg);
    assert_eq!(again.pids().unwrap(), [pid]);

    let out = release(scope.kids.pop().unwrap());
    assert!(out.status.success());
    assert_eq!(again.pids().unwrap(), Vec::<i32>::new());
    again.remove().unwrap();
    scope.cgroup = None;
    for h in ["unified", "memory", "pids"] {
        assert!(!dir(h).exists(), "{} is left", dir(h).display());
    }
}

fn remove_leaves_no_directory() {
    let test = "remove_leaves_no_directory";
    let Some(mode) = mode(test) else { return };
    if !have_controller("pids") {
        return skip(test, "cgroup", "this system lacks the pids controller");
    }
    let hierarchy = if pure_v2() { "unified" } else { "pids" };
    let limits = json!({"pids": {"limit": 100}});
    let mut scope = Scope::default();

    // Three levels made, and one the container made inside its own.
    let (path, dir) = place(mode, "rm");
    let config = linux(json!({"cgroupsPath": format!("{path}/a/b"), "resources": limits}));
    let cg = Cgroup::create(&config, "c1", false).unwrap().unwrap();
    scope.cgroup = Some(cg.clone());
    let leaf = dir(hierarchy).join("a/b");
    assert_eq!(read(&leaf.join("pids.max")), "100");
    fs::create_dir(leaf.join("inner")).unwrap();
    cg.remove().unwrap();
    scope.cgroup = None;
    assert!(
        !dir(hierarchy).exists(),
        "{} is left",
        dir(hierarchy).display()
    );
    // Removing again is not an error.
    cg.remove().unwrap();

    // A parent that was there stays.
    let (path, dir) = place(mode, "rm-parent");
    fs::create_dir(dir(hierarchy)).unwrap();
    scope.dirs.push(dir(hierarchy));
    let config = linux(json!({"cgroupsPath": format!("{path}/c"), "resources": limits}));
    let cg = Cgroup::create(&config, "c2", false).unwrap().unwrap();
    scope.cgroup = Some(cg.clone());
    assert!(dir(hierarchy).join("c").is_dir());
    cg.remove().unwrap();
    scope.cgroup = None;
    assert!(!dir(hierarchy).join("c").exists());
    assert!(
        dir(hierarchy).is_dir(),
        "a cgroup it did not make was removed"
    );
}

fn a_file_the_kernel_lacks_fails_closed() {
    let test = "a_file_the_kernel_lacks_fails_closed";
    let Some(mode) = mode(test) else { return };
    let (path, dir) = place(mode, "nosuch");
    let config = linux(json!({
        "cgroupsPath": path,
        "resources": {"unified": {"nosuch.limit": "1"}}
    }));
    let e = Cgroup::create(&config, "c1", false).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("linux.resources.unified[nosuch.limit]"),
        "{shown}"
    );
    assert!(e.hint.is_some(), "no hint: {shown}");
    if Path::new(CG).join("unified/cgroup.procs").exists() || pure_v2() {
        // The file, and the errno, are named.
        assert!(
            shown.contains("/nosuch.limit: No such file or directory"),
            "{shown}"
        );
    } else {
        assert!(shown.contains("no cgroup v2"), "{shown}");
    }
    assert!(
        !dir("unified").exists(),
        "the failed cgroup was left behind"
    );

    // A field sandbox-oci does not implement: refused before anything is
    // made.
    let config = linux(json!({"cgroupsPath": path, "resources": {"blockIO": {"weight": 500}}}));
    let e = Cgroup::create(&config, "c1", false).unwrap_err();
    assert!(
        e.to_string()
            .contains("linux.resources.blockIO: cannot be enforced"),
        "{e}"
    );
    assert!(!dir("unified").exists());
}

/// As an unprivileged uid, a cgroupsPath at the hierarchy's root (never
/// delegated): a limit fails closed, naming the limit, the directory and
/// the errno; without a limit there is no cgroup, device rules included
/// (moot without CAP_MKNOD). The default path, beside the caller's
/// cgroup, works where that is delegated (make test-vm) and fails closed
/// where not. As root: this binary again, as nobody, through setpriv.
fn rootless_limits_fail_closed() {
    if std::env::var_os(AS_USER).is_some() {
        return as_user_part();
    }
    let delegated = pure_v2() && std::env::var_os("SANDBOX_TEST_CGROUP").is_some();
    if euid() != 0 {
        // Already unprivileged: this process is the case.
        return check_user_part(&run_as_user_part(None), delegated);
    }
    // A copy of this binary that nobody can run.
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let me = tmp.path().join("oci_cgroup");
    fs::copy(std::env::current_exe().unwrap(), &me).unwrap();
    fs::set_permissions(&me, fs::Permissions::from_mode(0o755)).unwrap();
    check_user_part(&run_as_user_part(Some(&me)), false);
}

fn run_as_user_part(copy: Option<&Path>) -> String {
    let mut c = match copy {
        Some(me) => {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
                .arg(me);
            c
        }
        None => Command::new(std::env::current_exe().unwrap()),
    };
    let out = c
        .args(["--exact", "rootless_limits_fail_closed"])
        .env(AS_USER, "1")
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "the unprivileged part failed: {stdout}{}",
        text(&out.stderr)
    );
    stdout
}

/// The unprivileged part: one "RESULT name: outcome" line per case.
fn as_user_part() {
    let path = format!("/sandbox-oci-test-{}-rootless", std::process::id());
    let id = format!("rootless-{}", std::process::id());
    let cases = [
        (
            "limit",
            json!({"cgroupsPath": path, "resources": {"memory": {"limit": 64 << 20}}}),
        ),
        ("path-only", json!({"cgroupsPath": path})),
        (
            "devices",
            json!({"cgroupsPath": path, "resources": {"devices": [{"allow": false, "access": "rwm"}]}}),
        ),
        (
            "default-path",
            json!({"resources": {"pids": {"limit": 10}}}),
        ),
    ];
    for (name, config) in cases {
        let outcome = match Cgroup::create(&linux(config), &id, false) {
            Ok(None) => "none".to_string(),
            Ok(Some(cg)) => {
                let removed = cg.remove().is_ok();
                let gone = cg.to_json()["dirs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|d| !Path::new(d["path"].as_str().unwrap()).exists());
                format!("made {} removed={removed} gone={gone}", cg.to_json())
            }
            Err(e) => format!("{e} | hint: {}", e.hint.clone().unwrap_or_default()),
        };
        println!("RESULT {name}: {outcome}");
    }
    std::process::exit(0);
}

fn check_user_part(stdout: &str, delegated: bool) {
    let result = |name: &str| {
        let prefix = format!("RESULT {name}: ");
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no result for {name}: {stdout}"))
            .to_string()
    };
    let refused = |case: &str, field: &str| {
        let r = result(case);
        assert!(r.starts_with("sandbox: create cgroup for "), "{case}: {r}");
        assert!(r.contains(field), "{case}: {r}");
        assert!(r.contains(": Permission denied |"), "{case}: {r}");
        let hint = r.split(" | hint: ").nth(1).unwrap();
        assert!(!hint.is_empty(), "{case}: no hint: {r}");
    };
    refused("limit", "linux.resources.memory.limit");
    assert_eq!(result("path-only"), "none");
    assert_eq!(result("devices"), "none");
    if delegated {
        let r = result("default-path");
        assert!(
            r.starts_with("made ") && r.contains("sandbox-oci-rootless-"),
            "{r}"
        );
        assert!(r.ends_with("removed=true gone=true"), "{r}");
    } else {
        refused("default-path", "linux.resources.pids.limit");
    }
}

fn cpu_settings_land_and_a_cpuset_can_be_joined() {
    let test = "cpu_settings_land_and_a_cpuset_can_be_joined";
    let Some(mode) = mode(test) else { return };
    if !have_controller("cpu") || !have_controller("cpuset") {
        return skip(
            test,
            "cgroup",
            "this system lacks the cpu or cpuset controller",
        );
    }
    let (path, dir) = place(mode, "cpu");
    let config = linux(json!({
        "cgroupsPath": format!("{path}/inner"),
        "resources": {"cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"}}
    }));
    // Whether the delegated cgroup offers cpuset is read from its own
    // cgroup.controllers, not from the runtime's error: once it is there,
    // a failure to use it is a failure.
    if mode == Mode::Delegated {
        let own = fs::read_to_string("/proc/self/cgroup").unwrap();
        let own = own.lines().find_map(|l| l.strip_prefix("0::")).unwrap();
        let parent =
            Path::new(CG).join(Path::new(own).parent().unwrap().strip_prefix("/").unwrap());
        let offered = fs::read_to_string(parent.join("cgroup.controllers")).unwrap_or_default();
        if !offered.split_whitespace().any(|c| c == "cpuset") {
            return skip(
                test,
                "cpuset",
                &format!(
                    "the delegated cgroup {} offers no cpuset controller",
                    parent.display()
                ),
            );
        }
    }
    let mut scope = Scope::default();
    let cg = match Cgroup::create(&config, "c1", false) {
        Ok(cg) => cg.unwrap(),
        Err(e) => panic!("{e} (hint: {:?})", e.hint),
    };
    scope.cgroup = Some(cg.clone());
    if pure_v2() {
        let d = dir("unified").join("inner");
        assert_eq!(read(&d.join("cpu.weight")), "59");
        assert_eq!(read(&d.join("cpu.max")), "50000 100000");
        assert_eq!(read(&d.join("cpuset.cpus")), "0");
    } else {
        let d = dir("cpu").join("inner");
        assert_eq!(read(&d.join("cpu.shares")), "512");
        assert_eq!(read(&d.join("cpu.cfs_quota_us")), "50000");
        assert_eq!(read(&d.join("cpu.cfs_period_us")), "100000");
        let c = dir("cpuset");
        assert_eq!(read(&c.join("inner/cpuset.cpus")), "0");
        // Both levels got the root's memory nodes, and its cpus above ours.
        let root_mems = read(&Path::new(CG).join("cpuset/cpuset.mems"));
        assert_eq!(read(&c.join("cpuset.mems")), root_mems);
        assert_eq!(read(&c.join("inner/cpuset.mems")), root_mems);
        assert_eq!(
            read(&c.join("cpuset.cpus")),
            read(&Path::new(CG).join("cpuset/cpuset.cpus"))
        );
    }
    // A task can join, and runs where the cpuset says.
    let kid = waiting("grep Cpus_allowed_list /proc/self/status", &[]);
    let pid = kid.id() as i32;
    scope.kids.push(kid);
    cg.add(pid).unwrap();
    let out = release(scope.kids.pop().unwrap());
    assert_eq!(
        text(&out.stdout).split_whitespace().nth(1),
        Some("0"),
        "{}",
        text(&out.stdout)
    );
    cg.remove().unwrap();
    scope.cgroup = None;
    assert!(!dir("cpu").exists() && !dir("cpuset").exists() && !dir("unified").exists());
}

/// A device node for /dev/full's 1:7 in a fresh directory (the control
/// opens it too, so a nodev mount would show), or a skip.
fn full_node(test: &str) -> Option<(tempfile::TempDir, PathBuf)> {
    let tmp = tempfile::tempdir().unwrap();
    let node = tmp.path().join("full");
    let made = Command::new("mknod")
        .arg(&node)
        .args(["c", "1", "7"])
        .status()
        .unwrap()
        .success();
    if !made {
        skip(test, "mknod", "mknod c 1 7 failed here");
        return None;
    }
    Some((tmp, node))
}

/// `head -c 1 NODE` in a process: what it read, and whether it could.
fn open_node(child: Child) -> (bool, String) {
    let out = release(child);
    (out.status.success() && out.stdout == [0], text(&out.stderr))
}

fn device_rules_deny_a_node_in_the_cgroup() {
    let test = "device_rules_deny_a_node_in_the_cgroup";
    if euid() != 0 {
        return skip(
            test,
            "root",
            "device rules are enforced only for a root runtime",
        );
    }
    let mut scope = Scope::default();
    let Some((tmp, full)) = full_node(test) else {
        return;
    };
    // /dev/kmsg's numbers: a device outside runc's default list.
    let kmsg = tmp.path().join("kmsg");
    if !Command::new("mknod")
        .arg(&kmsg)
        .args(["c", "1", "11"])
        .status()
        .unwrap()
        .success()
    {
        return skip(test, "mknod", "mknod c 1 11 failed here");
    }
    let (full_s, kmsg_s) = (full.to_str().unwrap(), kmsg.to_str().unwrap());
    let (path, _) = place(Mode::Root, "devices");
    // containerd's CRI shape: deny all, and nothing else; runc's default
    // list (null, zero, full, random, urandom, tty, ptys, mknod) is
    // appended after it.
    let config = linux(json!({
        "cgroupsPath": path,
        "resources": {"devices": [{"allow": false, "access": "rwm"}]}
    }));
    let cg = Cgroup::create(&config, "c1", false)
        .unwrap_or_else(|e| panic!("{e} (hint: {:?})", e.hint))
        .unwrap();
    scope.cgroup = Some(cg.clone());
    // Opens the node for reading, then prints a NUL (what open_node
    // reads as success).
    let open = "exec 3<\"$0\" && printf '\\0'";

    // Control: the same open from outside the cgroup.
    let (ok, err) = open_node(waiting(open, &[kmsg_s]));
    assert!(ok, "the control could not open {kmsg_s}: {err}");

    let kid = waiting(open, &[kmsg_s]);
    cg.add(kid.id() as i32).unwrap();
    let (ok, err) = open_node(kid);
    assert!(!ok, "a process in the cgroup opened {kmsg_s}");
    assert!(err.contains("Operation not permitted"), "{err}");

    // The default list's devices still open, whatever the config denies.
    for node in [full_s, "/dev/zero", "/dev/null"] {
        let kid = waiting(open, &[node]);
        cg.add(kid.id() as i32).unwrap();
        let (ok, err) = open_node(kid);
        assert!(
            ok,
            "{node} (runc's default list) did not open in the cgroup: {err}"
        );
    }
    // And nodes can be made (`c *:* m`), as the /dev of a container is.
    let made = tmp.path().join("made");
    let kid = waiting("exec mknod \"$0\" c 1 11", &[made.to_str().unwrap()]);
    cg.add(kid.id() as i32).unwrap();
    let out = release(kid);
    assert!(
        out.status.success(),
        "mknod in the cgroup: {}",
        text(&out.stderr)
    );
}

/// The eBPF program alone, on a cgroup v2 directory of its own (on a
/// hybrid system the v1 devices controller enforces the same rules too,
/// so the test above cannot tell them apart).
fn device_program_alone_denies_open_and_mknod() {
    let test = "device_program_alone_denies_open_and_mknod";
    if euid() != 0 {
        return skip(test, "root", "loading a cgroup device program needs root");
    }
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let Some(v2) = mountinfo.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        post.starts_with("cgroup2 ")
            .then(|| PathBuf::from(pre.split(' ').nth(4).unwrap()))
    }) else {
        return skip(test, "cgroup2", "no cgroup v2 hierarchy is mounted");
    };
    let mut scope = Scope::default();
    let Some((tmp, node)) = full_node(test) else {
        return;
    };
    let node_s = node.to_str().unwrap();
    let name = format!("sandbox-oci-test-{}-bpf", std::process::id());
    let (ruled, free) = (v2.join(&name), v2.join(format!("{name}-control")));
    for d in [&ruled, &free] {
        fs::create_dir(d).unwrap();
        scope.dirs.push(d.clone());
    }
    let rules: Vec<sandbox::oci::spec::LinuxDeviceCgroup> = serde_json::from_value(json!([
        {"allow": false, "type": "c", "major": 1, "minor": 7, "access": "rwm"}
    ]))
    .unwrap();
    cgroup::attach_device_rules(&ruled, &rules)
        .unwrap_or_else(|e| panic!("{e} (hint: {:?})", e.hint));

    // Each process moves itself in, then opens the node, or makes one.
    // $0 is the node, $1 the cgroup.
    let open = "echo $$ > \"$1/cgroup.procs\" && exec head -c 1 \"$0\"";
    let mknod = "echo $$ > \"$1/cgroup.procs\" && exec mknod \"$0\" c 1 7";
    let (ok, err) = open_node(waiting(open, &[node_s, free.to_str().unwrap()]));
    assert!(ok, "the control could not read {node_s}: {err}");
    let (ok, err) = open_node(waiting(open, &[node_s, ruled.to_str().unwrap()]));
    assert!(!ok && err.contains("Operation not permitted"), "{err}");

    let made = tmp.path().join("made");
    let made_s = made.to_str().unwrap();
    let out = release(waiting(mknod, &[made_s, free.to_str().unwrap()]));
    assert!(
        out.status.success(),
        "the control mknod failed: {}",
        text(&out.stderr)
    );
    fs::remove_file(&made).unwrap();
    let out = release(waiting(mknod, &[made_s, ruled.to_str().unwrap()]));
    assert!(
        !out.status.success() && !made.exists(),
        "mknod in the cgroup made the node"
    );
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
    // Another device stays allowed.
    let (ok, err) = open_node(waiting(
        "echo $$ > \"$1/cgroup.procs\" && exec head -c 1 \"$0\"",
        &["/dev/zero", ruled.to_str().unwrap()],
    ));
    assert!(ok, "/dev/zero was denied: {err}");
}

/// `pause` and `resume`'s freezer (Cgroup::freeze): the v1 freezer where
/// the container has a directory in it (hybrid and v1, as root: the
/// cgroupsPath is made in every hierarchy), and cgroup v2's cgroup.freeze
/// (pure v2; on a hybrid system, the unified directory alone, from its
/// state record): the kernel's own file says frozen, then thawed.
/// Control: before the freeze it says thawed.
fn freeze_and_thaw_in_v1_and_v2() {
    let test = "freeze_and_thaw_in_v1_and_v2";
    let Some(mode) = mode(test) else { return };
    let (path, dir) = place(mode, "freeze");
    let config = linux(json!({"cgroupsPath": path}));
    let mut scope = Scope::default();
    let cg = Cgroup::create(&config, "c1", false)
        .unwrap_or_else(|e| panic!("{e} (hint: {:?})", e.hint))
        .expect("a cgroup for the path");
    scope.cgroup = Some(cg.clone());
    // A process that waits on its stdin: frozen there.
    let kid = waiting("exit 0", &[]);
    let pid = kid.id() as i32;
    scope.kids.push(kid);
    cg.add(pid).unwrap();
    let mut kinds: Vec<(&str, Cgroup)> = Vec::new();
    if !pure_v2() && have_controller("freezer") {
        kinds.push(("v1", cg.clone()));
    }
    let unified = Path::new(CG).join("unified/cgroup.procs").exists() || pure_v2();
    if unified {
        // Only the unified directory: what a container on cgroup v2 has.
        let mut v = cg.to_json();
        v["dirs"]
            .as_array_mut()
            .unwrap()
            .retain(|d| d["hierarchy"] == "unified");
        kinds.push(("v2", Cgroup::from_json(&v).unwrap()));
    }
    assert!(!kinds.is_empty(), "neither a v1 freezer nor cgroup v2 here");
    for (kind, c) in kinds {
        let said = || {
            if kind == "v1" {
                read(&dir("freezer").join("freezer.state"))
            } else {
                let e = read(&dir("unified").join("cgroup.events"));
                e.lines()
                    .find(|l| l.starts_with("frozen "))
                    .unwrap()
                    .to_string()
            }
        };
        let (frozen, thawed) = if kind == "v1" {
            ("FROZEN", "THAWED")
        } else {
            ("frozen 1", "frozen 0")
        };
        assert_eq!(said(), thawed, "control {kind}");
        assert!(!c.frozen(), "{kind}");
        c.freeze(true)
            .unwrap_or_else(|e| panic!("{kind}: {e} (hint: {:?})", e.hint));
        assert_eq!(said(), frozen, "{kind}");
        assert!(c.frozen(), "{kind}");
        c.freeze(false).unwrap();
        assert_eq!(said(), thawed, "{kind}");
        assert!(!c.frozen(), "{kind}");
    }
}

tests![
    memory_and_pids_limits_land_in_their_files,
    remove_leaves_no_directory,
    a_file_the_kernel_lacks_fails_closed,
    rootless_limits_fail_closed,
    cpu_settings_land_and_a_cpuset_can_be_joined,
    device_rules_deny_a_node_in_the_cgroup,
    device_program_alone_denies_open_and_mknod,
    freeze_and_thaw_in_v1_and_v2,
];
