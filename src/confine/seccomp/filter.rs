//! The intermediate form both filters are written in, and its
//! compilation into one classic BPF program: per ABI, rules by syscall
//! number over a default answer. The default filter (default.rs) and
//! sandbox-oci's profiles (oci.rs) are front ends that build a [`Filter`];
//! [`Filter::program`] is the one compiler, asm.rs the one assembler.
//!
//! The program: the architecture check; for each ABI a binary search over
//! its syscall numbers, whose leaves are ranges of numbers with one answer
//! (a return) or one syscall's rules (the argument checks, in order, then
//! the ABI's default). Jumps that a one-byte offset cannot hold go through
//! BPF_JA (asm.rs).
//!
//! A binary search rather than a test of one syscall after another:
//! at install the kernel runs the program once per syscall number to fill
//! its cache of always-allowed calls, so that cost grows with rules ×
//! syscalls (seccompiler's linear program of the default table, 456
//! instructions, took 190 µs to install; docs/BENCHMARKS.md).

use libc::sock_filter;

use super::asm::{Asm, Label};
use super::syscalls;
use super::{
    data_arg_low, AND_K, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, DATA_ARCH, DATA_NR, JEQ_K, JGE_K,
    JGT_K, LD_W_ABS, MAX_INSNS, STEP, X32_SYSCALL_BIT,
};
use crate::error::{Error, Result};
pub use crate::oci::spec::LinuxSeccompOperator as Op;

/// One ABI's rules: (syscall number, rule) sorted by number, a number's
/// rules in order (the first whose conditions hold answers), and the
/// answer for everything else. One flat vector rather than a map of
/// vectors: when the default filter was built at every launch (it is
/// compiled ahead now, default_program.rs), musl's allocator made a map of
/// 80 vectors cost 60 µs; sandbox-oci still compiles its profiles.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub default: u32,
    pub rules: Vec<(u32, Rule)>,
}

impl Table {
    /// `default` for every call.
    pub fn new(default: u32) -> Table {
        Table {
            default,
            rules: Vec::new(),
        }
    }

    /// Put the rules in number order, each number's in the order given.
    pub fn sort(&mut self) {
        self.rules.sort_by_key(|(nr, _)| *nr);
    }
}

/// A filter: the x86_64 ABI's rules, and those of the x32 and i386 ABIs
/// when it answers for them. A call from an ABI it does not answer for
/// kills the process (the bad-architecture action), but for x86_64's
/// number -1 without x32 rules, a tracer skipping a call (seccomp(2),
/// SECCOMP_RET_TRACE), which gets x86_64's default, as libseccomp gives
/// it.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub x86_64: Table,
    pub x32: Option<Table>,
    pub i386: Option<Table>,
}

impl Filter {
    /// The filter as one classic BPF program; an error if it has more
    /// instructions than the kernel takes, or if a table is not sorted
    /// ([`Table::sort`]).
    pub fn program(&self) -> Result<Vec<sock_filter>> {
        let tables = [Some(&self.x86_64), self.x32.as_ref(), self.i386.as_ref()];
        if !tables
            .iter()
            .flatten()
            .all(|t| t.rules.windows(2).all(|w| w[0].0 <= w[1].0))
        {
            return Err(Error::msg(STEP, "internal: rules out of order"));
        }
        let mut asm = Asm::default();
        let not_x86_64 = asm.label();
        let x32 = asm.label();
        let bad_arch = asm.label();
        asm.ins(LD_W_ABS, DATA_ARCH);
        asm.jump_else(JEQ_K, AUDIT_ARCH_X86_64, not_x86_64);
        asm.ins(LD_W_ABS, DATA_NR);
        // x32 calls carry x86_64's token: they never reach the native rules.
        asm.jump_if(JGE_K, X32_SYSCALL_BIT, x32);
        let t = &self.x86_64;
        tree(&mut asm, &runs(&t.rules, t.default), Abi::X86_64, t.default);
        asm.mark(x32);
        match &self.x32 {
            Some(t) => tree(&mut asm, &runs(&t.rules, t.default), Abi::X32, t.default),
            None => {
                asm.jump_else(JEQ_K, u32::MAX, bad_arch);
                asm.ret(self.x86_64.default);
            }
        }
        asm.mark(not_x86_64);
        if let Some(t) = &self.i386 {
            asm.jump_else(JEQ_K, AUDIT_ARCH_I386, bad_arch);
            asm.ins(LD_W_ABS, DATA_NR);
            tree(&mut asm, &runs(&t.rules, t.default), Abi::I386, t.default);
        }
        asm.mark(bad_arch);
        asm.ret(libc::SECCOMP_RET_KILL_PROCESS);
        let filter = asm.finish()?;
        if filter.len() > MAX_INSNS {
            return Err(Error::msg(
                STEP,
                format!(
                    "a filter of {} instructions, more than the kernel's {MAX_INSNS}",
                    filter.len()
                ),
            ));
        }
        Ok(filter)
    }
}

/// The system call ABIs of an x86_64 kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Abi {
    X86_64,
    X32,
    I386,
}

impl Abi {
    /// The number of the call `name` in this ABI, if it has one.
    pub fn number(self, name: &str) -> Option<u32> {
        let table = match self {
            Abi::X86_64 => syscalls::X86_64,
            Abi::X32 => syscalls::X32,
            Abi::I386 => syscalls::I386,
        };
        table
            .binary_search_by(|(n, _)| syscalls::name(n).cmp(name))
            .ok()
            .map(|i| table[i].1)
    }

    /// Whether the arguments are compared as 64-bit values.
    pub fn wide(self) -> bool {
        self != Abi::I386
    }
}

/// One argument condition: argument `index` `op` `value` (for
/// SCMP_CMP_MASKED_EQ: `arg & value == value_two`), as libseccomp defines
/// the operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    pub index: u8,
    pub op: Op,
    pub value: u64,
    pub value_two: u64,
    /// Compare the low 32 bits only, whatever the ABI: for an argument the
    /// kernel reads as an int, whose high half must be no way past the
    /// check (CVE-2019-10063). Otherwise 64 bits, but on i386, whose
    /// arguments are 32 bits.
    pub low32: bool,
}

impl Cond {
    pub fn wider_than_32_bits(&self) -> bool {
        let masked = self.op == Op::ScmpCmpMaskedEq;
        self.value > u64::from(u32::MAX) || (masked && self.value_two > u64::from(u32::MAX))
    }
}

/// One rule for one syscall number: when all its conditions hold (no
/// conditions: always), the call gets `action`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub conds: Vec<Cond>,
    pub action: u32,
}

/// What a syscall number gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict<'a> {
    /// The same answer whatever the arguments.
    Ret(u32),
    /// The first rule whose conditions hold, else the default.
    Rules(&'a [(u32, Rule)]),
}

/// A syscall's rules reduced: nothing after an unconditional rule counts,
/// and rules at the end that answer the default change nothing.
fn verdict(rules: &[(u32, Rule)], default: u32) -> Verdict<'_> {
    let mut end = rules
        .iter()
        .position(|(_, r)| r.conds.is_empty())
        .map_or(rules.len(), |i| i + 1);
    while end > 0 && rules[end - 1].1.action == default {
        end -= 1;
    }
    match &rules[..end] {
        [] => Verdict::Ret(default),
        [(_, r)] if r.conds.is_empty() => Verdict::Ret(r.action),
        rules => Verdict::Rules(rules),
    }
}

/// Every syscall number, 0 to u32::MAX, in ranges with one verdict each:
/// (first number, verdict), sorted, the first starting at 0, no two
/// neighbours alike.
fn runs(rules: &[(u32, Rule)], default: u32) -> Vec<(u32, Verdict<'_>)> {
    let mut bounds: Vec<(u32, Verdict)> = Vec::with_capacity(2 * rules.len() + 1);
    bounds.push((0, Verdict::Ret(default)));
    for r in rules.chunk_by(|a, b| a.0 == b.0) {
        let nr = r[0].0;
        if bounds.last().is_some_and(|(lo, _)| *lo == nr) {
            bounds.pop();
        }
        bounds.push((nr, verdict(r, default)));
        if let Some(next) = nr.checked_add(1) {
            bounds.push((next, Verdict::Ret(default)));
        }
    }
    // Neighbours alike merge into the first.
    bounds.dedup_by(|later, earlier| later.1 == earlier.1);
    bounds
}

/// Runs per stretch of the tree whose returns are shared: one `ret` per
/// answer, placed after the stretch, which the tree's jumps reach in one
/// byte. Larger trees are split in halves first.
const STRETCH: usize = 64;

/// A binary search over the runs, which cover every number; A holds the
/// syscall number. Every path ends in a return.
fn tree(asm: &mut Asm, runs: &[(u32, Verdict)], abi: Abi, default: u32) {
    if runs.len() > STRETCH {
        let mid = runs.len() / 2;
        let upper = asm.label();
        asm.jump_if(JGE_K, runs[mid].0, upper);
        tree(asm, &runs[..mid], abi, default);
        asm.mark(upper);
        return tree(asm, &runs[mid..], abi, default);
    }
    let mut shared = Shared::default();
    let root = shared.target(asm, runs);
    if runs.len() > 1 {
        node(asm, root, runs, &mut shared);
    }
    for (label, v) in shared.blocks {
        asm.mark(label);
        leaf(asm, &v, abi, default);
    }
    for (action, label) in shared.rets {
        asm.mark(label);
        asm.ret(action);
    }
}

/// What a stretch of the tree jumps to besides its own nodes: a `ret` for
/// each answer, and the syscalls' blocks of argument checks.
#[derive(Default)]
struct Shared<'a> {
    rets: Vec<(u32, Label)>,
    blocks: Vec<(Label, Verdict<'a>)>,
}

impl<'a> Shared<'a> {
    /// Where a jump to these runs goes: the shared `ret` of a lone
    /// answer, a block of checks, or a node still to be placed.
    fn target(&mut self, asm: &mut Asm, runs: &[(u32, Verdict<'a>)]) -> Label {
        match runs {
            [(_, Verdict::Ret(a))] => match self.rets.iter().find(|(b, _)| b == a) {
                Some(&(_, l)) => l,
                None => {
                    let l = asm.label();
                    self.rets.push((*a, l));
                    l
                }
            },
            [(_, v)] => {
                let l = asm.label();
                self.blocks.push((l, *v));
                l
            }
            _ => asm.label(),
        }
    }
}

/// One node of the search (two runs or more) at `label`, then its
/// subtrees.
fn node<'a>(asm: &mut Asm, label: Label, runs: &[(u32, Verdict<'a>)], shared: &mut Shared<'a>) {
    asm.mark(label);
    let (lower, upper) = runs.split_at(runs.len() / 2);
    let l = shared.target(asm, lower);
    let u = shared.target(asm, upper);
    asm.jump(JGE_K, upper[0].0, u, l);
    for (label, half) in [(l, lower), (u, upper)] {
        if half.len() > 1 {
            node(asm, label, half, shared);
        }
    }
}

/// One syscall's rules: each rule's checks and answer in profile order,
/// then the default.
fn leaf(asm: &mut Asm, v: &Verdict, abi: Abi, default: u32) {
    let rules = match v {
        Verdict::Ret(a) => return asm.ret(*a),
        Verdict::Rules(r) => r,
    };
    for (_, r) in rules.iter() {
        let next = asm.label();
        for c in &r.conds {
            cond(asm, c, abi.wide() && !c.low32, next);
        }
        asm.ret(r.action);
        asm.mark(next);
    }
    asm.ret(default);
}

/// Fall through when the condition holds, jump to `fail` when not.
fn cond(asm: &mut Asm, c: &Cond, wide: bool, fail: Label) {
    let pass = asm.label();
    let lo_at = data_arg_low(c.index);
    let hi_at = lo_at + 4;
    let (lo, hi) = (c.value as u32, (c.value >> 32) as u32);
    let (lo2, hi2) = (c.value_two as u32, (c.value_two >> 32) as u32);
    // Orderings: `a OP v` is decided by the high words unless they are
    // equal, then by the low words. LT and LE are GE and GT negated.
    let (strict, negated) = match c.op {
        Op::ScmpCmpGt => (true, false),
        Op::ScmpCmpGe => (false, false),
        Op::ScmpCmpLt => (false, true),
        Op::ScmpCmpLe => (true, true),
        _ => (false, false),
    };
    let (yes, no) = if negated { (fail, pass) } else { (pass, fail) };
    let last_jump = if strict { JGT_K } else { JGE_K };
    match c.op {
        Op::ScmpCmpEq | Op::ScmpCmpNe | Op::ScmpCmpMaskedEq => {
            let masked = c.op == Op::ScmpCmpMaskedEq;
            let (want_lo, want_hi) = if masked { (lo2, hi2) } else { (lo, hi) };
            let (equal, differ) = if c.op == Op::ScmpCmpNe {
                (fail, pass)
            } else {
                (pass, fail)
            };
            if wide {
                asm.ins(LD_W_ABS, hi_at);
                if masked {
                    asm.ins(AND_K, hi);
                }
                asm.jump_else(JEQ_K, want_hi, differ);
            }
            asm.ins(LD_W_ABS, lo_at);
            if masked {
                asm.ins(AND_K, lo);
            }
            asm.jump(JEQ_K, want_lo, equal, differ);
        }
        Op::ScmpCmpGt | Op::ScmpCmpGe | Op::ScmpCmpLt | Op::ScmpCmpLe => {
            if wide {
                asm.ins(LD_W_ABS, hi_at);
                asm.jump_if(JGT_K, hi, yes);
                asm.jump_else(JEQ_K, hi, no);
            }
            asm.ins(LD_W_ABS, lo_at);
            asm.jump(last_jump, lo, yes, no);
        }
    }
    asm.mark(pass);
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;

    fn errno(e: i32) -> u32 {
        libc::SECCOMP_RET_ERRNO | e as u32
    }

    #[test]
    fn trailing_entries_that_answer_the_default_are_dropped() {
        let rule = |action: u32, cond: bool| {
            let r = Rule {
                conds: if cond {
                    vec![Cond {
                        index: 0,
                        op: Op::ScmpCmpEq,
                        value: 1,
                        value_two: 0,
                        low32: false,
                    }]
                } else {
                    vec![]
                },
                action,
            };
            (7, r)
        };
        let d = errno(1);
        assert_eq!(verdict(&[rule(d, true)], d), Verdict::Ret(d));
        assert_eq!(
            verdict(&[rule(ALLOW, false), rule(d, true)], d),
            Verdict::Ret(ALLOW)
        );
        assert_eq!(
            verdict(&[rule(d, false), rule(ALLOW, true)], d),
            Verdict::Ret(d)
        );
        assert_eq!(
            verdict(&[rule(d, true), rule(ALLOW, true)], d),
            Verdict::Rules(&[rule(d, true), rule(ALLOW, true)])
        );
        assert_eq!(
            verdict(&[rule(ALLOW, true), rule(d, true), rule(d, false)], d),
            Verdict::Rules(&[rule(ALLOW, true)])
        );
    }
}
