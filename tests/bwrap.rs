//! The bubblewrap front end (src/bwrap/, docs/BWRAP.md), rootless: the
//! root built from operations in their order, an unsupported option
//! failing as bubblewrap fails (exit 1, one line naming it), `--args FD`,
//! and the shape of `--info-fd` and `--json-status-fd`; the opt-in to our
//! own defaults (`--sandbox-defaults`, `SANDBOX_BWRAP_DEFAULTS`), each
//! proved by an attack that fails with it and works without. bubblewrap's
//! own suite runs against it in `make test-bwrap` (tests/bwrap/run).

mod common;

use std::fs;
use std::process::Output;

use common::*;

/// `sandbox bwrap ARGS` as the test uid, from the stage directory.
fn bwrap(args: &[&str]) -> Output {
    let mut all = vec!["bwrap"];
    all.extend_from_slice(args);
    sandbox(&all).output().unwrap()
}

/// The stage's rootfs, bound read-only as the root (the BusyBox tree).
fn root() -> String {
    stage().rootfs.display().to_string()
}

/// A shell line run as the test uid, for descriptors passed by number
/// (`3<file`), with our binary as $B.
fn shell(line: &str) -> Output {
    let mut c = as_test_user("sh");
    c.arg("-c")
        .arg(line)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("B", &stage().bin)
        .current_dir(&stage().dir);
    c.output().unwrap()
}

/// The operations are made in the order given: a --dir after a --tmpfs
/// over its parent is on the tmpfs; the same two the other way round, the
/// tmpfs covers it (the control: the probe `test -d` tells them apart).
/// --perms gives the directory its mode, --symlink and --chdir work in
/// the built root.
fn operations_are_made_in_order() {
    let r = root();
    let base = ["--ro-bind", &r, "/", "--tmpfs", "/tmp"];
    let ordered = [
        &base[..],
        &[
            "--dir",
            "/tmp/a",
            "--tmpfs",
            "/tmp/a/b",
            "--perms",
            "0710",
            "--dir",
            "/tmp/a/b/c",
            "--symlink",
            "a/b",
            "/tmp/l",
            "--chdir",
            "/tmp/l",
            "sh",
            "-c",
            "test -d /tmp/a/b/c && stat -c %a c && pwd",
        ],
    ]
    .concat();
    let out = bwrap(&ordered);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "710\n/tmp/l\n");
    // Control: the directory first, then the tmpfs over its parent.
    let reversed = [
        &base[..],
        &[
            "--dir",
            "/tmp/a/b/c",
            "--tmpfs",
            "/tmp/a/b",
            "test",
            "-d",
            "/tmp/a/b/c",
        ],
    ]
    .concat();
    let out = bwrap(&reversed);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // The root is only what was asked for: no /proc without --proc.
    let out = bwrap(&[&base[..], &["test", "-e", "/proc/self"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let out = bwrap(&[&base[..], &["--proc", "/proc", "test", "-e", "/proc/self"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// An option bubblewrap has and we do not is refused with bubblewrap's
/// exit code (1) and one line naming it, never ignored; the command does
/// not run. Control: the same command line without it runs.
fn an_unsupported_option_fails_with_1() {
    let r = root();
    for opt in [
        &["--sync-fd", "0"][..],
        &["--cap-add", "ALL"],
        &["--userns", "3"],
        &["--overlay-src", "/"],
    ] {
        let args = [opt, &["--ro-bind", &r, "/", "sh", "-c", "echo ran"]].concat();
        let out = bwrap(&args);
        assert_eq!(out.status.code(), Some(1), "{opt:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with(&format!("bwrap: {} is not supported", opt[0])),
            "{err}"
        );
        assert!(text(&out.stdout).is_empty());
    }
    let out = bwrap(&["--ro-bind", &r, "/", "sh", "-c", "echo ran"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ran\n");
    // A bind source that is not there: bubblewrap's words, exit 1.
    let out = bwrap(&[
        "--ro-bind",
        &r,
        "/",
        "--bind",
        "/nonexistent-src",
        "/x",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("bwrap: Can't find source path /nonexistent-src"),
        "{}",
        text(&out.stderr)
    );
}

/// `--args FD`: NUL-separated arguments read from a descriptor, in place.
/// Control: without it the directory they make is not there.
fn args_come_from_a_descriptor() {
    let dir = test_dir("bwrap-args");
    let file = dir.join("args");
    fs::write(
        &file,
        format!(
            "--ro-bind\0{}\0/\0--tmpfs\0/tmp\0--dir\0/tmp/from-fd\0",
            root()
        ),
    )
    .unwrap();
    let f = file.display();
    let out = shell(&format!("\"$B\" bwrap --args 3 test -d /tmp/from-fd 3<{f}"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = shell(&format!(
        "\"$B\" bwrap --ro-bind {} / --tmpfs /tmp test -d /tmp/from-fd",
        root()
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// `--info-fd`: one JSON object with the sandbox's pid on the host and
/// the inode of each namespace, the same as the command sees in
/// /proc/self/ns (and not the caller's: the control); `--json-status-fd`:
/// that object on a line, then `{ "exit-code": N }` once the command has
/// ended, and no exit code when the command could not be run.
fn info_and_status_descriptors() {
    let dir = test_dir("bwrap-info");
    let info = dir.join("info.json");
    let status = dir.join("status.json");
    let out = shell(&format!(
        "\"$B\" bwrap --unshare-all --ro-bind {} / --proc /proc --info-fd 3 --json-status-fd 4 \
         sh -c 'stat -L -c %i /proc/self/ns/pid /proc/self/ns/net; exit 3' 3>{} 4>{}",
        root(),
        info.display(),
        status.display()
    ));
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let seen: Vec<u64> = text(&out.stdout)
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&info).unwrap()).unwrap();
    assert!(v["child-pid"].as_u64().is_some_and(|p| p > 1), "{v}");
    assert_eq!(v["pid-namespace"].as_u64(), Some(seen[0]), "{v}");
    assert_eq!(v["net-namespace"].as_u64(), Some(seen[1]), "{v}");
    for k in [
        "mnt-namespace",
        "ipc-namespace",
        "uts-namespace",
        "cgroup-namespace",
    ] {
        assert!(v[k].as_u64().is_some(), "{k} missing: {v}");
    }
    // Control: the caller's own namespace is another one.
    let own = fs::metadata("/proc/self/ns/pid").map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    assert_ne!(own.ok(), Some(seen[0]));
    let lines: Vec<serde_json::Value> = fs::read_to_string(&status)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["child-pid"], v["child-pid"]);
    assert_eq!(lines[1]["exit-code"].as_u64(), Some(3));
    // A command that cannot be run: exit 1, and no exit code recorded.
    let out = shell(&format!(
        "\"$B\" bwrap --ro-bind {} / --json-status-fd 4 /etc 4>{}",
        root(),
        status.display()
    ));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let s = fs::read_to_string(&status).unwrap();
    assert!(s.contains("child-pid") && !s.contains("exit-code"), "{s}");
}

/// `--seccomp FD`: the caller's own compiled program is installed (here:
/// mkdir and mkdirat refused with EPERM, everything else allowed).
/// Control: the same mkdir without it succeeds.
fn a_callers_seccomp_program_is_installed() {
    let ins = |code: u16, jt: u8, jf: u8, k: u32| {
        let mut v = code.to_ne_bytes().to_vec();
        v.extend([jt, jf]);
        v.extend(k.to_ne_bytes());
        v
    };
    let prog = [
        ins(0x20, 0, 0, 0),           // ld [0]: the syscall number
        ins(0x15, 2, 0, 83),          // jeq mkdir -> refuse
        ins(0x15, 1, 0, 258),         // jeq mkdirat -> refuse
        ins(0x06, 0, 0, 0x7fff_0000), // ret ALLOW
        ins(0x06, 0, 0, 0x0005_0001), // ret ERRNO(EPERM)
    ]
    .concat();
    let dir = test_dir("bwrap-seccomp");
    let file = dir.join("prog.bpf");
    fs::write(&file, prog).unwrap();
    let run = |extra: &str| {
        shell(&format!(
            "\"$B\" bwrap --ro-bind {} / --tmpfs /tmp {extra} mkdir /tmp/x 3<{}",
            root(),
            file.display()
        ))
    };
    let out = run("--seccomp 3");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Operation not permitted"),
        "{}",
        text(&out.stderr)
    );
    let out = run("");
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A program that is not whole instructions: refused before the start.
    fs::write(&file, [0u8; 7]).unwrap();
    let out = run("--seccomp 3");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("bwrap: Invalid seccomp data"),
        "{}",
        text(&out.stderr)
    );
}

/// The variable that opts into our defaults when the command line cannot.
const DEFAULTS_ENV: &str = "SANDBOX_BWRAP_DEFAULTS";

/// `sandbox bwrap ARGS` with SANDBOX_BWRAP_DEFAULTS set to `list`.
fn bwrap_env(list: &str, args: &[&str]) -> Output {
    let mut all = vec!["bwrap"];
    all.extend_from_slice(args);
    sandbox(&all).env(DEFAULTS_ENV, list).output().unwrap()
}

/// `--sandbox-defaults landlock`: the root's own tmpfs, which the kernel
/// lets the command write (bubblewrap's too), and the directories made on
/// the way to a bind are read-only under our ruleset; what the layout made
/// writable (`--dir`, `--tmpfs`, a `--bind` of the host's, the shm of
/// `--dev`) stays writable. Control: the same writes without the opt-in
/// all work. The variable's form (`landlock=require`) does the same and
/// does not reach the command's environment.
fn landlock_opt_in_keeps_the_root_tmpfs_read_only() {
    let host = test_dir("bwrap-landlock");
    let r = root();
    let bin = format!("{r}/bin");
    let data = host.display().to_string();
    let layout = [
        "--ro-bind",
        &bin,
        "/bin",
        "--dir",
        "/work",
        "--tmpfs",
        "/tmp",
        "--bind",
        &data,
        "/a/b/data",
        "--dev",
        "/dev",
        "sh",
        "-c",
        "for f in /x /a/x /work/f /tmp/f /a/b/data/f /dev/shm/f; do \
           touch $f 2>/dev/null && echo \"$f ok\" || echo \"$f refused\"; done; \
         echo \"var ${SANDBOX_BWRAP_DEFAULTS-unset}\"",
    ];
    let opted = "/x refused\n/a/x refused\n/work/f ok\n/tmp/f ok\n/a/b/data/f ok\n/dev/shm/f ok\nvar unset\n";
    let Some(_) = landlock_abi() else {
        // Without Landlock, require refuses to run (1, bubblewrap's code).
        let out = bwrap_env("landlock=require", &layout);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(text(&out.stderr).starts_with("bwrap: landlock: required"));
        return skip(
            "landlock_opt_in_keeps_the_root_tmpfs_read_only",
            "landlock",
            "the kernel offers no Landlock here (landlock_create_ruleset fails on the host)",
        );
    };
    // Each run creates the file in the host's directory anew.
    let fresh = |out: fn(&[&str]) -> Output| {
        let _ = fs::remove_file(host.join("f"));
        out(&layout)
    };
    for out in [
        fresh(|l| bwrap(&[&["--sandbox-defaults", "landlock"][..], l].concat())),
        fresh(|l| bwrap_env("landlock=require", l)),
    ] {
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), opted);
    }
    // Control: bubblewrap's behaviour, every write allowed by the kernel.
    let out = fresh(bwrap);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "/x ok\n/a/x ok\n/work/f ok\n/tmp/f ok\n/a/b/data/f ok\n/dev/shm/f ok\nvar unset\n"
    );
}

/// `--sandbox-defaults seccomp`: our default filter refuses keyctl and
/// unshare (EPERM); the caller's `--seccomp` program applies beside it
/// (its mkdir refusal holds in the same run). Control: without the
/// opt-in the same calls reach the kernel, which answers otherwise
/// (EOPNOTSUPP, EINVAL: the probe's arguments are bogus on purpose).
fn seccomp_opt_in_adds_our_filter_to_the_callers() {
    let r = root();
    let probe = stage().probe.display().to_string();
    let layout = |cmd: &str| {
        format!("--ro-bind {r} / --tmpfs /tmp --ro-bind {probe} /tmp/probe sh -c '{cmd}'")
    };
    let calls = "/tmp/probe syscall keyctl unshare";
    let out = shell(&format!(
        "\"$B\" bwrap --sandbox-defaults seccomp {}",
        layout(calls)
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "keyctl EPERM\nunshare EPERM\n");
    // Control: bubblewrap's (no filter of ours).
    let out = shell(&format!("\"$B\" bwrap {}", layout(calls)));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let seen = text(&out.stdout);
    assert!(
        seen.starts_with("keyctl ") && !seen.contains("EPERM"),
        "control: {seen}"
    );
    // Both filters: ours (keyctl) and the caller's (mkdir, mkdirat), the
    // opt-in given by the variable this time.
    let ins = |code: u16, jt: u8, jf: u8, k: u32| {
        let mut v = code.to_ne_bytes().to_vec();
        v.extend([jt, jf]);
        v.extend(k.to_ne_bytes());
        v
    };
    let prog = [
        ins(0x20, 0, 0, 0),
        ins(0x15, 2, 0, 83),
        ins(0x15, 1, 0, 258),
        ins(0x06, 0, 0, 0x7fff_0000),
        ins(0x06, 0, 0, 0x0005_0001),
    ]
    .concat();
    let file = test_dir("bwrap-seccomp-both").join("prog.bpf");
    fs::write(&file, prog).unwrap();
    let both = format!(
        "{DEFAULTS_ENV}=seccomp \"$B\" bwrap --seccomp 3 {} 3<{}",
        layout("/tmp/probe syscall keyctl; mkdir /tmp/d 2>/dev/null || echo mkdir refused"),
        file.display()
    );
    let out = shell(&both);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "keyctl EPERM\nmkdir refused\n");
}

/// `--sandbox-defaults relay`: under a terminal, the command's stdin is a
/// pty of the sandbox's own devpts (the one `--dev` mounted), in a
/// session of its own. Control: without it the command's stdin is still
/// a terminal, but the caller's, from another devpts.
fn relay_opt_in_gives_the_command_its_own_pty() {
    let r = root();
    let args = |opt: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = vec!["bwrap".into()];
        a.extend(opt.iter().map(|s| s.to_string()));
        a.extend(
            [
                "--ro-bind",
                &r,
                "/",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "sh",
                "-c",
                "test -t 0 && echo tty-yes; \
                 [ $(stat -L -c %d /proc/self/fd/0) = $(stat -c %d /dev/pts/ptmx) ] \
                 && echo own-pty || echo other-pty",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        a
    };
    let shown = under_pty(&args(&["--sandbox-defaults", "relay"]), "");
    assert!(shown.contains("tty-yes\nown-pty"), "{shown}");
    let shown = under_pty(&args(&[]), "");
    assert!(shown.contains("tty-yes\nother-pty"), "control: {shown}");
    // A layout without a /dev of its own has no pty to give: refused
    // with the fix, the command not run.
    let a: Vec<String> = ["bwrap", "--sandbox-defaults", "relay", "--ro-bind", &r, "/"]
        .iter()
        .chain(&["sh", "-c", "echo ran-$((1+1))"])
        .map(|s| s.to_string())
        .collect();
    let shown = under_pty(&a, "");
    assert!(
        shown.contains("bwrap: open a pty: /dev/ptmx") && shown.contains("add --dev /dev"),
        "{shown}"
    );
    assert!(!shown.contains("ran-2"), "{shown}");
}

/// An item we do not know, from the option or the variable, is refused
/// with exit 1 and one line naming it; the command does not run. Control:
/// a known one runs it.
fn an_unknown_default_is_refused() {
    let r = root();
    let cmd = ["--ro-bind", &r, "/", "sh", "-c", "echo ran"];
    for out in [
        bwrap(&[&["--sandbox-defaults", "seccomp,selinux"][..], &cmd].concat()),
        bwrap_env("seccomp,selinux", &cmd),
    ] {
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("bwrap: ") && err.contains("unknown item \"selinux\""),
            "{err}"
        );
        assert!(text(&out.stdout).is_empty());
    }
    let out = bwrap_env("seccomp", &cmd);
    assert_eq!(text(&out.stdout), "ran\n", "{}", text(&out.stderr));
}

/// Invoked as `sandbox-bwrap` (the link `make install` makes), the binary
/// is the front end; its help names itself as bubblewrap's does.
fn answers_to_its_link_name() {
    let link = stage().dir.join("sandbox-bwrap");
    let _ = std::os::unix::fs::symlink(&stage().bin, &link);
    let out = as_test_user(&link).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with(&format!("usage: {}", link.display())),
        "{}",
        text(&out.stdout)
    );
}

tests![
    operations_are_made_in_order,
    an_unsupported_option_fails_with_1,
    args_come_from_a_descriptor,
    info_and_status_descriptors,
    a_callers_seccomp_program_is_installed,
    landlock_opt_in_keeps_the_root_tmpfs_read_only,
    seccomp_opt_in_adds_our_filter_to_the_callers,
    relay_opt_in_gives_the_command_its_own_pty,
    an_unknown_default_is_refused,
    answers_to_its_link_name,
];
