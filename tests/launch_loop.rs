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
    // Other programs of the machine (other test binaries, as the same uid)
    // start processes and mount meanwhile: what is looked for is ours, by
    // the marker every launch and its background child carry, and the
    // stage's paths in the host's mount table.
    let ours = |info: &str| {
        info.lines()
            .filter(|l| l.contains(&st.dir.display().to_string()))
            .count()
    };
    let mounts_before = ours(&fs::read_to_string("/proc/self/mountinfo").unwrap());
    for i in 0..200 {
        // Each launch also starts a background child that outlives nothing.
        let out = run(&[
            "run",
            &rootfs_arg(),
            "/bin/sh",
            "-c",
            &format!("sh -c 'sleep 30; true' \"$0\" & echo {i}"),
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
        .filter(|(_, c)| c.contains(&marker))
        .collect();
    assert!(strays.is_empty(), "left behind: {strays:?}");
    assert_eq!(
        ours(&fs::read_to_string("/proc/self/mountinfo").unwrap()),
        mounts_before,
        "a mount of the stage was left on the host"
    );
    // Control: the marker is seen on a live child, so the filter above
    // would have found a stray.
    let mut live = as_test_user("sh")
        .args(["-c", "sleep 30; true", &marker])
        .spawn()
        .unwrap();
    // (Once setpriv has become the test uid: polled, 10 s at most.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let seen = loop {
        if processes_of(st.host_uid)
            .iter()
            .any(|(_, c)| c.contains(&marker))
        {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let _ = live.kill();
    let _ = live.wait();
    assert!(
        seen,
        "control: the marker is not in a process's command line"
    );
}

tests![two_hundred_launches_leave_nothing_behind,];
