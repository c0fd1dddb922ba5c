//! The bubblewrap front end (src/bwrap/, docs/BWRAP.md), rootless: the
//! root built from operations in their order, an unsupported option
//! failing as bubblewrap fails (exit 1, one line naming it), `--args FD`,
//! and the shape of `--info-fd` and `--json-status-fd`; the opt-in to our
//! own defaults (`--sandbox-defaults`, `SANDBOX_BWRAP_DEFAULTS`), each
//! proved by an attack that fails with it and works without; the caller's
//! descriptors passed at their numbers and nothing of ours with them,
//! compared with Debian's bwrap. bubblewrap's
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

/// Perl, exec'ing the rest of its arguments after setting fd 5's
/// close-on-exec flag to `on` (the shell cannot set it).
fn perl_cloexec_5(on: bool) -> String {
    format!(
        "open(my $h, '<&=', 5) or die \"fd 5: $!\"; fcntl($h, F_SETFD, {}) or die \"fcntl: $!\"; exec {{ $ARGV[0] }} @ARGV or die \"exec: $!\"",
        if on { "FD_CLOEXEC" } else { "0" }
    )
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
    // Control: close-on-exec in the caller, not passed; clear, passed.
    let via_perl = |on: bool, bwrap: &[&str]| {
        let script = perl_cloexec_5(on);
        let argv = [&["perl", "-MFcntl", "-e", &script][..], bwrap, &layout].concat();
        with_fds(&opens, &argv)
    };
    let ours_bwrap = [bin.as_str(), "bwrap"];
    let out = via_perl(true, &ours_bwrap);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "3:passed\n100:passed\n");
    let out = via_perl(false, &ours_bwrap);
    assert_eq!(text(&out.stdout), all, "control: {}", text(&out.stderr));
    // bubblewrap itself, on the same command lines.
    if let Some(bw) = debian_bwrap("inherited_descriptors_reach_the_command_at_their_numbers") {
        let argv = [&[bw][..], &["--unshare-pid"], &layout].concat();
        let out = with_fds(&opens, &argv);
        assert_eq!(text(&out.stdout), all, "bwrap: {}", text(&out.stderr));
        let out = via_perl(true, &[bw]);
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
        "/mnt",
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
    inherited_descriptors_reach_the_command_at_their_numbers,
    the_command_holds_no_descriptor_of_ours,
    a_failed_exec_is_reported_away_from_a_passed_fd_3,
];
