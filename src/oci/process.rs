//! The container's process, last steps before its program: rlimits, the
//! umask, groups and ids, the five capability sets, no_new_privs, the
//! executable looked up in the process's own PATH. Shared by the
//! container's process (init.rs) and `exec`.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::spec::{Capability, PosixRlimitType, Process};

use crate::confine::caps::{self, CapSets, Securebits};
use crate::confine::trampoline::{Sealed, Trampoline};
use crate::confine::untrusted;
use crate::error::{Context, Error, Result, EXIT_CANNOT_EXEC, EXIT_NOT_FOUND};
use crate::sys;

/// The capability names this build knows, without the CAP_ prefix.
pub fn cap_names() -> impl Iterator<Item = &'static str> {
    caps::names()
}

/// A capability's number from its name without the CAP_ prefix, in upper
/// case (spec.rs reads the names with it).
pub fn cap_by_name(name: &str) -> Option<u32> {
    caps::by_name(name)
}

/// A set as a bit mask, leaving out what this kernel does not know (runc
/// does the same, so a newer config runs on an older kernel).
fn mask(set: Option<&Vec<Capability>>, last: u32) -> u64 {
    set.into_iter()
        .flatten()
        .map(|c| c.0)
        .filter(|n| *n <= last)
        .fold(0, |m, n| m | 1 << n)
}

fn rlimit_resource(t: PosixRlimitType) -> u32 {
    use PosixRlimitType::*;
    // The constants are u32 on glibc and c_int on musl.
    #[allow(clippy::unnecessary_cast)]
    let r = (match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }) as u32;
    r
}

/// rlimits and oomScoreAdj: while still privileged.
pub fn limits(p: &Process) -> Result<()> {
    for r in p.rlimits.iter().flatten() {
        sys::setrlimit(rlimit_resource(r.typ), r.soft, r.hard).ctx(
            "setrlimit",
            format!("{:?} soft {} hard {}", r.typ, r.soft, r.hard),
        )?;
    }
    if let Some(adj) = p.oom_score_adj {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .ctx("oomScoreAdj", "/proc/self/oom_score_adj")?;
    }
    Ok(())
}

/// Groups, gid, uid, then the capability sets and no_new_privs.
pub fn identity(p: &Process) -> Result<()> {
    let user = &p.user;
    if let Some(mask) = user.umask {
        sys::umask(mask);
    }
    let gids = user.additional_gids.clone().unwrap_or_default();
    match sys::setgroups(&gids) {
        Ok(()) => {}
        // A user namespace with setgroups denied (a rootless single-id
        // map): only an empty list could have been asked of it anyway.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) && gids.is_empty() => {}
        Err(e) => return Err(e).ctx("setgroups", format!("{gids:?}")),
    }
    let last = sys::last_cap();
    let c = p.capabilities.as_ref();
    let sets = CapSets {
        bounding: mask(c.and_then(|c| c.bounding.as_ref()), last),
        effective: mask(c.and_then(|c| c.effective.as_ref()), last),
        permitted: mask(c.and_then(|c| c.permitted.as_ref()), last),
        inheritable: mask(c.and_then(|c| c.inheritable.as_ref()), last),
        ambient: mask(c.and_then(|c| c.ambient.as_ref()), last),
    };
    caps::apply(&sets, Securebits::Keep, Some((user.uid, user.gid)))?;
    if p.no_new_privileges.unwrap_or(false) {
        sys::set_no_new_privs().ctx("no_new_privs", "PR_SET_NO_NEW_PRIVS")?;
    }
    Ok(())
}

/// Whether the process will keep CAP_SYS_ADMIN (then seccomp can be
/// installed last even without no_new_privs).
pub fn keeps_sys_admin(p: &Process) -> bool {
    let last = sys::last_cap();
    mask(
        p.capabilities.as_ref().and_then(|c| c.effective.as_ref()),
        last,
    ) & (1 << 21)
        != 0
}

/// The value of PATH in the process's environment (runc's default when
/// it has none).
fn path_var(env: &[String]) -> String {
    env.iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        .to_string()
}

/// args[0] as execve needs it: a path with a slash as it is, else the
/// first executable match in PATH. Run inside the container's root. The
/// error texts carry the words podman maps to 127 and 126 ("no such file
/// or directory", "permission denied").
pub fn resolve(p: &Process) -> Result<PathBuf> {
    let args = p.args.as_deref().unwrap_or_default();
    let Some(arg0) = args.first() else {
        return Err(Error::msg("exec", "process.args is empty"));
    };
    let env = p.env.as_deref().unwrap_or_default();
    let check = |path: &Path| -> Result<()> {
        let md = std::fs::metadata(path).map_err(|e| {
            let why = crate::error::describe_errno(e.raw_os_error().unwrap_or(libc::ENOENT))
                .to_lowercase();
            Error::msg(
                "exec",
                format!("\"{arg0}\": stat {}: {why}", path.display()),
            )
            .with_exit(EXIT_NOT_FOUND)
        })?;
        if md.is_dir() || !sys::is_executable(path) {
            return Err(Error::msg(
                "exec",
                format!("\"{arg0}\": {}: permission denied", path.display()),
            )
            .with_exit(EXIT_CANNOT_EXEC));
        }
        Ok(())
    };
    if arg0.contains('/') {
        let path = PathBuf::from(arg0);
        check(&path)?;
        return Ok(path);
    }
    for dir in path_var(env).split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        if cand.is_file() && sys::is_executable(&cand) {
            return Ok(cand);
        }
    }
    Err(Error::msg(
        "exec",
        format!("\"{arg0}\": executable file not found in $PATH: no such file or directory"),
    )
    .with_exit(EXIT_NOT_FOUND))
}

/// The argv and envp, prepared before anything that could make allocation
/// unsafe; then chdir and execve.
pub struct Exec {
    path: CString,
    argv: sys::CStringArray,
    envp: sys::CStringArray,
}

impl Exec {
    pub fn new(path: &Path, p: &Process) -> Result<Exec> {
        let c = |s: &str| {
            CString::new(s).map_err(|_| Error::msg("exec", format!("{s:?} holds a NUL byte")))
        };
        let argv = p
            .args
            .iter()
            .flatten()
            .map(|a| c(a))
            .collect::<Result<Vec<_>>>()?;
        let envp = p
            .env
            .iter()
            .flatten()
            .map(|a| c(a))
            .collect::<Result<Vec<_>>>()?;
        Ok(Exec {
            path: CString::new(path.as_os_str().as_bytes())
                .map_err(|_| Error::msg("exec", "path holds a NUL byte"))?,
            argv: sys::CStringArray::new(argv),
            envp: sys::CStringArray::new(envp),
        })
    }

    /// The exec trampoline (confine/trampoline.rs) for this program, in its
    /// sealed memfd: made before the rlimits (RLIMIT_FSIZE applies to the
    /// memfd's writes); a failure is written to `report_fd` as a report
    /// frame (channel.rs), as `exec()` would return it.
    pub fn seal(&self, report_fd: RawFd) -> Sealed {
        let path = self.path.to_string_lossy().into_owned();
        let enoent =
            Error::errno("exec", Some(path.clone()), libc::ENOENT).with_exit(EXIT_NOT_FOUND);
        Trampoline {
            report_fd,
            search: false,
            candidates: vec![(
                self.path.clone(),
                Error::errno("exec", Some(path), 0).with_exit(EXIT_CANNOT_EXEC),
            )],
            not_found: enoent.clone(),
            interpreter_missing: enoent,
        }
        .seal()
    }

    /// Through the trampoline `seal` made, so nothing the program's exec
    /// starts can reach our binary. Returns only when it could not be
    /// exec'd.
    pub fn exec_sealed(&self, sealed: &Sealed) -> Error {
        match sealed.exec(&self.argv, &self.envp) {
            Err(e) => e,
            // No memfd exec here, and our binary is not ours to write.
            Ok(()) => self.exec(),
        }
    }

    /// Returns only on failure.
    pub fn exec(&self) -> Error {
        let Err(e) = sys::execve(&self.path, &self.argv, &self.envp);
        let code = match e.raw_os_error() {
            Some(libc::ENOENT) => EXIT_NOT_FOUND,
            _ => EXIT_CANNOT_EXEC,
        };
        Error::errno(
            "exec",
            Some(self.path.to_string_lossy().into_owned()),
            e.raw_os_error().unwrap_or(libc::EIO),
        )
        .with_exit(code)
    }
}

/// HOME, when the process's environment has none: the user's home in the
/// container's /etc/passwd, else `/` (as runc sets it). Run inside the
/// container's root. Read through `untrusted` (the one reader of files an
/// image controls): a FIFO, a device, a huge file or a pseudo-file there
/// gives `/` instead of a `create` or `exec` that hangs or eats memory.
pub fn default_home(p: &mut Process) {
    let env = p.env.get_or_insert_with(Vec::new);
    if env.iter().any(|e| e.starts_with("HOME=")) {
        return;
    }
    let passwd = untrusted::read_rootfs_file(Path::new("/etc/passwd"), untrusted::MAX_ROOTFS_FILE)
        .unwrap_or_default();
    let home = untrusted::passwd_home(&passwd, p.user.uid)
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into());
    env.push(format!("HOME={home}"));
}

/// chdir to the process's cwd (inside the container).
pub fn cwd(p: &Process) -> Result<()> {
    let cwd = &p.cwd;
    let cwd = if cwd.as_os_str().is_empty() {
        Path::new("/")
    } else {
        cwd.as_path()
    };
    std::env::set_current_dir(cwd).ctx("chdir to the process's cwd", cwd.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_have_numbers() {
        let c: Vec<Capability> =
            serde_json::from_str(r#"["CAP_CHOWN","SYS_ADMIN","cap_checkpoint_restore"]"#).unwrap();
        assert_eq!(mask(Some(&c), 40), 1 | 1 << 21 | 1 << 40);
        assert_eq!(mask(Some(&c), 39), 1 | 1 << 21);
        for n in cap_names() {
            let cap: Capability = serde_json::from_str(&format!("\"CAP_{n}\"")).unwrap();
            assert_eq!(Some(cap.0), cap_by_name(n), "{n}");
        }
        // A name this build does not know fails the parse (the kernel's
        // newer ones are left out of the masks by number instead).
        assert!(serde_json::from_str::<Capability>("\"CAP_FROB\"").is_err());
    }
}
