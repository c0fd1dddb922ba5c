//! The default seccomp filter: plain data (`TABLE`) compiled into one
//! classic BPF program (a binary search over the syscall numbers), with
//! guards for foreign architectures and the x32 ABI. The tests check it
//! against seccompiler's compilation of the same table.
//!
//! The list is the union of what Docker's default profile and flatpak's
//! (flatpak-run.c `setup_seccomp`) refuse a process without capabilities
//! (a call Docker allows only with a capability counts as refused), plus a
//! few rows of our own; docs/SECURITY.md compares it row by row with both
//! and gives the reason for every difference. It is a deny list on top of
//! what the kernel already refuses a process without capabilities;
//! everything not listed is allowed, so ordinary programs keep working.
//! uretprobe and uprobe are not listed: the kernel never runs seccomp
//! filters for them (`seccomp_uprobe_exception`).
//!
//! Installed last in the child stage, just before execve, so none of the
//! setup calls (mount, pivot_root, unshare) need to be allowed.
//! Ref: seccomp(2); Documentation/userspace-api/seccomp_filter.rst

use seccompiler::{sock_filter, BpfProgram};

use libc::{EAFNOSUPPORT, ENOSYS, EPERM, EPROTONOSUPPORT};

/// When a listed call is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Every call.
    Always,
    /// When argument `arg` has any of these bits set (low 32 bits).
    AnyBit(u8, &'static [u64]),
    /// When argument `arg` (low 32 bits) is one of these values. The kernel
    /// reads these arguments as `unsigned int`, so the high half must not
    /// let a caller slip past the match (CVE-2019-10063).
    OneOf(u8, &'static [u64]),
    /// When argument `arg` (low 32 bits) is none of these values.
    NoneOf(u8, &'static [u64]),
    /// socket(2): a family none of `families` gets the row's errno; a
    /// netlink socket whose protocol (argument 2, low 32 bits) is none of
    /// `netlink` gets EPROTONOSUPPORT, as from a kernel without it.
    Socket {
        families: &'static [u64],
        netlink: &'static [u64],
    },
}

/// One row of the filter: a syscall, the errno it gets, and when.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    pub name: &'static str,
    pub nr: i64,
    pub errno: i32,
    pub when: When,
}

const fn deny(name: &'static str, nr: i64) -> Entry {
    Entry {
        name,
        nr,
        errno: EPERM,
        when: When::Always,
    }
}

/// ENOSYS makes libc fall back to an older call we can inspect (clone3 →
/// clone) or that the rest of the table covers (the new mount API → mount),
/// or a program to the older interface it used before the call existed
/// (lsm_*, listns → /proc).
const fn nosys(name: &'static str, nr: i64) -> Entry {
    Entry {
        name,
        nr,
        errno: ENOSYS,
        when: When::Always,
    }
}

/// CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
/// (CLONE_NEWTIME shares its bit with the exit signal in clone(2), and
/// clone(2) cannot create a time namespace.)
const CLONE_NEW_FLAGS: &[u64] = &[
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
];

/// personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26,
/// UNAME26|PER_LINUX32, and 0xffffffff (query).
const PERSONALITIES: &[u64] = &[0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff];

/// Socket families left open: unix, inet, inet6, netlink.
const FAMILIES: &[u64] = &[
    libc::AF_UNIX as u64,
    libc::AF_INET as u64,
    libc::AF_INET6 as u64,
    libc::AF_NETLINK as u64,
];

/// Netlink protocols left open (issue 14 item 6): NETLINK_ROUTE, which
/// `ip`, glibc's getifaddrs and getaddrinfo's AI_ADDRCONFIG use, and
/// NETLINK_SOCK_DIAG (`ss`), which lists only the sockets of the
/// sandbox's network namespace, as /proc/net does. The rest is refused:
/// NETLINK_CONNECTOR hands out the host's process events (fork, exec, exit
/// with host PIDs) under `--share-net` once any host program subscribed;
/// KOBJECT_UEVENT the host's device events; SELINUX policy events; GENERIC
/// reaches families such as nl80211 (the host's Wi-Fi scan results under
/// `--share-net`), and what a process without capabilities could configure
/// through the rest it cannot; AUDIT, XFRM, NETFILTER, CRYPTO and the others
/// want capabilities or are not namespaced. Programs that try them (libaudit,
/// libudev) treat EPROTONOSUPPORT as "not in this kernel".
pub const NETLINK_PROTOCOLS: &[u64] = &[libc::NETLINK_ROUTE as u64, libc::NETLINK_SOCK_DIAG as u64];

/// Terminal ioctls that push input into, or reconfigure, the terminal the
/// caller is reading from. Ref: CVE-2017-5226 (bubblewrap), CVE-2019-10063
/// (`as _`: an ioctl request is unsigned long in glibc, int in musl.)
const TTY_INJECT: &[u64] = &[libc::TIOCSTI as _, libc::TIOCLINUX as _];

/// The default filter. `name` is what the tests and `docs/SECURITY.md` call
/// each row.
pub const TABLE: &[Entry] = &[
    // Keyrings are not namespaced.
    deny("keyctl", libc::SYS_keyctl),
    deny("add_key", libc::SYS_add_key),
    deny("request_key", libc::SYS_request_key),
    // Large kernel attack surfaces an unprivileged script does not need.
    deny("bpf", libc::SYS_bpf),
    deny("perf_event_open", libc::SYS_perf_event_open),
    deny("userfaultfd", libc::SYS_userfaultfd),
    deny("io_uring_setup", libc::SYS_io_uring_setup),
    deny("io_uring_enter", libc::SYS_io_uring_enter),
    deny("io_uring_register", libc::SYS_io_uring_register),
    // The machine, not the sandbox.
    deny("kexec_load", libc::SYS_kexec_load),
    deny("kexec_file_load", libc::SYS_kexec_file_load),
    deny("init_module", libc::SYS_init_module),
    deny("finit_module", libc::SYS_finit_module),
    deny("delete_module", libc::SYS_delete_module),
    deny("reboot", libc::SYS_reboot),
    deny("swapon", libc::SYS_swapon),
    deny("swapoff", libc::SYS_swapoff),
    deny("acct", libc::SYS_acct),
    deny("quotactl", libc::SYS_quotactl),
    deny("quotactl_fd", libc::SYS_quotactl_fd),
    deny("syslog", libc::SYS_syslog),
    deny("iopl", libc::SYS_iopl),
    deny("ioperm", libc::SYS_ioperm),
    deny("clock_settime", libc::SYS_clock_settime),
    deny("clock_adjtime", libc::SYS_clock_adjtime),
    deny("settimeofday", libc::SYS_settimeofday),
    deny("adjtimex", libc::SYS_adjtimex),
    deny("vhangup", libc::SYS_vhangup),
    // The sandbox's UTS namespace is the launcher's choice (--hostname).
    deny("sethostname", libc::SYS_sethostname),
    deny("setdomainname", libc::SYS_setdomainname),
    // The mount tree and namespaces the sandbox built stay as they are.
    deny("mount", libc::SYS_mount),
    deny("umount2", libc::SYS_umount2),
    deny("pivot_root", libc::SYS_pivot_root),
    deny("chroot", libc::SYS_chroot),
    deny("unshare", libc::SYS_unshare),
    deny("setns", libc::SYS_setns),
    Entry {
        name: "clone",
        nr: libc::SYS_clone,
        errno: EPERM,
        when: When::AnyBit(0, CLONE_NEW_FLAGS),
    },
    // File handles bypass path lookup, and so the root (the "shocker" escape).
    deny("open_by_handle_at", libc::SYS_open_by_handle_at),
    deny("name_to_handle_at", libc::SYS_name_to_handle_at),
    // Other processes' memory and descriptors.
    deny("ptrace", libc::SYS_ptrace),
    deny("process_vm_readv", libc::SYS_process_vm_readv),
    deny("process_vm_writev", libc::SYS_process_vm_writev),
    deny("kcmp", libc::SYS_kcmp),
    deny("pidfd_getfd", libc::SYS_pidfd_getfd),
    deny("process_madvise", libc::SYS_process_madvise),
    // Filesystem-wide (or mount-wide) event watching; Docker allows it
    // only with CAP_SYS_ADMIN.
    deny("fanotify_init", libc::SYS_fanotify_init),
    // Per-process segment descriptors: only 16-bit and old 32-bit code
    // needs them, and the i386 entry is killed anyway; a record of
    // information leaks (flatpak refuses it too).
    deny("modify_ldt", libc::SYS_modify_ldt),
    // NUMA memory placement: host-wide effects, and a history of bugs.
    deny("move_pages", libc::SYS_move_pages),
    deny("migrate_pages", libc::SYS_migrate_pages),
    deny("mbind", libc::SYS_mbind),
    deny("set_mempolicy", libc::SYS_set_mempolicy),
    deny("get_mempolicy", libc::SYS_get_mempolicy),
    deny("set_mempolicy_home_node", libc::SYS_set_mempolicy_home_node),
    // Obsolete calls nobody should be making.
    deny("uselib", libc::SYS_uselib),
    deny("ustat", libc::SYS_ustat),
    deny("sysfs", libc::SYS_sysfs),
    deny("_sysctl", libc::SYS__sysctl),
    deny("nfsservctl", libc::SYS_nfsservctl),
    deny("create_module", 174),
    deny("get_kernel_syms", 177),
    deny("query_module", 178),
    deny("lookup_dcookie", libc::SYS_lookup_dcookie),
    deny("vserver", libc::SYS_vserver),
    deny("afs_syscall", libc::SYS_afs_syscall),
    deny("tuxcall", libc::SYS_tuxcall),
    deny("security", libc::SYS_security),
    deny("getpmsg", libc::SYS_getpmsg),
    deny("putpmsg", libc::SYS_putpmsg),
    Entry {
        name: "personality",
        nr: libc::SYS_personality,
        errno: EPERM,
        when: When::NoneOf(0, PERSONALITIES),
    },
    Entry {
        name: "ioctl",
        nr: libc::SYS_ioctl,
        errno: EPERM,
        when: When::OneOf(1, TTY_INJECT),
    },
    Entry {
        name: "socket",
        nr: libc::SYS_socket,
        errno: EAFNOSUPPORT,
        when: When::Socket {
            families: FAMILIES,
            netlink: NETLINK_PROTOCOLS,
        },
    },
    // libc falls back to clone(2), whose flags the filter can read.
    nosys("clone3", libc::SYS_clone3),
    // Docker allows these only with CAP_SYS_ADMIN. ENOSYS: a program that
    // reads its own LSM attributes falls back to /proc/self/attr.
    nosys("lsm_get_self_attr", 459),
    nosys("lsm_set_self_attr", 460),
    nosys("lsm_list_modules", 461),
    // Linux 6.19: lists namespaces by id; newer than both sources (Docker
    // refuses any call its profile does not name). ENOSYS, as on an older
    // kernel, so a caller falls back to /proc.
    nosys("listns", 470),
    // The new mount API.
    nosys("open_tree", libc::SYS_open_tree),
    nosys("open_tree_attr", 467),
    nosys("move_mount", libc::SYS_move_mount),
    nosys("fsopen", libc::SYS_fsopen),
    nosys("fsconfig", libc::SYS_fsconfig),
    nosys("fsmount", libc::SYS_fsmount),
    nosys("fspick", libc::SYS_fspick),
    nosys("mount_setattr", libc::SYS_mount_setattr),
];

/// Syscall numbers with this bit set enter the kernel through the x32 ABI
/// on an x86_64 process and carry AUDIT_ARCH_X86_64, so a filter keyed on
/// the plain numbers would not see them. Ref: seccomp(2) "Caveats"
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

pub(crate) const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

pub(crate) const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
pub(crate) const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
pub(crate) const JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
pub(crate) const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const JSET_K: u16 = 0x45; // BPF_JMP | BPF_JSET | BPF_K
pub(crate) const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// Offsets into struct seccomp_data: nr, arch, then the six arguments
/// (8 bytes each; on x86_64 the low half comes first).
pub(crate) const DATA_NR: u32 = 0;
pub(crate) const DATA_ARCH: u32 = 4;
pub(crate) const fn data_arg_low(arg: u8) -> u32 {
    16 + 8 * arg as u32
}

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

fn ret(action: u32) -> sock_filter {
    ins(RET_K, 0, 0, action)
}

fn ret_errno(errno: i32) -> sock_filter {
    ret(libc::SECCOMP_RET_ERRNO | errno as u32)
}

/// A conditional jump's offset, which classic BPF keeps in one byte.
fn offset(n: usize) -> Result<u8, String> {
    u8::try_from(n).map_err(|_| format!("a jump of {n} instructions, more than one byte holds"))
}

/// Consecutive syscall numbers that get the same answer: one table row
/// with an argument check, or a run of unconditional rows with one errno.
struct Run {
    lo: u32,
    hi: u32,
    entry: &'static Entry,
}

fn runs() -> Vec<Run> {
    let mut rows: Vec<&'static Entry> = TABLE.iter().collect();
    rows.sort_by_key(|e| e.nr);
    let mut out: Vec<Run> = Vec::new();
    for e in rows {
        let nr = e.nr as u32;
        if let Some(last) = out.last_mut() {
            let joins = last.hi + 1 == nr
                && last.entry.when == When::Always
                && e.when == When::Always
                && last.entry.errno == e.errno;
            if joins {
                last.hi = nr;
                continue;
            }
        }
        out.push(Run {
            lo: nr,
            hi: nr,
            entry: e,
        });
    }
    out
}

/// A row's answer once its syscall number matched, appended to `out`;
/// ends in a return.
fn action(e: &Entry, out: &mut Vec<sock_filter>) -> Result<(), String> {
    let allow = ret(libc::SECCOMP_RET_ALLOW);
    let refuse = ret_errno(e.errno);
    let load = |arg| ins(LD_W_ABS, 0, 0, data_arg_low(arg));
    // The argument checks read the low 32 bits only, as the kernel reads
    // these arguments (see `When`).
    let low = |v: u64| v as u32;
    match e.when {
        When::Always => out.push(refuse),
        When::AnyBit(arg, bits) => {
            let mask = bits.iter().fold(0, |m, &b| m | low(b));
            out.extend([load(arg), ins(JSET_K, 0, 1, mask), refuse, allow]);
        }
        // One jeq per value, each jumping over the rest to the returns.
        When::OneOf(arg, values) => {
            out.push(load(arg));
            match_list(values, allow, refuse, out)?;
        }
        When::NoneOf(arg, values) => {
            out.push(load(arg));
            match_list(values, refuse, allow, out)?;
        }
        // The family; for netlink, the protocol first (it always returns,
        // so the family is still in A when it is skipped).
        When::Socket { families, netlink } => {
            // match_list's length: a jeq per value, then the two returns.
            let proto_len = netlink.len() + 2;
            out.extend([
                load(0),
                ins(JEQ_K, 0, offset(proto_len + 1)?, libc::AF_NETLINK as u32),
                load(2),
            ]);
            match_list(netlink, ret_errno(EPROTONOSUPPORT), allow.clone(), out)?;
            match_list(families, refuse, allow, out)?;
        }
    }
    Ok(())
}

/// A jeq per value against A: a match jumps to `matched`, no match falls
/// through to `unmatched`; both are returns.
fn match_list(
    values: &[u64],
    unmatched: sock_filter,
    matched: sock_filter,
    out: &mut Vec<sock_filter>,
) -> Result<(), String> {
    let m = values.len();
    for (j, &v) in values.iter().enumerate() {
        out.push(ins(JEQ_K, offset(m - j)?, 0, v as u32));
    }
    out.extend([unmatched, matched]);
    Ok(())
}

/// A run: allow what is outside [lo, hi], answer for the rest. The two
/// bound checks jump over the action, whose length is known once it is
/// written: they are patched then.
fn leaf(r: &Run, out: &mut Vec<sock_filter>) -> Result<(), String> {
    let at = out.len();
    out.extend([ins(JGT_K, 0, 0, r.hi), ins(JGE_K, 0, 0, r.lo)]);
    action(r.entry, out).map_err(|m| format!("{}: {m}", r.entry.name))?;
    let n = out.len() - at - 2;
    out[at].jt = offset(n + 1)?;
    out[at + 1].jf = offset(n)?;
    out.push(ret(libc::SECCOMP_RET_ALLOW));
    Ok(())
}

/// A binary search over the runs (sorted): each call is compared with
/// about log2(runs) numbers instead of every row in turn. Written into
/// one vector (each node's jump over its left half patched once that half
/// is written), not built from a vector per node: with musl's allocator
/// the per-node vectors made the build cost 57 µs, more than the kernel's
/// install.
fn tree(runs: &[Run], out: &mut Vec<sock_filter>) -> Result<(), String> {
    if let [r] = runs {
        return leaf(r, out);
    }
    let mid = runs.len() / 2;
    let at = out.len();
    out.push(ins(JGE_K, 0, 0, runs[mid].lo));
    tree(&runs[..mid], out)?;
    out[at].jt = offset(out.len() - at - 1)?;
    tree(&runs[mid..], out)
}

/// The default filter as one classic BPF program:
/// 1. a foreign architecture (the i386 entry, `int 0x80`, reports
///    AUDIT_ARCH_I386) kills the process;
/// 2. an x32 syscall number gets ENOSYS, as if the ABI were not built in;
/// 3. a binary search over the table's syscall numbers, each leaf
///    checking its run's bounds and the row's arguments.
///
/// Not seccompiler's compiler, which the tests keep as the reference
/// (`the_program_answers_as_seccompiler_filters_would`): it tests one
/// syscall after another, and at install the kernel runs the program once
/// per syscall number to fill its cache of always-allowed calls, so that
/// cost grows with table × syscalls. Its 456 instructions took 190 µs to
/// install here (docs/BENCHMARKS.md).
pub fn program() -> Result<BpfProgram, String> {
    // 226 instructions for today's table: one allocation.
    let mut out = Vec::with_capacity(256);
    out.extend([
        ins(LD_W_ABS, 0, 0, DATA_ARCH),
        ins(JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        ret(libc::SECCOMP_RET_KILL_PROCESS),
        ins(LD_W_ABS, 0, 0, DATA_NR),
        ins(JSET_K, 0, 1, X32_SYSCALL_BIT),
        ret_errno(ENOSYS),
    ]);
    tree(&runs(), &mut out)?;
    // BPF_MAXINSNS
    if out.len() > 4096 {
        return Err(format!(
            "{} instructions, more than the kernel takes",
            out.len()
        ));
    }
    Ok(out)
}

/// A classic BPF interpreter for the instructions our seccomp programs use,
/// for the tests of both filters (this one, and sandbox-oci's compiled
/// profiles).
#[cfg(test)]
pub(crate) mod interp {
    /// One instruction's (code, jt, jf, k), from seccompiler's type or
    /// libc's (sandbox-oci's programs), which have the same fields.
    pub trait Insn {
        fn parts(&self) -> (u16, u8, u8, u32);
    }

    impl Insn for seccompiler::sock_filter {
        fn parts(&self) -> (u16, u8, u8, u32) {
            (self.code, self.jt, self.jf, self.k)
        }
    }

    impl Insn for libc::sock_filter {
        fn parts(&self) -> (u16, u8, u8, u32) {
            (self.code, self.jt, self.jf, self.k)
        }
    }

    /// A classic BPF interpreter for the instructions seccomp programs use.
    pub fn run<I: Insn>(prog: &[I], data: &[u8]) -> u32 {
        let (mut a, mut pc) = (0u32, 0usize);
        loop {
            let (code, jt, jf, k) = prog[pc].parts();
            pc += 1;
            match code {
                0x20 => {
                    let o = k as usize;
                    a = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                }
                0x54 => a &= k,
                0x05 => pc += k as usize,
                0x15 | 0x25 | 0x35 | 0x45 => {
                    let taken = match code {
                        0x15 => a == k,
                        0x25 => a > k,
                        0x35 => a >= k,
                        _ => a & k != 0,
                    };
                    pc += if taken { jt } else { jf } as usize;
                }
                0x06 => return k,
                op => panic!("instruction {op:#x} not handled by the test interpreter"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The compiled programs run through a small classic-BPF interpreter,
    //! so every row of the table is checked as the kernel would see it.
    use super::interp::run;
    use super::*;

    const AUDIT_ARCH_I386: u32 = 0x4000_0003;

    // ---- The reference: the table compiled by seccompiler ----

    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    use std::collections::BTreeMap;

    /// One seccompiler filter per errno (a seccompiler filter has a single
    /// match action); each kills on a foreign architecture.
    fn reference_filters() -> Vec<BpfProgram> {
        let mut by_errno: BTreeMap<i32, BTreeMap<i64, Vec<SeccompRule>>> = BTreeMap::new();
        for e in TABLE {
            by_errno.entry(e.errno).or_default().insert(e.nr, rules(e));
            if let When::Socket { netlink, .. } = e.when {
                let mut r = vec![cond(0, SeccompCmpOp::Eq, libc::AF_NETLINK as u64)];
                r.extend(netlink.iter().map(|&p| cond(2, SeccompCmpOp::Ne, p)));
                by_errno
                    .entry(EPROTONOSUPPORT)
                    .or_default()
                    .insert(e.nr, vec![SeccompRule::new(r).unwrap()]);
            }
        }
        by_errno
            .into_iter()
            .map(|(errno, rules)| {
                let f = SeccompFilter::new(
                    rules,
                    SeccompAction::Allow,
                    SeccompAction::Errno(errno as u32),
                    TargetArch::x86_64,
                )
                .unwrap();
                BpfProgram::try_from(f).unwrap()
            })
            .collect()
    }

    fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> SeccompCondition {
        SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).unwrap()
    }

    /// seccompiler's rules: a syscall matches when any rule matches, and a
    /// rule when all its conditions hold; no rules means every call matches.
    fn rules(e: &Entry) -> Vec<SeccompRule> {
        let rule = |c: Vec<SeccompCondition>| SeccompRule::new(c).unwrap();
        match e.when {
            When::Always => vec![],
            When::AnyBit(arg, bits) => bits
                .iter()
                .map(|&b| rule(vec![cond(arg, SeccompCmpOp::MaskedEq(b), b)]))
                .collect(),
            When::OneOf(arg, values) => values
                .iter()
                .map(|&v| rule(vec![cond(arg, SeccompCmpOp::Eq, v)]))
                .collect(),
            When::NoneOf(arg, values) => vec![none_of(arg, values)],
            // The netlink protocols are the EPROTONOSUPPORT filter's
            // (reference_filters).
            When::Socket { families, .. } => vec![none_of(0, families)],
        }
    }

    fn none_of(arg: u8, values: &[u64]) -> SeccompRule {
        SeccompRule::new(
            values
                .iter()
                .map(|&v| cond(arg, SeccompCmpOp::Ne, v))
                .collect(),
        )
        .unwrap()
    }

    /// The x32 rule, written out: ENOSYS for any number with the x32 bit.
    fn reference_x32(nr: i64, arch: u32) -> Option<u32> {
        (arch == NATIVE && nr as u32 & X32_SYSCALL_BIT != 0).then_some(errno(ENOSYS))
    }

    /// What the kernel reads: struct seccomp_data.
    fn data(nr: i64, arch: u32, args: [u64; 6]) -> Vec<u8> {
        let mut d = Vec::with_capacity(64);
        d.extend_from_slice(&(nr as u32).to_le_bytes());
        d.extend_from_slice(&arch.to_le_bytes());
        d.extend_from_slice(&0u64.to_le_bytes()); // instruction pointer
        for a in args {
            d.extend_from_slice(&a.to_le_bytes());
        }
        d
    }

    /// What the installed filter answers.
    fn verdict(nr: i64, arch: u32, args: [u64; 6]) -> u32 {
        run(&program().unwrap(), &data(nr, arch, args))
    }

    /// The reference filters installed one by one, combined as the kernel
    /// does (the most severe action wins), with the x32 rule.
    /// Ref: seccomp(2) "the return value ... with the highest precedence"
    fn reference_verdict(filters: &[BpfProgram], nr: i64, arch: u32, args: [u64; 6]) -> u32 {
        let precedence = |r: u32| match r & libc::SECCOMP_RET_ACTION_FULL {
            libc::SECCOMP_RET_KILL_PROCESS => 0,
            libc::SECCOMP_RET_ERRNO => 3,
            libc::SECCOMP_RET_ALLOW => 9,
            other => panic!("unexpected action {other:#x}"),
        };
        let d = data(nr, arch, args);
        let worst = filters
            .iter()
            .map(|p| run(p, &d))
            .min_by_key(|&r| precedence(r))
            .unwrap();
        match reference_x32(nr, arch) {
            Some(x) if precedence(worst) > precedence(x) => x,
            _ => worst,
        }
    }

    /// Argument values worth trying: the table's own, with and without
    /// high bits, and the edges.
    fn interesting_args() -> Vec<u64> {
        let mut v: Vec<u64> = [
            CLONE_NEW_FLAGS,
            PERSONALITIES,
            FAMILIES,
            TTY_INJECT,
            NETLINK_PROTOCOLS,
        ]
        .iter()
        .flat_map(|l| l.iter().copied())
        .collect();
        v.extend(v.clone().iter().map(|x| x | 0xdead_0000_0000));
        v.extend([
            0,
            1,
            0xffff_ffff,
            u64::MAX,
            libc::AF_PACKET as u64,
            libc::TCGETS as _,
        ]);
        v
    }

    #[test]
    fn the_program_answers_as_seccompiler_filters_would() {
        let prog = program().unwrap();
        let reference = reference_filters();
        let values = interesting_args();
        for nr in (0..500).chain([X32_SYSCALL_BIT as i64 | 1, X32_SYSCALL_BIT as i64 | 165]) {
            for arch in [NATIVE, AUDIT_ARCH_I386] {
                for &v in &values {
                    for a in [[v; 6], [v, 0, 0, 0, 0, 0], [0, v, 0, 0, 0, 0]] {
                        assert_eq!(
                            run(&prog, &data(nr, arch, a)),
                            reference_verdict(&reference, nr, arch, a),
                            "nr {nr} arch {arch:#x} args {a:x?}"
                        );
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn any_call_gets_the_reference_answer(
            nr in proptest::prop_oneof![0i64..600, proptest::num::i64::ANY],
            arch in proptest::prop_oneof![proptest::strategy::Just(NATIVE), proptest::num::u32::ANY],
            args in proptest::array::uniform6(proptest::num::u64::ANY),
        ) {
            let d = data(nr, arch, args);
            proptest::prop_assert_eq!(
                run(&program().unwrap(), &d),
                reference_verdict(&reference_filters(), nr, arch, args)
            );
        }
    }

    #[test]
    fn the_program_is_small() {
        // Each call is decided in a few steps; the program stays well under
        // what seccompiler made of the same table (456 instructions).
        let n = program().unwrap().len();
        assert!(n < 300, "{n} instructions");
    }

    fn errno(e: i32) -> u32 {
        libc::SECCOMP_RET_ERRNO | e as u32
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const NATIVE: u32 = AUDIT_ARCH_X86_64;

    #[test]
    fn every_unconditional_row_is_refused_with_its_errno() {
        for e in TABLE.iter().filter(|e| e.when == When::Always) {
            assert_eq!(verdict(e.nr, NATIVE, [0; 6]), errno(e.errno), "{}", e.name);
        }
    }

    /// The filter's contents, against a list written out here by number
    /// (the kernel's arch/x86/entry/syscalls/syscall_64.tbl), neither
    /// from TABLE nor from libc's constants: the other unit tests build
    /// their expectations from TABLE, so they test the compiler, and the
    /// escape suite cannot see a row the kernel refuses by itself (reboot,
    /// swapon, acct, syslog, vhangup, pivot_root... to a process without
    /// capabilities; kexec, modules, open_by_handle_at on kernels that
    /// check the capability first). Deleting a row, or changing its
    /// errno, fails here; adding one means adding it here too.
    #[test]
    fn the_table_is_the_written_out_list() {
        #[rustfmt::skip]
        const ROWS: &[(i64, &str, i32)] = &[
            // Docker's default profile leaves these out (refuses them
            // without the capability they need), and so do we.
            (250, "keyctl", EPERM), (248, "add_key", EPERM), (249, "request_key", EPERM),
            (321, "bpf", EPERM), (298, "perf_event_open", EPERM), (323, "userfaultfd", EPERM),
            (425, "io_uring_setup", EPERM), (426, "io_uring_enter", EPERM),
            (427, "io_uring_register", EPERM),
            (246, "kexec_load", EPERM), (320, "kexec_file_load", EPERM),
            (175, "init_module", EPERM), (313, "finit_module", EPERM),
            (176, "delete_module", EPERM), (169, "reboot", EPERM), (167, "swapon", EPERM),
            (168, "swapoff", EPERM), (163, "acct", EPERM), (179, "quotactl", EPERM),
            (443, "quotactl_fd", EPERM), (103, "syslog", EPERM), (172, "iopl", EPERM),
            (173, "ioperm", EPERM), (227, "clock_settime", EPERM),
            (305, "clock_adjtime", EPERM), (164, "settimeofday", EPERM),
            (159, "adjtimex", EPERM), (153, "vhangup", EPERM),
            (170, "sethostname", EPERM), (171, "setdomainname", EPERM),
            (165, "mount", EPERM), (166, "umount2", EPERM), (155, "pivot_root", EPERM),
            (161, "chroot", EPERM), (272, "unshare", EPERM), (308, "setns", EPERM),
            (304, "open_by_handle_at", EPERM), (303, "name_to_handle_at", EPERM),
            (101, "ptrace", EPERM), (310, "process_vm_readv", EPERM),
            (311, "process_vm_writev", EPERM), (312, "kcmp", EPERM),
            (438, "pidfd_getfd", EPERM), (440, "process_madvise", EPERM),
            (300, "fanotify_init", EPERM),
            (279, "move_pages", EPERM), (256, "migrate_pages", EPERM), (237, "mbind", EPERM),
            (238, "set_mempolicy", EPERM), (239, "get_mempolicy", EPERM),
            (450, "set_mempolicy_home_node", EPERM),
            (134, "uselib", EPERM), (136, "ustat", EPERM), (139, "sysfs", EPERM),
            (156, "_sysctl", EPERM), (180, "nfsservctl", EPERM),
            (174, "create_module", EPERM), (177, "get_kernel_syms", EPERM),
            (178, "query_module", EPERM), (212, "lookup_dcookie", EPERM),
            (236, "vserver", EPERM), (183, "afs_syscall", EPERM), (184, "tuxcall", EPERM),
            (185, "security", EPERM), (181, "getpmsg", EPERM), (182, "putpmsg", EPERM),
            // flatpak's list refuses it too.
            (154, "modify_ldt", EPERM),
            // ENOSYS: clone3 (libc falls back to clone), the new mount
            // API, the LSM attribute calls and listns.
            (435, "clone3", ENOSYS), (428, "open_tree", ENOSYS), (467, "open_tree_attr", ENOSYS),
            (429, "move_mount", ENOSYS), (430, "fsopen", ENOSYS), (431, "fsconfig", ENOSYS),
            (432, "fsmount", ENOSYS), (433, "fspick", ENOSYS), (442, "mount_setattr", ENOSYS),
            (459, "lsm_get_self_attr", ENOSYS), (460, "lsm_set_self_attr", ENOSYS),
            (461, "lsm_list_modules", ENOSYS), (470, "listns", ENOSYS),
        ];
        for (nr, name, want) in ROWS {
            assert_eq!(verdict(*nr, NATIVE, [0; 6]), errno(*want), "{name} ({nr})");
            // And through the x32 entry, with the x32 bit set.
            assert_ne!(
                verdict(*nr | X32_SYSCALL_BIT as i64, NATIVE, [0; 6]),
                ALLOW,
                "{name} through x32"
            );
        }
        let always = TABLE.iter().filter(|e| e.when == When::Always).count();
        assert_eq!(always, ROWS.len(), "a row of TABLE is not in the list here");
        // The conditional rows, by number: clone with a namespace flag,
        // personality outside Docker's values, TIOCSTI/TIOCLINUX, and
        // socket families other than unix, inet, inet6 and netlink.
        assert_eq!(
            verdict(56, NATIVE, [0x1000_0000, 0, 0, 0, 0, 0]),
            errno(EPERM)
        ); // CLONE_NEWUSER
        assert_eq!(
            verdict(135, NATIVE, [0x0040_0000, 0, 0, 0, 0, 0]),
            errno(EPERM)
        ); // READ_IMPLIES_EXEC
        assert_eq!(verdict(16, NATIVE, [0, 0x5412, 0, 0, 0, 0]), errno(EPERM)); // TIOCSTI
        assert_eq!(verdict(16, NATIVE, [0, 0x541c, 0, 0, 0, 0]), errno(EPERM)); // TIOCLINUX
        assert_eq!(
            verdict(41, NATIVE, [17, 3, 0, 0, 0, 0]),
            errno(EAFNOSUPPORT)
        ); // AF_PACKET
        assert_eq!(
            verdict(41, NATIVE, [16, 3, 11, 0, 0, 0]),
            errno(EPROTONOSUPPORT)
        ); // NETLINK_CONNECTOR
        assert_eq!(
            TABLE.len() - always,
            4,
            "a conditional row was added or removed"
        );
    }

    /// Rows the escape suite cannot tell from the kernel's own answer here
    /// (it refuses them without capabilities, or does not have them yet),
    /// pinned by number so that dropping one fails somewhere.
    #[test]
    fn rows_the_kernel_would_hide_are_pinned() {
        for (nr, want) in [
            (170, EPERM),  // sethostname
            (171, EPERM),  // setdomainname
            (459, ENOSYS), // lsm_get_self_attr
            (460, ENOSYS), // lsm_set_self_attr
            (461, ENOSYS), // lsm_list_modules
            (467, ENOSYS), // open_tree_attr
            (470, ENOSYS), // listns
        ] {
            assert_eq!(verdict(nr, NATIVE, [0; 6]), errno(want), "syscall {nr}");
        }
        // Left open on purpose (docs/SECURITY.md): uretprobe and uprobe,
        // which the kernel never filters, and file_getattr/file_setattr.
        for nr in [335, 336, 468, 469] {
            assert_eq!(verdict(nr, NATIVE, [0; 6]), ALLOW, "syscall {nr}");
        }
    }

    #[test]
    fn table_has_no_duplicate_syscalls() {
        let mut seen = std::collections::HashSet::new();
        for e in TABLE {
            assert!(seen.insert(e.nr), "{} listed twice", e.name);
        }
    }

    #[test]
    fn ordinary_calls_pass() {
        for nr in [
            libc::SYS_read,
            libc::SYS_write,
            libc::SYS_openat,
            libc::SYS_execve,
            libc::SYS_chmod,
            libc::SYS_listen,
            libc::SYS_fork,
            libc::SYS_wait4,
            libc::SYS_getpid,
        ] {
            assert_eq!(verdict(nr, NATIVE, [0; 6]), ALLOW, "syscall {nr}");
        }
    }

    #[test]
    fn clone_refused_only_with_a_namespace_flag() {
        let fork_flags =
            (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD) as u64;
        assert_eq!(
            verdict(libc::SYS_clone, NATIVE, [fork_flags, 0, 0, 0, 0, 0]),
            ALLOW
        );
        let thread = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        assert_eq!(
            verdict(libc::SYS_clone, NATIVE, [thread, 0, 0, 0, 0, 0]),
            ALLOW
        );
        for &f in CLONE_NEW_FLAGS {
            assert_eq!(
                verdict(libc::SYS_clone, NATIVE, [fork_flags | f, 0, 0, 0, 0, 0]),
                errno(EPERM),
                "flag {f:#x}"
            );
        }
    }

    #[test]
    fn tty_injection_refused_whatever_the_high_bits() {
        for &req in TTY_INJECT {
            for high in [0u64, 1 << 32, 0xffff_ffff << 32] {
                assert_eq!(
                    verdict(libc::SYS_ioctl, NATIVE, [0, req | high, 0, 0, 0, 0]),
                    errno(EPERM),
                    "request {:#x}",
                    req | high
                );
            }
        }
        for req in [
            libc::TIOCGWINSZ,
            libc::TIOCSPGRP,
            libc::TIOCGPGRP,
            libc::TCGETS,
        ] {
            assert_eq!(
                verdict(libc::SYS_ioctl, NATIVE, [0, req as _, 0, 0, 0, 0]),
                ALLOW
            );
        }
    }

    #[test]
    fn personality_only_the_usual_values() {
        for &p in PERSONALITIES {
            assert_eq!(
                verdict(libc::SYS_personality, NATIVE, [p, 0, 0, 0, 0, 0]),
                ALLOW
            );
        }
        // READ_IMPLIES_EXEC and ADDR_NO_RANDOMIZE weaken the process.
        for p in [0x0400000u64, 0x0040000, 0x0008000] {
            assert_eq!(
                verdict(libc::SYS_personality, NATIVE, [p, 0, 0, 0, 0, 0]),
                errno(EPERM)
            );
        }
    }

    #[test]
    fn socket_families() {
        for &f in FAMILIES {
            assert_eq!(verdict(libc::SYS_socket, NATIVE, [f, 1, 0, 0, 0, 0]), ALLOW);
        }
        for f in [
            libc::AF_PACKET,
            libc::AF_KEY,
            libc::AF_ALG,
            libc::AF_VSOCK,
            libc::AF_BLUETOOTH,
        ] {
            assert_eq!(
                verdict(libc::SYS_socket, NATIVE, [f as u64, 1, 0, 0, 0, 0]),
                errno(EAFNOSUPPORT),
                "family {f}"
            );
        }
    }

    #[test]
    fn netlink_protocols() {
        let netlink = |proto: u64| {
            verdict(
                libc::SYS_socket,
                NATIVE,
                [libc::AF_NETLINK as u64, 3, proto, 0, 0, 0],
            )
        };
        for &p in NETLINK_PROTOCOLS {
            assert_eq!(netlink(p), ALLOW, "protocol {p}");
            // The kernel reads the protocol as an int: high bits are no way
            // around the list, and no way into it either.
            assert_eq!(netlink(p | 0xdead_0000_0000), ALLOW, "protocol {p}");
        }
        for p in [
            libc::NETLINK_CONNECTOR,
            libc::NETLINK_KOBJECT_UEVENT,
            libc::NETLINK_GENERIC,
            libc::NETLINK_AUDIT,
            libc::NETLINK_SELINUX,
            libc::NETLINK_NETFILTER,
            libc::NETLINK_CRYPTO,
        ] {
            assert_eq!(netlink(p as u64), errno(EPROTONOSUPPORT), "protocol {p}");
        }
        // The protocol argument of other families is not looked at.
        assert_eq!(
            verdict(
                libc::SYS_socket,
                NATIVE,
                [
                    libc::AF_INET as u64,
                    1,
                    libc::NETLINK_CONNECTOR as u64,
                    0,
                    0,
                    0
                ]
            ),
            ALLOW
        );
    }

    #[test]
    fn x32_numbers_refused_even_for_allowed_calls() {
        for nr in [libc::SYS_getpid, libc::SYS_mount, libc::SYS_read] {
            assert_eq!(
                verdict(nr | X32_SYSCALL_BIT as i64, NATIVE, [0; 6]),
                errno(ENOSYS),
                "x32 {nr}"
            );
        }
    }

    #[test]
    fn foreign_architecture_is_killed() {
        assert_eq!(
            verdict(20, AUDIT_ARCH_I386, [0; 6]),
            libc::SECCOMP_RET_KILL_PROCESS
        );
    }
}
