//! The one rule for a state directory, used by both front ends: `sandbox`'s
//! (`$XDG_RUNTIME_DIR/sandbox`, else `/tmp/sandbox-run-UID`; named/state.rs) and
//! `sandbox-oci`'s (`--root`, else its default; oci/state.rs). What is in
//! one decides what runs as its owner (sandbox-oci's poststop hooks come
//! from the config.json kept there) and holds secrets (a container's
//! environment), so another user must be able neither to plant nor to
//! read it (docs/SECURITY.md, "The state directory").
//!
//! The directory is opened with O_PATH|O_DIRECTORY|O_NOFOLLOW and checked
//! on that descriptor (fstat), never by a path looked up again: it is not a
//! symlink, it is a directory, it belongs to the caller (the effective
//! uid, as the caller's user namespace sees it: rootless podman runs us as
//! its uid 0), and other users cannot write to it. A default directory
//! (`Access::Private`) must also be closed to them entirely (mode 0700);
//! one an engine names with `--root` (which may be 0711 or 0755) only
//! has to be closed to their writes. Made here, it is 0700.
//! Anything else is refused, naming the path and its owner.
//!
//! After the check the directory is used by its path: only who may write
//! its parent could put another directory under that name, which for the
//! defaults is the caller alone (a sticky /tmp, an XDG_RUNTIME_DIR of
//! their own) and for `--root` is whoever chose that path.

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use crate::sys;

/// Who else may use a state directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Nobody: no permission bit for group or others (0700). The
    /// defaults of both front ends.
    Private,
    /// Nobody may write: group and others may search or read (0711 and
    /// 0755 pass). A `--root` the engine chose.
    Shared,
}

/// Open and check `path` (docs above); its path back when it passes. `create`: make it (0700; with its
/// missing parents when `Shared`, as runc does for `--root`) when it is
/// not there; otherwise None when it is not there. `hint` is what the
/// user can do about a refused directory.
pub fn open(path: &Path, create: bool, access: Access, hint: &str) -> Result<Option<PathBuf>> {
    if create {
        let made = fs::DirBuilder::new()
            .mode(0o700)
            .recursive(access == Access::Shared)
            .create(path);
        match made {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).ctx("create the state directory", path.display()),
        }
    }
    let refuse = |why: String| {
        Error::msg("state directory", format!("{why}; refusing to use it"))
            .with_path(path.display().to_string())
            .with_hint(hint)
    };
    // O_PATH: a directory closed to us (another user's 0700) is still
    // opened, and refused for whose it is rather than for EACCES.
    let opened = sys::open_path(path, libc::O_DIRECTORY | libc::O_NOFOLLOW);
    let dir = match opened {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !create => return Ok(None),
        // A symlink (O_NOFOLLOW with O_DIRECTORY answers ENOTDIR; ELOOP
        // without it) or not a directory: say which, and whose.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) => {
            let why = match fs::symlink_metadata(path) {
                Ok(m) if m.file_type().is_symlink() => {
                    format!("is a symlink (made by {})", who(m.uid()))
                }
                Ok(m) => format!("is not a directory (it belongs to {})", who(m.uid())),
                Err(_) => "is not a directory".to_string(),
            };
            return Err(refuse(why));
        }
        Err(e) => return Err(e).ctx("state directory", path.display()),
    };
    let st = sys::fstat(dir.as_fd()).ctx("check the state directory", path.display())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(refuse(format!(
            "is not a directory (it belongs to {})",
            who(st.st_uid)
        )));
    }
    match problem(st.st_uid, st.st_mode, access) {
        None => Ok(Some(path.to_path_buf())),
        Some(why) => Err(refuse(why)),
    }
}

/// What is wrong with a directory of owner `uid` and `mode`, if anything.
fn problem(uid: u32, mode: u32, access: Access) -> Option<String> {
    let me = sys::geteuid();
    let closed = match access {
        Access::Private => 0o077,
        Access::Shared => 0o022,
    };
    if uid != me {
        Some(format!(
            "belongs to another user, {}, not to you (uid {me})",
            who(uid)
        ))
    } else if mode & closed != 0 {
        Some(format!(
            "is open to other users (mode {:04o}; {})",
            mode & 0o7777,
            match access {
                Access::Private => "it must be 0700",
                Access::Shared => "group and others must not write to it",
            }
        ))
    } else {
        None
    }
}

/// `uid 1001 (bob)`, or `uid 1001` for a uid /etc/passwd does not name.
fn who(uid: u32) -> String {
    match crate::plan::subid::user_name(uid) {
        Some(n) => format!("uid {uid} ({n})"),
        None => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let me = sys::geteuid();
        assert_eq!(problem(me, 0o40700, Access::Private), None);
        assert_eq!(problem(me, 0o40700, Access::Shared), None);
        assert_eq!(problem(me, 0o40711, Access::Shared), None);
        assert_eq!(problem(me, 0o40755, Access::Shared), None);
        for m in [0o40710, 0o40701, 0o40755, 0o40777] {
            assert!(problem(me, m, Access::Private).is_some(), "{m:o}");
        }
        for m in [0o40770, 0o40702, 0o40777, 0o41777] {
            assert!(problem(me, m, Access::Shared).is_some(), "{m:o}");
        }
        let other = me.wrapping_add(1);
        let why = problem(other, 0o40700, Access::Shared).unwrap();
        assert!(why.contains(&format!("uid {other}")), "{why}");
    }

    #[test]
    fn refuses_a_symlink_and_names_it() {
        let base = std::env::temp_dir().join(format!("statedir-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir(&base).unwrap();
        let real = base.join("real");
        let link = base.join("link");
        assert_eq!(
            open(&real, true, Access::Private, "h").unwrap(),
            Some(real.clone())
        );
        assert_eq!(fs::metadata(&real).unwrap().mode() & 0o777, 0o700);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let e = open(&link, false, Access::Private, "h").unwrap_err();
        assert!(e.to_string().contains("is a symlink"), "{e}");
        assert_eq!(e.path.as_deref(), Some(link.to_str().unwrap()));
        assert!(open(&base.join("none"), false, Access::Private, "h")
            .unwrap()
            .is_none());
        fs::remove_dir_all(&base).unwrap();
    }
}
