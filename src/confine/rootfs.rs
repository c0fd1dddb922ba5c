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
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::channel::ReportSender;
use crate::confine::walk::{
    check_null, existing, fd_path, mask_at, refuse, remount, set_attrs, Links, Make, Target,
};
use crate::error::{Context, Error, Result};
use crate::plan::RootMode;
use crate::plan::{OverlayUpper, Plan};
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

/// A host source (`what`: a bind source, an overlay's directory) as an
/// O_PATH fd. Unless the plan allows a symlink on the way
/// (`--bind-symlinks`), the path (already resolved, so it had none when the
/// launcher checked) is walked one component at a time with O_NOFOLLOW, so
/// a link swapped in since then is refused rather than followed.
fn open_source(src: &Path, via_symlink: bool, what: &str) -> Result<OwnedFd> {
    let shown = src.display().to_string();
    let step = format!("open {what}");
    if via_symlink {
        return o_path(src, 0).ctx(&step, &shown);
    }
    let mut cur = o_path(Path::new("/"), libc::O_DIRECTORY).ctx(&step, &shown)?;
    for c in src.components() {
        let std::path::Component::Normal(name) = c else {
            continue;
        };
        let next =
            sys::openat(cur.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW).ctx(&step, &shown)?;
        let kind = sys::fstat(next.as_fd()).ctx(&step, &shown)?.st_mode & libc::S_IFMT;
        if kind == libc::S_IFLNK {
            return Err(Error::msg(
                what,
                "became a symlink after it was checked; refusing to follow it",
            )
            .with_path(src.display().to_string()));
        }
        cur = next;
    }
    Ok(cur)
}

pub fn setup(plan: &Plan, report: &ReportSender) -> Result<bool> {
    if let Some(b) = &plan.built {
        return setup_built(plan, b);
    }
    // (1) Nothing below may propagate back to the host's mount table.
    sys::sigsafe::make_mounts_private().ctx("make mounts private", "/")?;

    // (2) Host sources, opened while the host tree is visible.
    let host_root = o_path(Path::new("/"), libc::O_DIRECTORY).ctx("open", "/")?;
    let src = Sources {
        rootfs: o_path(&plan.rootfs, libc::O_DIRECTORY)
            .ctx("open rootfs", plan.rootfs.display())?,
        binds: plan
            .binds
            .iter()
            .map(|b| open_source(&b.src, b.via_symlink, "bind source"))
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

/// An overlay at `target` of the directories `lowers`, given top first
/// (the kernel's order: the first one's files win), with writes going to
/// `upper` (and its work directory) when there is one, else read-only,
/// as a user namespace may mount it (Linux 5.11+). With `userxattr`,
/// overlay keeps its whiteouts and opaque marks in user.* xattrs, the only
/// ones a user namespace may set; without it, removing a directory of the
/// lower layer fails with EIO. The upper filesystem must keep user xattrs
/// for that (tmpfs does from Linux 6.6). Kernels that do not know the
/// option (EINVAL) are asked again without it; any other refusal is
/// returned as it is. A ',' ':' or '\\' in a path is
/// escaped for the option string (callers name held fds as
/// /proc/self/fd/N anyway, so a host path never reaches it).
pub fn mount_overlay(
    lowers: &[&Path],
    upper: Option<(&Path, &Path)>,
    target: &Path,
    flags: libc::c_ulong,
) -> std::io::Result<()> {
    let mut opts = String::new();
    if let Some((upper, work)) = upper {
        opts = format!(
            "upperdir={},workdir={},",
            overlay_escape(upper)?,
            overlay_escape(work)?
        );
    }
    let lowers = lowers
        .iter()
        .map(|l| overlay_escape(l))
        .collect::<std::io::Result<Vec<_>>>()?;
    opts.push_str(&format!("lowerdir={}", lowers.join(":")));
    // mount(2) copies one page of options: a longer string would reach the
    // kernel cut (layers, or `userxattr`, lost), so it is refused whole.
    if opts.len() + ",userxattr".len() >= OPTIONS_MAX {
        return Err(std::io::Error::from_raw_os_error(libc::E2BIG));
    }
    let overlay = |opts: &str| {
        sys::mount(
            Some(OsStr::new("overlay")),
            target.as_os_str(),
            Some("overlay"),
            flags,
            Some(opts),
        )
    };
    match overlay(&format!("{opts},userxattr")) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => overlay(&opts),
        other => other,
    }
}

/// The longest option string mount(2) takes whole, with its NUL: a page
/// (4 KiB on x86_64; the smallest page Linux has).
const OPTIONS_MAX: usize = 4096;

/// A path as overlay's option parser reads it back: ',' (between options),
/// ':' (between lower layers) and '\\' itself each behind a '\\'. The
/// option string is text: a path that is not UTF-8 is EINVAL.
fn overlay_escape(p: &Path) -> std::io::Result<String> {
    let text = p
        .to_str()
        .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut out = String::new();
    for c in text.chars() {
        if matches!(c, ',' | ':' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(out)
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
    match mount_overlay(&[&lower], Some((&upper, &work)), Path::new(NEW_ROOT), flags) {
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
    mask_proc_in(&proc, null)
}

/// The masks and read-only binds in the procfs held by `proc`.
fn mask_proc_in(proc: &OwnedFd, null: &OwnedFd) -> Result<()> {
    for p in PROC_MASKED {
        if let Some((t, is_dir)) = proc_entry(proc, p)? {
            mask_at(&t, is_dir, null)?;
        }
    }
    for p in PROC_READ_ONLY {
        if let Some((t, _)) = proc_entry(proc, p)? {
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
    pivot_into(NEW_ROOT)
}

fn pivot_into(new_root: &str) -> Result<()> {
    std::env::set_current_dir(new_root).ctx("chdir", new_root)?;
    // pivot_root wants new_root not shared: it is under the tree we made
    // private in step 1.
    // With new_root == put_old the old root ends up mounted on top of the new
    // one; detaching "." then removes it. Ref: pivot_root(2) NOTES
    sys::pivot_root(OsStr::new("."), OsStr::new(".")).ctx("pivot_root", new_root)?;
    sys::umount2(OsStr::new("."), libc::MNT_DETACH).ctx("detach the old root", "/")?;
    std::env::set_current_dir("/").ctx("chdir", "/")
}

/// A minimal /dev: a tmpfs with the usual nodes bound from the host, a new
/// devpts instance, /dev/shm and the fd links. The tmpfs is ours and
/// starts empty, so below it plain names in a held fd of it are safe.
fn mount_dev(root: &OwnedFd, src: &Sources, shm_size: u64) -> Result<()> {
    let t = target(root, Path::new("/dev"), true, Links::Refuse)?;
    mount_dev_at(&t, &src.devices, src.console.as_ref(), shm_size, false)
}

/// `mount_dev` at the mount point `t`; `core`: a /dev/core link to
/// /proc/kcore too (bubblewrap's --dev has one).
fn mount_dev_at(
    t: &Target,
    devices: &[(&'static str, OwnedFd)],
    console: Option<&OwnedFd>,
    shm_size: u64,
    core: bool,
) -> Result<()> {
    // nodev on the tmpfs too: each node is its own bind mount, which keeps
    // the host's "dev" for that one node only.
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
    let mut nodes: Vec<(&str, &OwnedFd)> = devices.iter().map(|(n, fd)| (*n, fd)).collect();
    if let Some(tty) = console {
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
    let core = core.then_some(("core", "/proc/kcore"));
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ]
    .into_iter()
    .chain(core)
    {
        // In the tmpfs held, by name: nothing here resolves a path.
        sys::symlinkat(OsStr::new(target), dev.as_fd(), OsStr::new(link))
            .ctx("create symlink", format!("/dev/{link}"))?;
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
    bind_with(src, t, read_only, true)
}

/// `bind`, with device nodes on it usable unless `nodev` (bwrap's
/// `--dev-bind`).
fn bind_with(src: &OwnedFd, t: &Target, read_only: bool, nodev: bool) -> Result<()> {
    let step = if read_only { "bind read-only" } else { "bind" };
    let from = fd_path(src);
    t.mount(Some(&from), None, libc::MS_BIND | libc::MS_REC, None, step)?;
    let attrs = if read_only { sys::MOUNT_ATTR_RDONLY } else { 0 };
    let attrs = attrs
        | if nodev {
            NOSUID_NODEV
        } else {
            sys::MOUNT_ATTR_NOSUID
        };
    let mounted = t.open()?;
    match sys::mount_setattr(&fd_path(&mounted), true, attrs) {
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            // Before 5.12 a remount reaches only the top mount, so a
            // recursive bind would keep writable submounts: bind without
            // them instead (they show as empty directories).
            sys::umount2(&fd_path(&mounted), libc::MNT_DETACH).ctx(step, t.shown())?;
            drop(mounted);
            t.mount(Some(&from), None, libc::MS_BIND, None, step)?;
            remount(&fd_path(&t.open()?), attrs).ctx(step, t.shown())
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

// ---- A root built from operations (the bwrap front end) ----

/// The built root's place in the staging tmpfs, once that is our root.
const BUILT_ROOT: &str = "/newroot";

/// A root built from `b.ops` on an empty tmpfs, in their order
/// (docs/BWRAP.md). Host sources are opened first, while the host's tree
/// is our root; then a staging tmpfs becomes the root with the host's
/// tree below it at /oldroot, so that no mount of ours lies over any of
/// the host's paths (a recursive bind of the host's / shows its real
/// /tmp); the root is a tmpfs at /newroot there, each mount point found
/// or made by the one walk inside it, each mount made on a held fd; last,
/// pivot_root into it and the staging root with the host's tree detached.
fn setup_built(plan: &Plan, b: &crate::plan::Built) -> Result<bool> {
    use crate::plan::RootOp;
    sys::sigsafe::make_mounts_private().ctx("make mounts private", "/")?;
    // Host sources, each op's: a bind's (symlinks followed, as bubblewrap
    // does), an overlay's directories (lowers bottom first, then upper and
    // work; see `open_overlay_dir`).
    let mut sources: Vec<Vec<OwnedFd>> = Vec::new();
    for op in &b.ops {
        sources.push(match op {
            RootOp::Bind { src, .. } => {
                vec![o_path(src, 0).ctx("open bind source", src.display())?]
            }
            RootOp::Overlay { lowers, upper, .. } => {
                let mut dirs: Vec<&PathBuf> = lowers.iter().collect();
                if let OverlayUpper::Dir { upper, work } = upper {
                    dirs.extend([upper, work]);
                }
                dirs.into_iter()
                    .map(|d| open_overlay_dir(d))
                    .collect::<Result<_>>()?
            }
            _ => Vec::new(),
        });
    }
    let wants = |f: fn(&RootOp) -> bool| b.ops.iter().any(f);
    let devices: Vec<(&'static str, OwnedFd)> = if wants(|o| matches!(o, RootOp::Dev { .. })) {
        DEVICES
            .iter()
            .map(|d| {
                let p = Path::new("/dev").join(d);
                o_path(&p, 0)
                    .ctx("open device", p.display())
                    .map(|fd| (*d, fd))
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    let null = if b.mask_proc && wants(|o| matches!(o, RootOp::Proc { .. })) {
        let fd = o_path(Path::new("/dev/null"), 0).ctx("open device", "/dev/null")?;
        Some(check_null(fd, "/dev/null")?)
    } else {
        None
    };
    let console = match plan.stdio {
        crate::plan::StdioMode::Inherit => controlling_tty(),
        crate::plan::StdioMode::Relay => None,
    };

    // The staging root, the host's tree below it.
    mount_tmpfs(Path::new(STAGING), &tmpfs_opts("0755", plan.sizes.root))?;
    fs::create_dir(Path::new(STAGING).join("oldroot")).ctx("create directory", "oldroot")?;
    std::env::set_current_dir(STAGING).ctx("chdir", STAGING)?;
    sys::pivot_root(OsStr::new("."), OsStr::new("oldroot")).ctx("pivot_root", STAGING)?;
    std::env::set_current_dir("/").ctx("chdir", "/")?;
    // /proc/self/fd/N (how every mount below names its fds) through the
    // host's procfs.
    std::os::unix::fs::symlink("oldroot/proc", "/proc").ctx("create symlink", "/proc")?;
    let staging = Rc::new(o_path(Path::new("/"), libc::O_DIRECTORY).ctx("open", "/")?);
    fs::create_dir(BUILT_ROOT).ctx("create the new root", BUILT_ROOT)?;
    mount_tmpfs(Path::new(BUILT_ROOT), "mode=0755")?;
    let open_root = || o_path(Path::new(BUILT_ROOT), libc::O_DIRECTORY).ctx("open", BUILT_ROOT);
    let mut root = open_root()?;
    let walk_to = |root: &OwnedFd, dst: &Path, make: Make, mode: u32| {
        crate::confine::walk::target_made(root, dst, make, Links::ResolveInside, mode)
    };
    let chmod = |fd: &OwnedFd, mode: u32, shown: &Path| {
        fs::set_permissions(fd_path(fd), fs::Permissions::from_mode(mode))
            .ctx("chmod", shown.display())
    };
    for (i, (op, src)) in b.ops.iter().zip(&sources).enumerate() {
        match op {
            RootOp::Bind {
                dst,
                read_only,
                devices,
                ..
            } => {
                let src = &src[0];
                if dst == Path::new("/") {
                    let t = Target::in_dir(
                        &staging,
                        OsStr::new("newroot"),
                        "/".into(),
                        None,
                        libc::S_IFDIR,
                    );
                    bind_with(src, &t, *read_only, !devices)?;
                    root = open_root()?;
                    continue;
                }
                let is_dir = fs::metadata(fd_path(src)).is_ok_and(|m| m.is_dir());
                let make = if is_dir { Make::Dir } else { Make::File };
                let (t, made) = walk_to(&root, dst, make, 0o755)?;
                if made && !is_dir {
                    chmod(&t.checked()?, 0o444, dst)?;
                }
                bind_with(src, &t, *read_only, !devices)?;
            }
            RootOp::Tmpfs { dst, mode, size } => {
                let opts = match size {
                    Some(n) => format!("mode={mode:o},size={n}"),
                    None => format!("mode={mode:o}"),
                };
                in_root_or(&staging, &root, dst, walk_to)?.mount(
                    Some(OsStr::new("tmpfs")),
                    Some("tmpfs"),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    Some(&opts),
                    "mount tmpfs",
                )?;
                if dst == Path::new("/") {
                    root = open_root()?;
                }
            }
            RootOp::Proc { dst } => {
                let t = walk_to(&root, dst, Make::Dir, 0o755)?.0;
                t.mount(
                    Some(OsStr::new("proc")),
                    Some("proc"),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    None,
                    "mount proc",
                )
                .map_err(proc_hint)?;
                // `sandbox run`'s masks where opted into (bubblewrap has
                // none): `Built::mask_proc`.
                if let Some(null) = &null {
                    mask_proc_in(&t.open()?, null)?;
                }
            }
            RootOp::Dev { dst } => {
                let t = walk_to(&root, dst, Make::Dir, 0o755)?.0;
                mount_dev_at(&t, &devices, console.as_ref(), plan.sizes.shm, true)?;
            }
            RootOp::Mqueue { dst } => {
                walk_to(&root, dst, Make::Dir, 0o755)?.0.mount(
                    Some(OsStr::new("mqueue")),
                    Some("mqueue"),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    None,
                    "mount mqueue",
                )?;
            }
            RootOp::Symlink { target: to, dst } => {
                let (dir, name) = parent_in_root(&root, dst, 0o755)?;
                match sys::symlinkat(to, dir.as_fd(), name) {
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                        // There already, to the same place: bubblewrap
                        // takes that as done.
                        if sys::readlinkat(dir.as_fd(), name).ok().as_deref()
                            != Some(to.as_os_str())
                        {
                            return Err(e).ctx("create symlink", dst.display());
                        }
                    }
                    other => other.ctx("create symlink", dst.display())?,
                }
            }
            RootOp::Dir { dst, mode } => {
                if dst == Path::new("/") {
                    continue;
                }
                let (t, made) = walk_to(&root, dst, Make::Dir, crate::plan::parent_mode(*mode))?;
                if made {
                    chmod(&t.checked()?, *mode, dst)?;
                }
            }
            RootOp::File { dst, data, mode } => {
                let (dir, name) = parent_in_root(&root, dst, 0o755)?;
                let flags = libc::O_CREAT | libc::O_TRUNC | libc::O_WRONLY | libc::O_NOFOLLOW;
                let mut f = fs::File::from(
                    sys::openat(dir.as_fd(), name, flags).ctx("create file", dst.display())?,
                );
                std::io::Write::write_all(&mut f, data).ctx("write", dst.display())?;
                f.set_permissions(fs::Permissions::from_mode(*mode))
                    .ctx("chmod", dst.display())?;
            }
            RootOp::BindData {
                dst,
                data,
                mode,
                read_only,
            } => {
                // The data in a file of the staging tmpfs, bound onto dst.
                let name = format!("bind-data-{i}");
                let flags = libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_NOFOLLOW;
                let mut f = fs::File::from(
                    sys::openat(staging.as_fd(), OsStr::new(&name), flags)
                        .ctx("create file", &name)?,
                );
                std::io::Write::write_all(&mut f, data).ctx("write", &name)?;
                f.set_permissions(fs::Permissions::from_mode(*mode))
                    .ctx("chmod", &name)?;
                let held = OwnedFd::from(f);
                let (t, _) = walk_to(&root, dst, Make::File, 0o755)?;
                bind(&held, &t, *read_only)?;
            }
            RootOp::Chmod { dst, mode } => {
                let t = existing_in_root(&root, dst)?;
                chmod(&t.open()?, *mode, dst)?;
            }
            RootOp::RemountRo { dst } => {
                let fd = if dst == Path::new("/") {
                    open_root()?
                } else {
                    existing_in_root(&root, dst)?.open()?
                };
                set_attrs(&fd, sys::MOUNT_ATTR_RDONLY).ctx("remount read-only", dst.display())?;
            }
            RootOp::Overlay { lowers, upper, dst } => {
                // The kernel's order: the top layer (given last) first.
                let lower_names: Vec<PathBuf> = src[..lowers.len()]
                    .iter()
                    .rev()
                    .map(|fd| fd_path(fd).into())
                    .collect();
                let held;
                let dirs: Option<(PathBuf, PathBuf)> = match upper {
                    OverlayUpper::Dir { .. } => {
                        let (u, w) = (&src[lowers.len()], &src[lowers.len() + 1]);
                        Some((fd_path(u).into(), fd_path(w).into()))
                    }
                    OverlayUpper::Tmpfs => {
                        held = tmp_overlay_dirs(&staging, i)?;
                        Some((fd_path(&held.0).into(), fd_path(&held.1).into()))
                    }
                    OverlayUpper::ReadOnly => None,
                };
                let at = in_root_or(&staging, &root, dst, walk_to)?.checked()?;
                let lower_names: Vec<&Path> = lower_names.iter().map(PathBuf::as_path).collect();
                mount_overlay(
                    &lower_names,
                    dirs.as_ref().map(|(u, w)| (u.as_path(), w.as_path())),
                    Path::new(&fd_path(&at)),
                    libc::MS_NOSUID | libc::MS_NODEV,
                )
                .map_err(|e| overlay_error(e, op))?;
                if dst == Path::new("/") {
                    root = open_root()?;
                }
            }
        }
    }
    drop(root);
    drop(staging);
    // /newroot becomes the root; the staging root, with the host's tree
    // below it, is detached.
    pivot_into(BUILT_ROOT)?;
    Ok(true)
}

/// An overlay's host directory (`RootOp::Overlay`) as an O_PATH fd. The
/// front end resolved it, so it had no symlink then: it is walked with
/// O_NOFOLLOW (`open_source`), and a symlink swapped in since is refused,
/// not followed. It must be a directory.
fn open_overlay_dir(dir: &Path) -> Result<OwnedFd> {
    let fd = open_source(dir, false, "overlay source")?;
    let st = sys::fstat(fd.as_fd()).ctx("open overlay source", dir.display())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(Error::errno(
            "open overlay source",
            Some(dir.display().to_string()),
            libc::ENOTDIR,
        ));
    }
    Ok(fd)
}

/// A fresh tmpfs for the writes of `--tmp-overlay` (op number `i`), in the
/// staging root, which the sandbox never sees and which goes with it; its
/// upper and work directories, held.
fn tmp_overlay_dirs(staging: &Rc<OwnedFd>, i: usize) -> Result<(OwnedFd, OwnedFd)> {
    let name = format!("tmp-overlay-{i}");
    sys::mkdirat(staging.as_fd(), OsStr::new(&name), 0o755).ctx("create directory", &name)?;
    let t = Target::in_dir(
        staging,
        OsStr::new(&name),
        name.clone(),
        None,
        libc::S_IFDIR,
    );
    t.mount(
        Some(OsStr::new("tmpfs")),
        Some("tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some("mode=0755"),
        "mount tmpfs",
    )?;
    let fs = t.open()?;
    let dir = |d: &str| -> Result<OwnedFd> {
        let shown = format!("{name}/{d}");
        sys::mkdirat(fs.as_fd(), OsStr::new(d), 0o755).ctx("create directory", &shown)?;
        sys::openat(
            fs.as_fd(),
            OsStr::new(d),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_DIRECTORY,
        )
        .ctx("open", &shown)
    };
    Ok((dir("upper")?, dir("work")?))
}

/// A refused overlay mount, on one line: its mount point, the errno, and
/// the host directories it was made of.
fn overlay_error(e: std::io::Error, op: &crate::plan::RootOp) -> Error {
    let crate::plan::RootOp::Overlay { lowers, upper, dst } = op else {
        unreachable!("an overlay's error")
    };
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    let mut why = crate::error::describe_errno(errno);
    if errno == libc::ELOOP {
        // overlayfs's word for layers that overlap or are in use.
        why.push_str(": overlay directories may not overlap");
    }
    let shown: Vec<String> = lowers.iter().map(|l| l.display().to_string()).collect();
    let layers = match upper {
        OverlayUpper::Dir { upper, work } => {
            format!("upper {}, work {}, ", upper.display(), work.display())
        }
        OverlayUpper::Tmpfs => "upper on a tmpfs, ".into(),
        OverlayUpper::ReadOnly => String::new(),
    };
    Error::msg(
        "mount overlay",
        format!("{why} ({layers}lower, bottom first: {})", shown.join(", ")),
    )
    .with_path(dst.display().to_string())
}

/// The mount point `dst` in the built root (made as a directory), or the
/// root itself for `/`.
fn in_root_or(
    staging: &Rc<OwnedFd>,
    root: &OwnedFd,
    dst: &Path,
    walk_to: impl Fn(&OwnedFd, &Path, Make, u32) -> Result<(Target, bool)>,
) -> Result<Target> {
    if dst == Path::new("/") {
        return Ok(Target::in_dir(
            staging,
            OsStr::new("newroot"),
            "/".into(),
            None,
            libc::S_IFDIR,
        ));
    }
    Ok(walk_to(root, dst, Make::Dir, 0o755)?.0)
}

/// What is at `dst` in the built root; missing is an error.
fn existing_in_root(root: &OwnedFd, dst: &Path) -> Result<Target> {
    existing(root, dst, Links::ResolveInside)?
        .ok_or_else(|| Error::errno("find", Some(dst.display().to_string()), libc::ENOENT))
}

/// The directory that holds `dst` in the built root (found or made, with
/// `mode`), and `dst`'s last name.
fn parent_in_root<'a>(root: &OwnedFd, dst: &'a Path, mode: u32) -> Result<(OwnedFd, &'a OsStr)> {
    let name = dst
        .file_name()
        .ok_or_else(|| refuse(&dst.display().to_string(), "is the root itself"))?;
    let parent = dst.parent().unwrap_or(Path::new("/"));
    let dir = if parent == Path::new("/") {
        sys::openat(
            root.as_fd(),
            OsStr::new("."),
            libc::O_PATH | libc::O_DIRECTORY,
        )
        .ctx("open", "/")?
    } else {
        crate::confine::walk::target_made(root, parent, Make::Dir, Links::ResolveInside, mode)?
            .0
            .open()?
    };
    Ok((dir, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ',' ':' and '\' are escaped as overlayfs's option parser unescapes
    /// them; other bytes go as they are; text that is not UTF-8 is refused.
    #[test]
    fn overlay_paths_are_escaped() {
        assert_eq!(
            overlay_escape(Path::new("/a,b:c\\d e")).unwrap(),
            "/a\\,b\\:c\\\\d e"
        );
        assert_eq!(
            overlay_escape(Path::new("/proc/self/fd/7")).unwrap(),
            "/proc/self/fd/7"
        );
        use std::os::unix::ffi::OsStrExt;
        let bad = Path::new(OsStr::from_bytes(b"/a\xff"));
        assert_eq!(
            overlay_escape(bad).unwrap_err().raw_os_error(),
            Some(libc::EINVAL)
        );
    }

    /// An overlay's host directory swapped for a symlink after the front
    /// end resolved it (CVE-2021-30465's race, made here by hand: `layer`
    /// now leads elsewhere) is refused, not followed. Control: following
    /// the same path reaches the other tree, and the directory it replaced
    /// opens when it is a directory.
    #[test]
    fn an_overlay_source_swapped_for_a_symlink_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().canonicalize().unwrap();
        fs::create_dir(real.join("layer")).unwrap();
        fs::create_dir(real.join("elsewhere")).unwrap();
        fs::write(real.join("elsewhere/secret"), "x").unwrap();
        let given = real.join("layer");
        assert!(open_overlay_dir(&given).is_ok());
        // The swap: `layer` becomes a link to `elsewhere`.
        fs::remove_dir(&given).unwrap();
        std::os::unix::fs::symlink(real.join("elsewhere"), &given).unwrap();
        let e = open_overlay_dir(&given).unwrap_err();
        assert!(e.to_string().contains("became a symlink"), "{e}");
        // Control: followed, the path is the other tree.
        let followed = o_path(&given, 0).unwrap();
        assert!(Path::new(&fd_path(&followed)).join("secret").exists());
        // A component above it swapped is refused the same way.
        let deeper = real.join("layer/sub");
        fs::create_dir(real.join("elsewhere/sub")).unwrap();
        assert!(open_overlay_dir(&deeper)
            .unwrap_err()
            .to_string()
            .contains("became a symlink"));
        // And a file is not a directory.
        assert_eq!(
            open_overlay_dir(&real.join("elsewhere/secret"))
                .unwrap_err()
                .raw_errno(),
            Some(libc::ENOTDIR)
        );
    }
}
