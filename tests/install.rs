//! `make install`: the binary, sandbox(1) and the completions land under
//! PREFIX, the page renders with man(1), bash can load the completion and
//! it completes from the option table; `make uninstall` removes it all.
//!
//! Runs `make install-files` (what `make install` does after building)
//! with the binary cargo built for this suite, so it needs no release build.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{skip, text};

const BIN: &str = env!("CARGO_BIN_EXE_sandbox");

/// Every option name `sandbox run --help` lists, long and short.
fn options() -> Vec<String> {
    let out = Command::new(BIN).args(["run", "--help"]).output().unwrap();
    let help = text(&out.stdout);
    let mut names = Vec::new();
    for line in help.lines() {
        let l = line.trim_start();
        if line.starts_with("  ") && l.starts_with('-') && !line.starts_with("    ") {
            for word in l.split([' ', ',']) {
                if word.starts_with('-') {
                    names.push(word.to_string());
                } else if !word.is_empty() {
                    break;
                }
            }
        }
    }
    assert!(names.len() > 20, "too few options in --help: {names:?}");
    assert!(names.contains(&"-v".to_string()) && names.contains(&"--verbose".to_string()));
    names
}

fn make(target: &str, prefix: &Path) -> Output {
    make_with(target, prefix, &[])
}

fn make_with(target: &str, prefix: &Path, vars: &[&str]) -> Output {
    let out = Command::new("make")
        .args(["-s", target])
        .args(vars)
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("BIN={BIN}"))
        // Never the machine's own /etc/apparmor.d from a test: the
        // profile has its own test, below DESTDIR.
        .arg("APPARMOR=0")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "make {target}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

fn has(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Installed {
    _dir: tempfile::TempDir,
    prefix: PathBuf,
}

impl Installed {
    /// `make install-files` into a temporary PREFIX; None (the test
    /// skipped, with the reason) where there is no make or no source tree
    /// (the kernel-matrix guest has neither).
    fn new(test: &str) -> Option<Installed> {
        Self::with(test, &[])
    }

    /// `new`, with make variables (`BWRAP_LINK=1`).
    fn with(test: &str, vars: &[&str]) -> Option<Installed> {
        let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("Makefile");
        if !tree.is_file() || !has("make") {
            skip(
                test,
                "make",
                "needs make(1) and the source tree (make install-files)",
            );
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let prefix = dir.path().join("usr");
        make_with("install-files", &prefix, vars);
        Some(Installed { _dir: dir, prefix })
    }

    fn file(&self, rel: &str) -> PathBuf {
        let p = self.prefix.join(rel);
        assert!(p.is_file(), "{} not installed", p.display());
        p
    }
}

const FILES: [&str; 10] = [
    "bin/sandbox",
    "bin/sandbox-oci",
    "bin/sandbox-bwrap",
    "share/man/man1/sandbox.1",
    "share/bash-completion/completions/sandbox",
    "share/zsh/site-functions/_sandbox",
    "share/fish/vendor_completions.d/sandbox.fish",
    "share/sandbox/profiles/untrusted-script.toml",
    "share/sandbox/profiles/build.toml",
    "share/sandbox/profiles/agent.toml",
];

fn install_and_uninstall() {
    let Some(inst) = Installed::new("install_and_uninstall") else {
        return;
    };
    for f in FILES {
        inst.file(f);
    }
    let out = Command::new(inst.file("bin/sandbox"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(text(&out.stdout).starts_with("sandbox "));
    // The OCI runtime is the same binary under its own name.
    let out = Command::new(inst.file("bin/sandbox-oci"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).starts_with("sandbox-oci version"),
        "{}",
        text(&out.stdout)
    );
    // So is the bubblewrap front end; no `bwrap` unless asked for.
    let out = Command::new(inst.file("bin/sandbox-bwrap"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).starts_with("bubblewrap "),
        "{}",
        text(&out.stdout)
    );
    assert!(!inst.prefix.join("bin/bwrap").exists());
    // What is installed is what the binary prints.
    let page = std::fs::read_to_string(inst.file("share/man/man1/sandbox.1")).unwrap();
    let printed = Command::new(BIN).arg("man").output().unwrap();
    assert_eq!(page, text(&printed.stdout));

    make("uninstall", &inst.prefix);
    for f in FILES {
        assert!(!inst.prefix.join(f).exists(), "{f} left by make uninstall");
    }
    assert!(!inst.prefix.join("share/sandbox").exists());
}

/// `profile list` of the installed binary as `sandbox profile list` with
/// no profiles of the user's own.
fn profile_list(inst: &Installed) -> String {
    let out = Command::new(inst.file("bin/sandbox"))
        .args(["profile", "list"])
        .env_clear()
        .env("XDG_CONFIG_HOME", inst.prefix.join("no-config"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

/// The installed binary finds the installed profiles by name, in
/// PREFIX/share/sandbox/profiles beside its own directory, before the
/// built-in ones; but not when someone else could have put them there
/// (a directory on the way writable by others).
fn installed_profiles_are_found_by_name() {
    let Some(inst) = Installed::new("installed_profiles_are_found_by_name") else {
        return;
    };
    let dir = inst.prefix.join("share/sandbox/profiles");
    let listed = profile_list(&inst);
    for name in ["untrusted-script", "build", "agent"] {
        let want = format!("{}", dir.join(format!("{name}.toml")).display());
        assert!(listed.contains(&want), "{name} not from {want}: {listed}");
    }
    // An installed profile is read, not the built-in one of that name.
    std::fs::write(dir.join("build.toml"), "hostname = \"installed\"\n").unwrap();
    let out = Command::new(inst.file("bin/sandbox"))
        .args(["profile", "show", "build"])
        .env_clear()
        .env("XDG_CONFIG_HOME", inst.prefix.join("no-config"))
        .output()
        .unwrap();
    assert_eq!(
        text(&out.stdout),
        "--hostname installed\n",
        "{}",
        text(&out.stderr)
    );
    // Writable by others, the directory is passed over: the built-in ones.
    let share = inst.prefix.join("share/sandbox");
    let mode = |m: u32| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&share, std::fs::Permissions::from_mode(m)).unwrap();
    };
    mode(0o777);
    let listed = profile_list(&inst);
    mode(0o755);
    assert!(
        listed.contains("build             (built-in)")
            && !listed.contains(&*dir.to_string_lossy()),
        "{listed}"
    );
}

/// `make install BWRAP_LINK=1`: `bwrap` under PREFIX is our front end
/// (its help names it so); uninstall removes it. Control: without the
/// variable there is none (install_and_uninstall).
fn bwrap_link_on_request() {
    let Some(inst) = Installed::with("bwrap_link_on_request", &["BWRAP_LINK=1"]) else {
        return;
    };
    let bwrap = inst.file("bin/bwrap");
    let out = Command::new(&bwrap).arg("--help").output().unwrap();
    let help = text(&out.stdout);
    assert!(
        help.starts_with(&format!("usage: {}", bwrap.display()))
            && help.contains("bubblewrap-compatible front end"),
        "{help}"
    );
    make("uninstall", &inst.prefix);
    assert!(
        !inst.prefix.join("bin/bwrap").exists(),
        "bwrap left by make uninstall"
    );
}

fn man_renders_the_page() {
    if !has("man") {
        skip(
            "man_renders_the_page",
            "man",
            "man(1) is not installed (Debian: man-db)",
        );
        return;
    }
    let Some(inst) = Installed::new("man_renders_the_page") else {
        return;
    };
    let page = std::fs::File::open(inst.file("share/man/man1/sandbox.1")).unwrap();
    // From stdin: man run as root may read files as another user.
    let out = Command::new("man")
        .args(["-l", "-"])
        .env("MANWIDTH", "200")
        .env("MANPAGER", "cat")
        .env("LC_ALL", "C")
        .stdin(page)
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(out.status.success(), "man -l: {}", text(&out.stderr));
    assert!(
        shown.contains("sandbox - run untrusted commands"),
        "{shown}"
    );
    for section in [
        "SYNOPSIS",
        "OPTIONS",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            shown.contains(&format!("\n{section}\n")),
            "{section}:\n{shown}"
        );
    }
    for name in options() {
        assert!(
            shown.contains(&format!("{name} "))
                || shown.contains(&format!("{name},"))
                || shown.contains(&format!("{name}\n")),
            "{name} not in the rendered page"
        );
    }
    assert!(shown.contains("-v, --verbose"));
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}

/// Completions bash offers for the words, as the completion function
/// computes them (the last word is the one being completed).
fn bash_complete(script: &Path, cwd: &Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
        .collect();
    let prog = format!(
        "source '{}' || exit 9\n\
         COMP_WORDS=({}); COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n\
         _sandbox sandbox\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" ")
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(out.status.success(), "bash: {}", text(&out.stderr));
    let mut v: Vec<String> = text(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    v.sort();
    v
}

fn bash_loads_the_completion() {
    let Some(inst) = Installed::new("bash_loads_the_completion") else {
        return;
    };
    let script = inst.file("share/bash-completion/completions/sandbox");
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c"])
        .arg(format!(
            "source '{}' && complete -p sandbox",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("-F _sandbox"),
        "{}",
        text(&out.stdout)
    );

    // A directory to complete paths in.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rootfs")).unwrap();
    std::fs::write(dir.path().join("job.sh"), "").unwrap();
    let c = |w: &[&str]| bash_complete(&script, dir.path(), w);
    assert_eq!(
        c(&["sandbox", ""]),
        [
            "--help",
            "--version",
            "completions",
            "doctor",
            "exec",
            "images",
            "kill",
            "logs",
            "man",
            "profile",
            "ps",
            "run",
            "stop"
        ]
    );
    assert_eq!(c(&["sandbox", "run", "--seccomp", ""]), ["off", "on"]);
    assert_eq!(c(&["sandbox", "run", "--landlock", "r"]), ["require"]);
    assert_eq!(c(&["sandbox", "run", "--limit", "nof"]), ["nofile="]);
    assert_eq!(c(&["sandbox", "run", "--ro-bind", "j"]), ["job.sh"]);
    assert_eq!(
        c(&["sandbox", "run", "--hostname", "r"]),
        Vec::<String>::new()
    );
    // ROOTFS: a directory; after it, the command's files.
    assert_eq!(c(&["sandbox", "run", "-v", ""]), ["rootfs"]);
    assert_eq!(
        c(&[
            "sandbox",
            "run",
            "--ro-bind",
            "job.sh",
            ":",
            "/job.sh",
            "rootfs",
            "j"
        ]),
        ["job.sh"]
    );
    assert_eq!(c(&["sandbox", "completions", "f"]), ["fish"]);
    assert_eq!(c(&["sandbox", "profile", "s"]), ["show"]);
    // Every option of --help, long and short, completes.
    for name in options() {
        let got = c(&["sandbox", "run", &name]);
        assert!(got.contains(&name), "{name}: {got:?}");
    }
}

fn zsh_and_fish_parse_the_completions() {
    let Some(inst) = Installed::new("zsh_and_fish_parse_the_completions") else {
        return;
    };
    for (shell, file, check) in [
        ("zsh", "share/zsh/site-functions/_sandbox", "-n"),
        (
            "fish",
            "share/fish/vendor_completions.d/sandbox.fish",
            "--no-execute",
        ),
    ] {
        if !has(shell) {
            skip(
                "zsh_and_fish_parse_the_completions",
                shell,
                &format!("{shell} is not installed: its completion was not syntax-checked"),
            );
            continue;
        }
        let out = Command::new(shell)
            .arg(check)
            .arg(inst.file(file))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{shell} {check}: {}",
            text(&out.stderr)
        );
    }
}

/// `make install` with a PREFIX the user cannot write (/usr/local, as a
/// user) stops before anything with one line naming PREFIX=~/.local and
/// sudo, not a "Permission denied" per file. Control: the same as the
/// same user into a directory of theirs installs.
fn install_into_an_unwritable_prefix_says_what_to_do() {
    let test = "install_into_an_unwritable_prefix_says_what_to_do";
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("Makefile");
    if !tree.is_file() || !has("make") {
        return skip(
            test,
            "make",
            "needs make(1) and the source tree (make install-files)",
        );
    }
    let dir = common::test_dir("install-unwritable");
    let locked = dir.join("locked");
    let chmod = |mode: &str| {
        let ok = common::as_test_user("sh")
            .args(["-c", &format!("mkdir -p \"$0\" && chmod {mode} \"$0\"")])
            .arg(&locked)
            .status()
            .unwrap()
            .success();
        assert!(ok, "chmod {mode}");
    };
    chmod("0555");
    let make_as_user = |prefix: &Path| {
        common::as_test_user("make")
            .args(["-s", "install-files"])
            .arg(format!("PREFIX={}", prefix.display()))
            .arg(format!("BIN={BIN}"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .output()
            .expect("run make")
    };
    let out = make_as_user(&locked.join("usr"));
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.starts_with("make install: ")
            && err.contains("is not writable by you")
            && err.contains("PREFIX=~/.local")
            && err.contains("sudo make install"),
        "{err}"
    );
    assert!(!err.contains("Permission denied"), "{err}");
    assert!(!locked.join("usr").exists());
    // Control: writable, the same make installs.
    chmod("0755");
    let out = make_as_user(&locked.join("usr"));
    assert!(out.status.success(), "control: {}", text(&out.stderr));
    assert!(locked.join("usr/bin/sandbox").is_file());
}

/// `make TARGET PREFIX=/opt/sbx DESTDIR=DEST APPARMOR=…`.
fn make_dest(target: &str, dest: &Path, apparmor: &str) {
    let out = Command::new("make")
        .args(["-s", target, "PREFIX=/opt/sbx"])
        .arg(format!("DESTDIR={}", dest.display()))
        .arg(format!("BIN={BIN}"))
        .arg(format!("APPARMOR={apparmor}"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .output()
        .expect("run make");
    assert!(
        out.status.success(),
        "make {target}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The installed profile parses (apparmor_parser 4, without loading it
/// into the kernel). Control: a profile with a rule the parser does not
/// know is refused, so the check can fail.
fn the_apparmor_profile_parses() {
    let test = "the_apparmor_profile_parses";
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("Makefile");
    if !tree.is_file() || !has("make") {
        return skip(test, "make", "needs make(1) and the source tree");
    }
    let dest = tempfile::tempdir().unwrap();
    make_dest("install-files", dest.path(), "1");
    let profile = dest.path().join("etc/apparmor.d/sandbox");
    // AppArmor 4 (Ubuntu 24.04's) knows `userns` and abi 4.0; 3.x does not.
    let parser4 = Command::new("apparmor_parser")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            let v = text(&o.stdout);
            let n = v
                .lines()
                .next()?
                .rsplit(' ')
                .next()?
                .split('.')
                .next()?
                .to_string();
            n.parse::<u32>().ok()
        })
        .is_some_and(|major| major >= 4);
    if !parser4 {
        skip(
            test,
            "apparmor4",
            "no apparmor_parser 4 (the first to know `userns`) here to parse the profile with",
        );
    } else {
        let parse = |p: &Path| {
            Command::new("apparmor_parser")
                .args(["--skip-kernel-load", "--skip-cache", "-I/etc/apparmor.d"])
                .arg(p)
                .output()
                .unwrap()
        };
        let out = parse(&profile);
        assert!(
            out.status.success(),
            "apparmor_parser: {}",
            text(&out.stderr)
        );
        let bad = dest.path().join("bad");
        let broken = std::fs::read_to_string(&profile)
            .unwrap()
            .replace("userns,", "userns-not-a-rule,");
        std::fs::write(&bad, broken).unwrap();
        assert!(!parse(&bad).status.success(), "control: a bad rule parsed");
    }
}

/// `make install DESTDIR=… APPARMOR=1`: the AppArmor profile lands in
/// DESTDIR/etc/apparmor.d/sandbox, attached to PREFIX's binary and
/// granting `userns`; `make uninstall` removes it. Control: with APPARMOR=0 no profile.
fn install_puts_the_apparmor_profile_below_destdir() {
    let test = "install_puts_the_apparmor_profile_below_destdir";
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("Makefile");
    if !tree.is_file() || !has("make") {
        return skip(
            test,
            "make",
            "needs make(1) and the source tree (make install-files)",
        );
    }
    let dest = tempfile::tempdir().unwrap();
    let run = |target: &str, apparmor: &str| make_dest(target, dest.path(), apparmor);
    let profile = dest.path().join("etc/apparmor.d/sandbox");
    run("install-files", "0");
    assert!(dest.path().join("opt/sbx/bin/sandbox").is_file());
    assert!(!profile.exists(), "control: APPARMOR=0 installed a profile");
    run("install-files", "1");
    let text_of = std::fs::read_to_string(&profile).expect("the profile installed");
    assert!(
        text_of.contains("profile sandbox /opt/sbx/bin/sandbox flags=(unconfined) {"),
        "{text_of}"
    );
    assert!(text_of.lines().any(|l| l.trim() == "userns,"), "{text_of}");
    assert!(!text_of.contains("@BIN@"), "{text_of}");
    run("uninstall", "1");
    assert!(!profile.exists(), "make uninstall left the profile");
}

tests![
    install_puts_the_apparmor_profile_below_destdir,
    the_apparmor_profile_parses,
    install_into_an_unwritable_prefix_says_what_to_do,
    install_and_uninstall,
    installed_profiles_are_found_by_name,
    bwrap_link_on_request,
    man_renders_the_page,
    bash_loads_the_completion,
    zsh_and_fish_parse_the_completions,
];
