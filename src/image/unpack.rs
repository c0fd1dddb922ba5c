//! Applying tar layers to a tree, treating every archive as hostile.
//!
//! Refused, each with one line (125), before anything of the entry is
//! written: absolute paths and `..`; a path through a symlink (one the
//! archive planted, or any other); hard links whose target is refused by
//! the same rules, or is a directory; device nodes, FIFOs and sockets;
//! setuid and setgid bits; more entries or more bytes than the limits.
//! Files are created with O_NOFOLLOW|O_EXCL in directories checked, one
//! component at a time, to be real directories of the tree: nothing is
//! ever written outside it. Owners in the archive are not kept (unpacking
//! is rootless): every file is the caller's. docs/SECURITY.md has the
//! threat model.
//!
//! OCI whiteouts (image-spec layer.md): `.wh.NAME` removes NAME of the
//! layers below; `.wh..wh..opq` empties its directory of what the layers
//! below put there.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// How much a whole image may hold (all layers together).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub entries: u64,
    pub bytes: u64,
}

impl Limits {
    /// 1,000,000 entries and 64 GiB of file data, unless
    /// SANDBOX_UNPACK_MAX_ENTRIES / SANDBOX_UNPACK_MAX_BYTES say otherwise.
    pub fn from_env() -> Limits {
        let get = |k: &str, d: u64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        Limits {
            entries: get("SANDBOX_UNPACK_MAX_ENTRIES", 1_000_000),
            bytes: get("SANDBOX_UNPACK_MAX_BYTES", 64 << 30),
        }
    }
}

/// The tree being built: its root, what is left of the limits, and the
/// modes of directories, applied once every layer is in (a directory
/// without write permission would stop the layers after it).
pub struct Tree {
    root: PathBuf,
    limits: Limits,
    entries: u64,
    pub bytes: u64,
    dir_modes: BTreeMap<PathBuf, u32>,
}

fn refused(why: impl Into<String>) -> Error {
    Error::msg("unpack image", why.into())
}

/// An entry's path as components, or why it is refused. `./` prefixes
/// and trailing slashes are fine; the tree's root itself is empty.
pub fn clean_path(raw: &[u8]) -> std::result::Result<PathBuf, String> {
    let shown = String::from_utf8_lossy(raw);
    if raw.first() == Some(&b'/') {
        return Err(format!("entry {shown:?} has an absolute path"));
    }
    if raw.contains(&0) {
        return Err(format!("entry {shown:?} holds a NUL byte"));
    }
    let mut out = PathBuf::new();
    for c in Path::new(OsStr::from_bytes(raw)).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err(format!("entry {shown:?} climbs out with '..'")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("entry {shown:?} has an absolute path"))
            }
        }
    }
    Ok(out)
}

impl Tree {
    pub fn new(root: PathBuf, limits: Limits) -> Tree {
        Tree {
            root,
            limits,
            entries: 0,
            bytes: 0,
            dir_modes: BTreeMap::new(),
        }
    }

    /// Make sure every directory above `rel` is a real directory of the
    /// tree (created 0700 when missing, as tar does for parents it was not
    /// given); a symlink or a file on the way is refused.
    fn parents(&self, rel: &Path) -> Result<PathBuf> {
        let mut cur = self.root.clone();
        let Some(parent) = rel.parent() else {
            return Ok(cur);
        };
        for c in parent.components() {
            cur.push(c);
            match fs::symlink_metadata(&cur) {
                Ok(m) if m.is_dir() => {}
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(refused(format!(
                        "entry {:?} goes through the symlink {:?}",
                        rel,
                        cur.strip_prefix(&self.root).unwrap_or(&cur)
                    )))
                }
                Ok(_) => {
                    return Err(refused(format!(
                        "entry {:?} goes through {:?}, which is not a directory",
                        rel,
                        cur.strip_prefix(&self.root).unwrap_or(&cur)
                    )))
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::DirBuilder::new()
                        .mode(0o700)
                        .create(&cur)
                        .map_err(|e| io_err("create directory", &cur, e))?;
                }
                Err(e) => return Err(io_err("inspect", &cur, e)),
            }
        }
        Ok(cur)
    }

    /// Remove whatever is at `abs` (not following a symlink there).
    fn remove(&mut self, abs: &Path) -> Result<()> {
        match fs::symlink_metadata(abs) {
            Ok(m) if m.is_dir() => {
                make_writable(abs);
                fs::remove_dir_all(abs).map_err(|e| io_err("remove", abs, e))?;
                let rel = abs.strip_prefix(&self.root).unwrap_or(abs).to_path_buf();
                self.dir_modes.retain(|p, _| !p.starts_with(&rel));
                Ok(())
            }
            Ok(_) => fs::remove_file(abs).map_err(|e| io_err("remove", abs, e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("inspect", abs, e)),
        }
    }

    /// Apply one layer (a tar stream). `oci`: honour whiteouts.
    pub fn apply(
        &mut self,
        layer: impl Read,
        oci: bool,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let mut archive = tar::Archive::new(layer);
        // Paths created by this layer: an opaque directory keeps them.
        let mut created: HashSet<PathBuf> = HashSet::new();
        let entries = archive
            .entries()
            .map_err(|e| refused(format!("not a tar archive: {e}")))?;
        // The entry before a malformed one, which the error names (the
        // malformed one's own path may be what is broken).
        let mut last: Option<String> = None;
        for entry in entries {
            let mut e = entry.map_err(|e| {
                refused(match &last {
                    Some(p) => format!("bad tar entry after {p:?}: {e}"),
                    None => format!("bad tar entry: {e}"),
                })
            })?;
            last = Some(String::from_utf8_lossy(&e.path_bytes()).into_owned());
            self.entries += 1;
            if self.entries > self.limits.entries {
                return Err(refused(format!(
                    "more than {} entries (SANDBOX_UNPACK_MAX_ENTRIES)",
                    self.limits.entries
                )));
            }
            let kind = e.header().entry_type();
            if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
                continue;
            }
            let rel = clean_path(&e.path_bytes()).map_err(refused)?;
            let mode = e
                .header()
                .mode()
                .map_err(|err| refused(format!("entry {rel:?}: bad mode: {err}")))?;
            if mode & 0o6000 != 0 {
                return Err(refused(format!(
                    "entry {rel:?} is setuid or setgid (mode {mode:o}); refusing such images"
                )));
            }
            let size = e.size();
            if size > self.limits.bytes.saturating_sub(self.bytes) {
                return Err(refused(format!(
                    "entry {rel:?} is {size} bytes: past the limit of {} bytes in all (SANDBOX_UNPACK_MAX_BYTES)",
                    self.limits.bytes
                )));
            }
            if rel.as_os_str().is_empty() {
                // The root itself (`./`): nothing to make.
                continue;
            }
            let name = rel.file_name().unwrap_or_default().as_bytes().to_vec();
            let dir = self.parents(&rel)?;
            if oci && name.starts_with(b".wh.") {
                let parent = rel.parent().unwrap_or(Path::new("")).to_path_buf();
                if name == b".wh..wh..opq" {
                    self.opaque(&dir, &parent, &created)?;
                } else {
                    // `.wh..` and `.wh...` would name the directory
                    // itself and its parent: the parent of the tree's
                    // root is outside the tree.
                    let gone = &name[4..];
                    if gone.is_empty() || gone == b"." || gone == b".." || gone.contains(&b'/') {
                        return Err(refused(format!("bad whiteout {rel:?}")));
                    }
                    let target = dir.join(OsStr::from_bytes(gone));
                    self.remove(&target)?;
                }
                continue;
            }
            let abs = self.root.join(&rel);
            let existing = fs::symlink_metadata(&abs).ok();
            let keep_dir = kind.is_dir() && existing.as_ref().is_some_and(|m| m.is_dir());
            if existing.is_some() && !keep_dir {
                self.remove(&abs)?;
            }
            if kind.is_file() || kind.is_contiguous() {
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&abs)
                    .map_err(|err| io_err("create", &abs, err))?;
                let n = io::copy(&mut (&mut e).take(size), &mut f)
                    .map_err(|err| refused(format!("entry {rel:?}: {err}")))?;
                self.bytes += n;
                progress(n);
                f.set_permissions(fs::Permissions::from_mode(mode & 0o1777))
                    .map_err(|err| io_err("chmod", &abs, err))?;
                if let Ok(t) = e.header().mtime() {
                    let _ = f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(t));
                }
            } else if kind.is_dir() {
                if !keep_dir {
                    fs::DirBuilder::new()
                        .mode(0o700)
                        .create(&abs)
                        .map_err(|err| io_err("create directory", &abs, err))?;
                }
                self.dir_modes.insert(rel.clone(), mode & 0o1777);
            } else if kind.is_symlink() {
                let target = e
                    .link_name_bytes()
                    .ok_or_else(|| refused(format!("symlink {rel:?} has no target")))?;
                // Any target: it is resolved inside the sandbox's root, and
                // no later entry of ours goes through it (parents()).
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &abs)
                    .map_err(|err| io_err("create symlink", &abs, err))?;
            } else if kind.is_hard_link() {
                let raw = e
                    .link_name_bytes()
                    .ok_or_else(|| refused(format!("hard link {rel:?} has no target")))?;
                let trel = clean_path(&raw)
                    .map_err(|why| refused(format!("hard link {rel:?}: target {why}")))?;
                self.parents(&trel)?;
                let tabs = self.root.join(&trel);
                match fs::symlink_metadata(&tabs) {
                    Ok(m) if !m.is_dir() && !trel.as_os_str().is_empty() => {}
                    _ => {
                        return Err(refused(format!(
                            "hard link {rel:?} points at {trel:?}, which is no file of the image"
                        )))
                    }
                }
                fs::hard_link(&tabs, &abs).map_err(|err| io_err("link", &abs, err))?;
            } else if kind.is_character_special() || kind.is_block_special() {
                return Err(refused(format!(
                    "entry {rel:?} is a device node; refusing such images"
                )));
            } else {
                return Err(refused(format!(
                    "entry {rel:?} is of a kind not unpacked ({:?}: FIFOs, sparse files and the like)",
                    kind
                )));
            }
            created.insert(rel);
        }
        Ok(())
    }

    /// `.wh..wh..opq` in `rel` (at `abs`): remove what is there but what
    /// this layer made.
    fn opaque(&mut self, abs: &Path, rel: &Path, created: &HashSet<PathBuf>) -> Result<()> {
        let list = fs::read_dir(abs).map_err(|e| io_err("read directory", abs, e))?;
        for child in list {
            let child = child.map_err(|e| io_err("read directory", abs, e))?;
            let crel = rel.join(child.file_name());
            let cabs = child.path();
            if created.contains(&crel) {
                if fs::symlink_metadata(&cabs).is_ok_and(|m| m.is_dir()) {
                    self.opaque(&cabs, &crel, created)?;
                }
            } else {
                self.remove(&cabs)?;
            }
        }
        Ok(())
    }

    /// The directories' own modes, deepest first.
    pub fn finish(&mut self) -> Result<()> {
        for (rel, mode) in self.dir_modes.iter().rev() {
            let abs = self.root.join(rel);
            if fs::symlink_metadata(&abs).is_ok_and(|m| m.is_dir()) {
                fs::set_permissions(&abs, fs::Permissions::from_mode(*mode))
                    .map_err(|e| io_err("chmod", &abs, e))?;
            }
        }
        Ok(())
    }
}

fn io_err(step: &str, path: &Path, e: io::Error) -> Error {
    crate::error::Error::errno(
        format!("unpack image: {step}"),
        Some(path.display().to_string()),
        e.raw_os_error().unwrap_or(libc::EIO),
    )
}

/// Give the owner rwx on every directory under `p` (ours), so that it can
/// be removed whatever modes the image gave them.
pub fn make_writable(p: &Path) {
    let Ok(m) = fs::symlink_metadata(p) else {
        return;
    };
    if !m.is_dir() {
        return;
    }
    let _ = fs::set_permissions(
        p,
        fs::Permissions::from_mode(m.permissions().mode() | 0o700),
    );
    if let Ok(list) = fs::read_dir(p) {
        for c in list.flatten() {
            make_writable(&c.path());
        }
    }
}

#[cfg(test)]
#[path = "unpack_fuzz.rs"]
pub(super) mod fuzz;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(clean_path(b"./a/b/").unwrap(), Path::new("a/b"));
        assert_eq!(clean_path(b"./").unwrap(), Path::new(""));
        assert!(clean_path(b"/etc/passwd").is_err());
        assert!(clean_path(b"a/../../x").is_err());
        assert!(clean_path(b"..").is_err());
    }
}
