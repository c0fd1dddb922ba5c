//! The caller's terminal and stdio (issue 14, items 1–3; docs/SECURITY.md
//! D11): attacks on what the command got as stdin, stdout and stderr must
//! leave the caller's terminal and files unchanged. Each has a control with
//! `--stdio inherit` (or a bound file) that shows the probe would have seen
//! the attack work.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

const PROBE_AT: &str = "/probe";

/// `sandbox run` with the probe bound in, `extra` options, then the command.
fn run_args(extra: &[&str], cmd: &[&str]) -> Vec<String> {
    let bind = format!("{}:{PROBE_AT}", stage().probe.display());
    let mut a: Vec<String> = vec!["run".into()];
    a.extend(extra.iter().map(|s| s.to_string()));
    a.extend(["--ro-bind".into(), bind, rootfs_arg()]);
    a.extend(cmd.iter().map(|s| s.to_string()));
    a
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The shell words that launch `sandbox ARGS` from inside the pty (which
/// already runs as the test uid).
fn sandbox_line(args: &[String]) -> String {
    let args = weaken(args.iter().map(Into::into).collect());
    let mut line = quote(&stage().bin.display().to_string());
    for a in &args {
        line += " ";
        line += &quote(&a.to_string_lossy());
    }
    line
}

/// Run the shell command `line` under a new pty (util-linux `script`)
/// that belongs to the test uid, typing `input` once `ready` exists (half
/// a second in without one); returns what the terminal showed.
fn pty_line(line: &str, input: &str, ready: Option<&Path>) -> String {
    let st = stage();
    let mut script = String::new();
    if let Some((u, g)) = st.drop_to {
        script += &format!("setpriv --reuid={u} --regid={g} --clear-groups -- ");
    }
    let wait = match ready {
        Some(p) => format!(
            "i=0; while [ ! -e '{}' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done",
            p.display()
        ),
        None => "sleep 0.5".to_string(),
    };
    let feeder = format!("{wait}; printf '{input}'; sleep 1");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "({feeder}) | {script} env SHELL=/bin/sh timeout 30 script -qec \"$0\" /dev/null"
        ))
        .arg(line)
        .current_dir(&st.dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .output()
        .expect("script (util-linux) runs");
    text(&out.stdout).replace('\r', "")
}

/// A file in `dir` owned by the test uid, mode 0644, holding `content`.
fn user_file(dir: &Path, name: &str, content: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    let ok = as_test_user("sh")
        .arg("-c")
        .arg(format!(
            "printf %s {} > {} && chmod 644 {}",
            quote(content),
            quote(&p.display().to_string()),
            quote(&p.display().to_string())
        ))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    p
}

/// What an attack on a file's metadata would change.
fn metadata(p: &Path) -> String {
    let m = fs::metadata(p).unwrap();
    let xattr = Command::new("getfattr")
        .args(["--absolute-names", "-d"])
        .arg(p)
        .output()
        .map(|o| text(&o.stdout))
        .unwrap_or_default();
    format!(
        "mode={:o} uid={} gid={} mtime={} ctime={}.{} xattrs={:?}",
        m.permissions().mode() & 0o7777,
        m.uid(),
        m.gid(),
        m.mtime(),
        m.ctime(),
        m.ctime_nsec(),
        xattr.trim()
    )
}

fn the_callers_terminal_is_unreachable_when_stdio_is_redirected() {
    let d = test_dir("stdio-devtty");
    let out = d.join("out");
    let try_tty = |extra: &[&str]| -> String {
        let _ = fs::remove_file(&out);
        let a = run_args(
            extra,
            &[
                "/bin/sh",
                "-c",
                "touch /m/ready; if read l </dev/tty; then echo got:$l; else echo no-tty; fi",
            ],
        );
        let mut a = a;
        a.splice(1..1, ["--bind".to_string(), format!("{}:/m", d.display())]);
        let line = format!(
            "rm -f {r}; {} </dev/null >{o} 2>&1",
            sandbox_line(&a),
            r = d.join("ready").display(),
            o = out.display()
        );
        pty_line(&line, "secret\\n", Some(&d.join("ready")));
        fs::read_to_string(&out).unwrap_or_default()
    };
    let got = try_tty(&[]);
    assert!(got.contains("no-tty"), "{got}");
    assert!(!got.contains("secret"), "{got}");
    // Control: in the caller's session, /dev/tty is the caller's terminal
    // and reads what the user types.
    let got = try_tty(&["--stdio", "inherit"]);
    assert!(got.contains("got:secret"), "control: {got}");
}

fn line_discipline_nonblock_and_mode_of_the_callers_terminal_stay() {
    let st = stage();
    let d = test_dir("stdio-ttyharm");
    let probe = quote(&st.probe.display().to_string());
    let attempt = |extra: &[&str]| -> (String, String, String) {
        // The probe reports to a bound file: with N_NULL on the terminal it
        // attacks, nothing written to that terminal would show.
        let mut a = run_args(extra, &["/bin/sh", "-c", "/probe tty-harm >/m/said"]);
        a.splice(1..1, ["--bind".to_string(), format!("{}:/m", d.display())]);
        let (before, after) = (d.join("before"), d.join("after"));
        let line = format!(
            "{probe} tty-state >{b}; {}; {probe} tty-state >{a}",
            sandbox_line(&a),
            b = before.display(),
            a = after.display()
        );
        pty_line(&line, "", None);
        (
            fs::read_to_string(&before).unwrap_or_default(),
            fs::read_to_string(&after).unwrap_or_default(),
            fs::read_to_string(d.join("said")).unwrap_or_default(),
        )
    };
    let (before, after, shown) = attempt(&[]);
    assert!(
        before.starts_with("ldisc=0 nonblock=0"),
        "before: {before:?}, shown: {shown:?}"
    );
    assert_eq!(before, after, "{shown}");
    // The probe did act on what it had: the sandbox's own pty.
    assert!(shown.contains("nonblock OK"), "{shown}");
    assert!(shown.contains("fchmod OK"), "{shown}");
    // Control: holding the caller's terminal itself, the same probe
    // changes it, and the change outlives the run.
    let (before, after, shown) = attempt(&["--stdio", "inherit"]);
    assert_ne!(before, after, "control: {shown}");
    assert!(after.contains("nonblock=1"), "control: {after}");
    assert!(after.contains("mode=666"), "control: {after}");
    // N_NULL is a module on some kernels, and unprivileged users may not
    // autoload one (dev.tty.ldisc_autoload = 0): whether it is there is
    // asked of the kernel's own list, not of the run.
    let n_null = fs::read_to_string("/proc/tty/ldiscs")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1) == Some("27"));
    if n_null {
        assert!(shown.contains("tiocsetd OK"), "control: {shown}");
        assert!(after.starts_with("ldisc=27"), "control: {after}");
    } else {
        skip(
            "line_discipline_nonblock_and_mode_of_the_callers_terminal_stay (control: line discipline)",
            "n-null",
            "the kernel has no N_NULL line discipline loaded (/proc/tty/ldiscs), so TIOCSETD has nothing to show",
        );
    }
}

fn metadata_of_a_file_on_stdio_is_out_of_reach() {
    let d = test_dir("stdio-meta");
    for fd in ["0", "1"] {
        let f = user_file(&d, &format!("file{fd}"), "data\n");
        let before = metadata(&f);
        let file = || {
            fs::OpenOptions::new()
                .read(fd == "0")
                .write(fd == "1")
                .append(fd == "1")
                .open(&f)
                .unwrap()
        };
        // The probe reports on stderr: a write to the file is no attack.
        let meta = match fd {
            "0" => format!("{PROBE_AT} meta 0 >&2"),
            _ => format!("{PROBE_AT} meta 3 3>&1 >&2"),
        };
        let cmd = ["/bin/sh", "-c", meta.as_str()];
        let mut c = sandbox(run_args(&[], &cmd));
        if fd == "0" {
            c.stdin(file());
        } else {
            c.stdout(file());
        }
        let out = c.stderr(Stdio::piped()).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(metadata(&f), before, "fd {fd}");
        // Control: the command holding the file itself (--stdio inherit)
        // changes its mode and times on the host.
        let mut c = sandbox(run_args(&["--stdio", "inherit"], &cmd));
        if fd == "0" {
            c.stdin(file());
        } else {
            c.stdout(file());
        }
        c.stderr(Stdio::piped()).output().unwrap();
        let after = metadata(&f);
        assert!(after.contains("mode=666"), "control fd {fd}: {after}");
    }
    // Control for the calls themselves: on a --bind'ed file, opened inside
    // by path, every one of them works.
    let f = user_file(&d, "bound", "data\n");
    let before = metadata(&f);
    let mut a = run_args(&[], &["/bin/sh", "-c", "/probe meta 0 </f"]);
    a.splice(1..1, ["--bind".to_string(), format!("{}:/f", f.display())]);
    let out = run(&a);
    let said = text(&out.stdout);
    for call in ["fchmod", "fchown", "futimens"] {
        assert!(said.contains(&format!("{call} OK")), "bound: {said}");
    }
    assert_ne!(metadata(&f), before);
}

fn a_read_only_stdin_file_cannot_be_reopened_for_writing() {
    let d = test_dir("stdio-reopen");
    let f = user_file(&d, "input", "original\n");
    let write = |extra: &[&str]| {
        sandbox(run_args(
            extra,
            &[PROBE_AT, "write-path", "/proc/self/fd/0"],
        ))
        .stdin(fs::File::open(&f).unwrap())
        .output()
        .unwrap()
    };
    // Without Landlock the path is not refused: the command reopens its
    // stdin, which is a pipe of the launcher's, not the caller's file.
    let out = write(&["--landlock", "off"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::read_to_string(&f).unwrap(), "original\n");
    // Control: reading through the same path works, and gives the file.
    let out = sandbox(run_args(
        &["--landlock", "off"],
        &["/bin/cat", "/proc/self/fd/0"],
    ))
    .stdin(fs::File::open(&f).unwrap())
    .output()
    .unwrap();
    assert_eq!(text(&out.stdout), "original\n");
    // Control: holding the caller's file (--stdio inherit), uid 0 inside
    // is its owner and writes it.
    let out = write(&["--landlock", "off", "--stdio", "inherit"]);
    assert!(
        text(&out.stdout).contains("write OK"),
        "control: {}",
        text(&out.stdout)
    );
    assert!(fs::read_to_string(&f).unwrap().starts_with("PWNED"));
}

fn job_control_ctrl_c_ctrl_z_and_exit_status_under_a_pty() {
    let a = run_args(&[], &["/bin/sh"]);
    let typed = "sleep 20\\n\\003echo int-$?\\nsleep 1\\n\\032fg\\necho fg-$?\\nexit 7\\n";
    let line = format!("{}; echo status=$?", sandbox_line(&a));
    // Typed slowly: each key after the previous command had time to start.
    let st = stage();
    let mut script = String::new();
    if let Some((u, g)) = st.drop_to {
        script += &format!("setpriv --reuid={u} --regid={g} --clear-groups -- ");
    }
    let feeder = typed
        .split_inclusive("\\n")
        .flat_map(|l| l.split_inclusive("\\003"))
        .flat_map(|l| l.split_inclusive("\\032"))
        .map(|chunk| format!("sleep 0.4; printf '{chunk}'"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(sleep 0.5; {feeder}; sleep 2) | {script} env SHELL=/bin/sh timeout 30 script -qec \"$0\" /dev/null"
        ))
        .arg(&line)
        .current_dir(&st.dir)
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .output()
        .unwrap();
    let shown = text(&out.stdout).replace('\r', "");
    // ^C ended the foreground sleep (128+2), not the shell or the sandbox.
    assert!(shown.contains("int-130"), "{shown}");
    // ^Z stopped `sleep 1`; fg resumed it and it finished.
    assert!(shown.contains("Stopped"), "{shown}");
    assert!(shown.contains("fg-0"), "{shown}");
    assert!(shown.contains("status=7"), "{shown}");
}

fn window_size_reaches_the_sandbox_and_modes_come_back() {
    let st = stage();
    let d = test_dir("stdio-winch");
    let probe = quote(&st.probe.display().to_string());
    let mut a = run_args(
        &[],
        &[
            "/bin/sh",
            "-c",
            "trap 'stty size; exit 0' WINCH; echo start $(stty size); touch /m/ready; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo no-winch",
        ],
    );
    a.splice(1..1, ["--bind".to_string(), format!("{}:/m", d.display())]);
    let ready = d.join("ready");
    let line = format!(
        "stty rows 20 cols 70; stty -g > {b}; rm -f {r}; \
         (i=0; while [ ! -e {r} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; {probe} setwinsz 22 77 </dev/tty >/dev/null) & \
         {}; echo status=$?; stty -g > {af}",
        sandbox_line(&a),
        b = d.join("before").display(),
        af = d.join("after").display(),
        r = ready.display(),
    );
    let shown = pty_line(&line, "", None);
    assert!(shown.contains("start 20 70"), "{shown}");
    assert!(shown.contains("22 77"), "{shown}");
    assert!(shown.contains("status=0"), "{shown}");
    // The caller's terminal is back to its own modes after the run.
    let before = fs::read_to_string(d.join("before")).unwrap();
    assert_eq!(fs::read_to_string(d.join("after")).unwrap(), before);
}

fn the_guard_restores_the_terminal_when_the_launcher_is_killed() {
    let d = test_dir("stdio-guard");
    let a = run_args(&[], &["/bin/sleep", "30"]);
    let pid = d.join("pid");
    let line = format!(
        "stty -g > {b}; \
         (i=0; while [ \"$(stty -g </dev/tty)\" = \"$(cat {b})\" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; \
          stty -g </dev/tty > {raw}; kill -9 $(cat {p}); \
          i=0; while [ \"$(stty -g </dev/tty)\" != \"$(cat {b})\" ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; \
          stty -g </dev/tty > {af}) & \
         sh -c 'echo $$ > {p}; exec \"$@\"' sh {}; wait",
        sandbox_line(&a),
        b = d.join("before").display(),
        raw = d.join("raw").display(),
        af = d.join("after").display(),
        p = pid.display(),
    );
    let shown = pty_line(&line, "", None);
    let before = fs::read_to_string(d.join("before")).unwrap_or_default();
    let raw = fs::read_to_string(d.join("raw")).unwrap_or_default();
    // Control: the launcher had the terminal in raw mode when it was killed
    // (nobody else in this non-interactive shell would put it back).
    assert!(!before.is_empty() && raw != before, "{shown}");
    assert_eq!(
        fs::read_to_string(d.join("after")).unwrap_or_default(),
        before,
        "{shown}"
    );
}

fn pumped_output_is_complete_and_keeps_its_order() {
    let d = test_dir("stdio-pump");
    // 256 MiB to a file through the launcher's pump.
    let f = d.join("flood");
    let out = sandbox(run_args(
        &[],
        &["/bin/sh", "-c", "head -c 268435456 /dev/zero"],
    ))
    .stdout(fs::File::create(&f).unwrap())
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fs::metadata(&f).unwrap().len(), 268435456);
    fs::remove_file(&f).unwrap();
    // stdout and stderr to one file keep their order (one pipe for both).
    let f = d.join("mixed");
    let file = fs::File::create(&f).unwrap();
    let out = sandbox(run_args(
        &[],
        &[
            "/bin/sh",
            "-c",
            "i=0; while [ $i -lt 500 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done",
        ],
    ))
    .stdout(file.try_clone().unwrap())
    .stderr(file)
    .output()
    .unwrap();
    assert!(out.status.success());
    let want: String = (0..500).map(|i| format!("o{i}\ne{i}\n")).collect();
    assert_eq!(fs::read_to_string(&f).unwrap(), want);
    // An O_APPEND file (splice refuses it) gets everything too.
    let f = d.join("append");
    fs::write(&f, "first\n").unwrap();
    let out = sandbox(run_args(&[], &["/bin/echo", "second"]))
        .stdout(fs::OpenOptions::new().append(true).open(&f).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(fs::read_to_string(&f).unwrap(), "first\nsecond\n");
    // stdin from a file reaches the command whole.
    let f = d.join("in");
    fs::write(&f, "x".repeat(1 << 20)).unwrap();
    let out = sandbox(run_args(&[], &["/bin/sh", "-c", "wc -c"]))
        .stdin(fs::File::open(&f).unwrap())
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).trim(), "1048576");
}

tests![
    the_callers_terminal_is_unreachable_when_stdio_is_redirected,
    line_discipline_nonblock_and_mode_of_the_callers_terminal_stay,
    metadata_of_a_file_on_stdio_is_out_of_reach,
    a_read_only_stdin_file_cannot_be_reopened_for_writing,
    job_control_ctrl_c_ctrl_z_and_exit_status_under_a_pty,
    window_size_reaches_the_sandbox_and_modes_come_back,
    the_guard_restores_the_terminal_when_the_launcher_is_killed,
    pumped_output_is_complete_and_keeps_its_order,
];
