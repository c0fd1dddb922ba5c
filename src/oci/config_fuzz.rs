//! Fuzz target: sandbox-oci's config.json (spec.rs) and `exec --process`
//! JSON, and what create checks of it before anything is made (the seccomp
//! profile's compilation, the annotations).
//!
//! Inputs: a realistic config (podman's shape) with bytes flipped, cut or
//! spliced; configs whose fields hold arbitrary JSON of any type; bytes
//! at random; nesting far deeper than any config. Properties:
//! - parsing gives a Spec or an error, never a panic or a stack overflow;
//! - a field we do not know is ignored: unknown keys added to every object
//!   of a config parse to the same thing;
//! - a seccomp profile that parses compiles to a filter the kernel takes
//!   (at most 4096 instructions) or is refused with an error, on one line.

use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::{json, Value};

use super::spec::{Process, Spec};
use crate::fuzz::check;

/// A config.json as podman writes it, trimmed.
fn realistic() -> Value {
    json!({
        "ociVersion": "1.1.0",
        "process": {
            "terminal": false,
            "user": { "uid": 0, "gid": 0, "additionalGids": [1, 2] },
            "args": ["/bin/sh", "-c", "echo hi"],
            "env": ["PATH=/usr/bin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": ["CAP_CHOWN", "CAP_KILL"],
                "effective": ["CAP_CHOWN"],
                "permitted": ["CAP_CHOWN", "kill"]
            },
            "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }],
            "noNewPrivileges": true,
            "oomScoreAdj": 100
        },
        "root": { "path": "rootfs", "readonly": true },
        "hostname": "c",
        "mounts": [
            { "destination": "/proc", "type": "proc", "source": "proc" },
            { "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] },
            { "destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind", "ro"] }
        ],
        "hooks": { "poststop": [{ "path": "/bin/true", "args": ["true"], "timeout": 5 }] },
        "annotations": { "org.sandbox.landlock": "auto" },
        "linux": {
            "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }],
            "gidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }],
            "sysctl": { "net.ipv4.ip_forward": "1" },
            "resources": {
                "devices": [{ "allow": false, "access": "rwm" }, { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw" }],
                "memory": { "limit": 104857600, "swap": 209715200 },
                "cpu": { "shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1" },
                "pids": { "limit": 100 },
                "unified": { "memory.high": "50000000" }
            },
            "cgroupsPath": "/sandbox/c1",
            "namespaces": [{ "type": "pid" }, { "type": "network" }, { "type": "ipc" }, { "type": "uts" }, { "type": "mount" }, { "type": "user" }],
            "devices": [{ "path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438 }],
            "seccomp": {
                "defaultAction": "SCMP_ACT_ERRNO",
                "defaultErrnoRet": 1,
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                "syscalls": [
                    { "names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW" },
                    { "names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{ "index": 0, "value": 8, "op": "SCMP_CMP_EQ" }] },
                    { "names": ["nosuchcall"], "action": "SCMP_ACT_KILL" }
                ]
            },
            "rootfsPropagation": "private",
            "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"]
        }
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,8}".prop_map(Value::from),
        prop::sample::select(vec![
            "SCMP_ACT_ALLOW",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_KILL",
            "SCMP_ACT_NOTIFY",
            "SCMP_ARCH_X86",
            "SCMP_CMP_MASKED_EQ",
            "SCMP_CMP_NE",
            "read",
            "getpid",
            "CAP_SYS_ADMIN",
            "RLIMIT_NOFILE",
            "user",
            "time",
            "c",
            "p",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "defaultAction",
                    "defaultErrnoRet",
                    "architectures",
                    "flags",
                    "syscalls",
                    "names",
                    "action",
                    "errnoRet",
                    "args",
                    "index",
                    "value",
                    "valueTwo",
                    "op",
                    "type",
                    "path",
                    "uid",
                    "gid",
                    "x",
                ])
                .prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every object path of `v` (as keys), to replace one with arbitrary JSON.
fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                at.push(k.clone());
                paths(c, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                at.push(i.to_string());
                paths(c, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// The value at `path`, if an earlier replacement left it there.
fn at_path<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(v, |v, k| match v {
        Value::Array(a) => a.get_mut(k.parse::<usize>().ok()?),
        Value::Object(m) => m.get_mut(k),
        _ => None,
    })
}

/// Add an unknown key to every object that is a struct of the spec (not
/// to the maps: annotations, sysctl, unified, rdma).
fn with_unknown_keys(v: &mut Value, extra: &Value) {
    match v {
        Value::Object(m) => {
            for (k, c) in m.iter_mut() {
                if !["annotations", "sysctl", "unified", "rdma"].contains(&k.as_str()) {
                    with_unknown_keys(c, extra);
                }
            }
            m.insert("x-fuzz-unknown".into(), extra.clone());
        }
        Value::Array(a) => a.iter_mut().for_each(|c| with_unknown_keys(c, extra)),
        _ => {}
    }
}

/// What create checks before it makes anything, on a parsed config.
fn checked(spec: &Spec) -> TestCaseResult {
    if let Some(s) = spec.linux.as_ref().and_then(|l| l.seccomp.as_ref()) {
        match super::seccomp::compile(s) {
            Ok(p) => prop_assert!(
                !p.filter.is_empty() && p.filter.len() <= 4096,
                "{} instructions",
                p.filter.len()
            ),
            Err(e) => prop_assert!(!e.to_string().chars().any(char::is_control), "{e}"),
        }
    }
    if let Some(m) = spec
        .annotations
        .as_ref()
        .and_then(|a| a.get(super::ANNOTATION_LANDLOCK))
    {
        if let Err(e) = super::landlock::check_mode(m) {
            prop_assert!(!e.to_string().chars().any(char::is_control), "{e}");
        }
    }
    Ok(())
}

/// A parsed config as text to compare, its maps (HashMaps: their Debug
/// order differs from one map to the next) sorted.
fn shown(mut s: Spec) -> String {
    use std::collections::BTreeMap;
    let sorted = |m: Option<std::collections::HashMap<String, String>>| {
        format!("{:?}", m.map(|m| m.into_iter().collect::<BTreeMap<_, _>>()))
    };
    let annotations = sorted(s.annotations.take());
    let (mut sysctl, mut unified, mut rdma) = (String::new(), String::new(), String::new());
    if let Some(l) = s.linux.as_mut() {
        sysctl = sorted(l.sysctl.take());
        if let Some(r) = l.resources.as_mut() {
            unified = sorted(r.unified.take());
            rdma = format!(
                "{:?}",
                r.rdma
                    .take()
                    .map(|m| m.into_iter().collect::<BTreeMap<_, _>>())
            );
        }
    }
    format!("{s:?} {annotations} {sysctl} {unified} {rdma}")
}

/// Fields replaced with arbitrary JSON: the parse and the checks end in
/// a config or an error; unknown keys change nothing.
#[test]
fn fields_hold_anything() {
    let mut all = Vec::new();
    paths(&realistic(), &mut Vec::new(), &mut all);
    let input = (
        prop::collection::vec((prop::sample::select(all), json_value()), 0..4),
        json_value(),
    );
    check(file!(), 256, input, |(replace, extra)| {
        let mut v = realistic();
        for (path, with) in replace {
            if let Some(slot) = at_path(&mut v, &path) {
                *slot = with;
            }
        }
        let parsed = serde_json::from_value::<Spec>(v.clone());
        if let Ok(spec) = &parsed {
            checked(spec)?;
        }
        let mut unknown = v.clone();
        with_unknown_keys(&mut unknown, &extra);
        let again = serde_json::from_value::<Spec>(unknown);
        prop_assert_eq!(
            parsed.ok().map(shown),
            again.ok().map(shown),
            "unknown keys changed the parse"
        );
        if let Some(p) = v.get("process") {
            let _ = serde_json::from_value::<Process>(p.clone());
        }
        Ok(())
    });
}

/// The text of a config with bytes flipped, cut or spliced, and bytes at
/// random: an error or a config, never a panic.
#[test]
fn mutated_text() {
    let text = serde_json::to_vec_pretty(&realistic()).unwrap();
    let n = text.len();
    let input = prop_oneof![
        prop::collection::vec((0..n, any::<u8>()), 1..6).prop_map(|flips| (flips, None, None)),
        (0..n).prop_map(|cut| (vec![], Some(cut), None)),
        (0..n, 0..n).prop_map(|(a, b)| (vec![], None, Some((a.min(b), a.max(b))))),
    ];
    check(file!(), 256, input, |(flips, cut, dup)| {
        let mut t = text.clone();
        for (i, x) in flips {
            t[i] = x;
        }
        if let Some(c) = cut {
            t.truncate(c);
        }
        if let Some((a, b)) = dup {
            let piece = t[a..b].to_vec();
            t.splice(b..b, piece);
        }
        if let Ok(spec) = serde_json::from_slice::<Spec>(&t) {
            checked(&spec)?;
        }
        let _ = serde_json::from_slice::<Process>(&t);
        Ok(())
    });
    check(
        file!(),
        256,
        prop::collection::vec(any::<u8>(), 0..300),
        |b| {
            let _ = serde_json::from_slice::<Spec>(&b);
            let _ = serde_json::from_slice::<Process>(&b);
            Ok(())
        },
    );
}

/// Nesting far deeper than a config: refused by the parser's depth limit,
/// not a stack overflow.
#[test]
fn deep_nesting_is_an_error() {
    for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
        let deep = format!(
            "{{\"process\":{}1{}}}",
            open.repeat(100_000),
            close.repeat(100_000)
        );
        assert!(serde_json::from_str::<Spec>(&deep).is_err());
        assert!(serde_json::from_str::<Process>(&deep).is_err());
    }
}
