//! `sandbox-oci`: the same binary, invoked under that name, speaks runc's
//! command line so that podman (`--runtime`), containerd (the runc shim's
//! `BinaryName`, `ctr run --runc-binary`) and whatever sits on them can
//! run containers under our engine. docs/OCI.md is the user's side.
//!
//! The model follows the OCI runtime spec (runtime.md): `create` starts the
//! container's process and leaves it parked before the user's program,
//! `start` lets it go, `state`/`kill`/`delete` act on what the state
//! directory (`--root`) records. As in the rest of sandbox, the container's
//! process is this binary re-exec'd: the launcher clones into the new
//! namespaces and the clone child execs `/proc/self/exe` as
//! `sandbox-oci init` (init.rs), which builds the container and waits on
//! the exec FIFO.

pub use crate::confine::cgroup::oci as cgroup;
mod cli;
#[cfg(test)]
mod config_fuzz;
mod create;
mod exec;
mod features;
mod hooks;
mod init;
mod landlock;
mod lifecycle;
mod log;
mod mounts;
mod process;
pub(crate) use crate::confine::seccomp::oci as seccomp;
pub mod spec;
mod state;
mod time;

pub use cli::main;

use std::path::Path;

use spec::Spec;

use crate::error::{Context, Error, Result};
use cli::{Cmd, Global};
use log::Log;

/// Our extras, opt-in by annotation (docs/OCI.md "Extras").
pub const ANNOTATION_LANDLOCK: &str = "org.sandbox.landlock";
pub const ANNOTATION_DIE_WITH_CALLER: &str = "org.sandbox.die-with-caller";

/// Read and parse a config.json.
pub fn load_spec(path: &Path) -> Result<Spec> {
    read_spec(path).map(|(_, spec)| spec)
}

/// Read a config.json once: its text (what `create` keeps and hands to the
/// container's process, so all three see the same bytes) and its parse.
pub fn read_spec(path: &Path) -> Result<(String, Spec)> {
    let text = std::fs::read_to_string(path).ctx("read config.json", path.display())?;
    let spec = parse_spec(&text, path)?;
    Ok((text, spec))
}

/// Parse a config.json's text; `path` names it in the error.
pub fn parse_spec(text: &str, path: &Path) -> Result<Spec> {
    serde_json::from_str(text)
        .map_err(|e| Error::msg("parse config.json", format!("{}: {e}", path.display())))
}

/// The state JSON hooks get on stdin.
pub fn hook_state(
    id: &str,
    status: &str,
    pid: i32,
    bundle: &Path,
    spec: &Spec,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "ociVersion": spec::VERSION,
        "id": id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
    });
    if let Some(a) = &spec.annotations {
        v["annotations"] = serde_json::to_value(a).expect("a map serializes");
    }
    v
}

/// A wait status as a shell reports it: the code, or 128+N for signal N.
pub fn exit_code(e: crate::sys::Exit) -> u8 {
    match e {
        crate::sys::Exit::Code(c) => c as u8,
        crate::sys::Exit::Signal(n) => 128 + n as u8,
    }
}

/// Run one parsed command; Ok is the exit status.
fn dispatch(g: &Global, log: &Log, cmd: Cmd) -> Result<u8> {
    match cmd {
        Cmd::Help => {
            println!("{}", cli::USAGE);
            Ok(0)
        }
        Cmd::Version => {
            println!(
                "sandbox-oci version {}\nspec: {}",
                env!("CARGO_PKG_VERSION"),
                spec::VERSION
            );
            Ok(0)
        }
        Cmd::Init(fd) => Ok(init::main(fd)),
        Cmd::Create(a) => create::create(g, log, &a, false).map(|_| 0),
        Cmd::Run(a) => create::run(g, log, &a),
        Cmd::Start(id) => lifecycle::start(g, log, &id).map(|_| 0),
        Cmd::State(id) => lifecycle::state(g, &id),
        Cmd::Kill { id, all, signal } => lifecycle::kill(g, &id, all, &signal),
        Cmd::Delete { id, force } => lifecycle::delete(g, log, &id, force),
        Cmd::Exec(a) => exec::exec(g, log, &a),
        Cmd::Ps { id, json } => lifecycle::ps(g, &id, json),
        Cmd::List { json } => lifecycle::list(g, json),
        Cmd::Pause { id, frozen } => lifecycle::pause(g, &id, frozen),
        Cmd::Update(a) => lifecycle::update(g, &a.id, &lifecycle::update_resources(&a)?),
        Cmd::Features => {
            println!(
                "{}",
                serde_json::to_string_pretty(&features::features()).expect("serializes")
            );
            Ok(0)
        }
    }
}
