//! seccomp(2) with flags: the one way both filters are installed (the
//! default filter with none, sandbox-oci's with the profile's; src/confine/seccomp/),
//! and `--report-denials`' listener: its notifications read and answered.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libc::{c_int, c_long, c_ulong, sock_filter, sock_fprog};

use super::{cvt, cvt_r};

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, program): add a classic BPF
/// filter to this thread (every thread of the process with
/// SECCOMP_FILTER_FLAG_TSYNC). `Ok(0)` once installed; with TSYNC, a
/// positive value is the id of a thread that could not be synchronized,
/// and nothing was installed. The caller needs no_new_privs or
/// CAP_SYS_ADMIN in its user namespace (EACCES otherwise); more than
/// 65535 instructions is EINVAL, as the kernel says for more than 4096.
///
/// Async-signal-safe: one system call, with the program's header on the
/// stack; nothing allocates, also on failure.
pub fn seccomp_set_mode_filter(filter: &[sock_filter], flags: u32) -> io::Result<c_long> {
    let len =
        u16::try_from(filter.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let prog = sock_fprog {
        len,
        // The kernel only reads through this pointer.
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: the kernel reads `len` instructions from `filter`, borrowed
    // for the call, through `prog`, a local that outlives it; it copies
    // the program and keeps no pointer to either.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as c_ulong,
            flags as c_ulong,
            &prog as *const sock_fprog,
        )
    })
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags | SECCOMP_FILTER_FLAG_NEW_LISTENER,
/// program): install as `seccomp_set_mode_filter` does, and return the
/// filter's notification listener (close-on-exec, as the kernel makes
/// it). `--report-denials` (src/launch/denials.rs). EBUSY: a filter
/// installed earlier has a listener already (the kernel allows one per
/// filter tree); EINVAL: a kernel without user notification (< 5.0).
pub fn seccomp_set_mode_filter_listener(filter: &[sock_filter], flags: u32) -> io::Result<OwnedFd> {
    let fd = seccomp_set_mode_filter(
        filter,
        flags | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as u32,
    )?;
    let fd = c_int::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: with NEW_LISTENER, the kernel returns a new descriptor that
    // nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// seccomp(SECCOMP_GET_ACTION_AVAIL, 0, &action): whether this kernel
/// knows the filter return action (SECCOMP_RET_USER_NOTIF since 5.0).
/// Linux 4.14 added the operation; before it, nothing is known (false).
pub fn seccomp_action_available(action: u32) -> bool {
    // SAFETY: the kernel reads one u32 through the pointer, a local that
    // outlives the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_ACTION_AVAIL as c_ulong,
            0 as c_ulong,
            &action as *const u32,
        )
    };
    r == 0
}

/// One notification from a seccomp listener: its id, the pid of the
/// calling thread (in the reader's PID namespace), and the call's
/// seccomp_data as the filter saw it (struct seccomp_data's 64 bytes).
#[derive(Clone, Copy, Debug)]
pub struct SeccompNotif {
    pub id: u64,
    pub pid: u32,
    pub data: [u8; 64],
}

/// SECCOMP_IOCTL_NOTIF_RECV: the next notification. It blocks while none
/// is pending (the kernel ignores O_NONBLOCK here), so call it only once
/// poll said POLLIN. ENOENT: the caller went away (a signal, its death)
/// between the poll and the read.
pub fn seccomp_notif_recv(listener: BorrowedFd<'_>) -> io::Result<SeccompNotif> {
    // SAFETY: seccomp_notif is plain integers; all zeroes is a valid
    // value, and the kernel wants it zeroed.
    let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes one struct seccomp_notif (the size the
    // ioctl number encodes) into `n`, a local that outlives the call.
    cvt_r(|| unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &mut n as *mut libc::seccomp_notif,
        )
    })?;
    let d = &n.data;
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&d.nr.to_le_bytes());
    data[4..8].copy_from_slice(&d.arch.to_le_bytes());
    data[8..16].copy_from_slice(&d.instruction_pointer.to_le_bytes());
    for (i, a) in d.args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    Ok(SeccompNotif {
        id: n.id,
        pid: n.pid,
        data,
    })
}

/// SECCOMP_IOCTL_NOTIF_SEND: answer notification `id`: the call returns
/// -`errno` (with errno 0, it returns 0), without running. Never
/// SECCOMP_USER_NOTIF_FLAG_CONTINUE: a refused call must not run.
/// ENOENT: the caller is gone, or was interrupted.
pub fn seccomp_notif_send_errno(listener: BorrowedFd<'_>, id: u64, errno: i32) -> io::Result<()> {
    let resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: -errno,
        flags: 0,
    };
    // SAFETY: the kernel reads one struct seccomp_notif_resp from `resp`,
    // a local that outlives the call.
    cvt_r(|| unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &resp as *const libc::seccomp_notif_resp,
        )
    })
    .map(drop)
}

/// The system calls the seccomp tests make in a forked child, behind a
/// filter and without one. Each is one raw system call (async-signal-safe)
/// whose arguments make it touch no memory of ours: integers, or NULL
/// pointers that the kernel refuses with EFAULT.
#[cfg(test)]
pub mod seccomp_probes {
    use std::io;

    use libc::{c_int, c_long, c_ulong};

    use crate::sys::cvt;

    pub fn getpid() -> io::Result<c_long> {
        // SAFETY: no arguments.
        cvt(unsafe { libc::syscall(libc::SYS_getpid) })
    }

    pub fn getppid() -> io::Result<c_long> {
        // SAFETY: no arguments.
        cvt(unsafe { libc::syscall(libc::SYS_getppid) })
    }

    /// personality(2) with a full 64-bit argument (the kernel reads an
    /// unsigned int); 0xffffffff only asks.
    pub fn personality(persona: u64) -> io::Result<c_long> {
        // SAFETY: an integer argument; it changes only this process's
        // execution domain.
        cvt(unsafe { libc::syscall(libc::SYS_personality, persona as c_ulong) })
    }

    /// socket(2), closing the descriptor again.
    pub fn socket(domain: c_int, ty: c_int, protocol: c_int) -> io::Result<c_long> {
        // SAFETY: integers only.
        let fd = cvt(unsafe {
            libc::syscall(libc::SYS_socket, domain, ty | libc::SOCK_CLOEXEC, protocol)
        })?;
        // SAFETY: the descriptor was just created and nothing else has it.
        unsafe { libc::close(fd as c_int) };
        Ok(0)
    }

    /// unshare(2) with these flags.
    pub fn unshare(flags: c_int) -> io::Result<c_long> {
        // SAFETY: an integer argument.
        cvt(unsafe { libc::syscall(libc::SYS_unshare, flags) })
    }

    /// add_key(NULL, NULL, NULL, 0, 0): EFAULT from the kernel.
    pub fn add_key_null() -> io::Result<c_long> {
        let null = std::ptr::null::<libc::c_void>();
        // SAFETY: NULL pointers, which the kernel refuses before it
        // reads or writes anything.
        cvt(unsafe { libc::syscall(libc::SYS_add_key, null, null, null, 0usize, 0 as c_int) })
    }

    /// keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0): the
    /// session keyring's id, or ENOKEY.
    pub fn keyctl_session_id() -> io::Result<c_long> {
        // SAFETY: integers only.
        cvt(unsafe { libc::syscall(libc::SYS_keyctl, 0 as c_int, -3 as c_int, 0 as c_int) })
    }

    /// vmsplice(-1, NULL, 0, 0): EBADF from the kernel.
    pub fn vmsplice_bad_fd() -> io::Result<c_long> {
        // SAFETY: no iovec is read (zero of them, and the descriptor is
        // refused first).
        cvt(unsafe {
            libc::syscall(
                libc::SYS_vmsplice,
                -1 as c_int,
                std::ptr::null::<libc::iovec>(),
                0usize,
                0 as c_int,
            )
        })
    }

    /// getpid through the x32 ABI (its number with the x32 bit): ENOSYS
    /// from a kernel without x32, which is still filtered first.
    pub fn x32_getpid() -> io::Result<c_long> {
        // SAFETY: no arguments.
        cvt(unsafe { libc::syscall(libc::SYS_getpid | 0x4000_0000) })
    }

    /// getppid through the x32 ABI.
    pub fn x32_getppid() -> io::Result<c_long> {
        // SAFETY: no arguments.
        cvt(unsafe { libc::syscall(libc::SYS_getppid | 0x4000_0000) })
    }

    /// A system call through the i386 entry (`int 0x80`) with one integer
    /// argument; the kernel's answer, -errno on failure, as an io::Result.
    fn int80(nr: u32, arg: u32) -> io::Result<c_long> {
        let ret: u32;
        // SAFETY: `int 0x80` enters the kernel's i386 system call path with
        // the number in eax and the first argument in ebx. rbx is LLVM's,
        // so the argument goes in through another register and rbx is
        // swapped back afterwards. The kernel writes eax only, and zeroes
        // r8 to r11 on this path (declared clobbered, with r12 to r15 for
        // good measure); the calls made here touch no memory of ours.
        unsafe {
            std::arch::asm!(
                "xchg {b:r}, rbx",
                "int 0x80",
                "xchg {b:r}, rbx",
                b = inout(reg) u64::from(arg) => _,
                inlateout("eax") nr => ret,
                lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _,
                lateout("r12") _, lateout("r13") _, lateout("r14") _, lateout("r15") _,
                options(nostack),
            );
        }
        let ret = ret as i32;
        if (-4095..0).contains(&ret) {
            Err(io::Error::from_raw_os_error(-ret))
        } else {
            Ok(c_long::from(ret))
        }
    }

    /// getpid through the i386 ABI (20).
    pub fn i386_getpid() -> io::Result<c_long> {
        int80(20, 0)
    }

    /// personality through the i386 ABI (136).
    pub fn i386_personality(persona: u32) -> io::Result<c_long> {
        int80(136, persona)
    }
}
