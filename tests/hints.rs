//! Hints that name the fix, checked through the binary.

mod common;

use common::*;

/// `sandbox run ./rootfs ./job-on-host.sh`: the script is on the host, not
/// in the rootfs. 127, and the hint says how to bring it in.
fn a_host_script_not_in_the_rootfs_gets_a_bind_hint() {
    let d = test_dir("hint-host-script");
    sh_as_test_user(&format!(
        "printf 'echo hi\\n' > {}/job-on-host.sh",
        d.display()
    ));
    let out = sandbox(["run", &rootfs_arg(), "./job-on-host.sh"])
        .current_dir(&d)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(127), "{err}");
    assert!(err.contains("not found in rootfs"), "{err}");
    assert!(
        err.contains("sandbox: hint: ./job-on-host.sh is a file on the host")
            && err.contains("'--ro-bind ./job-on-host.sh:/job.sh' and run /job.sh"),
        "{err}"
    );
    // The hint's advice works.
    let out = sandbox([
        "run",
        "--ro-bind",
        "./job-on-host.sh:/job.sh",
        &rootfs_arg(),
        "/bin/sh",
        "/job.sh",
    ])
    .current_dir(&d)
    .output()
    .unwrap();
    assert_eq!(text(&out.stdout), "hi\n", "{}", text(&out.stderr));

    // Missing on the host too: no such hint.
    let out = sandbox(["run", &rootfs_arg(), "./nowhere.sh"])
        .current_dir(&d)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(127), "{err}");
    assert!(!err.contains("is a file on the host"), "{err}");
}

/// `sandbox run ROOTFS /bin/sh job.sh --timeout 5`: the --timeout is the
/// command's (it still gets it), and one notice says that it is not
/// sandbox's and where it must go. Controls: the same option before
/// COMMAND, or after a `--`, gets no notice.
fn a_run_option_after_the_command_gets_a_notice() {
    let script = "echo \"args: $*\"";
    let out = sandbox([
        "run",
        &rootfs_arg(),
        "/bin/sh",
        "-c",
        script,
        "sh",
        "--timeout",
        "5",
        "--ro-bind=/a:/b",
    ])
    .output()
    .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(text(&out.stdout), "args: --timeout 5 --ro-bind=/a:/b\n");
    let notices: Vec<&str> = err.lines().filter(|l| l.contains("notice")).collect();
    assert_eq!(notices.len(), 1, "{err}");
    assert!(
        notices[0].contains("--timeout, --ro-bind after COMMAND (/bin/sh)")
            && notices[0].contains("must come before COMMAND"),
        "{err}"
    );
    for a in [
        &[
            "run",
            "--timeout",
            "5",
            &rootfs_arg(),
            "/bin/sh",
            "-c",
            "true",
        ][..],
        &[
            "run",
            &rootfs_arg(),
            "--",
            "/bin/sh",
            "-c",
            script,
            "sh",
            "--timeout",
            "5",
        ],
    ] {
        let out = sandbox(a).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        let err = text(&out.stderr);
        assert!(!err.contains("notice"), "control {a:?}: {err}");
    }
}

/// `--bind D:/data/x --tmpfs /data`: the tmpfs, mounted after the bind,
/// hides it; a notice says so before the run, with the order rule.
/// Control: the other order gets no notice, and the bind is seen.
fn a_tmpfs_over_an_earlier_bind_gets_a_notice() {
    let d = test_dir("hint-covered");
    let bind = format!("{}:/data/x", d.display());
    let root = rootfs_arg();
    let covered = [
        "run", "--bind", &bind, "--tmpfs", "/data", &root, "/bin/sh", "-c", "ls /data",
    ];
    let out = sandbox(covered).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(text(&out.stdout), "", "the tmpfs hides the bind: {err}");
    assert!(
        err.contains("sandbox: notice: --tmpfs /data comes after --bind /data/x and covers it")
            && err.contains("give --tmpfs /data before --bind /data/x"),
        "{err}"
    );
    let fine = [
        "run", "--tmpfs", "/data", "--bind", &bind, &root, "/bin/sh", "-c", "ls /data",
    ];
    let out = sandbox(fine).output().unwrap();
    assert_eq!(text(&out.stdout), "x\n", "control");
    let err = text(&out.stderr);
    assert!(!err.contains("notice"), "control: {err}");
}

fn sh_as_test_user(script: &str) {
    let ok = as_test_user("sh").args(["-c", script]).status().unwrap();
    assert!(ok.success(), "{script}");
}

tests![
    a_host_script_not_in_the_rootfs_gets_a_bind_hint,
    a_run_option_after_the_command_gets_a_notice,
    a_tmpfs_over_an_earlier_bind_gets_a_notice,
];
