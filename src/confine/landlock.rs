//! The Landlock ruleset, for both front ends: one builder ([`enforce`])
//! with the ABI it targets, the path rules, the TCP port rules, the scopes
//! and the modes; `sandbox run`/`exec` give it their rules here
//! ([`apply`]), sandbox-oci's `org.sandbox.landlock` annotation its own
//! (oci/landlock.rs).
//!
//! For `sandbox run`, applied in the child stage after pivot_root (so
//! the paths below are the sandbox's own) and before seccomp. Without
//! path rules: read and execute anywhere under `/`; write only where a
//! writable mount is (the root unless it is read-only, /tmp, /dev/shm,
//! `--bind` and `--tmpfs` targets, /run when the root is the host's)
//! and to the device nodes in /dev. With `--allow-read`, `--allow-write`
//! or `--allow-exec` (issue 25, part 3): only those paths, and what the
//! sandbox itself needs ([`sandbox_needs`]). On ABI 6 and later also the
//! abstract-unix-socket and signal scopes, so a command run with
//! `--share-net` cannot reach the host's abstract sockets; with
//! `Plan::connect_ports`, on ABI 4 and later, TCP connects only to those
//! ports.
//!
//! Mounts already stop most writes; Landlock is the second wall, and the
//! only one for what mounts cannot say (a writable root that must still not
//! reach a socket of the host's, a device ioctl on a node we did not list,
//! a path rule on the host's own root).
//! Ref: Documentation/userspace-api/landlock.rst

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, LandlockStatus, NetPort,
    PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

use crate::confine::rootfs;
use crate::error::{Context, Error, Result};
use crate::plan::Plan;
use crate::plan::{LandlockMode, PathAccess, RootMode, RootOp};
use crate::sys;

/// The newest ABI whose rights we use and have tested. The crate drops what
/// an older kernel lacks (best effort); require insists that some ruleset
/// is enforced, and that the kernel has what the path and port rules
/// need ([`missing`]).
const ABI_TARGET: ABI = ABI::V6;

/// The ABI the path rules need: ABI 3 handles truncation, without which
/// truncate(2) and O_TRUNC reach a file that is only under `--allow-read`.
/// (ABI 1 lacks Refer, but then renames and links across directories are
/// always refused, which is narrower, not wider.)
const ABI_PATHS: i32 = 3;
/// The ABI of the TCP port rules.
const ABI_NET: i32 = 4;

/// The device nodes in /dev a sandbox may read, write, truncate and ioctl
/// (ttys need ioctls): those bound from the host (rootfs::DEVICES), the
/// console, the pty devices. /dev/ptmx is a node in an OCI container's
/// /dev and a link to pts/ptmx in ours.
fn device_nodes() -> Vec<PathBuf> {
    device_nodes_in(Path::new("/dev"))
}

/// [`device_nodes`] of a /dev made at `dev` (the bwrap front end's `--dev
/// DEST`).
fn device_nodes_in(dev: &Path) -> Vec<PathBuf> {
    rootfs::DEVICES
        .iter()
        .chain(&["console", "pts", "ptmx"])
        .map(|d| dev.join(d))
        .collect()
}

/// What a procfs of the sandbox's own allows: read, list, write (a
/// shell's `>` truncates too); no execute (/proc/self/exe resolves to the
/// file it names, which the other rules govern).
fn proc_access() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir | AccessFs::WriteFile | AccessFs::Truncate
}

/// What was enforced, for `--verbose` and the require check, and what the
/// caller should say in any case (a path rule left out, a rule this
/// kernel cannot enforce under `auto`).
pub struct Outcome {
    pub summary: String,
    pub notices: Vec<String>,
}

/// One path rule of a ruleset: what is allowed beneath `path`.
pub struct Grant {
    pub path: PathBuf,
    pub access: BitFlags<AccessFs>,
    /// The option that asked for it (`--allow-read`…): a missing path is
    /// then named in a notice. `None`: ours (a device node, /proc), left
    /// out in silence when it is not there (/dev/console exists only with
    /// a terminal).
    pub given: Option<PathAccess>,
}

/// What a ruleset grants: the path rules (anything not beneath one of
/// them is refused), and, when `connect_ports` is `Some`, the only TCP
/// ports that connect(2) may reach (any address; ABI 4).
pub struct Rules {
    pub grants: Vec<Grant>,
    pub connect_ports: Option<Vec<u16>>,
    /// The grants come from `--allow-*` (they need [`ABI_PATHS`]), rather
    /// than being the default "read anywhere, write where mounted
    /// writable".
    pub path_rules: bool,
}

/// Read, list and execute.
fn read_exec() -> BitFlags<AccessFs> {
    AccessFs::from_read(ABI_TARGET)
}

/// A device node's rights: read, write, truncate, ioctl.
fn device() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev
}

impl PathAccess {
    /// What the rule allows beneath its path: `Read` reads files and lists
    /// directories; `Exec` that and executes; `Write` every right but
    /// execute (create, write, truncate, remove, rename, make sockets and
    /// pipes, device ioctls), so a writable place is never one to run
    /// what was written there unless `--allow-exec` says so too.
    pub fn access(self) -> BitFlags<AccessFs> {
        match self {
            PathAccess::Read => AccessFs::ReadFile | AccessFs::ReadDir,
            PathAccess::Exec => read_exec(),
            PathAccess::Write => {
                let mut all = AccessFs::from_all(ABI_TARGET);
                all.remove(AccessFs::Execute);
                all
            }
        }
    }
}

/// What a sandbox itself needs when path rules are given, besides them
/// (README, "Path rules"): its own /proc read and written (no execute:
/// /proc/self/exe resolves to the file it names, which the rules
/// govern); /dev listed, its device nodes read, written and ioctl'd
/// (terminals); /tmp and /dev/shm, the sandbox's own tmpfs mounts,
/// read and written but not executed.
fn sandbox_needs() -> Vec<Grant> {
    let ours = |path: &str, access| Grant {
        path: path.into(),
        access,
        given: None,
    };
    let mut v = vec![
        ours("/proc", proc_access()),
        ours("/dev", AccessFs::ReadDir.into()),
        ours("/tmp", PathAccess::Write.access()),
        ours("/dev/shm", PathAccess::Write.access()),
    ];
    v.extend(device_nodes().into_iter().map(|d| Grant {
        path: d,
        access: device(),
        given: None,
    }));
    v
}

/// The grants of `--allow-read`, `--allow-write`, `--allow-exec`, each
/// naming its option (a missing path is then a notice).
fn given_grants(given: &[(PathAccess, PathBuf)]) -> Vec<Grant> {
    given
        .iter()
        .map(|(a, p)| Grant {
            path: p.clone(),
            access: a.access(),
            given: Some(*a),
        })
        .collect()
}

impl Rules {
    /// Read and execute anywhere under `/`, write beneath `write`, and the
    /// device nodes of /dev.
    pub fn new(write: Vec<PathBuf>) -> Rules {
        let mut grants = vec![Grant {
            path: "/".into(),
            access: read_exec(),
            given: None,
        }];
        grants.extend(write.into_iter().map(|path| Grant {
            path,
            access: AccessFs::from_all(ABI_TARGET),
            given: None,
        }));
        grants.extend(device_nodes().into_iter().map(|path| Grant {
            path,
            access: device(),
            given: None,
        }));
        Rules {
            grants,
            connect_ports: None,
            path_rules: false,
        }
    }

    /// The host mode's (launch/hostmode.rs): read and execute beneath
    /// `read`, everything beneath `write`, the `devices` as device nodes;
    /// with path rules (`given`), those instead of `read` and beside
    /// `write`, and /proc (the host's: read only) and /dev listed, but
    /// not /tmp and /dev/shm, which are the host's here.
    pub fn host_mode(
        read: Vec<PathBuf>,
        write: Vec<PathBuf>,
        devices: Vec<PathBuf>,
        given: &[(PathAccess, PathBuf)],
    ) -> Rules {
        let ours = |path, access| Grant {
            path,
            access,
            given: None,
        };
        let mut grants: Vec<Grant> = if given.is_empty() {
            read.into_iter().map(|p| ours(p, read_exec())).collect()
        } else {
            let mut v = given_grants(given);
            v.push(ours("/proc".into(), AccessFs::ReadFile | AccessFs::ReadDir));
            v.push(ours("/dev".into(), AccessFs::ReadDir.into()));
            v
        };
        grants.extend(
            write
                .into_iter()
                .map(|p| ours(p, AccessFs::from_all(ABI_TARGET))),
        );
        grants.extend(devices.into_iter().map(|p| ours(p, device())));
        Rules {
            grants,
            connect_ports: None,
            path_rules: !given.is_empty(),
        }
    }

    /// A root built from operations (the bwrap front end's
    /// `--sandbox-defaults landlock`, docs/BWRAP.md): [`Rules::new`] with
    /// what the layout made writable: the targets of `--bind`,
    /// `--dev-bind`, `--bind-fd` (not the read-only ones), `--tmpfs`,
    /// `--dir`, `--mqueue`, `--file`, `--bind-data`, `--overlay`,
    /// `--tmp-overlay`, and the shm of each
    /// `--dev`; each `--proc` read and written as [`sandbox_needs`] has
    /// /proc; the device nodes of each `--dev`. The root's own tmpfs, the
    /// directories made on the way to a target, symlinks and everything
    /// read-only: read and execute only, though the kernel would let the
    /// command write the tmpfs.
    pub fn built(ops: &[RootOp]) -> Rules {
        let mut write = Vec::new();
        let mut extra = Vec::new();
        let ours = |path: PathBuf, access| Grant {
            path,
            access,
            given: None,
        };
        for op in ops {
            match op {
                RootOp::Bind { dst, read_only, .. } | RootOp::BindData { dst, read_only, .. } => {
                    if !read_only {
                        write.push(dst.clone());
                    }
                }
                RootOp::Tmpfs { dst, .. } | RootOp::Mqueue { dst } | RootOp::File { dst, .. } => {
                    write.push(dst.clone())
                }
                // `--dir /` makes nothing (confine/rootfs.rs): not a grant
                // of the whole root.
                RootOp::Dir { dst, .. } => {
                    if dst != Path::new("/") {
                        write.push(dst.clone())
                    }
                }
                RootOp::Proc { dst } => extra.push(ours(dst.clone(), proc_access())),
                RootOp::Dev { dst } => {
                    write.push(dst.join("shm"));
                    if dst != Path::new("/dev") {
                        extra.extend(device_nodes_in(dst).into_iter().map(|d| ours(d, device())));
                    }
                }
                // `--overlay` and `--tmp-overlay` take writes (into their
                // upper layer); `--ro-overlay` is read-only.
                RootOp::Overlay { dst, upper, .. } => {
                    if !matches!(upper, crate::plan::OverlayUpper::ReadOnly) {
                        write.push(dst.clone())
                    }
                }
                RootOp::Symlink { .. } | RootOp::Chmod { .. } | RootOp::RemountRo { .. } => {}
            }
        }
        let mut rules = Rules::new(write);
        rules.grants.extend(extra);
        rules
    }

    /// Only the paths given (`--allow-read`, `--allow-write`,
    /// `--allow-exec`), and what the sandbox needs ([`sandbox_needs`]).
    pub fn paths(given: &[(PathAccess, PathBuf)]) -> Rules {
        let mut grants = given_grants(given);
        grants.extend(sandbox_needs());
        Rules {
            grants,
            connect_ports: None,
            path_rules: true,
        }
    }
}

/// What `rules` ask that a kernel with Landlock ABI `abi` (0: none)
/// cannot enforce, one phrase each; empty when it can enforce it all
/// (the scopes and device ioctls, which only narrow the default further,
/// are not counted: `--verbose` says "partly enforced" for them).
pub fn missing(rules: &Rules, abi: i32) -> Vec<String> {
    let mut out = Vec::new();
    if rules.path_rules {
        if abi < 1 {
            out.push("the path rules (--allow-read, --allow-write, --allow-exec)".to_string());
        } else if abi < ABI_PATHS {
            out.push(format!(
                "the path rules' limit on truncating files outside --allow-write \
                 (needs ABI {ABI_PATHS})"
            ));
        }
    }
    if let Some(ports) = &rules.connect_ports {
        if abi < ABI_NET {
            let only = match ports.len() {
                0 => "no TCP connect at all".to_string(),
                1 => format!("TCP connects only to port {}", ports[0]),
                _ => format!("TCP connects only to ports {}", show_ports(ports)),
            };
            out.push(format!(
                "the TCP connect rule ({only}; needs ABI {ABI_NET})"
            ));
        }
    }
    out
}

fn show_ports(ports: &[u16]) -> String {
    if ports.is_empty() {
        return "none".into();
    }
    let v: Vec<String> = ports.iter().map(u16::to_string).collect();
    v.join(",")
}

/// Open `g.path` for a rule (O_PATH; a symlink is followed, inside the
/// sandbox's root since we are past pivot_root). `Ok(None)`: not there.
fn open_grant(g: &Grant) -> Result<Option<(OwnedFd, BitFlags<AccessFs>)>> {
    let fd = match sys::open_path(&g.path, 0) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            return Ok(None)
        }
        Err(e) => {
            let step = match g.given {
                Some(a) => format!("landlock: {}", a.option()),
                None => "landlock: open a rule's path".to_string(),
            };
            return Err(e).ctx(&step, g.path.display());
        }
    };
    // A file takes only a file's rights (the kernel refuses a directory's
    // on it with EINVAL).
    let access = if sys::is_dir_fd(fd.as_raw_fd()) {
        g.access
    } else {
        g.access & AccessFs::from_file(ABI_TARGET)
    };
    Ok(Some((fd, access)))
}

/// Build the ruleset for `rules`, with the abstract-unix-socket and
/// signal scopes (ABI 6), and restrict the calling thread (and what it
/// execs). Best effort: what the kernel lacks is dropped, and named in
/// a notice when the path or port rules needed it. Under
/// `LandlockMode::Require` a kernel that enforces nothing, or not what
/// the path and port rules need ([`missing`]), fails (125) with `hint`
/// (the front end's way to run without it).
pub fn enforce(mode: LandlockMode, rules: &Rules, hint: &str) -> Result<Outcome> {
    if mode == LandlockMode::Off {
        return Ok(Outcome {
            summary: "landlock: off".into(),
            notices: Vec::new(),
        });
    }
    let err =
        |what: &str, e: &dyn std::fmt::Display| Error::msg("landlock", format!("{what}: {e}"));
    let abi = ABI_TARGET;
    let all = AccessFs::from_all(abi);

    let mut rs = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(|e| err("handle filesystem access", &e))?;
    if rules.connect_ports.is_some() {
        rs = rs
            .handle_access(AccessNet::ConnectTcp)
            .map_err(|e| err("handle TCP connect", &e))?;
    }
    let mut rs = rs
        .scope(Scope::from_all(abi))
        .map_err(|e| err("scope", &e))?
        .create()
        .map_err(|e| err("create the ruleset", &e))?;
    // One path open at a time: the rlimits are set by now, and
    // `--limit nofile=10` leaves room for few. Nothing is restricted until
    // restrict_self, so an error here stops the run unconfined by it.
    let mut notices = Vec::new();
    for g in &rules.grants {
        match open_grant(g)? {
            Some((fd, access)) => {
                rs = rs
                    .add_rule(PathBeneath::new(&fd, access))
                    .map_err(|e| err(&format!("rule for {}", g.path.display()), &e))?;
            }
            None => {
                if let Some(a) = g.given {
                    notices.push(format!(
                        "notice: {} {}: not in the sandbox (no such file or directory when \
                         it started), so nothing beneath it is allowed",
                        a.option(),
                        g.path.display()
                    ));
                }
            }
        }
    }
    for port in rules.connect_ports.iter().flatten() {
        rs = rs
            .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
            .map_err(|e| err(&format!("rule for TCP port {port}"), &e))?;
    }
    let status = rs
        .restrict_self()
        .map_err(|e| err("restrict the process", &e))?;

    let abi_seen = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => Some(effective_abi as i32),
        _ => None,
    };
    let full = matches!(status.ruleset, RulesetStatus::FullyEnforced);
    let enforced = abi_seen.is_some()
        && matches!(
            status.ruleset,
            RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced
        );
    let lacking = missing(rules, if enforced { abi_seen.unwrap_or(0) } else { 0 });
    let what = match abi_seen {
        Some(n) if enforced => {
            let mut parts = vec![if rules.path_rules {
                "path rules"
            } else {
                "filesystem"
            }
            .to_string()];
            if n >= 6 {
                parts.push("scopes".into());
            }
            if let Some(p) = rules.connect_ports.as_ref().filter(|_| n >= ABI_NET) {
                parts.push(format!("TCP connect to {}", show_ports(p)));
            }
            if full && lacking.is_empty() {
                format!("enforced (ABI {n}: {})", parts.join(", "))
            } else {
                format!(
                    "partly enforced (kernel ABI {n}: {}; {})",
                    parts.join(", "),
                    if !lacking.is_empty() {
                        format!("not {}", lacking.join(", not "))
                    } else if n < 6 {
                        "no abstract-socket or signal scopes".to_string()
                    } else {
                        "some rights missing".to_string()
                    }
                )
            }
        }
        _ => format!("not enforced: {}", unavailable_reason(&status.landlock)),
    };
    if mode == LandlockMode::Require && (!enforced || !lacking.is_empty()) {
        let (why, fix) = if enforced {
            (
                format!(
                    "this kernel has Landlock ABI {}, which cannot enforce {}",
                    abi_seen.unwrap_or(0),
                    lacking.join(", nor ")
                ),
                "boot a newer kernel (ABI 3: Linux 6.2, ABI 4: Linux 6.7)".to_string(),
            )
        } else {
            (
                what.clone(),
                "boot a kernel with Landlock in its LSM list (CONFIG_LSM or lsm=...,landlock)"
                    .to_string(),
            )
        };
        return Err(Error::msg("landlock", format!("required, but {why}"))
            .with_hint(format!("{fix}, or {hint}")));
    }
    if !lacking.is_empty() {
        notices.push(format!(
            "notice: landlock: {}: not enforced: {} (--landlock require refuses to run \
             without them)",
            match abi_seen.filter(|_| enforced) {
                Some(n) => format!("this kernel has ABI {n}"),
                None => unavailable_reason(&status.landlock).to_string(),
            },
            lacking.join(", ")
        ));
    }
    Ok(Outcome {
        summary: format!("landlock: {what}"),
        notices,
    })
}

/// `sandbox run`'s and `exec`'s ruleset, and the bwrap front end's on its
/// built root ([`Rules::built`]). `root_writable` is false for
/// `--read-only` and for the overlay-unavailable fallback.
pub fn apply(plan: &Plan, root_writable: bool) -> Result<Outcome> {
    if plan.landlock == LandlockMode::Off {
        return Ok(Outcome {
            summary: "landlock: off (--landlock off)".into(),
            notices: Vec::new(),
        });
    }
    if let Some(b) = &plan.built {
        return enforce(
            plan.landlock,
            &Rules::built(&b.ops),
            "opt into `landlock` rather than `landlock=require` (--sandbox-defaults, \
             SANDBOX_BWRAP_DEFAULTS), which runs without it",
        );
    }
    let mut rules = if plan.allow_paths.is_empty() {
        let mut writable: Vec<PathBuf> = vec!["/tmp".into(), "/dev/shm".into()];
        if root_writable && plan.root != RootMode::ReadOnly {
            writable.push("/".into());
        }
        for b in plan.binds.iter().filter(|b| !b.read_only) {
            writable.push(b.dst.clone());
        }
        writable.extend(tmpfs_targets(plan).into_iter().map(Path::to_path_buf));
        Rules::new(writable)
    } else {
        Rules::paths(&plan.allow_paths)
    };
    rules.connect_ports = plan.connect_ports.clone();
    enforce(plan.landlock, &rules, "use --landlock auto")
}

/// The writable tmpfs mounts besides /tmp and /dev/shm: `--tmpfs`
/// targets, and the empty /run of a sandbox whose root is the host's.
fn tmpfs_targets(plan: &Plan) -> Vec<&Path> {
    let mut v: Vec<&Path> = plan.tmpfs.iter().map(|t| t.dst.as_path()).collect();
    if plan.host_root() {
        v.push(Path::new("/run"));
    }
    v
}

fn unavailable_reason(s: &LandlockStatus) -> &'static str {
    match s {
        LandlockStatus::NotEnabled => "the kernel has Landlock built in but not enabled at boot",
        LandlockStatus::NotImplemented => "the kernel is built without Landlock",
        LandlockStatus::Available { .. } => "the kernel refused the ruleset",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    fn rules(path_rules: bool, ports: Option<Vec<u16>>) -> Rules {
        let mut r = if path_rules {
            Rules::paths(&[(PathAccess::Read, "/".into())])
        } else {
            Rules::new(vec!["/".into()])
        };
        r.connect_ports = ports;
        r
    }

    /// A built root's rules: writable where the layout made something
    /// writable, read-only elsewhere (the root tmpfs itself, the read-only
    /// binds, symlinks, `--dir /`); /proc written but not executed; the
    /// device nodes of a `--dev` elsewhere than /dev.
    #[test]
    fn a_built_roots_writable_places() {
        let bind = |dst: &str, read_only| RootOp::Bind {
            src: "/h".into(),
            dst: dst.into(),
            read_only,
            devices: false,
        };
        let ops = vec![
            bind("/usr", true),
            bind("/a/b/data", false),
            RootOp::Dir {
                dst: "/".into(),
                mode: 0o755,
            },
            RootOp::Dir {
                dst: "/work".into(),
                mode: 0o755,
            },
            RootOp::Tmpfs {
                dst: "/tmp".into(),
                mode: 0o755,
                size: None,
            },
            RootOp::Symlink {
                target: "usr/bin".into(),
                dst: "/bin".into(),
            },
            RootOp::BindData {
                dst: "/etc/ro".into(),
                data: Vec::new(),
                mode: 0o600,
                read_only: true,
            },
            RootOp::BindData {
                dst: "/etc/rw".into(),
                data: Vec::new(),
                mode: 0o600,
                read_only: false,
            },
            RootOp::File {
                dst: "/etc/f".into(),
                data: Vec::new(),
                mode: 0o600,
            },
            RootOp::Mqueue {
                dst: "/dev/mqueue".into(),
            },
            RootOp::Proc {
                dst: "/proc".into(),
            },
            RootOp::Dev { dst: "/dev".into() },
            RootOp::Dev { dst: "/d2".into() },
            RootOp::Overlay {
                lowers: vec!["/l1".into(), "/l2".into()],
                upper: crate::plan::OverlayUpper::ReadOnly,
                dst: "/ro".into(),
            },
            RootOp::Overlay {
                lowers: vec!["/l1".into()],
                upper: crate::plan::OverlayUpper::Tmpfs,
                dst: "/tmpov".into(),
            },
            RootOp::Overlay {
                lowers: vec!["/l1".into()],
                upper: crate::plan::OverlayUpper::Dir {
                    upper: "/u".into(),
                    work: "/w".into(),
                },
                dst: "/ov".into(),
            },
        ];
        let r = Rules::built(&ops);
        let all = AccessFs::from_all(ABI_TARGET);
        let with = |a: BitFlags<AccessFs>| -> Vec<PathBuf> {
            r.grants
                .iter()
                .filter(|g| g.access == a)
                .map(|g| g.path.clone())
                .collect()
        };
        let p = |v: &[&str]| -> Vec<PathBuf> { v.iter().map(PathBuf::from).collect() };
        assert_eq!(
            with(all),
            p(&[
                "/a/b/data",
                "/work",
                "/tmp",
                "/etc/rw",
                "/etc/f",
                "/dev/mqueue",
                "/dev/shm",
                "/d2/shm",
                "/tmpov",
                "/ov"
            ])
        );
        assert_eq!(with(read_exec()), p(&["/"]));
        assert_eq!(with(proc_access()), p(&["/proc"]));
        let devices = with(device());
        assert!(devices.contains(&"/dev/null".into()) && devices.contains(&"/d2/pts".into()));
        assert!(!r.path_rules && r.connect_ports.is_none());
    }

    /// What each ABI cannot enforce of the path and port rules: the
    /// notice under auto and the refusal under require say these.
    #[test]
    fn missing_names_what_each_abi_lacks() {
        let both = rules(true, Some(vec![8080, 3128]));
        let m = missing(&both, 0);
        assert!(m[0].contains("the path rules (--allow-read"), "{m:?}");
        assert!(
            m[1].contains("TCP connect rule (TCP connects only to ports 8080,3128"),
            "{m:?}"
        );
        for abi in 1..ABI_PATHS {
            let m = missing(&both, abi);
            assert_eq!(m.len(), 2, "{abi}: {m:?}");
            assert!(m[0].contains("truncating files outside --allow-write"));
        }
        let m = missing(&both, ABI_PATHS);
        assert_eq!(m.len(), 1);
        assert!(m[0].contains("needs ABI 4"), "{m:?}");
        for abi in ABI_NET..=7 {
            assert!(missing(&both, abi).is_empty());
        }
        // The default ruleset asks nothing beyond "some ruleset".
        assert!(missing(&rules(false, None), 0).is_empty());
        assert!(missing(&rules(false, Some(vec![])), 3)[0].contains("no TCP connect at all"));
    }

    /// `connect_ports`: a TCP connect to a port not listed fails with
    /// EACCES, to a listed one it works; the control is the same connect
    /// to the unlisted port before the ruleset. Landlock restricts the
    /// calling thread, so the test makes one of its own. On a kernel
    /// below ABI 4, require must refuse (125) instead.
    #[test]
    fn tcp_connect_rule_allows_only_its_ports() {
        let allowed = TcpListener::bind("127.0.0.1:0").unwrap();
        let other = TcpListener::bind("127.0.0.1:0").unwrap();
        let (a, b) = (allowed.local_addr().unwrap(), other.local_addr().unwrap());
        let abi = sys::landlock_abi().unwrap_or(0) as i32;
        std::thread::spawn(move || {
            let before = TcpStream::connect(b);
            assert!(before.is_ok(), "control: {before:?}");
            let r = enforce(
                LandlockMode::Require,
                &rules(false, Some(vec![a.port()])),
                "test",
            );
            if abi < ABI_NET {
                let e = r.err().expect("require on a kernel without ABI 4");
                assert_eq!(e.exit, 125);
                assert!(e.to_string().contains("TCP connect rule"), "{e}");
                return;
            }
            let out = r.unwrap();
            assert!(out
                .summary
                .contains(&format!("TCP connect to {}", a.port())));
            let refused = TcpStream::connect(b).unwrap_err();
            assert_eq!(refused.raw_os_error(), Some(libc::EACCES), "{refused}");
            TcpStream::connect(a).expect("the allowed port");
        })
        .join()
        .unwrap();
    }
}
