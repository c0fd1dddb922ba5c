//! The annotation `org.sandbox.landlock` (`auto` or `require`): a Landlock
//! ruleset on the container's process, our extra over runc, built by the
//! one builder (crate::confine::landlock::enforce) with the container's rules. Read
//! and execute anywhere; write beneath `/` when the root is writable, else
//! only beneath the mounts that are not read-only (and /dev's nodes); on
//! ABI 6 and later also the abstract-unix-socket and signal scopes, so the
//! container cannot reach abstract sockets or signal processes outside its
//! domain even where it shares the host's network or PID namespace.
//! `auto` applies what the kernel has; `require` fails the start when no
//! ruleset is enforced.

use std::path::PathBuf;

use super::spec::Spec;
use crate::confine::landlock::{enforce, Rules};
use crate::error::{Error, Result};
use crate::plan::LandlockMode;

/// The annotation's value as a mode.
fn parse_mode(mode: &str) -> Result<LandlockMode> {
    match mode {
        "auto" => Ok(LandlockMode::Auto),
        "require" => Ok(LandlockMode::Require),
        "off" => Ok(LandlockMode::Off),
        m => Err(Error::msg(
            "annotation",
            format!(
                "{}: '{m}' is not auto, require or off",
                super::ANNOTATION_LANDLOCK
            ),
        )),
    }
}

pub fn check_mode(mode: &str) -> Result<()> {
    parse_mode(mode).map(drop)
}

pub fn apply(mode: &str, spec: &Spec) -> Result<()> {
    let mode = parse_mode(mode)?;
    if mode == LandlockMode::Off {
        return Ok(());
    }
    let root_ro = spec.root.as_ref().and_then(|r| r.readonly).unwrap_or(false);
    let mut writable: Vec<PathBuf> = vec![];
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
    let hint = format!("set the annotation {} to auto", super::ANNOTATION_LANDLOCK);
    enforce(mode, &Rules::new(writable), &hint).map(drop)
}
