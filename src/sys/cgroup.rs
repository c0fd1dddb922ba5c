//! bpf(2) for cgroup device programs: load a BPF_PROG_TYPE_CGROUP_DEVICE
//! program and attach it to a cgroup v2 directory. The program itself is
//! built by the caller (confine/cgroup/devices.rs); nothing here decides policy.
//! Ref: include/uapi/linux/bpf.h (union bpf_attr), bpf(2)

use std::ffi::CStr;
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::cvt;

/// One eBPF instruction, `struct bpf_insn`: the opcode, the destination
/// and source registers (4 bits each), a signed 16-bit offset and a
/// signed 32-bit immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    /// The opcode (class | operation | source).
    pub code: u8,
    regs: u8,
    /// The jump offset, or the memory offset of a load.
    pub off: i16,
    /// The immediate operand.
    pub imm: i32,
}

impl BpfInsn {
    /// An instruction; `dst` and `src` are register numbers 0 to 10.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
        // The two 4-bit fields of the C bit-field: dst_reg is the low
        // nibble on a little-endian machine, the high one on big-endian.
        let regs = if cfg!(target_endian = "little") {
            (dst & 0xf) | (src << 4)
        } else {
            (dst << 4) | (src & 0xf)
        };
        BpfInsn {
            code,
            regs,
            off,
            imm,
        }
    }

    /// The destination register.
    #[cfg(test)]
    pub const fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }

    /// The source register.
    #[cfg(test)]
    pub const fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }
}

const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Several programs on one cgroup, and those of the ancestors run too:
/// each must allow. A program attached without it would keep the
/// container's own nested runtimes from attaching theirs.
const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

/// union bpf_attr, as BPF_PROG_LOAD reads it (the fields up to
/// expected_attach_type, Linux 4.17; older kernels accept the larger size
/// as long as the fields they do not know are zero).
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// union bpf_attr, as BPF_PROG_ATTACH reads it.
#[repr(C)]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// Load a cgroup device program. `log`, when not empty, receives the
/// verifier's log (NUL-terminated text) should the load fail.
pub fn bpf_load_device_program(
    insns: &[BpfInsn],
    license: &CStr,
    name: &str,
    log: &mut [u8],
) -> io::Result<OwnedFd> {
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len())
            .map_err(|_| io::Error::from_raw_os_error(libc::E2BIG))?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    if !log.is_empty() {
        attr.log_level = 1;
        attr.log_size = u32::try_from(log.len()).unwrap_or(u32::MAX);
        attr.log_buf = log.as_mut_ptr() as u64;
    }
    // The name is for bpftool's listing; at most 15 bytes and a NUL.
    for (d, s) in attr.prog_name.iter_mut().zip(name.bytes().take(15)) {
        *d = s;
    }
    // The verifier can be interrupted by a signal (EAGAIN, Linux 4.20).
    let mut tries = 0;
    let fd = loop {
        // SAFETY: `attr` is a plain struct of the layout the kernel
        // expects for BPF_PROG_LOAD, and the size passed is its size; the
        // pointers in it (the instructions, the license, the log buffer and
        // its length) are to memory we hold borrowed for the whole call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_PROG_LOAD,
                &mut attr as *mut ProgLoadAttr,
                mem::size_of::<ProgLoadAttr>(),
            )
        };
        match cvt(r) {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && tries < 10 => tries += 1,
            other => break other?,
        }
    };
    // SAFETY: the kernel just made this descriptor (a new program, close-
    // on-exec); nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Attach a loaded cgroup device program to the cgroup v2 directory
/// `cgroup` is open on, alongside any already there (BPF_F_ALLOW_MULTI).
/// The attachment holds the program: the descriptor may be closed after.
pub fn bpf_attach_device_program(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> io::Result<()> {
    let attr = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        replace_bpf_fd: 0,
    };
    // SAFETY: `attr` is a plain struct of the layout the kernel expects
    // for BPF_PROG_ATTACH, of the size passed; it holds only integers.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_ATTACH,
            &attr as *const ProgAttachAttr,
            mem::size_of::<ProgAttachAttr>(),
        )
    })
    .map(drop)
}
