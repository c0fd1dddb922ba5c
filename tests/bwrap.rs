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
    for opt in [&["--cap-add", "ALL"][..], &["--overlay-src", "/"]] {
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

/// A shell script as the test user in a fresh directory `dir` (its path
/// in $D, bound at /mnt inside by the scripts), the rootfs in $R; stdout and
/// the status as the script leaves them.
fn script(dir: &str, body: &str) -> Output {
    let d = test_dir(dir);
    shell(&format!(
        "set -e; D={}; R={}; cd \"$D\"\n{body}",
        d.display(),
        root()
    ))
}

/// Start a first sandbox that holds still: it writes what `probe` prints
/// to the FIFO `ready` (the test's `read` is the readiness: no sleep) and
/// waits on the FIFO `done`; its --info-fd lands in `info`. Sets $P to
/// its pid. `opts` are its namespace options.
fn first_sandbox(opts: &str, probe: &str) -> String {
    format!(
        "mkfifo ready done\n\
         \"$B\" bwrap --ro-bind \"$R\" / --bind \"$D\" /mnt --proc /proc --info-fd 4 {opts} \
           sh -c '{probe} > /mnt/ready; read x < /mnt/done' 4>info &\n\
         first=$(timeout 30 cat ready)\n\
         P=$(sed -n 's/.*\"child-pid\": \\([0-9]*\\).*/\\1/p' info)\n\
         trap 'echo > done; wait' EXIT\n"
    )
}

/// `--userns FD`: the command runs in the user namespace given (its
/// /proc/self/ns/user is the first sandbox's, bubblewrap's own test); the
/// engine writes no maps and adds no nested namespace of its own. Control:
/// the same command with --unshare-user in place of --userns is in
/// another one. The namespace's descriptor does not reach the command
/// (CVE-2024-21626 class): its /proc/self/fd holds only stdio; control:
/// the same listing shows a namespace descriptor the command opens itself.
fn userns_joins_the_given_namespace() {
    let out = script(
        "bwrap-userns",
        &format!(
            "{}\
             echo \"first $first\"\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --userns 5 readlink /proc/self/ns/user 5</proc/$P/ns/user\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --unshare-user readlink /proc/self/ns/user\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --userns 5 sh -c 'for f in /proc/$$/fd/*; do echo \"fd $(readlink $f)\"; done' 5</proc/$P/ns/user\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --userns 5 sh -c 'exec 7</proc/self/ns/user; for f in /proc/$$/fd/*; do echo \"ctl $(readlink $f)\"; done' 5</proc/$P/ns/user\n",
            first_sandbox("--unshare-user", "readlink /proc/self/ns/user")
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let lines: Vec<&str> = o.lines().collect();
    let first = lines[0].strip_prefix("first ").unwrap();
    assert!(first.starts_with("user:["), "{o}");
    assert_eq!(lines[1], first, "{o}");
    assert_ne!(lines[2], first, "control: {o}");
    assert!(lines[2].starts_with("user:["), "{o}");
    let fds: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("fd "))
        .copied()
        .collect();
    assert!(
        !fds.is_empty() && fds.iter().all(|l| !l.contains("user:[")),
        "{o}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ctl ") && l.contains("user:[")),
        "control: the probe sees a namespace descriptor: {o}"
    );
}

/// `--pidns FD` (with `--userns`, as in bubblewrap's test): the command
/// runs in the PID namespace given, a sandbox of ours whose namespace is
/// owned by the user namespace above the one its command sees. Control:
/// without --pidns it has one of its own.
fn pidns_joins_the_given_namespace() {
    let out = script(
        "bwrap-pidns",
        &format!(
            "{}\
             echo \"first $first\"\n\
             \"$B\" bwrap --ro-bind \"$R\" / --ro-bind /proc /proc --userns 5 --pidns 6 readlink /proc/self/ns/pid 5</proc/$P/ns/user 6</proc/$P/ns/pid\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --userns 5 readlink /proc/self/ns/pid 5</proc/$P/ns/user\n",
            first_sandbox("--unshare-user --unshare-pid", "readlink /proc/self/ns/pid")
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let lines: Vec<&str> = o.lines().collect();
    let first = lines[0].strip_prefix("first ").unwrap();
    assert!(first.starts_with("pid:["), "{o}");
    assert_eq!(lines[1], first, "{o}");
    assert_ne!(lines[2], first, "control: {o}");
}

/// `--userns-block-fd FD`: the launcher waits on FD after the user
/// namespace exists and writes no maps: the caller writes them (here
/// root inside = the test uid), and the command runs as the uid they
/// give. Control: another map (1000 inside) gives another uid.
/// --info-fd is a FIFO: its EOF (written and closed before the wait) is
/// the readiness, so nothing else may hold it (the clone child holds only
/// what it needs). (The FIFOs open in the order both sides name them: ub,
/// then info.)
fn userns_block_fd_lets_the_caller_write_the_maps() {
    let run = |inner: u32| {
        script(
            "bwrap-userns-block",
            &format!(
                "mkfifo ub info\n\
                 \"$B\" bwrap --ro-bind \"$R\" / --unshare-user --info-fd 4 --userns-block-fd 5 id -u 5<ub 4>info &\n\
                 exec 6>ub\n\
                 P=$(timeout 30 cat info | sed -n 's/.*\"child-pid\": \\([0-9]*\\).*/\\1/p')\n\
                 u=$(id -u); g=$(id -g); echo \"{inner} $u 1\" > /proc/$P/uid_map; echo deny > /proc/$P/setgroups; echo \"{inner} $g 1\" > /proc/$P/gid_map\n\
                 echo x >&6; exec 6>&-; wait $!\n"
            ),
        )
    };
    let out = run(0);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "0\n");
    let out = run(1000);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "1000\n", "control");
}

/// `--block-fd FD`: the command does not run until the caller writes to
/// FD: over a 2 s window nothing comes from it, then the byte lets it
/// run. Control: without --block-fd the same command's output comes in
/// that window.
fn block_fd_holds_the_command_until_written() {
    let run = |block: bool| {
        let opt = if block { "--block-fd 5" } else { "" };
        script(
            "bwrap-block",
            &format!(
                "trap '' PIPE; mkfifo bf out\n\
                 \"$B\" bwrap --ro-bind \"$R\" / --bind \"$D\" /mnt {opt} sh -c 'echo ran > /mnt/out' 5<bf &\n\
                 exec 6>bf\n\
                 exec 7<>out\n\
                 if timeout 2 head -n1 <&7; then echo early; else \
                   echo x >&6; exec 6>&-; timeout 30 head -n1 <&7 || true; fi\n\
                 wait $!\n"
            ),
        )
    };
    let out = run(true);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ran\n");
    let out = run(false);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("ran\nearly\n"),
        "control: {}",
        text(&out.stdout)
    );
}

/// `--sync-fd FD`: the caller's reader sees no EOF while the sandbox runs
/// (a 1 s window times out) and EOF once it has ended; the command itself
/// never holds the descriptor (its fd list is stdio only). Control: the
/// same window after the end reads EOF at once.
fn sync_fd_ends_with_the_sandbox() {
    let out = script(
        "bwrap-sync",
        "mkfifo sf go\n\
         exec 8<>sf\n\
         \"$B\" bwrap --ro-bind \"$R\" / --bind \"$D\" /mnt --proc /proc --sync-fd 5 \
           sh -c 'ls /proc/$$/fd | tr \"\\n\" \" \"; echo; read x < /mnt/go' 5>sf &\n\
         exec 8<&-\n\
         exec 9<sf\n\
         if timeout 1 cat <&9; then echo 'eof while running'; else echo 'open while running'; fi\n\
         echo > go; wait $!\n\
         if timeout 10 cat <&9; then echo 'eof after'; fi\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let lines: Vec<&str> = o.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2"],
        "{o}"
    );
    assert_eq!(&lines[1..], ["open while running", "eof after"], "{o}");
}

/// A bad descriptor or namespace fails before anything runs: exit 1, one
/// `bwrap:` line naming the step, the fd and the errno. Control: the
/// same options with good descriptors run.
fn bad_namespace_descriptors_fail_with_1() {
    let r = root();
    for (args, want) in [
        (
            "--userns 77",
            "join the user namespace (--userns): fd 77: Bad file descriptor",
        ),
        (
            "--userns 5 5</proc/self/ns/pid",
            "join the user namespace (--userns): fd 5 (a pid namespace): Invalid argument",
        ),
        (
            "--userns 5 5</dev/null",
            "join the user namespace (--userns): fd 5 (not a namespace): Invalid argument",
        ),
        (
            "--pidns 77",
            "join the PID namespace (--pidns): fd 77: Bad file descriptor",
        ),
        (
            "--sync-fd 77",
            "check the descriptor (--sync-fd): fd 77: Bad file descriptor",
        ),
        (
            "--block-fd 77",
            "take the descriptor to block on (--block-fd): fd 77: Bad file descriptor",
        ),
        (
            "--userns2 77",
            "take the user namespace (--userns2): fd 77: Bad file descriptor",
        ),
    ] {
        let out = shell(&format!(
            "\"$B\" bwrap --ro-bind {r} / {args} sh -c 'echo ran'"
        ));
        assert_eq!(out.status.code(), Some(1), "{args}: {}", text(&out.stderr));
        assert_eq!(text(&out.stderr), format!("bwrap: {want}\n"), "{args}");
        assert!(text(&out.stdout).is_empty(), "{args}");
    }
    // --level-prefix: the same line as an error of syslog's level 3.
    let out = shell(&format!(
        "\"$B\" bwrap --level-prefix --ro-bind {r} / --userns 77 true"
    ));
    assert_eq!(
        text(&out.stderr),
        "<3>bwrap: join the user namespace (--userns): fd 77: Bad file descriptor\n"
    );
    // Controls: good descriptors.
    let out = shell(&format!(
        "\"$B\" bwrap --ro-bind {r} / --sync-fd 5 --block-fd 6 sh -c 'echo ran' 5>/dev/null 6</dev/null"
    ));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ran\n");
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
    userns_joins_the_given_namespace,
    pidns_joins_the_given_namespace,
    userns_block_fd_lets_the_caller_write_the_maps,
    block_fd_holds_the_command_until_written,
    sync_fd_ends_with_the_sandbox,
    bad_namespace_descriptors_fail_with_1,
];
