//! The runtime calls containerd's runc v2 shim makes for CRI pods (issue
//! 24), made here directly, as real root (containerd runs the runtime as
//! root): app containers joining the pause container's namespaces by
//! path, `update` with the resources JSON on stdin, `pause`/`resume`,
//! the cgroupsPath in every hierarchy (what the shim's OOM watcher reads),
//! an rshared hostPath bind seen both ways, exec with a tty through a
//! console socket, `kill --all` after the process ended. Each case runs
//! on runc first, when it is installed, as the control: the same config
//! and the same probe give the same answer. Without root the cases skip.
//! `make test-cri` (tests/cri/) drives the same calls through containerd.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::oci::{eventually, oci_bin, read_out, wait_output};
use common::*;
use serde_json::{json, Value};

fn root(test: &str) -> bool {
    let me = fs::metadata("/proc/self").map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    if me.ok() == Some(0) {
        return true;
    }
    skip(
        test,
        "root",
        "needs real root, as containerd runs the runtime",
    );
    false
}

fn pure_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// A runtime as the shim calls it: the binary and a state directory.
struct Rt {
    name: &'static str,
    bin: PathBuf,
    root: PathBuf,
}

/// runc first (the control), when installed; then sandbox-oci.
fn runtimes(test: &str) -> Vec<Rt> {
    let dir = stage().dir.join(format!("cri-state-{test}"));
    let mut v = Vec::new();
    if let Some(runc) = ["/usr/sbin/runc", "/usr/bin/runc", "/usr/local/bin/runc"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    {
        v.push(Rt {
            name: "runc",
            bin: runc,
            root: dir.join("runc"),
        });
    } else {
        eprintln!("{test}: runc is not installed: no control run");
    }
    v.push(Rt {
        name: "sandbox-oci",
        bin: oci_bin(),
        root: dir.join("sandbox-oci"),
    });
    v
}

impl Rt {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(&self.root).args(args);
        c.stdin(Stdio::null());
        c
    }

    fn out(&self, args: &[&str]) -> Output {
        let child = self
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_output(child, Duration::from_secs(30))
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.out(args);
        assert!(
            o.status.success(),
            "{} {args:?}: {}",
            self.name,
            text(&o.stderr)
        );
        text(&o.stdout)
    }

    /// `update --resources -` with `json` on stdin, as go-runc sends it.
    fn update(&self, id: &str, json: &Value) -> Output {
        let mut child = self
            .cmd(&["update", "--resources", "-", id])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(json.to_string().as_bytes())
            .unwrap();
        wait_output(child, Duration::from_secs(30))
    }

    /// create (stdio to files: the container keeps them) and start; the
    /// container's pid and its stdout file.
    fn create_start(&self, bundle: &Path, id: &str) -> (i32, PathBuf) {
        let out = bundle.join(format!("{id}.out"));
        let pidfile = bundle.join(format!("{id}.pid"));
        let err = bundle.join(format!("{id}.err"));
        let mut child = self
            .cmd(&[
                "create",
                "--bundle",
                &bundle.display().to_string(),
                "--pid-file",
                &pidfile.display().to_string(),
                id,
            ])
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
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
        assert!(
            st.success(),
            "{} create {id}: {}",
            self.name,
            read_out(&err)
        );
        self.ok(&["start", id]);
        let pid = fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (pid, out)
    }

    fn status(&self, id: &str) -> String {
        let s: Value = serde_json::from_str(&self.ok(&["state", id])).unwrap();
        s["status"].as_str().unwrap().to_string()
    }
}

/// A config as containerd's CRI plugin writes one, cut down: root, no
/// user namespace, new namespaces of each kind a pod uses.
fn config(args: &[&str]) -> Value {
    json!({
        "ociVersion": "1.1.0",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/"
        },
        "root": {"path": rootfs_arg(), "readonly": true},
        "hostname": "pod",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}
        ],
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "ipc"}, {"type": "uts"},
                {"type": "mount"}, {"type": "network"}
            ]
        }
    })
}

fn write_bundle(name: &str, config: &Value) -> PathBuf {
    let dir = test_dir(&format!("cri-{name}"));
    fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(config).unwrap(),
    )
    .unwrap();
    dir
}

/// A cgroupsPath of this run's own, for runtime `rt`.
fn cgroups_path(test: &str, rt: &Rt) -> String {
    format!(
        "/sandbox-oci-test-{}/{test}-{}",
        std::process::id(),
        rt.name
    )
}

/// The directory of `pid`'s cgroup that holds `controller`'s files.
fn cgroup_dir(pid: i32, controller: &str) -> PathBuf {
    let lines = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for l in lines.lines() {
        let mut f = l.splitn(3, ':');
        let (_, ctl, path) = (f.next(), f.next().unwrap(), f.next().unwrap());
        let path = path.trim_start_matches('/');
        if pure_v2() && ctl.is_empty() {
            return Path::new("/sys/fs/cgroup").join(path);
        }
        if ctl.split(',').any(|c| c == controller) {
            return Path::new("/sys/fs/cgroup").join(ctl).join(path);
        }
    }
    panic!("{pid} has no cgroup with {controller}: {lines}")
}

/// Run a host command that must succeed.
fn must(c: &mut Command) {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{c:?}: {}", text(&o.stderr));
}

fn read_trim(p: &Path) -> String {
    fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Remove the cgroups test `test` gave its containers (what a runtime
/// left after a failure), and this run's parent of them once it is empty.
/// Only the test's own: the tests run in parallel, and another's stopped
/// container's cgroup is empty but still read.
fn remove_cgroups(test: &str) {
    let name = format!("sandbox-oci-test-{}", std::process::id());
    let mut dirs = vec![Path::new("/sys/fs/cgroup").join(&name)];
    for e in fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        dirs.push(e.path().join(&name));
    }
    for d in dirs {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_name()
                .to_string_lossy()
                .starts_with(&format!("{test}-"))
            {
                let _ = fs::remove_dir(e.path());
            }
        }
        let _ = fs::remove_dir(&d);
    }
}

/// The pod: a pause container with new namespaces, and app containers
/// that join its network, IPC, UTS and (namespace_options.pid = POD) PID
/// namespaces by /proc/PID/ns paths, as the CRI plugin writes them. The
/// app sees the pause container's namespaces, hostname and processes.
/// Control: an app with namespaces of its own sees none of it. And an app
/// with no cgroup in the pod's PID namespace lists and kills only its own
/// processes: the pause process, in the same namespace, survives
/// `kill --all` and `delete --force` of the app.
fn pod_containers_join_the_pause_containers_namespaces() {
    if !root("pod_containers_join_the_pause_containers_namespaces") {
        return;
    }
    let probe =
        "for n in pid net ipc uts; do readlink /proc/self/ns/$n; done; hostname; cat /proc/1/comm";
    for rt in runtimes("pod") {
        let pause = write_bundle(
            &format!("pod-pause-{}", rt.name),
            &config(&["/bin/sleep", "60"]),
        );
        let (ppid, _) = rt.create_start(&pause, "pause");
        let ns = |n: &str| {
            fs::read_link(format!("/proc/{ppid}/ns/{n}"))
                .unwrap()
                .display()
                .to_string()
        };
        let mut app = config(&["/bin/sh", "-c", probe]);
        app.as_object_mut().unwrap().remove("hostname");
        app["linux"]["namespaces"] = json!([
            {"type": "pid", "path": format!("/proc/{ppid}/ns/pid")},
            {"type": "ipc", "path": format!("/proc/{ppid}/ns/ipc")},
            {"type": "uts", "path": format!("/proc/{ppid}/ns/uts")},
            {"type": "mount"},
            {"type": "network", "path": format!("/proc/{ppid}/ns/net")}
        ]);
        let b = write_bundle(&format!("pod-app-{}", rt.name), &app);
        let o = rt.out(&["run", "--bundle", &b.display().to_string(), "app"]);
        assert!(o.status.success(), "{}: {}", rt.name, text(&o.stderr));
        let want = format!(
            "{}\n{}\n{}\n{}\npod\nsleep\n",
            ns("pid"),
            ns("net"),
            ns("ipc"),
            ns("uts")
        );
        assert_eq!(text(&o.stdout), want, "{}", rt.name);
        // Control: its own namespaces, the same probe.
        let mut own = config(&["/bin/sh", "-c", probe]);
        own["hostname"] = json!("other");
        let b = write_bundle(&format!("pod-own-{}", rt.name), &own);
        let o = rt.out(&["run", "--bundle", &b.display().to_string(), "own"]);
        assert!(o.status.success(), "{}: {}", rt.name, text(&o.stderr));
        let out = text(&o.stdout);
        for n in ["pid", "net", "ipc", "uts"] {
            assert!(!out.contains(&ns(n)), "control {}: {n}: {out}", rt.name);
        }
        // PID 1 is the probe's own shell (or the command it execs last).
        assert!(out.contains("other\n"), "control {}: {out}", rt.name);
        assert!(!out.contains("sleep"), "control {}: {out}", rt.name);

        if rt.name == "sandbox-oci" {
            // No cgroupsPath, no limits: no cgroup (sandbox-oci makes
            // none then), so ps and kill --all find the app's processes
            // by other means than the cgroup.
            let mut sleeper = app.clone();
            sleeper["process"]["args"] = json!(["/bin/sleep", "60"]);
            let b = write_bundle("pod-sleeper", &sleeper);
            let (apid, _) = rt.create_start(&b, "sleeper");
            // The control: the pause process is in the app's PID
            // namespace, where a namespace-wide kill would reach it.
            assert_eq!(
                fs::read_link(format!("/proc/{apid}/ns/pid")).unwrap(),
                fs::read_link(format!("/proc/{ppid}/ns/pid")).unwrap()
            );
            let pids: Vec<i32> =
                serde_json::from_str(&rt.ok(&["ps", "--format", "json", "sleeper"])).unwrap();
            assert_eq!(pids, [apid]);
            rt.ok(&["kill", "--all", "sleeper", "KILL"]);
            eventually("the app stopped", || rt.status("sleeper") == "stopped");
            rt.ok(&["delete", "--force", "sleeper"]);
            assert_eq!(
                rt.status("pause"),
                "running",
                "the pause container was killed"
            );
        }
        rt.ok(&["delete", "--force", "pause"]);
    }
}

/// The container's cgroup is the cgroupsPath in every controller's
/// hierarchy (cgroup v1: each one, as runc's cgroupfs driver makes it),
/// which containerd's shim reads back from /proc/PID/cgroup to watch for
/// OOM kills and read stats. The same lines under runc, the control.
fn the_cgroup_is_cgroups_path_in_every_hierarchy() {
    if !root("the_cgroup_is_cgroups_path_in_every_hierarchy") {
        return;
    }
    for rt in runtimes("every") {
        let path = cgroups_path("every", &rt);
        let mut c = config(&["/bin/sleep", "60"]);
        // What the CRI plugin gives a pause container.
        c["linux"]["cgroupsPath"] = json!(path);
        c["linux"]["resources"] = json!({"cpu": {"shares": 2}});
        let b = write_bundle(&format!("every-{}", rt.name), &c);
        let (pid, _) = rt.create_start(&b, "every");
        let lines = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
        let mut checked = 0;
        for l in lines.lines() {
            let mut f = l.splitn(3, ':');
            let (_, ctl, p) = (f.next(), f.next().unwrap(), f.next().unwrap());
            // A named hierarchy (name=systemd) has no controller to
            // enforce or watch; runc joins it, we leave it.
            if ctl.starts_with("name=") {
                continue;
            }
            assert_eq!(p, path, "{}: {l}", rt.name);
            checked += 1;
        }
        assert!(checked > 0, "{}: {lines}", rt.name);
        rt.ok(&["delete", "--force", "every"]);
        if pure_v2() {
            continue;
        }
        // On cgroup v1 the container's /sys/fs/cgroup/memory is a bind of
        // its own cgroup there, not of the host's whole hierarchy (the
        // mount's root, mountinfo's 4th field, is the cgroupsPath).
        // Control: the host's own mount of it has the hierarchy's root.
        c["process"]["args"] = json!([
            "/bin/sh",
            "-c",
            "grep ' /sys/fs/cgroup/memory ' /proc/self/mountinfo | cut -d' ' -f4"
        ]);
        c["mounts"].as_array_mut().unwrap().push(json!(
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ));
        let b = write_bundle(&format!("every-mount-{}", rt.name), &c);
        let o = rt.out(&["run", "--bundle", &b.display().to_string(), "every"]);
        assert!(o.status.success(), "{}: {}", rt.name, text(&o.stderr));
        assert_eq!(text(&o.stdout), format!("{path}\n"), "{}", rt.name);
        let host = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let line = host
            .lines()
            .find(|l| l.contains(" /sys/fs/cgroup/memory "))
            .unwrap();
        assert_ne!(line.split(' ').nth(3), Some(path.as_str()), "control");
    }
    remove_cgroups("every");
}

/// `update` as containerd's shim calls it (go-runc: `update --resources -`
/// with the container's LinuxResources JSON on stdin, devices included)
/// reaches the kernel's files; -1 lifts a limit; runc's flags work too;
/// a limit sandbox-oci cannot enforce fails naming it. The same JSON under
/// runc gives the same files, the control.
fn update_reaches_the_cgroup() {
    if !root("update_reaches_the_cgroup") {
        return;
    }
    let (mem, pids) = if pure_v2() {
        ("memory.max", "pids.max")
    } else {
        ("memory.limit_in_bytes", "pids.max")
    };
    for rt in runtimes("update") {
        let mut c = config(&["/bin/sleep", "60"]);
        c["linux"]["cgroupsPath"] = json!(cgroups_path("update", &rt));
        c["linux"]["resources"] = json!({"cpu": {"shares": 2}});
        let b = write_bundle(&format!("update-{}", rt.name), &c);
        let (pid, _) = rt.create_start(&b, "upd");
        let before = read_trim(&cgroup_dir(pid, "memory").join(mem));
        let o = rt.update(
            "upd",
            &json!({
                "devices": [{"allow": false, "access": "rwm"}],
                "memory": {"limit": 67108864},
                "pids": {"limit": 20},
                "cpu": {"shares": 512, "quota": 50000, "period": 100000}
            }),
        );
        assert!(o.status.success(), "{}: {}", rt.name, text(&o.stderr));
        assert_ne!(before, "67108864", "control: the limit was there before");
        assert_eq!(
            read_trim(&cgroup_dir(pid, "memory").join(mem)),
            "67108864",
            "{}",
            rt.name
        );
        assert_eq!(
            read_trim(&cgroup_dir(pid, "pids").join(pids)),
            "20",
            "{}",
            rt.name
        );
        let cpu = cgroup_dir(pid, "cpu");
        if pure_v2() {
            assert_eq!(
                read_trim(&cpu.join("cpu.max")),
                "50000 100000",
                "{}",
                rt.name
            );
        } else {
            assert_eq!(
                read_trim(&cpu.join("cpu.cfs_quota_us")),
                "50000",
                "{}",
                rt.name
            );
            assert_eq!(read_trim(&cpu.join("cpu.shares")), "512", "{}", rt.name);
        }
        // runc's flags, and -1 (unlimited).
        rt.ok(&["update", "--memory", "128m", "--pids-limit", "-1", "upd"]);
        assert_eq!(
            read_trim(&cgroup_dir(pid, "memory").join(mem)),
            "134217728",
            "{}",
            rt.name
        );
        assert_eq!(
            read_trim(&cgroup_dir(pid, "pids").join(pids)),
            "max",
            "{}",
            rt.name
        );
        if rt.name == "sandbox-oci" {
            let o = rt.update("upd", &json!({"blockIO": {"weight": 100}}));
            assert!(!o.status.success());
            assert!(
                text(&o.stderr).contains("linux.resources.blockIO: cannot be enforced"),
                "{}",
                text(&o.stderr)
            );
        }
        rt.ok(&["delete", "--force", "upd"]);
    }
    remove_cgroups("update");
}

/// The freezer's word on `pid`'s cgroup: FROZEN / THAWED (v1), or
/// cgroup.events' "frozen 1" / "frozen 0" (v2).
fn frozen(pid: i32) -> bool {
    if pure_v2() {
        let e = read_trim(&cgroup_dir(pid, "").join("cgroup.events"));
        e.lines().any(|l| l == "frozen 1")
    } else {
        read_trim(&cgroup_dir(pid, "freezer").join("freezer.state")) == "FROZEN"
    }
}

/// `pause` freezes the container's cgroup (the kernel's freezer says
/// FROZEN, `state` says paused, a counter the container runs stops, exec
/// is refused) and `resume` thaws it (the counter goes on); a paused
/// container is removed by `delete --force`, its cgroup with it. Under
/// runc first, the control.
fn pause_freezes_and_resume_thaws() {
    if !root("pause_freezes_and_resume_thaws") {
        return;
    }
    let counter = "i=0; while :; do i=$((i+1)); echo $i > /tmp/n.tmp; mv /tmp/n.tmp /tmp/n; done";
    for rt in runtimes("pause") {
        let mut c = config(&["/bin/sh", "-c", counter]);
        c["linux"]["cgroupsPath"] = json!(cgroups_path("pause", &rt));
        let b = write_bundle(&format!("pause-{}", rt.name), &c);
        let (pid, _) = rt.create_start(&b, "frz");
        let n = || fs::read_to_string(format!("/proc/{pid}/root/tmp/n")).unwrap_or_default();
        // Control: the counter moves while running.
        eventually("the counter", || !n().is_empty());
        let first = n();
        eventually("the counter to move", || n() != first);
        assert!(!frozen(pid), "{}: frozen before pause", rt.name);
        rt.ok(&["pause", "frz"]);
        assert_eq!(rt.status("frz"), "paused", "{}", rt.name);
        assert!(frozen(pid), "{}: the freezer does not say frozen", rt.name);
        let held = n();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(n(), held, "{}: the counter moved while paused", rt.name);
        let o = rt.out(&["exec", "frz", "/bin/true"]);
        assert!(
            !o.status.success(),
            "{}: exec into a paused container",
            rt.name
        );
        // Resuming a running container, or pausing twice, is refused by
        // neither runtime in the same words; not compared.
        rt.ok(&["resume", "frz"]);
        assert_eq!(rt.status("frz"), "running", "{}", rt.name);
        assert!(!frozen(pid), "{}: still frozen", rt.name);
        eventually("the counter to move again", || n() != held);
        rt.ok(&["pause", "frz"]);
        rt.ok(&["delete", "--force", "frz"]);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists() || !procfs_alive(pid),
            "{}: the paused container's process outlived delete --force",
            rt.name
        );
    }
    remove_cgroups("pause");
}

/// Whether `pid` is alive and not a zombie.
fn procfs_alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        })
        .unwrap_or(false)
}

/// A hostPath with Bidirectional propagation, as the CRI plugin writes it
/// (an `rbind,rshared` bind of a shared host mount, rootfsPropagation
/// rshared): a mount the container makes in it appears on the host, and
/// one the host makes appears in the container. Control: the same with
/// HostToContainer (`rslave`, the default root propagation) lets the
/// host's mount in and keeps the container's out.
fn rshared_bind_propagates_both_ways() {
    if !root("rshared_bind_propagates_both_ways") {
        return;
    }
    let script = "mount -t tmpfs fromc /mnt/fromc && echo mounted; \
                  i=0; while [ $i -lt 200 ] && ! grep -q ' /mnt/fromh ' /proc/self/mountinfo; do sleep 0.05; i=$((i+1)); done; \
                  grep -q ' /mnt/fromh ' /proc/self/mountinfo && echo host-mount-seen";
    for rt in runtimes("rshared") {
        for (mode, both) in [("rshared", true), ("rslave", false)] {
            let host = test_dir(&format!("cri-rshared-host-{}-{mode}", rt.name));
            must(
                Command::new("mount")
                    .args(["-t", "tmpfs", "hostpath"])
                    .arg(&host),
            );
            must(Command::new("mount").arg("--make-shared").arg(&host));
            fs::create_dir(host.join("fromc")).unwrap();
            fs::create_dir(host.join("fromh")).unwrap();
            let mut c = config(&["/bin/sh", "-c", script]);
            let caps = json!(["CAP_SYS_ADMIN"]);
            c["process"]["capabilities"] =
                json!({"bounding": caps, "effective": caps, "permitted": caps});
            c["mounts"].as_array_mut().unwrap().push(
                json!({"destination": "/mnt", "type": "bind", "source": host, "options": ["rbind", mode]}),
            );
            if both {
                c["linux"]["rootfsPropagation"] = json!("rshared");
            }
            let b = write_bundle(&format!("rshared-{}-{mode}", rt.name), &c);
            let (_pid, out) = rt.create_start(&b, "prop");
            eventually("the container's mount", || {
                read_out(&out).contains("mounted")
            });
            let on_host = |p: &Path| {
                fs::read_to_string("/proc/self/mountinfo")
                    .unwrap()
                    .contains(&format!(" {} ", p.display()))
            };
            if both {
                eventually("the container's mount on the host", || {
                    on_host(&host.join("fromc"))
                });
            } else {
                assert!(
                    !on_host(&host.join("fromc")),
                    "control {}: rslave let the container's mount out",
                    rt.name
                );
            }
            must(
                Command::new("mount")
                    .args(["-t", "tmpfs", "fromh"])
                    .arg(host.join("fromh")),
            );
            eventually("the container's end", || rt.status("prop") == "stopped");
            assert!(
                read_out(&out).contains("host-mount-seen"),
                "{} {mode}: the host's mount did not reach the container: {}",
                rt.name,
                read_out(&out)
            );
            rt.ok(&["delete", "prop"]);
            let _ = Command::new("umount").arg("-R").arg(&host).status();
        }
    }
}

/// exec with a terminal as containerd's shim calls it: `exec --process
/// FILE --detach --pid-file F --console-socket S`, with `terminal: true`
/// in the process file and no --tty: the pty's master reaches the socket
/// and carries the program's input and output, at the consoleSize asked.
/// Under runc first, the control.
fn exec_with_a_tty_as_the_shim_calls_it() {
    if !root("exec_with_a_tty_as_the_shim_calls_it") {
        return;
    }
    for rt in runtimes("tty") {
        let c = config(&["/bin/sleep", "60"]);
        let b = write_bundle(&format!("tty-{}", rt.name), &c);
        rt.create_start(&b, "tty");
        let mut p = c["process"].clone();
        p["terminal"] = json!(true);
        p["consoleSize"] = json!({"height": 30, "width": 100});
        p["args"] = json!(["/bin/sh", "-c", "tty; stty size; read x; echo got:$x"]);
        let pf = b.join("process.json");
        fs::write(&pf, p.to_string()).unwrap();
        let sock = b.join("console.sock");
        let mut cmd = Command::new(&stage().probe);
        cmd.arg("console")
            .arg(&sock)
            .arg("hello")
            .arg(&rt.bin)
            .arg("--root")
            .arg(&rt.root)
            .args(["exec", "--process"])
            .arg(&pf)
            .arg("--detach")
            .arg("--pid-file")
            .arg(b.join("exec.pid"))
            .arg("--console-socket")
            .arg(&sock)
            .arg("tty");
        let o = wait_output(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
            Duration::from_secs(30),
        );
        let out = text(&o.stdout).replace('\r', "");
        assert!(o.status.success(), "{}: {out} {}", rt.name, text(&o.stderr));
        assert!(out.starts_with("cmd=0\n"), "{}: {out}", rt.name);
        assert!(out.contains("/dev/pts/"), "{}: {out}", rt.name);
        assert!(out.contains("30 100\n"), "{}: {out}", rt.name);
        assert!(out.contains("got:hello"), "{}: {out}", rt.name);
        rt.ok(&["delete", "--force", "tty"]);
    }
}

/// When the process of a container in a PID namespace it does not own
/// ends, what it left running is not killed by the kernel: containerd's
/// shim sends `kill --all` then, to the stopped container, and that
/// reaches the leftovers through the cgroup. Control: the leftover is
/// alive, in the cgroup, before it.
fn kill_all_reaches_what_a_stopped_container_left() {
    if !root("kill_all_reaches_what_a_stopped_container_left") {
        return;
    }
    for rt in runtimes("killall") {
        let pause = write_bundle(
            &format!("killall-pause-{}", rt.name),
            &config(&["/bin/sleep", "60"]),
        );
        let (ppid, _) = rt.create_start(&pause, "pause");
        let mut app = config(&["/bin/sh", "-c", "sleep 60 & echo $! > /tmp/left"]);
        app.as_object_mut().unwrap().remove("hostname");
        app["linux"]["cgroupsPath"] = json!(cgroups_path("killall", &rt));
        app["linux"]["namespaces"] = json!([
            {"type": "pid", "path": format!("/proc/{ppid}/ns/pid")},
            {"type": "mount"},
            {"type": "network", "path": format!("/proc/{ppid}/ns/net")}
        ]);
        let b = write_bundle(&format!("killall-app-{}", rt.name), &app);
        rt.create_start(&b, "app");
        eventually("the app's end", || rt.status("app") == "stopped");
        let procs = |d: PathBuf| read_trim(&d.join("cgroup.procs"));
        let dir = if pure_v2() {
            Path::new("/sys/fs/cgroup").join(cgroups_path("killall", &rt).trim_start_matches('/'))
        } else {
            Path::new("/sys/fs/cgroup/pids")
                .join(cgroups_path("killall", &rt).trim_start_matches('/'))
        };
        assert!(
            !procs(dir.clone()).is_empty(),
            "control {}: nothing left in the cgroup",
            rt.name
        );
        rt.ok(&["kill", "--all", "app", "KILL"]);
        eventually("the leftover killed", || procs(dir.clone()).is_empty());
        rt.ok(&["delete", "app"]);
        rt.ok(&["delete", "--force", "pause"]);
    }
    remove_cgroups("killall");
}

/// A container over its memory limit is OOM-killed, and the kill is
/// counted in the container's own memory cgroup, the cgroupsPath (v1
/// memory.oom_control's "oom_kill", v2 memory.events'), which is where
/// containerd's shim watches to report the container OOMKilled. Under
/// runc first, the control; and before the hog runs the count is 0.
fn an_oom_kill_is_counted_in_the_containers_cgroup() {
    if !root("an_oom_kill_is_counted_in_the_containers_cgroup") {
        return;
    }
    for rt in runtimes("oom") {
        let path = cgroups_path("oom", &rt);
        // tail keeps the last line of /dev/zero, which has no end.
        let mut c = config(&["/usr/bin/tail", "/dev/zero"]);
        c["linux"]["cgroupsPath"] = json!(path);
        c["linux"]["resources"] = json!({"memory": {"limit": 33554432, "swap": 33554432}});
        let b = write_bundle(&format!("oom-{}", rt.name), &c);
        let dir = if pure_v2() {
            Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'))
        } else {
            Path::new("/sys/fs/cgroup/memory").join(path.trim_start_matches('/'))
        };
        let file = if pure_v2() {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        let kills = || {
            read_trim(&dir.join(file))
                .lines()
                .find_map(|l| l.strip_prefix("oom_kill "))
                .map(|n| n.parse::<u64>().unwrap())
                .unwrap_or_else(|| panic!("{}: no oom_kill line", dir.join(file).display()))
        };
        // Created, not started: the hog has not run.
        // (The container keeps create's stdio: files, not pipes.)
        let err = b.join("oom.err");
        let st = rt
            .cmd(&["create", "--bundle", &b.display().to_string(), "oom"])
            .stdout(fs::File::create(b.join("oom.out")).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .status()
            .unwrap();
        assert!(st.success(), "{}: {}", rt.name, read_out(&err));
        assert_eq!(kills(), 0, "control {}", rt.name);
        rt.ok(&["start", "oom"]);
        eventually("the OOM kill", || rt.status("oom") == "stopped");
        assert!(
            kills() >= 1,
            "{}: no OOM kill counted in {}",
            rt.name,
            dir.display()
        );
        rt.ok(&["delete", "oom"]);
    }
    remove_cgroups("oom");
}

/// containerd's CRI plugin writes the device rules as "deny all" and
/// nothing else, relying on runc's default list appended after them: in
/// such a container /dev/null, /dev/zero and a pty still work, and /dev's
/// nodes are made with mknod (not bound from the host). Control: runc
/// first; and the rule does deny (a node outside the list, /dev/kmsg's
/// 1:11, made in the container, cannot be opened).
fn deny_all_device_rules_leave_the_default_devices() {
    if !root("deny_all_device_rules_leave_the_default_devices") {
        return;
    }
    let probe = "echo x > /dev/null && echo null-ok; head -c 3 /dev/zero | wc -c; \
                 grep -c ' /dev/null ' /proc/self/mountinfo; \
                 mknod /tmp/kmsg c 1 11 && echo mknod-ok; \
                 (exec 3</tmp/kmsg) 2>/dev/null && echo kmsg-opened || echo kmsg-denied";
    for rt in runtimes("devices") {
        let mut c = config(&["/bin/sh", "-c", probe]);
        c["linux"]["cgroupsPath"] = json!(cgroups_path("devices", &rt));
        c["linux"]["resources"] = json!({"devices": [{"allow": false, "access": "rwm"}]});
        let caps = json!(["CAP_MKNOD"]);
        c["process"]["capabilities"] =
            json!({"bounding": caps, "effective": caps, "permitted": caps});
        let b = write_bundle(&format!("devices-{}", rt.name), &c);
        let o = rt.out(&["run", "--bundle", &b.display().to_string(), "dev"]);
        assert!(o.status.success(), "{}: {}", rt.name, text(&o.stderr));
        assert_eq!(
            text(&o.stdout).split_whitespace().collect::<Vec<_>>(),
            ["null-ok", "3", "0", "mknod-ok", "kmsg-denied"],
            "{}",
            rt.name
        );
    }
    remove_cgroups("devices");
}

tests![
    pod_containers_join_the_pause_containers_namespaces,
    the_cgroup_is_cgroups_path_in_every_hierarchy,
    update_reaches_the_cgroup,
    pause_freezes_and_resume_thaws,
    rshared_bind_propagates_both_ways,
    exec_with_a_tty_as_the_shim_calls_it,
    kill_all_reaches_what_a_stopped_container_left,
    an_oom_kill_is_counted_in_the_containers_cgroup,
    deny_all_device_rules_leave_the_default_devices,
];
