//! Issue 14's attacks, in the escape suite's pattern: each asserts that an
//! attack fails and carries a control proving the probe would have seen it
//! succeed. docs/SECURITY.md maps every test to its defence.
//!
//! Every launch runs as the unprivileged test uid (see common/mod.rs).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Run a launch to its end, but give up (and fail) after two minutes: a
/// launch that blocks forever is one of the attacks. The bound is only a
/// guard for the test run, never what the test asserts.
fn output_bounded(mut c: Command, what: &str) -> Output {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn sandbox");
    let deadline = Instant::now() + Duration::from_secs(120);
    for _ in 0..2400 {
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what}: the launch never ended");
    }
    child.wait_with_output().unwrap()
}

/// A shell command run as the test uid in `dir` (to change a private
/// rootfs it owns).
fn as_user_in(dir: &Path, script: &str) {
    let st = as_test_user("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(st.success(), "{script}");
}

/// Issue 14 item 4: /etc/passwd (read by the child stage for HOME, before
/// any limit applies) as a FIFO, a link to /dev/zero, or a huge file. Each
/// launch must end, with HOME=/ and a notice saying why. Controls: the
/// FIFO is a FIFO; inside the sandbox the link reads endless zeros; the
/// huge file's first line is a valid entry the launcher would have used
/// (a normal copy of it gives HOME=/from-the-file).
fn hostile_passwd_cannot_stall_or_bloat_the_launch() {
    let root = private_rootfs("hostile-passwd");
    let r = root.display().to_string();
    let home = |what: &str| {
        let mut c = sandbox(["run", &r, "/bin/sh", "-c", "echo HOME=$HOME"]);
        c.stdin(Stdio::null());
        let out = output_bounded(c, what);
        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
        (text(&out.stdout), text(&out.stderr))
    };

    // A FIFO: the old launcher blocked in open(2) forever.
    as_user_in(&root, "rm -f etc/passwd && mkfifo etc/passwd");
    let st = fs_type(&root.join("etc/passwd"));
    assert_eq!(st, "fifo", "control: the FIFO is there");
    let (out, err) = home("FIFO");
    assert_eq!(out.trim(), "HOME=/", "{err}");
    assert!(
        err.contains("/etc/passwd in the rootfs: not a regular file (a FIFO)"),
        "{err}"
    );

    // A link to /dev/zero: the old launcher read until the OOM killer came.
    as_user_in(&root, "rm -f etc/passwd && ln -s /dev/zero etc/passwd");
    let (out, err) = home("/dev/zero");
    assert_eq!(out.trim(), "HOME=/", "{err}");
    assert!(
        err.contains("not a regular file (a character device)"),
        "{err}"
    );
    let zeros = run_ok_in(&r, "head -c 4096 /etc/passwd | wc -c");
    assert_eq!(
        zeros.trim(),
        "4096",
        "control: the link reads as zeros inside"
    );

    // A file past the cap (sparse, so it costs no disk), whose first line
    // would give HOME=/from-the-file.
    as_user_in(
        &root,
        "rm -f etc/passwd && printf 'root:x:0:0::/from-the-file:/bin/sh\\n' > etc/passwd \
         && cp etc/passwd etc/passwd.small && truncate -s 64M etc/passwd",
    );
    let (out, err) = home("64 MiB");
    assert_eq!(out.trim(), "HOME=/", "{err}");
    assert!(err.contains("more than the 4194304 read at most"), "{err}");
    as_user_in(&root, "mv etc/passwd.small etc/passwd");
    let (out, err) = home("control");
    assert_eq!(out.trim(), "HOME=/from-the-file", "control: {err}");
    assert!(!err.contains("notice"), "{err}");
}

fn run_ok_in(rootfs: &str, script: &str) -> String {
    let out = run(&["run", rootfs, "/bin/sh", "-c", script]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn fs_type(p: &Path) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = std::fs::symlink_metadata(p).unwrap().file_type();
    if t.is_fifo() {
        "fifo"
    } else if t.is_symlink() {
        "symlink"
    } else if t.is_file() {
        "file"
    } else {
        "other"
    }
}

/// `sandbox run [opts] --ro-bind PROBE:/probe ROOTFS /probe ARGS…` → (exit,
/// stdout, stderr)
fn probe(opts: &[&str], args: &[&str]) -> (Option<i32>, String, String) {
    let st = stage();
    let mut a: Vec<String> = vec!["run".into()];
    a.extend(opts.iter().map(|s| s.to_string()));
    a.push("--ro-bind".into());
    a.push(format!("{}:/probe", st.probe.display()));
    a.push(rootfs_arg());
    a.push("/probe".into());
    a.extend(args.iter().map(|s| s.to_string()));
    let out = run(&a);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Issue 14 item 6: the host kernel's command line (and boot
/// configuration) is not for the sandbox. Control: the host's is there
/// for the same user.
fn host_kernel_command_line_is_masked() {
    let host = as_test_user("cat").arg("/proc/cmdline").output().unwrap();
    assert!(
        !host.stdout.is_empty(),
        "control: the host's /proc/cmdline is empty"
    );
    let out = run_ok(&[
        "/bin/sh",
        "-c",
        "echo cmdline $(wc -c < /proc/cmdline); [ -e /proc/bootconfig ] && echo bootconfig $(wc -c < /proc/bootconfig); true",
    ]);
    // One line per file the host has, each empty inside: an empty output
    // (the shell never ran the reads) is no pass.
    let mut want = vec!["cmdline 0"];
    if std::path::Path::new("/proc/bootconfig").exists() {
        want.push("bootconfig 0");
    }
    assert_eq!(out.lines().collect::<Vec<_>>(), want, "{out}");
}

const NETLINK_CONNECTOR: &str = "11";
const CN_IDX_PROC: &str = "1";

/// Issue 14 item 6: with --share-net, a NETLINK_CONNECTOR socket bound to
/// the proc connector's group receives the host's process events (fork,
/// exec, exit, with host PIDs) once any host program subscribed. The
/// filter refuses netlink protocols but ROUTE and SOCK_DIAG. Controls:
/// with `--seccomp off` the same socket is made and bound (the kernel
/// would deliver); NETLINK_ROUTE still works, and `ip` with it.
fn netlink_connector_is_refused_even_with_share_net() {
    for opts in [&[][..], &["--share-net"][..]] {
        let (code, out, err) = probe(opts, &["netlink", NETLINK_CONNECTOR, CN_IDX_PROC]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out.trim(), "netlink-socket EPROTONOSUPPORT", "{opts:?}");
        let (_, out, _) = probe(opts, &["netlink", "0", "0"]);
        assert!(out.contains("netlink-socket OK"), "{opts:?}: ROUTE: {out}");
    }
    let (_, out, err) = probe(
        &["--share-net", "--seccomp", "off"],
        &["netlink", NETLINK_CONNECTOR, CN_IDX_PROC],
    );
    assert!(out.contains("netlink-socket OK"), "control: {out}{err}");
    // Before Linux 6.6 the proc connector's group was for CAP_NET_ADMIN in
    // the initial namespace only: no attack to show. Whether this kernel
    // lets the test uid join is asked on the host, not of the sandbox.
    let host = host_probe(&["netlink", NETLINK_CONNECTOR, CN_IDX_PROC]);
    if host.contains("netlink-bind EPERM") {
        skip(
            "netlink_connector_is_refused_even_with_share_net (control)",
            "proc-connector",
            "this kernel lets no unprivileged listener join the proc connector's group (the probe on the host gets EPERM)",
        );
    } else {
        assert!(out.contains("netlink-bind OK"), "control: {out}{err}");
    }
    let ip = run_ok(&["ip", "addr", "show", "lo"]);
    assert!(ip.contains("127.0.0.1"), "{ip}");
}

/// Issue 14 item 6: `--sys --share-net` binds the host's /sys, and with
/// it every mount under it: the host's whole cgroup tree. Each submount is
/// masked. Controls: the host's /sys/fs/cgroup has entries; inside, /sys
/// is the host's (its network devices show).
fn sys_with_share_net_hides_the_host_cgroup_tree() {
    let host = std::fs::read_dir("/sys/fs/cgroup")
        .map(|d| d.count())
        .unwrap_or(0);
    if host == 0 {
        skip(
            "sys_with_share_net_hides_the_host_cgroup_tree",
            "cgroup",
            "the host has nothing at /sys/fs/cgroup",
        );
        return;
    }
    let out = run_ok(&[
        "--sys",
        "--share-net",
        "/bin/sh",
        "-c",
        "ls -A /sys/fs/cgroup | wc -l; ls /sys/class/net | wc -l",
    ]);
    let n: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(n[0], "0", "the host's cgroup tree shows: {out}");
    assert_ne!(n[1], "0", "control: /sys is the host's: {out}");
}

/// Issue 14 item 8: a first run with `--bind out:/out` makes `out/cache` a
/// link to a directory of the caller's it was never given; a second run
/// with `--bind out/cache:/cache` must not mount that directory. Controls:
/// the link is on the host after the first run; with `--bind-symlinks`
/// the second run does mount it, and stderr says which directory.
fn a_bind_source_planted_as_a_symlink_is_refused() {
    let out = test_dir("planted-out");
    let secret = test_dir("planted-secret");
    as_user_in(&secret, "echo SECRET > secret.txt");
    let r = rootfs_arg();
    let plant = format!("ln -s {} /out/cache", secret.display());
    let first = run(&[
        "run",
        "--bind",
        "planted-out:/out",
        &r,
        "/bin/sh",
        "-c",
        &plant,
    ]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(fs_type(&out.join("cache")), "symlink", "control: planted");

    for src in ["planted-out/cache", "planted-out/cache/"] {
        let bind = format!("{src}:/cache");
        let second = run(&["run", "--bind", &bind, &r, "cat", "/cache/secret.txt"]);
        let err = text(&second.stderr);
        assert_eq!(second.status.code(), Some(125), "{src}: {err}");
        assert!(!text(&second.stdout).contains("SECRET"), "{src}");
        assert!(err.contains("goes through the symlink"), "{err}");
        assert!(
            err.contains(&secret.display().to_string()),
            "says where: {err}"
        );
    }
    // --ro-bind as well, and a symlink further up the path.
    as_user_in(
        &out,
        "mkdir -p real/sub && echo UP > real/sub/f && ln -s real up",
    );
    let second = run(&[
        "run",
        "--ro-bind",
        "planted-out/up/sub:/x",
        &r,
        "cat",
        "/x/f",
    ]);
    let err = text(&second.stderr);
    assert_eq!(second.status.code(), Some(125), "{err}");
    assert!(err.contains("goes through the symlink"), "{err}");
    assert!(!text(&second.stdout).contains("UP"));
    // Control: the same directory named without the link is bound, and
    // with --bind-symlinks the link is followed.
    for opts in [
        &["--ro-bind", "planted-out/real/sub:/x"][..],
        &["--bind-symlinks", "--ro-bind", "planted-out/up/sub:/x"],
    ] {
        let mut a = vec!["run"];
        a.extend(opts);
        a.extend([r.as_str(), "cat", "/x/f"]);
        let ok = run(&a);
        assert_eq!(
            text(&ok.stdout),
            "UP\n",
            "control {opts:?}: {}",
            text(&ok.stderr)
        );
    }

    let followed = run(&[
        "run",
        "--bind-symlinks",
        "--bind",
        "planted-out/cache:/cache",
        &r,
        "cat",
        "/cache/secret.txt",
    ]);
    let err = text(&followed.stderr);
    assert!(followed.status.success(), "control: {err}");
    assert_eq!(text(&followed.stdout).trim(), "SECRET", "control");
    assert!(
        err.contains(&format!("binding {} at /cache", secret.display())),
        "control: {err}"
    );
}

/// The host user's inotify instances, as the test uid on the host:
/// "inotify=N ERRNO".
fn host_inotify() -> String {
    let out = as_test_user(&stage().probe)
        .arg("inotify")
        .output()
        .unwrap();
    text(&out.stdout)
}

/// Run `probe inotify READY GO` in a sandbox with `opts`; once it holds
/// all it could get, count what the host user can still get, then let it
/// go. Returns (sandbox's line, host's line).
fn inotify_while_held(name: &str, opts: &[&str]) -> (String, String) {
    let dir = test_dir(name);
    let st = stage();
    let mut a: Vec<String> = vec!["run".into()];
    a.extend(opts.iter().map(|s| s.to_string()));
    a.extend([
        "--ro-bind".into(),
        format!("{}:/probe", st.probe.display()),
        "--bind".into(),
        format!("{}:/x", dir.display()),
        rootfs_arg(),
        "/probe".into(),
        "inotify".into(),
        "/x/ready".into(),
        "/x/go".into(),
    ]);
    let child = sandbox(&a).stdout(Stdio::piped()).spawn().unwrap();
    let ready = dir.join("ready");
    for _ in 0..600 {
        if ready.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let host = host_inotify();
    as_user_in(&dir, "touch go");
    let out = child.wait_with_output().unwrap();
    (text(&out.stdout), host)
}

/// Issue 14 item 5: inotify instances are charged to the host user at
/// every level, and a new user namespace allows INT_MAX of them, so a
/// sandbox could take all the host user has (their own programs then get
/// EMFILE). The sandbox's namespace gets at most half the caller's (32 at
/// most). Control: with the limit lifted by `--ns-limit`, the same probe
/// leaves the host user none.
fn a_sandbox_leaves_the_host_user_inotify_instances() {
    let caller: u64 = std::fs::read_to_string("/proc/sys/user/max_inotify_instances")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let (inside, host) = inotify_while_held("inotify-held", &[]);
    let want = (caller / 2).clamp(1, 32);
    assert_eq!(inside.trim(), format!("inotify={want} EMFILE"), "{inside}");
    let got: u64 = host
        .trim()
        .strip_prefix("inotify=")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(
        got > 0,
        "the host user has no inotify instance left: {host}"
    );

    // Control, where the sandbox can reach the caller's limit before its
    // own file limit (1024 open files).
    if caller == 0 || caller > 1000 {
        skip(
            "a_sandbox_leaves_the_host_user_inotify_instances (control)",
            "inotify",
            &format!(
                "the caller's max_inotify_instances is {caller}, more than the probe's open files"
            ),
        );
        return;
    }
    let (inside, host) = inotify_while_held(
        "inotify-lifted",
        &["--ns-limit", "user.max_inotify_instances=100000"],
    );
    assert!(inside.contains("EMFILE"), "control: {inside}");
    assert_eq!(host.trim(), "inotify=0 EMFILE", "control: {inside}");
}

/// Issue 14 item 5: a SysV segment that is not attached is in no address
/// space, so `--limit as` never bounded it (512 MiB held under as=256M).
/// The IPC namespace's own limits cap it as /dev/shm is capped: one
/// segment at most --shm-size (64 MiB), all of them together as much.
/// Controls: with the IPC limits raised by `--ns-limit`, the 512 MiB
/// segment is made; with `--shm-size 128M`, twice as many 16 MiB ones.
fn sysv_shared_memory_is_bounded_per_sandbox() {
    // Whether the kernel lets the owner of a user namespace set its IPC
    // namespace's limits is asked of the kernel (unshare(1) on the host),
    // not read from the sandbox's own shmmax.
    let host = as_test_user("unshare")
        .args(["-Uri", "sh", "-c"])
        .arg("echo 12345678 > /proc/sys/kernel/shmmax && cat /proc/sys/kernel/shmmax")
        .output()
        .expect("unshare (util-linux)");
    if text(&host.stdout).trim() != "12345678" {
        skip(
            "sysv_shared_memory_is_bounded_per_sandbox",
            "ipc-sysctl",
            &format!(
                "this kernel does not let a user namespace set its IPC limits: {}",
                text(&host.stderr).trim()
            ),
        );
        return;
    }
    let shmmax = run_ok(&["cat", "/proc/sys/kernel/shmmax"]);
    assert_eq!(shmmax.trim(), (64u64 << 20).to_string(), "shmmax inside");
    let (_, out, err) = probe(&["--limit", "as=256M"], &["shm", "512", "1"]);
    assert_eq!(out.trim(), "shm=0 EINVAL", "{err}");
    let (_, out, err) = probe(&[], &["shm", "16", "100"]);
    assert_eq!(out.trim(), "shm=4 ENOSPC", "{err}");
    let (_, out, err) = probe(
        &[
            "--limit",
            "as=256M",
            "--ns-limit",
            "kernel.shmmax=1G",
            "--ns-limit",
            "kernel.shmall=1G",
        ],
        &["shm", "512", "1"],
    );
    assert_eq!(out.trim(), "shm=1 OK", "control: {err}");
    let (_, out, err) = probe(&["--shm-size", "128M"], &["shm", "16", "100"]);
    assert_eq!(out.trim(), "shm=8 ENOSPC", "control: {err}");
}

/// D12, racing: while launches bind `race-out/cache`, a host process of
/// the same user keeps swapping it between a directory of its own and a
/// link to a secret directory. No launch may mount the secret: each one
/// binds the directory (and reads its file) or refuses with 125. Controls:
/// a naive reader through the same path on the host gets the secret during
/// the same swapping, and the swapper is alive and counting throughout.
fn a_bind_source_swapped_for_a_link_during_setup_is_never_mounted() {
    let out = test_dir("race-out");
    let secret = test_dir("race-secret");
    as_user_in(&secret, "echo SECRET > f");
    as_user_in(
        &out,
        &format!(
            "mkdir cache.dir && echo PLAIN > cache.dir/f && ln -s {} cache.link",
            secret.display()
        ),
    );
    let rounds = out.join("rounds");
    let mut swapper = as_test_user("sh")
        .arg("-c")
        .arg(format!(
            "cd {o} && i=0; while :; do mv -T cache.dir cache; mv -T cache cache.dir; \
             mv -T cache.link cache; mv -T cache cache.link; \
             i=$((i+1)); [ $((i % 20)) = 0 ] && echo $i > {r}; done",
            o = out.display(),
            r = rounds.display(),
        ))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rounds_done = || -> u64 {
        std::fs::read_to_string(&rounds)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    // Control: the path does lead to the secret now and then.
    let naive = as_test_user("sh")
        .arg("-c")
        .arg(format!(
            "i=0; while [ $i -lt 20000 ]; do cat {}/cache/f 2>/dev/null | grep -q SECRET && echo reached && exit 0; i=$((i+1)); done; echo never",
            out.display()
        ))
        .output()
        .unwrap();
    // Rounds past `above`, polled for at most 20 s: on a loaded machine
    // the swapper may get no CPU for a while, and the launches must start
    // with it running and end with it still making progress.
    let rounds_past = |above: u64| -> u64 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while rounds_done() <= above && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        rounds_done()
    };
    let before = rounds_past(0);
    let mut seen = std::collections::BTreeMap::new();
    for _ in 0..60 {
        let o = run(&[
            "run",
            "--bind",
            "race-out/cache:/cache",
            &rootfs_arg(),
            "cat",
            "/cache/f",
        ]);
        let key = (o.status.code(), text(&o.stdout));
        *seen.entry(key).or_insert(0) += 1;
    }
    let after = rounds_past(before);
    let alive = swapper.try_wait().unwrap().is_none();
    let _ = swapper.kill();
    let _ = swapper.wait();
    assert_eq!(
        text(&naive.stdout).trim(),
        "reached",
        "control: the swap never pointed at the secret"
    );
    assert!(
        alive && after > before,
        "the swapper stopped: {before} → {after}"
    );
    for (code, stdout) in seen.keys() {
        assert!(
            !stdout.contains("SECRET"),
            "the secret was mounted: {seen:?}"
        );
        assert!(
            (*code == Some(0) && stdout == "PLAIN\n") || *code == Some(125),
            "{seen:?}"
        );
    }
}

tests![
    hostile_passwd_cannot_stall_or_bloat_the_launch,
    host_kernel_command_line_is_masked,
    netlink_connector_is_refused_even_with_share_net,
    sys_with_share_net_hides_the_host_cgroup_tree,
    a_bind_source_planted_as_a_symlink_is_refused,
    a_sandbox_leaves_the_host_user_inotify_instances,
    sysv_shared_memory_is_bounded_per_sandbox,
    a_bind_source_swapped_for_a_link_during_setup_is_never_mounted,
];
