//! Hooks (config.md "POSIX-platform Hooks"): each is run with the
//! container's state JSON on stdin, its own args and env, and an optional
//! timeout. A failing createRuntime, createContainer or startContainer hook
//! fails the operation; a failing poststart or poststop hook is a warning.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::spec::{Hook, Hooks};

use crate::error::{Context, Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The deprecated prestart hooks run with createRuntime.
    Prestart,
    CreateRuntime,
    CreateContainer,
    StartContainer,
    Poststart,
    Poststop,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Prestart => "prestart",
            Kind::CreateRuntime => "createRuntime",
            Kind::CreateContainer => "createContainer",
            Kind::StartContainer => "startContainer",
            Kind::Poststart => "poststart",
            Kind::Poststop => "poststop",
        }
    }
}

pub fn list(hooks: Option<&Hooks>, kind: Kind) -> Vec<Hook> {
    let Some(h) = hooks else { return vec![] };
    let l = match kind {
        Kind::Prestart => &h.prestart,
        Kind::CreateRuntime => &h.create_runtime,
        Kind::CreateContainer => &h.create_container,
        Kind::StartContainer => &h.start_container,
        Kind::Poststart => &h.poststart,
        Kind::Poststop => &h.poststop,
    };
    l.clone().unwrap_or_default()
}

/// Run the hooks of `kind` in order; the first failure stops them.
pub fn run(hooks: Option<&Hooks>, kind: Kind, state: &serde_json::Value) -> Result<()> {
    for h in list(hooks, kind) {
        run_one(&h, kind, state)?;
    }
    Ok(())
}

fn run_one(h: &Hook, kind: Kind, state: &serde_json::Value) -> Result<()> {
    let step = format!("{} hook", kind.name());
    let path = &h.path;
    let args = h.args.as_deref().unwrap_or_default();
    let mut cmd = Command::new(path);
    // Stdio only: not the fds our caller leaked, nor --preserve-fds (a
    // hook is a host program, not the container's). Ref: CVE-2024-21626
    crate::sys::only_stdio(&mut cmd);
    if let Some((first, rest)) = args.split_first() {
        // args[0] is the hook's argv[0], as execv would take it.
        use std::os::unix::process::CommandExt;
        cmd.arg0(first);
        cmd.args(rest);
    }
    cmd.env_clear();
    for e in h.env.iter().flatten() {
        if let Some((k, v)) = e.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().ctx(&step, path.display())?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is not an error.
        let _ = stdin.write_all(state.to_string().as_bytes());
    }
    let deadline = h
        .timeout
        .filter(|t| *t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t as u64));
    let status = loop {
        if let Some(s) = child.try_wait().ctx(&step, path.display())? {
            break s;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Error::msg(
                step,
                format!(
                    "{}: timed out after {} s",
                    path.display(),
                    h.timeout.unwrap_or(0)
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if !status.success() {
        return Err(Error::msg(step, format!("{}: {status}", path.display())));
    }
    Ok(())
}
