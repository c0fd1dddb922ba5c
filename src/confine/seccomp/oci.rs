//! `linux.seccomp` (the OCI runtime spec's JSON profile) compiled into one
//! classic BPF program, and installed with seccomp(2) and the profile's
//! flags.
//!
//! `compile` runs in the launcher, so that a profile we cannot honour
//! fails `create`; `install` runs in the container's process just before
//! execve, once no_new_privs is set (or with CAP_SYS_ADMIN).
//!
//! Semantics (config-linux.md "Seccomp", with libseccomp's meaning of the
//! actions, as runc and crun give them):
//! - every call gets `defaultAction` unless an entry of `syscalls` names
//!   it and all of the entry's `args` conditions hold (ANDed); of several
//!   such entries the first in profile order decides;
//! - SCMP_ACT_ERRNO returns `errnoRet` (EPERM when absent), SCMP_ACT_TRACE
//!   passes it to the tracer as the data (EPERM when absent); SCMP_ACT_KILL
//!   kills the thread, as SCMP_ACT_KILL_THREAD; SCMP_ACT_NOTIFY (and a
//!   `listenerPath`) is refused, there is no seccomp agent here;
//! - argument values are compared as unsigned 64-bit numbers (high word,
//!   then low word) on x86_64 and x32; on i386, whose arguments are 32
//!   bits, on their low 32 bits, as libseccomp does for 32-bit ABIs;
//! - `architectures`: x86_64 is always in (libseccomp's native
//!   architecture), SCMP_ARCH_X86 adds the i386 entry (`int 0x80`),
//!   SCMP_ARCH_X32 the x32 ABI (x86_64's arch token, numbers with bit 30);
//!   each gets the profile's rules under its own numbers, and a call from
//!   any other ABI kills the process (libseccomp's bad-architecture
//!   action); x86_64's number -1, a tracer skipping a call, gets the
//!   default, as libseccomp gives it. Other architectures in the list
//!   cannot reach an x86_64 kernel and are ignored;
//! - a name none of the filter's ABIs has (the i386-only `_llseek` in an
//!   x86_64-only filter, a call newer than syscalls.rs) is skipped, as
//!   libseccomp and runc skip them, with a note.
//!
//! The profile becomes a [`Filter`] (filter.rs), which compiles it as it
//! compiles the default filter. Podman's profile comes to a few hundred
//! instructions of the kernel's 4096.
//! Ref: seccomp(2); Documentation/userspace-api/seccomp_filter.rst;
//! libseccomp's seccomp_rule_add(3) for the comparison operators.

use std::fmt;

use libc::sock_filter;

use super::filter::{Abi, Cond, Filter, Rule, Table};
use super::STEP;
use crate::error::{Error, Result};
use crate::oci::spec::{
    Arch, LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
};
use crate::sys;

/// The kernel caps SECCOMP_RET_ERRNO's data at MAX_ERRNO.
const MAX_ERRNO: u32 = 4095;

/// A compiled profile.
pub struct Program {
    pub filter: Vec<sock_filter>,
    /// SECCOMP_FILTER_FLAG_* to install with (from the profile's `flags`).
    pub flags: u32,
    /// What was approximated or skipped, worded for a user (e.g. "unknown syscall 'foo' skipped").
    pub notes: Vec<String>,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("instructions", &self.filter.len())
            .field("flags", &self.flags)
            .field("notes", &self.notes)
            .finish()
    }
}

/// Compile `linux.seccomp` into one filter. Errors name what in the
/// profile cannot be honoured; what was skipped is in the notes.
pub fn compile(s: &LinuxSeccomp) -> Result<Program> {
    if let Some(p) = &s.listener_path {
        return Err(Error::msg(
            STEP,
            format!(
                "listenerPath {}: seccomp agents (SCMP_ACT_NOTIFY) are not supported",
                p.display()
            ),
        ));
    }
    let mut notes = Vec::new();
    let default = action(s.default_action, s.default_errno_ret, "defaultAction")?;
    let flags = flags(s.flags.as_deref().unwrap_or_default(), &mut notes);
    let abis = abis(s.architectures.as_deref().unwrap_or_default());

    let mut per_abi: Vec<(Abi, Table)> = abis.iter().map(|&a| (a, Table::new(default))).collect();
    let mut unknown: Vec<&str> = Vec::new();
    let mut truncated: Vec<&str> = Vec::new();
    for (i, entry) in s.syscalls.as_deref().unwrap_or_default().iter().enumerate() {
        let what = || format!("syscalls[{i}] ({})", entry.names.join(", "));
        let act = action(entry.action, entry.errno_ret, &what())?;
        let mut conds = Vec::new();
        for a in entry.args.as_deref().unwrap_or_default() {
            let index = u8::try_from(a.index)
                .ok()
                .filter(|&i| i < 6)
                .ok_or_else(|| {
                    Error::msg(
                        STEP,
                        format!(
                            "{}: argument index {}: system calls have arguments 0 to 5",
                            what(),
                            a.index
                        ),
                    )
                })?;
            conds.push(Cond {
                index,
                op: a.op,
                value: a.value,
                value_two: a.value_two.unwrap_or(0),
                low32: false,
            });
        }
        for name in &entry.names {
            let mut known = false;
            for (abi, table) in per_abi.iter_mut() {
                if let Some(nr) = abi.number(name) {
                    known = true;
                    let rule = Rule {
                        conds: conds.clone(),
                        action: act,
                    };
                    table.rules.push((nr, rule));
                    if *abi == Abi::I386 && conds.iter().any(Cond::wider_than_32_bits) {
                        truncated.push(name);
                    }
                }
            }
            if !known {
                unknown.push(name);
            }
        }
    }
    note_names(
        &mut notes,
        &mut unknown,
        "unknown syscall",
        "unknown syscalls",
        "skipped",
    );
    let on = "i386 arguments are 32 bits: the conditions on";
    let low = "compare the low 32 bits of their values";
    note_names(&mut notes, &mut truncated, on, on, low);

    let mut f = Filter {
        x86_64: Table::new(default),
        x32: None,
        i386: None,
    };
    for (abi, mut table) in per_abi {
        table.sort();
        match abi {
            Abi::X86_64 => f.x86_64 = table,
            Abi::X32 => f.x32 = Some(table),
            Abi::I386 => f.i386 = Some(table),
        }
    }
    let filter = f.program()?;

    Ok(Program {
        filter,
        flags,
        notes,
    })
}

/// Install the program on the calling thread (all threads with
/// SECCOMP_FILTER_FLAG_TSYNC). Needs no_new_privs or CAP_SYS_ADMIN. Only
/// a failure allocates (the error's text).
pub fn install(p: &Program) -> Result<()> {
    match sys::seccomp_set_mode_filter(&p.filter, p.flags) {
        Ok(0) => Ok(()),
        Ok(tid) => Err(Error::msg(
            STEP,
            format!(
                "thread {tid} could not be synchronized to the filter (SECCOMP_FILTER_FLAG_TSYNC)"
            ),
        )),
        Err(e) => {
            let errno = e.raw_os_error().unwrap_or(libc::EINVAL);
            let err = Error::errno(STEP, None, errno);
            Err(match errno {
                libc::EACCES => err.with_hint(
                    "installing a seccomp filter needs no_new_privs (process.noNewPrivileges) or CAP_SYS_ADMIN",
                ),
                libc::EINVAL if p.flags != 0 => err.with_hint(format!(
                    "this kernel may not know one of the profile's flags ({:#x})",
                    p.flags
                )),
                _ => err,
            })
        }
    }
}

/// The kernel's return value for an action; `what` names it in errors.
fn action(a: Action, errno_ret: Option<u32>, what: &str) -> Result<u32> {
    let data = |max: u32| {
        let v = errno_ret.unwrap_or(libc::EPERM as u32);
        if v > max {
            Err(Error::msg(
                STEP,
                format!("{what}: errnoRet {v} is more than {max}"),
            ))
        } else {
            Ok(v)
        }
    };
    Ok(match a {
        Action::ScmpActKill | Action::ScmpActKillThread => libc::SECCOMP_RET_KILL_THREAD,
        Action::ScmpActKillProcess => libc::SECCOMP_RET_KILL_PROCESS,
        Action::ScmpActTrap => libc::SECCOMP_RET_TRAP,
        Action::ScmpActErrno => libc::SECCOMP_RET_ERRNO | data(MAX_ERRNO)?,
        Action::ScmpActTrace => libc::SECCOMP_RET_TRACE | data(libc::SECCOMP_RET_DATA)?,
        Action::ScmpActAllow => libc::SECCOMP_RET_ALLOW,
        Action::ScmpActLog => libc::SECCOMP_RET_LOG,
        Action::ScmpActNotify => {
            return Err(Error::msg(
                STEP,
                format!("{what}: SCMP_ACT_NOTIFY is not supported (no seccomp agent)"),
            ))
        }
    })
}

/// SECCOMP_FILTER_FLAG_* for the profile's flags. (A name the spec does
/// not define fails earlier, when config.json is parsed.)
fn flags(list: &[Flag], notes: &mut Vec<String>) -> u32 {
    let mut out = 0;
    for f in list {
        out |= match f {
            Flag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
            Flag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
            Flag::SeccompFilterFlagSpecAllow => libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            // The kernel takes it only with a notification listener.
            Flag::SeccompFilterFlagWaitKillableRecv => {
                notes.push(
                    "flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: it applies to SCMP_ACT_NOTIFY only"
                        .to_string(),
                );
                0
            }
        } as u32;
    }
    out
}

/// One note for a list of names (sorted, each once), if any: `one` or
/// `many` before them, `done` after.
fn note_names(notes: &mut Vec<String>, names: &mut Vec<&str>, one: &str, many: &str, done: &str) {
    names.sort_unstable();
    names.dedup();
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    let what = match quoted.len() {
        0 => return,
        1 => one,
        _ => many,
    };
    notes.push(format!("{what} {} {done}", quoted.join(", ")));
}

/// The ABIs a profile's architectures select, in the order their code is
/// laid out (x86_64 always; foreign architectures ignored).
fn abis(archs: &[Arch]) -> Vec<Abi> {
    let mut out = vec![Abi::X86_64];
    for a in archs {
        match a {
            Arch::X86 => out.push(Abi::I386),
            Arch::X32 => out.push(Abi::X32),
            _ => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    //! The programs run through a small classic-BPF interpreter and are
    //! checked against `reference`, the profile's meaning evaluated
    //! directly; then on the real kernel, in forked children, each probe
    //! with its control (the same call without the filter).
    use super::*;

    use std::io;

    use libc::c_long;
    use serde_json::{json, Value};

    use crate::confine::seccomp::filter::Op;
    use crate::confine::seccomp::syscalls;
    use crate::confine::seccomp::{AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, JA, X32_SYSCALL_BIT};
    use crate::sys::seccomp_probes as probe;
    use crate::sys::{self, Exit};

    const NATIVE: u32 = AUDIT_ARCH_X86_64;
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const KILL_PROCESS: u32 = libc::SECCOMP_RET_KILL_PROCESS;
    const X32: u32 = X32_SYSCALL_BIT;

    fn errno(e: i32) -> u32 {
        libc::SECCOMP_RET_ERRNO | e as u32
    }

    fn profile(v: Value) -> LinuxSeccomp {
        serde_json::from_value(v).expect("a valid profile")
    }

    fn nr(abi: Abi, name: &str) -> u32 {
        abi.number(name)
            .unwrap_or_else(|| panic!("{name} on {abi:?}"))
    }

    // ---- The interpreter and the reference ----

    /// What the kernel reads: struct seccomp_data.
    fn data(nr: u32, arch: u32, args: [u64; 6]) -> Vec<u8> {
        let mut d = Vec::with_capacity(64);
        d.extend_from_slice(&nr.to_le_bytes());
        d.extend_from_slice(&arch.to_le_bytes());
        d.extend_from_slice(&0u64.to_le_bytes()); // instruction pointer
        for a in args {
            d.extend_from_slice(&a.to_le_bytes());
        }
        d
    }

    /// The shared test interpreter, on this profile's seccomp_data.
    fn run(prog: &[sock_filter], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        crate::confine::seccomp::interp::run(prog, &data(nr, arch, args))
    }

    /// Whether `a OP value` holds, as libseccomp defines the operators.
    fn holds(op: Op, a: u64, value: u64, value_two: u64) -> bool {
        match op {
            Op::ScmpCmpNe => a != value,
            Op::ScmpCmpLt => a < value,
            Op::ScmpCmpLe => a <= value,
            Op::ScmpCmpEq => a == value,
            Op::ScmpCmpGe => a >= value,
            Op::ScmpCmpGt => a > value,
            Op::ScmpCmpMaskedEq => a & value == value_two,
        }
    }

    /// The profile's meaning, straight from its text: the first entry
    /// that names the call (under the caller's ABI) and whose conditions
    /// all hold answers, else the default.
    struct Reference {
        default: u32,
        abis: Vec<Abi>,
        entries: Vec<RefEntry>,
    }

    /// One entry of the profile: the (ABI, number) pairs its names stand
    /// for, its conditions, its answer.
    struct RefEntry {
        numbers: Vec<(Abi, u32)>,
        conds: Vec<Cond>,
        action: u32,
    }

    impl Reference {
        fn new(s: &LinuxSeccomp) -> Reference {
            let archs = s.architectures.clone().unwrap_or_default();
            let mut abis = vec![Abi::X86_64];
            if archs.contains(&Arch::X86) {
                abis.push(Abi::I386);
            }
            if archs.contains(&Arch::X32) {
                abis.push(Abi::X32);
            }
            let entries = s
                .syscalls
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    let numbers = e
                        .names
                        .iter()
                        .flat_map(|n| {
                            [Abi::X86_64, Abi::I386, Abi::X32]
                                .into_iter()
                                .filter_map(move |a| a.number(n).map(|nr| (a, nr)))
                        })
                        .collect();
                    let conds = e
                        .args
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .map(|c| Cond {
                            index: c.index as u8,
                            op: c.op,
                            value: c.value,
                            value_two: c.value_two.unwrap_or(0),
                            low32: false,
                        })
                        .collect();
                    RefEntry {
                        numbers,
                        conds,
                        action: action(e.action, e.errno_ret, "").unwrap(),
                    }
                })
                .collect();
            Reference {
                default: action(s.default_action, s.default_errno_ret, "").unwrap(),
                abis,
                entries,
            }
        }

        /// The ABI of a call, if the filter has it.
        fn abi(&self, arch: u32, nr: u32) -> Option<Abi> {
            let abi = match arch {
                NATIVE if nr < X32 => Abi::X86_64,
                NATIVE => Abi::X32,
                AUDIT_ARCH_I386 => Abi::I386,
                _ => return None,
            };
            self.abis.contains(&abi).then_some(abi)
        }

        fn answer(&self, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
            // A tracer's -1 (no call has that number).
            if arch == NATIVE && nr == u32::MAX {
                return self.default;
            }
            let Some(abi) = self.abi(arch, nr) else {
                return KILL_PROCESS;
            };
            let narrow = |v: u64| if abi.wide() { v } else { v as u32 as u64 };
            for e in &self.entries {
                let all = || {
                    e.conds.iter().all(|c| {
                        let a = narrow(args[c.index as usize]);
                        holds(c.op, a, narrow(c.value), narrow(c.value_two))
                    })
                };
                if e.numbers.contains(&(abi, nr)) && all() {
                    return e.action;
                }
            }
            self.default
        }
    }

    fn reference(s: &LinuxSeccomp, arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        Reference::new(s).answer(arch, nr, args)
    }

    /// The program answers as the reference does: every number below 600
    /// of every ABI (and a few beyond) with plain arguments, and each
    /// syscall with conditions with its conditions' values, their
    /// neighbours and the edges of both words in each argument.
    fn agrees_with_reference(s: &LinuxSeccomp) {
        let p = compile(s).unwrap();
        let r = Reference::new(s);
        let check = |arch: u32, nr: u32, a: [u64; 6]| {
            assert_eq!(
                run(&p.filter, nr, arch, a),
                r.answer(arch, nr, a),
                "nr {nr:#x} arch {arch:#x} args {a:x?}"
            );
        };
        let numbers = (0..600).chain((0..600).map(|n| n | X32));
        for nr in numbers.chain([X32 - 1, u32::MAX]) {
            for arch in [NATIVE, AUDIT_ARCH_I386, 0xc000_00b7] {
                check(arch, nr, [0; 6]);
                check(arch, nr, [u64::MAX; 6]);
            }
        }
        let edges = [
            0,
            1,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0001,
            1 << 63,
            u64::MAX,
        ];
        let mut done = std::collections::BTreeSet::new();
        for e in r.entries.iter().filter(|e| !e.conds.is_empty()) {
            for &(abi, nr) in &e.numbers {
                if !done.insert((abi, nr)) {
                    continue;
                }
                let arch = if abi == Abi::I386 {
                    AUDIT_ARCH_I386
                } else {
                    NATIVE
                };
                // Every condition on this call, in any entry.
                let all: Vec<&Cond> = r
                    .entries
                    .iter()
                    .filter(|e| e.numbers.contains(&(abi, nr)))
                    .flat_map(|e| e.conds.iter())
                    .collect();
                let mut values: Vec<u64> = edges.to_vec();
                for c in &all {
                    for x in [c.value, c.value_two] {
                        values.extend([x, x.wrapping_add(1), x.wrapping_sub(1), x ^ 0xdead << 32]);
                    }
                }
                values.sort_unstable();
                values.dedup();
                for &v in &values {
                    check(arch, nr, [v; 6]);
                    for i in 0..6 {
                        for rest in [0, u64::MAX] {
                            let mut a = [rest; 6];
                            a[i] = v;
                            check(arch, nr, a);
                        }
                    }
                }
            }
        }
    }

    fn fixture() -> LinuxSeccomp {
        let text = include_str!("../../../tests/fixtures/oci-seccomp.json");
        serde_json::from_str(text).expect("the fixture parses")
    }

    /// Podman's profile as podman hands it to the runtime for an amd64
    /// container with its default capabilities: the entries whose
    /// `includes` and `excludes` select them, the architectures of
    /// `archMap`'s x86_64 entry. None when containers-common's file is
    /// not installed (golang-github-containers-common in Debian).
    fn podman() -> Option<LinuxSeccomp> {
        const PATH: &str = "/usr/share/containers/seccomp.json";
        const CAPS: &[&str] = &[
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_FOWNER",
            "CAP_FSETID",
            "CAP_KILL",
            "CAP_NET_BIND_SERVICE",
            "CAP_SETFCAP",
            "CAP_SETGID",
            "CAP_SETPCAP",
            "CAP_SETUID",
            "CAP_SYS_CHROOT",
        ];
        let text = match std::fs::read_to_string(PATH) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("podman's profile not tested: {PATH}: {e}");
                return None;
            }
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        let strs = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let has_cap = |c: &String| CAPS.contains(&c.as_str());
        let arch = "amd64";
        let mut syscalls = Vec::new();
        for e in v["syscalls"].as_array().unwrap() {
            let (inc, exc) = (&e["includes"], &e["excludes"]);
            let selected = strs(&inc["caps"]).iter().all(has_cap)
                && (strs(&inc["arches"]).is_empty()
                    || strs(&inc["arches"]).iter().any(|a| a == arch))
                && !strs(&exc["caps"]).iter().any(has_cap)
                && !strs(&exc["arches"]).iter().any(|a| a == arch);
            if !selected {
                continue;
            }
            let mut out = json!({ "names": e["names"], "action": e["action"] });
            if !e["errnoRet"].is_null() {
                out["errnoRet"] = e["errnoRet"].clone();
            }
            if e["args"].as_array().is_some_and(|a| !a.is_empty()) {
                out["args"] = e["args"].clone();
            }
            syscalls.push(out);
        }
        let map = v["archMap"].as_array().unwrap();
        let x86 = map
            .iter()
            .find(|m| m["architecture"] == "SCMP_ARCH_X86_64")
            .unwrap();
        let mut archs = vec![x86["architecture"].clone()];
        archs.extend(x86["subArchitectures"].as_array().unwrap().iter().cloned());
        Some(profile(json!({
            "defaultAction": v["defaultAction"],
            "defaultErrnoRet": v["defaultErrnoRet"],
            "architectures": archs,
            "syscalls": syscalls,
        })))
    }

    /// A profile with one entry, `entry`, on top of `default`.
    fn one_entry(default: Value, entry: Value) -> LinuxSeccomp {
        let mut p = json!({ "defaultAction": default, "syscalls": [entry] });
        p["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
        profile(p)
    }

    fn answer(s: &LinuxSeccomp, name: &str, args: [u64; 6]) -> u32 {
        run(
            &compile(s).unwrap().filter,
            nr(Abi::X86_64, name),
            NATIVE,
            args,
        )
    }

    // ---- Compilation ----

    #[test]
    fn errno_defaults_to_eperm() {
        let s = profile(json!({ "defaultAction": "SCMP_ACT_ERRNO" }));
        assert_eq!(answer(&s, "getpid", [0; 6]), errno(libc::EPERM));
        let s = profile(json!({ "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38 }));
        assert_eq!(answer(&s, "getpid", [0; 6]), errno(libc::ENOSYS));

        let entry = |e: Value| one_entry(json!("SCMP_ACT_ALLOW"), e);
        let s = entry(json!({ "names": ["getpid"], "action": "SCMP_ACT_ERRNO" }));
        assert_eq!(answer(&s, "getpid", [0; 6]), errno(libc::EPERM));
        let s = entry(json!({ "names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0 }));
        assert_eq!(answer(&s, "getpid", [0; 6]), errno(0));
        let s = entry(json!({ "names": ["getpid"], "action": "SCMP_ACT_TRACE" }));
        assert_eq!(answer(&s, "getpid", [0; 6]), libc::SECCOMP_RET_TRACE | 1);
        let s = entry(json!({ "names": ["getpid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7 }));
        assert_eq!(answer(&s, "getpid", [0; 6]), libc::SECCOMP_RET_TRACE | 7);
        assert_eq!(answer(&s, "getppid", [0; 6]), ALLOW);
    }

    #[test]
    fn each_action() {
        for (name, want) in [
            ("SCMP_ACT_KILL", libc::SECCOMP_RET_KILL_THREAD),
            ("SCMP_ACT_KILL_THREAD", libc::SECCOMP_RET_KILL_THREAD),
            ("SCMP_ACT_KILL_PROCESS", libc::SECCOMP_RET_KILL_PROCESS),
            ("SCMP_ACT_TRAP", libc::SECCOMP_RET_TRAP),
            ("SCMP_ACT_LOG", libc::SECCOMP_RET_LOG),
            ("SCMP_ACT_ALLOW", ALLOW),
        ] {
            let s = one_entry(
                json!("SCMP_ACT_ERRNO"),
                json!({ "names": ["getpid"], "action": name }),
            );
            assert_eq!(answer(&s, "getpid", [0; 6]), want, "{name}");
            assert_eq!(answer(&s, "getppid", [0; 6]), errno(libc::EPERM), "{name}");
            let s = profile(json!({ "defaultAction": name }));
            assert_eq!(answer(&s, "getpid", [0; 6]), want, "default {name}");
        }
    }

    #[test]
    fn each_operator_on_64_bit_values() {
        let ops = [
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_EQ",
            "SCMP_CMP_GE",
            "SCMP_CMP_GT",
            "SCMP_CMP_MASKED_EQ",
        ];
        let values = [
            0u64,
            1,
            5,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0005,
            0x8000_0000_0000_0000,
            u64::MAX,
        ];
        for name in ops {
            let op: Op = serde_json::from_value(json!(name)).unwrap();
            for &value in &values {
                for &value_two in &[0u64, 5, 0x1_0000_0000] {
                    let entry = json!({
                        "names": ["getpid"],
                        "action": "SCMP_ACT_ERRNO",
                        "errnoRet": 99,
                        "args": [{ "index": 1, "value": value, "valueTwo": value_two, "op": name }],
                    });
                    let s = one_entry(json!("SCMP_ACT_ALLOW"), entry);
                    let p = compile(&s).unwrap();
                    let mut args: Vec<u64> = values.to_vec();
                    args.extend(values.iter().map(|v| v.wrapping_add(1)));
                    args.extend(values.iter().map(|v| v.wrapping_sub(1)));
                    for &a in &args {
                        let want = if holds(op, a, value, value_two) {
                            errno(99)
                        } else {
                            ALLOW
                        };
                        let got = run(&p.filter, 39, NATIVE, [0, a, 0, 0, 0, 0]);
                        assert_eq!(got, want, "{a:#x} {op:?} {value:#x} ({value_two:#x})");
                        // i386: the low words.
                        let (a32, v32, w32) = (
                            a as u32 as u64,
                            value as u32 as u64,
                            value_two as u32 as u64,
                        );
                        let want = if holds(op, a32, v32, w32) {
                            errno(99)
                        } else {
                            ALLOW
                        };
                        let got = run(&p.filter, 20, AUDIT_ARCH_I386, [0, a32, 0, 0, 0, 0]);
                        assert_eq!(got, want, "i386 {a32:#x} {op:?} {v32:#x} ({w32:#x})");
                    }
                }
            }
        }
    }

    #[test]
    fn first_matching_entry_decides() {
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 95,
            "syscalls": [
                { "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95,
                  "args": [{ "index": 0, "value": 0, "op": "SCMP_CMP_EQ" }] },
                { "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 10,
                  "args": [{ "index": 0, "value": 8, "op": "SCMP_CMP_LE" }] },
                { "names": ["personality", "getpid"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 11 },
            ],
        }));
        let at = |p: u64| answer(&s, "personality", [p, 0, 0, 0, 0, 0]);
        // An entry answering the default is kept when a later one would
        // answer otherwise.
        assert_eq!(at(0), errno(95));
        assert_eq!(at(1), errno(10));
        assert_eq!(at(8), errno(10));
        assert_eq!(at(9), ALLOW);
        assert_eq!(answer(&s, "getpid", [0; 6]), ALLOW);
        assert_eq!(answer(&s, "getppid", [0; 6]), errno(95));
        agrees_with_reference(&s);
    }

    #[test]
    fn unknown_names_are_skipped_with_a_note() {
        let s = one_entry(
            json!("SCMP_ACT_ALLOW"),
            json!({ "names": ["getpid", "frobnicate"], "action": "SCMP_ACT_ERRNO" }),
        );
        let p = compile(&s).unwrap();
        assert_eq!(p.notes, ["unknown syscall 'frobnicate' skipped"]);
        assert_eq!(run(&p.filter, 39, NATIVE, [0; 6]), errno(libc::EPERM));

        // i386-only names count as known when i386 is in the filter, and
        // as unknown when it is not.
        let entry =
            json!({ "names": ["_llseek", "zzz", "aaa", "zzz"], "action": "SCMP_ACT_ERRNO" });
        let p = compile(&one_entry(json!("SCMP_ACT_ALLOW"), entry.clone())).unwrap();
        assert_eq!(p.notes, ["unknown syscalls 'aaa', 'zzz' skipped"]);
        assert_eq!(
            run(&p.filter, 140, AUDIT_ARCH_I386, [0; 6]),
            errno(libc::EPERM)
        );
        let p = compile(&profile(
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [entry] }),
        ))
        .unwrap();
        assert_eq!(
            p.notes,
            ["unknown syscalls '_llseek', 'aaa', 'zzz' skipped"]
        );
    }

    #[test]
    fn new_syscalls_are_known() {
        for (name, n) in [
            ("uretprobe", 335),
            ("uprobe", 336),
            ("cachestat", 451),
            ("fchmodat2", 452),
            ("map_shadow_stack", 453),
            ("futex_wake", 454),
            ("futex_wait", 455),
            ("futex_requeue", 456),
            ("statmount", 457),
            ("listmount", 458),
            ("lsm_get_self_attr", 459),
            ("lsm_set_self_attr", 460),
            ("lsm_list_modules", 461),
            ("mseal", 462),
            ("setxattrat", 463),
            ("getxattrat", 464),
            ("listxattrat", 465),
            ("removexattrat", 466),
            ("open_tree_attr", 467),
            ("file_getattr", 468),
            ("file_setattr", 469),
            ("listns", 470),
        ] {
            assert_eq!(Abi::X86_64.number(name), Some(n), "{name}");
            assert_eq!(Abi::X32.number(name), Some(n | X32), "{name}");
            let i386 = if n < 400 { None } else { Some(n) };
            assert_eq!(Abi::I386.number(name), i386, "{name}");
        }
    }

    #[test]
    fn tables_are_sorted_and_agree_with_libc() {
        for t in [syscalls::X86_64, syscalls::I386, syscalls::X32] {
            assert!(
                t.windows(2).all(|w| w[0].0 < w[1].0),
                "sorted, no duplicates"
            );
        }
        for (name, n) in [
            ("read", libc::SYS_read),
            ("getpid", libc::SYS_getpid),
            ("personality", libc::SYS_personality),
            ("socket", libc::SYS_socket),
            ("clone3", libc::SYS_clone3),
            ("set_mempolicy_home_node", libc::SYS_set_mempolicy_home_node),
        ] {
            assert_eq!(Abi::X86_64.number(name), Some(n as u32), "{name}");
        }
        assert_eq!(Abi::I386.number("getpid"), Some(20));
        assert_eq!(Abi::I386.number("socketcall"), Some(102));
        assert_eq!(Abi::X32.number("rt_sigaction"), Some(512 | X32));
        assert_eq!(Abi::X32.number("getpid"), Some(39 | X32));
    }

    #[test]
    fn notify_is_refused() {
        let e = compile(&profile(json!({ "defaultAction": "SCMP_ACT_NOTIFY" }))).unwrap_err();
        assert_eq!(e.step, "seccomp");
        assert!(
            e.to_string()
                .contains("defaultAction: SCMP_ACT_NOTIFY is not supported"),
            "{e}"
        );
        let s = one_entry(
            json!("SCMP_ACT_ALLOW"),
            json!({ "names": ["getpid", "ioctl"], "action": "SCMP_ACT_NOTIFY" }),
        );
        let e = compile(&s).unwrap_err().to_string();
        assert_eq!(
            e,
            "sandbox: seccomp: syscalls[0] (getpid, ioctl): SCMP_ACT_NOTIFY is not supported (no seccomp agent)"
        );
        let s = profile(
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock" }),
        );
        let e = compile(&s).unwrap_err().to_string();
        assert!(e.contains("listenerPath /run/agent.sock"), "{e}");
    }

    #[test]
    fn impossible_values_are_refused() {
        let s = profile(json!({ "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 4096 }));
        let e = compile(&s).unwrap_err().to_string();
        assert_eq!(
            e,
            "sandbox: seccomp: defaultAction: errnoRet 4096 is more than 4095"
        );
        let s = one_entry(
            json!("SCMP_ACT_ALLOW"),
            json!({ "names": ["getpid"], "action": "SCMP_ACT_TRACE", "errnoRet": 65536 }),
        );
        assert!(compile(&s).is_err());
        let s = one_entry(
            json!("SCMP_ACT_ALLOW"),
            json!({ "names": ["getpid"], "action": "SCMP_ACT_ERRNO",
                    "args": [{ "index": 6, "value": 1, "op": "SCMP_CMP_EQ" }] }),
        );
        let e = compile(&s).unwrap_err().to_string();
        assert_eq!(
            e,
            "sandbox: seccomp: syscalls[0] (getpid): argument index 6: system calls have arguments 0 to 5"
        );
    }

    #[test]
    fn flags() {
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        }));
        let p = compile(&s).unwrap();
        assert_eq!(p.flags, 1 | 2 | 4);
        assert!(p.notes.is_empty());
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        }));
        let p = compile(&s).unwrap();
        assert_eq!(p.flags, 0);
        assert_eq!(
            p.notes,
            ["flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: it applies to SCMP_ACT_NOTIFY only"]
        );
        // A flag the spec does not name fails when config.json is read.
        let bad =
            json!({ "defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FROB"] });
        assert!(serde_json::from_value::<LinuxSeccomp>(bad).is_err());
    }

    #[test]
    fn architectures() {
        let entry = json!({ "names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9 });
        // No list: x86_64 only; i386, x32 and anything else are killed.
        let only = profile(json!({ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [entry] }));
        let p = compile(&only).unwrap();
        assert_eq!(run(&p.filter, 39, NATIVE, [0; 6]), errno(9));
        assert_eq!(run(&p.filter, 110, NATIVE, [0; 6]), ALLOW);
        assert_eq!(run(&p.filter, 20, AUDIT_ARCH_I386, [0; 6]), KILL_PROCESS);
        assert_eq!(run(&p.filter, 39 | X32, NATIVE, [0; 6]), KILL_PROCESS);
        assert_eq!(run(&p.filter, 0x7fff_ffff, NATIVE, [0; 6]), KILL_PROCESS);
        // -1: a tracer skipping the call.
        assert_eq!(run(&p.filter, u32::MAX, NATIVE, [0; 6]), ALLOW);
        assert_eq!(run(&p.filter, 39, 0xc000_00b7, [0; 6]), KILL_PROCESS);

        // All three: each ABI's rules under its own numbers.
        let all = one_entry(json!("SCMP_ACT_ALLOW"), entry.clone());
        let p = compile(&all).unwrap();
        assert!(p.notes.is_empty(), "{:?}", p.notes);
        assert_eq!(run(&p.filter, 39, NATIVE, [0; 6]), errno(9));
        assert_eq!(run(&p.filter, 20, AUDIT_ARCH_I386, [0; 6]), errno(9));
        assert_eq!(run(&p.filter, 39, AUDIT_ARCH_I386, [0; 6]), ALLOW);
        assert_eq!(run(&p.filter, 39 | X32, NATIVE, [0; 6]), errno(9));
        assert_eq!(run(&p.filter, 20 | X32, NATIVE, [0; 6]), ALLOW);
        assert_eq!(run(&p.filter, 39, 0xc000_00b7, [0; 6]), KILL_PROCESS);

        // x32 numbers never reach the native rules: rt_sigaction is 13 on
        // x86_64 and 512 on x32, and 13 | X32 is no x32 call.
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"],
            "syscalls": [{ "names": ["rt_sigaction"], "action": "SCMP_ACT_ALLOW" }],
        }));
        let p = compile(&s).unwrap();
        assert_eq!(run(&p.filter, 13, NATIVE, [0; 6]), ALLOW);
        assert_eq!(run(&p.filter, 512 | X32, NATIVE, [0; 6]), ALLOW);
        assert_eq!(run(&p.filter, 13 | X32, NATIVE, [0; 6]), errno(libc::EPERM));
        assert_eq!(run(&p.filter, 512, NATIVE, [0; 6]), errno(libc::EPERM));
        assert_eq!(run(&p.filter, 174, AUDIT_ARCH_I386, [0; 6]), KILL_PROCESS);
        // Foreign architectures in the list are ignored.
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        }));
        let p = compile(&s).unwrap();
        assert_eq!(run(&p.filter, 39, NATIVE, [0; 6]), ALLOW);
        assert_eq!(run(&p.filter, 39, 0xc000_00b7, [0; 6]), KILL_PROCESS);
    }

    #[test]
    fn i386_conditions_on_wide_values_are_noted() {
        let s = one_entry(
            json!("SCMP_ACT_ALLOW"),
            json!({ "names": ["personality"], "action": "SCMP_ACT_ERRNO",
                    "args": [{ "index": 0, "value": u64::MAX, "op": "SCMP_CMP_EQ" }] }),
        );
        let p = compile(&s).unwrap();
        assert_eq!(
            p.notes,
            ["i386 arguments are 32 bits: the conditions on 'personality' compare the low 32 bits of their values"]
        );
        let two = one_entry(
            json!("SCMP_ACT_ALLOW"),
            json!({ "names": ["personality", "socket"], "action": "SCMP_ACT_ERRNO",
                    "args": [{ "index": 0, "value": 1, "valueTwo": 1u64 << 32, "op": "SCMP_CMP_MASKED_EQ" }] }),
        );
        assert_eq!(
            compile(&two).unwrap().notes,
            ["i386 arguments are 32 bits: the conditions on 'personality', 'socket' compare the low 32 bits of their values"]
        );
        assert_eq!(
            run(
                &p.filter,
                136,
                AUDIT_ARCH_I386,
                [0xffff_ffff, 0, 0, 0, 0, 0]
            ),
            errno(1)
        );
        assert_eq!(
            run(&p.filter, 135, NATIVE, [0xffff_ffff, 0, 0, 0, 0, 0]),
            ALLOW
        );
        assert_eq!(
            run(&p.filter, 135, NATIVE, [u64::MAX, 0, 0, 0, 0, 0]),
            errno(1)
        );
    }

    #[test]
    fn the_fixture_compiles_as_it_says() {
        let s = fixture();
        let p = compile(&s).unwrap();
        assert_eq!(p.flags, libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as u32);
        assert_eq!(p.notes, ["unknown syscall 'sys_frobnicate' skipped"]);
        assert!(p.filter.len() < 600, "{} instructions", p.filter.len());
        agrees_with_reference(&s);
    }

    #[test]
    fn podmans_profile_compiles_small_and_as_it_says() {
        let Some(s) = podman() else { return };
        let p = compile(&s).unwrap();
        eprintln!(
            "podman's profile: {} instructions; notes: {:?}",
            p.filter.len(),
            p.notes
        );
        assert!(p.filter.len() < 1000, "{} instructions", p.filter.len());
        // Names for other architectures are skipped (podman's list is
        // shared by all), nothing else is.
        assert!(p.notes.len() <= 1, "{:?}", p.notes);
        agrees_with_reference(&s);
        let native =
            |name: &str, args: [u64; 6]| run(&p.filter, nr(Abi::X86_64, name), NATIVE, args);
        assert_eq!(native("getpid", [0; 6]), ALLOW);
        assert_eq!(native("personality", [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(
            native("personality", [0x0040_0000, 0, 0, 0, 0, 0]),
            errno(libc::ENOSYS)
        );
        assert_eq!(native("socket", [16, 3, 9, 0, 0, 0]), errno(libc::EINVAL));
        assert_eq!(native("socket", [16, 3, 0, 0, 0, 0]), ALLOW);
    }

    /// Long jumps: a syscall with more conditions than a one-byte offset
    /// can skip, and a tree of many leaves.
    #[test]
    fn long_programs_jump_through_ja() {
        let many: Vec<Value> = (0..100u64)
            .map(|v| json!({ "index": v % 6, "value": v * 3, "op": "SCMP_CMP_NE" }))
            .collect();
        let mut syscalls = vec![
            json!({ "names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3, "args": many }),
            json!({ "names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4,
                    "args": [{ "index": 0, "value": 6, "op": "SCMP_CMP_GT" }] }),
        ];
        for (i, (name, _)) in syscalls::X86_64.iter().enumerate().step_by(2) {
            syscalls.push(
                json!({ "names": [syscalls::name(name)], "action": "SCMP_ACT_ERRNO", "errnoRet": i % 200 + 5,
                    "args": [{ "index": 1, "value": i, "op": "SCMP_CMP_LE" }] }),
            );
        }
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "syscalls": syscalls,
        }));
        let p = compile(&s).unwrap();
        assert!(p.filter.iter().any(|i| i.code == JA), "no BPF_JA");
        assert_eq!(run(&p.filter, 39, NATIVE, [1; 6]), errno(3));
        // 18 is the first condition's value for argument 0 (6 * 3).
        assert_eq!(run(&p.filter, 39, NATIVE, [18, 0, 0, 0, 0, 0]), errno(4));
        agrees_with_reference(&s);
    }

    #[test]
    fn too_long_a_filter_is_refused() {
        let many: Vec<Value> = (0..700u64)
            .map(|v| json!({ "index": 0, "value": v, "op": "SCMP_CMP_NE" }))
            .collect();
        let s = one_entry(
            json!("SCMP_ACT_ALLOW"),
            json!({ "names": ["getpid"], "action": "SCMP_ACT_ERRNO", "args": many }),
        );
        let e = compile(&s).unwrap_err().to_string();
        assert!(e.contains("more than the kernel's 4096"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Random small profiles over a few syscalls agree with the
        /// reference for random calls.
        #[test]
        fn random_profiles_agree_with_the_reference(
            entries in proptest::collection::vec(
                (
                    proptest::sample::subsequence(vec!["getpid", "personality", "socket", "_llseek", "read"], 1..3),
                    0usize..4,
                    proptest::collection::vec((0usize..6, 0usize..7, 0usize..6, 0usize..6), 0..3),
                ),
                0..6,
            ),
            default in 0usize..4,
            calls in proptest::collection::vec(
                (0usize..3, 0u32..4, proptest::array::uniform6(0usize..6)),
                32,
            ),
        ) {
            const VALUES: [u64; 6] = [0, 1, 0xffff_ffff, 0x1_0000_0000, u64::MAX, 0x8000_0000_0000_0001];
            const OPS: [&str; 7] = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];
            let actions = |i: usize| [
                json!({ "action": "SCMP_ACT_ALLOW" }),
                json!({ "action": "SCMP_ACT_ERRNO", "errnoRet": 5 }),
                json!({ "action": "SCMP_ACT_ERRNO", "errnoRet": 6 }),
                json!({ "action": "SCMP_ACT_KILL_PROCESS" }),
            ][i].clone();
            let syscalls: Vec<Value> = entries.iter().map(|(names, act, args)| {
                let mut e = actions(*act);
                e["names"] = json!(names);
                e["args"] = args.iter().map(|&(index, op, v, v2)| json!({
                    "index": index, "op": OPS[op], "value": VALUES[v], "valueTwo": VALUES[v2],
                })).collect();
                e
            }).collect();
            let mut p = actions(default);
            p["defaultAction"] = p["action"].take();
            p["defaultErrnoRet"] = p["errnoRet"].take();
            p["architectures"] = json!(["SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
            p["syscalls"] = json!(syscalls);
            let s = profile(p);
            let prog = compile(&s).unwrap();
            for (abi, name, args) in calls {
                let names = ["getpid", "personality", "socket", "_llseek", "read"];
                let (abi, arch) = [(Abi::X86_64, NATIVE), (Abi::I386, AUDIT_ARCH_I386), (Abi::X32, NATIVE)][abi];
                let Some(n) = abi.number(names[name as usize]) else { continue };
                let mut a = args.map(|i| VALUES[i]);
                if abi == Abi::I386 {
                    a = a.map(|v| v as u32 as u64);
                }
                proptest::prop_assert_eq!(run(&prog.filter, n, arch, a), reference(&s, arch, n, a));
            }
        }
    }

    // ---- The real kernel ----

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Outcome {
        Ok,
        Errno(i32),
        Signal(i32),
    }

    /// Exit codes of the child's own set-up failures (errno values stay
    /// below 134).
    const NO_DUMPABLE: i32 = 250;
    const NO_NNP: i32 = 251;
    const NO_FILTER: i32 = 252;

    /// `probe` in a forked child, behind `p` when given. The child makes
    /// raw system calls only until _exit: it is a copy of a multi-threaded
    /// process, where another thread may have held a lock at the fork.
    fn outcome(p: Option<&Program>, probe: impl Fn() -> io::Result<c_long>) -> Outcome {
        let pid = sys::fork().expect("fork");
        if pid == 0 {
            // No core file when a filter kills it with SIGSYS.
            if sys::set_dumpable(false).is_err() {
                sys::sigsafe::exit_now(NO_DUMPABLE);
            }
            if sys::set_no_new_privs().is_err() {
                sys::sigsafe::exit_now(NO_NNP);
            }
            if let Some(p) = p {
                if !matches!(sys::seccomp_set_mode_filter(&p.filter, p.flags), Ok(0)) {
                    sys::sigsafe::exit_now(NO_FILTER);
                }
            }
            let code = match probe() {
                Ok(_) => 0,
                Err(e) => e.raw_os_error().unwrap_or(253),
            };
            sys::sigsafe::exit_now(code);
        }
        match sys::waitpid(pid, false).expect("waitpid") {
            Some(Exit::Code(0)) => Outcome::Ok,
            Some(Exit::Code(c)) if c >= NO_DUMPABLE => panic!("the child's set-up failed: {c}"),
            Some(Exit::Code(c)) => Outcome::Errno(c),
            Some(Exit::Signal(s)) => Outcome::Signal(s),
            None => unreachable!("waited without WNOHANG"),
        }
    }

    /// The probe behind the filter gives `want`, and without it something
    /// else: the filter made the difference.
    fn denied(p: &Program, what: &str, want: Outcome, probe: impl Fn() -> io::Result<c_long>) {
        let control = outcome(None, &probe);
        assert_ne!(control, want, "{what}: the control already gives {want:?}");
        assert_eq!(outcome(Some(p), &probe), want, "{what}");
    }

    /// The probe behind the filter gives what it gives without it.
    fn unchanged(p: &Program, what: &str, probe: impl Fn() -> io::Result<c_long>) {
        let control = outcome(None, &probe);
        assert_eq!(outcome(Some(p), &probe), control, "{what}");
    }

    #[test]
    fn kernel_deny_list() {
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                { "names": ["vmsplice"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV },
                { "names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV,
                  "args": [{ "index": 0, "value": 0, "op": "SCMP_CMP_EQ" }] },
                { "names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EAFNOSUPPORT,
                  "args": [{ "index": 0, "value": libc::AF_INET, "op": "SCMP_CMP_EQ" }] },
            ],
        }));
        let p = compile(&s).unwrap();
        assert_eq!(outcome(None, probe::getpid), Outcome::Ok);
        unchanged(&p, "getpid", probe::getpid);
        assert_eq!(
            outcome(None, probe::vmsplice_bad_fd),
            Outcome::Errno(libc::EBADF)
        );
        denied(
            &p,
            "vmsplice",
            Outcome::Errno(libc::EXDEV),
            probe::vmsplice_bad_fd,
        );
        denied(&p, "personality(0)", Outcome::Errno(libc::EXDEV), || {
            probe::personality(0)
        });
        assert_eq!(
            outcome(Some(&p), || probe::personality(0xffff_ffff)),
            Outcome::Ok
        );
        // The kernel reads an unsigned int: the high word makes no
        // difference to it, but the profile compares 64 bits.
        assert_eq!(
            outcome(Some(&p), || probe::personality(1 << 32)),
            Outcome::Ok
        );
        let unix = || probe::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0);
        let inet = || probe::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        assert_eq!(outcome(Some(&p), unix), Outcome::Ok);
        denied(
            &p,
            "socket(AF_INET)",
            Outcome::Errno(libc::EAFNOSUPPORT),
            inet,
        );
    }

    #[test]
    fn kernel_allow_list() {
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": libc::EOPNOTSUPP,
            "syscalls": [
                { "names": ["exit_group", "getpid"], "action": "SCMP_ACT_ALLOW" },
                { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
                  "args": [{ "index": 0, "value": 0xffff_ffffu32, "op": "SCMP_CMP_EQ" }] },
            ],
        }));
        let p = compile(&s).unwrap();
        unchanged(&p, "getpid", probe::getpid);
        assert_eq!(outcome(Some(&p), probe::getpid), Outcome::Ok);
        denied(
            &p,
            "getppid (not listed)",
            Outcome::Errno(libc::EOPNOTSUPP),
            probe::getppid,
        );
        assert_eq!(
            outcome(Some(&p), || probe::personality(0xffff_ffff)),
            Outcome::Ok
        );
        denied(
            &p,
            "personality(0)",
            Outcome::Errno(libc::EOPNOTSUPP),
            || probe::personality(0),
        );
    }

    #[test]
    fn kernel_default_kills() {
        let s = profile(json!({
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
            "syscalls": [{ "names": ["exit_group", "getpid"], "action": "SCMP_ACT_ALLOW" }],
        }));
        let p = compile(&s).unwrap();
        assert_eq!(p.flags, 7);
        assert_eq!(outcome(Some(&p), probe::getpid), Outcome::Ok);
        denied(
            &p,
            "getppid (not listed)",
            Outcome::Signal(libc::SIGSYS),
            probe::getppid,
        );
    }

    #[test]
    fn kernel_architectures() {
        let entries = json!([
            { "names": ["exit_group", "getpid"], "action": "SCMP_ACT_ALLOW" },
            { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
              "args": [{ "index": 0, "value": 0xffff_ffffu32, "op": "SCMP_CMP_EQ" }] },
        ]);
        let all = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": libc::EOPNOTSUPP,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": entries,
        })))
        .unwrap();
        let native = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": libc::EOPNOTSUPP,
            "syscalls": entries,
        })))
        .unwrap();
        let sigsys = Outcome::Signal(libc::SIGSYS);

        // x32: a kernel without it still runs the filter first, then
        // answers ENOSYS.
        unchanged(&all, "x32 getpid", probe::x32_getpid);
        denied(
            &all,
            "x32 getppid",
            Outcome::Errno(libc::EOPNOTSUPP),
            probe::x32_getppid,
        );
        denied(
            &native,
            "x32 getpid, x32 not listed",
            sigsys,
            probe::x32_getpid,
        );

        // i386, where the kernel has it (IA32 emulation).
        if outcome(None, probe::i386_getpid) != Outcome::Ok {
            eprintln!("i386 system calls not tested: int 0x80 fails here");
            return;
        }
        assert_eq!(outcome(Some(&all), probe::i386_getpid), Outcome::Ok);
        assert_eq!(
            outcome(Some(&all), || probe::i386_personality(0xffff_ffff)),
            Outcome::Ok
        );
        denied(
            &all,
            "i386 personality(0)",
            Outcome::Errno(libc::EOPNOTSUPP),
            || probe::i386_personality(0),
        );
        denied(
            &native,
            "i386 getpid, x86 not listed",
            sigsys,
            probe::i386_getpid,
        );
    }

    /// Podman's profile, probed as it says: the expected answer for each
    /// call is read from the profile, not written here.
    #[test]
    fn kernel_podmans_profile() {
        let Some(s) = podman() else { return };
        let p = compile(&s).unwrap();
        let says =
            |name: &str, args: [u64; 6]| match reference(&s, NATIVE, nr(Abi::X86_64, name), args) {
                ALLOW => None,
                r if r & libc::SECCOMP_RET_ACTION_FULL == libc::SECCOMP_RET_ERRNO => {
                    Some(Outcome::Errno((r & libc::SECCOMP_RET_DATA) as i32))
                }
                r => panic!("{name}: {r:#x}, not a probe's answer"),
            };
        let check = |name: &str, args: [u64; 6], probe: &dyn Fn() -> io::Result<c_long>| match says(
            name, args,
        ) {
            None => unchanged(&p, name, probe),
            Some(want) => denied(&p, name, want, probe),
        };
        assert_eq!(says("getpid", [0; 6]), None);
        check("getpid", [0; 6], &probe::getpid);
        assert_eq!(says("add_key", [0; 6]), Some(Outcome::Errno(libc::ENOSYS)));
        check("add_key", [0; 6], &probe::add_key_null);
        check("keyctl", [0; 6], &probe::keyctl_session_id);
        check("unshare", [0; 6], &|| probe::unshare(0));
        check("vmsplice", [0; 6], &probe::vmsplice_bad_fd);
        check("personality", [0xffff_ffff, 0, 0, 0, 0, 0], &|| {
            probe::personality(0xffff_ffff)
        });
        assert!(says("personality", [0x0040_0000, 0, 0, 0, 0, 0]).is_some());
        check("personality", [0x0040_0000, 0, 0, 0, 0, 0], &|| {
            probe::personality(0x0040_0000)
        });
        let audit = [libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 9, 0, 0, 0];
        assert_eq!(says("socket", audit), Some(Outcome::Errno(libc::EINVAL)));
        check("socket", audit, &|| {
            probe::socket(libc::AF_NETLINK, libc::SOCK_RAW, 9)
        });
        check("socket", [libc::AF_UNIX as u64, 1, 0, 0, 0, 0], &|| {
            probe::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0)
        });
    }
}
