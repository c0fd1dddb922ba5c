//! Tarballs and OCI image layouts as ROOTFS, built here from the BusyBox
//! rootfs with the tar crate (no registry, no tool): they run, are
//! unpacked once into the cache, checked against their digests, and every
//! hostile archive is refused (125) without touching what it aimed at
//! outside and without leaving a cache entry.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::image::*;
use common::*;

/// A fresh cache directory for one test, and `sandbox ARGS` using it.
fn cache(name: &str) -> PathBuf {
    test_dir(&format!("cache-{name}"))
}

fn sb(cache: &Path, args: &[&str]) -> Output {
    sandbox(args)
        .env("XDG_CACHE_HOME", cache)
        .output()
        .expect("run sandbox")
}

fn sb_env(cache: &Path, env: (&str, &str), args: &[&str]) -> Output {
    sandbox(args)
        .env("XDG_CACHE_HOME", cache)
        .env(env.0, env.1)
        .output()
        .expect("run sandbox")
}

fn entries(cache: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(cache.join("sandbox/images"))
        .map(|l| {
            l.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn leftovers(cache: &Path) -> usize {
    fs::read_dir(cache.join("sandbox/tmp")).map_or(0, |l| l.count())
}

fn entry(b: &mut tar::Builder<Vec<u8>>, path: &str, kind: tar::EntryType, link: Option<&str>) {
    let mut h = tar::Header::new_gnu();
    h.set_size(0);
    h.set_mode(0o755);
    h.set_entry_type(kind);
    if let Some(l) = link {
        let ln = &mut h.as_old_mut().linkname;
        ln.fill(0);
        ln[..l.len()].copy_from_slice(l.as_bytes());
    }
    set_name(&mut h, path);
    b.append(&h, &[][..]).unwrap();
}

/// Two layers: the BusyBox tree with /opt and /data, then one that
/// whites out /opt/gone, makes /data opaque and adds files.
fn two_layer_image(name: &str) -> (PathBuf, Vec<PathBuf>) {
    let dir = stage().dir.join(format!("oci-{name}"));
    let _ = fs::remove_dir_all(&dir);
    let base = rootfs_tar(&[
        ("opt/keep", "kept\n"),
        ("opt/gone", "gone\n"),
        ("data/old1", "old\n"),
        ("data/sub/old2", "old\n"),
    ]);
    let mut top = tar::Builder::new(Vec::new());
    file(&mut top, "opt/.wh.gone", b"", 0o644);
    file(&mut top, "data/.wh..wh..opq", b"", 0o644);
    file(&mut top, "data/new", b"new\n", 0o644);
    file(&mut top, "etc/layer2", b"two\n", 0o644);
    let top = top.into_inner().unwrap();
    let blobs = layout(&dir, &[(gzip(&base), GZ), (top, TAR)]);
    (dir, blobs)
}

fn an_oci_layout_runs_with_whiteouts_and_opaque_directories() {
    let c = cache("oci");
    let (dir, _) = two_layer_image("runs");
    let img = format!("oci:{}:latest", dir.display());
    let out = sb(
        &c,
        &[
            "run",
            &img,
            "sh",
            "-c",
            "ls /opt; echo --; ls -R /data; cat /etc/layer2; echo hi > /etc/x && cat /etc/x",
        ],
    );
    assert_eq!(
        text(&out.stdout),
        "keep\n--\n/data:\nnew\ntwo\nhi\n",
        "{}",
        text(&out.stderr)
    );
    // Without a tag too (the layout holds one image), and --read-only.
    let bare = format!("oci:{}", dir.display());
    let out = sb(
        &c,
        &[
            "run",
            "--read-only",
            &bare,
            "sh",
            "-c",
            "cat /opt/keep; touch /etc/y",
        ],
    );
    assert_eq!(text(&out.stdout), "kept\n");
    assert!(text(&out.stderr).contains("Read-only file system"));
    // One entry, nothing left in tmp/; stderr (not a terminal) said nothing
    // on the unpacking run.
    assert_eq!(entries(&c).len(), 1);
    assert_eq!(leftovers(&c), 0);
    // An unknown tag is 125 naming the ones there are.
    let out = sb(&c, &["run", &format!("oci:{}:nope", dir.display()), "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("tags: latest"),
        "{}",
        text(&out.stderr)
    );
}

fn tarballs_run_and_rw_is_refused() {
    let c = cache("tarball");
    let plain = stage().dir.join("bb.tar");
    put(&plain, &rootfs_tar(&[("etc/which", "plain\n")]));
    let gz = stage().dir.join("bb.tar.gz");
    put(&gz, &gzip(&rootfs_tar(&[("etc/which", "gzip\n")])));
    for (p, want) in [(&plain, "plain\n"), (&gz, "gzip\n")] {
        let out = sb(&c, &["run", &p.display().to_string(), "cat", "/etc/which"]);
        assert_eq!(text(&out.stdout), want, "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            "",
            "no progress when stderr is no terminal"
        );
    }
    if Path::new("/usr/bin/zstd").exists() {
        let zst = stage().dir.join("bb.tar.zst");
        let raw = stage().dir.join("bb-z.tar");
        put(&raw, &rootfs_tar(&[("etc/which", "zstd\n")]));
        let ok = Command::new("zstd")
            .args(["-q", "-f", "-o"])
            .arg(&zst)
            .arg(&raw)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        fs::set_permissions(&zst, fs::Permissions::from_mode(0o644)).unwrap();
        let out = sb(
            &c,
            &["run", &zst.display().to_string(), "cat", "/etc/which"],
        );
        assert_eq!(text(&out.stdout), "zstd\n", "{}", text(&out.stderr));
    } else {
        skip(
            "tarballs_run_and_rw_is_refused",
            "zstd",
            "no zstd(1) to make a .tar.zst with",
        );
    }
    let out = sb(&c, &["run", "--rw", &gz.display().to_string(), "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("--rw"));
}

fn the_second_run_does_not_unpack_again() {
    let c = cache("again");
    let (dir, blobs) = two_layer_image("again");
    let img = format!("oci:{}:latest", dir.display());
    let out = sb(&c, &["run", &img, "true"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let [e] = &entries(&c)[..] else {
        panic!("{:?}", entries(&c))
    };
    // A mark in the entry, and the blobs gone: the next run can only use
    // the entry as it is.
    let marker = c.join("sandbox/images").join(e).join("rootfs/marker");
    put(&marker, b"same entry\n");
    for b in &blobs {
        fs::remove_file(b).unwrap();
    }
    let out = sb(&c, &["run", &img, "cat", "/marker"]);
    assert_eq!(text(&out.stdout), "same entry\n", "{}", text(&out.stderr));
    // Control: with the entry gone, the missing blobs are an error.
    let out = sb(&c, &["images", "--prune"]);
    assert!(
        text(&out.stdout).contains("removed 1 image"),
        "{}",
        text(&out.stderr)
    );
    let out = sb(&c, &["run", &img, "true"]);
    assert_eq!(out.status.code(), Some(125));
    // The missing blob is named, not any launch failure.
    let err = text(&out.stderr);
    let blob = blobs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.starts_with("sandbox: ") && err.contains(&blob), "{err}");
}

fn a_tampered_blob_is_refused() {
    let c = cache("tamper");
    let (dir, blobs) = two_layer_image("tamper");
    // The uncompressed top layer: one byte changed, same size.
    let mut data = fs::read(&blobs[1]).unwrap();
    let at = data.windows(4).position(|w| w == b"two\n").unwrap();
    data[at] = b'T';
    put(&blobs[1], &data);
    let out = sb(
        &c,
        &[
            "run",
            &format!("oci:{}", dir.display()),
            "cat",
            "/etc/layer2",
        ],
    );
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(err.contains("does not match its digest"), "{err}");
    assert!(entries(&c).is_empty() && leftovers(&c) == 0);
    // Control: the untampered image runs.
    let (dir, _) = two_layer_image("untampered");
    let out = sb(
        &c,
        &[
            "run",
            &format!("oci:{}", dir.display()),
            "cat",
            "/etc/layer2",
        ],
    );
    assert_eq!(text(&out.stdout), "two\n");
}

/// A tarball of the BusyBox tree with `attack` appended, run; asserts 125
/// with `why` in the message, no cache entry, nothing left in tmp/.
fn refused(c: &Path, name: &str, attack: impl FnOnce(&mut tar::Builder<Vec<u8>>), why: &str) {
    refused_env(c, name, attack, why, ("SANDBOX_UNUSED", ""))
}

fn refused_env(
    c: &Path,
    name: &str,
    attack: impl FnOnce(&mut tar::Builder<Vec<u8>>),
    why: &str,
    env: (&str, &str),
) {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.append_dir_all(".", &stage().rootfs).unwrap();
    attack(&mut b);
    let p = stage().dir.join(format!("{name}.tar"));
    put(&p, &b.into_inner().unwrap());
    let out = sb_env(c, env, &["run", &p.display().to_string(), "true"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{name}: {err}");
    assert!(err.contains(why), "{name}: {err}");
    assert!(entries(c).is_empty(), "{name}: {:?}", entries(c));
    assert_eq!(leftovers(c), 0, "{name}");
}

fn hostile_archives_are_refused_and_touch_nothing_outside() {
    let c = cache("hostile");
    let outside = test_dir("outside");
    let victim = outside.join("victim");
    put(&victim, b"original\n");
    // World-writable, so that only the unpacker's rules stop a write.
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o666)).unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o777)).unwrap();
    let abs = victim.display().to_string();
    // The entry dir is cache/sandbox/tmp/X/rootfs: climb far enough.
    let climb = format!("{}{}", "../".repeat(12), &abs[1..]);
    refused(
        &c,
        "dotdot",
        |b| file(b, &climb, b"pwned\n", 0o644),
        "climbs out with '..'",
    );
    refused(
        &c,
        "absolute",
        |b| file(b, &abs, b"pwned\n", 0o644),
        "absolute path",
    );
    let dir = outside.display().to_string();
    refused(
        &c,
        "symlink",
        |b| {
            entry(b, "planted", tar::EntryType::Symlink, Some(&dir));
            file(b, "planted/victim", b"pwned\n", 0o644);
            file(b, "planted/new", b"pwned\n", 0o644);
        },
        "goes through the symlink",
    );
    refused(
        &c,
        "hardlink-abs",
        |b| entry(b, "h", tar::EntryType::Link, Some(&abs)),
        "absolute path",
    );
    refused(
        &c,
        "hardlink-dotdot",
        |b| entry(b, "h", tar::EntryType::Link, Some(&climb)),
        "climbs out",
    );
    refused(
        &c,
        "hardlink-via-symlink",
        |b| {
            entry(b, "planted", tar::EntryType::Symlink, Some(&dir));
            entry(b, "h", tar::EntryType::Link, Some("planted/victim"));
        },
        "goes through the symlink",
    );
    refused(
        &c,
        "device",
        |b| entry(b, "dev/evil", tar::EntryType::Char, None),
        "device node",
    );
    refused(
        &c,
        "setuid",
        |b| file(b, "bin/suid", b"#!/bin/sh\n", 0o4755),
        "setuid or setgid",
    );
    refused(
        &c,
        "huge",
        |b| {
            let mut h = tar::Header::new_gnu();
            h.set_size(1 << 40);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            set_name(&mut h, "huge");
            // The header alone: its data never comes.
            b.get_mut().extend_from_slice(h.as_bytes());
        },
        "past the limit",
    );
    // The tree's own entries and 50 more are allowed; 100 more are not.
    let limit = (count(&stage().rootfs) + 50).to_string();
    refused_env(
        &c,
        "many",
        |b| {
            for i in 0..100 {
                file(b, &format!("many/{i}"), b"", 0o644);
            }
        },
        &format!("more than {limit} entries"),
        ("SANDBOX_UNPACK_MAX_ENTRIES", &limit),
    );
    refused(
        &c,
        "setgid",
        |b| file(b, "bin/sgid", b"#!/bin/sh\n", 0o2755),
        "setuid or setgid",
    );
    refused(
        &c,
        "fifo",
        |b| entry(b, "tmp/fifo", tar::EntryType::Fifo, None),
        "of a kind not unpacked",
    );
    refused(
        &c,
        "sparse",
        |b| {
            // A well-formed GNU sparse entry (empty, no chunks): refused
            // for its kind.
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::GNUSparse);
            h.as_gnu_mut().unwrap().set_real_size(0);
            set_name(&mut h, "sparse");
            b.append(&h, &[][..]).unwrap();
        },
        "of a kind not unpacked",
    );
    refused(
        &c,
        "hardlink-to-dir",
        |b| entry(b, "h", tar::EntryType::Link, Some("bin")),
        "which is no file of the image",
    );
    // SANDBOX_UNPACK_MAX_BYTES: the tree's own bytes and a little more
    // are allowed; a file of 64 KiB more is not.
    let limit = (bytes(&stage().rootfs) + 4096).to_string();
    refused_env(
        &c,
        "bytes",
        |b| file(b, "big", &[0u8; 65536], 0o644),
        "SANDBOX_UNPACK_MAX_BYTES",
        ("SANDBOX_UNPACK_MAX_BYTES", &limit),
    );
    // Control: within the same byte limit, the tree alone unpacks.
    let p = stage().dir.join("within.tar");
    put(&p, &rootfs_tar(&[]));
    let out = sb_env(
        &c,
        ("SANDBOX_UNPACK_MAX_BYTES", &limit),
        &["run", &p.display().to_string(), "true"],
    );
    assert!(out.status.success(), "control: {}", text(&out.stderr));
    for e in entries(&c) {
        let _ = fs::remove_dir_all(c.join("sandbox/images").join(e));
    }
    // Nothing outside changed: the victim, and nothing new beside it.
    assert_eq!(fs::read(&victim).unwrap(), b"original\n");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    // Control: the same tree without an attack unpacks.
    let p = stage().dir.join("clean.tar");
    put(&p, &rootfs_tar(&[]));
    let out = sb(&c, &["run", &p.display().to_string(), "true"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The bytes of the regular files under `p` (not following links).
fn bytes(p: &Path) -> u64 {
    let m = fs::symlink_metadata(p).unwrap();
    if m.is_dir() {
        fs::read_dir(p)
            .unwrap()
            .map(|e| bytes(&e.unwrap().path()))
            .sum()
    } else if m.is_file() {
        m.len()
    } else {
        0
    }
}

/// An OCI layout whose index.json names its manifest with a descriptor
/// the test rewrites: a digest that climbs out of blobs/, a size that does
/// not match the blob, a JSON document bigger than the 4 MiB allowed. Each
/// is refused with 125 and its reason, and leaves nothing in the cache.
/// Control: the layout as written runs.
fn hostile_layouts_are_refused() {
    let c = cache("layouts");
    let (dir, _) = two_layer_image("hostile-layout");
    let index = dir.join("index.json");
    let original = fs::read_to_string(&index).unwrap();
    let digest = original
        .split("\"digest\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let size = original
        .split("\"size\":")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap()
        .to_string();
    let img = format!("oci:{}:latest", dir.display());
    for (what, from, to, why) in [
        (
            "digest",
            format!("\"digest\":\"{digest}\""),
            "\"digest\":\"sha256:../../../../../../etc/passwd\"".to_string(),
            "malformed digest",
        ),
        (
            "size",
            format!("\"size\":{size},"),
            format!("\"size\":{},", size.parse::<u64>().unwrap() + 1),
            "its descriptor says",
        ),
        (
            "json",
            format!("\"size\":{size},"),
            format!("\"size\":{},", 5u64 << 20),
            "is too big",
        ),
    ] {
        assert!(original.contains(&from), "{what}: {original}");
        put(&index, original.replacen(&from, &to, 1).as_bytes());
        let out = sb(&c, &["run", &img, "true"]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{what}: {err}");
        assert!(
            err.starts_with("sandbox: ") && err.contains(why),
            "{what}: {err}"
        );
        assert!(entries(&c).is_empty() && leftovers(&c) == 0, "{what}");
    }
    put(&index, original.as_bytes());
    let out = sb(&c, &["run", &img, "cat", "/etc/layer2"]);
    assert_eq!(text(&out.stdout), "two\n", "control: {}", text(&out.stderr));
}

/// A killed unpack leaves tmp/PID-N behind; the next unpack removes the
/// leftovers of runs that are gone, and keeps those of a run still going.
/// Control: both were there before.
fn a_killed_unpacks_leftovers_are_removed_by_the_next() {
    let c = cache("killed");
    let tmp = c.join("sandbox/tmp");
    // A pid that was and is no more: a child of ours, reaped.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let dead_dir = tmp.join(format!("{dead}-1/rootfs/etc"));
    let live_dir = tmp.join(format!("{}-1/rootfs/etc", std::process::id()));
    for d in [&dead_dir, &live_dir] {
        let ok = as_test_user("mkdir")
            .arg("-p")
            .arg(d)
            .status()
            .unwrap()
            .success();
        assert!(ok);
        let ok = as_test_user("touch")
            .arg(d.join("half"))
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    assert_eq!(leftovers(&c), 2, "control");
    let p = stage().dir.join("after-kill.tar");
    put(&p, &rootfs_tar(&[]));
    let out = sb(&c, &["run", &p.display().to_string(), "true"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !tmp.join(format!("{dead}-1")).exists(),
        "a dead run's leftovers stayed"
    );
    assert!(
        live_dir.join("half").exists(),
        "a live run's unpack was removed"
    );
    assert_eq!(entries(&c).len(), 1);
}

/// Entries under `p`, `p` itself included.
fn count(p: &Path) -> usize {
    1 + match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::read_dir(p)
            .unwrap()
            .flatten()
            .map(|e| count(&e.path()))
            .sum(),
        _ => 0,
    }
}

fn images_lists_and_prunes_the_cache() {
    let c = cache("list");
    let gz = stage().dir.join("list.tar.gz");
    put(&gz, &gzip(&rootfs_tar(&[])));
    assert!(sb(&c, &["run", &gz.display().to_string(), "true"])
        .status
        .success());
    let out = sb(&c, &["images"]);
    let t = text(&out.stdout);
    assert!(
        t.contains("v1-tar-sha256-") && t.contains("list.tar.gz") && t.contains("1 image, "),
        "{t}"
    );
    let out = sb(&c, &["images", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert!(v[0]["bytes"].as_u64().unwrap() > 100_000, "{v}");
    let out = sb(&c, &["images", "--prune"]);
    assert_eq!(text(&out.stdout), "removed 1 image from the cache\n");
    assert!(entries(&c).is_empty());
    assert_eq!(text(&sb(&c, &["images"]).stdout), "0 images, 0.0M\n");
}

/// On a terminal, unpacking says how far it is (bytes and layers).
fn progress_shows_on_a_terminal() {
    let c = cache("progress");
    let (dir, _) = two_layer_image("progress");
    let st = stage();
    let mut line = format!(
        "env -i PATH=/usr/bin:/bin XDG_CACHE_HOME='{}' ",
        c.display()
    );
    if let Some((u, g)) = st.drop_to {
        line += &format!("setpriv --reuid={u} --regid={g} --clear-groups -- ");
    }
    line += &format!("'{}' run 'oci:{}' true", st.bin.display(), dir.display());
    let out = Command::new("timeout")
        .args(["30", "script", "-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .current_dir(&st.dir)
        .output()
        .unwrap();
    let shown = text(&out.stdout);
    assert!(
        shown.contains("unpacking layer 1/2")
            && shown.contains("unpacking layer 2/2")
            && shown.contains("MiB written"),
        "{shown:?}"
    );
}

tests![
    an_oci_layout_runs_with_whiteouts_and_opaque_directories,
    tarballs_run_and_rw_is_refused,
    the_second_run_does_not_unpack_again,
    a_tampered_blob_is_refused,
    hostile_archives_are_refused_and_touch_nothing_outside,
    hostile_layouts_are_refused,
    a_killed_unpacks_leftovers_are_removed_by_the_next,
    images_lists_and_prunes_the_cache,
    progress_shows_on_a_terminal,
];
