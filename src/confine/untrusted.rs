//! Reading files someone else controls: the rootfs's (whoever prepared it,
//! or a command that ran in it with `--rw` or a writable bind), read by the
//! child stage before any limit applies (no rlimit, no seccomp, no cgroup
//! yet) or by sandbox-oci's container process (/etc/passwd, for HOME, at
//! `create` and `exec`); the files of an OCI image layout (index.json,
//! manifests, configs, layers); and the profiles `--profile` names (a
//! project's, checked out from anywhere: src/cli/profile.rs). Every such
//! read goes through
//! [`read_rootfs_file`], or [`open_regular`] for what is streamed.
//!
//! What it refuses, and why (issue 14, item 4; issue 23):
//! - anything but a regular file: /etc/passwd as a link to /dev/zero grew
//!   the stage to gigabytes, and as a FIFO it blocked the launch forever
//!   (an index.json or blob as a FIFO did the same to the launcher).
//!   The open is O_NONBLOCK (a FIFO opens at once, and then fails the type
//!   check), O_NOCTTY, and the type comes from fstat of the opened file, so
//!   a symlink on the way is harmless: what counts is what was opened;
//! - more than `cap` bytes;
//! - a pseudo-file, whose size says less than it holds (procfs files say
//!   0): /etc/passwd as a link to /proc/self/environ would hand the
//!   launcher's own environment to the command through HOME.
//!
//! Rootfs files are read after pivot_root, so a symlink in the path
//! resolves inside the sandbox's root: nothing of the host is reachable by
//! name.

use std::ffi::{OsStr, OsString};
use std::fs::OpenOptions;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::sys;

/// How much of a rootfs file the child stage reads at most: a generous
/// /etc/passwd (tens of thousands of users) fits.
pub const MAX_ROOTFS_FILE: u64 = 4 << 20;

/// Why a rootfs file was not read.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not there (ENOENT, ENOTDIR): the usual fallback applies, silently.
    Missing,
    /// There, but not something we read: the reason, for a notice.
    Not(String),
}

/// The file at `path`, opened for reading, and its size, if it is a
/// regular file: for what is read in a stream (an image's layers) and
/// checked by the caller against the size it expects.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, u64), Refused> {
    let file: OwnedFd = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f.into(),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            return Err(Refused::Missing)
        }
        Err(e) => return Err(Refused::Not(format!("cannot open it: {e}"))),
    };
    let st = sys::fstat(file.as_fd()).map_err(|e| Refused::Not(format!("cannot stat it: {e}")))?;
    let kind = st.st_mode & libc::S_IFMT;
    if kind != libc::S_IFREG {
        return Err(Refused::Not(format!(
            "not a regular file (a {})",
            file_kind(kind)
        )));
    }
    Ok((std::fs::File::from(file), st.st_size as u64))
}

/// The bytes of the file at `path` (a rootfs's, inside the new root), at
/// most `cap` of them, if it is a regular file that says its size
/// truthfully.
pub fn read_rootfs_file(path: &Path, cap: u64) -> Result<Vec<u8>, Refused> {
    let (file, size) = open_regular(path)?;
    if size > cap {
        return Err(Refused::Not(format!(
            "{size} bytes, more than the {cap} read at most"
        )));
    }
    let mut buf = Vec::new();
    file.take(size + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Refused::Not(format!("cannot read it: {e}")))?;
    if buf.len() as u64 > size {
        return Err(Refused::Not(format!(
            "a pseudo-file (it holds more than the {size} bytes its size says)"
        )));
    }
    Ok(buf)
}

impl Refused {
    /// As an error of `step` at `path`: ENOENT when missing, else the
    /// reason.
    pub fn into_error(self, step: &str, path: &Path) -> crate::error::Error {
        let shown = path.display().to_string();
        match self {
            Refused::Missing => crate::error::Error::errno(step, Some(shown), libc::ENOENT),
            Refused::Not(why) => crate::error::Error::msg(step, why).with_path(shown),
        }
    }
}

fn file_kind(kind: libc::mode_t) -> &'static str {
    match kind {
        libc::S_IFDIR => "directory",
        libc::S_IFCHR => "character device",
        libc::S_IFBLK => "block device",
        libc::S_IFIFO => "FIFO",
        libc::S_IFSOCK => "socket",
        _ => "file of another type",
    }
}

/// The home directory of `uid` in the text of a passwd file.
pub fn passwd_home(passwd: &[u8], uid: u32) -> Option<OsString> {
    passwd.split(|&b| b == b'\n').find_map(|line| {
        let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        let matches = f.len() >= 7 && f[2] == uid.to_string().as_bytes();
        (matches && !f[5].is_empty()).then(|| OsStr::from_bytes(f[5]).to_os_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_from_passwd() {
        let p = b"root:x:0:0:root:/root:/bin/sh\nu:x:1000:1000::/home/u:/bin/sh\nbad line\nn:x:7:7:::/bin/sh\n";
        assert_eq!(passwd_home(p, 0), Some("/root".into()));
        assert_eq!(passwd_home(p, 1000), Some("/home/u".into()));
        assert_eq!(passwd_home(p, 7), None);
        assert_eq!(passwd_home(p, 5), None);
        assert_eq!(passwd_home(b"", 0), None);
    }

    fn tmp(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("sandbox-untrusted-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d.join(name)
    }

    #[test]
    fn regular_files_are_read_and_others_refused() {
        let f = tmp("passwd");
        std::fs::write(&f, b"root:x:0:0::/root:/bin/sh\n").unwrap();
        assert_eq!(read_rootfs_file(&f, 100).unwrap().len(), 26);
        assert!(
            matches!(read_rootfs_file(&f, 10), Err(Refused::Not(m)) if m.contains("more than"))
        );
        assert_eq!(
            read_rootfs_file(&tmp("missing"), 100),
            Err(Refused::Missing)
        );
        let not = |p: &str| match read_rootfs_file(Path::new(p), MAX_ROOTFS_FILE) {
            Err(Refused::Not(m)) => m,
            other => panic!("{p}: {other:?}"),
        };
        assert!(not("/dev/zero").contains("character device"));
        assert!(not("/proc/self/environ").contains("pseudo-file"));
        assert!(not("/").contains("directory"));
        let fifo = tmp("fifo");
        let _ = std::fs::remove_file(&fifo);
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        // Opens at once (O_NONBLOCK), then fails the type check.
        assert!(not(fifo.to_str().unwrap()).contains("FIFO"));
        let _ = std::fs::remove_dir_all(f.parent().unwrap());
    }
}
