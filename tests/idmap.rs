//! `--id-map`: subordinate ids through newuidmap/newgidmap. A tree made
//! by the test user's range (as `mmdebstrap --mode=unshare` makes one)
//! shows its own owners, a non-root uid inside writes its own files, and
//! `auto` picks the mapping by the tree's owner.
//!
//! The range comes from tests/common/subids.rs (made for the test uid when
//! the suite runs as root); without one the tests skip.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::subids::range;
use common::*;

/// A copy of the rootfs owned by the range: its root is the range's first
/// id (0 inside), /home/u its 1001st (1000 inside). Only root can make it.
fn range_tree(name: &str) -> Option<PathBuf> {
    let (start, _) = range().ok()?;
    let st = stage();
    st.drop_to?;
    let dst = st.dir.join(format!("range-{name}"));
    let _ = fs::remove_dir_all(&dst);
    let ok = Command::new("cp")
        .arg("-a")
        .arg(&st.rootfs)
        .arg(&dst)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    fs::create_dir_all(dst.join("home/u")).unwrap();
    let own = |p: &Path, id: u32, recursive: bool| {
        let mut c = Command::new("chown");
        if recursive {
            c.arg("-R");
        }
        assert!(c
            .arg(format!("{id}:{id}"))
            .arg(p)
            .status()
            .unwrap()
            .success());
    };
    own(&dst, start, true);
    own(&dst.join("home/u"), start + 1000, false);
    Some(dst)
}

fn need(test: &str) -> Option<PathBuf> {
    if let Err(why) = range() {
        skip(test, "subuid", &why);
        return None;
    }
    match range_tree(test) {
        Some(t) => Some(t),
        None => {
            skip(
                test,
                "subuid",
                "only a root suite can make a tree owned by a subordinate range",
            );
            None
        }
    }
}

fn sh(args: &[&str], tree: &Path, script: &str) -> std::process::Output {
    let mut a: Vec<String> = vec!["run".into()];
    a.extend(args.iter().map(|s| s.to_string()));
    a.push(tree.display().to_string());
    a.extend(["/bin/sh".into(), "-c".into(), script.into()]);
    run(&a)
}

fn a_tree_made_by_the_range_shows_its_owners() {
    let Some(tree) = need("a_tree_made_by_the_range_shows_its_owners") else {
        return;
    };
    let script = "stat -c '%u:%g %n' /bin /etc/passwd /home/u";
    let out = sh(&["--id-map", "subuid"], &tree, script);
    assert_eq!(
        text(&out.stdout),
        "0:0 /bin\n0:0 /etc/passwd\n1000:1000 /home/u\n",
        "{}",
        text(&out.stderr)
    );
    // Control: with the single id, the same tree is nobody's.
    let out = sh(&["--id-map", "single"], &tree, script);
    assert_eq!(
        text(&out.stdout),
        "65534:65534 /bin\n65534:65534 /etc/passwd\n65534:65534 /home/u\n"
    );
    // Root inside may write anywhere in the throwaway root now; with the
    // single id it could not (the files belong to nobody).
    let out = sh(&[], &tree, "echo x >> /etc/passwd && echo wrote");
    assert_eq!(text(&out.stdout), "wrote\n", "{}", text(&out.stderr));
    let out = sh(&["--id-map", "single"], &tree, "echo x >> /etc/passwd");
    // The shell's own EACCES (exit 1 or 2), not a launch that failed.
    let err = text(&out.stderr);
    assert!(matches!(out.status.code(), Some(1 | 2)), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    // The tree on disk keeps its owners (nothing was written through).
    let start = range().unwrap().0;
    assert_eq!(fs::metadata(tree.join("etc/passwd")).unwrap().uid(), start);
}

fn a_non_root_uid_inside_writes_its_own_files() {
    let Some(tree) = need("a_non_root_uid_inside_writes_its_own_files") else {
        return;
    };
    let out = sh(
        &["--uid", "1000", "--gid", "1000"],
        &tree,
        "touch /home/u/mine && stat -c '%u:%g' /home/u/mine && id -u && cat /proc/self/uid_map",
    );
    let (start, count) = range().unwrap();
    let o = text(&out.stdout);
    assert!(
        o.starts_with("1000:1000\n1000\n"),
        "{o}{}",
        text(&out.stderr)
    );
    // No nested user namespace: the map seen is the sandbox's own.
    let first = o.lines().nth(2).unwrap_or("");
    let f: Vec<&str> = first.split_whitespace().collect();
    assert_eq!(f, ["0", &start.to_string(), &count.to_string()], "{o}");
    // Control: the same uid may not write root's files.
    let out = sh(&["--uid", "1000", "--gid", "1000"], &tree, "touch /etc/x");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Permission denied"));
    // The host sees the range's id on what was written through.
    let out = sh(
        &["--rw", "--uid", "1000", "--gid", "1000"],
        &tree,
        "touch /home/u/through",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let m = fs::metadata(tree.join("home/u/through")).unwrap();
    assert_eq!((m.uid(), m.gid()), (start + 1000, start + 1000));
}

fn auto_picks_the_mapping_by_the_trees_owner() {
    let Some(tree) = need("auto_picks_the_mapping_by_the_trees_owner") else {
        return;
    };
    let map = |root: &Path| {
        let out = sh(&[], root, "cat /proc/self/uid_map");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    let (start, count) = range().unwrap();
    let host = stage().host_uid;
    assert_eq!(
        map(&tree),
        [format!("0 {start} {count}"), format!("{count} {host} 1")]
    );
    // The BusyBox tree is the caller's: the single id, as always.
    assert_eq!(map(&stage().rootfs), [format!("0 {host} 1")]);
    // Asked for, subuid maps a caller's tree podman's way: 0 is the caller.
    let out = sh(
        &["--id-map", "subuid"],
        &stage().rootfs,
        "cat /proc/self/uid_map",
    );
    let lines: Vec<String> = text(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(lines, [format!("0 {host} 1"), format!("1 {start} {count}")]);
}

fn ids_outside_the_range_and_missing_ranges_are_125() {
    let Some(tree) = need("ids_outside_the_range_and_missing_ranges_are_125") else {
        return;
    };
    let (_, count) = range().unwrap();
    let out = sh(&["--uid", &(count + 1).to_string()], &tree, "true");
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("outside the ids mapped"));
    // Another uid, with no range at all, asking for subuid.
    let other = stage().host_uid + 1;
    let out = Command::new("setpriv")
        .arg(format!("--reuid={other}"))
        .arg(format!("--regid={other}"))
        .args(["--clear-groups", "--"])
        .arg(&stage().bin)
        .args(["run", "--id-map", "subuid"])
        .arg(&stage().rootfs)
        .arg("true")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(err.contains("no subordinate id range"), "{err}");
    assert!(err.contains("usermod --add-subuids"), "{err}");
    // doctor names the test user's range and the helpers.
    let doctor = text(&run(&["doctor"]).stdout);
    let (start, _) = range().unwrap();
    assert!(
        doctor.contains(&format!("/etc/subuid {start}-")) && doctor.contains("newuidmap at"),
        "{doctor}"
    );
}

tests![
    a_tree_made_by_the_range_shows_its_owners,
    a_non_root_uid_inside_writes_its_own_files,
    auto_picks_the_mapping_by_the_trees_owner,
    ids_outside_the_range_and_missing_ranges_are_125,
];
