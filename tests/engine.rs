//! The engine's shape: the child stage is a re-exec of the binary
//! (`/proc/self/exe child`), it takes its plan only from the launcher, and
//! run by hand it refuses.

mod common;

use common::*;

/// The sandbox's PID 1 under --init is the child stage; from the host its
/// command line must be the re-exec's, `sandbox child`, while the command
/// (PID 2) runs. Without the re-exec it would be the launcher's argv.
fn the_child_stage_is_a_re_exec_of_the_binary() {
    let mut child = sandbox(["run", "--init", &rootfs_arg(), "sleep", "30"])
        .spawn()
        .unwrap();
    let init = sandbox_init(child.id(), None);
    // The stage may still be the clone child for a moment: wait until it
    // has exec'd (bounded).
    let mut cmdline = String::new();
    for _ in 0..200 {
        cmdline = std::fs::read(format!("/proc/{init}/cmdline"))
            .map(|b| text(&b).replace('\0', " "))
            .unwrap_or_default();
        if cmdline.trim() == "sandbox child" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Control: the launcher's own command line is `… run --init ROOTFS
    // sleep 30`, which the clone child shows until it execs.
    let launcher = text(&std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap());
    assert!(launcher.contains("--init"), "control: {launcher:?}");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(cmdline.trim(), "sandbox child");
}

/// `sandbox child` started as PID 1 of a namespace with pipes on fds 3
/// and 4, as the launcher would, but with garbage for a plan: refused with
/// 125 and an encoded error on fd 3, never run.
fn the_child_stage_refuses_a_plan_that_is_not_one() {
    let st = stage();
    let script = format!(
        "exec 4<&0 3>&1 2>/dev/null; exec {} child",
        st.bin.display()
    );
    // fd 4 (stdin) holds the garbage, fd 3 (stdout) takes the report.
    let mut c = as_test_user("unshare");
    c.args(["-Urpf", "--kill-child", "/bin/sh", "-c", &script]);
    c.stdin(std::process::Stdio::piped());
    c.stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"garbage that is no plan\n");
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stdout));
    let report = text(&out.stdout);
    assert!(report.contains("sandbox-error-1"), "{report:?}");
    assert!(report.contains("read the plan"), "{report:?}");
}

/// Control for the test above and the refusal by hand: the same binary,
/// not PID 1 and with no pipes, says what it is and exits 125.
fn sandbox_child_by_hand_refuses_with_one_line() {
    let out = sandbox(["child"]).output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(
            "sandbox: child: this is the internal second stage of 'sandbox run' and is not run by hand\n"
        ),
        "{err}"
    );
    // Even with pipes on 3 and 4, a process that is not PID 1 of a new
    // PID namespace is not the stage.
    let st = stage();
    let script = format!("exec 4<&0 3>&1; exec {} child", st.bin.display());
    let out = as_test_user("/bin/sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("not run by hand"));
}

tests![
    the_child_stage_is_a_re_exec_of_the_binary,
    the_child_stage_refuses_a_plan_that_is_not_one,
    sandbox_child_by_hand_refuses_with_one_line,
];
