//! Test support: run the built binary the way a user does, rootless.
//!
//! When the suite runs as root (CI does), the binary and a copy of the
//! rootfs are staged under /tmp, owned by an unprivileged uid
//! (SANDBOX_TEST_UID, default 65534), and every launch goes through
//! `setpriv --reuid --regid --clear-groups`. Run as an ordinary user, the
//! launches simply run as that user.
#![allow(dead_code)]

pub mod harness;
pub mod image;
pub mod oci;
pub mod subids;

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::fs;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub struct Stage {
    pub dir: PathBuf,
    pub bin: PathBuf,
    /// The static try-syscall probe (tests/probe/probe.c), built here.
    pub probe: PathBuf,
    pub rootfs: PathBuf,
    /// The uid/gid the launcher runs as, when the suite is root.
    pub drop_to: Option<(u32, u32)>,
    /// The uid the launcher runs as on the host, either way.
    pub host_uid: u32,
}

fn euid() -> u32 {
    fs::metadata("/proc/self").expect("stat /proc/self").uid()
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

static STAGE: OnceLock<Stage> = OnceLock::new();

/// Remove this process's stage (the binary, the rootfs copies, 13 MB and
/// more), once its tests are done; the harness calls it.
pub fn cleanup() {
    if let Some(st) = STAGE.get() {
        let _ = fs::remove_dir_all(&st.dir);
    }
}

pub fn stage() -> &'static Stage {
    STAGE.get_or_init(|| {
        let src_rootfs = std::env::var_os("SANDBOX_TEST_ROOTFS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("rootfs"));
        assert!(
            src_rootfs.join("etc/sandbox-rootfs").is_file(),
            "no test rootfs at {}: run 'make rootfs' (or 'make test', which builds it)",
            src_rootfs.display()
        );
        let drop_to = if euid() == 0 {
            let uid = std::env::var("SANDBOX_TEST_UID")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(65534);
            Some((uid, uid))
        } else {
            None
        };
        remove_stale_stages();
        let dir = PathBuf::from(format!("/tmp/sandbox-tests-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.join("sandbox");
        fs::copy(env!("CARGO_BIN_EXE_sandbox"), &bin).unwrap();
        fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("rootfs-recipes/busybox"),
            dir.join("recipe"),
        )
        .unwrap();
        let rootfs = dir.join("rootfs");
        // Its contents (`SRC/.`): a ROOTFS that is a symlink to the tree
        // (`ln -s ../rootfs rootfs`) is copied as the tree, not as a link
        // to a tree the test uid may not own.
        sh(Command::new("cp")
            .arg("-a")
            .arg(src_rootfs.join("."))
            .arg(&rootfs));
        let probe = dir.join("probe");
        build_probe(&probe);
        if let Some((u, g)) = drop_to {
            // The user owns the rootfs they built; so does the test uid.
            sh(Command::new("chown")
                .arg("-R")
                .arg(format!("{u}:{g}"))
                .arg(&dir));
        }
        Stage {
            dir,
            bin,
            probe,
            rootfs,
            host_uid: drop_to.map_or_else(euid, |(u, _)| u),
            drop_to,
        }
    })
}

/// The static probe at `dest`: a copy of SANDBOX_TEST_PROBE when set (the
/// kernel-matrix guest has no compiler), else built from tests/probe.
fn build_probe(dest: &Path) {
    if let Some(prebuilt) = std::env::var_os("SANDBOX_TEST_PROBE") {
        fs::copy(&prebuilt, dest).unwrap_or_else(|e| {
            panic!("SANDBOX_TEST_PROBE={}: {e}", Path::new(&prebuilt).display())
        });
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(&cc)
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(dest)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe/probe.c"))
        .output()
        .unwrap_or_else(|e| panic!("{cc}: {e}: the escape suite needs a C compiler and static libc (Debian: gcc, libc6-dev)"));
    assert!(
        built.status.success(),
        "building the probe failed (needs gcc and libc6-dev): {}",
        String::from_utf8_lossy(&built.stderr)
    );
}

/// Stages of test processes that are gone.
fn remove_stale_stages() {
    let Ok(entries) = fs::read_dir("/tmp") else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("sandbox-tests-") {
            if !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// `sandbox ARGS` as the unprivileged uid, with a small clean environment
/// and the stage as working directory.
pub fn sandbox<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let st = stage();
    let mut c = as_test_user(&st.bin);
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    c.args(weaken(args))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .current_dir(&st.dir)
        .stdin(Stdio::null());
    c
}

/// SANDBOX_TEST_WEAKEN="--seccomp off" (or "--landlock off") adds that
/// option to every `sandbox run`, to check once which tests depend on which
/// defence (docs/SECURITY.md records the result). A run that already names
/// the option keeps its own.
pub fn weaken(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let Ok(extra) = std::env::var("SANDBOX_TEST_WEAKEN") else {
        return args;
    };
    let extra: Vec<&str> = extra.split_whitespace().collect();
    let named = extra
        .first()
        .is_some_and(|opt| args.iter().any(|a| a == opt));
    if args.first().is_some_and(|a| a == "run") && !named {
        for (i, e) in extra.iter().enumerate() {
            args.insert(1 + i, e.into());
        }
    }
    args
}

/// Report a test that cannot run on this kernel or machine: the reason
/// goes to stderr and to skipped.txt in CARGO_TARGET_TMPDIR, which `make test` prints
/// at the end, so a skip is never mistaken for a pass. If `feature` is
/// listed in SANDBOX_TEST_REQUIRE (the kernel-matrix VM sets it), a skip is
/// a failure instead.
pub fn skip(test: &str, feature: &str, reason: &str) {
    let required = std::env::var("SANDBOX_TEST_REQUIRE").unwrap_or_default();
    if required.split(',').any(|f| f.trim() == feature) {
        panic!("{test}: {feature} is required here but {reason}");
    }
    eprintln!("SKIPPED {test}: {reason}");
    harness::note_skip(&format!("{test}: {reason}"));
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt");
    let line = format!("{test}: {reason}\n");
    let _ = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
}

/// The stage's probe (tests/probe/probe.c) run on the host as the test
/// uid; its stdout. What a test skips on must come from a look at the
/// kernel or host like this one, never from the product's own output (a
/// regression would then read as "not supported here").
pub fn host_probe(args: &[&str]) -> String {
    let out = as_test_user(&stage().probe)
        .args(args)
        .output()
        .expect("run the probe on the host");
    text(&out.stdout)
}

/// The Landlock ABI the kernel offers the test uid
/// (landlock_create_ruleset with LANDLOCK_CREATE_RULESET_VERSION, asked
/// by the probe on the host); `None` when it has none or has it disabled.
pub fn landlock_abi() -> Option<u32> {
    host_probe(&["landlock-abi"])
        .trim()
        .strip_prefix("landlock-abi ")?
        .parse()
        .ok()
}

/// Whether the kernel runs i386 code (IA32 emulation): `int 0x80` works
/// for the probe on the host.
pub fn host_has_ia32() -> bool {
    host_probe(&["i386"]).trim() == "i386 OK"
}

/// A command to run as the test uid: through setpriv when the suite is
/// root, directly otherwise.
pub fn as_test_user(prog: impl AsRef<std::ffi::OsStr>) -> Command {
    match stage().drop_to {
        Some((u, g)) => {
            let mut c = Command::new("setpriv");
            c.arg(format!("--reuid={u}"))
                .arg(format!("--regid={g}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(prog);
            c
        }
        None => Command::new(prog),
    }
}

pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    sandbox(args).output().expect("run sandbox")
}

/// `sandbox run ROOTFS ARGS…`; asserts exit 0 and returns stdout.
pub fn run_ok(args: &[&str]) -> String {
    let mut a = vec!["run".to_string(), rootfs_arg()];
    a.extend(args.iter().map(|s| s.to_string()));
    let out = run(&a);
    assert!(
        out.status.success(),
        "sandbox {a:?} exited {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn rootfs_arg() -> String {
    stage().rootfs.display().to_string()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A private copy of the rootfs, owned by the test uid, for tests that
/// write to it or hash it.
pub fn private_rootfs(name: &str) -> PathBuf {
    let st = stage();
    let dst = st.dir.join(format!("rootfs-{name}"));
    let _ = fs::remove_dir_all(&dst);
    sh(as_test_user("cp").arg("-a").arg(&st.rootfs).arg(&dst));
    dst
}

/// An empty directory in the stage, owned by the test uid.
pub fn test_dir(name: &str) -> PathBuf {
    let dst = stage().dir.join(name);
    let _ = fs::remove_dir_all(&dst);
    sh(as_test_user("mkdir").arg("-p").arg(&dst));
    dst
}

/// A hash of a tree: every path, type, mode, owner, size, content, link
/// target, modification and change time, and extended attribute (read by
/// the probe, as the suite's own uid: root sees trusted.* too). Equal
/// hashes: nothing changed, not even a time or a `user.*` xattr.
pub fn tree_hash(root: &Path) -> u64 {
    let mut entries = BTreeMap::new();
    walk(root, root, &mut entries);
    let xattrs = Command::new(&stage().probe)
        .arg("xattrs")
        .arg(root)
        .output()
        .expect("run the probe for the xattrs");
    assert!(xattrs.status.success(), "probe xattrs {}", root.display());
    let mut h = DefaultHasher::new();
    entries.hash(&mut h);
    xattrs.stdout.hash(&mut h);
    h.finish()
}

fn walk(root: &Path, p: &Path, out: &mut BTreeMap<String, String>) {
    let m = fs::symlink_metadata(p).unwrap();
    let rel = p.strip_prefix(root).unwrap().display().to_string();
    let mut desc = format!(
        "{:o} {} {} {} {}.{} {}.{}",
        m.mode(),
        m.uid(),
        m.gid(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    );
    if m.file_type().is_symlink() {
        desc += &format!(" -> {}", fs::read_link(p).unwrap().display());
    } else if m.is_file() {
        let mut h = DefaultHasher::new();
        fs::read(p).unwrap().hash(&mut h);
        desc += &format!(" {:x}", h.finish());
    } else if m.is_dir() {
        for e in fs::read_dir(p).unwrap() {
            walk(root, &e.unwrap().path(), out);
        }
    }
    out.insert(rel, desc);
}

/// The sandbox's PID 1 as seen from the host, once it has exec'd a command
/// named `comm` (any command with `None`). The launcher's host-side pid is
/// setpriv's (it execs), and PID 1 is its only child.
pub fn sandbox_init(launcher: u32, comm: Option<&str>) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let children = fs::read_to_string(format!("/proc/{launcher}/task/{launcher}/children"))
            .unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            let pid: u32 = pid.parse().unwrap();
            let name = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.is_none_or(|c| name.trim() == c) {
                return pid;
            }
        }
        assert!(Instant::now() < deadline, "sandbox never started {comm:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// kill(1) from the host, as the test's own (root or caller) uid.
pub fn send_signal(sig: &str, pid: u32) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} {pid} failed");
}

/// Run `sandbox ARGS` under a new pty (util-linux `script`), feeding
/// `input` slowly; returns what the terminal showed.
pub fn under_pty(args: &[String], input: &str) -> String {
    under_pty_when(args, input, None)
}

/// `under_pty`, typing `input` only once the file `ready` exists (half a
/// second in without one).
pub fn under_pty_when(args: &[String], input: &str, ready: Option<&Path>) -> String {
    let st = stage();
    let args = weaken(args.iter().map(Into::into).collect());
    let mut line = String::new();
    if let Some((u, g)) = st.drop_to {
        line += &format!("setpriv --reuid={u} --regid={g} --clear-groups -- ");
    }
    line += &st.bin.display().to_string();
    for a in &args {
        line += &format!(" '{}'", a.to_string_lossy());
    }
    // printf's format turns the \n escapes into the newlines typed (and
    // wants %% for a %).
    let wait = match ready {
        Some(p) => format!(
            "i=0; while [ ! -e '{}' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done",
            p.display()
        ),
        None => "sleep 0.5".to_string(),
    };
    let feeder = format!("{wait}; printf '{input}'; sleep 1");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "({feeder}) | timeout 30 script -qec \"$0\" /dev/null"
        ))
        .arg(&line)
        .current_dir(&st.dir)
        .output()
        .expect("script (util-linux) runs");
    text(&out.stdout).replace('\r', "")
}
