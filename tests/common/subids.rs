//! A subordinate id range for the test uid, for the tests that map
//! several ids through newuidmap/newgidmap (tests/idmap.rs, tests/oci.rs).
//!
//! Run as root (CI), it gives the test uid what shadow's helpers want when
//! it has none: a group and a passwd entry (newuidmap looks the caller up
//! by name, and wants its primary group to be the current gid) and a range
//! in /etc/subuid and /etc/subgid. Otherwise it uses the user's own range.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use super::{stage, text};

pub const COUNT: u32 = 65536;

/// The test user's (start, count), or why there is none: shadow's helpers
/// are not installed, or (run unprivileged) the user has no range. Run as
/// root with the helpers there, failing to set one up is a failure of the
/// test (a panic), never a skip.
pub fn range() -> Result<(u32, u32), String> {
    static R: OnceLock<Result<(u32, u32), String>> = OnceLock::new();
    R.get_or_init(set_up).clone()
}

fn find(file: &str, names: &[String]) -> Option<(u32, u32)> {
    let text = fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() == 3 && names.iter().any(|n| n == f[0]))
            .then(|| Some((f[1].parse().ok()?, f[2].parse().ok()?)))
            .flatten()
    })
}

fn set_up() -> Result<(u32, u32), String> {
    for h in ["newuidmap", "newgidmap"] {
        if !Path::new("/usr/bin").join(h).exists() {
            return Err(format!("{h} is not installed (Debian: uidmap)"));
        }
    }
    let st = stage();
    let uid = st.host_uid;
    let name_of = |uid: u32| {
        let out = Command::new("getent")
            .args(["passwd", &uid.to_string()])
            .output()
            .ok()?;
        let line = text(&out.stdout);
        line.split(':')
            .next()
            .filter(|n| !n.is_empty())
            .map(str::to_string)
    };
    if let Some((u, g)) = st.drop_to {
        if name_of(u).is_none() {
            let name = format!("sandbox-test-{u}");
            let has_group = Command::new("getent")
                .args(["group", &g.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if !has_group {
                let ok = Command::new("groupadd")
                    .args(["-g", &g.to_string(), &name])
                    .status()
                    .is_ok_and(|s| s.success());
                // Another test binary may have added it meanwhile.
                let there = Command::new("getent")
                    .args(["group", &g.to_string()])
                    .status()
                    .is_ok_and(|s| s.success());
                assert!(ok || there, "cannot add a group for gid {g} (groupadd)");
            }
            let ok = Command::new("useradd")
                .args(["-M", "-N", "-s", "/usr/sbin/nologin"])
                .args(["-u", &u.to_string(), "-g", &g.to_string(), &name])
                .stderr(std::process::Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok || name_of(u).is_some(),
                "cannot add a passwd entry for uid {u} (useradd)"
            );
        }
    }
    let mut names = vec![uid.to_string()];
    names.extend(name_of(uid));
    match (
        find("/etc/subuid", &names),
        find("/etc/subgid", &names),
        st.drop_to,
    ) {
        (Some(u), Some(g), _) if u.0 == g.0 && u.1 >= 2000 => Ok(u),
        (None, None, Some(_)) => {
            // A range of its own, far above the usual 100000-based ones.
            let start = 1_000_000_000 + (uid % 10000) * COUNT;
            let line = format!("{uid}:{start}:{COUNT}\n");
            for f in ["/etc/subuid", "/etc/subgid"] {
                let mut old = fs::read_to_string(f).unwrap_or_default();
                old.push_str(&line);
                fs::write(f, old).unwrap_or_else(|e| panic!("cannot write {f}: {e}"));
            }
            Ok((start, COUNT))
        }
        (u, g, None) => Err(format!(
            "uid {uid} has no usable range (the same start in /etc/subuid and /etc/subgid, 2000 ids or more): {u:?} {g:?}"
        )),
        (u, g, Some(_)) => panic!(
            "uid {uid}'s ranges in /etc/subuid and /etc/subgid are unusable (not the same start, or fewer than 2000 ids): {u:?} {g:?}"
        ),
    }
}
