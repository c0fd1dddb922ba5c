//! `sandbox`: the command-line tool over the library (src/lib.rs).
//!
//! It parses (cli/mod.rs), prints, and maps the ending to an exit code: the
//! command's own, 128+N, 124 (timeout), 125 (the sandbox failed), 126
//! (cannot execute), 127 (not found). `sandbox child` is the engine's
//! second stage, which the launcher re-execs; run by hand it refuses.
#![deny(unsafe_code)]

mod cli;
// The property-test runner the library's tests use too.
#[cfg(test)]
#[path = "fuzz.rs"]
mod fuzz;

// cli/ names the library's domain types as `crate::…`.
use sandbox::named::{join, manage, state};
pub(crate) use sandbox::{confine, error, named, plan, procfs};

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Invoked as `sandbox-oci` (the link `make install` makes): runc's
    // command line, for podman and containerd (src/oci/, docs/OCI.md).
    let mut argv = std::env::args_os();
    let argv0 = argv.next().unwrap_or_default();
    if std::path::Path::new(&argv0).file_name() == Some(std::ffi::OsStr::new("sandbox-oci")) {
        if let Err(e) = refuse_privilege() {
            e.report();
            return ExitCode::from(1);
        }
        return ExitCode::from(sandbox::oci::main(argv.collect()));
    }
    // Invoked as `bwrap` or `sandbox-bwrap` (the links `make install`
    // makes), or as `sandbox bwrap ARGS`: bubblewrap's command line
    // (src/bwrap/, docs/BWRAP.md). Or run by the bwrap front end as the
    // command `/proc/self/exe` (bubblewrap itself), from the sealed copy
    // it names for this (launch/stage.rs `self_copy`), whatever argv[0]
    // says: looked up only when argv[0] is none of our names.
    let name = std::path::Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str());
    let as_bwrap = matches!(name, Some("bwrap" | "sandbox-bwrap"))
        || (name != Some("sandbox")
            && std::fs::read_link("/proc/self/exe")
                .is_ok_and(|p| p.as_os_str() == sandbox::bwrap::SELF_COPY_EXE));
    let mut argv: Vec<_> = argv.collect();
    let sub = !as_bwrap && argv.first().is_some_and(|a| a == "bwrap");
    if as_bwrap || sub {
        if let Err(e) = refuse_privilege() {
            e.report();
            return ExitCode::from(sandbox::bwrap::EXIT_FAILURE);
        }
        if sub {
            argv.remove(0);
        }
        return ExitCode::from(sandbox::bwrap::main(
            if sub {
                std::ffi::OsStr::new("bwrap")
            } else {
                &argv0
            },
            argv,
        ));
    }
    if let Err(e) = refuse_privilege() {
        e.report();
        return ExitCode::from(e.exit);
    }
    // Unpacking an image shows its progress on a terminal (the library
    // itself prints nothing).
    sandbox::image::show_progress(true);
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let cmd = match cli::parse(args) {
        Ok(c) => c,
        Err(e) => {
            e.report();
            return ExitCode::from(e.exit);
        }
    };
    let code = match cmd {
        cli::Cmd::Help(text) => {
            println!("{text}");
            0
        }
        cli::Cmd::Version => {
            println!("sandbox {}", env!("CARGO_PKG_VERSION"));
            0
        }
        cli::Cmd::Child => sandbox::child_stage(),
        cli::Cmd::Doctor => {
            let (report, code) = sandbox::doctor::check();
            // A reader that stops early (`sandbox doctor | head -2`) is no
            // error.
            let _ = std::io::stdout().lock().write_all(report.as_bytes());
            code
        }
        cli::Cmd::Images(action) => images(action),
        cli::Cmd::Man => print(&cli::manual::man_page()),
        cli::Cmd::Completions(shell) => print(&shell.script()),
        cli::Cmd::Run(args, notices) => {
            for n in notices {
                eprintln!("sandbox: {n}");
            }
            run(*args)
        }
        cli::Cmd::Profile(cli::ProfileAction::List) => print(&cli::profile::list()),
        cli::Cmd::Profile(cli::ProfileAction::Show(spec)) => {
            match cli::profile::show(&spec, &cli::profile::Files) {
                Ok(line) => print(&format!("{line}\n")),
                Err(e) => fail(e),
            }
        }
        cli::Cmd::Ps { json } => match manage::ps(json) {
            Ok(text) => print(&text),
            Err(e) => fail(e),
        },
        cli::Cmd::Exec(a) => match join::exec(*a, std::env::var_os("TERM")) {
            Ok(code) => code,
            Err(e) => fail(e),
        },
        cli::Cmd::Kill { name, signal } => match manage::kill(&name, signal) {
            Ok(()) => 0,
            Err(e) => fail(e),
        },
        cli::Cmd::Stop { name, time } => match manage::stop(&name, time) {
            Ok(notice) => {
                if let Some(n) = notice {
                    eprintln!("sandbox: {n}");
                }
                0
            }
            Err(e) => fail(e),
        },
        cli::Cmd::Logs { name, follow } => {
            match manage::logs(&name, follow, &mut std::io::stdout().lock()) {
                Ok(()) => 0,
                Err(e) => fail(e),
            }
        }
    };
    ExitCode::from(code)
}

/// `sandbox images`: the cache's entries, or empty it.
fn images(action: cli::ImagesAction) -> u8 {
    let out = match action {
        cli::ImagesAction::Prune => sandbox::image::prune().map(|n| {
            format!(
                "removed {n} image{} from the cache\n",
                if n == 1 { "" } else { "s" }
            )
        }),
        cli::ImagesAction::List | cli::ImagesAction::Json => sandbox::image::list().map(|l| {
            if action == cli::ImagesAction::Json {
                let v: Vec<_> = l
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "key": e.key, "source": e.source,
                            "bytes": e.bytes, "unpacked": e.unpacked,
                        })
                    })
                    .collect();
                serde_json::Value::from(v).to_string() + "\n"
            } else {
                let mut t = String::new();
                for e in &l {
                    t += &format!(
                        "{:>9}  {}  {}\n",
                        format!("{:.1}M", e.bytes as f64 / (1 << 20) as f64),
                        e.key,
                        e.source
                    );
                }
                let total: u64 = l.iter().map(|e| e.bytes).sum();
                t + &format!(
                    "{} image{}, {:.1}M\n",
                    l.len(),
                    if l.len() == 1 { "" } else { "s" },
                    total as f64 / (1 << 20) as f64
                )
            }
        }),
    };
    match out {
        Ok(text) => print(&text),
        Err(e) => {
            e.report();
            e.exit
        }
    }
}

/// Generated text (`sandbox man`, `sandbox completions`) to stdout.
fn print(text: &str) -> u8 {
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => 0,
        // A reader that stops early is no error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("sandbox: write: stdout: {e}");
            125
        }
    }
}

fn fail(e: error::Error) -> u8 {
    e.report();
    e.exit
}

/// `sandbox run`: notices and errors to stderr as `sandbox: …` lines, the
/// `-v` summary at the end, and the sandbox's status as ours. The sandbox
/// is registered in the state directory (named/state.rs) while it runs, and
/// with `--detach` the launcher goes to the background first.
fn run(args: plan::RunArgs) -> u8 {
    let verbose = args.verbose;
    let program = args.command.first().cloned();
    let asked = args.name.is_some() || args.detach;
    // Without --name or --detach nothing depends on the entry: run anyway,
    // and say why it is missing with -v.
    let unlisted = |e: error::Error| {
        if verbose {
            let e = e.to_string();
            let e = e.trim_start_matches("sandbox: ");
            eprintln!("sandbox: notice: not listed by 'sandbox ps': {e}");
        }
    };
    // A failure before the launch is the run's status too (--status-file).
    let fail_early = |e: error::Error, args: &plan::RunArgs| {
        sandbox::Command::from_args(args.clone()).report_failure(&e);
        fail(e)
    };
    // Made now only when asked for; else once the sandbox runs.
    let mut reg = match state::Registration::reserve(args.name.as_deref(), asked) {
        Ok(r) => Some(r),
        Err(e) if !asked => {
            unlisted(e);
            None
        }
        Err(e) => return fail_early(e, &args),
    };
    let mut daemon = None;
    let detach = args.detach;
    if detach {
        let r = reg.as_ref().expect("registered");
        match state::detach(r) {
            Err(e) => return fail_early(e, &args),
            Ok(state::Detached::Foreground(code)) => {
                if let Some(r) = reg {
                    r.hand_over();
                }
                return code;
            }
            Ok(state::Detached::Daemon(d)) => daemon = Some(d),
        }
    }
    let rootfs = args.rootfs.clone();
    let record = state::Record {
        launcher: std::process::id() as i32,
        command: state::show_args(&args.command),
        // As the status file names it (launch/launcher.rs `network_name`).
        network: if !args.net.hosts.is_empty() {
            "proxy"
        } else if args.share_net {
            "host"
        } else {
            args.net.mode.name()
        }
        .into(),
        detached: args.detach,
        kill_after_ms: args.kill_after.as_millis() as u64,
        cgroup: args.cgroup.any(),
        ..state::Record::default()
    };
    let term = if args.detach {
        None
    } else {
        std::env::var_os("TERM")
    };
    let mut cmd = sandbox::Command::from_args(args);
    cmd.cli(term, std::env::var_os("HOME"))
        .on_notice(|n| eprintln!("sandbox: {n}"));
    let started = cmd.spawn_encoded().and_then(|(child, plan)| {
        if let Some(r) = &mut reg {
            let pid = child.id() as i32;
            let pid_start = procfs::start_time(pid).unwrap_or(0);
            // --detach returns once the set-up is done (exec checks the
            // same itself: before it, the sandbox's root is the host's).
            // (The host mode has no root of its own to wait for.)
            if detach && !child.host_mode() {
                state::wait_confined(pid, pid_start, std::time::Duration::from_secs(10));
            }
            let rec = state::Record {
                pid,
                pid_start,
                launcher_start: procfs::start_time(std::process::id() as i32).unwrap_or(0),
                rootfs: std::fs::canonicalize(&rootfs)
                    .unwrap_or_else(|_| rootfs.into())
                    .to_string_lossy()
                    .into_owned(),
                network: if child.host_mode() {
                    "host".into()
                } else {
                    record.network.clone()
                },
                started: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
                ..record
            };
            // Dropped (and so killed) on failure, when asked for.
            match r.record(&rec, &plan) {
                Err(e) if !asked => unlisted(e),
                other => other?,
            }
        }
        Ok(child)
    });
    let report = match started {
        Ok(mut child) => {
            if let (Some(d), Some(r)) = (&mut daemon, &reg) {
                d.ready(r.name());
            }
            child.wait()
        }
        Err(e) => {
            if let Some(d) = &mut daemon {
                d.fail(&e);
            }
            return fail(e);
        }
    };
    match &report.error {
        Some(e) => match program
            .as_deref()
            .and_then(|p| on_host_hint(e, p, |p| p.is_file()))
        {
            Some(hint) => e.clone().with_hint(hint).report(),
            None => e.report(),
        },
        None if verbose => eprintln!("{}", report.line()),
        None => {}
    }
    drop(reg);
    if let Some(d) = daemon {
        d.finish();
    }
    report.status
}

/// `sandbox run ./rootfs ./job.sh` where ./job.sh is a file of the host,
/// not of the rootfs: the command was not found (127), and the hint says
/// how to bring it in. Only the launcher can tell: the child stage cannot
/// see the host's files.
fn on_host_hint(
    e: &error::Error,
    program: &std::ffi::OsStr,
    is_host_file: impl Fn(&std::path::Path) -> bool,
) -> Option<String> {
    let path = std::path::Path::new(program);
    if e.exit != error::EXIT_NOT_FOUND || !is_host_file(path) {
        return None;
    }
    let shown = path.to_string_lossy();
    // Named as the user named it; a bare name is relative to the cwd.
    let src = if shown.contains('/') {
        shown.to_string()
    } else {
        format!("./{shown}")
    };
    let dst = match path.extension() {
        Some(ext) => format!("/job.{}", ext.to_string_lossy()),
        None => "/job".to_string(),
    };
    Some(format!(
        "{shown} is a file on the host, and the command runs inside the rootfs: \
         bring it in with '--ro-bind {src}:{dst}' and run {dst}"
    ))
}

/// sandbox is rootless by design and makes no attempt to be safe with
/// privileges it did not ask for: installed setuid, setgid or with file
/// capabilities, it refuses to run at all rather than hand a caller a mount
/// namespace with real root behind it. Ref: bubblewrap's setuid mode, and
/// the class of bugs it has had (CVE-2016-8659, CVE-2020-5291)
fn refuse_privilege() -> error::Result<()> {
    if sandbox::started_with_privileges() {
        return Err(error::Error::msg(
            "start",
            "this binary was started with privileges (setuid, setgid or file capabilities); sandbox is rootless and refuses to run so",
        )
        .with_hint("remove them: 'chmod u-s,g-s' and 'setcap -r' on the sandbox binary"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::path::Path;

    #[test]
    fn a_host_file_not_in_the_rootfs_gets_a_bind_hint() {
        let not_found = error::Error::msg("exec", "not found in rootfs ./rootfs")
            .with_exit(error::EXIT_NOT_FOUND);
        let on_host = |p: &Path| p == Path::new("./untrusted.sh") || p == Path::new("tool");
        assert_eq!(
            on_host_hint(&not_found, OsStr::new("./untrusted.sh"), on_host).as_deref(),
            Some(
                "./untrusted.sh is a file on the host, and the command runs inside the rootfs: \
                 bring it in with '--ro-bind ./untrusted.sh:/job.sh' and run /job.sh"
            )
        );
        let h = on_host_hint(&not_found, OsStr::new("tool"), on_host).unwrap();
        assert!(h.ends_with("'--ro-bind ./tool:/job' and run /job"), "{h}");
        // Not on the host either: the child's own hint stands.
        assert_eq!(
            on_host_hint(&not_found, OsStr::new("./other.sh"), on_host),
            None
        );
        // Another failure: no such hint.
        let other = error::Error::msg("exec", "x").with_exit(126);
        assert_eq!(
            on_host_hint(&other, OsStr::new("./untrusted.sh"), on_host),
            None
        );
    }
}
