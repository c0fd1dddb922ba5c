//! An error inside sandbox-oci's container process (`sandbox-oci init`)
//! reaches the user once: one line on stderr, one record in the json
//! `--log`, whether it comes before the container is ready (carried to
//! `create` on init's socket) or after `start` let it go (carried to
//! `start` on the exec FIFO). Both are channel.rs error frames, so the
//! path and the reason arrive as init had them.

mod common;

use std::path::Path;

use common::oci::*;
use common::*;
use serde_json::{json, Value};

/// The error records of a json log, and the lines of stderr that are ours.
fn told(stderr: &[u8], log: &Path) -> (Vec<String>, Vec<String>) {
    let lines = text(stderr)
        .lines()
        .filter(|l| l.starts_with("sandbox: "))
        .map(String::from)
        .collect();
    let records = read_out(log)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["level"] == "error")
        .map(|r| r["msg"].as_str().unwrap().to_string())
        .collect();
    (lines, records)
}

/// `sandbox-oci --log L --log-format json ARGS…`, L named after `id`.
fn logged(b: &Bundle, id: &str, args: &[&str]) -> (std::process::Output, std::path::PathBuf) {
    let log = b.dir.join(format!("{id}.log"));
    let log_arg = log.display().to_string();
    let all: Vec<&str> = ["--log", &log_arg, "--log-format", "json"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    (b.out(&all), log)
}

/// `run` of the bundle, logged.
fn run_logged(b: &Bundle, id: &str) -> (std::process::Output, std::path::PathBuf) {
    b.write();
    logged(b, id, &["run", "--bundle", &b.bundle_arg(), id])
}

/// Before ready: a missing program (runc's words, which podman maps to
/// 127) and a mount of a filesystem type the kernel lacks fail `run` with
/// one stderr line and one log record, the same text.
fn a_failure_before_ready_is_told_once() {
    let b = bundle("err-missing", &["/nonexistent"]);
    let (o, log) = run_logged(&b, "m1");
    assert_eq!(o.status.code(), Some(1));
    let (lines, records) = told(&o.stderr, &log);
    assert_eq!(
        lines,
        ["sandbox: exec: \"/nonexistent\": stat /nonexistent: no such file or directory"],
        "{}",
        text(&o.stderr)
    );
    assert_eq!(records, lines);
    assert!(!b.root.join("m1").exists(), "state left behind");

    let mut b = bundle("err-mount", &["/bin/true"]);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/mnt", "type": "nosuchfs", "source": "none"}));
    let (o, log) = run_logged(&b, "b1");
    assert_eq!(o.status.code(), Some(1));
    let (lines, records) = told(&o.stderr, &log);
    assert_eq!(lines.len(), 1, "{}", text(&o.stderr));
    assert!(
        lines[0].starts_with("sandbox: mount nosuchfs: /mnt")
            && lines[0].ends_with("No such device"),
        "{}",
        lines[0]
    );
    assert_eq!(records, lines);
}

/// After `start`: a cwd that does not exist fails the chdir between the
/// FIFO and the exec. `run` prints it once (the container's process, whose
/// stderr is run's, leaves it to `start`) and logs it once, with its path;
/// the failed container is gone. With `create` and `start` apart, it is
/// `start` that tells it, and create's stderr (which the process keeps)
/// does not have it.
///
/// Control: where nobody else can tell (no /proc in the container, so
/// the process cannot open the FIFO and ends once ready, before any
/// `start`), the process's own line does reach the same stderr, run's
/// and create's file: those probes see what the process prints.
fn a_failure_after_start_is_told_once_by_start() {
    let want = "sandbox: chdir to the process's cwd: /nonexistent: No such file or directory";
    let mut b = bundle("err-cwd", &["/bin/true"]);
    b.config["process"]["cwd"] = json!("/nonexistent");
    let (o, log) = run_logged(&b, "c1");
    assert_eq!(o.status.code(), Some(1));
    let (lines, records) = told(&o.stderr, &log);
    assert_eq!(lines, [want], "{}", text(&o.stderr));
    assert_eq!(records, lines);
    assert!(
        !b.root.join("c1").exists(),
        "a failed run left its container"
    );

    let _ = b.create("c2");
    let (o, log) = logged(&b, "c2-start", &["start", "c2"]);
    assert_eq!(o.status.code(), Some(1));
    let (lines, records) = told(&o.stderr, &log);
    assert_eq!(lines, [want], "{}", text(&o.stderr));
    assert_eq!(records, lines);
    let create_err = read_out(&b.dir.join("c2.err"));
    assert!(!create_err.contains("chdir"), "told twice: {create_err}");
    assert!(b.out(&["delete", "--force", "c2"]).status.success());

    // Control.
    let fifo_err = "sandbox: open the exec fifo: ";
    let mut b = bundle("err-noproc", &["/bin/true"]);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["type"] != "proc");
    b.config["linux"]["maskedPaths"] = json!([]);
    b.config["linux"]["readonlyPaths"] = json!([]);
    let (o, _) = run_logged(&b, "n1");
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    assert_eq!(err.matches(fifo_err).count(), 1, "{err}");
    let _ = b.create("n2");
    eventually("the process's end", || b.state("n2")["status"] == "stopped");
    let create_err = read_out(&b.dir.join("n2.err"));
    assert_eq!(create_err.matches(fifo_err).count(), 1, "{create_err}");
    assert!(b.out(&["delete", "--force", "n2"]).status.success());
}

tests![
    a_failure_before_ready_is_told_once,
    a_failure_after_start_is_told_once_by_start,
];
