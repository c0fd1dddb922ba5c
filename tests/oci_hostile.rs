//! Hostile images against sandbox-oci and `sandbox run oci:` (issue 23,
//! findings 5 and 7): an /etc/passwd that would hang or bloat the
//! runtime, mount points behind symlinks out of the rootfs (static, and
//! swapped while the runtime works), a /dev/null that is not the null
//! device used for masks, and image layout files that are FIFOs or
//! devices. Each attack must fail; each has a control that shows the
//! probe sees the thing it looks for.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::image::*;
use common::oci::*;
use common::*;
use serde_json::json;

/// As the test user, in `dir`: `sh -c CMD`, which must succeed.
fn user_sh(cmd: &str) {
    let s = as_test_user("/bin/sh").arg("-c").arg(cmd).status().unwrap();
    assert!(s.success(), "{cmd}");
}

/// A bundle on a private rootfs copy, whose /etc/passwd is what `attack`
/// makes of it (a shell command run with $P the file's host path), with
/// no mask over /etc/passwd and no HOME in the environment.
fn passwd_bundle(name: &str, attack: &str, args: &[&str]) -> Bundle {
    let rootfs = private_rootfs(&format!("hostile-{name}"));
    let p = rootfs.join("etc/passwd");
    user_sh(&format!("P='{}'; rm -f \"$P\"; {attack}", p.display()));
    let mut b = bundle(name, args);
    b.config["root"]["path"] = json!(rootfs);
    b.config["linux"]["maskedPaths"] = json!(["/proc/kcore"]);
    b
}

const HOME_PROBE: &[&str] = &["/bin/sh", "-c", "echo \"HOME=$HOME\""];

/// `sandbox-oci run` of `b` within 30 s (Bundle::out panics past it):
/// its stdout, asserting success.
fn run_ok_within(b: &Bundle, id: &str) -> String {
    b.write();
    let start = Instant::now();
    let o = b.out(&["run", "--bundle", &b.bundle_arg(), id]);
    assert!(o.status.success(), "{id}: {}", text(&o.stderr));
    eprintln!("{id}: {:?}", start.elapsed());
    text(&o.stdout)
}

/// HOME as `exec` into a running container of `b` sees it.
fn exec_home(b: &Bundle, id: &str) -> String {
    let (_pid, _) = b.create(id);
    assert!(b.out(&["start", id]).status.success());
    let o = b.out(&["exec", id, "/bin/sh", "-c", "echo \"HOME=$HOME\""]);
    let _ = b.out(&["delete", "--force", id]);
    assert!(o.status.success(), "exec: {}", text(&o.stderr));
    text(&o.stdout)
}

/// Attack: /etc/passwd a FIFO nobody writes. `create` (through `run`)
/// and `exec` used to wait on it forever; now both finish within the
/// bound with HOME=/ (runc's default when passwd has no home). Control:
/// a normal /etc/passwd's home is honoured, by create and exec alike.
fn a_passwd_fifo_hangs_neither_create_nor_exec() {
    let b = passwd_bundle("pw-fifo", "mkfifo \"$P\"", HOME_PROBE);
    assert_eq!(run_ok_within(&b, "pf1"), "HOME=/\n");
    let b = passwd_bundle("pw-fifo-exec", "mkfifo \"$P\"", &["sleep", "60"]);
    assert_eq!(exec_home(&b, "pf2"), "HOME=/\n");

    let normal = "printf 'root:x:0:0:root:/home/probe:/bin/sh\\n' > \"$P\"";
    let c = passwd_bundle("pw-normal", normal, HOME_PROBE);
    assert_eq!(run_ok_within(&c, "pn1"), "HOME=/home/probe\n", "control");
    let c = passwd_bundle("pw-normal-exec", normal, &["sleep", "60"]);
    assert_eq!(exec_home(&c, "pn2"), "HOME=/home/probe\n", "control");
}

/// Attack: /etc/passwd a link to /dev/zero (which grew the runtime until
/// the OOM killer came), or a sparse file of 4 GiB. Both complete within
/// the bound, HOME=/. Control as above: the probe reads a real passwd.
fn a_passwd_of_zeros_or_gigabytes_is_not_read() {
    let b = passwd_bundle("pw-zero", "ln -s /dev/zero \"$P\"", HOME_PROBE);
    assert_eq!(run_ok_within(&b, "pz1"), "HOME=/\n");
    let b = passwd_bundle("pw-zero-exec", "ln -s /dev/zero \"$P\"", &["sleep", "60"]);
    assert_eq!(exec_home(&b, "pz2"), "HOME=/\n");
    // A home line first: only a reader that reads it all would find it.
    let huge = "printf 'root:x:0:0:root:/home/huge:/bin/sh\\n' > \"$P\"; truncate -s 4G \"$P\"";
    let b = passwd_bundle("pw-huge", huge, HOME_PROBE);
    assert_eq!(run_ok_within(&b, "ph1"), "HOME=/\n");

    let normal = "printf 'root:x:0:0:root:/home/probe:/bin/sh\\n' > \"$P\"";
    let c = passwd_bundle("pw-normal2", normal, HOME_PROBE);
    assert_eq!(run_ok_within(&c, "pn3"), "HOME=/home/probe\n", "control");
}

fn is_empty_dir(p: &Path) -> bool {
    fs::read_dir(p).unwrap().next().is_none()
}

/// A path on the host, as a relative link from the rootfs's top climbs
/// to it: enough `..` to reach / from anywhere under /tmp.
fn climbing(to: &Path) -> PathBuf {
    Path::new("../../../../../../../../..").join(to.strip_prefix("/").unwrap())
}

/// Attack: mount destinations that do not exist yet, under a symlink out
/// of the rootfs, absolute (/abs -> the outside directory) and relative
/// (/up -> ../../…/outside), for a tmpfs (a directory to make) and a file
/// bind (a file to make). Nothing appears outside; the mounts land where
/// the links resolve inside the rootfs. Control: the same destinations
/// under a real directory are made and mounted there.
fn mount_points_behind_links_out_of_the_rootfs_are_made_inside() {
    let rootfs = private_rootfs("hostile-links");
    let outside = test_dir("hostile-outside");
    let src = test_dir("hostile-src");
    fs::write(src.join("f"), "bound\n").unwrap();
    user_sh(&format!(
        "ln -s '{}' '{}/abs' && ln -s '{}' '{}/up' && mkdir '{}/inside'",
        outside.display(),
        rootfs.display(),
        climbing(&outside).display(),
        rootfs.display(),
        rootfs.display()
    ));
    let mut b = bundle(
        "links",
        &[
            "/bin/sh",
            "-c",
            "cat /abs/f /up/f /inside/f; grep -c ' tmpfs ' /proc/self/mountinfo",
        ],
    );
    b.config["root"]["path"] = json!(rootfs);
    let f = src.join("f");
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    // No tmpfs on /tmp: the outside directory is under /tmp, and where its
    // links resolve inside the rootfs is looked for afterwards.
    mounts.retain(|m| m["destination"] != "/tmp");
    for (dst, kind) in [
        ("/abs/planted", "tmpfs"),
        ("/up/planted2", "tmpfs"),
        ("/inside/planted", "tmpfs"),
        ("/abs/f", "bind"),
        ("/up/f", "bind"),
        ("/inside/f", "bind"),
    ] {
        mounts.push(if kind == "bind" {
            json!({"destination": dst, "type": "bind", "source": f, "options": ["bind", "ro"]})
        } else {
            json!({"destination": dst, "type": "tmpfs", "source": "tmpfs"})
        });
    }
    let out = run_ok_within(&b, "l1");
    assert!(
        is_empty_dir(&outside),
        "made outside the rootfs: {:?}",
        fs::read_dir(&outside).unwrap().collect::<Vec<_>>()
    );
    assert!(out.starts_with("bound\nbound\nbound\n"), "{out}");
    let resolved = rootfs.join(outside.strip_prefix("/").unwrap());
    for n in ["planted", "planted2", "f"] {
        assert!(resolved.join(n).exists(), "{n} not made inside the rootfs");
    }
    // Control: under a real directory, the same kinds of mount points.
    assert!(rootfs.join("inside/planted").is_dir(), "control");
    assert!(rootfs.join("inside/f").is_file(), "control");
}

/// One round of `race` in `root`: whatever is there removed (a
/// directory with what was made in it, or a link: never followed), a
/// symlink to `outside` for a moment, then a fresh directory.
fn swap_once(root: &Path, outside: &Path) {
    let race = root.join("race");
    if fs::symlink_metadata(&race).is_ok_and(|m| m.is_dir()) {
        let _ = fs::remove_dir_all(&race);
    } else {
        let _ = fs::remove_file(&race);
    }
    let _ = std::os::unix::fs::symlink(outside, &race);
    let _ = fs::remove_file(&race);
    // Open to the container's root (the test uid): it makes d0… in it.
    if fs::create_dir(&race).is_ok() {
        let _ = fs::set_permissions(&race, fs::Permissions::from_mode(0o777));
    }
}

/// Attack: while sandbox-oci makes the mount points, another process (a
/// second container sharing the volume, in CVE-2021-30465) keeps swapping
/// a directory on the way with a symlink to the outside. Over a bounded
/// number of runs nothing appears outside (a run may fail: a refusal is
/// fine). The race is not deterministic (no hook runs before the
/// mounts): the runs are bounded, the swaps counted. Control: with `race`
/// as the swapper makes it each round, a joined-path `mkdir -p`, as the
/// runtime used to make mount points, does land outside.
fn a_mount_point_swapped_for_a_link_during_set_up_stays_inside() {
    let rootfs = private_rootfs("hostile-race");
    let outside = test_dir("hostile-race-outside");
    user_sh(&format!("mkdir '{}/race'", rootfs.display()));
    let stop = Arc::new(AtomicBool::new(false));
    let swaps = Arc::new(AtomicU64::new(0));
    let swapper = {
        let (stop, swaps) = (stop.clone(), swaps.clone());
        let (rootfs, outside) = (rootfs.clone(), outside.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(120) {
                swap_once(&rootfs, &outside);
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let mut b = bundle("race", &["/bin/true"]);
    b.config["root"]["path"] = json!(rootfs);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["destination"] != "/tmp");
    for i in 0..8 {
        b.config["mounts"].as_array_mut().unwrap().push(
            json!({"destination": format!("/race/d{i}/planted"), "type": "tmpfs", "source": "tmpfs"}),
        );
    }
    b.write();
    let (mut ok, mut refused) = (0, 0);
    for i in 0..10 {
        let o = b.out(&["run", "--bundle", &b.bundle_arg(), &format!("r{i}")]);
        if o.status.success() {
            ok += 1;
        } else {
            refused += 1;
            eprintln!("race: r{i}: {}", text(&o.stderr).trim());
            let _ = b.out(&["delete", "--force", &format!("r{i}")]);
        }
    }
    let escaped_by_us = fs::read_dir(&outside).unwrap().count();
    stop.store(true, Ordering::Relaxed);
    swapper.join().unwrap();
    let swaps = swaps.load(Ordering::Relaxed);
    eprintln!("race: {swaps} swaps, {ok} runs ok, {refused} refused");
    assert_eq!(
        escaped_by_us, 0,
        "a mount point was made outside the rootfs"
    );
    assert!(swaps > 0, "the swapper never ran");
    // Control: in the state the swapper puts `race` in each round (a link
    // out), a joined path made with mkdir -p, as the runtime used to make
    // mount points, lands outside; the probe above would have seen it.
    let race = rootfs.join("race");
    if fs::symlink_metadata(&race).is_ok_and(|m| m.is_dir()) {
        fs::remove_dir_all(&race).unwrap();
    } else {
        let _ = fs::remove_file(&race);
    }
    std::os::unix::fs::symlink(&outside, &race).unwrap();
    fs::create_dir_all(rootfs.join("race/ctl/planted")).unwrap();
    assert!(
        outside.join("ctl/planted").is_dir(),
        "control: a joined-path mkdir did not go through the link"
    );
}

/// The bundle for the mask tests: /etc/group masked, and /dev either the
/// runtime's own tmpfs (`own_dev`) or left to the image, whose /dev/null
/// is what `attack` makes of it ($P its host path).
fn mask_bundle(name: &str, own_dev: bool, attack: &str) -> Bundle {
    let rootfs = private_rootfs(&format!("hostile-{name}"));
    user_sh(&format!(
        "echo secret-group > '{}/etc/group'; P='{}/dev/null'; {attack}",
        rootfs.display(),
        rootfs.display()
    ));
    let mut b = bundle(name, &["/bin/sh", "-c", "echo group=$(cat /etc/group)"]);
    b.config["root"]["path"] = json!(rootfs);
    b.config["linux"]["maskedPaths"] = json!(["/etc/group"]);
    if !own_dev {
        b.config["mounts"]
            .as_array_mut()
            .unwrap()
            .retain(|m| !m["destination"].as_str().unwrap().starts_with("/dev"));
    }
    b
}

/// Attack: the image's /dev/null, used to mask files, is a regular file
/// or a link to another file (CVE-2025-31133 shape): binding it would show
/// its content (or give write access to the link's target) instead of
/// masking. sandbox-oci refuses, with one error naming the null device.
/// Controls: the runtime's own /dev (the host's null device bound there)
/// masks /etc/group to empty even over the same hostile image; and an
/// image /dev/null that is the real device is not what these runs lack
/// (without masks the same bundle runs).
fn masks_refuse_a_dev_null_that_is_not_the_null_device() {
    for (name, attack) in [
        ("mask-file", "echo LEAK > \"$P\""),
        ("mask-link", "ln -s /etc/hostname \"$P\""),
    ] {
        let b = mask_bundle(name, false, attack);
        b.write();
        let o = b.out(&["run", "--bundle", &b.bundle_arg(), name]);
        let err = text(&o.stderr);
        assert!(
            !o.status.success(),
            "{name}: masked with a fake null: {}",
            text(&o.stdout)
        );
        assert!(err.contains("not the null device"), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        // Control: the runtime's /dev hides the image's; the mask works.
        let c = mask_bundle(&format!("{name}-ctl"), true, attack);
        assert_eq!(
            run_ok_within(&c, &format!("{name}-ctl")),
            "group=\n",
            "control"
        );
        // Control: without the mask the same image runs and the probe
        // sees the file.
        let mut c = mask_bundle(&format!("{name}-nomask"), false, attack);
        c.config["linux"]["maskedPaths"] = json!([]);
        assert_eq!(
            run_ok_within(&c, &format!("{name}-nomask")),
            "group=secret-group\n",
            "control"
        );
    }
}

/// `sandbox run oci:DIR:latest true` with its own cache, killed past 30 s.
fn run_image(dir: &Path, cache: &Path) -> std::process::Output {
    let child = sandbox(["run", &format!("oci:{}:latest", dir.display()), "true"])
        .env("XDG_CACHE_HOME", cache)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child, Duration::from_secs(30))
}

/// Which file of a layout (its directory, its layer blobs) an attack
/// replaces.
type Victim = fn(&Path, &[PathBuf]) -> PathBuf;

/// Attack: an OCI layout whose index.json or layer blob is a FIFO (a
/// plain open waited for a writer forever), or a link to /dev/zero.
/// `sandbox run` fails at once with the file and the reason. Control: the
/// intact layout runs.
fn image_layout_files_that_are_fifos_or_devices_are_refused() {
    let layer = rootfs_tar(&[]);
    let cases: [(&str, &str, Victim, &str); 3] = [
        ("idx-fifo", "mkfifo", |d, _| d.join("index.json"), "a FIFO"),
        ("blob-fifo", "mkfifo", |_, b| b[0].clone(), "a FIFO"),
        (
            "idx-zero",
            "ln -s /dev/zero",
            |d, _| d.join("index.json"),
            "a character device",
        ),
    ];
    for (name, make, which, why) in cases {
        let dir = stage().dir.join(format!("oci-hostile-{name}"));
        let _ = fs::remove_dir_all(&dir);
        let blobs = layout(&dir, &[(layer.clone(), TAR)]);
        let victim = which(&dir, &blobs);
        fs::remove_file(&victim).unwrap();
        let s = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("{make} \"$1\"", make = make))
            .arg("sh")
            .arg(&victim)
            .status()
            .unwrap();
        assert!(s.success());
        let start = Instant::now();
        let o = run_image(&dir, &test_dir(&format!("cache-hostile-{name}")));
        let err = text(&o.stderr);
        assert_eq!(o.status.code(), Some(125), "{name}: {err}");
        assert!(
            err.contains(&format!("not a regular file ({why})"))
                && err.contains(victim.file_name().unwrap().to_str().unwrap()),
            "{name}: {err}"
        );
        assert!(start.elapsed() < Duration::from_secs(20), "{name}: slow");
    }
    // Control: the same layout, intact.
    let dir = stage().dir.join("oci-hostile-intact");
    let _ = fs::remove_dir_all(&dir);
    layout(&dir, &[(layer, TAR)]);
    let o = run_image(&dir, &test_dir("cache-hostile-intact"));
    assert!(o.status.success(), "control: {}", text(&o.stderr));
}

tests![
    a_passwd_fifo_hangs_neither_create_nor_exec,
    a_passwd_of_zeros_or_gigabytes_is_not_read,
    mount_points_behind_links_out_of_the_rootfs_are_made_inside,
    a_mount_point_swapped_for_a_link_during_set_up_stays_inside,
    masks_refuse_a_dev_null_that_is_not_the_null_device,
    image_layout_files_that_are_fifos_or_devices_are_refused,
];
