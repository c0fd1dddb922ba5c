//! Mount points inside a root that someone else filled: the one walk that
//! finds (or makes) them, for `sandbox run` (rootfs.rs) and `sandbox-oci`
//! (oci/mounts.rs) alike, and the masks put over them.
//!
//! The walk is ours, one component at a time from a held directory fd with
//! O_NOFOLLOW: `..` never goes above the root, a symlink (when followed at
//! all) is read and its target walked the same way from the root or the
//! current directory, and what is missing is created in the directory we
//! hold (mkdirat, or openat with O_CREAT|O_EXCL|O_NOFOLLOW), never through
//! a joined path. So nothing outside the root is ever created or mounted
//! on, whatever the root holds or a racing rename does, and each mount goes
//! onto the very inode the walk checked (named as /proc/self/fd/N).
//! Ref: CVE-2021-30465 (runc: a symlink swapped in during set-up sent a
//! mount to the host); runc's MkdirAllInRoot.
//!
//! A file is masked with the null device only after fstat of the very fd
//! bound says it is char 1:3. Ref: CVE-2025-31133 (runc masked with a
//! /dev/null the container could swap for a symlink).

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use libc::c_ulong;

use crate::error::{Context, Error, Result};
use crate::sys;

/// The name a mount call can take for what `fd` is open on.
pub fn fd_path(fd: &OwnedFd) -> OsString {
    format!("/proc/self/fd/{}", fd.as_raw_fd()).into()
}

/// A mount point inside the root, reached without following any symlink
/// out of it: its parent directory (held open, so a rename elsewhere
/// cannot move us) and its name in it.
pub struct Target {
    parent: Rc<OwnedFd>,
    name: OsString,
    /// For messages: the path inside the root.
    shown: String,
    /// What was checked at the mount point, kept for the first mount, so
    /// that it goes onto that very inode (and no second lookup is made).
    found: Cell<Option<OwnedFd>>,
    /// Its file type (S_IFMT bits) when the walk found it.
    kind: libc::mode_t,
}

impl Target {
    /// `name` in the directory `parent` holds, found there as `fd` (of
    /// type `kind`): for a directory the caller made itself and holds.
    pub fn in_dir(
        parent: &Rc<OwnedFd>,
        name: &OsStr,
        shown: String,
        fd: Option<OwnedFd>,
        kind: libc::mode_t,
    ) -> Target {
        Target {
            parent: Rc::clone(parent),
            name: name.to_os_string(),
            shown,
            found: Cell::new(fd),
            kind,
        }
    }

    /// The path inside the root, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether the walk found a directory there.
    pub fn is_dir(&self) -> bool {
        self.kind == libc::S_IFDIR
    }

    /// An O_PATH fd of what is at the mount point now. After a mount, this
    /// is the root of the new mount: looking a name up in its parent
    /// crosses onto what is mounted there.
    pub fn open(&self) -> Result<OwnedFd> {
        sys::openat(
            self.parent.as_fd(),
            &self.name,
            libc::O_PATH | libc::O_NOFOLLOW,
        )
        .ctx("open mount point", &self.shown)
    }

    /// What the walk found there (for the first use), else what is there
    /// now.
    pub fn checked(&self) -> Result<OwnedFd> {
        match self.found.take() {
            Some(fd) => Ok(fd),
            None => self.open(),
        }
    }

    /// Mount onto this point by its /proc/self/fd name, so the kernel
    /// mounts on the very inode we checked: the one found by the walk for
    /// the first mount, what is there now for a later one.
    pub fn mount(
        &self,
        src: Option<&OsStr>,
        fstype: Option<&str>,
        flags: c_ulong,
        data: Option<&str>,
        step: &str,
    ) -> Result<()> {
        let at = self.checked()?;
        sys::mount(src, &fd_path(&at), fstype, flags, data).ctx(step, &self.shown)
    }
}

/// An error for a mount point the walk will not use.
pub fn refuse(shown: &str, what: &str) -> Error {
    Error::msg(
        "mount point",
        format!("{what} in the rootfs; refusing to mount there"),
    )
    .with_path(shown.to_string())
}

/// Symlinks in a path handed to `target`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// One of our own mount points (/proc, /dev, /tmp, /sys, /dev/console):
    /// a symlink there is refused. Ref: CVE-2023-27561 (runc mounting
    /// procfs through a symlinked /proc)
    Refuse,
    /// A bind or OCI mount destination: symlinks are resolved inside the
    /// root, as a user of a merged-/usr rootfs expects (`/bin/x` means
    /// `/usr/bin/x`), and as the OCI runtime spec says.
    ResolveInside,
}

/// What `target` does with a mount point that is not there.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Make {
    /// Make a directory (and what is missing above it); what is there must
    /// be a directory.
    Dir,
    /// Make an empty file (directories above it); what is there must not
    /// be a directory.
    File,
    /// Make nothing; what is there may be of any type.
    Nothing,
}

/// How many symlinks one walk may follow, as the kernel's own limit.
const MAX_LINKS: u32 = 40;

/// Find or create the mount point `path` (absolute, inside the root held
/// by `root`) as a directory or an empty file (see the module's comment).
pub fn target(root: &OwnedFd, path: &Path, dir: bool, links: Links) -> Result<Target> {
    let make = if dir { Make::Dir } else { Make::File };
    Ok(walk(root, path, make, links, 0o755)?
        .expect("made when missing")
        .0)
}

/// `target`, with the directories it makes given `dir_mode` (less the
/// umask), and whether it made the last component itself (the caller
/// then sets its mode: a root built by the bwrap front end).
pub fn target_made(
    root: &OwnedFd,
    path: &Path,
    make: Make,
    links: Links,
    dir_mode: u32,
) -> Result<(Target, bool)> {
    Ok(walk(root, path, make, links, dir_mode)?.expect("made when missing"))
}

/// What is at `path` inside the root, if anything: None when a component
/// is missing (or not a directory). Nothing is created.
pub fn existing(root: &OwnedFd, path: &Path, links: Links) -> Result<Option<Target>> {
    Ok(walk(root, path, Make::Nothing, links, 0o755)?.map(|(t, _)| t))
}

fn walk(
    root: &OwnedFd,
    path: &Path,
    make: Make,
    links: Links,
    dir_mode: u32,
) -> Result<Option<(Target, bool)>> {
    let mut w = Walk {
        dir_mode,
        made_last: false,
        given: path.display().to_string(),
        stack: vec![(open_dir(root).ctx("open", "/")?, OsString::new())],
        pending: path
            .components()
            .map(|c| c.as_os_str().to_os_string())
            .collect(),
        followed: 0,
        links,
    };
    while let Some(name) = w.pending.pop_front() {
        if w.dots(&name) {
            continue;
        }
        let last = w.pending.is_empty();
        let shown = w.shown(&name);
        let want = match (make, last) {
            (Make::Nothing, _) => None,
            (Make::File, true) => Some(false),
            _ => Some(true),
        };
        let Some(fd) = w.open_or_create(&name, &shown, want, last)? else {
            return Ok(None);
        };
        let mode = sys::fstat(fd.as_fd())
            .ctx("stat mount point", &shown)?
            .st_mode
            & libc::S_IFMT;
        if mode == libc::S_IFLNK {
            w.follow(&name, &shown, last)?;
        } else if last {
            let made = w.made_last;
            return w
                .finish(fd, mode, make, name, shown)
                .map(|t| Some((t, made)));
        } else if mode != libc::S_IFDIR {
            if make == Make::Nothing {
                return Ok(None);
            }
            return Err(refuse(&shown, "is not a directory"));
        } else {
            w.stack.push((fd, name));
        }
    }
    Err(refuse(&w.given, "is the root itself"))
}

fn open_dir(fd: &OwnedFd) -> std::io::Result<OwnedFd> {
    sys::openat(
        fd.as_fd(),
        OsStr::new("."),
        libc::O_PATH | libc::O_DIRECTORY,
    )
}

/// One walk: the directories entered so far (the root first, never
/// popped) and the names still to look up, symlink targets spliced in
/// front.
struct Walk {
    /// The mode of the directories made (less the umask).
    dir_mode: u32,
    /// Whether the last component was made by this walk.
    made_last: bool,
    given: String,
    stack: Vec<(OwnedFd, OsString)>,
    pending: VecDeque<OsString>,
    followed: u32,
    links: Links,
}

impl Walk {
    /// `.`, empty names and `/` are skipped; `..` goes up, but never above
    /// the root. Returns whether `name` was one of those.
    fn dots(&mut self, name: &OsStr) -> bool {
        match name.as_bytes() {
            b"/" | b"." | b"" => true,
            b".." => {
                if self.stack.len() > 1 {
                    self.stack.pop();
                }
                true
            }
            _ => false,
        }
    }

    /// The path inside the root, for messages.
    fn shown(&self, name: &OsStr) -> String {
        let mut p = PathBuf::from("/");
        for (_, n) in &self.stack[1..] {
            p.push(n);
        }
        p.push(name);
        p.display().to_string()
    }

    fn cur(&self) -> &OwnedFd {
        &self.stack.last().expect("the root stays").0
    }

    /// An O_PATH fd of `name` in the current directory, never following a
    /// symlink; a missing one is made when `make` says what (a directory,
    /// or an empty file), else None.
    fn open_or_create(
        &mut self,
        name: &OsStr,
        shown: &str,
        make: Option<bool>,
        last: bool,
    ) -> Result<Option<OwnedFd>> {
        let cur = self.cur();
        match sys::openat(cur.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => return Ok(Some(fd)),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e).ctx("open mount point", shown),
        }
        let Some(as_dir) = make else {
            return Ok(None);
        };
        let made = if as_dir {
            sys::mkdirat(cur.as_fd(), name, self.dir_mode)
        } else {
            let flags = libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_WRONLY;
            sys::openat(cur.as_fd(), name, flags).map(drop)
        };
        match made {
            Err(e) if e.raw_os_error() != Some(libc::EEXIST) => {
                return Err(e).ctx("create mount point", shown)
            }
            Ok(()) if last => self.made_last = true,
            _ => {}
        }
        let cur = self.cur();
        sys::openat(cur.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW)
            .ctx("open mount point", shown)
            .map(Some)
    }

    /// A symlink at `name`: refused for our own mount points, else its
    /// target is walked instead, inside the root (an absolute one from the
    /// root), at most `MAX_LINKS` times.
    fn follow(&mut self, name: &OsStr, shown: &str, last: bool) -> Result<()> {
        if self.links == Links::Refuse {
            let what = if last {
                "is a symlink"
            } else {
                "a component is a symlink"
            };
            return Err(refuse(shown, what));
        }
        self.followed += 1;
        if self.followed > MAX_LINKS {
            return Err(refuse(&self.given, "has too many levels of symlinks"));
        }
        let to = sys::readlinkat(self.cur().as_fd(), name).ctx("read symlink", shown)?;
        let to = Path::new(&to);
        if to.is_absolute() {
            self.stack.truncate(1);
        }
        for c in to.components().rev() {
            self.pending.push_front(c.as_os_str().to_os_string());
        }
        Ok(())
    }

    /// The last name: it must be a directory exactly when the source is.
    fn finish(
        mut self,
        fd: OwnedFd,
        mode: libc::mode_t,
        make: Make,
        name: OsString,
        shown: String,
    ) -> Result<Target> {
        match (mode, make) {
            (_, Make::Nothing) | (libc::S_IFDIR, Make::Dir) => {}
            (libc::S_IFDIR, Make::File) => {
                return Err(refuse(&shown, "is a directory, the source is not"))
            }
            (_, Make::Dir) => return Err(refuse(&shown, "is not a directory, the source is")),
            (_, Make::File) => {}
        }
        let (parent, _) = self.stack.pop().expect("the root stays");
        Ok(Target {
            parent: Rc::new(parent),
            name,
            shown,
            found: Cell::new(Some(fd)),
            kind: mode,
        })
    }
}

/// `fd` (named `shown` in messages) if it is the null device, char 1:3;
/// else the one error that says it is not, and nothing is masked with it.
pub fn check_null(fd: OwnedFd, shown: &str) -> Result<OwnedFd> {
    let st = sys::fstat(fd.as_fd()).ctx("stat", shown)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || sys::major_minor(st.st_rdev) != (1, 3) {
        return Err(Error::msg(
            "mask",
            "not the null device (char 1:3); refusing to mask with it",
        )
        .with_path(shown.to_string()));
    }
    Ok(fd)
}

/// Cover a directory with an empty read-only tmpfs, a file with the null
/// device `null` (checked by `check_null`).
pub fn mask_at(t: &Target, is_dir: bool, null: &OwnedFd) -> Result<()> {
    if is_dir {
        mask_dir(t)
    } else {
        mask_file(t, null)
    }
}

/// Cover a directory with an empty read-only tmpfs.
pub fn mask_dir(t: &Target) -> Result<()> {
    t.mount(
        Some(OsStr::new("tmpfs")),
        Some("tmpfs"),
        libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        Some("mode=0555"),
        "mask",
    )
}

/// Cover a file with the null device `null` (checked by `check_null`),
/// bound from that very fd, read-only.
pub fn mask_file(t: &Target, null: &OwnedFd) -> Result<()> {
    // Not nodev: the null device must still open (and read as empty).
    t.mount(Some(&fd_path(null)), None, libc::MS_BIND, None, "mask")?;
    let attrs = sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NOEXEC;
    set_attrs(&t.open()?, attrs).ctx("mask", &t.shown)
}

/// Set mount attributes on the one mount whose root `fd` is.
pub fn set_attrs(fd: &OwnedFd, attrs: u64) -> std::io::Result<()> {
    let path = fd_path(fd);
    match sys::mount_setattr(&path, false, attrs) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => remount(&path, attrs),
        other => other,
    }
}

/// The pre-5.12 way: a bind remount that repeats the flags the kernel
/// locked when the mount came from a more privileged namespace, or it fails
/// with EPERM. Ref: mount(2) "EPERM"
pub fn remount(path: &OsStr, attrs: u64) -> std::io::Result<()> {
    let mut flags: c_ulong = sys::mount_flags(path)?;
    for (attr, ms) in [
        (sys::MOUNT_ATTR_RDONLY, libc::MS_RDONLY),
        (sys::MOUNT_ATTR_NOSUID, libc::MS_NOSUID),
        (sys::MOUNT_ATTR_NODEV, libc::MS_NODEV),
        (sys::MOUNT_ATTR_NOEXEC, libc::MS_NOEXEC),
    ] {
        if attrs & attr != 0 {
            flags |= ms;
        }
    }
    sys::mount(
        None,
        path,
        None,
        libc::MS_REMOUNT | libc::MS_BIND | flags,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root(t: &Path) -> OwnedFd {
        sys::open_path(t, libc::O_DIRECTORY).unwrap()
    }

    /// Links out of the root (absolute, `..`) resolve inside it, and what
    /// is made is made there; `existing` makes nothing.
    #[test]
    fn the_walk_stays_inside_and_makes_only_there() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path().join("root");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(r.join("a")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        symlink(&outside, r.join("a/abs")).unwrap();
        symlink("../../../../outside", r.join("a/up")).unwrap();
        let fd = root(&r);
        let m = target(&fd, Path::new("/a/abs/x"), true, Links::ResolveInside).unwrap();
        assert_eq!(m.shown(), format!("{}/x", outside.display()));
        assert!(r
            .join(outside.strip_prefix("/").unwrap())
            .join("x")
            .is_dir());
        target(&fd, Path::new("/a/up/y"), false, Links::ResolveInside).unwrap();
        assert!(r.join("outside/y").is_file());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
        assert!(existing(&fd, Path::new("/a/nope/z"), Links::ResolveInside)
            .unwrap()
            .is_none());
        assert!(!r.join("a/nope").exists());
        let e = target(&fd, Path::new("/a/abs/x"), true, Links::Refuse)
            .err()
            .unwrap();
        assert!(e.to_string().contains("symlink"), "{e}");
        symlink("loop", r.join("loop")).unwrap();
        assert!(target(&fd, Path::new("/loop/x"), true, Links::ResolveInside).is_err());
    }

    #[test]
    fn only_the_null_device_masks() {
        let null = sys::open_path(Path::new("/dev/null"), 0).unwrap();
        assert!(check_null(null, "/dev/null").is_ok());
        let zero = sys::open_path(Path::new("/dev/zero"), 0).unwrap();
        let e = check_null(zero, "/dev/zero").err().unwrap();
        assert!(e.to_string().contains("not the null device"), "{e}");
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("null"), b"").unwrap();
        let file = sys::open_path(&t.path().join("null"), 0).unwrap();
        assert!(check_null(file, "a regular file").is_err());
    }
}
