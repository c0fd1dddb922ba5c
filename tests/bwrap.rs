//! The bubblewrap front end (src/bwrap/, docs/BWRAP.md), rootless: the
//! root built from operations in their order, an unsupported option
//! failing as bubblewrap fails (exit 1, one line naming it), `--args FD`,
//! and the shape of `--info-fd` and `--json-status-fd`. bubblewrap's own
//! suite runs against it in `make test-bwrap` (tests/bwrap/run).

mod common;

use std::fs;
use std::path::Path;
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

/// Debian's bwrap, the control of what bubblewrap does, where installed.
fn debian_bwrap() -> Option<&'static str> {
    Path::new("/usr/bin/bwrap")
        .exists()
        .then_some("/usr/bin/bwrap")
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
    let Some(bw) = debian_bwrap() else {
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
    if let Some(bw) = debian_bwrap() {
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

tests![
    uid_0_keeps_the_callers_capabilities_unless_dropped,
    cap_add_gives_another_uid_exactly_that_capability,
    disable_userns_stops_nested_user_namespaces,
    proc_self_exe_is_a_sealed_copy_of_the_front_end,
    operations_are_made_in_order,
    an_unsupported_option_fails_with_1,
    args_come_from_a_descriptor,
    info_and_status_descriptors,
    a_callers_seccomp_program_is_installed,
    answers_to_its_link_name,
];
