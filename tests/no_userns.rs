//! `--userns auto|require|off` and the host mode (issue 26, part 3): where
//! no user namespace can be made, `auto` runs the command on the host's
//! `/` under Landlock, seccomp and no_new_privs and says what was lost,
//! `require` fails with the fix, `off` always takes the mode.
//!
//! A host that refuses user namespaces is made here as the kernel allows
//! any user: a user namespace of the test uid's own (`unshare -U -r`)
//! whose `user.max_user_namespaces` it sets to 0, so nothing inside can
//! make another. Each case has its control: the same command where
//! namespaces work gets them (PID 1, the overlay root). The same cases run
//! inside `podman run` (tests/oci/no-userns, `make test-oci`) and in the
//! VM with the sysctl set (tests/vm/).

mod common;

use std::fs;
use std::process::Output;

use common::*;

/// What tells a run with namespaces from one without: the command is PID
/// 1 of a new PID namespace in the first, not in the second.
const PID: &str = "echo pid=$$";

/// `sandbox ARGS` as the test uid inside a user namespace of its own whose
/// `user.max_user_namespaces` is 0; `None` (skipped) if this kernel does
/// not let that be set.
fn capped(test: &str, args: &[&str]) -> Option<Output> {
    let st = stage();
    let script = "echo 0 > /proc/sys/user/max_user_namespaces || exit 90; \
                  [ \"$(cat /proc/sys/user/max_user_namespaces)\" = 0 ] || exit 91; \
                  unshare -U true 2>/dev/null && exit 92; exec \"$@\"";
    let out = as_test_user("unshare")
        .args(["-U", "-r", "sh", "-c", script, "sh"])
        .arg(&st.bin)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .current_dir(&st.dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("unshare");
    match out.status.code() {
        Some(90..=92) => {
            skip(
                test,
                "max-userns-0",
                &format!(
                    "cannot cap user.max_user_namespaces at 0 in a user namespace here (step {}): {}",
                    out.status.code().unwrap(),
                    text(&out.stderr)
                ),
            );
            None
        }
        _ => Some(out),
    }
}

fn pid_of(out: &Output) -> String {
    text(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("pid=").map(str::to_string))
        .unwrap_or_default()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// Whether the test uid can make a user namespace on this host (the
/// controls need one).
fn userns_works(test: &str) -> bool {
    let ok = as_test_user("unshare")
        .args(["-U", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(
            test,
            "userns",
            "the test uid cannot make a user namespace here: no control possible",
        );
    }
    ok
}

/// In the capped namespace `auto` runs the command without namespaces and
/// says once what was lost and why. Control: the same command on the host
/// is PID 1 of its own namespace, with no notice.
fn auto_takes_the_host_mode_where_max_user_namespaces_is_0() {
    let t = "auto_takes_the_host_mode_where_max_user_namespaces_is_0";
    if !userns_works(t) {
        return;
    }
    let Some(out) = capped(t, &["run", "/", "sh", "-c", PID]) else {
        return;
    };
    assert!(out.status.success(), "{}", show(&out));
    assert_ne!(pid_of(&out), "1", "{}", show(&out));
    let err = text(&out.stderr);
    assert_eq!(err.matches("notice:").count(), 1, "{err}");
    for said in [
        "user.max_user_namespaces is 0",
        "namespaces",
        "overlay root",
        "/proc isolation",
        "sysctl -w user.max_user_namespaces=",
    ] {
        assert!(err.contains(said), "{said:?} not in: {err}");
    }
    // Control.
    let out = run(&["run", "/", "sh", "-c", PID]);
    assert!(out.status.success(), "control: {}", show(&out));
    assert_eq!(pid_of(&out), "1", "control: {}", show(&out));
    assert!(
        !text(&out.stderr).contains("notice"),
        "control: {}",
        show(&out)
    );
}

/// `require` fails with 125, the cause and the exact fix, and runs
/// nothing. Control: on the host it runs with namespaces.
fn require_fails_with_the_fix_where_max_user_namespaces_is_0() {
    let t = "require_fails_with_the_fix_where_max_user_namespaces_is_0";
    if !userns_works(t) {
        return;
    }
    let Some(out) = capped(t, &["run", "--userns", "require", "/", "sh", "-c", PID]) else {
        return;
    };
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    assert!(text(&out.stdout).is_empty(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("required (--userns require), but user.max_user_namespaces is 0")
            && err.contains("hint: sudo sysctl -w user.max_user_namespaces=15000"),
        "{err}"
    );
    let out = run(&["run", "--userns", "require", "/", "sh", "-c", PID]);
    assert!(out.status.success(), "control: {}", show(&out));
    assert_eq!(pid_of(&out), "1", "control: {}", show(&out));
}

/// `off` takes the host mode even where namespaces work, and in the capped
/// namespace too; control: `auto` on the same host gets namespaces.
fn off_always_takes_the_host_mode() {
    let t = "off_always_takes_the_host_mode";
    if !userns_works(t) {
        return;
    }
    let out = run(&["run", "--userns", "off", "/", "sh", "-c", PID]);
    assert!(out.status.success(), "{}", show(&out));
    assert_ne!(pid_of(&out), "1", "{}", show(&out));
    assert!(
        text(&out.stderr).contains("notice: --userns off: running in the host mode"),
        "{}",
        show(&out)
    );
    if let Some(out) = capped(t, &["run", "--userns", "off", "/", "sh", "-c", PID]) {
        assert!(out.status.success(), "{}", show(&out));
        assert!(text(&out.stderr).contains("--userns off"), "{}", show(&out));
    }
    let out = run(&["run", "--userns", "auto", "/", "sh", "-c", PID]);
    assert_eq!(pid_of(&out), "1", "control: {}", show(&out));
}

/// A rootfs other than `/` cannot be had without a mount namespace: one
/// clear line, 125, nothing run. Control: the same rootfs with namespaces.
fn host_mode_refuses_a_rootfs_other_than_the_hosts() {
    let out = run(&["run", "--userns", "off", &rootfs_arg(), "true"]);
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("without a user namespace the root can only be the host's /"),
        "{}",
        show(&out)
    );
    if userns_works("host_mode_refuses_a_rootfs_other_than_the_hosts") {
        let out = run(&["run", &rootfs_arg(), "true"]);
        assert!(out.status.success(), "control: {}", show(&out));
    }
}

/// Attack: write to a directory of the caller's that is not a `--bind`
/// target. Landlock refuses it (the file modes would allow it). Control:
/// the same write into the bound directory lands, and into the first one
/// once it is bound too.
fn host_mode_writes_only_beneath_bind_targets() {
    if landlock_abi().is_none() {
        skip(
            "host_mode_writes_only_beneath_bind_targets",
            "landlock",
            "the kernel offers no Landlock",
        );
        return;
    }
    let open = test_dir("no-userns-open");
    let other = test_dir("no-userns-other");
    let (o, x) = (open.display().to_string(), other.display().to_string());
    let script = format!("echo a > {o}/in; echo b > {x}/out && echo WROTE");
    let out = run(&[
        "run", "--userns", "off", "--bind", &o, "/", "sh", "-c", &script,
    ]);
    assert!(open.join("in").exists(), "control: {}", show(&out));
    assert!(!other.join("out").exists(), "{}", show(&out));
    assert!(!text(&out.stdout).contains("WROTE"), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("Permission denied"),
        "{}",
        show(&out)
    );
    // Control: bound, the same write lands.
    let out = run(&[
        "run", "--userns", "off", "--bind", &o, "--bind", &x, "/", "sh", "-c", &script,
    ]);
    assert!(
        text(&out.stdout).contains("WROTE"),
        "control: {}",
        show(&out)
    );
    assert!(other.join("out").exists(), "control: {}", show(&out));
}

/// Attack: read a file beneath a `--tmpfs` target, which the host mode
/// hides (no mount can cover it with an empty tmpfs; Landlock refuses
/// every access beneath it). Controls: without `--tmpfs` the same read
/// works, and a sibling of the hidden directory stays readable.
fn host_mode_hides_tmpfs_targets() {
    if landlock_abi().is_none() {
        skip(
            "host_mode_hides_tmpfs_targets",
            "landlock",
            "the kernel offers no Landlock",
        );
        return;
    }
    let d = test_dir("no-userns-hidden");
    sh_as_test_user(&format!(
        "mkdir -p {0}/secret {0}/open && echo KEY > {0}/secret/id && echo PUB > {0}/open/f",
        d.display()
    ));
    let (secret, open) = (d.join("secret"), d.join("open/f"));
    let script = format!("cat {}/id; cat {}", secret.display(), open.display());
    let hide = secret.display().to_string();
    let out = run(&[
        "run", "--userns", "off", "--tmpfs", &hide, "/", "sh", "-c", &script,
    ]);
    let o = text(&out.stdout);
    assert!(!o.contains("KEY"), "{}", show(&out));
    assert!(o.contains("PUB"), "control (sibling): {}", show(&out));
    assert!(
        text(&out.stderr).contains("Permission denied"),
        "{}",
        show(&out)
    );
    let out = run(&["run", "--userns", "off", "/", "sh", "-c", &script]);
    assert!(text(&out.stdout).contains("KEY"), "control: {}", show(&out));
}

/// Attack: make a user namespace from inside the host mode (the way back
/// to capabilities, and to mounts over what Landlock guards). The seccomp
/// filter refuses it. Control: with `--seccomp off` the same call works
/// (so it was the filter, not the host), and on the host it works.
fn host_mode_refuses_namespace_creation() {
    let t = "host_mode_refuses_namespace_creation";
    if !userns_works(t) {
        return;
    }
    let probe = stage().probe.display().to_string();
    let cmd = "unshare -U true && echo MADE; unshare -n true && echo NET";
    let out = run(&["run", "--userns", "off", "/", "sh", "-c", cmd]);
    assert!(!text(&out.stdout).contains("MADE"), "{}", show(&out));
    assert!(!text(&out.stdout).contains("NET"), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        show(&out)
    );
    // The raw call too (unshare(2) with every flag, through the probe).
    let out = run(&["run", "--userns", "off", "/", &probe, "syscall", "unshare"]);
    let raw = text(&out.stdout);
    let out_ctl = run(&[
        "run",
        "--userns",
        "off",
        "--seccomp",
        "off",
        "/",
        &probe,
        "syscall",
        "unshare",
    ]);
    let raw_ctl = text(&out_ctl.stdout);
    let out = run(&[
        "run",
        "--userns",
        "off",
        "--seccomp",
        "off",
        "/",
        "sh",
        "-c",
        cmd,
    ]);
    assert!(
        text(&out.stdout).contains("MADE"),
        "control: {}",
        show(&out)
    );
    assert_eq!(raw.trim(), "unshare EPERM", "{raw}");
    // Control: unfiltered, the bad flags get the kernel's EINVAL.
    assert_eq!(raw_ctl.trim(), "unshare EINVAL", "control: {raw_ctl}");
}

/// The supervision is the same without namespaces: `--timeout` ends the
/// command with 124 and the status JSON says so. Control: without a
/// timeout the command's own status.
fn host_mode_keeps_timeout_and_status() {
    let d = test_dir("no-userns-status");
    let status = d.join("s.json").display().to_string();
    let out = run(&[
        "run",
        "--userns",
        "off",
        "--timeout",
        "0.3",
        "--status-file",
        &status,
        "/",
        "sleep",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(124), "{}", show(&out));
    let json = fs::read_to_string(&status).unwrap();
    assert!(json.contains("\"timed_out\":true"), "{json}");
    let out = run(&[
        "run",
        "--userns",
        "off",
        "--status-file",
        &status,
        "/",
        "sh",
        "-c",
        "exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "control: {}", show(&out));
    let json = fs::read_to_string(&status).unwrap();
    assert!(json.contains("\"timed_out\":false"), "control: {json}");
}

/// The path rules of `--allow-read` and co. hold in the host mode too,
/// and `--report-denials` names what the filter refused there. Attack:
/// read a file outside the rules; control: the same read once its
/// directory is allowed. Denials: `unshare` refused by the filter is
/// named in the status file; control: without the option, no "denied".
fn host_mode_takes_path_rules_and_reports_denials() {
    if landlock_abi().is_none_or(|abi| abi < 3) {
        skip(
            "host_mode_takes_path_rules_and_reports_denials",
            "landlock-abi3",
            "the kernel offers no Landlock ABI 3 (path rules; the host mode requires what they need)",
        );
        return;
    }
    let d = test_dir("no-userns-rules");
    fs::write(d.join("secret"), "s3cret\n").unwrap();
    let dir = d.display().to_string();
    let script = format!("cat {dir}/secret && echo READ");
    let rules = ["--allow-exec", "/usr", "--allow-read", "/etc"];
    let mut args = vec!["run", "--userns", "off"];
    args.extend(rules);
    args.extend(["/", "sh", "-c", &script]);
    let out = run(&args);
    assert!(!text(&out.stdout).contains("READ"), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("Permission denied"),
        "{}",
        show(&out)
    );
    let mut args = vec!["run", "--userns", "off", "--allow-read", &dir];
    args.extend(rules);
    args.extend(["/", "sh", "-c", &script]);
    let out = run(&args);
    assert!(
        text(&out.stdout).contains("s3cret\nREAD"),
        "control: {}",
        show(&out)
    );

    let status = d.join("s.json").display().to_string();
    let denied = |report: bool| {
        let mut args = vec!["run", "--userns", "off", "--status-file", &status];
        if report {
            args.push("--report-denials");
        }
        args.extend(["/", "sh", "-c", "unshare -n true; echo done"]);
        let out = run(&args);
        assert!(text(&out.stdout).contains("done"), "{}", show(&out));
        fs::read_to_string(&status).unwrap()
    };
    let json = denied(true);
    assert!(json.contains("\"name\":\"unshare\""), "{json}");
    let json = denied(false);
    assert!(!json.contains("\"denied\""), "control: {json}");
}

/// `sandbox ARGS` as the test uid under the probe's seccomp filter that
/// refuses one step of the stage's set-up as a host would (`probe refuse
/// WHAT`: a fresh /proc's mount with EPERM, the kernel's answer under a
/// masked /proc; pivot_root with EACCES, an LSM's). The checks before
/// clone cannot see either (the filter lets the user namespace, the
/// hostname and a private mount be made): the refusal comes late, from the
/// stage. `None` (skipped) where the filter cannot be installed.
fn refusing(test: &str, what: &str, args: &[&str]) -> Option<Output> {
    let st = stage();
    let out = as_test_user(&st.probe)
        .args(["refuse", what])
        .arg(&st.bin)
        .args(weaken(args.iter().map(|a| a.into()).collect()))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .current_dir(&st.dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("probe refuse");
    if out.status.code() == Some(1) && text(&out.stderr).contains("refuse: seccomp") {
        skip(
            test,
            "seccomp",
            &format!("no seccomp filter here: {}", text(&out.stderr)),
        );
        return None;
    }
    Some(out)
}

/// The late refusals the tests simulate: the probe's name for it, the
/// stage's step and the errno's text.
const LATE: [(&str, &str, &str); 2] = [
    ("mount-proc", "mount proc", "Operation not permitted"),
    ("pivot_root", "pivot_root", "Permission denied"),
];

/// A refusal the checks before clone miss (the stage's fresh /proc, or its
/// pivot_root, refused) is answered late by `auto`: the failed stage is
/// reaped and the command runs once, in the host mode, after one notice
/// naming the step and the errno. Control: the same command without the
/// refusal is PID 1 of its own namespaces with its own /proc, no notice.
fn auto_falls_back_late_when_the_stage_is_refused() {
    let t = "auto_falls_back_late_when_the_stage_is_refused";
    if !userns_works(t) {
        return;
    }
    let d = test_dir("no-userns-late");
    let dir = d.display().to_string();
    // Counts the command's runs, and says whose /proc it sees: the
    // sandbox's own lists a handful of processes, the host's many more.
    let cmd = format!(
        "echo run >> {dir}/runs; echo pid=$$; echo procs=$(ls -d /proc/[0-9]* 2>/dev/null | wc -l)"
    );
    for (what, step, errno) in LATE {
        let _ = fs::remove_file(d.join("runs"));
        let Some(out) = refusing(t, what, &["run", "--bind", &dir, "/", "sh", "-c", &cmd]) else {
            return;
        };
        assert!(out.status.success(), "{what}: {}", show(&out));
        assert_ne!(pid_of(&out), "1", "{what}: {}", show(&out));
        let err = text(&out.stderr);
        assert_eq!(err.matches("notice:").count(), 1, "{what}: {err}");
        for said in [
            &format!("{step} in the sandbox's new namespaces: {errno}") as &str,
            "running in the host mode",
            "/proc isolation",
            "to get them back",
        ] {
            assert!(err.contains(said), "{what}: {said:?} not in: {err}");
        }
        assert!(
            err.lines().all(|l| l.starts_with("sandbox: notice:")),
            "{what}: {err}"
        );
        // Once: the refused stage ran nothing of the command.
        assert_eq!(
            fs::read_to_string(d.join("runs")).unwrap(),
            "run\n",
            "{what}: {}",
            show(&out)
        );
    }
    // Control.
    let _ = fs::remove_file(d.join("runs"));
    let out = run(&["run", "--bind", &dir, "/", "sh", "-c", &cmd]);
    assert!(out.status.success(), "control: {}", show(&out));
    assert_eq!(pid_of(&out), "1", "control: {}", show(&out));
    let procs = |o: &Output| -> usize {
        text(&o.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("procs=")?.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(procs(&out) <= 5, "control: its own /proc: {}", show(&out));
    assert!(
        !text(&out.stderr).contains("notice"),
        "control: {}",
        show(&out)
    );
    assert_eq!(
        fs::read_to_string(d.join("runs")).unwrap(),
        "run\n",
        "control"
    );
}

/// `require` answers the same late refusals with 125, the step, the errno
/// and the fix, and the command never runs. Control: without the refusal
/// `require` runs it in its namespaces.
fn require_fails_late_refusals_with_the_fix() {
    let t = "require_fails_late_refusals_with_the_fix";
    if !userns_works(t) {
        return;
    }
    for (what, step, errno) in LATE {
        let Some(out) = refusing(
            t,
            what,
            &["run", "--userns", "require", "/", "sh", "-c", PID],
        ) else {
            return;
        };
        assert_eq!(out.status.code(), Some(125), "{what}: {}", show(&out));
        assert!(text(&out.stdout).is_empty(), "{what}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "required (--userns require), but {step} in the sandbox's new namespaces: {errno}"
            )) && err.contains("sandbox: hint: "),
            "{what}: {err}"
        );
        assert!(!err.contains("host mode"), "{what}: {err}");
    }
    let out = run(&["run", "--userns", "require", "/", "sh", "-c", PID]);
    assert!(out.status.success(), "control: {}", show(&out));
    assert_eq!(pid_of(&out), "1", "control: {}", show(&out));
}

/// An LSM that refuses the id maps' write (EACCES; here the probe's filter
/// refuses every open for writing only): the user namespace is made but
/// cannot be used. `auto` takes the host mode with the notice naming the
/// step and errno, `require` fails 125. Control: unfiltered, PID 1.
fn a_refused_id_map_write_takes_the_host_mode() {
    let t = "a_refused_id_map_write_takes_the_host_mode";
    if !userns_works(t) {
        return;
    }
    let Some(out) = refusing(t, "write-open", &["run", "/", "sh", "-c", PID]) else {
        return;
    };
    assert!(out.status.success(), "{}", show(&out));
    assert_ne!(pid_of(&out), "1", "{}", show(&out));
    let err = text(&out.stderr);
    assert_eq!(err.matches("notice:").count(), 1, "{err}");
    assert!(
        err.contains("(write the id maps: Permission denied): running in the host mode"),
        "{err}"
    );
    let Some(out) = refusing(
        t,
        "write-open",
        &["run", "--userns", "require", "/", "sh", "-c", PID],
    ) else {
        return;
    };
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    assert!(text(&out.stdout).is_empty(), "{}", show(&out));
    assert!(
        text(&out.stderr)
            .contains("required (--userns require), but write the id maps: Permission denied"),
        "{}",
        show(&out)
    );
    let out = run(&["run", "/", "sh", "-c", PID]);
    assert_eq!(pid_of(&out), "1", "control: {}", show(&out));
}

/// A real masked /proc, as a container masks it: in a user and mount
/// namespace of the test uid's own, a file of /proc is covered with
/// /dev/null, and the kernel then refuses the sandbox a fresh /proc
/// (mount_too_revealing). The choice (docs/DECISIONS.md): the host mode,
/// not the host's /proc bound into namespaces it does not describe. `auto`
/// takes it with the notice, `require` fails with the fix (unmask). Found
/// before clone where a container's marker file is (then the mountinfo is
/// read), else late from the stage: the answer is the same. Control: the
/// same namespace without the mask gives the full sandbox (PID 1).
fn a_masked_proc_takes_the_host_mode_or_fails_with_the_fix() {
    let t = "a_masked_proc_takes_the_host_mode_or_fails_with_the_fix";
    if !userns_works(t) {
        return;
    }
    let st = stage();
    let nested = |mask: bool, args: &[&str]| {
        let script = format!(
            "{} exec \"$@\"",
            if mask {
                "for f in /proc/kcore /proc/keys /proc/timer_list /proc/interrupts; do \
                 [ -e $f ] && mount --bind /dev/null $f && exec \"$@\"; done; exit 90;"
            } else {
                ""
            }
        );
        as_test_user("unshare")
            .args(["-U", "-r", "-m", "sh", "-c", &script, "sh"])
            .arg(&st.bin)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .current_dir(&st.dir)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("unshare")
    };
    let out = nested(false, &["run", "/", "sh", "-c", PID]);
    if !out.status.success() {
        skip(
            t,
            "nested-userns",
            &format!(
                "no sandbox in a user namespace of the test uid's own here: {}",
                show(&out)
            ),
        );
        return;
    }
    assert_eq!(pid_of(&out), "1", "control: {}", show(&out));
    let out = nested(true, &["run", "/", "sh", "-c", PID]);
    if out.status.code() == Some(90) {
        skip(
            t,
            "nested-userns",
            &format!("cannot mask a file of /proc here: {}", show(&out)),
        );
        return;
    }
    assert!(out.status.success(), "{}", show(&out));
    assert_ne!(pid_of(&out), "1", "{}", show(&out));
    let err = text(&out.stderr);
    assert_eq!(err.matches("notice:").count(), 1, "{err}");
    assert!(
        err.contains("/proc is partly masked")
            && err.contains("running in the host mode")
            && err.contains("unmask"),
        "{err}"
    );
    let out = nested(true, &["run", "--userns", "require", "/", "sh", "-c", PID]);
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    assert!(text(&out.stdout).is_empty(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("/proc is partly masked") && err.contains("unmask"),
        "{err}"
    );
}

/// A failure of the caller's making is not a refusal, late or not: a
/// missing `--bind` source, and a mount point that cannot be made in the
/// read-only root (an error of the stage before its refused pivot_root),
/// fail with 125 and their own error, with no host mode. Control: the
/// same refusal without them runs in the host mode.
fn config_errors_do_not_fall_back_late() {
    let t = "config_errors_do_not_fall_back_late";
    if !userns_works(t) {
        return;
    }
    let src = test_dir("no-userns-late-src").display().to_string();
    let moved = format!("{src}:/nonexistent-sandbox-test/x");
    let cases: [(&[&str], &str); 2] = [
        (
            &["--bind", "/nonexistent-sandbox-test-src"],
            "--bind source: /nonexistent-sandbox-test-src: No such file or directory",
        ),
        (
            &["--bind", &moved],
            "create mount point: /nonexistent-sandbox-test: Read-only file system",
        ),
    ];
    for (opts, error) in cases {
        let mut args = vec!["run"];
        args.extend(opts);
        args.extend(["/", "sh", "-c", PID]);
        let Some(out) = refusing(t, "pivot_root", &args) else {
            return;
        };
        assert_eq!(out.status.code(), Some(125), "{opts:?}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(err.contains(error), "{opts:?}: {err}");
        assert!(
            !err.contains("host mode") && !err.contains("notice"),
            "{opts:?}: {err}"
        );
        assert!(text(&out.stdout).is_empty(), "{opts:?}: {}", show(&out));
    }
    let Some(out) = refusing(t, "pivot_root", &["run", "/", "sh", "-c", PID]) else {
        return;
    };
    assert!(out.status.success(), "control: {}", show(&out));
    assert!(
        text(&out.stderr).contains("running in the host mode"),
        "control: {}",
        show(&out)
    );
}

/// What the host mode cannot do is refused after a late refusal as after
/// an early one: one error (with why there is no user namespace, and the
/// fix), 125, no notice of a host mode that does not run, nothing run.
/// Control: the same run without the option takes the host mode.
fn late_fallback_refuses_what_the_host_mode_cannot_do() {
    let t = "late_fallback_refuses_what_the_host_mode_cannot_do";
    if !userns_works(t) {
        return;
    }
    let rootfs = rootfs_arg();
    let cases: [(&[&str], &str); 3] = [
        (&["--init", "/"], "host mode: --init: a PID namespace (for init to be PID 1) cannot be made without a user namespace; and there is none here: mount proc in the sandbox's new namespaces"),
        (&["--uid", "5", "/"], "host mode: --uid/--gid:"),
        (&[&rootfs], "without a user namespace the root can only be the host's /; and there is none here: mount proc"),
    ];
    for (opts, error) in cases {
        let mut args = vec!["run"];
        args.extend(opts);
        args.extend(["sh", "-c", PID]);
        let Some(out) = refusing(t, "mount-proc", &args) else {
            return;
        };
        assert_eq!(out.status.code(), Some(125), "{opts:?}: {}", show(&out));
        assert!(text(&out.stdout).is_empty(), "{opts:?}: {}", show(&out));
        let err = text(&out.stderr);
        assert!(err.contains(error), "{opts:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{opts:?}: one error and its hint: {err}");
        assert!(
            lines[1].starts_with("sandbox: hint: ") && lines[1].contains("seccomp profile"),
            "{opts:?}: the fix for the cause: {err}"
        );
        assert!(!err.contains("notice"), "{opts:?}: {err}");
    }
    let Some(out) = refusing(t, "mount-proc", &["run", "/", "sh", "-c", PID]) else {
        return;
    };
    assert!(out.status.success(), "control: {}", show(&out));
    assert_ne!(pid_of(&out), "1", "control: {}", show(&out));
}

fn sh_as_test_user(script: &str) {
    let ok = as_test_user("sh").args(["-c", script]).status().unwrap();
    assert!(ok.success(), "{script}");
}

tests![
    auto_takes_the_host_mode_where_max_user_namespaces_is_0,
    require_fails_with_the_fix_where_max_user_namespaces_is_0,
    off_always_takes_the_host_mode,
    host_mode_refuses_a_rootfs_other_than_the_hosts,
    host_mode_writes_only_beneath_bind_targets,
    host_mode_hides_tmpfs_targets,
    host_mode_refuses_namespace_creation,
    host_mode_keeps_timeout_and_status,
    host_mode_takes_path_rules_and_reports_denials,
    auto_falls_back_late_when_the_stage_is_refused,
    require_fails_late_refusals_with_the_fix,
    a_masked_proc_takes_the_host_mode_or_fails_with_the_fix,
    a_refused_id_map_write_takes_the_host_mode,
    config_errors_do_not_fall_back_late,
    late_fallback_refuses_what_the_host_mode_cannot_do,
];
