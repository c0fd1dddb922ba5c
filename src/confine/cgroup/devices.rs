//! `linux.resources.devices`: the rules checked, as cgroup v1
//! devices.allow/devices.deny lines, and as a cgroup v2 eBPF device
//! program (loaded and attached through sys::bpf_*). The OCI layer
//! (oci.rs) decides where each goes, and appends runc's default list
//! (`default_allowed`) as root.

use std::os::fd::AsFd;
use std::path::Path;

use super::open;
use crate::error::{describe_errno, Context, Error, Result};
use crate::oci::spec::{LinuxDeviceCgroup, LinuxDeviceType};
use crate::sys::{self, BpfInsn};

/// BPF_DEVCG_ACC_*: the access bits, as the kernel gives them to a cgroup
/// device program and as we keep them.
const ACC_MKNOD: u8 = 1;
const ACC_READ: u8 = 2;
const ACC_WRITE: u8 = 4;
const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;
/// BPF_DEVCG_DEV_*: the device types.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// One `linux.resources.devices` rule, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DevRule {
    allow: bool,
    /// 'b' or 'c'; None for all ('a').
    kind: Option<char>,
    major: Option<u32>,
    minor: Option<u32>,
    /// ACC_* bits; an empty access in the config is "rwm".
    access: u8,
}

pub(super) fn device_rules(list: &[LinuxDeviceCgroup]) -> Result<Vec<DevRule>> {
    let bad = |i: usize, why: String| Error::msg(format!("linux.resources.devices[{i}]"), why);
    let number = |i: usize, n: Option<i64>| -> Result<Option<u32>> {
        match n {
            None => Ok(None),
            Some(n) if n < 0 => Ok(None),
            Some(n) if n <= i32::MAX as i64 => Ok(Some(n as u32)),
            Some(n) => Err(bad(i, format!("the device number {n} is out of range"))),
        }
    };
    let mut rules = Vec::new();
    for (i, d) in list.iter().enumerate() {
        let kind = match d.typ.unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => None,
            LinuxDeviceType::B => Some('b'),
            LinuxDeviceType::C | LinuxDeviceType::U => Some('c'),
            LinuxDeviceType::P => {
                return Err(bad(
                    i,
                    "type \"p\" (a FIFO) is not a device the cgroup controls".into(),
                ))
            }
        };
        let mut access = 0;
        for c in d.access.as_deref().unwrap_or("").chars() {
            access |= match c {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                c => return Err(bad(i, format!("access {c:?} is not one of r, w, m"))),
            };
        }
        rules.push(DevRule {
            allow: d.allow,
            kind,
            major: number(i, d.major)?,
            minor: number(i, d.minor)?,
            access: if access == 0 { ACC_ALL } else { access },
        });
    }
    Ok(rules)
}

/// The devices every container may use whatever its rules say, appended
/// after them as runc appends its default list (libcontainer/specconv's
/// AllowedDevices): mknod of any node (`c *:* m`, `b *:* m`: what
/// the nodes of /dev are made with), /dev/null, zero, full, random,
/// urandom and tty, the pty master (5:2) and the ptys (136:*). Engines
/// rely on it: containerd's CRI plugin writes "deny all" and nothing else.
/// Left out of runc 1.1's list: /dev/net/tun (10:200), which runc 1.2
/// dropped too. A node of these paths that the config's `linux.devices`
/// gives itself takes the place of the default, as in runc.
pub(super) fn default_allowed(own: &[&Path]) -> Vec<LinuxDeviceCgroup> {
    let rule = |typ, major: Option<i64>, minor: Option<i64>, access: &str| LinuxDeviceCgroup {
        allow: true,
        typ: Some(typ),
        major,
        minor,
        access: Some(access.to_string()),
    };
    let mut v = vec![
        rule(LinuxDeviceType::C, None, None, "m"),
        rule(LinuxDeviceType::B, None, None, "m"),
    ];
    for (path, major, minor) in [
        ("/dev/null", 1, 3),
        ("/dev/random", 1, 8),
        ("/dev/full", 1, 7),
        ("/dev/tty", 5, 0),
        ("/dev/zero", 1, 5),
        ("/dev/urandom", 1, 9),
    ] {
        if !own.contains(&Path::new(path)) {
            v.push(rule(LinuxDeviceType::C, Some(major), Some(minor), "rwm"));
        }
    }
    v.push(rule(LinuxDeviceType::C, Some(136), None, "rwm"));
    v.push(rule(LinuxDeviceType::C, Some(5), Some(2), "rwm"));
    v
}

/// Rules that deny nothing leave a new cgroup as it is (allowing what its
/// parent allows): there is nothing to enforce.
pub(super) fn denies_any(rules: &[DevRule]) -> bool {
    rules.iter().any(|r| !r.allow)
}

/// The cgroup v1 lines, in order: ("devices.allow" or "devices.deny", the
/// line). An "a" rule for all devices and all access resets the list; one
/// narrower than that becomes a "b" and a "c" line, since the kernel reads
/// any "a" as all. Ref: Documentation/admin-guide/cgroup-v1/devices.rst
pub(super) fn v1_device_lines(rules: &[DevRule]) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        if r.kind.is_none() && r.major.is_none() && r.minor.is_none() && r.access == ACC_ALL {
            lines.push((file, "a".to_string()));
            continue;
        }
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if r.access & bit != 0 {
                access.push(c);
            }
        }
        let kinds = r.kind.map_or(vec!['b', 'c'], |k| vec![k]);
        for k in kinds {
            lines.push((
                file,
                format!("{k} {}:{} {access}", num(r.major), num(r.minor)),
            ));
        }
    }
    lines
}

// eBPF opcodes (class | operation | source). Ref: Documentation/bpf/
// standardization/instruction-set.rst
/// BPF_LDX | BPF_MEM | BPF_W: dst = *(u32 *)(src + off).
const LDX_W: u8 = 0x61;
/// BPF_ALU | BPF_AND | BPF_K: dst &= imm (32-bit).
const AND32_K: u8 = 0x54;
/// BPF_ALU | BPF_RSH | BPF_K: dst >>= imm (32-bit).
const RSH32_K: u8 = 0x74;
/// BPF_ALU | BPF_MOV | BPF_X: dst = src (32-bit).
const MOV32_X: u8 = 0xbc;
/// BPF_ALU | BPF_MOV | BPF_K: dst = imm (32-bit).
const MOV32_K: u8 = 0xb4;
/// BPF_JMP | BPF_JEQ | BPF_K: if dst == imm, skip `off` instructions.
const JEQ_K: u8 = 0x15;
/// BPF_JMP | BPF_JNE | BPF_K: if dst != imm, skip `off` instructions.
const JNE_K: u8 = 0x55;
/// BPF_JMP | BPF_EXIT: return r0.
const EXIT: u8 = 0x95;

/// The device rules as a BPF_PROG_TYPE_CGROUP_DEVICE program. Its context
/// is struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor },
/// access_type being the device type | (the access bits << 16); it returns
/// 1 to allow, 0 to deny. Ref: include/uapi/linux/bpf.h, and the kernel's
/// tools/testing/selftests/bpf/progs/dev_cgroup.c
///
/// As in the config, a later rule overrides an earlier one, so the
/// program checks the rules from the last: the first that matches
/// decides. An allow rule matches a request whose access it grants all
/// of; a deny rule one whose access it denies any of. A request no rule
/// matches is allowed (as a cgroup without rules allows; a config that
/// means to deny starts with a deny of all).
fn device_program(rules: &[DevRule]) -> Vec<BpfInsn> {
    let i = BpfInsn::new;
    let mut p = vec![
        // r2 = the type, r3 = the access, r4 = major, r5 = minor.
        i(LDX_W, 2, 1, 0, 0),
        i(AND32_K, 2, 0, 0, 0xffff),
        i(LDX_W, 3, 1, 0, 0),
        i(RSH32_K, 3, 0, 0, 16),
        i(LDX_W, 4, 1, 4, 0),
        i(LDX_W, 5, 1, 8, 0),
    ];
    for r in rules.iter().rev() {
        // Each test jumps past the rest of the block when it fails; the
        // offsets are set once the block's length is known (`off` holds
        // 1 for "to patch" until then).
        let mut block = Vec::new();
        if let Some(k) = r.kind {
            let t = if k == 'b' { DEV_BLOCK } else { DEV_CHAR };
            block.push(i(JNE_K, 2, 0, 1, t));
        }
        if let Some(m) = r.major {
            block.push(i(JNE_K, 4, 0, 1, m as i32));
        }
        if let Some(m) = r.minor {
            block.push(i(JNE_K, 5, 0, 1, m as i32));
        }
        if r.access != ACC_ALL {
            block.push(i(MOV32_X, 1, 3, 0, 0));
            if r.allow {
                // Any bit asked for beyond the rule's: not this rule.
                block.push(i(AND32_K, 1, 0, 0, i32::from(!r.access & ACC_ALL)));
                block.push(i(JNE_K, 1, 0, 1, 0));
            } else {
                // No bit asked for that the rule denies: not this rule.
                block.push(i(AND32_K, 1, 0, 0, i32::from(r.access)));
                block.push(i(JEQ_K, 1, 0, 1, 0));
            }
        }
        block.push(i(MOV32_K, 0, 0, 0, i32::from(r.allow)));
        block.push(i(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (n, insn) in block.iter_mut().enumerate() {
            if insn.code == JNE_K || insn.code == JEQ_K {
                insn.off = (len - n - 1) as i16;
            }
        }
        p.extend(block);
        // A rule without a test matches everything: nothing after it
        // would run, and the verifier refuses code that cannot.
        if len == 2 {
            return p;
        }
    }
    p.push(i(MOV32_K, 0, 0, 0, 1));
    p.push(i(EXIT, 0, 0, 0, 0));
    p
}

/// Load the rules' program and attach it to the cgroup v2 directory `dir`.
pub(super) fn attach_program(dir: &Path, rules: &[DevRule]) -> Result<()> {
    if !denies_any(rules) {
        return Ok(());
    }
    let step = "enforce linux.resources.devices (eBPF)";
    let program = device_program(rules);
    let license = c"MIT OR Apache-2.0";
    let prog = match sys::bpf_load_device_program(&program, license, "sandbox_dev", &mut []) {
        Ok(fd) => fd,
        Err(e) => {
            // Again with the verifier's log, for the message.
            let mut log = vec![0u8; 64 * 1024];
            let _ = sys::bpf_load_device_program(&program, license, "sandbox_dev", &mut log);
            let text = String::from_utf8_lossy(&log);
            let text = text.trim_end_matches('\0').trim();
            let errno = e.raw_os_error().unwrap_or(libc::EINVAL);
            let why = if text.is_empty() {
                describe_errno(errno)
            } else {
                format!("{}; the verifier said: {text}", describe_errno(errno))
            };
            let hint = if text.is_empty() {
                "loading a cgroup device program needs CAP_BPF or CAP_SYS_ADMIN and a kernel with CONFIG_CGROUP_BPF"
            } else {
                "the kernel's verifier refused the program sandbox-oci built from linux.resources.devices: a bug in sandbox-oci to report"
            };
            return Err(Error::msg(format!("{step}: bpf(BPF_PROG_LOAD)"), why).with_hint(hint));
        }
    };
    let d = open(dir, step)?;
    sys::bpf_attach_device_program(d.as_fd(), prog.as_fd())
        .ctx(&format!("{step}: bpf(BPF_PROG_ATTACH)"), dir.display())
        .map_err(|e| {
            e.with_hint("a cgroup above this one may hold a device program that allows no other (attached without BPF_F_ALLOW_MULTI)")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev_rules(json: &str) -> Vec<DevRule> {
        let list: Vec<LinuxDeviceCgroup> = serde_json::from_str(json).unwrap();
        device_rules(&list).unwrap()
    }

    /// containerd's rules as root: deny all, then an allow list.
    const CONTAINERD: &str = r#"[
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
        {"allow": true, "type": "c", "access": "m"},
        {"allow": true, "type": "b", "access": "m"},
        {"allow": true, "type": "c", "major": 136, "access": "rwm"},
        {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rw"}
    ]"#;

    #[test]
    fn device_rules_as_v1_lines() {
        let lines = v1_device_lines(&dev_rules(CONTAINERD));
        assert_eq!(
            lines,
            [
                ("devices.deny", "a".to_string()),
                ("devices.allow", "c 1:3 rwm".to_string()),
                ("devices.allow", "c 1:5 rwm".to_string()),
                ("devices.allow", "c *:* m".to_string()),
                ("devices.allow", "b *:* m".to_string()),
                ("devices.allow", "c 136:* rwm".to_string()),
                ("devices.allow", "c 5:1 rw".to_string()),
            ]
        );
        // "a" narrower than everything: a "b" and a "c" line.
        let lines = v1_device_lines(&dev_rules(
            r#"[{"allow": false, "type": "a", "access": "w"}]"#,
        ));
        assert_eq!(
            lines,
            [
                ("devices.deny", "b *:* w".to_string()),
                ("devices.deny", "c *:* w".to_string()),
            ]
        );
        // No access: all of it; a negative number: any.
        let r = dev_rules(r#"[{"allow": true, "type": "u", "major": -1, "minor": 7}]"#);
        assert_eq!(
            v1_device_lines(&r),
            [("devices.allow", "c *:7 rwm".to_string())]
        );
        assert!(!denies_any(&r));
        assert!(denies_any(&dev_rules(CONTAINERD)));
        for bad in [
            r#"[{"allow": true, "type": "p"}]"#,
            r#"[{"allow": true, "access": "rx"}]"#,
            r#"[{"allow": true, "major": 4294967296}]"#,
        ] {
            let list: Vec<LinuxDeviceCgroup> = serde_json::from_str(bad).unwrap();
            let e = device_rules(&list).unwrap_err();
            assert_eq!(e.step, "linux.resources.devices[0]", "{e}");
        }
    }

    /// Every instruction can run, and every path ends in an exit: the
    /// verifier refuses a program otherwise.
    fn assert_well_formed(p: &[BpfInsn]) {
        let mut seen = vec![false; p.len()];
        let mut todo = vec![0usize];
        while let Some(pc) = todo.pop() {
            assert!(pc < p.len(), "runs off the end");
            if std::mem::replace(&mut seen[pc], true) {
                continue;
            }
            match p[pc].code {
                EXIT => {}
                JEQ_K | JNE_K => todo.extend([pc + 1, pc + 1 + p[pc].off as usize]),
                _ => todo.push(pc + 1),
            }
        }
        let unreachable: Vec<usize> = (0..p.len()).filter(|i| !seen[*i]).collect();
        assert!(unreachable.is_empty(), "unreachable: {unreachable:?}");
    }

    /// Run a device program the way the kernel would, on the opcodes it
    /// uses.
    fn run(p: &[BpfInsn], kind: i32, access: u8, major: u32, minor: u32) -> u64 {
        assert_well_formed(p);
        let ctx = [kind as u32 | (u32::from(access) << 16), major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0;
        let mut ctx_in_r1 = true;
        loop {
            let i = p[pc];
            pc += 1;
            let (d, s) = (usize::from(i.dst()), usize::from(i.src()));
            if d == 1 {
                ctx_in_r1 = false;
            }
            match i.code {
                LDX_W => {
                    assert!(s == 1 && ctx_in_r1, "a load not from the context");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                AND32_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
                RSH32_K => r[d] = u64::from((r[d] as u32) >> i.imm),
                MOV32_X => r[d] = u64::from(r[s] as u32),
                MOV32_K => r[d] = u64::from(i.imm as u32),
                JEQ_K if r[d] == i.imm as i64 as u64 => pc += i.off as usize,
                JNE_K if r[d] != i.imm as i64 as u64 => pc += i.off as usize,
                JEQ_K | JNE_K => {}
                EXIT => return r[0],
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn device_program_decides_as_the_rules_say() {
        let p = device_program(&dev_rules(CONTAINERD));
        let (r, w, m) = (ACC_READ, ACC_WRITE, ACC_MKNOD);
        assert_eq!(run(&p, DEV_CHAR, r, 1, 7), 0, "/dev/full is not allowed");
        assert_eq!(run(&p, DEV_CHAR, r | w, 1, 3), 1, "/dev/null is");
        assert_eq!(run(&p, DEV_CHAR, r | w, 1, 5), 1, "/dev/zero is");
        assert_eq!(run(&p, DEV_CHAR, m, 1, 7), 1, "mknod of any char device");
        assert_eq!(run(&p, DEV_BLOCK, m, 8, 0), 1, "mknod of any block device");
        assert_eq!(run(&p, DEV_BLOCK, r, 8, 0), 0, "but not reading a disk");
        assert_eq!(run(&p, DEV_CHAR, w, 136, 4), 1, "a pty");
        assert_eq!(run(&p, DEV_CHAR, r | w, 5, 1), 1, "the console");
        assert_eq!(run(&p, DEV_CHAR, r, 3, 1), 0);

        // A deny of some access: the rest stays allowed.
        let p = device_program(&dev_rules(
            r#"[{"allow": false, "type": "c", "major": 1, "minor": 7, "access": "w"}]"#,
        ));
        assert_eq!(run(&p, DEV_CHAR, r, 1, 7), 1);
        assert_eq!(run(&p, DEV_CHAR, r | w, 1, 7), 0);
        assert_eq!(run(&p, DEV_CHAR, w, 1, 8), 1);
        assert_eq!(run(&p, DEV_BLOCK, w, 1, 7), 1);

        // The later rule wins.
        let later_allows = r#"[{"allow": false, "type": "c", "major": 1, "minor": 7}, {"allow": true, "type": "c", "major": 1, "minor": 7}]"#;
        assert_eq!(
            run(&device_program(&dev_rules(later_allows)), DEV_CHAR, r, 1, 7),
            1
        );
        let later_denies = r#"[{"allow": true, "type": "c", "major": 1, "minor": 7}, {"allow": false, "type": "c", "major": 1, "minor": 7}]"#;
        assert_eq!(
            run(&device_program(&dev_rules(later_denies)), DEV_CHAR, r, 1, 7),
            0
        );
        // An allow of part of the access asked for is not enough.
        let part = r#"[{"allow": false}, {"allow": true, "type": "c", "major": 1, "minor": 7, "access": "r"}]"#;
        let p = device_program(&dev_rules(part));
        assert_eq!(run(&p, DEV_CHAR, r, 1, 7), 1);
        assert_eq!(run(&p, DEV_CHAR, r | w, 1, 7), 0);
        // No rules: all allowed.
        assert_eq!(run(&device_program(&[]), DEV_BLOCK, r | w | m, 8, 0), 1);
    }
}
