//! `sandbox-oci`, driven the way an engine drives it (create, start,
//! state, exec, kill, delete), rootless: the bundle's config has a user
//! namespace mapping the test uid to root, as `runc spec --rootless` makes.
//! podman and containerd themselves are tests/oci/run (`make test-oci`).

mod common;

use std::fs;
use std::process::Stdio;
use std::time::Duration;

use common::oci::*;
use common::*;
use serde_json::{json, Value};

/// `run` in the foreground: the container's stdout is ours and its exit
/// status is the runtime's; the state is gone afterwards.
fn run_passes_output_and_exit_status() {
    let b = bundle(
        "run",
        &["/bin/sh", "-c", "echo hi from $(hostname); exit 3"],
    );
    b.write();
    let o = b.out(&["run", "--bundle", &b.bundle_arg(), "r1"]);
    assert_eq!(o.status.code(), Some(3), "stderr: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "hi from oci-test\n");
    let o = b.out(&["state", "r1"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("container r1 does not exist"),
        "{}",
        text(&o.stderr)
    );
}

/// The lifecycle of runtime.md: create leaves the process parked (the
/// program has not run: its output is empty and the status is created),
/// start lets it run, kill stops it, delete removes it.
fn create_parks_until_start_then_kill_and_delete() {
    let b = bundle("life", &["/bin/sh", "-c", "echo started; exec sleep 60"]);
    let (pid, out) = b.create("c1");
    let s = b.state("c1");
    assert_eq!(s["status"], "created");
    assert_eq!(s["pid"], pid);
    assert_eq!(s["id"], "c1");
    assert_eq!(s["bundle"], b.bundle_arg());
    // Parked: the process is our init, not yet the program.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(read_out(&out), "", "the program ran before start");
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert_eq!(text(&cmdline).split('\0').next(), Some("sandbox-oci"));

    let o = b.out(&["start", "c1"]);
    assert!(o.status.success(), "start: {}", text(&o.stderr));
    eventually("the program's output", || read_out(&out) == "started\n");
    assert_eq!(b.state("c1")["status"], "running");
    // A second start is refused.
    assert!(!b.out(&["start", "c1"]).status.success());
    // ps lists the container's processes by host pid.
    let o = b.out(&["ps", "--format", "json", "c1"]);
    let pids: Vec<i32> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(pids, vec![pid]);
    // delete refuses a running container without --force.
    let o = b.out(&["delete", "c1"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("not stopped"),
        "{}",
        text(&o.stderr)
    );
    let o = b.out(&["kill", "c1", "KILL"]);
    assert!(o.status.success(), "kill: {}", text(&o.stderr));
    eventually("stopped", || b.state("c1")["status"] == "stopped");
    let o = b.out(&["delete", "c1"]);
    assert!(o.status.success(), "delete: {}", text(&o.stderr));
    assert!(!b.root.join("c1").exists());
}

/// exec joins the container: it sees the container's PID 1, hostname and
/// root; -u, --cwd and -e apply; a missing program fails with the words
/// engines map to 127.
fn exec_joins_the_running_container() {
    // sleep itself, not a shell that execs it: `start` returns at the
    // program's exec, and a shell's own exec of sleep could come after
    // the check of /proc/1/comm.
    let b = bundle("exec", &["/bin/sleep", "60"]);
    let (_pid, _) = b.create("e1");
    assert!(b.out(&["start", "e1"]).status.success());
    let o = b.out(&[
        "exec",
        "-u",
        "0:0",
        "--cwd",
        "/tmp",
        "-e",
        "FOO=bar",
        "e1",
        "/bin/sh",
        "-c",
        "cat /proc/1/comm; hostname; pwd; echo $FOO; ls /proc/self/ns/ >/dev/null && echo ok",
    ]);
    assert!(o.status.success(), "exec: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "sleep\noci-test\n/tmp\nbar\nok\n");
    let o = b.out(&["exec", "e1", "/bin/sh", "-c", "exit 7"]);
    assert_eq!(o.status.code(), Some(7));
    let o = b.out(&["exec", "e1", "/nonexistent"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("no such file or directory"),
        "{}",
        text(&o.stderr)
    );
    // --process, as conmon passes it, and --detach with a pid file.
    let process = b.dir.join("process.json");
    let mut p = b.config["process"].clone();
    p["args"] = json!(["/bin/sh", "-c", "echo detached > /tmp/d; sleep 60"]);
    fs::write(&process, p.to_string()).unwrap();
    let pidfile = b.dir.join("exec.pid");
    // The detached process keeps our stdio: a file, not a pipe we would
    // wait on for EOF.
    let err = b.dir.join("exec.err");
    let st = b
        .oci(&[
            "exec",
            "--process",
            &process.display().to_string(),
            "--detach",
            "--pid-file",
            &pidfile.display().to_string(),
            "e1",
        ])
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err).unwrap())
        .status()
        .unwrap();
    assert!(st.success(), "exec --detach: {}", read_out(&err));
    let epid: i32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    eventually("the detached process's file", || {
        text(&b.out(&["exec", "e1", "cat", "/tmp/d"]).stdout) == "detached\n"
    });
    let o = b.out(&["ps", "--format", "json", "e1"]);
    let pids: Vec<i32> = serde_json::from_slice(&o.stdout).unwrap();
    assert!(pids.contains(&epid), "{pids:?} lacks {epid}");
    assert!(b.out(&["delete", "--force", "e1"]).status.success());
}

/// A program that does not exist fails `create` with runc's words (podman
/// maps "no such file or directory" to 127), in the json log too, and
/// leaves nothing behind.
fn a_missing_program_fails_create_with_a_clear_error() {
    let b = bundle("missing", &["/nonexistent"]);
    b.write();
    let log = b.dir.join("log.json");
    let o = b.out(&[
        "--log",
        &log.display().to_string(),
        "--log-format",
        "json",
        "create",
        "--bundle",
        &b.bundle_arg(),
        "m1",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(
            "sandbox: exec: \"/nonexistent\": stat /nonexistent: no such file or directory"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let rec: Value = serde_json::from_str(read_out(&log).lines().last().unwrap()).unwrap();
    assert_eq!(rec["level"], "error");
    assert!(rec["msg"]
        .as_str()
        .unwrap()
        .contains("no such file or directory"));
    assert!(rec["time"].as_str().unwrap().ends_with('Z'));
    assert!(!b.root.join("m1").exists(), "state left behind");
}

/// Inside: the namespaces asked for are new, the capability sets are the
/// config's, NoNewPrivs is set, masked paths read empty, read-only paths
/// refuse writes, the rlimit is the config's. Controls: the host's values
/// differ, and without the masks/read-only list the same probes differ.
fn the_config_shapes_the_process() {
    let probe = "for n in pid net ipc uts mnt user cgroup; do readlink /proc/self/ns/$n; done; \
                 grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status; \
                 grep -q ' /proc/timer_list ' /proc/self/mountinfo && echo timer_list=masked; \
                 echo passwd=$(wc -c < /etc/passwd) sbin=$(ls /usr/sbin | wc -l); \
                 (touch /tmp/x) 2>/dev/null && echo tmp=rw || echo tmp=ro; \
                 ulimit -n";
    let mut b = bundle("shape", &["/bin/sh", "-c", probe]);
    b.config["linux"]["readonlyPaths"] = json!(["/proc/sys", "/tmp"]);
    b.write();
    let o = b.out(&["run", "--bundle", &b.bundle_arg(), "s1"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    for (i, n) in ["pid", "net", "ipc", "uts", "mnt", "user", "cgroup"]
        .iter()
        .enumerate()
    {
        let host = fs::read_link(format!("/proc/self/ns/{n}")).unwrap();
        assert_ne!(
            lines[i],
            host.display().to_string(),
            "{n} namespace is the host's"
        );
    }
    assert!(out.contains("CapEff:\t0000000020000420"), "{out}");
    assert!(out.contains("CapBnd:\t0000000020000420"), "{out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(out.contains("timer_list=masked"), "{out}");
    assert!(out.contains("passwd=0 sbin=0"), "{out}");
    assert!(out.contains("tmp=ro"), "{out}");
    assert!(out.ends_with("512\n"), "{out}");
    // Control: without the lists, the same probes see the real files.
    let mut c = bundle("shape-control", &["/bin/sh", "-c", probe]);
    c.config["linux"]["maskedPaths"] = json!([]);
    c.config["linux"]["readonlyPaths"] = json!([]);
    c.write();
    let o = c.out(&["run", "--bundle", &c.bundle_arg(), "s2"]);
    let out = text(&o.stdout);
    assert!(!out.contains("timer_list=masked"), "control: {out}");
    assert!(!out.contains("passwd=0"), "control: {out}");
    assert!(!out.contains("sbin=0"), "control: {out}");
    assert!(out.contains("tmp=rw"), "control: {out}");
}

/// Hooks run in the spec's order with the state on stdin: createRuntime
/// and createContainer at create, startContainer and poststart at start,
/// poststop at delete.
fn hooks_run_in_order_with_the_state() {
    let mut b = bundle("hooks", &["/bin/sh", "-c", "echo program >> /hooklog/log"]);
    let logdir = test_dir("oci-hooklog");
    let log = logdir.join("log");
    let hook = |name: &str, file: &str| json!({"path": "/bin/sh", "args": ["sh", "-c", format!("read -r s; echo {name} \"$s\" >> {file}")]});
    let host = log.display().to_string();
    b.config["hooks"] = json!({
        "createRuntime": [hook("createRuntime", &host)],
        "createContainer": [hook("createContainer", &host)],
        "startContainer": [hook("startContainer", "/hooklog/log")],
        "poststart": [hook("poststart", &host)],
        "poststop": [hook("poststop", &host)],
    });
    b.config["mounts"].as_array_mut().unwrap().push(json!(
        {"destination": "/hooklog", "type": "bind", "source": logdir, "options": ["rbind", "rw"]}
    ));
    let (_pid, _) = b.create("h1");
    assert!(b.out(&["start", "h1"]).status.success());
    eventually("the program", || read_out(&log).contains("program"));
    eventually("stopped", || b.state("h1")["status"] == "stopped");
    assert!(b.out(&["delete", "h1"]).status.success());
    let text = read_out(&log);
    let names: Vec<&str> = text.lines().map(|l| l.split(' ').next().unwrap()).collect();
    // poststart runs once the program is exec'd, so it and the program's
    // own line race; everything else is ordered.
    let order: Vec<&str> = names
        .iter()
        .filter(|n| **n != "poststart")
        .copied()
        .collect();
    assert_eq!(
        order,
        [
            "createRuntime",
            "createContainer",
            "startContainer",
            "program",
            "poststop"
        ],
        "{text}"
    );
    let at = |n: &str| {
        names
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("no {n}: {text}"))
    };
    assert!(
        at("startContainer") < at("poststart") && at("poststart") < at("poststop"),
        "{text}"
    );
    for l in text.lines().filter(|l| !l.starts_with("program")) {
        let state: Value = serde_json::from_str(l.split_once(' ').unwrap().1).unwrap();
        assert_eq!(state["id"], "h1", "{l}");
    }
}

/// Attack: a symlink in the image pointing at an absolute host path must
/// not carry a mount out of the rootfs. Control: the mount lands where the
/// link resolves inside the rootfs.
fn a_symlinked_mount_destination_stays_in_the_rootfs() {
    let rootfs = private_rootfs("oci-symlink");
    let outside = test_dir("oci-outside");
    let target = outside.display().to_string();
    // /escape -> /…/oci-outside: on the host that is the test's directory.
    let s = as_test_user("ln")
        .arg("-s")
        .arg(&target)
        .arg(rootfs.join("escape"))
        .status()
        .unwrap();
    assert!(s.success());
    let mut b = bundle("symlink", &["/bin/true"]);
    b.config["root"]["path"] = json!(rootfs);
    // No tmpfs on /tmp: the control looks for the mount point in the
    // rootfs copy, under its /tmp.
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/tmp");
    b.config["mounts"].as_array_mut().unwrap().push(json!(
        {"destination": "/escape/planted", "type": "tmpfs", "source": "tmpfs"}
    ));
    b.write();
    let o = b.out(&["run", "--bundle", &b.bundle_arg(), "y1"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        !outside.join("planted").exists(),
        "a mount point was made outside the rootfs"
    );
    let inside = rootfs.join(target.trim_start_matches('/')).join("planted");
    assert!(
        inside.is_dir(),
        "control: {} was not made",
        inside.display()
    );
}

/// The Landlock annotation's signal scope: a container that shares the
/// host's PID namespace cannot signal a process outside its domain.
/// Control: the same probe without the annotation reaches it.
fn landlock_annotation_scopes_signals() {
    if landlock_abi().unwrap_or(0) < 6 {
        skip(
            "landlock_annotation_scopes_signals",
            "landlock-abi6",
            "this kernel's Landlock is older than ABI 6 (signal scope)",
        );
        return;
    }
    let mut target = as_test_user("sleep").arg("30").spawn().unwrap();
    let pid = target.id();
    let probe = format!("kill -0 {pid} && echo reached || echo blocked");
    let run = |name: &str, annotate: bool| {
        let mut b = bundle(name, &["/bin/sh", "-c", &probe]);
        let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "pid");
        // The host's PID namespace: its /proc, bound (a new proc needs a
        // PID namespace of the user namespace's own).
        for m in b.config["mounts"].as_array_mut().unwrap() {
            if m["destination"] == "/proc" {
                *m = json!({"destination": "/proc", "type": "bind", "source": "/proc", "options": ["rbind"]});
            }
        }
        if annotate {
            b.config["annotations"] = json!({"org.sandbox.landlock": "require"});
        }
        b.write();
        let o = b.out(&["run", "--bundle", &b.bundle_arg(), name]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    let control = run("ll-control", false);
    let scoped = run("ll-scoped", true);
    let _ = target.kill();
    let _ = target.wait();
    assert_eq!(control, "reached\n", "control");
    assert_eq!(scoped, "blocked\n");
}

/// The die-with-caller annotation needs the caller to stay the
/// container's parent (a subreaper, as conmon is; make test-oci checks
/// that case with podman): created from a plain process, whose child is
/// re-parented elsewhere, `start` fails with the reason and the program
/// never runs. Control: without the annotation the same start works.
fn die_with_caller_refuses_a_caller_that_is_not_the_parent() {
    let mut b = bundle("dwc", &["/bin/sh", "-c", "echo ran"]);
    b.config["annotations"] = json!({"org.sandbox.die-with-caller": "true"});
    let (_pid, out) = b.create("w1");
    let o = b.out(&["start", "w1"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("is gone or is not this container's parent"),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(read_out(&out), "", "the program ran");
    assert!(b.out(&["delete", "--force", "w1"]).status.success());
    let c = bundle("dwc-control", &["/bin/sh", "-c", "echo ran"]);
    let (_pid, out) = c.create("w2");
    assert!(c.out(&["start", "w2"]).status.success());
    eventually("the program", || read_out(&out) == "ran\n");
    eventually("stopped", || c.state("w2")["status"] == "stopped");
    assert!(c.out(&["delete", "w2"]).status.success());
}

/// A user namespace of several ranges, as `--userns=auto` or a Kubernetes
/// pod asks: the test uid is root inside, its subordinate range is 1 and up,
/// written through newuidmap/newgidmap. The program runs as uid 1000 and
/// sees both lines of the map.
fn several_id_ranges_map_through_newuidmap() {
    let (start, count) = match common::subids::range() {
        Ok(r) => r,
        Err(why) => {
            skip("several_id_ranges_map_through_newuidmap", "subuid", &why);
            return;
        }
    };
    let mut b = bundle(
        "ranges",
        &[
            "/bin/sh",
            "-c",
            "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map",
        ],
    );
    let uid = stage().host_uid;
    let gid = stage().drop_to.map(|d| d.1).unwrap_or(uid);
    let n = count.min(65536);
    b.config["linux"]["uidMappings"] = json!([
        {"containerID": 0, "hostID": uid, "size": 1},
        {"containerID": 1, "hostID": start, "size": n}
    ]);
    b.config["linux"]["gidMappings"] = json!([
        {"containerID": 0, "hostID": gid, "size": 1},
        {"containerID": 1, "hostID": start, "size": n}
    ]);
    b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
    b.write();
    let o = b.out(&["run", "--bundle", &b.bundle_arg(), "g1"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["1000"], "{out}");
    assert_eq!(lines[1], ["1000"], "{out}");
    let maps: Vec<Vec<String>> = lines[2..]
        .iter()
        .map(|l| l.iter().map(|s| s.to_string()).collect())
        .collect();
    let want = |id: u32| {
        vec![
            vec!["0".to_string(), id.to_string(), "1".to_string()],
            vec!["1".to_string(), start.to_string(), n.to_string()],
        ]
    };
    assert_eq!(maps[..2], want(uid)[..], "{out}");
    assert_eq!(maps[2..], want(gid)[..], "{out}");
}

/// Usage errors name what is wrong; `sandbox-oci init` by hand refuses;
/// an unknown container is "does not exist", as engines expect.
fn usage_errors_are_clear() {
    let b = bundle("usage", &["/bin/true"]);
    let o = b.out(&["state", "../x"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("not a valid container id"),
        "{}",
        text(&o.stderr)
    );
    let o = b.out(&["kill", "nosuch", "TERM"]);
    assert!(
        text(&o.stderr).contains("container nosuch does not exist"),
        "{}",
        text(&o.stderr)
    );
    let o = b.out(&["kill", "nosuch", "NOTASIGNAL"]);
    assert!(
        text(&o.stderr).contains("'NOTASIGNAL' is not a signal"),
        "{}",
        text(&o.stderr)
    );
    let o = b.out(&["init", "3"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("not by hand"),
        "{}",
        text(&o.stderr)
    );
    let o = b.out(&["features"]);
    let f: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(f["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .contains(&json!("user")));
    let o = b.out(&["--version"]);
    assert!(text(&o.stdout).starts_with("sandbox-oci version"));
}

/// `pause`, `resume` and `update` act on the container's cgroup. Where
/// the runtime's user has one delegated (cgroup v2, make test-vm) a
/// container with a cgroupsPath is frozen through cgroup.freeze (the
/// kernel's cgroup.events says "frozen 1", `state` says paused) and
/// thawed, and `update` reaches memory.max. Where it has none (this
/// rootless run on a cgroup v1 or hybrid host), both fail naming the
/// reason. Control: the container is running all along, so the failure
/// is the cgroup's, not the container's.
fn pause_and_update_act_on_the_cgroup_or_fail_clearly() {
    let delegated = std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
        && std::env::var_os("SANDBOX_TEST_CGROUP").is_some();
    let mut b = bundle("pause", &["/bin/sleep", "60"]);
    let name = format!("sandbox-oci-pause-{}", std::process::id());
    if delegated {
        // Beside the suite's own cgroup, in the delegated subtree.
        b.config["linux"]["cgroupsPath"] = json!(name);
    }
    let (pid, _) = b.create("p1");
    assert!(b.out(&["start", "p1"]).status.success());
    assert_eq!(b.state("p1")["status"], "running");
    if !delegated {
        for args in [vec!["pause", "p1"], vec!["update", "--memory", "64m", "p1"]] {
            let o = b.out(&args);
            assert!(!o.status.success(), "{args:?}");
            assert!(
                text(&o.stderr).contains("container p1 has no cgroup"),
                "{args:?}: {}",
                text(&o.stderr)
            );
        }
        assert_eq!(b.state("p1")["status"], "running", "control");
        assert!(b.out(&["delete", "--force", "p1"]).status.success());
        return;
    }
    let own = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let dir = std::path::Path::new("/sys/fs/cgroup")
        .join(own.lines().find_map(|l| l.strip_prefix("0::/")).unwrap());
    assert!(dir.ends_with(&name), "{own}");
    let events = || fs::read_to_string(dir.join("cgroup.events")).unwrap();
    assert!(events().contains("frozen 0"), "control: {}", events());
    let o = b.out(&["pause", "p1"]);
    assert!(o.status.success(), "pause: {}", text(&o.stderr));
    assert!(events().contains("frozen 1"), "{}", events());
    assert_eq!(b.state("p1")["status"], "paused");
    assert!(!b.out(&["exec", "p1", "/bin/true"]).status.success());
    let o = b.out(&["resume", "p1"]);
    assert!(o.status.success(), "resume: {}", text(&o.stderr));
    assert!(events().contains("frozen 0"), "{}", events());
    assert_eq!(b.state("p1")["status"], "running");
    let o = b.out(&["update", "--memory", "64m", "--pids-limit", "30", "p1"]);
    assert!(o.status.success(), "update: {}", text(&o.stderr));
    let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap().trim().to_string();
    assert_eq!(read("memory.max"), "67108864");
    assert_eq!(read("pids.max"), "30");
    assert!(b.out(&["pause", "p1"]).status.success());
    assert!(b.out(&["delete", "--force", "p1"]).status.success());
    assert!(!dir.exists(), "the cgroup outlived delete");
}

tests![
    run_passes_output_and_exit_status,
    create_parks_until_start_then_kill_and_delete,
    exec_joins_the_running_container,
    a_missing_program_fails_create_with_a_clear_error,
    the_config_shapes_the_process,
    hooks_run_in_order_with_the_state,
    a_symlinked_mount_destination_stays_in_the_rootfs,
    landlock_annotation_scopes_signals,
    die_with_caller_refuses_a_caller_that_is_not_the_parent,
    several_id_ranges_map_through_newuidmap,
    usage_errors_are_clear,
    pause_and_update_act_on_the_cgroup_or_fail_clearly,
];
