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
//!
//! Every mount point is found or made by the walk in src/confine/walk.rs, the one
//! sandbox-oci uses too.

use std::ffi::OsStr;
use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::channel::ReportSender;
use crate::confine::walk::{
    check_null, existing, fd_path, mask_at, remount, set_attrs, Links, Target,
};
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use crate::plan::RootMode;
use crate::sys;

/// Where the staging tmpfs goes in the child's (private) mount namespace.
const STAGING: &str = "/tmp";
const NEW_ROOT: &str = "/tmp/root";

/// Device nodes bound from the host into the sandbox's /dev.
pub const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

fn o_path(path: &Path, flags: i32) -> std::io::Result<OwnedFd> {
    sys::open_path(path, flags)
}

struct Sources {
    rootfs: OwnedFd,
    binds: Vec<OwnedFd>,
    devices: Vec<(&'static str, OwnedFd)>,
    console: Option<OwnedFd>,
    /// The host's /sys, for `--sys --share-net`.
    sys: Option<OwnedFd>,
}

impl Sources {
    /// The host's /dev/null, checked to be the real one (char 1:3): it is
    /// what masks files in /proc and /sys.
    fn null(&self) -> Result<&OwnedFd> {
        let (_, fd) = self
            .devices
            .iter()
            .find(|(n, _)| *n == "null")
            .expect("null is in DEVICES");
        check_null(fd.try_clone().ctx("dup", "/dev/null")?, "/dev/null")?;
        Ok(fd)
    }
}

/// A bind source as an O_PATH fd. Unless the plan allows a symlink on the
/// way (`--bind-symlinks`), the path (already resolved, so it had none when
/// the launcher checked) is walked one component at a time with O_NOFOLLOW,
/// so a link swapped in since then is refused rather than followed.
fn open_bind_source(src: &Path, via_symlink: bool) -> Result<OwnedFd> {
    let shown = src.display().to_string();
    if via_symlink {
        return o_path(src, 0).ctx("open bind source", &shown);
    }
    let mut cur = o_path(Path::new("/"), libc::O_DIRECTORY).ctx("open bind source", &shown)?;
    for c in src.components() {
        let std::path::Component::Normal(name) = c else {
            continue;
        };
        let next = sys::openat(cur.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW)
            .ctx("open bind source", &shown)?;
        let kind = sys::fstat(next.as_fd())
            .ctx("open bind source", &shown)?
            .st_mode
            & libc::S_IFMT;
        if kind == libc::S_IFLNK {
            return Err(Error::msg(
                "bind source",
                "became a symlink after it was checked; refusing to follow it",
            )
            .with_path(src.display().to_string()));
        }
        cur = next;
    }
    Ok(cur)
}

pub fn setup(plan: &Plan, report: &ReportSender) -> Result<bool> {
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
            .map(|b| open_bind_source(&b.src, b.via_symlink))
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
        // Under --stdio relay the sandbox's /dev/console is its own pty
        // (relay::make_pty): the caller's terminal stays out.
        console: match plan.stdio {
            crate::plan::StdioMode::Inherit => controlling_tty(),
            crate::plan::StdioMode::Relay => None,
        },
        sys: if plan.sys && plan.share_net {
            Some(o_path(Path::new("/sys"), libc::O_DIRECTORY).ctx("open", "/sys")?)
        } else {
            None
        },
    };

    // (3) The new root, on a staging tmpfs.
    // Its size caps what the command writes to the copy-on-write root
    // (the overlay's upper layer lives here).
    mount_tmpfs(Path::new(STAGING), &tmpfs_opts("0755", plan.sizes.root))?;
    let read_only_root = mount_new_root(plan, &src.rootfs, report)?;
    let root = o_path(Path::new(NEW_ROOT), libc::O_DIRECTORY).ctx("open", NEW_ROOT)?;

    // (4) /proc first, named through the host's /proc (ours does not exist
    // yet); the kernel wants the host's procfs fully visible for that
    // (`mount_too_revealing`). Everything after is mounted chrooted in the
    // new root, through our own /proc.
    target(&root, Path::new("/proc"), true, Links::Refuse)?
        .mount(
            Some(OsStr::new("proc")),
            Some("proc"),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            None,
            "mount proc",
        )
        .map_err(proc_hint)?;
    std::env::set_current_dir(NEW_ROOT).ctx("chdir", NEW_ROOT)?;
    sys::chroot(OsStr::new(".")).ctx("chroot", NEW_ROOT)?;
    mask_proc(&root, src.null()?)?;
    mount_dev(&root, &src, plan.sizes.shm)?;
    let tmp = target(&root, Path::new("/tmp"), true, Links::Refuse)?;
    tmp.mount(
        Some(OsStr::new("tmpfs")),
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(&tmpfs_opts("1777", plan.sizes.tmp)),
        "mount tmpfs",
    )?;
    if plan.sys {
        mount_sys(&root, src.sys.as_ref(), src.null()?)?;
    }
    if plan.host_root() {
        cover_host_mounts(&root, plan, src.null()?)?;
    }
    for (i, (b, fd)) in plan.binds.iter().zip(&src.binds).enumerate() {
        mount_tmpfs_before(&root, plan, i)?;
        let is_dir = fs::metadata(fd_path(fd))
            .map(|m| m.is_dir())
            .unwrap_or(false);
        let t = target(&root, &b.dst, is_dir, Links::ResolveInside)?;
        bind(fd, &t, b.read_only)?;
    }
    mount_tmpfs_before(&root, plan, plan.binds.len())?;
    if read_only_root {
        // Last, so the mount points above could still be created.
        set_attrs(&root, sys::MOUNT_ATTR_RDONLY | NOSUID_NODEV)
            .ctx("make the root read-only", "/")?;
    }

    // (5) Back out of the chroot, swap roots, drop the host's.
    sys::fchdir(&host_root).ctx_step("leave the chroot")?;
    sys::chroot(OsStr::new(".")).ctx_step("leave the chroot")?;
    drop(host_root);
    pivot()?;
    Ok(!read_only_root)
}

/// NEW_ROOT as a mount point: "root" in the staging tmpfs, which is ours.
fn new_root_target() -> Result<Target> {
    let staging = o_path(Path::new(STAGING), libc::O_DIRECTORY).ctx("open", STAGING)?;
    Ok(Target::in_dir(
        &Rc::new(staging),
        OsStr::new("root"),
        NEW_ROOT.into(),
        None,
        libc::S_IFDIR,
    ))
}

/// An overlay of `lower` (read-only) and `upper` at `target`, as a user
/// namespace may mount it (Linux 5.11+). With `userxattr`, overlay keeps
/// its whiteouts and opaque marks in user.* xattrs, the only ones a user
/// namespace may set; without it, removing a directory of the lower layer
/// fails with EIO. The upper filesystem must keep user xattrs for that
/// (tmpfs does from Linux 6.6). Kernels that do not know the option are
/// asked again without it.
pub fn mount_overlay(
    lower: &Path,
    upper: &Path,
    work: &Path,
    target: &Path,
    flags: libc::c_ulong,
) -> std::io::Result<()> {
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.to_string_lossy(),
        upper.to_string_lossy(),
        work.to_string_lossy()
    );
    let overlay = |opts: &str| {
        sys::mount(
            Some(OsStr::new("overlay")),
            target.as_os_str(),
            Some("overlay"),
            flags,
            Some(opts),
        )
    };
    overlay(&format!("{opts},userxattr")).or_else(|_| overlay(&opts))
}

/// Mount the root at NEW_ROOT; returns whether it must end read-only.
fn mount_new_root(plan: &Plan, rootfs: &OwnedFd, report: &ReportSender) -> Result<bool> {
    fs::create_dir(NEW_ROOT).ctx("create the new root", NEW_ROOT)?;
    if plan.host_root() && plan.root != RootMode::ReadWrite {
        // The host's root cannot be an overlay's lower layer in a user
        // namespace (see `cover_host_mounts`): bound read-only instead,
        // with every mount below it.
        bind(rootfs, &new_root_target()?, true)?;
        return Ok(true);
    }
    if plan.root == RootMode::ReadWrite {
        bind(rootfs, &new_root_target()?, false)?;
        return Ok(false);
    }
    // Copy-on-write: the upper layer lives on the staging tmpfs, so writes
    // never reach the rootfs and vanish with the namespace. Overlay in a user
    // namespace needs Linux 5.11.
    for d in ["upper", "work"] {
        fs::create_dir(Path::new(STAGING).join(d)).ctx("create overlay directory", d)?;
    }
    let lower = PathBuf::from(fd_path(rootfs));
    let upper = Path::new(STAGING).join("upper");
    let work = Path::new(STAGING).join("work");
    let flags = libc::MS_NOSUID | libc::MS_NODEV;
    match mount_overlay(&lower, &upper, &work, Path::new(NEW_ROOT), flags) {
        Ok(()) => Ok(plan.root == RootMode::ReadOnly),
        Err(e) => {
            let why = crate::error::describe_errno(e.raw_os_error().unwrap_or(libc::EIO));
            report.notice(&format!(
                "notice: overlay unavailable ({why}); the root is read-only for this run (writable: /tmp, /dev/shm and --bind targets)"
            ));
            bind(rootfs, &new_root_target()?, false)?;
            Ok(true)
        }
    }
}

// ---- The host's root as ROOTFS, and --tmpfs ----

/// The cap on the empty /run given to a sandbox whose root is the host's.
pub const HOST_RUN_SIZE: u64 = 16 << 20;

/// `sandbox run / CMD`: the host's root is bound read-only with all its
/// mounts (overlay cannot take it as a lower layer: the kernel refuses a
/// lower layer with locked mounts below it, EINVAL from
/// clone_private_mount, and refuses a non-recursive bind of it for the
/// same reason). /proc, /dev and /tmp are ours already; here the host's
/// /sys is covered with an empty read-only tmpfs unless `--sys` mounted a
/// fresh one, and /run (the host's sockets: D-Bus, the container
/// runtime's, the user's agents) with an empty writable tmpfs.
fn cover_host_mounts(root: &OwnedFd, plan: &Plan, null: &OwnedFd) -> Result<()> {
    if !plan.sys && sys_kind(Path::new("/sys")) == Some(true) {
        mask_at(
            &target(root, Path::new("/sys"), true, Links::Refuse)?,
            true,
            null,
        )?;
    }
    if sys_kind(Path::new("/run")) == Some(true) {
        target(root, Path::new("/run"), true, Links::Refuse)?.mount(
            Some(OsStr::new("tmpfs")),
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(&tmpfs_opts("0755", HOST_RUN_SIZE)),
            "mount tmpfs",
        )?;
    }
    Ok(())
}

/// The `--tmpfs` mounts given just before bind number `bind` (or after
/// the last one): an empty writable tmpfs over each.
fn mount_tmpfs_before(root: &OwnedFd, plan: &Plan, bind: usize) -> Result<()> {
    for t in plan.tmpfs.iter().filter(|t| t.after_binds as usize == bind) {
        target(root, &t.dst, true, Links::ResolveInside)?.mount(
            Some(OsStr::new("tmpfs")),
            Some("tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(&tmpfs_opts("0755", t.size)),
            "mount tmpfs",
        )?;
    }
    Ok(())
}

fn proc_hint(e: Error) -> Error {
    if e.raw_errno() == Some(libc::EPERM) {
        e.with_hint("the kernel refuses a new /proc when the host's /proc is partly masked (as inside a container); run sandbox on the host, or give the container an unmasked /proc")
    } else {
        e
    }
}

/// Files in /proc that expose the host (kernel memory, keys, timers and
/// scheduler internals of every process): covered with /dev/null, or with an
/// empty read-only tmpfs for directories. Ref: runc's default maskedPaths
const PROC_MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    // The host kernel's command line and boot configuration (issue 14).
    "/proc/bootconfig",
    "/proc/cmdline",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
];

/// Kernel knobs, visible but read-only. Ref: runc's default readonlyPaths
const PROC_READ_ONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Masks and read-only binds in our own, fresh /proc: each entry is one
/// name in its root, looked up from a held fd of it.
fn mask_proc(root: &OwnedFd, null: &OwnedFd) -> Result<()> {
    let proc = target(root, Path::new("/proc"), true, Links::Refuse)?.open()?;
    for p in PROC_MASKED {
        if let Some((t, is_dir)) = proc_entry(&proc, p)? {
            mask_at(&t, is_dir, null)?;
        }
    }
    for p in PROC_READ_ONLY {
        if let Some((t, _)) = proc_entry(&proc, p)? {
            let here = t.open()?;
            bind(&here, &t, true)?;
        }
    }
    Ok(())
}

/// `path` (/proc/NAME) as a mount point in our /proc, held by `proc`, and
/// whether it is a directory; None when this kernel has no such entry.
fn proc_entry(proc: &OwnedFd, path: &str) -> Result<Option<(Target, bool)>> {
    let name = path.strip_prefix("/proc/").expect("a /proc path");
    let t = existing(proc, Path::new(name), Links::Refuse)?;
    Ok(t.map(|t| {
        let dir = t.is_dir();
        (t, dir)
    }))
}

/// Whether a /sys path is a directory; None when this kernel has no such
/// file.
fn sys_kind(p: &Path) -> Option<bool> {
    fs::symlink_metadata(p).ok().map(|m| m.is_dir())
}

/// Mask a file or directory of /sys.
fn mask(root: &OwnedFd, path: &Path, null: &OwnedFd) -> Result<()> {
    let Some(is_dir) = sys_kind(path) else {
        return Ok(());
    };
    mask_at(&target(root, path, is_dir, Links::Refuse)?, is_dir, null)
}

/// `--sys`: a read-only sysfs. A new sysfs needs the network namespace to be
/// ours; with --share-net the host's is bound read-only instead.
fn mount_sys(root: &OwnedFd, host_sys: Option<&OwnedFd>, null: &OwnedFd) -> Result<()> {
    let t = target(root, Path::new("/sys"), true, Links::Refuse)?;
    let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    match host_sys {
        Some(fd) => {
            bind(fd, &t, true)?;
            mask_sys_submounts(root, null)?;
        }
        None => t.mount(
            Some(OsStr::new("sysfs")),
            Some("sysfs"),
            flags,
            None,
            "mount sysfs",
        )?,
    }
    for p in [
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
        "/sys/kernel/security",
        "/sys/fs/selinux",
    ] {
        mask(root, Path::new(p), null)?;
    }
    Ok(())
}

/// `--sys --share-net` binds the host's /sys with everything mounted
/// under it: the host's whole cgroup tree, and debugfs, tracefs, bpffs,
/// pstore where the host mounted them. A fresh sysfs has none of them, so
/// each top submount is covered with an empty read-only tmpfs, as the
/// masks above are. The list is the kernel's own mount table (our /proc,
/// in the chroot: paths are inside the new root).
fn mask_sys_submounts(root: &OwnedFd, null: &OwnedFd) -> Result<()> {
    let mut points: Vec<PathBuf> = crate::procfs::own_mounts()
        .ctx("read", crate::procfs::MOUNTINFO)?
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with("/sys") && p != Path::new("/sys"))
        .collect();
    points.sort();
    let mut masked: Vec<PathBuf> = Vec::new();
    for p in points {
        if masked.iter().any(|m| p.starts_with(m)) {
            continue;
        }
        mask(root, &p, null)?;
        masked.push(p);
    }
    Ok(())
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
/// devpts instance, /dev/shm and the fd links. The tmpfs is ours and
/// starts empty, so below it plain names in a held fd of it are safe.
fn mount_dev(root: &OwnedFd, src: &Sources, shm_size: u64) -> Result<()> {
    // nodev on the tmpfs too: each node is its own bind mount, which keeps
    // the host's "dev" for that one node only.
    let t = target(root, Path::new("/dev"), true, Links::Refuse)?;
    t.mount(
        Some(OsStr::new("tmpfs")),
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
        // Nodes, links and directories only: a megabyte is plenty, and the
        // command (root inside) cannot fill memory through /dev.
        Some(&tmpfs_opts("0755", 1 << 20)),
        "mount tmpfs",
    )?;
    let dev = Rc::new(t.open()?);
    // Nodes cannot be created in a user namespace (mknod needs the initial
    // namespace's CAP_MKNOD), so bind the host's onto empty files.
    let mut nodes: Vec<(&str, &OwnedFd)> = src.devices.iter().map(|(n, fd)| (*n, fd)).collect();
    if let Some(tty) = &src.console {
        nodes.push(("console", tty));
    }
    for (name, fd) in &nodes {
        let shown = format!("/dev/{name}");
        let file = sys::openat(
            dev.as_fd(),
            OsStr::new(name),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW,
        )
        .ctx("create mount point", &shown)?;
        sys::mount(
            Some(&fd_path(fd)),
            &fd_path(&file),
            None,
            libc::MS_BIND,
            None,
        )
        .ctx("bind device", &shown)?;
    }
    // Device nodes need "dev", but nothing on them is setuid or executable:
    // one recursive change for the tmpfs and every node on it, made before
    // devpts and /dev/shm are there.
    let attrs = sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NOEXEC;
    match sys::mount_setattr(&fd_path(&dev), true, attrs) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            for (name, _) in &nodes {
                let shown = format!("/dev/{name}");
                let node = sys::openat(
                    dev.as_fd(),
                    OsStr::new(name),
                    libc::O_PATH | libc::O_NOFOLLOW,
                )
                .ctx("open mount point", &shown)?;
                remount(&fd_path(&node), attrs).ctx("bind device", &shown)?;
            }
        }
        other => other.ctx("bind device", "/dev")?,
    }
    // A devpts of our own: the host's ptys stay invisible. No gid= option:
    // the tty group is not mapped in our single-id user namespace, and a
    // gid= naming an unmapped group fails the mount.
    dev_dir(&dev, "pts")?.mount(
        Some(OsStr::new("devpts")),
        Some("devpts"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=620"),
        "mount devpts",
    )?;
    dev_dir(&dev, "shm")?.mount(
        Some(OsStr::new("tmpfs")),
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(&tmpfs_opts("1777", shm_size)),
        "mount tmpfs",
    )?;
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

/// A new directory `name` in our /dev (held by `dev`), as a mount point.
fn dev_dir(dev: &Rc<OwnedFd>, name: &str) -> Result<Target> {
    let shown = format!("/dev/{name}");
    sys::mkdirat(dev.as_fd(), OsStr::new(name), 0o755).ctx("create mount point", &shown)?;
    let fd = sys::openat(
        dev.as_fd(),
        OsStr::new(name),
        libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY,
    )
    .ctx("open mount point", &shown)?;
    Ok(Target::in_dir(
        dev,
        OsStr::new(name),
        shown,
        Some(fd),
        libc::S_IFDIR,
    ))
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

/// Options for a writable tmpfs: a size cap, and one inode per 4 KiB of it
/// (at least 1024), so that neither big files nor a flood of empty ones
/// can take the machine's memory. Ref: tmpfs(5)
pub fn tmpfs_opts(mode: &str, size: u64) -> String {
    format!(
        "mode={mode},size={size},nr_inodes={}",
        (size / 4096).max(1024)
    )
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

/// Bind a source (held as an fd) onto a mount point, and set nosuid, nodev
/// (and read-only) on it and everything under it.
fn bind(src: &OwnedFd, t: &Target, read_only: bool) -> Result<()> {
    let step = if read_only { "bind read-only" } else { "bind" };
    let from = fd_path(src);
    t.mount(Some(&from), None, libc::MS_BIND | libc::MS_REC, None, step)?;
    let attrs = if read_only { sys::MOUNT_ATTR_RDONLY } else { 0 };
    let mounted = t.open()?;
    match sys::mount_setattr(&fd_path(&mounted), true, attrs | NOSUID_NODEV) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            // Before 5.12 a remount reaches only the top mount, so a
            // recursive bind would keep writable submounts: bind without
            // them instead (they show as empty directories).
            sys::umount2(&fd_path(&mounted), libc::MNT_DETACH).ctx(step, t.shown())?;
            drop(mounted);
            t.mount(Some(&from), None, libc::MS_BIND, None, step)?;
            remount(&fd_path(&t.open()?), attrs | NOSUID_NODEV).ctx(step, t.shown())
        }
        other => other.ctx(step, t.shown()),
    }
}

const NOSUID_NODEV: u64 = sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV;

/// The mount point `path` in the new root, found or made by the one walk
/// (src/confine/walk.rs); a root that cannot take it says how to get round that.
fn target(root: &OwnedFd, path: &Path, dir: bool, links: Links) -> Result<Target> {
    crate::confine::walk::target(root, path, dir, links).map_err(read_only_hint)
}

fn read_only_hint(e: Error) -> Error {
    if e.raw_errno() == Some(libc::EROFS) {
        e.with_hint("the root is read-only: create this path in the rootfs, or drop --read-only (the host's root / stays read-only: put a --tmpfs on a parent directory)")
    } else {
        e
    }
}
