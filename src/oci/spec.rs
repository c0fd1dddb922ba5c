//! The parts of the OCI runtime spec's config.json (config.md,
//! config-linux.md) that sandbox-oci reads, as plain serde types.
//!
//! Only Deserialize: we read config.json and `exec --process`, never write
//! them. As the spec asks, a field we do not know is ignored, and an
//! optional field that is absent (or null) is None. The fields that are
//! REQUIRED in the spec and that we need (`process.user`, `process.cwd`,
//! `mounts[].destination`, a namespace's or a device's `type`, the seccomp
//! actions...) fail the parse when absent, as they did with the oci-spec
//! crate these types replace.
//!
//! What create refuses by name (process.scheduler, ioPriority,
//! execCPUAffinity; linux.personality, timeOffsets, intelRdt, netDevices,
//! memoryPolicy) is kept as a raw JSON value: only whether it is there
//! matters. The cgroup fields we do not enforce (blockIO, network, rdma)
//! are typed only as far as create.rs needs to tell an empty one from one
//! that asks for something.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The spec version we follow, reported as `ociVersion` in the state and
/// hooks' state and as `ociVersionMax` by `features`: 1.1.0, what the
/// oci-spec crate reported before these types replaced it. What 1.2.0 adds
/// (ioPriority, execCPUAffinity, netDevices, the features fields for
/// them) is refused or not listed, so claiming 1.2.0 would promise more
/// than we do.
pub const VERSION: &str = "1.1.0";

/// config.json.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec {
    #[serde(default)]
    pub oci_version: String,
    pub root: Option<Root>,
    pub mounts: Option<Vec<Mount>>,
    pub process: Option<Process>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub hooks: Option<Hooks>,
    pub annotations: Option<HashMap<String, String>>,
    pub linux: Option<Linux>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Root {
    #[serde(default)]
    pub path: PathBuf,
    pub readonly: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    pub destination: PathBuf,
    #[serde(rename = "type")]
    pub typ: Option<String>,
    pub source: Option<PathBuf>,
    pub options: Option<Vec<String>>,
    pub uid_mappings: Option<Vec<LinuxIdMapping>>,
    pub gid_mappings: Option<Vec<LinuxIdMapping>>,
}

/// `process`, and the JSON of `exec --process`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Process {
    pub terminal: Option<bool>,
    pub console_size: Option<ConsoleSize>,
    pub user: User,
    pub args: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub cwd: PathBuf,
    pub capabilities: Option<LinuxCapabilities>,
    pub rlimits: Option<Vec<PosixRlimit>>,
    pub no_new_privileges: Option<bool>,
    pub oom_score_adj: Option<i32>,
    /// Refused by create.
    pub scheduler: Option<Value>,
    /// Refused by create.
    pub io_priority: Option<Value>,
    /// Refused by create.
    #[serde(rename = "execCPUAffinity")]
    pub exec_cpu_affinity: Option<Value>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct ConsoleSize {
    #[serde(default)]
    pub height: u64,
    #[serde(default)]
    pub width: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(default)]
    pub uid: u32,
    #[serde(default)]
    pub gid: u32,
    pub umask: Option<u32>,
    pub additional_gids: Option<Vec<u32>>,
}

/// The five sets; a set's order and repeats do not matter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct LinuxCapabilities {
    pub bounding: Option<Vec<Capability>>,
    pub effective: Option<Vec<Capability>>,
    pub inheritable: Option<Vec<Capability>>,
    pub permitted: Option<Vec<Capability>>,
    pub ambient: Option<Vec<Capability>>,
}

/// A capability by its number in linux/capability.h. Read from its name
/// with or without the CAP_ prefix, in any case ("CAP_CHOWN", "chown");
/// a name missing from process.rs's table fails the parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability(pub u32);

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let upper = name.to_ascii_uppercase();
        let mut bare = upper.as_str();
        while let Some(rest) = bare.strip_prefix("CAP_") {
            bare = rest;
        }
        super::process::cap_by_name(bare)
            .map(Capability)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown capability {name:?}")))
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PosixRlimit {
    #[serde(rename = "type")]
    pub typ: PosixRlimitType,
    #[serde(default)]
    pub hard: u64,
    #[serde(default)]
    pub soft: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PosixRlimitType {
    RlimitCpu,
    RlimitFsize,
    RlimitData,
    RlimitStack,
    RlimitCore,
    RlimitRss,
    RlimitNproc,
    RlimitNofile,
    RlimitMemlock,
    RlimitAs,
    RlimitLocks,
    RlimitSigpending,
    RlimitMsgqueue,
    RlimitNice,
    RlimitRtprio,
    RlimitRttime,
}

/// config.md "POSIX-platform Hooks".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hooks {
    /// Deprecated in the spec; run with createRuntime.
    pub prestart: Option<Vec<Hook>>,
    pub create_runtime: Option<Vec<Hook>>,
    pub create_container: Option<Vec<Hook>>,
    pub start_container: Option<Vec<Hook>>,
    pub poststart: Option<Vec<Hook>>,
    pub poststop: Option<Vec<Hook>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Hook {
    pub path: PathBuf,
    pub args: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub timeout: Option<i64>,
}

/// config-linux.md.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linux {
    pub uid_mappings: Option<Vec<LinuxIdMapping>>,
    pub gid_mappings: Option<Vec<LinuxIdMapping>>,
    pub sysctl: Option<HashMap<String, String>>,
    pub resources: Option<LinuxResources>,
    pub cgroups_path: Option<PathBuf>,
    pub namespaces: Option<Vec<LinuxNamespace>>,
    pub devices: Option<Vec<LinuxDevice>>,
    pub seccomp: Option<LinuxSeccomp>,
    pub rootfs_propagation: Option<String>,
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    pub mount_label: Option<String>,
    /// Refused by create.
    pub intel_rdt: Option<Value>,
    /// Refused by create.
    pub personality: Option<Value>,
    /// Refused by create.
    pub time_offsets: Option<Value>,
    /// Refused by create.
    pub net_devices: Option<Value>,
    /// Refused by create.
    pub memory_policy: Option<Value>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct LinuxIdMapping {
    #[serde(default, rename = "containerID")]
    pub container_id: u32,
    #[serde(default, rename = "hostID")]
    pub host_id: u32,
    #[serde(default)]
    pub size: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LinuxNamespace {
    #[serde(rename = "type")]
    pub typ: LinuxNamespaceType,
    pub path: Option<PathBuf>,
}

/// A namespace type; its value is its clone(2) flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinuxNamespaceType {
    Mount = libc::CLONE_NEWNS as isize,
    Cgroup = libc::CLONE_NEWCGROUP as isize,
    Uts = libc::CLONE_NEWUTS as isize,
    Ipc = libc::CLONE_NEWIPC as isize,
    User = libc::CLONE_NEWUSER as isize,
    Pid = libc::CLONE_NEWPID as isize,
    Network = libc::CLONE_NEWNET as isize,
    Time = libc::CLONE_NEWTIME as isize,
}

/// As /proc/PID/ns names them.
impl fmt::Display for LinuxNamespaceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mount => "mnt",
            Self::Cgroup => "cgroup",
            Self::Uts => "uts",
            Self::Ipc => "ipc",
            Self::User => "user",
            Self::Pid => "pid",
            Self::Network => "net",
            Self::Time => "time",
        })
    }
}

/// `linux.devices[]`: a node made in the container's /dev.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxDevice {
    #[serde(default)]
    pub path: PathBuf,
    #[serde(rename = "type")]
    pub typ: LinuxDeviceType,
    #[serde(default)]
    pub major: i64,
    #[serde(default)]
    pub minor: i64,
    pub file_mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// a (all, cgroup rules only), b, c, u (unbuffered c), p (FIFO).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinuxDeviceType {
    #[default]
    A,
    B,
    C,
    U,
    P,
}

/// `linux.resources`: what confine/cgroup/oci.rs enforces, and what it refuses.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxResources {
    pub devices: Option<Vec<LinuxDeviceCgroup>>,
    pub memory: Option<LinuxMemory>,
    pub cpu: Option<LinuxCpu>,
    pub pids: Option<LinuxPids>,
    #[serde(rename = "blockIO")]
    pub block_io: Option<LinuxBlockIo>,
    pub hugepage_limits: Option<Vec<LinuxHugepageLimit>>,
    pub network: Option<LinuxNetwork>,
    pub rdma: Option<HashMap<String, Value>>,
    pub unified: Option<HashMap<String, String>>,
}

/// A device cgroup rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct LinuxDeviceCgroup {
    #[serde(default)]
    pub allow: bool,
    #[serde(rename = "type")]
    pub typ: Option<LinuxDeviceType>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxMemory {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    pub swap: Option<i64>,
    /// Ignored, as runc ignores it.
    pub kernel: Option<i64>,
    /// Ignored, as runc ignores it.
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: Option<i64>,
    pub swappiness: Option<u64>,
    #[serde(rename = "disableOOMKiller")]
    pub disable_oom_killer: Option<bool>,
    pub use_hierarchy: Option<bool>,
    pub check_before_update: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxCpu {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub burst: Option<u64>,
    pub period: Option<u64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    pub idle: Option<i64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct LinuxPids {
    #[serde(default)]
    pub limit: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxHugepageLimit {
    #[serde(default)]
    pub page_size: String,
    #[serde(default)]
    pub limit: i64,
}

/// Not enforced: only told apart from an empty one (the device lists'
/// entries are not looked into).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxBlockIo {
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
    pub weight_device: Option<Vec<Value>>,
    pub throttle_read_bps_device: Option<Vec<Value>>,
    pub throttle_write_bps_device: Option<Vec<Value>>,
    #[serde(rename = "throttleReadIOPSDevice")]
    pub throttle_read_iops_device: Option<Vec<Value>>,
    #[serde(rename = "throttleWriteIOPSDevice")]
    pub throttle_write_iops_device: Option<Vec<Value>>,
}

/// Not enforced: only told apart from an empty one.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct LinuxNetwork {
    #[serde(rename = "classID")]
    pub class_id: Option<u32>,
    pub priorities: Option<Vec<Value>>,
}

/// `linux.seccomp`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxSeccomp {
    pub default_action: LinuxSeccompAction,
    pub default_errno_ret: Option<u32>,
    pub architectures: Option<Vec<Arch>>,
    pub flags: Option<Vec<LinuxSeccompFilterFlag>>,
    pub listener_path: Option<PathBuf>,
    pub listener_metadata: Option<String>,
    pub syscalls: Option<Vec<LinuxSyscall>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinuxSeccompAction {
    ScmpActKill,
    ScmpActKillThread,
    ScmpActKillProcess,
    ScmpActTrap,
    ScmpActErrno,
    ScmpActNotify,
    ScmpActTrace,
    ScmpActLog,
    ScmpActAllow,
}

/// The architectures config-linux.md lists (libseccomp's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Arch {
    #[serde(rename = "SCMP_ARCH_X86")]
    X86,
    #[serde(rename = "SCMP_ARCH_X86_64")]
    X86_64,
    #[serde(rename = "SCMP_ARCH_X32")]
    X32,
    #[serde(rename = "SCMP_ARCH_ARM")]
    Arm,
    #[serde(rename = "SCMP_ARCH_AARCH64")]
    Aarch64,
    #[serde(rename = "SCMP_ARCH_MIPS")]
    Mips,
    #[serde(rename = "SCMP_ARCH_MIPS64")]
    Mips64,
    #[serde(rename = "SCMP_ARCH_MIPS64N32")]
    Mips64n32,
    #[serde(rename = "SCMP_ARCH_MIPSEL")]
    Mipsel,
    #[serde(rename = "SCMP_ARCH_MIPSEL64")]
    Mipsel64,
    #[serde(rename = "SCMP_ARCH_MIPSEL64N32")]
    Mipsel64n32,
    #[serde(rename = "SCMP_ARCH_PPC")]
    Ppc,
    #[serde(rename = "SCMP_ARCH_PPC64")]
    Ppc64,
    #[serde(rename = "SCMP_ARCH_PPC64LE")]
    Ppc64le,
    #[serde(rename = "SCMP_ARCH_S390")]
    S390,
    #[serde(rename = "SCMP_ARCH_S390X")]
    S390x,
    #[serde(rename = "SCMP_ARCH_PARISC")]
    Parisc,
    #[serde(rename = "SCMP_ARCH_PARISC64")]
    Parisc64,
    #[serde(rename = "SCMP_ARCH_RISCV64")]
    Riscv64,
    #[serde(rename = "SCMP_ARCH_LOONGARCH64")]
    Loongarch64,
    #[serde(rename = "SCMP_ARCH_M68K")]
    M68k,
    #[serde(rename = "SCMP_ARCH_SH")]
    Sh,
    #[serde(rename = "SCMP_ARCH_SHEB")]
    Sheb,
    #[serde(rename = "SCMP_ARCH_NATIVE")]
    Native,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinuxSeccompFilterFlag {
    SeccompFilterFlagTsync,
    SeccompFilterFlagLog,
    SeccompFilterFlagSpecAllow,
    SeccompFilterFlagWaitKillableRecv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinuxSeccompOperator {
    ScmpCmpNe,
    ScmpCmpLt,
    ScmpCmpLe,
    ScmpCmpEq,
    ScmpCmpGe,
    ScmpCmpGt,
    ScmpCmpMaskedEq,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxSyscall {
    pub names: Vec<String>,
    pub action: LinuxSeccompAction,
    pub errno_ret: Option<u32>,
    pub args: Option<Vec<LinuxSeccompArg>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxSeccompArg {
    pub index: usize,
    pub value: u64,
    pub value_two: Option<u64>,
    pub op: LinuxSeccompOperator,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_spellings() {
        let s: LinuxSeccomp = serde_json::from_value(json!({
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "defaultErrnoRet": 1,
            "architectures": [
                "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
                "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
                "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
                "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
                "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
                "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB"
            ],
            "flags": [
                "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
            ],
            "syscalls": [{
                "names": ["read"],
                "action": "SCMP_ACT_ERRNO",
                "errnoRet": 5,
                "args": [
                    { "index": 0, "value": 1, "op": "SCMP_CMP_NE" },
                    { "index": 1, "value": 1, "op": "SCMP_CMP_LT" },
                    { "index": 2, "value": 1, "op": "SCMP_CMP_LE" },
                    { "index": 3, "value": 1, "op": "SCMP_CMP_EQ" },
                    { "index": 4, "value": 1, "op": "SCMP_CMP_GE" },
                    { "index": 5, "value": 1, "op": "SCMP_CMP_GT" },
                    { "index": 0, "value": 3, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ" }
                ]
            }]
        }))
        .unwrap();
        assert_eq!(s.architectures.unwrap().len(), 23);
        assert_eq!(s.flags.unwrap().len(), 4);
        assert_eq!(
            s.syscalls.unwrap()[0].args.as_ref().unwrap()[6].value_two,
            Some(2)
        );
        for a in [
            "SCMP_ACT_KILL",
            "SCMP_ACT_KILL_THREAD",
            "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_TRAP",
            "SCMP_ACT_ERRNO",
            "SCMP_ACT_NOTIFY",
            "SCMP_ACT_TRACE",
            "SCMP_ACT_LOG",
            "SCMP_ACT_ALLOW",
        ] {
            serde_json::from_value::<LinuxSeccompAction>(json!(a)).unwrap();
        }
        for t in ["a", "b", "c", "u", "p"] {
            serde_json::from_value::<LinuxDeviceType>(json!(t)).unwrap();
        }
        assert!(serde_json::from_value::<LinuxDeviceType>(json!("x")).is_err());
    }

    #[test]
    fn config_names() {
        let s: Spec = serde_json::from_value(json!({
            "ociVersion": "1.0.2",
            "root": { "path": "rootfs", "readonly": true },
            "process": {
                "user": { "uid": 1, "gid": 2, "umask": 18, "additionalGids": [3] },
                "cwd": "/",
                "consoleSize": { "height": 24, "width": 80 },
                "noNewPrivileges": true,
                "oomScoreAdj": 5,
                "rlimits": [{ "type": "RLIMIT_NOFILE", "hard": 10, "soft": 9 }],
                "capabilities": { "bounding": ["CAP_CHOWN", "kill", "Cap_Sys_Admin"] },
                "execCPUAffinity": { "initial": "0" },
                "someFutureField": 1
            },
            "mounts": [{ "destination": "/x", "type": "bind", "source": "/y",
                         "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }] }],
            "hooks": { "createRuntime": [{ "path": "/bin/true", "timeout": 3 }] },
            "linux": {
                "uidMappings": [{ "containerID": 0, "hostID": 1000, "size": 1 }],
                "namespaces": [{ "type": "network", "path": "/proc/1/ns/net" }, { "type": "mount" }],
                "devices": [{ "path": "/dev/null", "type": "c", "major": 1, "minor": 3, "fileMode": 438 }],
                "cgroupsPath": "/a",
                "rootfsPropagation": "rslave",
                "maskedPaths": ["/proc/kcore"],
                "readonlyPaths": ["/proc/sys"],
                "timeOffsets": null,
                "resources": {
                    "memory": { "limit": 1, "disableOOMKiller": true, "kernelTCP": 2 },
                    "cpu": { "realtimeRuntime": 1, "realtimePeriod": 2 },
                    "hugepageLimits": [{ "pageSize": "2MB", "limit": 1 }],
                    "blockIO": { "throttleReadIOPSDevice": [] },
                    "network": { "classID": 1 }
                }
            }
        }))
        .unwrap();
        assert_eq!(s.oci_version, "1.0.2");
        let p = s.process.unwrap();
        assert_eq!((p.user.uid, p.user.gid, p.user.umask), (1, 2, Some(18)));
        assert_eq!(p.console_size.unwrap().width, 80);
        assert_eq!(p.oom_score_adj, Some(5));
        assert_eq!(p.rlimits.unwrap()[0].typ, PosixRlimitType::RlimitNofile);
        let b = p.capabilities.unwrap().bounding.unwrap();
        assert_eq!(b, [Capability(0), Capability(5), Capability(21)]);
        assert!(p.exec_cpu_affinity.is_some());
        let m = &s.mounts.unwrap()[0];
        assert_eq!(m.uid_mappings.as_ref().unwrap()[0].host_id, 1000);
        assert_eq!(s.hooks.unwrap().create_runtime.unwrap()[0].timeout, Some(3));
        let l = s.linux.unwrap();
        assert_eq!(l.uid_mappings.unwrap()[0].host_id, 1000);
        let ns = l.namespaces.unwrap();
        assert_eq!(ns[0].typ, LinuxNamespaceType::Network);
        assert_eq!(ns[0].typ.to_string(), "net");
        assert_eq!(ns[1].typ as i32, libc::CLONE_NEWNS);
        assert_eq!(l.devices.unwrap()[0].file_mode, Some(0o666));
        assert!(l.time_offsets.is_none());
        let r = l.resources.unwrap();
        assert_eq!(r.memory.unwrap().disable_oom_killer, Some(true));
        assert_eq!(r.cpu.unwrap().realtime_runtime, Some(1));
        assert_eq!(r.hugepage_limits.unwrap()[0].page_size, "2MB");
        assert_ne!(r.block_io.unwrap(), LinuxBlockIo::default());
        assert_eq!(r.network.unwrap().class_id, Some(1));
    }

    #[test]
    fn required_fields_and_unknown_names() {
        // process.user and process.cwd are REQUIRED.
        assert!(serde_json::from_value::<Process>(json!({ "cwd": "/" })).is_err());
        assert!(serde_json::from_value::<Process>(json!({ "user": {} })).is_err());
        assert!(serde_json::from_value::<Capability>(json!("CAP_FROB")).is_err());
        assert!(serde_json::from_value::<LinuxNamespace>(json!({ "type": "mnt" })).is_err());
        let s: Spec = serde_json::from_value(json!({})).unwrap();
        assert!(s.process.is_none() && s.linux.is_none() && s.oci_version.is_empty());
    }
}
