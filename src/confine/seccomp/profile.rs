//! `sandbox run --seccomp-profile FILE`: an OCI (config.json's
//! `linux.seccomp`) or Docker seccomp profile from a file, compiled by
//! oci.rs (the one compiler and assembler) into the filter the sandbox
//! gets **instead of** the default one, as docker's `--security-opt
//! seccomp=FILE` replaces docker's default. no_new_privs is set either way
//! (the filter needs it, and nothing in a profile turns it off).
//!
//! The file is read in the launcher through the untrusted-file reader
//! (a regular file, at most 4 MiB, never a FIFO or a device), parsed, and
//! a Docker profile's own keys are turned into the OCI form first:
//! - `archMap`: the entry for SCMP_ARCH_X86_64 and its `subArchitectures`
//!   become `architectures` (when that is absent);
//! - `name` (Docker's older one-name entries) becomes `names`;
//! - `includes` / `excludes` decide whether an entry counts at all, as
//!   docker decides it: the command runs with no capability, so an entry
//!   that `includes` capabilities is left out and one that `excludes`
//!   them is kept; `arches` are matched against "amd64"; `minKernel`
//!   against the running kernel's version.
//!
//! Errors name the file and what is wrong in it: not JSON (line and
//! column), an unknown action or operator (the entry's index), an action
//! we cannot give (SCMP_ACT_NOTIFY). What oci.rs skips (a name unknown to
//! the x86 tables) is a note, shown under `-v`.

use std::path::Path;

use libc::sock_filter;
use serde_json::{Map, Value};

use super::oci;
use crate::confine::untrusted;
use crate::error::{Context, Error, Result};
use crate::oci::spec::{LinuxSeccomp, LinuxSyscall};
use crate::sys;

/// The step errors name.
const STEP: &str = "--seccomp-profile";

/// The most a profile file may hold (docker's default is 25 KiB).
const MAX_PROFILE: u64 = 4 << 20;

/// A compiled profile: what the plan carries to the child stage (the
/// program, packed) and what `-v` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The file, as given: for `-v`.
    pub file: String,
    /// The instructions, each packed by [`pack`].
    pub program: Vec<u64>,
    /// SECCOMP_FILTER_FLAG_* from the profile's `flags`.
    pub flags: u32,
}

impl Profile {
    /// The program, unpacked.
    pub fn filter(&self) -> Vec<sock_filter> {
        self.program.iter().map(|&w| unpack(w)).collect()
    }
}

/// One instruction as a u64: code, jt, jf, k.
pub fn pack(i: &sock_filter) -> u64 {
    (u64::from(i.code) << 48) | (u64::from(i.jt) << 40) | (u64::from(i.jf) << 32) | u64::from(i.k)
}

pub fn unpack(w: u64) -> sock_filter {
    sock_filter {
        code: (w >> 48) as u16,
        jt: (w >> 40) as u8,
        jf: (w >> 32) as u8,
        k: w as u32,
    }
}

/// Read, translate and compile the profile at `path`; with what was
/// skipped or approximated (oci.rs's notes).
pub fn load(path: &Path) -> Result<(Profile, Vec<String>)> {
    let shown = path.display().to_string();
    let bytes =
        untrusted::read_rootfs_file(path, MAX_PROFILE).map_err(|r| r.into_error(STEP, path))?;
    let fail = |why: String| Error::msg(STEP, why).with_path(shown.clone());
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| fail(format!("not a JSON seccomp profile: {e}")))?;
    let s = parse(v, kernel_version()).map_err(fail)?;
    let p = oci::compile(&s).map_err(|e| {
        let why = match e.reason {
            crate::error::Reason::Msg(m) => m,
            crate::error::Reason::Errno(n) => std::io::Error::from_raw_os_error(n).to_string(),
        };
        fail(why)
    })?;
    let profile = Profile {
        file: shown,
        program: p.filter.iter().map(pack).collect(),
        flags: p.flags,
    };
    Ok((profile, p.notes))
}

/// Install the profile's program with its flags (no listener).
pub fn install(p: &Profile) -> Result<()> {
    sys::seccomp_set_mode_filter(&p.filter(), p.flags)
        .map(drop)
        .ctx_step("install the seccomp profile")
}

/// The running kernel's (major, minor), for `minKernel`.
fn kernel_version() -> Option<(u32, u32)> {
    let r = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    parse_version(r.trim())
}

fn parse_version(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// A profile's JSON (OCI or Docker) as the OCI form oci.rs compiles.
fn parse(v: Value, kernel: Option<(u32, u32)>) -> std::result::Result<LinuxSeccomp, String> {
    let Value::Object(mut top) = v else {
        return Err("not a JSON object".into());
    };
    if !top.contains_key("defaultAction") {
        return Err("no defaultAction".into());
    }
    if let Some(map) = top.remove("archMap") {
        if !top.contains_key("architectures") {
            top.insert("architectures".into(), arch_map(&map)?);
        }
    }
    let entries = match top.remove("syscalls") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => return Err("syscalls: not a list".into()),
    };
    let mut s: LinuxSeccomp =
        serde_json::from_value(Value::Object(top)).map_err(|e| e.to_string())?;
    let mut syscalls = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        let Value::Object(mut e) = e else {
            return Err(format!("syscalls[{i}]: not an object"));
        };
        if !applies(&mut e, kernel).map_err(|why| format!("syscalls[{i}]: {why}"))? {
            continue;
        }
        if let Some(name) = e.remove("name") {
            e.entry("names").or_insert_with(|| Value::Array(vec![name]));
        }
        let sc: LinuxSyscall = serde_json::from_value(Value::Object(e))
            .map_err(|err| format!("syscalls[{i}]: {err}"))?;
        syscalls.push(sc);
    }
    s.syscalls = Some(syscalls);
    Ok(s)
}

/// Docker's `archMap`: x86_64's entry and its sub-architectures.
fn arch_map(map: &Value) -> std::result::Result<Value, String> {
    let Value::Array(entries) = map else {
        return Err("archMap: not a list".into());
    };
    for e in entries {
        if e.get("architecture").and_then(Value::as_str) == Some("SCMP_ARCH_X86_64") {
            let mut archs = vec![Value::from("SCMP_ARCH_X86_64")];
            if let Some(Value::Array(sub)) = e.get("subArchitectures") {
                archs.extend(sub.iter().cloned());
            }
            return Ok(Value::Array(archs));
        }
    }
    Ok(Value::Array(Vec::new()))
}

/// Whether a Docker entry counts here (its `includes` and `excludes`,
/// removed from it).
fn applies(
    e: &mut Map<String, Value>,
    kernel: Option<(u32, u32)>,
) -> std::result::Result<bool, String> {
    let list = |v: Option<&Value>, what: &str| -> std::result::Result<Vec<String>, String> {
        match v {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("{what}: not a list of strings"))
                })
                .collect(),
            Some(_) => Err(format!("{what}: not a list of strings")),
        }
    };
    let min_kernel =
        |v: Option<&Value>, what: &str| -> std::result::Result<Option<(u32, u32)>, String> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => parse_version(s)
                    .map(Some)
                    .ok_or_else(|| format!("{what}: {s:?} is not a kernel version")),
                Some(_) => Err(format!("{what}: not a string")),
            }
        };
    // The kernel at or above the version (an unknown kernel is below any).
    let at_least = |v: (u32, u32)| kernel.is_some_and(|k| k >= v);
    if let Some(x) = e.remove("excludes") {
        if !x.is_null() && !x.is_object() {
            return Err("excludes: not an object".into());
        }
        if list(x.get("arches"), "excludes.arches")?
            .iter()
            .any(|a| a == "amd64")
        {
            return Ok(false);
        }
        // No capability is ours to exclude by.
        list(x.get("caps"), "excludes.caps")?;
        if min_kernel(x.get("minKernel"), "excludes.minKernel")?.is_some_and(at_least) {
            return Ok(false);
        }
    }
    if let Some(i) = e.remove("includes") {
        if !i.is_null() && !i.is_object() {
            return Err("includes: not an object".into());
        }
        let arches = list(i.get("arches"), "includes.arches")?;
        if !arches.is_empty() && !arches.iter().any(|a| a == "amd64") {
            return Ok(false);
        }
        // The command has no capabilities at all.
        if !list(i.get("caps"), "includes.caps")?.is_empty() {
            return Ok(false);
        }
        if min_kernel(i.get("minKernel"), "includes.minKernel")?.is_some_and(|v| !at_least(v)) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::confine::seccomp::filter::Abi;
    use crate::confine::seccomp::interp::{data, run};
    use crate::confine::seccomp::AUDIT_ARCH_X86_64;
    use serde_json::json;

    fn compile(v: Value) -> Vec<sock_filter> {
        oci::compile(&parse(v, Some((6, 1))).unwrap())
            .unwrap()
            .filter
    }

    fn answer(prog: &[sock_filter], name: &str) -> u32 {
        run(
            prog,
            &data(Abi::X86_64.number(name).unwrap(), AUDIT_ARCH_X86_64, [0; 6]),
        )
    }

    #[test]
    fn docker_includes_and_excludes() {
        let p = compile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "archMap": [
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
                {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}
            ],
            "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "comment": "kept"},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["getppid"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
                {"names": ["s390_pci_mmio_read", "getuid"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
                {"names": ["getgid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
                {"names": ["getegid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "7.0"}},
                {"names": ["geteuid"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.0"}},
                {"name": "gettid", "action": "SCMP_ACT_ALLOW"}
            ]
        }));
        let eperm = libc::SECCOMP_RET_ERRNO | 1;
        for (call, want) in [
            ("getpid", libc::SECCOMP_RET_ALLOW),
            ("mount", eperm),
            ("getppid", libc::SECCOMP_RET_ALLOW),
            ("arch_prctl", libc::SECCOMP_RET_ALLOW),
            ("getuid", eperm),
            ("getgid", libc::SECCOMP_RET_ALLOW),
            ("getegid", eperm),
            ("geteuid", eperm),
            ("gettid", libc::SECCOMP_RET_ALLOW),
        ] {
            assert_eq!(answer(&p, call), want, "{call}");
        }
        // archMap's x86 entry brought in the i386 ABI.
        let i386_getpid = data(20, crate::confine::seccomp::AUDIT_ARCH_I386, [0; 6]);
        assert_eq!(run(&p, &i386_getpid), libc::SECCOMP_RET_ALLOW);
    }

    #[test]
    fn errors_say_where() {
        let e = parse(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["getpid"], "action": "SCMP_ACT_FOO"}
            ]}),
            None,
        )
        .unwrap_err();
        assert!(
            e.starts_with("syscalls[1]: unknown variant `SCMP_ACT_FOO`"),
            "{e}"
        );
        assert_eq!(parse(json!([1]), None).unwrap_err(), "not a JSON object");
        assert_eq!(
            parse(json!({"syscalls": []}), None).unwrap_err(),
            "no defaultAction"
        );
        let e = parse(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "new"}}
            ]}),
            None,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "syscalls[0]: includes.minKernel: \"new\" is not a kernel version"
        );
    }

    #[test]
    fn packing_round_trips() {
        let p = compile(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
        for i in &p {
            let back = unpack(pack(i));
            assert_eq!(
                (back.code, back.jt, back.jf, back.k),
                (i.code, i.jt, i.jf, i.k)
            );
        }
    }
}
