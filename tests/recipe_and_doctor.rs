//! `make rootfs`'s recipe, run as an ordinary user, and `sandbox doctor`.

mod common;

use std::fs;
use std::path::{Component, Path, PathBuf};

use common::*;

fn recipe(dest: &Path) -> std::process::Output {
    let st = stage();
    let mut c = as_test_user("sh");
    c.arg(st.dir.join("recipe"))
        .arg(dest)
        .env_clear()
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .env("BUSYBOX", st.rootfs.join("bin/busybox"))
        .current_dir(&st.dir);
    c.output().unwrap()
}

/// Every link in the tree, resolved lexically inside it, stays inside.
fn assert_links_stay_inside(root: &Path, dir: &Path, count: &mut usize) {
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let m = fs::symlink_metadata(&p).unwrap();
        if m.file_type().is_symlink() {
            *count += 1;
            let t = fs::read_link(&p).unwrap();
            assert!(
                t.is_relative(),
                "{} -> {} is absolute",
                p.display(),
                t.display()
            );
            let mut depth: Vec<_> = p
                .parent()
                .unwrap()
                .strip_prefix(root)
                .unwrap()
                .components()
                .collect();
            for c in t.components() {
                match c {
                    Component::ParentDir => assert!(
                        depth.pop().is_some(),
                        "{} -> {} climbs out",
                        p.display(),
                        t.display()
                    ),
                    Component::Normal(_) => depth.push(c),
                    _ => {}
                }
            }
            assert!(fs::metadata(&p).is_ok(), "{} dangles", p.display());
        } else if m.is_dir() {
            assert_links_stay_inside(root, &p, count);
        }
    }
}

fn recipe_builds_a_self_contained_tree_as_an_ordinary_user_and_reruns() {
    let dest: PathBuf = stage().dir.join("recipe-out");
    let _ = fs::remove_dir_all(&dest);
    for round in 0..2 {
        let out = recipe(&dest);
        assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
        let mut links = 0;
        assert_links_stay_inside(&dest, &dest, &mut links);
        assert!(links > 100, "only {links} applet links");
        for f in [
            "etc/passwd",
            "etc/group",
            "etc/hosts",
            "etc/sandbox-rootfs",
            "bin/busybox",
        ] {
            assert!(dest.join(f).is_file(), "{f} missing");
        }
        for d in ["proc", "dev", "tmp", "sys", "root"] {
            assert!(dest.join(d).is_dir(), "{d} missing");
        }
    }
    // The tree it made runs.
    let out = run(&[
        "run",
        &dest.display().to_string(),
        "/bin/sh",
        "-c",
        "echo works",
    ]);
    assert_eq!(text(&out.stdout), "works\n", "{}", text(&out.stderr));
}

fn recipe_refuses_to_replace_what_it_did_not_make() {
    let dest = stage().dir.join("not-a-rootfs");
    let _ = fs::remove_dir_all(&dest);
    assert!(as_test_user("mkdir").arg(&dest).status().unwrap().success());
    assert!(as_test_user("touch")
        .arg(dest.join("precious"))
        .status()
        .unwrap()
        .success());
    let out = recipe(&dest);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("refusing to replace"),
        "{}",
        text(&out.stderr)
    );
    assert!(dest.join("precious").exists());
}

fn doctor_reports_each_check_and_exits_0_here() {
    let out = run(&["doctor"]);
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{s}{}", text(&out.stderr));
    for what in [
        "user namespaces:",
        "namespace set-up:",
        "overlay in a user namespace:",
        "clone3:",
        "seccomp:",
        "landlock:",
        "cgroup v2:",
        "pasta:",
    ] {
        let line = s
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what} line in {s}"));
        assert!(line.starts_with("ok ") || line.starts_with("no "), "{line}");
    }
    assert!(
        s.lines()
            .any(|l| l.starts_with("ok   user namespaces: usable")),
        "{s}"
    );
    assert!(s.contains("sandbox run can work here"));
}

/// A host that lets the namespaces be made and refuses a step of their
/// set-up (here pivot_root, with an LSM's EACCES, by the probe's seccomp
/// filter): doctor says which step, the errno, that `sandbox run` takes
/// the host mode, and exits 1. Control: without the filter the line is ok.
fn doctor_names_a_refused_namespace_set_up() {
    let st = stage();
    let out = as_test_user(&st.probe)
        .args(["refuse", "pivot_root"])
        .arg(&st.bin)
        .arg("doctor")
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .current_dir(&st.dir)
        .output()
        .expect("probe refuse");
    let s = text(&out.stdout);
    if !s.contains("ok   user namespaces: usable") {
        skip(
            "doctor_names_a_refused_namespace_set_up",
            "userns",
            &format!(
                "no usable user namespace under the filter here: {s}{}",
                text(&out.stderr)
            ),
        );
        return;
    }
    assert_eq!(out.status.code(), Some(1), "{s}");
    let line = s
        .lines()
        .find(|l| l.contains("namespace set-up:"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(
        line.starts_with(
            "no   namespace set-up: pivot_root in the sandbox's new namespaces: Permission denied"
        ) && line.contains("takes the host mode"),
        "{line}"
    );
    assert!(s.contains("but in the host mode"), "{s}");
    // Control.
    let out = run(&["doctor"]);
    let s = text(&out.stdout);
    assert!(
        s.lines().any(|l| l.starts_with("ok   namespace set-up:")),
        "control: {s}"
    );
}

tests![
    doctor_names_a_refused_namespace_set_up,
    recipe_builds_a_self_contained_tree_as_an_ordinary_user_and_reruns,
    recipe_refuses_to_replace_what_it_did_not_make,
    doctor_reports_each_check_and_exits_0_here,
];
