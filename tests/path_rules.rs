//! Path rules (issue 25, part 3): `--allow-read`, `--allow-write` and
//! `--allow-exec` narrow, through Landlock, what the command may read,
//! write and execute to the paths given (inside the sandbox), besides what
//! the sandbox itself needs (/proc, /dev's nodes, /tmp, /dev/shm). Each
//! attack is a read, write or exec outside the rules, with its control:
//! the same probe succeeding where the rule allows it, or without rules.
//! On the BusyBox rootfs and on the host's `/`. The TCP connect rule of
//! the same builder (`Plan::connect_ports`) is tested in
//! src/confine/landlock.rs, where it is set.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;

/// Skip unless the kernel offers the test uid Landlock (asked on the
/// host, never of the product).
fn landlock_here(test: &str) -> bool {
    if landlock_abi().is_none() {
        skip(
            test,
            "landlock",
            "the kernel offers no Landlock here (landlock_create_ruleset fails on the host)",
        );
        return false;
    }
    true
}

fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// `sandbox run OPTS ROOT /bin/sh -c SCRIPT` from `dir` (the stage when
/// None).
fn sh(root: &Path, opts: &[&str], script: &str, dir: Option<&Path>) -> Output {
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(opts.iter().map(|s| s.to_string()));
    args.extend([
        root.display().to_string(),
        "/bin/sh".into(),
        "-c".into(),
        script.into(),
    ]);
    let mut c = sandbox(&args);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.output().expect("run sandbox")
}

/// A private BusyBox rootfs (owned by the test uid) with a secret outside
/// /etc and /bin.
fn rootfs_with_secret(name: &str) -> PathBuf {
    let root = private_rootfs(name);
    let ok = as_test_user("sh")
        .arg("-c")
        .arg("mkdir -p \"$0/srv\" && echo SECRET > \"$0/srv/secret\"")
        .arg(&root)
        .status()
        .unwrap()
        .success();
    assert!(ok, "write the secret");
    root
}

fn reads_outside_allow_read_fail_on_a_rootfs() {
    let test = "reads_outside_allow_read_fail_on_a_rootfs";
    if !landlock_here(test) {
        return;
    }
    let root = rootfs_with_secret("pr-read");
    let script = "cat /etc/hostname; cat /srv/secret; echo rc=$?; ls /srv; echo ls=$?";
    let rules = ["--allow-exec", "/bin", "--allow-read", "/etc"];
    let out = sh(&root, &rules, script, None);
    let o = text(&out.stdout);
    let e = text(&out.stderr);
    assert!(out.status.success(), "{}", shown(&out));
    // /etc is allowed: the probe itself works.
    assert!(o.starts_with("sandbox\n"), "{}", shown(&out));
    assert!(!o.contains("SECRET"), "{}", shown(&out));
    assert!(o.contains("rc=1") && o.contains("ls=1"), "{}", shown(&out));
    assert!(
        e.contains("can't open '/srv/secret': Permission denied"),
        "EACCES: {}",
        shown(&out)
    );
    // Controls: the same read with /srv allowed, and with no rule at all.
    let mut allowed = rules.to_vec();
    allowed.extend(["--allow-read", "/srv"]);
    for opts in [&allowed[..], &[][..]] {
        let out = sh(&root, opts, script, None);
        let o = text(&out.stdout);
        assert!(
            o.contains("SECRET\nrc=0\nsecret\nls=0"),
            "{opts:?}: {}",
            shown(&out)
        );
    }
}

fn writes_only_beneath_allow_write_on_a_rootfs() {
    let test = "writes_only_beneath_allow_write_on_a_rootfs";
    if !landlock_here(test) {
        return;
    }
    let root = rootfs_with_secret("pr-write");
    let script = "echo in > /srv/new && cat /srv/new; rm /srv/secret && echo removed; \
                  echo out > /etc/new; echo etc=$?; mkdir /home/d; echo mkdir=$?; \
                  rm /etc/hostname; echo rm=$?";
    let out = sh(
        &root,
        &["--allow-exec", "/bin", "--allow-write", "/srv"],
        script,
        None,
    );
    let o = text(&out.stdout);
    assert!(o.starts_with("in\nremoved\n"), "inside: {}", shown(&out));
    assert!(
        o.contains("etc=1") && o.contains("mkdir=1") && o.contains("rm=1"),
        "outside: {}",
        shown(&out)
    );
    assert!(
        text(&out.stderr).contains("can't create /etc/new: Permission denied"),
        "{}",
        shown(&out)
    );
    // Control: the throwaway root takes all three without rules.
    let out = sh(&root, &[], script, None);
    let o = text(&out.stdout);
    assert!(
        o.contains("etc=0") && o.contains("mkdir=0") && o.contains("rm=0"),
        "{}",
        shown(&out)
    );
}

fn exec_outside_allow_exec_fails_on_a_rootfs() {
    let test = "exec_outside_allow_exec_fails_on_a_rootfs";
    if !landlock_here(test) {
        return;
    }
    let root = rootfs_with_secret("pr-exec");
    // A copy of busybox in a writable, readable place: neither write nor
    // read lets it run, and /tmp (always writable) is no place to run from.
    let script = "mkdir /srv/x && cp /bin/busybox /srv/x/busybox && /srv/x/busybox echo ran-srv; echo srv=$?; \
                  cp /bin/busybox /tmp/busybox && /tmp/busybox echo ran-tmp; echo tmp=$?";
    let out = sh(
        &root,
        &["--allow-exec", "/bin", "--allow-write", "/srv"],
        script,
        None,
    );
    let o = text(&out.stdout);
    assert!(
        !o.contains("ran-") && o.contains("srv=126") && o.contains("tmp=126"),
        "{}",
        shown(&out)
    );
    assert!(
        text(&out.stderr).contains("/srv/x/busybox: Permission denied"),
        "{}",
        shown(&out)
    );
    // The command itself outside --allow-exec: the sandbox's exec fails
    // (126) as any failed exec does.
    let out = sandbox([
        "run",
        "--allow-exec",
        "/usr",
        &root.display().to_string(),
        "/bin/true",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(126), "{}", shown(&out));
    // Controls: with /srv and /tmp allowed to execute, both run.
    let out = sh(
        &root,
        &[
            "--allow-exec",
            "/bin",
            "--allow-write",
            "/srv",
            "--allow-exec",
            "/srv",
            "--allow-exec",
            "/tmp",
        ],
        script,
        None,
    );
    let o = text(&out.stdout);
    assert!(
        o.contains("ran-srv\nsrv=0") && o.contains("ran-tmp\ntmp=0"),
        "{}",
        shown(&out)
    );
}

/// What the sandbox itself needs works under the narrowest rules: its
/// /proc, /dev's nodes, /tmp and /dev/shm; and a rule naming a path that
/// is not there is a notice, not an error.
fn the_sandbox_needs_still_work_and_a_missing_path_is_a_notice() {
    let test = "the_sandbox_needs_still_work_and_a_missing_path_is_a_notice";
    if !landlock_here(test) {
        return;
    }
    let script = "grep -c ^Pid: /proc/self/status; echo x > /dev/null && echo null; \
                  head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c; \
                  echo t > /tmp/t && cat /tmp/t; echo s > /dev/shm/s && cat /dev/shm/s; \
                  ls /dev | grep -c null; echo 500 > /proc/self/oom_score_adj && \
                  cat /proc/$$/oom_score_adj";
    let out = sh(
        &stage().rootfs,
        &["--allow-exec", "/bin", "--allow-read", "/nonexistent"],
        script,
        None,
    );
    assert!(out.status.success(), "{}", shown(&out));
    assert_eq!(
        text(&out.stdout),
        "1\nnull\n4\n4\nt\ns\n1\n500\n",
        "{}",
        shown(&out)
    );
    assert!(
        text(&out.stderr).contains("notice: --allow-read /nonexistent: not in the sandbox"),
        "{}",
        shown(&out)
    );
}

/// The terminal is among the sandbox's needs: under a pty, with only
/// /bin executable, the shell opens /dev/tty, reads its modes (an ioctl on
/// a node opened under the ruleset) and writes to it. Control: the same
/// without rules.
fn the_terminal_works_under_path_rules() {
    let test = "the_terminal_works_under_path_rules";
    if !landlock_here(test) {
        return;
    }
    for rules in [&["--allow-exec", "/bin"][..], &[][..]] {
        let mut a: Vec<String> = vec!["run".into()];
        a.extend(rules.iter().map(|s| s.to_string()));
        a.extend([
            rootfs_arg(),
            "/bin/sh".into(),
            "-c".into(),
            "stty -F /dev/tty size >/dev/null && echo tty-ok > /dev/tty; tty".into(),
        ]);
        let shown = under_pty(&a, "");
        assert!(
            shown.contains("tty-ok") && shown.contains("/dev/pts/"),
            "{rules:?}: {shown}"
        );
    }
}

/// A directory on the host outside /tmp (the sandbox has its own), owned
/// by the test uid: `secret` and `project/`.
struct HostDir(PathBuf);

impl HostDir {
    fn new(test: &str) -> Option<HostDir> {
        let base = Path::new("/var/tmp");
        if !base.is_dir() {
            skip(
                test,
                "host-root",
                "no /var/tmp for a directory outside /tmp",
            );
            return None;
        }
        let dir = base.join(format!("sandbox-tests-{}-pr", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let ok = as_test_user("sh")
            .arg("-c")
            .arg("mkdir -p \"$0/project\" && echo SECRET > \"$0/secret\" && cp /bin/true \"$0/project/t\"")
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "make the host directory");
        Some(HostDir(dir))
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// On the host's `/`: a relative rule is from the working directory; the
/// secret next to the project cannot be read, the project (bound
/// writable) is written, a program in it does not run; each with its
/// control.
fn path_rules_work_on_the_host_root() {
    let test = "path_rules_work_on_the_host_root";
    if !landlock_here(test) {
        return;
    }
    let Some(d) = HostDir::new(test) else {
        return;
    };
    let dir = d.0.display().to_string();
    let project = format!("{dir}/project");
    let script = format!(
        "cat {dir}/secret; echo read=$?; echo w > {project}/w && cat {project}/w; \
         echo x > {dir}/x; echo outside=$?; {project}/t; echo exec=$?; \
         cat /etc/passwd >/dev/null; echo etc=$?"
    );
    // /usr holds the programs and, on merged-/usr systems, their loader;
    // /bin, /lib and /lib64 are links to it there, or directories.
    let exec = [
        "--allow-exec",
        "/usr",
        "--allow-exec",
        "/bin",
        "--allow-exec",
        "/lib",
        "--allow-exec",
        "/lib64",
    ];
    let mut opts: Vec<&str> = vec!["--bind", "."];
    opts.extend(exec);
    opts.extend(["--allow-write", "."]);
    let out = sh(Path::new("/"), &opts, &script, Some(Path::new(&project)));
    let o = text(&out.stdout);
    assert!(out.status.success(), "{}", shown(&out));
    assert!(!o.contains("SECRET"), "{}", shown(&out));
    assert!(o.contains("read=1"), "{}", shown(&out));
    assert!(o.contains("w\n"), "the project is written: {}", shown(&out));
    assert!(!o.contains("outside=0"), "{}", shown(&out));
    assert!(o.contains("exec=126"), "{}", shown(&out));
    assert!(o.contains("etc=1"), "{}", shown(&out));
    assert!(
        text(&out.stderr).contains(&format!("{dir}/secret: Permission denied")),
        "EACCES: {}",
        shown(&out)
    );
    assert_eq!(
        fs::read_to_string(d.0.join("project/w")).unwrap(),
        "w\n",
        "the write reached the host"
    );
    // Controls: with the directory readable and the project executable,
    // and /etc readable, the same probes succeed.
    let mut more = opts.clone();
    more.extend([
        "--allow-read",
        &dir,
        "--allow-exec",
        &project,
        "--allow-read",
        "/etc",
    ]);
    let out = sh(Path::new("/"), &more, &script, Some(Path::new(&project)));
    let o = text(&out.stdout);
    assert!(
        o.contains("SECRET\nread=0") && o.contains("exec=0") && o.contains("etc=0"),
        "{}",
        shown(&out)
    );
    // The write outside fails without rules too: the host's root is
    // read-only (the mount, not Landlock, says so there).
    assert!(!o.contains("outside=0"), "{}", shown(&out));
}

/// `--landlock require` with path rules on a kernel without Landlock (the
/// probe's seccomp filter makes landlock_create_ruleset ENOSYS for the
/// launcher and all it starts) fails with 125; `auto` runs and says what
/// it did not enforce. Control: without the filter, require runs.
fn require_without_landlock_fails_with_125() {
    let st = stage();
    let root = rootfs_arg();
    let no_landlock = |mode: &str| {
        as_test_user(&st.probe)
            .args(["no-landlock"])
            .arg(&st.bin)
            .args([
                "run",
                "--landlock",
                mode,
                "--allow-exec",
                "/bin",
                &root,
                "/bin/cat",
                "/etc/hostname",
            ])
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .current_dir(&st.dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    let out = no_landlock("require");
    assert_eq!(out.status.code(), Some(125), "{}", shown(&out));
    assert!(
        text(&out.stderr).contains("sandbox: landlock: required, but not enforced"),
        "{}",
        shown(&out)
    );
    assert!(out.stdout.is_empty(), "{}", shown(&out));
    let out = no_landlock("auto");
    assert!(out.status.success(), "{}", shown(&out));
    assert_eq!(text(&out.stdout), "sandbox\n");
    assert!(
        text(&out.stderr)
            .contains("not enforced: the path rules (--allow-read, --allow-write, --allow-exec)"),
        "{}",
        shown(&out)
    );
    // Control: the same require where the kernel has what it needs.
    match landlock_abi() {
        Some(abi) if abi >= 3 => {
            let out = run(&[
                "run",
                "--landlock",
                "require",
                "--allow-exec",
                "/bin",
                &root,
                "/bin/cat",
                "/proc/self/status",
            ]);
            assert!(out.status.success(), "{}", shown(&out));
        }
        other => skip(
            "require_without_landlock_fails_with_125 (control)",
            "landlock-abi3",
            &format!("the control needs Landlock ABI 3; this kernel: {other:?}"),
        ),
    }
}

/// Path rules are Landlock rules: with `--landlock off` they are refused
/// (125) rather than silently not enforced. Control: the same run with
/// Landlock left on.
fn path_rules_with_landlock_off_are_refused() {
    let root = rootfs_arg();
    let out = run(&[
        "run",
        "--landlock",
        "off",
        "--allow-exec",
        "/bin",
        &root,
        "true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", shown(&out));
    assert!(
        text(&out.stderr).contains("they cannot be enforced with Landlock off"),
        "{}",
        shown(&out)
    );
    let out = run(&["run", "--allow-exec", "/bin", &root, "true"]);
    assert!(out.status.success(), "{}", shown(&out));
}

tests![
    reads_outside_allow_read_fail_on_a_rootfs,
    writes_only_beneath_allow_write_on_a_rootfs,
    exec_outside_allow_exec_fails_on_a_rootfs,
    the_sandbox_needs_still_work_and_a_missing_path_is_a_notice,
    the_terminal_works_under_path_rules,
    path_rules_work_on_the_host_root,
    require_without_landlock_fails_with_125,
    path_rules_with_landlock_off_are_refused,
];
