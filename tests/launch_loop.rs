//! 200 launches in a row leave no process and no mount behind. Alone in
//! its own test binary, so no other test's sandboxes are running meanwhile;
//! what else of the same uid or on the host's mount table comes and goes
//! (an ordinary user's session, other programs) is not counted.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::time::{Duration, Instant};

use common::*;

/// The pids of `uid`'s processes.
fn pids_of(uid: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let owner = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().next()?.parse::<u32>().ok());
        if owner == Some(uid) {
            out.insert(pid);
        }
    }
    out
}

/// What a launch may have left behind: a process of `uid` not there
/// `before` that names this stage (a launcher or its guard: the binary and
/// the rootfs are in it), is a child stage, or carries the marker or the
/// command's `sleep 30`. Other processes of the uid come and go on their
/// own (an ordinary user's session, the previous test binary's last
/// exits, sandboxes of other stages), so they are not counted.
fn left_behind(uid: u32, before: &BTreeSet<u32>, marker: &str) -> Vec<(u32, String)> {
    let stage_dir = stage().dir.display().to_string();
    pids_of(uid)
        .difference(before)
        .filter_map(|&pid| {
            let cmd = fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .ok()?
                .replace('\0', " ");
            let ours = cmd.contains(&stage_dir)
                || cmd.starts_with("sandbox child")
                || cmd.contains(marker)
                || cmd.contains("sleep 30");
            ours.then_some((pid, cmd))
        })
        .collect()
}

/// The host's mounts, as mountinfo lines.
fn mounts() -> BTreeSet<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// Waits (bounded) until `f` holds.
fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn two_hundred_launches_leave_nothing_behind() {
    let st = stage();
    let marker = format!("loop-marker-{}", std::process::id());
    let mounts_before = mounts();
    let before = pids_of(st.host_uid);
    for i in 0..200 {
        // Each launch also starts a background child that outlives nothing.
        let out = run(&[
            "run",
            &rootfs_arg(),
            "/bin/sh",
            "-c",
            &format!("sleep 30 & echo {i}"),
            &marker,
        ]);
        assert_eq!(
            text(&out.stdout),
            format!("{i}\n"),
            "launch {i}: {}",
            text(&out.stderr)
        );
        assert!(out.status.success());
    }
    let strays = left_behind(st.host_uid, &before, &marker);
    assert!(strays.is_empty(), "left behind: {strays:?}");
    // No mount of the stage (the rootfs is in it) appeared on the host;
    // the host's other mounts may come and go meanwhile.
    let stage_dir = st.dir.display().to_string();
    let new_mounts: Vec<String> = mounts()
        .difference(&mounts_before)
        .filter(|l| l.contains(&stage_dir))
        .cloned()
        .collect();
    assert!(new_mounts.is_empty(), "{new_mounts:?}");
    // Control: a sandbox still running is seen (its launcher, guard and
    // PID 1), and once it is killed, it is gone.
    let mut running = sandbox(["run", &rootfs_arg(), "/bin/sh", "-c", "exec sleep 30"])
        .spawn()
        .unwrap();
    eventually("control: a running sandbox is seen", || {
        left_behind(st.host_uid, &before, &marker).len() >= 2
    });
    running.kill().unwrap();
    running.wait().unwrap();
    eventually("control: the killed sandbox is gone", || {
        left_behind(st.host_uid, &before, &marker).is_empty()
    });
}

tests![two_hundred_launches_leave_nothing_behind,];
