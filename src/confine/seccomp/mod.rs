//! seccomp, in one place: the filters of both front ends are written in
//! one intermediate form and compiled by one compiler and assembler.
//!
//! - `filter.rs`: the intermediate form (per ABI, rules by syscall number
//!   over a default answer) and its compilation into one classic BPF
//!   program, a binary search per ABI;
//! - `asm.rs`: the assembler under it (labels, long jumps through BPF_JA);
//! - `default.rs`: the default filter of `sandbox run` and `sandbox exec`,
//!   a table of rows turned into that form, compiled by the tests only;
//! - `default_program.rs`, generated: that filter compiled, the constant a
//!   launch installs, so that no launch builds it. A test fails while it
//!   differs from what the table compiles to; `sh tools/gen-seccomp-default`
//!   rewrites it;
//! - `oci.rs`: sandbox-oci's `linux.seccomp` profiles turned into it, and
//!   installed with the profile's flags;
//! - `profile.rs`: `sandbox run --seccomp-profile FILE`, an OCI or Docker
//!   profile read from a file and compiled by oci.rs, in place of the
//!   default filter;
//! - `notify.rs`: `--report-denials`: the filter with its errno answers
//!   turned into user notifications, and the errno each would have been;
//! - `syscalls.rs`: the x86 ABIs' system call numbers by name.
//!
//! The system call itself is `sys::seccomp_set_mode_filter`.
//! Ref: seccomp(2); Documentation/userspace-api/seccomp_filter.rst

mod asm;
#[cfg(test)]
pub mod default;
mod default_program;
pub mod filter;
pub mod notify;
pub mod oci;
pub mod profile;
pub mod syscalls;

use crate::error::{Context, Result};
use crate::sys;

/// Install the default filter (default_program.rs, default.rs's table as
/// compiled by filter.rs) on the calling thread. Needs no_new_privs (or
/// CAP_SYS_ADMIN), set by the caller. Nothing at run time changes the
/// program (`--seccomp off` leaves it out), so it is compiled ahead: a
/// launch used to build it in the child stage, 45 µs of first-touched code
/// and allocations (docs/DECISIONS.md).
pub fn install_default() -> Result<()> {
    sys::seccomp_set_mode_filter(&default_program::DEFAULT_PROGRAM, 0)
        .map(drop)
        .ctx_step("install the seccomp filter")
}

/// Install a caller's own compiled program (bubblewrap's `--seccomp FD`,
/// `--add-seccomp-fd FD`: struct sock_filter entries, 8 bytes each, in
/// the machine's byte order) on the calling thread; the kernel checks it.
pub fn install_raw(program: &[u8]) -> Result<()> {
    if program.is_empty() || program.len() % 8 != 0 || program.len() / 8 > 4096 {
        return Err(crate::error::Error::msg(
            "install the seccomp filter",
            format!(
                "the program is {} bytes: not a whole number of 8-byte instructions, 1 to 4096 of them",
                program.len()
            ),
        ));
    }
    let prog: Vec<libc::sock_filter> = program
        .chunks_exact(8)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    sys::seccomp_set_mode_filter(&prog, 0)
        .map(drop)
        .ctx_step("install the seccomp filter")
}

/// The step named in every error.
const STEP: &str = "seccomp";

/// Syscall numbers with this bit set enter the kernel through the x32 ABI
/// on an x86_64 process and carry AUDIT_ARCH_X86_64, so a filter keyed on
/// the plain numbers would not see them. Ref: seccomp(2) "Caveats"
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub(crate) const AUDIT_ARCH_I386: u32 = 0x4000_0003;

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// BPF_MAXINSNS: the most instructions the kernel takes in one filter.
const MAX_INSNS: usize = 4096;

/// Offsets into struct seccomp_data: nr, arch, then the six arguments
/// (8 bytes each; on x86_64 the low half comes first).
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const fn data_arg_low(arg: u8) -> u32 {
    16 + 8 * arg as u32
}

/// A classic BPF interpreter for the instructions our assembler emits
/// (asm.rs, filter.rs): the tests of both front ends check programs with
/// it, and `--report-denials` (notify.rs) runs the filter the sandbox
/// would have had on a notification's seccomp_data to learn the errno it
/// would have given, exactly, argument conditions included.
pub(crate) mod interp {
    use libc::sock_filter;

    /// What the kernel reads: struct seccomp_data (the instruction
    /// pointer 0).
    #[cfg(test)]
    pub fn data(nr: u32, arch: u32, args: [u64; 6]) -> Vec<u8> {
        let mut d = Vec::with_capacity(64);
        d.extend_from_slice(&nr.to_le_bytes());
        d.extend_from_slice(&arch.to_le_bytes());
        d.extend_from_slice(&0u64.to_le_bytes());
        for a in args {
            d.extend_from_slice(&a.to_le_bytes());
        }
        d
    }

    /// The program's answer for this seccomp_data, for the tests.
    #[cfg(test)]
    pub fn run(prog: &[sock_filter], data: &[u8]) -> u32 {
        eval(prog, data).expect("a program the test interpreter can run")
    }

    /// The program's answer for `data` (struct seccomp_data), or None
    /// for what our assembler never emits: an instruction outside the
    /// set below, a load outside `data`, a jump or a fall beyond the end.
    /// Classic BPF jumps only forward, so it ends within `prog.len()`
    /// steps.
    pub fn eval(prog: &[sock_filter], data: &[u8]) -> Option<u32> {
        let (mut a, mut pc) = (0u32, 0usize);
        loop {
            let sock_filter { code, jt, jf, k } = *prog.get(pc)?;
            pc += 1;
            match code {
                0x20 => {
                    let o = k as usize;
                    a = u32::from_le_bytes(data.get(o..o.checked_add(4)?)?.try_into().ok()?);
                }
                0x54 => a &= k,
                0x05 => pc = pc.checked_add(k as usize)?,
                0x15 | 0x25 | 0x35 | 0x45 => {
                    let taken = match code {
                        0x15 => a == k,
                        0x25 => a > k,
                        0x35 => a >= k,
                        _ => a & k != 0,
                    };
                    pc += if taken { jt } else { jf } as usize;
                }
                0x06 => return Some(k),
                _ => return None,
            }
        }
    }
}
