//! `--profile FILE|NAME`: the shipped profiles run, includes and the
//! order of profiles and command line, every error path with its file,
//! line and key, `profile show` read back, and `--bind-try`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

/// `sandbox ARGS` with HOME and an empty profile directory of the user's
/// own (so only the built-in profiles have names), in `cwd`.
fn with_home(args: &[&str], home: &Path, cwd: &Path) -> Command {
    let mut c = sandbox(args);
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", stage().dir.join("no-config"))
        .current_dir(cwd);
    c
}

fn out(args: &[&str]) -> Output {
    let st = stage();
    with_home(args, &st.dir, &st.dir).output().unwrap()
}

/// A profile file in the stage, readable by the test uid.
fn profile(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Exit 125 and a `sandbox: profile: …` line holding each of `want`.
fn refused(o: &Output, want: &[&str]) -> String {
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(125), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("sandbox: profile: "))
        .unwrap_or_else(|| panic!("no profile error: {err}"));
    for w in want {
        assert!(line.contains(w), "{w:?} not in {line:?}");
    }
    err
}

/// Lines of `/proc/self/limits` for the limits the profile sets.
const LIMITS: &str = "grep -E 'Max (processes|file size|open files)' /proc/self/limits";

/// untrusted-script on the BusyBox rootfs: only `lo`, no writable root,
/// an init (the command is PID 2), and its limits. Control: the same
/// probes without the profile see a writable root, PID 1 and the
/// caller's limits.
fn untrusted_script_runs() {
    let script = format!(
        "echo pid=$$; touch /x 2>/dev/null && echo root-written || echo root-refused; \
         grep -c : /proc/net/dev; {LIMITS}"
    );
    let root = rootfs_arg();
    let o = out(&[
        "run",
        "--profile",
        "untrusted-script",
        &root,
        "/bin/sh",
        "-c",
        &script,
    ]);
    let s = text(&o.stdout);
    assert!(o.status.success(), "{s}{}", text(&o.stderr));
    assert!(s.contains("pid=2\n"), "{s}");
    assert!(s.contains("root-refused\n"), "{s}");
    // /proc/net/dev: two header lines hold no ':', then `lo:` alone.
    assert!(s.contains("\n1\n"), "{s}");
    assert!(s.contains("Max processes             256"), "{s}");
    assert!(s.contains("Max file size             1073741824"), "{s}");
    assert!(s.contains("Max open files            1024"), "{s}");
    // Control.
    let o = out(&["run", &root, "/bin/sh", "-c", &script]);
    let s = text(&o.stdout);
    assert!(o.status.success(), "{s}{}", text(&o.stderr));
    assert!(s.contains("pid=1\n") && s.contains("root-written\n"), "{s}");
    assert!(!s.contains("Max processes             256 "), "{s}");
    assert!(!s.contains("Max file size             1073741824"), "{s}");
}

/// A home and a project under /var/tmp (the sandbox has a /tmp of its
/// own), owned by the test uid: a key in the home, a cargo cache, and
/// toolchain binaries.
struct Home(PathBuf);

impl Home {
    fn new(test: &str) -> Option<Home> {
        let base = Path::new("/var/tmp");
        if !base.is_dir() {
            skip(test, "host-root", "no /var/tmp for a home outside /tmp");
            return None;
        }
        let dir = base.join(format!("sandbox-tests-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let ok = as_test_user("sh")
            .arg("-c")
            .arg(
                "mkdir -p \"$0/home/.ssh\" \"$0/home/.cargo/registry\" \"$0/home/.cargo/bin\" \
                 \"$0/home/src/project\" \"$0/other\" && echo SECRET > \"$0/home/.ssh/id_rsa\" \
                 && echo crate > \"$0/home/.cargo/registry/c\" && echo tool > \"$0/home/.cargo/bin/t\"",
            )
            .arg(&dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "make the home under /var/tmp as the test uid");
        Some(Home(dir))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// What the build and agent profiles must give, seen from inside a run
/// on `/` in the project: checked by `check_build` against a control.
fn build_probe(h: &Home) -> String {
    format!(
        "echo pid=$$; pwd; cat {home}/.ssh/id_rsa 2>/dev/null || echo key-hidden; \
         cat {home}/.cargo/registry/c {home}/.cargo/bin/t; \
         touch {home}/.cargo/registry/new && echo cache-written; \
         touch {home}/.cargo/bin/new 2>/dev/null || echo toolchain-read-only; \
         touch built && echo project-written; \
         touch {other}/x 2>/dev/null || echo other-refused; \
         grep -c : /proc/net/dev",
        home = h.path("home").display(),
        other = h.path("other").display(),
    )
}

fn run_build(h: &Home, opts: &[&str]) -> String {
    let probe = build_probe(h);
    let mut args = vec!["run"];
    args.extend(opts);
    args.extend(["/", "/bin/sh", "-c", &probe]);
    let o = with_home(&args, &h.path("home"), &h.path("home/src/project"))
        .output()
        .unwrap();
    let s = text(&o.stdout);
    assert!(o.status.success(), "{opts:?}: {s}{}", text(&o.stderr));
    s
}

fn check_build(h: &Home, s: &str) {
    let project = h.path("home/src/project");
    assert!(s.contains(&format!("{}\n", project.display())), "{s}");
    for want in [
        "key-hidden\n",
        "crate\ntool\n",
        "cache-written\n",
        "toolchain-read-only\n",
        "project-written\n",
        "other-refused\n",
        "\n1\n",
    ] {
        assert!(s.contains(want), "{want:?} not in {s}");
    }
    assert!(
        project.join("built").exists(),
        "the project's write is lost"
    );
    assert!(h.path("home/.cargo/registry/new").exists());
}

/// build on the host's root: the home hidden but for the cargo cache
/// (writable) and its binaries (read-only), the missing caches skipped,
/// the project writable, nothing else. Control: without it the key is
/// readable and the project read-only.
fn build_runs() {
    let Some(h) = Home::new("build") else {
        return;
    };
    let s = run_build(&h, &[]);
    assert!(s.contains("SECRET\n"), "control: the key is readable: {s}");
    assert!(!s.contains("project-written"), "control: {s}");
    let s = run_build(&h, &["--profile", "build"]);
    check_build(&h, &s);
    assert!(s.contains("pid=1\n"), "{s}");
}

/// agent: build, an init, and the code hosts and package indexes by name
/// through the proxy (whose address the command is told).
fn agent_runs() {
    let Some(h) = Home::new("agent") else {
        return;
    };
    let s = run_build(&h, &["--profile", "agent"]);
    check_build(&h, &s);
    assert!(s.contains("pid=2\n"), "{s}");
    // The proxy is there: the command is told where (control: build's run
    // has no proxy).
    let proxy = |opts: &[&str]| {
        let mut args = vec!["run"];
        args.extend(opts);
        args.extend(["/", "/bin/sh", "-c", "echo \"proxy=${HTTPS_PROXY:-none}\""]);
        let o = with_home(&args, &h.path("home"), &h.path("home/src/project"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{opts:?}: {}", text(&o.stderr));
        text(&o.stdout)
    };
    assert_eq!(
        proxy(&["--profile", "agent"]),
        "proxy=http://127.0.0.1:3128\n"
    );
    assert_eq!(proxy(&["--profile", "build"]), "proxy=none\n");
    let show = |name: &str| {
        let o = with_home(
            &["profile", "show", name],
            &h.path("home"),
            &h.path("home/src/project"),
        )
        .output()
        .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    let agent = show("agent");
    let build = show("build");
    assert!(
        agent.starts_with(&build.replace('\n', " --init --allow-host github.com ")),
        "{agent}"
    );
    assert!(agent.ends_with(" --allow-host deb.debian.org\n"), "{agent}");
}

/// A profile including another (relative to itself), a later profile, and
/// the command line: each wins over what came before; repeatable options
/// add up, the profiles' first.
fn include_and_override_order() {
    let d = test_dir("profiles-order");
    fs::create_dir_all(d.join("sub")).unwrap();
    profile(
        &d,
        "sub/base.toml",
        "hostname = \"base\"\nsetenv = [\"A=base\", \"B=base\"]\nread-only = true\n",
    );
    let child = profile(
        &d,
        "child.toml",
        "include = [\"sub/base.toml\"]\nhostname = \"child\"\nsetenv = \"B=child\"\n",
    );
    let later = profile(&d, "later.toml", "hostname = \"later\"\n");
    let root = rootfs_arg();
    let probe = "hostname; echo A=$A B=$B C=$C; touch /x 2>/dev/null || echo read-only";
    let run = |opts: &[&str]| {
        let mut args = vec!["run"];
        args.extend(opts);
        args.extend([root.as_str(), "/bin/sh", "-c", probe]);
        let o = out(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
    };
    assert_eq!(
        run(&["--profile", &child]),
        "child\nA=base B=child C=\nread-only\n"
    );
    assert_eq!(
        run(&["--profile", &child, "--profile", &later]),
        "later\nA=base B=child C=\nread-only\n"
    );
    assert_eq!(
        run(&["--profile", &later, "--profile", &child]),
        "child\nA=base B=child C=\nread-only\n"
    );
    // The command line wins, before or after the profiles and ROOTFS.
    let mut args = vec!["run", "--hostname", "cli", "--profile", &child, "--setenv"];
    args.extend([
        "C=cli",
        root.as_str(),
        "--profile",
        &later,
        "/bin/sh",
        "-c",
        probe,
    ]);
    let o = out(&args);
    assert_eq!(
        text(&o.stdout),
        "cli\nA=base B=child C=cli\nread-only\n",
        "{}",
        text(&o.stderr)
    );
    // A later --setenv of the same key overrides (the environment's rule).
    assert_eq!(
        run(&["--profile", &child, "--setenv", "B=cli"]),
        "child\nA=base B=cli C=\nread-only\n"
    );
}

/// Unknown key, wrong type, a bad value, a missing include, an include
/// cycle, a FIFO, a file too large and a missing named profile: each
/// fails with 125 and says where. Controls: the FIFO's and the large
/// file's paths holding a small regular profile are read.
fn every_error_names_the_file_line_and_key() {
    let d = test_dir("profiles-errors");
    let root = rootfs_arg();
    let run = |p: &str| out(&["run", "--profile", p, &root, "/bin/true"]);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "unknown.toml",
            "\nhostnam = \"x\"\n",
            &[":2: unknown key \"hostnam\""],
        ),
        (
            "type.toml",
            "read-only = \"yes\"\n",
            &[":1: read-only is a flag", "got a string"],
        ),
        (
            "array.toml",
            "\n\ntimeout = [1]\n",
            &[":3: timeout takes one value"],
        ),
        ("value.toml", "pids = 0\n", &[":1: pids: --pids wants"]),
        (
            "missing.toml",
            "include = [\"nope.toml\"]\n",
            &[":1: include nope.toml:", "nope.toml: No such file"],
        ),
        (
            "cycle-a.toml",
            "include = [\"cycle-b.toml\"]\n",
            &["cycle-b.toml:2: include cycle-a.toml: a cycle: "],
        ),
        (
            "cycle-b.toml",
            "uid = 1\ninclude = [\"cycle-a.toml\"]\n",
            &["cycle-a.toml:1: include cycle-b.toml: a cycle: "],
        ),
        ("syntax.toml", "uid = = 1\n", &[":1: not TOML"]),
        (
            "var.toml",
            "bind = [\"${NOPE}/x\"]\n",
            &[":1: bind:", "unknown variable ${NOPE}"],
        ),
    ];
    for (name, body, _) in cases {
        profile(&d, name, body);
    }
    for (name, _, want) in cases {
        let p = d.join(name).display().to_string();
        let mut want = want.to_vec();
        let file = p.clone();
        if !name.starts_with("cycle") {
            want.push(&file);
        }
        refused(&run(&p), &want);
    }
    // A hint for a near miss.
    let err = refused(&run(&d.join("unknown.toml").display().to_string()), &[]);
    assert!(
        err.contains("sandbox: hint: did you mean hostname?"),
        "{err}"
    );

    // A FIFO: refused at once, never waited on.
    let fifo = d.join("fifo.toml");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let f = fifo.display().to_string();
    let child = with_home(
        &["run", "--profile", &f, &root, "/bin/true"],
        &stage().dir,
        &stage().dir,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let o = common::oci::wait_output(child, Duration::from_secs(20));
    refused(&o, &[&f, "not a regular file (a FIFO)"]);
    fs::remove_file(&fifo).unwrap();
    profile(&d, "fifo.toml", "hostname = \"ok\"\n");
    assert!(run(&f).status.success(), "control: the same path, a file");

    // Larger than 256 KiB: refused before it is parsed. Control: the same
    // text cut below the cap is read.
    let big = d.join("big.toml");
    let comment = format!("# {}\n", "x".repeat(1021));
    fs::write(&big, comment.repeat(257)).unwrap();
    let b = big.display().to_string();
    refused(&run(&b), &[&b, "more than the 262144 read at most"]);
    fs::write(&big, comment.repeat(255)).unwrap();
    assert!(
        run(&b).status.success(),
        "control: {}",
        text(&run(&b).stderr)
    );

    // A named profile that is nowhere.
    let o = run("no-such-profile");
    refused(&o, &["no profile named \"no-such-profile\""]);
    assert!(text(&o.stderr).contains("built-in ones (untrusted-script, build, agent)"));
}

/// What a run sees of its setup: hostname, environment, limits, mounts.
const SETUP: &str = "hostname; env | sort; cat /proc/self/limits; \
    awk '{print $5, $6}' /proc/self/mountinfo; echo $$";

/// `profile show`'s line, read back by a shell, is the same run as the
/// profile: the same setup seen from inside.
fn profile_show_round_trips() {
    let d = test_dir("profiles-show");
    let p = profile(
        &d,
        "mine.toml",
        "include = [\"base.toml\"]\nhostname = \"mine\"\nsetenv = [\"Q=it's a $HOME & ${HOME}\"]\n\
         tmpfs = [\"/opt/a b:1M\"]\nread-only = true\n",
    );
    profile(
        &d,
        "base.toml",
        "init = true\nlimit = [\"nofile=99\"]\ntmpfs = [\"~\"]\nchdir = \"${HOME}\"\nbind = [\"${PWD}/data:/data\"]\n",
    );
    let home = d.join("home");
    fs::create_dir(d.join("data")).unwrap();
    let root = rootfs_arg();
    for spec in [p.as_str(), "untrusted-script"] {
        let o = with_home(&["profile", "show", spec], &home, &d)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o.stderr));
        let line = text(&o.stdout);
        // The shell splits it into the words of the command line.
        let script = format!("exec \"$0\" run {} \"$@\"", line.trim_end());
        let words = [
            "/bin/sh", "-c", &script, "--", &root, "/bin/sh", "-c", SETUP,
        ];
        let st = stage();
        let mut shown = as_test_user("sh");
        shown
            .args([
                "-c",
                &script,
                st.bin.to_str().unwrap(),
                &root,
                "/bin/sh",
                "-c",
                SETUP,
            ])
            .env_clear()
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", st.dir.join("no-config"))
            .current_dir(&d)
            .stdin(Stdio::null());
        let shown = shown.output().unwrap();
        let given = with_home(
            &["run", "--profile", spec, &root, "/bin/sh", "-c", SETUP],
            &home,
            &d,
        )
        .output()
        .unwrap();
        assert!(given.status.success(), "{}", text(&given.stderr));
        assert!(shown.status.success(), "{words:?}: {}", text(&shown.stderr));
        assert_eq!(text(&shown.stdout), text(&given.stdout), "{line}");
        if spec == p {
            let s = text(&given.stdout);
            assert!(
                s.contains(&format!("Q=it's a $HOME & {}", home.display())),
                "{s}"
            );
            assert!(s.contains("/opt/a\\040b"), "{s}");
        }
    }
}

/// `--bind-try`: a missing source is skipped, an existing one bound, and
/// a `--tmpfs` after a skipped bind still comes before the later binds.
/// Control: `--bind` with the missing source fails (125).
fn bind_try_skips_a_missing_source() {
    let d = test_dir("bind-try");
    fs::write(d.join("f"), "here\n").unwrap();
    let src = d.display().to_string();
    let root = rootfs_arg();
    let o = out(&["run", "--bind", "/nonexistent-src:/x", &root, "/bin/true"]);
    assert_eq!(o.status.code(), Some(125), "control: {}", text(&o.stderr));
    assert!(text(&o.stderr).contains("--bind source: /nonexistent-src"));
    let o = out(&[
        "run",
        "--ro-bind-try",
        "/nonexistent-src:/x",
        "--tmpfs",
        "/opt",
        "--bind-try",
        &format!("{src}:/opt/in"),
        &root,
        "/bin/sh",
        "-c",
        "cat /opt/in/f; ls /x 2>/dev/null || echo no-x",
    ]);
    assert_eq!(text(&o.stdout), "here\nno-x\n", "{}", text(&o.stderr));
    // Control of the order: a tmpfs after the bind covers it.
    let o = out(&[
        "run",
        "--ro-bind-try",
        "/nonexistent-src:/x",
        "--bind-try",
        &format!("{src}:/opt/in"),
        "--tmpfs",
        "/opt",
        &root,
        "/bin/sh",
        "-c",
        "cat /opt/in/f 2>/dev/null || echo covered",
    ]);
    assert_eq!(text(&o.stdout), "covered\n", "{}", text(&o.stderr));
}

tests![
    untrusted_script_runs,
    build_runs,
    agent_runs,
    include_and_override_order,
    every_error_names_the_file_line_and_key,
    profile_show_round_trips,
    bind_try_skips_a_missing_source,
];
