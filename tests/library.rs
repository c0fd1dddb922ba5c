//! The library, used as a program embeds it: `sandbox::init()` first in
//! `main` (this test's own binary is what the launcher re-execs), then
//! launches from several threads at once.
//!
//! `harness = false`: libtest's main cannot call `sandbox::init()` first.
//! Run as root (as CI is), it re-runs itself as the unprivileged test uid
//! through setpriv, like every isolation test.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use sandbox::{Command, Exit};

const INNER: &str = "SANDBOX_LIBRARY_TEST_ROOTFS";

/// A test: its name and its body, given the rootfs path.
type Case = (&'static str, fn(&str));

fn main() {
    sandbox::init();
    let rootfs = match std::env::var(INNER) {
        Ok(r) => r,
        Err(_) => {
            let st = common::stage();
            if let Some((u, g)) = st.drop_to {
                // Root: the same binary again, as the test uid, on the
                // staged rootfs.
                let me = st.dir.join("library-test");
                std::fs::copy(std::env::current_exe().unwrap(), &me).unwrap();
                std::fs::set_permissions(&me, std::fs::Permissions::from_mode(0o755)).unwrap();
                let status = std::process::Command::new("setpriv")
                    .arg(format!("--reuid={u}"))
                    .arg(format!("--regid={g}"))
                    .arg("--clear-groups")
                    .arg(&me)
                    .env(INNER, &st.rootfs)
                    .status()
                    .unwrap();
                // The run as the test uid printed the results; the stage
                // is this process's to remove.
                common::cleanup();
                std::process::exit(status.code().unwrap_or(1));
            }
            st.rootfs.display().to_string()
        }
    };
    let tests: &[Case] = &[
        (
            "thirty_two_sandboxes_from_eight_threads",
            thirty_two_from_eight_threads,
        ),
        ("spawn_kill_wait", spawn_kill_wait),
        ("status_and_errors", status_and_errors),
        ("timeout_and_notices", timeout_and_notices),
        ("dropping_a_child_kills_it", dropping_a_child_kills_it),
    ];
    // The harness runs until the process exits.
    let rootfs: &'static str = Box::leak(rootfs.into_boxed_str());
    let boxed: Vec<common::harness::Case> = tests
        .iter()
        .map(|(n, f)| (*n, Box::new(move || f(rootfs)) as Box<dyn Fn() + Sync>))
        .collect();
    // One at a time: each checks that this process has no child left.
    common::harness::run(&boxed, true)
}

/// Every process this one started is gone: no child, no zombie.
fn assert_no_children() {
    let mut kids = String::new();
    for t in std::fs::read_dir("/proc/self/task").unwrap() {
        let p = t.unwrap().path().join("children");
        kids += &std::fs::read_to_string(p).unwrap_or_default();
    }
    assert!(kids.trim().is_empty(), "left behind: {kids}");
}

/// 32 launches, 8 threads started together, 4 each: each sandbox has its
/// own hostname and exit status, all succeed, nothing is left.
fn thirty_two_from_eight_threads(rootfs: &str) {
    let go = Arc::new(Barrier::new(8));
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let (go, rootfs) = (go.clone(), rootfs.to_string());
            std::thread::spawn(move || {
                go.wait();
                (0..4u32)
                    .map(|i| {
                        let n = 1 + t * 4 + i;
                        let script =
                            format!("[ \"$(hostname)\" = box{n} ] && [ $$ = 1 ] && exit {n}");
                        let r = Command::new(&rootfs, "/bin/sh")
                            .args(["-c", &script])
                            .hostname(format!("box{n}"))
                            .status();
                        (n, r.map(|r| r.status).map_err(|e| e.to_string()))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in threads {
        for (n, r) in t.join().expect("a launching thread panicked") {
            assert_eq!(r, Ok(n as u8), "sandbox {n}");
            seen.push(n);
        }
    }
    seen.sort();
    assert_eq!(seen, (1..=32).collect::<Vec<_>>());
    assert_no_children();
}

fn spawn_kill_wait(rootfs: &str) {
    let mut child = Command::new(rootfs, "sleep").arg("60").spawn().unwrap();
    assert!(child.id() > 0);
    // Control: it is running.
    assert!(std::path::Path::new(&format!("/proc/{}", child.id())).exists());
    child.kill().unwrap();
    let r = child.wait();
    assert_eq!(r.exit, Some(Exit::Signal(9)), "{r:?}");
    assert_eq!(r.status, 128 + 9);
    assert_no_children();
}

fn status_and_errors(rootfs: &str) {
    let r = Command::new(rootfs, "/bin/sh")
        .args(["-c", "exit 3"])
        .status()
        .unwrap();
    assert_eq!((r.status, r.exit), (3, Some(Exit::Code(3))));
    let e = Command::new(rootfs, "/no/such/command")
        .status()
        .unwrap_err();
    assert_eq!(e.exit, 127, "{e}");
    assert!(
        e.to_string().starts_with("sandbox: exec: /no/such/command"),
        "{e}"
    );
    let e = Command::new("/no/such/rootfs", "true")
        .spawn()
        .err()
        .unwrap();
    assert_eq!(e.exit, 125, "{e}");
    let s = e.to_string();
    assert!(
        s.starts_with("sandbox: ") && s.contains("/no/such/rootfs"),
        "{e}"
    );
    let e = Command::new(rootfs, "true")
        .limit("nofile=lots")
        .spawn()
        .err()
        .unwrap();
    assert_eq!(e.exit, 125, "{e}");
    assert!(
        e.to_string().contains("nofile: \"lots\" is not a number"),
        "{e}"
    );
    assert_no_children();
}

fn timeout_and_notices(rootfs: &str) {
    let heard = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let h = heard.clone();
    let started = Instant::now();
    let r = Command::new(rootfs, "sleep")
        .arg("60")
        .timeout(Duration::from_millis(200))
        .kill_after(Duration::from_millis(200))
        .seccomp(false)
        .on_notice(move |n| h.lock().unwrap().push(n.to_string()))
        .spawn()
        .unwrap()
        .wait();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(r.timed_out, "{r:?}");
    assert_eq!(r.status, sandbox::EXIT_TIMEOUT);
    let heard = heard.lock().unwrap().clone();
    assert!(
        heard
            .iter()
            .any(|n| n.starts_with("warning: --seccomp off")),
        "{heard:?}"
    );
    assert!(
        heard.iter().any(|n| n.starts_with("timed out after 0.2 s")),
        "{heard:?}"
    );
    assert_eq!(heard, r.notices);
    assert_no_children();
}

fn dropping_a_child_kills_it(rootfs: &str) {
    let child = Command::new(rootfs, "sleep").arg("60").spawn().unwrap();
    let pid = child.id();
    drop(child);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert_no_children();
}
