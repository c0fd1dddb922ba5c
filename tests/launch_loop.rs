//! 200 launches in a row leave no process and no mount behind. Alone in
//! its own test binary, so no other test's sandboxes are running meanwhile.

mod common;

use std::fs;

use common::*;

fn processes_of(uid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
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
            let cmd = fs::read_to_string(e.path().join("cmdline"))
                .unwrap_or_default()
                .replace('\0', " ");
            out.push((pid, cmd));
        }
    }
    out
}

fn two_hundred_launches_leave_nothing_behind() {
    let st = stage();
    let marker = format!("loop-marker-{}", std::process::id());
    let mounts_before = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .count();
    let procs_before = processes_of(st.host_uid).len();
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
    let strays: Vec<_> = processes_of(st.host_uid)
        .into_iter()
        .filter(|(_, c)| c.contains(&marker) || c.contains("sleep 30"))
        .collect();
    assert!(strays.is_empty(), "left behind: {strays:?}");
    assert_eq!(processes_of(st.host_uid).len(), procs_before);
    assert_eq!(
        fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .count(),
        mounts_before
    );
}

tests![two_hundred_launches_leave_nothing_behind,];
