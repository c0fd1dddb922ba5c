//! The bubblewrap front end (src/bwrap/, docs/BWRAP.md), rootless: the
//! root built from operations in their order, an unsupported option
//! failing as bubblewrap fails (exit 1, one line naming it), `--args FD`,
//! the shape of `--info-fd` and `--json-status-fd`, the overlay options
//! (bubblewrap 0.10's: Debian 12's bwrap has none to compare with), the
//! opt-in to our own defaults (`--sandbox-defaults`,
//! `SANDBOX_BWRAP_DEFAULTS`), each proved by an attack that fails with it
//! and works without, and the caller's descriptors passed at their
//! numbers and nothing of ours with them, compared with Debian's bwrap.
//! bubblewrap's own suite runs against it in `make test-bwrap`
//! (tests/bwrap/run).

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

/// An option we do not know, or one this host cannot honour (SELinux
/// labels without SELinux), is refused with bubblewrap's exit code (1)
/// and one line naming it, never ignored; the command does not run.
/// Control: the same command line without it runs.
fn an_unsupported_option_fails_with_1() {
    let r = root();
    for (opt, line) in [
        (&["--frobnicate"][..], "bwrap: Unknown option --frobnicate"),
        (
            &["--exec-label", "x"],
            "bwrap: labeling not supported on this system",
        ),
    ] {
        let args = [opt, &["--ro-bind", &r, "/", "sh", "-c", "echo ran"]].concat();
        let out = bwrap(&args);
        assert_eq!(out.status.code(), Some(1), "{opt:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(line), "{opt:?}: {err}");
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

/// A shell script as the test user in a fresh directory `dir` (its path
/// in $D, bound at /run inside by the scripts), the rootfs in $R; stdout and
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
         \"$B\" bwrap --ro-bind \"$R\" / --bind \"$D\" /run --proc /proc --info-fd 4 {opts} \
           sh -c '{probe} > /run/ready; read x < /run/done' 4>info &\n\
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
/// The exit code comes through the stage's intermediate process.
fn userns_joins_the_given_namespace() {
    let out = script(
        "bwrap-userns",
        &format!(
            "{}\
             echo \"first $first\"\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --userns 5 readlink /proc/self/ns/user 5</proc/$P/ns/user\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --unshare-user readlink /proc/self/ns/user\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --userns 5 sh -c 'for f in /proc/$$/fd/*; do echo \"fd $(readlink $f)\"; done' 5</proc/$P/ns/user\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --userns 5 sh -c 'exec 7</proc/self/ns/user; for f in /proc/$$/fd/*; do echo \"ctl $(readlink $f)\"; done' 5</proc/$P/ns/user\n\
             rc=0; \"$B\" bwrap --ro-bind \"$R\" / --userns 5 sh -c 'exit 7' 5</proc/$P/ns/user || rc=$?\n\
             echo \"rc $rc\"\n",
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
    assert_eq!(lines.last(), Some(&"rc 7"), "{o}");
}

/// The join path dies with its launcher: our front end with `--userns`
/// runs a command that first clears its own death signal (probe
/// `nopdeath`) and leaves a setsid'd, double-forked, stop-ignoring daemon
/// holding a lock (probe `hold`); the launcher, run by `probe subreap` as
/// a child subreaper on the host, is SIGKILLed once the lock is held, and
/// nothing may outlive it: the guard watches the sandbox's first process,
/// not only the stage's relaying parent, whose death the command no
/// longer hears. Control: the same harness does see a process that
/// outlives what it killed; and the probe did clear its death signal.
/// (The sandbox's output goes to a file: a survivor holding the test's
/// pipes would hang it instead of failing it.)
fn a_joined_sandbox_dies_with_its_launcher() {
    let probe = stage().probe.display().to_string();
    let out = script(
        "bwrap-userns-sigkill",
        &format!(
            "{first}\
             rm -f \"$D/lock\" \"$D/lock.ready\"\n\
             export E=\"$D/sigkill.err\"\n\
             \"{probe}\" subreap \"$D/lock.ready\" 5000 sh -c 'exec \"$@\" >/dev/null 2>\"$E\"' sh \
               \"$B\" bwrap --ro-bind \"$R\" / --tmpfs /tmp \
               --ro-bind \"{probe}\" /tmp/probe --bind \"$D\" /run --userns 5 \
               /tmp/probe nopdeath /tmp/probe hold /run/lock 5</proc/$P/ns/user || true\n\
             cat \"$D/sigkill.err\" >&2\n\
             \"{probe}\" subreap \"$D/control.ready\" 300 sh -c 'setsid sleep 3 & touch \"$0\"; exec sleep 30' \"$D/control.ready\" || true\n",
            first = first_sandbox("--unshare-user", "echo up"),
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let err = text(&out.stderr);
    let counts: Vec<&str> = o.lines().filter(|l| l.starts_with("survivors=")).collect();
    assert_eq!(counts, ["survivors=0", "survivors=1"], "{o}\n{err}");
    assert!(err.contains("pdeathsig before=9 after=0"), "control: {err}");
}

/// `--pidns FD` (with `--userns`, as in bubblewrap's test): the command
/// runs in the PID namespace given, a sandbox of ours whose namespace is
/// owned by the user namespace above the one its command sees (joined
/// through that owner); --info-fd's `pid-namespace` is that namespace.
/// Control: without --pidns it has one of its own. A signal to our
/// process (the stage's intermediate) reaches the command, and its end by
/// that signal comes back as bubblewrap's status, 128 + 15; control: the
/// command's own exit code.
fn pidns_joins_the_given_namespace() {
    let out = script(
        "bwrap-pidns",
        &format!(
            "{}\
             echo \"first $first\"\n\
             \"$B\" bwrap --ro-bind \"$R\" / --ro-bind /proc /proc --userns 5 --pidns 6 readlink /proc/self/ns/pid 5</proc/$P/ns/user 6</proc/$P/ns/pid\n\
             \"$B\" bwrap --ro-bind \"$R\" / --proc /proc --userns 5 readlink /proc/self/ns/pid 5</proc/$P/ns/user\n\
             \"$B\" bwrap --ro-bind \"$R\" / --userns 5 --pidns 6 --info-fd 7 true 5</proc/$P/ns/user 6</proc/$P/ns/pid 7>ours\n\
             grep -o '\"pid-namespace\": [0-9]*' ours\n\
             mkfifo up\n\
             \"$B\" bwrap --ro-bind \"$R\" / --bind \"$D\" /run --userns 5 --pidns 6 sh -c 'echo up > /run/up; read x < /run/done' 5</proc/$P/ns/user 6</proc/$P/ns/pid &\n\
             ours=$!\n\
             timeout 30 cat up >/dev/null\n\
             kill -TERM $ours\n\
             rc=0; wait $ours || rc=$?\n\
             echo \"term $rc\"\n",
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
    let ino = first.trim_start_matches("pid:[").trim_end_matches(']');
    assert_eq!(lines[3], format!("\"pid-namespace\": {ino}"), "{o}");
    assert_eq!(lines[4], "term 143", "{o}");
}

/// `--uid`/`--gid` with `--userns` are ids of the joined namespace, taken
/// as bubblewrap takes them (setresuid, setresgid): the one id a
/// namespace made rootless maps (0 here) works; an unmapped one fails
/// with 1 and one line. Control: without them the command has the ids
/// the caller has there (0, the same map).
fn uid_and_gid_are_taken_in_the_joined_namespace() {
    let out = script(
        "bwrap-userns-uid",
        &format!(
            "{}\
             \"$B\" bwrap --ro-bind \"$R\" / --userns 5 --uid 0 --gid 0 sh -c 'echo \"ids $(id -u) $(id -g)\"' 5</proc/$P/ns/user\n\
             \"$B\" bwrap --ro-bind \"$R\" / --userns 5 sh -c 'echo \"ctl $(id -u) $(id -g)\"' 5</proc/$P/ns/user\n\
             rc=0; \"$B\" bwrap --ro-bind \"$R\" / --userns 5 --uid 7 sh -c 'echo ran' 5</proc/$P/ns/user 2>err || rc=$?\n\
             echo \"rc $rc $(wc -l < err)\"\n",
            first_sandbox("--unshare-user --uid 0 --gid 0", "echo up")
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    assert!(o.contains("ids 0 0\n"), "{o}");
    assert!(o.contains("ctl 0 0\n"), "{o}");
    assert!(o.contains("rc 1 1\n"), "{o}");
    assert!(!o.contains("ran"), "{o}");
}

/// `--pidns` without `--userns`, and with `--unshare-pid`: refused, exit
/// 1, one line, nothing run (docs/BWRAP.md says why). Control: with
/// `--userns` and without `--unshare-pid` the same runs (above).
fn pidns_alone_or_below_a_new_one_is_refused() {
    let r = root();
    for (args, want) in [
        (
            "--pidns 6",
            "bwrap: --pidns without --userns is not supported",
        ),
        (
            "--userns 5 --pidns 6 --unshare-pid",
            "bwrap: --pidns with --unshare-pid (or --unshare-all) is not supported",
        ),
    ] {
        let out = shell(&format!(
            "\"$B\" bwrap --ro-bind {r} / {args} sh -c 'echo ran' 5</proc/self/ns/user 6</proc/self/ns/pid"
        ));
        assert_eq!(out.status.code(), Some(1), "{args}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(want), "{err}");
        assert!(text(&out.stdout).is_empty());
    }
}

/// The attack on the old design (docs/BWRAP.md, "`--userns` and
/// `--pidns`"): an occupant of the user namespace U and PID namespace P
/// we are told to join, holding every capability in U (Debian's bwrap,
/// `--uid 0 --cap-add ALL`), finds our process in its /proc and tries to
/// open its /proc/PID/root/, a host file through it, its
/// /proc/PID/environ, and PTRACE_SEIZE it (tests/probe `hunt`, which
/// keeps trying until the process sleeps, held at --block-fd). Every try
/// must fail: our stage was exec'd in the caller's user namespace and
/// joined U after, non-dumpable, and the kernel asks for CAP_SYS_PTRACE in
/// that one. The process found is ours (its status names `exe`, our
/// re-exec'd binary). CONTROL: a process that joins U and P the old way
/// (setns, then exec: `probe joinexec`) is found by the same hunter, and
/// the same tries work: it reads the host file hidden from it.
fn a_joined_namespace_cannot_reach_the_stage() {
    let test = "a_joined_namespace_cannot_reach_the_stage";
    let Some(bw) = debian_bwrap(test) else {
        skip(
            test,
            "bwrap",
            "no /usr/bin/bwrap to make the occupant with (--cap-add ALL)",
        );
        return;
    };
    let probe = stage().probe.display().to_string();
    let out = script(
        "bwrap-joined-attack",
        &format!(
            "mkdir shared hidden; echo host-secret > hidden/secret; cp {probe} shared/probe\n\
             mkfifo shared/ready shared/go shared/result block oursinfo\n\
             {bw} --unshare-user --unshare-pid --uid 0 --cap-add ALL --ro-bind \"$R\" / \
               --bind \"$D/shared\" /run --proc /proc --info-fd 4 \
               sh -c 'echo up > /run/ready; while read c k < /run/go; do [ \"$c\" = end ] && break; \
                 /run/probe hunt \"$c\" \"$0\" $k > /run/result; done' \"$D/hidden/secret\" 4>info &\n\
             timeout 30 cat shared/ready >/dev/null\n\
             P=$(sed -n 's/.*\"child-pid\": \\([0-9]*\\).*/\\1/p' info)\n\
             trap 'echo end > shared/go; wait' EXIT\n\
             {probe} joinexec 5 6 /bin/sleep 30 5</proc/$P/ns/user 6</proc/$P/ns/pid &\n\
             echo sleep kill > shared/go\n\
             echo '== control'; timeout 30 cat shared/result\n\
             exec 9<>block\n\
             \"$B\" bwrap --ro-bind \"$R\" / --userns 5 --pidns 6 --block-fd 7 --info-fd 8 true \
               5</proc/$P/ns/user 6</proc/$P/ns/pid 7<block 8>oursinfo 9>&- &\n\
             ours=$!\n\
             timeout 30 cat oursinfo >/dev/null\n\
             echo exe > shared/go\n\
             echo '== ours'; timeout 30 cat shared/result\n\
             echo x >&9\n\
             rc=0; wait $ours || rc=$?\n\
             echo \"ours rc $rc\"\n"
        ),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let (control, ours) = o.split_once("== ours\n").unwrap_or_else(|| panic!("{o}"));
    // The control: the old order is reachable, and through it the host.
    for want in [
        "found\n",
        "name sleep\n",
        "root OK\n",
        "file OK\n",
        "environ OK\n",
        "ptrace OK\n",
        "secret host-secret\n",
    ] {
        assert!(control.contains(want), "control: {want}: {o}");
    }
    // Ours: found, still our stage, and nothing works.
    for want in [
        "found\n",
        "name exe\n",
        "root EACCES\n",
        "file EACCES\n",
        "environ EACCES\n",
        "ptrace EPERM\n",
    ] {
        assert!(ours.contains(want), "ours: {want}: {o}");
    }
    assert!(!ours.contains("secret"), "{o}");
    assert!(ours.contains("ours rc 0\n"), "{o}");
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
                 \"$B\" bwrap --ro-bind \"$R\" / --bind \"$D\" /run {opt} sh -c 'echo ran > /run/out' 5<bf &\n\
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
/// never holds the descriptor (fd 5 is not in its list). Control: the
/// same window after the end reads EOF at once.
fn sync_fd_ends_with_the_sandbox() {
    let out = script(
        "bwrap-sync",
        "mkfifo sf go\n\
         exec 8<>sf\n\
         \"$B\" bwrap --ro-bind \"$R\" / --bind \"$D\" /run --proc /proc --sync-fd 5 \
           sh -c 'ls /proc/$$/fd | tr \"\\n\" \" \"; echo; read x < /run/go' 5>sf &\n\
         exec 8<&-\n\
         exec 9<sf\n\
         if timeout 1 cat <&9; then echo 'eof while running'; else echo 'open while running'; fi\n\
         timeout 10 sh -c 'echo > go' || echo 'no reader'; wait $!\n\
         if timeout 10 cat <&9; then echo 'eof after'; fi\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let o = text(&out.stdout);
    let lines: Vec<&str> = o.lines().collect();
    // What the caller left open reaches the command as bubblewrap passes
    // it (passfds.rs), the sync descriptor never.
    let fds: Vec<&str> = lines[0].split_whitespace().collect();
    assert!(fds.starts_with(&["0", "1"]) && !fds.contains(&"5"), "{o}");
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
            "--userns 5 --pidns 77 5</proc/self/ns/user",
            "join the PID namespace (--pidns): fd 77: Bad file descriptor",
        ),
        // Found by the stage as it joins: the caller's own namespace is
        // not below the one the stage runs in.
        (
            "--userns 5 5</proc/self/ns/user",
            "join the user namespace (--userns): fd 5 (not below this process's user namespace, or the process has threads): Invalid argument",
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
        "\"$B\" bwrap --level-prefix --ro-bind {r} / --userns2 77 true"
    ));
    assert_eq!(
        text(&out.stderr),
        "<3>bwrap: take the user namespace (--userns2): fd 77: Bad file descriptor\n"
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

/// Whether the kernel mounts overlay in a user namespace (Linux 5.11+),
/// read from its release; the test is skipped with the reason when not.
fn overlay_in_userns(test: &str) -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut v = release
        .trim()
        .split(['.', '-'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    if (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (5, 11) {
        return true;
    }
    skip(
        test,
        "overlay-userns",
        &format!(
            "Linux {} mounts no overlay in a user namespace (5.11+)",
            release.trim()
        ),
    );
    false
}

/// A directory of the stage owned by the test uid, holding `files`
/// (name, content).
fn layer(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
    let dir = test_dir(name);
    for (f, body) in files {
        let out = shell(&format!("printf %s '{body}' > '{}'", dir.join(f).display()));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    dir
}

/// The stage's rootfs as /, a tmpfs on /run, then `ops`, then `sh -c line`.
fn in_overlay(ops: &[&str], line: &str) -> Output {
    let r = root();
    let args = [
        &["--ro-bind", &r, "/", "--tmpfs", "/run"][..],
        ops,
        &["sh", "-c", line],
    ]
    .concat();
    bwrap(&args)
}

/// `--tmp-overlay`: writes inside succeed (a new file, a changed one, a
/// removed one) and none reaches the host: the lower layer is as it was.
/// Control: the same writes on a `--bind` of the directory do reach it.
fn a_tmp_overlay_keeps_writes_from_the_host() {
    if !overlay_in_userns("a_tmp_overlay_keeps_writes_from_the_host") {
        return;
    }
    let l = layer("ov-tmp", &[("f", "old"), ("g", "gone?")]);
    let ls = l.display().to_string();
    let writes = "echo new > /run/o/n && echo changed > /run/o/f && rm /run/o/g && cat /run/o/f /run/o/n && ! test -e /run/o/g";
    let out = in_overlay(&["--overlay-src", &ls, "--tmp-overlay", "/run/o"], writes);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "changed\nnew\n");
    assert_eq!(fs::read_to_string(l.join("f")).unwrap(), "old");
    assert_eq!(fs::read_to_string(l.join("g")).unwrap(), "gone?");
    assert!(!l.join("n").exists());
    // A second run starts from the lower layer again.
    let out = in_overlay(
        &["--overlay-src", &ls, "--tmp-overlay", "/run/o"],
        "cat /run/o/f; test ! -e /run/o/n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "old");
    // The root itself as a --tmp-overlay of a rootfs: written inside, the
    // rootfs on disk unchanged.
    let r = private_rootfs("ov-tmp-root");
    let rs = r.display().to_string();
    let out = bwrap(&[
        "--overlay-src",
        &rs,
        "--tmp-overlay",
        "/",
        "sh",
        "-c",
        "echo in > /etc/ov-new && cat /etc/ov-new",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "in\n");
    assert!(!r.join("etc/ov-new").exists());
    // Control: bound, the same writes are the host's.
    let out = in_overlay(&["--bind", &ls, "/run/o"], writes);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(l.join("n")).unwrap(), "new\n");
    assert!(!l.join("g").exists());
}

/// `--overlay RWSRC WORKDIR`: writes land in RWSRC (a new file, a changed
/// one, a whiteout for a removed one), the lower layer stays as it was,
/// and a later run over the same RWSRC sees them. Control: a
/// `--tmp-overlay` of the same lower layer sees none of them.
fn an_overlay_writes_into_its_upper_directory() {
    if !overlay_in_userns("an_overlay_writes_into_its_upper_directory") {
        return;
    }
    let l = layer("ov-rw-lower", &[("f", "old"), ("g", "lower")]);
    let u = layer("ov-rw-upper", &[]);
    let w = layer("ov-rw-work", &[]);
    let (ls, us, ws) = (
        l.display().to_string(),
        u.display().to_string(),
        w.display().to_string(),
    );
    let ops = ["--overlay-src", &ls, "--overlay", &us, &ws, "/run/o"];
    let out = in_overlay(
        &ops,
        "echo new > /run/o/n && echo changed > /run/o/f && rm /run/o/g",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(u.join("n")).unwrap(), "new\n");
    assert_eq!(fs::read_to_string(u.join("f")).unwrap(), "changed\n");
    // The removed file is a whiteout in the upper directory (a 0/0 char
    // device under `userxattr`), still there below.
    let g = fs::symlink_metadata(u.join("g")).unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&g.file_type()),
        "{g:?}"
    );
    assert_eq!(fs::read_to_string(l.join("f")).unwrap(), "old");
    assert_eq!(fs::read_to_string(l.join("g")).unwrap(), "lower");
    assert!(!l.join("n").exists());
    // A later run over the same upper directory sees them.
    let seen = "cat /run/o/f /run/o/n; if test -e /run/o/g; then echo g; fi";
    let out = in_overlay(&ops, seen);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "changed\nnew\n");
    // Control: over the lower layer alone, none of it.
    let out = in_overlay(&["--overlay-src", &ls, "--tmp-overlay", "/run/o"], seen);
    assert_eq!(text(&out.stdout), "oldg\n", "{}", text(&out.stderr));
}

/// `--ro-overlay`: a write fails with EROFS. Control: the same write in a
/// `--tmp-overlay` of the same layers succeeds.
fn a_ro_overlay_refuses_writes() {
    if !overlay_in_userns("a_ro_overlay_refuses_writes") {
        return;
    }
    let a = layer("ov-ro-a", &[("f", "a")]);
    let b = layer("ov-ro-b", &[]);
    let (a, b) = (a.display().to_string(), b.display().to_string());
    let write = "echo x > /run/o/f";
    let lowers = ["--overlay-src", &a, "--overlay-src", &b];
    let out = in_overlay(&[&lowers[..], &["--ro-overlay", "/run/o"]].concat(), write);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );
    let out = in_overlay(&[&lowers[..], &["--tmp-overlay", "/run/o"]].concat(), write);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// Layers stack in the order given: the last `--overlay-src` is the top,
/// its file wins; a file only in a lower one shows through. The same two
/// the other way round are the control: the other file wins.
fn the_last_overlay_src_is_the_top_layer() {
    if !overlay_in_userns("the_last_overlay_src_is_the_top_layer") {
        return;
    }
    let a = layer("ov-order-a", &[("f", "a"), ("only-a", "a")]);
    let b = layer("ov-order-b", &[("f", "b")]);
    let c = layer("ov-order-c", &[("f", "c")]);
    let (a, b, c) = (
        a.display().to_string(),
        b.display().to_string(),
        c.display().to_string(),
    );
    let read = "cat /run/o/f /run/o/only-a";
    for (order, top) in [
        ([&a, &b, &c], "c"),
        ([&c, &b, &a], "a"),
        ([&a, &c, &b], "b"),
    ] {
        let mut ops = Vec::new();
        for l in order {
            ops.extend(["--overlay-src", l.as_str()]);
        }
        ops.extend(["--ro-overlay", "/run/o"]);
        let out = in_overlay(&ops, read);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), format!("{top}a"), "{order:?}");
    }
}

/// Host paths with the characters overlay's option string gives a meaning
/// (',' ':' '\\') work as lower, upper and work directories: they never
/// reach the option string (the layers are named as /proc/self/fd/N).
/// Control: the same lower directory bound shows the same file.
fn overlay_paths_with_separators_work() {
    if !overlay_in_userns("overlay_paths_with_separators_work") {
        return;
    }
    let l = layer("ov,lower:x\\y", &[("f", "from the odd name")]);
    let u = layer("ov,upper:x\\y", &[]);
    let w = layer("ov,work:x\\y", &[]);
    let (ls, us, ws) = (
        l.display().to_string(),
        u.display().to_string(),
        w.display().to_string(),
    );
    let out = in_overlay(
        &["--overlay-src", &ls, "--overlay", &us, &ws, "/run/o"],
        "cat /run/o/f && echo up > /run/o/n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "from the odd name");
    assert_eq!(fs::read_to_string(u.join("n")).unwrap(), "up\n");
    let out = in_overlay(&["--ro-bind", &ls, "/run/o"], "cat /run/o/f");
    assert_eq!(text(&out.stdout), "from the odd name");
}

/// An overlay the kernel refuses (here: the upper directory on one
/// filesystem, /dev/shm, and the work directory on another) fails with
/// exit 1 and one `bwrap:` line naming the step, the mount point, the
/// errno and the layers; the command does not run. Control: with the
/// work directory beside the upper one it mounts and runs. The same for
/// more layers than one page of options names (E2BIG, before the kernel
/// is asked) and for a layer given twice (overlayfs's ELOOP).
fn a_refused_overlay_fails_with_one_line() {
    if !overlay_in_userns("a_refused_overlay_fails_with_one_line") {
        return;
    }
    let l = layer("ov-refused-lower", &[("f", "x")]);
    let w = layer("ov-refused-work", &[]);
    let shm = std::path::PathBuf::from(format!("/dev/shm/sandbox-ov-{}", std::process::id()));
    let _ = fs::remove_dir_all(&shm);
    let mk = shell(&format!("mkdir -p '{0}/u' '{0}/w'", shm.display()));
    assert!(mk.status.success(), "{}", text(&mk.stderr));
    let (ls, ws) = (l.display().to_string(), w.display().to_string());
    let (su, sw) = (
        shm.join("u").display().to_string(),
        shm.join("w").display().to_string(),
    );
    let out = in_overlay(
        &["--overlay-src", &ls, "--overlay", &su, &ws, "/run/o"],
        "echo ran",
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "bwrap: mount overlay: /run/o: Invalid argument (upper {su}, work {ws}, "
        )),
        "{err}"
    );
    assert!(text(&out.stdout).is_empty());
    // More layers than mount(2)'s one page of options can name: refused
    // whole (E2BIG), never mounted with the list cut short.
    // Control: 150 of them (about 2,900 bytes) mount.
    let d = test_dir("ov-many");
    let mk = shell(&format!(
        "cd '{}' && i=0; while [ $i -lt 250 ]; do mkdir $i; i=$((i+1)); done",
        d.display()
    ));
    assert!(mk.status.success(), "{}", text(&mk.stderr));
    let layers: Vec<String> = (0..250)
        .map(|i| d.join(i.to_string()).display().to_string())
        .collect();
    let many = |n: usize| {
        let mut ops: Vec<&str> = Vec::new();
        for l in &layers[..n] {
            ops.extend(["--overlay-src", l.as_str()]);
        }
        ops.extend(["--ro-overlay", "/run/o"]);
        in_overlay(&ops, "echo ran")
    };
    let out = many(250);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("bwrap: mount overlay: /run/o: Argument list too long ("),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let out = many(150);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The same directory twice: overlayfs's ELOOP, said as bubblewrap
    // says it. (Control: distinct layers mount, just above.)
    let out = in_overlay(
        &[
            "--overlay-src",
            &ls,
            "--overlay-src",
            &ls,
            "--ro-overlay",
            "/run/o",
        ],
        "echo ran",
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("bwrap: mount overlay: /run/o: ")
            && err.contains("overlay directories may not overlap"),
        "{err}"
    );
    // Control: upper and work on the one filesystem.
    let out = in_overlay(
        &["--overlay-src", &ls, "--overlay", &su, &sw, "/run/o"],
        "echo ran",
    );
    let _ = fs::remove_dir_all(&shm);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ran\n");
}

/// `line` run by the test uid's shell (with fd 4 read from `fifo`), while
/// the test feeds `fifo` and, once the front end is reading it (so it has
/// parsed, and resolved, every option before `--args 4`), runs `swap`.
/// The front end reads the descriptor to its end before it goes on, so
/// `swap` happens between the launcher's look at the paths and the child
/// stage's. The signal that it reads: more was written than a pipe holds
/// (64 KiB), of a no-op option.
fn swap_while_parsing(line: &str, fifo: &std::path::Path, swap: impl FnOnce()) -> Output {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::time::{Duration, Instant};
    let mut c = as_test_user("sh");
    c.arg("-c")
        .arg(format!("{line} 4<'{}'", fifo.display()))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("B", &stage().bin)
        .current_dir(&stage().dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // Non-blocking, so that a shell that never opens it cannot hang us.
    let mut w = loop {
        match fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(fifo)
        {
            Ok(f) => break f,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(e) => panic!("open {}: {e}", fifo.display()),
        }
    };
    // 70,000 bytes: more than a pipe holds, so the last write returns
    // only once the front end has read some, and it sees the end only
    // when we close.
    let data = b"--unshare-ipc\0".repeat(5000);
    let mut written = 0;
    while written < data.len() {
        match w.write(&data[written..]) {
            Ok(n) => written += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("write {}: {e} after {written} bytes", fifo.display()),
        }
    }
    swap();
    drop(w);
    child.wait_with_output().unwrap()
}

/// An overlay directory swapped for a symlink after the front end
/// resolved it and before the child stage opens it (CVE-2021-30465's
/// race, made deterministic by holding the parse open on `--args 4`) is
/// refused: exit 1, one line, the command not run, the other tree never
/// shown. Control: the same swap under `--bind`, which follows links as
/// bubblewrap does, shows the other tree, so the swap did land in between.
fn an_overlay_source_swapped_for_a_symlink_is_refused() {
    if !overlay_in_userns("an_overlay_source_swapped_for_a_symlink_is_refused") {
        return;
    }
    let r = root();
    let run = |name: &str, ops: &str| {
        let dir = test_dir(name);
        let l = dir.join("layer");
        let other = dir.join("other");
        let mk = shell(&format!(
            "cd '{0}' && mkdir layer other && echo mine > layer/f && echo other > other/f && mkfifo args",
            dir.display()
        ));
        assert!(mk.status.success(), "{}", text(&mk.stderr));
        let ops = ops.replace("L", &l.display().to_string());
        let line = format!("\"$B\" bwrap --ro-bind {r} / --tmpfs /run {ops} --args 4 cat /run/o/f");
        swap_while_parsing(&line, &dir.join("args"), || {
            fs::rename(&l, dir.join("layer-was")).unwrap();
            std::os::unix::fs::symlink(&other, &l).unwrap();
        })
    };
    let out = run("ov-swap", "--overlay-src L --tmp-overlay /run/o");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("bwrap: overlay source: ") && err.contains("became a symlink"),
        "{err}"
    );
    assert!(text(&out.stdout).is_empty(), "{}", text(&out.stdout));
    // Control: --bind follows the swapped-in link to the other tree.
    let out = run("ov-swap-bind", "--bind L /run/o");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "other\n");
}

/// Debian's bubblewrap, the control where it is installed.
const DEBIAN_BWRAP: &str = "/usr/bin/bwrap";

/// Debian's bwrap when it is installed (it runs rootless here as ours
/// does), else None and a note: the comparisons with it are skipped, the
/// rest of the test stands.
fn debian_bwrap(test: &str) -> Option<&'static str> {
    if std::path::Path::new(DEBIAN_BWRAP).exists() {
        Some(DEBIAN_BWRAP)
    } else {
        eprintln!("{test}: no {DEBIAN_BWRAP}: the comparison with bubblewrap is skipped");
        None
    }
}

/// `opens` (bash redirections, e.g. `3<file`), then `argv` exec'd, as
/// the test uid from the stage directory: the caller's descriptors as a
/// script passes them.
fn with_fds(opens: &str, argv: &[&str]) -> Output {
    // bash: dash takes only one-digit descriptors in a redirection.
    let mut c = as_test_user("bash");
    c.arg("-c")
        .arg(format!("exec {opens}; exec \"$@\""))
        .arg("sh")
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(&stage().dir);
    c.output().unwrap()
}

/// The caller's descriptors 3, 5 and 100 (open on one file, without
/// close-on-exec) are read by the command at the same numbers, as
/// bubblewrap passes them: 3 and 5 are where the stage's own report pipe
/// and pty socket go, 100 is above them all; also through our init
/// (--unshare-pid) and with the relay's pty socket (--sandbox-defaults
/// relay). Control: fd 5 marked close-on-exec by the caller does not
/// arrive (3 and 100 still do), and the same exec with the flag left
/// clear passes it (the probe tells the two apart). Debian's bwrap,
/// given the same command lines, answers the same.
fn inherited_descriptors_reach_the_command_at_their_numbers() {
    let dir = test_dir("bwrap-fds");
    let file = dir.join("data");
    fs::write(&file, "passed\n").unwrap();
    let opens = format!("3<{f} 5<{f} 100<{f}", f = file.display());
    let r = root();
    let bin = stage().bin.display().to_string();
    let read = "for n in 3 5 100; do read l <&$n && echo $n:$l; done";
    let layout = ["--ro-bind", &r, "/", "--dev", "/dev", "sh", "-c", read];
    let all = "3:passed\n5:passed\n100:passed\n";
    let ours = |extra: &[&str]| -> Vec<String> {
        [&[bin.as_str(), "bwrap"][..], extra, &layout]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    for extra in [
        &[][..],
        &["--unshare-pid"],
        &["--sandbox-defaults", "relay"],
    ] {
        let argv = ours(extra);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = with_fds(&opens, &argv);
        assert!(out.status.success(), "{extra:?}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), all, "{extra:?}: {}", text(&out.stderr));
    }
    // Control: close-on-exec in the caller, not passed; clear, passed
    // (the probe sets or clears fd 5's flag, then execs the front end).
    let probe = stage().probe.display().to_string();
    let via_probe = |on: bool, bwrap: &[&str]| {
        let flag = if on { "on" } else { "off" };
        let argv = [&[probe.as_str(), "cloexec", "5", flag][..], bwrap, &layout].concat();
        with_fds(&opens, &argv)
    };
    let ours_bwrap = [bin.as_str(), "bwrap"];
    let out = via_probe(true, &ours_bwrap);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "3:passed\n100:passed\n");
    let out = via_probe(false, &ours_bwrap);
    assert_eq!(text(&out.stdout), all, "control: {}", text(&out.stderr));
    // bubblewrap itself, on the same command lines.
    if let Some(bw) = debian_bwrap("inherited_descriptors_reach_the_command_at_their_numbers") {
        let argv = [&[bw][..], &["--unshare-pid"], &layout].concat();
        let out = with_fds(&opens, &argv);
        assert_eq!(text(&out.stdout), all, "bwrap: {}", text(&out.stderr));
        let out = via_probe(true, &[bw]);
        assert_eq!(text(&out.stdout), "3:passed\n100:passed\n", "bwrap");
    }
}

/// The fd numbers the probe lists (tests/probe: `fds`, without its own
/// directory's), and the lines after them.
fn fd_numbers(out: &Output) -> (Vec<i32>, Vec<String>) {
    let mut fds = Vec::new();
    let mut rest = Vec::new();
    for l in text(&out.stdout).lines() {
        match l.strip_prefix("fd ").and_then(|t| t.split(' ').next()) {
            Some(n) => fds.push(n.parse().unwrap()),
            None => rest.push(l.to_string()),
        }
    }
    fds.sort_unstable();
    (fds, rest)
}

/// The command holds exactly what the caller passed and stdio: nothing
/// of ours (the plan, the report pipe, the pty or denials sockets,
/// namespace or root descriptors, the trampoline's memfd), nor what
/// bubblewrap closes (`--info-fd`, `--bind-fd`), and its working
/// directory is inside the sandbox, not the host's one it was started
/// from. The list is compared with the caller's own (the probe run
/// directly with the same descriptors: the control that shows the probe
/// sees them) and with Debian's bwrap's on the same command line;
/// `sandbox run` from the same caller passes none of them.
fn the_command_holds_no_descriptor_of_ours() {
    let dir = test_dir("bwrap-fds-list");
    let file = dir.join("data");
    fs::write(&file, "x\n").unwrap();
    let opens = format!(
        "3<{f} 5<{f} 100<{f} 40>{i} 41<{d}",
        f = file.display(),
        i = dir.join("info").display(),
        d = dir.display()
    );
    let probe = stage().probe.display().to_string();
    let (caller, _) = fd_numbers(&with_fds(&opens, &[&probe, "fds"]));
    for n in [3, 5, 100, 40, 41] {
        assert!(
            caller.contains(&n),
            "control: the caller holds {n}: {caller:?}"
        );
    }
    let want: Vec<i32> = caller
        .iter()
        .copied()
        .filter(|n| *n != 40 && *n != 41)
        .collect();
    let r = root();
    let bin = stage().bin.display().to_string();
    let line = "/tmp/probe fds; readlink /proc/self/cwd";
    let layout = [
        "--ro-bind",
        &r,
        "/",
        "--tmpfs",
        "/tmp",
        "--ro-bind",
        &probe,
        "/tmp/probe",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--info-fd",
        "40",
        "--bind-fd",
        "41",
        "/run",
        "sh",
        "-c",
        line,
    ];
    let ours = [bin.as_str(), "bwrap"];
    for extra in [
        &["--unshare-all"][..],
        &["--unshare-pid", "--sandbox-defaults", "all"],
        &[],
    ] {
        let out = with_fds(&opens, &[&ours[..], extra, &layout].concat());
        assert!(out.status.success(), "{extra:?}: {}", text(&out.stderr));
        let (fds, rest) = fd_numbers(&out);
        assert_eq!(fds, want, "{extra:?}: {}", text(&out.stdout));
        // Not the stage directory the caller is in (it is not in the
        // root): bubblewrap's fallback, $HOME (unset), then /.
        assert_eq!(rest, ["/"], "{extra:?}");
    }
    // Control: where the caller's directory is in the root (the host's
    // own, here), the command starts there: the probe sees a working
    // directory the host gave.
    let here = stage().dir.display().to_string();
    let cwd = ["--ro-bind", "/", "/", "readlink", "/proc/self/cwd"];
    let out = with_fds(&opens, &[&ours[..], &cwd].concat());
    assert_eq!(
        text(&out.stdout),
        format!("{here}\n"),
        "{}",
        text(&out.stderr)
    );
    if let Some(bw) = debian_bwrap("the_command_holds_no_descriptor_of_ours") {
        let out = with_fds(&opens, &[&[bw][..], &["--unshare-all"], &layout].concat());
        assert!(out.status.success(), "bwrap: {}", text(&out.stderr));
        assert_eq!(fd_numbers(&out).0, want, "bwrap");
    }
    // `sandbox run`: stdio alone, whatever the caller holds.
    let bind = format!("{probe}:/probe");
    let out = with_fds(
        &opens,
        &[&bin, "run", "--ro-bind", &bind, &r, "/probe", "fds"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fd_numbers(&out).0, [0, 1, 2]);
}

/// With the caller's fd 3 passed (where the stage's report pipe was), a
/// command that cannot be run is still reported as one (exit 1, the
/// exec's error on stderr) through the report pipe's new number, and
/// nothing of ours is written into the caller's file on fd 3, through our
/// init or without it. Control: the command that runs writes to fd 3,
/// and that lands in the file.
fn a_failed_exec_is_reported_away_from_a_passed_fd_3() {
    let dir = test_dir("bwrap-fd3");
    let file = dir.join("out");
    let opens = format!("3>>{}", file.display());
    let r = root();
    let bin = stage().bin.display().to_string();
    for extra in [&[][..], &["--unshare-pid"]] {
        let _ = fs::remove_file(&file);
        let argv = [
            &[bin.as_str(), "bwrap"][..],
            extra,
            &["--ro-bind", &r, "/", "/no/such"],
        ];
        let out = with_fds(&opens, &argv.concat());
        assert_eq!(
            out.status.code(),
            Some(1),
            "{extra:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(
            err.starts_with("bwrap: ") && err.contains("/no/such"),
            "{err}"
        );
        assert_eq!(fs::read(&file).unwrap_or_default(), b"", "{extra:?}");
        // Control: fd 3 is the caller's file, and the command can write it.
        let argv = [
            &[bin.as_str(), "bwrap"][..],
            extra,
            &["--ro-bind", &r, "/", "sh", "-c", "echo ran >&3"],
        ];
        let out = with_fds(&opens, &argv.concat());
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(fs::read_to_string(&file).unwrap(), "ran\n", "{extra:?}");
    }
}

/// Under `--unshare-pid` the front end returns once init has reported the
/// command's end, as bubblewrap does, without waiting for PID 1's exit
/// and the namespaces' teardown: the status is the command's, and what the
/// command left running in the sandbox is still killed, PID 1 and all,
/// within a bounded time after the front end returned (nothing of the
/// sandbox outlives it). Control: the process left behind (a `sleep` that
/// ignores SIGTERM) was running when the command ended, and the same
/// command under `--as-pid-1` (no init: the front end waits for PID 1)
/// ends the same way.
fn returns_at_the_commands_end_and_leaves_nothing() {
    let dir = test_dir("bwrap-leave");
    let r = root();
    for extra in [&[][..], &["--as-pid-1"][..]] {
        let info = dir.join("info.json");
        let args = [
            &[
                "--unshare-all",
                "--ro-bind",
                &r,
                "/",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--info-fd",
                "3",
            ][..],
            extra,
            &[
                "sh",
                "-c",
                "trap '' TERM; sleep 1000 & sleep 0.1; test -d /proc/$! && echo running; exit 7",
            ],
        ]
        .concat();
        let out = shell(&format!(
            "\"$B\" bwrap {} 3>{}",
            args.iter()
                .map(|a| format!("'{a}'"))
                .collect::<Vec<_>>()
                .join(" "),
            info.display()
        ));
        assert_eq!(
            out.status.code(),
            Some(7),
            "{extra:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "running\n", "{extra:?}");
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&info).unwrap()).unwrap();
        let pid1 = v["child-pid"].as_u64().unwrap();
        // PID 1 of the sandbox (the host's number) is gone, or a zombie
        // on its way, within 10 s; its namespace's processes with it.
        let gone = (0..1000).any(|_| {
            let st = fs::read_to_string(format!("/proc/{pid1}/stat")).unwrap_or_default();
            let done = st.is_empty()
                || st
                    .rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'));
            if !done {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            done
        });
        assert!(
            gone,
            "{extra:?}: the sandbox's PID 1 ({pid1}) outlived the front end"
        );
    }
}

/// The host's root, read-only, with the host's /proc (as bubblewrap's
/// tests bind it: a front end inside can then mount a /proc of its own,
/// which a /proc with read-only parts would not let it), a /dev and a
/// /tmp of the sandbox's: the tests below need util-linux (unshare).
const HOST: [&str; 10] = [
    "--ro-bind",
    "/",
    "/",
    "--bind",
    "/proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
];

/// The five `Cap*` lines of /proc/self/status, as one line.
const CAPS: [&str; 4] = [
    "grep",
    "-E",
    "^Cap(Inh|Prm|Eff|Bnd|Amb)",
    "/proc/self/status",
];

/// `args` run by `prog ARGS` (our front end, or Debian's bwrap) as the
/// test uid, as uid 0 of a user namespace of its own first (`unshare
/// -r`) when `as_root`: a caller of uid 0, whose capabilities bubblewrap
/// hands on.
fn caps_of(prog: &[&str], as_root: bool, args: &[&str]) -> (i32, String) {
    let mut c = as_test_user(if as_root { "unshare" } else { prog[0] });
    if as_root {
        c.args(["-r", "--"]).arg(prog[0]);
    }
    c.args(&prog[1..])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    let out = c.output().unwrap();
    let caps: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    (out.status.code().unwrap_or(-1), caps.join(", "))
}

fn ours() -> Vec<&'static str> {
    vec![stage().bin.to_str().unwrap(), "bwrap"]
}

/// bubblewrap's rule (not setuid): a caller of uid 0 hands its effective
/// set on to a command of uid 0, unless --cap-drop; a caller of another
/// uid hands on none, even to uid 0 in the sandbox. The attack: uid 0 in
/// the sandbox uses a capability (CAP_DAC_OVERRIDE: writes a file of mode
/// 000). The
/// controls: the caller's own set read the same way, --cap-drop ALL and
/// --cap-drop CAP_DAC_OVERRIDE refuse the same write, and where Debian's bwrap is
/// installed, it gives the very same five sets for each command line.
fn uid_0_keeps_the_callers_capabilities_unless_dropped() {
    let ours = ours();
    fn cmd<'a>(extra: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
        [&HOST[..], extra, tail].concat()
    }
    // The caller's own effective set, as `unshare -r` leaves it.
    let mut c = as_test_user("unshare");
    c.args(["-r", "--", "grep", "^CapEff", "/proc/self/status"]);
    let callers = text(&c.output().unwrap().stdout);
    let callers = callers.split_whitespace().nth(1).unwrap_or("").to_string();
    assert!(
        !callers.is_empty() && callers != "0000000000000000",
        "unshare -r: {callers:?}"
    );
    let (rc, kept) = caps_of(&ours, true, &cmd(&[], &CAPS));
    assert_eq!(rc, 0);
    assert!(kept.contains(&format!("CapEff: {callers}")), "{kept}");
    assert!(kept.contains(&format!("CapBnd: {callers}")), "{kept}");
    // The bounding set stays the caller's without a user namespace
    // (bubblewrap makes none for a caller of uid 0): the others are empty.
    let (rc, dropped) = caps_of(&ours, true, &cmd(&["--cap-drop", "ALL"], &CAPS));
    assert_eq!(rc, 0);
    assert_eq!(
        dropped,
        format!(
            "CapInh: 0000000000000000, CapPrm: 0000000000000000, CapEff: 0000000000000000, \
             CapBnd: {callers}, CapAmb: 0000000000000000"
        )
    );
    // A capability used: only CAP_DAC_OVERRIDE writes a file of mode 000.
    let write = [
        "sh",
        "-c",
        "touch /tmp/f && chmod 000 /tmp/f && echo x > /tmp/f",
    ];
    let (rc, _) = caps_of(&ours, true, &cmd(&[], &write));
    assert_eq!(rc, 0, "uid 0 with the caller's capabilities writes");
    for drop in ["ALL", "CAP_DAC_OVERRIDE"] {
        let (rc, _) = caps_of(&ours, true, &cmd(&["--cap-drop", drop], &write));
        assert_ne!(rc, 0, "--cap-drop {drop}: the write is refused");
    }
    // A caller of another uid: nothing, even for uid 0 inside.
    let (rc, none) = caps_of(&ours, false, &cmd(&["--unshare-user", "--uid", "0"], &CAPS));
    assert_eq!(rc, 0);
    assert_eq!(
        none,
        "CapInh: 0000000000000000, CapPrm: 0000000000000000, CapEff: 0000000000000000, \
         CapBnd: 0000000000000000, CapAmb: 0000000000000000"
    );
    let Some(bw) = debian_bwrap("uid_0_keeps_the_callers_capabilities_unless_dropped") else {
        skip(
            "uid_0_keeps_the_callers_capabilities_unless_dropped",
            "bwrap",
            "no /usr/bin/bwrap to compare with (the checks above ran)",
        );
        return;
    };
    for (as_root, extra) in [
        (true, &[][..]),
        (true, &["--cap-drop", "CAP_KILL"][..]),
        (true, &["--unshare-user", "--cap-drop", "ALL"][..]),
        (true, &["--cap-drop", "ALL"][..]),
        (true, &["--unshare-user", "--uid", "1000"][..]),
        (false, &["--unshare-user", "--uid", "0"][..]),
    ] {
        let args = cmd(extra, &CAPS);
        assert_eq!(
            caps_of(&ours, as_root, &args),
            caps_of(&[bw], as_root, &args),
            "{extra:?} (caller uid 0: {as_root})"
        );
    }
}

/// --cap-add CAP for a uid other than 0: exactly that capability, in all
/// five sets (ambient, so it survives the exec), and the same from
/// --cap-add ALL --cap-drop of all but it. Control: without --cap-add,
/// none; Debian's bwrap gives the same sets where installed.
fn cap_add_gives_another_uid_exactly_that_capability() {
    let ours = ours();
    let base = [&HOST[..], &["--unshare-user", "--uid", "1000"]].concat();
    let (rc, one) = caps_of(
        &ours,
        false,
        &[&base[..], &["--cap-add", "CAP_NET_RAW"], &CAPS].concat(),
    );
    assert_eq!(rc, 0);
    let want = "CapInh: 0000000000002000, CapPrm: 0000000000002000, CapEff: 0000000000002000, \
                CapBnd: 0000000000002000, CapAmb: 0000000000002000";
    assert_eq!(one, want);
    let (_, none) = caps_of(&ours, false, &[&base[..], &CAPS].concat());
    assert_eq!(
        none,
        "CapInh: 0000000000000000, CapPrm: 0000000000000000, CapEff: 0000000000000000, \
         CapBnd: 0000000000000000, CapAmb: 0000000000000000"
    );
    // An unknown name is refused as bubblewrap refuses it: exit 1.
    let out = bwrap(&[&base[..], &["--cap-add", "CAP_FROB", "true"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "bwrap: unknown cap: CAP_FROB\n");
    if let Some(bw) = debian_bwrap("cap_add_gives_another_uid_exactly_that_capability") {
        let args = [&base[..], &["--cap-add", "CAP_NET_RAW"], &CAPS].concat();
        assert_eq!(caps_of(&[bw], false, &args), (0, want.to_string()));
    }
}

/// --disable-userns: the command cannot make a user namespace, not even
/// as uid 0 with every capability after raising its own namespace's
/// user.max_user_namespaces (the limit that holds is the sandbox's, one
/// level up). Controls: the same commands without --disable-userns make
/// one. --assert-userns-disabled fails where one can be made (exit 1),
/// and passes under --disable-userns.
fn disable_userns_stops_nested_user_namespaces() {
    let unshare = ["unshare", "-U", "true"];
    let raise = [
        "sh",
        "-c",
        "echo 100 > /proc/sys/user/max_user_namespaces && unshare -U true",
    ];
    let u = ["--unshare-user"];
    let root = ["--unshare-user", "--uid", "0", "--cap-add", "ALL"];
    for (extra, cmd) in [(&u[..], &unshare[..]), (&root[..], &raise[..])] {
        let args = [&HOST[..], extra, cmd].concat();
        let out = bwrap(&args);
        assert!(
            out.status.success(),
            "control {cmd:?}: {}",
            text(&out.stderr)
        );
        let args = [&HOST[..], extra, &["--disable-userns"], cmd].concat();
        let out = bwrap(&args);
        assert_ne!(out.status.code(), Some(0), "{cmd:?} under --disable-userns");
        assert!(
            text(&out.stderr).contains("No space left on device"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = bwrap(&[&HOST[..], &u, &["--assert-userns-disabled", "true"]].concat());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("creation of new user namespaces was not disabled as requested"),
        "{}",
        text(&out.stderr)
    );
    let out = bwrap(
        &[
            &HOST[..],
            &u,
            &["--disable-userns", "--assert-userns-disabled", "true"],
        ]
        .concat(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // And a front end run inside asserts it too (bubblewrap's own test).
    let b = stage().bin.to_str().unwrap();
    let nested = [
        b,
        "bwrap",
        "--unshare-user",
        "--ro-bind",
        "/",
        "/",
        "--assert-userns-disabled",
        "true",
    ];
    let out = bwrap(&[&HOST[..], &u, &["--disable-userns"], &nested].concat());
    assert_ne!(out.status.code(), Some(0));
}

/// The command /proc/self/exe is the front end itself (bubblewrap's tests
/// run it so), here from a sealed memfd copy of our binary. The attack:
/// uid 0 with every capability in the inner sandbox opens the executable
/// of its PID 1 (the inner stage, run from that copy) for writing and
/// writes: refused (the copy is sealed), and our binary on the host is
/// unchanged. Control: the same probe writes a copy of that executable it
/// owns; and the copy answers as the front end (`--version`).
fn proc_self_exe_is_a_sealed_copy_of_the_front_end() {
    let before = fs::read(&stage().bin).unwrap();
    let outer = [
        &HOST[..],
        &[
            "--unshare-user",
            "--uid",
            "0",
            "--gid",
            "0",
            "--cap-add",
            "ALL",
        ],
    ]
    .concat();
    let out = bwrap(&[&outer[..], &["/proc/self/exe", "--version"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("bubblewrap 0.8.0 (sandbox"),
        "{}",
        text(&out.stdout)
    );
    let probe = "readlink /proc/1/exe; \
        if printf x >> /proc/1/exe; then echo wrote-exe; else echo refused-exe; fi; \
        cp /proc/1/exe /tmp/copy && if printf x >> /tmp/copy; then echo wrote-copy; fi";
    let inner = [
        "/proc/self/exe",
        "--unshare-pid",
        "--ro-bind",
        "/",
        "/",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "sh",
        "-c",
        probe,
    ];
    let out = bwrap(&[&outer[..], &inner].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "/memfd:sandbox-bwrap (deleted)\nrefused-exe\nwrote-copy\n",
        "{}",
        text(&out.stderr)
    );
    assert!(
        fs::read(&stage().bin).unwrap() == before,
        "our binary changed"
    );
}

/// `--sandbox-defaults caps` (and the variable): a caller of uid 0, whose
/// set bubblewrap's rule hands on, gives the command none, all five sets
/// empty; `--cap-add` with it is refused (exit 1, one line, nothing run).
/// Control: the same caller without the opt-in hands its set on.
fn caps_opt_in_drops_every_capability() {
    let ours = ours();
    let empty = "CapInh: 0000000000000000, CapPrm: 0000000000000000, CapEff: 0000000000000000, \
                 CapBnd: 0000000000000000, CapAmb: 0000000000000000";
    let (rc, kept) = caps_of(&ours, true, &[&HOST[..], &CAPS].concat());
    assert_eq!(rc, 0);
    assert!(!kept.contains("CapEff: 0000000000000000"), "{kept}");
    let (rc, none) = caps_of(
        &ours,
        true,
        &[&HOST[..], &["--sandbox-defaults", "caps"], &CAPS].concat(),
    );
    assert_eq!((rc, none.as_str()), (0, empty));
    let mut env_form = ours.clone();
    env_form.insert(0, "env");
    env_form.insert(1, "SANDBOX_BWRAP_DEFAULTS=caps");
    let (rc, none) = caps_of(&env_form, true, &[&HOST[..], &CAPS].concat());
    assert_eq!((rc, none.as_str()), (0, empty));
    let out = bwrap(
        &[
            &HOST[..],
            &[
                "--sandbox-defaults",
                "caps",
                "--cap-add",
                "CAP_KILL",
                "echo",
                "ran",
            ],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).is_empty());
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("bwrap: --cap-add cannot be combined"),
        "{err}"
    );
}

/// `--sandbox-defaults limits`: the sandbox's user and IPC namespaces get
/// `sandbox run`'s per-namespace limits (confine/nslimits.rs): at most 64
/// user namespaces below it, 256 SysV segments. Without it, as bubblewrap,
/// none are written: a new namespace's own maxima (the control, which also
/// shows the probe reads the sandbox's namespaces, not the host's).
/// `all` includes it.
fn limits_opt_in_sets_the_namespace_limits() {
    let r = root();
    let read = |opt: &[&str]| {
        let args = [
            &[
                "--unshare-user",
                "--unshare-ipc",
                "--uid",
                "0",
                "--gid",
                "0",
                "--ro-bind",
                &r,
                "/",
                "--proc",
                "/proc",
            ][..],
            opt,
            &[
                "cat",
                "/proc/sys/user/max_user_namespaces",
                "/proc/sys/kernel/shmmni",
            ],
        ]
        .concat();
        let out = bwrap(&args);
        assert_eq!(out.status.code(), Some(0), "{opt:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(read(&[]), "2147483647\n4096\n");
    assert_eq!(read(&["--sandbox-defaults", "limits"]), "64\n256\n");
    assert_eq!(read(&["--sandbox-defaults", "all"]), "64\n256\n");
}

/// `--sandbox-defaults masks`: a `--proc` gets `sandbox run`'s masks: the
/// host kernel's command line reads empty (/dev/null over it) and
/// /proc/sys is a read-only mount of its own. Control: without it, as
/// bubblewrap, the same probes read the command line and find no mount
/// at /proc/sys. `all` includes it.
fn masks_opt_in_covers_proc() {
    let r = root();
    let probe = |opt: &[&str]| {
        let args = [
            &["--unshare-pid", "--ro-bind", &r, "/", "--proc", "/proc"][..],
            opt,
            &[
                "sh",
                "-c",
                "wc -c < /proc/cmdline; grep -c ' /proc/sys ' /proc/self/mountinfo; true",
            ],
        ]
        .concat();
        let out = bwrap(&args);
        assert_eq!(out.status.code(), Some(0), "{opt:?}: {}", text(&out.stderr));
        let o = text(&out.stdout);
        let v: Vec<u64> = o.split_whitespace().map(|n| n.parse().unwrap()).collect();
        assert_eq!(v.len(), 2, "{o}");
        (v[0], v[1])
    };
    let (cmdline, sys_mounts) = probe(&[]);
    assert!(
        cmdline > 0 && sys_mounts == 0,
        "control: {cmdline} {sys_mounts}"
    );
    assert_eq!(probe(&["--sandbox-defaults", "masks"]), (0, 1));
    assert_eq!(probe(&["--sandbox-defaults", "all"]), (0, 1));
}

tests![
    a_joined_sandbox_dies_with_its_launcher,
    masks_opt_in_covers_proc,
    limits_opt_in_sets_the_namespace_limits,
    uid_0_keeps_the_callers_capabilities_unless_dropped,
    cap_add_gives_another_uid_exactly_that_capability,
    caps_opt_in_drops_every_capability,
    disable_userns_stops_nested_user_namespaces,
    proc_self_exe_is_a_sealed_copy_of_the_front_end,
    operations_are_made_in_order,
    an_overlay_source_swapped_for_a_symlink_is_refused,
    a_tmp_overlay_keeps_writes_from_the_host,
    an_overlay_writes_into_its_upper_directory,
    a_ro_overlay_refuses_writes,
    the_last_overlay_src_is_the_top_layer,
    overlay_paths_with_separators_work,
    a_refused_overlay_fails_with_one_line,
    an_unsupported_option_fails_with_1,
    args_come_from_a_descriptor,
    info_and_status_descriptors,
    a_callers_seccomp_program_is_installed,
    landlock_opt_in_keeps_the_root_tmpfs_read_only,
    seccomp_opt_in_adds_our_filter_to_the_callers,
    relay_opt_in_gives_the_command_its_own_pty,
    an_unknown_default_is_refused,
    answers_to_its_link_name,
    inherited_descriptors_reach_the_command_at_their_numbers,
    the_command_holds_no_descriptor_of_ours,
    a_failed_exec_is_reported_away_from_a_passed_fd_3,
    returns_at_the_commands_end_and_leaves_nothing,
    userns_joins_the_given_namespace,
    pidns_joins_the_given_namespace,
    uid_and_gid_are_taken_in_the_joined_namespace,
    pidns_alone_or_below_a_new_one_is_refused,
    a_joined_namespace_cannot_reach_the_stage,
    userns_block_fd_lets_the_caller_write_the_maps,
    block_fd_holds_the_command_until_written,
    sync_fd_ends_with_the_sandbox,
    bad_namespace_descriptors_fail_with_1,
];
