//! Mounts and the root: mount, umount2, pivot_root, mount_setattr, the
//! flags of a mount, chroot and fchdir.

use std::ffi::{CString, OsStr};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, OwnedFd};
use std::ptr;

use libc::{c_int, c_ulong};

use super::{cstr, cvt};

pub fn mount(
    source: Option<&OsStr>,
    target: &OsStr,
    fstype: Option<&str>,
    flags: c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let source = source.map(cstr).transpose()?;
    let target = cstr(target)?;
    let fstype = fstype.map(cstr).transpose()?;
    let data = data.map(cstr).transpose()?;
    let p = |c: &Option<CString>| c.as_ref().map_or(ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is NULL or a NUL-terminated string living across
    // the call; mount(2) allows NULL for each of those three.
    cvt(unsafe {
        libc::mount(
            p(&source),
            target.as_ptr(),
            p(&fstype),
            flags,
            p(&data).cast(),
        )
    })
    .map(drop)
}

pub fn umount2(target: &OsStr, flags: c_int) -> io::Result<()> {
    let t = cstr(target)?;
    // SAFETY: `t` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::umount2(t.as_ptr(), flags) }).map(drop)
}

pub fn pivot_root(new_root: &OsStr, put_old: &OsStr) -> io::Result<()> {
    let n = cstr(new_root)?;
    let o = cstr(put_old)?;
    // SAFETY: both are NUL-terminated strings that outlive the call;
    // pivot_root has no libc wrapper and takes just these two pointers.
    cvt(unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) }).map(drop)
}

/// `struct mount_attr` (Linux 5.12). Ref: mount_setattr(2)
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;

/// Set mount attributes on the mount at `path` (and below it with
/// `recursive`). ENOSYS on kernels before 5.12.
pub fn mount_setattr(path: &OsStr, recursive: bool, attr_set: u64) -> io::Result<()> {
    let c = cstr(path)?;
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { libc::AT_RECURSIVE } else { 0 } as u32;
    // SAFETY: `c` is a NUL-terminated string and `attr` a #[repr(C)] struct
    // laid out as the kernel's, both outliving the call; the size passed
    // is attr's, so the kernel reads nothing beyond it.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c.as_ptr(),
            flags,
            &attr as *const MountAttr,
            mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// statvfs(3)'s ST_RELATIME, the kernel's value (the libc crate has none
/// for musl).
const ST_RELATIME: c_ulong = 0x1000;

/// The mount flags (MS_RDONLY, MS_NOSUID, …) of the mount holding `path`,
/// as statvfs reports them; a remount inside a user namespace must repeat
/// the ones the kernel locked. Ref: mount(2) "EPERM", statvfs(3)
pub fn mount_flags(path: &OsStr) -> io::Result<c_ulong> {
    let c = cstr(path)?;
    // SAFETY: statvfs is plain integers, so all-zero bytes are a valid
    // value; statvfs reads the NUL-terminated `c` and writes into that
    // local, both outliving the call.
    let st = unsafe {
        let mut st: libc::statvfs = mem::zeroed();
        cvt(libc::statvfs(c.as_ptr(), &mut st))?;
        st
    };
    let mut flags = 0;
    for (st_flag, ms_flag) in [
        (libc::ST_RDONLY, libc::MS_RDONLY),
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (ST_RELATIME, libc::MS_RELATIME),
    ] {
        if st.f_flag & st_flag != 0 {
            flags |= ms_flag;
        }
    }
    Ok(flags)
}

pub fn chroot(path: &OsStr) -> io::Result<()> {
    let c = cstr(path)?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    cvt(unsafe { libc::chroot(c.as_ptr()) }).map(drop)
}

pub fn fchdir(dir: &OwnedFd) -> io::Result<()> {
    // SAFETY: fchdir takes a descriptor, which `dir` holds open, and no
    // pointer.
    cvt(unsafe { libc::fchdir(dir.as_raw_fd()) }).map(drop)
}
