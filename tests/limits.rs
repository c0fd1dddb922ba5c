//! `--limit NAME=VALUE`: rlimits set for the command, core dumps off by
//! default. Every launch runs as the unprivileged test uid.

mod common;

use common::*;

#[test]
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

#[test]
fn cpu_sends_sigxcpu_at_the_limit() {
    let out = run_ok(&[
        "--limit",
        "cpu=1",
        "/bin/sh",
        "-c",
        "ulimit -t; (while :; do :; done); echo rc=$?",
    ]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["1", "rc=152"],
        "{out}"
    );
    // Control: no cpu limit unless asked.
    let out = run_ok(&["/bin/sh", "-c", "ulimit -t"]);
    assert_eq!(out.trim(), "unlimited");
}

#[test]
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

#[test]
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

#[test]
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
