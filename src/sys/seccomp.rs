//! seccomp(2) with flags: the one way both filters are installed (the
//! default filter with none, sandbox-oci's with the profile's; src/confine/seccomp/).

use std::io;

use libc::{c_long, c_ulong, sock_filter, sock_fprog};

use super::cvt;

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
