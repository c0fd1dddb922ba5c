//! `--limit NAME=VALUE`: rlimits set for the command, core dumps off by
//! default. Every launch runs as the unprivileged test uid.

mod common;

use common::*;

fn fsize_stops_a_file_at_the_limit() {
    // dd runs as a child of the shell: PID 1 itself would not die of
    // SIGXFSZ (see docs/DECISIONS.md on PID 1 and signals).
    let script = "dd if=/dev/zero of=/tmp/f bs=1k count=10 2>/dev/null; echo rc=$?; wc -c < /tmp/f";
    let out = run_ok(&["--limit", "fsize=1K", "/bin/sh", "-c", script]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["rc=153", "1024"],
        "{out}"
    );
    // Control: without the limit the same write completes.
    let out = run_ok(&["/bin/sh", "-c", script]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["rc=0", "10240"],
        "{out}"
    );
}

fn cpu_sends_sigxcpu_at_the_limit() {
    // RLIMIT_CPU counts the process's CPU time from its start, the child
    // stage's set-up included (a few ms here, but most of a second under
    // the emulated kernel of make test-vm, where a 1 s limit could be
    // crossed before the shell ran): 3 s leaves room for that.
    let out = run_ok(&[
        "--limit",
        "cpu=3",
        "/bin/sh",
        "-c",
        "ulimit -t; (while :; do :; done); echo rc=$?",
    ]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["3", "rc=152"],
        "{out}"
    );
    // Control: no cpu limit unless asked.
    let out = run_ok(&["/bin/sh", "-c", "ulimit -t"]);
    assert_eq!(out.trim(), "unlimited");
}

fn nofile_caps_open_descriptors() {
    let script = "exec 3</dev/null 4</dev/null 5</dev/null 6</dev/null 7</dev/null 8</dev/null 9</dev/null && echo opened";
    let out = run(&[
        "run",
        "--limit",
        "nofile=8",
        &rootfs_arg(),
        "/bin/sh",
        "-c",
        script,
    ]);
    assert!(
        text(&out.stderr).contains("Too many open files"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stdout).contains("opened"));
    // Control: the same opens work without the limit.
    assert_eq!(run_ok(&["/bin/sh", "-c", script]).trim(), "opened");
}

fn core_dumps_are_off_unless_asked() {
    assert_eq!(run_ok(&["/bin/sh", "-c", "ulimit -c"]).trim(), "0");
    // BusyBox's ulimit -c counts 512-byte blocks.
    let out = run_ok(&["--limit", "core=1M", "/bin/sh", "-c", "ulimit -c"]);
    assert_eq!(out.trim(), "2048");
    // A later --limit for the same resource wins.
    let out = run_ok(&[
        "--limit",
        "nofile=10",
        "--limit",
        "nofile=12",
        "/bin/sh",
        "-c",
        "ulimit -n",
    ]);
    assert_eq!(out.trim(), "12");
}

fn limits_that_cannot_be_set_fail_before_starting() {
    let out = run(&["run", "--limit", "nofile=unlimited", &rootfs_arg(), "true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(
        err.contains("sandbox: --limit: nofile=unlimited is above your hard limit"),
        "{err}"
    );
    for bad in ["nofile", "bogus=1", "nofile=1.5", "nofile=-3"] {
        let out = run(&["run", "--limit", bad, &rootfs_arg(), "true"]);
        assert_eq!(out.status.code(), Some(125), "{bad}");
        assert!(
            text(&out.stderr).starts_with("sandbox: usage: --limit"),
            "{bad}: {}",
            text(&out.stderr)
        );
    }
}

/// The status names the limits the launcher can see hit, and never claims
/// that nothing was hit when an rlimit could have been hit unseen
/// (`limits_hit_complete`). Under --init, init reports the SIGXFSZ deaths
/// of the processes it reaps, orphans included.
fn limits_hit_says_what_can_be_known() {
    let dir = test_dir("limits-hit");
    let status = dir.join("status.json");
    let run_status = |opts: &[&str], script: &str| -> (String, String) {
        let mut a = vec!["run", "--status-file", status.to_str().unwrap()];
        a.extend(opts);
        let root = rootfs_arg();
        a.extend([root.as_str(), "/bin/sh", "-c", script]);
        let out = run(&a);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        (std::fs::read_to_string(&status).unwrap(), text(&out.stderr))
    };
    // An orphan (its parent, the subshell, is gone) writes 5 MB; the
    // command waits for it through the pipe it holds on fd 3.
    let orphan = "( sh -c 'head -c 5000000 /dev/zero > /tmp/f' 3>&1 & ) | cat; wc -c < /tmp/f >&2";

    // Control: without a limit the write completes, and with no rlimit
    // the list is complete.
    let (j, size) = run_status(&["--init"], orphan);
    assert_eq!(size.trim(), "5000000");
    assert!(
        j.contains("\"limits_hit\":[],\"limits_hit_complete\":true"),
        "{j}"
    );
    // Under --init, init reaps the orphan killed by SIGXFSZ and says so,
    // though the command itself exits 0.
    let (j, size) = run_status(&["--init", "--limit", "fsize=1M"], orphan);
    assert_eq!(size.trim(), "1048576");
    assert!(j.contains("\"exit_code\":0,"), "{j}");
    assert!(
        j.contains("\"limits_hit\":[\"fsize\"],\"limits_hit_complete\":false"),
        "{j}"
    );
    // Without --init the orphan is reaped inside the sandbox, and PID 1's
    // own write past the limit only gets EFBIG: nothing for the launcher
    // to see, and the status says the list may be short.
    for script in [orphan, "head -c 5000000 /dev/zero > /tmp/f; true"] {
        let (j, _) = run_status(&["--limit", "fsize=1M"], script);
        assert!(
            j.contains("\"limits_hit\":[],\"limits_hit_complete\":false"),
            "{script}: {j}"
        );
    }
    // nproc: fork's EAGAIN leaves no trace outside (--pids, through a
    // cgroup, is the counted one), so the list is not complete either.
    let (j, _) = run_status(&["--limit", "nproc=1000"], "true");
    assert!(j.contains("\"limits_hit_complete\":false"), "{j}");
}

tests![
    fsize_stops_a_file_at_the_limit,
    cpu_sends_sigxcpu_at_the_limit,
    nofile_caps_open_descriptors,
    core_dumps_are_off_unless_asked,
    limits_that_cannot_be_set_fail_before_starting,
    limits_hit_says_what_can_be_known,
];
