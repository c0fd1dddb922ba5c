//! The one writer of a new user namespace's id maps, for `sandbox run`
//! and `sandbox-oci create`: uid_map, "deny" to setgroups where needed,
//! gid_map, written by us where the kernel lets us, else through shadow's
//! setuid helpers newuidmap and newgidmap (which check /etc/subuid and
//! /etc/subgid). Also the map lines themselves.
//!
//! A line is `inside outside count`: ids `inside..inside+count` in the new
//! namespace stand for `outside..outside+count` in the parent one.
//! Ref: user_namespaces(7), "User and group ID mappings: uid_map and gid_map";
//! newuidmap(1), newgidmap(1)

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::error::{Context, Error, Result};
use crate::sys;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub inside: u32,
    pub outside: u32,
    pub count: u32,
}

impl IdMap {
    /// The single mapping a rootless launcher may write: one id inside for
    /// the caller's own id outside.
    pub fn single(inside: u32, outside: u32) -> Self {
        IdMap {
            inside,
            outside,
            count: 1,
        }
    }

    /// Parse one line as the kernel prints it (fields separated by runs of
    /// spaces, optional trailing newline); the tests read maps back with it.
    #[cfg(test)]
    pub fn parse_line(line: &str) -> std::result::Result<IdMap, String> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [inside, outside, count] = fields[..] else {
            return Err(format!("expected 3 fields in id map line {line:?}"));
        };
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("bad number {s:?} in id map line {line:?}"))
        };
        let m = IdMap {
            inside: num(inside)?,
            outside: num(outside)?,
            count: num(count)?,
        };
        m.check()?;
        Ok(m)
    }

    /// The kernel's own limits: a non-empty range that does not wrap, and
    /// never maps the invalid id 4294967295. Ref: kernel/user_namespace.c
    #[cfg(test)]
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.count == 0 {
            return Err("id map range is empty".into());
        }
        let last = |start: u32| start.checked_add(self.count - 1);
        match (last(self.inside), last(self.outside)) {
            (Some(a), Some(b)) if a != u32::MAX && b != u32::MAX => Ok(()),
            _ => Err(format!("id map range {self} runs past the last valid id")),
        }
    }
}

impl fmt::Display for IdMap {
    /// The line written to /proc/PID/{uid,gid}_map.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.inside, self.outside, self.count)
    }
}

/// Who writes a new user namespace's maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// We do, with "deny" written to setgroups first, as root too:
    /// `sandbox run`'s single mapping of the caller's own ids, which the
    /// kernel lets an unprivileged process write only with setgroups
    /// denied (CVE-2014-8989). A kernel without the setgroups file (before
    /// 3.19) has no such hole and needs no "deny".
    Launcher,
    /// newuidmap and newgidmap alone (`sandbox run --id-map subuid`): the
    /// launcher never writes such a map itself, even where it could.
    /// setgroups is left as the helpers leave it (allowed).
    Helpers,
    /// Each map by us where the kernel lets us (root, or a single line of
    /// our own id), else by the helper: sandbox-oci, as runc does. "deny"
    /// goes to setgroups only when the kernel refused a gid map of one
    /// line for our own gid, which we then write ourselves: a rootless
    /// create's usual `[{0, our gid, 1}]`, where runc denies too. As root
    /// (or root of a user namespace, `podman unshare`) nothing is denied,
    /// and neither is it for a map through newgidmap: the container may
    /// then call setgroups, as under runc.
    LauncherElseHelpers,
}

/// uid_map or gid_map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uid,
    Gid,
}

impl Kind {
    fn file(self) -> &'static str {
        match self {
            Kind::Uid => "uid_map",
            Kind::Gid => "gid_map",
        }
    }

    fn helper(self) -> &'static str {
        match self {
            Kind::Uid => "newuidmap",
            Kind::Gid => "newgidmap",
        }
    }
}

/// What to do when newuidmap/newgidmap is missing.
pub const HELPERS_HINT: &str =
    "install shadow's helpers newuidmap and newgidmap (Debian, Ubuntu: apt install uidmap)";

/// Write the uid and gid maps of `pid`'s user namespace (a child of ours
/// that waits for them), as `by` says. Errors name the step, the file or
/// the helper, and the errno or what the helper said.
pub fn write(pid: i32, uids: &[IdMap], gids: &[IdMap], by: Writer) -> Result<()> {
    for (kind, maps) in [(Kind::Uid, uids), (Kind::Gid, gids)] {
        if by == Writer::Helpers {
            run_helper(pid, kind, maps)?;
            continue;
        }
        if by == Writer::Launcher && kind == Kind::Gid {
            deny_setgroups(pid)?;
        }
        match write_file(pid, kind, maps) {
            Ok(()) => continue,
            Err(e) if by == Writer::LauncherElseHelpers && e.raw_errno() == Some(libc::EPERM) => {}
            Err(e) => return Err(e),
        }
        if kind == Kind::Gid && matches!(maps, [m] if m.outside == sys::getegid() && m.count == 1) {
            deny_setgroups(pid)?;
            write_file(pid, kind, maps)?;
            continue;
        }
        run_helper(pid, kind, maps)?;
    }
    Ok(())
}

/// The whole map in one write(2), as the kernel requires.
fn write_file(pid: i32, kind: Kind, maps: &[IdMap]) -> Result<()> {
    let path = format!("/proc/{pid}/{}", kind.file());
    std::fs::write(&path, map_text(maps)).ctx(&format!("write {}", kind.file()), &path)
}

fn map_text(maps: &[IdMap]) -> String {
    maps.iter().map(|m| format!("{m}\n")).collect()
}

/// The maps of our own new user namespace (the child stage's nested one
/// for --uid/--gid), written through `proc_self`, our /proc/self opened
/// while a procfs that shows us was in view: a root built by the bwrap
/// front end may have no /proc of its own, or the host's, where PID 1 is
/// not us. setgroups is "deny" already (inherited).
pub fn write_own(
    proc_self: std::os::fd::BorrowedFd<'_>,
    uids: &[IdMap],
    gids: &[IdMap],
) -> Result<()> {
    for (kind, maps) in [(Kind::Uid, uids), (Kind::Gid, gids)] {
        let shown = format!("/proc/self/{}", kind.file());
        let fd = sys::openat(proc_self, std::ffi::OsStr::new(kind.file()), libc::O_WRONLY)
            .ctx(&format!("write {}", kind.file()), &shown)?;
        std::io::Write::write_all(&mut std::fs::File::from(fd), map_text(maps).as_bytes())
            .ctx(&format!("write {}", kind.file()), &shown)?;
    }
    Ok(())
}

/// "deny" to setgroups, before an unprivileged gid_map: else a user could
/// drop supplementary groups that deny it access. Kernels before 3.19
/// have no such file and no such hole.
/// Ref: CVE-2014-8989, user_namespaces(7) "/proc/[pid]/setgroups"
fn deny_setgroups(pid: i32) -> Result<()> {
    let path = format!("/proc/{pid}/setgroups");
    match std::fs::write(&path, "deny") {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(()),
        r => r.ctx("write setgroups", &path),
    }
}

/// newuidmap/newgidmap `pid` with the lines; its stderr in the error.
fn run_helper(pid: i32, kind: Kind, maps: &[IdMap]) -> Result<()> {
    let name = kind.helper();
    let Some(prog) = helper(name) else {
        return Err(Error::msg(
            "map subordinate ids",
            format!("{name} is not installed (not on PATH, /usr/bin or /usr/sbin)"),
        )
        .with_hint(HELPERS_HINT));
    };
    let mut cmd = std::process::Command::new(&prog);
    sys::only_stdio(&mut cmd);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([m.inside, m.outside, m.count].map(|v| v.to_string()));
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            Error::msg("map subordinate ids", format!("cannot run {name}: {e}"))
                .with_path(prog.display().to_string())
        })?;
    if out.status.success() {
        return Ok(());
    }
    // One line: what the helper said, its lines joined.
    let said = String::from_utf8_lossy(&out.stderr);
    let said: Vec<&str> = said
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let said = said.join("; ");
    // shadow's helpers want the caller in the user database, with the
    // current gid as its primary group.
    let hint = if said.contains("user name") || said.contains("different user") {
        "newuidmap/newgidmap need an entry for your uid in /etc/passwd whose group is your current gid"
    } else {
        "check your ranges in /etc/subuid and /etc/subgid ('sandbox doctor' shows them)"
    };
    Err(Error::msg(
        "map subordinate ids",
        format!("{name} failed ({}): {said}", out.status),
    )
    .with_path(prog.display().to_string())
    .with_hint(hint))
}

/// A helper (newuidmap, newgidmap) on PATH, else in /usr/bin or /usr/sbin.
pub fn helper(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin"));
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `write` for a child of ours in our own user namespace, whose maps
    /// are set already: it fails, and says where and why. Its pid too.
    fn refused(m: IdMap, by: Writer) -> (i32, Error) {
        let mut c = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        let pid = c.id() as i32;
        let e = write(pid, &[m], &[m], by).unwrap_err();
        let _ = c.kill();
        let _ = c.wait();
        (pid, e)
    }

    #[test]
    fn a_refused_write_names_the_step_the_file_and_the_errno() {
        let (pid, e) = refused(IdMap::single(0, 0), Writer::Launcher);
        assert_eq!(e.step, "write uid_map");
        assert_eq!(e.path, Some(format!("/proc/{pid}/uid_map")));
        assert_eq!(e.raw_errno(), Some(libc::EPERM));
    }

    #[test]
    fn a_failed_helper_is_named_with_what_it_said() {
        if helper("newuidmap").is_none() {
            eprintln!("skipped: no newuidmap here");
            return;
        }
        let (_, e) = refused(IdMap::single(0, 4_000_000_000), Writer::Helpers);
        assert_eq!(e.step, "map subordinate ids");
        assert!(e.path.as_deref().unwrap().ends_with("/newuidmap"), "{e}");
        let said = e.to_string();
        assert!(said.contains("newuidmap failed (exit status: "), "{said}");
        // shadow's own words follow, on the same line.
        assert!(said.contains("): newuidmap: "), "{said}");
        assert!(!said.contains('\n'), "{said}");
        assert!(e.hint.is_some());
    }

    #[test]
    fn single_mapping_line() {
        assert_eq!(IdMap::single(0, 1000).to_string(), "0 1000 1");
    }

    #[test]
    fn parses_kernel_output() {
        let m = IdMap::parse_line("         0      65534          1\n").unwrap();
        assert_eq!(m, IdMap::single(0, 65534));
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in [
            "",
            "0 1",
            "0 1 2 3",
            "a 1 1",
            "0 1 0",
            "-1 0 1",
            "4294967295 0 1",
            "0 4294967294 2",
        ] {
            assert!(IdMap::parse_line(bad).is_err(), "{bad:?} accepted");
        }
    }

    proptest! {
        #[test]
        fn valid_maps_round_trip(inside in 0u32..u32::MAX, outside in 0u32..u32::MAX, count in 1u32..1000) {
            let m = IdMap { inside, outside, count };
            prop_assume!(m.check().is_ok());
            prop_assert_eq!(IdMap::parse_line(&m.to_string()).unwrap(), m);
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = IdMap::parse_line(&s);
        }
    }
}
