//! The container's filesystem, built by the container's process before it
//! parks: the propagation of `/`, the rootfs bound onto itself, every mount
//! of `config.json` in order, /dev's nodes and links, then pivot_root
//! (MS_MOVE and chroot with `--no-pivot`), then the masked and read-only
//! paths and a read-only root.
//!
//! Every mount point (mount destinations, device nodes, /dev's links,
//! masked and read-only paths, /dev/console) is found or made by the one
//! walk `sandbox run` uses too (src/confine/walk.rs): from a held fd of the root,
//! one component at a time, symlinks resolved inside the root, what is
//! missing made with mkdirat/openat on the parent's fd. Each mount goes
//! onto an O_PATH descriptor of the checked target through /proc/self/fd,
//! so what was checked is what is mounted on, and nothing outside the
//! rootfs is ever made or mounted on (CVE-2021-30465).

use std::ffi::OsStr;
use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::spec::{LinuxDevice, LinuxDeviceType, Mount, Spec};
use libc::c_ulong;

use crate::confine::walk::{
    check_null, existing, fd_path, mask_dir, mask_file, target, Links, Target,
};
use crate::error::{Context, Error, Result};
use crate::sys;

/// The device nodes every container gets (runtime.md / config-linux.md
/// "Default Devices"), besides those `linux.devices` lists.
const DEFAULT_DEVICES: &[(&str, u32, u32)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// A mount option: the flag it sets (or clears).
enum Opt {
    Set(c_ulong),
    Clear(c_ulong),
    Propagation(c_ulong),
    Bind {
        recursive: bool,
    },
    /// Passed to the filesystem as data.
    Data,
    /// Accepted and not acted on (documented in docs/OCI.md).
    Ignored,
}

fn option(o: &str) -> Opt {
    use libc::*;
    match o {
        "ro" | "rro" => Opt::Set(MS_RDONLY),
        "rw" | "rrw" => Opt::Clear(MS_RDONLY),
        "nosuid" | "rnosuid" => Opt::Set(MS_NOSUID),
        "suid" | "rsuid" => Opt::Clear(MS_NOSUID),
        "nodev" | "rnodev" => Opt::Set(MS_NODEV),
        "dev" | "rdev" => Opt::Clear(MS_NODEV),
        "noexec" | "rnoexec" => Opt::Set(MS_NOEXEC),
        "exec" | "rexec" => Opt::Clear(MS_NOEXEC),
        "sync" => Opt::Set(MS_SYNCHRONOUS),
        "async" => Opt::Clear(MS_SYNCHRONOUS),
        "dirsync" => Opt::Set(MS_DIRSYNC),
        "remount" => Opt::Set(MS_REMOUNT),
        "mand" => Opt::Set(MS_MANDLOCK),
        "nomand" => Opt::Clear(MS_MANDLOCK),
        "atime" | "ratime" => Opt::Clear(MS_NOATIME),
        "noatime" | "rnoatime" => Opt::Set(MS_NOATIME),
        "diratime" | "rdiratime" => Opt::Clear(MS_NODIRATIME),
        "nodiratime" | "rnodiratime" => Opt::Set(MS_NODIRATIME),
        "relatime" | "rrelatime" => Opt::Set(MS_RELATIME),
        "norelatime" | "rnorelatime" => Opt::Clear(MS_RELATIME),
        "strictatime" | "rstrictatime" => Opt::Set(MS_STRICTATIME),
        "nostrictatime" | "rnostrictatime" => Opt::Clear(MS_STRICTATIME),
        "bind" => Opt::Bind { recursive: false },
        "rbind" => Opt::Bind { recursive: true },
        "private" => Opt::Propagation(MS_PRIVATE),
        "rprivate" => Opt::Propagation(MS_PRIVATE | MS_REC),
        "shared" => Opt::Propagation(MS_SHARED),
        "rshared" => Opt::Propagation(MS_SHARED | MS_REC),
        "slave" => Opt::Propagation(MS_SLAVE),
        "rslave" => Opt::Propagation(MS_SLAVE | MS_REC),
        "unbindable" => Opt::Propagation(MS_UNBINDABLE),
        "runbindable" => Opt::Propagation(MS_UNBINDABLE | MS_REC),
        // podman's and containerd's own markers for their side.
        "tmpcopyup" | "notmpcopyup" | "copy-symlink" | "z" | "Z" | "U" => Opt::Ignored,
        o if o.starts_with("X-") || o.starts_with("x-") => Opt::Ignored,
        _ => Opt::Data,
    }
}

/// A mount's parsed options.
#[derive(Default)]
struct Parsed {
    flags: c_ulong,
    cleared: c_ulong,
    propagation: Vec<c_ulong>,
    bind: Option<bool>,
    data: Vec<String>,
}

fn parse(m: &Mount) -> Parsed {
    let mut p = Parsed::default();
    for o in m.options.iter().flatten() {
        match option(o) {
            Opt::Set(f) => p.flags |= f,
            Opt::Clear(f) => {
                p.flags &= !f;
                p.cleared |= f;
            }
            Opt::Propagation(f) => p.propagation.push(f),
            Opt::Bind { recursive } => p.bind = Some(recursive),
            Opt::Data => p.data.push(o.clone()),
            Opt::Ignored => {}
        }
    }
    if m.typ.as_deref() == Some("bind") && p.bind.is_none() {
        p.bind = Some(false);
    }
    p
}

fn mount(
    src: &OsStr,
    dst: &OsStr,
    fstype: Option<&str>,
    flags: c_ulong,
    data: &str,
) -> std::io::Result<()> {
    sys::mount(
        (!src.is_empty()).then_some(src),
        dst,
        fstype,
        flags,
        (!data.is_empty()).then_some(data),
    )
}

/// Everything before pivot_root. `in_userns`: the container has a user
/// namespace of its own (device nodes are then bound from the host, and
/// sysfs/mqueue/cgroup mounts fall back to binds where the kernel says no).
pub fn prepare(spec: &Spec, rootfs: &Path, in_userns: bool) -> Result<()> {
    let linux = spec.linux.as_ref();
    let prop = match linux.and_then(|l| l.rootfs_propagation.as_deref()) {
        None | Some("") => libc::MS_SLAVE | libc::MS_REC,
        Some(p) => match option(p) {
            Opt::Propagation(f) => f,
            _ => {
                return Err(Error::msg(
                    "rootfsPropagation",
                    format!("'{p}' is not a propagation mode"),
                ))
            }
        },
    };
    // The namespace's mounts get the propagation asked for (rslave by
    // default), as runc does: with rshared they stay peers of the host's,
    // so a bind of a shared host directory (a Kubernetes hostPath with
    // Bidirectional propagation) is a peer too, and mounts made on either
    // side are seen on the other.
    let slash = OsStr::new("/");
    mount(OsStr::new(""), slash, None, prop, "").ctx("set the propagation of", "/")?;
    if prop & libc::MS_SHARED != 0 {
        // pivot_root refuses a new root whose parent mount is shared
        // (EINVAL), and the rootfs bound onto itself there would appear
        // on the host: the mount the rootfs lies on leaves the host's
        // peer group, in this namespace only.
        let on = mount_under(rootfs)?;
        mount(OsStr::new(""), on.as_os_str(), None, libc::MS_PRIVATE, "")
            .ctx("make the mount under the rootfs private", on.display())?;
    }
    // pivot_root needs the new root to be a mount point.
    mount(
        rootfs.as_os_str(),
        rootfs.as_os_str(),
        None,
        libc::MS_BIND | libc::MS_REC,
        "",
    )
    .ctx("bind the rootfs", rootfs.display())?;
    // And neither it nor its parent shared.
    mount(
        OsStr::new(""),
        rootfs.as_os_str(),
        None,
        libc::MS_PRIVATE,
        "",
    )
    .ctx("make the rootfs private", rootfs.display())?;
    // The root every mount point is found from: the bind just made.
    let root =
        sys::open_path(rootfs, libc::O_DIRECTORY).ctx("open the rootfs", rootfs.display())?;

    let mut dev_is_ours = false;
    for m in spec.mounts.iter().flatten() {
        mount_one(m, &root, in_userns).map_err(|e| {
            let at = format!(
                "{} (mount {})",
                e.path.clone().unwrap_or_default(),
                m.destination.display()
            );
            e.with_path(at)
        })?;
        if m.destination == Path::new("/dev") && parse(m).bind.is_none() {
            dev_is_ours = true;
        }
    }
    if dev_is_ours {
        let mut devices: Vec<LinuxDevice> = vec![];
        for (name, major, minor) in DEFAULT_DEVICES {
            devices.push(LinuxDevice {
                path: PathBuf::from(format!("/dev/{name}")),
                typ: LinuxDeviceType::C,
                major: *major as i64,
                minor: *minor as i64,
                file_mode: Some(0o666),
                uid: Some(0),
                gid: Some(0),
            });
        }
        for d in linux.and_then(|l| l.devices.as_ref()).into_iter().flatten() {
            devices.retain(|x| x.path != d.path);
            devices.push(d.clone());
        }
        for d in &devices {
            device(&root, d, in_userns)?;
        }
        dev_links(&root)?;
    } else if let Some(list) = linux.and_then(|l| l.devices.as_ref()) {
        for d in list {
            device(&root, d, in_userns)?;
        }
    }
    Ok(())
}

fn mount_one(m: &Mount, root: &OwnedFd, in_userns: bool) -> Result<()> {
    let idmapped = m.uid_mappings.is_some()
        || m.options
            .iter()
            .flatten()
            .any(|o| o == "idmap" || o == "ridmap");
    if idmapped {
        return Err(Error::msg(
            "mount",
            format!(
                "{}: idmapped mounts are not supported by sandbox-oci",
                m.destination.display()
            ),
        ));
    }
    let p = parse(m);
    let typ = m.typ.as_deref().unwrap_or("");
    let source = m.source.clone().unwrap_or_default();
    let step = format!("mount {typ}");
    let propagate = |t: &Target| -> Result<()> {
        let held = t.open()?;
        let at = fd_path(&held);
        for f in &p.propagation {
            mount(OsStr::new(""), &at, None, *f, "").ctx("set mount propagation", t.shown())?;
        }
        Ok(())
    };
    if let Some(recursive) = p.bind {
        // The source is a host path: make a target of the same kind.
        let md = fs::metadata(&source).ctx("bind source", source.display())?;
        let t = target(root, &m.destination, md.is_dir(), Links::ResolveInside)?;
        let rec = if recursive { libc::MS_REC } else { 0 };
        t.mount(
            Some(source.as_os_str()),
            None,
            libc::MS_BIND | rec,
            None,
            &step,
        )?;
        // A fresh descriptor names the new mount.
        remount_bind(&fd_path(&t.open()?), p.flags, &step, t.shown())?;
        return propagate(&t);
    }
    let t = target(root, &m.destination, true, Links::ResolveInside)?;
    let data = p.data.join(",");
    let src = if source.as_os_str().is_empty() {
        OsStr::new(typ)
    } else {
        source.as_os_str()
    };
    let flags = p.flags & !libc::MS_REMOUNT;
    let r = {
        let held = t.checked()?;
        let at = fd_path(&held);
        match typ {
            "cgroup" | "cgroup2" => mount_cgroup(&at, flags),
            _ => mount(src, &at, Some(typ), flags, &data),
        }
    };
    match r {
        Ok(()) => {}
        // Without the privilege over the network namespace (sysfs) or the
        // IPC one (mqueue), the kernel says no; bind the host's instead, as
        // runc does rootless.
        Err(e)
            if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EBUSY))
                && matches!(typ, "cgroup" | "cgroup2")
                && !pure_v2() =>
        {
            cgroup_v1_tree(&t, flags).map_err(|e| {
                let at = format!("{} (the host's cgroup v1 hierarchies)", t.shown());
                e.with_path(at)
            })?;
        }
        Err(e)
            if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EBUSY))
                && matches!(typ, "sysfs" | "mqueue" | "cgroup" | "cgroup2") =>
        {
            let host = match typ {
                "sysfs" => "/sys",
                "mqueue" => "/dev/mqueue",
                _ => "/sys/fs/cgroup",
            };
            t.mount(
                Some(OsStr::new(host)),
                None,
                libc::MS_BIND | libc::MS_REC,
                None,
                &format!("bind {host} for {typ}"),
            )?;
            let held = t.open()?;
            let at = fd_path(&held);
            // The host's tree has mounts below it (the cgroup controllers,
            // tracefs): the flags go on every one of them.
            let mut attr = sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOEXEC;
            if flags & libc::MS_RDONLY != 0 {
                attr |= sys::MOUNT_ATTR_RDONLY;
            }
            match sys::mount_setattr(&at, true, attr) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => remount_bind(
                    &at,
                    flags | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    &step,
                    t.shown(),
                )?,
                Err(e) => {
                    return Err(e).ctx(
                        &format!("{step}: set the flags of {host}'s mounts"),
                        t.shown(),
                    )
                }
            }
        }
        Err(e) if typ == "devpts" && e.raw_os_error() == Some(libc::EINVAL) && in_userns => {
            // gid=5 unmapped in this user namespace: without it.
            let data: Vec<&str> = p
                .data
                .iter()
                .map(String::as_str)
                .filter(|o| !o.starts_with("gid="))
                .collect();
            t.mount(Some(src), Some(typ), flags, Some(&data.join(",")), &step)?;
        }
        Err(e) => return Err(e).ctx(&step, t.shown()),
    }
    propagate(&t)
}

fn pure_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// cgroup2 when the host's /sys/fs/cgroup is cgroup2; on a v1 or hybrid
/// host the caller builds the v1 tree instead (`cgroup_v1_tree`).
fn mount_cgroup(at: &OsStr, flags: c_ulong) -> std::io::Result<()> {
    if pure_v2() {
        mount(OsStr::new("cgroup2"), at, Some("cgroup2"), flags, "")
    } else {
        Err(std::io::Error::from_raw_os_error(libc::EPERM))
    }
}

/// A cgroup v1 (or hybrid) host: what runc gives a container there, a
/// tmpfs with a bind of each of the host's v1 hierarchies (and their
/// links, `cpu` -> `cpu,cpuacct`), read-only when the mount asks. Each
/// bind is of the container's own cgroup in that hierarchy (the process is
/// in it by now), not of the hierarchy's root, as runc binds it: the
/// container sees its limits, not the host's other cgroups. The
/// unified (cgroup2) hierarchy of a hybrid host is left out, as runc does.
/// The tmpfs is ours and starts empty: below it, plain names in a held fd
/// of it are safe.
fn cgroup_v1_tree(t: &Target, flags: c_ulong) -> Result<()> {
    let found = crate::confine::cgroup::Found::read()?;
    let own_dir = |point: &Path| -> Option<PathBuf> {
        let h = found
            .hierarchies
            .iter()
            .find(|h| !h.v2() && h.mount == point)?;
        h.dir_of(found.own(h)?).filter(|d| d.is_dir())
    };
    let safe = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    t.mount(
        Some(OsStr::new("tmpfs")),
        Some("tmpfs"),
        safe,
        Some("mode=755"),
        "mount cgroup: a tmpfs for the hierarchies",
    )?;
    let tree = t.open()?;
    let mounts = crate::procfs::own_mounts().ctx("read", crate::procfs::MOUNTINFO)?;
    for m in mounts.iter().filter(|m| m.fstype == "cgroup") {
        let point = m.mount_point.as_os_str();
        // A hierarchy mounted right under /sys/fs/cgroup.
        let (Some(parent), Some(name)) = (m.mount_point.parent(), m.mount_point.file_name()) else {
            continue;
        };
        if parent != Path::new("/sys/fs/cgroup") {
            continue;
        }
        let shown = format!("{}/{}", t.shown(), name.to_string_lossy());
        sys::mkdirat(tree.as_fd(), name, 0o755).ctx("make mount point", &shown)?;
        let sub = Target::in_dir(
            &Rc::new(tree.try_clone().ctx("dup", &shown)?),
            name,
            shown,
            None,
            libc::S_IFDIR,
        );
        let own = own_dir(&m.mount_point);
        sub.mount(
            Some(own.as_deref().map_or(point, |d| d.as_os_str())),
            None,
            libc::MS_BIND,
            None,
            "bind a cgroup hierarchy",
        )?;
        remount_bind(
            &fd_path(&sub.open()?),
            flags | safe,
            "mount cgroup",
            sub.shown(),
        )?;
    }
    for e in fs::read_dir("/sys/fs/cgroup")
        .ctx("list", "/sys/fs/cgroup")?
        .flatten()
    {
        if e.file_type().is_ok_and(|t| t.is_symlink()) {
            if let Ok(to) = fs::read_link(e.path()) {
                let shown = format!("{}/{}", t.shown(), e.file_name().to_string_lossy());
                sys::symlinkat(to.as_os_str(), tree.as_fd(), &e.file_name()).ctx("link", shown)?;
            }
        }
    }
    if flags & libc::MS_RDONLY != 0 {
        mount(
            OsStr::new(""),
            &fd_path(&t.open()?),
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY | safe,
            "",
        )
        .ctx("mount cgroup: make the tmpfs read-only", t.shown())?;
    }
    Ok(())
}

/// A bind mount takes its flags only on a remount; inside a user namespace
/// the flags the kernel locked on the source (nosuid, nodev, …) must be
/// repeated or the remount fails.
fn remount_bind(at: &OsStr, flags: c_ulong, step: &str, dest: &str) -> Result<()> {
    let wanted = flags
        & (libc::MS_RDONLY
            | libc::MS_NOSUID
            | libc::MS_NODEV
            | libc::MS_NOEXEC
            | libc::MS_NOATIME
            | libc::MS_NODIRATIME
            | libc::MS_RELATIME
            | libc::MS_STRICTATIME);
    if wanted == 0 {
        return Ok(());
    }
    let locked = sys::mount_flags(at).unwrap_or(0)
        & (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY);
    let base = libc::MS_BIND | libc::MS_REMOUNT;
    match mount(OsStr::new(""), at, None, base | wanted | locked, "") {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            let atimes = sys::mount_flags(at).unwrap_or(0)
                & (libc::MS_NOATIME | libc::MS_NODIRATIME | libc::MS_RELATIME);
            mount(
                OsStr::new(""),
                at,
                None,
                base | wanted | locked | atimes,
                "",
            )
            .ctx(&format!("{step}: remount with its options"), dest)
        }
        Err(e) => Err(e).ctx(&format!("{step}: remount with its options"), dest),
    }
}

/// One device node: mknod as real root; in a user namespace (where mknod
/// is refused) an empty file with the host's node bound onto it. Its
/// directory is found or made by the walk; the node is made in that held
/// directory, never through a joined path.
fn device(root: &OwnedFd, d: &LinuxDevice, in_userns: bool) -> Result<()> {
    let shown = d.path.display().to_string();
    let (Some(parent), Some(name)) = (d.path.parent(), d.path.file_name()) else {
        return Err(Error::msg("device", "not a path to a node").with_path(shown));
    };
    let kind = match d.typ {
        LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
        LinuxDeviceType::B => libc::S_IFBLK,
        LinuxDeviceType::P => libc::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::msg(
                "device",
                format!("{shown}: type 'a' is for cgroup rules, not a node"),
            ))
        }
    };
    let dir = target(root, parent, true, Links::ResolveInside)?.open()?;
    // What is there gives way to the node.
    let _ = sys::unlinkat(dir.as_fd(), name);
    let mode = d.file_mode.unwrap_or(0o666);
    let (major, minor) = (d.major as u32, d.minor as u32);
    if !in_userns {
        match sys::mknodat(dir.as_fd(), name, kind | (mode & 0o7777), major, minor) {
            Ok(()) => {
                let node = sys::openat(dir.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW)
                    .ctx("open device", &shown)?;
                let st = sys::fstat(node.as_fd()).ctx("stat device", &shown)?;
                let same = st.st_mode & libc::S_IFMT == kind
                    && (kind == libc::S_IFIFO || sys::major_minor(st.st_rdev) == (major, minor));
                if !same {
                    return Err(Error::msg("device", "changed after it was made").with_path(shown));
                }
                sys::fchown_fd(
                    node.as_fd(),
                    d.uid.unwrap_or(u32::MAX),
                    d.gid.unwrap_or(u32::MAX),
                )
                .ctx("chown device", &shown)?;
                fs::set_permissions(fd_path(&node), fs::Permissions::from_mode(mode & 0o7777))
                    .ctx("chmod device", &shown)?;
                return Ok(());
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => return Err(e).ctx("mknod", &shown),
        }
    }
    sys::openat(
        dir.as_fd(),
        name,
        libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_WRONLY,
    )
    .ctx("make mount point", &shown)?;
    let file = sys::openat(dir.as_fd(), name, libc::O_PATH | libc::O_NOFOLLOW)
        .ctx("open mount point", &shown)?;
    let t = Target::in_dir(&Rc::new(dir), name, shown, Some(file), libc::S_IFREG);
    // The host's node, by its path on the host (the mounts are not
    // entered yet).
    t.mount(
        Some(d.path.as_os_str()),
        None,
        libc::MS_BIND,
        None,
        "bind device",
    )
}

/// /dev's links: fd, stdin, stdout, stderr, ptmx (to the container's own
/// devpts), core when /proc/kcore exists.
fn dev_links(root: &OwnedFd) -> Result<()> {
    let dev = target(root, Path::new("/dev"), true, Links::ResolveInside)?.open()?;
    let mut links = vec![
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("core", "/proc/kcore"));
    }
    if existing(root, Path::new("/dev/pts/ptmx"), Links::ResolveInside)?.is_some() {
        // A node or file there (a bind of the host's) gives way to the link.
        let ptmx = OsStr::new("ptmx");
        if let Ok(fd) = sys::openat(dev.as_fd(), ptmx, libc::O_PATH | libc::O_NOFOLLOW) {
            if sys::fstat(fd.as_fd()).is_ok_and(|st| st.st_mode & libc::S_IFMT != libc::S_IFLNK) {
                let _ = sys::unlinkat(dev.as_fd(), ptmx);
            }
        }
        links.push(("ptmx", "pts/ptmx"));
    }
    for (name, to) in links {
        match sys::symlinkat(OsStr::new(to), dev.as_fd(), OsStr::new(name)) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e).ctx("link", format!("/dev/{name}")),
        }
    }
    Ok(())
}

/// The mount point of the mount `path` lies on (the longest mount point
/// in our table that contains it; `path` itself when it is one).
fn mount_under(path: &Path) -> Result<PathBuf> {
    let mounts = crate::procfs::own_mounts().ctx("read", crate::procfs::MOUNTINFO)?;
    mounts
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|m| path.starts_with(m))
        .max_by_key(|m| m.components().count())
        .ok_or_else(|| {
            Error::msg(
                "find the mount under the rootfs",
                format!(
                    "{} is on no mount in {}",
                    path.display(),
                    crate::procfs::MOUNTINFO
                ),
            )
        })
}

/// Make `rootfs` the root: pivot_root, or MS_MOVE and chroot with
/// `--no-pivot` (for a rootfs on a ramfs, where pivot_root cannot work).
pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<()> {
    let dir = sys::open_path(rootfs, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .ctx("open the rootfs", rootfs.display())?;
    sys::fchdir(&dir).ctx("chdir", rootfs.display())?;
    if no_pivot {
        mount(OsStr::new("."), OsStr::new("/"), None, libc::MS_MOVE, "")
            .ctx("move the rootfs onto /", rootfs.display())?;
        sys::chroot(OsStr::new(".")).ctx("chroot", rootfs.display())?;
    } else {
        // pivot_root(".", "."): the old root ends up stacked on the new
        // one, and a lazy unmount of "." then takes it away.
        let old = sys::open_path(Path::new("/"), libc::O_DIRECTORY | libc::O_CLOEXEC)
            .ctx("open the old root", "/")?;
        sys::pivot_root(OsStr::new("."), OsStr::new(".")).ctx("pivot_root", rootfs.display())?;
        // "." is the new root's mount still (mount(2) does not step onto
        // what is stacked on the cwd): go to the old root's, so that the
        // propagation change below is the old root's and not the
        // container's (its mounts keep theirs: an rshared bind stays a peer
        // of the host's). runc does the same.
        sys::fchdir(&old).ctx("chdir to the old root", "/")?;
        // Nothing of the old root may propagate back to the host's mounts.
        mount(
            OsStr::new(""),
            OsStr::new("."),
            None,
            libc::MS_SLAVE | libc::MS_REC,
            "",
        )
        .ctx("make the old root a slave", "/")?;
        sys::umount2(OsStr::new("."), libc::MNT_DETACH).ctx("detach the old root", "/")?;
    }
    std::env::set_current_dir("/").ctx("chdir", "/")
}

/// After the root is entered: masked and read-only paths, the root's own
/// propagation and a read-only root.
pub fn finish(spec: &Spec) -> Result<()> {
    let linux = spec.linux.as_ref();
    let slash = OsStr::new("/");
    let root = sys::open_path(Path::new("/"), libc::O_DIRECTORY).ctx("open", "/")?;
    let mut null: Option<OwnedFd> = None;
    for p in linux
        .and_then(|l| l.masked_paths.as_ref())
        .into_iter()
        .flatten()
    {
        // A path that does not exist needs no mask.
        let Some(t) = existing(&root, Path::new(p), Links::ResolveInside)? else {
            continue;
        };
        if t.is_dir() {
            mask_dir(&t)?;
            continue;
        }
        if null.is_none() {
            null = Some(container_null(&root)?);
        }
        mask_file(&t, null.as_ref().expect("just set"))?;
    }
    for p in linux
        .and_then(|l| l.readonly_paths.as_ref())
        .into_iter()
        .flatten()
    {
        read_only(&root, Path::new(p))?;
    }
    if let Some(p) = linux.and_then(|l| l.rootfs_propagation.as_deref()) {
        if let Opt::Propagation(f) = option(p) {
            mount(OsStr::new(""), slash, None, f, "").ctx("set the root's propagation", "/")?;
        }
    }
    if spec.root.as_ref().and_then(|r| r.readonly).unwrap_or(false) {
        let locked = sys::mount_flags(slash).unwrap_or(0);
        mount(
            OsStr::new(""),
            slash,
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked,
            "",
        )
        .ctx("make the root read-only", "/")?;
    }
    Ok(())
}

/// The container's /dev/null, what masks its files: the host's, bound
/// there by `device` (or the node mknod made), unless the config left /dev
/// to the image. Whichever it is, it masks only if it is the null device
/// (char 1:3): a file, or a link to one, in its place is refused, not
/// bound over the masked path (CVE-2025-31133).
fn container_null(root: &OwnedFd) -> Result<OwnedFd> {
    let shown = "/dev/null";
    let fd = match existing(root, Path::new(shown), Links::ResolveInside)? {
        Some(t) => t.checked()?,
        None => {
            return Err(Error::msg(
                "mask",
                "the container has no null device to mask files with",
            )
            .with_path(shown))
        }
    };
    check_null(fd, shown)
}

/// A read-only path: bound onto itself and remounted read-only, with the
/// flags its mount already has. A path that does not exist is left alone.
fn read_only(root: &OwnedFd, p: &Path) -> Result<()> {
    let Some(t) = existing(root, p, Links::ResolveInside)? else {
        return Ok(());
    };
    let here = t.open()?;
    t.mount(
        Some(&fd_path(&here)),
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
        "read-only path",
    )?;
    let held = t.open()?;
    let at = fd_path(&held);
    let locked = sys::mount_flags(&at).unwrap_or(0);
    mount(
        OsStr::new(""),
        &at,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC | locked,
        "",
    )
    .ctx("read-only path", t.shown())
}

/// /dev/console, bound to the console pty `pty`: a file made (or found)
/// by the walk, never through a symlink. A read-only /dev keeps no
/// console, as with runc.
pub fn bind_console(pty: &OwnedFd) -> Result<()> {
    let root = sys::open_path(Path::new("/"), libc::O_DIRECTORY).ctx("open", "/")?;
    let t = match target(&root, Path::new("/dev/console"), false, Links::Refuse) {
        Ok(t) => t,
        Err(e) if e.raw_errno() == Some(libc::EROFS) => return Ok(()),
        Err(e) => return Err(e),
    };
    t.mount(
        Some(&fd_path(pty)),
        None,
        libc::MS_BIND,
        None,
        "bind the console",
    )
}
