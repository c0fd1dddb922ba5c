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

pub mod cgroup;
mod cli;
mod log;
pub mod seccomp;
mod time;

pub use cli::main;

use crate::error::{Error, Result};
use cli::{Cmd, Global};
use log::Log;

/// Run one parsed command; Ok is the exit status.
fn dispatch(_g: &Global, _log: &Log, cmd: Cmd) -> Result<u8> {
    match cmd {
        Cmd::Help => {
            println!("{}", cli::USAGE);
            Ok(0)
        }
        Cmd::Version => {
            println!(
                "sandbox-oci version {}\nspec: {}",
                env!("CARGO_PKG_VERSION"),
                oci_spec::runtime::VERSION
            );
            Ok(0)
        }
        _ => Err(Error::msg("oci", "not built yet")),
    }
}
