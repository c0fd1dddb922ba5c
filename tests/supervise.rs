//! Supervision (issue 4): signals, --init, die-with-parent, --timeout,
//! bombs against the limits, and the status JSON. Every launch runs as the
//! unprivileged test uid; each attack comes with a control that shows the
//! probe would see it succeed.

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const PROBE: &str = "/probe";

/// `run [opts] --bind DIR:/m --ro-bind probe:/probe ROOTFS cmd…`.
fn args(opts: &[&str], dir: &Path, cmd: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = vec!["run".into()];
    a.extend(opts.iter().map(|s| s.to_string()));
    a.push("--bind".into());
    a.push(format!("{}:/m", dir.display()));
    a.push("--ro-bind".into());
    a.push(format!("{}:{PROBE}", stage().probe.display()));
    a.push(rootfs_arg());
    a.extend(cmd.iter().map(|s| s.to_string()));
    a
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether nobody holds an flock on `path` (util-linux flock, on the host).
fn lock_free(path: &Path) -> bool {
    Command::new("flock")
        .args(["-n", "-E", "99"])
        .arg(path)
        .arg("true")
        .status()
        .expect("flock (util-linux) runs")
        .success()
}

/// The status JSON written to DIR/status.json.
fn status(dir: &Path) -> String {
    fs::read_to_string(dir.join("status.json")).expect("status file written")
}

fn status_opt(dir: &Path) -> String {
    format!("--status-file={}", dir.join("status.json").display())
}

fn assert_has(hay: &str, needles: &[&str]) {
    for n in needles {
        assert!(hay.contains(n), "{n:?} not in {hay}");
    }
}

fn exit_status_and_128_plus_n() {
    let d = test_dir("sup-exit");
    let s = status_opt(&d);
    let out = run(&args(&[&s], &d, &["/bin/sh", "-c", "exit 42"]));
    assert_eq!(out.status.code(), Some(42));
    assert_has(
        &status(&d),
        &["\"status\":42,\"exit_code\":42,\"signal\":null"],
    );
    // A fault kills even PID 1 (the kernel lifts its protection for it).
    let out = run(&args(&[&s], &d, &[PROBE, "segv"]));
    assert_eq!(out.status.code(), Some(128 + 11));
    assert_has(
        &status(&d),
        &["\"status\":139,\"exit_code\":null,\"signal\":11,\"signal_name\":\"SIGSEGV\""],
    );
    // Under --init the command is PID 2 and dies of its own signals.
    for (sig, n) in [("SEGV", 11), ("KILL", 9), ("TERM", 15)] {
        let cmd = format!("kill -{sig} $$");
        let out = run(&args(&["--init", &s], &d, &["/bin/sh", "-c", &cmd]));
        assert_eq!(out.status.code(), Some(128 + n), "{sig}");
        assert_has(&status(&d), &[&format!("\"signal\":{n},")]);
    }
    // Control: without --init the same shell is PID 1, which the kernel
    // keeps from its own unhandled signals.
    let out = run(&args(
        &[],
        &d,
        &["/bin/sh", "-c", "kill -TERM $$; echo alive"],
    ));
    assert_eq!(
        (out.status.code(), text(&out.stdout).trim()),
        (Some(0), "alive")
    );
}

fn every_forwarded_signal_reaches_a_handler() {
    // Non-stop signals first, then one stop signal per run (a second stop
    // request would kill at once).
    let runs: [&[&str]; 3] = [
        &["HUP"],
        &["USR1", "USR2", "QUIT", "WINCH", "INT"],
        &["TERM"],
    ];
    for sigs in runs {
        let d = test_dir("sup-signals");
        let mut traps = String::new();
        for s in ["HUP", "INT", "QUIT", "TERM", "USR1", "USR2", "WINCH"] {
            let end = if ["HUP", "INT", "TERM"].contains(&s) {
                "; exit 0"
            } else {
                ""
            };
            traps += &format!("trap 'touch /m/got-{s}{end}' {s}; ");
        }
        let script = format!("{traps} touch /m/ready; while :; do sleep 0.05; done");
        let mut child = sandbox(args(
            &["--kill-after", "30", &status_opt(&d)],
            &d,
            &["/bin/sh", "-c", &script],
        ))
        .spawn()
        .unwrap();
        wait_for(&d.join("ready"));
        for s in sigs {
            send_signal(&format!("-{s}"), child.id());
            wait_for(&d.join(format!("got-{s}")));
        }
        // The stop signal's handler exits 0: handled, never killed.
        assert_eq!(child.wait().unwrap().code(), Some(0), "{sigs:?}");
        let last = sigs.last().unwrap();
        assert_has(
            &status(&d),
            &[&format!(
                "\"stopped_by\":\"SIG{last}\",\"killed_after_grace\":false"
            )],
        );
    }
}

/// A caller that ignores HUP, INT and QUIT (`nohup`, `cmd &` in a
/// script) does not pass that on: the launcher forwards them, and the
/// command can trap them (a POSIX shell cannot trap a signal ignored on
/// entry, and execve keeps SIG_IGN). Control: the launcher did start with
/// them ignored (its /proc status), so the probe's setting took.
fn forwarded_signals_reach_a_trap_when_the_caller_ignores_them() {
    for sig in ["HUP", "INT", "QUIT"] {
        let d = test_dir("sup-ignored");
        let script = format!(
            "trap 'touch /m/got-{sig}; exit 0' {sig}; touch /m/ready; while :; do sleep 0.05; done"
        );
        let inner = sandbox(args(
            &["--kill-after", "30"],
            &d,
            &["/bin/sh", "-c", &script],
        ));
        // The same command, started by a shell that ignores the three.
        let mut outer = Command::new("/bin/sh");
        outer
            .args(["-c", "trap '' HUP INT QUIT; exec \"$@\"", "sh"])
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .current_dir(&stage().dir)
            .stdin(Stdio::null());
        let mut child = outer.spawn().unwrap();
        wait_for(&d.join("ready"));
        let launcher = fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
        let ign = launcher
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:\t"))
            .map(|v| u64::from_str_radix(v, 16).unwrap())
            .unwrap();
        assert_eq!(ign & 0b111, 0b111, "control: SigIgn {ign:x}");
        send_signal(&format!("-{sig}"), child.id());
        wait_for(&d.join(format!("got-{sig}")));
        assert_eq!(child.wait().unwrap().code(), Some(0), "{sig}");
    }
}

fn term_ignored_by_pid_1_escalates_to_kill() {
    let d = test_dir("sup-escalate");
    let mut child = sandbox(args(
        &["--kill-after", "0.3", &status_opt(&d)],
        &d,
        &[
            "/bin/sh",
            "-c",
            "trap '' TERM; touch /m/ready; while :; do sleep 0.05; done",
        ],
    ))
    .spawn()
    .unwrap();
    wait_for(&d.join("ready"));
    send_signal("-TERM", child.id());
    assert_eq!(child.wait().unwrap().code(), Some(128 + 9));
    assert_has(
        &status(&d),
        &[
            "\"signal_name\":\"SIGKILL\"",
            "\"stopped_by\":\"SIGTERM\",\"killed_after_grace\":true",
        ],
    );
}

fn terminal_ctrl_c_reaches_the_command_once_and_does_not_stop_the_sandbox() {
    let d = test_dir("sup-ctrl-c");
    let script = "trap \"echo int >> /m/ints\" INT; touch /m/ready; sleep 1.5; sleep 1; echo lines=$(wc -l < /m/ints) survived";
    let a = args(&["--kill-after", "0.5"], &d, &["/bin/sh", "-c", script]);
    // ^C typed once the trap is set, while `sleep 1.5` runs.
    let shown = under_pty_when(&a, "\\003", Some(&d.join("ready")));
    assert!(shown.contains("lines=1 survived"), "{shown}");
}

fn init_reaps_thousands_of_orphans() {
    let d = test_dir("sup-orphans");
    let out = run(&args(&["--init"], &d, &[PROBE, "orphans", "2000"]));
    assert_eq!(
        text(&out.stdout).trim(),
        "zombies=0",
        "{}",
        text(&out.stderr)
    );
    // Control: a PID 1 that never reaps (the probe itself) keeps them all.
    let out = run(&args(&[], &d, &[PROBE, "orphans", "2000"]));
    assert_eq!(text(&out.stdout).trim(), "zombies=2000");
}

/// --init: init is PID 1 and the command PID 2, as documented (nothing
/// else of the sandbox's, such as a setup thread, takes PID 2 first);
/// with --sys too, whose sysfs shows the sandbox's own network namespace,
/// so the namespace was made before it. Control: without --init the
/// command is PID 1, so the probe tells the two apart.
fn init_runs_the_command_as_pid_2() {
    let d = test_dir("sup-pid2");
    let script = "echo pid=$$; ls /sys/class/net 2>/dev/null | tr '\\n' ' '";
    for (opts, want) in [
        (&["--init"][..], "pid=2"),
        (&["--init", "--sys"][..], "pid=2\nlo"),
        (&[][..], "pid=1"),
    ] {
        let out = run(&args(opts, &d, &["/bin/sh", "-c", script]));
        assert_eq!(
            text(&out.stdout).trim(),
            want,
            "{opts:?}: {}",
            text(&out.stderr)
        );
    }
}

fn main_exit_takes_daemons_with_it() {
    for init in [false, true] {
        let d = test_dir("sup-daemons");
        let script =
            "/probe hold /m/lock & while [ ! -e /m/lock.ready ]; do sleep 0.01; done; exit 7";
        let opts: &[&str] = if init { &["--init"] } else { &[] };
        let out = run(&args(opts, &d, &["/bin/sh", "-c", script]));
        assert_eq!(
            out.status.code(),
            Some(7),
            "init={init}: {}",
            text(&out.stderr)
        );
        // Control: the setsid'd, signal-ignoring daemon did take the lock.
        assert!(d.join("lock.ready").exists());
        assert!(lock_free(&d.join("lock")), "init={init}: a daemon survived");
    }
}

/// `probe subreap` on the host, as a child subreaper: it runs the launcher,
/// SIGKILLs it at `when` (a file to wait for, or "-MICROSECONDS") and
/// reports how many processes outlived it.
fn subreap(when: &str, launcher_args: &[String]) -> (String, String) {
    let st = stage();
    let mut c = Command::new(&st.probe);
    c.args(["subreap", when, "5000"]);
    let inner = sandbox(launcher_args);
    c.arg(inner.get_program()).args(inner.get_args());
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .current_dir(&st.dir)
        .stdin(Stdio::null());
    let out = c.output().expect("probe subreap");
    (text(&out.stdout), text(&out.stderr))
}

fn launcher_killed_with_sigkill_leaves_no_survivor() {
    // Control: the harness does see a process that outlives the launcher.
    let d = test_dir("sup-sigkill");
    let ready = d.join("control-ready");
    let line = format!("setsid sleep 3 & touch {}; exec sleep 30", ready.display());
    let out = Command::new(&stage().probe)
        .args([
            "subreap",
            &ready.display().to_string(),
            "300",
            "sh",
            "-c",
            &line,
        ])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).trim(), "survivors=1", "control");
    for trial in 0..100 {
        for f in ["lock", "lock.ready"] {
            let _ = fs::remove_file(d.join(f));
        }
        // A setsid'd, double-forked, signal-ignoring daemon holds the lock;
        // every other trial PID 1 first clears its own parent-death signal;
        // every third runs under --init.
        let mut cmd: Vec<&str> = Vec::new();
        if trial % 2 == 1 {
            cmd.extend([PROBE, "nopdeath"]);
        }
        cmd.extend([PROBE, "hold", "/m/lock"]);
        let opts: &[&str] = if trial % 3 == 0 { &["--init"] } else { &[] };
        let a = args(opts, &d, &cmd);
        // Most trials kill once the daemon holds the lock; one in five kills
        // early, at some point of the launch itself.
        let when = if trial % 5 == 4 {
            format!("-{}", (trial * 211) % 4000)
        } else {
            d.join("lock.ready").display().to_string()
        };
        let (out, err) = subreap(&when, &a);
        assert_eq!(out.trim(), "survivors=0", "trial {trial} ({when}): {err}");
        if trial % 2 == 1 && trial % 3 != 0 && trial % 5 != 4 {
            // Control: the probe, as PID 1, did clear it (under --init it
            // is PID 2, which never had one).
            assert!(
                err.contains("pdeathsig before=9 after=0"),
                "trial {trial}: {err}"
            );
        }
        assert!(
            lock_free(&d.join("lock")),
            "trial {trial}: the lock is still held"
        );
    }
}

fn timeout_kills_setsid_double_forked_term_ignoring_trees() {
    for init in [false, true] {
        let d = test_dir("sup-timeout");
        // Long enough for the daemon to start even under an emulated
        // kernel (make test-vm), where a launch takes a good part of a
        // second; the control below checks it did.
        let mut opts = vec!["--timeout", "1.5", "--kill-after", "0.2"];
        if init {
            opts.push("--init");
        }
        let s = status_opt(&d);
        opts.push(&s);
        let script = "trap '' TERM; /probe hold /m/lock & while :; do sleep 0.05; done";
        let out = run(&args(&opts, &d, &["/bin/sh", "-c", script]));
        assert_eq!(out.status.code(), Some(124), "init={init}");
        assert_has(
            &text(&out.stderr),
            &["sandbox: timed out after 1.5 s; killed the sandbox after the 0.2 s grace period"],
        );
        assert!(d.join("lock.ready").exists(), "control: the daemon ran");
        assert!(lock_free(&d.join("lock")), "init={init}: a daemon survived");
        assert_has(
            &status(&d),
            &[
                "\"status\":124",
                "\"timed_out\":true",
                "\"limits_hit\":[\"timeout\"]",
                "\"killed_after_grace\":true",
            ],
        );
    }
    // A command that ends on SIGTERM is still a timeout.
    let d = test_dir("sup-timeout-term");
    // (1 s: the trap must be set before the TERM comes, also under an
    // emulated kernel.)
    let out = run(&args(
        &["--timeout", "1"],
        &d,
        &[
            "/bin/sh",
            "-c",
            "trap 'exit 3' TERM; while :; do sleep 0.05; done",
        ],
    ));
    assert_eq!(out.status.code(), Some(124));
    assert_has(
        &text(&out.stderr),
        &["timed out after 1 s; the command ended on SIGTERM"],
    );
    // Control: within its time the command's own status stands.
    let out = run(&args(
        &["--timeout", "30"],
        &d,
        &["/bin/sh", "-c", "exit 5"],
    ));
    assert_eq!(out.status.code(), Some(5));
}

/// Run with the cgroup limit `opt` when this machine gives us a delegated
/// cgroup v2 with its controller; `None` (and a skip) otherwise. Whether
/// it does is decided by the suite (`in_delegated_cgroup`), from the
/// host's cgroup tree, never from the launcher's answer: once a cgroup was
/// delegated, a `sandbox: cgroup` error is a failure of the product.
fn with_cgroup(test: &str, a: &[String]) -> Option<std::process::Output> {
    match in_delegated_cgroup(a) {
        Ok(mut c) => Some(c.output().expect("run sandbox")),
        Err(why) => {
            skip(
                test,
                "cgroup",
                &format!("no delegated cgroup v2 here: {why}"),
            );
            None
        }
    }
}

/// `sandbox ARGS` placed in a fresh cgroup of its own, delegated to the
/// test uid, the way `systemd-run --user --scope -p Delegate=yes` places a
/// user's command:
/// - run unprivileged with SANDBOX_TEST_CGROUP naming a cgroup delegated to
///   us (the kernel-matrix guest), the launch gets a new child of it;
/// - run as root on a pure cgroup v2 system, the suite makes and delegates
///   a new cgroup under the root;
/// - elsewhere there is none to give: `Err` says why.
fn in_delegated_cgroup(a: &[String]) -> Result<Command, String> {
    let st = stage();
    let root = Path::new("/sys/fs/cgroup");
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("sandbox-test-{}-{n}", std::process::id());
    let cg: PathBuf = match (st.drop_to, std::env::var_os("SANDBOX_TEST_CGROUP")) {
        (None, Some(delegated)) => {
            let cg = Path::new(&delegated).join(name);
            fs::create_dir(&cg).unwrap_or_else(|e| panic!("mkdir {}: {e}", cg.display()));
            cg
        }
        (Some((uid, gid)), _) => {
            let v2 = fs::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
            if !(v2.contains("memory") && v2.contains("pids")) {
                return Err(format!(
                    "{} has no cgroup v2 root with the memory and pids controllers",
                    root.display()
                ));
            }
            let cg = root.join(name);
            fs::write(root.join("cgroup.subtree_control"), "+memory +pids +cpu")
                .expect("enable the controllers at the cgroup root");
            fs::create_dir(&cg).unwrap_or_else(|e| panic!("mkdir {}: {e}", cg.display()));
            // Delegation as systemd does it: the directory and the files a
            // delegatee writes belong to the user. Ref: cgroup-v2.rst
            // "Delegation"
            for f in [
                "",
                "cgroup.procs",
                "cgroup.subtree_control",
                "cgroup.threads",
            ] {
                std::os::unix::fs::chown(cg.join(f), Some(uid), Some(gid)).expect("chown cgroup");
            }
            cg
        }
        (None, None) => return Err(
            "run unprivileged without SANDBOX_TEST_CGROUP naming a cgroup delegated to this user"
                .into(),
        ),
    };
    let inner = sandbox(a);
    let mut line = format!("echo $$ > {}/cgroup.procs && exec", cg.display());
    line.push_str(" \"$0\" \"$@\"");
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(line)
        .arg(inner.get_program())
        .args(inner.get_args())
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .current_dir(&st.dir)
        .stdin(Stdio::null());
    Ok(c)
}

fn cgroup_limits_fail_closed_without_a_delegated_cgroup() {
    // The launcher in the suite's own cgroup, never delegated to the test
    // uid: asking for a limit must stop the run, never run without it.
    let d = test_dir("sup-fail-closed");
    for opt in [["--memory", "64M"], ["--pids", "10"], ["--cpus", "0.5"]] {
        let out = run(&args(&opt, &d, &["/bin/sh", "-c", "touch /m/ran"]));
        assert_eq!(out.status.code(), Some(125), "{opt:?}");
        let err = text(&out.stderr);
        let hint = err.split("sandbox: hint: ").nth(1).unwrap_or_default();
        if err.contains("on a hybrid cgroup system") || err.contains("only cgroup v1") {
            // No delegation can help there: the hint says what can.
            assert_has(hint, &["--limit", "systemd.unified_cgroup_hierarchy=1"]);
            assert!(!hint.contains("systemd-run"), "{opt:?}: {err}");
        } else {
            assert_has(hint, &["systemd-run --user --scope -p Delegate=yes"]);
        }
        assert!(!d.join("ran").exists(), "{opt:?}: the command ran");
    }
    // Control: the same command runs without the limit.
    let out = run(&args(&[], &d, &["/bin/sh", "-c", "touch /m/ran"]));
    assert!(out.status.success(), "control: {}", text(&out.stderr));
    assert!(d.join("ran").exists());
}

/// PID 1 must not need a fork to go on waiting, hence `exec sleep`.
const FORK_BOMB: &str = "touch /m/ready; b() { b | b & }; b; exec sleep 5";

/// While a bomb runs, the test uid can still start a process on the host.
fn host_user_can_start_processes() {
    let ok = as_test_user("true")
        .status()
        .expect("spawn as the test uid");
    assert!(ok.success());
}

fn fork_bomb_is_contained_by_nproc() {
    let d = test_dir("sup-forkbomb");
    let s = status_opt(&d);
    let mut child = sandbox(args(
        &[
            "--limit",
            "nproc=64",
            "--timeout",
            "3",
            "--kill-after",
            "0.2",
            &s,
        ],
        &d,
        &["/bin/sh", "-c", FORK_BOMB],
    ))
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    wait_for(&d.join("ready"));
    std::thread::sleep(Duration::from_millis(500));
    host_user_can_start_processes();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(124));
    // Control: the bomb did run into the limit.
    assert!(err.contains("can't fork"), "{err}");
    assert_has(&status(&d), &["\"timed_out\":true"]);
}

fn fork_bomb_is_contained_by_pids() {
    let d = test_dir("sup-forkbomb-cg");
    let s = status_opt(&d);
    let a = args(
        &["--pids", "64", "--timeout", "3", "--kill-after", "0.2", &s],
        &d,
        &["/bin/sh", "-c", FORK_BOMB],
    );
    let Some(out) = with_cgroup("fork_bomb_is_contained_by_pids", &a) else {
        return;
    };
    host_user_can_start_processes();
    assert_eq!(out.status.code(), Some(124), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("can't fork"));
    assert_has(&status(&d), &["\"limits_hit\":[\"timeout\",\"pids\"]"]);
}

fn memory_bomb_is_contained_by_as() {
    let d = test_dir("sup-membomb");
    let out = run(&args(&["--limit", "as=64M"], &d, &[PROBE, "eat", "1024"]));
    let ate: u32 = text(&out.stdout)
        .trim()
        .trim_start_matches("ate=")
        .parse()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(ate < 64, "ate {ate} MiB under a 64M address-space limit");
    // Control: without the limit the probe gets what it asks for.
    let out = run(&args(&[], &d, &[PROBE, "eat", "128"]));
    assert_eq!(text(&out.stdout).trim(), "ate=128");
}

fn memory_bomb_is_contained_by_memory() {
    let d = test_dir("sup-membomb-cg");
    let s = status_opt(&d);
    let a = args(&["--memory", "64M", &s], &d, &[PROBE, "eat", "1024"]);
    let Some(out) = with_cgroup("memory_bomb_is_contained_by_memory", &a) else {
        return;
    };
    assert_eq!(out.status.code(), Some(128 + 9), "{}", text(&out.stderr));
    assert_has(&text(&out.stderr), &["reached its --memory limit"]);
    assert_has(
        &status(&d),
        &[
            "\"oom_killed\":true",
            "\"memory\"",
            "\"peak_memory_source\":\"cgroup\"",
        ],
    );
}

fn disk_bombs_stop_at_the_size_caps() {
    let d = test_dir("sup-diskbomb");
    // The defaults (docs/SUPERVISION.md): /tmp 256M, /dev/shm 64M, root 256M.
    let out = run_ok(&[
        "/bin/sh",
        "-c",
        "df -k /tmp /dev/shm / | awk 'NR>1 {print $2}'",
    ]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["262144", "65536", "262144"]
    );
    let bomb = "dd if=/dev/zero of=$0/big bs=1M count=64 2>/m/dd-$1; wc -c < $0/big";
    for (opt, dir) in [
        ("--tmp-size", "/tmp"),
        ("--root-size", "/root"),
        ("--shm-size", "/dev/shm"),
    ] {
        let tag = opt.trim_start_matches("--");
        let out = run(&args(&[opt, "8M"], &d, &["/bin/sh", "-c", bomb, dir, tag]));
        let size: u64 = text(&out.stdout).trim().parse().unwrap();
        assert!(size <= 8 << 20, "{opt}: wrote {size}");
        let dd = fs::read_to_string(d.join(format!("dd-{tag}"))).unwrap();
        assert!(dd.contains("No space left on device"), "{opt}: {dd}");
        // Control: with room, the same write completes.
        let out = run(&args(
            &[opt, "128M"],
            &d,
            &["/bin/sh", "-c", bomb, dir, tag],
        ));
        assert_eq!(text(&out.stdout).trim(), (64u64 << 20).to_string(), "{opt}");
    }
    // A flood of empty files stops too: one inode per 4 KiB of the cap.
    let files =
        "i=0; while [ $i -lt 2000 ] && true > /tmp/f$i 2>/dev/null; do i=$((i+1)); done; echo $i";
    let n: u32 = run_ok(&["--tmp-size", "4M", "/bin/sh", "-c", files])
        .trim()
        .parse()
        .unwrap();
    assert!(n < 1024, "created {n} files in a 4M /tmp");
    let n = run_ok(&["/bin/sh", "-c", files]);
    assert_eq!(n.trim(), "2000", "control");
}

fn rlimit_ends_show_in_the_status() {
    let d = test_dir("sup-rlimits");
    let s = status_opt(&d);
    // cpu: PID 1 ignores SIGXCPU at the soft limit; SIGKILL at the hard one.
    let out = run(&args(
        &["--limit", "cpu=1", &s],
        &d,
        &["/bin/sh", "-c", "while :; do :; done"],
    ));
    assert_eq!(out.status.code(), Some(128 + 9));
    assert_has(
        &status(&d),
        &["\"signal_name\":\"SIGKILL\"", "\"limits_hit\":[\"cpu\"]"],
    );
    // fsize: the command as PID 2 dies of SIGXFSZ.
    let out = run(&args(
        &["--init", "--limit", "fsize=1K", &s],
        &d,
        &["dd", "if=/dev/zero", "of=/tmp/f", "bs=1k", "count=10"],
    ));
    assert_eq!(out.status.code(), Some(128 + 25));
    assert_has(
        &status(&d),
        &["\"signal_name\":\"SIGXFSZ\"", "\"limits_hit\":[\"fsize\"]"],
    );
    // Control: the same runs within their limits name none.
    let out = run(&args(
        &["--init", &s],
        &d,
        &["dd", "if=/dev/zero", "of=/tmp/f", "bs=1k", "count=10"],
    ));
    assert_eq!(out.status.code(), Some(0));
    assert_has(
        &status(&d),
        &[
            "\"limits_hit\":[]",
            "\"user_seconds\":",
            "\"peak_memory_bytes\":",
        ],
    );
}

/// A run that fails with 125 before its command starts (a missing bind
/// source, a rootfs that is not there, a limit above the hard limit)
/// still writes --status-file, with the error: a wrapper always finds one.
/// Control: the file is gone before each case, so it is this run's.
fn status_file_written_when_the_run_fails_before_it_starts() {
    let d = test_dir("sup-status-125");
    let file = d.join("status.json");
    let st = status_opt(&d);
    let missing = format!("{}/nowhere", d.display());
    let root = rootfs_arg();
    let cases: [(&[&str], &str); 3] = [
        (
            &["run", &st, "--bind", &missing, &root, "true"],
            "--bind source",
        ),
        (&["run", &st, &missing, "true"], "rootfs"),
        (
            &["run", &st, "--limit", "nofile=unlimited", &root, "true"],
            "--limit",
        ),
    ];
    for (a, step) in cases {
        let _ = fs::remove_file(&file);
        assert!(!file.exists());
        let out = run(a);
        assert_eq!(out.status.code(), Some(125), "{a:?}: {}", text(&out.stderr));
        let j = status(&d);
        assert_has(
            &j,
            &["\"status\":125,", &format!("\"error\":\"sandbox: {step}")],
        );
    }
}

fn status_json_for_every_kind_of_end() {
    let d = test_dir("sup-status");
    let s = status_opt(&d);
    // The sandbox failed before the command: the error is in the JSON.
    let out = run(&args(&[&s], &d, &["no-such-command"]));
    assert_eq!(out.status.code(), Some(127));
    assert_has(
        &status(&d),
        &[
            "\"status\":127,\"exit_code\":null",
            "\"error\":\"sandbox: exec: no-such-command: not found",
        ],
    );
    // --status-fd: the caller's fd 3.
    let st = stage();
    let mut line = String::new();
    if let Some((u, g)) = st.drop_to {
        line += &format!("setpriv --reuid={u} --regid={g} --clear-groups -- ");
    }
    line += &format!(
        "{} run --status-fd 3 {} /bin/sh -c 'exit 9' 3>&1 >/dev/null",
        st.bin.display(),
        rootfs_arg()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(&line)
        .current_dir(&st.dir)
        .output()
        .unwrap();
    let json = text(&out.stdout);
    assert!(
        json.starts_with("{\"status\":9,\"exit_code\":9,") && json.ends_with("}\n"),
        "{json}"
    );
    // -v: the same facts in one line.
    let out = run(&args(&["-v"], &d, &["/bin/sh", "-c", "exit 4"]));
    assert_has(
        &text(&out.stderr),
        &["sandbox: exited with 4; wall ", "; exit status 4"],
    );
    // Bad sinks fail before anything runs.
    let out = run(&args(
        &["--status-fd", "57"],
        &d,
        &["/bin/sh", "-c", "touch /m/ran"],
    ));
    assert_eq!(out.status.code(), Some(125));
    assert_has(
        &text(&out.stderr),
        &["sandbox: --status-fd: fd 57: Bad file descriptor"],
    );
    let out = run(&args(
        &["--status-file", "/no/such/dir/s.json"],
        &d,
        &["/bin/sh", "-c", "touch /m/ran"],
    ));
    assert_eq!(out.status.code(), Some(125));
    assert_has(
        &text(&out.stderr),
        &["sandbox: open the status file: /no/such/dir/s.json: No such file or directory"],
    );
    assert!(!d.join("ran").exists());
}

fn a_flood_of_output_and_an_early_closing_reader_end_promptly() {
    for init in [false, true] {
        let mut a: Vec<String> = vec!["run".into()];
        if init {
            a.push("--init".into());
        }
        a.extend([rootfs_arg(), "yes".into()]);
        let mut child = sandbox(&a)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        out.read_exact(&mut byte).unwrap();
        drop(out);
        // `yes` as PID 1 gets EPIPE (the kernel drops SIGPIPE for it) and
        // exits 1; as PID 2 under --init it dies of SIGPIPE. Either way it
        // ends: a hang here is the failure.
        let code = child.wait().unwrap().code();
        assert_eq!(code, Some(if init { 128 + 13 } else { 1 }), "init={init}");
    }
    // 256 MiB through the launcher's stdout: passed straight through, never
    // buffered, so the launcher stays small however much goes by.
    let mut child = sandbox([
        "run",
        &rootfs_arg(),
        "/bin/sh",
        "-c",
        "head -c 268435456 /dev/zero",
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let launcher = child.id();
    let mut out = child.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let (mut total, mut peak_kb) = (0u64, 0u64);
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        total += n as u64;
        if let Ok(s) = fs::read_to_string(format!("/proc/{launcher}/status")) {
            if let Some(v) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
                peak_kb = v.trim().trim_end_matches(" kB").parse().unwrap_or(peak_kb);
            }
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(total, 256 << 20);
    assert!(
        peak_kb > 0 && peak_kb < 16 * 1024,
        "launcher peak RSS {peak_kb} kB"
    );
}

tests![
    exit_status_and_128_plus_n,
    every_forwarded_signal_reaches_a_handler,
    forwarded_signals_reach_a_trap_when_the_caller_ignores_them,
    term_ignored_by_pid_1_escalates_to_kill,
    terminal_ctrl_c_reaches_the_command_once_and_does_not_stop_the_sandbox,
    init_reaps_thousands_of_orphans,
    init_runs_the_command_as_pid_2,
    main_exit_takes_daemons_with_it,
    launcher_killed_with_sigkill_leaves_no_survivor,
    timeout_kills_setsid_double_forked_term_ignoring_trees,
    cgroup_limits_fail_closed_without_a_delegated_cgroup,
    fork_bomb_is_contained_by_nproc,
    fork_bomb_is_contained_by_pids,
    memory_bomb_is_contained_by_as,
    memory_bomb_is_contained_by_memory,
    disk_bombs_stop_at_the_size_caps,
    rlimit_ends_show_in_the_status,
    status_json_for_every_kind_of_end,
    status_file_written_when_the_run_fails_before_it_starts,
    a_flood_of_output_and_an_early_closing_reader_end_promptly,
];
