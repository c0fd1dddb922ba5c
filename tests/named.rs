//! Named sandboxes (issue 17): `--name`, `--detach`, `ps`, `exec`, `kill`,
//! `stop`, `logs`, the state directory, and exec's confinement. Every
//! attack has a control that shows the probe would have seen it succeed.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const PROBE_AT: &str = "/probe";

/// A state directory of the test uid's own (what $XDG_RUNTIME_DIR is on
/// a systemd machine), so the suite does not depend on /tmp's mode.
fn xdg_for(uid: u32) -> PathBuf {
    // The harness runs tests on several threads: one makes it (and sets
    // its mode and owner) while the others wait, instead of racing from
    // the check to the mkdir (EEXIST) or using it before its chown.
    static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let d = stage().dir.join(format!("xdg-{uid}"));
    if !d.exists() {
        fs::create_dir(&d).unwrap();
        fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).unwrap();
        if stage().drop_to.is_some() {
            let ok = Command::new("chown")
                .arg(format!("{uid}:{uid}"))
                .arg(&d)
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }
    }
    d
}

/// `sandbox ARGS` as the test uid, with its state directory.
fn sb<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Command {
    let mut c = sandbox(args);
    c.env("XDG_RUNTIME_DIR", xdg_for(stage().host_uid));
    c
}

fn out<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    sb(args).output().unwrap()
}

/// A name no other test (or test process) uses.
fn name(what: &str) -> String {
    format!("t{}-{what}", std::process::id())
}

/// `run --name NAME -d [opts] ROOTFS sh -c SCRIPT`, asserting it came
/// back with the name; the probe is bound at /probe.
fn detached(n: &str, opts: &[&str], script: &str) {
    let probe = format!("{}:{PROBE_AT}", stage().probe.display());
    let mut a = vec!["run", "--name", n, "--detach", "--ro-bind", &probe];
    a.extend(opts);
    let root = rootfs_arg();
    a.extend([root.as_str(), "/bin/sh", "-c", script]);
    let o = out(&a);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), n);
}

fn exec(n: &str, cmd: &[&str]) -> Output {
    let mut a = vec!["exec", n];
    a.extend(cmd);
    out(&a)
}

fn exec_ok(n: &str, script: &str) -> String {
    let o = exec(n, &["/bin/sh", "-c", script]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    text(&o.stdout)
}

/// Waits (bounded) until the sandbox's PID 1 runs `args`: a detached
/// `sh -c '…; exec sleep 60'` returns before the shell has exec'd, and
/// BusyBox's shell execs an applet through /proc/self/exe, so for a moment
/// PID 1 shows as `{exe} sleep 60`. Returns what `ps` showed last.
fn wait_pid1(n: &str, args: &str) -> String {
    let want = format!("\n    1 {args}\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = exec_ok(n, "ps -o pid,args");
        if seen.contains(&want) || Instant::now() > deadline {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stop(n: &str) {
    let o = out(&["stop", "--time", "2", n]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// `ps --json` as a list of (name, pid, launcher pid).
fn listed() -> Vec<(String, u32, u32)> {
    let o = out(&["ps", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let j = text(&o.stdout);
    j.split("{\"name\":\"")
        .skip(1)
        .map(|e| {
            let name = e.split('"').next().unwrap().to_string();
            let num = |k: &str| -> u32 {
                let at = e.find(&format!("\"{k}\":")).unwrap() + k.len() + 3;
                e[at..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .unwrap()
            };
            (name, num("pid"), num("launcher_pid"))
        })
        .collect()
}

fn entry_of(n: &str) -> Option<(u32, u32)> {
    listed()
        .into_iter()
        .find(|(m, _, _)| m == n)
        .map(|(_, p, l)| (p, l))
}

/// Whether a process runs (a zombie does not).
fn alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s[s.rfind(')').unwrap() + 2..].starts_with('Z'),
        Err(_) => false,
    }
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// exec lands in the sandbox: its hostname, its /tmp, its PID namespace
/// (both processes in `ps` inside), with the command's confinement: no
/// capabilities, no_new_privs, seccomp mode 2, the filter's refusals.
/// Controls: a fresh sandbox sees neither the hostname nor the file, and
/// `--seccomp off` lets the probe's calls through.
fn exec_joins_the_sandbox_with_its_confinement() {
    let n = name("join");
    detached(
        &n,
        &["--hostname", "joined-host"],
        "echo marker-7 > /tmp/m; exec sleep 60",
    );
    // What is checked below is the state once the script has run.
    let pid1 = wait_pid1(&n, "sleep 60");
    assert!(
        pid1.contains("\n    1 sleep 60\n"),
        "the sandbox's PID 1: {pid1}"
    );
    let seen = exec_ok(
        &n,
        "hostname; cat /tmp/m; ps -o pid,args; grep -E '^(CapEff|CapPrm|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
    );
    assert!(seen.contains("joined-host\nmarker-7\n"), "{seen}");
    assert!(
        seen.contains("    1 sleep 60"),
        "the sandbox's PID 1: {seen}"
    );
    assert!(seen.contains("ps -o pid,args"), "exec's own: {seen}");
    for l in [
        "CapEff:\t0000000000000000",
        "CapPrm:\t0000000000000000",
        "CapBnd:\t0000000000000000",
        "CapAmb:\t0000000000000000",
        "NoNewPrivs:\t1",
        "Seccomp:\t2",
    ] {
        assert!(seen.contains(l), "{l}: {seen}");
    }
    // The filter refuses as it does for the sandbox's own command.
    let o = exec(&n, &[PROBE_AT, "syscall", "keyctl", "bpf"]);
    let probe = text(&o.stdout);
    assert!(
        probe.contains("keyctl EPERM") && probe.contains("bpf EPERM"),
        "{probe}"
    );
    // Control: a fresh sandbox has its own hostname and /tmp.
    let fresh = run_ok(&["/bin/sh", "-c", "hostname; cat /tmp/m 2>&1; true"]);
    assert!(
        !fresh.contains("joined-host") && !fresh.contains("marker-7"),
        "{fresh}"
    );
    stop(&n);

    // Control: the same probe in a sandbox without the filter gets
    // through to the kernel.
    let n = name("join-nofilter");
    detached(&n, &["--seccomp", "off"], "exec sleep 60");
    let o = exec(&n, &[PROBE_AT, "syscall", "keyctl", "bpf"]);
    let probe = text(&o.stdout);
    // The probe ran and answered for both calls; keyctl, which the kernel
    // itself allows an unprivileged caller, got past the missing filter
    // (bpf may still be EPERM: the kernel refuses unprivileged bpf).
    assert!(o.status.success(), "control: {}", text(&o.stderr));
    let keyctl = probe.lines().find(|l| l.starts_with("keyctl "));
    assert!(
        keyctl.is_some_and(|l| l != "keyctl EPERM") && probe.lines().any(|l| l.starts_with("bpf ")),
        "control: {probe}"
    );
    stop(&n);
}

/// Landlock: under --read-only only Landlock keeps a command from creating
/// files in /dev (tests/escape.rs); exec'd commands too. Control: the
/// same with --landlock off creates it.
fn exec_keeps_the_landlock_ruleset() {
    if landlock_abi().is_none() {
        return skip(
            "exec_keeps_the_landlock_ruleset",
            "landlock",
            "the kernel offers no Landlock here (landlock_create_ruleset fails on the host)",
        );
    }
    let n = name("ll");
    detached(&n, &["--read-only"], "exec sleep 60");
    let seen = exec_ok(&n, "touch /dev/x 2>&1; echo done");
    assert!(seen.contains("/dev/x: Permission denied"), "{seen}");
    stop(&n);
    let n = name("ll-off");
    detached(&n, &["--read-only", "--landlock", "off"], "exec sleep 60");
    let seen = exec_ok(&n, "touch /dev/x && echo created");
    assert_eq!(seen.trim(), "created", "control");
    stop(&n);
}

/// exec's exit codes are run's, and signals sent to it reach the command.
fn exec_exit_codes_and_signals() {
    let n = name("codes");
    detached(&n, &["--uid", "1000", "--gid", "1000"], "exec sleep 60");
    let code = |cmd: &[&str]| exec(&n, cmd).status.code();
    assert_eq!(code(&["/bin/sh", "-c", "exit 7"]), Some(7));
    assert_eq!(code(&["/bin/sh", "-c", "kill -9 $$"]), Some(137));
    assert_eq!(code(&["nosuch-command"]), Some(127));
    assert_eq!(code(&["/etc/passwd"]), Some(126));
    // The sandbox's own identity by default, another on request.
    assert_eq!(exec_ok(&n, "id -u; id -g"), "1000\n1000\n");
    let o = out(&["exec", "--uid", "0", "--gid", "0", &n, "id", "-u"]);
    assert_eq!(text(&o.stdout), "0\n", "{}", text(&o.stderr));
    // A signal to exec is forwarded to the command (a shell that
    // handles it); exec ends with the command's status.
    let ready = format!("/tmp/ready-{}", std::process::id());
    let child = sb(&[
        "exec",
        &n,
        "/bin/sh",
        "-c",
        &format!("trap 'echo got-term; exit 3' TERM; touch {ready}; while :; do sleep 0.1; done"),
    ])
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while exec(&n, &["test", "-e", &ready]).status.code() != Some(0) {
        assert!(Instant::now() < deadline, "the exec'd shell never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    send_signal("-TERM", child.id());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(text(&o.stdout), "got-term\n");
    stop(&n);
    // Unknown, or ended: 125 with one line.
    let o = exec(&n, &["true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o.stderr).starts_with(&format!(
            "sandbox: find the sandbox: {n}: no running sandbox of yours has this name"
        )),
        "{}",
        text(&o.stderr)
    );
}

/// A process exec started dies with the sandbox: it is in its PID
/// namespace.
fn exec_dies_with_the_sandbox() {
    let n = name("dies");
    detached(&n, &[], "exec sleep 60");
    let mut child = sb(&["exec", &n, "sleep", "60"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !exec_ok(&n, "ps -o args").contains("\nsleep 60\nsleep 60") {
        assert!(Instant::now() < deadline, "exec's sleep never showed");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = out(&["kill", &n]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    // Bounded: the test fails rather than hangs if it survives.
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "exec outlived its sandbox");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(137));
}

/// --detach returns at once with the sandbox running; logs shows its
/// output; stop ends it within the grace and the status file says so;
/// nothing is left: no process, no entry.
fn detach_logs_stop_and_nothing_left() {
    let n = name("detach");
    let status = stage().dir.join(format!("{n}.json"));
    let _ = fs::remove_file(&status);
    let st = status.display().to_string();
    detached(
        &n,
        &["--status-file", &st],
        "echo out-line; echo err-line >&2; exec sleep 60",
    );
    let (pid, launcher) = entry_of(&n).expect("listed by ps");
    assert!(alive(pid) && alive(launcher));
    let table = text(&out(&["ps"]).stdout);
    assert!(
        table.starts_with("NAME") && table.contains(&n) && table.contains("sleep 60"),
        "{table}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = text(&out(&["logs", &n]).stdout);
        if log.contains("out-line") && log.contains("err-line") {
            break;
        }
        assert!(Instant::now() < deadline, "log: {log}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let t0 = Instant::now();
    stop(&n);
    assert!(t0.elapsed() < Duration::from_secs(15));
    assert!(wait_gone(pid, Duration::from_secs(5)), "sandbox left");
    assert!(wait_gone(launcher, Duration::from_secs(5)), "launcher left");
    assert!(entry_of(&n).is_none());
    let entry = xdg_for(stage().host_uid).join("sandbox").join(&n);
    assert!(!entry.exists(), "entry left: {}", entry.display());
    let json = fs::read_to_string(&status).unwrap();
    assert!(json.contains("\"stopped_by\":\"SIGTERM\""), "{json}");
    assert!(json.contains("\"signal_name\":\"SIGKILL\""), "{json}");
}

/// A detached launcher killed with SIGKILL: its guard ends the sandbox,
/// and `ps` shows nothing running and removes the stale entry. Control:
/// before the kill it was listed.
fn ps_after_the_launcher_was_killed_shows_nothing() {
    let n = name("stale");
    detached(&n, &[], "exec sleep 60");
    let (pid, launcher) = entry_of(&n).expect("listed before the kill");
    send_signal("-KILL", launcher);
    assert!(wait_gone(pid, Duration::from_secs(10)), "sandbox survived");
    assert!(entry_of(&n).is_none(), "still listed");
    let entry = xdg_for(stage().host_uid).join("sandbox").join(&n);
    assert!(!entry.exists(), "stale entry kept");
    let o = exec(&n, &["true"]);
    assert_eq!(o.status.code(), Some(125));
    let err = text(&o.stderr);
    assert!(
        err.contains(&format!("{n}: no running sandbox of yours has this name")),
        "{err}"
    );
}

/// A live name cannot be taken twice; a bad one is a usage error; a name
/// is free again once its sandbox ended.
fn names_collide_and_are_checked() {
    let n = name("dup");
    detached(&n, &[], "exec sleep 60");
    let o = out(&["run", "--name", &n, &rootfs_arg(), "echo", "ran"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o.stderr).contains("already has this name"),
        "{}",
        text(&o.stderr)
    );
    assert!(!text(&o.stdout).contains("ran"));
    for bad in [".x", "a/b", "a b", &"n".repeat(65)] {
        let o = out(&["run", "--name", bad, &rootfs_arg(), "true"]);
        assert_eq!(o.status.code(), Some(125), "{bad}");
        let err = text(&o.stderr);
        assert!(
            err.starts_with("sandbox: usage: a sandbox name "),
            "{bad}: {err}"
        );
    }
    stop(&n);
    // Control: the same name works now.
    let o = out(&["run", "--name", &n, &rootfs_arg(), "echo", "ran"]);
    assert_eq!(text(&o.stdout), "ran\n", "{}", text(&o.stderr));
}

/// Another user cannot list, exec into, kill or stop your sandboxes, not
/// even by pointing XDG_RUNTIME_DIR at your state directory. Control: the
/// owner can.
fn another_user_cannot_reach_your_sandboxes() {
    let Some((uid, _)) = stage().drop_to else {
        return skip(
            "another_user_cannot_reach_your_sandboxes",
            "root",
            "a second uid needs the suite to run as root",
        );
    };
    let n = name("other");
    detached(&n, &[], "exec sleep 60");
    let other = uid + 1;
    let as_other = |xdg: &std::path::Path, args: &[&str]| -> Output {
        Command::new("setpriv")
            .arg(format!("--reuid={other}"))
            .arg(format!("--regid={other}"))
            .arg("--clear-groups")
            .arg("--")
            .arg(&stage().bin)
            .args(args)
            .env_clear()
            .env("XDG_RUNTIME_DIR", xdg)
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let own = xdg_for(other);
    let mine = xdg_for(uid);
    for xdg in [&own, &mine] {
        let o = as_other(xdg, &["ps", "--json"]);
        assert!(!text(&o.stdout).contains(&n), "listed to uid {other}");
        for args in [
            &["exec", &n, "true"][..],
            &["kill", &n],
            &["stop", &n],
            &["logs", &n],
        ] {
            let o = as_other(xdg, args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(125), "{args:?}: {err}");
            // This refusal, not any 125 (a usage error, a failed launch):
            // in their own directory the name is unknown; pointed at ours,
            // the directory is refused for being another user's.
            let why = if xdg == &own {
                format!("{n}: no running sandbox of yours has this name")
            } else {
                "sandbox: state directory: ".to_string()
            };
            assert!(err.contains(&why), "{args:?} with {xdg:?}: {err}");
        }
    }
    let o = as_other(&mine, &["ps"]);
    // Refused: the directory is not theirs (or not even readable).
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(
        err.starts_with("sandbox: state directory: ")
            && (err.contains("belongs to another user") || err.contains("Permission denied")),
        "{err}"
    );
    // Control: still running, and the owner reaches it.
    assert_eq!(exec_ok(&n, "echo here"), "here\n");
    stop(&n);
}

/// The default state directory, /tmp/sandbox-run-UID, planted by another
/// user (theirs, open or closed; a symlink to theirs) or left open to
/// others: `ps` and `run --name` refuse it with 125 and one line naming
/// the path and why (whose it is). Control: the user's own 0700 one, and
/// one sandbox makes, work. A uid of the test's own, with no
/// XDG_RUNTIME_DIR.
fn a_planted_state_directory_is_refused() {
    let Some((uid, _)) = stage().drop_to else {
        return skip(
            "a_planted_state_directory_is_refused",
            "root",
            "a second uid needs the suite to run as root",
        );
    };
    let (victim, other) = (61240u32, uid + 1);
    let base = PathBuf::from(format!("/tmp/sandbox-run-{victim}"));
    let theirs = stage().dir.join("planted-theirs");
    let clear = |p: &std::path::Path| {
        let _ = fs::remove_file(p);
        let _ = fs::remove_dir_all(p);
    };
    let dir_of = |p: &std::path::Path, owner: u32, mode: u32| {
        clear(p);
        fs::create_dir(p).unwrap();
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(p, Some(owner), Some(owner)).unwrap();
    };
    let as_victim = |args: &[&str]| -> Output {
        Command::new("setpriv")
            .arg(format!("--reuid={victim}"))
            .arg(format!("--regid={victim}"))
            .arg("--clear-groups")
            .arg("--")
            .arg(&stage().bin)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .current_dir("/")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let root = rootfs_arg();
    let want = format!("sandbox: state directory: {}: ", base.display());
    let cases: [(&dyn Fn(), String); 4] = [
        (
            &|| dir_of(&base, other, 0o777),
            format!("belongs to another user, uid {other}"),
        ),
        (
            &|| dir_of(&base, other, 0o700),
            format!("belongs to another user, uid {other}"),
        ),
        (
            &|| {
                dir_of(&theirs, other, 0o777);
                clear(&base);
                std::os::unix::fs::symlink(&theirs, &base).unwrap();
                std::os::unix::fs::lchown(&base, Some(other), Some(other)).unwrap();
            },
            format!("is a symlink (made by uid {other}"),
        ),
        (
            &|| dir_of(&base, victim, 0o750),
            "is open to other users (mode 0750".into(),
        ),
    ];
    for (plant, why) in cases {
        plant();
        for args in [&["ps"][..], &["run", "--name", "p", &root, "true"]] {
            let o = as_victim(args);
            let err = text(&o.stderr);
            assert_eq!(o.status.code(), Some(125), "{why}: {args:?}: {err}");
            let first = err.lines().next().unwrap_or("");
            assert!(first.starts_with(&want) && first.contains(&why), "{err}");
        }
    }
    clear(&theirs);
    // Control: the victim's own 0700 directory, then one sandbox makes.
    for own in [true, false] {
        clear(&base);
        if own {
            dir_of(&base, victim, 0o700);
        }
        let o = as_victim(&["run", "--name", "p", &root, "echo", "ran"]);
        assert_eq!(text(&o.stdout), "ran\n", "{}", text(&o.stderr));
        assert_eq!(as_victim(&["ps"]).status.code(), Some(0));
    }
    clear(&base);
}

/// `exec -t` under a real terminal: the command gets a pty of the
/// sandbox's own with job control, and TIOCSTI is still refused.
fn exec_tty_keeps_job_control_and_blocks_tiocsti() {
    let n = name("tty");
    detached(&n, &[], "exec sleep 60");
    let st = stage();
    let mut line = String::new();
    if let Some((u, g)) = st.drop_to {
        line += &format!("setpriv --reuid={u} --regid={g} --clear-groups -- ");
    }
    line += &format!(
        "env XDG_RUNTIME_DIR={} {} exec -t {n} ",
        xdg_for(st.host_uid).display(),
        st.bin.display()
    );
    let pty = |cmd: &str, input: &str| -> String {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "(sleep 0.5; printf '{input}'; sleep 1) | timeout 30 script -qec \"$0\" /dev/null"
            ))
            .arg(format!("{line}{cmd}"))
            .current_dir(&st.dir)
            .output()
            .unwrap();
        text(&o.stdout).replace('\r', "")
    };
    let shown = pty(&format!("{PROBE_AT} tiocsti"), "");
    assert!(shown.contains("tiocsti EPERM"), "{shown}");
    let shown = pty(
        "/bin/sh",
        "tty\\nsleep 30 &\\njobs\\nkill %%1\\necho job-$((6*7))\\nexit\\n",
    );
    assert!(shown.contains("/dev/pts/"), "{shown}");
    assert!(shown.contains("[1]"), "jobs: {shown}");
    assert!(shown.contains("job-42"), "{shown}");
    // Control: without -t the command gets no terminal at all.
    let o = exec(&n, &["/bin/sh", "-c", "tty"]);
    assert_eq!(text(&o.stdout).trim(), "not a tty");
    stop(&n);
}

/// An exec'd command gets the sandbox's resource limits (`--limit`), not
/// the caller's: its /proc/self/limits is PID 1's, and `ulimit -n` the
/// limit given. Control: a sandbox without the option has another limit.
/// (The cgroup half of the claim is checked where a cgroup is delegated:
/// tests/supervise.rs; exec's joining it is not tested here.)
fn exec_gets_the_sandboxs_rlimits() {
    let n = name("rlim");
    detached(&n, &["--limit", "nofile=123"], "exec sleep 60");
    let seen = exec_ok(
        &n,
        "ulimit -n; cat /proc/1/limits > /tmp/one; cat /proc/self/limits | cmp - /tmp/one && echo same",
    );
    stop(&n);
    assert_eq!(seen, "123\nsame\n");
    let n = name("rlim-none");
    detached(&n, &[], "exec sleep 60");
    let seen = exec_ok(&n, "ulimit -n");
    stop(&n);
    assert_ne!(seen.trim(), "123", "control");
}

/// A detached sandbox's log is capped: at most LOG_CAP (4 MiB) in the log
/// and as much in the one before it, whatever the command writes; the
/// newest output is kept. Control: the command wrote 10 MiB, and the log
/// holds its end.
fn the_detached_log_is_capped() {
    const CAP: u64 = 4 << 20;
    let n = name("logcap");
    detached(
        &n,
        &[],
        "head -c 10485760 /dev/zero | tr '\\0' x; echo; echo LOG-END; exec sleep 60",
    );
    let base = xdg_for(stage().host_uid).join("sandbox");
    let (log, old) = (
        base.join(format!(".log-{n}")),
        base.join(format!(".log.1-{n}")),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let tail = fs::read(&log).unwrap_or_default();
        if tail.ends_with(b"LOG-END\n") {
            break;
        }
        assert!(Instant::now() < deadline, "LOG-END never reached the log");
        std::thread::sleep(Duration::from_millis(100));
    }
    let size = |p: &std::path::Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let (a, b) = (size(&log), size(&old));
    let shown = out(&["logs", &n]).stdout;
    stop(&n);
    assert!(
        a <= CAP && b <= CAP,
        "log {a} and {b} bytes, more than {CAP}"
    );
    // Control: the cap was reached (10 MiB went in), and what is kept is
    // the newest output.
    assert_eq!(b, CAP, "the older log is full");
    assert!(shown.ends_with(b"LOG-END\n"), "logs shows the end");
    assert!(
        shown.len() as u64 <= 2 * CAP,
        "logs shows {} bytes",
        shown.len()
    );
}

/// PID reuse: a record whose pid now names another process of the same
/// user (started later, so with another start time) must not make kill,
/// stop or exec reach that process. The reuse is simulated by pointing the
/// entry's pid at a decoy `sleep`. Control: with the true pid back, the
/// same exec and stop reach the sandbox.
fn kill_stop_exec_never_reach_a_process_that_reused_the_pid() {
    let n = name("reuse");
    detached(&n, &[], "exec sleep 60");
    let (pid, launcher) = entry_of(&n).expect("listed");
    let entry = xdg_for(stage().host_uid).join("sandbox").join(&n);
    // The entry holds the encoded plan after its record: bytes, not text.
    let original = fs::read(&entry).unwrap();
    let from = format!("pid={pid}\n");
    let at = original
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&original)));
    // A decoy whose pid has as many digits, so the entry keeps its length,
    // and which started in a later clock tick than PID 1: the record's
    // start time counts ticks (10 ms), and a real reuse of a pid comes
    // after the pid space has wrapped, never within the same tick.
    let started = |p: u32| -> Option<u64> {
        let stat = fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 2..];
        after.split(' ').nth(19)?.parse().ok()
    };
    let pid1_start = started(pid).expect("PID 1's start time");
    let mut decoys = Vec::new();
    let decoy = loop {
        let c = as_test_user("sleep").arg("60").spawn().unwrap();
        let id = c.id();
        decoys.push(c);
        if id.to_string().len() == pid.to_string().len()
            && started(id).is_some_and(|t| t != pid1_start)
        {
            break id;
        }
        assert!(
            decoys.len() < 50,
            "no decoy pid with as many digits as {pid} started after it"
        );
    };
    let mut forged = original.clone();
    forged.splice(at..at + from.len(), format!("pid={decoy}\n").bytes());
    assert_ne!(forged, original);
    assert_eq!(forged.len(), original.len());
    fs::write(&entry, &forged).unwrap();
    let mut codes = Vec::new();
    for args in [
        &["kill", &n, "KILL"][..],
        &["stop", "--time", "1", &n],
        &["exec", &n, "true"],
    ] {
        let o = out(args);
        codes.push((args[0], o.status.code(), text(&o.stderr)));
        assert!(alive(decoy), "{args:?} reached the decoy: {codes:?}");
    }
    for (what, code, err) in &codes {
        assert_ne!(*code, Some(0), "{what} claimed success: {codes:?}");
        // Refused because the pid is not the sandbox's any more.
        assert!(
            err.contains("no running sandbox of yours has this name"),
            "{what}: {err}"
        );
    }
    // Control: with the true record back (when the entry is still there),
    // exec and stop reach the sandbox; otherwise end it by its launcher.
    if entry.exists() {
        fs::write(&entry, &original).unwrap();
        assert_eq!(exec_ok(&n, "echo here"), "here\n");
        stop(&n);
    } else {
        send_signal("-KILL", launcher);
    }
    assert!(
        wait_gone(pid, Duration::from_secs(10)),
        "the sandbox stayed"
    );
    for mut d in decoys {
        let _ = d.kill();
        let _ = d.wait();
    }
}

tests![
    exec_joins_the_sandbox_with_its_confinement,
    exec_keeps_the_landlock_ruleset,
    exec_exit_codes_and_signals,
    exec_dies_with_the_sandbox,
    detach_logs_stop_and_nothing_left,
    ps_after_the_launcher_was_killed_shows_nothing,
    names_collide_and_are_checked,
    another_user_cannot_reach_your_sandboxes,
    a_planted_state_directory_is_refused,
    exec_tty_keeps_job_control_and_blocks_tiocsti,
    exec_gets_the_sandboxs_rlimits,
    the_detached_log_is_capped,
    kill_stop_exec_never_reach_a_process_that_reused_the_pid,
];
