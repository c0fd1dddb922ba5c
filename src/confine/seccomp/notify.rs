//! `--report-denials`: the calls the filter refuses with an errno are sent
//! to the launcher instead (SECCOMP_RET_USER_NOTIF), which answers each
//! with that same errno and counts it (src/launch/denials.rs).
//!
//! The program installed is the run's own filter (the default program or
//! a `--seccomp-profile`'s) with every `ret ERRNO|e` turned into `ret
//! USER_NOTIF`: the same instructions, the same jumps, so a call is
//! refused exactly when it was before. KILL, TRAP, TRACE, LOG and ALLOW
//! answers stay as they are. The launcher learns the errno by running the
//! unchanged program on the notification's seccomp_data with the
//! interpreter (mod.rs `interp`): the filter's own decision, argument
//! conditions included, with no second table to keep in step.
//!
//! Nothing here runs without the option: the default launch installs the
//! generated constant as it is (`install_default`).

use std::os::fd::OwnedFd;

use libc::sock_filter;

use super::default_program::DEFAULT_PROGRAM;
use super::{interp, syscalls, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, RET_K, X32_SYSCALL_BIT};
use crate::error::{Context, Result};
use crate::sys;

/// The run's filter: a profile's program, else the default one.
pub fn program(profile: Option<&[sock_filter]>) -> &[sock_filter] {
    profile.unwrap_or(&DEFAULT_PROGRAM)
}

/// Whether this kernel can notify (SECCOMP_RET_USER_NOTIF, Linux 5.0).
pub fn available() -> bool {
    sys::seccomp_action_available(libc::SECCOMP_RET_USER_NOTIF)
}

/// `prog` with its errno answers turned into notifications.
pub fn notifying(prog: &[sock_filter]) -> Vec<sock_filter> {
    prog.iter()
        .map(|i| match *i {
            sock_filter { code: RET_K, k, .. }
                if k & libc::SECCOMP_RET_ACTION_FULL == libc::SECCOMP_RET_ERRNO =>
            {
                sock_filter {
                    k: libc::SECCOMP_RET_USER_NOTIF,
                    ..*i
                }
            }
            other => other,
        })
        .collect()
}

/// Install `notifying(prog)` with `flags` and return its listener, for
/// the launcher. TSYNC is dropped: the kernel refuses it with a listener,
/// and the stage is single-threaded here.
pub fn install(prog: &[sock_filter], flags: u32) -> Result<OwnedFd> {
    let flags = flags & !(libc::SECCOMP_FILTER_FLAG_TSYNC as u32);
    sys::seccomp_set_mode_filter_listener(&notifying(prog), flags)
        .ctx_step("install the seccomp filter with a listener (--report-denials)")
        .map_err(|e| match e.raw_errno() {
            // The kernel allows one listener per filter tree.
            Some(libc::EBUSY) => e.with_hint(
                "a seccomp filter with a listener is installed above sandbox already (a container runtime's); run without --report-denials",
            ),
            _ => e,
        })
}

/// The errno `prog` gives the call in `data` (struct seccomp_data), if it
/// refuses it with one.
pub fn errno_for(prog: &[sock_filter], data: &[u8]) -> Option<i32> {
    let k = interp::eval(prog, data)?;
    (k & libc::SECCOMP_RET_ACTION_FULL == libc::SECCOMP_RET_ERRNO)
        .then_some((k & libc::SECCOMP_RET_DATA) as i32)
}

/// Whether `prog` lets sendmsg(fd, …, MSG_NOSIGNAL) through (ALLOW or
/// LOG), as the child stage's hand-up of the listener needs.
pub fn allows_send(prog: &[sock_filter], fd: i32) -> bool {
    let mut d = [0u8; 64];
    d[0..4].copy_from_slice(&(libc::SYS_sendmsg as u32).to_le_bytes());
    d[4..8].copy_from_slice(&AUDIT_ARCH_X86_64.to_le_bytes());
    d[16..24].copy_from_slice(&(fd as u64).to_le_bytes());
    d[32..40].copy_from_slice(&(libc::MSG_NOSIGNAL as u64).to_le_bytes());
    matches!(
        interp::eval(prog, &d).map(|k| k & libc::SECCOMP_RET_ACTION_FULL),
        Some(libc::SECCOMP_RET_ALLOW | libc::SECCOMP_RET_LOG)
    )
}

/// The ABI of the call in `data` ("x86_64", "x32", "i386" or
/// "unknown") and its number.
pub fn abi_and_number(data: &[u8]) -> (&'static str, u32) {
    let word = |o: usize| {
        data.get(o..o + 4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes)
    };
    let (nr, arch) = (word(0), word(4));
    let abi = match arch {
        AUDIT_ARCH_X86_64 if nr & X32_SYSCALL_BIT != 0 => "x32",
        AUDIT_ARCH_X86_64 => "x86_64",
        AUDIT_ARCH_I386 => "i386",
        _ => "unknown",
    };
    (abi, nr)
}

/// The name of call `nr` of `abi` (as `abi_and_number` names it), when
/// the tables have one. A scan of one table: for the first sight of a
/// call only.
pub fn name(abi: &str, nr: u32) -> Option<&'static str> {
    let table = match abi {
        "x86_64" => syscalls::X86_64,
        "x32" => syscalls::X32,
        "i386" => syscalls::I386,
        _ => &[][..],
    };
    table
        .iter()
        .find(|(_, n)| *n == nr)
        .map(|(name, _)| syscalls::name(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confine::seccomp::filter::Abi;
    use crate::confine::seccomp::interp::data;

    fn nr(name: &str) -> u32 {
        Abi::X86_64.number(name).unwrap()
    }

    /// Every errno answer of the default program becomes a notification,
    /// and nothing else changes: the same length, the same answer for
    /// every call the filter does not refuse with an errno.
    #[test]
    fn only_errno_answers_become_notifications() {
        let n = notifying(&DEFAULT_PROGRAM);
        assert_eq!(n.len(), DEFAULT_PROGRAM.len());
        let mut refused = 0;
        for call in 0..600u32 {
            for args in [[0u64; 6], [u64::MAX; 6], [1, 0x5401, 8, 0, 0, 0]] {
                let d = data(call, AUDIT_ARCH_X86_64, args);
                let before = interp::run(&DEFAULT_PROGRAM, &d);
                let after = interp::run(&n, &d);
                if before & libc::SECCOMP_RET_ACTION_FULL == libc::SECCOMP_RET_ERRNO {
                    refused += 1;
                    assert_eq!(after, libc::SECCOMP_RET_USER_NOTIF, "call {call}");
                    assert_eq!(
                        errno_for(&DEFAULT_PROGRAM, &d),
                        Some((before & 0xffff) as i32)
                    );
                } else {
                    assert_eq!(after, before, "call {call}");
                    assert_eq!(errno_for(&DEFAULT_PROGRAM, &d), None);
                }
            }
        }
        assert!(refused > 100, "the default filter refuses calls: {refused}");
        // A bad architecture still kills.
        let d = data(0, 0x1234, [0; 6]);
        assert_eq!(interp::run(&n, &d), libc::SECCOMP_RET_KILL_PROCESS);
    }

    /// Argument conditions are the filter's own: personality with
    /// READ_IMPLIES_EXEC is refused, the query is not.
    #[test]
    fn the_errno_follows_the_arguments() {
        let p = nr("personality");
        let refused = data(p, AUDIT_ARCH_X86_64, [0x0040_0000, 0, 0, 0, 0, 0]);
        let query = data(p, AUDIT_ARCH_X86_64, [0xffff_ffff, 0, 0, 0, 0, 0]);
        assert!(errno_for(&DEFAULT_PROGRAM, &refused).is_some());
        assert_eq!(errno_for(&DEFAULT_PROGRAM, &query), None);
    }

    #[test]
    fn the_default_filter_lets_the_listener_go_up() {
        assert!(allows_send(&DEFAULT_PROGRAM, 6));
    }

    #[test]
    fn names_by_abi() {
        let describe = |d: &[u8]| {
            let (abi, nr) = abi_and_number(d);
            (abi, nr, name(abi, nr))
        };
        let d = data(nr("keyctl"), AUDIT_ARCH_X86_64, [0; 6]);
        assert_eq!(describe(&d), ("x86_64", nr("keyctl"), Some("keyctl")));
        let d = data(X32_SYSCALL_BIT | 250, AUDIT_ARCH_X86_64, [0; 6]);
        assert_eq!(describe(&d), ("x32", X32_SYSCALL_BIT | 250, Some("keyctl")));
        let d = data(20, AUDIT_ARCH_I386, [0; 6]);
        assert_eq!(describe(&d), ("i386", 20, Some("getpid")));
        let d = data(99_999, AUDIT_ARCH_X86_64, [0; 6]);
        assert_eq!(describe(&d), ("x86_64", 99_999, None));
        assert_eq!(describe(&data(1, 0x1234, [0; 6])), ("unknown", 1, None));
    }

    /// The interpreter refuses what it cannot run rather than guess.
    #[test]
    fn eval_refuses_malformed_programs() {
        let d = data(0, AUDIT_ARCH_X86_64, [0; 6]);
        let ld_far = [sock_filter {
            code: 0x20,
            jt: 0,
            jf: 0,
            k: 64,
        }];
        assert_eq!(interp::eval(&ld_far, &d), None);
        let fall = [sock_filter {
            code: 0x54,
            jt: 0,
            jf: 0,
            k: 1,
        }];
        assert_eq!(interp::eval(&fall, &d), None);
        let unknown = [sock_filter {
            code: 0x07,
            jt: 0,
            jf: 0,
            k: 0,
        }];
        assert_eq!(interp::eval(&unknown, &d), None);
        let ja = [sock_filter {
            code: 0x05,
            jt: 0,
            jf: 0,
            k: u32::MAX,
        }];
        assert_eq!(interp::eval(&ja, &d), None);
    }
}
