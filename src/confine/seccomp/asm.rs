//! Classic BPF with labels, the one assembler of both filters (the
//! default filter, src/confine/seccomp/default.rs, and sandbox-oci's profiles,
//! src/confine/seccomp/oci.rs, both through src/confine/seccomp/filter.rs): conditional
//! jumps go to labels anywhere forward, and `finish` sends those too long
//! for a one-byte offset through BPF_JA, whose offset is 32 bits.

use libc::sock_filter;

use super::{JA, RET_K, STEP};
use crate::error::{Error, Result};

/// A place in the program that jumps go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

enum Item {
    Ins(sock_filter),
    /// A conditional jump to `t` when true, `f` when false.
    Jump {
        code: u16,
        k: u32,
        t: Label,
        f: Label,
    },
    Mark(Label),
}

/// Classic BPF with labels: conditional jumps go anywhere forward, and
/// `finish` sends the ones too long for a one-byte offset through BPF_JA.
#[derive(Default)]
pub struct Asm {
    items: Vec<Item>,
    labels: usize,
    marked: Vec<bool>,
}

impl Asm {
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        self.marked.push(false);
        Label(self.labels - 1)
    }

    pub fn mark(&mut self, l: Label) {
        debug_assert!(!self.marked[l.0], "label marked twice");
        self.marked[l.0] = true;
        self.items.push(Item::Mark(l));
    }

    pub fn ins(&mut self, code: u16, k: u32) {
        self.items.push(Item::Ins(sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        }));
    }

    pub fn ret(&mut self, action: u32) {
        self.ins(RET_K, action);
    }

    pub fn jump(&mut self, code: u16, k: u32, t: Label, f: Label) {
        self.items.push(Item::Jump { code, k, t, f });
    }

    /// To `t` when true; on to the next instruction when not.
    pub fn jump_if(&mut self, code: u16, k: u32, t: Label) {
        let next = self.label();
        self.jump(code, k, t, next);
        self.mark(next);
    }

    /// On when true; to `f` when not.
    pub fn jump_else(&mut self, code: u16, k: u32, f: Label) {
        let next = self.label();
        self.jump(code, k, next, f);
        self.mark(next);
    }

    /// The instructions. A jump whose target is more than 255 away gets a
    /// BPF_JA right after it (its offset is 32 bits) and jumps to that;
    /// as that lengthens the program, lengths are recomputed until no more
    /// jumps need one.
    pub fn finish(self) -> Result<Vec<sock_filter>> {
        if let Some(l) = self.marked.iter().position(|&m| !m) {
            return Err(Error::msg(
                STEP,
                format!("internal: label {l} never placed"),
            ));
        }
        let n = self.items.len();
        // Per item: whether its true and its false target need a BPF_JA.
        let mut far = vec![(false, false); n];
        let mut at = vec![0usize; self.labels];
        loop {
            let mut pc = 0;
            for (i, item) in self.items.iter().enumerate() {
                match item {
                    Item::Ins(_) => pc += 1,
                    Item::Jump { .. } => pc += 1 + far[i].0 as usize + far[i].1 as usize,
                    Item::Mark(l) => at[l.0] = pc,
                }
            }
            // Distances with this round's lengths; a jump found too
            // short gets its BPF_JA in the next round's.
            let before = far.clone();
            let mut pc = 0;
            for (i, item) in self.items.iter().enumerate() {
                match item {
                    Item::Ins(_) => pc += 1,
                    Item::Jump { t, f, .. } => {
                        let (far_t, far_f) = &mut far[i];
                        for (target, is_far) in [(t, far_t), (f, far_f)] {
                            let dist = at[target.0]
                                .checked_sub(pc + 1)
                                .ok_or_else(|| Error::msg(STEP, "internal: a backward jump"))?;
                            *is_far |= dist > 255;
                        }
                        pc += 1 + before[i].0 as usize + before[i].1 as usize;
                    }
                    Item::Mark(_) => {}
                }
            }
            if far == before {
                break;
            }
        }
        let mut out: Vec<sock_filter> = Vec::with_capacity(n);
        for (i, item) in self.items.iter().enumerate() {
            match item {
                Item::Ins(ins) => out.push(*ins),
                Item::Mark(_) => {}
                &Item::Jump { code, k, t, f } => {
                    let pc = out.len();
                    let (far_t, far_f) = far[i];
                    // Offsets count from the instruction after the jump;
                    // the BPF_JAs, when there are any, come first there.
                    let short = |l: Label| (at[l.0] - (pc + 1)) as u8;
                    let jt = if far_t { 0 } else { short(t) };
                    let jf = if far_f { far_t as u8 } else { short(f) };
                    out.push(sock_filter { code, jt, jf, k });
                    for (target, is_far) in [(t, far_t), (f, far_f)] {
                        if is_far {
                            let from = out.len() + 1;
                            let k = u32::try_from(at[target.0] - from)
                                .map_err(|_| Error::msg(STEP, "internal: a jump beyond 32 bits"))?;
                            out.push(sock_filter {
                                code: JA,
                                jt: 0,
                                jf: 0,
                                k,
                            });
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}
