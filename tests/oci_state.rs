//! sandbox-oci's state directory (issue 23, findings 2, 3 and 6): another
//! user can neither plant nor read it, and a `create` that was killed
//! leaves nothing that wedges its id. Each attack has its control.
//!
//! The default directory, /tmp/sandbox-oci-UID, is per uid: tests that
//! use it run as uids of their own (VICTIM + n), with a second one as the
//! other user (OTHER), which needs the suite to run as root.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// Uids for the tests that need users of their own (none has files on a
/// test machine); the other user.
const VICTIM: u32 = 61230;
const OTHER: u32 = 61299;

/// The binary under the name `sandbox-oci` (dispatch is on argv[0]).
fn oci_bin() -> PathBuf {
    let st = stage();
    let link = st.dir.join("oci-state-bin/sandbox-oci");
    if !link.exists() {
        let _ = fs::create_dir_all(link.parent().unwrap());
        let _ = symlink(&st.bin, &link);
    }
    link
}

/// Who runs sandbox-oci: the test user (`None`), or a uid of the test's.
#[derive(Clone, Copy)]
struct User(Option<u32>);

impl User {
    fn uid(self) -> u32 {
        self.0.unwrap_or(stage().host_uid)
    }

    /// `prog` as this user, with an empty environment (no XDG_RUNTIME_DIR:
    /// sandbox-oci's default is then /tmp/sandbox-oci-UID).
    fn cmd(self, prog: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = match self.0 {
            Some(u) => {
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={u}"))
                    .arg(format!("--regid={u}"))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(prog);
                c
            }
            None => as_test_user(prog),
        };
        c.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .current_dir("/")
            .stdin(Stdio::null());
        c
    }
}

/// What a run said.
struct Said {
    code: Option<i32>,
    out: String,
    err: String,
}

/// `sandbox-oci [--root ROOT] ARGS` as `who`, its output through files (a
/// container's process keeps create's stdio), bounded to 30 s.
fn oci(who: User, root: Option<&Path>, args: &[&str]) -> Said {
    let io = stage()
        .dir
        .join(format!("oci-state-io-{}-{}", who.uid(), std::process::id()));
    let (o, e) = (io.with_extension("out"), io.with_extension("err"));
    let mut c = who.cmd(oci_bin());
    if let Some(r) = root {
        c.arg("--root").arg(r);
    }
    let mut child = c
        .args(args)
        .stdout(fs::File::create(&o).unwrap())
        .stderr(fs::File::create(&e).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sandbox-oci {args:?} timed out: {}", read(&e));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Said {
        code: status.code(),
        out: read(&o),
        err: read(&e),
    }
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// A rootless bundle of `who`'s (the config maps its uid to root), its
/// process parked by create until start; `extra` is merged into the
/// config. Returns the bundle directory.
fn bundle(name: &str, who: User, extra: Value) -> PathBuf {
    let dir = stage().dir.join(format!("oci-state-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir(&dir).unwrap();
    let uid = who.uid();
    let gid = match who.0 {
        Some(u) => u,
        None => stage().drop_to.map(|d| d.1).unwrap_or(uid),
    };
    let mut config = json!({
        "ociVersion": "1.1.0",
        "process": {
            "user": {"uid": 0, "gid": 0},
            "args": ["/bin/sh", "-c", "exec sleep 60"],
            "env": ["PATH=/bin:/usr/bin", "SECRET=hunter2-in-the-env"],
            "cwd": "/",
            "noNewPrivileges": true
        },
        "root": {"path": rootfs_arg(), "readonly": true},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {
            "uidMappings": [{"containerID": 0, "hostID": uid, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": gid, "size": 1}],
            "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "user"}]
        }
    });
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            c.insert(k.clone(), v.clone());
        }
    }
    fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&config).unwrap(),
    )
    .unwrap();
    chown_tree(&dir, uid, gid);
    dir
}

fn chown_tree(p: &Path, uid: u32, gid: u32) {
    if stage().drop_to.is_some() {
        let ok = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(p)
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
}

fn default_root(uid: u32) -> PathBuf {
    PathBuf::from(format!("/tmp/sandbox-oci-{uid}"))
}

fn remove(p: &Path) {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).unwrap(),
        Ok(_) => fs::remove_file(p).unwrap(),
        Err(_) => {}
    }
}

/// A directory at `p` of `uid`'s, with `mode`.
fn dir_of(p: &Path, uid: u32, mode: u32) {
    remove(p);
    fs::create_dir(p).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    std::os::unix::fs::chown(p, Some(uid), Some(uid)).unwrap();
}

fn needs_root(test: &str) -> bool {
    if stage().drop_to.is_none() {
        skip(
            test,
            "root",
            "a second uid (and planting its directories) needs the suite to run as root",
        );
        return false;
    }
    true
}

/// Another user plants /tmp/sandbox-oci-UID before the victim's first
/// command: world-writable, private to them, a symlink to a directory of
/// theirs, or the victim's own but open to others. Every command refuses
/// it, naming the path and whose it is, and writes nothing into it (the
/// attack: a config.json the other user swaps, whose poststop hook the
/// victim's delete runs). Control: the victim's own 0700 directory, and
/// one sandbox-oci makes, work.
fn a_planted_default_state_directory_is_refused() {
    if !needs_root("a_planted_default_state_directory_is_refused") {
        return;
    }
    let victim = User(Some(VICTIM));
    let root = default_root(VICTIM);
    let b = bundle("planted", victim, json!({}));
    let b = b.display().to_string();
    let theirs = stage().dir.join("oci-state-theirs");
    let plants: [(&str, &dyn Fn(), &str); 4] = [
        (
            "another user's, 0777",
            &|| dir_of(&root, OTHER, 0o777),
            &format!("belongs to another user, uid {OTHER}"),
        ),
        (
            "another user's, 0700",
            &|| dir_of(&root, OTHER, 0o700),
            &format!("belongs to another user, uid {OTHER}"),
        ),
        (
            "a symlink to another user's directory",
            &|| {
                dir_of(&theirs, OTHER, 0o777);
                remove(&root);
                symlink(&theirs, &root).unwrap();
                std::os::unix::fs::lchown(&root, Some(OTHER), Some(OTHER)).unwrap();
            },
            &format!("is a symlink (made by uid {OTHER})"),
        ),
        (
            "the victim's own, 0755",
            &|| dir_of(&root, VICTIM, 0o755),
            "is open to other users (mode 0755",
        ),
    ];
    let commands: [&[&str]; 7] = [
        &["list"],
        &["create", "--bundle", &b, "p1"],
        &["state", "p1"],
        &["delete", "p1"],
        &["delete", "--force", "p1"],
        &["kill", "p1", "KILL"],
        &["exec", "p1", "/bin/true"],
    ];
    let want = format!("sandbox: state directory: {}: ", root.display());
    for (what, plant, why) in plants {
        plant();
        for args in commands {
            let s = oci(victim, None, args);
            assert_ne!(s.code, Some(0), "{what}: {args:?} accepted it");
            let first = s.err.lines().next().unwrap_or("");
            assert!(
                first.starts_with(&want) && first.contains(why),
                "{what}: {args:?}: {}",
                s.err
            );
        }
        // Nothing of the victim's went into it.
        let inside = if root.is_symlink() { &theirs } else { &root };
        assert_eq!(fs::read_dir(inside).unwrap().count(), 0, "{what}");
    }
    remove(&theirs);
    // Control: the victim's own 0700 directory, and then one sandbox-oci
    // makes itself (0700, the victim's).
    for made_by_victim in [true, false] {
        remove(&root);
        if made_by_victim {
            dir_of(&root, VICTIM, 0o700);
        }
        let s = oci(victim, None, &["create", "--bundle", &b, "p1"]);
        assert_eq!(s.code, Some(0), "{}", s.err);
        let m = fs::symlink_metadata(&root).unwrap();
        assert!(m.is_dir());
        assert_eq!((m.uid(), m.mode() & 0o7777), (VICTIM, 0o700));
        let s = oci(victim, None, &["list"]);
        assert!(s.out.contains("p1"), "{}", s.err);
        let s = oci(victim, None, &["delete", "--force", "p1"]);
        assert_eq!(s.code, Some(0), "{}", s.err);
    }
    remove(&root);
}

/// After create, the state directory is 0700 and everything sandbox-oci
/// put in it 0700 (directories) or 0600 (state.json, the copy of
/// config.json with the container's environment, the exec FIFO): another
/// user can neither list it nor read the environment, not even through
/// sandbox-oci with --root pointed at it. Control: the owner can.
fn state_is_private_to_its_owner() {
    if !needs_root("state_is_private_to_its_owner") {
        return;
    }
    let victim = User(Some(VICTIM + 1));
    let other = User(Some(OTHER));
    let root = default_root(VICTIM + 1);
    remove(&root);
    let b = bundle("private", victim, json!({}));
    let s = oci(
        victim,
        None,
        &["create", "--bundle", &b.display().to_string(), "s1"],
    );
    assert_eq!(s.code, Some(0), "{}", s.err);
    let mut seen = vec![];
    let mut walk = vec![root.clone()];
    while let Some(d) = walk.pop() {
        let m = fs::symlink_metadata(&d).unwrap();
        assert_eq!(m.uid(), VICTIM + 1, "{}", d.display());
        assert_eq!(m.mode() & 0o7777, 0o700, "{}", d.display());
        for e in fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                walk.push(e.path());
                continue;
            }
            assert!(
                m.is_file() || m.file_type().is_fifo(),
                "{}",
                e.path().display()
            );
            assert_eq!(m.mode() & 0o7777, 0o600, "{}", e.path().display());
            assert_eq!(m.uid(), VICTIM + 1);
            seen.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    seen.sort();
    assert_eq!(seen, ["config.json", "exec.fifo", "state.json"]);
    let config = root.join("s1/config.json");
    let probe = |who: User, prog: &str, arg: &Path| {
        let o = who.cmd(prog).arg(arg).output().unwrap();
        (o.status.success(), text(&o.stdout))
    };
    // The other user: no listing, no reading.
    assert!(!probe(other, "ls", &root).0);
    assert!(!probe(other, "cat", &config).0);
    let s = oci(other, Some(&root), &["list"]);
    assert_ne!(s.code, Some(0));
    assert!(
        s.err.contains(&format!(
            "{}: belongs to another user, uid {}",
            root.display(),
            VICTIM + 1
        )),
        "{}",
        s.err
    );
    assert!(!s.out.contains("s1"));
    let s = oci(other, Some(&root), &["state", "s1"]);
    assert_ne!(s.code, Some(0));
    // Control: the owner lists it and reads the secret.
    assert_eq!(probe(victim, "ls", &root), (true, "s1\n".into()));
    let (ok, shown) = probe(victim, "cat", &config);
    assert!(ok && shown.contains("hunter2-in-the-env"));
    let s = oci(victim, None, &["delete", "--force", "s1"]);
    assert_eq!(s.code, Some(0), "{}", s.err);
    remove(&root);
}

/// A --root the engine gives may be shared for reading (containerd's
/// shim makes its own 0711) but must be the caller's and closed to
/// other users' writes; made by us, with its parents, it is 0700.
fn an_engines_root_is_the_callers_and_closed_to_writes() {
    if !needs_root("an_engines_root_is_the_callers_and_closed_to_writes") {
        return;
    }
    let victim = User(Some(VICTIM + 2));
    let base = stage().dir.join("oci-state-given");
    dir_of(&base, VICTIM + 2, 0o755);
    let root = base.join("runtime");
    let refused = [
        (
            OTHER,
            0o700,
            format!("belongs to another user, uid {OTHER}"),
        ),
        (
            OTHER,
            0o777,
            format!("belongs to another user, uid {OTHER}"),
        ),
        (
            VICTIM + 2,
            0o777,
            "is open to other users (mode 0777".into(),
        ),
        (
            VICTIM + 2,
            0o775,
            "is open to other users (mode 0775".into(),
        ),
    ];
    for (uid, mode, why) in refused {
        dir_of(&root, uid, mode);
        let s = oci(victim, Some(&root), &["list"]);
        assert_ne!(s.code, Some(0), "{uid} {mode:o}");
        assert!(
            s.err.starts_with(&format!(
                "sandbox: state directory: {}: {why}",
                root.display()
            )),
            "{}",
            s.err
        );
    }
    // Control: the caller's own, readable by others but not writable.
    for mode in [0o700, 0o711, 0o755] {
        dir_of(&root, VICTIM + 2, mode);
        let s = oci(victim, Some(&root), &["list"]);
        assert_eq!(s.code, Some(0), "{mode:o}: {}", s.err);
    }
    // Made by create, parents and all: 0700.
    remove(&root);
    let deep = root.join("a/b");
    let b = bundle("given", victim, json!({}));
    let s = oci(
        victim,
        Some(&deep),
        &["create", "--bundle", &b.display().to_string(), "g1"],
    );
    assert_eq!(s.code, Some(0), "{}", s.err);
    for d in [&root, &root.join("a"), &deep] {
        let m = fs::metadata(d).unwrap();
        assert_eq!((m.uid(), m.mode() & 0o7777), (VICTIM + 2, 0o700));
    }
    let s = oci(victim, Some(&deep), &["delete", "--force", "g1"]);
    assert_eq!(s.code, Some(0), "{}", s.err);
    remove(&base);
}

/// `create` killed while its createRuntime hook runs (the hook reports
/// its pid, then blocks): while it lives, `delete --force` refuses the
/// container as being created; once it is dead, `create` with the id
/// still says it exists (the control), `delete --force` removes it and
/// the id works again. The same for a directory with no record at all
/// (killed sooner), removed by a plain `delete`.
fn a_killed_create_does_not_wedge_its_id() {
    let me = User(None);
    let root = test_dir("oci-state-killed-root");
    let ready = stage().dir.join("oci-state-killed-ready");
    let _ = fs::remove_file(&ready);
    let hook = format!(
        "echo $$ > {0}.tmp && mv {0}.tmp {0} && exec sleep 600",
        ready.display()
    );
    let hooked = bundle(
        "killed-hooked",
        me,
        json!({"hooks": {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", hook],
            "env": ["PATH=/usr/bin:/bin"]}]}}),
    );
    // The ready file goes beside the bundles, in the stage (the test
    // user's).
    let plain = bundle("killed-plain", me, json!({}));
    let (hooked, plain) = (hooked.display().to_string(), plain.display().to_string());
    let mut c = me.cmd(oci_bin());
    let err = stage().dir.join("oci-state-killed.err");
    let mut create = Started(
        c.arg("--root")
            .arg(&root)
            .args(["create", "--bundle", &hooked, "k1"])
            .stdout(Stdio::null())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .unwrap(),
        None,
    );
    let start = Instant::now();
    create.1 = loop {
        if let Ok(t) = fs::read_to_string(&ready) {
            break t.trim().parse().ok();
        }
        if let Some(s) = create.0.try_wait().unwrap() {
            panic!("create ended ({s}) before its hook ran: {}", read(&err));
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the hook never ran"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let dir = root.join("k1");
    assert!(dir.is_dir());
    // While create lives, its container is being created: not removed.
    let s = oci(me, Some(&root), &["state", "k1"]);
    assert!(s.out.contains("\"creating\""), "{}{}", s.out, s.err);
    let s = oci(me, Some(&root), &["delete", "--force", "k1"]);
    assert_ne!(s.code, Some(0));
    assert!(s.err.contains("is being created"), "{}", s.err);
    assert!(dir.is_dir());
    drop(create);
    // Control: the id is taken.
    let s = oci(me, Some(&root), &["create", "--bundle", &plain, "k1"]);
    assert_ne!(s.code, Some(0));
    assert!(
        s.err.contains("container with id k1 already exists"),
        "{}",
        s.err
    );
    assert_eq!(oci(me, Some(&root), &["state", "k1"]).code, Some(0));
    let s = oci(me, Some(&root), &["delete", "--force", "k1"]);
    assert_eq!(s.code, Some(0), "{}", s.err);
    assert!(!dir.exists(), "delete left {}", dir.display());
    let s = oci(me, Some(&root), &["create", "--bundle", &plain, "k1"]);
    assert_eq!(s.code, Some(0), "{}", s.err);
    assert_eq!(
        oci(me, Some(&root), &["delete", "--force", "k1"]).code,
        Some(0)
    );

    // Killed before it recorded anything: a directory and nothing else.
    let dir = root.join("k2");
    let ok = me
        .cmd("mkdir")
        .args(["-m", "0700"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(ok.success());
    let s = oci(me, Some(&root), &["create", "--bundle", &plain, "k2"]);
    assert!(
        s.err.contains("container with id k2 already exists"),
        "{}",
        s.err
    );
    let s = oci(me, Some(&root), &["delete", "k2"]);
    assert_eq!(s.code, Some(0), "{}", s.err);
    assert!(!dir.exists());
    let s = oci(me, Some(&root), &["create", "--bundle", &plain, "k2"]);
    assert_eq!(s.code, Some(0), "{}", s.err);
    assert_eq!(
        oci(me, Some(&root), &["delete", "--force", "k2"]).code,
        Some(0)
    );
    // An id nothing was made for still does not exist.
    let s = oci(me, Some(&root), &["delete", "--force", "k3"]);
    assert!(s.err.contains("container k3 does not exist"), "{}", s.err);
}

/// A create we started and its hook: killed (by their pids) when
/// dropped, whether the test got there or failed before.
struct Started(std::process::Child, Option<i32>);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        if let Some(hook) = self.1 {
            let _ = Command::new("kill")
                .args(["-KILL", &hook.to_string()])
                .status();
        }
    }
}

tests![
    a_planted_default_state_directory_is_refused,
    state_is_private_to_its_owner,
    an_engines_root_is_the_callers_and_closed_to_writes,
    a_killed_create_does_not_wedge_its_id,
];
