//! Subordinate ids (`--id-map`): the caller's ranges in /etc/subuid and
//! /etc/subgid, mapped through shadow's setuid helpers newuidmap and
//! newgidmap. The launcher never writes such a map itself: only the
//! helpers, which check /etc/subuid, may.
//!
//! Two layouts, chosen by who owns the rootfs's top directory:
//! - a tree made by the range (`mmdebstrap --mode=unshare` maps its root
//!   to the range's first id): 0…N-1 inside are the range, so its files
//!   show their own owners, and the caller is mapped too, as N (its own
//!   files, binds, stay reachable);
//! - any other tree, as podman does: 0 is the caller, 1…N the range.
//!
//! Ref: subuid(5), newuidmap(1), user_namespaces(7)

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{Error, Result};
use crate::plan::idmap::{helper, IdMap, Writer, HELPERS_HINT};

/// `--id-map`: how the sandbox's ids are mapped to the host's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdMapMode {
    /// One id: 0 inside is the caller (no helper needed).
    Single,
    /// 0 is the caller, 1…N the caller's subordinate range.
    Subuid,
    /// `Subuid` when the rootfs's top directory belongs to the first id
    /// of the caller's range (a tree built by `mmdebstrap --mode=unshare`),
    /// else `Single`.
    Auto,
}

/// One range of subordinate ids: `start..start+count` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: u32,
    pub count: u32,
}

/// The ranges a sandbox maps, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubIds {
    pub uid: Range,
    pub gid: Range,
    /// 0…N-1 inside are the range and the caller is N (a tree made by the
    /// range); else 0 is the caller and 1…N the range (podman's layout).
    pub range_is_root: bool,
}

impl SubIds {
    /// The highest uid and gid mapped inside (N, either layout).
    pub fn max_inside(&self) -> (u32, u32) {
        (self.uid.count, self.gid.count)
    }
}

/// The map lines a helper is given for the caller's id `own`.
pub fn map_lines(own: u32, r: Range, range_is_root: bool) -> [IdMap; 2] {
    if range_is_root {
        [
            IdMap {
                inside: 0,
                outside: r.start,
                count: r.count,
            },
            IdMap::single(r.count, own),
        ]
    } else {
        [
            IdMap::single(0, own),
            IdMap {
                inside: 1,
                outside: r.start,
                count: r.count,
            },
        ]
    }
}

/// The first range of `who` (its name or its number, as shadow matches
/// them) in a subuid/subgid file's text. Ref: subuid(5)
pub fn find_range(text: &str, name: Option<&str>, id: u32) -> Option<Range> {
    let id = id.to_string();
    text.lines().find_map(|line| {
        let mut f = line.trim().split(':');
        let (owner, start, count) = (f.next()?, f.next()?, f.next()?);
        if f.next().is_some() || !(Some(owner) == name || owner == id) {
            return None;
        }
        let r = Range {
            start: start.parse().ok()?,
            count: count.parse().ok()?,
        };
        // The kernel's limits: no wrap, never the invalid id.
        let fits = r.count > 0
            && r.start
                .checked_add(r.count)
                .is_some_and(|end| end < u32::MAX)
            && r.count < u32::MAX;
        fits.then_some(r)
    })
}

/// The login name of `uid` in /etc/passwd (shadow's helpers look ranges
/// up by name and by number; NSS-only users are found by number).
pub fn user_name(uid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    let id = uid.to_string();
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() >= 3 && f[2] == id).then(|| f[0].to_string())
    })
}

/// The caller's ranges, each None when /etc/subuid (/etc/subgid) has none.
pub fn caller_ranges() -> (Option<Range>, Option<Range>) {
    let uid = crate::sys::geteuid();
    let gid = crate::sys::getegid();
    let name = user_name(uid);
    let read = |f: &str, id: u32| {
        std::fs::read_to_string(f)
            .ok()
            .and_then(|t| find_range(&t, name.as_deref(), id))
    };
    (read("/etc/subuid", uid), read("/etc/subgid", gid))
}

fn ranges_hint(uid: u32) -> String {
    let who = user_name(uid).unwrap_or_else(|| uid.to_string());
    format!(
        "ask an administrator for a range: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {who}"
    )
}

/// Resolve `--id-map` for a rootfs: `None` is the single mapping.
/// `subuid` without a range or a helper is an error naming the fix;
/// `auto` quietly falls back to the single mapping.
pub fn resolve(mode: IdMapMode, rootfs: &Path) -> Result<Option<SubIds>> {
    if mode == IdMapMode::Single {
        return Ok(None);
    }
    let owner = std::fs::metadata(rootfs).map(|m| m.uid()).ok();
    // The common case, a tree you own yourself (the BusyBox one): `auto`
    // means the single mapping, with no look at /etc/subuid, /etc/subgid
    // or PATH (they cost a launch some 40 system calls).
    if mode == IdMapMode::Auto && owner == Some(crate::sys::geteuid()) {
        return Ok(None);
    }
    let (uids, gids) = caller_ranges();
    let helpers = helper("newuidmap").is_some() && helper("newgidmap").is_some();
    let made_by = |u: Range| owner == Some(u.start);
    if mode == IdMapMode::Auto {
        return Ok(match (uids, gids) {
            (Some(u), Some(g)) if helpers && made_by(u) => Some(SubIds {
                uid: u,
                gid: g,
                range_is_root: true,
            }),
            _ => None,
        });
    }
    let uid = crate::sys::geteuid();
    let (Some(u), Some(g)) = (uids, gids) else {
        let file = if uids.is_none() {
            "/etc/subuid"
        } else {
            "/etc/subgid"
        };
        return Err(Error::msg(
            "--id-map subuid",
            format!("you (uid {uid}) have no subordinate id range"),
        )
        .with_path(file)
        .with_hint(ranges_hint(uid)));
    };
    for name in ["newuidmap", "newgidmap"] {
        if helper(name).is_none() {
            return Err(Error::msg(
                "--id-map subuid",
                format!("{name} is not installed (not on PATH, /usr/bin or /usr/sbin)"),
            )
            .with_hint(HELPERS_HINT));
        }
    }
    Ok(Some(SubIds {
        uid: u,
        gid: g,
        range_is_root: made_by(u),
    }))
}

/// Check `--uid`/`--gid` against the mapped ranges: with subordinate ids
/// they are ids of the sandbox's own namespace, 0…N.
pub fn check_ids(s: &SubIds, uid: u32, gid: u32) -> Result<()> {
    let (mu, mg) = s.max_inside();
    for (opt, v, max) in [("--uid", uid, mu), ("--gid", gid, mg)] {
        if v > max {
            return Err(Error::msg(
                opt,
                format!("{v} is outside the ids mapped by --id-map subuid (0 to {max})"),
            )
            .with_hint("choose an id inside your subordinate range, or use --id-map single"));
        }
    }
    Ok(())
}

/// Run newuidmap/newgidmap for `pid` (the launcher's unreleased child),
/// through the one id-map writer.
pub fn write_maps(pid: i32, s: &SubIds) -> Result<()> {
    let uids = map_lines(crate::sys::geteuid(), s.uid, s.range_is_root);
    let gids = map_lines(crate::sys::getegid(), s.gid, s.range_is_root);
    crate::plan::idmap::write(pid, &uids, &gids, Writer::Helpers).map_err(|mut e| {
        e.hint = e.hint.map(|h| format!("{h}, or use --id-map single"));
        e
    })
}

/// `sandbox doctor`'s line: (usable, text).
pub fn doctor_line() -> (bool, String) {
    let uid = crate::sys::geteuid();
    let (u, g) = caller_ranges();
    let show = |r: Option<Range>, f: &str| match r {
        Some(r) => format!(
            "{f} {}-{} ({} ids)",
            r.start,
            r.start + (r.count - 1),
            r.count
        ),
        None => format!("{f}: none"),
    };
    let helpers: Vec<String> = ["newuidmap", "newgidmap"]
        .iter()
        .map(|n| match helper(n) {
            Some(p) => format!("{n} at {}", p.display()),
            None => format!("{n} missing"),
        })
        .collect();
    let have_helpers = helper("newuidmap").is_some() && helper("newgidmap").is_some();
    let ok = u.is_some() && g.is_some() && have_helpers;
    let mut text = format!(
        "{}, {}; {}",
        show(u, "/etc/subuid"),
        show(g, "/etc/subgid"),
        helpers.join(", ")
    );
    if ok {
        text += " (--id-map subuid can show a tree's own owners)";
    } else {
        text += " (--id-map subuid unavailable: ";
        if !have_helpers {
            text += HELPERS_HINT;
            if u.is_none() || g.is_none() {
                text += "; ";
            }
        }
        if u.is_none() || g.is_none() {
            text += &ranges_hint(uid);
        }
        text += ")";
    }
    (ok, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_by_name_or_number() {
        let t = "alice:100000:65536\n1001:200000:1000\nbad\nbob:x:1\n";
        assert_eq!(
            find_range(t, Some("alice"), 1000),
            Some(Range {
                start: 100000,
                count: 65536
            })
        );
        assert_eq!(
            find_range(t, None, 1001),
            Some(Range {
                start: 200000,
                count: 1000
            })
        );
        assert_eq!(find_range(t, Some("bob"), 7), None);
        assert_eq!(find_range("x:4294967295:1\n", Some("x"), 1), None);
        assert_eq!(find_range("x:1:0\n", Some("x"), 1), None);
    }

    #[test]
    fn lines_map_zero_to_the_caller() {
        let r = Range {
            start: 100000,
            count: 65536,
        };
        let [a, b] = map_lines(1000, r, false);
        assert_eq!(a.to_string(), "0 1000 1");
        assert_eq!(b.to_string(), "1 100000 65536");
        let [a, b] = map_lines(1000, r, true);
        assert_eq!(a.to_string(), "0 100000 65536");
        assert_eq!(b.to_string(), "65536 1000 1");
    }

    #[test]
    fn ids_inside_the_range() {
        let s = SubIds {
            uid: Range {
                start: 100000,
                count: 65536,
            },
            gid: Range {
                start: 100000,
                count: 10,
            },
            range_is_root: false,
        };
        assert!(check_ids(&s, 65536, 10).is_ok());
        assert!(check_ids(&s, 65537, 0).is_err());
        assert!(check_ids(&s, 0, 11).is_err());
    }
}
