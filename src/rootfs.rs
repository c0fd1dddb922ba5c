//! Mounts and pivot_root, in the child stage (uid 0 in the new user and
//! mount namespaces).
//!
//! The order, and why:
//! 1. make every mount private, so nothing we do propagates to the host;
//! 2. open every host source (rootfs, bind sources, device nodes) as an
//!    O_PATH fd while the host tree is visible, and keep a fd of the real /;
//! 3. mount a staging tmpfs over /tmp (in our namespace only) and build the
//!    new root on it: an overlay with its upper layer on that tmpfs, or a
//!    bind of the rootfs. Sources are named as /proc/self/fd/N, so the
//!    staging mount shadowing a path under /tmp does not matter, and odd
//!    characters in paths never reach an option string;
//! 4. chroot into the new root and mount /proc, /dev, /tmp and the binds
//!    there. Inside the chroot an absolute or `..` symlink in the rootfs
//!    resolves inside it, so no mount point can be aimed at the host; and
//!    the host's mounts are still in the namespace, which the kernel wants
//!    both for binding from them (`check_mnt` in do_loopback) and for a new
//!    procfs (`mount_too_revealing`);
//! 5. leave the chroot through the kept fd, pivot_root(".", ".") into the
//!    new root and detach the old one. With new_root == put_old no
//!    directory is needed, so nothing is created in the rootfs and nothing
//!    is left to remove. Ref: pivot_root(2) NOTES; runc's rootfs_linux.go.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{symlink, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use libc::c_ulong;

use crate::cli::RootMode;
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use crate::sys;

/// Where the staging tmpfs goes in the child's (private) mount namespace.
const STAGING: &str = "/tmp";
const NEW_ROOT: &str = "/tmp/root";

/// Device nodes bound from the host into the sandbox's /dev.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

fn fd_path(fd: &OwnedFd) -> OsString {
    format!("/proc/self/fd/{}", fd.as_raw_fd()).into()
}

fn o_path(path: &Path, flags: i32) -> std::io::Result<OwnedFd> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | flags)
        .open(path)
        .map(OwnedFd::from)
}

struct Sources {
    rootfs: OwnedFd,
    binds: Vec<OwnedFd>,
    devices: Vec<(&'static str, OwnedFd)>,
    console: Option<OwnedFd>,
}

pub fn setup(plan: &Plan) -> Result<()> {
    // (1) Nothing below may propagate back to the host's mount table.
    sys::mount(
        None,
        OsStr::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )
    .ctx("make mounts private", "/")?;

    // (2) Host sources, opened while the host tree is visible.
    let host_root = o_path(Path::new("/"), libc::O_DIRECTORY).ctx("open", "/")?;
    let src = Sources {
        rootfs: o_path(&plan.rootfs, libc::O_DIRECTORY)
            .ctx("open rootfs", plan.rootfs.display())?,
        binds: plan
            .binds
            .iter()
            .map(|b| o_path(&b.src, 0).ctx("open bind source", b.src.display()))
            .collect::<Result<_>>()?,
        devices: DEVICES
            .iter()
            .map(|d| {
                let p = Path::new("/dev").join(d);
                o_path(&p, 0)
                    .ctx("open device", p.display())
                    .map(|fd| (*d, fd))
            })
            .collect::<Result<_>>()?,
        console: controlling_tty(),
    };

    // (3) The new root, on a staging tmpfs.
    mount_tmpfs(Path::new(STAGING), "mode=0755")?;
    let read_only_root = mount_new_root(plan, &src.rootfs)?;

    // (4) Inside the new root, host mounts still attached.
    std::env::set_current_dir(NEW_ROOT).ctx("chdir", NEW_ROOT)?;
    sys::chroot(OsStr::new(".")).ctx("chroot", NEW_ROOT)?;
    mount_proc()?;
    mount_dev(&src)?;
    mount_point(Path::new("/tmp"))?;
    mount_tmpfs(Path::new("/tmp"), "mode=1777")?;
    for (b, fd) in plan.binds.iter().zip(&src.binds) {
        bind(fd, &b.dst, b.read_only)?;
    }
    if read_only_root {
        // Last, so the mount points above could still be created.
        set_attrs(Path::new("/"), sys::MOUNT_ATTR_RDONLY | NOSUID_NODEV)
            .ctx("make the root read-only", "/")?;
    }

    // (5) Back out of the chroot, swap roots, drop the host's.
    sys::fchdir(&host_root).ctx_step("leave the chroot")?;
    sys::chroot(OsStr::new(".")).ctx_step("leave the chroot")?;
    drop(host_root);
    pivot()
}

/// Mount the root at NEW_ROOT; returns whether it must end read-only.
fn mount_new_root(plan: &Plan, rootfs: &OwnedFd) -> Result<bool> {
    fs::create_dir(NEW_ROOT).ctx("create the new root", NEW_ROOT)?;
    if plan.root == RootMode::ReadWrite {
        bind(rootfs, Path::new(NEW_ROOT), false)?;
        return Ok(false);
    }
    // Copy-on-write: the upper layer lives on the staging tmpfs, so writes
    // never reach the rootfs and vanish with the namespace. Overlay in a user
    // namespace needs Linux 5.11.
    for d in ["upper", "work"] {
        fs::create_dir(Path::new(STAGING).join(d)).ctx("create overlay directory", d)?;
    }
    let opts = format!(
        "lowerdir={},upperdir={STAGING}/upper,workdir={STAGING}/work",
        fd_path(rootfs).to_string_lossy()
    );
    let flags = libc::MS_NOSUID | libc::MS_NODEV;
    match sys::mount(
        Some(OsStr::new("overlay")),
        OsStr::new(NEW_ROOT),
        Some("overlay"),
        flags,
        Some(&opts),
    ) {
        Ok(()) => Ok(plan.root == RootMode::ReadOnly),
        Err(e) => {
            let why = crate::error::describe_errno(e.raw_os_error().unwrap_or(libc::EIO));
            eprintln!(
                "sandbox: notice: overlay unavailable ({why}); the root is read-only for this run (writable: /tmp and --bind targets)"
            );
            bind(rootfs, Path::new(NEW_ROOT), false)?;
            Ok(true)
        }
    }
}

fn mount_proc() -> Result<()> {
    mount_point(Path::new("/proc"))?;
    sys::mount(
        Some(OsStr::new("proc")),
        OsStr::new("/proc"),
        Some("proc"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        None,
    )
    .ctx("mount proc", "/proc")
    .map_err(|e| {
        if e.raw_errno() == Some(libc::EPERM) {
            e.with_hint("the kernel refuses a new /proc when the host's /proc is partly masked (as inside a container); run sandbox on the host, or give the container an unmasked /proc")
        } else {
            e
        }
    })
}

/// A directory for one of our own mounts (/proc, /dev, /tmp): created when
/// missing; a symlink or a non-directory in the rootfs is refused rather
/// than followed.
fn mount_point(p: &Path) -> Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::msg(
            "mount point",
            "is a symlink or not a directory in the rootfs; refusing to mount there",
        )
        .with_path(p.display().to_string())),
        Err(_) => mkdir_p(p),
    }
}

fn pivot() -> Result<()> {
    std::env::set_current_dir(NEW_ROOT).ctx("chdir", NEW_ROOT)?;
    // pivot_root wants new_root not shared: it is under the tree we made
    // private in step 1.
    // With new_root == put_old the old root ends up mounted on top of the new
    // one; detaching "." then removes it. Ref: pivot_root(2) NOTES
    sys::pivot_root(OsStr::new("."), OsStr::new(".")).ctx("pivot_root", NEW_ROOT)?;
    sys::umount2(OsStr::new("."), libc::MNT_DETACH).ctx("detach the old root", "/")?;
    std::env::set_current_dir("/").ctx("chdir", "/")
}

/// A minimal /dev: a tmpfs with the usual nodes bound from the host, a new
/// devpts instance, /dev/shm and the fd links.
fn mount_dev(src: &Sources) -> Result<()> {
    mount_point(Path::new("/dev"))?;
    let flags = libc::MS_NOSUID | libc::MS_NOEXEC;
    sys::mount(
        Some(OsStr::new("tmpfs")),
        OsStr::new("/dev"),
        Some("tmpfs"),
        flags,
        Some("mode=0755"),
    )
    .ctx("mount tmpfs", "/dev")?;
    // Nodes cannot be created in a user namespace (mknod needs the initial
    // namespace's CAP_MKNOD), so bind the host's onto empty files.
    for (name, fd) in &src.devices {
        bind_node(fd, &Path::new("/dev").join(name))?;
    }
    if let Some(tty) = &src.console {
        bind_node(tty, Path::new("/dev/console"))?;
    }
    // A devpts of our own: the host's ptys stay invisible. No gid= option:
    // the tty group may not be mapped (DESIGN.md).
    fs::create_dir("/dev/pts").ctx("create", "/dev/pts")?;
    sys::mount(
        Some(OsStr::new("devpts")),
        OsStr::new("/dev/pts"),
        Some("devpts"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=620"),
    )
    .ctx("mount devpts", "/dev/pts")?;
    fs::create_dir("/dev/shm").ctx("create", "/dev/shm")?;
    mount_tmpfs(Path::new("/dev/shm"), "mode=1777")?;
    for (link, target) in [
        ("/dev/ptmx", "pts/ptmx"),
        ("/dev/fd", "/proc/self/fd"),
        ("/dev/stdin", "/proc/self/fd/0"),
        ("/dev/stdout", "/proc/self/fd/1"),
        ("/dev/stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, link).ctx("create symlink", link)?;
    }
    Ok(())
}

fn bind_node(fd: &OwnedFd, at: &Path) -> Result<()> {
    fs::File::create(at).ctx("create", at.display())?;
    sys::mount(
        Some(&fd_path(fd)),
        at.as_os_str(),
        None,
        libc::MS_BIND,
        None,
    )
    .ctx("bind device", at.display())?;
    // Device nodes need "dev", but nothing on them is setuid or executable.
    set_attrs(at, sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NOEXEC).ctx("bind device", at.display())
}

/// The caller's terminal, to appear as /dev/console (so `tty` and programs
/// that open the console find it).
fn controlling_tty() -> Option<OwnedFd> {
    if !sys::isatty(0) {
        return None;
    }
    let path = fs::read_link("/proc/self/fd/0").ok()?;
    o_path(&path, 0).ok()
}

fn mount_tmpfs(at: &Path, opts: &str) -> Result<()> {
    sys::mount(
        Some(OsStr::new("tmpfs")),
        at.as_os_str(),
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(opts),
    )
    .ctx("mount tmpfs", at.display())
}

fn mkdir_p(p: &Path) -> Result<()> {
    fs::create_dir_all(p)
        .ctx("create mount point", p.display())
        .map_err(read_only_hint)
}

/// Bind a host path (held as an fd) at `dst`, creating the mount point as
/// a directory or an empty file to match the source, and set nosuid, nodev
/// (and read-only) on it and everything under it.
fn bind(src: &OwnedFd, dst: &Path, read_only: bool) -> Result<()> {
    let is_dir = fs::metadata(fd_path(src))
        .map(|m| m.is_dir())
        .unwrap_or(false);
    if fs::symlink_metadata(dst).is_err() {
        if is_dir {
            mkdir_p(dst)?;
        } else {
            if let Some(parent) = dst.parent() {
                mkdir_p(parent)?;
            }
            fs::File::create(dst)
                .ctx("create mount point", dst.display())
                .map_err(read_only_hint)?;
            let _ = fs::set_permissions(dst, fs::Permissions::from_mode(0o644));
        }
    }
    let step = if read_only { "bind read-only" } else { "bind" };
    let from = fd_path(src);
    sys::mount(
        Some(&from),
        dst.as_os_str(),
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .ctx(step, dst.display())?;
    let attrs = if read_only { sys::MOUNT_ATTR_RDONLY } else { 0 };
    match sys::mount_setattr(dst.as_os_str(), true, attrs | NOSUID_NODEV) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            // Before 5.12 a remount reaches only the top mount, so a
            // recursive bind would keep writable submounts: bind without
            // them instead (they show as empty directories).
            sys::umount2(dst.as_os_str(), libc::MNT_DETACH).ctx(step, dst.display())?;
            sys::mount(Some(&from), dst.as_os_str(), None, libc::MS_BIND, None)
                .ctx(step, dst.display())?;
            remount(dst, attrs | NOSUID_NODEV).ctx(step, dst.display())
        }
        other => other.ctx(step, dst.display()),
    }
}

const NOSUID_NODEV: u64 = sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV;

/// Set mount attributes on the one mount at `path`.
fn set_attrs(path: &Path, attrs: u64) -> std::io::Result<()> {
    match sys::mount_setattr(path.as_os_str(), false, attrs) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => remount(path, attrs),
        other => other,
    }
}

/// The pre-5.12 way: a bind remount that repeats the flags the kernel
/// locked when the mount came from a more privileged namespace, or it fails
/// with EPERM. Ref: mount(2) "EPERM"
fn remount(path: &Path, attrs: u64) -> std::io::Result<()> {
    let mut flags: c_ulong = sys::mount_flags(path.as_os_str())?;
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
        path.as_os_str(),
        None,
        libc::MS_REMOUNT | libc::MS_BIND | flags,
        None,
    )
}

fn read_only_hint(e: Error) -> Error {
    if e.raw_errno() == Some(libc::EROFS) {
        e.with_hint("the root is read-only: create this path in the rootfs, or drop --read-only")
    } else {
        e
    }
}
