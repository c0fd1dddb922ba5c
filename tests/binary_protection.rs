//! Our binary is never a writable handle inside a sandbox (CVE-2019-5736),
//! and no fd of the caller's reaches a sandbox's program but those asked
//! for (CVE-2024-21626); docs/SECURITY.md, "Our binary".
//!
//! The attack: the sandbox writes a `#!/proc/self/exe` script and has it
//! run by `sandbox exec` / `sandbox-oci exec` / the container's start; an
//! attacker inside (tests/probe/exe_grab.c) opens /proc/PID/exe of every
//! new process it can and, once that process is gone, writes the file.
//! The victim is a user-owned copy of our binary, as `cargo install`
//! leaves one: it must come out byte for byte the same. CONTROL: the same
//! attacker against a user-owned host program run as a plain interpreter
//! (`#!/h/sh`, a copy of busybox) does write it. Under Landlock each
//! `sandbox exec` is a Landlock domain of its own, which cannot reach
//! another's /proc files: there the control runs the interpreter from the
//! attacker's own domain.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// A directory of the test uid's own with: `sandbox` (the victim: our
/// binary, user-owned), `sandbox-oci` (a link to it), `exe_grab` (the
/// attacker, static), a user-owned copy of busybox (the control's
/// interpreter, as `sh`), `evil` (`#!/proc/self/exe`) and `ctl` (`#!/h/sh`).
struct Victim {
    dir: PathBuf,
    bin: PathBuf,
    original: Vec<u8>,
    control: Vec<u8>,
}

fn victim(name: &str) -> Victim {
    let st = stage();
    let dir = st.dir.join(format!("victim-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("xdg")).unwrap();
    fs::set_permissions(dir.join("xdg"), fs::Permissions::from_mode(0o700)).unwrap();
    let bin = dir.join("sandbox");
    fs::copy(&st.bin, &bin).unwrap();
    symlink("sandbox", dir.join("sandbox-oci")).unwrap();
    // The attacker: a copy of SANDBOX_TEST_EXE_GRAB when set (the
    // kernel-matrix guest has no compiler; tests/vm/run builds it), else
    // built from tests/probe/exe_grab.c.
    if let Some(prebuilt) = std::env::var_os("SANDBOX_TEST_EXE_GRAB") {
        fs::copy(&prebuilt, dir.join("exe_grab")).unwrap_or_else(|e| {
            panic!(
                "SANDBOX_TEST_EXE_GRAB={}: {e}",
                Path::new(&prebuilt).display()
            )
        });
    } else {
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let built = Command::new(&cc)
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(dir.join("exe_grab"))
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe/exe_grab.c"))
            .output()
            .unwrap_or_else(|e| panic!("{cc}: {e}: needs a C compiler and static libc"));
        assert!(built.status.success(), "{}", text(&built.stderr));
    }
    fs::copy(st.rootfs.join("bin/busybox"), dir.join("sh")).unwrap();
    fs::write(dir.join("evil"), "#!/proc/self/exe\n").unwrap();
    // Alive a moment (0.3 s), as our binary would be when it fails.
    fs::write(dir.join("ctl"), "#!/h/sh\nsleep 0.3\n").unwrap();
    for f in ["evil", "ctl", "sh", "exe_grab"] {
        fs::set_permissions(dir.join(f), fs::Permissions::from_mode(0o755)).unwrap();
    }
    if let Some((u, g)) = st.drop_to {
        let ok = Command::new("chown")
            .arg("-R")
            .arg(format!("{u}:{g}"))
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    Victim {
        original: fs::read(&bin).unwrap(),
        control: fs::read(dir.join("sh")).unwrap(),
        bin,
        dir,
    }
}

impl Victim {
    fn cmd(&self, prog: &str, args: &[&str]) -> Command {
        let mut c = as_test_user(self.dir.join(prog));
        c.args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("XDG_RUNTIME_DIR", self.dir.join("xdg"))
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        c
    }

    fn assert_unchanged(&self) {
        assert!(
            fs::read(&self.bin).unwrap() == self.original,
            "the sandbox rewrote our binary"
        );
    }

    fn control_written(&self) -> bool {
        fs::read(self.dir.join("sh")).unwrap() != self.control
    }
}

/// Start the attacker (`launch` runs exe_grab SECONDS inside), wait for its
/// "ready".
fn start_attacker(mut launch: Command) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = launch
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the attacker did not start");
    (child, out)
}

fn attacker_report(mut child: Child, mut out: BufReader<std::process::ChildStdout>) -> String {
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let _ = child.wait();
    rest
}

fn output(mut c: Command) -> Output {
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

/// Asked of the kernel on the host (landlock_create_ruleset), never of
/// `sandbox doctor`: a regression must not read as "no Landlock here".
fn landlock_available() -> bool {
    landlock_abi().is_some()
}

/// `sandbox exec` of a `#!/proc/self/exe` script, with the attacker in
/// the sandbox; `landlock` says whether Landlock is left on.
fn exec_attack(landlock: bool) {
    let v = victim(if landlock { "exec-ll" } else { "exec" });
    let n = format!("t{}-bp{}", std::process::id(), landlock as u8);
    let bind = format!("{}:/h", v.dir.display());
    let mut a = vec!["run", "--name", &n, "--detach", "--bind", &bind];
    if !landlock {
        a.extend(["--landlock", "off"]);
    }
    let root = rootfs_arg();
    a.extend([root.as_str(), "/bin/sh", "-c", "sleep 30"]);
    let o = output(v.cmd("sandbox", &a));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // The attack.
    let (child, out) = start_attacker(v.cmd("sandbox", &["exec", &n, "/h/exe_grab", "3"]));
    let o = output(v.cmd("sandbox", &["exec", &n, "/h/evil"]));
    let report = attacker_report(child, out);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("not an interpreter"),
        "{}",
        text(&o.stderr)
    );
    v.assert_unchanged();
    assert!(!report.contains("wrote"), "{report}");
    // CONTROL: a host program run as an interpreter the same way is
    // grabbed and rewritten by the same attacker (under Landlock, from the
    // attacker's own domain).
    let report = if landlock {
        let o = output(v.cmd(
            "sandbox",
            &[
                "exec",
                &n,
                "/bin/sh",
                "-c",
                "/h/exe_grab 3 & sleep 0.2; /h/ctl; wait",
            ],
        ));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        text(&o.stdout)
    } else {
        let (child, out) = start_attacker(v.cmd("sandbox", &["exec", &n, "/h/exe_grab", "3"]));
        let o = output(v.cmd("sandbox", &["exec", &n, "/h/ctl"]));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        attacker_report(child, out)
    };
    assert!(report.contains("wrote"), "control: {report}");
    assert!(
        v.control_written(),
        "control: the interpreter was not rewritten"
    );
    let _ = output(v.cmd("sandbox", &["kill", &n]));
    v.assert_unchanged();
}

fn sandbox_exec_without_landlock_cannot_rewrite_our_binary() {
    exec_attack(false);
}

fn sandbox_exec_with_landlock_cannot_rewrite_our_binary() {
    if !landlock_available() {
        skip(
            "sandbox_exec_with_landlock_cannot_rewrite_our_binary",
            "landlock",
            "the kernel does not offer Landlock to the test uid",
        );
        return;
    }
    exec_attack(true);
}

/// An OCI bundle on the shared rootfs (read-only) with the victim's
/// directory bound at /h, rootless.
fn oci_bundle(v: &Victim, name: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let dir = test_dir(&format!("bp-oci-{name}"));
    let root = test_dir(&format!("bp-oci-state-{name}"));
    let uid = stage().host_uid;
    let gid = stage().drop_to.map(|d| d.1).unwrap_or(uid);
    let config: Value = json!({
        "ociVersion": "1.1.0",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "noNewPrivileges": true
        },
        "root": {"path": rootfs_arg(), "readonly": true},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
            {"destination": "/h", "type": "bind", "source": v.dir.display().to_string(),
             "options": ["rbind", "rw"]}
        ],
        "linux": {
            "uidMappings": [{"containerID": 0, "hostID": uid, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": gid, "size": 1}],
            "namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                           {"type": "mount"}, {"type": "user"}, {"type": "network"}]
        }
    });
    let path = dir.join("config.json");
    fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    if let Some((u, g)) = stage().drop_to {
        std::os::unix::fs::chown(&path, Some(u), Some(g)).unwrap();
    }
    (dir, root)
}

/// `sandbox-oci --root ROOT ARGS` from the victim's copy.
fn oci(v: &Victim, root: &Path, args: &[&str]) -> Command {
    let mut c = v.cmd("sandbox-oci", &["--root", &root.display().to_string()]);
    c.args(args);
    c
}

/// create (its stdio to files: the container's process keeps them).
fn oci_create(v: &Victim, dir: &Path, root: &Path, id: &str) -> i32 {
    let pidfile = dir.join("pid");
    let log = dir.join("out");
    let f = fs::File::create(&log).unwrap();
    let st = oci(
        v,
        root,
        &[
            "create",
            "--bundle",
            &dir.display().to_string(),
            "--pid-file",
            &pidfile.display().to_string(),
            id,
        ],
    )
    .stdout(f.try_clone().unwrap())
    .stderr(f)
    .status()
    .unwrap();
    assert!(
        st.success(),
        "create: {}",
        fs::read_to_string(&log).unwrap_or_default()
    );
    fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn oci_exec_cannot_rewrite_our_binary() {
    let v = victim("oci-exec");
    let (dir, root) = oci_bundle(&v, "exec", &["/bin/sleep", "30"]);
    let id = "bp1";
    oci_create(&v, &dir, &root, id);
    assert!(output(oci(&v, &root, &["start", id])).status.success());
    let (child, out) = start_attacker(oci(&v, &root, &["exec", id, "/h/exe_grab", "3"]));
    let o = output(oci(&v, &root, &["exec", id, "/h/evil"]));
    let report = attacker_report(child, out);
    assert_eq!(o.status.code(), Some(126), "{}", text(&o.stderr));
    v.assert_unchanged();
    assert!(!report.contains("wrote"), "{report}");
    // CONTROL, as for `sandbox exec`.
    let (child, out) = start_attacker(oci(&v, &root, &["exec", id, "/h/exe_grab", "3"]));
    let o = output(oci(&v, &root, &["exec", id, "/h/ctl"]));
    let report = attacker_report(child, out);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(report.contains("wrote"), "control: {report}");
    assert!(v.control_written());
    let _ = output(oci(&v, &root, &["delete", "--force", id]));
    v.assert_unchanged();
}

/// The container's own process: parked in the container until `start`,
/// it runs from a sealed memfd copy and is not dumpable, so the attacker
/// cannot open its exe; its program `#!/proc/self/exe` gets that copy.
fn oci_init_cannot_rewrite_our_binary() {
    let v = victim("oci-init");
    let (dir, root) = oci_bundle(&v, "init", &["/h/evil"]);
    let id = "bp2";
    let pid = oci_create(&v, &dir, &root, id);
    // Seen from the host: not our binary.
    let exe = fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(
        exe.to_string_lossy().starts_with("/memfd:"),
        "the container's process runs {}",
        exe.display()
    );
    // The attacker, in the container, against the parked process.
    let (child, out) = start_attacker(oci(&v, &root, &["exec", id, "/h/exe_grab", "1"]));
    let report = attacker_report(child, out);
    assert_eq!(report.trim(), "grabbed 0", "{report}");
    let o = output(oci(&v, &root, &["start", id]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = output(oci(&v, &root, &["delete", "--force", id]));
    v.assert_unchanged();
    // CONTROL: the attacker can open the exe of a dumpable process of the
    // container (the same exec, against `sleep`).
    let (dir, root) = oci_bundle(&v, "init-ctl", &["/bin/sleep", "30"]);
    oci_create(&v, &dir, &root, "bp3");
    assert!(output(oci(&v, &root, &["start", "bp3"])).status.success());
    let (child, out) = start_attacker(oci(&v, &root, &["exec", "bp3", "/h/exe_grab", "3"]));
    let o = output(oci(&v, &root, &["exec", "bp3", "/h/ctl"]));
    assert!(o.status.success(), "{}", text(&o.stderr));
    let report = attacker_report(child, out);
    assert!(report.contains("wrote"), "control: {report}");
    let _ = output(oci(&v, &root, &["delete", "--force", "bp3"]));
}

/// The caller holds a directory of the host on fds 5 and 7, not
/// close-on-exec; `shell_tail` is what the shell execs with them.
fn with_leaked_fds(v: &Victim, host_dir: &Path, shell_tail: &str) -> Output {
    let script = format!(
        "exec 5<{d} 7<{d}; exec {shell_tail}",
        d = host_dir.display()
    );
    let mut c = as_test_user("/bin/sh");
    c.args(["-c", &script])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("XDG_RUNTIME_DIR", v.dir.join("xdg"))
        .current_dir(&v.dir)
        .stdin(Stdio::null());
    output(c)
}

const SEE_FDS: &str = "'for n in 5 7; do [ -e /proc/self/fd/$n ] && echo fd$n; done; echo end'";

fn leaked_fds_do_not_reach_the_sandbox() {
    let v = victim("fds");
    let host_dir = test_dir("bp-home");
    // CONTROL: the caller really passes them on.
    let o = with_leaked_fds(&v, &host_dir, &format!("/bin/sh -c {SEE_FDS}"));
    assert_eq!(text(&o.stdout), "fd5\nfd7\nend\n");
    // sandbox-oci exec: none, unless --preserve-fds covers them.
    let (dir, root) = oci_bundle(&v, "fds", &["/bin/sleep", "30"]);
    oci_create(&v, &dir, &root, "bp4");
    assert!(output(oci(&v, &root, &["start", "bp4"])).status.success());
    let oci_exec = |extra: &str| {
        format!(
            "{}/sandbox-oci --root {} exec {extra} bp4 /bin/sh -c {SEE_FDS}",
            v.dir.display(),
            root.display()
        )
    };
    let o = with_leaked_fds(&v, &host_dir, &oci_exec(""));
    assert_eq!(text(&o.stdout), "end\n", "{}", text(&o.stderr));
    let o = with_leaked_fds(&v, &host_dir, &oci_exec("--preserve-fds 5"));
    assert_eq!(text(&o.stdout), "fd5\nfd7\nend\n", "{}", text(&o.stderr));
    let _ = output(oci(&v, &root, &["delete", "--force", "bp4"]));
    // sandbox exec: none (it has no --preserve-fds).
    let n = format!("t{}-bpfd", std::process::id());
    let root_arg = rootfs_arg();
    let o = output(v.cmd(
        "sandbox",
        &[
            "run", "--name", &n, "--detach", &root_arg, "/bin/sh", "-c", "sleep 30",
        ],
    ));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = with_leaked_fds(
        &v,
        &host_dir,
        &format!("{}/sandbox exec {n} /bin/sh -c {SEE_FDS}", v.dir.display()),
    );
    assert_eq!(text(&o.stdout), "end\n", "{}", text(&o.stderr));
    let _ = output(v.cmd("sandbox", &["kill", &n]));
}

tests![
    sandbox_exec_without_landlock_cannot_rewrite_our_binary,
    sandbox_exec_with_landlock_cannot_rewrite_our_binary,
    oci_exec_cannot_rewrite_our_binary,
    oci_init_cannot_rewrite_our_binary,
    leaked_fds_do_not_reach_the_sandbox,
];
