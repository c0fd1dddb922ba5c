//! The host's root as ROOTFS (`sandbox run / CMD`), and `--tmpfs`: the
//! way bubblewrap is used for build tools and coding agents
//! (`bwrap --ro-bind / / --tmpfs ~ --bind ./project ./project`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

/// A directory on the host outside /tmp (the sandbox has its own /tmp, so
/// nothing of the stage under /tmp shows inside a `/` root), owned by the
/// test uid, removed when dropped.
struct HostDir(PathBuf);

impl HostDir {
    fn new(test: &str) -> Option<HostDir> {
        let base = Path::new("/var/tmp");
        if !base.is_dir() {
            skip(
                test,
                "host-root",
                "no /var/tmp on this machine for a directory outside the sandbox's /tmp",
            );
            return None;
        }
        let dir = base.join(format!("sandbox-tests-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let ok = as_test_user("mkdir")
            .arg("-p")
            .arg(dir.join("home/.ssh"))
            .arg(dir.join("home/project"))
            .arg(dir.join("other"))
            .status()
            .unwrap()
            .success();
        assert!(ok, "mkdir under /var/tmp as the test uid");
        let secret = dir.join("home/.ssh/id_rsa");
        let ok = as_test_user("sh")
            .arg("-c")
            .arg("echo SECRET-KEY > \"$0\"")
            .arg(&secret)
            .status()
            .unwrap()
            .success();
        assert!(ok, "write the fake key");
        Some(HostDir(dir))
    }

    fn path(&self, rel: &str) -> String {
        self.0.join(rel).display().to_string()
    }
}

impl Drop for HostDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn sh_in(dir: Option<&str>, opts: &[&str], script: &str) -> std::process::Output {
    let mut args: Vec<&str> = vec!["run"];
    args.extend(opts);
    args.extend(["/", "/bin/sh", "-c", script]);
    let mut c = sandbox(&args);
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.output().expect("run sandbox")
}

/// `--tmpfs ~ --bind ./project`: the key in the home is gone, the project
/// is writable and its writes reach the host, nothing else of the host is
/// writable, and what is written to the empty home stays in the sandbox.
fn host_root_hides_the_home_and_writes_only_the_project() {
    let Some(d) = HostDir::new("home") else {
        return;
    };
    let home = d.path("home");
    let key = d.path("home/.ssh/id_rsa");

    // Control: with `/` as root and no --tmpfs, the key is readable (the
    // probe works, and `/` shows the host's files).
    let out = sh_in(None, &[], &format!("cat {key}"));
    assert_eq!(text(&out.stdout), "SECRET-KEY\n", "{}", text(&out.stderr));
    // Control: the test uid may write to `other` on the host, so only the
    // sandbox's read-only root can stop the write below.
    let ok = as_test_user("touch")
        .arg(d.path("other/from-host"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "the test uid can write to {}", d.path("other"));

    let script = format!(
        "cat {key} 2>&1 || echo key-unreadable; \
         ls -A {home}; \
         echo built > out && echo project-written; \
         touch {other}/x 2>&1 || echo other-refused; \
         touch {home}/in-home && echo home-written",
        other = d.path("other"),
    );
    // `--bind ./project` without DST: the same path inside.
    let out = sh_in(
        Some(&home),
        &[
            "--tmpfs",
            &home,
            "--bind",
            "./project",
            "--chdir",
            &d.path("home/project"),
        ],
        &script,
    );
    let o = text(&out.stdout);
    assert!(out.status.success(), "{o}{}", text(&out.stderr));
    assert!(
        o.contains("No such file or directory\nkey-unreadable\n"),
        "{o}"
    );
    assert!(
        o.contains("\nproject\nproject-written\n"),
        "home shows only the project: {o}"
    );
    assert!(o.contains("Read-only file system\nother-refused\n"), "{o}");
    assert!(o.ends_with("home-written\n"), "{o}");
    assert_eq!(
        fs::read_to_string(d.path("home/project/out")).unwrap(),
        "built\n"
    );
    assert!(!Path::new(&d.path("other/x")).exists());
    assert!(!Path::new(&d.path("home/in-home")).exists());
    assert_eq!(
        fs::read_to_string(&key).unwrap(),
        "SECRET-KEY\n",
        "the key on the host is untouched"
    );
}

/// With `/` as root the sandbox still has a fresh /proc, the minimal /dev,
/// its own /tmp, an empty writable /run and no /sys unless --sys.
fn host_root_gets_its_own_proc_dev_tmp_and_run() {
    let stage_dir = stage().dir.display().to_string();
    assert!(
        Path::new(&stage_dir).is_dir(),
        "control: the stage is on the host's /tmp"
    );
    let script = format!(
        "echo pid=$$; ls /proc | grep -c '^[0-9]'; ls /dev | tr '\\n' ' '; echo; \
         test -e {stage_dir} && echo stage-visible; ls -A /tmp | wc -l; \
         ls -A /run | wc -l; touch /run/x && echo run-writable; ls -A /sys | wc -l"
    );
    let out = sh_in(None, &[], &script);
    let o = text(&out.stdout);
    assert!(out.status.success(), "{o}{}", text(&out.stderr));
    let lines: Vec<&str> = o.lines().collect();
    assert_eq!(lines[0], "pid=1", "{o}");
    let pids: u32 = lines[1].parse().unwrap();
    assert!(
        pids <= 3,
        "the sandbox's /proc shows only its own processes: {o}"
    );
    let dev: Vec<&str> = lines[2].split_whitespace().collect();
    for name in &dev {
        assert!(
            [
                "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout",
                "tty", "urandom", "zero", "console"
            ]
            .contains(name),
            "/dev/{name} is not in the minimal /dev: {o}"
        );
    }
    assert!(!o.contains("stage-visible"), "{o}");
    // /run is covered only where the host has one (the kernel-matrix
    // guest has none, and nothing can be made under a read-only `/`).
    if Path::new("/run").is_dir() {
        assert_eq!(&lines[3..], ["0", "0", "run-writable", "0"], "{o}");
    } else {
        assert_eq!(&lines[3..], ["0", "0", "0"], "{o}");
    }
    let host_run = fs::read_dir("/run").map(|d| d.count()).unwrap_or(0);
    if host_run == 0 {
        eprintln!("note: the host's /run is empty here; the empty /run inside shows less");
    }

    // --sys mounts a fresh, read-only sysfs over the host's.
    let out = sh_in(
        None,
        &["--sys"],
        "test -d /sys/kernel && echo sys; touch /sys/x 2>&1",
    );
    let o = text(&out.stdout);
    assert!(o.starts_with("sys\n"), "{o}{}", text(&out.stderr));
    assert!(o.contains("Read-only file system"), "{o}");
}

/// `--tmpfs` on any root: empty, writable even where the root is not (so
/// Landlock allows it), capped at its size, and mounted in order with the
/// binds.
fn tmpfs_is_empty_writable_capped_and_ordered() {
    let root = rootfs_arg();
    let shown = |out: &std::process::Output| format!("{}{}", text(&out.stdout), text(&out.stderr));
    // Control: a read-only root refuses the same write.
    let out = run(&[
        "run",
        "--read-only",
        &root,
        "/bin/sh",
        "-c",
        "echo a > /etc/x 2>&1 || echo refused",
    ]);
    assert!(text(&out.stdout).contains("refused"), "{}", shown(&out));
    let out = run(&[
        "run",
        "--read-only",
        "--tmpfs",
        "/etc:1M",
        &root,
        "/bin/sh",
        "-c",
        "ls -A /etc | wc -l; head -c 100000 /dev/zero > /etc/small && echo small-ok; \
         head -c 2000000 /dev/zero > /etc/big || echo big-refused",
    ]);
    assert_eq!(
        text(&out.stdout),
        "0\nsmall-ok\nbig-refused\n",
        "{}",
        shown(&out)
    );

    // Order: a bind after a tmpfs shows on it; a tmpfs after a bind covers
    // part of it.
    let dir = test_dir("tmpfs-order");
    let ok = as_test_user("mkdir")
        .arg(dir.join("cache"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let ok = as_test_user("touch")
        .arg(dir.join("cache/old"))
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let src = dir.display().to_string();
    let out = run(&[
        "run",
        "--tmpfs",
        "/data",
        "--bind",
        &format!("{src}:/data/in"),
        "--tmpfs",
        "/data/in/cache",
        &root,
        "/bin/sh",
        "-c",
        "ls -A /data; ls -A /data/in/cache | wc -l",
    ]);
    assert_eq!(text(&out.stdout), "in\n0\n", "{}", shown(&out));
    assert!(dir.join("cache/old").exists());
}

/// With `/` as ROOTFS the command keeps the caller's HOME (what
/// `--tmpfs ~` covers) instead of the host passwd's /root for uid 0, and
/// `--setenv HOME=` still wins. Control: a rootfs directory gives the
/// HOME of its own /etc/passwd, whatever the caller's is.
fn host_root_keeps_the_callers_home() {
    let Some(d) = HostDir::new("keep-home") else {
        return;
    };
    let home = d.path("home");
    let home_of = |opts: &[&str], rootfs: &str| {
        let mut a: Vec<&str> = vec!["run"];
        a.extend(opts);
        a.extend([
            rootfs,
            "/bin/sh",
            "-c",
            "echo \"$HOME\"; touch ~/w && echo writable",
        ]);
        let out = sandbox(&a).env("HOME", &home).output().unwrap();
        text(&out.stdout)
    };
    assert_eq!(
        home_of(&["--tmpfs", &home], "/"),
        format!("{home}\nwritable\n")
    );
    assert_eq!(home_of(&["--setenv", "HOME=/tmp"], "/"), "/tmp\nwritable\n");
    let root = rootfs_arg();
    let control = home_of(&[], &root);
    assert!(control.starts_with("/root\n"), "control: {control}");
}

/// `/` as ROOTFS is read-only, and so is every mount under it: a writable
/// filesystem mounted on the host below the root (a tmpfs here, a data
/// disk or /home in life) is read-only inside too. Control: the test uid
/// writes to it on the host; bound with --bind, the sandbox does too.
fn host_submounts_are_read_only_under_a_host_root() {
    let test = "host_submounts_are_read_only_under_a_host_root";
    if stage().drop_to.is_none() {
        return skip(test, "root", "mounting a filesystem on the host needs root");
    }
    let Some(d) = HostDir::new("submount") else {
        return;
    };
    let mnt = d.path("other");
    let mounted = std::process::Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "mode=1777,size=1m",
            "sbx-test-submount",
            &mnt,
        ])
        .status()
        .unwrap()
        .success();
    assert!(mounted, "mount a tmpfs on {mnt}");
    struct Unmount(String);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let ok = as_test_user("touch")
        .arg(format!("{mnt}/from-host"))
        .status()
        .unwrap()
        .success();
    assert!(ok, "control: the test uid writes to {mnt} on the host");
    let out = sh_in(
        None,
        &[],
        &format!("ls {mnt}; touch {mnt}/inside 2>&1; true"),
    );
    let o = text(&out.stdout);
    assert!(
        o.contains("from-host"),
        "the submount is not the host's: {o}"
    );
    assert!(
        o.contains("Read-only file system"),
        "{o}{}",
        text(&out.stderr)
    );
    assert!(!Path::new(&mnt).join("inside").exists());
    // Control: bound writable, the same touch lands.
    let out = sh_in(None, &["--bind", &mnt], &format!("touch {mnt}/inside"));
    assert!(out.status.success(), "control: {}", text(&out.stderr));
    assert!(Path::new(&mnt).join("inside").exists(), "control");
}

tests![
    host_root_hides_the_home_and_writes_only_the_project,
    host_submounts_are_read_only_under_a_host_root,
    host_root_gets_its_own_proc_dev_tmp_and_run,
    tmpfs_is_empty_writable_capped_and_ordered,
    host_root_keeps_the_callers_home,
];
