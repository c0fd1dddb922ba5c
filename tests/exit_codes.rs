//! Exit codes (README, "Exit codes") and the one-line errors behind 125/126/127.

mod common;

use std::time::Duration;

use common::*;

fn code(args: &[&str]) -> (i32, String) {
    let out = run(args);
    (
        out.status.code().expect("launcher killed by a signal"),
        text(&out.stderr),
    )
}

/// Exactly one error line (plus at most one hint line), prefixed `sandbox:`.
fn assert_one_error(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    let errors: Vec<&&str> = lines
        .iter()
        .filter(|l| !l.starts_with("sandbox: hint: "))
        .collect();
    assert_eq!(errors.len(), 1, "want one error line, got: {stderr}");
    assert!(errors[0].starts_with("sandbox: "), "{stderr}");
    assert!(errors[0].contains(needle), "{needle:?} not in {stderr}");
    assert!(lines.len() <= 2, "{stderr}");
}

fn the_commands_own_status_passes_through() {
    let r = rootfs_arg();
    for n in [0, 1, 42, 255] {
        let (c, _) = code(&["run", &r, "/bin/sh", "-c", &format!("exit {n}")]);
        assert_eq!(c, n);
    }
}

fn killed_by_signal_n_is_128_plus_n() {
    let mut child = sandbox(["run", &rootfs_arg(), "sleep", "60"])
        .spawn()
        .unwrap();
    let init = sandbox_init(child.id(), Some("sleep"));
    // From the parent namespace, SIGKILL reaches PID 1 of the sandbox.
    send_signal("-KILL", init);
    assert_eq!(child.wait().unwrap().code(), Some(128 + 9));
}

fn stop_request_to_the_launcher_ends_the_sandbox() {
    // sleep as PID 1 has no handler, so the forwarded SIGTERM is dropped by
    // the kernel; the launcher kills the sandbox after its grace period.
    let mut child = sandbox(["run", &rootfs_arg(), "sleep", "60"])
        .spawn()
        .unwrap();
    let init = sandbox_init(child.id(), Some("sleep"));
    send_signal("-TERM", child.id());
    assert_eq!(child.wait().unwrap().code(), Some(128 + 9));
    assert!(!std::path::Path::new(&format!("/proc/{init}")).exists());
}

fn a_handled_signal_is_forwarded() {
    let mut child = sandbox([
        "run",
        &rootfs_arg(),
        "/bin/sh",
        "-c",
        "trap 'exit 7' USR1; sleep 60 & wait",
    ])
    .spawn()
    .unwrap();
    sandbox_init(child.id(), Some("sh"));
    std::thread::sleep(Duration::from_millis(200));
    send_signal("-USR1", child.id());
    assert_eq!(child.wait().unwrap().code(), Some(7));
}

fn not_found_is_127_and_names_the_rootfs() {
    let r = rootfs_arg();
    let (c, err) = code(&["run", &r, "no-such-command"]);
    assert_eq!(c, 127);
    assert_one_error(
        &err,
        &format!("exec: no-such-command: not found in rootfs {r}"),
    );
    let (c, err) = code(&["run", &r, "/no/such/path"]);
    assert_eq!(c, 127);
    assert_one_error(&err, "exec: /no/such/path: not found in rootfs");
    // `--` makes a dashed name a command, never an option.
    let (c, err) = code(&["run", &r, "--", "--weird-name"]);
    assert_eq!(c, 127);
    assert_one_error(&err, "exec: --weird-name: not found");
}

fn not_executable_is_126() {
    let r = rootfs_arg();
    let (c, err) = code(&["run", &r, "/etc/passwd"]);
    assert_eq!(c, 126);
    assert_one_error(&err, "exec: /etc/passwd: Permission denied");
    let (c, err) = code(&["run", &r, "/etc"]);
    assert_eq!(c, 126);
    assert_one_error(&err, "exec: /etc:");
}

fn bad_input_is_125_with_one_clear_line() {
    let st = stage();
    let r = rootfs_arg();
    let file = st.bin.display().to_string();
    let cases: &[(&[&str], &str)] = &[
        (
            &["run", "/no/such/rootfs"],
            "rootfs: /no/such/rootfs: No such file or directory",
        ),
        (&["run", &file], "not a directory"),
        (&["run", "--frob", &r], "usage: unknown option --frob"),
        (&["run", &r, "--frob"], "usage: unknown option --frob"),
        (
            &["run", "--hostname", "", &r],
            "hostname \"\" must be 1 to 64 characters",
        ),
        (
            &["run", "--bind", "/no/such/src", &r],
            "--bind source: /no/such/src: No such file or directory",
        ),
        (
            &["run", "--ro-bind", "/no/such/src:/x", &r],
            "--ro-bind source: /no/such/src",
        ),
        (&["run"], "missing ROOTFS"),
        (&["frob"], "unknown command"),
        (
            &["run", "--chdir", "/no/such/dir", &r, "true"],
            "chdir: /no/such/dir: No such file or directory",
        ),
        // The engine's second stage, run by hand: no plan on fd 4, not
        // PID 1 of a new namespace.
        (
            &["child"],
            "child: this is the internal second stage of 'sandbox run' and is not run by hand",
        ),
    ];
    for (args, needle) in cases {
        let (c, err) = code(args);
        assert_eq!(c, 125, "{args:?}: {err}");
        assert_one_error(&err, needle);
    }
}

fn help_and_version() {
    let out = run(&["run", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    for opt in [
        "--hostname",
        "--chdir",
        "--setenv",
        "--uid",
        "--gid",
        "--share-net",
        "--bind",
        "--ro-bind",
        "--rw",
        "--read-only",
        "--init",
        "--timeout",
        "--kill-after",
        "--memory",
        "--pids",
        "--cpus",
        "--status-file",
        "--status-fd",
        "--tmp-size",
        "--shm-size",
        "--root-size",
    ] {
        assert!(text(&out.stdout).contains(opt), "{opt} missing from --help");
    }
    let out = run(&["--version"]);
    assert_eq!(
        text(&out.stdout),
        format!("sandbox {}\n", env!("CARGO_PKG_VERSION"))
    );
}

fn missing_rootfs_hint_says_how_to_build_one() {
    let (_, err) = code(&["run", "./rootfs-that-is-not-there"]);
    assert!(
        err.contains("sandbox: hint: ") && err.contains("make rootfs"),
        "{err}"
    );
}

/// A kernel that refuses a network namespace (here: a user namespace of
/// our own whose user.max_net_namespaces is 0) is named as the cause, once,
/// with what to do. (The child stage's helper thread makes it, and its
/// failure comes back as the stage's one error.)
fn a_refused_network_namespace_is_the_error_shown() {
    let st = stage();
    let wrapped = |extra: &str| {
        let line = format!(
            "echo 0 > /proc/sys/user/max_net_namespaces && exec '{}' run {extra} '{}' /bin/true",
            st.bin.display(),
            rootfs_arg()
        );
        let out = as_test_user("unshare")
            .args(["-Ur", "sh", "-c", &line])
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .current_dir(&st.dir)
            .output()
            .expect("unshare (util-linux) runs");
        (out.status.code(), text(&out.stderr))
    };
    let (code, err) = wrapped("");
    assert_eq!(code, Some(125), "{err}");
    assert_one_error(&err, "create the network namespace");
    assert!(err.contains("user.max_net_namespaces"), "{err}");
    // Control: the same nested user namespace runs a sandbox that needs no
    // network namespace.
    let (code, err) = wrapped("--share-net");
    assert_eq!(code, Some(0), "{err}");
}

tests![
    the_commands_own_status_passes_through,
    killed_by_signal_n_is_128_plus_n,
    stop_request_to_the_launcher_ends_the_sandbox,
    a_handled_signal_is_forwarded,
    not_found_is_127_and_names_the_rootfs,
    not_executable_is_126,
    bad_input_is_125_with_one_clear_line,
    help_and_version,
    missing_rootfs_hint_says_how_to_build_one,
    a_refused_network_namespace_is_the_error_shown,
];
