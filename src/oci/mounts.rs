//! The container's filesystem, built by the container's process before it
//! parks: the propagation of `/`, the rootfs bound onto itself, every mount
//! of `config.json` in order, /dev's nodes and links, then pivot_root
//! (MS_MOVE and chroot with `--no-pivot`), then the masked and read-only
//! paths and a read-only root.
//!
//! Mount destinations are resolved inside the rootfs (a symlink in the
//! image cannot send a mount to the host), and each mount goes onto an
//! O_PATH descriptor of the checked target through /proc/self/fd, so what
//! was checked is what is mounted on.

use std::ffi::OsStr;
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::spec::{LinuxDevice, LinuxDeviceType, Mount, Spec};
use libc::c_ulong;

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

/// `unsafe_path` resolved inside `root` the way the container will see
/// it: `..` stops at the root and absolute symlinks restart from it. Parts
/// that do not exist yet are appended as they are.
pub fn secure_join(root: &Path, unsafe_path: &Path) -> Result<PathBuf> {
    let mut pending: Vec<std::ffi::OsString> = unsafe_path
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut done: Vec<std::ffi::OsString> = vec![];
    let mut links = 0;
    while let Some(c) = pending.pop() {
        if c == ".." {
            done.pop();
            continue;
        }
        let mut candidate = root.to_path_buf();
        candidate.extend(&done);
        candidate.push(&c);
        match fs::symlink_metadata(&candidate) {
            Ok(md) if md.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(Error::errno(
                        "resolve mount destination",
                        Some(unsafe_path.display().to_string()),
                        libc::ELOOP,
                    ));
                }
                let target = fs::read_link(&candidate).ctx("readlink", candidate.display())?;
                if target.is_absolute() {
                    done.clear();
                }
                for t in target.components().rev() {
                    match t {
                        Component::Normal(n) => pending.push(n.to_os_string()),
                        Component::ParentDir => pending.push("..".into()),
                        _ => {}
                    }
                }
            }
            _ => done.push(c),
        }
    }
    let mut out = root.to_path_buf();
    out.extend(&done);
    Ok(out)
}

/// An O_PATH descriptor of `path`, checked to be inside `root`, and the
/// /proc/self/fd path to mount on.
fn target_fd(root: &Path, path: &Path) -> Result<(OwnedFd, String)> {
    let fd = sys::open_path(path, libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .ctx("open mount target", path.display())?;
    let proc = format!("/proc/self/fd/{}", fd.as_raw_fd());
    let real = fs::read_link(&proc).ctx("readlink", &proc)?;
    if !real.starts_with(root) {
        return Err(Error::msg(
            "mount",
            format!(
                "{}: resolves to {} outside the rootfs",
                path.display(),
                real.display()
            ),
        ));
    }
    Ok((fd, proc))
}

fn mount(
    src: &OsStr,
    dst: &str,
    fstype: Option<&str>,
    flags: c_ulong,
    data: &str,
) -> std::io::Result<()> {
    sys::mount(
        (!src.is_empty()).then_some(src),
        OsStr::new(dst),
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
    // pivot_root refuses a shared root, or a new root whose parent mount
    // is shared (EINVAL): a shared rootfsPropagation is the container
    // root's once it is entered (finish), and until then nothing
    // propagates back to the host, as by default.
    let before = if prop & libc::MS_SHARED != 0 {
        libc::MS_SLAVE | libc::MS_REC
    } else {
        prop
    };
    mount(OsStr::new(""), "/", None, before, "").ctx("set the propagation of", "/")?;
    // pivot_root needs the new root to be a mount point.
    mount(
        rootfs.as_os_str(),
        &rootfs.to_string_lossy(),
        None,
        libc::MS_BIND | libc::MS_REC,
        "",
    )
    .ctx("bind the rootfs", rootfs.display())?;
    // And neither it nor its parent shared.
    mount(
        OsStr::new(""),
        &rootfs.to_string_lossy(),
        None,
        libc::MS_PRIVATE,
        "",
    )
    .ctx("make the rootfs private", rootfs.display())?;

    let mut dev_is_ours = false;
    for m in spec.mounts.iter().flatten() {
        mount_one(m, rootfs, in_userns).map_err(|e| {
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
    let dev = secure_join(rootfs, Path::new("/dev"))?;
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
            device(rootfs, d, in_userns)?;
        }
        dev_links(&dev)?;
    } else if let Some(list) = linux.and_then(|l| l.devices.as_ref()) {
        for d in list {
            device(rootfs, d, in_userns)?;
        }
    }
    Ok(())
}

fn mount_one(m: &Mount, rootfs: &Path, in_userns: bool) -> Result<()> {
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
    let dest = secure_join(rootfs, &m.destination)?;
    let typ = m.typ.as_deref().unwrap_or("");
    let source = m.source.clone().unwrap_or_default();
    let step = format!("mount {typ}");
    if let Some(recursive) = p.bind {
        // The source is a host path: make a target of the same kind.
        let md = fs::metadata(&source).ctx("bind source", source.display())?;
        make_target(&dest, md.is_dir())?;
        let (_fd, at) = target_fd(rootfs, &dest)?;
        let rec = if recursive { libc::MS_REC } else { 0 };
        mount(source.as_os_str(), &at, None, libc::MS_BIND | rec, "")
            .ctx(&step, source.display())?;
        // The descriptor still names the directory under the new mount;
        // a fresh one names the mount.
        let (_fd, at) = target_fd(rootfs, &dest)?;
        remount_bind(&at, p.flags, &step, &dest)?;
        for f in &p.propagation {
            mount(OsStr::new(""), &at, None, *f, "")
                .ctx("set mount propagation", dest.display())?;
        }
        return Ok(());
    }
    make_target(&dest, true)?;
    let (_fd, at) = target_fd(rootfs, &dest)?;
    let data = p.data.join(",");
    let src = if source.as_os_str().is_empty() {
        OsStr::new(typ)
    } else {
        source.as_os_str()
    };
    let flags = p.flags & !libc::MS_REMOUNT;
    let r = match typ {
        "cgroup" | "cgroup2" => mount_cgroup(&at, flags),
        _ => mount(src, &at, Some(typ), flags, &data),
    };
    let (_fd, at) = match r {
        Ok(()) => target_fd(rootfs, &dest)?,
        // Without the privilege over the network namespace (sysfs) or the
        // IPC one (mqueue), the kernel says no; bind the host's instead, as
        // runc does rootless.
        Err(e)
            if matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EBUSY))
                && matches!(typ, "cgroup" | "cgroup2")
                && !pure_v2() =>
        {
            cgroup_v1_tree(&at, &dest, flags).map_err(|e| {
                let at = format!("{} (the host's cgroup v1 hierarchies)", dest.display());
                e.with_path(at)
            })?;
            target_fd(rootfs, &dest)?
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
            mount(
                OsStr::new(host),
                &at,
                None,
                libc::MS_BIND | libc::MS_REC,
                "",
            )
            .ctx(&format!("bind {host} for {typ}"), dest.display())?;
            let (fd, at) = target_fd(rootfs, &dest)?;
            // The host's tree has mounts below it (the cgroup controllers,
            // tracefs): the flags go on every one of them.
            let mut attr = sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV | sys::MOUNT_ATTR_NOEXEC;
            if flags & libc::MS_RDONLY != 0 {
                attr |= sys::MOUNT_ATTR_RDONLY;
            }
            match sys::mount_setattr(OsStr::new(&at), true, attr) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => remount_bind(
                    &at,
                    flags | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    &step,
                    &dest,
                )?,
                Err(e) => {
                    return Err(e).ctx(
                        &format!("{step}: set the flags of {host}'s mounts"),
                        dest.display(),
                    )
                }
            }
            (fd, at)
        }
        Err(e) if typ == "devpts" && e.raw_os_error() == Some(libc::EINVAL) && in_userns => {
            // gid=5 unmapped in this user namespace: without it.
            let data: Vec<&str> = p
                .data
                .iter()
                .map(String::as_str)
                .filter(|o| !o.starts_with("gid="))
                .collect();
            mount(src, &at, Some(typ), flags, &data.join(",")).ctx(&step, dest.display())?;
            target_fd(rootfs, &dest)?
        }
        Err(e) => return Err(e).ctx(&step, dest.display()),
    };
    for f in &p.propagation {
        mount(OsStr::new(""), &at, None, *f, "").ctx("set mount propagation", dest.display())?;
    }
    Ok(())
}

fn pure_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// cgroup2 when the host's /sys/fs/cgroup is cgroup2; on a v1 or hybrid
/// host the caller builds the v1 tree instead (`cgroup_v1_tree`).
fn mount_cgroup(at: &str, flags: c_ulong) -> std::io::Result<()> {
    if pure_v2() {
        mount(OsStr::new("cgroup2"), at, Some("cgroup2"), flags, "")
    } else {
        Err(std::io::Error::from_raw_os_error(libc::EPERM))
    }
}

/// A cgroup v1 (or hybrid) host: what runc gives a container there, a
/// tmpfs with a bind of each of the host's v1 hierarchies (and their
/// links, `cpu` -> `cpu,cpuacct`), read-only when the mount asks. The
/// unified (cgroup2) hierarchy of a hybrid host is left out, as runc does.
fn cgroup_v1_tree(at: &str, dest: &Path, flags: c_ulong) -> Result<()> {
    let safe = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    mount(OsStr::new("tmpfs"), at, Some("tmpfs"), safe, "mode=755")
        .ctx("mount cgroup: a tmpfs for the hierarchies", dest.display())?;
    let info = fs::read_to_string("/proc/self/mountinfo").ctx("read", "/proc/self/mountinfo")?;
    for line in info.lines() {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        if right.split(' ').next() != Some("cgroup") {
            continue;
        }
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        let Some(name) = point.strip_prefix("/sys/fs/cgroup/") else {
            continue;
        };
        if name.is_empty() || name.contains('/') {
            continue;
        }
        let sub = dest.join(name);
        fs::create_dir_all(&sub).ctx("make mount point", sub.display())?;
        let sub_s = sub.to_string_lossy();
        mount(OsStr::new(point), &sub_s, None, libc::MS_BIND, "")
            .ctx("bind a cgroup hierarchy", point)?;
        remount_bind(&sub_s, flags | safe, "mount cgroup", &sub)?;
    }
    for e in fs::read_dir("/sys/fs/cgroup")
        .ctx("list", "/sys/fs/cgroup")?
        .flatten()
    {
        if e.file_type().is_ok_and(|t| t.is_symlink()) {
            if let Ok(to) = fs::read_link(e.path()) {
                let at = dest.join(e.file_name());
                symlink(&to, &at).ctx("link", at.display())?;
            }
        }
    }
    if flags & libc::MS_RDONLY != 0 {
        // Through the path: `at` names the directory under the tmpfs.
        mount(
            OsStr::new(""),
            &dest.to_string_lossy(),
            None,
            libc::MS_REMOUNT | libc::MS_RDONLY | safe,
            "",
        )
        .ctx("mount cgroup: make the tmpfs read-only", dest.display())?;
    }
    Ok(())
}

/// A bind mount takes its flags only on a remount; inside a user namespace
/// the flags the kernel locked on the source (nosuid, nodev, …) must be
/// repeated or the remount fails.
fn remount_bind(at: &str, flags: c_ulong, step: &str, dest: &Path) -> Result<()> {
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
    let locked = sys::mount_flags(OsStr::new(at)).unwrap_or(0)
        & (libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY);
    let base = libc::MS_BIND | libc::MS_REMOUNT;
    match mount(OsStr::new(""), at, None, base | wanted | locked, "") {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            let atimes = sys::mount_flags(OsStr::new(at)).unwrap_or(0)
                & (libc::MS_NOATIME | libc::MS_NODIRATIME | libc::MS_RELATIME);
            mount(
                OsStr::new(""),
                at,
                None,
                base | wanted | locked | atimes,
                "",
            )
            .ctx(&format!("{step}: remount with its options"), dest.display())
        }
        Err(e) => Err(e).ctx(&format!("{step}: remount with its options"), dest.display()),
    }
}

/// A directory, or an empty file for a file bind, with its parents.
fn make_target(dest: &Path, dir: bool) -> Result<()> {
    if dir {
        return fs::create_dir_all(dest).ctx("make mount point", dest.display());
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).ctx("make mount point", parent.display())?;
    }
    match fs::symlink_metadata(dest) {
        Ok(_) => Ok(()),
        Err(_) => fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dest)
            .map(drop)
            .ctx("make mount point", dest.display()),
    }
}

/// One device node: mknod as real root; in a user namespace (where mknod
/// is refused) an empty file with the host's node bound onto it.
fn device(rootfs: &Path, d: &LinuxDevice, in_userns: bool) -> Result<()> {
    let dest = secure_join(rootfs, &d.path)?;
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent).ctx("make device directory", parent.display())?;
    }
    let _ = fs::remove_file(&dest);
    let kind = match d.typ {
        LinuxDeviceType::C | LinuxDeviceType::U => libc::S_IFCHR,
        LinuxDeviceType::B => libc::S_IFBLK,
        LinuxDeviceType::P => libc::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::msg(
                "device",
                format!(
                    "{}: type 'a' is for cgroup rules, not a node",
                    d.path.display()
                ),
            ))
        }
    };
    let mode = d.file_mode.unwrap_or(0o666);
    if !in_userns {
        match sys::mknod(
            dest.as_os_str(),
            kind | (mode & 0o7777),
            d.major as u32,
            d.minor as u32,
        ) {
            Ok(()) => {
                std::os::unix::fs::chown(&dest, d.uid, d.gid)
                    .ctx("chown device", dest.display())?;
                fs::set_permissions(&dest, fs::Permissions::from_mode(mode & 0o7777))
                    .ctx("chmod device", dest.display())?;
                return Ok(());
            }
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => return Err(e).ctx("mknod", dest.display()),
        }
    }
    make_target(&dest, false)?;
    let (_fd, at) = target_fd(rootfs, &dest)?;
    mount(d.path.as_os_str(), &at, None, libc::MS_BIND, "").ctx("bind device", d.path.display())
}

/// /dev's links: fd, stdin, stdout, stderr, ptmx (to the container's own
/// devpts), core when /proc/kcore exists.
fn dev_links(dev: &Path) -> Result<()> {
    let mut links = vec![
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    if Path::new("/proc/kcore").exists() {
        links.push(("core", "/proc/kcore"));
    }
    if dev.join("pts/ptmx").exists() {
        let ptmx = dev.join("ptmx");
        // A node or file there (a bind of the host's) gives way to the link.
        if fs::symlink_metadata(&ptmx).is_ok_and(|m| !m.file_type().is_symlink()) {
            let _ = fs::remove_file(&ptmx);
        }
        links.push(("ptmx", "pts/ptmx"));
    }
    for (name, to) in links {
        let at = dev.join(name);
        match symlink(to, &at) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).ctx("link", at.display()),
        }
    }
    Ok(())
}

/// Make `rootfs` the root: pivot_root, or MS_MOVE and chroot with
/// `--no-pivot` (for a rootfs on a ramfs, where pivot_root cannot work).
pub fn enter(rootfs: &Path, no_pivot: bool) -> Result<()> {
    let dir = sys::open_path(rootfs, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .ctx("open the rootfs", rootfs.display())?;
    sys::fchdir(&dir).ctx("chdir", rootfs.display())?;
    if no_pivot {
        mount(OsStr::new("."), "/", None, libc::MS_MOVE, "")
            .ctx("move the rootfs onto /", rootfs.display())?;
        sys::chroot(OsStr::new(".")).ctx("chroot", rootfs.display())?;
    } else {
        // pivot_root(".", "."): the old root ends up stacked under the new
        // one, and a lazy unmount of "." then takes it away.
        sys::pivot_root(OsStr::new("."), OsStr::new(".")).ctx("pivot_root", rootfs.display())?;
        // Nothing of the old root may propagate back to the host's mounts.
        mount(OsStr::new(""), ".", None, libc::MS_SLAVE | libc::MS_REC, "")
            .ctx("make the old root a slave", "/")?;
        sys::umount2(OsStr::new("."), libc::MNT_DETACH).ctx("detach the old root", "/")?;
    }
    std::env::set_current_dir("/").ctx("chdir", "/")
}

/// After the root is entered: masked and read-only paths, the root's own
/// propagation and a read-only root.
pub fn finish(spec: &Spec) -> Result<()> {
    let linux = spec.linux.as_ref();
    for p in linux
        .and_then(|l| l.masked_paths.as_ref())
        .into_iter()
        .flatten()
    {
        mask(Path::new(p))?;
    }
    for p in linux
        .and_then(|l| l.readonly_paths.as_ref())
        .into_iter()
        .flatten()
    {
        read_only(Path::new(p))?;
    }
    if let Some(p) = linux.and_then(|l| l.rootfs_propagation.as_deref()) {
        if let Opt::Propagation(f) = option(p) {
            mount(OsStr::new(""), "/", None, f, "").ctx("set the root's propagation", "/")?;
        }
    }
    if spec.root.as_ref().and_then(|r| r.readonly).unwrap_or(false) {
        let locked = sys::mount_flags(OsStr::new("/")).unwrap_or(0);
        mount(
            OsStr::new(""),
            "/",
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | locked,
            "",
        )
        .ctx("make the root read-only", "/")?;
    }
    Ok(())
}

/// A masked path: /dev/null over a file, an empty read-only tmpfs over a
/// directory. A path that does not exist needs no mask.
fn mask(p: &Path) -> Result<()> {
    let md = match fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).ctx("mask", p.display()),
    };
    let at = p.to_string_lossy();
    if md.is_dir() {
        mount(
            OsStr::new("tmpfs"),
            &at,
            Some("tmpfs"),
            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            "size=0k",
        )
        .ctx("mask", p.display())
    } else {
        mount(OsStr::new("/dev/null"), &at, None, libc::MS_BIND, "").ctx("mask", p.display())
    }
}

/// A read-only path: bound onto itself and remounted read-only, with the
/// flags its mount already has.
fn read_only(p: &Path) -> Result<()> {
    let at = p.to_string_lossy();
    match mount(p.as_os_str(), &at, None, libc::MS_BIND | libc::MS_REC, "") {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(e).ctx("read-only path", p.display()),
    }
    let locked = sys::mount_flags(p.as_os_str()).unwrap_or(0);
    mount(
        OsStr::new(""),
        &at,
        None,
        libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_REC | locked,
        "",
    )
    .ctx("read-only path", p.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_join_stays_inside() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        fs::create_dir_all(r.join("a/b")).unwrap();
        symlink("/etc", r.join("a/abs")).unwrap();
        symlink("../../../../..", r.join("a/up")).unwrap();
        assert_eq!(
            secure_join(r, Path::new("/a/b/c")).unwrap(),
            r.join("a/b/c")
        );
        assert_eq!(
            secure_join(r, Path::new("/a/abs/x")).unwrap(),
            r.join("etc/x")
        );
        assert_eq!(
            secure_join(r, Path::new("/a/up/etc")).unwrap(),
            r.join("etc")
        );
        assert_eq!(secure_join(r, Path::new("../../x")).unwrap(), r.join("x"));
        symlink("loop", r.join("loop")).unwrap();
        assert!(secure_join(r, Path::new("/loop/x")).is_err());
    }
}
