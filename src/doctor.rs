//! `sandbox doctor`: what this kernel and user allow, one line each, found
//! by trying (in a forked child) rather than by reading configuration.
//! Exits 0 when `sandbox run` can work. Its probes fork and run ordinary
//! code in the child, so it is for a single-threaded program (the CLI).

use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::confine::cgroup;
use crate::error::describe_errno;
use crate::launch::hostmode;
use crate::plan::idmap;
use crate::sys;

struct Line {
    ok: bool,
    what: &'static str,
    text: String,
}

/// The report, one line a check, and the exit code (0: `sandbox run` can
/// work here). Prints nothing itself.
pub fn check() -> (String, u8) {
    let userns = probe(probe_userns);
    let mut lines = vec![Line {
        ok: userns.is_ok(),
        what: "user namespaces",
        text: match &userns {
            Ok(()) => format!("usable ({})", userns_sysctls()),
            Err(e) => {
                let cause = userns_cause();
                format!(
                    "{e}; {}. Cause: {}. Fix: {}. Until then 'sandbox run / …' runs in the host mode (--userns auto, off): no namespaces, Landlock and seccomp only",
                    userns_sysctls(),
                    cause.why(),
                    cause.fix()
                )
            }
        },
    }];
    // What the namespaces must then allow (a masked /proc, an LSM's or a
    // filter's rule may refuse it once they are made): the late refusals
    // `sandbox run` answers with the host mode.
    let setup = if userns.is_ok() {
        let r = probe_setup();
        lines.push(Line {
            ok: r.is_ok(),
            what: "namespace set-up",
            text: match r {
                Ok(()) => "the hostname, a fresh /proc (as PID 1 of a new PID namespace) and pivot_root work".into(),
                Err((step, errno)) => {
                    let e = crate::error::Error::errno(step, None, errno);
                    match hostmode::late_refusal(&e) {
                        Some(c) => format!(
                            "{}: 'sandbox run' takes the host mode (--userns auto) or fails (require). Fix: {}",
                            c.why(),
                            c.fix()
                        ),
                        None => format!("{step}: {}: 'sandbox run' fails there", describe_errno(errno)),
                    }
                }
            },
        });
        r.is_ok()
    } else {
        false
    };
    let overlay = if userns.is_ok() {
        probe(probe_overlay)
    } else {
        Err("needs user namespaces".into())
    };
    lines.push(Line {
        ok: overlay.is_ok(),
        what: "overlay in a user namespace",
        text: match overlay {
            Ok(()) => match probe(probe_overlay_rmdir) {
                Ok(()) => "usable (the default copy-on-write root)".into(),
                Err(e) => format!("usable (the default copy-on-write root), but a directory of the rootfs cannot be removed in it ({e}): this kernel's tmpfs keeps no user xattrs (Linux < 6.6); use --rw on a copy for scripts that replace directories"),
            },
            Err(e) => format!("{e}: needs Linux 5.11+; until then runs fall back to a read-only root (use --rw to write through)"),
        },
    });
    let clone3 = sys::clone3_present();
    lines.push(Line {
        ok: clone3,
        what: "clone3",
        text: if clone3 {
            "present".into()
        } else {
            "missing (kernel < 5.3 or filtered): clone(2) is used instead, which works too".into()
        },
    });
    let seccomp = sys::seccomp_filter_available();
    lines.push(Line {
        ok: seccomp.is_ok(),
        what: "seccomp",
        text: match seccomp {
            Ok(()) => "filters available".into(),
            Err(e) => format!(
                "unavailable ({}): the kernel lacks CONFIG_SECCOMP_FILTER",
                errtext(&e)
            ),
        },
    });
    let landlock = sys::landlock_abi();
    lines.push(Line {
        ok: landlock.is_ok(),
        what: "landlock",
        text: match landlock {
            Ok(abi) => format!("ABI {abi}"),
            Err(e) if e.raw_os_error() == Some(libc::EOPNOTSUPP) => {
                "built in but not enabled at boot: add 'landlock' to the kernel's lsm= parameter"
                    .into()
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
                "not in this kernel (needs Linux 5.13+ with CONFIG_SECURITY_LANDLOCK)".into()
            }
            Err(e) => format!("unusable ({})", errtext(&e)),
        },
    });
    let (cg_ok, cg_text) = cgroup_line();
    lines.push(Line {
        ok: cg_ok,
        what: "cgroup v2",
        text: cg_text,
    });
    let (sub_ok, sub_text) = crate::plan::subid::doctor_line();
    lines.push(Line {
        ok: sub_ok,
        what: "subordinate ids",
        text: sub_text,
    });
    for (ok, what, text) in crate::confine::net::doctor() {
        lines.push(Line { ok, what, text });
    }

    let mut report = String::new();
    for l in &lines {
        report += &format!(
            "{:<4} {}: {}\n",
            if l.ok { "ok" } else { "no" },
            l.what,
            l.text
        );
    }
    let code = if setup {
        report += "sandbox run can work here\n";
        0
    } else if userns.is_ok() {
        report += "sandbox run cannot work here but in the host mode (--userns, ROOTFS /): the namespaces can be made, but not set up\n";
        1
    } else {
        report += "sandbox run cannot work here but in the host mode (--userns, ROOTFS /): user namespaces are not usable\n";
        1
    };
    (report, code)
}

fn errtext(e: &std::io::Error) -> String {
    describe_errno(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Run `f` in a forked child; its `Err` text comes back over a pipe.
fn probe(f: fn() -> Result<(), String>) -> Result<(), String> {
    let (r, w) = sys::pipe_high().map_err(|e| format!("pipe: {}", errtext(&e)))?;
    let pid = sys::fork().map_err(|e| format!("fork: {}", errtext(&e)))?;
    if pid == 0 {
        drop(r);
        let code = match f() {
            Ok(()) => 0,
            Err(msg) => {
                let _ = fs::File::from(w).write_all(msg.as_bytes());
                1
            }
        };
        sys::exit_now(code);
    }
    drop(w);
    let mut msg = String::new();
    let _ = fs::File::from(r).read_to_string(&mut msg);
    match sys::waitpid(pid, false) {
        Ok(Some(sys::Exit::Code(0))) => Ok(()),
        _ if !msg.is_empty() => Err(msg),
        other => Err(format!("probe ended unexpectedly: {other:?}")),
    }
}

fn step(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{what}: {}", errtext(&e))
}

/// What `sandbox run` needs: a user namespace with our id mapped, then the
/// other namespaces and a mount in them (AppArmor's userns restriction lets
/// the unshare succeed and fails here).
fn probe_userns() -> Result<(), String> {
    let (uid, gid) = (sys::geteuid(), sys::getegid());
    sys::unshare(libc::CLONE_NEWUSER).map_err(step("create a user namespace"))?;
    // Our own maps, through the one writer, as the launcher writes a child's.
    idmap::write(
        std::process::id() as i32,
        &[idmap::IdMap::single(0, uid)],
        &[idmap::IdMap::single(0, gid)],
        idmap::Writer::Launcher,
    )
    .map_err(|e| e.to_string())?;
    let flags = libc::CLONE_NEWNS
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWCGROUP;
    sys::unshare(flags).map_err(step("create the other namespaces"))?;
    sys::mount(
        None,
        OsStr::new("/"),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )
    .map_err(step("make mounts private"))?;
    sys::mount(
        Some(OsStr::new("tmpfs")),
        OsStr::new("/tmp"),
        Some("tmpfs"),
        0,
        None,
    )
    .map_err(step("mount tmpfs"))?;
    Ok(())
}

/// The steps of the child stage's set-up after `probe_userns`'s that a
/// host may refuse (hostmode.rs `LATE`), by the stage's names.
const SETUP_STEPS: [&str; 5] = [
    "create the namespaces",
    "set hostname",
    "mount proc",
    "pivot_root",
    "detach the old root",
];

/// In a forked child, in fresh namespaces (`probe_userns`): the hostname,
/// a fresh /proc mounted by PID 1 of the new PID namespace (a grandchild),
/// and pivot_root into the tmpfs, as the stage does them. The step that
/// failed and its errno come back over a pipe (two bytes).
fn probe_setup() -> Result<(), (&'static str, i32)> {
    let fail = |e: std::io::Error| e.raw_os_error().unwrap_or(libc::EIO);
    let (r, w) = sys::pipe_high().map_err(|e| ("pipe", fail(e)))?;
    let pid = sys::fork().map_err(|e| ("fork", fail(e)))?;
    if pid == 0 {
        drop(r);
        if let Err((i, errno)) = setup_steps() {
            let _ = fs::File::from(w).write_all(&[i, errno.clamp(1, 255) as u8]);
        }
        sys::exit_now(0);
    }
    drop(w);
    let mut got = Vec::new();
    let _ = fs::File::from(r).read_to_end(&mut got);
    let _ = sys::waitpid(pid, false);
    match got[..] {
        [] => Ok(()),
        [i, errno] if (i as usize) < SETUP_STEPS.len() => {
            Err((SETUP_STEPS[i as usize], errno as i32))
        }
        _ => Err(("probe", libc::EIO)),
    }
}

fn setup_steps() -> Result<(), (u8, i32)> {
    let fail = |i: u8| move |e: std::io::Error| (i, e.raw_os_error().unwrap_or(libc::EIO));
    probe_userns().map_err(|_| (0, libc::EIO))?;
    sys::sethostname("sandbox").map_err(fail(1))?;
    fs::create_dir("/tmp/proc").map_err(fail(0))?;
    let pid = sys::fork().map_err(fail(0))?;
    if pid == 0 {
        let r = sys::mount(
            Some(OsStr::new("proc")),
            OsStr::new("/tmp/proc"),
            Some("proc"),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            None,
        );
        sys::exit_now(r.err().map_or(0, |e| fail(2)(e).1));
    }
    match sys::waitpid(pid, false) {
        Ok(Some(sys::Exit::Code(0))) => {}
        Ok(Some(sys::Exit::Code(errno))) => return Err((2, errno)),
        _ => return Err((2, libc::EIO)),
    }
    std::env::set_current_dir("/tmp").map_err(fail(0))?;
    sys::pivot_root(OsStr::new("."), OsStr::new(".")).map_err(fail(3))?;
    sys::umount2(OsStr::new("."), libc::MNT_DETACH).map_err(fail(4))
}

/// An overlay at /tmp/m of /tmp/l (holding d/f) in fresh namespaces.
fn probe_overlay() -> Result<(), String> {
    probe_userns()?;
    for d in ["l/d", "u", "w", "m"] {
        fs::create_dir_all(Path::new("/tmp").join(d)).map_err(step("mkdir"))?;
    }
    fs::write("/tmp/l/d/f", "").map_err(step("create a file"))?;
    let p = |d: &str| Path::new("/tmp").join(d);
    crate::confine::rootfs::mount_overlay(&[&p("l")], Some((&p("u"), &p("w"))), &p("m"), 0)
        .map_err(step("mount overlay"))
}

/// Whether a directory of the lower layer can be replaced in the overlay
/// (`rm -rf DIR; mkdir DIR` in a script): overlay needs user xattrs on the
/// upper tmpfs for its opaque marks.
fn probe_overlay_rmdir() -> Result<(), String> {
    probe_overlay()?;
    fs::remove_file("/tmp/m/d/f").map_err(step("unlink"))?;
    fs::remove_dir("/tmp/m/d").map_err(step("rmdir"))?;
    fs::create_dir("/tmp/m/d").map_err(step("mkdir over the whiteout"))
}

/// Why user namespaces are unusable, by hostmode.rs's reading of the
/// sysctls, AppArmor's label and the seccomp mode, with the errno of a
/// plain unshare(CLONE_NEWUSER) in a forked child: EPERM under a seccomp
/// filter is a container's profile.
fn userns_cause() -> hostmode::Cause {
    let errno = match sys::fork() {
        Ok(0) => {
            // 0: made, so what failed was a step in it (the probe's line).
            let code = match sys::unshare(libc::CLONE_NEWUSER) {
                Ok(()) => 0,
                Err(e) => e.raw_os_error().unwrap_or(libc::EIO).clamp(1, 255),
            };
            sys::exit_now(code)
        }
        Ok(pid) => match sys::waitpid(pid, false) {
            Ok(Some(sys::Exit::Code(c))) => c,
            _ => libc::EIO,
        },
        Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
    };
    match errno {
        0 => hostmode::diagnose("use the user namespace", libc::EPERM),
        n => hostmode::diagnose("create a user namespace", n),
    }
}

fn userns_sysctls() -> String {
    [
        (
            "user.max_user_namespaces",
            "/proc/sys/user/max_user_namespaces",
        ),
        (
            "kernel.unprivileged_userns_clone",
            "/proc/sys/kernel/unprivileged_userns_clone",
        ),
        (
            "kernel.apparmor_restrict_unprivileged_userns",
            "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
        ),
    ]
    .iter()
    .filter_map(|(name, path)| {
        Some(format!(
            "{name} = {}",
            fs::read_to_string(path).ok()?.trim()
        ))
    })
    .collect::<Vec<_>>()
    .join(", ")
}

/// cgroup v2 mounted where, and whether the caller's own cgroup is
/// delegated to it (the directory, cgroup.procs and cgroup.subtree_control
/// writable), as `--memory`, `--pids` and `--cpus` need.
fn cgroup_line() -> (bool, String) {
    let found = cgroup::Found::read().ok();
    let Some((found, mnt)) = found.and_then(|f| {
        let mnt = f.unified()?.mount.display().to_string();
        Some((f, mnt))
    }) else {
        return (
            false,
            "not mounted: resource limits (--memory, --pids, --cpus) are unavailable".into(),
        );
    };
    let hybrid = found.hierarchies.iter().any(|h| !h.v2());
    let own = found.own_unified().unwrap_or("/").to_string();
    let delegated = found
        .unified()
        .and_then(|h| h.dir_of(&own))
        .is_some_and(|dir| cgroup::delegated(&dir));
    let kind = if hybrid {
        "hybrid (v1 controllers also mounted)"
    } else {
        "unified"
    };
    if delegated {
        (
            true,
            format!("{kind}, at {mnt}; your cgroup {own} is delegated to you"),
        )
    } else {
        (false, format!("{kind}, at {mnt}; your cgroup {own} is not delegated to you: run under 'systemd-run --user --scope -p Delegate=yes …' to use --memory, --pids, --cpus"))
    }
}
