//! The annotation `org.sandbox.landlock` (`auto` or `require`): a Landlock
//! ruleset on the container's process, our extra over runc. Read and
//! execute anywhere; write beneath `/` when the root is writable, else
//! only beneath the mounts that are not read-only (and /dev's nodes); on
//! ABI 6 and later also the abstract-unix-socket and signal scopes, so the
//! container cannot reach abstract sockets or signal processes outside its
//! domain even where it shares the host's network or PID namespace.
//! `auto` applies what the kernel has; `require` fails the start when no
//! ruleset is enforced.

use std::path::Path;

use super::spec::Spec;
use landlock::{
    Access, AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};

use crate::error::{Error, Result};

pub fn check_mode(mode: &str) -> Result<()> {
    match mode {
        "auto" | "require" | "off" => Ok(()),
        m => Err(Error::msg(
            "annotation",
            format!(
                "{}: '{m}' is not auto, require or off",
                super::ANNOTATION_LANDLOCK
            ),
        )),
    }
}

pub fn apply(mode: &str, spec: &Spec) -> Result<()> {
    check_mode(mode)?;
    if mode == "off" {
        return Ok(());
    }
    let err = |e: &dyn std::fmt::Display| Error::msg("landlock", e.to_string());
    let abi = ABI::V6;
    let read = AccessFs::from_read(abi);
    let all = AccessFs::from_all(abi);
    let root_ro = spec.root.as_ref().and_then(|r| r.readonly).unwrap_or(false);
    let mut writable: Vec<std::path::PathBuf> = vec![];
    if root_ro {
        for m in spec.mounts.iter().flatten() {
            let ro = m.options.iter().flatten().any(|o| o == "ro");
            let special = matches!(
                m.typ.as_deref(),
                Some("proc" | "sysfs" | "cgroup" | "cgroup2")
            );
            if !ro && !special {
                writable.push(m.destination.clone());
            }
        }
    } else {
        writable.push("/".into());
    }
    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)
        .map_err(|e| err(&e))?
        .scope(Scope::AbstractUnixSocket | Scope::Signal)
        .map_err(|e| err(&e))?
        .create()
        .map_err(|e| err(&e))?;
    let rule = |p: &Path, access| -> Result<Option<PathBeneath<PathFd>>> {
        match PathFd::new(p) {
            Ok(fd) => Ok(Some(PathBeneath::new(fd, access))),
            Err(_) => Ok(None),
        }
    };
    if let Some(r) = rule(Path::new("/"), read)? {
        ruleset = ruleset.add_rule(r).map_err(|e| err(&e))?;
    }
    for w in &writable {
        if let Some(r) = rule(w, all)? {
            ruleset = ruleset.add_rule(r).map_err(|e| err(&e))?;
        }
    }
    let device = AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate | AccessFs::IoctlDev;
    for d in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/tty",
        "/dev/console",
        "/dev/pts",
        "/dev/ptmx",
    ] {
        if let Some(r) = rule(Path::new(d), device)? {
            ruleset = ruleset.add_rule(r).map_err(|e| err(&e))?;
        }
    }
    let status = ruleset.restrict_self().map_err(|e| err(&e))?;
    if mode == "require" && status.ruleset == RulesetStatus::NotEnforced {
        return Err(Error::msg(
            "landlock",
            "the annotation asks for require, and this kernel enforces no Landlock ruleset",
        ));
    }
    Ok(())
}
