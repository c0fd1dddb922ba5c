//! The bubblewrap front end (src/bwrap/, docs/BWRAP.md), rootless: the
//! root built from operations in their order, an unsupported option
//! failing as bubblewrap fails (exit 1, one line naming it), `--args FD`,
//! and the shape of `--info-fd` and `--json-status-fd`. bubblewrap's own
//! suite runs against it in `make test-bwrap` (tests/bwrap/run).

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
    answers_to_its_link_name,
];
