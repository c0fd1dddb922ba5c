//! What the command sees: its own identity, processes, network, root and
//! namespaces, and nothing of the host. Each check runs rootless (see
//! common/mod.rs) and, where a probe could pass by failing, has a control.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::*;

fn command_is_root_pid_1_with_hostname_sandbox() {
    let out = run_ok(&["/bin/sh", "-c", "id -u; id -g; echo $$; hostname"]);
    assert_eq!(out, "0\n0\n1\nsandbox\n");
}

fn root_inside_is_the_unprivileged_caller_outside() {
    let out = run_ok(&["cat", "/proc/self/uid_map", "/proc/self/gid_map"]);
    let fields: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let uid = stage().host_uid.to_string();
    assert_eq!(fields[0], ["0", uid.as_str(), "1"], "{out}");
    assert_eq!(fields[1][0..1], ["0"], "{out}");
    assert_eq!(fields.len(), 2, "a single mapping each: {out}");
    if stage().drop_to.is_some() {
        assert_ne!(uid, "0", "the suite must launch as an unprivileged uid");
    }
}

fn ps_shows_only_the_sandbox() {
    let out = run_ok(&["/bin/sh", "-c", "sleep 5 & ps -o pid,comm; kill %1"]);
    let pids: Vec<u32> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect();
    // sh (1), sleep, ps: nothing else, and small numbers from a fresh PID
    // namespace. Control: the host has more processes than that.
    assert!(pids.contains(&1), "{out}");
    assert!(pids.len() <= 3 && pids.iter().all(|&p| p < 10), "{out}");
    let host = fs::read_dir("/proc")
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .parse::<u32>()
                .is_ok()
        })
        .count();
    assert!(host > 3, "control: the host has {host} processes");
}

fn interfaces(proc_net_dev: &str) -> BTreeSet<String> {
    proc_net_dev
        .lines()
        .skip(2)
        .filter_map(|l| Some(l.split(':').next()?.trim().to_string()))
        .collect()
}

fn network_has_only_loopback_and_it_is_up() {
    let out = run_ok(&["cat", "/proc/net/dev"]);
    assert_eq!(interfaces(&out), BTreeSet::from(["lo".to_string()]));
    let link = run_ok(&["ip", "link"]);
    assert_eq!(
        link.lines().filter(|l| l.contains(": <")).count(),
        1,
        "{link}"
    );
    assert!(link.contains("1: lo: <LOOPBACK,UP,LOWER_UP>"), "{link}");
    // lo really carries traffic (TCP: ping needs a raw socket, and so a
    // capability the command no longer has). The client tries until the
    // listener, started in the background, is up: at most 200 times (10
    // tries were not enough on a loaded machine). The listener sends a
    // file, not a pipe from `echo`: BusyBox's nc exits at the client's
    // EOF, which could come before a slow `echo` had written anything.
    let pong = run_ok(&[
        "/bin/sh",
        "-c",
        "echo pong > /tmp/pong; nc -l -p 7777 < /tmp/pong & i=0; until nc -w 2 127.0.0.1 7777 </dev/null; do i=$((i+1)); [ $i -ge 200 ] && break; sleep 0.05; done",
    ]);
    assert_eq!(pong.trim(), "pong");
}

fn share_net_keeps_the_host_network() {
    let host = interfaces(&fs::read_to_string("/proc/net/dev").unwrap());
    let out = run_ok(&["--share-net", "cat", "/proc/net/dev"]);
    assert_eq!(interfaces(&out), host);
    let ns_in = run_ok(&["--share-net", "readlink", "/proc/self/ns/net"]);
    assert_eq!(
        ns_in.trim(),
        fs::read_link("/proc/self/ns/net")
            .unwrap()
            .to_str()
            .unwrap()
    );
}

fn namespaces_differ_from_the_host() {
    let kinds = ["user", "pid", "mnt", "uts", "ipc", "net", "cgroup"];
    let script: String = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k};"))
        .collect();
    let out = run_ok(&["/bin/sh", "-c", &script]);
    let inside: Vec<&str> = out.lines().collect();
    assert_eq!(inside.len(), kinds.len(), "{out}");
    for (k, got) in kinds.iter().zip(inside) {
        let host = fs::read_link(format!("/proc/self/ns/{k}")).unwrap();
        let host = host.to_str().unwrap();
        assert!(host.starts_with(&format!("{k}:[")), "control: {host}");
        assert!(got.starts_with(&format!("{k}:[")), "probe: {got}");
        assert_ne!(got, host, "{k} namespace is the host's");
    }
}

fn hostname_option_sets_it_inside_only() {
    let host_before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = run_ok(&["--hostname", "build-42.example", "hostname"]);
    assert_eq!(out, "build-42.example\n");
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_before
    );
}

fn root_shows_the_rootfs_and_nothing_of_the_host() {
    let out = run_ok(&["ls", "-A", "/"]);
    let inside: BTreeSet<&str> = out.lines().collect();
    let rootfs: BTreeSet<String> = fs::read_dir(&stage().rootfs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let rootfs: BTreeSet<&str> = rootfs.iter().map(String::as_str).collect();
    assert_eq!(inside, rootfs);
    // The host's own top level is different (control), and its files are
    // absent inside.
    let bin = stage().bin.display().to_string();
    let leak = run(&["run", &rootfs_arg(), "ls", &bin]);
    // ls's own answer (1, "No such file"), not a launch that failed (125).
    assert_eq!(
        leak.status.code(),
        Some(1),
        "the launcher binary is visible inside: {}",
        text(&leak.stderr)
    );
    assert!(text(&leak.stderr).contains("No such file or directory"));
    // Control: bound at the same path, the same ls finds it.
    let bound = run(&[
        "run",
        "--ro-bind",
        &format!("{bin}:{bin}"),
        &rootfs_arg(),
        "ls",
        &bin,
    ]);
    assert_eq!(
        text(&bound.stdout).trim(),
        bin,
        "control: {}",
        text(&bound.stderr)
    );
}

fn canary_in_host_tmp_is_unreachable_but_reachable_when_bound() {
    let canary = format!("/tmp/sandbox-canary-{}", std::process::id());
    fs::write(&canary, "secret\n").unwrap();
    fs::set_permissions(&canary, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = run(&["run", &rootfs_arg(), "cat", &canary]);
    assert!(!out.status.success(), "host /tmp file was readable");
    assert!(!text(&out.stdout).contains("secret"));
    let listing = run_ok(&["ls", "-A", "/tmp"]);
    assert!(!listing.contains("sandbox-canary"), "{listing}");
    // Control: the same probe reads it once bound in.
    let bound = run_ok(&["--ro-bind", &canary, "cat", &canary]);
    assert_eq!(bound, "secret\n");
    fs::remove_file(&canary).unwrap();
}

fn a_mount_made_inside_never_reaches_the_host() {
    // The mounts made inside the sandbox's mount namespace (by the
    // launcher's child: the command can make none, D3 and the filter, see
    // the escape suite) must stay in it: a bind with a unique source path
    // is looked for in the host's tables while the sandbox runs.
    let marker = format!("sbxmark{}", std::process::id());
    let dir = test_dir(&marker);
    let before = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut child = sandbox([
        "run".to_string(),
        "--bind".to_string(),
        format!("{}:/m", dir.display()),
        rootfs_arg(),
        "/bin/sh".to_string(),
        "-c".to_string(),
        format!("grep -c {marker} /proc/self/mountinfo; read x; true"),
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    // Control: the mount exists inside while we look from outside.
    assert_eq!(line.trim(), "1", "the probe mount was not made inside");
    let during = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let during_init = fs::read_to_string("/proc/1/mountinfo").unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(!during.contains(&marker) && !during_init.contains(&marker));
    // (The host's whole table is not compared: other programs of the
    // machine mount and unmount meanwhile.)
    assert!(!before.contains(&marker));
}

fn dev_is_minimal_and_works() {
    let out = run_ok(&["ls", "-A", "/dev"]);
    let got: BTreeSet<&str> = out.lines().collect();
    let want: BTreeSet<&str> = [
        "full", "null", "random", "tty", "urandom", "zero", "pts", "ptmx", "shm", "fd", "stdin",
        "stdout", "stderr",
    ]
    .into();
    assert_eq!(got, want);
    let out = run_ok(&[
        "/bin/sh",
        "-c",
        "echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 && head -c 8 /dev/urandom | wc -c && ls /dev/pts && readlink /dev/ptmx && echo ok > /dev/shm/f && cat /dev/shm/f",
    ]);
    assert_eq!(out, " 00 00 00 00\n8\nptmx\npts/ptmx\nok\n");
    // A new devpts instance: none of the host's ptys are visible.
}

fn environment_is_cleared_then_set() {
    let out = sandbox([
        "run",
        "--setenv",
        "FOO=bar=baz",
        "--setenv",
        "HOME=/override",
        &rootfs_arg(),
        "/usr/bin/env",
    ])
    .env("TERM", "xterm-test")
    .env("SECRET_TOKEN", "leak")
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got: BTreeSet<String> = text(&out.stdout).lines().map(String::from).collect();
    let want: BTreeSet<String> = [
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/override",
        "TERM=xterm-test",
        "FOO=bar=baz",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(got, want);
}

fn home_comes_from_the_rootfs_passwd() {
    assert_eq!(run_ok(&["/bin/sh", "-c", "echo $HOME"]), "/root\n");
    assert_eq!(
        run_ok(&["--uid", "65534", "/bin/sh", "-c", "echo $HOME"]),
        "/nonexistent\n"
    );
    assert_eq!(
        run_ok(&["--uid", "4242", "/bin/sh", "-c", "echo $HOME"]),
        "/\n"
    );
}

fn uid_and_gid_options() {
    let out = run_ok(&[
        "--uid",
        "1000",
        "--gid",
        "100",
        "/bin/sh",
        "-c",
        "id -u; id -g; touch /tmp/f; stat -c '%u %g' /tmp/f; grep CapEff /proc/self/status",
    ]);
    assert_eq!(out, "1000\n100\n1000 100\nCapEff:\t0000000000000000\n");
    assert_eq!(
        run_ok(&["--gid", "5", "/bin/sh", "-c", "id -u; id -g"]),
        "0\n5\n"
    );
}

fn chdir_option() {
    assert_eq!(run_ok(&["pwd"]), "/\n");
    assert_eq!(run_ok(&["--chdir", "/etc", "pwd"]), "/etc\n");
}

fn stdio_passes_through() {
    let mut child = sandbox(["run", &rootfs_arg(), "tr", "a-z", "A-Z"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stdout), "HELLO\n");
}

fn command_arguments_reach_the_command() {
    let out = run_ok(&["ls", "-la", "/etc/passwd"]);
    assert!(out.starts_with("-rw"), "ls did not get -la: {out}");
    let out = run_ok(&[
        "/bin/sh",
        "-c",
        "echo \"$0|$1|$2\"",
        "--hostname",
        "-x",
        "y z",
    ]);
    assert_eq!(out, "--hostname|-x|y z\n");
}

/// Under --init, PID 1 is the launcher's own clone, which never execs: it
/// must not show the command the launcher's command line (host paths, the
/// options) or environment, which /proc/1 would otherwise hand out.
fn init_shows_nothing_of_the_launcher() {
    let r = rootfs_arg();
    let script = "tr '\\0' ' ' </proc/1/cmdline; echo; \
                  tr '\\0' ' ' </proc/$$/cmdline; echo; \
                  tr '\\0' ' ' </proc/1/environ 2>&1; echo; \
                  tr '\\0' ' ' </proc/$$/environ; echo";
    let out = sandbox([
        "run",
        "--init",
        "--setenv",
        "INSIDE=visible-marker",
        &r,
        "/bin/sh",
        "-c",
        script,
        "sh",
        &r,
    ])
    .env("SANDBOX_TEST_SECRET", "launcher-marker")
    .output()
    .unwrap();
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}{}", text(&out.stderr));
    let lines: Vec<&str> = s.lines().collect();
    let [init_cmd, own_cmd, init_env, own_env] = lines[..] else {
        panic!("four lines expected: {s}");
    };
    // Controls: the same reads of the shell's own entries find the rootfs
    // path (its $1) and the --setenv variable.
    assert!(own_cmd.contains(&r), "control: {own_cmd}");
    assert!(own_env.contains("visible-marker"), "control: {own_env}");
    // init is the launcher's re-exec of itself as `sandbox child` (with
    // no re-exec it would show the launcher's argv, host paths and all).
    assert_eq!(init_cmd.trim(), "sandbox child", "{s}");
    assert!(!init_env.contains("launcher-marker"), "{s}");
}

tests![
    command_is_root_pid_1_with_hostname_sandbox,
    root_inside_is_the_unprivileged_caller_outside,
    ps_shows_only_the_sandbox,
    network_has_only_loopback_and_it_is_up,
    share_net_keeps_the_host_network,
    namespaces_differ_from_the_host,
    hostname_option_sets_it_inside_only,
    root_shows_the_rootfs_and_nothing_of_the_host,
    canary_in_host_tmp_is_unreachable_but_reachable_when_bound,
    a_mount_made_inside_never_reaches_the_host,
    dev_is_minimal_and_works,
    environment_is_cleared_then_set,
    home_comes_from_the_rootfs_passwd,
    uid_and_gid_options,
    chdir_option,
    stdio_passes_through,
    command_arguments_reach_the_command,
    init_shows_nothing_of_the_launcher,
];
